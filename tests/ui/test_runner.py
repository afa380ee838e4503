"""The task runner: jobs run off the GUI thread, in order, and report back safely."""

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from mdt_desk.errors import RuleError
from mdt_desk.models.store import Store
from mdt_desk.services.changes import Changes
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


# -- typed reads and writes, and what they changed -------------------------------------------


def _add_staff(session, family: str = "Okafor"):
    from mdt_desk.models.enums import Profession
    from mdt_desk.services.staff import add_staff

    return add_staff(
        session, family_name=family, given_name="Ngozi", profession=Profession.SOCIAL_WORKER
    )


def test_a_write_announces_what_it_changed_once_it_has_committed(qtbot, runner) -> None:
    from mdt_desk.services.staff import list_staff

    origin = QWidget()
    seen: list[str] = []
    announced: list[tuple[Changes, object]] = []
    runner.changes_committed.connect(lambda changes, who: announced.append((changes, who)))
    runner.changes_committed.connect(lambda *_: seen.append("announced"))
    runner.write(_add_staff, lambda _member: seen.append("done"), owner=origin)
    qtbot.waitUntil(lambda: not runner.busy)
    assert seen == ["done", "announced"]  # the caller's callback first, then every screen
    [(changes, who)] = announced
    assert changes.staff and changes.sync_state and not changes.actions
    assert who is origin
    # Committed by then: a read queued now sees it.
    names: list[list[str]] = []
    runner.read(lambda session: [m.display_name for m in list_staff(session)], names.append)
    qtbot.waitUntil(lambda: names != [])
    assert names == [["Ngozi Okafor"]]
    assert len(announced) == 1  # a read announces nothing


def test_a_write_that_is_refused_announces_nothing(qtbot, runner) -> None:
    announced: list[Changes] = []
    errors: list[str] = []
    runner.changes_committed.connect(lambda changes, _who: announced.append(changes))

    def refuse(session) -> None:
        _add_staff(session)
        raise RuleError("Not today.")

    runner.write(refuse, None, lambda error: errors.append(str(error)))
    qtbot.waitUntil(lambda: not runner.busy)
    assert errors == ["Not today."]
    assert announced == []  # rolled back: nothing changed


def test_a_desk_job_that_committed_before_it_failed_still_announces(qtbot, runner) -> None:
    announced: list[Changes] = []
    runner.changes_committed.connect(lambda changes, _who: announced.append(changes))

    def half(desk: Desk) -> None:
        with desk.write() as session:
            _add_staff(session)
        raise RuleError("The second half was refused.")

    runner.run(half, None, lambda _error: None)
    qtbot.waitUntil(lambda: not runner.busy)
    assert len(announced) == 1 and announced[0].staff


def test_a_closed_widget_misses_its_callback_but_the_change_is_announced(qtbot, runner) -> None:
    widget = QWidget()
    gate = threading.Event()
    called: list[object] = []
    announced: list[tuple[Changes, object]] = []
    runner.changes_committed.connect(lambda changes, who: announced.append((changes, who)))

    def slow(session):
        gate.wait(5)
        return _add_staff(session)

    runner.write(slow, called.append, owner=widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget))
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy)
    assert called == []
    assert len(announced) == 1 and announced[0][1] is None


@pytest.mark.slow
def test_each_job_gets_the_desk_current_when_it_was_queued(qtbot, runner) -> None:
    import dataclasses

    first = runner.desk
    second = dataclasses.replace(first, actor_name="Someone else")
    gate = threading.Event()
    desks: list[Desk] = []
    swapped: list[Desk] = []
    runner.desk_changed.connect(swapped.append)

    def record(desk: Desk) -> None:
        gate.wait(5)
        desks.append(desk)

    runner.run(record)  # queued before the swap, still running during it
    runner.set_desk(second)
    runner.set_desk(second)  # the same desk again: no second announcement
    runner.run(desks.append)
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy)
    assert desks == [first, second]
    assert swapped == [second]
    assert runner.desk is second
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(first, "actor_name", "changed under a worker")  # noqa: B010 - frozen


def test_a_user_error_nobody_handles_is_shown_plainly_not_as_a_crash(qtbot, tmp_path) -> None:
    store = Store.open(tmp_path / "desk.sqlite")
    runner = TaskRunner(Desk.for_store(store))
    bugs: list[str] = []
    shown: list[str] = []
    runner.bug_found.connect(bugs.append)
    runner.user_error_unhandled.connect(shown.append)

    def refused(_desk: Desk) -> None:
        raise RuleError("The store is busy: another program is writing to it.")

    runner.run(refused)
    qtbot.waitUntil(lambda: not runner.busy)
    assert shown == ["The store is busy: another program is writing to it."]
    assert bugs == []
    runner.shutdown()
    store.close()


