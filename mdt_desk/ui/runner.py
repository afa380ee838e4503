"""Running service calls off the GUI thread, and telling the screens what changed.

Every read and write the screens make goes through one :class:`TaskRunner`. It owns a
single worker thread, so database work is serial (one writer, as SQLite wants) and the
GUI thread never waits on the disk. Results come back to the GUI thread by a queued
signal and are handed to the caller's callbacks there.

Operations are typed (``docs/architecture.md``, "Operations and what changed"):

* :meth:`TaskRunner.read` runs ``call(session)`` in a read session. It changes nothing.
* :meth:`TaskRunner.write` runs ``call(session)`` in a journalled write made by the
  signed-in person. Once it has committed, the runner reads what the transaction wrote
  from the change journal and broadcasts it as a
  :class:`~mdt_desk.services.changes.Changes` value on :attr:`TaskRunner.changes_committed`,
  with the widget that asked, so every screen can decide for itself whether to reload.
* :meth:`TaskRunner.run` runs a job that needs the whole desk (a demo, an import that
  opens its own transactions). It is measured like a write, so nothing it commits goes
  unannounced. When the journal cannot be read to measure it, every screen is told that
  everything may have changed: a needless reload costs a read, a stale screen misleads.
* :meth:`TaskRunner.run_local` runs a job that writes only this desk's own working state
  (drafts), which is never journalled: nothing is measured and nothing announced.
* :meth:`TaskRunner.change_desk` runs a job that makes a new desk (signing in) and
  swaps it in as soon as the job ends, whoever asked and whether or not they are still
  open, so a sign-in is applied whole or not at all.

The desk (who is signed in) is immutable: :meth:`TaskRunner.set_desk` swaps in a new
one on the GUI thread and announces it on :attr:`TaskRunner.desk_changed`. Each job is
handed the desk current when it was queued.

A user-fixable :class:`~mdt_desk.errors.UserError` goes to the caller's ``on_error``
(shown next to the field, nothing typed is lost). Anything else is a bug: it is logged
with its traceback and reported through :attr:`TaskRunner.bug_found` for the crash
dialog; the store is untouched because the transaction rolled back. A job whose owner
was closed before it ended, or that had no ``on_error``, or that ends while the window
shuts down, still reports its failure: through :attr:`TaskRunner.user_error_unhandled`
(the main window's status bar and a message) or :attr:`TaskRunner.bug_found`. No
failure is dropped unsaid.
"""

import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services.changes import NOTHING, Changes, changes_since, journal_mark
from mdt_desk.services.desk import Desk

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Desk], Any]
SessionCall = Callable[[Session], T]


@dataclass
class _Pending:
    owner: QObject | None
    on_done: Callable[[Any], None] | None
    on_error: Callable[[UserError], None] | None
    description: str
    changes_desk: bool = False  # the result is a new desk, made current when it arrives


@dataclass(frozen=True, slots=True)
class _Task:
    """One queued job, with the desk current when it was queued."""

    task_id: int
    job: Job
    desk: Desk
    measured: bool  # find what it committed in the journal afterwards


def _stop_worker_thread(_desk: Desk) -> None:
    """The last job of all: ends the worker thread's event loop from inside it."""
    thread = QThread.currentThread()
    if thread is not None:
        thread.quit()


class _Worker(QObject):
    """Lives in the worker thread; runs one job at a time in arrival order."""

    finished = Signal(int, object, object, object)  # task id, result, error, Changes

    @Slot(object)
    def run(self, task: _Task) -> None:
        mark = self._mark(task) if task.measured else None
        unmeasurable = task.measured and mark is None
        result: object = None
        error: BaseException | None = None
        try:
            result = task.job(task.desk)
        except UserError as refused:
            error = refused
        except Exception as bug:  # a bug: reported, never allowed to kill the thread
            log.exception("task %s failed", task.task_id)
            error = bug
        # Measured even when the job failed: a job of several transactions may have
        # committed some before it stopped, and the screens must hear of those.
        if mark is not None:
            changes = self._changes(task, mark)
        elif unmeasurable:
            changes = Changes.everything()  # what it wrote is unknown: no screen left stale
        else:
            changes = NOTHING
        self.finished.emit(task.task_id, result, error, changes)

    @staticmethod
    def _mark(task: _Task) -> int | None:
        try:
            with task.desk.read() as session:
                return journal_mark(session)
        except Exception:  # a store that cannot be read: the job will say why
            log.exception("could not read the journal before task %s", task.task_id)
            return None

    @staticmethod
    def _changes(task: _Task, mark: int) -> Changes:
        try:
            with task.desk.read() as session:
                return changes_since(session, mark)
        except Exception:
            log.exception("could not read what task %s changed", task.task_id)
            return Changes.everything()  # never leave a screen stale for want of a read


