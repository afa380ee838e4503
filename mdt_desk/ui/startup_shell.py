"""The first frame: the sign-in screen, drawn before the rest of the desk is loaded.

A new process spends about a second importing SQLAlchemy, the models and the screens,
opening the encrypted store and building the main window. None of that is needed to
draw the sign-in screen and take a PIN, so :mod:`mdt_desk.startup` shows this window
first (it imports Qt and nothing else of the desk) and loads the rest off the GUI
thread while the PIN is typed. When the main window is ready it takes over what was
typed here (:meth:`StartupShell.typed`): the name filter, the PIN, whether Enter was
pressed, and anything typed after Enter, which is kept for Find patient.

This window holds no patient data and checks nothing: the PIN is checked by the main
window's sign-in page, the one place that signs people in.
"""

from pathlib import Path
from typing import NamedTuple

# Not the Qt namespace: its enums take ~17 ms to set up, a tenth of a bare window.
from PySide6.QtCore import QByteArray, QCryptographicHash, QSettings, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QCloseEvent,
    QFont,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: The start-up screen's object name (the main window's lock screen leaves it alone).
STARTUP_SHELL_NAME = "startup_shell"
#: QSettings group remembering, per store, whether it opened on the sign-in screen.
SIGNS_IN_KEY = "startup/signs_in"
#: the main window's geometry key (main_window.SettingsKey.GEOMETRY is this string, so
#: the shell opens where the window was without importing the window)
GEOMETRY_KEY = "main_window/geometry"


def _store_key(store_path: Path) -> str:
    """A settings key for one store that does not write its path into the settings file."""
    # Qt's own hash: hashlib would be one more import before the first frame.
    path = str(store_path.expanduser().resolve()).encode()
    digest = QCryptographicHash.hash(path, QCryptographicHash.Algorithm.Sha256).toHex()
    return f"{SIGNS_IN_KEY}/{bytes(digest.data()).decode()[:32]}"


def remember_sign_in(store_path: Path, signs_in: bool) -> None:
    """Note whether this store opens on the sign-in screen, for the next start."""
    QSettings().setValue(_store_key(store_path), signs_in)


def opens_on_sign_in(store_path: Path) -> bool:
    """Whether the last start of this store opened on the sign-in screen.

    A store never opened here (or one in set-up) gets the ordinary start: the window
    is built first, as the shell would otherwise show a sign-in screen nobody can use.
    """
    if not store_path.exists():
        return False
    value = QSettings().value(_store_key(store_path), False)
    return value is True or value == "true"


class TypedAtStart(NamedTuple):
    """What a person typed into the start-up screen, handed to the main window."""

    name_filter: str
    pin: str
    submitted: bool
    find_text: str
    focus_in_pin: bool  # else in the name filter


def make_heading(label: QLabel) -> None:
    """The sign-in screen's heading: large and bold (here and on the main window's page,
    so the one replaces the other without a jump)."""
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)
    font.setBold(True)
    label.setFont(font)


def centre_column(page: QWidget, column: QVBoxLayout) -> None:
    """Lay ``column`` out on ``page`` as a readable column in the middle of a wide
    window, not a form stretched across it (both sign-in screens)."""
    row = QHBoxLayout(page)
    row.addStretch(1)
    row.addLayout(column, 2)
    row.addStretch(1)


