"""A desk's scope: the practices whose people it holds (``scope.py`` says which records).

Kept in ``store_meta`` (:data:`META_SCOPE`), as JSON:

- ``{"mode": "all"}``: a full desk, holding the whole hub (a desk set up before scopes,
  or one made full on purpose, e.g. to reseed a lost hub from);
- ``{"mode": "practices", "codes": [...], "staff": true}``: the practices named by
  ODS code, and (``staff``) those covered by the staff who have signed in on this desk.

A new desk's scope is its signed-in staff's practices; ``mdt-desk sync --practices``
names them instead. Narrowing removes the records that left (``remove_out_of_scope``),
each removal noted in ``scope_removal`` with the journal rows it took, and is refused
while any of them has a change this desk has not sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import Engine, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.journal import triggers_lifted
from mdt_desk.models.store import Store
from mdt_desk.sync.hub import _unreachable, hub_anchor_span, hub_state
from mdt_desk.sync.hub_roles import login_practices
from mdt_desk.sync.scope import EVERYONE, patient_anchor, practice_anchor

log = logging.getLogger(__name__)

META_SCOPE = "sync_scope"
#: The practice ids this desk holds whole, and the hub position it checked moves up to.
META_SCOPE_HELD = "sync_scope_held"
META_SCOPE_THROUGH = "sync_scope_through"
#: Staff who have signed in on this desk (their practices are its scope by default).
META_SCOPE_STAFF = "sync_scope_staff"
#: Records still to fetch for a widened scope: ``{"anchors": [...], "upto": seq}``.
META_BACKFILL = "sync_backfill"

ALL = "all"


@dataclass(frozen=True, slots=True)
class DeskScope:
    """What a desk asks to hold."""

    all_practices: bool = False
    codes: tuple[str, ...] = ()
    follow_staff: bool = True

    def as_json(self) -> str:
        if self.all_practices:
            return json.dumps({"mode": ALL})
        return json.dumps(
            {"mode": "practices", "codes": sorted(self.codes), "staff": self.follow_staff}
        )

    @classmethod
    def from_json(cls, value: str) -> DeskScope:
        found = json.loads(value)
        if found.get("mode") == ALL:
            return cls(all_practices=True)
        return cls(
            codes=tuple(str(code) for code in found.get("codes", [])),
            follow_staff=bool(found.get("staff", True)),
        )

    def describe(self) -> str:
        if self.all_practices:
            return "every practice on the hub"
        named = ", ".join(self.codes)
        if self.follow_staff:
            return (
                f"{named} and the practices its staff cover"
                if named
                else ("the practices its signed-in staff cover")
            )
        return named or "no practice"


def desk_scope(store: Store) -> DeskScope:
    """This desk's scope. A desk that synced before scopes existed holds everything, as
    it did; so does a desk that brings its own records to the hub when it first joins
    (they are its own: narrowing it is an administrator's choice). A new, empty desk
    holds the practices of the staff who sign in on it."""
    value = store.get_meta(META_SCOPE)
    if value:
        return DeskScope.from_json(value)
    if store.get_meta("sync_pull_cursor"):
        return DeskScope(all_practices=True)  # set up before scopes: full, as it was
    with store.read() as session:
        holds_people = session.execute(text("SELECT 1 FROM patient LIMIT 1")).first()
    return DeskScope(all_practices=holds_people is not None)


def parse_practices(text_value: str) -> DeskScope:
    """``--practices`` as given: ``all``, or ODS codes separated by commas."""
    words = [word.strip().upper() for word in text_value.split(",") if word.strip()]
    if not words:
        raise UserError("Give the practices' ODS codes, e.g. --practices A81001,A81002.")
    if words == ["ALL"]:
        return DeskScope(all_practices=True)
    bad = [word for word in words if not word.isalnum() or len(word) > 12]
    if bad:
        raise UserError(f"{bad[0]} is not an ODS practice code (e.g. A81001).")
    return DeskScope(codes=tuple(dict.fromkeys(words)), follow_staff=False)


def note_signed_in(store: Store, staff_id: str) -> None:
    """Remember who signed in here: their practices join a following scope."""
    known = set(json.loads(store.get_meta(META_SCOPE_STAFF) or "[]"))
    if staff_id in known:
        return
    known.add(staff_id)
    with store.write_session() as session:
        store.set_meta(session, META_SCOPE_STAFF, json.dumps(sorted(known)))


def _staff_practices(store: Store) -> set[str]:
    staff_ids = set(json.loads(store.get_meta(META_SCOPE_STAFF) or "[]"))
    current = store.get_meta("signed_in_staff_id")
    if current:
        staff_ids.add(current.replace("-", ""))
    if not staff_ids:
        return set()
    marks = ", ".join(f":s{n}" for n in range(len(staff_ids)))
    with store.read() as session:
        return {
            str(practice)
            for practice in session.execute(
                text(
                    "SELECT practice_id FROM staff_practice_cover WHERE retired_at IS NULL"
                    f" AND staff_id IN ({marks})"
                ),
                {f"s{n}": value for n, value in enumerate(sorted(staff_ids))},
            ).scalars()
        }


def practice_ids(engine: Engine, codes: Sequence[str]) -> dict[str, str]:
    """ODS code -> practice id, from the hub's merged state."""
    if not codes:
        return {}
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(hub_state.c.value, hub_state.c.row_id).where(
                    hub_state.c.entity == "practice",
                    hub_state.c.field == "ods_code",
                    hub_state.c.value.in_([json.dumps(code) for code in codes]),
                )
            ).all()
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    return {json.loads(value): str(row_id) for value, row_id in rows}


