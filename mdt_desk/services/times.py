"""Times of day as people type them, read the way :mod:`mdt_desk.services.dates` reads dates.

Every typed time field (a meeting's start) reads its text with :func:`parse_typed_time`.
It accepts the 24-hour display form and the forms people commonly type, and it never
guesses: text it cannot read, an hour or minute that does not exist, or an hour that
does not go with am/pm is refused with a message that says what to type, so a typed time
is never silently turned into another one (a spin box that keeps the old hour when a new
one is typed over it is exactly what this replaces).

Accepted (case-insensitive, surrounding spaces ignored):

- ``14:30``, ``14.30``, ``9:05`` (24-hour; minutes always two digits)
- ``1430``, ``0930``, ``930`` (the digits alone: hour, then two digits of minutes)
- ``14`` (the hour alone: ``14:00``)
- ``2:30pm``, ``2.30 pm``, ``2pm``, ``2:30 p.m.``, ``12am`` (midnight), ``12pm`` (midday)
- ``noon``, ``midday``, ``midnight``
"""

import datetime as dt
import re

from mdt_desk.errors import UserError

EXAMPLES = "14:30, 1430 or 2:30pm"

_WORDS = {"noon": dt.time(12, 0), "midday": dt.time(12, 0), "midnight": dt.time(0, 0)}
# ASCII digits only ([0-9], not \d): other scripts' digits are refused, never read.
_SUFFIX = r"(?:\s*(?P<half>a|p)\.?\s*m\.?)?"
_CLOCK = re.compile(r"^(?P<hour>[0-9]{1,2})\s*[:.]\s*(?P<minute>[0-9]+)" + _SUFFIX + "$")
_DIGITS = re.compile(r"^(?P<digits>[0-9]{1,4})" + _SUFFIX + "$")


class TimeInputError(UserError):
    """Typed text that is not a time MDT Desk can read; the message says what to type."""


def time_text(value: dt.time) -> str:
    """``14:30``: how a time of day is shown (24-hour ``HH:mm``, ux.md)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_typed_time(text: str) -> dt.time:
    """The time of day ``text`` names, or :class:`TimeInputError` saying why it names none.

    Raises:
        TimeInputError: empty, unreadable, an hour or minute that does not exist, or an
            hour that does not go with am/pm (``13pm``).
    """
    typed = " ".join((text or "").split())
    if not typed:
        raise TimeInputError(f"Enter a time, for example {EXAMPLES}.")
    lowered = typed.lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    if match := _CLOCK.match(lowered):
        minute_text = match.group("minute")
        if len(minute_text) != 2:
            raise TimeInputError(
                f"'{typed}': type the minutes as two digits, for example 09:05 or 14:30."
            )
        return _real_time(int(match.group("hour")), int(minute_text), match.group("half"), typed)
    if match := _DIGITS.match(lowered):
        digits = match.group("digits")
        hour, minute = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
        return _real_time(int(hour), int(minute), match.group("half"), typed)
    raise TimeInputError(f"'{typed}' is not a time MDT Desk can read. Type it as {EXAMPLES}.")


def _real_time(hour: int, minute: int, half: str | None, typed: str) -> dt.time:
    if half is not None:
        if not 1 <= hour <= 12:
            raise TimeInputError(f"'{typed}': with am or pm the hour is 1 to 12. Type {EXAMPLES}.")
        hour = hour % 12 + (12 if half == "p" else 0)
    elif not 0 <= hour <= 23:
        raise TimeInputError(f"'{typed}' is not a real time: there is no hour {hour}.")
    if not 0 <= minute <= 59:
        raise TimeInputError(f"'{typed}' is not a real time: there is no minute {minute}.")
    return dt.time(hour, minute)
