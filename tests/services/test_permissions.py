"""The role × permission matrix of issue 10, enforced in the services.

Every service entry point that declares a permission (``@requires``) is called by a staff
member of every role, on a store past set-up: the roles the matrix allows are not
refused; every other role gets "Your role (…) does not allow …" and nothing is written.
The table below gives each entry point real arguments, and each call gets a fresh copy
of a small store, so an allowed call must do what it says.
"""

import datetime as dt
import importlib
import inspect
import io
import pkgutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

import mdt_desk.services
from mdt_desk.models import ReviewItem
from mdt_desk.models.enums import (
    AgendaOutcome,
    AgendaReason,
    AlertKind,
    AttendanceStatus,
    ClosureReason,
    ConsentDecision,
    DischargeDestination,
    DocumentKind,
    ExperienceStatement,
    GoalOutcome,
    InterventionKind,
    InterventionOutcome,
    OutcomeEventKind,
    ReferralSource,
    RiskBand,
    Role,
    SurveyMethod,
    Urgency,
)
from mdt_desk.models.journal import JournalChange
from mdt_desk.models.store import Store
from mdt_desk.services import (
    actions,
    agenda_rules,
    case_view,
    caseload,
    cases,
    desk_settings,
    experience,
    export,
    history,
    indicator_cases,
    list_sizes,
    meeting_mode,
    meetings,
    patient_import,
    patients,
    persons_copy,
    plans,
    practices,
    prints,
    referrals,
    review,
    sign_in,
    staff,
    team,
)
from mdt_desk.services.access import (
    ROLE_PERMISSIONS,
    AccessDeniedError,
    NotSignedInError,
    Permission,
    format_roles,
    less_privileged,
    parse_roles,
    permissions_of,
)
from tests.conftest import TEST_PRACTICES, epraccur_row
from tests.shared_stores import copy_store, made_sealed

P = Permission
TODAY = dt.date.today()
NOW = dt.datetime.now(dt.UTC)
PIN = "a long enough PIN"
NHS = ("9990000018", "9990000026", "9990000034", "9990000042", "9990000050")
PATIENT_CSV_HEADER = (
    "nhs_number,family_name,given_name,date_of_birth,practice_code,gender,address,postcode,phone"
)

#: One staff member per role: family name and profession.
STAFF: dict[Role, tuple[str, str]] = {
    Role.CARE_COORDINATOR: ("Okafor", "social_worker"),
    Role.TEAM_MEMBER: ("Nowak", "district_nurse"),
    Role.MDT_CHAIR: ("Ó Briain", "gp"),
    Role.CARE_NAVIGATOR: ("Patel", "care_navigator"),
    Role.TEAM_ADMINISTRATOR: ("Jones", "administrator"),
    Role.PRIVACY_OFFICER: ("Evans", "administrator"),
    Role.OBSERVER: ("Student", "voluntary_sector"),
}


@dataclass(frozen=True)
class Ids:
    """What the template store holds."""

    staff: dict[Role, uuid.UUID]
    practice: uuid.UUID
    other_practice: uuid.UUID
    patient: uuid.UUID  # active case, coordinated by the coordinator, nurse on the team
    active_case: uuid.UUID
    referred_patient: uuid.UUID
    referred_case: uuid.UUID
    closed_patient: uuid.UUID
    closed_case: uuid.UUID
    reviewed_case: uuid.UUID  # under review
    nurses_action: uuid.UUID  # owned by the team member
    coordinators_action: uuid.UUID
    withdrawn_action: uuid.UUID
    goal: uuid.UUID
    note: uuid.UUID
    alert: uuid.UUID
    care_team_member: uuid.UUID
    intervention: uuid.UUID
    planned_meeting: uuid.UUID
    planned_item: uuid.UUID
    running_meeting: uuid.UUID
    running_item: uuid.UUID
    finished_meeting: uuid.UUID
    review_item: uuid.UUID
    roles_review_item: uuid.UUID  # two desks changed the observer's roles at once
    admission_event: uuid.UUID  # a hospital admission of the patient
    care_home_event: uuid.UUID  # a nursing care admission of the patient
    survey_answer: uuid.UUID  # the patient's answer to one survey statement


