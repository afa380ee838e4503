"""Settings → Team (issue 10, "Administration in the app"), driven from the keyboard.

A team administrator adds a staff member with roles and a practice, sets them a one-time
PIN (typed twice, never shown again), records them as a leaver (who then cannot sign in)
and sets this desk's idle lock. Every control has a name a screen reader can say; a
mistake is shown under its field; someone who is not an administrator cannot open it.
"""

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget
from sqlalchemy import select

from mdt_desk.errors import UserError
from mdt_desk.models import Staff
from mdt_desk.models.enums import Profession, Role
from mdt_desk.models.store import Store
from mdt_desk.services.access import parse_roles
from mdt_desk.services.desk_settings import IDLE_LOCK_META
from mdt_desk.services.sign_in import sign_in_with_pin
from mdt_desk.services.staff import list_staff
from mdt_desk.ui.team.team_dialog import TeamDialog
from tests.ui.roles import give_roles, window_as

WAIT = 10_000
#: The administrator of these tests also coordinates, as in a small team: one who is only
#: an administrator may not read the caseload, which the window opens on.
ADMINISTRATOR = (Role.TEAM_ADMINISTRATOR, Role.CARE_COORDINATOR)


@pytest.fixture
def store_path(demo_store_path: Path) -> Path:
    give_roles(demo_store_path, Role.TEAM_ADMINISTRATOR, set(ADMINISTRATOR))
    return demo_store_path


def press(qtbot, widget: QWidget, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(widget, key, modifier)


def type_into(qtbot, widget: QWidget, text: str) -> None:
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)


def open_team(qtbot, window) -> TeamDialog:
    assert window.team_settings_action.isEnabled()
    window.team_settings_action.trigger()
    dialog = window.team_dialog
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.team_list.topLevelItemCount() > 0, timeout=WAIT)
    return dialog


def row_of(dialog: TeamDialog, name: str) -> list[str]:
    for index in range(dialog.team_list.topLevelItemCount()):
        item = dialog.team_list.topLevelItem(index)
        if item is not None and item.text(0) == name:
            return [item.text(column) for column in range(item.columnCount())]
    return []


