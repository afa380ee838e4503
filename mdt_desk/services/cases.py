"""The case lifecycle and its care coordinator.

    referred ──accept──▶ active ◀──resume── under review
        │                  │ └──review──────────▲
        └──close──▶ closed ◀──close── (active or under review)
                      └──reopen──▶ active

Rules (domain.md): a person has at most one open case; an active case (or one under
review) has exactly one named coordinator, and every change of coordinator keeps the
old assignment with its dates and the reason; a case is closed only with a reason.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import Case, CoordinatorAssignment, Patient, Staff
from mdt_desk.models.enums import (
    CaseStatus,
    ClosureReason,
    NotAcceptedReason,
    Profession,
    ReferralSource,
    Urgency,
)
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import cui_date, patient_display_name
from mdt_desk.services.patients import load_patient
from mdt_desk.services.staff import display_staff_name

OPEN_STATUSES = (CaseStatus.REFERRED, CaseStatus.ACTIVE, CaseStatus.UNDER_REVIEW)
COORDINATED_STATUSES = (CaseStatus.ACTIVE, CaseStatus.UNDER_REVIEW)

_STATUS_WORDS = {
    CaseStatus.REFERRED: "a new referral",
    CaseStatus.ACTIVE: "active",
    CaseStatus.UNDER_REVIEW: "under review",
    CaseStatus.CLOSED: "closed",
}


@dataclass(frozen=True)
class CoordinatorRecord:
    staff_id: uuid.UUID
    name: str
    started_on: dt.date
    ended_on: dt.date | None
    reason: str


@dataclass(frozen=True)
class CaseRecord:
    id: uuid.UUID
    patient_id: uuid.UUID
    status: CaseStatus
    referral_source: ReferralSource
    referral_reason: str
    referral_urgency: Urgency
    referred_on: dt.date
    accepted_on: dt.date | None
    closed_on: dt.date | None
    closure_reason: ClosureReason | None
    next_review_on: dt.date | None
    escalated: bool
    coordinator: CoordinatorRecord | None
    coordinator_history: tuple[CoordinatorRecord, ...]
    #: why a referral closed as not accepted was not accepted
    not_accepted_reason: NotAcceptedReason | None = None


def load_case(session: Session, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.retired_at is not None:
        raise NotFoundError("That case is not in this store.")
    return case


def _assignments(session: Session, case_id: uuid.UUID) -> list[tuple[CoordinatorAssignment, Staff]]:
    return list(
        session.execute(
            select(CoordinatorAssignment, Staff)
            .join(Staff, Staff.id == CoordinatorAssignment.staff_id)
            .where(
                CoordinatorAssignment.case_id == case_id,
                CoordinatorAssignment.retired_at.is_(None),
            )
            .order_by(CoordinatorAssignment.started_on, CoordinatorAssignment.created_at)
        )
    )


def case_record(session: Session, case: Case) -> CaseRecord:
    history = tuple(
        CoordinatorRecord(
            staff_id=staff.id,
            name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            started_on=assignment.started_on,
            ended_on=assignment.ended_on,
            reason=assignment.reason,
        )
        for assignment, staff in _assignments(session, case.id)
    )
    current = [record for record in history if record.ended_on is None]
    return CaseRecord(
        id=case.id,
        patient_id=case.patient_id,
        status=case.status,
        referral_source=case.referral_source,
        referral_reason=case.referral_reason,
        referral_urgency=case.referral_urgency,
        referred_on=case.referred_on,
        accepted_on=case.accepted_on,
        closed_on=case.closed_on,
        closure_reason=case.closure_reason,
        next_review_on=case.next_review_on,
        escalated=case.escalated,
        coordinator=current[-1] if current else None,
        coordinator_history=history,
        not_accepted_reason=case.not_accepted_reason,
    )


def get_case(session: Session, case_id: uuid.UUID) -> CaseRecord:
    return case_record(session, load_case(session, case_id))


def open_case_of(session: Session, patient_id: uuid.UUID) -> Case | None:
    """The person's open (not closed) case, if they have one."""
    return session.scalar(
        select(Case).where(
            Case.patient_id == patient_id,
            Case.status.in_(OPEN_STATUSES),
            Case.retired_at.is_(None),
        )
    )


#: Professions that never coordinate care: the administrator sets the desk up and keeps
#: the team list; they do not hold a caseload.
NON_COORDINATING_PROFESSIONS = frozenset({Profession.ADMINISTRATOR})


def can_coordinate(profession: Profession) -> bool:
    """Whether someone of ``profession`` may be a person's care coordinator."""
    return profession not in NON_COORDINATING_PROFESSIONS


def _active_staff(session: Session, staff_id: uuid.UUID | None, field: str) -> Staff:
    staff = session.get(Staff, staff_id) if staff_id else None
    if staff is None or staff.retired_at is not None:
        message = "Choose a care coordinator from the team."
        raise ValidationError(message, {field: message})
    if field == "coordinator" and not can_coordinate(staff.profession):
        message = (
            f"{display_staff_name(staff.family_name, staff.given_name, staff.title)} is the "
            "team's administrator, not a care coordinator: choose someone who works with "
            "the person."
        )
        raise ValidationError(message, {field: message})
    return staff


