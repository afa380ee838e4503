"""My actions, the team's Overdue actions, and the caseload filters, on a real window."""

import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from mdt_desk.services.actions import ActionListRow
from mdt_desk.services.caseload import CaseloadView
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.action_list_table_model import (
    DUE,
    NHS_NUMBER,
    OWNER,
    PERSON,
    STATUS,
    ActionListTableModel,
)
from mdt_desk.ui.itemmodels.caseload_table_model import COLUMNS
from tests import store_sql
from tests.ui.test_main_window import open_window, signed_in_name


def today() -> str:
    return dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat()


def raw_actions(path: Path, owner: str | None, overdue_only: bool) -> set[str]:
    sql = (
        "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
        " JOIN patient p ON p.id = c.patient_id WHERE a.retired_at IS NULL"
        " AND c.retired_at IS NULL AND p.retired_at IS NULL"
        " AND a.status IN ('open', 'in_progress')"
    )
    values: list[str] = []
    if overdue_only:
        sql += " AND a.due_on < ?"
        values.append(today())
    if owner is not None:
        sql += " AND a.owner_id = ?"
        values.append(uuid.UUID(owner).hex)
    with store_sql.connect(path) as db:
        return {str(uuid.UUID(row[0])) for row in db.execute(sql, values)}


def shown_rows(model: ActionListTableModel) -> list[ActionListRow]:
    rows = [model.row_at(row) for row in range(model.rowCount())]
    assert all(row is not None for row in rows)
    return [row for row in rows if row is not None]


def shown_ids(window) -> set[str]:
    return {str(row.id) for row in shown_rows(window.action_list.action_model)}


