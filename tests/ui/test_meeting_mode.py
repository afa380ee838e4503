"""Meeting mode, driven with the keyboard on the demo store: attendance, live capture,
actions from decisions, deferral and roll-over, ending the meeting, projection privacy,
and save-as-you-type."""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.models import Action
from mdt_desk.models.enums import AgendaOutcome, AttendanceStatus, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, meeting_mode, meetings
from mdt_desk.services.desk import Desk
from mdt_desk.services.meetings import AgendaEntry, MeetingSummary
from mdt_desk.ui.itemmodels.meeting_results_table_model import (
    MeetingResultsTableModel,
    result_rows,
)
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from mdt_desk.ui.meeting_mode.panels import ActionForm, AgendaStrip
from mdt_desk.ui.meeting_mode.summary_dialog import MeetingSummaryDialog
from mdt_desk.ui.meeting_mode.window import clock_text, missing_text
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit
from tests.ui.finders import child

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


def planned_meeting(store: Store) -> MeetingSummary:
    with store.read() as session:
        return next(m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED)


def put_proposals_first(store: Store, meeting_id: uuid.UUID, count: int = 3) -> list[AgendaEntry]:
    """Accept ``count`` proposals and move them to the top of the agenda, in order."""
    with store.write(None, "test set-up") as session:
        proposals = [p for p in agenda_rules.propose(session, meeting_id) if p.carried_count == 0][
            :count
        ]
        assert len(proposals) == count
        added = [
            meetings.add_to_agenda(
                session,
                meeting_id,
                proposal.case_id,
                reason=proposal.reason,
                reason_detail=proposal.reasons_text,
            )
            for proposal in proposals
        ]
        for index, entry in enumerate(added):
            meetings.move_item(session, entry.id, index)
        return meetings.agenda(session, meeting_id)[:count]


def schedule_next(store: Store, meeting: MeetingSummary) -> MeetingSummary:
    with store.write(None, "test set-up") as session:
        later = [
            m
            for m in meetings.list_meetings(session, practice_id=meeting.practice_id)
            if m.status is MeetingStatus.PLANNED
            and m.practice_id == meeting.practice_id
            and m.starts_at > meeting.starts_at
        ]
        if later:
            return later[0]
        assert meeting.chair_id is not None
        return meetings.schedule_meeting(
            session,
            practice_id=meeting.practice_id,
            day=meeting.day + dt.timedelta(weeks=2),
            start_time=dt.time(12, 30),
            duration_minutes=90,
            chair_id=meeting.chair_id,
            location="Practice meeting room",
        )[0]


def open_meeting(qtbot, runner: TaskRunner, meeting_id: uuid.UUID) -> MeetingModeWindow:
    window = MeetingModeWindow(runner, meeting_id)
    qtbot.addWidget(window)
    window.resize(1600, 900)
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        window.show()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    return window


def settle(qtbot, window: MeetingModeWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)


def next_item(qtbot, window: MeetingModeWindow, focus: QWidget) -> None:
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        qtbot.keyClick(focus, Qt.Key.Key_PageDown)
    settle(qtbot, window)


def choose(qtbot, box: QComboBox, text: str) -> None:
    """Pick an entry of a combo box with the arrow keys, as a keyboard user would."""
    box.setFocus()
    target = box.findText(text)
    assert target >= 0, f"{text!r} is not offered"
    while box.currentIndex() != target:
        key = Qt.Key.Key_Down if box.currentIndex() < target else Qt.Key.Key_Up
        qtbot.keyClick(box, key)


def make_action(qtbot, window: MeetingModeWindow, line: str) -> None:
    """Type a decision line, Ctrl+Enter, take the suggested owner, +14 days, Enter."""
    decisions = child(window, QPlainTextEdit, "decisions_edit")
    decisions.setFocus()
    qtbot.keyClicks(decisions, line)
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = child(window, ActionForm, "action_form")
    assert form.isVisible()
    description = child(form, QLineEdit, "action_description_edit")
    assert description.text() == line
    owner = child(form, QComboBox, "action_owner_box")
    assert owner.count() > 0 and owner.currentData() is not None
    due = child(form, CuiDateEdit, "action_due_edit")
    assert due.date_value() == dt.date.today() + dt.timedelta(days=14)
    with qtbot.waitSignal(window.actions_changed, timeout=WAIT) as changed:
        qtbot.keyClick(owner, Qt.Key.Key_Return)
    assert changed.args == [window.current_entry().case_id]  # type: ignore[union-attr]
    assert not form.isVisible()
    assert line in child(window, QLabel, "open_actions_label").text()
    assert "agreed today" in child(window, QLabel, "open_actions_label").text()


def visible_texts(window: QWidget) -> list[str]:
    texts = [label.text() for label in window.findChildren(QLabel) if label.isVisible()]
    texts += [
        button.text() for button in window.findChildren(QAbstractButton) if button.isVisible()
    ]
    texts += child(window, AgendaStrip, "agenda_strip").texts()
    return texts


