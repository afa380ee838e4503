"""The demo fills in the data of issue 12's indicators, realistically."""

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mdt_desk.models.store import Store
from mdt_desk.services import list_sizes
from mdt_desk.services.check import check_store
from mdt_desk.services.demo import generate_demo
from tests.conftest import TODAY
from tests.shared_stores import made_sealed


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with made_sealed():
        store = Store.open(tmp_path_factory.mktemp("demo-indicators") / "demo.sqlite")
        generate_demo(store, patients=2500, seed=11, today=TODAY)
    yield store
    store.close()


@pytest.fixture(scope="module")
def db(demo_store: Store) -> Iterator[sqlite3.Connection]:
    connection = demo_store.raw_connection()
    yield connection
    connection.close()


def rows(db: sqlite3.Connection, sql: str, *params: object) -> list[Any]:
    return db.execute(sql, params).fetchall()


@pytest.mark.slow
def test_admissions_have_discharges_1_to_20_days_later_with_a_destination(
    db: sqlite3.Connection,
) -> None:
    ((admissions, discharged, shortest, longest, latest),) = rows(
        db,
        "SELECT count(*), count(discharged_on),"
        " min(julianday(discharged_on) - julianday(occurred_on)),"
        " max(julianday(discharged_on) - julianday(occurred_on)), max(discharged_on)"
        " FROM outcome_event WHERE kind = 'hospital_admission'",
    )
    assert admissions > 0 and discharged >= 0.8 * admissions
    assert shortest >= 1 and longest <= 20
    assert latest <= TODAY.isoformat()
    destinations = dict(
        rows(
            db,
            "SELECT discharge_destination, count(*) FROM outcome_event"
            " WHERE discharged_on IS NOT NULL GROUP BY 1",
        )
    )
    assert None not in destinations
    assert destinations["usual_residence"] > sum(destinations.values()) / 2
    assert len(destinations) >= 4
    assert rows(
        db,
        "SELECT count(*) FROM outcome_event WHERE kind != 'hospital_admission'"
        " AND (discharged_on IS NOT NULL OR discharge_destination IS NOT NULL)",
    ) == [(0,)]


def test_most_care_home_admissions_are_permanent_and_only_they_are(
    db: sqlite3.Connection,
) -> None:
    counts = dict(
        rows(
            db,
            "SELECT permanent, count(*) FROM outcome_event"
            " WHERE kind IN ('residential_care_admission', 'nursing_care_admission') GROUP BY 1",
        )
    )
    assert counts[1] > counts.get(0, 0) > 0 or counts[1] > 5
    assert rows(
        db,
        "SELECT count(*) FROM outcome_event WHERE permanent = 1"
        " AND kind NOT IN ('residential_care_admission', 'nursing_care_admission')",
    ) == [(0,)]


def test_some_referrals_were_not_accepted_with_a_reason_and_no_coordinator(
    db: sqlite3.Connection,
) -> None:
    not_accepted = rows(
        db,
        "SELECT c.id, c.not_accepted_reason, c.accepted_on, c.closed_on, c.referred_on,"
        " (SELECT count(*) FROM coordinator_assignment a WHERE a.case_id = c.id)"
        " FROM care_case c WHERE c.closure_reason = 'not_accepted'",
    )
    assert len(not_accepted) >= 10
    for _id, reason, accepted, closed, referred, coordinators in not_accepted:
        assert reason is not None and accepted is None and coordinators == 0
        days = (dt.date.fromisoformat(closed) - dt.date.fromisoformat(referred)).days
        assert 2 <= days <= 21
    assert len({reason for _i, reason, *_ in not_accepted}) >= 3
    assert rows(
        db,
        "SELECT count(*) FROM care_case WHERE not_accepted_reason IS NOT NULL"
        " AND closure_reason IS NOT 'not_accepted'",
    ) == [(0,)]


def test_survey_answers_cover_every_statement_and_most_did_not_repeat_their_story(
    db: sqlite3.Connection,
) -> None:
    answers = {
        statement: (count, agreeing)
        for statement, count, agreeing in rows(
            db,
            "SELECT statement, count(*), sum(agreement >= 4) FROM experience_response"
            " GROUP BY statement",
        )
    }
    assert set(answers) == {
        "communicated_with_me",
        "communicated_with_each_other",
        "well_coordinated",
        "right_professionals",
        "did_not_repeat_story",
    }
    count, agreeing = answers["did_not_repeat_story"]
    assert count >= 50
    assert 0.70 <= agreeing / count <= 0.88  # Norfolk's survey: 79%
    ((lowest, highest, latest),) = rows(
        db, "SELECT min(agreement), max(agreement), max(answered_on) FROM experience_response"
    )
    assert (lowest, highest) == (1, 5)
    assert latest < TODAY.isoformat()
    methods = {method for (method,) in rows(db, "SELECT collected_how FROM experience_response")}
    assert {"paper", "phone"} <= methods
    assert rows(db, "SELECT count(*) FROM experience_response WHERE by_proxy = 1")[0][0] > 0


def test_every_demo_practice_has_a_list_with_15_to_20_percent_aged_65_plus(
    demo_store: Store, db: sqlite3.Connection
) -> None:
    practices = [uuid.UUID(str(row[0])) for row in rows(db, "SELECT id FROM practice")]
    with demo_store.read() as session:
        for practice in practices:
            older = list_sizes.registered_65_plus(session, [practice])
            ((total,),) = rows(
                db,
                "SELECT sum(patients) FROM practice_list_size WHERE practice_id = ?",
                practice.hex,
            )
            assert older is not None and 0.14 <= older / total <= 0.21, (older, total)
    assert rows(db, "SELECT DISTINCT extract_date FROM practice_list_size") == [
        (TODAY.replace(day=1).isoformat(),)
    ]


def test_reablement_after_a_discharge_has_its_91_day_check_for_the_coordinator(
    db: sqlite3.Connection,
) -> None:
    checks = rows(
        db,
        "SELECT a.case_id, a.owner_id, a.due_on, c.patient_id FROM action a"
        " JOIN care_case c ON c.id = a.case_id WHERE a.description LIKE '91-day check%'",
    )
    assert len(checks) >= 20
    for case_id, owner, due, patient in checks:
        discharged = (dt.date.fromisoformat(due) - dt.timedelta(days=91)).isoformat()
        assert rows(
            db,
            "SELECT count(*) FROM outcome_event WHERE patient_id = ?"
            " AND kind = 'hospital_admission' AND discharged_on = ?",
            patient,
            discharged,
        ) == [(1,)]
        assert (
            rows(
                db,
                "SELECT count(*) FROM intervention WHERE case_id = ? AND kind = 'reablement'"
                " AND julianday(started_on) - julianday(?) BETWEEN 0 AND 14",
                case_id,
                discharged,
            )[0][0]
            >= 1
        )
        coordinators = {
            staff
            for (staff,) in rows(
                db, "SELECT staff_id FROM coordinator_assignment WHERE case_id = ?", case_id
            )
        }
        assert owner in coordinators


def test_the_demo_store_is_sound(demo_store: Store) -> None:
    report = check_store(demo_store)
    assert report.passed, [check.detail for check in report.checks if not check.passed]
