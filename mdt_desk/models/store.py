"""The desk store: one SQLite file, opened safely, migrated with a backup first.

Durability settings follow the reliability design: WAL journal, ``synchronous=FULL``
(without it a power cut can lose committed changes), foreign keys on, a busy timeout
so a second window or the sync worker waits briefly instead of failing.
"""

import datetime as dt
import errno
import logging
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DatabaseError, DBAPIError
from sqlalchemy.orm import Session

from mdt_desk.errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreDiskError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from mdt_desk.models.base import utc_now
from mdt_desk.models.clock import WallClock, next_hlc, system_wall_clock
from mdt_desk.models.journal import JournalTransaction
from mdt_desk.models.private_files import (
    create_private_folder,
    make_private,
    touch_private,
    write_private,
)
from mdt_desk.models.seal import SEALED_SINCE_SCHEMA, seal_local_transaction
from mdt_desk.models.store_key import (
    StoreKeyError,
    forget_key,
    has_key_file,
    keep_key,
    key_file_path,
    new_store_key,
    store_key,
)

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

#: Written into the SQLite header (``PRAGMA application_id``) so an MDT Desk store is
#: recognisable, and any other SQLite file refused. ASCII "MDTD".
APPLICATION_ID = 0x4D445444
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Errors of either SQLite driver: ``sqlcipher3`` for the store, the standard library's
#: ``sqlite3`` where a plaintext file is looked at (a store from before encryption).
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher.Error)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 10_000
#: Decrypted pages kept in memory per connection (see _set_pragmas).
PAGE_CACHE_KIB = 64 * 1024

META_REPLICA_ID = "replica_id"
META_HLC = "hlc"
META_CREATED_AT = "created_at"
META_SIGNED_IN_STAFF = "signed_in_staff_id"
#: ``session.info`` key of the staff member acting in a session (``services/access.py``
#: turns it into their roles).
SESSION_ACTOR_KEY = "actor_id"


def damaged_message(path: Path, error: BaseException) -> str:
    """What to tell the user when SQLite reports the file as damaged."""
    detail = getattr(error, "orig", None) or error
    return (
        f"The store {path} is damaged ({detail}). Nothing more was written to it. "
        "Restore it from a backup, or re-join the team hub to rebuild this desk."
    )


# SQLite's primary result codes (https://sqlite.org/rescode.html) for the causes a
# person can act on. Each gets its own message: calling a locked or full store
# "damaged" would have people throw away a healthy store and its unsynced changes.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
_SQLITE_READONLY_DBMOVED = _SQLITE_READONLY | (4 << 8)
#: Below this much free space an I/O error is taken to be a full disk.
_NEARLY_FULL_BYTES = 1 << 20

_MESSAGE_HINTS = (
    ("database is locked", _SQLITE_BUSY),
    ("database table is locked", _SQLITE_LOCKED),
    ("disk is full", _SQLITE_FULL),
    ("readonly database", _SQLITE_READONLY),
    ("unable to open database", _SQLITE_CANTOPEN),
    ("malformed", _SQLITE_CORRUPT),
    ("file is not a database", _SQLITE_NOTADB),
    ("disk i/o error", _SQLITE_IOERR),
)


def _sqlite_code(error: BaseException) -> int | None:
    """The extended SQLite result code behind ``error`` (SQLAlchemy-wrapped or not)."""
    orig = getattr(error, "orig", None) or error
    if not isinstance(orig, DRIVER_ERRORS):
        return None
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code
    message = str(orig).lower()
    return next((found for hint, found in _MESSAGE_HINTS if hint in message), None)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def _cannot_open(path: Path) -> StoreError:
    """Why SQLite could not open or create ``path``, found by looking at the disk."""
    folder = path.parent
    if not folder.is_dir():
        return StoreUnavailableError(
            f"Cannot create or open the store {path}: the folder {folder} does not exist. "
            "Check the path, or create the folder first. Nothing was written."
        )
    if path.exists() and (not _writable(folder) or not _writable(path)):
        return _read_only(path)
    if not path.exists() and not _writable(folder):
        return StoreUnavailableError(
            f"Cannot create the store {path}: the folder {folder} cannot be written (it is "
            "read-only, or you may not write there). Choose a folder you can write to."
        )
    if path.exists() and not os.access(path, os.R_OK):
        return StoreUnavailableError(
            f"Cannot open the store {path}: you may not read that file. Ask whoever manages "
            "this computer to give you access to it. Nothing was changed."
        )
    return StoreUnavailableError(
        f"Cannot create or open the store {path}. Check that the file and its folder are "
        "there and that you may read and write them. Nothing was changed."
    )


def _read_only(path: Path) -> StoreError:
    return StoreReadOnlyError(
        f"The store {path} cannot be written: the file or its folder is read-only. It is not "
        "damaged and nothing was changed. MDT Desk needs to write the file and, beside it, "
        "its -wal and -shm files: make the folder and the file writable (or copy the store "
        "to a folder you can write to), then try again."
    )


def _busy(path: Path, _error: BaseException) -> StoreError:
    return StoreBusyError(
        f"The store {path} is busy: another program (another MDT Desk window, a sync or "
        f"an import) kept it locked for more than {BUSY_TIMEOUT_MS / 1000:g} seconds. "
        "Nothing was changed and the store is not damaged. Wait for the other program "
        "to finish, then try again."
    )


def _full(path: Path, _error: BaseException) -> StoreError:
    return StoreFullError(
        f"The disk holding the store {path} is full. Nothing was changed and the store is "
        "not damaged. Free some space on that disk, then try again."
    )


def _damaged(path: Path, error: BaseException) -> StoreError:
    return StoreDamagedError(damaged_message(path, error))


