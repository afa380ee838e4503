"""Settings → Team hub → Desks on this hub…: an administrator's view of the hub's desks,
read off the GUI thread; a hub that cannot be read is said in words; other roles may not."""

import uuid

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QTableView
from sqlalchemy import text

from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_time
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.hub import hub_engine
from mdt_desk.sync.status import ALL_PRACTICES, read_hub_status
from mdt_desk.ui.sync.hub_status_dialog import HubStatusDialog
from tests.ui.finders import child
from tests.ui.roles import staff_with_roles, window_as
from tests.ui.test_sync_ui import (  # noqa: F401 (fixtures)
    OFFLINE_HUB,
    TIMEOUT,
    World,
    _world_template,
    edit_action,
    world,
)

# Real sync hubs (a hub file and desks synced through it): out of the fast loop, as the
# slow marker says; the whole suite runs them.
pytestmark = pytest.mark.slow


def _desk_b_moves_on(hub_world: World) -> None:
    """Desk B edits and syncs: the hub moves on, and desk A is behind it."""
    engine = hub_engine(hub_world.hub_url)
    try:
        with Store.open(hub_world.b_path) as b:
            desk = Desk.for_store(b).signed_in_as(staff_with_roles(b, Role.CARE_COORDINATOR))
            with desk.read() as session:
                action_id = session.execute(
                    text("SELECT id FROM action WHERE status = 'open' ORDER BY id LIMIT 1")
                ).scalar_one()
            edit_action(desk, uuid.UUID(str(action_id)), "Ring the district nurse")
            sync_once(b, engine, label="Desk B")
    finally:
        engine.dispose()


def _cells(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [
        [str(model.index(row, column).data()) for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


def test_an_administrator_sees_each_desk_and_how_far_behind_it_is(
    qtbot,
    qtmodeltester,
    world: World,  # noqa: F811
) -> None:
    _desk_b_moves_on(world)
    engine = hub_engine(world.hub_url)
    expected = read_hub_status(engine)
    engine.dispose()
    behind = {desk.label: desk.behind for desk in expected.desks}
    assert behind["Desk B"] == 0 and behind["Desk A"] > 0

    with window_as(qtbot, world.a_path, Role.TEAM_ADMINISTRATOR) as window:
        window.sync_controller.stop()  # no background sync moves the figures meanwhile
        assert window.team_hub_action.isEnabled()
        team_hub = window.show_team_hub()
        qtbot.addWidget(team_hub)
        button = child(team_hub, QPushButton, "hub_status_button")
        assert button.accessibleName() == "Desks on this hub…"
        address = child(team_hub, QLineEdit, "hub_address")
        address.clear()
        assert not button.isEnabled()  # no hub to ask
        qtbot.keyClicks(address, world.hub_url)
        assert button.isEnabled()

        with qtbot.waitSignal(window.sync_controller.hub_status_read, timeout=TIMEOUT):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            dialog = team_hub.findChild(HubStatusDialog)
            assert dialog is not None and dialog.isVisible()
            summary = child(dialog, QLabel, "hub_status_summary")
            assert summary.text() == "Reading the hub…"  # the GUI thread did not wait
        table = child(dialog, QTableView, "hub_desks_table")
        assert table.accessibleName() == "Desks on this hub"
        assert summary.accessibleName() == "Hub log"
        assert child(dialog, QPushButton, "hub_status_refresh_button").accessibleName() == (
            "Refresh"
        )
        qtmodeltester.check(table.model())
        headers = [
            table.model().headerData(column, Qt.Orientation.Horizontal)
            for column in range(table.model().columnCount())
        ]
        rows = {row[0]: dict(zip(headers, row, strict=True)) for row in _cells(table)}
        assert set(rows) == {"Desk A", "Desk B"}
        for desk in expected.desks:
            shown = rows[desk.label]
            assert shown["Covers"] == ALL_PRACTICES
            assert shown["Pulled through"] == f"{desk.pulled_through:,}"
            assert desk.last_seen is not None
            assert shown["Last seen"] == cui_time(desk.last_seen)
        assert rows["Desk B"]["Behind"] == "Up to date"
        assert rows["Desk A"]["Behind"] == f"{behind['Desk A']:,} changes"
        assert f"The log holds {expected.changes:,} changes" in summary.text()
        assert "2 desks have synced" in summary.text()
        assert not child(dialog, QLabel, "hub_status_error").isVisible()

        # A hub that does not answer: said in words, not a traceback, and the table stays.
        address.clear()
        qtbot.keyClicks(address, OFFLINE_HUB)
        with qtbot.waitSignal(window.sync_controller.hub_status_read, timeout=TIMEOUT):
            offline = team_hub.show_hub_status()
        assert offline is not None
        error = child(offline, QLabel, "hub_status_error")
        assert error.isVisible() and "is not reachable" in error.text()
        assert error.accessibleName().startswith("The team hub")
        assert "Traceback" not in error.text()
        assert offline.model.rowCount() == 0
        offline.close()
        dialog.close()


def test_a_non_administrator_cannot_open_the_hubs_desks(
    qtbot,
    world: World,  # noqa: F811
) -> None:
    with window_as(qtbot, world.a_path, Role.CARE_COORDINATOR) as window:
        window.sync_controller.stop()
        assert not window.team_hub_action.isEnabled()  # Settings → Team hub itself
        # Even were the Team hub dialog open, its desks stay closed to this role.
        team_hub = window.show_team_hub()
        qtbot.addWidget(team_hub)
        button = child(team_hub, QPushButton, "hub_status_button")
        address = child(team_hub, QLineEdit, "hub_address")
        address.clear()
        qtbot.keyClicks(address, world.hub_url)
        assert not button.isEnabled()
        assert "does not allow" in button.toolTip()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert team_hub.show_hub_status() is None
        assert team_hub.findChild(HubStatusDialog) is None
