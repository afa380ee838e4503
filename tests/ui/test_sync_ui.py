"""Sync in the desktop app: the background controller, the status label, Team hub, review.

Two desks share a SQLite hub in the test's folder (made once per session, copied per
test as a whole world so no desk is a copy of another). Desk A is the one the GUI runs
on; desk B is driven directly, as another computer would.
"""

import logging
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QLineEdit, QPushButton
from sqlalchemy import text

from mdt_desk.models.store import Store
from mdt_desk.models.store_key import KEYRING_SERVICE, store_key
from mdt_desk.services import plans
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.sync import credentials
from mdt_desk.sync.client import (
    ClockSkewError,
    WrongHubError,
    edits_waiting,
    open_review_count,
    outbox_count,
    sync_once,
)
from mdt_desk.sync.desk_scope import DeskScope, set_scope
from mdt_desk.sync.hub import HubError, hub_engine, init_hub
from mdt_desk.sync.push import ReplicaCollisionError
from mdt_desk.ui.itemmodels.review_table_model import ReviewColumn
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.sync import controller as controller_module
from mdt_desk.ui.sync.controller import SyncController, SyncState
from mdt_desk.ui.sync.settings import hub_address_key
from mdt_desk.ui.sync.status_label import SyncStatusLabel
from mdt_desk.ui.sync.team_hub_dialog import TeamHubDialog, split_password
from tests.shared_stores import made_sealed, unlock
from tests.ui.finders import child
from tests.ui.signed_in import acting

# Real sync hubs (a hub file and desks synced through it): out of the fast loop, as the
# slow marker says; the whole suite runs them.
pytestmark = pytest.mark.slow

OFFLINE_HUB = "postgresql+psycopg://u@127.0.0.1:1/x"
PASSWORD = "S3cret-pw-42"
SYNCED = re.compile(r"^Synced \d\d:\d\d$")
TIMEOUT = 20_000


@dataclass
class World:
    folder: Path
    hub_path: Path
    a_path: Path
    b_path: Path

    @property
    def hub_url(self) -> str:
        return f"sqlite:///{self.hub_path}"


@pytest.fixture(scope="session")
def _world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("two-desks")
    engine = hub_engine(f"sqlite:///{folder / 'hub.sqlite'}")
    init_hub(engine)
    with made_sealed():
        with Store.open(folder / "a.sqlite") as a:
            generate_demo(a, patients=60, seed=2)
            set_scope(a, DeskScope(all_practices=True))  # two full desks
            sync_once(a, engine, label="Desk A")
        with Store.open(folder / "b.sqlite") as b:
            set_scope(b, DeskScope(all_practices=True))
            sync_once(b, engine, label="Desk B")
        keys = {name: store_key(folder / name) for name in ("a.sqlite", "b.sqlite")}
    engine.dispose()
    return folder, keys


@pytest.fixture
def world(_world_template: tuple[Path, dict[str, bytes]], tmp_path: Path) -> World:
    """A hub and two desks synced with it, fresh for the test."""
    template, keys = _world_template
    folder = tmp_path / "world"
    shutil.copytree(template, folder)
    for name, key in keys.items():
        unlock(folder / name, key)
    return World(folder, folder / "hub.sqlite", folder / "a.sqlite", folder / "b.sqlite")


@dataclass
class DeskA:
    store: Store
    runner: TaskRunner
    controller: SyncController
    label: SyncStatusLabel


@pytest.fixture
def desk_a(world: World, qtbot) -> Iterator[DeskA]:
    store = Store.open(world.a_path)
    runner = TaskRunner(Desk.for_store(store))
    controller = SyncController(world.a_path, label="Desk A")
    label = SyncStatusLabel(controller, runner)
    qtbot.addWidget(label)
    yield DeskA(store, runner, controller, label)
    controller.shutdown()
    runner.shutdown()
    store.close()
    assert not controller._thread.isRunning()


