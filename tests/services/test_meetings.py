"""Meetings: scheduling, attendance, the agenda, and ending a meeting."""

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import Action, AgendaItem
from mdt_desk.models.enums import (
    AgendaOutcome,
    AgendaReason,
    AttendanceStatus,
    CaseStatus,
    ClosureReason,
    MeetingStatus,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, meeting_mode, meetings, patients, plans
from mdt_desk.services.display import cui_date
from tests.conftest import TODAY
from tests.services.test_agenda_rules import (
    EARLIER_DAY,
    MEETING_DAY,
    at_meeting,
    open_case,
    run_meeting,
    schedule,
)

LONDON = meetings.LONDON


@pytest.fixture
def host(practice_ids) -> uuid.UUID:
    return practice_ids["A81001"]


@pytest.fixture
def chair(team) -> uuid.UUID:
    return team["gp"]


def schedule_errors(store: Store, **changes: object) -> dict[str, str]:
    fields: dict[str, object] = {
        "practice_id": None,
        "day": MEETING_DAY,
        "start_time": dt.time(13, 0),
        "duration_minutes": 90,
        "chair_id": None,
        "location": "Library",
        "today": TODAY,
    }
    fields.update(changes)
    with pytest.raises(ValidationError) as caught, store.write(actor_label="test") as session:
        meetings.schedule_meeting(session, **fields)  # type: ignore[arg-type]
    assert str(caught.value)  # the summary joins the field messages
    for message in caught.value.field_errors.values():
        assert message in str(caught.value)
    return caught.value.field_errors


# -- scheduling ----------------------------------------------------------------------


def test_scheduling_reports_every_wrong_field(store, practice_ids, chair) -> None:
    host = practice_ids["A81001"]
    ok = {"practice_id": host, "chair_id": chair}
    assert schedule_errors(store) == {
        "practice": (
            "Choose the practice from the list: type part of its name or ODS code and pick it."
        ),
        "chair": "Choose who chairs the meeting.",
    }
    assert schedule_errors(store, **ok, day=None, start_time=None) == {
        "day": "Choose the date of the meeting.",
        "start_time": "Choose the time the meeting starts.",
    }
    assert schedule_errors(store, **ok, day=TODAY - dt.timedelta(days=1)) == {
        "day": "That date has passed: choose today or a later date."
    }
    for minutes in (14, 8 * 60 + 1):
        assert schedule_errors(store, **ok, duration_minutes=minutes) == {
            "duration": "A meeting lasts between 15 minutes and 8 hours."
        }
    assert schedule_errors(store, **ok, location=" ", video_link="") == {
        "location": "Say where the meeting is, or give its video link."
    }
    for weeks in (0, 9):
        assert schedule_errors(store, **ok, repeat_weeks=weeks, occurrences=2) == {
            "repeat": "Repeat every 1 to 8 weeks."
        }
    assert schedule_errors(store, **ok, repeat_weeks=2, occurrences=27) == {
        "occurrences": "Schedule between 1 and 26 meetings at a time."
    }
    assert schedule_errors(store, **ok, repeat_weeks=2, occurrences=0) == {
        "occurrences": "Schedule between 1 and 26 meetings at a time."
    }
    assert schedule_errors(store, **ok, occurrences=3) == {
        "repeat": "Say how often the meetings repeat."
    }
    assert schedule_errors(store, **ok, other_practice_ids=[practice_ids["A81004"]]) == {
        "practices": "Bluebell Medical Centre is in another locality; a meeting covers "
        "practices of one locality."
    }
    assert schedule_errors(store, **ok, other_practice_ids=[uuid.uuid4()]) == {
        "practices": "One of the other practices is not in this store."
    }
    with pytest.raises(ValidationError, match="not on the team"), store.write() as session:
        meetings.schedule_meeting(
            session,
            practice_id=host,
            day=MEETING_DAY,
            start_time=dt.time(13, 0),
            duration_minutes=90,
            chair_id=chair,
            invited_ids=[uuid.uuid4()],
            location="Library",
            today=TODAY,
        )
    with store.read() as session:
        assert meetings.list_meetings(session) == []


def test_a_single_meeting_today_with_a_video_link_only(store, host, chair, team) -> None:
    with store.write(chair) as session:
        (made,) = meetings.schedule_meeting(
            session,
            practice_id=host,
            day=TODAY,
            start_time=dt.time(9, 30),
            duration_minutes=15,
            chair_id=chair,
            invited_ids=[team["social_worker"], team["social_worker"]],
            video_link=" https://meet.example/mdt ",
            today=TODAY,
        )
    assert made.title == "The Densham Surgery MDT" and made.practice_code == "A81001"
    assert made.video_link == "https://meet.example/mdt" and made.series_id is None
    assert made.repeat_weeks is None and made.status is MeetingStatus.PLANNED
    assert made.starts_text == "22-Nov-2026 09:30" and made.day == TODAY
    assert made.ends_at - made.starts_at == dt.timedelta(minutes=15)
    assert made.chair_name == "Seán Ó Briain" and made.item_count == 0
    with store.read() as session:
        invited = meetings.members(session, made.id)
    assert {m.staff_id for m in invited} == {chair, team["social_worker"]}  # chair added once
    assert all(m.status is AttendanceStatus.INVITED for m in invited)


def test_a_fortnightly_series_keeps_its_weekday_and_local_time_across_the_clock_change(
    store, host, chair
) -> None:
    first_day = dt.date(2026, 10, 13)  # a Tuesday in BST; clocks go back on 25 October
    with store.write(chair) as session:
        series = meetings.schedule_meeting(
            session,
            practice_id=host,
            day=first_day,
            start_time=dt.time(13, 0),
            duration_minutes=90,
            chair_id=chair,
            location="Library",
            repeat_weeks=2,
            occurrences=4,
            today=dt.date(2026, 10, 1),
        )
    assert len(series) == 4
    assert len({m.series_id for m in series}) == 1 and series[0].series_id is not None
    assert all(m.repeat_weeks == 2 for m in series)
    local = [m.starts_at.astimezone(LONDON) for m in series]
    assert [d.date() for d in local] == [first_day + dt.timedelta(weeks=2 * n) for n in range(4)]
    assert {d.weekday() for d in local} == {1}
    assert {(d.hour, d.minute) for d in local} == {(13, 0)}
    # In UTC the first is at 12:00 (BST) and the rest at 13:00 (GMT).
    assert [m.starts_at.astimezone(dt.UTC).hour for m in series] == [12, 13, 13, 13]
    assert series[1].starts_at - series[0].starts_at == dt.timedelta(days=14, hours=1)
    assert series[3].starts_at - series[2].starts_at == dt.timedelta(days=14)
    with store.read() as session:
        listed = meetings.list_meetings(session, practice_id=host)
    assert [m.id for m in listed] == [m.id for m in series]


def test_a_locality_meeting_is_listed_for_each_of_its_practices(store, practice_ids, chair) -> None:
    host, neighbour = practice_ids["A81001"], practice_ids["A81002"]
    locality = schedule(store, host, chair, MEETING_DAY, others=[neighbour, host])
    single = schedule(store, neighbour, chair, MEETING_DAY + dt.timedelta(days=1))
    cancelled = schedule(store, host, chair, MEETING_DAY + dt.timedelta(days=2))
    with store.write(chair) as session:
        meetings.cancel_meeting(session, cancelled)
        summary = meetings.get_meeting_summary(session, locality)
        assert summary.practice_names == ("The Densham Surgery", "Queens Park Medical Centre")
        assert [m.id for m in meetings.list_meetings(session, practice_id=host)] == [locality]
        assert [m.id for m in meetings.list_meetings(session, practice_id=neighbour)] == [
            locality,
            single,
        ]
        assert meetings.list_meetings(session, practice_id=practice_ids["A81004"]) == []
        everything = meetings.list_meetings(session, include_cancelled=True)
        assert [m.id for m in everything][-1] == cancelled
        assert everything[-1].status_text == "Cancelled"
        with pytest.raises(RuleError, match="not started can be cancelled"):
            meetings.cancel_meeting(session, cancelled)


# -- attendance ----------------------------------------------------------------------


def test_attendance_deputies_and_core_professions(store, host, chair, team) -> None:
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.write(chair) as session:
        nurse = meetings.invite(session, meeting_id, team["district_nurse"])
        assert nurse.status is AttendanceStatus.INVITED
        assert meetings.invite(session, meeting_id, team["district_nurse"]) == nurse  # once
        assert meetings.missing_core_professions(meetings.members(session, meeting_id)) == [
            "a GP",
            "a community or district nurse",
            "a social worker",
        ]
        meetings.set_attendance(session, meeting_id, chair, AttendanceStatus.PRESENT)
        with pytest.raises(ValidationError, match="name of the deputy") as caught:
            meetings.set_attendance(
                session, meeting_id, team["district_nurse"], AttendanceStatus.DEPUTY
            )
        assert set(caught.value.field_errors) == {"deputy_name"}
        deputy = meetings.set_attendance(
            session,
            meeting_id,
            team["district_nurse"],
            AttendanceStatus.DEPUTY,
            deputy_name="  Priya Shah ",
        )
        assert deputy.deputy_name == "Priya Shah" and deputy.status_text == "Deputy"
        # Not invited before: recording attendance invites them.
        social = meetings.set_attendance(
            session, meeting_id, team["social_worker"], AttendanceStatus.APOLOGIES
        )
        assert social.status is AttendanceStatus.APOLOGIES
        assert meetings.missing_core_professions(meetings.members(session, meeting_id)) == [
            "a social worker"
        ]
        back = meetings.set_attendance(
            session, meeting_id, team["district_nurse"], AttendanceStatus.PRESENT
        )
        assert back.deputy_name == ""  # a deputy's name goes with the deputy status
        meetings.set_attendance(
            session, meeting_id, team["social_worker"], AttendanceStatus.PRESENT
        )
        assert meetings.missing_core_professions(meetings.members(session, meeting_id)) == []


# -- the agenda ----------------------------------------------------------------------


def agenda_with(store: Store, host: uuid.UUID, chair: uuid.UUID, size: int) -> uuid.UUID:
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    for number in range(size):
        case_id = open_case(store, host, chair, accepted=False, family=f"Person{number}")
        with store.write(chair) as session:
            meetings.add_to_agenda(session, meeting_id, case_id, reason=AgendaReason.NEW_REFERRAL)
    return meeting_id


def order(store: Store, meeting_id: uuid.UUID) -> list[uuid.UUID]:
    with store.read() as session:
        return [entry.id for entry in meetings.agenda(session, meeting_id)]


def test_moving_an_item_writes_only_its_position(store, host, chair) -> None:
    meeting_id = agenda_with(store, host, chair, 4)
    first, second, third, fourth = order(store, meeting_id)
    with store.read() as session:
        positions = {e.id: e.position for e in meetings.agenda(session, meeting_id)}
        last_seq = session.execute(text("SELECT max(origin_seq) FROM journal")).scalar_one()
    with store.write(chair) as session:
        moved = meetings.move_item(session, fourth, 1)
    assert [entry.id for entry in moved] == [first, fourth, second, third]
    with store.read() as session:
        rows = session.execute(
            text("SELECT entity, row_id, field FROM journal WHERE origin_seq > :seq"),
            {"seq": last_seq},
        ).all()
        after = {e.id: e.position for e in meetings.agenda(session, meeting_id)}
    assert {(row.entity, row.row_id) for row in rows} == {("agenda_item", fourth.hex)}
    assert {row.field for row in rows} - {"updated_at"} == {"position"}
    assert {k: v for k, v in after.items() if k != fourth} == {
        k: v for k, v in positions.items() if k != fourth
    }
    assert positions[first] < after[fourth] < positions[second]

    with store.write(chair) as session:
        assert [e.id for e in meetings.move_item(session, first, 99)] == [
            fourth,
            second,
            third,
            first,
        ]
        assert [e.id for e in meetings.move_item(session, third, -5)] == [
            third,
            fourth,
            second,
            first,
        ]


def test_many_moves_to_the_same_place_keep_the_order_asked_for(store, host, chair) -> None:
    """Halving the same gap again and again runs out of float precision; it still works."""
    meeting_id = agenda_with(store, host, chair, 3)
    expected = order(store, meeting_id)
    with store.write(chair) as session:
        for _ in range(80):
            mover = expected[2]
            got = [e.id for e in meetings.move_item(session, mover, 1)]
            expected.remove(mover)
            expected.insert(1, mover)
            assert got == expected


def test_a_move_between_items_sharing_a_position_lands_where_asked(store, host, chair) -> None:
    """Two desks adding at the end offline can leave two items at one position."""
    meeting_id = agenda_with(store, host, chair, 3)
    first, second, third = order(store, meeting_id)
    with store.write(chair) as session:
        leader, follower = session.get(AgendaItem, first), session.get(AgendaItem, second)
        assert leader is not None and follower is not None
        follower.position = leader.position
        session.flush()
        tied = [e.id for e in meetings.agenda(session, meeting_id)]
        got = [e.id for e in meetings.move_item(session, third, 1)]
    assert got == [tied[0], third, tied[1]]
    assert order(store, meeting_id) == got


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moves=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4), st.integers(min_value=-2, max_value=7)),
        max_size=40,
    )
)
@pytest.mark.slow
def test_any_sequence_of_moves_is_a_permutation_like_list_moves(
    store, host, chair, moves: list[tuple[int, int]]
) -> None:
    with store.read() as session:
        existing = meetings.list_meetings(session)
    meeting_id = existing[0].id if existing else agenda_with(store, host, chair, 5)
    expected = order(store, meeting_id)
    with store.write(chair) as session:
        for which, to_index in moves:
            item = expected[which]
            got = [entry.id for entry in meetings.move_item(session, item, to_index)]
            expected.remove(item)
            expected.insert(max(0, min(to_index, len(expected))), item)
            assert sorted(got) == sorted(expected)
            assert got == expected
    assert order(store, meeting_id) == expected


