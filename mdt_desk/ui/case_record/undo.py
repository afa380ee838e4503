"""Undoable edits of the case record.

Each command runs its service call through the task runner (never on the GUI thread):
``redo`` applies the new value, ``undo`` puts back the old one, both as journalled
writes by the signed-in staff member, so the history shows the undo too. Pushing a
command onto the stack applies it (``QUndoStack.push`` calls ``redo``).

Not undoable, on purpose: notes (append-only; amend adds a correction), changes of
coordinator and status (kept in the coordinator history with their reasons), outcome
events and care team changes.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.enums import GoalOutcome, RiskBand
from mdt_desk.services import cases, patients, plans
from mdt_desk.services.display import cui_date, label
from mdt_desk.ui.runner import TaskRunner

Write = Callable[[Session], Any]


@dataclass(frozen=True)
class CommandContext:
    """Where the commands of one record run and report.

    Attributes:
        on_done: called on the GUI thread after either direction was saved.
        on_error: called with the user error if saving failed.
    """

    runner: TaskRunner
    owner: QObject
    on_done: Callable[[], None]
    on_error: Callable[[UserError], None]


class ServiceCommand(QUndoCommand):
    """An edit whose redo and undo are service calls run by the task runner."""

    def __init__(self, text: str, context: CommandContext, apply: Write, revert: Write) -> None:
        super().__init__(text)
        self._context = context
        self._apply = apply
        self._revert = revert

    def redo(self) -> None:
        self._run(self._apply)

    def undo(self) -> None:
        self._run(self._revert)

    def _run(self, call: Write) -> None:
        context = self._context
        context.runner.write(
            call,
            lambda _result: context.on_done(),
            context.on_error,
            owner=context.owner,
            description=self.text(),
        )


def risk_band_command(
    context: CommandContext, patient_id: uuid.UUID, old: RiskBand | None, new: RiskBand | None
) -> ServiceCommand:
    return ServiceCommand(
        f"set risk band to {label(new, 'not set').lower()}",
        context,
        lambda session: patients.set_risk_band(session, patient_id, new),
        lambda session: patients.set_risk_band(session, patient_id, old),
    )


def next_review_command(
    context: CommandContext, case_id: uuid.UUID, old: dt.date | None, new: dt.date | None
) -> ServiceCommand:
    return ServiceCommand(
        f"set next review to {cui_date(new, 'not set')}",
        context,
        lambda session: cases.restore_next_review(session, case_id, new),
        lambda session: cases.restore_next_review(session, case_id, old),
    )


def goal_outcome_command(
    context: CommandContext, goal_id: uuid.UUID, old: GoalOutcome | None, new: GoalOutcome | None
) -> ServiceCommand:
    return ServiceCommand(
        f"set goal outcome to {label(new, 'not yet').lower()}",
        context,
        lambda session: plans.set_goal_outcome(session, goal_id, new),
        lambda session: plans.set_goal_outcome(session, goal_id, old),
    )


def escalated_command(
    context: CommandContext, case_id: uuid.UUID, escalated: bool
) -> ServiceCommand:
    return ServiceCommand(
        "escalate for MDT discussion" if escalated else "remove escalation",
        context,
        lambda session: cases.set_escalated(session, case_id, escalated),
        lambda session: cases.set_escalated(session, case_id, not escalated),
    )
