"""The print preview keeps what it shows off the disk and out of the print queue.

The preview renders in memory; *Save as PDF…* writes a file only its owner may read and
leaves no partial copy when it fails; *Print…* names the job by the kind of document,
never by the person (a shared printer's queue, and the print system's logs, show it).
"""

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from mdt_desk.ui import print_preview
from mdt_desk.ui.print_preview import PrintPreviewDialog
from tests.ui.test_main_window import open_window
from tests.ui.test_print_preview import WAIT, answer_purpose, preview_of_record

pytestmark = pytest.mark.slow


def preview(qtbot, demo_store_path: Path, wait_idle) -> PrintPreviewDialog:
    window = open_window(qtbot, demo_store_path, wait_idle)
    return preview_of_record(qtbot, window, wait_idle, demo_store_path)


def test_save_as_pdf_writes_0600_over_a_0644_file_and_leaves_nothing_else(
    qtbot, demo_store_path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = preview(qtbot, demo_store_path, wait_idle)
    folder = tmp_path / "saved"
    folder.mkdir()
    target = folder / "care-plan.pdf"
    target.write_bytes(b"%PDF- an older copy, readable by everyone")
    target.chmod(0o644)
    assert os.umask(0o022) == 0o022  # a desktop's usual umask: the file must do it alone
    with qtbot.waitSignal(dialog.printed, timeout=WAIT) as printed:
        dialog.save_to(target)
        answer_purpose(qtbot, dialog, "Copy for the person")
    assert target.read_bytes() == printed.args[0].content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in folder.iterdir()] == ["care-plan.pdf"]


def test_a_failed_write_removes_its_temporary_file(
    qtbot, demo_store_path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF is written, then renaming it into place is refused (a folder whose
    permissions changed, a file locked by another program): the preview says so, and
    the temporary copy, the whole document, is not left beside the target."""
    dialog = preview(qtbot, demo_store_path, wait_idle)
    folder = tmp_path / "refused"
    folder.mkdir()

    def refused(_source: object, _target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refused)
    dialog.save_to(folder / "care-plan.pdf")
    answer_purpose(qtbot, dialog, "Copy for the person")
    qtbot.waitUntil(lambda: "Permission denied" in dialog.error.text(), timeout=WAIT)
    assert list(folder.iterdir()) == []


def test_the_print_job_is_named_by_the_kind_of_document_not_the_person(
    qtbot, demo_store_path, wait_idle, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = preview(qtbot, demo_store_path, wait_idle)
    assert dialog.shown is not None
    person = dialog.shown.title.partition(":")[2].strip()
    assert person  # the window title names the person on screen
    asked: list[str] = []

    class Cancelled:
        def __init__(self, printer, _parent) -> None:
            asked.append(printer.docName())

        def setWindowTitle(self, _title: str) -> None:
            pass

        def exec(self) -> QDialog.DialogCode:
            return QDialog.DialogCode.Rejected

    monkeypatch.setattr(print_preview, "QPrintDialog", Cancelled)
    dialog.choose_printer()
    assert asked == ["Care plan"]
    assert person not in asked[0]
