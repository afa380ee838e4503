"""The "Needs review" list: changes made on two desks at once, and deciding them.

Each item shows both values in words, who made each change, when and on which desk.
A decision is an ordinary journalled change made through the store runner
(:func:`mdt_desk.services.review.resolve`), so it reaches the other desks by sync.
"""

import itertools
import uuid
from collections.abc import Callable

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services import review
from mdt_desk.services.changes import Changes
from mdt_desk.services.review import Resolution, ReviewItemView
from mdt_desk.ui.itemmodels.review_table_model import ReviewTableModel, desk_words
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel

#: Kinds whose two values can be chosen between (or a new one typed).
_VALUE_KINDS = frozenset({"same_field", "identity"})
#: Kinds that are checked and acknowledged rather than decided by value.
_CHECK_KINDS = frozenset({"duplicate", "coordinator", "break_glass"})


def _resolver(
    item_id: uuid.UUID,
    resolution: Resolution,
    edited_value: str | None,
    resolved_by_id: uuid.UUID | None,
) -> Callable[[Session], ReviewItemView]:
    def call(session: Session) -> ReviewItemView:
        return review.resolve(
            session,
            item_id,
            resolution,
            resolved_by_id=resolved_by_id,
            edited_value=edited_value,
        )

    return call


class _ValueBox(QGroupBox):
    """One side of the item: the value, then who made it, when and on which desk."""

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(name)
        self.value = QLabel()
        self.value.setObjectName(f"{name}_value")
        self.value.setWordWrap(True)
        self.value.setTextFormat(Qt.TextFormat.PlainText)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(font)
        self.who = QLabel()
        self.who.setObjectName(f"{name}_who")
        self.who.setWordWrap(True)
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.value)
        self._layout.addWidget(self.who)
        self._layout.addStretch(1)

    def add_button(self, button: QPushButton) -> None:
        """The decision that keeps this side, under it."""
        row = QHBoxLayout()
        row.addWidget(button)
        row.addStretch(1)
        self._layout.addLayout(row)

    def show_side(self, value: str, by: str, at: str, desk: str) -> None:
        self.value.setText(value)
        self.who.setText(self.tr("By {by}, {at}, on {desk}").format(by=by, at=at, desk=desk))
        self.setAccessibleName(f"{self.title()}: {value}")
        self.setAccessibleDescription(self.who.text())

    def clear(self) -> None:
        self.value.setText("")
        self.who.setText("")


