"""``mdt-desk check``: is this store sound?

Five checks, each reported separately: SQLite's own integrity check, foreign keys,
the journal triggers cover every column of every synced table, the journal is
complete (every stored value is the latest journalled value of its field, no
journal row names a record that is gone, the sequence has no gaps but those left by
discarded imports), and every origin desk's hash chain holds (``models/seal.py``: each
transaction is sealed, its header is the one sealed, this desk's own changes are the
ones sealed, and each seal follows the one before it).

Progress (:mod:`mdt_desk.services.progress`): each check is a phase (the constants
below), announced as it starts. SQLite's integrity check is one step nobody can count
(total 0): while it runs, each second reports the seconds it has taken so far. The
others count what they go through: tables, transactions, columns.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mdt_desk.models import synced_tables
from mdt_desk.models.imports import META_DISCARDED_JOURNAL
from mdt_desk.models.seal import (
    META_SEAL_BOUNDARY,
    SEAL_COLUMNS,
    ChainBreak,
    Seal,
    header_problem,
    hex_id,
    journal_content,
    link_problem,
    record_name,
)
from mdt_desk.models.store import APPLICATION_ID, DRIVER_ERRORS, META_REPLICA_ID, Store
from mdt_desk.services.progress import Progress, heartbeat, no_progress

#: Progress phases, one a check (done and total as each says).
INTEGRITY = "integrity"  # SQLite's own check: one step, total 0, done in seconds taken
FOREIGN_KEYS = "foreign keys"  # in tables
TRIGGERS = "journal triggers"  # in synced tables
CHAIN = "journal chain"  # in transactions: every header against its seal
SEALED_CONTENT = "sealed content"  # in changes: this desk's own, hashed again
JOURNAL = "journal"  # in columns of synced tables compared with the journal

#: A DB-API connection to the store (``sqlcipher3``), keyed.
RawConnection = Any


#: Transactions checked between two progress reports of the journal chain.
_CHAIN_BATCH = 1_000


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


def _integrity(raw: RawConnection, progress: Progress) -> CheckResult:
    progress(INTEGRITY, 0, 0)  # one step: announced before it starts
    with heartbeat(progress, INTEGRITY):  # then the seconds it has taken, each second
        rows = [str(row[0]) for row in raw.execute("PRAGMA integrity_check")]
    application_id = raw.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        rows.append("the file is not marked as an MDT Desk store")
    if rows == ["ok"]:
        return CheckResult("integrity", True, "SQLite integrity check ok")
    return CheckResult("integrity", False, "; ".join(rows[:10]))


def _foreign_keys(raw: RawConnection, progress: Progress) -> CheckResult:
    # Table by table (the same check as the whole-store pragma), so it can be counted.
    tables = [
        str(row[0])
        for row in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    problems: list[Any] = []
    progress(FOREIGN_KEYS, 0, len(tables))
    for done, table in enumerate(tables, 1):
        problems += raw.execute(f'PRAGMA foreign_key_check("{table}")').fetchall()
        progress(FOREIGN_KEYS, done, len(tables))
    if not problems:
        return CheckResult("foreign keys", True, "every reference points to a record")
    broken = sorted({str(row[0]) for row in problems})
    return CheckResult(
        "foreign keys", False, f"{len(problems)} broken references in {', '.join(broken)}"
    )


def _triggers(raw: RawConnection, progress: Progress) -> CheckResult:
    triggers = dict(
        raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    )
    missing: list[str] = []
    tables = synced_columns()
    progress(TRIGGERS, 0, len(tables))
    for done, (table, columns) in enumerate(tables, 1):
        for kind in ("insert", "update", "no_delete"):
            sql = triggers.get(f"journal_{table}_{kind}")
            if sql is None:
                missing.append(f"{table} ({kind} trigger)")
                continue
            if kind != "no_delete":
                missing.extend(
                    f"{table}.{column}" for column in columns if f'NEW."{column}"' not in sql
                )
        progress(TRIGGERS, done, len(tables))
    if not missing:
        return CheckResult("journal triggers", True, "every column of every synced table")
    return CheckResult("journal triggers", False, "not journalled: " + ", ".join(missing[:20]))


def _journal_complete(raw: RawConnection, progress: Progress) -> CheckResult:
    count, lowest, highest = raw.execute(
        "SELECT count(*), min(origin_seq), max(origin_seq) FROM journal_change"
    ).fetchone()
    problems: list[str] = []
    discarded = 0
    if count and (lowest != 1 or highest != count):
        unexplained, discarded = _gaps(raw)
        if unexplained:
            problems.append(f"the journal sequence has gaps ({count} rows up to {highest})")
    tables = synced_columns()
    # Building the latest value of every field is the first step; then each column,
    # and each table's records the journal names.
    total = 1 + sum(len(columns) + 1 for _table, columns in tables)
    progress(JOURNAL, 0, total)
    raw.execute(
        "CREATE TEMP TABLE latest AS SELECT entity, row_id, field, new_value, "
        "max(origin_seq) AS seq FROM journal_change GROUP BY entity, row_id, field"
    )
    raw.execute("CREATE UNIQUE INDEX temp.latest_key ON latest (entity, row_id, field)")
    done = 1
    progress(JOURNAL, done, total)
    for table, columns in tables:
        for column in columns:
            differing = raw.execute(
                f'SELECT count(*) FROM "{table}" AS t WHERE json_quote(t."{column}") IS NOT '
                "coalesce((SELECT new_value FROM latest WHERE entity = ? AND row_id = t.id "
                "AND field = ?), 'null')",
                (table, column),
            ).fetchone()[0]
            if differing:
                problems.append(f"{table}.{column} differs from the journal in {differing} rows")
            done += 1
            progress(JOURNAL, done, total)
        orphans = raw.execute(
            "SELECT count(*) FROM (SELECT DISTINCT row_id FROM latest WHERE entity = ?) AS l "
            f'WHERE NOT EXISTS (SELECT 1 FROM "{table}" WHERE id = l.row_id)'
            # Records that left this desk's practices: its own edits to them stay.
            " AND NOT EXISTS (SELECT 1 FROM scope_removed_row r WHERE r.entity = ?"
            " AND r.row_id = l.row_id)",
            (table, table),
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} {table} records in the journal are missing from the store")
        done += 1
        progress(JOURNAL, done, total)
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
    noted = list(json.loads(found[0]).values()) if found else []
    # Records that left this desk's practices went with their journal rows (scopes,
    # sync/desk_scope.py): each removal noted its positions.
    noted += [
        list(row) for row in raw.execute("SELECT first_seq, last_seq FROM scope_removed_range")
    ]
    ranges: list[list[int]] = []
    for low, high in sorted(noted):
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


def _row_dict(cursor: Any, row: Sequence[Any]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _link_breaks(seals: Sequence[Seal], me: str) -> list[ChainBreak]:
    """Each origin's seals, one after the other (ordered by origin and chain number)."""
    breaks: list[ChainBreak] = []
    previous: tuple[int, str] | None = None
    for index, seal in enumerate(seals):
        if index == 0 or seals[index - 1].origin != seal.origin:
            previous = None
        problem = link_problem(seal, previous, anchor_ok=seal.origin != me)
        if problem:
            breaks.append(
                ChainBreak(seal.origin, seal.first_seq, f"transaction {seal.tx_id}", problem)
            )
        previous = (seal.chain_seq, seal.seal_hash)
    return breaks