def resolve(store: Store, engine: Engine, scope: DeskScope) -> frozenset[str] | None:
    """The practice ids the desk holds (None: all). Unknown codes are an error."""
    if scope.all_practices:
        return None
    found = practice_ids(engine, scope.codes)
    missing = [code for code in scope.codes if code not in found]
    if missing:
        raise UserError(
            f"The team hub has no practice {missing[0]}: check the ODS code. This desk's "
            "scope is unchanged."
        )
    practices = set(found.values())
    if scope.follow_staff:
        practices |= _staff_practices(store)
    return frozenset(practices)


def held(store: Store) -> frozenset[str] | None:
    """The practices this desk holds whole now (None: it has not been scoped yet)."""
    value = store.get_meta(META_SCOPE_HELD)
    return None if value is None else frozenset(json.loads(value))


def anchors_of(
    engine: Engine, practices: Iterable[str], *, opened_after: int | None = None
) -> list[str]:
    """Every anchor of ``practices`` now (their people and meetings, and the practices'
    own records); only those that came to them after ``opened_after``, if given."""
    chosen = sorted(set(practices))
    if not chosen:
        return []
    query = select(hub_anchor_span.c.anchor).where(
        hub_anchor_span.c.practice_id.in_(chosen), hub_anchor_span.c.to_seq.is_(None)
    )
    if opened_after is not None:
        query = query.where(hub_anchor_span.c.from_seq > opened_after)
    try:
        with engine.connect() as connection:
            found = sorted(set(connection.execute(query.distinct()).scalars()))
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    if opened_after is None:
        found += [practice_anchor(practice) for practice in chosen]
    return found


def people_at(engine: Engine, practices: Iterable[str], position: int) -> set[str]:
    """The anchors of the people of ``practices`` as the hub's log stood at ``position``
    (a span runs from the change that brought a person to a practice, to and including
    the one that took them away)."""
    chosen = sorted(set(practices))
    if not chosen:
        return set()
    span = hub_anchor_span
    query = (
        select(span.c.anchor)
        .where(
            span.c.practice_id.in_(chosen),
            span.c.anchor.like("patient:%"),
            span.c.from_seq <= position,
            or_(span.c.to_seq.is_(None), span.c.to_seq > position),
        )
        .distinct()
    )
    try:
        with engine.connect() as connection:
            return set(connection.execute(query).scalars())
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


def first_anchors(engine: Engine, practices: Iterable[str]) -> list[str]:
    """What a new scoped desk fetches: everyone's records and its practices'."""
    return [EVERYONE, *anchors_of(engine, practices)]


# -- Taking in what came into the scope -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backfill:
    """Records still to take in: their anchors, read up to ``upto``; the first batch
    from after ``after``. ``first``: the desk's first sync (its cursor then jumps)."""

    anchors: list[str]
    upto: int
    after: int = 0
    first: bool = False


