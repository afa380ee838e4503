"""How cost grows with the number of people: every screen and command at 10k, 100k, 500k.

Usage::

    .venv/bin/python bench/bench_scaling.py [--sizes 10000,100000,500000]
        [--variants realistic,stress] [--work /tmp/bench-scaling] [--repeat 30]
        [--rounds 3] [--process-runs 3] [--chart docs/performance-scaling.png]
        [--keep] [--fresh]

For each variant and size a demo store is made with ``mdt-desk demo`` in a child process
(its wall time, peak memory and size on disk are printed) and kept in ``--work`` for the
next run; a store of 500,000 people or more is made per run and removed afterwards,
unless ``--keep``. A store made by another version of the demo generator is made again.

- **realistic**: ``mdt-desk demo --patients N``, whose practices grow in number with N
  (about 200 people each): the per-practice screens (caseload page, agenda proposals,
  care plan, quick find) must stay flat, within 1.5× of their figure at the smallest size.
- **stress**: ``mdt-desk demo --patients N --practices 14``: the practices grow in size
  with N; the per-practice screens must stay under 1 s.

The in-process operations run in ``--rounds`` rounds in which the sizes take turns, so a
drift in the machine's speed falls on every size rather than reading as growth. Each
reuses its own benchmark's code, with its raw-SQL baseline: the caseload page and the
name search (``bench_queries``), the agenda proposals (``bench_agenda``), the care plan
PDF (``documents.preview`` against ``bench_documents.raw_reads``) and a practice's
indicator panel (``bench_indicators``). Quick find, keystroke to matches shown in the
real window, runs ``bench_startup.bench_quick_find`` in a child process.
``mdt-desk export --format json`` and ``mdt-desk check`` run as child processes: wall
time, peak RSS, and whether they show progress on stderr (required over 1 s).

Prints Markdown tables (median, p95 where repeated, ratio to raw SQL, growth factor
between consecutive sizes), why whatever grows grows, and writes a log-log chart with
pyqtgraph. Exit status 1 when a target is missed, 2 when the run cannot be made.
"""

import argparse
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from bench_agenda import bench_propose
from bench_documents import raw_reads
from bench_indicators import bench_panel
from bench_queries import (
    NAME_PREFIXES,
    bench_caseload,
    bench_name_search,
    machine,
    percentile,
    spread,
    timed,
)
from sqlalchemy import func, select
from store_passphrase import use_bench_store_passphrase

import mdt_desk.services.demo as demo_module
from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.models import Case, Patient, Practice
from mdt_desk.models.enums import CaseStatus
from mdt_desk.models.store import PAGE_CACHE_KIB, Store
from mdt_desk.services.caseload import find_patients
from mdt_desk.services.demo import DEMO_LOCALITY
from mdt_desk.services.desk import Desk
from mdt_desk.services.indicators import LONDON, Period, practice_scope
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.services.staff import signed_in_staff_id

BENCH = Path(__file__).resolve().parent
REALISTIC, STRESS = "realistic", "stress"
STRESS_PRACTICES = 14  # the stress case: Thanet's 14 practices, however many people
DEMO_FLOOR_PRACTICES, PEOPLE_PER_PRACTICE = 14, 200  # the realistic demo's practices
TRANSIENT_FROM = 500_000  # stores this big are made per run and removed afterwards
FLAT_FACTOR = 1.5  # realistic per-practice screens: within 1.5x of the smallest size
STRESS_LIMIT_MS = 1000.0  # stress per-practice screens: under 1 s
SLOW_S = 1.0  # a command longer than this must show progress
LINEAR_EXPONENT = 0.7  # growth n^k with k at least this is called linear
PROCESS_REPEAT_CAP_S = 30.0  # a command run longer than this is not repeated
CASELOAD_PRACTICES = 10  # practices sampled, spread over all of them
AGENDA_MEETINGS = 10  # planned meetings sampled
CARE_PLAN_CASES = 10  # active cases sampled

