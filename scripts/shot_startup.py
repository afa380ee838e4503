"""The start-up screen as it is first drawn, and after Enter with a name typed for Find
patient, both at 1280×800, before the desk behind them has loaded.

Usage: .venv/bin/python scripts/shot_startup.py OUT_DIR
Writes startup-sign-in.png and startup-find.png.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.ui.startup_shell import StartupShell


def main() -> int:
    out = Path(sys.argv[1])
    app = QApplication(sys.argv)
    shell = StartupShell(Path.home() / ".local/share/MDT Desk/mdt-desk.sqlite")
    shell.resize(1280, 800)
    shell.show()
    app.processEvents()
    shell.grab().save(str(out / "startup-sign-in.png"))
    QTest.keyClicks(shell.pin_edit, "246810")
    QTest.keyClick(shell.pin_edit, Qt.Key.Key_Return)
    QTest.keyClicks(shell.find_edit, "smith")
    app.processEvents()
    shell.grab().save(str(out / "startup-find.png"))
    sys.stdout.write(f"wrote {out}/startup-sign-in.png and startup-find.png\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