def test_my_actions_lists_the_signed_in_persons_actions_overdue_first(
    qtbot, qtmodeltester, demo_store_path: Path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    staff_id, name = signed_in_name(demo_store_path)
    with qtbot.waitSignal(window.action_list.loaded, timeout=5000):
        window.navigator.select_my_actions()
    wait_idle(window)
    assert window.caseload_page.showing_actions
    assert not window.caseload_filters.isVisible()  # case filters do not apply to actions
    expected = raw_actions(demo_store_path, staff_id, overdue_only=False)
    assert expected, "the demo coordinator has actions"
    assert shown_ids(window) == expected
    model = window.action_list.action_model
    qtmodeltester.check(model)
    assert {model.index(row, OWNER).data() for row in range(model.rowCount())} == {name}
    assert window.action_list.isColumnHidden(OWNER)  # every row would say the same name
    overdue = [row.overdue for row in shown_rows(model)]
    assert overdue == sorted(overdue, reverse=True)
    if any(overdue):
        assert model.index(0, DUE).data().endswith("(overdue)")  # said in words
    count = len(expected)
    assert window.navigator.my_actions_item.text().endswith(f"({count})")
    assert f"{count} action" in window.caseload_page.heading.text()
    # Enter opens the case the action belongs to.
    person = model.index(0, PERSON).data()
    window.action_list.setFocus()
    window.action_list.setCurrentIndex(model.index(0, 0))
    qtbot.keyClick(window.action_list, Qt.Key.Key_Return)
    wait_idle(window)
    record = window.workspace.currentWidget()
    assert isinstance(record, CaseRecordWidget)
    assert record.case_id == shown_rows(model)[0].case_id
    assert person
    window.close()


def test_overdue_actions_lists_actions_with_their_owners(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    with qtbot.waitSignal(window.action_list.loaded, timeout=5000):
        window.navigator.select_view(CaseloadView.OVERDUE_ACTIONS)
    wait_idle(window)
    expected = raw_actions(demo_store_path, None, overdue_only=True)
    assert expected and shown_ids(window) == expected
    model = window.action_list.action_model
    assert not window.action_list.isColumnHidden(OWNER)
    owners = {model.index(row, OWNER).data() for row in range(model.rowCount())}
    assert len(owners) > 1, "the team's list shows every owner"
    assert all(
        model.index(row, DUE).data().endswith("(overdue)") for row in range(model.rowCount())
    )
    item = window.navigator._view_items[CaseloadView.OVERDUE_ACTIONS]
    assert item.text().endswith(f"({len(expected)})")
    assert item.data(Qt.ItemDataRole.AccessibleTextRole).endswith(f"{len(expected)} actions")
    # Tab leaves the table in one press.
    window.action_list.setFocus()
    qtbot.keyClick(window.action_list, Qt.Key.Key_Tab)
    assert not window.action_list.hasFocus()
    window.close()


def test_my_actions_follow_whoever_signs_in(qtbot, demo_store_path: Path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    staff_id, _name = signed_in_name(demo_store_path)
    with store_sql.connect(demo_store_path) as db:
        (other,) = db.execute(
            "SELECT owner_id FROM action WHERE owner_id != ? AND status = 'open'"
            " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1",
            (uuid.UUID(staff_id).hex,),
        ).fetchone()
    other_id = uuid.UUID(other)
    with qtbot.waitSignal(window.action_list.loaded, timeout=5000):
        window.navigator.select_my_actions()
    wait_idle(window)
    with qtbot.waitSignal(window.action_list.loaded, timeout=5000):
        window.runner.set_desk(window.runner.desk.sign_in(other_id))
    wait_idle(window)
    assert shown_ids(window) == raw_actions(demo_store_path, str(other_id), overdue_only=False)
    window.close()


def test_caseload_filters_narrow_any_view_and_clear(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    wait_idle(window)
    filters = window.caseload_filters
    assert filters.isVisible()
    names = {c.accessibleName() for c in (filters.coordinator, filters.risk, filters.status)}
    assert names == {
        "Filter by care coordinator",
        "Filter by risk band",
        "Filter by case status",
    }
    everyone = window.caseload_model.rowCount()
    with qtbot.waitSignal(window.caseload_model.loaded, timeout=5000):
        filters.risk.setCurrentIndex(filters.risk.findText("Very high"))
    wait_idle(window)
    risk_column = [c.key for c in COLUMNS].index("risk")
    model = window.caseload_model
    narrowed = model.rowCount()
    assert 0 < narrowed < everyone
    texts = {model.index(row, risk_column).data() for row in range(min(narrowed, 100))}
    assert texts == {"Very high"}
    # Combined with a coordinator: the busiest coordinator's very-high-risk cases.
    qtbot.waitUntil(lambda: filters.coordinator.count() > 1, timeout=5000)
    with store_sql.connect(demo_store_path) as db:
        (busiest,) = db.execute(
            "SELECT a.staff_id FROM coordinator_assignment a JOIN care_case c ON c.id = a.case_id"
            " JOIN patient p ON p.id = c.patient_id WHERE a.ended_on IS NULL"
            " AND c.status != 'closed' AND p.risk_band = 'very_high'"
            " GROUP BY a.staff_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    with qtbot.waitSignal(window.caseload_model.loaded, timeout=5000):
        filters.coordinator.setCurrentIndex(filters.coordinator.findData(str(uuid.UUID(busiest))))
    wait_idle(window)
    coordinator_column = [c.key for c in COLUMNS].index("coordinator")
    shown = {model.index(row, coordinator_column).data() for row in range(model.rowCount())}
    assert shown == {filters.coordinator.currentText()}
    # The filters stay when the view changes, and Clear filters brings everyone back.
    window.navigator.select_view(CaseloadView.HIGH_RISK)
    wait_idle(window)
    assert all(
        model.index(row, risk_column).data() == "Very high" for row in range(model.rowCount())
    )
    with qtbot.waitSignal(window.caseload_model.loaded, timeout=5000):
        filters.clear_button.click()
    wait_idle(window)
    assert model.rowCount() > 0 and not filters.active
    QApplication.processEvents()
    window.close()


def test_every_default_column_fits_at_1280_by_800(qtbot, demo_store_path: Path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    wait_idle(window)
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() > 0)
    table = window.caseload_table
    header = table.horizontalHeader()
    shown = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
    assert [COLUMNS[c].key for c in shown] == [
        "name",
        "nhs_number",
        "age",
        "practice",
        "coordinator",
        "status",
        "risk",
        "next_review",
        "overdue_actions",
    ]
    assert sum(table.columnWidth(c) for c in shown) <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()
    # Dates, numbers, ages and words like "overdue" are never cut; long names elide
    # with the full text in the tooltip.
    metrics = table.fontMetrics()
    bold = table.font()
    bold.setBold(True)
    bold_metrics = type(metrics)(bold)
    model = window.caseload_model
    for column in shown:
        spec = COLUMNS[column]
        for row in range(min(model.rowCount(), 40)):
            text = model.index(row, column).data()
            if spec.elastic:
                assert model.index(row, column).data(Qt.ItemDataRole.ToolTipRole) == text
                continue
            width = max(metrics.horizontalAdvance(text), bold_metrics.horizontalAdvance(text))
            assert width <= table.columnWidth(column), (spec.key, text)
    window.close()


def test_overdue_actions_at_1280_by_800_cut_no_date_status_or_nhs_number(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    """ "12-Nov-2026 (overdue)" in bold, "In progress" and NHS numbers read whole; only
    free text (names, the action) may elide, with the whole text in its tooltip."""
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    with qtbot.waitSignal(window.action_list.loaded, timeout=5000):
        window.navigator.select_view(CaseloadView.OVERDUE_ACTIONS)
    wait_idle(window)
    table = window.action_list
    model = table.action_model
    assert model.rowCount() > 0
    assert not table.horizontalScrollBar().isVisible()
    bold = table.font()
    bold.setBold(True)
    measure = QFontMetrics(bold)
    for column in (NHS_NUMBER, DUE, STATUS):
        for row in range(model.rowCount()):
            text = model.index(row, column).data()
            assert measure.horizontalAdvance(text) < table.columnWidth(column), text
    window.close()


@pytest.mark.slow
def test_the_navigator_names_every_demo_practice_whole_at_1280_by_800(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    wait_idle(window)
    navigator = window.navigator
    navigator.expandAll()
    model = navigator.item_model
    metrics = navigator.fontMetrics()
    practices = []
    pending = [model.index(row, 0) for row in range(model.rowCount())]
    while pending:
        index = pending.pop()
        pending.extend(model.index(row, 0, index) for row in range(model.rowCount(index)))
        if index.parent().isValid() and index.parent().parent().isValid():
            practices.append(index)
    assert practices, "the demo store's practices are in the tree"
    for index in practices:
        room = navigator.viewport().width() - navigator.visualRect(index).x()
        text = index.data()
        assert metrics.horizontalAdvance(text) + 8 <= room, text
        assert index.data(Qt.ItemDataRole.ToolTipRole).startswith(text.rsplit(" (", 1)[0])
    window.close()
