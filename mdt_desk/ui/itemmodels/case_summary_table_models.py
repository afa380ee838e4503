"""The small tables of the case summary: interventions, outcome events, survey answers."""

from typing import ClassVar

from mdt_desk.services.case_view import ExperienceAnswerView, InterventionView, OutcomeEventView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


class InterventionsTableModel(RecordListTableModel[InterventionView]):
    columns: ClassVar = (
        Column[InterventionView]("Intervention", lambda i: i.kind_text),
        Column[InterventionView]("Provider", lambda i: i.provider),
        Column[InterventionView]("Started", lambda i: i.started_text),
        Column[InterventionView]("Planned end", lambda i: i.planned_end_text),
        Column[InterventionView]("Ended", lambda i: i.ended_text),
        Column[InterventionView]("Outcome", lambda i: i.outcome_text),
    )


class OutcomeEventsTableModel(RecordListTableModel[OutcomeEventView]):
    columns: ClassVar = (
        Column[OutcomeEventView]("Event", lambda e: e.kind_text),
        Column[OutcomeEventView]("Date", lambda e: e.occurred_text),
        Column[OutcomeEventView]("Source", lambda e: e.source),
        Column[OutcomeEventView](
            "Days delayed", lambda e: "" if e.delayed_days is None else str(e.delayed_days)
        ),
        Column[OutcomeEventView]("Discharged", lambda e: e.discharged_text),
    )


class ExperienceAnswersTableModel(RecordListTableModel[ExperienceAnswerView]):
    columns: ClassVar = (
        Column[ExperienceAnswerView]("Statement", lambda a: a.statement_text),
        Column[ExperienceAnswerView]("Agreement", lambda a: a.agreement_text),
        Column[ExperienceAnswerView]("Answered on", lambda a: a.answered_text),
        Column[ExperienceAnswerView]("How", lambda a: a.collected_how_text),
        Column[ExperienceAnswerView]("By proxy", lambda a: a.by_proxy_text),
    )
