"""The sign-in screen, which is also the lock screen: who you are, and your PIN.

The main window shows this page in place of the caseload (a page of its central stack,
not a dialog before the window), when it opens on a store past set-up and whenever the
desk locks (Ctrl+L, or after the idle time). It lists the team with the last person to
sign in (or, when locked, the person who locked) chosen; typing above the list narrows it.

The PIN is checked by :func:`mdt_desk.services.sign_in.sign_in_with_pin` on the task
runner (argon2id takes about 0.13 s, never on the GUI thread), and the runner swaps the
new desk in (:meth:`~mdt_desk.ui.runner.TaskRunner.change_desk`), so a sign-in is applied
whole or not at all. A one-time PIN set by an administrator is changed here, typed twice,
before the desk opens. The page holds no patient data, so it may be shown while locked.
"""

import uuid

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QShowEvent,
    QStandardItem,
)
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services import staff as staff_service
from mdt_desk.services.access import Principal
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import label
from mdt_desk.services.sign_in import DEMO_PIN, SignedIn, set_pin, sign_in_with_pin, sign_out
from mdt_desk.services.staff import StaffSummary
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.sign_in_dialog import StaffFilterEdit, staff_list_view
from mdt_desk.ui.startup_shell import centre_column, make_heading
from mdt_desk.ui.widgets import ErrorLabel

STAFF_ID_ROLE = Qt.ItemDataRole.UserRole + 1


def demo_note() -> str:
    """What the title and the sign-in screen say on a demo store (never a real team's)."""
    return f"(demo store — every PIN is {DEMO_PIN})"


def _password_edit(name: str, accessible: str, parent: QWidget) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(200)
    return edit


