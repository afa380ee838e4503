"""The action plan: add with the keyboard alone, edit inline, mark done, filter, overdue
marker, and undo/redo of each — checked in the store, as a user would see it."""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLineEdit,
    QPushButton,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.models import Action
from mdt_desk.models.enums import ActionStatus
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.action_plan import ActionPlanWidget
from mdt_desk.ui.itemmodels.action_plan_table_model import (
    ActionColumn,
    ActionPlanTableModel,
    ActionRole,
)
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()  # the widget and the services judge "overdue" by the real date


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def case_id(store: Store, team, practice_ids) -> uuid.UUID:
    patient = new_patient(store, practice_ids["A81001"])
    case = active_case(store, patient, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        plans.add_care_team_member(
            session, case, role="District nurse", staff_id=team["district_nurse"]
        )
    return case


def add_stored_action(
    store: Store,
    case_id: uuid.UUID,
    owner: uuid.UUID,
    description: str,
    due_on: dt.date,
    status: ActionStatus | None = None,
) -> uuid.UUID:
    with store.write(owner) as session:
        action = plans.add_action(
            session,
            case_id,
            description=description,
            owner_id=owner,
            due_on=due_on,
            imported_history=True,
        )
        if status is not None:
            plans.update_action(session, action.id, status=status)
    return action.id


def stored(store: Store, action_id: uuid.UUID) -> Action:
    with store.read() as session:
        action = session.scalar(select(Action).where(Action.id == action_id))
        assert action is not None
        session.expunge(action)
        return action


@pytest.fixture
def open_plan(qtbot, runner, case_id):
    def opener() -> tuple[ActionPlanWidget, QUndoStack]:
        stack = QUndoStack()
        plan = ActionPlanWidget(runner, case_id, stack)
        qtbot.addWidget(plan)
        plan.resize(1100, 600)
        plan.show()
        qtbot.waitExposed(plan)
        plan.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is plan, timeout=WAIT)
        qtbot.waitUntil(lambda: plan.view is not None, timeout=WAIT)
        settle(qtbot, runner)
        return plan, stack

    return opener


