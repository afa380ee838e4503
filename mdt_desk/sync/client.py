"""The desk's side of sync: send the outbox, fetch and apply other desks' changes.

The outbox is the change journal itself: every field change this desk made (its own
replica id) after the last one the hub acknowledged. Each change carries the clock of
the value the desk held for that field when it was made — the newest clock in the
journal for the field before it — so the hub can tell an edit made in knowledge of the
latest value from a concurrent one.

Pulling reads the hub's changes after this desk's cursor in pages. Each page is applied
in one local transaction: a change is written only if its clock ``(hlc, site)`` is
newer than the field's clock here (last writer wins, the same rule as the hub's, so
the order of arrival does not matter), under a copy of its origin's journal header, and
the cursor moves in the same transaction. A crash anywhere repeats at most one page, and
re-applying a page changes nothing.
"""

import collections
import datetime as dt
import functools
import json
import logging
import operator
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from mdt_desk.models import SYNCED_MODELS
from mdt_desk.models.imports import UNSENT_FROM_SQL, discard_abandoned_imports
from mdt_desk.models.journal import triggers_lifted
from mdt_desk.models.replication import RemoteTransaction, enter_remote, replication_session
from mdt_desk.models.seal import (
    CHANGE_REWRITTEN,
    OUTSIDE_SEAL,
    SEAL_COLUMNS,
    SEALED_SINCE_SCHEMA,
    Seal,
    content_problem,
    header_problem,
    last_seal,
    link_problem,
    note_unsealed,
    outside_seal,
    record_name,
    store_seal,
)
from mdt_desk.models.store import Store, schema_version_number
from mdt_desk.services.progress import TAKING_IN
from mdt_desk.sync import desk_scope
from mdt_desk.sync.continuity import catch_up, check_hub, remember_mark
from mdt_desk.sync.hub import (
    HUB_SCHEMA_VERSION,
    LOG_COLUMNS,
    PROTOCOL_VERSION,
    HubError,
    HubInfo,
    HubUnreachableError,
    _unreachable,
    hub_anchor_span,
    hub_change,
    hub_keeps_seals,
    hub_now_ms,
    hub_replica,
    hub_seal,
    init_hub,
    log_end,
    read_hub_info,
    redacted,
    sealed_after,
    upgrade_for_status,
)
from mdt_desk.sync.hub_roles import login_practices, note_pull, record_pull
from mdt_desk.sync.protocol import (
    BATCH_SIZE,
    MAX_SKEW_MS,
    META_PULL_CURSOR,
    META_PUSHED_THROUGH,
    PULL_PAGE_SIZE,
    UPGRADE_LABEL_PREFIX,
    VERDICT_BEFORE_SEALS,
    VERDICT_OWN,
    Change,
    PulledChange,
    PulledPage,
    payload_hash_of,
)
from mdt_desk.sync.push import push_changes
from mdt_desk.sync.scope import EVERYONE, practice_anchor

log = logging.getLogger(__name__)

__all__ = ["META_PULL_CURSOR", "META_PUSHED_THROUGH"]  # kept importable from here

META_HUB_ID = "sync_hub_id"
META_HUB_ADDRESS = "sync_hub_address"
META_LAST_SYNC = "sync_last_at"
#: ``SEQ|SCHEMA``: the first change this desk set aside as unknown (a newer desk's table
#: or column) and the schema it ran then. After this desk's upgrade it pulls again from
#: there, so it gets the values it could not store (everyone's PINs, roles, leavers and
#: access log when it upgrades to schema 6 last); see :func:`_catch_up_after_upgrade`.
META_SKIPPED_FROM = "sync_skipped_from"
#: A large transaction the last applied page ended inside of (``PulledPage.cut_tx``).
META_CUT_TX = "sync_cut_tx"
#: The pull cursor before such a catch-up: changes up to it were applied once already.
META_CATCH_UP_THROUGH = "sync_catch_up_through"

#: Columns of every synced table, by table name: only these are ever written by sync.
_COLUMNS: dict[str, frozenset[str]] = {
    model.__tablename__: frozenset(column.name for column in model.__table__.columns)
    for model in SYNCED_MODELS
}

Progress = Callable[[str, int, int], None]

#: Each log column's place in a row read with LOG_COLUMNS.
_LOG_PLACE = {column.name: place for place, column in enumerate(LOG_COLUMNS)}


#: A hub log row as a named tuple: a first sync reads each row's fields several times,
#: and a named tuple's are read in a tenth of a database row's time.
_LogRow = collections.namedtuple("_LogRow", list(_LOG_PLACE))  # type: ignore[misc]


def _log_rows(result: Iterable[Any]) -> list[Any]:
    """The log rows of a query of :data:`LOG_COLUMNS`, as :data:`_LogRow` tuples."""
    make = _LogRow._make
    return [make(row) for row in result]


def _log_parts(*names: str) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of the named columns of a log row, by place: one C call a row, as every
    change of a page is taken apart."""
    return operator.itemgetter(*(_LOG_PLACE[name] for name in names))


@dataclass
class SyncReport:
    """What one sync did, in the words a person reads it in.

    A *change* is one field of one record; an *edit* is what a person saved at once
    (one journal transaction: adding a person is one edit of a dozen changes).
    """

    #: this desk's changes the hub accepted (a re-delivery the hub had is not counted)
    pushed: int = 0
    #: other desks' changes received (this desk's own are never downloaded again)
    pulled: int = 0
    #: received changes that took effect here (the rest were older than what is here)
    applied: int = 0
    #: records to review (open), after this sync
    conflicts: int = 0
    #: this desk's edits the hub accepted, and other desks' edits received
    edits_sent: int = 0
    edits_received: int = 0
    skipped_unknown: int = 0
    #: changes the hub holds damaged (not JSON, bad ids, incomplete records): set aside
    skipped_damaged: int = 0
    #: changes whose transaction fails its origin's hash chain: set aside, alarm raised
    skipped_tampered: int = 0
    #: the chain alarms this sync raised (``chain_alarm``), in words
    alarms: list[str] = field(default_factory=list)
    hub_last_seq: int = 0
    messages: list[str] = field(default_factory=list)
    #: records removed because they left this desk's practices
    removed: int = 0
    #: edits seen so far, so one split over two pages or pushes counts once
    _sent_tx: set[str] = field(default_factory=set, repr=False)
    _received_tx: set[str] = field(default_factory=set, repr=False)

    @property
    def set_aside(self) -> int:
        """Received changes not applied because they are unknown, damaged or tampered."""
        return self.skipped_unknown + self.skipped_damaged + self.skipped_tampered

    def count_sent(self, tx_ids: Iterable[str]) -> None:
        self._sent_tx.update(tx_ids)
        self.edits_sent = len(self._sent_tx)

    def count_received(self, tx_id: str) -> None:
        self._received_tx.add(tx_id)
        self.edits_received = len(self._received_tx)

    def as_dict(self) -> dict[str, int]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "conflicts": self.conflicts,
            "edits_sent": self.edits_sent,
            "edits_received": self.edits_received,
            "applied": self.applied,
            "set_aside": self.set_aside,
        }

    def describe(self) -> str:
        """One line for a person: edits first, the changes they carried after."""
        line = (
            f"Sent {_count(self.edits_sent, 'edit')} ({_count(self.pushed, 'change')}), "
            f"received {_count(self.edits_received, 'edit')} "
            f"({_count(self.pulled, 'change')}); {self.conflicts} to review."
        )
        if self.set_aside:
            line += f" {_count(self.set_aside, 'change')} set aside (see the log)."
        return line


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class ClockSkewError(HubError):
    """The desk's clock is too far from the hub's to push safely."""


class WrongHubError(HubError):
    """The desk belongs to another hub."""


class HubReplacedError(WrongHubError):
    """The hub at the desk's own address is a new one: the team's hub was set up again."""


#: This desk's changes the hub has not acknowledged, up to (not including) the first
#: journal row of a patient import that is not published yet: the import's rows must
#: not reach the hub before it is complete, and pushes are ordered and gapless, so
#: nothing after them is sent either until then (models/imports.py).
_UNSENT = f"t.replica_id = :me AND c.origin_seq > :after AND c.origin_seq < {UNSENT_FROM_SQL}"


def _meta_int(store: Store, key: str) -> int:
    value = store.get_meta(key)
    return int(value) if value else 0


def outbox_count(store: Store) -> int:
    """How many of this desk's changes the hub has not acknowledged."""
    with store.read() as session:
        return int(
            session.execute(
                text(
                    "SELECT count(*) FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                    f" WHERE {_UNSENT}"
                ),
                {"me": store.replica_id.hex, "after": _meta_int(store, META_PUSHED_THROUGH)},
            ).scalar_one()
        )


def edits_waiting(store: Store) -> int:
    """How many edits people made on this desk the hub has not acknowledged.

    One saved edit (a note added, an action changed) is one journal transaction,
    however many fields it wrote: this is the "changes waiting" a person sees, where
    :func:`outbox_count` counts the field changes sync sends.
    """
    with store.read() as session:
        return int(
            session.execute(
                text(
                    "SELECT count(DISTINCT c.tx) FROM journal_change c"
                    " JOIN journal_tx t ON t.tx = c.tx"
                    " WHERE t.replica_id = :me AND c.origin_seq > :after"
                    # An import's hidden patients are nobody's edit yet; a colleague's
                    # edit held back behind them (_UNSENT) is waiting, and counted.
                    " AND c.row_id NOT IN (SELECT patient_id FROM patient_import_row)"
                ),
                {"me": store.replica_id.hex, "after": _meta_int(store, META_PUSHED_THROUGH)},
            ).scalar_one()
        )


