"""Fixtures for the GUI tests: isolated settings, a demo store, the real main window."""

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo

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
def _demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with Store.open(path) as store:
        generate_demo(store, patients=DEMO_PATIENTS, seed=11)
    return path


@pytest.fixture
def demo_store_path(_demo_store_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of a small demo store (signed in as a demo coordinator)."""
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(_demo_store_template, path)
    return path


@pytest.fixture
def wait_idle(qtbot) -> Callable[[object], None]:
    """Wait until a window's task runner has finished everything queued."""

    def wait(window: object) -> None:
        runner = window.runner  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)

    return wait
