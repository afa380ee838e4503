"""A person's care plan, or a practice's caseload, as a UK Core FHIR R4 Bundle.

The bundle is a ``collection``: a file another system reads, not a message. Each
person brings their Patient, the case as an EpisodeOfCare with its CarePlan and
CareTeam, a Goal per "what matters to me", a Task per action, a Flag per alert they
agreed to share, their latest Consent, an Encounter per hospital admission and a
DocumentReference for the last printed plan; their practice comes as an Organization
and every staff member named as a Practitioner with a PractitionerRole.

**What never goes in.** Sensitive alerts, notes and actions, whoever exports: the file
leaves the team, and need-to-know cannot follow it. No note at all (a timeline is the
team's working record, not the plan). Nobody whose latest consent decision declines
sharing: their export is refused, and a practice export leaves them out and says so.

**Same store, same bytes.** Every resource's id is our row's id, or derived from it
(:func:`~mdt_desk.services.fhir.codes.derived_id`); entries and lists come in an order
read from exported values only, never from when a row was made here, so a store filled
by importing the bundle exports it again byte for byte. One entry per line.

Everything is read in a few set-based queries per chunk of people, so one person and a
7,000-person practice take the same path.
"""

import dataclasses
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, UserError
from mdt_desk.models import (
    Action,
    Alert,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    Goal,
    Note,
    OutcomeEvent,
    Patient,
    Practice,
    PrintRecord,
    Staff,
)
from mdt_desk.models.enums import (
    AccessAction,
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    DocumentKind,
    PracticeStatus,
)
from mdt_desk.models.private_files import write_private
from mdt_desk.services import access_log
from mdt_desk.services.access import Permission, principal_of, requires
from mdt_desk.services.cases import OPEN_STATUSES
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.fhir import codes, rules
from mdt_desk.services.fhir.rules import (
    NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
    uk_core_profile,
)
from mdt_desk.services.persons_copy import NOTHING_LEFT_OFF, LeftOff
from mdt_desk.services.progress import Progress

JSON = dict[str, Any]

#: Progress phase of a practice export (done and total in people).
EXPORTING = "exporting"
#: People read per round of queries (SQLite's bound-parameter limit stays far off).
_CHUNK = 500


@dataclass(frozen=True)
class FhirBundle:
    """One export: the bundle's text and what it holds.

    Attributes:
        text: the bundle as JSON, one entry per line, ending in a newline.
        patient_ids: the people in it (for the access log).
        resources: how many entries it has.
        declined: how many people were left out because they declined sharing (a count:
            their names would end up in whatever log captures the command's output).
        left_out: the sensitive actions, sensitive notes and the alerts (sensitive, or
            not agreed for sharing) of the people in it that the file leaves out, for
            the person exporting to be told (as a printed plan's preview tells them).
    """

    text: str
    patient_ids: tuple[uuid.UUID, ...]
    resources: int
    declined: int = 0
    left_out: LeftOff = NOTHING_LEFT_OFF


class DeclinedSharingError(RuleError):
    """The person's latest consent decision declines sharing: nothing is exported."""


def declined_sharing_message(name: str, recorded_on: dt.date) -> str:
    """Why nothing is exported for someone whose latest consent decision declines
    sharing (said by the command line, and by the app before it asks anything)."""
    return (
        f"{name} said on {cui_date(recorded_on)} that they do not want information about "
        "them shared, so nothing was exported. Record a new consent decision first if that "
        "has changed."
    )


def urn(row_id: uuid.UUID) -> str:
    """The ``urn:uuid`` fullUrl of the resource with this id."""
    return f"urn:uuid:{row_id}"


def _ref(row_id: uuid.UUID, display: str | None = None) -> JSON:
    reference: JSON = {"reference": urn(row_id)}
    if display:
        reference["display"] = display
    return reference