_OUTBOX_SQL = f"""
SELECT c.origin_seq, t.tx_uuid, t.hlc, t.actor_id, t.actor_label, t.recorded_at,
       t.schema_version, c.entity, c.row_id, c.field, c.op, c.new_value,
       (SELECT t2.hlc || ':' || t2.replica_id FROM journal_change AS c2
          JOIN journal_tx AS t2 ON t2.tx = c2.tx
         WHERE c2.row_id = c.row_id AND c2.entity = c.entity AND c2.field = c.field
           AND c2.origin_seq < c.origin_seq
           AND NOT (t2.actor_id IS NULL AND t2.actor_label LIKE '{UPGRADE_LABEL_PREFIX}%')
         ORDER BY t2.hlc DESC, t2.replica_id DESC LIMIT 1) AS base,
       (SELECT max(t3.hlc) FROM journal_change AS c3 JOIN journal_tx AS t3 ON t3.tx = c3.tx
         WHERE c3.row_id = c.row_id AND c3.entity = c.entity AND c3.origin_seq < c.origin_seq
           AND c3.tx != c.tx) AS row_base
FROM journal_change AS c JOIN journal_tx AS t ON t.tx = c.tx
WHERE {_UNSENT}
ORDER BY c.origin_seq
LIMIT :limit
"""


def _hex(value: Any) -> str:
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "")


def read_outbox(store: Store, after: int, limit: int = BATCH_SIZE) -> list[Change]:
    """This desk's changes after ``after``, in order, about ``limit`` of them."""
    me = store.replica_id.hex
    with store.read() as session:
        rows = list(
            session.execute(text(_OUTBOX_SQL), {"me": me, "after": after, "limit": limit}).all()
        )
        if len(rows) == limit:
            # Finish the last record: its fields travel together (a new row is inserted
            # whole at the other end). A large transaction (an import) is sent in
            # batches, so no hub transaction holds the hub's lock for long.
            last = rows[-1]
            more = session.execute(
                text(
                    _OUTBOX_SQL.replace(f"WHERE {_UNSENT}", f"WHERE {_UNSENT} AND t.tx_uuid = :tx")
                ),
                {"me": me, "after": last.origin_seq, "tx": last.tx_uuid, "limit": limit},
            ).all()
            for row in more:
                if (row.entity, row.row_id) != (last.entity, last.row_id):
                    break
                rows.append(row)
    changes = []
    for row in rows:
        base_hlc, base_site = 0, ""
        if row.base:
            hlc_text, _, site_text = str(row.base).partition(":")
            base_hlc, base_site = int(hlc_text), _hex(site_text)
        changes.append(
            Change(
                origin_site=me,
                origin_seq=int(row.origin_seq),
                tx_id=_hex(row.tx_uuid),
                hlc=int(row.hlc),
                base_hlc=base_hlc,
                base_site=base_site,
                row_base_hlc=int(row.row_base or 0),
                entity=str(row.entity),
                row_id=str(row.row_id),
                field=str(row.field),
                op=str(row.op),
                value=row.new_value,
                schema_version=int(row.schema_version),
                actor_id=_hex(row.actor_id) if row.actor_id else None,
                actor_label=str(row.actor_label),
                recorded_at=str(row.recorded_at),
            )
        )
    return changes


def outbox_seals(store: Store, batch: Sequence[Change]) -> list[Seal]:
    """The seals of the transactions ``batch`` ends (one a transaction; a transaction
    cut by the end of the batch sends its seal with the batch that ends it)."""
    if not batch:
        return []
    with store.read() as session:
        rows = session.execute(
            text(
                f"SELECT {', '.join(SEAL_COLUMNS)} FROM journal_seal WHERE origin = :me"
                " AND last_seq BETWEEN :low AND :high ORDER BY chain_seq"
            ),
            {"me": store.replica_id.hex, "low": batch[0].origin_seq, "high": batch[-1].origin_seq},
        ).all()
    return [Seal.from_row(row) for row in rows]


def _previous_own_seq(store: Store, seq: int) -> int:
    """The origin_seq of this desk's own change before ``seq`` (0 if none)."""
    with store.read() as session:
        value = session.execute(
            text(
                "SELECT max(c.origin_seq) FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                " WHERE t.replica_id = :me AND c.origin_seq < :seq"
            ),
            {"me": store.replica_id.hex, "seq": seq},
        ).scalar_one()
    return int(value or 0)


def bind_to_hub(store: Store, info: HubInfo, address: str) -> None:
    """Refuse a hub other than the desk's own; remember the first one."""
    bound = store.get_meta(META_HUB_ID)
    if bound and bound != info.hub_id.hex and store.get_meta(META_HUB_ADDRESS) == address:
        raise HubReplacedError(
            f"The team hub at {address} is not the hub this desk synced with: it has been "
            "set up again, as a new hub (the team's hub database was lost or replaced). "
            "Nothing was sent, and this desk keeps all its records and changes. If the "
            "team's hub was lost, an administrator rebuilds it from a desk that holds the "
            f"whole team's records with `mdt-desk hub reseed {address}`; then sync again."
        )
    if bound and bound != info.hub_id.hex:
        raise WrongHubError(
            f"This desk belongs to another team hub (it last synced with "
            f"{store.get_meta(META_HUB_ADDRESS) or 'another hub'}); nothing was sent to "
            f"{address}. To move a desk to a new hub, set up a new desk from that hub."
        )
    if not bound:
        with store.write_session() as session:
            store.set_meta(session, META_HUB_ID, info.hub_id.hex)
            store.set_meta(session, META_HUB_ADDRESS, address)


def push_all(
    store: Store,
    engine: Engine,
    *,
    label: str,
    now_ms: int,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    report: SyncReport | None = None,
) -> tuple[int, int]:
    """Push the outbox in batches until it is empty; (changes sent, conflicts found).

    ``report``, if given, counts the edits the hub accepted."""
    pushed = conflicts = 0
    total = outbox_count(store)
    while True:
        if should_stop is not None and should_stop():
            break
        after = _meta_int(store, META_PUSHED_THROUGH)
        batch = read_outbox(store, after)
        if not batch:
            break
        result = push_changes(
            engine,
            site=store.replica_id.hex,
            label=label,
            schema_version=schema_version_number(),
            prev_seq=_previous_own_seq(store, batch[0].origin_seq),
            changes=batch,
            now_ms=now_ms,
            seals=outbox_seals(store, batch),
        )
        _failpoint("after_hub_commit_before_local_ack")
        with store.write_session() as session:
            store.set_meta(session, META_PUSHED_THROUGH, str(batch[-1].origin_seq))
        pushed += result.accepted
        conflicts += result.conflicts
        if report is not None and result.accepted:
            report.count_sent(change.tx_id for change in batch)
        if progress is not None:
            progress("push", pushed, total)
    return pushed, conflicts


#: The first window of the log a fetch reads, in pages: it doubles while it comes back
#: short, so a desk catching up past a long run of its own changes (or, scoped, of other
#: practices') reads it in a few queries.
_FETCH_WINDOW = 4


def _fetch(
    engine: Engine,
    cursor: int,
    limit: int,
    *,
    me: str = "",
    scope: frozenset[str] | None = None,
    upto: int | None = None,
) -> PulledPage:
    """The next page of other desks' changes after ``cursor``: about ``limit`` of them.

    This desk's own changes (``me``) are never downloaded again: after a first push of
    a large store they would be half of the next pull. The page says how far it
    reaches (``through``), own changes included, so the cursor moves past them.

    A transaction that ends within another ``limit`` changes is taken whole, so an
    ordinary edit is applied here all at once, as it was made. A larger one (an import
    on another desk) is cut between records — never inside one, as a new record is
    inserted with all its fields — so no local write transaction grows long enough to
    keep the screens waiting.

    A scoped desk (``scope``: its practice ids) receives only its records
    (``sync/scope.py``), up to ``upto``: the end of the log when it read the seals.
    """
    with engine.connect() as connection:
        # Read first: every change up to it is committed (pushes take server_seq under
        # the counter's lock, in commit order), so the page can account for all of them.
        # A row past the counter was put there by hand: it is read, and fails its chain.
        last_seq = upto if upto is not None else log_end(connection)
        visible = [] if scope is None else [_visible_to(scope)]
        cut_tx = ""

        def others_after(seq: int, count: int) -> list[Any]:
            # Read through windows of the log that grow as they come back short (this
            # desk's own changes, another practice's): a query over a bounded range
            # costs little whatever the planner believes. A hub just filled has no
            # statistics for its new rows, so "after seq, up to the end, first n" was
            # planned as fetching and sorting the whole rest of the log for every page:
            # 40 ms a query, 50 s to pull 113,000 changes (bench/bench_sync.py).
            found: list[Any] = []
            start, window = seq, max(count, 1) * _FETCH_WINDOW
            while len(found) < count and start < last_seq:
                end = min(last_seq, start + window)
                found += _log_rows(
                    connection.execute(
                        select(*LOG_COLUMNS)
                        .where(
                            hub_change.c.server_seq > start,
                            hub_change.c.server_seq <= end,
                            hub_change.c.origin_site != me,
                            *visible,
                        )
                        .order_by(hub_change.c.server_seq)
                        .limit(count - len(found))
                    )
                )
                start, window = end, window * 2
            return found

        rows = _whole_records(others_after(cursor, limit), limit, others_after)
        taken = len(rows)
        rows, checked = _checked_against_seals(connection, rows, me=me, scoped=scope is not None)
        if len(rows) < taken:  # stopped before a transaction still being sent
            following = others_after(int(rows[-1].server_seq) if rows else cursor, 1)
            through = int(following[0].server_seq) - 1 if following else last_seq
        elif not rows:
            through = last_seq
        else:
            following = others_after(rows[-1].server_seq, 1)
            through = int(following[0].server_seq) - 1 if following else last_seq
            if following and following[0].tx_id == rows[-1].tx_id:
                cut_tx = str(rows[-1].tx_id)
        through_tx = connection.execute(
            select(hub_change.c.tx_id).where(hub_change.c.server_seq == through)
        ).scalar_one_or_none()
    return PulledPage(
        changes=_pulled(rows, checked),
        through=through,
        through_tx=str(through_tx or ""),
        cut_tx=cut_tx,
    )