def test_item_minutes_and_adding_rules(store, host, chair) -> None:
    meeting_id = agenda_with(store, host, chair, 1)
    (item_id,) = order(store, meeting_id)
    with store.write(chair) as session:
        for minutes in (0, 121):
            with pytest.raises(ValidationError, match="between 1 and 120 minutes") as caught:
                meetings.set_item_minutes(session, item_id, minutes)
            assert set(caught.value.field_errors) == {"minutes"}
        assert meetings.set_item_minutes(session, item_id, 120).minutes_allotted == 120
        entry = meetings.agenda(session, meeting_id)[0]
        with pytest.raises(RuleError, match="already on the agenda"):
            meetings.add_to_agenda(
                session, meeting_id, entry.case_id, reason=AgendaReason.ESCALATED
            )
        with pytest.raises(RuleError, match="take it off the agenda instead"):
            meetings.dismiss_proposal(
                session, meeting_id, entry.case_id, reason=AgendaReason.NEW_REFERRAL
            )
    other = open_case(store, host, chair, accepted=False, family="Other")
    with store.write(chair) as session:
        with pytest.raises(ValidationError, match="between 1 and 120"):
            meetings.add_to_agenda(
                session, meeting_id, other, reason=AgendaReason.ADDED_BY_CHAIR, minutes=500
            )
        meetings.dismiss_proposal(session, meeting_id, other, reason=AgendaReason.NEW_REFERRAL)
        # The chair changes their mind: the dismissed proposal becomes the item.
        added = meetings.add_to_agenda(session, meeting_id, other, reason=AgendaReason.ESCALATED)
        assert added.minutes_allotted == 15 and added.position > entry.position
        detail = meetings.get_meeting(session, meeting_id)
    assert [e.case_id for e in detail.agenda] == [entry.case_id, other]
    assert detail.minutes_planned == 135 and detail.over_by_minutes == 45
    assert detail.meeting.item_count == 2