class SignInPage(QWidget):
    """Choose yourself, type your PIN, sign in; or change a one-time PIN.

    Signals:
        signed_in(object): the desk now acts as this :class:`Principal` (the runner has
            swapped it in), and any one-time PIN has been changed: the window may open.
        needs_attention(str): a sign-in carried over from the start-up screen stopped for
            the person: a wrong PIN, a name to choose, a one-time PIN to change (the
            message says which). The start-up screen then gives way to this page.
    """

    signed_in = Signal(object)
    needs_attention = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setObjectName("sign_in_page")
        self.setAccessibleName(self.tr("Sign in"))
        self._preferred: uuid.UUID | None = None
        #: who was signed in when the desk locked (their sign-out is journalled if
        #: someone else signs in); None on the first sign-in.
        self._locked_by: Principal | None = None
        #: a verified sign-in still waiting for its one-time PIN to be changed
        self._changing_pin_for: Principal | None = None
        self._busy = False
        #: sign in as soon as the team is listed (Enter was pressed on the start-up screen)
        self._sign_in_when_listed = False
        self._listed = False  # the team has been listed at least once
        self._staff_load_due = False  # a listing is asked for and not yet queued
        self._list_when_shown = False  # put off while a PIN is checked or the page is hidden

        self.heading = QLabel(self)
        self.heading.setObjectName("sign_in_heading")
        make_heading(self.heading)
        self.explanation = QLabel(self)
        self.explanation.setObjectName("sign_in_explanation")
        self.explanation.setWordWrap(True)
        self.demo_label = QLabel(demo_note(), self)
        self.demo_label.setObjectName("sign_in_demo_label")
        self.demo_label.hide()

        self.staff_model, self.proxy, self.staff_list = staff_list_view(self)
        self.filter_edit = StaffFilterEdit(self.staff_list, self)
        self.filter_edit.setObjectName("sign_in_filter")
        self.filter_edit.setAccessibleName(self.tr("Find yourself"))
        self.filter_edit.setPlaceholderText(self.tr("Type part of your name"))
        find_caption = QLabel(self.tr("&Who are you?"), self)
        find_caption.setBuddy(self.filter_edit)

        self.pin_edit = _password_edit("pin_edit", self.tr("PIN"), self)
        pin_caption = QLabel(self.tr("&PIN"), self)
        pin_caption.setBuddy(self.pin_edit)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("sign_in_error_label")
        self.sign_in_button = QPushButton(self.tr("&Sign in"), self)
        self.sign_in_button.setObjectName("sign_in_button")
        self.sign_in_button.setAccessibleName(self.tr("Sign in"))
        self.sign_in_button.setDefault(True)

        self.new_pin_edit = _password_edit("new_pin_edit", self.tr("New PIN"), self)
        self.repeat_pin_edit = _password_edit("repeat_pin_edit", self.tr("New PIN again"), self)
        self.change_pin_button = QPushButton(self.tr("Set my PIN and &carry on"), self)
        self.change_pin_button.setObjectName("change_pin_button")
        self.change_pin_button.setAccessibleName(self.tr("Set my PIN and carry on"))
        self.change_box = QFrame(self)
        self.change_box.setObjectName("change_pin_box")
        change_form = QFormLayout(self.change_box)
        change_form.setContentsMargins(0, 0, 0, 0)
        for caption, edit in (
            (self.tr("&New PIN (at least 6 characters)"), self.new_pin_edit),
            (self.tr("New PIN &again"), self.repeat_pin_edit),
        ):
            caption_label = QLabel(caption, self.change_box)
            caption_label.setBuddy(edit)
            change_form.addRow(caption_label, edit)
        change_form.addRow(self.change_pin_button)
        self.change_box.hide()

        self.pin_row = QWidget(self)
        pin_layout = QHBoxLayout(self.pin_row)
        pin_layout.setContentsMargins(0, 0, 0, 0)
        pin_layout.addWidget(pin_caption)
        pin_layout.addWidget(self.pin_edit, 1)
        pin_layout.addWidget(self.sign_in_button)

        # About a dozen names at a time: the PIN field stays near the name chosen.
        self.staff_list.setMaximumHeight(self.fontMetrics().height() * 16)
        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(self.heading)
        column.addWidget(self.explanation)
        column.addWidget(self.demo_label)
        column.addSpacing(12)
        column.addWidget(find_caption)
        column.addWidget(self.filter_edit)
        column.addWidget(self.staff_list, 1)
        column.addWidget(self.pin_row)
        column.addWidget(self.change_box)
        column.addWidget(self.error_label)
        column.addStretch(2)
        centre_column(self, column)

        self.filter_edit.textChanged.connect(self._on_filter_edit_changed)
        self.staff_list.activated.connect(lambda _index: self.pin_edit.setFocus())
        self.filter_edit.returnPressed.connect(self.pin_edit.setFocus)
        self.pin_edit.returnPressed.connect(self.sign_in)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.new_pin_edit.returnPressed.connect(self.repeat_pin_edit.setFocus)
        self.repeat_pin_edit.returnPressed.connect(self.change_pin)
        self.change_pin_button.clicked.connect(self.change_pin)
        self.show_sign_in(None)

    # -- what the window asks ------------------------------------------------------------

    def show_sign_in(self, preferred: uuid.UUID | None) -> None:
        """The first sign-in on this desk: ``preferred`` (the last person) chosen."""
        self._locked_by = None
        self.heading.setText(self.tr("Sign in to MDT Desk"))
        self.explanation.setText(self.tr("Choose your name, then type your PIN."))
        self._reset(preferred)

    def show_locked(self, locked_by: Principal | None) -> None:
        """The lock screen: the person who locked chosen; anyone else may sign in instead."""
        self._locked_by = locked_by
        self.heading.setText(self.tr("MDT Desk is locked"))
        name = locked_by.display_name if locked_by is not None else ""
        self.explanation.setText(
            self.tr(
                "Locked for {name}. Type your PIN to carry on, or choose someone else to "
                "sign in as them: everything typed is kept for the person who typed it."
            ).format(name=name)
            if name
            else self.tr("Type your PIN to carry on. Everything typed is kept.")
        )
        self._reset(locked_by.staff_id if locked_by is not None else None)

    def set_demo(self, demo: bool) -> None:
        self.demo_label.setVisible(demo)

    def reload_staff(self) -> None:
        """List the team again, once however often it is asked for in one event."""
        if not self._staff_load_due:
            self._staff_load_due = True
            QTimer.singleShot(0, self, self._list_staff)

    def _list_staff(self, *, even_hidden: bool = False) -> None:
        self._staff_load_due = False
        if self._busy or not (self.isVisible() or even_hidden):
            # Not in front of the PIN check (and the first page after it); listed once
            # the page is shown again, or straight after a PIN that was refused.
            self._list_when_shown = True
            return
        self.runner.read(
            staff_service.list_staff,
            self._on_staff_loaded,
            self.show_error,
            owner=self,
            description="list staff to sign in",
        )

    def chosen_id(self) -> uuid.UUID | None:
        value = self.staff_list.currentIndex().data(STAFF_ID_ROLE)
        return value if isinstance(value, uuid.UUID) else None

    def shown_names(self) -> list[str]:
        return [str(self.proxy.index(row, 0).data()) for row in range(self.proxy.rowCount())]

    def choose(self, staff_id: uuid.UUID) -> bool:
        """Choose ``staff_id`` in the list (clearing the filter); False if not listed."""
        self.filter_edit.clear()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(STAFF_ID_ROLE) == staff_id:
                self.staff_list.setCurrentIndex(index)
                self.staff_list.scrollTo(index, QListView.ScrollHint.PositionAtCenter)
                return True
        return False

    def carry_on(self, name_filter: str, pin: str, *, submit: bool, focus_pin: bool) -> None:
        """Take over what was typed on the start-up screen before this page existed.

        The name filter narrows the list as if typed here, and the field that had the
        focus has it here, the cursor at the end. With ``submit`` (Enter was pressed)
        the PIN is checked for the person who last signed in (what the start-up screen
        says it does) or, with a name typed, once the team is listed and only if the name
        fits one person; otherwise the person is asked to choose (``needs_attention``).
        """
        if name_filter:
            self.filter_edit.setText(name_filter)
        self.pin_edit.setText(pin)
        field = self.pin_edit if focus_pin else self.filter_edit
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        field.end(False)
        if not (submit and pin):
            return
        if not name_filter and self._preferred is not None:
            self.sign_in()  # the person already chosen: no need to wait for the list
            return
        self._sign_in_when_listed = True
        self._list_staff(even_hidden=True)  # the name decides whose PIN this is

    def focus_first_field(self) -> None:
        target = self.new_pin_edit if self.change_box.isVisible() else self.pin_edit
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- signing in ----------------------------------------------------------------------

    @Slot()
    def sign_in(self) -> None:
        """Check the PIN of the chosen person off the GUI thread; the desk follows."""
        if self._busy:
            return
        staff_id = self.chosen_id()
        if staff_id is None and not self._listed and not self.filter_edit.text().strip():
            staff_id = self._preferred  # the person the list will choose once it is in
        if staff_id is None:
            self._stop_for_person(self.tr("Choose who you are from the list."))
            return
        pin = self.pin_edit.text()
        if not pin:
            self._stop_for_person(self.tr("Type your PIN."))
            return
        self.pin_edit.clear()  # the PIN is never kept on screen longer than needed
        previous = self._locked_by
        outcome: list[SignedIn] = []

        def job(desk: Desk) -> Desk:
            signed = sign_in_with_pin(desk.store, staff_id, pin)
            if previous is not None and previous.staff_id != staff_id:
                sign_out(desk.store, previous, reason="another person signed in at the lock")
            outcome.append(signed)
            return desk.signed_in_as(signed.principal)

        self._set_busy(True)
        self.runner.change_desk(
            job,
            lambda _desk: self._on_pin_checked(outcome[0]),
            self._on_sign_in_failed,
            owner=self,
            description="sign in with PIN",
        )

    @Slot()
    def change_pin(self) -> None:
        """Set the new PIN (typed twice) of the person whose one-time PIN was accepted."""
        principal = self._changing_pin_for
        if principal is None or principal.staff_id is None or self._busy:
            return
        new_pin, repeated = self.new_pin_edit.text(), self.repeat_pin_edit.text()
        if new_pin != repeated:
            self.repeat_pin_edit.clear()
            self.show_error(UserError(self.tr("The two PINs are not the same: type it again.")))
            self.repeat_pin_edit.setFocus()
            return
        staff_id = principal.staff_id

        def call(session: Session) -> str:
            return set_pin(session, staff_id, new_pin)

        self._set_busy(True)
        self.runner.write(
            call,
            lambda _said: self._finish(principal),
            self._on_change_failed,
            owner=self,
            description="change one-time PIN",
        )

    # -- results -------------------------------------------------------------------------

    def _on_staff_loaded(self, staff: list[StaffSummary]) -> None:
        self._listed = True
        self.staff_model.clear()
        for member in staff:
            item = QStandardItem(f"{member.display_name} — {label(member.profession)}")
            item.setData(member.id, STAFF_ID_ROLE)
            item.setEditable(False)
            self.staff_model.appendRow(item)
        filtered = self.filter_edit.text().strip()
        chosen = not filtered and self._preferred is not None and self.choose(self._preferred)
        if not chosen and self.proxy.rowCount():
            self.staff_list.setCurrentIndex(self.proxy.index(0, 0))
        if self._sign_in_when_listed:
            self._sign_in_when_listed = False
            if self.proxy.rowCount() == 1:
                self.sign_in()
            else:  # the name typed fits nobody, or several people: they choose
                self._stop_for_person(self.tr("Choose who you are from the list."))

    def _on_pin_checked(self, signed: SignedIn) -> None:
        self._set_busy(False)
        if signed.must_change_pin:
            self._changing_pin_for = signed.principal
            self.pin_row.hide()
            self.change_box.show()
            self.heading.setText(self.tr("Choose your own PIN"))
            self.explanation.setText(
                self.tr(
                    "{name}, your PIN was set for you and works once. Choose your own PIN "
                    "(at least 6 characters) and type it twice."
                ).format(name=signed.principal.display_name)
            )
            self.new_pin_edit.setFocus()
            self._list_if_put_off()
            self.needs_attention.emit(self.explanation.text())
            return
        self._finish(signed.principal)

    def _finish(self, principal: Principal) -> None:
        self._set_busy(False)
        self._changing_pin_for = None
        self.error_label.show_message("")
        self.signed_in.emit(principal)

    def _on_sign_in_failed(self, error: UserError) -> None:
        self._set_busy(False)
        self._list_if_put_off()
        self._stop_for_person(str(error))
        self.pin_edit.setFocus()

    def _stop_for_person(self, message: str) -> None:
        """Say why signing in stopped, and let a hidden window come forward."""
        self.show_error(UserError(message))
        self.needs_attention.emit(message)

    def _on_change_failed(self, error: UserError) -> None:
        self._set_busy(False)
        self._list_if_put_off()
        self.show_error(error)
        self.new_pin_edit.setFocus()

    def show_error(self, error: UserError) -> None:
        """Under the field, and said aloud by a screen reader."""
        message = str(error)
        self.error_label.show_message(message)
        field = self.new_pin_edit if self.change_box.isVisible() else self.pin_edit
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(field, message))

    # -- helpers -------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._list_if_put_off()

    def _list_if_put_off(self) -> None:
        if self._list_when_shown:
            self._list_when_shown = False
            self.reload_staff()

    def _reset(self, preferred: uuid.UUID | None) -> None:
        self._preferred = preferred
        self._changing_pin_for = None
        for edit in (self.pin_edit, self.new_pin_edit, self.repeat_pin_edit):
            edit.clear()
        self.change_box.hide()
        self.pin_row.show()
        self.error_label.show_message("")
        if preferred is not None:
            self.choose(preferred)
        self.reload_staff()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.sign_in_button, self.change_pin_button):
            widget.setEnabled(not busy)

    @Slot(str)
    def _on_filter_edit_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.staff_list.setCurrentIndex(self.proxy.index(0, 0))
