"""The store passphrase in the app, on a computer without a keyring: asked before any
window opens, asked again (saying why) after a wrong one, chosen by typing it twice."""

from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QLabel

from mdt_desk import app
from mdt_desk.models.store_key import read_key_file
from mdt_desk.ui.store_passphrase_dialog import StorePassphraseDialog
from tests.shared_stores import store_sealed_by_passphrase

PASSPHRASE = "kitchen table passphrase"


def _accessible_name(widget: QObject) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name)


def test_choosing_a_passphrase_needs_it_twice_and_long_enough(qtbot, tmp_path: Path) -> None:
    dialog = StorePassphraseDialog(tmp_path / "desk.sqlite", new=True)
    qtbot.addWidget(dialog)
    assert _accessible_name(dialog.passphrase_edit) == "Store passphrase"
    assert _accessible_name(dialog.repeat_edit) == "Store passphrase again"
    assert any(
        "cannot be opened by anyone" in label.text() for label in dialog.findChildren(QLabel)
    )

    dialog.passphrase_edit.setText("short")
    dialog._accept_if_valid()
    assert dialog.result() == 0 and "at least 8 characters" in dialog.error_label.text()
    dialog.passphrase_edit.setText(PASSPHRASE)
    dialog.repeat_edit.setText(PASSPHRASE + "x")
    dialog._accept_if_valid()
    assert "differ" in dialog.error_label.text()
    assert "differ" in _accessible_name(dialog.error_label)
    dialog.repeat_edit.setText(PASSPHRASE)
    dialog._accept_if_valid()
    assert dialog.result() == StorePassphraseDialog.DialogCode.Accepted
    assert dialog.passphrase() == PASSPHRASE


def test_opening_asks_once_shows_nothing_until_the_passphrase_is_right(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_sealed_by_passphrase(tmp_path / "desk.sqlite", PASSPHRASE, monkeypatch)
    assert read_key_file(path).kept_in == "passphrase"
    typed = iter(["not the passphrase", PASSPHRASE])
    asked: list[tuple[bool, str]] = []

    def ask(_path: Path, new: bool, problem: str = "") -> str:
        asked.append((new, problem))
        return next(typed)

    monkeypatch.setattr(app, "ask_store_passphrase", ask)
    window = app._open_window(path)
    assert window is not None
    qtbot.addWidget(window)
    try:
        assert [new for new, _ in asked] == [False, False]
        assert asked[0][1] == ""
        assert "Passphrase not recognised" in asked[1][1]
    finally:
        window.close()
        window.runner.shutdown()


def test_cancelling_the_passphrase_opens_nothing(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_sealed_by_passphrase(tmp_path / "desk.sqlite", PASSPHRASE, monkeypatch)
    said: list[str] = []
    monkeypatch.setattr(app, "ask_store_passphrase", lambda *_args: None)
    monkeypatch.setattr(
        app.QMessageBox, "critical", lambda _parent, _title, text: said.append(text)
    )
    assert app._open_window(path) is None
    assert said and "none was given" in said[0]
