"""Small input widgets that follow the CUI conventions, shared by every form.

- :class:`DateField` reads a typed date (``14/07/1945``, ``1945-07-14``, ``today``...),
  shows it as ``14-Jul-1945`` whatever the system locale, with a calendar pop-up, and
  says next to the field when the text is not a date.
- :class:`TimeField` reads a typed time (``14:30``, ``1430``, ``2:30pm``...), shows it as
  ``14:30`` and says next to the field when the text is not a time.
- :class:`NhsNumberEdit` accepts digits, spaces and hyphens and reformats to
  ``943 476 5919`` as the user types.
- :class:`FieldErrors` puts a service's per-field messages next to the fields.
- :func:`install_wheel_guard` stops the mouse wheel changing a combo box, spin box or
  date edit the pointer merely passes over while the page is scrolled.
- :func:`whole_dates` keeps ``14-Jul-2027`` on one line where text wraps.
"""

import datetime as dt
import re

from PySide6.QtCore import (
    QDate,
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPointF,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QColor,
    QKeyEvent,
    QPalette,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QCalendarWidget,
    QComboBox,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionFrame,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import ValidationError
from mdt_desk.services.dates import EARLIEST_DATE, LATEST_DATE, DateInputError, parse_typed_date
from mdt_desk.services.display import cui_date
from mdt_desk.services.times import TimeInputError, parse_typed_time, time_text

# Month names must be English (CUI: 14-Jul-1945) even on a machine set to another language.
_CUI_LOCALE = QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)
_MONTH_ABBREVIATIONS = tuple(cui_date(dt.date(2027, month, 1))[3:6] for month in range(1, 13))


class _DateLineEdit(QLineEdit):
    """The typing part of a :class:`DateField`: Up/Down step a day, Alt+Down or F4 opens
    the calendar; everything else is plain typing (Tab leaves the field).

    It is never squeezed narrower than a whole date (``14-Dec-2026``): a layout short of
    room showed only "-Dec-2026".
    """

    step_requested = Signal(int)
    calendar_requested = Signal()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        digit = max("0123456789", key=metrics.horizontalAdvance)
        widest = max(
            (f"{digit * 2}-{month}-{digit * 4}" for month in _MONTH_ABBREVIATIONS),
            key=metrics.horizontalAdvance,
        )
        text = self.textMargins()
        frame = self.contentsMargins()
        # as QLineEdit.sizeHint counts: the text, 2 px either side, margins, the cursor
        width = (
            metrics.horizontalAdvance(widest)
            + 2 * 2
            + text.left()
            + text.right()
            + frame.left()
            + frame.right()
            + self.style().pixelMetric(QStyle.PixelMetric.PM_TextCursorWidth, None, self)
        )
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        needed = self.style().sizeFromContents(
            QStyle.ContentsType.CT_LineEdit, option, QSize(width, hint.height()), self
        )
        return QSize(max(hint.width(), needed.width()), hint.height())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, alt = event.key(), event.modifiers() & Qt.KeyboardModifier.AltModifier
        if key == Qt.Key.Key_F4 or (key == Qt.Key.Key_Down and alt):
            self.calendar_requested.emit()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and not alt:
            self.step_requested.emit(1 if key == Qt.Key.Key_Up else -1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class _CalendarPopup(QFrame):
    """A calendar under the field; Enter or a click picks the day, Esc closes it."""

    picked = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.calendar = QCalendarWidget(self)
        self.calendar.setLocale(_CUI_LOCALE)
        self.calendar.setAccessibleName(self.tr("Calendar"))
        self.calendar.setMinimumDate(QDate(1900, 1, 1))
        self.calendar.setMaximumDate(QDate(2199, 12, 31))
        self.calendar.activated.connect(self._on_calendar_picked)
        self.calendar.clicked.connect(self._on_calendar_picked)
        QVBoxLayout(self).addWidget(self.calendar)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    @Slot(QDate)
    def _on_calendar_picked(self, qdate: QDate) -> None:
        self.close()
        self.picked.emit(dt.date(qdate.year(), qdate.month(), qdate.day()))


class _TypedField(QWidget):
    """A line of text read by a parser, with the reason it cannot be read underneath.

    The shared half of :class:`DateField` and :class:`TimeField`: text that cannot be
    read stays as typed, its reason is shown under the field (unless a table cell's
    delegate reports it) and announced to screen readers, and it is never replaced by
    another value. A subclass sets ``line_edit`` and then calls :meth:`_lay_out`.

    Signals:
        editingFinished(): the person left the field or pressed Enter.
    """

    editingFinished = Signal()  # noqa: N815 - named like the QLineEdit signal it replaces
    line_edit: QLineEdit

    def __init__(self, parent: QWidget | None, *, show_errors: bool = True) -> None:
        super().__init__(parent)
        self._show_errors = show_errors
        self._error = ""

    def _lay_out(self, top: QWidget | QLayout) -> None:
        # made after the line edit, so the field's first child stays its text
        self.error_label = ErrorLabel(self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if isinstance(top, QLayout):
            column.addLayout(top)
        else:
            column.addWidget(top)
        column.addWidget(self.error_label)
        self.setFocusProxy(self.line_edit)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self.line_edit.text()

    def set_text(self, text: str) -> None:
        """Put ``text`` in the field as if typed (read when the field is left or saved)."""
        self.line_edit.setText(text)

    def error_text(self) -> str:
        """Why the text could not be read; empty when it could."""
        return self._error

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.line_edit.setAccessibleName(name)

    def _set_error(self, message: str) -> None:
        if message == self._error:
            return
        self._error = message
        self.line_edit.setAccessibleDescription(message)
        if self._show_errors:
            self.error_label.show_message(message)
        if message:
            QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self.line_edit, message))


