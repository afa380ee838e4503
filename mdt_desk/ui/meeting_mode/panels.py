"""The parts of the meeting-mode window: agenda strip, private banner, attendance panel,
decisions box and the inline new-action form.

None of these touches the database; they show what the window hands them and report
what the chair did by signals.
"""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.models.enums import AttendanceStatus
from mdt_desk.services.case_view import BannerView
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.display import counted, label
from mdt_desk.services.meetings import AgendaEntry, MemberAttendance
from mdt_desk.services.plans import OwnerChoice
from mdt_desk.ui.case_record.banner import PatientBanner
from mdt_desk.ui.meetings.schedule_dialog import chosen_data, make_searchable
from mdt_desk.ui.widgets import CuiDateEdit, ErrorLabel

#: Said by the banner's Details button while zone 2 is held back from the shared screen.
DETAILS_HIDDEN_TEXT = "Hidden while presenting; reveal with Ctrl+R"

#: The warning colours: dark text on NHS warm yellow reads on any projector, and the
#: words ("Warning: …") carry the message without the colour.
WARNING_STYLE = (
    "QLabel { background: #ffb81c; color: #212b32; border: 3px solid #212b32;"
    " padding: 8px 12px; font-weight: bold; }"
)


class FlowLayout(QLayout):
    """Items left to right, wrapping onto a new line when the next one would not fit.

    Each line's items sit on its bottom edge, so texts of different sizes share a
    baseline near enough. Hidden items take no room. The minimum width is the widest
    item's, so a narrow screen gets more lines, never a cut-off item or a scroll bar.
    With ``first_alone``, when everything does not fit on one line the first item has
    the first line to itself (the banner's name, with the details after it). With
    ``align_right`` each line ends at the right edge (a row of buttons).
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        h_spacing: int = 18,
        v_spacing: int = 4,
        first_alone: bool = False,
        align_right: bool = False,
    ) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._first_alone = first_alone
        self._align_right = align_right
        self._h_spacing = h_spacing
        self._v_spacing = v_spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def insert_widget(self, index: int, widget: QWidget) -> None:
        """Put ``widget`` at ``index`` in the flow (``addWidget`` puts it last)."""
        self.addWidget(widget)  # takes ownership and appends its item…
        self._items.insert(index, self._items.pop())  # …which is then moved to its place
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        hints = [item.sizeHint() for item in self._shown()]
        margins = self.contentsMargins()
        width = sum(h.width() for h in hints) + self._h_spacing * max(0, len(hints) - 1)
        height = max((h.height() for h in hints), default=0)
        return QSize(
            width + margins.left() + margins.right(), height + margins.top() + margins.bottom()
        )

    def minimumSize(self) -> QSize:
        """The widest item: one a line, if it must."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def lines(self, width: int) -> list[list[QLayoutItem]]:
        """The items shown, line by line, at ``width`` (margins included)."""
        margins = self.contentsMargins()
        room = width - margins.left() - margins.right()
        lines: list[list[QLayoutItem]] = []
        used = 0
        shown = self._shown()
        alone = self._first_alone and self.sizeHint().width() > width
        for number, item in enumerate(shown):
            wide = item.sizeHint().width()
            if lines and used + self._h_spacing + wide <= room and not (alone and number == 1):
                lines[-1].append(item)
                used += self._h_spacing + wide
            else:
                lines.append([item])
                used = wide
        return lines

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        margins = self.contentsMargins()
        x0 = rect.x() + margins.left()
        right = rect.right() - margins.right()
        y = rect.y() + margins.top()
        for number, line in enumerate(self.lines(rect.width())):
            if number:
                y += self._v_spacing
            tall = max(item.sizeHint().height() for item in line)
            x = x0
            if self._align_right:
                wide = sum(i.sizeHint().width() for i in line) + self._h_spacing * (len(line) - 1)
                x = max(x0, right + 1 - wide)
            for item in line:
                hint = item.sizeHint()
                width = min(hint.width(), max(0, right - x + 1))
                if apply:
                    item.setGeometry(
                        QRect(QPoint(x, y + tall - hint.height()), QSize(width, hint.height()))
                    )
                x += hint.width() + self._h_spacing
            y += tall
        return y + margins.bottom() - rect.y()


