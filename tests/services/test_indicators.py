"""Every indicator's definition against a store built by hand, where each answer is known.

The period is 1 June to 31 August 2026. The people of practice A81001 (locality 00K),
and why each is there:

==== =============================================================================
ann  c1 referred 1 Jun (first day) and closed 10 Jul; reopened as c2 on 31 Aug (last
     day). Admitted 1 Jun (out 5 Jun), 4 Jul (29 days later: a readmission; out 8 Jul),
     7 Aug (30 days after 8 Jul: not one); a retired admission on 1 Jul. Also a
     recorded ``readmission_30_days`` event (ignored: she has discharge dates). A
     temporary care home stay. Survey answers.
bob  c3 referred 31 May (the day before), review due 30 Aug (overdue at the end).
     Admitted 31 Aug (last day) with no discharge date anywhere, so his recorded
     ``readmission_30_days`` event counts. First permanent care home admission 1 Jul,
     then a transfer to nursing care 1 Aug. 7 delayed days on 15 Jun.
cat  c4 closed 31 May: not on the caseload, so her admission on 10 Jun does not count.
dan  died 1 Jun; c5 closed that day (on the caseload). A&E on 1 Jun; a retired admission.
eve  referred 1 Sep (the day after).
fay  a retired person with a case and an admission in the period: nowhere.
gus  a retired case referred in the period: nowhere.
hal  c8 referred and not accepted on 31 Aug; a care home transfer (first one in 2025).
kay  81, discharged 2 Mar, reablement that day: 91st day 1 Jun, at home.
len  82, discharged 1 Jun, reablement 15 Jun (14 days): 91st day 31 Aug, in hospital
     again since 20 Aug (an admission in the period, not a readmission: 80 days).
mo   56: reablement after a discharge, too young for the measure.
ned  rehabilitation 15 days after the discharge: not "after a discharge".
pat  reablement after a discharge, died before the 91st day (c13 closed before the
     period).
quin discharged to residential care, reablement the next day: not at home.
==== =============================================================================

jon is registered with A81002 (also 00K) and ivy with A81004 (00M).
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select

from mdt_desk.models import (
    Action,
    AgendaItem,
    Attendance,
    Case,
    ExperienceResponse,
    Goal,
    Intervention,
    Meeting,
    OutcomeEvent,
    Patient,
    PracticeListSize,
)
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    AttendanceStatus,
    CaseStatus,
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    GoalOutcome,
    InterventionKind,
    MeetingStatus,
    OutcomeEventKind,
    ReferralSource,
    SurveyMethod,
)
from mdt_desk.models.store import Store
from mdt_desk.services import indicators
from mdt_desk.services.indicators import (
    INDICATORS,
    IndicatorInputError,
    IndicatorKind,
    IndicatorResult,
    Period,
    SharedFigure,
    cases_behind,
    compute_panel,
    locality_scope,
    practice_scope,
    practices_compared,
    shared_figure,
)

LONDON = ZoneInfo("Europe/London")
PERIOD = Period(dt.date(2026, 6, 1), dt.date(2026, 8, 31))
FAR = dt.date(2027, 6, 1)
D = dt.date
BORN = D(1940, 1, 1)


@dataclass
class HandStore:
    """Ids of the hand-built store's records, by the names in the module docstring."""

    people: dict[str, uuid.UUID] = field(default_factory=dict)
    cases: dict[str, uuid.UUID] = field(default_factory=dict)


