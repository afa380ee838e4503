"""Refresh docs/screenshots/ from a demo store (offscreen; no display needed).

Shots: the sign-in screen and the lock screen, the caseload, a case record (summary and
action plan), the new referral dialog with a rejected NHS number, a deceased person's
banner, the care plan's print preview, the agenda builder, and meeting
mode on the shared screen (projection privacy on).

Usage: .venv/bin/python scripts/take_screenshots.py [--store demo.sqlite]
(Without a keyring, set MDT_DESK_STORE_PASSPHRASE: the store is encrypted.)
"""

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QTabWidget, QWidget

from mdt_desk.app import create_main_window
from mdt_desk.models.store import Store, connect_store_file
from mdt_desk.models.store_key import store_key
from mdt_desk.services.caseload import CaseloadView
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.ui.main_window import MainWindow

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def settle(app: QApplication, window: MainWindow) -> None:
    """Let queued work finish and the screen repaint (a script, not the app)."""
    for _ in range(500):
        QTest.qWait(20)
        if not window.runner.busy:
            break
    QTest.qWait(100)
    app.processEvents()


def save(widget: QWidget, name: str) -> None:
    pixmap: QPixmap = widget.grab()
    pixmap.save(str(OUT / name))
    sys.stdout.write(f"wrote {OUT / name}\n")


