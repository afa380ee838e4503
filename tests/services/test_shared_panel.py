"""Complementary suppression: a shared panel never lets a count from 1 to 4 be worked out
by subtracting one printed figure of it from another (``shared_panel``).

The figures of one panel that add up exactly:

- ``referrals`` = the cases discussed (``median_days_to_first_mdt``'s n) +
  ``not_yet_discussed``;
- a count of all ages ≥ its 65+ population rate's numerator (the same events of people
  aged 65 or over): ``admissions``, ``ae_attendances_per_100``'s numerator and
  ``care_home_admissions_permanent``, each with its ``…_per_1000_registered_65_plus``.

Panels are made by hand from :class:`IndicatorResult` values, so each rule is seen to fire
on its own and to change nothing else.
"""

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdt_desk.services.indicators import (
    INDICATORS,
    INDICATORS_BY_ID,
    SUPPRESSED,
    WITHHELD,
    IndicatorKind,
    IndicatorResult,
    SharedFigure,
    shared_figure,
    shared_panel,
)

MEDIAN = "median_days_to_first_mdt"
NOT_YET = "not_yet_discussed"

#: (a figure of all ages, its 65+ population rate): the all-ages count is the value of a
#: count or the numerator of a rate per 100.
PAIRS = (
    ("admissions", "admissions_per_1000_registered_65_plus"),
    ("ae_attendances_per_100", "ae_attendances_per_1000_registered_65_plus"),
    (
        "care_home_admissions_permanent",
        "care_home_admissions_permanent_per_1000_registered_65_plus",
    ),
)

CASELOAD = 400


@dataclass(frozen=True)
class Counts:
    """The counts a panel's related figures are made of."""

    discussed: int = 30
    not_yet: int = 20
    admissions: int = 50
    admissions_65: int = 30
    attendances: int = 40
    attendances_65: int = 20
    care_home: int = 12
    care_home_65: int = 6
    registered_65: int | None = 2_000


def _per_1000(numerator: int, registered: int | None) -> IndicatorResult:
    return IndicatorResult.rate_per_1000(numerator, registered)


def panel_of(counts: Counts) -> dict[str, IndicatorResult]:
    """A whole panel (every registered id, in order), the related figures from ``counts``
    and every other figure well clear of small numbers."""
    days = [3] * counts.discussed
    related = {
        "referrals": IndicatorResult.count(counts.discussed + counts.not_yet),
        MEDIAN: IndicatorResult.median_days(days),
        NOT_YET: IndicatorResult.count(counts.not_yet),
        "admissions": IndicatorResult.count(counts.admissions),
        "admissions_per_100": IndicatorResult.rate_per_100(counts.admissions, CASELOAD),
        "ae_attendances_per_100": IndicatorResult.rate_per_100(counts.attendances, CASELOAD),
        "care_home_admissions_permanent": IndicatorResult.count(counts.care_home),
        "people_on_caseload": IndicatorResult.count(CASELOAD),
        "admissions_per_1000_registered_65_plus": _per_1000(
            counts.admissions_65, counts.registered_65
        ),
        "ae_attendances_per_1000_registered_65_plus": _per_1000(
            counts.attendances_65, counts.registered_65
        ),
        "care_home_admissions_permanent_per_1000_registered_65_plus": _per_1000(
            counts.care_home_65, counts.registered_65
        ),
    }
    panel: dict[str, IndicatorResult] = {}
    for each in INDICATORS:
        if each.id in related:
            panel[each.id] = related[each.id]
        elif each.kind is IndicatorKind.COUNT:
            panel[each.id] = IndicatorResult.count(60)
        elif each.kind is IndicatorKind.RATE_PER_1000:
            panel[each.id] = IndicatorResult.rate_per_1000(25, 2_000)
        else:
            panel[each.id] = IndicatorResult.rate_per_100(25, 80)
    return panel


def per_figure(panel: dict[str, IndicatorResult]) -> dict[str, SharedFigure]:
    return {key: shared_figure(INDICATORS_BY_ID[key].kind, result) for key, result in panel.items()}


