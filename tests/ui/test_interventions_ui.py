"""Short-term interventions in the case record: added (with the 91-day check after a
discharge from hospital), ended, refused at the field, and the buttons that need a row
chosen saying so in words when none is."""

import datetime as dt
import uuid

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QPushButton, QWidget
from sqlalchemy import select

from mdt_desk.models import Action, Intervention, Staff
from mdt_desk.models.enums import InterventionKind, InterventionOutcome, OutcomeEventKind
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record import summary as summary_module
from mdt_desk.ui.case_record.dialogs import (
    AddInterventionDialog,
    DischargeDialog,
    EndInterventionDialog,
)
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()


@pytest.fixture
def open_record(qtbot, runner):
    def opener(patient_id: uuid.UUID) -> CaseRecordWidget:
        record = CaseRecordWidget(runner, patient_id, None)
        qtbot.addWidget(record)
        record.resize(1100, 750)
        record.show()
        record.activateWindow()
        qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
        qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
        return record

    return opener


@pytest.fixture
def announced(monkeypatch) -> list[str]:
    """What the summary tab said to a screen reader (and still says it)."""
    said: list[str] = []
    real = summary_module.announce

    def recording(widget: QWidget, message: str) -> None:
        said.append(message)
        real(widget, message)

    monkeypatch.setattr(summary_module, "announce", recording)
    return said


def saved(qtbot, record: CaseRecordWidget):
    return qtbot.waitSignal(record.history_loaded, timeout=WAIT)


def admitted(
    store: Store, patient_id: uuid.UUID, days_ago: int, discharged_days_ago: int | None
) -> uuid.UUID:
    with store.write() as session:
        return plans.record_outcome_event(
            session,
            patient_id,
            kind=OutcomeEventKind.HOSPITAL_ADMISSION,
            occurred_on=TODAY - dt.timedelta(days=days_ago),
            discharged_on=None
            if discharged_days_ago is None
            else TODAY - dt.timedelta(days=discharged_days_ago),
        )


def open_add_dialog(qtbot, record: CaseRecordWidget) -> AddInterventionDialog:
    button = child(record, QPushButton, "add_intervention_button")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, AddInterventionDialog)
    return dialog


