"""Actions across every case: one definition of "overdue", one list for every screen.

"Overdue" means an action whose status is ``open`` or ``in_progress``, whose due date is
before the day in question (today, or the meeting day for an agenda), and which is not
retired (nor is its case). The caseload's counts, the agenda rule, the documents, the
*My actions* and *Overdue actions* views and ``mdt-desk actions list`` all use
:func:`overdue_condition`, so they can never disagree.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from mdt_desk.models import Action, Case, Patient, Staff
from mdt_desk.models.enums import ActionStatus
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import patient_display_name
from mdt_desk.services.restricted import NOT_SHOWN, RESTRICTED_TEXT, SensitiveReader, shown
from mdt_desk.services.staff import display_staff_name

#: Actions still to do: they count as open, and as overdue once past their due date.
OUTSTANDING_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

_LONDON = ZoneInfo("Europe/London")


def london_today() -> dt.date:
    """Today's date in Europe/London, the day every due date is judged against."""
    return dt.datetime.now(_LONDON).date()


def outstanding_condition() -> ColumnElement[bool]:
    """An action still to do: open or in progress, and not retired."""
    return and_(Action.status.in_(OUTSTANDING_STATUSES), Action.retired_at.is_(None))


def overdue_condition(day: dt.date | ColumnElement[Any]) -> ColumnElement[bool]:
    """An action overdue on ``day``: still to do and due before that day.

    ``day`` may be a date or a bound parameter (the caseload binds ``today`` once).
    """
    return and_(outstanding_condition(), Action.due_on < day)


def is_overdue(status: ActionStatus, due_on: dt.date, day: dt.date) -> bool:
    """The same rule as :func:`overdue_condition`, for one action already in hand."""
    return status in OUTSTANDING_STATUSES and due_on < day


@dataclass(frozen=True)
class ActionsQuery:
    """Which actions an action list shows.

    Args:
        owner_id: only this staff member's actions (``None``: everyone's).
        overdue_only: only overdue ones.
    """

    owner_id: uuid.UUID | None = None
    overdue_only: bool = False


def count_actions(session: Session, query: ActionsQuery, today: dt.date | None = None) -> int:
    """How many actions :func:`list_actions` gives for ``query`` (for the navigator)."""
    day = today or london_today()
    conditions = [
        overdue_condition(day) if query.overdue_only else outstanding_condition(),
        Case.retired_at.is_(None),
        Patient.retired_at.is_(None),
    ]
    if query.owner_id is not None:
        conditions.append(Action.owner_id == query.owner_id)
    statement = (
        select(func.count())
        .select_from(Action)
        .join(Case, Case.id == Action.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(*conditions)
    )
    return int(session.execute(statement).scalar_one())


@dataclass(frozen=True)
class ActionListRow:
    """One action as the action lists show it: whose, what, for whom, by when."""

    id: uuid.UUID
    case_id: uuid.UUID
    patient_id: uuid.UUID
    nhs_number: str
    person_name: str
    description: str
    owner_id: uuid.UUID
    owner_name: str
    due_on: dt.date
    status: ActionStatus
    overdue: bool
    sensitive: bool
    #: need-to-know: the reader may not read it (description and owner are a marker's)
    restricted: bool = False


@requires(Permission.READ_CLINICAL)
def list_actions(
    session: Session,
    *,
    owner_id: uuid.UUID | None = None,
    overdue_only: bool = False,
    include_closed: bool = False,
    today: dt.date | None = None,
) -> list[ActionListRow]:
    """Actions across every case, overdue first, then by due date.

    Args:
        owner_id: only this staff member's actions.
        overdue_only: only overdue actions (see the module docstring).
        include_closed: also done and cancelled actions (otherwise only those still to do).
        today: the day overdue is judged on (default: today in Europe/London).
    """
    day = today or london_today()
    overdue = overdue_condition(day)
    conditions: list[ColumnElement[bool]] = [
        Action.retired_at.is_(None),
        Case.retired_at.is_(None),
        Patient.retired_at.is_(None),
    ]
    if owner_id is not None:
        conditions.append(Action.owner_id == owner_id)
    if overdue_only:
        conditions.append(overdue)
    elif not include_closed:
        conditions.append(outstanding_condition())
    statement = (
        select(
            Action.id,
            Action.case_id,
            Patient.id,
            Patient.nhs_number,
            Patient.family_name,
            Patient.given_name,
            Patient.title,
            Action.description,
            Action.owner_id,
            Staff.family_name,
            Staff.given_name,
            Staff.title,
            Action.due_on,
            Action.status,
            Action.sensitive,
        )
        .join(Case, Case.id == Action.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .join(Staff, Staff.id == Action.owner_id)
        .where(*conditions)
        .order_by(case((overdue, 0), else_=1), Action.due_on, Patient.family_name, Action.id)
    )
    reader = SensitiveReader(session)
    return [
        shown(
            _list_row(row, day),
            # only a sensitive row asks (once per person): the rest cost nothing
            not row[14] or reader.may_read(row[2]),
            description=RESTRICTED_TEXT,
            owner_name=NOT_SHOWN,
        )
        for row in session.execute(statement)
    ]


def _list_row(row: Any, day: dt.date) -> ActionListRow:
    return ActionListRow(
        id=row[0],
        case_id=row[1],
        patient_id=row[2],
        nhs_number=row[3],
        person_name=patient_display_name(row[4], row[5], row[6]),
        description=row[7],
        owner_id=row[8],
        owner_name=display_staff_name(row[9], row[10], row[11]),
        due_on=row[12],
        status=row[13],
        overdue=is_overdue(row[13], row[12], day),
        sensitive=bool(row[14]),
    )
