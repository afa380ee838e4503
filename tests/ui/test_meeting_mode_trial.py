"""Meeting mode as a new chair found it: the wheel never changes a choice the chair is only
scrolling past, Resume reopens a closed meeting window, only sensitive notes wait for the
reveal (and say "Sensitive" once shown), ending a meeting leaves the Meetings tab and
Ctrl+P on that meeting, dates never split across lines, and the owner list is as large
as its field."""

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyleOptionViewItem,
    QWidget,
)

from mdt_desk.models.enums import ActionStatus, AgendaOutcome, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings, plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import counted
from mdt_desk.services.meeting_mode import OpenAction
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from mdt_desk.ui.meetings.meetings_page import MeetingsPage
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import whole_dates
from tests.ui.finders import child
from tests.ui.signed_in import acting
from tests.ui.test_meeting_mode import (
    chaired_meeting,
    choose,
    make_action,
    open_meeting,
    planned_meeting,
    put_proposals_first,
    settle,
)
from tests.ui.test_meetings_page import open_meetings

WAIT = 10_000
PROJECTOR = (1280, 800)
#: a date as shown with ordinary hyphens (which a wrapped line may break after)
BREAKABLE_DATE = re.compile(r"\b\d{1,2}-[A-Z][a-z]{2}-\d{4}\b")
#: a date as shown with non-breaking hyphens (U+2011)
WHOLE_DATE = re.compile("\\b\\d{1,2}\u2011[A-Z][a-z]{2}\u2011\\d{4}\\b")


@pytest.fixture
def store(demo_store_path: Path) -> Iterator[Store]:
    with Store.open(demo_store_path) as opened:
        yield opened


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def stored_outcome(store: Store, meeting_id: uuid.UUID, item_id: uuid.UUID) -> object:
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        return next(e.outcome for e in meetings.agenda(session, meeting_id) if e.id == item_id)