def test_a_closed_case_or_a_person_who_died_cannot_be_added(store, host, chair) -> None:
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    closed = open_case(store, host, chair, family="Closed")
    with store.write(chair) as session:
        cases.close(session, closed, reason=ClosureReason.GOALS_MET, on=TODAY)
    with pytest.raises(RuleError, match="reopen it"), store.write(chair) as session:
        meetings.add_to_agenda(session, meeting_id, closed, reason=AgendaReason.ADDED_BY_CHAIR)
    died = open_case(store, host, chair, family="Died")
    with store.write(chair) as session:
        patients.record_death(
            session, cases.load_case(session, died).patient_id, TODAY, today=TODAY
        )
    with pytest.raises(RuleError, match="has died"), store.write(chair) as session:
        meetings.add_to_agenda(session, meeting_id, died, reason=AgendaReason.ADDED_BY_CHAIR)
    with pytest.raises(NotFoundError), store.write(chair) as session:
        meetings.add_to_agenda(session, meeting_id, uuid.uuid4(), reason=AgendaReason.ESCALATED)


# -- running and ending a meeting ----------------------------------------------------


def test_a_finished_meeting_is_read_only_but_takes_amendments(store, host, chair) -> None:
    meeting_id = agenda_with(store, host, chair, 1)
    (item_id,) = order(store, meeting_id)
    with store.write(chair) as session:
        with pytest.raises(RuleError, match="Start the meeting"):
            meeting_mode.save_capture(session, item_id, summary="Too early")
        with pytest.raises(RuleError, match="still open"):
            meeting_mode.add_amendment(session, meeting_id, "x", author_id=chair)
    run_meeting(store, meeting_id, MEETING_DAY, {})
    other = open_case(store, host, chair, accepted=False, family="Late")
    with store.write(chair) as session:
        assert meetings.get_meeting_summary(session, meeting_id).status is MeetingStatus.FINISHED
        with pytest.raises(RuleError, match="record a correction as an amendment"):
            meeting_mode.save_capture(session, item_id, summary="Afterwards")
        with pytest.raises(RuleError, match="finished; its agenda can no longer change"):
            meetings.add_to_agenda(session, meeting_id, other, reason=AgendaReason.ADDED_BY_CHAIR)
        with pytest.raises(RuleError, match="finished"):
            meetings.move_item(session, item_id, 0)
        with pytest.raises(RuleError, match="cannot be run again"):
            meeting_mode.start_meeting(session, meeting_id)
        with pytest.raises(RuleError, match="attendance can no longer change"):
            meetings.set_attendance(session, meeting_id, chair, AttendanceStatus.PRESENT)
        with pytest.raises(ValidationError, match="Write the correction"):
            meeting_mode.add_amendment(session, meeting_id, "  ", author_id=chair)
        amendment = meeting_mode.add_amendment(
            session, meeting_id, " The GP was present. ", author_id=chair, item_id=item_id
        )
    assert amendment.body == "The GP was present." and amendment.author_name == "Seán Ó Briain"
    assert amendment.item_text == "PERSON0, Siân"
    with store.read() as session:
        assert [a.id for a in meeting_mode.amendments(session, meeting_id)] == [amendment.id]


