"""The end-of-meeting summary: one row per agenda item, with its time against its allotment.

Rows are built once, when the meeting has ended, from the service's
:class:`~mdt_desk.services.meeting_mode.ItemResult` and
:class:`~mdt_desk.services.meeting_mode.ItemTime`; the table only shows them.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from mdt_desk.services.meeting_mode import ItemResult, TimeStatistics
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


@dataclass(frozen=True, slots=True)
class MeetingResultRow:
    """One item of a finished meeting, in words."""

    id: uuid.UUID
    #: initials while the screen is private, the full name once the chair revealed it
    person_text: str
    outcome_text: str
    next_text: str
    new_actions_text: str
    minutes_taken: float
    minutes_allotted: int
    over_by_minutes: float
    #: the exact time, for ``1 min 48 s``
    seconds_taken: int = 0

    @property
    def seconds_over(self) -> int:
        return max(0, self.seconds_taken - self.minutes_allotted * 60)


def result_rows(
    results: Sequence[ItemResult], times: TimeStatistics, *, full_names: bool
) -> list[MeetingResultRow]:
    """The rows of the summary, in running order.

    Args:
        full_names: the chair has revealed (Ctrl+R): full names, and the words of
            sensitive actions; otherwise initials, and a sensitive action only as such.
    """
    by_item = {item.entry.id: item for item in times.items}
    rows = []
    for result in results:
        entry = result.entry
        timing = by_item.get(entry.id)
        actions = "; ".join(
            "Sensitive action (hidden until revealed)"
            if action.sensitive and not full_names
            else f"{action.description} ({action.owner_name}, due {action.due_text})"
            for action in result.new_actions
        )
        rows.append(
            MeetingResultRow(
                id=entry.id,
                person_text=entry.patient_name if full_names else entry.initials,
                outcome_text=entry.outcome_text or "Not reached",
                next_text=result.next_review_text or result.rolled_to_text,
                new_actions_text=actions or "None",
                minutes_taken=timing.minutes_taken if timing else 0.0,
                minutes_allotted=entry.minutes_allotted,
                over_by_minutes=timing.over_by_minutes if timing else 0.0,
                seconds_taken=timing.entry.seconds_taken if timing else entry.seconds_taken,
            )
        )
    return rows


def duration_text(seconds: int) -> str:
    """``48 s``, ``1 min 48 s``, ``2 min``, ``1 h 5 min``."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def over_text(row: MeetingResultRow) -> str:
    """``On time`` or ``2 min over``."""
    return f"{duration_text(row.seconds_over)} over" if row.seconds_over else "On time"


class MeetingResultsTableModel(RecordListTableModel[MeetingResultRow]):
    """Outcome, what happens next, new actions and minutes taken vs allotted per item."""

    columns: ClassVar = (
        Column[MeetingResultRow]("Person", lambda r: r.person_text),
        Column[MeetingResultRow]("Outcome", lambda r: r.outcome_text),
        Column[MeetingResultRow]("Next", lambda r: r.next_text),
        Column[MeetingResultRow]("New actions", lambda r: r.new_actions_text),
        Column[MeetingResultRow]("Time taken", lambda r: duration_text(r.seconds_taken)),
        Column[MeetingResultRow]("Allotted", lambda r: f"{r.minutes_allotted} min"),
        Column[MeetingResultRow]("Timing", over_text),
    )

    def is_emphasised(self, record: MeetingResultRow) -> bool:
        return record.seconds_over > 0
