"""Benchmark sync with a team hub on the local PostgreSQL.

Usage::

    .venv/bin/python bench/bench_sync.py [--pg postgresql://postgres@127.0.0.1:5432/test]
        [--work /tmp/bench-sync] [--changes 100000] [--hub-values 1000000] [--only abc]

(a) ``--changes`` field changes from desk A (a demo store sized for it, so its journal
    holds them) through a fresh PostgreSQL hub to a fresh desk B: ``sync_once`` on A
    (push) then on B (pull and apply), end to end. Baseline: the same ``hub_change``
    rows written to a plain unindexed table in the same database by ``COPY`` and by
    ``executemany``, timed in this process. Target ≤ 30 s.
(b) First sync of a fresh desk from a hub holding ``--hub-values`` field values
    (``hub_state`` rows; built once by pushing a big demo store, kept between runs in the
    database ``mdt_bench_sync_big``). Target ≤ 90 s. The longest page transaction on the
    desk is reported too (P12: ≤ 150 ms).
(c) Local edit latency while another thread runs that first sync on another fresh desk:
    a small journalled edit (an action's description, ``Desk.write()``) every 20 ms on the
    desk being filled. Target p95 ≤ 50 ms.

Exit status 1 when a target is missed. Databases are made with an autocommit connection
(``--pg`` must name a user who may create databases).
"""

import argparse
import dataclasses
import math
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from bench_queries import machine, percentile
from sqlalchemy import Engine, func, select, text
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models import Action, Patient, Staff
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.sync import client
from mdt_desk.sync.client import outbox_count, sync_once
from mdt_desk.sync.desk_scope import DeskScope, set_scope
from mdt_desk.sync.hub import hub_engine, init_hub
from mdt_desk.sync.protocol import PulledPage

TARGET_THROUGHPUT_S = 30.0
TARGET_FIRST_SYNC_S = 90.0
TARGET_EDIT_P95_MS = 50.0
TARGET_PAGE_MS = 150.0
#: generate_demo's journal: a fixed part (practices, staff, meetings) and rows per patient.
DEMO_FIXED_ROWS = 7_000
DEMO_ROWS_PER_PATIENT = 45
BIG_DB = "mdt_bench_sync_big"

Row = tuple[str, str, str, str]  # what, measured, target, ratio / note
COLUMNS = (
    "origin_site, origin_seq, tx_id, hlc, base_hlc, base_site, row_base_hlc, entity, row_id,"
    " field, op, value, schema_version, actor_id, actor_label, recorded_at, payload_hash"
)


def patients_for(rows: int) -> int:
    return max(1, math.ceil((rows - DEMO_FIXED_ROWS) / DEMO_ROWS_PER_PATIENT))


