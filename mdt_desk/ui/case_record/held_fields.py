"""Showing a reloaded record without overwriting what the person is typing.

An open record reloads when something about it is saved, here or elsewhere (a sync,
meeting mode, another tab). A reload must never take away typed text (hazard H77) and
must not leave the rest of the record stale (H78), so each field the record fills from
the store is held while the person is changing it:

* a field they have typed in and not saved keeps their text; the newest stored value is
  remembered (it is what Ctrl+Z returns to once they save) and the record says, in
  words, that it changed underneath (:class:`ChangedUnderneathNotice`);
* a field with the keyboard focus, when the change came from elsewhere, is not changed
  under the cursor either: the stored value appears when they leave the field without
  having changed it;
* every other field shows the new stored value at once.

Free text kept as drafts (notes, new goals, new actions, dialogs) is never filled from
the store, so a reload cannot reach it; the action plan's cell editors are held by the
plan itself (:class:`~mdt_desk.ui.case_record.action_plan.ActionPlanWidget`).
"""

import datetime as dt

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from mdt_desk.services.display import cui_date
from mdt_desk.ui.widgets import DateField


class HeldDateField:
    """One date field of the record, filled from the store without overwriting the user."""

    def __init__(self, field: DateField) -> None:
        self.field = field
        self._shown = field.text()  # the stored value last put in the field, as text
        self._stored: dt.date | None = None
        self._behind = False  # a newer stored value waits until the person leaves

    @property
    def stored(self) -> dt.date | None:
        """The newest stored value (which the field may not show yet)."""
        return self._stored

    def is_edited(self) -> bool:
        """The person changed the text since the store last filled the field."""
        return self.field.text() != self._shown

    def show_stored(self, value: dt.date | None, *, from_elsewhere: bool) -> bool:
        """Show the stored ``value``, unless the person is changing the field.

        Args:
            from_elsewhere: the reload follows a change made outside this record, so a
                field with the focus is held even before the person types in it.

        Returns:
            True when the person's unsaved text was kept although the stored value
            changed under it (the record then says so).
        """
        changed = value != self._stored
        self._stored = value
        text = cui_date(value, "")
        if self.field.text() == text:
            self._shown, self._behind = text, False
            return False
        if self.is_edited():
            self._behind = True
            return changed
        if from_elsewhere and self._has_focus():
            self._behind = True
            return False
        self._put(value)
        return False

    def leave(self) -> bool:
        """The person left the field or pressed Enter.

        Returns:
            True when they had not changed it and a newer stored value was waiting: the
            field now shows that value, and there is nothing to save.
        """
        if not self._behind or self.is_edited():
            return False
        self._put(self._stored)
        return True

    def saving(self, value: dt.date | None) -> None:
        """The field's text is being saved as ``value``: it is the record's value now."""
        self._stored, self._shown, self._behind = value, self.field.text(), False

    def _put(self, value: dt.date | None) -> None:
        self.field.set_date(value)

        self._shown, self._behind = self.field.text(), False

    def _has_focus(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is self.field or self.field.isAncestorOf(focus))


class ChangedUnderneathNotice(QFrame):
    """Says, in the record, that it changed while the person was editing it.

    Non-modal and announced to screen readers; it stays until dismissed or until the
    person next saves something in the record.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("record_changed_notice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(self.tr("Record changed while you were editing"))
        self.message = QLabel(self)
        self.message.setObjectName("record_changed_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton(self.tr("Dismiss"), self)
        self.dismiss_button.setObjectName("dismiss_record_changed_button")
        self.dismiss_button.setAccessibleName(self.tr("Dismiss the notice"))
        # A click must not take the focus from the field being edited (which would end
        # the edit and save it); Tab still reaches the button.
        self.dismiss_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.dismiss_button.clicked.connect(self._on_dismiss_button_clicked)
        row = QHBoxLayout(self)
        row.addWidget(self.message, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @Slot()
    def show_notice(self) -> None:
        text = self.tr(
            "Changed elsewhere (by a sync or another screen) while you were editing: your "
            "unsaved text is kept, and the other fields show the new values. Check what "
            "you typed before you save it."
        )
        self.message.setText(text)
        self.message.setAccessibleName(text)
        self.setAccessibleDescription(text)
        already_shown = not self.isHidden()
        self.show()
        if not already_shown:
            QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(self.message, text))

    @Slot()
    def clear_notice(self) -> None:
        self.message.setText("")
        self.hide()

    @Slot()
    def _on_dismiss_button_clicked(self) -> None:
        self.clear_notice()