def pending_backfill(store: Store) -> Backfill | None:
    value = store.get_meta(META_BACKFILL)
    if not value:
        return None
    found = json.loads(value)
    return Backfill(
        anchors=[str(anchor) for anchor in found["anchors"]],
        upto=int(found["upto"]),
        after=int(found.get("after", 0)),
        first=bool(found.get("first", False)),
    )


def save_backfill(store: Store, session: Session, backfill: Backfill) -> None:
    """Note what is left to take in, in the transaction that applied the rest."""
    store.set_meta(
        session,
        META_BACKFILL,
        json.dumps(
            {
                "anchors": backfill.anchors,
                "upto": backfill.upto,
                "after": backfill.after,
                "first": backfill.first,
            }
        ),
    )


def clear_backfill(store: Store, session: Session) -> None:
    store.delete_meta(session, META_BACKFILL)


def plan_backfill(
    store: Store, engine: Engine, practices: frozenset[str], upto: int
) -> Backfill | None:
    """What a scoped desk must take in before it walks the log on, saved so a stopped
    sync carries on where it was: everything of its scope on its first sync; a widened
    scope's new practices; people and meetings that came to its practices since."""
    cursor = int(store.get_meta("sync_pull_cursor") or 0)
    if cursor == 0:
        plan = Backfill(first_anchors(engine, practices), upto, first=True)
    else:
        before = held(store)
        if before is None:
            return None  # a full desk narrowing: it holds everything already
        since = int(store.get_meta(META_SCOPE_THROUGH) or 0)
        anchors = anchors_of(engine, practices - before) + anchors_of(
            engine, practices & before, opened_after=since
        )
        if not anchors:
            return None
        plan = Backfill(sorted(set(anchors)), cursor)
    with store.write_session() as session:
        save_backfill(store, session, plan)
    return plan


def note_held(store: Store, practices: frozenset[str] | None, through: int) -> None:
    """After a sync: the practices this desk now holds whole, checked up to ``through``."""
    with store.write_session() as session:
        if practices is None:
            store.delete_meta(session, META_SCOPE_HELD)
        else:
            store.set_meta(session, META_SCOPE_HELD, json.dumps(sorted(practices)))
        store.set_meta(session, META_SCOPE_THROUGH, str(through))


def set_scope(store: Store, scope: DeskScope) -> None:
    """Keep ``scope`` as this desk's (the next sync takes in or removes what changed)."""
    with store.write_session() as session:
        store.set_meta(session, META_SCOPE, scope.as_json())


def change_scope(store: Store, engine: Engine, new: DeskScope) -> frozenset[str] | None:
    """Make ``new`` this desk's scope (``sync --practices``); the practice ids it means.

    Refused, with nothing changed, for a code the hub does not know, or while a record
    that would leave this desk has a change it has not sent to the hub.
    """
    practices = resolve(store, engine, new)
    ceiling = _ceiling(engine)
    if ceiling is not None and (practices is None or not practices <= ceiling):
        raise UserError(
            "This desk's practices were not changed: its hub login may read only "
            f"{len(ceiling)} practices, and a desk cannot hold more than its login may read. "
            "Ask your administrator (`mdt-desk hub desk-practices URL LOGIN CODES`)."
        )
    if practices is not None:
        pushed = int(store.get_meta("sync_pushed_through") or 0)
        with store.read() as session:
            people, meetings = _out_of_scope(session, practices)
            unsent = _unsent(
                session, store.replica_id.hex, pushed, _rows_of(session, people, meetings)
            )
        if unsent:
            raise UserError(
                f"This desk's practices were not changed: {len(unsent)} "
                f"record{'' if len(unsent) == 1 else 's'} that would leave it "
                f"{'has' if len(unsent) == 1 else 'have'} changes not yet sent to the team "
                "hub. Sync first "
                "(`mdt-desk sync`), then change its practices."
            )
    set_scope(store, new)
    return practices


def _ceiling(engine: Engine) -> frozenset[str] | None:
    try:
        with engine.connect() as connection:
            return login_practices(connection)
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error


def keep_default(store: Store) -> DeskScope:
    """This desk's scope, written down the first time (so a new desk stays scoped)."""
    scope = desk_scope(store)
    if not store.get_meta(META_SCOPE):
        set_scope(store, scope)
    return scope


