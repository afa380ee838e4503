"""Patient imports still being written: hidden from every reader and from sync.

A long patient import writes its new patients in short journalled transactions, so
that colleagues are never locked out for long (``services/patient_import.py``). Until
its last transaction commits, every patient it wrote is listed in
``patient_import_row``, and a listed patient does not exist for anyone:

* **Readers.** Every ORM ``SELECT`` run through a :class:`~sqlalchemy.orm.Session`
  gets the criterion :func:`published_patients` on :class:`Patient` (one hook, below:
  the caseload, quick find, look-ups by NHS number, exports, counts, a record opened
  by id). SQLite answers the ``NOT IN`` by probing this table's primary key: with no
  import running the table is empty and the probe costs next to nothing.
* **Sync.** The import's journal rows are written by the journal triggers as for any
  other insert. ``patient_import.first_seq`` is the first of them; the outbox sends
  nothing from there on (:data:`UNSENT_FROM_SQL`) until the import is published.
  Pushes are ordered and gapless per desk, so a colleague's edit made meanwhile on the
  same desk waits behind it rather than overtaking rows that may yet be discarded.

The last transaction deletes the import's listing: everything appears, and is sent, at
once. An import that fails is *discarded* (:func:`discard_import`): its patients and
their journal rows are deleted, which only ever happens to rows nobody has seen and
the hub has not received. ``patient_import`` keeps one row per tracked import (running,
or stopped and not yet imported again) so the next import can say so.

These are local tables: never journalled, never synced.
"""

import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy import (
    ColumnElement,
    Index,
    Select,
    String,
    Text,
    and_,
    event,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from mdt_desk.models.base import Base, utc_now
from mdt_desk.models.entities import Patient
from mdt_desk.models.journal import triggers_lifted
from mdt_desk.models.seal import reseal_unsent_tail
from mdt_desk.models.store import SEES_PUBLISHED_PATIENTS_ONLY, Store


class PatientImport(Base):
    """A patient import being written, or stopped before it was complete."""

    __tablename__ = "patient_import"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime]
    #: Renewed by each of the import's transactions (a fraction of a second apart):
    #: an import silent for :data:`ABANDONED_AFTER` is no longer running.
    heartbeat_at: Mapped[dt.datetime]
    rows: Mapped[int]
    written: Mapped[int] = mapped_column(default=0)
    #: The first journal row of the import; ``None`` once it is discarded (or before
    #: it wrote anything).
    first_seq: Mapped[int | None]
    #: When it stopped and was discarded; ``None`` while it runs.
    stopped_at: Mapped[dt.datetime | None]


class PatientImportRow(Base):
    """A patient written by an import that is not published yet."""

    __tablename__ = "patient_import_row"
    __table_args__ = (
        Index("ix_patient_import_row_import_id", "import_id"),
        {"sqlite_with_rowid": False},
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    import_id: Mapped[str] = mapped_column(String(32))
    #: The journal transaction that wrote the patient (its header goes when discarded).
    tx: Mapped[int]


#: An import whose transactions have stopped for this long has died (a crash, the
#: computer switched off): it is discarded by the next import or sync. A running
#: import renews its heartbeat every second at most; a write waits 10 s at most.
ABANDONED_AFTER = dt.timedelta(minutes=2)

#: ``store_meta`` key: the journal sequence ranges of discarded imports, as JSON
#: ``{import id: [first, last]}``, so ``mdt-desk check`` can tell their gaps from loss.
META_DISCARDED_JOURNAL = "journal_discarded_ranges"

#: The first journal sequence number sync must not send yet (an unpublished import's
#: first row), as a scalar subquery; "no limit" when no import is running.
UNSENT_FROM_SQL = (
    "(SELECT coalesce(min(first_seq), 9223372036854775807) FROM patient_import"
    " WHERE first_seq IS NOT NULL)"
)

#: Patients deleted per transaction when an import is discarded (each has ~14
#: journal rows): about 0.4 s of write lock, as the import's own transactions.
_DISCARD_ROWS = 4000
#: Pause between those transactions, so another program's waiting write gets in
#: (SQLite's busy handler retries at most every 100 ms).
_DISCARD_PAUSE_SECONDS = 0.1
#: The guards that refuse deletes; lifted only inside a discarding transaction.
_DELETE_GUARDS = (
    "journal_change_no_delete",
    "journal_tx_no_delete",
    "journal_patient_no_delete",
    "journal_seal_no_delete",
)


def published_patients(cls: type[Patient]) -> ColumnElement[bool]:
    """The criterion every read of patients carries: not written by an unpublished import."""
    return cls.id.not_in(select(PatientImportRow.patient_id))


@event.listens_for(Session, "do_orm_execute")
def _hide_unpublished_patients(state: ORMExecuteState) -> None:
    # Reads inside write transactions (a referral finding its person by NHS number,
    # an import matching the store): a write connection cannot have the read
    # connections' view (models/store.py), since it writes the table. Lazy and column
    # loads follow their parent statement.
    if (
        not state.session.info.get(SEES_PUBLISHED_PATIENTS_ONLY)
        and state.is_select
        and isinstance(state.statement, Select)
        and not state.is_column_load
        and not state.is_relationship_load
    ):
        state.statement = state.statement.options(
            with_loader_criteria(Patient, published_patients, include_aliases=True)
        )


def _deletes_allowed(session: Session) -> AbstractContextManager[None]:
    """Lift the delete guards for the rest of this transaction's statements in the block."""
    return triggers_lifted(session, _DELETE_GUARDS)


def _note_discarded_range(
    store: Store, session: Session, import_id: str, seqs: tuple[int, int]
) -> None:
    low, high = seqs
    value = session.execute(
        text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_DISCARDED_JOURNAL}
    ).scalar_one_or_none()
    ranges: dict[str, list[int]] = json.loads(value) if value else {}
    before = ranges.get(import_id, [low, high])
    ranges[import_id] = [min(before[0], low), max(before[1], high)]
    store.set_meta(session, META_DISCARDED_JOURNAL, json.dumps(ranges, sort_keys=True))


