"""The whole store as JSON, in a stable order: the same store gives the same bytes.

Layout (documented in docs/export-format.md)::

    {"format": "mdt-desk-export", "format_version": 1, "schema": "<revision>",
     "tables": {"practice": [row, ...], "staff": [...], ...,
                "journal_tx": [...], "journal_change": [...], "store_meta": [...]}}

Tables come in dependency order (parents first), then the journal and the store's
own facts. Rows are ordered by primary key; each row is an object with its columns
in sorted order and values in their stored form (text, integer, real or null; dates
``YYYY-MM-DD``, timestamps UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, ids as 32 hex digits,
booleans 0/1). One row per line, so two exports diff line by line.

Progress (:mod:`mdt_desk.services.progress`): each table is a phase named after the
table, done and total in rows; the totals are ``count(*)`` of each table, taken up
front (one index scan each, a few per cent of the export's time; announced as the
phase :data:`COUNTING`, total 0). A table of fewer than
:data:`PROGRESS_BATCH` rows is not reported: it is written in a fraction of a second.
"""

import json
import uuid
from typing import Any, TextIO

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mdt_desk.models import Action, Alert, Case, Note, synced_tables
from mdt_desk.services.access import Permission, principal_of, requires
from mdt_desk.services.progress import Progress
from mdt_desk.services.restricted import RESTRICTED_TEXT, SensitiveReader

FORMAT_NAME = "mdt-desk-export"
FORMAT_VERSION = 1
_EXTRA_TABLES = (("journal_tx", "tx"), ("journal_change", "origin_seq"), ("store_meta", "key"))
#: The progress phase of counting each table's rows before the export starts.
COUNTING = "counting"
#: Rows written between two progress reports (the command line shows one a second).
PROGRESS_BATCH = 5_000

#: Never exported, whoever exports: a PIN hash would let anyone holding the file try
#: PINs offline.
_NEVER_EXPORTED = {"staff": ("pin_hash",)}

#: A restricted row's columns that say what it is (need-to-know), and what an export
#: by someone who may not read it holds instead. Its journal changes and review items
#: of these fields lose their values too, or the history would tell what the row hides.
_RESTRICTED_COLUMNS: dict[str, dict[str, Any]] = {
    "alert": {"kind": "restricted", "detail": RESTRICTED_TEXT},
    "note": {"body": RESTRICTED_TEXT, "author_id": None},
    "action": {"description": RESTRICTED_TEXT, "owner_id": None, "goal_id": None},
}


def export_tables() -> list[tuple[str, str]]:
    """``(table, ordering key)`` in export order."""
    synced = [(table.name, "id") for table in synced_tables()]
    return synced + list(_EXTRA_TABLES)


@requires(Permission.EXPORT)
def export_json(session: Session, out: TextIO, progress: Progress | None = None) -> None:
    """Write the whole store to ``out`` (streamed: memory stays flat on big stores),
    reporting each table's rows to ``progress`` as they are written."""
    connection = session.connection()
    totals: dict[str, int] = {}
    if progress:
        progress(COUNTING, 0, 0)
        totals = _row_counts(session)
    hidden = restricted_row_ids(session)
    masked_reviews = _review_items_with_hidden_values(session, hidden)
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    out.write(
        "{"
        + f'"format": {json.dumps(FORMAT_NAME)}, "format_version": {FORMAT_VERSION}, '
        + f'"schema": {json.dumps(revision)},\n"tables": {{'
    )
    for table_index, (table, key) in enumerate(export_tables()):
        out.write(("," if table_index else "") + f"\n{json.dumps(table)}: [")
        result = connection.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY "{key}"')
        columns = list(result.keys())
        first = True
        total = totals.get(table, 0)
        reported = progress if total >= PROGRESS_BATCH else None
        if reported:
            reported(table, 0, total)
        done = 0
        for row in result:
            record = _need_to_know(table, dict(zip(columns, row, strict=True)), hidden)
            if (
                table == "journal_change"
                and record.get("entity") == "review_item"
                and record.get("field") in ("kept_value", "other_value")
                and _hex(record.get("row_id")) in masked_reviews
            ):
                # the review item's values are hidden: so is their history
                _drop_values(record)
            out.write(
                ("\n" if first else ",\n") + json.dumps(record, sort_keys=True, ensure_ascii=False)
            )
            first = False
            done += 1
            if reported and done % PROGRESS_BATCH == 0 and done < total:
                reported(table, done, total)
        if reported and done:
            # the rows written are the whole table, whatever the count up front said
            reported(table, done, done)
        out.write("]" if first else "\n]")
    out.write("\n}}\n")