def an_open_action(store: Store) -> uuid.UUID:
    with store.read(acting(store)) as session:
        value = session.execute(
            text("SELECT id FROM action WHERE status = 'open' ORDER BY id LIMIT 1")
        ).scalar_one()
    return uuid.UUID(str(value))


def description_of(store: Store, action_id: uuid.UUID) -> str:
    with store.read(acting(store)) as session:
        return str(
            session.execute(
                text("SELECT description FROM action WHERE id = :id"), {"id": action_id.hex}
            ).scalar_one()
        )


def same_person_on(store: Store, desk: Desk) -> Desk:
    """``store`` as a desk where the person signed in on ``desk`` is working too."""
    return replace(Desk.for_store(store), actor_id=desk.actor_id, actor_name=desk.actor_name)


def edit_action(desk: Desk, action_id: uuid.UUID, description: str) -> None:
    with desk.write() as session:
        plans.update_action(session, action_id, description=description)


def configure_and_wait_synced(qtbot, desk: DeskA, url: str) -> None:
    with qtbot.waitSignal(desk.controller.synced, timeout=TIMEOUT):
        desk.controller.configure(url, None)
    qtbot.waitUntil(lambda: SYNCED.match(desk.label.text()) is not None, timeout=TIMEOUT)


# -- the controller and the status label ---------------------------------------------------


@pytest.mark.slow
def test_the_label_goes_from_local_only_to_synced_in_the_background(qtbot, world, desk_a):
    assert desk_a.label.text() == "Local only"
    assert desk_a.label.accessibleName() == "Sync status"
    assert desk_a.controller.status.state == "local_only"
    seen: list[str] = []
    desk_a.controller.state_changed.connect(lambda status: seen.append(status.state))

    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    assert seen[0] == SyncState.SYNCING
    assert seen[-1] == SyncState.SYNCED
    assert desk_a.controller.status.last_sync is not None
    assert desk_a.controller.hub_address == world.hub_url

    # An edit waits for the hub, then the background timer sends it.
    desk_a.controller.set_interval_minutes(0.01)
    desk_a.controller.configure(world.hub_url, None)
    qtbot.waitUntil(lambda: SYNCED.match(desk_a.label.text()) is not None, timeout=TIMEOUT)
    action_id = an_open_action(desk_a.store)
    done: list[object] = []
    desk_a.runner.run(lambda desk: edit_action(desk, action_id, "Sent by the timer"), done.append)
    qtbot.waitUntil(lambda: bool(done))
    with qtbot.waitSignal(desk_a.controller.synced, timeout=TIMEOUT) as synced:
        desk_a.controller.refresh_counts()
    assert synced.args[0].pushed > 0
    qtbot.waitUntil(lambda: SYNCED.match(desk_a.label.text()) is not None, timeout=TIMEOUT)
    assert outbox_count(desk_a.store) == 0


def test_waiting_changes_are_counted_between_syncs(qtbot, world, desk_a):
    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    desk_a.controller.stop()  # no background sync while counting
    action_id = an_open_action(desk_a.store)
    edit_action(desk_a.runner.desk, action_id, "Waiting for the hub")
    assert outbox_count(desk_a.store) > 1  # one edit, several fields to send...
    desk_a.controller.refresh_counts()
    qtbot.waitUntil(lambda: desk_a.label.text() == "1 change waiting")  # ...one edit waiting
    edit_action(desk_a.runner.desk, action_id, "Still waiting for the hub")
    edit_action(desk_a.runner.desk, an_open_action(desk_a.store), "Another edit")
    assert edits_waiting(desk_a.store) == 3
    desk_a.controller.refresh_counts()
    qtbot.waitUntil(lambda: desk_a.label.text() == "3 changes waiting")
    assert desk_a.controller.status.state == SyncState.WAITING
    assert "Ctrl+Shift+S" in desk_a.label.toolTip()