def test_finishing_rolls_over_sets_reviews_and_closes(store, host, chair, team) -> None:
    outcomes = [*meeting_mode.NEXT_REVIEW_AFTER, AgendaOutcome.CLOSE_CASE]
    discussed = {
        outcome: open_case(store, host, chair, family=f"Out{n}")
        for n, outcome in enumerate(outcomes)
    }
    deferred = open_case(store, host, chair, family="Deferred")
    not_reached = open_case(store, host, chair, family="Unreached")
    meeting_id = schedule(store, host, chair, EARLIER_DAY)
    following = schedule(store, host, chair, MEETING_DAY)
    later = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    with store.write(chair) as session:
        items = {
            case_id: meetings.add_to_agenda(
                session, meeting_id, case_id, reason=AgendaReason.NEW_REFERRAL, minutes=12
            ).id
            for case_id in [*discussed.values(), deferred, not_reached]
        }
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(EARLIER_DAY, 0))
        for outcome, case_id in discussed.items():
            meeting_mode.save_capture(
                session,
                items[case_id],
                summary="Discussed",
                outcome=outcome,
                now=at_meeting(EARLIER_DAY),
            )
        meeting_mode.save_capture(session, items[deferred], outcome=AgendaOutcome.DEFER)
        meeting_mode.add_time(session, items[deferred], 90)
        meeting_mode.add_time(session, items[deferred], 45)
        meeting_mode.add_time(session, items[not_reached], 0)
        with pytest.raises(ValidationError, match="cannot be negative"):
            meeting_mode.add_time(session, items[not_reached], -1)
        change_plan = discussed[AgendaOutcome.CHANGE_PLAN]
        made = meeting_mode.add_action_from_decision(
            session,
            items[change_plan],
            description="Refer to falls clinic",
            owner_id=team["district_nurse"],
            due_on=MEETING_DAY,
            today=EARLIER_DAY,
        )
        assert made.agreed_here and made.owner_name == "Zoë Nowak"
        stats = meeting_mode.time_statistics(session, meeting_id)
        end = meeting_mode.finish_meeting(session, meeting_id, now=at_meeting(EARLIER_DAY, 90))

    assert stats.minutes_allotted == 12 * len(items)
    assert stats.minutes_taken == round(135 / 60, 1) == 2.2
    assert stats.discussed == len(discussed) and stats.not_reached == 2
    deferred_time = next(i for i in stats.items if i.entry.case_id == deferred)
    assert deferred_time.minutes_taken == 2.2 and deferred_time.over_by_minutes == 0

    assert end.meeting.status is MeetingStatus.FINISHED and end.rolled_over == 2
    assert end.next_meeting is not None and end.next_meeting.id == following
    results = {result.entry.case_id: result for result in end.items}
    assert results[deferred].rolled_to_text == "Carried to 08-Dec-2026 13:00"
    assert [a.description for a in results[change_plan].new_actions] == ["Refer to falls clinic"]

    with store.read() as session:
        rolled = {e.case_id: e for e in meetings.agenda(session, following)}
        assert meetings.agenda(session, later) == []
        for outcome, delay in meeting_mode.NEXT_REVIEW_AFTER.items():
            case = cases.load_case(session, discussed[outcome])
            assert case.next_review_on == EARLIER_DAY + delay
            assert results[discussed[outcome]].next_review_text == (
                f"Next review {cui_date(EARLIER_DAY + delay)}"
            )
        closed = cases.get_case(session, discussed[AgendaOutcome.CLOSE_CASE])
        closed_row = cases.load_case(session, closed.id)
        closure = (closed_row.closure_reason, closed_row.closure_note, closed_row.closed_on)
        action_rows = plans.list_action_rows(session, change_plan)
        owned = session.execute(
            select(Action.meeting_id, Action.case_id).where(
                Action.owner_id == team["district_nurse"]
            )
        ).all()
    assert set(rolled) == {deferred, not_reached}
    assert all(
        e.carried_count == 1 and e.reason is AgendaReason.CARRIED_OVER for e in rolled.values()
    )
    assert rolled[deferred].minutes_allotted == 12
    # deferred with no reason given: the next agenda says so, and why it came before
    assert rolled[deferred].reason_detail == (
        "Carried 1× (from 24-Nov-2026); Deferred, no reason given; New referral"
    )
    assert (
        closed.status is CaseStatus.CLOSED and results[closed.id].next_review_text == "Case closed"
    )
    assert closure == (
        ClosureReason.OTHER,
        "Closed by the MDT meeting of 24-Nov-2026.",
        EARLIER_DAY,
    )
    assert [(r.description, r.owner_name) for r in action_rows] == [
        ("Refer to falls clinic", "Zoë Nowak")
    ]
    assert [tuple(row) for row in owned] == [(meeting_id, change_plan)]  # the owner's list