def _build(path: Path, files: Path) -> Ids:
    """Fill the template in set-up, then give everyone a PIN (which ends set-up)."""
    practices_file = files / "epraccur.csv"
    practices_file.write_text("\n".join(epraccur_row(*row) for row in TEST_PRACTICES) + "\n")
    with Store.open(path) as store:
        with store.write(actor_label="test set-up") as session:
            practices.import_ods_practices(session, practices_file)
            found = {p.ods_code: p.id for p in practices.list_practices(session)}
            practice, other, third = (found[code] for code, _n, _l in TEST_PRACTICES)
            people = {
                role: staff.add_staff(
                    session,
                    family_name=family,
                    given_name=role.value.split("_")[0].title(),
                    profession=profession,
                    practice_codes=(TEST_PRACTICES[0][0],),
                ).id
                for role, (family, profession) in STAFF.items()
            }
            for role, staff_id in people.items():
                sign_in.set_roles(session, staff_id, {role})
            coordinator, nurse = people[Role.CARE_COORDINATOR], people[Role.TEAM_MEMBER]
            chair = people[Role.MDT_CHAIR]

            def person(nhs: str, family: str) -> uuid.UUID:
                return patients.register_patient(
                    session,
                    nhs_number=nhs,
                    family_name=family,
                    given_name="Jane",
                    date_of_birth=dt.date(1945, 7, 14),
                    practice_id=practice,
                    today=TODAY,
                ).id

            def referred(patient_id: uuid.UUID) -> uuid.UUID:
                return cases.refer(
                    session,
                    patient_id,
                    source=ReferralSource.HOSPITAL,
                    reason="Two falls this month",
                    referred_on=TODAY,
                    today=TODAY,
                ).id

            patient = person(NHS[0], "Smith")
            active_case = referred(patient)
            cases.accept(session, active_case, coordinator_id=coordinator, on=TODAY)
            referred_patient = person(NHS[1], "Brown")
            referred_case = referred(referred_patient)
            closed_patient = person(NHS[2], "Green")
            closed_case = referred(closed_patient)
            cases.accept(session, closed_case, coordinator_id=coordinator, on=TODAY)
            cases.close(session, closed_case, reason=ClosureReason.GOALS_MET, on=TODAY)
            reviewed_case = referred(person(NHS[3], "White"))
            cases.accept(session, reviewed_case, coordinator_id=coordinator, on=TODAY)
            cases.start_review(session, reviewed_case)

            goal = plans.add_goal(session, active_case, description="Walk to the shop")
            care_team_member = plans.add_care_team_member(
                session, active_case, role="District nurse", staff_id=nurse, joined_on=TODAY
            )

            def action(owner: uuid.UUID, text: str) -> uuid.UUID:
                return plans.add_action(
                    session,
                    active_case,
                    description=text,
                    owner_id=owner,
                    due_on=TODAY + dt.timedelta(days=7),
                    today=TODAY,
                ).id

            nurses_action = action(nurse, "Check the stair rail")
            coordinators_action = action(coordinator, "Ring the daughter")
            withdrawn_action = action(coordinator, "Added by mistake")
            plans.withdraw_action(session, withdrawn_action)
            note = plans.add_note(session, active_case, "Seen at home; managing.").id
            alert = patients.add_alert(session, patient, AlertKind.LIVES_ALONE, "Lives alone")
            intervention = plans.add_intervention(
                session, active_case, kind=InterventionKind.TELECARE, started_on=TODAY
            ).id

            def meeting(practice_id: uuid.UUID, days: int) -> uuid.UUID:
                (made,) = meetings.schedule_meeting(
                    session,
                    practice_id=practice_id,
                    day=TODAY + dt.timedelta(days=days),
                    start_time=dt.time(13, 0),
                    duration_minutes=60,
                    chair_id=chair,
                    invited_ids=[coordinator, nurse],
                    location="Practice library",
                    today=TODAY,
                )
                return made.id

            planned_meeting = meeting(practice, 14)
            planned_item = meetings.add_to_agenda(
                session, planned_meeting, active_case, reason=AgendaReason.REVIEW_DUE
            ).id
            running_meeting = meeting(other, 1)
            running_item = meetings.add_to_agenda(
                session, running_meeting, active_case, reason=AgendaReason.REVIEW_DUE
            ).id
            meeting_mode.start_meeting(session, running_meeting, now=NOW)
            finished_meeting = meeting(third, 2)
            meeting_mode.start_meeting(session, finished_meeting, now=NOW)
            meeting_mode.finish_meeting(session, finished_meeting, now=NOW)

            item = ReviewItem(
                kind="duplicate",
                entity="patient",
                row_id=patient.hex,
                other_row_id=referred_patient.hex,
                detail="Two people with one NHS number",
            )
            roles_clash = ReviewItem(
                kind="same_field",
                entity="staff",
                row_id=people[Role.OBSERVER].hex,
                field="roles",
                kept_value='"observer"',
                other_value='"care_coordinator"',
            )
            session.add_all([item, roles_clash])
            session.flush()
            review_item, roles_review_item = item.id, roles_clash.id
            admission_event, care_home_event = (
                plans.record_outcome_event(
                    session,
                    patient,
                    kind=kind,
                    occurred_on=TODAY - dt.timedelta(days=3),
                    today=TODAY,
                )
                for kind in (
                    OutcomeEventKind.HOSPITAL_ADMISSION,
                    OutcomeEventKind.NURSING_CARE_ADMISSION,
                )
            )
            survey_answer = experience.record_experience_response(
                session,
                patient,
                statement=ExperienceStatement.WELL_COORDINATED,
                agreement=4,
                answered_on=TODAY,
                collected_how=SurveyMethod.PAPER,
                today=TODAY,
            ).id
        # The first PIN ends set-up (and is the administrator's); the administrator
        # then sets everyone else's.
        administrator = people[Role.TEAM_ADMINISTRATOR]
        with store.write(actor_label="test set-up") as session:
            sign_in.set_pin(session, administrator, PIN)
        with store.write(administrator, "administrator") as session:
            for staff_id in people.values():
                if staff_id != administrator:
                    sign_in.set_pin(session, staff_id, PIN)
        with store.read() as session:
            assert all(
                parse_roles(member.roles) == {role}
                for role, member in (
                    (role, staff.get_staff(session, staff_id)) for role, staff_id in people.items()
                )
            ), "each staff member holds exactly one role"
    return Ids(
        staff=people,
        practice=practice,
        other_practice=other,
        patient=patient,
        active_case=active_case,
        referred_patient=referred_patient,
        referred_case=referred_case,
        closed_patient=closed_patient,
        closed_case=closed_case,
        reviewed_case=reviewed_case,
        nurses_action=nurses_action,
        coordinators_action=coordinators_action,
        withdrawn_action=withdrawn_action,
        goal=goal,
        note=note,
        alert=alert,
        care_team_member=care_team_member,
        intervention=intervention,
        planned_meeting=planned_meeting,
        planned_item=planned_item,
        running_meeting=running_meeting,
        running_item=running_item,
        finished_meeting=finished_meeting,
        review_item=review_item,
        roles_review_item=roles_review_item,
        admission_event=admission_event,
        care_home_event=care_home_event,
        survey_answer=survey_answer,
    )


