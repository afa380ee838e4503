"""Screenshots of the Indicators tab (Ctrl+4) at 1280×800 from a demo store (offscreen).

Writes docs/screenshots/indicators-tab.png (a practice's measures over the last 6
months, with the cases behind the admissions listed) and indicators-compare.png (the
practices of a locality side by side on admissions per 100).

Usage: .venv/bin/python scripts/shot_indicators.py [--store demo.sqlite]
(Without a keyring, set MDT_DESK_STORE_PASSPHRASE: the store is encrypted.)
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdt_desk.app import create_main_window
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.ui.indicators.loading import ScopeKind
from mdt_desk.ui.main_window import MainWindow
from scripts.take_screenshots import OUT, save, sign_in


def settle(app: QApplication, window: MainWindow) -> None:
    """Let queued work finish and the screen repaint.

    Sleeps between rounds of events rather than waiting in ``QTest.qWait``: that holds
    Python's lock while it waits, so the worker thread's Python crawls meanwhile.
    """
    for _ in range(1500):
        app.processEvents()
        if not window.runner.busy:
            break
        time.sleep(0.02)
    for _ in range(5):
        time.sleep(0.02)
        app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    store_path = args.store
    if store_path is None:
        store_path = Path(tempfile.mkdtemp()) / "demo.sqlite"
        with Store.open(store_path) as store:
            generate_demo(store, patients=2000, seed=1)
    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    OUT.mkdir(parents=True, exist_ok=True)

    window = create_main_window(store_path)
    window.resize(1280, 800)
    window.show()
    settle(app, window)
    sign_in(app, window)
    QTest.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    page = window.indicators_page
    assert page is not None, "Ctrl+4 did not open the Indicators tab"
    settle(app, window)
    # The practice with the most people on the caseload: the fullest picture.
    options = page.options
    assert options is not None and options.practices, "no practice to show"
    biggest = max(options.practices, key=lambda practice: practice.open_cases)
    page.choose(ScopeKind.PRACTICE, biggest.code, months=6)
    settle(app, window)
    row = [r.id for r in page.figures_model.rows()].index("admissions")
    page.figures_table.setCurrentIndex(page.figures_model.index(row, 1))
    page.show_counted("admissions")
    settle(app, window)
    save(window, "indicators-tab.png")

    locality = options.localities[0].code
    page.choose(ScopeKind.LOCALITY, locality, months=12)
    page.views.setCurrentIndex(1)
    settle(app, window)
    page.compare_chart.setFocus()
    settle(app, window)
    save(window, "indicators-compare.png")
    window.close()
    settle(app, window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
