"""The Indicators tab (Ctrl+4): a practice's or a locality's measures for a period.

Top, what to show: a practice or a locality, and a period (the last 3, 6 or 12 months
to today, or dates typed). Under it two views:

- *Measures*: every measure's figure with its numerator ("Counted") and denominator
  ("Out of"), and a sparkline of its last 12 months. Enter (or a double click) on a
  measure lists the cases it counted; Enter on a case opens its record, as the caseload
  does (the record checks the person's rights and writes the access log).
- *Compare practices*: one measure for each practice of the locality, side by side in a
  bar chart, with the numbers in a table beside it.

*Save summary as PDF…* writes the figures on screen as the one- or two-page summary to
share beyond the team, the same PDF as ``mdt-desk indicators … --pdf FILE`` (small counts
suppressed), gathered, drawn and written on the worker thread.

Everything is read on the task runner's worker thread: the figures first, then the
trends (a query per month), so the numbers show while the lines are still being drawn.
A reply to an older choice is dropped, so a quick change of practice never shows the
previous practice's figures.
"""

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QModelIndex, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFocusEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.documents.indicators_summary import (
    indicators_summary_pdf,
    write_indicators_summary,
)
from mdt_desk.errors import UserError
from mdt_desk.models.base import utc_now
from mdt_desk.services import indicators
from mdt_desk.services.actions import london_today
from mdt_desk.services.changes import Changes
from mdt_desk.services.display import counted
from mdt_desk.services.indicators import IndicatorKind, Period
from mdt_desk.services.staff import setup_actor_label
from mdt_desk.ui.indicators.charts import BarChartWidget, SparklineWidget
from mdt_desk.ui.indicators.loading import (
    Comparison,
    CountedCases,
    PanelFigures,
    ScopeChoice,
    ScopeKind,
    ScopeOptions,
    Trend,
    guarded,
    last_months,
    load_comparison,
    load_counted_cases,
    load_panel,
    load_scope_options,
    load_trends,
    period_words,
    with_code,
)
from mdt_desk.ui.indicators.table_models import (
    ComparisonTableModel,
    CountedCasesTableModel,
    FigureRow,
    FiguresTableModel,
    IndicatorsRole,
)
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import DateField, announce

T = TypeVar("T")

#: The period choices: months back from today (0: the dates typed).
PERIOD_CHOICES = ((3, "Last 3 months"), (6, "Last 6 months"), (12, "Last 12 months"), (0, "Dates"))
DEFAULT_MONTHS = 6
#: The measure compared at first: the headline outcome of the seed papers.
DEFAULT_COMPARED = "admissions_per_100"

_UNITS = {
    IndicatorKind.COUNT: "Count",
    IndicatorKind.RATE_PER_100: "Per 100 people on the caseload",
    IndicatorKind.SHARE_PERCENT: "Per cent",
    IndicatorKind.MEDIAN_DAYS: "Days",
}


class _FocusShowingTableView(QTableView):
    """A table whose chosen row is bright only while it has the keyboard focus: with
    the measures and the cases behind one both on screen, it shows at a glance which
    one the arrow keys and Enter act on (as on the Meetings tab)."""

    def __init__(self) -> None:
        super().__init__()
        self._show_focus(False)

    def _show_focus(self, focused: bool) -> None:
        palette = self.palette()
        base = QPalette()  # the application's colours, not a muted copy of them
        active = QPalette.ColorGroup.Active
        highlight = QPalette.ColorRole.Highlight if focused else QPalette.ColorRole.Mid
        text = QPalette.ColorRole.HighlightedText if focused else QPalette.ColorRole.Text
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.Highlight, base.color(active, highlight))
            palette.setColor(group, QPalette.ColorRole.HighlightedText, base.color(active, text))
        self.setPalette(palette)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._show_focus(True)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self._show_focus(False)
        super().focusOutEvent(event)


def _table(name: str, accessible: str, description: str) -> QTableView:
    table = _FocusShowingTableView()
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    table.setAccessibleDescription(description)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)  # Tab leaves the table in one press
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setHighlightSections(False)
    return table


def _bold(label: QLabel, scale: float = 1.0) -> QLabel:
    font = label.font()
    font.setBold(True)
    if scale != 1.0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