def _header_breaks(
    raw: RawConnection,
    by_tx: dict[str, Seal],
    me: str,
    boundary: int,
    unsealed: set[str],
    *,
    step: Callable[[], None],
) -> list[ChainBreak]:
    """Every transaction with changes: sealed, and its header the one sealed."""
    breaks: list[ChainBreak] = []
    cursor = raw.execute(
        "SELECT t.tx, t.tx_uuid, t.replica_id, t.actor_id, t.actor_label, t.recorded_at,"
        " t.hlc, t.schema_version, min(c.origin_seq) AS first_seq, c.entity, c.row_id, c.field"
        " FROM journal_tx t JOIN journal_change c ON c.tx = t.tx GROUP BY t.tx ORDER BY t.tx"
    )
    for row in cursor.fetchall():
        step()
        header = _row_dict(cursor, row)
        tx_id, origin = hex_id(header["tx_uuid"]), hex_id(header["replica_id"])
        record = record_name(header["entity"], header["row_id"], header["field"])
        seal = by_tx.get(tx_id)
        if seal is None:
            if origin == me or (int(header["tx"]) > boundary and tx_id not in unsealed):
                breaks.append(
                    ChainBreak(
                        origin,
                        int(header["first_seq"]),
                        record,
                        "a transaction outside the chain (inserted: nothing sealed it)",
                    )
                )
        elif header_problem(
            seal,
            origin=origin,
            actor_id=header["actor_id"],
            actor_label=str(header["actor_label"]),
            recorded_at=header["recorded_at"],
            hlc=int(header["hlc"]),
            schema_version=int(header["schema_version"]),
        ):
            breaks.append(
                ChainBreak(
                    origin,
                    seal.first_seq,
                    record,
                    "its author, time or desk differs from what was sealed",
                )
            )
    return breaks