def wheel(widget: QWidget, *, down: bool = True) -> None:
    """One notch of the mouse wheel with the pointer over the middle of ``widget``."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, -120 if down else 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


# -- 1. the mouse wheel --------------------------------------------------------------------


def test_the_wheel_over_an_unfocused_outcome_scrolls_the_page_and_changes_nothing(
    qtbot, store, runner
) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    entry = window.current_entry()
    assert entry is not None and entry.outcome is None
    outcome = child(window, QComboBox, "outcome_box")
    assert outcome.focusPolicy() == Qt.FocusPolicy.StrongFocus  # a wheel never takes focus
    assert not outcome.hasFocus() and window.summary_edit.hasFocus()
    # a column taller than the screen, so there is a page to scroll
    column = window.capture_area
    column_host = column.widget()
    assert column_host is not None
    column_host.setMinimumHeight(3 * column.viewport().height())
    qtbot.waitUntil(lambda: column.verticalScrollBar().maximum() > 0, timeout=WAIT)
    assert column.verticalScrollBar().value() == 0
    committed: list[object] = []
    runner.changes_committed.connect(lambda changes, _origin: committed.append(changes))

    wheel(outcome)
    assert outcome.currentIndex() == 0 and outcome.currentData() is None
    assert column.verticalScrollBar().value() > 0  # the page scrolled instead
    assert not runner.busy  # nothing was sent to be saved
    settle(qtbot, window)
    assert committed == []
    assert window.current_entry().outcome is None  # type: ignore[union-attr]
    assert stored_outcome(store, meeting.id, entry.id) is None

    # once the chair has chosen the box (Tab, Alt+O or a click), the wheel picks as before
    outcome.setFocus()
    qtbot.waitUntil(outcome.hasFocus, timeout=WAIT)
    wheel(outcome)
    assert outcome.currentIndex() == 1
    settle(qtbot, window)
    chosen = AgendaOutcome(outcome.currentData())
    assert stored_outcome(store, meeting.id, entry.id) is chosen


def test_the_wheel_over_an_unfocused_attendance_choice_changes_nothing(
    qtbot, store, runner
) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_F6)
    status = child(window, QComboBox, "attendance_status_0")
    assert status.hasFocus()  # F6 puts the keyboard on the first member
    window.summary_edit.setFocus()
    qtbot.waitUntil(lambda: not status.hasFocus(), timeout=WAIT)
    before = status.currentIndex()
    wheel(status)
    assert status.currentIndex() == before
    assert not runner.busy


def test_every_choice_box_in_the_main_window_ignores_a_passing_wheel(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    boxes = [
        w
        for w in window.findChildren(QWidget)
        if isinstance(w, QComboBox | QAbstractSpinBox) and w.isVisible()
    ]
    assert page.practice_filter in boxes and page.minutes_spin in boxes
    for box in boxes:
        assert box.focusPolicy() == Qt.FocusPolicy.StrongFocus, box.objectName()
    practice = page.practice_filter
    assert not practice.hasFocus() and practice.count() > 1
    wheel(practice)
    assert practice.currentIndex() == 0  # still "All practices"
    wait_idle(window)
    assert page.meeting_model.rowCount() > 1  # the list was not filtered to one practice


# -- 2. Resume after Close -----------------------------------------------------------------


def start_from_the_meetings_tab(qtbot, window: MainWindow, page: MeetingsPage) -> None:
    """F5 on the chosen meeting; "Start it today" if it is planned for another day."""
    page.meeting_table.setFocus()
    qtbot.keyClick(page.meeting_table, Qt.Key.Key_F5)
    box = page.start_day_confirm
    if box is not None:
        qtbot.mouseClick(
            child(box, QPushButton, "confirm_start_today_button"), Qt.MouseButton.LeftButton
        )


def shown_meeting_window(qtbot, window: MainWindow, meeting_id: uuid.UUID) -> MeetingModeWindow:
    def shown() -> bool:
        return any(w.meeting_id == meeting_id and w.isVisible() for w in window.meeting_windows)

    qtbot.waitUntil(shown, timeout=WAIT)
    meeting_window = next(w for w in window.meeting_windows if w.isVisible())
    qtbot.waitUntil(lambda: meeting_window.briefing is not None, timeout=WAIT)
    return meeting_window


def back_to(qtbot, window: MainWindow, page: MeetingsPage) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    page.meeting_table.setFocus()


@pytest.mark.slow
def test_resume_reopens_meeting_mode_after_it_was_closed(qtbot, demo_store_path, wait_idle) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    meeting_id = page.current_meeting_id()
    assert meeting_id is not None
    start_from_the_meetings_tab(qtbot, window, page)
    first = shown_meeting_window(qtbot, window, meeting_id)
    wait_idle(window)
    first.summary_edit.setFocus()
    qtbot.keyClicks(first.summary_edit, "Said before closing")
    qtbot.keyClick(first.summary_edit, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert not first.isVisible()
    wait_idle(window)
    qtbot.waitUntil(lambda: page.start_button.text().startswith("Resume"), timeout=WAIT)

    back_to(qtbot, window, page)
    qtbot.keyClick(page.meeting_table, Qt.Key.Key_F5)  # Resume meeting (F5)
    again = shown_meeting_window(qtbot, window, meeting_id)
    wait_idle(window)
    assert again.isVisible() and not again.is_read_only()
    assert again.summary_edit.toPlainText() == "Said before closing"  # where it stopped
    # the Resume button does the same
    again.close()
    back_to(qtbot, window, page)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert shown_meeting_window(qtbot, window, meeting_id).isVisible()


# -- 3. only sensitive notes wait for the reveal -------------------------------------------


def shows_action(line: str, action: OpenAction) -> bool:
    """Whether an open-actions line has ``action``'s words, owner and due date."""
    return (
        f"{action.description} — {action.owner_name}, " in line
        and whole_dates(action.due_text) in line
    )


def same_line(one: OpenAction, other: OpenAction) -> bool:
    """Whether two open actions are shown with the same words, owner and due date."""
    return (one.description, one.owner_name, one.due_text) == (
        other.description,
        other.owner_name,
        other.due_text,
    )


