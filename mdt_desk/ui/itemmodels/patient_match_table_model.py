"""The quick-find results: people matching what was typed."""

import datetime as dt
import uuid
from enum import IntEnum
from typing import Any, TypeAlias

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from mdt_desk.services.caseload import PatientMatch
from mdt_desk.services.display import (
    cui_age,
    cui_date,
    patient_display_name,
    practice_display_name,
)
from mdt_desk.services.validation import format_nhs_number

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex
_HEADERS = ("Name", "NHS No.", "Born", "Postcode", "Practice")


class PatientMatchRole(IntEnum):
    PATIENT_ID = Qt.ItemDataRole.UserRole + 1


class PatientMatchTableModel(QAbstractTableModel):
    """A short list of :class:`PatientMatch` rows, replaced as the user types."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._matches: list[PatientMatch] = []
        # Each row's text, made once per search: the view asks for every cell many times
        # (sizing the list, then painting it) on every keystroke.
        self._cells: list[tuple[str, ...]] = []

    def set_matches(self, matches: list[PatientMatch]) -> None:
        self.beginResetModel()
        self._matches = list(matches)
        today = dt.date.today()
        self._cells = [self._row_text(match, today) for match in self._matches]
        self.endResetModel()

    def _row_text(self, match: PatientMatch, today: dt.date) -> tuple[str, ...]:
        name = patient_display_name(match.family_name, match.given_name, match.title)
        return (
            name + (self.tr(" — died") if match.date_of_death else ""),
            format_nhs_number(match.nhs_number),
            f"{cui_date(match.date_of_birth)} ({cui_age(match.date_of_birth, today)})",
            match.postcode,
            practice_display_name(match.practice_name),
        )

    def patient_id_at(self, row: int) -> uuid.UUID | None:
        return self._matches[row].patient_id if 0 <= row < len(self._matches) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._matches)

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

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._matches):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cells[index.row()][index.column()]
        match = self._matches[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == len(_HEADERS) - 1:
            return f"{practice_display_name(match.practice_name)} ({match.practice_code})"
        if role == PatientMatchRole.PATIENT_ID:
            return match.patient_id
        return None