class Builder:
    def __init__(self, session, practice_ids: dict[str, uuid.UUID], built: HandStore) -> None:
        self.session = session
        self.practices = practice_ids
        self.built = built
        self._nhs = 9990000000

    def person(
        self,
        name: str,
        born: dt.date = BORN,
        practice: str = "A81001",
        died: dt.date | None = None,
        retired: bool = False,
    ) -> uuid.UUID:
        self._nhs += 1
        patient = Patient(
            id=uuid.uuid4(),
            nhs_number=str(self._nhs),
            family_name=name.upper(),
            given_name=name.capitalize(),
            date_of_birth=born,
            date_of_death=died,
            practice_id=self.practices[practice],
            retired_at=utc_now() if retired else None,
        )
        self.session.add(patient)
        self.built.people[name] = patient.id
        return patient.id

    def case(
        self,
        name: str,
        person: str,
        referred: dt.date,
        closed: dt.date | None = None,
        reason: ClosureReason | None = None,
        review: dt.date | None = FAR,
        retired: bool = False,
    ) -> uuid.UUID:
        case = Case(
            id=uuid.uuid4(),
            patient_id=self.built.people[person],
            status=CaseStatus.CLOSED if closed else CaseStatus.ACTIVE,
            referral_source=ReferralSource.GP,
            referral_reason="Frailty",
            referred_on=referred,
            closed_on=closed,
            closure_reason=reason or (ClosureReason.GOALS_MET if closed else None),
            next_review_on=None if closed else review,
            retired_at=utc_now() if retired else None,
        )
        self.session.add(case)
        self.built.cases[name] = case.id
        return case.id

    def event(
        self,
        person: str,
        kind: OutcomeEventKind,
        on: dt.date,
        *,
        out: dt.date | None = None,
        to: DischargeDestination | None = None,
        permanent: bool = False,
        delayed: int | None = None,
        retired: bool = False,
    ) -> None:
        self.session.add(
            OutcomeEvent(
                patient_id=self.built.people[person],
                kind=kind,
                occurred_on=on,
                discharged_on=out,
                discharge_destination=to,
                permanent=permanent,
                delayed_days=delayed,
                retired_at=utc_now() if retired else None,
            )
        )

    def intervention(
        self,
        case: str,
        kind: InterventionKind,
        started: dt.date,
        ended: dt.date | None = None,
    ) -> None:
        self.session.add(
            Intervention(
                case_id=self.built.cases[case],
                kind=kind,
                started_on=started,
                planned_end_on=started + dt.timedelta(days=42),
                ended_on=ended,
            )
        )

    def answer(
        self,
        person: str,
        statement: ExperienceStatement,
        agreement: int,
        on: dt.date,
        retired: bool = False,
    ) -> None:
        self.session.add(
            ExperienceResponse(
                patient_id=self.built.people[person],
                case_id=None,
                statement=statement,
                agreement=agreement,
                answered_on=on,
                collected_how=SurveyMethod.PHONE,
                by_proxy=False,
                retired_at=utc_now() if retired else None,
            )
        )

    def meeting(
        self,
        at: dt.datetime,
        present: dict[uuid.UUID, AttendanceStatus],
        discussed: dict[str, AgendaOutcome] | None = None,
        status: MeetingStatus = MeetingStatus.FINISHED,
    ) -> uuid.UUID:
        meeting = Meeting(
            id=uuid.uuid4(),
            practice_id=self.practices["A81001"],
            starts_at=at.astimezone(dt.UTC),
            status=status,
        )
        self.session.add(meeting)
        self.session.flush()  # no relationships here to order the inserts
        for staff_id, attendance in present.items():
            self.session.add(
                Attendance(meeting_id=meeting.id, staff_id=staff_id, status=attendance)
            )
        for case, outcome in (discussed or {}).items():
            self.session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    case_id=self.built.cases[case],
                    reason=AgendaReason.NEW_REFERRAL,
                    outcome=outcome,
                    discussed_at=at.astimezone(dt.UTC),
                )
            )
        return meeting.id


ADMISSION = OutcomeEventKind.HOSPITAL_ADMISSION
HOME = DischargeDestination.USUAL_RESIDENCE