def _row_counts(session: Session) -> dict[str, int]:
    """Each exported table's row count (the totals progress is reported against)."""
    connection = session.connection()
    return {
        table: int(connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())
        for table, _key in export_tables()
    }


def _review_items_with_hidden_values(session: Session, hidden: dict[str, set[str]]) -> set[str]:
    """Review items (ids as hex) whose values an export leaves out: a PIN hash, or the
    words of a restricted item the exporter may not read ("edited here, removed there"
    items name ``retired_at`` but carry the edit's value)."""
    masked: set[str] = set()
    rows = session.execute(text("SELECT id, kind, entity, row_id, field FROM review_item"))
    for item_id, kind, entity, row_id, field in rows:
        any_field = kind == "edit_vs_delete"
        credential = entity in _NEVER_EXPORTED and (any_field or field in _NEVER_EXPORTED[entity])
        restricted = (
            entity in _RESTRICTED_COLUMNS
            and (any_field or field in _RESTRICTED_COLUMNS[entity])
            and _hex(row_id) in hidden.get(entity, set())
        )
        if credential or restricted:
            masked.add(_hex(item_id))
    return masked


def _hex(value: object) -> str:
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return str(value)


def restricted_row_ids(session: Session) -> dict[str, set[str]]:
    """The sensitive alerts, notes and actions the exporter may not read, by table (ids
    as 32 hex digits). Empty for a privacy officer (and initial set-up)."""
    if principal_of(session).may(Permission.READ_ALL_SENSITIVE):
        return {}
    reader = SensitiveReader(session)
    owners = {
        "alert": select(Alert.id, Alert.patient_id).where(Alert.sensitive.is_(True)),
        "note": select(Note.id, Case.patient_id)
        .join(Case, Case.id == Note.case_id)
        .where(Note.sensitive.is_(True)),
        "action": select(Action.id, Case.patient_id)
        .join(Case, Case.id == Action.case_id)
        .where(Action.sensitive.is_(True)),
    }
    return {
        table: {
            row_id.hex
            for row_id, patient_id in session.execute(query)
            if not reader.may_read(patient_id)
        }
        for table, query in owners.items()
    }


def _need_to_know(
    table: str, record: dict[str, Any], hidden: dict[str, set[str]]
) -> dict[str, Any]:
    for column in _NEVER_EXPORTED.get(table, ()):
        record.pop(column, None)
    if table in ("journal_change", "review_item") and record.get("field") in _NEVER_EXPORTED.get(
        str(record.get("entity")), ()
    ):
        _drop_values(record)
    # An "edited here, removed there" item names the field retired_at but carries the
    # edit's value, which for a staff record may be a PIN hash.
    if (
        table == "review_item"
        and record.get("kind") == "edit_vs_delete"
        and record.get("entity") in _NEVER_EXPORTED
    ):
        _drop_values(record)
    if not hidden:
        return record
    if table in _RESTRICTED_COLUMNS:
        if _hex(record["id"]) in hidden[table]:
            record.update(_RESTRICTED_COLUMNS[table])
    elif table in ("journal_change", "review_item"):
        entity, field = record.get("entity"), record.get("field")
        edit_vs_delete = table == "review_item" and record.get("kind") == "edit_vs_delete"
        if (
            entity in _RESTRICTED_COLUMNS
            and (field in _RESTRICTED_COLUMNS[entity] or edit_vs_delete)
            and _hex(record.get("row_id")) in hidden[entity]
        ):
            _drop_values(record)
    return record


def _drop_values(record: dict[str, Any]) -> None:
    """A journal change's or review item's values, emptied (it still says what changed)."""
    for column in ("old_value", "new_value", "kept_value", "other_value"):
        if column in record:
            record[column] = None
