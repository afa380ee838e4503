"""File → Sign in as…: choose the staff member whose changes the desk records from now on.

Active staff are listed as ``name — profession``; typing any part of a name (or a
profession) above the list narrows it. Names that start "Dr" make a combo box's
type-ahead useless, hence a filter box over a list. The sign-in itself goes through the
task runner to :meth:`~mdt_desk.services.desk.Desk.sign_in`; the runner swaps the new
desk in (:meth:`~mdt_desk.ui.runner.TaskRunner.change_desk`), not this dialog, so closing
the dialog while the sign-in runs never leaves it half applied.
"""

import uuid

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.services import staff as staff_service
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import label
from mdt_desk.services.staff import StaffSummary
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel

_STAFF_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class StaffFilterEdit(QLineEdit):
    """The filter box; Up and Down move the choice in the list below while typing."""

    def __init__(self, view: QListView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view = view

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self._view.keyPressEvent(event)
            return
        super().keyPressEvent(event)


def staff_list_view(
    parent: QWidget,
) -> tuple[QStandardItemModel, QSortFilterProxyModel, QListView]:
    """The team's list to choose from, filtered as a name is typed (sign-in screens)."""
    model = QStandardItemModel(parent)
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QListView(parent)
    view.setObjectName("sign_in_staff_list")
    view.setAccessibleName(parent.tr("Staff"))
    view.setModel(proxy)
    view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
    return model, proxy, view


class SignInDialog(QDialog):
    """Pick a staff member and sign in as them.

    Signals:
        signed_in(object): the sign-in went through; carries the staff id.
    """

    signed_in = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setObjectName("sign_in_dialog")
        self.setWindowTitle(self.tr("Sign in as"))
        self.setAccessibleName(self.tr("Sign in as"))
        self.setModal(True)
        self.staff_model, self.proxy, self.staff_list = staff_list_view(self)
        self.filter_edit = StaffFilterEdit(self.staff_list, self)
        self.filter_edit.setObjectName("sign_in_filter")
        self.filter_edit.setAccessibleName(self.tr("Find a staff member"))
        self.filter_edit.setPlaceholderText(self.tr("Type part of a name or profession"))
        caption = QLabel(self.tr("&Who is using this desk?"), self)
        caption.setBuddy(self.filter_edit)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("sign_in_error_label")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("sign_in_ok_button")
        self.ok_button.setText(self.tr("&Sign in"))
        self.ok_button.setAccessibleName(self.tr("Sign in"))
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName(self.tr("Cancel"))
        layout = QVBoxLayout(self)
        layout.addWidget(caption)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.staff_list, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.filter_edit.textChanged.connect(self._on_filter_edit_changed)
        self.staff_list.activated.connect(lambda _index: self.sign_in_chosen())
        self.buttons.accepted.connect(self.sign_in_chosen)
        self.buttons.rejected.connect(self.reject)
        self.filter_edit.setFocus()
        self.resize(420, 480)
        self._load()

    def _load(self) -> None:
        self.runner.read(
            staff_service.list_staff, self._on_staff_loaded, self._show_error, owner=self
        )

    def _on_staff_loaded(self, staff: list[StaffSummary]) -> None:
        self.staff_model.clear()
        for member in staff:
            item = QStandardItem(f"{member.display_name} — {label(member.profession)}")
            item.setData(member.id, _STAFF_ID_ROLE)
            item.setEditable(False)
            self.staff_model.appendRow(item)
        self._choose_first_shown()

    def _choose_first_shown(self) -> None:
        current = self.staff_list.currentIndex()
        if not current.isValid() and self.proxy.rowCount():
            self.staff_list.setCurrentIndex(self.proxy.index(0, 0))

    def shown_names(self) -> list[str]:
        return [str(self.proxy.index(row, 0).data()) for row in range(self.proxy.rowCount())]

    def chosen_id(self) -> uuid.UUID | None:
        value = self.staff_list.currentIndex().data(_STAFF_ID_ROLE)
        return value if isinstance(value, uuid.UUID) else None

    @Slot()
    def sign_in_chosen(self) -> None:
        staff_id = self.chosen_id()
        if staff_id is None:
            self.error_label.show_message(self.tr("Choose who you are from the list."))
            return
        self.ok_button.setEnabled(False)

        def job(desk: Desk) -> Desk:
            return desk.sign_in(staff_id)

        self.runner.change_desk(
            job, self._on_signed_in, self._show_error, owner=self, description="sign in"
        )

    def _on_signed_in(self, desk: Desk) -> None:
        # The runner has swapped the desk in already; every screen heard desk_changed.
        assert desk.actor_id is not None
        self.signed_in.emit(desk.actor_id)
        self.accept()

    def _show_error(self, error: UserError) -> None:
        self.ok_button.setEnabled(True)
        self.error_label.show_message(str(error))

    @Slot(str)
    def _on_filter_edit_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.staff_list.setCurrentIndex(self.proxy.index(0, 0))
