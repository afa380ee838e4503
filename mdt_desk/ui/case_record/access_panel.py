"""Need-to-know on the case record: the restricted-items notice with *Break glass…*, and
the *Who has looked* tab.

A reader who may not read the person's restricted alerts, notes and actions sees markers
in their place (the services decide: :mod:`mdt_desk.services.restricted`) and, above the
tabs, how many there are. With a role that allows it they can break the glass: a typed
reason opens the items for 30 minutes, is written to the access log and raised with the
person's coordinator, and the record reloads with the items shown. A reload after the 30
minutes shows the markers again.

*Who has looked* (when, who, what, desk, why) is shown only to the person's coordinator
and a privacy officer (:func:`mdt_desk.services.access_log.may_read_log`).
"""

import uuid
from typing import ClassVar

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.services import access_log
from mdt_desk.services.access_log import AccessEntry
from mdt_desk.services.display import cui_time
from mdt_desk.services.restricted import RecordAccess
from mdt_desk.ui.case_record.base import RecordTab, record_table
from mdt_desk.ui.case_record.dialogs import RecordDialog
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel, announce

#: How the access log's actions read on screen.
ACTION_WORDS = {
    "open": "Opened the record",
    "print": "Printed",
    "export": "Exported",
    "break_glass": "Broke the glass",
}


class BreakGlassDialog(RecordDialog):
    """Asks why the restricted items are needed (the reason goes in the access log)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Break glass: open restricted items"), parent)
        self.setObjectName("break_glass_dialog")
        self.set_intro(
            self.tr(
                "Restricted items are for the person's care team. Open them only if you "
                "need them now for this person's care. They open for 30 minutes; your "
                "name and reason go in the access log and to the person's care coordinator."
            )
        )
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setAccessibleDescription(
            self.tr("Why you need to see the restricted items now")
        )
        self.add_field(self.tr("&Reason"), self.reason_edit, "reason", "break_glass_reason")
        self.ok_button.setText(self.tr("&Open restricted items"))
        self.ok_button.setAccessibleName(self.tr("Open restricted items"))

    def reason(self) -> str:
        return self.reason_edit.toPlainText()


class RestrictedNotice(QWidget):
    """ "N restricted items are hidden" with *Break glass…*; hidden when nothing is.

    Signals:
        glass_broken(): the glass was broken; the record reloads to show the items.
    """

    glass_broken = Signal()

    def __init__(
        self, runner: TaskRunner, patient_id: uuid.UUID, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.patient_id = patient_id
        self.access: RecordAccess | None = None
        self.dialog: BreakGlassDialog | None = None
        self.setObjectName("restricted_notice")
        self.setAccessibleName(self.tr("Restricted items"))
        self.label = QLabel(self)
        self.label.setObjectName("restricted_label")
        self.label.setWordWrap(True)
        # No mnemonic: each of its letters is taken on some tab of the record already
        # (a clash would make Alt+letter ambiguous); it is reached with Tab.
        self.break_glass_button = QPushButton(self.tr("Break glass…"), self)
        self.break_glass_button.setObjectName("break_glass_button")
        self.break_glass_button.setAccessibleName(self.tr("Break glass to open restricted items"))
        self.break_glass_button.setToolTip(
            self.tr("Open the restricted items for 30 minutes, with a reason that is logged")
        )
        self.break_glass_button.clicked.connect(self.open_break_glass_dialog)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.break_glass_button)
        self.hide()

    def show_access(self, access: RecordAccess) -> None:
        self.access = access
        if access.hidden_items:
            count = access.hidden_items
            self.label.setText(
                self.tr("{count} restricted items: only the care team can read them.").format(
                    count=count
                )
                if count != 1
                else self.tr("1 restricted item: only the care team can read it.")
            )
        elif access.open_until is not None:
            self.label.setText(
                self.tr("Restricted items are open to you until {time} (break glass).").format(
                    time=access.open_until_text
                )
            )
        self.label.setAccessibleName(self.label.text())
        self.break_glass_button.setVisible(bool(access.hidden_items) and access.may_break_glass)
        self.setVisible(bool(access.hidden_items) or access.open_until is not None)

    @Slot()
    def open_break_glass_dialog(self) -> BreakGlassDialog:
        dialog = BreakGlassDialog(self)
        self.dialog = dialog
        patient_id = self.patient_id

        def submit() -> None:
            reason = dialog.reason()
            self.runner.write(
                lambda session: access_log.break_glass(session, patient_id, reason),
                lambda said: self._on_glass_broken(dialog, said),
                dialog.show_error,
                owner=dialog,
                description="break glass",
            )

        dialog.submitted.connect(submit)
        dialog.finished.connect(lambda _result: self._on_dialog_finished(dialog))
        dialog.open()
        return dialog

    def _on_dialog_finished(self, dialog: BreakGlassDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _on_glass_broken(self, dialog: BreakGlassDialog, said: str) -> None:
        dialog.accept()
        self.label.setText(said)
        announce(self, said)
        self.glass_broken.emit()


class AccessLogTableModel(RecordListTableModel[AccessEntry]):
    columns: ClassVar = (
        Column[AccessEntry]("When", lambda e: cui_time(e.at)),
        Column[AccessEntry]("Who", lambda e: e.staff_name or "Initial set-up"),
        Column[AccessEntry]("What", lambda e: ACTION_WORDS.get(e.action, e.action)),
        Column[AccessEntry]("Desk", lambda e: e.desk),
        Column[AccessEntry]("Why", lambda e: e.reason),
    )


class AccessLogTab(RecordTab):
    """*Who has looked at this record*: every opening, print, export and break glass."""

    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("Who has looked at this record"))
        self.model = AccessLogTableModel(self)
        self.table = record_table(
            self.model, "access_log_table", self.tr("Who has looked at this record"), self
        )
        self.caption = QLabel(self.tr("Loading…"), self)
        self.caption.setObjectName("access_log_caption")
        self.caption.setWordWrap(True)
        self.load_error = ErrorLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.load_error)
        layout.addWidget(self.table, 1)

    def show_log(self, entries: tuple[AccessEntry, ...]) -> None:
        self.model.set_rows(entries)
        self.caption.setText(
            self.tr(
                "{count} times this record was opened, printed, exported or broken into, "
                "newest first. Times are UK time."
            ).format(count=len(entries))
        )
        self.table.resizeColumnsToContents()

    def show_failure(self, error: UserError) -> None:
        self.load_error.show_message(str(error))
