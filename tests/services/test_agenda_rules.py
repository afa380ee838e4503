"""Which cases the agenda builder proposes, and why: every rule, on hand-built data."""

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable

import pytest

from mdt_desk.models import OutcomeEvent, Patient
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    CaseStatus,
    ClosureReason,
    OutcomeEventKind,
    ReferralSource,
    RiskBand,
)
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, cases, meeting_mode, meetings, patients, plans
from mdt_desk.services.agenda_rules import Proposal
from tests.conftest import TODAY

#: The meeting most tests propose for: a Tuesday two weeks after an earlier meeting.
EARLIER_DAY = dt.date(2026, 11, 24)
MEETING_DAY = dt.date(2026, 12, 8)
START = dt.time(13, 0)
FAR_REVIEW = TODAY + dt.timedelta(days=365)
#: a day after every meeting of these tests, for proposals judged once the day has come
LATER = dt.date(2027, 6, 1)

_serials = itertools.count(1)


def nhs_number() -> str:
    """A fresh valid synthetic NHS number (999 range) for every call."""
    while True:
        base = f"999{next(_serials):06d}"
        check = 11 - sum(int(digit) * (10 - i) for i, digit in enumerate(base)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return base + str(check)


def person(
    store: Store,
    practice_id: uuid.UUID,
    *,
    family: str = "Evans",
    given: str = "Siân",
    risk: RiskBand | None = None,
) -> uuid.UUID:
    with store.write(actor_label="test") as session:
        patient_id = patients.register_patient(
            session,
            nhs_number=nhs_number(),
            family_name=family,
            given_name=given,
            date_of_birth=dt.date(1938, 3, 2),
            practice_id=practice_id,
            today=TODAY,
        ).id
        if risk is not None:
            patient = session.get(Patient, patient_id)
            assert patient is not None
            patient.risk_band = risk
    return patient_id


def open_case(
    store: Store,
    practice_id: uuid.UUID,
    coordinator: uuid.UUID,
    *,
    family: str = "Evans",
    risk: RiskBand | None = None,
    accepted: bool = True,
    referred_on: dt.date = TODAY,
) -> uuid.UUID:
    """A case referred on ``referred_on`` (and accepted, its review a year away)."""
    patient_id = person(store, practice_id, family=family, risk=risk)
    with store.write(coordinator) as session:
        case = cases.refer(
            session,
            patient_id,
            source=ReferralSource.GP,
            reason="Frailty, two falls",
            referred_on=referred_on,
            today=max(TODAY, referred_on),
        )
        if accepted:
            cases.accept(
                session,
                case.id,
                coordinator_id=coordinator,
                next_review_on=FAR_REVIEW,
                on=referred_on,
            )
    return case.id


def patient_of(store: Store, case_id: uuid.UUID) -> uuid.UUID:
    with store.read() as session:
        return cases.load_case(session, case_id).patient_id


def schedule(
    store: Store,
    practice_id: uuid.UUID,
    chair: uuid.UUID,
    day: dt.date,
    *,
    others: Iterable[uuid.UUID] = (),
) -> uuid.UUID:
    with store.write(chair) as session:
        return meetings.schedule_meeting(
            session,
            practice_id=practice_id,
            day=day,
            start_time=START,
            duration_minutes=90,
            chair_id=chair,
            location="Practice library",
            other_practice_ids=others,
            today=TODAY,
        )[0].id


def at_meeting(day: dt.date, minutes: int = 5) -> dt.datetime:
    return meetings.local_start(day, START) + dt.timedelta(minutes=minutes)


def run_meeting(
    store: Store,
    meeting_id: uuid.UUID,
    day: dt.date,
    outcomes: dict[uuid.UUID, AgendaOutcome | None],
) -> None:
    """Start the meeting, record each case's outcome (None: not reached), finish it.

    Cases not yet on the agenda are added first.
    """
    with store.write(actor_label="test") as session:
        listed = {entry.case_id: entry for entry in meetings.agenda(session, meeting_id)}
        for case_id in outcomes:
            if case_id not in listed:
                listed[case_id] = meetings.add_to_agenda(
                    session, meeting_id, case_id, reason=AgendaReason.ADDED_BY_CHAIR
                )
        meeting_mode.start_meeting(session, meeting_id, now=at_meeting(day, 0))
        for case_id, outcome in outcomes.items():
            if outcome is not None:
                meeting_mode.save_capture(
                    session, listed[case_id].id, outcome=outcome, now=at_meeting(day)
                )
        meeting_mode.finish_meeting(session, meeting_id, now=at_meeting(day, 90))


def discuss(
    store: Store,
    practice_id: uuid.UUID,
    chair: uuid.UUID,
    case_ids: Iterable[uuid.UUID],
    *,
    day: dt.date = EARLIER_DAY,
    outcome: AgendaOutcome = AgendaOutcome.CONTINUE_PLAN,
) -> uuid.UUID:
    """Discuss the cases at a meeting on ``day``, finished; their reviews then set far away."""
    case_ids = list(case_ids)
    meeting_id = schedule(store, practice_id, chair, day)
    run_meeting(store, meeting_id, day, dict.fromkeys(case_ids, outcome))
    with store.write(chair) as session:
        for case_id in case_ids:
            if cases.load_case(session, case_id).status is not CaseStatus.CLOSED:
                cases.set_next_review(session, case_id, FAR_REVIEW)
    return meeting_id


def propose(
    store: Store, meeting_id: uuid.UUID, *, include_listed: bool = False, today: dt.date = LATER
) -> dict[uuid.UUID, Proposal]:
    """The proposals by case; made on ``today`` (by default after every meeting day, so
    they do not depend on the machine's clock)."""
    with store.read() as session:
        proposals = agenda_rules.propose(
            session, meeting_id, include_listed=include_listed, today=today
        )
    for proposal in proposals:
        assert proposal.reasons, "every proposal says why"
        assert all(reason.text.strip() for reason in proposal.reasons)
        assert proposal.reasons_text
    return {proposal.case_id: proposal for proposal in proposals}


def reasons_of(proposal: Proposal) -> dict[AgendaReason, str]:
    return {reason.reason: reason.text for reason in proposal.reasons}


@pytest.fixture
def host(practice_ids) -> uuid.UUID:
    return practice_ids["A81001"]


@pytest.fixture
def chair(team) -> uuid.UUID:
    return team["gp"]


# -- new referral --------------------------------------------------------------------


def test_a_case_never_discussed_is_a_new_referral(store, host, chair) -> None:
    case_id = open_case(store, host, chair, accepted=False)
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    proposal = propose(store, meeting_id)[case_id]
    assert reasons_of(proposal) == {
        AgendaReason.NEW_REFERRAL: "New referral 22-Nov-2026, not yet discussed"
    }
    assert proposal.reason is AgendaReason.NEW_REFERRAL
    assert proposal.suggested_minutes == 15 and proposal.carried_count == 0
    assert proposal.patient_name == "EVANS, Siân" and proposal.initials == "S.E."
    assert proposal.practice_code == "A81001"
    assert len(proposal.nhs_number_text.replace(" ", "")) == 10


def test_a_case_discussed_before_is_not_a_new_referral(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    assert case_id not in propose(store, schedule(store, host, chair, MEETING_DAY))


def test_a_deferral_is_not_a_discussion(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id], outcome=AgendaOutcome.DEFER)
    proposal = propose(store, schedule(store, host, chair, MEETING_DAY))[case_id]
    assert AgendaReason.NEW_REFERRAL in reasons_of(proposal)


def test_a_case_referred_after_the_meeting_day_waits_for_a_later_meeting(
    store, host, chair
) -> None:
    on_the_day = open_case(store, host, chair, accepted=False, family="Same")
    next_day = open_case(
        store, host, chair, accepted=False, family="Later", referred_on=TODAY + dt.timedelta(1)
    )
    today_meeting = schedule(store, host, chair, TODAY)
    later_meeting = schedule(store, host, chair, MEETING_DAY)
    assert set(propose(store, today_meeting)) == {on_the_day}
    assert set(propose(store, later_meeting)) == {on_the_day, next_day}


# -- review due ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("review_on", "text"),
    [
        (MEETING_DAY, "Review due 08-Dec-2026"),
        (MEETING_DAY - dt.timedelta(days=1), "Review overdue since 07-Dec-2026"),
        (EARLIER_DAY + dt.timedelta(days=1), "Review overdue since 25-Nov-2026"),
        (MEETING_DAY + dt.timedelta(days=1), None),
    ],
)
def test_review_due_on_or_before_the_meeting_day(store, host, chair, review_on, text) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    with store.write(chair) as session:
        cases.set_next_review(session, case_id, review_on)
    proposed = propose(store, schedule(store, host, chair, MEETING_DAY))
    if text is None:
        assert case_id not in proposed
    else:
        assert reasons_of(proposed[case_id]) == {AgendaReason.REVIEW_DUE: text}
        assert proposed[case_id].suggested_minutes == 10


