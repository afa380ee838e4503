"""Benchmark a team of scoped desks, and light clients, on one PostgreSQL hub.

Usage::

    .venv/bin/python bench/bench_sync_team.py [--pg postgresql://postgres@127.0.0.1:5432/test]
        [--work /tmp/bench-sync-team] [--patients 100000] [--desks 50] [--rounds 6]
        [--interval 30] [--edits 2] [--light 1000] [--light-rounds 2] [--rebuild]

(1) A hub seeded once with a ``--patients`` demo locality (14 practices), pushed by a full
    desk; kept between runs as the database ``mdt_bench_team_seed_<patients>`` (with that
    full desk's store in ``--work``). Each run's hub is ``CREATE DATABASE … TEMPLATE`` it.
(2) The first sync of a desk scoped to one practice (every practice in turn, as many as
    the desks need): median, and where the time goes (anchor fetch, log fetch, apply).
    Target ≤ 10 s. Raw baseline: the same practice's ``hub_change`` rows read by one
    plain SQL query in this process.
(3) ``--desks`` separate desk processes, each a copy of a scoped desk's store (its own
    replica id and key) scoped to one or two practices, each making ``--edits`` edits a
    round through the services (an action's description, a new note) and syncing every
    ``--interval`` seconds for ``--rounds`` rounds, staggered across the interval.
    Reported: p50 and p95 of a sync round trip (target p95 ≤ 2 s), changes each way, the
    hub's rows per second and its CPU (PostgreSQL backends of the run's database, from
    /proc), and the share of the hub's time in each kind of statement (timed by the
    desks themselves: pg_stat_statements is not preloaded here). Baseline: one plain
    ``SELECT … FROM hub_change`` of a round's rows, timed in this process.
(4) After a quiet round: every desk holds exactly the full desk's rows for its records
    (bit-exact) and every record of its practices' people: "converged: N/N".
(5) ``--light`` light clients (no store) pulling through the real scoped pull
    (``client._fetch`` with a scope) what each desk round wrote, staggered over the
    interval: the hub's p95 per pull (target ≤ 200 ms) and its CPU per round.

Exit status 1 when a target is missed. Databases are made with an autocommit connection
(``--pg`` must name a user who may create databases).
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from bench_queries import machine, percentile
from sqlalchemy import Engine, event, text
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models import synced_tables
from mdt_desk.models.store import Store, connect_store_file
from mdt_desk.models.store_key import keep_key, store_key
from mdt_desk.services import plans
from mdt_desk.services.demo import generate_demo
from mdt_desk.sync import client, desk_scope
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.hub import hub_engine, init_hub
from mdt_desk.sync.protocol import META_PUSHED_THROUGH, PULL_PAGE_SIZE

TARGET_FIRST_SYNC_S = 10.0
TARGET_ROUND_TRIP_P95_S = 2.0
TARGET_LIGHT_PULL_P95_MS = 200.0
SEED_PREFIX = "mdt_bench_team_seed"
RUN_DB = "mdt_bench_team_run"

Row = tuple[str, str, str, str]  # what, measured, target, verdict / note


# ---------------------------------------------------------------- databases and stores


def dsn_of(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def database_url(admin: str, name: str) -> str:
    base = dsn_of(admin).rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")


def admin_execute(admin: str, *statements: str) -> None:
    with psycopg.connect(dsn_of(admin), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def database_exists(admin: str, name: str) -> bool:
    with psycopg.connect(dsn_of(admin), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_store(source: Path, path: Path, scope: desk_scope.DeskScope | None = None) -> None:
    """A copy of the (closed) store at ``source`` as another desk: its own replica id,
    its own store id and key file (the same key, sealed by the bench passphrase)."""
    remove_store(path)
    key = store_key(source)
    shutil.copy(source, path)
    keep_key(path, key)
    raw = connect_store_file(path, key)
    with raw:
        raw.execute(
            "UPDATE store_meta SET value = ? WHERE key = 'replica_id'", (str(uuid.uuid4()),)
        )
        # The new desk has pushed nothing (else the hub seems to have lost its pushes).
        raw.execute("DELETE FROM store_meta WHERE key = ?", (META_PUSHED_THROUGH,))
    raw.close()
    if scope is not None:
        store = Store.open(path)
        desk_scope.set_scope(store, scope)
        store.close()


def practices_of(store: Store) -> list[tuple[str, str]]:
    """(id, ODS code) of the practices with people, busiest first."""
    with store.read() as session:
        rows = session.execute(
            text(
                "SELECT pr.id, pr.ods_code FROM patient p JOIN practice pr"
                " ON pr.id = p.practice_id GROUP BY pr.id, pr.ods_code"
                " ORDER BY count(*) DESC, pr.ods_code"
            )
        ).all()
    return [(str(row[0]), str(row[1])) for row in rows]


def seed(args: argparse.Namespace) -> tuple[str, Path]:
    """The seeded hub's database name and the full desk's store that pushed it."""
    name = f"{SEED_PREFIX}_{args.patients}"
    full = args.work / f"seed-full-{args.patients}.sqlite"
    if not args.rebuild and database_exists(args.pg, name) and full.exists():
        print(f"(1) seeded hub {name} kept from an earlier run (--rebuild to make it again)")
        return name, full
    building = f"{name}_building"
    admin_execute(
        args.pg,
        f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)',
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{building}"',
    )
    engine = hub_engine(database_url(args.pg, building))
    init_hub(engine)
    remove_store(full)
    store = Store.open(full)
    print(f"(1) seeding a hub with a {args.patients:,}-person demo …", flush=True)
    started = time.perf_counter()
    generate_demo(store, patients=args.patients, seed=7, practices=14)  # the stress case
    demo_s = time.perf_counter() - started
    desk_scope.set_scope(store, desk_scope.DeskScope(all_practices=True))
    started = time.perf_counter()
    report = sync_once(store, engine, label="bench seed")
    push_s = time.perf_counter() - started
    store.close()
    engine.dispose()
    # Planner statistics, as autovacuum would gather them in time on a real hub: without
    # them a scoped desk's fetch by anchor walks the whole log (8× slower at 3,000 people).
    started = time.perf_counter()
    with psycopg.connect(dsn_of(database_url(args.pg, building)), autocommit=True) as hub:
        hub.execute("ANALYZE")
    analyze_s = time.perf_counter() - started
    admin_execute(args.pg, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    print(
        f"  demo {demo_s:.1f} s, push of {report.pushed:,} changes {push_s:.1f} s, ANALYZE "
        f"{analyze_s:.1f} s (seeding took {demo_s + push_s + analyze_s:.0f} s; kept as {name})",
        flush=True,
    )
    return name, full


def run_hub(args: argparse.Namespace, seed_db: str) -> tuple[str, float]:
    started = time.perf_counter()
    admin_execute(
        args.pg,
        f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)',
        f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{seed_db}"',
    )
    return database_url(args.pg, RUN_DB), time.perf_counter() - started


# ---------------------------------------------------------------- hub measurements


class HubCpu:
    """CPU seconds of the PostgreSQL processes serving ``database`` (its backends) and of
    the server's shared processes (WAL writer, checkpointer…), sampled from /proc every
    0.2 s so that backends which end in between are counted to their last sample."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.tick = os.sysconf("SC_CLK_TCK")
        self.seen: dict[int, tuple[bool, float, float]] = {}  # pid: (ours, first, last)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                if not command.startswith(b"postgres"):
                    continue
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            cpu = (int(fields[11]) + int(fields[12])) / self.tick
            # "postgres: 15/main: USER DATABASE HOST(PORT) STATE" for a backend
            backend = command.startswith(b"postgres:")
            ours = backend and f" {self.database} ".encode() in command
            shared = backend and any(
                w in command for w in (b"walwriter", b"checkpointer", b"background writer")
            )
            if not ours and not shared:
                continue
            _, first, _ = self.seen.get(pid, (ours, cpu if pid in self.baseline else 0.0, cpu))
            self.seen[pid] = (ours, first, cpu)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> "HubCpu":
        self.baseline: set[int] = {int(e) for e in os.listdir("/proc") if e.isdigit()}
        self.started = time.perf_counter()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.perf_counter() - self.started

    def seconds(self, ours: bool = True) -> float:
        return sum(last - first for mine, first, last in self.seen.values() if mine == ours)