def _coding(system: str, code: str, display: str) -> JSON:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str, text: str | None = None) -> JSON:
    concept: JSON = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _profiled(resource_type: str, row_id: uuid.UUID, profile: str | None) -> JSON:
    resource: JSON = {"resourceType": resource_type, "id": str(row_id)}
    if profile is not None:
        resource["meta"] = {"profile": [uk_core_profile(profile)]}
    return resource


def _human_name(family: str, given: str, title: str) -> JSON:
    name: JSON = {"use": "official", "family": family}
    if given:
        name["given"] = [given]
    if title:
        name["prefix"] = [title]
    return name


def _address(text: str, postcode: str) -> list[JSON]:
    address: JSON = {}
    if text.strip():
        address["text"] = text
    if postcode.strip():
        address["postalCode"] = postcode
    return [address] if address else []


def _telecom(phone: str, email: str = "") -> list[JSON]:
    points = [{"system": "phone", "value": phone}] if phone.strip() else []
    if email.strip():
        points.append({"system": "email", "value": email})
    return points


def _instant(moment: dt.datetime) -> str:
    """A stored UTC time as a FHIR instant, to the second."""
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "+00:00"


def _staff_name(staff: Staff) -> str:
    return " ".join(part for part in (staff.given_name, staff.family_name) if part)


@dataclass
class _Person:
    """Everything one person brings to the bundle, read in the chunk's queries."""

    patient: Patient
    case: Case
    coordinator: CoordinatorAssignment | None = None
    members: list[CareTeamMember] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    consent: Consent | None = None
    admissions: list[OutcomeEvent] = field(default_factory=list)
    printed: PrintRecord | None = None

    def staff_ids(self) -> set[uuid.UUID]:
        named = {member.staff_id for member in self.members if member.staff_id}
        named |= {action.owner_id for action in self.actions}
        if self.coordinator is not None:
            named.add(self.coordinator.staff_id)
        if self.printed is not None and self.printed.printed_by_id is not None:
            named.add(self.printed.printed_by_id)
        return named


def _choose_cases(cases: Iterable[Case], open_only: bool) -> dict[uuid.UUID, Case]:
    """Each person's case whose plan is exported: the open one, else the latest (the
    same choice as the printed plan's)."""
    best: dict[uuid.UUID, Case] = {}
    for case in cases:
        is_open = case.status in OPEN_STATUSES
        if open_only and not is_open:
            continue
        key = (is_open, case.referred_on, case.created_at)
        current = best.get(case.patient_id)
        if current is None or key > (
            current.status in OPEN_STATUSES,
            current.referred_on,
            current.created_at,
        ):
            best[case.patient_id] = case
    return best