# -- recent admission ----------------------------------------------------------------


def record_event(
    store: Store, case_id: uuid.UUID, kind: OutcomeEventKind, on: dt.date
) -> uuid.UUID:
    with store.write(actor_label="test") as session:
        return plans.record_outcome_event(
            session, patient_of(store, case_id), kind=kind, occurred_on=on, today=MEETING_DAY
        )


@pytest.mark.parametrize(
    ("kind", "on", "text"),
    [
        (OutcomeEventKind.HOSPITAL_ADMISSION, EARLIER_DAY, "Hospital admission 24-Nov-2026"),
        (OutcomeEventKind.AE_ATTENDANCE, dt.date(2026, 12, 1), "A&E attendance 01-Dec-2026"),
        (
            OutcomeEventKind.READMISSION_30_DAYS,
            MEETING_DAY,
            "Emergency readmission within 30 days 08-Dec-2026",
        ),
        (OutcomeEventKind.HOSPITAL_ADMISSION, EARLIER_DAY - dt.timedelta(days=1), None),
        (OutcomeEventKind.DELAYED_TRANSFER_OF_CARE, dt.date(2026, 12, 1), None),
        (OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION, dt.date(2026, 12, 1), None),
    ],
)
@pytest.mark.slow
def test_an_admission_since_the_last_discussion_is_proposed(
    store, host, chair, kind, on, text
) -> None:
    """An event on the day of the last discussion counts; one the day before does not."""
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    with store.write(actor_label="test") as session:
        plans.record_outcome_event(
            session,
            patient_of(store, case_id),
            kind=kind,
            occurred_on=on,
            delayed_days=3 if kind is OutcomeEventKind.DELAYED_TRANSFER_OF_CARE else None,
            today=MEETING_DAY,
        )
    proposed = propose(store, schedule(store, host, chair, MEETING_DAY))
    if text is None:
        assert case_id not in proposed
    else:
        assert reasons_of(proposed[case_id]) == {AgendaReason.RECENT_ADMISSION: text}
        assert proposed[case_id].suggested_minutes == 10


