"""The new referral form refuses a disguised name next to the field, and keeps it typed."""

import random
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QPushButton
from sqlalchemy import func, select

from mdt_desk.models import Patient
from mdt_desk.models.store import Store
from mdt_desk.services.demo import synthetic_nhs_numbers
from mdt_desk.services.desk import Desk
from mdt_desk.ui.new_referral_dialog import NewReferralDialog
from mdt_desk.ui.runner import TaskRunner
from tests.ui.finders import child

WAIT = 10_000


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b"])
def test_a_disguised_family_name_is_refused_by_its_field(qtbot, store, runner, hidden) -> None:
    dialog = NewReferralDialog(runner)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    nhs = child(dialog, QLineEdit, "referral_nhs_number")
    qtbot.keyClicks(nhs, synthetic_nhs_numbers(random.Random(9), 1)[0])
    qtbot.keyClick(nhs, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    family = child(dialog, QLineEdit, "referral_family_name")
    family.setText(f"Smi{hidden}th")  # pasted: the character cannot be typed
    qtbot.keyClicks(child(dialog, QLineEdit, "referral_given_name"), "Jane")
    qtbot.keyClicks(child(dialog, QLineEdit, "referral_date_of_birth"), "14/07/1945")
    qtbot.keyClicks(child(dialog, QPlainTextEdit, "referral_reason"), "Falls at home")
    qtbot.mouseClick(child(dialog, QPushButton, "referral_save_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    message = dialog.errors.label_for("family_name").text()
    assert "invisible character" in message
    assert f"U+{ord(hidden):04X}" in message
    assert family.text() == f"Smi{hidden}th"
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0
