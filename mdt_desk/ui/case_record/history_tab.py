"""The History tab: who changed what and when, from the change journal."""

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mdt_desk.services.history import HistoryEntry
from mdt_desk.ui.case_record.base import RecordTab, record_table
from mdt_desk.ui.itemmodels.history_table_model import HistoryTableModel
from mdt_desk.ui.runner import TaskRunner


class HistoryTab(RecordTab):
    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("History"))
        self.model = HistoryTableModel(self)
        self.table = record_table(self.model, "history_table", self.tr("History of changes"), self)
        self.caption = QLabel(self.tr("Loading…"), self)
        self.caption.setObjectName("history_caption")
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table, 1)

    def show_history(self, entries: list[HistoryEntry]) -> None:
        self.model.set_rows(entries)
        self.caption.setText(
            self.tr("{count} changes, newest first. Times are UK time.").format(count=len(entries))
        )
        self.table.resizeColumnsToContents()