def test_several_admissions_show_the_latest_and_how_many_more(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    record_event(store, case_id, OutcomeEventKind.AE_ATTENDANCE, dt.date(2026, 11, 28))
    record_event(store, case_id, OutcomeEventKind.HOSPITAL_ADMISSION, dt.date(2026, 12, 2))
    record_event(store, case_id, OutcomeEventKind.AE_ATTENDANCE, dt.date(2026, 11, 20))  # before
    proposal = propose(store, schedule(store, host, chair, MEETING_DAY))[case_id]
    assert reasons_of(proposal)[AgendaReason.RECENT_ADMISSION] == (
        "Hospital admission 02-Dec-2026 and 1 more"
    )


def test_admissions_of_a_new_referral_count_from_the_referral(store, host, chair) -> None:
    before = open_case(store, host, chair, accepted=False)
    after = open_case(store, host, chair, accepted=False, family="Jones")
    with store.write(actor_label="test") as session:
        # Recorded before the referral: no open case yet, so it belongs to the person.
        session.add(
            OutcomeEvent(
                patient_id=patient_of(store, before),
                case_id=None,
                kind=OutcomeEventKind.HOSPITAL_ADMISSION,
                occurred_on=TODAY - dt.timedelta(days=1),
            )
        )
        # One of the person's, with no case (as sync may bring it), after the referral.
        session.add(
            OutcomeEvent(
                patient_id=patient_of(store, after),
                case_id=None,
                kind=OutcomeEventKind.AE_ATTENDANCE,
                occurred_on=TODAY,
            )
        )
    proposed = propose(store, schedule(store, host, chair, MEETING_DAY))
    assert set(reasons_of(proposed[before])) == {AgendaReason.NEW_REFERRAL}
    assert set(reasons_of(proposed[after])) == {
        AgendaReason.RECENT_ADMISSION,
        AgendaReason.NEW_REFERRAL,
    }
    assert proposed[after].reason is AgendaReason.RECENT_ADMISSION  # it leads


def test_an_event_after_the_meeting_day_does_not_count(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    meeting_id = schedule(store, host, chair, dt.date(2026, 12, 1))
    record_event(store, case_id, OutcomeEventKind.HOSPITAL_ADMISSION, dt.date(2026, 12, 2))
    assert case_id not in propose(store, meeting_id)


def test_a_late_evening_discussion_is_dated_in_london(store, host, chair) -> None:
    """Discussed at 23:30 UTC on 24 Jun = 00:30 BST on 25 Jun: an event on 24 Jun is older."""
    summer = dt.date(2027, 6, 24)
    case_id = open_case(store, host, chair)
    meeting_id = schedule(store, host, chair, summer)
    with store.write(chair) as session:
        item = meetings.add_to_agenda(
            session, meeting_id, case_id, reason=AgendaReason.ADDED_BY_CHAIR
        )
        meeting_mode.start_meeting(session, meeting_id)
        meeting_mode.save_capture(
            session,
            item.id,
            outcome=AgendaOutcome.CONTINUE_PLAN,
            now=dt.datetime(2027, 6, 24, 23, 30, tzinfo=dt.UTC),
        )
        meeting_mode.finish_meeting(session, meeting_id)
        cases.set_next_review(session, case_id, dt.date(2028, 1, 1))
    with store.write(actor_label="test") as session:
        for on in (summer, summer + dt.timedelta(days=1)):
            plans.record_outcome_event(
                session,
                patient_of(store, case_id),
                kind=OutcomeEventKind.AE_ATTENDANCE,
                occurred_on=on,
                today=dt.date(2027, 7, 1),
            )
    later = schedule(store, host, chair, dt.date(2027, 7, 1))
    proposal = propose(store, later)[case_id]
    assert reasons_of(proposal) == {AgendaReason.RECENT_ADMISSION: "A&E attendance 25-Jun-2027"}


# -- overdue actions -----------------------------------------------------------------


def add_action(store: Store, case_id: uuid.UUID, owner: uuid.UUID, due: dt.date) -> uuid.UUID:
    with store.write(owner) as session:
        return plans.add_action(
            session,
            case_id,
            description="Arrange a perching stool",
            owner_id=owner,
            due_on=due,
            imported_history=True,
            today=TODAY,
        ).id


def test_overdue_actions_are_those_open_and_due_before_the_meeting_day(
    store, host, chair, team
) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id])
    on_the_day = add_action(store, case_id, team["district_nurse"], MEETING_DAY)
    later = add_action(store, case_id, team["district_nurse"], MEETING_DAY + dt.timedelta(days=3))
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    assert case_id not in propose(store, meeting_id)

    overdue = add_action(store, case_id, team["district_nurse"], MEETING_DAY - dt.timedelta(days=1))
    proposal = propose(store, meeting_id)[case_id]
    assert reasons_of(proposal) == {AgendaReason.OVERDUE_ACTIONS: "1 overdue action"}
    assert proposal.suggested_minutes == 5

    in_progress = add_action(store, case_id, team["gp"], EARLIER_DAY)
    done = add_action(store, case_id, team["gp"], EARLIER_DAY)
    cancelled = add_action(store, case_id, team["gp"], EARLIER_DAY)
    with store.write(chair) as session:
        plans.update_action(session, in_progress, status=ActionStatus.IN_PROGRESS, today=TODAY)
        plans.update_action(session, done, status=ActionStatus.DONE, today=TODAY)
        plans.update_action(session, cancelled, status=ActionStatus.CANCELLED, today=TODAY)
    proposal = propose(store, meeting_id)[case_id]
    assert reasons_of(proposal) == {AgendaReason.OVERDUE_ACTIONS: "2 overdue actions"}

    with store.write(chair) as session:
        for action_id in (overdue, in_progress):
            plans.update_action(session, action_id, status=ActionStatus.DONE, today=TODAY)
        plans.withdraw_action(session, on_the_day)
    assert case_id not in propose(store, meeting_id)
    assert later  # still open, due after the meeting