class ReviewListDialog(QDialog):
    """The "Needs review" list.

    Args:
        runner: the store runner; every read and decision goes through it.

    Signals:
        loaded(int): the list was (re)read; carries how many items are open.
        item_resolved(ReviewItemView): an item was decided (the counts may change).
    """

    loaded = Signal(int)
    item_resolved = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("review_dialog")
        self.setWindowTitle(self.tr("Needs review"))
        self._runner = runner
        self._busy = False
        self._keep_row = 0
        self.edit_dialog: QInputDialog | None = None

        heading = QLabel(self.tr("Needs review"))
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        heading.setFont(font)
        intro = QLabel(
            self.tr(
                "These changes were made on two desks at once, so MDT Desk kept one and "
                "saved the other. Choose what the record should say; your choice reaches "
                "every desk at the next sync."
            )
        )
        intro.setWordWrap(True)

        self.model = ReviewTableModel(runner.desk.store.replica_id.hex[:8], self)
        self.table = QTableView()
        self.table.setObjectName("review_table")
        self.table.setAccessibleName(self.tr("Items to review"))
        self.table.setAccessibleDescription(
            self.tr("Each row is one change made on two desks; choose a row, then a decision.")
        )
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        # A short list whose words matter: rows grow to show them whole.
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((165, 170, 90, 170, 205, 170)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)

        self.empty_label = QLabel(
            self.tr("Nothing to review: every change made on two desks has been decided.")
        )
        self.empty_label.setObjectName("review_empty")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()

        self.kept_box = _ValueBox(self.tr("Value kept (in the record now)"), "kept_details")
        self.other_box = _ValueBox(self.tr("The other value"), "other_details")
        sides = QGridLayout()
        sides.addWidget(self.kept_box, 0, 0)
        sides.addWidget(self.other_box, 0, 1)
        sides.setColumnStretch(0, 1)
        sides.setColumnStretch(1, 1)

        self.keep_kept_button = self._button(
            "keep_kept_button",
            self.tr("&Keep this"),
            self.tr("Keep the value that is in the record now"),
            lambda: self.resolve_selected(Resolution.KEEP_KEPT),
        )
        self.keep_other_button = self._button(
            "keep_other_button",
            self.tr("Keep the &other"),
            self.tr("Put the other value in the record instead"),
            lambda: self.resolve_selected(Resolution.KEEP_OTHER),
        )
        self.edit_button = self._button(
            "edit_button",
            self.tr("&Edit and keep…"),
            self.tr("Type the value the record should have"),
            self.edit_selected,
        )
        self.checked_button = self._button(
            "checked_button",
            self.tr("&Mark as checked"),
            self.tr("You have checked this; nothing needs to change"),
            lambda: self.resolve_selected(Resolution.ACKNOWLEDGED),
        )
        self.restore_button = self._button(
            "restore_button",
            self.tr("&Restore"),
            self.tr("Bring back the record that was removed on another desk"),
            lambda: self.resolve_selected(Resolution.RESTORED),
        )
        self.kept_box.add_button(self.keep_kept_button)
        self.other_box.add_button(self.keep_other_button)
        decisions = QHBoxLayout()
        for button in (self.edit_button, self.checked_button, self.restore_button):
            decisions.addWidget(button)
        decisions.addStretch(1)

        self.error_label = ErrorLabel()
        self.error_label.setObjectName("review_error")
        close_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(sides)
        layout.addLayout(decisions)
        layout.addWidget(self.error_label)
        layout.addWidget(close_box)
        close_button = close_box.button(QDialogButtonBox.StandardButton.Close)
        order = [
            self.table,
            self.keep_kept_button,
            self.keep_other_button,
            self.edit_button,
            self.checked_button,
            self.restore_button,
            close_button,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        self.resize(1200, 500)
        self._update_buttons()
        runner.changes_committed.connect(self._on_runner_changes_committed)
        self.reload()

    def _button(self, name: str, text: str, description: str, slot: object) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.replace("&", ""))
        button.setAccessibleDescription(description)
        button.setToolTip(description)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # -- reading -------------------------------------------------------------------------

    @Slot()
    def reload(self) -> None:
        """Read the open items again (after a sync or a decision)."""
        self._runner.read(
            review.list_open_items,
            self._on_loaded,
            self._on_error,
            owner=self,
            description="review list",
        )

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, origin: object) -> None:
        """A sync brought new items (or another window decided one): read them again."""
        if changes.review and origin is not self:
            self.reload()

    def _on_loaded(self, items: list[ReviewItemView]) -> None:
        selected = self.selected_item()
        self.model.set_rows(items)
        self.table.resizeRowsToContents()
        for number in range(len(items)):
            self.table.setRowHeight(number, self.table.rowHeight(number) + 8)
        row = self.model.row_of(selected.id) if selected is not None else -1
        if row < 0 and items:
            row = min(self._keep_row, len(items) - 1)
        if row >= 0:
            self.table.selectRow(row)
        self.empty_label.setVisible(not items)
        self.table.setVisible(bool(items))
        self._show_selected()
        self.loaded.emit(len(items))

    def _on_error(self, error: UserError) -> None:
        self._busy = False
        self.error_label.show_message(str(error))
        self._update_buttons()

    # -- the chosen item -----------------------------------------------------------------

    def selected_item(self) -> ReviewItemView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    @Slot(QItemSelection, QItemSelection)
    def _on_table_selection_changed(self, _selected: object, _deselected: object) -> None:
        self.error_label.show_message("")
        self._show_selected()

    def _show_selected(self) -> None:
        item = self.selected_item()
        if item is None:
            self.kept_box.clear()
            self.other_box.clear()
        else:
            own = self.model.own_desk
            self.kept_box.show_side(
                item.kept_text, item.kept_by, item.kept_at_text, desk_words(item.kept_desk, own)
            )
            self.other_box.show_side(
                item.other_text,
                item.other_by,
                item.other_at_text,
                desk_words(item.other_desk, own),
            )
        self._update_buttons()

    def _update_buttons(self) -> None:
        item = self.selected_item()
        kind = item.kind if item is not None else ""
        idle = not self._busy and item is not None
        self.keep_kept_button.setEnabled(idle and kind not in _CHECK_KINDS)
        self.keep_other_button.setEnabled(idle and kind in _VALUE_KINDS)
        self.edit_button.setEnabled(idle and kind in _VALUE_KINDS)
        self.checked_button.setEnabled(idle and kind in _CHECK_KINDS)
        self.restore_button.setEnabled(idle and kind == "edit_vs_delete")

    # -- deciding ------------------------------------------------------------------------

    def resolve_selected(self, resolution: Resolution, edited_value: str | None = None) -> None:
        """Decide the chosen item; the list is read again when it is done."""
        item = self.selected_item()
        if item is None or self._busy:
            return
        self._busy = True
        self._keep_row = max(0, self.table.selectionModel().selectedRows()[0].row())
        self.error_label.show_message("")
        self._update_buttons()
        # A decision is a write: what it changed (the record, the item) is announced to
        # every screen once it commits.
        item_id = item.id
        self._runner.write(
            # a break glass is the named coordinator's to acknowledge, not a sync conflict
            (lambda session: review.acknowledge_break_glass(session, item_id))
            if item.kind == "break_glass"
            else _resolver(item.id, resolution, edited_value, self._runner.desk.actor_id),
            self._on_resolved,
            self._on_error,
            owner=self,
            description=f"resolve review item {item.id}",
        )

    def _on_resolved(self, item: ReviewItemView) -> None:
        self._busy = False
        self.item_resolved.emit(item)
        self.reload()

    @Slot()
    def edit_selected(self) -> QInputDialog | None:
        """Ask for the value to keep (Edit and keep…); decides the item when accepted."""
        item = self.selected_item()
        if item is None:
            return None
        dialog = QInputDialog(self)
        dialog.setObjectName("edit_value_dialog")
        dialog.setWindowTitle(self.tr("Edit and keep"))
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.setLabelText(
            self.tr("{field} of {record}:").format(
                field=item.field_text or self.tr("Value"), record=item.record_text
            )
        )
        dialog.setTextValue(item.kept_text)
        dialog.setOkButtonText(self.tr("Keep this value"))
        edit = dialog.findChild(QLineEdit)
        if edit is not None:
            edit.setAccessibleName(self.tr("Value to keep"))
        dialog.textValueSelected.connect(
            lambda value: self.resolve_selected(Resolution.EDITED, value)
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.finished.connect(self._on_edit_dialog_finished)
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    @Slot(int)
    def _on_edit_dialog_finished(self, _result: int) -> None:
        self.edit_dialog = None
