"""A meeting-mode process killed mid-meeting loses at most the last second of typing."""

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from mdt_desk.models.enums import MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from tests.ui.other_process import share_store_key_with_other_processes
from tests.ui.signed_in import acting

TYPED = "Typed just before the power cut: daughter to be contacted"

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time
    import uuid

    os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mdt_desk.models.store import Store
    from mdt_desk.services.desk import Desk
    from mdt_desk.ui.meeting_mode import MeetingModeWindow
    from mdt_desk.ui.runner import TaskRunner


    def run_event_loop(ms):
        # QEventLoop.exec lets the store worker thread run (QTest.qWait keeps the GIL)
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()


    app = QApplication([])
    store = Store.open(sys.argv[1])
    runner = TaskRunner(Desk.for_store(store))
    window = MeetingModeWindow(runner, uuid.UUID(sys.argv[2]))
    window.resize(1600, 900)
    window.show()
    for _ in range(400):
        run_event_loop(25)
        if window.briefing is not None and not runner.busy:
            break
    entry = window.current_entry()
    QTest.keyClicks(window.summary_edit, sys.argv[3])
    run_event_loop(1200)
    print("typed", entry.id, flush=True)
    time.sleep(120)
    """
)


def first_planned(path: Path) -> uuid.UUID:
    with Store.open(path) as store, store.read(acting(store)) as session:
        return next(
            m.id for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED
        )


@pytest.mark.slow
def test_typing_survives_a_kill(
    tmp_path: Path, demo_store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_store_key_with_other_processes(demo_store_path, monkeypatch)
    meeting_id = first_planned(demo_store_path)
    script = tmp_path / "meeting_then_crash.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, str(script), str(demo_store_path), str(meeting_id), TYPED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("typed "), process.stderr.read() if process.stderr else line
        item_id = uuid.UUID(line.split()[1])
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        items = {entry.id: entry for entry in meetings.agenda(session, meeting_id)}
        detail = meetings.get_meeting_summary(session, meeting_id)
    assert items[item_id].summary == TYPED
    assert detail.status is MeetingStatus.IN_PROGRESS
