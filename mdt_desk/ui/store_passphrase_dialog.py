"""Asking for the store passphrase, on a computer without a keyring.

Shown at most once per run for a store (the key it unlocks is kept in memory until the
program ends), before any window opens: nothing of any patient can be shown until the
store is open. When the passphrase is being chosen, it is typed twice and the dialog
says plainly that without it the store is lost.
"""

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.models.store_key import MIN_PASSPHRASE_LENGTH
from mdt_desk.ui.widgets import ErrorLabel, announce


def _password_edit(name: str, accessible: str, parent: QWidget) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(accessible)
    return edit


class StorePassphraseDialog(QDialog):
    """The store passphrase: typed once to open a store, twice to choose one."""

    def __init__(
        self, store_path: Path, *, new: bool, problem: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.new = new
        self.setWindowTitle(
            self.tr("Store passphrase") if not new else self.tr("Choose a store passphrase")
        )
        self.setObjectName("store_passphrase_dialog")
        if new:
            text = self.tr(
                "This computer has no keyring to keep the store's encryption key, so the key "
                "is sealed with a passphrase you choose now (at least {n} characters).\n\n"
                "Without the passphrase the store cannot be opened by anyone: keep it "
                "somewhere safe, and ask an administrator to make a sealed key backup."
            ).format(n=MIN_PASSPHRASE_LENGTH)
        else:
            text = self.tr("Type the passphrase of the store {path} to open it.").format(
                path=store_path
            )
        explanation = QLabel(text, self)
        explanation.setWordWrap(True)
        self.passphrase_edit = _password_edit("passphrase_edit", self.tr("Store passphrase"), self)
        self.repeat_edit = _password_edit("repeat_edit", self.tr("Store passphrase again"), self)
        self.error_label = ErrorLabel(self)
        self.error_label.setObjectName("passphrase_error")
        form = QFormLayout()
        form.addRow(self.tr("&Passphrase"), self.passphrase_edit)
        if new:
            form.addRow(self.tr("&Again"), self.repeat_edit)
        else:
            self.repeat_edit.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("&Open the store") if not new else self.tr("&Encrypt with it"))
        ok.setAccessibleName(ok.text().replace("&", ""))
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName(self.tr("Cancel"))
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        if problem:
            self._say(problem)
        self.passphrase_edit.setFocus()

    def _say(self, message: str) -> None:
        self.error_label.show_message(message)
        announce(self.error_label, message)

    def _accept_if_valid(self) -> None:
        passphrase = self.passphrase_edit.text()
        if self.new and len(passphrase) < MIN_PASSPHRASE_LENGTH:
            self._say(
                self.tr("A store passphrase needs at least {n} characters.").format(
                    n=MIN_PASSPHRASE_LENGTH
                )
            )
            return
        if self.new and self.repeat_edit.text() != passphrase:
            self._say(self.tr("The two passphrases differ: type the same one twice."))
            return
        if not passphrase:
            self._say(self.tr("Type the store's passphrase."))
            return
        self.accept()

    def passphrase(self) -> str:
        return self.passphrase_edit.text()


def ask_store_passphrase(store_path: Path, new: bool, problem: str = "") -> str | None:
    """The passphrase typed in the dialog, or ``None`` if the person cancelled."""
    dialog = StorePassphraseDialog(store_path, new=new, problem=problem)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.passphrase()