# -- escalated -----------------------------------------------------------------------


def test_an_escalated_case_is_proposed_first_and_cleared_once_discussed(store, host, chair) -> None:
    quiet = open_case(store, host, chair, family="Adams")
    escalated = open_case(store, host, chair, family="Zephaniah")
    discuss(store, host, chair, [quiet, escalated])
    with store.write(chair) as session:
        cases.set_next_review(session, quiet, MEETING_DAY)
        cases.set_escalated(session, escalated, True)
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    proposed = list(propose(store, meeting_id).values())
    assert [p.case_id for p in proposed] == [escalated, quiet]  # escalated leads, not by name
    assert reasons_of(proposed[0]) == {AgendaReason.ESCALATED: "Escalated by the coordinator"}
    assert proposed[0].suggested_minutes == 15

    run_meeting(store, meeting_id, MEETING_DAY, {escalated: AgendaOutcome.ESCALATE})
    with store.read() as session:
        record = cases.load_case(session, escalated)
        assert not record.escalated
        assert record.next_review_on == MEETING_DAY + dt.timedelta(weeks=2)


# -- carried over --------------------------------------------------------------------


def test_carried_over_counts_the_meetings_a_case_has_waited(store, host, chair) -> None:
    waiting = open_case(store, host, chair, family="Waits")
    reached = open_case(store, host, chair, family="Reached")
    discuss(store, host, chair, [waiting, reached], day=TODAY)
    first = schedule(store, host, chair, EARLIER_DAY)
    second = schedule(store, host, chair, MEETING_DAY)
    # Not reached at the first meeting: both roll over to the second.
    run_meeting(store, first, EARLIER_DAY, {waiting: None, reached: None})
    with store.read() as session:
        rolled = {entry.case_id: entry for entry in meetings.agenda(session, second)}
    assert {case: entry.carried_count for case, entry in rolled.items()} == {
        waiting: 1,
        reached: 1,
    }
    assert all(entry.reason is AgendaReason.CARRIED_OVER for entry in rolled.values())

    third_day = MEETING_DAY + dt.timedelta(weeks=2)
    # Judged before the second meeting has happened: waited at one meeting so far. It is
    # not proposed for the third (it is on the second's agenda, which comes first), but
    # judged it says how long it has waited.
    third = schedule(store, host, chair, third_day)
    assert waiting not in propose(store, third)
    early = propose(store, third, include_listed=True)
    assert reasons_of(early[waiting])[AgendaReason.CARRIED_OVER] == "Carried 1×"
    assert early[waiting].carried_count == 1

    # Deferred at the second: rolls over again, to the third. The other is discussed.
    run_meeting(
        store,
        second,
        MEETING_DAY,
        {waiting: AgendaOutcome.DEFER, reached: AgendaOutcome.CHANGE_PLAN},
    )
    with store.read() as session:
        on_third = {entry.case_id: entry for entry in meetings.agenda(session, third)}
    assert set(on_third) == {waiting} and on_third[waiting].carried_count == 2
    assert on_third[waiting].reason_detail.startswith("Carried 2× (from 08-Dec-2026)")
    assert propose(store, third) == {}  # it is on the agenda already

    judged = propose(store, third, include_listed=True)
    assert set(judged) == {waiting}
    assert reasons_of(judged[waiting]) == {
        AgendaReason.CARRIED_OVER: "Carried 2×; Deferred, no reason given"
    }
    assert judged[waiting].carried_count == 2 and judged[waiting].suggested_minutes == 10


