"""The MDT meeting's agenda (full, or initials only for circulation) and its minutes.

The agenda gives the meeting's details, who is invited, and each item with its time
slot (the start time plus the minutes of the items before it), why the case is on the
agenda and who presents it. The initials-only variant, for circulating by email or on
paper, shows each person as initials and practice code: no patient's name or NHS
number appears anywhere in it, the footer included (its subject is the meeting).

The minutes give when the meeting actually ran (date, start, end, real length; the
scheduled time too, labelled, where it differs), attendance (present, apologies,
deputies), then every item in running order, numbered 1, 2, 3…: the outcome (with why
it was deferred), time taken in minutes and seconds, summary, decisions and the actions
agreed (owner, due); then the items deferred or not reached, the time statistics and
any amendments made after the meeting.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.platypus import Flowable, KeepTogether
from sqlalchemy.orm import Session

from mdt_desk.documents.common import (
    DocumentStyles,
    PageFrame,
    RenderedPdf,
    document_styles,
    heading,
    markup,
    paragraph,
    render,
    table,
    text,
    unbroken,
    usable_width,
)
from mdt_desk.models.enums import AttendanceStatus
from mdt_desk.services.display import counted, cui_date
from mdt_desk.services.meeting_mode import (
    AmendmentView,
    TimeStatistics,
    amendments,
    time_statistics,
)
from mdt_desk.services.meetings import (
    LONDON,
    AgendaEntry,
    MeetingDetail,
    MeetingSummary,
    deferral_text,
    duration_text,
    get_meeting,
    held_times,
    meeting_day_text,
    why_for_circulation,
)
from mdt_desk.services.plans import ActionRecord, list_actions
from mdt_desk.services.staff import list_staff


@dataclass(frozen=True)
class MeetingContent:
    """Everything the agenda and minutes of one meeting show."""

    detail: MeetingDetail
    staff_names: dict[uuid.UUID, str]
    #: agenda item id -> the actions agreed for that case at this meeting
    agreed_actions: dict[uuid.UUID, tuple[ActionRecord, ...]]
    statistics: TimeStatistics
    amendments: tuple[AmendmentView, ...]


def gather_meeting(
    session: Session, meeting_id: uuid.UUID, *, for_circulation: bool = False
) -> MeetingContent:
    """Read the meeting, its members, agenda, agreed actions and timings via services.

    Args:
        for_circulation: for the initials-only agenda, which leaves the team: no
            sensitive action is read at all.

    Raises:
        NotFoundError: the meeting is not in this store.
    """
    detail = get_meeting(session, meeting_id)
    agreed: dict[uuid.UUID, tuple[ActionRecord, ...]] = {}
    for entry in detail.agenda:
        agreed[entry.id] = tuple(
            action
            for action in list_actions(
                session,
                entry.case_id,
                include_closed=True,
                include_sensitive=not for_circulation,
            )
            if action.meeting_id == meeting_id
        )
    return MeetingContent(
        detail=detail,
        staff_names={member.id: member.display_name for member in list_staff(session)},
        agreed_actions=agreed,
        statistics=time_statistics(session, meeting_id),
        amendments=tuple(amendments(session, meeting_id)),
    )


def time_slots(start: dt.datetime, minutes: Sequence[int]) -> list[str]:
    """``13:00–13:15`` for each item: the meeting's start plus the minutes before it."""
    slots = []
    at = start.astimezone(LONDON)
    for length in minutes:
        until = at + dt.timedelta(minutes=length)
        slots.append(f"{at:%H:%M}–{until:%H:%M}")
        at = until
    return slots


def _when(meeting: MeetingSummary, *, held: bool) -> list[tuple[str, str]]:
    """When the meeting is (agenda), or when it actually ran (minutes).

    The minutes give the date, start and end the meeting ran and its real length; the
    scheduled ones follow, labelled, only where they differ.
    """
    ends = meeting.ends_at.astimezone(LONDON)
    scheduled = f"{meeting_day_text(meeting)}–{ends:%H:%M} ({meeting.duration_minutes} minutes)"
    times = held_times(meeting) if held else None
    if times is None:
        return [("Scheduled" if held else "When", scheduled)]
    rows = [("Held", times.held_text)]
    if times.length_text:
        rows.append(("Length", times.length_text))
    if times.differs:
        rows.append(("Scheduled for", times.scheduled_text))
    return rows


