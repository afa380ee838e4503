"""Who has coordinated a case, from when to when, and why it changed hands."""

from typing import ClassVar

from mdt_desk.services.case_view import CoordinatorView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


class CoordinatorHistoryTableModel(RecordListTableModel[CoordinatorView]):
    """Coordinator assignments, oldest first; the current one is marked in words and bold."""

    columns: ClassVar = (
        Column[CoordinatorView](
            "Coordinator", lambda c: c.name + (" (current)" if c.current else "")
        ),
        Column[CoordinatorView]("From", lambda c: c.started_text),
        Column[CoordinatorView]("To", lambda c: c.ended_text or "Now"),
        Column[CoordinatorView]("Reason", lambda c: c.reason),
    )

    def is_emphasised(self, record: CoordinatorView) -> bool:
        return record.current