def test_a_case_not_reached_with_no_next_meeting_is_proposed_for_the_next_one(
    store, host, chair
) -> None:
    case_id = open_case(store, host, chair)
    discuss(store, host, chair, [case_id], day=TODAY)
    first = schedule(store, host, chair, EARLIER_DAY)
    run_meeting(store, first, EARLIER_DAY, {case_id: None})
    later = schedule(store, host, chair, MEETING_DAY)
    proposal = propose(store, later)[case_id]
    assert reasons_of(proposal) == {AgendaReason.CARRIED_OVER: "Carried 1×"}
    assert proposal.carried_count == 1


def test_a_case_discussed_since_it_waited_is_not_carried(store, host, chair) -> None:
    case_id = open_case(store, host, chair)
    first = schedule(store, host, chair, TODAY)
    run_meeting(store, first, TODAY, {case_id: None})  # not reached
    discuss(store, host, chair, [case_id], day=EARLIER_DAY)  # a meeting scheduled later
    assert case_id not in propose(store, schedule(store, host, chair, MEETING_DAY))


# -- risk review ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "days", "proposed"),
    [
        (RiskBand.VERY_HIGH, 28, True),
        (RiskBand.VERY_HIGH, 27, False),
        (RiskBand.HIGH, 56, True),
        (RiskBand.HIGH, 55, False),
        (RiskBand.HIGH, 28, False),
        (RiskBand.MEDIUM, 364, False),
        (None, 364, False),
    ],
)
@pytest.mark.slow
def test_risk_review_after_four_or_eight_weeks_undiscussed(
    store, host, chair, risk, days, proposed
) -> None:
    case_id = open_case(store, host, chair, risk=risk)
    discuss(store, host, chair, [case_id], day=TODAY)
    with store.write(chair) as session:
        cases.set_next_review(session, case_id, TODAY + dt.timedelta(days=400))
    meeting_id = schedule(store, host, chair, TODAY + dt.timedelta(days=days))
    found = propose(store, meeting_id)
    if not proposed:
        assert case_id not in found
        return
    label = "Very high" if risk is RiskBand.VERY_HIGH else "High"
    assert reasons_of(found[case_id]) == {
        AgendaReason.RISK_REVIEW: f"{label} risk, last discussed 22-Nov-2026"
    }


