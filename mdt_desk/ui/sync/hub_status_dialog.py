"""Settings → Team hub → Desks on this hub…: the administrator's view of the hub.

The same figures as ``mdt-desk hub status`` (``sync/status.py``): each desk, what it
covers, when it was last seen and how far behind it is, and the size of the log. They
are read by the sync controller's worker, never on the GUI thread; a hub that cannot be
read is said in words (and to a screen reader), never as a traceback.
"""

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.services.display import counted
from mdt_desk.sync.hub import redacted
from mdt_desk.sync.status import HubStatus, size_text
from mdt_desk.ui.itemmodels.hub_desks_table_model import HubDesksTableModel
from mdt_desk.ui.sync.controller import HubStatusAnswer, SyncController
from mdt_desk.ui.widgets import ErrorLabel, announce


def status_summary(status: HubStatus) -> str:
    """The log and the desks in one sentence."""
    size = (
        f"{size_text(status.log_bytes)} on disk"
        if status.log_bytes is not None
        else "its size is not measured on a SQLite hub"
    )
    changes = "change" if status.changes == 1 else "changes"
    summary = (
        f"The log holds {status.changes:,} {changes}, up to number {status.last_seq:,}; "
        f"{size}. {counted(len(status.desks), 'desk')} "
        f"{'has' if len(status.desks) == 1 else 'have'} synced with this hub."
    )
    if not status.records_pulls:
        summary += (
            " This hub does not record when desks pull yet: run `mdt-desk hub init` on it "
            "to show that too."
        )
    return summary


class HubStatusDialog(QDialog):
    """The desks on the team hub at ``address``, read when opened and on Refresh.

    Args:
        controller: reads the status on its worker thread.
        address: the hub, without its password.
        password: the password typed in Settings → Team hub, if any (else the keyring's).
    """

    def __init__(
        self,
        controller: SyncController,
        address: str,
        password: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("hub_status_dialog")
        self.setWindowTitle(self.tr("Desks on this hub"))
        self._controller = controller
        self._address = address
        self._password = password
        self._request_id = 0

        self.hub_label = QLabel(self.tr("Team hub: {address}").format(address=redacted(address)))
        self.hub_label.setObjectName("hub_status_address")
        self.hub_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hub_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("hub_status_summary")
        self.summary_label.setAccessibleName(self.tr("Hub log"))
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("hub_status_error")

        self.model = HubDesksTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("hub_desks_table")
        self.table.setAccessibleName(self.tr("Desks on this hub"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.refresh_button = QPushButton(self.tr("&Refresh"))
        self.refresh_button.setObjectName("hub_status_refresh_button")
        self.refresh_button.setAccessibleName(self.tr("Refresh"))
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.hub_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)

        controller.hub_status_read.connect(self._on_controller_hub_status_read)
        self.resize(960, 320)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Read the hub's status again, off the GUI thread."""
        self.refresh_button.setEnabled(False)
        self.error_label.show_message("")
        self.summary_label.setText(self.tr("Reading the hub…"))
        self._request_id = self._controller.read_hub_status(self._address, self._password)

    @Slot(object)
    def _on_controller_hub_status_read(self, answer: HubStatusAnswer) -> None:
        if answer.request_id != self._request_id:
            return
        self.refresh_button.setEnabled(True)
        if answer.status is None:
            self.summary_label.setText(self.tr("The hub's status could not be read."))
            message = answer.message
            self.error_label.show_message(message)
            announce(self.error_label, self.tr("Error: {message}").format(message=message))
            return
        summary = status_summary(answer.status)
        self.summary_label.setText(summary)
        self.model.set_rows(answer.status.desks)
        self._fit_width()
        announce(self.summary_label, summary)

    def _fit_width(self) -> None:
        """Widen to show every column (as far as the screen allows): no sideways scroll."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        needed = header.length() + 2 * self.table.frameWidth()
        needed += self.table.verticalScrollBar().sizeHint().width()
        missing = needed - self.table.width()
        if missing <= 0:
            return
        screen = self.screen().availableGeometry().width() if self.screen() else self.width()
        self.resize(min(self.width() + missing, screen), self.height())
