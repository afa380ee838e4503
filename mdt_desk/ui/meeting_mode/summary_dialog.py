"""What the meeting decided, shown when the chair ends it."""

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

from mdt_desk.services.meeting_mode import MeetingEnd, TimeStatistics
from mdt_desk.services.meetings import meeting_day_text
from mdt_desk.ui.itemmodels.meeting_results_table_model import (
    MeetingResultsTableModel,
    result_rows,
)


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
        self.setObjectName("meeting_summary_dialog")
        self.setWindowTitle(self.tr("Meeting summary"))
        self.setAccessibleName(self.tr("Meeting summary"))
        heading = QLabel(
            self.tr("{title} — {day} — finished").format(
                title=end.meeting.title, day=meeting_day_text(end.meeting)
            ),
            self,
        )
        font = heading.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 4)
        heading.setFont(font)
        heading.setWordWrap(True)
        new_actions = sum(len(item.new_actions) for item in end.items)
        if end.next_meeting is not None:
            carried = self.tr("{n} item(s) carried over to {when}.").format(
                n=end.rolled_over, when=meeting_day_text(end.next_meeting)
            )
        else:
            carried = self.tr(
                "No later meeting is planned: items not reached will be proposed for the next one."
            )
        over = max(0.0, times.minutes_taken - times.minutes_allotted)
        self.totals_label = QLabel(
            self.tr(
                "{discussed} discussed, {not_reached} deferred or not reached. "
                "{actions} new action(s). {carried}\n"
                "Time: {taken:.0f} of {allotted} minutes allotted{over}."
            ).format(
                discussed=times.discussed,
                not_reached=times.not_reached,
                actions=new_actions,
                carried=carried,
                taken=times.minutes_taken,
                allotted=times.minutes_allotted,
                over=self.tr(", {m:.0f} minutes over").format(m=over) if over >= 1 else "",
            ),
            self,
        )
        self.totals_label.setObjectName("summary_totals_label")
        self.totals_label.setWordWrap(True)
        self.model = MeetingResultsTableModel(self)
        self.model.set_rows(result_rows(end.items, times, full_names=full_names))
        self.table = QTableView(self)
        self.table.setObjectName("summary_table")
        self.table.setAccessibleName(self.tr("Outcome and time of each item"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.resizeRowsToContents()
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