def changed(panel: dict[str, IndicatorResult]) -> dict[str, SharedFigure]:
    """The figures ``shared_panel`` shows otherwise than ``shared_figure`` alone."""
    alone = per_figure(panel)
    shared = shared_panel(panel)
    assert list(shared) == list(panel)
    return {key: shown for key, shown in shared.items() if shown != alone[key]}


def test_a_panel_with_no_small_count_is_shared_figure_by_figure() -> None:
    assert changed(panel_of(Counts())) == {}


def test_few_discussed_withholds_the_not_yet_discussed() -> None:
    panel = panel_of(Counts(discussed=3, not_yet=20))
    assert shared_panel(panel)["referrals"].value == "23"  # the total: 23 - 20 would be 3
    assert shared_panel(panel)[MEDIAN].denominator == SUPPRESSED
    assert changed(panel) == {NOT_YET: SharedFigure(WITHHELD, "", "", True)}


def test_few_not_yet_discussed_withholds_the_medians_n_but_not_the_median() -> None:
    panel = panel_of(Counts(discussed=30, not_yet=2))
    assert shared_panel(panel)[NOT_YET].value == SUPPRESSED
    # The median of 30 cases is still printed: a number of days reveals no count.
    assert changed(panel) == {MEDIAN: SharedFigure("3.0", "", WITHHELD, False)}


@pytest.mark.parametrize(("discussed", "not_yet"), [(0, 0), (5, 0), (0, 5), (20, 30)])
def test_referrals_parts_neither_small_change_nothing(discussed: int, not_yet: int) -> None:
    assert changed(panel_of(Counts(discussed=discussed, not_yet=not_yet))) == {}


@pytest.mark.parametrize(("discussed", "not_yet"), [(4, 4), (1, 1), (2, 3)])
def test_both_parts_small_withhold_the_not_yet_discussed_outright(
    discussed: int, not_yet: int
) -> None:
    """Two "<5" beside a printed total of 8 could only be 4 and 4: one is withheld."""
    panel = panel_of(Counts(discussed=discussed, not_yet=not_yet))
    assert changed(panel) == {NOT_YET: SharedFigure(WITHHELD, "", "", True)}
    assert shared_panel(panel)[MEDIAN].denominator == SUPPRESSED


@pytest.mark.parametrize("small_part", [(1, 0), (0, 4)])
def test_one_small_part_beside_a_zero_withholds_the_zero(small_part: tuple[int, int]) -> None:
    """A zero beside a part shown "<5" is withheld too: the rule does not depend on
    whether ``referrals`` itself is printed (simple to check, never less safe)."""
    discussed, not_yet = small_part
    other = NOT_YET if discussed else MEDIAN
    assert set(changed(panel_of(Counts(discussed=discussed, not_yet=not_yet)))) == {other}


@pytest.mark.parametrize(("all_ages", "older"), PAIRS)
@pytest.mark.parametrize("under_65", [1, 4])
def test_few_under_65s_withhold_the_65_plus_numerator_and_rate(
    all_ages: str, older: str, under_65: int
) -> None:
    counts = {
        "admissions": Counts(admissions=30 + under_65, admissions_65=30),
        "ae_attendances_per_100": Counts(attendances=30 + under_65, attendances_65=30),
        "care_home_admissions_permanent": Counts(care_home=30 + under_65, care_home_65=30),
    }[all_ages]
    panel = panel_of(counts)
    assert changed(panel) == {older: SharedFigure(WITHHELD, WITHHELD, "2000", True)}
    assert shared_panel(panel)[all_ages] == per_figure(panel)[all_ages]  # the total stays


@pytest.mark.parametrize("under_65", [0, 5, 20])
def test_no_under_65s_or_enough_of_them_change_nothing(under_65: int) -> None:
    counts = Counts(
        admissions=30 + under_65,
        admissions_65=30,
        attendances=30 + under_65,
        attendances_65=30,
        care_home=30 + under_65,
        care_home_65=30,
    )
    assert changed(panel_of(counts)) == {}


