"""File → Sign in as…: in set-up, a GP chair signs in on the desk and becomes the actor.

Only in set-up, before anyone has a PIN, does File → Sign in as… sign in without one;
past set-up it is the lock screen (``test_sign_in_lock.py``).
"""

import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QListView
from sqlalchemy import select

from mdt_desk.models import Staff
from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service
from mdt_desk.ui.sign_in_dialog import _STAFF_ID_ROLE, SignInDialog
from tests.ui.finders import child, focused
from tests.ui.test_main_window import open_window

WAIT = 10_000


@pytest.fixture
def setup_store_path(demo_store_path: Path) -> Path:
    """The demo's team as it was before anyone had a PIN: the store is in set-up."""
    with Store.open(demo_store_path) as store:
        actor = staff_service.signed_in_staff_id(store)
        with store.write(actor, "test") as session:
            for member in session.scalars(select(Staff)):
                member.pin_hash = ""
    return demo_store_path


def test_signing_in_as_another_member_from_the_file_menu(
    qtbot, setup_store_path, wait_idle
) -> None:
    window = open_window(qtbot, setup_store_path, wait_idle)
    window.activateWindow()
    before = window.runner.desk.actor_id
    file_menu = window.menus[0]
    action = next(a for a in file_menu.actions() if a.text().replace("&", "") == "Sign in as…")
    action.trigger()
    dialog = window.sign_in_dialog
    assert isinstance(dialog, SignInDialog)
    wait_idle(window)
    names = dialog.shown_names()
    assert names and all(" — " in name for name in names)  # name — profession
    gp = next(name for name in names if name.endswith("— GP") and name.startswith("Dr "))
    family = gp.split(" — ")[0].split()[-1]
    # type-to-filter: any part of the name, not only its start ("Dr …")
    filter_edit = child(dialog, QLineEdit, "sign_in_filter")
    assert focused(QLineEdit) is filter_edit
    qtbot.keyClicks(filter_edit, family[1:].lower())
    shown = dialog.shown_names()
    assert gp in shown and len(shown) < len(names)
    staff_list = child(dialog, QListView, "sign_in_staff_list")
    while staff_list.currentIndex().data() != gp:
        qtbot.keyClick(filter_edit, Qt.Key.Key_Down)
    chosen = dialog.chosen_id()
    assert chosen is not None and chosen != before
    with qtbot.waitSignal(dialog.signed_in, timeout=WAIT):
        qtbot.keyClick(filter_edit, Qt.Key.Key_Return)
    wait_idle(window)
    assert window.runner.desk.actor_id == chosen
    label = window.signed_in_label
    assert isinstance(label, QLabel)
    assert label.text() == f"Signed in: {gp.split(' — ')[0]}"
    # the desk remembers who is signed in (as it opens next time)
    assert staff_service.signed_in_staff_id(window.runner.desk.store) == chosen


def test_an_empty_choice_is_refused(qtbot, setup_store_path, wait_idle) -> None:
    window = open_window(qtbot, setup_store_path, wait_idle)
    dialog = window.show_sign_in()
    assert isinstance(dialog, SignInDialog)  # in set-up: the no-PIN dialog
    wait_idle(window)
    qtbot.keyClicks(child(dialog, QLineEdit, "sign_in_filter"), "zzzzzz")
    assert dialog.shown_names() == []
    dialog.sign_in_chosen()
    assert "Choose who you are" in dialog.error_label.text()
    dialog.reject()


def test_closing_the_dialog_while_signing_in_still_signs_in_whole(
    qtbot, setup_store_path, wait_idle, monkeypatch
) -> None:
    window = open_window(qtbot, setup_store_path, wait_idle)
    before = window.runner.desk
    dialog = window.show_sign_in()
    assert isinstance(dialog, SignInDialog)  # in set-up: the no-PIN dialog
    wait_idle(window)
    rows = [dialog.proxy.index(row, 0) for row in range(dialog.proxy.rowCount())]
    other = next(index for index in rows if index.data(_STAFF_ID_ROLE) != before.actor_id)
    dialog.staff_list.setCurrentIndex(other)
    chosen = dialog.chosen_id()
    assert chosen is not None
    gate = threading.Event()
    real_sign_in = staff_service.sign_in

    def slow_sign_in(store, staff_id):
        gate.wait(10)
        return real_sign_in(store, staff_id)

    monkeypatch.setattr(staff_service, "sign_in", slow_sign_in)
    dialog.sign_in_chosen()
    dialog.reject()  # closed while the sign-in runs
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=WAIT)
    gate.set()
    wait_idle(window)

    # Applied whole: the store, the desk the window works with and the status bar agree.
    desk = window.runner.desk
    assert staff_service.signed_in_staff_id(desk.store) == chosen
    assert desk.actor_id == chosen
    assert window.signed_in_label.text() == f"Signed in: {desk.actor_name}"
    qtbot.waitUntil(lambda: window.caseload_model.query.coordinator_id == chosen, timeout=WAIT)
