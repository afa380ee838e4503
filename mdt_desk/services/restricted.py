"""Need-to-know: what someone who may not read a restricted item is shown instead.

A sensitive alert, note or action (safeguarding, risk to staff) is read only by the
person's coordinator and care team, a privacy officer, the chair of a meeting the person
is on (in meeting mode, after the reveal) and anyone whose break-glass on the person is
still open (:func:`mdt_desk.services.access.may_read_sensitive`). Everyone else is told
that a restricted item exists, and nothing of it: every reader of alerts, notes and
actions for display, print or export passes its rows through the functions here.

What a marker keeps, and why:

- its id, so the screens can keep their selection and refuse to edit it;
- that it is sensitive, so it carries the padlock like any sensitive item;
- for a note, when it was written, and for an action, its due date and status: these
  place the item in the timeline and the plan (a restricted action that is overdue is
  something to raise with the care team), and say nothing of what it is about.

What it drops: the words (alert detail and kind, note body, action description), the
author of a note, the owner of an action and the goal it serves. An alert's kind is
dropped too, since "Safeguarding" or "Risk to staff" is itself the sensitive fact.
"""

import dataclasses
import datetime as dt
import uuid
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdt_desk.models import AccessEvent
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import AccessAction
from mdt_desk.services.access import (
    BREAK_GLASS_MINUTES,
    Permission,
    may_read_sensitive,
    principal_of,
)
from mdt_desk.services.access_log import AccessEntry, entries_for, may_read_log
from mdt_desk.services.display import cui_time

#: What stands in for a restricted item's words, everywhere.
RESTRICTED_TEXT = "Restricted item: only the care team can read it"
#: What stands in for a restricted alert's kind.
RESTRICTED_KIND = "Restricted"
#: An owner, author or goal that a restricted item does not name.
NOT_SHOWN = ""

_Row = TypeVar("_Row")


class SensitiveReader:
    """Answers "may the acting person read this person's restricted items?" once per
    person, so a list across many people costs one check per person, not per row."""

    def __init__(self, session: Session, *, everything: bool = False) -> None:
        self._session = session
        self._everything = everything
        self._known: dict[uuid.UUID, bool] = {}

    def may_read(self, patient_id: uuid.UUID) -> bool:
        if self._everything:
            return True
        known = self._known.get(patient_id)
        if known is None:
            known = may_read_sensitive(self._session, patient_id)
            self._known[patient_id] = known
        return known


def shown(row: _Row, readable: bool, **masked: object) -> _Row:
    """``row`` itself when it is not sensitive or ``readable``; otherwise a copy with the
    ``masked`` fields replaced and ``restricted`` set (every row type here has both
    ``sensitive`` and ``restricted`` fields)."""
    if readable or not getattr(row, "sensitive", False):
        return row
    return dataclasses.replace(row, restricted=True, **masked)  # type: ignore[type-var]


#: The fields of a restricted row that say what it is: shown (in the history) and
#: exported only to those who may read it.
CONTENT_FIELDS: dict[str, frozenset[str]] = {
    "alert": frozenset({"kind", "detail"}),
    "note": frozenset({"body", "author_id"}),
    "action": frozenset({"description", "owner_id", "goal_id"}),
}


def restricted_ids(session: Session, patient_id: uuid.UUID) -> set[uuid.UUID]:
    """The ids of the person's sensitive alerts, notes and actions (live or retired)."""
    from sqlalchemy import union_all

    from mdt_desk.models import Action, Alert, Case, Note

    cases = select(Case.id).where(Case.patient_id == patient_id)
    query = union_all(
        select(Alert.id).where(Alert.patient_id == patient_id, Alert.sensitive.is_(True)),
        select(Note.id).where(Note.case_id.in_(cases), Note.sensitive.is_(True)),
        select(Action.id).where(Action.case_id.in_(cases), Action.sensitive.is_(True)),
    )
    return {uuid.UUID(str(row_id)) for row_id in session.scalars(select(query.subquery().c[0]))}


@dataclasses.dataclass(frozen=True, slots=True)
class RecordAccess:
    """What the case record says about need-to-know, for the person reading it."""

    #: restricted items on the record that the reader sees only as markers
    hidden_items: int
    #: whether the reader may break the glass (their role allows it)
    may_break_glass: bool
    #: the reader's open break-glass ends then (``None``: none open)
    open_until: dt.datetime | None
    #: ``06-Dec-2026 14:35``, or ""
    open_until_text: str
    #: *who has looked at this record* is the reader's to see (coordinator, privacy officer)
    may_read_log: bool
    #: that log, newest first (empty unless ``may_read_log``)
    log: tuple[AccessEntry, ...]


def record_access(
    session: Session, patient_id: uuid.UUID, *, now: dt.datetime | None = None
) -> RecordAccess:
    """Need-to-know on the person's record, as the acting person stands."""
    now = now or utc_now()
    principal = principal_of(session)
    hidden = 0
    if not may_read_sensitive(session, patient_id, now=now):
        hidden = len(restricted_ids(session, patient_id))
    open_until = None
    if principal.staff_id is not None:
        latest = session.scalar(
            select(func.max(AccessEvent.at)).where(
                AccessEvent.patient_id == patient_id,
                AccessEvent.staff_id == principal.staff_id,
                AccessEvent.action == AccessAction.BREAK_GLASS.value,
                AccessEvent.retired_at.is_(None),
            )
        )
        if latest is not None:
            if latest.tzinfo is None:
                latest = latest.replace(tzinfo=dt.UTC)
            until = latest + dt.timedelta(minutes=BREAK_GLASS_MINUTES)
            open_until = until if until > now else None
    readable_log = may_read_log(session, patient_id)
    return RecordAccess(
        hidden_items=hidden,
        may_break_glass=principal.staff_id is not None and principal.may(Permission.BREAK_GLASS),
        open_until=open_until,
        open_until_text=cui_time(open_until) if open_until is not None else "",
        may_read_log=readable_log,
        log=tuple(entries_for(session, patient_id)) if readable_log else (),
    )
