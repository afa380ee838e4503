"""Start-up: the sign-in screen first, the desk loaded behind it, nothing typed lost."""

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import func, select

from mdt_desk import app
from mdt_desk.launch import _gui_store
from mdt_desk.models.entities import Patient
from mdt_desk.models.store import Store
from mdt_desk.services.caseload import find_patients
from mdt_desk.services.desk import Desk
from mdt_desk.services.sign_in import DEMO_PIN, sign_in_with_pin
from mdt_desk.services.staff import list_staff
from mdt_desk.startup import DeskStart
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.startup_shell import StartupShell, opens_on_sign_in, remember_sign_in
from tests.shared_stores import store_sealed_by_passphrase

WAIT_MS = 30_000
PASSPHRASE = "kitchen table passphrase"


def _common_family_name(path: Path) -> str:
    with Store.open(path) as store, store.read() as session:
        family = session.execute(
            select(Patient.family_name)
            .group_by(Patient.family_name)
            .order_by(func.count().desc(), Patient.family_name)
            .limit(1)
        ).scalar_one()
    return str(family)


def _matches_for(path: Path, text: str) -> list[uuid.UUID]:
    """What Find patient should list for ``text``, as the demo coordinator sees it."""
    with Store.open(path) as store:
        desk = Desk.for_store(store)
        assert desk.actor_id is not None
        desk = desk.signed_in_as(sign_in_with_pin(store, desk.actor_id, DEMO_PIN).principal)
        with desk.read() as session:
            return [match.patient_id for match in find_patients(session, text, limit=30)]


@pytest.fixture
def starts() -> Iterator[list[DeskStart]]:
    """Start-ups a test made: whatever is left of them is closed, the loader waited for."""
    made: list[DeskStart] = []
    yield made
    for start in made:
        if shiboken6.isValid(start.shell):
            start.shell.close()
        start.wait_for_loader()


def _start(starts: list[DeskStart], path: Path) -> DeskStart:
    remember_sign_in(path, True)  # opened here before, on its sign-in screen
    start = DeskStart(path)
    starts.append(start)
    return start


def _window(qtbot, start: DeskStart) -> MainWindow:
    qtbot.waitUntil(lambda: start.window is not None, timeout=WAIT_MS)
    window = start.window
    assert window is not None
    qtbot.addWidget(window)
    return window


def test_typing_in_the_first_100_ms_is_kept_and_find_patient_answers_it(
    qtbot, demo_store_path: Path, starts: list[DeskStart]
) -> None:
    family = _common_family_name(demo_store_path)
    typed = family[:4].lower()
    expected = _matches_for(demo_store_path, typed)
    assert expected  # the search has something to find

    start = _start(starts, demo_store_path)
    started = time.perf_counter()
    start.begin()
    shell = start.shell
    qtbot.waitUntil(shell.pin_edit.hasFocus, timeout=WAIT_MS)  # taking keys at once
    QTest.keyClicks(shell.pin_edit, DEMO_PIN)
    QTest.keyClick(shell.pin_edit, Qt.Key.Key_Return)
    assert shell.find_edit.isVisible() and shell.find_edit.hasFocus()
    QTest.keyClicks(shell.find_edit, typed[:2])
    assert time.perf_counter() - started < 0.1  # PIN, Enter and a name begun: 100 ms
    # The rest a key at a time while the desk loads and signs in behind the screen,
    # each key into whatever has the focus, as a keyboard would.
    for character in typed[2:]:
        qtbot.wait(40)
        target = QApplication.focusWidget()
        assert target is not None
        QTest.keyClicks(target, character)
    window = _window(qtbot, start)
    model = window.quick_find.model
    qtbot.waitUntil(
        lambda: (
            not window.locked
            and window.quick_find.text() == typed
            and [model.patient_id_at(row) for row in range(model.rowCount())] == expected
        ),
        timeout=WAIT_MS,
    )
    assert window.sign_in_page.pin_edit.text() == ""  # nothing typed went into a PIN
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() > 0, timeout=WAIT_MS)
    assert not shiboken6.isValid(start.shell) or not start.shell.isVisible()
    window.close()