def _whole_records(
    rows: list[Any], limit: int, after: Callable[[int, int], list[Any]]
) -> list[Any]:
    """A page of ``rows`` (read by ``after(seq, count)``) ending where a transaction
    ends, if it ends within another ``limit`` changes, or else between two records."""
    while rows and len(rows) >= limit:
        last = rows[-1]
        ahead = after(last.server_seq, limit)
        same_tx = _takewhile_tx(ahead, last.tx_id)
        if len(same_tx) < len(ahead):  # the transaction ends within the look-ahead
            rows.extend(same_tx)
            break
        same_row = ahead[: _run_length(ahead, last)]
        rows.extend(same_row)
        if len(same_row) < len(ahead) or not ahead:
            break  # cut between two records of a large transaction
    return rows


def _pulled(
    rows: Sequence[Any], checked: dict[str, tuple[Seal | None, str, str]]
) -> list[PulledChange]:
    """Log rows as pulled changes, each with its transaction's seal and verdict."""
    pulled = []
    for row in rows:
        seal, verdict, record = checked[row.tx_id]
        pulled.append(PulledChange(int(row.server_seq), _as_change(row), seal, verdict, record))
    return pulled


def _visible_to(practices: frozenset[str]) -> Any:
    """The changes a desk covering ``practices`` receives (``sync/scope.py``): everyone's,
    its practices' own, and those of people and meetings that belong to its practices
    now (their whole history) or did when the change was made (a move away, seen)."""
    span = hub_anchor_span
    chosen = sorted(practices)
    return or_(
        hub_change.c.scope_anchor == EVERYONE,
        hub_change.c.scope_anchor.in_([practice_anchor(p) for p in chosen]),
        select(span.c.anchor)
        .where(
            span.c.anchor == hub_change.c.scope_anchor,
            span.c.practice_id.in_(chosen),
            or_(
                span.c.to_seq.is_(None),
                hub_change.c.server_seq.between(span.c.from_seq, span.c.to_seq),
            ),
        )
        .exists(),
    )


def _fetch_anchors(
    engine: Engine, anchors: Sequence[str], after: int, upto: int, limit: int, *, me: str
) -> PulledPage:
    """A page of the records of ``anchors`` (a scoped desk's first sync, or records that
    came into its scope): their changes after ``after`` up to ``upto``, by the anchor
    index rather than a walk of the whole log. ``through`` is the last position read."""
    with engine.connect() as connection:

        def after_seq(seq: int, count: int) -> list[Any]:
            return _log_rows(
                connection.execute(
                    select(*LOG_COLUMNS)
                    .where(
                        hub_change.c.scope_anchor.in_(list(anchors)),
                        hub_change.c.server_seq > seq,
                        hub_change.c.server_seq <= upto,
                    )
                    .order_by(hub_change.c.server_seq)
                    .limit(count)
                )
            )

        # This desk's own changes too: a person who comes back to its practices comes
        # back with what it typed for them (its journal kept it; apply_page restores it).
        rows = _whole_records(after_seq(after, limit), limit, after_seq)
        rows, checked = _checked_against_seals(connection, rows, me=me, scoped=True)
        through = int(rows[-1].server_seq) if len(rows) >= limit else upto
        following = after_seq(through, 1) if through < upto else []
        cut_tx = str(rows[-1].tx_id) if following and following[0].tx_id == rows[-1].tx_id else ""
    return PulledPage(
        changes=_pulled(rows, checked),
        through=through,
        cut_tx=cut_tx,
    )


#: Verdicts on transactions too large for one page, so each is read whole only once
#: per run: (tx id, seal) -> (verdict, record). Small: such transactions are rare.
_VERDICTS: dict[tuple[str, str], tuple[str, str]] = {}
_VERDICTS_KEPT = 64


_CONTENT_COLUMNS = (
    hub_change.c.origin_seq,
    hub_change.c.entity,
    hub_change.c.row_id,
    hub_change.c.field,
    hub_change.c.op,
    hub_change.c.value,
)


def _altered_in(connection: Any, seal: Seal) -> str:
    """The altered change of a large transaction (read again whole: only on a break)."""
    return _altered_record(
        _log_rows(
            connection.execute(
                select(*LOG_COLUMNS).where(
                    hub_change.c.origin_site == seal.origin,
                    hub_change.c.origin_seq.between(seal.first_seq, seal.last_seq),
                )
            )
        )
    )


def _altered_record(rows: Sequence[Any]) -> str:
    """The change whose own payload hash no longer matches it, if the hub kept one."""
    for row in rows:
        if row.payload_hash and row.payload_hash != payload_hash_of(_PAYLOAD_OF(row)):
            return record_name(row.entity, row.row_id, row.field)
    return ""


#: A log row's fields in the order of :class:`Change`'s, and its payload hash's parts
#: (``protocol.payload_hash_of``).
_CHANGE_OF = _log_parts(*Change._fields)
_PAYLOAD_OF = _log_parts(
    "origin_site", "origin_seq", "tx_id", "hlc", "entity", "row_id", "field", "op", "value"
)


def _as_change(row: Any) -> Change:
    return Change._make(_CHANGE_OF(row))


def _checked_against_seals(
    connection: Any, rows: list[Any], *, me: str = "", scoped: bool = False
) -> tuple[list[Any], dict[str, tuple[Seal | None, str, str]]]:
    """Each transaction of the page with its seal and the verdict on its content.

    A transaction of this version without a seal yet, that is the last its desk has
    sent, is still being sent (a large one goes in several pushes): the page stops
    before it, and the next sync takes it whole. One query for the page's seals; a
    transaction not whole in the page is read whole from the hub (once per run). This
    desk's own changes coming back (``me``) are not applied, so not checked either.
    """
    checked: dict[str, tuple[Seal | None, str, str]] = {
        row.tx_id: (None, VERDICT_OWN, "") for row in rows if row.origin_site == me
    }
    tx_ids = sorted({row.tx_id for row in rows if row.tx_id not in checked})
    seals: dict[str, Seal] = {}
    for start in range(0, len(tx_ids), 400):
        for found in connection.execute(
            select(hub_seal).where(hub_seal.c.tx_id.in_(tx_ids[start : start + 400]))
        ):
            values = dict(found._mapping)
            values["origin"] = values.pop("origin_site")
            seal = Seal.from_row(values)
            seals[seal.tx_id] = seal
    boundary: int | None = None  # read only for an unsealed transaction (rare)
    by_tx: dict[str, list[Any]] = {}
    for row in rows:
        if row.tx_id not in checked:
            by_tx.setdefault(row.tx_id, []).append(row)
    for tx_id, tx_rows in by_tx.items():
        found = seals.get(tx_id)
        if found is None:
            if boundary is None:
                boundary = sealed_after(connection)
            if all(int(row.server_seq) <= boundary for row in tx_rows):
                checked[tx_id] = (None, VERDICT_BEFORE_SEALS, "")
                continue
            last = tx_rows[-1]
            if int(last.schema_version) >= SEALED_SINCE_SCHEMA and _still_being_sent(
                connection, last
            ):
                cut = next(n for n, row in enumerate(rows) if row.tx_id == tx_id)
                return (
                    _checked_against_seals(connection, rows[:cut], me=me, scoped=scoped)
                    if cut
                    else ([], {})
                )
            checked[tx_id] = (None, "", _altered_record(tx_rows))
            continue
        seal = found
        stray = outside_seal(seal, tx_rows)
        if stray is not None:
            checked[tx_id] = (
                seal,
                OUTSIDE_SEAL,
                record_name(stray.entity, stray.row_id, stray.field),
            )
            continue
        altered = _altered_header(seal, tx_rows)
        if altered:
            checked[tx_id] = (seal, *altered)
            continue
        if len(tx_rows) == seal.change_count:
            problem = content_problem(seal, [_CONTENT_OF(row) for row in tx_rows])
            checked[tx_id] = (seal, problem, _altered_record(tx_rows) if problem else "")
            continue
        checked[tx_id] = (seal, *_whole_verdict(connection, seal, tx_rows, scoped=scoped))
    return rows, checked


def _whole_verdict(
    connection: Any, seal: Seal, tx_rows: Sequence[Any], *, scoped: bool = False
) -> tuple[str, str]:
    """The verdict on a transaction larger than a page: read whole from the hub once a
    run, whichever page meets it first.

    A scoped desk does not read it whole. It may see only part of it where the hub lets
    it read no more (row-level security: an agenda of several practices' people), and
    a batch of a whole locality (a demo, an import) read whole would be the whole hub
    read for one practice. It checks each change it holds against the hash its desk
    sent with it; the seal still holds the transaction's place in the chain, and
    ``hub verify`` checks the content whole (docs/architecture.md, "Scoped desks")."""
    if scoped:
        altered = _altered_record(tx_rows)
        return (CHANGE_REWRITTEN if altered else "", altered)
    key = (seal.tx_id, seal.seal_hash)
    if key not in _VERDICTS:
        whole = [
            tuple(row)
            for row in connection.execute(
                select(*_CONTENT_COLUMNS)
                .where(
                    hub_change.c.origin_site == seal.origin,
                    hub_change.c.origin_seq.between(seal.first_seq, seal.last_seq),
                )
                .order_by(hub_change.c.origin_seq)
            )
        ]
        problem = content_problem(seal, whole)
        if len(_VERDICTS) >= _VERDICTS_KEPT:
            _VERDICTS.clear()
        _VERDICTS[key] = (problem, _altered_in(connection, seal) if problem else "")
    return _VERDICTS[key]


