"""The indicators summary PDF, read back as text from a small demo store.

It is shared beyond the team, so what it prints is checked against the panel with
small-number suppression applied to each whole panel (``shared_panel``: ``shared_figure``
for each figure, then complementary suppression), never the exact small count; and
the person added to the demo as a canary appears nowhere, on the page or in the
metadata.
"""

import datetime as dt
import io
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from mdt_desk.documents.indicators_summary import (
    DOCUMENT_TITLE,
    IndicatorsSummary,
    MeasureSummary,
    chart_points,
    exceptions,
    gather_indicators_summary,
    previous_period,
    render_indicators_summary,
    write_indicators_summary,
)
from mdt_desk.models import Practice
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.indicators import (
    SUPPRESSION_NOTE,
    IndicatorKind,
    IndicatorResult,
    Period,
    SharedFigure,
    compute_panel,
    locality_scope,
    month_periods,
    practice_scope,
    shared_panel,
)
from mdt_desk.services.staff import signed_in_staff_id
from tests.conftest import TODAY
from tests.documents.helpers import NOW, flat, pages_text
from tests.documents.test_pdf_metadata import (
    CANARY_FAMILY,
    CANARY_GIVEN,
    CANARY_NHS,
    everything_but_the_pages,
    spellings,
)
from tests.shared_stores import made_sealed, sealed_key, unlock

#: Six whole months before the demo's "today" (22 November 2026), and the six before.
PERIOD = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
PREVIOUS = Period(dt.date(2025, 11, 1), dt.date(2026, 4, 30))
DEMO_LOCALITY = "10E"


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, str]:
    """A 600-person demo, and the canary: a person referred in the period, registered
    with the first demo practice (whose code is returned)."""
    path = tmp_path_factory.mktemp("indicators") / "demo.sqlite"
    with made_sealed(), Store.open(path) as demo:
        generate_demo(demo, patients=600, seed=12, today=TODAY)
        with demo.write(signed_in_staff_id(demo)) as session:
            practice_id, code = session.execute(
                select(Practice.id, Practice.ods_code)
                .where(Practice.commissioner_code == DEMO_LOCALITY)
                .order_by(Practice.ods_code)
            ).first()  # type: ignore[misc]
            person = patients.register_patient(
                session,
                nhs_number=CANARY_NHS,
                family_name=CANARY_FAMILY,
                given_name=CANARY_GIVEN,
                title="Mr",
                date_of_birth=dt.date(1938, 3, 2),
                practice_id=practice_id,
                today=TODAY,
            )
            cases.refer(
                session,
                person.id,
                source=ReferralSource.HOSPITAL,
                reason="Falls at home",
                referred_on=dt.date(2026, 8, 12),
                today=TODAY,
            )
    return path, sealed_key(path), code


@pytest.fixture
def demo_store(demo_made: tuple[Path, bytes, str]) -> Path:
    path, key, _code = demo_made
    return unlock(path, key)


@pytest.fixture
def practice_code(demo_made: tuple[Path, bytes, str]) -> str:
    return demo_made[2]


def _summary_and_panel(
    path: Path, kind: str, code: str
) -> tuple[IndicatorsSummary, dict[str, IndicatorResult]]:
    """The summary, and the panel computed again in its own session."""
    summary, panel, _previous = _summary_and_panels(path, kind, code)
    return summary, panel


def _summary_and_panels(
    path: Path, kind: str, code: str
) -> tuple[IndicatorsSummary, dict[str, IndicatorResult], dict[str, IndicatorResult]]:
    """The summary, and the panels of the period and the previous one, computed again."""
    with Store.open(path, create=False) as store:
        with store.read() as session:
            scope = (
                practice_scope(session, code)
                if kind == "practice"
                else locality_scope(session, code)
            )
            summary = gather_indicators_summary(session, scope, PERIOD)
        with store.read() as session:
            panel = compute_panel(session, scope, PERIOD)
            previous = compute_panel(session, scope, PREVIOUS)
    return summary, panel, previous


def _expected_figure(kind: IndicatorKind, shown: SharedFigure) -> str:
    if shown.suppressed or shown.value == "–":
        return shown.value
    if kind is IndicatorKind.SHARE_PERCENT:
        return f"{shown.value}%"
    if kind is IndicatorKind.MEDIAN_DAYS:
        return f"{shown.value} days"
    return shown.value


def _expected_counts(kind: IndicatorKind, shown: SharedFigure) -> str:
    if kind is IndicatorKind.MEDIAN_DAYS:
        return f"n = {shown.denominator}" if shown.denominator else ""
    if shown.numerator or shown.denominator:
        return f"{shown.numerator or '–'} / {shown.denominator or '–'}"
    return ""


