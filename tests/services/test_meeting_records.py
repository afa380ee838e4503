"""Meeting records tell the truth: the day a meeting was held, why an item was
deferred (and that the reason reaches the next agenda), reasons said once, and
"overdue since" only of a day already past."""

import datetime as dt
import uuid

import pytest

from mdt_desk.errors import ValidationError
from mdt_desk.models.enums import AgendaOutcome, AgendaReason
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, cases, meeting_mode, meetings, plans
from mdt_desk.services.agenda_rules import Proposal, ProposalReason
from mdt_desk.services.display import cui_date
from mdt_desk.services.meetings import duration_text, why_text
from tests.services.test_agenda_rules import (
    EARLIER_DAY,
    MEETING_DAY,
    START,
    at_meeting,
    discuss,
    open_case,
    schedule,
)


@pytest.fixture
def host(practice_ids) -> uuid.UUID:
    return practice_ids["A81001"]


@pytest.fixture
def chair(team) -> uuid.UUID:
    return team["gp"]


REASON = "GP who knows her is on leave; daughter wants to be there"


def agenda_of(store: Store, meeting_id: uuid.UUID) -> dict[uuid.UUID, meetings.AgendaEntry]:
    with store.read() as session:
        return {entry.case_id: entry for entry in meetings.agenda(session, meeting_id)}


def defer_at(
    store: Store, meeting_id: uuid.UUID, day: dt.date, case_id: uuid.UUID, reason: str
) -> None:
    """Run the meeting on ``day``: the case deferred with ``reason``; then end it."""
    with store.write(actor_label="test") as session:
        listed = {e.case_id: e for e in meetings.agenda(session, meeting_id)}
        if case_id not in listed:
            listed[case_id] = meetings.add_to_agenda(
                session, meeting_id, case_id, reason=AgendaReason.REVIEW_DUE
            )
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(day, 0))
        meeting_mode.save_capture(
            session, listed[case_id].id, outcome=AgendaOutcome.DEFER, now=at_meeting(day)
        )
        meeting_mode.save_capture(
            session, listed[case_id].id, deferral_reason=reason, now=at_meeting(day)
        )
        meeting_mode.finish_meeting(session, meeting_id, now=at_meeting(day, 40))


# -- the deferral reason -----------------------------------------------------------------


