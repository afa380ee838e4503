"""Need-to-know on screen (issue 10): someone not on the care team opens a record with a
sensitive alert, note and action and no visible widget holds a word of them, only the
restricted marker; a team member breaks the glass with a typed reason and the record
shows them (and hides them again after 30 minutes); opening and breaking the glass are
in the access log, which the coordinator sees on the record."""

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.models import AccessEvent
from mdt_desk.models.base import utc_now
from mdt_desk.models.store import Store
from mdt_desk.services import restricted as restricted_service
from mdt_desk.services.desk import Desk
from mdt_desk.services.restricted import RESTRICTED_TEXT
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.runner import TaskRunner
from tests.services.test_need_to_know import SECRETS, SensitiveRecord, make_sensitive_record

WAIT = 10_000
REASON = "Ambulance crew on the phone, he has fallen"


@pytest.fixture
def record(store: Store, team, practice_ids) -> SensitiveRecord:
    return make_sensitive_record(store, team, practice_ids["A81001"])


def desk_as(store: Store, staff_id: uuid.UUID) -> Desk:
    return Desk(store=store, actor_id=staff_id, actor_name="")


@pytest.fixture
def open_record(qtbot, store: Store, record: SensitiveRecord):
    """Open the record in a window of its own, as ``staff_id`` on this desk."""
    runners: list[TaskRunner] = []

    def open_as(staff_id: uuid.UUID) -> CaseRecordWidget:
        runner = TaskRunner(desk_as(store, staff_id))
        runners.append(runner)
        widget = CaseRecordWidget(runner, record.patient_id, record.case_id)
        qtbot.addWidget(widget)
        widget.resize(1300, 800)
        widget.show()
        qtbot.waitExposed(widget)
        qtbot.waitUntil(lambda: widget.view is not None and widget.access is not None, timeout=WAIT)
        settle(qtbot, widget)
        return widget

    yield open_as
    for runner in runners:
        runner.shutdown()


def settle(qtbot, widget: CaseRecordWidget) -> None:
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=WAIT)


def model_text(model: QAbstractItemModel) -> list[str]:
    roles = (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.AccessibleTextRole,
    )
    found: list[str] = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            found.extend(str(model.data(index, role) or "") for role in roles)
    return found


def visible_text() -> str:
    """Every visible widget's words: texts, tooltips, accessible names and descriptions,
    and every cell of every visible table (through its model)."""
    parts: list[str] = []
    for widget in QApplication.allWidgets():
        if not widget.isVisible():
            continue
        parts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        parts.append(widget.windowTitle())
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            parts.append(widget.text())
        if isinstance(widget, QPlainTextEdit):
            parts.append(widget.toPlainText())
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            parts += model_text(widget.model())
    return "\n".join(parts)


def every_tab_text(widget: CaseRecordWidget) -> str:
    """What is on screen with each tab of the record in front in turn (details open)."""
    if not widget.banner.details_button.isChecked():
        widget.banner.details_button.click()
    seen = []
    for index in range(widget.tabs.count()):
        widget.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        seen.append(visible_text())
    return "\n".join(seen)


def leaked(words: str) -> list[str]:
    # the alert's kind is sensitive too; the screens' own help may say the word
    return [secret for secret in (*SECRETS, "Safeguarding:") if secret in words]


def logged(store: Store, staff_id: uuid.UUID) -> list[tuple[str, str]]:
    with store.read() as session:
        return [
            (event.action, event.reason)
            for event in session.scalars(
                select(AccessEvent)
                .where(AccessEvent.staff_id == staff_id)
                .order_by(AccessEvent.at, AccessEvent.id)
            )
        ]


def test_an_observer_sees_that_restricted_items_exist_and_nothing_of_them(
    qtbot, store, record, open_record
) -> None:
    widget = open_record(record.observer)
    words = every_tab_text(widget)
    assert leaked(words) == []
    assert RESTRICTED_TEXT in words
    assert "Order a perching stool" in words  # the rest of the record is there
    notice = widget.restricted_notice
    assert notice.isVisible() and "3 restricted items" in notice.label.text()
    # An observer's role does not allow breaking the glass, nor reading the access log.
    assert not notice.break_glass_button.isVisible()
    assert widget.tabs.indexOf(widget.access_log_tab) < 0
    # Opening the record is in the access log, once, although it loaded several times.
    widget.reload()
    settle(qtbot, widget)
    assert logged(store, record.observer) == [("open", "")]


def test_breaking_the_glass_shows_the_items_for_30_minutes_and_is_logged(
    qtbot, store, record, open_record, monkeypatch
) -> None:
    widget = open_record(record.outsider)
    assert leaked(every_tab_text(widget)) == []
    button = widget.restricted_notice.break_glass_button
    assert button.isVisible() and button.accessibleName() == "Break glass to open restricted items"
    button.click()
    dialog = widget.restricted_notice.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.reason_edit.accessibleName() == "Reason"
    dialog.reason_edit.setFocus()
    qtbot.keyClicks(dialog.reason_edit, REASON)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: widget.restricted_notice.dialog is None, timeout=WAIT)
    qtbot.waitUntil(lambda: widget.access is not None and not widget.access.hidden_items)
    settle(qtbot, widget)

    words = every_tab_text(widget)
    assert all(secret in words for secret in SECRETS)
    assert "open to you until" in widget.restricted_notice.label.text()
    assert logged(store, record.outsider) == [("open", ""), ("break_glass", REASON)]

    # Thirty-one minutes on, a reload shows the markers again.
    later = utc_now() + dt.timedelta(minutes=31)
    monkeypatch.setattr("mdt_desk.models.base.utc_now", lambda: later)
    monkeypatch.setattr(restricted_service, "utc_now", lambda: later)
    widget.reload()
    qtbot.waitUntil(lambda: bool(widget.access and widget.access.hidden_items), timeout=WAIT)
    if widget.action_plan is not None:
        widget.action_plan.reload()
    settle(qtbot, widget)
    words = every_tab_text(widget)
    assert leaked(words) == [] and RESTRICTED_TEXT in words


def test_the_coordinator_sees_who_has_looked_and_tab_leaves_the_table(
    qtbot, store, record, open_record
) -> None:
    looker = open_record(record.observer)
    looker.close()
    widget = open_record(record.coordinator)
    assert not widget.restricted_notice.isVisible()  # nothing is hidden from them
    index = widget.tabs.indexOf(widget.access_log_tab)
    assert index >= 0 and widget.tabs.tabText(index).replace("&", "") == "Who has looked"
    tab = widget.show_tab("access_log")
    QApplication.processEvents()
    table = widget.access_log_tab.table
    assert table.accessibleName() == "Who has looked at this record"
    assert not table.tabKeyNavigation()  # Tab leaves the table in one press
    rows = model_text(table.model())
    assert "Student" in "\n".join(rows) and "Opened the record" in rows
    headers = [
        table.model().headerData(column, Qt.Orientation.Horizontal)
        for column in range(table.model().columnCount())
    ]
    assert headers == ["When", "Who", "What", "Desk", "Why"]
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not table
    assert isinstance(tab, QWidget)


@pytest.fixture(autouse=True)
def _no_stray_windows() -> Iterator[None]:
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, CaseRecordWidget):
            widget.close()