@dataclass(frozen=True)
class Template:
    path: Path
    key: bytes
    ids: Ids


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, _migrated_store_file: tuple[Path, bytes]
) -> Template:
    """One store past set-up with a staff member per role (PIN hashing is slow: once)."""
    folder = tmp_path_factory.mktemp("permissions")
    path = folder / "template.sqlite"
    migrated, key = _migrated_store_file
    with made_sealed():  # made before any test's keyring
        copy_store(migrated, key, path)
        return Template(path, key, _build(path, folder))


@dataclass(frozen=True)
class Desk:
    store: Store
    ids: Ids
    files: Path


@pytest.fixture
def desk(template: Template, tmp_path: Path) -> Iterator[Desk]:
    path = copy_store(template.path, template.key, tmp_path / "desk.sqlite")
    with Store.open(path) as store:
        yield Desk(store, template.ids, tmp_path)


# -- the table ----------------------------------------------------------------------

Arguments = tuple[tuple[Any, ...], dict[str, Any]]


def call(*args: Any, **kwargs: Any) -> Arguments:
    return args, kwargs


def _action_row(desk: Desk, action_id: uuid.UUID) -> plans.ActionPlanRow:
    with desk.store.read(desk.ids.staff[Role.CARE_COORDINATOR]) as session:
        return plans.get_action_row(session, action_id)


def _patients_csv(desk: Desk) -> Path:
    path = desk.files / "patients.csv"
    path.write_text(
        f"{PATIENT_CSV_HEADER}\n{NHS[4]},Black,Ann,1950-02-03,{TEST_PRACTICES[0][0]},,,,\n"
    )
    return path


def _practices_csv(desk: Desk) -> Path:
    path = desk.files / "epraccur.csv"
    path.write_text(epraccur_row("A81005", "THE NEW SURGERY", "00K") + "\n")
    return path


def _survey_csv(desk: Desk) -> Path:
    path = desk.files / "survey.csv"
    path.write_text(
        "nhs_number,statement,agreement,answered_on,collected_how,by_proxy\n"
        f"{NHS[0]},did_not_repeat_story,4,{TODAY.isoformat()},phone,no\n"
    )
    return path


def _list_sizes_csv(desk: Desk) -> Path:
    path = desk.files / "gp-reg-pat-prac-quin-age.csv"
    path.write_text(
        "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n"
        f"GP_PRAC_PAT_LIST,01Nov2026,GP,{TEST_PRACTICES[0][0]},TS18 1HU,FEMALE,65_69,212\n"
    )
    return path


@dataclass(frozen=True)
class Row:
    """One entry point called one way.

    ``needs`` is the permission the call needs from the caller's role (most calls need
    the one the entry point declares; for an action or a care plan the data decides).
    """

    name: str
    function: Callable[..., Any]
    arguments: Callable[[Desk], Arguments]
    needs: Callable[[Role], Permission] | None = None

    def needed(self, role: Role) -> Permission:
        if self.needs is not None:
            return self.needs(role)
        return Permission(self.function.required_permission)  # type: ignore[attr-defined]


def _own_action_of(owner: Role) -> Callable[[Role], Permission]:
    return lambda role: P.UPDATE_OWN_ACTION if role is owner else P.UPDATE_ANY_ACTION


def _care_plan_of_patient(role: Role) -> Permission:
    # The coordinator and the team member are on the person's care team; nobody else.
    on_team = role in (Role.CARE_COORDINATOR, Role.TEAM_MEMBER)
    return P.PRINT_TEAM_CARE_PLAN if on_team else P.PRINT_ANY_CARE_PLAN


