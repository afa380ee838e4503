"""Encrypting a store, and keeping its key, lose nothing when something goes wrong.

A store from before encryption is copied into an encrypted file that then replaces it.
While that runs no other program may change the plaintext store (its change would be
lost with the file); a conversion that fails part-way leaves the plaintext store as it
was, and neither the copy, nor a key file, nor a keyring entry behind. Opening a store
never drops a lock another connection of this process holds on it.
"""

import errno
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from mdt_desk.errors import StoreFullError
from mdt_desk.models import store as store_module
from mdt_desk.models import store_key as store_key_module
from mdt_desk.models.store import (
    SQLITE_MAGIC,
    Store,
    connect_store_file,
    encrypt_store_in_place,
)
from mdt_desk.models.store_key import key_file_path, store_key
from tests.models.test_store_key import FAMILY_NAME, _with_patient, plaintext_copy

#: Another program's attempt to change the store: a row added to store_meta, waiting
#: at most a moment for SQLite's lock. Prints "wrote", or SQLite's refusal.
_ANOTHER_PROGRAM_WRITES = (
    "import sqlite3, sys\n"
    "connection = sqlite3.connect(sys.argv[1], timeout=0.2, isolation_level=None)\n"
    "try:\n"
    "    connection.execute('BEGIN IMMEDIATE')\n"
    "    connection.execute(\"INSERT INTO store_meta (key, value) VALUES ('lost', 'x')\")\n"
    "    connection.execute('COMMIT')\n"
    "    print('wrote')\n"
    "except sqlite3.Error as error:\n"
    "    print(error)\n"
)


def _another_program_writes(path: Path, *, key: bytes | None = None) -> str:
    script = _ANOTHER_PROGRAM_WRITES
    if key is not None:  # the SQLCipher driver, given the key as its first statement
        script = script.replace("import sqlite3", "import sqlcipher3.dbapi2 as sqlite3", 1)
        script = script.replace(
            "try:\n", f'connection.execute("PRAGMA key = \\"x\'{key.hex()}\'\\"")\ntry:\n', 1
        )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def plaintext_store(tmp_path: Path, practices_file: Path) -> Path:
    """A store from before encryption (WAL mode, one patient), alone in its folder."""
    made = tmp_path / "made" / "desk.sqlite"
    _with_patient(made, practices_file)
    folder = tmp_path / "old"
    folder.mkdir()
    path = folder / "old.sqlite"
    plaintext_copy(made, path)
    return path


