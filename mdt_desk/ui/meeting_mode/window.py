"""Meeting mode: the window the chair runs an MDT meeting from, on the shared screen.

One agenda item is in front at a time: its CUI banner, why it is here, what changed
since it was last discussed, the person's goals and the open actions. Beside it the
chair (or a note-taker) captures the discussion summary, the outcome and the decisions
(and, for a deferral, why: it reaches the minutes and the next agenda);
everything is saved as it is typed — within half a second of the last keystroke and at
least once a second while typing goes on — so a crash loses at most that second.

Privacy on a projector: other people on the agenda appear by initials only; sensitive
alerts, sensitive actions and sensitive case notes stay hidden until the chair reveals
them (Ctrl+R), and once revealed each says "Sensitive" in words (not to be read aloud);
other notes are shown. A new action can be marked sensitive as it is captured.

Keys (:data:`SHORTCUTS`, shown by F1): Page Down / Page Up next and previous item, F6
attendance, Ctrl+Enter in the decisions box makes the line an action, Ctrl+R reveal,
Ctrl+E end the meeting, Ctrl+W close the window (what was typed is saved first), F11
full screen, Esc leave full screen. The last two are buttons on screen too ("End
meeting…" and "Close"). After moving between items, or closing a panel, the
keyboard is back in the discussion summary.

Every database call goes through the :class:`~mdt_desk.ui.runner.TaskRunner`.
"""

import dataclasses
import datetime as dt
import logging
import uuid

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QFont,
    QKeyEvent,
    QKeySequence,
    QScreen,
    QShortcut,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import RuleError, UserError
from mdt_desk.models.enums import AgendaOutcome, AttendanceStatus
from mdt_desk.services import meeting_mode, meetings
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import counted
from mdt_desk.services.meeting_mode import ItemBriefing, MeetingEnd, OpenAction, TimeStatistics
from mdt_desk.services.meetings import AgendaEntry, MeetingDetail, MemberAttendance
from mdt_desk.ui.meeting_mode.panels import (
    WARNING_STYLE,
    ActionForm,
    AgendaStrip,
    AttendancePanel,
    DecisionsEdit,
    FlowLayout,
    PrivateBanner,
)
from mdt_desk.ui.meeting_mode.summary_dialog import MeetingSummaryDialog
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel, install_wheel_guard, show_text

log = logging.getLogger(__name__)

#: Save this long after the last keystroke…
SAVE_DEBOUNCE_MS = 400
#: …and at least this often while typing goes on.
SAVE_MAX_WAIT_MS = 1000
#: A save that failed (full disk, busy store) is sent again on the next clock tick at
#: least this long after the failure, or at once after any save that succeeds (H101).
RESEND_AFTER_MS = 2000
#: A new action is due this many days ahead unless the chair says otherwise.
DEFAULT_DUE_DAYS = 14
#: Large enough to read from the back of a meeting room.
BASE_POINT_SIZE = 16

#: Every key of meeting mode, as the F1 list shows it.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Page Down / Page Up", "Next / previous item"),
    ("Alt+D, Alt+O, Alt+E", "Discussion summary, outcome, decisions"),
    ("Ctrl+Enter", "In the decisions: make the line an action"),
    ("F6", "Attendance"),
    ("Ctrl+R", "Reveal or hide sensitive alerts, actions, notes and banner details"),
    ("Ctrl+E", "End the meeting"),
    ("Ctrl+W", "Close this window (what was typed is saved first)"),
    ("F11 / Esc", "Full screen / leave full screen"),
    ("F1", "This list"),
)