def _print(kind: DocumentKind, patient: bool) -> Callable[[Desk], Arguments]:
    def arguments(desk: Desk) -> Arguments:
        return call(
            kind=kind,
            printed_by_id=None,
            printed_at=NOW,
            content_sha256="ab" * 32,
            pages=1,
            patient_id=desk.ids.patient if patient else None,
            case_id=desk.ids.active_case if patient else None,
            practice_id=None if patient else desk.ids.practice,
        )

    return arguments


LATER = TODAY + dt.timedelta(days=28)

ROWS: tuple[Row, ...] = (
    # reading the caseload and records
    Row("caseload_rows", caseload.caseload_rows, lambda d: call(caseload.CaseloadQuery())),
    Row("caseload_count", caseload.caseload_count, lambda d: call(caseload.CaseloadQuery())),
    Row(
        "caseload_page",
        caseload.caseload_page,
        lambda d: call(practice_id=d.ids.practice, status=None),
    ),
    Row(
        "navigator",
        caseload.navigator,
        lambda d: call(d.ids.staff[Role.CARE_COORDINATOR]),
    ),
    Row("find_patients", caseload.find_patients, lambda d: call("Smith")),
    Row("find_by_nhs_number", patients.find_by_nhs_number, lambda d: call(NHS[0])),
    Row("look_up_person", referrals.look_up_person, lambda d: call(NHS[0], today=TODAY)),
    Row(
        "load_record",
        case_view.load_record,
        lambda d: call(d.ids.patient, d.ids.active_case, TODAY),
    ),
    Row(
        "record_history",
        history.record_history,
        lambda d: call(d.ids.patient, d.ids.active_case),
    ),
    Row(
        "persons_copy",
        persons_copy.persons_copy,
        lambda d: call(d.ids.patient, d.ids.active_case, TODAY, recent_days=28, recent_limit=5),
    ),
    Row("actions.list_actions", actions.list_actions, lambda d: call()),
    Row("plans.list_actions", plans.list_actions, lambda d: call(d.ids.active_case)),
    Row("list_notes", plans.list_notes, lambda d: call(d.ids.active_case)),
    Row("get_action_row", plans.get_action_row, lambda d: call(d.ids.nurses_action)),
    Row("list_action_rows", plans.list_action_rows, lambda d: call(d.ids.active_case)),
    Row("action_plan_view", plans.action_plan_view, lambda d: call(d.ids.active_case)),
    Row("list_meetings", meetings.list_meetings, lambda d: call()),
    Row("get_meeting", meetings.get_meeting, lambda d: call(d.ids.planned_meeting)),
    Row("agenda", meetings.agenda, lambda d: call(d.ids.planned_meeting)),
    # people and referrals
    Row(
        "register_patient",
        patients.register_patient,
        lambda d: call(
            nhs_number=NHS[4],
            family_name="Black",
            given_name="Ann",
            date_of_birth=dt.date(1950, 2, 3),
            practice_id=d.ids.practice,
            today=TODAY,
        ),
    ),
    Row(
        "record_death",
        patients.record_death,
        lambda d: call(d.ids.closed_patient, TODAY, TODAY),
    ),
    Row(
        "refer",
        cases.refer,
        lambda d: call(d.ids.closed_patient, source=ReferralSource.GP, reason="Falls", today=TODAY),
    ),
    Row(
        "make_referral",
        referrals.make_referral,
        lambda d: call(
            nhs_number=NHS[2],
            patient_id=d.ids.closed_patient,
            new_person=None,
            source=ReferralSource.GP,
            reason="Falls again",
            urgency=Urgency.ROUTINE,
            referred_on=TODAY,
            today=TODAY,
        ),
    ),
    Row(
        "accept",
        cases.accept,
        lambda d: call(d.ids.referred_case, coordinator_id=d.ids.staff[Role.CARE_COORDINATOR]),
    ),
    # the case and its plan
    Row(
        "change_coordinator",
        cases.change_coordinator,
        lambda d: call(
            d.ids.active_case, coordinator_id=d.ids.staff[Role.TEAM_MEMBER], reason="Leave"
        ),
    ),
    Row("start_review", cases.start_review, lambda d: call(d.ids.active_case)),
    Row(
        "finish_review",
        cases.finish_review,
        lambda d: call(d.ids.reviewed_case, next_review_on=LATER),
    ),
    Row("set_next_review", cases.set_next_review, lambda d: call(d.ids.active_case, LATER)),
    Row(
        "restore_next_review",
        cases.restore_next_review,
        lambda d: call(d.ids.active_case, None),
    ),
    Row("set_escalated", cases.set_escalated, lambda d: call(d.ids.active_case, True)),
    Row(
        "close",
        cases.close,
        lambda d: call(d.ids.active_case, reason=ClosureReason.GOALS_MET),
    ),
    Row(
        "reopen",
        cases.reopen,
        lambda d: call(
            d.ids.closed_case,
            coordinator_id=d.ids.staff[Role.CARE_COORDINATOR],
            reason="Closed in error",
        ),
    ),
    Row("set_risk_band", patients.set_risk_band, lambda d: call(d.ids.patient, RiskBand.HIGH)),
    Row("add_condition", patients.add_condition, lambda d: call(d.ids.patient, "Heart failure")),
    Row(
        "add_alert",
        patients.add_alert,
        lambda d: call(d.ids.patient, AlertKind.KEY_SAFE, "Key safe by the door"),
    ),
    Row(
        "record_consent",
        patients.record_consent,
        lambda d: call(d.ids.patient, ConsentDecision.GIVEN, today=TODAY),
    ),
    Row("retire_alert", patients.retire_alert, lambda d: call(d.ids.alert)),
    Row(
        "add_goal",
        plans.add_goal,
        lambda d: call(d.ids.active_case, description="Sleep through the night"),
    ),
    Row(
        "set_goal_outcome",
        plans.set_goal_outcome,
        lambda d: call(d.ids.goal, GoalOutcome.ACHIEVED),
    ),
    Row("add_note", plans.add_note, lambda d: call(d.ids.active_case, "Phoned; all well.")),
    Row("set_note_sensitive", plans.set_note_sensitive, lambda d: call(d.ids.note, True)),
    Row(
        "add_care_team_member",
        plans.add_care_team_member,
        lambda d: call(d.ids.active_case, role="Pharmacist", name="Amir Khan"),
    ),
    Row(
        "remove_care_team_member",
        plans.remove_care_team_member,
        lambda d: call(d.ids.care_team_member),
    ),
    Row(
        "add_intervention",
        plans.add_intervention,
        lambda d: call(d.ids.active_case, kind=InterventionKind.REABLEMENT, started_on=TODAY),
    ),
    Row(
        "end_intervention",
        plans.end_intervention,
        lambda d: call(d.ids.intervention, ended_on=TODAY, outcome=InterventionOutcome.GOALS_MET),
    ),
    Row(
        "record_outcome_event",
        plans.record_outcome_event,
        lambda d: call(
            d.ids.patient,
            kind=OutcomeEventKind.AE_ATTENDANCE,
            occurred_on=TODAY,
            today=TODAY,
        ),
    ),
    Row(
        "record_discharge",
        plans.record_discharge,
        lambda d: call(
            d.ids.admission_event,
            discharged_on=TODAY,
            destination=DischargeDestination.USUAL_RESIDENCE,
            today=TODAY,
        ),
    ),
    Row(
        "set_permanent_placement",
        plans.set_permanent_placement,
        lambda d: call(d.ids.care_home_event, True),
    ),
    Row(
        "record_experience_response",
        experience.record_experience_response,
        lambda d: call(
            d.ids.patient,
            statement=ExperienceStatement.DID_NOT_REPEAT_STORY,
            agreement=5,
            answered_on=TODAY,
            collected_how=SurveyMethod.IN_PERSON,
            today=TODAY,
        ),
    ),
    Row(
        "withdraw_experience_response",
        experience.withdraw_experience_response,
        lambda d: call(d.ids.survey_answer),
    ),
    Row(
        "counted_case_rows",
        indicator_cases.counted_case_rows,
        lambda d: call([d.ids.active_case]),
    ),
    Row(
        "list_experience_responses",
        experience.list_experience_responses,
        lambda d: call(d.ids.patient),
    ),
    Row(
        "import_experience_csv",
        experience.import_experience_csv,
        lambda d: call(_survey_csv(d), today=TODAY),
    ),
    Row(
        "add_action",
        plans.add_action,
        lambda d: call(
            d.ids.active_case,
            description="Order a bath board",
            owner_id=d.ids.staff[Role.TEAM_MEMBER],
            due_on=LATER,
            today=TODAY,
        ),
    ),
    Row(
        "update_action (own)",
        plans.update_action,
        lambda d: call(d.ids.nurses_action, description="Check both stair rails", today=TODAY),
        needs=_own_action_of(Role.TEAM_MEMBER),
    ),
    Row(
        "update_action (someone else's)",
        plans.update_action,
        lambda d: call(d.ids.coordinators_action, description="Ring the son", today=TODAY),
        needs=_own_action_of(Role.CARE_COORDINATOR),
    ),
    Row(
        "set_action_goal",
        plans.set_action_goal,
        lambda d: call(d.ids.nurses_action, d.ids.goal),
        needs=_own_action_of(Role.TEAM_MEMBER),
    ),
    Row(
        "restore_action",
        plans.restore_action,
        lambda d: call(_action_row(d, d.ids.coordinators_action)),
        needs=_own_action_of(Role.CARE_COORDINATOR),
    ),
    Row("withdraw_action", plans.withdraw_action, lambda d: call(d.ids.nurses_action)),
    Row("reinstate_action", plans.reinstate_action, lambda d: call(d.ids.withdrawn_action)),
    Row(
        "set_action_sensitive",
        plans.set_action_sensitive,
        lambda d: call(d.ids.nurses_action, True),
    ),
    # meetings
    Row(
        "schedule_meeting",
        meetings.schedule_meeting,
        lambda d: call(
            practice_id=d.ids.practice,
            day=TODAY + dt.timedelta(days=21),
            start_time=dt.time(9, 30),
            duration_minutes=60,
            chair_id=d.ids.staff[Role.MDT_CHAIR],
            location="Practice library",
            today=TODAY,
        ),
    ),
    Row("cancel_meeting", meetings.cancel_meeting, lambda d: call(d.ids.planned_meeting)),
    Row(
        "invite",
        meetings.invite,
        lambda d: call(d.ids.planned_meeting, d.ids.staff[Role.OBSERVER]),
    ),
    Row(
        "set_attendance",
        meetings.set_attendance,
        lambda d: call(
            d.ids.planned_meeting, d.ids.staff[Role.TEAM_MEMBER], AttendanceStatus.APOLOGIES
        ),
    ),
    Row("propose", agenda_rules.propose, lambda d: call(d.ids.planned_meeting, today=TODAY)),
    Row(
        "add_to_agenda",
        meetings.add_to_agenda,
        lambda d: call(
            d.ids.planned_meeting, d.ids.referred_case, reason=AgendaReason.NEW_REFERRAL
        ),
    ),
    Row(
        "dismiss_proposal",
        meetings.dismiss_proposal,
        lambda d: call(
            d.ids.planned_meeting, d.ids.referred_case, reason=AgendaReason.NEW_REFERRAL
        ),
    ),
    Row("remove_from_agenda", meetings.remove_from_agenda, lambda d: call(d.ids.planned_item)),
    Row("move_item", meetings.move_item, lambda d: call(d.ids.planned_item, 0)),
    Row("set_item_minutes", meetings.set_item_minutes, lambda d: call(d.ids.planned_item, 20)),
    Row(
        "start_meeting",
        meeting_mode.start_meeting,
        lambda d: call(d.ids.planned_meeting, now=NOW),
    ),
    Row(
        "item_briefing",
        meeting_mode.item_briefing,
        lambda d: call(d.ids.running_item, today=TODAY),
    ),
    Row(
        "save_capture",
        meeting_mode.save_capture,
        lambda d: call(
            d.ids.running_item,
            summary="Falls at night.",
            decisions="Refer to the falls clinic.",
            outcome=AgendaOutcome.CHANGE_PLAN,
            now=NOW,
        ),
    ),
    Row("add_time", meeting_mode.add_time, lambda d: call(d.ids.running_item, 60)),
    Row(
        "add_action_from_decision",
        meeting_mode.add_action_from_decision,
        lambda d: call(
            d.ids.running_item,
            description="Refer to the falls clinic",
            owner_id=d.ids.staff[Role.MDT_CHAIR],
            due_on=LATER,
            today=TODAY,
        ),
    ),
    Row(
        "finish_meeting",
        meeting_mode.finish_meeting,
        lambda d: call(d.ids.running_meeting, now=NOW),
    ),
    Row(
        "add_amendment",
        meeting_mode.add_amendment,
        lambda d: call(d.ids.finished_meeting, "Mrs Smith's GP is Dr Ó Briain.", author_id=None),
    ),
    # prints and export
    Row(
        "record_print (care plan)",
        prints.record_print,
        _print(DocumentKind.CARE_PLAN, patient=True),
        needs=_care_plan_of_patient,
    ),
    Row(
        "record_print (caseload list)",
        prints.record_print,
        _print(DocumentKind.CASELOAD_LIST, patient=False),
    ),
    Row("export_json", export.export_json, lambda d: call(io.StringIO())),
    # sync review, administration, imports
    Row(
        "resolve",
        review.resolve,
        lambda d: call(d.ids.review_item, review.Resolution.ACKNOWLEDGED, resolved_by_id=None),
    ),
    Row(
        "resolve (a clash over someone's roles)",
        review.resolve,
        lambda d: call(d.ids.roles_review_item, review.Resolution.KEEP_KEPT, resolved_by_id=None),
        needs=lambda role: P.MANAGE_STAFF,
    ),
    Row(
        "add_staff",
        staff.add_staff,
        lambda d: call(family_name="Khan", given_name="Amir", profession="pharmacist"),
    ),
    Row(
        "set_roles",
        sign_in.set_roles,
        lambda d: call(d.ids.staff[Role.OBSERVER], {Role.TEAM_MEMBER}),
    ),
    Row(
        "record_leaver",
        sign_in.record_leaver,
        lambda d: call(d.ids.staff[Role.OBSERVER], TODAY),
    ),
    Row("import_ods_practices", practices.import_ods_practices, lambda d: call(_practices_csv(d))),
    Row("import_list_sizes", list_sizes.import_list_sizes, lambda d: call(_list_sizes_csv(d))),
    Row("team_roster", team.team_roster, lambda d: call()),
    Row(
        "set_practices_covered",
        team.set_practices_covered,
        lambda d: call(d.ids.staff[Role.OBSERVER], (TEST_PRACTICES[1][0],)),
    ),
    Row("set_idle_lock_minutes", desk_settings.set_idle_lock_minutes, lambda d: call(5)),
    Row("name_locality", practices.name_locality, lambda d: call("00K", "North Locality")),
    Row(
        "import_patients_csv",
        patient_import.import_patients_csv,
        lambda d: call(_patients_csv(d)),
    ),
)


