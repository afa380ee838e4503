"""Benchmark the FHIR export: one person's care plan, and a whole practice's caseload.

Usage::

    .venv/bin/python bench/bench_fhir.py [--work /tmp/bench-fhir] [--patients 100000]
        [--people 30] [--practice-runs 3]

The demo store ``demo-<patients>.sqlite`` in ``--work`` is made with ``generate_demo``
if it is not there yet, and reused otherwise. Everything runs signed in as the demo's
care coordinator, as ``mdt-desk fhir export --as`` does.

1. **One person** (target ≤ 200 ms each): ``person_bundle`` for ``--people`` people with
   an open case in the largest practice (our own rules checked on every bundle, as on
   every export), then the access-log row and the file written 0600, as the command
   does. The baseline is the very same SELECTs, captured with their parameters on one
   run and replayed on the store's own raw SQLCipher connection in this process.
2. **A practice** (target ≤ 10 s): ``practice_bundle`` for the largest practice, with a
   progress callback (how often it was called is printed: the command shows it), the
   access log for everyone in it, and the file; ``--practice-runs`` runs. The same
   raw-SQL baseline.

Exit status 1 when a target is missed.
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_indicators import make_or_reuse, raw_replay
from bench_queries import captured_selects, machine, percentile
from sqlalchemy import func, select
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models import Case, Patient, Staff
from mdt_desk.models.private_files import write_private
from mdt_desk.models.store import Store
from mdt_desk.services.cases import OPEN_STATUSES
from mdt_desk.services.fhir.export import (
    DeclinedSharingError,
    FhirBundle,
    log_fhir_export,
    person_bundle,
    practice_bundle,
)

TARGET_PERSON_MS = 200.0
TARGET_PRACTICE_S = 10.0


def _coordinator(store: Store) -> uuid.UUID:
    with store.read() as session:
        staff_id = session.scalar(
            select(Staff.id).where(Staff.roles.like("%care_coordinator%")).order_by(Staff.id)
        )
    if staff_id is None:
        sys.exit("The demo store has no care coordinator.")
    return staff_id


def _export_and_keep(
    store: Store, actor: uuid.UUID, build: Callable[..., FhirBundle], target: Path
) -> FhirBundle:
    """What the command does: build, log, write."""
    with store.read(actor) as session:
        bundle = build(session)
    with store.write(actor, "benchmark") as session:
        log_fhir_export(session, bundle, "benchmark")
    write_private(target, bundle.text.encode("utf-8"))
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-fhir"))
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--practice-runs", type=int, default=3)
    args = parser.parse_args()
    use_bench_store_passphrase()
    print(machine())
    path = make_or_reuse(args.work, args.patients, args.seed)
    missed = False
    with Store.open(path) as store, tempfile.TemporaryDirectory() as folder:
        actor = _coordinator(store)
        with store.read() as session:
            practice_id, people_count = session.execute(
                select(Patient.practice_id, func.count())
                .group_by(Patient.practice_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            open_people = list(
                session.scalars(
                    select(Case.patient_id)
                    .join(Patient, Patient.id == Case.patient_id)
                    .where(Patient.practice_id == practice_id, Case.status.in_(OPEN_STATUSES))
                    .order_by(Case.patient_id)
                    .limit(args.people * 2)
                )
            )
        print(f"Largest practice: {people_count:,} people registered.")

        # 1. One person.
        person_ms: list[float] = []
        raw_ms: list[float] = []
        resources = 0
        raw = store.raw_connection()
        for patient_id in open_people:
            if len(person_ms) == args.people:
                break
            with store.read(actor) as session:
                try:
                    person_bundle(session, patient_id)
                except DeclinedSharingError:
                    continue  # not exported: nothing to time
                captured = captured_selects(
                    session,
                    lambda session=session, patient_id=patient_id: person_bundle(
                        session, patient_id
                    ),
                )
            replay = raw_replay(raw, captured)
            started = time.perf_counter()
            replay()
            raw_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bundle = _export_and_keep(
                store,
                actor,
                lambda session, patient_id=patient_id: person_bundle(session, patient_id),
                Path(folder) / "person.json",
            )
            person_ms.append((time.perf_counter() - started) * 1000)
            resources += bundle.resources
        person_median, raw_median = statistics.median(person_ms), statistics.median(raw_ms)
        person_p95 = percentile(person_ms, 0.95)
        print(
            f"One person ({len(person_ms)} people, {resources / len(person_ms):.0f} resources "
            f"each): median {person_median:.1f} ms, p95 {person_p95:.1f} ms, max "
            f"{max(person_ms):.1f} ms (target ≤ {TARGET_PERSON_MS:.0f} ms); its SELECTs on "
            f"raw SQLCipher {raw_median:.2f} ms = {person_median / raw_median:.1f}×"
        )
        missed |= max(person_ms) > TARGET_PERSON_MS

        # 2. The practice.
        calls: list[tuple[int, int]] = []
        with store.read(actor) as session:
            captured = captured_selects(session, lambda: practice_bundle(session, practice_id))
        replay = raw_replay(raw, captured)
        started = time.perf_counter()
        replay()
        raw_s = time.perf_counter() - started
        practice_s: list[float] = []
        for _run in range(args.practice_runs):
            calls.clear()
            target = Path(folder) / "practice.json"
            started = time.perf_counter()
            bundle = _export_and_keep(
                store,
                actor,
                lambda session: practice_bundle(
                    session, practice_id, lambda _phase, done, total: calls.append((done, total))
                ),
                target,
            )
            practice_s.append(time.perf_counter() - started)
        size_mb = target.stat().st_size / 1e6
        practice_median = statistics.median(practice_s)
        print(
            f"A practice ({len(bundle.patient_ids):,} people with an open case, "
            f"{bundle.resources:,} resources, {size_mb:.1f} MB, {bundle.declined} left "
            f"out for declined sharing; progress reported {len(calls)} times): "
            f"median {practice_median:.2f} s of {args.practice_runs}, max "
            f"{max(practice_s):.2f} s (target ≤ {TARGET_PRACTICE_S:.0f} s); its SELECTs on "
            f"raw SQLCipher {raw_s:.2f} s = {practice_median / raw_s:.1f}×"
        )
        missed |= max(practice_s) > TARGET_PRACTICE_S
        raw.close()
    print("Targets met." if not missed else "A target was missed.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
