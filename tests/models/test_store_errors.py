"""Each way a store can fail gets its own message; only real damage says "damaged".

A full disk, a read-only file or folder, a second writer and a missing folder all
leave a healthy store behind, and the message must not send anyone to a backup.
"""

from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from mdt_desk.models import store as store_module
from mdt_desk.models.store import Store, discard_unused_store
from mdt_desk.services.check import check_store
from mdt_desk.services.staff import add_staff
from tests.store_faults import (
    damage,
    files_beside,
    fill_disk,
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
        assert files_beside(path) == ["desk.sqlite"]


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
    assert files_beside(path) == ["desk.sqlite"]
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
    assert files_beside(path) == ["desk.sqlite"]


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
