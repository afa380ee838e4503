"""Sensitive actions and notes on screen (issue 9, B1): set with the keyboard when adding,
changed later, marked in words with a padlock; hidden in meeting mode until Ctrl+R; and
the print preview says what the person's copy leaves out, on screen only."""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.models import Action, Note
from mdt_desk.models.enums import AgendaReason
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings, plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import counted
from mdt_desk.services.persons_copy import LeftOff
from mdt_desk.ui.case_record.action_plan import ActionPlanWidget
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.action_plan_table_model import ActionColumn, ActionRole
from mdt_desk.ui.itemmodels.meeting_results_table_model import result_rows
from mdt_desk.ui.itemmodels.notes_table_model import NOTE_COLUMN
from mdt_desk.ui.print_preview import PrintPreviewDialog
from mdt_desk.ui.runner import TaskRunner
from tests import store_sql
from tests.documents.helpers import flat, pages_text
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child, focused
from tests.ui.signed_in import acting
from tests.ui.test_meeting_mode import (
    chaired_meeting,
    open_meeting,
    planned_meeting,
    put_proposals_first,
)

WAIT = 10_000


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def case_id(store: Store, team, practice_ids) -> uuid.UUID:
    return active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])


def settle(qtbot, runner: TaskRunner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def stored_sensitive(store: Store, model: type[Action] | type[Note], row_id: uuid.UUID) -> bool:
    with store.read(acting(store)) as session:
        flag = session.scalar(select(model.sensitive).where(model.id == row_id))
    assert flag is not None
    return flag


def test_an_action_is_added_sensitive_with_the_keyboard_marked_and_unmarked(
    qtbot, qtmodeltester, store, runner, case_id
) -> None:
    stack = QUndoStack()
    plan = ActionPlanWidget(runner, case_id, stack)
    qtbot.addWidget(plan)
    plan.resize(1200, 600)
    plan.show()
    qtbot.waitExposed(plan)
    plan.activateWindow()
    qtbot.waitUntil(lambda: plan.view is not None, timeout=WAIT)
    settle(qtbot, runner)
    description = child(plan, QLineEdit, "new_action_description")
    sensitive = child(plan, QCheckBox, "new_action_sensitive")
    assert sensitive.accessibleName() == "New action: sensitive"
    description.setFocus()
    qtbot.keyClicks(description, "Safeguarding: speak to her alone")
    qtbot.keyClick(description, Qt.Key.Key_Tab)  # owner
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)  # the coordinator
    for _ in range(10):  # owner -> due -> goal -> Sensitive
        if QApplication.focusWidget() is sensitive:
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert focused(QCheckBox) is sensitive
    qtbot.keyClick(sensitive, Qt.Key.Key_Space)
    assert sensitive.isChecked()
    qtbot.keyClick(sensitive, Qt.Key.Key_Tab)
    with qtbot.waitSignal(plan.plan_changed, timeout=WAIT):
        qtbot.keyClick(focused(QPushButton), Qt.Key.Key_Space)  # Add action
    settle(qtbot, runner)
    assert not sensitive.isChecked()  # ready for the next one
    (row,) = plan.model.rows()
    assert row.sensitive and stored_sensitive(store, Action, row.id)
    # marked in words, with a padlock, never colour alone
    index = plan.model.index(0, ActionColumn.DESCRIPTION)
    assert index.data() == "Sensitive — Safeguarding: speak to her alone"
    assert index.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Sensitive")
    icon = index.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert index.data(ActionRole.SENSITIVE) is True
    assert index.data(Qt.ItemDataRole.EditRole) == "Safeguarding: speak to her alone"
    qtmodeltester.check(plan.model)

    # Unmark it from the keyboard-reachable button; undo marks it again.
    toggle = child(plan, QPushButton, "mark_action_sensitive_button")
    plan.table.selectRow(0)
    assert toggle.isEnabled() and toggle.text() == "Mark not sensitive"
    assert toggle.accessibleName() == "Mark the selected action not sensitive"
    assert toggle.focusPolicy() & Qt.FocusPolicy.TabFocus
    with qtbot.waitSignal(plan.plan_changed, timeout=WAIT):
        qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert not stored_sensitive(store, Action, row.id)
    assert plan.model.index(0, ActionColumn.DESCRIPTION).data() == (
        "Safeguarding: speak to her alone"
    )
    assert (
        plan.model.index(0, ActionColumn.DESCRIPTION).data(Qt.ItemDataRole.DecorationRole) is None
    )
    assert toggle.text() == "Mark sensitive"
    assert stack.undoText() == "mark 'Safeguarding: speak to her al…' not sensitive"
    stack.undo()
    settle(qtbot, runner)
    assert stored_sensitive(store, Action, row.id)
    # the same change is in the table's context menu (the menu key reaches it)
    assert plan.table.contextMenuPolicy() is Qt.ContextMenuPolicy.ActionsContextMenu
    assert plan.sensitive_menu_action in plan.table.actions()