def entry_state_text(entry: AgendaEntry) -> str:
    """How far an item has got, in a word (never colour alone)."""
    if entry.outcome is None:
        return "Discussed" if entry.discussed_at is not None else "Waiting"
    return "Deferred" if not entry.discussed else "Done"


class AgendaStrip(QScrollArea):
    """Every item of the agenda as a button, the current one checked.

    People are shown by initials only: the strip is on the shared screen and only the
    person being discussed is named (in the banner).

    Signals:
        item_chosen(int): the chair picked the item at this index.
    """

    item_chosen = Signal(int)

    #: Lines of items shown at once; a longer agenda scrolls down within the strip.
    MAX_LINES = 3

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agenda_strip")
        self.setAccessibleName(self.tr("Agenda"))
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # A long agenda wraps onto more lines rather than scrolling sideways: every item
        # stays in view on a 1280-pixel projector. Past MAX_LINES it scrolls down.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._inner = QWidget(self)
        self._row = FlowLayout(self._inner, h_spacing=8, v_spacing=6)
        self.setWidget(self._inner)
        self.buttons: list[QPushButton] = []
        # The item in front stands out by its fill, a thick border and the word "Now".
        # (A style sheet replaces the inherited font size, so it is given here.)
        size = self.font().pointSize()
        self.setStyleSheet(
            f"QPushButton {{ font-size: {size}pt; padding: 4px 10px;"
            " border: 1px solid palette(mid); border-radius: 4px;"
            " background: palette(button); color: palette(button-text); }"
            "QPushButton:checked { background: palette(highlight);"
            " color: palette(highlighted-text); border: 3px solid palette(window-text); }"
            "QPushButton:focus { border: 3px solid #ffeb3b; }"
        )

    def set_entries(self, entries: Sequence[AgendaEntry], current: int) -> None:
        while len(self.buttons) > len(entries):
            self.buttons.pop().deleteLater()
        while len(self.buttons) < len(entries):
            number = len(self.buttons)
            button = QPushButton(self._inner)
            button.setObjectName(f"agenda_item_{number}")
            button.setCheckable(True)
            button.setAutoExclusive(False)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda _checked=False, n=number: self.item_chosen.emit(n))
            self._row.insert_widget(number, button)
            self.buttons.append(button)
        for number, (entry, button) in enumerate(zip(entries, self.buttons, strict=True)):
            state = self.tr("Now") if number == current else self.tr(entry_state_text(entry))
            button.setText(f"{number + 1}  {entry.initials}\n{state}")
            button.setChecked(number == current)
            button.setAccessibleName(
                self.tr("Item {n}, {who}, {state}").format(
                    n=number + 1, who=entry.initials, state=state
                )
            )
        self._fit_height()
        if 0 <= current < len(self.buttons):
            self.ensureWidgetVisible(self.buttons[current])

    def lines(self) -> int:
        """How many lines the items take at the strip's width now."""
        return len(self._row.lines(self.viewport().width()))

    def _fit_height(self) -> None:
        """As tall as its lines of buttons, up to MAX_LINES (then it scrolls down).

        From the buttons' own size hints: the inner widget's is stale until it is laid
        out, and a scroll area does not grow to its contents by itself.
        """
        tallest = max((button.sizeHint().height() for button in self.buttons), default=0)
        shown = min(max(1, self.lines()), self.MAX_LINES)
        self.setFixedHeight(shown * tallest + (shown - 1) * 6 + 8)

    def texts(self) -> list[str]:
        return [button.text() for button in self.buttons]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()  # narrower: more lines; wider: fewer