def _details(
    content: MeetingContent, styles: DocumentStyles, *, held: bool = False
) -> list[Flowable]:
    meeting = content.detail.meeting
    rows = [*_when(meeting, held=held), ("Where", meeting.location or "Not recorded")]
    if meeting.video_link:
        rows.append(("Video link", meeting.video_link))
    rows += [
        ("Chair", meeting.chair_name or "Not recorded"),
        ("Practices", ", ".join(name for name in meeting.practice_names if name)),
    ]
    items: list[Flowable] = [paragraph(meeting.title, styles.identity_name)]
    for label_text, value in rows:
        items.append(markup(f"{label_text} <b>{text(value)}</b>", styles.body))
    return items


def _who(entry: AgendaEntry, initials_only: bool) -> str:
    if initials_only:
        return f"{entry.initials} ({entry.practice_code})"
    return f"{entry.patient_name}\n{unbroken('NHS No. ' + entry.nhs_number_text)}"


def _why(entry: AgendaEntry, initials_only: bool = False) -> str:
    if not initials_only:
        return entry.why_text
    return why_for_circulation(entry.why_text)


def _invited(content: MeetingContent, styles: DocumentStyles) -> list[Flowable]:
    members = content.detail.members
    section = heading("Invited", styles)
    if not members:
        return [section, paragraph("No one has been invited yet.", styles.body)]
    width = usable_width()
    return [
        section,
        table(
            ("Name", "Profession", "Attending"),
            [
                (
                    member.name,
                    member.profession_text,
                    "Sent apologies"
                    if member.status is AttendanceStatus.APOLOGIES
                    else (
                        f"Deputy: {member.deputy_name}"
                        if member.status is AttendanceStatus.DEPUTY
                        else "Expected"
                    ),
                )
                for member in members
            ],
            (width * 0.4, width * 0.32, width * 0.28),
            styles,
        ),
    ]


def render_agenda(
    content: MeetingContent,
    *,
    printed_by: str,
    now: dt.datetime,
    initials_only: bool = False,
    large_print: bool = False,
) -> RenderedPdf:
    """Lay out the agenda; ``initials_only`` for circulation (no patient names)."""
    styles = document_styles(large_print=large_print)
    meeting = content.detail.meeting
    agenda = content.detail.agenda
    title = "MDT agenda (initials only)" if initials_only else "MDT agenda"
    story: list[Flowable] = [paragraph(title, styles.title), *_details(content, styles)]
    if initials_only:
        story.append(
            paragraph(
                "People are shown by their initials and practice code only, so this agenda "
                "can be circulated. The full agenda is in MDT Desk.",
                styles.body,
            )
        )
    story += _invited(content, styles)
    story.append(heading("Items", styles))
    if not agenda:
        story.append(paragraph("Nothing is on the agenda yet.", styles.body))
    else:
        width = usable_width()
        slots = time_slots(meeting.starts_at, [entry.minutes_allotted for entry in agenda])
        rows = []
        for number, (entry, slot) in enumerate(zip(agenda, slots, strict=True), start=1):
            presenter = (
                content.staff_names.get(entry.presenter_id, "") if entry.presenter_id else ""
            )
            rows.append(
                (
                    str(number),
                    slot,
                    _who(entry, initials_only),
                    _why(entry, initials_only),
                    presenter or "Coordinator",
                )
            )
        story.append(
            table(
                ("No.", "Time", "Person", "Why it is on the agenda", "Presenting"),
                rows,
                (width * 0.07, width * 0.17, width * 0.28, width * 0.30, width * 0.18),
                styles,
            )
        )
        planned = content.detail.minutes_planned
        summary = f"{len(agenda)} items, {planned} minutes planned"
        if content.detail.over_by_minutes:
            summary += f": {content.detail.over_by_minutes} minutes more than the meeting allows"
        story.append(paragraph(summary + ".", styles.body))
    frame = PageFrame(
        title=title,
        subject=f"{meeting.title}, {meeting_day_text(meeting)}",
        printed_by=printed_by,
        printed_at=now,
    )
    return render(story, frame, styles)