def test_an_unreachable_hub_shows_offline_with_the_changes_waiting(qtbot, world, desk_a):
    action_id = an_open_action(desk_a.store)
    edit_action(desk_a.runner.desk, action_id, "Made while offline")
    edit_action(desk_a.runner.desk, action_id, "Made while offline, then changed")
    waiting = edits_waiting(desk_a.store)
    assert waiting == 2
    desk_a.controller.configure(OFFLINE_HUB, None)
    expected = f"Offline — {waiting} changes waiting"
    qtbot.waitUntil(lambda: desk_a.label.text() == expected, timeout=TIMEOUT)
    status = desk_a.controller.status
    assert status.state == SyncState.OFFLINE and status.waiting == waiting
    assert "not reachable" in status.message
    assert "Traceback" not in desk_a.label.toolTip()
    # The screens still read and write while the desk is offline.
    done: list[str] = []
    desk_a.runner.run(lambda desk: edit_action(desk, action_id, "Still working"))
    desk_a.runner.run(lambda desk: description_of(desk.store, action_id), done.append)
    qtbot.waitUntil(lambda: done == ["Still working"])
    # It keeps trying on the timer and at Ctrl+Shift+S; still offline, nothing lost.
    with qtbot.waitSignal(desk_a.controller.state_changed, timeout=TIMEOUT):
        desk_a.controller.sync_now()
    qtbot.waitUntil(lambda: desk_a.controller.status.state == SyncState.OFFLINE)
    assert desk_a.controller._timer.isActive()
    assert edits_waiting(desk_a.store) > waiting


def test_the_screens_keep_working_while_a_sync_waits_for_the_hub(qtbot, world, desk_a):
    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    action_id = an_open_action(desk_a.store)
    edit_action(desk_a.runner.desk, action_id, "Before the hub got busy")
    # Another desk holds the hub's write lock: this desk's sync has to wait for it.
    blocker = sqlite3.connect(world.hub_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        desk_a.controller.sync_now()
        assert desk_a.label.text() == "Syncing…"
        gui = threading.get_ident()
        done: list[tuple[str, bool]] = []
        desk_a.runner.run(lambda desk: edit_action(desk, action_id, "Edited while syncing"))
        desk_a.runner.run(
            lambda desk: (description_of(desk.store, action_id), threading.get_ident() != gui),
            done.append,
        )
        qtbot.waitUntil(lambda: bool(done), timeout=5_000)
        assert done == [("Edited while syncing", True)]
        assert desk_a.controller.status.state == SyncState.SYNCING  # still waiting
    finally:
        blocker.rollback()
        blocker.close()
    qtbot.waitUntil(lambda: desk_a.controller.status.state != SyncState.SYNCING, timeout=TIMEOUT)
    desk_a.controller.sync_now()  # the second edit too
    qtbot.waitUntil(lambda: SYNCED.match(desk_a.label.text()) is not None, timeout=TIMEOUT)
    assert outbox_count(desk_a.store) == 0


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (ClockSkewError("This computer's clock is 12 minutes ahead of the team hub's."), None),
        (WrongHubError("This desk belongs to another team hub."), None),
        (ReplicaCollisionError("Another desk is using this desk's identity."), None),
        (HubError("The hub refused the changes."), None),
        (RuntimeError("a bug, with internals"), "an unexpected problem stopped the sync"),
    ],
)
def test_a_refused_sync_stops_with_its_message_and_keeps_the_edits(
    qtbot, world, desk_a, monkeypatch, caplog, error, shown
):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(controller_module, "sync_once", refuse)
    action_id = an_open_action(desk_a.store)
    edit_action(desk_a.runner.desk, action_id, "Kept whatever happens")
    waiting = edits_waiting(desk_a.store)
    with caplog.at_level(logging.INFO, logger="mdt_desk"):
        desk_a.controller.configure(world.hub_url, None)
        qtbot.waitUntil(lambda: desk_a.controller.status.state == SyncState.ERROR)
    status = desk_a.controller.status
    assert status.message.startswith(shown or str(error).rstrip("."))
    assert desk_a.label.text().startswith("Sync stopped: ")
    assert "Traceback" not in desk_a.label.text() + desk_a.label.toolTip()
    assert "internals" not in desk_a.label.text() + desk_a.label.toolTip()
    assert status.waiting == waiting == edits_waiting(desk_a.store)