def test_reablement_after_a_discharge_is_added_with_its_91_day_check_and_ended(
    qtbot, open_record, store, practice_ids, team, announced
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    admitted(store, patient_id, days_ago=10, discharged_days_ago=3)
    record = open_record(patient_id)
    summary = record.summary_tab
    dialog = open_add_dialog(qtbot, record)
    kind = child(dialog, QComboBox, "intervention_kind_combo")
    provider = child(dialog, QLineEdit, "intervention_provider_edit")
    for widget, name in (
        (kind, "Intervention"),
        (provider, "Provider"),
        (dialog.started_on_edit, "Started on"),
        (dialog.planned_end_edit, "Planned end"),
        (dialog.ok_button, "Save"),
    ):
        assert widget.accessibleName() == name
    assert dialog.planned_end_edit.date_value() == TODAY + dt.timedelta(days=42)
    kind.setCurrentIndex(kind.findData(InterventionKind.REABLEMENT))
    provider.setText("County reablement team")
    started_on = TODAY - dt.timedelta(days=1)
    dialog.started_on_edit.set_date(started_on)
    dialog.planned_end_edit.set_date(started_on + dt.timedelta(days=42))
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    due_on = TODAY - dt.timedelta(days=3) + dt.timedelta(days=91)
    with store.read() as session:
        intervention = session.scalars(select(Intervention)).one()
        assert (
            intervention.case_id,
            intervention.kind,
            intervention.provider,
            intervention.started_on,
            intervention.planned_end_on,
            intervention.ended_on,
        ) == (
            case_id,
            InterventionKind.REABLEMENT,
            "County reablement team",
            started_on,
            started_on + dt.timedelta(days=42),
            None,
        )
        check = session.scalars(
            select(Action).where(Action.description.startswith(plans.CHECK_91_DAY_PREFIX))
        ).one()
        assert (check.case_id, check.owner_id, check.due_on) == (
            case_id,
            team["social_worker"],
            due_on,
        )
        coordinator = session.get(Staff, team["social_worker"])
        assert coordinator is not None
        family_name = coordinator.family_name
        intervention_id = intervention.id
    notice = summary.interventions_notice
    said = notice.accessibleName()
    assert notice.isVisible()
    assert said.startswith("Reablement added; a 91-day check is due on ")
    assert cui_date(due_on) in said and family_name in said
    assert said in announced
    qtbot.waitUntil(lambda: summary.interventions_model.rowCount() == 1, timeout=WAIT)

    # Ended: the only running intervention is the one ended, without choosing it.
    qtbot.mouseClick(
        child(record, QPushButton, "end_intervention_button"), Qt.MouseButton.LeftButton
    )
    ending = summary.current_dialog
    assert isinstance(ending, EndInterventionDialog)
    outcome = child(ending, QComboBox, "intervention_outcome_combo")
    assert outcome.accessibleName() == "Outcome"
    assert ending.ended_on_edit.accessibleName() == "Ended on"
    # No outcome chosen: said at the field, nothing written.
    qtbot.mouseClick(ending.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(ending.errors.label_for("outcome").isVisible, timeout=WAIT)
    outcome.setCurrentIndex(outcome.findData(InterventionOutcome.GOALS_MET))
    ending.ended_on_edit.set_date(TODAY)
    with saved(qtbot, record):
        qtbot.mouseClick(ending.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        ended = session.get(Intervention, intervention_id)
        assert ended is not None
        assert (ended.ended_on, ended.outcome) == (TODAY, InterventionOutcome.GOALS_MET)
    assert "Reablement ended." in announced


def test_a_planned_end_before_the_start_is_refused_at_the_field(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    dialog = open_add_dialog(qtbot, record)
    kind = child(dialog, QComboBox, "intervention_kind_combo")
    kind.setCurrentIndex(kind.findData(InterventionKind.TELECARE))
    dialog.started_on_edit.set_date(TODAY)
    dialog.planned_end_edit.set_date(TODAY - dt.timedelta(days=1))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.label_for("planned_end_on")
    qtbot.waitUntil(error.isVisible, timeout=WAIT)
    assert "planned end is before the start" in error.accessibleName()
    assert dialog.isVisible() and dialog.ok_button.isEnabled()
    qtbot.waitUntil(lambda: not record.runner.busy, timeout=WAIT)
    with store.read() as session:
        assert session.scalars(select(Intervention)).all() == []
        assert session.scalars(select(Action)).all() == []


@pytest.mark.slow
def test_end_intervention_with_none_chosen_says_so_and_goes_to_the_table(
    qtbot, open_record, store, practice_ids, team, announced
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    summary = record.summary_tab
    button = child(record, QPushButton, "end_intervention_button")
    assert button.accessibleName()
    # None at all.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert summary.current_dialog is None
    said = "No short-term intervention is recorded for this case."
    assert summary.interventions_notice.accessibleName() == said
    assert said in announced
    qtbot.waitUntil(lambda: QApplication.focusWidget() is summary.interventions_table, timeout=WAIT)
    # Two running: no telling which.
    with store.write() as session:
        for kind in (InterventionKind.TELECARE, InterventionKind.SITTING_SERVICE):
            plans.add_intervention(session, case_id, kind=kind, started_on=TODAY)
    record.reload()
    qtbot.waitUntil(lambda: summary.interventions_model.rowCount() == 2, timeout=WAIT)
    announced.clear()
    summary.outcome_events_table.setFocus()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert summary.current_dialog is None
    assert announced == ["Choose the intervention in the table first."]
    qtbot.waitUntil(lambda: QApplication.focusWidget() is summary.interventions_table, timeout=WAIT)
    # Chosen: that one.
    summary.interventions_table.selectionModel().select(
        summary.interventions_model.index(1, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = summary.current_dialog
    assert isinstance(dialog, EndInterventionDialog)
    chosen = summary.interventions_model.index(1, 0).data()
    assert dialog.intro.text().startswith(chosen)
    assert not summary.interventions_notice.isVisible()


def test_record_discharge_chooses_the_only_admission_or_says_to_choose_one(
    qtbot, open_record, store, practice_ids, team, announced
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    admitted(store, patient_id, days_ago=20, discharged_days_ago=None)
    record = open_record(patient_id)
    summary = record.summary_tab
    button = child(record, QPushButton, "record_discharge_button")
    # The only admission: chosen for the person.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = summary.current_dialog
    assert isinstance(dialog, DischargeDialog)
    assert cui_date(TODAY - dt.timedelta(days=20)) in dialog.intro.text()
    assert summary.outcome_events_table.selectionModel().selectedRows()[0].row() == 0
    dialog.done(0)
    qtbot.waitUntil(lambda: summary.current_dialog is None, timeout=WAIT)
    record.activateWindow()  # the closed dialog had it (offscreen gives it back no other way)
    qtbot.waitUntil(record.isActiveWindow, timeout=WAIT)
    # Two admissions and none chosen: said in words, and the focus goes to the table.
    admitted(store, patient_id, days_ago=5, discharged_days_ago=None)
    record.reload()
    qtbot.waitUntil(lambda: summary.outcome_events_model.rowCount() == 2, timeout=WAIT)
    summary.outcome_events_table.clearSelection()
    announced.clear()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert summary.current_dialog is None
    assert announced == ["Choose the hospital admission in the table first."]
    notice = summary.outcome_events_notice
    assert notice.isVisible() and notice.accessibleName() == announced[0]
    qtbot.waitUntil(
        lambda: QApplication.focusWidget() is summary.outcome_events_table, timeout=WAIT
    )


def test_tab_goes_from_the_interventions_table_to_its_buttons_then_on(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    summary = record.summary_tab
    qtbot.waitUntil(record.isActiveWindow, timeout=WAIT)
    summary.interventions_table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(summary.interventions_table.hasFocus, timeout=WAIT)
    for expected in (
        summary.add_intervention_button,
        summary.end_intervention_button,
        summary.outcome_events_table,
    ):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is expected


def test_correcting_an_ended_intervention_keeps_its_recorded_end(
    qtbot, open_record, store, practice_ids, team
) -> None:
    """Opened on an intervention that has ended, to change only its outcome, the form
    shows the end as recorded: saving it unchanged never moves the end to today."""
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    started_on, ended_on = TODAY - dt.timedelta(days=60), TODAY - dt.timedelta(days=21)
    with store.write() as session:
        intervention_id = plans.add_intervention(
            session, case_id, kind=InterventionKind.REABLEMENT, started_on=started_on
        ).id
        plans.end_intervention(
            session, intervention_id, ended_on=ended_on, outcome=InterventionOutcome.PARTLY_MET
        )
    record = open_record(patient_id)
    summary = record.summary_tab
    summary.interventions_table.selectRow(0)
    qtbot.mouseClick(
        child(record, QPushButton, "end_intervention_button"), Qt.MouseButton.LeftButton
    )
    ending = summary.current_dialog
    assert isinstance(ending, EndInterventionDialog)
    assert ending.ended_on_edit.date_value() == ended_on
    outcome = child(ending, QComboBox, "intervention_outcome_combo")
    outcome.setCurrentIndex(outcome.findData(InterventionOutcome.GOALS_MET))
    with saved(qtbot, record):
        qtbot.mouseClick(ending.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        ended = session.get(Intervention, intervention_id)
        assert ended is not None
        assert (ended.ended_on, ended.outcome) == (ended_on, InterventionOutcome.GOALS_MET)
