"""The team hub: an existing database engine holding every desk's changes.

The hub is passive: PostgreSQL for a team, or a SQLite file for one machine and tests,
reached through a SQLAlchemy URL. All sync logic runs in the desks (``push``/``pull``
in this package), in short transactions on these tables:

- ``hub_meta``: protocol and schema versions, the hub's id (a desk belongs to one hub).
- ``hub_counter``: one row; pushers lock it, so ``server_seq`` is gapless and in commit
  order whoever pushes.
- ``hub_change``: every change ever pushed, in hub order; ``(origin_site, origin_seq)``
  is unique, the idempotency key of a re-push. Append-only.
- ``hub_state``: the current value and clock of every field (the merge's result).
- ``hub_conflict``: what the hub found for people to review (each also a review-item
  change in ``hub_change``, so desks get it by the same cursor).
- ``hub_replica``: each desk's last pushed sequence (gaps and copied desks show here),
  and where and when it last pulled (``hub status``, ``sync/status.py``).
- ``hub_seal``: the seal of every transaction in the log (``models/seal.py``), one hash
  chain per origin desk; ``hub verify`` walks them (``sync/verify.py``).
"""

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from mdt_desk.errors import UserError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
#: The oldest desk schema (journal schema_version) the hub accepts pushes from.
MIN_PUSH_SCHEMA = 3
HUB_SCHEMA_VERSION = 1

hub_metadata = MetaData()

hub_meta = Table(
    "hub_meta",
    hub_metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)
