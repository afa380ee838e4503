"""The change journal: one row per changed field of every synced record.

How it is kept complete: SQLite triggers on every synced table write the journal
rows inside the statement that changes the record, so the record and its journal rows
commit or roll back together, and no code path (ORM flush, Core ``update()``, raw SQL)
can change a synced table without being journalled. A trigger refuses any write made
outside a journalled transaction (one opened by :meth:`Store.write`, which names the
actor and takes the clock), and refuses every ``DELETE``: records are retired, never
removed.

Layout. ``journal_tx`` holds one row per transaction: replica (site) id, actor, hybrid
logical clock and wall time. ``journal_change`` holds one row per changed field: entity,
row id, field, old and new value as JSON. Its integer key ``origin_seq`` is the gapless
per-replica sequence (SQLite allocates max+1 and rows are never deleted; a rolled-back
transaction frees its numbers again). The ``journal`` view joins the two into the
change record of the sync design, so the sync outbox is simply
``journal WHERE origin_seq > last pushed``.
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from mdt_desk.models.base import Base

OP_SET = "set"


class JournalTransaction(Base):
    """One desk transaction that changed synced records."""

    __tablename__ = "journal_tx"

    tx: Mapped[int] = mapped_column(primary_key=True)
    tx_uuid: Mapped[uuid.UUID] = mapped_column(unique=True)
    replica_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    hlc: Mapped[int]
    recorded_at: Mapped[dt.datetime]
    schema_version: Mapped[int]


class JournalChange(Base):
    """One changed field. ``new_value`` is the JSON of the stored value."""

    __tablename__ = "journal_change"
    __table_args__ = (Index("ix_journal_change_row", "row_id"),)

    origin_seq: Mapped[int] = mapped_column(primary_key=True)
    # No index on tx: one writer at a time keeps a transaction's changes contiguous
    # in origin_seq order, which is how they are read.
    tx: Mapped[int] = mapped_column(ForeignKey("journal_tx.tx"))
    entity: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(40))
    op: Mapped[str] = mapped_column(String(10), default=OP_SET)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class JournalContext(Base):
    """The open journalled transaction, if any (a single row, id 1).

    Set at the start of :meth:`Store.write` and cleared before commit, inside the
    same transaction, so it is never seen set by another connection and a crash
    leaves it clear.
    """

    __tablename__ = "journal_context"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tx: Mapped[int | None]


class StoreMeta(Base):
    """Key/value facts about this store: replica id, clock, signed-in staff."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


JOURNAL_VIEW_DDL = """
CREATE VIEW journal AS
SELECT c.origin_seq, t.tx_uuid AS tx_id, t.replica_id AS origin_site, t.hlc,
       c.entity, c.row_id, c.field, c.op, c.old_value, c.new_value,
       t.actor_id, t.actor_label, t.recorded_at, t.schema_version
FROM journal_change AS c JOIN journal_tx AS t ON t.tx = c.tx
"""

