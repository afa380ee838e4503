"""The sign-in screen, the lock and the first PIN, on the real main window (issue 10).

The window opens on the sign-in screen past set-up; a PIN opens the caseload; five wrong
PINs lock that person out; the desk locks after idle time or on Ctrl+L, and while it is
locked no patient name or NHS number is in any visible widget, meeting mode on the
projector included; the same PIN unlocks, and someone else signing in from the lock
keeps every draft. The first person to set a PIN in the welcome becomes administrator.
"""

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextEdit,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.app import create_main_window
from mdt_desk.models import Patient, Staff
from mdt_desk.models.entities import AccessEvent
from mdt_desk.models.enums import AccessAction, MeetingStatus, Profession, Role
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, drafts, meetings
from mdt_desk.services import staff as staff_service
from mdt_desk.services.access import parse_roles
from mdt_desk.services.caseload import CaseloadView
from mdt_desk.services.sign_in import DEMO_PIN, record_leaver, set_pin
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.welcome_dialog import WelcomeDialog
from tests.ui.finders import child
from tests.ui.roles import staff_with_roles
from tests.ui.signed_in import create_main_window as create_signed_in_window

WAIT = 10_000
TYPED = "Son asks for a call before the next visit (typed before the lock)"
NHS_NUMBER = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")


@pytest.fixture
def pin_store(demo_store_path: Path) -> Path:
    """The demo store: past set-up, every staff member's PIN the demo PIN."""
    return demo_store_path


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)


def show(qtbot, window: MainWindow) -> MainWindow:
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot, window)
    return window


def staff_ids(path: Path) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The demo's signed-in coordinator, another staff member, and the other's family name."""
    with Store.open(path) as store:
        me = staff_service.signed_in_staff_id(store)
        with store.read() as session:
            others = session.scalars(
                select(Staff).where(Staff.id != me, Staff.retired_at.is_(None)).order_by(Staff.id)
            ).all()
            other = next(o for o in others if Role.TEAM_ADMINISTRATOR not in parse_roles(o.roles))
            assert me is not None
            return me, other.id, other.family_name


def administrator_id(path: Path) -> uuid.UUID:
    with Store.open(path) as store, store.read() as session:
        return next(
            staff.id
            for staff in session.scalars(select(Staff).where(Staff.retired_at.is_(None)))
            if Role.TEAM_ADMINISTRATOR in parse_roles(staff.roles)
        )


def sign_in(qtbot, window: MainWindow, pin: str, family_name: str | None = None) -> None:
    """Choose someone (or keep the one chosen), type the PIN and press Enter."""
    page = window.sign_in_page
    settle(qtbot, window)
    if family_name is not None:
        # set, not typed: QTest types ASCII only, and names need not be
        page.filter_edit.setText(family_name)
    page.pin_edit.setFocus()
    qtbot.keyClicks(page.pin_edit, pin)
    qtbot.keyClick(page.pin_edit, Qt.Key.Key_Return)
    settle(qtbot, window)


def patient_names_and_numbers(path: Path) -> list[str]:
    """Every person's name as screens show it (``FAMILY, Given``) and NHS number."""
    with Store.open(path) as store, store.read() as session:
        rows = session.execute(
            select(Patient.family_name, Patient.given_name, Patient.nhs_number)
        ).all()
    said: list[str] = []
    for family, given, number in rows:
        said.append(f"{family.upper()}, {given}")
        if number:
            said.append(number)
    return said


def _model_text(model: QAbstractItemModel) -> list[str]:
    texts = []
    for row in range(min(model.rowCount(), 200)):
        for column in range(model.columnCount()):
            value = model.index(row, column).data()
            if value is not None:
                texts.append(str(value))
    return texts


def visible_text() -> list[str]:
    """Everything a person could read on any visible widget of any window."""
    texts: list[str] = []
    for widget in QApplication.allWidgets():
        if not widget.isVisible():
            continue
        if widget.isWindow():
            texts.append(widget.windowTitle())
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        if isinstance(widget, QLineEdit):
            texts += [widget.text(), widget.placeholderText()]
        if isinstance(widget, QPlainTextEdit | QTextEdit):
            texts += [widget.toPlainText(), widget.placeholderText()]
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QTabWidget):
            texts += [widget.tabText(i) for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            texts += _model_text(widget.model())
    return [text for text in texts if text]


def assert_no_patient_data_on_screen(path: Path) -> None:
    shown = "\n".join(visible_text())
    assert shown, "nothing visible at all: the check would prove nothing"
    assert not NHS_NUMBER.search(shown), NHS_NUMBER.search(shown)
    leaked = [said for said in patient_names_and_numbers(path) if said in shown]
    assert leaked == []


def open_first_case(qtbot, window: MainWindow):
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() > 0, timeout=WAIT)
    index = window.caseload_model.index(0, 0)
    window.caseload_table.activated.emit(index)
    record = window.open_records()[-1]
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    settle(qtbot, window)
    return record


