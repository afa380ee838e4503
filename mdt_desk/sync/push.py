"""Pushing a desk's changes into the hub, and the hub-side merge that decides them.

One push is one hub transaction, serialized on the ``hub_counter`` row (``FOR UPDATE``
on PostgreSQL, ``BEGIN IMMEDIATE`` on a SQLite hub), so every pusher sees the changes
before it and ``server_seq`` is gapless and in commit order. In it:

1. Re-pushed changes (same ``origin_site``/``origin_seq``) are skipped when their payload
   hash matches; a different payload under the same key means two desks share one
   identity (a copied store file), and the push is refused with nothing written.
2. A gap (the desk's previous change is not the hub's last from it) is refused too: the
   hub is not the one this desk pushed to, or it lost changes.
3. Each new change is merged into ``hub_state`` by last writer wins on ``(hlc, site)``,
   so the result does not depend on arrival order. A change whose base clock is not the
   hub's current clock for the field was made without knowing the current value; when
   the values differ (or it is an identity field) a conflict is recorded: the loser is
   kept, and a review item is made for people to decide.
4. A change to a row another desk retired (or a retirement of a row another desk has
   since edited) is an edit-versus-delete conflict; a second patient with an NHS number
   already in use, and a case with two current coordinators, become review items too.
5. Review items are ordinary changes (entity ``review_item``) appended to the change log
   under the hub's own site id, so every desk receives exactly the same items by the
   same cursor, and resolving one is an ordinary change from a desk.
6. A concurrent change of a staff member's roles is settled to the roles that grant less,
   not to the later clock: sync never gives someone rights that one of the two edits
   took away. When the later edit is not that value, the hub appends the settled value
   as its own change with a clock newer than both edits, so every desk, applying by last
   writer wins, takes it too; a ``role_clash`` review item says what happened. PIN
   hashes (``CREDENTIAL_FIELDS``) are last writer wins with no review item.
"""

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from mdt_desk.models.clock import hlc_millis
from mdt_desk.models.seal import (
    GENESIS,
    SEALED_SINCE_SCHEMA,
    ContentRow,
    Seal,
    content_problem,
    header_problem,
    link_problem,
    make_seal,
)
from mdt_desk.models.store import schema_version_number
from mdt_desk.services.access import less_privileged
from mdt_desk.sync import hub_roles
from mdt_desk.sync.anchors import (
    anchors_for_push,
    known_anchors,
    moved_anchors,
    refresh_spans,
    state_value,
)
from mdt_desk.sync.hub import (
    META_HUB_ID,
    META_SCOPES,
    HubError,
    _unreachable,
    hub_change,
    hub_conflict,
    hub_counter,
    hub_meta,
    hub_replica,
    hub_seal,
    hub_seal_row,
    hub_state,
)
from mdt_desk.sync.protocol import (
    BOOKKEEPING_FIELDS,
    CREDENTIAL_FIELDS,
    IDENTITY_FIELDS,
    MAX_SKEW_MS,
    RETIRED,
    ROLES_FIELD,
    Change,
    is_upgrade_default,
)
from mdt_desk.sync.scope import Anchors

_CHUNK = 400


@dataclass
class PushResult:
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    last_server_seq: int = 0


@dataclass
class _State:
    value: str | None
    hlc: int
    site: str
    server_seq: int


@dataclass
class _Merge:
    """Everything one push writes, gathered before writing it set-based."""

    hub_site: str
    seq: int
    now_text: str
    #: a PostgreSQL hub with a desk group: bookkeeping goes through its functions
    guarded: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: hub state of the rows this push touches: (entity, row id) -> field -> state
    rows: dict[tuple[str, str], dict[str, _State]] = field(default_factory=dict)
    dirty: set[tuple[str, str, str]] = field(default_factory=set)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    flagged_rows: set[tuple[str, str, str]] = field(default_factory=set)
    #: NHS numbers given in this push: value -> rows (a duplicate may be in the same push)
    nhs_numbers: dict[str, list[tuple[str, _State]]] = field(default_factory=dict)
    #: NHS number -> rows holding it at the hub before this push
    hub_nhs: dict[str, list[str]] = field(default_factory=dict)
    by_change: dict[int, Change] = field(default_factory=dict)
    #: review items found, written after every change of the push (see _add_review_items)
    items: list["_Item"] = field(default_factory=list)
    #: values the hub settled (a roles clash), written after the push's changes too
    settlements: list["_Settlement"] = field(default_factory=list)
    #: the seals this push adds: the desk's, then the hub's own (review items...)
    seals: list[Seal] = field(default_factory=list)
    #: the hub keeps scope anchors (``hub.META_SCOPES``): each change gets its anchor
    scoped: bool = False
    anchors: Anchors | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def get(self, key: tuple[str, str, str]) -> _State | None:
        return self.rows.get((key[0], key[1]), {}).get(key[2])

    def set(self, key: tuple[str, str, str], state: _State) -> None:
        self.rows.setdefault((key[0], key[1]), {})[key[2]] = state
        self.dirty.add(key)

    def field_values(self, entity: str, name: str) -> list[tuple[str, _State]]:
        """Every loaded row of ``entity`` with its ``name`` field (small: this push's rows)."""
        return [
            (row_id, fields[name])
            for (kind, row_id), fields in self.rows.items()
            if kind == entity and name in fields
        ]


@dataclass
class _Item:
    """A review item found during a push: its hub_conflict row and its fields."""

    conflict: dict[str, Any]
    fields: dict[str, str]
    hlc: int


@dataclass
class _Settlement:
    """A value the hub decided for a clash, to be written as the hub's own change."""

    key: tuple[str, str, str]
    value: str
    hlc: int


class ReplicaCollisionError(HubError):
    """Two desks push under one identity: a store file was copied."""


