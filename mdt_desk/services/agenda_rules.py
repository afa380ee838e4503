"""Which cases the agenda builder proposes for a meeting, and why.

Each open case of the meeting's practices is checked against every rule; a case is
proposed when at least one holds, with every reason that holds, so the chair sees the
whole picture ("new referral; 2 overdue actions"). Deceased people and closed cases are
never proposed. Cases already on the agenda, or dismissed for this meeting, are left out;
so is a case already on the agenda of another upcoming (planned or in progress) meeting of
the same practices that starts before this one — it will be discussed there first, and if
it is not reached it is carried over. Dismissals stay per meeting.

The rules, all judged on the meeting's date (Europe/London; the day it was started, for
a meeting already running). No reason names a date after that day, and a review is said
to be "overdue since" a date only once that date has passed:

- new referral: the case has never been discussed at an MDT meeting;
- review due: its next review is on or before the meeting day;
- recent admission: a hospital admission, A&E attendance or emergency readmission dated
  on or after the day the case was last discussed (or referred, if never). An event on
  the day of the last discussion counts: its date carries no time, so it may have
  happened after the meeting, and proposing it again costs the chair one click while
  missing it could cost the person;
- overdue actions: open or in-progress actions due before the meeting day;
- escalated: the coordinator asked for the case to be discussed;
- carried over: it was on an earlier meeting's agenda, deferred or not reached, and has
  not been discussed since; the count says how many meetings it has waited;
- risk review: a very high risk band undiscussed for 4 weeks, or a high one for 8.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Exists, Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError
from mdt_desk.models import (
    Action,
    AgendaItem,
    Case,
    Meeting,
    MeetingPractice,
    OutcomeEvent,
    Patient,
    Practice,
)
from mdt_desk.models.enums import (
    AgendaOutcome,
    AgendaReason,
    CaseStatus,
    MeetingStatus,
    OutcomeEventKind,
    RiskBand,
)
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.actions import overdue_condition
from mdt_desk.services.cases import OPEN_STATUSES, open_case_of
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.meetings import (
    DEFAULT_MINUTES,
    LONDON,
    MEETING_NOT_FOUND,
    REASON_SEPARATOR,
    AgendaEntry,
    add_to_agenda,
    deferral_text,
    join_reasons,
    meeting_day,
    person_labels,
)

ADMISSION_KINDS = (
    OutcomeEventKind.HOSPITAL_ADMISSION,
    OutcomeEventKind.AE_ATTENDANCE,
    OutcomeEventKind.READMISSION_30_DAYS,
)

#: How long a case of each risk band may go undiscussed before it is proposed.
RISK_REVIEW_INTERVAL: dict[RiskBand, dt.timedelta] = {
    RiskBand.VERY_HIGH: dt.timedelta(weeks=4),
    RiskBand.HIGH: dt.timedelta(weeks=8),
}

#: Which reason leads when a case has several (it sets the suggested order).
REASON_PRIORITY: tuple[AgendaReason, ...] = (
    AgendaReason.ESCALATED,
    AgendaReason.RECENT_ADMISSION,
    AgendaReason.CARRIED_OVER,
    AgendaReason.NEW_REFERRAL,
    AgendaReason.REVIEW_DUE,
    AgendaReason.OVERDUE_ACTIONS,
    AgendaReason.RISK_REVIEW,
)


@dataclass(frozen=True, slots=True)
class ProposalReason:
    reason: AgendaReason
    text: str  # "Review due 08-Dec-2026"


@dataclass(frozen=True, slots=True)
class Proposal:
    case_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    initials: str
    nhs_number_text: str
    practice_code: str
    reasons: tuple[ProposalReason, ...]
    suggested_minutes: int
    carried_count: int

    @property
    def reason(self) -> AgendaReason:
        """The leading reason."""
        return self.reasons[0].reason

    @property
    def reasons_text(self) -> str:
        """Every reason, each once: ``New referral 22-Nov-2026, not yet discussed; …``."""
        return join_reasons(reason.text for reason in self.reasons)


@dataclass(frozen=True, slots=True)
class _Carried:
    """A case left undiscussed (or deferred) at an earlier meeting."""

    count: int
    #: ``Carried 1×``, or ``Carried 1×; Deferred: GP away``
    text: str


def _london_day(stored: object) -> dt.date:
    """The Europe/London day of a UTC instant read back through an aggregate.

    ``max()`` in a subquery hands back the stored text; the column type does not
    apply to it.
    """
    when = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    return when.replace(tzinfo=dt.UTC).astimezone(LONDON).date()


# The statements below are built once and run with bound parameters. On a real
# practice's meeting (a few dozen open cases) reading the rows costs SQLite a fraction
# of a millisecond per statement; building a statement's expression tree and its cache
# key anew on every call cost several times that (issue 15's profile).
_MEETING_ID: BindParameter[uuid.UUID] = bindparam("meeting_id")
_PRACTICE_IDS: BindParameter[list[uuid.UUID]] = bindparam("practice_ids", expanding=True)
_DAY: BindParameter[dt.date] = bindparam("day")
_STARTS_AT: BindParameter[dt.datetime] = bindparam("starts_at")
_CASE_IDS: BindParameter[list[uuid.UUID]] = bindparam("case_ids", expanding=True)
_PATIENT_IDS: BindParameter[list[uuid.UUID]] = bindparam("patient_ids", expanding=True)


@cache
def _meeting_statement() -> Select[*tuple[Any, ...]]:
    """When the meeting starts (and started) and the practices it covers: one row per
    live ``meeting_practice`` row (the host may be among them), or one row with none."""
    return (
        select(
            Meeting.starts_at, Meeting.started_at, Meeting.practice_id, MeetingPractice.practice_id
        )
        .outerjoin(
            MeetingPractice,
            and_(MeetingPractice.meeting_id == Meeting.id, MeetingPractice.retired_at.is_(None)),
        )
        .where(Meeting.id == _MEETING_ID, Meeting.retired_at.is_(None))
    )


@dataclass(frozen=True, slots=True)
class _MeetingAt:
    """The meeting as the rules see it."""

    id: uuid.UUID
    starts_at: dt.datetime
    day: dt.date
    #: the host practice first, then the others it covers
    practice_ids: list[uuid.UUID]


def _meeting_at(session: Session, meeting_id: uuid.UUID) -> _MeetingAt:
    rows = session.execute(_meeting_statement(), {"meeting_id": meeting_id}).all()
    if not rows:
        raise NotFoundError(MEETING_NOT_FOUND)
    starts_at, started_at, host, _ = rows[0]
    extra = [practice_id for *_, practice_id in rows if practice_id not in (None, host)]
    return _MeetingAt(meeting_id, starts_at, meeting_day(starts_at, started_at), [host, *extra])


@cache
def _carried_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(
            AgendaItem.case_id,
            AgendaItem.outcome,
            AgendaItem.carried_count,
            AgendaItem.deferral_reason,
        )
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id.in_(_CASE_IDS),
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            Meeting.id != _MEETING_ID,
            Meeting.retired_at.is_(None),
            Meeting.status == MeetingStatus.FINISHED,
            Meeting.starts_at < _STARTS_AT,
            Meeting.practice_id.in_(_PRACTICE_IDS),
        )
        .order_by(Meeting.starts_at)
    )


def _carried(
    session: Session, case_ids: list[uuid.UUID], meeting: _MeetingAt
) -> dict[uuid.UUID, _Carried]:
    """Cases left undiscussed (or deferred) at the latest earlier finished meeting they
    were on, with the carry count they would now have and why they were deferred."""
    rows = session.execute(
        _carried_statement(),
        {
            "case_ids": case_ids,
            "meeting_id": meeting.id,
            "starts_at": meeting.starts_at,
            "practice_ids": meeting.practice_ids,
        },
    )
    latest: dict[uuid.UUID, tuple[AgendaOutcome | None, int, str]] = {}
    for case_id, outcome, carried_count, deferral_reason in rows:
        latest[case_id] = (outcome, carried_count, deferral_reason)
    result: dict[uuid.UUID, _Carried] = {}
    for case_id, (outcome, carried_count, deferral_reason) in latest.items():
        if outcome is not None and outcome is not AgendaOutcome.DEFER:
            continue
        text = f"Carried {carried_count + 1}×"
        if outcome is AgendaOutcome.DEFER:
            text += REASON_SEPARATOR + deferral_text(deferral_reason)
        result[case_id] = _Carried(carried_count + 1, text)
    return result


@cache
def _candidates_statement(*, include_listed: bool) -> Select[*tuple[Any, ...]]:
    """The open cases of living people of the meeting's practices, in name order, each
    with what the rules read of it: the case, the person, the practice code, when it was
    last discussed at another meeting and how many of its actions are overdue.

    The facts of each case are correlated subqueries rather than a statement each: a
    statement costs more to send and read than SQLite spends on a few dozen index look-ups.
    """
    last_discussed_at = (
        select(func.max(AgendaItem.discussed_at))
        .where(
            AgendaItem.case_id == Case.id,
            AgendaItem.meeting_id != _MEETING_ID,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            AgendaItem.discussed_at.is_not(None),
            AgendaItem.outcome.is_not(None),
            AgendaItem.outcome != AgendaOutcome.DEFER,
        )
        .scalar_subquery()
    )
    overdue_actions = (
        select(func.count())
        .where(Action.case_id == Case.id, overdue_condition(_DAY))
        .scalar_subquery()
    )
    died = (
        select(OutcomeEvent.id)
        .where(
            OutcomeEvent.patient_id == Patient.id,
            OutcomeEvent.kind == OutcomeEventKind.DEATH,
            OutcomeEvent.retired_at.is_(None),
        )
        .exists()
    )
    conditions = [
        Patient.practice_id.in_(_PRACTICE_IDS),
        Patient.retired_at.is_(None),
        Patient.date_of_death.is_(None),
        ~died,
        Case.retired_at.is_(None),
        Case.status.in_(OPEN_STATUSES),
        Case.referred_on <= _DAY,
    ]
    if not include_listed:
        listed = (
            select(AgendaItem.id)
            .where(
                AgendaItem.case_id == Case.id,
                AgendaItem.meeting_id == _MEETING_ID,
                AgendaItem.retired_at.is_(None),
            )
            .exists()
        )
        conditions += [~listed, ~_on_earlier_open_agenda()]
    return (
        select(
            Case.id.label("case_id"),
            Case.status,
            Case.referred_on,
            Case.next_review_on,
            Case.escalated,
            Patient.id.label("patient_id"),
            Patient.family_name,
            Patient.given_name,
            Patient.title,
            Patient.nhs_number,
            Patient.risk_band,
            Practice.ods_code,
            last_discussed_at.label("last_discussed_at"),
            overdue_actions.label("overdue_actions"),
        )
        .join(Patient, Patient.id == Case.patient_id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(*conditions)
        .order_by(Patient.family_name, Patient.given_name, Case.id)
    )


def _on_earlier_open_agenda() -> Exists:
    """The case is on the agenda of another planned or running meeting of any of the
    meeting's practices that starts before it (it is discussed there first)."""
    covering = select(MeetingPractice.meeting_id).where(
        MeetingPractice.practice_id.in_(_PRACTICE_IDS), MeetingPractice.retired_at.is_(None)
    )
    return (
        select(AgendaItem.id)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id == Case.id,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            Meeting.id != _MEETING_ID,
            Meeting.retired_at.is_(None),
            Meeting.status.in_((MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS)),
            Meeting.starts_at < _STARTS_AT,
            or_(Meeting.practice_id.in_(_PRACTICE_IDS), Meeting.id.in_(covering)),
        )
        .exists()
    )


