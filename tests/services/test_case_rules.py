"""The domain rules users rely on, enforced with messages a person can act on."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text

from mdt_desk.errors import RuleError, ValidationError
from mdt_desk.models import CoordinatorAssignment, Patient
from mdt_desk.models.enums import (
    ActionStatus,
    CaseStatus,
    ClosureReason,
    OutcomeEventKind,
    ReferralSource,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans
from tests.conftest import TODAY


def new_patient(store: Store, practice_id: uuid.UUID, nhs: str = "9990000018") -> uuid.UUID:
    with store.write(actor_label="test") as session:
        return patients.register_patient(
            session,
            nhs_number=nhs,
            family_name="Evans",
            given_name="Siân",
            title="Ms",
            date_of_birth=dt.date(1938, 3, 2),
            practice_id=practice_id,
            today=TODAY,
        ).id


def active_case(store: Store, patient_id: uuid.UUID, coordinator: uuid.UUID) -> uuid.UUID:
    with store.write(coordinator) as session:
        case = cases.refer(
            session,
            patient_id,
            source=ReferralSource.HOSPITAL,
            reason="Two falls this month",
            referred_on=TODAY,
            today=TODAY,
        )
        cases.accept(session, case.id, coordinator_id=coordinator, on=TODAY)
    return case.id


def current_coordinators(store: Store, case_id: uuid.UUID) -> int:
    with store.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(CoordinatorAssignment)
                .where(
                    CoordinatorAssignment.case_id == case_id,
                    CoordinatorAssignment.ended_on.is_(None),
                )
            )
            or 0
        )


def test_registration_reports_every_wrong_field_and_writes_nothing(store, practice_ids) -> None:
    with pytest.raises(ValidationError) as caught, store.write() as session:
        patients.register_patient(
            session,
            nhs_number="9434765918",
            family_name=" ",
            given_name="Jane",
            date_of_birth=dt.date(2030, 1, 1),
            practice_id=None,
            today=TODAY,
        )
    assert set(caught.value.field_errors) == {
        "nhs_number",
        "family_name",
        "date_of_birth",
        "practice",
    }
    assert "check digit" in caught.value.field_errors["nhs_number"]
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_an_nhs_number_is_registered_once(store, practice_ids) -> None:
    new_patient(store, practice_ids["A81001"], "943 476 5919")
    with (
        pytest.raises(ValidationError, match="already registered to EVANS, Siân, born 02-Mar-1938"),
        store.write() as session,
    ):
        patients.register_patient(
            session,
            nhs_number="9434765919",
            family_name="Other",
            given_name="Person",
            date_of_birth=dt.date(1950, 1, 1),
            practice_id=practice_ids["A81002"],
            today=TODAY,
        )


def test_a_person_has_at_most_one_open_case(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    with (
        pytest.raises(
            RuleError, match="already has an open case \\(active, referred 22-Nov-2026\\)"
        ),
        store.write() as session,
    ):
        cases.refer(session, patient_id, source=ReferralSource.GP, reason="Again", today=TODAY)


def test_an_active_case_has_exactly_one_coordinator_through_its_life(
    store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    with store.write() as session:
        case = cases.refer(
            session,
            patient_id,
            source=ReferralSource.GP,
            reason="Frailty",
            referred_on=TODAY,
            today=TODAY,
        )
    with (
        pytest.raises(ValidationError, match="Choose a care coordinator"),
        store.write() as session,
    ):
        cases.accept(session, case.id, coordinator_id=None, on=TODAY)
    with store.write() as session:
        cases.accept(session, case.id, coordinator_id=team["social_worker"], on=TODAY)
    assert current_coordinators(store, case.id) == 1

    with pytest.raises(ValidationError, match="reason for changing"), store.write() as session:
        cases.change_coordinator(session, case.id, coordinator_id=team["district_nurse"], reason="")
    with pytest.raises(RuleError, match="already the coordinator"), store.write() as session:
        cases.change_coordinator(session, case.id, coordinator_id=team["social_worker"], reason="x")
    with store.write() as session:
        record = cases.change_coordinator(
            session,
            case.id,
            coordinator_id=team["district_nurse"],
            reason="Mainly nursing needs now",
            on=TODAY,
        )
    assert current_coordinators(store, case.id) == 1
    assert record.coordinator is not None and record.coordinator.name == "Zoë Nowak"
    assert [c.name for c in record.coordinator_history] == ["Ngozi Okafor", "Zoë Nowak"]
    assert record.coordinator_history[0].ended_on == TODAY
    assert record.coordinator_history[1].reason == "Mainly nursing needs now"

    with store.write() as session:
        cases.start_review(session, case.id)
        closed = cases.close(session, case.id, reason=ClosureReason.GOALS_MET, on=TODAY)
    assert closed.coordinator is None and current_coordinators(store, case.id) == 0
    with store.write() as session:
        reopened = cases.reopen(
            session, case.id, coordinator_id=team["gp"], reason="Closed in error", on=TODAY
        )
    assert reopened.status is CaseStatus.ACTIVE and current_coordinators(store, case.id) == 1


def test_closing_needs_a_reason(store, practice_ids, team) -> None:
    case_id = active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])
    with (
        pytest.raises(ValidationError, match="reason for closing") as caught,
        store.write() as session,
    ):
        cases.close(session, case_id, reason=None)
    assert "closure_reason" in caught.value.field_errors
    with pytest.raises(ValidationError, match="Describe the reason"), store.write() as session:
        cases.close(session, case_id, reason=ClosureReason.OTHER, note="  ")
    with store.read() as session:
        assert cases.get_case(session, case_id).status is CaseStatus.ACTIVE


def test_transitions_not_allowed_from_the_current_state(store, practice_ids, team) -> None:
    case_id = active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])
    with pytest.raises(RuleError, match="active cannot be accepted"), store.write() as session:
        cases.accept(session, case_id, coordinator_id=team["gp"])
    with pytest.raises(RuleError, match="active cannot be reopened"), store.write() as session:
        cases.reopen(session, case_id, coordinator_id=team["gp"], reason="x")


def test_an_action_always_has_an_owner_and_a_due_date(store, practice_ids, team) -> None:
    case_id = active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])
    with pytest.raises(ValidationError) as caught, store.write() as session:
        plans.add_action(
            session,
            case_id,
            description="Arrange grab rails",
            owner_id=None,
            due_on=None,
            today=TODAY,
        )
    assert caught.value.field_errors == {
        "owner": "Every action needs an owner: choose who will do it.",
        "due_on": "Every action needs a due date.",
    }
    with pytest.raises(ValidationError, match="due date is in the past"), store.write() as session:
        plans.add_action(
            session,
            case_id,
            description="Arrange grab rails",
            owner_id=team["gp"],
            due_on=TODAY - dt.timedelta(days=1),
            today=TODAY,
        )
    with store.write() as session:
        history = plans.add_action(
            session,
            case_id,
            description="Earlier OT visit",
            owner_id=team["gp"],
            due_on=TODAY - dt.timedelta(days=30),
            imported_history=True,
            today=TODAY,
        )
        action = plans.add_action(
            session,
            case_id,
            description="Arrange grab rails",
            owner_id=team["district_nurse"],
            due_on=TODAY,
            today=TODAY,
        )
        done = plans.update_action(session, action.id, status=ActionStatus.DONE, today=TODAY)
    assert history.is_overdue(TODAY) and not action.is_overdue(TODAY)
    assert done.completed_on == TODAY and done.owner_name == "Zoë Nowak"


def test_a_deceased_person_cannot_be_referred_and_death_is_recorded(
    store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write() as session:
        plans.record_outcome_event(
            session,
            patient_id,
            kind=OutcomeEventKind.DEATH,
            occurred_on=TODAY,
            source="GP",
            today=TODAY,
        )
        cases.close(session, case_id, reason=ClosureReason.DIED, on=TODAY)
    with pytest.raises(RuleError, match="died on 22-Nov-2026"), store.write() as session:
        cases.refer(session, patient_id, source=ReferralSource.GP, reason="x", today=TODAY)
    with pytest.raises(RuleError, match="has died"), store.write() as session:
        cases.reopen(session, case_id, coordinator_id=team["gp"], reason="x")


def test_goals_care_team_and_interventions(store, practice_ids, team) -> None:
    from mdt_desk.models.enums import InterventionKind

    case_id = active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])
    with store.write(team["social_worker"]) as session:
        goal_id = plans.add_goal(session, case_id, description="I want to get back to my allotment")
        action = plans.add_action(
            session,
            case_id,
            description="Refer to physio",
            owner_id=team["gp"],
            due_on=TODAY,
            goal_id=goal_id,
            today=TODAY,
        )
        plans.add_care_team_member(
            session, case_id, role="Daughter and main carer", name="Bethan Evans"
        )
        member = plans.add_care_team_member(
            session,
            case_id,
            role="District nurse",
            staff_id=team["district_nurse"],
            joined_on=TODAY - dt.timedelta(days=7),
        )
        intervention = plans.add_intervention(
            session, case_id, kind=InterventionKind.REABLEMENT, started_on=TODAY
        ).id
    assert action.goal_id == goal_id
    with pytest.raises(RuleError, match="already in this care team"), store.write() as session:
        plans.add_care_team_member(session, case_id, role="Nurse", staff_id=team["district_nurse"])
    with pytest.raises(ValidationError, match="enter the person's name"), store.write() as session:
        plans.add_care_team_member(session, case_id, role="Neighbour")
    with store.write() as session:
        plans.remove_care_team_member(session, member, left_on=TODAY)
        planned_end = session.execute(
            text("SELECT planned_end_on FROM intervention WHERE id = :i"), {"i": intervention.hex}
        ).scalar_one()
    assert planned_end == (TODAY + dt.timedelta(weeks=6)).isoformat()
