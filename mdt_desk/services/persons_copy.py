"""What may reach the person's own copy: never a sensitive action, note or alert.

A sensitive item (safeguarding, risk to staff, domestic abuse: domain.md) is for the
team only. The care plan the person keeps at home may be read by anyone in the house,
so the sensitive items are taken out here, where its content is gathered, and never
reach the document layer at all: no layout change can print them by mistake.

What was taken out is counted (:class:`LeftOff`) so the screen can tell whoever prints
the plan what is missing and why; the count is never printed.
"""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdt_desk.models.enums import ActionStatus
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.case_view import RecordView, load_record
from mdt_desk.services.plans import ActionPlanRow, list_action_rows


@dataclass(frozen=True)
class LeftOff:
    """How many sensitive items a person's copy leaves out, by kind."""

    actions: int = 0
    notes: int = 0
    alerts: int = 0

    @property
    def total(self) -> int:
        return self.actions + self.notes + self.alerts

    def __bool__(self) -> bool:
        return self.total > 0


#: A copy that leaves nothing out.
NOTHING_LEFT_OFF = LeftOff()


@dataclass(frozen=True)
class PersonsCopy:
    """A case as the person's own copy may show it.

    Attributes:
        record: the record with its sensitive alerts and notes taken out.
        open_actions: the actions still to do (open or in progress), none sensitive.
        done_recently: actions done since ``today - recent_days``, newest first, none
            sensitive.
        left_off: the sensitive items taken out of the above.
    """

    record: RecordView
    open_actions: tuple[ActionPlanRow, ...]
    done_recently: tuple[ActionPlanRow, ...]
    left_off: LeftOff


def without_sensitive(record: RecordView) -> tuple[RecordView, LeftOff]:
    """``record`` with its sensitive alerts and case notes taken out, and how many."""
    banner = record.banner
    alerts = tuple(alert for alert in banner.alerts if not alert.sensitive)
    case = record.case
    notes_left_off = 0
    if case is not None:
        kept = tuple(note for note in case.notes if not note.sensitive)
        notes_left_off = len(case.notes) - len(kept)
        kept_ids = {note.id for note in kept}
        # A kept note may not even say which sensitive note corrects it.
        kept = tuple(
            dataclasses.replace(
                note, corrected_by=tuple(i for i in note.corrected_by if i in kept_ids)
            )
            for note in kept
        )
        case = dataclasses.replace(case, notes=kept)
    copy = dataclasses.replace(record, banner=dataclasses.replace(banner, alerts=alerts), case=case)
    return copy, LeftOff(notes=notes_left_off, alerts=len(banner.alerts) - len(alerts))


def _done_since(rows: Iterable[ActionPlanRow], since: dt.date) -> list[ActionPlanRow]:
    return [
        row
        for row in rows
        if row.status is ActionStatus.DONE
        and row.completed_on is not None
        and row.completed_on >= since
    ]


@requires(Permission.READ_CLINICAL)
def persons_copy(
    session: Session,
    patient_id: uuid.UUID,
    case_id: uuid.UUID | None,
    today: dt.date,
    *,
    recent_days: int,
    recent_limit: int,
) -> PersonsCopy:
    """Read a case for the person's own copy, without anything sensitive.

    Args:
        case_id: the case; ``None`` takes the person's open case, else their latest
            (the record has no case when they have none).
        recent_days: "done recently" looks back this many days...
        recent_limit: ...and keeps at most this many, newest first.

    Raises:
        NotFoundError: the person or case is not in this store.
    """
    record, left_off = without_sensitive(
        load_record(session, patient_id, case_id, today, with_staff_choices=False)
    )
    if record.case is None:
        return PersonsCopy(record, (), (), left_off)
    rows = list_action_rows(session, record.case.id, include_closed=True)
    since = today - dt.timedelta(days=recent_days)
    in_scope = [row for row in rows if not row.is_closed] + _done_since(rows, since)
    shown = [row for row in in_scope if not row.sensitive]
    done = sorted(
        _done_since(shown, since),
        key=lambda row: (row.completed_on or today, row.id),
        reverse=True,
    )[:recent_limit]
    return PersonsCopy(
        record=record,
        open_actions=tuple(row for row in shown if not row.is_closed),
        done_recently=tuple(done),
        left_off=dataclasses.replace(left_off, actions=len(in_scope) - len(shown)),
    )
