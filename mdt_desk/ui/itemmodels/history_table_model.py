"""The record's history from the change journal: who changed what, and when."""

from typing import ClassVar

from mdt_desk.services.history import HistoryEntry
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


class HistoryTableModel(RecordListTableModel[HistoryEntry]):
    columns: ClassVar = (
        Column[HistoryEntry]("When", lambda e: e.when_text),
        Column[HistoryEntry]("Who", lambda e: e.who),
        Column[HistoryEntry]("Record", lambda e: e.record),
        Column[HistoryEntry]("What", lambda e: e.field),
        Column[HistoryEntry]("From", lambda e: "" if e.added else (e.old_text or "(empty)")),
        Column[HistoryEntry]("To", lambda e: e.new_text or "(empty)"),
        Column[HistoryEntry]("Desk", lambda e: e.desk_text),
    )