hub_counter = Table(
    "hub_counter",
    hub_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
)
hub_change = Table(
    "hub_change",
    hub_metadata,
    Column("server_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("origin_site", String(32), nullable=False),
    Column("origin_seq", BigInteger, nullable=False),
    Column("tx_id", String(32), nullable=False),
    Column("hlc", BigInteger, nullable=False),
    Column("base_hlc", BigInteger, nullable=False),
    Column("base_site", String(32), nullable=False),
    Column("row_base_hlc", BigInteger, nullable=False),
    Column("entity", String(40), nullable=False),
    Column("row_id", String(32), nullable=False),
    Column("field", String(40), nullable=False),
    Column("op", String(10), nullable=False),
    Column("value", Text),
    Column("schema_version", Integer, nullable=False),
    Column("actor_id", String(32)),
    Column("actor_label", String(200), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    #: Whose record the change is (``sync/scope.py``): which desks may receive it.
    #: Added later (scopes), so an older hub gains it from ``hub init``; see SCOPE_COLUMNS.
    Column("scope_anchor", String(80)),
    Index("uq_hub_change_origin", "origin_site", "origin_seq", unique=True),
    Index("ix_hub_change_row", "entity", "row_id"),
    # A scoped desk's first sync reads its records by anchor, not the whole log.
    Index("ix_hub_change_anchor", "scope_anchor", "server_seq"),
)
#: The log's columns a desk reads (all but the anchor, which an older hub lacks).
LOG_COLUMNS = tuple(column for column in hub_change.c if column.name != "scope_anchor")

hub_state = Table(
    "hub_state",
    hub_metadata,
    Column("entity", String(40), primary_key=True),
    Column("row_id", String(32), primary_key=True),
    Column("field", String(40), primary_key=True),
    Column("value", Text),
    Column("hlc", BigInteger, nullable=False),
    Column("site", String(32), nullable=False),
    Column("server_seq", BigInteger, nullable=False),
    #: The record's scope anchor, as its changes' (so row-level security can hide it).
    Column("scope_anchor", String(80)),
    # Duplicate NHS numbers and two current coordinators are found by value.
    Index("ix_hub_state_value", "entity", "field", "value"),
)
#: Which practices a person's or a meeting's records belong to, and since when: a span
#: per anchor and practice, from the change that brought it there to the one that took
#: it away (``to_seq`` None: still there). Derived from ``hub_state`` by the push that
#: changes it (``sync/scope.py``); a desk sees an anchor's changes by these spans.
hub_anchor_span = Table(
    "hub_anchor_span",
    hub_metadata,
    Column("anchor", String(80), primary_key=True),
    Column("practice_id", String(32), primary_key=True),
    Column("from_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("to_seq", BigInteger),
    Index("ix_hub_anchor_span_practice", "practice_id", "anchor"),
)
hub_conflict = Table(
    "hub_conflict",
    hub_metadata,
    Column("conflict_id", String(32), primary_key=True),
    Column("server_seq", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("row_id", String(32), nullable=False),
    Column("field", String(40), nullable=False),
    Column("kept_seq", BigInteger),
    Column("other_seq", BigInteger),
    Column("other_row_id", String(32), nullable=False),
    Column("resolved", Integer, nullable=False),
    Index("ix_hub_conflict_open", "kind", "row_id", "resolved"),
)
hub_replica = Table(
    "hub_replica",
    hub_metadata,
    Column("site_id", String(32), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("last_origin_seq", BigInteger, nullable=False),
    Column("last_pull_seq", BigInteger, nullable=False),
    #: When the desk last pushed; "" for a desk known only from its pulls.
    Column("last_seen", String(40), nullable=False),
    # Added later (hub status), so an older hub may not have them: see STATUS_COLUMNS.
    #: When the desk last recorded a pull (UTC ISO); None before it did on this hub.
    Column("last_pull_at", String(40)),
    #: The database login the desk's bookkeeping came through (PostgreSQL desk logins).
    Column("login", String(63)),
)
#: Columns added for scopes: ``hub init`` adds them and fills the anchors of the log an
#: older hub holds, then marks the hub (``META_SCOPES``) so desks may be scoped on it.
SCOPE_COLUMNS = {"hub_change": "scope_anchor", "hub_state": "scope_anchor"}

#: hub_replica's columns added after hubs were in use: ``hub init`` adds them to an older
#: hub (additive, nullable), and a desk uses them only once ``META_STATUS`` says so.
STATUS_COLUMNS = {"last_pull_at": "VARCHAR(40)", "login": "VARCHAR(63)"}

#: Each sealed transaction's header (``models/seal.py``): one hash chain per origin
#: desk, the hub's own review items and settlements under the hub's id. Append-only.
hub_seal = Table(
    "hub_seal",
    hub_metadata,
    Column("origin_site", String(32), primary_key=True),
    Column("chain_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("tx_id", String(32), nullable=False, unique=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("change_count", Integer, nullable=False),
    Column("actor_id", String(32), nullable=False),
    Column("actor_label", String(200), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("hlc", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("seal_hash", String(64), nullable=False),
)


def hub_seal_row(seal: Any) -> dict[str, Any]:
    """A :class:`~mdt_desk.models.seal.Seal` as a ``hub_seal`` row."""
    row = dict(seal.as_row())
    row["origin_site"] = row.pop("origin")
    return row


META_PROTOCOL = "protocol_version"
META_SCHEMA = "hub_schema_version"
META_MIN_PUSH_SCHEMA = "min_push_schema"
META_HUB_ID = "hub_id"
#: The last ``server_seq`` before the hub kept seals: changes up to it are from before
#: the chain (a hub set up by an earlier version), reported as unsealed, never a break.
META_SEALED_AFTER = "sealed_after_seq"
#: Present once hub_replica has :data:`STATUS_COLUMNS` (and, on a PostgreSQL hub with a
#: desk group, the functions that write them): desks then record each pull's time.
META_STATUS = "records_pulls"
#: Present once every change in the log has its scope anchor (``hub init``): desks may
#: then hold only their practices' records.
META_SCOPES = "scopes"


@dataclass(frozen=True, slots=True)
class HubInfo:
    hub_id: uuid.UUID
    protocol_version: int
    schema_version: int
    min_push_schema: int
    dialect: str
    #: PostgreSQL: the group role of desk logins (hub_roles); None on an older hub.
    desk_group: str | None = None
    #: Whether desks record when they pull (:data:`META_STATUS`); False on an older hub.
    records_pulls: bool = False
    #: Whether the log's changes carry scope anchors (:data:`META_SCOPES`).
    scopes: bool = False


class HubError(UserError):
    """The hub cannot be used as asked (unreachable, not a hub, refused a push)."""


class HubUnreachableError(HubError):
    """The hub did not answer: the desk works offline and tries again later."""


def _readable(rendered: str) -> str:
    """File paths in the options (``sslrootcert=/etc/…/ca.pem``) as a person writes them.

    SQLAlchemy escapes ``/``, ``:`` and ``\\`` in the query; both forms parse the same.
    """
    address, mark, query = rendered.partition("?")
    for escaped, plain in (("%2F", "/"), ("%3A", ":"), ("%5C", "\\")):
        query = query.replace(escaped, plain)
    return address + mark + query


def redacted(url: str | URL) -> str:
    """The URL as it may appear in messages and logs: never with its password."""
    try:
        return _readable(make_url(url).render_as_string(hide_password=True))
    except (ArgumentError, ValueError):
        return "(not a database address)"


def without_password(url: str | URL) -> str:
    """The URL with no password at all (kept in settings and the store; never a secret)."""
    try:
        # Not URL.set(password=None): set() leaves a field it is given None for unchanged.
        bare = make_url(url)._replace(password=None)
        return _readable(bare.render_as_string(hide_password=False))
    except (ArgumentError, ValueError):
        return "(not a database address)"


def hub_engine(url: str | URL, *, password: str | None = None) -> Engine:
    """An engine for the hub at ``url`` (``password``, if given, replaces the URL's).

    Its errors never quote the values a statement was given (``hide_parameters``): the
    hub's rows carry names, NHS numbers and notes, and a failed sync is logged with its
    error's text.
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a malformed port only fails when read)
    except (ArgumentError, ValueError) as error:
        # Not echoed: a mistyped address may hold the password.
        raise HubError(
            "That is not a hub address: give a database URL such as "
            "postgresql+psycopg://user@host/team or sqlite:///team-hub.sqlite"
        ) from error
    if password is not None and parsed.get_backend_name() != "sqlite":  # a file has none
        parsed = parsed.set(password=password)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: object) -> None:
            # One pusher at a time: the write lock is taken at BEGIN, not mid-way.
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]

        return engine
    if parsed.get_backend_name() != "postgresql":
        raise HubError("The hub must be a PostgreSQL database or a SQLite file.")
    return create_engine(
        parsed,
        hide_parameters=True,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 10,
            # A dead network link is noticed within about half a minute, not fifteen.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            # A stalled desk must not hold the hub's lock for everyone.
            "options": "-c lock_timeout=30000 -c statement_timeout=120000"
            " -c idle_in_transaction_session_timeout=60000",
        },
    )


class HubCertificateError(HubError):
    """TLS could not prove the hub is the hub (a wrong or missing CA file, another name).

    Not "unreachable": trying again later will not help, so the desk says so loudly."""


#: Words of libpq's TLS verification failures (sslmode=verify-ca / verify-full).
_CERTIFICATE_SIGNS = ("certificate", "ssl error", "sslrootcert", "does not match host name")


def _unreachable(url: str | URL, error: BaseException) -> HubError:
    detail = getattr(error, "orig", None) or error
    words = str(detail).strip()
    first_line = words.splitlines()[0] if words else type(detail).__name__
    if any(sign in words.lower() for sign in _CERTIFICATE_SIGNS):
        reason = next(
            (line for line in words.splitlines() if "certificate" in line.lower()), first_line
        )
        return HubCertificateError(
            f"The team hub {redacted(url)} could not be trusted: its TLS certificate did not "
            f"check out ({reason.strip()}). Check that sslrootcert= names the CA file your "
            "administrator gave you and that the address is the name on the hub's "
            "certificate. Nothing was sent."
        )
    return HubUnreachableError(f"The team hub {redacted(url)} is not reachable ({first_line}).")


def init_hub(engine: Engine) -> HubInfo:
    """Create the hub's tables (or check an existing hub); idempotent."""
    try:
        with engine.begin() as connection:
            had_seals = inspect(connection).has_table("hub_seal")
            hub_metadata.create_all(connection)
            existing = dict(connection.execute(select(hub_meta.c.key, hub_meta.c.value)).all())
            if META_SEALED_AFTER not in existing:
                _mark_seal_boundary(connection, new=META_HUB_ID not in existing or not had_seals)
            if META_HUB_ID not in existing:
                connection.execute(
                    hub_meta.insert(),
                    [
                        {"key": META_HUB_ID, "value": uuid.uuid4().hex},
                        {"key": META_PROTOCOL, "value": str(PROTOCOL_VERSION)},
                        {"key": META_SCHEMA, "value": str(HUB_SCHEMA_VERSION)},
                        {"key": META_MIN_PUSH_SCHEMA, "value": str(MIN_PUSH_SCHEMA)},
                    ],
                )
                connection.execute(hub_counter.insert(), {"id": 1, "last_seq": 0})
            elif int(existing.get(META_SCHEMA, "0")) > HUB_SCHEMA_VERSION:
                raise HubError(
                    "This hub was set up by a newer version of MDT Desk; upgrade this desk."
                )
            add_status_columns(connection)
            _keep_scopes(connection)
            if connection.dialect.name == "postgresql":
                from mdt_desk.sync.hub_roles import prepare_desk_group

                prepare_desk_group(connection)  # least privilege for desk logins
            _set_meta(connection, META_STATUS, "1")
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    return read_hub_info(engine)


def _keep_scopes(connection: Connection) -> None:
    """Give an older hub what scoped desks need: each change's anchor (filled in for the
    log it holds), the anchors' spans, and the marker that says so (``META_SCOPES``)."""
    from mdt_desk.sync.anchors import fill_anchors

    for table, column in SCOPE_COLUMNS.items():
        present = {found["name"] for found in inspect(connection).get_columns(table)}
        if column not in present:
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(80)")
    connection.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_hub_change_anchor ON hub_change (scope_anchor, server_seq)"
    )
    filled = fill_anchors(connection)
    if filled:
        log.info("gave %d changes of the hub's log their scope anchors", filled)
    if connection.dialect.name == "postgresql":
        # A hub just filled (a restore, a first push of a large store) has no planner
        # statistics yet: a scoped desk's fetch by anchor would walk the whole log.
        connection.exec_driver_sql("ANALYZE hub_change")
        connection.exec_driver_sql("ANALYZE hub_anchor_span")
    _set_meta(connection, META_SCOPES, "1")


def add_status_columns(connection: Connection) -> None:
    """Give an older hub's ``hub_replica`` the columns of :data:`STATUS_COLUMNS`.

    Additive and nullable, so desks of earlier versions go on working unchanged. Needs
    the right to alter the table: ``hub init`` (the administrator), or a desk whose
    login owns the hub (a SQLite file, a PostgreSQL hub without desk logins).
    """
    if connection.dialect.name == "postgresql":
        for name, kind in STATUS_COLUMNS.items():
            connection.exec_driver_sql(
                f"ALTER TABLE hub_replica ADD COLUMN IF NOT EXISTS {name} {kind}"
            )
        return
    present = {column["name"] for column in inspect(connection).get_columns("hub_replica")}
    for name, kind in STATUS_COLUMNS.items():
        if name not in present:
            connection.exec_driver_sql(f"ALTER TABLE hub_replica ADD COLUMN {name} {kind}")


def _set_meta(connection: Connection, key: str, value: str) -> None:
    found = connection.execute(
        select(hub_meta.c.value).where(hub_meta.c.key == key)
    ).scalar_one_or_none()
    if found is None:
        connection.execute(hub_meta.insert(), {"key": key, "value": value})
    elif found != value:
        connection.execute(hub_meta.update().where(hub_meta.c.key == key).values(value=value))


def upgrade_for_status(engine: Engine) -> bool:
    """Give an older hub the status columns if this login may alter it (a desk's sync).

    Returns whether the hub now records pulls (:data:`META_STATUS`). A hub with desk
    logins is left to ``hub init``: a desk login may not alter it, and its functions
    must come with the columns. A refusal is no error: the desk syncs as before.
    """
    try:
        with engine.begin() as connection:
            found = dict(
                connection.execute(
                    select(hub_meta.c.key, hub_meta.c.value).where(
                        hub_meta.c.key.in_([META_STATUS, "desk_group"])
                    )
                ).all()
            )
            if META_STATUS in found or "desk_group" in found:
                return META_STATUS in found
            add_status_columns(connection)
            _set_meta(connection, META_STATUS, "1")
    except DBAPIError as error:
        log.info("hub not upgraded for status (%s)", type(error).__name__)
        return False
    return True


def _mark_seal_boundary(connection: Connection, *, new: bool) -> None:
    """Record where the hub began keeping seals: nothing for a new hub, everything it
    holds for a hub set up by an earlier version (its changes predate the chain)."""
    last = 0
    if new and inspect(connection).has_table("hub_counter"):
        found = connection.execute(
            select(hub_counter.c.last_seq).where(hub_counter.c.id == 1)
        ).scalar_one_or_none()
        last = int(found or 0)
    connection.execute(hub_meta.insert(), {"key": META_SEALED_AFTER, "value": str(last)})


def sealed_after(connection: Connection) -> int:
    """The hub's seal boundary (see :data:`META_SEALED_AFTER`)."""
    value = connection.execute(
        select(hub_meta.c.value).where(hub_meta.c.key == META_SEALED_AFTER)
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def hub_keeps_seals(engine: Engine) -> bool:
    """Whether ``hub init`` of this version has run on the hub (its seal table exists)."""
    with engine.connect() as connection:
        return inspect(connection).has_table("hub_seal")


def read_hub_info(engine: Engine) -> HubInfo:
    """The hub's identity and versions; refuses a database that is not a hub."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        # Connecting would create an empty file: a mistyped path must not leave one behind.
        raise HubError(f"There is no team hub at {database}: check the address.")
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("hub_meta"):
                raise HubError(
                    f"{redacted(engine.url)} is not an MDT Desk team hub: set it up first with "
                    "`mdt-desk hub init URL`."
                )
            meta = dict(connection.execute(select(hub_meta.c.key, hub_meta.c.value)).all())
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    except SQLAlchemyError as error:  # pragma: no cover - driver-specific failures
        raise _unreachable(engine.url, error) from error
    if META_HUB_ID not in meta or META_PROTOCOL not in meta:
        raise HubError(
            f"{redacted(engine.url)} is not a complete MDT Desk team hub (its set-up record "
            "is missing): ask your administrator to run `mdt-desk hub init` on it."
        )
    return HubInfo(
        hub_id=uuid.UUID(meta[META_HUB_ID]),
        protocol_version=int(meta[META_PROTOCOL]),
        schema_version=int(meta[META_SCHEMA]),
        min_push_schema=int(meta[META_MIN_PUSH_SCHEMA]),
        dialect=engine.dialect.name,
        desk_group=meta.get("desk_group"),
        records_pulls=META_STATUS in meta,
        scopes=META_SCOPES in meta,
    )


def hub_now_ms(engine: Engine) -> int:
    """The hub's clock in milliseconds (the database server's, for PostgreSQL)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            value = connection.execute(
                text("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
            ).scalar_one()
        else:
            value = connection.execute(
                text("SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)")
            ).scalar_one()
    return int(value)


def log_end(connection: Connection) -> int:
    """The last position of the hub's log (the counter, or a row put past it by hand)."""
    counter, newest = connection.execute(
        text(
            "SELECT (SELECT last_seq FROM hub_counter WHERE id = 1),"
            " (SELECT max(server_seq) FROM hub_change)"
        )
    ).one()
    return max(int(counter), int(newest or 0))
