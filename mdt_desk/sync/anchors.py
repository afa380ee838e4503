"""The hub's side of scopes: each pushed change's anchor, and each anchor's practices.

``scope.py`` says what an anchor is. Here a push finds the anchors of its changes (from
the changes themselves, then what the log knows) and, after merging, brings the spans
of the anchors whose practices it changed up to date (``hub_anchor_span``): a person
who moves practice, a meeting that gains a practice or an agenda item. The spans are
derived from the merged state, never taken from the desk, so a desk cannot widen what
it may read by what it pushes; on a PostgreSQL hub with desk logins, the hub's own
function ``hub_refresh_anchor`` derives them (``hub_roles.py``) the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from mdt_desk.sync.hub import hub_anchor_span, hub_change, hub_state
from mdt_desk.sync.protocol import Change
from mdt_desk.sync.scope import Anchors, id_value, meeting_anchor, patient_anchor

_CHUNK = 400

#: Fields whose change can move an anchor between practices.
_MOVING_FIELDS = {
    ("patient", "practice_id"),
    ("meeting", "practice_id"),
    ("meeting_practice", "practice_id"),
    ("meeting_practice", "meeting_id"),
    ("meeting_practice", "retired_at"),
    ("agenda_item", "meeting_id"),
    ("agenda_item", "case_id"),
    ("agenda_item", "retired_at"),
}

#: Parent fields a record's anchor is worked out from (``scope.Anchors``).
_PARENTS = {
    "patient_id": "patient",
    "case_id": "care_case",
    "meeting_id": "meeting",
    "agenda_item_id": "agenda_item",
}


def known_anchors(
    connection: Connection, rows: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The anchor the log already holds for each of ``rows`` (records made earlier)."""
    found: dict[tuple[str, str], str] = {}
    ordered = sorted(set(rows))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for entity, row_id, anchor in connection.execute(
            select(hub_change.c.entity, hub_change.c.row_id, hub_change.c.scope_anchor)
            .where(
                tuple_(hub_change.c.entity, hub_change.c.row_id).in_(chunk),
                hub_change.c.scope_anchor.is_not(None),
            )
            .distinct()
        ):
            found[(entity, row_id)] = anchor
    return found


def anchors_for_push(
    connection: Connection,
    changes: Sequence[Change],
    state: Callable[[str, str, str], str | None],
    *,
    known: Callable[
        [Connection, Iterable[tuple[str, str]]], dict[tuple[str, str], str]
    ] = known_anchors,
) -> Anchors:
    """Anchors for a push: the pushed values first, then the merged ``state``, then
    what the log knows of each record and of the records they hang off (``known``: a
    scoped desk login asks the hub's own function, ``hub_roles.merge_anchors``)."""
    pushed: dict[tuple[str, str, str], str | None] = {}
    rows: set[tuple[str, str]] = set()
    for change in changes:
        pushed[change.key] = change.value
        rows.add((change.entity, change.row_id))
        parent = _PARENTS.get(change.field)
        if parent is not None:
            parent_id = id_value(change.value)
            if parent_id:
                rows.add((parent, parent_id))
    found_before = known(connection, rows)

    def fields(entity: str, row_id: str, name: str) -> str | None:
        key = (entity, row_id, name)
        return pushed[key] if key in pushed else state(entity, row_id, name)

    def lookup_known(entity: str, row_id: str) -> str | None:
        found = found_before.get((entity, row_id))
        if found is None and (entity, row_id) not in rows:
            found = known(connection, [(entity, row_id)]).get((entity, row_id))
        return found

    return Anchors(fields, lookup_known)


def moved_anchors(
    connection: Connection,
    dirty: Iterable[tuple[str, str, str]],
    anchors: Anchors,
    state: Callable[[str, str, str], str | None],
) -> set[str]:
    """The anchors whose practices this push may have changed."""
    moved: set[str] = set()
    for entity, row_id, name in dirty:
        if (entity, name) not in _MOVING_FIELDS:
            continue
        if entity == "patient":
            moved.add(patient_anchor(row_id))
            moved.update(_meetings_of_patient(connection, row_id))
        elif entity == "meeting":
            moved.add(meeting_anchor(row_id))
        else:
            meeting = id_value(state(entity, row_id, "meeting_id"))
            if meeting:
                moved.add(meeting_anchor(meeting))
    return moved