def test_a_deferral_reason_is_kept_and_reaches_the_next_agenda(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    first = schedule(store, host, chair, EARLIER_DAY)
    second = schedule(store, host, chair, MEETING_DAY)
    defer_at(store, first, EARLIER_DAY, case_id, REASON)

    deferred = agenda_of(store, first)[case_id]
    assert deferred.deferred and deferred.deferral_reason == REASON
    carried = agenda_of(store, second)[case_id]
    assert carried.reason is AgendaReason.CARRIED_OVER
    # the ";" of the typed reason would split it into two reasons: it becomes a comma
    assert carried.why_text == (
        "Carried 1× (from 24-Nov-2026); "
        "Deferred: GP who knows her is on leave, daughter wants to be there; Review due"
    )


def test_deferred_twice_says_carried_once_with_the_latest_reason(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    first = schedule(store, host, chair, EARLIER_DAY)
    second = schedule(store, host, chair, MEETING_DAY)
    third = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    defer_at(store, first, EARLIER_DAY, case_id, "GP away")
    defer_at(store, second, MEETING_DAY, case_id, "Social worker off sick")

    detail = agenda_of(store, third)[case_id].reason_detail
    # Before: "Carried 2× (from 08-Dec-2026); Carried 1× (from 24-Nov-2026); …"
    assert detail == "Carried 2× (from 08-Dec-2026); Deferred: Social worker off sick; Review due"
    assert detail.count("Carried") == 1 and detail.count("Deferred") == 1


def test_a_deferred_case_with_no_meeting_yet_is_proposed_with_its_reason(
    store, host, chair
) -> None:
    case_id = open_case(store, host, chair)
    first = schedule(store, host, chair, EARLIER_DAY)
    defer_at(store, first, EARLIER_DAY, case_id, "GP away")
    later = schedule(store, host, chair, MEETING_DAY)
    with store.read() as session:
        (proposal,) = [
            p
            for p in agenda_rules.propose(session, later, today=MEETING_DAY)
            if p.case_id == case_id
        ]
    assert proposal.reasons[0].text == "Carried 1×; Deferred: GP away"


def test_a_deferral_with_no_reason_says_so(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    first = schedule(store, host, chair, EARLIER_DAY)
    second = schedule(store, host, chair, MEETING_DAY)
    defer_at(store, first, EARLIER_DAY, case_id, "   ")
    assert "Deferred, no reason given" in agenda_of(store, second)[case_id].why_text


def test_an_overlong_deferral_reason_is_refused(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    meeting_id = schedule(store, host, chair, EARLIER_DAY)
    with store.write(actor_label="test") as session:
        item = meetings.add_to_agenda(session, meeting_id, case_id, reason=AgendaReason.ESCALATED)
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(EARLIER_DAY, 0))
        with pytest.raises(ValidationError, match="deferral reason is longer"):
            meeting_mode.save_capture(
                session, item.id, deferral_reason="x" * (meeting_mode.MAX_DEFERRAL_REASON_CHARS + 1)
            )


# -- the day a meeting was held -----------------------------------------------------------


def test_a_meeting_run_early_is_recorded_on_the_day_it_ran(store, host, chair) -> None:
    """Scheduled for 08-Dec, run on 01-Dec: reviews, carries and notes speak of 01-Dec."""
    discussed = open_case(store, host, chair, family="Discussed")
    deferred = open_case(store, host, chair, family="Deferred")
    early = MEETING_DAY - dt.timedelta(days=7)
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    following = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    with store.write(chair) as session:
        one = meetings.add_to_agenda(session, meeting_id, discussed, reason=AgendaReason.ESCALATED)
        two = meetings.add_to_agenda(session, meeting_id, deferred, reason=AgendaReason.ESCALATED)
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(early, 0))
        meeting_mode.save_capture(
            session, one.id, summary="Settled.", outcome=AgendaOutcome.CONTINUE_PLAN
        )
        meeting_mode.save_capture(session, two.id, outcome=AgendaOutcome.DEFER)
        meeting_mode.finish_meeting(session, meeting_id, now=at_meeting(early, 30))
        review = cases.load_case(session, discussed).next_review_on
        notes = [n.body for n in plans.list_notes(session, discussed)]
    assert review == early + meeting_mode.NEXT_REVIEW_AFTER[AgendaOutcome.CONTINUE_PLAN]
    assert any(f"MDT meeting Tue {cui_date(early)}" in note for note in notes)
    carried = agenda_of(store, following)[deferred]
    assert carried.reason_detail.startswith(f"Carried 1× (from {cui_date(early)})")


def test_a_running_meeting_is_judged_on_the_day_it_started(store, host, chair) -> None:
    """Started a week early: a review due between then and the scheduled day is not due."""
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id], day=EARLIER_DAY)
    early = MEETING_DAY - dt.timedelta(days=7)
    with store.write(chair) as session:
        cases.set_next_review(session, case_id, early + dt.timedelta(days=3))
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.read() as session:
        before = {p.case_id for p in agenda_rules.propose(session, meeting_id, today=early)}
    with store.write(chair) as session:
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(early, 0))
    with store.read() as session:
        after = {p.case_id for p in agenda_rules.propose(session, meeting_id, today=early)}
    assert case_id in before  # judged on 08-Dec while planned: review due 04-Dec
    assert case_id not in after  # held on 01-Dec: the review is not due yet


# -- overdue since ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "text"),
    [
        # proposals made before the review date: it is due at the meeting, not overdue yet
        (MEETING_DAY - dt.timedelta(days=10), "Review due 03-Dec-2026"),
        (dt.date(2026, 12, 3), "Review due 03-Dec-2026"),
        # once the day has passed, it is overdue
        (dt.date(2026, 12, 4), "Review overdue since 03-Dec-2026"),
        (MEETING_DAY, "Review overdue since 03-Dec-2026"),
    ],
)
def test_overdue_since_only_a_day_already_past(store, host, chair, today, text) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    with store.write(chair) as session:
        cases.set_next_review(session, case_id, dt.date(2026, 12, 3))
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.read() as session:
        (proposal,) = [
            p
            for p in agenda_rules.propose(session, meeting_id, today=today)
            if p.case_id == case_id
        ]
    assert [r.text for r in proposal.reasons if r.reason is AgendaReason.REVIEW_DUE] == [text]