JOURNAL_GUARD_DDL: tuple[str, ...] = (
    """CREATE TRIGGER journal_change_no_update BEFORE UPDATE ON journal_change
    BEGIN SELECT RAISE(ABORT, 'The change journal is append-only.'); END""",
    """CREATE TRIGGER journal_change_no_delete BEFORE DELETE ON journal_change
    BEGIN SELECT RAISE(ABORT, 'The change journal is append-only.'); END""",
    """CREATE TRIGGER journal_tx_no_update BEFORE UPDATE ON journal_tx
    BEGIN SELECT RAISE(ABORT, 'The change journal is append-only.'); END""",
    # An empty transaction's header may be dropped before it commits; one with
    # changes may not.
    """CREATE TRIGGER journal_tx_no_delete BEFORE DELETE ON journal_tx
    WHEN (SELECT tx FROM journal_change ORDER BY origin_seq DESC LIMIT 1) >= OLD.tx
    BEGIN SELECT RAISE(ABORT, 'The change journal is append-only.'); END""",
)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def journal_trigger_ddl(
    table: str, columns: Sequence[str], *, append_only: bool = False
) -> list[str]:
    """The triggers that journal every insert and update of ``table``.

    Args:
        table: the synced table.
        columns: every column except ``id``. Migrations pass an explicit list (frozen
            with the migration); a test checks the installed triggers cover every
            column of the current model.
        append_only: refuse updates of anything but the retirement columns (and the
            ``sensitive`` flag, where the table has one).
    """
    t = _quoted(table)
    guard = (
        "SELECT RAISE(ABORT, 'MDT Desk: a change to "
        + table
        + " was made outside a journalled transaction.') "
        "WHERE (SELECT tx FROM journal_context WHERE id = 1) IS NULL;"
    )
    insert_values = " UNION ALL ".join(
        f"SELECT '{c}' AS field, json_quote(NEW.{_quoted(c)}) AS new_value" for c in columns
    )
    update_values = " UNION ALL ".join(
        f"SELECT '{c}' AS field, json_quote(OLD.{_quoted(c)}) AS old_value, "
        f"json_quote(NEW.{_quoted(c)}) AS new_value"
        for c in columns
    )
    statements = [
        f"""CREATE TRIGGER journal_{table}_insert AFTER INSERT ON {t}
BEGIN
  {guard}
  INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)
  SELECT (SELECT tx FROM journal_context WHERE id = 1), '{table}', NEW.id, field, 'set',
         NULL, new_value
  FROM ({insert_values}) WHERE new_value <> 'null';
END""",
        f"""CREATE TRIGGER journal_{table}_update AFTER UPDATE ON {t}
BEGIN
  {guard}
  SELECT RAISE(ABORT, 'MDT Desk: a record id cannot change.') WHERE NEW.id IS NOT OLD.id;
  INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)
  SELECT (SELECT tx FROM journal_context WHERE id = 1), '{table}', NEW.id, field, 'set',
         old_value, new_value
  FROM ({update_values}) WHERE old_value IS NOT new_value;
END""",
        f"""CREATE TRIGGER journal_{table}_no_delete BEFORE DELETE ON {t}
BEGIN
  SELECT RAISE(ABORT, 'MDT Desk never deletes a record: retire it instead.');
END""",
    ]
    if append_only:
        # Marking a note sensitive after it was written only ever protects the person,
        # so ``sensitive`` may change on an append-only record; its content may not.
        content = [c for c in columns if c not in ("retired_at", "updated_at", "sensitive")]
        changed = " OR ".join(f"NEW.{_quoted(c)} IS NOT OLD.{_quoted(c)}" for c in content)
        statements.append(
            f"""CREATE TRIGGER journal_{table}_append_only BEFORE UPDATE ON {t}
WHEN {changed}
BEGIN
  SELECT RAISE(ABORT, 'MDT Desk: {table} records cannot be edited; add an amendment.');
END"""
        )
    return statements


def install_journal_triggers(
    connection: Connection, tables: Iterable[tuple[str, Sequence[str], bool]]
) -> None:
    """Create the journal triggers for each ``(table, columns, append_only)``."""
    for table, columns, append_only in tables:
        for statement in journal_trigger_ddl(table, columns, append_only=append_only):
            connection.execute(text(statement))


def drop_journal_triggers(connection: Connection, table: str) -> None:
    """Drop a table's journal triggers (a migration that changes columns re-creates them)."""
    for suffix in ("insert", "update", "no_delete", "append_only"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS journal_{table}_{suffix}"))


def current_actor_id(connection: Connection) -> uuid.UUID | None:
    """The actor of the journalled transaction open on ``connection``, if any."""
    value = connection.execute(
        text(
            "SELECT t.actor_id FROM journal_tx AS t "
            "JOIN journal_context AS c ON c.tx = t.tx WHERE c.id = 1"
        )
    ).scalar_one_or_none()
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@contextmanager
def triggers_lifted(
    session: Session, names: Iterable[str], *, required: bool = True
) -> Iterator[None]:
    """Lift the named triggers for the statements inside the block only.

    They are dropped and created again (from their own stored SQL) inside the caller's
    write transaction: no other connection ever sees the store without them, and a
    failure rolls the whole block back, triggers included. ``required``: every one
    must exist (a store without its guards is never written to as if it had them).
    """
    wanted = sorted(set(names))
    marks = ", ".join(f"'{name}'" for name in wanted)
    stored = [
        (str(name), str(sql))
        for name, sql in session.execute(
            text(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})"
            )
        )
    ]
    missing = set(wanted) - {name for name, _sql in stored}
    if required and missing:
        raise RuntimeError(f"store without its triggers: {sorted(missing)}")
    for name, _sql in stored:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in stored:
        session.execute(text(sql))