def _disk(path: Path, error: BaseException) -> StoreError:
    detail = getattr(error, "orig", None) or error
    return StoreDiskError(
        f"The disk reported an error while MDT Desk was reading or writing the store {path} "
        f"({detail}). Nothing more was written. Check the disk or network drive and try "
        "again; `mdt-desk check` tells you whether the store itself is intact."
    )


_BY_CAUSE: dict[int, Callable[[Path, BaseException], StoreError]] = {
    _SQLITE_BUSY: _busy,
    _SQLITE_LOCKED: _busy,
    _SQLITE_FULL: _full,
    _SQLITE_READONLY: lambda path, _error: _read_only(path),
    _SQLITE_CANTOPEN: lambda path, _error: _cannot_open(path),
    _SQLITE_PERM: lambda path, _error: _cannot_open(path),
    _SQLITE_CORRUPT: _damaged,
    _SQLITE_NOTADB: _damaged,
    _SQLITE_IOERR: _disk,
}


def _error_code(error: BaseException) -> int | None:
    if isinstance(error, OSError) and not isinstance(error, DRIVER_ERRORS):
        if error.errno == errno.ENOSPC:
            return _SQLITE_FULL
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return _SQLITE_CANTOPEN
        return _SQLITE_IOERR
    return _sqlite_code(error)


def store_error(path: Path, error: BaseException) -> StoreError | None:
    """The user's error for an SQLite or disk failure on the store at ``path``.

    Each cause has its own message and fix: busy (another program is writing),
    disk full, read-only file or folder, cannot create or open, a disk error, and
    really damaged. Returns ``None`` when ``error`` is none of these (a bug).
    """
    if isinstance(error, StoreError):
        return error
    code = _error_code(error)
    if code is None:
        return None
    if code == _SQLITE_READONLY_DBMOVED:
        return StoreUnavailableError(
            f"The store {path} was moved or deleted while MDT Desk had it open. Nothing was "
            "changed. Open the store again from where it is now."
        )
    primary = code & 0xFF
    if primary == _SQLITE_IOERR and _nearly_full(path.parent):
        primary = _SQLITE_FULL
    build = _BY_CAUSE.get(primary)
    return None if build is None else build(path, error)


def raise_store_error(path: Path, error: BaseException) -> None:
    """Raise the classified :class:`StoreError` for ``error``, if it has one."""
    translated = store_error(path, error)
    if translated is not None and translated is not error:
        raise translated from error


#: The newest migration in ``migrations/versions``; a test checks it against Alembic.
#: Kept as a constant so that opening an up-to-date store does not import Alembic
#: (an eighth of the start-up time).
SCHEMA_HEAD = "0009_seal_withdrawal"


def _alembic_config() -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def schema_head() -> str:
    """The schema revision this version of MDT Desk writes."""
    return SCHEMA_HEAD


def schema_version_number() -> int:
    """The head revision as the integer carried by every journal transaction."""
    return int(schema_head().split("_", 1)[0])


def _apply_key(raw: Any, key: bytes | None) -> None:
    """Give SQLCipher the store's raw 256-bit key: the first statement on a connection.

    A raw key (``x'…'``) skips SQLCipher's own key derivation, so opening costs nothing;
    the key itself is random, made by :func:`new_store_key`. ``None`` opens a plaintext
    file (only to encrypt a store from before encryption). SQLCipher's own log is
    silenced: a wrong key is reported once, by us, in words.
    """
    raw.execute("PRAGMA cipher_log_level = NONE")
    if key is not None:
        raw.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


def connect_store_file(
    path: Path, key: bytes | None, *, options: str = "", timeout: float = BUSY_TIMEOUT_MS / 1000
) -> Any:
    """A plain DB-API connection (``sqlcipher3``) to the store at ``path``, keyed.

    For checks, benchmarks and tests that read the file with raw SQL. ``options`` are
    SQLite URI options such as ``mode=ro``.
    """
    location = f"file:{path}?{options}" if options else f"file:{path}"
    raw = sqlcipher.connect(location, uri=True, timeout=timeout)
    try:
        _apply_key(raw, key)
    except BaseException:
        raw.close()
        raise
    return raw


def scratch_database() -> Any:
    """A private temporary database (``sqlcipher3``), encrypted with a throwaway key.

    SQLite deletes it on close (on Unix it is unlinked as soon as it is made); the key
    lives only in this process, so what was written to it is unreadable on the disk.
    """
    raw = sqlcipher.connect("", isolation_level=None)
    _apply_key(raw, secrets.token_bytes(32))
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    return raw


def _set_read_pragmas(raw: Any) -> None:
    """How every connection to a store reads it, the desk's and a raw one alike
    (``raw`` is a DB-API connection or cursor)."""
    # Sorts and temporary indexes stay in memory: SQLite's temporary files are not
    # encrypted, and they would hold names and notes.
    raw.execute("PRAGMA temp_store=MEMORY")
    # Up to 64 MiB of decrypted pages per connection (SQLite's default is 2 MiB). The OS
    # caches a plaintext file's pages, but SQLCipher decrypts (and checks the HMAC of)
    # every page it reads from there again: on a 100k-person store the caseload page took
    # 4.4x its plaintext time with the default cache, and 1.0x with this one
    # (docs/performance.md). Memory grows only as pages are read.
    raw.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Manage transactions ourselves (BEGIN / BEGIN IMMEDIATE below), as the
    # SQLAlchemy pysqlite docs recommend, so a write transaction takes the write
    # lock at its start rather than failing half-way with "database is locked".
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    _set_read_pragmas(cursor)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


#: A write that has waited this long for another program's write lock is announced
#: to the store's :attr:`Store.busy_listener` (the app then says it is waiting).
BUSY_NOTICE_MS = 500

