"""Entering the indicator data in the case record: a discharge with an admission or later,
a permanent placement, survey answers, and a referral closed as not accepted."""

import datetime as dt

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton
from sqlalchemy import select

from mdt_desk.models import Case, ExperienceResponse, OutcomeEvent
from mdt_desk.models.enums import (
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    NotAcceptedReason,
    OutcomeEventKind,
    ReferralSource,
    SurveyMethod,
)
from mdt_desk.services import cases, plans
from mdt_desk.services.case_view import CaseTransition
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.dialogs import (
    CloseCaseDialog,
    DischargeDialog,
    ExperienceSurveyDialog,
    OutcomeEventDialog,
)
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()


def saved(qtbot, record: CaseRecordWidget):
    return qtbot.waitSignal(record.history_loaded, timeout=WAIT)


def test_an_admission_is_recorded_with_its_discharge_and_a_placement_as_permanent(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    qtbot.mouseClick(
        child(record, QPushButton, "record_outcome_event_button"), Qt.MouseButton.LeftButton
    )
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, OutcomeEventDialog)
    kind = child(dialog, QComboBox, "event_kind_combo")
    kind.setCurrentIndex(kind.findData(OutcomeEventKind.HOSPITAL_ADMISSION))
    left = child(dialog, QCheckBox, "discharged_check")
    destination = child(dialog, QComboBox, "discharge_destination_combo")
    permanent = child(dialog, QCheckBox, "event_permanent_check")
    assert left.accessibleName() == "Discharge"
    assert destination.accessibleName() == "Discharged to"
    assert left.isEnabled() and not destination.isEnabled() and not permanent.isEnabled()
    dialog.date_edit.set_date(TODAY - dt.timedelta(days=8))
    qtbot.mouseClick(left, Qt.MouseButton.LeftButton)
    assert destination.isEnabled()
    dialog.discharge.date_edit.set_date(TODAY - dt.timedelta(days=2))
    destination.setCurrentIndex(destination.findData(DischargeDestination.INTERMEDIATE_CARE))
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        event = session.scalars(select(OutcomeEvent)).one()
        assert (event.discharged_on, event.discharge_destination, event.permanent) == (
            TODAY - dt.timedelta(days=2),
            DischargeDestination.INTERMEDIATE_CARE,
            False,
        )

    qtbot.mouseClick(
        child(record, QPushButton, "record_outcome_event_button"), Qt.MouseButton.LeftButton
    )
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, OutcomeEventDialog)
    kind = child(dialog, QComboBox, "event_kind_combo")
    kind.setCurrentIndex(kind.findData(OutcomeEventKind.NURSING_CARE_ADMISSION))
    assert not child(dialog, QCheckBox, "discharged_check").isEnabled()
    permanent = child(dialog, QCheckBox, "event_permanent_check")
    assert permanent.isEnabled()
    qtbot.mouseClick(permanent, Qt.MouseButton.LeftButton)
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        placement = session.scalars(
            select(OutcomeEvent).where(OutcomeEvent.kind == OutcomeEventKind.NURSING_CARE_ADMISSION)
        ).one()
        assert placement.permanent is True


