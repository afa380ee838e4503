"""Running an MDT meeting: the item briefing, live capture, and ending the meeting.

Capture is saved as it is typed: the screen sends the summary and decisions of the item
in front within a second of the last keystroke, each save its own small transaction, so
a crash or power cut mid-meeting loses at most that second (reliability.md).

Ending a meeting (:func:`finish_meeting`) does, in one transaction: items deferred or not
reached roll over to the practice's next planned meeting with their carry count; each
discussed case gets its next review date from its outcome (and a "close case" outcome
closes it); escalations that were discussed are cleared; every discussed item's summary,
outcome and decisions go into its case's notes, so the record shows what the MDT said;
the meeting becomes finished and read-only. Later corrections are amendments
(:func:`add_amendment`) beside the record, never edits of it.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import RuleError, ValidationError
from mdt_desk.models import Action, AgendaItem, Case, Meeting, MeetingAmendment, Note, Staff
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    CaseStatus,
    ClosureReason,
    MeetingStatus,
)
from mdt_desk.services import cases, plans
from mdt_desk.services.access import Permission, may_read_sensitive, principal_of, requires
from mdt_desk.services.case_view import RecordView, load_record
from mdt_desk.services.display import cui_date, cui_time, label
from mdt_desk.services.meetings import (
    LONDON,
    REASON_SEPARATOR,
    AgendaEntry,
    MeetingSummary,
    agenda_entries,
    agenda_items,
    deferral_text,
    get_meeting_summary,
    join_reasons,
    load_item,
    load_meeting,
    running_day,
)
from mdt_desk.services.staff import display_staff_name

#: When a discussed case is next reviewed, by the meeting's outcome for it.
NEXT_REVIEW_AFTER: dict[AgendaOutcome, dt.timedelta] = {
    AgendaOutcome.CONTINUE_PLAN: dt.timedelta(weeks=12),
    AgendaOutcome.CHANGE_PLAN: dt.timedelta(weeks=4),
    AgendaOutcome.ESCALATE: dt.timedelta(weeks=2),
    AgendaOutcome.REFER_ON: dt.timedelta(weeks=6),
}

MAX_CAPTURE_CHARS = 20_000
MAX_DEFERRAL_REASON_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class ChangeSinceLast:
    """One thing that happened to the case since it was last discussed."""

    on: dt.date
    on_text: str
    kind: str  # "event", "action done", "note"
    text: str
    is_note: bool
    #: a sensitive action or note: hidden on the shared screen until revealed
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class OpenAction:
    id: uuid.UUID
    description: str
    owner_name: str
    due_text: str
    overdue: bool
    agreed_here: bool
    #: need-to-know: hidden on the shared screen until revealed
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class ItemBriefing:
    """What meeting mode shows for one agenda item."""

    entry: AgendaEntry
    record: RecordView
    #: ``08-Dec-2026``, or ``Not discussed at an MDT before``
    last_discussed_text: str
    #: the day it was last discussed at another meeting; ``None`` if never
    last_discussed_on: dt.date | None
    changes: tuple[ChangeSinceLast, ...]
    open_actions: tuple[OpenAction, ...]
    owners: tuple[plans.OwnerChoice, ...]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item as the end-of-meeting summary reports it."""

    entry: AgendaEntry
    next_review_text: str
    rolled_to_text: str
    new_actions: tuple[OpenAction, ...]


@dataclass(frozen=True, slots=True)
class MeetingEnd:
    meeting: MeetingSummary
    items: tuple[ItemResult, ...]
    next_meeting: MeetingSummary | None
    rolled_over: int


@dataclass(frozen=True, slots=True)
class ItemTime:
    entry: AgendaEntry
    minutes_taken: float
    over_by_minutes: float


@dataclass(frozen=True, slots=True)
class TimeStatistics:
    items: tuple[ItemTime, ...]
    minutes_allotted: int
    minutes_taken: float
    discussed: int
    not_reached: int


@dataclass(frozen=True, slots=True)
class AmendmentView:
    id: uuid.UUID
    written_text: str
    author_name: str
    body: str
    item_text: str


def _running(session: Session, meeting_id: uuid.UUID) -> Meeting:
    meeting = load_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.FINISHED:
        raise RuleError("This meeting has finished; record a correction as an amendment.")
    if meeting.status is MeetingStatus.CANCELLED:
        raise RuleError("This meeting was cancelled.")
    if meeting.status is not MeetingStatus.IN_PROGRESS:
        raise RuleError("Start the meeting before recording its discussion.")
    return meeting


