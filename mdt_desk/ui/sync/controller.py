"""Syncing with the team hub in the background, on a thread of its own.

The :class:`SyncController` lives on the GUI thread and owns one worker thread for
sync. It is separate from the store runner (:mod:`mdt_desk.ui.runner`): a hub that is
slow to answer, or not there, must never hold up the reads and writes of the screens.
The worker opens its own :class:`~mdt_desk.models.store.Store` on the desk's file
(SQLite connections belong to one thread) and its own hub engine.

What the person sees is a :class:`SyncStatus`, sent by :attr:`SyncController.state_changed`
whenever it changes. Hub problems are sorted as the design asks: an unreachable hub is
"offline" (the desk keeps working and tries again on the timer); a refused sync (clock
skew, another hub, a copied desk, an old desk) is an "error" with the hub's message, and
every edit stays in the outbox. A bug is logged with its traceback, never shown as one.

The hub password reaches the worker as an argument and stays in its memory: it is never
logged, emitted or shown; addresses shown anywhere are :func:`~mdt_desk.sync.hub.redacted`.
"""

import datetime as dt
import itertools
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mdt_desk.errors import UserError
from mdt_desk.models import Practice
from mdt_desk.models.store import Store
from mdt_desk.services.access import Permission, Principal
from mdt_desk.services.changes import NOTHING, Changes, changes_since, journal_mark
from mdt_desk.services.display import practice_display_name
from mdt_desk.sync import credentials
from mdt_desk.sync.client import (
    META_HUB_ID,
    META_LAST_SYNC,
    SyncReport,
    chain_alarms,
    edits_waiting,
    open_review_count,
    sync_once,
)
from mdt_desk.sync.desk_scope import DeskScope, change_scope, desk_scope, held
from mdt_desk.sync.hub import (
    HubError,
    HubUnreachableError,
    hub_engine,
    read_hub_info,
    redacted,
    without_password,
)
from mdt_desk.sync.status import HubStatus, read_hub_status

log = logging.getLogger(__name__)

#: Minutes between background syncs while a hub is configured.
DEFAULT_INTERVAL_MINUTES = 5
#: Seconds between refreshes of the "waiting" and "to review" counts between syncs.
COUNTS_INTERVAL_SECONDS = 30

_BUG_MESSAGE = (
    "an unexpected problem stopped the sync; it is recorded in the log. "
    "Your changes are kept on this desk."
)
_NO_STORE = "MDT Desk could not open this desk's store for sync."
_SCOPE_NOT_READ = "This desk's practices could not be read; it is recorded in the log."
_NOT_AN_ADDRESS = (
    "That is not a hub address: give a database address such as "
    "postgresql://user@host/team or sqlite:///path/to/team-hub.sqlite."
)