def build(
    store: Store, practice_ids: dict[str, uuid.UUID], team: dict[str, uuid.UUID]
) -> HandStore:
    built = HandStore()
    with store.write(actor_label="test") as session:
        b = Builder(session, practice_ids, built)
        for name, born, kwargs in (
            ("ann", D(1940, 1, 1), {}),
            ("bob", D(1950, 5, 5), {}),
            ("cat", D(1940, 1, 1), {}),
            ("dan", D(1935, 1, 1), {"died": D(2026, 6, 1)}),
            ("eve", D(1940, 1, 1), {}),
            ("fay", D(1940, 1, 1), {"retired": True}),
            ("gus", D(1940, 1, 1), {}),
            ("hal", D(1940, 1, 1), {}),
            ("ivy", D(1940, 1, 1), {"practice": "A81004"}),
            ("jon", D(1940, 1, 1), {"practice": "A81002"}),
            ("kay", D(1945, 1, 1), {}),
            ("len", D(1944, 1, 1), {}),
            ("mo", D(1970, 1, 1), {}),
            ("ned", D(1940, 1, 1), {}),
            ("pat", D(1938, 1, 1), {"died": D(2026, 5, 15)}),
            ("quin", D(1939, 1, 1), {}),
        ):
            b.person(name, born, **kwargs)
        session.flush()
        b.case("c1", "ann", D(2026, 6, 1), closed=D(2026, 7, 10))
        b.case("c2", "ann", D(2026, 8, 31))
        b.case("c3", "bob", D(2026, 5, 31), review=D(2026, 8, 30))
        b.case("c4", "cat", D(2026, 3, 1), closed=D(2026, 5, 31))
        b.case("c5", "dan", D(2026, 4, 1), closed=D(2026, 6, 1), reason=ClosureReason.DIED)
        b.case("c6", "eve", D(2026, 9, 1))
        b.case("cf", "fay", D(2026, 6, 15))
        b.case("c7", "gus", D(2026, 6, 20), retired=True)
        b.case(
            "c8", "hal", D(2026, 8, 31), closed=D(2026, 8, 31), reason=ClosureReason.NOT_ACCEPTED
        )
        b.case("ci", "ivy", D(2026, 6, 5))
        b.case("cj", "jon", D(2026, 7, 1))
        b.case("c9", "kay", D(2026, 2, 1), review=D(2026, 8, 31))  # due on the last day
        b.case("c10", "len", D(2026, 2, 1))
        b.case("c11", "mo", D(2026, 2, 1))
        b.case("c12", "ned", D(2026, 2, 1))
        b.case("c13", "pat", D(2026, 2, 1), closed=D(2026, 5, 1))
        b.case("c14", "quin", D(2026, 2, 1))
        session.flush()

        # ann: admissions, a readmission at 29 days and not at 30.
        b.event("ann", ADMISSION, D(2026, 6, 1), out=D(2026, 6, 5), to=HOME)
        b.event("ann", ADMISSION, D(2026, 7, 4), out=D(2026, 7, 8), to=HOME)
        b.event("ann", ADMISSION, D(2026, 8, 7), out=D(2026, 8, 10), to=HOME)
        b.event("ann", ADMISSION, D(2026, 7, 1), out=D(2026, 7, 2), retired=True)
        b.event("ann", OutcomeEventKind.READMISSION_30_DAYS, D(2026, 7, 4))
        b.event("ann", OutcomeEventKind.AE_ATTENDANCE, D(2026, 9, 1))
        b.event("ann", OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION, D(2026, 6, 20))
        # bob: no discharge dates, so his recorded readmission counts.
        b.event("bob", ADMISSION, D(2026, 8, 31))
        b.event("bob", ADMISSION, D(2026, 5, 31))
        b.event("bob", OutcomeEventKind.READMISSION_30_DAYS, D(2026, 8, 31))
        b.event("bob", OutcomeEventKind.DELAYED_TRANSFER_OF_CARE, D(2026, 6, 15), delayed=7)
        residential = OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION
        nursing = OutcomeEventKind.NURSING_CARE_ADMISSION
        b.event("bob", residential, D(2026, 7, 1), permanent=True)
        b.event("bob", nursing, D(2026, 8, 1), permanent=True)
        b.event("cat", ADMISSION, D(2026, 6, 10))
        b.event("dan", OutcomeEventKind.AE_ATTENDANCE, D(2026, 6, 1))
        b.event("dan", ADMISSION, D(2026, 6, 1), retired=True)
        b.event("dan", OutcomeEventKind.DEATH, D(2026, 6, 1))
        b.event("dan", OutcomeEventKind.DELAYED_TRANSFER_OF_CARE, D(2026, 5, 31), delayed=3)
        b.event("fay", ADMISSION, D(2026, 6, 16))
        b.event("gus", ADMISSION, D(2026, 6, 21))
        b.event("hal", residential, D(2025, 1, 1), permanent=True)
        b.event("hal", nursing, D(2026, 6, 10), permanent=True)
        b.event("jon", ADMISSION, D(2026, 7, 2))

        # Reablement after a discharge (ASCOF 2B(1)).
        reablement, rehabilitation = InterventionKind.REABLEMENT, InterventionKind.REHABILITATION
        b.event("kay", ADMISSION, D(2026, 2, 20), out=D(2026, 3, 2), to=HOME)
        b.intervention("c9", reablement, D(2026, 3, 2), D(2026, 4, 13))
        b.event("len", ADMISSION, D(2026, 5, 20), out=D(2026, 6, 1), to=HOME)
        b.intervention("c10", rehabilitation, D(2026, 6, 15))
        b.event("len", ADMISSION, D(2026, 8, 20))
        b.event("mo", ADMISSION, D(2026, 3, 1), out=D(2026, 3, 10), to=HOME)
        b.intervention("c11", reablement, D(2026, 3, 11))
        b.event("ned", ADMISSION, D(2026, 3, 1), out=D(2026, 3, 5), to=HOME)
        b.intervention("c12", rehabilitation, D(2026, 3, 20))
        b.event("pat", ADMISSION, D(2026, 3, 1), out=D(2026, 3, 10), to=HOME)
        b.intervention("c13", reablement, D(2026, 3, 10))
        b.event(
            "quin",
            ADMISSION,
            D(2026, 3, 1),
            out=D(2026, 3, 15),
            to=DischargeDestination.RESIDENTIAL_CARE,
        )
        b.intervention("c14", reablement, D(2026, 3, 16))

        # Interventions ended in the period: 42 days (within six weeks) and 43.
        b.intervention("c3", InterventionKind.TELECARE, D(2026, 5, 1), D(2026, 6, 12))
        b.intervention("c3", InterventionKind.SITTING_SERVICE, D(2026, 5, 1), D(2026, 6, 13))
        b.intervention("c2", InterventionKind.TELECARE, D(2026, 8, 31), D(2026, 9, 1))

        # Goals of cases closed in the period (c1, c5); a retired one.
        for case, outcome, retired in (
            ("c1", GoalOutcome.ACHIEVED, False),
            ("c1", GoalOutcome.NOT_ACHIEVED, False),
            ("c1", GoalOutcome.PARTLY_ACHIEVED, False),
            ("c1", GoalOutcome.ACHIEVED, True),
            ("c5", GoalOutcome.NO_LONGER_RELEVANT, False),
            ("c4", GoalOutcome.ACHIEVED, False),  # closed before the period
        ):
            session.add(
                Goal(
                    case_id=built.cases[case],
                    description="Walk to the shop",
                    outcome=outcome,
                    retired_at=utc_now() if retired else None,
                )
            )

        # Actions: done on time (first day), done late (last day), done before the
        # period, cancelled, open, retired.
        for status, due, done, retired in (
            (ActionStatus.DONE, D(2026, 6, 1), D(2026, 6, 1), False),
            (ActionStatus.DONE, D(2026, 8, 30), D(2026, 8, 31), False),
            (ActionStatus.DONE, D(2026, 5, 31), D(2026, 5, 31), False),
            (ActionStatus.CANCELLED, D(2026, 7, 1), None, False),
            (ActionStatus.OPEN, D(2026, 7, 1), None, False),
            (ActionStatus.DONE, D(2026, 7, 1), D(2026, 7, 1), True),
        ):
            session.add(
                Action(
                    case_id=built.cases["c3"],
                    description="Call the family",
                    owner_id=team["social_worker"],
                    due_on=due,
                    status=status,
                    completed_on=done,
                    retired_at=utc_now() if retired else None,
                )
            )

        # Meetings: quorate on 9 Jun (c1 discussed, 8 days after referral); not quorate at
        # 00:30 on 1 Jun London time (31 May in UTC: still in the period); c2 deferred on
        # 1 Sep, then discussed on 11 Sep (11 days); a cancelled meeting in the period.
        present, deputy = AttendanceStatus.PRESENT, AttendanceStatus.DEPUTY
        everyone = {team["gp"]: present, team["district_nurse"]: present}
        everyone[team["social_worker"]] = deputy
        b.meeting(
            dt.datetime(2026, 6, 9, 13, 0, tzinfo=LONDON),
            everyone,
            {"c1": AgendaOutcome.CONTINUE_PLAN},
        )
        b.meeting(
            dt.datetime(2026, 6, 1, 0, 30, tzinfo=LONDON),
            {
                team["gp"]: present,
                team["social_worker"]: present,
                team["district_nurse"]: AttendanceStatus.APOLOGIES,
            },
        )
        b.meeting(
            dt.datetime(2026, 9, 1, 13, 0, tzinfo=LONDON), everyone, {"c2": AgendaOutcome.DEFER}
        )
        b.meeting(
            dt.datetime(2026, 9, 11, 13, 0, tzinfo=LONDON),
            everyone,
            {"c2": AgendaOutcome.CHANGE_PLAN},
        )
        b.meeting(
            dt.datetime(2026, 7, 1, 13, 0, tzinfo=LONDON), everyone, status=MeetingStatus.CANCELLED
        )

        # The experience survey.
        me, story = (
            ExperienceStatement.COMMUNICATED_WITH_ME,
            ExperienceStatement.DID_NOT_REPEAT_STORY,
        )
        b.answer("ann", me, 5, D(2026, 6, 1))
        b.answer("ann", me, 4, D(2026, 8, 31))
        b.answer("ann", me, 3, D(2026, 7, 1))
        b.answer("ann", me, 1, D(2026, 9, 1))
        b.answer("ann", me, 5, D(2026, 7, 1), retired=True)
        b.answer("ann", story, 2, D(2026, 6, 15))
        b.answer("fay", me, 5, D(2026, 7, 1))

        # List sizes: the latest extract of A81001 has 250 people aged 65+.
        for extract, band, count in (
            (D(2026, 10, 1), "60-64", 500),
            (D(2026, 10, 1), "65-69", 100),
            (D(2026, 10, 1), "70-74", 100),
            (D(2026, 10, 1), "90+", 50),
            (D(2026, 1, 1), "65-69", 9999),
        ):
            session.add(
                PracticeListSize(
                    practice_id=practice_ids["A81001"],
                    extract_date=extract,
                    age_band=band,
                    sex="all",
                    patients=count,
                )
            )
    return built