@pytest.mark.slow
def test_an_administrator_adds_staff_with_roles_sets_a_one_time_pin_and_records_a_leaver(
    qtbot, store_path: Path
):
    with window_as(qtbot, store_path, *ADMINISTRATOR) as window:
        dialog = open_team(qtbot, window)
        # Add a staff member: the second tab, reached with Ctrl+Tab.
        press(qtbot, dialog.tabs, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
        assert dialog.tabs.currentIndex() == 1
        type_into(qtbot, dialog.family_edit, "Quist")
        qtbot.keyClick(dialog.family_edit, Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is dialog.given_edit
        qtbot.keyClicks(dialog.given_edit, "Ngozi")
        dialog.profession_combo.setFocus()
        for _ in range(len(Profession)):
            if dialog.profession_combo.currentData() == Profession.PHARMACIST:
                break
            qtbot.keyClick(dialog.profession_combo, Qt.Key.Key_Down)
        assert dialog.profession_combo.currentData() == Profession.PHARMACIST
        practices = dialog.new_practices
        press(qtbot, practices, Qt.Key.Key_Home)
        first_code = str(practices.item(0).data(Qt.ItemDataRole.UserRole))
        qtbot.keyClick(practices, Qt.Key.Key_Space)
        assert practices.chosen() == (first_code,)
        press(qtbot, dialog.new_roles.boxes[Role.TEAM_MEMBER], Qt.Key.Key_Space)
        press(qtbot, dialog.new_roles.boxes[Role.MDT_CHAIR], Qt.Key.Key_Space)
        press(qtbot, dialog.add_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: bool(row_of(dialog, "Ngozi Quist")), timeout=WAIT)
        assert dialog.status_label.text().startswith("Added Ngozi Quist")
        assert window.statusBar().currentMessage().startswith("Added Ngozi Quist")
        assert row_of(dialog, "Ngozi Quist")[2:] == [
            "MDT chair, Team member",
            "Not set",
            "",
            first_code,
        ]

        # The Staff tab: find her by typing her name, then give her a one-time PIN.
        press(qtbot, dialog.tabs, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
        press(qtbot, dialog.tabs, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
        assert dialog.tabs.currentIndex() == 0
        dialog.team_list.setFocus()
        qtbot.keyClicks(dialog.team_list, "Ngozi")
        assert dialog.chosen_label.text() == "Ngozi Quist"
        type_into(qtbot, dialog.pin_edit, "731902")
        type_into(qtbot, dialog.pin_again_edit, "731902")
        press(qtbot, dialog.set_pin_button, Qt.Key.Key_Space)
        assert dialog.pin_edit.text() == dialog.pin_again_edit.text() == ""  # never kept
        qtbot.waitUntil(lambda: row_of(dialog, "Ngozi Quist")[3] == "Set (one-time)", timeout=WAIT)
        assert "PIN set for Ngozi Quist" in dialog.status_label.text()
        assert "731902" not in dialog.status_label.text()

        # She leaves: her last day was yesterday.
        yesterday = dt.date.today() - dt.timedelta(days=1)
        type_into(qtbot, dialog.leaver_date.line_edit, yesterday.isoformat())
        press(qtbot, dialog.record_leaver_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: row_of(dialog, "Ngozi Quist")[4] != "", timeout=WAIT)
        assert "no sign-in after it" in dialog.status_label.text()

    with Store.open(store_path) as store:
        with store.read() as session:
            quist = session.scalars(select(Staff).where(Staff.family_name == "Quist")).one()
            assert parse_roles(quist.roles) == {Role.TEAM_MEMBER, Role.MDT_CHAIR}
            assert quist.pin_must_change and quist.left_on == yesterday
            summary = next(m for m in list_staff(session) if m.id == quist.id)
            assert summary.practice_codes == (first_code,)
            quist_id = quist.id
        with pytest.raises(UserError, match="has left the team"):
            sign_in_with_pin(store, quist_id, "731902")


def test_two_different_pins_are_refused_under_the_field_and_nothing_is_set(qtbot, store_path: Path):
    with window_as(qtbot, store_path, *ADMINISTRATOR) as window:
        dialog = open_team(qtbot, window)
        member = dialog.chosen_member()
        assert member is not None

        def pin_hash() -> str | None:
            with window.runner.desk.store.read() as session:
                staff = session.get(Staff, member.id)
                assert staff is not None
                return staff.pin_hash

        hash_before = pin_hash()
        type_into(qtbot, dialog.pin_edit, "731902")
        type_into(qtbot, dialog.pin_again_edit, "731903")
        press(qtbot, dialog.set_pin_button, Qt.Key.Key_Space)
        error = dialog.pin_errors.label_for("pin_again")
        assert error.isVisible() and "not the same" in error.text()
        assert dialog.pin_edit.text() == ""
        type_into(qtbot, dialog.pin_edit, "12")
        type_into(qtbot, dialog.pin_again_edit, "12")
        press(qtbot, dialog.set_pin_button, Qt.Key.Key_Space)
        assert "At least 6" in dialog.pin_errors.label_for("pin").text()
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
        assert pin_hash() == hash_before  # nothing was set: neither PIN reached the store
        assert dialog.status_label.text() == ""


def test_the_idle_lock_is_set_from_the_keyboard_and_the_window_follows_it(qtbot, store_path: Path):
    with window_as(qtbot, store_path, *ADMINISTRATOR) as window:
        dialog = open_team(qtbot, window)
        press(qtbot, dialog.tabs, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
        press(qtbot, dialog.tabs, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
        type_into(qtbot, dialog.idle_minutes.lineEdit(), "5")
        press(qtbot, dialog.save_idle_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: "5 minutes" in dialog.status_label.text(), timeout=WAIT)
        assert window.idle_lock.interval_ms() == 5 * 60_000
        assert window.runner.desk.store.get_meta(IDLE_LOCK_META) == "5"


def test_a_patient_list_that_cannot_be_read_is_explained_under_the_button(
    qtbot, store_path: Path, tmp_path: Path
):
    with window_as(qtbot, store_path, *ADMINISTRATOR) as window:
        dialog = open_team(qtbot, window)
        dialog.tabs.setCurrentIndex(2)
        dialog.import_patient_list(tmp_path / "no-such-list.csv")
        qtbot.waitUntil(dialog.import_error.isVisible, timeout=WAIT)
        assert dialog.import_error.text().startswith("Error: ")
        assert dialog.import_status.text() == "No patients imported."
        assert dialog.import_button.isEnabled()


def test_every_control_of_team_settings_has_a_name_for_screen_readers(qtbot, store_path: Path):
    with window_as(qtbot, store_path, *ADMINISTRATOR) as window:
        dialog = open_team(qtbot, window)
        unnamed = []
        for index in range(dialog.tabs.count()):
            dialog.tabs.setCurrentIndex(index)
            for widget in dialog.findChildren(QWidget):
                takes_focus = bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
                if not widget.isVisible() or not takes_focus:
                    continue
                accessible = QAccessible.queryAccessibleInterface(widget)
                name = accessible.text(QAccessible.Text.Name) if accessible else ""
                if not name.strip():
                    unnamed.append(f"{type(widget).__name__} {widget.objectName()!r}")
        assert not unnamed, unnamed
        buttons = [b for b in dialog.findChildren(QAbstractButton) if b.isVisible()]
        assert buttons


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.CARE_NAVIGATOR])
def test_team_settings_is_not_offered_to_someone_who_is_not_an_administrator(
    qtbot, demo_store_path: Path, role: Role
):
    with window_as(qtbot, demo_store_path, role) as window:
        assert not window.team_settings_action.isEnabled()
        assert "does not allow" in window.team_settings_action.toolTip()
