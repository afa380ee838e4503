"""The indicators summary: a team's month on one or two A4 pages, to share beyond the team.

A practice's or a locality's figures for a period, as a team lead takes them to a
locality board: what needs attention first, then every measure with its figure, its
numerator and denominator, the previous period's figure and a small 12-month trend.

**Gathering and drawing are apart.** :func:`gather_indicators_summary` takes a session,
a scope and a period and returns an :class:`IndicatorsSummary` (plain frozen
dataclasses, exact figures from the one function per indicator in
:mod:`mdt_desk.services.indicators`); :func:`render_indicators_summary` draws one and
runs no SQL. The command line (``mdt-desk indicators … --pdf FILE``) and the app call
both (the app off the GUI thread); :func:`write_indicators_summary` saves the PDF 0600.

**Small numbers.** The PDF is shared beyond the team, so every figure of this period
and of the previous one goes through :func:`~mdt_desk.services.indicators.shared_panel`
(each panel whole): a count from 1 to 4 is printed "<5" and a rate, share or median
computed from one is "withheld"; where two printed figures of the panel would give
such a count by subtraction (referrals discussed and not yet discussed; a count of all
ages and its 65+ numerator), one more is withheld; and
:data:`~mdt_desk.services.indicators.SUPPRESSION_NOTE` is printed. The same rule holds
where a number could otherwise be worked back:

- *Trend charts* leave out a month whose figure is suppressed or withheld (an open
  circle on the axis marks it), each month's panel through ``shared_panel`` as the
  period's is. Where a count's months add up to a period total printed in the table
  (referrals, admissions, delayed days …), a single month left out of that period could
  be found by subtraction, so a second month is left out with it (the smallest shown;
  the usual rule of complementary suppression). A chart's scale is never topped by 1
  to 4 (at least 5, or 100% for a share), so no label reads as a small count.
- *Meetings not quorate* is the difference of two printed counts; it is printed only
  when neither count is suppressed, and itself as "<5" when it is 1 to 4.

**Exceptions** come first, each only when there is something to say:

- reviews overdue at the period's end (``reviews_overdue_at_end`` above 0);
- referrals of the period not yet discussed at an MDT (``not_yet_discussed`` above 0);
- meetings in the period that were not quorate;
- measures that moved the wrong way against the previous period of the same length
  (the same number of calendar months before, for a period of whole months; otherwise
  the same number of days): worse by at least :data:`WORSE_SHARE_POINTS` percentage
  points for a share, or by at least :data:`WORSE_RELATIVE` of the previous figure for
  a count, a rate or a median (any rise from 0). Only measures with a direction (lower
  is better, or higher is better: :data:`LOWER_IS_BETTER`, :func:`higher_is_better`)
  are compared, and only where both figures are printed (not suppressed or withheld),
  so an exception never reveals a suppressed figure. Volumes (referrals, open cases,
  people on the caseload, admissions as a count) have no direction. They share one
  line ("Worse than in the previous period: …"), so a bad month still fits two pages.

A plain note says that a caseload's before-and-after figures are not evidence of effect
(regression to the mean). The document names no person: only aggregate figures, the
scope, the period, and who printed it. Its metadata title is fixed ("Indicators
summary").
"""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle
from sqlalchemy.orm import Session

from mdt_desk.documents.common import (
    FONT,
    HEADER_FILL,
    HEADING_INK,
    RULE,
    DocumentStyles,
    PageFrame,
    RenderedPdf,
    document_styles,
    heading,
    long_date,
    markup,
    paragraph,
    render,
    spacer,
    text,
    unbroken,
    usable_width,
)
from mdt_desk.models.private_files import write_private
from mdt_desk.services.dates import add_months
from mdt_desk.services.display import practice_display_name
from mdt_desk.services.indicators import (
    INDICATORS,
    SMALL_NUMBER_LIMIT,
    SUPPRESSION_NOTE,
    IndicatorKind,
    IndicatorResult,
    Period,
    Scope,
    SharedFigure,
    compute_panels,
    month_periods,
    shared_figure,
    shared_panel,
)

#: The PDF's title (header and metadata): the same for every summary, naming no one.
DOCUMENT_TITLE = "Indicators summary"

