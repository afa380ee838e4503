"""A team administrator without a clinical role signs in to a window that works for them:
no patient list or record is read (their role may not), no error is thrown at them, and
the window says what they can do instead."""

from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from mdt_desk.models.enums import Role
from tests.ui.roles import window_as


def test_an_administrator_only_sees_no_errors_and_is_told_where_to_go(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    with window_as(qtbot, demo_store_path, Role.TEAM_ADMINISTRATOR) as window:
        wait_idle(window)
        qtbot.wait(200)
        wait_idle(window)
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
        assert [box.text() for box in boxes if box.isVisible()] == []
        assert window.caseload_model.rowCount() == 0
        note = window.no_records_note
        assert note.isVisible()
        assert "Settings → Team" in note.text()
        assert window.team_settings_action.isEnabled()