def _read_people(
    session: Session, patients: Sequence[Patient], *, open_only: bool
) -> list[_Person]:
    """The chunk's people with everything of theirs, in set-based queries."""
    patient_ids = [patient.id for patient in patients]
    cases = _choose_cases(
        session.scalars(
            select(Case).where(Case.patient_id.in_(patient_ids), Case.retired_at.is_(None))
        ),
        open_only,
    )
    people = {
        patient.id: _Person(patient=patient, case=cases[patient.id])
        for patient in patients
        if patient.id in cases
    }
    by_case = {person.case.id: person for person in people.values()}
    case_ids = list(by_case)
    for assignment in session.scalars(
        select(CoordinatorAssignment)
        .where(
            CoordinatorAssignment.case_id.in_(case_ids),
            CoordinatorAssignment.retired_at.is_(None),
            CoordinatorAssignment.ended_on.is_(None),
        )
        .order_by(CoordinatorAssignment.started_on, CoordinatorAssignment.id)
    ):
        # Two current coordinators is a clash for review; the latest stands meanwhile.
        by_case[assignment.case_id].coordinator = assignment
    for member in session.scalars(
        select(CareTeamMember)
        .where(CareTeamMember.case_id.in_(case_ids), CareTeamMember.retired_at.is_(None))
        .order_by(CareTeamMember.joined_on, CareTeamMember.id)
    ):
        by_case[member.case_id].members.append(member)
    for goal in session.scalars(
        select(Goal)
        .where(Goal.case_id.in_(case_ids), Goal.retired_at.is_(None))
        .order_by(Goal.target_on.is_(None), Goal.target_on, Goal.id)
    ):
        by_case[goal.case_id].goals.append(goal)
    for action in session.scalars(
        select(Action)
        .where(
            Action.case_id.in_(case_ids),
            Action.retired_at.is_(None),
            # Need-to-know cannot follow a file out of the team: never exported.
            Action.sensitive.is_(False),
        )
        .order_by(Action.due_on, Action.id)
    ):
        by_case[action.case_id].actions.append(action)
    for alert in session.scalars(
        select(Alert)
        .where(
            Alert.patient_id.in_(patient_ids),
            Alert.retired_at.is_(None),
            Alert.sensitive.is_(False),
            Alert.share_with_person.is_(True),
        )
        .order_by(Alert.kind, Alert.id)
    ):
        if alert.patient_id in people:
            people[alert.patient_id].alerts.append(alert)
    for consent in session.scalars(
        select(Consent)
        .where(Consent.patient_id.in_(patient_ids), Consent.retired_at.is_(None))
        .order_by(Consent.recorded_on, Consent.created_at, Consent.id)
    ):
        if consent.patient_id in people:
            people[consent.patient_id].consent = consent  # the latest stays
    for event in session.scalars(
        select(OutcomeEvent)
        .where(
            OutcomeEvent.patient_id.in_(patient_ids),
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.kind.in_(codes.ADMISSION_KINDS),
        )
        .order_by(OutcomeEvent.occurred_on, OutcomeEvent.id)
    ):
        if event.patient_id in people:
            people[event.patient_id].admissions.append(event)
    for printed in session.scalars(
        select(PrintRecord)
        .where(
            PrintRecord.case_id.in_(case_ids),
            PrintRecord.retired_at.is_(None),
            PrintRecord.kind == DocumentKind.CARE_PLAN,
        )
        .order_by(PrintRecord.printed_at, PrintRecord.id)
    ):
        if printed.case_id is not None:
            by_case[printed.case_id].printed = printed  # the latest stays
    return [people[patient.id] for patient in patients if patient.id in people]


def _declined(person: _Person) -> bool:
    return person.consent is not None and person.consent.decision is ConsentDecision.DECLINED


def _organization(practice: Practice) -> JSON:
    resource = _profiled("Organization", practice.id, "Organization")
    resource["identifier"] = [{"system": ODS_ORGANISATION_SYSTEM, "value": practice.ods_code}]
    resource["active"] = practice.status is PracticeStatus.ACTIVE
    resource["type"] = [{"text": "GP practice"}]
    resource["name"] = practice.name
    if telecom := _telecom(practice.phone):
        resource["telecom"] = telecom
    if address := _address(practice.address, practice.postcode):
        resource["address"] = address
    return resource


def _practitioner(staff: Staff) -> JSON:
    resource = _profiled("Practitioner", staff.id, "Practitioner")
    resource["name"] = [_human_name(staff.family_name, staff.given_name, staff.title)]
    if telecom := _telecom(staff.phone, staff.email):
        resource["telecom"] = telecom
    return resource


def _practitioner_role(staff: Staff) -> JSON:
    resource = _profiled(
        "PractitionerRole", codes.derived_id("practitioner-role", staff.id), "PractitionerRole"
    )
    resource["practitioner"] = _ref(staff.id, _staff_name(staff))
    if staff.organisation.strip():
        # Where they work, as written: a team or trust rather than one of our practices.
        resource["organization"] = {"display": staff.organisation}
    resource["code"] = [
        _concept(
            codes.PROFESSION_SYSTEM,
            staff.profession.value,
            label(staff.profession),
            label(staff.profession),
        )
    ]
    return resource


