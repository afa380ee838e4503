"""How MDT Desk's coded values map to FHIR R4 codes, both ways.

One table per mapping, read by the export and inverted by the import, so the two can
never disagree. Where FHIR's required value set has no word for one of ours (a case
"under review" is, to FHIR, simply an active plan), the mapping says so and the import
takes the nearest of ours: docs/interop.md lists each such place.
"""

import uuid
from collections.abc import Mapping
from typing import TypeVar

from mdt_desk.models.enums import (
    ActionStatus,
    CaseStatus,
    ConsentDecision,
    Gender,
    GoalOutcome,
    OutcomeEventKind,
)

#: SNOMED CT, and the concept every receiver knows a care plan by.
SNOMED = "http://snomed.info/sct"
CARE_PLAN_CONCEPT = ("734163000", "Care plan")

#: The UK Core extension saying how far an NHS number has been checked, and its codes.
NHS_NUMBER_VERIFICATION_URL = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
NHS_NUMBER_VERIFICATION_SYSTEM = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
)
#: MDT Desk checks the check digit but does not trace numbers on the Spine, so it never
#: says a number is verified (CareConnect: "only verified NHS Number SHALL be used" as
#: verified; an untraced one must say so).
NHS_NUMBER_NOT_TRACED = ("02", "Number present but not traced")

#: FHIR's own code systems used here.
GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
PATIENT_CONSENT_LOINC = ("59284-0", "Patient Consent")
INPATIENT_CLASS = ("IMP", "inpatient encounter")

#: MDT Desk's own code systems, for values no national code system carries yet (a
#: profession, an alert kind, where someone went after hospital). Local names: a
#: receiver reads the ``display`` and ``text``; the codes let our import read them back.
LOCAL = "urn:mdt-desk:codesystem:"
PROFESSION_SYSTEM = LOCAL + "profession"
ALERT_KIND_SYSTEM = LOCAL + "alert-kind"
CARE_TEAM_ROLE_SYSTEM = LOCAL + "care-team-role"
CONSENT_DECISION_SYSTEM = LOCAL + "consent-decision"
ADMISSION_KIND_SYSTEM = LOCAL + "admission-kind"
DISCHARGE_DESTINATION_SYSTEM = LOCAL + "discharge-destination"
#: A care plan print's own facts, which a DocumentReference has no element for.
CONTENT_SHA256_SYSTEM = "urn:mdt-desk:content-sha256"
PLAN_VERSION_SYSTEM = "urn:mdt-desk:plan-version"
PAGE_COUNT_EXTENSION = "urn:mdt-desk:extension:page-count"
#: A plan's next review date (the PRSB "plan review"): FHIR's CarePlan has no element for
#: it, and its ``period.end`` would say the plan stops being in force.
NEXT_REVIEW_EXTENSION = "urn:mdt-desk:extension:next-review"
LARGE_PRINT_EXTENSION = "urn:mdt-desk:extension:large-print"

#: The care team participant who is the named care coordinator.
COORDINATOR_ROLE = ("care-coordinator", "Care coordinator")

#: Ids of resources that are not one of our rows (the care plan and care team of a case,
#: a staff member's role, the bundle itself) are derived from our ids in this
#: namespace, so the same store gives the same bytes.
DERIVED_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:mdt-desk:fhir")


def derived_id(kind: str, source: uuid.UUID | str) -> uuid.UUID:
    """The stable id of the ``kind`` resource made from ``source`` (an id or a code)."""
    key = source.hex if isinstance(source, uuid.UUID) else source
    return uuid.uuid5(DERIVED_ID_NAMESPACE, f"{kind}/{key}")


_K = TypeVar("_K")
_V = TypeVar("_V")


def invert(mapping: Mapping[_K, _V]) -> dict[_V, _K]:
    """The reverse of a one-to-one mapping (raises if two keys share a value)."""
    reverse = {value: key for key, value in mapping.items()}
    if len(reverse) != len(mapping):
        raise ValueError("the mapping is not one-to-one")
    return reverse


