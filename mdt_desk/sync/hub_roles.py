"""Least privilege on a PostgreSQL hub: desks may append to the log and read it, no more.

``mdt-desk hub init`` makes a group role for the hub's desks (``mdt_desks_<database>``,
NOLOGIN, so two hubs on one server have two groups). It holds SELECT on every hub
table and INSERT on the log (``hub_change`` and every other append-only table of the
hub) and on ``hub_conflict``; never UPDATE, DELETE, TRUNCATE or any DDL. The
bookkeeping a push does by UPDATE (the counter, the merged state, each desk's
positions, a conflict marked resolved) goes through a few SECURITY DEFINER functions
owned by the hub's administrator, each doing one narrow thing with its search path
pinned, so a desk login that is stolen cannot rewrite or delete anything in the log.

``mdt-desk hub add-desk`` makes a login in that group with a strong random password;
the server only ever receives its SCRAM verifier, so the password is in no server log.

A SQLite hub is one file on one machine: whoever can write the file can change it, and
it has no logins. Its code path is untouched by this module.
"""

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from mdt_desk.sync.hub import (
    HubError,
    _unreachable,
    hub_anchor_span,
    hub_counter,
    hub_meta,
    hub_metadata,
    hub_replica,
    hub_state,
)

#: hub_meta key naming the desk group; present once ``hub init`` made the functions.
META_DESK_GROUP = "desk_group"
DESK_GROUP_PREFIX = "mdt_desks_"

#: Tables a desk reads but never writes itself (the functions below write them).
_READ_ONLY: tuple[Table, ...] = (hub_meta, hub_counter, hub_state, hub_replica, hub_anchor_span)

_NAME = re.compile(r"[a-z][a-z0-9_]{1,62}")

