"""The agenda rules never tell the chair something untrue about time (Hypothesis).

Whatever the case facts — review dates, actions due around the meeting day, admissions,
earlier and later discussions, a meeting started on another day than scheduled, and
proposals made before or after the meeting day — no reason names a date after the day
the meeting is held, "overdue since" is only ever said of a day already past, and an
action due on or after the meeting day never counts as an overdue action.
"""

import datetime as dt
import itertools
import re
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdt_desk.models import Action, Practice
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    CaseStatus,
    OutcomeEventKind,
    PracticeStatus,
    ReferralSource,
)
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, cases, meeting_mode, meetings, patients, plans
from mdt_desk.services.agenda_rules import Proposal
from tests.services.test_agenda_rules import nhs_number

CUI_DATE = re.compile(r"\b(\d{2}-[A-Z][a-z]{2}-\d{4})\b")
START = dt.time(13, 0)
#: the meeting's scheduled day is drawn from here on
FIRST_DAY = dt.date(2026, 3, 2)
OPEN = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
_practices = itertools.count(1)


@dataclass(frozen=True)
class ActionFact:
    due: int  # days from the meeting day
    status: ActionStatus


@dataclass(frozen=True)
class CaseFact:
    referred: int  # days from the meeting day
    review: int | None
    actions: tuple[ActionFact, ...]
    admissions: tuple[int, ...]
    escalated: bool
    #: discussed (outcome recorded) at a meeting this many days from the meeting day
    discussed: int | None
    #: left undiscussed (deferred) at an earlier meeting this many days before
    deferred: int | None


offsets = st.integers(min_value=-45, max_value=45)
case_facts = st.builds(
    CaseFact,
    referred=st.integers(min_value=-150, max_value=3),
    review=st.none() | offsets,
    actions=st.lists(
        st.builds(ActionFact, due=offsets, status=st.sampled_from(list(ActionStatus))),
        max_size=4,
    ).map(tuple),
    admissions=st.lists(st.integers(min_value=-60, max_value=0), max_size=2).map(tuple),
    escalated=st.booleans(),
    discussed=st.none() | st.integers(min_value=-90, max_value=20).filter(lambda d: d != 0),
    deferred=st.none() | st.integers(min_value=-60, max_value=-1),
)


def new_practice(store: Store) -> uuid.UUID:
    """A practice of its own for each example, so examples never see each other's cases."""
    number = next(_practices)
    with store.write(actor_label="test") as session:
        practice = Practice(
            ods_code=f"Y{number:05d}",
            name=f"PROPERTY TEST SURGERY {number}",
            status=PracticeStatus.ACTIVE,
            commissioner_code="99Z",
        )
        session.add(practice)
        session.flush()
        return practice.id


def schedule(store: Store, practice_id: uuid.UUID, chair: uuid.UUID, day: dt.date) -> uuid.UUID:
    with store.write(chair) as session:
        return meetings.schedule_meeting(
            session,
            practice_id=practice_id,
            day=day,
            start_time=START,
            duration_minutes=60,
            chair_id=chair,
            location="Library",
            today=day,
        )[0].id


def run(
    store: Store,
    meeting_id: uuid.UUID,
    day: dt.date,
    case_id: uuid.UUID,
    outcome: AgendaOutcome | None,
) -> None:
    at = meetings.local_start(day, START)
    with store.write(actor_label="test") as session:
        item = meetings.add_to_agenda(
            session, meeting_id, case_id, reason=AgendaReason.ADDED_BY_CHAIR
        )
        meeting_mode.start_meeting(session, meeting_id, now=at)
        if outcome is not None:
            meeting_mode.save_capture(
                session, item.id, outcome=outcome, deferral_reason="GP away", now=at
            )
        meeting_mode.finish_meeting(session, meeting_id, now=at + dt.timedelta(minutes=30))