class SyncState(StrEnum):
    """Where this desk stands with the team hub (compares equal to its string value)."""

    LOCAL_ONLY = "local_only"
    SYNCING = "syncing"
    SYNCED = "synced"
    WAITING = "waiting"
    OFFLINE = "offline"
    NEEDS_REVIEW = "needs_review"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows about sync.

    Attributes:
        state: see :class:`SyncState`.
        waiting: edits made on this desk (saves, not fields) the hub has not acknowledged.
        conflicts: open "Needs review" items.
        last_sync: when the last sync finished (UTC), or None if never.
        message: for "offline" and "error", what went wrong, fit to show (no password).
        alarms: records pulled from the hub that failed their desk's hash chain and were
            set aside, each in words naming the desk, the sequence and the record
            (``sync.client.chain_alarms``), newest first. They stay: there is no
            acknowledging them yet.
    """

    state: SyncState
    waiting: int = 0
    conflicts: int = 0
    last_sync: dt.datetime | None = None
    message: str = ""
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    """The answer to :meth:`SyncController.test_connection`."""

    request_id: int
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class HubStatusAnswer:
    """The answer to :meth:`SyncController.read_hub_status`: the status, or why not."""

    request_id: int
    status: HubStatus | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ScopePractice:
    """A practice on this desk, as the scope list shows it."""

    id: str
    ods_code: str
    name: str


@dataclass(frozen=True, slots=True)
class ScopeAnswer:
    """The answer to :meth:`SyncController.read_scope` and :meth:`~SyncController.change_scope`.

    Attributes:
        scope: the desk's scope now (None when it could not be read or changed).
        practices: every practice on this desk, by ODS code.
        held: the ids of the practices it holds whole now (None: all, or not yet scoped).
        message: why not, in words (empty when it worked).
        changed: the answer to a change (not a read).
    """

    request_id: int
    scope: DeskScope | None
    practices: tuple[ScopePractice, ...] = ()
    held: frozenset[str] | None = None
    message: str = ""
    changed: bool = False


@dataclass(frozen=True, slots=True)
class _Counts:
    waiting: int
    conflicts: int
    last_sync: dt.datetime | None
    alarms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Outcome:
    #: OFFLINE or ERROR when the sync failed, LOCAL_ONLY when there was no hub, else None
    failure: SyncState | None
    message: str
    report: SyncReport | None
    counts: _Counts | None
    #: what the pull applied to this desk's records (also after a failure part way)
    changes: Changes = NOTHING


def _is_sqlite(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() == "sqlite"
    except (ArgumentError, ValueError):
        return False


class _SyncWorker(QObject):
    """Lives on the sync thread: owns its store connection and the hub engine."""

    opened = Signal(object)  # _Counts, or None when the store could not be opened
    configured = Signal(str, bool)  # address as shown ("" = none), a password is known
    counted = Signal(object)  # _Counts
    sync_started = Signal()
    sync_finished = Signal(object)  # _Outcome
    tested = Signal(object)  # ConnectionTest
    status_read = Signal(object)  # HubStatusAnswer
    scope_answered = Signal(object)  # ScopeAnswer
    progressed = Signal(str, int, int)  # "push" or "pull", changes done, changes in all

    def __init__(
        self, store_path: Path, label: str, cancel: threading.Event, closing: threading.Event
    ) -> None:
        super().__init__()
        self._path = store_path
        self._label = label
        self._cancel = cancel
        self._closing = closing
        self._store: Store | None = None
        self._store_error = ""
        self._engine: Engine | None = None
        self._engine_error = ""
        self._url: str | None = None
        self._shown = ""
        self._password: str | None = None

    # -- the store -------------------------------------------------------------------

    @Slot()
    def open(self) -> None:
        try:
            self._store = Store.open(self._path, create=False)
        except UserError as error:
            self._store_error = str(error)
        except Exception:
            log.exception("the sync worker could not open the store")
            self._store_error = "MDT Desk could not open this desk's store for sync."
        self.opened.emit(self._counts() if self._store is not None else None)

    def _counts(self) -> _Counts | None:
        store = self._store
        if store is None:
            return None
        try:
            last_text = store.get_meta(META_LAST_SYNC)
            last = dt.datetime.fromisoformat(last_text) if last_text else None
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=dt.UTC)
            alarms = tuple(alarm.describe() for alarm in chain_alarms(store))
            return _Counts(edits_waiting(store), open_review_count(store), last, alarms)
        except Exception:  # a busy or damaged store: the counts wait for next time
            log.exception("could not count the sync outbox")
            return None

    @Slot()
    def count(self) -> None:
        if self._closing.is_set():
            return
        counts = self._counts()
        if counts is not None:
            self.counted.emit(counts)

    # -- the hub ---------------------------------------------------------------------

    def _password_for(self, url: str, password: str | None) -> str | None:
        """The password to use: the one given, this run's one, or the keyring's."""
        if _is_sqlite(url):
            return None  # a SQLite hub has none (and its URL cannot carry one)
        if password is not None:
            return password
        if url == self._url and self._password is not None:
            return self._password
        return credentials.load_password(url)

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None

    @Slot(object, object)
    def configure(self, url: str | None, password: str | None) -> None:
        self._dispose()
        self._engine_error = ""
        if not url:
            self._url, self._shown, self._password = None, "", None
            self.configured.emit("", False)
            return
        password = self._password_for(url, password)
        self._url, self._shown, self._password = url, redacted(url), password
        try:
            self._engine = hub_engine(url, password=password)
        except HubError as error:
            self._engine_error = str(error)
        except (ArgumentError, ValueError):
            self._engine_error = _NOT_AN_ADDRESS
        has_password = password is not None
        if not has_password and not _is_sqlite(url):
            try:
                has_password = make_url(url).password is not None
            except (ArgumentError, ValueError):
                has_password = False
        log.info("sync configured for %s", self._shown)
        self.configured.emit(self._shown, has_password)

    @Slot()
    def sync(self) -> None:
        if self._closing.is_set():
            return
        store, engine = self._store, self._engine
        if store is None:
            self.sync_finished.emit(_Outcome(SyncState.ERROR, self._store_error, None, None))
            return
        if self._url is None:
            self.sync_finished.emit(_Outcome(SyncState.LOCAL_ONLY, "", None, self._counts()))
            return
        if engine is None:
            self.sync_finished.emit(
                _Outcome(SyncState.ERROR, self._engine_error, None, self._counts())
            )
            return
        self.sync_started.emit()
        failure: SyncState | None = None
        message = ""
        report: SyncReport | None = None
        mark = self._journal_mark(store)
        try:
            report = sync_once(
                store,
                engine,
                # Kept by the store as its hub's address: never with a password, not even
                # a masked one.
                address=without_password(self._url or ""),
                label=self._label,
                should_stop=lambda: self._cancel.is_set() or self._closing.is_set(),
                progress=self.progressed.emit,
            )
        except HubUnreachableError as error:
            failure, message = SyncState.OFFLINE, str(error)
            log.info("team hub %s not reachable", self._shown)
        except UserError as error:  # clock skew, another hub, a copied desk, too old
            failure, message = SyncState.ERROR, str(error)
            log.warning("sync with %s refused: %s", self._shown, type(error).__name__)
        except Exception:
            failure, message = SyncState.ERROR, _BUG_MESSAGE
            log.exception("sync with %s failed", self._shown)
        else:
            log.info(
                "synced with %s: %d sent, %d received, %d to review",
                self._shown,
                report.pushed,
                report.pulled,
                report.conflicts,
            )
        changes = self._applied_since(store, mark)
        self.sync_finished.emit(_Outcome(failure, message, report, self._counts(), changes))

    @staticmethod
    def _journal_mark(store: Store) -> int | None:
        try:
            with store.read() as session:
                return journal_mark(session)
        except Exception:  # a busy store: whatever the pull applies is announced as all
            log.exception("could not read the journal before a sync")
            return None

    @staticmethod
    def _applied_since(store: Store, mark: int | None) -> Changes:
        """What the pages applied by this sync changed (read from the journal)."""
        if mark is None:
            return Changes.everything()
        try:
            with store.read() as session:
                return changes_since(session, mark)
        except Exception:
            log.exception("could not read what a sync applied")
            return Changes.everything()  # never leave a screen stale for want of a read

    @Slot(int, object, object)
    def test(self, request_id: int, url: str, password: str | None) -> None:
        if self._closing.is_set():
            return
        try:
            engine = hub_engine(url, password=self._password_for(url, password))
            try:
                info = read_hub_info(engine)
            finally:
                engine.dispose()
        except HubError as error:
            self.tested.emit(ConnectionTest(request_id, False, str(error)))
            return
        except (ArgumentError, ValueError):
            self.tested.emit(ConnectionTest(request_id, False, _NOT_AN_ADDRESS))
            return
        except Exception:
            log.exception("testing the connection to %s failed", redacted(url))
            self.tested.emit(
                ConnectionTest(
                    request_id, False, "The test failed unexpectedly; it is recorded in the log."
                )
            )
            return
        bound = self._store.get_meta(META_HUB_ID) if self._store is not None else None
        if bound and bound != info.hub_id.hex:
            self.tested.emit(
                ConnectionTest(
                    request_id,
                    False,
                    "That is a team hub, but this desk belongs to another one, so it "
                    "cannot sync with it. To join this hub, set up a new desk from it.",
                )
            )
            return
        kind = "PostgreSQL" if info.dialect == "postgresql" else "SQLite file"
        self.tested.emit(
            ConnectionTest(request_id, True, f"Connected: the team hub answered ({kind}).")
        )

    @Slot(int, object, object)
    def read_status(self, request_id: int, url: str, password: str | None) -> None:
        if self._closing.is_set():
            return
        try:
            engine = hub_engine(url, password=self._password_for(url, password))
            try:
                status = read_hub_status(engine)
            finally:
                engine.dispose()
        except HubError as error:
            self.status_read.emit(HubStatusAnswer(request_id, None, str(error)))
            return
        except (ArgumentError, ValueError):
            self.status_read.emit(HubStatusAnswer(request_id, None, _NOT_AN_ADDRESS))
            return
        except Exception:
            log.exception("reading the status of %s failed", redacted(url))
            self.status_read.emit(
                HubStatusAnswer(
                    request_id, None, "The hub's status could not be read; it is in the log."
                )
            )
            return
        self.status_read.emit(HubStatusAnswer(request_id, status))

    def _scope_answer(self, request_id: int, *, changed: bool = False) -> ScopeAnswer:
        store = self._store
        if store is None:
            return ScopeAnswer(request_id, None, message=self._store_error or _NO_STORE)
        with store.read() as session:
            rows = session.execute(
                select(Practice.id, Practice.ods_code, Practice.name)
                .where(Practice.retired_at.is_(None))
                .order_by(Practice.ods_code)
            ).all()
        practices = tuple(
            ScopePractice(str(row_id).replace("-", ""), str(code), practice_display_name(str(name)))
            for row_id, code, name in rows
        )
        return ScopeAnswer(request_id, desk_scope(store), practices, held(store), changed=changed)

    @Slot(int)
    def read_scope(self, request_id: int) -> None:
        if self._closing.is_set():
            return
        try:
            answer = self._scope_answer(request_id)
        except Exception:
            log.exception("reading this desk's practices failed")
            answer = ScopeAnswer(request_id, None, message=_SCOPE_NOT_READ)
        self.scope_answered.emit(answer)

    @Slot(int, object, object, object, object)
    def change_scope(
        self,
        request_id: int,
        url: str,
        password: str | None,
        scope: DeskScope,
        principal: Principal | None,
    ) -> None:
        if self._closing.is_set():
            return
        try:
            if principal is not None:
                principal.require(Permission.HUB_SETTINGS)  # an administrator's choice
            store = self._store
            if store is None:
                raise UserError(self._store_error or _NO_STORE)
            engine = hub_engine(url, password=self._password_for(url, password))
            try:
                change_scope(store, engine, scope)
            finally:
                engine.dispose()
            answer = self._scope_answer(request_id, changed=True)
        except (UserError, HubError) as error:
            answer = ScopeAnswer(request_id, None, message=str(error), changed=True)
        except (ArgumentError, ValueError):
            answer = ScopeAnswer(request_id, None, message=_NOT_AN_ADDRESS, changed=True)
        except Exception:
            log.exception("changing this desk's practices at %s failed", redacted(url))
            answer = ScopeAnswer(
                request_id,
                None,
                message="This desk's practices were not changed: an unexpected problem "
                "stopped it; it is recorded in the log.",
                changed=True,
            )
        self.scope_answered.emit(answer)

    @Slot()
    def close(self) -> None:
        """The last job: let go of the hub and the store, then end the thread."""
        self._dispose()
        self._password = None
        if self._store is not None:
            self._store.close()
            self._store = None
        thread = QThread.currentThread()
        if thread is not None:
            thread.quit()


class SyncController(QObject):
    """Syncs the desk at ``store_path`` with its team hub, in the background.

    Args:
        store_path: the desk's store file (the worker opens its own connection to it).
        label: how this desk is named at the hub (e.g. the signed-in person's name).
        interval_minutes: minutes between background syncs while a hub is configured.

    Signals:
        state_changed(SyncStatus): the status bar's words need to change.
        synced(SyncReport): a sync finished.
        changes_applied(Changes): a sync (even one that failed part way) applied other
            desks' changes to this one; the window passes them to the task runner,
            which tells every screen (``TaskRunner.announce``).
        connection_tested(ConnectionTest): the answer to :meth:`test_connection`.
        hub_status_read(HubStatusAnswer): the answer to :meth:`read_hub_status`.
        scope_answered(ScopeAnswer): the answer to :meth:`read_scope` or
            :meth:`change_scope`.
        progressed(str, int, int): a sync's progress, ``("push" or "pull", changes
            done, changes in all; or "records", records taken in of all a widened
            scope's)`` (the progress bar of a long first sync or a widening).
    """

    state_changed = Signal(object)
    synced = Signal(object)
    changes_applied = Signal(object)
    connection_tested = Signal(object)
    hub_status_read = Signal(object)
    scope_answered = Signal(object)
    progressed = Signal(str, int, int)

    _configure_requested = Signal(object, object)
    _sync_requested = Signal()
    _count_requested = Signal()
    _test_requested = Signal(int, object, object)
    _status_requested = Signal(int, object, object)
    _scope_requested = Signal(int)
    _scope_change_requested = Signal(int, object, object, object, object)
    _close_requested = Signal()

    def __init__(
        self,
        store_path: Path | str,
        *,
        label: str = "",
        interval_minutes: float = DEFAULT_INTERVAL_MINUTES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        self._configured = False
        self._hub_address = ""
        self._has_password = False
        self._syncing = False
        self._again = False
        self._failure: SyncState | None = None
        self._message = ""
        self._waiting = 0
        self._conflicts = 0
        self._last_sync: dt.datetime | None = None
        self._alarms: tuple[str, ...] = ()
        self._status = SyncStatus(SyncState.LOCAL_ONLY)
        self._test_ids = itertools.count(1)

        self._timer = QTimer(self)
        self._timer.setObjectName("sync_timer")
        self._timer.timeout.connect(self.sync_now)
        self.set_interval_minutes(interval_minutes)
        self._counts_timer = QTimer(self)
        self._counts_timer.setObjectName("sync_counts_timer")
        self._counts_timer.setInterval(COUNTS_INTERVAL_SECONDS * 1000)
        self._counts_timer.timeout.connect(self.refresh_counts)

        self._thread = QThread()
        self._thread.setObjectName("mdt-desk-sync-worker")
        self.store_path = Path(store_path)
        self._worker = _SyncWorker(self.store_path, label, self._cancel, self._closing)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.open)
        self._configure_requested.connect(self._worker.configure)
        self._sync_requested.connect(self._worker.sync)
        self._count_requested.connect(self._worker.count)
        self._test_requested.connect(self._worker.test)
        self._status_requested.connect(self._worker.read_status)
        self._scope_requested.connect(self._worker.read_scope)
        self._scope_change_requested.connect(self._worker.change_scope)
        self._close_requested.connect(self._worker.close)
        self._worker.opened.connect(self._on_worker_opened)
        self._worker.configured.connect(self._on_worker_configured)
        self._worker.counted.connect(self._on_worker_counted)
        self._worker.sync_finished.connect(self._on_worker_sync_finished)
        self._worker.tested.connect(self.connection_tested)
        self._worker.status_read.connect(self.hub_status_read)
        self._worker.scope_answered.connect(self.scope_answered)
        self._worker.progressed.connect(self.progressed)
        self._thread.start()

    # -- what the window asks ---------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        return self._status

    @property
    def configured(self) -> bool:
        """A hub is set (the desk is not local only)."""
        return self._configured

    @property
    def hub_address(self) -> str:
        """The hub's address as it may be shown (no password), or "" when local only."""
        return self._hub_address

    @property
    def has_password(self) -> bool:
        """The worker holds a password for the hub (from the keyring or given this run)."""
        return self._has_password

    @property
    def interval_minutes(self) -> float:
        return self._timer.interval() / 60_000

    def set_interval_minutes(self, minutes: float) -> None:
        self._timer.setInterval(max(1, round(minutes * 60_000)))

    def configure(self, url: str | None, password: str | None = None) -> None:
        """Sync with the hub at ``url`` from now on (None: local only), starting with a sync.

        Args:
            password: the hub password; None takes the one given earlier this run for
                the same address, else the keyring's (``credentials.load_password``).
        """
        if self._closed:
            return
        url = (url or "").strip() or None
        self._configured = url is not None
        self._hub_address = redacted(url) if url else ""
        self._failure, self._message = None, ""
        self._configure_requested.emit(url, password)
        if url is None:
            self._timer.stop()
            self._counts_timer.stop()
            self._publish()
            return
        self._timer.start()
        self._counts_timer.start()
        self.sync_now()

    @Slot()
    def sync_now(self) -> None:
        """Sync at once (Ctrl+Shift+S); if a sync is running, one more follows it."""
        if self._closed or not self._configured:
            return
        if self._syncing:
            self._again = True
            return
        self._syncing = True
        self._cancel.clear()
        self._publish()
        self._sync_requested.emit()

    @Slot()
    def refresh_counts(self) -> None:
        """Count the waiting changes and review items again (after an edit, say)."""
        if self._closed or not self._configured or self._syncing:
            return  # a running sync brings fresh counts when it ends
        self._count_requested.emit()

    def test_connection(self, url: str, password: str | None = None) -> int:
        """Ask the hub at ``url`` who it is, off the GUI thread.

        Returns:
            the request id, repeated in the :attr:`connection_tested` answer.
        """
        request_id = next(self._test_ids)
        if not self._closed:
            self._test_requested.emit(request_id, url, password)
        return request_id

    def read_hub_status(self, url: str, password: str | None = None) -> int:
        """Read the hub's desks and log (``sync/status.py``), off the GUI thread.

        Returns:
            the request id, repeated in the :attr:`hub_status_read` answer.
        """
        request_id = next(self._test_ids)
        if not self._closed:
            self._status_requested.emit(request_id, url, password)
        return request_id

    def read_scope(self) -> int:
        """Read this desk's scope and its practices (``sync/desk_scope.py``), off the GUI
        thread.

        Returns:
            the request id, repeated in the :attr:`scope_answered` answer.
        """
        request_id = next(self._test_ids)
        if not self._closed:
            self._scope_requested.emit(request_id)
        return request_id

    def change_scope(
        self,
        url: str,
        password: str | None,
        scope: DeskScope,
        principal: Principal | None = None,
    ) -> int:
        """Make ``scope`` this desk's, checked against the hub at ``url``, off the GUI
        thread (``desk_scope.change_scope``: refused in words for an unknown practice or
        while records that would leave have unsent changes). The next sync takes in or
        removes what changed; the caller starts it.

        Args:
            principal: who asks; refused unless they may change the hub settings (None:
                set-up).

        Returns:
            the request id, repeated in the :attr:`scope_answered` answer.
        """
        request_id = next(self._test_ids)
        if not self._closed:
            self._scope_change_requested.emit(request_id, url, password, scope, principal)
        return request_id

    @Slot()
    def stop(self) -> None:
        """Stop background syncing, and ask a running sync to stop after its batch.

        :meth:`sync_now` still syncs once; :meth:`configure` starts the timer again.
        """
        self._timer.stop()
        self._counts_timer.stop()
        self._again = False
        self._cancel.set()

    def shutdown(self) -> None:
        """Stop syncing and wait for the worker thread to end (at window close).

        A sync in progress stops at its next batch; a hub that does not answer holds
        this up for at most its connection timeout.
        """
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._closing.set()
        self._close_requested.emit()
        self._thread.wait()

    # -- from the worker -------------------------------------------------------------

    def _state(self) -> SyncState:
        if not self._configured:
            return SyncState.LOCAL_ONLY
        if self._syncing:
            return SyncState.SYNCING
        if self._failure in (SyncState.OFFLINE, SyncState.ERROR):
            return self._failure
        if self._conflicts:
            return SyncState.NEEDS_REVIEW
        if self._waiting:
            return SyncState.WAITING
        return SyncState.SYNCED

    def _publish(self) -> None:
        state = self._state()
        status = SyncStatus(
            state=state,
            waiting=self._waiting,
            conflicts=self._conflicts,
            last_sync=self._last_sync,
            message=self._message if state in (SyncState.OFFLINE, SyncState.ERROR) else "",
            alarms=self._alarms,
        )
        if status != self._status:
            self._status = status
            self.state_changed.emit(status)

    def _take_counts(self, counts: _Counts | None) -> None:
        if counts is not None:
            self._waiting = counts.waiting
            self._conflicts = counts.conflicts
            self._last_sync = counts.last_sync
            self._alarms = counts.alarms

    @Slot(object)
    def _on_worker_opened(self, counts: _Counts | None) -> None:
        self._take_counts(counts)
        self._publish()

    @Slot(str, bool)
    def _on_worker_configured(self, _shown: str, has_password: bool) -> None:
        self._has_password = has_password

    @Slot(object)
    def _on_worker_counted(self, counts: _Counts) -> None:
        self._take_counts(counts)
        self._publish()

    @Slot(object)
    def _on_worker_sync_finished(self, outcome: _Outcome) -> None:
        self._syncing = False
        self._take_counts(outcome.counts)
        if outcome.failure is not SyncState.LOCAL_ONLY:
            self._failure, self._message = outcome.failure, outcome.message
        self._publish()
        if outcome.changes:
            self.changes_applied.emit(outcome.changes)
        if outcome.report is not None:
            self.synced.emit(outcome.report)
        if self._again and not self._closed:
            self._again = False
            self.sync_now()
