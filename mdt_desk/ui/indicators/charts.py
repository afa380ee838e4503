"""The tab's charts, drawn with pyqtgraph (MIT; PySide6's Qt Charts is GPL-only).

A chart never stands alone: each carries its series in words as its accessible
description (read by screen readers, and shown as its tooltip), and the numbers are
always on screen beside it, so a line or a bar is never read without them.
"""

import math
import os

# pyqtgraph picks a Qt binding when first imported: it must be the one the app uses.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


def _palette_colour(widget: QWidget, role: QPalette.ColorRole) -> QColor:
    return widget.palette().color(QPalette.ColorGroup.Active, role)


def _make_still(view: pg.GraphicsView) -> None:
    """The app's base colour behind the chart, and no scroll bars: charts never scroll."""
    view.setBackground(_palette_colour(view, QPalette.ColorRole.Base))
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


def _set_text_alternative(chart: QWidget, name: str, words: str) -> None:
    """What a screen reader says for a chart: its name, and its series in words."""
    chart.setAccessibleName(name)
    chart.setAccessibleDescription(words)
    chart.setToolTip(words)


class _Chart(pg.PlotWidget):
    """A still chart with axes: no mouse panning or zooming, no context menu, the app's
    colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)
        _make_still(self)
        item = self.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()

    def set_text_alternative(self, name: str, words: str) -> None:
        _set_text_alternative(self, name, words)


class SparklineWidget(pg.GraphicsView):
    """A measure's trend as a small line, without axes; the last month marked.

    Months without a figure (nothing to divide by) are gaps, never zero.

    A bare view box in a graphics view rather than a plot widget: the tab shows one per
    measure, and a plot widget builds axes, buttons and menus it would hide again — about
    eight times the cost, paid on the GUI thread for every sparkline each time the
    figures change.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)
        _make_still(self)
        self._box = pg.ViewBox(enableMouse=False, enableMenu=False, defaultPadding=0)
        self.setCentralItem(self._box)
        self.setContentsMargins(2, 2, 2, 2)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the table's cell carries the words
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.values: list[float | None] = []

    def set_text_alternative(self, name: str, words: str) -> None:
        _set_text_alternative(self, name, words)

    def set_values(self, values: list[float | None]) -> None:
        self.values = list(values)
        self._box.clear()
        colour = _palette_colour(self, QPalette.ColorRole.Highlight)
        ys = [math.nan if v is None else v for v in values]
        xs = list(range(len(ys)))
        self._box.addItem(pg.PlotDataItem(xs, ys, pen=pg.mkPen(colour, width=2), connect="finite"))
        known = [(x, y) for x, y in zip(xs, ys, strict=True) if not math.isnan(y)]
        if known:
            last_x, last_y = known[-1]
            self._box.addItem(
                pg.ScatterPlotItem([last_x], [last_y], pen=None, symbol="o", size=5, brush=colour)
            )
            low = min(y for _, y in known)
            high = max(y for _, y in known)
            pad = (high - low) * 0.15 or max(abs(high) * 0.15, 1.0)
            self._box.setYRange(low - pad, high + pad, padding=0)
        self._box.setXRange(-0.5, max(len(xs) - 0.5, 0.5), padding=0)


class BarChartWidget(_Chart):
    """Practices side by side on one measure: a horizontal bar each, named on the left,
    its figure written at its end (names fit there; codes under upright bars collide).

    Reachable by Tab, so a screen reader can read its description; its focus shows as a
    frame in the highlight colour.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setObjectName("compare_chart")
        highlight = _palette_colour(self, QPalette.ColorRole.Highlight).name()
        self.setStyleSheet(
            f"#compare_chart {{ border: 2px solid transparent; }}"
            f"#compare_chart:focus {{ border: 2px solid {highlight}; }}"
        )
        item = self.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.25)
        item.invertY(True)  # the first practice at the top, as in the table beside it
        item.setContentsMargins(4, 6, 16, 10)  # room for the unit's descenders and the last figure
        text = _palette_colour(self, QPalette.ColorRole.Text)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(text))
            axis.setTextPen(pg.mkPen(text))
        self.labels: list[str] = []
        self.values: list[float | None] = []

    def set_bars(
        self, labels: list[str], values: list[float | None], texts: list[str], unit: str
    ) -> None:
        """One bar per label; ``texts`` are the figures written at the bars' ends."""
        self.labels, self.values = list(labels), list(values)
        self.clear()
        item = self.getPlotItem()
        item.getAxis("left").setTicks([list(enumerate(labels))])
        item.setLabel("bottom", unit)
        lengths = [0.0 if v is None else float(v) for v in values]
        rows = list(range(len(labels)))
        brush = _palette_colour(self, QPalette.ColorRole.Highlight)
        if rows:
            self.addItem(pg.BarGraphItem(x0=0, y=rows, width=lengths, height=0.6, brush=brush))
        longest = max(lengths, default=0.0) or 1.0
        font = QFont(self.font())
        text_colour = _palette_colour(self, QPalette.ColorRole.Text)
        for row, (length, words) in enumerate(zip(lengths, texts, strict=True)):
            label = pg.TextItem(words, color=text_colour, anchor=(0.0, 0.5))
            label.setFont(font)
            label.setPos(length + longest * 0.01, row)
            self.addItem(label)
        self.setYRange(-0.6, max(len(labels) - 0.4, 0.6), padding=0)
        # Room at the right for the longest figure written after its bar ("154.0 days").
        widest = max((len(words) for words in texts), default=0)
        self.setXRange(0, longest * (1.1 + 0.03 * widest), padding=0)