# One narrow job each. {schema} is the hub's schema, pinned in each function's search
# path (pg_temp last) so a desk cannot slip its own table or function under a name.
_FUNCTIONS = (
    (
        "hub_lock_counter()",
        "RETURNS bigint LANGUAGE sql",
        "SELECT last_seq FROM {schema}.hub_counter WHERE id = 1 FOR UPDATE",
    ),
    (
        "hub_advance_counter(new_last bigint)",
        "RETURNS void LANGUAGE plpgsql",
        """
        BEGIN
            -- Only ever forward, and only to the end of the log this transaction wrote.
            UPDATE {schema}.hub_counter SET last_seq = new_last
             WHERE id = 1 AND new_last > last_seq
               AND new_last = (SELECT max(server_seq) FROM {schema}.hub_change);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the hub counter only moves forward to the end of the log';
            END IF;
        END
        """,
    ),
    (
        "hub_put_state(entities text[], row_ids text[], fields text[], field_values text[],"
        " hlcs bigint[], sites text[], server_seqs bigint[])",
        "RETURNS void LANGUAGE plpgsql",
        """
        DECLARE
            written bigint;
        BEGIN
            -- The merged state is derived from the log: each value must be the very
            -- change it names (same field, value, clock and desk), so a desk login
            -- cannot make the hub's state say what its log does not.
            INSERT INTO {schema}.hub_state
                (entity, row_id, field, value, hlc, site, server_seq, scope_anchor)
            SELECT s.entity, s.row_id, s.field, s.value, s.hlc, s.site, s.server_seq,
                   c.scope_anchor
              FROM unnest(entities, row_ids, fields, field_values, hlcs, sites, server_seqs)
                   AS s(entity, row_id, field, value, hlc, site, server_seq)
              JOIN {schema}.hub_change AS c ON c.server_seq = s.server_seq
                   AND c.entity = s.entity AND c.row_id = s.row_id AND c.field = s.field
                   AND c.value IS NOT DISTINCT FROM s.value AND c.hlc = s.hlc
                   AND c.origin_site = s.site
            ON CONFLICT (entity, row_id, field) DO UPDATE SET value = excluded.value,
                hlc = excluded.hlc, site = excluded.site, server_seq = excluded.server_seq,
                scope_anchor = excluded.scope_anchor;
            GET DIAGNOSTICS written = ROW_COUNT;
            IF written <> coalesce(cardinality(entities), 0) THEN
                RAISE EXCEPTION 'the hub state only takes values of changes in its log';
            END IF;
        END
        """,
    ),
    (
        "hub_record_push(desk text, desk_label text, desk_schema integer,"
        " last_origin bigint, seen text)",
        "RETURNS void LANGUAGE sql",
        """
        INSERT INTO {schema}.hub_replica
            (site_id, label, schema_version, last_origin_seq, last_pull_seq, last_seen)
        VALUES (desk, desk_label, desk_schema, last_origin, 0, seen)
        ON CONFLICT (site_id) DO UPDATE SET label = excluded.label,
            schema_version = excluded.schema_version,
            last_origin_seq = excluded.last_origin_seq, last_seen = excluded.last_seen;
        -- session_user: the desk's own login (current_user is this function's owner).
        UPDATE {schema}.hub_replica SET login = session_user WHERE site_id = desk
        """,
    ),
    (
        # Desks of earlier versions: the position only, of a desk that has pushed.
        "hub_record_pull(desk text, pulled bigint)",
        "RETURNS void LANGUAGE sql",
        "UPDATE {schema}.hub_replica SET last_pull_seq = pulled WHERE site_id = desk",
    ),
    (
        # The position and time of a pull, of any desk: one that has only ever pulled
        # is known to the hub too ("" for its last push).
        "hub_note_pull(desk text, desk_label text, desk_schema integer, pulled bigint, seen text)",
        "RETURNS void LANGUAGE sql",
        """
        INSERT INTO {schema}.hub_replica (site_id, label, schema_version, last_origin_seq,
            last_pull_seq, last_seen, last_pull_at, login)
        VALUES (desk, desk_label, desk_schema, 0, pulled, '', seen, session_user)
        ON CONFLICT (site_id) DO UPDATE SET last_pull_seq = excluded.last_pull_seq,
            last_pull_at = excluded.last_pull_at, login = excluded.login
        """,
    ),
    (
        # The practices a person's or a meeting's records belong to, derived from the
        # merged state (never from the desk), and their spans brought up to it: a desk
        # cannot widen what it may read by what it asks for. As anchors.practices_now.
        "hub_refresh_anchor(anchor_name text)",
        "RETURNS void LANGUAGE plpgsql",
        """
        DECLARE
            kind text := split_part(anchor_name, ':', 1);
            rid text := substr(anchor_name, length(split_part(anchor_name, ':', 1)) + 2);
            wanted text[];
            at_seq bigint;
        BEGIN
            IF kind = 'patient' THEN
                SELECT array_agg(value::jsonb #>> '{{}}'), max(server_seq) INTO wanted, at_seq
                  FROM {schema}.hub_state WHERE entity = 'patient' AND row_id = rid
                   AND field = 'practice_id' AND value IS NOT NULL AND value <> 'null';
            ELSIF kind = 'meeting' THEN
                SELECT array_agg(DISTINCT p) INTO wanted FROM (
                    SELECT value::jsonb #>> '{{}}' AS p FROM {schema}.hub_state
                     WHERE entity = 'meeting' AND row_id = rid AND field = 'practice_id'
                       AND value <> 'null'
                    UNION
                    SELECT pr.value::jsonb #>> '{{}}' FROM {schema}.hub_state m
                      JOIN {schema}.hub_state pr ON pr.entity = 'meeting_practice'
                       AND pr.row_id = m.row_id AND pr.field = 'practice_id'
                     WHERE m.entity = 'meeting_practice' AND m.field = 'meeting_id'
                       AND m.value = to_jsonb(rid)::text
                       AND NOT EXISTS (SELECT 1 FROM {schema}.hub_state r
                            WHERE r.entity = 'meeting_practice' AND r.row_id = m.row_id
                              AND r.field = 'retired_at' AND r.value IS NOT NULL
                              AND r.value <> 'null')
                    UNION
                    SELECT pp.value::jsonb #>> '{{}}' FROM {schema}.hub_state ai
                      JOIN {schema}.hub_state ac ON ac.entity = 'agenda_item'
                       AND ac.row_id = ai.row_id AND ac.field = 'case_id'
                      JOIN {schema}.hub_state cp ON cp.entity = 'care_case'
                       AND cp.row_id = ac.value::jsonb #>> '{{}}' AND cp.field = 'patient_id'
                      JOIN {schema}.hub_state pp ON pp.entity = 'patient'
                       AND pp.row_id = cp.value::jsonb #>> '{{}}' AND pp.field = 'practice_id'
                     WHERE ai.entity = 'agenda_item' AND ai.field = 'meeting_id'
                       AND ai.value = to_jsonb(rid)::text
                       AND NOT EXISTS (SELECT 1 FROM {schema}.hub_state r
                            WHERE r.entity = 'agenda_item' AND r.row_id = ai.row_id
                              AND r.field = 'retired_at' AND r.value IS NOT NULL
                              AND r.value <> 'null')
                ) found WHERE p IS NOT NULL;
            ELSE
                RETURN;
            END IF;
            IF at_seq IS NULL THEN
                SELECT coalesce(max(server_seq), 0) INTO at_seq FROM {schema}.hub_change;
            END IF;
            wanted := coalesce(wanted, '{{}}');
            UPDATE {schema}.hub_anchor_span SET to_seq = at_seq
             WHERE anchor = anchor_name AND to_seq IS NULL AND NOT (practice_id = ANY (wanted));
            INSERT INTO {schema}.hub_anchor_span (anchor, practice_id, from_seq, to_seq)
            SELECT anchor_name, p, at_seq, NULL FROM unnest(wanted) AS p
             WHERE NOT EXISTS (SELECT 1 FROM {schema}.hub_anchor_span s
                    WHERE s.anchor = anchor_name AND s.practice_id = p AND s.to_seq IS NULL)
            ON CONFLICT (anchor, practice_id, from_seq) DO UPDATE SET to_seq = NULL;
        END
        """,
    ),
    (
        "hub_resolve_conflict(conflict text)",
        "RETURNS void LANGUAGE sql",
        "UPDATE {schema}.hub_conflict SET resolved = 1 WHERE conflict_id = conflict",
    ),
)


