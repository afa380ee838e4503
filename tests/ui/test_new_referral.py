"""The new referral dialog: a rejected NHS number, a new person registered and referred,
an existing person found, and a second open case refused — as a user would see them."""

import datetime as dt
import random
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton
from sqlalchemy import func, select

from mdt_desk.models import Case, Patient
from mdt_desk.models.enums import CaseStatus, Gender, ReferralSource, Urgency
from mdt_desk.models.store import Store
from mdt_desk.services.demo import synthetic_nhs_numbers
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_age, cui_date
from mdt_desk.services.validation import format_nhs_number
from mdt_desk.ui.new_referral_dialog import NewReferralDialog
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import format_nhs_digits
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def dialog(qtbot, runner) -> NewReferralDialog:
    opened = NewReferralDialog(runner)
    qtbot.addWidget(opened)
    opened.open()
    qtbot.waitExposed(opened)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    return opened


def settle(qtbot, runner: TaskRunner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def spare_numbers(count: int) -> list[str]:
    numbers = synthetic_nhs_numbers(random.Random(5), count + 1)
    return [number for number in numbers if number != "9990000018"][:count]


def find(qtbot, runner, dialog: NewReferralDialog, typed: str) -> None:
    nhs = child(dialog, QLineEdit, "referral_nhs_number")
    nhs.clear()
    qtbot.keyClicks(nhs, typed)
    qtbot.keyClick(nhs, Qt.Key.Key_Return)
    settle(qtbot, runner)


def count(store: Store, model: type) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("943 476 5910", "the check digit does not match"),
        ("12345", "it must be 10 digits"),
        ("101 010 0009", "not in a range of NHS numbers issued in England"),
    ],
)
def test_an_invalid_nhs_number_is_refused_with_the_reason_and_kept(
    qtbot, runner, dialog, typed, why
):
    find(qtbot, runner, dialog, typed)
    error = child(dialog, QLabel, "referral_nhs_error")
    assert error.isVisible()
    assert why in error.text()
    assert child(dialog, QLineEdit, "referral_nhs_number").text() == format_nhs_digits(typed)
    assert not child(dialog, QPushButton, "referral_save_button").isEnabled()


