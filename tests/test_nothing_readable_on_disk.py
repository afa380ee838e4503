"""A stolen laptop reveals nothing: no file MDT Desk leaves on the disk names a person.

A canary person (a family name no data holds, a valid NHS number of their own) is
registered in a demo store, given a case and a note, their care plan shown in the app's
print preview and the store backed up as a migration does. Then every file in the
store's folder and in the temporary folder the run used is read byte by byte, as UTF-8
and as UTF-16, for the name and the NHS number with and without spaces: none may hold
them. The scan is shown to find the canary in a plaintext file first, so a pass means
nothing was there, not that nothing was looked at.
"""

import datetime as dt
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt

from mdt_desk.cli import main
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.print_preview import PrintPreviewDialog, print_job_name
from tests import store_sql
from tests.documents.helpers import flat, pages_text
from tests.ui.signed_in import create_main_window

CANARY_FAMILY = "Zqxwvanthorpe"
CANARY_GIVEN = "Ottoline"
CANARY_NHS = "9996152847"
CANARY_NOTE = f"Visited {CANARY_GIVEN} {CANARY_FAMILY} at home; NHS number {CANARY_NHS}."
WAIT = 20_000

pytestmark = pytest.mark.slow


def canary_spellings() -> list[str]:
    nhs = CANARY_NHS
    return [
        CANARY_FAMILY,
        nhs,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        f"{nhs[:3]}\u00a0{nhs[3:6]}\u00a0{nhs[6:]}",
        f"{nhs[:3]}-{nhs[3:6]}-{nhs[6:]}",
    ]


def _needles() -> list[tuple[str, bytes]]:
    """Each spelling as UTF-8 and as UTF-16 (both byte orders), lower case: the haystack is
    lowered too (``bytes.lower`` lowers ASCII letters only, which every spelling is)."""
    found = []
    for spelling in canary_spellings():
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            found.append((f"{spelling!r} ({encoding})", spelling.lower().encode(encoding)))
    return found