def _refuse_second_open_case(
    session: Session, patient: Patient, except_case: uuid.UUID | None
) -> None:
    existing = open_case_of(session, patient.id)
    if existing is not None and existing.id != except_case:
        raise RuleError(
            f"{patient_display_name(patient.family_name, patient.given_name)} already has an "
            f"open case ({_STATUS_WORDS[existing.status]}, referred "
            f"{cui_date(existing.referred_on)}). A person has one open case at a time: "
            "add to that case, or close it first."
        )


@requires(Permission.REFER)
def refer(
    session: Session,
    patient_id: uuid.UUID,
    *,
    source: ReferralSource,
    reason: str,
    urgency: Urgency = Urgency.ROUTINE,
    referred_on: dt.date | None = None,
    today: dt.date | None = None,
) -> CaseRecord:
    """Open a case from a referral through the single point of access."""
    patient = load_patient(session, patient_id)
    today = today or dt.date.today()
    referred_on = referred_on or today
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["referral_reason"] = "Enter the reason for the referral."
    if referred_on > today:
        errors["referred_on"] = "The referral date cannot be in the future."
    if errors:
        raise ValidationError(" ".join(errors.values()), errors)
    if patient.date_of_death is not None:
        raise RuleError(
            f"{patient_display_name(patient.family_name, patient.given_name)} died on "
            f"{cui_date(patient.date_of_death)}; a case cannot be opened."
        )
    _refuse_second_open_case(session, patient, None)
    case = Case(
        patient_id=patient.id,
        status=CaseStatus.REFERRED,
        referral_source=source,
        referral_reason=reason.strip(),
        referral_urgency=urgency,
        referred_on=referred_on,
    )
    session.add(case)
    session.flush()
    return case_record(session, case)


def _require_status(case: Case, allowed: tuple[CaseStatus, ...], verb: str) -> None:
    if case.status not in allowed:
        raise RuleError(f"A case that is {_STATUS_WORDS[case.status]} cannot be {verb}.")


def _assign(
    session: Session, case: Case, staff: Staff, on: dt.date, reason: str
) -> CoordinatorAssignment:
    assignment = CoordinatorAssignment(
        case_id=case.id, staff_id=staff.id, started_on=on, reason=reason
    )
    session.add(assignment)
    return assignment


def _end_current_assignments(session: Session, case: Case, on: dt.date) -> None:
    for assignment, _staff in _assignments(session, case.id):
        if assignment.ended_on is None:
            assignment.ended_on = max(on, assignment.started_on)


@requires(Permission.REFER)
def accept(
    session: Session,
    case_id: uuid.UUID,
    *,
    coordinator_id: uuid.UUID | None,
    next_review_on: dt.date | None = None,
    on: dt.date | None = None,
) -> CaseRecord:
    """Accept a referral: the case becomes active with its named coordinator."""
    case = load_case(session, case_id)
    _require_status(case, (CaseStatus.REFERRED,), "accepted")
    coordinator = _active_staff(session, coordinator_id, "coordinator")
    on = on or dt.date.today()
    if on < case.referred_on:
        raise ValidationError(
            "A case cannot be accepted before it was referred.",
            {"accepted_on": "A case cannot be accepted before it was referred."},
        )
    case.status = CaseStatus.ACTIVE
    case.accepted_on = on
    case.next_review_on = next_review_on or on + dt.timedelta(weeks=6)
    _assign(session, case, coordinator, on, "Case accepted")
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def change_coordinator(
    session: Session,
    case_id: uuid.UUID,
    *,
    coordinator_id: uuid.UUID | None,
    reason: str,
    on: dt.date | None = None,
) -> CaseRecord:
    """Hand the case to another coordinator; the previous one stays in the history."""
    case = load_case(session, case_id)
    _require_status(case, COORDINATED_STATUSES, "given a new coordinator")
    coordinator = _active_staff(session, coordinator_id, "coordinator")
    if not reason.strip():
        raise ValidationError(
            "Give the reason for changing the coordinator.",
            {"reason": "Give the reason for changing the coordinator."},
        )
    current = case_record(session, case).coordinator
    if current is not None and current.staff_id == coordinator.id:
        raise RuleError(f"{current.name} is already the coordinator of this case.")
    on = on or dt.date.today()
    _end_current_assignments(session, case, on)
    _assign(session, case, coordinator, on, reason.strip())
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def start_review(session: Session, case_id: uuid.UUID) -> CaseRecord:
    """Put an active case under review."""
    case = load_case(session, case_id)
    _require_status(case, (CaseStatus.ACTIVE,), "put under review")
    case.status = CaseStatus.UNDER_REVIEW
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def finish_review(session: Session, case_id: uuid.UUID, *, next_review_on: dt.date) -> CaseRecord:
    """A review ended with the case carrying on: active again, with the next review date."""
    case = load_case(session, case_id)
    _require_status(case, (CaseStatus.UNDER_REVIEW,), "returned to active")
    case.status = CaseStatus.ACTIVE
    case.next_review_on = next_review_on
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def set_next_review(session: Session, case_id: uuid.UUID, next_review_on: dt.date) -> CaseRecord:
    case = load_case(session, case_id)
    _require_status(case, OPEN_STATUSES, "given a review date")
    case.next_review_on = next_review_on
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def set_escalated(session: Session, case_id: uuid.UUID, escalated: bool) -> CaseRecord:
    """Flag (or unflag) the case for discussion at the next MDT meeting."""
    case = load_case(session, case_id)
    _require_status(case, OPEN_STATUSES, "escalated")
    case.escalated = escalated
    session.flush()
    return case_record(session, case)


