"""Editors for the action plan's cells: pickers for owner, status and goal, and a CUI date
field for the due date. They hand the chosen value to the model's ``setData``, which
reports it to the widget; nothing here saves anything.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeAlias

from PySide6.QtCore import (
    QAbstractItemModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from mdt_desk.services.dates import DateInputError
from mdt_desk.ui.widgets import CuiDateEdit

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex


class Choice:
    """One item of a picker: its words and its value; ``separator_before`` starts a group."""

    __slots__ = ("separator_before", "text", "value")

    def __init__(self, text: str, value: object, *, separator_before: bool = False) -> None:
        self.text = text
        self.value = value
        self.separator_before = separator_before


def fill_combo(combo: QComboBox, choices: Sequence[Choice]) -> None:
    """Replace a combo's items with ``choices`` (separators between groups)."""
    combo.clear()
    for choice in choices:
        if choice.separator_before and combo.count():
            combo.insertSeparator(combo.count())
        combo.addItem(choice.text, choice.value)


def combo_index_of(combo: QComboBox, value: object) -> int:
    """The item holding ``value`` (compared in Python: Qt may not compare UUIDs)."""
    for number in range(combo.count()):
        if combo.itemData(number) == value and combo.itemText(number):
            return number
    return -1


class ChoiceDelegate(QStyledItemDelegate):
    """Edits a cell with a picker; choosing an item commits it at once."""

    def __init__(self, accessible_name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._accessible_name = accessible_name
        self._choices: list[Choice] = []

    def set_choices(self, choices: Sequence[Choice]) -> None:
        self._choices = list(choices)

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        combo = QComboBox(parent)
        combo.setAccessibleName(self._accessible_name)
        fill_combo(combo, self._choices)
        combo.activated.connect(lambda _number: self._on_combo_activated(combo))
        return combo

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentIndex(combo_index_of(editor, index.data(Qt.ItemDataRole.EditRole)))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        assert isinstance(editor, QComboBox)
        if editor.currentIndex() >= 0:
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)

    @Slot()
    def _on_combo_activated(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.SubmitModelCache)


class TextDelegate(QStyledItemDelegate):
    """Edits a text cell in a line edit with an accessible name."""

    def __init__(self, accessible_name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._accessible_name = accessible_name

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        editor = QLineEdit(parent)
        editor.setAccessibleName(self._accessible_name)
        return editor

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


class DueDateDelegate(QStyledItemDelegate):
    """Edits the due date with a typed CUI date field (``14-Jul-2026``) and its calendar.

    Text that is not a date is never stored as another date: the cell keeps its due date
    and ``date_refused`` says why.

    Signals:
        date_refused(str): the typed text was not a date; the message says what to type.
    """

    date_refused = Signal(str)

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        editor = CuiDateEdit(parent=parent, show_errors=False)
        editor.setAccessibleName(self.tr("Due date"))
        editor.setAutoFillBackground(True)
        # Keys reach the text part, not the field: Tab, Enter and Esc must end the edit.
        editor.line_edit.installEventFilter(self)
        return editor

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        parent = watched.parent() if isinstance(watched, QLineEdit) else None
        if isinstance(parent, CuiDateEdit):
            focus = QApplication.focusWidget()
            if event.type() == QEvent.Type.FocusOut and focus and parent.isAncestorOf(focus):
                return False  # e.g. the calendar button
            return bool(super().eventFilter(parent, event))
        return bool(super().eventFilter(watched, event))

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        assert isinstance(editor, CuiDateEdit)
        value = as_date(index.data(Qt.ItemDataRole.EditRole))
        if value is not None:
            editor.set_date(value)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        assert isinstance(editor, CuiDateEdit)
        try:
            value = editor.date_value()
        except DateInputError as error:
            self.date_refused.emit(str(error))
            return
        model.setData(index, value, Qt.ItemDataRole.EditRole)


def as_date(value: Any) -> dt.date | None:
    """A date handed through Qt, which may arrive as a ``QDate``."""
    if isinstance(value, QDate):
        return dt.date(value.year(), value.month(), value.day())
    return value if isinstance(value, dt.date) else None
