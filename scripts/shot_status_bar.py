"""Open a store's window at 1280×800, sign in with the demo PIN, show all open cases and
save a grab of the whole window (used by screenshot_tamper_alarm.sh).

Usage: .venv/bin/python scripts/shot_status_bar.py STORE OUT.png
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.app import create_main_window
from mdt_desk.services.caseload import CaseloadView
from scripts.take_screenshots import settle, sign_in


def main() -> int:
    store, out = Path(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    window = create_main_window(store)
    window.resize(1280, 800)
    window.show()
    settle(app, window)
    sign_in(app, window)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    settle(app, window)
    window.grab().save(str(out))
    sys.stdout.write(f"wrote {out}: {window.sync_alarm.text()}\n")
    window.close()
    settle(app, window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