def assert_private(window: MeetingModeWindow) -> None:
    current = window.current_entry()
    assert current is not None
    shown = "\n".join(visible_texts(window))
    for entry in window.agenda:
        if entry.id == current.id:
            continue
        family_given = entry.patient_name.split(" (")[0]  # "SMITH, Jane"
        assert entry.patient_name not in shown
        assert family_given not in shown
    strip = child(window, AgendaStrip, "agenda_strip")
    for entry, text in zip(window.agenda, strip.texts(), strict=True):
        assert entry.initials in text


def test_a_meeting_run_from_the_keyboard(qtbot, qtmodeltester, store, runner) -> None:
    meeting = planned_meeting(store)
    first, second, third = put_proposals_first(store, meeting.id)
    following = schedule_next(store, meeting)
    window = open_meeting(qtbot, runner, meeting.id)
    assert window.current_index() == 0
    assert window.current_entry() == first or window.current_entry().id == first.id  # type: ignore[union-attr]
    total = len(window.agenda)
    assert child(window, QLabel, "progress_label").text() == f"Item 1 of {total}"
    assert window.banner.name_label.text() == first.patient_name
    assert_private(window)

    # attendance: F6 opens the panel with the focus on the first member
    warning = child(window, QLabel, "attendance_warning_label")
    assert warning.isVisible() and "decisions can still be recorded" in warning.text()
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_F6)
    assert window.attendance_panel.isVisible()
    members = {m.profession.value: m for m in window.members}
    rows = {m.staff_id: n for n, m in enumerate(window.members)}
    gp, nurse = members["gp"], members["district_nurse"]
    social = members["social_worker"]
    choose(qtbot, child(window, QComboBox, f"attendance_status_{rows[gp.staff_id]}"), "Present")
    settle(qtbot, window)
    choose(
        qtbot, child(window, QComboBox, f"attendance_status_{rows[nurse.staff_id]}"), "Apologies"
    )
    settle(qtbot, window)
    choose(qtbot, child(window, QComboBox, f"attendance_status_{rows[social.staff_id]}"), "Deputy")
    deputy = child(window, QLineEdit, f"attendance_deputy_{rows[social.staff_id]}")
    assert deputy.isVisible() and deputy.hasFocus()
    qtbot.keyClicks(deputy, "Sam Deputy")
    qtbot.keyClick(deputy, Qt.Key.Key_Return)
    settle(qtbot, window)
    assert "nurse" in warning.text() and "social worker" not in warning.text()
    qtbot.keyClick(deputy, Qt.Key.Key_F6)
    assert not window.attendance_panel.isVisible()

    # item 1: summary, outcome, a decision made into an action
    summary = child(window, QPlainTextEdit, "summary_edit")
    summary.setFocus()
    qtbot.keyClicks(summary, "Falls at night; son worried. Team agrees a medication review.")
    choose(qtbot, child(window, QComboBox, "outcome_box"), "Change plan")
    make_action(qtbot, window, "Pharmacist medication review")
    next_item(qtbot, window, window.decisions_edit)
    assert window.current_index() == 1
    assert child(window, QLabel, "progress_label").text() == f"Item 2 of {total}"
    assert "Done" in child(window, AgendaStrip, "agenda_strip").texts()[0]
    assert_private(window)

    # item 2: deferred
    choose(qtbot, child(window, QComboBox, "outcome_box"), "Defer")
    settle(qtbot, window)
    next_item(qtbot, window, child(window, QComboBox, "outcome_box"))
    assert "Deferred" in child(window, AgendaStrip, "agenda_strip").texts()[1]

    # item 3: another action; then back and forth with Page Up keeps what was typed
    make_action(qtbot, window, "District nurse to visit weekly")
    choose(qtbot, child(window, QComboBox, "outcome_box"), "Continue plan")
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        qtbot.keyClick(window.decisions_edit, Qt.Key.Key_PageUp)
    settle(qtbot, window)
    assert window.current_index() == 1
    next_item(qtbot, window, window.summary_edit)
    assert window.decisions_edit.toPlainText() == "District nurse to visit weekly"

    # end the meeting: Ctrl+E, confirm with Enter, a summary dialog
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT) as finished:
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    assert finished.args == [meeting.id]
    settle(qtbot, window)
    dialog = child(window, MeetingSummaryDialog, "meeting_summary_dialog")
    assert dialog.isVisible()
    qtmodeltester.check(dialog.model)
    assert dialog.model.rowCount() == total
    assert "carried over" in child(dialog, QLabel, "summary_totals_label").text()
    assert window.is_read_only()
    assert window.summary_edit.isReadOnly() and not window.outcome_box.isEnabled()
    dialog.close()
    assert_private(window)

    # the store
    with Store.open(store.path) as reader, reader.read() as session:
        detail = meetings.get_meeting(session, meeting.id)
        assert detail.meeting.status is MeetingStatus.FINISHED
        by_id = {entry.id: entry for entry in detail.agenda}
        assert by_id[first.id].summary.startswith("Falls at night; son worried.")
        assert by_id[first.id].outcome is AgendaOutcome.CHANGE_PLAN
        assert by_id[first.id].seconds_taken >= 0
        assert by_id[second.id].outcome is AgendaOutcome.DEFER
        assert by_id[third.id].decisions == "District nurse to visit weekly"
        status = {m.staff_id: (m.status, m.deputy_name) for m in detail.members}
        assert status[gp.staff_id] == (AttendanceStatus.PRESENT, "")
        assert status[nurse.staff_id] == (AttendanceStatus.APOLOGIES, "")
        assert status[social.staff_id] == (AttendanceStatus.DEPUTY, "Sam Deputy")
        actions = session.scalars(select(Action).where(Action.meeting_id == meeting.id)).all()
        assert {(a.case_id, a.description) for a in actions} == {
            (first.case_id, "Pharmacist medication review"),
            (third.case_id, "District nurse to visit weekly"),
        }
        assert all(a.due_on == dt.date.today() + dt.timedelta(days=14) for a in actions)
        carried = {e.case_id: e for e in meetings.agenda(session, following.id)}
        assert carried[second.case_id].carried_count == 1
        assert first.case_id not in carried and third.case_id not in carried