def _attendance(content: MeetingContent, styles: DocumentStyles) -> list[Flowable]:
    members = content.detail.members

    def names(status: AttendanceStatus) -> list[str]:
        return [member.name for member in members if member.status is status]

    deputies = [
        f"{member.deputy_name} for {member.name}"
        for member in members
        if member.status is AttendanceStatus.DEPUTY
    ]
    lines = [
        ("Present", names(AttendanceStatus.PRESENT)),
        ("Apologies", names(AttendanceStatus.APOLOGIES)),
        ("Deputies", deputies),
    ]
    not_recorded = names(AttendanceStatus.INVITED)
    if not_recorded:
        lines.append(("Attendance not recorded", not_recorded))
    items: list[Flowable] = [heading("Attendance", styles)]
    for section, people in lines:
        items.append(markup(f"<b>{section}</b>: {text(', '.join(people) or 'None')}", styles.body))
    return items


def _next_step(entry: AgendaEntry) -> str:
    """What happens to an item left undiscussed, with the reason it was deferred."""
    if entry.deferred:
        return f"{deferral_text(entry.deferral_reason)}. Carried to the next meeting"
    return "Not reached: carried to the next meeting"


def _item(
    number: int, entry: AgendaEntry, content: MeetingContent, styles: DocumentStyles
) -> list[Flowable]:
    head = [
        paragraph(
            f"{number}. {entry.patient_name}, {unbroken('NHS No. ' + entry.nhs_number_text)}",
            styles.subheading,
        ),
        markup(f"<b>Why on the agenda</b>: {text(_why(entry))}", styles.body),
        markup(f"<b>Outcome</b>: {text(entry.outcome_text or 'Not reached')}", styles.body),
    ]
    if entry.deferred:
        reason = entry.deferral_reason.strip() or "No reason given"
        head.append(markup(f"<b>Why deferred</b>: {text(reason)}", styles.body))
    if entry.seconds_taken:
        head.append(
            markup(
                f"<b>Time taken</b>: {text(entry.time_taken_text)} "
                f"({entry.minutes_allotted} minutes allotted)",
                styles.body,
            )
        )
    if entry.summary.strip():
        head.append(markup(f"<b>Discussion</b>: {text(entry.summary.strip())}", styles.body))
    actions = content.agreed_actions.get(entry.id, ())
    if not entry.discussed and not entry.decisions.strip() and not actions:
        return [KeepTogether(head)]
    decisions = entry.decisions.strip() or "None recorded"
    head.append(markup(f"<b>Decisions</b>: {text(decisions)}", styles.body))
    items: list[Flowable] = [KeepTogether(head)]
    if actions:
        width = usable_width()
        items.append(
            table(
                ("Action agreed", "Owner", "Due"),
                [
                    (action.description, action.owner_name, cui_date(action.due_on))
                    for action in actions
                ],
                (width * 0.58, width * 0.25, width * 0.17),
                styles,
            )
        )
    else:
        items.append(paragraph("No new actions.", styles.body))
    return items


def _time_statistics(content: MeetingContent, styles: DocumentStyles) -> list[Flowable]:
    statistics = content.statistics
    width = usable_width()
    rows = []
    for number, item in enumerate(statistics.items, start=1):
        over = item.entry.seconds_taken - item.entry.minutes_allotted * 60
        rows.append(
            (
                str(number),
                item.entry.patient_name,
                f"{item.entry.minutes_allotted} min",
                item.entry.time_taken_text,
                duration_text(over) if over > 0 else "",
            )
        )
    total_seconds = sum(item.entry.seconds_taken for item in statistics.items)
    rows.append(
        ("", "All items", f"{statistics.minutes_allotted} min", duration_text(total_seconds), "")
    )
    return [
        heading("Time", styles),
        paragraph(
            f"{counted(statistics.discussed, 'item')} discussed, "
            f"{statistics.not_reached} deferred or not reached.",
            styles.body,
        ),
        table(
            ("No.", "Person", "Allotted", "Time taken", "Over by"),
            rows,
            (width * 0.07, width * 0.45, width * 0.16, width * 0.16, width * 0.16),
            styles,
        ),
    ]


