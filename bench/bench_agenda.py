"""Benchmark the agenda proposals against the same SQL on raw SQLite.

Usage::

    .venv/bin/python bench/bench_agenda.py --store /tmp/demo100k.sqlite [--repeat 30]

For every planned meeting of the store, :func:`mdt_desk.services.agenda_rules.propose`
runs in a ``store.read()`` session; the baseline is every SELECT it sent to SQLite (the
candidate cases, last discussions, carried items, overdue counts, admissions), captured
with their parameters and run on a raw ``sqlcipher3`` connection, keyed, on the same
encrypted file, all rows fetched. The ratio is the cost of the ORM and of judging the
rules in Python over reading the rows. Targets: median at most 150 ms per meeting (the
agenda builder asks off the GUI thread) and at most 3 times the raw reads.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_queries import captured_selects, machine, percentile, spread
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models.enums import MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, meetings
from mdt_desk.services.staff import signed_in_staff_id

TARGET_MEDIAN_MS = 150.0  # issue 15: per meeting, on the 100k demo
TARGET_RATIO = 3.0


@dataclass(frozen=True)
class AgendaRun:
    """Milliseconds of ``propose()`` and of its SELECTs on raw SQL, over the meetings."""

    service_ms: list[float]
    raw_ms: list[float]
    sizes: list[int]  # proposals per meeting
    meetings: int  # meetings timed
    planned: int  # planned meetings in the store
    open_cases: int


def bench_propose(store: Store, raw: Any, repeat: int, *, most: int | None = None) -> AgendaRun:
    """``repeat`` runs of ``propose()`` for every planned meeting (or ``most`` of them,
    spread over the meetings), each followed by its captured SELECTs on ``raw``."""
    service_ms: list[float] = []
    raw_ms: list[float] = []
    sizes: list[int] = []
    # As the demo's signed-in coordinator and chair (a demo store is past set-up).
    with store.read(signed_in_staff_id(store)) as session:
        planned = [m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED]
        timed_meetings = spread(planned, most)
        for meeting in timed_meetings:
            statements = captured_selects(
                session, partial(agenda_rules.propose, session, meeting.id)
            )
            sizes.append(len(agenda_rules.propose(session, meeting.id)))
            for _ in range(repeat):
                started = time.perf_counter()
                agenda_rules.propose(session, meeting.id)
                service_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                for sql, parameters in statements:
                    raw.execute(sql, parameters).fetchall()
                raw_ms.append((time.perf_counter() - started) * 1000)
    (open_cases,) = raw.execute(
        "SELECT count(*) FROM care_case WHERE status != 'closed'"
    ).fetchone()
    return AgendaRun(service_ms, raw_ms, sizes, len(timed_meetings), len(planned), open_cases)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, type=Path, help="a demo store")
    parser.add_argument("--repeat", type=int, default=30, help="runs per meeting")
    args = parser.parse_args(argv)
    use_bench_store_passphrase()
    print(machine())
    with Store.open(args.store, create=False) as store:
        raw = store.raw_connection()
        run = bench_propose(store, raw, args.repeat)
        raw.close()
    service_ms, raw_ms, sizes = run.service_ms, run.raw_ms, run.sizes
    service_median, raw_median = statistics.median(service_ms), statistics.median(raw_ms)
    ratio = service_median / raw_median
    print(
        f"{run.planned} planned meetings, {run.open_cases} open cases in the store; proposals "
        f"per meeting: min {min(sizes)}, median {statistics.median(sizes):.0f}, "
        f"max {max(sizes)}; {args.repeat} runs each.\n"
    )
    print("| | median ms | p95 ms |\n| --- | --- | --- |")
    print(f"| propose() | {service_median:.1f} | {percentile(service_ms, 0.95):.1f} |")
    print(f"| its SELECTs in raw SQL (keyed) | {raw_median:.1f} | {percentile(raw_ms, 0.95):.1f} |")
    ok = service_median <= TARGET_MEDIAN_MS and ratio <= TARGET_RATIO
    print(
        f"\nservice / raw: {ratio:.2f}x — targets (<= {TARGET_MEDIAN_MS:.0f} ms, "
        f"<= {TARGET_RATIO:.0f}x) {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
