"""Closing MDT Desk with meeting mode open (H100): the chair's last typing is saved before
the app goes, and a save that fails keeps MDT Desk and meeting mode open, saying so."""

import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from mdt_desk.errors import StoreFullError
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from tests.ui.finders import child
from tests.ui.signed_in import acting, create_main_window
from tests.ui.test_meeting_mode import planned_meeting, put_proposals_first

WAIT = 10_000
TYPED = "Agreed: district nurse visits twice a week (typed last)"
FULL = "The disk holding the desk store is full (test)."


def open_with_meeting_mode(qtbot, path: Path) -> tuple[MainWindow, MeetingModeWindow, uuid.UUID]:
    with Store.open(path) as store:
        meeting = planned_meeting(store)
        first = put_proposals_first(store, meeting.id, count=1)[0]
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.show()
    meeting_window = window.open_meeting_mode(meeting.id)
    qtbot.waitUntil(lambda: meeting_window.briefing is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    assert meeting_window.current_entry().id == first.id  # type: ignore[union-attr]
    return window, meeting_window, first.id


def stored_summary(path: Path, item_id: uuid.UUID) -> str:
    with Store.open(path) as store, store.read(acting(store)) as session:
        meeting_id = next(
            m.id for m in meetings.list_meetings(session) if m.status.name != "FINISHED"
        )
        return next(e.summary for e in meetings.agenda(session, meeting_id) if e.id == item_id)


def type_discussion(qtbot, meeting_window: MeetingModeWindow) -> None:
    meeting_window.summary_edit.setFocus()
    qtbot.keyClicks(meeting_window.summary_edit, TYPED)


def test_closing_the_app_saves_what_was_typed_in_meeting_mode(qtbot, demo_store_path) -> None:
    window, meeting_window, item_id = open_with_meeting_mode(qtbot, demo_store_path)
    type_discussion(qtbot, meeting_window)
    assert window.close()  # straight away: before meeting mode's own save is due
    assert not window.isVisible() and not meeting_window.isVisible()
    assert stored_summary(demo_store_path, item_id) == TYPED


def test_a_meeting_mode_save_that_fails_stops_the_app_closing(
    qtbot, demo_store_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, meeting_window, item_id = open_with_meeting_mode(qtbot, demo_store_path)
    failing = True
    real_save = meeting_mode.save_capture

    def save_capture(*args: object, **kwargs: object) -> object:
        if failing:
            raise StoreFullError(FULL)
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(meeting_mode, "save_capture", save_capture)
    type_discussion(qtbot, meeting_window)

    assert not window.close()
    # both stay open, the typing still on the shared screen, and each says why
    assert window.isVisible() and meeting_window.isVisible()
    assert meeting_window.summary_edit.toPlainText() == TYPED
    assert meeting_window.saved_label.text() == "Not saved"
    assert FULL in meeting_window.error_label.text()
    box = window.unkept_drafts_box
    assert box is not None and box.isVisible()
    assert "meeting mode could not be saved" in box.text()
    assert stored_summary(demo_store_path, item_id) == ""
    qtbot.mouseClick(child(box, QPushButton, "keep_open_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.unkept_drafts_box is None, timeout=WAIT)

    failing = False  # the disk has room again: closing now keeps the text
    assert window.close()
    assert not window.isVisible() and not meeting_window.isVisible()
    assert stored_summary(demo_store_path, item_id) == TYPED