#: Told ``True`` when a write starts waiting for another program that holds the
#: store's write lock, and ``False`` once it got in or gave up. Called on the thread
#: that writes.
BusyListener = Callable[[bool], None]


def _is_busy(error: Exception) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error).lower()


def _make_engine(
    path: Path,
    key: bytes | None,
    *,
    immediate: bool,
    busy_listener: Callable[[], BusyListener | None] | None = None,
) -> Engine:
    # hide_parameters: an error's text (logged, or shown in a dialog) must never carry
    # the names, NHS numbers or notes a failed statement was given.
    engine = create_engine(f"sqlite:///{path}", module=sqlcipher, hide_parameters=True)
    event.listen(engine, "connect", lambda raw, _record: _apply_key(raw, key))
    event.listen(engine, "connect", _set_pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        listener = busy_listener() if busy_listener is not None else None
        if listener is None:
            connection.exec_driver_sql(begin)
            return
        # Try for a moment; if another program holds the lock, say so, then wait the
        # rest of the busy timeout as before.
        # (Any other failure is met again by the second try, as SQLAlchemy's error.)
        raw = connection.connection.driver_connection
        raw.execute(f"PRAGMA busy_timeout={BUSY_NOTICE_MS}")
        try:
            raw.execute(begin)
            return
        except (sqlite3.OperationalError, sqlcipher.OperationalError) as error:
            waiting = _is_busy(error)
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if waiting:
            listener(True)
        try:
            connection.exec_driver_sql(begin)
        finally:
            if waiting:
                listener(False)

    return engine


#: Every read connection sees ``patient`` as this view of the published patients: the
#: new patients of an import still being written (``patient_import_row``, see
#: ``models/imports.py``) are not there, whatever the query (ORM, Core or raw SQL).
#: A temporary view is private to its connection and shadows the table of the same
#: name; SQLite flattens it into each query, so the table's indexes are used as before.
_PUBLISHED_PATIENTS_VIEW = (
    "CREATE TEMP VIEW IF NOT EXISTS patient AS SELECT * FROM main.patient"
    " WHERE id NOT IN (SELECT patient_id FROM main.patient_import_row)"
)
#: ``Session.info`` key of the sessions whose connection has that view.
SEES_PUBLISHED_PATIENTS_ONLY = "sees_published_patients_only"


def _published_patients_only(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # A store opened at an older schema (tests of upgrades) has no imports to hide.
    if dbapi_connection.execute(
        "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'patient_import_row'"
    ).fetchone():
        dbapi_connection.execute(_PUBLISHED_PATIENTS_VIEW)


#: Files SQLite keeps beside a database while a program has it open to write.
_WRITER_FILES = ("-wal", "-journal")
#: Read-only opens SQLite refuses until a read-write open undoes an interrupted write.
_NEEDS_RECOVERY = (sqlite3.SQLITE_READONLY_ROLLBACK, sqlite3.SQLITE_READONLY_RECOVERY)

_Identity = tuple[int, set[str], str | None]


def _query_identity(path: Path, options: str, key: bytes | None) -> _Identity:
    """The file's application id, table names and schema revision."""
    raw = connect_store_file(path, key, options=options)
    try:
        application_id = int(raw.execute("PRAGMA application_id").fetchone()[0])
        tables = {str(row[0]) for row in raw.execute("SELECT name FROM sqlite_master")}
        revision = None
        if "alembic_version" in tables:
            found = raw.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = None if found is None else str(found[0])
        if application_id == APPLICATION_ID and "store_meta" in tables:
            raw.execute("SELECT key, value FROM store_meta").fetchall()
    finally:
        raw.close()
    return application_id, tables, revision


def _open_to_write(path: Path) -> bool:
    """Whether a program has the file open to write (SQLite's files are beside it)."""
    return any(path.with_name(path.name + suffix).exists() for suffix in _WRITER_FILES)


def _file_state(path: Path) -> tuple[int, int, int, bool]:
    """What changes if another program opens or writes the file."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, _open_to_write(path)


def _read_identity(path: Path, key: bytes | None) -> _Identity:
    """:func:`_query_identity`, answered rightly even while another program writes.

    A normal read-only open takes SQLite's locks: it waits out another program's write
    and sees what that committed. On a file in WAL mode it leaves -wal and -shm files
    beside it, though, and a damaged or foreign file must be refused with nothing
    created beside it (H60). So the first look is immutable, which creates nothing and
    takes no lock; but "immutable" promises SQLite that nothing changes the file
    meanwhile, and a look during another program's write can see half of it and call
    a healthy store damaged or newer. So that look is trusted only to refuse a file,
    and only if nothing opened or changed the file while it looked. An MDT Desk store
    is always read again the normal way: it is about to be opened anyway, and another
    window, a sync or an import may be writing it.
    """
    if _open_to_write(path):  # its -wal or -journal is there already
        return _query_identity_under_locks(path, key)
    before = _file_state(path)
    try:
        found = _query_identity(path, "mode=ro&immutable=1", key)
    except DRIVER_ERRORS:
        if _file_state(path) == before:
            raise
        return _query_identity_under_locks(path, key)
    if found[0] == APPLICATION_ID or _file_state(path) != before:
        return _query_identity_under_locks(path, key)
    return found


def _query_identity_under_locks(path: Path, key: bytes | None) -> _Identity:
    try:
        return _query_identity(path, "mode=ro", key)
    except DRIVER_ERRORS as error:
        code = getattr(error, "sqlite_errorcode", None)
        # sqlcipher3 reports only the primary code (SQLITE_READONLY, not _ROLLBACK):
        # with a journal left beside the file, that is the same interrupted write.
        hot_journal = code == _SQLITE_READONLY and _open_to_write(path)
        if code not in _NEEDS_RECOVERY and not hot_journal:
            raise
    # A write was cut off (a crash, a power cut) and only a read-write open can undo it,
    # as SQLite does for any program that opens the file next; then look again.
    return _query_identity(path, "mode=rw", key)


def _has_sqlite_header(path: Path) -> bool:
    """Whether the file starts as every SQLite database does (see _inspect_existing_file)."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError as error:
        raise_store_error(path, error)
        raise


def _inspect_existing_file(path: Path, key: bytes | None) -> str | None:
    """Refuse a file that is not an MDT Desk store; return its schema revision.

    ``key`` is the store's key, or ``None`` to look at a plaintext file (a store from
    before encryption). Returns ``None`` for an empty SQLite file, which is treated as
    a new store.

    The file is looked at only through SQLite while it may be in use. Closing any other
    descriptor of the file drops every POSIX lock this process holds on it, SQLite's
    included; a store already open in this process (the window's, while its sync worker
    opens its own) would then look unused to another program, which deletes the WAL
    under it when it closes, and the next write here damages the store. So the header
    is read directly only once SQLite has refused the file as not a database.
    """
    try:
        application_id, tables, revision = _read_identity(path, key)
    except DRIVER_ERRORS as error:
        if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            if key is not None:
                if _key_opens_some_pages(path, key):
                    raise StoreDamagedError(damaged_message(path, error)) from error
                raise _wrong_key(path) from error
            if not _has_sqlite_header(path):
                raise _not_a_store(path) from error
        raise_store_error(path, error)
        raise StoreDamagedError(damaged_message(path, error)) from error
    except OSError as error:  # the file went while it was looked at
        raise_store_error(path, error)
        raise
    if application_id == 0 and not tables:
        return None
    if application_id != APPLICATION_ID:
        raise StoreError(
            f"{path} is a database, but not an MDT Desk store. "
            "Choose the store file MDT Desk created, or a new file name."
        )
    if revision is None:
        raise StoreDamagedError(
            f"{path} is an MDT Desk store without a schema version: it is damaged. "
            "Restore it from a backup, or re-join the team hub to rebuild this desk."
        )
    return str(revision)


def _not_a_store(path: Path) -> StoreError:
    return StoreError(
        f"{path} is not an MDT Desk store: it is not a database file (nor an encrypted "
        f"store with its key file, {key_file_path(path).name}, beside it). "
        "Choose the store file MDT Desk created, or a new file name."
    )


def _key_opens_some_pages(path: Path, key: bytes) -> bool:
    """Whether ``key`` is the key of at least one page of the file at ``path``.

    SQLCipher refuses a file whose first page fails its HMAC as "not a database",
    whether the key is wrong or that page is damaged. A wrong key fails every page; a
    damaged store's other pages still verify with its key, so it is reported as damage
    (restore a backup), not as a key to go and look for.
    """
    try:
        raw = connect_store_file(path, key, options="mode=ro")
        try:
            failures = raw.execute("PRAGMA cipher_integrity_check").fetchall()
            page_bytes = int(raw.execute("PRAGMA cipher_page_size").fetchone()[0])
            pages = -(-path.stat().st_size // page_bytes)
        finally:
            raw.close()
    except (sqlite3.Error, sqlcipher.Error, OSError):
        return False
    return 0 < len(failures) < pages


def _wrong_key(path: Path) -> StoreKeyError:
    return StoreKeyError(
        f"The store {path} cannot be read with the key this computer has for it: the key "
        "or passphrase is wrong, or the file is damaged. Nothing was changed. If the key "
        "was lost, restore it from an administrator's key backup with `mdt-desk store key "
        "import`; without the key, the store cannot be read by anyone."
    )


def key_opens(path: Path, key: bytes) -> bool:
    """Whether ``key`` decrypts the store at ``path`` (its first page), writing nothing."""
    try:
        raw = connect_store_file(path, key, options="mode=ro")
        try:
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            raw.close()
    except (sqlite3.Error, sqlcipher.Error):
        return False
    return True


def stored_revision(path: Path, key: bytes) -> str | None:
    """The schema revision of the store at ``path`` (``None`` if it has none)."""
    raw = connect_store_file(path, key, options="mode=ro")
    try:
        row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        raw.close()
    return None if row is None else str(row[0])


def is_plaintext_store_file(path: Path) -> bool:
    """Whether ``path`` is an unencrypted SQLite file (a store from before encryption)."""
    return path.is_file() and path.stat().st_size > 0 and _has_sqlite_header(path)


def remove_store_files(path: Path) -> None:
    """Delete a store file, SQLite's files beside it (-wal, -shm, -journal) and its key."""
    forget_key(path)
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        beside = path.with_name(name)
        if os.path.lexists(beside):
            try:
                beside.unlink()
            except OSError as error:
                log.warning("could not remove %s: %s", beside.name, error.strerror)


def discard_unused_store(path: Path, created_folders: Iterable[Path] = ()) -> bool:
    """Delete the store at ``path`` if nothing was ever written to it; True if deleted.

    For a command that created a store and was then refused: it should leave no empty
    store behind. ``created_folders`` (deepest first) are removed too if left empty.
    A store holding any journalled change is never touched.
    """
    if not path.is_file():
        return False
    if path.stat().st_size > 0:
        try:
            raw = connect_store_file(path, store_key(path), options="mode=ro")
            try:
                used = raw.execute("SELECT EXISTS (SELECT 1 FROM journal_tx)").fetchone()[0]
            finally:
                raw.close()
        except (sqlite3.Error, sqlcipher.Error, StoreError):
            return False  # not ours to judge: leave it
        if used:
            return False
    remove_store_files(path)
    for folder in created_folders:
        with suppress(OSError):
            folder.rmdir()
    return True


def conversion_needed(path: Path | str) -> bool:
    """Whether opening the store at ``path`` first converts it from an older schema.

    For saying so before a conversion that may take a while; ``False`` for a new,
    current, foreign, newer or unreadable file (opening it says what is wrong).

    Raises:
        StoreKeyError: the store's key cannot be had (a wrong or missing passphrase, a
            key missing from the keyring). The passphrase is asked for here, once: the
            open that follows uses the key unlocked here, and a wrong passphrase must
            not be asked for a second time only to be refused again.
    """
    path = Path(path).expanduser().resolve()
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        if not has_key_file(path):
            return is_plaintext_store_file(path)  # it is encrypted first
        key = store_key(path)
    except StoreKeyError:
        if is_plaintext_store_file(path):  # a key file left by a cut-off conversion
            return True
        raise
    except (StoreError, OSError):
        return False
    try:
        revision = _inspect_existing_file(path, key)
    except (StoreError, OSError):
        return False
    return revision is not None and revision != schema_head() and revision in _known_revisions()


def _backup_name(path: Path, label: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.{label}-{stamp}.bak")


def backup_store(path: Path, label: str, key: bytes | None) -> Path:
    """Copy the store (consistently, with SQLite's backup API) beside itself, encrypted.

    The copy is encrypted with the store's own key, and its key file is copied beside
    it (``<backup>.key``), so it opens exactly as the store does.
    """
    target = _backup_name(path, label)
    touch_private(target)
    try:
        source = connect_store_file(path, key)
        try:
            destination = connect_store_file(target, key)
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()
        write_private(key_file_path(target), key_file_path(path).read_bytes())
    except (sqlite3.Error, sqlcipher.Error, OSError) as error:
        target.unlink(missing_ok=True)  # half a backup is worse than none
        key_file_path(target).unlink(missing_ok=True)
        raise_store_error(path, error)
        raise
    return target


@dataclass(frozen=True, slots=True)
class Encryption:
    """What :func:`encrypt_store_in_place` did: the plaintext copies it removed."""

    path: Path
    removed: tuple[Path, ...]


#: Checks a newly encrypted copy before it replaces the plaintext store (the CLI passes
#: the full ``check``); raises to stop the conversion, leaving the plaintext as it was.
EncryptedCopyCheck = Callable[[Path], None]


#: The encrypted copy is written beside the store under a name of this shape (made by
#: ``mkstemp``: unique, 0600), so a copy left by a conversion that was cut off is
#: recognised and removed by the next one.
_ENCRYPTING_PREFIX = ".{name}.encrypting-"
_ENCRYPTING_SUFFIX = ".tmp"


class _EncryptedMeanwhileError(StoreError):
    """Another program encrypted the store while this one waited for its lock."""


def encrypt_store_in_place(path: Path, verify: EncryptedCopyCheck | None = None) -> Encryption:
    """Turn the plaintext store at ``path`` into an encrypted one, in place.

    The records are copied by SQLCipher's ``sqlcipher_export`` into a new file encrypted
    with a new key (kept in the keyring, or sealed by passphrase), which is checked
    (SQLite's integrity check, every table's row count, then ``verify``) before it
    replaces the plaintext file atomically. Then the plaintext WAL and every plaintext
    ``.bak`` copy beside the store are removed. Until the replacement the plaintext
    store's records are untouched, so an interrupted conversion loses nothing and
    simply runs again.

    The plaintext store is locked for the whole conversion (:func:`_lock_plaintext`):
    a change another program made to it meanwhile would be lost with the plaintext
    file, so another program waits for it, or is told the store is busy.

    Raises:
        StoreError: the file is not a plaintext MDT Desk store, another program has it
            open, the disk refused a write, or the copy failed its checks (the
            plaintext store's records are then left exactly as they were).
    """
    path = Path(path).expanduser().resolve()
    if not is_plaintext_store_file(path):
        raise StoreError(f"{path} is not an unencrypted MDT Desk store; nothing was changed.")
    _inspect_existing_file(path, None)  # refuses a foreign or damaged file
    try:
        return _encrypt_locked_store(path, verify)
    except OSError as error:  # a read-only folder, a full disk...
        raise_store_error(path, error)
        raise


def _lock_plaintext(path: Path) -> Any:
    """A connection holding an exclusive lock on the plaintext store until it closes.

    ``locking_mode=EXCLUSIVE`` keeps every lock the connection takes; leaving WAL mode
    (it checkpoints the WAL into the file first) and an exclusive transaction take
    SQLite's exclusive lock on the file itself, so no other connection can read or
    write it, and no WAL is left to change. Another program holding the store makes
    this wait the busy timeout, then fail as busy, with nothing changed.
    """
    plain = connect_store_file(path, None)
    try:
        plain.isolation_level = None
        plain.execute("PRAGMA locking_mode = EXCLUSIVE")
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = str(plain.execute("PRAGMA journal_mode = DELETE").fetchone()[0])
        if mode.lower() != "delete":
            raise _busy(path, StoreError(mode))
        plain.execute("BEGIN EXCLUSIVE")
        plain.execute("COMMIT")
    except DRIVER_ERRORS as error:
        plain.close()
        raise_store_error(path, error)
        raise
    except BaseException:
        plain.close()
        raise
    return plain


def _leftover_copies(path: Path) -> list[Path]:
    """Encrypted copies left beside ``path`` by conversions that were cut off."""
    pattern = _ENCRYPTING_PREFIX.format(name=path.name) + "*" + _ENCRYPTING_SUFFIX
    older = path.with_name(path.name + ".encrypting")  # the fixed name of earlier versions
    return [*sorted(path.parent.glob(pattern)), *([older] if os.path.lexists(older) else [])]


def _encrypt_locked_store(path: Path, verify: EncryptedCopyCheck | None) -> Encryption:
    identity = path.stat().st_ino
    plain = _lock_plaintext(path)
    temporary: Path | None = None
    replaced = False
    removed: list[Path] = []
    try:
        if path.stat().st_ino != identity:
            # Another program replaced the file while this one waited for the lock.
            raise _EncryptedMeanwhileError(
                f"The store {path} was encrypted by another program meanwhile; nothing was changed."
            )
        for leftover in _leftover_copies(path):  # only this conversion writes one now
            remove_store_files(leftover)
        descriptor, name = tempfile.mkstemp(
            dir=path.parent,
            prefix=_ENCRYPTING_PREFIX.format(name=path.name),
            suffix=_ENCRYPTING_SUFFIX,
        )
        os.close(descriptor)
        temporary = Path(name)
        key = secrets.token_bytes(32)
        keep_key(temporary, key)
        _export_encrypted_copy(plain, path, temporary, key)
        if verify is not None:
            verify(temporary)
        # The plaintext's WAL files, while nothing can use them: once the encrypted
        # store is in place, files of these names may be another program's.
        for suffix in ("-wal", "-shm"):
            beside = path.with_name(path.name + suffix)
            if os.path.lexists(beside):
                beside.unlink()
                removed.append(beside)
        # The key file moves with the store: written for the store's own name first, so
        # a crash between the two steps leaves a plaintext store that is simply
        # encrypted again.
        try:
            write_private(key_file_path(path), key_file_path(temporary).read_bytes())
            os.replace(temporary, path)
        except BaseException:
            key_file_path(path).unlink(missing_ok=True)  # the plaintext has no key
            raise
        replaced = True
        with suppress(OSError):
            key_file_path(temporary).unlink()
    except BaseException:
        if temporary is not None and not replaced:
            remove_store_files(temporary)
        raise
    finally:
        # Only now: another program that waited for the lock gets it on the replaced
        # file, where SQLite refuses its writes (the file was moved).
        plain.close()
    for backup in sorted(path.parent.glob(f"{path.name}.*.bak")):
        if _has_sqlite_header(backup):
            backup.unlink()
            removed.append(backup)
    _make_store_private(path)
    log.info("store %s encrypted; %d plaintext copies removed", path.name, len(removed))
    return Encryption(path, tuple(removed))


def _export_encrypted_copy(plain: Any, path: Path, temporary: Path, key: bytes) -> None:
    """Copy the locked plaintext store into ``temporary`` under ``key``, and check it."""
    plain.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(temporary), f"x'{key.hex()}'"))
    plain.execute("SELECT sqlcipher_export('encrypted')").fetchall()
    plain.execute(f"PRAGMA encrypted.application_id = {APPLICATION_ID}")
    # Born in WAL mode: a program opening it the moment it replaces the plaintext makes
    # no rollback journal beside it, where the plaintext's connection, as it closes,
    # removes the plaintext's.
    plain.execute("PRAGMA encrypted.journal_mode = WAL")
    plain.execute("DETACH DATABASE encrypted")
    counts = _row_counts(plain)
    encrypted = connect_store_file(temporary, key)
    try:
        problems = [str(row[0]) for row in encrypted.execute("PRAGMA integrity_check")]
        if problems != ["ok"] or _row_counts(encrypted) != counts:
            raise StoreDamagedError(
                f"The encrypted copy of {path} did not match it ({problems[:3]}); the "
                "unencrypted store was left as it was."
            )
    finally:
        encrypted.close()


def _row_counts(raw: Any) -> dict[str, int]:
    names = [
        str(row[0])
        for row in raw.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: int(raw.execute(f'SELECT count(*) FROM main."{name}"').fetchone()[0])
        for name in names
    }


def _compose_text(session: Session, _context: Any, _instances: Any) -> None:
    """Keep every text field a person's action writes in Unicode NFC.

    "Zoë" typed with a combining diaeresis and "Zoë" typed as one character look the
    same but would be two names to a search, a sort or a duplicate check; composed,
    they are one. Applies to every field a journalled write sets: a field left as it
    was is left alone even if it was stored decomposed (before this hook, or by an
    older desk), since rewriting it would change it. That matters for append-only
    records: marking a note sensitive must not also "edit" its body, which the store
    refuses.
    """
    for instance in (*session.new, *session.dirty):
        state = sa_inspect(instance)
        for attribute in state.mapper.column_attrs:
            if not state.attrs[attribute.key].history.has_changes():
                continue
            value = state.dict.get(attribute.key)
            if isinstance(value, str) and not isinstance(value, Enum) and not value.isascii():
                composed = unicodedata.normalize("NFC", value)
                if composed != value:
                    setattr(instance, attribute.key, composed)


#: One writer at a time per store file within this process (the screens' worker and
#: the sync worker). Waiting on a lock wakes the moment it is free; SQLite's own busy
#: handler polls with growing sleeps, so a busy sync could make a screen's small write
#: wait hundreds of milliseconds. Other processes still meet SQLite's lock and timeout.
_WRITE_GATES: dict[str, threading.RLock] = {}
_WRITE_GATES_LOCK = threading.Lock()


def _write_gate(path: Path) -> threading.RLock:
    with _WRITE_GATES_LOCK:
        return _WRITE_GATES.setdefault(str(path), threading.RLock())


def _unlock(path: Path) -> tuple[bytes | None, str | None, Encryption | None]:
    """The key and schema revision of the existing store file at ``path``.

    A store from before encryption is encrypted first (and said so); an empty SQLite
    file is removed, to be created anew (``(None, None, None)``).
    """
    # The file is opened by SQLite first, never read directly while it may be in use:
    # closing any other descriptor of it drops every POSIX lock this process holds on
    # it, SQLite's included (see _inspect_existing_file).
    if has_key_file(path):
        try:
            key = store_key(path)
            revision = _inspect_existing_file(path, key)
        except StoreKeyError:
            # A conversion cut off between writing the key file and replacing the
            # plaintext store leaves both: the plaintext is converted again. For any
            # other file the key's error stands (and then nothing has it open).
            if not _has_sqlite_header(path):
                raise
        else:
            _make_store_private(path)
            return key, revision, None
    elif not os.access(path, os.R_OK):
        raise _cannot_open(path)
    if _inspect_existing_file(path, None) is None:  # refuses a foreign file
        remove_store_files(path)  # an empty SQLite file: made anew
        return None, None, None
    encrypted_now: Encryption | None = None
    # Another program may do it while this one waits: then open it as it is now.
    with suppress(_EncryptedMeanwhileError):
        encrypted_now = encrypt_store_in_place(path)
    key = store_key(path)
    revision = _inspect_existing_file(path, key)
    _make_store_private(path)
    return key, revision, encrypted_now


def _make_store_private(path: Path) -> None:
    """:func:`make_private` for the store, a refusal said in words (exit status 2)."""
    try:
        make_private(path)
    except OSError as error:
        raise StoreUnavailableError(
            f"MDT Desk could not make the store {path} readable by its owner only "
            f"({error.strerror}): the file may belong to another user. Nothing was "
            "changed. Ask whoever manages this computer to give you the file, or copy it "
            "to a folder of your own, then try again."
        ) from error


class Store:
    """An open desk store.

    Use :meth:`read` for a read-only unit of work and :meth:`write` for one that
    changes records; each yields a SQLAlchemy :class:`Session` for one user action.
    Open one with :meth:`open`, which finds the key; ``key=None`` opens an unencrypted
    file as it is, and is only for the benchmarks' unencrypted baseline.
    """

    def __init__(
        self,
        path: Path,
        key: bytes | None,
        *,
        clock: WallClock = system_wall_clock,
        encrypted_now: Encryption | None = None,
    ) -> None:
        self.path = path
        self._key = key
        #: Set when this open encrypted a store from before encryption (say so).
        self.encrypted_now = encrypted_now
        self._clock = clock
        self._read_engine = _make_engine(path, key, immediate=False)
        event.listen(self._read_engine, "connect", _published_patients_only)
        #: Told when a write has to wait for another program (see :data:`BusyListener`).
        self.busy_listener: BusyListener | None = None
        self._write_engine = _make_engine(
            path, key, immediate=True, busy_listener=lambda: self.busy_listener
        )
        self._write_gate = _write_gate(path)
        try:
            with self.read() as session:
                rows = session.execute(text("SELECT key, value FROM store_meta")).all()
        except StoreError:
            self.close()
            raise
        except DatabaseError as error:
            self.close()
            raise StoreDamagedError(damaged_message(path, error)) from error
        meta = {str(key): str(value) for key, value in rows}
        self.replica_id = uuid.UUID(meta[META_REPLICA_ID])
        self.schema_version = schema_version_number()

    @classmethod
    def open(
        cls, path: Path | str, *, create: bool = True, clock: WallClock = system_wall_clock
    ) -> "Store":
        """Open (or create) the store at ``path``, migrating it if it is older.

        Raises:
            StoreError: the file is not an MDT Desk store, is damaged, was written by
                a newer version, or does not exist and ``create`` is false.
        """
        path = Path(path).expanduser().resolve()
        exists = path.exists() and path.stat().st_size > 0
        if path.is_dir():
            raise StoreError(f"{path} is a folder; give the path of a store file.")
        if not exists and not create:
            raise StoreError(f"There is no MDT Desk store at {path}.")
        key, revision, encrypted_now = _unlock(path) if exists else (None, None, None)
        exists = key is not None
        head = schema_head()
        if revision is not None and revision != head:
            if revision not in _known_revisions():
                raise StoreError(
                    f"{path} was written by a newer version of MDT Desk (schema {revision}). "
                    "Install the newer version of MDT Desk to open it; nothing was changed."
                )
            assert key is not None
            saved = backup_store(path, f"before-{head}", key)
            log.info("store backed up before migration to %s", saved.name)
        if revision != head:
            born_here = not os.path.lexists(path) or not exists
            missing = [
                folder for folder in (path.parent, *path.parent.parents) if not folder.exists()
            ]
            try:
                create_private_folder(path.parent)
                if key is None:
                    touch_private(path)
            except OSError as error:
                raise StoreUnavailableError(
                    f"Cannot create the folder for {path}: {error.strerror}. "
                    "Choose a folder you can write to. Nothing was written."
                ) from error
            try:
                if key is None:
                    key = new_store_key(path)
                cls._migrate(path, key, clock, new=revision is None)
            except BaseException as error:
                if born_here:  # a store that failed to be born leaves nothing behind
                    remove_store_files(path)
                    for folder in missing:
                        with suppress(OSError):
                            folder.rmdir()
                if isinstance(error, OSError):  # writing the key file: a full disk, say
                    raise_store_error(path, error)
                raise
        assert key is not None
        return cls(path, key, clock=clock, encrypted_now=encrypted_now)

    @staticmethod
    def _migrate(path: Path, key: bytes, clock: WallClock, *, new: bool) -> None:
        from alembic import command

        engine = _make_engine(path, key, immediate=True)
        try:
            with engine.begin() as connection:
                if new:
                    connection.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if new:
                    now = utc_now().isoformat()
                    connection.execute(
                        text("INSERT INTO store_meta (key, value) VALUES (:k, :v)"),
                        [
                            {"k": META_REPLICA_ID, "v": str(uuid.uuid4())},
                            {"k": META_HLC, "v": "0"},
                            {"k": META_CREATED_AT, "v": now},
                        ],
                    )
        except (
            DBAPIError,
            sqlite3.Error,
            sqlcipher.Error,
            OSError,
        ) as error:  # disk full, read-only...
            raise_store_error(path, error)
            raise
        finally:
            engine.dispose()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._read_engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def read(self, actor_id: uuid.UUID | None = None) -> Iterator[Session]:
        """A session for reading by ``actor_id``. Nothing written through it is kept."""
        info = {SEES_PUBLISHED_PATIENTS_ONLY: True, SESSION_ACTOR_KEY: actor_id}
        with (
            self._classified_errors(),
            Session(self._read_engine, info=info) as session,
        ):
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def _classified_errors(self) -> Iterator[None]:
        """Turn SQLite's busy, full, read-only... failures into the user's StoreError."""
        try:
            yield
        except DBAPIError as error:
            raise_store_error(self.path, error)
            raise

    @contextmanager
    def write(self, actor_id: uuid.UUID | None = None, actor_label: str = "") -> Iterator[Session]:
        """A journalled write transaction made by ``actor_id``.

        Everything flushed in the block commits together with its journal rows, or
        nothing does. ``actor_label`` names the actor when no staff member is signed
        in yet (e.g. the first import on a new desk). Text written through the ORM is
        kept in Unicode NFC (see :func:`_compose_text`).
        """
        with (
            self._classified_errors(),
            self._write_gate,
            Session(
                self._write_engine,
                expire_on_commit=False,
                info={SESSION_ACTOR_KEY: actor_id},
            ) as session,
            session.begin(),
        ):
            event.listen(session, "before_flush", _compose_text)
            last = int(
                session.execute(
                    text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_HLC}
                ).scalar_one()
            )
            hlc = next_hlc(last, self._clock())
            header = JournalTransaction(
                tx_uuid=uuid.uuid4(),
                replica_id=self.replica_id,
                actor_id=actor_id,
                actor_label=actor_label,
                hlc=hlc,
                recorded_at=utc_now(),
                schema_version=self.schema_version,
            )
            session.add(header)
            session.flush()
            # The journal rows this transaction writes come after this one (one writer).
            before = int(
                session.execute(
                    text("SELECT coalesce(max(origin_seq), 0) FROM journal_change")
                ).scalar_one()
            )
            session.execute(
                text("UPDATE store_meta SET value = :v WHERE key = :k"),
                {"k": META_HLC, "v": str(hlc)},
            )
            session.execute(
                text("UPDATE journal_context SET tx = :tx WHERE id = 1"), {"tx": header.tx}
            )
            yield session
            session.flush()
            session.execute(text("UPDATE journal_context SET tx = NULL WHERE id = 1"))
            changed = (
                session.execute(
                    text("SELECT tx FROM journal_change ORDER BY origin_seq DESC LIMIT 1")
                ).scalar_one_or_none()
                == header.tx
            )
            if changed and self.schema_version >= SEALED_SINCE_SCHEMA:
                # Sealed as it commits: the seal and the changes it covers are one write.
                seal_local_transaction(session, header.tx, before)
            elif not changed:
                session.delete(header)

    def wall_clock_ms(self) -> int:
        """This desk's wall clock (injected in tests), in milliseconds."""
        return self._clock()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A write transaction with no journal header of its own.

        For sync, which applies other desks' changes under copies of their headers
        (:mod:`mdt_desk.models.replication`) and keeps its cursors in ``store_meta``.
        A synced table written here without a header is refused by the triggers.
        """
        with (
            self._classified_errors(),
            self._write_gate,
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def local_write(self) -> Iterator[Session]:
        """A plain write transaction for this desk's local, non-synced tables (drafts).

        Not journalled and not part of the record: no journal header is opened, so a
        synced table written here is refused by its triggers. Takes the same write gate
        and ``BEGIN IMMEDIATE`` as every other write.
        """
        with self.write_session() as session:
            yield session

    def set_meta(self, session: Session, key: str, value: str) -> None:
        """Set a ``store_meta`` value inside the caller's write transaction."""
        session.execute(
            text(
                "INSERT INTO store_meta (key, value) VALUES (:k, :v)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"k": key, "v": value},
        )

    def delete_meta(self, session: Session, key: str) -> None:
        """Remove a ``store_meta`` value inside the caller's write transaction."""
        session.execute(text("DELETE FROM store_meta WHERE key = :k"), {"k": key})

    def get_meta(self, key: str) -> str | None:
        with self.read() as session:
            value = session.execute(
                text("SELECT value FROM store_meta WHERE key = :k"), {"k": key}
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def raw_connection(self) -> Any:
        """A plain read-only DB-API connection, keyed (checks and benchmarks), with the
        store's own page cache and in-memory temporary storage (``_set_read_pragmas``):
        a benchmark's raw-SQL baseline then reads as the desk does, and a check's sorts
        write no unencrypted temporary file."""
        raw = connect_store_file(self.path, self._key, options="mode=ro")
        try:
            _set_read_pragmas(raw)
        except BaseException:
            raw.close()
            raise
        return raw

    def backup(self, label: str) -> Path:
        """An encrypted copy of the store beside it (see :func:`backup_store`)."""
        return backup_store(self.path, label, self._key)

    def close(self) -> None:
        self._read_engine.dispose()
        self._write_engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