class StartupShell(QMainWindow):
    """The sign-in screen as the main window will show it, without the desk behind it.

    Signals:
        first_painted(): the first frame is on screen (the loader starts then, so it
            never competes with that frame).
        close_requested(): the person closed the window before the desk was ready.
    """

    first_painted = Signal()
    close_requested = Signal()

    def __init__(self, store_path: Path, geometry: QByteArray | None = None) -> None:
        super().__init__()
        self.setObjectName(STARTUP_SHELL_NAME)
        self.setWindowTitle(self.tr("MDT Desk"))
        self.setAccessibleName(self.tr("Sign in"))
        self._painted = False
        self._handed_over = False
        self._submitted = False

        self.heading = QLabel(self.tr("Sign in to MDT Desk"), self)
        make_heading(self.heading)
        self.explanation = QLabel(
            self.tr(
                "Opening the store… Type your PIN to sign in as the person who last signed in "
                "here, or your name above first."
            ),
            self,
        )
        self.explanation.setObjectName("startup_explanation")
        self.explanation.setWordWrap(True)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("startup_filter")
        self.filter_edit.setAccessibleName(self.tr("Find yourself"))
        self.filter_edit.setPlaceholderText(self.tr("Type part of your name"))
        find_caption = QLabel(self.tr("&Who are you?"), self)
        find_caption.setBuddy(self.filter_edit)
        # The team is listed once the store is open (the main window's sign-in page).
        self.staff_list = QListView(self)
        self.staff_list.setAccessibleName(self.tr("Staff"))
        self.staff_list.setMaximumHeight(self.fontMetrics().height() * 16)

        self.pin_edit = QLineEdit(self)
        self.pin_edit.setObjectName("startup_pin_edit")
        self.pin_edit.setAccessibleName(self.tr("PIN"))
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(200)
        pin_caption = QLabel(self.tr("&PIN"), self)
        pin_caption.setBuddy(self.pin_edit)
        self.sign_in_button = QPushButton(self.tr("&Sign in"), self)
        self.sign_in_button.setAccessibleName(self.tr("Sign in"))
        self.sign_in_button.setDefault(True)
        pin_row = QHBoxLayout()
        pin_row.addWidget(pin_caption)
        pin_row.addWidget(self.pin_edit, 1)
        pin_row.addWidget(self.sign_in_button)

        # Shown once Enter is pressed: what is typed next is for Find patient, as it is
        # straight after signing in on the main window.
        self.find_edit = QLineEdit()
        self.find_edit.setObjectName("startup_find")
        self.find_edit.setAccessibleName(self.tr("Find patient"))
        self.find_edit.setPlaceholderText(
            self.tr("Find patient: name, NHS number or date of birth")
        )
        self.find_row = QWidget(self)
        find_layout = QHBoxLayout(self.find_row)
        find_layout.setContentsMargins(0, 0, 0, 0)
        find_label = QLabel(self.tr("&Find patient"), self.find_row)
        find_label.setBuddy(self.find_edit)
        find_layout.addWidget(find_label)
        find_layout.addWidget(self.find_edit, 1)
        self.find_row.hide()
        self.find_edit.setAccessibleDescription(self.tr("Searched as soon as you are signed in."))

        column = QVBoxLayout()
        column.addStretch(1)
        column.addWidget(self.heading)
        column.addWidget(self.explanation)
        column.addSpacing(12)
        column.addWidget(find_caption)
        column.addWidget(self.filter_edit)
        column.addWidget(self.staff_list, 1)
        column.addLayout(pin_row)
        column.addWidget(self.find_row)
        column.addStretch(2)
        body = QWidget(self)
        centre_column(body, column)
        self.setCentralWidget(body)
        # As the main window's status bar reads on its sign-in screen.
        self.statusBar().showMessage(self.tr("Store: {path}").format(path=store_path))
        self.statusBar().addPermanentWidget(QLabel(self.tr("Not signed in"), self))

        self.filter_edit.returnPressed.connect(self.pin_edit.setFocus)
        self.pin_edit.returnPressed.connect(self._submit)
        self.sign_in_button.clicked.connect(self._submit)
        self.resize(1280, 800)
        if geometry is not None and not geometry.isEmpty():
            self.restoreGeometry(geometry)  # where the main window was last
        self.pin_edit.setFocus()

    def typed(self) -> TypedAtStart:
        """Everything typed here so far, for the main window to carry on from."""
        return TypedAtStart(
            name_filter=self.filter_edit.text(),
            pin=self.pin_edit.text(),
            submitted=self._submitted,
            find_text=self.find_edit.text(),
            focus_in_pin=not self.filter_edit.hasFocus(),
        )

    def hand_over(self) -> None:
        """Close for good: the main window has taken over (it is shown first, so the
        app does not quit on its last window closing)."""
        self._handed_over = True
        self.close()
        # Gone, not hidden: the main window re-shows what its sign-in screen hid.
        self.deleteLater()

    def _submit(self) -> None:
        if not self.pin_edit.text():
            self._say(self.tr("Type your PIN, then press Enter."), self.pin_edit)
            return
        self._submitted = True
        self._say(self.tr("Signing in… type a name to find a patient meanwhile."), self.find_edit)
        self.pin_edit.setEnabled(False)
        self.sign_in_button.setEnabled(False)
        self.filter_edit.setEnabled(False)
        self.find_row.show()
        self.find_edit.setFocus()

    def _say(self, message: str, field: QWidget) -> None:
        """On screen under the heading, and said aloud by a screen reader."""
        self.explanation.setText(message)
        QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(field, message))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.pin_edit.clear()  # closed: a PIN is never kept longer than needed
        if not self._handed_over:
            self.close_requested.emit()
        super().closeEvent(event)
