"""Small input widgets that follow the CUI conventions, shared by every form.

- :class:`CuiDateEdit` shows dates as ``14-Jul-1945`` whatever the system locale, with a
  calendar pop-up.
- :class:`NhsNumberEdit` accepts digits, spaces and hyphens and reformats to
  ``943 476 5919`` as the user types.
- :class:`FieldErrors` puts a service's per-field messages next to the fields.
"""

import datetime as dt
import re

from PySide6.QtCore import QDate, QLocale, Qt, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QDateEdit, QLabel, QLineEdit, QWidget

from mdt_desk.errors import ValidationError

# Month names must be English (CUI: 14-Jul-1945) even on a machine set to another language.
_CUI_LOCALE = QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)


class CuiDateEdit(QDateEdit):
    """A date field shown as ``dd-Mmm-yyyy``, with a calendar pop-up."""

    def __init__(self, value: dt.date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLocale(_CUI_LOCALE)
        self.setDisplayFormat("dd-MMM-yyyy")
        self.setCalendarPopup(True)
        self.calendarWidget().setLocale(_CUI_LOCALE)
        self.setMinimumDate(QDate(1900, 1, 1))
        self.set_date(value or dt.date.today())

    def date_value(self) -> dt.date:
        qdate = self.date()
        return dt.date(qdate.year(), qdate.month(), qdate.day())

    def set_date(self, value: dt.date) -> None:
        self.setDate(QDate(value.year, value.month, value.day))


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
        self.setText(f"Error: {message}" if message else "")
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
