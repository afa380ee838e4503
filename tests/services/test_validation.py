"""NHS numbers, dates and practice codes: each refusal says why."""

import datetime as dt

import nhs_number
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdt_desk.errors import ValidationError
from mdt_desk.services.display import cui_age, cui_date, patient_display_name
from mdt_desk.services.validation import (
    check_date_of_birth,
    format_nhs_number,
    normalise_nhs_number,
    normalise_ods_practice_code,
    parse_date,
)


@pytest.mark.parametrize("typed", ["9434765919", "943 476 5919", "943-476-5919", " 943 4765919 "])
def test_nhs_number_accepts_spaces_and_hyphens(typed: str) -> None:
    assert normalise_nhs_number(typed) == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Enter the NHS number"),
        ("94347659", "must be 10 digits"),
        ("943476591X", "must be 10 digits"),
        ("９４３４７６５９１９", "must be 10 digits"),  # full-width digits are not ASCII
        ("9434765918", "check digit does not match"),
        ("5555555555", "not in a range of NHS numbers issued in England and Wales"),
    ],
)
def test_nhs_number_refusals_say_why(typed: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        normalise_nhs_number(typed)
    assert "nhs_number" in caught.value.field_errors


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_the_right_check_digit_is_accepted(prefix: str) -> None:
    number = "999" + prefix[3:]  # the synthetic range, so only the check digit matters
    check = nhs_number.calculate_checksum(number)
    for digit in range(10):
        candidate = number + str(digit)
        if check == digit:
            assert normalise_nhs_number(candidate) == candidate
        else:
            with pytest.raises(ValidationError):
                normalise_nhs_number(candidate)


@given(st.text(max_size=30))
def test_nhs_number_parser_never_crashes(typed: str) -> None:
    try:
        digits = normalise_nhs_number(typed)
    except ValidationError as error:
        assert str(error)
    else:
        assert len(digits) == 10 and nhs_number.is_valid(digits)


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_every_date_reads_back_in_all_three_formats(day: dt.date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(cui_date(day)) == day


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("31/02/1950", "not a real date"),
        ("1950-13-01", "not a real date"),
        ("yesterday", "not a date MDT Desk can read"),
        ("", "Enter the date"),
    ],
)
def test_bad_dates_say_why(typed: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        parse_date(typed, "date_of_birth")


def test_date_of_birth_must_be_plausible() -> None:
    today = dt.date(2026, 11, 22)
    assert check_date_of_birth(dt.date(1900, 1, 1), today)
    with pytest.raises(ValidationError, match="in the future"):
        check_date_of_birth(dt.date(2026, 11, 23), today)
    with pytest.raises(ValidationError, match="before 1900"):
        check_date_of_birth(dt.date(1899, 12, 31), today)


@pytest.mark.parametrize("code", ["A81001", "y02345", "W97001", "GUE001", "JER123"])
def test_practice_codes(code: str) -> None:
    assert normalise_ods_practice_code(code) == code.upper()


@pytest.mark.parametrize("code", ["I81001", "A8100", "AB1234", "", "81001A"])
def test_bad_practice_codes(code: str) -> None:
    with pytest.raises(ValidationError, match="not a GP practice code"):
        normalise_ods_practice_code(code)


def test_cui_display_forms() -> None:
    assert patient_display_name("Smith", "Jane", "Mrs") == "SMITH, Jane (Mrs)"
    assert patient_display_name("Ó Briain", "Seán") == "Ó BRIAIN, Seán"
    assert patient_display_name("", "") == "Not Known, Not Known"
    assert cui_date(dt.date(1945, 7, 14)) == "14-Jul-1945"
    assert cui_date(None) == "Not Known"
    today = dt.date(2026, 11, 22)
    assert cui_age(dt.date(1945, 7, 14), today) == "81y"
    assert cui_age(dt.date(2021, 8, 10), today) == "5y 3m"
    assert cui_age(dt.date(2026, 10, 25), today) == "4w 0d"
    assert cui_age(dt.date(2025, 10, 21), today) == "13m 1d"
    assert cui_age(dt.date(2026, 11, 10), today) == "12d"
