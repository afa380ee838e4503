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

Scoped desks (``sync/scope.py``): an administrator may give a desk login a *ceiling*,
the practices whose records it may read (``hub add-desk --practices``, changed with
``hub desk-practices``; kept in ``hub_desk_practice``, which desks cannot read or write).
Row-level security on ``hub_change`` and ``hub_state`` then shows that login only the
rows of its practices' people and meetings, everyone's rows (staff, practices), and its
desks' own changes, whatever the desk asks for. A login without a ceiling reads
everything (a full desk, and logins made before scopes). The hub's owner is never
subject to the policies, nor are the functions below, which run as the owner: a
scoped desk's push still merges against the whole hub, through functions that return
only the rows it names (and only of people who are or were at its practices).

A SQLite hub is one file on one machine: whoever can write the file can change it, and
it has no logins. Its code path is untouched by this module.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    CursorResult,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.exc import DBAPIError, ProgrammingError

from mdt_desk.sync.hub import (
    HubError,
    _unreachable,
    hub_anchor_span,
    hub_change,
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

#: Each scoped desk login's ceiling: the practices whose records it may read. No rows:
#: it reads everything. Only on a PostgreSQL hub with a desk group (its own metadata, so
#: a SQLite hub never has it); the administrator writes it, desks can neither read nor
#: write it (the policies read it through ``hub_desk_practices()``).
desk_metadata = MetaData()
hub_desk_practice = Table(
    "hub_desk_practice",
    desk_metadata,
    Column("login", String(63), primary_key=True),
    Column("practice_id", String(32), primary_key=True),
)

#: The tables holding records' content, each with the column naming the desk that
#: wrote a row (a desk reads its own changes back: a push's dedupe, its seals).
_SCOPED: dict[str, str] = {"hub_change": "origin_site", "hub_state": "site"}

_NAME = re.compile(r"[a-z][a-z0-9_]{1,62}")

# What the scopes' policies and a scoped desk's push use; made before the functions
# below, which use some of them. Each reads as the owner, so a policy can read the
# ceilings a desk may not, and a push merges against rows its login cannot list.
_SCOPE_FUNCTIONS = (
    (
        # The login's ceiling (practice ids), or NULL: it reads everything. session_user,
        # not current_user: a desk that SETs ROLE to its group is still itself.
        "hub_desk_practices()",
        "RETURNS text[] LANGUAGE sql STABLE",
        """
        SELECT CASE WHEN count(*) = 0 THEN NULL
                    ELSE array_agg(practice_id::text ORDER BY practice_id) END
          FROM {schema}.hub_desk_practice WHERE login = session_user
        """,
    ),
    (
        # The anchors of the ceiling's practices' own records (a printed practice list).
        "hub_desk_anchors()",
        "RETURNS text[] LANGUAGE sql STABLE",
        """
        SELECT array_agg('practice:' || practice_id)
          FROM {schema}.hub_desk_practice WHERE login = session_user
        """,
    ),
    (
        # The desks (site ids) whose bookkeeping came through this login: their own
        # changes it reads back. Never the hub's own id (its review items are everyone's
        # by their anchors, not by who made them).
        "hub_own_sites()",
        "RETURNS text[] LANGUAGE sql STABLE",
        """
        SELECT coalesce(array_agg(site_id::text), '{{}}') FROM {schema}.hub_replica
         WHERE login = session_user
           AND site_id <> coalesce(
               (SELECT value FROM {schema}.hub_meta WHERE key = 'hub_id'), '')
        """,
    ),
    (
        # Whether this login may take a desk over from the login ``held`` its bookkeeping
        # came through: from none, itself, or a login that no longer exists (a desk
        # given a new login once the old one is dropped); never from a live login.
        "hub_may_take_over(held text)",
        "RETURNS boolean LANGUAGE sql STABLE",
        """
        SELECT held IS NULL OR held = session_user
            OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = held)
        """,
    ),
    (
        # Whether this login's push may merge into a record: one it reads, or one of a
        # person or meeting that belonged to its practices at any time (an edit made
        # offline before a move away must still merge by the hub's real state), or one
        # its desks changed before.
        "hub_may_merge(entity_name text, rid text, anchor_name text)",
        "RETURNS boolean LANGUAGE sql STABLE",
        """
        SELECT m.ps IS NULL OR anchor_name = '*' OR anchor_name = ANY (m.pa)
            OR EXISTS (SELECT 1 FROM {schema}.hub_anchor_span s
                        WHERE s.anchor = anchor_name AND s.practice_id = ANY (m.ps))
            OR EXISTS (SELECT 1 FROM {schema}.hub_change c
                        WHERE c.entity = entity_name AND c.row_id = rid
                          AND c.origin_site = ANY (m.own))
          FROM (SELECT {schema}.hub_desk_practices() AS ps,
                       {schema}.hub_desk_anchors() AS pa,
                       {schema}.hub_own_sites() AS own) AS m
        """,
    ),
    (
        # The merged state of the records a push names (push.py), where it may merge.
        "hub_merge_state(entities text[], row_ids text[])",
        "RETURNS TABLE (entity text, row_id text, field text, value text, hlc bigint,"
        " site text, server_seq bigint) LANGUAGE sql STABLE",
        """
        WITH wanted AS (SELECT DISTINCT u.e, u.r FROM unnest(entities, row_ids) AS u(e, r)),
        allowed AS (
            SELECT w.e, w.r FROM wanted AS w
             WHERE coalesce({schema}.hub_may_merge(w.e, w.r, (
                   SELECT a.scope_anchor FROM {schema}.hub_state AS a
                    WHERE a.entity = w.e AND a.row_id = w.r LIMIT 1)), false))
        SELECT s.entity::text, s.row_id::text, s.field::text, s.value, s.hlc,
               s.site::text, s.server_seq
          FROM allowed AS w
          JOIN {schema}.hub_state AS s ON s.entity = w.e AND s.row_id = w.r
        """,
    ),
    (
        # How many of the records a push names exist but are not for this login to
        # merge into (its ceiling was narrowed under a desk that holds them): the push
        # is then refused, never merged as if they were new.
        "hub_merge_hidden(entities text[], row_ids text[])",
        "RETURNS bigint LANGUAGE sql STABLE",
        """
        SELECT count(*)
          FROM (SELECT DISTINCT u.e, u.r FROM unnest(entities, row_ids) AS u(e, r)) AS w
          CROSS JOIN LATERAL (
              SELECT a.scope_anchor FROM {schema}.hub_state AS a
               WHERE a.entity = w.e AND a.row_id = w.r LIMIT 1) AS found
         WHERE NOT coalesce({schema}.hub_may_merge(w.e, w.r, found.scope_anchor), false)
        """,
    ),
    (
        # The changes a push's review items describe (who, when, what), where it may merge.
        "hub_merge_changes(seqs bigint[])",
        "RETURNS TABLE (server_seq bigint, value text, actor_id text, actor_label text,"
        " recorded_at text, origin_site text, origin_seq bigint, hlc bigint)"
        " LANGUAGE sql STABLE",
        """
        SELECT c.server_seq, c.value, c.actor_id::text, c.actor_label::text,
               c.recorded_at::text, c.origin_site::text, c.origin_seq, c.hlc
          FROM {schema}.hub_change AS c
         WHERE c.server_seq = ANY (seqs)
           AND {schema}.hub_may_merge(c.entity, c.row_id, c.scope_anchor)
        """,
    ),
    (
        # The anchor of each record a push names (an id, never content), whoever's it
        # is: a change is always anchored by its record, never everyone's by mistake.
        "hub_merge_anchors(entities text[], row_ids text[])",
        "RETURNS TABLE (entity text, row_id text, scope_anchor text) LANGUAGE sql STABLE",
        """
        SELECT w.e, w.r, a.scope_anchor::text
          FROM (SELECT DISTINCT u.e, u.r FROM unnest(entities, row_ids) AS u(e, r)) AS w
          CROSS JOIN LATERAL (
              SELECT c.scope_anchor FROM {schema}.hub_change AS c
               WHERE c.entity = w.e AND c.row_id = w.r AND c.scope_anchor IS NOT NULL
               LIMIT 1) AS a
        """,
    ),
    (
        # Which people (ids only) hold these NHS numbers, at any practice: a second
        # person with a number already in use is a duplicate wherever the first is.
        "hub_nhs_holders(numbers text[])",
        "RETURNS TABLE (row_id text, value text) LANGUAGE sql STABLE",
        """
        SELECT s.row_id::text, s.value FROM {schema}.hub_state AS s
         WHERE s.entity = 'patient' AND s.field = 'nhs_number' AND s.value = ANY (numbers)
        """,
    ),
)

#: Which rows of a record table (``_SCOPED``) a desk login reads: all, for a login
#: without a ceiling; else everyone's, its practices' own, those of people and meetings
#: that belong to its practices now (their whole history) or did when the change was
#: made (a move away, seen), and its own desks'. The ceiling's functions are read once
#: a statement (scalar subqueries); open spans are one hashed list, closed ones a probe
#: of the span's key per row.
_READ_RULE = """
    (SELECT {schema}.hub_desk_practices()) IS NULL
    OR {table}.scope_anchor = '*'
    OR {table}.scope_anchor = ANY ((SELECT {schema}.hub_desk_anchors())::text[])
    OR {table}.scope_anchor IN (
        SELECT s.anchor FROM {schema}.hub_anchor_span AS s
         WHERE s.to_seq IS NULL
           AND s.practice_id = ANY ((SELECT {schema}.hub_desk_practices())::text[]))
    OR EXISTS (
        SELECT 1 FROM {schema}.hub_anchor_span AS s
         WHERE s.anchor = {table}.scope_anchor AND s.to_seq IS NOT NULL
           AND s.practice_id = ANY ((SELECT {schema}.hub_desk_practices())::text[])
           AND {table}.server_seq BETWEEN s.from_seq AND s.to_seq)
    OR {table}.{origin} = ANY ((SELECT {schema}.hub_own_sites())::text[])
"""

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
        -- A desk's own changes are readable through its login (row-level security), so
        -- a login takes over a desk only from none, or from a login that was dropped.
        UPDATE {schema}.hub_replica SET login = session_user WHERE site_id = desk
           AND {schema}.hub_may_take_over(login)
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
            last_pull_at = excluded.last_pull_at,
            login = CASE WHEN {schema}.hub_may_take_over(hub_replica.login)
                THEN excluded.login ELSE hub_replica.login END
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
            log_end bigint;
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
            -- A span closes at the end of the push that moved it (the old practice sees
            -- the whole moving transaction) and opens at 0 for a record new to the hub
            -- (all of it stays readable to its first practice), else at the move.
            SELECT coalesce(max(server_seq), 0) INTO log_end FROM {schema}.hub_change;
            IF NOT EXISTS (SELECT 1 FROM {schema}.hub_anchor_span WHERE anchor = anchor_name)
            THEN
                at_seq := 0;
            ELSIF at_seq IS NULL THEN
                at_seq := log_end;
            END IF;
            wanted := coalesce(wanted, '{{}}');
            UPDATE {schema}.hub_anchor_span SET to_seq = log_end
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
        # Which transaction stands at given places of the log (a desk's marks: did the
        # hub go back in time?), whatever the login may read: ids only, no content.
        "hub_tx_at(places bigint[])",
        "RETURNS TABLE (server_seq bigint, tx_id text) LANGUAGE sql STABLE",
        "SELECT c.server_seq, c.tx_id::text FROM {schema}.hub_change c"
        " WHERE c.server_seq = ANY (places)",
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
    #: the ODS codes of the practices it may read; () for every practice
    practices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeskCeiling:
    """The practices a desk login may read, by ODS code (none: every practice)."""

    name: str
    codes: tuple[str, ...]

    def describe(self) -> str:
        if not self.codes:
            return "every practice's records"
        return (
            f"only the records of {', '.join(self.codes)}'s people and meetings, and "
            "everyone's (staff, practices)"
        )


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
    # The ceilings: the administrator's alone (the policies read them as the owner).
    hub_desk_practice.create(connection, checkfirst=True)
    run(f"REVOKE ALL ON {_quoted(schema)}.hub_desk_practice FROM PUBLIC, {who}")
    for signature, returns, body in (*_SCOPE_FUNCTIONS, *_FUNCTIONS):
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
    _protect_rows(connection, schema, who)


def _protect_rows(connection: Connection, schema: str, who: str) -> None:
    """Row-level security on the tables holding records' content (idempotent).

    The policies name the desk group only: the hub's owner (its administrator, and the
    SECURITY DEFINER functions above) is not subject to them (no FORCE).
    """
    run = connection.exec_driver_sql
    for table, origin in _SCOPED.items():
        name = f"{_quoted(schema)}.{_quoted(table)}"
        run(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        run(f"DROP POLICY IF EXISTS hub_desk_reads ON {name}")
        rule = _READ_RULE.format(schema=_quoted(schema), table=_quoted(table), origin=origin)
        run(f"CREATE POLICY hub_desk_reads ON {name} FOR SELECT TO {who} USING ({rule})")
    # Desks append to the log (never by COPY, which row-level security refuses); what
    # a desk may write is the log's own business (seals, gaps), not its scope's.
    log_table = f"{_quoted(schema)}.hub_change"
    run(f"DROP POLICY IF EXISTS hub_desk_appends ON {log_table}")
    run(f"CREATE POLICY hub_desk_appends ON {log_table} FOR INSERT TO {who} WITH CHECK (true)")


# -- Used by push and pull on a PostgreSQL hub with a desk group -------------------------


def lock_counter(connection: Connection) -> int:
    return int(connection.execute(text("SELECT hub_lock_counter()")).scalar_one())


def advance_counter(connection: Connection, last_seq: int) -> None:
    connection.execute(text("SELECT hub_advance_counter(:last)"), {"last": last_seq})


def put_state(connection: Connection, states: Sequence[Mapping[str, object]]) -> None:
    """The merged state of a push, in one statement (arrays, set-based)."""
    _with_arrays(
        connection,
        "SELECT hub_put_state(CAST(:entity AS text[]), CAST(:row_id AS text[]),"
        " CAST(:field AS text[]), CAST(:value AS text[]), CAST(:hlc AS bigint[]),"
        " CAST(:site AS text[]), CAST(:server_seq AS bigint[]))",
        {name: [state[name] for state in states] for name in _STATE_NAMES},
    )


_STATE_NAMES = ("entity", "row_id", "field", "value", "hlc", "site", "server_seq")


def refresh_anchors(connection: Connection, anchors: Sequence[str]) -> None:
    """Bring these anchors' spans up to the merged state (the hub's own function, once
    per anchor, in the order given), in one round trip: a desk's first push of a large
    caseload moves thousands of anchors."""
    if anchors:
        _with_arrays(
            connection,
            "SELECT hub_refresh_anchor(a) FROM unnest(CAST(:anchors AS text[])) AS a",
            {"anchors": list(anchors)},
        )


def _with_arrays(
    connection: Connection, statement: str, parameters: Mapping[str, Sequence[object]]
) -> CursorResult[*tuple[Any, ...]]:
    """Run ``statement``, its ``:name`` parameters all arrays, sent in PostgreSQL's binary
    form. psycopg writes an array in text form by quoting each element in Python (a
    regular expression search each); the binary form copies each as it is, about ten
    times faster: a first push of 150,000 changes spent 7 of its 34 s quoting arrays.
    The statement goes to psycopg as written, so it must hold no literal ``%``."""
    driver_sql = _NAMED_PARAMETER.sub(r"%(\1)b", statement)
    return connection.exec_driver_sql(driver_sql, dict(parameters))


#: ``:name`` in a statement (not ``::``, a cast): psycopg's ``%(name)b`` is its binary form.
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


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


# -- A scoped desk's push: the hub's view of the records it names --------------------------
#
# Row-level security shows a scoped login its practices' rows; the merge of a push needs
# the hub's real state of every record the push touches (an edit made offline to a
# person who has since moved away, a duplicate NHS number at another practice), so it
# reads them through these functions, which return only the records named.


def merge_state(
    connection: Connection, rows: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str, str | None, int, str, int]]:
    """Every field of ``rows`` (entity, row id) in the merged state, as hub_state's
    (entity, row_id, field, value, hlc, site, server_seq)."""
    if not rows:
        return []
    return [
        (str(e), str(r), str(f), v, int(h), str(site), int(seq))
        for e, r, f, v, h, site, seq in _with_arrays(
            connection,
            "SELECT * FROM hub_merge_state(CAST(:e AS text[]), CAST(:r AS text[]))",
            {"e": [row[0] for row in rows], "r": [row[1] for row in rows]},
        )
    ]


def merge_hidden(connection: Connection, rows: Sequence[tuple[str, str]]) -> int:
    """How many of ``rows`` the hub holds but this login may not merge into."""
    if not rows:
        return 0
    return int(
        _with_arrays(
            connection,
            "SELECT hub_merge_hidden(CAST(:e AS text[]), CAST(:r AS text[]))",
            {"e": [row[0] for row in rows], "r": [row[1] for row in rows]},
        ).scalar_one()
    )


def merge_value(connection: Connection, entity: str, row_id: str, name: str) -> str | None:
    """One field's merged value (as ``anchors.state_value``)."""
    for _e, _r, field, value, *_rest in merge_state(connection, [(entity, row_id)]):
        if field == name:
            return None if value is None else str(value)
    return None


def merge_anchors(
    connection: Connection, rows: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The anchor the log holds for each of ``rows`` (as ``anchors.known_anchors``)."""
    ordered = sorted(set(rows))
    if not ordered:
        return {}
    return {
        (str(entity), str(row_id)): str(anchor)
        for entity, row_id, anchor in _with_arrays(
            connection,
            "SELECT * FROM hub_merge_anchors(CAST(:e AS text[]), CAST(:r AS text[]))",
            {"e": [row[0] for row in ordered], "r": [row[1] for row in ordered]},
        )
    }


def merge_change(connection: Connection, seq: int) -> dict[str, object]:
    """Who made the change at ``seq``, when, from which desk, and its value ({} if none)."""
    row = connection.execute(
        text("SELECT * FROM hub_merge_changes(CAST(:s AS bigint[]))"), {"s": [seq]}
    ).first()
    return {} if row is None else dict(row._mapping)


def nhs_holders(connection: Connection, numbers: Sequence[str]) -> list[tuple[str, str]]:
    """(patient row id, NHS number as JSON) of every person holding one of ``numbers``."""
    return [
        (str(row_id), str(value))
        for row_id, value in connection.execute(
            text("SELECT * FROM hub_nhs_holders(CAST(:n AS text[]))"), {"n": list(numbers)}
        )
    ]


def append_changes(
    connection: Connection, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Append a push's changes to ``hub_change`` in one INSERT of arrays.

    Not COPY: PostgreSQL refuses COPY FROM into a table with row-level security.
    """
    if not rows:
        return
    kinds = {
        column.name: "bigint"
        if isinstance(column.type, BigInteger)
        else "integer"
        if isinstance(column.type, Integer)
        else "text"
        for column in hub_change.columns
    }
    arrays = ", ".join(f"CAST(:c{n} AS {kinds[name]}[])" for n, name in enumerate(columns))
    _with_arrays(
        connection,
        f"INSERT INTO hub_change ({', '.join(columns)}) SELECT * FROM unnest({arrays})",
        {f"c{n}": [row[n] for row in rows] for n in range(len(columns))},
    )


# -- Scoped desk logins: their ceilings ----------------------------------------------------


def _desk_group(connection: Connection) -> str:
    group = connection.execute(
        text("SELECT value FROM hub_meta WHERE key = :key"), {"key": META_DESK_GROUP}
    ).scalar_one_or_none()
    if group is None:
        raise HubError(
            "This hub has no desk group yet: run `mdt-desk hub init` on it with this "
            "version of MDT Desk first."
        )
    return str(group)


def _practice_ids(connection: Connection, codes: Sequence[str]) -> dict[str, str]:
    """ODS code -> practice id from the hub's merged state; an unknown code is refused."""
    found = {
        json.loads(value): str(row_id)
        for value, row_id in connection.execute(
            text(
                "SELECT value, row_id FROM hub_state WHERE entity = 'practice'"
                " AND field = 'ods_code' AND value = ANY (CAST(:codes AS text[]))"
            ),
            {"codes": [json.dumps(code) for code in codes]},
        )
    }
    missing = [code for code in codes if code not in found]
    if missing:
        raise HubError(
            f"The team hub has no practice {missing[0]}: check the ODS code (a practice "
            "reaches the hub when a desk that holds it syncs). Nothing was changed."
        )
    return {code: found[code] for code in codes}


def _write_ceiling(connection: Connection, name: str, codes: Sequence[str] | None) -> list[str]:
    """Set ``name``'s ceiling to ``codes`` (None: none, it reads everything)."""
    chosen = _practice_ids(connection, codes) if codes is not None else {}
    if codes is not None and not chosen:
        raise HubError("Give at least one practice's ODS code, or 'all'.")
    if not connection.execute(
        text("SELECT to_regclass('hub_desk_practice') IS NOT NULL")
    ).scalar_one():
        raise HubError(
            "This hub cannot hold desks to practices yet: run `mdt-desk hub init` on it "
            "with this version of MDT Desk first."
        )
    connection.execute(hub_desk_practice.delete().where(hub_desk_practice.c.login == name))
    if chosen:
        connection.execute(
            hub_desk_practice.insert(),
            [{"login": name, "practice_id": practice} for practice in sorted(set(chosen.values()))],
        )
    return sorted(chosen)


def login_practices(connection: Connection) -> frozenset[str] | None:
    """The practice ids this connection's desk login may read (None: every practice, or
    a hub without ceilings). A desk whose scope reaches past them would see transactions
    only in part: it should stay within them."""
    if connection.dialect.name != "postgresql":
        return None
    if not connection.execute(
        text("SELECT to_regprocedure('hub_desk_practices()') IS NOT NULL")
    ).scalar_one():
        return None
    found = connection.execute(text("SELECT hub_desk_practices()")).scalar_one()
    return None if found is None else frozenset(str(practice) for practice in found)


def set_desk_practices(engine: Engine, name: str, codes: Sequence[str] | None) -> DeskCeiling:
    """Change the practices the desk login ``name`` may read (None: every practice)."""
    check_desk_name(name)
    if engine.dialect.name != "postgresql":
        raise HubError(
            "Desk logins are a PostgreSQL hub feature: a SQLite hub is one file on one "
            "computer, with no logins; protect the file itself."
        )
    try:
        with engine.begin() as connection:
            group = _desk_group(connection)
            member = connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_auth_members m"
                    " JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid"
                    " WHERE r.rolname = :name AND g.rolname = :group)"
                ),
                {"name": name, "group": group},
            ).scalar_one()
            if not member:
                raise HubError(
                    f"{name} is not a desk login of this hub: make it with "
                    "`mdt-desk hub add-desk URL NAME --practices CODES`."
                )
            chosen = _write_ceiling(connection, name, codes)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    return DeskCeiling(name=name, codes=tuple(chosen))


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


