"""The caseload table: a view of 100,000 people that fetches only what is on screen.

The model knows how many cases the view holds and keeps the pages of rows it has been
asked to draw. A row that is not loaded yet shows "Loading…" and asks the task runner
for its page; when the page arrives the rows are redrawn. Sorting and filtering are
done by the service in SQL (:mod:`mdt_desk.services.caseload`), so the model never
sorts or filters rows itself.
"""

import dataclasses
import datetime as dt
from enum import IntEnum
from typing import Any, TypeAlias

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from sqlalchemy.orm import Session

from mdt_desk.services.actions import london_today
from mdt_desk.services.caseload import CaseloadQuery, CaseloadRow, caseload_count, caseload_rows
from mdt_desk.services.changes import Changes
from mdt_desk.services.display import (
    NOT_KNOWN,
    cui_age,
    cui_date,
    label,
    patient_display_name,
    practice_display_name,
)
from mdt_desk.services.validation import format_nhs_number
from mdt_desk.ui.role_screens import reads_caseload
from mdt_desk.ui.runner import TaskRunner

PAGE_SIZE = 100

AnyIndex: TypeAlias = QModelIndex | QPersistentModelIndex


class CaseloadRole(IntEnum):
    """Data roles beyond Qt's own."""

    CASE_ID = Qt.ItemDataRole.UserRole + 1
    PATIENT_ID = Qt.ItemDataRole.UserRole + 2
    OVERDUE = Qt.ItemDataRole.UserRole + 3


@dataclasses.dataclass(frozen=True)
class CaseloadColumn:
    """A caseload column; ``sample`` is typical long content, to size it from its content."""

    key: str  # the service's sort key
    title: str
    align_right: bool = False
    sample: str = ""
    #: a text column that may narrow (eliding, full text in the tooltip) to fit the window
    elastic: bool = False
    #: shown until the person chooses otherwise (View → Caseload columns)
    shown_by_default: bool = True

    @property
    def heading(self) -> str:
        """The heading as drawn: counts' headings wrap onto two lines to stay narrow."""
        return (
            self.title.replace(" ", "\n") if self.align_right and " " in self.title else self.title
        )


COLUMNS = (
    CaseloadColumn("name", "Name", sample="GONÇALVES, Jonathan (Mr)", elastic=True),
    CaseloadColumn("nhs_number", "NHS No.", sample="999 999 9999"),
    CaseloadColumn("age", "Age", align_right=True, sample="101y"),
    CaseloadColumn("practice", "Practice", sample="Newington Road Surgery", elastic=True),
    CaseloadColumn("coordinator", "Coordinator", sample="Agnieszka Brown", elastic=True),
    CaseloadColumn("status", "Status", sample="Under review"),
    CaseloadColumn("risk", "Risk", sample="Not recorded"),
    CaseloadColumn("next_review", "Next review", sample="05-Nov-2026 — overdue"),
    # Open actions are on the record; the caseload leads with what is overdue, and
    # leaving this out by default lets every other column fit at 1280×800.
    CaseloadColumn(
        "open_actions", "Open actions", align_right=True, sample="99", shown_by_default=False
    ),
    CaseloadColumn("overdue_actions", "Overdue actions", align_right=True, sample="99"),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)


def _fetch(
    session: Session, query: CaseloadQuery, pages: tuple[int, ...], today: dt.date, count: bool
) -> tuple[int | None, dict[int, list[CaseloadRow]]]:
    total = caseload_count(session, query, today) if count else None
    return total, {
        page: caseload_rows(session, query, offset=page * PAGE_SIZE, limit=PAGE_SIZE, today=today)
        for page in pages
    }


