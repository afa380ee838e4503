"""The desk store: one SQLite file, opened safely, migrated with a backup first.

Durability settings follow the reliability design: WAL journal, ``synchronous=FULL``
(without it a power cut can lose committed changes), foreign keys on, a busy timeout
so a second window or the sync worker waits briefly instead of failing.
"""

import datetime as dt
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from mdt_desk.errors import StoreError
from mdt_desk.models.base import utc_now
from mdt_desk.models.clock import WallClock, next_hlc, system_wall_clock
from mdt_desk.models.journal import JournalTransaction

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

#: Written into the SQLite header (``PRAGMA application_id``) so an MDT Desk store is
#: recognisable, and any other SQLite file refused. ASCII "MDTD".
APPLICATION_ID = 0x4D445444
SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 10_000

META_REPLICA_ID = "replica_id"
META_HLC = "hlc"
META_CREATED_AT = "created_at"
META_SIGNED_IN_STAFF = "signed_in_staff_id"


def damaged_message(path: Path, error: BaseException) -> str:
    """What to tell the user when SQLite reports the file as damaged."""
    detail = getattr(error, "orig", None) or error
    return (
        f"The store {path} is damaged ({detail}). Nothing more was written to it. "
        "Restore it from a backup, or re-join the team hub to rebuild this desk."
    )


#: The newest migration in ``migrations/versions``; a test checks it against Alembic.
#: Kept as a constant so that opening an up-to-date store does not import Alembic
#: (an eighth of the start-up time).
SCHEMA_HEAD = "0004_trust"


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


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Manage transactions ourselves (BEGIN / BEGIN IMMEDIATE below), as the
    # SQLAlchemy pysqlite docs recommend, so a write transaction takes the write
    # lock at its start rather than failing half-way with "database is locked".
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _make_engine(path: Path, *, immediate: bool) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _set_pragmas)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _inspect_existing_file(path: Path) -> str | None:
    """Refuse a file that is not an MDT Desk store; return its schema revision.

    Returns ``None`` for an empty SQLite file, which is treated as a new store.
    """
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_MAGIC))
    if header != SQLITE_MAGIC:
        raise StoreError(
            f"{path} is not an MDT Desk store: it is not a database file. "
            "Choose the store file MDT Desk created, or a new file name."
        )
    try:
        raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            application_id = raw.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
            revision = None
            if "alembic_version" in tables:
                found = raw.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = found[0] if found else None
        finally:
            raw.close()
    except sqlite3.DatabaseError as error:
        raise StoreError(damaged_message(path, error)) from error
    if application_id == 0 and not tables:
        return None
    if application_id != APPLICATION_ID:
        raise StoreError(
            f"{path} is a database, but not an MDT Desk store. "
            "Choose the store file MDT Desk created, or a new file name."
        )
    if revision is None:
        raise StoreError(f"{path} is an MDT Desk store without a schema version: it is damaged.")
    return str(revision)


def backup_store(path: Path, label: str) -> Path:
    """Copy the store (consistently, with SQLite's backup API) beside itself."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}.bak")
    source = sqlite3.connect(path)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    return target


#: One writer at a time per store file within this process (the screens' worker and
#: the sync worker). Waiting on a lock wakes the moment it is free; SQLite's own busy
#: handler polls with growing sleeps, so a busy sync could make a screen's small write
#: wait hundreds of milliseconds. Other processes still meet SQLite's lock and timeout.
_WRITE_GATES: dict[str, threading.RLock] = {}
_WRITE_GATES_LOCK = threading.Lock()


def _write_gate(path: Path) -> threading.RLock:
    with _WRITE_GATES_LOCK:
        return _WRITE_GATES.setdefault(str(path), threading.RLock())


class Store:
    """An open desk store.

    Use :meth:`read` for a read-only unit of work and :meth:`write` for one that
    changes records; each yields a SQLAlchemy :class:`Session` for one user action.
    """

    def __init__(self, path: Path, *, clock: WallClock = system_wall_clock) -> None:
        self.path = path
        self._clock = clock
        self._read_engine = _make_engine(path, immediate=False)
        self._write_engine = _make_engine(path, immediate=True)
        self._write_gate = _write_gate(path)
        try:
            with self.read() as session:
                rows = session.execute(text("SELECT key, value FROM store_meta")).all()
        except DatabaseError as error:
            self.close()
            raise StoreError(damaged_message(path, error)) from error
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
        revision = _inspect_existing_file(path) if exists else None
        head = schema_head()
        if revision is not None and revision != head:
            if revision not in _known_revisions():
                raise StoreError(
                    f"{path} was written by a newer version of MDT Desk (schema {revision}). "
                    "Install the newer version of MDT Desk to open it; nothing was changed."
                )
            saved = backup_store(path, f"before-{head}")
            log.info("store backed up before migration to %s", saved.name)
        if revision != head:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(
                    f"Cannot create the folder for {path}: {error.strerror}."
                ) from error
            cls._migrate(path, clock, new=revision is None)
        return cls(path, clock=clock)

    @staticmethod
    def _migrate(path: Path, clock: WallClock, *, new: bool) -> None:
        from alembic import command

        engine = _make_engine(path, immediate=True)
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
        except sqlite3.OperationalError as error:  # pragma: no cover - disk full, read-only
            raise StoreError(f"Cannot write the store at {path}: {error}.") from error
        finally:
            engine.dispose()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._read_engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading. Nothing written through it is kept."""
        with Session(self._read_engine) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self, actor_id: uuid.UUID | None = None, actor_label: str = "") -> Iterator[Session]:
        """A journalled write transaction made by ``actor_id``.

        Everything flushed in the block commits together with its journal rows, or
        nothing does. ``actor_label`` names the actor when no staff member is signed
        in yet (e.g. the first import on a new desk).
        """
        with (
            self._write_gate,
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
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
            if not changed:
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
            self._write_gate,
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
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

    def get_meta(self, key: str) -> str | None:
        with self.read() as session:
            value = session.execute(
                text("SELECT value FROM store_meta WHERE key = :k"), {"k": key}
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def raw_connection(self) -> sqlite3.Connection:
        """A plain read-only ``sqlite3`` connection (checks and benchmarks)."""
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def close(self) -> None:
        self._read_engine.dispose()
        self._write_engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