#: A log row's copy of its transaction header, and its content, by column position
#: (one C call a row: a page's every change is checked).
_HEADER_OF = _log_parts(
    "origin_site", "actor_id", "actor_label", "recorded_at", "hlc", "schema_version"
)
_CONTENT_OF = _log_parts("origin_seq", "entity", "row_id", "field", "op", "value")


def _altered_header(seal: Seal, rows: Sequence[Any]) -> tuple[str, str] | None:
    """(why, which record) when a change's copy of its transaction header (author,
    time, clock, desk) is not the one sealed: the desk would journal it as such."""
    for origin, actor_id, actor_label, recorded_at, hlc, schema in {
        _HEADER_OF(row) for row in rows
    }:
        problem = header_problem(
            seal,
            origin=origin,
            actor_id=actor_id,
            actor_label=actor_label,
            recorded_at=recorded_at,
            hlc=hlc,
            schema_version=schema,
        )
        if problem:
            named = next(
                row
                for row in rows
                if _HEADER_OF(row) == (origin, actor_id, actor_label, recorded_at, hlc, schema)
            )
            return problem, record_name(named.entity, named.row_id, named.field)
    return None


def _still_being_sent(connection: Any, last: Any) -> bool:
    """Whether ``last``'s transaction is the newest its desk has sent: then the push
    that ends it (and brings its seal) is still to come."""
    later = connection.execute(
        select(hub_change.c.server_seq)
        .where(
            hub_change.c.origin_site == last.origin_site,
            hub_change.c.origin_seq > last.origin_seq,
            hub_change.c.tx_id != last.tx_id,
        )
        .limit(1)
    ).first()
    if later is not None:
        return False
    # A scoped desk may not see the desk's later changes; their seals it sees.
    sealed_later = connection.execute(
        select(hub_seal.c.chain_seq)
        .where(hub_seal.c.origin_site == last.origin_site, hub_seal.c.first_seq > last.origin_seq)
        .limit(1)
    ).first()
    return sealed_later is None


def _local_clocks(
    session: Session, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[int, str]]:
    """The clock ``(hlc, site)`` of each field here: its newest change in the journal.

    A schema upgrade's values do not count (``protocol.UPGRADE_LABEL_PREFIX``): any
    other change replaces them, whatever its clock. A field they alone set has no clock.
    """
    clocks: dict[tuple[str, str, str], tuple[int, str]] = {}
    row_ids = sorted({row_id for _entity, row_id, _field in keys})
    if row_ids:
        for entity, row_id, name, hlc, site in session.execute(
            text(
                "SELECT c.entity, c.row_id, c.field, t.hlc, t.replica_id FROM journal_change c"
                " JOIN journal_tx t ON t.tx = c.tx"
                " WHERE c.row_id IN (SELECT value FROM json_each(:ids))"
                " AND NOT (t.actor_id IS NULL AND substr(t.actor_label, 1, :n) = :upgrade)"
            ),
            {
                "ids": json.dumps(row_ids),
                "n": len(UPGRADE_LABEL_PREFIX),
                "upgrade": UPGRADE_LABEL_PREFIX,
            },
        ):
            key = (entity, row_id, name)
            if key in keys:
                clock = (int(hlc), _hex(site))
                if clock > clocks.get(key, (-1, "")):
                    clocks[key] = clock
    return clocks


def _header(change: Change) -> RemoteTransaction:
    recorded = change.recorded_at
    try:
        at = dt.datetime.fromisoformat(recorded).replace(tzinfo=dt.UTC)
    except ValueError:
        at = dt.datetime.now(dt.UTC)
    return RemoteTransaction(
        tx_uuid=uuid.UUID(change.tx_id),
        replica_id=uuid.UUID(change.origin_site),
        actor_id=uuid.UUID(change.actor_id) if change.actor_id else None,
        actor_label=change.actor_label,
        hlc=change.hlc,
        recorded_at=at,
        schema_version=change.schema_version,
    )


def _takewhile_tx(rows: Sequence[Any], tx_id: str) -> list[Any]:
    taken = []
    for row in rows:
        if row.tx_id != tx_id:
            break
        taken.append(row)
    return taken


def _run_length(rows: Sequence[Any], last: Any) -> int:
    """How many of ``rows`` continue ``last``'s record (same transaction and row)."""
    count = 0
    for row in rows:
        if (row.tx_id, row.entity, row.row_id) != (last.tx_id, last.entity, last.row_id):
            break
        count += 1
    return count


def _groups(page: Sequence[PulledChange]) -> Iterator[list[Change]]:
    """The page's changes by origin transaction, in the order each first appears.

    Transactions are gathered whole even if the log interleaves them (a hub written
    by an earlier version put review items inside a push): a new record's fields
    must be stored together.
    """
    groups: dict[str, list[Change]] = {}
    for pulled in page:
        groups.setdefault(pulled.change.tx_id, []).append(pulled.change)
    yield from groups.values()


def _materialise(
    session: Session,
    changes: Sequence[Change],
    by_row: dict[tuple[str, str], dict[str, Any]],
) -> int:
    """Write winning changes of one transaction into the records (``by_row``: their
    values as each record's new fields, a later change of a field winning); returns how
    many.

    Every winner leaves a journal row under the remote header, because the field's
    clock here is the newest clock in the journal for it. The triggers journal only a
    value that changed (or a non-null value of a new row); a winner that stored the
    value already held (two desks typed the same words) is journalled here instead,
    so the next edit on this desk carries the winner's clock as its base rather than
    an older one, which the hub would take for a concurrent edit.
    """
    before = int(
        session.execute(
            text("SELECT coalesce(max(origin_seq), 0) FROM journal_change")
        ).scalar_one()
    )
    refused: set[tuple[str, str]] = set()
    inserted = _written_together(session, by_row)
    if inserted is None:
        refused = _written_one_by_one(session, by_row)
    if inserted is not None and len(inserted) == len(by_row):
        # Every record new, each written with its triggers: they journalled every field
        # given a value (not SQL NULL). Taking in a practice is this, page after page.
        journalled = {
            (entity, row_id, name)
            for (entity, row_id), values in by_row.items()
            for name, value in values.items()
            if value is not None
        }
    else:
        journalled = {
            (str(entity), str(row_id), str(name))
            for entity, row_id, name in session.execute(
                text("SELECT entity, row_id, field FROM journal_change WHERE origin_seq > :before"),
                {"before": before},
            )
        }
    latest = {change.key: change for change in changes}
    unjournalled = [
        {
            "e": change.entity,
            "r": change.row_id,
            "f": change.field,
            "o": change.op,
            "v": change.value or "null",
        }
        for key, change in latest.items()
        if key not in journalled and (change.entity, change.row_id) not in refused
    ]
    if unjournalled:
        session.execute(
            text(
                "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)"
                " SELECT tx, :e, :r, :f, :o, :v, :v FROM journal_context WHERE id = 1"
            ),
            unjournalled,
        )
    return len(changes) - sum(1 for c in changes if (c.entity, c.row_id) in refused)


#: Each synced table's place in dependency order (parents first): a transaction's new
#: records are inserted table by table in this order, so each finds its parents.
_TABLE_ORDER = {model.__tablename__: place for place, model in enumerate(SYNCED_MODELS)}


def _written_together(
    session: Session, by_row: dict[tuple[str, str], dict[str, Any]]
) -> set[tuple[str, str]] | None:
    """Write a transaction's records with one statement per table and set of fields
    (taking in a practice's records is mostly new rows of a few shapes), inside one
    savepoint. The records inserted; None, with nothing written, when a record fails its
    constraints or comes back after leaving this desk's scope: then each is written on
    its own."""
    existing = _rows_held(session, by_row)
    if _any_returning(session, [key for key in by_row if key not in existing]):
        return None
    shapes: dict[tuple[str, tuple[str, ...], bool], list[tuple[str, dict[str, Any]]]] = {}
    for (entity, row_id), values in by_row.items():
        insert = (entity, row_id) not in existing
        shapes.setdefault((entity, _field_names(values), insert), []).append((row_id, values))
    # New records before changes to held ones (which may point at a new record), and
    # new records parents first; within a table, in the hub's order.
    order = sorted(shapes, key=lambda shape: (not shape[2], _TABLE_ORDER[shape[0]]))
    try:
        with session.begin_nested():
            for entity, names, insert in order:
                rows = shapes[(entity, names, insert)]
                if insert and entity not in _TABLES_WITH_REALS:
                    session.execute(
                        _rows_insert_statement(entity, names),
                        {
                            "rows": json.dumps(
                                [[row_id, *map(values.get, names)] for row_id, values in rows]
                            )
                        },
                    )
                else:
                    session.execute(
                        _row_statement(entity, names, insert=insert),
                        [
                            _row_parameters(row_id, values, names, insert=insert)
                            for row_id, values in rows
                        ],
                    )
    except IntegrityError:
        return None
    return by_row.keys() - existing


#: Tables with a floating-point column, whose new rows are inserted from bound values
#: rather than from JSON (a REAL read back from JSON text could round differently).
_TABLES_WITH_REALS = frozenset(
    model.__tablename__
    for model in SYNCED_MODELS
    if any(column.type.python_type is float for column in model.__table__.columns)
)