def events(path: Path, action: AccessAction) -> list[AccessEvent]:
    with Store.open(path) as store, store.read() as session:
        found = session.scalars(select(AccessEvent).where(AccessEvent.action == action)).all()
        session.expunge_all()
        return list(found)


# -- signing in ------------------------------------------------------------------------


def test_the_window_opens_on_the_sign_in_screen_and_the_pin_opens_the_caseload(
    qtbot, pin_store: Path
) -> None:
    me, _other, _family = staff_ids(pin_store)
    window = show(qtbot, create_main_window(pin_store))
    page = window.sign_in_page
    assert window.locked
    assert window.central_stack.currentWidget() is page
    assert not window.caseload_table.isVisible()
    assert page.pin_edit.echoMode() is QLineEdit.EchoMode.Password
    assert page.chosen_id() == me  # the last person to sign in, chosen
    assert "(demo store — every PIN is 246810)" in window.windowTitle()
    assert page.demo_label.isVisible()
    assert QApplication.focusWidget() is page.pin_edit
    assert_no_patient_data_on_screen(pin_store)

    with qtbot.waitSignal(page.signed_in, timeout=WAIT):
        sign_in(qtbot, window, DEMO_PIN)
    assert not window.locked
    assert window.runner.desk.principal is not None
    assert window.runner.desk.principal.staff_id == me
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() > 0, timeout=WAIT)
    assert window.caseload_table.isVisible()
    # Typing straight after signing in goes to Find patient (contracts.md).
    assert QApplication.focusWidget() is window.quick_find
    assert events(pin_store, AccessAction.SIGN_IN)


def test_five_wrong_pins_are_refused_then_the_person_is_locked_out(qtbot, pin_store) -> None:
    me, _other, _family = staff_ids(pin_store)
    window = show(qtbot, create_main_window(pin_store))
    page = window.sign_in_page
    with Store.open(pin_store) as store, store.read() as session:
        staff = session.get(Staff, me)
        assert staff is not None
        name = staff_service.display_staff_name(staff.family_name, staff.given_name, staff.title)
    for _attempt in range(4):
        sign_in(qtbot, window, "135790")
        assert page.error_label.isVisible()
        assert page.error_label.text() == f"Error: PIN not recognised for {name}."
        assert page.error_label.accessibleName() == f"PIN not recognised for {name}."
        assert page.pin_edit.text() == ""  # never left on screen
        assert window.locked
    sign_in(qtbot, window, "135790")
    assert f"Too many wrong PINs for {name}" in page.error_label.text()
    assert re.search(r"locked until \d\d:\d\d", page.error_label.text())
    # Even the right PIN is refused until the lock-out ends.
    sign_in(qtbot, window, DEMO_PIN)
    assert "Too many wrong PINs" in page.error_label.text()
    assert window.locked
    assert window.runner.desk.principal is None
    assert len(events(pin_store, AccessAction.SIGN_IN_FAILED)) == 5
    assert len(events(pin_store, AccessAction.LOCKED_OUT)) == 1


def test_a_leaver_is_refused_with_the_reason(qtbot, pin_store) -> None:
    _me, other, family = staff_ids(pin_store)
    with Store.open(pin_store) as store, store.write(administrator_id(pin_store), "") as session:
        record_leaver(session, other, dt.date.today() - dt.timedelta(days=2))
    window = show(qtbot, create_main_window(pin_store))
    sign_in(qtbot, window, DEMO_PIN, family)
    assert "has left the team and can no longer sign in" in window.sign_in_page.error_label.text()
    assert window.locked