# -- each reason once ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "detail", "shown"),
    [
        ("Escalated", "Escalated by the coordinator", "Escalated by the coordinator"),
        ("Added by chair", "Added by the chair", "Added by the chair"),
        (
            "Added by chair",
            "Added by the chair; Review due 08-Dec-2026; review due 08-Dec-2026",
            "Added by the chair; Review due 08-Dec-2026",
        ),
        ("Overdue actions", "2 overdue actions", "2 overdue actions"),
        (
            "Risk review",
            "Very high risk, last discussed 01-Oct-2026",
            "Very high risk, last discussed 01-Oct-2026",
        ),
        (
            "Recent admission",
            "Hospital admission 27-Nov-2026",
            "Recent admission: Hospital admission 27-Nov-2026",
        ),
        (
            "Escalated",
            "Coordinator worried: carer may not cope",
            "Escalated: Coordinator worried: carer may not cope",
        ),
        (
            "Carried over",
            "Carried 2× (from 08-Dec-2026); Carried 1× (from 24-Nov-2026)",
            "Carried 2× (from 08-Dec-2026)",
        ),
        ("Review due", "", "Review due"),
    ],
)
def test_why_text_says_each_reason_once(label, detail, shown) -> None:
    assert why_text(label, detail) == shown


def test_a_proposal_lists_a_repeated_reason_once() -> None:
    twice = ProposalReason(AgendaReason.OVERDUE_ACTIONS, "2 overdue actions")
    proposal = Proposal(
        case_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        patient_name="EVANS, Siân",
        initials="S.E.",
        nhs_number_text="999 000 0018",
        practice_code="A81001",
        reasons=(
            ProposalReason(AgendaReason.NEW_REFERRAL, "New referral 22-Nov-2026"),
            twice,
            twice,
        ),
        suggested_minutes=15,
        carried_count=0,
    )
    assert proposal.reasons_text == "New referral 22-Nov-2026; 2 overdue actions"


def test_a_case_added_by_hand_names_each_reason_once(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    with store.write(chair) as session:
        cases.load_case(session, case_id).escalated = True
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.write(chair) as session:
        patient_id = cases.load_case(session, case_id).patient_id
        entry = agenda_rules.add_person_by_hand(session, meeting_id, patient_id)
    # Before: "Added by chair — Added by the chair; Escalated by the coordinator; …"
    assert entry.why_text.startswith("Added by the chair; Escalated by the coordinator")
    assert entry.why_text.count("Added by") == 1


# -- times in minutes and seconds ---------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (60, "1 min 00 s"), (425, "7 min 05 s"), (3729, "1 h 02 min 09 s")],
)
def test_times_are_said_in_minutes_and_seconds(seconds, text) -> None:
    assert duration_text(seconds) == text


def test_held_times_give_the_real_day_start_end_and_length(store, host, chair) -> None:
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    early = MEETING_DAY - dt.timedelta(days=7)
    started = meetings.local_start(early, START) + dt.timedelta(minutes=4)
    with store.write(chair) as session:
        meeting_mode.start_meeting(session, meeting_id, now=started)
        meeting_mode.finish_meeting(
            session, meeting_id, now=started + dt.timedelta(minutes=37, seconds=12)
        )
        summary = meetings.get_meeting_summary(session, meeting_id)
    times = meetings.held_times(summary)
    assert times is not None
    assert times.held_text == "Tue 01-Dec-2026 13:04–13:41"
    assert times.length_text == "37 min 12 s"
    assert times.differs and times.scheduled_text == "Tue 08-Dec-2026 13:00–14:30 (90 minutes)"
