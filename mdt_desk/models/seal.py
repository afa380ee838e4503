"""The tamper-evident journal: one hash chain of sealed transactions per origin desk.

Every journal transaction that changed something carries a *seal*: SHA-256 over a
canonical header — the origin desk, the transaction's id, its place in the origin's
chain (chain number, first and last origin sequence, number of changes), who made it
(actor id and label), when (recorded time, hybrid clock), the schema version — and
over a *content hash* (SHA-256 of its changes in origin order: sequence, entity, row
id, field, op, new value) and the seal of the origin's previous transaction (a fixed
genesis value for the first). Changing a value, an author or a time, or slipping a
transaction in, breaks the seal of that transaction or the link of the next one.

The header holds everything the chain needs except the changes themselves, so a chain
can be checked from headers alone: a desk that is not sent some transactions' content
(a scoped desk, later) still links their neighbours, and checks the content of those it
holds. Nothing here is secret: a chain proves that history is consistent with what was
pushed and seen, not who wrote it (see docs/security.md).

Seals are written in the same transaction as the changes they seal (``Store.write``;
sync for other desks' transactions) into ``journal_seal``, which is append-only like
the journal. ``journal_unsealed`` lists the transactions received from a hub that
holds them from before it kept seals.
"""

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

#: The previous seal of an origin's first transaction.
GENESIS = "0" * 64
#: Names the encoding below; a later one would be told apart by it.
SEAL_FORMAT = "mdt-desk-seal-1"
#: The schema (migration 0007) from which a store seals its transactions.
SEALED_SINCE_SCHEMA = 7
#: ``store_meta`` key: the last ``journal_tx.tx`` when this store began sealing. Another
#: desk's transaction above it must be sealed, or listed in ``journal_unsealed``.
META_SEAL_BOUNDARY = "seal_boundary_tx"

#: One change as the content hash takes it: origin seq, entity, row id, field, op, value.
ContentRow = tuple[int, str, str, str, str, str | None]

SEAL_COLUMNS = (
    "origin",
    "chain_seq",
    "tx_id",
    "first_seq",
    "last_seq",
    "change_count",
    "actor_id",
    "actor_label",
    "recorded_at",
    "hlc",
    "schema_version",
    "content_hash",
    "prev_hash",
    "seal_hash",
)

SEAL_TABLE_DDL = """
CREATE TABLE journal_seal (
    origin VARCHAR(32) NOT NULL,
    chain_seq INTEGER NOT NULL,
    tx_id VARCHAR(32) NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    change_count INTEGER NOT NULL,
    actor_id VARCHAR(32) NOT NULL,
    actor_label VARCHAR(200) NOT NULL,
    recorded_at VARCHAR(40) NOT NULL,
    hlc BIGINT NOT NULL,
    schema_version INTEGER NOT NULL,
    content_hash VARCHAR(64) NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    seal_hash VARCHAR(64) NOT NULL,
    CONSTRAINT pk_journal_seal PRIMARY KEY (origin, chain_seq),
    CONSTRAINT uq_journal_seal_tx_id UNIQUE (tx_id)
)
"""

SEAL_GUARD_DDL: tuple[str, ...] = (
    """CREATE TRIGGER journal_seal_no_update BEFORE UPDATE ON journal_seal
    BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END""",
    """CREATE TRIGGER journal_seal_no_delete BEFORE DELETE ON journal_seal
    BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END""",
    """CREATE TRIGGER journal_unsealed_no_update BEFORE UPDATE ON journal_unsealed
    BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END""",
    """CREATE TRIGGER journal_unsealed_no_delete BEFORE DELETE ON journal_unsealed
    BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END""",
)


#: The team hub's own seals a desk kept that the hub no longer holds (restored from an
#: older backup): moved here, never dropped, so the hub's chain can go on from where
#: the restored hub is and what was withdrawn, when and why stays on record.
SEAL_WITHDRAWN_TABLE_DDL = """
CREATE TABLE journal_seal_withdrawn (
    origin VARCHAR(32) NOT NULL,
    chain_seq INTEGER NOT NULL,
    tx_id VARCHAR(32) NOT NULL,
    seal_hash VARCHAR(64) NOT NULL,
    withdrawn_at VARCHAR(40) NOT NULL,
    reason TEXT NOT NULL,
    CONSTRAINT pk_journal_seal_withdrawn PRIMARY KEY (origin, chain_seq, seal_hash)
)
"""

