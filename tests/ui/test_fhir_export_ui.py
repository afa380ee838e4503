"""File → Export → FHIR care plan… on the real signed-in window over a demo store.

The app asks why and where, then exports on the worker thread as ``mdt-desk fhir export``
does: the file is the person's bundle (0600) and the access log holds the export with
the purpose typed. Cancelling writes and logs nothing; a person who declined sharing, a
folder that is not there and a role that may not export are each said in words.
"""

import datetime as dt
import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMenu, QMessageBox

from mdt_desk.models import Action, Consent
from mdt_desk.models.enums import ConsentDecision, Role
from mdt_desk.models.store import Store
from mdt_desk.services.actions import london_today
from mdt_desk.ui import fhir_export
from mdt_desk.ui.fhir_export import FhirCarePlanExport, starting_folder
from mdt_desk.ui.main_window import MainWindow
from tests import store_sql
from tests.ui.finders import child
from tests.ui.roles import window_as
from tests.ui.signed_in import acting
from tests.ui.test_main_window import open_window
from tests.ui.test_print_preview import busy_case

WAIT = 10_000
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


class SaveDialog:
    """Stands in for the Qt file dialog: answers ``answer`` ("" is Cancel) and keeps
    what it was asked."""

    def __init__(self, answer: Path | None) -> None:
        self.answer = answer
        self.asked: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> tuple[str, str]:
        self.asked.append(args)
        return (str(self.answer), "FHIR JSON files (*.json)") if self.answer else ("", "")


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the export says to a screen reader."""
    said: list[str] = []
    monkeypatch.setattr(fhir_export, "announce", lambda _widget, message: said.append(message))
    return said


def chosen_file(monkeypatch: pytest.MonkeyPatch, answer: Path | None) -> SaveDialog:
    dialog = SaveDialog(answer)
    monkeypatch.setattr(fhir_export.QFileDialog, "getSaveFileName", dialog)
    return dialog


def nhs_number(path: Path, patient_id: uuid.UUID) -> str:
    with store_sql.connect(path, read_only=True) as db:
        (number,) = db.execute(
            "SELECT nhs_number FROM patient WHERE id = ?", (patient_id.hex,)
        ).fetchone()
    return str(number)


def export_events(path: Path) -> list[tuple[str, str]]:
    """(patient id, purpose) of every export in the access log."""
    with store_sql.connect(path, read_only=True) as db:
        rows = db.execute(
            "SELECT patient_id, reason FROM access_event WHERE action = 'export' ORDER BY at"
        ).fetchall()
    return [(uuid.UUID(str(patient)).hex, str(reason)) for patient, reason in rows]


def open_busy_record(qtbot, window: MainWindow, path: Path) -> uuid.UUID:
    patient_id, case_id = busy_case(path)
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    return patient_id


def export_item(window: MainWindow) -> tuple[QMenu, Any]:
    """File → Export, and the accessible interface of its FHIR care plan item."""
    file_menu = window.menus[0]
    export_menu = next(
        action.menu() for action in file_menu.actions() if action.text() == "&Export"
    )
    assert isinstance(export_menu, QMenu)
    interface = QAccessible.queryAccessibleInterface(export_menu)
    assert interface is not None and interface.childCount() == 1
    return export_menu, interface.child(0)


def start_export(qtbot, window: MainWindow) -> FhirCarePlanExport:
    """Choose File → Export → FHIR care plan… (as the menu does) and find the export."""
    assert window.export_action.isEnabled()
    before = set(window.findChildren(FhirCarePlanExport))  # an ended one awaits deletion
    window.export_action.trigger()
    (started,) = set(window.findChildren(FhirCarePlanExport)) - before
    return started


def purpose_prompt(qtbot) -> QInputDialog:
    found: list[QInputDialog] = []

    def shown() -> bool:
        found[:] = [
            widget
            for widget in QApplication.topLevelWidgets()
            if isinstance(widget, QInputDialog)
            and widget.objectName() == "purpose_prompt"
            and widget.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=WAIT)
    return found[0]


def type_purpose(qtbot, text: str) -> None:
    prompt = purpose_prompt(qtbot)
    field = child(prompt, QLineEdit, "purpose_edit")
    field.setFocus()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def problem_box(qtbot, window: MainWindow) -> QMessageBox:
    found: list[QMessageBox] = []

    def shown() -> bool:
        found[:] = [
            box
            for box in window.findChildren(QMessageBox, "fhir_export_problem_box")
            if box.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=WAIT)
    return found[0]


def test_the_item_is_under_file_export_named_for_screen_readers_and_needs_a_record(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    export_menu, item = export_item(window)
    assert export_menu.accessibleName() == "Export"
    assert item.text(QAccessible.Text.Name) == "FHIR care plan…"
    assert item.text(QAccessible.Text.Accelerator) == "Alt+F"
    assert "FHIR R4 file" in window.export_action.toolTip()
    assert not window.export_action.isEnabled() and item.state().disabled  # the caseload
    open_busy_record(qtbot, window, demo_store_path)
    assert window.export_action.isEnabled() and not item.state().disabled
    window.show_caseload()
    assert not window.export_action.isEnabled()
    window.workspace.setCurrentIndex(1)
    window.close_current_record()
    assert not window.export_action.isEnabled()


def test_exporting_writes_the_persons_bundle_and_logs_the_purpose(
    qtbot,
    demo_store_path: Path,
    wait_idle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    announced: list[str],
) -> None:
    busy_patient, case_id = busy_case(demo_store_path)
    with Store.open(demo_store_path) as store, store.write(acting(store), "test") as session:
        session.add(
            Action(
                case_id=case_id,
                description="Safeguarding strategy meeting",
                owner_id=acting(store),
                due_on=dt.date(2030, 1, 1),
                sensitive=True,
            )
        )
    today = london_today()
    window = open_window(qtbot, demo_store_path, wait_idle)
    patient_id = open_busy_record(qtbot, window, demo_store_path)
    assert patient_id == busy_patient
    nhs = nhs_number(demo_store_path, patient_id)
    target = tmp_path / "exports" / "plan.json"
    target.parent.mkdir()
    dialog = chosen_file(monkeypatch, target)
    export = start_export(qtbot, window)
    prompt = purpose_prompt(qtbot)
    field = child(prompt, QLineEdit, "purpose_edit")
    accessible = QAccessible.queryAccessibleInterface(field)
    assert accessible is not None and accessible.text(QAccessible.Text.Name) == "Purpose"
    with qtbot.waitSignal(export.saved, timeout=WAIT) as saved:
        type_purpose(qtbot, "Transfer to the shared care record")
    wait_idle(window)

    bundle = json.loads(target.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [
        identifier["value"]
        for patient in patients
        for identifier in patient["identifier"]
        if identifier["system"] == NHS_SYSTEM
    ] == [nhs]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert saved.args == [target, len(bundle["entry"])]
    assert export_events(demo_store_path) == [
        (patient_id.hex, "Transfer to the shared care record")
    ]
    # It suggested a file named by NHS number (never by name) and offered JSON.
    _parent, _title, suggested, filters = dialog.asked[0]
    assert Path(suggested).name in {
        f"care-plan-{nhs}-{day:%Y%m%d}.json" for day in (today, today + dt.timedelta(days=1))
    }
    assert "*.json" in filters
    message = window.statusBar().currentMessage()
    assert message.startswith("Saved the FHIR care plan for ")
    assert str(target) in message and f"({len(bundle['entry'])} resources)" in message
    # The sensitive action is not in the file, and the person exporting is told so.
    assert "Safeguarding strategy meeting" not in target.read_text(encoding="utf-8")
    assert "Not in the file: " in message and "for the team only" in message
    assert announced == [message]
    assert starting_folder() == target.parent  # the next export starts there


@pytest.mark.slow
def test_cancelling_either_question_writes_and_logs_nothing(
    qtbot,
    demo_store_path: Path,
    wait_idle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    open_busy_record(qtbot, window, demo_store_path)
    # Cancel at the purpose: the file dialog is never asked.
    dialog = chosen_file(monkeypatch, tmp_path / "plan.json")
    export = start_export(qtbot, window)
    with qtbot.waitSignal(export.finished, timeout=WAIT):
        purpose_prompt(qtbot).reject()
    assert dialog.asked == []
    # Cancel at the file.
    dialog = chosen_file(monkeypatch, None)
    export = start_export(qtbot, window)
    with qtbot.waitSignal(export.finished, timeout=WAIT):
        type_purpose(qtbot, "Audit")
    wait_idle(window)
    assert len(dialog.asked) == 1
    assert list(tmp_path.glob("*.json")) == []
    assert export_events(demo_store_path) == []
    assert window.statusBar().currentMessage() == "FHIR care plan not exported."


@pytest.mark.slow
def test_someone_who_declined_sharing_is_told_and_nothing_is_written(
    qtbot,
    demo_store_path: Path,
    wait_idle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    announced: list[str],
) -> None:
    patient_id, _case_id = busy_case(demo_store_path)
    with Store.open(demo_store_path) as store, store.write(acting(store), "test") as session:
        session.add(
            Consent(
                patient_id=patient_id,
                decision=ConsentDecision.DECLINED,
                recorded_on=dt.date.today() + dt.timedelta(days=1),  # the latest decision
            )
        )
    window = open_window(qtbot, demo_store_path, wait_idle)
    bugs: list[str] = []
    window.runner.bug_found.connect(bugs.append)
    open_busy_record(qtbot, window, demo_store_path)
    target = tmp_path / "plan.json"
    chosen_file(monkeypatch, target)
    start_export(qtbot, window)
    box = problem_box(qtbot, window)
    wait_idle(window)
    # Said at once, before the purpose or a file is asked for.
    assert not [
        prompt
        for prompt in window.findChildren(QInputDialog, "purpose_prompt")
        if prompt.isVisible()
    ]
    assert "do not want information about them shared" in box.text()
    assert "Traceback" not in box.text() and not bugs
    assert box.accessibleDescription() == box.text() == window.statusBar().currentMessage()
    assert announced == [box.text()]
    assert not target.exists() and list(tmp_path.glob(".plan.json*")) == []
    assert export_events(demo_store_path) == []


def test_a_folder_that_is_not_there_is_said_before_anything_is_logged(
    qtbot,
    demo_store_path: Path,
    wait_idle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    open_busy_record(qtbot, window, demo_store_path)
    target = tmp_path / "no such folder" / "plan.json"
    chosen_file(monkeypatch, target)
    start_export(qtbot, window)
    type_purpose(qtbot, "Audit")
    box = problem_box(qtbot, window)
    assert box.text() == f"Cannot write {target}: there is no folder {target.parent}."
    wait_idle(window)
    assert not target.parent.exists() and export_events(demo_store_path) == []


@pytest.fixture
def team_member_window(qtbot, demo_store_path: Path) -> Iterator[MainWindow]:
    with window_as(qtbot, demo_store_path, Role.TEAM_MEMBER) as window:
        yield window


def test_a_team_member_is_told_they_may_not_export(
    qtbot,
    demo_store_path: Path,
    team_member_window: MainWindow,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    announced: list[str],
) -> None:
    window = team_member_window
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    open_busy_record(qtbot, window, demo_store_path)
    refusal = "Your role (Team member) does not allow exporting records."
    assert not window.export_action.isEnabled()  # with a record in front
    assert window.export_action.toolTip() == refusal
    _menu, item = export_item(window)
    assert item.text(QAccessible.Text.Name) == "FHIR care plan…" and item.state().disabled
    # Reached anyway (a role changed while the menu was open): said, nothing asked.
    dialog = chosen_file(monkeypatch, tmp_path / "plan.json")
    export = window.export_care_plan()
    assert export is not None
    box = problem_box(qtbot, window)
    assert box.text() == refusal and announced == [refusal]
    assert dialog.asked == [] and not (tmp_path / "plan.json").exists()
    assert export_events(demo_store_path) == []