class DateField(_TypedField):
    """A date typed or picked from a calendar, shown as ``14-Jul-2027`` (NHS CUI).

    The person types any form :func:`~mdt_desk.services.dates.parse_typed_date` reads
    (``14/07/2027``, ``2027-07-14``, ``today``, ``+7``...). On leaving the field the text
    is shown as ``dd-Mmm-yyyy``; text that cannot be read stays as typed, with the reason
    underneath (announced to screen readers), and is never replaced by another date.
    Tab moves to the next field; Up/Down change the day; Alt+Down or F4 opens a calendar.

    Args:
        value: the date shown at first; ``None`` shows today unless ``optional``.
        optional: an empty field means "no date" rather than an error.
        show_errors: show the reason under the field (a table cell's editor reports it
            through its delegate instead).
    """

    line_edit: _DateLineEdit

    def __init__(
        self,
        value: dt.date | None = None,
        parent: QWidget | None = None,
        *,
        optional: bool = False,
        show_errors: bool = True,
    ) -> None:
        super().__init__(parent, show_errors=show_errors)
        self.optional = optional
        self.line_edit = _DateLineEdit(self)
        self.line_edit.setPlaceholderText(
            self.tr("Not set") if optional else self.tr("e.g. 14-Jul-2027")
        )
        hint = self.tr(
            "Type a date such as 14-Jul-2027, 14/07/2027, 2027-07-14, today or +7 "
            "(days from today). Up and Down change the day; Alt+Down opens a calendar."
        )
        self.line_edit.setToolTip(hint)
        self.calendar_button = QToolButton(self)
        self.calendar_button.setArrowType(Qt.ArrowType.DownArrow)
        self.calendar_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Alt+Down from the text
        self.calendar_button.setToolTip(self.tr("Choose from a calendar (Alt+Down)"))
        self.calendar_button.setAccessibleName(self.tr("Choose from a calendar"))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.line_edit, 1)
        row.addWidget(self.calendar_button)
        self._lay_out(row)
        self.line_edit.editingFinished.connect(self._on_line_edit_editing_finished)
        self.line_edit.textEdited.connect(self._on_line_edit_text_edited)
        self.line_edit.step_requested.connect(self._on_line_edit_step_requested)
        self.line_edit.calendar_requested.connect(self.open_calendar)
        self.calendar_button.clicked.connect(self.open_calendar)
        if value is None and not optional:
            value = dt.date.today()
        self.set_date(value)

    # -- reading and writing -------------------------------------------------------

    def set_date(self, value: dt.date | None) -> None:
        """Show ``value`` as ``dd-Mmm-yyyy`` (empty for ``None``); clears any message."""
        self.line_edit.setText(cui_date(value, "") if value is not None else "")
        self._set_error("")

    def date_or_none(self) -> dt.date | None:
        """The date in the field; ``None`` when an optional field is empty.

        Raises:
            DateInputError: the text is not a date (the reason is shown by the field).
        """
        if self.optional and not self.text().strip():
            self._set_error("")
            return None
        try:
            value = parse_typed_date(self.text(), dt.date.today())
        except DateInputError as error:
            self._set_error(str(error))
            raise
        self._set_error("")
        return value

    def date_value(self) -> dt.date:
        """The date in the field.

        Raises:
            DateInputError: empty, or not a date (the reason is shown by the field).
        """
        value = self.date_or_none()
        if value is None:
            error = DateInputError(self.tr("Enter a date, for example 14-Jul-2027."))
            self._set_error(str(error))
            raise error
        return value

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.calendar_button.setAccessibleName(
            self.tr("Choose the {field} from a calendar").format(field=name.lower())
        )

    # -- calendar --------------------------------------------------------------------

    @Slot()
    def open_calendar(self) -> None:
        if not self.isEnabled() or self.line_edit.isReadOnly():
            return
        popup = _CalendarPopup(self)
        popup.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        try:
            current = parse_typed_date(self.text(), dt.date.today())
        except DateInputError:
            current = dt.date.today()
        popup.calendar.setSelectedDate(QDate(current.year, current.month, current.day))
        popup.picked.connect(self._on_popup_picked)
        popup.move(self.line_edit.mapToGlobal(self.line_edit.rect().bottomLeft()))
        popup.show()
        popup.calendar.setFocus()

    # -- slots -----------------------------------------------------------------------

    @Slot()
    def _on_line_edit_editing_finished(self) -> None:
        try:
            value = self.date_or_none()
        except DateInputError:
            pass  # the text stays as typed, with the reason under it
        else:
            if value is not None:
                self.line_edit.setText(cui_date(value))
        self.editingFinished.emit()

    @Slot(str)
    def _on_line_edit_text_edited(self, text: str) -> None:
        if not self._error:
            return
        try:  # the message goes as soon as the text reads as a date
            if not (self.optional and not text.strip()):
                parse_typed_date(text, dt.date.today())
        except DateInputError:
            return
        self._set_error("")

    @Slot(int)
    def _on_line_edit_step_requested(self, days: int) -> None:
        if self.line_edit.isReadOnly():
            return
        try:
            current = parse_typed_date(self.text(), dt.date.today())
        except DateInputError:
            if self.text().strip():
                return  # never step from something that is not a date
            current = dt.date.today() - dt.timedelta(days=days)
        stepped = current + dt.timedelta(days=days)
        if EARLIEST_DATE <= stepped <= LATEST_DATE:
            self.set_date(stepped)

    @Slot(object)
    def _on_popup_picked(self, value: dt.date) -> None:
        self.set_date(value)
        self.line_edit.setFocus(Qt.FocusReason.PopupFocusReason)
        self.editingFinished.emit()


