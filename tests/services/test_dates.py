"""Typed dates: every accepted form reads back as the date typed, and nothing else is
ever turned into a date the person did not type."""

import datetime as dt
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mdt_desk.errors import UserError
from mdt_desk.services.dates import (
    EARLIEST_DATE,
    LATEST_DATE,
    DateInputError,
    parse_typed_date,
)
from mdt_desk.services.display import cui_date

TODAY = dt.date(2026, 12, 5)
_FULL = [
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
]

dates = st.dates(min_value=EARLIEST_DATE, max_value=LATEST_DATE)


def typed_forms(day: dt.date) -> list[str]:
    """The ways a person may type ``day``."""
    cui = cui_date(day)
    full = _FULL[day.month - 1]
    return [
        cui,
        cui.upper(),
        cui.lower(),
        f"  {cui} ",
        day.strftime("%d/%m/%Y"),
        f"{day.day}/{day.month}/{day.year}",
        day.strftime("%d-%m-%Y"),
        day.strftime("%d.%m.%Y"),
        day.strftime("%d %m %Y"),
        day.isoformat(),
        f"{day.year}-{day.month}-{day.day}",
        cui.replace("-", " "),
        f"{day.day} {full} {day.year}",
        f"{day.day} {full.upper()} {day.year}",
        f"{full[:3]} {day.day}, {day.year}",
    ]


def test_the_four_forms_of_the_issue_and_the_words():
    assert parse_typed_date("14-Jul-2027", TODAY) == dt.date(2027, 7, 14)
    assert parse_typed_date("14/07/2027", TODAY) == dt.date(2027, 7, 14)
    assert parse_typed_date("2027-07-14", TODAY) == dt.date(2027, 7, 14)
    assert parse_typed_date("today", TODAY) == TODAY
    assert parse_typed_date("Today", TODAY) == TODAY
    assert parse_typed_date("t", TODAY) == TODAY
    assert parse_typed_date("tomorrow", TODAY) == TODAY + dt.timedelta(days=1)
    assert parse_typed_date("yesterday", TODAY) == TODAY - dt.timedelta(days=1)


@given(day=dates)
@example(day=dt.date(2027, 7, 14))
@example(day=dt.date(2028, 2, 29))
@example(day=dt.date(1900, 1, 1))
def test_every_accepted_form_reads_back_as_the_date_typed(day):
    for text in typed_forms(day):
        assert parse_typed_date(text, TODAY) == day, text


@given(count=st.integers(min_value=-3000, max_value=3000))
def test_plus_and_minus_count_days_from_today(count):
    text = f"+{count}" if count >= 0 else str(count)
    assert parse_typed_date(text, TODAY) == TODAY + dt.timedelta(days=count)
    assert parse_typed_date(f"{text}d", TODAY) == TODAY + dt.timedelta(days=count)


def test_weeks_months_and_years_from_today():
    assert parse_typed_date("+2w", TODAY) == dt.date(2026, 12, 19)
    assert parse_typed_date("+3m", TODAY) == dt.date(2027, 3, 5)
    assert parse_typed_date("+1y", TODAY) == dt.date(2027, 12, 5)
    # the last day of a shorter month, not a day in the month after
    assert parse_typed_date("+1m", dt.date(2027, 1, 31)) == dt.date(2027, 2, 28)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter a date"),
        ("   ", "Enter a date"),
        ("31/02/2027", "February 2027 has 28 days"),
        ("29-Feb-2027", "February 2027 has 28 days"),
        ("31-Apr-2027", "April 2027 has 30 days"),
        ("13/13/2027", "no month 13"),
        ("15-Jan-27", "year in full"),
        ("14/07/27", "year in full"),
        ("09-Jan--", "no year"),
        ("14 Jul", "no year"),
        ("hello", "not a date"),
        ("15-Jan-2027x", "not a date"),
        ("14/07/2027 1", "not a date"),
        ("07/14/2027", "no month 14"),  # US order is refused, never swapped
        ("2027-14-07", "no month 14"),
        ("14-Jly-2027", "not a date"),
        ("1/1/1899", "outside the dates"),
        ("+99999", "outside the dates"),
        ("+9999y", "outside the dates"),
    ],
)
def test_unreadable_dates_are_refused_with_what_to_type(typed, says):
    with pytest.raises(DateInputError, match=re.escape(says)) as raised:
        parse_typed_date(typed, TODAY)
    assert isinstance(raised.value, UserError)


@given(text=st.text(max_size=40))
@example(text="٠١/٠٢/٢٠٢٧")  # Arabic-Indic digits
@example(text="１４/０７/２０２７")  # full-width digits
def test_any_text_is_a_date_or_a_clear_refusal_never_a_crash(text):
    try:
        value = parse_typed_date(text, TODAY)
    except DateInputError as error:
        assert str(error)
    else:
        assert EARLIEST_DATE <= value <= LATEST_DATE


@given(day=st.integers(1, 31), month=st.integers(1, 12), year=st.integers(1900, 2199))
def test_a_typed_day_month_year_is_that_date_or_refused_never_another(day, month, year):
    try:
        real = dt.date(year, month, day)
    except ValueError:
        real = None
    for text in (f"{day:02d}/{month:02d}/{year}", f"{year}-{month:02d}-{day:02d}"):
        if real is None:
            with pytest.raises(DateInputError, match="not a real date"):
                parse_typed_date(text, TODAY)
        else:
            assert parse_typed_date(text, TODAY) == real


@given(day=dates, junk=st.text(alphabet="abcxyz0123456789", min_size=1, max_size=4))
def test_extra_characters_after_a_date_are_refused(day, junk):
    text = f"{cui_date(day)} {junk}"
    with pytest.raises(DateInputError):
        parse_typed_date(text, TODAY)