#: Months in each trend chart.
TREND_MONTHS = 12

#: A share that fell (or, lower being better, rose) by this many percentage points.
WORSE_SHARE_POINTS = 5.0

#: A count, rate or median this much worse than the previous period's (a fraction of it).
WORSE_RELATIVE = 0.10

#: Measures where a lower figure is better. (The registry does not say yet; see
#: :func:`direction`.)
LOWER_IS_BETTER = frozenset(
    {
        "admissions_per_100",
        "ae_attendances_per_100",
        "readmissions_30d",
        "dtoc_delayed_days",
        "care_home_admissions_permanent",
        "admissions_per_1000_registered_65_plus",
        "ae_attendances_per_1000_registered_65_plus",
        "care_home_admissions_permanent_per_1000_registered_65_plus",
        "median_days_to_first_mdt",
        "not_yet_discussed",
        "reviews_overdue_at_end",
    }
)

_HIGHER_IS_BETTER = frozenset(
    {
        "at_home_91_days_after_reablement",
        "actions_done_on_time",
        "interventions_within_6_weeks",
        "goals_met_at_closure",
        "meetings_quorate",
    }
)

REGRESSION_NOTE = (
    "These figures describe the team's caseload; they are not evidence that the team's "
    "work caused any change. People are usually referred when things are at their worst "
    "(after a fall, an admission, a crisis), and many improve afterwards whatever is "
    "done: this is regression to the mean. So a caseload's figures before and after "
    "referral (admissions, A&E attendances) will look better even where the service "
    "made no difference. Judging effect needs a comparison with similar people who were "
    "not referred."
)

CHART_NOTE = (
    "Trend charts show the last 12 calendar months, the months of this period shaded. "
    "A month whose figure is suppressed is left out (an open circle on the axis), and "
    "so is a second month where the first could otherwise be worked out from the "
    "period's total."
)


def higher_is_better(indicator_id: str) -> bool:
    """Whether a higher figure of this measure is better (the experience survey's shares
    of people who agreed, too)."""
    return indicator_id in _HIGHER_IS_BETTER or indicator_id.startswith("experience_")


def direction(indicator_id: str) -> int:
    """+1 when higher is better, -1 when lower is, 0 for a volume with no direction."""
    if higher_is_better(indicator_id):
        return 1
    return -1 if indicator_id in LOWER_IS_BETTER else 0


# -- What the summary holds ----------------------------------------------------------------


@dataclass(frozen=True)
class MeasureSummary:
    """One measure: exact figures for the period, the previous period and each month.

    Suppression is applied when drawn, never here: the figures are those of the
    indicator function.
    """

    id: str
    title: str
    kind: IndicatorKind
    result: IndicatorResult
    previous: IndicatorResult
    trend: tuple[tuple[Period, IndicatorResult], ...]


@dataclass(frozen=True)
class IndicatorsSummary:
    """Everything the summary PDF prints, gathered in one read session."""

    scope_kind: str  # "practice" or "locality"
    scope_code: str
    scope_name: str
    period: Period
    previous_period: Period
    measures: tuple[MeasureSummary, ...]

    @property
    def scope_text(self) -> str:
        """``Practice G82020, The Grange Practice`` or ``Locality 10E``."""
        what = "Practice" if self.scope_kind == "practice" else "Locality"
        name = practice_display_name(self.scope_name) if self.scope_name else ""
        return f"{what} {self.scope_code}" + (f", {name}" if name else "")

    def measure(self, indicator_id: str) -> MeasureSummary | None:
        return next((each for each in self.measures if each.id == indicator_id), None)

    def shared_now(self) -> dict[str, SharedFigure]:
        """This period's figures as printed: the whole panel through ``shared_panel``."""
        return shared_panel({each.id: each.result for each in self.measures})

    def shared_before(self) -> dict[str, SharedFigure]:
        """The previous period's figures as printed (``shared_panel``, as above)."""
        return shared_panel({each.id: each.previous for each in self.measures})


def _is_whole_months(period: Period) -> bool:
    return period.start.day == 1 and (period.end + dt.timedelta(days=1)).day == 1