@dataclass(frozen=True, slots=True)
class DeskLogin:
    name: str
    group: str
    password: str


def desk_group_name(database: str) -> str:
    """The desk group of the hub in ``database``: one per database, a plain identifier."""
    safe = re.sub(r"[^a-z0-9_]", "_", database.lower())
    return (DESK_GROUP_PREFIX + safe)[:63]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def prepare_desk_group(connection: Connection) -> str:
    """Create (or bring up to date) the desk group, its grants and functions; idempotent.

    Runs inside ``hub init``'s transaction, so a refusal leaves nothing half-made.
    """
    database, schema = connection.execute(text("SELECT current_database(), current_schema()")).one()
    group = desk_group_name(database)
    role = connection.execute(
        text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :name"), {"name": group}
    ).first()
    try:
        if role is None:
            connection.exec_driver_sql(f"CREATE ROLE {_quoted(group)} NOLOGIN")
        elif role[0]:
            raise HubError(
                f"The server already has a login named {group}; the hub needs that name for "
                "its desk group (a role that cannot log in). Rename that login, then run "
                "`mdt-desk hub init` again."
            )
        _grant(connection, database, schema, group)
    except ProgrammingError as error:  # insufficient privilege, for the most part
        detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise HubError(
            f"The hub was not set up: its desk group {group} could not be made ({detail}); "
            "nothing was changed. Run `mdt-desk hub init` as the login that owns the hub's "
            "database, with the right to create roles (CREATEROLE)."
        ) from error
    connection.execute(
        text(
            "INSERT INTO hub_meta (key, value) VALUES (:key, :value)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"key": META_DESK_GROUP, "value": group},
    )
    return group


def _grant(connection: Connection, database: str, schema: str, group: str) -> None:
    run = connection.exec_driver_sql
    who = _quoted(group)
    run(f"GRANT CONNECT ON DATABASE {_quoted(database)} TO {who}")
    run(f"GRANT USAGE ON SCHEMA {_quoted(schema)} TO {who}")
    run(f"REVOKE CREATE ON SCHEMA {_quoted(schema)} FROM {who}")
    if connection.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl,"
            " acldefault('n', n.nspowner))) a WHERE n.nspname = :schema AND a.grantee = 0"
            " AND a.privilege_type = 'CREATE')"
        ),
        {"schema": schema},
    ).scalar_one():
        # Anyone may create tables here (PostgreSQL before 15): a desk must not.
        run(f"REVOKE CREATE ON SCHEMA {_quoted(schema)} FROM PUBLIC")
    # Every table of the hub not named as read-only or hub_conflict is append-only log
    # (hub_change, and the seals of its hash chains): INSERT and SELECT.
    for table in hub_metadata.sorted_tables:
        name = f"{_quoted(schema)}.{_quoted(table.name)}"
        run(f"REVOKE ALL ON {name} FROM PUBLIC, {who}")
        if table in _READ_ONLY:
            run(f"GRANT SELECT ON {name} TO {who}")
        else:
            run(f"GRANT SELECT, INSERT ON {name} TO {who}")
    for signature, returns, body in _FUNCTIONS:
        qualified = f"{_quoted(schema)}.{signature}"
        run(
            f"CREATE OR REPLACE FUNCTION {qualified} {returns} SECURITY DEFINER"
            f" SET search_path = {_quoted(schema)}, pg_temp"
            f" AS $hub${body.format(schema=_quoted(schema))}$hub$"
        )
        name = qualified.split("(", maxsplit=1)[0]
        arguments = signature[signature.index("(") :]
        types = ", ".join(
            part.strip().split(" ", 1)[1] for part in arguments[1:-1].split(",") if part.strip()
        )
        run(f"REVOKE ALL ON FUNCTION {name}({types}) FROM PUBLIC")
        run(f"GRANT EXECUTE ON FUNCTION {name}({types}) TO {who}")


# -- Used by push and pull on a PostgreSQL hub with a desk group -------------------------