def files_under(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


def canaries_in(*folders: Path) -> list[str]:
    """``file: spelling`` for every canary spelling found in any file under ``folders``."""
    needles = _needles()
    hits: list[str] = []
    for path in files_under(*folders):
        haystack = path.read_bytes().lower()
        hits.extend(f"{path}: {what}" for what, needle in needles if needle in haystack)
    return hits


def test_the_scan_finds_a_canary_written_in_the_clear(tmp_path: Path) -> None:
    """The control: the same scan, over a folder holding plaintext, finds each spelling."""
    nested = tmp_path / "control" / "nested"
    nested.mkdir(parents=True)
    (nested / "note.txt").write_text(CANARY_NOTE.upper(), encoding="utf-8")
    (nested / "note-utf16.txt").write_text(CANARY_NOTE, encoding="utf-16")
    spaced = f"{CANARY_NHS[:3]} {CANARY_NHS[3:6]} {CANARY_NHS[6:]}"
    (tmp_path / "control" / "spaced.bin").write_bytes(b"\x00\x01" + spaced.encode() + b"\xff")
    hits = canaries_in(tmp_path / "control")
    assert any("note.txt" in hit and "utf-8" in hit and CANARY_FAMILY in hit for hit in hits)
    assert any("note-utf16.txt" in hit and "utf-16-le" in hit for hit in hits)
    assert any("spaced.bin" in hit and "utf-8" in hit for hit in hits)
    assert canaries_in(tmp_path / "control" / "nested") != []
    (tmp_path / "empty").mkdir()
    assert canaries_in(tmp_path / "empty") == []


@pytest.fixture
def run_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh temporary folder for everything the run makes: Python's, SQLite's and Qt's."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    for name in ("TMPDIR", "TEMP", "TMP", "SQLITE_TMPDIR"):
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def app_settings_in(run_temp_folder: Path, qapp) -> Iterator[Path]:
    """The app's window settings go to the scanned temporary folder too."""
    QCoreApplication.setOrganizationName("MDT Desk tests")
    QCoreApplication.setApplicationName("MDT Desk tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    settings = run_temp_folder / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings))
    yield settings


def _register_canary(path: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """The canary person, with an accepted case coordinated by the signed-in coordinator
    and a note naming them."""
    with store_sql.connect(path, read_only=True) as db:
        (coordinator,) = db.execute(
            "SELECT value FROM store_meta WHERE key = 'signed_in_staff_id'"
        ).fetchone()
        (practice,) = db.execute("SELECT id FROM practice ORDER BY ods_code LIMIT 1").fetchone()
    coordinator_id = uuid.UUID(coordinator)
    today = dt.date.today()
    with Store.open(path) as store, store.write(coordinator_id) as session:
        person = patients.register_patient(
            session,
            nhs_number=CANARY_NHS,
            family_name=CANARY_FAMILY,
            given_name=CANARY_GIVEN,
            date_of_birth=dt.date(1938, 3, 9),
            practice_id=uuid.UUID(practice),
            address="7 Canary Wharf Lane",
            today=today,
        )
        case = cases.refer(
            session, person.id, source=ReferralSource.GP, reason="Falls", today=today
        )
        cases.accept(session, case.id, coordinator_id=coordinator_id, on=today)
        plans.add_note(session, case.id, CANARY_NOTE)
    return person.id, case.id


def _preview_the_care_plan(
    qtbot, path: Path, patient_id: uuid.UUID, case_id: uuid.UUID
) -> tuple[MainWindow, PrintPreviewDialog]:
    """Ctrl+P on the canary's record in the real main window, as a coordinator does."""
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = window.print_dialog
    assert isinstance(dialog, PrintPreviewDialog)
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=WAIT)
    return window, dialog


def test_after_demo_edits_a_print_preview_and_a_backup_no_file_names_the_person(
    tmp_path: Path, run_temp_folder: Path, app_settings_in: Path, qtbot
) -> None:
    store_folder = tmp_path / "store"
    path = store_folder / "mdt-desk.sqlite"
    assert main(["demo", "--patients", "30", "--seed", "7", "--store", str(path)]) == 0
    patient_id, case_id = _register_canary(path)

    # The canary is really in the store (read with its key), so the scan has something to find.
    with store_sql.connect(path, read_only=True) as db:
        assert db.execute(
            "SELECT count(*) FROM patient WHERE family_name = ? AND nhs_number = ?",
            (CANARY_FAMILY, CANARY_NHS),
        ).fetchone() == (1,)

    window, dialog = _preview_the_care_plan(qtbot, path, patient_id, case_id)
    assert dialog.shown is not None
    shown = flat(" ".join(pages_text(dialog.shown.content))).lower()
    assert CANARY_FAMILY.lower() in shown and "999 615 2847" in shown  # the person's own plan
    assert dialog.page_count() == dialog.shown.pages
    assert CANARY_FAMILY.lower() in dialog.shown.title.lower()  # on screen only
    assert print_job_name(dialog.shown) == "Care plan"  # never in the print queue

    # While the app is open: its WAL and shared memory are on the disk beside the store.
    open_hits = canaries_in(store_folder, run_temp_folder)
    dialog.close()
    window.close()  # the window keeps its settings and closes the store
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT)

    with Store.open(path) as store:
        backup = store.backup("before-canary-check")  # as a migration does
    assert backup.exists() and backup.parent == store_folder
    qtbot.wait(50)

    files = list(files_under(store_folder, run_temp_folder))
    assert path in files and backup in files
    assert any(file.suffix == ".ini" for file in files), "the window's settings, scanned too"
    assert open_hits == []
    assert canaries_in(store_folder, run_temp_folder) == []
    for file in files:  # nothing readable whole: no plain database, no PDF
        head = file.read_bytes()[:16]
        assert head != b"SQLite format 3\x00", file
        assert not head.startswith(b"%PDF"), file

    for database in (path, backup):
        assert database.read_bytes()[:16] != b"SQLite format 3\x00"
        plain = sqlite3.connect(database)
        try:
            with pytest.raises(sqlite3.DatabaseError):
                plain.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            plain.close()
