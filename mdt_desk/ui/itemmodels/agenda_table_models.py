"""The tables of the meetings screen: the meeting list, proposals and the agenda.

All three are read-only lists of service DTOs (:class:`RecordListTableModel`). The agenda
can be reordered by drag and drop: the model never moves its own rows (item models do not
write data, style.md), it reports the wanted move through :attr:`AgendaTableModel.move_requested`
and the screen asks the service, then shows the agenda it gets back.
"""

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QByteArray, QMimeData, QModelIndex, QObject, Qt, Signal

from mdt_desk.services.agenda_rules import Proposal
from mdt_desk.services.meetings import AgendaEntry, MeetingSummary
from mdt_desk.ui.itemmodels.record_list_table_model import (
    AnyIndex,
    Column,
    RecordListTableModel,
    RecordRole,
)

AGENDA_ITEM_MIME = "application/x-mdt-desk-agenda-item"


def _practices(meeting: MeetingSummary) -> str:
    return ", ".join(meeting.practice_names)


class MeetingListTableModel(RecordListTableModel[MeetingSummary]):
    columns: ClassVar[Sequence[Column[Any]]] = (
        Column("Date and time", lambda m: m.starts_text),
        Column("Meeting", lambda m: m.title),
        Column("Practices", _practices),
        Column("Chair", lambda m: m.chair_name or "Not Known"),
        Column("Status", lambda m: m.status_text),
        Column("Cases", lambda m: str(m.item_count)),
        Column("Length", lambda m: f"{m.duration_minutes} min"),
    )


def _reasons(proposal: Proposal) -> str:
    return proposal.reasons_text


class ProposalTableModel(RecordListTableModel[Proposal]):
    columns: ClassVar[Sequence[Column[Any]]] = (
        Column("Name", lambda p: p.patient_name),
        Column("NHS No.", lambda p: p.nhs_number_text),
        Column("Why", _reasons),
        Column("Minutes", lambda p: str(p.suggested_minutes)),
    )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == RecordRole.RECORD_ID and index.isValid():
            proposal = self.row_at(index.row())
            return proposal.case_id if proposal is not None else None
        return super().data(index, role)


def _reason(entry: AgendaEntry) -> str:
    """Why it is on the agenda, each reason once (the tooltip holds it all too)."""
    return entry.why_text


class AgendaTableModel(RecordListTableModel[AgendaEntry]):
    """The running order. Signals: move_requested(item id, new index)."""

    move_requested = Signal(object, int)

    columns: ClassVar[Sequence[Column[Any]]] = (
        Column("Name", lambda e: e.patient_name),
        Column("NHS No.", lambda e: e.nhs_number_text),
        Column("Why", _reason),
        Column("Minutes", lambda e: str(e.minutes_allotted)),
        Column("Outcome", lambda e: e.outcome_text or "Not discussed"),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reorderable = True

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if not self.reorderable:
            return flags
        if index.isValid():
            return flags | Qt.ItemFlag.ItemIsDragEnabled
        return flags | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [AGENDA_ITEM_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        rows = sorted({index.row() for index in indexes if index.isValid()})
        entry = self.row_at(rows[0]) if rows else None
        if entry is not None:
            data.setData(AGENDA_ITEM_MIME, QByteArray(entry.id.hex.encode()))
        return data

    def canDropMimeData(
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: AnyIndex,
    ) -> bool:
        return self.reorderable and data.hasFormat(AGENDA_ITEM_MIME)

    def dropMimeData(
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: AnyIndex,
    ) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        item_id = uuid.UUID(bytes(data.data(AGENDA_ITEM_MIME).data()).decode())
        rows = self.rows()
        target = row if row >= 0 else (parent.row() if parent.isValid() else len(rows))
        current = next((n for n, entry in enumerate(rows) if entry.id == item_id), None)
        if current is None:
            return False
        # Qt gives the gap to drop into; without the dragged row the index shifts by one.
        to_index = target - 1 if target > current else target
        if to_index != current:
            self.move_requested.emit(item_id, to_index)
        # False: the rows are not moved here; the agenda comes back from the service.
        return False