def test_only_sensitive_notes_wait_for_reveal_and_say_sensitive_when_shown(
    qtbot, store, runner
) -> None:
    meeting = chaired_meeting(store)  # the chair may read them, once revealed
    first = put_proposals_first(store, meeting.id, count=1)[0]
    plain_text = "Phoned the daughter: she can come on Tuesdays (test)"
    secret_text = "Son's partner threatening at visits (test)"
    done_text = "Safeguarding referral made (test)"
    open_text = "Agree the protection plan (test)"
    actor = runner.desk.actor_id
    with store.write(actor, "test set-up") as session:
        plans.add_note(session, first.case_id, plain_text)
        plans.add_note(session, first.case_id, secret_text, sensitive=True)
        owner = plans.action_owner_choices(session, first.case_id)[0].id
        due = dt.date.today() + dt.timedelta(days=7)
        done = plans.add_action(
            session,
            first.case_id,
            description=done_text,
            owner_id=owner,
            due_on=due,
            sensitive=True,
        )
        plans.update_action(session, done.id, status=ActionStatus.DONE)
        plans.add_action(
            session,
            first.case_id,
            description=open_text,
            owner_id=owner,
            due_on=due,
            sensitive=True,
        )
    window = open_meeting(qtbot, runner, meeting.id)
    assert window.current_entry().id == first.id  # type: ignore[union-attr]
    briefing = window.briefing
    assert briefing is not None
    changes = child(window, QLabel, "changes_label")
    notes = [c for c in briefing.changes if c.is_note]
    secret_notes = sum(c.sensitive for c in notes)
    secret_done = sum(c.sensitive and not c.is_note for c in briefing.changes)
    assert secret_notes >= 1 and secret_done >= 1 and any(not c.sensitive for c in notes)

    # private: every note that is not sensitive is on screen; the sensitive ones are counted
    shown = changes.text()
    for note in notes:
        if note.sensitive:
            assert note.text not in shown
        else:
            assert note.text in shown
    assert secret_text not in shown and done_text not in shown
    assert (
        f"{counted(secret_notes, 'sensitive note')} and "
        f"{counted(secret_done, 'sensitive action')} hidden — Reveal (Ctrl+R) to show"
    ) in shown
    assert not window.is_revealed()

    # revealed: each sensitive note and action says so in words, the others do not
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.is_revealed()
    lines = changes.text().split("\n")
    for change in briefing.changes:
        # (two changes may read alike: one of the lines with its words is this one)
        matching = [line for line in lines if change.text in line]
        assert any(("Sensitive" in line) is change.sensitive for line in matching), matching
    (secret_line,) = [line for line in lines if secret_text in line]
    assert "Sensitive note" in secret_line
    (done_line,) = [line for line in lines if done_text in line]
    assert "Sensitive action done" in done_line
    assert "hidden" not in changes.text()
    actions = child(window, QLabel, "open_actions_label").text().split("\n")
    (open_line,) = [line for line in actions if open_text in line]
    assert "Sensitive" in open_line
    for action in window.open_actions:
        # Two actions may read alike (the same words for two owners): the owner and due
        # date on its line tell them apart, as they do for the team.
        matching = [line for line in actions if shows_action(line, action)]
        alike = [other for other in window.open_actions if same_line(other, action)]
        assert len(matching) == len(alike), matching
        assert any(("Sensitive" in line) is action.sensitive for line in matching), matching


