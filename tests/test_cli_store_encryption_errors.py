"""What a command says when encrypting or opening an encrypted store goes wrong: one
message and exit status 2, never a traceback, and nothing damaged.

A store from before encryption is encrypted when this version first opens it; a folder
that cannot be written, a full disk or a file that is not ours then stops the command
with a message, and the plaintext store stays as it was and opens once the cause is gone.
A wrong store passphrase is asked for once per attempt and refused once.
"""

import errno
import getpass
import hashlib
import io
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from mdt_desk.cli import main
from mdt_desk.models.store import SQLITE_MAGIC, Store
from mdt_desk.models.store_key import PASSPHRASE_ENV, forget_unlocked_keys, set_passphrase_prompt
from tests.models.test_store_key import FAMILY_NAME, _with_patient, plaintext_copy
from tests.store_faults import files_beside, remount_read_only, small_disk


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal, so the CLI asks for the passphrase."""

    def isatty(self) -> bool:
        return True


def _main(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str]:
    saved = sys.stdin
    sys.stdin = stdin or io.StringIO("")
    out = io.StringIO()
    try:
        return main(list(argv), out=out), out.getvalue()
    finally:
        sys.stdin = saved
        set_passphrase_prompt(None)  # main() installs the terminal's for its run


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _family_names(plaintext: Path) -> list[str]:
    # immutable: a WAL-mode file in a read-only folder opens no other way
    location = f"file:{plaintext}?mode=ro&immutable=1"
    with closing(sqlite3.connect(location, uri=True)) as raw:
        return [str(row[0]) for row in raw.execute("SELECT family_name FROM patient")]


def _plaintext_store(folder: Path, made_in: Path, practices_file: Path) -> Path:
    made = made_in / "made.sqlite"
    _with_patient(made, practices_file)
    path = folder / "old.sqlite"
    plaintext_copy(made, path)
    return path


def _refused(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: object) -> str:
    status, _out = _main(*argv, **kwargs)  # type: ignore[arg-type]
    error = capsys.readouterr().err
    assert status == 2, error
    assert "Traceback" not in error
    return error


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_a_plaintext_store_in_a_read_only_folder_is_refused_in_words_and_kept(
    tmp_path: Path, practices_file: Path, capsys: pytest.CaptureFixture[str], journal_mode: str
) -> None:
    """A read-only file system (root ignores permission bits, so the kernel makes it so).
    In rollback-journal mode (a copy made by a tool that turned WAL off) the store can
    be read there, and it is the encryption's first write that is refused."""
    with small_disk(tmp_path / "disk") as disk:
        path = _plaintext_store(disk, tmp_path, practices_file)
        with closing(sqlite3.connect(path)) as raw:
            raw.execute(f"PRAGMA journal_mode = {journal_mode}")
        before = files_beside(path)
        remount_read_only(disk)
        error = _refused(capsys, "stats", "--store", str(path))
        assert "read-only" in error
        assert files_beside(path) == before
        assert path.read_bytes()[:16] == SQLITE_MAGIC
        assert _family_names(path) == [FAMILY_NAME]


def test_a_full_disk_while_encrypting_is_refused_in_words_and_the_plaintext_kept(
    tmp_path: Path,
    practices_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    path = _plaintext_store(folder, tmp_path, practices_file)
    real_replace = os.replace

    def full_at_the_last_step(source: object, target: object) -> None:
        if Path(str(target)) == path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", full_at_the_last_step)
    error = _refused(capsys, "stats", "--store", str(path))
    assert "is full" in error and "Free some space" in error
    assert files_beside(path) == ["old.sqlite"]
    assert _family_names(path) == [FAMILY_NAME]

    monkeypatch.undo()  # space freed: the next command encrypts it
    status, _out = _main("stats", "--store", str(path))
    assert status == 0, capsys.readouterr().err
    assert path.read_bytes()[:16] != SQLITE_MAGIC


def test_a_store_file_that_cannot_be_made_private_is_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else's file (shared, 0644) cannot be chmod-ed by us: say so, change nothing."""
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    path.chmod(0o644)
    before = _digest(path)

    def not_yours(self: Path, mode: int, **_kwargs: object) -> None:
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(self))

    monkeypatch.setattr(Path, "chmod", not_yours)
    error = _refused(capsys, "stats", "--store", str(path))
    assert "readable by its owner only" in error and "another user" in error
    assert _digest(path) == before


def test_a_wrong_passphrase_is_asked_for_once_and_refused_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())  # no keyring: the key is sealed by a passphrase
    path = tmp_path / "desk.sqlite"
    with monkeypatch.context() as made:
        made.setenv(PASSPHRASE_ENV, "the right passphrase")
        Store.open(path).close()
    forget_unlocked_keys()  # a new run
    before = _digest(path)
    asked: list[str] = []

    def typed(prompt: str = "") -> str:
        asked.append(prompt)
        return "a wrong passphrase"

    monkeypatch.setattr(getpass, "getpass", typed)
    error = _refused(capsys, "stats", "--store", str(path), stdin=_Terminal(""))

    assert len(asked) == 1, asked
    assert error.count("Passphrase not recognised") == 1
    assert _digest(path) == before

    asked.clear()

    def typed_right(prompt: str = "") -> str:
        asked.append(prompt)
        return "the right passphrase"

    monkeypatch.setattr(getpass, "getpass", typed_right)
    status, _out = _main("stats", "--store", str(path), stdin=_Terminal(""))
    assert status == 0, capsys.readouterr().err
    assert len(asked) == 1


def test_ctrl_d_at_the_passphrase_prompt_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The input ending at "Choose a store passphrase:" (Ctrl+D) is no passphrase given:
    a message, exit status 2, and no store left behind."""
    keyring.set_keyring(fail.Keyring())
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)

    def ended(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", ended)
    path = tmp_path / "new.sqlite"
    error = _refused(capsys, "demo", "--patients", "20", "--store", str(path), stdin=_Terminal(""))
    assert "no store passphrase was given" in error
    assert not path.exists()