# -- a conflict, reviewed ------------------------------------------------------------------


def test_a_same_field_conflict_is_reviewed_and_kept_the_other_way(
    qtbot, qtmodeltester, world, desk_a
):
    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    desk_a.controller.stop()
    action_id = an_open_action(desk_a.store)
    engine = hub_engine(world.hub_url)
    with Store.open(world.b_path) as b:
        edit_action(desk_a.runner.desk, action_id, "A says this")
        edit_action(same_person_on(b, desk_a.runner.desk), action_id, "B says that")
        sync_once(b, engine, label="Desk B")

        desk_a.controller.sync_now()
        qtbot.waitUntil(lambda: desk_a.label.text() == "1 to review", timeout=TIMEOUT)
        assert desk_a.controller.status.state == SyncState.NEEDS_REVIEW

        qtbot.mouseClick(desk_a.label, Qt.MouseButton.LeftButton)
        dialog = desk_a.label.review_dialog
        assert dialog is not None
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
        qtmodeltester.check(dialog.model)
        model = dialog.model
        row = [model.index(0, column).data() for column in range(model.columnCount())]
        assert {row[ReviewColumn.KEPT_VALUE], row[ReviewColumn.OTHER_VALUE]} == {
            "A says this",
            "B says that",
        }
        by = row[ReviewColumn.KEPT_BY] + " / " + row[ReviewColumn.OTHER_BY]
        assert desk_a.runner.desk.actor_name in by
        assert "this desk" in by and "another desk" in by
        assert "Not Known" not in by
        assert re.search(r"NHS No\. \d{3} \d{3} \d{4}$", row[ReviewColumn.RECORD])
        assert row[ReviewColumn.FIELD] == "Description"
        item = dialog.selected_item()
        assert item is not None
        assert dialog.kept_box.value.text() == item.kept_text
        assert dialog.other_box.value.text() == item.other_text
        assert dialog.table.accessibleName() == "Items to review"
        buttons = [
            dialog.keep_kept_button,
            dialog.keep_other_button,
            dialog.edit_button,
            dialog.checked_button,
            dialog.restore_button,
        ]
        assert all(button.accessibleName() for button in buttons)
        assert [button.isEnabled() for button in buttons] == [True, True, True, False, False]
        assert all(button.focusPolicy() & Qt.FocusPolicy.TabFocus for button in buttons)

        with qtbot.waitSignal(dialog.item_resolved, timeout=TIMEOUT):
            qtbot.mouseClick(
                child(dialog, QPushButton, "keep_other_button"), Qt.MouseButton.LeftButton
            )
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
        assert dialog.empty_label.isVisibleTo(dialog)
        assert description_of(desk_a.store, action_id) == item.other_text
        qtbot.waitUntil(lambda: "waiting" in desk_a.label.text())

        desk_a.controller.sync_now()
        qtbot.waitUntil(lambda: SYNCED.match(desk_a.label.text()) is not None, timeout=TIMEOUT)
        # The decision reached the other desk too.
        sync_once(b, engine, label="Desk B")
        assert description_of(b, action_id) == item.other_text
        assert open_review_count(b) == 0
    engine.dispose()


def test_edit_and_keep_saves_the_typed_value(qtbot, world, desk_a):
    configure_and_wait_synced(qtbot, desk_a, world.hub_url)
    desk_a.controller.stop()
    action_id = an_open_action(desk_a.store)
    engine = hub_engine(world.hub_url)
    with Store.open(world.b_path) as b:
        edit_action(desk_a.runner.desk, action_id, "A says this")
        edit_action(same_person_on(b, desk_a.runner.desk), action_id, "B says that")
        sync_once(b, engine, label="Desk B")
    engine.dispose()
    desk_a.controller.sync_now()
    qtbot.waitUntil(lambda: desk_a.label.text() == "1 to review", timeout=TIMEOUT)
    dialog = desk_a.label.show_review_list()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.keep_kept_button
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    editor = dialog.edit_dialog
    assert editor is not None
    line = editor.findChild(QLineEdit)
    assert line is not None and line.accessibleName() == "Value to keep"
    line.clear()
    qtbot.keyClicks(line, "Both desks agree on this")
    with qtbot.waitSignal(dialog.item_resolved, timeout=TIMEOUT):
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert description_of(desk_a.store, action_id) == "Both desks agree on this"