def _row_text(title: str, kind: IndicatorKind, result: SharedFigure, previous: SharedFigure) -> str:
    cells = [
        title,
        _expected_figure(kind, result),
        _expected_counts(kind, result),
        _expected_figure(kind, previous),
    ]
    return " ".join(cell for cell in cells if cell)


def _row_segment(whole: str, summary: IndicatorsSummary, index: int) -> str:
    """The printed text after measure ``index``'s title, to the next measure's title."""
    title = summary.measures[index].title
    start = whole.index(title) + len(title)
    titles = [each.title for each in summary.measures[index + 1 :]]
    ends = [whole.find(title, start + 1) for title in titles]
    end = min((at for at in ends if at > start), default=len(whole))
    return whole[start:end]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["practice", "locality"])
def test_every_figure_printed_is_the_panels_shared_figure(
    demo_store: Path, practice_code: str, kind: str
) -> None:
    code = practice_code if kind == "practice" else DEMO_LOCALITY
    summary, panel, previous = _summary_and_panels(demo_store, kind, code)
    assert summary.previous_period == PREVIOUS
    pdf = render_indicators_summary(summary, now=NOW, printed_by="Ngozi Okafor")
    whole = flat(" ".join(pages_text(pdf.content)))
    assert [each.id for each in summary.measures] == list(panel)
    population = [m for m in summary.measures if m.kind is IndicatorKind.RATE_PER_1000]
    no_list_sizes = all(m.result.value is None and m.previous.value is None for m in population)
    shared_now, shared_before = shared_panel(panel), shared_panel(previous)
    for measure in summary.measures:
        assert measure.result == panel[measure.id]  # gathered by the one definition
        if measure in population and no_list_sizes:
            assert measure.title not in whole
            continue
        row = _row_text(
            measure.title, measure.kind, shared_now[measure.id], shared_before[measure.id]
        )
        assert row in whole, measure.id
    if population and no_list_sizes:
        assert "Not available: no practice list sizes have been imported" in whole
    assert 1 <= pdf.pages <= 2
    assert SUPPRESSION_NOTE in whole
    assert "regression to the mean" in whole
    assert "not evidence" in whole.lower()
    scope_line = "Practice " + code if kind == "practice" else "Locality " + code
    assert f"Team indicators: {scope_line}" in whole
    assert "1 May 2026 to 31 October 2026" in whole


@pytest.mark.slow
def test_a_count_of_one_to_four_prints_as_under_five_and_never_its_number(
    demo_store: Path, practice_code: str
) -> None:
    summary, panel = _summary_and_panel(demo_store, "practice", practice_code)
    pdf = render_indicators_summary(summary, now=NOW)
    whole = flat(" ".join(pages_text(pdf.content)))
    small = 0
    for index, measure in enumerate(summary.measures):
        exact = panel[measure.id]
        counts = [exact.numerator, exact.denominator]
        if measure.kind is IndicatorKind.COUNT:
            counts.append(int(exact.value) if exact.value is not None else None)
        hidden = {count for count in counts if count is not None and 1 <= count <= 4}
        if not hidden:
            continue
        small += 1
        segment = _row_segment(whole, summary, index)
        # "<5", or "withheld" where a bound would let it be worked out (shared_panel)
        assert "<5" in segment or "withheld" in segment, measure.id
        tokens = set(re.findall(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])", segment))
        for count in hidden:
            assert str(count) not in tokens, (measure.id, count, segment)
        if measure.kind is not IndicatorKind.COUNT and exact.value is not None:
            assert "withheld" in segment, measure.id  # a rate from a small count
            assert f"{exact.value:.1f}" not in segment, measure.id
    assert small >= 3, "the demo practice should have small counts to suppress"


@pytest.mark.slow
def test_no_person_is_named_on_the_pages_or_in_the_metadata(
    demo_store: Path, practice_code: str, tmp_path: Path
) -> None:
    summary, panel = _summary_and_panel(demo_store, "practice", practice_code)
    assert panel["referrals"].value  # the canary's referral is in the period
    pdf = render_indicators_summary(summary, now=NOW, printed_by="Ngozi Okafor")
    pages = " ".join(pages_text(pdf.content)).lower()
    metadata = everything_but_the_pages(pdf.content)
    for spelling in spellings():
        assert spelling not in pages
        assert spelling not in metadata
    assert PdfReader(io.BytesIO(pdf.content)).metadata.title == DOCUMENT_TITLE  # type: ignore[union-attr]
    target = tmp_path / "summary.pdf"
    write_indicators_summary(target, pdf)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_bytes() == pdf.content


