"""What the tabs of the case record share: running saves, dialogs and undoable edits."""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services.case_view import RecordView
from mdt_desk.ui.case_record.dialogs import RecordDialog
from mdt_desk.ui.case_record.undo import CommandContext
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel

Save = Callable[[Session], Any]


def record_table(
    model: QAbstractItemModel, name: str, accessible: str, parent: QWidget
) -> QTableView:
    """A read-only, row-selecting table view over one of the record's models."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(True)
    view.setTabKeyNavigation(False)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class RecordTab(QWidget):
    """One tab of the case record.

    Signals:
        changed(): something was saved from this tab; the record fetches itself again.
        typing_kept(): a reload kept text typed in this tab and not saved, although the
            stored value changed underneath (see :mod:`held_fields`).
    """

    changed = Signal()
    typing_kept = Signal()

    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.undo_stack = undo_stack
        self.view: RecordView | None = None
        self.current_dialog: RecordDialog | None = None
        self.error_label = ErrorLabel(self)
        #: The record being shown follows a change made outside it (a sync, another
        #: tab or screen): a field with the focus keeps what it shows until left.
        self.showing_change_from_elsewhere = False

    def show_record(self, view: RecordView) -> None:
        """Show a freshly fetched record (subclasses fill their widgets)."""
        self.view = view

    def command_context(self) -> CommandContext:
        return CommandContext(self.runner, self, self._on_saved, self._on_save_failed)

    def save(
        self,
        call: Save,
        on_error: Callable[[UserError], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Run ``call`` in a journalled write; the record reloads when it is saved."""
        self.error_label.show_message("")
        self.runner.write(
            call,
            lambda _result: (on_done or self._on_saved)(),
            on_error or self._on_save_failed,
            owner=self,
            description=type(self).__name__,
        )

    def open_dialog(self, dialog: RecordDialog, make_save: Callable[[], Save]) -> RecordDialog:
        """Open ``dialog`` (non-blocking); on OK, save what ``make_save`` reads from it."""
        self.current_dialog = dialog

        def submit() -> None:
            try:
                call = make_save()  # read the fields here, on the GUI thread
            except UserError as error:  # e.g. a date that cannot be read: nothing saved
                dialog.show_error(error)
                return
            self.runner.write(
                call,
                lambda _result: self._on_dialog_saved(dialog),
                dialog.show_error,
                owner=dialog,
                description=type(dialog).__name__,
            )

        dialog.submitted.connect(submit)
        dialog.finished.connect(lambda _result: self._on_dialog_finished(dialog))
        case = self.view.case if self.view is not None else None
        dialog.keep_drafts(self.runner, case.id if case is not None else None)
        dialog.open()
        return dialog

    def _on_dialog_saved(self, dialog: RecordDialog) -> None:
        dialog.accept()
        self._on_saved()

    def _on_dialog_finished(self, dialog: RecordDialog) -> None:
        if self.current_dialog is dialog:
            self.current_dialog = None
        dialog.deleteLater()

    @Slot()
    def _on_saved(self) -> None:
        self.changed.emit()

    def _on_save_failed(self, error: UserError) -> None:
        self.error_label.show_message(str(error))
        self.changed.emit()  # show what is really stored
