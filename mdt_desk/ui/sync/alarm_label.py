"""The tamper alarm: records from the hub that failed their desk's hash chain.

Sync sets such records aside (``sync/client.py``) and keeps an alarm for each in the
store; this label shows them in the status bar for as long as they stand, in words
that name the desk, the sequence and the record, and says so to a screen reader when
a new one appears. Hidden while there is none.
"""

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QWidget

from mdt_desk.ui.sync.controller import SyncController, SyncStatus
from mdt_desk.ui.widgets import announce


class SyncAlarmLabel(QLabel):
    """ "Tamper alarm: records from Desk B set aside" (the details in its tooltip)."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sync_alarm")
        self.setAccessibleName(self.tr("Tamper alarm"))
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # Not colour alone: the words say it; the colour only draws the eye.
        self.setStyleSheet("QLabel#sync_alarm { color: #a00; font-weight: bold; }")
        self._shown: tuple[str, ...] = ()
        controller.state_changed.connect(self.show_alarms)
        self.show_alarms(controller.status)

    def text_for(self, alarms: tuple[str, ...]) -> str:
        if not alarms:
            return ""
        if len(alarms) == 1:
            return self.tr("Tamper alarm: records set aside")
        return self.tr("Tamper alarm: {count} records set aside").format(count=len(alarms))

    @Slot(object)
    def show_alarms(self, status: SyncStatus) -> None:
        alarms = status.alarms
        text = self.text_for(alarms)
        details = "\n".join(alarms)
        self.setText(text)
        self.setToolTip(details)
        self.setAccessibleDescription(details)
        self.setVisible(bool(alarms))
        new = [alarm for alarm in alarms if alarm not in self._shown]
        self._shown = alarms
        if new:
            announce(self, f"{text}. {new[0]}")