# -- nothing fails unsaid; what a write changed is never left unsaid -------------------------


def test_a_failure_of_a_closed_widget_still_reaches_the_user(qtbot, runner) -> None:
    widget = QWidget()
    gate = threading.Event()
    called: list[object] = []
    shown: list[str] = []
    bugs: list[str] = []
    runner.user_error_unhandled.connect(shown.append)
    runner.bug_found.connect(bugs.append)

    def refused(_desk: Desk) -> None:
        gate.wait(5)
        raise RuleError("The disk holding the store is full.")

    def broken(_desk: Desk) -> None:
        raise ZeroDivisionError

    runner.run(refused, called.append, called.append, owner=widget)
    runner.run(broken, called.append, called.append, owner=widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget))
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy)
    assert called == []  # the closed widget's own callbacks are skipped…
    assert shown == ["The disk holding the store is full."]  # …but the window says it
    assert len(bugs) == 1 and "ZeroDivisionError" in bugs[0]


def _unreadable_journal(_session) -> int:
    from mdt_desk.errors import StoreDiskError

    raise StoreDiskError("The disk reported an error while MDT Desk was reading the store.")


def test_a_write_whose_changes_cannot_be_measured_announces_everything(
    qtbot, runner, monkeypatch
) -> None:
    import mdt_desk.ui.runner as runner_module

    announced: list[Changes] = []
    runner.changes_committed.connect(lambda changes, _who: announced.append(changes))
    monkeypatch.setattr(runner_module, "journal_mark", _unreadable_journal)
    runner.write(_add_staff)
    qtbot.waitUntil(lambda: not runner.busy)
    assert announced == [Changes.everything()]  # every screen reloads; none is left stale


def test_a_local_job_is_not_measured_and_announces_nothing(qtbot, runner, monkeypatch) -> None:
    import mdt_desk.ui.runner as runner_module

    announced: list[Changes] = []
    done: list[int] = []
    runner.changes_committed.connect(lambda changes, _who: announced.append(changes))
    monkeypatch.setattr(runner_module, "journal_mark", _unreadable_journal)
    runner.run_local(lambda _desk: 3, done.append)
    qtbot.waitUntil(lambda: not runner.busy)
    assert done == [3]
    assert announced == []


def test_finish_queued_hands_out_every_result_before_it_returns(runner) -> None:
    seen: list[object] = []

    def slow(_desk: Desk) -> str:
        threading.Event().wait(0.2)
        return "saved"

    def refused(_desk: Desk) -> None:
        raise RuleError("The store is busy.")

    runner.run(slow, seen.append)
    runner.run(refused, None, lambda error: seen.append(str(error)))
    runner.finish_queued()  # no event loop runs here: the results came with the wait
    assert seen == ["saved", "The store is busy."]
    assert not runner.busy


def test_a_job_that_fails_while_the_runner_shuts_down_is_still_reported(tmp_path, qapp) -> None:
    store = Store.open(tmp_path / "desk.sqlite")
    runner = TaskRunner(Desk.for_store(store))
    shown: list[str] = []
    called: list[object] = []
    runner.user_error_unhandled.connect(shown.append)

    def last_save(_desk: Desk) -> None:
        raise RuleError("The disk holding the store is full.")

    runner.run(last_save, called.append, called.append, owner=None)
    runner.shutdown()
    store.close()
    assert shown == ["The disk holding the store is full."]  # never dropped unsaid
    assert called == []  # the closing window's callbacks are not run


def test_a_new_desk_is_swapped_in_even_when_its_owner_has_closed(qtbot, runner) -> None:
    import dataclasses

    widget = QWidget()
    gate = threading.Event()
    called: list[object] = []
    swapped: list[Desk] = []
    runner.desk_changed.connect(swapped.append)
    signed_in = dataclasses.replace(runner.desk, actor_name="Someone else")

    def sign_in(_desk: Desk) -> Desk:
        gate.wait(5)
        return signed_in

    runner.change_desk(sign_in, called.append, owner=widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget))
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy)
    assert runner.desk is signed_in  # applied whole, though nobody was left to ask
    assert swapped == [signed_in]
    assert called == []