def _patient(patient: Patient) -> JSON:
    resource = _profiled("Patient", patient.id, "Patient")
    code, display = codes.NHS_NUMBER_NOT_TRACED
    resource["identifier"] = [
        {
            "extension": [
                {
                    "url": codes.NHS_NUMBER_VERIFICATION_URL,
                    "valueCodeableConcept": _concept(
                        codes.NHS_NUMBER_VERIFICATION_SYSTEM, code, display
                    ),
                }
            ],
            "system": NHS_NUMBER_SYSTEM,
            "value": patient.nhs_number,
        }
    ]
    resource["name"] = [_human_name(patient.family_name, patient.given_name, patient.title)]
    if telecom := _telecom(patient.phone):
        resource["telecom"] = telecom
    resource["gender"] = codes.GENDER[patient.gender]
    resource["birthDate"] = patient.date_of_birth.isoformat()
    if patient.date_of_death is not None:
        resource["deceasedDateTime"] = patient.date_of_death.isoformat()
    if address := _address(patient.address, patient.postcode):
        resource["address"] = address
    resource["generalPractitioner"] = [_ref(patient.practice_id)]
    return resource


def _not_accepted(case: Case) -> bool:
    return case.status is CaseStatus.CLOSED and case.closure_reason is ClosureReason.NOT_ACCEPTED


def _person_resources(person: _Person, staff: dict[uuid.UUID, Staff]) -> list[JSON]:
    """The person's resources, in bundle order."""
    subject = _ref(person.patient.id)
    resources = [
        _patient(person.patient),
        _episode(person, staff),
        _care_plan(person),
        _care_team(person, staff),
    ]
    resources += [_goal(goal, subject) for goal in person.goals]
    goal_ids = {goal.id for goal in person.goals}
    resources += [_task(action, person, staff, goal_ids) for action in person.actions]
    resources += [_flag(alert, subject) for alert in person.alerts]
    if person.consent is not None:
        resources.append(_consent(person.consent, subject))
    resources += [_encounter(event, person.case.id, subject) for event in person.admissions]
    if person.printed is not None:
        resources.append(_document_reference(person.printed, person.case.id, subject))
    return resources


def _episode(person: _Person, staff: dict[uuid.UUID, Staff]) -> JSON:
    case = person.case
    episode = _profiled("EpisodeOfCare", case.id, "EpisodeOfCare")
    episode["status"] = (
        codes.EPISODE_NOT_ACCEPTED if _not_accepted(case) else codes.EPISODE_STATUS[case.status]
    )
    episode["patient"] = _ref(person.patient.id)
    period = {"start": case.referred_on.isoformat()}
    if case.closed_on is not None:
        period["end"] = case.closed_on.isoformat()
    episode["period"] = period
    if person.coordinator is not None:
        coordinator = staff[person.coordinator.staff_id]
        episode["careManager"] = _ref(coordinator.id, _staff_name(coordinator))
    episode["team"] = [_ref(codes.derived_id("care-team", case.id))]
    return episode


def _care_plan(person: _Person) -> JSON:
    case = person.case
    plan = _profiled("CarePlan", codes.derived_id("care-plan", case.id), "CarePlan")
    if case.next_review_on is not None:
        # The PRSB "plan review" date. Not period.end: that would say the plan stops
        # being in force, and a receiver would take a plan overdue for review as ended.
        plan["extension"] = [
            {"url": codes.NEXT_REVIEW_EXTENSION, "valueDate": case.next_review_on.isoformat()}
        ]
    plan["status"] = (
        codes.CARE_PLAN_NOT_ACCEPTED if _not_accepted(case) else codes.CARE_PLAN_STATUS[case.status]
    )
    plan["intent"] = "plan"
    plan["category"] = [_concept(codes.SNOMED, *codes.CARE_PLAN_CONCEPT)]
    plan["title"] = "Personalised care and support plan"
    plan["subject"] = _ref(person.patient.id)
    if case.accepted_on is not None:
        plan["period"] = {"start": case.accepted_on.isoformat()}
    if person.coordinator is not None:
        plan["author"] = _ref(person.coordinator.staff_id)
    plan["careTeam"] = [_ref(codes.derived_id("care-team", case.id))]
    plan["supportingInfo"] = [_ref(case.id)]
    if person.goals:
        plan["goal"] = [_ref(goal.id) for goal in person.goals]
    if person.actions:
        plan["activity"] = [{"reference": _ref(action.id)} for action in person.actions]
    return plan


