"""Start-up and quick-find benchmark for the desk on a large encrypted demo store.

1. Start-up, each a new Python process, median of ``--runs``, alternating with a bare
   PySide6 window (new process, QApplication, a QMainWindow shown, its first frame
   grabbed) so machine noise falls on both:
   - **shell**: launch → the sign-in screen painted with its PIN field focused (typing
     goes there). Target ≤ 1.5× the bare window.
   - **PIN submitted → rows**: the PIN is typed as a person types it (a key every
     ``--key-interval-ms``, 150 ms by default, starting when the screen is painted), then
     Enter; the time from Enter to the first real caseload rows painted, the argon2id
     check included. Target ≤ 1 s (contracts: start-up with a sign-in screen).
   - **launch → rows**: the same run's launch → first caseload rows painted, as a ratio
     to the bare window (the issue's "≤ 3×", which counted no PIN; reported, see
     docs/performance.md for why the contract's measure replaces it).
   The store is encrypted and its key sealed by a passphrase, so fetching and unsealing
   the key is in every figure. The child runs the real start-up (``run_desk``) on a
   store opened here before (its sign-in screen remembered, as on every start but the
   first).
2. Quick find: in one process with the real window, the time from a keystroke in
   "Find patient" to the matches being shown, over names typed letter by letter, NHS
   numbers typed with spaces and dates of birth. Baseline: the same searches run with
   raw SQL (``sqlcipher3``, keyed) on the same encrypted file. Target: ≤ 100 ms median.

Usage:
    .venv/bin/python bench/bench_startup.py --store /tmp/demo100k.sqlite [--runs 7]
The store is made with ``mdt-desk demo --patients 100000`` first if it does not exist.
Exits with status 1 if a target is missed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store_passphrase import use_bench_store_passphrase

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHELL_TARGET = 1.5
SUBMIT_TO_ROWS_TARGET_S = 1.0
FIND_TARGET_MS = 100.0

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv)
window = QMainWindow()
window.setCentralWidget(QLabel("ready"))
window.resize(1280, 800)
window.show()
def painted():
    window.grab()
    print(f'{{"painted": {time.perf_counter()}}}', flush=True)
    app.quit()
QTimer.singleShot(0, painted)
app.exec()
"""

# Times are perf_counter() readings: CLOCK_MONOTONIC on Linux, the same clock in the
# parent, so the parent subtracts the moment it launched the child.
DESK_START = """
import sys, time
from pathlib import Path  # as mdt_desk.launch does
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
store, settings, interval = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings)
from mdt_desk.startup import run_desk
marks = {}

def started(start):
    app = QApplication.instance()
    keys = list("246810") + ["Enter"]

    def type_next():
        # Imported once the screen is up: the benchmark's own needs are not the app's.
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        target = QApplication.focusWidget()
        if target is None or not target.isVisible():  # the window is taking over
            QTimer.singleShot(2, type_next)
            return
        key = keys.pop(0)
        if key == "Enter":
            marks["submitted"] = time.perf_counter()
            QTest.keyClick(target, Qt.Key.Key_Return)
        else:
            QTest.keyClicks(target, key)
        if keys:
            QTimer.singleShot(interval, type_next)

    def painted():
        start.shell.grab()
        if not start.shell.pin_edit.hasFocus():  # not accepting typing yet
            QTimer.singleShot(1, painted)
            return
        marks["shell"] = time.perf_counter()
        QTimer.singleShot(interval, type_next)

    def window_ready(window):
        def loaded(count):
            def rows():
                import json
                window.grab()
                marks["rows"] = time.perf_counter()
                assert count > 0 and window.caseload_model.row_at(0) is not None
                print(json.dumps(marks), flush=True)
                window.close()
                app.quit()
            QTimer.singleShot(0, rows)
        window.caseload_model.loaded.connect(loaded)

    start.window_ready.connect(window_ready)
    QTimer.singleShot(0, painted)

sys.exit(run_desk(store, started=started))
"""

