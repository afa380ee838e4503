"""Screenshot of Settings → Team hub → Desks on this hub… (docs/screenshots/hub-status.png).

A throwaway PostgreSQL hub (a new database on the local test server, dropped at the end)
with three desk logins: one desk makes a small demo and syncs, two join; then the first
edits again and syncs, so one other is behind. The dialog reads the hub off the GUI
thread, as in the app, widens to its columns and is grabbed.

Usage: .venv/bin/python scripts/shot_hub_status.py [OUT.png]
"""

import os
import sys
import tempfile
import uuid
from pathlib import Path

# An offscreen screen the size of a desktop monitor (the default is 800×600), so the
# dialog widens to its columns as it does on a real screen.
_SCREEN = Path(tempfile.mkdtemp()) / "offscreen.json"
_SCREEN.write_text(
    '{"screens": [{"name": "shot", "x": 0, "y": 0, "width": 1600, "height": 1000,'
    ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}'
)
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={_SCREEN}")

import keyring
import psycopg
from keyring.backend import KeyringBackend
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.hub import hub_engine, init_hub
from mdt_desk.sync.hub_roles import add_desk_login, desk_group_name
from mdt_desk.ui.sync.controller import SyncController
from mdt_desk.ui.sync.hub_status_dialog import HubStatusDialog

SERVER = os.environ.get("MDT_TEST_PG_URL", "postgresql://postgres@127.0.0.1/test")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "hub-status.png"


class _MemoryKeyring(KeyringBackend):
    """Store keys for the throwaway desks: never the computer's own keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


def _fill(folder: Path, admin_url: str, logins: list[str]) -> Path:
    """Three desks synced with the hub, two of them behind; returns the first's store."""
    desk_urls = [admin_url.replace("//postgres@", f"//{login}@", 1) for login in logins]
    engines = [hub_engine(url) for url in desk_urls]
    labels = ["Ward 3 desk", "Community nurses' laptop", "GP liaison desk"]
    paths = [folder / f"desk{index}.sqlite" for index in range(3)]
    try:
        with Store.open(paths[0]) as first:
            generate_demo(first, patients=60, seed=2)
            sync_once(first, engines[0], label=labels[0])
        for path, engine, label in zip(paths[1:], engines[1:], labels[1:], strict=True):
            with Store.open(path) as store:
                sync_once(store, engine, label=label)
        with Store.open(paths[0]) as first:
            desk = Desk.for_store(first)
            with desk.read() as session:
                ids = session.execute(
                    text("SELECT id FROM action WHERE status = 'open' ORDER BY id LIMIT 3")
                ).scalars()
                action_ids = [uuid.UUID(str(value)) for value in ids]
            for action_id in action_ids:
                with desk.write() as session:
                    plans.update_action(session, action_id, description="Phone the daughter")
            sync_once(first, engines[0], label=labels[0])
        with Store.open(paths[1]) as second:
            sync_once(second, engines[1], label=labels[1])  # up to date again
    finally:
        for engine in engines:
            engine.dispose()
    return paths[0]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    keyring.set_keyring(_MemoryKeyring())
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    server = psycopg.connect(SERVER, autocommit=True)
    database = f"hub_shot_{uuid.uuid4().hex[:8]}"
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    admin_url = f"{base}/{database}"
    logins = ["ward3_desk", "community_laptop", "gp_liaison"]
    server.execute(f'CREATE DATABASE "{database}"')
    admin = hub_engine(admin_url)
    try:
        init_hub(admin)
        for login in logins:
            add_desk_login(admin, login)
        with tempfile.TemporaryDirectory() as folder:
            store_path = _fill(Path(folder), admin_url, logins)
            controller = SyncController(store_path)
            dialog = HubStatusDialog(controller, admin_url)
            dialog.show()
            for _ in range(500):
                QTest.qWait(20)
                if dialog.refresh_button.isEnabled():
                    break
            QTest.qWait(200)
            dialog.grab().save(str(out))
            sys.stdout.write(f"wrote {out}: {dialog.summary_label.text()}\n")
            dialog.close()
            controller.shutdown()
    finally:
        admin.dispose()
        server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for login in logins:
            server.execute(f'DROP ROLE IF EXISTS "{login}"')
        server.execute(f'DROP ROLE IF EXISTS "{desk_group_name(database)}"')
        server.close()
        app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