def log_end(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT last_seq FROM hub_counter")).scalar_one())


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\"?([a-z_]+)", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    words = statement.split(None, 1)
    verb = words[0].upper() if words else "?"
    if verb in {"SELECT", "WITH"} and "pg_advisory" in statement:
        return "SELECT pg_advisory_*"
    found = _TABLE.search(statement)
    return f"{verb} {found.group(1) if found else '-'}"


@contextmanager
def timed_statements(engine: Engine, into: dict[str, list[float]]) -> Iterator[None]:
    """Seconds spent in each kind of statement on ``engine`` (from the client side: the
    hub's execution plus the loopback and the driver), into ``into[kind] = [count, s]``."""

    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        kind = into.setdefault(statement_kind(statement), [0.0, 0.0])
        kind[0] += 1
        kind[1] += elapsed

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def merge_statements(into: dict[str, list[float]], more: dict[str, list[float]]) -> None:
    for kind, (calls, seconds) in more.items():
        found = into.setdefault(kind, [0.0, 0.0])
        found[0] += calls
        found[1] += seconds


# ---------------------------------------------------------------- (2) first sync


class Wrapped:
    """Seconds spent in some of ``client``'s functions during a block (as PageTimer)."""

    NAMES = ("_pull_seals", "_fetch_anchors", "_fetch", "apply_page", "_sweep")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(self.NAMES, 0.0)
        self.originals = {name: getattr(client, name) for name in self.NAMES}

    def __enter__(self) -> "Wrapped":
        for name, original in self.originals.items():
            setattr(client, name, self._timed(name, original))
        return self

    def _timed(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **options: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **options)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed

    def __exit__(self, *exc: object) -> None:
        for name, original in self.originals.items():
            setattr(client, name, original)


def raw_practice_read(engine: Engine, practice_id: str) -> tuple[int, float]:
    """One plain query for a practice's changes by its anchors (the raw baseline)."""
    anchors = desk_scope.first_anchors(engine, [practice_id])
    started = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT * FROM hub_change WHERE scope_anchor = ANY(:a) ORDER BY server_seq"),
            {"a": anchors},
        ).all()
    return len(rows), time.perf_counter() - started


