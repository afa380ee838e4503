"""`mdt-desk store encrypt` and `mdt-desk store key export|import`, and what a wrong or
missing key does to every command: exit status 2, a message, no traceback, the file
untouched."""

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keyring
import pytest

from mdt_desk.cli import main
from mdt_desk.models import store as store_module
from mdt_desk.models.store import SQLITE_MAGIC, Store
from mdt_desk.models.store_key import (
    KEYRING_SERVICE,
    PASSPHRASE_ENV,
    forget_unlocked_keys,
    key_file_path,
    read_key_file,
)
from mdt_desk.services.sign_in import DEMO_PIN
from tests.cli_sign_in import demo_staff_with, run
from tests.models.test_store_key import plaintext_copy

ROOT = Path(__file__).resolve().parent.parent


def _main(argv: list[str], stdin: str = "") -> tuple[int, str]:
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    out = io.StringIO()
    try:
        return main(argv, out=out), out.getvalue()
    finally:
        sys.stdin = saved


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    path = tmp_path / "desk.sqlite"
    status, _out = run("demo", "--patients", "60", "--store", str(path))
    assert status == 0
    return path


def test_store_encrypt_converts_a_plaintext_store_and_removes_every_plaintext_copy(
    tmp_path: Path, demo_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.sqlite"
    plaintext_copy(demo_store, path)
    backup = path.with_name(path.name + ".before-0006_access-20261101T000000Z.bak")
    backup.write_bytes(path.read_bytes())
    with Store.open(demo_store) as store, store.raw_connection() as raw:
        family = str(raw.execute("SELECT family_name FROM patient LIMIT 1").fetchone()[0])

    status, out = _main(["store", "encrypt", "--store", str(path)])

    assert status == 0, capsys.readouterr().err
    assert "now encrypted, and passed its check" in out
    assert backup.name in out
    assert path.read_bytes()[:16] != SQLITE_MAGIC
    assert not backup.exists()
    holding = [
        p.name for p in tmp_path.iterdir() if p.is_file() and family.encode() in p.read_bytes()
    ]
    assert holding == []
    status, out = _main(["check", "--store", str(path)])
    assert status == 0 and "FAIL" not in out
    status, out = _main(["store", "encrypt", "--store", str(path)])
    assert (status, "encrypted already" in out) == (0, True)


def test_store_encrypt_converts_a_store_from_an_older_version_then_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old_migrations = tmp_path / "migrations-0006"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[7-9]_*.py"):
        later.unlink()
    made = tmp_path / "made.sqlite"
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0006_access")
        old_version.setattr(store_module, "_known_revisions", lambda: {"0006_access"})
        with Store.open(made):
            pass
    path = tmp_path / "old.sqlite"
    plaintext_copy(made, path)

    status, out = _main(["store", "encrypt", "--store", str(path)])

    assert status == 0, capsys.readouterr().err
    assert "passed its check" in out
    assert path.read_bytes()[:16] != SQLITE_MAGIC
    with Store.open(path, create=False) as store:
        assert store.current_revision() == store_module.schema_head()


def test_store_encrypt_refuses_a_file_that_is_not_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("shopping list\n")
    assert _main(["store", "encrypt", "--store", str(path)])[0] == 2
    assert "not an MDT Desk store" in capsys.readouterr().err
    assert path.read_text() == "shopping list\n"


def test_a_missing_key_is_exit_2_with_the_way_back_and_the_file_unchanged(
    demo_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = hashlib.sha256(demo_store.read_bytes()).hexdigest()
    keyring.delete_password(KEYRING_SERVICE, read_key_file(demo_store).store_id)
    forget_unlocked_keys()
    assert _main(["stats", "--store", str(demo_store)])[0] == 2
    err = capsys.readouterr().err
    assert "store key import" in err and "Traceback" not in err
    assert hashlib.sha256(demo_store.read_bytes()).hexdigest() == before


def test_only_an_administrator_exports_the_key_and_only_when_confirmed(
    tmp_path: Path, demo_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "key-backup.json"
    observer = demo_staff_with(demo_store, "observer")
    admin = demo_staff_with(demo_store, "team_administrator")
    base = ["store", "key", "export", str(out_file), "--store", str(demo_store)]
    answers = f"{DEMO_PIN}\nbackup passphrase\n"

    status, _ = _main(
        [*base, "--as", observer, "--pin-stdin", "--passphrase-stdin", "--yes"], answers
    )
    assert status == 4 and not out_file.exists()
    status, _ = _main([*base, "--as", admin, "--pin-stdin", "--passphrase-stdin"], answers)
    assert status == 2 and "--yes" in capsys.readouterr().err and not out_file.exists()
    status, out = _main(
        [*base, "--as", admin, "--pin-stdin", "--passphrase-stdin", "--yes"], answers
    )
    assert status == 0 and "readable by you only" in out
    assert out_file.stat().st_mode & 0o077 == 0

    # The key is lost (a new laptop's keyring): the backup and its passphrase restore it.
    keyring.delete_password(KEYRING_SERVICE, read_key_file(demo_store).store_id)
    key_file_path(demo_store).unlink()
    forget_unlocked_keys()
    restore = ["store", "key", "import", str(out_file), "--store", str(demo_store)]
    status, _ = _main([*restore, "--passphrase-stdin", "--yes"], "not the passphrase\n")
    assert status == 2 and "Passphrase not recognised" in capsys.readouterr().err
    status, out = _main([*restore, "--passphrase-stdin", "--yes"], "backup passphrase\n")
    assert status == 0 and "opens again" in out
    assert run("stats", "--store", str(demo_store))[0] == 0


@pytest.mark.slow
def test_a_wrong_passphrase_in_a_new_process_is_exit_2_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.sqlite"
    environment = {**os.environ, PASSPHRASE_ENV: "the right passphrase", "PYTHONPATH": str(ROOT)}
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    made = subprocess.run(
        [sys.executable, "-m", "mdt_desk.cli", "demo", "--patients", "30", "--store", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert read_key_file(path).kept_in == "passphrase"
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    environment[PASSPHRASE_ENV] = "a wrong passphrase"
    refused = subprocess.run(
        [sys.executable, "-m", "mdt_desk.cli", "stats", "--store", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 2
    assert "Passphrase not recognised" in refused.stderr
    assert "Traceback" not in refused.stderr and "ERROR CORE" not in refused.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
