"""Whether Qt can open a window here, checked before Qt is asked to (it aborts if not).

Light on purpose (ctypes and the standard library only): the start-up path runs it before
anything else is imported, so a missing display costs no time and makes no store.
"""

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

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
