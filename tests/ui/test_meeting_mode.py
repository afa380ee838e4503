"""Meeting mode, driven with the keyboard on the demo store: attendance, live capture,
actions from decisions, deferral and roll-over, ending the meeting, projection privacy,
and save-as-you-type."""

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
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
from mdt_desk.services import agenda_rules, meeting_mode, meetings, plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import counted
from mdt_desk.services.meetings import AgendaEntry, MeetingSummary
from mdt_desk.ui.itemmodels.meeting_results_table_model import (
    MeetingResultsTableModel,
    duration_text,
    result_rows,
)
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from mdt_desk.ui.meeting_mode.panels import ActionForm, AgendaStrip
from mdt_desk.ui.meeting_mode.summary_dialog import MeetingSummaryDialog
from mdt_desk.ui.meeting_mode.window import BASE_POINT_SIZE, clock_text, missing_text
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit
from tests.ui.finders import child, focused
from tests.ui.signed_in import acting

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
    with store.read(acting(store)) as session:
        return next(m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED)


def chaired_meeting(store: Store) -> MeetingSummary:
    """A planned meeting chaired by the person at the desk: the chair of the meeting may
    read the person's restricted items, after revealing them (need-to-know)."""
    me = acting(store)
    with store.read(me) as session:
        return next(
            m
            for m in meetings.list_meetings(session)
            if m.status is MeetingStatus.PLANNED and m.chair_id == me
        )


def put_proposals_first(store: Store, meeting_id: uuid.UUID, count: int = 3) -> list[AgendaEntry]:
    """Accept ``count`` proposals and move them to the top of the agenda, in order."""
    with store.write(acting(store), "test set-up") as session:
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
    with store.write(acting(store), "test set-up") as session:
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
    """Type a decision line, Ctrl+Enter, Tab past what and who, +14 days, Enter."""
    decisions = child(window, QPlainTextEdit, "decisions_edit")
    decisions.setFocus()
    qtbot.keyClicks(decisions, line)
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = child(window, ActionForm, "action_form")
    assert form.isVisible()
    description = child(form, QLineEdit, "action_description_edit")
    assert description.text() == line
    # the keyboard starts on "What", at the end of the line, ready to finish it
    assert focused(QLineEdit) is description
    assert description.cursorPosition() == len(line)
    owner = child(form, QComboBox, "action_owner_box")
    assert owner.count() > 0 and owner.currentData() is not None
    due = child(form, CuiDateEdit, "action_due_edit")
    assert due.date_value() == dt.date.today() + dt.timedelta(days=14)
    qtbot.keyClick(description, Qt.Key.Key_Tab)
    assert owner.isAncestorOf(focused(QWidget)) or focused(QWidget) is owner  # Who
    qtbot.keyClick(focused(QWidget), Qt.Key.Key_Tab)
    assert due.isAncestorOf(focused(QWidget))  # Due by (its text part)
    qtbot.keyClick(focused(QWidget), Qt.Key.Key_Tab)  # one Tab leaves the date
    sensitive = child(form, QCheckBox, "action_sensitive_check")
    assert focused(QCheckBox) is sensitive and not sensitive.isChecked()  # Sensitive: no
    qtbot.keyClick(sensitive, Qt.Key.Key_Tab)
    assert focused(QPushButton) is child(form, QPushButton, "action_save_button")
    with qtbot.waitSignal(window.actions_changed, timeout=WAIT) as changed:
        qtbot.keyClick(focused(QPushButton), Qt.Key.Key_Return)
    assert changed.args == [window.current_entry().case_id]  # type: ignore[union-attr]
    assert not form.isVisible()
    assert focused(QPlainTextEdit) is decisions  # back where the line was typed
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