@requires(Permission.RUN_MEETING)
def start_meeting(
    session: Session, meeting_id: uuid.UUID, *, now: dt.datetime | None = None
) -> MeetingSummary:
    """Open the meeting for live capture (again, after a crash, it simply continues)."""
    meeting = load_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.FINISHED:
        raise RuleError("This meeting has finished; it cannot be run again.")
    if meeting.status is MeetingStatus.CANCELLED:
        raise RuleError("This meeting was cancelled.")
    if meeting.status is MeetingStatus.PLANNED:
        meeting.status = MeetingStatus.IN_PROGRESS
        meeting.started_at = now or utc_now()
        session.flush()
    return get_meeting_summary(session, meeting.id)


def _day(at: dt.datetime) -> dt.date:
    return at.astimezone(LONDON).date()


@requires(Permission.RUN_MEETING)
def item_briefing(
    session: Session, item_id: uuid.UUID, *, today: dt.date | None = None
) -> ItemBriefing:
    """The case as the meeting needs it: banner, reason, what changed, goals, actions."""
    item = load_item(session, item_id)
    meeting = load_meeting(session, item.meeting_id)
    today = today or dt.datetime.now(LONDON).date()
    entry = agenda_entries(session, [item])[0]
    case = cases.load_case(session, item.case_id)
    # Need-to-know: the chair of this meeting may read the person's restricted items
    # (the screen still holds them back until the reveal); anyone else running it reads
    # them only as the record would let them, and otherwise sees the marker.
    acting = principal_of(session)
    readable = (
        acting.staff_id is not None and acting.staff_id == meeting.chair_id
    ) or may_read_sensitive(session, case.patient_id)
    record = load_record(
        session, case.patient_id, case.id, today, show_sensitive=readable, with_staff_choices=False
    )
    previous = session.execute(
        select(AgendaItem.discussed_at)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id == case.id,
            AgendaItem.id != item.id,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            AgendaItem.discussed_at.is_not(None),
            # As the agenda rules count it: a deferral is not a discussion.
            AgendaItem.outcome.is_not(None),
            AgendaItem.outcome != AgendaOutcome.DEFER,
            Meeting.starts_at < meeting.starts_at,
        )
        .order_by(AgendaItem.discussed_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    since = _day(previous) if previous is not None else case.referred_on
    changes: list[ChangeSinceLast] = []
    for event in record.outcome_events:
        if event.occurred_on >= since:
            source = f" ({event.source})" if event.source else ""
            changes.append(
                ChangeSinceLast(
                    event.occurred_on, event.occurred_text, "event", event.kind_text + source, False
                )
            )
    for done in plans.list_action_rows(
        session, case.id, include_closed=True, show_sensitive=readable
    ):
        if done.status is ActionStatus.DONE and done.completed_on and done.completed_on >= since:
            changes.append(
                ChangeSinceLast(
                    done.completed_on,
                    cui_date(done.completed_on),
                    "action done",
                    f"{done.description} ({done.owner_name})",
                    False,
                    done.sensitive,
                )
            )
    if record.case is not None:
        for note in record.case.notes:
            if _day(note.written_at) >= since:
                changes.append(
                    ChangeSinceLast(
                        _day(note.written_at),
                        cui_date(_day(note.written_at)),
                        "note",
                        f"{note.author_name}: {note.body}",
                        True,
                        note.sensitive,
                    )
                )
    changes.sort(key=lambda change: change.on, reverse=True)
    open_actions = tuple(
        OpenAction(
            id=row.id,
            description=row.description,
            owner_name=row.owner_name,
            due_text=cui_date(row.due_on),
            overdue=row.is_overdue(today),
            agreed_here=_agreed_at(session, row.id) == meeting.id,
            sensitive=row.sensitive,
        )
        for row in plans.list_action_rows(session, case.id, show_sensitive=readable)
    )
    return ItemBriefing(
        entry=entry,
        record=record,
        last_discussed_text=(
            cui_date(since) if previous is not None else "Not discussed at an MDT before"
        ),
        last_discussed_on=since if previous is not None else None,
        changes=tuple(changes),
        open_actions=open_actions,
        owners=tuple(plans.action_owner_choices(session, case.id)),
    )


def _agreed_at(session: Session, action_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Action.meeting_id).where(Action.id == action_id))


