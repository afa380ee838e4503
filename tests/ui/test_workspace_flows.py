"""End to end in the real main window on a demo store: the flows of a coordinator's day,
driven with the keyboard where the user would use it."""

import random
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
)

from mdt_desk.models.enums import OutcomeEventKind, ReferralSource
from mdt_desk.services.caseload import CaseloadView
from mdt_desk.services.demo import synthetic_nhs_numbers
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.dialogs import ChangeCoordinatorDialog, OutcomeEventDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.action_plan_table_model import ActionColumn
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.new_referral_dialog import NewReferralDialog
from mdt_desk.ui.widgets import CuiDateEdit
from tests import store_sql
from tests.ui.finders import child
from tests.ui.signed_in import create_main_window

WAIT = 10_000


def open_window(qtbot, path: Path, wait_idle) -> MainWindow:
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    wait_idle(window)
    return window


def active_case_of_someone_else(path: Path) -> tuple[uuid.UUID, str, str]:
    """An active case whose coordinator is not the signed-in staff member."""
    with store_sql.connect(path) as db:
        (me,) = db.execute(
            "SELECT value FROM store_meta WHERE key = 'signed_in_staff_id'"
        ).fetchone()
        patient, number, family = db.execute(
            """SELECT p.id, p.nhs_number, p.family_name FROM care_case c
               JOIN patient p ON p.id = c.patient_id
               JOIN coordinator_assignment a ON a.case_id = c.id AND a.ended_on IS NULL
               WHERE c.status = 'active' AND p.date_of_death IS NULL AND a.staff_id != ?
               ORDER BY p.nhs_number LIMIT 1""",
            (uuid.UUID(me).hex,),
        ).fetchone()
    return uuid.UUID(patient), number, family