def test_a_pin_typed_while_the_window_is_built_goes_on_in_the_real_sign_in_page(
    qtbot, demo_store_path: Path, starts: list[DeskStart]
) -> None:
    start = _start(starts, demo_store_path)
    start.begin()
    QTest.keyClicks(start.shell.pin_edit, DEMO_PIN[:3])
    window = _window(qtbot, start)
    page = window.sign_in_page
    assert window.locked and page.pin_edit.text() == DEMO_PIN[:3]
    qtbot.waitUntil(page.pin_edit.hasFocus, timeout=WAIT_MS)  # the focus where it was
    target = QApplication.focusWidget()
    assert target is not None
    QTest.keyClicks(target, DEMO_PIN[3:])
    QTest.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=WAIT_MS)
    window.close()


def test_a_wrong_pin_typed_at_start_up_is_refused_on_the_sign_in_page(
    qtbot, demo_store_path: Path, starts: list[DeskStart]
) -> None:
    start = _start(starts, demo_store_path)
    start.begin()
    QTest.keyClicks(start.shell.pin_edit, "999999")
    QTest.keyClick(start.shell.pin_edit, Qt.Key.Key_Return)
    QTest.keyClicks(start.shell.find_edit, "smi")
    window = _window(qtbot, start)
    error = window.sign_in_page.error_label
    qtbot.waitUntil(error.isVisible, timeout=WAIT_MS)
    assert window.locked
    assert "PIN" in error.text()
    assert window.quick_find.text() == ""  # nothing searched for anyone not signed in
    window.close()


def test_closing_the_sign_in_screen_before_the_desk_is_ready_ends_cleanly(
    qtbot, demo_store_path: Path, starts: list[DeskStart], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[Store] = []
    close = Store.close

    def spy(store: Store) -> None:
        closed.append(store)
        close(store)

    monkeypatch.setattr(Store, "close", spy)
    start = _start(starts, demo_store_path)
    ended: list[int] = []
    start.finished.connect(ended.append)
    start.begin()
    qtbot.waitUntil(lambda: start.loading, timeout=WAIT_MS)
    start.shell.close()
    assert ended == [0]
    start.wait_for_loader()  # the store the loader opened is closed again
    opened = start.loaded_desk
    assert opened is not None and not isinstance(opened, BaseException)
    assert start.window is None
    assert opened.desk.store in closed  # its connections let go, not left to exit
    # nothing was half-written: the store opens and reads as before
    with Store.open(demo_store_path) as store, store.read() as session:
        assert session.execute(select(func.count()).select_from(Patient)).scalar_one() > 0


def test_only_a_store_that_opened_on_its_sign_in_screen_starts_with_one(
    demo_store_path: Path, tmp_path: Path
) -> None:
    assert not opens_on_sign_in(demo_store_path)  # never opened here
    remember_sign_in(demo_store_path, True)
    assert opens_on_sign_in(demo_store_path)
    remember_sign_in(demo_store_path, False)
    assert not opens_on_sign_in(demo_store_path)
    assert not opens_on_sign_in(tmp_path / "not-made-yet.sqlite")


def test_a_store_sealed_by_a_passphrase_is_asked_for_on_the_gui_thread(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starts: list[DeskStart]
) -> None:
    path = store_sealed_by_passphrase(tmp_path / "desk.sqlite", PASSPHRASE, monkeypatch)
    asked: list[bool] = []

    def ask(_path: Path, new: bool, _problem: str = "") -> str:
        # the loader thread never asks: a dialog can only be shown by the GUI thread
        asked.append(threading.current_thread() is threading.main_thread())
        return PASSPHRASE

    monkeypatch.setattr(app, "ask_store_passphrase", ask)
    start = _start(starts, path)
    start.begin()
    window = _window(qtbot, start)
    assert asked == [True]
    assert window.isVisible()
    qtbot.waitUntil(lambda: not shiboken6.isValid(start.shell), timeout=WAIT_MS)
    window.close()
    window.runner.shutdown()


def test_every_control_of_the_start_up_screen_is_named_for_a_screen_reader(
    qtbot, tmp_path: Path
) -> None:
    shell = StartupShell(tmp_path / "desk.sqlite")
    qtbot.addWidget(shell)
    shell.show()

    def name(widget: QObject) -> str:
        return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)

    assert name(shell.pin_edit) == "PIN"  # contracts: the PIN field's accessible name
    assert name(shell.filter_edit) == "Find yourself"
    assert name(shell.staff_list) == "Staff"
    assert name(shell.sign_in_button) == "Sign in"
    assert name(shell.find_edit) == "Find patient"
    QTest.keyClick(shell.pin_edit, Qt.Key.Key_Return)  # Enter with no PIN: said, not sent
    assert not shell.typed().submitted
    assert "Type your PIN" in shell.explanation.text()


