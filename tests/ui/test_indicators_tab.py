"""The Indicators tab (Ctrl+4) on the real, signed-in main window over a demo store.

The figures on screen are checked against the indicators service run on the same store
(the dashboard and the service agree), the charts against their words, the click-through
against the cases the service says it counted, and the loading against the GUI thread.
"""

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit, QWidget

from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.services import indicators
from mdt_desk.services.actions import london_today
from mdt_desk.services.display import cui_date
from mdt_desk.services.indicators import IndicatorKind, IndicatorResult, Period, format_value
from mdt_desk.ui.indicators import page as page_module
from mdt_desk.ui.indicators.loading import ScopeKind, month_name
from mdt_desk.ui.indicators.page import IndicatorsPage
from mdt_desk.ui.indicators.table_models import FiguresTableModel, IndicatorsRole
from mdt_desk.ui.main_window import MainWindow
from tests import store_sql
from tests.ui.roles import window_as
from tests.ui.signed_in import acting
from tests.ui.test_main_window import open_window

WAIT = 30_000


def open_indicators(qtbot, path: Path, wait_idle) -> tuple[MainWindow, IndicatorsPage]:
    window = open_window(qtbot, path, wait_idle)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    page = window.indicators_page
    assert page is not None
    qtbot.waitUntil(lambda: page.panel is not None and bool(page.sparklines), timeout=WAIT)
    wait_idle(window)
    return window, page


def service(path: Path, call: Callable[[Any], Any]) -> Any:
    """``call(session)`` on the store, as the person the window signed in."""
    with Store.open(path) as store, store.read(acting(store)) as session:
        return call(session)


def shown_figures(page: IndicatorsPage) -> dict[str, tuple[str, ...]]:
    model = page.figures_model
    shown = {}
    for row in range(model.rowCount()):
        indicator_id = model.index(row, 0).data(IndicatorsRole.INDICATOR_ID)
        shown[indicator_id] = tuple(model.index(row, column).data() for column in (1, 2, 3))
    return shown


def expected_figures(results: dict[str, IndicatorResult]) -> dict[str, tuple[str, ...]]:
    """The service's results as the tab must show them: ``format_value`` (with the unit
    of a share or a median), the numerator and the denominator."""
    units = {IndicatorKind.SHARE_PERCENT: "%", IndicatorKind.MEDIAN_DAYS: " days"}
    expected: dict[str, tuple[str, ...]] = {}
    for indicator_id, result in results.items():
        kind = indicators.indicator(indicator_id).kind
        figure = format_value(kind, result.value)
        if result.value is not None:
            figure += units.get(kind, "")
        numerator, denominator = (
            "" if n is None else f"{n:,}" for n in (result.numerator, result.denominator)
        )
        expected[indicator_id] = (figure, numerator, denominator)
    return expected


@pytest.mark.slow
def test_ctrl_4_opens_the_indicators_tab(qtbot, demo_store_path, wait_idle) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    index = window.workspace.indexOf(page)
    assert window.workspace.currentWidget() is page
    assert window.workspace.tabText(index) == "Indicators"
    assert page.isVisible() and page.figures_table.isVisible()
    # Ctrl+1 goes back to the caseload and Ctrl+4 returns to the same tab.
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.workspace.currentIndex() == 0
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.workspace.currentWidget() is page
    assert window.workspace.count() == index + 1  # not a second tab