def declared_entry_points() -> set[Callable[..., Any]]:
    """Every function in the services modules that declares a permission."""
    found: set[Callable[..., Any]] = set()
    for module_info in pkgutil.iter_modules(mdt_desk.services.__path__):
        module = importlib.import_module(f"mdt_desk.services.{module_info.name}")
        for _name, member in inspect.getmembers(module, inspect.isfunction):
            if member.__module__ == module.__name__ and hasattr(member, "required_permission"):
                found.add(member)
    return found


def journal_size(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(JournalChange)) or 0)


def run(desk: Desk, role: Role, row: Row) -> Any:
    args, kwargs = row.arguments(desk)
    with desk.store.write(desk.ids.staff[role], role.value) as session:
        return row.function(session, *args, **kwargs)


def test_the_table_calls_every_entry_point_that_declares_a_permission():
    in_table = {row.function for row in ROWS}
    missing = {f"{f.__module__}.{f.__name__}" for f in declared_entry_points() - in_table}
    assert not missing, f"entry points not in the permission table: {sorted(missing)}"
    assert len(declared_entry_points()) >= 70


@pytest.mark.slow  # 600 calls on fresh store copies, about 40 s: the whole suite runs it
@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_role_may_call_an_entry_point_exactly_when_the_matrix_allows(
    desk: Desk, row: Row, role: Role
) -> None:
    needed = row.needed(role)
    before = journal_size(desk.store)
    if needed in ROLE_PERMISSIONS[role]:
        # Real arguments on a fresh copy: an allowed call does what it says.
        run(desk, role, row)
        return
    with pytest.raises(AccessDeniedError, match=r"^Your role \(.+\) does not allow ") as refused:
        run(desk, role, row)
    assert refused.value.permission is needed
    assert journal_size(desk.store) == before, "a refused call wrote something"


