"""A step nobody can count (SQLite's integrity check of a whole file) still shows it is
going: the seconds it has taken, each second, on stderr."""

import io
import itertools
import threading
import time

from mdt_desk import cli
from mdt_desk.services.check import INTEGRITY
from mdt_desk.services.progress import heartbeat


class Seconds:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return float(next(self._ticks))


def test_a_step_nobody_can_count_reports_the_seconds_it_has_taken_until_it_ends() -> None:
    reports: list[tuple[str, int, int]] = []
    with heartbeat(lambda *report: reports.append(report), INTEGRITY, every=0.01, clock=Seconds()):
        deadline = time.monotonic() + 5
        while len(reports) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
    after = len(reports)
    time.sleep(0.05)
    assert len(reports) == after, "it went on reporting after the step ended"
    assert reports[:3] == [(INTEGRITY, 1, 0), (INTEGRITY, 2, 0), (INTEGRITY, 3, 0)]
    assert all(phase == INTEGRITY and total == 0 for phase, _done, total in reports)


def test_a_step_shorter_than_a_beat_reports_nothing() -> None:
    reports: list[tuple[str, int, int]] = []
    with heartbeat(lambda *report: reports.append(report), INTEGRITY, every=5.0):
        pass
    assert reports == []


def test_the_command_line_says_how_long_the_integrity_check_has_taken() -> None:
    stream = io.StringIO()
    shown = cli._Progress(stream, {INTEGRITY: ("Checking the file's integrity", "s so far")})
    now = iter([0.0, 1.5, 2.0, 3.1])
    shown._clock = lambda: next(now)
    shown(INTEGRITY, 0, 0)  # announced as it starts
    shown(INTEGRITY, 1, 0)
    shown(INTEGRITY, 2, 0)  # half a second later: not repeated
    shown(INTEGRITY, 3, 0)
    assert stream.getvalue().splitlines() == [
        "Checking the file's integrity…",
        "Checking the file's integrity… (1 s so far)",
        "Checking the file's integrity… (3 s so far)",
    ]