def _plaintext_family_names(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as plain:
        return [str(row[0]) for row in plain.execute("SELECT family_name FROM patient")]


def test_no_other_program_can_change_the_plaintext_store_while_it_is_encrypted(
    plaintext_store: Path,
) -> None:
    attempts: list[str] = []
    copies: list[tuple[str, int]] = []

    def meanwhile(copy: Path) -> None:  # called with the copy made, before it replaces
        copies.append((copy.name, stat.S_IMODE(copy.stat().st_mode)))
        attempts.append(_another_program_writes(plaintext_store))

    encrypt_store_in_place(plaintext_store, verify=meanwhile)

    assert attempts == ["database is locked"]
    [(name, mode)] = copies
    assert name.startswith(".old.sqlite.encrypting-") and mode == 0o600
    with closing(connect_store_file(plaintext_store, store_key(plaintext_store))) as raw:
        assert raw.execute("SELECT family_name FROM patient").fetchall() == [(FAMILY_NAME,)]
    assert sorted(p.name for p in plaintext_store.parent.iterdir()) == [
        "old.sqlite",
        "old.sqlite.key",
    ]


def test_a_conversion_that_fails_part_way_leaves_the_plaintext_store_and_nothing_else(
    plaintext_store: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    real_replace = os.replace

    def disk_full_at_the_last_step(source: object, target: object) -> None:
        if Path(str(target)) == plaintext_store:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(source, target)  # type: ignore[arg-type]

    keys_before = dict(memory_keyring.passwords)  # type: ignore[attr-defined]
    monkeypatch.setattr(os, "replace", disk_full_at_the_last_step)
    with pytest.raises(StoreFullError, match="is full"):
        encrypt_store_in_place(plaintext_store)

    assert plaintext_store.read_bytes()[:16] == SQLITE_MAGIC
    assert _plaintext_family_names(plaintext_store) == [FAMILY_NAME]
    assert sorted(p.name for p in plaintext_store.parent.iterdir()) == ["old.sqlite"]
    assert memory_keyring.passwords == keys_before  # type: ignore[attr-defined]
    monkeypatch.undo()
    with Store.open(plaintext_store) as store:  # and it converts once the disk has room
        assert store.encrypted_now is not None


def test_a_copy_left_by_a_cut_off_conversion_is_removed_by_the_next(
    plaintext_store: Path, memory_keyring: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cut_off(_copy: Path) -> None:
        raise KeyboardInterrupt  # as if the process died here (its clean-up is undone)

    keys_before = len(memory_keyring.passwords)  # type: ignore[attr-defined]
    monkeypatch.setattr(store_module, "remove_store_files", lambda _path: None)
    with pytest.raises(KeyboardInterrupt):
        encrypt_store_in_place(plaintext_store, verify=cut_off)
    monkeypatch.undo()
    assert any(".encrypting-" in p.name for p in plaintext_store.parent.iterdir())

    encrypt_store_in_place(plaintext_store)

    assert sorted(p.name for p in plaintext_store.parent.iterdir()) == [
        "old.sqlite",
        "old.sqlite.key",
    ]
    # The cut-off copy's key went with it: only the store's own key was added.
    assert len(memory_keyring.passwords) == keys_before + 1  # type: ignore[attr-defined]


def test_a_key_file_that_cannot_be_written_leaves_no_key_in_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    def disk_full(_store_path: Path, _key_file: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_key_module, "_write_key_file", disk_full)
    path = tmp_path / "desk.sqlite"
    with pytest.raises(StoreFullError):
        Store.open(path)
    assert memory_keyring.passwords == {}  # type: ignore[attr-defined]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_key_import_keeps_the_keyring_entry_that_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: object
) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    kept = dict(memory_keyring.passwords)  # type: ignore[attr-defined]
    store_id = store_key_module.read_key_file(path).store_id

    def disk_full(_store_path: Path, _key_file: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_key_module, "_write_key_file", disk_full)
    with pytest.raises(OSError):
        store_key_module.keep_key(path, b"\x01" * 32, store_id=store_id)
    assert memory_keyring.passwords == kept  # type: ignore[attr-defined]


def test_opening_a_store_again_keeps_the_lock_another_connection_here_holds(
    tmp_path: Path,
) -> None:
    """On POSIX, closing any descriptor of a file drops every lock the process holds on
    it. A reader here holds SQLite's shared lock (the store in rollback-journal mode, as
    during a conversion); opening the store again must not read the file in a way that
    drops that lock, or another program could write under the reader."""
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    key = store_key(path)
    with closing(connect_store_file(path, key)) as raw:
        raw.execute("PRAGMA journal_mode = DELETE")
    with closing(connect_store_file(path, key)) as reader:
        reader.isolation_level = None
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM store_meta").fetchone()
        assert _another_program_writes(path, key=key) == "database is locked"

        store_module._unlock(path)  # as Store.open finds the key and looks at the file

        assert _another_program_writes(path, key=key) == "database is locked"
        reader.execute("COMMIT")
    assert key_file_path(path).exists()


def test_a_store_encrypted_by_another_program_meanwhile_opens_as_it_is(
    plaintext_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two programs open a plaintext store at once: the second waits for the first's
    conversion, then opens the encrypted store instead of failing."""
    real_lock = store_module._lock_plaintext

    def the_other_program_converts_first(path: Path) -> object:
        monkeypatch.setattr(store_module, "_lock_plaintext", real_lock)
        encrypt_store_in_place(path)  # the other program, done before this one's lock
        plain = sqlite3.connect(":memory:", isolation_level=None)  # this one's lock
        return plain

    # This program has looked at the file (plaintext) and is about to lock it.
    monkeypatch.setattr(store_module, "_lock_plaintext", the_other_program_converts_first)
    with Store.open(plaintext_store, create=False) as store:
        assert store.encrypted_now is None
        with store.raw_connection() as raw:
            assert raw.execute("SELECT family_name FROM patient").fetchall() == [(FAMILY_NAME,)]


def test_a_plaintext_store_beside_a_key_file_left_by_a_cut_off_conversion_is_converted(
    plaintext_store: Path,
) -> None:
    key_file_path(plaintext_store).write_text("{}")  # written just before the crash
    with Store.open(plaintext_store) as store:
        assert store.encrypted_now is not None
    assert plaintext_store.read_bytes()[:16] != SQLITE_MAGIC
    with pytest.raises(sqlite3.DatabaseError):
        _plaintext_family_names(plaintext_store)
