"""The desk's main window: saved views and practices, the caseload, open case records.

Layout (``architecture.md``): the left-hand navigator chooses what the caseload table
shows; the caseload is the first, fixed tab of the workspace and each opened case record
is a further tab. Quick find sits in the tool bar and is always visible (Ctrl+F).
Everything reads and writes through the :class:`~mdt_desk.ui.runner.TaskRunner`, so the
window never waits on the disk.
"""

import dataclasses
import math
import uuid
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QByteArray, QEvent, QModelIndex, QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QTabWidget,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.models.enums import AccessAction
from mdt_desk.services import access_log
from mdt_desk.services.access import Principal
from mdt_desk.services.actions import ActionsQuery
from mdt_desk.services.caseload import CaseloadQuery, CaseloadView
from mdt_desk.services.desk import Desk
from mdt_desk.ui.action_list import ActionListView
from mdt_desk.ui.caseload_filters import CaseloadFilterBar
from mdt_desk.ui.drafts import flush_drafts, keep_drafts_now
from mdt_desk.ui.idle_lock import IdleLock
from mdt_desk.ui.itemmodels.caseload_table_model import (
    COLUMNS,
    CaseloadRole,
    CaseloadTableModel,
)
from mdt_desk.ui.navigator import NavigatorWidget
from mdt_desk.ui.quick_find import QuickFindWidget
from mdt_desk.ui.role_screens import ACTION_PERMISSIONS, allows, follow_roles, reads_caseload
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.sign_in_page import SignInPage, demo_note
from mdt_desk.ui.startup_shell import GEOMETRY_KEY, STARTUP_SHELL_NAME
from mdt_desk.ui.store_wait import StoreWaitLabel
from mdt_desk.ui.sync.alarm_label import SyncAlarmLabel
from mdt_desk.ui.sync.controller import SyncController
from mdt_desk.ui.sync.progress_bar import SyncProgressBar
from mdt_desk.ui.sync.settings import saved_hub_address
from mdt_desk.ui.sync.status_label import SyncStatusLabel
from mdt_desk.ui.widgets import announce, install_wheel_guard

if TYPE_CHECKING:
    # Imported when first used: the case record and the dialogs are a sixth of the
    # start-up time, and the caseload is shown without them (docs/performance.md).
    from mdt_desk.documents import DocumentRequest
    from mdt_desk.ui.case_record.widget import CaseRecordWidget
    from mdt_desk.ui.fhir_export import FhirCarePlanExport
    from mdt_desk.ui.indicators.page import IndicatorsPage
    from mdt_desk.ui.meeting_mode.window import MeetingModeWindow
    from mdt_desk.ui.meetings.meetings_page import MeetingsPage
    from mdt_desk.ui.new_referral_dialog import NewReferralDialog
    from mdt_desk.ui.print_preview import PrintPreviewDialog
    from mdt_desk.ui.sign_in_dialog import SignInDialog
    from mdt_desk.ui.sync.team_hub_dialog import TeamHubDialog
    from mdt_desk.ui.team.team_dialog import TeamDialog
    from mdt_desk.ui.welcome_dialog import WelcomeDialog


class SettingsKey:
    """Every window-state key this window keeps in ``QSettings``, declared once."""

    GEOMETRY = GEOMETRY_KEY  # the start-up shell opens where the window was
    STATE = "main_window/state"
    SPLITTER = "main_window/splitter"
    CASELOAD_HEADER = "caseload/header"
    OPEN_RECORDS = "workspace/open_records"


