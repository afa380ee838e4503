"""*Save summary as PDF…* on the Indicators tab, on the real signed-in window over a demo store.

The file written is read back as text and checked against what the command line makes
for the same scope and period: the same document (``indicators_summary_pdf``, printed by
the signed-in person) and the same figures as its shared CSV (small counts suppressed).
It is gathered and written on the worker thread, 0600; a file that cannot be written is
said in words on the tab and in the status bar, never a traceback.
"""

import csv
import datetime as dt
import io
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from mdt_desk.documents.common import long_date
from mdt_desk.documents.indicators_summary import indicators_summary_pdf
from mdt_desk.services import indicators
from mdt_desk.services.indicators import SUPPRESSION_NOTE, IndicatorKind, Period
from mdt_desk.ui.indicators import page as page_module
from mdt_desk.ui.indicators.loading import ScopeKind
from mdt_desk.ui.indicators.page import IndicatorsPage
from mdt_desk.ui.main_window import MainWindow
from tests.cli_sign_in import run
from tests.documents.helpers import flat, pages_text
from tests.ui.test_indicators_tab import WAIT, open_indicators, service
from tests.ui.test_mnemonics import collect, mnemonic

#: When the tab "prints" the summary in these tests (the footer and the PDF's date).
PRINTED_AT = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


class SaveDialog:
    """Stands in for the Qt file dialog: answers ``answer`` and remembers what it was asked."""

    def __init__(self, answer: Path) -> None:
        self.answer = answer
        self.asked: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> tuple[str, str]:
        self.asked.append(args)
        return str(self.answer), "PDF documents (*.pdf)"


def chosen_file(monkeypatch: pytest.MonkeyPatch, answer: Path) -> SaveDialog:
    dialog = SaveDialog(answer)
    monkeypatch.setattr(page_module.QFileDialog, "getSaveFileName", dialog)
    return dialog


def press(qtbot, button: QWidget) -> None:
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def cli_csv_values(store: Path, kind: ScopeKind, code: str, period: Period, out: Path) -> dict:
    """``mdt-desk indicators … --csv`` for the scope and period: indicator id → value."""
    dates = ["--from", period.start.isoformat(), "--to", period.end.isoformat()]
    status, output = run(
        "indicators", "--store", str(store), f"--{kind}", code, *dates, "--csv", str(out)
    )
    assert status == 0, output
    lines = out.read_text(encoding="utf-8").splitlines()
    rows = csv.DictReader(io.StringIO("\n".join(lines[lines.index("") + 1 :])))
    return {row["indicator"]: row["value"] for row in rows}


def period_text(period: Period) -> str:
    """``1 June 2026 to 30 November 2026``, as the summary's first lines say it."""
    return f"{long_date(period.start)} to {long_date(period.end)}"


def printed_after(text: str, title: str) -> str:
    """The figure printed just after ``title`` (the measures table: title, figure, …)."""
    return text[text.index(title) + len(title) :].split(maxsplit=1)[0]