#: The date field's former name, kept for the forms and tests that use it.
CuiDateEdit = DateField


class TimeField(_TypedField):
    """A time of day typed as ``14:30``, ``1430``, ``2:30pm`` or ``2.30 pm``, shown ``14:30``.

    The text is read by :func:`~mdt_desk.services.times.parse_typed_time`. On leaving
    the field it is shown as ``HH:mm``; text that cannot be read stays as typed, with
    the reason underneath (announced to screen readers), and is never replaced by
    another time. It is a plain line of text, so typing over it replaces the whole time
    (a time spin box kept the old hour). Tab moves to the next field.
    """

    def __init__(self, value: dt.time | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line_edit = QLineEdit(self)
        self.line_edit.setPlaceholderText(self.tr("e.g. 14:30"))
        self.line_edit.setToolTip(
            self.tr("Type a time such as 14:30, 1430, 2:30pm or 2.30 pm (24-hour or am/pm).")
        )
        self._lay_out(self.line_edit)
        self.line_edit.editingFinished.connect(self._on_line_edit_editing_finished)
        self.line_edit.textEdited.connect(self._on_line_edit_text_edited)
        self.set_time(value)

    def set_time(self, value: dt.time | None) -> None:
        """Show ``value`` as ``HH:mm`` (empty for ``None``); clears any message."""
        self.line_edit.setText(time_text(value) if value is not None else "")
        self._set_error("")

    def time_value(self) -> dt.time:
        """The time in the field.

        Raises:
            TimeInputError: empty, or not a time (the reason is shown by the field).
        """
        try:
            value = parse_typed_time(self.text())
        except TimeInputError as error:
            self._set_error(str(error))
            raise
        self._set_error("")
        return value

    @Slot()
    def _on_line_edit_editing_finished(self) -> None:
        try:
            value = self.time_value()
        except TimeInputError:
            pass  # the text stays as typed, with the reason under it
        else:
            self.line_edit.setText(time_text(value))
        self.editingFinished.emit()

    @Slot(str)
    def _on_line_edit_text_edited(self, text: str) -> None:
        if not self._error:
            return
        try:  # the message goes as soon as the text reads as a time
            parse_typed_time(text)
        except TimeInputError:
            return
        self._set_error("")


def format_nhs_digits(text: str) -> str:
    """``9434765919`` or ``943-476-5919`` → ``943 476 5919`` (partial input grouped too)."""
    digits = re.sub(r"\D", "", text)[:10]
    groups = [digits[:3], digits[3:6], digits[6:]]
    return " ".join(group for group in groups if group)


class NhsNumberEdit(QLineEdit):
    """A line edit for an NHS number that groups the digits 3-3-4 while typing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("943 476 5919")
        self.setMaxLength(14)
        self.textEdited.connect(self._on_text_edited)

    def digits(self) -> str:
        return re.sub(r"\D", "", self.text())

    @Slot(str)
    def _on_text_edited(self, text: str) -> None:
        if re.fullmatch(r"[\d\s-]*", text) is None:
            return  # leave other characters for the validation message to explain
        formatted = format_nhs_digits(text)
        if formatted != text:
            digits_before_cursor = len(re.sub(r"\D", "", text[: self.cursorPosition()]))
            self.setText(formatted)
            position = 0
            seen = 0
            while position < len(formatted) and seen < digits_before_cursor:
                if formatted[position].isdigit():
                    seen += 1
                position += 1
            self.setCursorPosition(position)


#: a date as the app writes it (14-Jul-2027), or as someone typed it (15-Jan-27)
_WHOLE_DATE = re.compile(r"\b(\d{1,2})-([A-Za-z]{3})-(\d{2,4})\b")


def whole_dates(text: str) -> str:
    """``text`` with each date's hyphens made non-breaking (U+2011), for the screen only.

    Wrapped text may break a line after an ordinary hyphen ("14-" / "Jul-2027"); a date
    must be read whole. Give a screen reader the plain text (see :func:`show_text`).
    """
    return _WHOLE_DATE.sub("\\1\u2011\\2\u2011\\3", text)


def announce(widget: QWidget, message: str) -> None:
    """Say ``message`` to a screen reader, as if spoken from ``widget``."""
    if message:
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(widget, message))


def show_text(label: QLabel, text: str) -> None:
    """Show ``text`` in a wrapping label with its dates whole; a screen reader is given
    the plain text (not the non-breaking hyphens)."""
    label.setText(whole_dates(text))
    label.setAccessibleName(text)


class WholeDatesDelegate(QStyledItemDelegate):
    """A table cell that wraps its text without splitting a date across lines (the
    model's text, plain, is still what a screen reader reads)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # type: ignore[override]
        super().initStyleOption(option, index)
        option.text = whole_dates(option.text)


def popup_follows_font(completer: QCompleter, field: QWidget) -> None:
    """The completer's list in the same font as ``field`` whenever it opens.

    The list is a window of its own, so it does not inherit a large font (meeting
    mode's) from the form it serves; without this it opens at the desktop's small size.
    """
    follower = _PopupFont(completer, field)
    field.installEventFilter(follower)
    popup = completer.popup()  # made now if it was not yet
    if popup is not None:
        popup.installEventFilter(follower)
    follower.follow()


class _PopupFont(QObject):
    """Gives the completer's list its field's font: now, whenever the field's font
    changes, and as the list opens."""

    def __init__(self, completer: QCompleter, field: QWidget) -> None:
        super().__init__(completer)  # lives as long as the completer
        self._completer = completer
        self._field = field

    def follow(self) -> None:
        popup = self._completer.popup()
        if popup is not None and popup.font() != self._field.font():
            popup.setFont(self._field.font())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.Show):
            self.follow()
        return False


#: Widgets whose value the mouse wheel changes: combo boxes, spin boxes, date edits.
_WHEEL_VALUE_WIDGETS = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """An application-wide event filter: the wheel changes a combo box, spin box or date
    edit only once it has the keyboard focus (chosen by Tab, a mnemonic or a click).

    Each such widget takes focus by Tab or click only (``StrongFocus``, not by the wheel);
    a wheel turned over it while it is not focused scrolls the page around it instead.
    Scrolling a long form or the meeting screen never changes an outcome, an attendance
    or a number in passing (hazard H87).
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish:
            if isinstance(watched, _WHEEL_VALUE_WIDGETS):
                _strong_focus(watched)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(watched, _WHEEL_VALUE_WIDGETS):
            return False
        _strong_focus(watched)  # polished before the guard was installed
        if _has_focus_within(watched):
            return False  # chosen on purpose: the wheel steps through its values
        assert isinstance(event, QWheelEvent)
        _scroll_the_page(watched, event)
        return True  # never to the widget: its value stays as it is


def _strong_focus(widget: QWidget) -> None:
    if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def _has_focus_within(widget: QWidget) -> bool:
    focus = QApplication.focusWidget()
    return widget.hasFocus() or (focus is not None and widget.isAncestorOf(focus))


def _scroll_the_page(widget: QWidget, event: QWheelEvent) -> None:
    """Hand the wheel to the nearest scroll area around ``widget`` (if any)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            viewport = parent.viewport()
            position = QPointF(widget.mapTo(viewport, event.position().toPoint()))
            forwarded = QWheelEvent(
                position,
                event.globalPosition(),
                event.pixelDelta(),
                event.angleDelta(),
                event.buttons(),
                event.modifiers(),
                event.phase(),
                event.inverted(),
                event.source(),
            )
            QApplication.sendEvent(viewport, forwarded)
            return
        parent = parent.parentWidget()


def install_wheel_guard() -> None:
    """Install :class:`WheelGuard` on the running application, once.

    Called at start-up and by each top-level window, so every window has it (the tests'
    windows, made without :func:`~mdt_desk.app.run_gui`, too).
    """
    app = QApplication.instance()
    if app is None or app.findChild(WheelGuard, "wheel_guard") is not None:
        return
    guard = WheelGuard(app)
    guard.setObjectName("wheel_guard")
    app.installEventFilter(guard)


class ErrorLabel(QLabel):
    """A message shown under a field; hidden while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        palette = self.palette()
        # Dark red on a light theme, light red on a dark one; the text says what is wrong
        # too ("Error: …"), so colour is never the only signal.
        dark_theme = palette.color(QPalette.ColorRole.Window).lightness() < 128
        palette.setColor(
            QPalette.ColorRole.WindowText,
            QColor("#ff8a80") if dark_theme else QColor(Qt.GlobalColor.darkRed),
        )
        self.setPalette(palette)
        self.setStyleSheet("font-weight: bold;")
        self.hide()

    def show_message(self, message: str) -> None:
        # A wrapped message must not split "14-Jul-2027" after its hyphen: on screen the
        # date's hyphens do not break; a screen reader is given the plain text.
        shown = whole_dates(message)
        self.setText(f"Error: {shown}" if message else "")
        self.setVisible(bool(message))
        self.setAccessibleName(message)


class FieldErrors:
    """Error labels by field name; shows a :class:`ValidationError` next to its fields."""

    def __init__(self) -> None:
        self.labels: dict[str, ErrorLabel] = {}
        self.summary = ErrorLabel()

    def label_for(self, field: str) -> ErrorLabel:
        if field not in self.labels:
            self.labels[field] = ErrorLabel()
        return self.labels[field]

    def clear(self) -> None:
        for label in (*self.labels.values(), self.summary):
            label.show_message("")

    def show(self, error: Exception) -> None:
        """Show each field's message by its field; anything else in the summary."""
        self.clear()
        field_errors = error.field_errors if isinstance(error, ValidationError) else {}
        shown = False
        for field, message in field_errors.items():
            if field in self.labels:
                self.labels[field].show_message(message)
                shown = True
        if not shown or set(field_errors) - set(self.labels):
            self.summary.show_message(str(error))
