"""What the meeting decided, shown when the chair ends it."""

import math

from PySide6.QtCore import QEvent
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.services.display import counted
from mdt_desk.services.meeting_mode import MeetingEnd, TimeStatistics
from mdt_desk.services.meetings import meeting_day_text
from mdt_desk.ui.itemmodels.meeting_results_table_model import (
    MeetingResultsTableModel,
    duration_text,
    result_rows,
)
from mdt_desk.ui.widgets import WholeDatesDelegate, show_text

#: The "Next" column: next review, or where a case not reached is carried.
NEXT_COLUMN = 2


class MeetingSummaryDialog(QDialog):
    """Outcomes, next reviews, new actions, items carried over and minutes per item."""

    def __init__(
        self,
        end: MeetingEnd,
        times: TimeStatistics,
        *,
        full_names: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if parent is not None:
            # A dialog is a window and does not inherit fonts: take the shared screen's.
            self.setFont(parent.font())
        self.setObjectName("meeting_summary_dialog")
        self.setWindowTitle(self.tr("Meeting summary"))
        self.setAccessibleName(self.tr("Meeting summary"))
        heading = QLabel(self)
        heading.setObjectName("summary_heading_label")
        font = heading.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 4)
        heading.setFont(font)
        heading.setWordWrap(True)
        # dates whole on screen ("14-Jul-2027", never "14-" / "Jul-2027"), plain when read out
        show_text(
            heading,
            self.tr("{title} — {day} — finished").format(
                title=end.meeting.title, day=meeting_day_text(end.meeting)
            ),
        )
        new_actions = sum(len(item.new_actions) for item in end.items)
        if end.next_meeting is not None:
            carried = self.tr("{items} carried over to {when}.").format(
                items=counted(end.rolled_over, self.tr("item")),
                when=meeting_day_text(end.next_meeting),
            )
        else:
            carried = self.tr(
                "No later meeting is planned: items not reached will be proposed for the next one."
            )
        seconds_taken = sum(item.entry.seconds_taken for item in times.items)
        over = seconds_taken - times.minutes_allotted * 60
        self.totals_label = QLabel(self)
        totals = self.tr(
            "{discussed} discussed, {not_reached} deferred or not reached. "
            "{actions}. {carried}\n"
            "Time: {taken} of {allotted} min allotted — {over}."
        ).format(
            discussed=times.discussed,
            not_reached=times.not_reached,
            actions=counted(new_actions, self.tr("new action")),
            carried=carried,
            taken=duration_text(seconds_taken),
            allotted=times.minutes_allotted,
            over=self.tr("{time} over").format(time=duration_text(over))
            if over > 0
            else self.tr("on time"),
        )
        self.totals_label.setObjectName("summary_totals_label")
        self.totals_label.setWordWrap(True)
        show_text(self.totals_label, totals)
        self.model = MeetingResultsTableModel(self)
        self.model.set_rows(result_rows(end.items, times, full_names=full_names))
        self.table = QTableView(self)
        self.table.setObjectName("summary_table")
        self.table.setAccessibleName(self.tr("Outcome and time of each item"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        # the next review and the new actions' due dates wrap whole
        self.table.setItemDelegate(WholeDatesDelegate(self.table))
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        # "Next" wraps too ("Will be proposed for the next meeting" took a third of the
        # width at 1280 pixels and left "New actions" a strip): see _fit_next_column.
        header.setSectionResizeMode(NEXT_COLUMN, QHeaderView.ResizeMode.Interactive)
        self._fit_next_column()
        # Each row follows its text as the columns settle (shown, the font of the shared
        # screen, resized): measured once here, the wrapped "New actions" column was a
        # few pixels wide and the first row stayed hundreds of pixels tall.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(self.tr("Close the summary"))
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(1200, 600)

    def _fit_next_column(self) -> None:
        """Wide enough for each "Next" in at most two lines (a date kept whole), so the
        new actions, the longest text, have the width they need."""
        metrics = QFontMetrics(self.table.font())
        widest = self.table.horizontalHeader().sectionSizeFromContents(NEXT_COLUMN).width()
        for row in range(self.model.rowCount()):
            text = str(self.model.index(row, NEXT_COLUMN).data() or "")
            words = max((metrics.horizontalAdvance(word) for word in text.split()), default=0)
            widest = max(widest, words, math.ceil(metrics.horizontalAdvance(text) * 0.55))
        self.table.setColumnWidth(NEXT_COLUMN, widest + 2 * metrics.averageCharWidth())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and hasattr(self, "table"):
            self._fit_next_column()  # meeting mode gives the dialog its large font