def first_syncs(
    args: argparse.Namespace,
    url: str,
    empty: Path,
    scopes: list[tuple[str, ...]],
    codes: dict[str, str],
    table: list[Row],
) -> tuple[dict[tuple[str, ...], Path], bool]:
    """Each scope's first sync from an empty store; the synced stores, to copy."""
    print(f"\n(2) first sync of a scoped desk, {len(scopes)} scopes", flush=True)
    engine = hub_engine(url)
    synced: dict[tuple[str, ...], Path] = {}
    singles: list[float] = []
    parts: dict[str, float] = defaultdict(float)
    single_values: list[int] = []
    for scope in scopes:
        path = args.work / f"scope-{'-'.join(codes[p] for p in scope)}.sqlite"
        copy_store(
            empty,
            path,
            desk_scope.DeskScope(codes=tuple(codes[p] for p in scope), follow_staff=False),
        )
        store = Store.open(path)
        with Wrapped() as wrapped:
            started = time.perf_counter()
            report = sync_once(store, engine, label=f"bench first {scope}")
            seconds = time.perf_counter() - started
        store.close()
        synced[scope] = path
        print(
            f"  {'+'.join(codes[p] for p in scope)}: {seconds:.2f} s, {report.pulled:,} "
            f"changes ({', '.join(f'{k} {v:.2f}' for k, v in wrapped.seconds.items())})",
            flush=True,
        )
        if len(scope) == 1:
            singles.append(seconds)
            single_values.append(report.pulled)
            for name, spent in wrapped.seconds.items():
                parts[name] += spent
    rows, raw_s = raw_practice_read(engine, scopes[0][0])
    engine.dispose()
    median = statistics.median(singles)
    total = sum(singles)
    ok = median <= TARGET_FIRST_SYNC_S
    table.append(
        (
            f"(2) first sync, one practice (~{statistics.median(single_values):,.0f} changes),"
            f" median of {len(singles)}",
            f"{median:.2f} s (max {max(singles):.2f})",
            f"≤ {TARGET_FIRST_SYNC_S:.0f} s",
            "PASS" if ok else "FAIL",
        )
    )
    apply_s = parts["apply_page"]
    fetch_s = parts["_fetch_anchors"] + parts["_fetch"]
    # The next batch is read in a thread while this one is applied, so the shares of
    # reading and applying overlap; "waiting" is what is left of the time, reading alone.
    waiting = max(0.0, total - apply_s - parts["_pull_seals"] - parts["_sweep"])
    table.append(
        (
            "    where it goes (share of all one-practice first syncs)",
            f"apply {apply_s / total:.0%}, read {fetch_s / total:.0%} (beside the apply)",
            "",
            f"seals {parts['_pull_seals'] / total:.0%}, sweep {parts['_sweep'] / total:.0%},"
            f" waiting for a read {waiting / total:.0%}",
        )
    )
    table.append(
        (
            f"    raw: one SELECT of the practice's {rows:,} hub_change rows",
            f"{raw_s:.2f} s",
            "",
            f"first sync = {median / raw_s:.0f}× raw read",
        )
    )
    return synced, ok


