"""Everything the case record screen shows, read in one go.

:func:`load_record` returns one frozen :class:`RecordView`: the CUI banner of the
person, the case to show (the one asked for, else the open one, else the latest) with
its summary, coordinator history, care team, goals and notes, and the staff to choose
from in the screen's pickers. Values arrive already formatted the CUI way (names,
NHS number, dates, ages, words for codes) next to the raw values the screen edits.
"""

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError
from mdt_desk.models import (
    Alert,
    CareTeamMember,
    Case,
    Consent,
    Goal,
    Intervention,
    LongTermCondition,
    Note,
    OutcomeEvent,
    Practice,
    Staff,
    StaffPracticeCover,
)
from mdt_desk.models.enums import (
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    DischargeDestination,
    GoalOutcome,
    InterventionKind,
    InterventionOutcome,
    OutcomeEventKind,
    Profession,
    ReferralSource,
    RiskBand,
    Urgency,
)
from mdt_desk.services.access import Permission, may_read_sensitive, requires
from mdt_desk.services.cases import OPEN_STATUSES, can_coordinate, case_record
from mdt_desk.services.display import (
    NOT_KNOWN,
    cui_age,
    cui_date,
    cui_time,
    label,
    patient_display_name,
)
from mdt_desk.services.experience import (
    STATEMENT_TEXT,
    agreement_words,
    list_experience_responses,
)
from mdt_desk.services.patients import load_patient
from mdt_desk.services.restricted import NOT_SHOWN, RESTRICTED_KIND, RESTRICTED_TEXT, shown
from mdt_desk.services.staff import display_staff_name
from mdt_desk.services.staff_names import StaffNames
from mdt_desk.services.validation import format_nhs_number


class CaseTransition(enum.StrEnum):
    """A change of status the record offers as a button."""

    ACCEPT = "accept"
    START_REVIEW = "start_review"
    FINISH_REVIEW = "finish_review"
    CLOSE = "close"
    REOPEN = "reopen"


#: The transitions each status allows (cases.py enforces the same rules).
TRANSITIONS: dict[CaseStatus, tuple[CaseTransition, ...]] = {
    CaseStatus.REFERRED: (CaseTransition.ACCEPT, CaseTransition.CLOSE),
    CaseStatus.ACTIVE: (CaseTransition.START_REVIEW, CaseTransition.CLOSE),
    CaseStatus.UNDER_REVIEW: (CaseTransition.FINISH_REVIEW, CaseTransition.CLOSE),
    CaseStatus.CLOSED: (CaseTransition.REOPEN,),
}


def allowed_transitions(
    status: CaseStatus, *, deceased: bool = False
) -> tuple[CaseTransition, ...]:
    """The status changes offered for a case in ``status`` (none reopen for a person who died)."""
    allowed = TRANSITIONS[status]
    if deceased:
        allowed = tuple(t for t in allowed if t is not CaseTransition.REOPEN)
    return allowed


@dataclass(frozen=True)
class AlertView:
    id: uuid.UUID
    kind: str
    kind_text: str
    detail: str
    sensitive: bool
    #: need-to-know: the reader may not read it; kind and detail are the marker's words
    restricted: bool = False


@dataclass(frozen=True)
class ConsentView:
    decision: ConsentDecision
    decision_text: str
    recorded_on: dt.date
    recorded_on_text: str
    recorded_by: str
    note: str


@dataclass(frozen=True)
class BannerView:
    """The CUI patient banner: zone 1 (identity) and zone 2 (contact, alerts, consent)."""

    patient_id: uuid.UUID
    family_name: str
    given_name: str
    title: str
    display_name: str
    date_of_birth: dt.date
    born_text: str
    age_text: str
    gender_text: str
    nhs_number: str
    nhs_number_text: str
    date_of_death: dt.date | None
    died_text: str
    age_at_death_text: str
    address: str
    postcode: str
    address_text: str
    phone_text: str
    practice_name: str
    alerts: tuple[AlertView, ...]
    consent: ConsentView | None

    @property
    def deceased(self) -> bool:
        return self.date_of_death is not None