def make_case(
    store: Store,
    practice_id: uuid.UUID,
    chair: uuid.UUID,
    day: dt.date,
    fact: CaseFact,
) -> uuid.UUID:
    referred = day + dt.timedelta(days=fact.referred)
    latest = day + dt.timedelta(days=60)
    with store.write(chair) as session:
        patient_id = patients.register_patient(
            session,
            nhs_number=nhs_number(),
            family_name="Property",
            given_name="Pat",
            date_of_birth=dt.date(1940, 1, 1),
            practice_id=practice_id,
            today=latest,
        ).id
        case_id = cases.refer(
            session,
            patient_id,
            source=ReferralSource.GP,
            reason="Frailty",
            referred_on=referred,
            today=latest,
        ).id
        cases.accept(session, case_id, coordinator_id=chair, on=referred)
        for action in fact.actions:
            made = plans.add_action(
                session,
                case_id,
                description="Check the stair rail",
                owner_id=chair,
                due_on=day + dt.timedelta(days=action.due),
                imported_history=True,
                today=referred,
            )
            row = session.get(Action, made.id)
            assert row is not None
            row.status = action.status
        for offset in fact.admissions:
            plans.record_outcome_event(
                session,
                patient_id,
                kind=OutcomeEventKind.HOSPITAL_ADMISSION,
                occurred_on=day + dt.timedelta(days=offset),
                today=latest,
            )
    for meeting_offset, outcome in (
        (fact.deferred, AgendaOutcome.DEFER),
        (fact.discussed, AgendaOutcome.CONTINUE_PLAN),
    ):
        if meeting_offset is not None:
            other = day + dt.timedelta(days=meeting_offset)
            run(store, schedule(store, practice_id, chair, other), other, case_id, outcome)
    with store.write(chair) as session:
        case = cases.load_case(session, case_id)
        if case.status is not CaseStatus.CLOSED:
            # set after the meetings above, which move the review on from their outcome
            case.next_review_on = (
                day + dt.timedelta(days=fact.review) if fact.review is not None else None
            )
            case.escalated = fact.escalated
    return case_id


def dates_in(text: str) -> list[dt.date]:
    return [dt.datetime.strptime(found, "%d-%b-%Y").date() for found in CUI_DATE.findall(text)]


def check(
    proposals: list[Proposal], held_on: dt.date, today: dt.date, overdue: dict[uuid.UUID, int]
) -> None:
    for proposal in proposals:
        for reason in proposal.reasons:
            for named in dates_in(reason.text):
                assert named <= held_on, f"{reason.text!r} names a day after {held_on}"
            if "overdue since" in reason.text:
                (since,) = dates_in(reason.text)
                assert since < held_on and since < today, reason.text
        counted = [r for r in proposal.reasons if r.reason is AgendaReason.OVERDUE_ACTIONS]
        expected = overdue.get(proposal.case_id, 0)
        if expected == 0:
            assert not counted, "an action not yet overdue on the meeting day was counted"
        else:
            (only,) = counted
            assert only.text.startswith(f"{expected} overdue action")


@pytest.mark.slow  # about 5-10 s: each example builds its cases and meetings
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scheduled=st.integers(min_value=0, max_value=500).map(
        lambda n: FIRST_DAY + dt.timedelta(days=n)
    ),
    started=st.none() | st.integers(min_value=-10, max_value=10),
    made=st.integers(min_value=-30, max_value=30),
    facts=st.lists(case_facts, min_size=1, max_size=3),
)
def test_no_reason_speaks_of_a_day_after_the_meeting(
    store, team, scheduled, started, made, facts
) -> None:
    chair = team["gp"]
    practice_id = new_practice(store)
    # the proposals are made on ``today``; the meeting may have been started early or late
    held_on = scheduled + dt.timedelta(days=started or 0)
    today = scheduled + dt.timedelta(days=made)
    case_ids = [make_case(store, practice_id, chair, held_on, fact) for fact in facts]
    meeting_id = schedule(store, practice_id, chair, scheduled)
    if started is not None:
        with store.write(chair) as session:
            meeting_mode.start_meeting(
                session, meeting_id, now=meetings.local_start(held_on, dt.time(9, 30))
            )
    # overdue on the meeting day: open or in progress, and due before it
    overdue = {
        case_id: sum(1 for a in fact.actions if a.status in OPEN and a.due < 0)
        for case_id, fact in zip(case_ids, facts, strict=True)
    }
    with store.read() as session:
        proposed = agenda_rules.propose(session, meeting_id, today=today)
        judged = agenda_rules.propose(session, meeting_id, include_listed=True, today=today)
    check(proposed, held_on, today, overdue)
    check(judged, held_on, today, overdue)
