"""Ending a meeting, as a new user met it: an item discussed but given no outcome is
named before the meeting ends, and the summary's rows are as tall as their text."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from mdt_desk.models.enums import AgendaOutcome, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from mdt_desk.services.desk import Desk
from mdt_desk.ui.meeting_mode.summary_dialog import MeetingSummaryDialog
from mdt_desk.ui.runner import TaskRunner
from tests.ui.finders import child
from tests.ui.signed_in import acting
from tests.ui.test_meeting_mode import (
    choose,
    make_action,
    next_item,
    open_meeting,
    planned_meeting,
    put_proposals_first,
    settle,
)

WAIT = 10_000


@pytest.fixture
def store(demo_store_path: Path) -> Iterator[Store]:
    with Store.open(demo_store_path) as opened:
        yield opened


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def test_summary_rows_are_no_taller_than_their_text_at_1280_by_800(qtbot, store, runner) -> None:
    """The first row was drawn about 200 pixels tall: the rows were measured before the
    table had its width, with the wrapped "New actions" column a few pixels wide."""
    meeting = planned_meeting(store)
    put_proposals_first(store, meeting.id, count=2)
    window = open_meeting(qtbot, runner, meeting.id)
    window.resize(1280, 800)
    make_action(qtbot, window, "Ask the GP to review the painkillers at the next visit")
    choose(qtbot, window.outcome_box, "Change plan")
    settle(qtbot, window)
    next_item(qtbot, window, window.summary_edit)
    choose(qtbot, window.outcome_box, "Continue plan")
    settle(qtbot, window)
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT):
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    settle(qtbot, window)
    dialog = child(window, MeetingSummaryDialog, "meeting_summary_dialog")
    qtbot.waitExposed(dialog)
    assert dialog.width() <= 1280 and dialog.height() <= 800
    table = dialog.table
    line = QFontMetrics(table.font()).lineSpacing()
    heights = [table.rowHeight(row) for row in range(dialog.model.rowCount())]
    assert heights and max(heights) <= 3 * line + 12, (heights, line)
    dialog.close()


def test_ending_names_an_item_discussed_without_an_outcome_and_goes_back_to_it(
    qtbot, store, runner
) -> None:
    """A discussion typed with no outcome chosen was recorded as "Not reached" without a
    word at End meeting (H98): the question now names it and goes back to it by default."""
    meeting = planned_meeting(store)
    first, _second = put_proposals_first(store, meeting.id, count=2)
    window = open_meeting(qtbot, runner, meeting.id)
    assert window.current_index() == 0
    window.summary_edit.setFocus()
    qtbot.keyClicks(window.summary_edit, "Falls at night; son worried.")
    next_item(qtbot, window, window.summary_edit)
    assert window.current_index() == 1

    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    text = confirm.text()
    assert f"Item 1 ({first.initials})" in text and "not reached" in text
    assert "Item 2" not in text and "item 2" not in text  # nothing typed there
    assert first.patient_name not in text  # the shared screen: initials only
    back = child(confirm, QPushButton, "go_back_to_item_button")
    assert confirm.defaultButton() is back and "item 1" in back.text()
    assert confirm.focusWidget() is back  # Enter or Space goes back
    qtbot.keyClick(confirm, Qt.Key.Key_Return)  # the default: go back
    settle(qtbot, window)
    assert not window.is_read_only()
    assert window.current_index() == 0
    assert window.summary_edit.toPlainText() == "Falls at night; son worried."
    qtbot.waitUntil(
        lambda: window.findChild(QMessageBox, "end_meeting_confirm") is None, timeout=WAIT
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    assert window.outcome_box.hasFocus()  # ready to choose the outcome

    # with the outcome chosen, the question no longer names it, and Enter ends
    choose(qtbot, window.outcome_box, "Change plan")
    settle(qtbot, window)
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    assert "not reached unless" not in confirm.text()
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT):
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    settle(qtbot, window)
    child(window, MeetingSummaryDialog, "meeting_summary_dialog").close()
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        detail = meetings.get_meeting(session, meeting.id)
    assert detail.meeting.status is MeetingStatus.FINISHED
    stored = next(entry for entry in detail.agenda if entry.id == first.id)
    assert stored.outcome is AgendaOutcome.CHANGE_PLAN
    assert stored.summary == "Falls at night; son worried."


def test_decisions_alone_count_and_ending_anyway_still_ends(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    first, _second = put_proposals_first(store, meeting.id, count=2)
    window = open_meeting(qtbot, runner, meeting.id)
    window.decisions_edit.setFocus()
    qtbot.keyClicks(window.decisions_edit, "Refer to falls clinic")
    qtbot.keyClick(window.decisions_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    assert f"Item 1 ({first.initials})" in confirm.text()
    end = child(confirm, QPushButton, "confirm_end_button")
    assert end.text() == "End meeting anyway"
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT):
        qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert window.is_read_only()
    child(window, MeetingSummaryDialog, "meeting_summary_dialog").close()