def test_a_new_person_is_registered_and_referred(qtbot, store, runner, dialog, practice_ids):
    number = spare_numbers(1)[0]
    find(qtbot, runner, dialog, "943 476 5910")  # first a mistyped number
    assert child(dialog, QLabel, "referral_nhs_error").isVisible()
    nhs = child(dialog, QLineEdit, "referral_nhs_number")
    nhs.clear()
    qtbot.keyClicks(nhs, number)
    assert nhs.text() == format_nhs_number(number)  # grouped 3-3-4 while typing
    qtbot.mouseClick(child(dialog, QPushButton, "referral_find_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert not child(dialog, QLabel, "referral_nhs_error").isVisible()
    family = child(dialog, QLineEdit, "referral_family_name")
    assert family.isVisible()
    qtbot.keyClicks(family, "Hughes")
    qtbot.keyClicks(child(dialog, QLineEdit, "referral_given_name"), "Gwen")
    qtbot.keyClicks(child(dialog, QLineEdit, "referral_title"), "Mrs")
    born = child(dialog, QLineEdit, "referral_date_of_birth")
    qtbot.keyClicks(born, "14/07/1945")
    born.editingFinished.emit()
    assert born.text() == "14-Jul-1945"
    gender = child(dialog, QComboBox, "referral_gender")
    gender.setCurrentIndex(gender.findData(Gender.FEMALE))
    practice = child(dialog, QComboBox, "referral_practice")
    qtbot.keyClicks(practice.lineEdit(), "a81002")  # by ODS code, any case
    completer = practice.completer()
    assert completer is not None
    assert completer.completionCount() == 1
    assert completer.currentCompletion() == "Queens Park Medical Centre (A81002)"
    practice.setEditText(completer.currentCompletion())

    # Saved without a reason: told next to the field; nothing typed is lost, no one stored.
    save = child(dialog, QPushButton, "referral_save_button")
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    reason_error = dialog.errors.label_for("referral_reason")
    assert reason_error.isVisible()
    assert "reason for the referral" in reason_error.text()
    assert family.text() == "Hughes"
    assert born.text() == "14-Jul-1945"
    assert count(store, Patient) == 0

    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Falls at home")
    source = child(dialog, QComboBox, "referral_source")
    source.setCurrentIndex(source.findData(ReferralSource.HOSPITAL))
    urgency = child(dialog, QComboBox, "referral_urgency")
    urgency.setCurrentIndex(urgency.findData(Urgency.URGENT))
    with qtbot.waitSignal(dialog.referral_made, timeout=WAIT) as made:
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    patient_id, case_id = made.args
    with store.read() as session:
        patient = session.get(Patient, patient_id)
        case = session.get(Case, case_id)
        assert (patient.family_name, patient.given_name, patient.title) == ("Hughes", "Gwen", "Mrs")
        assert patient.nhs_number == number
        assert patient.date_of_birth == dt.date(1945, 7, 14)
        assert patient.gender is Gender.FEMALE
        assert patient.practice_id == practice_ids["A81002"]
        assert (case.status, case.referral_source, case.referral_urgency) == (
            CaseStatus.REFERRED,
            ReferralSource.HOSPITAL,
            Urgency.URGENT,
        )
        assert case.referral_reason == "Falls at home"
        assert case.referred_on == TODAY
    assert dialog.result() == NewReferralDialog.DialogCode.Accepted


def test_registration_errors_are_shown_by_their_fields(qtbot, store, runner, dialog):
    find(qtbot, runner, dialog, spare_numbers(1)[0])
    born = child(dialog, QLineEdit, "referral_date_of_birth")
    qtbot.keyClicks(born, "31/02/1950")
    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Carer unwell")
    qtbot.mouseClick(child(dialog, QPushButton, "referral_save_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert "Enter the family name" in dialog.errors.label_for("family_name").text()
    assert "not a real date" in dialog.errors.label_for("date_of_birth").text()
    assert "Choose the practice" in dialog.errors.label_for("practice").text()
    assert born.text() == "31/02/1950"
    assert count(store, Patient) == 0


def test_an_existing_person_is_found_and_referred(qtbot, store, runner, dialog, practice_ids):
    patient_id = new_patient(store, practice_ids["A81001"])
    find(qtbot, runner, dialog, "999-000-0018")
    found = child(dialog, QLabel, "referral_found_person")
    assert found.isVisible()
    text = found.text()
    assert "EVANS, Siân (Ms)" in text
    assert f"Born 02-Mar-1938 ({cui_age(dt.date(1938, 3, 2), TODAY)})" in text
    assert "NHS No. 999 000 0018" in text
    assert "The Densham Surgery (A81001)" in text
    assert not child(dialog, QLineEdit, "referral_family_name").isVisible()
    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Lives alone, frail")
    with qtbot.waitSignal(dialog.referral_made, timeout=WAIT) as made:
        qtbot.mouseClick(
            child(dialog, QPushButton, "referral_save_button"), Qt.MouseButton.LeftButton
        )
    assert made.args[0] == patient_id
    assert count(store, Patient) == 1
    assert count(store, Case) == 1


def test_a_second_open_case_is_refused_and_the_open_one_offered(
    qtbot, store, team, runner, dialog, practice_ids
):
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    find(qtbot, runner, dialog, "9990000018")
    assert f"Open case: active, referred {cui_date(dt.date(2026, 11, 22))}." in (
        child(dialog, QLabel, "referral_found_person").text()
    )
    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Another fall")
    qtbot.mouseClick(child(dialog, QPushButton, "referral_save_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert dialog.errors.summary.isVisible()
    assert "already has an open case" in dialog.errors.summary.text()
    assert child(dialog, QPlainTextEdit, "referral_reason").toPlainText() == "Another fall"
    assert count(store, Case) == 1
    open_button = child(dialog, QPushButton, "referral_open_case_button")
    assert open_button.isVisible()
    with qtbot.waitSignal(dialog.open_case_requested, timeout=WAIT) as requested:
        qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    assert requested.args == [patient_id, case_id]
