"""What a write changed: one small, immutable value every screen can read.

Every mutating operation on a desk reports a :class:`Changes`: which kinds of record it
touched, and the ids of people and cases where those are known without a lookup. The
screens are told the value once the write has committed and each decides for itself
whether what it shows is now out of date (``docs/architecture.md``, "Operations and
what changed").

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
    "staff": "staff",
    "staff_practice_cover": "staff",
    "review_item": "review",
    "print_record": "prints",
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
    ``case_ids`` name the people and cases whose own row changed (a hint, not a full
    list: an action's case is not looked up, and none are named when very many
    changed). ``sync_state`` means the outbox, the review queue or the last sync time
    may have moved.
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
    sync_state: bool = False
    patient_ids: frozenset[uuid.UUID] = frozenset()
    case_ids: frozenset[uuid.UUID] = frozenset()

    @classmethod
    def everything(cls) -> "Changes":
        """Every kind changed (a new store, a new person signed in, a refresh)."""
        every: dict[str, Any] = dict.fromkeys(_flag_names(), True)
        return replace(cls(), **every)

    @classmethod
    def from_entities(cls, entities: Iterable[str | tuple[str, str]]) -> "Changes":
        """The changes named by journal entities, or by ``(entity, row id hex)`` pairs.

        An entity this version does not know (a newer desk's table) is taken to mean
        anything may have changed: a screen that reloads for nothing costs a read, one
        that does not reload shows stale clinical data.
        """
        flags: set[str] = set()
        patient_ids: set[uuid.UUID] = set()
        case_ids: set[uuid.UUID] = set()
        for entry in entities:
            entity, row_id = (entry, None) if isinstance(entry, str) else entry
            kind = ENTITY_KINDS.get(entity)
            if kind is None:
                return cls.everything()
            flags.add(kind)
            if row_id is not None and entity in ("patient", "care_case"):
                try:
                    ident = uuid.UUID(hex=row_id)
                except ValueError:
                    continue
                (patient_ids if entity == "patient" else case_ids).add(ident)
        if flags:
            flags.add("sync_state")  # every journalled change waits in the outbox
        named: dict[str, Any] = dict.fromkeys(flags, True)
        return replace(
            cls(patient_ids=frozenset(patient_ids), case_ids=frozenset(case_ids)), **named
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

    @property
    def meeting_list(self) -> bool:
        """The Meetings tab may be out of date."""
        return self.any_of(MEETING_KINDS)


def _flag_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Changes) if f.type in (bool, "bool"))


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


def changes_since(session: Session, mark: int) -> Changes:
    """What the journal rows written after ``mark`` changed.

    Two index-range reads on ``origin_seq``: the distinct entities, and the ids of at
    most :data:`MAX_IDS` people and cases (none when more changed).
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
    named = [
        (str(entity), str(row_id))
        for entity, row_id in session.execute(
            text(
                "SELECT DISTINCT entity, row_id FROM journal_change WHERE origin_seq > :mark "
                "AND entity IN ('patient', 'care_case') LIMIT :limit"
            ),
            {"mark": mark, "limit": MAX_IDS + 1},
        )
    ]
    if len(named) > MAX_IDS:
        named = []
    return Changes.from_entities([*entities, *named])
