"""The left-hand list: saved views and the team's practices, each with its case count."""

import datetime as dt
import uuid

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from mdt_desk.services.caseload import (
    VIEW_TITLES,
    CaseloadQuery,
    CaseloadView,
    Navigator,
    navigator,
)
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import practice_display_name
from mdt_desk.ui.runner import TaskRunner

#: Item data role holding the caseload query an item selects.
QUERY_ROLE = Qt.ItemDataRole.UserRole + 1
#: Item data role holding the title the caseload shows for it.
TITLE_ROLE = Qt.ItemDataRole.UserRole + 2

# The views in the order a coordinator works through them.
VIEW_ORDER = (
    CaseloadView.MY_CASELOAD,
    CaseloadView.NEW_REFERRALS,
    CaseloadView.REVIEWS_DUE_THIS_WEEK,
    CaseloadView.REVIEWS_OVERDUE,
    CaseloadView.OVERDUE_ACTIONS,
    CaseloadView.HIGH_RISK,
    CaseloadView.CLOSED_RECENTLY,
    CaseloadView.ALL_OPEN,
)


class NavigatorWidget(QTreeView):
    """Saved views and localities → practices; choosing one shows it in the caseload.

    A small fixed tree, so a ``QStandardItemModel`` serves it; the records themselves
    are in the caseload's own table model.

    Signals:
        query_chosen(object, str): the user chose a view or practice; carries the
            :class:`CaseloadQuery` and its title.
    """

    query_chosen = Signal(object, str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.setObjectName("navigator")
        self.setAccessibleName(self.tr("Saved views and practices"))
        self.setHeaderHidden(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformRowHeights(True)
        self.item_model = QStandardItemModel(self)
        self.setModel(self.item_model)
        self._views_root = QStandardItem(self.tr("Saved views"))
        self._practices_root = QStandardItem(self.tr("Practices"))
        for root in (self._views_root, self._practices_root):
            root.setSelectable(False)
            root.setEditable(False)
            self.item_model.appendRow(root)
        self._view_items: dict[CaseloadView, QStandardItem] = {}
        for view in VIEW_ORDER:
            item = QStandardItem(self.tr(VIEW_TITLES[view]))
            item.setEditable(False)
            item.setData(CaseloadQuery(view=view, coordinator_id=runner.desk.actor_id), QUERY_ROLE)
            item.setData(self.tr(VIEW_TITLES[view]), TITLE_ROLE)
            self._views_root.appendRow(item)
            self._view_items[view] = item
        self.expandAll()
        self.selectionModel().currentChanged.connect(self._on_current_changed)
        self.activated.connect(self._on_current_changed)

    def refresh(self) -> None:
        """Count again (after a change, or once someone is signed in)."""
        me = self._runner.desk.actor_id
        today = dt.date.today()

        def count(desk: Desk) -> Navigator:
            with desk.read() as session:
                return navigator(session, me, today)

        self._runner.run(count, self._show, owner=self, description="navigator counts")

    def _show(self, found: Navigator) -> None:
        me = self._runner.desk.actor_id
        for view, item in self._view_items.items():
            title = self.tr(VIEW_TITLES[view])
            count = found.view_counts[view]
            item.setText(f"{title} ({count})")
            item.setData(CaseloadQuery(view=view, coordinator_id=me), QUERY_ROLE)
            item.setData(f"{title}, {count} cases", Qt.ItemDataRole.AccessibleTextRole)
        current = self._current_practice()
        self._practices_root.removeRows(0, self._practices_root.rowCount())
        select: QStandardItem | None = None
        for locality in found.localities:
            title = self.tr("Locality {code}").format(code=locality.code or self.tr("not known"))
            locality_item = QStandardItem(f"{title} ({locality.open_cases})")
            locality_item.setEditable(False)
            locality_item.setSelectable(False)
            for practice in locality.practices:
                name = practice_display_name(practice.name)
                item = QStandardItem(f"{name} ({practice.open_cases})")
                item.setEditable(False)
                item.setData(CaseloadQuery(practice_id=practice.practice_id), QUERY_ROLE)
                item.setToolTip(f"{name} · {practice.ods_code}")
                item.setData(f"{name} ({practice.ods_code})", TITLE_ROLE)
                locality_item.appendRow(item)
                if practice.practice_id == current:
                    select = item
            self._practices_root.appendRow(locality_item)
        self.expandAll()
        if select is not None:
            self.selectionModel().blockSignals(True)
            self.setCurrentIndex(select.index())
            self.selectionModel().blockSignals(False)

    def _current_practice(self) -> uuid.UUID | None:
        query = self.currentIndex().data(QUERY_ROLE)
        return query.practice_id if isinstance(query, CaseloadQuery) else None

    def select_view(self, view: CaseloadView) -> None:
        self.setCurrentIndex(self._view_items[view].index())

    @Slot(QModelIndex)
    def _on_current_changed(self, index: QModelIndex) -> None:
        query = index.data(QUERY_ROLE)
        if isinstance(query, CaseloadQuery):
            self.query_chosen.emit(query, str(index.data(TITLE_ROLE)))
