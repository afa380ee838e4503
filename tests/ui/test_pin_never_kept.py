"""A PIN typed on the real main window is kept nowhere (issue 10).

A person changes their one-time PIN, signs in, locks, unlocks and mistypes once; then
neither the PIN, the one-time PIN nor the mistyped one is in the store, its WAL or
shared-memory file, the settings, any file in the test's data folder, or the log (every
record, DEBUG included). The store holds the argon2id hash instead, so the scan looks
where the PIN would be if it were kept in clear; the store is encrypted, so its pages
are scanned decrypted too. The command line's part (arguments and
the process list) is tests/test_cli_access.py's.
"""

import logging
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from PySide6.QtCore import QSettings, Qt
from sqlalchemy import select

from mdt_desk.app import create_main_window
from mdt_desk.models import Staff
from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import store_key
from mdt_desk.services import staff as staff_service
from mdt_desk.services.access import parse_roles
from mdt_desk.services.sign_in import set_pin
from mdt_desk.ui.main_window import MainWindow

WAIT = 10_000
ONE_TIME_PIN = "Otter-once-8305"
NEW_PIN = "zq7-Kestrel-441"
WRONG_PIN = "zq7-Heron-wrong-552"
TYPED_PINS = (ONE_TIME_PIN, NEW_PIN, WRONG_PIN)


def encodings(pin: str) -> dict[str, bytes]:
    """How a PIN would look in a file: as UTF-8, or as UTF-16 (Qt's own strings)."""
    return {
        "utf-8": pin.encode("utf-8"),
        "utf-16-le": pin.encode("utf-16-le"),
        "utf-16-be": pin.encode("utf-16-be"),
    }


def leaks_in(blobs: dict[str, bytes]) -> list[str]:
    """Where any typed PIN is found, as 'where: which PIN (encoding)'."""
    return [
        f"{where}: {pin!r} ({encoding})"
        for where, blob in blobs.items()
        for pin in TYPED_PINS
        for encoding, encoded in encodings(pin).items()
        if encoded in blob
    ]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# SQLCipher 4's page layout: each page is AES-256-CBC encrypted, its IV (16 bytes) and
# HMAC (64) in the page's last 80 bytes; page 1 starts with the file's 16-byte salt.
PAGE_BYTES = 4096
RESERVED_BYTES = 80
SALT_BYTES = 16
WAL_HEADER_BYTES = 32
WAL_FRAME_HEADER_BYTES = 24


def decrypted_page(page: bytes, number: int, key: bytes) -> bytes:
    start = SALT_BYTES if number == 1 else 0
    end = PAGE_BYTES - RESERVED_BYTES
    decryptor = Cipher(algorithms.AES(key), modes.CBC(page[end : end + 16])).decryptor()
    return decryptor.update(page[start:end]) + decryptor.finalize()