REMEMBER = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication, QSettings
app = QCoreApplication(sys.argv)
app.setOrganizationName("MDT Desk")
app.setApplicationName("MDT Desk")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[2])
from mdt_desk.ui.startup_shell import remember_sign_in
remember_sign_in(Path(sys.argv[1]), True)
"""


def _run_child(code: str, *args: str) -> dict[str, float]:
    """Seconds from launching a new interpreter to each moment it reports."""
    launched = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
        timeout=120,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"benchmark child failed:\n{child.stdout}\n{child.stderr}")
    return {name: moment - launched for name, moment in json.loads(lines[-1]).items()}


@dataclass
class StartupFigures:
    bare: float
    shell: float
    submit_to_rows: float
    launch_to_rows: float

    @property
    def shell_ratio(self) -> float:
        return self.shell / self.bare

    @property
    def rows_ratio(self) -> float:
        return self.launch_to_rows / self.bare


def bench_startup(store: Path, runs: int, key_interval_ms: int) -> StartupFigures:
    settings = tempfile.mkdtemp(prefix="mdt-desk-bench-settings-")
    subprocess.run([sys.executable, "-c", REMEMBER, str(store), settings], check=True)
    bare: list[float] = []
    desk: list[dict[str, float]] = []
    interval = str(key_interval_ms)
    _run_child(BARE_WINDOW)  # warm the file cache for both
    _run_child(DESK_START, str(store), settings, interval)
    for _ in range(runs):
        bare.append(_run_child(BARE_WINDOW)["painted"])
        desk.append(_run_child(DESK_START, str(store), settings, interval))
    return StartupFigures(
        bare=statistics.median(bare),
        shell=statistics.median(run["shell"] for run in desk),
        submit_to_rows=statistics.median(run["rows"] - run["submitted"] for run in desk),
        launch_to_rows=statistics.median(run["rows"] for run in desk),
    )


def _typed_searches(db: Any) -> list[str]:
    families = [
        row[0]
        for row in db.execute(
            "SELECT family_name FROM patient GROUP BY family_name ORDER BY count(*) DESC LIMIT 6"
        )
    ]
    numbers = [
        row[0]
        for row in db.execute("SELECT nhs_number FROM patient ORDER BY id LIMIT 4 OFFSET 500")
    ]
    births = [
        row[0]
        for row in db.execute("SELECT date_of_birth FROM patient ORDER BY id LIMIT 3 OFFSET 900")
    ]
    typed = [family[:5].lower() for family in families]
    typed += [f"{n[:3]} {n[3:6]} {n[6:]}" for n in numbers]
    typed += births
    return typed


def _type_character(widget: "QWidget", character: str) -> None:
    """Type one character as a keyboard would.

    QTest only knows ASCII keys (it aborts on "ē"); demo names are not all ASCII, so
    other characters arrive as a key event carrying the text, as an input method sends.
    """
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    if character.isascii():
        QTest.keyClicks(widget, character)
        return
    target = QApplication.focusWidget() or widget
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(
            target, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, character)
        )


def bench_quick_find(store: Path) -> tuple[float, float, float, int]:
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    QCoreApplication.setOrganizationName("MDT Desk benchmark")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    from mdt_desk.app import create_main_window
    from mdt_desk.models.store import connect_store_file
    from mdt_desk.models.store_key import store_key
    from mdt_desk.services.caseload import _search_statement, _search_values
    from mdt_desk.services.sign_in import DEMO_PIN

    window = create_main_window(store, pin=DEMO_PIN)  # a demo store is past set-up
    window.show()
    find = window.quick_find
    db = connect_store_file(store, store_key(store), options="mode=ro")
    latencies: list[float] = []
    raw: list[float] = []
    loop = QEventLoop()
    shown_at: list[float] = []

    def on_shown(_count: int) -> None:
        shown_at.append(time.perf_counter())
        loop.quit()

    find.results_shown.connect(on_shown)
    for text in _typed_searches(db):
        while window.runner.busy:
            app.processEvents()
        find.clear()
        window.focus_quick_find()
        for position, character in enumerate(text):
            shown_at.clear()
            started = time.perf_counter()
            _type_character(find, character)
            if not shown_at:
                loop.exec()
            latencies.append((shown_at[0] - started) * 1000)
            # The same search in raw SQL, same SQL, same encrypted file.
            search = _search_values(text[: position + 1])
            if search is not None:
                kind, values = search
                values["limit"] = 30
                compiled = _search_statement(kind).compile(
                    compile_kwargs={"render_postcompile": True}
                )
                parameters = {
                    key: (value.isoformat() if hasattr(value, "isoformat") else value)
                    for key, value in values.items()
                }
                sql = str(compiled)
                started = time.perf_counter()
                db.execute(sql, parameters).fetchall()
                raw.append((time.perf_counter() - started) * 1000)
        QTest.keyClick(find, Qt.Key.Key_Escape)
    window.close()
    db.close()
    latencies.sort()
    return (
        statistics.median(latencies),
        latencies[int(len(latencies) * 0.95) - 1],
        statistics.median(raw),
        len(latencies),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--key-interval-ms", type=int, default=150, help="between PIN keys (a person typing)"
    )
    parser.add_argument("--no-find", action="store_true", help="start-up only")
    args = parser.parse_args()
    use_bench_store_passphrase()
    if not args.store.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mdt_desk.cli",
                "demo",
                "--patients",
                str(args.patients),
                "--store",
                str(args.store),
            ],
            check=True,
        )
    figures = bench_startup(args.store, args.runs, args.key_interval_ms)
    shell_met = figures.shell_ratio <= SHELL_TARGET
    rows_met = figures.submit_to_rows <= SUBMIT_TO_ROWS_TARGET_S
    print("| measure | MDT Desk | baseline | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    bare = f"{figures.bare * 1000:.0f} ms (bare PySide6 window)"
    print(
        f"| launch → sign-in screen painted, PIN field taking keys (median of {args.runs}) "
        f"| {figures.shell * 1000:.0f} ms | {bare} | {figures.shell_ratio:.2f}× "
        f"| ≤ {SHELL_TARGET}× {'met' if shell_met else 'MISSED'} |"
    )
    print(
        f"| PIN submitted → first caseload rows painted (PIN keys {args.key_interval_ms} ms "
        f"apart) | {figures.submit_to_rows * 1000:.0f} ms | | | "
        f"≤ {SUBMIT_TO_ROWS_TARGET_S * 1000:.0f} ms {'met' if rows_met else 'MISSED'} |"
    )
    print(
        f"| launch → first caseload rows painted, PIN typing included "
        f"| {figures.launch_to_rows * 1000:.0f} ms | {bare} | {figures.rows_ratio:.2f}× "
        f"| (reported) |"
    )
    find_met = True
    if not args.no_find:
        median, p95, raw, keystrokes = bench_quick_find(args.store)
        find_met = median <= FIND_TARGET_MS
        print(
            f"| quick find, keystroke to matches shown ({keystrokes} keystrokes) | median "
            f"{median:.1f} ms, p95 {p95:.1f} ms | {raw:.2f} ms (raw SQL query) | "
            f"{median / raw:.1f}× | ≤ {FIND_TARGET_MS:.0f} ms "
            f"{'met' if find_met else 'MISSED'} |"
        )
    return 0 if shell_met and rows_met and find_met else 1


if __name__ == "__main__":
    sys.exit(main())
