"""The synthetic demo caseload: real practices, made-up people, the domain rules kept."""

import csv
import datetime as dt
import random
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import nhs_number
import pytest
from sqlalchemy import select

from mdt_desk.errors import UserError
from mdt_desk.models import SYNCED_MODELS, Note, Patient
from mdt_desk.models.enums import Gender
from mdt_desk.models.store import Store
from mdt_desk.resources import resource_path
from mdt_desk.services.check import check_store
from mdt_desk.services.demo import (
    COORDINATOR_PROFESSIONS,
    DEMO_LOCALITY,
    MAX_DEMO_PATIENTS,
    MORE_PRACTICES_FILE,
    DemoReport,
    available_demo_practices,
    demo_practice_count,
    generate_demo,
    is_demo_store,
    synthetic_nhs_numbers,
)
from mdt_desk.services.staff import signed_in_staff_id
from tests.conftest import TODAY
from tests.shared_stores import made_sealed

PATIENTS = 300
SEED = 7


def _demo(path: Path, seed: int = SEED) -> tuple[Store, DemoReport, list[tuple[int, int]]]:
    store = Store.open(path)
    calls: list[tuple[int, int]] = []
    report = generate_demo(
        store,
        patients=PATIENTS,
        seed=seed,
        progress=lambda done, total: calls.append((done, total)),
        today=TODAY,
    )
    return store, report, calls


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Store, DemoReport, list[tuple[int, int]]]]:
    with made_sealed():  # made before any test's keyring; the open store keeps its key
        store, report, calls = _demo(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    yield store, report, calls
    store.close()


@pytest.fixture(scope="module")
def db(demo: tuple[Store, DemoReport, list[tuple[int, int]]]) -> Iterator[sqlite3.Connection]:
    connection = demo[0].raw_connection()
    yield connection
    connection.close()


def scalar(db: sqlite3.Connection, sql: str, *params: object) -> Any:
    return db.execute(sql, params).fetchone()[0]


def test_counts_match_the_report(
    demo: tuple[Store, DemoReport, list[tuple[int, int]]], db: sqlite3.Connection
) -> None:
    _store, report, calls = demo
    assert report.patients == PATIENTS == scalar(db, "SELECT count(*) FROM patient")
    assert report.practices == 14 == scalar(db, "SELECT count(*) FROM practice")
    assert report.staff == scalar(db, "SELECT count(*) FROM staff") >= 30
    assert report.cases == scalar(db, "SELECT count(*) FROM care_case") > PATIENTS // 10
    assert report.meetings == scalar(db, "SELECT count(*) FROM meeting")
    assert calls[0] == (0, PATIENTS)
    assert calls[-1] == (PATIENTS, PATIENTS)


def test_practices_are_the_shipped_locality(db: sqlite3.Connection) -> None:
    with resource_path("demo", "practices.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert 10 <= len(rows) <= 14
    assert all(len(row) == 27 for row in rows)
    assert {(row[14], row[12], row[25]) for row in rows} == {(DEMO_LOCALITY, "A", "4")}
    stored = {code for (code,) in db.execute("SELECT ods_code FROM practice")}
    assert stored == {row[0] for row in rows}


def test_nhs_numbers_are_synthetic_valid_and_distinct(db: sqlite3.Connection) -> None:
    numbers = [number for (number,) in db.execute("SELECT nhs_number FROM patient")]
    assert len(set(numbers)) == len(numbers) == PATIENTS
    for number in numbers:
        assert number.startswith("999")
        assert nhs_number.is_valid(number)


def test_drawing_synthetic_numbers() -> None:
    numbers = synthetic_nhs_numbers(random.Random(1), 5000)
    assert len(set(numbers)) == 5000
    assert all(nhs_number.is_valid(n) and n.startswith("999") for n in numbers)
    assert numbers == synthetic_nhs_numbers(random.Random(1), 5000)
    with pytest.raises(UserError):
        synthetic_nhs_numbers(random.Random(1), 2_000_000)


def test_people_look_like_the_population(db: sqlite3.Connection) -> None:
    earliest, latest = db.execute(
        "SELECT min(date_of_birth), max(date_of_birth) FROM patient"
    ).fetchone()
    assert earliest >= "1920-01-01"
    assert latest <= "2005-12-31"
    over_75 = scalar(
        db, "SELECT count(*) FROM patient WHERE date_of_birth < ?", f"{TODAY.year - 75}-01-01"
    )
    assert over_75 > PATIENTS / 3  # mostly older people
    assert scalar(db, "SELECT count(DISTINCT gender) FROM patient") >= 2
    assert scalar(db, "SELECT count(*) FROM patient WHERE address = '' OR postcode = ''") == 0
    assert scalar(db, "SELECT count(*) FROM patient WHERE postcode NOT LIKE 'CT%'") == 0
    assert scalar(db, "SELECT count(*) FROM long_term_condition") > PATIENTS / 2
    assert scalar(db, "SELECT count(DISTINCT risk_band) FROM patient") == 4
    assert scalar(db, "SELECT count(*) FROM alert WHERE sensitive") > 0
    assert scalar(db, "SELECT count(*) FROM alert WHERE NOT sensitive") > 0
    assert scalar(db, "SELECT count(DISTINCT decision) FROM consent") >= 2


def test_vocabulary_has_the_names_of_a_real_population() -> None:
    text = resource_path("demo", "vocabulary.json").read_text(encoding="utf-8")
    for name in ("Zoë", "Siân", "Seán", "Chloé", "Bartłomiej", "Nowak", "Ó Briain", "Smith-Jones"):
        assert f'"{name}"' in text


def test_every_case_status_and_closure_has_its_dates(db: sqlite3.Connection) -> None:
    statuses = {status for (status,) in db.execute("SELECT DISTINCT status FROM care_case")}
    assert statuses == {"referred", "active", "under_review", "closed"}
    assert (
        scalar(
            db,
            "SELECT count(*) FROM care_case WHERE status = 'closed' "
            "AND (closure_reason IS NULL OR closed_on IS NULL)",
        )
        == 0
    )
    assert scalar(db, "SELECT count(DISTINCT closure_reason) FROM care_case") >= 4
    assert (
        scalar(
            db, "SELECT count(*) FROM care_case WHERE status != 'closed' AND next_review_on IS NULL"
        )
        == 0
    )
    assert (
        scalar(
            db,
            "SELECT count(*) FROM care_case WHERE status != 'closed' AND next_review_on < ?",
            TODAY.isoformat(),
        )
        > 0
    )  # some reviews are overdue
    earliest = (TODAY - dt.timedelta(days=730)).isoformat()
    assert (
        scalar(
            db,
            "SELECT count(*) FROM care_case WHERE referred_on < ? OR referred_on > ?",
            earliest,
            TODAY.isoformat(),
        )
        == 0
    )
    assert scalar(db, "SELECT count(*) FROM care_case WHERE accepted_on < referred_on") == 0
    assert scalar(db, "SELECT count(*) FROM care_case WHERE closed_on < accepted_on") == 0


def test_each_coordinated_case_has_exactly_one_current_coordinator(
    db: sqlite3.Connection,
) -> None:
    current = """(SELECT count(*) FROM coordinator_assignment AS a
                  WHERE a.case_id = c.id AND a.ended_on IS NULL)"""
    assert (
        scalar(
            db,
            f"SELECT count(*) FROM care_case AS c "
            f"WHERE c.status IN ('active', 'under_review') AND {current} != 1",
        )
        == 0
    )
    # A referral waits for its coordinator; a closed case has none left.
    assert (
        scalar(
            db, f"SELECT count(*) FROM care_case AS c WHERE c.status = 'referred' AND {current} > 0"
        )
        == 0
    )
    assert (
        scalar(
            db, f"SELECT count(*) FROM care_case AS c WHERE c.status = 'closed' AND {current} > 0"
        )
        == 0
    )
    # Changes of coordinator are kept, with their reason.
    assert (
        scalar(
            db,
            "SELECT count(*) FROM coordinator_assignment WHERE reason NOT IN ('Case accepted', '')",
        )
        > 0
    )


def test_coordinators_cover_the_practice_of_their_cases(db: sqlite3.Connection) -> None:
    assert (
        scalar(
            db,
            """SELECT count(*) FROM coordinator_assignment AS a
           JOIN care_case AS c ON c.id = a.case_id
           JOIN patient AS p ON p.id = c.patient_id
           WHERE NOT EXISTS (SELECT 1 FROM staff_practice_cover AS s
                             WHERE s.staff_id = a.staff_id AND s.practice_id = p.practice_id)""",
        )
        == 0
    )


def test_nobody_has_two_open_cases(db: sqlite3.Connection) -> None:
    assert (
        scalar(
            db,
            "SELECT count(*) FROM (SELECT patient_id FROM care_case WHERE status != 'closed' "
            "GROUP BY patient_id HAVING count(*) > 1)",
        )
        == 0
    )
    assert (
        scalar(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM care_case GROUP BY patient_id)")
        > 1
    )


def test_every_action_has_an_owner_and_a_due_date_and_some_are_overdue(
    db: sqlite3.Connection,
) -> None:
    assert scalar(db, "SELECT count(*) FROM action") > PATIENTS // 10
    assert scalar(db, "SELECT count(*) FROM action WHERE owner_id IS NULL OR due_on IS NULL") == 0
    assert (
        scalar(
            db,
            "SELECT count(*) FROM action WHERE status IN ('open', 'in_progress') AND due_on < ?",
            TODAY.isoformat(),
        )
        > 0
    )
    assert scalar(db, "SELECT count(DISTINCT status) FROM action") == 4
    assert scalar(db, "SELECT count(*) FROM action WHERE meeting_id IS NOT NULL") > 0


def test_the_plan_has_goals_notes_team_interventions_and_outcomes(db: sqlite3.Connection) -> None:
    assert scalar(db, "SELECT count(*) FROM goal WHERE description LIKE 'I%'") > 0
    assert scalar(db, "SELECT count(*) FROM note") > 0
    assert scalar(db, "SELECT count(*) FROM care_team_member WHERE staff_id IS NULL") > 0
    assert scalar(db, "SELECT count(*) FROM intervention") > 0
    assert scalar(db, "SELECT count(DISTINCT kind) FROM outcome_event") >= 3


def test_people_who_died_have_no_open_case(db: sqlite3.Connection) -> None:
    died = [
        (patient_id, died_on)
        for patient_id, died_on in db.execute(
            "SELECT id, date_of_death FROM patient WHERE date_of_death IS NOT NULL"
        )
    ]
    assert died
    for patient_id, died_on in died:
        assert died_on <= TODAY.isoformat()
        assert (
            scalar(
                db,
                "SELECT count(*) FROM care_case WHERE patient_id = ? AND status != 'closed'",
                patient_id,
            )
            == 0
        )
        assert (
            scalar(
                db,
                "SELECT count(*) FROM care_case WHERE patient_id = ? AND closure_reason = 'died' "
                "AND closed_on = ?",
                patient_id,
                died_on,
            )
            == 1
        )
        assert (
            scalar(
                db,
                "SELECT count(*) FROM outcome_event WHERE patient_id = ? AND kind = 'death' "
                "AND occurred_on = ?",
                patient_id,
                died_on,
            )
            == 1
        )


def test_meetings_past_and_upcoming(db: sqlite3.Connection) -> None:
    for (practice_id,) in db.execute("SELECT id FROM practice").fetchall():
        statuses = [
            status
            for (status,) in db.execute(
                "SELECT status FROM meeting WHERE practice_id = ? ORDER BY starts_at",
                (practice_id,),
            )
        ]
        assert statuses[-1] == "planned"
        assert statuses.count("planned") == 1
        assert statuses.count("finished") >= 3
    attendance = {s for (s,) in db.execute("SELECT DISTINCT status FROM attendance")}
    assert {"present", "apologies", "deputy", "invited"} <= attendance
    assert (
        scalar(
            db,
            "SELECT count(*) FROM attendance WHERE status = 'deputy' AND deputy_name = ''",
        )
        == 0
    )
    finished = """SELECT count(*) FROM agenda_item AS a JOIN meeting AS m ON m.id = a.meeting_id
                  WHERE m.status = 'finished'"""
    assert scalar(db, finished) > 0
    assert (
        scalar(
            db,
            finished + " AND (a.outcome IS NULL OR a.summary = '' OR a.decisions = '' "
            "OR a.minutes_taken IS NULL OR a.discussed_at IS NULL)",
        )
        == 0
    )
    planned = """SELECT count(*) FROM agenda_item AS a JOIN meeting AS m ON m.id = a.meeting_id
                 WHERE m.status = 'planned'"""
    assert scalar(db, planned) > 0
    assert scalar(db, planned + " AND a.outcome IS NOT NULL") == 0
    upcoming = scalar(db, "SELECT min(starts_at) FROM meeting WHERE status = 'planned'")
    assert str(upcoming) > TODAY.isoformat()


def test_staff_of_every_profession_and_a_coordinator_signed_in(
    demo: tuple[Store, DemoReport, list[tuple[int, int]]], db: sqlite3.Connection
) -> None:
    from mdt_desk.models.enums import Profession

    professions = {p for (p,) in db.execute("SELECT DISTINCT profession FROM staff")}
    assert professions == {profession.value for profession in Profession}
    store, report, _calls = demo
    staff_id = signed_in_staff_id(store)
    assert staff_id is not None
    profession, given, family = db.execute(
        "SELECT profession, given_name, family_name FROM staff WHERE id = ?", (staff_id.hex,)
    ).fetchone()
    assert Profession(profession) in COORDINATOR_PROFESSIONS
    assert report.signed_in == f"{given} {family}"
    # Every practice has coordinators covering it.
    assert (
        scalar(
            db,
            """SELECT count(*) FROM practice AS p WHERE NOT EXISTS (
               SELECT 1 FROM staff_practice_cover AS c JOIN staff AS s ON s.id = c.staff_id
               WHERE c.practice_id = p.id AND s.profession = 'social_worker')""",
        )
        == 0
    )


def test_journal_is_complete(db: sqlite3.Connection) -> None:
    # Every patient's family name reached the journal, with the same value.
    assert (
        scalar(
            db,
            """SELECT count(*) FROM patient AS p WHERE NOT EXISTS (
               SELECT 1 FROM journal_change AS j
               WHERE j.entity = 'patient' AND j.row_id = p.id AND j.field = 'family_name'
                 AND j.new_value = json_quote(p.family_name))""",
        )
        == 0
    )
    assert (
        scalar(
            db,
            """SELECT count(*) FROM action AS a WHERE NOT EXISTS (
               SELECT 1 FROM journal_change AS j
               WHERE j.entity = 'action' AND j.row_id = a.id AND j.field = 'owner_id')""",
        )
        == 0
    )
    actor = scalar(db, "SELECT actor_label FROM journal_tx ORDER BY tx LIMIT 1")
    assert "demo" in str(actor)


def test_rows_are_stored_as_the_typed_columns_store_them(
    demo: tuple[Store, DemoReport, list[tuple[int, int]]], db: sqlite3.Connection
) -> None:
    # The demo inserts pre-rendered values; the practices came through the typed path
    # (import_ods_practices). Both must look the same in the file...
    stamp = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*"
    for table, date_column in (("practice", "open_date"), ("patient", "date_of_birth")):
        id_type, id_length, date_type, stamps = db.execute(
            f"SELECT typeof(id), length(id), typeof({date_column}), "
            f"sum(created_at GLOB '{stamp}' AND length(created_at) = 26) = count(*) "
            f"FROM {table} WHERE id = lower(id)"
        ).fetchone()
        assert (id_type, id_length, date_type, stamps) == ("text", 32, "text", 1), table
    assert db.execute("SELECT DISTINCT typeof(sensitive) FROM alert").fetchall() == [("integer",)]
    # ... read back through the ORM with every column converted ...
    store = demo[0]
    with store.read() as session:
        for model in SYNCED_MODELS:
            for record in session.scalars(select(model).limit(20)):
                assert isinstance(record.id, uuid.UUID)
                assert record.created_at.tzinfo is dt.UTC
        patient = session.scalars(select(Patient).limit(1)).one()
        assert isinstance(patient.gender, Gender)
        assert isinstance(patient.date_of_birth, dt.date)
        note = session.scalars(select(Note).limit(1)).one()
        assert note.written_at.tzinfo is dt.UTC
    # ... and the store's own check finds the journal complete.
    report = check_store(store)
    assert report.passed, report.checks


@pytest.mark.slow
def test_same_seed_same_people_other_seed_other_people(
    demo: tuple[Store, DemoReport, list[tuple[int, int]]],
    db: sqlite3.Connection,
    tmp_path: Path,
) -> None:
    people = (
        "SELECT id, nhs_number, family_name, given_name, date_of_birth FROM patient ORDER BY id"
    )
    cases = "SELECT id, patient_id, status, closure_reason FROM care_case ORDER BY id"
    again, report, _calls = _demo(tmp_path / "again.sqlite")
    other, _report, _calls = _demo(tmp_path / "other.sqlite", seed=SEED + 1)
    try:
        with again.raw_connection() as second, other.raw_connection() as third:
            assert second.execute(people).fetchall() == db.execute(people).fetchall()
            assert second.execute(cases).fetchall() == db.execute(cases).fetchall()
            assert report == demo[1]
            assert third.execute(people).fetchall() != db.execute(people).fetchall()
    finally:
        again.close()
        other.close()


def test_ids_are_uuid7(db: sqlite3.Connection) -> None:
    for table in ("patient", "care_case", "action", "meeting", "agenda_item"):
        for (row_id,) in db.execute(f"SELECT id FROM {table} LIMIT 20"):
            assert uuid.UUID(row_id).version == 7


def test_refuses_a_store_that_already_has_patients(
    demo: tuple[Store, DemoReport, list[tuple[int, int]]],
) -> None:
    with pytest.raises(UserError, match="already has patients"):
        generate_demo(demo[0], patients=10, seed=1)


@pytest.mark.parametrize("patients", [0, -5, 10_000_000])
def test_refuses_a_number_of_patients_out_of_range(store: Store, patients: int) -> None:
    with pytest.raises(UserError):
        generate_demo(store, patients=patients, seed=1)


def test_a_tiny_demo_still_works(store: Store) -> None:
    report = generate_demo(store, patients=1, seed=3, today=TODAY)
    assert report.patients == 1
    assert report.signed_in


def test_a_bigger_demo_models_a_bigger_area_not_bigger_practices() -> None:
    # Up to 2,800 people: Thanet's 14 practices, as the demo always was.
    assert [demo_practice_count(n) for n in (1, 300, 2000, 2800)] == [14, 14, 14, 14]
    # Beyond: about 200 people a practice, up to the largest demo.
    assert demo_practice_count(20_000) == 100
    assert demo_practice_count(100_000) == 500
    assert demo_practice_count(MAX_DEMO_PATIENTS) == MAX_DEMO_PATIENTS // 200
    assert demo_practice_count(MAX_DEMO_PATIENTS) <= available_demo_practices()
    # Asked for: exactly that many, whatever the number of people.
    assert demo_practice_count(100_000, 14) == 14
    assert demo_practice_count(10, 3) == 3


def test_further_practices_are_real_active_gp_practices_of_whole_localities() -> None:
    with resource_path("demo", MORE_PRACTICES_FILE).open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert all(len(row) == 27 and row[12] == "A" and row[25] == "4" for row in rows)
    assert DEMO_LOCALITY not in {row[14] for row in rows}
    codes = [row[0] for row in rows]
    assert len(set(codes)) == len(codes)
    # Grouped by locality: each locality's rows together, each appearing once.
    localities = [row[14] for row in rows]
    runs = [code for index, code in enumerate(localities) if localities[index - 1] != code]
    assert len(runs) == len(set(runs)) > 100
    # Kent's neighbouring localities first: Ashford, then Brighton.
    assert runs[:2] == ["09C", "09D"]


def _practice_localities(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT id, commissioner_code FROM practice").fetchall())


def test_asking_for_practices_spans_localities_each_with_its_own_teams(
    store: Store,
) -> None:
    report = generate_demo(store, patients=300, seed=3, today=TODAY, practices=30)
    with closing(store.raw_connection()) as db:
        localities = _practice_localities(db)
        assert report.practices == 30 == len(localities)
        # Thanet's 14 first, then the 11 of Ashford and 5 of Brighton and Hove.
        assert sorted(Counter(localities.values()).values()) == [5, 11, 14]
        assert set(localities.values()) == {DEMO_LOCALITY, "09C", "09D"}
        # Everyone is registered with one of them.
        assert scalar(db, "SELECT count(DISTINCT practice_id) FROM patient") > 20
        # Every practice has its own GP and one member of each community profession
        # covering it; nobody covers practices of two localities.
        covers = db.execute(
            """SELECT s.id, s.profession, s.organisation, c.practice_id FROM staff AS s
               JOIN staff_practice_cover AS c ON c.staff_id = s.id"""
        ).fetchall()
        per_practice = Counter((practice, profession) for _, profession, _, practice in covers)
        assert set(per_practice.values()) == {1}
        assert len(per_practice) == 30 * 11  # a GP and ten community professions
        staff_localities: dict[str, set[str]] = {}
        for staff_id, profession, organisation, practice in covers:
            staff_localities.setdefault(staff_id, set()).add(localities[practice])
            if localities[practice] != DEMO_LOCALITY and profession != "gp":
                assert "Thanet" not in organisation
        assert {len(found) for found in staff_localities.values()} == {1}
        # Each practice meets fortnightly: six finished meetings and one planned.
        meetings = Counter(db.execute("SELECT practice_id, status FROM meeting").fetchall())
        assert {meetings[(p, "finished")] for p in localities} == {6}
        assert {meetings[(p, "planned")] for p in localities} == {1}


def test_a_few_practices_for_a_small_demo(store: Store) -> None:
    report = generate_demo(store, patients=40, seed=3, today=TODAY, practices=3)
    with closing(store.raw_connection()) as db:
        assert report.practices == 3 == scalar(db, "SELECT count(*) FROM practice")
        assert set(_practice_localities(db).values()) == {DEMO_LOCALITY}
        assert scalar(db, "SELECT count(DISTINCT practice_id) FROM patient") == 3
        assert report.meetings == 3 * 7


@pytest.mark.parametrize("practices", [0, -1, 5_000])
def test_refuses_a_number_of_practices_out_of_range(store: Store, practices: int) -> None:
    with pytest.raises(UserError, match=r"between 1 and 4,547 practices"):
        generate_demo(store, patients=10, seed=1, practices=practices)
    with closing(store.raw_connection()) as db:
        assert scalar(db, "SELECT count(*) FROM practice") == 0
        assert scalar(db, "SELECT count(*) FROM staff") == 0
    assert not is_demo_store(store)


@pytest.fixture(scope="module")
def area_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, DemoReport]]:
    with made_sealed():
        store = Store.open(tmp_path_factory.mktemp("area") / "area.sqlite")
        report = generate_demo(store, patients=20_000, seed=SEED, today=TODAY)
    yield store, report
    store.close()


@pytest.mark.slow
def test_twenty_thousand_people_live_in_a_hundred_practices(
    area_demo: tuple[Store, DemoReport],
) -> None:
    store, report = area_demo
    with closing(store.raw_connection()) as db:
        assert report.practices == 100 == scalar(db, "SELECT count(*) FROM practice")
        sizes = [n for (n,) in db.execute("SELECT count(*) FROM patient GROUP BY practice_id")]
        assert len(sizes) == 100
        assert 150 <= sum(sizes) / len(sizes) <= 300
        assert max(sizes) < 400  # no practice the size of a locality
        assert len(set(_practice_localities(db).values())) > 3
        # Staff grow with the area: a GP a practice and teams of community staff, about
        # as many a practice as Thanet's (40 for 14); three more cover no practice.
        assert 2.5 <= (report.staff - 3) / report.practices <= 3.5


@pytest.mark.slow
def test_a_meeting_of_a_bigger_demo_is_proposed_a_realistic_number_of_cases(
    area_demo: tuple[Store, DemoReport],
) -> None:
    from mdt_desk.models.enums import MeetingStatus
    from mdt_desk.services import agenda_rules, meetings

    store, _report = area_demo
    with store.read(signed_in_staff_id(store)) as session:
        planned = [m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED]
        sizes = sorted(
            len(agenda_rules.propose(session, meeting.id, today=TODAY)) for meeting in planned
        )
    assert len(sizes) == 100
    # Roughly 5-30 cases for a 90-minute meeting: not hundreds, as with 14 practices.
    assert 5 <= sizes[len(sizes) // 2] <= 30
    assert sum(5 <= size <= 30 for size in sizes) >= 80
    assert sizes[-1] < 60
