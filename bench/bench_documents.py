"""Care plan PDF: a case with 50 actions and its whole journal history, in ≤ 300 ms.

    .venv/bin/python bench/bench_documents.py [--repeat 30]

Builds a store with one person whose case has 50 open actions, goals, a care team,
alerts and a long journal (each action edited several times, many transactions),
then times, median of repeated runs:

- ``services+render``: :func:`mdt_desk.documents.preview` — the services gather the
  record, actions, contacts and plan version (reading the case's whole journal), and
  reportlab renders the PDF;
- ``raw SQL reads``: the same data read with raw SQL alone, keyed (the person, case,
  actions with owners, goals, team, alerts, and the case's journal rows), no render;
- ``render only``: reportlab laying out the already gathered content.

The ratio (services+render / raw reads) shows what the services and the layout cost
over reading the rows. Exits 1 if the median misses the 300 ms target.
"""

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from store_passphrase import use_bench_store_passphrase

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.documents.care_plan import gather_care_plan, render_care_plan
from mdt_desk.models.enums import ActionStatus, AlertKind, ConsentDecision, ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.resources import resource_path
from mdt_desk.services import cases, patients, plans, staff
from mdt_desk.services.desk import Desk
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.practices import import_ods_practices

TARGET_MS = 300.0
ACTIONS = 50
NOW = dt.datetime(2026, 11, 22, 9, 5, tzinfo=dt.UTC)
TODAY = NOW.date()


def build(path: Path) -> tuple[Store, Desk, str, str]:
    store = Store.open(path)
    with store.write(actor_label="bench set-up") as session:
        import_ods_practices(session, resource_path("demo", "practices.csv"))
        code = str(
            session.execute(text("SELECT ods_code FROM practice ORDER BY ods_code"))
            .scalars()
            .first()
        )
        people = [
            staff.add_staff(
                session,
                family_name=family,
                given_name=given,
                profession=profession,
                phone="01843 555 0" + str(10 + index),
                practice_codes=(code,),
            ).id
            for index, (family, given, profession) in enumerate(
                (
                    ("Okafor", "Ngozi", "social_worker"),
                    ("Nowak", "Zoë", "district_nurse"),
                    ("Ó Briain", "Seán", "gp"),
                )
            )
        ]
    staff.sign_in(store, people[0])
    with store.write(people[0]) as session:
        person = patients.register_patient(
            session,
            nhs_number="9434765919",
            family_name="Ó Súilleabháin-Łukasiewicz",
            given_name="Siobhán",
            title="Mrs",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_id_for(code),
            today=TODAY,
        )
        case = cases.refer(
            session,
            person.id,
            source=ReferralSource.GP,
            reason="Falls",
            referred_on=TODAY,
            today=TODAY,
        )
        cases.accept(session, case.id, coordinator_id=people[0], on=TODAY)
        patients.add_alert(session, person.id, AlertKind.LIVES_ALONE, "Daughter visits")
        patients.record_consent(session, person.id, ConsentDecision.GIVEN, today=TODAY)
        for member in people[1:]:
            plans.add_care_team_member(session, case.id, role="Team", staff_id=member)
        goal = plans.add_goal(session, case.id, description="Walk to the shop on my own")
    action_ids = []
    for number in range(ACTIONS):
        # One transaction per action, then edits: a long, realistic journal.
        with store.write(people[number % 3]) as session:
            action_ids.append(
                plans.add_action(
                    session,
                    case.id,
                    description=f"Action {number + 1}: arrange the next step of the plan",
                    owner_id=people[number % 3],
                    due_on=TODAY + dt.timedelta(days=number),
                    goal_id=goal,
                    today=TODAY,
                ).id
            )
    for action_id in action_ids:
        with store.write(people[1]) as session:
            plans.update_action(session, action_id, status=ActionStatus.IN_PROGRESS, today=TODAY)
        with store.write(people[2]) as session:
            plans.update_action(
                session, action_id, due_on=TODAY + dt.timedelta(days=70), today=TODAY
            )
    for number in range(20):
        with store.write(people[0]) as session:
            plans.add_note(session, case.id, f"Visit {number}: all well.")
    return store, Desk.for_store(store), str(person.id), str(case.id)


