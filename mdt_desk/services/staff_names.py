"""Staff names for one read, looked up only for the staff it names.

A record or its history names a handful of staff (the coordinator, the care team, who
wrote a note or made a change), while the store may hold thousands: a desk that serves a
whole area holds every practice's team. :class:`StaffNames` reads the names of the ids it
is given, in one ``WHERE id IN (...)`` query per batch, and remembers them (and the ids
that are no one's) for the rest of the read, so what it costs follows the record, not the
size of the team.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.models import Staff
from mdt_desk.services.staff import display_staff_name

#: SQLite caps the number of bound parameters; ids are looked up in chunks.
_CHUNK = 500


class StaffNames:
    """Display names (``Given Family``) of staff, retired or not, by id.

    Call :meth:`load` with the ids a read is about to name, to read them in one query;
    :meth:`get` and ``in`` look up any other id on their own, once.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        #: id -> name; ``None``: no staff member has that id
        self._names: dict[uuid.UUID, str | None] = {}

    def load(self, ids: Iterable[uuid.UUID | None]) -> None:
        """Read the names of ``ids`` not read yet (``None`` is skipped)."""
        wanted = [
            staff_id
            for staff_id in dict.fromkeys(ids)
            if staff_id is not None and staff_id not in self._names
        ]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for staff_id, family, given, title in self._session.execute(
                select(Staff.id, Staff.family_name, Staff.given_name, Staff.title).where(
                    Staff.id.in_(chunk)
                )
            ):
                self._names[staff_id] = display_staff_name(family, given, title)
            for staff_id in chunk:
                self._names.setdefault(staff_id, None)

    def get(self, staff_id: uuid.UUID | None, default: str = "") -> str:
        """The name of ``staff_id``, else ``default`` (``None`` or no such staff)."""
        if staff_id is None:
            return default
        if staff_id not in self._names:
            self.load((staff_id,))
        name = self._names[staff_id]
        return default if name is None else name

    def __contains__(self, staff_id: object) -> bool:
        if not isinstance(staff_id, uuid.UUID):
            return False
        if staff_id not in self._names:
            self.load((staff_id,))
        return self._names[staff_id] is not None
