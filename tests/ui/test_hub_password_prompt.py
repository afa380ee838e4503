"""Without a keyring, the desk asks for the hub password once per run, never storing it."""

from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QInputDialog

from mdt_desk.ui.sync.settings import save_hub_address
from tests.ui.signed_in import create_main_window

PASSWORD = "correct horse battery staple"
HUB = "postgresql+psycopg://mdt@127.0.0.1:1/team"


@pytest.mark.slow
def test_the_password_is_asked_for_and_kept_only_in_memory(
    qtbot, demo_store_path: Path, wait_idle, tmp_path: Path
) -> None:
    keyring.set_keyring(fail.Keyring())
    save_hub_address(demo_store_path, HUB)
    window = create_main_window(demo_store_path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.hub_password_prompt is not None, timeout=10_000)
    prompt = window.hub_password_prompt
    assert isinstance(prompt, QInputDialog)
    assert "no keyring" in prompt.labelText()
    prompt.setTextValue(PASSWORD)
    prompt.accept()
    qtbot.waitUntil(lambda: window.sync_controller.has_password, timeout=10_000)
    wait_idle(window)
    window.close()
    for path in [*tmp_path.rglob("*"), *demo_store_path.parent.glob("demo.sqlite*")]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
