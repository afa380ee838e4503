"""What the Indicators tab asks the worker thread for, as frozen values (no Qt here).

Each ``load_…`` function takes a read session and runs on the task runner's worker
(never the GUI thread). The figures are those of :mod:`mdt_desk.services.indicators`,
unchanged: this module only gathers them into what one screen shows, and puts their
series into words for screen readers.

The people behind a number come from :mod:`mdt_desk.services.indicator_cases`, which
asks for the clinical-reading permission (a figure such as hospital admissions says
something clinical about each person listed); opening a case goes through the case
record, which checks again and writes the access log.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.services import indicators
from mdt_desk.services.display import cui_date, practice_display_name
from mdt_desk.services.indicator_cases import CountedCase, counted_case_rows
from mdt_desk.services.indicators import (
    IndicatorKind,
    IndicatorResult,
    Period,
    Scope,
    format_value,
)
from mdt_desk.services.practices import list_practices

log = logging.getLogger(__name__)

T = TypeVar("T")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: How many months the trend charts show.
TREND_MONTHS = 12


class IndicatorsUnavailableError(UserError):
    """The figures could not be worked out for a reason that is not the person's to fix
    (the details are in the log); shown on the tab instead of a traceback."""


def guarded(call: Callable[[Session], T]) -> Callable[[Session], T]:
    """``call``, with anything unexpected logged and turned into a plain message.

    A figure that fails must leave the tab saying so, not waiting for ever: a bug
    reported through the crash path would leave the tab's own "Loading…" standing.
    """

    def run(session: Session) -> T:
        try:
            return call(session)
        except UserError:
            raise
        except Exception as bug:
            log.exception("indicator figures failed")
            raise IndicatorsUnavailableError(
                "The figures could not be worked out. The details are in the log; "
                "try again, or tell whoever supports MDT Desk."
            ) from bug

    return run


# -- What the person chose ------------------------------------------------------------


class ScopeKind(StrEnum):
    PRACTICE = "practice"
    LOCALITY = "locality"


@dataclass(frozen=True)
class ScopeChoice:
    """A practice (by ODS code) or a locality (by commissioner code)."""

    kind: ScopeKind
    code: str

    def resolve(self, session: Session) -> Scope:
        if self.kind is ScopeKind.PRACTICE:
            return indicators.practice_scope(session, self.code)
        return indicators.locality_scope(session, self.code)


def last_months(months: int, today: dt.date) -> Period:
    """The last ``months`` months to ``today`` (the service's own period)."""
    return Period.last_months(months, today)


def scope_label(scope: Scope) -> str:
    """``Summerhill Surgery (G82046)``, ``North Locality (15E)`` or ``Locality 15E``."""
    if scope.kind == ScopeKind.PRACTICE:
        return f"{practice_display_name(scope.name)} ({scope.code})" if scope.name else scope.code
    return with_code(scope.name, scope.code) if scope.name else f"Locality {scope.code}"


def with_code(name: str, code: str) -> str:
    """``North Locality (15E)``; a name that already holds its code (``Locality 15E``)
    is not followed by it again."""
    return name if code in name else f"{name} ({code})"


def month_name(period: Period) -> str:
    """``Jan 2026``: a month of a trend."""
    return f"{_MONTHS[period.start.month - 1]} {period.start.year}"


def period_words(period: Period) -> str:
    """``01-Jun-2026 to 30-Nov-2026``."""
    return f"{cui_date(period.start)} to {cui_date(period.end)}"


def figure_text(kind: IndicatorKind, value: float | int | None) -> str:
    """The figure as the service formats it, with its unit where it has one."""
    text = format_value(kind, value)
    if value is None:
        return text
    if kind is IndicatorKind.SHARE_PERCENT:
        return f"{text}%"
    if kind is IndicatorKind.MEDIAN_DAYS:
        return f"{text} days"
    return text


def _value_words(kind: IndicatorKind, value: float | int | None) -> str:
    return "none" if value is None else format_value(kind, value)


def count_text(count: int | None) -> str:
    return "" if count is None else f"{count:,}"


# -- The choices on offer -------------------------------------------------------------


@dataclass(frozen=True)
class PracticeOption:
    code: str
    name: str
    locality_code: str
    open_cases: int

    @property
    def title(self) -> str:
        return f"{self.name} ({self.code})"


@dataclass(frozen=True)
class LocalityOption:
    code: str
    title: str


@dataclass(frozen=True)
class ScopeOptions:
    practices: tuple[PracticeOption, ...]
    localities: tuple[LocalityOption, ...]
    today: dt.date


def load_scope_options(session: Session, today: dt.date) -> ScopeOptions:
    """The practices with people on the caseload, and their localities."""
    practices = [p for p in list_practices(session) if p.open_cases]
    options = tuple(
        PracticeOption(p.ods_code, practice_display_name(p.name), p.locality, p.open_cases)
        for p in sorted(practices, key=lambda p: practice_display_name(p.name))
    )
    localities: dict[str, LocalityOption] = {}
    for practice in practices:
        if practice.locality and practice.locality not in localities:
            title = practice.locality_name or f"Locality {practice.locality}"
            localities[practice.locality] = LocalityOption(practice.locality, title)
    return ScopeOptions(options, tuple(sorted(localities.values(), key=lambda x: x.title)), today)


# -- The panel ------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureFigure:
    """One measure's figure for the chosen scope and period."""

    indicator_id: str
    title: str
    kind: IndicatorKind
    result: IndicatorResult

    @property
    def figure(self) -> str:
        return figure_text(self.kind, self.result.value)

    @property
    def numerator(self) -> str:
        return count_text(self.result.numerator)

    @property
    def denominator(self) -> str:
        return count_text(self.result.denominator)

    def in_words(self) -> str:
        """``Admissions per 100 people on the caseload: 12.5 (25 of 200)``."""
        words = f"{self.title}: {self.figure}"
        if self.result.numerator is not None and self.result.denominator is not None:
            words += f" ({self.numerator} of {self.denominator})"
        elif self.result.denominator is not None:
            words += f" (of {self.denominator})"
        return words


@dataclass(frozen=True)
class PanelFigures:
    scope_label: str
    period: Period
    measures: tuple[MeasureFigure, ...]


def load_panel(session: Session, choice: ScopeChoice, period: Period) -> PanelFigures:
    """Every measure for the scope and period, from :func:`indicators.compute_panel`."""
    scope = choice.resolve(session)
    results = indicators.compute_panel(session, scope, period)
    measures = tuple(
        MeasureFigure(each.id, each.title, each.kind, results[each.id])
        for each in indicators.INDICATORS
        if each.id in results
    )
    return PanelFigures(scope_label(scope), period, measures)


# -- Trends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """One measure month by month (oldest first), for a sparkline."""

    indicator_id: str
    title: str
    kind: IndicatorKind
    months: tuple[Period, ...]
    results: tuple[IndicatorResult, ...]

    @property
    def values(self) -> list[float | None]:
        return [None if r.value is None else float(r.value) for r in self.results]

    def in_words(self) -> str:
        """``Admissions per 100 people on the caseload, last 12 months: Jan 2026 3.1, …``
        (a month without a figure reads "none")."""
        points = ", ".join(
            f"{month_name(month)} {_value_words(self.kind, result.value)}"
            for month, result in zip(self.months, self.results, strict=True)
        )
        return f"{self.title}, last {len(self.months)} months: {points}"


def load_trends(
    session: Session, choice: ScopeChoice, last_day: dt.date, months: int = TREND_MONTHS
) -> dict[str, Trend]:
    """Every measure month by month to ``last_day``: one :func:`indicators.compute_panels`
    call, which reads each measure's rows once for all the months (what
    :func:`indicators.monthly_trend` gives, month for month)."""
    scope = choice.resolve(session)
    periods = tuple(indicators.month_periods(last_day, months))
    panels = indicators.compute_panels(session, scope, periods)
    return {
        each.id: Trend(
            each.id,
            each.title,
            each.kind,
            periods,
            tuple(panel[each.id] for panel in panels),
        )
        for each in indicators.INDICATORS
    }


# -- Practices side by side ------------------------------------------------------------


@dataclass(frozen=True)
class PracticeFigure:
    code: str
    name: str
    kind: IndicatorKind
    result: IndicatorResult

    @property
    def figure(self) -> str:
        return figure_text(self.kind, self.result.value)


@dataclass(frozen=True)
class Comparison:
    """One measure for each practice of a locality, for the side-by-side chart."""

    indicator_id: str
    title: str
    kind: IndicatorKind
    locality_label: str
    period: Period
    practices: tuple[PracticeFigure, ...]

    def in_words(self) -> str:
        """``Hospital admissions, Locality 00K, 01-Jun-2026 to 30-Nov-2026: A81001 12, …``."""
        points = ", ".join(
            f"{p.name} ({p.code}) {p.figure if p.result.value is not None else 'none'}"
            for p in self.practices
        )
        return f"{self.title}, {self.locality_label}, {period_words(self.period)}: {points}"


def load_comparison(
    session: Session, locality_code: str, period: Period, indicator_id: str
) -> Comparison:
    """``indicator_id`` for every practice of the locality, from
    :func:`indicators.practices_compared`."""
    chosen = indicators.indicator(indicator_id)
    locality = indicators.locality_scope(session, locality_code)
    compared = indicators.practices_compared(session, locality, period, indicator_id)
    practices = tuple(
        PracticeFigure(practice.code, practice_display_name(practice.name), chosen.kind, result)
        for practice, result in compared
    )
    return Comparison(
        chosen.id, chosen.title, chosen.kind, scope_label(locality), period, practices
    )


# -- The people behind a number --------------------------------------------------------


@dataclass(frozen=True)
class CountedCases:
    indicator_id: str
    title: str
    scope_label: str
    period: Period
    cases: tuple[CountedCase, ...]


def load_counted_cases(
    session: Session, choice: ScopeChoice, period: Period, indicator_id: str
) -> CountedCases:
    """The cases counted in ``indicator_id``, from :func:`indicators.cases_behind`."""
    chosen = indicators.indicator(indicator_id)
    scope = choice.resolve(session)
    case_ids = indicators.cases_behind(session, scope, period, indicator_id)
    cases = counted_case_rows(session, case_ids)
    return CountedCases(chosen.id, chosen.title, scope_label(scope), period, tuple(cases))