def state_value(connection: Connection, entity: str, row_id: str, name: str) -> str | None:
    value = connection.execute(
        select(hub_state.c.value).where(
            hub_state.c.entity == entity, hub_state.c.row_id == row_id, hub_state.c.field == name
        )
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _rows_where(connection: Connection, entity: str, name: str, value: str) -> list[str]:
    """Rows of ``entity`` whose ``name`` field holds the id ``value`` (by value index)."""
    return [
        str(row_id)
        for row_id in connection.execute(
            select(hub_state.c.row_id).where(
                hub_state.c.entity == entity,
                hub_state.c.field == name,
                hub_state.c.value == json.dumps(value),
            )
        ).scalars()
    ]


def _retired(connection: Connection, entity: str, row_id: str) -> bool:
    value = state_value(connection, entity, row_id, "retired_at")
    return value not in (None, "null")


def _meetings_of_patient(connection: Connection, patient_id: str) -> set[str]:
    meetings: set[str] = set()
    for case_id in _rows_where(connection, "care_case", "patient_id", patient_id):
        for item in _rows_where(connection, "agenda_item", "case_id", case_id):
            meeting = id_value(state_value(connection, "agenda_item", item, "meeting_id"))
            if meeting:
                meetings.add(meeting_anchor(meeting))
    return meetings


def practices_now(connection: Connection, anchor: str) -> set[str]:
    """The practices an anchor belongs to in the merged state (as ``hub_refresh_anchor``)."""
    kind, _, row_id = anchor.partition(":")
    if kind == "patient":
        practice = id_value(state_value(connection, "patient", row_id, "practice_id"))
        return {practice} if practice else set()
    if kind != "meeting":
        return set()
    found: set[str] = set()
    host = id_value(state_value(connection, "meeting", row_id, "practice_id"))
    if host:
        found.add(host)
    for joined in _rows_where(connection, "meeting_practice", "meeting_id", row_id):
        if not _retired(connection, "meeting_practice", joined):
            practice = id_value(state_value(connection, "meeting_practice", joined, "practice_id"))
            if practice:
                found.add(practice)
    for item in _rows_where(connection, "agenda_item", "meeting_id", row_id):
        if _retired(connection, "agenda_item", item):
            continue
        case_id = id_value(state_value(connection, "agenda_item", item, "case_id"))
        patient = (
            id_value(state_value(connection, "care_case", case_id, "patient_id"))
            if case_id
            else None
        )
        practice = (
            id_value(state_value(connection, "patient", patient, "practice_id"))
            if patient
            else None
        )
        if practice:
            found.add(practice)
    return found


def _log_end(connection: Connection) -> int:
    return int(
        connection.execute(select(func.coalesce(func.max(hub_change.c.server_seq), 0))).scalar_one()
    )


def _opens_at(connection: Connection, anchor: str) -> int:
    """Where a new span begins: at 0 for a record new to the hub (so all of it stays
    readable to its first practice after a move), else at the move itself."""
    ever = connection.execute(
        select(hub_anchor_span.c.from_seq).where(hub_anchor_span.c.anchor == anchor).limit(1)
    ).first()
    if ever is None:
        return 0
    kind, _, row_id = anchor.partition(":")
    if kind == "patient":
        seq = connection.execute(
            select(hub_state.c.server_seq).where(
                hub_state.c.entity == "patient",
                hub_state.c.row_id == row_id,
                hub_state.c.field == "practice_id",
            )
        ).scalar_one_or_none()
        if seq is not None:
            return int(seq)
    return _log_end(connection)


def refresh_spans(connection: Connection, anchors: Iterable[str]) -> None:
    """Bring the spans of ``anchors`` up to the merged state (SQLite hubs and hubs
    without desk logins; a PostgreSQL hub with desk logins runs ``hub_refresh_anchor``)."""
    for anchor in sorted(set(anchors)):
        want = practices_now(connection, anchor)
        # A span closes at the end of the push that moved it: the old practice sees the
        # whole of the moving transaction.
        close_at = _log_end(connection)
        open_now = set(
            connection.execute(
                select(hub_anchor_span.c.practice_id).where(
                    hub_anchor_span.c.anchor == anchor, hub_anchor_span.c.to_seq.is_(None)
                )
            ).scalars()
        )
        for practice in open_now - want:
            connection.execute(
                update(hub_anchor_span)
                .where(
                    and_(
                        hub_anchor_span.c.anchor == anchor,
                        hub_anchor_span.c.practice_id == practice,
                        hub_anchor_span.c.to_seq.is_(None),
                    )
                )
                .values(to_seq=close_at)
            )
        open_at = _opens_at(connection, anchor) if want - open_now else 0
        for practice in want - open_now:
            try:
                with connection.begin_nested():
                    connection.execute(
                        hub_anchor_span.insert(),
                        {
                            "anchor": anchor,
                            "practice_id": practice,
                            "from_seq": open_at,
                            "to_seq": None,
                        },
                    )
            except IntegrityError:  # closed and opened again at the same change
                connection.execute(
                    update(hub_anchor_span)
                    .where(
                        hub_anchor_span.c.anchor == anchor,
                        hub_anchor_span.c.practice_id == practice,
                        hub_anchor_span.c.from_seq == open_at,
                    )
                    .values(to_seq=None)
                )


def fill_anchors(connection: Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Give every change of an older hub's log its anchor, and every anchor its spans
    (``hub init`` on a hub from before scopes); how many changes it filled."""
    missing = [
        (str(entity), str(row_id))
        for entity, row_id in connection.execute(
            select(hub_change.c.entity, hub_change.c.row_id)
            .where(hub_change.c.scope_anchor.is_(None))
            .distinct()
        )
    ]
    if not missing:
        return 0

    def state(entity: str, row_id: str, name: str) -> str | None:
        return state_value(connection, entity, row_id, name)

    anchors = Anchors(state, lambda _entity, _row: None)
    filled = 0
    by_anchor: dict[str, list[tuple[str, str]]] = {}
    for entity, row_id in missing:
        by_anchor.setdefault(anchors.of(entity, row_id), []).append((entity, row_id))
    for done, (anchor, rows) in enumerate(sorted(by_anchor.items()), start=1):
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            for table in (hub_change, hub_state):
                result = connection.execute(
                    update(table)
                    .where(tuple_(table.c.entity, table.c.row_id).in_(chunk))
                    .values(scope_anchor=anchor)
                )
                if table is hub_change:
                    filled += int(result.rowcount or 0)
        if progress is not None:
            progress(done, len(by_anchor))
    refresh_spans(
        connection, [anchor for anchor in by_anchor if anchor.startswith(("patient:", "meeting:"))]
    )
    return filled


def state_anchors(states: Sequence[Mapping[str, Any]], anchors: Anchors) -> list[dict[str, Any]]:
    """``states`` with each record's anchor (``hub_state.scope_anchor``)."""
    return [
        {**state, "scope_anchor": anchors.of(state["entity"], state["row_id"])} for state in states
    ]


__all__ = [
    "anchors_for_push",
    "fill_anchors",
    "known_anchors",
    "moved_anchors",
    "practices_now",
    "refresh_spans",
    "state_anchors",
    "state_value",
]
