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


def result_rows(
    results: Sequence[ItemResult], times: TimeStatistics, *, full_names: bool
) -> list[MeetingResultRow]:
    """The rows of the summary, in running order."""
    by_item = {item.entry.id: item for item in times.items}
    rows = []
    for result in results:
        entry = result.entry
        timing = by_item.get(entry.id)
        actions = "; ".join(
            f"{action.description} ({action.owner_name}, due {action.due_text})"
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
            )
        )
    return rows


def _minutes(value: float) -> str:
    return f"{value:.1f}"


class MeetingResultsTableModel(RecordListTableModel[MeetingResultRow]):
    """Outcome, what happens next, new actions and minutes taken vs allotted per item."""

    columns: ClassVar = (
        Column[MeetingResultRow]("Person", lambda r: r.person_text),
        Column[MeetingResultRow]("Outcome", lambda r: r.outcome_text),
        Column[MeetingResultRow]("Next", lambda r: r.next_text),
        Column[MeetingResultRow]("New actions", lambda r: r.new_actions_text),
        Column[MeetingResultRow]("Minutes taken", lambda r: _minutes(r.minutes_taken)),
        Column[MeetingResultRow]("Allotted", lambda r: str(r.minutes_allotted)),
        Column[MeetingResultRow](
            "Over by",
            lambda r: f"{_minutes(r.over_by_minutes)} over" if r.over_by_minutes else "On time",
        ),
    )

    def is_emphasised(self, record: MeetingResultRow) -> bool:
        return record.over_by_minutes > 0
