"""The left-hand list: saved views and the team's practices, each with its case count."""

import uuid

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTreeView,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services.access import Permission, refusal
from mdt_desk.services.actions import ActionsQuery, london_today
from mdt_desk.services.caseload import (
    VIEW_TITLES,
    CaseloadQuery,
    CaseloadView,
    Navigator,
    navigator,
)
from mdt_desk.services.changes import Changes
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import practice_display_name
from mdt_desk.services.practices import LocalityName, name_locality
from mdt_desk.ui.role_screens import reads_caseload
from mdt_desk.ui.runner import TaskRunner

#: Item data role holding the caseload query an item selects.
QUERY_ROLE = Qt.ItemDataRole.UserRole + 1
#: Item data role holding the title the caseload shows for it.
TITLE_ROLE = Qt.ItemDataRole.UserRole + 2
#: Item data role holding a locality item's commissioner code.
LOCALITY_ROLE = Qt.ItemDataRole.UserRole + 3

MY_ACTIONS_TITLE = "My actions"


def _query_for(view: CaseloadView, me: uuid.UUID | None) -> CaseloadQuery | ActionsQuery:
    """What a saved view shows: cases, or for "Overdue actions" the actions themselves."""
    if view is CaseloadView.OVERDUE_ACTIONS:
        return ActionsQuery(overdue_only=True)
    return CaseloadQuery(view=view, coordinator_id=me)


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
            :class:`CaseloadQuery` (or, for the action lists, an :class:`ActionsQuery`)
            and its title.
    """

    query_chosen = Signal(object, str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._count_due = False  # a count is asked for and not yet queued
        self._runner = runner
        self.setObjectName("navigator")
        self.setAccessibleName(self.tr("Saved views and practices"))
        self.setHeaderHidden(True)
        # Three levels deep (Practices › locality › practice): a narrow step leaves room
        # for practice names at 1280 pixels wide.
        self.setIndentation(12)
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
            item.setData(_query_for(view, runner.desk.actor_id), QUERY_ROLE)
            item.setData(self.tr(VIEW_TITLES[view]), TITLE_ROLE)
            self._views_root.appendRow(item)
            self._view_items[view] = item
            if view is CaseloadView.MY_CASELOAD:
                # The signed-in person's actions across every case, beside their caseload.
                self.my_actions_item = QStandardItem(self.tr(MY_ACTIONS_TITLE))
                self.my_actions_item.setEditable(False)
                self.my_actions_item.setData(
                    ActionsQuery(owner_id=runner.desk.actor_id), QUERY_ROLE
                )
                self.my_actions_item.setData(self.tr(MY_ACTIONS_TITLE), TITLE_ROLE)
                self._views_root.appendRow(self.my_actions_item)
        self.expandAll()
        self.selectionModel().currentChanged.connect(self._on_current_changed)
        self.activated.connect(self._on_current_changed)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu_requested)
        # Each screen decides for itself what to reload (docs/architecture.md).
        runner.changes_committed.connect(self._on_runner_changes_committed)
        runner.desk_changed.connect(self._on_runner_desk_changed)

    def refresh(self) -> None:
        """Count again (after a change, or once someone is signed in).

        Counted once the present event is handled, and once however often it is asked
        for meanwhile: on signing in the desk changes and the workspace loads in one go,
        and the caseload's first page (what the person waits for) is asked for first.
        """
        if not self._count_due:
            self._count_due = True
            QTimer.singleShot(0, self, self._count)  # not once the widget is gone

    def _count(self) -> None:
        self._count_due = False
        if not reads_caseload(self._runner):
            return  # a role without the caseload: the window says so instead
        me = self._runner.desk.actor_id
        # The day every other screen judges "due" and "overdue" by, whatever the
        # computer's own time zone: the counts must match the lists they open.
        today = london_today()

        self._runner.read(
            lambda session: navigator(session, me, today),
            self._show,
            owner=self,
            description="navigator counts",
        )

    def _show(self, found: Navigator) -> None:
        me = self._runner.desk.actor_id
        for view, item in self._view_items.items():
            title = self.tr(VIEW_TITLES[view])
            if view is CaseloadView.OVERDUE_ACTIONS:
                count, what = found.team_overdue_actions, self.tr("actions")
            else:
                count, what = found.view_counts[view], self.tr("cases")
            item.setText(f"{title} ({count})")
            item.setData(_query_for(view, me), QUERY_ROLE)
            item.setData(f"{title}, {count} {what}", Qt.ItemDataRole.AccessibleTextRole)
        mine = self.tr(MY_ACTIONS_TITLE)
        self.my_actions_item.setText(f"{mine} ({found.my_actions})")
        self.my_actions_item.setData(ActionsQuery(owner_id=me), QUERY_ROLE)
        self.my_actions_item.setData(
            f"{mine}, {found.my_actions} {self.tr('actions')}", Qt.ItemDataRole.AccessibleTextRole
        )
        current = self._current_practice()
        self._practices_root.removeRows(0, self._practices_root.rowCount())
        select: QStandardItem | None = None
        for locality in found.localities:
            title = locality.name or (
                self.tr("Locality {code}").format(code=locality.code or self.tr("not known"))
            )
            locality_item = QStandardItem(f"{title} ({locality.open_cases})")
            locality_item.setEditable(False)
            locality_item.setSelectable(False)
            locality_item.setData(locality.code, LOCALITY_ROLE)
            locality_item.setData(locality.name, TITLE_ROLE)
            locality_item.setToolTip(
                self.tr("Commissioner code {code}. Right-click to name this locality.").format(
                    code=locality.code or self.tr("not known")
                )
            )
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

    def locality_codes(self) -> list[str]:
        """The commissioner codes of the localities shown, in order."""
        return [
            str(self._practices_root.child(row).data(LOCALITY_ROLE))
            for row in range(self._practices_root.rowCount())
        ]

    def locality_title(self, code: str) -> str:
        """The text shown for the locality ``code`` (for tests and the screen reader)."""
        for row in range(self._practices_root.rowCount()):
            item = self._practices_root.child(row)
            if item.data(LOCALITY_ROLE) == code:
                return item.text()
        raise KeyError(code)

    @Slot(QPoint)
    def _on_context_menu_requested(self, position: QPoint) -> None:
        code = self.indexAt(position).data(LOCALITY_ROLE)
        if code is None:
            return
        menu = QMenu(self)
        action = menu.addAction(self.tr("&Name this locality…"))
        action.triggered.connect(lambda: self.ask_locality_name(str(code)))
        principal = self._runner.desk.principal
        if principal is not None and not principal.may(Permission.IMPORT_PRACTICES):
            # Naming localities is the team administrator's, as the practices are.
            action.setEnabled(False)
            action.setToolTip(refusal(principal.roles, Permission.IMPORT_PRACTICES))
        menu.popup(self.viewport().mapToGlobal(position))

    def ask_locality_name(self, code: str) -> None:
        """Ask for the locality's name (empty shows its code again) and save it."""
        current = ""
        for row in range(self._practices_root.rowCount()):
            item = self._practices_root.child(row)
            if item.data(LOCALITY_ROLE) == code:
                current = str(item.data(TITLE_ROLE) or "")
        name, accepted = QInputDialog.getText(
            self,
            self.tr("Name this locality"),
            self.tr("Name for {title} (leave empty to show the code):").format(
                title=LocalityName(code, "").title
            ),
            QLineEdit.EchoMode.Normal,
            current,
        )
        if accepted:
            self.save_locality_name(code, name)

    def save_locality_name(self, code: str, name: str) -> None:
        """Save a locality's name through the runner, then count again."""

        def save(session: Session) -> LocalityName:
            return name_locality(session, code, name)

        # The write announces the new name; the counts reload from that.
        self._runner.write(
            save,
            None,
            self._on_locality_name_refused,
            owner=self,
            description="name a locality",
        )

    def _on_locality_name_refused(self, error: UserError) -> None:
        QMessageBox.warning(self, self.tr("Name this locality"), str(error))

    def _current_practice(self) -> uuid.UUID | None:
        query = self.currentIndex().data(QUERY_ROLE)
        return query.practice_id if isinstance(query, CaseloadQuery) else None

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if changes.caseload:
            self.refresh()

    @Slot(object)
    def _on_runner_desk_changed(self, desk: Desk) -> None:
        """Someone else signed in: "My caseload" (and any view of "mine") is theirs now."""
        for view, item in self._view_items.items():
            item.setData(_query_for(view, desk.actor_id), QUERY_ROLE)
        self.my_actions_item.setData(ActionsQuery(owner_id=desk.actor_id), QUERY_ROLE)
        self.refresh()
        current = self.currentIndex()
        if current.isValid() and isinstance(current.data(QUERY_ROLE), CaseloadQuery | ActionsQuery):
            self._on_current_changed(current)

    def select_view(self, view: CaseloadView) -> None:
        self.setCurrentIndex(self._view_items[view].index())

    def select_my_actions(self) -> None:
        self.setCurrentIndex(self.my_actions_item.index())

    @Slot(QModelIndex)
    def _on_current_changed(self, index: QModelIndex) -> None:
        query = index.data(QUERY_ROLE)
        if isinstance(query, CaseloadQuery | ActionsQuery):
            self.query_chosen.emit(query, str(index.data(TITLE_ROLE)))