def _content_breaks(
    raw: RawConnection, by_tx: dict[str, Seal], me: str, progress: Progress
) -> tuple[list[ChainBreak], set[str]]:
    """This desk's own transactions: their changes are here whole, so their content too
    (hashed from text SQLite builds, as when they were sealed: a big store's journal is
    never held in memory). Also which of its transactions have changes here."""
    breaks: list[ChainBreak] = []
    seen: set[str] = set()
    own = raw.execute(
        "SELECT t.tx_uuid, c.tx, min(c.origin_seq), max(c.origin_seq), c.entity, c.row_id,"
        " c.field, count(*) FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
        " WHERE t.replica_id = ? GROUP BY c.tx ORDER BY 3",
        (me,),
    ).fetchall()
    # Counted in changes, reported after each transaction (hashed in one piece).
    total = sum(int(row[7]) for row in own)
    done = 0
    progress(SEALED_CONTENT, 0, total)
    for tx_uuid, tx, first, last, entity, row_id, name, changes in own:
        done += int(changes)
        tx_id = hex_id(tx_uuid)
        seen.add(tx_id)
        seal = by_tx.get(tx_id)
        if seal is None:
            progress(SEALED_CONTENT, done, total)
            continue  # reported with the headers
        content = journal_content(raw, int(tx), int(first) - 1, int(last))
        progress(SEALED_CONTENT, done, total)
        problem = ""
        if (content.count, content.first_seq, content.last_seq) != (
            seal.change_count,
            seal.first_seq,
            seal.last_seq,
        ):
            problem = f"it holds {content.count} changes where {seal.change_count} were sealed"
        elif content.digest != seal.content_hash:
            problem = (
                "a change differs from what was sealed (a value, field or record was rewritten)"
            )
        if problem:
            breaks.append(
                ChainBreak(me, seal.first_seq, record_name(entity, row_id, name), problem)
            )
    return breaks, seen


def _chain_breaks(raw: RawConnection, progress: Progress) -> tuple[list[ChainBreak], int, int]:
    """Every break of every origin's chain here; (breaks, seals, unsealed received)."""
    meta = dict(raw.execute("SELECT key, value FROM store_meta").fetchall())
    me = hex_id(meta.get(META_REPLICA_ID, ""))
    boundary = int(meta.get(META_SEAL_BOUNDARY, "0") or 0)
    cursor = raw.execute(
        f"SELECT {', '.join(SEAL_COLUMNS)} FROM journal_seal ORDER BY origin, chain_seq"
    )
    seals = [Seal.from_row(_row_dict(cursor, row)) for row in cursor.fetchall()]
    by_tx = {seal.tx_id: seal for seal in seals}
    unsealed = {str(row[0]) for row in raw.execute("SELECT tx_id FROM journal_unsealed")}
    # The team hub's own transactions a restored hub lost: their seals were withdrawn
    # on record (journal_seal_withdrawn, with when and why), so they stand unsealed.
    withdrawn = {str(row[0]) for row in raw.execute("SELECT tx_id FROM journal_seal_withdrawn")}
    # Counted in transactions (a transaction without changes is counted and never
    # met: the end is reported whole).
    total = raw.execute("SELECT count(*) FROM journal_tx").fetchone()[0]
    done = 0
    progress(CHAIN, 0, total)

    def step() -> None:
        nonlocal done
        done += 1
        if done % _CHAIN_BATCH == 0 and done < total:
            progress(CHAIN, done, total)

    breaks = _link_breaks(seals, me) + _header_breaks(
        raw, by_tx, me, boundary, unsealed | withdrawn, step=step
    )
    progress(CHAIN, total, total)
    content, seen = _content_breaks(raw, by_tx, me, progress)
    breaks += content
    breaks += [
        ChainBreak(
            me,
            seal.first_seq,
            f"transaction {seal.tx_id}",
            "its changes are missing from the journal",
        )
        for seal in seals
        if seal.origin == me and seal.tx_id not in seen
    ]
    breaks.sort(key=lambda found: (found.origin != me, found.origin, found.origin_seq))
    return breaks, len(seals), len(unsealed)


def _chains(raw: RawConnection, progress: Progress) -> CheckResult:
    breaks, sealed, unsealed = _chain_breaks(raw, progress)
    if not breaks:
        before = f"; {unsealed} received from before the hub kept seals" if unsealed else ""
        return CheckResult(
            "journal chain", True, f"every chain holds: {sealed} sealed transactions{before}"
        )
    me = hex_id(
        raw.execute("SELECT value FROM store_meta WHERE key = ?", (META_REPLICA_ID,)).fetchone()[0]
    )
    shown = [found.describe("this desk" if found.origin == me else "") for found in breaks[:20]]
    more = f" (and {len(breaks) - 20} more)" if len(breaks) > 20 else ""
    return CheckResult("journal chain", False, f"{len(breaks)} breaks: " + "; ".join(shown) + more)


def check_store(store: Store, progress: Progress | None = None) -> CheckReport:
    """Run every check, each reporting to ``progress`` as it goes; a damaged file makes
    the check that met it fail, not crash."""
    checks: list[CheckResult] = []
    steps: list[tuple[str, Callable[[RawConnection, Progress], CheckResult]]] = [
        (INTEGRITY, _integrity),
        (FOREIGN_KEYS, _foreign_keys),
        (TRIGGERS, _triggers),
        (CHAIN, _chains),
        (JOURNAL, _journal_complete),
    ]
    raw = store.raw_connection()
    try:
        for name, step in steps:
            try:
                checks.append(step(raw, progress or no_progress))
            except DRIVER_ERRORS as error:
                checks.append(CheckResult(name, False, f"the store is damaged: {error}"))
    finally:
        raw.close()
    return CheckReport(tuple(checks))
