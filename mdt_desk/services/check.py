"""``mdt-desk check``: is this store sound?

Four checks, each reported separately: SQLite's own integrity check, foreign keys,
the journal triggers cover every column of every synced table, and the journal is
complete (every stored value is the latest journalled value of its field, no
journal row names a record that is gone, the sequence has no gaps but those left by
discarded imports).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mdt_desk.models import synced_tables
from mdt_desk.models.imports import META_DISCARDED_JOURNAL
from mdt_desk.models.store import APPLICATION_ID, DRIVER_ERRORS, Store

#: A DB-API connection to the store (``sqlcipher3``), keyed.
RawConnection = Any


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def synced_columns() -> list[tuple[str, list[str]]]:
    """Each synced table's name and its journalled columns (all but ``id``)."""
    return [
        (table.name, [column.name for column in table.columns if column.name != "id"])
        for table in synced_tables()
    ]


def _integrity(raw: RawConnection) -> CheckResult:
    rows = [str(row[0]) for row in raw.execute("PRAGMA integrity_check")]
    application_id = raw.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        rows.append("the file is not marked as an MDT Desk store")
    if rows == ["ok"]:
        return CheckResult("integrity", True, "SQLite integrity check ok")
    return CheckResult("integrity", False, "; ".join(rows[:10]))


def _foreign_keys(raw: RawConnection) -> CheckResult:
    problems = raw.execute("PRAGMA foreign_key_check").fetchall()
    if not problems:
        return CheckResult("foreign keys", True, "every reference points to a record")
    tables = sorted({str(row[0]) for row in problems})
    return CheckResult(
        "foreign keys", False, f"{len(problems)} broken references in {', '.join(tables)}"
    )


def _triggers(raw: RawConnection) -> CheckResult:
    triggers = dict(
        raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    )
    missing: list[str] = []
    for table, columns in synced_columns():
        for kind in ("insert", "update", "no_delete"):
            sql = triggers.get(f"journal_{table}_{kind}")
            if sql is None:
                missing.append(f"{table} ({kind} trigger)")
                continue
            if kind != "no_delete":
                missing.extend(
                    f"{table}.{column}" for column in columns if f'NEW."{column}"' not in sql
                )
    if not missing:
        return CheckResult("journal triggers", True, "every column of every synced table")
    return CheckResult("journal triggers", False, "not journalled: " + ", ".join(missing[:20]))


def _journal_complete(raw: RawConnection) -> CheckResult:
    count, lowest, highest = raw.execute(
        "SELECT count(*), min(origin_seq), max(origin_seq) FROM journal_change"
    ).fetchone()
    problems: list[str] = []
    discarded = 0
    if count and (lowest != 1 or highest != count):
        unexplained, discarded = _gaps(raw)
        if unexplained:
            problems.append(f"the journal sequence has gaps ({count} rows up to {highest})")
    raw.execute(
        "CREATE TEMP TABLE latest AS SELECT entity, row_id, field, new_value, "
        "max(origin_seq) AS seq FROM journal_change GROUP BY entity, row_id, field"
    )
    raw.execute("CREATE UNIQUE INDEX temp.latest_key ON latest (entity, row_id, field)")
    for table, columns in synced_columns():
        for column in columns:
            differing = raw.execute(
                f'SELECT count(*) FROM "{table}" AS t WHERE json_quote(t."{column}") IS NOT '
                "coalesce((SELECT new_value FROM latest WHERE entity = ? AND row_id = t.id "
                "AND field = ?), 'null')",
                (table, column),
            ).fetchone()[0]
            if differing:
                problems.append(f"{table}.{column} differs from the journal in {differing} rows")
        orphans = raw.execute(
            "SELECT count(*) FROM (SELECT DISTINCT row_id FROM latest WHERE entity = ?) AS l "
            f'WHERE NOT EXISTS (SELECT 1 FROM "{table}" WHERE id = l.row_id)',
            (table,),
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} {table} records in the journal are missing from the store")
    raw.execute("DROP TABLE temp.latest")
    if not problems:
        gaps = f"{discarded} numbers of discarded imports unused" if discarded else "no gaps"
        return CheckResult("journal", True, f"complete: {count} changes, {gaps}")
    return CheckResult("journal", False, "; ".join(problems[:20]))


def _gaps(raw: RawConnection) -> tuple[int, int]:
    """The numbers missing from the journal sequence: (unexplained, of discarded imports).

    A patient import that failed before it was published has its journal rows deleted
    (they were never shown nor sent; models/imports.py); the range they spanned is noted
    in ``store_meta``. Any other missing number is a lost change.
    """
    found = raw.execute(
        "SELECT value FROM store_meta WHERE key = ?", (META_DISCARDED_JOURNAL,)
    ).fetchone()
    ranges: list[list[int]] = []
    for low, high in sorted(json.loads(found[0]).values()) if found else []:
        if ranges and low <= ranges[-1][1] + 1:  # two imports' ranges may overlap
            ranges[-1][1] = max(ranges[-1][1], high)
        else:
            ranges.append([low, high])
    unexplained = explained = 0
    for first, last in raw.execute(
        "SELECT previous + 1, origin_seq - 1 FROM (SELECT origin_seq,"
        " lag(origin_seq, 1, 0) OVER (ORDER BY origin_seq) AS previous FROM journal_change)"
        " WHERE origin_seq > previous + 1"
    ):
        size = last - first + 1
        if any(low <= first and last <= high for low, high in ranges):
            explained += size
        else:
            unexplained += size
    return unexplained, explained


def check_store(store: Store) -> CheckReport:
    """Run every check; a damaged file makes the check that met it fail, not crash."""
    checks: list[CheckResult] = []
    steps: list[tuple[str, Callable[[RawConnection], CheckResult]]] = [
        ("integrity", _integrity),
        ("foreign keys", _foreign_keys),
        ("journal triggers", _triggers),
        ("journal", _journal_complete),
    ]
    raw = store.raw_connection()
    try:
        for name, step in steps:
            try:
                checks.append(step(raw))
            except DRIVER_ERRORS as error:
                checks.append(CheckResult(name, False, f"the store is damaged: {error}"))
    finally:
        raw.close()
    return CheckReport(tuple(checks))