#: A row of :func:`_candidates_statement`, read by column name.
_Candidate = Row[*tuple[Any, ...]]

#: An admission-type event: its kind and day.
_Admission = tuple[OutcomeEventKind, dt.date]


@cache
def _admissions_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(
            OutcomeEvent.case_id,
            OutcomeEvent.patient_id,
            OutcomeEvent.kind,
            OutcomeEvent.occurred_on,
        )
        .where(
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.kind.in_(ADMISSION_KINDS),
            OutcomeEvent.occurred_on <= _DAY,
            or_(
                OutcomeEvent.case_id.in_(_CASE_IDS),
                and_(OutcomeEvent.case_id.is_(None), OutcomeEvent.patient_id.in_(_PATIENT_IDS)),
            ),
        )
        .order_by(OutcomeEvent.occurred_on)
    )


def _admissions(
    session: Session, candidates: Sequence[_Candidate], day: dt.date
) -> dict[uuid.UUID, list[_Admission]]:
    """Admissions, A&E attendances and readmissions up to ``day``, oldest first, keyed by
    the case they belong to, or by the person where they belong to no case."""
    events: dict[uuid.UUID, list[_Admission]] = {}
    for case_id, patient_id, kind, occurred_on in session.execute(
        _admissions_statement(),
        {
            "day": day,
            "case_ids": [row.case_id for row in candidates],
            "patient_ids": list({row.patient_id for row in candidates}),
        },
    ):
        events.setdefault(case_id or patient_id, []).append((kind, occurred_on))
    return events


