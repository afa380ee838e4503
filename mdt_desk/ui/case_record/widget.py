"""The case record: one person and their case, opened in a tab of the main window.

Layout: the CUI patient banner at the top (:class:`PatientBanner`), then the tabs
Summary, Care coordinator, Care team, Goals, Action plan, Notes and History. A person
without a case shows the banner and a prompt to refer them.

Everything is read with one :func:`~mdt_desk.services.case_view.load_record` call (and
the history with :func:`~mdt_desk.services.history.record_history`) on the task
runner's worker; the tabs save through the runner too and the record then fetches
itself again. Cheap edits (risk band, next review, escalation, goal outcome) go on
:attr:`CaseRecordWidget.undo_stack`.
"""

import datetime as dt
import uuid

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.services import access_log, drafts
from mdt_desk.services.case_view import RecordView, load_record
from mdt_desk.services.changes import Changes
from mdt_desk.services.drafts import DraftText
from mdt_desk.services.history import HistoryEntry, record_history
from mdt_desk.services.restricted import RecordAccess, record_access
from mdt_desk.ui.case_record.access_panel import AccessLogTab, RestrictedNotice
from mdt_desk.ui.case_record.action_plan import ActionPlanWidget
from mdt_desk.ui.case_record.banner import PatientBanner
from mdt_desk.ui.case_record.base import RecordTab
from mdt_desk.ui.case_record.care_team import CareTeamTab
from mdt_desk.ui.case_record.coordinator import CoordinatorTab
from mdt_desk.ui.case_record.goals import GoalsTab
from mdt_desk.ui.case_record.held_fields import ChangedUnderneathNotice
from mdt_desk.ui.case_record.history_tab import HistoryTab
from mdt_desk.ui.case_record.notes import NotesTab
from mdt_desk.ui.case_record.summary import SummaryTab
from mdt_desk.ui.runner import TaskRunner, originates_in
from mdt_desk.ui.widgets import ErrorLabel

ACTION_PLAN_TAB = 4


