"""Dates can be typed: every date field reads 14-Jul-2027, 14/07/2027, 2027-07-14 and
today; text that is not a date is explained next to the field and never saved as another
date; Tab leaves the field. Driven with key presses on real dialogs and the action plan."""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QAbstractItemView, QApplication, QComboBox, QLineEdit
from sqlalchemy import select

from mdt_desk.models import Action, Case, Goal
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.action_plan import ActionPlanWidget
from mdt_desk.ui.case_record.dialogs import GoalDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.action_plan_table_model import ActionColumn
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import DateField
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child
from tests.ui.signed_in import acting

WAIT = 10_000
TODAY = dt.date.today()  # the fields read "today" as the real date
LATER = TODAY + dt.timedelta(days=40)

#: The issue's four forms (and friends), each naming LATER or today.
TYPED = {
    "cui": (cui_date(LATER), LATER),
    "slashes": (LATER.strftime("%d/%m/%Y"), LATER),
    "iso": (LATER.isoformat(), LATER),
    "today": ("today", TODAY),
    "spaces, full month, lower case": (LATER.strftime("%d %B %Y").lower(), LATER),
    "plus days": ("+40", LATER),
}


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def case_id(store: Store, team, practice_ids) -> uuid.UUID:
    return active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])


@pytest.fixture
def record(qtbot, runner, store, case_id) -> CaseRecordWidget:
    with store.read(acting(store)) as session:
        patient_id = session.scalar(select(Case.patient_id).where(Case.id == case_id))
    widget = CaseRecordWidget(runner, patient_id, case_id)
    qtbot.addWidget(widget)
    widget.resize(1100, 750)
    widget.show()
    qtbot.waitUntil(lambda: widget.view is not None, timeout=WAIT)
    settle(qtbot, runner)
    return widget


def settle(qtbot, runner: TaskRunner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def type_into(qtbot, field: DateField, text: str) -> None:
    """Select what is there and type over it, as a person would."""
    field.setFocus(Qt.FocusReason.ShortcutFocusReason)
    qtbot.waitUntil(field.line_edit.hasFocus, timeout=WAIT)
    qtbot.keyClick(field.line_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(field.line_edit, text)


def goals_of(store: Store, case_id: uuid.UUID) -> list[tuple[str, dt.date | None]]:
    with store.read(acting(store)) as session:
        rows = session.execute(
            select(Goal.description, Goal.target_on).where(Goal.case_id == case_id)
        ).all()
    return [(row.description, row.target_on) for row in rows]


def open_goal_dialog(qtbot, record: CaseRecordWidget) -> GoalDialog:
    record.show_tab("goals")
    dialog = record.goals_tab.open_add_goal_dialog()
    assert dialog is not None
    qtbot.waitExposed(dialog)
    dialog.description_edit.setPlainText("Walk to the harbour")
    dialog.target_check.setChecked(True)
    return dialog


@pytest.mark.parametrize("form", list(TYPED))
@pytest.mark.slow
def test_each_typed_form_in_a_dialog_saves_that_date(qtbot, record, store, case_id, form):
    typed, expected = TYPED[form]
    dialog = open_goal_dialog(qtbot, record)
    field = dialog.target_edit
    type_into(qtbot, field, typed)
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
    # Tab leaves the field (it does not step inside it), and the date reads the CUI way
    focused = QApplication.focusWidget()
    assert focused is not None and not field.isAncestorOf(focused)
    assert field.text() == cui_date(expected)
    assert not field.error_label.isVisible()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.goals_tab.current_dialog is None, timeout=WAIT)
    settle(qtbot, record.runner)
    assert goals_of(store, case_id) == [("Walk to the harbour", expected)]


def test_a_wrapped_date_error_never_splits_a_date_and_reads_plainly(qtbot, record, store, case_id):
    """The goal dialog's message wraps; "14-Jul-2027" once broke after "14-"."""
    dialog = open_goal_dialog(qtbot, record)
    field = dialog.target_edit
    type_into(qtbot, field, "15-Jan-27")
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
    label = field.error_label
    assert label.isVisible() and label.wordWrap()
    shown_lines = label.text().split()
    # every date on screen is one unbreakable word: its hyphens do not wrap
    assert "'15\u2011Jan\u201127':" in shown_lines
    assert any(word.startswith("14\u2011Jul\u2011") for word in shown_lines)
    # a screen reader hears the dates as typed and as written, not odd characters
    assert "'15-Jan-27'" in label.accessibleName() and "\u2011" not in label.accessibleName()


def test_an_unreadable_date_is_explained_next_to_the_field_and_nothing_is_saved(
    qtbot, record, store, case_id
):
    dialog = open_goal_dialog(qtbot, record)
    field = dialog.target_edit
    # what the trial typed: a two-digit year; and the half-typed text the old field showed
    for typed, says in (("15-Jan-27", "year in full"), ("09-Jan--", "no year")):
        type_into(qtbot, field, typed)
        qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
        assert field.text() == typed  # left as typed: never turned into another date
        assert field.error_label.isVisible()
        assert says in field.error_label.text()
        assert field.error_label.text().startswith("Error: ")  # said in words, not colour
        assert says in field.line_edit.accessibleDescription()  # read out with the field
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        settle(qtbot, record.runner)
        assert dialog.isVisible() and record.goals_tab.current_dialog is dialog
        assert dialog.ok_button.isEnabled()
        assert field.line_edit.hasFocus()  # taken back to the field to correct it
        assert goals_of(store, case_id) == []
    # correcting it clears the message as soon as it reads as a date, and saves it
    type_into(qtbot, field, "31/02/2027")
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
    assert "February 2027 has 28 days" in field.error_label.text()
    type_into(qtbot, field, LATER.strftime("%d/%m/%Y"))
    assert not field.error_label.isVisible()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.goals_tab.current_dialog is None, timeout=WAIT)
    settle(qtbot, record.runner)
    assert goals_of(store, case_id) == [("Walk to the harbour", LATER)]


