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
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mdt_desk.errors import RuleError
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
    REASON_SEPARATOR,
    AgendaEntry,
    add_to_agenda,
    deferral_text,
    join_reasons,
    load_meeting,
    meeting_practice_ids,
    person_labels,
    running_day,
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


def _last_discussed(
    session: Session, case_ids: list[uuid.UUID], meeting: Meeting
) -> dict[uuid.UUID, dt.date]:
    """The day each case was last discussed at another meeting (outcome recorded)."""
    rows = session.execute(
        select(AgendaItem.case_id, func.max(AgendaItem.discussed_at))
        .where(
            AgendaItem.case_id.in_(case_ids),
            AgendaItem.meeting_id != meeting.id,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            AgendaItem.discussed_at.is_not(None),
            AgendaItem.outcome.is_not(None),
            AgendaItem.outcome != AgendaOutcome.DEFER,
        )
        .group_by(AgendaItem.case_id)
    ).all()
    result: dict[uuid.UUID, dt.date] = {}
    for case_id, at in rows:
        # func.max() hands back the stored text; the column type does not apply to it.
        when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        result[case_id] = when.replace(tzinfo=dt.UTC).astimezone(LONDON).date()
    return result


@dataclass(frozen=True, slots=True)
class _Carried:
    """A case left undiscussed (or deferred) at an earlier meeting."""

    count: int
    #: ``Carried 1×``, or ``Carried 1×; Deferred: GP away``
    text: str


def _carried(
    session: Session,
    case_ids: list[uuid.UUID],
    meeting: Meeting,
    practice_ids: list[uuid.UUID],
) -> dict[uuid.UUID, _Carried]:
    """Cases left undiscussed (or deferred) at the latest earlier finished meeting they
    were on, with the carry count they would now have and why they were deferred."""
    rows = session.execute(
        select(
            AgendaItem.case_id,
            AgendaItem.outcome,
            AgendaItem.carried_count,
            AgendaItem.deferral_reason,
            Meeting.starts_at,
        )
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id.in_(case_ids),
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            Meeting.id != meeting.id,
            Meeting.retired_at.is_(None),
            Meeting.status == MeetingStatus.FINISHED,
            Meeting.starts_at < meeting.starts_at,
            Meeting.practice_id.in_(practice_ids),
        )
        .order_by(Meeting.starts_at)
    ).all()
    latest: dict[uuid.UUID, tuple[AgendaOutcome | None, int, str]] = {}
    for case_id, outcome, carried_count, deferral_reason, _starts in rows:
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


