"""Start-up: the sign-in screen first, the desk loaded behind it while the PIN is typed.

Importing the desk (SQLAlchemy, the models, the screens), fetching the store's key and
opening the store take about a second; a bare Qt window takes about a tenth of that. So
on a store that asks for a PIN (remembered from the last start), :class:`DeskStart`
draws :class:`~mdt_desk.ui.startup_shell.StartupShell` first, importing nothing else of
the desk, and only after its first frame is on screen starts a loader thread that
imports :mod:`mdt_desk.app` and opens the store (:func:`mdt_desk.app.open_desk`, which
makes no widget). Back on the GUI thread the main window is built and takes over what
was typed: the PIN (signing in at once if Enter was pressed) and anything typed after
it, which goes to Find patient and is answered as soon as the desk has signed in.

One source of truth: the shell checks nothing and shows no data; signing in, the first
page and the search are the main window's own. When the loader cannot finish on its own
(the key is sealed by a passphrase that must be asked for, the store is damaged or too
new) the shell stays up and the ordinary path (:func:`mdt_desk.app.run_gui`'s dialogs
and messages) takes over, so every error reads as it always has.

This module and the shell import Qt and the standard library only: anything more here
is paid for before the first frame.
"""

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication

from mdt_desk.ui.startup_shell import (
    GEOMETRY_KEY,
    StartupShell,
    opens_on_sign_in,
    remember_sign_in,
)

if TYPE_CHECKING:
    from mdt_desk.app import OpenedDesk
    from mdt_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)

ORGANISATION = "MDT Desk"
APPLICATION = "MDT Desk"
#: How long quitting waits for a loader still opening the store (then it is left to exit).
LOADER_WAIT_S = 10.0


