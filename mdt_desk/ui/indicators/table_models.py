"""The item models of the Indicators tab: the measures, the practices compared and the
cases behind a number. Each shows frozen rows from :mod:`.loading`, replaced whole on
reload; nothing here touches the database."""

import dataclasses
import uuid
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from PySide6.QtCore import Qt

from mdt_desk.services.indicator_cases import CountedCase
from mdt_desk.ui.indicators.loading import (
    MeasureFigure,
    PracticeFigure,
    Trend,
    count_text,
)
from mdt_desk.ui.itemmodels.record_list_table_model import (
    AnyIndex,
    Column,
    RecordListTableModel,
)


class IndicatorsRole(IntEnum):
    """Custom roles of the tab's tables (after :class:`RecordRole`'s)."""

    #: the indicator id of a measure's row
    INDICATOR_ID = Qt.ItemDataRole.UserRole + 10
    #: the case and the person of a counted case's row (``uuid.UUID``)
    CASE_ID = Qt.ItemDataRole.UserRole + 11
    PATIENT_ID = Qt.ItemDataRole.UserRole + 12


_NUMBER_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True)
class FigureRow:
    """One measure: its figure, and its trend once that has been read."""

    measure: MeasureFigure
    trend: Trend | None = None

    @property
    def id(self) -> str:
        return self.measure.indicator_id

    def trend_words(self) -> str:
        return self.trend.in_words() if self.trend is not None else "Trend loading"


class FiguresTableModel(RecordListTableModel[FigureRow]):
    """Measure, figure, its numerator ("Counted") and denominator ("Out of"), and the
    trend column, which a sparkline covers and whose words are for screen readers."""

    TREND_COLUMN = 4
    NUMBER_COLUMNS = (1, 2, 3)

    columns: ClassVar = (
        Column[FigureRow]("Measure", lambda r: r.measure.title, lambda r: r.measure.in_words()),
        Column[FigureRow]("Figure", lambda r: r.measure.figure, lambda r: r.measure.in_words()),
        Column[FigureRow]("Counted", lambda r: r.measure.numerator),
        Column[FigureRow]("Out of", lambda r: r.measure.denominator),
        Column[FigureRow]("Last 12 months", FigureRow.trend_words),
    )

    def set_trends(self, trends: dict[str, Trend]) -> None:
        """Give each measure its trend (the figures stay as they are)."""
        self._rows = [dataclasses.replace(row, trend=trends.get(row.id)) for row in self._rows]
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.TREND_COLUMN), self.index(len(self._rows) - 1, self.TREND_COLUMN)
            )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == IndicatorsRole.INDICATOR_ID:
            return row.id
        if index.column() == self.TREND_COLUMN and role == Qt.ItemDataRole.DisplayRole:
            return ""  # the sparkline is drawn over the cell; its words are the accessible text
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.NUMBER_COLUMNS:
            return _NUMBER_ALIGNMENT
        return super().data(index, role)


class ComparisonTableModel(RecordListTableModel[PracticeFigure]):
    """The numbers beside the bar chart: each practice's figure with its two counts."""

    columns: ClassVar = (
        Column[PracticeFigure]("Practice", lambda r: f"{r.name} ({r.code})"),
        Column[PracticeFigure]("Figure", lambda r: r.figure),
        Column[PracticeFigure]("Counted", lambda r: count_text(r.result.numerator)),
        Column[PracticeFigure]("Out of", lambda r: count_text(r.result.denominator)),
    )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (1, 2, 3):
            return _NUMBER_ALIGNMENT
        return super().data(index, role)


class CountedCasesTableModel(RecordListTableModel[CountedCase]):
    """The cases an indicator counted; Enter opens one."""

    columns: ClassVar = (
        Column[CountedCase]("Name", lambda r: r.name),
        Column[CountedCase]("NHS No.", lambda r: r.nhs_number),
        Column[CountedCase]("Practice", lambda r: r.practice),
        Column[CountedCase]("Referred", lambda r: r.referred_on),
        Column[CountedCase]("Closed", lambda r: r.closed_on),
        Column[CountedCase]("Status", lambda r: r.status),
    )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == IndicatorsRole.CASE_ID:
            return row.case_id
        if role == IndicatorsRole.PATIENT_ID:
            return row.patient_id
        return super().data(index, role)

    def ids_at(self, row: int) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The person and the case of ``row``."""
        found = self.row_at(row)
        return (found.patient_id, found.case_id) if found is not None else None
