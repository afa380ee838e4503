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
"""

import json
from typing import TextIO

from sqlalchemy import text
from sqlalchemy.orm import Session

from mdt_desk.models import synced_tables

FORMAT_NAME = "mdt-desk-export"
FORMAT_VERSION = 1
_EXTRA_TABLES = (("journal_tx", "tx"), ("journal_change", "origin_seq"), ("store_meta", "key"))


def export_tables() -> list[tuple[str, str]]:
    """``(table, ordering key)`` in export order."""
    synced = [(table.name, "id") for table in synced_tables()]
    return synced + list(_EXTRA_TABLES)


def export_json(session: Session, out: TextIO) -> None:
    """Write the whole store to ``out`` (streamed: memory stays flat on big stores)."""
    connection = session.connection()
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
        for row in result:
            record = dict(zip(columns, row, strict=True))
            out.write(
                ("\n" if first else ",\n") + json.dumps(record, sort_keys=True, ensure_ascii=False)
            )
            first = False
        out.write("]" if first else "\n]")
    out.write("\n}}\n")
