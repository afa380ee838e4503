"""Journal plumbing for changes that arrive from other desks.

A change pulled from the team hub is applied to the records in a local transaction whose
journal header is a copy of the transaction that made it on the other desk (same
transaction id, replica, actor, clock and time). So the journal triggers record the
applied fields exactly as they record local edits, the history shows which desk and
which person made each change, and the clock of every field (the largest clock in the
journal for it) stays right for the next merge. Rows under another replica's header are
never part of this desk's outbox.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from mdt_desk.models.store import META_HLC, Store


@dataclass(frozen=True, slots=True)
class RemoteTransaction:
    """The header of a transaction made on another desk (or by the hub)."""

    tx_uuid: uuid.UUID
    replica_id: uuid.UUID
    actor_id: uuid.UUID | None
    actor_label: str
    hlc: int
    recorded_at: dt.datetime
    schema_version: int


@contextmanager
def replication_session(store: Store) -> Iterator[Session]:
    """One write transaction (``BEGIN IMMEDIATE``) for applying remote changes.

    Inside it, :func:`enter_remote` chooses which remote transaction the following
    writes belong to. Foreign keys are checked per statement (the hub's order puts every
    parent before its children), so a record whose parent could not be stored fails at
    once and can be set aside, instead of failing the whole page at commit. The journal
    context is cleared before commit;
    the desk's clock is advanced past every applied clock, so a later local edit is
    ordered after what this desk has seen.
    """
    with store.write_session() as session:
        seen = [0]
        session.info["remote_hlc"] = seen
        yield session
        session.flush()
        session.execute(text("UPDATE journal_context SET tx = NULL WHERE id = 1"))
        session.execute(
            text(
                "UPDATE store_meta SET value = CAST(max(CAST(value AS INTEGER), :hlc) AS TEXT)"
                " WHERE key = :k"
            ),
            {"k": META_HLC, "hlc": max(seen)},
        )


def enter_remote(session: Session, header: RemoteTransaction) -> int:
    """Make ``header`` the journal transaction of the writes that follow; its local key.

    The header is written once; a transaction applied in several pages reuses it.
    """
    existing = session.execute(
        text("SELECT tx FROM journal_tx WHERE tx_uuid = :u"), {"u": header.tx_uuid.hex}
    ).scalar_one_or_none()
    if existing is None:
        session.execute(
            text(
                "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
                " recorded_at, schema_version) VALUES (:u, :r, :a, :l, :h, :t, :s)"
            ),
            {
                "u": header.tx_uuid.hex,
                "r": header.replica_id.hex,
                "a": header.actor_id.hex if header.actor_id else None,
                "l": header.actor_label,
                "h": header.hlc,
                "t": header.recorded_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
                "s": header.schema_version,
            },
        )
        existing = session.execute(
            text("SELECT tx FROM journal_tx WHERE tx_uuid = :u"), {"u": header.tx_uuid.hex}
        ).scalar_one()
    session.execute(text("UPDATE journal_context SET tx = :tx WHERE id = 1"), {"tx": existing})
    seen = session.info.get("remote_hlc")
    if isinstance(seen, list):
        seen.append(header.hlc)
    return int(existing)