@dataclass(frozen=True)
class CoordinatorView:
    staff_id: uuid.UUID
    name: str
    started_on: dt.date
    started_text: str
    ended_on: dt.date | None
    ended_text: str
    reason: str

    @property
    def current(self) -> bool:
        return self.ended_on is None


@dataclass(frozen=True)
class CareTeamMemberView:
    id: uuid.UUID
    staff_id: uuid.UUID | None
    name: str
    profession_text: str
    organisation: str
    role: str
    contact: str
    joined_on: dt.date
    joined_text: str
    left_on: dt.date | None
    left_text: str

    @property
    def current(self) -> bool:
        return self.left_on is None


@dataclass(frozen=True)
class GoalView:
    id: uuid.UUID
    description: str
    target_on: dt.date | None
    target_text: str
    outcome: GoalOutcome | None
    outcome_text: str
    #: the target date is before today and the goal has no outcome yet
    target_passed: bool = False


@dataclass(frozen=True)
class NoteView:
    """One note. A correction names the note it corrects and follows it in the timeline."""

    id: uuid.UUID
    written_at: dt.datetime
    written_text: str
    author_name: str
    body: str
    amends_note_id: uuid.UUID | None
    corrects_text: str
    corrected_by: tuple[uuid.UUID, ...]
    #: need-to-know: never on the person's own copy, hidden on a shared screen until revealed
    sensitive: bool = False
    #: need-to-know: the reader may not read it (no body, no author; see services.restricted)
    restricted: bool = False

    @property
    def is_correction(self) -> bool:
        return self.amends_note_id is not None


@dataclass(frozen=True)
class InterventionView:
    id: uuid.UUID
    kind: InterventionKind
    kind_text: str
    provider: str
    started_text: str
    planned_end_text: str
    ended_text: str
    outcome: InterventionOutcome | None
    outcome_text: str
    #: the end as recorded (None while it runs): a form to correct it starts from it
    ended_on: dt.date | None = None


@dataclass(frozen=True)
class OutcomeEventView:
    id: uuid.UUID
    kind: OutcomeEventKind
    kind_text: str
    occurred_on: dt.date
    occurred_text: str
    source: str
    delayed_days: int | None
    #: A hospital admission's discharge, as recorded (None: not recorded yet).
    discharged_on: dt.date | None = None
    discharge_destination: DischargeDestination | None = None

    @property
    def discharged_text(self) -> str:
        """``12-Mar-2026, usual residence``; empty when no discharge is recorded."""
        if self.discharged_on is None:
            return ""
        where = label(self.discharge_destination) if self.discharge_destination else ""
        return ", ".join(part for part in (cui_date(self.discharged_on), where) if part)


@dataclass(frozen=True)
class ExperienceAnswerView:
    """One survey answer of the person, in words for the record's table."""

    id: uuid.UUID
    statement_text: str
    agreement: int
    agreement_text: str
    answered_on: dt.date
    answered_text: str
    collected_how_text: str
    by_proxy: bool

    @property
    def by_proxy_text(self) -> str:
        return "Yes" if self.by_proxy else "No"


@dataclass(frozen=True)
class ConditionView:
    id: uuid.UUID
    name: str
    diagnosed_text: str


@dataclass(frozen=True)
class StaffChoice:
    """A member of staff for a picker.

    ``covers_practice``: they cover the person's own practice (offered first);
    ``can_coordinate``: they may be the care coordinator (not the administrator).
    """

    id: uuid.UUID
    name: str
    profession: Profession
    profession_text: str
    organisation: str
    covers_practice: bool = False
    can_coordinate: bool = True