CASELOAD = "caseload page"
NAME_SEARCH = "name search"
QUICK_FIND = "quick find"
AGENDA = "agenda proposals"
CARE_PLAN = "care plan"
PANEL = "indicator panel"
EXPORT = "full export"
CHECK = "check"
OPERATIONS = (CASELOAD, NAME_SEARCH, QUICK_FIND, AGENDA, CARE_PLAN, PANEL, EXPORT, CHECK)
PER_PRACTICE = (CASELOAD, AGENDA, CARE_PLAN, QUICK_FIND)  # the contract's screens
COMMANDS = (EXPORT, CHECK)

WHAT = {
    CASELOAD: f"one practice's first 100 active cases ({CASELOAD_PRACTICES} practices spread)",
    NAME_SEARCH: "3-letter name prefix, 50 rows (10 prefixes), whole store",
    QUICK_FIND: "keystroke to matches shown, real window (names, NHS numbers, births)",
    AGENDA: f"propose() for a planned meeting ({AGENDA_MEETINGS} meetings spread)",
    CARE_PLAN: f"care plan PDF preview of an active case ({CARE_PLAN_CASES} cases spread)",
    PANEL: "every indicator, one practice, last 12 months",
    EXPORT: "`mdt-desk export --format json -o FILE`, new process",
    CHECK: "`mdt-desk check`, new process",
}
WHY_LINEAR = {
    EXPORT: "it writes every record, so it must read them all",
    CHECK: (
        "SQLite's integrity check reads every page and the journal check reads every "
        "change: it is a check of the whole store"
    ),
}
WHY_STRESS = (
    f"the stress case keeps {STRESS_PRACTICES} practices, so a practice holds N/"
    f"{STRESS_PRACTICES} people and its screens read a share of the store that grows with N"
)

QUICK_FIND_CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench_startup import bench_quick_find
median, p95, raw, keystrokes = bench_quick_find(Path(sys.argv[2]))
print(json.dumps({"median": median, "p95": p95, "raw": raw, "keystrokes": keystrokes}))
"""


def say(message: str) -> None:
    """What the run is doing, on stderr (the tables go to stdout)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# -- child processes ----------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    peak_rss: int  # bytes
    returncode: int
    stdout: str
    stderr: str
    stderr_at: list[float]  # seconds from the start at which stderr output arrived

    @property
    def longest_silence(self) -> float:
        """The longest wait between the start, each stderr output and the end."""
        moments = [0.0, *self.stderr_at, self.seconds]
        return max(later - earlier for earlier, later in itertools.pairwise(moments))


# A command's own peak RSS. A child spawned from this process starts with this process's
# memory map (vfork), and Linux keeps the peak RSS across exec: wait4 on it would report
# at least this process's peak. So a tiny interpreter forks the command and reports its
# peak on a pipe (the floor is the tiny interpreter's own few megabytes).
PEAK_RSS_WRAPPER = """
import os, sys
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execvp(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
os.write(report, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_child(command: Sequence[str], stdin: str = "", *, echo: bool = False) -> ChildRun:
    """Run ``command``: its wall time, its own peak RSS and its stderr, timed."""
    report, report_end = os.pipe()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", PEAK_RSS_WRAPPER, str(report_end), *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(report_end,),
    )
    os.close(report_end)
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    out: list[bytes] = []
    err: list[bytes] = []
    err_at: list[float] = []

    def drain_out() -> None:
        assert child.stdout is not None
        out.append(child.stdout.read())

    def drain_err() -> None:
        assert child.stderr is not None
        descriptor = child.stderr.fileno()
        while chunk := os.read(descriptor, 65536):
            err_at.append(time.perf_counter() - started)
            err.append(chunk)
            if echo:
                sys.stderr.write(chunk.decode("utf-8", "replace"))
                sys.stderr.flush()

    readers = [threading.Thread(target=drain_out), threading.Thread(target=drain_err)]
    for reader in readers:
        reader.start()
    try:
        child.stdin.write(stdin.encode())
        child.stdin.close()
    except BrokenPipeError:
        pass
    returncode = child.wait()
    seconds = time.perf_counter() - started
    for reader in readers:
        reader.join()
    child.stdout.close()
    child.stderr.close()
    with os.fdopen(report, "rb") as reported:
        peak_kib = int(reported.read() or b"0")
    return ChildRun(
        seconds,
        peak_kib * 1024,  # ru_maxrss is in KiB on Linux
        returncode,
        b"".join(out).decode("utf-8", "replace"),
        b"".join(err).decode("utf-8", "replace"),
        err_at,
    )


def cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "mdt_desk.cli", *arguments]


def demo_has_practices_option() -> bool:
    result = subprocess.run(cli("demo", "--help"), capture_output=True, text=True, check=False)
    return "--practices" in result.stdout


# -- stores -------------------------------------------------------------------------


@dataclass
class StoreInfo:
    variant: str
    patients: int
    path: Path
    made_s: float = 0.0
    made_rss: int = 0
    made_now: bool = False
    size: int = 0
    practices: int = 0  # practices with people registered
    cases: int = 0
    journal: int = 0
    measured_s: float = 0.0


def store_files(path: Path) -> list[Path]:
    return [path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".key", ".json"))]


def disk_size(path: Path) -> int:
    return sum(each.stat().st_size for each in store_files(path)[:4] if each.exists())


def remove_store(path: Path) -> None:
    for each in store_files(path):
        each.unlink(missing_ok=True)


def demo_fingerprint() -> str:
    """The demo generator's source: a store made by another version is made again."""
    return hashlib.sha256(Path(demo_module.__file__).read_bytes()).hexdigest()[:16]


