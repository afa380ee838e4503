"""Meeting mode: running an MDT meeting on the shared screen (see :mod:`.window`)."""

from mdt_desk.ui.meeting_mode.window import MeetingModeWindow

__all__ = ["MeetingModeWindow"]