@dataclass(frozen=True)
class CaseView:
    """The case shown in the record, with everything hanging off it."""

    id: uuid.UUID
    status: CaseStatus
    status_text: str
    transitions: tuple[CaseTransition, ...]
    referral_source: ReferralSource
    referral_source_text: str
    referral_reason: str
    referral_urgency: Urgency
    referral_urgency_text: str
    referred_on: dt.date
    referred_text: str
    accepted_on: dt.date | None
    accepted_text: str
    closed_on: dt.date | None
    closed_text: str
    closure_reason: ClosureReason | None
    closure_reason_text: str
    closure_note: str
    escalated: bool
    next_review_on: dt.date | None
    next_review_text: str
    review_overdue: bool
    coordinator: CoordinatorView | None
    coordinator_history: tuple[CoordinatorView, ...]
    care_team: tuple[CareTeamMemberView, ...]
    goals: tuple[GoalView, ...]
    notes: tuple[NoteView, ...]
    interventions: tuple[InterventionView, ...]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class RecordView:
    """Everything the case record screen shows for one person."""

    banner: BannerView
    risk_band: RiskBand | None
    risk_band_text: str
    conditions: tuple[ConditionView, ...]
    outcome_events: tuple[OutcomeEventView, ...]
    case: CaseView | None
    other_case_count: int
    staff: tuple[StaffChoice, ...]
    today: dt.date
    #: The person's survey answers (not withdrawn), newest first.
    experience_answers: tuple[ExperienceAnswerView, ...] = ()

    @property
    def title(self) -> str:
        """The tab title: ``SMITH, Jane``."""
        return patient_display_name(self.banner.family_name, self.banner.given_name)


def _staff_choices(
    session: Session, practice_id: uuid.UUID | None = None
) -> tuple[StaffChoice, ...]:
    covering = (
        set(
            session.scalars(
                select(StaffPracticeCover.staff_id).where(
                    StaffPracticeCover.practice_id == practice_id,
                    StaffPracticeCover.retired_at.is_(None),
                )
            )
        )
        if practice_id is not None
        else set()
    )
    # The columns alone: the whole team is read, so no ORM objects for it.
    return tuple(
        StaffChoice(
            id=staff_id,
            name=display_staff_name(family, given, title),
            profession=profession,
            profession_text=label(profession),
            organisation=organisation,
            covers_practice=staff_id in covering,
            can_coordinate=can_coordinate(profession),
        )
        for staff_id, family, given, title, profession, organisation in session.execute(
            select(
                Staff.id,
                Staff.family_name,
                Staff.given_name,
                Staff.title,
                Staff.profession,
                Staff.organisation,
            )
            .where(Staff.retired_at.is_(None))
            .order_by(Staff.family_name, Staff.given_name)
        )
    )


def _banner(
    session: Session,
    patient_id: uuid.UUID,
    today: dt.date,
    names: StaffNames,
    readable: bool = True,
) -> BannerView:
    patient = load_patient(session, patient_id)
    practice = session.get(Practice, patient.practice_id)
    alerts = tuple(
        shown(
            AlertView(
                id=alert.id,
                kind=alert.kind.value,
                kind_text=label(alert.kind),
                detail=alert.detail,
                sensitive=alert.sensitive,
            ),
            readable,
            kind="",
            kind_text=RESTRICTED_KIND,
            detail=RESTRICTED_TEXT,
        )
        for alert in session.scalars(
            select(Alert)
            .where(Alert.patient_id == patient.id, Alert.retired_at.is_(None))
            .order_by(Alert.created_at)
        )
    )
    latest = session.scalars(
        select(Consent)
        .where(Consent.patient_id == patient.id, Consent.retired_at.is_(None))
        .order_by(Consent.recorded_on.desc(), Consent.created_at.desc())
        .limit(1)
    ).first()
    consent = None
    if latest is not None:
        consent = ConsentView(
            decision=latest.decision,
            decision_text=label(latest.decision),
            recorded_on=latest.recorded_on,
            recorded_on_text=cui_date(latest.recorded_on),
            recorded_by=names.get(latest.recorded_by_id, NOT_KNOWN)
            if latest.recorded_by_id
            else NOT_KNOWN,
            note=latest.note,
        )
    died = patient.date_of_death
    address_parts = [part.strip() for part in (patient.address, patient.postcode) if part.strip()]
    return BannerView(
        patient_id=patient.id,
        family_name=patient.family_name,
        given_name=patient.given_name,
        title=patient.title,
        display_name=patient_display_name(patient.family_name, patient.given_name, patient.title),
        date_of_birth=patient.date_of_birth,
        born_text=cui_date(patient.date_of_birth),
        age_text="" if died else f"({cui_age(patient.date_of_birth, today)})",
        gender_text=label(patient.gender, NOT_KNOWN),
        nhs_number=patient.nhs_number,
        nhs_number_text=format_nhs_number(patient.nhs_number) if patient.nhs_number else NOT_KNOWN,
        date_of_death=died,
        died_text=cui_date(died) if died else "",
        age_at_death_text=cui_age(patient.date_of_birth, died) if died else "",
        address=patient.address,
        postcode=patient.postcode,
        address_text=", ".join(address_parts) if address_parts else NOT_KNOWN,
        phone_text=patient.phone.strip() or NOT_KNOWN,
        practice_name=practice.name if practice is not None else NOT_KNOWN,
        alerts=alerts,
        consent=consent,
    )


