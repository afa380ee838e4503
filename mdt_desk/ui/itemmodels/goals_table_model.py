"""The person's goals ("what matters to me"), in their own words."""

from typing import ClassVar

from mdt_desk.services.case_view import GoalView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


class GoalsTableModel(RecordListTableModel[GoalView]):
    columns: ClassVar = (
        Column[GoalView]("What matters to me", lambda g: g.description),
        Column[GoalView]("Target date", lambda g: g.target_text),
        Column[GoalView]("Outcome", lambda g: g.outcome_text),
    )
