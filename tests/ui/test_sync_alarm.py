"""The tamper alarm in the status bar: a record from the hub that fails its desk's hash
chain is set aside, and the desk says so, by name, until it is dealt with."""

import sqlite3

import pytest

from mdt_desk.models.store import Store
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.hub import hub_engine
from mdt_desk.ui.sync.alarm_label import SyncAlarmLabel
from tests.ui import test_sync_ui as two_desks
from tests.ui.test_sync_ui import (
    TIMEOUT,
    an_open_action,
    configure_and_wait_synced,
    description_of,
    edit_action,
    same_person_on,
)

# The two desks and their hub of the sync tests, fresh for each test.
_world_template = two_desks._world_template
world = two_desks.world
desk_a = two_desks.desk_a


@pytest.mark.slow
def test_a_record_that_fails_its_chain_raises_a_named_alarm_that_stays(qtbot, world, desk_a):
    alarm = SyncAlarmLabel(desk_a.controller)
    qtbot.addWidget(alarm)
    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    desk_a.controller.stop()
    assert alarm.text() == "" and alarm.isHidden()
    action_id = an_open_action(desk_a.store)
    engine = hub_engine(world.hub_url)
    with Store.open(world.b_path) as b:
        edit_action(same_person_on(b, desk_a.runner.desk), action_id, "B says that")
        sync_once(b, engine, label="Desk B")
    engine.dispose()
    # Someone who can write the hub's file rewrites that change.
    hub = sqlite3.connect(world.hub_path)
    with hub:
        (origin_seq,) = hub.execute(
            "SELECT origin_seq FROM hub_change WHERE entity = 'action' AND field = 'description'"
            " ORDER BY server_seq DESC LIMIT 1"
        ).fetchone()
        hub.execute(
            "UPDATE hub_change SET value = '\"Forged\"' WHERE entity = 'action'"
            " AND field = 'description' AND origin_seq = ?",
            (origin_seq,),
        )
    hub.close()

    desk_a.controller.sync_now()
    qtbot.waitUntil(lambda: alarm.text() != "", timeout=TIMEOUT)
    assert alarm.text() == "Tamper alarm: records set aside"
    assert alarm.accessibleName() == "Tamper alarm"
    details = alarm.accessibleDescription()
    assert details == alarm.toolTip()
    assert "Desk B" in details and f"sequence {origin_seq}" in details
    assert f"action {action_id.hex} description" in details
    assert description_of(desk_a.store, action_id) not in ("Forged", "B says that")
    assert desk_a.controller.status.alarms

    # It stays: a later sync (nothing new) does not clear it.
    desk_a.controller.sync_now()
    qtbot.waitSignal(desk_a.controller.synced, timeout=TIMEOUT)
    assert alarm.text() == "Tamper alarm: records set aside" and not alarm.isHidden()