def test_a_note_is_written_sensitive_and_unmarked_in_the_record(
    qtbot, store, runner, team, practice_ids
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    record = CaseRecordWidget(runner, patient_id, case_id)
    qtbot.addWidget(record)
    record.resize(1100, 750)
    record.show()
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    settle(qtbot, runner)
    record.show_tab("notes")
    tab = record.notes_tab
    editor = tab.note_editor
    editor.setFocus()
    qtbot.keyClicks(editor, "Frightened of her nephew")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    box = focused(QCheckBox)
    assert box is tab.note_sensitive and box.accessibleName() == "New note: sensitive"
    qtbot.keyClick(box, Qt.Key.Key_Space)
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert focused(QPushButton) is tab.add_button
    with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
        qtbot.keyClick(tab.add_button, Qt.Key.Key_Space)
    settle(qtbot, runner)
    table = child(record, QTableView, "notes_table")
    index = table.model().index(0, NOTE_COLUMN)
    assert index.data() == "Sensitive — Frightened of her nephew"
    icon = index.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    note_id = tab.model.row_at(0).id  # type: ignore[union-attr]
    assert stored_sensitive(store, Note, note_id)
    table.selectRow(0)
    toggle = child(record, QPushButton, "mark_note_sensitive_button")
    assert toggle.text() == "Mark not sensitive" and toggle.isEnabled()
    with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
        qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert not stored_sensitive(store, Note, note_id)
    assert table.model().index(0, NOTE_COLUMN).data() == "Frightened of her nephew"
    assert table.model().index(0, NOTE_COLUMN).data(Qt.ItemDataRole.DecorationRole) is None


# -- meeting mode, on the demo store -------------------------------------------------------


@pytest.fixture
def demo(demo_store_path: Path) -> Iterator[Store]:
    with Store.open(demo_store_path) as opened:
        yield opened


@pytest.fixture
def demo_runner(demo: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(demo))
    yield task_runner
    task_runner.shutdown()


def test_sensitive_actions_are_hidden_while_presenting_until_revealed(
    qtbot, demo, demo_runner
) -> None:
    meeting = chaired_meeting(demo)
    first = put_proposals_first(demo, meeting.id, count=1)[0]
    hidden_text = "Safeguarding: agree the protection plan (test)"
    with demo.write(acting(demo), "test set-up") as session:
        owner = plans.action_owner_choices(session, first.case_id)[0].id
        plans.add_action(
            session,
            first.case_id,
            description=hidden_text,
            owner_id=owner,
            due_on=dt.date.today() + dt.timedelta(days=5),
            sensitive=True,
        )
    window = open_meeting(qtbot, demo_runner, meeting.id)
    assert window.current_entry().id == first.id  # type: ignore[union-attr]
    actions = child(window, QLabel, "open_actions_label")
    assert hidden_text not in actions.text()
    hidden = sum(action.sensitive for action in window.open_actions)
    assert hidden >= 1  # the one added here, and any the demo gave the person
    assert f"{counted(hidden, 'sensitive action')} hidden — Reveal (Ctrl+R) to show" in (
        actions.text()
    )
    assert "sensitive alerts, actions and notes hidden" in window.privacy_label.text()

    # A new action captured as sensitive, from the keyboard, is hidden at once.
    captured = "Risk to staff: visits in pairs (test)"
    decisions = window.decisions_edit
    decisions.setFocus()
    qtbot.keyClicks(decisions, captured)
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = window.action_form
    box = form.sensitive_check
    assert not box.isChecked() and box.accessibleName() == "Sensitive action"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(box.isChecked, timeout=WAIT)  # Alt+S from anywhere in the form
    assert focused(QCheckBox) is box
    # and in the tab order between the due date and Save
    qtbot.keyClick(box, Qt.Key.Key_Backtab)
    assert form.due_edit.isAncestorOf(focused(QWidget))
    qtbot.keyClick(focused(QWidget), Qt.Key.Key_Tab)
    assert focused(QCheckBox) is box and box.isChecked()
    with qtbot.waitSignal(window.actions_changed, timeout=WAIT):
        qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter saves from the box too
    settle(qtbot, demo_runner)
    with demo.read(acting(demo)) as session:
        stored = session.scalar(select(Action).where(Action.description == captured))
        assert stored is not None and stored.sensitive
    assert captured not in actions.text() and hidden_text not in actions.text()
    assert f"{hidden + 1} sensitive actions hidden" in actions.text()

    qtbot.keyClick(decisions, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.is_revealed()
    assert f"Sensitive: {hidden_text}" in actions.text()
    assert f"Sensitive: {captured}" in actions.text()
    assert "hidden" not in actions.text()
    qtbot.keyClick(decisions, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.is_revealed()
    assert hidden_text not in actions.text() and captured not in actions.text()


# -- the print preview ---------------------------------------------------------------------


def person_with_sensitive_items(path: Path) -> tuple[uuid.UUID, int, int]:
    """A demo person whose open case has sensitive actions or notes: (id, actions, notes)."""
    with store_sql.connect(path) as db:
        patient, case = db.execute(
            "SELECT c.patient_id, c.id FROM action a JOIN care_case c ON c.id = a.case_id"
            " WHERE a.sensitive AND a.status = 'open' AND c.status != 'closed'"
            " ORDER BY c.patient_id LIMIT 1"
        ).fetchone()
        actions = db.execute(
            "SELECT count(*) FROM action WHERE case_id = ? AND sensitive AND status = 'open'",
            (case,),
        ).fetchone()[0]
        notes = db.execute(
            "SELECT count(*) FROM note WHERE case_id = ? AND sensitive", (case,)
        ).fetchone()[0]
    return uuid.UUID(patient), actions, notes


def test_the_print_preview_says_what_the_persons_copy_leaves_out_and_why(
    qtbot, demo, demo_runner, demo_store_path: Path
) -> None:
    patient_id, actions, notes = person_with_sensitive_items(demo_store_path)
    dialog = PrintPreviewDialog(
        demo_runner, DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id)
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.preview_shown, timeout=WAIT):
        dialog.show()
    assert dialog.shown is not None
    left_off = dialog.shown.left_off
    assert left_off.actions == actions >= 1 and left_off.notes == notes
    message = child(dialog, QLabel, "print_preview_left_off")
    assert message.isVisible()
    words = message.text()
    assert "not on the person's copy" in words and "never printed for the person" in words
    assert ("1 sensitive action" if actions == 1 else f"{actions} sensitive actions") in words
    if notes:
        assert ("1 sensitive note" if notes == 1 else f"{notes} sensitive notes") in words
    assert message.accessibleName() == words  # read out by a screen reader
    # on screen, not on the paper
    printed = flat(" ".join(pages_text(dialog.shown.content)))
    assert "sensitive" not in printed.lower() and "person's copy" not in printed
    # large print says the same
    with qtbot.waitSignal(dialog.preview_shown, timeout=WAIT):
        dialog.large_print.setChecked(True)
    assert message.isVisible() and message.text() == words


def test_the_message_is_worded_for_each_count(qtbot, runner) -> None:
    # the wording needs no document: a request for nobody shows only its error
    real = PrintPreviewDialog(runner, DocumentRequest(DocumentKind.CARE_PLAN))
    qtbot.addWidget(real)
    settle(qtbot, runner)
    assert real.left_off_text(LeftOff()) == ""
    assert real.left_off_text(LeftOff(actions=2, notes=1)).startswith(
        "2 sensitive actions and 1 sensitive note are not on the person's copy"
    )
    assert real.left_off_text(LeftOff(alerts=1)).startswith(
        "1 sensitive alert is not on the person's copy"
    )
    assert real.left_off_text(LeftOff(actions=1, notes=3, alerts=2)).startswith(
        "1 sensitive action, 3 sensitive notes and 2 sensitive alerts are not"
    )


def test_the_end_of_meeting_summary_hides_a_sensitive_new_action_until_revealed(
    store, team, practice_ids, case_id
) -> None:
    today = dt.date.today()
    words = "Safeguarding: strategy meeting with the local authority"
    with store.write(team["gp"]) as session:
        (meeting,) = meetings.schedule_meeting(
            session,
            practice_id=practice_ids["A81001"],
            day=today,
            start_time=dt.time(13, 0),
            duration_minutes=60,
            chair_id=team["gp"],
            invited_ids=list(team.values()),
            location="Practice library",
            today=today,
        )
        item = meetings.add_to_agenda(
            session, meeting.id, case_id, reason=AgendaReason.REVIEW_DUE, minutes=10
        )
        meeting_mode.start_meeting(session, meeting.id)
        meeting_mode.add_action_from_decision(
            session,
            item.id,
            description=words,
            owner_id=team["social_worker"],
            due_on=today + dt.timedelta(days=3),
            sensitive=True,
        )
        end = meeting_mode.finish_meeting(session, meeting.id)
        times = meeting_mode.time_statistics(session, meeting.id)
    (private,) = result_rows(end.items, times, full_names=False)
    (revealed,) = result_rows(end.items, times, full_names=True)
    assert words not in private.new_actions_text
    assert private.new_actions_text == "Sensitive action (hidden until revealed)"
    assert words in revealed.new_actions_text


def test_a_reveal_ends_when_the_next_person_comes_up(qtbot, demo, demo_runner) -> None:
    meeting = planned_meeting(demo)
    put_proposals_first(demo, meeting.id, count=2)
    window = open_meeting(qtbot, demo_runner, meeting.id)
    assert len(window.agenda) >= 2
    window.set_revealed(True)
    assert window.is_revealed()
    window.go_to(1)
    # The next person's sensitive details stay private until the chair reveals again.
    assert not window.is_revealed()
    assert not window.reveal_button.isChecked()
    assert "hidden" in window.privacy_label.text()
