"""Everything MDT Desk writes about people is its owner's alone: exports and PDFs 0600,
the folders it makes for a store 0700, whatever the umask.

Every test here starts at a desktop's usual umask, 022 (``tests/conftest.py``), where a
plainly opened file is 0644: an export was, before it was made private. ``mdt-desk``
tightens its own umask to 077 as a second line (:func:`test_mdt_desk_tightens_its_umask`);
the tests of each file keep the umask at 022 while the command runs, so they prove the
file itself is made private, not that the umask hid it.
"""

import io
import json
import os
import stat
import sys
import uuid
from pathlib import Path

import pytest

from mdt_desk.cli import main
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import PASSPHRASE_ENV
from mdt_desk.services.sign_in import DEMO_PIN
from tests import store_sql

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_left_at_022(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``mdt-desk`` runs in-process with its umask call recorded but not made."""
    asked: list[int] = []

    def record(mask: int) -> int:
        asked.append(mask)
        return 0o022

    monkeypatch.setattr(os, "umask", record)
    return asked


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSPHRASE_ENV, "private files test passphrase")
    path = tmp_path / "data" / "desk.sqlite"
    assert run("demo", "--patients", "12", "--seed", "5", "--store", str(path))[0] == 0
    return path


def run(*argv: str, pin: str = "") -> tuple[int, str]:
    stdin = sys.stdin
    sys.stdin = io.StringIO(pin + "\n")
    out = io.StringIO()
    try:
        return main(list(argv), out=out), out.getvalue()
    finally:
        sys.stdin = stdin


def signed_in_staff(store: Path) -> str:
    with store_sql.connect(store, read_only=True) as db:
        (staff_id,) = db.execute(
            "SELECT value FROM store_meta WHERE key = 'signed_in_staff_id'"
        ).fetchone()
    return str(uuid.UUID(staff_id))


def person_with_open_case(store: Path) -> str:
    with store_sql.connect(store, read_only=True) as db:
        (nhs,) = db.execute(
            "SELECT p.nhs_number FROM patient p JOIN care_case c ON c.patient_id = p.id"
            " WHERE c.status = 'active' ORDER BY p.nhs_number LIMIT 1"
        ).fetchone()
    return str(nhs)


def run_signed_in(store: Path, *argv: str) -> tuple[int, str]:
    return run(
        *argv, "--store", str(store), "--as", signed_in_staff(store), "--pin-stdin", pin=DEMO_PIN
    )


def test_mdt_desk_tightens_its_umask(tmp_path: Path) -> None:
    assert os.umask(0o022) == 0o022  # the fixture's usual desktop umask
    run("stats", "--store", str(tmp_path / "no-such-store.sqlite"))  # refused; no matter
    assert os.umask(0o022) == 0o077


@pytest.mark.slow
def test_an_export_is_written_0600_even_over_a_0644_file(
    demo_store: Path, tmp_path: Path, umask_left_at_022: list[int]
) -> None:
    exported = tmp_path / "export.json"
    exported.write_text("an older export, readable by everyone")
    exported.chmod(0o644)
    (tmp_path / "export.json.part").write_text("left over from a failed export")
    (tmp_path / "export.json.part").chmod(0o644)
    status, _ = run_signed_in(demo_store, "export", "-o", str(exported))
    assert status == 0
    assert umask_left_at_022 == [0o077]  # asked for, and not made: the file did it alone
    assert mode(exported) == PRIVATE_FILE
    assert json.loads(exported.read_text())["tables"]["patient"]
    assert not (tmp_path / "export.json.part").exists()


@pytest.mark.slow
def test_a_care_plan_pdf_is_written_0600_even_over_a_0644_file(
    demo_store: Path, tmp_path: Path, umask_left_at_022: list[int]
) -> None:
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(b"%PDF- an older copy")
    pdf.chmod(0o644)
    status, _ = run_signed_in(
        demo_store, "careplan", "--nhs", person_with_open_case(demo_store), "--out", str(pdf)
    )
    assert status == 0
    assert mode(pdf) == PRIVATE_FILE
    assert pdf.read_bytes().startswith(b"%PDF-1.")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_the_list_pdfs_are_written_0600(
    demo_store: Path, tmp_path: Path, umask_left_at_022: list[int]
) -> None:
    with store_sql.connect(demo_store, read_only=True) as db:
        (practice,) = db.execute(
            "SELECT pr.ods_code FROM practice pr JOIN patient p ON p.practice_id = pr.id"
            " ORDER BY pr.ods_code LIMIT 1"
        ).fetchone()
    pdf = tmp_path / "caseload.pdf"
    status, _ = run_signed_in(demo_store, "caseload", "--practice", practice, "--out", str(pdf))
    assert status == 0
    assert mode(pdf) == PRIVATE_FILE


def test_a_new_store_folder_is_made_0700(tmp_path: Path) -> None:
    found = tmp_path / "home"
    found.mkdir(mode=0o755)
    path = found / "MDT Desk" / "site" / "desk.sqlite"
    with Store.open(path):
        pass
    for folder in (found / "MDT Desk", found / "MDT Desk" / "site"):
        assert mode(folder) == PRIVATE_FOLDER, folder
    assert mode(path) == PRIVATE_FILE
    assert mode(found) == 0o755  # a folder it found is not its to change


@pytest.mark.slow
def test_the_default_data_folder_is_made_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_left_at_022: list[int]
) -> None:
    """The platform's data folder (``~/.local/share/MDT Desk`` here), as `demo` makes it."""
    monkeypatch.delenv("MDT_DESK_STORE")
    monkeypatch.setenv(PASSPHRASE_ENV, "private files test passphrase")
    status, _ = run("demo", "--patients", "1")
    data = tmp_path / "xdg-data" / "MDT Desk"
    assert status == 0
    assert mode(data) == PRIVATE_FOLDER
    assert mode(data / "mdt-desk.sqlite") == PRIVATE_FILE


@pytest.mark.slow
def test_an_export_that_fails_half_way_leaves_nothing_on_the_disk(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows written before the failure are people's records in the clear."""
    from mdt_desk.services import export

    def fails_half_way(_session: object, out: io.TextIOBase, progress: object = None) -> None:
        out.write('{"format": "mdt-desk-export", "tables": {"patient": [')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "export_json", fails_half_way)
    exported = tmp_path / "export.json"
    status, _ = run_signed_in(demo_store, "export", "-o", str(exported))
    assert status == 2
    assert list(tmp_path.glob("export.json*")) == []


@pytest.mark.slow
def test_an_export_into_a_missing_folder_is_refused_with_a_message(
    demo_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_signed_in(demo_store, "export", "-o", str(tmp_path / "nowhere" / "x.json"))
    err = capsys.readouterr().err
    assert status == 2
    assert "Cannot write" in err and "No such file or directory" in err
    assert "Traceback" not in err
    assert not (tmp_path / "nowhere").exists()
