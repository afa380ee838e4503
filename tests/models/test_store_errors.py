"""Each way a store can fail gets its own message; only real damage says "damaged".

A full disk, a read-only file or folder, a second writer and a missing folder all
leave a healthy store behind, and the message must not send anyone to a backup.
"""

import datetime as dt
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mdt_desk.errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from mdt_desk.models import Patient
from mdt_desk.models import store as store_module
from mdt_desk.models.store import Store, discard_unused_store, schema_head
from mdt_desk.models.store_key import StoreKeyError
from mdt_desk.services.check import check_store
from mdt_desk.services.staff import add_staff
from tests.store_faults import (
    damage,
    files_beside,
    fill_disk,
    garble,
    half_written,
    let_go,
    read_only_file,
    remount_read_only,
    second_writer,
    small_disk,
)

BIG_NOTE = "x" * 400_000


def _write_meta(store: Store, key: str, value: str = "v") -> None:
    with store.write(actor_label="test") as session:
        store.set_meta(session, key, value)


def _assert_not_called_damaged(error: StoreError) -> None:
    message = str(error)
    assert "damaged" not in message.replace("not damaged", "")
    assert "backup" not in message


def test_a_full_disk_says_full_and_the_store_stays_healthy(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "desk.sqlite"
        with Store.open(path) as store:
            _write_meta(store, "kept", "before the disk filled")
            filler = fill_disk(disk)
            with pytest.raises(StoreFullError, match="is full") as caught:
                _write_meta(store, "lost", BIG_NOTE)
        _assert_not_called_damaged(caught.value)
        assert "Free some space" in str(caught.value)
        filler.unlink()
        with Store.open(path) as again:
            assert again.get_meta("kept") == "before the disk filled"
            assert again.get_meta("lost") is None
            assert check_store(again).passed


def test_creating_a_store_on_a_full_disk_says_full_and_leaves_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        filler = fill_disk(disk)
        with pytest.raises(StoreFullError, match="is full"):
            Store.open(disk / "new.sqlite")
        assert files_beside(filler) == ["filler"]


def test_a_read_only_folder_says_read_only(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        path = disk / "desk.sqlite"
        with Store.open(path) as store:
            _write_meta(store, "kept")
        remount_read_only(disk)
        with pytest.raises(StoreReadOnlyError, match="read-only") as caught:
            Store.open(path)
        _assert_not_called_damaged(caught.value)
        assert files_beside(path) == ["desk.sqlite", "desk.sqlite.key"]


def test_a_read_only_file_opens_but_a_write_says_read_only(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    with read_only_file(path):
        store = Store.open(path)
        try:
            assert store.get_meta(store_module.META_REPLICA_ID)
            with pytest.raises(StoreReadOnlyError, match="cannot be written") as caught:
                _write_meta(store, "refused")
        finally:
            store.close()
    _assert_not_called_damaged(caught.value)
    with Store.open(path) as again:
        _write_meta(again, "written")
        assert again.get_meta("written") == "v"


def test_a_new_store_in_a_read_only_folder_cannot_be_created(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        remount_read_only(disk)
        with pytest.raises(StoreUnavailableError, match="Cannot create"):
            Store.open(disk / "new.sqlite")
        with pytest.raises(StoreUnavailableError, match="Cannot create the folder"):
            Store.open(disk / "sub" / "new.sqlite")


def test_a_store_under_a_file_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(StoreUnavailableError, match="Cannot create the folder"):
        Store.open(tmp_path / "notes.txt" / "desk.sqlite")


def test_a_second_writer_makes_the_store_busy_not_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "desk.sqlite"
    with Store.open(path) as store:
        with second_writer(path):
            with pytest.raises(StoreBusyError, match="busy") as caught:
                _write_meta(store, "waiting")
            with store.read() as session:  # readers are never locked out
                assert session.execute(text("SELECT count(*) FROM store_meta")).scalar_one()
        _assert_not_called_damaged(caught.value)
        assert "try again" in str(caught.value)
        _write_meta(store, "waiting", "written once the other program let go")
        assert store.get_meta("waiting") == "written once the other program let go"


def test_garbage_bytes_are_damage_and_opening_creates_nothing_beside(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    with Store.open(path) as store:
        _write_meta(store, "kept")
    damage(path)
    before = path.read_bytes()
    with pytest.raises(StoreDamagedError, match="is damaged"):
        Store.open(path)
    with pytest.raises(StoreDamagedError, match="is damaged"):
        Store.open(path, create=False)
    assert files_beside(path) == ["desk.sqlite", "desk.sqlite.key"]
    assert path.read_bytes() == before


def test_garbage_throughout_says_the_key_is_wrong_or_the_file_damaged(tmp_path: Path) -> None:
    """Encrypted, a file of garbage after its header reads exactly as the store under
    another key would: every page fails its check. The message names both causes, and
    nothing is written or created."""
    path = tmp_path / "desk.sqlite"
    with Store.open(path) as store:
        _write_meta(store, "kept")
    garble(path)
    before = path.read_bytes()
    with pytest.raises(StoreKeyError, match="passphrase is wrong, or the file is damaged"):
        Store.open(path)
    assert files_beside(path) == ["desk.sqlite", "desk.sqlite.key"]
    assert path.read_bytes() == before


def test_damage_behind_an_older_schema_makes_no_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    damage(path)
    monkeypatch.setattr(store_module, "SCHEMA_HEAD", "9999_future")
    with pytest.raises(StoreDamagedError):
        Store.open(path)
    assert files_beside(path) == ["desk.sqlite", "desk.sqlite.key"]


def test_an_unused_new_store_can_be_discarded_but_a_used_one_never(tmp_path: Path) -> None:
    unused = tmp_path / "new" / "desk.sqlite"
    Store.open(unused).close()
    assert discard_unused_store(unused, [unused.parent])
    assert not (tmp_path / "new").exists()
    used = tmp_path / "used.sqlite"
    with Store.open(used) as store, store.write(actor_label="test") as session:
        add_staff(session, family_name="Okafor", given_name="Ngozi", profession="social_worker")
    assert not discard_unused_store(used)
    with Store.open(used) as again, again.read() as session:
        assert session.execute(text("SELECT count(*) FROM staff")).scalar_one() == 1


def test_a_refused_write_does_not_repeat_the_persons_details(tmp_path: Path) -> None:
    """An error's text reaches the log and the crash dialog: it names the cause, never
    the names or NHS number the refused statement carried."""
    person = {
        "family_name": "Featherstonehaugh",
        "given_name": "Philippa",
        "nhs_number": "9434765919",
        "address": "14 Quayside Mews",
    }
    with (
        Store.open(tmp_path / "desk.sqlite") as store,
        pytest.raises(IntegrityError) as caught,
        store.write(actor_label="test") as session,
    ):
        # a practice that is not in the store: the foreign key refuses the row
        session.add(Patient(**person, date_of_birth=dt.date(1938, 3, 2), practice_id=uuid.uuid4()))
        session.flush()
    message = str(caught.value)
    assert "FOREIGN KEY constraint failed" in message  # the cause is still told
    assert "INSERT INTO patient" in message
    assert not [value for value in person.values() if value in message]


def test_a_store_another_program_is_writing_opens_once_it_is_done(tmp_path: Path) -> None:
    """Half of another program's write is in the file: opening waits for it to end and
    sees the store as it is, not "damaged" and not "from a newer version"."""
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    with half_written(path) as writer:
        threading.Timer(0.3, let_go, (writer,)).start()
        with Store.open(path) as store:
            assert store.current_revision() == schema_head()
            _write_meta(store, "after", "the other program's write was undone")
    with Store.open(path) as again:
        assert again.get_meta("after") == "the other program's write was undone"
        assert check_store(again).passed


def test_a_write_cut_off_by_a_crash_is_undone_when_the_store_opens(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    with half_written(path) as writer:
        writer.kill()
        writer.wait(timeout=10)
    assert (tmp_path / "desk.sqlite-journal").exists()  # what the crash left
    with Store.open(path) as store:
        assert store.current_revision() == schema_head()
        with store.read() as session:
            tables = session.execute(text("SELECT name FROM sqlite_master")).scalars().all()
        assert "filler" not in tables
        assert check_store(store).passed
