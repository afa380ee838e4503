"""A read-only table over a list of frozen DTOs: the base of the case record's tables.

Each subclass names its columns (header and how to put a DTO into words). The list is
replaced as a whole when the record is fetched again (a reset on reload only); nothing
here touches the database.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Generic, TypeAlias, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex
T = TypeVar("T")


class RecordRole(IntEnum):
    """Custom roles of the record tables."""

    #: the DTO shown in the row
    RECORD = Qt.ItemDataRole.UserRole + 1
    #: its id (``uuid.UUID``), where it has one
    RECORD_ID = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: its header and the words for a row."""

    header: str
    text: Callable[[T], str]
    tooltip: Callable[[T], str] | None = None


class RecordListTableModel(QAbstractTableModel, Generic[T]):
    """Rows of DTOs in the order given; subclasses set :attr:`columns`."""

    columns: ClassVar[Sequence[Column[Any]]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []

    # -- for the widgets -----------------------------------------------------------

    def set_rows(self, rows: Sequence[T]) -> None:
        """Show these rows instead (after the record was fetched again)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[T]:
        return list(self._rows)

    def row_at(self, row: int) -> T | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def is_emphasised(self, record: T) -> bool:
        """Rows drawn in bold (e.g. the current coordinator); words say it too."""
        return False

    # -- Qt overrides ----------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return self.tr(self.columns[section].header)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.columns):
            return None
        record = self._rows[index.row()]
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return column.text(record)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip(record) if column.tooltip is not None else column.text(record)
        if role == Qt.ItemDataRole.FontRole and self.is_emphasised(record):
            font = QFont()
            font.setBold(True)
            return font
        if role == RecordRole.RECORD:
            return record
        if role == RecordRole.RECORD_ID:
            return getattr(record, "id", None)
        return None