def test_rolling_over_onto_an_item_already_there_keeps_its_place(store, host, chair) -> None:
    waiting = open_case(store, host, chair, family="Waiting")
    already = open_case(store, host, chair, family="Already")
    meeting_id = schedule(store, host, chair, EARLIER_DAY)
    following = schedule(store, host, chair, MEETING_DAY)
    with store.write(chair) as session:
        meetings.add_to_agenda(session, following, already, reason=AgendaReason.REVIEW_DUE)
        meetings.dismiss_proposal(session, following, waiting, reason=AgendaReason.NEW_REFERRAL)
        for case_id in (already, waiting):
            meetings.add_to_agenda(session, meeting_id, case_id, reason=AgendaReason.NEW_REFERRAL)
    run_meeting(store, meeting_id, EARLIER_DAY, {already: None, waiting: None})
    with store.read() as session:
        rolled = meetings.agenda(session, following)
    assert [e.case_id for e in rolled] == [already, waiting]  # the dismissed one comes back
    assert [e.carried_count for e in rolled] == [1, 1]
    assert rolled[0].reason_detail.startswith("Carried 1×")


def test_a_meeting_with_no_next_one_says_where_its_items_go(store, host, chair) -> None:
    meeting_id = agenda_with(store, host, chair, 1)
    with store.write(chair) as session:
        meeting_mode.start_meeting(session, meeting_id)
        end = meeting_mode.finish_meeting(session, meeting_id)
    assert end.next_meeting is None and end.rolled_over == 0
    assert end.items[0].rolled_to_text == "Will be proposed for the next meeting"
    assert at_meeting(MEETING_DAY).tzinfo is not None


