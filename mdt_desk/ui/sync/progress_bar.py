"""A progress bar, with a percentage, for a long sync (a new desk's first).

An everyday sync moves a handful of changes in a moment: the bar stays hidden then.
It appears once a sync reports at least :data:`SHOW_FROM_CHANGES` changes to send or
receive, and hides when the sync ends.
"""

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QProgressBar, QWidget

from mdt_desk.services.progress import SENDING
from mdt_desk.ui.sync.controller import SyncController, SyncState, SyncStatus

#: A sync with fewer changes than this shows no bar (it is over before it could be read).
SHOW_FROM_CHANGES = 1000


class SyncProgressBar(QProgressBar):
    """ "Receiving 45%" while a long sync runs; hidden otherwise."""

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
        if total < SHOW_FROM_CHANGES:
            return
        words = self.tr("Sending %p%") if phase == SENDING else self.tr("Receiving %p%")
        self.setFormat(words)
        self.setValue(min(100, 100 * done // total))
        self.setAccessibleDescription(
            self.tr("{done:,} of {total:,} changes").format(done=done, total=total)
        )
        self.show()

    @Slot(object)
    def _on_controller_state_changed(self, status: SyncStatus) -> None:
        if status.state is not SyncState.SYNCING:
            self.hide()