def test_a_refusal_names_the_role_and_what_it_does_not_allow(desk: Desk) -> None:
    row = next(row for row in ROWS if row.function is patient_import.import_patients_csv)
    with pytest.raises(
        AccessDeniedError,
        match=(
            r"^Your role \(Observer\) does not allow importing patients "
            r"\(patient lists and FHIR care plans\)\.$"
        ),
    ):
        run(desk, Role.OBSERVER, row)


def test_patient_import_from_a_file_is_refused_without_the_role(desk: Desk) -> None:
    path = _patients_csv(desk)
    before = journal_size(desk.store)
    with pytest.raises(AccessDeniedError, match="does not allow importing patients"):
        patient_import.import_patients_file(
            desk.store, path, actor_id=desk.ids.staff[Role.CARE_COORDINATOR]
        )
    assert journal_size(desk.store) == before
    report = patient_import.import_patients_file(
        desk.store, path, actor_id=desk.ids.staff[Role.TEAM_ADMINISTRATOR]
    )
    assert report.imported == 1, report.problems


def test_meeting_mode_closes_a_case_for_the_chair_who_may_not_close_one_alone(
    desk: Desk,
) -> None:
    """A step checked at its entry point is not checked again inside (one transaction)."""
    ids, chair = desk.ids, desk.ids.staff[Role.MDT_CHAIR]
    with desk.store.write(chair, "chair") as session:
        meeting_mode.save_capture(
            session, ids.running_item, outcome=AgendaOutcome.CLOSE_CASE, now=NOW
        )
        meeting_mode.finish_meeting(session, ids.running_meeting, now=NOW)
    with desk.store.read(chair) as session:
        assert cases.get_case(session, ids.active_case).status.value == "closed"
    with (
        desk.store.write(chair, "chair") as session,
        pytest.raises(AccessDeniedError, match="does not allow closing cases"),
    ):
        cases.close(session, ids.reviewed_case, reason=ClosureReason.GOALS_MET)