# -- Without a store: suppression where a figure could be worked back ----------------------


def _count_measure(
    monthly: list[int], *, period: Period, total: int | None = None, previous: int = 0
) -> tuple[MeasureSummary, IndicatorsSummary]:
    months = month_periods(period.end, len(monthly))
    trend = tuple(
        (month, IndicatorResult.count(value)) for month, value in zip(months, monthly, strict=True)
    )
    in_period = sum(
        value
        for (month, _r), value in zip(trend, monthly, strict=True)
        if month.start >= period.start
    )
    measure = MeasureSummary(
        id="admissions",
        title="Hospital admissions",
        kind=IndicatorKind.COUNT,
        result=IndicatorResult.count(in_period if total is None else total),
        previous=IndicatorResult.count(previous),
        trend=trend,
    )
    summary = IndicatorsSummary(
        "practice", "A81001", "", period, previous_period(period), (measure,)
    )
    return measure, summary


def test_a_lone_small_month_is_hidden_with_a_partner_so_it_cannot_be_subtracted() -> None:
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    # November 2025 to October 2026; June 2026 (3) is small.
    monthly = [9, 8, 7, 6, 5, 9, 12, 3, 9, 6, 10, 11]
    measure, summary = _count_measure(monthly, period=period)
    points = chart_points(measure, summary)
    hidden = [point.period.start.month for point in points if point.hidden]
    assert hidden == [6, 8]  # June, and August (6: the smallest other month in the period)
    for point in points:
        if point.value is not None and 1 <= point.value <= 4:
            assert point.hidden


def test_small_months_are_hidden_without_a_partner_when_the_total_is_not_printed() -> None:
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    monthly = [0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]  # July: the period's total is "<5" itself
    measure, summary = _count_measure(monthly, period=period)
    hidden = [point.period.start.month for point in chart_points(measure, summary) if point.hidden]
    assert hidden == [7]


def test_meetings_not_quorate_never_reveal_a_suppressed_count() -> None:
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    quorate = MeasureSummary(
        id="meetings_quorate",
        title="Meetings quorate",
        kind=IndicatorKind.SHARE_PERCENT,
        result=IndicatorResult.share_percent(3, 20),
        previous=IndicatorResult.share_percent(0, 0),
        trend=(),
    )
    summary = IndicatorsSummary("practice", "A81001", "", period, previous_period(period), ())
    lines = exceptions(replace(summary, measures=(quorate,)))
    assert lines == ["Meetings not quorate: some (figures withheld: small numbers)."]
    assert not any("17" in line for line in lines)
    fine = replace(quorate, result=IndicatorResult.share_percent(12, 20))
    assert exceptions(replace(summary, measures=(fine,))) == ["Meetings not quorate: 8 of 20."]
    few = replace(quorate, result=IndicatorResult.share_percent(17, 20))
    assert exceptions(replace(summary, measures=(few,))) == ["Meetings not quorate: <5."]


def test_a_measure_that_moved_the_wrong_way_is_an_exception_unless_suppressed() -> None:
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    on_time = MeasureSummary(
        id="actions_done_on_time",
        title="Actions done on time",
        kind=IndicatorKind.SHARE_PERCENT,
        result=IndicatorResult.share_percent(60, 100),
        previous=IndicatorResult.share_percent(80, 100),
        trend=(),
    )
    summary = IndicatorsSummary(
        "practice", "A81001", "", period, previous_period(period), (on_time,)
    )
    assert exceptions(summary) == [
        "Worse than in the previous period: Actions done on time 60.0% (was 80.0%)."
    ]
    better = replace(on_time, result=IndicatorResult.share_percent(90, 100))
    assert exceptions(replace(summary, measures=(better,))) == []
    small = replace(on_time, previous=IndicatorResult.share_percent(4, 4))
    assert exceptions(replace(summary, measures=(small,))) == []  # 100% from 4 is withheld