def add_desk_login(engine: Engine, name: str, practices: Sequence[str] | None = None) -> DeskLogin:
    """Create the login ``name`` in the hub's desk group, with a new random password;
    with ``practices`` (ODS codes), it reads only their records (and everyone's)."""
    check_desk_name(name)
    if engine.dialect.name != "postgresql":
        raise HubError(
            "Desk logins are a PostgreSQL hub feature: a SQLite hub is one file on one "
            "computer, with no logins; protect the file itself."
        )
    password = secrets.token_urlsafe(32)
    try:
        with engine.begin() as connection:
            group = _desk_group(connection)
            if connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
            ).first():
                raise HubError(
                    f"The server already has a role named {name}: choose another name for "
                    "this desk's login."
                )
            # The ceiling first: an unknown practice leaves no login behind. Rows left
            # by a dropped login of the same name are replaced, never inherited.
            chosen = _write_ceiling(connection, name, practices)
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
    return DeskLogin(name=name, group=group, password=password, practices=tuple(chosen))


__all__ = [
    "META_DESK_GROUP",
    "DeskCeiling",
    "DeskLogin",
    "add_desk_login",
    "check_desk_name",
    "desk_group_name",
    "hub_desk_practice",
    "prepare_desk_group",
    "set_desk_practices",
]