# -- Settings → Team hub -------------------------------------------------------------------


def _settings_file() -> Path:
    return Path(QSettings().fileName())


def _files_holding(secret: str, *paths: Path) -> list[Path]:
    return [
        path
        for base in paths
        for path in (base, base.with_name(base.name + "-wal"))
        if path.exists() and secret.encode() in path.read_bytes()
    ]


def test_a_pasted_address_gives_its_password_to_the_password_box():
    assert split_password("postgresql+psycopg://alice:pw@db.example:5433/team") == (
        "postgresql+psycopg://alice@db.example:5433/team",
        "alice",
        "pw",
    )
    assert split_password("postgresql://db.example/team") == (
        "postgresql://db.example/team",
        None,
        None,
    )
    assert split_password("not an address") == ("not an address", None, None)


def test_team_hub_keeps_the_password_only_in_the_keyring(
    qtbot, world, desk_a, memory_keyring, caplog
):
    dialog = TeamHubDialog(desk_a.controller)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.keyring_note.isVisible()
    address_edit = child(dialog, QLineEdit, "hub_address")
    QGuiApplication.clipboard().setText(f"postgresql+psycopg://alice:{PASSWORD}@127.0.0.1:1/team")
    address_edit.setFocus()
    qtbot.keyClick(address_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    address = "postgresql+psycopg://alice@127.0.0.1:1/team"
    assert address_edit.text() == address
    assert child(dialog, QLineEdit, "hub_user").text() == "alice"
    password_edit = child(dialog, QLineEdit, "hub_password")
    assert password_edit.text() == PASSWORD
    assert password_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.password_note.isVisible()

    # The user name is part of the address.
    user_edit = child(dialog, QLineEdit, "hub_user")
    user_edit.clear()
    qtbot.keyClicks(user_edit, "bob")
    address = "postgresql+psycopg://bob@127.0.0.1:1/team"
    assert address_edit.text() == address

    with caplog.at_level(logging.DEBUG):
        with qtbot.waitSignal(dialog.accepted):
            qtbot.mouseClick(child(dialog, QPushButton, "save_button"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: desk_a.controller.status.state == SyncState.OFFLINE, timeout=TIMEOUT
        )

    # The desks' store keys are kept in the keyring too, under their own service.
    kept = {
        entry: secret
        for entry, secret in memory_keyring.passwords.items()
        if entry[0] != KEYRING_SERVICE
    }
    assert kept == {(credentials.SERVICE, "bob@127.0.0.1:1/team"): PASSWORD}
    settings = QSettings()
    assert settings.value(hub_address_key(desk_a.controller.store_path)) == address
    settings.sync()
    assert _settings_file().exists()
    assert _files_holding(PASSWORD, _settings_file(), world.a_path) == []
    assert PASSWORD not in caplog.text
    status = desk_a.controller.status
    assert PASSWORD not in status.message + desk_a.label.text() + desk_a.label.toolTip()
    assert desk_a.controller.has_password
    assert PASSWORD not in desk_a.controller.hub_address

    # Opened again: the address comes back, the password stays in the keyring.
    again = TeamHubDialog(desk_a.controller)
    qtbot.addWidget(again)
    assert child(again, QLineEdit, "hub_address").text() == address
    assert child(again, QLineEdit, "hub_password").text() == ""
    assert "keyring" in child(again, QLineEdit, "hub_password").placeholderText()


def test_without_a_keyring_the_password_is_kept_for_this_run_only(qtbot, world, desk_a):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dialog = TeamHubDialog(desk_a.controller)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.keyring_note.isVisible()
    assert "no keyring" in dialog.keyring_note.text()
    qtbot.keyClicks(child(dialog, QLineEdit, "hub_address"), OFFLINE_HUB)
    qtbot.keyClicks(child(dialog, QLineEdit, "hub_password"), PASSWORD)
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(child(dialog, QPushButton, "save_button"), Qt.MouseButton.LeftButton)
    assert dialog.password_in_memory
    qtbot.waitUntil(lambda: desk_a.controller.status.state == SyncState.OFFLINE, timeout=TIMEOUT)
    assert desk_a.controller.has_password
    assert credentials.load_password(OFFLINE_HUB) is None
    # Configured again without a password (as at the next sync), this run's one is used.
    desk_a.controller.configure(OFFLINE_HUB, None)
    qtbot.waitUntil(lambda: desk_a.controller.status.state == SyncState.OFFLINE, timeout=TIMEOUT)
    assert desk_a.controller.has_password
    QSettings().sync()
    assert _files_holding(PASSWORD, _settings_file(), world.a_path) == []
    again = TeamHubDialog(desk_a.controller)
    qtbot.addWidget(again)
    assert "closes" in child(again, QLineEdit, "hub_password").placeholderText()


def test_test_connection_answers_off_the_gui_thread(qtbot, world, desk_a):
    dialog = TeamHubDialog(desk_a.controller)
    qtbot.addWidget(dialog)
    address_edit = child(dialog, QLineEdit, "hub_address")
    qtbot.keyClicks(address_edit, world.hub_url)
    assert not child(dialog, QLineEdit, "hub_password").isEnabled()  # a file hub has none
    with qtbot.waitSignal(desk_a.controller.connection_tested, timeout=TIMEOUT) as answer:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert dialog.test_result.text() == "Testing the connection…"
    assert answer.args[0].ok
    assert dialog.test_result.text().startswith("Connected")

    address_edit.clear()
    qtbot.keyClicks(address_edit, OFFLINE_HUB)
    with qtbot.waitSignal(desk_a.controller.connection_tested, timeout=TIMEOUT):
        dialog.test_connection()
    assert dialog.test_result.text().startswith("Not connected: The team hub")

    address_edit.clear()
    qtbot.keyClicks(address_edit, "http://example.com")
    assert dialog.test_connection() == 0
    assert dialog.address_error.isVisibleTo(dialog)
    dialog.save()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert QSettings().value(hub_address_key(desk_a.controller.store_path)) is None


@pytest.mark.slow
def test_a_first_sync_shows_a_progress_bar_with_a_percentage(qtbot, world, tmp_path):
    from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QWidget

    from mdt_desk.ui.sync.progress_bar import SyncProgressBar

    # The hub holds a few thousand changes: they come in many pages (a full desk walks
    # the whole log).
    with Store.open(tmp_path / "new-desk.sqlite") as new:
        set_scope(new, DeskScope(all_practices=True))
    controller = SyncController(tmp_path / "new-desk.sqlite", label="New desk")
    window = QWidget()
    qtbot.addWidget(window)
    bar = SyncProgressBar(controller, window)
    QHBoxLayout(window).addWidget(bar)
    window.show()
    shown: list[str] = []
    bar.valueChanged.connect(lambda _value: shown.append(bar.text()) if bar.isVisible() else None)
    try:
        assert not bar.isVisible()
        with qtbot.waitSignal(controller.synced, timeout=TIMEOUT) as synced:
            controller.configure(world.hub_url, None)
        assert synced.args[0].pulled > 1000
        assert bar is child(window, QProgressBar, "sync_progress")
        qtbot.waitUntil(lambda: not bar.isVisible(), timeout=TIMEOUT)  # gone once synced
    finally:
        controller.shutdown()
    assert all(re.fullmatch(r"Receiving \d+%", text) for text in shown)
    values = [int(text.split()[1].rstrip("%")) for text in shown]
    assert any(0 < value < 100 for value in values)
    assert values == sorted(values)