def previous_period(period: Period) -> Period:
    """The period of the same length just before ``period``: the same number of calendar
    months for a period of whole months (June–November → December–May), otherwise the
    same number of days."""
    if _is_whole_months(period):
        after_end = period.end + dt.timedelta(days=1)
        months = (after_end.year - period.start.year) * 12 + after_end.month - period.start.month
        return Period(add_months(period.start, -months), period.start - dt.timedelta(days=1))
    days = (period.end - period.start).days + 1
    return Period(period.start - dt.timedelta(days=days), period.start - dt.timedelta(days=1))


def gather_indicators_summary(
    session: Session, scope: Scope, period: Period, *, trend_months: int = TREND_MONTHS
) -> IndicatorsSummary:
    """Every registered indicator for ``scope`` in ``period``, the previous period of
    the same length, and each of the ``trend_months`` calendar months to the period's end.

    Raises:
        IndicatorInputError: a period the indicators cannot be computed for.
    """
    before = previous_period(period)
    months = month_periods(period.end, trend_months)
    # All at once: each figure is its function's for that period, the rows they share
    # read once (a locality's 12 months one by one took a minute on a 100k store).
    now_panel, before_panel, *monthly = compute_panels(session, scope, [period, before, *months])
    measures = tuple(
        MeasureSummary(
            id=each.id,
            title=each.title,
            kind=each.kind,
            result=now_panel[each.id],
            previous=before_panel[each.id],
            trend=tuple(
                (month, panel[each.id]) for month, panel in zip(months, monthly, strict=True)
            ),
        )
        for each in INDICATORS
        if each.id in now_panel
    )
    return IndicatorsSummary(
        scope_kind=scope.kind,
        scope_code=scope.code,
        scope_name=scope.name,
        period=period,
        previous_period=before,
        measures=measures,
    )


# -- Suppression where a figure could be worked back ----------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    """One month of a trend chart: its value, or None; ``hidden`` when suppressed."""

    period: Period
    value: float | None
    hidden: bool


def chart_points(measure: MeasureSummary, summary: IndicatorsSummary) -> list[ChartPoint]:
    """The months of ``measure``'s trend as they may be drawn on a shared page.

    A month whose shared figure is suppressed or withheld is hidden: each month's panel
    (the summary's measures in that month) goes through ``shared_panel``, so a month is
    also hidden where, beside another chart's month, it would give a small count by
    subtraction (referrals discussed and not yet discussed; the under-65s). For a count,
    in each window whose total the table prints (this period, the previous one), when
    the months wholly inside it add up to that total and exactly one of them is hidden,
    the smallest other month there is hidden too, so the hidden one cannot be found by
    subtraction.
    """
    points = [
        ChartPoint(
            month,
            None if result.value is None else float(result.value),
            _month_shared(measure, summary, index).suppressed,
        )
        for index, (month, result) in enumerate(measure.trend)
    ]
    if measure.kind is not IndicatorKind.COUNT:
        return points  # a rate's or share's months do not add up to the period's figure
    for window, total in (
        (summary.period, measure.result),
        (summary.previous_period, measure.previous),
    ):
        # The total's own rule, not its panel's: a total withheld only as a complement
        # still gets its lone hidden month a partner (never less safe).
        if total.value is None or shared_figure(measure.kind, total).suppressed:
            continue
        inside = [
            index
            for index, point in enumerate(points)
            if window.start <= point.period.start and point.period.end <= window.end
        ]
        exact = [measure.trend[index][1].value for index in inside]
        if any(value is None for value in exact) or sum(v or 0 for v in exact) != total.value:
            continue  # the months do not add up to the total: nothing to subtract from
        hidden = [index for index in inside if points[index].hidden]
        shown = [index for index in inside if not points[index].hidden]
        if len(hidden) == 1 and shown:
            partner = min(shown, key=lambda index: (points[index].value or 0, index))
            points[partner] = ChartPoint(points[partner].period, points[partner].value, True)
    return points


def _month_shared(measure: MeasureSummary, summary: IndicatorsSummary, index: int) -> SharedFigure:
    """``measure``'s figure in month ``index`` of its trend as shared: through
    ``shared_panel`` with every measure of the summary in that month."""
    month = {each.id: each.trend[index][1] for each in summary.measures if index < len(each.trend)}
    month[measure.id] = measure.trend[index][1]
    return shared_panel(month)[measure.id]


