"""A computer whose own date is not London's: the hour around midnight, made to last.

Desks may run with the computer's zone set to UTC (remote desktops often are), so for
an hour each night (two in summer) the computer's date and Europe/London's differ.
Every screen and command must still judge "due" and "overdue" on London's day. Setting
``TZ`` to a zone far from London makes the two dates differ now, whatever the hour.
"""

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from mdt_desk.services.actions import london_today


@contextmanager
def local_date_not_londons() -> Iterator[tuple[dt.date, dt.date]]:
    """Within the block the computer's date is not London's; yields (local, London) dates.

    UTC+14 after London's noon, UTC-12 before it: either way the dates differ, and stay
    different for at least an hour, far longer than a test runs.
    """
    zone = "Etc/GMT-14" if dt.datetime.now(ZoneInfo("Europe/London")).hour >= 12 else "Etc/GMT+12"
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        local, london = dt.date.today(), london_today()
        assert local != london
        yield local, london
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
