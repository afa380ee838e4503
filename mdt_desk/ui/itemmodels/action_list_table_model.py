"""Actions across every case (My actions, Overdue actions): whose, what, for whom, by when."""

import uuid
from enum import IntEnum
from typing import Any, TypeAlias

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from mdt_desk.services.actions import ActionListRow
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.validation import format_nhs_number

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex

_HEADERS = ("Person", "NHS No.", "Action", "Owner", "Due", "Status")
PERSON, NHS_NUMBER, ACTION, OWNER, DUE, STATUS = range(len(_HEADERS))


class ActionListRole(IntEnum):
    CASE_ID = Qt.ItemDataRole.UserRole + 1
    PATIENT_ID = Qt.ItemDataRole.UserRole + 2
    OVERDUE = Qt.ItemDataRole.UserRole + 3


class ActionListTableModel(QAbstractTableModel):
    """A list of :class:`ActionListRow`, overdue first as the service orders them.

    A person's own or the team's overdue actions run to hundreds, not thousands, so
    the list is fetched whole and replaced on reload.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ActionListRow] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: list[ActionListRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> ActionListRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(_HEADERS)
        ):
            return self.tr(_HEADERS[section])
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _text(self, row: ActionListRow, column: int) -> str:
        if column == PERSON:
            return row.person_name
        if column == NHS_NUMBER:
            return format_nhs_number(row.nhs_number)
        if column == ACTION:
            marker = self.tr("Sensitive: ") if row.sensitive else ""
            return marker + row.description
        if column == OWNER:
            return row.owner_name
        if column == DUE:
            due = cui_date(row.due_on)
            # Overdue is said in words, not by colour or weight alone (CUI).
            return self.tr("{date} (overdue)").format(date=due) if row.overdue else due
        return label(row.status.value)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == ACTION:
            return row.description
        if role == Qt.ItemDataRole.FontRole and column == DUE and row.overdue:
            return self._bold
        if role == ActionListRole.CASE_ID:
            return row.case_id
        if role == ActionListRole.PATIENT_ID:
            return row.patient_id
        if role == ActionListRole.OVERDUE:
            return row.overdue
        return None

    def ids_at(self, row: int) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The person and case of a row, to open the record."""
        found = self.row_at(row)
        return None if found is None else (found.patient_id, found.case_id)
