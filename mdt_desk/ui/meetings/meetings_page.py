"""The Meetings tab: the practice's meetings, and the agenda builder for the chosen one.

Left, the meetings (upcoming first, soonest at the top; then past ones, latest first).
Right, for the chosen meeting: its details, the cases the rules propose with their
reasons (accept or dismiss), and the agenda in running order (reorder by drag and drop
or Ctrl+Up / Ctrl+Down, minutes per item, remove), with the time planned against the
meeting's length. Every change goes through the task runner to the services; the screen
then shows what the service returns.
"""

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFocusEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.models.enums import MeetingStatus
from mdt_desk.services import agenda_rules, meetings
from mdt_desk.services import staff as staff_service
from mdt_desk.services.agenda_rules import Proposal
from mdt_desk.services.changes import Changes
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date, label, practice_display_name
from mdt_desk.services.meetings import AgendaEntry, MeetingDetail, MeetingSummary
from mdt_desk.services.practices import PracticeSummary, list_practices
from mdt_desk.services.staff import StaffSummary
from mdt_desk.services.times import TimeInputError
from mdt_desk.ui.itemmodels.agenda_table_models import (
    AgendaTableModel,
    MeetingListTableModel,
    ProposalTableModel,
)
from mdt_desk.ui.meetings.schedule_dialog import ScheduleMeetingDialog, index_of_data
from mdt_desk.ui.quick_find import QuickFindWidget
from mdt_desk.ui.runner import TaskRunner, originates_in
from mdt_desk.ui.widgets import ErrorLabel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_OPEN = (MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS)

#: A change to the chosen meeting's agenda, run in one write transaction.
AgendaChange = Callable[["Session", uuid.UUID], None]


class _MeetingsTableView(QTableView):
    """A table whose chosen row is bright only while it has the keyboard focus.

    Three tables share the tab; a muted selection in the others shows at a glance which
    one the arrow keys and Enter act on.
    """

    def __init__(self) -> None:
        super().__init__()
        self._show_focus(False)

    def _show_focus(self, focused: bool) -> None:
        palette = self.palette()
        base = QPalette()  # the application's colours, not a muted copy of them
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            if focused:
                highlight = base.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
                text = base.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
            else:
                highlight = base.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Mid)
                text = base.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
            palette.setColor(group, QPalette.ColorRole.Highlight, highlight)
            palette.setColor(group, QPalette.ColorRole.HighlightedText, text)
        self.setPalette(palette)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._show_focus(True)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        # a pop-up (a menu, the quick-find list) borrowing the focus keeps the table bright
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self._show_focus(False)
        super().focusOutEvent(event)


def _table(name: str, accessible: str, description: str) -> QTableView:
    table = _MeetingsTableView()
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    table.setAccessibleDescription(description)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    # Tab leaves the table (arrow keys move within it): it must not trap the keyboard.
    table.setTabKeyNavigation(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


#: The "Why" column of the proposals and the agenda.
WHY_COLUMN = 2


def _wrap_why_column(table: QTableView, column: int) -> None:
    """The Why column takes the spare width and wraps, each row as tall as its reasons:
    the chair reads every reason (its tooltip holds the whole text too)."""
    table.setWordWrap(True)
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)


def meeting_order(rows: Sequence[MeetingSummary]) -> list[MeetingSummary]:
    """Upcoming and running meetings soonest first, then past ones latest first."""
    upcoming = [m for m in rows if m.status in _OPEN]
    past = [m for m in rows if m.status not in _OPEN]
    return sorted(upcoming, key=lambda m: m.starts_at) + sorted(
        past, key=lambda m: m.starts_at, reverse=True
    )


def agenda_time_text(detail: MeetingDetail) -> str:
    planned, length = detail.minutes_planned, detail.meeting.duration_minutes
    if detail.over_by_minutes:
        return f"Agenda: {planned} of {length} minutes — {detail.over_by_minutes} minutes over"
    return f"Agenda: {planned} of {length} minutes ({length - planned} minutes free)"


