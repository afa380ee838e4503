"""Meeting mode and the agenda builder, as the chair meets them: visible Close and End
meeting… buttons, a "Why deferred" field saved as it is typed, a warning before a
meeting starts on another day than its own, a readable Why column, and an "Add a case"
list that opens where it can be seen."""

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView, QLineEdit, QMessageBox, QPushButton, QWidget

from mdt_desk.models.enums import AgendaOutcome, AgendaReason, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from mdt_desk.services.agenda_rules import Proposal, ProposalReason
from mdt_desk.services.desk import Desk
from mdt_desk.ui.meetings.meetings_page import WHY_COLUMN, MeetingsPage
from mdt_desk.ui.runner import TaskRunner
from tests.ui.finders import child
from tests.ui.signed_in import acting
from tests.ui.test_meeting_mode import (
    choose,
    open_meeting,
    planned_meeting,
    put_proposals_first,
    settle,
)
from tests.ui.test_meetings_page import agenda_entry

WAIT = 10_000
REASON = "Daughter wants to be there; she is back next week"
LONG = (
    "Escalated by the coordinator; New referral 21-Nov-2026, not yet discussed; "
    "Hospital admission 27-Nov-2026 and 2 more; 3 overdue actions; Very high risk, "
    "last discussed 01-Oct-2026; Carried 2×; Deferred: the GP who knows her is on leave"
)


@pytest.fixture
def store(demo_store_path: Path) -> Iterator[Store]:
    with Store.open(demo_store_path) as opened:
        yield opened


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def stored_item(store: Store, meeting_id: uuid.UUID, item_id: uuid.UUID) -> meetings.AgendaEntry:
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        return next(e for e in meetings.agenda(session, meeting_id) if e.id == item_id)


# -- meeting mode -------------------------------------------------------------------------