@functools.lru_cache(maxsize=256)
def _rows_insert_statement(entity: str, names: tuple[str, ...]) -> Any:
    """One INSERT of many new ``entity`` records of the fields ``names``, from a JSON
    array of ``[id, *values]`` rows (``:rows``).

    One statement rather than one a record: each statement that fires the journal
    triggers keeps a statement journal, and on a large first sync SQLite's cost of
    opening and closing one grows with the pages the transaction has changed (a
    practice's 45,000 records took 71 µs each one by one against 10 µs each this way).
    """
    columns = ", ".join(f'"{name}"' for name in ["id", *names])
    picked = ", ".join(f"value ->> {place}" for place in range(len(names) + 1))
    return text(
        f'INSERT INTO "{entity}" ({columns}) SELECT {picked} FROM json_each(:rows) ORDER BY key'
    )


def _written_one_by_one(
    session: Session, by_row: dict[tuple[str, str], dict[str, Any]]
) -> set[tuple[str, str]]:
    """Write each record on its own; the records set aside (returned) are those the
    hub holds incomplete, and a record that returns to this desk's scope is made again
    from this desk's own kept values and the incoming ones."""
    refused: set[tuple[str, str]] = set()
    for (entity, row_id), values in by_row.items():
        exists = session.execute(
            text(f'SELECT 1 FROM "{entity}" WHERE id = :id'), {"id": row_id}
        ).first()
        kept = _kept_values(session, entity, row_id) if exists is None else {}
        if kept:
            # A record that left this desk's scope and comes back: this desk kept its
            # own edits of it in its journal. The record is made again from those and
            # the incoming fields together (journalled below as the incoming ones).
            _reinsert(session, entity, row_id, {**kept, **values}, refused)
            continue
        if not _write_record(session, entity, row_id, values, insert=exists is None):
            # A record the hub holds incomplete (damaged, or from a faulty desk): set it
            # aside rather than stop every later change from arriving.
            log.warning("a %s record from the hub could not be stored; set aside", entity)
            refused.add((entity, row_id))
    return refused


def _write_record(
    session: Session, entity: str, row_id: str, values: dict[str, Any], *, insert: bool
) -> bool:
    """Write one record's values in a savepoint of its own; False, with nothing written,
    when the record fails its constraints."""
    statement, parameters = _row_write(entity, row_id, values, insert=insert)
    try:
        with session.begin_nested():
            session.execute(statement, parameters)
    except IntegrityError:
        return False
    return True


def _rows_held(session: Session, rows: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``rows`` (table, id) this desk holds already: one query per table."""
    by_entity: dict[str, list[str]] = {}
    for entity, row_id in rows:
        by_entity.setdefault(entity, []).append(row_id)
    return {
        (entity, str(row_id))
        for entity, row_ids in by_entity.items()
        for (row_id,) in session.execute(
            text(f'SELECT id FROM "{entity}" WHERE id IN (SELECT value FROM json_each(:ids))'),
            {"ids": json.dumps(row_ids)},
        )
    }


def _any_returning(session: Session, rows: Sequence[tuple[str, str]]) -> bool:
    """Whether any of these new ``rows`` left this desk's scope before (their values
    must then be made again from its journal: :func:`_kept_values`)."""
    if not rows or session.execute(text("SELECT 1 FROM scope_removed_row LIMIT 1")).first() is None:
        return False
    found = session.execute(
        text(
            "SELECT 1 FROM scope_removed_row"
            " WHERE row_id IN (SELECT value FROM json_each(:ids)) LIMIT 1"
        ),
        {"ids": json.dumps(sorted({row_id for _entity, row_id in rows}))},
    ).first()
    return found is not None


def _values_by_row(changes: Sequence[Change]) -> dict[tuple[str, str], dict[str, Any]]:
    """Changes as each record's new field values (a later change of a field wins)."""
    by_row: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        by_row.setdefault((change.entity, change.row_id), {})[change.field] = (
            None if change.value is None else json.loads(change.value)
        )
    return by_row


def _row_write(
    entity: str, row_id: str, values: dict[str, Any], *, insert: bool
) -> tuple[Any, dict[str, Any]]:
    """The statement writing ``values`` to one record (a new one, or one here already)."""
    names = _field_names(values)
    return _row_statement(entity, names, insert=insert), _row_parameters(
        row_id, values, names, insert=insert
    )


def _field_names(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(name for name in values if name != "id"))


def _row_statement(entity: str, names: Sequence[str], *, insert: bool) -> Any:
    """The statement writing the fields ``names`` of one ``entity`` record."""
    if insert:
        columns = ", ".join(f'"{name}"' for name in ["id", *names])
        marks = ", ".join(f":v{n}" for n in range(len(names) + 1))
        return text(f'INSERT INTO "{entity}" ({columns}) VALUES ({marks})')
    assignments = ", ".join(f'"{name}" = :v{n}' for n, name in enumerate(names))
    return text(f'UPDATE "{entity}" SET {assignments} WHERE id = :id')


def _row_parameters(
    row_id: str, values: dict[str, Any], names: Sequence[str], *, insert: bool
) -> dict[str, Any]:
    """The parameters of :func:`_row_statement` for one record."""
    if insert:
        return {"v0": row_id, **{f"v{n + 1}": values[name] for n, name in enumerate(names)}}
    return {"id": row_id, **{f"v{n}": values[name] for n, name in enumerate(names)}}


def _kept_values(session: Session, entity: str, row_id: str) -> dict[str, Any]:
    """The newest journalled value of each field of a record this desk removed when it
    left its scope (``scope_removed_row``), by clock; empty for any other record."""
    removed = session.execute(
        text("SELECT 1 FROM scope_removed_row WHERE entity = :e AND row_id = :r"),
        {"e": entity, "r": row_id},
    ).first()
    if removed is None:
        return {}
    newest: dict[str, tuple[tuple[int, str], str | None]] = {}
    for name, value, hlc, site in session.execute(
        text(
            "SELECT c.field, c.new_value, t.hlc, t.replica_id FROM journal_change c"
            " JOIN journal_tx t ON t.tx = c.tx WHERE c.entity = :e AND c.row_id = :r"
        ),
        {"e": entity, "r": row_id},
    ):
        clock = (int(hlc), _hex(site))
        if str(name) in _COLUMNS.get(entity, frozenset()) and (
            name not in newest or clock > newest[name][0]
        ):
            newest[str(name)] = (clock, value)
    return {
        name: None if value in (None, "null") else json.loads(value)
        for name, (_clock, value) in newest.items()
    }


def _reinsert(
    session: Session,
    entity: str,
    row_id: str,
    values: dict[str, Any],
    refused: set[tuple[str, str]],
) -> None:
    statement, parameters = _row_write(entity, row_id, values, insert=True)
    try:
        with session.begin_nested(), _unjournalled(session, {entity}):
            session.execute(statement, parameters)
    except IntegrityError:
        log.warning("a %s record coming back to this desk could not be stored; set aside", entity)
        refused.add((entity, row_id))


#: What :func:`_stored_value` gives for a change this desk cannot store.
_DAMAGED = object()


def _stored_value(change: Change) -> Any:
    """The value a change stores (its JSON, read), or :data:`_DAMAGED` for a change this
    desk cannot store: a row id or transaction that is not an id, a value not JSON, or
    text no desk could have stored (a lone surrogate)."""
    if _ROW_ID.fullmatch(change.row_id) is None or not (
        _is_uuid(change.tx_id) and _is_uuid(change.origin_site)
    ):
        return _DAMAGED
    if change.value is None:
        return None
    try:
        value = json.loads(change.value)
    except (ValueError, TypeError):
        return _DAMAGED
    if isinstance(value, str) and "\\u" in change.value:
        try:
            value.encode()  # a lone surrogate escape: no desk stores such text
        except UnicodeEncodeError:
            return _DAMAGED
    return value


#: The clock of a field nothing has set yet: any change's is later.
_NO_CLOCK = (-1, "")
#: A record id as every desk writes it: a UUID's 32 lower-case hex digits.
_ROW_ID = re.compile("[0-9a-f]{32}")


