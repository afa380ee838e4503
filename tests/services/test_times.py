"""Typed times: every accepted form reads back as the time typed, and nothing else is
ever turned into a time the person did not type."""

import datetime as dt
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mdt_desk.errors import UserError
from mdt_desk.services.times import TimeInputError, parse_typed_time, time_text

times = st.times().map(lambda value: value.replace(second=0, microsecond=0))


def typed_forms(value: dt.time) -> list[str]:
    """The ways a person may type ``value``."""
    hour, minute = value.hour, value.minute
    twelve = hour % 12 or 12
    half = "am" if hour < 12 else "pm"
    forms = [
        f"{hour:02d}:{minute:02d}",
        f"{hour}:{minute:02d}",
        f" {hour:02d}:{minute:02d}  ",
        f"{hour:02d}.{minute:02d}",
        f"{hour:02d}{minute:02d}",
        f"{hour}{minute:02d}",
        f"{twelve}:{minute:02d}{half}",
        f"{twelve}:{minute:02d} {half}",
        f"{twelve}.{minute:02d} {half}",
        f"{twelve}.{minute:02d} {half.upper()}",
        f"{twelve}:{minute:02d} {half[0]}.m.",
        f"{twelve}{minute:02d}{half}",
    ]
    if minute == 0:
        forms += [f"{hour}", f"{hour:02d}", f"{twelve}{half}", f"{twelve} {half}"]
    return forms


def test_the_forms_of_the_trial():
    assert parse_typed_time("14:30") == dt.time(14, 30)
    assert parse_typed_time("1430") == dt.time(14, 30)
    assert parse_typed_time("2:30pm") == dt.time(14, 30)
    assert parse_typed_time("2.30 pm") == dt.time(14, 30)
    assert parse_typed_time("12am") == dt.time(0, 0)
    assert parse_typed_time("12pm") == dt.time(12, 0)
    assert parse_typed_time("12:15 a.m.") == dt.time(0, 15)
    assert parse_typed_time("noon") == dt.time(12, 0)
    assert parse_typed_time("Midnight") == dt.time(0, 0)
    assert parse_typed_time("930") == dt.time(9, 30)


@given(value=times)
@example(value=dt.time(0, 0))
@example(value=dt.time(12, 0))
@example(value=dt.time(23, 59))
def test_every_accepted_form_reads_back_as_the_time_typed(value):
    for text in typed_forms(value):
        assert parse_typed_time(text) == value, text
    assert parse_typed_time(time_text(value)) == value


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter a time"),
        ("   ", "Enter a time"),
        ("25:00", "no hour 25"),
        ("24:00", "no hour 24"),
        ("2400", "no hour 24"),
        ("14:60", "no minute 60"),
        ("1475", "no minute 75"),
        ("13pm", "the hour is 1 to 12"),
        ("14:30pm", "the hour is 1 to 12"),
        ("0:30am", "the hour is 1 to 12"),
        ("14:3", "minutes as two digits"),
        ("14:300", "minutes as two digits"),
        ("14:30:00", "not a time"),
        ("half two", "not a time"),
        ("14h30", "not a time"),
        ("14 30", "not a time"),
        ("14305", "not a time"),
        ("-1:00", "not a time"),
        ("１４:３０", "not a time"),  # full-width digits
    ],
)
def test_unreadable_times_are_refused_with_what_to_type(typed, says):
    with pytest.raises(TimeInputError, match=re.escape(says)) as raised:
        parse_typed_time(typed)
    assert isinstance(raised.value, UserError)


@given(text=st.text(max_size=20))
@example(text="٢:٣٠")  # Arabic-Indic digits
def test_any_text_is_a_time_or_a_clear_refusal_never_a_crash(text):
    try:
        value = parse_typed_time(text)
    except TimeInputError as error:
        assert str(error)
    else:
        assert value.second == 0 and value.microsecond == 0


@given(hour=st.integers(0, 99), minute=st.integers(0, 99))
def test_a_typed_hour_and_minute_is_that_time_or_refused_never_another(hour, minute):
    real = dt.time(hour, minute) if hour < 24 and minute < 60 else None
    for text in (f"{hour:02d}:{minute:02d}", f"{hour:02d}{minute:02d}", f"{hour}.{minute:02d}"):
        if real is None:
            with pytest.raises(TimeInputError, match="not a real time"):
                parse_typed_time(text)
        else:
            assert parse_typed_time(text) == real


@given(value=times, junk=st.text(alphabet="bcxyz0123456789:", min_size=1, max_size=4))
def test_extra_characters_after_a_time_are_refused(value, junk):
    text = f"{time_text(value)} {junk}"
    with pytest.raises(TimeInputError):
        parse_typed_time(text)
