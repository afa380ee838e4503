"""The person's goals ("what matters to me"), in their own words."""

from typing import ClassVar

from mdt_desk.services.case_view import GoalView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


def target_words(goal: GoalView) -> str:
    """``30-Aug-2026 — target date passed`` when it is past with no outcome yet: said in
    words, never by colour alone."""
    return f"{goal.target_text} — target date passed" if goal.target_passed else goal.target_text


class GoalsTableModel(RecordListTableModel[GoalView]):
    """The goals; the first column holds the person's words in full (wrapped)."""

    DESCRIPTION, TARGET, OUTCOME = range(3)

    columns: ClassVar = (
        Column[GoalView]("What matters to me", lambda g: g.description),
        Column[GoalView]("Target date", target_words),
        Column[GoalView]("Outcome", lambda g: g.outcome_text),
    )

    def is_emphasised(self, record: GoalView) -> bool:
        return record.target_passed