def test_a_discharge_is_recorded_later_for_the_chosen_admission(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    with store.write() as session:
        admission = plans.record_outcome_event(
            session,
            patient_id,
            kind=OutcomeEventKind.HOSPITAL_ADMISSION,
            occurred_on=TODAY - dt.timedelta(days=5),
        )
    record = open_record(patient_id)
    summary = record.summary_tab
    button = child(record, QPushButton, "record_discharge_button")
    assert button.accessibleName()
    # (Nothing chosen: tests/ui/test_interventions_ui.py.)
    table = summary.outcome_events_table
    table.selectionModel().select(
        summary.outcome_events_model.index(0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = summary.current_dialog
    assert isinstance(dialog, DischargeDialog)
    dialog.discharge.date_edit.set_date(TODAY - dt.timedelta(days=1))
    combo = child(dialog, QComboBox, "discharge_destination_combo")
    combo.setCurrentIndex(combo.findData(DischargeDestination.USUAL_RESIDENCE))
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        event = session.get(OutcomeEvent, admission)
        assert event is not None
        assert event.discharged_on == TODAY - dt.timedelta(days=1)
        assert event.discharge_destination is DischargeDestination.USUAL_RESIDENCE

    # The table shows it, and opened again to check or correct it, the form holds what
    # was recorded: saving it unchanged keeps it (never today and no destination).
    model = summary.outcome_events_model
    discharged_column = next(
        column
        for column in range(model.columnCount())
        if model.headerData(column, Qt.Orientation.Horizontal) == "Discharged"
    )
    qtbot.waitUntil(lambda: bool(model.index(0, discharged_column).data()), timeout=5000)
    shown = model.index(0, discharged_column).data()
    assert cui_date(TODAY - dt.timedelta(days=1)) in shown and "sual residence" in shown
    table.selectionModel().select(
        model.index(0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    again = summary.current_dialog
    assert isinstance(again, DischargeDialog)
    assert again.discharge.left_check.isChecked()
    assert again.discharge.date_edit.date_value() == TODAY - dt.timedelta(days=1)
    assert again.discharge.destination() is DischargeDestination.USUAL_RESIDENCE
    with saved(qtbot, record):
        qtbot.mouseClick(again.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        event = session.get(OutcomeEvent, admission)
        assert event is not None
        assert event.discharged_on == TODAY - dt.timedelta(days=1)
        assert event.discharge_destination is DischargeDestination.USUAL_RESIDENCE


def test_survey_answers_are_entered_in_the_record(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    record = open_record(patient_id)
    qtbot.mouseClick(child(record, QPushButton, "record_survey_button"), Qt.MouseButton.LeftButton)
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, ExperienceSurveyDialog)
    story = child(dialog, QComboBox, "survey_did_not_repeat_story_combo")
    assert story.accessibleName() == "5 I did not have to repeat my story"
    # Nothing answered: a message, nothing saved.
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    story.setCurrentIndex(story.findData(4))
    team_talk = child(dialog, QComboBox, "survey_communicated_with_each_other_combo")
    team_talk.setCurrentIndex(team_talk.findData(2))
    method = child(dialog, QComboBox, "survey_method")
    method.setCurrentIndex(method.findData(SurveyMethod.PHONE))
    qtbot.mouseClick(child(dialog, QCheckBox, "survey_proxy_check"), Qt.MouseButton.LeftButton)
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        answers = {
            (r.statement, r.agreement, r.collected_how, r.by_proxy, r.case_id)
            for r in session.scalars(select(ExperienceResponse))
        }
    assert answers == {
        (ExperienceStatement.DID_NOT_REPEAT_STORY, 4, SurveyMethod.PHONE, True, case_id),
        (ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER, 2, SurveyMethod.PHONE, True, case_id),
    }


def test_a_referral_is_closed_as_not_accepted_with_why(
    qtbot, open_record, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    with store.write() as session:
        case_id = cases.refer(
            session, patient_id, source=ReferralSource.GP, reason="Lonely", referred_on=TODAY
        ).id
    record = open_record(patient_id)
    summary = record.summary_tab
    summary.start_transition(CaseTransition.CLOSE)
    dialog = summary.current_dialog
    assert isinstance(dialog, CloseCaseDialog)
    why = child(dialog, QComboBox, "not_accepted_reason_combo")
    assert why.accessibleName() == "Why not accepted"
    assert not why.isEnabled()
    dialog.reason_combo.setCurrentIndex(dialog.reason_combo.findData(ClosureReason.NOT_ACCEPTED))
    assert why.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.label_for("not_accepted_reason")
    qtbot.waitUntil(error.isVisible, timeout=WAIT)
    why.setCurrentIndex(why.findData(NotAcceptedReason.NOT_ELIGIBLE))
    with saved(qtbot, record):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    with store.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.closure_reason is ClosureReason.NOT_ACCEPTED
        assert case.not_accepted_reason is NotAcceptedReason.NOT_ELIGIBLE