@functools.lru_cache(maxsize=1024)
def _is_uuid(value: str) -> bool:
    """Whether ``value`` is a UUID (remembered: a transaction's changes share theirs)."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def apply_page(
    store: Store,
    page: PulledPage,
    report: SyncReport,
    *,
    backfill: Callable[[Session], None] | None = None,
) -> None:
    """Apply one pulled page in one local transaction, moving the cursor with it
    (to ``page.through``, past this desk's own changes in between).

    ``backfill``: the page holds records that came into a scoped desk's scope, from
    before its cursor; the cursor stays, and ``backfill`` notes the progress in the
    same transaction."""
    me = store.replica_id.hex
    with replication_session(store) as session:
        # A page delivered again (or overlapping one applied) is applied only past the
        # cursor read in this transaction: every change is applied exactly once.
        cursor = session.execute(
            text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_PULL_CURSOR}
        ).scalar_one_or_none()
        after = int(cursor) if cursor else 0
        incoming = [
            pulled
            for pulled in page.changes
            if backfill is not None
            or (
                pulled.server_seq > after
                and pulled.change.origin_site != me  # this desk's own changes, coming back
            )
        ]
        clocks = _local_clocks(session, {pulled.change.key for pulled in incoming})
        held = dict(clocks)  # before this page: what a first pass applied already
        caught_up = _meta_in(session, META_CATCH_UP_THROUGH)
        skipped_from = _meta_in(session, META_SKIPPED_FROM)
        continuing = _meta_in(session, META_CUT_TX)
        seqs = {id(pulled.change): pulled.server_seq for pulled in incoming}
        sealed = {pulled.change.tx_id: pulled for pulled in incoming}
        chains: dict[str, tuple[int, str] | None] = {}
        for group in _groups(incoming):
            if group[0].origin_site == me:  # taking in a record again: what it typed
                _restore_own(session, group, clocks)
                continue
            if not _holds(session, sealed[group[0].tx_id], group, chains, report):
                report.skipped_tampered += len(group)
                continue
            report.count_received(group[0].tx_id)
            winners: list[Change] = []
            by_row: dict[tuple[str, str], dict[str, Any]] = {}  # winners' values, by record
            for change in group:
                known = _COLUMNS.get(change.entity)
                if known is None or change.field not in known or change.field == "id":
                    report.skipped_unknown += 1  # from a newer desk: kept at the hub
                    if not skipped_from:
                        skipped_from = f"{seqs[id(change)]}|{schema_version_number()}"
                        store.set_meta(session, META_SKIPPED_FROM, skipped_from)
                    continue
                value = _stored_value(change)
                if value is _DAMAGED:
                    report.skipped_damaged += 1
                    log.warning(
                        "a damaged change at the hub was set aside (seq %s)", change.origin_seq
                    )
                    continue
                if _wins(change, clocks, held, continuing):
                    winners.append(change)
                    by_row.setdefault((change.entity, change.row_id), {})[change.field] = value
            if winners:
                enter_remote(session, _header(group[0]))
                report.applied += _materialise(session, winners, by_row)
        _failpoint("mid_page_apply")
        _moved_on(store, session, page, after=after, caught_up=caught_up, backfill=backfill)
    report.pulled += len(incoming)


def _wins(
    change: Change,
    clocks: dict[tuple[str, str, str], tuple[int, str]],
    held: dict[tuple[str, str, str], tuple[int, str]],
    continuing: str | None,
) -> bool:
    """Whether a pulled change replaces its field's value here (``clocks``: each field's
    clock so far, which it then takes; ``held``: as it was before this page)."""
    key, clock = change.key, change.clock
    if change.upgrade_default:
        # Fills only a field nothing else has set (protocol.py); the field still has no
        # clock, so any other change replaces it.
        return key not in clocks
    # A change this desk applied before, delivered again (after an upgrade, a hub that
    # went back in time, records taken in again): the field holds its transaction's
    # clock already, so it holds that transaction's last value for it; applying an
    # earlier one of its values again would undo a later one (a case referred then
    # accepted at once). Only the rest of a large transaction cut at the last page's end
    # carries on.
    if clock == held.get(key) and change.tx_id != continuing:
        return False
    # Equal clocks: a later change of the same origin transaction to the same field
    # (each change is applied once, in hub order), so it stands.
    if clock >= clocks.get(key, _NO_CLOCK):
        clocks[key] = clock
        return True
    return False


def _moved_on(
    store: Store,
    session: Session,
    page: PulledPage,
    *,
    after: int,
    caught_up: str | None,
    backfill: Callable[[Session], None] | None,
) -> None:
    """A page's bookkeeping, in its transaction: the cursor and a mark, or how far the
    taking in of a scope's records has come."""
    if page.cut_tx:
        store.set_meta(session, META_CUT_TX, page.cut_tx)
    else:
        store.delete_meta(session, META_CUT_TX)
    if backfill is not None:
        backfill(session)
        return
    store.set_meta(session, META_PULL_CURSOR, str(max(after, page.through)))
    if page.through > after:
        remember_mark(store, session, page.through, page.through_tx)
    if caught_up and page.through >= int(caught_up):
        store.delete_meta(session, META_CATCH_UP_THROUGH)


def _restore_own(
    session: Session, group: Sequence[Change], clocks: dict[tuple[str, str, str], tuple[int, str]]
) -> None:
    """This desk's own changes to a record that comes back into its scope: the values
    its journal still holds (it kept its own edits when the record left), written back
    where they are the field's newest, without journalling them a second time."""
    winners = [
        change
        for change in group
        if change.entity in _COLUMNS
        and change.field in _COLUMNS[change.entity]
        and change.field != "id"
        and change.clock >= clocks.get(change.key, (-1, ""))
    ]
    if not winners:
        return
    with _unjournalled(session, {change.entity for change in winners}):
        _write_values(session, winners)


def _unjournalled(session: Session, tables: set[str]) -> AbstractContextManager[None]:
    """Lift the journal triggers of ``tables`` inside this transaction only (no other
    connection sees them lifted; a failure rolls them back with everything else)."""
    names = [f"journal_{table}_{kind}" for table in sorted(tables) for kind in ("insert", "update")]
    return triggers_lifted(session, names, required=False)


def _write_values(session: Session, changes: Sequence[Change]) -> None:
    for (entity, row_id), incoming in _values_by_row(changes).items():
        exists = session.execute(
            text(f'SELECT 1 FROM "{entity}" WHERE id = :id'), {"id": row_id}
        ).first()
        # Made again whole: a field this desk changed later (a person it moved away) is
        # newer in its journal than in the transaction that made the record, so that
        # transaction's changes alone would leave it out.
        values = incoming if exists else {**_kept_values(session, entity, row_id), **incoming}
        if not _write_record(session, entity, row_id, values, insert=exists is None):
            log.warning("a %s record of this desk's could not be restored; set aside", entity)


def _holds(
    session: Session,
    pulled: PulledChange,
    group: Sequence[Change],
    chains: dict[str, tuple[int, str] | None],
    report: SyncReport,
) -> bool:
    """Whether a pulled transaction holds in its origin's chain; if not, an alarm.

    Its seal is kept either way (when it has one), so the chain goes on from it and
    one break raises one alarm, not one for every later transaction of that desk.
    """
    first = group[0]
    origin = first.origin_site
    seal = pulled.seal
    if pulled.verdict == VERDICT_BEFORE_SEALS:
        note_unsealed(session, first.tx_id, origin)
        return True
    if origin not in chains:
        number, hash_ = last_seal(session, origin)
        chains[origin] = (number, hash_) if number else None
    previous = chains[origin]
    if seal is None:
        if first.schema_version < SEALED_SINCE_SCHEMA and previous is None:
            note_unsealed(session, first.tx_id, origin)  # a desk from before seals
            return True
        problem = "it has no seal: it was put into the hub's log by hand, or altered there"
    else:
        stored = session.execute(
            text("SELECT seal_hash FROM journal_seal WHERE tx_id = :t"), {"t": seal.tx_id}
        ).scalar_one_or_none()
        if stored is not None:  # pulled again (a catch-up after an upgrade)
            link = "" if stored == seal.seal_hash else "its seal differs from the one kept here"
        else:
            anchor_ok = (
                previous is None
                and session.execute(
                    text("SELECT 1 FROM journal_tx WHERE replica_id = :o LIMIT 1"), {"o": origin}
                ).first()
                is not None
            )
            link = link_problem(seal, previous, anchor_ok=anchor_ok)
            store_seal(session, seal)
            chains[origin] = (seal.chain_seq, seal.seal_hash)
        problem = pulled.verdict or link
    if not problem:
        return True
    _raise_alarm(session, pulled, group, problem, report)
    return False


def _raise_alarm(
    session: Session,
    pulled: PulledChange,
    group: Sequence[Change],
    reason: str,
    report: SyncReport,
) -> None:
    first = group[0]
    record = pulled.record or record_name(first.entity, first.row_id, first.field)
    place = pulled.seal.first_seq if pulled.seal is not None else first.origin_seq
    log.warning("a transaction from the hub failed its desk's chain; set aside (seq %s)", place)
    session.execute(
        text(
            "INSERT INTO chain_alarm (found_at, origin, origin_label, origin_seq, record,"
            " reason, server_seq) VALUES (:at, :o, '', :seq, :rec, :why, :server)"
            " ON CONFLICT (origin, origin_seq) DO NOTHING"
        ),
        {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "o": first.origin_site,
            "seq": place,
            "rec": record[:200],
            "why": reason,
            "server": pulled.server_seq,
        },
    )
    report.alarms.append(f"desk {first.origin_site[:8]}, sequence {place} ({record}): {reason}")


@dataclass(frozen=True, slots=True)
class ChainAlarm:
    """A pulled transaction that failed its origin's hash chain, set aside."""

    found_at: str
    origin: str
    origin_label: str
    origin_seq: int
    record: str
    reason: str

    def describe(self) -> str:
        desk = self.origin_label or f"desk {self.origin[:8]}"
        return (
            f"Records from {desk} failed the tamper check and were set aside: sequence "
            f"{self.origin_seq} ({self.record}): {self.reason}. Tell your administrator "
            "(`mdt-desk hub verify`)."
        )


def chain_alarms(store: Store) -> list[ChainAlarm]:
    """Every chain alarm this desk has raised, newest first (each stays shown)."""
    with store.read() as session:
        rows = session.execute(
            text(
                "SELECT found_at, origin, origin_label, origin_seq, record, reason"
                " FROM chain_alarm ORDER BY id DESC"
            )
        ).all()
    return [
        ChainAlarm(str(a), str(o), str(label), int(seq), str(rec), str(why))
        for a, o, label, seq, rec, why in rows
    ]


def _name_alarmed_desks(store: Store, engine: Engine) -> None:
    """Give new alarms their desk's name, as the hub knows it (after the page)."""
    with store.read() as session:
        origins = [
            str(origin)
            for (origin,) in session.execute(
                text("SELECT DISTINCT origin FROM chain_alarm WHERE origin_label = ''")
            )
        ]
    if not origins:
        return
    with engine.connect() as connection:
        labels = dict(
            connection.execute(
                select(hub_replica.c.site_id, hub_replica.c.label).where(
                    hub_replica.c.site_id.in_(origins)
                )
            ).all()
        )
    with store.write_session() as session:
        for origin in origins:
            session.execute(
                text("UPDATE chain_alarm SET origin_label = :l WHERE origin = :o"),
                {"l": labels.get(origin) or "the team hub", "o": origin},
            )


