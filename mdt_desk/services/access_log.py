"""The access log: who looked at which person's record, when, where and why.

Every opening, print, export and break-glass of a record, and every sign-in, sign-out,
failed PIN and lock-out, is one append-only ``access_event`` row, written in the same
journalled transaction as what it records where there is one, and synced like any
record. Nobody can change a row once written (the journal triggers refuse it).
"""

import datetime as dt
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, ValidationError
from mdt_desk.models import AccessEvent, Patient, Staff
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import AccessAction
from mdt_desk.services.access import (
    Permission,
    coordinates,
    principal_of,
)

#: What a purpose not given is recorded as (contracts: "not stated").
NOT_STATED = "not stated"


def stated(purpose: str) -> str:
    """A print's or export's purpose as the log keeps it: trimmed, "not stated" if blank."""
    return purpose.strip() or NOT_STATED


def desk_name() -> str:
    """This computer's name, as the access log records where a look happened."""
    try:
        return socket.gethostname()[:100] or "unknown desk"
    except OSError:
        return "unknown desk"


def append(
    session: Session,
    action: AccessAction,
    *,
    patient_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> AccessEvent:
    """Add one row to the access log inside the caller's journalled transaction.

    ``staff_id`` defaults to whoever is acting in the session.
    """
    if staff_id is None:
        staff_id = principal_of(session).staff_id
    event = AccessEvent(
        at=at or utc_now(),
        staff_id=staff_id,
        patient_id=patient_id,
        action=action.value,
        desk=desk_name(),
        reason=reason.strip(),
    )
    session.add(event)
    session.flush()
    return event


def append_many(
    session: Session,
    action: AccessAction,
    patient_ids: Iterable[uuid.UUID],
    *,
    reason: str = "",
) -> int:
    """One access-log row per person, at one moment, by whoever is acting (an export
    of a practice's caseload logs each person in it). Returns how many rows."""
    staff_id = principal_of(session).staff_id
    at, desk = utc_now(), desk_name()
    events = [
        AccessEvent(
            at=at,
            staff_id=staff_id,
            patient_id=patient_id,
            action=action.value,
            desk=desk,
            reason=reason.strip(),
        )
        for patient_id in patient_ids
    ]
    session.add_all(events)
    session.flush()
    return len(events)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One row of *who has looked at this record*."""

    at: dt.datetime
    staff_id: uuid.UUID | None
    staff_name: str
    action: str
    desk: str
    reason: str


def may_read_log(session: Session, patient_id: uuid.UUID) -> bool:
    """The privacy officer reads every record's log; a coordinator their people's."""
    principal = principal_of(session)
    if principal.may(Permission.READ_ACCESS_LOG):
        return True
    return principal.staff_id is not None and coordinates(session, principal.staff_id, patient_id)


def entries_for(session: Session, patient_id: uuid.UUID) -> list[AccessEntry]:
    """Who has looked at the person's record, newest first."""
    if session.get(Patient, patient_id) is None:
        raise NotFoundError("There is no such person in this store.")
    if not may_read_log(session, patient_id):
        principal_of(session).require(Permission.READ_ACCESS_LOG)
    from mdt_desk.services.staff import display_staff_name

    rows = session.execute(
        select(AccessEvent, Staff)
        .outerjoin(Staff, Staff.id == AccessEvent.staff_id)
        .where(AccessEvent.patient_id == patient_id, AccessEvent.retired_at.is_(None))
        .order_by(AccessEvent.at.desc(), AccessEvent.id.desc())
    ).all()
    return [
        AccessEntry(
            at=event.at,
            staff_id=event.staff_id,
            staff_name=(
                display_staff_name(staff.family_name, staff.given_name, staff.title)
                if staff is not None
                else ""
            ),
            action=event.action,
            desk=event.desk,
            reason=event.reason,
        )
        for event, staff in rows
    ]


def record_open(session: Session, patient_id: uuid.UUID) -> None:
    """Log that the acting person opened the person's record."""
    append(session, AccessAction.OPEN, patient_id=patient_id)


def break_glass(session: Session, patient_id: uuid.UUID, reason: str) -> str:
    """Open the person's restricted items for 30 minutes, with a typed reason.

    Journalled in the access log and raised for the person's coordinator in their review
    list. Returns what changed, in words.
    """
    principal = principal_of(session)
    principal.require(Permission.BREAK_GLASS)
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError(
            "Say why you need to see the restricted items (a few words at least).",
            {"reason": "Give a reason."},
        )
    if session.get(Patient, patient_id) is None:
        raise NotFoundError("There is no such person in this store.")
    event = append(session, AccessAction.BREAK_GLASS, patient_id=patient_id, reason=reason)
    _raise_for_coordinators(session, patient_id, event, principal.display_name)
    return (
        "Restricted items opened for 30 minutes; this is recorded in the access log "
        "and raised with the person's care coordinator."
    )


#: The review item kind that tells a coordinator someone broke the glass on their person.
BREAK_GLASS_KIND = "break_glass"


def _raise_for_coordinators(
    session: Session, patient_id: uuid.UUID, event: AccessEvent, who: str
) -> None:
    """One review item per current coordinator of the person, in the same transaction.

    A desk-made review item is an ordinary synced row (the hub merges it like any other
    insert, and only hub-made items have a hub conflict behind them), so it reaches the
    coordinator's desk by the next sync. ``other_row_id`` names the coordinator it is for
    (the review list shows it to them and to a privacy officer); with no coordinator it
    is left empty and only a privacy officer sees it.
    """
    from mdt_desk.models import Case, CoordinatorAssignment, ReviewItem

    coordinator_ids = sorted(
        set(
            session.scalars(
                select(CoordinatorAssignment.staff_id)
                .join(Case, Case.id == CoordinatorAssignment.case_id)
                .where(
                    Case.patient_id == patient_id,
                    Case.retired_at.is_(None),
                    CoordinatorAssignment.ended_on.is_(None),
                    CoordinatorAssignment.retired_at.is_(None),
                )
            )
        )
    )
    targets: list[uuid.UUID | None] = [*coordinator_ids] or [None]
    for coordinator_id in targets:
        session.add(
            ReviewItem(
                kind=BREAK_GLASS_KIND,
                entity="patient",
                row_id=patient_id.hex,
                kept_by=who[:200],
                kept_at=event.at.isoformat(),
                kept_desk=event.desk[:32],
                other_row_id=coordinator_id.hex if coordinator_id else "",
                detail=f"{who} opened the restricted items: “{event.reason}”",
            )
        )
    session.flush()