def render_minutes(
    content: MeetingContent, *, printed_by: str, now: dt.datetime, large_print: bool = False
) -> RenderedPdf:
    """Lay out the minutes of a meeting (normally a finished one)."""
    styles = document_styles(large_print=large_print)
    meeting = content.detail.meeting
    story: list[Flowable] = [
        paragraph("MDT minutes", styles.title),
        *_details(content, styles, held=True),
    ]
    if meeting.status.value != "finished":
        story.append(
            markup(
                f"<b>Draft</b>: the meeting is {text(meeting.status_text.lower())}; these "
                "minutes are not final.",
                styles.body,
            )
        )
    story += _attendance(content, styles)
    # Every item in running order, numbered 1, 2, 3…: the numbers of the deferred list
    # and the time table below refer to these.
    story.append(heading("Items", styles))
    if not content.detail.agenda:
        story.append(paragraph("Nothing was on the agenda.", styles.body))
    elif not any(entry.discussed for entry in content.detail.agenda):
        story.append(paragraph("No item was discussed.", styles.body))
    numbers = {entry.id: number for number, entry in enumerate(content.detail.agenda, start=1)}
    for entry in content.detail.agenda:
        story += _item(numbers[entry.id], entry, content, styles)
    deferred = [entry for entry in content.detail.agenda if not entry.discussed]
    story.append(heading("Deferred or not reached", styles))
    if deferred:
        width = usable_width()
        story.append(
            table(
                ("No.", "Person", "Why it was on the agenda", "What happens next"),
                [
                    (
                        str(numbers[entry.id]),
                        f"{entry.patient_name}\n{unbroken('NHS No. ' + entry.nhs_number_text)}",
                        _why(entry),
                        _next_step(entry),
                    )
                    for entry in deferred
                ],
                (width * 0.07, width * 0.33, width * 0.32, width * 0.28),
                styles,
            )
        )
    else:
        story.append(paragraph("Every item was discussed.", styles.body))
    story += _time_statistics(content, styles)
    if content.amendments:
        story.append(heading("Amendments made after the meeting", styles))
        for amendment in content.amendments:
            about = f" (about {text(amendment.item_text)})" if amendment.item_text else ""
            story.append(
                markup(
                    f"<b>{text(amendment.written_text)}, {text(amendment.author_name)}</b>"
                    f"{about}: {text(amendment.body)}",
                    styles.body,
                )
            )
    times = held_times(meeting)
    when = times.held_text.split("–")[0] if times is not None else meeting_day_text(meeting)
    frame = PageFrame(
        title="MDT minutes",
        subject=f"{meeting.title}, {when}",  # the day it was held
        printed_by=printed_by,
        printed_at=now,
    )
    return render(story, frame, styles)


def agenda_pdf(
    session: Session,
    meeting_id: uuid.UUID,
    *,
    now: dt.datetime,
    printed_by: str,
    initials_only: bool = False,
    large_print: bool = False,
) -> RenderedPdf:
    """The meeting's agenda as PDF bytes (initials only: nothing sensitive is gathered)."""
    return render_agenda(
        gather_meeting(session, meeting_id, for_circulation=initials_only),
        printed_by=printed_by,
        now=now,
        initials_only=initials_only,
        large_print=large_print,
    )


def minutes_pdf(
    session: Session,
    meeting_id: uuid.UUID,
    *,
    now: dt.datetime,
    printed_by: str,
    large_print: bool = False,
) -> RenderedPdf:
    """The meeting's minutes as PDF bytes."""
    return render_minutes(
        gather_meeting(session, meeting_id),
        printed_by=printed_by,
        now=now,
        large_print=large_print,
    )