@pytest.fixture
def hand(store: Store, practice_ids: dict[str, uuid.UUID], team: dict[str, uuid.UUID]) -> HandStore:
    return build(store, practice_ids, team)


def count(value: int) -> IndicatorResult:
    return IndicatorResult(value, None, None)


def ratio(numerator: int, denominator: int | None, scale: int = 100) -> IndicatorResult:
    value = numerator * scale / denominator if denominator else None
    return IndicatorResult(value, numerator, denominator)


#: The answer for practice A81001 in PERIOD, worked out by hand from the docstring.
EXPECTED = {
    "referrals": count(3),  # c1, c2, c8
    "open_cases_at_end": count(7),  # c2, c3, c9, c10, c11, c12, c14
    "people_on_caseload": count(9),  # ann bob dan hal kay len mo ned quin
    "admissions": count(5),  # ann ×3, bob, len
    "admissions_per_100": ratio(5, 9),
    "ae_attendances_per_100": ratio(1, 9),  # dan
    "readmissions_30d": count(2),  # ann 4 Jul; bob's recorded one
    "dtoc_delayed_days": count(7),
    "median_days_to_first_mdt": IndicatorResult(9.5, None, 2),  # c1 8 days, c2 11
    "not_yet_discussed": count(1),  # c8
    "reviews_overdue_at_end": count(1),  # c3 (c9 is due on the last day)
    "actions_done_on_time": ratio(1, 2),
    "interventions_within_6_weeks": ratio(1, 2),
    "goals_met_at_closure": ratio(2, 4),
    "meetings_quorate": ratio(1, 2),
    "not_accepted": count(1),
    "care_home_admissions_permanent": count(1),  # bob
    "at_home_91_days_after_reablement": ratio(1, 4),  # kay of kay, len, pat, quin
    "experience_communicated_with_me": ratio(2, 3),
    "experience_communicated_with_each_other": ratio(0, 0),
    "experience_well_coordinated": ratio(0, 0),
    "experience_right_professionals": ratio(0, 0),
    "experience_did_not_repeat_story": ratio(0, 1),
    "admissions_per_1000_registered_65_plus": ratio(5, 250, 1000),
    "ae_attendances_per_1000_registered_65_plus": ratio(1, 250, 1000),
    "care_home_admissions_permanent_per_1000_registered_65_plus": ratio(1, 250, 1000),
}