def test_next_review_on_the_summary_takes_a_typed_date_and_refuses_nonsense(
    qtbot, record, store, case_id
):
    summary = record.summary_tab
    field = summary.next_review_edit
    assert isinstance(field, DateField)
    type_into(qtbot, field, LATER.isoformat())
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
    settle(qtbot, record.runner)
    qtbot.waitUntil(lambda: stored_review(store, case_id) == LATER, timeout=WAIT)
    assert field.text() == cui_date(LATER)
    type_into(qtbot, field, "next tuesday")
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Tab)
    settle(qtbot, record.runner)
    assert stored_review(store, case_id) == LATER  # unchanged
    assert "not a date" in field.error_label.text()
    assert field.text() == "next tuesday"


def stored_review(store: Store, case_id: uuid.UUID) -> dt.date | None:
    with store.read(acting(store)) as session:
        return session.scalar(select(Case.next_review_on).where(Case.id == case_id))


# -- the action plan ---------------------------------------------------------------------


@pytest.fixture
def plan(qtbot, runner, case_id) -> ActionPlanWidget:
    widget = ActionPlanWidget(runner, case_id, QUndoStack())
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=WAIT)
    qtbot.waitUntil(lambda: widget.view is not None, timeout=WAIT)
    settle(qtbot, runner)
    return widget


def actions_of(store: Store, case_id: uuid.UUID) -> list[tuple[str, dt.date]]:
    with store.read(acting(store)) as session:
        rows = session.execute(
            select(Action.description, Action.due_on).where(Action.case_id == case_id)
        ).all()
    return [(row.description, row.due_on) for row in rows]


def test_a_new_action_takes_a_typed_due_date_and_tab_moves_on(qtbot, plan, store, case_id):
    child(plan, QLineEdit, "new_action_description").setText("Book OT home visit")
    child(plan, QComboBox, "new_action_owner").setCurrentIndex(1)
    due = child(plan, DateField, "new_action_due")
    type_into(qtbot, due, LATER.strftime("%d/%m/%Y"))
    qtbot.keyClick(due.line_edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is child(plan, QComboBox, "new_action_goal")
    qtbot.mouseClick(plan.add_button, Qt.MouseButton.LeftButton)
    settle(qtbot, plan.runner)
    assert actions_of(store, case_id) == [("Book OT home visit", LATER)]


def test_a_new_action_with_an_unreadable_due_date_is_not_added(qtbot, plan, store, case_id):
    child(plan, QLineEdit, "new_action_description").setText("Book OT home visit")
    child(plan, QComboBox, "new_action_owner").setCurrentIndex(1)
    due = child(plan, DateField, "new_action_due")
    type_into(qtbot, due, "15-Jan-27")
    qtbot.keyClick(due.line_edit, Qt.Key.Key_Return)  # Enter adds, as in any field
    settle(qtbot, plan.runner)
    assert actions_of(store, case_id) == []
    assert due.text() == "15-Jan-27"
    assert "year in full" in due.error_label.text() and due.error_label.isVisible()


def edit_due_in_place(qtbot, plan: ActionPlanWidget, typed: str) -> DateField:
    table = plan.table
    table.setCurrentIndex(plan.model.index(0, ActionColumn.DUE))
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)
    focus = QApplication.focusWidget()
    editor = focus.parent() if focus is not None else None
    assert isinstance(editor, DateField)
    qtbot.keyClick(editor.line_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor.line_edit, typed)
    qtbot.keyClick(editor.line_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState, timeout=WAIT)
    settle(qtbot, plan.runner)
    return editor


@pytest.mark.parametrize("form", ["cui", "slashes", "iso"])
def test_the_due_date_edited_in_place_keeps_the_typed_date(
    qtbot, store, team, case_id, runner, form
):
    typed, expected = TYPED[form]
    with store.write(team["gp"]) as session:
        plans.add_action(
            session, case_id, description="Chase bloods", owner_id=team["gp"], due_on=TODAY
        )
    widget = ActionPlanWidget(runner, case_id, QUndoStack())
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.model.rowCount() == 1, timeout=WAIT)
    settle(qtbot, runner)
    edit_due_in_place(qtbot, widget, typed)
    assert actions_of(store, case_id) == [("Chase bloods", expected)]
    assert widget.model.index(0, ActionColumn.DUE).data() == cui_date(expected)


