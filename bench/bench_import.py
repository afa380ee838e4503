"""Benchmark a long patient import, and a colleague writing at the same time.

Usage::

    .venv/bin/python bench/bench_import.py [--rows 200000 1000000] [--work /tmp/bench-import]

For each size: writes a patient CSV of that many rows (valid NHS numbers in the
never-issued 999 range, spread over the demo practices; one row in 20 is bad — a wrong
check digit or an unknown practice — and one in 20 repeats an earlier row exactly,
because the 999 range holds only about 909,000 valid numbers), makes a fresh store with
the demo practices, then runs ``mdt-desk patients import`` in a child process while a
second child process makes a small journalled edit (a practice's phone number) every
200 ms. Reported:

* wall time of the import and its exit status (3: some rows were refused, as expected);
* peak resident memory of the importing process (``VmHWM``; target ≤ 400 MB at 1M rows);
* the longest time the import held the store's write lock (one ``Store.write`` block,
  measured from entering it to its commit, so it includes any wait for the lock;
  target about a second);
* the other writer's edits: how many, how many failed, and the longest and p95 time an
  edit took (waiting for the lock included; target: within seconds, none failing);
* how long the last, publishing transaction held the lock (it shows every hidden new
  patient at once and writes the updates deferred to it);
* whether the other process, counting the patients it can see every second, ever saw
  part of the list (target: never; it sees none, then all);
* what the import printed on stderr (its progress lines).

Exit status 1 when a target is missed.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nhs_number
from bench_queries import machine, percentile
from store_passphrase import use_bench_store_passphrase

TARGET_RSS_MB = 400.0
TARGET_HOLD_S = 1.5
TARGET_OTHER_WAIT_S = 5.0
EDIT_EVERY_S = 0.2

HEADER = (
    "nhs_number,family_name,given_name,date_of_birth,practice_code,gender,address,postcode,phone"
)
FAMILY = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel")
GIVEN = ("Joan", "Arjun", "Mary", "John", "Aisha", "David", "Susan", "Peter", "Grace", "Tom")
STREETS = ("High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Lane")
POSTCODES = ("TS18 1HU", "TS19 0AA", "TS17 6BY", "TS20 2PD", "TS21 3EE")


def synthetic_numbers() -> Iterator[str]:
    """Valid NHS numbers of the 999 range (never issued), in order."""
    for stem_number in range(1_000_000):
        stem = f"999{stem_number:06d}"
        check = nhs_number.calculate_checksum(stem)
        if check is not None and check < 10:
            yield f"{stem}{check}"


def write_csv(path: Path, rows: int, practices: Sequence[str]) -> None:
    rng = random.Random(rows)
    numbers = synthetic_numbers()
    recent: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\r\n")
        for index in range(rows):
            if index % 20 == 19:  # a bad row
                if index % 40 == 19:
                    number = "9990000001"  # wrong check digit
                    practice = practices[0]
                else:
                    number = "9990000000"
                    practice = "Y99999"
                handle.write(f"{number},Bad,Row,1950-01-01,{practice},,,,\r\n")
                continue
            if index % 20 == 9 and recent:  # an exact repeat of an earlier row
                handle.write(recent[rng.randrange(len(recent))])
                continue
            born = dt.date(1925 + rng.randrange(80), 1 + rng.randrange(12), 1 + rng.randrange(28))
            line = (
                f"{next(numbers)},{rng.choice(FAMILY)},{rng.choice(GIVEN)},{born},"
                f"{rng.choice(practices)},{rng.choice(('female', 'male', 'F', 'M', ''))},"
                f'"{1 + rng.randrange(200)} {rng.choice(STREETS)}, Stockton",'
                f"{rng.choice(POSTCODES)},01642 {rng.randrange(1_000_000):06d}\r\n"
            )
            handle.write(line)
            recent.append(line)
            if len(recent) > 100:
                recent.pop(0)


# --- the child processes ----------------------------------------------------------------


def child_import(store_path: Path, csv_path: Path, result: Path, one_transaction: bool) -> int:
    """Run ``mdt-desk patients import`` with the write blocks timed."""
    from contextlib import contextmanager

    from mdt_desk import cli
    from mdt_desk.models.store import Store

    holds: list[float] = []
    original = Store.write

    @contextmanager
    def timed_write(self: Store, *args: object, **kwargs: object) -> Iterator[object]:
        started = time.perf_counter()
        with original(self, *args, **kwargs) as session:  # type: ignore[arg-type]
            yield session
        holds.append(time.perf_counter() - started)

    Store.write = timed_write  # type: ignore[method-assign,assignment]
    from mdt_desk.services import patient_import

    writing_from: list[float] = []
    streamed = patient_import.import_patients_file

    def noting_phases(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def noted(phase: str, done: int, total: int) -> None:
            if phase == "writing" and not writing_from:
                writing_from.append(time.perf_counter() - started)
            if progress is not None:
                progress(phase, done, total)

        return streamed(*args, progress=noted, **kwargs)

    patient_import.import_patients_file = noting_phases
    if one_transaction:  # what the command did before: the whole import in one Store.write

        def whole(store: Store, path: Path, **kwargs: Any) -> Any:
            with store.write(kwargs.get("actor_id"), kwargs.get("actor_label", "")) as session:
                return patient_import.import_patients_csv(session, path)

        patient_import.import_patients_file = whole
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        status = cli.main(
            ["patients", "import", str(csv_path), "--store", str(store_path)], out=devnull
        )
    seconds = time.perf_counter() - started
    hwm_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm_kb = int(line.split()[1])
    result.write_text(
        json.dumps(
            {
                "status": status,
                "seconds": seconds,
                "reading_s": writing_from[0] if writing_from else seconds,
                "peak_rss_mb": hwm_kb / 1024,
                "transactions": len(holds),
                "longest_hold_s": max(holds, default=0.0),
                "p95_hold_s": percentile(holds, 0.95) if holds else 0.0,
                # The last transaction publishes: the last rows, the deferred updates,
                # and every hidden patient shown at once.
                "publish_hold_s": holds[-1] if holds else 0.0,
            }
        )
    )
    return 0


def child_writer(store_path: Path, result: Path, stop: Path) -> int:
    """A small journalled edit every 200 ms until ``stop`` exists; every fifth time,
    a count of the patients it can see (none or all of the list, never part of it)."""
    from sqlalchemy import func, select

    from mdt_desk.models import Patient, Practice
    from mdt_desk.models.store import Store

    waits: list[float] = []
    failures: list[str] = []
    counts: list[int] = []
    with Store.open(store_path, create=False) as store:
        with store.read() as session:
            practice_id = session.scalars(select(Practice.id).limit(1)).one()
        flip = 0
        while not stop.exists():
            flip += 1
            started = time.perf_counter()
            try:
                with store.write(actor_label="bench colleague") as session:
                    practice = session.get(Practice, practice_id)
                    assert practice is not None
                    practice.phone = f"01642 {flip % 1_000_000:06d}"
            except Exception as error:  # a failure is what is measured
                failures.append(f"{type(error).__name__}: {error}"[:200])
            waits.append(time.perf_counter() - started)
            if flip % 5 == 0:
                with store.read() as session:
                    counts.append(session.scalar(select(func.count()).select_from(Patient)) or 0)
            time.sleep(EDIT_EVERY_S)
        with store.read() as session:
            counts.append(session.scalar(select(func.count()).select_from(Patient)) or 0)
    result.write_text(json.dumps({"waits": waits, "failures": failures, "counts": counts}))
    return 0


# --- the benchmark ----------------------------------------------------------------------


def run(
    rows: int, work: Path, *, one_transaction: bool = False
) -> tuple[list[tuple[str, str, str, bool]], str]:
    from sqlalchemy import select

    from mdt_desk.models import Practice
    from mdt_desk.models.store import Store
    from mdt_desk.resources import resource_path
    from mdt_desk.services.practices import import_ods_practices

    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"patients-{rows}.csv"
    store_path = work / f"store-{rows}.sqlite"
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    with Store.open(store_path) as store:
        with store.write(actor_label="bench") as session:
            import_ods_practices(session, resource_path("demo", "practices.csv"))
        with store.read() as session:
            practices = sorted(session.scalars(select(Practice.ods_code)))
    if not csv_path.exists():
        write_csv(csv_path, rows, practices)
    size_mb = csv_path.stat().st_size / 1e6

    stop = work / "stop"
    stop.unlink(missing_ok=True)
    writer_result, import_result = work / "writer.json", work / "import.json"
    me = str(Path(__file__).resolve())
    writer = subprocess.Popen(
        [sys.executable, me, "--child-writer", str(store_path), str(writer_result), str(stop)]
    )
    time.sleep(1.0)
    with (work / f"import-{rows}.stderr").open("w") as stderr:
        subprocess.run(
            [
                sys.executable,
                me,
                "--child-import",
                str(store_path),
                str(csv_path),
                str(import_result),
                *(["--one-transaction"] if one_transaction else []),
            ],
            stderr=stderr,
            check=True,
        )
    stop.touch()
    writer.wait()
    imported = json.loads(import_result.read_text())
    other = json.loads(writer_result.read_text())
    waits = other["waits"]
    counts = other["counts"]
    # Seen before the import (none) or after it (all it imported); anything between
    # is a partial list. The final count is all of them.
    partial = [count for count in counts if 0 < count < counts[-1]]
    progress = (work / f"import-{rows}.stderr").read_text().splitlines()
    results = [
        ("file", f"{rows:,} rows, {size_mb:.0f} MB", "", True),
        (
            "import wall time",
            f"{imported['seconds']:.1f} s (reading {imported['reading_s']:.1f} s, writing "
            f"{imported['seconds'] - imported['reading_s']:.1f} s; exit {imported['status']})",
            "",
            True,
        ),
        (
            "peak RSS of the import",
            f"{imported['peak_rss_mb']:.0f} MB",
            f"≤ {TARGET_RSS_MB:.0f} MB",
            imported["peak_rss_mb"] <= TARGET_RSS_MB,
        ),
        (
            "longest write-lock hold",
            f"{imported['longest_hold_s']:.2f} s (p95 {imported['p95_hold_s']:.2f} s, "
            f"{imported['transactions']} transactions)",
            f"≤ {TARGET_HOLD_S} s",
            imported["longest_hold_s"] <= TARGET_HOLD_S,
        ),
        (
            "other writer: longest wait",
            f"{max(waits):.2f} s (p95 {percentile(waits, 0.95):.2f} s, median "
            f"{statistics.median(waits) * 1000:.0f} ms, {len(waits)} edits, "
            f"{len(other['failures'])} failed)",
            f"≤ {TARGET_OTHER_WAIT_S:.0f} s, none failed",
            max(waits) <= TARGET_OTHER_WAIT_S and not other["failures"],
        ),
        (
            "publishing transaction hold",
            f"{imported['publish_hold_s']:.2f} s (the last one: every new patient shown)",
            f"≤ {TARGET_HOLD_S} s",
            imported["publish_hold_s"] <= TARGET_HOLD_S,
        ),
        (
            "other writer saw part of the list",
            f"{len(partial)} of {len(counts)} looks (saw {min(counts, default=0):,} "
            f"then {max(counts, default=0):,} patients)",
            "never",
            not partial,
        ),
        ("progress lines on stderr", str(len(progress)), "", bool(progress)),
    ]
    sample = "\n".join([*progress[:3], "…", *progress[-2:]]) if progress else ""
    for failure in other["failures"][:3]:
        sample += f"\nother writer failed: {failure}"
    return results, sample


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    use_bench_store_passphrase()
    if argv and argv[0] == "--child-import":
        return child_import(
            Path(argv[1]), Path(argv[2]), Path(argv[3]), "--one-transaction" in argv
        )
    if argv and argv[0] == "--child-writer":
        return child_writer(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-import"))
    parser.add_argument(
        "--one-transaction",
        action="store_true",
        help="for comparison: the whole import in one transaction, as the command did before",
    )
    args = parser.parse_args(argv)
    print(machine())
    ok = True
    for rows in args.rows:
        results, sample = run(rows, args.work, one_transaction=args.one_transaction)
        print(f"\n{rows:,} rows")
        for what, measured, target, met in results:
            mark = "" if met else "  <-- MISSED"
            print(f"  {what:34} {measured:60} {target}{mark}")
            ok = ok and met
        print("  stderr:\n    " + sample.replace("\n", "\n    "))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
