"""Fixtures for the GUI tests: isolated settings, a demo store, the real main window."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from mdt_desk.models.store import Store
from mdt_desk.models.store_key import store_key
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.runner import TaskRunner
from tests.shared_stores import copy_store, made_sealed

DEMO_PATIENTS = 1500


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, qapp) -> Iterator[None]:
    """Window state goes to a throw-away INI file, never the user's settings."""
    QCoreApplication.setOrganizationName("MDT Desk tests")
    QCoreApplication.setApplicationName("MDT Desk tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings")
    )
    yield


@pytest.fixture(scope="session")
def _demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """The demo store every test copies, and its encryption key."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    # Made once for the whole run, outside any one test's keyring: its key is sealed by a
    # passphrase, then handed to each copy.
    with made_sealed():
        with Store.open(path) as store:
            generate_demo(store, patients=DEMO_PATIENTS, seed=11)
        key = store_key(path)
    return path, key


@pytest.fixture
def demo_store_path(_demo_store_template: tuple[Path, bytes], tmp_path: Path) -> Path:
    """A fresh copy of a small demo store (signed in as a demo coordinator), its key
    kept in this test's keyring."""
    template, key = _demo_store_template
    return copy_store(template, key, tmp_path / "demo.sqlite")


@pytest.fixture
def wait_idle(qtbot) -> Callable[[object], None]:
    """Wait until a window's task runner has finished everything queued."""

    def wait(window: object) -> None:
        runner = window.runner  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)

    return wait


#: How long a record test waits for the worker thread.
RECORD_WAIT = 10_000


@pytest.fixture
def runner(store: Store, team: dict[str, uuid.UUID]) -> Iterator[TaskRunner]:
    """The task runner of a desk on the test's store, signed in as its first staff."""
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def open_record(qtbot, runner):
    """Open a person's case record (a case of theirs, or their current one) and wait
    until it has loaded."""

    def opener(patient_id: uuid.UUID, case_id: uuid.UUID | None = None) -> CaseRecordWidget:
        record = CaseRecordWidget(runner, patient_id, case_id)
        qtbot.addWidget(record)
        record.resize(1100, 750)
        record.show()
        qtbot.waitUntil(lambda: record.view is not None, timeout=RECORD_WAIT)
        qtbot.waitUntil(lambda: not runner.busy, timeout=RECORD_WAIT)
        return record

    return opener