class CaseloadPage(QWidget):
    """The caseload tab: a heading naming the view and its count, the filters and the table.

    For the action lists (*My actions*, *Overdue actions*) the same tab shows a table of
    actions instead of cases, without the case filters.
    """

    def __init__(
        self,
        model: CaseloadTableModel,
        filters: CaseloadFilterBar,
        actions: ActionListView,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.filters = filters
        self.action_list = actions
        self.heading = QLabel()
        self.heading.setObjectName("caseload_heading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.heading.setFont(font)
        self.table = QTableView()
        self.table.setObjectName("caseload_table")
        self.table.setAccessibleName(self.tr("Caseload"))
        self.table.setAccessibleDescription(
            self.tr("Cases in the chosen view; press Enter to open a case record.")
        )
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setAccessibleName(self.tr("Caseload columns: click to sort, right-click to choose"))
        header.setSectionsMovable(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # Sized from their content and fitted to the window (see fit_columns) until the
        # user sizes a column or the saved layout is restored.
        self.auto_fit_columns = True
        self._fitting = False
        for column, spec in enumerate(COLUMNS):
            header.setSectionHidden(column, not spec.shown_by_default)
        header.sectionResized.connect(self._on_header_section_resized)
        self.table.viewport().installEventFilter(self)
        # The model starts sorted by next review date, earliest first; saying so before
        # sorting is switched on keeps the view from asking for another order.
        header.setSortIndicator(7, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table in one press
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.action_list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.filters)
        layout.addWidget(self.stack)

    def fit_columns(self) -> None:
        """Give each shown column the width of its content and heading, and fit the table.

        Where the whole does not fit (1280×800 with the navigator open), the long text
        columns (name, practice, coordinator) give up width in proportion, down to a
        floor; their full text is in the tooltip. Dates, numbers and words like
        "overdue" are never cut.
        """
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)
        padding = 2 * self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 10
        natural: dict[int, int] = {}
        for column, spec in enumerate(COLUMNS):
            if header.isSectionHidden(column):
                continue
            heading = max(bold_metrics.horizontalAdvance(line) for line in spec.heading.split("\n"))
            # Overdue dates are bold; the rest is in the table's own font.
            sample = (bold_metrics if spec.key == "next_review" else metrics).horizontalAdvance(
                spec.sample
            )
            natural[column] = max(sample, heading) + padding
        available = self.table.viewport().width()
        excess = sum(natural.values()) - available
        elastic = [c for c in natural if COLUMNS[c].elastic]
        if excess > 0 and elastic:
            # Never below three quarters of the typical text: past that, scroll instead.
            floors = {c: natural[c] * 3 // 4 for c in elastic}
            room = sum(natural[c] - floors[c] for c in elastic)
            share = min(1.0, excess / room) if room else 0.0
            for column in elastic:
                natural[column] -= math.ceil((natural[column] - floors[column]) * share)
        self._fitting = True
        try:
            for column, width in natural.items():
                self.table.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The viewport's own size (not the page's): it is what the columns must fit.
        if (
            watched is self.table.viewport()
            and event.type() == QEvent.Type.Resize
            and self.auto_fit_columns
        ):
            self.fit_columns()
        return super().eventFilter(watched, event)

    @Slot(int, int, int)
    def _on_header_section_resized(self, _column: int, _old: int, _new: int) -> None:
        if not self._fitting:
            self.auto_fit_columns = False  # the user sized a column: keep theirs

    def show_cases(self) -> None:
        self.filters.show()
        self.stack.setCurrentWidget(self.table)

    def show_actions(self) -> None:
        self.filters.hide()
        self.stack.setCurrentWidget(self.action_list)

    @property
    def showing_actions(self) -> bool:
        return self.stack.currentWidget() is self.action_list


class KeyboardShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: every action with a shortcut, by menu."""

    def __init__(self, menus: list[QMenu], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.tree = QTreeWidget()
        self.tree.setObjectName("shortcuts_list")
        self.tree.setAccessibleName(self.tr("Keyboard shortcuts"))
        self.tree.setHeaderLabels([self.tr("Action"), self.tr("Keys")])
        for menu in menus:
            group = QTreeWidgetItem([menu.title().replace("&", ""), ""])
            for action in menu.actions():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                if keys:
                    group.addChild(QTreeWidgetItem([action.text().replace("&", ""), keys]))
            self.tree.addTopLevelItem(group)
        extra = QTreeWidgetItem([self.tr("Everywhere"), ""])
        for text, keys in (
            (self.tr("Next / previous tab"), "Ctrl+Tab / Ctrl+Shift+Tab"),
            (self.tr("Move between fields"), "Tab / Shift+Tab"),
            (self.tr("Open the chosen case or patient"), "Enter"),
            (self.tr("Matches in Find patient"), "Up / Down, Enter, Esc"),
            (self.tr("Sort the caseload by a column"), "Click its heading"),
        ):
            extra.addChild(QTreeWidgetItem([text, keys]))
        self.tree.addTopLevelItem(extra)
        meeting = QTreeWidgetItem([self.tr("Meeting mode"), ""])
        for text, keys in (
            (self.tr("Next / previous case"), "Page Down / Page Up"),
            (self.tr("Make the decision line an action"), "Ctrl+Enter"),
            (self.tr("Attendance"), "F6"),
            (self.tr("Reveal or hide private details"), "Ctrl+R"),
            (self.tr("End the meeting"), "Ctrl+E"),
            (self.tr("Full screen on / off"), "F11, Esc"),
        ):
            meeting.addChild(QTreeWidgetItem([text, keys]))
        self.tree.addTopLevelItem(meeting)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(520, 560)


class MainWindow(QMainWindow):
    """The top-level desk window for one store.

    With ``sign_in_first`` (a store past set-up, nobody's PIN checked yet) it opens on
    the sign-in screen, and reads no patient data until someone has signed in.
    """

    def __init__(self, runner: TaskRunner, *, sign_in_first: bool = False) -> None:
        super().__init__()
        install_wheel_guard()  # before any widget is polished: see WheelGuard
        self.runner = runner
        #: True while the sign-in (lock) screen is up: no patient data anywhere on screen
        self.locked = False
        #: the desk is past set-up: a PIN can unlock it, so it may lock
        self.may_lock = sign_in_first or runner.desk.principal is not None
        self.demo_store = False
        self._loaded = False  # the caseload and the restored tabs asked for
        self._hidden_while_locked: list[QWidget] = []
        self._actions_before_lock: dict[QAction, bool] = {}
        self._focus_before_lock: QWidget | None = None
        self._locked_by: Principal | None = None
        self.setWindowTitle(self.tr("MDT Desk"))
        self.setObjectName("MainWindow")
        self.undo_group = QUndoGroup(self)
        self.caseload_model = CaseloadTableModel(runner, self)
        self.caseload_filters = CaseloadFilterBar(runner)
        self.action_list = ActionListView(runner)
        self.caseload_page = CaseloadPage(
            self.caseload_model, self.caseload_filters, self.action_list
        )
        self.caseload_table = self.caseload_page.table
        self.navigator = NavigatorWidget(runner)
        self.workspace = QTabWidget()
        self.workspace.setObjectName("workspace_tabs")
        self.workspace.setAccessibleName(self.tr("Open records"))
        self.workspace.setDocumentMode(True)
        self.workspace.setTabsClosable(True)
        self.workspace.addTab(self.caseload_page, self.tr("Caseload"))
        # The caseload tab stays: hide its close button.
        self.workspace.tabBar().setTabButton(
            0, self.workspace.tabBar().ButtonPosition.RightSide, None
        )
        self.splitter = QSplitter()
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(self.navigator)
        self.splitter.addWidget(self.workspace)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([255, 1025])
        self.sign_in_page = SignInPage(runner)
        self.sign_in_page.signed_in.connect(self._on_signed_in)
        # The sign-in (and lock) screen is the other page of the central stack, so while
        # it is up the caseload and every record are hidden, not merely covered.
        self.central_stack = QStackedWidget()
        self.central_stack.setObjectName("central_stack")
        self.central_stack.addWidget(self.splitter)
        self.central_stack.addWidget(self.sign_in_page)
        # For a role without patient records (a team administrator only): what to do here.
        self.no_records_note = QLabel()
        self.no_records_note.setObjectName("no_records_note")
        self.no_records_note.setWordWrap(True)
        self.no_records_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_records_note.setMargin(48)
        self.central_stack.addWidget(self.no_records_note)
        self.setCentralWidget(self.central_stack)
        self.idle_lock = IdleLock(self)
        self.idle_lock.idle.connect(self.lock)
        self.idle_lock.lock_keys_pressed.connect(self.lock)
        self.quick_find = QuickFindWidget(runner, popup_parent=self)
        self._caseload_title = ""
        self._chosen_caseload = CaseloadQuery()
        self._records: list[CaseRecordWidget] = []
        self.meetings_page: MeetingsPage | None = None
        self.indicators_page: IndicatorsPage | None = None
        self.meeting_windows: list[MeetingModeWindow] = []
        self.print_dialog: PrintPreviewDialog | None = None
        # Sync has its own worker thread: the network never holds up the screens' reads.
        self.sync_controller = SyncController(runner.desk.store.path, label=runner.desk.actor_name)
        self.sign_in_dialog: SignInDialog | None = None
        self.hub_password_prompt: QInputDialog | None = None
        self.unkept_drafts_box: QMessageBox | None = None
        self._problems_reported = 0  # messages the runner's failures have put up
        self._close_losing_unkept_drafts = False
        self._build_actions()
        self._build_status_bar()
        self._connect()
        # What the signed-in person's roles do not allow is disabled (ui/role_screens.py).
        self.role_gate = follow_roles(self, runner, self.sign_in_page.signed_in)
        # After the gate's own connections, so the record in front has the last word.
        runner.desk_changed.connect(self._update_export_action)
        self.sign_in_page.signed_in.connect(self._update_export_action)
        self._update_export_action()
        self._start_sync()
        self.resize(1280, 800)
        self._restore_settings()
        if sign_in_first:
            self._show_lock_page(first_sign_in=True)
        else:
            self._load_workspace()
        self._update_title()
        self.read_desk_settings()

    # -- building ------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _build_actions(self) -> None:
        self.new_referral_action = self._action(
            self.tr("&New referral…"), self.show_new_referral, QKeySequence("Ctrl+N")
        )
        self.find_action = self._action(
            self.tr("&Find patient"), self.focus_quick_find, QKeySequence.StandardKey.Find
        )
        self.caseload_action = self._action(
            self.tr("Show &caseload"), self.show_caseload, QKeySequence("Ctrl+1")
        )
        self.navigator_action = self._action(
            self.tr("Saved views and &practices"),
            self.navigator.setFocus,
            QKeySequence("Ctrl+0"),
        )
        # Ctrl+R, not F5: F5 starts a meeting (ux.md), as in presentation software.
        self.refresh_action = self._action(
            self.tr("&Refresh"), self.refresh, QKeySequence("Ctrl+R")
        )
        self.meetings_action = self._action(
            self.tr("&Meetings"), self.show_meetings, QKeySequence("Ctrl+2")
        )
        self.indicators_action = self._action(
            self.tr("&Indicators"), self.show_indicators, QKeySequence("Ctrl+4")
        )
        self.schedule_meeting_action = self._action(
            self.tr("&Schedule meeting…"), self.show_schedule_meeting, QKeySequence("Ctrl+Shift+M")
        )
        self.start_meeting_action = self._action(
            self.tr("S&tart meeting"), self.start_chosen_meeting, QKeySequence("F5")
        )
        self.print_action = self._action(
            self.tr("&Print…"), self.print_current, QKeySequence(QKeySequence.StandardKey.Print)
        )
        self.print_agenda_initials_action = self._action(
            self.tr("Print agenda with &initials only…"), self.print_agenda_initials
        )
        self.print_minutes_action = self._action(self.tr("Print min&utes…"), self.print_minutes)
        # "export_action": the role gate knows it by this name (ui/role_screens.py).
        self.export_action = self._action(self.tr("&FHIR care plan…"), self.export_care_plan)
        export_about = self.tr(
            "Save the care plan of the person in front as a UK Core FHIR R4 file, for "
            "another system such as a shared care record"
        )
        self.export_action.setToolTip(export_about)
        self.export_action.setStatusTip(export_about)
        self.export_action.setWhatsThis(export_about)
        self.team_hub_action = self._action(self.tr("&Team hub…"), self.show_team_hub)
        self.team_settings_action = self._action(self.tr("T&eam…"), self.show_team_settings)
        self.sync_now_action = self._action(
            self.tr("S&ync now"), self.sync_now, QKeySequence("Ctrl+Shift+S")
        )
        self.review_action = self._action(self.tr("Needs &review…"), self.show_review_list)
        self.close_tab_action = self._action(
            self.tr("&Close record"), self.close_current_record, QKeySequence("Ctrl+W")
        )
        # "Sign in as…" only in set-up, before anyone has a PIN (see show_sign_in)
        self.sign_in_action = self._action(self.tr("Sign &in as…"), self.show_sign_in)
        self.lock_action = self._action(self.tr("&Lock"), self.lock, QKeySequence("Ctrl+L"))
        # from any window of the app (a modal dialog blocks this shortcut: IdleLock sees
        # Ctrl+L there)
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action = self._action(self.tr("&Quit"), self.close, QKeySequence("Ctrl+Q"))
        self.undo_action = self.undo_group.createUndoAction(self, self.tr("&Undo"))
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_group.createRedoAction(self, self.tr("&Redo"))
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.shortcuts_action = self._action(
            self.tr("&Keyboard shortcuts"), self.show_shortcuts, QKeySequence("F1")
        )
        self.about_action = self._action(self.tr("&About MDT Desk"), self.show_about)

        menus = self.menuBar()
        file_menu = menus.addMenu(self.tr("&File"))
        file_menu.addActions([self.new_referral_action, self.print_action])
        self.export_menu = file_menu.addMenu(self.tr("&Export"))
        self.export_menu.setObjectName("export_menu")
        self.export_menu.setAccessibleName(self.tr("Export"))
        self.export_menu.setAccessibleDescription(
            self.tr("Save the record in front as a file for another system")
        )
        self.export_menu.setToolTipsVisible(True)  # says why an item is disabled
        self.export_menu.addAction(self.export_action)
        file_menu.addAction(self.close_tab_action)
        file_menu.addSeparator()
        file_menu.addActions([self.lock_action, self.sign_in_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu(self.tr("&Edit"))
        edit_menu.addActions([self.undo_action, self.redo_action])
        view_menu = menus.addMenu(self.tr("&View"))
        view_menu.addActions(
            [
                self.find_action,
                self.caseload_action,
                self.indicators_action,
                self.navigator_action,
                self.refresh_action,
            ]
        )
        self.columns_menu = view_menu.addMenu(self.tr("Caseload c&olumns"))
        self._build_columns_menu()
        meetings_menu = menus.addMenu(self.tr("&Meetings"))
        meetings_menu.addActions(
            [self.meetings_action, self.schedule_meeting_action, self.start_meeting_action]
        )
        meetings_menu.addSeparator()
        meetings_menu.addActions([self.print_agenda_initials_action, self.print_minutes_action])
        settings_menu = menus.addMenu(self.tr("&Settings"))
        settings_menu.addActions([self.team_hub_action, self.sync_now_action, self.review_action])
        settings_menu.addAction(self.team_settings_action)
        help_menu = menus.addMenu(self.tr("&Help"))
        help_menu.addActions([self.shortcuts_action, self.about_action])
        self.menus = [file_menu, edit_menu, view_menu, meetings_menu, settings_menu, help_menu]

        self.toolbar = toolbar = QToolBar(self.tr("Main"))
        toolbar.setObjectName("main_toolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.new_referral_action)
        toolbar.addAction(self.meetings_action)
        toolbar.addSeparator()
        toolbar.addWidget(self.quick_find)
        self.addToolBar(toolbar)

    def _build_columns_menu(self) -> None:
        """Check a column to show it; name is always shown."""
        header = self.caseload_table.horizontalHeader()
        self.column_actions: list[QAction] = []
        for number, column in enumerate(COLUMNS):
            action = QAction(self.tr(column.title), self)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(number))
            action.setEnabled(number != 0)
            action.toggled.connect(
                lambda shown, section=number: header.setSectionHidden(section, not shown)
            )
            action.toggled.connect(self._on_caseload_column_toggled)
            self.columns_menu.addAction(action)
            self.column_actions.append(action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.store_label = QLabel(self.tr("Store: {path}").format(path=self.runner.desk.store.path))
        self.signed_in_label = QLabel()
        self.sync_label = SyncStatusLabel(self.sync_controller, self.runner)
        self.sync_alarm = SyncAlarmLabel(self.sync_controller, self)
        bar.addPermanentWidget(self.sync_alarm)
        self.busy_label = QLabel()
        self.store_wait_label = StoreWaitLabel(self.runner.desk.store, self)
        bar.addPermanentWidget(self.store_wait_label)
        self.sync_progress = SyncProgressBar(self.sync_controller, self)
        bar.addPermanentWidget(self.sync_progress)
        for label in (self.busy_label, self.signed_in_label, self.sync_label):
            label.setContentsMargins(10, 0, 10, 0)
            bar.addPermanentWidget(label)
        bar.addWidget(self.store_label, 1)
        self._show_signed_in()

    def _show_signed_in(self) -> None:
        if self.locked:
            self.signed_in_label.setText(
                self.tr("Locked") if self._locked_by is not None else self.tr("Not signed in")
            )
            return
        name = self.runner.desk.actor_name or self.tr("nobody yet")
        self.signed_in_label.setText(self.tr("Signed in: {name}").format(name=name))

    def _connect(self) -> None:
        self.navigator.query_chosen.connect(self._on_navigator_query_chosen)
        self.caseload_filters.filters_changed.connect(self._on_caseload_filters_changed)
        self.action_list.loaded.connect(self._on_action_list_loaded)
        self.action_list.case_chosen.connect(self._on_action_list_case_chosen)
        self.caseload_model.loaded.connect(self._on_caseload_loaded)
        self.caseload_table.activated.connect(self._on_caseload_activated)
        self.caseload_table.horizontalHeader().customContextMenuRequested.connect(
            lambda position: self.columns_menu.exec(
                self.caseload_table.horizontalHeader().mapToGlobal(position)
            )
        )
        self.quick_find.patient_chosen.connect(self._on_quick_find_patient_chosen)
        self.workspace.tabCloseRequested.connect(self._on_workspace_tab_close_requested)
        self.workspace.currentChanged.connect(self._on_workspace_current_changed)
        self.runner.busy_changed.connect(self._on_runner_busy_changed)
        self.runner.bug_found.connect(self._on_runner_bug_found)
        self.runner.user_error_unhandled.connect(self._on_runner_user_error_unhandled)
        # The window reloads nothing by hand after a change: every screen hears what
        # changed from the runner and decides for itself (docs/architecture.md).
        self.runner.desk_changed.connect(self._on_runner_desk_changed)

    # -- settings ------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = QSettings()
        for key, restore in (
            (SettingsKey.GEOMETRY, self.restoreGeometry),
            (SettingsKey.STATE, self.restoreState),
            (SettingsKey.SPLITTER, self.splitter.restoreState),
            (SettingsKey.CASELOAD_HEADER, self._restore_caseload_header),
        ):
            value = settings.value(key)
            if isinstance(value, QByteArray):
                restore(value)
        header = self.caseload_table.horizontalHeader()
        for number, action in enumerate(self.column_actions):
            action.setChecked(not header.isSectionHidden(number))
        self.caseload_model.preset_sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        saved = settings.value(SettingsKey.OPEN_RECORDS, [])
        # QSettings gives back a one-item list as a plain string on some platforms.
        self._records_to_restore = (
            [saved] if isinstance(saved, str) else list(saved) if isinstance(saved, list) else []
        )

    def _load_workspace(self) -> None:
        """Ask for the caseload and reopen last time's records (once someone may see them)."""
        self._loaded = True
        principal = self.runner.desk.principal
        if not reads_caseload(self.runner) and principal is not None:
            # Nothing of any person is read for a role that may not see them.
            self._records_to_restore = []
            self.no_records_note.setText(
                self.tr(
                    "Signed in as {name} ({roles}). Your role does not include patient "
                    "records. Settings → Team adds staff, sets roles and one-time PINs, "
                    "records leavers and imports patient lists."
                ).format(name=principal.display_name, roles=principal.roles_label)
            )
            self.central_stack.setCurrentWidget(self.no_records_note)
            announce(self.no_records_note, self.no_records_note.text())
            return
        for entry in self._records_to_restore:
            patient, _, case = str(entry).partition(":")
            try:
                self.open_record(uuid.UUID(patient), uuid.UUID(case) if case else None)
            except ValueError:
                continue  # a damaged settings entry: skip it, never fail to start
        self._records_to_restore = []
        self.workspace.setCurrentIndex(0)
        self.navigator.select_view(
            CaseloadView.MY_CASELOAD if self.runner.desk.actor_id else CaseloadView.ALL_OPEN
        )
        self.navigator.refresh()

    @Slot(bool)
    def _on_caseload_column_toggled(self, _shown: bool) -> None:
        if self.caseload_page.auto_fit_columns:
            self.caseload_page.fit_columns()

    def _restore_caseload_header(self, state: QByteArray) -> bool:
        restored = self.caseload_table.horizontalHeader().restoreState(state)
        if restored:
            self.caseload_page.auto_fit_columns = False  # the person's own layout
        return restored

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue(SettingsKey.GEOMETRY, self.saveGeometry())
        settings.setValue(SettingsKey.STATE, self.saveState())
        settings.setValue(SettingsKey.SPLITTER, self.splitter.saveState())
        settings.setValue(
            SettingsKey.CASELOAD_HEADER, self.caseload_table.horizontalHeader().saveState()
        )
        open_now = [f"{record.patient_id}:{record.case_id or ''}" for record in self.open_records()]
        # Closed at the sign-in screen: last time's records are still the ones to reopen.
        settings.setValue(
            SettingsKey.OPEN_RECORDS, open_now if self._loaded else self._records_to_restore
        )

    # -- what the user can do ------------------------------------------------------

    def open_records(self) -> list["CaseRecordWidget"]:
        """The open case records, in tab order."""
        return [
            record
            for index in range(self.workspace.count())
            for record in self._records
            if self.workspace.widget(index) is record
        ]

    def current_record(self) -> "CaseRecordWidget | None":
        """The case record in front, if the tab in front is one."""
        widget = self.workspace.currentWidget()
        return next((record for record in self._records if record is widget), None)

    def open_record(self, patient_id: uuid.UUID, case_id: uuid.UUID | None) -> "CaseRecordWidget":
        """Show the person's record in a tab (the existing tab if it is open already)."""
        from mdt_desk.ui.case_record.widget import CaseRecordWidget

        for record in self.open_records():
            if record.patient_id == patient_id and (case_id is None or record.case_id == case_id):
                self.workspace.setCurrentWidget(record)
                return record
        record = CaseRecordWidget(self.runner, patient_id, case_id)
        self._records.append(record)
        index = self.workspace.addTab(record, record.title())
        record.title_changed.connect(
            lambda title, widget=record: self.workspace.setTabText(
                self.workspace.indexOf(widget), title
            )
        )
        referral_requested = getattr(record, "referral_requested", None)
        if referral_requested is not None:
            referral_requested.connect(self._on_record_referral_requested)
        self.undo_group.addStack(record.undo_stack)
        self.workspace.setCurrentIndex(index)
        return record

    @Slot()
    def focus_quick_find(self) -> None:
        self.quick_find.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.quick_find.selectAll()

    @Slot()
    def show_caseload(self) -> None:
        self.workspace.setCurrentIndex(0)
        self.caseload_table.setFocus()

    @Slot()
    def refresh(self) -> None:
        """Ctrl+R: every screen reads again, as if everything had changed."""
        from mdt_desk.services.changes import Changes

        self.runner.announce(Changes.everything())

    # -- sync ------------------------------------------------------------------------

    def _start_sync(self) -> None:
        desk = self.runner.desk
        address = saved_hub_address(desk.store.path, joined=desk.hub_address)
        if address:
            self.sync_controller.configure(address)
            # Without a keyring the password lives for one run only: ask once the
            # controller has looked (never blocking the window's start).
            QTimer.singleShot(1500, self._ask_hub_password_if_needed)
        # What a pull applied is told to every screen, as a write on this desk is.
        self.sync_controller.changes_applied.connect(self.runner.announce)

    @Slot()
    def _ask_hub_password_if_needed(self) -> None:
        controller = self.sync_controller
        address = controller.hub_address
        if not controller.configured or controller.has_password or address.startswith("sqlite"):
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("Team hub password"))
        dialog.setLabelText(
            self.tr(
                "This computer has no keyring to keep the team hub's password, so MDT Desk "
                "asks for it once each time it starts. Password for {hub}:"
            ).format(hub=address)
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setObjectName("hub_password_prompt")
        dialog.textValueSelected.connect(
            lambda password: controller.configure(
                saved_hub_address(self.runner.desk.store.path, joined=self.runner.desk.hub_address),
                password or None,
            )
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.hub_password_prompt = dialog
        dialog.open()

    @Slot()
    def show_team_settings(self) -> "TeamDialog":
        """Settings → Team: staff, roles, practices, PINs, leavers, idle lock, imports."""
        from mdt_desk.ui.team.team_dialog import TeamDialog

        dialog = TeamDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(lambda message: self.statusBar().showMessage(message, 10_000))
        dialog.idle_lock_changed.connect(
            lambda minutes: self.idle_lock.set_interval_ms(minutes * 60_000)
        )
        self.team_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def show_team_hub(self) -> "TeamHubDialog":
        from mdt_desk.ui.sync.team_hub_dialog import TeamHubDialog

        dialog = TeamHubDialog(self.sync_controller, self, principal=self.runner.desk.principal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def sync_now(self) -> None:
        """Ctrl+Shift+S: sync now (in the background); says so when no hub is set."""
        if not self.sync_controller.configured:
            self.statusBar().showMessage(
                self.tr("This desk has no team hub yet: Settings → Team hub."), 5000
            )
            return
        self.sync_controller.sync_now()

    @Slot()
    def show_review_list(self) -> None:
        self.sync_label.show_review_list()

    # -- printing ------------------------------------------------------------------

    def print_request(self) -> "DocumentRequest | None":
        """What Print means on the tab in front (``None``, with a message, if nothing).

        A case record prints the person's care plan; the Meetings tab the chosen
        meeting's agenda (its minutes once it has finished); the caseload the list of the
        chosen practice, or of the signed-in coordinator on *My caseload*.
        """
        from mdt_desk.documents import DocumentRequest
        from mdt_desk.models.enums import DocumentKind, MeetingStatus

        widget = self.workspace.currentWidget()
        for record in self._records:
            if record is widget:
                return DocumentRequest(
                    DocumentKind.CARE_PLAN, patient_id=record.patient_id, case_id=record.case_id
                )
        page = self.meetings_page
        if page is not None and widget is page:
            detail = page.detail
            if detail is None:
                self.statusBar().showMessage(self.tr("Choose a meeting to print."), 5000)
                return None
            finished = detail.meeting.status is MeetingStatus.FINISHED
            kind = DocumentKind.MINUTES if finished else DocumentKind.AGENDA
            return DocumentRequest(kind, meeting_id=detail.meeting.id)
        query = self.caseload_model.query
        if query.practice_id is not None:
            return DocumentRequest(DocumentKind.CASELOAD_LIST, practice_id=query.practice_id)
        if query.view is CaseloadView.MY_CASELOAD and self.runner.desk.actor_id is not None:
            return DocumentRequest(
                DocumentKind.CASELOAD_LIST, coordinator_id=self.runner.desk.actor_id
            )
        self.statusBar().showMessage(
            self.tr("Choose a practice, or My caseload, to print a caseload list."), 5000
        )
        return None

    @Slot()
    def print_current(self) -> "PrintPreviewDialog | None":
        """Ctrl+P: the print preview of what the tab in front shows."""
        request = self.print_request()
        return self.show_print_preview(request) if request is not None else None

    def _meeting_request(self, kind_name: str) -> "DocumentRequest | None":
        from mdt_desk.documents import DocumentRequest
        from mdt_desk.models.enums import DocumentKind

        page = self.show_meetings()
        if page.detail is None:
            self.statusBar().showMessage(self.tr("Choose a meeting to print."), 5000)
            return None
        return DocumentRequest(DocumentKind(kind_name), meeting_id=page.detail.meeting.id)

    @Slot()
    def print_agenda_initials(self) -> "PrintPreviewDialog | None":
        request = self._meeting_request("agenda_initials")
        return self.show_print_preview(request) if request is not None else None

    @Slot()
    def print_minutes(self) -> "PrintPreviewDialog | None":
        request = self._meeting_request("minutes")
        return self.show_print_preview(request) if request is not None else None

    def show_print_preview(self, request: "DocumentRequest") -> "PrintPreviewDialog":
        from mdt_desk.ui.print_preview import PrintPreviewDialog

        dialog = PrintPreviewDialog(self.runner, request, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.print_dialog = dialog
        dialog.open()
        return dialog

    # -- exporting -----------------------------------------------------------------

    @Slot()
    def export_care_plan(self) -> "FhirCarePlanExport | None":
        """File → Export → FHIR care plan…: the care plan of the record in front."""
        from mdt_desk.ui.fhir_export import ExportedPerson, FhirCarePlanExport

        record = self.current_record()
        if record is None:
            return None
        export = FhirCarePlanExport(self.runner, ExportedPerson.of_record(record), self)
        export.start()
        return export

    def _update_export_action(self, *_args: object) -> None:
        """Export is for the record in front, and for a role that may export."""
        if self.locked:
            return  # the lock disabled every action, and gives them back itself
        allowed = allows(self.runner.desk.principal, ACTION_PERMISSIONS["export_action"])
        self.export_action.setEnabled(allowed and self.current_record() is not None)

    # -- meetings ------------------------------------------------------------------

    @Slot()
    def show_meetings(self) -> "MeetingsPage":
        """The Meetings tab (opened beside the caseload the first time)."""
        if self.meetings_page is None:
            from mdt_desk.ui.meetings.meetings_page import MeetingsPage

            page = MeetingsPage(self.runner)
            page.start_meeting_requested.connect(self.open_meeting_mode)
            page.record_requested.connect(self.open_record)
            self.meetings_page = page
            self.workspace.insertTab(1, page, self.tr("Meetings"))
            page.reload()
        self.workspace.setCurrentWidget(self.meetings_page)
        return self.meetings_page

    @Slot()
    def show_indicators(self) -> "IndicatorsPage":
        """Ctrl+4: the Indicators tab (opened beside the caseload the first time; the
        charts' library is loaded only then)."""
        if self.indicators_page is None:
            from mdt_desk.ui.indicators.page import IndicatorsPage

            page = IndicatorsPage(self.runner)
            page.record_requested.connect(self.open_record)  # as the caseload opens a case
            self.indicators_page = page
            position = 1 + (self.meetings_page is not None)
            self.workspace.insertTab(position, page, self.tr("Indicators"))
            page.reload()
        self.workspace.setCurrentWidget(self.indicators_page)
        # Straight into the measures, so Down and Enter work at once (as Ctrl+1 does).
        self.indicators_page.figures_table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return self.indicators_page

    @Slot()
    def show_schedule_meeting(self) -> None:
        page = self.show_meetings()

        def open_dialog(_nothing: None) -> None:
            page.show_schedule_dialog()

        # Queued behind the page's first load: the form lists the practices and staff.
        self.runner.after_queued(open_dialog, owner=page)

    @Slot()
    def start_chosen_meeting(self) -> None:
        """F5: run the meeting chosen on the Meetings tab (open the tab to choose one)."""
        if self.meetings_page is None or self.workspace.currentWidget() is not self.meetings_page:
            self.show_meetings()
            return
        self.meetings_page.start_current_meeting()

    @Slot(object)
    def open_meeting_mode(self, meeting_id: uuid.UUID) -> "MeetingModeWindow":
        """Meeting mode in its own window, full screen on the shared screen.

        With a second screen (projector) it goes there and this window stays on the
        chair's laptop; with one screen it covers this one.
        """
        from mdt_desk.ui.meeting_mode.window import MeetingModeWindow

        for window in list(self.meeting_windows):
            if window.meeting_id != meeting_id:
                continue
            if window.isVisible():
                window.raise_()
                window.activateWindow()
                return window
            # Closed (Ctrl+W) and not yet deleted: Resume opens a fresh window, which
            # carries on from the store (everything typed was saved as the window closed).
            self._forget_meeting_window(window)
            window.deleteLater()
        window = MeetingModeWindow(self.runner, meeting_id)
        # Closing it ends the window, never the meeting: Resume (F5) opens a new one.
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.destroyed.connect(lambda _obj=None, w=window: self._forget_meeting_window(w))
        window.meeting_finished.connect(self._on_meeting_finished)
        self.meeting_windows.append(window)
        own = self.screen()
        others = [screen for screen in QGuiApplication.screens() if screen is not own]
        window.present(others[0] if others else own)
        return window

    def _forget_meeting_window(self, window: "MeetingModeWindow") -> None:
        if window in self.meeting_windows:
            self.meeting_windows.remove(window)

    @Slot(object)
    def _on_meeting_finished(self, meeting_id: uuid.UUID) -> None:
        """The Meetings tab shows the meeting just ended, so Print gives its minutes."""
        if self.meetings_page is not None:
            self.meetings_page.choose_meeting(meeting_id)

    @Slot()
    def close_current_record(self) -> None:
        index = self.workspace.currentIndex()
        if index > 0:
            self._on_workspace_tab_close_requested(index)

    @Slot()
    def show_new_referral(self) -> "NewReferralDialog":
        from mdt_desk.ui.new_referral_dialog import NewReferralDialog

        dialog = NewReferralDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.referral_made.connect(self._on_referral_made)
        open_case_requested = getattr(dialog, "open_case_requested", None)
        if open_case_requested is not None:
            open_case_requested.connect(self._on_referral_made)
        dialog.open()
        return dialog

    @Slot()
    def show_shortcuts(self) -> KeyboardShortcutsDialog:
        dialog = KeyboardShortcutsDialog(self.menus, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About MDT Desk"),
            self.tr(
                "MDT Desk keeps the caseload of a practice-linked multidisciplinary team: "
                "cases, care coordinators, action plans and meetings.\n\nStore: {path}"
            ).format(path=self.runner.desk.store.path),
        )

    def show_welcome(self) -> "WelcomeDialog":
        """First run: set up the team or explore demo data (never blocks the caller)."""
        from mdt_desk.ui.welcome_dialog import WelcomeDialog

        dialog = WelcomeDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._on_welcome_accepted)
        dialog.open()
        return dialog

    # -- slots ---------------------------------------------------------------------

    @Slot(object, str)
    def _on_navigator_query_chosen(self, query: CaseloadQuery | ActionsQuery, title: str) -> None:
        self._caseload_title = title
        self.caseload_page.heading.setText(title)
        if isinstance(query, ActionsQuery):
            # "My actions" follows whoever is signed in; "Overdue actions" is the team's.
            self.action_list.show_actions(query, mine=query.owner_id is not None)
            self.caseload_page.show_actions()
        else:
            current = self.caseload_model.query
            self._chosen_caseload = CaseloadQuery(
                view=query.view,
                practice_id=query.practice_id,
                coordinator_id=query.coordinator_id,
                sort=current.sort,
                descending=current.descending,
            )
            self.caseload_model.set_query(self.caseload_filters.apply(self._chosen_caseload))
            self.caseload_page.show_cases()
        self.workspace.setCurrentIndex(0)

    @Slot()
    def _on_caseload_filters_changed(self) -> None:
        current = self.caseload_model.query
        chosen = dataclasses.replace(
            self._chosen_caseload, sort=current.sort, descending=current.descending
        )
        self.caseload_model.set_query(self.caseload_filters.apply(chosen))

    @Slot(int)
    def _on_action_list_loaded(self, count: int) -> None:
        self.caseload_page.heading.setText(
            self.tr("{title} — {count} actions").format(title=self._caseload_title, count=count)
            if count != 1
            else self.tr("{title} — 1 action").format(title=self._caseload_title)
        )

    @Slot(object, object)
    def _on_action_list_case_chosen(self, patient_id: uuid.UUID, case_id: uuid.UUID) -> None:
        self.open_record(patient_id, case_id)

    @Slot(int)
    def _on_caseload_loaded(self, count: int) -> None:
        self.caseload_page.heading.setText(
            self.tr("{title} — {count} cases").format(title=self._caseload_title, count=count)
            if count != 1
            else self.tr("{title} — 1 case").format(title=self._caseload_title)
        )

    @Slot(QModelIndex)
    def _on_caseload_activated(self, index: QModelIndex) -> None:
        patient_id = index.data(CaseloadRole.PATIENT_ID)
        case_id = index.data(CaseloadRole.CASE_ID)
        if isinstance(patient_id, uuid.UUID):
            self.open_record(patient_id, case_id)

    @Slot(object)
    def _on_quick_find_patient_chosen(self, patient_id: uuid.UUID) -> None:
        self.open_record(patient_id, None)

    @Slot(object)
    def _on_record_referral_requested(self, _patient_id: object) -> None:
        self.show_new_referral()

    @Slot(object, object)
    def _on_referral_made(self, patient_id: uuid.UUID, case_id: uuid.UUID | None) -> None:
        self.open_record(patient_id, case_id)

    @Slot(int)
    def _on_workspace_tab_close_requested(self, index: int) -> None:
        widget = self.workspace.widget(index)
        page = self.meetings_page
        if page is not None and widget is page:
            self.workspace.removeTab(index)
            self.meetings_page = None
            page.deleteLater()
            return
        indicators = self.indicators_page
        if indicators is not None and widget is indicators:
            self.workspace.removeTab(index)
            self.indicators_page = None
            indicators.deleteLater()
            return
        if widget not in self._records:
            return
        flush_drafts(widget)  # what was typed in the last moments is kept too
        self._records.remove(widget)
        self.undo_group.removeStack(widget.undo_stack)
        self.workspace.removeTab(index)
        widget.deleteLater()

    @Slot(int)
    def _on_workspace_current_changed(self, index: int) -> None:
        self._update_export_action()
        widget = self.workspace.widget(index)
        # Undo applies to the record in front; on the caseload there is nothing to undo.
        records = {id(record): record for record in self._records}
        record = records.get(id(widget))
        # Qt takes a null stack to mean "none active"; the stubs do not say so.
        self.undo_group.setActiveStack(record.undo_stack if record is not None else None)  # type: ignore[arg-type]

    @Slot(bool)
    def _on_runner_busy_changed(self, busy: bool) -> None:
        self.busy_label.setText(self.tr("Working…") if busy else "")

    @Slot(str)
    def _on_runner_user_error_unhandled(self, message: str) -> None:
        """A problem the person can fix (busy store, full disk): say it plainly."""
        self._problems_reported += 1
        self.statusBar().showMessage(message, 15_000)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("MDT Desk"),
            message,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("problem_box")
        box.setAccessibleName(self.tr("Problem"))
        box.setAccessibleDescription(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_runner_bug_found(self, details: str) -> None:
        self._problems_reported += 1
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            self.tr("Something went wrong"),
            self.tr(
                "MDT Desk hit a problem it did not expect. What you were doing was not "
                "saved; everything saved before is safe. The details are in the log."
            ),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @Slot()
    def show_sign_in(self) -> "SignInDialog | SignInPage":
        """File → Lock and switch person: the lock screen, where anyone signs in with a PIN.

        Only in set-up, before anyone has a PIN, is it the dialog that signs in without one.
        """
        if self.may_lock:
            self.lock()
            return self.sign_in_page
        from mdt_desk.ui.sign_in_dialog import SignInDialog

        dialog = SignInDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.sign_in_dialog = dialog
        dialog.open()
        return dialog

    @Slot(object)
    def _on_runner_desk_changed(self, _desk: object) -> None:
        self._show_signed_in()
        # A notice about the previous person's typing is not the new person's to see
        # (their text is held for them: see drafts.py).
        if self.statusBar().currentMessage() == self._unkept_drafts_status():
            self.statusBar().clearMessage()

    @Slot()
    def _on_welcome_accepted(self) -> None:
        self.navigator.select_view(CaseloadView.MY_CASELOAD)
        # The demo gives everyone a PIN: the window opens on the sign-in screen, as it
        # will each time from now on. A PIN set in the welcome signed its person in.
        self.read_desk_settings(sign_in_unless_verified=True)

    # -- signing in and the lock ------------------------------------------------------

    def read_desk_settings(self, *, sign_in_unless_verified: bool = False) -> None:
        """Read (off the GUI thread) the idle time, whether this is a demo store, and
        whether the store is past set-up; with ``sign_in_unless_verified``, a desk
        past set-up whose person has not given their PIN goes to the sign-in screen."""
        from mdt_desk.services.access import store_in_setup
        from mdt_desk.services.demo import is_demo_store
        from mdt_desk.services.desk_settings import idle_lock_minutes

        def job(desk: Desk) -> tuple[int, bool, bool]:
            with desk.store.read() as session:
                setup = store_in_setup(session)
                minutes = idle_lock_minutes(session)
            return minutes, is_demo_store(desk.store), setup

        def done(result: tuple[int, bool, bool]) -> None:
            minutes, demo, setup = result
            self.demo_store = demo
            self.sign_in_page.set_demo(demo)
            if not self.idle_lock_interval_set:
                self.idle_lock.set_interval_ms(minutes * 60_000)
            self.may_lock = not setup
            if self.may_lock and not self.locked and self.runner.desk.principal is not None:
                self.idle_lock.start()
            if sign_in_unless_verified and self.may_lock and self.runner.desk.principal is None:
                self._show_lock_page(first_sign_in=True)
            self._update_title()

        self.runner.run_local(job, done, None, owner=self, description="read desk settings")

    #: set by a test (or an administrator's change) so the store's value is not applied
    idle_lock_interval_set = False

    def set_idle_lock_interval_ms(self, milliseconds: int) -> None:
        """Lock after this long idle (tests shorten it; the store says minutes)."""
        self.idle_lock_interval_set = True
        self.idle_lock.set_interval_ms(milliseconds)

    @Slot()
    def lock(self) -> None:
        """Ctrl+L, or idle: hide every patient detail and ask for a PIN to carry on.

        Everything typed is sent to be kept as drafts first (nothing is lost), open
        dialogs and secondary windows are hidden until the desk is unlocked, and
        meeting mode on the projector shows a neutral screen.
        """
        if self.locked:
            return
        if not self.may_lock:
            self.statusBar().showMessage(
                self.tr("Nobody has a PIN yet, so this desk cannot lock: set yours first."),
                5000,
            )
            return
        principal = self.runner.desk.principal
        flush_drafts(self)
        if principal is not None:
            self.runner.write(
                lambda session: access_log.append(session, AccessAction.LOCK),
                owner=None,
                description="desk locked",
            )
        self._show_lock_page(first_sign_in=False)

    def _show_lock_page(self, *, first_sign_in: bool) -> None:
        self.locked = True
        self.idle_lock.stop()
        focused = QApplication.focusWidget()
        self._focus_before_lock = (
            focused if focused is not None and self.isAncestorOf(focused) else None
        )
        for window in self.meeting_windows:
            window.set_locked(True)
        # Matches of a search still running would otherwise pop up over the lock screen.
        self.quick_find.forget()
        for widget in QApplication.topLevelWidgets():
            if widget is self or widget in self.meeting_windows or not widget.isVisible():
                continue
            if widget.objectName() == STARTUP_SHELL_NAME:
                continue  # the start-up screen: it hands over its typing and closes itself
            widget.hide()
            if widget.windowType() != Qt.WindowType.Popup:
                self._hidden_while_locked.append(widget)  # shown again once unlocked
        self.statusBar().clearMessage()
        self.menuBar().hide()
        self.toolbar.hide()
        for action in self.actions():
            if action in (self.quit_action, self.lock_action):
                continue
            self._actions_before_lock.setdefault(action, action.isEnabled())
            action.setEnabled(False)
        self.central_stack.setCurrentWidget(self.sign_in_page)
        principal = self.runner.desk.principal
        self._locked_by = None if first_sign_in else principal
        if first_sign_in:
            self.sign_in_page.show_sign_in(self.runner.desk.actor_id)
        else:
            self.sign_in_page.show_locked(principal)
        self.sign_in_page.focus_first_field()
        self._show_signed_in()
        self._update_title()

    def carry_on_signing_in(
        self, *, name_filter: str, pin: str, submit: bool, focus_pin: bool
    ) -> None:
        """Take over the typing of the start-up screen (:mod:`mdt_desk.startup`): the
        name filter and the PIN, the focus where it was, and the sign-in if Enter was
        pressed (:meth:`SignInPage.carry_on`)."""
        self.sign_in_page.carry_on(name_filter, pin, submit=submit, focus_pin=focus_pin)

    @Slot(object)
    def _on_signed_in(self, principal: Principal) -> None:
        """The PIN was right (the runner has swapped the desk in): open the desk again."""
        same_person = self._locked_by is not None and self._locked_by.staff_id == principal.staff_id
        self.locked = False
        self.central_stack.setCurrentWidget(self.splitter)
        self.menuBar().show()
        self.toolbar.show()
        for action, enabled in self._actions_before_lock.items():
            action.setEnabled(enabled)
        self._actions_before_lock.clear()
        if not same_person and self._locked_by is not None:
            # Someone else: nothing read for the first person is shown to them. Dialogs,
            # meeting mode and open records close (their typing is kept as drafts); the
            # newcomer opens what they need, read with their own rights.
            self._close_what_was_read_for(self._locked_by)
        for widget in self._hidden_while_locked:
            if shiboken6.isValid(widget):
                widget.show()
        self._hidden_while_locked.clear()
        for window in self.meeting_windows:
            window.set_locked(False)
        self._show_signed_in()
        self._update_title()
        if not self._loaded or not reads_caseload(self.runner):
            self._load_workspace()
        elif not same_person:
            self.navigator.select_view(CaseloadView.MY_CASELOAD)  # the new person's own
        focus = self._focus_before_lock
        if same_person and focus is not None and shiboken6.isValid(focus) and focus.isVisible():
            focus.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            # what is typed straight after signing in goes to Find patient (contracts)
            self.focus_quick_find()
        self._focus_before_lock = None
        self.may_lock = True
        self.idle_lock.start()

    def _close_what_was_read_for(self, _previous: Principal) -> None:
        for widget in self._hidden_while_locked:
            if shiboken6.isValid(widget):
                widget.close()
        self._hidden_while_locked.clear()
        for window in list(self.meeting_windows):
            window.close()
        if self.indicators_page is not None:  # its list of counted cases was read for them
            self._on_workspace_tab_close_requested(self.workspace.indexOf(self.indicators_page))
        for record in list(self._records):
            index = self.workspace.indexOf(record)
            if index >= 0:
                self._on_workspace_tab_close_requested(index)

    def _update_title(self) -> None:
        self.sign_in_action.setText(
            self.tr("Lock and s&witch person…") if self.may_lock else self.tr("Sign &in as…")
        )
        title = self.tr("MDT Desk — locked") if self.locked else self.tr("MDT Desk")
        if self.demo_store:
            title += " " + demo_note()
        self.setWindowTitle(title)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._last_typing_kept():
            event.ignore()  # the text stays in its fields; the window says why
            return
        for window in list(self.meeting_windows):
            window.close()  # saves what was typed last, through the runner, before it stops
        self.save_settings()
        self.idle_lock.stop()
        self.quick_find.results.hide()
        self.sync_controller.shutdown()  # stops at its next batch; nothing half-applied
        self.runner.shutdown()
        self.runner.desk.store.close()
        super().closeEvent(event)

    def _last_typing_kept(self) -> bool:
        """Save every pending draft and wait for it; False if the window must stay open.

        Waited for here rather than left to the runner's shutdown: a save that fails
        must stop the close while the text is still on screen, and a failure reported
        while waiting is in a message that closing would take away.
        """
        if self._close_losing_unkept_drafts:
            return True
        reported = self._problems_reported
        # Meeting mode's last saves are queued first, so the wait below covers them and a
        # failure keeps the chair's typing on screen (H100), not left to the shutdown.
        for window in self.meeting_windows:
            window.send_last_typing()
        unkept = keep_drafts_now(self, self.runner)
        unkept_meeting = [w for w in self.meeting_windows if w.has_unkept_typing()]
        if unkept or unkept_meeting:
            self._show_unkept_drafts_box(drafts=bool(unkept), meeting=bool(unkept_meeting))
            return False
        return self._problems_reported == reported

    def _show_unkept_drafts_box(self, drafts: bool = True, meeting: bool = False) -> None:
        said = []
        if meeting:
            said.append(
                self.tr(
                    "What was typed in meeting mode could not be saved, so MDT Desk stays "
                    "open with the text still in meeting mode, which says why."
                )
            )
        if drafts:
            said.append(
                self.tr(
                    "Some of what you typed could not be kept as a draft, so MDT Desk stays "
                    "open with the text still in its fields; each says why."
                )
            )
        said.append(
            self.tr(
                "Put that right (for example free some disk space) and close again, or "
                "close now and lose that text."
            )
        )
        message = " ".join(said)
        self.statusBar().showMessage(self._unkept_drafts_status(), 15_000)
        if self.unkept_drafts_box is not None:
            self.unkept_drafts_box.raise_()
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("Typing not kept"),
            message,
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("unkept_drafts_box")
        box.setAccessibleName(self.tr("Typing not kept"))
        box.setAccessibleDescription(message)
        stay = box.addButton(self.tr("&Keep MDT Desk open"), QMessageBox.ButtonRole.RejectRole)
        stay.setObjectName("keep_open_button")
        stay.setAccessibleName(self.tr("Keep MDT Desk open"))
        leave = box.addButton(
            self.tr("Close and &lose that text"), QMessageBox.ButtonRole.DestructiveRole
        )
        leave.setObjectName("close_losing_text_button")
        leave.setAccessibleName(self.tr("Close and lose that text"))
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _result: self._on_unkept_drafts_answered(box.clickedButton() is leave)
        )
        self.unkept_drafts_box = box
        box.open()

    def _unkept_drafts_status(self) -> str:
        return self.tr("Not closed: typing not kept as a draft.")

    def _on_unkept_drafts_answered(self, close_anyway: bool) -> None:
        self.unkept_drafts_box = None
        if close_anyway:
            self._close_losing_unkept_drafts = True
            self.close()