def _choose_case(session: Session, patient_id: uuid.UUID, case_id: uuid.UUID | None) -> Case | None:
    if case_id is not None:
        case = session.get(Case, case_id)
        if case is None or case.retired_at is not None or case.patient_id != patient_id:
            raise NotFoundError("That case is not in this store.")
        return case
    live = select(Case).where(Case.patient_id == patient_id, Case.retired_at.is_(None))
    open_case = session.scalars(
        live.where(Case.status.in_(OPEN_STATUSES)).order_by(Case.referred_on.desc()).limit(1)
    ).first()
    if open_case is not None:
        return open_case
    return session.scalars(
        live.order_by(Case.referred_on.desc(), Case.created_at.desc()).limit(1)
    ).first()


def _notes(
    session: Session, case_id: uuid.UUID, names: StaffNames, readable: bool = True
) -> tuple[NoteView, ...]:
    rows = list(
        session.scalars(
            select(Note)
            .where(Note.case_id == case_id, Note.retired_at.is_(None))
            .order_by(Note.written_at, Note.created_at)
        )
    )
    by_id = {note.id: note for note in rows}
    corrections: dict[uuid.UUID, list[Note]] = {}
    for note in rows:
        if note.amends_note_id is not None and note.amends_note_id in by_id:
            corrections.setdefault(note.amends_note_id, []).append(note)

    names.load(note.author_id for note in rows)

    def author(note: Note) -> str:
        return names.get(note.author_id, NOT_KNOWN) if note.author_id else NOT_KNOWN

    def view(note: Note) -> NoteView:
        corrects = ""
        if note.sensitive and not readable:
            return NoteView(
                id=note.id,
                written_at=note.written_at,
                written_text=cui_time(note.written_at),
                author_name=NOT_SHOWN,
                body=RESTRICTED_TEXT,
                amends_note_id=note.amends_note_id,
                corrects_text="",
                corrected_by=tuple(c.id for c in corrections.get(note.id, ())),
                sensitive=True,
                restricted=True,
            )
        if note.amends_note_id is not None:
            original = by_id.get(note.amends_note_id)
            corrects = (
                f"Corrects the note of {cui_time(original.written_at)} by {author(original)}"
                if original is not None
                else "Corrects an earlier note"
            )
        return NoteView(
            id=note.id,
            written_at=note.written_at,
            written_text=cui_time(note.written_at),
            author_name=author(note),
            body=note.body,
            amends_note_id=note.amends_note_id,
            corrects_text=corrects,
            corrected_by=tuple(c.id for c in corrections.get(note.id, ())),
            sensitive=note.sensitive,
        )

    # Newest first; each correction is shown right after the note it corrects.
    timeline: list[NoteView] = []

    def add_with_corrections(note: Note) -> None:
        timeline.append(view(note))
        for correction in corrections.get(note.id, ()):
            add_with_corrections(correction)

    for note in reversed(rows):
        if note.amends_note_id is None or note.amends_note_id not in by_id:
            add_with_corrections(note)
    return tuple(timeline)