@pytest.mark.slow
def test_a_meeting_run_from_the_keyboard(qtbot, qtmodeltester, store, runner) -> None:
    meeting = planned_meeting(store)
    first, second, third = put_proposals_first(store, meeting.id)
    following = schedule_next(store, meeting)
    before_open = time.monotonic()
    window = open_meeting(qtbot, runner, meeting.id)
    on_first_item = time.monotonic()  # item 1's clock started before this
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
    # the team spends at least a second on the item, so its time is more than nothing
    qtbot.waitUntil(lambda: time.monotonic() - on_first_item >= 1.2, timeout=WAIT)
    leaving_first = time.monotonic()  # item 1's clock stops after this
    next_item(qtbot, window, window.decisions_edit)
    left_first = time.monotonic()
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
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        detail = meetings.get_meeting(session, meeting.id)
        assert detail.meeting.status is MeetingStatus.FINISHED
        by_id = {entry.id: entry for entry in detail.agenda}
        assert by_id[first.id].summary.startswith("Falls at night; son worried.")
        assert by_id[first.id].outcome is AgendaOutcome.CHANGE_PLAN
        # the time on item 1 reached the store: at least the whole seconds the test saw
        # it in front, at most the time from opening the meeting to leaving the item
        assert (
            math.floor(leaving_first - on_first_item)
            <= by_id[first.id].seconds_taken
            <= math.ceil(left_first - before_open)
        )
        assert by_id[first.id].seconds_taken >= 1
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
        with reader.read(acting(reader)) as session:
            items = {e.id: e for e in meetings.agenda(session, meeting.id)}
        return items[entry.id].summary == "Typed and nothing else"

    # 400 ms of quiet, then one small transaction; 1.5 s leaves room for a busy machine.
    qtbot.waitUntil(saved, timeout=1500)
    reader.close()
    # The worker commits, then tells the window: another connection can see the summary
    # a moment before the label has been told. It must then say so.
    label = child(window, QLabel, "saved_label")
    qtbot.waitUntil(lambda: label.text().startswith("Saved "), timeout=1000)
    assert label.text().startswith("Saved ")


@pytest.mark.slow
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
    first = put_proposals_first(store, meeting.id, count=1)[0]
    with store.write(runner.desk.actor_id, "test set-up") as session:
        plans.add_note(session, first.case_id, "Threats at the last visit (test)", sensitive=True)
    window = open_meeting(qtbot, runner, meeting.id)
    # find an item with a sensitive alert or a sensitive note (the first has one)
    for _ in range(len(window.agenda)):
        briefing = window.briefing
        assert briefing is not None
        sensitive = [a for a in briefing.record.banner.alerts if a.sensitive]
        notes = [c for c in briefing.changes if c.is_note and c.sensitive]
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
    with store.write(acting(store), "test set-up") as session:
        meeting_mode.start_meeting(session, meeting.id)
        meeting_mode.finish_meeting(session, meeting.id)
    window = open_meeting(qtbot, runner, meeting.id)
    assert window.is_read_only()
    assert window.summary_edit.isReadOnly()
    assert not window.end_button.isEnabled()


def test_results_model_passes_the_model_tester(qtmodeltester, store) -> None:
    meeting = planned_meeting(store)
    with store.write(acting(store), "test set-up") as session:
        meeting_mode.start_meeting(session, meeting.id)
        end = meeting_mode.finish_meeting(session, meeting.id)
        times = meeting_mode.time_statistics(session, meeting.id)
    model = MeetingResultsTableModel()
    model.set_rows(result_rows(end.items, times, full_names=False))
    qtmodeltester.check(model)
    assert model.rowCount() == len(end.items) > 0
    assert model.index(0, 0).data() == end.items[0].entry.initials


def mnemonics(widgets: list[QWidget]) -> list[str]:
    """The ``&x`` letters of the labels with a buddy and the buttons among ``widgets``."""
    letters = []
    for widget in widgets:
        if isinstance(widget, QLabel) and widget.buddy() is None:
            continue
        text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
        found = re.search(r"&([^&])", text.replace("&&", ""))
        if found:
            letters.append(found.group(1).lower())
    return letters


