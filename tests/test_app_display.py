"""Starting the desktop without a usable display: a message and exit 2, never a core dump."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdt_desk.app import display_problem


def test_no_display_is_explained() -> None:
    problem = display_problem({"PATH": "/usr/bin"})
    assert problem is not None
    assert "needs a display" in problem
    assert "DISPLAY" in problem


def test_a_display_that_does_not_answer_is_explained() -> None:
    problem = display_problem({"DISPLAY": ":87"})
    assert problem is not None
    assert ":87 does not answer" in problem or "library Qt needs is missing" in problem


def test_offscreen_and_wayland_are_left_to_qt() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_a_running_x_server_is_usable() -> None:
    server = subprocess.Popen(
        ["Xvfb", ":86", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path("/tmp/.X11-unix/X86").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert display_problem({"DISPLAY": ":86"}) is None
    finally:
        server.terminate()
        server.wait()


@pytest.mark.slow
def test_mdt_desk_without_a_display_exits_2_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    store = tmp_path / "desk.sqlite"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mdt_desk.cli import main; raise SystemExit(main())",
            "--store",
            str(store),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "needs a display" in result.stderr
    assert "Traceback" not in result.stderr
    assert not store.exists()  # nothing was created for a start that could not happen
