"""A progress bar, with a percentage, for a long sync (a new desk's first, or a
widened scope's records coming in).

An everyday sync moves a handful of changes in a moment: the bar stays hidden then.
It appears once a sync reports at least :data:`SHOW_FROM_CHANGES` changes to send or
receive, or :data:`SHOW_FROM_RECORDS` whole records to take in (each a person or a
meeting with everything of theirs), and hides when the sync ends.
"""

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QProgressBar, QWidget

from mdt_desk.services.progress import SENDING, TAKING_IN
from mdt_desk.ui.sync.controller import SyncController, SyncState, SyncStatus

#: A sync with fewer changes than this shows no bar (it is over before it could be read).
SHOW_FROM_CHANGES = 1000
#: A widening that takes in fewer whole records than this shows no bar either.
SHOW_FROM_RECORDS = 50


class SyncProgressBar(QProgressBar):
    """ "Receiving 45%" (or "Receiving this desk's records 40%") while a long sync runs;
    hidden otherwise."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sync_progress")
        self.setAccessibleName(self.tr("Sync progress"))
        self.setRange(0, 100)
        self.setMaximumWidth(220)
        self.hide()
        controller.progressed.connect(self._on_controller_progressed)
        controller.state_changed.connect(self._on_controller_state_changed)

    @Slot(str, int, int)
    def _on_controller_progressed(self, phase: str, done: int, total: int) -> None:
        if phase == TAKING_IN:
            if total < SHOW_FROM_RECORDS:
                return
            words = self.tr("Receiving this desk's records %p%")
            counted = self.tr("{done:,} of {total:,} records")
        else:
            if total < SHOW_FROM_CHANGES:
                return
            words = self.tr("Sending %p%") if phase == SENDING else self.tr("Receiving %p%")
            counted = self.tr("{done:,} of {total:,} changes")
        self.setFormat(words)
        self.setValue(min(100, 100 * done // total))
        self.setAccessibleDescription(counted.format(done=done, total=total))
        self.show()

    @Slot(object)
    def _on_controller_state_changed(self, status: SyncStatus) -> None:
        if status.state is not SyncState.SYNCING:
            self.hide()