def test_every_permission_is_refused_to_some_role() -> None:
    for permission in Permission:
        refused = [role for role in Role if permission not in ROLE_PERMISSIONS[role]]
        assert refused, f"every role may {permission.value}"


def test_the_matrix_says_what_the_issue_says() -> None:
    """Issue 10's role table, sentence by sentence."""
    may = {role: ROLE_PERMISSIONS[role] for role in Role}
    clinical_changes = {
        P.REFER,
        P.EDIT_PLAN,
        P.ADD_NOTE,
        P.ADD_ACTION,
        P.UPDATE_ANY_ACTION,
        P.UPDATE_OWN_ACTION,
        P.CLOSE_CASE,
        P.EDIT_DEMOGRAPHICS,
    }
    # Care coordinator: everything on the caseload and records.
    assert (
        clinical_changes | {P.READ_CLINICAL, P.EXPORT, P.PRINT_ANY_CARE_PLAN}
        <= may[Role.CARE_COORDINATOR]
    )
    # Team member: read, add notes and actions, update their own, print their people's plans.
    assert may[Role.TEAM_MEMBER] >= {
        P.READ_CASELOAD,
        P.READ_CLINICAL,
        P.ADD_NOTE,
        P.ADD_ACTION,
        P.UPDATE_OWN_ACTION,
        P.PRINT_TEAM_CARE_PLAN,
    }
    assert not may[Role.TEAM_MEMBER] & {
        P.UPDATE_ANY_ACTION,
        P.CLOSE_CASE,
        P.EDIT_PLAN,
        P.PRINT_ANY_CARE_PLAN,
    }
    # MDT chair: a team member's rights, plus the meeting.
    assert may[Role.MDT_CHAIR] >= may[Role.TEAM_MEMBER] | {
        P.SCHEDULE_MEETINGS,
        P.BUILD_AGENDA,
        P.RUN_MEETING,
        P.AMEND_MINUTES,
        P.RESOLVE_REVIEW,
    }
    # Care navigator: demographics, referrals, lists, scheduling; no clinical notes.
    assert may[Role.CARE_NAVIGATOR] >= {
        P.EDIT_DEMOGRAPHICS,
        P.REFER,
        P.READ_CASELOAD,
        P.PRINT_LISTS,
        P.SCHEDULE_MEETINGS,
    }
    assert not may[Role.CARE_NAVIGATOR] & {P.READ_CLINICAL, P.ADD_NOTE, P.EDIT_PLAN}
    # Team administrator: staff, practices, imports, hub; not clinical records.
    assert may[Role.TEAM_ADMINISTRATOR] == {
        P.MANAGE_STAFF,
        P.IMPORT_PRACTICES,
        P.IMPORT_PATIENTS,
        P.HUB_SETTINGS,
    }
    # Privacy officer: reads everything, with the access log; changes nothing clinical.
    assert may[Role.PRIVACY_OFFICER] >= {
        P.READ_CASELOAD,
        P.READ_CLINICAL,
        P.READ_ALL_SENSITIVE,
        P.READ_ACCESS_LOG,
    }
    assert not may[Role.PRIVACY_OFFICER] & clinical_changes
    # Observer: the caseload and non-sensitive records; nothing else.
    assert may[Role.OBSERVER] == {P.READ_CASELOAD, P.READ_CLINICAL}


