"""A meeting-mode save that fails mid-meeting (full disk, busy store) is sent again once
saves work, without closing anything (H101): the chair's typing and outcome do not stay
only in memory, and "Not saved" stays on screen until they are kept."""

import uuid
from pathlib import Path

import pytest

from mdt_desk.errors import StoreFullError
from mdt_desk.models.enums import AgendaOutcome
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings
from mdt_desk.services.meetings import AgendaEntry
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from tests.ui.signed_in import acting, create_main_window
from tests.ui.test_meeting_mode import choose, planned_meeting, put_proposals_first

WAIT = 10_000
TYPED = "Agreed: district nurse visits twice a week (typed as the disk filled)"
FULL = "The disk holding the desk store is full (test)."


class DiskFault:
    """Makes meeting mode's saves fail as on a full disk while ``full`` is true."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real_save = meeting_mode.save_capture

        def save_capture(*args: object, **kwargs: object) -> object:
            if self.full:
                raise StoreFullError(FULL)
            return real_save(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(meeting_mode, "save_capture", save_capture)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> DiskFault:
    return DiskFault(monkeypatch)


def open_meeting_mode(qtbot, path: Path) -> tuple[MainWindow, MeetingModeWindow, list[uuid.UUID]]:
    with Store.open(path) as store:
        meeting = planned_meeting(store)
        items = [entry.id for entry in put_proposals_first(store, meeting.id, count=2)]
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.show()
    meeting_window = window.open_meeting_mode(meeting.id)
    qtbot.waitUntil(lambda: meeting_window.briefing is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    assert meeting_window.current_entry().id == items[0]  # type: ignore[union-attr]
    return window, meeting_window, items


def stored(path: Path, item_id: uuid.UUID) -> AgendaEntry:
    with Store.open(path) as store, store.read(acting(store)) as session:
        meeting_id = next(
            m.id for m in meetings.list_meetings(session) if m.status.name != "FINISHED"
        )
        return next(e for e in meetings.agenda(session, meeting_id) if e.id == item_id)


def move_on_while_saves_fail(qtbot, window: MainWindow, meeting_window: MeetingModeWindow) -> None:
    meeting_window.next_item()  # the item being left is saved now, and that fails
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    qtbot.waitUntil(lambda: meeting_window.briefing is not None, timeout=WAIT)
    assert meeting_window.current_index() == 1
    assert meeting_window.saved_label.text() == "Not saved"
    assert FULL in meeting_window.error_label.text()


@pytest.mark.slow  # waits out a failed save and its retry (3–4 s)
def test_typing_whose_save_failed_mid_meeting_is_saved_once_saves_work(
    qtbot, demo_store_path, disk: DiskFault
) -> None:
    window, meeting_window, items = open_meeting_mode(qtbot, demo_store_path)
    meeting_window.summary_edit.setFocus()
    qtbot.keyClicks(meeting_window.summary_edit, TYPED)
    disk.full = True
    move_on_while_saves_fail(qtbot, window, meeting_window)
    assert stored(demo_store_path, items[0]).summary == ""

    # Typing on item 2 while the disk is still full: "Not saved" stays on screen.
    qtbot.keyClicks(meeting_window.summary_edit, "Seen")
    qtbot.wait(1500)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    assert meeting_window.saved_label.text() == "Not saved"
    assert stored(demo_store_path, items[0]).summary == ""

    disk.full = False  # room again: the next save tick sends item 1's text, nothing closed
    qtbot.waitUntil(lambda: stored(demo_store_path, items[0]).summary == TYPED, timeout=WAIT)
    qtbot.waitUntil(lambda: meeting_window.saved_label.text().startswith("Saved"), timeout=WAIT)
    assert not meeting_window.error_label.isVisible()
    assert meeting_window.isVisible() and window.isVisible()
    assert meeting_window.current_index() == 1
    assert not meeting_window.has_unkept_typing()


@pytest.mark.slow  # waits out a failed save and its retry (3–4 s)
def test_an_outcome_whose_save_failed_mid_meeting_is_saved_once_saves_work(
    qtbot, demo_store_path, disk: DiskFault
) -> None:
    window, meeting_window, items = open_meeting_mode(qtbot, demo_store_path)
    disk.full = True
    choose(qtbot, meeting_window.outcome_box, "Change plan")
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    assert meeting_window.saved_label.text() == "Not saved"
    move_on_while_saves_fail(qtbot, window, meeting_window)
    assert stored(demo_store_path, items[0]).outcome is None
    assert meeting_window.has_unkept_typing()  # closing now would say so, not lose it

    disk.full = False
    qtbot.waitUntil(
        lambda: stored(demo_store_path, items[0]).outcome is AgendaOutcome.CHANGE_PLAN,
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: meeting_window.saved_label.text().startswith("Saved"), timeout=WAIT)
    assert not meeting_window.error_label.isVisible()
    assert meeting_window.isVisible() and window.isVisible()
    assert not meeting_window.has_unkept_typing()
