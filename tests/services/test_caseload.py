"""The caseload page and the patient search, on a small demo store."""

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from mdt_desk.models import Patient
from mdt_desk.models.enums import CaseStatus, RiskBand
from mdt_desk.models.store import Store
from mdt_desk.services.caseload import (
    CaseloadQuery,
    CaseloadView,
    caseload_count,
    caseload_page,
    caseload_rows,
    find_patients,
    navigator,
)
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.staff import signed_in_staff_id
from mdt_desk.services.validation import format_nhs_number
from tests.conftest import TODAY
from tests.shared_stores import made_sealed


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with made_sealed():  # made before any test's keyring; the open store keeps its key
        store = Store.open(tmp_path_factory.mktemp("caseload") / "demo.sqlite")
    generate_demo(store, patients=600, seed=11, today=TODAY)
    # The demo's staff have PINs: the caseload is read as the person it signs in.
    yield store
    store.close()


@pytest.fixture(scope="module")
def db(demo_store: Store) -> Iterator[sqlite3.Connection]:
    connection = demo_store.raw_connection()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def busiest_practice(db: sqlite3.Connection) -> uuid.UUID:
    (practice_id,) = db.execute(
        """SELECT p.practice_id FROM care_case AS c JOIN patient AS p ON p.id = c.patient_id
           WHERE c.status = 'active' GROUP BY p.practice_id ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()
    return uuid.UUID(practice_id)


def expected_counts(db: sqlite3.Connection, case_id: uuid.UUID) -> tuple[int, int]:
    outstanding = "case_id = ? AND status IN ('open', 'in_progress')"
    return (
        db.execute(f"SELECT count(*) FROM action WHERE {outstanding}", (case_id.hex,)).fetchone()[
            0
        ],
        db.execute(
            f"SELECT count(*) FROM action WHERE {outstanding} AND due_on < ?",
            (case_id.hex, TODAY.isoformat()),
        ).fetchone()[0],
    )


def test_a_page_of_one_practice_and_status(
    demo_store: Store, db: sqlite3.Connection, busiest_practice: uuid.UUID
) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        rows = caseload_page(
            session, practice_id=busiest_practice, status=CaseStatus.ACTIVE, limit=20, today=TODAY
        )
    assert 0 < len(rows) <= 20
    assert {row.practice_id for row in rows} == {busiest_practice}
    assert {row.status for row in rows} == {CaseStatus.ACTIVE}
    reviews = [row.next_review_on for row in rows]
    assert None not in reviews
    assert reviews == sorted(reviews)  # type: ignore[type-var]
    for row in rows:
        assert row.coordinator_id is not None
        assert row.coordinator_name
        assert (row.open_actions, row.overdue_actions) == expected_counts(db, row.case_id)
        assert row.nhs_number.startswith("999")
        assert row.practice_code.startswith("G82")


def test_paging_neither_skips_nor_repeats(demo_store: Store, busiest_practice: uuid.UUID) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        everything = caseload_page(
            session, practice_id=busiest_practice, status=None, limit=1000, today=TODAY
        )
        pages = [
            caseload_page(
                session,
                practice_id=busiest_practice,
                status=None,
                offset=offset,
                limit=7,
                today=TODAY,
            )
            for offset in range(0, len(everything) + 7, 7)
        ]
    assert [row.case_id for page in pages for row in page] == [row.case_id for row in everything]


def test_no_status_means_every_open_case(demo_store: Store, db: sqlite3.Connection) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        rows = caseload_page(session, practice_id=None, status=None, limit=10_000, today=TODAY)
    open_cases = db.execute("SELECT count(*) FROM care_case WHERE status != 'closed'").fetchone()
    assert len(rows) == open_cases[0]
    assert {row.status for row in rows} == {
        CaseStatus.REFERRED,
        CaseStatus.ACTIVE,
        CaseStatus.UNDER_REVIEW,
    }
    # A referral has no coordinator yet.
    assert all(row.coordinator_name == "" for row in rows if row.status is CaseStatus.REFERRED)


def test_closed_cases_on_request(demo_store: Store) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        rows = caseload_page(session, practice_id=None, status=CaseStatus.CLOSED, limit=50)
    assert rows
    assert {row.status for row in rows} == {CaseStatus.CLOSED}
    assert all(row.coordinator_id is None and row.open_actions == 0 for row in rows)


@pytest.mark.parametrize("sort", ["next_review", "name", "referred"])
def test_sorts_match_sql_order(demo_store: Store, db: sqlite3.Connection, sort: str) -> None:
    orders = {
        "next_review": "c.next_review_on IS NULL, c.next_review_on, p.family_name, "
        "p.given_name, c.id",
        "name": "p.family_name, p.given_name, p.date_of_birth, c.id",
        "referred": "c.referred_on DESC, p.family_name, p.given_name, c.id",
    }
    expected = [
        uuid.UUID(case_id)
        for (case_id,) in db.execute(
            f"""SELECT c.id FROM care_case AS c JOIN patient AS p ON p.id = c.patient_id
                WHERE c.status = 'under_review' ORDER BY {orders[sort]} LIMIT 40"""
        )
    ]
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        rows = caseload_page(
            session, practice_id=None, status=CaseStatus.UNDER_REVIEW, sort=sort, limit=40
        )
    assert [row.case_id for row in rows] == expected


def test_unknown_sort_is_refused(demo_store: Store) -> None:
    with (
        demo_store.read(signed_in_staff_id(demo_store)) as session,
        pytest.raises(ValueError, match="sort"),
    ):
        caseload_page(session, practice_id=None, status=None, sort="shoe_size")


def test_find_by_name_prefix_ignores_case(demo_store: Store, db: sqlite3.Connection) -> None:
    (family, given) = db.execute(
        "SELECT family_name, given_name FROM patient WHERE length(family_name) >= 4 "
        "AND family_name NOT LIKE '%''%' ORDER BY id LIMIT 1"
    ).fetchone()
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        lower = find_patients(session, family[:3].lower())
        upper = find_patients(session, family[:3].upper())
        narrowed = find_patients(session, f"{family}, {given[:2]}")
        limited = find_patients(session, family[:1], limit=5)
    assert lower == upper
    assert lower
    assert all(m.family_name.lower().startswith(family[:3].lower()) for m in lower)
    keys = [(m.family_name.lower(), m.given_name.lower()) for m in lower]
    assert keys == sorted(keys)
    assert narrowed
    assert all(m.given_name.lower().startswith(given[:2].lower()) for m in narrowed)
    assert len(limited) <= 5


def test_find_by_nhs_number_and_date_of_birth(demo_store: Store, db: sqlite3.Connection) -> None:
    patient_id, number, born = db.execute(
        "SELECT id, nhs_number, date_of_birth FROM patient ORDER BY id LIMIT 1"
    ).fetchone()
    wanted = uuid.UUID(patient_id)
    day = dt.date.fromisoformat(born)
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        for typed in (
            number,
            format_nhs_number(number),
            f"{number[:3]}-{number[3:6]}-{number[6:]}",
        ):
            assert [m.patient_id for m in find_patients(session, typed)] == [wanted]
        assert wanted in {m.patient_id for m in find_patients(session, number[:6])}
        assert all(m.nhs_number.startswith(number[:6]) for m in find_patients(session, number[:6]))
        for typed in (day.isoformat(), day.strftime("%d/%m/%Y"), day.strftime("%d-%b-%Y")):
            matches = find_patients(session, typed)
            assert wanted in {m.patient_id for m in matches}
            assert {m.date_of_birth for m in matches} == {day}


@pytest.mark.parametrize("typed", ["", "   ", "12", "%", "_", "999 999 999 999"])
def test_too_little_or_odd_input_finds_nobody(demo_store: Store, typed: str) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        assert find_patients(session, typed) == []


def test_retired_people_are_not_found(store: Store) -> None:
    generate_demo(store, patients=30, seed=5, today=TODAY)
    with store.read(signed_in_staff_id(store)) as session:
        person = session.scalars(select(Patient).order_by(Patient.id)).first()
        assert person is not None
        person_id, number, practice_id = person.id, person.nhs_number, person.practice_id
        assert find_patients(session, number)
    with store.write(actor_label="test") as session:
        retiring = session.get(Patient, person_id)
        assert retiring is not None
        retiring.retired_at = dt.datetime.now(dt.UTC)
    with store.read(signed_in_staff_id(store)) as session:
        assert find_patients(session, number) == []
        rows = caseload_page(session, practice_id=practice_id, status=None, limit=1000)
        assert person_id not in {row.patient_id for row in rows}


def _all_rows(store: Store, query: CaseloadQuery) -> list:
    with store.read(signed_in_staff_id(store)) as session:
        return caseload_rows(session, query, limit=100_000, today=TODAY)


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("nhs_number", lambda row: row.nhs_number),
        ("age", lambda row: -row.date_of_birth.toordinal()),
        ("practice", lambda row: row.practice_name),
        ("coordinator", lambda row: row.coordinator_name.split(" ")[-1]),
        ("status", lambda row: list(CaseStatus).index(row.status)),
        ("risk", lambda row: -1 if row.risk_band is None else list(RiskBand).index(row.risk_band)),
        ("open_actions", lambda row: row.open_actions),
        ("overdue_actions", lambda row: row.overdue_actions),
    ],
)
@pytest.mark.parametrize("descending", [False, True])
def test_every_column_sorts_in_sql_both_ways(demo_store: Store, sort, key, descending) -> None:
    rows = _all_rows(demo_store, CaseloadQuery(sort=sort, descending=descending))
    values = [key(row) for row in rows]
    assert len(values) > 50
    assert values == sorted(values, reverse=descending)
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        pages = [
            row.case_id
            for offset in range(0, len(rows), 37)
            for row in caseload_rows(
                session,
                CaseloadQuery(sort=sort, descending=descending),
                offset=offset,
                limit=37,
                today=TODAY,
            )
        ]
    assert pages == [row.case_id for row in rows]  # pages neither skip nor repeat


def test_saved_views_select_what_their_names_say(demo_store: Store, db: sqlite3.Connection) -> None:
    (coordinator,) = db.execute(
        "SELECT staff_id FROM coordinator_assignment WHERE ended_on IS NULL LIMIT 1"
    ).fetchone()
    me = uuid.UUID(coordinator)
    week_end = TODAY + dt.timedelta(days=7)
    checks = {
        CaseloadView.ALL_OPEN: lambda row: row.status != CaseStatus.CLOSED,
        CaseloadView.MY_CASELOAD: lambda row: row.coordinator_id == me,
        CaseloadView.NEW_REFERRALS: lambda row: row.status == CaseStatus.REFERRED,
        CaseloadView.REVIEWS_DUE_THIS_WEEK: lambda row: TODAY <= row.next_review_on <= week_end,
        CaseloadView.REVIEWS_OVERDUE: lambda row: row.next_review_on < TODAY,
        CaseloadView.OVERDUE_ACTIONS: lambda row: row.overdue_actions > 0,
        CaseloadView.HIGH_RISK: lambda row: row.risk_band in (RiskBand.HIGH, RiskBand.VERY_HIGH),
        CaseloadView.CLOSED_RECENTLY: lambda row: row.status == CaseStatus.CLOSED,
    }
    everything = _all_rows(demo_store, CaseloadQuery())
    for view, check in checks.items():
        query = CaseloadQuery(view=view, coordinator_id=me)
        rows = _all_rows(demo_store, query)
        assert rows, view
        assert all(check(row) for row in rows), view
        with demo_store.read(signed_in_staff_id(demo_store)) as session:
            assert caseload_count(session, query, TODAY) == len(rows)
        if view not in (CaseloadView.ALL_OPEN, CaseloadView.CLOSED_RECENTLY):
            # The view is exactly the open cases that pass its rule.
            assert {row.case_id for row in rows} == {
                row.case_id for row in everything if check(row)
            }, view


def test_navigator_counts_views_and_practices(demo_store: Store, db: sqlite3.Connection) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        found = navigator(session, None, TODAY)
    (open_cases,) = db.execute("SELECT count(*) FROM care_case WHERE status != 'closed'").fetchone()
    assert found.view_counts[CaseloadView.ALL_OPEN] == open_cases
    assert sum(locality.open_cases for locality in found.localities) == open_cases
    assert [locality.code for locality in found.localities] == ["10E"]
    assert len(found.localities[0].practices) == 14
    assert found.view_counts[CaseloadView.MY_CASELOAD] == 0  # nobody given


def _raw_filtered(
    db: sqlite3.Connection, coordinator: uuid.UUID | None, band: str | None, status: str | None
) -> set[uuid.UUID]:
    """Open cases (or those in ``status``) with the chosen coordinator and risk band, by SQL."""
    sql = (
        "SELECT c.id FROM care_case c JOIN patient p ON p.id = c.patient_id"
        " WHERE c.retired_at IS NULL AND p.retired_at IS NULL"
    )
    values: list[str] = []
    if status is None:
        sql += " AND c.status != 'closed'"
    else:
        sql += " AND c.status = ?"
        values.append(status)
    if coordinator is not None:
        sql += (
            " AND c.id IN (SELECT case_id FROM coordinator_assignment WHERE staff_id = ?"
            " AND ended_on IS NULL AND retired_at IS NULL)"
        )
        values.append(coordinator.hex)
    if band is not None:
        sql += " AND p.risk_band = ?"
        values.append(band)
    return {uuid.UUID(row[0]) for row in db.execute(sql, values)}


@pytest.mark.parametrize(
    ("use_coordinator", "band", "status"),
    [
        (True, None, None),
        (False, "high", None),
        (False, None, "under_review"),
        (True, "medium", None),
        (True, None, "active"),
        (False, "very_high", "active"),
    ],
)
def test_filters_combine_with_each_other_and_agree_with_sql(
    demo_store: Store, db: sqlite3.Connection, use_coordinator: bool, band, status
) -> None:
    (busiest,) = db.execute(
        "SELECT staff_id FROM coordinator_assignment WHERE ended_on IS NULL"
        " GROUP BY staff_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    coordinator = uuid.UUID(busiest) if use_coordinator else None
    query = CaseloadQuery(
        coordinated_by=coordinator,
        risk_band=RiskBand(band) if band else None,
        status=CaseStatus(status) if status else None,
    )
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        rows = caseload_rows(session, query, limit=10_000, today=TODAY)
        count = caseload_count(session, query, today=TODAY)
    expected = _raw_filtered(db, coordinator, band, status)
    assert expected, "the demo should have cases for this filter"
    assert {row.case_id for row in rows} == expected
    assert count == len(expected)
    if coordinator is not None:
        assert {row.coordinator_id for row in rows} == {coordinator}


def test_a_filter_narrows_a_saved_view(demo_store: Store, db: sqlite3.Connection) -> None:
    with demo_store.read(signed_in_staff_id(demo_store)) as session:
        high_risk = caseload_rows(
            session, CaseloadQuery(view=CaseloadView.HIGH_RISK), limit=10_000, today=TODAY
        )
        narrowed = caseload_rows(
            session,
            CaseloadQuery(view=CaseloadView.HIGH_RISK, risk_band=RiskBand.VERY_HIGH),
            limit=10_000,
            today=TODAY,
        )
    assert narrowed and len(narrowed) < len(high_risk)
    assert {row.risk_band for row in narrowed} == {RiskBand.VERY_HIGH}
    assert {row.case_id for row in narrowed} <= {row.case_id for row in high_risk}
