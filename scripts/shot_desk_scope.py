"""Screenshot of Settings → Team hub → Practices this desk holds
(docs/screenshots/desk-scope.png).

A throwaway SQLite hub: a full desk makes a small demo (14 practices) and syncs; a second
desk joins it holding two practices (``sync --practices``). The main window opens on
that desk at 1280×800, signed in as a team administrator, with Settings → Team hub open;
the dialog reads the scope off the GUI thread, as in the app, and is grabbed.

Usage: .venv/bin/python scripts/shot_desk_scope.py [OUT.png]
"""

import io
import os
import sys
import tempfile
from pathlib import Path

# An offscreen screen the size of a small laptop's (1280×800).
_SCREEN = Path(tempfile.mkdtemp()) / "offscreen.json"
_SCREEN.write_text(
    '{"screens": [{"name": "shot", "x": 0, "y": 0, "width": 1280, "height": 800,'
    ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}'
)
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={_SCREEN}")

import keyring
from keyring.backend import KeyringBackend
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.cli import main as cli_main
from mdt_desk.models import Staff
from mdt_desk.models.store import Store
from mdt_desk.services.access import Principal, parse_roles
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.services.staff import display_staff_name
from mdt_desk.sync.client import sync_once
from mdt_desk.sync.hub import hub_engine, init_hub
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.runner import TaskRunner

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-scope.png"


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


def _administrator(store: Store) -> Principal:
    with store.read() as session:
        member = session.scalars(
            select(Staff)
            .where(Staff.roles == "team_administrator", Staff.retired_at.is_(None))
            .order_by(Staff.family_name)
        ).first()
        assert member is not None
        return Principal(
            staff_id=member.id,
            display_name=display_staff_name(member.family_name, member.given_name, member.title),
            roles=parse_roles(member.roles),
        )


def _two_busiest(store: Store) -> list[str]:
    from sqlalchemy import text

    with store.read() as session:
        return [
            str(code)
            for code in session.execute(
                text(
                    "SELECT pr.ods_code FROM patient p JOIN practice pr ON pr.id = p.practice_id"
                    " GROUP BY pr.ods_code ORDER BY count(*) DESC, pr.ods_code LIMIT 2"
                )
            ).scalars()
        ]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    keyring.set_keyring(_MemoryKeyring())
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        hub_url = f"sqlite:///{folder / 'team-hub.sqlite'}"
        engine = hub_engine(hub_url)
        init_hub(engine)
        with Store.open(folder / "full.sqlite") as full:
            generate_demo(full, patients=200, seed=2)
            sync_once(full, engine, label="Ward 3 desk")
            codes = _two_busiest(full)
        engine.dispose()
        scoped = folder / "laptop.sqlite"
        status = cli_main(
            ["sync", "--store", str(scoped), "--hub", hub_url, "--practices", ",".join(codes)],
            out=io.StringIO(),
        )
        assert status == 0
        store = Store.open(scoped)
        runner = TaskRunner(Desk.for_store(store).signed_in_as(_administrator(store)))
        window = MainWindow(runner)
        window.resize(1280, 800)
        window.show()
        for _ in range(500):  # the window's first sync
            QTest.qWait(20)
            if window.sync_controller.status.state != "syncing":
                break
        window.sync_controller.stop()
        dialog = window.show_team_hub()
        panel = dialog.scope_panel
        for _ in range(500):
            QTest.qWait(20)
            if panel.summary_label.text().startswith("This desk holds"):
                break
        # An administrator about to add a third practice (Apply not yet pressed).
        third = next(
            panel.practice_list.item(row).text().split()[0]
            for row in range(panel.practice_list.count())
            if panel.practice_list.item(row).text().split()[0] not in codes
        )
        panel.check_practice(third)
        QTest.qWait(200)
        dialog.grab().save(str(out))
        sys.stdout.write(
            f"wrote {out} ({dialog.width()}×{dialog.height()}): {panel.summary_label.text()}\n"
        )
        dialog.close()
        window.close()
        window.sync_controller.shutdown()
        runner.shutdown()
        store.close()
    app.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