class PrivateBanner(PatientBanner):
    """The CUI banner with sensitive alerts held back until the chair reveals them.

    Zone 2 (address, phone, contacts) does not open at all until then: its Details
    button is disabled, and says why to a screen reader.

    Zone 1 reflows to fit a 1280-pixel projector: on one line when it fits, otherwise
    the name on the first line and ``Born``, ``Gender``, ``NHS No.`` after it — each
    label with its value, never elided or split (the name and NHS number stay whole).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_view: BannerView | None = None
        self._revealed = False
        self.hidden_alerts = 0
        self._pairs: list[tuple[QWidget, QLabel]] = []
        self.zone1_flow = FlowLayout(h_spacing=18, v_spacing=2, first_alone=True)
        self._reflow_zone1()
        # "&Details" would take Alt+D from the discussion summary.
        self.details_button.setText(self.tr("De&tails"))
        # held back: faded and dashed, so nobody reaches for it on the projector
        self.details_button.setStyleSheet(
            self.details_button.styleSheet()
            + "QToolButton:disabled { color: rgba(255, 255, 255, 150);"
            " border: 1px dashed rgba(255, 255, 255, 150); }"
        )
        self._show_details_allowed()

    def _reflow_zone1(self) -> None:
        """Move zone 1's name and label–value pairs from the banner's row into a flow.

        Only widgets move (each ``removeWidget`` lets Qt delete its own layout item);
        the banner's row stays where it was, empty, so it takes no room. No layout or
        layout item changes owner between Qt and Python.
        """
        outer = self.layout()
        first = outer.itemAt(0) if isinstance(outer, QVBoxLayout) else None
        row = first.layout() if first is not None else None
        assert isinstance(outer, QVBoxLayout) and isinstance(row, QHBoxLayout)
        pairs = []
        for index in range(row.count()):
            item = row.itemAt(index)
            pair = item.layout() if item is not None else None
            first_item = pair.itemAt(0) if pair is not None else None
            second_item = pair.itemAt(1) if pair is not None else None
            if pair is not None and first_item is not None and second_item is not None:
                pairs.append((pair, first_item.widget(), second_item.widget()))
        zone1 = QHBoxLayout()
        zone1.setSpacing(18)
        zone1.addLayout(self.zone1_flow, 1)
        outer.insertLayout(0, zone1)
        row.removeWidget(self.name_label)
        self.zone1_flow.addWidget(self.name_label)
        for pair, caption_label, value_label in pairs:
            assert isinstance(caption_label, QLabel) and isinstance(value_label, QLabel)
            pair.removeWidget(caption_label)
            pair.removeWidget(value_label)
            host = QWidget(self)
            host.setObjectName(f"{value_label.objectName()}_pair")
            together = QHBoxLayout(host)
            together.setContentsMargins(0, 0, 0, 0)
            together.setSpacing(6)
            together.addWidget(caption_label, 0, Qt.AlignmentFlag.AlignBaseline)
            together.addWidget(value_label, 0, Qt.AlignmentFlag.AlignBaseline)
            self.zone1_flow.addWidget(host)
            self._pairs.append((host, value_label))
        row.removeWidget(self.details_button)
        zone1.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        self._show_pairs()

    def _show_pairs(self) -> None:
        """A pair takes room only while its value is shown (Died: for a person who died)."""
        for host, value in self._pairs:
            host.setVisible(value.isVisibleTo(host))

    def zone1_lines(self) -> int:
        """How many lines zone 1 takes at the banner's width now."""
        return len(self.zone1_flow.lines(self.zone1_flow.geometry().width()))

    def _show_details_allowed(self) -> None:
        if not self._revealed:
            super().set_details_shown(False)
        self.details_button.setEnabled(self._revealed)
        self.details_button.setAccessibleDescription(
            "" if self._revealed else self.tr(DETAILS_HIDDEN_TEXT)
        )
        self.details_button.setToolTip("" if self._revealed else self.tr(DETAILS_HIDDEN_TEXT))

    def set_details_shown(self, shown: bool) -> None:
        super().set_details_shown(shown and self._revealed)

    def show_banner(self, view: BannerView) -> None:
        self._full_view = view
        shown = view.alerts if self._revealed else tuple(a for a in view.alerts if not a.sensitive)
        self.hidden_alerts = len(view.alerts) - len(shown)
        super().show_banner(dataclasses.replace(view, alerts=shown))
        self._show_pairs()
        if self.hidden_alerts:
            hidden = self.tr("{alerts} hidden — Reveal (Ctrl+R) to show").format(
                alerts=counted(self.hidden_alerts, self.tr("sensitive alert"))
            )
            text = self.alerts_value.text()
            shown_text = "" if not shown else text + "\n"
            self.alerts_value.setText(shown_text + hidden)

    def set_revealed(self, revealed: bool) -> None:
        self._revealed = revealed
        self._show_details_allowed()
        if self._full_view is not None:
            self.show_banner(self._full_view)