def raw_reads(store: Store, patient_hex: str, case_hex: str) -> Callable[[], int]:
    connection = store.raw_connection()  # the same encrypted file, keyed

    def read() -> int:
        rows = 0
        rows += len(
            connection.execute(
                "SELECT p.*, pr.name, pr.phone FROM patient p"
                " JOIN practice pr ON pr.id = p.practice_id WHERE p.id = ?",
                (patient_hex,),
            ).fetchall()
        )
        rows += len(
            connection.execute("SELECT * FROM care_case WHERE id = ?", (case_hex,)).fetchall()
        )
        rows += len(
            connection.execute(
                "SELECT a.*, s.family_name, s.given_name, g.description FROM action a"
                " JOIN staff s ON s.id = a.owner_id LEFT JOIN goal g ON g.id = a.goal_id"
                " WHERE a.case_id = ? ORDER BY a.due_on",
                (case_hex,),
            ).fetchall()
        )
        rows += len(
            connection.execute("SELECT * FROM goal WHERE case_id = ?", (case_hex,)).fetchall()
        )
        rows += len(
            connection.execute(
                "SELECT * FROM care_team_member WHERE case_id = ?", (case_hex,)
            ).fetchall()
        )
        rows += len(
            connection.execute(
                "SELECT * FROM coordinator_assignment WHERE case_id = ?", (case_hex,)
            ).fetchall()
        )
        rows += len(
            connection.execute(
                "SELECT * FROM alert WHERE patient_id = ? AND share_with_person AND NOT sensitive",
                (patient_hex,),
            ).fetchall()
        )
        rows += len(
            connection.execute(
                "SELECT * FROM consent WHERE patient_id = ?", (patient_hex,)
            ).fetchall()
        )
        ids = [patient_hex, case_hex] + [
            row[0]
            for table in ("action", "goal", "care_team_member", "coordinator_assignment", "note")
            for row in connection.execute(f"SELECT id FROM {table} WHERE case_id = ?", (case_hex,))
        ]
        marks = ",".join("?" * len(ids))
        rows += len(
            connection.execute(
                f"SELECT DISTINCT tx FROM journal_change WHERE row_id IN ({marks})", ids
            ).fetchall()
        )
        return rows

    return read


def median_ms(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up: fonts registered, statements cached
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    use_bench_store_passphrase()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        store, desk, patient_hex, case_hex = build(path)
        patient_id, case_id = uuid.UUID(patient_hex), uuid.UUID(case_hex)
        request = DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id, case_id=case_id)
        with store.read() as session:
            journal_rows = session.execute(text("SELECT count(*) FROM journal_change")).scalar_one()
            content = gather_care_plan(session, patient_id, case_id, TODAY)
        sample = documents.preview(desk, request, now=NOW)
        full = median_ms(lambda: documents.preview(desk, request, now=NOW), args.repeat)
        render_only = median_ms(
            lambda: render_care_plan(content, printed_by="Ngozi Okafor", now=NOW), args.repeat
        )
        raw = median_ms(raw_reads(store, patient_id.hex, case_id.hex), args.repeat)
        store.close()
    print(
        f"care plan: {ACTIONS} open actions, plan version {sample.plan_version} "
        f"({journal_rows} journal rows in the store), {sample.pages} pages, "
        f"{len(sample.content)} bytes"
    )
    print(f"services+render (documents.preview): {full:7.1f} ms median of {args.repeat}")
    print(f"  of which render only (reportlab):   {render_only:7.1f} ms")
    print(f"raw SQL reads (keyed, no render):     {raw:7.1f} ms")
    print(f"ratio services+render / raw reads:    {full / raw:7.1f}x")
    print(f"target: <= {TARGET_MS:.0f} ms: {'met' if full <= TARGET_MS else 'MISSED'}")
    return 0 if full <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
