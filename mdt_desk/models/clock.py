"""The hybrid logical clock (HLC) that orders every change a desk makes.

An HLC value packs wall-clock milliseconds in the high 48 bits and a counter in the
low 16. It never goes backwards, even when the computer's clock does, so the order of
a desk's own edits survives clock corrections; across desks it is close to real time,
which is what "last writer wins" should mean to a user.
"""

import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1

#: Returns the wall clock in milliseconds since the Unix epoch. Injected so tests
#: can freeze or jump it.
WallClock = Callable[[], int]


def system_wall_clock() -> int:
    return time.time_ns() // 1_000_000


def next_hlc(last: int, wall_ms: int) -> int:
    """The clock value for a new local event, strictly greater than ``last``."""
    last_ms, last_counter = last >> COUNTER_BITS, last & COUNTER_MASK
    if wall_ms > last_ms:
        return wall_ms << COUNTER_BITS
    if last_counter == COUNTER_MASK:
        # Counter exhausted within one millisecond: borrow the next millisecond.
        return (last_ms + 1) << COUNTER_BITS
    return (last_ms << COUNTER_BITS) | (last_counter + 1)


def hlc_millis(hlc: int) -> int:
    """The wall-clock milliseconds part of an HLC value."""
    return hlc >> COUNTER_BITS
