"""Settings → Team hub: where this desk syncs, and the password (kept in the keyring).

The address is kept in ``QSettings`` (:class:`~mdt_desk.ui.sync.settings.SyncSettingsKey`)
without its password. The password goes only to the OS keyring
(:func:`mdt_desk.sync.credentials.save_password`); where the computer has none it is
held in the sync worker's memory until MDT Desk closes, and never written anywhere.
"""

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mdt_desk.services.access import Principal
from mdt_desk.sync import credentials
from mdt_desk.sync.hub import redacted
from mdt_desk.ui.sync.controller import ConnectionTest, SyncController
from mdt_desk.ui.sync.desk_scope_panel import DeskScopePanel
from mdt_desk.ui.sync.settings import save_hub_address, saved_hub_address
from mdt_desk.ui.widgets import ErrorLabel

if TYPE_CHECKING:
    from mdt_desk.ui.sync.hub_status_dialog import HubStatusDialog

NO_KEYRING_MESSAGE = (
    "This computer has no keyring to keep the hub password safely, so MDT Desk keeps it "
    "only until it closes and asks for it again next time. It is never written to a file."
)


def _parse(address: str) -> URL | None:
    try:
        return make_url(address.strip())
    except (ArgumentError, ValueError):
        return None


def _render(url: URL, *, username: str | None) -> str:
    """The address with ``username`` and without any password."""
    bare = URL.create(
        url.drivername,
        username=username or None,
        password=None,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return bare.render_as_string(hide_password=False)


def split_password(address: str) -> tuple[str, str | None, str | None]:
    """``(address without its password, user, password)`` of a typed or pasted address.

    An address that is not (yet) a database URL comes back as it is, with no user and
    no password.
    """
    url = _parse(address)
    if url is None:
        return address, None, None
    if url.password is None:
        return address, url.username, None
    return _render(url, username=url.username), url.username, str(url.password)


def address_problem(address: str) -> str:
    """What is wrong with a hub address ("" when it is usable, or empty: local only)."""
    if not address:
        return ""
    url = _parse(address)
    if url is None or url.get_backend_name() not in ("postgresql", "sqlite"):
        return (
            "Give a database address such as postgresql://user@host/team, or "
            "sqlite:///path/to/team-hub.sqlite for a hub on this computer."
        )
    if url.get_backend_name() == "sqlite" and not url.database:
        return "Give the path of the hub file, e.g. sqlite:///path/to/team-hub.sqlite."
    if url.get_backend_name() == "postgresql" and not (url.host and url.database):
        return "Give the server and the database, e.g. postgresql://user@host/team."
    return ""


def _is_sqlite(address: str) -> bool:
    url = _parse(address)
    return url is not None and url.get_backend_name() == "sqlite"


class TeamHubDialog(QDialog):
    """Settings → Team hub.

    Args:
        controller: the sync controller; it tests the connection off the GUI thread and
            is configured with the new address (and password) on Save.

    Signals:
        hub_saved(str): Save was pressed; carries the address as it may be shown ("" when
            the desk is now local only).
    """

    hub_saved = Signal(str)

    def __init__(
        self,
        controller: SyncController,
        parent: QWidget | None = None,
        *,
        principal: Principal | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("team_hub_dialog")
        self.setWindowTitle(self.tr("Team hub"))
        self._controller = controller
        self._test_id = 0
        self.password_in_memory = False

        intro = QLabel(
            self.tr(
                "The team hub is the database every desk of the team syncs with. Leave the "
                "address empty to keep this desk's records on this computer only."
            )
        )
        intro.setWordWrap(True)

        self.address_edit = QLineEdit()
        self.address_edit.setObjectName("hub_address")
        self.address_edit.setAccessibleName(self.tr("Hub address"))
        self.address_edit.setAccessibleDescription(
            self.tr("A database address, without the password")
        )
        self.address_edit.setPlaceholderText("postgresql://host/team")
        self.address_edit.setMinimumWidth(420)
        self.address_error = ErrorLabel()
        self.address_error.setObjectName("hub_address_error")

        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("hub_user")
        self.user_edit.setAccessibleName(self.tr("User"))
        self.user_edit.setAccessibleDescription(self.tr("Your user name at the hub"))

        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("hub_password")
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_note = QLabel()
        self.password_note.setObjectName("password_note")
        self.password_note.setWordWrap(True)
        self.password_note.hide()
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("keyring_note")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setTextFormat(Qt.TextFormat.PlainText)
        self.keyring_note.hide()

        self.test_button = QPushButton(self.tr("&Test connection"))
        self.test_button.setObjectName("test_connection_button")
        self.test_button.setAccessibleName(self.tr("Test connection"))
        self.test_button.setAutoDefault(False)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("test_result")
        self.test_result.setWordWrap(True)
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        # An administrator's view (role_screens gates it to whoever may change hub settings).
        self.hub_status_button = QPushButton(self.tr("&Desks on this hub…"))
        self.hub_status_button.setObjectName("hub_status_button")
        self.hub_status_button.setAccessibleName(self.tr("Desks on this hub…"))
        self.hub_status_button.setAccessibleDescription(
            self.tr("Each desk, when it was last seen and how far behind it is; the log's size")
        )
        self.hub_status_button.setAutoDefault(False)
        self.hub_status_button.clicked.connect(self.show_hub_status)
        status_row = QHBoxLayout()
        status_row.addWidget(self.hub_status_button)
        status_row.addStretch(1)

        # The practices this desk holds (its scope); an administrator may change them.
        self.scope_panel = DeskScopePanel(controller, self._scope_hub, principal, self)
        self.scope_panel.words_changed.connect(self._fit)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self.tr("Hub &address"), self.address_edit)
        form.addRow("", self.address_error)
        form.addRow(self.tr("&User"), self.user_edit)
        form.addRow(self.tr("&Password"), self.password_edit)
        form.addRow("", self.password_note)
        form.addRow("", self.keyring_note)
        for note in (self.address_error, self.password_note, self.keyring_note, self.test_result):
            # A wrapped label in a form is otherwise squeezed to a narrow column.
            note.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("save_button")
        # The platform's "Save" may have no underlined letter: then Alt+S typed an "s".
        self.save_button.setText(self.tr("&Save"))
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = self._main_layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addLayout(status_row)
        layout.addWidget(self.scope_panel, 1)
        layout.addWidget(self.buttons)

        self.address_edit.textEdited.connect(self._on_address_edit_text_edited)
        self.address_edit.editingFinished.connect(self._on_address_edit_editing_finished)
        self.address_edit.textChanged.connect(self._on_address_edit_text_changed)
        self.user_edit.textEdited.connect(self._on_user_edit_text_edited)
        controller.connection_tested.connect(self._on_controller_connection_tested)

        self._keyring_available = credentials.keyring_available()
        if not self._keyring_available:
            self.keyring_note.setText(self.tr(NO_KEYRING_MESSAGE))
            self.keyring_note.show()
        self._load()
        self.resize(640, 0)
        self._fit()

    def _fit(self) -> None:
        """Grow to show every line of the notes (wrapped labels need the real width)."""
        layout = self._main_layout
        layout.activate()
        needed = layout.heightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.minimumSize().height())
        if self.height() < needed:
            self.resize(self.width(), needed)

    # -- the fields --------------------------------------------------------------------

    def _load(self) -> None:
        # No saved address: the hub the desk joined from the command line, if any.
        address = (
            saved_hub_address(
                self._controller.store_path, joined=self._controller.hub_address or None
            )
            or ""
        )
        self.address_edit.setText(address)
        url = _parse(address) if address else None
        self.user_edit.setText((url.username or "") if url is not None else "")
        if address and not _is_sqlite(address):
            if credentials.load_password(address) is not None:
                self.password_edit.setPlaceholderText(
                    self.tr("Saved in the keyring; type a new one to change it")
                )
            elif self._controller.has_password and self._controller.hub_address == redacted(
                address
            ):
                self.password_edit.setPlaceholderText(
                    self.tr("Kept until MDT Desk closes; type a new one to change it")
                )
        self._enable_fields()

    def _enable_fields(self) -> None:
        local_file = _is_sqlite(self.address_edit.text())
        for widget in (self.user_edit, self.password_edit):
            widget.setEnabled(not local_file)
        if local_file:
            self.password_edit.clear()
        self._on_address_edit_text_changed()

    @Slot()
    def _on_address_edit_text_changed(self) -> None:
        address = self.address()
        self.hub_status_button.setEnabled(bool(address) and not address_problem(address))

    def address(self) -> str:
        """The hub address as it will be saved (never with a password)."""
        return split_password(self.address_edit.text().strip())[0]

    @Slot(str)
    def _on_address_edit_text_edited(self, text: str) -> None:
        self.address_error.show_message("")
        address, user, password = split_password(text)
        if password is not None:
            # A pasted address with its password: the password goes where it is safe.
            self.password_edit.setText(password)
            self.address_edit.setText(address)
            self.password_note.setText(
                self.tr(
                    "The password was taken out of the address and put in the Password "
                    "box; it is never saved with the address."
                )
            )
            self.password_note.show()
            self._fit()
        if _parse(address) is not None:
            self.user_edit.setText(user or "")
        self._enable_fields()

    @Slot()
    def _on_address_edit_editing_finished(self) -> None:
        self._on_address_edit_text_edited(self.address_edit.text())

    @Slot(str)
    def _on_user_edit_text_edited(self, user: str) -> None:
        url = _parse(self.address_edit.text())
        if url is not None and url.get_backend_name() != "sqlite":
            self.address_edit.setText(_render(url, username=user.strip()))

    def _checked_address(self) -> str | None:
        """The address, or None after showing what is wrong with it."""
        address = self.address()
        problem = address_problem(address)
        if problem:
            self.address_error.show_message(self.tr(problem))
            self._fit()
            self.address_edit.setFocus()
            return None
        self.address_error.show_message("")
        return address

    # -- testing -----------------------------------------------------------------------

    @Slot()
    def test_connection(self) -> int:
        """Ask the hub who it is, off the GUI thread; the answer shows beside the button."""
        address = self._checked_address()
        if not address:
            if address == "":
                self.test_result.setText(self.tr("Give the hub address first."))
            return 0
        self.test_button.setEnabled(False)
        self.test_result.setText(self.tr("Testing the connection…"))
        self._test_id = self._controller.test_connection(address, self.password_edit.text() or None)
        return self._test_id

    @Slot(object)
    def _on_controller_connection_tested(self, result: ConnectionTest) -> None:
        if result.request_id != self._test_id:
            return
        self.test_button.setEnabled(True)
        if result.ok:
            self.test_result.setText(result.message)
        else:
            self.test_result.setText(
                self.tr("Not connected: {message}").format(message=result.message)
            )
        self._fit()

    # -- the hub's desks ---------------------------------------------------------------

    @Slot()
    def show_hub_status(self) -> "HubStatusDialog | None":
        """Open the desks on the hub in the address box (an administrator's view)."""
        if not self.hub_status_button.isEnabled():
            return None  # no address yet, or a role that may not (role_screens)
        address = self._checked_address()
        if not address:
            return None
        from mdt_desk.ui.sync.hub_status_dialog import HubStatusDialog

        password = None if _is_sqlite(address) else self.password_edit.text() or None
        dialog = HubStatusDialog(self._controller, address, password, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- the practices this desk holds --------------------------------------------------

    def _scope_hub(self) -> tuple[str, str | None] | None:
        """The hub a change of practices is checked at: the one in the address box."""
        address = self._checked_address()
        if not address:
            return None
        return address, None if _is_sqlite(address) else self.password_edit.text() or None

    # -- saving ------------------------------------------------------------------------

    @Slot()
    def save(self) -> None:
        """Keep the address in the settings and the password in the keyring; sync."""
        address = self._checked_address()
        if address is None:
            return
        password = self.password_edit.text() or None
        if _is_sqlite(address):
            password = None
        save_hub_address(self._controller.store_path, address or None)
        refused = ""
        if address and password is not None:
            try:
                credentials.save_password(address, password)
            except credentials.NoKeyringError as error:
                refused = str(error)
        self.password_in_memory = bool(refused)
        # The worker holds the password for this run (it reads the keyring's otherwise).
        self._controller.configure(address or None, password)
        self.hub_saved.emit(redacted(address) if address else "")
        if refused and self._keyring_available:
            # The keyring refused unexpectedly: say so before the dialog goes.
            self.keyring_note.setText(
                self.tr("{reason} The password is kept until MDT Desk closes.").format(
                    reason=refused
                )
            )
            self.keyring_note.show()
            self._fit()
            self.save_button.setEnabled(False)
            self.cancel_button.setText(self.tr("Close"))
            return
        self.accept()
