"""The case record: banner, status changes, coordinator, notes, outcome events, undo,
history — driven as a user would, on a small store and on the demo store."""

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.models import Case, Patient
from mdt_desk.models.enums import (
    CaseStatus,
    ClosureReason,
    GoalOutcome,
    OutcomeEventKind,
    ReferralSource,
    RiskBand,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans
from mdt_desk.services.case_view import CaseTransition
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_age, cui_date
from mdt_desk.ui.case_record.dialogs import (
    ChangeCoordinatorDialog,
    CloseCaseDialog,
    OutcomeEventDialog,
)
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.care_team_table_model import CareTeamTableModel
from mdt_desk.ui.itemmodels.case_summary_table_models import (
    InterventionsTableModel,
    OutcomeEventsTableModel,
)
from mdt_desk.ui.itemmodels.coordinator_history_table_model import CoordinatorHistoryTableModel
from mdt_desk.ui.itemmodels.goals_table_model import GoalsTableModel
from mdt_desk.ui.itemmodels.history_table_model import HistoryTableModel
from mdt_desk.ui.itemmodels.notes_table_model import NotesTableModel
from mdt_desk.ui.runner import TaskRunner
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000


def settle(qtbot, record: CaseRecordWidget) -> None:
    """Wait until every save and fetch the record started has come back."""
    qtbot.waitUntil(lambda: not record.runner.busy, timeout=WAIT)


def saved_then_reloaded(qtbot, record: CaseRecordWidget):
    return qtbot.waitSignal(record.history_loaded, timeout=WAIT)


def test_banner_follows_the_cui_rules(qtbot, open_record, store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    banner = child(record, QLabel, "name_value").parentWidget()
    assert banner is not None
    assert banner.objectName() == "patient_banner"
    assert banner.accessibleName() == "Patient banner"
    assert record.title() == "EVANS, Siân"
    assert record.banner.name_label.text() == "EVANS, Siân (Ms)"
    assert record.banner.nhs_value.text() == "999 000 0018"
    age = cui_age(dt.date(1938, 3, 2), dt.date.today())
    assert record.banner.born_value.text() == f"02-Mar-1938 ({age})"
    assert record.banner.gender_value.text() == "Not Known"
    assert not record.banner.died_value.isVisible()
    assert not record.banner.is_deceased()
    assert record.banner.pattern() == Qt.BrushStyle.NoBrush
    # zone 2 is collapsed at first and opens from the keyboard
    assert not record.banner.zone2.isVisible()
    record.banner.details_button.setFocus()
    qtbot.keyClick(record.banner.details_button, Qt.Key.Key_Space)
    assert record.banner.zone2.isVisible()
    assert record.banner.phone_value.text() == "Not Known"
    assert record.banner.consent_value.text() == "Not recorded"
    assert child(record, QTabWidget, "record_tabs") is record.tabs


def test_deceased_banner_differs_by_colour_and_pattern(
    qtbot, open_record, store, practice_ids, team
) -> None:
    living = open_record(new_patient(store, practice_ids["A81001"]))
    patient_id = new_patient(store, practice_ids["A81001"], nhs="9990000026")
    with store.write(team["gp"]) as session:
        patients.record_death(session, patient_id, dt.date(2026, 1, 10), TODAY)
    record = open_record(patient_id)
    assert record.banner.is_deceased()
    assert record.banner.pattern() == Qt.BrushStyle.BDiagPattern
    assert record.banner.background_colour() != living.banner.background_colour()
    assert record.banner.died_value.isVisible()
    assert record.banner.died_value.text() == "10-Jan-2026"
    assert record.banner.age_at_death_value.text() == "87y"
    assert record.banner.born_value.text() == "02-Mar-1938"
    # the picture really differs: a hatch, not a flat fill
    image = record.banner.grab().toImage()
    colours = {image.pixel(x, 4) for x in range(300, 340)}
    assert len(colours) > 1


def test_a_person_without_a_case_can_be_referred(qtbot, open_record, store, practice_ids) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    record = open_record(patient_id)
    assert record.pages.currentWidget() is record.no_case_page
    with qtbot.waitSignal(record.referral_requested) as requested:
        qtbot.mouseClick(record.refer_button, Qt.MouseButton.LeftButton)
    assert requested.args == [patient_id]


def test_change_coordinator_needs_a_reason_and_keeps_the_history(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    record.show_tab("coordinator")
    tab = record.coordinator_tab
    assert tab.coordinator_label.text() == "Ngozi Okafor"
    button = child(record, QPushButton, "change_coordinator_button")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = tab.current_dialog
    assert isinstance(dialog, ChangeCoordinatorDialog)
    combo = child(dialog, QComboBox, "coordinator_combo")
    combo.setCurrentIndex(combo.findText("Zoë Nowak", Qt.MatchFlag.MatchStartsWith))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    reason_error = dialog.errors.label_for("reason")
    qtbot.waitUntil(reason_error.isVisible, timeout=WAIT)
    assert "reason" in reason_error.text()
    assert dialog.isVisible() and combo.currentText().startswith("Zoë Nowak")
    qtbot.keyClicks(dialog.reason_edit, "Nursing needs now lead")
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, record)
    assert tab.current_dialog is None  # saved and closed
    assert tab.coordinator_label.text() == "Zoë Nowak"
    model = tab.history_model
    rows = [
        [model.index(row, col).data() for col in range(model.columnCount())]
        for row in range(model.rowCount())
    ]
    assert rows[0][0] == "Ngozi Okafor" and rows[0][3] == "Case accepted"
    assert rows[0][2] != "Now"
    assert rows[1][0] == "Zoë Nowak (current)" and rows[1][3] == "Nursing needs now lead"
    history = record.history_tab.model.rows()
    assert any(
        e.field == "Reason" and e.new_text == "Nursing needs now lead" and e.who == "Ngozi Okafor"
        for e in history
    )
    assert any(
        e.field == "Ended" and e.record.startswith("Care coordinator: Ngozi") for e in history
    )
    assert record.undo_stack.count() == 0  # a change of coordinator is not undoable


def test_add_and_amend_a_note(qtbot, open_record, store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    record.show_tab("notes")
    editor = record.notes_tab.note_editor
    assert editor.objectName() == "note_editor"
    # an empty note is refused next to the editor
    qtbot.mouseClick(record.notes_tab.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(record.notes_tab.note_error.isVisible, timeout=WAIT)
    editor.setFocus()
    qtbot.keyClicks(editor, "Visited; lives alone.")
    with saved_then_reloaded(qtbot, record):
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, record)
    assert editor.toPlainText() == ""
    table = child(record, QTableView, "notes_table")
    assert table.model().index(0, 2).data() == "Visited; lives alone."
    assert table.model().index(0, 1).data() == "Ngozi Okafor"
    table.selectRow(0)
    qtbot.mouseClick(record.notes_tab.amend_button, Qt.MouseButton.LeftButton)
    dialog = record.notes_tab.current_dialog
    qtbot.keyClicks(dialog.amendment_edit, "Lives with her son.")
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, record)
    model = table.model()
    assert model.rowCount() == 2
    assert model.index(0, 2).data() == "Visited; lives alone.  [corrected below]"
    assert model.index(1, 2).data() == "↳ Correction: Lives with her son."
    assert "Corrects the note of" in model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole)


def test_record_an_outcome_event(qtbot, open_record, store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    button = child(record, QPushButton, "record_outcome_event_button")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, OutcomeEventDialog)
    kind = child(dialog, QComboBox, "event_kind_combo")
    kind.setCurrentIndex(kind.findData(OutcomeEventKind.DELAYED_TRANSFER_OF_CARE))
    qtbot.keyClicks(dialog.source_edit, "QEQM discharge team")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.label_for("delayed_days")
    qtbot.waitUntil(error.isVisible, timeout=WAIT)
    assert dialog.source_edit.text() == "QEQM discharge team"
    dialog.delayed_days_spin.setValue(4)
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    model = record.summary_tab.outcome_events_model
    assert [model.index(0, c).data() for c in range(4)] == [
        "Delayed transfer of care",
        cui_date(dt.date.today()),
        "QEQM discharge team",
        "4",
    ]


def test_close_needs_a_reason_and_transitions_follow_the_status(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    summary = record.summary_tab

    def offered() -> set[CaseTransition]:
        return {t for t, button in summary.transition_buttons.items() if button.isVisible()}

    assert offered() == {CaseTransition.START_REVIEW, CaseTransition.CLOSE}
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(
            summary.transition_buttons[CaseTransition.START_REVIEW], Qt.MouseButton.LeftButton
        )
    settle(qtbot, record)
    assert summary.status_label.text() == "Status: Under review"
    assert offered() == {CaseTransition.FINISH_REVIEW, CaseTransition.CLOSE}

    close_button = child(record, QPushButton, "close_case_button")
    qtbot.mouseClick(close_button, Qt.MouseButton.LeftButton)
    dialog = summary.current_dialog
    assert isinstance(dialog, CloseCaseDialog)
    qtbot.keyClicks(dialog.note_edit, "Family moving her to Leeds")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    reason_error = dialog.errors.label_for("closure_reason")
    qtbot.waitUntil(reason_error.isVisible, timeout=WAIT)
    assert "reason" in reason_error.text()
    assert dialog.note() == "Family moving her to Leeds"
    dialog.reason_combo.setCurrentIndex(dialog.reason_combo.findData(ClosureReason.MOVED_AWAY))
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, record)
    assert summary.status_label.text() == "Status: Closed"
    assert offered() == {CaseTransition.REOPEN}
    assert (
        summary.referral_values["closed"].text().endswith("Moved away: Family moving her to Leeds")
    )
    with store.read() as session:
        assert session.get(Case, case_id).status is CaseStatus.CLOSED


@pytest.mark.slow
def test_undo_and_redo_a_risk_band_change(qtbot, open_record, store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    combo = child(record, QComboBox, "risk_band_combo")
    assert combo.currentText() == "Not set"

    def stored() -> RiskBand | None:
        with store.read() as session:
            return session.get(Patient, patient_id).risk_band

    combo.setFocus()
    with saved_then_reloaded(qtbot, record):
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    settle(qtbot, record)
    assert stored() is RiskBand.LOW and combo.currentText() == "Low"
    assert record.undo_stack.canUndo()
    assert record.undo_stack.undoText() == "set risk band to low"
    with saved_then_reloaded(qtbot, record):
        record.undo_stack.undo()
    settle(qtbot, record)
    assert stored() is None and combo.currentText() == "Not set"
    with saved_then_reloaded(qtbot, record):
        record.undo_stack.redo()
    settle(qtbot, record)
    assert stored() is RiskBand.LOW and combo.currentText() == "Low"
    assert any(e.field == "Risk band" for e in record.history_tab.model.rows())


def test_next_review_date_edit_is_undoable_and_overdue_is_said_in_words(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    summary = record.summary_tab
    assert child(summary, QWidget, "next_review_edit") is summary.next_review_edit
    overdue_on = dt.date.today() - dt.timedelta(days=3)
    with saved_then_reloaded(qtbot, record):
        summary.set_review_date(overdue_on)
    settle(qtbot, record)
    assert "OVERDUE by 3 day(s)" in summary.review_state_label.text()
    with store.read() as session:
        assert session.get(Case, case_id).next_review_on == overdue_on
    with saved_then_reloaded(qtbot, record):
        record.undo_stack.undo()
    settle(qtbot, record)
    assert summary.review_state_label.text() == ""


def test_every_record_model_passes_the_model_tester(
    qtmodeltester, qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    record.show_tab("notes")
    qtbot.keyClicks(record.notes_tab.note_editor, "First note")
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(record.notes_tab.add_button, Qt.MouseButton.LeftButton)
    settle(qtbot, record)
    models = [
        record.coordinator_tab.history_model,
        record.care_team_tab.model,
        record.goals_tab.model,
        record.notes_tab.model,
        record.history_tab.model,
        record.summary_tab.interventions_model,
        record.summary_tab.outcome_events_model,
    ]
    assert [type(m) for m in models] == [
        CoordinatorHistoryTableModel,
        CareTeamTableModel,
        GoalsTableModel,
        NotesTableModel,
        HistoryTableModel,
        InterventionsTableModel,
        OutcomeEventsTableModel,
    ]
    assert record.notes_tab.model.rowCount() == 1 and record.history_tab.model.rowCount() > 10
    for model in models:
        qtmodeltester.check(model)


def test_a_demo_record_opens_with_its_history(qtbot, demo_store_path: Path) -> None:
    with Store.open(demo_store_path) as store:
        with store.read() as session:
            patient_id, case_id = session.execute(
                select(Case.patient_id, Case.id).where(Case.status == CaseStatus.ACTIVE).limit(1)
            ).one()
        runner = TaskRunner(Desk.for_store(store))
        try:
            record = CaseRecordWidget(runner, patient_id, None)
            qtbot.addWidget(record)
            with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
                record.show()
            assert record.case_id == case_id
            assert record.coordinator_tab.coordinator_label.text()
            assert record.history_tab.model.rowCount() > 0
            assert child(record, QTableView, "history_table") is record.history_tab.table
            qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
        finally:
            runner.shutdown()


def test_every_control_of_the_record_has_an_accessible_name(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    unnamed = [
        f"{type(widget).__name__} {widget.objectName()!r}"
        for widget in record.findChildren(QWidget)
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus
        and widget.isVisibleTo(record)
        and not widget.accessibleName()
        and not isinstance(widget.parentWidget(), QAbstractSpinBox | QComboBox)
    ]
    assert unnamed == [], "\n".join(unnamed)


def test_accept_a_referral_and_set_a_goal_outcome_with_undo(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    with store.write(team["gp"]) as session:
        case_id = cases.refer(
            session, patient_id, source=ReferralSource.GP, reason="Falls", today=dt.date.today()
        ).id
        plans.add_goal(session, case_id, description="Get back to the allotment")
    record = open_record(patient_id)
    summary = record.summary_tab
    assert summary.status_label.text() == "Status: Referred"
    assert record.coordinator_tab.coordinator_label.text() == "No coordinator"
    qtbot.mouseClick(summary.transition_buttons[CaseTransition.ACCEPT], Qt.MouseButton.LeftButton)
    dialog = summary.current_dialog
    combo = child(dialog, QComboBox, "coordinator_combo")
    combo.setCurrentIndex(combo.findText("Ngozi Okafor", Qt.MatchFlag.MatchStartsWith))
    with saved_then_reloaded(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot, record)
    assert summary.status_label.text() == "Status: Active"
    assert record.coordinator_tab.coordinator_label.text() == "Ngozi Okafor"

    goals = record.goals_tab
    record.show_tab("goals")
    goals.table.selectRow(0)
    index = goals.outcome_combo.findData(GoalOutcome.ACHIEVED)
    with saved_then_reloaded(qtbot, record):
        goals.outcome_combo.setCurrentIndex(index)
        goals.outcome_combo.activated.emit(index)
    settle(qtbot, record)
    assert goals.model.index(0, 2).data() == "Achieved"
    with saved_then_reloaded(qtbot, record):
        record.undo_stack.undo()
    settle(qtbot, record)
    assert goals.model.index(0, 2).data() == "Not yet"