class CaseloadTableModel(QAbstractTableModel):
    """Cases of one caseload view, fetched a page at a time through the task runner.

    Signals:
        loaded(int): the view's row count is known (after :meth:`set_query` or
            :meth:`refresh`); carries it.
    """

    loaded = Signal(int)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._query = CaseloadQuery()
        self._today = london_today()
        self._total = 0
        self._pages: dict[int, list[CaseloadRow]] = {}
        self._requested: set[int] = set()
        # Bumped whenever the query changes, so answers to an older query are dropped.
        self._generation = 0
        # A committed change that could move a case in or out of a view, or change a
        # column, reloads what is shown (docs/architecture.md, "Operations and what
        # changed").
        runner.changes_committed.connect(self._on_runner_changes_committed)

    # -- what the view shows -------------------------------------------------------

    @property
    def query(self) -> CaseloadQuery:
        return self._query

    def set_query(self, query: CaseloadQuery) -> None:
        """Show another view, practice or order: count it and fetch its first page."""
        self._query = query
        self._generation += 1
        self.beginResetModel()
        self._total = 0
        self._pages.clear()
        self._requested.clear()
        self.endResetModel()
        self._load(pages=(0,), count=True, reset=True)

    def refresh(self) -> None:
        """Fetch the count and the pages already seen again (after a change was saved)."""
        self._generation += 1
        self._load(pages=tuple(sorted(self._pages)) or (0,), count=True, reset=True)

    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if changes.caseload:
            self.refresh()

    def row_at(self, row: int) -> CaseloadRow | None:
        """The case on ``row``, or None while its page is still loading."""
        page = self._pages.get(row // PAGE_SIZE)
        if page is None or row % PAGE_SIZE >= len(page):
            return None
        return page[row % PAGE_SIZE]

    def _load(self, *, pages: tuple[int, ...], count: bool, reset: bool) -> None:
        if not reads_caseload(self._runner):
            return  # a role without the caseload: nothing is asked, nothing refused
        generation = self._generation
        query = self._query
        self._today = london_today()  # the navigator's day, so the counts agree
        today = self._today
        self._requested.update(pages)

        def done(result: tuple[int | None, dict[int, list[CaseloadRow]]]) -> None:
            self._on_fetched(generation, reset, *result)

        self._runner.read(
            lambda session: _fetch(session, query, pages, today, count),
            done,
            owner=self,
            description="caseload page",
        )

    def _on_fetched(
        self,
        generation: int,
        reset: bool,
        total: int | None,
        pages: dict[int, list[CaseloadRow]],
    ) -> None:
        if generation != self._generation:
            return
        if reset:
            self.beginResetModel()
            self._total = total or 0
            self._pages = dict(pages)
            self._requested = set(pages)
            self.endResetModel()
            self.loaded.emit(self._total)
            return
        for number, rows in pages.items():
            self._pages[number] = rows
            first = number * PAGE_SIZE
            last = min(first + PAGE_SIZE, self._total) - 1
            if last >= first:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def _request_page(self, number: int) -> None:
        if number in self._requested:
            return
        self._load(pages=(number,), count=False, reset=False)

    # -- Qt model interface --------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.tr(COLUMNS[section].heading)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        query = dataclasses.replace(self._query, sort=COLUMNS[column].key, descending=descending)
        if query != self._query:
            self.set_query(query)

    def preset_sort(self, column: int, order: Qt.SortOrder) -> None:
        """Choose the order for the next :meth:`set_query` without loading now."""
        if 0 <= column < len(COLUMNS):
            self._query = dataclasses.replace(
                self._query,
                sort=COLUMNS[column].key,
                descending=order == Qt.SortOrder.DescendingOrder,
            )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._total:
            return None
        row = self.row_at(index.row())
        if row is None:
            self._request_page(index.row() // PAGE_SIZE)
            if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
                return self.tr("Loading…")
            return None
        key = COLUMNS[index.column()].key
        overdue_review = row.next_review_on is not None and row.next_review_on < self._today
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, key, overdue_review)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._display(row, key, overdue_review)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if COLUMNS[index.column()].align_right:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if (key == "next_review" and overdue_review) or (
                key == "overdue_actions" and row.overdue_actions
            ):
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.ToolTipRole and key == "name" and row.date_of_death:
            return self.tr("Died {date}").format(date=cui_date(row.date_of_death))
        if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[index.column()].elastic:
            return self._display(row, key, overdue_review)  # in full, where it is elided
        if role == CaseloadRole.CASE_ID:
            return row.case_id
        if role == CaseloadRole.PATIENT_ID:
            return row.patient_id
        if role == CaseloadRole.OVERDUE:
            return overdue_review
        return None

    def _display(self, row: CaseloadRow, key: str, overdue_review: bool) -> str:
        if key == "name":
            return patient_display_name(row.family_name, row.given_name, row.title)
        if key == "nhs_number":
            return format_nhs_number(row.nhs_number)
        if key == "age":
            if row.date_of_death is not None:
                return self.tr("Died")
            return cui_age(row.date_of_birth, self._today)
        if key == "practice":
            return practice_display_name(row.practice_name)
        if key == "coordinator":
            return row.coordinator_name or self.tr("None yet")
        if key == "status":
            return label(row.status)
        if key == "risk":
            return label(row.risk_band, self.tr("Not recorded"))
        if key == "next_review":
            text = cui_date(row.next_review_on, self.tr("Not set"))
            # The word, not only the bold type, marks it: colour-blind and greyscale safe.
            return self.tr("{date} — overdue").format(date=text) if overdue_review else text
        if key == "open_actions":
            return str(row.open_actions)
        if key == "overdue_actions":
            return str(row.overdue_actions)
        return NOT_KNOWN
