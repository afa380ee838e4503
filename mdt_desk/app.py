"""Composition root: opens the store, builds the desk, the task runner and the window."""

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from mdt_desk.display_check import display_problem
from mdt_desk.errors import UserError
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import WrongPassphraseError, set_passphrase_prompt
from mdt_desk.services.access import store_in_setup
from mdt_desk.services.desk import Desk
from mdt_desk.services.sign_in import sign_in_with_pin
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.startup_shell import remember_sign_in
from mdt_desk.ui.store_passphrase_dialog import ask_store_passphrase
from mdt_desk.ui.widgets import install_wheel_guard

ORGANISATION = "MDT Desk"
APPLICATION = "MDT Desk"

log = logging.getLogger(__name__)


@dataclass
class OpenedDesk:
    """A store opened and its desk made, ready for a window (no Qt object yet)."""

    desk: Desk
    #: nobody has a PIN yet: the window opens on the caseload, not the sign-in screen
    in_setup: bool


def open_desk(store_path: Path, *, pin: str | None = None) -> OpenedDesk:
    """Open the store and make its desk; no widget is made, so any thread may call it.

    The key is fetched (keyring, or sealed by a passphrase) and any migration runs here.
    The caller owns the store and must close it if no window takes it.

    Args:
        pin: for scripts and tests only: sign the last signed-in person in with this PIN.

    Raises:
        StoreError: the file is not an MDT Desk store, is damaged or is too new.
        UserError: ``pin`` was given and is not that person's.
    """
    store = Store.open(store_path)
    try:
        desk = Desk.for_store(store)
        with store.read() as session:
            setup = store_in_setup(session)
        if pin is not None and not setup and desk.actor_id is not None:
            desk = desk.signed_in_as(sign_in_with_pin(store, desk.actor_id, pin).principal)
        return OpenedDesk(desk, setup)
    except BaseException:
        store.close()
        raise


def window_for(opened: OpenedDesk) -> MainWindow:
    """The fully wired main window on an opened desk (GUI thread); it owns the store."""
    try:
        runner = TaskRunner(opened.desk)
        return MainWindow(
            runner, sign_in_first=not opened.in_setup and opened.desk.principal is None
        )
    except BaseException:
        opened.desk.store.close()
        raise


def create_main_window(store_path: Path, *, pin: str | None = None) -> MainWindow:
    """Open the store and build the fully wired main window for it.

    Never shows a dialog. On a store past set-up (someone has a PIN) the window opens on
    its sign-in screen, with the last person to sign in chosen; in set-up, on the
    caseload of whoever set-up signed in, and on a new store the caller decides whether
    to show the welcome dialog (:meth:`MainWindow.show_welcome`). The window owns the
    store and closes it when it closes.

    Args:
        pin: for scripts and tests only: sign the last signed-in person in with this PIN
            first, so the window opens on the caseload (the app asks on its screen).

    Raises:
        StoreError: the file is not an MDT Desk store, is damaged or is too new.
        UserError: ``pin`` was given and is not that person's.
    """
    return window_for(open_desk(store_path, pin=pin))


#: A wrong store passphrase may be typed again this many times before the app gives up.
PASSPHRASE_TRIES = 5


def encryption_notice(store_path: Path) -> str:
    """Said once, when opening a store from before encryption encrypted it."""
    return (
        f"The store {store_path} was not encrypted. It is now, with its own key, and the "
        "unencrypted copies beside it were removed. Losing the key loses the store: ask an "
        "administrator to make a sealed key backup (mdt-desk store key export)."
    )


def _open_window(store_path: Path) -> MainWindow | None:
    """The main window on ``store_path``, asking for the store passphrase if the key is
    sealed by one (again after a wrong one); ``None`` after saying why it cannot open."""
    problem = [""]

    def prompt(path: Path, new: bool) -> str | None:
        return ask_store_passphrase(path, new, problem[0])

    set_passphrase_prompt(prompt)
    try:
        for _attempt in range(PASSPHRASE_TRIES):
            try:
                return create_main_window(store_path)
            except WrongPassphraseError as error:
                problem[0] = str(error)
            except UserError as error:
                QMessageBox.critical(None, APPLICATION, str(error))
                return None
        QMessageBox.critical(None, APPLICATION, problem[0])
        return None
    finally:
        set_passphrase_prompt(None)


def run_gui(store_path: Path) -> int:
    """Start the desktop application on ``store_path``; returns the exit status."""
    if QApplication.instance() is None and (problem := display_problem()) is not None:
        sys.stderr.write(problem + "\n")  # no window to show it in
        return 2
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    # the wheel scrolls the page; it changes a choice only once that has the focus
    install_wheel_guard()
    window = _open_window(store_path)
    if window is None:
        return 2
    remember_sign_in(store_path, window.locked)  # the next start draws its sign-in first
    show_window(window, store_path)
    return int(app.exec())


def show_window(window: MainWindow, store_path: Path) -> None:
    """Show the desk's window, then what must be said on opening (once the window is up)."""
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(window.runner.shutdown)
    window.show()
    encrypted_now = window.runner.desk.store.encrypted_now
    if encrypted_now is not None:
        QMessageBox.information(window, APPLICATION, encryption_notice(store_path))
    if window.runner.desk.actor_id is None and not window.locked:
        window.show_welcome()  # an empty store: past set-up the sign-in screen is up
    log.info("desk window open")