def test_past_set_up_nobody_signed_in_is_refused(desk: Desk) -> None:
    row = next(row for row in ROWS if row.function is caseload.caseload_rows)
    args, kwargs = row.arguments(desk)
    with (
        desk.store.write(actor_label="nobody") as session,
        pytest.raises(NotSignedInError, match="Nobody is signed in"),
    ):
        caseload.caseload_rows(session, *args, **kwargs)


def test_in_set_up_everything_is_allowed(store: Store, tmp_path: Path) -> None:
    """Before anyone has a PIN a new desk can be filled: no actor, nothing refused."""
    with store.write(actor_label="initial set-up") as session:
        made = staff.add_staff(
            session, family_name="Okafor", given_name="Ngozi", profession="social_worker"
        )
        (path := tmp_path / "epraccur.csv").write_text(epraccur_row(*TEST_PRACTICES[0]) + "\n")
        practices.import_ods_practices(session, path)
        sign_in.set_roles(session, made.id, {Role.OBSERVER})
        out = io.StringIO()
        export.export_json(session, out)
    assert "Okafor" in out.getvalue()


# -- less_privileged ------------------------------------------------------------------

role_sets = st.frozensets(st.sampled_from(list(Role)))


def _text(roles: frozenset[Role]) -> str:
    return format_roles(roles)


def test_less_privileged_takes_the_value_that_grants_less() -> None:
    assert less_privileged("care_coordinator", "observer") == "observer"
    assert less_privileged("observer", "care_coordinator team_member") == "observer"
    assert less_privileged("mdt_chair", "team_member") == "team_member"
    # Neither side within the other: only what both grant.
    assert less_privileged("mdt_chair care_navigator", "mdt_chair privacy_officer") == ("mdt_chair")
    assert less_privileged("team_administrator", "observer") == ""
    # A role id this version does not know grants nothing.
    assert less_privileged("a_future_role", "observer") == ""


@given(role_sets, role_sets)
def test_less_privileged_never_grants_more_than_either_side(
    first: frozenset[Role], second: frozenset[Role]
) -> None:
    settled = permissions_of(parse_roles(less_privileged(_text(first), _text(second))))
    assert settled <= permissions_of(first)
    assert settled <= permissions_of(second)


@given(role_sets, role_sets)
def test_less_privileged_is_the_same_whichever_desk_sees_which_side_first(
    first: frozenset[Role], second: frozenset[Role]
) -> None:
    assert less_privileged(_text(first), _text(second)) == less_privileged(
        _text(second), _text(first)
    )


@given(role_sets)
def test_less_privileged_keeps_an_unchanged_value(roles: frozenset[Role]) -> None:
    assert less_privileged(_text(roles), _text(roles)) == _text(roles)