@requires(Permission.CLOSE_CASE)
def close(
    session: Session,
    case_id: uuid.UUID,
    *,
    reason: ClosureReason | None,
    note: str = "",
    on: dt.date | None = None,
    not_accepted_reason: NotAcceptedReason | None = None,
) -> CaseRecord:
    """Close a case. A reason is required; the coordinator's assignment ends.

    A referral the team does not accept is closed with the reason ``not_accepted`` and
    why (``not_accepted_reason``; "other" needs the note), so that inappropriate
    referrals can be counted. Only a referral (a case not yet accepted) can be.
    """
    case = load_case(session, case_id)
    _require_status(case, OPEN_STATUSES, "closed")
    if reason is None:
        raise ValidationError(
            "Choose the reason for closing the case.",
            {"closure_reason": "Choose the reason for closing the case."},
        )
    if reason is ClosureReason.OTHER and not note.strip():
        raise ValidationError(
            "Describe the reason for closing the case.",
            {"closure_note": "Describe the reason for closing the case."},
        )
    _check_not_accepted(case, reason, not_accepted_reason, note)
    on = on or dt.date.today()
    if on < case.referred_on:
        raise ValidationError(
            "A case cannot close before it was referred.",
            {"closed_on": "A case cannot close before it was referred."},
        )
    case.status = CaseStatus.CLOSED
    case.closed_on = on
    case.closure_reason = reason
    case.closure_note = note.strip()
    case.not_accepted_reason = not_accepted_reason
    case.escalated = False
    _end_current_assignments(session, case, on)
    session.flush()
    return case_record(session, case)


def _check_not_accepted(
    case: Case,
    reason: ClosureReason,
    not_accepted_reason: NotAcceptedReason | None,
    note: str,
) -> None:
    if reason is not ClosureReason.NOT_ACCEPTED:
        if not_accepted_reason is not None:
            message = "A reason for not accepting goes only with the outcome 'not accepted'."
            raise ValidationError(message, {"not_accepted_reason": message})
        return
    if case.status is not CaseStatus.REFERRED:
        raise RuleError(
            "This case was accepted already: close it with another reason. Only a new "
            "referral can be closed as not accepted."
        )
    if not_accepted_reason is None:
        message = "Choose why the referral was not accepted."
        raise ValidationError(message, {"not_accepted_reason": message})
    if not_accepted_reason is NotAcceptedReason.OTHER and not note.strip():
        message = "Describe why the referral was not accepted."
        raise ValidationError(message, {"closure_note": message})


@requires(Permission.CLOSE_CASE)
def reopen(
    session: Session,
    case_id: uuid.UUID,
    *,
    coordinator_id: uuid.UUID | None,
    reason: str,
    on: dt.date | None = None,
) -> CaseRecord:
    """Reopen a closed case (e.g. closed in error) with a named coordinator."""
    case = load_case(session, case_id)
    _require_status(case, (CaseStatus.CLOSED,), "reopened")
    patient = load_patient(session, case.patient_id)
    if patient.date_of_death is not None:
        raise RuleError("The person has died; the case cannot be reopened.")
    if not reason.strip():
        raise ValidationError(
            "Give the reason for reopening the case.",
            {"reason": "Give the reason for reopening the case."},
        )
    _refuse_second_open_case(session, patient, case.id)
    coordinator = _active_staff(session, coordinator_id, "coordinator")
    on = on or dt.date.today()
    case.status = CaseStatus.ACTIVE
    case.closed_on = None
    case.closure_reason = None
    case.closure_note = ""
    case.not_accepted_reason = None
    case.accepted_on = case.accepted_on or on
    _assign(session, case, coordinator, on, f"Case reopened: {reason.strip()}")
    session.flush()
    return case_record(session, case)


@requires(Permission.EDIT_PLAN)
def restore_next_review(
    session: Session, case_id: uuid.UUID, next_review_on: dt.date | None
) -> CaseRecord:
    """Put back an earlier next review date, or none (when an edit is undone)."""
    case = load_case(session, case_id)
    _require_status(case, OPEN_STATUSES, "given a review date")
    case.next_review_on = next_review_on
    session.flush()
    return case_record(session, case)
