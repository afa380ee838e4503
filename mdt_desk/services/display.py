"""NHS CUI display conventions, shared by the screens, documents and reports."""

import datetime as dt
import string
from zoneinfo import ZoneInfo

NOT_KNOWN = "Not Known"
_LONDON = ZoneInfo("Europe/London")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def patient_display_name(family_name: str, given_name: str, title: str = "") -> str:
    """``SMITH, Jane (Mrs)``: family name upper-cased for display only, never truncated."""
    family = family_name.strip().upper() or NOT_KNOWN
    given = given_name.strip() or NOT_KNOWN
    name = f"{family}, {given}"
    return f"{name} ({title.strip()})" if title.strip() else name


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 item``, ``3 items``, ``0 items``: a number with its noun agreeing."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def cui_date(value: dt.date | None, missing: str = NOT_KNOWN) -> str:
    """``14-Jul-1945`` whatever the system locale."""
    if value is None:
        return missing
    return f"{value.day:02d}-{_MONTHS[value.month - 1]}-{value.year:04d}"


def age_on(date_of_birth: dt.date, on: dt.date) -> int:
    """Whole years of age on a date."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def cui_age(date_of_birth: dt.date, on: dt.date) -> str:
    """Age in the CUI bands: ``81y`` from 18; ``5y 3m`` from 2; ``12m 1d`` from 1;
    ``4w 1d`` from four weeks; ``12d`` below that."""
    days = (on - date_of_birth).days
    if days < 0:
        return NOT_KNOWN
    years = age_on(date_of_birth, on)
    if years >= 18:
        return f"{years}y"
    months = (on.year - date_of_birth.year) * 12 + on.month - date_of_birth.month
    if on.day < date_of_birth.day:
        months -= 1
    if years >= 2:
        return f"{years}y {months - years * 12}m"
    if years >= 1:
        last_month_day = _add_months(date_of_birth, months)
        return f"{months}m {(on - last_month_day).days}d"
    if days >= 28:
        return f"{days // 7}w {days % 7}d"
    return f"{days}d"


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


# Words for coded values where the plain rule (underscores to spaces, first letter
# capital) would read wrongly.
_LABELS = {
    "gp": "GP",
    "ae_attendance": "A&E attendance",
    "readmission_30_days": "Emergency readmission within 30 days",
    "iv_therapy_at_home": "IV therapy at home",
    "step_up_step_down_bed": "Step-up/step-down bed",
    "not_known": NOT_KNOWN,
    "under_review": "Under review",
    "very_high": "Very high",
    "dnacpr": "DNACPR in place",
}


def label(code: str | None, missing: str = "") -> str:
    """The plain-English word for a coded value (``"ae_attendance"`` → ``A&E attendance``).

    Works for every ``StrEnum`` of the models, since their values are the codes.
    """
    if code is None:
        return missing
    text = str(code)
    return _LABELS.get(text) or text.replace("_", " ").capitalize()


def cui_time(value: dt.datetime) -> str:
    """``14-Jul-2026 09:05`` in Europe/London time (24-hour), from a UTC datetime."""
    local = value.astimezone(_LONDON)
    return f"{cui_date(local.date())} {local:%H:%M}"


def practice_display_name(name: str) -> str:
    """``ST PETER'S SURGERY`` (as the ODS file spells it) → ``St Peter's Surgery``."""
    return string.capwords(name.lower()) if name.isupper() else name
