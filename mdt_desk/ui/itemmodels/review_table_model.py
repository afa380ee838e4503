"""The "Needs review" list: what sync could not decide alone, both values side by side."""

from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt

from mdt_desk.services.review import ReviewItemView
from mdt_desk.ui.itemmodels.record_list_table_model import (
    AnyIndex,
    Column,
    RecordListTableModel,
)


def desk_words(desk: str, own_desk: str = "") -> str:
    """``this desk`` for this desk's changes, else ``another desk`` (the person who
    made the change is named beside it; a desk's id means nothing to anyone)."""
    if own_desk and desk == own_desk:
        return "this desk"
    return "another desk"


def _who(by: str, at: str, desk: str, own_desk: str = "") -> str:
    return f"{by}, {at}, {desk_words(desk, own_desk)}"


class ReviewColumn:
    """Column numbers of :class:`ReviewTableModel`."""

    WHAT = 0
    RECORD = 1
    FIELD = 2
    KEPT_VALUE = 3
    KEPT_BY = 4
    OTHER_VALUE = 5
    OTHER_BY = 6


class ReviewTableModel(RecordListTableModel[ReviewItemView]):
    """Open review items, oldest first: the value kept and the other one, with who
    made each, when and on which desk.

    Args:
        own_desk: the first 8 hex digits of this desk's replica id, so that its own
            changes say "this desk".
    """

    columns: ClassVar = (
        Column[ReviewItemView]("What", lambda item: item.title),
        Column[ReviewItemView]("Record", lambda item: item.record_text),
        Column[ReviewItemView]("Field", lambda item: item.field_text or "—"),
        Column[ReviewItemView]("Value kept", lambda item: item.kept_text),
        Column[ReviewItemView](
            "Kept: who, when, desk",
            lambda item: _who(item.kept_by, item.kept_at_text, item.kept_desk),
        ),
        Column[ReviewItemView]("Other value", lambda item: item.other_text),
        Column[ReviewItemView](
            "Other: who, when, desk",
            lambda item: _who(item.other_by, item.other_at_text, item.other_desk),
        ),
    )

    def __init__(self, own_desk: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.own_desk = own_desk

    def row_of(self, item_id: object) -> int:
        """The row showing the item with this id, or -1."""
        for number, item in enumerate(self._rows):
            if item.id == item_id:
                return number
        return -1

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        text_roles = (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.AccessibleTextRole,
            Qt.ItemDataRole.ToolTipRole,
        )
        if (
            role in text_roles
            and index.isValid()
            and 0 <= index.row() < len(self._rows)
            and index.column() in (ReviewColumn.KEPT_BY, ReviewColumn.OTHER_BY)
        ):
            item = self._rows[index.row()]
            if index.column() == ReviewColumn.KEPT_BY:
                return _who(item.kept_by, item.kept_at_text, item.kept_desk, self.own_desk)
            return _who(item.other_by, item.other_at_text, item.other_desk, self.own_desk)
        return super().data(index, role)
