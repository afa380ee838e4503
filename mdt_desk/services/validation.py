"""Validation of the identifiers and dates users type or import.

Each function either returns the clean value or raises :class:`ValidationError`
whose message says *why* the input was refused, in words fit to show next to the
field or in an import report.
"""

import datetime as dt
import re

import nhs_number
from nhs_number.constants import REGION_ENGLAND_WALES_IOM, REGION_SYNTHETIC, Region

from mdt_desk.errors import ValidationError
from mdt_desk.services.display import cui_date
from mdt_desk.services.text_safety import check_name

_NHS_SEPARATORS = re.compile(r"[\s-]+")
#: Ranges an English or Welsh practice can hold: numbers issued in England, Wales and
#: the Isle of Man, and the never-issued 999 range used for test and demo patients.
_ACCEPTED_NHS_REGIONS = (REGION_ENGLAND_WALES_IOM, REGION_SYNTHETIC)

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_CUI_DATE = re.compile(r"^(\d{1,2})-([A-Za-z]{3,9})-(\d{4})$")
# England and Wales practice codes: a letter (not I, O or Z) then five digits, or
# "W"/"Y" then five digits (both covered by the first pattern); the Channel Islands
# use ALD/GUE/JER then three digits. Source: epraccur format, "Code Formats".
_ODS_PRACTICE_CODE = re.compile(r"^(?:[A-HJ-NP-Y]\d{5}|(?:ALD|GUE|JER)\d{3})$")


def normalise_nhs_number(raw: str) -> str:
    """Validate an NHS number as typed or imported; return its 10 digits.

    Accepts spaces and hyphens anywhere (``943 476 5919``, ``943-476-5919``).

    Raises:
        ValidationError: saying whether the format, the check digit or the range is
            wrong.
    """
    digits = _NHS_SEPARATORS.sub("", raw or "")
    if not digits:
        raise ValidationError("Enter the NHS number.", {"nhs_number": "Enter the NHS number."})
    if not digits.isdigit() or len(digits) != 10 or not digits.isascii():
        message = (
            f"'{raw.strip()}' is not an NHS number: it must be 10 digits "
            "(spaces and hyphens are allowed)."
        )
        raise ValidationError(message, {"nhs_number": message})
    if not nhs_number.is_valid(digits):
        message = (
            f"{format_nhs_number(digits)} is not a valid NHS number: the check digit does "
            "not match. Check it has been copied correctly."
        )
        raise ValidationError(message, {"nhs_number": message})
    if not any(_in_region(region, digits) for region in _ACCEPTED_NHS_REGIONS):
        message = (
            f"{format_nhs_number(digits)} is not in a range of NHS numbers issued in England "
            "and Wales (it may be a Scottish CHI, Northern Irish or Irish number, or an "
            "unissued one)."
        )
        raise ValidationError(message, {"nhs_number": message})
    return digits


def is_synthetic_nhs_number(digits: str) -> bool:
    """True for numbers in the never-issued range kept for test and demo patients."""
    return _in_region(REGION_SYNTHETIC, digits)


def _in_region(region: Region, digits: str) -> bool:
    return bool(region.contains_number(digits))  # type: ignore[no-untyped-call]


def format_nhs_number(digits: str) -> str:
    """Show an NHS number the CUI way: ``943 476 5919``."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits


def parse_date(raw: str, field: str = "date") -> dt.date:
    """Parse a date written as ``1945-07-14``, ``14/07/1945`` or ``14-Jul-1945``.

    Raises:
        ValidationError: unreadable, or a date that does not exist (``31/02/1950``).
    """
    text = (raw or "").strip()
    label = field.replace("_", " ")
    if not text:
        raise ValidationError(f"Enter the {label}.", {field: f"Enter the {label}."})
    year = month = day = None
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _UK_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _CUI_DATE.match(text):
        month_name = match.group(2).lower()
        number = _MONTHS.get(month_name[:3])
        full_names = ("june", "july", "sept")
        if number is not None and (len(month_name) == 3 or month_name in full_names):
            day, month, year = int(match.group(1)), number, int(match.group(3))
    if year is None or month is None or day is None:
        message = (
            f"'{text}' is not a date MDT Desk can read for the {label}: write it as "
            "1945-07-14, 14/07/1945 or 14-Jul-1945."
        )
        raise ValidationError(message, {field: message})
    try:
        return dt.date(year, month, day)
    except ValueError:
        message = f"'{text}' is not a real date (the {label} has no such day)."
        raise ValidationError(message, {field: message}) from None


def check_date_of_birth(date_of_birth: dt.date, today: dt.date | None = None) -> dt.date:
    """A date of birth must be neither in the future nor before 1900."""
    today = today or dt.date.today()
    if date_of_birth > today:
        message = f"The date of birth {cui_date(date_of_birth)} is in the future."
        raise ValidationError(message, {"date_of_birth": message})
    if date_of_birth < EARLIEST_BIRTH_DATE:
        message = f"The date of birth {cui_date(date_of_birth)} is before 1900; check the year."
        raise ValidationError(message, {"date_of_birth": message})
    return date_of_birth


def normalise_ods_practice_code(raw: str) -> str:
    """Validate a GP practice ODS code (e.g. ``A81001``); return it upper-cased."""
    code = (raw or "").strip().upper()
    if not _ODS_PRACTICE_CODE.match(code):
        message = (
            f"'{raw.strip()}' is not a GP practice code: it is a letter followed by five "
            "digits, such as A81001."
        )
        raise ValidationError(message, {"practice_code": message})
    return code


_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_WHITESPACE = re.compile(r"\s+")


def normalise_postcode(raw: str) -> str:
    """A UK postcode in its standard form (``TS18 1HU``); empty stays empty."""
    cleaned = _WHITESPACE.sub(" ", (raw or "").strip().upper())
    if not cleaned:
        return ""
    match = _POSTCODE.match(cleaned)
    if match is None:
        message = f"'{raw.strip()}' is not a UK postcode (such as LS1 4AP)."
        raise ValidationError(message, {"postcode": message})
    return f"{match.group(1)} {match.group(2)}"


def require_text(value: str, field: str, label: str) -> str:
    """Strip ``value``; refuse it when empty."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationError(f"Enter the {label}.", {field: f"Enter the {label}."})
    return cleaned


def require_name(value: str, field: str, label: str) -> str:
    """A person's name part: stripped, in NFC, not empty, with no invisible characters
    that could disguise it (see :mod:`mdt_desk.services.text_safety`)."""
    return check_name(require_text(value, field, label), field, label)
