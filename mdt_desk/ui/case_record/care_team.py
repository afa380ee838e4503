"""The Care team tab: members with profession, organisation, role and dates."""

import datetime as dt

from PySide6.QtCore import Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from mdt_desk.services import plans
from mdt_desk.services.case_view import CareTeamMemberView, RecordView
from mdt_desk.ui.case_record.base import RecordTab, Save, record_table
from mdt_desk.ui.case_record.dialogs import CareTeamMemberDialog
from mdt_desk.ui.itemmodels.care_team_table_model import CareTeamTableModel
from mdt_desk.ui.runner import TaskRunner


class CareTeamTab(RecordTab):
    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("Care team"))
        self.model = CareTeamTableModel(self)
        self.table = record_table(self.model, "care_team_table", self.tr("Care team"), self)
        self.add_button = QPushButton(self.tr("Add to the &care team…"), self)
        self.add_button.setObjectName("add_care_team_member_button")
        self.add_button.setAccessibleName(self.tr("Add to the care team"))
        self.add_button.clicked.connect(self.open_add_member_dialog)
        self.remove_button = QPushButton(self.tr("&Remove"), self)
        self.remove_button.setObjectName("remove_care_team_member_button")
        self.remove_button.setAccessibleName(self.tr("Remove from the care team"))
        self.remove_button.setToolTip(
            self.tr("Records that they left the team today; they stay in the list as having left.")
        )
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def show_record(self, view: RecordView) -> None:
        super().show_record(view)
        case = view.case
        self.model.set_rows(case.care_team if case is not None else ())
        self.table.resizeColumnsToContents()
        self.add_button.setEnabled(case is not None and case.is_open)
        self._update_buttons()

    def selected_member(self) -> CareTeamMemberView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    @Slot()
    def _update_buttons(self) -> None:
        member = self.selected_member()
        self.remove_button.setEnabled(member is not None and member.current)

    @Slot()
    def open_add_member_dialog(self) -> CareTeamMemberDialog | None:
        view = self.view
        if view is None or view.case is None:
            return None
        case_id = view.case.id
        dialog = CareTeamMemberDialog(view.staff, self)
        joined = view.today

        def make_save() -> Save:
            staff_id, name = dialog.staff_id(), dialog.name_edit.text()
            role, organisation = dialog.role_edit.text(), dialog.organisation_edit.text()
            contact = dialog.contact_edit.text()
            return lambda session: plans.add_care_team_member(
                session,
                case_id,
                role=role,
                staff_id=staff_id,
                name=name if staff_id is None else "",
                organisation=organisation,
                contact=contact,
                joined_on=joined,
            )

        self.open_dialog(dialog, make_save)
        return dialog

    @Slot()
    def _on_remove_button_clicked(self) -> None:
        member = self.selected_member()
        if member is None or not member.current:
            return
        member_id = member.id
        left_on = max(dt.date.today(), member.joined_on)
        self.save(
            lambda session: plans.remove_care_team_member(session, member_id, left_on=left_on)
        )
