"""Settings → Team hub → Practices this desk holds: an administrator widens a scoped
desk, off the GUI thread, and the sync that follows brings the new practice's people; a
refusal is shown and said to a screen reader; other roles see the scope but may not
change it; every control has a name a screen reader reads; a widening's progress reads
as the desk's records coming in."""

import io
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QListWidget, QPushButton, QWidget
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.sync.client import outbox_count
from mdt_desk.sync.desk_scope import DeskScope
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.sync import desk_scope_panel
from mdt_desk.ui.sync.controller import SyncController, SyncState
from mdt_desk.ui.sync.desk_scope_panel import DeskScopePanel
from mdt_desk.ui.sync.progress_bar import SyncProgressBar
from mdt_desk.ui.sync.team_hub_dialog import TeamHubDialog
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

pytestmark = pytest.mark.slow


def _rows(path: Path, sql: str, **values: object) -> list[tuple[object, ...]]:
    with Store.open(path) as store, store.read() as session:
        return [tuple(row) for row in session.execute(text(sql), values)]


def _people_by_practice(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for code, person in _rows(
        path,
        "SELECT pr.ods_code, p.id FROM patient p JOIN practice pr ON pr.id = p.practice_id",
    ):
        found.setdefault(str(code), set()).add(str(person))
    return found


def _busiest(full: dict[str, set[str]]) -> list[str]:
    return sorted(full, key=lambda code: (-len(full[code]), code))


def _join(hub_world: World, code: str) -> Path:
    """A new desk joined to the hub holding the people of practice ``code`` only."""
    path = hub_world.folder / f"scoped-{code}.sqlite"
    status = main(
        ["sync", "--store", str(path), "--hub", hub_world.hub_url, "--practices", code],
        out=io.StringIO(),
    )
    assert status == 0
    return path


def _team_hub(qtbot, window: MainWindow) -> tuple[TeamHubDialog, DeskScopePanel]:
    """Settings → Team hub, once the window's first sync is over and the scope is read."""
    qtbot.waitUntil(
        lambda: window.sync_controller.status.state is not SyncState.SYNCING, timeout=TIMEOUT
    )
    dialog = window.show_team_hub()  # the window's child: it goes with the window
    panel = child(dialog, DeskScopePanel, "desk_scope_panel")
    summary = child(panel, QLabel, "desk_scope_summary")
    qtbot.waitUntil(lambda: summary.text().startswith("This desk holds"), timeout=TIMEOUT)
    return dialog, panel


def _accessible_name(widget: QWidget) -> str:
    face = QAccessible.queryAccessibleInterface(widget)
    assert face is not None
    return face.text(QAccessible.Text.Name)


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the panel says to a screen reader."""
    said: list[str] = []
    monkeypatch.setattr(desk_scope_panel, "announce", lambda _widget, message: said.append(message))
    return said


def test_an_administrator_widens_the_desk_and_the_sync_brings_the_new_practices_people(
    qtbot,
    world: World,  # noqa: F811
    announced: list[str],
) -> None:
    full = _people_by_practice(world.a_path)
    first, second = _busiest(full)[:2]
    path = _join(world, first)
    assert set(_people_by_practice(path)) == {first}

    with window_as(qtbot, path, Role.TEAM_ADMINISTRATOR) as window:
        dialog, panel = _team_hub(qtbot, window)
        summary = child(panel, QLabel, "desk_scope_summary")
        assert first in summary.text() and second not in summary.text()
        assert child(panel, QLabel, "desk_scope_held").text().endswith(f"now: {first}.")
        practices = child(panel, QListWidget, "desk_scope_practices")
        assert practices.isEnabled()
        checked = [
            practices.item(row).text().split()[0]
            for row in range(practices.count())
            if practices.item(row).checkState() == Qt.CheckState.Checked
        ]
        assert checked == [first]
        assert practices.count() == len(_rows(world.a_path, "SELECT id FROM practice"))
        apply_button = child(panel, QPushButton, "desk_scope_apply_button")
        assert not apply_button.isEnabled()  # nothing changed yet

        # The filter box narrows the list by code or name.
        filter_box = child(panel, QLineEdit, "desk_scope_filter")
        assert filter_box.isVisible()
        qtbot.keyClicks(filter_box, second.lower())
        shown = [
            practices.item(row).text()
            for row in range(practices.count())
            if not practices.item(row).isHidden()
        ]
        assert len(shown) == 1 and shown[0].startswith(second)
        panel.check_practice(second)
        filter_box.clear()
        assert apply_button.isEnabled()

        progress: list[tuple[str, int, int]] = []
        window.sync_controller.progressed.connect(
            lambda phase, done, total: progress.append((phase, done, total))
        )
        result = child(panel, QLabel, "desk_scope_result")
        with qtbot.waitSignal(window.sync_controller.synced, timeout=TIMEOUT) as synced:
            qtbot.mouseClick(apply_button, Qt.MouseButton.LeftButton)
            assert result.text() == "Checking the change with the team hub…"  # not waited on
        assert synced.args[0] is not None
        assert "Changed." in result.text() and second in result.text()
        assert any(message.startswith("Changed.") for message in announced)
        assert not child(panel, QLabel, "desk_scope_error").isVisible()
        # The sync took in the widened scope's records, with progress as records.
        records = [entry for entry in progress if entry[0] == "records"]
        assert records and records[-1][1] == records[-1][2]
        qtbot.waitUntil(lambda: second in child(panel, QLabel, "desk_scope_held").text())
        dialog.close()

    held = _people_by_practice(path)
    assert set(held) == {first, second}
    assert held[second] == full[second]  # the new practice's people are on the desk
    assert held[first] == full[first]


def test_narrowing_with_unsent_changes_is_refused_in_words_and_said(
    qtbot,
    world: World,  # noqa: F811
    announced: list[str],
) -> None:
    full = _people_by_practice(world.a_path)
    first, second = _busiest(full)[:2]
    path = _join(world, f"{first},{second}")
    marks = ", ".join(f"'{person}'" for person in sorted(full[second]))
    ((action_id,),) = _rows(
        path,
        "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
        f" WHERE c.patient_id IN ({marks}) ORDER BY a.id LIMIT 1",
    )

    with window_as(qtbot, path, Role.TEAM_ADMINISTRATOR) as window:
        dialog, panel = _team_hub(qtbot, window)  # after the window's first sync
        window.sync_controller.stop()  # the edit below stays unsent: no sync meanwhile
        with Store.open(path) as store:
            desk = Desk.for_store(store).signed_in_as(
                staff_with_roles(store, Role.CARE_COORDINATOR)
            )
            edit_action(desk, uuid.UUID(str(action_id)), "Not sent yet")
            assert outbox_count(store) > 0
        panel.check_practice(second, checked=False)
        error = child(panel, QLabel, "desk_scope_error")
        with qtbot.waitSignal(window.sync_controller.scope_answered, timeout=TIMEOUT):
            panel.apply()
        assert error.isVisible()
        assert "not changed" in error.text() and "not yet sent" in error.text()
        assert announced == [error.text()]  # "Error: This desk's practices were not…"
        assert child(panel, QPushButton, "desk_scope_apply_button").isEnabled()  # may retry

        # A hub that does not answer: said in words, not a traceback.
        address = child(dialog, QLineEdit, "hub_address")
        address.setText(OFFLINE_HUB)
        with qtbot.waitSignal(window.sync_controller.scope_answered, timeout=TIMEOUT):
            panel.apply()
        assert "not reachable" in error.text() and "Traceback" not in error.text()
        assert announced[-1] == error.text()
        dialog.close()
    assert set(_people_by_practice(path)) == {first, second}  # nothing removed


@pytest.mark.parametrize("role", [Role.CARE_COORDINATOR])
def test_a_non_administrator_sees_the_practices_but_cannot_change_them(
    qtbot,
    world: World,  # noqa: F811
    role: Role,
) -> None:
    full = _people_by_practice(world.a_path)
    first = _busiest(full)[0]
    path = _join(world, first)
    with window_as(qtbot, path, role) as window:
        dialog, panel = _team_hub(qtbot, window)
        assert first in child(panel, QLabel, "desk_scope_summary").text()
        for kind, name in (
            (QCheckBox, "desk_scope_all"),
            (QLineEdit, "desk_scope_filter"),
            (QListWidget, "desk_scope_practices"),
            (QCheckBox, "desk_scope_follow_staff"),
            (QPushButton, "desk_scope_apply_button"),
        ):
            control = child(panel, kind, name)
            assert not control.isEnabled(), name
            assert "does not allow" in control.toolTip(), name
        # Even asked directly, the worker refuses (defence in depth).
        principal = window.runner.desk.principal
        with qtbot.waitSignal(window.sync_controller.scope_answered, timeout=TIMEOUT) as asked:
            window.sync_controller.change_scope(
                world.hub_url, None, DeskScope(all_practices=True), principal
            )
        assert asked.args[0].scope is None and "does not allow" in asked.args[0].message
        dialog.close()
    assert set(_people_by_practice(path)) == {first}


def test_every_control_has_an_accessible_name(
    qtbot,
    world: World,  # noqa: F811
) -> None:
    with window_as(qtbot, world.a_path, Role.TEAM_ADMINISTRATOR) as window:
        dialog, panel = _team_hub(qtbot, window)
        assert child(panel, QLabel, "desk_scope_summary").text().startswith("This desk holds")
        names = {
            name: _accessible_name(child(panel, kind, name))
            for kind, name in (
                (QLabel, "desk_scope_summary"),
                (QCheckBox, "desk_scope_all"),
                (QLineEdit, "desk_scope_filter"),
                (QListWidget, "desk_scope_practices"),
                (QCheckBox, "desk_scope_follow_staff"),
                (QPushButton, "desk_scope_apply_button"),
            )
        }
        assert names == {
            "desk_scope_summary": "Practices this desk holds",
            "desk_scope_all": "All practices",
            "desk_scope_filter": "Filter practices",
            "desk_scope_practices": "Practices to hold",
            "desk_scope_follow_staff": "Also the practices of staff who sign in here",
            "desk_scope_apply_button": "Apply practices",
        }
        # "All practices" checked: the list and the staff choice wait on it.
        everything = child(panel, QCheckBox, "desk_scope_all")
        everything.setChecked(True)
        assert not child(panel, QListWidget, "desk_scope_practices").isEnabled()
        assert not child(panel, QCheckBox, "desk_scope_follow_staff").isEnabled()
        everything.setChecked(False)
        assert child(panel, QListWidget, "desk_scope_practices").isEnabled()
        dialog.close()


def test_a_widenings_progress_reads_as_the_desks_records(qtbot, tmp_path: Path) -> None:
    controller = SyncController(tmp_path / f"{uuid.uuid4().hex}.sqlite")
    try:
        bar = SyncProgressBar(controller)
        qtbot.addWidget(bar)
        controller.progressed.emit("records", 40, 100)
        assert bar.isVisible()
        assert bar.text() == "Receiving this desk's records 40%"
        assert bar.accessibleDescription() == "40 of 100 records"
        controller.progressed.emit("pull", 500, 2000)
        assert bar.text() == "Receiving 25%"
        assert bar.accessibleDescription() == "500 of 2,000 changes"
    finally:
        controller.shutdown()
