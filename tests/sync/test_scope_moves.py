"""Issue 14, found by the sync state machine (test_state_machine.py) and fixed: a move
between two practices of one desk must not re-apply a transaction's earlier value over
its later one; a desk made full again takes back the person it moved out, with what it
typed for them itself; a person whose move away loses comes back whole, and a desk whose
move loses to one it cannot see lets the person go."""

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from mdt_desk.models import Patient
from mdt_desk.models.store import Store
from mdt_desk.services.ids import practice_id_for
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.desk_scope import DeskScope, change_scope, set_scope
from tests.sync.support import Hub, assert_matches_hub, assert_same_fields, stored_fields
from tests.sync.test_state_machine import CODES, _practice_ids, _scope_fields, _seed_practices


def _assert_holds_its_practices(store: Store, hub: Hub, codes: tuple[str, ...]) -> None:
    """The desk holds exactly the hub's records of the people of ``codes``."""
    expected = _scope_fields(hub.state(), _practice_ids(frozenset(codes)))
    assert_same_fields(stored_fields(store), expected, f"the desk of {codes} differs")


def _move(store: Store, person: str, code: str, label: str) -> None:
    with store.write(None, label) as session:
        found = session.get(Patient, uuid.UUID(person))
        assert found is not None
        found.practice_id = practice_id_for(code)


def test_a_move_between_two_practices_of_a_desk_leaves_its_records_as_the_hub_has_them(
    desks: Callable[..., Store], hub: Hub, tmp_path: Path
) -> None:
    full = desks("full")
    records = _seed_practices(full, tmp_path)
    sync_once(full, hub.engine, label="full desk")
    scoped = desks("scoped")
    set_scope(scoped, DeskScope(codes=CODES, follow_staff=False))
    sync_once(scoped, hub.engine, label="scoped desk")
    _assert_holds_its_practices(scoped, hub, CODES)

    person = next(row_id for table, row_id in records if table == "patient")
    _move(full, person, CODES[2], "full desk")  # still one of the desk's practices
    sync_once(full, hub.engine, label="full desk")
    sync_once(scoped, hub.engine, label="scoped desk")
    _assert_holds_its_practices(scoped, hub, CODES)


def test_a_desk_made_full_again_holds_the_person_it_moved_out_of_its_scope(
    desks: Callable[..., Store], hub: Hub, tmp_path: Path
) -> None:
    full = desks("full")
    records = _seed_practices(full, tmp_path)
    sync_once(full, hub.engine, label="full desk")
    desk = desks("desk")
    sync_once(desk, hub.engine, label="desk")
    change_scope(desk, hub.engine, DeskScope(codes=(CODES[0],), follow_staff=False))
    sync_once(desk, hub.engine, label="desk")
    # The narrowed desk records that its person registered at another practice: the
    # move is sent, and the person leaves the desk.
    person = next(row_id for table, row_id in records if table == "patient")
    _move(desk, person, CODES[1], "desk")
    sync_once(desk, hub.engine, label="desk")
    sync_once(full, hub.engine, label="full desk")
    assert_matches_hub(full, hub)
    # Made full again, it must hold everything the hub holds, that person included.
    change_scope(desk, hub.engine, DeskScope(all_practices=True))
    sync_once(desk, hub.engine, label="desk")
    sync_once(desk, hub.engine, label="desk")
    assert_matches_hub(desk, hub)


def test_a_person_whose_move_away_loses_at_the_hub_comes_back_whole(
    desks: Callable[..., Store], hub: Hub, tmp_path: Path
) -> None:
    # Found by the state machine: the desk that made a person's records moves them out
    # of its practices, another desk moves them within its practices a moment later, and
    # the later move wins at the hub. The desk took the person back from its journal,
    # transaction by transaction, and the one that made each record lacked the field it
    # changed later (the practice), so every record was set aside and the person lost.
    maker = desks("maker")
    records = _seed_practices(maker, tmp_path)
    sync_once(maker, hub.engine, label="maker")
    other = desks("other")
    sync_once(other, hub.engine, label="other")
    mine = (CODES[0], CODES[2])
    change_scope(maker, hub.engine, DeskScope(codes=mine, follow_staff=False))
    sync_once(maker, hub.engine, label="maker")
    person = next(row_id for table, row_id in records if table == "patient")
    _move(maker, person, CODES[1], "maker")
    _move(other, person, CODES[2], "other")
    sync_once(maker, hub.engine, label="maker")  # its move is sent; the person leaves it
    assert person not in {
        row_id for (table, row_id, _f) in stored_fields(maker) if table == "patient"
    }
    sync_once(other, hub.engine, label="other")  # the later move wins: back in its practices
    sync_once(maker, hub.engine, label="maker")
    sync_once(maker, hub.engine, label="maker")

    got = stored_fields(maker)
    assert json.loads(got[("patient", person, "practice_id")]) == practice_id_for(CODES[2]).hex
    _assert_holds_its_practices(maker, hub, mine)


def test_a_desk_whose_move_loses_to_one_it_cannot_see_lets_the_person_go(
    desks: Callable[..., Store], hub: Hub, tmp_path: Path
) -> None:
    # Found by the state machine: a desk moves a person to a practice of its own, another
    # desk a moment later to a third practice, and the later move wins at the hub. Once
    # the first desk covers only its own practice, the winning move is not of its
    # practices (the person was at neither when it was made), so the desk never saw it
    # and kept the person, at a practice the team does not have them at.
    maker = desks("maker")
    records = _seed_practices(maker, tmp_path)
    sync_once(maker, hub.engine, label="maker")
    desk, other = desks("desk"), desks("other")
    sync_once(desk, hub.engine, label="desk")
    sync_once(other, hub.engine, label="other")
    person = next(row_id for table, row_id in records if table == "patient")
    _move(desk, person, CODES[2], "desk")
    _move(other, person, CODES[1], "other")
    sync_once(other, hub.engine, label="other")
    mine = (CODES[2],)
    change_scope(desk, hub.engine, DeskScope(codes=mine, follow_staff=False))
    sync_once(desk, hub.engine, label="desk")
    sync_once(desk, hub.engine, label="desk")

    held = {row_id for (table, row_id, _field) in stored_fields(desk) if table == "patient"}
    assert person not in held
    _assert_holds_its_practices(desk, hub, mine)