@requires(Permission.RUN_MEETING)
def save_capture(
    session: Session,
    item_id: uuid.UUID,
    *,
    summary: str | None = None,
    decisions: str | None = None,
    outcome: AgendaOutcome | None = None,
    clear_outcome: bool = False,
    deferral_reason: str | None = None,
    now: dt.datetime | None = None,
) -> AgendaEntry:
    """Save what has been typed or chosen for an item (only the fields given change).

    Text is saved exactly as typed (not stripped), so a save in the middle of a word
    loses nothing.

    Args:
        deferral_reason: why the item is deferred; it goes into the minutes and, when
            the item rolls over, into its reason on the next agenda.
    """
    item = load_item(session, item_id)
    _running(session, item.meeting_id)
    for name, value, limit in (
        ("summary", summary, MAX_CAPTURE_CHARS),
        ("decisions", decisions, MAX_CAPTURE_CHARS),
        ("deferral reason", deferral_reason, MAX_DEFERRAL_REASON_CHARS),
    ):
        if value is not None and len(value) > limit:
            raise ValidationError(
                f"The {name} is longer than {limit:,} characters; shorten it.",
                {name.replace(" ", "_"): "Too long."},
            )
    if summary is not None:
        item.summary = summary
    if decisions is not None:
        item.decisions = decisions
    if deferral_reason is not None:
        item.deferral_reason = deferral_reason
    if outcome is not None:
        item.outcome = outcome
    elif clear_outcome:
        item.outcome = None
    if item.discussed_at is None and (summary or decisions or outcome):
        item.discussed_at = now or utc_now()
    session.flush()
    return agenda_entries(session, [item])[0]


@requires(Permission.RUN_MEETING)
def add_time(session: Session, item_id: uuid.UUID, seconds: int) -> AgendaEntry:
    """Add the time just spent on an item (meeting mode sends it on leaving the item)."""
    item = load_item(session, item_id)
    _running(session, item.meeting_id)
    if seconds < 0:
        raise ValidationError("Time spent cannot be negative.")
    item.seconds_taken += seconds
    item.minutes_taken = round(item.seconds_taken / 60)
    session.flush()
    return agenda_entries(session, [item])[0]


@requires(Permission.RUN_MEETING)
def add_action_from_decision(
    session: Session,
    item_id: uuid.UUID,
    *,
    description: str,
    owner_id: uuid.UUID | None,
    due_on: dt.date | None,
    sensitive: bool = False,
    today: dt.date | None = None,
) -> OpenAction:
    """A new action agreed at the meeting: in the case's plan and the owner's list at once.

    Args:
        sensitive: need-to-know (safeguarding, risk to staff): never on the person's own
            copy, and hidden on the shared screen until the chair reveals it.
    """
    item = load_item(session, item_id)
    meeting = _running(session, item.meeting_id)
    made = plans.add_action(
        session,
        item.case_id,
        description=description,
        owner_id=owner_id,
        due_on=due_on,
        meeting_id=meeting.id,
        sensitive=sensitive,
        today=today,
    )
    if item.discussed_at is None:
        item.discussed_at = utc_now()
    session.flush()
    return OpenAction(
        id=made.id,
        description=made.description,
        owner_name=made.owner_name,
        due_text=cui_date(made.due_on),
        overdue=False,
        agreed_here=True,
        sensitive=made.sensitive,
    )