def lock_counter(connection: Connection) -> int:
    return int(connection.execute(text("SELECT hub_lock_counter()")).scalar_one())


def advance_counter(connection: Connection, last_seq: int) -> None:
    connection.execute(text("SELECT hub_advance_counter(:last)"), {"last": last_seq})


def put_state(connection: Connection, states: Sequence[Mapping[str, object]]) -> None:
    """The merged state of a push, in one statement (arrays, set-based)."""
    connection.execute(
        text(
            "SELECT hub_put_state(CAST(:entity AS text[]), CAST(:row_id AS text[]),"
            " CAST(:field AS text[]), CAST(:value AS text[]), CAST(:hlc AS bigint[]),"
            " CAST(:site AS text[]), CAST(:server_seq AS bigint[]))"
        ),
        {name: [state[name] for state in states] for name in _STATE_NAMES},
    )


_STATE_NAMES = ("entity", "row_id", "field", "value", "hlc", "site", "server_seq")


def refresh_anchor(connection: Connection, anchor: str) -> None:
    """Bring one anchor's spans up to the merged state (the hub's own function)."""
    connection.execute(text("SELECT hub_refresh_anchor(:a)"), {"a": anchor})


def record_push(connection: Connection, site: str, values: dict[str, object]) -> None:
    connection.execute(
        text("SELECT hub_record_push(:site, :label, :schema_version, :last_origin_seq, :seen)"),
        {
            "site": site,
            "label": values["label"],
            "schema_version": values["schema_version"],
            "last_origin_seq": values["last_origin_seq"],
            "seen": values["last_seen"],
        },
    )


def record_pull(connection: Connection, site: str, pulled: int) -> None:
    connection.execute(
        text("SELECT hub_record_pull(:site, :pulled)"), {"site": site, "pulled": pulled}
    )


def note_pull(connection: Connection, site: str, values: Mapping[str, object]) -> None:
    """Record a pull's position and time through ``hub_note_pull`` (a hub whose
    ``hub init`` made it: ``HubInfo.records_pulls``)."""
    connection.execute(
        text("SELECT hub_note_pull(:site, :label, :schema_version, :pulled, :seen)"),
        {
            "site": site,
            "label": values["label"],
            "schema_version": values["schema_version"],
            "pulled": values["last_pull_seq"],
            "seen": values["last_pull_at"],
        },
    )


def resolve_conflict(connection: Connection, conflict_id: str) -> None:
    connection.execute(text("SELECT hub_resolve_conflict(:id)"), {"id": conflict_id})


# -- Desk logins -------------------------------------------------------------------------


def check_desk_name(name: str) -> None:
    """A desk login's name: a plain lower-case identifier, not a system or group name."""
    if not _NAME.fullmatch(name) or name.startswith(("pg_", DESK_GROUP_PREFIX)):
        raise HubError(
            f"{name!r} cannot be a desk login's name: use 2 to 63 lower-case letters, digits "
            "and underscores, starting with a letter (not pg_… or mdt_desks_…), "
            "e.g. ward3_desk."
        )


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677).

    Sent instead of the password, so the password never reaches the server's logs.
    The passwords made here are ASCII, which SASLprep leaves as they are.
    """
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def add_desk_login(engine: Engine, name: str) -> DeskLogin:
    """Create the login ``name`` in the hub's desk group, with a new random password."""
    check_desk_name(name)
    if engine.dialect.name != "postgresql":
        raise HubError(
            "Desk logins are a PostgreSQL hub feature: a SQLite hub is one file on one "
            "computer, with no logins; protect the file itself."
        )
    password = secrets.token_urlsafe(32)
    try:
        with engine.begin() as connection:
            group = connection.execute(
                text("SELECT value FROM hub_meta WHERE key = :key"), {"key": META_DESK_GROUP}
            ).scalar_one_or_none()
            if group is None:
                raise HubError(
                    "This hub has no desk group yet: run `mdt-desk hub init` on it with this "
                    "version of MDT Desk first."
                )
            if connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
            ).first():
                raise HubError(
                    f"The server already has a role named {name}: choose another name for "
                    "this desk's login."
                )
            verifier = scram_verifier(password)
            connection.exec_driver_sql(
                f"CREATE ROLE {_quoted(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                f" INHERIT NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'"
                f" IN ROLE {_quoted(group)}"
            )
    except ProgrammingError as error:
        detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise HubError(
            f"The desk login {name} could not be created ({detail}): use an administrator "
            "login with the right to create roles (CREATEROLE)."
        ) from error
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    return DeskLogin(name=name, group=str(group), password=password)


__all__ = [
    "META_DESK_GROUP",
    "DeskLogin",
    "add_desk_login",
    "check_desk_name",
    "desk_group_name",
    "prepare_desk_group",
]
