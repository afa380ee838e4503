"""The first-run welcome dialog: the demo path and the set-up path both end signed in."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QLabel, QLineEdit, QProgressBar, QPushButton
from sqlalchemy import func, select

from mdt_desk.models import Patient, Practice, Staff
from mdt_desk.models.enums import Profession
from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service
from mdt_desk.services.desk import Desk
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.welcome_dialog import WelcomeDialog
from tests.conftest import epraccur_row
from tests.ui.finders import child

WAIT = 60_000


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def settle(qtbot, runner: TaskRunner) -> None:
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)


def count(store: Store, model: type) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def open_welcome(qtbot, runner: TaskRunner, **options: int) -> WelcomeDialog:
    dialog = WelcomeDialog(runner, None, **options)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    settle(qtbot, runner)
    return dialog


def test_explore_with_demo_data_signs_in_a_demo_coordinator(qtbot, store, runner):
    assert runner.desk.actor_id is None
    dialog = open_welcome(qtbot, runner, demo_patients=120, demo_seed=3)
    progress_seen: list[int] = []
    bar = child(dialog, QProgressBar, "welcome_demo_progress")
    bar.valueChanged.connect(progress_seen.append)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        qtbot.mouseClick(
            child(dialog, QPushButton, "welcome_demo_button"), Qt.MouseButton.LeftButton
        )
    assert 120 in progress_seen
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert count(store, Patient) == 120
    # The desk is signed in as the coordinator the demo chose, and says so.
    assert runner.desk.actor_id is not None
    assert runner.desk.actor_id == staff_service.signed_in_staff_id(store)
    assert runner.desk.actor_name == dialog.demo_report.signed_in
    assert dialog.demo_report.signed_in in dialog.demo_status.text()


def test_set_up_the_team_imports_practices_adds_staff_and_signs_in(
    qtbot, store, runner, tmp_path: Path, monkeypatch
):
    ods_file = tmp_path / "epraccur.csv"
    ods_file.write_text(
        "\n".join(
            (
                epraccur_row("A81001", "THE DENSHAM SURGERY", "00K"),
                epraccur_row("A81002", "QUEENS PARK MEDICAL CENTRE", "00K"),
                epraccur_row("Y00001", "WALK-IN CENTRE", "00K", setting="1"),
            )
        )
        + "\n"
    )
    dialog = open_welcome(qtbot, runner)
    monkeypatch.setattr(dialog, "choose_ods_file", lambda: ods_file)
    qtbot.mouseClick(child(dialog, QPushButton, "welcome_import_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    status = child(dialog, QLabel, "welcome_import_status").text()
    assert "2 imported" in status
    assert "1 skipped" in status
    assert count(store, Practice) == 2

    # A mistake first: told by the field, and what was typed stays.
    given = child(dialog, QLineEdit, "welcome_staff_given")
    qtbot.keyClicks(given, "Ngozi")
    add = child(dialog, QPushButton, "welcome_add_staff_button")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    settle(qtbot, runner)
    assert "family name" in dialog.errors.label_for("family_name").text()
    assert "profession" in dialog.errors.label_for("profession").text()
    assert given.text() == "Ngozi"
    assert count(store, Staff) == 0

    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_family"), "Okafor")
    profession = child(dialog, QComboBox, "welcome_staff_profession")
    profession.setCurrentIndex(profession.findData(Profession.SOCIAL_WORKER))
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_practices"), "A81001, a81002")
    with qtbot.waitSignal(dialog.staff_added, timeout=WAIT) as added:
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    member = added.args[0]
    assert member.practice_codes == ("A81001", "A81002")
    settle(qtbot, runner)
    assert "Ngozi Okafor added to the team" in dialog.staff_status.text()
    combo = child(dialog, QComboBox, "welcome_sign_in_combo")
    assert combo.currentData() == member.id
    assert combo.currentText() == "Ngozi Okafor — Social worker"

    # The first person to sign in sets their PIN, twice (and becomes administrator).
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_pin_edit"), "731964")
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_repeat_pin_edit"), "731964")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        qtbot.mouseClick(
            child(dialog, QPushButton, "welcome_sign_in_button"), Qt.MouseButton.LeftButton
        )
    assert runner.desk.actor_id == member.id
    assert runner.desk.actor_name == "Ngozi Okafor"
    assert staff_service.signed_in_staff_id(store) == member.id


def test_a_file_that_is_not_an_ods_file_is_explained(qtbot, store, runner, tmp_path, monkeypatch):
    wrong = tmp_path / "patients.csv"
    wrong.write_text("nhs_number,family_name\n9990000018,Evans\n")
    dialog = open_welcome(qtbot, runner)
    monkeypatch.setattr(dialog, "choose_ods_file", lambda: wrong)
    dialog.import_practices()
    settle(qtbot, runner)
    assert "is not an ODS epraccur file" in dialog.import_error.text()
    assert child(dialog, QPushButton, "welcome_import_button").isEnabled()


def test_sign_in_needs_someone_to_choose(qtbot, store, runner):
    dialog = open_welcome(qtbot, runner)
    assert child(dialog, QComboBox, "welcome_sign_in_combo").count() == 0
    assert not child(dialog, QPushButton, "welcome_sign_in_button").isEnabled()
    dialog.sign_in()
    assert "Add yourself to the team first" in dialog.sign_in_error.text()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert runner.desk.actor_id is None


def test_practice_import_shows_its_progress_as_a_percentage(
    qtbot, store, runner, tmp_path: Path, monkeypatch
):
    from mdt_desk.resources import resource_path

    dialog = open_welcome(qtbot, runner)
    monkeypatch.setattr(dialog, "choose_ods_file", lambda: resource_path("demo", "practices.csv"))
    bar = child(dialog, QProgressBar, "welcome_import_progress")
    assert not bar.isVisible()
    shown: list[tuple[str, bool]] = []
    bar.valueChanged.connect(lambda _value: shown.append((bar.text(), bar.isVisible())))

    qtbot.mouseClick(child(dialog, QPushButton, "welcome_import_button"), Qt.MouseButton.LeftButton)
    settle(qtbot, runner)

    assert count(store, Practice) > 0
    texts = [text for text, visible in shown if visible]
    assert texts[-1] == "100%"
    # Part-way figures were on show while the import ran, in order.
    middle = [int(text.rstrip("%")) for text in texts[:-1]]
    assert middle and all(0 < value < 100 for value in middle)
    assert middle == sorted(middle)
    assert bar.accessibleName() == "Practice import progress"
