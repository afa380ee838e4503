"""Undoable edits of the action plan.

An edit is saved first and pushed on the record's undo stack only once it has been
saved, so a refused edit (a due date in the past, an empty description) never leaves a
command on the stack that undoes nothing. The first ``redo`` after the push is therefore
skipped; every later redo and undo is a service call run by the task runner, journalled
as the signed-in staff member. Undoing an "add" withdraws the action (it is retired, never
deleted); redoing it reinstates the same action.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.enums import ActionStatus
from mdt_desk.services import plans
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.plans import ActionPlanRow
from mdt_desk.ui.runner import TaskRunner

RowWrite = Callable[[Session], ActionPlanRow]


@dataclass(frozen=True)
class ActionCommandContext:
    """Where the action plan's commands run and report.

    Attributes:
        on_saved: called on the GUI thread with the row as saved, after either direction.
        on_error: called with the user error if saving failed.
    """

    runner: TaskRunner
    owner: QObject
    on_saved: Callable[[ActionPlanRow], None]
    on_error: Callable[[UserError], None]


class ActionCommand(QUndoCommand):
    """An action plan edit already saved once; redo and undo call services."""

    def __init__(
        self, text: str, context: ActionCommandContext, apply: RowWrite, revert: RowWrite
    ) -> None:
        super().__init__(text)
        self._context = context
        self._apply = apply
        self._revert = revert
        self._saved_already = True

    def redo(self) -> None:
        if self._saved_already:
            self._saved_already = False  # pushed after the save itself
            return
        self._run(self._apply)

    def undo(self) -> None:
        self._run(self._revert)

    def _run(self, call: RowWrite) -> None:
        context = self._context
        context.runner.write(
            call,
            context.on_saved,
            context.on_error,
            owner=context.owner,
            description=self.text(),
        )


def edit_write(action_id: uuid.UUID, field: str, value: object) -> RowWrite:
    """The service call that changes one field of an action."""

    def call(session: Session) -> ActionPlanRow:
        if field == "goal_id":
            assert value is None or isinstance(value, uuid.UUID)
            return plans.set_action_goal(session, action_id, value)
        plans.update_action(session, action_id, **{field: value})  # type: ignore[arg-type]
        return plans.get_action_row(session, action_id)

    return call


def edit_text(before: ActionPlanRow, after: ActionPlanRow, field: str) -> str:
    """What the Edit menu says: "Undo mark 'Book OT visit' done"."""
    what = before.description if len(before.description) <= 30 else before.description[:29] + "…"
    if field == "status":
        if after.status is ActionStatus.DONE:
            return f"mark '{what}' done"
        return f"set '{what}' to {label(after.status).lower()}"
    if field == "due_on":
        return f"move '{what}' to {cui_date(after.due_on)}"
    if field == "owner_id":
        return f"give '{what}' to {after.owner_name}"
    if field == "goal_id":
        return f"link '{what}' to a goal" if after.goal_id else f"unlink '{what}' from its goal"
    if field == "sensitive":
        return f"mark '{what}' sensitive" if after.sensitive else f"mark '{what}' not sensitive"
    return f"reword '{what}'"


def edit_command(
    context: ActionCommandContext, before: ActionPlanRow, after: ActionPlanRow, field: str
) -> ActionCommand:
    """The command for an edit already saved (``before`` → ``after``)."""
    value = getattr(after, field)
    return ActionCommand(
        edit_text(before, after, field),
        context,
        edit_write(before.id, field, value),
        lambda session: plans.restore_action(session, before),
    )


def add_command(context: ActionCommandContext, added: ActionPlanRow) -> ActionCommand:
    """The command for an action already added: undo withdraws it, redo reinstates it."""
    return ActionCommand(
        f"add action '{added.description}'",
        context,
        lambda session: plans.reinstate_action(session, added.id),
        lambda session: plans.withdraw_action(session, added.id),
    )
