"""The Goals tab: "what matters to me", in the person's own words."""

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.models.enums import GoalOutcome
from mdt_desk.services import plans
from mdt_desk.services.case_view import GoalView, RecordView
from mdt_desk.services.display import label
from mdt_desk.ui.case_record.base import RecordTab, Save, record_table
from mdt_desk.ui.case_record.dialogs import GoalDialog, enum_data
from mdt_desk.ui.case_record.undo import goal_outcome_command
from mdt_desk.ui.itemmodels.goals_table_model import GoalsTableModel
from mdt_desk.ui.runner import TaskRunner


class GoalsTab(RecordTab):
    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("What matters to me"))
        self.model = GoalsTableModel(self)
        self.table = record_table(self.model, "goals_table", self.tr("Goals"), self)
        # The person's words are the point: their column takes the spare width and every
        # row grows to show the whole goal, wrapped (the tooltip holds it too).
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(GoalsTableModel.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        for column in (GoalsTableModel.TARGET, GoalsTableModel.OUTCOME):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.add_button = QPushButton(self.tr("Add goa&l…"), self)
        self.add_button.setObjectName("add_goal_button")
        self.add_button.setAccessibleName(self.tr("Add goal"))
        self.add_button.clicked.connect(self.open_add_goal_dialog)
        self.outcome_combo = QComboBox(self)
        self.outcome_combo.setObjectName("goal_outcome_combo")
        self.outcome_combo.setAccessibleName(self.tr("Outcome of the selected goal"))
        self.outcome_combo.setToolTip(self.tr("Can be undone with Ctrl+Z."))
        self.outcome_combo.addItem(self.tr("Not yet"), None)
        for outcome in GoalOutcome:
            self.outcome_combo.addItem(label(outcome), outcome)
        self.outcome_combo.activated.connect(self._on_outcome_combo_activated)
        outcome_label = QLabel(self.tr("&Outcome"), self)
        outcome_label.setBuddy(self.outcome_combo)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(outcome_label)
        row.addWidget(self.outcome_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("What matters to me, in the person's own words"), self))
        layout.addWidget(self.error_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._on_selection_changed()

    def show_record(self, view: RecordView) -> None:
        selected = self.selected_goal()
        super().show_record(view)
        case = view.case
        self.model.set_rows(case.goals if case is not None else ())
        self.add_button.setEnabled(case is not None and case.is_open)
        if selected is not None:
            self.select_goal(selected.id)
        self._on_selection_changed()

    def selected_goal(self) -> GoalView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_goal(self, goal_id: object) -> None:
        for row, goal in enumerate(self.model.rows()):
            if goal.id == goal_id:
                self.table.selectRow(row)
                return

    @Slot()
    def _on_selection_changed(self) -> None:
        goal = self.selected_goal()
        self.outcome_combo.setEnabled(goal is not None)
        if goal is not None:
            self.outcome_combo.setCurrentIndex(max(self.outcome_combo.findData(goal.outcome), 0))

    @Slot(int)
    def _on_outcome_combo_activated(self, index: int) -> None:
        goal = self.selected_goal()
        new = enum_data(self.outcome_combo, GoalOutcome, index)
        if goal is None or new == goal.outcome:
            return
        self.undo_stack.push(
            goal_outcome_command(self.command_context(), goal.id, goal.outcome, new)
        )

    @Slot()
    def open_add_goal_dialog(self) -> GoalDialog | None:
        view = self.view
        if view is None or view.case is None:
            return None
        case_id = view.case.id
        dialog = GoalDialog(view.today, self)

        def make_save() -> Save:
            description, target = dialog.description(), dialog.target_on()
            return lambda session: plans.add_goal(
                session, case_id, description=description, target_on=target
            )

        self.open_dialog(dialog, make_save)
        return dialog