def _care_team(person: _Person, staff: dict[uuid.UUID, Staff]) -> JSON:
    patient, case = person.patient, person.case
    team = _profiled("CareTeam", codes.derived_id("care-team", case.id), "CareTeam")
    team["status"] = "inactive" if case.status is CaseStatus.CLOSED else "active"
    team["name"] = f"Care team of {patient.given_name} {patient.family_name}".strip()
    team["subject"] = _ref(patient.id)
    participants: list[JSON] = []
    if person.coordinator is not None:
        assignment = person.coordinator
        coordinator = staff[assignment.staff_id]
        participants.append(
            {
                "id": str(assignment.id),
                "role": [_concept(codes.CARE_TEAM_ROLE_SYSTEM, *codes.COORDINATOR_ROLE)],
                "member": _ref(coordinator.id, _staff_name(coordinator)),
                "period": {"start": assignment.started_on.isoformat()},
            }
        )
    # The coordinator is named once, as coordinator, even where they are also on the
    # team's list (as on the printed plan's "People involved").
    coordinator_id = person.coordinator.staff_id if person.coordinator is not None else None
    participants += [
        _participant(member, staff)
        for member in person.members
        if member.staff_id is None or member.staff_id != coordinator_id
    ]
    if participants:
        team["participant"] = participants
    return team


def _participant(member: CareTeamMember, staff: dict[uuid.UUID, Staff]) -> JSON:
    participant: JSON = {"id": str(member.id), "role": [{"text": member.role}]}
    if member.staff_id is not None:
        participant["member"] = _ref(member.staff_id, _staff_name(staff[member.staff_id]))
    else:
        # Someone outside the team (a family carer): named, not a resource of ours.
        participant["member"] = {"display": member.name}
    if member.organisation.strip():
        participant["onBehalfOf"] = {"display": member.organisation}
    period = {"start": member.joined_on.isoformat()}
    if member.left_on is not None:
        period["end"] = member.left_on.isoformat()
    participant["period"] = period
    return participant


def _goal(goal: Goal, subject: JSON) -> JSON:
    lifecycle, achievement = codes.GOAL_STATUS[goal.outcome]
    resource = _profiled("Goal", goal.id, None)  # UK Core has no Goal profile
    resource["lifecycleStatus"] = lifecycle
    resource["achievementStatus"] = _concept(
        codes.GOAL_ACHIEVEMENT_SYSTEM, achievement, achievement.replace("-", " ").capitalize()
    )
    resource["description"] = {"text": goal.description}  # in the person's own words
    resource["subject"] = subject
    if goal.target_on is not None:
        resource["target"] = [{"dueDate": goal.target_on.isoformat()}]
    resource["expressedBy"] = subject
    return resource


def _task(
    action: Action, person: _Person, staff: dict[uuid.UUID, Staff], goal_ids: set[uuid.UUID]
) -> JSON:
    task = _profiled("Task", action.id, "Task")
    task["basedOn"] = [_ref(codes.derived_id("care-plan", person.case.id))]
    task["status"] = codes.TASK_STATUS[action.status]
    task["intent"] = "plan"
    task["description"] = action.description
    task["for"] = _ref(person.patient.id)
    if action.completed_on is not None:
        task["executionPeriod"] = {"end": action.completed_on.isoformat()}
    task["owner"] = _ref(action.owner_id, _staff_name(staff[action.owner_id]))
    if action.goal_id in goal_ids:
        task["reasonReference"] = _ref(action.goal_id)
    task["restriction"] = {"period": {"end": action.due_on.isoformat()}}
    return task