def test_a_one_time_pin_is_changed_before_the_desk_opens(qtbot, pin_store) -> None:
    _me, other, family = staff_ids(pin_store)
    with Store.open(pin_store) as store, store.write(administrator_id(pin_store), "") as session:
        set_pin(session, other, "482913", one_time=True)
    window = show(qtbot, create_main_window(pin_store))
    page = window.sign_in_page
    sign_in(qtbot, window, "482913", family)
    assert page.change_box.isVisible() and window.locked
    qtbot.keyClicks(page.new_pin_edit, "917253")
    qtbot.keyClicks(page.repeat_pin_edit, "917254")
    qtbot.keyClick(page.repeat_pin_edit, Qt.Key.Key_Return)
    assert "not the same" in page.error_label.text()
    assert window.locked
    page.repeat_pin_edit.clear()
    qtbot.keyClicks(page.repeat_pin_edit, "917253")
    with qtbot.waitSignal(page.signed_in, timeout=WAIT):
        qtbot.keyClick(page.repeat_pin_edit, Qt.Key.Key_Return)
    assert not window.locked
    assert window.runner.desk.actor_id == other
    with Store.open(pin_store) as store, store.read() as session:
        staff = session.get(Staff, other)
        assert staff is not None and not staff.pin_must_change


def test_accessible_names_of_the_pin_field_and_the_caseload(qtbot, pin_store) -> None:
    window = show(qtbot, create_main_window(pin_store))

    def name_of(widget: QWidget) -> str:
        interface = QAccessible.queryAccessibleInterface(widget)
        assert interface is not None
        return interface.text(QAccessible.Text.Name)

    assert name_of(window.sign_in_page.pin_edit) == "PIN"
    assert name_of(window.sign_in_page.staff_list) == "Staff"
    assert name_of(window.sign_in_page.filter_edit) == "Find yourself"
    assert name_of(window.sign_in_page.sign_in_button) == "Sign in"
    assert name_of(window.caseload_table) == "Caseload"


# -- the lock --------------------------------------------------------------------------


@pytest.mark.slow
def test_idle_locks_the_desk_with_nothing_of_any_patient_on_screen_and_the_pin_unlocks(
    qtbot, pin_store
) -> None:
    meeting_id = chair_with_a_meeting(pin_store)
    window = show(qtbot, create_signed_in_window(pin_store))
    record = open_first_case(qtbot, window)
    meeting_window = window.open_meeting_mode(meeting_id)
    qtbot.waitUntil(lambda: meeting_window.briefing is not None, timeout=WAIT)
    settle(qtbot, window)
    assert NHS_NUMBER.search("\n".join(visible_text()))  # the check would see one

    window.set_idle_lock_interval_ms(300)
    qtbot.waitUntil(lambda: window.locked, timeout=WAIT)
    settle(qtbot, window)
    assert window.windowTitle().startswith("MDT Desk — locked")
    assert meeting_window.isVisible() and meeting_window.is_locked()
    assert meeting_window.windowTitle() == "MDT Desk is locked"
    assert child(meeting_window, QLabel, "meeting_locked_page").isVisible()
    assert_no_patient_data_on_screen(pin_store)
    assert events(pin_store, AccessAction.LOCK)

    sign_in(qtbot, window, DEMO_PIN)
    assert not window.locked
    assert window.workspace.currentWidget() is record  # where they were
    assert record.isVisible()
    assert not meeting_window.is_locked()
    assert meeting_window.windowTitle() == "Meeting mode"
    assert NHS_NUMBER.search("\n".join(visible_text()))
    meeting_window.close()


@pytest.mark.slow
def test_ctrl_l_locks_and_hides_open_dialogs_until_unlocked(qtbot, pin_store) -> None:
    window = show(qtbot, create_signed_in_window(pin_store))
    dialog = window.show_new_referral()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.locked
    assert not dialog.isVisible()
    assert not window.menuBar().isVisible()
    assert not window.new_referral_action.isEnabled()  # Ctrl+N does nothing while locked
    assert window.signed_in_label.text() == "Locked"
    sign_in(qtbot, window, DEMO_PIN)
    assert not window.locked
    assert dialog.isVisible()
    assert window.new_referral_action.isEnabled()
    dialog.reject()