def originates_in(origin: QObject | None, widget: QObject) -> bool:
    """``origin`` is ``widget`` or one of its children (a tab, a dialog it opened)."""
    current = origin
    while current is not None:
        if current is widget:
            return True
        current = current.parent()
    return False


class TaskRunner(QObject):
    """Runs jobs on an owned worker thread, in order, and announces what they changed.

    Signals:
        busy_changed(bool): work started (True) or the queue ran dry (False).
        bug_found(str): a job raised something that is not a user error; carries the
            traceback text for the crash dialog and the log.
        user_error_unhandled(str): a job failed for a reason the user can fix (the store
            is busy, the disk is full...) and nobody is left to show it: the caller gave
            no error handler, its owner was closed before the job ended, or the window
            is shutting down. Carries the message to show. Never a crash dialog:
            nothing is wrong with the program.
        changes_committed(Changes, QObject | None): a write committed; carries what it
            changed and the widget that asked for it (None for sync and the window).
        desk_changed(Desk): someone else is signed in (or the hub changed).
    """

    busy_changed = Signal(bool)
    bug_found = Signal(str)
    user_error_unhandled = Signal(str)
    changes_committed = Signal(object, object)
    desk_changed = Signal(object)
    _submit = Signal(object)

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._shutting_down = False
        self._thread = QThread()
        self._thread.setObjectName("mdt-desk-store-worker")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.finished.connect(self._on_worker_finished)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def desk(self) -> Desk:
        """The desk now: who is signed in. Swapped only by :meth:`set_desk`."""
        return self._desk

    def set_desk(self, desk: Desk) -> None:
        """Make ``desk`` current (GUI thread) and announce it; queued jobs keep theirs."""
        if desk == self._desk:
            return
        self._desk = desk
        self.desk_changed.emit(desk)

    # -- the typed operations ----------------------------------------------------------

    def read(
        self,
        call: SessionCall[T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Run ``call(session)`` in a read session; ``on_done(result)`` on the GUI thread."""

        def job(desk: Desk) -> T:
            with desk.read() as session:
                return call(session)

        return self._queue(job, on_done, on_error, owner, description, measured=False)

    def write(
        self,
        call: SessionCall[T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Run ``call(session)`` in a journalled write by the signed-in person.

        Once it has committed, :attr:`changes_committed` carries what it changed (after
        ``on_done`` has run), with ``owner`` as its origin.
        """

        def job(desk: Desk) -> T:
            with desk.write() as session:
                return call(session)

        return self._queue(job, on_done, on_error, owner, description, measured=True)

    def run(
        self,
        job: Callable[[Desk], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Queue ``job(desk)``; ``on_done(result)`` or ``on_error(error)`` follow on the GUI
        thread.

        For work that needs the desk itself (several transactions, the store's file).
        Whatever it commits is announced as a write's is.

        Args:
            owner: the widget the callbacks belong to; when it has been destroyed by the
                time the job ends, the callbacks are skipped (the changes are still
                announced, and a failure goes to :attr:`user_error_unhandled` or
                :attr:`bug_found` instead of ``on_error``).
            description: what the job does, for the log (never patient details).

        Returns:
            the task id.
        """
        return self._queue(job, on_done, on_error, owner, description, measured=True)

    def run_local(
        self,
        job: Callable[[Desk], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Queue ``job(desk)`` that writes only this desk's own, never journalled, state.

        For drafts (``Store.local_write``): there is nothing in the journal to measure,
        so the job is not measured and announces nothing. Measuring it would cost two
        reads on every save while someone types, and announce everything whenever the
        journal could not be read. Callbacks as for :meth:`run`.
        """
        return self._queue(job, on_done, on_error, owner, description, measured=False)

    def change_desk(
        self,
        job: Callable[[Desk], Desk],
        on_done: Callable[[Desk], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Queue ``job(desk)`` that returns a new desk (a sign-in), and make it current.

        The new desk is swapped in (:meth:`set_desk`, so every screen and the status bar
        hear ``desk_changed``) as soon as the job ends, before ``on_done`` and whether
        or not ``owner`` is still open: the job has already recorded the sign-in in the
        store, so a dialog closed meanwhile must not leave the window working as the
        previous person. Callbacks as for :meth:`run`.
        """
        return self._queue(
            job, on_done, on_error, owner, description, measured=True, changes_desk=True
        )

    def announce(self, changes: Changes, origin: QObject | None = None) -> None:
        """Tell every screen that ``changes`` committed (e.g. what a sync brought in)."""
        if changes:
            self.changes_committed.emit(changes, origin)

    def after_queued(self, on_done: Callable[[None], None], *, owner: QObject | None) -> int:
        """Call ``on_done(None)`` once everything queued so far has finished."""
        return self._queue(lambda _desk: None, on_done, None, owner, "", measured=False)

    # -- the queue ----------------------------------------------------------------------

    def _queue(
        self,
        job: Job,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[UserError], None] | None,
        owner: QObject | None,
        description: str,
        *,
        measured: bool,
        changes_desk: bool = False,
    ) -> int:
        task_id = next(self._ids)
        was_idle = not self._pending
        self._pending[task_id] = _Pending(owner, on_done, on_error, description, changes_desk)
        if was_idle:
            self.busy_changed.emit(True)
        self._submit.emit(_Task(task_id, job, self._desk, measured))
        return task_id

    @Slot(int, object, object, object)
    def _on_worker_finished(
        self, task_id: int, result: object, error: object, changes: Changes
    ) -> None:
        pending = self._pending.pop(task_id, None)
        if pending is None:
            return  # the marker of finish_queued or shutdown: nobody waits on it
        try:
            self._hand_out(pending, result, error, changes)
        finally:
            if not self._pending:
                self.busy_changed.emit(False)

    def _hand_out(self, pending: _Pending, result: object, error: object, changes: Changes) -> None:
        if pending.changes_desk and error is None and isinstance(result, Desk):
            self.set_desk(result)  # first, whoever asked: see change_desk
        owner = pending.owner
        owner_gone = owner is not None and not shiboken6.isValid(owner)
        # A closed widget, or a window shutting down, can show nothing; its failure
        # still reaches the person through the window (or at least the log).
        callbacks_wanted = not owner_gone and not self._shutting_down
        if isinstance(error, UserError):
            if callbacks_wanted and pending.on_error is not None:
                pending.on_error(error)
            else:
                log.warning(
                    "%s failed with nobody to show it: %s",
                    pending.description or "a task",
                    type(error).__name__,
                )
                self.user_error_unhandled.emit(str(error))
        elif isinstance(error, BaseException):
            text = "".join(traceback.format_exception(error))
            self.bug_found.emit(text)
        elif callbacks_wanted and pending.on_done is not None:
            pending.on_done(result)
        if owner is not None and not shiboken6.isValid(owner):
            owner = None  # closed before the job ended, or by on_done
        if not self._shutting_down:  # no screen is left to reload, nor a thread to read
            self.announce(changes, owner)

    def finish_queued(self) -> None:
        """Wait until every job queued so far has ended, and hand out their results now.

        Blocks the GUI thread, so it is for closing only: the window must know whether
        the last saves of what was typed went through before it decides to close. The
        results are already posted to this thread; only the runner's own are delivered
        (no event loop runs, so nothing else happens inside the close).
        """
        if not self._pending or not self._thread.isRunning():
            return
        drained = threading.Event()

        def mark_drained(_desk: Desk) -> None:
            drained.set()

        self._submit.emit(_Task(0, mark_drained, self._desk, measured=False))
        drained.wait()
        self._deliver_posted_results()

    def _deliver_posted_results(self) -> None:
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall.value)

    def shutdown(self) -> None:
        """Run the jobs already queued, and stop the thread (at close).

        The queued jobs include the last saves of what was typed (drafts, meeting
        capture), so they run; ``QThread.quit`` from here could drop some of them, so the
        worker is asked to stop through its own queue, after them. Their callbacks are
        skipped (the window is going), but a failure is still reported through
        :attr:`user_error_unhandled` or :attr:`bug_found`, and logged: the window should
        have waited for its last saves first (:meth:`finish_queued`), so a failure here
        is never silent.
        """
        self._shutting_down = True
        if self._thread.isRunning():
            self._submit.emit(_Task(0, _stop_worker_thread, self._desk, measured=False))
            self._thread.wait()
        self._deliver_posted_results()
        self._pending.clear()
