"""How long work reports its progress: a plain callback, no Qt.

A service that may take more than a moment takes ``progress: Progress | None`` and
calls it with ``(phase, done, total)`` as it goes, from whatever thread it runs on.
The command line prints it on stderr (:mod:`mdt_desk.cli`); the app shows a progress
bar (the callback emits a queued Qt signal). ``total`` may be 0 when it is not known.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``(phase, done, total)``; ``phase`` is one of the constants below.
Progress = Callable[[str, int, int], None]


def no_progress(_phase: str, _done: int, _total: int) -> None:
    """The progress of work nobody watches (``progress or no_progress``)."""


@contextmanager
def heartbeat(
    progress: Progress,
    phase: str,
    every: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Inside: ``progress(phase, seconds, 0)`` every ``every`` seconds, from a thread of
    its own, with the whole seconds the work has taken so far.

    For one step nobody can count (SQLite's integrity check of a whole file is a single
    call of up to minutes): the person sees it is still going and for how long. The
    step itself runs on the caller's thread; SQLite lets go of Python's lock meanwhile.
    """
    started = clock()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            progress(phase, int(clock() - started), 0)

    beating = threading.Thread(target=beat, name=f"progress of {phase}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


#: Reading and checking an import file (done and total in bytes).
READING = "reading"
#: Writing checked rows into the store (done and total in rows).
WRITING = "writing"
#: Making demo patients (done and total in patients).
MAKING = "making"
#: Sync: sending this desk's changes, receiving everyone else's (in changes).
SENDING = "push"
RECEIVING = "pull"
#: Sync: taking in the records that came into a scoped desk's practices (its first
#: sync, or a widened scope), in records (people, meetings) taken in of all.
TAKING_IN = "records"
#: Converting a store from an older schema (total unknown: 0).
CONVERTING = "converting"