def back_to(qtbot, window: MainWindow) -> None:
    """A closed dialog gives the focus back to the main window (the offscreen platform
    has no window manager to do it), as the user's desktop would."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)


def find_and_open(qtbot, window: MainWindow, typed: str, wait_idle) -> CaseRecordWidget:
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.quick_find.hasFocus()
    with qtbot.waitSignal(window.quick_find.results_shown, timeout=WAIT):
        qtbot.keyClicks(window.quick_find, typed)
    wait_idle(window)
    qtbot.keyClick(window.quick_find, Qt.Key.Key_Return)
    record = window.workspace.currentWidget()
    assert isinstance(record, CaseRecordWidget)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    wait_idle(window)
    return record


@pytest.mark.slow
def test_a_coordinators_day_in_the_main_window(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    my_cases_before = window.caseload_model.rowCount()
    patient_id, number, family = active_case_of_someone_else(demo_store_path)

    # Find the person by NHS number, typed with spaces, and open the case.
    record = find_and_open(qtbot, window, f"{number[:3]} {number[3:6]} {number[6:]}", wait_idle)
    assert record.patient_id == patient_id
    banner = record.findChild(type(record.banner), "patient_banner") or record.banner
    assert banner.accessibleName() == "Patient banner"
    assert window.workspace.tabText(window.workspace.currentIndex()).startswith(family.upper())

    # Change the coordinator to the signed-in staff member, with a reason.
    record.show_tab("coordinator")
    qtbot.mouseClick(
        child(record, QPushButton, "change_coordinator_button"), Qt.MouseButton.LeftButton
    )
    dialog = record.coordinator_tab.current_dialog
    assert isinstance(dialog, ChangeCoordinatorDialog)
    combo = child(dialog, QComboBox, "coordinator_combo")
    me = window.runner.desk.actor_name
    if combo.findText(me, Qt.MatchFlag.MatchStartsWith) < 0:  # I cover another practice
        dialog.coordinator_picker.show_everyone.setChecked(True)
    combo.setCurrentIndex(combo.findText(me, Qt.MatchFlag.MatchStartsWith))
    qtbot.keyClicks(dialog.reason_edit, "Moving to a social care lead")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.coordinator_tab.current_dialog is None, timeout=WAIT)
    wait_idle(window)
    back_to(qtbot, window)
    assert record.coordinator_tab.coordinator_label.text() == me
    # The caseload behind follows: the case is now in My caseload.
    assert window.caseload_model.rowCount() == my_cases_before + 1

    # Add two actions with the keyboard alone (owner and due date), mark one done.
    record.show_tab("action_plan")
    qtbot.waitUntil(lambda: record.action_plan is not None, timeout=WAIT)
    plan = record.action_plan
    assert plan is not None
    wait_idle(window)
    description = child(plan, QLineEdit, "new_action_description")
    owner = child(plan, QComboBox, "new_action_owner")
    due = child(plan, CuiDateEdit, "new_action_due")
    added = []
    for text in ("Ask the GP to review painkillers", "Arrange a falls assessment"):
        description.setFocus()
        qtbot.waitUntil(description.hasFocus)
        qtbot.keyClicks(description, text)
        qtbot.keyClick(description, Qt.Key.Key_Tab)
        assert owner.hasFocus()
        owner.setCurrentIndex(owner.findText(me, Qt.MatchFlag.MatchStartsWith))
        chosen_owner = owner.currentText()
        qtbot.keyClick(owner, Qt.Key.Key_Tab)
        due_date = due.date_value()
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        wait_idle(window)
        added.append((text, chosen_owner.split(" — ")[0], cui_date(due_date)))
    texts = {
        tuple(
            plan.model.index(row, column).data()
            for column in (ActionColumn.DESCRIPTION, ActionColumn.OWNER, ActionColumn.DUE)
        )
        for row in range(plan.model.rowCount())
    }
    assert set(added) <= texts
    assert added[0][1] == me
    with store_sql.connect(demo_store_path) as db:
        stored = db.execute(
            "SELECT count(*) FROM action WHERE description IN (?, ?) AND owner_id IS NOT NULL",
            (added[0][0], added[1][0]),
        ).fetchone()[0]
    assert stored == 2
    rows = [plan.model.row_at(row) for row in range(plan.model.rowCount())]
    first = next(row for row in rows if row is not None and row.description == added[0][0])
    plan.select_action(first.id)
    qtbot.mouseClick(child(plan, QPushButton, "mark_action_done_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    with store_sql.connect(demo_store_path) as db:
        (status,) = db.execute("SELECT status FROM action WHERE id = ?", (first.id.hex,)).fetchone()
    assert status == "done"
    shown = [plan.model.row_at(row) for row in range(plan.model.rowCount())]
    assert first.id not in {row.id for row in shown if row is not None}, "Open hides done"

    # Add a note with the keyboard alone.
    record.show_tab("notes")
    editor = record.notes_tab.note_editor
    editor.setFocus()
    qtbot.keyClicks(editor, "Phoned daughter; visit booked for Thursday.")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(window)
    notes = record.notes_tab.model
    assert notes.index(0, 2).data() == "Phoned daughter; visit booked for Thursday."
    assert notes.index(0, 1).data() == me

    # Record an outcome event.
    record.show_tab("summary")
    qtbot.mouseClick(
        child(record, QPushButton, "record_outcome_event_button"), Qt.MouseButton.LeftButton
    )
    event_dialog = record.summary_tab.current_dialog
    assert isinstance(event_dialog, OutcomeEventDialog)
    kind = child(event_dialog, QComboBox, "event_kind_combo")
    kind.setCurrentIndex(kind.findData(OutcomeEventKind.AE_ATTENDANCE))
    qtbot.keyClicks(event_dialog.source_edit, "QEQM A&E")
    qtbot.mouseClick(event_dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.summary_tab.current_dialog is None, timeout=WAIT)
    wait_idle(window)
    back_to(qtbot, window)
    events = record.summary_tab.outcome_events_model
    assert any(
        events.index(row, 0).data() == "A&E attendance"
        and events.index(row, 2).data() == "QEQM A&E"
        for row in range(events.rowCount())
    )

    # Change the risk band, then undo it with Ctrl+Z from the main window.
    combo = child(record, QComboBox, "risk_band_combo")
    before = combo.currentText()
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Up if combo.currentIndex() > 0 else Qt.Key.Key_Down)
    wait_idle(window)
    changed = combo.currentText()
    assert changed != before
    assert window.undo_action.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(window)
    qtbot.waitUntil(lambda: combo.currentText() == before, timeout=WAIT)
    qtbot.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    wait_idle(window)
    qtbot.waitUntil(lambda: combo.currentText() == changed, timeout=WAIT)

    # Every change is in the record's history, made by the signed-in staff member.
    record.show_tab("history")
    wait_idle(window)
    history = record.history_tab.model.rows()
    assert any(
        e.field == "Reason" and e.new_text == "Moving to a social care lead" for e in history
    )
    assert any(e.field == "Risk band" and e.who == me for e in history)


def test_a_new_referral_from_the_main_window(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    new_referrals = window.navigator._view_items[CaseloadView.NEW_REFERRALS]
    referrals_before = new_referrals.text()
    with store_sql.connect(demo_store_path) as db:
        taken = {row[0] for row in db.execute("SELECT nhs_number FROM patient")}
    number = next(n for n in synthetic_nhs_numbers(random.Random(99), 50) if n not in taken)

    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, NewReferralDialog) and dialog.windowTitle()
    nhs = child(dialog, QLineEdit, "referral_nhs_number")
    nhs.setFocus()
    qtbot.keyClicks(nhs, "943-476-5910")  # a mistyped check digit
    qtbot.keyClick(nhs, Qt.Key.Key_Return)
    wait_idle(window)
    error = child(dialog, QLabel, "referral_nhs_error")
    assert error.isVisible() and "check digit" in error.text()
    assert nhs.text() == "943 476 5910"  # kept, grouped

    nhs.clear()
    qtbot.keyClicks(nhs, number)
    qtbot.keyClick(nhs, Qt.Key.Key_Return)
    wait_idle(window)
    assert not error.isVisible()
    # QTest types ASCII only; accented names arrive as an input method would send them.
    child(dialog, QLineEdit, "referral_family_name").insert("Ó Súilleabháin")
    child(dialog, QLineEdit, "referral_given_name").insert("Siobhán")
    born = child(dialog, QLineEdit, "referral_date_of_birth")
    qtbot.keyClicks(born, "03-Mar-1941")
    born.editingFinished.emit()
    practice = child(dialog, QComboBox, "referral_practice")
    practice.setCurrentIndex(1)
    source = child(dialog, QComboBox, "referral_source")
    source.setCurrentIndex(source.findData(ReferralSource.GP))
    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Carer breakdown; two falls")
    with qtbot.waitSignal(dialog.referral_made, timeout=WAIT):
        qtbot.mouseClick(
            child(dialog, QPushButton, "referral_save_button"), Qt.MouseButton.LeftButton
        )
    wait_idle(window)
    record = window.workspace.currentWidget()
    assert isinstance(record, CaseRecordWidget)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    assert window.workspace.tabText(window.workspace.currentIndex()).startswith("Ó SÚILLEABHÁIN")
    assert child(record, QLabel, "nhs_number_value").text() == (
        f"{number[:3]} {number[3:6]} {number[6:]}"
    )
    wait_idle(window)
    assert new_referrals.text() != referrals_before