# -- Removing what left the scope ------------------------------------------------------

#: Journal transactions made by other desks (``:me`` is this desk's replica id).
_NOT_MINE = "(SELECT tx FROM journal_tx WHERE replica_id != :me)"

#: Tables in the order their rows can go (children before the records they hang off).
_REMOVAL_ORDER = (
    "review_item",
    "meeting_amendment",
    "print_record",
    "access_event",
    "experience_response",
    "outcome_event",
    "agenda_item",
    "intervention",
    "note",
    "action",
    "goal",
    "care_team_member",
    "coordinator_assignment",
    "care_case",
    "consent",
    "alert",
    "long_term_condition",
    "patient",
    "attendance",
    "meeting_practice",
    "meeting",
)


@dataclass
class Removal:
    """What a sweep took off the desk, and what it had to leave for now."""

    records: int = 0
    journal_rows: int = 0
    people: int = 0
    meetings: int = 0
    #: records kept because they hold changes this desk has not sent yet
    kept_unsent: int = 0
    notes: list[str] = field(default_factory=list)


def _ids(session: Session, sql: str, values: Iterable[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(values)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        marks = ", ".join(f":v{n}" for n in range(len(chunk)))
        found.update(
            str(row)
            for row in session.execute(
                text(sql.format(marks=marks)), {f"v{n}": v for n, v in enumerate(chunk)}
            ).scalars()
        )
    return found


def _out_of_scope(session: Session, practices: frozenset[str]) -> tuple[set[str], set[str]]:
    """(people, meetings) held here that belong to none of ``practices``."""
    mine = sorted(practices)
    marks = ", ".join(f":p{n}" for n in range(len(mine))) or "NULL"
    values = {f"p{n}": value for n, value in enumerate(mine)}
    people = {
        str(row)
        for row in session.execute(
            text(f"SELECT id FROM patient WHERE practice_id NOT IN ({marks})"), values
        ).scalars()
    }
    meetings = {
        str(row)
        for row in session.execute(
            text(
                f"SELECT m.id FROM meeting m WHERE m.practice_id NOT IN ({marks})"
                " AND NOT EXISTS (SELECT 1 FROM meeting_practice mp WHERE mp.meeting_id = m.id"
                f" AND mp.retired_at IS NULL AND mp.practice_id IN ({marks}))"
                " AND NOT EXISTS (SELECT 1 FROM agenda_item a JOIN care_case c ON c.id = a.case_id"
                " JOIN patient p ON p.id = c.patient_id WHERE a.meeting_id = m.id"
                f" AND a.retired_at IS NULL AND p.practice_id IN ({marks}))"
            ),
            values,
        ).scalars()
    }
    return people, meetings


def _not_at_hub(session: Session, practices: frozenset[str], at_hub: set[str]) -> set[str]:
    """People held here in ``practices`` whose anchors are not among ``at_hub``."""
    mine = sorted(practices)
    marks = ", ".join(f":p{n}" for n in range(len(mine))) or "NULL"
    return {
        str(row)
        for row in session.execute(
            text(f"SELECT id FROM patient WHERE practice_id IN ({marks})"),
            {f"p{n}": value for n, value in enumerate(mine)},
        ).scalars()
        if patient_anchor(str(row)) not in at_hub
    }


def _other_practices_lists(session: Session, practices: frozenset[str]) -> set[str]:
    """Printed lists of other practices (the print record of a practice's caseload)."""
    mine = sorted(practices)
    marks = ", ".join(f":p{n}" for n in range(len(mine))) or "NULL"
    return {
        str(row)
        for row in session.execute(
            text(
                "SELECT id FROM print_record WHERE patient_id IS NULL AND case_id IS NULL"
                f" AND meeting_id IS NULL AND practice_id IS NOT NULL"
                f" AND practice_id NOT IN ({marks})"
            ),
            {f"p{n}": value for n, value in enumerate(mine)},
        ).scalars()
    }


def _rows_of(session: Session, people: set[str], meetings: set[str]) -> dict[str, set[str]]:
    """Every record hanging off ``people`` and ``meetings``, by table."""
    rows: dict[str, set[str]] = {table: set() for table in _REMOVAL_ORDER}
    rows["patient"] = set(people)
    rows["meeting"] = set(meetings)
    for table in (
        "long_term_condition",
        "alert",
        "consent",
        "care_case",
        "outcome_event",
        "experience_response",
        "access_event",
    ):
        rows[table] |= _ids(
            session, f"SELECT id FROM {table} WHERE patient_id IN ({{marks}})", people
        )
    cases = rows["care_case"]
    for table in (
        "coordinator_assignment",
        "care_team_member",
        "goal",
        "action",
        "note",
        "intervention",
        "agenda_item",
        "outcome_event",
        "experience_response",
    ):
        rows[table] |= _ids(session, f"SELECT id FROM {table} WHERE case_id IN ({{marks}})", cases)
    rows["meeting_amendment"] |= _ids(
        session,
        "SELECT id FROM meeting_amendment WHERE agenda_item_id IN ({marks})",
        rows["agenda_item"],
    )
    for table in ("meeting_practice", "attendance"):
        rows[table] |= _ids(
            session, f"SELECT id FROM {table} WHERE meeting_id IN ({{marks}})", meetings
        )
    rows["meeting_amendment"] |= _ids(
        session,
        "SELECT id FROM meeting_amendment WHERE agenda_item_id IS NULL AND meeting_id IN ({marks})",
        meetings,
    )
    for column, found in (("patient_id", people), ("case_id", cases), ("meeting_id", meetings)):
        rows["print_record"] |= _ids(
            session, f"SELECT id FROM print_record WHERE {column} IN ({{marks}})", found
        )
    removed = {(table, row) for table, ids in rows.items() for row in ids}
    for review, entity, row_id in session.execute(
        text("SELECT id, entity, row_id FROM review_item")
    ):
        if (str(entity), str(row_id)) in removed:
            rows["review_item"].add(str(review))
    return rows


def _unsent(
    session: Session, me: str, after: int, rows: dict[str, set[str]]
) -> set[tuple[str, str]]:
    """Of ``rows``, those with changes of this desk the hub does not have yet."""
    unsent: set[tuple[str, str]] = set()
    for entity, row_id in session.execute(
        text(
            "SELECT DISTINCT c.entity, c.row_id FROM journal_change c JOIN journal_tx t"
            " ON t.tx = c.tx WHERE t.replica_id = :me AND c.origin_seq > :after"
        ),
        {"me": me, "after": after},
    ):
        if str(row_id) in rows.get(str(entity), set()):
            unsent.add((str(entity), str(row_id)))
    return unsent


def _deletes_allowed(session: Session, tables: Iterable[str]) -> AbstractContextManager[None]:
    """Lift the delete guards of ``tables`` and the journal inside this transaction only
    (as discarding an import does: no other connection ever sees them lifted)."""
    names = ["journal_change_no_delete", *(f"journal_{table}_no_delete" for table in tables)]
    return triggers_lifted(session, names, required=False)


def remove_out_of_scope(
    store: Store,
    practices: frozenset[str],
    *,
    pushed_through: int,
    reason: str,
    people_at_hub: set[str] | None = None,
) -> Removal:
    """Take off this desk the people and meetings of none of ``practices``, with their
    journal rows; records with unsent changes stay until those reach the hub.

    ``people_at_hub``: the anchors of the people the hub holds in ``practices``, as far
    as this desk has pulled. A person held here in one of them but not there is gone
    too: this desk moved them to one of its practices, another desk moved them elsewhere
    a moment later, and that move won. This desk may never receive the winning move (it
    was made when the person was of neither's practices), so its own view would keep
    them, at a practice the team does not have them at."""
    removal = Removal()
    me = store.replica_id.hex
    with store.write_session() as session:
        people, meetings = _out_of_scope(session, practices)
        if people_at_hub is not None:
            people |= _not_at_hub(session, practices, people_at_hub)
        lists = _other_practices_lists(session, practices)
        if not people and not meetings and not lists:
            return removal
        rows = _rows_of(session, people, meetings)
        rows["print_record"] |= lists
        unsent = _unsent(session, me, pushed_through, rows)
        if unsent:
            # Keep every record of a person (or meeting) with an unsent change.
            held_back = {row for entity, row in unsent if entity in ("patient", "meeting")}
            for entity, row_id in unsent:
                if entity not in ("patient", "meeting"):
                    held_back |= _owner_of(session, entity, row_id)
            people -= held_back
            meetings -= held_back
            removal.kept_unsent = len(held_back)
            rows = _rows_of(session, people, meetings)
            rows["print_record"] |= lists
        removal.people, removal.meetings = len(people), len(meetings)
        tables = [table for table, ids in rows.items() if ids]
        if not tables:
            return removal
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with _deletes_allowed(session, tables):
            for table in _REMOVAL_ORDER:
                ids = sorted(rows[table])
                for start in range(0, len(ids), 400):
                    chunk = ids[start : start + 400]
                    marks = ", ".join(f":r{n}" for n in range(len(chunk)))
                    values = {f"r{n}": value for n, value in enumerate(chunk)}
                    # Everyone else's history of them goes; this desk's own edits stay
                    # in its journal (its record of what it did, sealed, and what it
                    # would send again to a hub restored from an older backup).
                    others = f"entity = :e AND row_id IN ({marks}) AND tx IN {_NOT_MINE}"
                    seqs = [
                        int(seq)
                        for seq in session.execute(
                            text(f"SELECT origin_seq FROM journal_change WHERE {others}"),
                            {"e": table, "me": me, **values},
                        ).scalars()
                    ]
                    session.execute(
                        text(f"DELETE FROM journal_change WHERE {others}"),
                        {"e": table, "me": me, **values},
                    )
                    session.execute(
                        text(
                            "INSERT INTO scope_removed_row (entity, row_id) SELECT DISTINCT"
                            " entity, row_id FROM journal_change WHERE entity = :e AND row_id"
                            f" IN ({marks}) ON CONFLICT DO NOTHING"
                        ),
                        {"e": table, **values},
                    )
                    session.execute(text(f'DELETE FROM "{table}" WHERE id IN ({marks})'), values)
                    _note_gaps(session, seqs)
                    removal.journal_rows += len(seqs)
                    removal.records += len(chunk)
        for anchor_kind, gone in (("patient", people), ("meeting", meetings)):
            for row_id in sorted(gone):
                session.execute(
                    text(
                        "INSERT INTO scope_removal (removed_at, anchor, reason, records,"
                        " journal_rows) VALUES (:at, :a, :why, 0, 0)"
                    ),
                    {"at": at, "a": f"{anchor_kind}:{row_id}", "why": reason},
                )
        session.execute(
            text(
                "UPDATE scope_removal SET records = :n, journal_rows = :j WHERE id ="
                " (SELECT max(id) FROM scope_removal)"
            ),
            {"n": removal.records, "j": removal.journal_rows},
        )
    log.info(
        "removed %d records (%d people, %d meetings) and %d journal rows that left this "
        "desk's scope",
        removal.records,
        removal.people,
        removal.meetings,
        removal.journal_rows,
    )
    return removal


def _owner_of(session: Session, entity: str, row_id: str) -> set[str]:
    """The person or meeting a record hangs off (for keeping it whole)."""
    for sql in (
        f'SELECT patient_id FROM "{entity}" WHERE id = :r',
        f'SELECT c.patient_id FROM "{entity}" x JOIN care_case c ON c.id = x.case_id'
        " WHERE x.id = :r",
        f'SELECT meeting_id FROM "{entity}" WHERE id = :r',
    ):
        try:
            found = session.execute(text(sql), {"r": row_id}).scalar_one_or_none()
        except DBAPIError:
            continue  # the table has no such column
        if found:
            return {str(found)}
    return set()


def _note_gaps(session: Session, seqs: Sequence[int]) -> None:
    """Note the journal positions removed, as ranges (``check`` explains those gaps)."""
    ordered = sorted(set(seqs))
    start = previous = None
    ranges: list[tuple[int, int]] = []
    for seq in ordered:
        if start is None:
            start = previous = seq
        elif previous is not None and seq == previous + 1:
            previous = seq
        else:
            ranges.append((start, previous or start))
            start = previous = seq
    if start is not None:
        ranges.append((start, previous or start))
    for first, last in ranges:
        session.execute(
            text(
                "INSERT INTO scope_removed_range (first_seq, last_seq) VALUES (:f, :l)"
                " ON CONFLICT (first_seq) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)"
            ),
            {"f": first, "l": last},
        )