class OutsideCeilingError(HubError):
    """A push touches records the desk's login may not read (a narrowed ceiling)."""


def _insert(connection: Connection, table: Any) -> Any:
    return (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table)


def _stored_time(value: dt.datetime) -> str:
    # The desk stores timestamps as naive UTC text; review items must look the same.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _json(value: str | None) -> str | None:
    return None if value is None else json.dumps(value)


def _load_rows(
    connection: Connection, rows: set[tuple[str, str]], *, guarded: bool = False
) -> dict[tuple[str, str], dict[str, _State]]:
    """The hub state of every field of these rows (``guarded``: through the hub's own
    function, so a scoped desk login merges against the hub's state, not its view)."""
    found: dict[tuple[str, str], dict[str, _State]] = {row: {} for row in rows}
    ordered = sorted(rows)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        if guarded:
            for entity, row_id, name, value, hlc, site, seq in hub_roles.merge_state(
                connection, chunk
            ):
                found[(entity, row_id)][name] = _State(value, hlc, site, seq)
            if hub_roles.merge_hidden(connection, [row for row in chunk if not found[row]]):
                raise OutsideCeilingError(
                    "This desk holds records of practices its hub login may no longer read "
                    "(the administrator changed the login's practices). Nothing was sent; "
                    "the changes are kept here. Ask your administrator to give the login "
                    "those practices again (`mdt-desk hub desk-practices`), sync, then "
                    "narrow this desk's practices."
                )
            continue
        for entity, row_id, name, value, hlc, site, seq in connection.execute(
            select(
                hub_state.c.entity,
                hub_state.c.row_id,
                hub_state.c.field,
                hub_state.c.value,
                hub_state.c.hlc,
                hub_state.c.site,
                hub_state.c.server_seq,
            ).where(tuple_(hub_state.c.entity, hub_state.c.row_id).in_(chunk))
        ):
            found[(entity, row_id)][name] = _State(value, hlc, site, seq)
    return found


def push_changes(
    engine: Engine,
    *,
    site: str,
    label: str,
    schema_version: int,
    prev_seq: int,
    changes: Sequence[Change],
    now_ms: int,
    seals: Sequence[Seal] = (),
) -> PushResult:
    """Push one batch (whole transactions, in ``origin_seq`` order) into the hub.

    ``seals`` are the batch's transactions' seals (``models/seal.py``); a transaction
    cut by the end of the batch brings its seal with the batch that ends it.
    """
    try:
        with engine.begin() as connection:
            return _push(
                connection,
                site=site,
                label=label,
                schema_version=schema_version,
                prev_seq=prev_seq,
                changes=changes,
                now_ms=now_ms,
                seals=seals,
            )
    except HubError:
        raise
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    except psycopg.Error as error:  # raised on the driver's own COPY cursor
        if isinstance(error, psycopg.OperationalError):
            raise _unreachable(engine.url, error) from error
        raise HubError(
            f"The team hub refused this desk's changes ({type(error).__name__}); they are "
            "kept here. Tell your administrator."
        ) from error


def _push(
    connection: Connection,
    *,
    site: str,
    label: str,
    schema_version: int,
    prev_seq: int,
    changes: Sequence[Change],
    now_ms: int,
    seals: Sequence[Seal] = (),
) -> PushResult:
    meta = dict(connection.execute(select(hub_meta.c.key, hub_meta.c.value)).all())
    hub_site = str(meta[META_HUB_ID])
    # A desk login may not UPDATE (hub_roles): the hub's own functions do its bookkeeping.
    guarded = connection.dialect.name == "postgresql" and hub_roles.META_DESK_GROUP in meta
    if guarded:
        last_seq = hub_roles.lock_counter(connection)
    else:
        counter = select(hub_counter.c.last_seq).where(hub_counter.c.id == 1)
        if connection.dialect.name == "postgresql":
            counter = counter.with_for_update()
        last_seq = int(connection.execute(counter).scalar_one())
    replica = connection.execute(
        select(hub_replica.c.last_origin_seq).where(hub_replica.c.site_id == site)
    ).scalar_one_or_none()
    hub_last = int(replica) if replica is not None else 0
    result = PushResult(last_server_seq=last_seq)
    fresh, result.duplicates = _new_changes(
        connection, site=site, prev_seq=prev_seq, changes=changes, now_ms=now_ms, hub_last=hub_last
    )
    seqs = [change.origin_seq for change in changes]
    merge = _Merge(
        hub_site=hub_site,
        seq=last_seq,
        now_text=_stored_time(dt.datetime.now(dt.UTC)),
        guarded=guarded,
        scoped=META_SCOPES in meta,
    )
    merge.seals = _accepted_seals(connection, site=site, changes=changes, fresh=fresh, seals=seals)
    if fresh:
        merge.rows = _load_rows(connection, {(c.entity, c.row_id) for c in fresh}, guarded=guarded)
        _find_anchors(connection, merge, fresh)
        _load_nhs_numbers(connection, merge, fresh)
        for change in fresh:
            _merge_one(connection, merge, change)
        _check_coordinators(connection, merge, fresh)
        _add_settlements(merge)
        _add_review_items(merge)
        _seal_hub_transactions(connection, merge)
    if fresh or merge.seals:
        _write(connection, merge)
    if merge.anchors is not None and merge.dirty:
        _refresh_moved(connection, merge)
    result.accepted = len(fresh)
    result.conflicts = len(merge.conflicts)
    result.last_server_seq = merge.seq
    if merge.seq != last_seq and guarded:
        hub_roles.advance_counter(connection, merge.seq)
    elif merge.seq != last_seq:
        connection.execute(
            update(hub_counter).where(hub_counter.c.id == 1).values(last_seq=merge.seq)
        )
    top = max([hub_last, *seqs])
    values = {
        "label": label[:200],
        "schema_version": schema_version,
        "last_origin_seq": top,
        "last_seen": merge.now_text,
    }
    if guarded:
        hub_roles.record_push(connection, site, values)
    elif replica is None:
        connection.execute(hub_replica.insert(), {"site_id": site, "last_pull_seq": 0, **values})
    else:
        connection.execute(
            update(hub_replica).where(hub_replica.c.site_id == site).values(**values)
        )
    return result


