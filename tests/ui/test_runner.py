"""The task runner: jobs run off the GUI thread, in order, and report back safely."""

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from mdt_desk.errors import RuleError
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.ui.runner import TaskRunner


@pytest.fixture
def runner(tmp_path: Path, qapp):
    store = Store.open(tmp_path / "runner.sqlite")
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()
    store.close()


def test_jobs_run_off_the_gui_thread_in_order(qtbot, runner: TaskRunner) -> None:
    gui_thread = threading.get_ident()
    seen: list[tuple[int, bool]] = []

    def job(number: int):
        return lambda _desk: (number, threading.get_ident() != gui_thread)

    for number in range(20):
        runner.run(job(number), seen.append)
    qtbot.waitUntil(lambda: not runner.busy)
    assert seen == [(n, True) for n in range(20)]


def test_a_user_error_goes_to_on_error_and_a_bug_to_bug_found(qtbot, runner) -> None:
    errors: list[str] = []

    def refuse(_desk: Desk) -> None:
        raise RuleError("That case is closed.")

    runner.run(refuse, lambda _r: None, lambda error: errors.append(str(error)))
    with qtbot.waitSignal(runner.bug_found) as bug:
        runner.run(lambda _desk: 1 / 0)
    assert errors == ["That case is closed."]
    assert "ZeroDivisionError" in bug.args[0]
    done: list[int] = []
    runner.run(lambda _desk: 7, done.append)  # the worker survived the bug
    qtbot.waitUntil(lambda: done == [7])


def test_callbacks_of_a_closed_widget_are_skipped(qtbot, runner) -> None:
    widget = QWidget()
    called: list[object] = []
    gate = threading.Event()
    runner.run(lambda _desk: gate.wait(5), called.append, owner=widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget))
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy)
    assert called == []


def test_the_qt_binding_keeps_reference_counts_across_many_signals(qapp) -> None:
    """PySide6 6.12.0 lost a reference to True on every emission and crashed long
    sessions after a few hundred signals; the pinned range must not."""

    class Emitter(QObject):
        fired = Signal(int)

    emitter = Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for number in range(2000):
        emitter.fired.emit(number)
    assert len(received) == 2000
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before