def test_a_name_typed_at_start_up_signs_in_only_the_one_person_it_fits(
    qtbot, demo_store_path: Path, starts: list[DeskStart]
) -> None:
    with Store.open(demo_store_path) as store, store.read() as session:
        team = list_staff(session)
    someone = next(member for member in team if member.pin_set and member.left_on is None)
    start = _start(starts, demo_store_path)
    start.begin()
    QTest.keyClicks(start.shell.filter_edit, someone.display_name)
    QTest.keyClick(start.shell.filter_edit, Qt.Key.Key_Return)  # on to the PIN
    QTest.keyClicks(start.shell.pin_edit, DEMO_PIN)
    QTest.keyClick(start.shell.pin_edit, Qt.Key.Key_Return)
    window = _window(qtbot, start)
    qtbot.waitUntil(lambda: not window.locked, timeout=WAIT_MS)
    principal = window.runner.desk.principal
    assert principal is not None and principal.staff_id == someone.id
    window.close()


def test_a_name_that_fits_several_people_signs_nobody_in_but_asks(
    qtbot, demo_store_path: Path, starts: list[DeskStart]
) -> None:
    start = _start(starts, demo_store_path)
    start.begin()
    QTest.keyClicks(start.shell.filter_edit, "a")  # in nearly every name
    QTest.keyClick(start.shell.filter_edit, Qt.Key.Key_Return)
    QTest.keyClicks(start.shell.pin_edit, DEMO_PIN)
    QTest.keyClick(start.shell.pin_edit, Qt.Key.Key_Return)
    window = _window(qtbot, start)
    page = window.sign_in_page
    qtbot.waitUntil(page.error_label.isVisible, timeout=WAIT_MS)
    assert window.locked and window.isVisible()
    assert "Choose who you are" in page.error_label.text()
    assert len(page.shown_names()) > 1 and window.runner.desk.principal is None
    window.close()


def test_a_failure_while_the_window_is_built_is_said_and_ends_start_up(
    qtbot, demo_store_path: Path, starts: list[DeskStart], monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, _title, text: said.append(text))

    def broken(_opened: object) -> None:
        raise RuntimeError("the window could not be built")

    monkeypatch.setattr(app, "window_for", broken)
    start = _start(starts, demo_store_path)
    ended: list[int] = []
    start.finished.connect(ended.append)
    start.begin()
    qtbot.waitUntil(lambda: ended == [2], timeout=WAIT_MS)
    assert said and "could not open the store" in said[0]
    assert not shiboken6.isValid(start.shell) or not start.shell.isVisible()


@pytest.mark.parametrize(
    ("arguments", "store"),
    [
        ([], None),
        (["--store", "desk.sqlite"], Path("desk.sqlite")),
        (["--store=desk.sqlite"], Path("desk.sqlite")),
        (["--help"], False),
        (["--version"], False),
        (["--store", "desk.sqlite", "export"], False),
        (["--store="], False),
        (["--store", "-x"], False),
        (["stats"], False),
    ],
)
def test_only_the_desktop_start_skips_the_command_line(
    arguments: list[str], store: Path | bool | None
) -> None:
    assert _gui_store(arguments) == store