# -- never proposed ------------------------------------------------------------------


def test_a_person_who_has_died_is_never_proposed(store, host, chair, team) -> None:
    with_date = open_case(store, host, chair, family="Dated")
    with_event = open_case(store, host, chair, family="Evented")
    alive = open_case(store, host, chair, family="Alive")
    for case_id in (with_date, with_event, alive):
        with store.write(chair) as session:
            cases.set_escalated(session, case_id, True)
        add_action(store, case_id, team["gp"], TODAY)
    with store.write(chair) as session:
        patients.record_death(session, patient_of(store, with_date), TODAY, today=TODAY)
        # A death known only from its outcome event (e.g. synced before the date of death).
        session.add(
            OutcomeEvent(
                patient_id=patient_of(store, with_event),
                case_id=with_event,
                kind=OutcomeEventKind.DEATH,
                occurred_on=TODAY,
            )
        )
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    assert set(propose(store, meeting_id)) == {alive}
    assert set(propose(store, meeting_id, include_listed=True)) == {alive}


def test_a_closed_case_is_never_proposed(store, host, chair, team) -> None:
    closed_by_hand = open_case(store, host, chair, family="Hand")
    closed_by_mdt = open_case(store, host, chair, family="Mdt")
    with store.write(chair) as session:
        cases.set_escalated(session, closed_by_hand, True)
        cases.set_next_review(session, closed_by_hand, EARLIER_DAY)
    add_action(store, closed_by_hand, team["gp"], TODAY)
    record_event(store, closed_by_hand, OutcomeEventKind.HOSPITAL_ADMISSION, TODAY)
    with store.write(chair) as session:
        cases.close(session, closed_by_hand, reason=ClosureReason.GOALS_MET, on=TODAY)
    discuss(store, host, chair, [closed_by_mdt], outcome=AgendaOutcome.CLOSE_CASE)
    with store.read() as session:
        assert cases.load_case(session, closed_by_mdt).status is CaseStatus.CLOSED
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    assert propose(store, meeting_id, include_listed=True) == {}


def test_only_the_meetings_own_practices_are_proposed(store, practice_ids, chair) -> None:
    own = open_case(store, practice_ids["A81001"], chair, accepted=False, family="Own")
    neighbour = open_case(store, practice_ids["A81002"], chair, accepted=False, family="Next")
    elsewhere = open_case(store, practice_ids["A81004"], chair, accepted=False, family="Far")
    practice = schedule(store, practice_ids["A81001"], chair, MEETING_DAY)
    locality = schedule(
        store, practice_ids["A81001"], chair, MEETING_DAY, others=[practice_ids["A81002"]]
    )
    assert set(propose(store, practice)) == {own}
    proposed = propose(store, locality)
    assert set(proposed) == {own, neighbour}
    assert proposed[neighbour].practice_code == "A81002"
    assert elsewhere not in proposed


def test_listed_and_dismissed_cases_are_not_proposed_again(store, host, chair) -> None:
    listed = open_case(store, host, chair, accepted=False, family="Listed")
    dismissed = open_case(store, host, chair, accepted=False, family="Dismissed")
    left = open_case(store, host, chair, accepted=False, family="Left")
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    other_meeting = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    assert set(propose(store, meeting_id)) == {listed, dismissed, left}
    with store.write(chair) as session:
        meetings.add_to_agenda(session, meeting_id, listed, reason=AgendaReason.NEW_REFERRAL)
        meetings.dismiss_proposal(session, meeting_id, dismissed, reason=AgendaReason.NEW_REFERRAL)
    assert set(propose(store, meeting_id)) == {left}
    assert set(propose(store, meeting_id, include_listed=True)) == {listed, dismissed, left}
    # A dismissal is for that meeting only; the listed case waits for the earlier meeting.
    assert set(propose(store, other_meeting)) == {dismissed, left}


