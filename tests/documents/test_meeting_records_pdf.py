"""The minutes and the next agenda, read back from the PDF: when the meeting really ran
and for how long, items numbered in order with times in minutes and seconds, and the
reason an item was deferred, in the minutes and on the next meeting's agenda."""

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import pytest

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.models.enums import AgendaOutcome, AgendaReason
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings
from tests.conftest import TODAY
from tests.documents.helpers import NOW, care_case, desk_for, flat, pages_text

#: scheduled a week after TODAY (a Sunday) at 13:00 for 90 minutes; run on TODAY
SCHEDULED = TODAY + dt.timedelta(days=7)
REASON = "The GP who knows her is on leave"


@dataclass(frozen=True)
class RunMeeting:
    meeting_id: uuid.UUID
    following_id: uuid.UUID
    names: tuple[str, ...]


def run_early(
    store: Store,
    practice_id: uuid.UUID,
    team: dict[str, uuid.UUID],
    *,
    day: dt.date = TODAY,
    start: dt.time = dt.time(13, 4),
    length: dt.timedelta = dt.timedelta(minutes=37, seconds=12),
) -> RunMeeting:
    """Three people on the agenda: 1 discussed (7 min 05 s), 2 deferred with a reason,
    3 discussed; the meeting started on ``day`` at ``start`` and ran ``length``."""
    people = [
        care_case(store, practice_id, team, actions=0, family_name=family, nhs_number=number)
        for family, number in (
            ("Adams", "9434765919"),
            ("Baker", "9990000026"),
            ("Clarke", "9990000018"),
        )
    ]
    chair = team["gp"]
    started = meetings.local_start(day, start)
    with store.write(chair) as session:
        meeting, following = (
            meetings.schedule_meeting(
                session,
                practice_id=practice_id,
                day=on,
                start_time=dt.time(13, 0),
                duration_minutes=90,
                chair_id=chair,
                location="Practice library",
                today=TODAY,
            )[0]
            for on in (SCHEDULED, SCHEDULED + dt.timedelta(weeks=2))
        )
        items = [
            meetings.add_to_agenda(session, meeting.id, person.case_id, reason=reason, minutes=10)
            for person, reason in zip(
                people,
                (AgendaReason.NEW_REFERRAL, AgendaReason.ESCALATED, AgendaReason.REVIEW_DUE),
                strict=True,
            )
        ]
        meeting_mode.start_meeting(session, meeting.id, now=started)
        for item, outcome in zip(
            items,
            (AgendaOutcome.CHANGE_PLAN, AgendaOutcome.DEFER, AgendaOutcome.CONTINUE_PLAN),
            strict=True,
        ):
            meeting_mode.save_capture(session, item.id, outcome=outcome, now=started)
        meeting_mode.save_capture(session, items[1].id, deferral_reason=REASON, now=started)
        meeting_mode.add_time(session, items[0].id, 7 * 60 + 5)
        meeting_mode.add_time(session, items[2].id, 11 * 60 + 30)
        meeting_mode.finish_meeting(session, meeting.id, now=started + length)
        names = tuple(entry.patient_name for entry in meetings.agenda(session, meeting.id))
    return RunMeeting(meeting.id, following.id, names)


def text_of(store: Store, kind: DocumentKind, meeting_id: uuid.UUID) -> str:
    document = documents.preview(
        desk_for(store), DocumentRequest(kind, meeting_id=meeting_id), now=NOW
    )
    return flat(" ".join(pages_text(document.content)))


@pytest.fixture
def held(store, practice_ids, team) -> RunMeeting:
    return run_early(store, practice_ids["A81001"], team)


def test_the_minutes_say_when_the_meeting_really_ran(store, held) -> None:
    text = text_of(store, DocumentKind.MINUTES, held.meeting_id)
    # Before: "When Sun 29-Nov-2026 13:00–14:30 (90 minutes)", the scheduled slot only.
    assert "Held Sun 22-Nov-2026 13:04–13:41" in text
    assert "Length 37 min 12 s" in text
    assert "Scheduled for Sun 29-Nov-2026 13:00–14:30 (90 minutes)" in text
    assert text.index("Held") < text.index("Scheduled for")
    assert "When Sun 29-Nov-2026" not in text
    # the scheduled day only in its labelled row (the page footers name the day held)
    assert text.count("29-Nov-2026") == 1


def test_minutes_of_a_meeting_run_as_scheduled_give_no_second_time(
    store, practice_ids, team
) -> None:
    on_time = run_early(
        store,
        practice_ids["A81001"],
        team,
        day=SCHEDULED,
        start=dt.time(13, 0),
        length=dt.timedelta(minutes=90),
    )
    text = text_of(store, DocumentKind.MINUTES, on_time.meeting_id)
    assert "Held Sun 29-Nov-2026 13:00–14:30" in text and "Length 1 h 30 min 00 s" in text
    assert "Scheduled for" not in text


def test_minutes_number_items_in_order_with_times_in_minutes_and_seconds(store, held) -> None:
    text = text_of(store, DocumentKind.MINUTES, held.meeting_id)
    headings = [text.index(f"{n}. {name}") for n, name in enumerate(held.names, start=1)]
    assert headings == sorted(headings)  # 1, 2, 3 in running order, none skipped
    # Before: items discussed numbered 1 then 3; the time as decimal minutes ("7.1").
    assert "Time taken: 7 min 05 s (10 minutes allotted)" in text
    assert "11 min 30 s" in text and "18 min 35 s" in text  # item 3 and the total
    assert not re.search(r"\b\d+\.\d\b", text.split("Time", 1)[1])


def test_the_deferral_reason_is_in_the_minutes(store, held) -> None:
    text = text_of(store, DocumentKind.MINUTES, held.meeting_id)
    assert f"Why deferred: {REASON}" in text
    assert f"Deferred: {REASON}. Carried to the next meeting" in text


def test_the_next_agenda_gives_the_deferral_reason_once(store, held) -> None:
    text = text_of(store, DocumentKind.AGENDA, held.following_id)
    assert f"Deferred: {REASON}" in text
    # the carry is dated the day the meeting was held, said once, not "Carried over: Carried…"
    assert text.count("Carried 1× (from 22-Nov-2026)") == 1
    assert "Carried over: Carried" not in text and "Escalated: Escalated" not in text


def test_the_circulated_agenda_says_deferred_and_keeps_the_reason_within_the_team(
    store, held
) -> None:
    """The initials-only agenda is emailed outside the team: a deferral reason is free
    text about the person, so it says only that the item was deferred (hazard H76)."""
    circulated = text_of(store, DocumentKind.AGENDA_INITIALS, held.following_id)
    assert "Deferred" in circulated
    assert REASON not in circulated
    for word in ("GP who knows", "on leave"):
        assert word not in circulated
    # the team's own agenda for the same meeting still gives the reason
    assert f"Deferred: {REASON}" in text_of(store, DocumentKind.AGENDA, held.following_id)