class AttendancePanel(QFrame):
    """Who is here: each invited member present, sent apologies, or sent a deputy.

    Signals:
        attendance_set(object, object, str): staff id, :class:`AttendanceStatus`, deputy
            name — the chair recorded one member's attendance.
    """

    attendance_set = Signal(object, object, str)

    STATUSES = (
        AttendanceStatus.INVITED,
        AttendanceStatus.PRESENT,
        AttendanceStatus.APOLOGIES,
        AttendanceStatus.DEPUTY,
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attendance_panel")
        self.setAccessibleName(self.tr("Attendance"))
        self.setFrameShape(QFrame.Shape.StyledPanel)
        heading = QLabel(self.tr("Attendance"), self)
        font = heading.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 4)
        heading.setFont(font)
        # two set lines, not word wrap: a splitter gives a wrapping label too little height
        hint = QLabel(self.tr("Choose for each member;\nfor a deputy, type the name."), self)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("attendance_error_label")
        self._grid_host = QWidget(self)
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setVerticalSpacing(4)
        self._grid.setColumnStretch(1, 1)
        # down only: the panel is kept as wide as its rows (see _fit_width)
        self._scroll = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._grid_host)
        self.close_button = QPushButton(self.tr("Done (F6)"), self)
        self.close_button.setObjectName("attendance_done_button")
        self.close_button.setAccessibleName(self.tr("Close the attendance panel"))
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(hint)
        layout.addWidget(self.error_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.close_button)
        self.rows: dict[uuid.UUID, tuple[QComboBox, QLineEdit]] = {}
        self._read_only = False

    def set_members(self, members: Sequence[MemberAttendance], *, read_only: bool) -> None:
        self._read_only = read_only
        for row, member in enumerate(members):
            if member.staff_id not in self.rows:
                self._add_row(row, member)
            status_box, deputy_edit = self.rows[member.staff_id]
            if not (status_box.hasFocus() or deputy_edit.hasFocus()):
                # a row being changed keeps what the chair is choosing or typing
                status_box.blockSignals(True)
                status_box.setCurrentIndex(self.STATUSES.index(member.status))
                status_box.blockSignals(False)
                deputy_edit.setText(member.deputy_name)
            self._sync_row(status_box, deputy_edit)

    def _fit_width(self) -> None:
        """At least as wide as the widest row, so no choice is cut off at the right."""
        margins = self.contentsMargins()
        layout = self.layout()
        inner = layout.contentsMargins() if layout is not None else margins
        need = (
            self._grid_host.minimumSizeHint().width()
            + self._scroll.verticalScrollBar().sizeHint().width()
            + margins.left()
            + margins.right()
            + inner.left()
            + inner.right()
        )
        if layout is not None:  # the heading and hint too
            need = max(need, layout.totalMinimumSize().width())
        if self.minimumWidth() != need:
            self.setMinimumWidth(need)

    def first_field(self) -> QWidget | None:
        return next(iter(self.rows.values()))[0] if self.rows else None

    def _add_row(self, row: int, member: MemberAttendance) -> None:
        name = QLabel(f"{member.name}\n{member.profession_text}", self._grid_host)
        status_box = QComboBox(self._grid_host)
        status_box.setObjectName(f"attendance_status_{row}")
        status_box.setAccessibleName(self.tr("Attendance of {name}").format(name=member.name))
        for status in self.STATUSES:
            status_box.addItem(label(status))
        deputy_edit = QLineEdit(self._grid_host)
        deputy_edit.setObjectName(f"attendance_deputy_{row}")
        deputy_edit.setPlaceholderText(self.tr("Deputy's name"))
        deputy_edit.setAccessibleName(
            self.tr("Name of the deputy for {name}").format(name=member.name)
        )
        staff_id = member.staff_id
        status_box.currentIndexChanged.connect(
            lambda _index, s=staff_id: self._on_status_changed(s)
        )
        deputy_edit.editingFinished.connect(lambda s=staff_id: self._on_deputy_edited(s))
        # the name over the choice, so the panel fits beside the capture at 1280 pixels
        self._grid.addWidget(name, 2 * row, 0, 1, 2)
        self._grid.addWidget(status_box, 2 * row + 1, 0)
        self._grid.addWidget(deputy_edit, 2 * row + 1, 1)
        self.rows[staff_id] = (status_box, deputy_edit)

    def _status(self, status_box: QComboBox) -> AttendanceStatus:
        return self.STATUSES[max(0, status_box.currentIndex())]

    def _sync_row(self, status_box: QComboBox, deputy_edit: QLineEdit) -> None:
        deputy = self._status(status_box) is AttendanceStatus.DEPUTY
        status_box.setEnabled(not self._read_only)
        deputy_edit.setEnabled(deputy and not self._read_only)
        deputy_edit.setVisible(deputy)
        self._fit_width()  # a deputy's name field makes the row wider

    def _on_status_changed(self, staff_id: uuid.UUID) -> None:
        status_box, deputy_edit = self.rows[staff_id]
        self._sync_row(status_box, deputy_edit)
        status = self._status(status_box)
        if status is AttendanceStatus.DEPUTY and not deputy_edit.text().strip():
            deputy_edit.setFocus()  # saved once the name is typed
            return
        self.attendance_set.emit(staff_id, status, deputy_edit.text())

    def _on_deputy_edited(self, staff_id: uuid.UUID) -> None:
        status_box, deputy_edit = self.rows[staff_id]
        if self._status(status_box) is AttendanceStatus.DEPUTY and deputy_edit.text().strip():
            self.attendance_set.emit(staff_id, AttendanceStatus.DEPUTY, deputy_edit.text())