@pytest.mark.slow
def test_close_and_end_meeting_are_buttons_on_screen(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    close = child(window, QPushButton, "close_meeting_mode_button")
    end = child(window, QPushButton, "end_meeting_button")
    assert close.isVisible() and end.isVisible() and end.isEnabled()
    assert close.text().startswith("Close") and close.accessibleName() == "Close meeting mode"
    assert end.text().startswith("End meeting…") and end.accessibleName() == "End the meeting"

    # End meeting… asks first (the Ctrl+E flow); "Keep going" leaves it running.
    qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    assert confirm.isVisible() and "End the meeting now?" in confirm.text()
    qtbot.keyClick(confirm, Qt.Key.Key_Escape)
    assert not window.is_read_only()

    # Close keeps everything: what was typed is saved, the meeting is still running.
    entry = window.current_entry()
    assert entry is not None
    window.summary_edit.setFocus()
    qtbot.keyClicks(window.summary_edit, "Typed just before closing")
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    settle(qtbot, window)
    assert stored_item(store, meeting.id, entry.id).summary == "Typed just before closing"
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        status = meetings.get_meeting_summary(session, meeting.id).status
    assert status is MeetingStatus.IN_PROGRESS


@pytest.mark.slow
def test_a_deferral_asks_why_and_saves_it_as_typed(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    first, _second, _third = put_proposals_first(store, meeting.id)
    window = open_meeting(qtbot, runner, meeting.id)
    row = child(window, QWidget, "deferral_reason_row")
    reason = child(window, QLineEdit, "deferral_reason_edit")
    assert not row.isVisible()
    assert reason.accessibleName() == "Why deferred"

    choose(qtbot, window.outcome_box, "Defer")
    settle(qtbot, window)
    assert row.isVisible() and reason.hasFocus()  # the keyboard is there to say why
    with qtbot.waitSignal(
        window.capture_saved,
        timeout=1500,
        check_params_cb=lambda saved: saved.deferral_reason == REASON,
    ):
        qtbot.keyClicks(reason, REASON)
    settle(qtbot, window)
    assert stored_item(store, meeting.id, first.id).deferral_reason == REASON
    assert stored_item(store, meeting.id, first.id).outcome is AgendaOutcome.DEFER

    # another outcome hides the field; Defer again shows what was typed
    choose(qtbot, window.outcome_box, "Continue plan")
    settle(qtbot, window)
    assert not row.isVisible()
    choose(qtbot, window.outcome_box, "Defer")
    settle(qtbot, window)
    assert row.isVisible() and reason.text() == REASON


# -- starting on another day --------------------------------------------------------------


def open_page(qtbot, runner: TaskRunner) -> MeetingsPage:
    page = MeetingsPage(runner)
    qtbot.addWidget(page)
    page.resize(1280, 780)
    page.show()
    page.reload()
    qtbot.waitUntil(lambda: page.detail is not None and not runner.busy, timeout=WAIT)
    return page


def choose_meeting(qtbot, page: MeetingsPage, meeting_id: uuid.UUID) -> None:
    row = next(n for n, m in enumerate(page.meeting_model.rows()) if m.id == meeting_id)
    page.meeting_table.selectRow(row)
    qtbot.waitUntil(
        lambda: (
            page.detail is not None
            and page.detail.meeting.id == meeting_id
            and not page.runner.busy
        ),
        timeout=WAIT,
    )


def test_starting_on_another_day_than_scheduled_asks_first(qtbot, store, runner) -> None:
    today = dt.datetime.now(meetings.LONDON).date()
    page = open_page(qtbot, runner)
    other_day = next(
        m for m in page.meeting_model.rows() if m.status is MeetingStatus.PLANNED and m.day != today
    )
    choose_meeting(qtbot, page, other_day.id)

    # "Don't start" (also what Enter does): nothing starts
    with qtbot.assertNotEmitted(page.start_meeting_requested):
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
        box = page.start_day_confirm
        assert box is not None and box.isVisible()
        assert meetings.meeting_day_text(other_day) in box.text()
        assert "Start it today?" in box.text()
        assert box.defaultButton() is child(box, QPushButton, "keep_planned_button")
        qtbot.mouseClick(child(box, QPushButton, "keep_planned_button"), Qt.MouseButton.LeftButton)
    assert page.start_day_confirm is None

    # "Start it today": it starts
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    box = page.start_day_confirm
    assert box is not None
    with qtbot.waitSignal(page.start_meeting_requested, timeout=WAIT) as started:
        qtbot.mouseClick(
            child(box, QPushButton, "confirm_start_today_button"), Qt.MouseButton.LeftButton
        )
    assert started.args == [other_day.id]

    # a meeting on its own day starts at once
    with store.write(acting(store), "test set-up") as session:
        assert other_day.chair_id is not None
        (today_meeting,) = meetings.schedule_meeting(
            session,
            practice_id=other_day.practice_id,
            day=today,
            start_time=dt.time(23, 30),
            duration_minutes=30,
            chair_id=other_day.chair_id,
            location="Library",
        )
    page.reload()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    choose_meeting(qtbot, page, today_meeting.id)
    with qtbot.waitSignal(page.start_meeting_requested, timeout=WAIT) as started:
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert started.args == [today_meeting.id] and page.start_day_confirm is None


# -- the agenda builder -------------------------------------------------------------------


def lines_needed(text: str, width: int, metrics: QFontMetrics) -> int:
    return math.ceil(metrics.horizontalAdvance(text) / max(1, width))


def test_the_why_column_wraps_and_holds_the_whole_text(qtbot, runner) -> None:
    page = MeetingsPage(runner)
    qtbot.addWidget(page)
    page.resize(1280, 780)
    page.show()
    proposal = Proposal(
        case_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        patient_name="EVANS, Siân",
        initials="S.E.",
        nhs_number_text="999 000 0018",
        practice_code="A81001",
        reasons=tuple(ProposalReason(AgendaReason.ESCALATED, part) for part in LONG.split("; ")),
        suggested_minutes=15,
        carried_count=2,
    )
    page.proposal_model.set_rows([proposal])
    entry = dataclasses.replace(
        agenda_entry(uuid.uuid4(), 1),
        reason=AgendaReason.ESCALATED,
        reason_text="Escalated",
        reason_detail=LONG,
    )
    page.agenda_model.set_rows([entry])
    for table, model, text in (
        (page.proposal_table, page.proposal_model, proposal.reasons_text),
        (page.agenda_table, page.agenda_model, entry.why_text),
    ):
        index = model.index(0, WHY_COLUMN)
        assert index.data() == text == LONG
        assert index.data(Qt.ItemDataRole.ToolTipRole) == LONG  # the whole text on hover
        assert table.wordWrap()
        header = table.horizontalHeader()
        assert header.sectionResizeMode(WHY_COLUMN) is QHeaderView.ResizeMode.Stretch
        width = table.columnWidth(WHY_COLUMN)
        metrics = QFontMetrics(table.font())
        needed = lines_needed(LONG, width, metrics)
        assert needed >= 2, "the text is longer than the column"
        # Before: one line, the rest cut off ("Escalated by the coordinator; New referral…")
        assert table.rowHeight(0) >= needed * metrics.lineSpacing()


def test_the_add_a_case_list_opens_inside_the_screen(qtbot, store, runner) -> None:
    page = open_page(qtbot, runner)
    screen = page.screen().availableGeometry()
    # maximised: the field sits at the bottom of the screen (the test screen is narrower
    # than the page, which then hangs off its right edge: the list must still be seen)
    page.move(screen.topLeft())
    page.resize(screen.size())
    qtbot.waitUntil(lambda: page.height() == screen.height(), timeout=WAIT)
    choose_meeting(qtbot, page, planned_meeting(store).id)
    find = page.add_find
    assert find.isEnabled()
    find.setFocus()
    with qtbot.waitSignal(find.results_shown, timeout=WAIT) as shown:
        qtbot.keyClicks(find, "a")
    assert shown.args[0] > 0
    list_rect = find.results.geometry()
    assert find.results.isVisible()
    assert page.rect().contains(list_rect), (list_rect, page.rect())
    on_screen = QRect(page.mapToGlobal(list_rect.topLeft()), list_rect.size())
    assert screen.contains(on_screen), (on_screen, screen)
    assert list_rect.height() >= 60  # tall enough to see matches, not a sliver
