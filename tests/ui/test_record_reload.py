"""An open record never loses what is being typed when something else commits (H77, H78).

On a real window: a write to another case leaves the record as the person left it; a
sync that changes this record keeps the text being typed, shows everything else new and
says so; leaving a field untouched shows the synced value and saves nothing; and a cell
editor open in the action plan outlives a change to that plan, then saves what was
typed.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit

from mdt_desk.models.enums import RiskBand
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.cases import set_next_review
from mdt_desk.services.display import cui_date
from mdt_desk.services.patients import set_risk_band
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.action_plan_table_model import ActionColumn
from mdt_desk.ui.main_window import MainWindow
from tests import store_sql
from tests.services.test_case_rules import active_case, new_patient
from tests.ui import test_operations as operations
from tests.ui.signed_in import create_main_window
from tests.ui.test_operations import a_person_not_at_high_risk, on_desk_b

# Real sync hubs (a hub file and desks synced through it): out of the fast loop, as the
# slow marker says; the whole suite runs them.
pytestmark = pytest.mark.slow

# Two desks and a hub, as the operations tests drive them (desk A's window syncs).
_world_template = operations._world_template
world = operations.world
window_on_a = operations.window_on_a

WAIT = 10_000
SYNC_WAIT = 30_000
TODAY = dt.date.today()  # the record judges dates by the real day


# -- a small desk with two people ---------------------------------------------------------


@dataclass(frozen=True)
class TwoCases:
    path: Path
    gp: uuid.UUID
    patient_id: uuid.UUID
    case_id: uuid.UUID
    note_id: uuid.UUID
    action_id: uuid.UUID
    other_case_id: uuid.UUID


@pytest.fixture
def two_cases(store: Store, practice_ids, team) -> TwoCases:
    me = team["social_worker"]
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, me)
    other_case_id = active_case(
        store, new_patient(store, practice_ids["A81001"], nhs="9990000026"), me
    )
    with store.write(me) as session:
        note_id = plans.add_note(session, case_id, "Seen at home; managing well").id
        action_id = plans.add_action(
            session,
            case_id,
            description="Book OT visit",
            owner_id=me,
            due_on=TODAY + dt.timedelta(days=5),
        ).id
    return TwoCases(store.path, team["gp"], patient_id, case_id, note_id, action_id, other_case_id)


def open_window(qtbot, path: Path) -> MainWindow:
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    settle(qtbot, window)
    return window


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)


def open_record(
    qtbot, window: MainWindow, patient_id: uuid.UUID, case_id: uuid.UUID
) -> CaseRecordWidget:
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    settle(qtbot, window)
    return record


def type_review_date(qtbot, record: CaseRecordWidget, typed: str) -> QLineEdit:
    """Click into Next review and type over it, without leaving the field."""
    record.show_tab("summary")
    line_edit = record.summary_tab.next_review_edit.line_edit
    line_edit.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is line_edit, timeout=WAIT)
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, typed)
    return line_edit


def stored_next_review(path: Path, case_id: uuid.UUID) -> dt.date | None:
    with store_sql.connect(path) as db:
        (value,) = db.execute(
            "SELECT next_review_on FROM care_case WHERE id = ?", (case_id.hex,)
        ).fetchone()
    return dt.date.fromisoformat(value) if value else None


def stored_action(path: Path, action_id: uuid.UUID) -> tuple[str, dt.date]:
    with store_sql.connect(path) as db:
        description, due_on = db.execute(
            "SELECT description, due_on FROM action WHERE id = ?", (action_id.hex,)
        ).fetchone()
    return str(description), dt.date.fromisoformat(due_on)


def notice_text(record: CaseRecordWidget) -> str:
    notice = record.changed_notice
    return notice.message.text() if notice.isVisibleTo(record) else ""


# -- 1. another case's write leaves this record alone ------------------------------------


def test_a_write_to_another_case_leaves_this_record_as_the_person_left_it(qtbot, two_cases):
    window = open_window(qtbot, two_cases.path)
    record = open_record(qtbot, window, two_cases.patient_id, two_cases.case_id)
    # The person picked a note to correct, then began typing a review date.
    record.show_tab("notes")
    record.notes_tab.table.selectRow(0)
    assert record.notes_tab.amend_button.isEnabled()
    stored_before = stored_next_review(two_cases.path, two_cases.case_id)
    typed = (TODAY + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    line_edit = type_review_date(qtbot, record, typed)

    # Another screen (or a sync) writes to someone else's case.
    window.runner.write(
        lambda session: plans.add_note(session, two_cases.other_case_id, "Phoned the daughter")
    )
    window.runner.write(
        lambda session: set_next_review(
            session, two_cases.other_case_id, TODAY + dt.timedelta(days=9)
        )
    )
    settle(qtbot, window)

    assert line_edit.text() == typed
    assert QApplication.focusWidget() is line_edit
    assert stored_next_review(two_cases.path, two_cases.case_id) == stored_before  # unsaved
    # Nothing was fetched again under the person: the note they picked is still picked.
    selected = record.notes_tab.selected_note()
    assert selected is not None and selected.id == two_cases.note_id
    assert record.notes_tab.amend_button.isEnabled()
    assert notice_text(record) == ""


# -- 2. a sync that changes this record keeps what is being typed -----------------------


@pytest.mark.slow
def test_a_sync_keeps_the_review_date_being_typed_and_shows_the_rest(
    qtbot, world, window_on_a, wait_idle
):
    window = window_on_a
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    patient_id, case_id = a_person_not_at_high_risk(world.a_path)
    record = open_record(qtbot, window, patient_id, case_id)
    summary = record.summary_tab
    mine = TODAY + dt.timedelta(days=30)
    theirs = TODAY + dt.timedelta(days=47)
    typed = mine.strftime("%d/%m/%Y")
    line_edit = type_review_date(qtbot, record, typed)

    def edit(session) -> None:
        set_risk_band(session, patient_id, RiskBand.VERY_HIGH)
        set_next_review(session, case_id, theirs)

    on_desk_b(world, edit)
    window.sync_now()

    # The other fields take the synced values ...
    qtbot.waitUntil(
        lambda: summary.risk_band_combo.currentData() == RiskBand.VERY_HIGH, timeout=SYNC_WAIT
    )
    wait_idle(window)
    # ... the field being typed in keeps the person's text, and the record says why.
    assert line_edit.text() == typed
    assert QApplication.focusWidget() is line_edit
    assert "your unsaved text is kept" in notice_text(record)
    assert record.changed_notice.accessibleName() == "Record changed while you were editing"
    assert "your unsaved text is kept" in record.changed_notice.accessibleDescription()
    assert record.changed_notice.dismiss_button.accessibleName()

    # Enter saves what was typed; Ctrl+Z then returns to the synced date, not an older one.
    qtbot.keyClick(line_edit, Qt.Key.Key_Return)
    wait_idle(window)
    assert stored_next_review(world.a_path, case_id) == mine
    assert summary.next_review_edit.text() == cui_date(mine)
    assert notice_text(record) == ""  # the person acted on it
    record.undo_stack.undo()
    wait_idle(window)
    assert stored_next_review(world.a_path, case_id) == theirs
    qtbot.waitUntil(lambda: summary.next_review_edit.text() == cui_date(theirs))


def test_leaving_an_untouched_field_after_a_sync_shows_the_synced_date_and_saves_nothing(
    qtbot, world, window_on_a, wait_idle
):
    window = window_on_a
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    patient_id, case_id = a_person_not_at_high_risk(world.a_path)
    record = open_record(qtbot, window, patient_id, case_id)
    summary = record.summary_tab
    before = summary.next_review_edit.text()
    line_edit = summary.next_review_edit.line_edit
    record.show_tab("summary")
    line_edit.setFocus(Qt.FocusReason.TabFocusReason)  # in the field, nothing typed
    qtbot.waitUntil(lambda: QApplication.focusWidget() is line_edit, timeout=WAIT)
    theirs = TODAY + dt.timedelta(days=47)

    on_desk_b(world, lambda session: set_next_review(session, case_id, theirs))
    with qtbot.waitSignal(record.history_loaded, timeout=SYNC_WAIT):  # reloaded after the pull
        window.sync_now()
    wait_idle(window)
    assert stored_next_review(world.a_path, case_id) == theirs
    assert line_edit.text() == before  # not changed under the cursor

    qtbot.keyClick(line_edit, Qt.Key.Key_Tab)  # leaves the field untouched
    wait_idle(window)
    assert summary.next_review_edit.text() == cui_date(theirs)
    assert stored_next_review(world.a_path, case_id) == theirs  # the sync's date stands
    assert not record.undo_stack.canUndo()


# -- 3. an open cell editor in the action plan outlives a change to the plan ------------


def test_a_cell_being_edited_survives_a_change_to_its_plan_then_saves(qtbot, two_cases):
    window = open_window(qtbot, two_cases.path)
    record = open_record(qtbot, window, two_cases.patient_id, two_cases.case_id)
    record.show_tab("action_plan")
    plan = record.action_plan
    assert plan is not None
    table = plan.table
    row = plan.model.row_of(two_cases.action_id)
    table.setCurrentIndex(plan.model.index(row, ActionColumn.DESCRIPTION))
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    typed = "Book OT home visit for grab rails"
    qtbot.keyClicks(editor, typed)

    # Another operation changes this plan: moves this action and adds one.
    moved_to = TODAY + dt.timedelta(days=12)
    gp = two_cases.gp

    def elsewhere(session) -> None:
        plans.update_action(session, two_cases.action_id, due_on=moved_to)
        plans.add_action(
            session,
            two_cases.case_id,
            description="Chase blood results",
            owner_id=gp,
            due_on=TODAY + dt.timedelta(days=2),
        )

    window.runner.write(elsewhere)
    settle(qtbot, window)

    assert table.state() == QAbstractItemView.State.EditingState
    assert QApplication.focusWidget() is editor
    assert editor.text() == typed
    assert "your unsaved text is kept" in notice_text(record)

    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)
    settle(qtbot, window)
    assert stored_action(two_cases.path, two_cases.action_id) == (typed, moved_to)
    # The plan now shows the edit and the other operation's changes.
    descriptions = [
        plan.model.index(number, ActionColumn.DESCRIPTION).data()
        for number in range(plan.model.rowCount())
    ]
    assert descriptions == ["Chase blood results", typed]
    shown_due = plan.model.index(plan.model.row_of(two_cases.action_id), ActionColumn.DUE)
    assert shown_due.data() == cui_date(moved_to)

    # Undo takes back the rewording only; the other operation's new due date stays.
    record.undo_stack.undo()
    settle(qtbot, window)
    assert stored_action(two_cases.path, two_cases.action_id) == ("Book OT visit", moved_to)


def test_dismissing_the_notice_does_not_end_the_edit(qtbot, two_cases):
    window = open_window(qtbot, two_cases.path)
    record = open_record(qtbot, window, two_cases.patient_id, two_cases.case_id)
    typed = (TODAY + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    line_edit = type_review_date(qtbot, record, typed)
    theirs = TODAY + dt.timedelta(days=9)
    window.runner.write(lambda session: set_next_review(session, two_cases.case_id, theirs))
    settle(qtbot, window)
    assert "your unsaved text is kept" in notice_text(record)

    qtbot.mouseClick(record.changed_notice.dismiss_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert notice_text(record) == ""
    assert QApplication.focusWidget() is line_edit and line_edit.text() == typed
    assert stored_next_review(two_cases.path, two_cases.case_id) == theirs