def test_every_indicator_of_the_issue_is_registered_once() -> None:
    ids = [each.id for each in INDICATORS]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(EXPECTED)
    for each in INDICATORS:
        assert indicators.indicator(each.id).function is each.compute
        words = each.definition
        assert "Mirrors" in words, each.id  # the national measure, or that there is none


def test_each_indicator_gives_its_known_answer(store: Store, hand: HandStore) -> None:
    with store.read() as session:
        panel = compute_panel(session, practice_scope(session, "a81001"), PERIOD)
    assert list(panel) == [each.id for each in INDICATORS]
    wrong = {
        key: (panel[key], expected) for key, expected in EXPECTED.items() if panel[key] != expected
    }
    assert wrong == {}


def test_the_panel_is_each_function_alone(store: Store, hand: HandStore) -> None:
    """The panel reads shared figures once; each answer is still its function's own."""
    with store.read() as session:
        for scope in (practice_scope(session, "A81001"), locality_scope(session, "00K")):
            panel = compute_panel(session, scope, PERIOD)
            alone = {each.id: each.compute(session, scope, PERIOD) for each in INDICATORS}
            assert panel == alone


def test_a_locality_counts_its_practices_only(store: Store, hand: HandStore) -> None:
    with store.read() as session:
        locality = locality_scope(session, "00k")
        panel = compute_panel(session, locality, PERIOD)
        compared = practices_compared(session, "00K", PERIOD, "admissions")
    assert panel["referrals"] == count(4)  # + jon's (A81002), not ivy's (A81004, 00M)
    assert panel["open_cases_at_end"] == count(8)  # + jon's
    assert panel["admissions"] == count(6)  # + jon's
    # A81002 has no list sizes, so the locality has no population rate.
    assert panel["admissions_per_1000_registered_65_plus"] == IndicatorResult(None, 6, None)
    assert [(scope.code, result) for scope, result in compared] == [
        ("A81001", count(5)),
        ("A81002", count(1)),
    ]