@pytest.mark.slow
def test_a_practice_and_period_chosen_show_the_services_figures(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    # Another practice, by the keyboard, then the last 3 months.
    page.scope_choice.setFocus()
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        qtbot.keyClick(page.scope_choice, Qt.Key.Key_Down)
    code = page.scope_choice.currentData()
    page.period_choice.setFocus()
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        qtbot.keyClick(page.period_choice, Qt.Key.Key_Up)  # 6 → 3 months
    assert page.period_choice.currentData() == 3
    wait_idle(window)
    period = Period.last_months(3, london_today())
    results = service(
        demo_store_path,
        lambda s: indicators.compute_panel(s, indicators.practice_scope(s, code), period),
    )
    assert shown_figures(page) == expected_figures(results)
    assert set(shown_figures(page)) == {each.id for each in indicators.INDICATORS}
    assert code in page.heading.text() and cui_date(period.start) in page.heading.text()
    # Something is actually counted, so the comparison above compares numbers.
    assert any(r.value for r in results.values())


@pytest.mark.slow
def test_dates_typed_show_that_periods_figures(qtbot, demo_store_path, wait_idle) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    page.period_choice.setFocus()
    qtbot.keyClick(page.period_choice, Qt.Key.Key_End)  # "Dates"
    assert page.period_choice.currentData() == 0
    assert page.from_field.isEnabled() and page.to_field.isEnabled()
    start, end = london_today() - dt.timedelta(days=120), london_today() - dt.timedelta(days=30)
    for field, day in ((page.from_field, start), (page.to_field, end)):
        field.line_edit.selectAll()
        qtbot.keyClicks(field.line_edit, day.isoformat())
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        qtbot.keyClick(page.to_field.line_edit, Qt.Key.Key_Return)
    wait_idle(window)
    code = page.scope_choice.currentData()
    results = service(
        demo_store_path,
        lambda s: indicators.compute_panel(
            s, indicators.practice_scope(s, code), Period(start, end)
        ),
    )
    assert shown_figures(page) == expected_figures(results)


def test_dates_the_wrong_way_round_say_so(qtbot, demo_store_path, wait_idle) -> None:
    _window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    shown = page.heading.text()
    page.choose_dates(london_today(), london_today() - dt.timedelta(days=10))
    assert "starts after it ends" in page.status.text()
    assert page.heading.text() == shown  # the figures on screen are still the earlier ones


def test_each_trend_chart_says_its_values_in_words(qtbot, demo_store_path, wait_idle) -> None:
    _window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    code = page.scope_choice.currentData()
    last_day = page.panel.period.end if page.panel else london_today()
    trend = service(
        demo_store_path,
        lambda s: indicators.monthly_trend(
            s, indicators.practice_scope(s, code), "admissions_per_100", last_day
        ),
    )
    chart = page.sparklines["admissions_per_100"]
    words = chart.accessibleDescription()
    assert words.startswith("Admissions per 100 people on the caseload, last 12 months: ")
    for month, result in trend:
        value = (
            "none"
            if result.value is None
            else format_value(IndicatorKind.RATE_PER_100, result.value)
        )
        assert f"{month_name(month)} {value}" in words
    assert chart.values == [None if r.value is None else float(r.value) for _, r in trend]
    assert chart.accessibleName() == "Admissions per 100 people on the caseload: trend chart"
    # The table's cell under the chart reads the same words to a screen reader.
    row = [r.id for r in page.figures_model.rows()].index("admissions_per_100")
    cell = page.figures_model.index(row, FiguresTableModel.TREND_COLUMN)
    assert cell.data(Qt.ItemDataRole.AccessibleTextRole) == words
    assert page.figures_table.indexWidget(cell) is chart


@pytest.mark.slow
def test_practices_compared_side_by_side_with_the_numbers(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    options = page.options
    assert options is not None
    locality = options.localities[0].code
    with qtbot.waitSignal(page.comparison_shown, timeout=WAIT):
        page.choose(ScopeKind.LOCALITY, locality, months=12)
    page.views.setCurrentIndex(1)
    wait_idle(window)
    period = Period.last_months(12, london_today())
    compared = service(
        demo_store_path,
        lambda s: indicators.practices_compared(s, locality, period, "admissions_per_100"),
    )
    assert len(compared) >= 2
    model = page.compare_model
    assert model.rowCount() == len(compared)
    words = page.compare_chart.accessibleDescription()
    for row, (practice, result) in enumerate(compared):
        figure = format_value(IndicatorKind.RATE_PER_100, result.value)
        assert model.index(row, 0).data().endswith(f"({practice.code})")
        assert model.index(row, 1).data() == figure
        assert model.index(row, 2).data() == f"{result.numerator:,}"
        assert model.index(row, 3).data() == f"{result.denominator:,}"
        assert f"({practice.code}) {figure if result.value is not None else 'none'}" in words
    assert page.compare_chart.values == [
        None if r.value is None else float(r.value) for _, r in compared
    ]


@pytest.mark.slow
def test_a_figure_lists_the_cases_counted_and_one_opens_logged(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    page.choose(ScopeKind.PRACTICE, page.scope_choice.currentData(), months=12)
    qtbot.waitUntil(lambda: bool(page.sparklines), timeout=WAIT)
    wait_idle(window)
    row = [r.id for r in page.figures_model.rows()].index("people_on_caseload")
    page.figures_table.setFocus()
    page.figures_table.setCurrentIndex(page.figures_model.index(row, 1))
    with qtbot.waitSignal(page.counted_shown, timeout=WAIT):
        qtbot.keyClick(page.figures_table, Qt.Key.Key_Return)
    code = page.scope_choice.currentData()
    period = Period.last_months(12, london_today())
    expected = service(
        demo_store_path,
        lambda s: indicators.cases_behind(
            s, indicators.practice_scope(s, code), period, "people_on_caseload"
        ),
    )
    listed = [
        page.counted_model.index(r, 0).data(IndicatorsRole.CASE_ID)
        for r in range(page.counted_model.rowCount())
    ]
    assert expected and sorted(listed) == sorted(expected)
    assert f"{len(expected)} cases counted" in page.counted_heading.text()
    # Enter on the first case opens its record, as the caseload does, and is logged.
    assert QApplication.focusWidget() is page.counted_table
    patient_id = page.counted_model.index(0, 0).data(IndicatorsRole.PATIENT_ID)
    case_id = listed[0]
    qtbot.keyClick(page.counted_table, Qt.Key.Key_Return)
    wait_idle(window)
    records = window.open_records()
    assert [(r.patient_id, r.case_id) for r in records] == [(patient_id, case_id)]
    assert window.workspace.currentWidget() is records[0]
    with store_sql.connect(demo_store_path, read_only=True) as db:
        (opened,) = db.execute(
            "SELECT count(*) FROM access_event WHERE patient_id = ? AND action = 'open'",
            (patient_id.hex,),
        ).fetchone()
    assert opened == 1


@pytest.mark.slow
def test_the_figures_load_on_the_worker_and_the_window_stays_responsive(
    qtbot, demo_store_path, wait_idle, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    threads: list[threading.Thread] = []
    release = threading.Event()
    real_load_panel = page_module.load_panel

    def held_load_panel(*args: Any) -> Any:
        threads.append(threading.current_thread())
        release.wait(timeout=20)  # held until the test has used the window meanwhile
        return real_load_panel(*args)

    monkeypatch.setattr(page_module, "load_panel", held_load_panel)
    page.period_choice.setFocus()
    qtbot.keyClick(page.period_choice, Qt.Key.Key_Down)  # 6 → 12 months
    qtbot.waitUntil(lambda: bool(threads), timeout=WAIT)
    assert threads[0] is not threading.main_thread()
    assert page.status.text() == "Loading figures…" and page.status.isVisible()
    # The window answers while the figures are being worked out.
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.workspace.currentIndex() == 0
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.workspace.currentWidget() is page
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        release.set()
    assert not page.status.isVisible()
    assert page.panel is not None and page.panel.period == Period.last_months(12, london_today())


@pytest.mark.slow
def test_a_failure_shows_a_message_not_a_traceback(
    qtbot, demo_store_path, wait_idle, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    bugs: list[str] = []
    window.runner.bug_found.connect(bugs.append)

    def broken(*_args: Any) -> Any:
        raise RuntimeError("a fault in the figures")

    monkeypatch.setattr(page_module, "load_panel", broken)
    page.period_choice.setFocus()
    qtbot.keyClick(page.period_choice, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "could not be worked out" in page.status.text(), timeout=WAIT)
    wait_idle(window)
    assert "Traceback" not in page.status.text() and "RuntimeError" not in page.status.text()
    assert page.status.isVisible() and not bugs


def test_every_control_has_an_accessible_name_and_tab_leaves_the_tables(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    page.views.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.compare_model.rowCount() > 0, timeout=WAIT)
    page.views.setCurrentIndex(0)
    controls = [
        w
        for w in page.findChildren(QWidget)
        if (
            w.focusPolicy() & Qt.FocusPolicy.TabFocus
            and isinstance(w, QComboBox | QLineEdit | QAbstractButton)
        )
        or w.objectName() in {"figures_table", "counted_cases_table", "compare_table"}
    ] + [page.compare_chart, *page.sparklines.values()]
    assert len(controls) >= 12
    unnamed = []
    for widget in controls:
        interface = QAccessible.queryAccessibleInterface(widget)
        if interface is None or not interface.text(QAccessible.Text.Name).strip():
            unnamed.append(widget.objectName() or type(widget).__name__)
    assert not unnamed
    charts: list[QWidget] = [page.compare_chart, *page.sparklines.values()]
    for chart in charts:
        assert chart.accessibleDescription()
    # Tab leaves each table in one press (arrow keys move within it).
    for table in (page.figures_table, page.counted_table):
        table.setFocus()
        qtbot.waitUntil(table.hasFocus, timeout=2000)
        qtbot.keyClick(table, Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is not None and focus is not table and not table.isAncestorOf(focus)
    assert window.indicators_page is page


@pytest.mark.slow
def test_item_models_pass_the_model_tester(
    qtbot, demo_store_path, wait_idle, qtmodeltester
) -> None:
    _window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    page.show_counted("referrals")
    qtbot.waitUntil(lambda: page.counted is not None, timeout=WAIT)
    page.views.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.compare_model.rowCount() > 0, timeout=WAIT)
    for model in (page.figures_model, page.counted_model, page.compare_model):
        qtmodeltester.check(model, force_py=True)


def test_the_people_behind_a_number_follow_the_roles_read_rights(
    qtbot, demo_store_path, wait_idle
) -> None:
    """Every role sees the figures; only one that may read the caseload sees names."""
    with window_as(qtbot, demo_store_path, Role.TEAM_ADMINISTRATOR) as window:
        page = window.show_indicators()
        qtbot.waitUntil(lambda: page.panel is not None, timeout=WAIT)
        assert page.figure_for("referrals")  # the aggregate figures are everyone's
        page.show_counted("referrals")
        qtbot.waitUntil(lambda: "does not allow" in page.counted_heading.text(), timeout=WAIT)
        assert page.counted_model.rowCount() == 0
        wait_idle(window)
