"""The Care coordinator tab: the named coordinator, prominently, and every change."""

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mdt_desk.services import cases
from mdt_desk.services.case_view import RecordView
from mdt_desk.ui.case_record.base import RecordTab, Save, record_table
from mdt_desk.ui.case_record.dialogs import ChangeCoordinatorDialog
from mdt_desk.ui.itemmodels.coordinator_history_table_model import CoordinatorHistoryTableModel
from mdt_desk.ui.runner import TaskRunner


class CoordinatorTab(RecordTab):
    """Who coordinates the case now, "Change coordinator…", and the history."""

    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("Care coordinator"))
        self.coordinator_label = QLabel(self)
        self.coordinator_label.setObjectName("coordinator_name_label")
        self.coordinator_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.coordinator_label.font())
        font.setBold(True)
        if font.pointSize() > 0:
            font.setPointSize(font.pointSize() + 4)
        self.coordinator_label.setFont(font)
        self.since_label = QLabel(self)
        self.since_label.setObjectName("coordinator_since_label")
        self.change_button = QPushButton(self.tr("&Change coordinator…"), self)
        self.change_button.setObjectName("change_coordinator_button")
        self.change_button.setAccessibleName(self.tr("Change coordinator"))
        self.change_button.setToolTip(
            self.tr(
                "Asks for the new coordinator and the reason. Not undone with Ctrl+Z: "
                "every change is kept in the history below."
            )
        )
        self.change_button.clicked.connect(self.open_change_coordinator_dialog)
        self.history_model = CoordinatorHistoryTableModel(self)
        self.history_table = record_table(
            self.history_model, "coordinator_history_table", self.tr("Coordinator history"), self
        )
        heading = QLabel(self.tr("My care coordinator"), self)
        top = QHBoxLayout()
        top.addWidget(self.coordinator_label, 1)
        top.addWidget(self.change_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(top)
        layout.addWidget(self.since_label)
        layout.addWidget(self.error_label)
        layout.addWidget(QLabel(self.tr("Coordinator history"), self))
        layout.addWidget(self.history_table, 1)

    def show_record(self, view: RecordView) -> None:
        super().show_record(view)
        case = view.case
        if case is None:
            return
        current = case.coordinator
        if current is not None:
            self.coordinator_label.setText(current.name)
            self.since_label.setText(
                self.tr("Since {date}. {reason}").format(
                    date=current.started_text, reason=current.reason
                )
            )
        else:
            self.coordinator_label.setText(self.tr("No coordinator"))
            self.since_label.setText(
                self.tr("A coordinator is named when the referral is accepted.")
                if case.transitions and case.status.value == "referred"
                else ""
            )
        self.coordinator_label.setAccessibleName(
            self.tr("Care coordinator: {name}").format(name=self.coordinator_label.text())
        )
        self.change_button.setEnabled(current is not None and case.is_open)
        self.history_model.set_rows(case.coordinator_history)
        self.history_table.resizeColumnsToContents()

    @Slot()
    def open_change_coordinator_dialog(self) -> ChangeCoordinatorDialog | None:
        view = self.view
        if view is None or view.case is None:
            return None
        case_id = view.case.id
        current = view.case.coordinator.staff_id if view.case.coordinator else None
        dialog = ChangeCoordinatorDialog(view.staff, current, self)
        today = view.today

        def make_save() -> Save:
            coordinator, reason = dialog.coordinator_id(), dialog.reason()
            return lambda session: cases.change_coordinator(
                session, case_id, coordinator_id=coordinator, reason=reason, on=today
            )

        self.open_dialog(dialog, make_save)
        return dialog