def _flag(alert: Alert, subject: JSON) -> JSON:
    flag = _profiled("Flag", alert.id, "Flag")
    flag["status"] = "active"
    flag["code"] = _concept(
        codes.ALERT_KIND_SYSTEM,
        alert.kind.value,
        label(alert.kind),
        alert.detail.strip() or label(alert.kind),
    )
    flag["subject"] = subject
    return flag


def _consent(consent: Consent, subject: JSON) -> JSON:
    status, provision = codes.CONSENT_STATUS[consent.decision]
    resource = _profiled("Consent", consent.id, "Consent")
    resource["status"] = status
    resource["scope"] = _concept(codes.CONSENT_SCOPE_SYSTEM, "patient-privacy", "Privacy Consent")
    resource["category"] = [
        _concept(codes.LOINC, *codes.PATIENT_CONSENT_LOINC),
        _concept(codes.CONSENT_DECISION_SYSTEM, consent.decision.value, label(consent.decision)),
    ]
    resource["patient"] = subject
    resource["dateTime"] = consent.recorded_on.isoformat()
    rule, rule_display = codes.CONSENT_POLICY_RULE[consent.decision]
    resource["policyRule"] = _concept(codes.ACT_CODE_SYSTEM, rule, rule_display)
    if provision:
        resource["provision"] = {"type": provision}
    return resource


def _encounter(event: OutcomeEvent, case_id: uuid.UUID, subject: JSON) -> JSON:
    encounter = _profiled("Encounter", event.id, "Encounter")
    encounter["status"] = "finished" if event.discharged_on is not None else "in-progress"
    encounter["class"] = _coding(codes.ACT_CODE_SYSTEM, *codes.INPATIENT_CLASS)
    encounter["type"] = [_concept(codes.ADMISSION_KIND_SYSTEM, event.kind.value, label(event.kind))]
    encounter["subject"] = subject
    if event.case_id == case_id:
        encounter["episodeOfCare"] = [_ref(case_id)]
    span = {"start": event.occurred_on.isoformat()}
    if event.discharged_on is not None:
        span["end"] = event.discharged_on.isoformat()
    encounter["period"] = span
    if event.discharge_destination is not None:
        encounter["hospitalization"] = {
            "dischargeDisposition": _concept(
                codes.DISCHARGE_DESTINATION_SYSTEM,
                event.discharge_destination.value,
                label(event.discharge_destination),
            )
        }
    if event.source.strip():
        encounter["serviceProvider"] = {"display": event.source}
    return encounter


def _document_reference(printed: PrintRecord, case_id: uuid.UUID, subject: JSON) -> JSON:
    """The last printed plan: what it was, not its bytes (the paper is the person's)."""
    resource = _profiled("DocumentReference", printed.id, "DocumentReference")
    extension: list[JSON] = [{"url": codes.PAGE_COUNT_EXTENSION, "valueInteger": printed.pages}]
    extension.append({"url": codes.LARGE_PRINT_EXTENSION, "valueBoolean": printed.large_print})
    resource["extension"] = extension
    resource["masterIdentifier"] = {
        "system": codes.CONTENT_SHA256_SYSTEM,
        "value": printed.content_sha256,
    }
    if printed.plan_version:
        resource["identifier"] = [
            {"system": codes.PLAN_VERSION_SYSTEM, "value": printed.plan_version}
        ]
    resource["status"] = "current"
    resource["type"] = _concept(codes.SNOMED, *codes.CARE_PLAN_CONCEPT)
    resource["subject"] = subject
    resource["date"] = _instant(printed.printed_at)
    if printed.printed_by_id is not None:
        resource["author"] = [_ref(printed.printed_by_id)]
    pages = f"{printed.pages} page{'s' if printed.pages != 1 else ''}"
    resource["description"] = f"My care plan as printed for the person ({pages}" + (
        ", large print)" if printed.large_print else ")"
    )
    resource["content"] = [
        {
            "attachment": {
                "contentType": "application/pdf",
                "language": "en-GB",
                "title": "My care plan",
                "creation": _instant(printed.printed_at),
            }
        }
    ]
    resource["context"] = {"encounter": [_ref(case_id)]}  # the EpisodeOfCare
    return resource