class MeetingsPage(QWidget):
    """The Meetings tab.

    Signals:
        start_meeting_requested(object): a meeting id to run in meeting mode.
        record_requested(object, object): patient id and case id to open.
    """

    start_meeting_requested = Signal(object)
    record_requested = Signal(object, object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.detail: MeetingDetail | None = None
        self.current_dialog: ScheduleMeetingDialog | None = None
        self._practices: list[PracticeSummary] = []
        self._staff: list[StaffSummary] = []
        self._select_after_load: uuid.UUID | None = None
        self._keep_proposal_row = 0
        #: the warning shown when a meeting is started on another day than its own
        self.start_day_confirm: QMessageBox | None = None

        self.practice_filter = QComboBox()
        self.practice_filter.setObjectName("meetings_practice_filter")
        self.practice_filter.setAccessibleName(self.tr("Meetings of practice"))
        self.schedule_button = QPushButton(self.tr("S&chedule meeting…"))
        self.schedule_button.setObjectName("schedule_meeting_button")
        self.schedule_button.setAccessibleName(self.tr("Schedule meeting"))
        self.start_button = QPushButton(self.tr("Star&t meeting (F5)"))
        self.start_button.setObjectName("start_meeting_button")
        self.start_button.setAccessibleName(self.tr("Start meeting"))
        self.cancel_button = QPushButton(self.tr("Cancel meeting"))
        self.cancel_button.setObjectName("cancel_meeting_button")
        self.cancel_button.setAccessibleName(self.tr("Cancel meeting"))

        self.meeting_model = MeetingListTableModel(self)
        self.meeting_table = _table(
            "meetings_table", self.tr("Meetings"), self.tr("Upcoming meetings, then past ones.")
        )
        self.meeting_table.setModel(self.meeting_model)
        self.fit_meeting_columns()

        self.heading = QLabel()
        self.heading.setObjectName("meeting_heading")
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.heading.setFont(font)
        self.details = QLabel()
        self.details.setObjectName("meeting_details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.time_label = QLabel()
        self.time_label.setObjectName("agenda_time")
        self.time_label.setAccessibleName(self.tr("Agenda time"))
        self.error = ErrorLabel()

        self.proposal_model = ProposalTableModel(self)
        self.proposal_table = _table(
            "proposals_table",
            self.tr("Proposed cases"),
            self.tr("Cases the rules propose, with why; Enter accepts, Delete dismisses."),
        )
        self.proposal_table.setModel(self.proposal_model)
        for column, width in enumerate((210, 105, 380)):
            self.proposal_table.setColumnWidth(column, width)
        _wrap_why_column(self.proposal_table, WHY_COLUMN)
        self.accept_button = QPushButton(self.tr("&Accept"))
        self.accept_button.setObjectName("accept_proposal_button")
        self.accept_button.setAccessibleName(self.tr("Accept proposal"))
        self.accept_all_button = QPushButton(self.tr("Accept a&ll"))
        self.accept_all_button.setObjectName("accept_all_button")
        self.accept_all_button.setAccessibleName(self.tr("Accept all proposals"))
        self.dismiss_button = QPushButton(self.tr("&Dismiss"))
        self.dismiss_button.setObjectName("dismiss_proposal_button")
        self.dismiss_button.setAccessibleName(self.tr("Dismiss proposal"))

        self.agenda_model = AgendaTableModel(self)
        self.agenda_table = _table(
            "agenda_table",
            self.tr("Agenda"),
            self.tr("The running order; Ctrl+Up and Ctrl+Down move the chosen case."),
        )
        self.agenda_table.setModel(self.agenda_model)
        self.agenda_table.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.agenda_table.setDragEnabled(True)
        self.agenda_table.setAcceptDrops(True)
        self.agenda_table.setDropIndicatorShown(True)
        for column, width in enumerate((210, 105, 330, 70)):
            self.agenda_table.setColumnWidth(column, width)
        _wrap_why_column(self.agenda_table, WHY_COLUMN)
        self.up_button = QPushButton(self.tr("Move &up"))
        self.up_button.setObjectName("move_up_button")
        self.up_button.setAccessibleName(self.tr("Move up"))
        self.down_button = QPushButton(self.tr("Move do&wn"))
        self.down_button.setObjectName("move_down_button")
        self.down_button.setAccessibleName(self.tr("Move down"))
        self.remove_button = QPushButton(self.tr("&Remove"))
        self.remove_button.setObjectName("remove_item_button")
        self.remove_button.setAccessibleName(self.tr("Remove from agenda"))
        self.minutes_spin = QSpinBox()
        self.minutes_spin.setObjectName("item_minutes")
        self.minutes_spin.setAccessibleName(self.tr("Minutes for the chosen case"))
        self.minutes_spin.setRange(1, meetings.MAX_ITEM_MINUTES)
        self.minutes_spin.setSuffix(self.tr(" min"))
        self.minutes_spin.setKeyboardTracking(False)
        self.add_find = QuickFindWidget(runner, self)
        self.add_find.setObjectName("agenda_add_case")
        self.add_find.setAccessibleName(self.tr("Add a case by hand"))
        self.add_find.setPlaceholderText(self.tr("Add a case: name, NHS number or born"))

        self._layout()
        self._tab_order()
        self._connect()
        self._shortcuts()
        self._show_detail(None)

    # -- building ------------------------------------------------------------------

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Practice")))
        top.addWidget(self.practice_filter, 1)
        top.addWidget(self.schedule_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.meeting_table)

        proposals = QGroupBox(self.tr("Proposed for this meeting"))
        proposal_layout = QVBoxLayout(proposals)
        proposal_layout.addWidget(self.proposal_table)
        proposal_buttons = QHBoxLayout()
        for button in (self.accept_button, self.accept_all_button, self.dismiss_button):
            proposal_buttons.addWidget(button)
        proposal_buttons.addStretch(1)
        proposal_layout.addLayout(proposal_buttons)

        agenda = QGroupBox(self.tr("Agenda"))
        agenda_layout = QVBoxLayout(agenda)
        agenda_layout.addWidget(self.time_label)
        agenda_layout.addWidget(self.agenda_table)
        agenda_buttons = QHBoxLayout()
        for button in (self.up_button, self.down_button, self.remove_button):
            agenda_buttons.addWidget(button)
        minutes_label = QLabel(self.tr("M&inutes"))
        minutes_label.setBuddy(self.minutes_spin)
        agenda_buttons.addWidget(minutes_label)
        agenda_buttons.addWidget(self.minutes_spin)
        agenda_buttons.addWidget(self.add_find, 1)
        agenda_layout.addLayout(agenda_buttons)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.cancel_button)
        heading_row.addWidget(self.start_button)
        right_layout.addLayout(heading_row)
        right_layout.addWidget(self.details)
        right_layout.addWidget(self.error)
        splitter_right = QSplitter(Qt.Orientation.Vertical)
        splitter_right.addWidget(proposals)
        splitter_right.addWidget(agenda)
        right_layout.addWidget(splitter_right, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("meetings_splitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([520, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

    def _tab_order(self) -> None:
        """Left to right, top to bottom: each table, then the buttons that act on it."""
        chain: list[QWidget] = [
            self.practice_filter,
            self.schedule_button,
            self.meeting_table,
            self.start_button,
            self.cancel_button,
            self.proposal_table,
            self.accept_button,
            self.accept_all_button,
            self.dismiss_button,
            self.agenda_table,
            self.up_button,
            self.down_button,
            self.remove_button,
            self.minutes_spin,
            self.add_find,
        ]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _connect(self) -> None:
        self.practice_filter.currentIndexChanged.connect(self._on_practice_filter_changed)
        self.schedule_button.clicked.connect(self.show_schedule_dialog)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        selection = self.meeting_table.selectionModel()
        selection.currentRowChanged.connect(self._on_meeting_current_changed)
        self.accept_button.clicked.connect(self.accept_current_proposal)
        self.accept_all_button.clicked.connect(self.accept_all_proposals)
        self.dismiss_button.clicked.connect(self.dismiss_current_proposal)
        self.proposal_table.activated.connect(self._on_proposal_activated)
        self.agenda_table.selectionModel().currentRowChanged.connect(
            self._on_agenda_current_changed
        )
        self.agenda_table.doubleClicked.connect(self._on_agenda_double_clicked)
        self.agenda_model.move_requested.connect(self._on_agenda_move_requested)
        self.up_button.clicked.connect(lambda: self.move_current_item(-1))
        self.down_button.clicked.connect(lambda: self.move_current_item(+1))
        self.remove_button.clicked.connect(self.remove_current_item)
        self.minutes_spin.valueChanged.connect(self._on_minutes_spin_changed)
        self.add_find.patient_chosen.connect(self._on_add_find_patient_chosen)
        # Changes made elsewhere (meeting mode, a record, sync) reload the list.
        self.runner.changes_committed.connect(self._on_runner_changes_committed)

    def _shortcuts(self) -> None:
        for keys, table, slot in (
            (QKeySequence.StandardKey.Delete, self.proposal_table, self.dismiss_current_proposal),
            (QKeySequence.StandardKey.Delete, self.agenda_table, self.remove_current_item),
            ("Ctrl+Up", self.agenda_table, lambda: self.move_current_item(-1)),
            ("Ctrl+Down", self.agenda_table, lambda: self.move_current_item(+1)),
        ):
            action = QAction(table)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            table.addAction(action)

    def fit_meeting_columns(self) -> None:
        """Size the meeting list's columns from the font, so the date and time, the status
        and the counts read whole at any font size (fixed pixel widths cut them at a
        larger system font), and show the status beside the date: at 1280×800 the list
        is narrow, and the two say which meeting is which and whether it is done. The
        free text (meeting, practices, chair) may be cut; its tooltip holds it whole.
        """
        table = self.meeting_table
        header = table.horizontalHeader()
        metrics = table.fontMetrics()
        style = table.style()
        # the item's text margins either side, and room to spare
        padding = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
        padding += metrics.averageCharWidth()
        digit = max("0123456789", key=metrics.horizontalAdvance)
        months = {cui_date(dt.date(2027, month, 1))[3:6] for month in range(1, 13)}
        character = metrics.averageCharWidth()
        # By heading (MeetingListTableModel.columns): the widest text each can hold, or
        # for free text a width in average characters.
        samples: dict[str, list[str] | int] = {
            "Date and time": [
                f"{digit * 2}-{m}-{digit * 4} {digit * 2}:{digit * 2}" for m in months
            ],
            "Meeting": 24 * character,
            "Practices": 20 * character,
            "Chair": 18 * character,
            "Status": [label(status) for status in MeetingStatus],
            "Cases": [digit * 3],
            "Length": [f"{digit * 3} min"],
        }
        headings = [column.header for column in self.meeting_model.columns]
        for column, heading in enumerate(headings):
            sample = samples.get(heading, 12 * character)
            content = (
                sample
                if isinstance(sample, int)
                else max(metrics.horizontalAdvance(text) for text in sample)
            )
            heading_width = header.sectionSizeFromContents(column).width()
            table.setColumnWidth(column, max(content + padding, heading_width))
        header.moveSection(header.visualIndex(headings.index("Status")), 1)

    # -- loading -------------------------------------------------------------------

    def reload(self) -> None:
        """Fetch the practices, staff and meetings again (keeps the chosen meeting)."""
        practice_id = self.practice_filter.currentData()

        def job(
            session: "Session",
        ) -> tuple[list[PracticeSummary], list[StaffSummary], list[MeetingSummary]]:
            every = meetings.list_meetings(
                session, practice_id=practice_id if isinstance(practice_id, uuid.UUID) else None
            )
            hosting = {m.practice_id for m in meetings.list_meetings(session)}
            practices = [p for p in list_practices(session) if p.open_cases or p.id in hosting]
            return practices, staff_service.list_staff(session), every

        self.runner.read(job, self._on_loaded, self._show_error, owner=self, description="meetings")

    def _on_loaded(
        self, loaded: tuple[list[PracticeSummary], list[StaffSummary], list[MeetingSummary]]
    ) -> None:
        practices, staff, rows = loaded
        self._practices, self._staff = practices, staff
        if self.practice_filter.count() != len(practices) + 1:
            chosen = self.practice_filter.currentData()
            self.practice_filter.blockSignals(True)
            self.practice_filter.clear()
            self.practice_filter.addItem(self.tr("All practices"), None)
            for practice in practices:
                self.practice_filter.addItem(
                    f"{practice_display_name(practice.name)} ({practice.ods_code})",
                    practice.id,
                )
            self.practice_filter.setCurrentIndex(
                max(index_of_data(self.practice_filter, chosen), 0)
            )
            self.practice_filter.blockSignals(False)
        ordered = meeting_order(rows)
        # The meeting chosen when this load arrives, not when it was asked for: with two
        # loads on their way (ending a meeting writes twice) the first one clears the
        # pending choice, and the second then fell back to the first row: another meeting,
        # which Ctrl+P then printed.
        wanted = self._select_after_load or self.current_meeting_id()
        self._select_after_load = None
        self.meeting_model.set_rows(ordered)
        row = next((n for n, m in enumerate(ordered) if m.id == wanted), 0 if ordered else -1)
        if row >= 0:
            self.meeting_table.selectionModel().setCurrentIndex(
                self.meeting_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self._load_meeting(ordered[row].id)
        else:
            self._show_detail(None)

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, origin: object) -> None:
        if changes.meeting_list and not (
            isinstance(origin, QObject) and originates_in(origin, self)
        ):
            self.reload()

    def current_meeting_id(self) -> uuid.UUID | None:
        meeting = self.meeting_model.row_at(self.meeting_table.currentIndex().row())
        return meeting.id if meeting is not None else None

    def choose_meeting(self, meeting_id: uuid.UUID) -> None:
        """Show ``meeting_id`` chosen, as it is now in the store (e.g. just ended)."""
        self._select_after_load = meeting_id
        self.reload()

    def _load_meeting(self, meeting_id: uuid.UUID) -> None:
        def job(session: "Session") -> tuple[MeetingDetail, list[Proposal]]:
            detail = meetings.get_meeting(session, meeting_id)
            editable = detail.meeting.status in _OPEN
            proposals = agenda_rules.propose(session, meeting_id) if editable else []
            return detail, proposals

        self.runner.read(job, self._on_meeting_loaded, self._show_error, owner=self)

    def _on_meeting_loaded(self, loaded: tuple[MeetingDetail, list[Proposal]]) -> None:
        detail, proposals = loaded
        if detail.meeting.id != self.current_meeting_id():
            return  # the chair has moved on to another meeting meanwhile
        self._show_detail(detail)
        self.proposal_model.set_rows(proposals)
        # Keep the keyboard where it was: after an accept the next proposal moves up.
        row = min(self._keep_proposal_row, len(proposals) - 1)
        self._keep_proposal_row = 0
        if row >= 0:
            self.proposal_table.selectionModel().setCurrentIndex(
                self.proposal_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _show_detail(self, detail: MeetingDetail | None) -> None:
        self.detail = detail
        self.error.show_message("")
        editable = detail is not None and detail.meeting.status is MeetingStatus.PLANNED
        runnable = detail is not None and detail.meeting.status in _OPEN
        for widget in (
            self.accept_button,
            self.accept_all_button,
            self.dismiss_button,
            self.up_button,
            self.down_button,
            self.remove_button,
            self.minutes_spin,
            self.add_find,
            self.cancel_button,
        ):
            widget.setEnabled(editable)
        self.start_button.setEnabled(runnable)
        self.agenda_model.reorderable = editable
        if detail is None:
            self.heading.setText(self.tr("No meeting chosen"))
            self.details.setText(
                self.tr("Choose a meeting on the left, or schedule one (Ctrl+Shift+M).")
            )
            self.time_label.setText("")
            self.agenda_model.set_rows([])
            self.proposal_model.set_rows([])
            return
        meeting = detail.meeting
        self.start_button.setText(
            self.tr("Resume mee&ting (F5)")
            if meeting.status is MeetingStatus.IN_PROGRESS
            else self.tr("Star&t meeting (F5)")
        )
        self.heading.setText(f"{meeting.title} — {meetings.meeting_day_text(meeting)}")
        where = " · ".join(part for part in (meeting.location, meeting.video_link) if part)
        invited = len(detail.members)
        repeat = f" · repeats every {meeting.repeat_weeks} weeks" if meeting.repeat_weeks else ""
        self.details.setText(
            f"{meeting.status_text} · {meeting.duration_minutes} minutes · {where or 'Not Known'}"
            f" · Chair: {meeting.chair_name or 'Not Known'} · {invited} invited"
            f" · Practices: {', '.join(meeting.practice_names)}{repeat}"
        )
        self.time_label.setText(agenda_time_text(detail))
        self._show_agenda(detail.agenda)

    def _show_agenda(self, entries: Sequence[AgendaEntry], select: uuid.UUID | None = None) -> None:
        current = select or self._current_entry_id()
        self.agenda_model.set_rows(entries)
        row = next((n for n, e in enumerate(entries) if e.id == current), -1)
        if row < 0 and entries:
            row = 0  # something is always chosen, so the minutes box says whose they are
        if row >= 0:
            self.agenda_table.selectionModel().setCurrentIndex(
                self.agenda_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _current_entry_id(self) -> uuid.UUID | None:
        entry = self.agenda_model.row_at(self.agenda_table.currentIndex().row())
        return entry.id if entry is not None else None

    def _show_error(self, error: UserError) -> None:
        self.error.show_message(str(error))

    # -- changing the agenda -----------------------------------------------------------

    def _write(self, job_body: AgendaChange, select: uuid.UUID | None = None) -> None:
        meeting_id = self.current_meeting_id()
        if meeting_id is None:
            return

        def job(desk: Desk) -> tuple[MeetingDetail, list[Proposal]]:
            with desk.write() as session:
                job_body(session, meeting_id)
            with desk.read() as session:
                return meetings.get_meeting(session, meeting_id), agenda_rules.propose(
                    session, meeting_id
                )

        def done(loaded: tuple[MeetingDetail, list[Proposal]]) -> None:
            self._on_meeting_loaded(loaded)
            if select is not None:
                self._show_agenda(loaded[0].agenda, select)
            self._refresh_meeting_row(loaded[0].meeting)

        self.runner.run(job, done, self._show_error, owner=self, description="agenda change")

    def _refresh_meeting_row(self, meeting: MeetingSummary) -> None:
        rows = self.meeting_model.rows()
        self.meeting_model.set_rows([meeting if m.id == meeting.id else m for m in rows])
        row = next((n for n, m in enumerate(rows) if m.id == meeting.id), -1)
        if row >= 0:
            self.meeting_table.selectionModel().blockSignals(True)
            self.meeting_table.selectionModel().setCurrentIndex(
                self.meeting_model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.meeting_table.selectionModel().blockSignals(False)

    def _current_proposal(self) -> Proposal | None:
        return self.proposal_model.row_at(self.proposal_table.currentIndex().row())

    @Slot()
    def accept_current_proposal(self) -> None:
        proposal = self._current_proposal()
        if proposal is None:
            return
        row = self.proposal_table.currentIndex().row()
        self._accept([proposal])
        # Keep the keyboard where it was: the next proposal moves up into this row.
        self._keep_proposal_row = row

    @Slot()
    def accept_all_proposals(self) -> None:
        self._accept(self.proposal_model.rows())

    def _accept(self, proposals: Sequence[Proposal]) -> None:
        def body(session: "Session", meeting_id: uuid.UUID) -> None:
            for proposal in proposals:
                meetings.add_to_agenda(
                    session,
                    meeting_id,
                    proposal.case_id,
                    reason=proposal.reason,
                    reason_detail=proposal.reasons_text,
                    minutes=proposal.suggested_minutes,
                    carried_count=proposal.carried_count,
                )

        if proposals:
            self._write(body)

    @Slot()
    def dismiss_current_proposal(self) -> None:
        proposal = self._current_proposal()
        if proposal is None:
            return

        def body(session: "Session", meeting_id: uuid.UUID) -> None:
            meetings.dismiss_proposal(session, meeting_id, proposal.case_id, reason=proposal.reason)

        self._write(body)

    def move_current_item(self, step: int) -> None:
        """Move the chosen case ``step`` places, counted from where the store has it when
        the move runs: pressed faster than the list reloads (Ctrl+Up three times), the
        row on screen is behind, and counting from it lost a press."""
        entry = self.agenda_model.row_at(self.agenda_table.currentIndex().row())
        if entry is None:
            return
        item_id = entry.id

        def body(session: "Session", meeting_id: uuid.UUID) -> None:
            order = [each.id for each in meetings.agenda(session, meeting_id)]
            if item_id not in order:
                return
            row = order.index(item_id) + step
            if 0 <= row < len(order):
                meetings.move_item(session, item_id, row)

        self._write(body, select=item_id)

    def _move(self, item_id: uuid.UUID, to_index: int) -> None:
        def body(session: "Session", _meeting_id: uuid.UUID) -> None:
            meetings.move_item(session, item_id, to_index)

        self._write(body, select=item_id)

    @Slot()
    def remove_current_item(self) -> None:
        entry = self.agenda_model.row_at(self.agenda_table.currentIndex().row())
        if entry is None:
            return

        def body(session: "Session", _meeting_id: uuid.UUID) -> None:
            meetings.remove_from_agenda(session, entry.id)

        self._write(body)

    @Slot(int)
    def _on_minutes_spin_changed(self, minutes: int) -> None:
        entry = self.agenda_model.row_at(self.agenda_table.currentIndex().row())
        if entry is None or entry.minutes_allotted == minutes:
            return

        def body(session: "Session", _meeting_id: uuid.UUID) -> None:
            meetings.set_item_minutes(session, entry.id, minutes)

        self._write(body, select=entry.id)

    @Slot(object)
    def _on_add_find_patient_chosen(self, patient_id: uuid.UUID) -> None:
        self.add_find.clear()

        def body(session: "Session", meeting_id: uuid.UUID) -> None:
            agenda_rules.add_person_by_hand(session, meeting_id, patient_id)

        self._write(body)

    # -- scheduling and running --------------------------------------------------------

    @Slot()
    def show_schedule_dialog(self) -> ScheduleMeetingDialog:
        filtered = self.practice_filter.currentData()
        dialog = ScheduleMeetingDialog(
            self._practices,
            self._staff,
            practice_id=filtered if isinstance(filtered, uuid.UUID) else None,
            chair_id=self.runner.desk.actor_id,
            signed_in_id=self.runner.desk.actor_id,
            parent=self,
        )
        self.current_dialog = dialog
        dialog.submitted.connect(lambda: self._save_schedule(dialog))
        dialog.finished.connect(lambda _result: self._on_dialog_finished(dialog))
        dialog.open()
        return dialog

    def _on_dialog_finished(self, dialog: ScheduleMeetingDialog) -> None:
        if self.current_dialog is dialog:
            self.current_dialog = None
        dialog.deleteLater()

    def _save_schedule(self, dialog: ScheduleMeetingDialog) -> None:
        # Both fields are read, so each says at once what is wrong with it; the date or
        # time field says why next to itself, and nothing is scheduled.
        problems: list[DateInputError | TimeInputError] = []
        try:
            day = dialog.day_edit.date_value()
        except DateInputError as error:
            problems.append(error)
        try:
            start_time = dialog.start_time()
        except TimeInputError as error:
            problems.append(error)
        if problems:
            dialog.show_error(problems[0])
            return
        values = {
            "practice_id": dialog.practice_id(),
            "day": day,
            "start_time": start_time,
            "duration_minutes": dialog.length_spin.value(),
            "chair_id": dialog.chair_id(),
            "invited_ids": dialog.invited_ids(),
            "location": dialog.place_edit.text(),
            "video_link": dialog.video_edit.text(),
            "title": dialog.title_edit.text(),
            "other_practice_ids": dialog.other_practice_ids(),
            "repeat_weeks": dialog.repeat_weeks(),
            "occurrences": dialog.count_spin.value(),
        }

        def job(session: "Session") -> list[MeetingSummary]:
            return meetings.schedule_meeting(session, **values)  # type: ignore[arg-type]

        def done(made: list[MeetingSummary]) -> None:
            dialog.accept()
            self._select_after_load = made[0].id
            self.reload()

        self.runner.write(job, done, dialog.show_error, owner=dialog, description="schedule")

    @Slot()
    def _on_start_button_clicked(self) -> None:
        meeting = self.meeting_model.row_at(self.meeting_table.currentIndex().row())
        if meeting is None or not self.start_button.isEnabled():
            return
        today = dt.datetime.now(meetings.LONDON).date()
        if meeting.status is MeetingStatus.PLANNED and meeting.day != today:
            self._confirm_start_on_another_day(meeting, today)
            return
        self.start_meeting_requested.emit(meeting.id)

    def _confirm_start_on_another_day(self, meeting: MeetingSummary, today: dt.date) -> None:
        """Starting a meeting on another day than its own: say so, and start only if the
        chair means it (the record then says the day it was really held)."""
        when = self.tr("earlier than") if today < meeting.day else self.tr("later than")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("Start on another day?"),
            self.tr(
                "This meeting is scheduled for {scheduled}. Today is {today}, {when} its "
                "date.\n\nStart it today? The minutes will give the day and times it is "
                "actually held."
            ).format(
                scheduled=meetings.meeting_day_text(meeting),
                today=f"{today:%a} {cui_date(today)}",
                when=when,
            ),
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("start_day_confirm")
        start = box.addButton(self.tr("Start it today"), QMessageBox.ButtonRole.AcceptRole)
        start.setObjectName("confirm_start_today_button")
        start.setAccessibleName(self.tr("Start the meeting today"))
        keep = box.addButton(self.tr("Don't start"), QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName("keep_planned_button")
        keep.setAccessibleName(self.tr("Don't start the meeting"))
        box.setDefaultButton(keep)  # Enter on a surprise keeps the meeting as planned
        box.setEscapeButton(keep)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        meeting_id = meeting.id
        box.buttonClicked.connect(
            lambda button: (
                self.start_meeting_requested.emit(meeting_id) if button is start else None
            )
        )
        box.finished.connect(lambda _result: self._forget_start_day_confirm(box))
        self.start_day_confirm = box
        box.open()

    def _forget_start_day_confirm(self, box: QMessageBox) -> None:
        if self.start_day_confirm is box:
            self.start_day_confirm = None

    def start_current_meeting(self) -> None:
        self._on_start_button_clicked()

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        meeting_id = self.current_meeting_id()
        if meeting_id is None:
            return
        answer = QMessageBox.question(
            self,
            self.tr("Cancel meeting"),
            self.tr("Cancel this meeting? Its agenda is kept in the record."),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def job(session: "Session") -> MeetingSummary:
            return meetings.cancel_meeting(session, meeting_id)

        self.runner.write(job, lambda _m: self.reload(), self._show_error, owner=self)

    # -- slots -----------------------------------------------------------------------

    @Slot(int)
    def _on_practice_filter_changed(self, _index: int) -> None:
        self.reload()

    @Slot(QModelIndex, QModelIndex)
    def _on_meeting_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        meeting = self.meeting_model.row_at(current.row())
        if meeting is not None:
            self._load_meeting(meeting.id)

    @Slot(QModelIndex)
    def _on_proposal_activated(self, _index: QModelIndex) -> None:
        self.accept_current_proposal()

    @Slot(QModelIndex, QModelIndex)
    def _on_agenda_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.agenda_model.row_at(current.row())
        editable = self.detail is not None and self.detail.meeting.status is MeetingStatus.PLANNED
        self.minutes_spin.setEnabled(entry is not None and editable)
        if entry is not None:
            self.minutes_spin.blockSignals(True)
            self.minutes_spin.setValue(entry.minutes_allotted)
            self.minutes_spin.blockSignals(False)

    @Slot(QModelIndex)
    def _on_agenda_double_clicked(self, index: QModelIndex) -> None:
        entry = self.agenda_model.row_at(index.row())
        if entry is not None:
            self.record_requested.emit(entry.patient_id, entry.case_id)

    @Slot(object, int)
    def _on_agenda_move_requested(self, item_id: uuid.UUID, to_index: int) -> None:
        self._move(item_id, to_index)
