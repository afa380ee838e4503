"""Change coordinator: the practice's staff first, everyone on request, never the
administrator; the error fits the dialog and goes once the choice is corrected."""

import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from mdt_desk.errors import ValidationError
from mdt_desk.models.store import Store
from mdt_desk.services import cases
from mdt_desk.services import staff as staff_service
from mdt_desk.services.desk import Desk
from mdt_desk.ui.case_record.dialogs import ChangeCoordinatorDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.runner import TaskRunner
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000


@pytest.fixture
def more_staff(store: Store, team) -> dict[str, uuid.UUID]:
    """The administrator (covers the practice, but coordinates no one) and a matron who
    covers another practice only."""
    with store.write(actor_label="test set-up") as session:
        admin = staff_service.add_staff(
            session,
            family_name="Admin",
            given_name="Desk",
            profession="administrator",
            practice_codes=("A81001",),
        ).id
        matron = staff_service.add_staff(
            session,
            family_name="Elsewhere",
            given_name="Mo",
            profession="community_matron",
            practice_codes=("A81004",),
        ).id
    return {"admin": admin, "matron": matron}


@pytest.fixture
def runner(store: Store, team) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def combo_items(combo: QComboBox) -> list[tuple[str, object]]:
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def open_change_dialog(
    qtbot, runner, store, practice_ids, team
) -> tuple[CaseRecordWidget, ChangeCoordinatorDialog]:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    record = CaseRecordWidget(runner, patient_id, None)
    qtbot.addWidget(record)
    record.resize(1100, 750)
    record.show()
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    record.show_tab("coordinator")
    qtbot.mouseClick(child(record, QWidget, "change_coordinator_button"), Qt.MouseButton.LeftButton)
    dialog = record.coordinator_tab.current_dialog
    assert isinstance(dialog, ChangeCoordinatorDialog)
    qtbot.waitExposed(dialog)
    return record, dialog


def test_the_practice_staff_come_first_everyone_on_request_never_the_administrator(
    qtbot, runner, store, practice_ids, team, more_staff
):
    _record, dialog = open_change_dialog(qtbot, runner, store, practice_ids, team)
    combo = child(dialog, QComboBox, "coordinator_combo")
    show_everyone = child(dialog, QCheckBox, "show_everyone_check")
    offered = [data for _text, data in combo_items(combo)]
    # the current coordinator and the administrator are not offered; only the practice
    assert offered == [None, team["district_nurse"], team["gp"]]
    assert show_everyone.isVisible() and not show_everyone.isChecked()
    qtbot.mouseClick(show_everyone, Qt.MouseButton.LeftButton)
    items = combo_items(combo)
    assert [data for _text, data in items] == [
        None,
        team["district_nurse"],
        team["gp"],
        None,  # the separator
        more_staff["matron"],
    ]
    assert items[-1][0] == "Mo Elsewhere — Community matron (other practice)"
    assert more_staff["admin"] not in [data for _text, data in items]


def test_the_administrator_cannot_be_made_coordinator(store, practice_ids, team, more_staff):
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with (
        pytest.raises(ValidationError, match="administrator, not a care coordinator"),
        store.write(team["social_worker"]) as session,
    ):
        cases.change_coordinator(
            session, case_id, coordinator_id=more_staff["admin"], reason="Cover", on=TODAY
        )


def inside(outer: QRect, inner: QRect) -> bool:
    return outer.contains(inner.topLeft()) and outer.contains(inner.bottomRight())


def test_the_coordinator_error_fits_and_clears_once_corrected(
    qtbot, runner, store, practice_ids, team, more_staff
):
    _record, dialog = open_change_dialog(qtbot, runner, store, practice_ids, team)
    combo = child(dialog, QComboBox, "coordinator_combo")
    dialog.reason_edit.setText("Nursing needs now lead")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    error = dialog.errors.label_for("coordinator")
    qtbot.waitUntil(error.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: error.height() >= error.heightForWidth(error.width()), timeout=WAIT)
    assert "coordinator" in error.text()
    # the whole message is on screen: wrapped, inside the dialog, clear of the picker
    assert error.wordWrap()
    on_dialog = QRect(error.mapTo(dialog, error.rect().topLeft()), error.size())
    assert inside(dialog.rect(), on_dialog)
    picker = QRect(combo.mapTo(dialog, combo.rect().topLeft()), combo.size())
    assert not on_dialog.intersects(picker)
    assert error.height() >= error.heightForWidth(error.width())
    # choosing someone clears the message at once, before saving again
    combo.setCurrentIndex(1)
    assert not error.isVisible()
