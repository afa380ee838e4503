"""The store's encryption key: in the keyring, or sealed by a passphrase; a wrong or
missing key is a clear error that changes nothing; a store from before encryption is
encrypted at its first open, its plaintext copies removed."""

import datetime as dt
import hashlib
import json
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keyring.backends import fail
from sqlalchemy.orm import Session

from mdt_desk.errors import StoreError
from mdt_desk.models.store import SQLITE_MAGIC, Store, connect_store_file, key_opens
from mdt_desk.models.store_key import (
    KEYRING_SERVICE,
    PASSPHRASE_ENV,
    StoreKeyError,
    WrongPassphraseError,
    export_key,
    forget_unlocked_keys,
    import_key,
    key_file_path,
    read_key_file,
    seal,
    set_passphrase_prompt,
    store_key,
    unseal,
)
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.patients import register_patient
from tests.cheap_argon2 import production_argon2

PASSPHRASE = "a long store passphrase"
FAMILY_NAME = "Quennevillestraw"


def _register(session: Session) -> None:
    register_patient(
        session,
        nhs_number="9434765919",
        family_name=FAMILY_NAME,
        given_name="Odile",
        date_of_birth=dt.date(1941, 3, 9),
        practice_id=practice_id_for("A81001"),
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())


def _with_patient(path: Path, practice_file: Path) -> None:
    from mdt_desk.services.practices import import_ods_practices

    with Store.open(path) as store, store.write(actor_label="test") as session:
        import_ods_practices(session, practice_file)
        _register(session)


def test_a_new_store_is_encrypted_with_a_key_kept_in_the_keyring(
    tmp_path: Path, memory_keyring: object, practices_file: Path
) -> None:
    path = tmp_path / "private" / "desk.sqlite"
    _with_patient(path, practices_file)

    key_file = read_key_file(path)
    assert key_file.kept_in == "keyring"
    kept = keyring.get_password(KEYRING_SERVICE, key_file.store_id)
    assert kept is not None and len(bytes.fromhex(kept)) == 32
    # Nothing secret in the key file: only the store's id and where the key is.
    assert kept not in key_file_path(path).read_text()
    assert path.read_bytes()[:16] != SQLITE_MAGIC
    with pytest.raises(sqlite3.DatabaseError), closing(sqlite3.connect(path)) as plain:
        plain.execute("SELECT count(*) FROM patient").fetchone()
    assert FAMILY_NAME.encode() not in path.read_bytes()
    assert _mode(path) == 0o600
    assert _mode(key_file_path(path)) == 0o600
    assert _mode(path.parent) == 0o700


def test_each_store_has_its_own_key(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite"), Store.open(tmp_path / "b.sqlite"):
        pass
    assert store_key(tmp_path / "a.sqlite") != store_key(tmp_path / "b.sqlite")
    assert (
        read_key_file(tmp_path / "a.sqlite").store_id
        != read_key_file(tmp_path / "b.sqlite").store_id
    )


@pytest.mark.slow  # argon2id (0.1 s a try) or a whole second store
def test_without_a_keyring_the_key_is_sealed_by_the_passphrase_asked_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, practices_file: Path
) -> None:
    _no_keyring(monkeypatch)
    asked: list[bool] = []

    def prompt(_path: Path, new: bool) -> str:
        asked.append(new)
        return PASSPHRASE

    set_passphrase_prompt(prompt)
    try:
        path = tmp_path / "desk.sqlite"
        _with_patient(path, practices_file)
        assert read_key_file(path).kept_in == "passphrase"
        assert asked == [True]  # chosen once; reopening in the same run asks nothing
        with Store.open(path):
            pass
        assert asked == [True]
        forget_unlocked_keys()  # a new run
        with Store.open(path) as store, store.raw_connection() as raw:
            assert raw.execute("SELECT count(*) FROM patient").fetchone()[0] == 1
        assert asked == [True, False]
    finally:
        set_passphrase_prompt(None)


@pytest.mark.slow  # argon2id (0.1 s a try) or a whole second store
def test_a_wrong_passphrase_is_refused_in_words_and_the_file_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_keyring(monkeypatch)
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    path = tmp_path / "desk.sqlite"
    with Store.open(path):
        pass
    before = (_digest(path), _digest(key_file_path(path)))
    forget_unlocked_keys()
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase at all")
    with pytest.raises(WrongPassphraseError, match="Passphrase not recognised"):
        Store.open(path)
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(StoreKeyError, match="none was given"):
        Store.open(path)
    assert (_digest(path), _digest(key_file_path(path))) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desk.sqlite", "desk.sqlite.key"]


def test_a_key_missing_from_the_keyring_says_how_to_restore_it(
    tmp_path: Path, memory_keyring: object
) -> None:
    path = tmp_path / "desk.sqlite"
    with Store.open(path):
        pass
    before = _digest(path)
    keyring.delete_password(KEYRING_SERVICE, read_key_file(path).store_id)
    forget_unlocked_keys()
    with pytest.raises(StoreKeyError, match="store key import"):
        Store.open(path)
    assert _digest(path) == before


def test_a_wrong_key_in_the_keyring_is_a_key_error_not_damage(
    tmp_path: Path, memory_keyring: object
) -> None:
    path = tmp_path / "desk.sqlite"
    with Store.open(path):
        pass
    before = _digest(path)
    keyring.set_password(KEYRING_SERVICE, read_key_file(path).store_id, "ab" * 32)
    forget_unlocked_keys()
    with pytest.raises(StoreKeyError, match="cannot be read with the key"):
        Store.open(path)
    assert _digest(path) == before