def test_the_cases_behind_a_number(store: Store, hand: HandStore) -> None:
    c = hand.cases
    with store.read() as session:
        scope = practice_scope(session, "A81001")

        def behind(key: str) -> set[uuid.UUID]:
            found = cases_behind(session, scope, PERIOD, key)
            assert found == sorted(found)
            return set(found)

        assert behind("referrals") == {c["c1"], c["c2"], c["c8"]}
        assert behind("open_cases_at_end") == {
            c[k] for k in ["c2", "c3", "c9", "c10", "c11", "c12", "c14"]
        }
        assert behind("not_yet_discussed") == {c["c8"]}
        assert behind("median_days_to_first_mdt") == {c["c1"], c["c2"]}
        assert behind("reviews_overdue_at_end") == {c["c3"]}
        assert behind("not_accepted") == {c["c8"]}
        # people-based: the people's cases open in the period
        assert behind("admissions") == {c["c1"], c["c2"], c["c3"], c["c10"]}
        assert behind("readmissions_30d") == {c["c1"], c["c2"], c["c3"]}
        assert behind("care_home_admissions_permanent") == {c["c3"]}
        assert behind("at_home_91_days_after_reablement") == {c["c9"]}
        assert behind("actions_done_on_time") == {c["c3"]}
        assert behind("goals_met_at_closure") == {c["c1"]}
        assert behind("meetings_quorate") == {c["c1"]}
        assert behind("experience_communicated_with_me") == {c["c1"], c["c2"]}
        assert behind("experience_did_not_repeat_story") == set()
        for each in INDICATORS:
            behind(each.id)  # every id has a way to its cases
        with pytest.raises(IndicatorInputError, match="no indicator"):
            cases_behind(session, scope, PERIOD, "happiness")


