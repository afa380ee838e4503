"""Services behind the action plan screen and the new referral dialog."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from mdt_desk.errors import RuleError, ValidationError
from mdt_desk.models import Action, Case, Patient
from mdt_desk.models.enums import ActionStatus, CaseStatus, Gender, ReferralSource, Urgency
from mdt_desk.models.store import Store
from mdt_desk.services import plans, referrals
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient


@pytest.fixture
def case_id(store: Store, team, practice_ids) -> uuid.UUID:
    case = active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])
    with store.write(team["social_worker"]) as session:
        plans.add_care_team_member(
            session, case, role="District nurse", staff_id=team["district_nurse"], joined_on=TODAY
        )
    return case


def add(store: Store, case_id: uuid.UUID, owner: uuid.UUID, text: str, due: dt.date) -> uuid.UUID:
    with store.write(owner) as session:
        return plans.add_action(
            session, case_id, description=text, owner_id=owner, due_on=due, today=TODAY
        ).id


def test_owner_choices_put_the_coordinator_and_care_team_first(store, team, case_id):
    with store.read() as session:
        owners = plans.action_owner_choices(session, case_id)
    assert [owner.id for owner in owners] == [
        team["social_worker"],
        team["district_nurse"],
        team["gp"],
    ]
    assert owners[0].is_coordinator and owners[0].in_team
    assert owners[1].in_team and not owners[1].is_coordinator
    assert not owners[2].in_team
    assert owners[1].profession_text == "District nurse"


def test_rows_carry_owner_name_and_goal_text_and_filter_closed(store, team, case_id):
    with store.write(team["social_worker"]) as session:
        goal = plans.add_goal(session, case_id, description="To walk to the shop again")
    first = add(store, case_id, team["gp"], "Review medicines", TODAY)
    second = add(store, case_id, team["district_nurse"], "Dressings", TODAY + dt.timedelta(1))
    with store.write(team["social_worker"]) as session:
        row = plans.set_action_goal(session, first, goal)
        assert row.goal_text == "To walk to the shop again"
        plans.update_action(session, second, status=ActionStatus.DONE, today=TODAY)
    with store.read() as session:
        open_rows = plans.list_action_rows(session, case_id)
        all_rows = plans.list_action_rows(session, case_id, include_closed=True)
        view = plans.action_plan_view(session, case_id, include_closed=True, today=TODAY)
    assert [(r.description, r.owner_name, r.goal_text) for r in open_rows] == [
        ("Review medicines", "Seán Ó Briain", "To walk to the shop again")
    ]
    assert [r.id for r in all_rows] == [first, second]
    assert view.case_open and view.rows == tuple(all_rows)
    assert [g.text for g in view.goals] == ["To walk to the shop again"]
    assert not all_rows[0].is_overdue(TODAY)
    assert all_rows[0].is_overdue(TODAY + dt.timedelta(days=1))
    assert not all_rows[1].is_overdue(TODAY + dt.timedelta(days=9))  # done is never overdue


def test_goal_of_another_case_is_refused(store, team, case_id, practice_ids):
    other_case = active_case(
        store, new_patient(store, practice_ids["A81002"], nhs="9990000026"), team["gp"]
    )
    with store.write(team["gp"]) as session:
        other_goal = plans.add_goal(session, other_case, description="Stay at home")
    action = add(store, case_id, team["gp"], "Review medicines", TODAY)
    with store.write(team["gp"]) as session, pytest.raises(ValidationError) as refused:
        plans.set_action_goal(session, action, other_goal)
    assert refused.value.field_errors == {"goal": "That goal belongs to another case."}


def test_withdraw_and_reinstate_never_delete(store, team, case_id):
    action = add(store, case_id, team["gp"], "Review medicines", TODAY)
    with store.write(team["gp"]) as session:
        assert plans.withdraw_action(session, action).withdrawn
    with store.read() as session:
        assert plans.list_action_rows(session, case_id) == []
        stored = session.scalar(select(Action).where(Action.id == action))
        assert stored is not None and stored.retired_at is not None
    with store.write(team["gp"]) as session:
        assert not plans.reinstate_action(session, action).withdrawn
    with store.read() as session:
        assert [row.id for row in plans.list_action_rows(session, case_id)] == [action]


def test_restore_action_puts_back_a_past_due_date_and_the_completion(store, team, case_id):
    with store.write(team["gp"]) as session:
        action = plans.add_action(
            session,
            case_id,
            description="Chase results",
            owner_id=team["gp"],
            due_on=TODAY - dt.timedelta(days=4),
            imported_history=True,
            today=TODAY,
        ).id
        before = plans.get_action_row(session, action)
        plans.update_action(
            session,
            action,
            due_on=TODAY + dt.timedelta(days=2),
            status=ActionStatus.DONE,
            owner_id=team["district_nurse"],
            description="Chase blood results",
            today=TODAY,
        )
        restored = plans.restore_action(session, before)
    assert restored == before
    assert restored.due_on < TODAY and restored.completed_on is None


def test_look_up_person_found_with_open_case_or_not_found(store, team, practice_ids):
    patient = new_patient(store, practice_ids["A81001"])
    with store.read() as session:
        assert referrals.look_up_person(session, "999 000 0026") is None
        found = referrals.look_up_person(session, "999-000-0018", today=TODAY)
        with pytest.raises(ValidationError) as wrong:
            referrals.look_up_person(session, "999 000 0019")
    assert "check digit" in wrong.value.field_errors["nhs_number"]
    assert found is not None
    assert found.patient_id == patient
    assert (found.display_name, found.born_text) == ("EVANS, Siân (Ms)", "02-Mar-1938 (88y)")
    assert found.practice_text == "The Densham Surgery (A81001)"
    assert found.open_case_id is None and found.open_case_text == ""
    case = active_case(store, patient, team["social_worker"])
    with store.read() as session:
        found = referrals.look_up_person(session, "9990000018", today=TODAY)
    assert found is not None and found.open_case_id == case
    assert found.open_case_text == "Open case: active, referred 22-Nov-2026."


def new_person(**changes: object) -> referrals.NewPerson:
    fields: dict[str, object] = {
        "family_name": "Hughes",
        "given_name": "Gwen",
        "title": "Mrs",
        "date_of_birth": "14-Jul-1945",
        "gender": Gender.FEMALE,
        "address": "1 High Street",
        "postcode": "ts18 1hu",
        "phone": "",
        "practice_id": None,
    }
    fields.update(changes)
    return referrals.NewPerson(**fields)  # type: ignore[arg-type]


def refer_new(store: Store, person: referrals.NewPerson, reason: str = "Falls") -> object:
    with store.write(actor_label="test") as session:
        return referrals.make_referral(
            session,
            nhs_number="999 000 0026",
            patient_id=None,
            new_person=person,
            source=ReferralSource.GP,
            reason=reason,
            urgency=Urgency.SOON,
            referred_on=TODAY,
            today=TODAY,
        )


def test_make_referral_registers_and_refers_in_one_go(store, team, practice_ids):
    made = refer_new(store, new_person(practice_id=practice_ids["A81004"]))
    assert isinstance(made, referrals.ReferralMade) and made.registered
    with store.read() as session:
        patient = session.get(Patient, made.patient_id)
        case = session.get(Case, made.case_id)
        assert patient is not None and case is not None
        assert patient.date_of_birth == dt.date(1945, 7, 14)
        assert patient.postcode == "TS18 1HU"
        assert case.status is CaseStatus.REFERRED and case.referral_urgency is Urgency.SOON


def test_make_referral_reports_every_field_and_registers_no_one(store, team, practice_ids):
    with pytest.raises(ValidationError) as refused:
        refer_new(store, new_person(family_name=" ", date_of_birth="31/02/1950"), reason="")
    errors = refused.value.field_errors
    assert set(errors) == {"family_name", "date_of_birth", "practice", "referral_reason"}
    assert "not a real date" in errors["date_of_birth"]
    # Registration fine, referral refused: the person is not left registered.
    with pytest.raises(ValidationError):
        refer_new(store, new_person(practice_id=practice_ids["A81001"]), reason=" ")
    with store.read() as session:
        assert session.scalars(select(Patient)).all() == []


def test_make_referral_for_someone_with_an_open_case_is_refused(store, team, practice_ids):
    patient = new_patient(store, practice_ids["A81001"])
    active_case(store, patient, team["social_worker"])
    with store.write(team["gp"]) as session, pytest.raises(RuleError) as refused:
        referrals.make_referral(
            session,
            nhs_number="9990000018",
            patient_id=patient,
            new_person=None,
            source=ReferralSource.HOSPITAL,
            reason="Another fall",
            urgency=Urgency.ROUTINE,
            referred_on=TODAY,
            today=TODAY,
        )
    assert "already has an open case" in str(refused.value)