def test_typing_a_summary_saves_within_a_second_and_a_half(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    entry = window.current_entry()
    assert entry is not None
    summary = child(window, QPlainTextEdit, "summary_edit")
    summary.setFocus()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)  # the briefing is in
    reader = Store.open(store.path)  # another connection, as after a crash
    qtbot.keyClicks(summary, "Typed and nothing else")

    def saved() -> bool:
        with reader.read() as session:
            items = {e.id: e for e in meetings.agenda(session, meeting.id)}
        return items[entry.id].summary == "Typed and nothing else"

    # 400 ms of quiet, then one small transaction; 1.5 s leaves room for a busy machine.
    qtbot.waitUntil(saved, timeout=1500)
    reader.close()
    assert child(window, QLabel, "saved_label").text().startswith("Saved ")


def test_continuous_typing_still_saves_every_second(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    summary = child(window, QPlainTextEdit, "summary_edit")
    summary.setFocus()
    saves: list[str] = []
    window.capture_saved.connect(lambda entry: saves.append(entry.summary))
    for _ in range(12):  # a keystroke every 200 ms for 2.4 s: the debounce never runs out
        qtbot.keyClicks(summary, "a")
        qtbot.wait(200)
    assert len(saves) >= 2


def test_sensitive_alerts_and_notes_wait_for_reveal(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    # find an item with a sensitive alert or a note (the demo has several)
    for _ in range(len(window.agenda)):
        briefing = window.briefing
        assert briefing is not None
        sensitive = [a for a in briefing.record.banner.alerts if a.sensitive]
        notes = [c for c in briefing.changes if c.is_note]
        if sensitive or notes:
            break
        if window.current_index() == len(window.agenda) - 1:
            pytest.skip("no sensitive detail on this agenda")
        next_item(qtbot, window, window.summary_edit)
    window.banner.set_details_shown(True)
    shown = "\n".join(visible_texts(window))
    for alert in sensitive:
        assert not alert.detail or f"{alert.kind_text}: {alert.detail}" not in shown
    for note in notes:
        assert note.text not in shown
    assert "Reveal" in shown and not window.is_revealed()
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.is_revealed()
    shown = "\n".join(visible_texts(window))
    for alert in sensitive:
        assert alert.kind_text in shown
    for note in notes:
        assert note.text in shown
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.is_revealed()


def test_timer_overrun_is_said_in_words() -> None:
    assert clock_text(130) == "2:10"
    assert clock_text(3729) == "1:02:09"
    assert missing_text(["a social worker"]) == (
        "Warning: no social worker present — decisions can still be recorded."
    )


def test_esc_leaves_full_screen_not_the_meeting(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    window.present(window.screen())
    qtbot.waitUntil(window.isFullScreen, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isFullScreen()
    assert window.isVisible()


def test_every_control_has_an_accessible_name(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_F6)
    kinds: tuple[type[QWidget], ...] = (QPushButton, QComboBox, QLineEdit, QPlainTextEdit)
    for kind in kinds:
        for widget in window.findChildren(kind):
            if widget.isVisibleTo(window) and widget.objectName() != "qt_spinbox_lineedit":
                assert widget.accessibleName(), f"{kind.__name__} {widget.objectName()!r}"


def test_a_finished_meeting_opens_read_only(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    with store.write(None, "test set-up") as session:
        meeting_mode.start_meeting(session, meeting.id)
        meeting_mode.finish_meeting(session, meeting.id)
    window = open_meeting(qtbot, runner, meeting.id)
    assert window.is_read_only()
    assert window.summary_edit.isReadOnly()
    assert not window.end_button.isEnabled()


def test_results_model_passes_the_model_tester(qtmodeltester, store) -> None:
    meeting = planned_meeting(store)
    with store.write(None, "test set-up") as session:
        meeting_mode.start_meeting(session, meeting.id)
        end = meeting_mode.finish_meeting(session, meeting.id)
        times = meeting_mode.time_statistics(session, meeting.id)
    model = MeetingResultsTableModel()
    model.set_rows(result_rows(end.items, times, full_names=False))
    qtmodeltester.check(model)
    assert model.rowCount() == len(end.items) > 0
    assert model.index(0, 0).data() == end.items[0].entry.initials