def test_a_case_on_an_earlier_upcoming_agenda_is_not_proposed_for_a_later_one(
    store, host, chair, practice_ids
) -> None:
    listed = open_case(store, host, chair, accepted=False, family="Listed")
    left = open_case(store, host, chair, accepted=False, family="Left")
    first = schedule(store, host, chair, MEETING_DAY)
    later = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    # a locality meeting hosted by a neighbour that covers the host practice, later still
    locality = schedule(
        store, practice_ids["A81002"], chair, MEETING_DAY + dt.timedelta(weeks=4), others=[host]
    )
    with store.write(chair) as session:
        meetings.add_to_agenda(session, later, listed, reason=AgendaReason.NEW_REFERRAL)
    # on the later meeting's agenda: still proposed for the earlier one, not for later ones
    assert set(propose(store, first)) == {listed, left}
    assert set(propose(store, locality)) == {left}
    # once that meeting is running, the same holds
    with store.write(chair) as session:
        meeting_mode.start_meeting(session, later)
    assert set(propose(store, locality)) == {left}
    # finished without reaching it: it is carried over, and proposed again
    with store.write(chair) as session:
        meeting_mode.finish_meeting(session, later)
    assert listed in propose(store, locality)
    # a dismissal on the earlier meeting does not hide it from a later one
    with store.write(chair) as session:
        meetings.dismiss_proposal(session, first, left, reason=AgendaReason.NEW_REFERRAL)
    assert left in propose(store, locality)


def test_a_case_taken_off_the_agenda_is_not_proposed_again(store, host, chair) -> None:
    case_id = open_case(store, host, chair, accepted=False)
    meeting_id = schedule(store, host, chair, MEETING_DAY)
    with store.write(chair) as session:
        item = meetings.add_to_agenda(
            session, meeting_id, case_id, reason=AgendaReason.NEW_REFERRAL
        )
        meetings.remove_from_agenda(session, item.id)
    assert propose(store, meeting_id) == {}


# -- several reasons -----------------------------------------------------------------


def test_every_reason_that_holds_is_given_and_minutes_are_the_largest_default(
    store, host, chair, team
) -> None:
    new_and_overdue = open_case(store, host, chair, family="Alpha")
    review_and_overdue = open_case(store, host, chair, family="Beta", risk=RiskBand.VERY_HIGH)
    discuss(store, host, chair, [review_and_overdue], day=TODAY)
    with store.write(chair) as session:
        cases.set_next_review(session, review_and_overdue, MEETING_DAY)
    for case_id in (new_and_overdue, review_and_overdue):
        add_action(store, case_id, team["gp"], TODAY)
        add_action(store, case_id, team["district_nurse"], EARLIER_DAY)
    record_event(store, review_and_overdue, OutcomeEventKind.AE_ATTENDANCE, EARLIER_DAY)
    meeting_id = schedule(store, host, chair, MEETING_DAY + dt.timedelta(weeks=2))
    proposed = propose(store, meeting_id)

    first = proposed[new_and_overdue]
    assert [r.reason for r in first.reasons] == [
        AgendaReason.NEW_REFERRAL,
        AgendaReason.OVERDUE_ACTIONS,
    ]
    assert first.reasons_text == "New referral 22-Nov-2026, not yet discussed; 2 overdue actions"
    assert first.suggested_minutes == 15

    second = proposed[review_and_overdue]
    assert [r.reason for r in second.reasons] == [
        AgendaReason.RECENT_ADMISSION,
        AgendaReason.REVIEW_DUE,
        AgendaReason.OVERDUE_ACTIONS,
        AgendaReason.RISK_REVIEW,
    ]
    assert second.suggested_minutes == max(
        meetings.DEFAULT_MINUTES[r.reason] for r in second.reasons
    )
    assert second.suggested_minutes == 10
    # Ordered by the leading reason: the recent admission before the new referral.
    assert list(proposed) == [review_and_overdue, new_and_overdue]


def test_a_meeting_with_no_open_cases_proposes_nothing(store, host, chair) -> None:
    assert propose(store, schedule(store, host, chair, MEETING_DAY)) == {}