def clock_text(seconds: int) -> str:
    """``4:05`` or ``1:02:09``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def missing_text(missing: list[str]) -> str:
    """``No social worker present — decisions can still be recorded``."""
    names = [words.removeprefix("an ").removeprefix("a ") for words in missing]
    joined = names[0] if len(names) == 1 else ", no ".join(names[:-1]) + " and no " + names[-1]
    return f"Warning: no {joined} present — decisions can still be recorded."


def _heading(text: str, parent: QWidget, *, wrap: bool = False) -> QLabel:
    """A bold heading; ``wrap`` lets a long one take two lines on a narrow screen."""
    heading = QLabel(text, parent)
    heading.setWordWrap(wrap)
    font = heading.font()
    font.setBold(True)
    font.setPointSize(font.pointSize() + 3)
    heading.setFont(font)
    return heading


def _body(name: str, parent: QWidget) -> QLabel:
    body = QLabel(parent)
    body.setObjectName(name)
    body.setWordWrap(True)
    body.setTextFormat(Qt.TextFormat.PlainText)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return body


class _ColumnLayout(QVBoxLayout):
    """The capture column's layout: its scroll area gives it the whole height and the
    text boxes stretch to fill it, scrolling only below its minimum. (Answering
    height-for-width, for its wrapping captions, made the scroll area size it to its
    preferred height and push the new-action form out of sight at 800 pixels.)"""

    def hasHeightForWidth(self) -> bool:
        return False


class MeetingModeWindow(QWidget):
    """The meeting in progress, for the shared screen or projector.

    On construction the meeting is started (or continued, after a crash) and its agenda
    loaded. A finished meeting opens read-only.

    Signals:
        meeting_finished(object): the chair ended the meeting; carries its id.
        actions_changed(object): an action was agreed for a case; carries the case id,
            so the main window can refresh that case's plan.
        meeting_loaded(object): the :class:`MeetingDetail` arrived and is shown.
        briefing_shown(object): the current item's briefing is shown; carries its id.
        capture_saved(object): a save of typed capture came back; the saved
            :class:`AgendaEntry`.
    """

    meeting_finished = Signal(object)
    actions_changed = Signal(object)
    meeting_loaded = Signal(object)
    briefing_shown = Signal(object)
    capture_saved = Signal(object)

    def __init__(
        self, runner: TaskRunner, meeting_id: uuid.UUID, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        # before any widget is polished: the wheel never picks an outcome in passing
        install_wheel_guard()
        self.runner = runner
        self.meeting_id = meeting_id
        self.setObjectName("meeting_mode_window")
        self.setWindowTitle(self.tr("Meeting mode"))
        self.setAccessibleName(self.tr("Meeting mode"))
        font = QFont(self.font())
        font.setPointSize(max(font.pointSize(), BASE_POINT_SIZE))
        self.setFont(font)

        self.detail: MeetingDetail | None = None
        self.briefing: ItemBriefing | None = None
        self.agenda: list[AgendaEntry] = []
        self.members: list[MemberAttendance] = []
        self.open_actions: list[OpenAction] = []
        self.summary_dialog: MeetingSummaryDialog | None = None
        self._index = -1
        self._read_only = True  # until the meeting has started
        self._revealed = False
        self._typed: dict[uuid.UUID, tuple[str, str]] = {}
        #: why each item was deferred, as typed and not yet confirmed saved
        self._typed_reasons: dict[uuid.UUID, str] = {}
        self._dirty = False
        self._saves_in_flight = 0
        #: items whose typed capture is not yet confirmed in the store (sent, or failed)
        self._unkept: set[uuid.UUID] = set()
        #: outcomes chosen and not yet confirmed in the store (sent, or failed), by item
        self._unkept_outcomes: dict[uuid.UUID, AgendaOutcome | None] = {}
        #: (item, "typed" or "outcome") whose latest save failed: sent again (H101)
        self._failed: set[tuple[uuid.UUID, str]] = set()
        #: the number of the latest save sent for each (item, kind)
        self._latest_send: dict[tuple[uuid.UUID, str], int] = {}
        self._sends = 0
        self._since_failure = QElapsedTimer()
        self._save_error = ""
        self._item_clock = QElapsedTimer()
        self._meeting_clock = QElapsedTimer()
        self._seconds_before = 0

        self._build()
        self._build_shortcuts()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SAVE_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.save_now)
        self._max_wait = QTimer(self)
        self._max_wait.setSingleShot(True)
        self._max_wait.setInterval(SAVE_MAX_WAIT_MS)
        self._max_wait.timeout.connect(self.save_now)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_clocks)
        self._tick.timeout.connect(self._resend_failed)

        self._start()

    # -- building ----------------------------------------------------------------------

    def _button(self, name: str, text: str, accessible: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        return button

    def _build(self) -> None:
        self.title_label = _heading(self.tr("Loading the meeting…"), self, wrap=True)
        self.title_label.setObjectName("meeting_title_label")
        self.progress_label = _heading("", self)
        self.progress_label.setObjectName("progress_label")
        self.meeting_clock_label = _heading("", self)
        self.meeting_clock_label.setObjectName("meeting_clock_label")
        self.meeting_clock_label.setAccessibleName(self.tr("Meeting clock"))

        self.previous_button = self._button(
            "previous_button", self.tr("◀ Previous (PgUp)"), self.tr("Previous item")
        )
        self.next_button = self._button(
            "next_button", self.tr("Next (PgDn) ▶"), self.tr("Next item")
        )
        self.attendance_button = self._button(
            "attendance_button", self.tr("Attendance (F6)"), self.tr("Show attendance")
        )
        self.reveal_button = self._button(
            "reveal_button",
            self.tr("Reveal (Ctrl+R)"),
            self.tr("Reveal sensitive alerts, actions and notes"),
        )
        self.reveal_button.setCheckable(True)
        self.end_button = self._button(
            "end_meeting_button", self.tr("End meeting… (Ctrl+E)"), self.tr("End the meeting")
        )
        self.end_button.setAccessibleDescription(
            self.tr("Asks first; then carries over what was not discussed and locks the record.")
        )
        self.close_button = self._button(
            "close_meeting_mode_button", self.tr("Close (Ctrl+W)"), self.tr("Close meeting mode")
        )
        self.close_button.setAccessibleDescription(
            self.tr("Everything typed is kept; the meeting stays open and can be resumed.")
        )
        self.close_button.setToolTip(
            self.tr("Close this window; everything typed is kept and the meeting can be resumed")
        )
        self.keys_button = self._button(
            "keys_button", self.tr("Keys (F1)"), self.tr("Keyboard shortcuts")
        )
        self.keys_button.clicked.connect(self.show_shortcuts)
        self.previous_button.clicked.connect(self.previous_item)
        self.next_button.clicked.connect(self.next_item)
        self.attendance_button.clicked.connect(self.toggle_attendance)
        self.reveal_button.toggled.connect(self.set_revealed)
        self.end_button.clicked.connect(self.end_meeting)
        self.close_button.clicked.connect(self.close)

        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addSpacing(24)
        top.addWidget(self.meeting_clock_label)
        top.addSpacing(24)
        top.addWidget(self.close_button)  # where a window's close is looked for
        # at the right; onto a second line rather than off the edge on a narrow screen
        controls = FlowLayout(h_spacing=6, v_spacing=6, align_right=True)
        for button in (
            self.previous_button,
            self.next_button,
            self.attendance_button,
            self.reveal_button,
            self.end_button,
            self.keys_button,
        ):
            controls.addWidget(button)

        self.agenda_strip = AgendaStrip(self)
        self.agenda_strip.item_chosen.connect(self.go_to)
        strip_row = QHBoxLayout()
        strip_row.addWidget(self.progress_label)
        strip_row.addWidget(self.agenda_strip, 1)

        self.warning_label = QLabel(self)
        self.warning_label.setObjectName("attendance_warning_label")
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.setWordWrap(True)
        self.warning_label.hide()
        self.privacy_label = QLabel(self)
        self.privacy_label.setObjectName("privacy_label")
        self.privacy_label.setWordWrap(True)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("meeting_error_label")

        self.banner = PrivateBanner(self)
        self.banner.details_button.toggled.connect(self._on_banner_details_toggled)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("meeting_splitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_briefing())
        splitter.addWidget(self._build_capture())
        self.attendance_panel = AttendancePanel(self)
        self.attendance_panel.attendance_set.connect(self._on_attendance_panel_set)
        self.attendance_panel.close_button.clicked.connect(self.toggle_attendance)
        self.attendance_panel.hide()
        splitter.addWidget(self.attendance_panel)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 3)

        # Everything of the meeting is on one page; the other is the neutral screen the
        # projector shows while the desk is locked (set_locked), with no names on it.
        self.meeting_page = QWidget(self)
        self.meeting_page.setObjectName("meeting_page")
        self.locked_page = _heading(self.tr("MDT Desk is locked"), self)
        self.locked_page.setObjectName("meeting_locked_page")
        self.locked_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedLayout(self)
        self.pages.addWidget(self.meeting_page)
        self.pages.addWidget(self.locked_page)
        layout = QVBoxLayout(self.meeting_page)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addLayout(strip_row)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        status = QHBoxLayout()
        self.saved_label = QLabel(self)
        self.saved_label.setObjectName("saved_label")
        self.saved_label.setAccessibleName(self.tr("Save state"))
        status.addWidget(self.saved_label)
        status.addSpacing(24)
        status.addWidget(self.privacy_label, 1)
        layout.addLayout(status)
        # The buttons on a row of their own: beside the save and privacy state they
        # squeezed those words to one a line on a 1280-pixel screen.
        layout.addLayout(controls)
        self._show_privacy_state()
        self._fit_columns()

    def _build_briefing(self) -> QWidget:
        host = QWidget(self)
        self.reason_label = _body("reason_label", host)
        self.item_timer_label = _heading("", host)
        self.item_timer_label.setObjectName("item_timer_label")
        self.item_timer_label.setAccessibleName(self.tr("Time on this item"))
        timer_font = self.item_timer_label.font()
        timer_font.setPointSize(timer_font.pointSize() + 4)
        self.item_timer_label.setFont(timer_font)
        self.changes_label = _body("changes_label", host)
        self.goals_label = _body("goals_label", host)
        self.actions_label = _body("open_actions_label", host)
        inner = QVBoxLayout(host)
        inner.setContentsMargins(0, 8, 12, 0)
        # the timer beside the heading, or under it when the column is narrow
        timer_row = FlowLayout(h_spacing=24, v_spacing=2)
        timer_row.addWidget(_heading(self.tr("Why they are here"), host))
        timer_row.addWidget(self.item_timer_label)
        inner.addLayout(timer_row)
        inner.addWidget(self.reason_label)
        inner.addWidget(_heading(self.tr("What changed since last discussed"), host, wrap=True))
        inner.addWidget(self.changes_label)
        inner.addWidget(_heading(self.tr("What matters to me (goals)"), host, wrap=True))
        inner.addWidget(self.goals_label)
        inner.addWidget(_heading(self.tr("Open actions"), host, wrap=True))
        inner.addWidget(self.actions_label)
        inner.addStretch(1)
        self.briefing_area = self._column(host, "briefing_area", self.tr("About this person"))
        return self.briefing_area

    def _column(self, host: QWidget, name: str, accessible: str) -> QScrollArea:
        """``host`` in a column that scrolls down, never sideways: :meth:`_fit_columns`
        keeps the column at least as wide as what it holds."""
        scroll = QScrollArea(self)
        scroll.setObjectName(name)
        scroll.setAccessibleName(accessible)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(host)
        return scroll

    def _fit_columns(self) -> None:
        """Keep each column as wide as its content needs (the timer grows when an item
        runs over; the new-action form needs more than the captions), so nothing in it is
        cut off at the right on a 1280-pixel screen."""
        for scroll, extra in (
            (self.briefing_area, None),
            (self.capture_area, self.action_form),
        ):
            host = scroll.widget()
            assert host is not None
            need = host.minimumSizeHint().width()
            if extra is not None:
                margins = host.contentsMargins()
                need = max(need, extra.minimumSizeHint().width() + margins.left())
            need += scroll.verticalScrollBar().sizeHint().width()
            if scroll.minimumWidth() != need:
                scroll.setMinimumWidth(need)

    def _build_capture(self) -> QWidget:
        host = QWidget(self)
        self.summary_edit = QPlainTextEdit(host)
        self.summary_edit.setObjectName("summary_edit")
        self.summary_edit.setAccessibleName(self.tr("Discussion summary"))
        self.summary_edit.setTabChangesFocus(True)
        self.summary_edit.setPlaceholderText(self.tr("What the team discussed…"))
        self.outcome_box = QComboBox(host)
        self.outcome_box.setObjectName("outcome_box")
        self.outcome_box.setAccessibleName(self.tr("Outcome"))
        # sized to the column, not to its longest choice, so the capture fits at 1280 pixels
        self.outcome_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.outcome_box.setMinimumContentsLength(12)
        self.outcome_box.addItem(self.tr("Choose an outcome…"), None)
        # the codes go in as text: Qt hands a str subclass back as a plain str
        for outcome, text in meeting_mode.outcome_choices():
            self.outcome_box.addItem(text, outcome.value)
        self.decisions_edit = DecisionsEdit(host)
        self.decisions_edit.setObjectName("decisions_edit")
        self.decisions_edit.setAccessibleName(self.tr("Decisions, one a line"))
        self.decisions_edit.setTabChangesFocus(True)
        self.decisions_edit.setPlaceholderText(
            self.tr("One decision a line; Ctrl+Enter makes the line an action")
        )
        self.deferral_edit = QLineEdit(host)
        self.deferral_edit.setObjectName("deferral_reason_edit")
        self.deferral_edit.setAccessibleName(self.tr("Why deferred"))
        self.deferral_edit.setAccessibleDescription(
            self.tr("Goes into the minutes and the case's reason on the next agenda.")
        )
        self.deferral_edit.setPlaceholderText(
            self.tr("Why it is deferred, e.g. the GP who knows the person is away")
        )
        self.deferral_edit.setMaxLength(meeting_mode.MAX_DEFERRAL_REASON_CHARS)
        self.deferral_edit.textEdited.connect(self._on_deferral_reason_typed)
        self.action_form = ActionForm(host)
        self.action_form.submitted.connect(self._on_action_form_submitted)
        self.action_form.cancelled.connect(self.decisions_edit.setFocus)
        self.summary_edit.textChanged.connect(self._on_capture_typed)
        self.decisions_edit.textChanged.connect(self._on_capture_typed)
        self.outcome_box.activated.connect(self._on_outcome_box_activated)
        self.decisions_edit.action_requested.connect(self._on_decisions_action_requested)
        layout = _ColumnLayout(host)
        layout.setContentsMargins(12, 8, 0, 0)
        summary_caption = _heading(self.tr("&Discussion summary"), host, wrap=True)
        summary_caption.setObjectName("summary_caption")
        summary_caption.setBuddy(self.summary_edit)
        outcome_caption = _heading(self.tr("&Outcome"), host)
        outcome_caption.setObjectName("outcome_caption")
        outcome_caption.setBuddy(self.outcome_box)
        decisions_caption = _heading(
            self.tr("D&ecisions (Ctrl+Enter: new action)"), host, wrap=True
        )
        decisions_caption.setObjectName("decisions_caption")
        decisions_caption.setBuddy(self.decisions_edit)
        layout.addWidget(summary_caption)
        layout.addWidget(self.summary_edit, 3)
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(outcome_caption)
        outcome_row.addWidget(self.outcome_box, 1)
        layout.addLayout(outcome_row)
        # Shown only while the outcome is "Defer": why, for the minutes and the next agenda.
        self.deferral_row = QWidget(host)
        self.deferral_row.setObjectName("deferral_reason_row")
        deferral_layout = QHBoxLayout(self.deferral_row)
        deferral_layout.setContentsMargins(0, 0, 0, 0)
        deferral_caption = QLabel(self.tr("Why de&ferred"), self.deferral_row)
        deferral_caption.setObjectName("deferral_reason_caption")
        deferral_caption.setBuddy(self.deferral_edit)
        self.deferral_edit.setParent(self.deferral_row)
        deferral_layout.addWidget(deferral_caption)
        deferral_layout.addWidget(self.deferral_edit, 1)
        self.deferral_row.hide()
        layout.addWidget(self.deferral_row)
        QWidget.setTabOrder(self.outcome_box, self.deferral_edit)
        QWidget.setTabOrder(self.deferral_edit, self.decisions_edit)
        layout.addWidget(decisions_caption)
        layout.addWidget(self.decisions_edit, 2)
        layout.addWidget(self.action_form)
        self.capture_area = self._column(host, "capture_area", self.tr("Discussion and decisions"))
        return self.capture_area

    def _build_shortcuts(self) -> None:
        self._shortcuts: list[QShortcut] = []
        for keys, slot in (
            (QKeySequence(Qt.Key.Key_PageDown), self.next_item),
            (QKeySequence(Qt.Key.Key_PageUp), self.previous_item),
            (QKeySequence(Qt.Key.Key_F6), self.toggle_attendance),
            (QKeySequence("Ctrl+R"), self.reveal_button.toggle),
            (QKeySequence("Ctrl+E"), self.end_meeting),
            (QKeySequence("Ctrl+W"), self.close),
            (QKeySequence(Qt.Key.Key_F1), self.show_shortcuts),
            (QKeySequence(Qt.Key.Key_F11), self.toggle_full_screen),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)
            self._shortcuts.append(shortcut)

    # -- public API --------------------------------------------------------------------

    def present(self, screen: QScreen | None = None) -> None:
        """Show full screen on ``screen`` (the projector), or on the current screen."""
        if screen is not None:
            self.setScreen(screen)
            self.move(screen.geometry().topLeft())
        self.showFullScreen()

    def set_locked(self, locked: bool) -> None:
        """While the desk is locked, show only "MDT Desk is locked": no name, no item.

        What was typed is sent to be saved first (the main window waits for it with the
        drafts); the meeting goes on as it was once the desk is unlocked.
        """
        if locked == self.is_locked():
            return
        if locked:
            self.send_last_typing()
            if self._revealed:
                self.set_revealed(False)  # revealed again by the chair, not by unlocking
        self.pages.setCurrentWidget(self.locked_page if locked else self.meeting_page)
        self.setWindowTitle(self.tr("MDT Desk is locked") if locked else self.tr("Meeting mode"))
        for shortcut in self._shortcuts:
            shortcut.setEnabled(not locked)

    def is_locked(self) -> bool:
        return self.pages.currentWidget() is self.locked_page

    def current_index(self) -> int:
        return self._index

    def current_entry(self) -> AgendaEntry | None:
        return self.agenda[self._index] if 0 <= self._index < len(self.agenda) else None

    def is_read_only(self) -> bool:
        return self._read_only

    def is_revealed(self) -> bool:
        return self._revealed

    def has_unsaved_capture(self) -> bool:
        return self._dirty or self._saves_in_flight > 0

    @Slot()
    def next_item(self) -> None:
        self.go_to(self._index + 1)

    @Slot()
    def previous_item(self) -> None:
        self.go_to(self._index - 1)

    @Slot(int)
    def go_to(self, index: int) -> None:
        """Bring item ``index`` to the front (saving the one in front first)."""
        if not 0 <= index < len(self.agenda) or index == self._index:
            return
        self._leave_item()
        # A reveal is for the person being discussed: the next one starts private again.
        self.set_revealed(False)
        self._index = index
        entry = self.agenda[index]
        summary, decisions = self._typed.get(entry.id, (entry.summary, entry.decisions))
        for edit, text in ((self.summary_edit, summary), (self.decisions_edit, decisions)):
            edit.blockSignals(True)
            edit.setPlainText(text)
            edit.blockSignals(False)
        self.outcome_box.setCurrentIndex(
            max(0, self.outcome_box.findData(entry.outcome.value if entry.outcome else None))
        )
        self.deferral_edit.setText(self._typed_reasons.get(entry.id, entry.deferral_reason))
        self._show_deferral(entry)
        self.action_form.hide()
        self.briefing = None
        self.open_actions = []
        self.banner.name_label.setText(self.tr("Loading…"))
        for body in (self.reason_label, self.changes_label, self.goals_label, self.actions_label):
            show_text(body, self.tr("Loading…"))  # the screen reader's text too
        self._item_clock.start()
        self._show_agenda()
        self._update_clocks()
        self._load_briefing(entry.id)
        self.focus_summary()

    def focus_summary(self) -> None:
        """Put the keyboard in the discussion summary, the cursor after its text."""
        self.summary_edit.setFocus()
        self.summary_edit.moveCursor(QTextCursor.MoveOperation.End)

    def shortcuts_text(self) -> str:
        return "\n".join(f"{keys}\t{what}" for keys, what in SHORTCUTS)

    @Slot()
    def show_shortcuts(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            self.tr("Meeting mode keys"),
            self.shortcuts_text(),
            QMessageBox.StandardButton.Close,
            self,
        )
        box.setObjectName("meeting_keys_box")
        box.setFont(self.font())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self.focus_summary())
        box.open()

    @Slot()
    def toggle_attendance(self) -> None:
        shown = not self.attendance_panel.isVisible()
        self.attendance_panel.setVisible(shown)
        self.attendance_button.setAccessibleName(
            self.tr("Hide attendance") if shown else self.tr("Show attendance")
        )
        first = self.attendance_panel.first_field()
        if shown and first is not None:
            first.setFocus()
        elif not shown:
            self.focus_summary()

    @Slot(bool)
    def set_revealed(self, revealed: bool) -> None:
        """Show (True) or hide sensitive alerts and case notes on the shared screen."""
        self._revealed = revealed
        if self.reveal_button.isChecked() != revealed:
            self.reveal_button.setChecked(revealed)
        self.banner.set_revealed(revealed)
        self._show_changes()
        self._show_open_actions()
        self._show_privacy_state()

    @Slot()
    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    @Slot()
    def save_now(self) -> None:
        """Send what has been typed for the current item, if anything is unsaved."""
        self._debounce.stop()
        self._max_wait.stop()
        entry = self.current_entry()
        if not self._dirty or entry is None or self._read_only:
            return
        self._dirty = False
        self._save_typed(entry.id)

    def _save_typed(self, item_id: uuid.UUID) -> None:
        summary, decisions = self._typed.get(item_id, (None, None))
        reason = self._typed_reasons.get(item_id)

        def job(desk: Desk) -> AgendaEntry:
            with desk.write() as session:
                return meeting_mode.save_capture(
                    session, item_id, summary=summary, decisions=decisions, deferral_reason=reason
                )

        self._send_save(job, item_id, "typed")

    def _save_outcome(self, item_id: uuid.UUID, outcome: AgendaOutcome | None) -> None:
        def job(desk: Desk) -> AgendaEntry:
            with desk.write() as session:
                return meeting_mode.save_capture(
                    session, item_id, outcome=outcome, clear_outcome=outcome is None
                )

        self._unkept_outcomes[item_id] = outcome
        self._send_save(job, item_id, "outcome")

    def send_last_typing(self) -> None:
        """The app is closing: send what was typed, again for any item whose save failed,
        and the item's time, so the main window can wait for them and stay open if they
        fail (H100). The window stays as it is: the close may yet be stopped."""
        if self._read_only:
            return
        entry = self.current_entry()
        current = entry.id if entry is not None else None
        for item_id in self._unkept - {current}:
            self._save_typed(item_id)
        for item_id, outcome in list(self._unkept_outcomes.items()):
            self._save_outcome(item_id, outcome)
        if current in self._unkept:
            self._dirty = True
        timing = self._item_clock.isValid()
        self._leave_item()
        if timing and entry is not None:
            self._item_clock.start()  # the time sent so far is counted; from now on, anew

    def has_unkept_typing(self) -> bool:
        """Typed capture (or a chosen outcome) not (yet) in the store: unsent, in flight,
        or its save failed."""
        return self._dirty or bool(self._unkept) or bool(self._unkept_outcomes)

    def discussed_without_outcome(self) -> list[int]:
        """The items with a discussion summary or decisions typed but no outcome chosen:
        ended now, each would be recorded as not reached, its discussion kept."""
        found = []
        for number, entry in enumerate(self.agenda):
            summary, decisions = self._typed.get(entry.id, (entry.summary, entry.decisions))
            if entry.outcome is None and (summary.strip() or decisions.strip()):
                found.append(number)
        return found

    def _unfinished_text(self, unfinished: list[int]) -> str:
        """``Item 1 (A.B.) and item 3 (C.D.) have a discussion but no outcome…``: by
        position and initials only, as the agenda strip shows them on the shared screen."""
        named = [
            self.tr("item {n} ({who})").format(n=n + 1, who=self.agenda[n].initials)
            for n in unfinished
        ]
        joined = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        joined = joined[0].upper() + joined[1:]
        verb = self.tr("has") if len(named) == 1 else self.tr("have")
        return self.tr(
            "{items} {verb} a discussion or decisions typed but no outcome: "
            "{it} will be recorded as not reached unless an outcome is chosen.\n\n"
        ).format(items=joined, verb=verb, it=self.tr("it") if len(named) == 1 else self.tr("they"))

    @Slot()
    def _end_question(self) -> str:
        """The confirmation, saying how many items have no outcome (they will be carried)."""
        waiting = sum(
            1
            for entry in self.agenda
            if entry.outcome is None or entry.outcome is AgendaOutcome.DEFER
        )
        carried = (
            self.tr(
                "{items} deferred or without an outcome will be carried to the "
                "practice's next meeting. "
            ).format(items=counted(waiting, self.tr("item")))
            if waiting
            else self.tr("Every item has an outcome. ")
        )
        unfinished = self.discussed_without_outcome()
        return (
            (self._unfinished_text(unfinished) if unfinished else "")
            + self.tr("End the meeting now? ")
            + carried
            + self.tr(
                "Next review dates are set from the outcomes, and the record becomes read-only."
            )
        )

    def end_meeting(self) -> None:
        """Ask to confirm, then end the meeting (roll-over, next reviews, locked)."""
        if self._read_only or self.detail is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("End the meeting"),
            self._end_question(),
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("end_meeting_confirm")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # asked afresh each time
        box.setFont(self.font())  # a dialog is a window: it does not inherit the large font
        end = box.addButton(self.tr("End meeting"), QMessageBox.ButtonRole.AcceptRole)
        end.setObjectName("confirm_end_button")
        end.setAccessibleName(self.tr("End the meeting"))
        unfinished = self.discussed_without_outcome()
        if unfinished:
            # A discussed case recorded as not reached (H98): the safe choice is the default.
            first = unfinished[0]
            keep = box.addButton(
                self.tr("Go back to item {n}").format(n=first + 1),
                QMessageBox.ButtonRole.RejectRole,
            )
            keep.setObjectName("go_back_to_item_button")
            keep.setAccessibleName(
                self.tr("Go back to item {n} to choose its outcome").format(n=first + 1)
            )
            end.setText(self.tr("End meeting anyway"))
            box.setDefaultButton(keep)
        else:
            first = None
            keep = box.addButton(self.tr("Keep going"), QMessageBox.ButtonRole.RejectRole)
            keep.setAccessibleName(self.tr("Keep the meeting going"))
            box.setDefaultButton(end)
        box.setEscapeButton(keep)
        box.buttonClicked.connect(
            lambda button: self._finish() if button is end else self._back_to(first)
        )
        box.open()

    def _back_to(self, index: int | None) -> None:
        """Back from the End meeting question: to item ``index``, the keyboard on its
        outcome; or (``None``) to the item in front, the keyboard in its summary."""
        if index is None:
            self.focus_summary()
            return
        self.go_to(index)
        # once the question has closed and given the keyboard back to where it was
        QTimer.singleShot(0, self.outcome_box.setFocus)

    # -- loading -----------------------------------------------------------------------

    def _start(self) -> None:
        meeting_id = self.meeting_id

        def job(desk: Desk) -> tuple[MeetingDetail, bool]:
            finished = False
            with desk.write() as session:
                try:
                    meeting_mode.start_meeting(session, meeting_id)
                except RuleError:
                    finished = True  # finished (or cancelled): shown read-only
            with desk.read() as session:
                return meetings.get_meeting(session, meeting_id), finished

        self.runner.run(
            job, self._on_meeting_fetched, self._on_error, owner=self, description="start meeting"
        )

    def _on_meeting_fetched(self, result: tuple[MeetingDetail, bool]) -> None:
        detail, read_only = result
        self.detail = detail
        self.agenda = list(detail.agenda)
        self.members = list(detail.members)
        self._seconds_before = sum(entry.seconds_taken for entry in self.agenda)
        self._meeting_clock.start()
        show_text(
            self.title_label,
            f"{detail.meeting.title} — {meetings.meeting_day_text(detail.meeting)}",
        )
        self._set_read_only(read_only)
        self._show_members()
        self._tick.start()
        if not self.agenda:
            self.progress_label.setText(self.tr("No items"))
            show_text(self.reason_label, self.tr("This meeting has nothing on its agenda."))
        else:
            waiting = [n for n, entry in enumerate(self.agenda) if entry.outcome is None]
            self.go_to(waiting[0] if waiting else 0)
        self.focus_summary()
        self.meeting_loaded.emit(detail)

    def _load_briefing(self, item_id: uuid.UUID) -> None:
        today = dt.date.today()

        self.runner.read(
            lambda session: meeting_mode.item_briefing(session, item_id, today=today),
            self._on_briefing_fetched,
            self._on_error,
            owner=self,
            description="item briefing",
        )

    def _on_briefing_fetched(self, briefing: ItemBriefing) -> None:
        entry = self.current_entry()
        if entry is None or briefing.entry.id != entry.id:
            return  # the chair has moved on
        self.briefing = briefing
        self.open_actions = list(briefing.open_actions)
        self.banner.show_banner(briefing.record.banner)
        self._show_reason()
        self._show_changes()
        case = briefing.record.case
        goals = case.goals if case is not None else ()
        show_text(
            self.goals_label,
            "\n".join(
                "• "
                + goal.description
                + (f" — by {goal.target_text}" if goal.target_on else "")
                + (f" ({goal.outcome_text})" if goal.outcome_text else "")
                for goal in goals
            )
            or self.tr("No goals recorded."),
        )
        self._show_open_actions()
        self.briefing_shown.emit(entry.id)

    # -- showing -----------------------------------------------------------------------

    def _show_agenda(self) -> None:
        self.agenda_strip.set_entries(self.agenda, self._index)
        if self.agenda:
            self.progress_label.setText(
                self.tr("Item {n} of {total}").format(n=self._index + 1, total=len(self.agenda))
            )
        self.previous_button.setEnabled(self._index > 0)
        self.next_button.setEnabled(self._index < len(self.agenda) - 1)

    def _show_reason(self) -> None:
        entry = self.current_entry()
        if entry is None or self.briefing is None:
            return
        lines = [entry.why_text]  # each reason once (not "Escalated — Escalated by…")
        if entry.carried_count and "carried" not in entry.why_text.lower():
            lines.append(self.tr("Carried {n}×").format(n=entry.carried_count))
        lines.append(
            self.tr("Last discussed {when}").format(when=self.briefing.last_discussed_text)
            if self.briefing.last_discussed_on is not None
            else self.tr("Not discussed at an MDT before")
        )
        show_text(self.reason_label, "\n".join(lines))

    def _show_changes(self) -> None:
        if self.briefing is None:
            return
        lines = []
        hidden = 0
        hidden_actions = 0
        for change in self.briefing.changes:
            if change.sensitive and not self._revealed:
                # need-to-know: a sensitive note or action done waits for the reveal;
                # every other note is part of the discussion and stays on screen
                if change.is_note:
                    hidden += 1
                else:
                    hidden_actions += 1
                continue
            # revealed, each sensitive line says so in words: not to be read aloud
            kind = (
                self.tr("Sensitive {kind}").format(kind=change.kind)
                if change.sensitive
                else change.kind.capitalize()
            )
            lines.append(f"{change.on_text}  {kind}: {change.text}")
        if hidden or hidden_actions:
            what = [counted(hidden, self.tr("sensitive note"))] if hidden else []
            if hidden_actions:
                what.append(counted(hidden_actions, self.tr("sensitive action")))
            lines.append(
                self.tr("{notes} hidden — Reveal (Ctrl+R) to show").format(
                    notes=self.tr(" and ").join(what)
                )
            )
        show_text(self.changes_label, "\n".join(lines) or self.tr("Nothing recorded since."))

    def _show_open_actions(self) -> None:
        lines = []
        hidden = 0
        for action in self.open_actions:
            if action.sensitive and not self._revealed:
                hidden += 1  # need-to-know: not on the shared screen until revealed
                continue
            due = (
                self.tr("OVERDUE, was due {due}").format(due=action.due_text)
                if action.overdue
                else self.tr("due {due}").format(due=action.due_text)
            )
            new = self.tr(" — agreed today") if action.agreed_here else ""
            marker = self.tr("Sensitive: ") if action.sensitive else ""
            lines.append(f"• {marker}{action.description} — {action.owner_name}, {due}{new}")
        if hidden:
            lines.append(
                self.tr("{actions} hidden — Reveal (Ctrl+R) to show").format(
                    actions=counted(hidden, self.tr("sensitive action"))
                )
            )
        show_text(self.actions_label, "\n".join(lines) or self.tr("No open actions."))

    def _show_members(self) -> None:
        self.attendance_panel.set_members(self.members, read_only=self._read_only)
        missing = meetings.missing_core_professions(self.members)
        self.warning_label.setText(missing_text(missing) if missing else "")
        self.warning_label.setVisible(bool(missing))

    def _show_privacy_state(self) -> None:
        self.privacy_label.setText(
            self.tr("Revealed: sensitive alerts, actions and notes are on screen")
            if self._revealed
            else self.tr("Private: initials only, sensitive alerts, actions and notes hidden")
        )
        self.reveal_button.setText(
            self.tr("Hide (Ctrl+R)") if self._revealed else self.tr("Reveal (Ctrl+R)")
        )

    def _update_clocks(self) -> None:
        if not self._meeting_clock.isValid():
            return
        running = not self._read_only
        meeting = self.detail.meeting if self.detail is not None else None
        if not running and meeting is not None and meeting.started_at and meeting.finished_at:
            # Ended: the clock stops at the meeting's length, never back to 0:00.
            final = int((meeting.finished_at - meeting.started_at).total_seconds())
            self.meeting_clock_label.setText(
                self.tr("Meeting {time} — ended").format(time=clock_text(final))
            )
        spent_here = self._item_clock.elapsed() // 1000 if running and self._index >= 0 else 0
        meeting_seconds = self._seconds_before + (
            self._meeting_clock.elapsed() // 1000 if running else 0
        )
        started = self.detail.meeting.started_at if self.detail is not None else None
        if running and started is not None:
            # Wall time since the meeting began: right after a crash and restart too.
            meeting_seconds = max(0, int((dt.datetime.now(dt.UTC) - started).total_seconds()))
        if running or meeting is None or not (meeting.started_at and meeting.finished_at):
            self.meeting_clock_label.setText(
                self.tr("Meeting {time}").format(time=clock_text(int(meeting_seconds)))
            )
        entry = self.current_entry()
        if entry is None:
            self.item_timer_label.setText("")
            return
        taken = entry.seconds_taken + int(spent_here)
        allotted = entry.minutes_allotted * 60
        text = self.tr("{taken} of {allotted} min").format(
            taken=clock_text(taken), allotted=entry.minutes_allotted
        )
        over = taken - allotted
        if over > 0:
            text += self.tr("  +{over} over").format(over=clock_text(over))
            self.item_timer_label.setStyleSheet(
                "QLabel { background: #d5281b; color: white; padding: 2px 8px; }"
            )
        else:
            self.item_timer_label.setStyleSheet("")
        self.item_timer_label.setText(text)
        self._fit_columns()

    def _set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        for edit in (self.summary_edit, self.decisions_edit):
            edit.setReadOnly(read_only)
        self.deferral_edit.setReadOnly(read_only)
        self.outcome_box.setEnabled(not read_only)
        self.end_button.setEnabled(not read_only)
        if read_only:
            self.action_form.hide()
            self.saved_label.setText(
                self.tr("Finished — read-only") if self.detail is not None else ""
            )
        self.attendance_panel.set_members(self.members, read_only=read_only)

    # -- saving ------------------------------------------------------------------------

    def _send_save(self, job: object, item_id: uuid.UUID, kind: str) -> None:
        """Send ``job``, saving the ``kind`` ("typed" or "outcome") of item ``item_id``."""
        self._saves_in_flight += 1
        if kind == "typed":
            self._unkept.add(item_id)
        key = (item_id, kind)
        self._sends += 1
        number = self._latest_send[key] = self._sends
        self._show_save_state()

        def saved(entry: AgendaEntry) -> None:
            # The jobs run in order: only the latest save for the item says it is all kept.
            if self._latest_send.get(key) == number:
                self._failed.discard(key)
                if kind == "typed":
                    self._unkept.discard(item_id)
                else:
                    self._unkept_outcomes.pop(item_id, None)
            self._on_capture_saved(entry)

        def failed(error: UserError) -> None:
            if self._latest_send.get(key) == number:
                self._failed.add(key)  # sent again on a later tick, or after a save (H101)
            self._on_save_failed(error)

        self.runner.run(
            job,  # type: ignore[arg-type]
            saved,
            failed,
            owner=self,
            description="save meeting capture",
        )

    def _show_save_state(self) -> None:
        """Says "Not saved" while any item's save has failed and is not yet kept, whichever
        item is in front; else "Saving…" or the time of the last save."""
        if self._failed:
            self.saved_label.setText(self.tr("Not saved"))
        elif self._saves_in_flight > 0 or self._dirty:
            self.saved_label.setText(self.tr("Saving…"))
        else:
            self.saved_label.setText(
                self.tr("Saved {time}").format(
                    time=dt.datetime.now(meetings.LONDON).strftime("%H:%M:%S")
                )
            )

    def _on_capture_saved(self, saved: AgendaEntry) -> None:
        self._saves_in_flight -= 1
        self._replace_entry(saved)
        if self._saves_in_flight == 0:
            if self._failed:
                self._resend()  # the store takes saves again: what failed goes now
            elif self._save_error and self.error_label.accessibleName() == self._save_error:
                self.error_label.show_message("")  # all kept: the failure no longer holds
                self._save_error = ""
            if not self._dirty:
                self._show_save_state()
        self.capture_saved.emit(saved)

    def _on_save_failed(self, error: UserError) -> None:
        self._saves_in_flight -= 1
        self._since_failure.start()
        self.saved_label.setText(self.tr("Not saved"))
        self._save_error = str(error)
        self.error_label.show_message(self._save_error)

    @Slot()
    def _resend_failed(self) -> None:
        """On the clock's tick: send again what failed, once nothing else is in flight and
        a moment has passed since the failure (a full disk may have room again)."""
        if self._read_only or not self._failed or self._saves_in_flight > 0:
            return
        if self._since_failure.isValid() and self._since_failure.elapsed() < RESEND_AFTER_MS:
            return
        self._resend()

    def _resend(self) -> None:
        """Send again each item's capture or outcome whose latest save failed (H101)."""
        if self._read_only:
            return
        entry = self.current_entry()
        for item_id, kind in sorted(self._failed, key=lambda key: self._latest_send[key]):
            if kind == "outcome":
                if item_id in self._unkept_outcomes:
                    self._save_outcome(item_id, self._unkept_outcomes[item_id])
            elif not (self._dirty and entry is not None and entry.id == item_id):
                self._save_typed(item_id)  # the item in front, being typed, goes on its own

    def _replace_entry(self, saved: AgendaEntry) -> None:
        """Take the store's word for an item, keeping the text typed since."""
        for number, entry in enumerate(self.agenda):
            if entry.id == saved.id:
                summary, decisions = self._typed.get(saved.id, (saved.summary, saved.decisions))
                self.agenda[number] = dataclasses.replace(
                    saved,
                    summary=summary,
                    decisions=decisions,
                    deferral_reason=self._typed_reasons.get(saved.id, saved.deferral_reason),
                    seconds_taken=max(saved.seconds_taken, entry.seconds_taken),
                )
        self._show_agenda()

    def _leave_item(self) -> None:
        """Save the item in front and send the time spent on it."""
        entry = self.current_entry()
        if entry is None or self._read_only:
            return
        self.save_now()
        seconds = int(self._item_clock.elapsed() // 1000) if self._item_clock.isValid() else 0
        self._item_clock.invalidate()
        if seconds <= 0:
            return
        self.agenda[self._index] = dataclasses.replace(
            entry, seconds_taken=entry.seconds_taken + seconds
        )
        item_id = entry.id

        self.runner.write(
            lambda session: meeting_mode.add_time(session, item_id, seconds),
            self._replace_entry,
            self._on_error,
            owner=self,
            description="add time",
        )

    def _finish(self) -> None:
        self._leave_item()
        meeting_id = self.meeting_id

        def job(desk: Desk) -> tuple[MeetingEnd, TimeStatistics]:
            with desk.write() as session:
                end = meeting_mode.finish_meeting(session, meeting_id, author_id=desk.actor_id)
                return end, meeting_mode.time_statistics(session, meeting_id)

        self._set_read_only(True)  # nothing more is typed while the meeting ends
        self.runner.run(
            job, self._on_meeting_ended, self._on_finish_failed, owner=self, description="end"
        )

    def _on_meeting_ended(self, result: tuple[MeetingEnd, TimeStatistics]) -> None:
        end, times = result
        if self.detail is not None:
            self.detail = dataclasses.replace(self.detail, meeting=end.meeting)
        self.agenda = [item.entry for item in end.items]
        self._typed.clear()
        self._typed_reasons.clear()
        self._show_agenda()
        self._set_read_only(True)
        self._update_clocks()
        self.summary_dialog = MeetingSummaryDialog(
            end, times, full_names=self._revealed, parent=self
        )
        self.summary_dialog.setFont(self.font())  # readable on the shared screen too
        self.summary_dialog.open()
        self.meeting_finished.emit(self.meeting_id)

    def _on_finish_failed(self, error: UserError) -> None:
        self._set_read_only(False)
        self._item_clock.start()
        self._on_error(error)

    def _on_error(self, error: UserError) -> None:
        self.error_label.show_message(str(error))

    # -- slots -------------------------------------------------------------------------

    @Slot()
    def _on_capture_typed(self) -> None:
        entry = self.current_entry()
        if entry is None or self._read_only:
            return
        self._typed[entry.id] = (self.summary_edit.toPlainText(), self.decisions_edit.toPlainText())
        self._dirty = True
        self._show_save_state()
        self._debounce.start()
        if not self._max_wait.isActive():
            self._max_wait.start()

    @Slot(str)
    def _on_deferral_reason_typed(self, text: str) -> None:
        entry = self.current_entry()
        if entry is None or self._read_only:
            return
        self._typed_reasons[entry.id] = text
        self._dirty = True
        self._show_save_state()
        self._debounce.start()
        if not self._max_wait.isActive():
            self._max_wait.start()

    def _show_deferral(self, entry: AgendaEntry) -> None:
        """The "Why deferred" field, only while the item's outcome is "Defer"."""
        self.deferral_row.setVisible(entry.outcome is AgendaOutcome.DEFER)

    @Slot(int)
    def _on_outcome_box_activated(self, index: int) -> None:
        entry = self.current_entry()
        if entry is None or self._read_only:
            return
        code = self.outcome_box.itemData(index)
        outcome = AgendaOutcome(code) if code else None
        if outcome == entry.outcome:
            return
        self.agenda[self._index] = dataclasses.replace(entry, outcome=outcome)
        self._show_agenda()
        self._show_deferral(self.agenda[self._index])
        if outcome is AgendaOutcome.DEFER:
            self.deferral_edit.setFocus()  # say why, while the room still remembers
        self.save_now()
        self._save_outcome(entry.id, outcome)

    @Slot(str)
    def _on_decisions_action_requested(self, line: str) -> None:
        if self._read_only or self.briefing is None:
            return
        self.save_now()
        self.action_form.open_for(
            line, self.briefing.owners, dt.date.today() + dt.timedelta(days=DEFAULT_DUE_DAYS)
        )
        self._fit_columns()
        # once it is laid out: the whole form in view, even on an 800-pixel-high screen
        QTimer.singleShot(0, self._show_action_form_whole)

    def _show_action_form_whole(self) -> None:
        if self.action_form.isVisible():
            self.capture_area.ensureWidgetVisible(self.action_form, 0, 8)

    @Slot(str, object, object)
    def _on_action_form_submitted(
        self, description: str, owner_id: uuid.UUID | None, due_on: dt.date
    ) -> None:
        entry = self.current_entry()
        if entry is None or self._read_only:
            return
        item_id, case_id = entry.id, entry.case_id
        sensitive = self.action_form.is_sensitive()

        def job(desk: Desk) -> OpenAction:
            with desk.write() as session:
                return meeting_mode.add_action_from_decision(
                    session,
                    item_id,
                    description=description,
                    owner_id=owner_id,
                    due_on=due_on,
                    sensitive=sensitive,
                )

        def done(action: OpenAction) -> None:
            current = self.current_entry()
            if current is not None and current.id == item_id:
                self.open_actions.append(action)
                self._show_open_actions()
                self.action_form.hide()
                self.decisions_edit.setFocus()
            self.actions_changed.emit(case_id)

        self.runner.run(
            job,
            done,
            lambda error: self.action_form.show_error(str(error)),
            owner=self,
            description="add action from decision",
        )

    @Slot(bool)
    def _on_banner_details_toggled(self, shown: bool) -> None:
        if not shown:
            self.focus_summary()

    def _on_attendance_panel_set(
        self, staff_id: uuid.UUID, status: AttendanceStatus, deputy_name: str
    ) -> None:
        if self._read_only:
            return
        meeting_id = self.meeting_id

        def job(desk: Desk) -> MemberAttendance:
            with desk.write() as session:
                return meetings.set_attendance(
                    session, meeting_id, staff_id, status, deputy_name=deputy_name
                )

        def done(member: MemberAttendance) -> None:
            self.members = [member if m.staff_id == member.staff_id else m for m in self.members]
            self.attendance_panel.error_label.show_message("")
            self._show_members()

        self.runner.run(
            job,
            done,
            lambda error: self.attendance_panel.error_label.show_message(str(error)),
            owner=self,
            description="set attendance",
        )

    # -- Qt ---------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.showNormal()  # leaves full screen, never the meeting
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._leave_item()
        self._tick.stop()
        super().closeEvent(event)