def test_without_a_list_size_the_65_plus_numerator_is_withheld_and_no_rate_shown() -> None:
    panel = panel_of(Counts(admissions=32, admissions_65=30, registered_65=None))
    assert changed(panel) == {
        "admissions_per_1000_registered_65_plus": SharedFigure("–", WITHHELD, "", True)
    }


def test_a_small_65_plus_count_with_few_under_65s_is_withheld_not_shown_under_five() -> None:
    panel = panel_of(Counts(care_home=6, care_home_65=2))
    older = "care_home_admissions_permanent_per_1000_registered_65_plus"
    assert per_figure(panel)[older].numerator == SUPPRESSED
    assert changed(panel) == {older: SharedFigure(WITHHELD, WITHHELD, "2000", True)}


def test_a_panel_without_the_related_figures_is_shared_figure_by_figure() -> None:
    panel = panel_of(Counts(discussed=3, admissions=32, admissions_65=30))
    del panel[NOT_YET], panel["admissions"]
    assert shared_panel(panel) == per_figure(panel)


# -- The property ----------------------------------------------------------------------------


def _printed(text: str) -> int | None:
    """The exact number a shared cell prints, or None ("<5", "withheld", "–", empty)."""
    digits = text.replace(",", "")
    return int(digits) if digits.isdigit() else None


def _never_small(difference: int) -> None:
    assert not 1 <= difference <= 4


few = st.integers(0, 12)  # small numbers often, and their neighbours


@st.composite
def related_counts(draw: st.DrawFn) -> Counts:
    def whole_and_part() -> tuple[int, int]:
        part = draw(few)
        return part + draw(few), part

    admissions, admissions_65 = whole_and_part()
    attendances, attendances_65 = whole_and_part()
    care_home, care_home_65 = whole_and_part()
    return Counts(
        discussed=draw(few),
        not_yet=draw(few),
        admissions=admissions,
        admissions_65=admissions_65,
        attendances=attendances,
        attendances_65=attendances_65,
        care_home=care_home,
        care_home_65=care_home_65,
        registered_65=draw(st.none() | st.integers(0, 5_000)),
    )


@given(counts=related_counts())
def test_no_two_printed_figures_give_a_count_from_1_to_4_by_subtraction(counts: Counts) -> None:
    panel = panel_of(counts)
    shared = shared_panel(panel)

    referrals = _printed(shared["referrals"].value)
    discussed = _printed(shared[MEDIAN].denominator)
    not_yet = _printed(shared[NOT_YET].value)
    if referrals is not None and discussed is not None:
        _never_small(referrals - discussed)
    if referrals is not None and not_yet is not None:
        _never_small(referrals - not_yet)
    if discussed is not None and not_yet is not None:
        _never_small(discussed + not_yet)  # a suppressed referrals, by addition
    # Nor may two "<5" stand beside their printed total (8 could only be 4 + 4).
    both_bounded = shared[MEDIAN].denominator == SUPPRESSED == shared[NOT_YET].value
    assert not (both_bounded and referrals is not None), shared

    for all_ages, older in PAIRS:
        whole_shown = shared[all_ages]
        kind = INDICATORS_BY_ID[all_ages].kind
        whole = _printed(
            whole_shown.value if kind is IndicatorKind.COUNT else whole_shown.numerator
        )
        part = _printed(shared[older].numerator)
        if part is None:
            # Nor may the rate give the numerator back (rate × registered / 1,000).
            assert _printed(shared[older].value.split(".")[0]) is None, older
        if whole is not None and part is not None:
            _never_small(whole - part)

    # And nothing else is touched.
    alone = per_figure(panel)
    related = {MEDIAN, NOT_YET, *(older for _all_ages, older in PAIRS)}
    for key, shown in shared.items():
        if key not in related:
            assert shown == alone[key], key