@pytest.mark.slow
def test_the_summary_saved_is_the_command_lines_pdf_for_the_figures_shown(
    qtbot, demo_store_path: Path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    button = page.save_summary_button
    assert button.accessibleName() == "Save summary as PDF"
    code = page.scope_choice.currentData()
    period = page.panel.period if page.panel else None
    assert period is not None
    target = tmp_path / "chosen" / "summary.pdf"
    target.parent.mkdir()
    dialog = chosen_file(monkeypatch, target)
    monkeypatch.setattr(page_module, "utc_now", lambda: PRINTED_AT)
    threads: list[threading.Thread] = []
    real_pdf = page_module.indicators_summary_pdf
    real_write = page_module.write_indicators_summary

    def watched_pdf(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real_pdf(*args, **kwargs)

    def watched_write(*args: Any) -> None:
        threads.append(threading.current_thread())
        real_write(*args)

    monkeypatch.setattr(page_module, "indicators_summary_pdf", watched_pdf)
    monkeypatch.setattr(page_module, "write_indicators_summary", watched_write)

    with qtbot.waitSignal(page.summary_saved, timeout=WAIT) as saved:
        press(qtbot, button)
    wait_idle(window)

    # asked with a name that says what it holds, in the person's documents folder
    (_parent, _caption, suggested, _filter) = dialog.asked[0]
    expected_name = f"indicators-{code}-{period.start.isoformat()}-to-{period.end.isoformat()}.pdf"
    assert Path(suggested).name == expected_name
    assert Path(suggested).parent.is_absolute()
    assert saved.args == [target]
    # gathered and written off the GUI thread, the file private
    assert len(threads) == 2 and threading.main_thread() not in threads
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    # said on the tab, to a screen reader's status, and in the window's status bar
    assert page.status.isVisible() and page.status.text().startswith(f"Summary saved to {target}")
    assert window.statusBar().currentMessage() == page.status.text()
    assert button.isEnabled()

    content = target.read_bytes()
    text = flat(" ".join(pages_text(content)))
    # the same document the command line writes for this scope and period
    printed_by = window.runner.desk.actor_name
    assert printed_by
    expected = service(
        demo_store_path,
        lambda s: indicators_summary_pdf(
            s,
            indicators.practice_scope(s, code),
            period,
            now=PRINTED_AT,
            printed_by=printed_by,
        ),
    )
    assert pages_text(content) == pages_text(expected.content)
    assert f"Team indicators: Practice {code}" in text
    assert f"Printed by {printed_by}" in text
    assert period_text(period) in text
    assert flat(SUPPRESSION_NOTE) in text
    # and the figures of the command line's shared CSV, small counts suppressed
    shared = cli_csv_values(
        demo_store_path, ScopeKind.PRACTICE, code, period, tmp_path / "shared.csv"
    )
    measures = text[text.index("Measures Measure") :]  # after the exceptions
    compared = suppressed = 0
    for each in indicators.INDICATORS:
        value = shared[each.id]
        if value == "" or each.kind is IndicatorKind.RATE_PER_1000:
            continue  # no figure; the population rates have a table of their own
        printed = printed_after(measures, each.title).rstrip("%")
        if value in ("<5", "withheld"):
            assert printed == value, each.id
            suppressed += 1
        else:
            assert float(printed.replace(",", "")) == pytest.approx(float(value)), each.id
        compared += 1
    assert compared >= 15
    assert suppressed >= 1, "the demo practice should have a small count to suppress"


@pytest.mark.slow
def test_a_localitys_summary_names_the_locality(
    qtbot, demo_store_path: Path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    assert page.options is not None
    locality = page.options.localities[0].code
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        page.choose(ScopeKind.LOCALITY, locality, months=12)
    wait_idle(window)
    target = tmp_path / "locality.pdf"
    dialog = chosen_file(monkeypatch, target)
    with qtbot.waitSignal(page.summary_saved, timeout=WAIT):
        press(qtbot, page.save_summary_button)
    period = Period.last_months(12, page_module.london_today())
    assert Path(dialog.asked[0][2]).name == (
        f"indicators-{locality}-{period.start.isoformat()}-to-{period.end.isoformat()}.pdf"
    )
    text = flat(" ".join(pages_text(target.read_bytes())))
    assert f"Team indicators: Locality {locality}" in text
    assert period_text(period) in text


def test_a_file_that_cannot_be_written_is_said_in_words(
    qtbot, demo_store_path: Path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    bugs: list[str] = []
    window.runner.bug_found.connect(bugs.append)
    unwritable = tmp_path / "no such folder" / "summary.pdf"
    chosen_file(monkeypatch, unwritable)
    press(qtbot, page.save_summary_button)
    qtbot.waitUntil(lambda: "Cannot save the summary" in page.status.text(), timeout=WAIT)
    wait_idle(window)
    message = page.status.text()
    assert str(unwritable) in message and "No such file or directory" in message
    assert "Traceback" not in message and "Error" not in message
    assert page.status.isVisible() and window.statusBar().currentMessage() == message
    assert not bugs and not unwritable.parent.exists()
    assert page.save_summary_button.isEnabled()  # to try again, somewhere else


def test_cancelling_the_file_dialog_saves_nothing(
    qtbot, demo_store_path: Path, wait_idle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    # Cancel: the dialog answers no name
    monkeypatch.setattr(page_module.QFileDialog, "getSaveFileName", lambda *_a: ("", ""))
    saved: list[object] = []
    page.summary_saved.connect(saved.append)
    press(qtbot, page.save_summary_button)
    wait_idle(window)
    assert not saved and not page.status.isVisible() and list(tmp_path.glob("*.pdf")) == []


@pytest.mark.slow
def test_the_button_waits_for_the_figures_and_has_its_own_letter(
    qtbot, demo_store_path: Path, wait_idle, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, page = open_indicators(qtbot, demo_store_path, wait_idle)
    release = threading.Event()
    real_load_panel = page_module.load_panel

    def held_load_panel(*args: Any) -> Any:
        release.wait(timeout=20)
        return real_load_panel(*args)

    monkeypatch.setattr(page_module, "load_panel", held_load_panel)
    page.period_choice.setFocus()
    qtbot.keyClick(page.period_choice, Qt.Key.Key_Down)  # 6 → 12 months
    # while another period's figures are worked out there is nothing to save
    assert not page.save_summary_button.isEnabled()
    with qtbot.waitSignal(page.figures_shown, timeout=WAIT):
        release.set()
    assert page.save_summary_button.isEnabled()
    wait_idle(window)
    assert_no_clashing_letters(window, page)


def assert_no_clashing_letters(window: MainWindow, page: IndicatorsPage) -> None:
    """Alt+letter does one thing on the tab, with either view in front."""
    letter = mnemonic(page.save_summary_button.text())
    assert letter is not None
    for view in range(page.views.count()):
        page.views.setCurrentIndex(view)
        scope = collect(window, f"indicators, view {view}")
        assert scope.clashes() == [] and scope.orphan_labels == []
        assert len(scope.owners[letter]) == 1
