"""Survey answers in the case record (issue 12): seen in the Summary tab's table, corrected
by saving again for the same day, withdrawn after a question, and told in the history."""

import datetime as dt
import uuid

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QComboBox, QMessageBox, QPushButton, QTableView
from sqlalchemy import select

from mdt_desk.models import ExperienceResponse
from mdt_desk.models.enums import ExperienceStatement, Role, SurveyMethod
from mdt_desk.models.store import Store
from mdt_desk.services import experience
from mdt_desk.services.access import Principal
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.dialogs import ExperienceSurveyDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.role_screens import RoleGate
from mdt_desk.ui.runner import TaskRunner
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()
STORY = "I did not have to repeat my story"
TEAM_TALK = "The people who care for me communicated with each other"


def _open(qtbot, runner: TaskRunner, patient_id: uuid.UUID) -> CaseRecordWidget:
    record = CaseRecordWidget(runner, patient_id, None)
    qtbot.addWidget(record)
    record.resize(1100, 750)
    record.show()
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    return record


def _table_rows(record: CaseRecordWidget) -> list[tuple[str, ...]]:
    table = child(record, QTableView, "experience_answers_table")
    model = table.model()
    return [
        tuple(
            str(model.index(row, column).data(Qt.ItemDataRole.DisplayRole))
            for column in range(model.columnCount())
        )
        for row in range(model.rowCount())
    ]


def _answer_survey(qtbot, record: CaseRecordWidget, answers: dict[str, int]) -> None:
    qtbot.mouseClick(child(record, QPushButton, "record_survey_button"), Qt.MouseButton.LeftButton)
    dialog = record.summary_tab.current_dialog
    assert isinstance(dialog, ExperienceSurveyDialog)
    for statement, agreement in answers.items():
        combo = child(dialog, QComboBox, f"survey_{statement}_combo")
        combo.setCurrentIndex(combo.findData(agreement))
    method = child(dialog, QComboBox, "survey_method")
    method.setCurrentIndex(method.findData(SurveyMethod.PHONE))
    with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not record.runner.busy, timeout=WAIT)


def _choose_row(record: CaseRecordWidget, statement: str) -> None:
    table = child(record, QTableView, "experience_answers_table")
    rows = [row for row, values in enumerate(_table_rows(record)) if values[0] == statement]
    assert len(rows) == 1
    table.selectionModel().select(
        table.model().index(rows[0], 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


def _live(store: Store) -> set[tuple[ExperienceStatement, int]]:
    with store.read() as session:
        return {
            (answer.statement, answer.agreement)
            for answer in session.scalars(
                select(ExperienceResponse).where(ExperienceResponse.retired_at.is_(None))
            )
        }


def test_answers_are_seen_corrected_by_saving_again_and_withdrawn(
    qtbot, qtmodeltester, runner, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = _open(qtbot, runner, patient_id)
    withdraw = child(record, QPushButton, "withdraw_survey_answer_button")
    assert _table_rows(record) == []
    assert not withdraw.isEnabled()

    _answer_survey(qtbot, record, {"did_not_repeat_story": 4, "communicated_with_each_other": 2})
    qtbot.waitUntil(lambda: len(_table_rows(record)) == 2, timeout=WAIT)
    assert sorted(_table_rows(record)) == sorted(
        [
            (TEAM_TALK, "Disagree", _day(), "Phone", "No"),
            (STORY, "Agree", _day(), "Phone", "No"),
        ]
    )
    assert record.summary_tab.survey_notice.text() == "Survey answers: 2 recorded."
    qtmodeltester.check(record.summary_tab.experience_answers_model)

    # The same day again: each statement keeps one answer, the new one.
    _answer_survey(qtbot, record, {"did_not_repeat_story": 5})
    qtbot.waitUntil(
        lambda: (STORY, "Strongly agree", _day(), "Phone", "No") in _table_rows(record),
        timeout=WAIT,
    )
    assert len(_table_rows(record)) == 2
    assert _live(store) == {
        (ExperienceStatement.DID_NOT_REPEAT_STORY, 5),
        (ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER, 2),
    }
    notice = record.summary_tab.survey_notice
    assert "replaced" in notice.text() and "was Agree" in notice.text()

    # Withdraw asks first; keeping the answer changes nothing.
    _choose_row(record, TEAM_TALK)
    assert withdraw.isEnabled()
    qtbot.mouseClick(withdraw, Qt.MouseButton.LeftButton)
    box = record.summary_tab.withdraw_answer_confirm
    assert isinstance(box, QMessageBox) and "Disagree" in box.text()
    qtbot.mouseClick(child(box, QPushButton, "keep_answer_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.summary_tab.withdraw_answer_confirm is None, timeout=WAIT)
    assert len(_table_rows(record)) == 2
    qtbot.mouseClick(withdraw, Qt.MouseButton.LeftButton)
    box = record.summary_tab.withdraw_answer_confirm
    assert box is not None
    with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
        qtbot.mouseClick(
            child(box, QPushButton, "confirm_withdraw_answer_button"), Qt.MouseButton.LeftButton
        )
    qtbot.waitUntil(lambda: len(_table_rows(record)) == 1, timeout=WAIT)
    assert _table_rows(record)[0][:2] == (STORY, "Strongly agree")
    assert _live(store) == {(ExperienceStatement.DID_NOT_REPEAT_STORY, 5)}
    assert not withdraw.isEnabled()  # nothing chosen any more

    # The history tells it in words.
    history = record.history_tab.model.rows()
    survey = [e for e in history if e.entity == "experience_response"]
    assert any(
        e.record.startswith(f"Survey answer: '{STORY}'")
        and e.field == "Agreement"
        and (e.old_text, e.new_text) == ("Agree", "Strongly agree")
        for e in survey
    )
    assert any(
        e.record.startswith(f"Survey answer: '{TEAM_TALK}'") and e.field == "Withdrawn"
        for e in survey
    )


def _day() -> str:
    return cui_date(TODAY)


def test_a_role_that_may_not_record_answers_sees_them_but_cannot_withdraw(
    qtbot, store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    with store.write() as session:
        experience.record_experience_response(
            session,
            patient_id,
            statement=ExperienceStatement.DID_NOT_REPEAT_STORY,
            agreement=4,
            answered_on=TODAY,
            collected_how=SurveyMethod.PAPER,
        )
    observer = Principal(
        staff_id=team["gp"], display_name="Observer", roles=frozenset({Role.OBSERVER})
    )
    task_runner = TaskRunner(Desk.for_store(store).signed_in_as(observer))
    gate = RoleGate(observer)
    try:
        record = _open(qtbot, task_runner, patient_id)
        gate.follow(observer, record)
        assert _table_rows(record) == [(STORY, "Agree", _day(), "Paper", "No")]
        _choose_row(record, STORY)
        withdraw = child(record, QPushButton, "withdraw_survey_answer_button")
        assert not withdraw.isEnabled()
        assert "does not allow" in withdraw.toolTip()
        assert not child(record, QPushButton, "record_survey_button").isEnabled()
    finally:
        gate.stop()
        task_runner.shutdown()
