"""Benchmark the caseload page and the name search against raw SQLite.

Usage::

    .venv/bin/python bench/bench_queries.py --store /tmp/demo100k.sqlite [--patients 100000]

If the store does not exist it is first filled with ``generate_demo`` (and the time
that took is reported). Each query is then run through its service function
(SQLAlchemy, in a ``store.read()`` session) and, as the baseline, the very same SQL
and parameters (captured from the service) through a raw ``sqlcipher3`` connection,
keyed, on the same encrypted file, in this process. Targets: median at most 20 ms, and
at most 3 times the raw baseline.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models import Practice
from mdt_desk.models.enums import CaseStatus
from mdt_desk.models.store import Store
from mdt_desk.services.caseload import CaseloadRow, PatientMatch, caseload_page, find_patients
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.staff import signed_in_staff_id

TARGET_MEDIAN_MS = 20.0
TARGET_RATIO = 3.0
NAME_PREFIXES = ("smi", "pat", "now", "jon", "bak", "mac", "o'b", "kel", "tay", "wil")

Captured = tuple[str, Sequence[Any]]
T = TypeVar("T")
_ID_FIELD = {CaseloadRow: "case_id", PatientMatch: "patient_id"}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(variants: Sequence[Sequence[Callable[[], object]]], repeat: int) -> list[list[float]]:
    """Milliseconds of ``repeat`` runs of each variant, interleaved.

    Run ``index`` calls ``variant[index % len(variant)]`` of every variant in turn, so
    all variants see the same machine (this VM's speed drifts from minute to minute).
    """
    for variant in variants:  # warm the caches and SQLAlchemy's statement cache
        for call in variant:
            call()
    times: list[list[float]] = [[] for _ in variants]
    for index in range(repeat):
        for variant, variant_times in zip(variants, times, strict=True):
            call = variant[index % len(variant)]
            started = time.perf_counter()
            call()
            variant_times.append((time.perf_counter() - started) * 1000)
    return times


def raw_query(raw: Any, sql: str, parameters: Any) -> Callable[[], object]:
    """The captured statement run on the raw (keyed) connection, all rows fetched."""
    return lambda: raw.execute(sql, parameters).fetchall()


def captured_selects(session: Session, call: Callable[[], object]) -> list[Captured]:
    """Every SELECT ``call`` sent to SQLite through ``session``, with its parameters."""
    seen: list[Captured] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    return seen


def capture_sql(session: Session, call: Callable[[], object]) -> Captured:
    """The last SELECT the service sent to SQLite, with its parameters."""
    return captured_selects(session, call)[-1]


Result = tuple[str, list[float], list[float], list[float]]  # name, service, raw, fresh


def report(result: Result) -> bool:
    """Print one row of the results table; True when the targets are met."""
    name, service, raw, fresh = result
    service_median, raw_median = statistics.median(service), statistics.median(raw)
    ratio = service_median / raw_median
    ok = service_median <= TARGET_MEDIAN_MS and ratio <= TARGET_RATIO
    print(
        f"| {name} | {service_median:.2f} | {percentile(service, 0.95):.2f} "
        f"| {statistics.median(fresh):.2f} | {raw_median:.2f} | {percentile(raw, 0.95):.2f} "
        f"| {ratio:.2f}x | {'met' if ok else 'MISSED'} |"
    )
    return ok


def bench_query(
    store: Store,
    raw: Any,
    repeat: int,
    name: str,
    inputs: Sequence[Any],
    service: Callable[[Session, Any], Sequence[Any]],
    *,
    show_plan: bool = True,
) -> Result:
    """Time ``service(session, input)`` against its own SQL on ``raw``, for each input.

    The service's rows must have the record id first; raw and service must return
    the same records in the same order. ``show_plan`` prints the query plan and the
    rows returned.
    """
    # A demo store's staff have PINs: the services read as the person the demo signed in.
    reader = signed_in_staff_id(store)
    with store.read(reader) as session:

        def in_session(value: Any) -> Callable[[], object]:
            return lambda: service(session, value)

        def new_session(value: Any) -> Callable[[], object]:
            def call() -> object:
                with store.read(reader) as fresh:
                    return service(fresh, value)

            return call

        calls = [in_session(value) for value in inputs]
        captured = [capture_sql(session, call) for call in calls]
        sizes = []
        for value, (sql, parameters) in zip(inputs, captured, strict=True):
            rows = service(session, value)
            raw_ids = [uuid.UUID(row[0]) for row in raw.execute(sql, parameters)]
            assert raw_ids == [getattr(row, _ID_FIELD[type(row)]) for row in rows], name
            sizes.append(len(rows))
        raw_calls = [raw_query(raw, sql, parameters) for sql, parameters in captured]
        fresh_calls = [new_session(value) for value in inputs]
        service_times, raw_times, fresh_times = timed((calls, raw_calls, fresh_calls), repeat)
    if show_plan:
        print_plan(raw, name, captured[0])
        print(f"(rows returned: min {min(sizes)}, max {max(sizes)}, over {len(sizes)} inputs)\n")
    return name, service_times, raw_times, fresh_times


def spread(values: Sequence[T], most: int | None) -> list[T]:
    """At most ``most`` of ``values``, evenly spaced from first to last (all if None)."""
    if most is None or len(values) <= most:
        return list(values)
    if most == 1:
        return [values[0]]
    return [values[round(index * (len(values) - 1) / (most - 1))] for index in range(most)]


def bench_caseload(
    store: Store, raw: Any, repeat: int, *, most: int | None = None, show_plan: bool = True
) -> Result:
    """The caseload page of every practice, or of ``most`` practices spread over them."""
    with store.read() as session:
        practice_ids = list(session.scalars(select(Practice.id).order_by(Practice.ods_code)))
    return bench_query(
        store,
        raw,
        repeat,
        "caseload page, one practice, 100 active by next review",
        spread(practice_ids, most),
        lambda session, practice_id: caseload_page(
            session, practice_id=practice_id, status=CaseStatus.ACTIVE, limit=100
        ),
        show_plan=show_plan,
    )


def bench_name_search(store: Store, raw: Any, repeat: int, *, show_plan: bool = True) -> Result:
    return bench_query(
        store,
        raw,
        repeat,
        "name prefix search, 3 letters, 50 rows",
        NAME_PREFIXES,
        lambda session, prefix: find_patients(session, prefix, limit=50),
        show_plan=show_plan,
    )


def print_plan(raw: Any, name: str, captured: Captured) -> None:
    sql, parameters = captured
    print(f"EXPLAIN QUERY PLAN, {name}:")
    for row in raw.execute("EXPLAIN QUERY PLAN " + sql, parameters):
        print(f"    {row[3]}")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"SQLite {sqlcipher.sqlite_version} (SQLCipher), {platform.system()} {platform.release()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path, help="demo store (made if missing)")
    parser.add_argument("--patients", type=int, default=100_000, help="patients if made")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=300, help="runs of each query (>= 200)")
    args = parser.parse_args(argv)
    use_bench_store_passphrase()
    print(machine())
    if not args.store.exists():
        started = time.perf_counter()
        with Store.open(args.store) as store:
            demo = generate_demo(
                store, patients=args.patients, seed=args.seed, practices=14
            )  # the stress case: every practice ~7,000 people at 100k
        seconds = time.perf_counter() - started
        print(
            f"Demo store made: {demo.patients} patients, {demo.cases} cases in {seconds:.1f} s "
            f"(including opening and migrating the new store)."
        )
    size = sum(
        path.stat().st_size for path in (args.store, Path(f"{args.store}-wal")) if path.exists()
    )
    with Store.open(args.store, create=False) as store:
        raw = store.raw_connection()
        patients, cases, journal = raw.execute(
            "SELECT (SELECT count(*) FROM patient), (SELECT count(*) FROM care_case), "
            "(SELECT count(*) FROM journal_change)"
        ).fetchone()
        print(
            f"Store {args.store}: {size / 1e6:.0f} MB, {patients} patients, {cases} cases, "
            f"{journal} journal rows. {args.repeat} runs of each query.\n"
        )
        results = [
            bench_caseload(store, raw, args.repeat),
            bench_name_search(store, raw, args.repeat),
        ]
        raw.close()
    print(
        "| query | service median ms | service p95 ms | service in a new session, median ms "
        "| raw median ms | raw p95 ms | service/raw (medians) | targets |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    met = [report(result) for result in results]
    if not all(met):
        print(
            f"\nA target was missed (median <= {TARGET_MEDIAN_MS} ms and <= {TARGET_RATIO}x raw):"
            " see docs/performance.md for the suggested index."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
