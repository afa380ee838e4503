"""Running service calls off the GUI thread.

Every read and write the screens make goes through one :class:`TaskRunner`. It owns a
single worker thread, so database work is serial (one writer, as SQLite wants) and the
GUI thread never waits on the disk. Results come back to the GUI thread by a queued
signal and are handed to the caller's callbacks there.

A user-fixable :class:`~mdt_desk.errors.UserError` goes to the caller's ``on_error``
(shown next to the field, nothing typed is lost). Anything else is a bug: it is logged
with its traceback and reported through :attr:`TaskRunner.bug_found` for the crash
dialog; the store is untouched because the transaction rolled back.
"""

import itertools
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from mdt_desk.errors import UserError
from mdt_desk.services.desk import Desk

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Desk], Any]


@dataclass
class _Pending:
    owner: QObject | None
    on_done: Callable[[Any], None] | None
    on_error: Callable[[UserError], None] | None
    description: str


class _Worker(QObject):
    """Lives in the worker thread; runs one job at a time in arrival order."""

    finished = Signal(int, object, object)  # task id, result, error

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self._desk = desk

    @Slot(int, object)
    def run(self, task_id: int, job: Job) -> None:
        try:
            result = job(self._desk)
        except UserError as error:
            self.finished.emit(task_id, None, error)
        except Exception as error:  # a bug: reported, never allowed to kill the thread
            log.exception("task %s failed", task_id)
            self.finished.emit(task_id, None, error)
        else:
            self.finished.emit(task_id, result, None)


class TaskRunner(QObject):
    """Runs jobs ``job(desk) -> result`` on an owned worker thread, in order.

    Signals:
        busy_changed(bool): work started (True) or the queue ran dry (False).
        bug_found(str): a job raised something that is not a user error; carries the
            traceback text for the crash dialog and the log.
    """

    busy_changed = Signal(bool)
    bug_found = Signal(str)
    _submit = Signal(int, object)

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._thread = QThread()
        self._thread.setObjectName("mdt-desk-store-worker")
        self._worker = _Worker(desk)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.finished.connect(self._on_worker_finished)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def run(
        self,
        job: Callable[[Desk], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[UserError], None] | None = None,
        *,
        owner: QObject | None = None,
        description: str = "",
    ) -> int:
        """Queue ``job``; ``on_done(result)`` or ``on_error(error)`` run later on the GUI thread.

        Args:
            owner: the widget the callbacks belong to; when it has been destroyed by the
                time the job ends, the callbacks are skipped.
            description: what the job does, for the log (never patient details).

        Returns:
            the task id.
        """
        task_id = next(self._ids)
        was_idle = not self._pending
        self._pending[task_id] = _Pending(owner, on_done, on_error, description)
        if was_idle:
            self.busy_changed.emit(True)
        self._submit.emit(task_id, job)
        return task_id

    @Slot(int, object, object)
    def _on_worker_finished(self, task_id: int, result: object, error: object) -> None:
        pending = self._pending.pop(task_id, None)
        try:
            if pending is None:
                return
            if pending.owner is not None and not shiboken6.isValid(pending.owner):
                return
            if isinstance(error, UserError):
                if pending.on_error is not None:
                    pending.on_error(error)
                else:
                    self.bug_found.emit(f"Unhandled: {error}")
            elif isinstance(error, BaseException):
                text = "".join(traceback.format_exception(error))
                self.bug_found.emit(text)
            elif pending.on_done is not None:
                pending.on_done(result)
        finally:
            if not self._pending:
                self.busy_changed.emit(False)

    def shutdown(self) -> None:
        """Finish the job in hand, drop the rest, and stop the thread (at window close)."""
        self._pending.clear()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()