def settle(qtbot, runner: TaskRunner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def column_texts(plan: ActionPlanWidget, column: ActionColumn) -> list[str]:
    model = plan.model
    return [model.index(row, column).data() for row in range(model.rowCount())]


def focused(plan: ActionPlanWidget) -> QWidget:
    widget = QApplication.focusWidget() or plan.window().focusWidget()
    assert widget is not None
    return widget


def test_add_an_action_with_the_keyboard_alone_then_undo_and_redo(
    qtbot, store, team, case_id, runner, open_plan
):
    plan, stack = open_plan()
    table = child(plan, QWidget, "action_plan_table")
    assert table.accessibleName() == "Action plan"
    description = child(plan, QLineEdit, "new_action_description")
    description.setFocus()
    qtbot.waitUntil(lambda: focused(plan) is description)

    qtbot.keyClicks(description, "Book OT home visit")
    qtbot.keyClick(focused(plan), Qt.Key.Key_Tab)
    owner = child(plan, QComboBox, "new_action_owner")
    assert focused(plan) is owner
    # The coordinator comes first, then the care team, then the rest of the staff.
    assert "Okafor" in owner.itemText(1) and "(coordinator)" in owner.itemText(1)
    assert "Nowak" in owner.itemText(2) and "(care team)" in owner.itemText(2)
    qtbot.keyClick(owner, Qt.Key.Key_Down)
    qtbot.keyClick(owner, Qt.Key.Key_Down)  # Zoë Nowak, district nurse
    assert owner.currentData() == team["district_nurse"]
    qtbot.keyClick(owner, Qt.Key.Key_Tab)
    due = child(plan, CuiDateEdit, "new_action_due")
    assert focused(plan) in (due, due.findChild(QWidget))
    assert due.text() == cui_date(TODAY + dt.timedelta(days=7))
    qtbot.keyClick(focused(plan), Qt.Key.Key_Up)  # one day later
    qtbot.keyClick(focused(plan), Qt.Key.Key_Return)
    settle(qtbot, runner)

    with store.read() as session:
        rows = plans.list_action_rows(session, case_id)
    assert [(row.description, row.owner_id, row.due_on) for row in rows] == [
        ("Book OT home visit", team["district_nurse"], TODAY + dt.timedelta(days=8))
    ]
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Book OT home visit"]
    assert column_texts(plan, ActionColumn.OWNER) == ["Zoë Nowak"]
    assert column_texts(plan, ActionColumn.DUE) == [cui_date(TODAY + dt.timedelta(days=8))]
    # Ready for the next one: the description is empty and has the focus.
    assert description.text() == ""
    assert focused(plan) is description
    assert stack.count() == 1

    stack.undo()
    settle(qtbot, runner)
    assert stored(store, rows[0].id).retired_at is not None  # withdrawn, never deleted
    assert plan.model.rowCount() == 0
    stack.redo()
    settle(qtbot, runner)
    assert stored(store, rows[0].id).retired_at is None
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Book OT home visit"]


def test_add_button_and_alt_c_and_errors_keep_what_was_typed(
    qtbot, store, team, case_id, runner, open_plan
):
    plan, stack = open_plan()
    description = child(plan, QLineEdit, "new_action_description")
    qtbot.keyClicks(description, "Ring the daughter about the key safe")
    qtbot.mouseClick(child(plan, QWidget, "add_action_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    owner_error = plan.field_errors.label_for("owner")
    assert owner_error.isVisible()
    assert "needs an owner" in owner_error.text()
    assert description.text() == "Ring the daughter about the key safe"  # nothing lost
    assert stack.count() == 0

    owner = child(plan, QComboBox, "new_action_owner")
    owner.setCurrentIndex(1)
    child(plan, CuiDateEdit, "new_action_due").set_date(TODAY - dt.timedelta(days=1))
    description.setFocus()
    qtbot.keyClick(description, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, runner)
    assert "in the past" in plan.field_errors.label_for("due_on").text()
    assert not owner_error.isVisible()

    child(plan, CuiDateEdit, "new_action_due").set_date(TODAY)
    qtbot.keyClick(description, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, runner)
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Ring the daughter about the key safe"]
    assert not plan.field_errors.label_for("due_on").isVisible()


def test_mark_done_hides_it_from_open_actions_and_undo_redo(
    qtbot, store, team, case_id, runner, open_plan
):
    first = add_stored_action(store, case_id, team["gp"], "Review medicines", TODAY)
    add_stored_action(store, case_id, team["gp"], "Refer to falls clinic", TODAY)
    plan, stack = open_plan()
    plan.select_action(first)
    button = child(plan, QPushButton, "mark_action_done_button")
    assert button.isEnabled()
    button.click()
    settle(qtbot, runner)
    assert stored(store, first).status is ActionStatus.DONE
    assert stored(store, first).completed_on == TODAY
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Refer to falls clinic"]
    assert stack.undoText() == "mark 'Review medicines' done"

    stack.undo()
    settle(qtbot, runner)
    assert stored(store, first).status is ActionStatus.OPEN
    assert stored(store, first).completed_on is None
    assert sorted(column_texts(plan, ActionColumn.DESCRIPTION)) == [
        "Refer to falls clinic",
        "Review medicines",
    ]
    stack.redo()
    settle(qtbot, runner)
    assert stored(store, first).status is ActionStatus.DONE
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Refer to falls clinic"]

    # "All" shows it again, saying when it was done.
    child(plan, QComboBox, "action_filter").setCurrentIndex(1)
    settle(qtbot, runner)
    assert f"Done {cui_date(TODAY)}" in column_texts(plan, ActionColumn.STATUS)


def test_status_is_edited_inline_with_its_picker(qtbot, store, team, case_id, runner, open_plan):
    action = add_stored_action(store, case_id, team["gp"], "Review medicines", TODAY)
    plan, stack = open_plan()
    table = plan.table
    index = plan.model.index(0, ActionColumn.STATUS)
    table.setCurrentIndex(index)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = table.indexWidget(index) or focused(plan)
    assert isinstance(editor, QComboBox)
    editor.setCurrentIndex(editor.findText("In progress"))
    editor.activated.emit(editor.currentIndex())
    settle(qtbot, runner)
    assert stored(store, action).status is ActionStatus.IN_PROGRESS
    assert column_texts(plan, ActionColumn.STATUS) == ["In progress"]
    stack.undo()
    settle(qtbot, runner)
    assert stored(store, action).status is ActionStatus.OPEN
    assert column_texts(plan, ActionColumn.STATUS) == ["Open"]


def test_due_date_edited_inline_even_from_overdue_and_undo_restores_it(
    qtbot, store, team, case_id, runner, open_plan
):
    overdue_on = TODAY - dt.timedelta(days=5)
    action = add_stored_action(store, case_id, team["gp"], "Chase blood results", overdue_on)
    plan, stack = open_plan()
    assert column_texts(plan, ActionColumn.DUE) == [f"{cui_date(overdue_on)} — Overdue"]
    assert plan.model.index(0, ActionColumn.DUE).data(ActionRole.OVERDUE) is True

    table = plan.table
    index = plan.model.index(0, ActionColumn.DUE)
    table.setCurrentIndex(index)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = focused(plan)
    date_edit = editor if isinstance(editor, CuiDateEdit) else editor.parent()
    assert isinstance(date_edit, CuiDateEdit)
    assert date_edit.text() == cui_date(overdue_on)  # CUI display in the editor too
    new_due = TODAY + dt.timedelta(days=3)
    date_edit.set_text(new_due.strftime("%d/%m/%Y"))  # typed, as a person would
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The delegate commits on the next turn of the event loop.
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)
    settle(qtbot, runner)
    assert stored(store, action).due_on == new_due
    assert column_texts(plan, ActionColumn.DUE) == [cui_date(new_due)]
    assert plan.model.index(0, ActionColumn.DUE).data(ActionRole.OVERDUE) is False

    stack.undo()  # back to a date in the past: allowed, it only restores what was stored
    settle(qtbot, runner)
    assert stored(store, action).due_on == overdue_on
    assert column_texts(plan, ActionColumn.DUE) == [f"{cui_date(overdue_on)} — Overdue"]
    stack.redo()
    settle(qtbot, runner)
    assert stored(store, action).due_on == new_due


def test_a_past_due_date_typed_inline_is_refused_with_the_reason(
    qtbot, store, team, case_id, runner, open_plan
):
    action = add_stored_action(store, case_id, team["gp"], "Review medicines", TODAY)
    plan, stack = open_plan()
    plan.request_edit(action, "due_on", TODAY - dt.timedelta(days=2))
    settle(qtbot, runner)
    assert "in the past" in plan.error_label.text()
    assert stored(store, action).due_on == TODAY
    assert stack.count() == 0  # nothing to undo: nothing changed


def test_filter_open_and_all(qtbot, store, team, case_id, runner, open_plan):
    add_stored_action(store, case_id, team["gp"], "Open one", TODAY)
    add_stored_action(store, case_id, team["gp"], "Done one", TODAY, ActionStatus.DONE)
    add_stored_action(store, case_id, team["gp"], "Cancelled one", TODAY, ActionStatus.CANCELLED)
    add_stored_action(store, case_id, team["gp"], "Started one", TODAY, ActionStatus.IN_PROGRESS)
    plan, _stack = open_plan()
    assert sorted(column_texts(plan, ActionColumn.DESCRIPTION)) == ["Open one", "Started one"]
    combo = child(plan, QComboBox, "action_filter")
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    settle(qtbot, runner)
    assert sorted(column_texts(plan, ActionColumn.DESCRIPTION)) == [
        "Cancelled one",
        "Done one",
        "Open one",
        "Started one",
    ]
    qtbot.keyClick(combo, Qt.Key.Key_Up)
    settle(qtbot, runner)
    assert plan.model.rowCount() == 2


def test_goal_and_owner_edited_inline(qtbot, store, team, case_id, runner, open_plan):
    with store.write(team["social_worker"]) as session:
        goal = plans.add_goal(session, case_id, description="To get back to the allotment")
    action = add_stored_action(store, case_id, team["gp"], "Physio referral", TODAY)
    plan, stack = open_plan()
    plan.model.setData(plan.model.index(0, ActionColumn.GOAL), goal)
    settle(qtbot, runner)
    assert column_texts(plan, ActionColumn.GOAL) == ["To get back to the allotment"]
    assert stored(store, action).goal_id == goal
    plan.model.setData(plan.model.index(0, ActionColumn.OWNER), team["district_nurse"])
    settle(qtbot, runner)
    assert column_texts(plan, ActionColumn.OWNER) == ["Zoë Nowak"]
    stack.undo()
    stack.undo()
    settle(qtbot, runner)
    assert stored(store, action).owner_id == team["gp"]
    assert stored(store, action).goal_id is None


def test_action_plan_model_passes_qtmodeltester(qtmodeltester, store, team, case_id):
    owner = team["gp"]
    rows = []
    for number, (due, status) in enumerate(
        (
            (TODAY - dt.timedelta(days=3), ActionStatus.OPEN),
            (TODAY, ActionStatus.IN_PROGRESS),
            (TODAY + dt.timedelta(days=2), ActionStatus.DONE),
        )
    ):
        rows.append(
            plans.ActionPlanRow(
                id=uuid.uuid4(),
                case_id=case_id,
                description=f"Action {number}",
                owner_id=owner,
                owner_name="Seán Ó Briain",
                due_on=due,
                status=status,
                goal_id=None,
                goal_text="",
                completed_on=TODAY if status is ActionStatus.DONE else None,
            )
        )
    model = ActionPlanTableModel()
    model.set_rows(rows, today=TODAY, editable=True, include_closed=True)
    qtmodeltester.check(model)
    assert model.index(0, ActionColumn.DUE).data().endswith("— Overdue")
    assert model.index(0, ActionColumn.DUE).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(0, ActionColumn.DUE).data(Qt.ItemDataRole.DecorationRole) is not None
    # Moves, inserts and removals keep exact begin/end pairs.
    moved = dataclasses.replace(rows[0], due_on=TODAY + dt.timedelta(days=9))
    model.apply_row(moved)
    assert [row.description for row in model.rows()] == ["Action 1", "Action 2", "Action 0"]
    model.apply_row(dataclasses.replace(moved, withdrawn=True))
    assert model.rowCount() == 2
    model.apply_row(rows[0])
    assert [row.description for row in model.rows()] == ["Action 0", "Action 1", "Action 2"]
    model.apply_row(dataclasses.replace(rows[1], status=ActionStatus.CANCELLED))
    assert model.rows()[1].status is ActionStatus.CANCELLED  # "All" still shows it
    qtmodeltester.check(model)


def test_description_reworded_inline_and_undone(qtbot, store, team, case_id, runner, open_plan):
    action = add_stored_action(store, case_id, team["gp"], "Review medicins", TODAY)
    plan, stack = open_plan()
    table = plan.table
    table.setCurrentIndex(plan.model.index(0, ActionColumn.DESCRIPTION))
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = focused(plan)
    assert isinstance(editor, QLineEdit)
    assert editor.accessibleName() == "What will be done"
    editor.selectAll()
    qtbot.keyClicks(editor, "Review medicines with the pharmacist")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)
    settle(qtbot, runner)
    assert stored(store, action).description == "Review medicines with the pharmacist"
    stack.undo()
    settle(qtbot, runner)
    assert stored(store, action).description == "Review medicins"
    assert column_texts(plan, ActionColumn.DESCRIPTION) == ["Review medicins"]


@pytest.mark.slow
def test_a_record_restored_at_start_up_shows_the_new_actions_due_date_whole(
    qtbot, demo_store_path, wait_idle
) -> None:
    """A tab restored at start-up filled its pickers before it was first shown, so they
    asked for their longest entry and squeezed the due date to "-Dec-2026" at 1280×800."""
    from PySide6.QtCore import QSettings

    from mdt_desk.ui.main_window import SettingsKey
    from tests.ui.test_main_window import open_window
    from tests.ui.test_print_preview import busy_case

    patient_id, case = busy_case(demo_store_path)
    QSettings().setValue(SettingsKey.OPEN_RECORDS, [f"{patient_id}:{case}"])
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    record = window.open_records()[0]  # restored, not opened by hand
    qtbot.waitUntil(lambda: record.action_plan is not None, timeout=WAIT)
    wait_idle(window)
    window.workspace.setCurrentWidget(record)
    plan = record.show_tab("action_plan")
    assert isinstance(plan, ActionPlanWidget)
    qtbot.waitUntil(plan.new_due.line_edit.isVisible, timeout=WAIT)
    for day in (dt.date(2026, 12, 14), dt.date(2027, 5, 28), plan.new_due.date_value()):
        plan.new_due.set_date(day)
        line = plan.new_due.line_edit
        text = line.text()
        assert text == cui_date(day)
        # the text's own width fits inside the box, with the line edit's 2-pixel margins
        room = line.contentsRect().width() - line.textMargins().left() - 2 * 2
        assert line.fontMetrics().horizontalAdvance(text) <= room, (text, room)
    # the rest of the row still fits the record, Add action included
    for widget in (plan.new_owner, plan.new_goal, plan.add_button):
        assert widget.isVisible()
        right = widget.mapTo(record, widget.rect().topRight()).x()
        assert right <= record.width(), widget.objectName()
