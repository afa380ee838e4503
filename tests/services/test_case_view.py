"""The case record's data: CUI banner, the case shown, and what hangs off it."""

import dataclasses
import datetime as dt

import pytest

from mdt_desk.errors import NotFoundError
from mdt_desk.models.enums import (
    AlertKind,
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    Gender,
    GoalOutcome,
    OutcomeEventKind,
    RiskBand,
)
from mdt_desk.services import cases, patients, plans
from mdt_desk.services.case_view import (
    CaseTransition,
    RecordView,
    allowed_transitions,
    load_record,
)
from tests.conftest import TODAY
from tests.services.staff_reads import add_unrelated_staff, staff_reads
from tests.services.test_case_rules import active_case, new_patient


def test_banner_is_in_cui_form(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"], nhs="9434765919")
    with store.write(team["social_worker"]) as session:
        patients.add_alert(session, patient_id, AlertKind.KEY_SAFE, "Code held by coordinator")
        patients.record_consent(session, patient_id, ConsentDecision.GIVEN, today=TODAY)
    with store.read() as session:
        view = load_record(session, patient_id, None, TODAY)
    banner = view.banner
    assert banner.display_name == "EVANS, Siân (Ms)"
    assert banner.nhs_number_text == "943 476 5919"
    assert (banner.born_text, banner.age_text) == ("02-Mar-1938", "(88y)")
    assert banner.gender_text == "Not Known"
    assert banner.phone_text == "Not Known"
    assert banner.address_text == "Not Known"
    assert not banner.deceased and banner.died_text == ""
    assert [(a.kind_text, a.detail) for a in banner.alerts] == [
        ("Key safe", "Code held by coordinator")
    ]
    assert banner.consent is not None
    assert banner.consent.decision_text == "Given"
    assert banner.consent.recorded_by == "Ngozi Okafor"
    assert view.case is None and view.title == "EVANS, Siân"
    assert {s.name for s in view.staff} == {"Seán Ó Briain", "Ngozi Okafor", "Zoë Nowak"}


def test_deceased_banner_shows_died_and_age_at_death(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    with store.write(team["gp"]) as session:
        patients.record_death(session, patient_id, dt.date(2026, 1, 10), TODAY)
    with store.read() as session:
        banner = load_record(session, patient_id, None, TODAY).banner
    assert banner.deceased
    assert banner.died_text == "10-Jan-2026"
    assert banner.age_at_death_text == "87y"
    assert banner.age_text == ""  # no current age for a person who has died


def test_open_case_is_shown_with_everything_hanging_off_it(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        patients.set_risk_band(session, patient_id, RiskBand.HIGH)
        patients.add_condition(session, patient_id, "COPD", dt.date(2019, 5, 1))
        cases.set_next_review(session, case_id, TODAY - dt.timedelta(days=3))
        cases.change_coordinator(
            session,
            case_id,
            coordinator_id=team["district_nurse"],
            reason="Nursing needs now lead",
            on=TODAY,
        )
        plans.add_care_team_member(
            session, case_id, role="Daughter and carer", name="Mary Evans", joined_on=TODAY
        )
        goal_id = plans.add_goal(session, case_id, description="Walk to the shop", target_on=TODAY)
        plans.set_goal_outcome(session, goal_id, GoalOutcome.PARTLY_ACHIEVED)
        first = plans.add_note(session, case_id, "Visited; lives alone.")
        plans.add_note(session, case_id, "Lives with her son.", amends_note_id=first.id)
        plans.record_outcome_event(
            session,
            patient_id,
            kind=OutcomeEventKind.AE_ATTENDANCE,
            occurred_on=TODAY,
            source="QEQM",
            today=TODAY,
        )
    with store.read() as session:
        view = load_record(session, patient_id, None, TODAY)
    case = view.case
    assert case is not None and case.id == case_id
    assert case.status is CaseStatus.ACTIVE
    assert case.transitions == (CaseTransition.START_REVIEW, CaseTransition.CLOSE)
    assert case.referral_source_text == "Hospital"
    assert case.next_review_text == "19-Nov-2026" and case.review_overdue
    assert view.risk_band_text == "High"
    assert [(c.name, c.diagnosed_text) for c in view.conditions] == [("COPD", "01-May-2019")]
    assert case.coordinator is not None and case.coordinator.name == "Zoë Nowak"
    assert [(c.name, c.ended_text, c.reason) for c in case.coordinator_history] == [
        ("Ngozi Okafor", "22-Nov-2026", "Case accepted"),
        ("Zoë Nowak", "", "Nursing needs now lead"),
    ]
    assert [(m.name, m.role) for m in case.care_team] == [("Mary Evans", "Daughter and carer")]
    assert [(g.description, g.target_text, g.outcome_text) for g in case.goals] == [
        ("Walk to the shop", "22-Nov-2026", "Partly achieved")
    ]
    original, correction = case.notes
    assert original.body == "Visited; lives alone." and original.corrected_by == (correction.id,)
    assert correction.amends_note_id == original.id
    assert correction.corrects_text.startswith("Corrects the note of")
    assert correction.author_name == "Ngozi Okafor"
    assert [(e.kind_text, e.occurred_text, e.source) for e in view.outcome_events] == [
        ("A&E attendance", "22-Nov-2026", "QEQM")
    ]


def test_latest_case_is_shown_when_none_is_open(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        cases.close(session, case_id, reason=ClosureReason.GOALS_MET, on=TODAY)
    with store.read() as session:
        view = load_record(session, patient_id, None, TODAY)
    assert view.case is not None and view.case.id == case_id
    assert view.case.transitions == (CaseTransition.REOPEN,)
    assert view.case.closure_reason_text == "Goals met"
    assert not view.case.review_overdue


def test_transitions_offered_match_the_status() -> None:
    assert allowed_transitions(CaseStatus.REFERRED) == (CaseTransition.ACCEPT, CaseTransition.CLOSE)
    assert allowed_transitions(CaseStatus.UNDER_REVIEW) == (
        CaseTransition.FINISH_REVIEW,
        CaseTransition.CLOSE,
    )
    assert allowed_transitions(CaseStatus.CLOSED) == (CaseTransition.REOPEN,)
    assert allowed_transitions(CaseStatus.CLOSED, deceased=True) == ()


def test_an_unknown_person_or_someone_elses_case_is_not_found(store, practice_ids, team) -> None:
    first = new_patient(store, practice_ids["A81001"])
    second = new_patient(store, practice_ids["A81001"], nhs="9990000026")
    case_id = active_case(store, first, team["social_worker"])
    with store.read() as session, pytest.raises(NotFoundError):
        load_record(session, second, case_id, TODAY)


def test_a_childs_age_uses_the_cui_bands(store, practice_ids, team) -> None:
    with store.write(team["gp"]) as session:
        child = patients.register_patient(
            session,
            nhs_number="9990000034",
            family_name="Lee",
            given_name="Ann",
            gender=Gender.FEMALE,
            date_of_birth=dt.date(2024, 10, 1),
            practice_id=practice_ids["A81001"],
            today=TODAY,
        )
    with store.read() as session:
        banner = load_record(session, child.id, None, TODAY).banner
    assert (banner.born_text, banner.age_text, banner.gender_text) == (
        "01-Oct-2024",
        "(2y 1m)",
        "Female",
    )


def test_the_record_reads_only_the_staff_it_names_unless_the_pickers_are_wanted(
    store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        patients.record_consent(session, patient_id, ConsentDecision.GIVEN, today=TODAY)
        plans.add_care_team_member(session, case_id, role="District nurse", staff_id=team["gp"])
        plans.add_note(session, case_id, "Visited; lives alone.")

    def read() -> tuple[RecordView, RecordView, int]:
        with store.read() as session:
            with staff_reads() as reads:
                lean = load_record(session, patient_id, None, TODAY, with_staff_choices=False)
            rows = reads.rows(session)
            return lean, load_record(session, patient_id, None, TODAY), rows

    lean, full, rows = read()
    add_unrelated_staff(store, 60)
    lean_now, full_now, rows_now = read()
    # The same record, names included, from the same staff rows: none of the 60 is read.
    assert lean_now == lean and rows_now == rows
    assert lean.case is not None and lean.banner.consent is not None
    assert lean.banner.consent.recorded_by == "Ngozi Okafor"
    assert [m.name for m in lean.case.care_team] == ["Seán Ó Briain"]
    assert [n.author_name for n in lean.case.notes] == ["Ngozi Okafor"]
    assert lean.staff == ()
    # The screen's pickers still offer the whole team, the 60 newcomers too.
    assert dataclasses.replace(full_now, staff=()) == lean_now
    assert len(full_now.staff) == len(full.staff) + 60
    assert sum(not c.covers_practice for c in full_now.staff) == 60