@dataclass(frozen=True, slots=True)
class _MeetingFacts:
    """What the rules need beyond each candidate's own row, read for all of them at once."""

    day: dt.date
    #: the day the proposals are made: "overdue since" is said only of a date before it
    today: dt.date
    carried: dict[uuid.UUID, _Carried]
    events: dict[uuid.UUID, list[_Admission]]


def _reasons(candidate: _Candidate, facts: _MeetingFacts) -> list[ProposalReason]:
    """Every rule that holds for one candidate case (a row of :func:`_candidates_statement`)."""
    day = facts.day
    case_id = candidate.case_id
    last_discussed = (
        None if candidate.last_discussed_at is None else _london_day(candidate.last_discussed_at)
    )
    since = last_discussed or candidate.referred_on
    reasons: list[ProposalReason] = []
    if candidate.escalated:
        reasons.append(ProposalReason(AgendaReason.ESCALATED, "Escalated by the coordinator"))
    recent = [
        (kind, occurred_on)
        for kind, occurred_on in facts.events.get(case_id, [])
        + facts.events.get(candidate.patient_id, [])
        if occurred_on >= since
    ]
    if recent:
        latest_kind, latest_on = max(recent, key=lambda event: event[1])
        more = f" and {len(recent) - 1} more" if len(recent) > 1 else ""
        reasons.append(
            ProposalReason(
                AgendaReason.RECENT_ADMISSION,
                f"{label(latest_kind)} {cui_date(latest_on)}{more}",
            )
        )
    if case_id in facts.carried:
        reasons.append(ProposalReason(AgendaReason.CARRIED_OVER, facts.carried[case_id].text))
    if last_discussed is None:
        reasons.append(
            ProposalReason(
                AgendaReason.NEW_REFERRAL,
                f"New referral {cui_date(candidate.referred_on)}, not yet discussed",
            )
        )
    next_review_on = candidate.next_review_on
    if next_review_on is not None and next_review_on <= day:
        # "Overdue since" only of a day already past when the reason is written (it is
        # kept as the agenda item's reason): for a meeting ahead, a review due before it
        # but not yet reached is "due", never "overdue since" a day still to come.
        overdue = next_review_on < min(day, facts.today)
        when = "overdue since" if overdue else "due"
        reasons.append(
            ProposalReason(AgendaReason.REVIEW_DUE, f"Review {when} {cui_date(next_review_on)}")
        )
    count = candidate.overdue_actions
    if count:
        reasons.append(
            ProposalReason(
                AgendaReason.OVERDUE_ACTIONS, f"{count} overdue action{'s' if count != 1 else ''}"
            )
        )
    risk_band = candidate.risk_band
    interval = RISK_REVIEW_INTERVAL.get(risk_band) if risk_band else None
    if (
        interval is not None
        and candidate.status is not CaseStatus.REFERRED
        and last_discussed is not None
        and day - last_discussed >= interval
    ):
        reasons.append(
            ProposalReason(
                AgendaReason.RISK_REVIEW,
                f"{label(risk_band)} risk, last discussed {cui_date(last_discussed)}",
            )
        )
    reasons.sort(key=lambda r: REASON_PRIORITY.index(r.reason))
    return reasons