def _next_planned(session: Session, meeting: Meeting) -> Meeting | None:
    return session.scalars(
        select(Meeting)
        .where(
            Meeting.practice_id == meeting.practice_id,
            Meeting.id != meeting.id,
            Meeting.retired_at.is_(None),
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > meeting.starts_at,
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    ).first()


def _was_discussed(item: AgendaItem) -> bool:
    """An outcome other than defer, or anything typed: the MDT talked about the case."""
    has_outcome = item.outcome is not None and item.outcome is not AgendaOutcome.DEFER
    return has_outcome or bool(item.summary.strip() or item.decisions.strip())


def discussion_note_text(meeting: MeetingSummary, item: AgendaItem) -> str:
    """``MDT meeting Mon 07-Dec-2026 (… MDT) — outcome: Change plan.`` and what was said.

    The date is the day the meeting was held (started), which may not be its scheduled one.
    """
    local = (meeting.started_at or meeting.starts_at).astimezone(LONDON)
    outcome = f"outcome: {label(item.outcome)}." if item.outcome else "no outcome recorded."
    lines = [f"MDT meeting {local:%a} {cui_date(local.date())} ({meeting.title}) — {outcome}"]
    if item.summary.strip():
        lines.append(f"Discussion: {item.summary.strip()}")
    if item.decisions.strip():
        lines.append(f"Decisions: {item.decisions.strip()}")
    return "\n".join(lines)


def carried_reason_detail(item: AgendaItem, held_on: dt.date) -> str:
    """``Carried 2× (from 02-Dec-2026); Deferred: GP away; New referral …``.

    The reason it was deferred (if the meeting gave one) comes next, then the reasons
    it was on the agenda before, each once: an earlier "Carried 1×" gives way to the new
    count instead of piling up.
    """
    parts = [f"Carried {item.carried_count + 1}× (from {cui_date(held_on)})"]
    if item.outcome is AgendaOutcome.DEFER:
        parts.append(deferral_text(item.deferral_reason))
    # why it was on this agenda (its reason's name, where no detail was written)
    before = item.reason_detail if item.reason_detail.strip() else label(item.reason)
    previous = [
        part
        for part in before.split(REASON_SEPARATOR.strip())
        if not part.strip().casefold().startswith(("carried ", "deferred"))
    ]
    return join_reasons(parts + previous)


def _note_discussions(session: Session, meeting: Meeting, author_id: uuid.UUID | None) -> None:
    """A note on each discussed case of what the MDT said and decided."""
    summary = get_meeting_summary(session, meeting.id)
    for item in agenda_items(session, meeting.id):
        if not _was_discussed(item):
            continue
        written = plans.add_note(session, item.case_id, discussion_note_text(summary, item))
        note = session.get(Note, written.id)
        if author_id is not None and note is not None:
            note.author_id = author_id


@requires(Permission.RUN_MEETING)
def finish_meeting(
    session: Session,
    meeting_id: uuid.UUID,
    *,
    now: dt.datetime | None = None,
    author_id: uuid.UUID | None = None,
) -> MeetingEnd:
    """End the meeting: roll over, set next reviews, close what the MDT closed, lock it.

    Args:
        author_id: who the discussion notes are written by (the signed-in staff member);
            ``None`` leaves them to the transaction's actor.
    """
    meeting = _running(session, meeting_id)
    now = now or utc_now()
    # The day it was held: next reviews and closures run from it, and the carried items
    # say it, even when the meeting was run on another day than scheduled.
    day = running_day(meeting)
    _note_discussions(session, meeting, author_id)
    following = _next_planned(session, meeting)
    following_items = (
        {item.case_id: item for item in _agenda_items_any(session, following.id)}
        if following is not None
        else {}
    )
    last_position = max(
        (item.position for item in following_items.values() if not item.dismissed), default=0.0
    )
    results: list[ItemResult] = []
    rolled = 0
    new_actions: dict[uuid.UUID, list[Action]] = {}
    for action in session.scalars(
        select(Action).where(Action.meeting_id == meeting.id, Action.retired_at.is_(None))
    ):
        new_actions.setdefault(action.case_id, []).append(action)
    for item in agenda_items(session, meeting.id):
        case = session.get(Case, item.case_id)
        assert case is not None
        next_review_text = ""
        rolled_to_text = ""
        if item.outcome is None or item.outcome is AgendaOutcome.DEFER:
            if case.status is not CaseStatus.CLOSED and following is not None:
                target = following_items.get(case.id)
                if target is None or target.dismissed:
                    # New on that agenda (or dismissed there before): it goes at the end.
                    if target is None:
                        target = AgendaItem(meeting_id=following.id, case_id=case.id)
                        session.add(target)
                    last_position += 1.0
                    target.position = last_position
                target.dismissed = False
                target.reason = AgendaReason.CARRIED_OVER
                target.reason_detail = carried_reason_detail(item, day)
                target.minutes_allotted = item.minutes_allotted
                target.carried_count = item.carried_count + 1
                rolled += 1
                rolled_to_text = f"Carried to {cui_time(following.starts_at)}"
            elif following is None:
                rolled_to_text = "Will be proposed for the next meeting"
        elif item.outcome is AgendaOutcome.CLOSE_CASE:
            if case.status is not CaseStatus.CLOSED:
                cases.close(
                    session,
                    case.id,
                    reason=ClosureReason.OTHER,
                    note=f"Closed by the MDT meeting of {cui_date(day)}.",
                    on=max(day, case.referred_on),
                )
            next_review_text = "Case closed"
        else:
            after = NEXT_REVIEW_AFTER[item.outcome]
            review_on = day + after
            if case.status is not CaseStatus.CLOSED:
                case.next_review_on = review_on
                case.escalated = False
            next_review_text = f"Next review {cui_date(review_on)}"
        session.flush()
        results.append(
            ItemResult(
                entry=agenda_entries(session, [item])[0],
                next_review_text=next_review_text,
                rolled_to_text=rolled_to_text,
                new_actions=tuple(
                    OpenAction(
                        id=action.id,
                        description=action.description,
                        owner_name=_staff_name(session, action.owner_id),
                        due_text=cui_date(action.due_on),
                        overdue=False,
                        agreed_here=True,
                        sensitive=action.sensitive,
                    )
                    for action in new_actions.get(case.id, [])
                ),
            )
        )
    meeting.status = MeetingStatus.FINISHED
    meeting.finished_at = now
    session.flush()
    return MeetingEnd(
        meeting=get_meeting_summary(session, meeting.id),
        items=tuple(results),
        next_meeting=get_meeting_summary(session, following.id) if following else None,
        rolled_over=rolled,
    )


def _agenda_items_any(session: Session, meeting_id: uuid.UUID) -> Sequence[AgendaItem]:
    """Every item of a meeting, dismissed ones too."""
    return session.scalars(
        select(AgendaItem).where(
            AgendaItem.meeting_id == meeting_id, AgendaItem.retired_at.is_(None)
        )
    ).all()


def _staff_name(session: Session, staff_id: uuid.UUID | None) -> str:
    member = session.get(Staff, staff_id) if staff_id else None
    if member is None:
        return ""
    return display_staff_name(member.family_name, member.given_name, member.title)


def time_statistics(session: Session, meeting_id: uuid.UUID) -> TimeStatistics:
    """Minutes per item against those allotted."""
    load_meeting(session, meeting_id)
    entries = agenda_entries(session, agenda_items(session, meeting_id))
    items = tuple(
        ItemTime(
            entry=entry,
            minutes_taken=round(entry.seconds_taken / 60, 1),
            over_by_minutes=round(max(0.0, entry.seconds_taken / 60 - entry.minutes_allotted), 1),
        )
        for entry in entries
    )
    return TimeStatistics(
        items=items,
        minutes_allotted=sum(entry.minutes_allotted for entry in entries),
        minutes_taken=round(sum(entry.seconds_taken for entry in entries) / 60, 1),
        discussed=sum(1 for entry in entries if entry.discussed),
        not_reached=sum(1 for entry in entries if not entry.discussed),
    )


@requires(Permission.AMEND_MINUTES)
def add_amendment(
    session: Session,
    meeting_id: uuid.UUID,
    body: str,
    *,
    author_id: uuid.UUID | None,
    item_id: uuid.UUID | None = None,
) -> AmendmentView:
    """A correction to a finished meeting's record, kept beside it."""
    meeting = load_meeting(session, meeting_id)
    if meeting.status is not MeetingStatus.FINISHED:
        raise RuleError("The meeting is still open: change its record directly.")
    if not body.strip():
        raise ValidationError("Write the correction.", {"body": "Write the correction."})
    if item_id is not None and load_item(session, item_id).meeting_id != meeting.id:
        raise ValidationError("That item belongs to another meeting.")
    amendment = MeetingAmendment(
        meeting_id=meeting.id,
        agenda_item_id=item_id,
        author_id=author_id,
        written_at=utc_now(),
        body=body.strip(),
    )
    session.add(amendment)
    session.flush()
    return amendments(session, meeting.id)[-1]


def amendments(session: Session, meeting_id: uuid.UUID) -> list[AmendmentView]:
    items = {
        entry.id: entry for entry in agenda_entries(session, agenda_items(session, meeting_id))
    }
    result = []
    for amendment in session.scalars(
        select(MeetingAmendment)
        .where(MeetingAmendment.meeting_id == meeting_id, MeetingAmendment.retired_at.is_(None))
        .order_by(MeetingAmendment.written_at, MeetingAmendment.id)
    ):
        entry = items.get(amendment.agenda_item_id) if amendment.agenda_item_id else None
        result.append(
            AmendmentView(
                id=amendment.id,
                written_text=cui_time(amendment.written_at),
                author_name=_staff_name(session, amendment.author_id),
                body=amendment.body,
                item_text=entry.patient_name if entry else "",
            )
        )
    return result


def outcome_choices() -> list[tuple[AgendaOutcome, str]]:
    return [(outcome, label(outcome)) for outcome in AgendaOutcome]


__all__ = [
    "NEXT_REVIEW_AFTER",
    "AmendmentView",
    "ChangeSinceLast",
    "ItemBriefing",
    "ItemResult",
    "MeetingEnd",
    "OpenAction",
    "TimeStatistics",
    "add_action_from_decision",
    "add_amendment",
    "add_time",
    "amendments",
    "discussion_note_text",
    "finish_meeting",
    "item_briefing",
    "outcome_choices",
    "save_capture",
    "start_meeting",
    "time_statistics",
]
