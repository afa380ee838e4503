"""Cutting a PostgreSQL hub's connections, as a server restart or a network fault would.

The desks under test reach the hub through an engine whose connections carry their own
``application_name`` (:func:`cut_url`); a :class:`ConnectionCutter` thread, on a
connection of its own, terminates every backend of that name (``pg_terminate_backend``)
in a loop, every few milliseconds, while the desks sync. :func:`cut_at` cuts a desk's
connection once, at a chosen statement, for the tests that name the place.
"""

import random
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from tests.sync.support import pg_admin

_TERMINATE = (
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = %s AND pid <> pg_backend_pid()"
)


def cut_url(url: str, application_name: str) -> str:
    """``url`` with the connections it opens named ``application_name`` (libpq)."""
    named = make_url(url).update_query_dict({"application_name": application_name})
    return named.render_as_string(hide_password=False)


class ConnectionCutter:
    """A thread that cuts every hub connection named ``application_name``, again and
    again: every few milliseconds (``pause_ms``), with now and then a longer lull
    (``lull_ms``, a ``lull_share`` of the pauses) in which a whole sync may get through.
    The pauses are random, so cuts land anywhere in a sync.

    ``terminated`` counts the backends it ended, ``sweeps`` the times it looked.
    """

    def __init__(
        self,
        application_name: str,
        *,
        seed: int,
        pause_ms: tuple[float, float] = (2.0, 8.0),
        lull_ms: tuple[float, float] = (40.0, 120.0),
        lull_share: float = 0.3,
    ) -> None:
        self.application_name = application_name
        self.pause_ms = pause_ms
        self.lull_ms = lull_ms
        self.lull_share = lull_share
        self.terminated = 0
        self.sweeps = 0
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hub-connection-cutter")

    def _run(self) -> None:
        admin = pg_admin()
        try:
            while not self._stop.is_set():
                row = admin.execute(_TERMINATE, (self.application_name,)).fetchone()
                self.terminated += int(row[0]) if row else 0
                self.sweeps += 1
                lull = self._random.random() < self.lull_share
                low, high = self.lull_ms if lull else self.pause_ms
                self._stop.wait(self._random.uniform(low, high) / 1000)
        except BaseException as error:  # reported by stop(): a cutter that died cuts nothing
            self._failure = error
        finally:
            admin.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the connection cutter did not stop"
        if self._failure is not None:
            raise AssertionError(f"the connection cutter failed: {self._failure!r}")

    def __enter__(self) -> "ConnectionCutter":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


#: Chooses the statement to cut before: (SQL, its parameters) -> whether to cut.
Matcher = Callable[[str, Any], bool]


@contextmanager
def cut_at(engine: Engine, matches: Matcher) -> Iterator[list[str]]:
    """Cut ``engine``'s connection once, just before the first statement ``matches``
    accepts (the SQL ``"COMMIT"`` stands for a commit): the statement then meets a
    connection the server has ended. Yields the statements cut (one, or none if the
    sync never came to it)."""
    cut: list[str] = []

    def terminate(connection: Any, statement: str, parameters: Any) -> None:
        if cut or not matches(statement, parameters):
            return
        pid = connection.connection.driver_connection.info.backend_pid
        admin = pg_admin()
        try:  # waits until the backend has gone
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        finally:
            admin.close()
        cut.append(statement)

    def before_execute(
        connection: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any
    ) -> None:
        terminate(connection, statement, parameters)

    def before_commit(connection: Any) -> None:
        terminate(connection, "COMMIT", None)

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", before_commit)
    try:
        yield cut
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
        event.remove(engine, "commit", before_commit)


def within(function: str) -> bool:
    """Whether the statement about to run was issued (directly or not) by ``function``."""
    return any(frame.name == function for frame in traceback.extract_stack())


def where_cut(error: BaseException) -> str:
    """The step of ``sync_once`` a failure came from, read from its traceback (and its
    cause's): ``push_all``, ``pull_all``, ``read_hub_info``, ``_keep_seals_at``,
    ``hub_now_ms``, else ``sync_once`` itself (the counter read between push and pull)."""
    names: set[str] = set()
    seen: BaseException | None = error
    while seen is not None:
        names.update(frame.name for frame in traceback.extract_tb(seen.__traceback__))
        seen = seen.__cause__
    steps = ("push_all", "pull_all", "read_hub_info", "_keep_seals_at", "hub_now_ms")
    return next((step for step in steps if step in names), "sync_once")