def _on_earlier_open_agenda(
    session: Session, meeting: Meeting, practice_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Cases on the agenda of another planned or running meeting of any of these
    practices that starts before ``meeting`` (they are discussed there first)."""
    covering = select(MeetingPractice.meeting_id).where(
        MeetingPractice.practice_id.in_(practice_ids), MeetingPractice.retired_at.is_(None)
    )
    return set(
        session.scalars(
            select(AgendaItem.case_id)
            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .where(
                AgendaItem.retired_at.is_(None),
                AgendaItem.dismissed.is_(False),
                Meeting.id != meeting.id,
                Meeting.retired_at.is_(None),
                Meeting.status.in_((MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS)),
                Meeting.starts_at < meeting.starts_at,
                or_(Meeting.practice_id.in_(practice_ids), Meeting.id.in_(covering)),
            )
        )
    )


@dataclass(frozen=True, slots=True)
class _CaseFacts:
    """What the rules need, read for every candidate case in a few set-based queries."""

    day: dt.date
    #: the day the proposals are made: "overdue since" is said only of a date before it
    today: dt.date
    last_discussed: dict[uuid.UUID, dt.date]
    since: dict[uuid.UUID, dt.date]
    carried: dict[uuid.UUID, _Carried]
    overdue: dict[uuid.UUID, int]
    events: dict[uuid.UUID, list[OutcomeEvent]]


def _reasons(case: Case, patient: Patient, facts: _CaseFacts) -> list[ProposalReason]:
    """Every rule that holds for one case."""
    day, last_discussed = facts.day, facts.last_discussed
    reasons: list[ProposalReason] = []
    if case.escalated:
        reasons.append(ProposalReason(AgendaReason.ESCALATED, "Escalated by the coordinator"))
    recent = [
        event
        for event in facts.events.get(case.id, []) + facts.events.get(patient.id, [])
        if event.occurred_on >= facts.since[case.id]
    ]
    if recent:
        latest = max(recent, key=lambda event: event.occurred_on)
        more = f" and {len(recent) - 1} more" if len(recent) > 1 else ""
        reasons.append(
            ProposalReason(
                AgendaReason.RECENT_ADMISSION,
                f"{label(latest.kind)} {cui_date(latest.occurred_on)}{more}",
            )
        )
    if case.id in facts.carried:
        reasons.append(ProposalReason(AgendaReason.CARRIED_OVER, facts.carried[case.id].text))
    if case.id not in last_discussed:
        reasons.append(
            ProposalReason(
                AgendaReason.NEW_REFERRAL,
                f"New referral {cui_date(case.referred_on)}, not yet discussed",
            )
        )
    if case.next_review_on is not None and case.next_review_on <= day:
        # "Overdue since" only of a day already past when the reason is written (it is
        # kept as the agenda item's reason): for a meeting ahead, a review due before it
        # but not yet reached is "due", never "overdue since" a day still to come.
        overdue = case.next_review_on < min(day, facts.today)
        when = "overdue since" if overdue else "due"
        reasons.append(
            ProposalReason(
                AgendaReason.REVIEW_DUE, f"Review {when} {cui_date(case.next_review_on)}"
            )
        )
    count = facts.overdue.get(case.id, 0)
    if count:
        reasons.append(
            ProposalReason(
                AgendaReason.OVERDUE_ACTIONS, f"{count} overdue action{'s' if count != 1 else ''}"
            )
        )
    interval = RISK_REVIEW_INTERVAL.get(patient.risk_band) if patient.risk_band else None
    if (
        interval is not None
        and case.status is not CaseStatus.REFERRED
        and case.id in last_discussed
        and day - last_discussed[case.id] >= interval
    ):
        reasons.append(
            ProposalReason(
                AgendaReason.RISK_REVIEW,
                f"{label(patient.risk_band)} risk, last discussed "
                f"{cui_date(last_discussed[case.id])}",
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
    meeting = load_meeting(session, meeting_id)
    day = running_day(meeting)
    today = today or dt.datetime.now(LONDON).date()
    practice_ids = meeting_practice_ids(session, meeting)
    candidates = session.execute(
        select(Case, Patient, Practice.ods_code)
        .join(Patient, Patient.id == Case.patient_id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(
            Patient.practice_id.in_(practice_ids),
            Patient.retired_at.is_(None),
            Patient.date_of_death.is_(None),
            Case.retired_at.is_(None),
            Case.status.in_(OPEN_STATUSES),
            Case.referred_on <= day,
        )
        .order_by(Patient.family_name, Patient.given_name, Case.id)
    ).all()
    if not include_listed:
        listed = set(
            session.scalars(
                select(AgendaItem.case_id).where(
                    AgendaItem.meeting_id == meeting.id, AgendaItem.retired_at.is_(None)
                )
            )
        )
        listed |= _on_earlier_open_agenda(session, meeting, practice_ids)
        candidates = [row for row in candidates if row[0].id not in listed]
    case_ids = [case.id for case, _patient, _code in candidates]
    if not case_ids:
        return []
    died = set(
        session.scalars(
            select(OutcomeEvent.patient_id).where(
                OutcomeEvent.kind == OutcomeEventKind.DEATH,
                OutcomeEvent.retired_at.is_(None),
                OutcomeEvent.patient_id.in_({patient.id for _c, patient, _code in candidates}),
            )
        )
    )
    last_discussed = _last_discussed(session, case_ids, meeting)
    carried = _carried(session, case_ids, meeting, practice_ids)
    overdue = dict(
        session.execute(
            select(Action.case_id, func.count())
            .where(
                Action.case_id.in_(case_ids),
                overdue_condition(day),
            )
            .group_by(Action.case_id)
        ).all()
    )
    since = {case.id: last_discussed.get(case.id, case.referred_on) for case, _p, _c in candidates}
    events: dict[uuid.UUID, list[OutcomeEvent]] = {}
    for event in session.scalars(
        select(OutcomeEvent)
        .where(
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.kind.in_(ADMISSION_KINDS),
            OutcomeEvent.occurred_on <= day,
            or_(
                OutcomeEvent.case_id.in_(case_ids),
                and_(
                    OutcomeEvent.case_id.is_(None),
                    OutcomeEvent.patient_id.in_({p.id for _c, p, _code in candidates}),
                ),
            ),
        )
        .order_by(OutcomeEvent.occurred_on)
    ):
        events.setdefault(event.case_id or event.patient_id, []).append(event)

    facts = _CaseFacts(
        day=day,
        today=today,
        last_discussed=last_discussed,
        since=since,
        carried=carried,
        overdue=overdue,
        events=events,
    )
    proposals = []
    for case, patient, practice_code in candidates:
        if patient.id in died:
            continue
        reasons = _reasons(case, patient, facts)
        if not reasons:
            continue
        proposals.append(
            Proposal(
                case_id=case.id,
                patient_id=patient.id,
                **person_labels(patient),
                practice_code=practice_code,
                reasons=tuple(reasons),
                suggested_minutes=max(DEFAULT_MINUTES[r.reason] for r in reasons),
                carried_count=carried[case.id].count if case.id in carried else 0,
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
