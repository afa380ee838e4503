"""Screenshots of two forms of the case record, filled in as a person would, at their
natural size over a 1280×800 main window, from a demo store (offscreen).

Writes docs/screenshots/survey-answers-dialog.png ("Record survey answers…": four
statements answered, one left "Not answered", collected by phone from a relative) and
discharge-dialog.png ("Record discharge…" for a hospital admission that has no discharge
yet: the day the person left and where to), and case-summary-indicator-data.png (the record
behind them at 1280×800).

Usage: .venv/bin/python scripts/shot_record_dialogs.py [--store demo.sqlite]
(Without a keyring, set MDT_DESK_STORE_PASSPHRASE: the store is encrypted.)
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, QSettings
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.app import create_main_window
from mdt_desk.models import Case, OutcomeEvent
from mdt_desk.models.enums import (
    CaseStatus,
    DischargeDestination,
    ExperienceStatement,
    OutcomeEventKind,
    SurveyMethod,
)
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.ui.case_record.dialogs import RecordDialog
from mdt_desk.ui.main_window import MainWindow
from scripts.shot_indicators import settle
from scripts.take_screenshots import OUT, save, sign_in

#: A plausible spread of answers: mostly agreeing, one disagreement, one left blank.
SURVEY_ANSWERS: dict[ExperienceStatement, int | None] = {
    ExperienceStatement.COMMUNICATED_WITH_ME: 4,
    ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER: 2,
    ExperienceStatement.WELL_COORDINATED: 4,
    ExperienceStatement.RIGHT_PROFESSIONALS: 5,
    ExperienceStatement.DID_NOT_REPEAT_STORY: None,
}


def admission_in_hospital(store: Store) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The most recent hospital admission with no discharge yet of a person with an
    active case: (patient, case, admission)."""
    with store.read() as session:
        row = session.execute(
            select(Case.patient_id, Case.id, OutcomeEvent.id)
            .join(OutcomeEvent, OutcomeEvent.patient_id == Case.patient_id)
            .where(
                Case.status == CaseStatus.ACTIVE,
                OutcomeEvent.kind == OutcomeEventKind.HOSPITAL_ADMISSION,
                OutcomeEvent.discharged_on.is_(None),
            )
            .order_by(OutcomeEvent.occurred_on.desc())
            .limit(1)
        ).first()
    assert row is not None, "the demo store has no admission still in hospital"
    return row[0], row[1], row[2]


def choose(combo: QComboBox, value: object) -> None:
    """Pick the item that stands for ``value``, as a person choosing it would."""
    index = combo.findData(value)
    assert index >= 0, f"{combo.objectName()} has no item for {value!r}"
    combo.setCurrentIndex(index)


def describe(dialog: RecordDialog, window: MainWindow) -> None:
    """Say how big the dialog opened and whether it fits over the main window."""
    size, room = dialog.size(), window.size()
    fits = size.width() <= room.width() and size.height() <= room.height()
    sys.stdout.write(
        f"{dialog.windowTitle()}: {size.width()}×{size.height()} "
        f"({'fits' if fits else 'does NOT fit'} in {room.width()}×{room.height()})\n"
    )


def survey_shot(
    app: QApplication, window: MainWindow, patient_id: uuid.UUID, case_id: uuid.UUID
) -> None:
    record = window.open_record(patient_id, case_id)
    settle(app, window)
    record.show_tab("summary")
    settle(app, window)
    dialog = record.summary_tab.open_survey_dialog()
    assert dialog is not None, "the record had no view to open the survey form on"
    settle(app, window)
    for statement, agreement in SURVEY_ANSWERS.items():
        choose(dialog.agreement_combos[statement], agreement)
    dialog.answered_on_edit.set_date(dt.date.today() - dt.timedelta(days=3))
    choose(dialog.method_combo, SurveyMethod.PHONE)
    dialog.proxy_check.setChecked(True)
    dialog.ok_button.setFocus()
    settle(app, window)
    describe(dialog, window)
    save(dialog, "survey-answers-dialog.png")
    dialog.drafts.discard_all()
    dialog.done(0)
    settle(app, window)


def discharge_shot(
    app: QApplication,
    window: MainWindow,
    patient_id: uuid.UUID,
    case_id: uuid.UUID,
    admission_id: uuid.UUID,
) -> None:
    record = window.open_record(patient_id, case_id)
    settle(app, window)
    record.show_tab("summary")
    settle(app, window)
    summary = record.summary_tab
    assert summary.view is not None, "the record did not load"
    events = summary.view.outcome_events
    row = next(number for number, event in enumerate(events) if event.id == admission_id)
    summary.outcome_events_table.selectionModel().select(
        summary.outcome_events_model.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    dialog = summary.open_discharge_dialog()
    assert dialog is not None, "no hospital admission was chosen"
    settle(app, window)
    admitted = events[row].occurred_on
    dialog.discharge.date_edit.set_date(min(admitted + dt.timedelta(days=6), dt.date.today()))
    choose(dialog.discharge.destination_combo, DischargeDestination.INTERMEDIATE_CARE)
    dialog.ok_button.setFocus()
    settle(app, window)
    describe(dialog, window)
    save(dialog, "discharge-dialog.png")
    dialog.drafts.discard_all()
    dialog.done(0)
    settle(app, window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    store_path = args.store
    if store_path is None:
        store_path = Path(tempfile.mkdtemp()) / "demo.sqlite"
        with Store.open(store_path) as store:
            generate_demo(store, patients=600, seed=1)
    with Store.open(store_path) as store:
        patient_id, case_id, admission_id = admission_in_hospital(store)
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    OUT.mkdir(parents=True, exist_ok=True)

    window = create_main_window(store_path)
    window.resize(1280, 800)
    window.show()
    settle(app, window)
    sign_in(app, window)
    survey_shot(app, window, patient_id, case_id)
    discharge_shot(app, window, patient_id, case_id, admission_id)
    # The record behind them, at 1280×800: the Summary tab with the outcome events
    # (discharges), short-term interventions and survey answers boxes.
    settle(app, window)
    summary = window.findChild(QScrollArea)
    if summary is not None:  # scrolled to its end: outcome events, interventions, survey
        bar = summary.verticalScrollBar()
        bar.setValue(bar.maximum())
        settle(app, window)
    save(window, "case-summary-indicator-data.png")
    window.close()
    settle(app, window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
