"""The action lists of the caseload tab: *My actions* and the team's *Overdue actions*.

Actions, not cases: each row names the person, the action, its owner, when it is due
and its status, overdue first. The list is fetched whole through the task runner (a
person's own or the team's overdue actions run to hundreds, not thousands) and
reloaded when a write or a sync changes actions, cases or people, or when someone
else signs in ("My actions" is then theirs).
"""

import dataclasses
import datetime as dt
import uuid

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from mdt_desk.services.actions import ActionListRow, ActionsQuery, list_actions
from mdt_desk.services.changes import Changes
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date
from mdt_desk.ui.itemmodels.action_list_table_model import (
    ACTION,
    DUE,
    NHS_NUMBER,
    OWNER,
    PERSON,
    STATUS,
    ActionListTableModel,
)
from mdt_desk.ui.role_screens import reads_caseload
from mdt_desk.ui.runner import TaskRunner


class ActionListView(QTableView):
    """A table of actions across every case; Enter or a double-click opens the case.

    Signals:
        loaded(int): the list was (re)loaded; carries the number of actions.
        case_chosen(object, object): the user opened a row; carries the patient id and
            the case id.
    """

    loaded = Signal(int)
    case_chosen = Signal(object, object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._query: ActionsQuery | None = None
        self._mine = False
        self.action_model = ActionListTableModel(self)
        self.setModel(self.action_model)
        self.setObjectName("action_list")
        self.setAccessibleName(self.tr("Actions"))
        self.setAccessibleDescription(
            self.tr("Actions across every case, overdue first; press Enter to open the case.")
        )
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)  # Tab leaves the table in one press
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setAccessibleName(self.tr("Action columns"))
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in (
            (PERSON, 220),
            (NHS_NUMBER, self._text_width("999 999 9999")),
            (ACTION, 320),
            (OWNER, 170),
            # An overdue date is bold and says "(overdue)": it must never be cut.
            (
                DUE,
                max(
                    self._text_width(self.tr("{date} (overdue)").format(date=cui_date(day)))
                    for day in (dt.date(2026, month, 28) for month in range(1, 13))
                ),
            ),
            (STATUS, self._text_width(self.tr("In progress"))),
        ):
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(ACTION, QHeaderView.ResizeMode.Stretch)
        self.activated.connect(self._on_activated)
        runner.changes_committed.connect(self._on_runner_changes_committed)
        runner.desk_changed.connect(self._on_runner_desk_changed)

    def _text_width(self, text: str) -> int:
        """Room for ``text`` in bold, with the cell's margins and the header's sort arrow."""
        bold = QFont(self.font())
        bold.setBold(True)
        return (
            QFontMetrics(bold).horizontalAdvance(text)
            + 2 * self.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin)
            + 16
        )

    @property
    def query(self) -> ActionsQuery | None:
        return self._query

    def show_actions(self, query: ActionsQuery, *, mine: bool = False) -> None:
        """Show ``query``'s actions; ``mine`` follows whoever is signed in."""
        self._mine = mine
        self._query = query
        self.setColumnHidden(OWNER, mine)  # every row would name the person reading it
        self.reload()

    def reload(self) -> None:
        query = self._query
        if query is None or not reads_caseload(self._runner):
            return
        self._runner.read(
            lambda session: list_actions(
                session, owner_id=query.owner_id, overdue_only=query.overdue_only
            ),
            self._show,
            owner=self,
            description="action list",
        )

    def _show(self, rows: list[ActionListRow]) -> None:
        self.action_model.set_rows(rows)
        if rows and not self.currentIndex().isValid():
            self.setCurrentIndex(self.action_model.index(0, 0))
        self.loaded.emit(len(rows))

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        ids = self.action_model.ids_at(index.row())
        if ids is not None:
            self.case_chosen.emit(*ids)

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if self._query is not None and changes.any_of(("actions", "cases", "patients", "staff")):
            self.reload()

    @Slot(object)
    def _on_runner_desk_changed(self, desk: Desk) -> None:
        if self._mine and self._query is not None:
            self._query = dataclasses.replace(self._query, owner_id=desk.actor_id)
            self.reload()

    def owner_shown(self) -> uuid.UUID | None:
        return None if self._query is None else self._query.owner_id

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._on_activated(self.currentIndex())
            return
        super().keyPressEvent(event)