def _bundle(bundle_id: uuid.UUID, resources: Iterable[JSON]) -> JSON:
    entries = [
        {"fullUrl": urn(uuid.UUID(resource["id"])), "resource": resource} for resource in resources
    ]
    return {"resourceType": "Bundle", "id": str(bundle_id), "type": "collection", "entry": entries}


def _bundle_text(bundle: JSON) -> str:
    """The bundle as text, one entry per line (two exports diff line by line)."""
    head = json.dumps({key: value for key, value in bundle.items() if key != "entry"})
    body = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in bundle["entry"])
    return head[:-1] + ', "entry": [\n' + body + "\n]}\n"


def _assemble(
    session: Session,
    bundle_id: uuid.UUID,
    people: Sequence[_Person],
) -> FhirBundle:
    staff_ids = set().union(*(person.staff_ids() for person in people)) if people else set()
    staff = {
        member.id: member
        for member in session.scalars(select(Staff).where(Staff.id.in_(sorted(staff_ids))))
    }
    practice_ids = sorted({person.patient.practice_id for person in people})
    practices = list(
        session.scalars(
            select(Practice).where(Practice.id.in_(practice_ids)).order_by(Practice.ods_code)
        )
    )
    resources: list[JSON] = [_organization(practice) for practice in practices]
    ordered_staff = sorted(staff.values(), key=lambda member: member.id)
    resources += [_practitioner(member) for member in ordered_staff]
    resources += [_practitioner_role(member) for member in ordered_staff]
    for person in people:
        resources += _person_resources(person, staff)
    bundle = _bundle(bundle_id, resources)
    _check(bundle)
    return FhirBundle(
        text=_bundle_text(bundle),
        patient_ids=tuple(person.patient.id for person in people),
        resources=len(bundle["entry"]),
        left_out=_left_out(session, people),
    )


def _left_out(session: Session, people: Sequence[_Person]) -> LeftOff:
    """How many of the people's sensitive actions and notes, and of their alerts that
    are sensitive or not agreed for sharing, the bundle leaves out."""
    actions = notes = alerts = 0
    for start in range(0, len(people), _CHUNK):
        chunk = people[start : start + _CHUNK]
        case_ids = [person.case.id for person in chunk]
        patient_ids = [person.patient.id for person in chunk]
        actions += (
            session.scalar(
                select(func.count())
                .select_from(Action)
                .where(
                    Action.case_id.in_(case_ids),
                    Action.retired_at.is_(None),
                    Action.sensitive.is_(True),
                )
            )
            or 0
        )
        notes += (
            session.scalar(
                select(func.count())
                .select_from(Note)
                .where(
                    Note.case_id.in_(case_ids), Note.retired_at.is_(None), Note.sensitive.is_(True)
                )
            )
            or 0
        )
        alerts += (
            session.scalar(
                select(func.count())
                .select_from(Alert)
                .where(
                    Alert.patient_id.in_(patient_ids),
                    Alert.retired_at.is_(None),
                    or_(Alert.sensitive.is_(True), Alert.share_with_person.is_(False)),
                )
            )
            or 0
        )
    return LeftOff(actions=actions, notes=notes, alerts=alerts)


def _check(bundle: JSON) -> None:
    """Our rules, every time: an export that breaks one is a fault of ours, never a file."""
    violations = rules.bundle_violations(bundle)
    if violations:
        shown = "; ".join(str(violation) for violation in violations[:5])
        raise RuleError(f"The FHIR export broke {len(violations)} of its own rules: {shown}")


def _person_order(person: _Person) -> tuple[str, str, str, str]:
    patient = person.patient
    return (
        patient.family_name.casefold(),
        patient.given_name.casefold(),
        patient.nhs_number,
        patient.id.hex,
    )