@requires(Permission.BUILD_AGENDA)
def propose(
    session: Session,
    meeting_id: uuid.UUID,
    *,
    include_listed: bool = False,
    today: dt.date | None = None,
) -> list[Proposal]:
    """The cases to propose for a meeting, most pressing first, each with its reasons.

    The rules judge the meeting's day: the day it was started if it has been (a
    meeting run early is held that day), else its scheduled day.

    Args:
        include_listed: also judge cases already on the agenda or dismissed (to show why
            an agenda item is there); by default they are left out.
        today: the day the proposals are made (Europe/London); now by default.
    """
    meeting = _meeting_at(session, meeting_id)
    day = meeting.day
    today = today or dt.datetime.now(LONDON).date()
    candidates = session.execute(
        _candidates_statement(include_listed=include_listed),
        {
            "meeting_id": meeting.id,
            "practice_ids": meeting.practice_ids,
            "day": day,
            "starts_at": meeting.starts_at,
        },
    ).all()
    if not candidates:
        return []
    carried = _carried(session, [row.case_id for row in candidates], meeting)
    facts = _MeetingFacts(
        day=day, today=today, carried=carried, events=_admissions(session, candidates, day)
    )
    proposals = []
    for candidate in candidates:
        reasons = _reasons(candidate, facts)
        if not reasons:
            continue
        case_id = candidate.case_id
        proposals.append(
            Proposal(
                case_id=case_id,
                patient_id=candidate.patient_id,
                **person_labels(
                    candidate.family_name,
                    candidate.given_name,
                    candidate.title,
                    candidate.nhs_number,
                ),
                practice_code=candidate.ods_code,
                reasons=tuple(reasons),
                suggested_minutes=max(DEFAULT_MINUTES[r.reason] for r in reasons),
                carried_count=carried[case_id].count if case_id in carried else 0,
            )
        )
    proposals.sort(key=lambda p: REASON_PRIORITY.index(p.reason))  # stable: names within
    return proposals


def add_person_by_hand(
    session: Session, meeting_id: uuid.UUID, patient_id: uuid.UUID
) -> AgendaEntry:
    """The chair brings a person's open case to the meeting, whatever the rules say.

    The item's reason is "added by the chair", with any rule that also holds after it,
    so the record says both why it came and what else is going on.

    Raises:
        RuleError: the person has no open case (or has died, or is already listed).
    """
    case = open_case_of(session, patient_id)
    if case is None:
        raise RuleError("This person has no open case to bring to the meeting.")
    also = next(
        (p for p in propose(session, meeting_id, include_listed=True) if p.case_id == case.id),
        None,
    )
    also_reasons = [reason.text for reason in also.reasons] if also else []
    detail = join_reasons(["Added by the chair", *also_reasons])
    return add_to_agenda(
        session,
        meeting_id,
        case.id,
        reason=AgendaReason.ADDED_BY_CHAIR,
        reason_detail=detail,
        minutes=also.suggested_minutes if also else None,
        carried_count=also.carried_count if also else 0,
    )