class CaseRecordWidget(QWidget):
    """One person's record, shown in a tab of the main window.

    Signals:
        record_changed(object): something in this record was saved; carries the case id
            (or None for a person without a case) so lists can refresh.
        title_changed(str): the tab title (``SMITH, Jane``) is known or changed.
        referral_requested(object): the user asked to refer this person (no case yet);
            carries the patient id.
        record_loaded(object): a fresh :class:`RecordView` is shown.
        history_loaded(object): the History tab was filled (a list of entries).
    """

    record_changed = Signal(object)
    title_changed = Signal(str)
    referral_requested = Signal(object)
    record_loaded = Signal(object)
    history_loaded = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        patient_id: uuid.UUID,
        case_id: uuid.UUID | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.patient_id = patient_id
        self.case_id = case_id
        self.undo_stack = QUndoStack(self)
        self.view: RecordView | None = None
        self.action_plan: ActionPlanWidget | None = None
        self._title = self.tr("Record")
        self._generation = 0
        self._reload_from_elsewhere = False
        self.setAccessibleName(self.tr("Case record"))

        self.banner = PatientBanner(self)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("record_error_label")
        self.drafts_label = QLabel(self)
        self.drafts_label.setObjectName("record_drafts_label")
        self.drafts_label.setWordWrap(True)
        self.drafts_label.setAccessibleName(self.tr("Unsaved drafts"))
        self.drafts_label.hide()
        self.changed_notice = ChangedUnderneathNotice(self)
        # Need-to-know: how many restricted items are hidden, and Break glass…
        self.restricted_notice = RestrictedNotice(runner, patient_id, self)
        self.restricted_notice.glass_broken.connect(self._on_glass_broken)
        self.access: RecordAccess | None = None

        self.summary_tab = SummaryTab(runner, self.undo_stack, self)
        self.coordinator_tab = CoordinatorTab(runner, self.undo_stack, self)
        self.care_team_tab = CareTeamTab(runner, self.undo_stack, self)
        self.goals_tab = GoalsTab(runner, self.undo_stack, self)
        self.notes_tab = NotesTab(runner, self.undo_stack, self)
        self.history_tab = HistoryTab(runner, self.undo_stack, self)
        self._action_plan_placeholder = QLabel(self.tr("Loading…"), self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("record_tabs")
        self.tabs.setAccessibleName(self.tr("Case record sections"))
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setAccessibleName(self.tr("Case record sections"))
        for tab, text in (
            (self.summary_tab, self.tr("S&ummary")),
            (self.coordinator_tab, self.tr("Coord&inator")),
            (self.care_team_tab, self.tr("Care &team")),
            (self.goals_tab, self.tr("&Goals")),
            (self._action_plan_placeholder, self.tr("&Action plan")),
            (self.notes_tab, self.tr("&Notes")),
            (self.history_tab, self.tr("Histor&y")),
        ):
            self.tabs.addTab(tab, text)
            if isinstance(tab, RecordTab):
                tab.changed.connect(self._on_tab_changed)
                tab.typing_kept.connect(self.changed_notice.show_notice)
        # "Who has looked": a tab only for the coordinator and a privacy officer.
        self.access_log_tab = AccessLogTab(runner, self.undo_stack, self)
        self.access_log_tab.hide()

        self.no_case_page = self._build_no_case_page()

        self.loading_label = QLabel(self.tr("Loading the record…"), self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.loading_label)
        self.pages.addWidget(self.no_case_page)
        self.pages.addWidget(self.tabs)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.error_label)
        layout.addWidget(self.drafts_label)
        layout.addWidget(self.changed_notice)
        layout.addWidget(self.restricted_notice)
        layout.addWidget(self.pages, 1)
        # A change to this person or case committed anywhere else (another tab, meeting
        # mode, sync, review) reloads this record: it never shows stale clinical data.
        # What is being typed survives the reload (see held_fields).
        runner.changes_committed.connect(self._on_runner_changes_committed)
        # "Unsaved drafts kept for you" is the signed-in person's: after a sign-in it is
        # taken down at once and told again for the new person (their own drafts only).
        runner.desk_changed.connect(self._on_runner_desk_changed)
        # The access log: this opening, once (a reload is not another opening). Queued
        # before the first read, so "who has looked" already lists it.
        self._log_opening()
        self.reload()

    def _log_opening(self) -> None:
        patient_id = self.patient_id
        self.runner.write(
            lambda session: access_log.record_open(session, patient_id),
            None,
            self._on_fetch_failed,
            owner=self,
            description="log record opened",
        )

    def _build_no_case_page(self) -> QWidget:
        page = QWidget(self)
        self.no_case_label = QLabel(
            self.tr("This person has no case. Refer them to open one."), page
        )
        self.no_case_label.setObjectName("no_case_label")
        self.no_case_label.setWordWrap(True)
        self.refer_button = QPushButton(self.tr("&Refer…"), page)
        self.refer_button.setObjectName("refer_button")
        self.refer_button.setAccessibleName(self.tr("Refer this person"))
        self.refer_button.clicked.connect(self._on_refer_button_clicked)
        no_case_layout = QVBoxLayout(page)
        no_case_layout.addWidget(self.no_case_label)
        no_case_layout.addWidget(self.refer_button)
        no_case_layout.addStretch(1)
        return page

    # -- public API --------------------------------------------------------------------

    def title(self) -> str:
        return self._title

    def reload(self, *, from_elsewhere: bool = False) -> None:
        """Fetch everything again.

        Args:
            from_elsewhere: the reload follows a change made outside this record; a
                field being edited keeps the person's text either way.
        """
        self._generation += 1
        self._reload_from_elsewhere = from_elsewhere
        generation = self._generation
        patient_id, case_id = self.patient_id, self.case_id
        today = dt.date.today()

        self.runner.read(
            lambda session: load_record(session, patient_id, case_id, today),
            lambda view: self._on_record_fetched(generation, view),
            self._on_fetch_failed,
            owner=self,
            description="load case record",
        )

    def reload_history(self) -> None:
        """Fetch the History tab again."""
        generation = self._generation
        patient_id, case_id = self.patient_id, self.case_id

        self.runner.read(
            lambda session: record_history(session, patient_id, case_id),
            lambda entries: self._on_history_fetched(generation, entries),
            self._on_fetch_failed,
            owner=self,
            description="load record history",
        )

    def reload_drafts(self) -> None:
        """Say which unsaved drafts the signed-in person has kept for this case."""
        case_id, author = self.case_id, self.runner.desk.actor_id
        if case_id is None:
            return
        self.runner.read(
            lambda session: drafts.case_drafts(session, case_id, staff_id=author),
            lambda kept: self._on_drafts_fetched(author, kept),
            self._on_fetch_failed,
            owner=self,
            description="list drafts",
        )

    def show_tab(self, name: str) -> QWidget:
        """Bring a section to the front by its name (``summary``, ``coordinator``,
        ``care_team``, ``goals``, ``action_plan``, ``notes``, ``history``)."""
        if name == "access_log":  # only there for those who may read it
            self.tabs.setCurrentWidget(self.access_log_tab)
            return self.tabs.currentWidget()
        order = ("summary", "coordinator", "care_team", "goals", "action_plan", "notes", "history")
        self.tabs.setCurrentIndex(order.index(name))
        return self.tabs.currentWidget()

    # -- results -----------------------------------------------------------------------

    def _on_record_fetched(self, generation: int, view: RecordView) -> None:
        if generation != self._generation:
            return  # a newer fetch is on its way
        self.view = view
        self.error_label.show_message("")
        self.banner.show_banner(view.banner)
        if view.case is None:
            self.pages.setCurrentWidget(self.no_case_page)
        else:
            self.case_id = view.case.id
            self._ensure_action_plan(view.case.id)
            for tab in (
                self.summary_tab,
                self.coordinator_tab,
                self.care_team_tab,
                self.goals_tab,
                self.notes_tab,
            ):
                tab.showing_change_from_elsewhere = self._reload_from_elsewhere
                tab.show_record(view)
            self.pages.setCurrentWidget(self.tabs)
        if view.title != self._title:
            self._title = view.title
            self.title_changed.emit(self._title)
        self.record_loaded.emit(view)
        self.reload_history()
        self.reload_drafts()
        self.reload_access()

    def reload_access(self) -> None:
        """Fetch what need-to-know says about this record for the signed-in person."""
        generation = self._generation
        patient_id = self.patient_id
        self.runner.read(
            lambda session: record_access(session, patient_id),
            lambda access: self._on_access_fetched(generation, access),
            self._on_fetch_failed,
            owner=self,
            description="load record access",
        )

    def _on_access_fetched(self, generation: int, access: RecordAccess) -> None:
        if generation != self._generation:
            return
        self.access = access
        self.restricted_notice.show_access(access)
        index = self.tabs.indexOf(self.access_log_tab)
        if access.may_read_log:
            self.access_log_tab.show_log(access.log)
            if index < 0:
                self.tabs.addTab(self.access_log_tab, self.tr("Who has looked"))
        elif index >= 0:
            self.tabs.removeTab(index)
            self.access_log_tab.hide()

    def _on_history_fetched(self, generation: int, entries: list[HistoryEntry]) -> None:
        if generation != self._generation:
            return
        self.history_tab.show_history(entries)
        self.history_loaded.emit(entries)

    def _on_drafts_fetched(self, author: uuid.UUID | None, kept: list[DraftText]) -> None:
        if author != self.runner.desk.actor_id:
            return  # fetched for someone who has signed out since: never shown to another
        places = {
            drafts.NOTE: self.tr("a note (Notes)"),
            drafts.AMENDMENT: self.tr("a correction to a note (Notes, Amend)"),
            drafts.GOAL: self.tr("a new goal (Goals, Add goal)"),
            drafts.ACTION: self.tr("a new action (Action plan)"),
            drafts.COORDINATOR_REASON: self.tr(
                "a reason for changing coordinator (Coordinator, Change coordinator)"
            ),
            drafts.REOPEN_REASON: self.tr("a reason for reopening (Summary, Reopen)"),
            drafts.CLOSURE_NOTE: self.tr("a closing note (Summary, Close)"),
            drafts.OUTCOME_SOURCE: self.tr("an outcome event (Summary, Record outcome event)"),
            drafts.CARE_TEAM_MEMBER: self.tr("a care team member (Care team, Add)"),
        }
        found = [
            place
            for kind, place in places.items()
            if any(draft.key.startswith(f"{kind}:") for draft in kept)
        ]
        self.drafts_label.setText(
            self.tr("Unsaved drafts kept for you: {places}. Open them to save or discard.").format(
                places="; ".join(found)
            )
            if found
            else ""
        )
        self.drafts_label.setVisible(bool(found))

    def _on_fetch_failed(self, error: UserError) -> None:
        self.error_label.show_message(str(error))

    def _ensure_action_plan(self, case_id: uuid.UUID) -> None:
        if self.action_plan is not None:
            return
        self.action_plan = ActionPlanWidget(self.runner, case_id, self.undo_stack, self)
        self.action_plan.setObjectName("action_plan")
        self.action_plan.plan_changed.connect(self._on_action_plan_changed)
        self.action_plan.typing_kept.connect(self.changed_notice.show_notice)
        current = self.tabs.currentIndex()
        self.tabs.removeTab(ACTION_PLAN_TAB)
        self._action_plan_placeholder.deleteLater()
        self.tabs.insertTab(ACTION_PLAN_TAB, self.action_plan, self.tr("&Action plan"))
        self.tabs.setCurrentIndex(current)

    # -- slots -------------------------------------------------------------------------

    @Slot()
    def _on_tab_changed(self) -> None:
        self.changed_notice.clear_notice()  # the person has acted on what they see
        self.record_changed.emit(self.case_id)
        self.reload()
        if self.action_plan is not None:
            self.action_plan.reload()

    @Slot()
    def _on_glass_broken(self) -> None:
        self.record_changed.emit(self.case_id)
        self.reload()
        if self.action_plan is not None:
            self.action_plan.reload()

    @Slot(object)
    def _on_runner_desk_changed(self, _desk: object) -> None:
        self.drafts_label.clear()
        self.drafts_label.hide()
        # Someone else reads the record now: what it shows is theirs to see (need-to-know),
        # and they are in the access log as having opened it.
        self._log_opening()
        self.reload()
        if self.action_plan is not None:
            self.action_plan.reload()

    @Slot(object)
    def _on_action_plan_changed(self, _case_id: object) -> None:
        self.changed_notice.clear_notice()
        self.record_changed.emit(self.case_id)
        self.reload_history()

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, origin: object) -> None:
        # Only changes to this person or case (or to no one known: staff, practices,
        # a refresh): a reload for another case's write would clear what the person
        # picked here (a selected note, an open cell) for nothing.
        if not changes.concerns_record(self.patient_id, self.case_id):
            return
        if isinstance(origin, QObject) and originates_in(origin, self):
            return  # its own save: the tab that saved has reloaded it already
        self.reload(from_elsewhere=True)
        if self.action_plan is not None:
            self.action_plan.reload()

    @Slot()
    def _on_refer_button_clicked(self) -> None:
        self.referral_requested.emit(self.patient_id)
