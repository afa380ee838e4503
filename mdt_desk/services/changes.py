"""What a write changed: one small, immutable value every screen can read.

Every mutating operation on a desk reports a :class:`Changes`: which kinds of record it
touched, and the people and cases whose records show those changes (each changed row's
case or person, found by its primary key), so an open record can tell a change to its
own case from one to another. The screens are told the value once the write has
committed and each decides for itself whether what it shows is now out of date
(``docs/architecture.md``, "Operations and what changed").

The value is derived from the change journal, not declared by each service: every
synced table is journalled by triggers inside the statement that changes it, so the
journal rows written after a mark are exactly what changed, whichever service (or a
sync from the team hub) wrote them. Plain data, no Qt: it travels between threads and
layers as it is.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

#: Journal entity (table) -> the kind of record it belongs to (a field of Changes).
ENTITY_KINDS: dict[str, str] = {
    "patient": "patients",
    "long_term_condition": "patients",
    "alert": "patients",
    "consent": "patients",
    "care_case": "cases",
    "intervention": "cases",
    "outcome_event": "cases",
    "experience_response": "cases",
    "coordinator_assignment": "coordinators",
    "care_team_member": "care_team",
    "goal": "goals",
    "action": "actions",
    "note": "notes",
    "meeting": "meetings",
    "meeting_practice": "meetings",
    "meeting_amendment": "meetings",
    "attendance": "meetings",
    "agenda_item": "agenda",
    "practice": "practices",
    "locality": "practices",
    "practice_list_size": "practices",
    "staff": "staff",
    "staff_practice_cover": "staff",
    "review_item": "review",
    "print_record": "prints",
    # Not a record kind: a look at a record must not reload the record it looked at.
    "access_event": "access",
}

#: Kinds shown on a case record (its banner, tabs and history).
RECORD_KINDS = (
    "patients",
    "cases",
    "coordinators",
    "care_team",
    "goals",
    "actions",
    "notes",
    "agenda",
    "meetings",
    "practices",
    "staff",
    "prints",
)
#: Kinds that move a case between caseload views or change a caseload column or count
#: (not meetings or agenda items: what a meeting decides for a case is written to the
#: case, its actions or its coordinator, which are here).
CASELOAD_KINDS = (
    "patients",
    "cases",
    "coordinators",
    "actions",
    "practices",
    "staff",
)
#: Kinds shown on the Meetings tab.
MEETING_KINDS = ("meetings", "agenda", "patients", "cases", "actions", "practices", "staff")


@dataclass(frozen=True, slots=True)
class Changes:
    """Which kinds of record a committed write changed.

    A flag is True when at least one record of that kind changed. ``patient_ids`` and
    ``case_ids`` name the people and cases whose records the change shows on: the
    person or case itself, or the one a changed condition, action, note, goal... belongs
    to. ``unattributed`` means some changed record shown on case records could not be
    tied to one person or case (a practice, a member of staff, a meeting, or too many
    to name): any open record may be concerned. ``sync_state`` means the outbox, the
    review queue or the last sync time may have moved.
    """

    patients: bool = False
    cases: bool = False
    coordinators: bool = False
    care_team: bool = False
    goals: bool = False
    actions: bool = False
    notes: bool = False
    meetings: bool = False
    agenda: bool = False
    practices: bool = False
    staff: bool = False
    review: bool = False
    prints: bool = False
    access: bool = False
    sync_state: bool = False
    patient_ids: frozenset[uuid.UUID] = frozenset()
    case_ids: frozenset[uuid.UUID] = frozenset()
    unattributed: bool = False

    @classmethod
    def everything(cls) -> "Changes":
        """Every kind changed (a new store, a new person signed in, a refresh)."""
        every: dict[str, Any] = dict.fromkeys(_flag_names(), True)
        return replace(cls(unattributed=True), **every)

    @classmethod
    def from_entities(cls, entities: Iterable[str | tuple[str, str]]) -> "Changes":
        """The changes named by journal entities, or by ``(entity, row id hex)`` pairs.

        An entity this version does not know (a newer desk's table) is taken to mean
        anything may have changed: a screen that reloads for nothing costs a read, one
        that does not reload shows stale clinical data. A record shown on case records
        that is not a person or a case named by its id leaves the value
        ``unattributed``: here its case or person is not known (:func:`changes_since`
        looks them up).
        """
        flags: set[str] = set()
        patient_ids: set[uuid.UUID] = set()
        case_ids: set[uuid.UUID] = set()
        unattributed = False
        for entry in entities:
            entity, row_id = (entry, None) if isinstance(entry, str) else entry
            kind = ENTITY_KINDS.get(entity)
            if kind is None:
                return cls.everything()
            flags.add(kind)
            ident = _row_uuid(row_id) if entity in ("patient", "care_case") else None
            if ident is not None:
                (patient_ids if entity == "patient" else case_ids).add(ident)
            elif kind in RECORD_KINDS:
                unattributed = True
        if flags:
            flags.add("sync_state")  # every journalled change waits in the outbox
        named: dict[str, Any] = dict.fromkeys(flags, True)
        return replace(
            cls(
                patient_ids=frozenset(patient_ids),
                case_ids=frozenset(case_ids),
                unattributed=unattributed,
            ),
            **named,
        )

    def __or__(self, other: "Changes") -> "Changes":
        return self.merge(other)

    def merge(self, other: "Changes") -> "Changes":
        """What either changed."""
        flags: dict[str, Any] = {
            name: getattr(self, name) or getattr(other, name) for name in _flag_names()
        }
        return replace(
            Changes(
                patient_ids=self.patient_ids | other.patient_ids,
                case_ids=self.case_ids | other.case_ids,
                unattributed=self.unattributed or other.unattributed,
            ),
            **flags,
        )

    def with_sync_state(self) -> "Changes":
        return replace(self, sync_state=True)

    @property
    def kinds(self) -> frozenset[str]:
        """The names of the kinds that changed."""
        return frozenset(name for name in _flag_names() if getattr(self, name))

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def any_of(self, kinds: Iterable[str]) -> bool:
        return not self.kinds.isdisjoint(kinds)

    @property
    def caseload(self) -> bool:
        """The caseload list or the navigator's counts may be out of date."""
        return self.any_of(CASELOAD_KINDS)

    @property
    def record(self) -> bool:
        """An open case record may be out of date."""
        return self.any_of(RECORD_KINDS)

    def concerns_record(self, patient_id: uuid.UUID, case_id: uuid.UUID | None) -> bool:
        """The open record of this person (and case) may be out of date.

        True when a record kind changed and it belongs to this person or case, or to no
        one known: a value that names nobody (built by hand, or too many changed to name)
        is taken to concern every record, never none.
        """
        if not self.record:
            return False
        if self.unattributed or not (self.patient_ids or self.case_ids):
            return True
        return patient_id in self.patient_ids or (case_id is not None and case_id in self.case_ids)

    @property
    def meeting_list(self) -> bool:
        """The Meetings tab may be out of date."""
        return self.any_of(MEETING_KINDS)


def _flag_names() -> tuple[str, ...]:
    return tuple(
        f.name for f in fields(Changes) if f.type in (bool, "bool") and f.name != "unattributed"
    )


def _row_uuid(row_id: str | None) -> uuid.UUID | None:
    if row_id is None:
        return None
    try:
        return uuid.UUID(hex=row_id)
    except ValueError:
        return None


NOTHING = Changes()


def journal_mark(session: Session) -> int:
    """The newest journal row now (0 on a store with none); see :func:`changes_since`."""
    return int(
        session.execute(
            text("SELECT coalesce(max(origin_seq), 0) FROM journal_change")
        ).scalar_one()
    )


#: At most this many people and cases are named in one Changes; past it (a first sync,
#: a bulk import) the flags alone say what changed, and memory stays small.
MAX_IDS = 500

#: How a changed row is tied to the case records that show it: per journalled table,
#: SQL over the row (``t``) giving its case id and its person's id. A table of a record
#: kind that is not here (a practice, staff, a meeting, attendance) may show on any
#: record, so a change to it concerns every open record.
_OWNER_COLUMNS: dict[str, tuple[str, str]] = {
    "patient": ("NULL", "t.id"),
    "long_term_condition": ("NULL", "t.patient_id"),
    "alert": ("NULL", "t.patient_id"),
    "consent": ("NULL", "t.patient_id"),
    "care_case": ("t.id", "t.patient_id"),
    "outcome_event": ("t.case_id", "t.patient_id"),
    "experience_response": ("t.case_id", "t.patient_id"),
    "print_record": ("t.case_id", "t.patient_id"),
    "intervention": ("t.case_id", "NULL"),
    "coordinator_assignment": ("t.case_id", "NULL"),
    "care_team_member": ("t.case_id", "NULL"),
    "goal": ("t.case_id", "NULL"),
    "action": ("t.case_id", "NULL"),
    "note": ("t.case_id", "NULL"),
    "agenda_item": ("t.case_id", "NULL"),
    "meeting_amendment": (
        "(SELECT a.case_id FROM agenda_item AS a WHERE a.id = t.agenda_item_id)",
        "NULL",
    ),
}


def changes_since(session: Session, mark: int) -> Changes:
    """What the journal rows written after ``mark`` changed.

    Index-range reads on ``origin_seq``: the distinct entities, then, for the rows of
    tables tied to a person or a case, the distinct (case, person) they belong to, each
    found by primary key: at most :data:`MAX_IDS` of them (none when more changed,
    and the value is then ``unattributed``).
    """
    entities = [
        str(entity)
        for (entity,) in session.execute(
            text("SELECT DISTINCT entity FROM journal_change WHERE origin_seq > :mark"),
            {"mark": mark},
        )
    ]
    if not entities:
        return NOTHING
    flags = Changes.from_entities(entities)
    if flags == Changes.everything() or not flags.record:
        return flags
    untied = any(
        ENTITY_KINDS[entity] in RECORD_KINDS and entity not in _OWNER_COLUMNS for entity in entities
    )
    owners = _owners_of_changed_rows(session, mark, [e for e in entities if e in _OWNER_COLUMNS])
    if len(owners) > MAX_IDS:
        return replace(flags, unattributed=True)
    case_ids: set[uuid.UUID] = set()
    patient_ids: set[uuid.UUID] = set()
    for case_hex, patient_hex in owners:
        case_id, patient_id = _row_uuid(case_hex), _row_uuid(patient_hex)
        if case_id is None and patient_id is None:
            untied = True  # not found, or tied to no one (a meeting's own print)
        if case_id is not None:
            case_ids.add(case_id)
        if patient_id is not None:
            patient_ids.add(patient_id)
    return replace(
        flags,
        patient_ids=frozenset(patient_ids),
        case_ids=frozenset(case_ids),
        unattributed=untied,
    )


def _owners_of_changed_rows(
    session: Session, mark: int, entities: list[str]
) -> set[tuple[str | None, str | None]]:
    """The distinct (case id, person id) hex pairs of the rows of ``entities`` changed
    after ``mark``; the reading stops once there are more than :data:`MAX_IDS`."""
    owners: set[tuple[str | None, str | None]] = set()
    if not entities:
        return owners
    # Table names and column SQL come from _OWNER_COLUMNS only, never from the journal.
    branches = [
        f"SELECT {case} AS case_id, {patient} AS patient_id "
        f'FROM journal_change AS c LEFT JOIN "{entity}" AS t ON t.id = c.row_id '
        f"WHERE c.origin_seq > :mark AND c.entity = '{entity}'"
        for entity in sorted(entities)
        for case, patient in (_OWNER_COLUMNS[entity],)
    ]
    # UNION ALL streams row by row, so a first sync stops reading at the cap (UNION
    # would sort every changed row first).
    for case, patient in session.execute(text(" UNION ALL ".join(branches)), {"mark": mark}):
        owners.add((None if case is None else str(case), None if patient is None else str(patient)))
        if len(owners) > MAX_IDS:
            break
    return owners
