"""The command line names the real cause when the store cannot be used.

Busy, full, read-only and missing-folder stores are healthy: the message says so
and what to do, never "damaged ... restore it from a backup". `check` on a damaged
store is a failed check (exit 1), and a refused command leaves no empty store behind.
"""

import io
import json
from pathlib import Path

import pytest

from mdt_desk.cli import main
from mdt_desk.models import store as store_module
from mdt_desk.models.store import Store
from tests.store_faults import (
    damage,
    files_beside,
    fill_disk,
    read_only_file,
    second_writer,
    small_disk,
)

ADD_STAFF = ("staff", "add", "--family-name", "Okafor", "--given-name", "Ngozi")
ADD_STAFF_ARGS = (*ADD_STAFF, "--profession", "social_worker")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def _refused_as(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status, _ = run(*argv)
    error = capsys.readouterr().err
    assert status == 2, error
    assert "damaged" not in error.replace("not damaged", "")
    assert "backup" not in error
    return error


def test_check_on_a_damaged_store_fails_with_exit_1(tmp_path: Path, capsys) -> None:
    path = tmp_path / "desk.sqlite"
    assert run(*ADD_STAFF_ARGS, "--store", str(path))[0] == 0
    damage(path)
    status, output = run("check", "--store", str(path))
    assert status == 1
    assert output.startswith("FAIL store: The store")
    assert "is damaged" in output
    status, output = run("check", "--store", str(path), "--json")
    assert status == 1
    assert json.loads(output)["checks"][0]["passed"] is False
    assert files_beside(path) == ["desk.sqlite", "desk.sqlite.key"]


def test_check_on_a_healthy_store_still_passes(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    assert run(*ADD_STAFF_ARGS, "--store", str(path))[0] == 0
    status, output = run("check", "--store", str(path))
    assert status == 0 and "FAIL" not in output


def test_a_busy_store_says_busy(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    with second_writer(path):
        error = _refused_as(capsys, *ADD_STAFF_ARGS, "--store", str(path))
    assert "is busy" in error and "try again" in error
    assert run(*ADD_STAFF_ARGS, "--store", str(path))[0] == 0


def test_a_full_disk_says_full(tmp_path: Path, capsys) -> None:
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "desk.sqlite"
        Store.open(path).close()
        fill_disk(disk)
        error = _refused_as(capsys, *ADD_STAFF_ARGS, "--store", str(path))
        assert "is full" in error and "Free some space" in error


def test_a_read_only_store_says_read_only(tmp_path: Path, capsys) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    with read_only_file(path):
        error = _refused_as(capsys, *ADD_STAFF_ARGS, "--store", str(path))
    assert "read-only" in error


def test_a_refused_command_leaves_no_new_store_behind(tmp_path: Path, capsys) -> None:
    new = tmp_path / "new-folder" / "desk.sqlite"
    status, _ = run("practices", "import", str(tmp_path / "missing.csv"), "--store", str(new))
    assert status == 2 and "There is no file" in capsys.readouterr().err
    assert not (tmp_path / "new-folder").exists()
    status, _ = run("staff", "sign-in", "not-an-id", "--store", str(tmp_path / "other.sqlite"))
    assert status == 2
    assert files_beside(tmp_path / "missing.csv") == []


def test_a_refused_command_keeps_a_store_that_was_there(tmp_path: Path, capsys) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()  # created before, still empty: not ours to remove
    status, _ = run("practices", "import", str(tmp_path / "missing.csv"), "--store", str(path))
    assert status == 2
    assert path.exists()


#: Commands that read or change an existing store and never make one.
NEEDS_A_STORE = [
    ("stats",),
    ("check",),
    ("actions", "list"),
    ("meetings", "list"),
    ("conflicts",),
    ("export",),
]


@pytest.mark.parametrize("command", NEEDS_A_STORE, ids=" ".join)
def test_a_missing_store_named_with_store_is_named_with_how_to_point_at_one(
    tmp_path: Path, capsys, command: tuple[str, ...]
) -> None:
    path = tmp_path / "typo" / "desk.sqlite"
    status, output = run(*command, "--store", str(path))
    error = capsys.readouterr().err
    assert status == 2 and output == ""
    assert error.startswith(f"mdt-desk: There is no MDT Desk store at {path.resolve()}")
    assert "(given with --store)" in error
    assert "--store PATH" in error and "MDT_DESK_STORE" in error
    assert "Traceback" not in error
    assert not (tmp_path / "typo").exists()


def test_a_fresh_computer_says_where_the_default_store_was_looked_for(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MDT_DESK_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "fresh"))
    default = tmp_path / "fresh" / "MDT Desk" / "mdt-desk.sqlite"
    status, _ = run("actions", "list")
    error = capsys.readouterr().err
    assert status == 2
    assert f"There is no MDT Desk store at {default}" in error
    assert "the default on this computer" in error
    assert "--store PATH" in error and "MDT_DESK_STORE" in error
    assert not default.parent.exists()


def test_a_missing_store_from_the_environment_says_so(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shared" / "team.sqlite"
    monkeypatch.setenv("MDT_DESK_STORE", str(path))
    status, _ = run("stats")
    error = capsys.readouterr().err
    assert status == 2
    assert f"There is no MDT Desk store at {path}" in error
    assert "(from the MDT_DESK_STORE environment variable)" in error
    assert "--store PATH" in error