def _new_changes(
    connection: Connection,
    *,
    site: str,
    prev_seq: int,
    changes: Sequence[Change],
    now_ms: int,
    hub_last: int,
) -> tuple[list[Change], int]:
    """The changes the hub does not have yet, and how many it had (a re-push).

    Raises:
        ReplicaCollisionError: another desk pushed under this identity (a copied file).
        HubError: a gap, or clocks too far ahead of the hub's.
    """
    existing: dict[int, str] = {}
    if changes:
        # One range query: the key (origin_site, origin_seq) index answers it at once,
        # where a long IN list may be planned as a scan of the site's whole history.
        existing.update(
            connection.execute(
                select(hub_change.c.origin_seq, hub_change.c.payload_hash).where(
                    hub_change.c.origin_site == site,
                    hub_change.c.origin_seq.between(changes[0].origin_seq, changes[-1].origin_seq),
                )
            ).all()
        )
    fresh: list[Change] = []
    duplicates = 0
    previous = prev_seq
    for change in changes:
        known = existing.get(change.origin_seq)
        if known is not None:
            if known != change.payload_hash:
                raise ReplicaCollisionError(
                    "Another desk is sending changes under this desk's identity: this store "
                    "file was copied from another desk. Nothing was sent and nothing is lost; "
                    "ask your administrator to set this desk up again from the hub."
                )
            duplicates += 1
        else:
            if not fresh and previous != hub_last:
                if previous > hub_last:
                    raise HubError(
                        "The hub is missing changes this desk sent earlier: it is not the hub "
                        "this desk synced with, or it was restored from an older backup. "
                        "Nothing was sent; this desk keeps its changes."
                    )
                raise ReplicaCollisionError(
                    "Another desk has sent changes under this desk's identity: this store "
                    "file was copied from another desk. Nothing was sent and nothing is lost."
                )
            if hlc_millis(change.hlc) > now_ms + MAX_SKEW_MS:
                raise HubError(
                    "This desk's changes carry a time more than 5 minutes ahead of the hub's: "
                    "correct the computer's clock, then sync again. The changes are kept."
                )
            fresh.append(change)
        previous = change.origin_seq
    return fresh, duplicates


class SealRefusedError(HubError):
    """A pushed transaction's seal does not hold: nothing of the push is written."""


def _refuse(seal_or_seq: Seal | int, reason: str) -> SealRefusedError:
    where = seal_or_seq.first_seq if isinstance(seal_or_seq, Seal) else seal_or_seq
    return SealRefusedError(
        f"The team hub refused this desk's changes: the change at sequence {where} {reason}. "
        "Nothing was sent; the changes are kept here. This desk's journal may have been "
        "altered: run `mdt-desk check` and tell your administrator."
    )


def _content(changes: Sequence[Change]) -> list[ContentRow]:
    return [(c.origin_seq, c.entity, c.row_id, c.field, c.op, c.value) for c in changes]


def _hub_content(connection: Connection, site: str, seal: Seal) -> dict[int, ContentRow]:
    """A transaction's changes the hub holds already (it began in an earlier push)."""
    return {
        int(row.origin_seq): (
            int(row.origin_seq),
            row.entity,
            row.row_id,
            row.field,
            row.op,
            row.value,
        )
        for row in connection.execute(
            select(
                hub_change.c.origin_seq,
                hub_change.c.entity,
                hub_change.c.row_id,
                hub_change.c.field,
                hub_change.c.op,
                hub_change.c.value,
            ).where(
                hub_change.c.origin_site == site,
                hub_change.c.origin_seq.between(seal.first_seq, seal.last_seq),
            )
        )
    }