def _worse(
    measure: MeasureSummary, shown_now: SharedFigure, shown_before: SharedFigure
) -> tuple[str, str] | None:
    """This period's and the previous period's shared figures (``shown_now``,
    ``shown_before``), when the measure moved the wrong way by at least the thresholds;
    None otherwise (or when either is not printed as a number)."""
    sign = direction(measure.id)
    now, before = measure.result.value, measure.previous.value
    if sign == 0 or now is None or before is None:
        return None
    if shown_now.suppressed or shown_before.suppressed:
        return None
    change = (float(now) - float(before)) * sign  # negative: worse
    if measure.kind is IndicatorKind.SHARE_PERCENT:
        worse = change <= -WORSE_SHARE_POINTS
    elif before == 0:
        worse = change < 0
    else:
        worse = change <= -WORSE_RELATIVE * abs(float(before))
    if not worse:
        return None
    return _figure_text(measure.kind, shown_now), _figure_text(measure.kind, shown_before)


def _not_quorate(measure: MeasureSummary, shown: SharedFigure) -> str | None:
    """How many meetings were not quorate, as shared (``shown``: the measure's shared
    figure); None when there were none or when it would reveal a suppressed count."""
    quorate, finished = measure.result.numerator, measure.result.denominator
    if quorate is None or finished is None or finished == quorate:
        return None
    if shown.suppressed:
        # One of the two counts is 1-4: their difference would give it away.
        return "some (figures withheld: small numbers)"
    missed = finished - quorate
    return "<5" if missed <= 4 else f"{missed:,} of {finished:,}"


def exceptions(summary: IndicatorsSummary) -> list[str]:
    """The Exceptions section's lines, most pressing first (see the module's docstring)."""
    lines: list[str] = []
    shared_now, shared_before = summary.shared_now(), summary.shared_before()
    end = long_date(summary.period.end)
    counted = (
        ("reviews_overdue_at_end", f"Reviews overdue at {end}"),
        ("not_yet_discussed", "Referrals in the period not yet discussed at an MDT"),
    )
    for indicator_id, what in counted:
        measure = summary.measure(indicator_id)
        if measure is not None and measure.result.value:
            lines.append(f"{what}: {shared_now[indicator_id].value}.")
    quorum = summary.measure("meetings_quorate")
    missed = _not_quorate(quorum, shared_now[quorum.id]) if quorum is not None else None
    if missed is not None:
        lines.append(f"Meetings not quorate: {missed}.")
    worse: list[str] = []
    for measure in summary.measures:
        if measure.id in {indicator_id for indicator_id, _what in counted}:
            continue  # said above, whatever the previous period's figure
        moved = _worse(measure, shared_now[measure.id], shared_before[measure.id])
        if moved is not None:
            worse.append(f"{measure.title} {moved[0]} (was {moved[1]})")
    if worse:
        # One line, not one each: a bad month can move many measures at once, and the
        # summary must still fit on two pages.
        lines.append(f"Worse than in the previous period: {'; '.join(worse)}.")
    return lines


# -- Drawing ---------------------------------------------------------------------------------


def _figure_text(kind: IndicatorKind, shown: SharedFigure) -> str:
    """A shared figure with its unit: ``68.2%``, ``12 days``, ``16.1`` (per 100)."""
    if shown.suppressed or shown.value in ("–", ""):
        return shown.value
    if kind is IndicatorKind.SHARE_PERCENT:
        return f"{shown.value}%"
    if kind is IndicatorKind.MEDIAN_DAYS:
        return f"{shown.value} days"
    return shown.value


def _counts_text(kind: IndicatorKind, shown: SharedFigure) -> str:
    if kind is IndicatorKind.MEDIAN_DAYS:
        return f"n = {shown.denominator}" if shown.denominator else ""
    if shown.numerator or shown.denominator:
        return f"{shown.numerator or '–'} / {shown.denominator or '–'}"
    return ""


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of a chart's scale."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _scale_text(value: float, kind: IndicatorKind) -> str:
    shown = f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return f"{shown}%" if kind is IndicatorKind.SHARE_PERCENT else shown


