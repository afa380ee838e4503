"""Opening, creating, refusing and migrating desk stores."""

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.errors import StoreError
from mdt_desk.models import store as store_module
from mdt_desk.models.store import APPLICATION_ID, Store, schema_head
from mdt_desk.services.check import check_store
from tests import store_sql


def test_new_store_has_durable_pragmas_and_identity(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.sqlite") as store:
        with store.write(actor_label="test") as session:
            pragmas = {
                name: session.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL
            "foreign_keys": 1,
            "busy_timeout": 10_000,
        }
        assert store.current_revision() == schema_head()
        raw = store.raw_connection()
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        raw.close()


def test_store_keeps_its_replica_identity_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    with Store.open(path) as first:
        replica = first.replica_id
    with Store.open(path) as again:
        assert again.replica_id == replica


def test_a_text_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    with pytest.raises(StoreError, match="not an MDT Desk store: it is not a database"):
        Store.open(path)
    assert path.read_text() == "shopping list\n"


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE recipes (name TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="is a database, but not an MDT Desk store"):
        Store.open(path)


def test_a_store_from_a_newer_version_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    raw = store_sql.connect(path)
    raw.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version of MDT Desk"):
        Store.open(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


def test_a_damaged_header_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[0:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        Store.open(path)


def test_missing_store_is_not_created_when_not_asked(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="There is no MDT Desk store"):
        Store.open(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


def test_an_older_store_is_backed_up_then_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written at revision 0001 (before meetings grew titles, series and
    amendments) is opened by this version: backed up, then migrated in place, with its
    records and their journal intact and the new columns journalled from then on."""
    old_migrations = tmp_path / "migrations-0001"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[2-9]_*.py"):
        later.unlink()
    path = tmp_path / "desk.sqlite"
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0001_initial")
        old_version.setattr(store_module, "_known_revisions", lambda: {"0001_initial"})
        with Store.open(path) as old, old.write(actor_label="version 0001") as session:
            session.execute(
                text(
                    "INSERT INTO practice (id, ods_code, name, address, postcode, phone, status,"
                    " commissioner_code, created_at, updated_at) VALUES ('aa', 'A81001',"
                    " 'The Densham Surgery', '', 'TS18 1HU', '', 'active', '00K',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
            session.execute(
                text(
                    "INSERT INTO meeting (id, practice_id, starts_at, duration_minutes, location,"
                    " video_link, status, created_at, updated_at) VALUES ('mm', 'aa',"
                    " '2026-01-06 13:00:00', 90, 'Room 2', '', 'finished',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
    with Store.open(path) as migrated:
        assert migrated.current_revision() == schema_head()
        with migrated.write(actor_label="this version") as session:
            session.execute(text("UPDATE meeting SET title = 'Densham MDT' WHERE id = 'mm'"))
        with migrated.read() as session:
            assert session.execute(text("SELECT title, repeat_weeks FROM meeting")).one() == (
                "Densham MDT",
                None,
            )
            journalled = session.execute(
                text("SELECT field, new_value FROM journal WHERE row_id = 'mm' ORDER BY 1")
            ).all()
        assert ("title", '"Densham MDT"') in journalled
        assert ("location", '"Room 2"') in journalled  # written at 0001, kept
        report = check_store(migrated)
        assert report.passed, report.checks
    backups = list(path.parent.glob("desk.sqlite.before-*.bak"))
    assert len(backups) == 1
    raw = store_sql.connect(backups[0])  # a backup is encrypted too, its key file beside it
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001_initial"
    assert raw.execute("SELECT count(*) FROM meeting").fetchone()[0] == 1
    raw.close()


def test_the_schema_head_constant_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from mdt_desk.models import store as store_module

    script = ScriptDirectory.from_config(store_module._alembic_config())
    assert script.get_current_head() == schema_head()