def discard_import(store: Store, import_id: str) -> int:
    """Delete what an unpublished import wrote; return how many patients went.

    In short transactions, like the import: the patients stay hidden until the last
    is gone. Deleted with them: their journal rows (never sent: the outbox stops at
    the import's first row) and the import's journal headers. The import's row in
    ``patient_import`` stays, marked stopped (at the time it was discarded), so the
    next import says so; its first journal row is cleared, so sync goes on.

    The import is marked stopped in the first transaction, before anything is
    deleted: an import still running (taken for a crashed one) then refuses to
    publish what is left of it (``services/patient_import.py``, H99).
    """
    deleted = 0
    headers: set[int] = set()
    with store.write_session() as session:
        session.execute(
            update(PatientImport)
            .where(PatientImport.id == import_id, PatientImport.stopped_at.is_(None))
            .values(stopped_at=utc_now())
        )
    while True:
        with store.write_session() as session:
            rows = session.execute(
                select(PatientImportRow.patient_id, PatientImportRow.tx)
                .where(PatientImportRow.import_id == import_id)
                .limit(_DISCARD_ROWS)
            ).all()
            if not rows:
                first_seq = session.execute(
                    select(PatientImport.first_seq).where(PatientImport.id == import_id)
                ).scalar_one_or_none()
                with _deletes_allowed(session):
                    _delete_headers(session, sorted(headers))
                    if first_seq is not None:
                        # Nothing from the import's first row on was ever sent: the
                        # desk's chain is sealed again over what is left of that tail.
                        reseal_unsent_tail(session, store.replica_id.hex, int(first_seq))
                session.execute(
                    update(PatientImport)
                    .where(PatientImport.id == import_id)
                    .values(first_seq=None)
                )
                return deleted
            ids = [row.patient_id.hex for row in rows]
            headers.update(int(row.tx) for row in rows)
            marks = ", ".join(f":i{index}" for index in range(len(ids)))
            values = {f"i{index}": value for index, value in enumerate(ids)}
            low, high = session.execute(
                text(
                    "SELECT min(origin_seq), max(origin_seq) FROM journal_change"
                    f" WHERE entity = 'patient' AND row_id IN ({marks})"
                ),
                values,
            ).one()
            with _deletes_allowed(session):
                session.execute(
                    text(
                        "DELETE FROM journal_change"
                        f" WHERE entity = 'patient' AND row_id IN ({marks})"
                    ),
                    values,
                )
                session.execute(text(f"DELETE FROM patient WHERE id IN ({marks})"), values)
            session.execute(
                text(f"DELETE FROM patient_import_row WHERE patient_id IN ({marks})"), values
            )
            if low is not None:
                _note_discarded_range(store, session, import_id, (int(low), int(high)))
            deleted += len(ids)
        time.sleep(_DISCARD_PAUSE_SECONDS)


def _delete_headers(session: Session, headers: Sequence[int]) -> None:
    # journal_change references journal_tx: a header that still had a change (which
    # only this import writes under its headers) would fail the whole transaction.
    for start in range(0, len(headers), 500):
        chunk = headers[start : start + 500]
        session.execute(
            text(f"DELETE FROM journal_tx WHERE tx IN ({', '.join(str(int(tx)) for tx in chunk)})")
        )


def discard_abandoned_imports(store: Store, now: dt.datetime | None = None) -> int:
    """Discard every import that stopped without being able to clean up after itself.

    Run before an import and before a sync push, so a crashed import never holds up
    sync for long. Also finishes a discard that was itself interrupted part way
    (marked stopped, with hidden patients or its first journal row left). Returns how
    many imports were discarded.
    """
    limit = (now or utc_now()) - ABANDONED_AFTER
    with store.read() as session:
        abandoned = list(
            session.scalars(
                select(PatientImport.id).where(
                    or_(
                        and_(
                            PatientImport.stopped_at.is_(None), PatientImport.heartbeat_at < limit
                        ),
                        and_(
                            PatientImport.stopped_at.is_not(None),
                            PatientImport.stopped_at < limit,
                            or_(
                                PatientImport.first_seq.is_not(None),
                                select(PatientImportRow.patient_id)
                                .where(PatientImportRow.import_id == PatientImport.id)
                                .exists(),
                            ),
                        ),
                    )
                )
            )
        )
    for import_id in abandoned:
        discard_import(store, import_id)
    return len(abandoned)