def decrypted_store_file(data: bytes, key: bytes, *, wal: bool) -> bytes:
    """Every page of the encrypted store (or of its WAL: every frame, old ones too),
    decrypted as someone holding the key could read it, free pages included."""
    pages = []
    if wal:
        frame = WAL_FRAME_HEADER_BYTES + PAGE_BYTES
        for offset in range(WAL_HEADER_BYTES, len(data) - frame + 1, frame):
            number = int.from_bytes(data[offset : offset + 4], "big")
            page = data[offset + WAL_FRAME_HEADER_BYTES : offset + frame]
            pages.append(decrypted_page(page, number, key))
    else:
        for index in range(len(data) // PAGE_BYTES):
            page = data[index * PAGE_BYTES : (index + 1) * PAGE_BYTES]
            pages.append(decrypted_page(page, index + 1, key))
    return b"".join(pages)


def store_files(path: Path, moment: str) -> dict[str, bytes]:
    """The store and its -wal and -shm, as they are on disk at ``moment``, and the store
    and its WAL decrypted (the store is encrypted: a PIN kept in clear would be
    ciphertext on the disk, but there for anyone with the key)."""
    key = store_key(path)
    found = {}
    for suffix in ("", "-wal", "-shm"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            data = file.read_bytes()
            found[f"{file} ({moment})"] = data
            if suffix != "-shm":  # the shared-memory index holds no records
                found[f"{file}, decrypted ({moment})"] = decrypted_store_file(
                    data, key, wal=suffix == "-wal"
                )
    return found


def the_signed_in_member_and_an_administrator(path: Path) -> tuple[uuid.UUID, uuid.UUID]:
    with Store.open(path) as store:
        me = staff_service.signed_in_staff_id(store)
        assert me is not None
        with store.read() as session:
            administrator = next(
                staff.id
                for staff in session.scalars(select(Staff).where(Staff.retired_at.is_(None)))
                if Role.TEAM_ADMINISTRATOR in parse_roles(staff.roles)
            )
    return me, administrator


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)


def type_pin(qtbot, window: MainWindow, pin: str) -> None:
    """Type a PIN into the sign-in page's PIN field and press Enter, as a person would."""
    settle(qtbot, window)
    field = window.sign_in_page.pin_edit
    field.setFocus()
    qtbot.keyClicks(field, pin)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    settle(qtbot, window)


@pytest.mark.slow
def test_no_typed_pin_is_in_the_store_its_wal_the_settings_the_data_folder_or_the_log(
    qtbot, qtlog, demo_store_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every record, from the start
    # The capture reaches the app's own loggers at DEBUG (the flow may log nothing).
    logging.getLogger("mdt_desk.ui.runner").debug("log capture canary")
    me, administrator = the_signed_in_member_and_an_administrator(demo_store_path)
    with Store.open(demo_store_path) as store, store.write(administrator, "") as session:
        set_pin(session, me, ONE_TIME_PIN, one_time=True)

    window = create_main_window(demo_store_path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    page = window.sign_in_page
    assert window.locked
    qtbot.waitUntil(lambda: page.chosen_id() == me, timeout=WAIT)

    # The one-time PIN, then the person's own PIN typed twice.
    type_pin(qtbot, window, ONE_TIME_PIN)
    assert page.change_box.isVisible()
    qtbot.keyClicks(page.new_pin_edit, NEW_PIN)
    qtbot.keyClicks(page.repeat_pin_edit, NEW_PIN)
    with qtbot.waitSignal(page.signed_in, timeout=WAIT):
        qtbot.keyClick(page.repeat_pin_edit, Qt.Key.Key_Return)
    assert not window.locked

    # Lock (Ctrl+L), unlock with the new PIN, lock again and mistype once.
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.locked
    type_pin(qtbot, window, NEW_PIN)
    assert not window.locked
    window.lock()
    type_pin(qtbot, window, WRONG_PIN)
    assert window.locked
    assert "PIN not recognised" in page.error_label.text()

    scanned = store_files(demo_store_path, "window open")
    assert any(name.endswith("-wal (window open)") for name in scanned)  # WAL mode: read it
    window.close()
    settings = QSettings()
    settings.sync()
    settings_file = Path(settings.fileName())
    assert settings_file.is_file() and tmp_path in settings_file.parents
    scanned |= store_files(demo_store_path, "window closed")
    scanned |= files_under(tmp_path)  # the settings, the XDG folders, the store again
    scanned["the log"] = caplog.text.encode("utf-8")
    scanned["Qt's messages"] = "\n".join(r.message for r in qtlog.records).encode("utf-8")

    with Store.open(demo_store_path) as store, store.read() as session:
        staff = session.get(Staff, me)
        assert staff is not None
        kept = staff.pin_hash
    assert kept.startswith("$argon2id$")  # what a leak would sit beside
    # The scan sees the store: its decrypted pages hold the hash, the raw file does not.
    assert any(kept.encode() in blob for blob in scanned.values())
    assert not any(
        kept.encode() in blob for name, blob in scanned.items() if "decrypted" not in name
    )
    assert str(settings_file) in scanned
    assert b"log capture canary" in scanned["the log"]
    assert leaks_in(scanned) == []