def test_one_sensitive_note_is_counted_in_the_words_of_the_screen(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    first = put_proposals_first(store, meeting.id, count=1)[0]
    with store.write(runner.desk.actor_id, "test set-up") as session:
        plans.add_note(session, first.case_id, "Seen at home (test)")
        plans.add_note(session, first.case_id, "Disclosed abuse (test)", sensitive=True)
    window = open_meeting(qtbot, runner, meeting.id)
    briefing = window.briefing
    assert briefing is not None
    if sum(c.sensitive for c in briefing.changes) != 1:
        pytest.skip("the demo gave this person other sensitive notes or actions")
    shown = child(window, QLabel, "changes_label").text()
    assert "1 sensitive note hidden — Reveal (Ctrl+R) to show" in shown
    assert "Seen at home (test)" in shown and "Disclosed abuse (test)" not in shown


# -- 4. ending a meeting, then the Meetings tab and Ctrl+P ----------------------------------


@pytest.mark.slow
def test_after_end_meeting_the_meetings_tab_and_ctrl_p_show_the_ended_meeting(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    meeting_id = page.current_meeting_id()
    assert meeting_id is not None
    start_from_the_meetings_tab(qtbot, window, page)
    running = shown_meeting_window(qtbot, window, meeting_id)
    wait_idle(window)
    qtbot.wait(1200)  # time on the item: ending sends it (a write of its own) first
    ended: list[object] = []
    window.runner.changes_committed.connect(
        lambda changes, origin: ended.append(origin) if changes.meetings else None
    )
    qtbot.keyClick(running.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(running, QMessageBox, "end_meeting_confirm")
    with qtbot.waitSignal(running.meeting_finished, timeout=WAIT):
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    wait_idle(window)
    assert running in ended  # the end was announced to every screen, from meeting mode

    # the Meetings tab shows the ended meeting, chosen, as finished
    qtbot.waitUntil(lambda: page.detail is not None, timeout=WAIT)
    wait_idle(window)
    assert page.current_meeting_id() == meeting_id
    assert page.detail is not None and page.detail.meeting.id == meeting_id
    assert page.detail.meeting.status is MeetingStatus.FINISHED
    row = next(m for m in page.meeting_model.rows() if m.id == meeting_id)
    assert row.status is MeetingStatus.FINISHED
    assert not page.start_button.isEnabled()

    # Ctrl+P previews that meeting's minutes
    assert running.summary_dialog is not None
    running.summary_dialog.close()
    running.close()
    back_to(qtbot, window, page)
    qtbot.keyClick(page.meeting_table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = window.print_dialog
    assert dialog is not None
    assert dialog.request.meeting_id == meeting_id
    assert dialog.request.kind.value == "minutes"


# -- 5. dates stay whole ---------------------------------------------------------------------


def date_bearing_labels(root: QWidget) -> list[QLabel]:
    pattern = re.compile("\\d{1,2}[-\u2011][A-Z][a-z]{2}[-\u2011]\\d{4}")
    return [
        label
        for label in root.findChildren(QLabel)
        if label.isVisible() and label.wordWrap() and pattern.search(label.text())
    ]


def test_dates_in_meeting_mode_never_split_across_lines(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    first = put_proposals_first(store, meeting.id, count=1)[0]
    with store.write(runner.desk.actor_id, "test set-up") as session:
        plans.add_note(session, first.case_id, "Seen at home (test)")
    window = MeetingModeWindow(runner, meeting.id)
    qtbot.addWidget(window)
    window.resize(*PROJECTOR)
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        window.show()
    settle(qtbot, window)
    window.resize(*PROJECTOR)
    labels = date_bearing_labels(window)
    names = {label.objectName() for label in labels}
    # the meeting's day in the title, the dates of what changed and of the open actions
    assert {"meeting_title_label", "changes_label", "open_actions_label"} <= names
    for label in labels:
        shown = label.text()
        # on screen each date is one unbreakable word: 14‑Jul‑2027 never "14-" / "Jul-2027"
        assert not BREAKABLE_DATE.search(shown), (label.objectName(), shown)
        assert WHOLE_DATE.search(shown)
        # a screen reader is given the plain text
        spoken = label.accessibleName()
        assert "\u2011" not in spoken and BREAKABLE_DATE.search(spoken)
        assert spoken == shown.replace("\u2011", "-")

    # the end-of-meeting summary too: its heading, totals and table (an outcome and an
    # action give the first item a next review date and a due date)
    choose(qtbot, window.outcome_box, "Continue plan")
    make_action(qtbot, window, "District nurse to visit weekly")
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT):
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    settle(qtbot, window)
    dialog = window.summary_dialog
    assert dialog is not None
    for label in date_bearing_labels(dialog):
        assert not BREAKABLE_DATE.search(label.text()), label.text()
        assert "\u2011" not in label.accessibleName()
    table = dialog.table
    model = table.model()
    delegate = table.itemDelegate()
    dated = 0
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            plain = str(index.data() or "")
            if not BREAKABLE_DATE.search(plain):
                continue
            dated += 1
            option = QStyleOptionViewItem()
            delegate.initStyleOption(option, index)  # type: ignore[attr-defined]
            assert not BREAKABLE_DATE.search(option.text), option.text
            assert WHOLE_DATE.search(option.text) and option.text.replace("\u2011", "-") == plain
    assert dated >= 2  # the next review date and the new action's due date


# -- 6. the owner list is as large as its field ---------------------------------------------


def test_the_who_list_uses_the_meeting_mode_font(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    decisions = window.decisions_edit
    decisions.setFocus()
    qtbot.keyClicks(decisions, "Visit weekly")
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = window.action_form
    assert form.isVisible()
    owner_line = form.owner_box.lineEdit()
    assert owner_line is not None
    owner_line.setFocus()
    owner_line.selectAll()
    qtbot.keyClicks(owner_line, form.owner_box.itemText(0)[:3])  # part of a name
    completer = form.owner_box.completer()
    assert completer is not None
    popup = completer.popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    assert owner_line.font().pointSize() >= 16
    assert popup.font().pointSize() == owner_line.font().pointSize()
    assert popup.font().pointSizeF() == owner_line.font().pointSizeF()