class DeskStart(QObject):
    """Shows the start-up shell, loads the desk behind it, then hands over to the window.

    Signals:
        window_ready(object): the main window is shown and has taken over the typing.
        finished(int): start-up ended without a window (an exit status: 2).
    """

    window_ready = Signal(object)
    finished = Signal(int)
    _loaded = Signal(object)

    def __init__(self, store_path: Path) -> None:
        super().__init__()
        self.store_path = store_path
        geometry = QSettings().value(GEOMETRY_KEY)
        self.shell = StartupShell(
            store_path, geometry if isinstance(geometry, QByteArray) else None
        )
        self.window: MainWindow | None = None
        #: what the loader thread made (set before it signals), for wait_for_loader
        self.loaded_desk: OpenedDesk | BaseException | None = None
        self._loader: threading.Thread | None = None
        self._abandoned = False
        self._loaded.connect(self._on_loaded)
        self.shell.first_painted.connect(self._start_loading)
        self.shell.close_requested.connect(self._on_shell_closed)

    def begin(self) -> None:
        """Show the sign-in screen; the desk loads once its first frame is drawn."""
        self.shell.show()
        self.shell.activateWindow()
        # On a platform that paints nothing (no screen), the loader must still start.
        QTimer.singleShot(200, self._start_loading)

    @property
    def loading(self) -> bool:
        """The loader thread has been started (it may have finished)."""
        return self._loader is not None

    def _start_loading(self) -> None:
        if self._loader is not None or self._abandoned:
            return
        # A daemon: closing the start-up screen while the key is fetched (a keyring may
        # wait on its own unlock prompt) must not keep the process alive for ever.
        self._loader = threading.Thread(target=self._load, name="desk start-up", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        """Loader thread: import the desk and open the store; never touches a widget."""
        try:
            from mdt_desk import app as desk_app
            from mdt_desk.models.store_key import set_passphrase_prompt

            def no_prompt(_path: Path, _new: bool) -> str | None:
                raise _PassphraseNeededError

            set_passphrase_prompt(no_prompt)  # a dialog can only be shown by the GUI thread
            try:
                opened: OpenedDesk | BaseException = desk_app.open_desk(self.store_path)
            finally:
                set_passphrase_prompt(None)
        except BaseException as error:
            opened = error
        self.loaded_desk = opened
        self._loaded.emit(opened)

    def _on_loaded(self, opened: "OpenedDesk | BaseException") -> None:
        if self._abandoned:
            return  # wait_for_loader closes the store once the event loop has ended
        try:
            self._open_window(opened)
        except Exception as error:  # a bug: said, never a start-up screen left up for ever
            log.exception("the desk could not be opened")
            self._fail(str(error) or type(error).__name__)

    def _open_window(self, opened: "OpenedDesk | BaseException") -> None:
        from mdt_desk import app as desk_app

        if isinstance(opened, BaseException):
            if not isinstance(opened, _PassphraseNeededError):
                log.info("start-up loader could not open the store: %s", opened)
            window = desk_app._open_window(self.store_path)
        else:
            window = desk_app.window_for(opened)
        if window is None:
            self.shell.hand_over()
            self.finished.emit(2)
            return
        self.window = window
        remember_sign_in(self.store_path, window.locked)
        window.setGeometry(self.shell.geometry())
        typed = self.shell.typed()
        if window.locked and typed.submitted:
            # Enter was pressed: the start-up screen stays in front, taking what is typed
            # for Find patient, while the window (hidden) checks the PIN.
            window.sign_in_page.signed_in.connect(self._on_signed_in_behind)
            window.sign_in_page.needs_attention.connect(self._on_refused_behind)
            window.carry_on_signing_in(
                name_filter=typed.name_filter, pin=typed.pin, submit=True, focus_pin=True
            )
            return
        self._show(window)
        if window.locked:
            window.carry_on_signing_in(
                name_filter=typed.name_filter,
                pin=typed.pin,
                submit=False,
                focus_pin=typed.focus_in_pin,
            )

    def _show(self, window: "MainWindow") -> None:
        """The window in front, the start-up screen gone (in that order: the app must not
        see its last window close)."""
        from mdt_desk import app as desk_app

        desk_app.show_window(window, self.store_path)
        window.activateWindow()
        self.shell.hand_over()
        self.window_ready.emit(window)

    def _on_signed_in_behind(self, _principal: object) -> None:
        window = self.window
        assert window is not None
        window.sign_in_page.signed_in.disconnect(self._on_signed_in_behind)
        window.sign_in_page.needs_attention.disconnect(self._on_refused_behind)
        find_text = self.shell.typed().find_text  # all of it, up to this moment
        self._show(window)
        if find_text:
            window.quick_find.search_for(find_text)

    def _on_refused_behind(self, _message: str) -> None:
        """A wrong PIN, a name to choose or a one-time PIN to change: the window's sign-in
        page says so. What was typed for Find patient is dropped: it was for a sign-in
        that has not happened (and may be someone else's)."""
        window = self.window
        assert window is not None
        window.sign_in_page.signed_in.disconnect(self._on_signed_in_behind)
        window.sign_in_page.needs_attention.disconnect(self._on_refused_behind)
        self._show(window)

    def _fail(self, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(
            None,
            APPLICATION,
            f"MDT Desk could not open the store {self.store_path}: {message}. Nothing was "
            "changed. Run `mdt-desk check` to see whether the store is intact.",
        )
        if self.window is not None:
            self.window.close()
            self.window = None
        self.shell.hand_over()
        self.finished.emit(2)

    def _on_shell_closed(self) -> None:
        """Closed before the desk was ready: quit; run_desk closes what the loader opened."""
        self._abandoned = True
        self.finished.emit(0)

    def wait_for_loader(self) -> None:
        """Let the loader finish, and close the store it opened if no window took it."""
        if self._loader is not None:
            self._loader.join(LOADER_WAIT_S)
        opened = self.loaded_desk
        if self.window is None and opened is not None and not isinstance(opened, BaseException):
            opened.desk.store.close()


class _PassphraseNeededError(Exception):
    """The store's key is sealed by a passphrase nobody has given yet."""


def run_desk(store_path: Path, *, started: Callable[[DeskStart], None] | None = None) -> int:
    """Start the desktop application on ``store_path``; returns the exit status.

    Args:
        started: for the start-up benchmark and tests: called with the start-up once its
            sign-in screen is shown (not called on the ordinary start).
    """
    from mdt_desk.display_check import display_problem

    if QApplication.instance() is None and (problem := display_problem()) is not None:
        sys.stderr.write(problem + "\n")  # no window to show it in
        return 2
    app: Any = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    if not opens_on_sign_in(store_path):
        from mdt_desk import app as desk_app

        return desk_app.run_gui(store_path)
    start = DeskStart(store_path)
    status_box = [0]

    def end(status: int) -> None:
        status_box[0] = status
        app.quit()

    start.finished.connect(end)
    start.begin()
    if started is not None:
        started(start)
    status = int(app.exec()) or status_box[0]
    start.wait_for_loader()
    return status
