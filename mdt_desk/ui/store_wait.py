"""The status bar's word when a change has to wait for another program.

Another program (a long ``mdt-desk patients import``, a sync from the command line,
a second MDT Desk window) may hold the store's write lock for a moment. The app's
write then waits rather than fails, and says so here, instead of looking frozen or
showing an error.
"""

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from mdt_desk.models.store import Store


class _Relay(QObject):
    """Carries the store's busy notices from the worker thread to the GUI thread."""

    waiting = Signal(bool)


class StoreWaitLabel(QLabel):
    """Shows "Waiting for another program writing to the store…" while a write waits."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("store_wait_label")
        self.setAccessibleName(self.tr("Store access"))
        self._relay = _Relay(self)
        self._relay.waiting.connect(self._on_waiting, Qt.ConnectionType.QueuedConnection)
        self._store = store
        store.busy_listener = self._relay.waiting.emit
        self.hide()

    def detach(self) -> None:
        """Stop listening to the store (before it is closed or replaced)."""
        if self._store.busy_listener == self._relay.waiting.emit:
            self._store.busy_listener = None

    @Slot(bool)
    def _on_waiting(self, waiting: bool) -> None:
        self.setText(
            self.tr("Waiting for another program writing to the store…") if waiting else ""
        )
        self.setVisible(waiting)