def test_the_keyboard_comes_back_to_the_summary(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    put_proposals_first(store, meeting.id)
    window = open_meeting(qtbot, runner, meeting.id)
    window.activateWindow()
    summary = child(window, QPlainTextEdit, "summary_edit")
    outcome = child(window, QComboBox, "outcome_box")
    decisions = child(window, QPlainTextEdit, "decisions_edit")
    # every caption has its own Alt+letter, and it goes to its field
    shown = [w for w in window.findChildren(QWidget) if w.isVisibleTo(window)]
    letters = mnemonics(shown)
    assert len(letters) == len(set(letters)), letters
    for letter, field in (
        (Qt.Key.Key_O, outcome),
        (Qt.Key.Key_E, decisions),
        (Qt.Key.Key_D, summary),
    ):
        qtbot.keyClick(focused(QWidget), letter, Qt.KeyboardModifier.AltModifier)
        assert focused(QWidget) is field
    # Page Down from the decisions: the next item's summary has the keyboard
    next_item(qtbot, window, decisions)
    assert focused(QPlainTextEdit) is summary
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        qtbot.keyClick(outcome, Qt.Key.Key_PageUp)
    assert focused(QPlainTextEdit) is summary
    # the attendance panel, closed with F6, hands it back
    qtbot.keyClick(summary, Qt.Key.Key_F6)
    assert focused(QWidget) is not summary
    qtbot.keyClick(focused(QWidget), Qt.Key.Key_F6)
    assert focused(QPlainTextEdit) is summary
    # F1 lists the keys, Ctrl+W among them
    assert "Ctrl+W" in window.shortcuts_text()
    # Ctrl+W closes the window, saving what was typed first
    entry = window.current_entry()
    assert entry is not None
    qtbot.keyClicks(summary, "Typed just before closing")
    qtbot.keyClick(summary, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    settle(qtbot, window)
    with Store.open(store.path) as reader, reader.read(acting(reader)) as session:
        saved = {e.id: e for e in meetings.agenda(session, meeting.id)}[entry.id]
    assert saved.summary.endswith("Typed just before closing")


def test_banner_details_stay_shut_until_revealed(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    details = child(window.banner, QAbstractButton, "banner_details_button")
    assert not details.isEnabled()
    assert details.accessibleDescription() == "Hidden while presenting; reveal with Ctrl+R"
    window.banner.set_details_shown(True)
    qtbot.mouseClick(details, Qt.MouseButton.LeftButton)
    assert not window.banner.details_shown()
    # revealed: the details open, and closing them puts the keyboard back in the summary
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert details.isEnabled() and not details.accessibleDescription()
    details.setFocus()
    qtbot.keyClick(details, Qt.Key.Key_Space)
    assert window.banner.details_shown()
    qtbot.keyClick(details, Qt.Key.Key_Space)
    assert not window.banner.details_shown()
    assert focused(QPlainTextEdit) is window.summary_edit
    # hidden again: the details shut with it
    window.banner.set_details_shown(True)
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.banner.details_shown() and not details.isEnabled()


def test_the_action_owner_is_found_by_any_part_of_the_name(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    window = open_meeting(qtbot, runner, meeting.id)
    briefing = window.briefing
    assert briefing is not None and len(briefing.owners) > 1
    # QTest types ASCII only
    wanted = next(o for o in reversed(briefing.owners) if o.name.split()[-1].isascii())
    family = wanted.name.split()[-1]
    decisions = window.decisions_edit
    decisions.setFocus()
    qtbot.keyClicks(decisions, "Visit at home")
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = child(window, ActionForm, "action_form")
    owner = child(form, QComboBox, "action_owner_box")
    assert owner.isEditable()
    completer = owner.completer()
    assert completer is not None and completer.filterMode() == Qt.MatchFlag.MatchContains
    line = owner.lineEdit()
    assert line is not None
    line.clear()
    qtbot.keyClicks(line, family[1:].lower())  # part of the family name, not its start
    popup = completer.popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    offered = [
        completer.completionModel().index(n, 0).data() for n in range(popup.model().rowCount())
    ]
    assert any(wanted.name in text for text in offered)
    row = next(n for n, text in enumerate(offered) if wanted.name in text)
    popup.setCurrentIndex(completer.completionModel().index(row, 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert owner.currentData() == wanted.id
    # half-typed: said next to the form, nothing saved
    line.setText(family[:2])
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert "Choose who will do it from the list" in form.error_label.text()
    assert form.isVisible()


def test_the_end_of_the_meeting_reads_well_on_the_shared_screen(qtbot, store, runner) -> None:
    meeting = planned_meeting(store)
    put_proposals_first(store, meeting.id, count=1)
    window = open_meeting(qtbot, runner, meeting.id)
    assert "Last discussed Never" not in window.reason_label.text()
    qtbot.keyClick(window.summary_edit, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    confirm = child(window, QMessageBox, "end_meeting_confirm")
    assert confirm.font().pointSize() >= BASE_POINT_SIZE
    assert "(s)" not in confirm.text()
    with qtbot.waitSignal(window.meeting_finished, timeout=WAIT):
        qtbot.keyClick(confirm, Qt.Key.Key_Return)
    settle(qtbot, window)
    dialog = child(window, MeetingSummaryDialog, "meeting_summary_dialog")
    assert dialog.font().pointSize() >= BASE_POINT_SIZE
    totals = child(dialog, QLabel, "summary_totals_label").text()
    assert "(s)" not in totals and "new action" in totals
    clock = child(window, QLabel, "meeting_clock_label").text()
    assert clock.startswith("Meeting ") and clock.endswith("ended")
    dialog.close()


def test_durations_and_counts_are_said_in_words() -> None:
    assert duration_text(108) == "1 min 48 s"
    assert duration_text(120) == "2 min"
    assert duration_text(45) == "45 s"
    assert duration_text(3900) == "1 h 5 min"
    assert counted(1, "note") == "1 note" and counted(3, "note") == "3 notes"
    assert counted(0, "new action") == "0 new actions"