#: A seal leaves ``journal_seal`` only once it is in ``journal_seal_withdrawn``; the
#: withdrawn record is append-only like the seals.
SEAL_WITHDRAWAL_DDL: tuple[str, ...] = (
    """CREATE TRIGGER journal_seal_no_delete BEFORE DELETE ON journal_seal
    WHEN NOT EXISTS (SELECT 1 FROM journal_seal_withdrawn w WHERE w.origin = OLD.origin
        AND w.chain_seq = OLD.chain_seq AND w.seal_hash = OLD.seal_hash)
    BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END""",
    """CREATE TRIGGER journal_seal_withdrawn_no_update BEFORE UPDATE ON journal_seal_withdrawn
    BEGIN SELECT RAISE(ABORT, 'The withdrawn seals are append-only.'); END""",
    """CREATE TRIGGER journal_seal_withdrawn_no_delete BEFORE DELETE ON journal_seal_withdrawn
    BEGIN SELECT RAISE(ABORT, 'The withdrawn seals are append-only.'); END""",
)


def withdraw_seals(
    connection: Connection | Session, origin: str, *, after: int, at: str, reason: str
) -> int:
    """Withdraw ``origin``'s seals after chain number ``after``: kept aside with the
    reason, so its chain goes on from ``after``. How many were withdrawn."""
    connection.execute(
        text(
            "INSERT INTO journal_seal_withdrawn (origin, chain_seq, tx_id, seal_hash,"
            " withdrawn_at, reason) SELECT origin, chain_seq, tx_id, seal_hash, :at, :why"
            " FROM journal_seal WHERE origin = :o AND chain_seq > :after"
        ),
        {"o": origin, "after": after, "at": at, "why": reason},
    )
    result = connection.execute(
        text("DELETE FROM journal_seal WHERE origin = :o AND chain_seq > :after"),
        {"o": origin, "after": after},
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class Seal:
    """One sealed transaction's header (everything but its changes)."""

    origin: str
    chain_seq: int
    tx_id: str
    first_seq: int
    last_seq: int
    change_count: int
    actor_id: str
    actor_label: str
    recorded_at: str
    hlc: int
    schema_version: int
    content_hash: str
    prev_hash: str
    seal_hash: str

    def expected_hash(self) -> str:
        """The seal this header should carry."""
        return seal_hash_of(self)

    @property
    def intact(self) -> bool:
        return self.seal_hash == seal_hash_of(self)

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SEAL_COLUMNS}

    @classmethod
    def from_row(cls, row: Any) -> "Seal":
        values = row._mapping if hasattr(row, "_mapping") else row
        return cls(
            origin=hex_id(values["origin"]),
            chain_seq=int(values["chain_seq"]),
            tx_id=hex_id(values["tx_id"]),
            first_seq=int(values["first_seq"]),
            last_seq=int(values["last_seq"]),
            change_count=int(values["change_count"]),
            actor_id=hex_id(values["actor_id"]) if values["actor_id"] else "",
            actor_label=str(values["actor_label"]),
            recorded_at=str(values["recorded_at"]),
            hlc=int(values["hlc"]),
            schema_version=int(values["schema_version"]),
            content_hash=str(values["content_hash"]),
            prev_hash=str(values["prev_hash"]),
            seal_hash=str(values["seal_hash"]),
        )


def hex_id(value: Any) -> str:
    """A uuid as the journal and the hub write it: 32 lower-case hex digits."""
    if value is None or value == "":
        return ""
    if isinstance(value, uuid.UUID):
        return value.hex
    return str(value).replace("-", "").lower()


def canonical_time(value: Any) -> str:
    """A recorded time as sealed: naive UTC, microseconds always written.

    The store, the hub and a copied header spell one instant differently (with or
    without ``.000000``, a ``T`` or a space); the seal must not depend on that.
    """
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="microseconds")


def _line(values: Sequence[Any]) -> bytes:
    # JSON of a list: every field delimited and escaped, so no two inputs share bytes.
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _field(value: str | None) -> str:
    return "~" if value is None else f"{len(value)}:{value}"


def _encoded(change: ContentRow) -> str:
    """One change, unambiguously: its sequence, then each text field prefixed by its
    length in characters (code points), ``~`` for a missing value. No two different
    changes, nor lists of changes, share an encoding (and it is cheap: a sync hashes
    every change it sends and receives)."""
    seq, entity, row_id, field, op, value = change
    return (
        f"{int(seq)}|{len(entity)}:{entity}{len(row_id)}:{row_id}{len(field)}:{field}"
        f"{len(op)}:{op}{_field(value)}"
    )


def content_hash(changes: Iterable[ContentRow]) -> tuple[str, int]:
    """SHA-256 of a transaction's changes in origin order, and how many there were."""
    lines = [_encoded(change) for change in changes]
    digest = hashlib.sha256(SEAL_FORMAT.encode() + b" content\n")
    digest.update("".join(lines).encode())
    return digest.hexdigest(), len(lines)