# ---------------------------------------------------------------- (3) desk processes


def desk_process(
    index: int,
    path: str,
    url: str,
    rounds: int,
    interval: float,
    edits: int,
    start: Any,
    quiet: Any,
    done: Any,
    desks: int,
    out: str,
) -> None:
    """One desk: edits and a sync each round, then a quiet sync when told."""
    use_bench_store_passphrase()
    rng = random.Random(index)
    store = Store.open(Path(path))
    engine = hub_engine(url)
    statements: dict[str, list[float]] = {}
    with store.read() as session:
        actor = uuid.UUID(
            str(
                session.execute(
                    text(
                        "SELECT id FROM staff WHERE roles LIKE '%care_coordinator%'"
                        " AND pin_hash != '' AND retired_at IS NULL ORDER BY id LIMIT 1"
                    )
                ).scalar_one()
            )
        )
        open_actions = [
            uuid.UUID(str(row[0]))
            for row in session.execute(
                text(
                    "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
                    " WHERE c.status != 'closed' ORDER BY a.id"
                )
            )
        ]
        open_cases = [
            uuid.UUID(str(row[0]))
            for row in session.execute(
                text("SELECT id FROM care_case WHERE status != 'closed' ORDER BY id")
            )
        ]
    syncs: list[dict[str, Any]] = []
    offset = interval * index / max(1, desks)
    errors: list[str] = []

    def one_sync(round_no: int) -> None:
        started = time.perf_counter()
        try:
            # The statements of the edit rounds only (the steady state), not the quiet one.
            with timed_statements(engine, statements if round_no >= 0 else {}):
                report = sync_once(store, engine, label=f"bench desk {index}")
        except Exception as error:
            errors.append(f"round {round_no}: {type(error).__name__}: {error}")
            return
        syncs.append(
            {
                "round": round_no,
                "s": time.perf_counter() - started,
                "pushed": report.pushed,
                "pulled": report.pulled,
                "edits_sent": report.edits_sent,
                "edits_received": report.edits_received,
                "at": time.time(),
            }
        )

    with done.get_lock():
        done.value += 1  # ready: wait for the common start
    while not start.value:
        time.sleep(0.05)
    start_at = float(start.value)
    for round_no in range(rounds):
        due = start_at + offset + round_no * interval
        time.sleep(max(0.0, due - time.time()))
        for number in range(edits):
            try:
                with store.write(actor, "desk") as session:
                    if number % 2 == 0 and open_actions:
                        plans.update_action(
                            session,
                            rng.choice(open_actions),
                            description=f"bench desk {index} round {round_no} "
                            f"{rng.randrange(10**9)}",
                        )
                    elif open_cases:
                        plans.add_note(
                            session,
                            rng.choice(open_cases),
                            f"Bench note from desk {index}, round {round_no}.",
                        )
            except Exception as error:
                errors.append(f"edit in round {round_no}: {type(error).__name__}: {error}")
        one_sync(round_no)
    with done.get_lock():
        done.value += 1  # its rounds are over
    quiet.wait()
    time.sleep(offset)  # each at its own moment, as in the rounds
    one_sync(-1)  # the quiet round: pull what the others sent last
    store.close()
    engine.dispose()
    Path(out).write_text(
        json.dumps({"index": index, "syncs": syncs, "statements": statements, "errors": errors})
    )