def _meta_in(session: Session, key: str) -> str | None:
    value = session.execute(
        text("SELECT value FROM store_meta WHERE key = :k"), {"k": key}
    ).scalar_one_or_none()
    return str(value) if value else None


def _catch_up_after_upgrade(store: Store) -> None:
    """Pull again from the first change this desk could not store, once it can.

    A desk running an older schema sets aside the fields of a newer one (they stay at
    the hub) and its cursor moves past them. When it has been upgraded since, it pulls
    them again from there: each change it applied already keeps its place (its clock is
    the field's clock here), and the ones it set aside are applied now.
    """
    skipped = store.get_meta(META_SKIPPED_FROM)
    if not skipped:
        return
    seq_text, _, schema_text = skipped.partition("|")
    if schema_version_number() <= int(schema_text or 0):
        return  # still the same version: those fields are still unknown here
    with store.write_session() as session:
        cursor = _meta_in(session, META_PULL_CURSOR)
        through = int(cursor) if cursor else 0
        store.set_meta(session, META_CATCH_UP_THROUGH, str(through))
        store.set_meta(session, META_PULL_CURSOR, str(min(through, int(seq_text) - 1)))
        store.delete_meta(session, META_SKIPPED_FROM)


def pull_all(
    store: Store,
    engine: Engine,
    report: SyncReport,
    *,
    page_size: int = PULL_PAGE_SIZE,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    total: int | None = None,
    scope: frozenset[str] | None = None,
) -> bool:
    """Pull and apply everything new (for a scoped desk, ``scope``: its practice ids,
    only its records, after the seals of every desk's chain and any records that came
    into its scope). False when stopped before the end."""
    _catch_up_after_upgrade(store)
    upto: int | None = None
    if scope is not None or desk_scope.pending_backfill(store) is not None:
        upto = _hub_log_end(engine)
        _pull_seals(store, engine, report)
        if not _fill_scope(
            store,
            engine,
            report,
            scope=scope or frozenset(),
            upto=upto,
            page_size=page_size,
            progress=progress,
            should_stop=should_stop,
        ):
            return False
    start = _meta_int(store, META_PULL_CURSOR)
    while True:
        if should_stop is not None and should_stop():
            return False
        cursor = _meta_int(store, META_PULL_CURSOR)
        try:
            page = _fetch(
                engine, cursor, page_size, me=store.replica_id.hex, scope=scope, upto=upto
            )
        except DBAPIError as error:
            raise _unreachable(engine.url, error) from error
        if page.through <= cursor:
            return True
        alarms = len(report.alarms)
        apply_page(store, page, report)
        if len(report.alarms) > alarms:
            try:
                _name_alarmed_desks(store, engine)
            except DBAPIError:  # the names wait; the alarms are kept
                log.warning("could not name the desks of chain alarms")
        # Let a screen's write that queued behind this page go first.
        time.sleep(0.001)
        if progress is not None:
            # From where this sync started, not from the hub's beginning.
            end = max(total or 0, page.through)
            progress("pull", page.through - start, end - start)