@pytest.mark.slow
def test_someone_else_signing_in_at_the_lock_keeps_the_typed_note_draft(qtbot, pin_store) -> None:
    me, other, other_family = staff_ids(pin_store)
    window = show(qtbot, create_signed_in_window(pin_store))
    record = open_first_case(qtbot, window)
    record_case = record.case_id
    record.show_tab("notes")
    editor = record.notes_tab.note_editor
    editor.setFocus()
    qtbot.keyClicks(editor, TYPED)
    window.lock()  # at once: nothing may depend on the draft timer having fired

    sign_in(qtbot, window, DEMO_PIN, other_family)
    assert not window.locked
    assert window.runner.desk.actor_id == other
    # the other person never sees it, nor the record read with the first person's rights
    assert not any(
        shiboken6.isValid(open_record) and open_record.case_id == record_case
        for open_record in window._records
    )
    key = drafts.draft_key(drafts.NOTE, str(record_case))
    with Store.open(pin_store) as store, store.read() as session:
        kept = drafts.load_draft(session, key, staff_id=me)
    assert kept is not None and kept.body == TYPED  # …but it is kept for its author
    assert events(pin_store, AccessAction.SIGN_OUT)

    window.lock()
    me_family = staff_family(pin_store, me)
    sign_in(qtbot, window, DEMO_PIN, me_family)
    assert window.runner.desk.actor_id == me
    again = open_first_case(qtbot, window)
    again.show_tab("notes")
    qtbot.waitUntil(lambda: again.notes_tab.note_editor.toPlainText() == TYPED, timeout=WAIT)


def chair_with_a_meeting(path: Path) -> uuid.UUID:
    """Make an MDT chair the desk's last signed-in person, with a case on a planned
    meeting's agenda; the meeting's id."""
    with Store.open(path) as store:
        chair = staff_with_roles(store, Role.MDT_CHAIR)
        assert chair.staff_id is not None
        staff_service.sign_in(store, chair.staff_id)
        with store.write(chair.staff_id, chair.display_name) as session:
            meeting = next(
                m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED
            )
            proposal = agenda_rules.propose(session, meeting.id)[0]
            meetings.add_to_agenda(session, meeting.id, proposal.case_id, reason=proposal.reason)
        return meeting.id


def staff_family(path: Path, staff_id: uuid.UUID) -> str:
    """Given and family name: enough to pick this one person out (two staff may share a
    family name)."""
    with Store.open(path) as store, store.read() as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        return f"{staff.given_name} {staff.family_name}"


# -- set-up ----------------------------------------------------------------------------


def test_the_first_pin_set_in_the_welcome_makes_an_administrator_and_signs_in(
    qtbot, tmp_path: Path
) -> None:
    window = show(qtbot, create_main_window(tmp_path / "fresh.sqlite"))
    assert not window.locked  # nobody has a PIN: nothing to sign in with yet
    dialog = window.show_welcome()
    assert isinstance(dialog, WelcomeDialog)
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_family"), "Okafor")
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_given"), "Ngozi")
    profession = child(dialog, QComboBox, "welcome_staff_profession")
    profession.setCurrentIndex(profession.findData(Profession.SOCIAL_WORKER))
    with qtbot.waitSignal(dialog.staff_added, timeout=WAIT) as added:
        dialog.add_staff()
    member = added.args[0]
    settle(qtbot, window)
    pin = child(dialog, QLineEdit, "welcome_pin_edit")
    again = child(dialog, QLineEdit, "welcome_repeat_pin_edit")
    assert pin.echoMode() is QLineEdit.EchoMode.Password
    qtbot.keyClicks(pin, "731964")
    qtbot.keyClicks(again, "731965")
    child(dialog, QPushButton, "welcome_sign_in_button").click()
    assert "not the same" in dialog.sign_in_error.text()
    qtbot.keyClicks(again, "731964")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        child(dialog, QPushButton, "welcome_sign_in_button").click()
    settle(qtbot, window)
    principal = window.runner.desk.principal
    assert principal is not None and principal.staff_id == member.id
    assert Role.TEAM_ADMINISTRATOR in principal.roles
    with Store.open(tmp_path / "fresh.sqlite") as store, store.read() as session:
        staff = session.get(Staff, member.id)
        assert staff is not None and staff.pin_hash and "731964" not in staff.pin_hash
        assert Role.TEAM_ADMINISTRATOR in parse_roles(staff.roles)
    assert not window.locked
    qtbot.waitUntil(lambda: window.may_lock, timeout=WAIT)
    window.lock()  # past set-up now: the desk can lock, and the PIN opens it
    assert window.locked
    sign_in(qtbot, window, "731964")
    assert not window.locked
