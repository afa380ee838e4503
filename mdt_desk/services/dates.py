"""Dates as people type them, read the NHS CUI way.

Every date field in the app reads its text with :func:`parse_typed_date`. Following the
NHS CUI date-input guidance it accepts the display format and the forms people commonly
type, and it never guesses: text it cannot read, a day that does not exist or a two-digit
year is refused with a message that says what to type, so a typed date is never silently
turned into another one.

Accepted (case-insensitive, surrounding spaces ignored):

- ``14-Jul-2027``, ``14 Jul 2027``, ``14 July 2027``, ``14/Jul/2027``, ``Jul 14, 2027``
- ``14/07/2027``, ``14-07-2027``, ``14.07.2027``, ``14 07 2027``, ``4/7/2027``
  (always day, then month, then year, as in the UK)
- ``2027-07-14`` (ISO 8601, year first)
- ``today`` (or ``t``), ``tomorrow``, ``yesterday``
- ``+7`` or ``-3`` days from today; ``+2w``, ``+3m``, ``+1y`` (weeks, months, years)
"""

import calendar
import datetime as dt
import re

from mdt_desk.errors import UserError
from mdt_desk.services.display import cui_date

#: The earliest and latest dates a field accepts (the domain's earliest date of birth).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)

EXAMPLES = "14-Jul-2027, 14/07/2027, 2027-07-14 or today"

# English whatever the machine's locale (``calendar.month_name`` follows the locale).
_FULL_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_NAMES = {
    name: number
    for number, full in enumerate(_FULL_MONTHS, start=1)
    for name in (full[:3].lower(), full.lower())
} | {"sept": 9}

_WORDS = {"today": 0, "t": 0, "tomorrow": 1, "yesterday": -1}
_RELATIVE = re.compile(
    r"^([+-])\s*(\d{1,5})\s*(d|days?|w|wks?|weeks?|m|mths?|months?|y|yrs?|years?)?$"
)
_SEPARATORS = re.compile(r"[\s,./-]+")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


class DateInputError(UserError):
    """Typed text that is not a date MDT Desk can read; the message says what to type."""


def parse_typed_date(text: str, today: dt.date) -> dt.date:
    """The date ``text`` names, or :class:`DateInputError` saying why it names none.

    Args:
        text: what the person typed.
        today: the day ``today``, ``tomorrow`` and ``+7`` count from.

    Raises:
        DateInputError: empty, unreadable, a day that does not exist, a two-digit year,
            or a date before 1900 or after 2199.
    """
    typed = " ".join((text or "").split())
    if not typed:
        raise DateInputError(f"Enter a date, for example {EXAMPLES}.")
    lowered = typed.lower()
    if lowered in _WORDS:
        return _in_range(today + dt.timedelta(days=_WORDS[lowered]), typed)
    if match := _RELATIVE.match(lowered):
        return _relative(today, match, typed)
    parts = [part for part in _SEPARATORS.split(lowered) if part]
    if len(parts) == 3:
        year, month, day = _fields(parts, typed)
        return _real_date(year, month, day, typed)
    if len(parts) == 2 and any(part in _MONTH_NAMES for part in parts):
        raise DateInputError(f"'{typed}' has no year: type it in full, for example 14-Jul-2027.")
    raise DateInputError(f"'{typed}' is not a date MDT Desk can read. Type it as {EXAMPLES}.")


def _unreadable(typed: str) -> DateInputError:
    return DateInputError(f"'{typed}' is not a date MDT Desk can read. Type it as {EXAMPLES}.")


def _fields(parts: list[str], typed: str) -> tuple[int, int, int]:
    """Year, month and day from three parts, in whichever accepted order they came."""
    names = [part for part in parts if part in _MONTH_NAMES]
    if len(names) > 1:
        raise _unreadable(typed)
    if names:
        month = _MONTH_NAMES[names[0]]
        position = parts.index(names[0])
        if position == 1:  # 14 Jul 2027
            day_text, year_text = parts[0], parts[2]
        elif position == 0:  # Jul 14, 2027
            day_text, year_text = parts[1], parts[2]
        else:
            raise _unreadable(typed)
        day_match = _DAY.match(day_text)
        if day_match is None:
            raise _unreadable(typed)
        return _year(year_text, typed), month, int(day_match.group(1))
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise _unreadable(typed)
    if len(parts[0]) == 4:  # 2027-07-14
        if len(parts[1]) > 2 or len(parts[2]) > 2:
            raise _unreadable(typed)
        return int(parts[0]), int(parts[1]), int(parts[2])
    if len(parts[0]) > 2 or len(parts[1]) > 2:
        raise _unreadable(typed)
    return _year(parts[2], typed), int(parts[1]), int(parts[0])


def _year(text: str, typed: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _unreadable(typed)
    if len(text) != 4:
        raise DateInputError(
            f"'{typed}': type the year in full (four digits), for example 14-Jul-2027."
        )
    return int(text)


def _real_date(year: int, month: int, day: int, typed: str) -> dt.date:
    if not 1 <= month <= 12:
        raise DateInputError(f"'{typed}' is not a real date: there is no month {month}.")
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise _out_of_range(typed)
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise DateInputError(
            f"'{typed}' is not a real date: {_FULL_MONTHS[month - 1]} {year} has "
            f"{days_in_month} days."
        )
    return dt.date(year, month, day)


def _relative(today: dt.date, match: re.Match[str], typed: str) -> dt.date:
    sign = -1 if match.group(1) == "-" else 1
    count = sign * int(match.group(2))
    unit = (match.group(3) or "d")[0]
    try:
        if unit == "d":
            value = today + dt.timedelta(days=count)
        elif unit == "w":
            value = today + dt.timedelta(weeks=count)
        elif unit == "m":
            value = add_months(today, count)
        else:
            value = add_months(today, 12 * count)
    except (OverflowError, ValueError):
        raise _out_of_range(typed) from None
    return _in_range(value, typed)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it is shorter.

    Raises:
        OverflowError: the year would leave 1–9999.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise OverflowError("year out of range")
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _in_range(value: dt.date, typed: str) -> dt.date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise _out_of_range(typed)
    return value


def _out_of_range(typed: str) -> DateInputError:
    return DateInputError(
        f"'{typed}' is outside the dates MDT Desk accepts "
        f"({cui_date(EARLIEST_DATE)} to {cui_date(LATEST_DATE)})."
    )