def _hub_log_end(engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            return log_end(connection)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


#: Seals read per query by a scoped desk (headers only: about 400 bytes each).
_SEAL_BATCH = 5000


def _pull_seals(store: Store, engine: Engine, report: SyncReport) -> None:
    """Every desk's chain, header by header, for a scoped desk (contracts: hash chains
    on a scoped desk): it receives the seals of transactions outside its scope, never
    their content, so each chain it holds is whole and each record it receives is
    checked against its own transaction's seal. A break raises an alarm and stops that
    chain here until it is explained."""
    try:
        with engine.connect() as connection:
            tops = dict(
                connection.execute(
                    select(hub_seal.c.origin_site, func.max(hub_seal.c.chain_seq)).group_by(
                        hub_seal.c.origin_site
                    )
                ).all()
            )
            for origin, top in sorted(tops.items()):
                with store.read() as session:
                    previous: tuple[int, str] | None = last_seal(session, origin)
                if previous is not None and previous[0] == 0:
                    previous = None
                if previous is not None and previous[0] >= int(top):
                    continue
                _store_chain(store, connection, origin, previous, report)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


def _store_chain(
    store: Store,
    connection: Any,
    origin: str,
    previous: tuple[int, str] | None,
    report: SyncReport,
) -> None:
    while True:
        after = previous[0] if previous is not None else 0
        rows = connection.execute(
            select(hub_seal)
            .where(hub_seal.c.origin_site == origin, hub_seal.c.chain_seq > after)
            .order_by(hub_seal.c.chain_seq)
            .limit(_SEAL_BATCH)
        ).all()
        if not rows:
            return
        with store.write_session() as session:
            for row in rows:
                values = dict(row._mapping)
                values["origin"] = values.pop("origin_site")
                seal = Seal.from_row(values)
                problem = link_problem(seal, previous, anchor_ok=False)
                if problem:
                    _seal_alarm(session, seal, problem, report)
                    return
                store_seal(session, seal)
                previous = (seal.chain_seq, seal.seal_hash)


def _seal_alarm(session: Session, seal: Seal, reason: str, report: SyncReport) -> None:
    log.warning("a seal from the hub breaks its desk's chain (origin seq %s)", seal.first_seq)
    session.execute(
        text(
            "INSERT INTO chain_alarm (found_at, origin, origin_label, origin_seq, record,"
            " reason, server_seq) VALUES (:at, :o, '', :seq, :rec, :why, 0)"
            " ON CONFLICT (origin, origin_seq) DO NOTHING"
        ),
        {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "o": seal.origin,
            "seq": seal.first_seq,
            "rec": f"transaction {seal.tx_id}",
            "why": reason,
        },
    )
    report.alarms.append(
        f"desk {seal.origin[:8]}, sequence {seal.first_seq} (transaction {seal.tx_id}): {reason}"
    )


#: Anchors fetched per query when a scoped desk takes in records (its first sync, a
#: widened scope, people who moved in), and the most changes read then: a batch of
#: people (about 55 changes each in the demo) comes in one query and is applied in one
#: local transaction. Paging within a batch re-reads and re-sorts its rows at the hub
#: for every page (a third of a first sync's time at 1,000 a page).
_ANCHOR_BATCH = 250
_FILL_PAGE_SIZE = 25_000


def _fill_scope(
    store: Store,
    engine: Engine,
    report: SyncReport,
    *,
    scope: frozenset[str],
    upto: int,
    page_size: int,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Take in the records that came into this desk's scope, resumably: all of them on
    its first sync (then the cursor jumps to ``upto``), a widened scope's new practices,
    and people who moved into its practices since it last looked. False if stopped."""
    pending = desk_scope.pending_backfill(store) or desk_scope.plan_backfill(
        store, engine, scope, upto
    )
    if pending is None:
        return True
    total = max(len(pending.anchors), 1)
    me = store.replica_id.hex

    def read(batch: desk_scope.Backfill) -> PulledPage:
        try:
            return _fetch_anchors(
                engine,
                batch.anchors[:_ANCHOR_BATCH],
                batch.after,
                batch.upto,
                max(page_size, _FILL_PAGE_SIZE),
                me=me,
            )
        except DBAPIError as error:
            raise _unreachable(engine.url, error) from error

    # The hub reads the next batch while this desk applies the last one (the reading
    # thread waits on the hub, not on this process, most of the time): a first sync
    # is about half reading, half writing.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mdt-desk-fill") as reader:
        ahead: Future[PulledPage] | None = None
        while pending.anchors:
            if should_stop is not None and should_stop():
                if ahead is not None:
                    ahead.cancel()
                return False
            page = ahead.result() if ahead is not None else read(pending)
            ahead = None
            if page.through >= pending.upto:  # this batch is whole: on to the next
                pending = replace(pending, anchors=pending.anchors[_ANCHOR_BATCH:], after=0)
            else:
                pending = replace(pending, after=page.through)
            if pending.anchors:
                ahead = reader.submit(read, pending)
            apply_page(store, page, report, backfill=_saving(store, pending))
            if progress is not None:
                progress(TAKING_IN, total - len(pending.anchors), total)
    with store.write_session() as session:
        desk_scope.clear_backfill(store, session)
        if pending.first:
            cursor = _meta_in(session, META_PULL_CURSOR)
            store.set_meta(
                session, META_PULL_CURSOR, str(max(pending.upto, int(cursor) if cursor else 0))
            )
    return True


def _saving(store: Store, pending: desk_scope.Backfill) -> Callable[[Session], None]:
    def save(session: Session) -> None:
        desk_scope.save_backfill(store, session, pending)

    return save


def sync_once(
    store: Store,
    engine: Engine,
    *,
    address: str | None = None,
    label: str = "",
    wall_clock_ms: Callable[[], int] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncReport:
    """One full sync: push the outbox, then pull and apply everything new.

    Raises:
        HubUnreachableError: offline; nothing changed here.
        WrongHubError, ClockSkewError, HubError: refused with a message; this desk's
            changes stay in its outbox.
    """
    shown = address or redacted(engine.url)
    info = read_hub_info(engine)
    if info.protocol_version > PROTOCOL_VERSION or info.schema_version > HUB_SCHEMA_VERSION:
        raise HubError(
            "The team hub was set up by a newer version of MDT Desk: install the new version "
            "on this desk, then sync. This desk's changes are kept until then."
        )
    if schema_version_number() < info.min_push_schema:
        raise HubError(
            "This desk's MDT Desk is too old for the team hub: install the new version, "
            "then sync. Its changes are kept and will be sent then."
        )
    bind_to_hub(store, info, shown)
    _keep_seals_at(engine)
    records_pulls = info.records_pulls or (info.desk_group is None and upgrade_for_status(engine))
    report = SyncReport()
    _catch_up_if_hub_went_back(store, engine, info, report)
    scope = _desk_practices(store, engine, info)
    try:
        hub_ms = hub_now_ms(engine)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    desk_ms = wall_clock_ms() if wall_clock_ms is not None else store.wall_clock_ms()
    refusal: HubError | None = None
    if abs(desk_ms - hub_ms) > MAX_SKEW_MS:
        minutes = round(abs(desk_ms - hub_ms) / 60000)
        refusal = ClockSkewError(
            f"This computer's clock is {minutes} minutes "
            f"{'ahead of' if desk_ms > hub_ms else 'behind'} the team hub's. Correct the "
            "clock, then sync again: your changes are kept on this desk until then."
        )
    else:
        # A crashed patient import holds back every later change of this desk (see
        # _UNSENT) until it is discarded.
        discard_abandoned_imports(store)
        try:
            report.pushed, report.conflicts = push_all(
                store,
                engine,
                label=label,
                now_ms=hub_ms,
                progress=progress,
                should_stop=should_stop,
                report=report,
            )
        except HubUnreachableError:
            raise
        except HubError as error:
            # Refused (a clock that was fast when the changes were made, a copied store):
            # the changes stay in the outbox, and everyone else's still come in.
            refusal = error
    report.hub_last_seq = _hub_last_seq(engine)
    _pull_and_sweep(store, engine, report, scope, progress=progress, should_stop=should_stop)
    try:
        with engine.begin() as connection:
            if records_pulls:
                _note_pull(connection, store, info, label)
            elif info.desk_group is not None and engine.dialect.name == "postgresql":
                record_pull(connection, store.replica_id.hex, _meta_int(store, META_PULL_CURSOR))
            else:
                connection.execute(
                    update(hub_replica)
                    .where(hub_replica.c.site_id == store.replica_id.hex)
                    .values(last_pull_seq=_meta_int(store, META_PULL_CURSOR))
                )
    except DBAPIError as error:  # the pull is done; this is bookkeeping only
        log.warning("could not record the pull position at the hub: %s", type(error).__name__)
    with store.write_session() as session:
        store.set_meta(session, META_LAST_SYNC, dt.datetime.now(dt.UTC).isoformat())
    report.conflicts = open_review_count(store)
    if refusal is not None:
        raise refusal  # after the pull: this desk is up to date, its own changes wait
    return report


def _note_pull(connection: Connection, store: Store, info: HubInfo, label: str) -> None:
    """Record this pull's position and time at the hub, even for a desk that never pushed
    (``mdt-desk hub status`` shows it)."""
    site = store.replica_id.hex
    values: dict[str, Any] = {
        "last_pull_seq": _meta_int(store, META_PULL_CURSOR),
        "last_pull_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
    }
    first = {"label": label[:200], "schema_version": schema_version_number()}
    if info.desk_group is not None and connection.dialect.name == "postgresql":
        note_pull(connection, site, {**first, **values})
        return
    if connection.dialect.name == "postgresql":
        values["login"] = func.session_user()
    known = connection.execute(
        update(hub_replica).where(hub_replica.c.site_id == site).values(**values)
    ).rowcount
    if not known:
        connection.execute(
            hub_replica.insert(),
            {"site_id": site, "last_origin_seq": 0, "last_seen": "", **first, **values},
        )


def _desk_practices(store: Store, engine: Engine, info: HubInfo) -> frozenset[str] | None:
    """The practice ids this desk holds (None: a full desk), kept for the next sync."""
    chosen = desk_scope.keep_default(store)
    signed_in = store.get_meta("signed_in_staff_id")
    if signed_in:
        desk_scope.note_signed_in(store, signed_in.replace("-", ""))
    ceiling = _login_ceiling(engine)
    if chosen.all_practices and ceiling is None:
        if desk_scope.held(store) is not None:
            _take_in_everything(store, engine)
        return None
    if not info.scopes:
        raise HubError(
            "The team hub does not keep desk scopes yet: ask your administrator to run "
            "`mdt-desk hub init` on it (or make this desk a full one with --practices all). "
            "Nothing was sent; this desk keeps its changes."
        )
    wanted = desk_scope.resolve(store, engine, chosen)
    # The hub shows this login no more than its practices (row-level security): a desk
    # reaching past them would see transactions in part, so it stays within them.
    return ceiling if wanted is None else (wanted if ceiling is None else wanted & ceiling)


def _login_ceiling(engine: Engine) -> frozenset[str] | None:
    try:
        with engine.connect() as connection:
            return login_practices(connection)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


def _take_in_everything(store: Store, engine: Engine) -> None:
    """A scoped desk made full: take in every record it does not hold, by anchor, as a
    widened scope is (what it holds keeps its place; what it typed itself for people who
    left it comes back from its journal)."""
    try:
        with engine.connect() as connection:
            anchors = sorted(
                str(anchor)
                for anchor in connection.execute(
                    select(hub_change.c.scope_anchor)
                    .where(hub_change.c.scope_anchor.is_not(None))
                    .distinct()
                ).scalars()
            )
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    cursor = _meta_int(store, META_PULL_CURSOR)
    with store.write_session() as session:
        desk_scope.save_backfill(store, session, desk_scope.Backfill(anchors, cursor))
    desk_scope.note_held(store, None, cursor)


def _pull_and_sweep(
    store: Store,
    engine: Engine,
    report: SyncReport,
    scope: frozenset[str] | None,
    *,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Pull; then, on a scoped desk that pulled to the end, remove what left its scope."""
    whole = pull_all(
        store,
        engine,
        report,
        progress=progress,
        should_stop=should_stop,
        total=report.hub_last_seq,
        scope=scope,
    )
    if scope is not None and whole:
        _sweep(store, engine, scope, report)


def _sweep(store: Store, engine: Engine, scope: frozenset[str], report: SyncReport) -> None:
    """Remove what left this desk's practices, as its own records and the hub (as far as
    this desk has pulled) both see them; note what it now holds whole."""
    removal = desk_scope.remove_out_of_scope(
        store,
        scope,
        pushed_through=_meta_int(store, META_PUSHED_THROUGH),
        reason="no longer of this desk's practices",
        people_at_hub=desk_scope.people_at(engine, scope, _meta_int(store, META_PULL_CURSOR)),
    )
    if removal.records:
        report.removed = removal.records
        report.messages.append(
            f"{removal.people} people and {removal.meetings} meetings are no longer of this "
            f"desk's practices: their {removal.records:,} records were removed from it."
        )
    if removal.kept_unsent:
        report.messages.append(
            f"{removal.kept_unsent} people or meetings no longer of this desk's practices "
            "stay on it until its changes to them reach the team hub."
        )
        return
    desk_scope.note_held(store, scope, _meta_int(store, META_PULL_CURSOR))


def _hub_last_seq(engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT last_seq FROM hub_counter WHERE id = 1")
                ).scalar_one()
            )
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


def _catch_up_if_hub_went_back(
    store: Store, engine: Engine, info: HubInfo, report: SyncReport
) -> None:
    """A hub restored from an older backup: pull again what it holds anew, push again
    what it lost (continuity.py); said in the report."""
    try:
        went_back = check_hub(store, engine, info.hub_id.hex)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    if went_back is not None:
        catch_up(store, went_back, info.hub_id.hex)
        report.messages.append(went_back.describe())


def _keep_seals_at(engine: Engine) -> None:
    """Add the seal table to a hub set up by an earlier version (as ``hub init`` does);
    a desk login that may not create it is told who can.

    Only the hub's refusal (no right to create it, no such table) says so: a connection
    that drops on the way is the hub being unreachable, and the desk tries again later.
    """
    try:
        if hub_keeps_seals(engine):
            return
        init_hub(engine)
    except (DBAPIError, HubUnreachableError) as error:
        # init_hub reports any database error as unreachable; its cause says which.
        cause = error.__cause__ if isinstance(error, HubUnreachableError) else error
        if not _refused_by_hub(cause):
            if isinstance(error, HubUnreachableError):
                raise
            raise _unreachable(engine.url, error) from error
        raise HubError(
            "The team hub was set up by an earlier version of MDT Desk and does not keep "
            "the journal's seals yet: ask your administrator to run `mdt-desk hub init` on "
            "it. This desk's changes are kept until then."
        ) from error


def _refused_by_hub(error: BaseException | None) -> bool:
    """Whether ``error`` is the hub's answer "you may not" or "no such table", rather
    than a connection that dropped, timed out or was cut by the server."""
    if not isinstance(error, DBAPIError) or error.connection_invalidated:
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate:  # PostgreSQL: class 42 is "syntax error or access rule violation"
        return str(sqlstate).startswith("42")
    name = getattr(error.orig, "sqlite_errorname", "")
    return name in ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH") or (
        "no such table" in str(error.orig)
    )


def open_review_count(store: Store) -> int:
    with store.read() as session:
        return int(
            session.execute(
                text(
                    "SELECT count(*) FROM review_item"
                    " WHERE resolved_at IS NULL AND retired_at IS NULL"
                )
            ).scalar_one()
        )


#: Named places where a test may make the process crash (see tests/sync). In normal use
#: nothing is registered and each call returns at once.
FAILPOINTS: dict[str, Callable[[], None]] = {}


def _failpoint(name: str) -> None:
    action = FAILPOINTS.get(name)
    if action is not None:
        action()


__all__ = [
    "FAILPOINTS",
    "ChainAlarm",
    "ClockSkewError",
    "SyncReport",
    "WrongHubError",
    "apply_page",
    "chain_alarms",
    "edits_waiting",
    "open_review_count",
    "outbox_count",
    "outbox_seals",
    "pull_all",
    "push_all",
    "read_outbox",
    "sync_once",
]