def test_unknown_scopes_and_backward_periods_are_user_errors(store: Store, hand: HandStore) -> None:
    with store.read() as session:
        with pytest.raises(IndicatorInputError, match="no practice Z99999"):
            practice_scope(session, "z99999")
        with pytest.raises(IndicatorInputError, match="locality 99Z"):
            locality_scope(session, "99z")
    with pytest.raises(IndicatorInputError, match="starts"):
        Period(D(2026, 2, 1), D(2026, 1, 31))


def test_last_months_ends_today_and_clamps_short_months() -> None:
    assert Period.last_months(3, D(2026, 12, 6)) == Period(D(2026, 9, 7), D(2026, 12, 6))
    assert Period.last_months(1, D(2026, 3, 31)) == Period(D(2026, 3, 1), D(2026, 3, 31))
    assert Period.last_months(12, D(2026, 2, 28)) == Period(D(2025, 3, 1), D(2026, 2, 28))
    with pytest.raises(IndicatorInputError):
        Period.last_months(0, D(2026, 1, 1))


def test_a_monthly_trend_adds_up_for_counts(store: Store, hand: HandStore) -> None:
    with store.read() as session:
        scope = practice_scope(session, "A81001")
        trend = indicators.monthly_trend(session, scope, "referrals", D(2026, 8, 31), months=3)
    assert [period.start for period, _ in trend] == [D(2026, 6, 1), D(2026, 7, 1), D(2026, 8, 1)]
    assert sum(int(result.value or 0) for _, result in trend) == 3


# -- Properties of the result shapes and of suppression --------------------------------------

counts = st.integers(min_value=0, max_value=10_000)


@given(numerator=counts, denominator=counts)
def test_a_rate_is_numerator_times_100_over_denominator(numerator: int, denominator: int) -> None:
    result = IndicatorResult.rate_per_100(numerator, denominator)
    assert (result.numerator, result.denominator) == (numerator, denominator)
    if denominator == 0:
        assert result.value is None
    else:
        assert result.value == pytest.approx(numerator * 100 / denominator)


@given(numerator=counts, denominator=counts | st.none())
def test_a_population_rate_is_per_1000_and_null_without_a_population(
    numerator: int, denominator: int | None
) -> None:
    result = IndicatorResult.rate_per_1000(numerator, denominator)
    if not denominator:
        assert result.value is None
    else:
        assert result.value == pytest.approx(numerator * 1000 / denominator)


def _small(number: int | None) -> bool:
    return number is not None and 1 <= number <= 4


@given(
    kind=st.sampled_from(list(IndicatorKind)),
    numerator=counts | st.none(),
    denominator=counts | st.none(),
    value=counts,
)
def test_no_shared_figure_shows_a_count_from_1_to_4(
    kind: IndicatorKind, numerator: int | None, denominator: int | None, value: int
) -> None:
    if kind is IndicatorKind.COUNT:
        result = IndicatorResult(value, None, None)
    else:
        shown_value = None if not denominator else (numerator or 0) * 100 / denominator
        result = IndicatorResult(shown_value, numerator, denominator)
    shown: SharedFigure = shared_figure(kind, result)
    texts = (shown.value, shown.numerator, shown.denominator)
    assert not any(text.strip() in {"1", "2", "3", "4"} for text in texts)
    if kind is IndicatorKind.COUNT:
        assert shown.suppressed == _small(value)
        assert (shown.value == "<5") == _small(value)
    else:
        small = _small(numerator) or _small(denominator)
        assert shown.suppressed == small
        assert (shown.value == "withheld") == small
        for exact, text in ((numerator, shown.numerator), (denominator, shown.denominator)):
            expected = "" if exact is None else ("<5" if _small(exact) else str(exact))
            assert text == expected


_AGE_ENGINE = create_engine("sqlite://")


@given(born=st.dates(D(1900, 1, 1), D(2020, 12, 31)), on=st.dates(D(2020, 1, 1), D(2030, 12, 31)))
def test_the_sql_age_is_the_age_shown_on_screen(born: dt.date, on: dt.date) -> None:
    """The population rates' "aged 65 or over on the day" (leap days included)."""
    from mdt_desk.services.display import age_on

    with _AGE_ENGINE.connect() as connection:
        sql_age = connection.execute(
            select(indicators._age_on(literal(born.isoformat()), literal(on.isoformat())))
        ).scalar_one()
    assert sql_age == age_on(born, on)
