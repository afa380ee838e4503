"""Printing or saving a person's care plan asks why, and the access log keeps the answer.

The question comes after the printer or the file is chosen and before anything is made:
the answer is the purpose of that print's row in the access log ("not stated" when left
blank, as on the command line); cancelling it prints, saves and records nothing. An
agenda is about a meeting, not a person, and is not asked.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6.QtGui import QAccessible
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit

from mdt_desk.documents import DocumentRequest
from mdt_desk.models.enums import DocumentKind
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.ui import print_preview
from mdt_desk.ui.print_preview import PrintPreviewDialog
from mdt_desk.ui.runner import TaskRunner
from tests import store_sql
from tests.ui.finders import child
from tests.ui.test_print_preview import WAIT, answer_purpose, busy_case, purpose_prompt


@pytest.fixture
def demo_runner(demo_store_path: Path) -> Iterator[TaskRunner]:
    """The task runner of a desk on the demo store, signed in as its coordinator."""
    with Store.open(demo_store_path) as store:
        runner = TaskRunner(Desk.for_store(store))
        yield runner
        runner.shutdown()


def previewed(qtbot, runner: TaskRunner, request: DocumentRequest) -> PrintPreviewDialog:
    dialog = PrintPreviewDialog(runner, request)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview_shown, timeout=WAIT):
        dialog.show()
    return dialog


def care_plan_preview(qtbot, runner: TaskRunner, path: Path) -> tuple[PrintPreviewDialog, str]:
    """The preview of the busiest person's care plan, and that person's id (hex)."""
    patient_id, case_id = busy_case(path)
    request = DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id, case_id=case_id)
    return previewed(qtbot, runner, request), patient_id.hex


def print_events(path: Path) -> list[tuple[str | None, str]]:
    """(person's id or None, purpose) of every print in the access log."""
    with store_sql.connect(path, read_only=True) as db:
        rows = db.execute(
            "SELECT patient_id, reason FROM access_event WHERE action = 'print' ORDER BY at"
        ).fetchall()
    return [
        (uuid.UUID(str(patient)).hex if patient else None, str(reason)) for patient, reason in rows
    ]


def print_records(path: Path) -> int:
    with store_sql.connect(path, read_only=True) as db:
        return int(db.execute("SELECT count(*) FROM print_record").fetchone()[0])


def pdf_printer(output: Path) -> QPrinter:
    """A printer writing a PDF stands in for a real one (no print server here)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(output))
    return printer


def test_save_as_pdf_asks_why_after_the_file_is_chosen_and_logs_the_answer(
    qtbot, demo_runner, demo_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog, patient = care_plan_preview(qtbot, demo_runner, demo_store_path)
    target = tmp_path / "care-plan.pdf"
    asked_for_file: list[tuple[Any, ...]] = []

    def choose(*args: Any) -> tuple[str, str]:
        asked_for_file.append(args)
        return str(target), "PDF documents (*.pdf)"

    monkeypatch.setattr(print_preview.QFileDialog, "getSaveFileName", choose)
    dialog.save_button.click()
    assert len(asked_for_file) == 1  # the file first, then the question

    prompt = purpose_prompt(qtbot, dialog)
    assert prompt.accessibleName() == prompt.windowTitle() == "Save care plan as PDF"
    assert "access log" in prompt.labelText() and "not stated" in prompt.labelText()
    field = child(prompt, QLineEdit, "purpose_edit")
    accessible = QAccessible.queryAccessibleInterface(field)
    assert accessible is not None and accessible.text(QAccessible.Text.Name) == "Purpose"
    assert not target.exists() and print_events(demo_store_path) == []  # nothing yet

    with qtbot.waitSignal(dialog.printed, timeout=WAIT) as printed:
        answer_purpose(qtbot, dialog, "Copy for the person to take home")
    assert target.read_bytes() == printed.args[0].content
    assert print_events(demo_store_path) == [(patient, "Copy for the person to take home")]


@pytest.mark.slow  # a care plan drawn at printer resolution
def test_print_asks_why_after_the_print_dialog_and_logs_the_answer(
    qtbot, demo_runner, demo_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog, patient = care_plan_preview(qtbot, demo_runner, demo_store_path)
    output = tmp_path / "printed.pdf"
    accepted: list[QPrinter] = []

    class AcceptedPrintDialog:
        """Stands in for the Qt print dialog: the user picks the PDF printer and OK."""

        def __init__(self, printer: QPrinter, _parent: object) -> None:
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(output))
            self.printer = printer

        def setWindowTitle(self, _title: str) -> None:
            pass

        def exec(self) -> QDialog.DialogCode:
            accepted.append(self.printer)
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(print_preview, "QPrintDialog", AcceptedPrintDialog)
    dialog.print_button.click()
    assert len(accepted) == 1  # the printer first, then the question
    prompt = purpose_prompt(qtbot, dialog)
    assert prompt.accessibleName() == "Print care plan"
    assert not output.exists() and print_events(demo_store_path) == []

    with qtbot.waitSignal(dialog.printed, timeout=WAIT) as printed:
        answer_purpose(qtbot, dialog, "For the district nurse's visit")
    assert len(PdfReader(output).pages) == printed.args[0].pages
    assert print_events(demo_store_path) == [(patient, "For the district nurse's visit")]


@pytest.mark.slow
def test_a_blank_answer_is_logged_as_not_stated(
    qtbot, demo_runner, demo_store_path: Path, tmp_path: Path
) -> None:
    dialog, patient = care_plan_preview(qtbot, demo_runner, demo_store_path)
    with qtbot.waitSignal(dialog.printed, timeout=WAIT):
        dialog.save_to(tmp_path / "care-plan.pdf")
        answer_purpose(qtbot, dialog, "   ")
    assert print_events(demo_store_path) == [(patient, "not stated")]


def test_cancelling_the_question_prints_saves_and_records_nothing(
    qtbot, demo_runner, demo_store_path: Path, tmp_path: Path
) -> None:
    dialog, _patient = care_plan_preview(qtbot, demo_runner, demo_store_path)
    printed: list[object] = []
    dialog.printed.connect(printed.append)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "care-plan.pdf"
    dialog.save_to(target)
    purpose_prompt(qtbot, dialog).reject()
    qtbot.waitUntil(lambda: dialog.status.text() == "Not saved.", timeout=WAIT)

    output = folder / "printed.pdf"
    dialog.print_to(pdf_printer(output))
    purpose_prompt(qtbot, dialog).reject()
    qtbot.waitUntil(lambda: dialog.status.text() == "Not printed.", timeout=WAIT)

    qtbot.waitUntil(lambda: not demo_runner.busy, timeout=WAIT)
    assert printed == []
    assert list(folder.iterdir()) == []
    assert print_events(demo_store_path) == [] and print_records(demo_store_path) == 0
    # Asked again, it can still be printed.
    assert dialog.print_button.isEnabled() and dialog.save_button.isEnabled()


def test_an_agenda_is_saved_without_the_question(
    qtbot, demo_runner, demo_store_path: Path, tmp_path: Path
) -> None:
    with store_sql.connect(demo_store_path, read_only=True) as db:
        (meeting,) = db.execute("SELECT id FROM meeting ORDER BY starts_at LIMIT 1").fetchone()
    request = DocumentRequest(DocumentKind.AGENDA, meeting_id=uuid.UUID(str(meeting)))
    dialog = previewed(qtbot, demo_runner, request)
    target = tmp_path / "agenda.pdf"
    with qtbot.waitSignal(dialog.printed, timeout=WAIT) as printed:
        dialog.save_to(target)
    assert dialog.findChildren(QInputDialog) == []
    assert target.read_bytes() == printed.args[0].content
    assert [patient for patient, _reason in print_events(demo_store_path)] == [None]