def log_fhir_export(session: Session, bundle: FhirBundle, purpose: str) -> int:
    """Put every person in ``bundle`` in the access log with the export's purpose (in
    the caller's write session, before the file is written). Returns how many.

    Raises:
        AccessDeniedError: the person acting may not export.
    """
    principal_of(session).require(Permission.EXPORT)
    return access_log.append_many(
        session, AccessAction.EXPORT, bundle.patient_ids, reason=access_log.stated(purpose)
    )


def export_to_file(
    read: Callable[[], AbstractContextManager[Session]],
    write: Callable[[], AbstractContextManager[Session]],
    build: Callable[[Session], FhirBundle],
    path: Path,
    purpose: str,
) -> FhirBundle:
    """One export, as the command line and the app both make it: build the bundle (in a
    ``read`` session), put everyone in it in the access log with the purpose (in a
    ``write`` session), then write the file, 0600 and whole or not at all.

    The log comes before the file: the log may hold an export whose file then failed,
    never a file it does not hold. The folder is checked first, so an export that could
    never be written is refused before anything is logged.

    Raises:
        UserError: the folder is missing or not writable, or the file cannot be written;
            and whatever ``build`` raises (no case, declined sharing, not allowed...).
    """
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"Cannot write {path}: there is no folder {folder}.")
    if not os.access(folder, os.W_OK):
        raise UserError(f"Cannot write {path}: you may not save files in {folder}.")
    with read() as session:
        bundle = build(session)
    with write() as session:
        log_fhir_export(session, bundle, purpose)
    try:
        write_private(path, bundle.text.encode("utf-8"))
    except OSError as error:
        raise UserError(f"Cannot write {path}: {error.strerror or error}.") from error
    return bundle


@requires(Permission.EXPORT)
def person_bundle(session: Session, patient_id: uuid.UUID) -> FhirBundle:
    """One person's care plan (their open case, else their latest) as a bundle.

    Raises:
        NotFoundError: the person is not in this store.
        RuleError: they have no case, so no plan.
        DeclinedSharingError: their latest consent decision declines sharing.
    """
    patient = session.get(Patient, patient_id)
    if patient is None or patient.retired_at is not None:
        raise NotFoundError("That patient is not in this store.")
    people = _read_people(session, [patient], open_only=False)
    name = f"{patient.given_name} {patient.family_name}".strip()
    if not people:
        raise RuleError(f"{name} has no case yet, so there is no care plan to export.")
    consent = people[0].consent
    if _declined(people[0]) and consent is not None:
        raise DeclinedSharingError(declined_sharing_message(name, consent.recorded_on))
    return _assemble(session, codes.derived_id("bundle-person", patient.id), people)


@requires(Permission.EXPORT)
def practice_bundle(
    session: Session, practice_id: uuid.UUID, progress: Progress | None = None
) -> FhirBundle:
    """Every person of a practice with an open case, as one bundle.

    People who declined sharing are left out and counted in ``declined``.

    Raises:
        NotFoundError: the practice is not in this store.
    """
    practice = session.get(Practice, practice_id)
    if practice is None or practice.retired_at is not None:
        raise NotFoundError("That practice is not in this store.")
    with_open_case = (
        select(Case.patient_id)
        .where(Case.status.in_(OPEN_STATUSES), Case.retired_at.is_(None))
        .distinct()
    )
    patients = list(
        session.scalars(
            select(Patient)
            .where(
                Patient.practice_id == practice_id,
                Patient.retired_at.is_(None),
                Patient.id.in_(with_open_case),
            )
            .order_by(Patient.id)
        )
    )
    total = len(patients)
    people: list[_Person] = []
    declined = 0
    for start in range(0, total, _CHUNK):
        for person in _read_people(session, patients[start : start + _CHUNK], open_only=True):
            if _declined(person):
                declined += 1
            else:
                people.append(person)
        if progress is not None:
            progress(EXPORTING, min(start + _CHUNK, total), total)
    people.sort(key=_person_order)
    made = _assemble(session, codes.derived_id("bundle-practice", practice.ods_code), people)
    return dataclasses.replace(made, declined=declined)