def _referral_measures(
    period: Period, discussed: list[int], not_yet: list[int]
) -> IndicatorsSummary:
    """Referrals, the median's n and the not yet discussed, month by month (the last
    12 months to the period's end); the period's figures are its months' sums, the
    previous period's large (its own rule not in play)."""
    months = month_periods(period.end, len(discussed))

    def in_period(monthly: list[int]) -> int:
        return sum(v for m, v in zip(months, monthly, strict=True) if m.start >= period.start)

    def median(count: int) -> IndicatorResult:
        return IndicatorResult.median_days([6] * count)

    referrals = [d + n for d, n in zip(discussed, not_yet, strict=True)]
    made = (
        ("referrals", "Referrals received", IndicatorKind.COUNT, IndicatorResult.count, referrals),
        (
            "median_days_to_first_mdt",
            "Median days from referral to first MDT discussion",
            IndicatorKind.MEDIAN_DAYS,
            median,
            discussed,
        ),
        (
            "not_yet_discussed",
            "Referrals not yet discussed at an MDT",
            IndicatorKind.COUNT,
            IndicatorResult.count,
            not_yet,
        ),
    )
    measures = tuple(
        MeasureSummary(
            id=key,
            title=title,
            kind=kind,
            result=make(in_period(monthly)),
            previous=make(50),
            trend=tuple((month, make(value)) for month, value in zip(months, monthly, strict=True)),
        )
        for key, title, kind, make, monthly in made
    )
    return IndicatorsSummary("practice", "A81001", "", period, previous_period(period), measures)


def test_a_complement_of_a_small_count_is_withheld_in_the_table_and_exceptions() -> None:
    """3 discussed and 20 not yet, of 23 referrals printed: the 20 would give the 3."""
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    discussed = [0] * 6 + [1, 0, 0, 2, 0, 0]
    summary = _referral_measures(period, discussed, [4] * 12)
    not_yet = summary.measure("not_yet_discussed")
    assert not_yet is not None and not_yet.result.value == 24  # not small itself
    assert "Referrals in the period not yet discussed at an MDT: withheld." in exceptions(summary)
    text = flat(" ".join(pages_text(render_indicators_summary(summary, now=NOW).content)))
    assert "Referrals received 27 50" in text
    assert "Referrals not yet discussed at an MDT withheld 50" in text
    assert " 24 " not in text and " 3 " not in text


def test_a_median_keeps_its_days_when_only_its_n_is_withheld() -> None:
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    summary = _referral_measures(period, [6] * 12, [0] * 11 + [2])  # 2 not yet discussed
    text = flat(" ".join(pages_text(render_indicators_summary(summary, now=NOW).content)))
    assert "Median days from referral to first MDT discussion 6.0 days n = withheld" in text
    assert "Referrals not yet discussed at an MDT <5" in text
    assert "n = 36" not in text


def test_a_month_is_hidden_where_another_charts_month_would_give_a_small_count() -> None:
    """August: 2 discussed of 9 referred, 7 not yet; both 9 and 7 would be drawn, and
    9 - 7 = 2. The 7 is hidden, and with it a partner (the period's total is printed)."""
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    discussed = [10] * 9 + [2] + [10] * 2  # November 2025 to October 2026
    summary = _referral_measures(period, discussed, [7] * 12)
    not_yet = summary.measure("not_yet_discussed")
    assert not_yet is not None

    def hidden(measure: MeasureSummary, within: IndicatorsSummary) -> list[int]:
        return [point.period.start.month for point in chart_points(measure, within) if point.hidden]

    assert hidden(not_yet, summary) == [5, 8]  # August, and May as its partner
    referrals = summary.measure("referrals")
    assert referrals is not None and hidden(referrals, summary) == []
    alone = replace(summary, measures=(not_yet,))
    assert hidden(not_yet, alone) == []  # by its own figures, nothing is small


def test_the_previous_period_is_the_same_number_of_months_or_days_before() -> None:
    assert previous_period(Period(dt.date(2026, 6, 1), dt.date(2026, 11, 30))) == Period(
        dt.date(2025, 12, 1), dt.date(2026, 5, 31)
    )
    assert previous_period(Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))) == Period(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28)
    )
    assert previous_period(Period(dt.date(2026, 6, 10), dt.date(2026, 6, 19))) == Period(
        dt.date(2026, 5, 31), dt.date(2026, 6, 9)
    )


def test_the_drawing_needs_no_store() -> None:
    """Rendering takes the gathered dataclass only: no session, no SQL."""
    period = Period(dt.date(2026, 5, 1), dt.date(2026, 10, 31))
    _measure, summary = _count_measure([9, 8, 7, 6, 5, 9, 12, 3, 9, 6, 10, 11], period=period)
    pdf = render_indicators_summary(summary, now=NOW)
    text = flat(" ".join(pages_text(pdf.content)))
    assert "Hospital admissions 51 0" in text  # May to October; the previous period's 0
    assert pdf.pages == 1