@pytest.mark.slow  # argon2id (0.1 s a try) or a whole second store
def test_a_sealed_key_backup_restores_a_lost_key(tmp_path: Path, memory_keyring: object) -> None:
    path = tmp_path / "desk.sqlite"
    with Store.open(path) as store:
        replica = store.replica_id
    backup = export_key(path, tmp_path / "key-backup.json", "backup passphrase")
    assert _mode(backup) == 0o600
    assert store_key(path).hex() not in backup.read_text()
    assert json.loads(backup.read_text())["store_id"] == read_key_file(path).store_id

    keyring.delete_password(KEYRING_SERVICE, read_key_file(path).store_id)
    key_file_path(path).unlink()
    forget_unlocked_keys()
    with pytest.raises(StoreError):
        Store.open(path)
    with pytest.raises(WrongPassphraseError):
        import_key(path, backup, "not the backup passphrase", key_opens)
    assert not key_file_path(path).exists()  # a refused import writes nothing
    other = tmp_path / "other.sqlite"
    with Store.open(other):
        pass
    other_backup = export_key(other, tmp_path / "other-key.json", "backup passphrase")
    with pytest.raises(StoreKeyError, match="does not open the store"):
        import_key(path, other_backup, "backup passphrase", key_opens)
    assert not key_file_path(path).exists()  # the wrong store's key is never kept
    import_key(path, backup, "backup passphrase", key_opens)
    with Store.open(path) as store:
        assert store.replica_id == replica


@pytest.mark.slow  # argon2id (0.1 s a try) or a whole second store
@settings(max_examples=10, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    passphrase=st.text(min_size=8, max_size=40),
    other=st.text(min_size=8, max_size=40),
)
def test_a_sealed_key_opens_with_its_passphrase_only(key: bytes, passphrase: str, other: str):
    sealed = seal(key, passphrase, "store-id")
    assert unseal(sealed, passphrase, "store-id", "test") == key
    if other != passphrase:
        with pytest.raises(WrongPassphraseError):
            unseal(sealed, other, "store-id", "test")
    # Bound to its store: the same sealed key under another store's id does not open.
    with pytest.raises(WrongPassphraseError):
        unseal(sealed, passphrase, "another-store", "test")


def test_a_desk_seals_keys_with_argon2id_at_rfc_9106_low_memory_cost() -> None:
    """The suite stretches passphrases at argon2's smallest cost (tests/cheap_argon2.py);
    the desk itself must not: t=3 passes over 64 MiB in 4 lanes, written beside the key."""
    key = bytes(range(32))
    with production_argon2():
        sealed = seal(key, "a passphrase of the desk", "store-id")
        assert unseal(sealed, "a passphrase of the desk", "store-id", "test") == key
    assert (sealed["kdf"], sealed["time_cost"], sealed["memory_kib"], sealed["lanes"]) == (
        "argon2id",
        "3",
        "65536",
        "4",
    )


def plaintext_copy(encrypted: Path, target: Path) -> None:
    """A plaintext copy of a store, as a store from before encryption was."""
    with closing(connect_store_file(encrypted, store_key(encrypted))) as raw:
        raw.isolation_level = None
        raw.execute("ATTACH DATABASE ? AS plaintext KEY ''", (str(target),))
        raw.execute("SELECT sqlcipher_export('plaintext')").fetchall()
        raw.execute("PRAGMA plaintext.application_id = 1296323652")
        raw.execute("PRAGMA plaintext.journal_mode = WAL")
        raw.execute("DETACH DATABASE plaintext")


@pytest.mark.slow  # argon2id (0.1 s a try) or a whole second store
def test_a_store_from_before_encryption_is_encrypted_at_first_open(
    tmp_path: Path, practices_file: Path
) -> None:
    made = tmp_path / "made" / "desk.sqlite"
    _with_patient(made, practices_file)
    path = tmp_path / "old.sqlite"
    plaintext_copy(made, path)
    assert path.read_bytes()[:16] == SQLITE_MAGIC
    assert FAMILY_NAME.encode() in path.read_bytes()
    old_backup = path.with_name(path.name + ".before-0006_access-20261101T000000Z.bak")
    old_backup.write_bytes(path.read_bytes())

    with Store.open(path) as store:
        assert store.encrypted_now is not None
        assert old_backup in store.encrypted_now.removed
        with store.raw_connection() as raw:
            assert raw.execute("SELECT family_name FROM patient").fetchone()[0] == (FAMILY_NAME)
    assert path.read_bytes()[:16] != SQLITE_MAGIC
    assert not old_backup.exists()
    for beside in tmp_path.iterdir():
        if beside.is_file():
            assert FAMILY_NAME.encode() not in beside.read_bytes(), beside
    with Store.open(path) as store:
        assert store.encrypted_now is None


def test_a_migration_backup_is_encrypted_and_opens_with_its_own_key_file(
    store: Store, practice_ids: object
) -> None:
    with store.write(actor_label="test") as session:
        _register(session)
    backup = store.backup("before-test")
    assert backup.read_bytes()[:16] != SQLITE_MAGIC
    assert FAMILY_NAME.encode() not in backup.read_bytes()
    assert _mode(backup) == 0o600
    with Store.open(backup, create=False) as copy, copy.raw_connection() as raw:
        assert raw.execute("SELECT count(*) FROM patient").fetchone()[0] == 1