class DecisionsEdit(QPlainTextEdit):
    """The decisions box, one decision a line; Ctrl+Enter turns the line into an action.

    Signals:
        action_requested(str): the text of the line under the cursor.
    """

    action_requested = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.action_requested.emit(self.textCursor().block().text().strip())
            event.accept()
            return
        super().keyPressEvent(event)


class ActionForm(QFrame):
    """The inline form for a new action: what, who, by when, whether it is sensitive
    (Alt+S; hidden on this screen until revealed, never on the person's copy). Enter
    saves, Esc cancels.

    Signals:
        submitted(str, object, object): description, owner id, due date.
        cancelled(): the chair closed the form without saving.
    """

    submitted = Signal(str, object, object)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("action_form")
        self.setAccessibleName(self.tr("New action"))
        self.setFrameShape(QFrame.Shape.StyledPanel)
        heading = QLabel(self.tr("New action — Enter saves, Esc cancels"), self)
        heading.setWordWrap(True)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        self.description_edit = QLineEdit(self)
        self.description_edit.setObjectName("action_description_edit")
        self.description_edit.setAccessibleName(self.tr("What will be done"))
        self.owner_box = QComboBox(self)
        self.owner_box.setObjectName("action_owner_box")
        self.owner_box.setAccessibleName(self.tr("Who will do it"))
        make_searchable(self.owner_box, self.tr("Type part of a name"))
        # as wide as the form, not as the longest "name — profession (care team)"
        self.owner_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.owner_box.setMinimumContentsLength(16)
        self.due_edit = CuiDateEdit(parent=self)
        self.due_edit.setObjectName("action_due_edit")
        self.due_edit.setAccessibleName(self.tr("Due by"))
        # on two lines, so the form fits beside the briefing on a 1280-pixel screen
        self.sensitive_check = QCheckBox(
            self.tr("&Sensitive: hidden here until revealed,\nnever on the person's copy"), self
        )
        self.sensitive_check.setObjectName("action_sensitive_check")
        self.sensitive_check.setAccessibleName(self.tr("Sensitive action"))
        self.sensitive_check.setAccessibleDescription(
            self.tr("Hidden here until revealed, never on the person's copy")
        )
        self.save_button = QPushButton(self.tr("Save action"), self)
        self.save_button.setObjectName("action_save_button")
        self.save_button.setAccessibleName(self.tr("Save the new action"))
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setObjectName("action_cancel_button")
        self.cancel_button.setAccessibleName(self.tr("Cancel the new action"))
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("action_error_label")
        grid = QGridLayout(self)
        grid.addWidget(heading, 0, 0, 1, 4)
        for row, (caption, field) in enumerate(
            (
                (self.tr("&What"), self.description_edit),
                (self.tr("W&ho"), self.owner_box),
                (self.tr("Due &by"), self.due_edit),
            ),
            start=1,
        ):
            caption_label = QLabel(caption, self)
            caption_label.setBuddy(field)
            grid.addWidget(caption_label, row, 0)
            grid.addWidget(field, row, 1, 1, 3)
        grid.addWidget(self.sensitive_check, 4, 1, 1, 3)
        grid.addWidget(self.error_label, 5, 0, 1, 4)
        grid.addWidget(self.save_button, 6, 2)
        grid.addWidget(self.cancel_button, 6, 3)
        grid.setColumnStretch(1, 1)
        owner_line = self.owner_box.lineEdit()
        assert owner_line is not None  # editable, so it can be searched
        for field in (
            self.description_edit,
            owner_line,
            self.due_edit.line_edit,
            self.sensitive_check,
            self.save_button,
        ):
            field.installEventFilter(self)
        self.cancel_button.installEventFilter(self)
        for before, after in (
            (self.description_edit, self.owner_box),
            (self.owner_box, self.due_edit),
            (self.due_edit, self.sensitive_check),
            (self.sensitive_check, self.save_button),
            (self.save_button, self.cancel_button),
        ):
            QWidget.setTabOrder(before, after)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.hide()

    def open_for(self, description: str, owners: Sequence[OwnerChoice], due_on: dt.date) -> None:
        """Show the form for a decision line, focus on what will be done (cursor at the end,
        so the line can be finished or corrected), then Tab to who and by when."""
        self.error_label.show_message("")
        self.description_edit.setText(description)
        self.owner_box.clear()
        # the case's own people first, the coordinator before them all
        ordered = sorted(owners, key=lambda o: (not o.is_coordinator, not o.in_team))
        for owner in ordered:
            suffix = (
                self.tr(" (coordinator)")
                if owner.is_coordinator
                else self.tr(" (care team)")
                if owner.in_team
                else ""
            )
            self.owner_box.addItem(f"{owner.name} — {owner.profession_text}{suffix}", owner.id)
        owner_line = self.owner_box.lineEdit()
        if owner_line is not None:
            owner_line.setCursorPosition(0)  # the name in view, not the end of the line
        self.due_edit.set_date(due_on)
        self.sensitive_check.setChecked(False)
        self.setEnabled(True)
        self.show()
        self.description_edit.setFocus()
        self.description_edit.end(False)

    def is_sensitive(self) -> bool:
        """Whether the action being added is marked sensitive."""
        return self.sensitive_check.isChecked()

    def show_error(self, message: str) -> None:
        self.setEnabled(True)
        self.error_label.show_message(message)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if watched is self.cancel_button:
                    self._on_cancel_button_clicked()
                else:
                    self._on_save_button_clicked()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self._on_cancel_button_clicked()
                return True
        return super().eventFilter(watched, event)

    @Slot()
    def _on_save_button_clicked(self) -> None:
        description = self.description_edit.text().strip()
        if not description:
            self.error_label.show_message(self.tr("Say what will be done."))
            self.description_edit.setFocus()
            return
        owner = chosen_data(self.owner_box)
        if owner is None and self.owner_box.count():
            self.error_label.show_message(
                self.tr("Choose who will do it from the list: type part of their name and pick it.")
            )
            self.owner_box.setFocus()
            return
        try:
            due_on = self.due_edit.date_value()
        except DateInputError:
            # the field says why under itself; nothing is saved until it reads as a date
            self.due_edit.setFocus()
            return
        self.setEnabled(False)  # until the save comes back
        self.submitted.emit(description, owner, due_on)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.hide()
        self.cancelled.emit()