class IndicatorsPage(QWidget):
    """The Indicators tab.

    Signals:
        record_requested(uuid.UUID, uuid.UUID): open the person's case record (person,
            case), as choosing a case on the caseload does.
        figures_shown(): the measures for the current choice are on screen.
        trends_shown(): their sparklines are drawn.
        comparison_shown(): the practices compared are on screen.
        counted_shown(): the cases behind a figure are listed.
        summary_saved(pathlib.Path): the summary PDF of the figures shown was written
            there.
    """

    record_requested = Signal(object, object)
    figures_shown = Signal()
    trends_shown = Signal()
    comparison_shown = Signal()
    counted_shown = Signal()
    summary_saved = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("indicators_page")
        self.setAccessibleName(self.tr("Indicators"))
        self.runner = runner
        self.options: ScopeOptions | None = None
        self.panel: PanelFigures | None = None
        self.comparison: Comparison | None = None
        self.counted: CountedCases | None = None
        self.sparklines: dict[str, SparklineWidget] = {}
        #: what the figures on screen are for; replies to an older choice are dropped
        self._generation = 0
        self._counted_generation = 0
        self._stale = False
        #: the choice whose figures are on screen (what *Save summary as PDF…* saves)
        self._shown_choice: ScopeChoice | None = None
        self._loading_choice: ScopeChoice | None = None
        self._figures_loading = False
        self._saving_summary = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(400)  # a burst of changes (a sync) reloads once
        self._reload_timer.timeout.connect(self.reload)
        self._build()
        self.runner.changes_committed.connect(self._on_runner_changes_committed)

    # -- building ------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = _bold(QLabel(self.tr("Indicators")), 1.3)
        self.heading.setObjectName("indicators_heading")
        self.heading.setWordWrap(True)

        self.scope_kind = QComboBox()
        self.scope_kind.setObjectName("scope_kind")
        self.scope_kind.setAccessibleName(self.tr("Figures for a practice or a locality"))
        self.scope_kind.addItem(self.tr("Practice"), ScopeKind.PRACTICE)
        self.scope_kind.addItem(self.tr("Locality"), ScopeKind.LOCALITY)
        self.scope_choice = QComboBox()
        self.scope_choice.setObjectName("scope_choice")
        self.scope_choice.setAccessibleName(self.tr("Practice"))
        self.scope_choice.setMinimumContentsLength(24)
        self.scope_choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.period_choice = QComboBox()
        self.period_choice.setObjectName("period_choice")
        self.period_choice.setAccessibleName(self.tr("Period"))
        for months, words in PERIOD_CHOICES:
            self.period_choice.addItem(self.tr(words), months)
        self.period_choice.setCurrentIndex([m for m, _ in PERIOD_CHOICES].index(DEFAULT_MONTHS))
        today = london_today()
        preset = last_months(DEFAULT_MONTHS, today)
        self.from_field = DateField(preset.start)
        self.from_field.setObjectName("period_from")
        self.from_field.setAccessibleName(self.tr("Period from"))
        self.to_field = DateField(preset.end)
        self.to_field.setObjectName("period_to")
        self.to_field.setAccessibleName(self.tr("Period to"))
        self.show_dates_button = QPushButton(self.tr("Sho&w"))
        self.show_dates_button.setObjectName("show_dates_button")
        self.show_dates_button.setAccessibleName(self.tr("Show the figures for these dates"))
        self.save_summary_button = QPushButton(self.tr("Save s&ummary as PDF…"))
        self.save_summary_button.setObjectName("save_summary_button")
        self.save_summary_button.setAccessibleName(self.tr("Save summary as PDF"))
        self.save_summary_button.setAccessibleDescription(
            self.tr(
                "Save the figures shown as a one- or two-page PDF to share beyond the team, "
                "with small counts suppressed."
            )
        )
        self.save_summary_button.setEnabled(False)

        controls = QHBoxLayout()
        controls.setSpacing(6)
        for text, field in (
            (self.tr("Fi&gures for"), self.scope_kind),
            (None, self.scope_choice),
            (self.tr("&Period"), self.period_choice),
            (self.tr("F&rom"), self.from_field),
            (self.tr("&To"), self.to_field),
        ):
            if text is not None:
                caption = QLabel(text)
                caption.setBuddy(field)
                controls.addWidget(caption)
            controls.addWidget(field)
        controls.addWidget(self.show_dates_button)
        controls.addStretch(1)
        controls.setAlignment(Qt.AlignmentFlag.AlignTop)

        self.status = QLabel()
        self.status.setObjectName("indicators_status")
        self.status.setAccessibleName(self.tr("Indicators status"))
        self.status.setWordWrap(True)

        self.views = QTabWidget()
        self.views.setObjectName("indicators_views")
        self.views.setAccessibleName(self.tr("Indicator views"))
        self.views.addTab(self._build_measures(), self.tr("Measures"))
        self.views.addTab(self._build_compare(), self.tr("Compare practices"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        # The button beside the heading, not in the controls row: there it widened the
        # page's minimum and squeezed the practices list at 1280×800.
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.save_summary_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading_row)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.views, 1)

        self.scope_kind.currentIndexChanged.connect(self._on_scope_kind_changed)
        self.scope_choice.activated.connect(self._on_choice_made)
        self.period_choice.activated.connect(self._on_period_choice_activated)
        self.show_dates_button.clicked.connect(self._on_choice_made)
        # Enter in either date shows the figures; leaving a field only checks its date.
        self.from_field.line_edit.returnPressed.connect(self._on_choice_made)
        self.to_field.line_edit.returnPressed.connect(self._on_choice_made)
        self.compare_measure.activated.connect(self._on_compare_measure_activated)
        self.figures_table.activated.connect(self._on_figures_table_activated)
        self.counted_table.activated.connect(self._on_counted_table_activated)
        self.open_case_button.clicked.connect(self.open_current_case)
        self.save_summary_button.clicked.connect(self.choose_summary_file)
        self._show_period_fields()

    def _build_measures(self) -> QWidget:
        self.figures_model = FiguresTableModel(self)
        self.figures_table = _table(
            "figures_table",
            self.tr("Measures"),
            self.tr(
                "Each measure's figure, the counts it is made of and its last 12 months. "
                "Press Enter on a measure to list the cases it counted."
            ),
        )
        self.figures_table.setModel(self.figures_model)
        header = self.figures_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        widths = {1: 90, 2: 80, 3: 80, FiguresTableModel.TREND_COLUMN: 170}
        for column, width in widths.items():
            header.resizeSection(column, width)
        header.setStretchLastSection(False)
        self.figures_table.verticalHeader().setDefaultSectionSize(
            self.figures_table.fontMetrics().height() + 14
        )

        self.counted_heading = _bold(QLabel(self.tr("Cases behind a figure")))
        self.counted_heading.setObjectName("counted_heading")
        self.counted_heading.setWordWrap(True)
        self.counted_model = CountedCasesTableModel(self)
        self.counted_table = _table(
            "counted_cases_table",
            self.tr("Cases counted"),
            self.tr("The cases counted in the chosen figure; press Enter to open a case record."),
        )
        self.counted_table.setModel(self.counted_model)
        counted_header = self.counted_table.horizontalHeader()
        counted_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        counted_header.setStretchLastSection(True)
        self.counted_table.verticalHeader().setDefaultSectionSize(
            self.counted_table.fontMetrics().height() + 10
        )
        self.open_case_button = QPushButton(self.tr("&Open case record"))
        self.open_case_button.setObjectName("open_case_button")
        self.open_case_button.setAccessibleName(self.tr("Open the chosen case record"))
        self.open_case_button.setEnabled(False)
        self.counted_hint = QLabel(
            self.tr("Press Enter on a measure (or double-click it) to list the cases it counted.")
        )
        self.counted_hint.setObjectName("counted_hint")
        self.counted_hint.setWordWrap(True)

        counted_box = QGroupBox(self.tr("People behind the number"))
        counted_box.setObjectName("counted_box")
        counted_box.setAccessibleName(self.tr("People behind the number"))
        box_layout = QVBoxLayout(counted_box)
        box_layout.addWidget(self.counted_heading)
        box_layout.addWidget(self.counted_hint)
        box_layout.addWidget(self.counted_table, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_case_button)
        box_layout.addLayout(buttons)

        self.measures_splitter = QSplitter(Qt.Orientation.Vertical)
        self.measures_splitter.setObjectName("measures_splitter")
        self.measures_splitter.addWidget(self.figures_table)
        self.measures_splitter.addWidget(counted_box)
        self.measures_splitter.setStretchFactor(0, 3)
        self.measures_splitter.setStretchFactor(1, 1)
        self.measures_splitter.setChildrenCollapsible(False)
        return self.measures_splitter

    def _build_compare(self) -> QWidget:
        self.compare_measure = QComboBox()
        self.compare_measure.setObjectName("compare_measure")
        self.compare_measure.setAccessibleName(self.tr("Measure to compare"))
        for each in indicators.INDICATORS:
            self.compare_measure.addItem(self.tr(each.title), each.id)
        self.compare_measure.setCurrentIndex(
            max(0, self.compare_measure.findData(DEFAULT_COMPARED))
        )
        self.compare_heading = _bold(QLabel())
        self.compare_heading.setObjectName("compare_heading")
        self.compare_heading.setWordWrap(True)
        self.compare_chart = BarChartWidget()
        self.compare_chart.set_text_alternative(self.tr("Practices compared, chart"), "")
        self.compare_model = ComparisonTableModel(self)
        self.compare_table = _table(
            "compare_table",
            self.tr("Practices compared"),
            self.tr("Each practice's figure for the chosen measure, with its counts."),
        )
        self.compare_table.setModel(self.compare_model)
        header = self.compare_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

        choose = QHBoxLayout()
        caption = QLabel(self.tr("Me&asure"))
        caption.setBuddy(self.compare_measure)
        choose.addWidget(caption)
        choose.addWidget(self.compare_measure)
        choose.addStretch(1)
        page = QWidget()
        page.setObjectName("compare_page")
        layout = QVBoxLayout(page)
        layout.addLayout(choose)
        layout.addWidget(self.compare_heading)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.setObjectName("compare_splitter")
        body.addWidget(self.compare_chart)
        body.addWidget(self.compare_table)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        body.setSizes([540, 460])
        body.setChildrenCollapsible(False)
        layout.addWidget(body, 1)
        return page

    # -- what is chosen --------------------------------------------------------------

    def scope(self) -> ScopeChoice | None:
        code = self.scope_choice.currentData()
        if not isinstance(code, str):
            return None
        return ScopeChoice(ScopeKind(self.scope_kind.currentData()), code)

    def period(self) -> Period:
        """The chosen period.

        Raises:
            DateInputError: a date typed cannot be read (the field says why).
            IndicatorInputError: the period ends before it starts.
        """
        months = self.period_choice.currentData()
        if months:
            return last_months(int(months), london_today())
        start, end = self.from_field.date_value(), self.to_field.date_value()
        if start > end:
            # said here for a person at the screen (the service's words are for the CLI)
            raise UserError(
                self.tr("The period starts after it ends: make “From” the earlier date.")
            )
        return Period(start, end)

    def locality_code(self) -> str | None:
        """The locality whose practices are compared: the chosen one, or the practice's."""
        choice = self.scope()
        if choice is None:
            return None
        if choice.kind is ScopeKind.LOCALITY:
            return choice.code
        for practice in self.options.practices if self.options else ():
            if practice.code == choice.code:
                return practice.locality_code or None
        return None

    def choose(self, kind: ScopeKind, code: str, months: int | None = None) -> None:
        """Show the figures for ``code`` (and the last ``months`` months), as if chosen."""
        self.scope_kind.blockSignals(True)  # one load, below, not one per change
        self.scope_kind.setCurrentIndex(self.scope_kind.findData(kind))
        self.scope_kind.blockSignals(False)
        self._fill_scope_choice()
        index = self.scope_choice.findData(code)
        if index < 0:
            raise ValueError(f"{kind} {code} is not on offer")
        self.scope_choice.setCurrentIndex(index)
        if months is not None:
            self.period_choice.setCurrentIndex(self.period_choice.findData(months))
            self._show_period_fields()
        self.load_figures()

    def choose_dates(self, start: dt.date, end: dt.date) -> None:
        """Show the figures for these dates, as if typed."""
        self.period_choice.setCurrentIndex(self.period_choice.findData(0))
        self.from_field.set_date(start)
        self.to_field.set_date(end)
        self._show_period_fields()
        self.load_figures()

    # -- loading ---------------------------------------------------------------------

    def reload(self) -> None:
        """Read the practices and localities on offer, then the figures."""
        self._stale = False
        self.runner.read(
            guarded(lambda session: load_scope_options(session, london_today())),
            self._on_options_loaded,
            self._show_error,
            owner=self,
            description="indicator scopes",
        )

    def _read(
        self,
        call: Callable[[Session], T],
        on_done: Callable[[T], None],
        on_error: Callable[[UserError], None],
        description: str,
    ) -> None:
        self.runner.read(guarded(call), on_done, on_error, owner=self, description=description)

    def load_figures(self) -> None:
        """Read the measures for what is chosen, then the comparison and the trends."""
        choice = self.scope()
        if choice is None:
            return
        try:
            period = self.period()
        except UserError as error:  # a date that cannot be read, or the wrong way round
            self._show_error(error)
            return
        self._generation += 1
        generation = self._generation
        self._loading_choice = choice
        self._figures_loading = True
        self._update_save_summary_button()
        self._set_status(self.tr("Loading figures…"))
        self.figures_table.setAccessibleDescription(self.tr("Loading figures…"))
        self._read(
            lambda session: load_panel(session, choice, period),
            lambda panel: self._on_panel_loaded(generation, panel),
            lambda error: self._on_load_failed(generation, error),
            "indicator figures",
        )
        self.load_comparison()  # one measure: before the trends, a query per month each
        self._read(
            lambda session: load_trends(session, choice, period.end),
            lambda trends: self._on_trends_loaded(generation, trends),
            lambda error: self._on_load_failed(generation, error),
            "indicator trends",
        )

    def load_comparison(self) -> None:
        """Read the practices of the locality side by side on the chosen measure."""
        locality = self.locality_code()
        measure = self.compare_measure.currentData()
        if locality is None or not isinstance(measure, str):
            self.compare_heading.setText(self.tr("This practice belongs to no locality."))
            return
        try:
            period = self.period()
        except UserError:
            return  # load_figures has said why
        generation = self._generation
        self.compare_heading.setText(self.tr("Loading…"))
        self._read(
            lambda session: load_comparison(session, locality, period, measure),
            lambda comparison: self._on_comparison_loaded(generation, comparison),
            lambda error: self._on_load_failed(generation, error),
            "indicator comparison",
        )

    def show_counted(self, indicator_id: str) -> None:
        """List the cases counted in ``indicator_id`` for what is chosen."""
        choice = self.scope()
        if choice is None or self.panel is None:
            return
        period = self.panel.period
        self._counted_generation += 1
        generation = self._counted_generation
        title = indicators.indicator(indicator_id).title
        self.counted_heading.setText(
            self.tr("Finding the cases counted in {title}…").format(title=title)
        )
        self._read(
            lambda session: load_counted_cases(session, choice, period, indicator_id),
            lambda cases: self._on_counted_loaded(generation, cases),
            lambda error: self._on_counted_failed(generation, error),
            "cases behind an indicator",
        )

    # -- showing -------------------------------------------------------------------

    def _set_status(self, text: str, *, problem: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: palette(highlight);" if not problem else "")
        self.status.setVisible(bool(text))
        if problem:
            announce(self.status, text)

    def _show_error(self, error: UserError) -> None:
        message = str(error)
        self._set_status(message, problem=True)
        self.figures_table.setAccessibleDescription(message)

    def _on_load_failed(self, generation: int, error: UserError) -> None:
        if generation == self._generation:
            self._figures_loading = False  # the earlier figures, if any, are still shown
            self._update_save_summary_button()
            self._show_error(error)

    def _on_options_loaded(self, options: ScopeOptions) -> None:
        self.options = options
        self._fill_scope_choice()
        if self.scope_choice.count() == 0:
            self._set_status(
                self.tr("No practice has people on the caseload yet, so there are no figures.")
            )
            return
        self.load_figures()

    def _fill_scope_choice(self) -> None:
        kind = ScopeKind(self.scope_kind.currentData())
        chosen = self.scope_choice.currentData()
        self.scope_choice.blockSignals(True)
        self.scope_choice.clear()
        if self.options is not None:
            if kind is ScopeKind.PRACTICE:
                for practice in self.options.practices:
                    self.scope_choice.addItem(practice.title, practice.code)
            else:
                for locality in self.options.localities:
                    self.scope_choice.addItem(
                        with_code(locality.title, locality.code), locality.code
                    )
        index = self.scope_choice.findData(chosen)
        self.scope_choice.setCurrentIndex(max(index, 0) if self.scope_choice.count() else -1)
        self.scope_choice.blockSignals(False)
        self.scope_choice.setAccessibleName(
            self.tr("Practice") if kind is ScopeKind.PRACTICE else self.tr("Locality")
        )

    def _on_panel_loaded(self, generation: int, panel: PanelFigures) -> None:
        if generation != self._generation:
            return  # an older choice's figures
        self.panel = panel
        self._shown_choice = self._loading_choice
        self._figures_loading = False
        self._update_save_summary_button()
        self.sparklines.clear()
        self.figures_model.set_rows([FigureRow(measure) for measure in panel.measures])
        period = period_words(panel.period)
        self.heading.setText(
            self.tr("Indicators — {scope}, {period}").format(scope=panel.scope_label, period=period)
        )
        self._set_status("")
        self.figures_table.setAccessibleDescription(
            self.tr(
                "Figures for {scope}, {period}. Press Enter on a measure to list the cases "
                "it counted."
            ).format(scope=panel.scope_label, period=period)
        )
        self._clear_counted()
        self.figures_shown.emit()

    def _on_trends_loaded(self, generation: int, trends: dict[str, Trend]) -> None:
        if generation != self._generation:
            return
        self.figures_model.set_trends(trends)
        for row, figure in enumerate(self.figures_model.rows()):
            trend = figure.trend
            if trend is None:
                continue
            sparkline = SparklineWidget()
            sparkline.setObjectName(f"trend_{trend.indicator_id}")
            sparkline.set_values(trend.values)
            sparkline.set_text_alternative(
                self.tr("{title}: trend chart").format(title=trend.title), trend.in_words()
            )
            index = self.figures_model.index(row, FiguresTableModel.TREND_COLUMN)
            self.figures_table.setIndexWidget(index, sparkline)
            self.sparklines[trend.indicator_id] = sparkline
        self.trends_shown.emit()

    def _on_comparison_loaded(self, generation: int, comparison: Comparison) -> None:
        if generation != self._generation:
            return
        self.comparison = comparison
        self.compare_model.set_rows(comparison.practices)
        self.compare_heading.setText(
            self.tr("{title}: {locality}, {period}").format(
                title=comparison.title,
                locality=comparison.locality_label,
                period=period_words(comparison.period),
            )
        )
        self.compare_chart.set_bars(
            [f"{p.name} ({p.code})" for p in comparison.practices],
            [
                None if p.result.value is None else float(p.result.value)
                for p in comparison.practices
            ],
            [p.figure for p in comparison.practices],
            self.tr(_UNITS[comparison.kind]),
        )
        self.compare_chart.set_text_alternative(
            self.tr("{title}, practices compared: bar chart").format(title=comparison.title),
            comparison.in_words(),
        )
        self.comparison_shown.emit()

    def _clear_counted(self) -> None:
        self._counted_generation += 1
        self.counted = None
        self.counted_model.set_rows([])
        self.counted_heading.setText(self.tr("Cases behind a figure"))
        self.counted_hint.show()
        self.open_case_button.setEnabled(False)

    def _on_counted_loaded(self, generation: int, cases: CountedCases) -> None:
        if generation != self._counted_generation:
            return
        self.counted = cases
        self.counted_model.set_rows(cases.cases)
        self.counted_hint.hide()
        if cases.cases:
            text = self.tr("{title}: {cases} counted ({scope}, {period}).").format(
                title=cases.title,
                cases=counted(len(cases.cases), "case"),
                scope=cases.scope_label,
                period=period_words(cases.period),
            )
            self.counted_table.selectRow(0)
            self.counted_table.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            text = self.tr("{title}: no cases to list for this figure.").format(title=cases.title)
        self.open_case_button.setEnabled(bool(cases.cases))
        self.counted_heading.setText(text)
        announce(self.counted_heading, text)
        self.counted_shown.emit()

    def _on_counted_failed(self, generation: int, error: UserError) -> None:
        if generation != self._counted_generation:
            return
        self.counted_model.set_rows([])
        self.counted_heading.setText(str(error))
        announce(self.counted_heading, str(error))

    def _show_period_fields(self) -> None:
        typed = self.period_choice.currentData() == 0
        for widget in (self.from_field, self.to_field, self.show_dates_button):
            widget.setEnabled(typed)
        if not typed:
            preset = last_months(int(self.period_choice.currentData()), london_today())
            self.from_field.set_date(preset.start)
            self.to_field.set_date(preset.end)

    # -- the summary PDF ----------------------------------------------------------------

    def _update_save_summary_button(self) -> None:
        self.save_summary_button.setEnabled(
            self._shown_choice is not None
            and self.panel is not None
            and not self._figures_loading
            and not self._saving_summary
        )

    def default_summary_path(self) -> Path | None:
        """``indicators-G82020-2026-06-01-to-2026-11-30.pdf`` in the person's documents
        folder (their home folder where there is none): the figures shown, by name."""
        if self._shown_choice is None or self.panel is None:
            return None
        code = re.sub(r"[^A-Za-z0-9]+", "-", self._shown_choice.code).strip("-")
        period = self.panel.period
        name = f"indicators-{code}-{period.start.isoformat()}-to-{period.end.isoformat()}.pdf"
        documents = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        return (Path(documents) if documents else Path.home()) / name

    @Slot()
    def choose_summary_file(self) -> None:
        """Ask where to save the summary of the figures shown, then save it there."""
        suggested = self.default_summary_path()
        if suggested is None:
            return
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Save summary as PDF"),
            str(suggested),
            self.tr("PDF documents (*.pdf)"),
        )
        if path:
            self.save_summary_to(Path(path))

    def save_summary_to(self, path: Path) -> None:
        """Gather, draw and write the summary PDF of the figures shown to ``path``, on the
        worker thread: the same PDF as ``mdt-desk indicators … --pdf`` (suppressed)."""
        choice, panel = self._shown_choice, self.panel
        if choice is None or panel is None:
            return
        period = panel.period
        desk = self.runner.desk
        # The footer's "printed by", as the command line and the print preview put it.
        printed_by = desk.actor_name or setup_actor_label()
        cannot_save = self.tr("Cannot save the summary to {path}: {reason}.")

        def save(session: Session) -> int:
            pdf = indicators_summary_pdf(
                session, choice.resolve(session), period, now=utc_now(), printed_by=printed_by
            )
            try:
                write_indicators_summary(path, pdf)
            except OSError as error:
                # The person's to fix (a folder gone, a full disk): said, not a crash.
                reason = error.strerror or str(error)
                raise UserError(cannot_save.format(path=path, reason=reason)) from error
            return pdf.pages

        self._saving_summary = True
        self._update_save_summary_button()
        self._set_status(self.tr("Saving the summary…"))
        self._read(
            save,
            lambda pages: self._on_summary_saved(path, pages),
            self._on_summary_failed,
            "indicators summary PDF",
        )

    def _show_in_status_bar(self, message: str) -> None:
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(message, 15_000)

    def _on_summary_saved(self, path: Path, pages: int) -> None:
        self._saving_summary = False
        self._update_save_summary_button()
        count = self.tr("1 page") if pages == 1 else self.tr("{n} pages").format(n=pages)
        message = self.tr("Summary saved to {path} ({pages}).").format(path=path, pages=count)
        self._set_status(message)
        announce(self.status, message)
        self._show_in_status_bar(message)
        self.summary_saved.emit(path)

    def _on_summary_failed(self, error: UserError) -> None:
        self._saving_summary = False
        self._update_save_summary_button()
        self._set_status(str(error), problem=True)
        self._show_in_status_bar(str(error))

    # -- slots ---------------------------------------------------------------------

    @Slot(int)
    def _on_scope_kind_changed(self, _index: int) -> None:
        self._fill_scope_choice()
        self.load_figures()

    @Slot()
    def _on_choice_made(self) -> None:
        self.load_figures()

    @Slot(int)
    def _on_period_choice_activated(self, _index: int) -> None:
        self._show_period_fields()
        if self.period_choice.currentData():
            self.load_figures()
        else:
            self.from_field.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot(int)
    def _on_compare_measure_activated(self, _index: int) -> None:
        self.load_comparison()

    @Slot(QModelIndex)
    def _on_figures_table_activated(self, index: QModelIndex) -> None:
        indicator_id = index.data(IndicatorsRole.INDICATOR_ID)
        if isinstance(indicator_id, str):
            self.show_counted(indicator_id)

    @Slot(QModelIndex)
    def _on_counted_table_activated(self, index: QModelIndex) -> None:
        ids = self.counted_model.ids_at(index.row())
        if ids is not None:
            self.record_requested.emit(*ids)

    @Slot()
    def open_current_case(self) -> None:
        ids = self.counted_model.ids_at(self.counted_table.currentIndex().row())
        if ids is not None:
            self.record_requested.emit(*ids)

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if not changes:
            return
        if self.isVisible():
            self._reload_timer.start()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._reload_timer.start()

    def figure_for(self, indicator_id: str) -> str:
        """The figure shown for ``indicator_id`` (for the tests and screenshots)."""
        for row in self.figures_model.rows():
            if row.id == indicator_id:
                return row.measure.figure
        raise KeyError(indicator_id)