def team(
    args: argparse.Namespace,
    url: str,
    desks: list[tuple[Path, tuple[str, ...]]],
    table: list[Row],
) -> tuple[bool, list[int], dict[str, list[float]]]:
    """Runs the desk processes; the hub's log positions at each round's end."""
    print(
        f"\n(3) {len(desks)} desk processes, {args.rounds} rounds every {args.interval:g} s,"
        f" {args.edits} edits a round each",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    quiet = context.Event()
    done = context.Value("i", 0)
    start = context.Value("d", 0.0)
    engine = hub_engine(url)
    outs = [args.work / f"desk-{index}.json" for index in range(len(desks))]
    for out in outs:
        out.unlink(missing_ok=True)
    processes = [
        context.Process(
            target=desk_process,
            args=(
                index,
                str(path),
                url,
                args.rounds,
                args.interval,
                args.edits,
                start,
                quiet,
                done,
                len(desks),
                str(outs[index]),
            ),
        )
        for index, (path, _scope) in enumerate(desks)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    while done.value < len(processes) and any(p.is_alive() for p in processes):
        time.sleep(0.2)
        if time.perf_counter() - started > 900:
            break
    print(f"  {len(processes)} desks started and open in {time.perf_counter() - started:.0f} s")
    start_at = time.time() + 2
    start.value = start_at
    marks = []
    with HubCpu(RUN_DB) as cpu:
        time.sleep(max(0.0, start_at - time.time()))
        begin = log_end(engine)
        marks.append(begin)
        for round_no in range(args.rounds):
            time.sleep(max(0.0, start_at + (round_no + 1) * args.interval - time.time()))
            marks.append(log_end(engine))
        # Wait for every desk's last round before the quiet round.
        while done.value < 2 * len(processes) and any(p.is_alive() for p in processes):
            time.sleep(0.5)
            if time.time() > start_at + (args.rounds + 4) * args.interval + 300:
                break
        wall = time.time() - start_at
        written = log_end(engine) - begin
        quiet.set()
        for process in processes:
            process.join(timeout=600)
    cpu_s = cpu.seconds()
    shared_s = cpu.seconds(ours=False)
    engine.dispose()
    results = [json.loads(out.read_text()) for out in outs if out.exists()]
    syncs = [sync for result in results for sync in result["syncs"] if sync["round"] >= 0]
    errors = [f"desk {r['index']}: {e}" for r in results for e in r["errors"]]
    statements: dict[str, list[float]] = {}
    for result in results:
        merge_statements(statements, result["statements"])
    for error in errors[:10]:
        print(f"  ! {error}")
    seconds = [sync["s"] for sync in syncs]
    pushed = [sync["pushed"] for sync in syncs]
    pulled = [sync["pulled"] for sync in syncs]
    read = sum(pulled)
    p50 = percentile(seconds, 0.5) if seconds else 0.0
    p95 = percentile(seconds, 0.95) if seconds else float("inf")
    ok = bool(seconds) and p95 <= TARGET_ROUND_TRIP_P95_S and not errors
    ok = ok and len(results) == len(desks)
    table.append(
        (
            f"(3) sync round trip, {len(desks)} desks × {args.rounds} rounds "
            f"({len(seconds)} syncs)",
            f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(seconds, default=0):.2f} s",
            f"p95 ≤ {TARGET_ROUND_TRIP_P95_S:.0f} s",
            "PASS" if ok else f"FAIL ({len(errors)} errors)" if errors else "FAIL",
        )
    )
    table.append(
        (
            "    changes per sync sent / received (mean; edits)",
            f"{statistics.fmean(pushed or [0]):.1f} / {statistics.fmean(pulled or [0]):.1f}",
            "~10 each way",
            f"edits {statistics.fmean([s['edits_sent'] for s in syncs] or [0]):.1f} / "
            f"{statistics.fmean([s['edits_received'] for s in syncs] or [0]):.1f}",
        )
    )
    table.append(
        (
            "    hub rows per second (hub_change written / read by desks)",
            f"{written / wall:.1f} / {read / wall:.1f}",
            "",
            f"over {wall:.0f} s",
        )
    )
    table.append(
        (
            "    hub CPU (backends of the run's database; shared writers)",
            f"{cpu_s / cpu.wall:.1%} of a core; {shared_s / cpu.wall:.1%}",
            "",
            f"{cpu_s:.1f} s CPU in {cpu.wall:.0f} s",
        )
    )
    return ok, marks, statements


# ---------------------------------------------------------------- (4) convergence


def _rows_by_id(raw: Any, table_name: str) -> dict[Any, int]:
    """Each row of a synced table (stored form, every column), by its id."""
    rows = raw.execute(f'SELECT id, * FROM "{table_name}"').fetchall()
    return {row[0]: hash(tuple(row[1:])) for row in rows}


def converged(
    args: argparse.Namespace,
    url: str,
    full_seed: Path,
    desks: list[tuple[Path, tuple[str, ...]]],
    table: list[Row],
) -> bool:
    """Every desk's rows equal the full desk's (which syncs last), and it holds all the
    records of its practices' people."""
    print("\n(4) convergence after the quiet round", flush=True)
    full_path = args.work / "full.sqlite"
    copy_store(full_seed, full_path)
    engine = hub_engine(url)
    full = Store.open(full_path)
    sync_once(full, engine, label="bench full desk")
    engine.dispose()
    full_raw = full.raw_connection()
    people_of: dict[str, set[str]] = defaultdict(set)
    for person, practice in full_raw.execute("SELECT id, practice_id FROM patient"):
        people_of[str(practice)].add(str(person))
    stores = [Store.open(path) for path, _ in desks]
    raws = [store.raw_connection() for store in stores]
    bad: dict[int, list[str]] = defaultdict(list)
    for table_obj in synced_tables():
        name = table_obj.name
        everyone = _rows_by_id(full_raw, name)
        for index, raw in enumerate(raws):
            mine = _rows_by_id(raw, name)
            stale = sum(1 for key, digest in mine.items() if everyone.get(key) != digest)
            if stale:
                bad[index].append(f"{name}: {stale} rows differ from the full desk")
    for index, (raw, (_path, scope)) in enumerate(zip(raws, desks, strict=True)):
        people = set().union(*(people_of[p] for p in scope))
        held = {str(row[0]) for row in raw.execute("SELECT id FROM patient")}
        if not people <= held:
            bad[index].append(f"patient: {len(people - held)} of its practices' people missing")
        marks = ",".join(f"'{p}'" for p in sorted(people)) or "NULL"
        for child, sql in (
            ("care_case", f"SELECT id FROM care_case WHERE patient_id IN ({marks})"),
            (
                "action",
                "SELECT id FROM action WHERE case_id IN "
                f"(SELECT id FROM care_case WHERE patient_id IN ({marks}))",
            ),
            (
                "note",
                "SELECT id FROM note WHERE case_id IN "
                f"(SELECT id FROM care_case WHERE patient_id IN ({marks}))",
            ),
        ):
            expected = {str(row[0]) for row in full_raw.execute(sql)}
            found = {str(row[0]) for row in raw.execute(sql)}
            if expected != found:
                bad[index].append(f"{child}: {len(expected ^ found)} records differ")
    for raw in [full_raw, *raws]:
        raw.close()
    for store in [full, *stores]:
        store.close()
    good = len(desks) - len(bad)
    for index, problems in sorted(bad.items())[:10]:
        print(f"  ! desk {index}: {'; '.join(problems[:4])}")
    print(f"converged: {good}/{len(desks)}", flush=True)
    table.append(
        (
            "(4) desks converged on the full desk after a quiet round",
            f"{good}/{len(desks)}",
            f"{len(desks)}/{len(desks)}",
            "PASS" if good == len(desks) else "FAIL",
        )
    )
    return good == len(desks)


# ---------------------------------------------------------------- (5) statements


def statement_table(
    title: str, statements: dict[str, list[float]], round_trip_total: float
) -> None:
    total = sum(seconds for _calls, seconds in statements.values()) or 1.0
    print(f"\n{title}")
    print(
        f"  {total:.1f} s in hub statements = {total / round_trip_total:.0%} of the "
        f"{round_trip_total:.1f} s of all round trips"
    )
    print(f"  {'statement':<34} {'calls':>9} {'total ms':>11} {'ms/call':>8} {'share':>6}")
    for kind, (calls, seconds) in sorted(statements.items(), key=lambda item: -item[1][1])[:16]:
        print(
            f"  {kind:<34} {calls:>9,.0f} {seconds * 1000:>11,.0f} "
            f"{seconds * 1000 / calls:>8.2f} {seconds / total:>6.1%}"
        )


# ---------------------------------------------------------------- (6) light clients


def light_process(
    clients: list[tuple[int, list[str]]],
    url: str,
    marks: list[int],
    rounds: int,
    interval: float,
    total_clients: int,
    start_at: float,
    threads: int,
    out: str,
) -> None:
    """Light clients: each pulls its practices' changes of a desk round through the
    scoped pull, at its own moment in the interval."""
    engine = hub_engine(url)  # its pool: one connection per thread, as a pooler would
    statements: dict[str, list[float]] = {}
    pulls: list[tuple[int, float, int, float]] = []  # round, seconds, changes, lag
    lock = threading.Lock()

    def pull(number: int, scope: frozenset[str], round_no: int, due: float) -> None:
        replayed = round_no % (len(marks) - 1)
        cursor, upto = marks[replayed], marks[replayed + 1]
        lag = time.time() - due
        started = time.perf_counter()
        changes = 0
        while True:
            page = client._fetch(
                engine, cursor, PULL_PAGE_SIZE, me=f"{number:032x}", scope=scope, upto=upto
            )
            changes += len(page.changes)
            if page.through <= cursor or page.through >= upto:
                break
            cursor = page.through
        with lock:
            pulls.append((round_no, time.perf_counter() - started, changes, lag))

    with timed_statements(engine, statements), ThreadPoolExecutor(threads) as pool:
        jobs = []
        for round_no in range(rounds):
            for number, scope in clients:
                due = start_at + round_no * interval + interval * number / total_clients
                time.sleep(max(0.0, due - time.time()))
                jobs.append(pool.submit(pull, number, frozenset(scope), round_no, due))
        for job in jobs:
            job.result()
    engine.dispose()
    Path(out).write_text(json.dumps({"pulls": pulls, "statements": statements}))


def light(
    args: argparse.Namespace,
    url: str,
    marks: list[int],
    practice_ids: list[str],
    table: list[Row],
) -> bool:
    print(
        f"\n(6) {args.light:,} light clients, {args.light_rounds} rounds every "
        f"{args.interval:g} s (replaying the desk rounds' changes)",
        flush=True,
    )
    rng = random.Random(5)
    clients = [
        (
            number,
            rng.sample(practice_ids, 2 if number % 3 == 0 else 1),
        )
        for number in range(args.light)
    ]
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 5
    outs = [args.work / f"light-{index}.json" for index in range(args.light_processes)]
    processes = [
        context.Process(
            target=light_process,
            args=(
                clients[index :: args.light_processes],
                url,
                marks,
                args.light_rounds,
                args.interval,
                args.light,
                start_at,
                args.light_threads,
                str(outs[index]),
            ),
        )
        for index in range(args.light_processes)
    ]
    with HubCpu(RUN_DB) as cpu:
        for process in processes:
            process.start()
        for process in processes:
            process.join()
    results = [json.loads(out.read_text()) for out in outs if out.exists()]
    pulls = [pull for result in results for pull in result["pulls"]]
    ms = [pull[1] * 1000 for pull in pulls]
    lags = [pull[3] for pull in pulls]
    statements: dict[str, list[float]] = {}
    for result in results:
        merge_statements(statements, result["statements"])
    hub_ms = sum(s for _c, s in statements.values()) * 1000
    p95 = percentile(ms, 0.95) if ms else float("inf")
    ok = len(pulls) == args.light * args.light_rounds and p95 <= TARGET_LIGHT_PULL_P95_MS
    cpu_round = cpu.seconds() / max(1, args.light_rounds)
    table.append(
        (
            f"(6) light client pull, {args.light:,} clients × {args.light_rounds} rounds",
            f"p50 {percentile(ms, 0.5):.0f} ms, p95 {p95:.0f} ms, max {max(ms, default=0):.0f}",
            f"p95 ≤ {TARGET_LIGHT_PULL_P95_MS:.0f} ms",
            "PASS" if ok else "FAIL",
        )
    )
    table.append(
        (
            "    changes per pull (mean); start lag p95",
            f"{statistics.fmean([p[2] for p in pulls] or [0]):.1f}; "
            f"{percentile(lags, 0.95) if lags else 0:.2f} s",
            "",
            f"statements {hub_ms / max(1, len(pulls)):.1f} ms per pull",
        )
    )
    table.append(
        (
            "    hub CPU per round (backends of the run's database)",
            f"{cpu_round:.1f} s = {cpu_round / args.interval:.0%} of a core",
            "",
            f"{cpu.seconds(ours=False):.1f} s shared writers over the phase",
        )
    )
    statement_table(
        "(6) the hub's time by statement, light clients",
        statements,
        sum(pull[1] for pull in pulls) or 1.0,
    )
    return ok


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-sync-team"))
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--desks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--edits", type=int, default=2, help="edits per desk per round")
    parser.add_argument("--pairs", type=int, default=4, help="two-practice scopes in use")
    parser.add_argument("--light", type=int, default=1000)
    parser.add_argument("--light-rounds", type=int, default=2)
    parser.add_argument("--light-processes", type=int, default=2)
    parser.add_argument("--light-threads", type=int, default=4)
    parser.add_argument("--rebuild", action="store_true", help="seed the hub again")
    parser.add_argument("--seed-only", action="store_true", help="seed the hub, then stop")
    parser.add_argument(
        "--first-only", action="store_true", help="only (1) and (2): the first syncs"
    )
    args = parser.parse_args(argv)
    use_bench_store_passphrase()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}")
    table: list[Row] = []
    seed_db, full_seed = seed(args)
    if args.seed_only:
        return 0
    url, create_s = run_hub(args, seed_db)
    print(f"  this run's hub: CREATE DATABASE … TEMPLATE in {create_s:.1f} s", flush=True)
    full = Store.open(full_seed)
    practices = practices_of(full)
    full.close()
    codes = dict(practices)
    ids = [practice_id for practice_id, _code in practices]
    pairs = [(ids[2 * k], ids[2 * k + 1]) for k in range(min(args.pairs, args.desks // 3))]
    singles = [(p,) for p in ids[: min(len(ids), args.desks - len(pairs))]]
    pool: list[tuple[str, ...]] = [*singles, *pairs]
    empty = args.work / "empty.sqlite"
    remove_store(empty)
    Store.open(empty).close()
    synced, first_ok = first_syncs(args, url, empty, pool, codes, table)
    team_ok = converge_ok = light_ok = True
    if not args.first_only:
        team_ok, converge_ok, light_ok = team_converge_light(
            args, url, full_seed, pool, synced, ids, table
        )
    print(f"\nMachine: {machine()}")
    print(
        f"Hub: {args.patients:,}-person demo, {len(ids)} practices; {args.desks} desks "
        f"({len(singles)} one-practice and {len(pairs)} two-practice scopes)"
    )
    width = max(len(row[0]) for row in table)
    for what, measured, target, verdict in table:
        print(f"{what:<{width}}  {measured:<36} {target:<14} {verdict}")
    missed = not (first_ok and team_ok and converge_ok and light_ok)
    print("\nFAIL: a target was missed" if missed else "\nPASS: every target met")
    return 1 if missed else 0


def team_converge_light(
    args: argparse.Namespace,
    url: str,
    full_seed: Path,
    pool: list[tuple[str, ...]],
    synced: dict[tuple[str, ...], Path],
    ids: list[str],
    table: list[Row],
) -> tuple[bool, bool, bool]:
    """Parts (3) to (6): the desk processes, convergence, statements, light clients."""
    desks: list[tuple[Path, tuple[str, ...]]] = []
    for index in range(args.desks):
        scope = pool[index % len(pool)]
        path = args.work / f"desk-{index}.sqlite"
        copy_store(synced[scope], path)
        desks.append((path, scope))
    team_ok, marks, statements = team(args, url, desks, table)
    syncs_total = 0.0
    for index in range(len(desks)):
        out = args.work / f"desk-{index}.json"
        if out.exists():
            syncs = json.loads(out.read_text())["syncs"]
            syncs_total += sum(s["s"] for s in syncs if s["round"] >= 0)
    converge_ok = converged(args, url, full_seed, desks, table)
    statement_table(
        "(5) the hub's time by statement, desks (timed by the desks around each execute:"
        " pg_stat_statements is not preloaded)",
        statements,
        syncs_total or 1.0,
    )
    light_ok = light(args, url, marks, ids, table) if args.light else True
    return team_ok, converge_ok, light_ok


if __name__ == "__main__":
    sys.exit(main())