GENDER: dict[Gender, str] = {
    Gender.FEMALE: "female",
    Gender.MALE: "male",
    Gender.OTHER: "other",
    Gender.NOT_KNOWN: "unknown",
}

#: A case's status as an EpisodeOfCare status (required binding). A referral not yet
#: accepted waits; a case under review is still an active episode; a referral closed as
#: not accepted was cancelled rather than finished.
EPISODE_STATUS: dict[CaseStatus, str] = {
    CaseStatus.REFERRED: "waitlist",
    CaseStatus.ACTIVE: "active",
    CaseStatus.UNDER_REVIEW: "active",
    CaseStatus.CLOSED: "finished",
}
EPISODE_NOT_ACCEPTED = "cancelled"
#: ... and its plan's CarePlan status: a referral's plan is a draft until accepted.
CARE_PLAN_STATUS: dict[CaseStatus, str] = {
    CaseStatus.REFERRED: "draft",
    CaseStatus.ACTIVE: "active",
    CaseStatus.UNDER_REVIEW: "active",
    CaseStatus.CLOSED: "completed",
}
CARE_PLAN_NOT_ACCEPTED = "revoked"
#: The import reads the episode's status back (the plan's follows from it).
CASE_STATUS_FROM_EPISODE: dict[str, CaseStatus] = {
    "planned": CaseStatus.REFERRED,
    "waitlist": CaseStatus.REFERRED,
    "active": CaseStatus.ACTIVE,
    "onhold": CaseStatus.UNDER_REVIEW,
    "finished": CaseStatus.CLOSED,
    "cancelled": CaseStatus.CLOSED,
}

#: An action's status as a Task status (required binding): an agreed action not yet
#: started is "ready", not merely "requested".
TASK_STATUS: dict[ActionStatus, str] = {
    ActionStatus.OPEN: "ready",
    ActionStatus.IN_PROGRESS: "in-progress",
    ActionStatus.DONE: "completed",
    ActionStatus.CANCELLED: "cancelled",
}

#: A goal's outcome as (Goal.lifecycleStatus, Goal.achievementStatus code). A goal with
#: no outcome yet is active and in progress.
GOAL_STATUS: dict[GoalOutcome | None, tuple[str, str]] = {
    None: ("active", "in-progress"),
    GoalOutcome.ACHIEVED: ("completed", "achieved"),
    GoalOutcome.PARTLY_ACHIEVED: ("completed", "improving"),
    GoalOutcome.NOT_ACHIEVED: ("completed", "not-achieved"),
    GoalOutcome.NO_LONGER_RELEVANT: ("cancelled", "not-attainable"),
}

#: A consent decision as (Consent.status, Consent.provision.type or "" for none).
CONSENT_STATUS: dict[ConsentDecision, tuple[str, str]] = {
    ConsentDecision.GIVEN: ("active", "permit"),
    ConsentDecision.BEST_INTERESTS: ("active", "permit"),
    ConsentDecision.DECLINED: ("active", "deny"),
    ConsentDecision.NOT_ASKED: ("proposed", ""),
}
#: The policy a consent decision is about (R4 invariant ppc-1: a Consent names its policy
#: or policy rule): sharing for the person's care, opted into or out of. A decision not
#: yet asked is a proposal to opt in.
CONSENT_POLICY_RULE: dict[ConsentDecision, tuple[str, str]] = {
    ConsentDecision.GIVEN: ("OPTIN", "opt-in"),
    ConsentDecision.BEST_INTERESTS: ("OPTIN", "opt-in"),
    ConsentDecision.DECLINED: ("OPTOUT", "opt-out"),
    ConsentDecision.NOT_ASKED: ("OPTIN", "opt-in"),
}

#: The outcome events that are hospital admissions, each an inpatient Encounter.
ADMISSION_KINDS = (OutcomeEventKind.HOSPITAL_ADMISSION, OutcomeEventKind.READMISSION_30_DAYS)