def make_or_reuse(work: Path, variant: str, patients: int, seed: int, fresh: bool) -> StoreInfo:
    path = work / f"{variant}-{patients}.sqlite"
    made = Path(f"{path}.json")
    info = StoreInfo(variant, patients, path)
    if path.exists() and made.exists() and not fresh:
        facts = json.loads(made.read_text())
        if facts.get("demo") == demo_fingerprint() and facts.get("seed") == seed:
            info.made_s, info.made_rss = facts["seconds"], facts["peak_rss"]
            info.size = disk_size(path)
            say(f"reusing {path} (made in {info.made_s:.1f} s by an earlier run)")
            return info
        say(f"{path} was made by another demo generator or seed: making it again")
    remove_store(path)
    command = cli("demo", "--patients", str(patients), "--seed", str(seed), "--store", str(path))
    if variant == STRESS:
        command += ["--practices", str(STRESS_PRACTICES)]
    say(f"making {path}: {' '.join(command[1:])}")
    try:
        run = run_child(command, echo=True)
    except BaseException:  # interrupted: no half-made store is left to be reused
        remove_store(path)
        raise
    if run.returncode != 0:
        remove_store(path)
        raise SystemExit(f"`mdt-desk demo` failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    info.made_s, info.made_rss, info.made_now = run.seconds, run.peak_rss, True
    info.size = disk_size(path)
    made.write_text(
        json.dumps(
            {
                "demo": demo_fingerprint(),
                "seed": seed,
                "seconds": run.seconds,
                "peak_rss": run.peak_rss,
            }
        )
    )
    say(f"made in {run.seconds:.1f} s, {info.size / 1e6:,.0f} MB on disk")
    return info


# -- measures -----------------------------------------------------------------------


@dataclass
class Sample:
    """Milliseconds of an operation and of its raw-SQL baseline, gathered over rounds."""

    times_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    detail: str = ""

    def add(self, other: "Sample") -> None:
        self.times_ms += other.times_ms
        self.raw_ms += other.raw_ms
        self.detail = other.detail or self.detail


@dataclass
class Measure:
    median_ms: float
    p95_ms: float | None  # None when run once
    runs: int
    raw_ms: float | None = None  # the raw-SQL baseline's median, where there is one
    detail: str = ""
    missed: list[str] = field(default_factory=list)  # targets missed here

    @classmethod
    def of(cls, sample: Sample) -> "Measure":
        times = sample.times_ms
        return cls(
            statistics.median(times),
            percentile(times, 0.95) if len(times) > 1 else None,
            len(times),
            statistics.median(sample.raw_ms) if sample.raw_ms else None,
            sample.detail,
        )


def sample_caseload(store: Store, raw: Any, repeat: int) -> Sample:
    _name, service, raw_ms, _fresh = bench_caseload(
        store, raw, repeat, most=CASELOAD_PRACTICES, show_plan=False
    )
    return Sample(service, raw_ms)


def sample_name_search(store: Store, raw: Any, repeat: int) -> Sample:
    _name, service, raw_ms, _fresh = bench_name_search(store, raw, repeat, show_plan=False)
    # A small store has fewer than 50 people for some prefixes: fewer rows, less time.
    with store.read(signed_in_staff_id(store)) as session:
        rows = [len(find_patients(session, prefix, limit=50)) for prefix in NAME_PREFIXES]
    return Sample(service, raw_ms, f"{min(rows)}–{max(rows)} rows")


def sample_agenda(store: Store, raw: Any, repeat: int) -> Sample:
    run = bench_propose(store, raw, max(1, repeat // AGENDA_MEETINGS), most=AGENDA_MEETINGS)
    return Sample(
        run.service_ms,
        run.raw_ms,
        f"{statistics.median(run.sizes):.0f} proposals per meeting (median)",
    )


def sample_care_plan(store: Store, raw: Any, repeat: int) -> Sample:
    del raw  # bench_documents.raw_reads opens its own connection per case
    desk = Desk.for_store(store)
    with desk.read() as session:
        active = session.execute(
            select(Case.id, Case.patient_id)
            .where(Case.status == CaseStatus.ACTIVE)
            .order_by(Case.id)
        ).all()
    chosen = spread(active, CARE_PLAN_CASES)
    now = dt.datetime.now(dt.UTC)
    previews: list[Callable[[], object]] = [
        partial(
            documents.preview,
            desk,
            DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id, case_id=case_id),
            now=now,
        )
        for case_id, patient_id in chosen
    ]
    reads: list[Callable[[], object]] = [
        raw_reads(store, patient_id.hex, case_id.hex) for case_id, patient_id in chosen
    ]
    service, raw_ms = timed((previews, reads), max(repeat, len(chosen)))
    return Sample(service, raw_ms)


def sample_panel(store: Store, raw: Any, repeat: int) -> Sample:
    with store.read(signed_in_staff_id(store)) as session:
        code = session.scalars(
            select(Practice.ods_code)
            .order_by((Practice.commissioner_code != DEMO_LOCALITY), Practice.ods_code)
            .limit(1)
        ).one()
        scope = practice_scope(session, code)
        people = session.scalar(
            select(func.count()).where(Patient.practice_id == scope.practice_ids[0])
        )
        period = Period.last_months(12, dt.datetime.now(LONDON).date())
        panel, raw_ms, statements = bench_panel(session, raw, scope, period, repeat)
    return Sample(panel, raw_ms, f"practice {code}, {people:,} people, {statements} SELECTs")


IN_PROCESS: tuple[tuple[str, Callable[[Store, Any, int], Sample]], ...] = (
    (CASELOAD, sample_caseload),
    (NAME_SEARCH, sample_name_search),
    (AGENDA, sample_agenda),
    (CARE_PLAN, sample_care_plan),
    (PANEL, sample_panel),
)


def measure_quick_find(path: Path, label: str) -> Measure:
    """The window's quick find in a child process; a failure is reported, not fatal (the
    rest of a long run still counts)."""
    run = run_child([sys.executable, "-c", QUICK_FIND_CHILD, str(BENCH), str(path)])
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        say(f"the quick find child failed ({run.returncode}):\n{run.stderr}")
        return Measure(math.nan, None, 0, missed=[f"{QUICK_FIND}, {label}: failed ({last})"])
    found = json.loads(lines[-1])
    return Measure(
        found["median"],
        found["p95"],
        found["keystrokes"],
        found["raw"],
        f"{found['keystrokes']} keystrokes",
    )


def describe_progress(runs: Sequence[ChildRun]) -> tuple[str, bool]:
    """How the command showed its progress, and whether it met the rule (over 1 s: some)."""
    slow = [run for run in runs if run.seconds > SLOW_S]
    silent = [run for run in slow if not run.stderr_at]
    shown = [run for run in runs if run.stderr_at]
    if shown:
        worst = max(run.longest_silence for run in shown)
        updates = max(len(run.stderr.splitlines()) for run in shown)
        text = f"progress: {updates} lines, longest silence {worst:.1f} s"
    else:
        text = "progress: none"
    return text, not silent


@dataclass
class Command:
    """One command on one store: its runs so far."""

    name: str
    label: str  # variant and size
    argv: list[str]
    stdin: str = ""
    output: Path | None = None  # the file it writes, measured and removed after each run
    runs: list[ChildRun] = field(default_factory=list)
    written: int = 0
    failed: str = ""  # its last line of stderr, when it failed (not run again)

    @property
    def done(self) -> bool:
        """One run over the cap is the figure: it is not repeated; nor is a failure."""
        return bool(self.failed) or any(run.seconds > PROCESS_REPEAT_CAP_S for run in self.runs)

    def run(self) -> None:
        try:
            run = run_child(self.argv, self.stdin)
            if run.returncode != 0:
                say(f"{self.name} ({self.label}) failed ({run.returncode}):\n{run.stderr}")
                last = (run.stderr.strip().splitlines() or ["no output"])[-1]
                self.failed = f"exit status {run.returncode}: {last}"
                return
            self.runs.append(run)
            if self.output is not None:
                self.written = self.output.stat().st_size
        finally:
            if self.output is not None:
                self.output.unlink(missing_ok=True)

    def measure(self) -> Measure:
        if self.failed:
            return Measure(
                math.nan, None, 0, missed=[f"{self.name}, {self.label}: failed ({self.failed})"]
            )
        progress, ok = describe_progress(self.runs)
        facts = [f"peak RSS {max(run.peak_rss for run in self.runs) / 1e6:,.0f} MB"]
        if self.output is not None:
            facts.append(f"{self.written / 1e6:,.0f} MB written")
        facts.append(progress)
        measure = Measure.of(
            Sample([run.seconds * 1000 for run in self.runs], [], ", ".join(facts))
        )
        if not ok:
            measure.missed.append(
                f"{self.name}, {self.label}: over {SLOW_S:.0f} s with no progress shown"
            )
        return measure


def store_facts(info: StoreInfo, raw: Any) -> None:
    info.practices, info.cases, info.journal = raw.execute(
        "SELECT (SELECT count(DISTINCT practice_id) FROM patient), "
        "(SELECT count(*) FROM care_case), (SELECT count(*) FROM journal_change)"
    ).fetchone()


def measure_variant(
    stores: Sequence[StoreInfo],
    work: Path,
    repeat: int,
    rounds: int,
    process_runs: int,
    *,
    with_commands: bool = True,
) -> dict[int, dict[str, Measure]]:
    """Every operation on every store of one variant.

    This VM's speed drifts from minute to minute, so the sizes take turns: each round
    runs every in-process operation on every store (in a rotating order) and each
    command runs once per store per turn. Otherwise a drift would read as growth.
    """
    samples: dict[int, dict[str, Sample]] = {info.patients: {} for info in stores}
    actors: dict[int, str] = {}
    per_round = max(10, -(-repeat // rounds))
    with ExitStack() as stack:
        opened: list[tuple[StoreInfo, Store, Any]] = []
        for info in stores:
            store = stack.enter_context(Store.open(info.path, create=False))
            raw = store.raw_connection()
            stack.callback(raw.close)
            # The same page cache and temporary tables as the store's own connections.
            raw.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            raw.execute("PRAGMA temp_store=MEMORY")
            store_facts(info, raw)
            actors[info.patients] = str(signed_in_staff_id(store))
            opened.append((info, store, raw))
        for number in range(rounds):
            turn = opened[number % len(opened) :] + opened[: number % len(opened)]
            for name, sample in IN_PROCESS:
                say(f"round {number + 1} of {rounds}: {name}")
                for info, store, raw in turn:
                    started = time.perf_counter()
                    found = sample(store, raw, per_round)
                    info.measured_s += time.perf_counter() - started
                    samples[info.patients].setdefault(name, Sample()).add(found)
    results = {
        patients: {name: Measure.of(sample) for name, sample in by_name.items()}
        for patients, by_name in samples.items()
    }
    for info in stores:
        say(f"{info.variant} {info.patients:,}: {QUICK_FIND} (child process, real window)")
        started = time.perf_counter()
        results[info.patients][QUICK_FIND] = measure_quick_find(
            info.path, f"{info.variant} {info.patients:,}"
        )
        info.measured_s += time.perf_counter() - started
    commands: list[tuple[StoreInfo, Command]] = []
    for info in stores if with_commands else ():
        label = f"{info.variant} {info.patients:,}"
        output = work / "export.json"
        export = cli(
            "export",
            *("--store", str(info.path), "--as", actors[info.patients], "--pin-stdin"),
            *("--format", "json", "-o", str(output)),
        )
        commands.append((info, Command(EXPORT, label, export, DEMO_PIN + "\n", output)))
        commands.append((info, Command(CHECK, label, cli("check", "--store", str(info.path)))))
    for number in range(process_runs):
        for info, command in commands:
            if not command.done:
                say(f"{command.label}: {command.name}, run {number + 1} of {process_runs}")
                started = time.perf_counter()
                command.run()
                info.measured_s += time.perf_counter() - started
    for info, command in commands:
        results[info.patients][command.name] = command.measure()
    return results


# -- judging and reporting ----------------------------------------------------------


def duration(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def cell(measure: Measure) -> str:
    if math.isnan(measure.median_ms):
        return "failed"
    parts = [duration(measure.median_ms)]
    extra = []
    if measure.p95_ms is not None:
        extra.append(f"p95 {duration(measure.p95_ms)}")
    if measure.raw_ms:
        extra.append(f"{measure.median_ms / measure.raw_ms:.1f}× raw")
    if measure.detail:
        extra.append(measure.detail)
    if extra:
        parts.append(f"({'; '.join(extra)})")
    return " ".join(parts)


def exponent(factor: float, size_ratio: float) -> float:
    return math.log(factor) / math.log(size_ratio) if factor > 0 else 0.0


def growth_class(medians: Sequence[float], sizes: Sequence[int]) -> str:
    """flat (each step within 1.5x), linear (some step grows like n^0.7 or faster),
    or sub-linear."""
    worst = "flat"
    for (t1, n1), (t2, n2) in itertools.pairwise(zip(medians, sizes, strict=True)):
        factor = t2 / t1
        if math.isnan(factor) or factor <= FLAT_FACTOR:
            continue
        if exponent(factor, n2 / n1) >= LINEAR_EXPONENT:
            return "linear"
        worst = "sub-linear"
    return worst


def judge(
    variant: str, name: str, measures: Sequence[Measure], sizes: Sequence[int]
) -> tuple[str, str, list[str]]:
    """The target, the verdict, and the targets missed, for one operation of a variant."""
    missed = [text for measure in measures for text in measure.missed]
    first, medians = measures[0].median_ms, [m.median_ms for m in measures]
    if any(math.isnan(median) for median in medians):
        return "", "FAILED", missed
    if name in PER_PRACTICE and variant == REALISTIC:
        flat = all(m <= FLAT_FACTOR * first for m in medians)
        if not flat:
            missed.append(f"{variant} {name}: {max(medians) / first:.2f}× its smallest-size figure")
        return f"≤ {FLAT_FACTOR}× smallest size", "FLAT" if flat else "GROWS", missed
    if name in PER_PRACTICE:
        flat = all(m <= FLAT_FACTOR * first for m in medians)
        under = max(medians) < STRESS_LIMIT_MS
        if not under:
            missed.append(f"{variant} {name}: {duration(max(medians))}, over 1 s")
        verdict = f"{'FLAT' if flat else 'GROWS'}, < 1 s {'met' if under else 'MISSED'}"
        return f"< {duration(STRESS_LIMIT_MS)}", verdict, missed
    if name in COMMANDS:
        return "progress shown when over 1 s", "met" if not missed else "MISSED", missed
    if name == PANEL and variant == STRESS:
        return "reported", "", missed  # a practice's panel reads its people: N/14 of them
    # A page query (50 rows; a practice's panel on practices of a size).
    linear = growth_class(medians, sizes) == "linear"
    if linear:
        missed.append(f"{variant} {name}: grows linearly")
    return "flat or logarithmic", "MISSED" if linear else "met", missed


def print_stores(stores: Sequence[StoreInfo]) -> None:
    print(
        "| variant | patients | practices | people per practice | cases | journal rows "
        "| made in | peak RSS making | size on disk | measured in |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for info in stores:
        made = f"{info.made_s:.1f} s" + ("" if info.made_now else " (earlier run)")
        per_practice = info.patients / info.practices if info.practices else 0
        print(
            f"| {info.variant} | {info.patients:,} | {info.practices:,} | {per_practice:,.0f} "
            f"| {info.cases:,} | {info.journal:,} | {made} | {info.made_rss / 1e6:,.0f} MB "
            f"| {info.size / 1e6:,.0f} MB | {info.measured_s:.0f} s |"
        )


def like_for_like(stores: Sequence[StoreInfo]) -> None:
    """Warn when the realistic stores' practices are not all of a size: the flat target
    compares a practice's screens with the same screens on a practice of the same size."""
    sizes = {
        info.patients: info.patients / info.practices
        for info in stores
        if info.variant == REALISTIC and info.practices
    }
    if sizes and max(sizes.values()) > 1.2 * min(sizes.values()):
        listed = ", ".join(f"{each:,.0f} at {n:,}" for n, each in sizes.items())
        print(
            f"\nNote: the realistic practices are not all of a size (people per practice: "
            f"{listed}); below {DEMO_FLOOR_PRACTICES * PEOPLE_PER_PRACTICE:,} people the demo "
            f"keeps its floor of {DEMO_FLOOR_PRACTICES} practices, so the flat comparison is "
            "not like for like."
        )


def print_variant(
    variant: str, sizes: Sequence[int], results: dict[int, dict[str, Measure]]
) -> list[str]:
    """The variant's table and why what grows grows; the targets missed."""
    steps = list(itertools.pairwise(sizes))
    print(f"\n### {variant}\n")
    header = ["operation", *(f"{n:,}" for n in sizes)]
    header += [f"growth {a:,}→{b:,}" for a, b in steps] + ["class", "target", "verdict"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    missed: list[str] = []
    why: list[str] = []
    for name in OPERATIONS:
        if name not in results[sizes[0]]:
            continue  # export and check: run on the other variant (the same rows)
        measures = [results[n][name] for n in sizes]
        medians = [m.median_ms for m in measures]
        growth = [
            f"×{t2 / t1:.2f} (n^{exponent(t2 / t1, b / a):.2f})" if math.isfinite(t2 / t1) else "—"
            for (a, b), (t1, t2) in zip(steps, itertools.pairwise(medians), strict=True)
        ]
        kind = growth_class(medians, sizes)
        target, verdict, name_missed = judge(variant, name, measures, sizes)
        missed += name_missed
        row = [name, *(cell(m) for m in measures), *growth, kind, target, verdict]
        print("| " + " | ".join(row) + " |")
        if kind != "flat":
            if name in WHY_LINEAR:
                reason = WHY_LINEAR[name]
            elif variant == STRESS and name in (*PER_PRACTICE, PANEL):
                reason = WHY_STRESS
            else:
                reason = "no known reason: investigate"
            why.append(f"- {name} ({kind}): {reason}.")
    if why:
        print("\nWhy it grows:\n")
        print("\n".join(why))
    return missed


# One colour per operation (Tableau 10), solid for screens, dashed for commands.
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f")


def draw_chart(
    path: Path, sizes: Sequence[int], results: dict[str, dict[int, dict[str, Measure]]]
) -> None:
    """Median time against patients, log-log, one line per operation, a plot per variant,
    with the 1 s line (the stress case's limit, and where commands must show progress)."""
    import pyqtgraph as pg
    import pyqtgraph.exporters
    from PySide6.QtCore import Qt

    app = pg.mkQApp()
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    layout = pg.GraphicsLayoutWidget()
    width = 600 * len(results)
    layout.resize(width, 560)
    titles = {
        REALISTIC: "Realistic demo (practices grow with N)",
        STRESS: f"Stress case ({STRESS_PRACTICES} practices)",
    }
    legend = pg.LegendItem(colCount=4)
    legend.setLabelTextSize("9pt")
    for variant, by_size in results.items():
        plot = layout.addPlot(title=titles.get(variant, variant))
        plot.setLogMode(x=True, y=True)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.getViewBox().setDefaultPadding(0.08)
        plot.setLabel("bottom", "patients")
        plot.getAxis("bottom").setTicks([[(math.log10(n), f"{n:,}") for n in sizes]])
        plot.setLabel("left", "median time (ms)")
        plot.addItem(
            pg.InfiniteLine(
                pos=math.log10(STRESS_LIMIT_MS),
                angle=0,
                pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine),
                label="1 s",
                labelOpts={"position": 0.05, "color": "#555555"},
            )
        )
        for name, colour in zip(OPERATIONS, COLOURS, strict=True):
            style = Qt.PenStyle.DashLine if name in COMMANDS else Qt.PenStyle.SolidLine
            measured = [
                n for n in sizes if name in by_size[n] and math.isfinite(by_size[n][name].median_ms)
            ]
            curve = plot.plot(
                measured,
                [by_size[n][name].median_ms for n in measured],
                pen=pg.mkPen(colour, width=2, style=style),
                symbol="o",
                symbolSize=6,
                symbolBrush=colour,
                symbolPen=colour,
            )
            if variant == next(iter(results)):
                legend.addItem(curve, name)
    layout.addItem(legend, row=1, col=0, colspan=len(results))
    layout.show()  # offscreen: lays the plots out at the window's size
    app.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    exporter = pyqtgraph.exporters.ImageExporter(layout.scene())
    exporter.parameters()["width"] = width
    exporter.export(str(path))
    layout.close()


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are positive numbers of patients")
    return sizes


def parse_variants(text: str) -> list[str]:
    variants = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(variants) - {REALISTIC, STRESS}
    if unknown or not variants:
        raise argparse.ArgumentTypeError(f"variants are {REALISTIC} and {STRESS}")
    return variants


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10_000, 100_000, 500_000],
        help="patients, comma-separated (default 10000,100000,500000)",
    )
    parser.add_argument(
        "--variants", type=parse_variants, default=[REALISTIC, STRESS], help="realistic,stress"
    )
    parser.add_argument(
        "--commands-on",
        type=parse_variants,
        default=[REALISTIC],
        help="variants export and check run on (default realistic: both variants hold the "
        "same rows, so a second run of each says nothing new)",
    )
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/bench-scaling"), help="where the stores are kept"
    )
    parser.add_argument("--repeat", type=int, default=30, help="runs of each in-process query")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns the sizes take at the in-process queries"
    )
    parser.add_argument("--process-runs", type=int, default=3, help="runs of export and check")
    parser.add_argument(
        "--chart", type=Path, default=Path("docs/performance-scaling.png"), help="PNG to write"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help=f"keep stores of {TRANSIENT_FROM:,}+")
    parser.add_argument("--fresh", action="store_true", help="make every store again")
    args = parser.parse_args(argv)
    use_bench_store_passphrase()
    if STRESS in args.variants and not demo_has_practices_option():
        print(
            "The stress variant needs `mdt-desk demo --practices K` (generate_demo(..., "
            "practices=K)), which this checkout does not have yet. Run with "
            "--variants realistic.",
            file=sys.stderr,
        )
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    stores: list[StoreInfo] = []
    results: dict[str, dict[int, dict[str, Measure]]] = {}
    for variant in args.variants:
        made: list[StoreInfo] = []
        try:
            for patients in args.sizes:
                made.append(make_or_reuse(args.work, variant, patients, args.seed, args.fresh))
            results[variant] = measure_variant(
                made,
                args.work,
                args.repeat,
                args.rounds,
                args.process_runs,
                with_commands=variant in args.commands_on,
            )
        finally:
            for info in made:
                if info.patients >= TRANSIENT_FROM and not args.keep:
                    remove_store(info.path)
                    say(f"removed {info.path}")
        stores += made
    total = time.perf_counter() - started
    print(machine())
    print(
        f"Load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
        f"the whole run took {total / 60:.1f} min. In-process queries: about {args.repeat} runs "
        f"in {args.rounds} rounds, sizes taking turns; "
        f"export and check: up to {args.process_runs} runs (one when a run is over "
        f"{PROCESS_REPEAT_CAP_S:.0f} s). Cells: median (p95; ratio to the same SQL on raw "
        "SQLCipher).\n"
    )
    print_stores(stores)
    like_for_like(stores)
    print("\nWhat each operation is:\n")
    for name in OPERATIONS:
        print(f"- {name}: {WHAT[name]}")
    missed: list[str] = []
    for variant in args.variants:
        missed += print_variant(variant, args.sizes, results[variant])
    draw_chart(args.chart, args.sizes, results)
    print(f"\nChart: {args.chart}")
    if missed:
        print("\nTargets missed:\n" + "\n".join(f"- {text}" for text in missed))
        return 1
    print("\nEvery target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