def dsn_of(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def database_url(admin: str, name: str) -> str:
    base = dsn_of(admin).rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")


def recreate_database(admin: str, name: str) -> None:
    with psycopg.connect(dsn_of(admin), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_exists(admin: str, name: str) -> bool:
    with psycopg.connect(dsn_of(admin), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def fresh_store(path: Path) -> Store:
    """A new, empty full desk: it holds the whole hub, as ``sync --practices all`` makes
    one (an empty desk otherwise holds its signed-in staff's practices only)."""
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store.open(path)
    set_scope(store, DeskScope(all_practices=True))
    return store


def printer(label: str) -> Callable[[str, int, int], None]:
    """Progress lines, about every 10% of each phase."""
    shown: dict[str, int] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        step = max(1, total // 10)
        if done >= total or done // step != shown.get(phase, -1):
            shown[phase] = done // step
            print(
                f"  {label} {phase}: {done:,}/{total:,} ({time.perf_counter() - started:.1f} s)",
                flush=True,
            )

    return progress


class PageTimer:
    """Times every page ``apply_page`` writes: each is one write transaction on the desk."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._apply = client.apply_page

    def __enter__(self) -> "PageTimer":
        def timed(
            store: Store, page: PulledPage, report: client.SyncReport, **options: Any
        ) -> None:
            started = time.perf_counter()
            self._apply(store, page, report, **options)
            self.seconds.append(time.perf_counter() - started)

        client.apply_page = timed
        return self

    def __exit__(self, *exc: object) -> None:
        client.apply_page = self._apply


def raw_baseline(engine: Engine) -> tuple[int, float, float]:
    """The hub's change rows written to a plain table by COPY and by executemany."""
    dsn = dsn_of(engine.url.render_as_string(hide_password=False))
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            f"SELECT {COLUMNS} FROM hub_change ORDER BY server_seq"
        ).fetchall()
        connection.execute("DROP TABLE IF EXISTS raw_copy")
        connection.execute("CREATE TABLE raw_copy AS SELECT * FROM hub_change WITH NO DATA")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY raw_copy ({COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        connection.commit()
        copy_s = time.perf_counter() - started
        connection.execute("TRUNCATE raw_copy")
        connection.commit()
        marks = ", ".join(["%s"] * len(COLUMNS.split(",")))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO raw_copy ({COLUMNS}) VALUES ({marks})", rows)
        connection.commit()
        many_s = time.perf_counter() - started
        connection.execute("DROP TABLE raw_copy")
        connection.commit()
    return len(rows), copy_s, many_s


def _acting_coordinator(desk: Desk) -> Desk:
    """The desk acting as a care coordinator of the demo (a synced store is past set-up
    and this desk never signed anyone in)."""
    if desk.actor_id is not None:
        return desk
    with desk.store.read() as session:
        coordinator = session.scalar(
            select(Staff.id).where(Staff.roles.contains("care_coordinator")).limit(1)
        )
    return dataclasses.replace(desk, actor_id=coordinator, actor_name="bench")


def count(store: Store, model: Any) -> int:
    with store.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def bench_throughput(args: argparse.Namespace, table: list[Row]) -> bool:
    print(f"\n(a) {args.changes:,} field changes desk A -> PostgreSQL hub -> desk B")
    url = database_url(args.pg, "mdt_bench_sync_a")
    recreate_database(args.pg, "mdt_bench_sync_a")
    engine = hub_engine(url)
    init_hub(engine)
    a = fresh_store(args.work / "a.sqlite")
    b = fresh_store(args.work / "b.sqlite")
    started = time.perf_counter()
    generate_demo(a, patients=patients_for(args.changes), seed=11)
    changes = outbox_count(a)
    print(
        f"  desk A: demo with {changes:,} journalled field changes made in "
        f"{time.perf_counter() - started:.1f} s (not timed below)"
    )
    started = time.perf_counter()
    report_a = sync_once(a, engine, label="bench A")
    push_s = time.perf_counter() - started
    print(f"  desk A sync (push {report_a.pushed:,}, read back): {push_s:.2f} s", flush=True)
    with PageTimer() as pages:
        started = time.perf_counter()
        report_b = sync_once(b, engine, label="bench B")
        pull_s = time.perf_counter() - started
    print(
        f"  desk B sync (pull {report_b.pulled:,}, applied {report_b.applied:,}): {pull_s:.2f} s",
        flush=True,
    )
    assert report_a.pushed == changes and report_b.applied == changes, (report_a, report_b)
    assert count(a, Patient) == count(b, Patient)
    total = push_s + pull_s
    rows, copy_s, many_s = raw_baseline(engine)
    engine.dispose()
    a.close()
    b.close()
    table.append(
        (
            f"(a) A -> hub -> B, {changes:,} changes",
            f"{total:.1f} s",
            f"≤ {TARGET_THROUGHPUT_S:.0f} s",
            f"{total / TARGET_THROUGHPUT_S:.2f} of target",
        )
    )
    table.append(
        ("    push (sync_once on A)", f"{push_s:.1f} s", "", f"{changes / push_s:,.0f} changes/s")
    )
    table.append(
        (
            "    pull + apply (sync_once on B)",
            f"{pull_s:.1f} s",
            "",
            f"{changes / pull_s:,.0f} changes/s",
        )
    )
    table.append(
        (
            f"    raw COPY of the {rows:,} hub_change rows",
            f"{copy_s:.2f} s",
            "",
            f"sync = {total / copy_s:.0f}× COPY",
        )
    )
    table.append(
        (
            f"    raw executemany of the {rows:,} rows",
            f"{many_s:.2f} s",
            "",
            f"sync = {total / many_s:.1f}× executemany",
        )
    )
    table.append(
        (
            "    longest page transaction on B",
            f"{max(pages.seconds) * 1000:.0f} ms",
            f"≤ {TARGET_PAGE_MS:.0f} ms",
            f"p95 {percentile(pages.seconds, 95) * 1000:.0f} ms, {len(pages.seconds)} pages",
        )
    )
    return total <= TARGET_THROUGHPUT_S


def big_hub(args: argparse.Namespace) -> Engine:
    """The hub with ``--hub-values`` field values, built once by pushing a big demo."""
    url = database_url(args.pg, BIG_DB)
    if database_exists(args.pg, BIG_DB) and not args.rebuild:
        engine = hub_engine(url)
        with engine.connect() as connection:
            values = connection.execute(text("SELECT count(*) FROM hub_state")).scalar_one()
        if values >= args.hub_values:
            print(f"  reusing the hub {BIG_DB}: {values:,} field values (--rebuild to redo)")
            return engine
        engine.dispose()
    recreate_database(args.pg, BIG_DB)
    engine = hub_engine(url)
    init_hub(engine)
    source = fresh_store(args.work / "big-source.sqlite")
    started = time.perf_counter()
    generate_demo(source, patients=patients_for(args.hub_values), seed=12)
    print(
        f"  building the hub: demo of {outbox_count(source):,} changes "
        f"({time.perf_counter() - started:.0f} s); pushing it",
        flush=True,
    )
    started = time.perf_counter()
    report = sync_once(source, engine, label="bench big", progress=printer("hub build"))
    print(f"  hub built: {report.pushed:,} changes pushed in {time.perf_counter() - started:.0f} s")
    source.close()
    return engine


def bench_first_sync(args: argparse.Namespace, table: list[Row], engine: Engine) -> bool:
    with engine.connect() as connection:
        values = int(connection.execute(text("SELECT count(*) FROM hub_state")).scalar_one())
        changes = int(connection.execute(text("SELECT count(*) FROM hub_change")).scalar_one())
    print(
        f"\n(b) first sync of a fresh desk from a hub of {values:,} field values "
        f"({changes:,} changes)"
    )
    desk = fresh_store(args.work / "first.sqlite")
    with PageTimer() as pages:
        started = time.perf_counter()
        report = sync_once(desk, engine, label="bench first", progress=printer("first sync"))
        seconds = time.perf_counter() - started
    patients = count(desk, Patient)
    desk.close()
    print(f"  {report.applied:,} changes applied, {patients:,} patients, {seconds:.1f} s")
    table.append(
        (
            f"(b) first sync, hub of {values:,} values",
            f"{seconds:.1f} s",
            f"≤ {TARGET_FIRST_SYNC_S:.0f} s",
            f"{seconds / TARGET_FIRST_SYNC_S:.2f} of target, {values / seconds:,.0f}/s",
        )
    )
    table.append(
        (
            "    longest page transaction",
            f"{max(pages.seconds) * 1000:.0f} ms",
            f"≤ {TARGET_PAGE_MS:.0f} ms",
            f"p95 {percentile(pages.seconds, 95) * 1000:.0f} ms, "
            f"{len(pages.seconds)} pages, sum {sum(pages.seconds):.1f} s",
        )
    )
    return seconds <= TARGET_FIRST_SYNC_S


def timed_edits(
    desk: Desk,
    actions: list[Any],
    rng: random.Random,
    until: Callable[[list[float]], bool],
    pause: float,
) -> list[float]:
    """Latencies of small journalled edits, made until ``until(latencies)``."""
    latencies: list[float] = []
    while not until(latencies):
        action_id = rng.choice(actions)
        started = time.perf_counter()
        with desk.write() as session:
            plans.update_action(session, action_id, description=f"bench {rng.randrange(10**9)}")
        latencies.append(time.perf_counter() - started)
        time.sleep(pause)
    return latencies


def bench_edit_latency(args: argparse.Namespace, table: list[Row], engine: Engine) -> bool:
    print("\n(c) local edit latency while the desk runs its first sync in another thread")
    store = fresh_store(args.work / "edit.sqlite")
    failure: list[BaseException] = []

    def run_sync() -> None:
        try:
            sync_once(store, engine, label="bench edit", progress=printer("background sync"))
        except BaseException as error:  # reported below
            failure.append(error)

    worker = threading.Thread(target=run_sync, name="sync")
    started = time.perf_counter()
    worker.start()
    actions: list[Any] = []
    while not actions and worker.is_alive():  # the edits need an action to change
        time.sleep(0.05)
        with store.read() as session:
            actions = list(session.scalars(select(Action.id).where(Action.retired_at.is_(None))))
    desk = _acting_coordinator(Desk.for_store(store))
    rng = random.Random(3)
    print(f"  editing from {time.perf_counter() - started:.1f} s, {len(actions):,} actions here")
    during = timed_edits(desk, actions, rng, lambda _done: not worker.is_alive(), 0.02)
    worker.join()
    if failure:
        raise failure[0]
    with store.read() as session:
        actions = list(session.scalars(select(Action.id).where(Action.retired_at.is_(None))))
    quiet = timed_edits(desk, actions, rng, lambda done: len(done) >= 200, 0.0)
    store.close()
    p50, p95 = statistics.median(during) * 1000, percentile(during, 95) * 1000
    print(
        f"  {len(during)} edits during the sync: median {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(during) * 1000:.0f} ms"
    )
    table.append(
        (
            f"(c) edit during sync, p95 of {len(during)}",
            f"{p95:.1f} ms",
            f"≤ {TARGET_EDIT_P95_MS:.0f} ms",
            f"median {p50:.1f} ms, max {max(during) * 1000:.0f} ms",
        )
    )
    table.append(
        (
            "    the same edit, no sync running, p95",
            f"{percentile(quiet, 95) * 1000:.1f} ms",
            "",
            f"median {statistics.median(quiet) * 1000:.1f} ms; during/quiet p95 = "
            f"{p95 / (percentile(quiet, 95) * 1000):.1f}×",
        )
    )
    return p95 <= TARGET_EDIT_P95_MS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database to connect to for creating the hubs",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-sync"))
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--hub-values", type=int, default=1_000_000)
    parser.add_argument("--only", default="abc", help="which parts to run (default abc)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the big hub")
    args = parser.parse_args(argv)
    use_bench_store_passphrase()
    args.work.mkdir(parents=True, exist_ok=True)
    print(machine())
    with psycopg.connect(dsn_of(args.pg)) as connection:
        print(f"PostgreSQL {connection.info.server_version}, psycopg {psycopg.__version__}")
    table: list[Row] = []
    met: list[bool] = []
    if "a" in args.only:
        met.append(bench_throughput(args, table))
    if "b" in args.only or "c" in args.only:
        print("\nthe big hub")
        engine = big_hub(args)
        if "b" in args.only:
            met.append(bench_first_sync(args, table, engine))
        if "c" in args.only:
            met.append(bench_edit_latency(args, table, engine))
        engine.dispose()
    widths = [
        max(len(row[i]) for row in [*table, ("", "measured", "target", "")]) for i in range(4)
    ]
    print()
    print(f"{'':<{widths[0]}}  {'measured':>{widths[1]}}  {'target':<{widths[2]}}  ratio / note")
    for what, measured, target, note in table:
        print(f"{what:<{widths[0]}}  {measured:>{widths[1]}}  {target:<{widths[2]}}  {note}")
    missed = met.count(False)
    print(f"\n{len(met) - missed} of {len(met)} targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
