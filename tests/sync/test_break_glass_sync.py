"""A break-glass review item is made on the desk where the glass was broken, in the same
transaction as the access-log row; the hub takes it like any other insert, and it reaches
the coordinator's desk (both engines)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.services import access_log, review, sign_in
from tests.sync.support import FakeClock, Hub, assert_sound, seed, sync

Desks = Callable[..., Store]
PIN = "135791"


@pytest.mark.slow
def test_a_break_glass_raised_on_one_desk_reaches_the_coordinator_on_another(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    seeded = seed(a, tmp_path, patients_count=1)
    coordinator, outsider, _other = seeded.staff_ids  # seed: the first coordinates everyone
    person = seeded.patient_ids[0]
    with a.write(None, "initial set-up") as session:
        sign_in.set_roles(session, coordinator, {Role.CARE_COORDINATOR})
        sign_in.set_roles(session, outsider, {Role.TEAM_MEMBER})
        sign_in.set_pin(session, coordinator, PIN)
    with a.write(outsider, "Sam Okafor") as session:
        access_log.break_glass(session, person, "Out of hours call from the police")
    sync(a, hub, "desk A")
    b = desks("b", clock=FakeClock(offset_ms=1000))
    sync(b, hub, "desk B")

    with b.read(coordinator) as session:
        (item,) = review.break_glass_items(session)
        logged = access_log.entries_for(session, person)
    assert "Out of hours call from the police" in item.kept_text and "Okafor" in item.kept_text
    assert [(entry.action, entry.staff_id) for entry in logged] == [("break_glass", outsider)]
    # Acknowledged on B, it is acknowledged on A after the next round.
    with b.write(coordinator) as session:
        review.acknowledge_break_glass(session, item.id)
    sync(b, hub, "desk B")
    sync(a, hub, "desk A")
    with a.read(coordinator) as session:
        assert review.break_glass_items(session) == []
    assert_sound(a)
    assert_sound(b)
