"""The desks of the team hub (Settings → Team hub → Desks on this hub…)."""

from typing import Any, ClassVar

from PySide6.QtCore import Qt

from mdt_desk.services.display import cui_time
from mdt_desk.sync.status import DeskStatus, covers_text
from mdt_desk.ui.itemmodels.record_list_table_model import (
    AnyIndex,
    Column,
    RecordListTableModel,
)


def _when(desk: DeskStatus, which: str) -> str:
    moment = getattr(desk, which)
    return cui_time(moment) if moment is not None else "Never"


def _behind(desk: DeskStatus) -> str:
    return "Up to date" if desk.behind == 0 else f"{desk.behind:,} changes"


class HubDesksTableModel(RecordListTableModel[DeskStatus]):
    """One row per desk, most recently seen first (as ``read_hub_status`` orders them)."""

    columns: ClassVar = (
        Column[DeskStatus]("Desk", lambda d: d.label or "(unnamed)", lambda d: d.site_id),
        Column[DeskStatus]("Login", lambda d: d.login or "—"),
        Column[DeskStatus]("Covers", covers_text),
        Column[DeskStatus]("Last seen", lambda d: _when(d, "last_seen")),
        Column[DeskStatus]("Behind", _behind),
        Column[DeskStatus]("Pulled through", lambda d: f"{d.pulled_through:,}"),
        Column[DeskStatus]("Last push", lambda d: _when(d, "last_push")),
        Column[DeskStatus]("Last pull", lambda d: _when(d, "last_pull")),
        Column[DeskStatus]("Schema version", lambda d: str(d.schema_version)),
    )
    #: Columns of figures, right-aligned so their digits line up.
    figures: ClassVar = frozenset({"Behind", "Pulled through", "Schema version"})

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (
            role == Qt.ItemDataRole.TextAlignmentRole
            and index.isValid()
            and 0 <= index.column() < len(self.columns)
            and self.columns[index.column()].header in self.figures
        ):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return super().data(index, role)