def test_finishing_writes_what_was_discussed_into_the_case_notes(store, host, chair, team) -> None:
    talked = open_case(store, host, chair, family="Talked")
    typed_only = open_case(store, host, chair, family="Typed")
    deferred = open_case(store, host, chair, family="Deferred")
    unreached = open_case(store, host, chair, family="Unreached")
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.write(chair) as session:
        items = {
            case_id: meetings.add_to_agenda(
                session, meeting_id, case_id, reason=AgendaReason.NEW_REFERRAL
            ).id
            for case_id in (talked, typed_only, deferred, unreached)
        }
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(MEETING_DAY, 0))
        meeting_mode.save_capture(
            session,
            items[talked],
            summary="Falls at night; son worried. ",
            decisions="Medication review\nGP to call the son",
            outcome=AgendaOutcome.CHANGE_PLAN,
        )
        meeting_mode.save_capture(session, items[typed_only], summary="Brief word only")
        meeting_mode.save_capture(session, items[deferred], outcome=AgendaOutcome.DEFER)
        meeting_mode.finish_meeting(
            session, meeting_id, now=at_meeting(MEETING_DAY, 90), author_id=team["gp"]
        )
    with store.read() as session:
        notes = {case_id: plans.list_notes(session, case_id) for case_id in items}
    (note,) = notes[talked]
    assert note.body == (
        "MDT meeting Tue 08-Dec-2026 (The Densham Surgery MDT) — outcome: Change plan.\n"
        "Discussion: Falls at night; son worried.\n"
        "Decisions: Medication review\nGP to call the son"
    )
    assert note.author_id == team["gp"]
    (typed_note,) = notes[typed_only]
    assert typed_note.body == (
        "MDT meeting Tue 08-Dec-2026 (The Densham Surgery MDT) — no outcome recorded.\n"
        "Discussion: Brief word only"
    )
    assert notes[deferred] == [] and notes[unreached] == []


def test_a_video_link_must_be_a_web_address(store, host, chair) -> None:
    ok = {"practice_id": host, "chair_id": chair}
    assert schedule_errors(store, **ok, location="", video_link="teams meeting") == {
        "video_link": "Give the video link as a web address starting https://"
    }
    with store.write(chair) as session:
        (made,) = meetings.schedule_meeting(
            session,
            practice_id=host,
            day=TODAY,
            start_time=dt.time(9, 30),
            duration_minutes=15,
            chair_id=chair,
            video_link="http://meet.example/mdt",
            today=TODAY,
        )
    assert made.video_link == "http://meet.example/mdt"