def _case_view(
    session: Session,
    case: Case,
    today: dt.date,
    names: StaffNames,
    deceased: bool,
    *,
    readable: bool = True,
) -> CaseView:
    record = case_record(session, case)
    history = tuple(
        CoordinatorView(
            staff_id=item.staff_id,
            name=item.name,
            started_on=item.started_on,
            started_text=cui_date(item.started_on),
            ended_on=item.ended_on,
            ended_text=cui_date(item.ended_on, ""),
            reason=item.reason,
        )
        for item in record.coordinator_history
    )
    current = [item for item in history if item.current]
    professions = {
        staff.id: staff.profession
        for staff in session.scalars(
            select(Staff)
            .join(CareTeamMember, CareTeamMember.staff_id == Staff.id)
            .where(CareTeamMember.case_id == case.id)
        )
    }
    members = list(
        session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.case_id == case.id, CareTeamMember.retired_at.is_(None))
            .order_by(CareTeamMember.left_on.is_not(None), CareTeamMember.joined_on)
        )
    )
    names.load(member.staff_id for member in members)
    team = tuple(
        CareTeamMemberView(
            id=member.id,
            staff_id=member.staff_id,
            name=(names.get(member.staff_id, "") if member.staff_id else "") or member.name,
            profession_text=label(professions.get(member.staff_id)) if member.staff_id else "",
            organisation=member.organisation,
            role=member.role,
            contact=member.contact,
            joined_on=member.joined_on,
            joined_text=cui_date(member.joined_on),
            left_on=member.left_on,
            left_text=cui_date(member.left_on, ""),
        )
        for member in members
    )
    goals = tuple(
        GoalView(
            id=goal.id,
            description=goal.description,
            target_on=goal.target_on,
            target_text=cui_date(goal.target_on, "Not set"),
            outcome=goal.outcome,
            outcome_text=label(goal.outcome, "Not yet"),
            target_passed=(
                goal.target_on is not None and goal.target_on < today and goal.outcome is None
            ),
        )
        for goal in session.scalars(
            select(Goal)
            .where(Goal.case_id == case.id, Goal.retired_at.is_(None))
            .order_by(Goal.created_at)
        )
    )
    interventions = tuple(
        InterventionView(
            id=item.id,
            kind=item.kind,
            kind_text=label(item.kind),
            provider=item.provider,
            started_text=cui_date(item.started_on),
            planned_end_text=cui_date(item.planned_end_on),
            ended_text=cui_date(item.ended_on, ""),
            outcome=item.outcome,
            outcome_text=label(item.outcome),
            ended_on=item.ended_on,
        )
        for item in session.scalars(
            select(Intervention)
            .where(Intervention.case_id == case.id, Intervention.retired_at.is_(None))
            .order_by(Intervention.started_on.desc())
        )
    )
    is_open = case.status in OPEN_STATUSES
    return CaseView(
        id=case.id,
        status=case.status,
        status_text=label(case.status),
        transitions=allowed_transitions(case.status, deceased=deceased),
        referral_source=case.referral_source,
        referral_source_text=label(case.referral_source),
        referral_reason=case.referral_reason,
        referral_urgency=case.referral_urgency,
        referral_urgency_text=label(case.referral_urgency),
        referred_on=case.referred_on,
        referred_text=cui_date(case.referred_on),
        accepted_on=case.accepted_on,
        accepted_text=cui_date(case.accepted_on, "Not yet"),
        closed_on=case.closed_on,
        closed_text=cui_date(case.closed_on, ""),
        closure_reason=case.closure_reason,
        closure_reason_text=label(case.closure_reason),
        closure_note=case.closure_note,
        escalated=case.escalated,
        next_review_on=case.next_review_on,
        next_review_text=cui_date(case.next_review_on, "Not set"),
        review_overdue=bool(is_open and case.next_review_on and case.next_review_on < today),
        coordinator=current[-1] if current else None,
        coordinator_history=history,
        care_team=team,
        goals=goals,
        notes=_notes(session, case.id, names, readable),
        interventions=interventions,
    )