_LINE = HEADING_INK
_HIDDEN = colors.HexColor("#425563")
_PERIOD_FILL = colors.HexColor("#E8EDEE")


def trend_chart(
    points: Sequence[ChartPoint],
    kind: IndicatorKind,
    period: Period,
    *,
    width: float,
    height: float,
) -> Drawing:
    """A small line chart of the months: the scale's top and 0 on the left, the
    period's months shaded, a gap and an open circle on the axis for a hidden month."""
    drawing = Drawing(width, height)
    label_size = 6.5
    left = 7.5 * mm  # room for the scale's labels
    bottom, top = 1.5, height - 2.5
    plot_width = width - left - 2
    count = max(1, len(points))
    step = plot_width / count
    shown = [p.value for p in points if not p.hidden and p.value is not None]
    if kind is IndicatorKind.SHARE_PERCENT:
        ceiling = 100.0
    else:
        # Never a scale topped by 1 to 4: on a shared page it would read as a small count.
        ceiling = max(_nice_top(max(shown, default=0)), SMALL_NUMBER_LIMIT + 1.0)

    def x(index: int) -> float:
        return left + step * (index + 0.5)

    def y(value: float) -> float:
        return bottom + (top - bottom) * min(value, ceiling) / ceiling

    inside = [i for i, p in enumerate(points) if period.start <= p.period.end <= period.end]
    if inside:
        first, last = min(inside), max(inside)
        drawing.add(
            Rect(
                left + step * first,
                bottom,
                step * (last - first + 1),
                top - bottom,
                fillColor=_PERIOD_FILL,
                strokeColor=None,
            )
        )
    drawing.add(Line(left, bottom, left + plot_width, bottom, strokeColor=RULE, strokeWidth=0.5))
    drawing.add(Line(left, top, left + plot_width, top, strokeColor=RULE, strokeWidth=0.25))
    for value, at in ((ceiling, top - label_size * 0.35), (0.0, bottom - label_size * 0.1)):
        drawing.add(
            String(
                left - 1.2,
                at,
                _scale_text(value, kind),
                fontName=FONT,
                fontSize=label_size,
                textAnchor="end",
                fillColor=colors.black,
            )
        )
    run: list[float] = []

    def end_run() -> None:
        if len(run) >= 4:
            drawing.add(PolyLine(list(run), strokeColor=_LINE, strokeWidth=1.1))
        run.clear()

    for index, point in enumerate(points):
        if point.hidden:
            end_run()
            drawing.add(
                Circle(
                    x(index),
                    bottom + 2,
                    1.8,
                    fillColor=colors.white,
                    strokeColor=_HIDDEN,
                    strokeWidth=0.7,
                )
            )
            continue
        if point.value is None:
            end_run()
            continue
        run += [x(index), y(point.value)]
        radius = 1.6 if index == len(points) - 1 else 0.9
        drawing.add(Circle(x(index), y(point.value), radius, fillColor=_LINE, strokeColor=None))
    end_run()
    return drawing


_COLUMN_SHARES = (0.34, 0.13, 0.13, 0.13, 0.27)
_CHART_HEIGHT = 8 * mm