def test_an_unreadable_due_date_edited_in_place_changes_nothing_and_says_why(
    qtbot, store, team, case_id, runner
):
    with store.write(team["gp"]) as session:
        plans.add_action(
            session, case_id, description="Chase bloods", owner_id=team["gp"], due_on=LATER
        )
    widget = ActionPlanWidget(runner, case_id, QUndoStack())
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.model.rowCount() == 1, timeout=WAIT)
    settle(qtbot, runner)
    # the trial's keystrokes: the old field turned this into a past date
    edit_due_in_place(qtbot, widget, "15-Jan-27")
    assert actions_of(store, case_id) == [("Chase bloods", LATER)]
    assert widget.model.index(0, ActionColumn.DUE).data() == cui_date(LATER)
    message = widget.error_label.text()
    assert widget.error_label.isVisible()
    assert "due date was not changed" in message and "year in full" in message


def test_no_date_input_in_the_app_bypasses_the_typed_date_field():
    """Every date input is a DateField: a bare QDateEdit would bring back the old
    keystroke-by-section behaviour that turned typed dates into other dates."""
    root = Path(__file__).resolve().parents[2] / "mdt_desk" / "ui"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "QDateEdit" in path.read_text(encoding="utf-8")
        or "QDateTimeEdit" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_up_and_down_change_the_day_and_the_calendar_opens_from_the_keyboard(qtbot):
    field = DateField(LATER)
    qtbot.addWidget(field)
    field.show()
    field.setFocus()
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Up)
    assert field.date_value() == LATER + dt.timedelta(days=1)
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Down)
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Down)
    assert field.date_value() == LATER - dt.timedelta(days=1)
    qtbot.keyClick(field.line_edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert QApplication.activePopupWidget() is not None  # the calendar, on the field's day
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=WAIT)
    assert field.date_value() == LATER


def test_an_optional_date_may_be_left_empty():
    field = DateField(None, optional=True)
    assert field.text() == ""
    assert field.date_or_none() is None
    field.set_text("  ")
    assert field.date_or_none() is None


def test_scheduling_a_meeting_takes_a_typed_day_or_schedules_nothing(
    qtbot, demo_store_path, wait_idle
):
    from PySide6.QtWidgets import QPushButton

    from mdt_desk.ui.meetings.schedule_dialog import ScheduleMeetingDialog
    from tests.ui.test_meetings_page import open_meetings

    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    on_that_day = meeting_days(window).count(LATER)
    window.show_schedule_meeting()
    qtbot.waitUntil(lambda: page.current_dialog is not None, timeout=WAIT)
    dialog = page.current_dialog
    assert isinstance(dialog, ScheduleMeetingDialog)
    child(dialog, QLineEdit, "meeting_place").setText("Seminar room 2")
    field = dialog.day_edit
    type_into(qtbot, field, "14 Jly 2027")
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    assert dialog.isVisible() and "not a date" in field.error_label.text()
    assert meeting_days(window).count(LATER) == on_that_day  # nothing scheduled
    type_into(qtbot, field, LATER.strftime("%d-%m-%Y"))
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.current_dialog is None, timeout=WAIT)
    wait_idle(window)
    assert meeting_days(window).count(LATER) == on_that_day + 1


def meeting_days(window) -> list[dt.date]:
    from mdt_desk.services import meetings

    with window.runner.desk.read() as session:
        return [m.starts_at.date() for m in meetings.list_meetings(session)]


def test_a_date_of_birth_typed_in_another_form_is_read_or_explained(
    qtbot, runner, store, practice_ids
):
    from mdt_desk.ui.new_referral_dialog import NewReferralDialog
    from tests.ui.test_new_referral import find, spare_numbers

    dialog = NewReferralDialog(runner)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    settle(qtbot, runner)
    find(qtbot, runner, dialog, spare_numbers(1)[0])
    born = child(dialog, QLineEdit, "referral_date_of_birth")
    error = dialog.errors.label_for("date_of_birth")
    born.setFocus()
    qtbot.waitUntil(born.hasFocus, timeout=WAIT)
    qtbot.keyClicks(born, "14 JULY 1945")
    qtbot.keyClick(born, Qt.Key.Key_Tab)
    assert born.text() == "14-Jul-1945" and not error.isVisible()
    born.clear()
    born.setFocus()
    qtbot.waitUntil(born.hasFocus, timeout=WAIT)
    qtbot.keyClicks(born, "14/07/45")
    qtbot.keyClick(born, Qt.Key.Key_Tab)
    assert born.text() == "14/07/45"  # kept as typed, never guessed as 1945 or 2045
    assert error.isVisible() and "year in full" in error.text()
