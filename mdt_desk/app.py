"""Composition root: opens the store, builds the desk, the task runner and the window."""

import ctypes
import importlib.util
import logging
import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from mdt_desk.errors import UserError
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import WrongPassphraseError, set_passphrase_prompt
from mdt_desk.services.access import store_in_setup
from mdt_desk.services.desk import Desk
from mdt_desk.services.sign_in import sign_in_with_pin
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.store_passphrase_dialog import ask_store_passphrase
from mdt_desk.ui.widgets import install_wheel_guard

ORGANISATION = "MDT Desk"
APPLICATION = "MDT Desk"

log = logging.getLogger(__name__)


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
    store = Store.open(store_path)
    try:
        desk = Desk.for_store(store)
        with store.read() as session:
            setup = store_in_setup(session)
        if pin is not None and not setup and desk.actor_id is not None:
            desk = desk.signed_in_as(sign_in_with_pin(store, desk.actor_id, pin).principal)
        runner = TaskRunner(desk)
        return MainWindow(runner, sign_in_first=not setup and desk.principal is None)
    except BaseException:
        store.close()
        raise


#: What Qt's X11 plugin needs beyond a desktop's usual libraries (Debian/Ubuntu names).
XCB_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 "
    "libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 libxcb-xkb1 "
    "libxkbcommon-x11-0"
)


def _uses_x11(env: "os._Environ[str] | dict[str, str]") -> bool:
    """Whether Qt will try its X11 plugin (the one that aborts when it cannot load)."""
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.startswith("xcb")  # offscreen, wayland, vnc...: Qt's own choice
    return not env.get("WAYLAND_DISPLAY")


def display_problem(environ: "os._Environ[str] | dict[str, str] | None" = None) -> str | None:
    """Why Qt could not open a window here, said for a person, or None if it can.

    Qt aborts the whole process (a core dump) when no platform plugin loads; this
    looks first, so a missing display or library gets a message and a fix instead.
    """
    env = os.environ if environ is None else environ
    if not _uses_x11(env):
        return None
    if not env.get("DISPLAY"):
        return (
            "MDT Desk needs a display, and none was found (DISPLAY is not set). Start it "
            "from a desktop session, or over SSH with X forwarding (ssh -X). The command-line "
            "commands (mdt-desk --help) work without a display."
        )
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt/plugins/platforms/libqxcb.so"
    if not plugin.exists():
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        return (
            f"MDT Desk cannot open a window: a system library Qt needs is missing ({error}). "
            f"On Debian or Ubuntu install them with: sudo apt-get install {XCB_PACKAGES}"
        )
    return _x_server_problem(env["DISPLAY"])


def _x_server_problem(display: str) -> str | None:
    """Whether the X server named by DISPLAY answers (Qt aborts when it does not)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None  # the plugin loaded, so libxcb is there; let Qt report anything odd
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        failed = xcb.xcb_connection_has_error(connection) != 0
    finally:
        xcb.xcb_disconnect(connection)
    if failed:
        return (
            f"MDT Desk cannot open a window: the display {display} does not answer. Check "
            "that the desktop session is running and DISPLAY is right."
        )
    return None


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
    app.aboutToQuit.connect(window.runner.shutdown)
    window.show()
    encrypted_now = window.runner.desk.store.encrypted_now
    if encrypted_now is not None:
        QMessageBox.information(window, APPLICATION, encryption_notice(store_path))
    if window.runner.desk.actor_id is None and not window.locked:
        window.show_welcome()  # an empty store: past set-up the sign-in screen is up
    log.info("desk window open")
    return int(app.exec())
