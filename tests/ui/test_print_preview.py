"""Print preview, Save as PDF and Print from the app, each print in the record's history."""

import uuid
from pathlib import Path
from typing import cast

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QInputDialog, QLineEdit, QPushButton

from mdt_desk.models.enums import MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import history, meetings
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.print_preview import PrintPreviewDialog
from tests import store_sql
from tests.documents.helpers import flat, pages_text
from tests.ui.finders import child
from tests.ui.signed_in import acting
from tests.ui.test_main_window import open_window

WAIT = 10_000


def busy_case(path: Path) -> tuple[uuid.UUID, uuid.UUID]:
    with store_sql.connect(path) as db:
        patient, case = db.execute(
            "SELECT c.patient_id, c.id FROM care_case c JOIN action a ON a.case_id = c.id"
            " WHERE c.status = 'active' GROUP BY c.id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return uuid.UUID(patient), uuid.UUID(case)


def preview_of_record(qtbot, window: MainWindow, wait_idle, path: Path) -> PrintPreviewDialog:
    patient_id, case_id = busy_case(path)
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    wait_idle(window)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = window.print_dialog
    assert isinstance(dialog, PrintPreviewDialog)
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=WAIT)
    return dialog


def purpose_prompt(qtbot, dialog: PrintPreviewDialog) -> QInputDialog:
    """The question the preview asks before a care plan leaves the desk, once shown."""
    found: list[QInputDialog] = []

    def shown() -> bool:
        found[:] = [
            prompt
            for prompt in dialog.findChildren(QInputDialog, "purpose_prompt")
            if prompt.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=WAIT)
    return found[0]


def answer_purpose(qtbot, dialog: PrintPreviewDialog, purpose: str) -> None:
    """Type ``purpose`` into the preview's question and press Return."""
    field = child(purpose_prompt(qtbot, dialog), QLineEdit, "purpose_edit")
    field.setFocus()
    qtbot.keyClicks(field, purpose)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def print_kinds(path: Path) -> list[str]:
    with store_sql.connect(path) as db:
        rows = db.execute(
            "SELECT new_value FROM journal WHERE entity = 'print_record' AND field = 'kind'"
            " ORDER BY origin_seq"
        ).fetchall()
    return [row[0].strip('"') for row in rows]


@pytest.mark.slow
def test_ctrl_p_on_a_record_previews_the_care_plan_and_a_preview_records_nothing(
    qtbot, demo_store_path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    dialog = preview_of_record(qtbot, window, wait_idle, demo_store_path)
    assert dialog.shown is not None
    assert dialog.page_count() == dialog.shown.pages >= 1
    assert dialog.shown.title.startswith("Care plan")
    assert dialog.large_print.isVisible() or not dialog.isVisible()
    assert print_kinds(demo_store_path) == []  # looking is not printing

    # Large print renders again with more pages.
    pages = dialog.shown.pages
    with qtbot.waitSignal(dialog.preview_shown, timeout=WAIT):
        dialog.large_print.setChecked(True)
    assert dialog.shown.pages > pages


def test_save_as_pdf_writes_the_file_and_the_history_shows_the_print(
    qtbot, demo_store_path, wait_idle, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    dialog = preview_of_record(qtbot, window, wait_idle, demo_store_path)
    target = tmp_path / "care-plan.pdf"
    with qtbot.waitSignal(dialog.printed, timeout=WAIT) as printed:
        dialog.save_to(target)
        answer_purpose(qtbot, dialog, "Copy for the person")
    made = printed.args[0]
    assert target.read_bytes() == made.content
    assert "What matters to me" in flat(" ".join(pages_text(target.read_bytes())))
    assert print_kinds(demo_store_path) == ["care_plan"]
    patient_id, case_id = busy_case(demo_store_path)
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        entries = history.record_history(session, patient_id, case_id)
    printed_entry = next(entry for entry in entries if entry.entity == "print_record")
    assert printed_entry.record.startswith("Care plan printed by")
    assert printed_entry.who


@pytest.mark.slow
def test_print_sends_every_page_to_the_printer_without_blocking(
    qtbot, demo_store_path, wait_idle, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = window.meetings_page
    assert page is not None
    qtbot.waitUntil(lambda: page.detail is not None, timeout=WAIT)
    wait_idle(window)
    assert page.detail is not None and page.detail.meeting.status is MeetingStatus.PLANNED
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = window.print_dialog
    assert isinstance(dialog, PrintPreviewDialog)
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=WAIT)
    assert dialog.shown is not None and dialog.shown.title.startswith("Agenda")
    # A PDF printer stands in for a real one (no print server here).
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    output = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(output))
    with qtbot.waitSignal(dialog.printed, timeout=WAIT):
        dialog.print_to(printer)
    printed = PdfReader(output)
    assert len(printed.pages) == dialog.shown.pages
    # Each page went as one image at print quality (300 dpi; not the printer's own 1200,
    # which took seconds a page), drawn over the whole printable area of the paper.
    printable = printer.pageRect(QPrinter.Unit.Point)
    for printed_page in printed.pages:
        resources = cast(DictionaryObject, printed_page["/Resources"])
        (image,) = cast(DictionaryObject, resources["/XObject"]).values()
        pixels_across = int(image.get_object()["/Width"])
        assert 0.97 * 300 <= pixels_across / (printable.width() / 72) <= 301
        placed: list[list[float]] = []  # where each image is drawn: its matrix, in points

        def on_operator(operator: bytes, _args: object, matrix: list[float], _text: object) -> None:
            if operator == b"Do":
                placed.append(matrix)  # noqa: B023 (used before the next page's loop)

        printed_page.extract_text(visitor_operand_before=on_operator)
        ((width, _, _, height, left, bottom),) = placed
        assert (width, height) == pytest.approx((printable.width(), printable.height()), abs=1)
        assert (left, bottom) == pytest.approx((printable.left(), printable.top()), abs=1)
    assert print_kinds(demo_store_path) == ["agenda"]
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        assert meetings.get_meeting(session, page.detail.meeting.id)  # still there, unchanged


def test_the_preview_fits_a_1280_by_800_screen_with_its_buttons_on_it(
    qtbot, demo_store_path, wait_idle
) -> None:
    """It opened 960 pixels tall: on a 1280×800 screen Print and Save were off the bottom.
    (The offscreen test screen is 800 pixels tall too.)"""
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    dialog = preview_of_record(qtbot, window, wait_idle, demo_store_path)
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert screen.height() <= 800, "the test screen stands for a 1280×800 one"
    assert dialog.frameGeometry().height() <= screen.height()
    assert screen.contains(dialog.frameGeometry()), (dialog.frameGeometry(), screen)
    buttons = [
        dialog.print_button,
        dialog.save_button,
        next(b for b in dialog.findChildren(QPushButton) if b.text() == "Close"),
    ]
    for button in buttons:
        assert button.isVisible()
        on_screen = QRect(button.mapToGlobal(QPoint(0, 0)), button.size())
        assert screen.contains(on_screen), (button.text(), on_screen, screen)
    assert dialog.view.height() >= 300  # the pages still have most of the room
    # On a real 1280×800 screen too, frame and all; a tall screen gets the full page size.
    dialog.fit_to_screen(QRect(0, 0, 1280, 800))
    assert dialog.frameGeometry().height() <= 800
    dialog.fit_to_screen(QRect(0, 0, 1920, 1200))
    assert (dialog.width(), dialog.height()) == (820, 960)
