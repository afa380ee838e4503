"""Composition root: opens the store, builds the desk, the task runner and the window."""

import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from mdt_desk.errors import UserError
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.runner import TaskRunner

ORGANISATION = "MDT Desk"
APPLICATION = "MDT Desk"

log = logging.getLogger(__name__)


def create_main_window(store_path: Path) -> MainWindow:
    """Open the store and build the fully wired main window for it.

    Never shows a dialog: on a store with someone signed in (a demo store has) the
    window opens on the caseload; on a new store the caller decides whether to show
    the welcome dialog (:meth:`MainWindow.show_welcome`). The window owns the store
    and closes it when it closes.

    Raises:
        StoreError: the file is not an MDT Desk store, is damaged or is too new.
    """
    store = Store.open(store_path)
    try:
        desk = Desk.for_store(store)
        runner = TaskRunner(desk)
        return MainWindow(runner)
    except BaseException:
        store.close()
        raise


def run_gui(store_path: Path) -> int:
    """Start the desktop application on ``store_path``; returns the exit status."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    try:
        window = create_main_window(store_path)
    except UserError as error:
        QMessageBox.critical(None, APPLICATION, str(error))
        return 2
    app.aboutToQuit.connect(window.runner.shutdown)
    window.show()
    if window.runner.desk.actor_id is None:
        window.show_welcome()
    log.info("desk window open")
    return int(app.exec())