@requires(Permission.READ_CLINICAL)
def load_record(
    session: Session,
    patient_id: uuid.UUID,
    case_id: uuid.UUID | None,
    today: dt.date,
    *,
    show_sensitive: bool | None = None,
    with_staff_choices: bool = True,
) -> RecordView:
    """The person's banner and the case to show.

    Args:
        case_id: the case to show; ``None`` shows the person's open case, else their
            latest, else no case.
        show_sensitive: ``None`` (the default) shows restricted items' content only to
            those who may read them (:func:`~mdt_desk.services.access.may_read_sensitive`);
            everyone else gets a marker (:mod:`mdt_desk.services.restricted`). ``True``
            is for a caller that has decided itself (meeting mode's chair).
        with_staff_choices: ``False`` leaves :attr:`RecordView.staff` empty, for a
            caller with no pickers (a document): the choices are the whole team, so
            reading them costs more the larger the area the desk serves.

    Raises:
        NotFoundError: the person (or that case of theirs) is not in this store.
    """
    # Only the staff the record names (coordinators, team, note authors), never the team.
    names = StaffNames(session)
    load_patient(session, patient_id)  # an unknown person is NotFound, not "restricted"
    readable = (
        show_sensitive if show_sensitive is not None else may_read_sensitive(session, patient_id)
    )
    banner = _banner(session, patient_id, today, names, readable)
    patient = load_patient(session, patient_id)
    case = _choose_case(session, patient_id, case_id)
    case_count = len(
        list(
            session.scalars(
                select(Case.id).where(Case.patient_id == patient_id, Case.retired_at.is_(None))
            )
        )
    )
    conditions = tuple(
        ConditionView(id=item.id, name=item.name, diagnosed_text=cui_date(item.diagnosed_on))
        for item in session.scalars(
            select(LongTermCondition)
            .where(
                LongTermCondition.patient_id == patient_id,
                LongTermCondition.retired_at.is_(None),
            )
            .order_by(LongTermCondition.name)
        )
    )
    events = tuple(
        OutcomeEventView(
            id=event.id,
            kind=event.kind,
            kind_text=label(event.kind),
            occurred_on=event.occurred_on,
            occurred_text=cui_date(event.occurred_on),
            source=event.source,
            delayed_days=event.delayed_days,
            discharged_on=event.discharged_on,
            discharge_destination=event.discharge_destination,
        )
        for event in session.scalars(
            select(OutcomeEvent)
            .where(OutcomeEvent.patient_id == patient_id, OutcomeEvent.retired_at.is_(None))
            .order_by(OutcomeEvent.occurred_on.desc(), OutcomeEvent.created_at.desc())
        )
    )
    return RecordView(
        banner=banner,
        risk_band=patient.risk_band,
        risk_band_text=label(patient.risk_band, "Not set"),
        conditions=conditions,
        outcome_events=events,
        case=(
            _case_view(session, case, today, names, banner.deceased, readable=readable)
            if case
            else None
        ),
        other_case_count=max(case_count - (1 if case else 0), 0),
        staff=_staff_choices(session, patient.practice_id) if with_staff_choices else (),
        today=today,
        experience_answers=_experience_answers(session, patient_id),
    )


def _experience_answers(
    session: Session, patient_id: uuid.UUID
) -> tuple[ExperienceAnswerView, ...]:
    return tuple(
        ExperienceAnswerView(
            id=answer.id,
            statement_text=STATEMENT_TEXT[answer.statement],
            agreement=answer.agreement,
            agreement_text=agreement_words(answer.agreement),
            answered_on=answer.answered_on,
            answered_text=cui_date(answer.answered_on),
            collected_how_text=label(answer.collected_how),
            by_proxy=answer.by_proxy,
        )
        for answer in list_experience_responses(session, patient_id)
    )


def staff_choices(session: Session) -> Sequence[StaffChoice]:
    """Active staff for a picker, by family name."""
    return _staff_choices(session)