def busiest_case(db: Any) -> tuple[uuid.UUID, uuid.UUID]:
    patient, case = db.execute(
        """SELECT c.patient_id, c.id FROM care_case c
           JOIN action a ON a.case_id = c.id
           JOIN patient p ON p.id = c.patient_id
           WHERE c.status = 'active' AND p.title != ''
           GROUP BY c.id ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()
    return uuid.UUID(patient), uuid.UUID(case)


def deceased_patient(db: Any) -> uuid.UUID:
    (patient,) = db.execute(
        """SELECT p.id FROM patient p JOIN care_case c ON c.patient_id = p.id
           WHERE p.date_of_death IS NOT NULL LIMIT 1"""
    ).fetchone()
    return uuid.UUID(patient)


def most_overdue(db: Any) -> uuid.UUID:
    (owner,) = db.execute(
        """SELECT owner_id FROM action WHERE status IN ('open', 'in_progress')
           AND due_on < date('now') AND retired_at IS NULL
           GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()
    return uuid.UUID(owner)


def sensitive_case(db: Any) -> tuple[uuid.UUID, uuid.UUID]:
    patient, case = db.execute(
        """SELECT c.patient_id, c.id FROM care_case c
           JOIN action a ON a.case_id = c.id JOIN patient p ON p.id = c.patient_id
           WHERE c.status = 'active' AND a.sensitive AND a.status IN ('open', 'in_progress')
           AND a.retired_at IS NULL AND p.date_of_death IS NULL LIMIT 1"""
    ).fetchone()
    return uuid.UUID(patient), uuid.UUID(case)


def sign_in(app: QApplication, window: MainWindow) -> None:
    """Type the demo PIN on the sign-in (or lock) screen, as a person would."""
    page = window.sign_in_page
    page.pin_edit.setFocus()
    QTest.keyClicks(page.pin_edit, DEMO_PIN)
    QTest.keyClick(page.pin_edit, Qt.Key.Key_Return)
    settle(app, window)


def sign_in_and_lock_shots(app: QApplication, window: MainWindow) -> None:
    """The window as it opens (sign-in.png), then locked with a record open (locked.png)."""
    window.resize(1280, 800)
    settle(app, window)
    save(window, "sign-in.png")
    sign_in(app, window)
    window.navigator.select_view(CaseloadView.MY_CASELOAD)
    settle(app, window)
    index = window.caseload_model.index(0, 0)
    window.caseload_table.activated.emit(index)
    settle(app, window)
    window.lock()
    settle(app, window)
    save(window, "locked.png")
    sign_in(app, window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    store_path = args.store
    if store_path is None:
        store_path = Path(tempfile.mkdtemp()) / "demo.sqlite"
        with Store.open(store_path) as store:
            generate_demo(store, patients=2000, seed=1)
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    OUT.mkdir(parents=True, exist_ok=True)
    db = connect_store_file(store_path, store_key(store_path), options="mode=ro")

    window = create_main_window(store_path)
    window.show()
    sign_in_and_lock_shots(app, window)
    window.close_current_record()
    window.resize(1440, 860)
    settle(app, window)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    settle(app, window)
    save(window, "caseload.png")
    for width, height in ((1280, 800), (1600, 1000)):
        window.resize(width, height)
        settle(app, window)
        save(window, f"caseload-{width}x{height}.png")
    window.resize(1280, 800)
    risk = window.findChild(QComboBox, "filter_risk")
    if risk is not None:
        risk.setCurrentIndex(max(0, risk.findText("Very high")))
        settle(app, window)
        save(window, "caseload-filters.png")
        risk.setCurrentIndex(0)
    window.navigator.select_view(CaseloadView.OVERDUE_ACTIONS)
    settle(app, window)
    save(window, "overdue-actions.png")
    window.runner.set_desk(window.runner.desk.sign_in(most_overdue(db)))
    settle(app, window)
    window.navigator.select_my_actions()
    settle(app, window)
    save(window, "my-actions.png")
    window.resize(1440, 860)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    settle(app, window)

    patient_id, case_id = busiest_case(db)
    record = window.open_record(patient_id, case_id)
    settle(app, window)
    save(window, "case-record.png")
    tabs = record.findChild(QTabWidget, "record_tabs")
    if tabs is not None:
        for index in range(tabs.count()):
            if tabs.tabText(index).replace("&", "") == "Action plan":
                tabs.setCurrentIndex(index)
        settle(app, window)
        save(window, "action-plan.png")

    sens_patient, sens_case = sensitive_case(db)
    record = window.open_record(sens_patient, sens_case)
    settle(app, window)
    record.show_tab("action_plan")
    settle(app, window)
    save(window, "sensitive-action.png")
    record.show_tab("goals")
    settle(app, window)
    save(window, "goals.png")
    coordinator_dialog = record.coordinator_tab.open_change_coordinator_dialog()
    if coordinator_dialog is not None:
        settle(app, window)
        save(coordinator_dialog, "change-coordinator.png")
        coordinator_dialog.reject()
        settle(app, window)
    goal_dialog = record.goals_tab.open_add_goal_dialog()
    if goal_dialog is not None:
        settle(app, window)
        goal_dialog.target_check.setChecked(True)
        goal_dialog.target_edit.setFocus()
        field = goal_dialog.target_edit.line_edit
        QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(field, "15-Jan-27")
        QTest.keyClick(field, Qt.Key.Key_Tab)
        settle(app, window)
        save(goal_dialog, "date-error.png")
        goal_dialog.reject()
        settle(app, window)
    record.show_tab("notes")
    editor = record.notes_tab.note_editor
    editor.setFocus()
    QTest.keyClicks(editor, "Daughter worried about nights; ring her before Friday")
    window.workspace.setCurrentWidget(record)
    window.close_current_record()
    settle(app, window)
    record = window.open_record(sens_patient, sens_case)
    settle(app, window)
    record.show_tab("notes")
    settle(app, window)
    save(window, "draft-restored.png")

    window.workspace.setCurrentWidget(record)
    preview = window.print_current()
    if preview is not None:
        preview.resize(900, 1000)
        settle(app, window)
        QTest.qWait(300)
        save(preview, "print-preview.png")
        preview.close()

    dead = window.open_record(deceased_patient(db), None)
    settle(app, window)
    banner = dead.findChild(QWidget, "patient_banner")
    save(banner if banner is not None else dead, "deceased-banner.png")

    dialog = window.show_new_referral()
    dialog.resize(720, 640)
    settle(app, window)
    nhs_field = dialog.findChild(QLineEdit, "referral_nhs_number")
    if nhs_field is not None:
        nhs_field.setFocus()
        QTest.keyClicks(nhs_field, "943 476 5918")
        finder = dialog.findChild(QWidget, "referral_find_button")
        if finder is not None:
            QTest.mouseClick(finder, Qt.MouseButton.LeftButton)
        else:
            QTest.keyClick(nhs_field, Qt.Key.Key_Return)
        settle(app, window)
    save(dialog, "new-referral.png")
    dialog.close()

    page = window.show_meetings()
    settle(app, window)
    page.proposal_table.selectRow(0)
    page.accept_current_proposal()
    settle(app, window)
    save(window, "agenda-builder.png")

    meeting_id = page.current_meeting_id()
    if meeting_id is not None:
        meeting_window = window.open_meeting_mode(meeting_id)
        meeting_window.showNormal()
        defer = meeting_window.outcome_box.findData("defer")
        if defer >= 0:
            meeting_window.outcome_box.setCurrentIndex(defer)
            meeting_window.outcome_box.activated.emit(defer)
            QTest.keyClicks(meeting_window.deferral_edit, "GP who knows her is away")
        for (width, height), name in (
            ((1280, 800), "meeting-mode.png"),
            ((1600, 1000), "meeting-mode-1600x1000.png"),
        ):
            meeting_window.resize(width, height)
            settle(app, window)
            save(meeting_window, name)
        meeting_window.close()
        settle(app, window)

    QTimer.singleShot(0, window.close)
    settle(app, window)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
