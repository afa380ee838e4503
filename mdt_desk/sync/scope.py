"""Which records reach which desks: every change's *scope anchor*.

A desk's scope is a set of GP practices. A record reaches a desk when it belongs to
someone registered at one of those practices, to a meeting one of them hosts or
joins, to one of those practices itself, or to everyone (staff, practices, localities).
Each change in the hub's log carries the anchor of the record it changes:

- ``*``: staff, practices, localities, practice cover and list sizes (every desk);
- ``patient:<id>``: the person's record and everything that hangs off it: conditions,
  alerts, consent, cases and all that hangs off a case (coordinator, care team, goals,
  actions, notes, interventions, agenda items), outcome events, survey responses,
  printed care plans and the access log's entries about them;
- ``meeting:<id>``: a meeting, the practices joining it and its attendance (agenda
  items are the person's, so a meeting's agenda reaches a desk only for people in
  its scope);
- ``practice:<id>``: a printed list of one practice;
- an amendment to the minutes is the agenda item's person's, or the meeting's.

A record's anchor is fixed when it is made (its person, case or meeting never changes);
which practices an anchor belongs to can change: a person moves practice, a meeting
gains a practice. The hub keeps that as spans (``hub_anchor_span``): anchor, practice,
from which change to which. A desk sees a change when its anchor is everyone's or its
practice's, or belongs to one of the desk's practices now (its whole history, so a
person who moves in arrives whole), or did when the change was made (so the desk of
the practice a person leaves sees the move, and removes their record).

Review items the hub makes take the anchor of the record they are about.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

EVERYONE = "*"

#: Records every desk holds.
_EVERYONE_TABLES = frozenset(
    {"practice", "locality", "staff", "staff_practice_cover", "practice_list_size"}
)
#: Records of one person, found by their ``patient_id``.
_BY_PATIENT = frozenset(
    {
        "long_term_condition",
        "alert",
        "consent",
        "care_case",
        "outcome_event",
        "experience_response",
        "access_event",
    }
)
#: Records of one case (so of its person), found by their ``case_id``.
_BY_CASE = frozenset(
    {
        "coordinator_assignment",
        "care_team_member",
        "goal",
        "action",
        "note",
        "intervention",
        "agenda_item",
    }
)
#: Records of one meeting, found by their ``meeting_id``.
_BY_MEETING = frozenset({"meeting_practice", "attendance"})

#: Where each table's records hang: the parent fields tried in turn.
_PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    **{table: (("patient_id", "patient"),) for table in _BY_PATIENT},
    **{table: (("case_id", "care_case"),) for table in _BY_CASE},
    **{table: (("meeting_id", "meeting"),) for table in _BY_MEETING},
    "meeting_amendment": (("agenda_item_id", "agenda_item"), ("meeting_id", "meeting")),
    "print_record": (
        ("patient_id", "patient"),
        ("case_id", "care_case"),
        ("meeting_id", "meeting"),
    ),
}


def patient_anchor(patient_id: str) -> str:
    return f"patient:{patient_id}"


def meeting_anchor(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def practice_anchor(practice_id: str) -> str:
    return f"practice:{practice_id}"


def id_value(value: str | None) -> str | None:
    """A change's value naming a record (JSON text of its id), as the id."""
    if value is None:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return found if isinstance(found, str) and found else None


#: Records that are an anchor themselves, or everyone's.
_OWN_ANCHOR: dict[str, Callable[[str], str]] = {
    "patient": patient_anchor,
    "meeting": meeting_anchor,
    **{table: (lambda _row_id: EVERYONE) for table in _EVERYONE_TABLES},
}

#: ``(entity, row_id, field) -> value`` as JSON text, or None when unknown.
FieldLookup = Callable[[str, str, str], str | None]
#: ``(entity, row_id) -> anchor`` already known (the hub's log), or None.
AnchorLookup = Callable[[str, str], str | None]


class Anchors:
    """Works out records' anchors from their fields, remembering each one found.

    ``fields`` gives a field's value (this push's changes first, then the hub's merged
    state); ``known`` gives an anchor the log has for the record already.
    """

    def __init__(self, fields: FieldLookup, known: AnchorLookup) -> None:
        self._fields = fields
        self._known = known
        self._found: dict[tuple[str, str], str] = {}

    def remember(self, entity: str, row_id: str, anchor: str) -> None:
        """Give a record made here (a review item the hub makes) its anchor."""
        self._found[(entity, row_id)] = anchor

    def of(self, entity: str, row_id: str) -> str:
        key = (entity, row_id)
        found = self._found.get(key)
        if found is None:
            found = self._known(entity, row_id) or self._work_out(entity, row_id)
            self._found[key] = found
        return found

    def _parent(self, entity: str, row_id: str, field: str, parent: str) -> str | None:
        parent_id = id_value(self._fields(entity, row_id, field))
        return self.of(parent, parent_id) if parent_id else None

    def _work_out(self, entity: str, row_id: str) -> str:
        own = _OWN_ANCHOR.get(entity)
        if own is not None:
            return own(row_id)
        if entity == "review_item":
            about_entity = id_value(self._fields(entity, row_id, "entity"))
            about_id = id_value(self._fields(entity, row_id, "row_id"))
            return self.of(about_entity, about_id) if about_entity and about_id else EVERYONE
        for field, parent in _PARENTS.get(entity, ()):
            found = self._parent(entity, row_id, field, parent)
            if found:
                return found
        if entity == "print_record":  # a printed list of one practice
            practice = id_value(self._fields(entity, row_id, "practice_id"))
            if practice:
                return practice_anchor(practice)
        # A table this version does not know (a newer desk's): everyone's, as before
        # scopes, until a version that knows it says otherwise.
        return EVERYONE


def practices_of(
    anchor: str, fields: FieldLookup, meeting_practices: Callable[[str], list[str]]
) -> set[str]:
    """The practices an anchor belongs to now (from the merged state)."""
    kind, _, row_id = anchor.partition(":")
    if kind == "patient":
        practice = id_value(fields("patient", row_id, "practice_id"))
        return {practice} if practice else set()
    if kind == "meeting":
        host = id_value(fields("meeting", row_id, "practice_id"))
        return ({host} if host else set()) | set(meeting_practices(row_id))
    if kind == "practice":
        return {row_id}
    return set()


def in_scope(anchor: str, practices: Mapping[str, object] | set[str]) -> bool:
    """Whether a record with this anchor belongs to a desk covering ``practices`` by
    itself (everyone's, or a practice's own); persons and meetings go by their spans."""
    if anchor == EVERYONE:
        return True
    kind, _, row_id = anchor.partition(":")
    return kind == "practice" and row_id in practices