def _measures_table(
    summary: IndicatorsSummary, measures: Sequence[MeasureSummary], styles: DocumentStyles
) -> Table:
    width = usable_width()
    widths = [width * share for share in _COLUMN_SHARES]
    months = [month for month, _result in measures[0].trend] if measures else []
    trend_header = (
        f"Monthly, {months[0].start:%b %Y} to {months[-1].end:%b %Y}" if months else "Monthly"
    )
    header = ("Measure", "This period", "Count / of", "Previous period", trend_header)
    rows: list[list[Flowable | str]] = [list(header)]
    shared_now, shared_before = summary.shared_now(), summary.shared_before()
    for measure in measures:
        now, before = shared_now[measure.id], shared_before[measure.id]
        chart = trend_chart(
            chart_points(measure, summary),
            measure.kind,
            summary.period,
            width=widths[4] - 6,
            height=_CHART_HEIGHT,
        )
        rows.append(
            [
                measure.title,
                _figure_text(measure.kind, now),
                _counts_text(measure.kind, now),
                _figure_text(measure.kind, before),
                chart,
            ]
        )
    cells = [
        [
            paragraph(cell, styles.cell_header if number == 0 else styles.cell)
            if isinstance(cell, str)
            else cell
            for cell in row
        ]
        for number, row in enumerate(rows)
    ]
    result = Table(cells, colWidths=widths, repeatRows=1, splitByRow=1, hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("LINEBELOW", (0, 0), (-1, 0), 1, RULE),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return result


def _period_text(period: Period) -> str:
    return f"{unbroken(long_date(period.start))} to {unbroken(long_date(period.end))}"


def render_indicators_summary(
    summary: IndicatorsSummary, *, now: dt.datetime, printed_by: str = ""
) -> RenderedPdf:
    """Draw the summary (A4 portrait, one or two pages). Runs no SQL.

    Args:
        now: when it is printed (timezone-aware): the footer and the PDF's date.
        printed_by: the staff member printing it, for the footer and the PDF's author.

    Raises:
        DocumentFontError: the shipped fonts are missing or damaged.
    """
    styles = document_styles(compact=True)
    story: list[Flowable] = [
        paragraph(f"Team indicators: {summary.scope_text}", styles.title),
        markup(
            f"<b>{_period_text(summary.period)}</b>, compared with the previous period, "
            f"{_period_text(summary.previous_period)}.",
            styles.body,
        ),
        markup(f"<b>Shared beyond the team.</b> {text(SUPPRESSION_NOTE)}", styles.body),
        heading("Exceptions", styles),
    ]
    found = exceptions(summary)
    if found:
        bullet = ParagraphStyle("bullet", parent=styles.body, leftIndent=10, bulletIndent=0)
        story += [Paragraph(text(line), bullet, bulletText="•") for line in found]
    else:
        story.append(paragraph("None this period.", styles.body))
    caseload = [m for m in summary.measures if m.kind is not IndicatorKind.RATE_PER_1000]
    population = [m for m in summary.measures if m.kind is IndicatorKind.RATE_PER_1000]
    story += [heading("Measures", styles), _measures_table(summary, caseload, styles)]
    if population:
        # Never mixed with the caseload's rates: another population, another table.
        story.append(heading("Population rates, per 1,000 registered people aged 65+", styles))
        if any(m.result.value is not None or m.previous.value is not None for m in population):
            story.append(_measures_table(summary, population, styles))
        else:
            story.append(
                paragraph(
                    "Not available: no practice list sizes have been imported "
                    "(NHS Digital, Patients Registered at a GP Practice).",
                    styles.body,
                )
            )
    note = ParagraphStyle("note", parent=styles.body, fontSize=8.5, leading=10.5)
    story += [
        spacer(styles, 0.6),
        markup(f"<b>Not evidence of effect.</b> {text(REGRESSION_NOTE)}", styles.body),
        markup(f"<b>Trend charts.</b> {text(CHART_NOTE)}", note),
        markup(
            "<b>Definitions.</b> Each measure is defined once, in MDT Desk's indicator "
            "functions (docs/indicators.md); the tab, this summary and the command line use "
            "the same definitions. A rate per 100 is per 100 people on the caseload in the "
            "period; population rates, per 1,000 registered people aged 65+, are kept apart.",
            note,
        ),
    ]
    frame = PageFrame(
        title=DOCUMENT_TITLE,
        subject=f"{summary.scope_text} · {long_date(summary.period.start)} to "
        f"{long_date(summary.period.end)}",
        printed_by=printed_by,
        printed_at=now,
    )
    return render(story, frame, styles)


def indicators_summary_pdf(
    session: Session, scope: Scope, period: Period, *, now: dt.datetime, printed_by: str = ""
) -> RenderedPdf:
    """Gather and draw the summary in one call (in the caller's read session)."""
    return render_indicators_summary(
        gather_indicators_summary(session, scope, period), now=now, printed_by=printed_by
    )


def write_indicators_summary(path: Path, pdf: RenderedPdf) -> None:
    """Save the PDF at ``path``, 0600 from its first byte (it goes where the user says,
    and may be mailed on; it must not be readable by others on the way)."""
    write_private(path, pdf.content)
