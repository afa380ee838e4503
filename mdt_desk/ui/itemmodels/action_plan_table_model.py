"""The rows of a case's action plan: what will be done, by whom, by when.

The model holds :class:`~mdt_desk.services.plans.ActionPlanRow` DTOs and never writes
to the database. An inline edit arrives through :meth:`ActionPlanTableModel.setData`,
which only reports it (:attr:`ActionPlanTableModel.edit_requested`); the widget saves it
as an undoable command and hands back the saved row (:meth:`apply_row`).

An overdue action is marked in words ("Overdue" in the due column), with an icon and a
bold date, and a translucent tint that reads on light and dark palettes alike. A
sensitive action says "Sensitive" before what will be done, with a padlock.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import IntEnum
from typing import Any, TypeAlias

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from mdt_desk.models.enums import ActionStatus
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.plans import ActionPlanRow
from mdt_desk.ui.sensitive import sensitive_icon, sensitive_text

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex

#: Translucent, so the tint follows the palette underneath (light or dark).
_OVERDUE_TINT = QColor(220, 40, 40, 60)


class ActionColumn(IntEnum):
    DESCRIPTION = 0
    OWNER = 1
    DUE = 2
    STATUS = 3
    GOAL = 4


class ActionRole(IntEnum):
    """Custom roles of the action plan."""

    #: the :class:`ActionPlanRow` of the row
    ROW = Qt.ItemDataRole.UserRole + 1
    #: the action's id (``uuid.UUID``)
    ACTION_ID = Qt.ItemDataRole.UserRole + 2
    #: True when the action is open past its due date
    OVERDUE = Qt.ItemDataRole.UserRole + 3
    #: True when the action is sensitive (never on the person's copy)
    SENSITIVE = Qt.ItemDataRole.UserRole + 4


#: The service field each editable column changes.
FIELD_OF_COLUMN = {
    ActionColumn.DESCRIPTION: "description",
    ActionColumn.OWNER: "owner_id",
    ActionColumn.DUE: "due_on",
    ActionColumn.STATUS: "status",
    ActionColumn.GOAL: "goal_id",
}

_HEADERS = {
    ActionColumn.DESCRIPTION: "What will be done",
    ActionColumn.OWNER: "Owner",
    ActionColumn.DUE: "Due",
    ActionColumn.STATUS: "Status",
    ActionColumn.GOAL: "Goal",
}


def status_text(status: ActionStatus) -> str:
    return label(status)


class ActionPlanTableModel(QAbstractTableModel):
    """A case's actions in due-date order.

    Signals:
        edit_requested(object, str, object): the user edited a cell; carries the action
            id, the service field (``description``, ``owner_id``, ``due_on``,
            ``status``, ``goal_id``) and the new value. Nothing changes here until the
            widget hands back the saved row.
    """

    edit_requested = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ActionPlanRow] = []
        self._today = dt.date.today()
        self._editable = False
        self._include_closed = False

    # -- for the widget --------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        return self._today

    @property
    def include_closed(self) -> bool:
        return self._include_closed

    def set_rows(
        self,
        rows: Sequence[ActionPlanRow],
        *,
        today: dt.date,
        editable: bool,
        include_closed: bool,
    ) -> None:
        """Show a freshly fetched plan (a reset, on reload only)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._today = today
        self._editable = editable
        self._include_closed = include_closed
        self.endResetModel()

    def rows(self) -> list[ActionPlanRow]:
        return list(self._rows)

    def row_at(self, row: int) -> ActionPlanRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, action_id: uuid.UUID) -> int:
        """The row showing ``action_id``, or -1."""
        for number, row in enumerate(self._rows):
            if row.id == action_id:
                return number
        return -1

    def shows(self, row: ActionPlanRow) -> bool:
        """Whether the current filter shows this action."""
        return not row.withdrawn and (self._include_closed or not row.is_closed)

    def apply_row(self, saved: ActionPlanRow) -> None:
        """Show an action as it was saved: changed in place, moved to its due-date
        place, added, or taken out when the filter no longer shows it."""
        current = self.row_of(saved.id)
        if current >= 0:
            if not self.shows(saved):
                self.beginRemoveRows(QModelIndex(), current, current)
                del self._rows[current]
                self.endRemoveRows()
                return
            target = self._position_for(saved, skip=current)
            if target == current:
                self._rows[current] = saved
                self.dataChanged.emit(
                    self.index(current, 0), self.index(current, len(ActionColumn) - 1)
                )
                return
            # Moving down: Qt counts the destination before the row is taken out.
            destination = target + 1 if target > current else target
            self.beginMoveRows(QModelIndex(), current, current, QModelIndex(), destination)
            del self._rows[current]
            self._rows.insert(target, saved)
            self.endMoveRows()
            self.dataChanged.emit(self.index(target, 0), self.index(target, len(ActionColumn) - 1))
            return
        if not self.shows(saved):
            return
        target = self._position_for(saved, skip=-1)
        self.beginInsertRows(QModelIndex(), target, target)
        self._rows.insert(target, saved)
        self.endInsertRows()

    def _position_for(self, saved: ActionPlanRow, skip: int) -> int:
        """Where ``saved`` goes in due-date order among the other rows (without ``skip``)."""
        others = [row for number, row in enumerate(self._rows) if number != skip]
        position = 0
        for row in others:
            if row.due_on <= saved.due_on:
                position += 1
            else:
                break
        return position

    # -- Qt overrides ----------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ActionColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(ActionColumn)
        ):
            return self.tr(_HEADERS[ActionColumn(section)])
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        restricted = 0 <= index.row() < len(self._rows) and self._rows[index.row()].restricted
        # need-to-know: a restricted action is shown as a marker and cannot be edited
        if self._editable and not restricted:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(ActionColumn):
            return None
        row = self._rows[index.row()]
        column = ActionColumn(index.column())
        overdue = row.is_overdue(self._today)
        if role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return self._text(row, column, overdue)
        if role == Qt.ItemDataRole.EditRole:
            return self._edit_value(row, column)
        if (
            row.sensitive
            and column is ActionColumn.DESCRIPTION
            and role == Qt.ItemDataRole.DecorationRole
        ):
            return sensitive_icon()
        if overdue and role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(_OVERDUE_TINT)
        if overdue and column is ActionColumn.DUE:
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
            if role == Qt.ItemDataRole.DecorationRole:
                style = QApplication.style()
                return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        if role == ActionRole.ROW:
            return row
        if role == ActionRole.ACTION_ID:
            return row.id
        if role == ActionRole.OVERDUE:
            return overdue
        if role == ActionRole.SENSITIVE:
            return row.sensitive
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Report an inline edit; the row changes once the widget has saved it."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not self._editable:
            return False
        row = self.row_at(index.row())
        if row is None or not 0 <= index.column() < len(ActionColumn):
            return False
        column = ActionColumn(index.column())
        if isinstance(value, QDate):
            value = dt.date(value.year(), value.month(), value.day())
        if column is ActionColumn.STATUS and value is not None:
            value = ActionStatus(value)
        if column is ActionColumn.DESCRIPTION:
            value = str(value or "").strip()
            if not value:
                return False
        if value == self._edit_value(row, column):
            return False
        self.edit_requested.emit(row.id, FIELD_OF_COLUMN[column], value)
        return True

    # -- helpers -----------------------------------------------------------------------

    def _text(self, row: ActionPlanRow, column: ActionColumn, overdue: bool) -> str:
        if column is ActionColumn.DESCRIPTION:
            return sensitive_text(row.description) if row.sensitive else row.description
        if column is ActionColumn.OWNER:
            return row.owner_name
        if column is ActionColumn.DUE:
            due = cui_date(row.due_on)
            return self.tr("{date} — Overdue").format(date=due) if overdue else due
        if column is ActionColumn.STATUS:
            if row.status is ActionStatus.DONE and row.completed_on is not None:
                return self.tr("Done {date}").format(date=cui_date(row.completed_on))
            return self.tr(status_text(row.status))
        return row.goal_text

    @staticmethod
    def _edit_value(row: ActionPlanRow, column: ActionColumn) -> Any:
        if column is ActionColumn.DESCRIPTION:
            return row.description
        if column is ActionColumn.OWNER:
            return row.owner_id
        if column is ActionColumn.DUE:
            return row.due_on
        if column is ActionColumn.STATUS:
            return row.status
        return row.goal_id