def last_hub_seal(connection: Connection, site: str) -> tuple[int, str] | None:
    """The chain number and seal of ``site``'s latest sealed transaction at the hub."""
    row = connection.execute(
        select(hub_seal.c.chain_seq, hub_seal.c.seal_hash)
        .where(hub_seal.c.origin_site == site)
        .order_by(hub_seal.c.chain_seq.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _accepted_seals(
    connection: Connection,
    *,
    site: str,
    changes: Sequence[Change],
    fresh: Sequence[Change],
    seals: Sequence[Seal],
) -> list[Seal]:
    """The push's new seals, each checked against its changes and the hub's chain.

    Raises:
        SealRefusedError: a seal does not match its changes, or does not continue the
            hub's last seal of this desk, or a change of this version comes unsealed.
    """
    given = sorted(seals, key=lambda seal: seal.chain_seq)
    known: dict[str, str] = {}
    ids = [seal.tx_id for seal in given]
    for start in range(0, len(ids), _CHUNK):
        known.update(
            connection.execute(
                select(hub_seal.c.tx_id, hub_seal.c.seal_hash).where(
                    hub_seal.c.tx_id.in_(ids[start : start + _CHUNK])
                )
            ).all()
        )
    previous = last_hub_seal(connection, site)
    # A desk whose earlier changes reached the hub before it kept seals anchors its
    # chain at its first sealed transaction there.
    anchor_ok = previous is None and (
        connection.execute(
            select(hub_change.c.server_seq).where(hub_change.c.origin_site == site).limit(1)
        ).first()
        is not None
    )
    by_tx: dict[str, list[Change]] = {}
    for change in changes:
        by_tx.setdefault(change.tx_id, []).append(change)
    accepted: list[Seal] = []
    for seal in given:
        if seal.origin != site:
            raise _refuse(seal, "carries another desk's seal")
        if seal.tx_id in known:
            if known[seal.tx_id] != seal.seal_hash:
                raise _refuse(seal, "is sealed differently from the copy the hub holds")
            continue
        _check_pushed(
            connection,
            site=site,
            seal=seal,
            pushed=by_tx.get(seal.tx_id, []),
            previous=previous,
            anchor_ok=anchor_ok,
        )
        previous, anchor_ok = (seal.chain_seq, seal.seal_hash), False
        accepted.append(seal)
    sealed = set(known) | {seal.tx_id for seal in accepted}
    for change in fresh:
        if (
            change.tx_id not in sealed
            and change.tx_id != changes[-1].tx_id  # continued in the next push
            and change.schema_version >= SEALED_SINCE_SCHEMA
        ):
            raise _refuse(change.origin_seq, "has no seal")
    return accepted


def _check_pushed(
    connection: Connection,
    *,
    site: str,
    seal: Seal,
    pushed: Sequence[Change],
    previous: tuple[int, str] | None,
    anchor_ok: bool,
) -> None:
    """Refuse a new seal that does not follow the hub's chain or match its changes."""
    problem = link_problem(seal, previous, anchor_ok=anchor_ok)
    if problem:
        raise _refuse(seal, f"breaks this desk's chain at the hub: {problem}")
    rows: dict[int, ContentRow] = {}
    checked: set[tuple[Any, ...]] = set()
    for change in pushed:
        header = (
            change.actor_id,
            change.actor_label,
            change.recorded_at,
            change.hlc,
            change.schema_version,
        )
        if header in checked:
            continue  # each distinct copy of the header is checked once
        checked.add(header)
        problem = header_problem(
            seal,
            origin=change.origin_site,
            actor_id=change.actor_id,
            actor_label=change.actor_label,
            recorded_at=change.recorded_at,
            hlc=change.hlc,
            schema_version=change.schema_version,
        )
        if problem:
            raise _refuse(seal, f"does not match its seal: {problem}")
    if len(pushed) != seal.change_count:
        rows.update(_hub_content(connection, site, seal))
    rows.update({row[0]: row for row in _content(pushed)})
    problem = content_problem(seal, [rows[seq] for seq in sorted(rows)])
    if problem:
        raise _refuse(seal, f"does not match its seal: {problem}")


def _seal_hub_transactions(connection: Connection, merge: _Merge) -> None:
    """Seal the transactions the hub itself appended (review items, settled values)
    into the hub's own chain, as a desk seals its own."""
    own: dict[str, list[dict[str, Any]]] = {}
    for change in merge.changes:
        if change["origin_site"] == merge.hub_site:
            own.setdefault(str(change["tx_id"]), []).append(change)
    if not own:
        return
    previous = last_hub_seal(connection, merge.hub_site) or (0, GENESIS)
    for tx_id, rows in own.items():
        first = rows[0]
        seal = make_seal(
            origin=merge.hub_site,
            chain_seq=previous[0] + 1,
            tx_id=tx_id,
            changes=[
                (r["origin_seq"], r["entity"], r["row_id"], r["field"], r["op"], r["value"])
                for r in rows
            ],
            actor_id=first["actor_id"],
            actor_label=str(first["actor_label"]),
            recorded_at=first["recorded_at"],
            hlc=int(first["hlc"]),
            schema_version=int(first["schema_version"]),
            prev_hash=previous[1],
        )
        merge.seals.append(seal)
        previous = (seal.chain_seq, seal.seal_hash)


def _merge_one(connection: Connection, merge: _Merge, change: Change) -> None:
    seq = merge.next_seq()
    merge.by_change[seq] = change
    merge.changes.append(
        {
            "server_seq": seq,
            "origin_site": change.origin_site,
            "origin_seq": change.origin_seq,
            "tx_id": change.tx_id,
            "hlc": change.hlc,
            "base_hlc": change.base_hlc,
            "base_site": change.base_site,
            "row_base_hlc": change.row_base_hlc,
            "entity": change.entity,
            "row_id": change.row_id,
            "field": change.field,
            "op": change.op,
            "value": change.value,
            "schema_version": change.schema_version,
            "actor_id": change.actor_id,
            "actor_label": change.actor_label[:200],
            "recorded_at": change.recorded_at,
            "payload_hash": change.payload_hash,
        }
    )
    key = change.key
    current = merge.get(key)
    settled: str | None = None
    if change.upgrade_default and current is not None:
        return  # kept in the log; a value is already there (see protocol.py)
    over_default = current is not None and _stands_by_default(connection, merge, current, change)
    if change.entity == "review_item":
        if change.field == "resolved_at" and change.value not in (None, "null") and merge.guarded:
            hub_roles.resolve_conflict(connection, change.row_id)
        elif change.field == "resolved_at" and change.value not in (None, "null"):
            connection.execute(
                update(hub_conflict)
                .where(hub_conflict.c.conflict_id == change.row_id)
                .values(resolved=1)
            )
    elif (
        current is not None
        and change.field not in BOOKKEEPING_FIELDS
        and (current.hlc, current.site) != (change.base_hlc, change.base_site)
        and not over_default
    ):
        identity = (change.entity, change.field) in IDENTITY_FIELDS
        credential = (change.entity, change.field) in CREDENTIAL_FIELDS
        if (current.value != change.value or identity) and not credential:
            incoming_wins = change.clock >= (current.hlc, current.site)
            kept, other = (seq, current.server_seq) if incoming_wins else (current.server_seq, seq)
            if (change.entity, change.field) == ROLES_FIELD:
                settled = _settle_roles(
                    connection, merge, key=key, current=current, seq=seq, change=change
                )
            else:
                _conflict(
                    connection,
                    merge,
                    kind="identity" if identity else "same_field",
                    key=key,
                    kept_seq=kept,
                    other_seq=other,
                )
    _edit_versus_delete(connection, merge, change, seq)
    # An equal clock is the same transaction (one clock per transaction and site)
    # setting the field again, later in it: fresh changes of a site arrive in its
    # order, so the later one stands (e.g. a case referred then accepted at once).
    if current is None or change.clock >= (current.hlc, current.site) or over_default:
        merge.set(key, _State(change.value, change.hlc, change.origin_site, seq))
    stands = merge.get(key)
    if settled is not None and current is not None and stands is not None:
        if stands.value != settled:
            # Newer than both edits, so every desk's last-writer-wins takes it; its
            # sequence number is given when it is written, after the push's changes.
            hlc = max(current.hlc, change.hlc) + 1
            merge.set(key, _State(settled, hlc, merge.hub_site, 0))
            merge.settlements.append(_Settlement(key, settled, hlc))
        stands = merge.get(key)
    if (
        (change.entity, change.field) == ("patient", "nhs_number")
        and change.value not in (None, "null")
        and stands is not None
        and stands.server_seq == seq
    ):
        _check_duplicate(connection, merge, change, seq)


def _stands_by_default(
    connection: Connection, merge: _Merge, current: _State, change: Change
) -> bool:
    """Whether ``current`` is a schema upgrade's value that ``change`` simply replaces.

    Asked only when ``change`` would otherwise lose or be a conflict (rare), so the
    hub's log is read for it at most then.
    """
    if change.field in BOOKKEEPING_FIELDS or (
        (current.hlc, current.site) == (change.base_hlc, change.base_site)
        and change.clock >= (current.hlc, current.site)
    ):
        return False  # an ordinary later edit (or bookkeeping): nothing to ask
    if current.site == merge.hub_site or current.server_seq == 0:
        return False
    made = merge.by_change.get(current.server_seq)
    if made is not None:
        return made.upgrade_default
    if merge.guarded:
        found = hub_roles.merge_change(connection, current.server_seq)
        return (
            bool(found)
            and found.get("actor_id") is None
            and is_upgrade_default(None, str(found.get("actor_label") or ""))
        )
    row = connection.execute(
        select(hub_change.c.actor_id, hub_change.c.actor_label).where(
            hub_change.c.server_seq == current.server_seq
        )
    ).first()
    return row is not None and is_upgrade_default(row.actor_id, row.actor_label)


def _roles_text(value: str | None) -> str:
    """The roles text behind a journal value (JSON text, or SQL NULL for none)."""
    if value in (None, "null"):
        return ""
    decoded = json.loads(value)
    return decoded if isinstance(decoded, str) else ""


def _settle_roles(
    connection: Connection,
    merge: _Merge,
    *,
    key: tuple[str, str, str],
    current: _State,
    seq: int,
    change: Change,
) -> str:
    """Settle a clash of a staff member's roles to the roles that grant less.

    Returns the settled value (journal JSON) and records one ``role_clash`` review item:
    it names the edit whose value stands (or, when neither grants less than the other,
    the later one, with the roles both edits give as the value that stands) and the
    other edit. The item's ``detail`` keeps that edit's own value when it is not the
    one that stands, so the reviewer sees both edits.
    """
    settled_text = less_privileged(_roles_text(current.value), _roles_text(change.value))
    values = {seq: _roles_text(change.value), current.server_seq: _roles_text(current.value)}
    if change.clock >= (current.hlc, current.site):
        later, earlier = seq, current.server_seq
    else:
        later, earlier = current.server_seq, seq
    if values[earlier] == settled_text != values[later]:
        kept, other = earlier, later
    else:
        kept, other = later, earlier
    _conflict(
        connection,
        merge,
        kind="role_clash",
        key=key,
        kept_seq=kept,
        other_seq=other,
        stands=json.dumps(settled_text),
        detail="" if values[kept] == settled_text else values[kept],
    )
    return json.dumps(settled_text)


def _add_settlements(merge: _Merge) -> None:
    """Append the values the hub settled as its own changes, after the push's changes.

    Each is a transaction of its own (the desks' journal keeps one clock per
    transaction), made by the hub under its site id like a review item.
    """
    for settlement in merge.settlements:
        seq = merge.next_seq()
        entity, row_id, name = settlement.key
        merge.changes.append(
            {
                "server_seq": seq,
                "origin_site": merge.hub_site,
                "origin_seq": seq,
                "tx_id": uuid.uuid4().hex,
                "hlc": settlement.hlc,
                "base_hlc": 0,
                "base_site": "",
                "row_base_hlc": 0,
                "entity": entity,
                "row_id": row_id,
                "field": name,
                "op": "set",
                "value": settlement.value,
                "schema_version": schema_version_number(),
                "actor_id": None,
                "actor_label": "Team hub (roles that grant less)",
                "recorded_at": merge.now_text,
                "payload_hash": "",
            }
        )
        stands = merge.get(settlement.key)
        if stands is not None and (stands.hlc, stands.site) == (settlement.hlc, merge.hub_site):
            merge.set(settlement.key, _State(settlement.value, settlement.hlc, merge.hub_site, seq))


def _edit_versus_delete(connection: Connection, merge: _Merge, change: Change, seq: int) -> None:
    if change.entity == "review_item":
        return
    row = (change.entity, change.row_id)
    if (change.entity, change.row_id, "edit_vs_delete") in merge.flagged_rows:
        return
    fields = merge.rows.get(row, {})
    retired = fields.get(RETIRED)
    unseen = [
        state
        for name, state in fields.items()
        if state.site != change.origin_site
        and state.hlc > change.row_base_hlc
        and name not in ("updated_at", RETIRED)
    ]
    if change.field == RETIRED and change.value not in (None, "null"):
        if unseen:  # retired here while another desk edited it
            latest = max(unseen, key=lambda state: state.hlc)
            _conflict(
                connection,
                merge,
                kind="edit_vs_delete",
                key=(change.entity, change.row_id, RETIRED),
                kept_seq=seq,
                other_seq=latest.server_seq,
            )
    elif (
        change.field not in ("updated_at", RETIRED)
        and retired is not None
        and retired.value not in (None, "null")
        and retired.site != change.origin_site
        and retired.hlc > change.row_base_hlc
    ):
        _conflict(
            connection,
            merge,
            kind="edit_vs_delete",
            key=(change.entity, change.row_id, RETIRED),
            kept_seq=retired.server_seq,
            other_seq=seq,
        )


def _load_nhs_numbers(connection: Connection, merge: _Merge, fresh: Sequence[Change]) -> None:
    """Which rows at the hub hold each NHS number this push gives (one query a push)."""
    values = sorted(
        {
            c.value
            for c in fresh
            if (c.entity, c.field) == ("patient", "nhs_number") and c.value not in (None, "null")
        }
    )
    for start in range(0, len(values), _CHUNK):
        if merge.guarded:  # every practice's people, not only the login's (hub_roles)
            for row_id, value in hub_roles.nhs_holders(connection, values[start : start + _CHUNK]):
                merge.hub_nhs.setdefault(value, []).append(row_id)
            continue
        for row_id, value in connection.execute(
            select(hub_state.c.row_id, hub_state.c.value).where(
                hub_state.c.entity == "patient",
                hub_state.c.field == "nhs_number",
                hub_state.c.value.in_(values[start : start + _CHUNK]),
            )
        ):
            merge.hub_nhs.setdefault(value, []).append(row_id)


def _check_duplicate(connection: Connection, merge: _Merge, change: Change, seq: int) -> None:
    others = [
        row_id
        for row_id in merge.hub_nhs.get(change.value or "", [])
        if row_id != change.row_id
        # still this number (unless this push has changed it)
        and (
            (state := merge.get(("patient", row_id, "nhs_number"))) is None
            or state.value == change.value
        )
    ]
    others += [
        row_id
        for row_id, state in merge.nhs_numbers.get(change.value or "", [])
        if row_id != change.row_id and row_id not in others
    ]
    merge.nhs_numbers.setdefault(change.value or "", []).append(
        (change.row_id, _State(change.value, change.hlc, change.origin_site, seq))
    )
    for other in others:
        retired = merge.get(("patient", other, RETIRED))
        if retired is not None and retired.value not in (None, "null"):
            continue
        _conflict(
            connection,
            merge,
            kind="duplicate",
            key=("patient", change.row_id, "nhs_number"),
            kept_seq=seq,
            other_seq=None,
            other_row_id=other,
        )


def _check_coordinators(connection: Connection, merge: _Merge, fresh: Sequence[Change]) -> None:
    """A case with two current coordinators after this push is for people to sort out."""
    assignments = {c.row_id for c in fresh if c.entity == "coordinator_assignment"}
    if not assignments:
        return
    cases = {
        state.value
        for row_id in assignments
        if (state := merge.get(("coordinator_assignment", row_id, "case_id"))) is not None
        and state.value is not None
    }
    for case_json in sorted(cases):
        rows = {
            row_id
            for (row_id,) in connection.execute(
                select(hub_state.c.row_id).where(
                    hub_state.c.entity == "coordinator_assignment",
                    hub_state.c.field == "case_id",
                    hub_state.c.value == case_json,
                )
            )
        } | {
            row_id
            for row_id in assignments
            if (state := merge.get(("coordinator_assignment", row_id, "case_id"))) is not None
            and state.value == case_json
        }
        missing = {("coordinator_assignment", r) for r in rows} - set(merge.rows)
        if missing:
            merge.rows.update(_load_rows(connection, missing, guarded=merge.guarded))

        def is_current(row_id: str) -> bool:
            fields = merge.rows.get(("coordinator_assignment", row_id), {})
            ended, retired = fields.get("ended_on"), fields.get(RETIRED)
            return (ended is None or ended.value in (None, "null")) and (
                retired is None or retired.value in (None, "null")
            )

        current = [row for row in sorted(rows) if is_current(row)]
        case_id = json.loads(case_json)
        already = connection.execute(
            select(hub_conflict.c.conflict_id).where(
                hub_conflict.c.kind == "coordinator",
                hub_conflict.c.row_id == case_id,
                hub_conflict.c.resolved == 0,
            )
        ).first()
        if len(current) > 1 and already is None:
            first = merge.get(("coordinator_assignment", current[-1], "staff_id"))
            second = merge.get(("coordinator_assignment", current[0], "staff_id"))
            _conflict(
                connection,
                merge,
                kind="coordinator",
                key=("care_case", case_id, "coordinator"),
                kept_seq=first.server_seq if first else None,
                other_seq=second.server_seq if second else None,
            )


def _conflict(
    connection: Connection,
    merge: _Merge,
    *,
    kind: str,
    key: tuple[str, str, str],
    kept_seq: int | None,
    other_seq: int | None,
    other_row_id: str = "",
    stands: str | None = None,
    detail: str = "",
) -> None:
    """Record a review item; ``stands`` overrides the kept value when the hub settled
    the clash to a value of its own (a roles clash)."""
    entity, row_id, name = key
    flag = (entity, row_id, kind) if kind == "edit_vs_delete" else None
    if flag is not None:
        merge.flagged_rows.add(flag)
    kept = _describe(connection, merge, kept_seq)
    other = _describe(connection, merge, other_seq)
    conflict_id = _conflict_id(kind, key, kept, other, other_row_id)
    arose = max(
        (_stored_recorded(side) for side in (kept, other) if side.get("recorded_at")),
        default=merge.now_text,
    )
    fields: dict[str, str | None] = {
        "kind": json.dumps(kind),
        "entity": json.dumps(entity),
        "row_id": json.dumps(row_id),
        "field": json.dumps(name),
        "kept_value": _json(stands if stands is not None else kept.get("value")),
        "other_value": _json(other.get("value")),
        "kept_by": json.dumps(_made_by(kept)),
        "other_by": json.dumps(_made_by(other)),
        "kept_at": json.dumps(kept.get("recorded_at", "")),
        "other_at": json.dumps(other.get("recorded_at", "")),
        "kept_desk": json.dumps(kept.get("origin_site", "")),
        "other_desk": json.dumps(other.get("origin_site", "")),
        "other_row_id": json.dumps(other_row_id),
        "detail": json.dumps(detail),
        "resolution": json.dumps(""),
        # When the clash arose (the later of its two edits), not when the hub found it:
        # found again (after the hub went back in time) it is the very same review item.
        "created_at": json.dumps(arose),
        "updated_at": json.dumps(arose),
    }
    # Newer than both sides, wherever each is (this push or the log), so the same
    # clash found again gets the same clock whichever side arrives first.
    hlc = max(int(side.get("hlc") or 0) for side in (kept, other))
    merge.items.append(
        _Item(
            conflict={
                "conflict_id": conflict_id,
                "kind": kind,
                "entity": entity,
                "row_id": row_id,
                "field": name,
                "kept_seq": kept_seq,
                "other_seq": other_seq,
                "other_row_id": other_row_id,
                "resolved": 0,
            },
            fields={name_: value for name_, value in fields.items() if value is not None},
            hlc=hlc,
        )
    )


#: Review items are named by what clashed, so the same clash found again (the desks
#: sending their changes again to a hub restored from an older backup) is the same
#: review item everywhere, never a second one for a person to settle.
_REVIEW_ITEM_NAMESPACE = uuid.UUID("6f1d3c2a-9b7e-4e55-8d0a-4c1b2e7f9a10")


def _conflict_id(
    kind: str,
    key: tuple[str, str, str],
    kept: dict[str, Any],
    other: dict[str, Any],
    other_row_id: str,
) -> str:
    """The review item's id: from the clash and the two changes in it, or new when
    a side is not a change in the log."""
    sides = [
        f"{side.get('origin_site')}:{side.get('origin_seq')}"
        for side in (kept, other)
        if side.get("origin_seq") is not None
    ]
    if not sides:
        return uuid.uuid4().hex
    name = "|".join([kind, *key, other_row_id, *sides])
    return uuid.uuid5(_REVIEW_ITEM_NAMESPACE, name).hex


def _stored_recorded(side: dict[str, Any]) -> str:
    """A change's ``recorded_at`` as the desk stores timestamps (naive UTC text)."""
    text_value = str(side["recorded_at"])
    try:
        return _stored_time(dt.datetime.fromisoformat(text_value).replace(tzinfo=dt.UTC))
    except ValueError:
        return text_value


def _add_review_items(merge: _Merge) -> None:
    """Append the push's review items to the change log, after all its changes.

    A review item is a row like any other, made by the hub: one change per field,
    the first under the sequence number the conflict took. They come after the
    desks' changes, never between them, so each pushed transaction stays one run of
    the log and a page never holds half of a new record (a patient's NHS number
    without its name, which could not be stored).
    """
    for item in merge.items:
        conflict_id = str(item.conflict["conflict_id"])
        if merge.anchors is not None:  # the review item is the reviewed record's
            about = merge.anchors.of(str(item.conflict["entity"]), str(item.conflict["row_id"]))
            merge.anchors.remember("review_item", conflict_id, about)
        # Its own transaction each time it is made: the same review item made again
        # (after the hub went back in time) is a new, separately sealed transaction.
        tx_id = uuid.uuid4().hex
        first_seq = 0
        for name_, value in item.fields.items():
            change_seq = merge.next_seq()
            first_seq = first_seq or change_seq
            merge.changes.append(
                {
                    "server_seq": change_seq,
                    "origin_site": merge.hub_site,
                    "origin_seq": change_seq,
                    "tx_id": tx_id,
                    "hlc": item.hlc,
                    "base_hlc": 0,
                    "base_site": "",
                    "row_base_hlc": 0,
                    "entity": "review_item",
                    "row_id": conflict_id,
                    "field": name_,
                    "op": "set",
                    "value": value,
                    "schema_version": 3,
                    "actor_id": None,
                    "actor_label": "Team hub",
                    "recorded_at": merge.now_text,
                    "payload_hash": "",
                }
            )
            merge.set(
                ("review_item", conflict_id, name_),
                _State(value, item.hlc, merge.hub_site, change_seq),
            )
        merge.conflicts.append({**item.conflict, "server_seq": first_seq})


def _made_by(described: dict[str, Any]) -> str:
    """Who made a change, for a review item: the desk's label (the person's name, or
    who set the desk up) or, when a signed-in person's change carries no label (the
    command line's), their staff id, which every desk turns into their name."""
    return str(described.get("actor_label") or described.get("actor_id") or "")[:200]


def _describe(connection: Connection, merge: _Merge, seq: int | None) -> dict[str, Any]:
    """Who made the change at ``seq``, when, from which desk, and its value."""
    if seq is None:
        return {}
    change = merge.by_change.get(seq)
    if change is not None:
        return {
            "value": change.value,
            "actor_id": change.actor_id,
            "actor_label": change.actor_label,
            "recorded_at": change.recorded_at,
            "origin_site": change.origin_site,
            "origin_seq": change.origin_seq,
            "hlc": change.hlc,
        }
    if merge.guarded:
        return hub_roles.merge_change(connection, seq)
    row = connection.execute(
        select(
            hub_change.c.value,
            hub_change.c.actor_id,
            hub_change.c.actor_label,
            hub_change.c.recorded_at,
            hub_change.c.origin_site,
            hub_change.c.origin_seq,
            hub_change.c.hlc,
        ).where(hub_change.c.server_seq == seq)
    ).first()
    return dict(row._mapping) if row is not None else {}


_CHANGE_COLUMNS = tuple(column.name for column in hub_change.columns)
_STATE_COLUMNS = tuple(column.name for column in hub_state.columns)
#: What a hub from before scopes holds (until ``hub init`` adds the anchors).
_CHANGE_COLUMNS_BEFORE_SCOPES = tuple(c for c in _CHANGE_COLUMNS if c != "scope_anchor")
_STATE_COLUMNS_BEFORE_SCOPES = tuple(c for c in _STATE_COLUMNS if c != "scope_anchor")


def _copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL COPY on the push's own connection (same transaction): the bulk path."""
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _state_value(
    connection: Connection, merge: _Merge, entity: str, row_id: str, name: str
) -> str | None:
    """A field's merged value: this push's view of its rows, else the hub's state."""
    found = merge.get((entity, row_id, name))
    if found is not None:
        return found.value
    if (entity, row_id) in merge.rows:
        return None
    return _hub_value(connection, merge, entity, row_id, name)


def _hub_value(
    connection: Connection, merge: _Merge, entity: str, row_id: str, name: str
) -> str | None:
    """A field's value in the hub's state (through the hub's function for a desk login)."""
    if merge.guarded:
        return hub_roles.merge_value(connection, entity, row_id, name)
    return state_value(connection, entity, row_id, name)


def _find_anchors(connection: Connection, merge: _Merge, fresh: Sequence[Change]) -> None:
    if merge.scoped:
        merge.anchors = anchors_for_push(
            connection,
            fresh,
            lambda e, r, f: _state_value(connection, merge, e, r, f),
            known=hub_roles.merge_anchors if merge.guarded else known_anchors,
        )


def _refresh_moved(connection: Connection, merge: _Merge) -> None:
    """The spans of the anchors this push moved between practices (``anchors.py``)."""
    assert merge.anchors is not None
    moved = moved_anchors(
        connection,
        merge.dirty,
        merge.anchors,
        lambda e, r, f: _hub_value(connection, merge, e, r, f),
    )
    if merge.guarded:
        hub_roles.refresh_anchors(connection, sorted(moved))
    else:
        refresh_spans(connection, moved)


def _with_anchors(merge: _Merge, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if merge.anchors is None:
        return rows
    return [{**row, "scope_anchor": merge.anchors.of(row["entity"], row["row_id"])} for row in rows]


def _write(connection: Connection, merge: _Merge) -> None:
    merge.changes = _with_anchors(merge, merge.changes)
    change_columns = _CHANGE_COLUMNS if merge.scoped else _CHANGE_COLUMNS_BEFORE_SCOPES
    state_columns = _STATE_COLUMNS if merge.scoped else _STATE_COLUMNS_BEFORE_SCOPES
    states = []
    for entity, row_id, name in sorted(merge.dirty):
        state = merge.rows[(entity, row_id)][name]
        states.append(
            {
                "entity": entity,
                "row_id": row_id,
                "field": name,
                "value": state.value,
                "hlc": state.hlc,
                "site": state.site,
                "server_seq": state.server_seq,
            }
        )
    states = _with_anchors(merge, states)
    if connection.dialect.name == "postgresql":
        # COPY, then one set-based upsert from a temporary table: a statement per push,
        # not per row (a push of 2,000 changes takes tens of milliseconds, not seconds).
        rows = [tuple(change.get(c) for c in change_columns) for change in merge.changes]
        if rows and merge.guarded:  # row-level security refuses a desk login COPY
            hub_roles.append_changes(connection, change_columns, rows)
        elif rows:
            _copy_rows(connection, "hub_change", change_columns, rows)
        if states and merge.guarded:
            hub_roles.put_state(connection, states)
        elif states:
            connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE IF NOT EXISTS hub_state_incoming"
                " (LIKE hub_state INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            _copy_rows(
                connection,
                "hub_state_incoming",
                state_columns,
                [tuple(state.get(c) for c in state_columns) for state in states],
            )
            listed = ", ".join(state_columns)
            anchor = ", scope_anchor = excluded.scope_anchor" if merge.scoped else ""
            connection.exec_driver_sql(
                f"INSERT INTO hub_state ({listed}) SELECT {listed} FROM hub_state_incoming"
                " ON CONFLICT (entity, row_id, field) DO UPDATE SET value = excluded.value,"
                " hlc = excluded.hlc, site = excluded.site, server_seq = excluded.server_seq"
                f"{anchor}"
            )
    else:
        if merge.changes:
            connection.execute(
                hub_change.insert(),
                [{c: change.get(c) for c in change_columns} for change in merge.changes],
            )
        if states:
            statement = _insert(connection, hub_state)
            updated = {
                "value": statement.excluded.value,
                "hlc": statement.excluded.hlc,
                "site": statement.excluded.site,
                "server_seq": statement.excluded.server_seq,
            }
            if merge.scoped:
                updated["scope_anchor"] = statement.excluded.scope_anchor
            statement = statement.on_conflict_do_update(
                index_elements=[hub_state.c.entity, hub_state.c.row_id, hub_state.c.field],
                set_=updated,
            )
            connection.execute(
                statement, [{c: state.get(c) for c in state_columns} for state in states]
            )
    if merge.conflicts:
        connection.execute(hub_conflict.insert(), merge.conflicts)
    if merge.seals:
        # One multi-row INSERT (SQLAlchemy batches them): a seal per transaction.
        connection.execute(
            hub_seal.insert(),
            [hub_seal_row(seal) for seal in merge.seals],
        )


__all__ = [
    "OutsideCeilingError",
    "PushResult",
    "ReplicaCollisionError",
    "SealRefusedError",
    "push_changes",
]