def seal_hash_of(seal: Seal) -> str:
    return hashlib.sha256(
        _line(
            (
                SEAL_FORMAT,
                seal.origin,
                seal.chain_seq,
                seal.tx_id,
                seal.first_seq,
                seal.last_seq,
                seal.change_count,
                seal.actor_id,
                seal.actor_label,
                seal.recorded_at,
                seal.hlc,
                seal.schema_version,
                seal.content_hash,
                seal.prev_hash,
            )
        )
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class Content:
    """A transaction's content hash, how many changes, and its first and last sequence."""

    digest: str
    count: int
    first_seq: int
    last_seq: int


#: The encoding of :func:`_encoded`, in SQL, concatenated in origin order: a large local
#: transaction (the demo, an import) is hashed from text SQLite builds, not row by row
#: in Python. ``length`` counts characters, as Python's ``len`` does.
_ENCODED_SQL = text(
    "SELECT group_concat(line, ''), count(*), min(seq), max(seq) FROM ("
    " SELECT origin_seq AS seq, origin_seq || '|' || length(entity) || ':' || entity"
    " || length(row_id) || ':' || row_id || length(field) || ':' || field"
    " || length(op) || ':' || op || CASE WHEN new_value IS NULL THEN '~'"
    " ELSE length(new_value) || ':' || new_value END AS line"
    " FROM journal_change WHERE origin_seq > :low AND origin_seq <= :high AND tx = :tx"
    # In key order: the range is read in that order already, so nothing is sorted.
    " ORDER BY origin_seq)"
)
_ENCODED_CHUNK = 100_000


def journal_content(
    connection: Connection | Session | Any, tx: int, low: int, high: int
) -> Content:
    """The content of this desk's transaction ``tx``: its journal rows in (low, high].

    ``connection`` is SQLAlchemy's, or a DB-API connection (``mdt-desk check``).
    """
    digest = hashlib.sha256(SEAL_FORMAT.encode() + b" content\n")
    count, first, last = 0, 0, 0
    raw = not isinstance(connection, (Connection, Session))
    for start in range(low, high, _ENCODED_CHUNK):
        values = {"low": start, "high": min(high, start + _ENCODED_CHUNK), "tx": tx}
        if raw:
            dbapi: Any = connection
            encoded, found, lowest, highest = dbapi.execute(_ENCODED_SQL.text, values).fetchone()
        else:
            encoded, found, lowest, highest = connection.execute(_ENCODED_SQL, values).one()
        if not found:
            continue
        digest.update(str(encoded).encode())
        count += int(found)
        first = first or int(lowest)
        last = int(highest)
    return Content(digest.hexdigest(), count, first, last)


def make_seal(
    *,
    origin: Any,
    chain_seq: int,
    tx_id: Any,
    changes: Sequence[ContentRow] = (),
    content: Content | None = None,
    actor_id: Any,
    actor_label: str,
    recorded_at: Any,
    hlc: int,
    schema_version: int,
    prev_hash: str,
) -> Seal:
    """Seal a transaction: its ``changes`` in origin order (at least one), or their
    ``content`` hashed already."""
    if content is None:
        digest, count = content_hash(changes)
        content = Content(digest, count, int(changes[0][0]), int(changes[-1][0]))
    unsealed = Seal(
        origin=hex_id(origin),
        chain_seq=chain_seq,
        tx_id=hex_id(tx_id),
        first_seq=content.first_seq,
        last_seq=content.last_seq,
        change_count=content.count,
        actor_id=hex_id(actor_id),
        # as the journal and the hub keep it (200 characters at most)
        actor_label=actor_label[:200],
        recorded_at=canonical_time(recorded_at),
        hlc=int(hlc),
        schema_version=int(schema_version),
        content_hash=content.digest,
        prev_hash=prev_hash,
        seal_hash="",
    )
    return replace(unsealed, seal_hash=seal_hash_of(unsealed))


# -- the desk's own chain ----------------------------------------------------------------

_SEAL_INSERT = text(
    f"INSERT INTO journal_seal ({', '.join(SEAL_COLUMNS)}) VALUES "
    f"({', '.join(':' + name for name in SEAL_COLUMNS)})"
)


def last_seal(connection: Connection | Session, origin: str) -> tuple[int, str]:
    """The chain number and seal of ``origin``'s latest sealed transaction here."""
    row = connection.execute(
        text(
            "SELECT chain_seq, seal_hash FROM journal_seal WHERE origin = :o"
            " ORDER BY chain_seq DESC LIMIT 1"
        ),
        {"o": origin},
    ).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _header(connection: Connection | Session, tx: int) -> Any:
    return connection.execute(
        text(
            "SELECT tx_uuid, replica_id, actor_id, actor_label, recorded_at, hlc, schema_version"
            " FROM journal_tx WHERE tx = :tx"
        ),
        {"tx": tx},
    ).one()


def seal_local_transaction(connection: Connection | Session, tx: int, after_seq: int) -> Seal:
    """Seal this desk's transaction ``tx``, whose changes are the journal rows after
    ``after_seq`` (one writer at a time keeps them contiguous). In the caller's
    transaction, just before it commits."""
    header = _header(connection, tx)
    origin = hex_id(header.replica_id)
    high = int(connection.execute(text("SELECT max(origin_seq) FROM journal_change")).scalar_one())
    chain_seq, previous = last_seal(connection, origin)
    seal = make_seal(
        origin=origin,
        chain_seq=chain_seq + 1,
        tx_id=header.tx_uuid,
        content=journal_content(connection, tx, after_seq, high),
        actor_id=header.actor_id,
        actor_label=str(header.actor_label),
        recorded_at=header.recorded_at,
        hlc=int(header.hlc),
        schema_version=int(header.schema_version),
        prev_hash=previous,
    )
    connection.execute(_SEAL_INSERT, seal.as_row())
    return seal


def _own_transactions(
    connection: Connection | Session, origin: str, from_seq: int
) -> list[tuple[int, int, int]]:
    """This desk's transactions from journal row ``from_seq`` on: (tx, first, last)."""
    return [
        (int(tx), int(first), int(last))
        for tx, first, last in connection.execute(
            text(
                "SELECT c.tx, min(c.origin_seq), max(c.origin_seq)"
                " FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                " WHERE t.replica_id = :me AND c.origin_seq >= :from_seq"
                " GROUP BY c.tx ORDER BY min(c.origin_seq)"
            ),
            {"me": origin, "from_seq": from_seq},
        )
    ]


def seal_history(connection: Connection | Session, origin: str, *, from_seq: int = 0) -> int:
    """Seal this desk's transactions from journal row ``from_seq`` on, continuing its chain.

    Used once by the migration that began sealing (the store's own history), and when
    a discarded import's transactions leave the never-sent tail (see
    :func:`reseal_unsent_tail`). Returns how many were sealed.
    """
    chain_seq, previous = last_seal(connection, origin)
    rows = []
    for tx, first, last in _own_transactions(connection, origin, from_seq):
        header = _header(connection, tx)
        chain_seq += 1
        seal = make_seal(
            origin=origin,
            chain_seq=chain_seq,
            tx_id=header.tx_uuid,
            content=journal_content(connection, tx, first - 1, last),
            actor_id=header.actor_id,
            actor_label=str(header.actor_label),
            recorded_at=header.recorded_at,
            hlc=int(header.hlc),
            schema_version=int(header.schema_version),
            prev_hash=previous,
        )
        previous = seal.seal_hash
        rows.append(seal.as_row())
        if len(rows) >= 2000:
            connection.execute(_SEAL_INSERT, rows)
            rows = []
    if rows:
        connection.execute(_SEAL_INSERT, rows)
    return chain_seq


def reseal_unsent_tail(connection: Connection | Session, origin: str, from_seq: int) -> None:
    """Seal again this desk's transactions from journal row ``from_seq`` on, after some
    of them were removed.

    Only for a tail that never left the desk: a discarded patient import (whose rows
    sync never sends; ``models/imports.py``). The caller has lifted the delete guard
    (``journal_seal_no_delete``) inside its own transaction.
    """
    connection.execute(
        text("DELETE FROM journal_seal WHERE origin = :me AND last_seq >= :from_seq"),
        {"me": origin, "from_seq": from_seq},
    )
    seal_history(connection, origin, from_seq=from_seq)


def store_seal(connection: Connection | Session, seal: Seal) -> None:
    """Keep another desk's seal (received with its transaction); once."""
    connection.execute(
        text(
            f"INSERT INTO journal_seal ({', '.join(SEAL_COLUMNS)}) VALUES "
            f"({', '.join(':' + name for name in SEAL_COLUMNS)}) ON CONFLICT DO NOTHING"
        ),
        seal.as_row(),
    )


def note_unsealed(connection: Connection | Session, tx_id: str, origin: str) -> None:
    """Record a transaction received from a hub that holds it from before its seals."""
    connection.execute(
        text("INSERT INTO journal_unsealed (tx_id, origin) VALUES (:t, :o) ON CONFLICT DO NOTHING"),
        {"t": tx_id, "o": origin},
    )


# -- verifying a chain ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain does not hold: the origin desk, the sequence and the record."""

    origin: str
    origin_seq: int
    record: str
    reason: str

    def describe(self, origin_name: str = "") -> str:
        desk = origin_name or f"desk {self.origin[:8]}"
        where = f" ({self.record})" if self.record else ""
        return f"{desk}, sequence {self.origin_seq}{where}: {self.reason}"


def link_problem(seal: Seal, previous: tuple[int, str] | None, *, anchor_ok: bool) -> str:
    """Why ``seal`` does not continue ``previous`` (chain number, seal), or "".

    ``previous`` is ``None`` when nothing of the origin is known yet: the seal must
    then be its origin's first, unless ``anchor_ok`` (history from before seals).
    """
    if not seal.intact:
        return "its seal does not match its header (author, time or place rewritten)"
    if previous is None:
        if anchor_ok or (seal.chain_seq == 1 and seal.prev_hash == GENESIS):
            return ""
        return "the chain does not begin at its first transaction"
    number, hash_ = previous
    if seal.chain_seq != number + 1 or seal.prev_hash != hash_:
        return (
            f"it does not follow the transaction before it (chain {number}); a transaction "
            "was inserted, removed or rewritten there"
        )
    return ""


#: Why a transaction is refused when one of its changes is not what its desk sent.
CHANGE_REWRITTEN = "a change differs from what was sealed (a value, field or record was rewritten)"


def content_problem(seal: Seal, changes: Sequence[ContentRow]) -> str:
    """Why ``changes`` are not the content ``seal`` sealed, or ""."""
    digest, count = content_hash(changes)
    if count != seal.change_count:
        return f"it holds {count} changes where {seal.change_count} were sealed"
    if digest != seal.content_hash:
        return CHANGE_REWRITTEN
    return ""


def header_problem(
    seal: Seal,
    *,
    origin: Any,
    actor_id: Any,
    actor_label: str,
    recorded_at: Any,
    hlc: int,
    schema_version: int,
) -> str:
    """Why a copy of a transaction's header is not the one sealed, or ""."""
    try:
        when = canonical_time(recorded_at)
    except (TypeError, ValueError):
        when = ""
    if (
        seal.origin != hex_id(origin)
        or seal.actor_id != hex_id(actor_id)
        or seal.actor_label != str(actor_label)[:200]
        or seal.recorded_at != when
        or seal.hlc != int(hlc)
        or seal.schema_version != int(schema_version)
    ):
        return "its author, time or desk differs from what was sealed"
    return ""


def record_name(entity: str, row_id: str, field: str) -> str:
    return f"{entity} {row_id} {field}".strip()


__all__ = [
    "GENESIS",
    "META_SEAL_BOUNDARY",
    "SEALED_SINCE_SCHEMA",
    "SEAL_COLUMNS",
    "SEAL_GUARD_DDL",
    "SEAL_TABLE_DDL",
    "ChainBreak",
    "Content",
    "ContentRow",
    "Seal",
    "canonical_time",
    "content_hash",
    "content_problem",
    "header_problem",
    "hex_id",
    "journal_content",
    "last_seal",
    "link_problem",
    "make_seal",
    "note_unsealed",
    "record_name",
    "reseal_unsent_tail",
    "seal_history",
    "seal_local_transaction",
    "store_seal",
]


#: Why a change under a sealed transaction's id, at a place its seal does not cover, is
#: a break: a seal's count and content are read over its range, so a change slipped in
#: beside that range, under the same id, would otherwise pass with the rest.
OUTSIDE_SEAL = (
    "a change under this transaction's id but outside its sealed range (put into the "
    "hub's log by hand): nothing sealed it"
)


def outside_seal(seal: Seal, rows: Iterable[Any]) -> Any | None:
    """The first of ``rows`` (hub log rows) that ``seal`` does not cover, another desk's
    or at a sequence outside its first and last, or None."""
    rows = list(rows)
    # Most often every row holds: one look at the desks and the range of sequences
    # (a first sync checks hundreds of thousands of rows this way).
    origins = {row.origin_site for row in rows}
    sequences = [int(row.origin_seq) for row in rows]
    if (
        all(hex_id(origin) == seal.origin for origin in origins)
        and seal.first_seq <= min(sequences, default=seal.first_seq)
        and max(sequences, default=seal.last_seq) <= seal.last_seq
    ):
        return None
    for row in rows:
        if hex_id(row.origin_site) != seal.origin or not (
            seal.first_seq <= int(row.origin_seq) <= seal.last_seq
        ):
            return row
    return None
