"""Changes: what a committed write changed, read from the journal, as plain data."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdt_desk.models import SYNCED_MODELS
from mdt_desk.models.enums import Profession
from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service
from mdt_desk.services.changes import (
    ENTITY_KINDS,
    NOTHING,
    Changes,
    changes_since,
    journal_mark,
)
from tests.conftest import TODAY

KINDS = sorted(set(ENTITY_KINDS.values()) | {"sync_state"})


def test_every_synced_table_has_a_kind():
    """A table left out would be taken as "anything changed" and reload every screen."""
    tables = {model.__tablename__ for model in SYNCED_MODELS}
    assert tables <= set(ENTITY_KINDS)


def test_entities_name_their_kinds_and_the_outbox():
    changes = Changes.from_entities(["action", "note"])
    assert changes.kinds == {"actions", "notes", "sync_state"}
    assert changes.record and changes.caseload
    assert not changes.review
    assert not Changes.from_entities([])
    assert not NOTHING


def test_people_and_cases_keep_their_ids():
    patient, case = uuid.uuid4(), uuid.uuid4()
    changes = Changes.from_entities(
        [("patient", patient.hex), ("care_case", case.hex), ("action", uuid.uuid4().hex)]
    )
    assert changes.patient_ids == {patient}
    assert changes.case_ids == {case}
    assert changes.patients and changes.cases and changes.actions


def test_an_unknown_table_means_anything_may_have_changed():
    assert Changes.from_entities(["a_table_from_a_newer_desk"]) == Changes.everything()
    assert Changes.everything().kinds == set(KINDS)


def test_a_review_item_concerns_the_review_list_not_the_caseload():
    changes = Changes.from_entities(["review_item"])
    assert changes.review and not changes.caseload and not changes.record


changes_values = st.builds(
    lambda kinds, ids: Changes.from_entities([*kinds, *(("patient", ident.hex) for ident in ids)]),
    st.lists(st.sampled_from(sorted(ENTITY_KINDS))),
    st.lists(st.uuids(), max_size=3),
)


@given(changes_values, changes_values, changes_values)
def test_merge_is_a_union(a: Changes, b: Changes, c: Changes):
    assert (a | b).kinds == a.kinds | b.kinds
    assert (a | b).patient_ids == a.patient_ids | b.patient_ids
    assert a | b == b | a
    assert (a | b) | c == a | (b | c)
    assert a | NOTHING == a
    assert a | a == a


def test_a_changes_value_cannot_be_altered():
    with pytest.raises(AttributeError):
        NOTHING.actions = True  # type: ignore[misc]


def test_the_journal_says_what_a_write_changed(store: Store):
    with store.read() as session:
        mark = journal_mark(session)
    with store.write(None, "test") as session:
        member = staff_service.add_staff(
            session, family_name="Okafor", given_name="Ngozi", profession=Profession.SOCIAL_WORKER
        )
    with store.read() as session:
        changes = changes_since(session, mark)
        assert changes.kinds == {"staff", "sync_state"}
        assert changes_since(session, journal_mark(session)) == NOTHING
    assert member.display_name == "Ngozi Okafor"


def test_many_people_changed_are_flagged_without_naming_each(store: Store, monkeypatch):
    from mdt_desk.services import changes as changes_module
    from mdt_desk.services.demo import generate_demo

    with store.read() as session:
        mark = journal_mark(session)
    generate_demo(store, patients=6, seed=1)
    with store.read() as session:
        named = changes_since(session, mark)
        monkeypatch.setattr(changes_module, "MAX_IDS", 3)
        capped = changes_since(session, mark)
    assert named.patients and len(named.patient_ids) == 6
    assert capped.patients and capped.cases and capped.patient_ids == frozenset()
    assert capped.kinds == named.kinds


def test_meeting_capture_reloads_the_meetings_and_records_not_the_caseload():
    """Typing in meeting mode saves agenda items often; the caseload behind stays put."""
    changes = Changes.from_entities(["agenda_item", "attendance"])
    assert changes.meeting_list and changes.record
    assert not changes.caseload


def _written(store: Store, actor: uuid.UUID | None, edit) -> Changes:
    with store.read() as session:
        mark = journal_mark(session)
    with store.write(actor) as session:
        edit(session)
    with store.read() as session:
        return changes_since(session, mark)


def test_a_change_to_a_case_names_that_case_and_concerns_no_other_record(
    store: Store, team, practice_ids
):
    from mdt_desk.services import plans
    from tests.services.test_case_rules import active_case, new_patient

    mine = new_patient(store, practice_ids["A81001"])
    my_case = active_case(store, mine, team["social_worker"])
    theirs = new_patient(store, practice_ids["A81001"], nhs="9990000026")
    their_case = active_case(store, theirs, team["social_worker"])

    changes = _written(
        store, team["gp"], lambda session: plans.add_note(session, their_case, "Phoned her")
    )
    assert changes.notes and changes.case_ids == {their_case} and not changes.unattributed
    assert changes.concerns_record(theirs, their_case)
    assert not changes.concerns_record(mine, my_case)

    # An edit to an existing action does not journal its case: it is looked up.
    with store.write(team["gp"]) as session:
        action_id = plans.add_action(
            session,
            their_case,
            description="Book OT visit",
            owner_id=team["gp"],
            due_on=TODAY,
            imported_history=True,  # TODAY may be in the past: allowed for history
        ).id
    changes = _written(
        store,
        team["gp"],
        lambda session: plans.update_action(session, action_id, description="Book OT home visit"),
    )
    assert changes.actions and changes.case_ids == {their_case}
    assert not changes.concerns_record(mine, my_case)


def test_a_change_to_the_person_concerns_their_record_even_without_a_case(
    store: Store, team, practice_ids
):
    from mdt_desk.models.enums import RiskBand
    from mdt_desk.services.patients import set_risk_band
    from tests.services.test_case_rules import new_patient

    person = new_patient(store, practice_ids["A81001"])
    changes = _written(
        store, team["gp"], lambda session: set_risk_band(session, person, RiskBand.HIGH)
    )
    assert changes.patient_ids == {person}
    assert changes.concerns_record(person, None)
    assert not changes.concerns_record(uuid.uuid4(), uuid.uuid4())


def test_staff_practices_and_unnamed_changes_concern_every_record(store: Store):
    anyone, any_case = uuid.uuid4(), uuid.uuid4()
    changes = _written(
        store,
        None,
        lambda session: staff_service.add_staff(
            session, family_name="Nowak", given_name="Zoë", profession=Profession.DISTRICT_NURSE
        ),
    )
    assert changes.unattributed and changes.concerns_record(anyone, any_case)
    assert Changes.everything().concerns_record(anyone, any_case)
    # Built by hand without ids, or named only by kind: nobody is known, so everybody.
    assert Changes(actions=True).concerns_record(anyone, any_case)
    assert Changes.from_entities(["action"]).concerns_record(anyone, any_case)
    assert not Changes.from_entities(["review_item"]).concerns_record(anyone, any_case)
    named = Changes.from_entities([("care_case", uuid.uuid4().hex)])
    assert not named.concerns_record(anyone, any_case)
    assert (named | Changes.from_entities(["staff"])).concerns_record(anyone, any_case)
