"""Many periods at once (trends, the summary PDF) give each indicator function's own answer.

``compute_panels``, ``indicator_series`` and ``monthly_trend`` read the rows a set of
periods shares once and judge each period in Python; the definition stays the function.
These tests compare them, indicator by indicator and period by period, with each function
called alone for that period: on the hand-built store (edge cases at the boundaries,
deceased people, retired records, reopened cases) and on a demo store.
"""

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy.orm import Session

from mdt_desk.models.store import Store
from mdt_desk.services.demo import DEMO_LOCALITY, generate_demo
from mdt_desk.services.indicators import (
    INDICATORS,
    IndicatorResult,
    Period,
    Scope,
    compute_panels,
    indicator_series,
    locality_scope,
    month_periods,
    monthly_trend,
    practice_scope,
)
from tests.conftest import TODAY
from tests.services.test_indicators import PERIOD, HandStore, build
from tests.shared_stores import made_sealed

D = dt.date


def each_function_alone(
    session: Session, scope: Scope, periods: Sequence[Period]
) -> list[dict[str, IndicatorResult]]:
    return [
        {each.id: each.compute(session, scope, period) for each in INDICATORS} for period in periods
    ]


def differences(
    expected: list[dict[str, IndicatorResult]],
    found: list[dict[str, IndicatorResult]],
    periods: Sequence[Period],
) -> list[tuple[Period, str, IndicatorResult, IndicatorResult]]:
    return [
        (period, key, want[key], got[key])
        for period, want, got in zip(periods, expected, found, strict=True)
        for key in want
        if got[key] != want[key]
    ]


@pytest.fixture
def hand(store: Store, practice_ids: dict[str, uuid.UUID], team: dict[str, uuid.UUID]) -> HandStore:
    return build(store, practice_ids, team)


#: The months to the hand store's period end, the period itself, and periods that cut
#: through months (a day, a fortnight across a month's end, a span longer than a year).
HAND_PERIODS = [
    *month_periods(PERIOD.end, 14),
    PERIOD,
    Period(D(2026, 6, 15), D(2026, 7, 14)),
    Period(D(2026, 7, 31), D(2026, 7, 31)),
    Period(D(2025, 1, 1), D(2026, 12, 31)),
]


@pytest.mark.slow
def test_many_periods_at_once_are_each_function_alone_on_the_hand_store(
    store: Store, hand: HandStore
) -> None:
    with store.read() as session:
        for scope in (practice_scope(session, "A81001"), locality_scope(session, "00K")):
            expected = each_function_alone(session, scope, HAND_PERIODS)
            assert (
                differences(expected, compute_panels(session, scope, HAND_PERIODS), HAND_PERIODS)
                == []
            )
            # Each indicator's series alone (as a trend chart asks for it) too.
            for each in INDICATORS:
                series = indicator_series(session, scope, each.id, HAND_PERIODS)
                assert series == [panel[each.id] for panel in expected], each.id


def test_a_monthly_trend_is_its_function_month_by_month(store: Store, hand: HandStore) -> None:
    with store.read() as session:
        scope = practice_scope(session, "A81001")
        for each in INDICATORS:
            trend = monthly_trend(session, scope, each.id, PERIOD.end, months=12)
            assert [period for period, _ in trend] == month_periods(PERIOD.end, 12)
            assert [result for _, result in trend] == [
                each.compute(session, scope, period) for period, _ in trend
            ], each.id


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with made_sealed():
        store = Store.open(tmp_path_factory.mktemp("demo-series") / "demo.sqlite")
        generate_demo(store, patients=3000, seed=7, today=TODAY)
    yield store
    store.close()


@pytest.mark.slow
def test_many_periods_at_once_are_each_function_alone_on_a_demo(demo_store: Store) -> None:
    periods = [
        *month_periods(TODAY, 12),
        Period.last_months(12, TODAY),
        Period.last_months(6, TODAY),
        Period(D(2026, 2, 10), D(2026, 5, 20)),
    ]
    with demo_store.read() as session:
        locality = locality_scope(session, DEMO_LOCALITY)
        first_practice = practice_scope(session, _first_code(session, locality))
        for scope in (first_practice, locality):
            expected = each_function_alone(session, scope, periods)
            found = compute_panels(session, scope, periods)
            assert differences(expected, found, periods) == []
        # The demo is not empty where it matters: the comparison compares something.
        assert any(panel["admissions"].value for panel in expected)
        assert any(panel["readmissions_30d"].value for panel in expected)
        assert any(panel["median_days_to_first_mdt"].denominator for panel in expected)


def _first_code(session: Session, locality: Scope) -> str:
    from sqlalchemy import select

    from mdt_desk.models import Practice

    code = session.scalars(
        select(Practice.ods_code)
        .where(Practice.id.in_(locality.practice_ids))
        .order_by(Practice.ods_code)
    ).first()
    assert code is not None
    return code
