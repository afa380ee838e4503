"""Model-based test of sync (research §4.3): random edits, faults, crashes and clock
jumps on 2–4 desks against each hub engine; after quiesce P1–P4 must hold.

Scoped desks (issue 14): each desk other than the first starts full or scoped to some
of the seed's practices (people registered at each); desks move people between
practices and change their scope (refused while records leaving have unsent changes).
After quiesce, a full desk equals the hub, and a scoped desk holds exactly its scope's
records (its practices' people with everything of theirs, every staff member and
practice) with the hub's values, and nothing of anyone else.

Budget: ``HYPOTHESIS_PROFILE=nightly`` runs many more and longer examples.
"""

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from mdt_desk.errors import UserError
from mdt_desk.models import Patient
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import META_HLC, Store, schema_version_number
from mdt_desk.services import cases, patients, plans, staff
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.practices import import_ods_practices
from mdt_desk.sync import client, desk_scope
from mdt_desk.sync.client import (
    META_PULL_CURSOR,
    META_PUSHED_THROUGH,
    SyncReport,
    apply_page,
    pull_all,
    push_all,
    read_outbox,
    sync_once,
)
from mdt_desk.sync.desk_scope import DeskScope
from mdt_desk.sync.hub import (
    META_HUB_ID,
    HubUnreachableError,
    hub_engine,
    hub_now_ms,
    read_hub_info,
)
from mdt_desk.sync.protocol import BOOKKEEPING_FIELDS, IDENTITY_FIELDS, PulledPage
from mdt_desk.sync.push import push_changes
from tests.conftest import TEST_PRACTICES, epraccur_row
from tests.sync.cutting import ConnectionCutter, cut_url
from tests.sync.support import (
    NHS_NUMBERS,
    FakeClock,
    Hub,
    assert_matches_hub,
    assert_sound,
    digest,
    new_store,
    set_raw,
    stored_fields,
    synced_table_names,
)

settings.register_profile(
    "sync-default",
    max_examples=int(os.environ.get("SYNC_MAX_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # SYNC_SHRINK=0 shows a failure as found, at once (for a first look at a bug).
    phases=(
        [Phase.explicit, Phase.reuse, Phase.generate]
        if os.environ.get("SYNC_SHRINK") == "0"
        else list(Phase)
    ),
)
settings.register_profile(
    "nightly",
    max_examples=1000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROFILE = "nightly" if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else "sync-default"

SKEW_LIMIT_MS = 4 * 60 * 1000
#: Tiny alphabets so concurrent same-field edits (and equal values) are common.
WORDS = ("a", "b")
DATES = ("2030-01-01", "2031-02-28")
#: table -> editable field -> values
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "action": {"description": WORDS, "due_on": DATES, "status": ("open", "done")},
    "goal": {"description": WORDS},
    "patient": {"phone": WORDS},
}
FAILPOINTS = ("after_hub_commit_before_local_ack", "mid_page_apply")
#: A hub nobody can reach: a partitioned desk's sync must fail cleanly.
DEAD_HUB = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
#: The seed's practices (ODS codes); people are registered at the first two.
CODES = tuple(code for code, _name, _locality in TEST_PRACTICES)
#: A desk's scope in the model: None for a full desk, else the practices' ODS codes.
Scope = frozenset[str] | None
#: Records every desk holds, whatever its scope (``sync/scope.py``, written out here).
EVERYONE_TABLES = frozenset(
    {"practice", "locality", "staff", "staff_practice_cover", "practice_list_size"}
)


class CrashError(Exception):
    """A failpoint fired: the process "died" at a sync boundary."""


@dataclass(frozen=True)
class Edit:
    """One committed local change to a field (the model's record of it)."""

    site: str
    origin_seq: int
    hlc: int
    key: tuple[str, str, str]
    value: str
    #: the field's clock the desk must have held: the newest of its own changes and
    #: the hub's changes up to its cursor (None: not checked, e.g. the seed)
    expected_base: tuple[int, str] | None = None


class SyncMachine(RuleBasedStateMachine):
    #: set by the test: a fresh hub per example, the template store, a tmp folder
    hub_factory: Callable[[], Hub]
    template: Path
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        self.stores: list[Store] = []

    @initialize(
        n=st.integers(2, 4),
        skews=st.lists(st.integers(-SKEW_LIMIT_MS, SKEW_LIMIT_MS), min_size=4, max_size=4),
        scopes=st.lists(
            st.none() | st.frozensets(st.sampled_from(CODES), min_size=1), min_size=3, max_size=3
        ),
    )
    def setup(self, n: int, skews: list[int], scopes: list[Scope]) -> None:
        self.hub = self.hub_factory()
        self.dead = hub_engine(DEAD_HUB)
        self.example = uuid.uuid4().hex[:8]
        self.clocks = [FakeClock(skews[i]) for i in range(n)]
        self.paths = [self.folder / f"{self.example}-{i}.sqlite" for i in range(n)]
        self.stores = [new_store(self.template, self.paths[i], self.clocks[i]) for i in range(n)]
        self.partitioned: set[int] = set()
        self.edits: list[Edit] = []
        self.last_hlc = [0] * n
        # Records made on desk 0 and synced to all first.
        folder = self.folder / self.example
        folder.mkdir()
        self.records: list[tuple[str, str]] = _seed_practices(self.stores[0], folder)
        self._record_edits(0)
        # Desk 0 made the seed and is full; each other desk is full or scoped.
        self.scopes: list[Scope] = [None, *scopes[: n - 1]]
        for i, scope in enumerate(self.scopes):
            if scope is not None:
                desk_scope.set_scope(
                    self.stores[i], DeskScope(codes=tuple(sorted(scope)), follow_staff=False)
                )
            event(f"desk {i} starts {'full' if scope is None else 'scoped'}")
        for store in self.stores:
            self._sync(store)
        self._sync(self.stores[0])

    # -- helpers ------------------------------------------------------------------

    def _sync(self, store: Store, label: str = "desk") -> SyncReport:
        return sync_once(store, self.hub.engine, label=label)

    def _expected_base(self, i: int, key: tuple[str, str, str]) -> tuple[int, str]:
        """What desk ``i`` has seen of ``key``: the model's view, not the desk's."""
        store = self.stores[i]
        cursor = int(store.get_meta(META_PULL_CURSOR) or 0)
        with self.hub.engine.connect() as connection:
            seen = [
                (int(hlc), str(site))
                for hlc, site in connection.execute(
                    text(
                        "SELECT hlc, origin_site FROM hub_change WHERE server_seq <= :c"
                        " AND entity = :e AND row_id = :r AND field = :f"
                    ),
                    {"c": cursor, "e": key[0], "r": key[1], "f": key[2]},
                )
            ]
        own = [
            (e.hlc, e.site) for e in self.edits if e.site == store.replica_id.hex and e.key == key
        ]
        return max([(0, ""), *seen, *own])

    def _record_edits(self, i: int, base: tuple[int, str] | None = None) -> None:
        """Read back what the journal committed for desk ``i`` since the last look."""
        store = self.stores[i]
        known = max((e.origin_seq for e in self.edits if e.site == store.replica_id.hex), default=0)
        with store.read() as session:
            rows = session.execute(
                text(
                    "SELECT c.origin_seq, t.hlc, c.entity, c.row_id, c.field, c.new_value"
                    " FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                    " WHERE t.replica_id = :me AND c.origin_seq > :known"
                ),
                {"me": store.replica_id.hex, "known": known},
            ).all()
        for seq, hlc, entity, row_id, name, value in rows:
            self.edits.append(
                Edit(store.replica_id.hex, int(seq), int(hlc), (entity, row_id, name), value, base)
            )

    def _held_records(self, i: int, tables: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        """The model's records desk ``i`` holds now (a scoped desk holds some of them)."""
        with self.stores[i].read() as session:  # one session for all: rules call this often

            def holds(table: str, row_id: str) -> bool:
                sql = text(f'SELECT 1 FROM "{table}" WHERE id = :r')
                return session.execute(sql, {"r": row_id}).first() is not None

            return [
                (table, row_id)
                for table, row_id in self.records
                if (tables is None or table in tables) and holds(table, row_id)
            ]

    def _person_practice(self, i: int, table: str, row_id: str) -> str | None:
        """The practice (id, hex) of the person a record on desk ``i`` belongs to."""
        with self.stores[i].read() as session:
            if table == "patient":
                sql = "SELECT practice_id FROM patient WHERE id = :r"
            else:
                sql = (
                    f'SELECT p.practice_id FROM "{table}" x JOIN care_case c ON c.id = x.case_id'
                    " JOIN patient p ON p.id = c.patient_id WHERE x.id = :r"
                )
            found = session.execute(text(sql), {"r": row_id}).scalar_one_or_none()
        return None if found is None else str(found).replace("-", "")

    def _base_for(self, i: int, table: str, row_id: str, name: str) -> tuple[int, str] | None:
        """The base clock desk ``i`` must send for an edit, or None when the model cannot
        tell: a scoped desk still holding a person who has left its practices does not see
        other desks' later changes to them (it claims an older base; the hub then treats
        its edit as concurrent, which is what it was)."""
        scope = self.scopes[i]
        if scope is not None:
            practice = self._person_practice(i, table, row_id)
            if practice not in _practice_ids(scope):
                return None
        return self._expected_base(i, (table, row_id, name))

    def _reopen(self, i: int) -> None:
        self.stores[i].close()
        self.stores[i] = Store.open(self.paths[i], clock=self.clocks[i])

    # -- rules --------------------------------------------------------------------

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        held = self._held_records(i)
        if not held:
            return
        table, row_id = data.draw(st.sampled_from(held), label="record")
        name = data.draw(st.sampled_from(sorted(FIELDS[table])), label="field")
        value = data.draw(st.sampled_from(FIELDS[table][name]), label="value")
        base = self._base_for(i, table, row_id, name)
        set_raw(self.stores[i], table, row_id, name, value, f"person on desk {i}")
        self._record_edits(i, base)

    @rule(data=st.data())
    def edit_again(self, data: st.DataObject) -> None:
        self.edit(data)

    @rule(data=st.data())
    def retire_or_restore(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        held = self._held_records(i)
        if not held:
            return
        table, row_id = data.draw(st.sampled_from(held), label="record")
        retire = data.draw(st.booleans(), label="retire")
        value = f"2030-01-0{i + 1} 10:00:00.000000" if retire else None
        base = self._base_for(i, table, row_id, "retired_at")
        set_raw(self.stores[i], table, row_id, "retired_at", value, f"person on desk {i}")
        self._record_edits(i, base)

    @rule(data=st.data())
    def move_person(self, data: st.DataObject) -> None:
        """Issue 14: a desk records that a person it holds registered at another practice
        (as a practice list import does), perhaps while offline or partitioned."""
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        people = self._held_records(i, ("patient",))
        if not people:
            return
        _table, person = data.draw(st.sampled_from(people), label="person")
        now = self._person_practice(i, "patient", person)
        code = data.draw(
            st.sampled_from([c for c in CODES if practice_id_for(c).hex != now]), label="to"
        )
        base = self._base_for(i, "patient", person, "practice_id")
        with self.stores[i].write(None, f"person on desk {i}") as session:
            found = session.get(Patient, uuid.UUID(person))
            assert found is not None
            found.practice_id = practice_id_for(code)
        self._record_edits(i, base)
        event("a person moved practice")

    @rule(data=st.data())
    def change_scope(self, data: st.DataObject) -> None:
        """Issue 14: a desk's practices change (``sync --practices``): to some of the
        practices or all; narrowing is refused while a record leaving has unsent changes."""
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        new: Scope = data.draw(
            st.none() | st.frozensets(st.sampled_from(CODES), min_size=1), label="scope"
        )
        wanted = (
            DeskScope(all_practices=True)
            if new is None
            else DeskScope(codes=tuple(sorted(new)), follow_staff=False)
        )
        store = self.stores[i]
        if i in self.partitioned:
            with pytest.raises(HubUnreachableError):
                desk_scope.change_scope(store, self.dead, wanted)
            return
        leaving_unsent = new is not None and bool(self._unsent_people(i) - self._people_in(i, new))
        try:
            desk_scope.change_scope(store, self.hub.engine, wanted)
        except UserError as error:
            assert leaving_unsent, f"a scope change was refused: {error}"
            assert "not yet sent" in str(error)
            assert desk_scope.desk_scope(store) == (
                DeskScope(all_practices=True)
                if self.scopes[i] is None
                else DeskScope(codes=tuple(sorted(self.scopes[i] or ())), follow_staff=False)
            )
            event("a narrowing was refused (unsent changes)")
            return
        assert not leaving_unsent, "a narrowing with unsent changes leaving was let through"
        event(
            f"scope changed: {'scoped' if self.scopes[i] else 'full'} -> "
            f"{'scoped' if new else 'full'}"
        )
        self.scopes[i] = new

    def _people_in(self, i: int, codes: frozenset[str]) -> set[str]:
        ids = _practice_ids(codes)
        with self.stores[i].read() as session:
            return {
                str(person)
                for person, practice in session.execute(text("SELECT id, practice_id FROM patient"))
                if str(practice).replace("-", "") in ids
            }

    def _unsent_people(self, i: int) -> set[str]:
        """The people on desk ``i`` with a change of its own the hub has not had yet."""
        store = self.stores[i]
        pushed = int(store.get_meta(META_PUSHED_THROUGH) or 0)
        people: set[str] = set()
        with store.read() as session:
            for entity, row_id in session.execute(
                text(
                    "SELECT DISTINCT c.entity, c.row_id FROM journal_change c JOIN journal_tx t"
                    " ON t.tx = c.tx WHERE t.replica_id = :me AND c.origin_seq > :after"
                ),
                {"me": store.replica_id.hex, "after": pushed},
            ):
                if entity == "patient":
                    people.add(str(row_id))
                    continue
                for sql in (
                    f'SELECT patient_id FROM "{entity}" WHERE id = :r',
                    f'SELECT c.patient_id FROM "{entity}" x JOIN care_case c'
                    " ON c.id = x.case_id WHERE x.id = :r",
                ):
                    try:
                        found = session.execute(text(sql), {"r": row_id}).scalar_one_or_none()
                    except DBAPIError:
                        continue  # the table has no such column
                    if found is not None:
                        people.add(str(found))
                        break
            held = {str(row) for row in session.execute(text("SELECT id FROM patient")).scalars()}
        return people & held

    @rule(data=st.data())
    def full_sync(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        if i in self.partitioned:
            with pytest.raises(HubUnreachableError):
                sync_once(self.stores[i], self.dead, label="x")
            return
        self._sync(self.stores[i])

    @rule(data=st.data())
    def push_only(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        if i not in self.partitioned:
            push_all(self.stores[i], self.hub.engine, label="x", now_ms=hub_now_ms(self.hub.engine))

    @rule(data=st.data())
    def pull_only(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        page = data.draw(st.integers(1, 25), label="page size")
        if i not in self.partitioned:
            store = self.stores[i]
            # What sync_once asks for: a scoped desk pulls only its records.
            scope = client._desk_practices(store, self.hub.engine, read_hub_info(self.hub.engine))
            pull_all(store, self.hub.engine, SyncReport(), page_size=page, scope=scope)

    @rule(data=st.data())
    def toggle_partition(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        self.partitioned ^= {i}

    @rule(data=st.data())
    def lost_response(self, data: st.DataObject) -> None:
        """The hub commits a push but the answer never arrives; then it comes twice."""
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        store = self.stores[i]
        after = int(store.get_meta(META_PUSHED_THROUGH) or 0)
        batch = read_outbox(store, after)
        if i in self.partitioned or not batch:
            return
        kwargs: dict[str, Any] = {
            "site": store.replica_id.hex,
            "label": "x",
            "schema_version": schema_version_number(),
            "prev_seq": client._previous_own_seq(store, batch[0].origin_seq),
            "changes": batch,
            "now_ms": hub_now_ms(self.hub.engine),
            "seals": client.outbox_seals(store, batch),
        }
        push_changes(self.hub.engine, **kwargs)
        count, state = self.hub.change_count(), self.hub.state()
        again = push_changes(self.hub.engine, **kwargs)  # P4: a duplicate delivery
        assert again.accepted == 0 and again.duplicates == len(batch)
        assert self.hub.change_count() == count and self.hub.state() == state

    @rule(data=st.data())
    def redeliver_page(self, data: st.DataObject) -> None:
        """P4: a page that was applied already, delivered again, changes nothing."""
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        store = self.stores[i]
        cursor = int(store.get_meta(META_PULL_CURSOR) or 0)
        if cursor == 0 or i in self.partitioned:
            return
        if self.scopes[i] is not None or desk_scope.held(store) is not None:
            return  # the unscoped log, redelivered, is for a full desk only
        start = data.draw(st.integers(0, cursor - 1), label="from")
        fetched = client._fetch(self.hub.engine, start, data.draw(st.integers(1, 40)))
        page = PulledPage(
            changes=[pulled for pulled in fetched.changes if pulled.server_seq <= cursor],
            through=min(fetched.through, cursor),
        )
        if page.through <= start:
            return
        before, journal = digest(store), self._journal_size(store)
        apply_page(store, page, SyncReport())
        assert digest(store) == before and self._journal_size(store) == journal
        assert int(store.get_meta(META_PULL_CURSOR) or 0) == cursor

    @staticmethod
    def _journal_size(store: Store) -> int:
        with store.read() as session:
            return int(session.execute(text("SELECT count(*) FROM journal_change")).scalar_one())

    @rule(data=st.data())
    def crash_during_sync(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        where = data.draw(st.sampled_from(FAILPOINTS), label="failpoint")
        if i in self.partitioned:
            return

        def crash() -> None:
            raise CrashError(where)

        client.FAILPOINTS[where] = crash
        try:
            self._sync(self.stores[i])
        except CrashError:
            pass
        finally:
            client.FAILPOINTS.clear()
        self._reopen(i)

    @precondition(lambda self: getattr(getattr(self, "hub", None), "kind", "") == "postgresql")
    @rule(data=st.data())
    def sync_while_connections_are_cut(self, data: st.DataObject) -> None:
        """PostgreSQL (issue 14): the hub's connections are cut again and again during a
        sync; it finishes or says the hub is unreachable, and the properties still hold."""
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        if i in self.partitioned:
            return
        name = f"mdt_cut_{uuid.uuid4().hex[:10]}"
        engine = hub_engine(cut_url(self.hub.url, name))
        try:
            with ConnectionCutter(name, seed=data.draw(st.integers(0, 2**16), label="cuts")):
                try:
                    sync_once(self.stores[i], engine, label="x")
                except HubUnreachableError:
                    event("a sync was cut")
        finally:
            engine.dispose()

    @rule(data=st.data())
    def clock_jump(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        delta = data.draw(st.integers(-SKEW_LIMIT_MS, SKEW_LIMIT_MS), label="jump")
        self.clocks[i].jump(delta, limit_ms=SKEW_LIMIT_MS)

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def clocks_monotonic_and_cursors_bounded(self) -> None:
        if not self.stores:
            return
        hub_last = self.hub.last_seq()
        for i, store in enumerate(self.stores):
            # Both values in one read (this runs after every step: two ``get_meta``
            # sessions a desk were a tenth of the test).
            with store.read() as session:
                meta: dict[str, str] = dict(
                    session.execute(
                        text("SELECT key, value FROM store_meta WHERE key IN (:hlc, :cursor)"),
                        {"hlc": META_HLC, "cursor": META_PULL_CURSOR},
                    ).all()
                )
            hlc = int(meta.get(META_HLC) or 0)
            assert hlc >= self.last_hlc[i], "the HLC went backwards"
            self.last_hlc[i] = hlc
            assert int(meta.get(META_PULL_CURSOR) or 0) <= hub_last

    # -- quiesce and the properties -----------------------------------------------

    def quiesce_and_check(self) -> None:
        self.partitioned.clear()
        client.FAILPOINTS.clear()
        limit = 2 * len(self.stores) + 2
        for _round in range(limit):
            moved = sum(
                report.pushed + report.pulled
                for report in (self._sync(store) for store in self.stores)
            )
            if moved == 0:
                break
        else:
            raise AssertionError(f"sync did not quiesce within {limit} rounds")
        # P1: every full desk identical, and equal to the hub's state; every scoped desk
        # holds exactly its scope's records, with the hub's values.
        full = [store for i, store in enumerate(self.stores) if self.scopes[i] is None]
        first = digest(full[0]) if full else None
        state = self.hub.state()
        for i, store in enumerate(self.stores):
            if self.scopes[i] is None:
                assert digest(store) == first
                assert_matches_hub(store, self.hub)
            else:
                self._check_scoped(i, state)
            assert_sound(store)
            assert client.outbox_count(store) == 0
        event(f"scoped desks at the end: {sum(s is not None for s in self.scopes)}")
        # P4: syncing again moves nothing.
        count = self.hub.change_count()
        before = [digest(store) for store in self.stores]
        for store in self.stores:
            report = self._sync(store)
            assert (report.pushed, report.pulled) == (0, 0)
        assert self.hub.change_count() == count
        assert [digest(store) for store in self.stores] == before
        self._check_model()
        self._check_typed_values_on_desks(state)

    def _check_scoped(self, i: int, state: dict[tuple[str, str, str], str | None]) -> None:
        """A scoped desk holds its practices' people with everything of theirs, every
        staff member and practice, with the hub's values; nothing of anyone else."""
        mine = _practice_ids(self.scopes[i] or frozenset())
        expected = _scope_fields(state, mine)
        found = stored_fields(self.stores[i])
        outside = {
            key
            for key in found
            if key[0] == "patient"
            and key[2] == "practice_id"
            and json.loads(found[key]) not in mine
        }
        assert not outside, f"scoped desk {i} holds people of other practices: {outside}"
        differ = {
            key: (found.get(key), expected.get(key))
            for key in found.keys() | expected.keys()
            if found.get(key) != expected.get(key)
        }
        assert not differ, (
            f"scoped desk {i} ({sorted(self.scopes[i] or ())}) differs from the hub's view of"
            f" its scope (desk, hub): {sorted(differ.items())[:10]}"
        )

    def _check_typed_values_on_desks(self, state: dict[tuple[str, str, str], str | None]) -> None:
        """Nothing typed is lost: each value typed that the hub kept is on every desk whose
        scope covers the record (every full desk, and scoped desks of its person)."""
        holders = [
            (store, None if scope is None else _scope_fields(state, _practice_ids(scope)))
            for store, scope in zip(self.stores, self.scopes, strict=True)
        ]
        stored = [stored_fields(store) for store, _ in holders]
        for edit in self.edits:
            value = state.get(edit.key)
            if value != edit.value or value in (None, "null"):
                continue  # not the hub's value now: P2 (_check_model) accounts for it
            for n, (_store, scoped) in enumerate(holders):
                if scoped is None or edit.key in scoped:
                    assert stored[n].get(edit.key) == value, f"desk {n} lacks typed {edit}"

    def _check_model(self) -> None:
        changes = self.hub.changes()
        hub_site = {row.origin_site for row in changes if row.entity == "review_item"}
        by_origin = {(row.origin_site, row.origin_seq): row for row in changes}
        state = self.hub.state()
        items = [row for row in _review_rows(state) if row["kind"] in ("same_field", "identity")]
        # P3: replay the hub's order with the concurrency rule; the hub's items are
        # exactly the conflicts the replay finds, one per concurrent differing pair.
        current: dict[tuple[str, str, str], tuple[int, str, str | None]] = {}
        expected: dict[tuple[str, str, str], int] = {}
        for row in changes:
            if row.origin_site in hub_site or row.entity == "review_item":
                continue
            key = (row.entity, row.row_id, row.field)
            now = current.get(key)
            if (
                now is not None
                and row.field not in BOOKKEEPING_FIELDS
                and (now[0], now[1]) != (row.base_hlc, row.base_site)
                and (now[2] != row.value or (row.entity, row.field) in IDENTITY_FIELDS)
            ):
                expected[key] = expected.get(key, 0) + 1
            if now is None or (row.hlc, row.origin_site) >= (now[0], now[1]):
                current[key] = (row.hlc, row.origin_site, row.value)
        event(f"same-field conflicts: {min(sum(expected.values()), 3)}")
        found: dict[tuple[str, str, str], int] = {}
        for item in items:
            key = (item["entity"], item["row_id"], item["field"])
            found[key] = found.get(key, 0) + 1
            assert item["kept_value"] != item["other_value"] or key[:1] == ("patient",)
        assert found == expected
        for key, (_hlc, _site, value) in current.items():
            assert state[key] == value, f"hub state of {key} is not the LWW winner"
        # P2: no edit silently lost.
        for edit in self.edits:
            row = by_origin.get((edit.site, edit.origin_seq))
            assert row is not None, f"edit {edit} never reached the hub"
            if edit.expected_base is not None:
                # The base clock a desk sends is what it had seen: else the hub's
                # conflict decisions (P3) rest on a wrong claim.
                assert (row.base_hlc, row.base_site) == edit.expected_base, edit
            if state.get(edit.key) == edit.value:
                continue
            if edit.key[2] in BOOKKEEPING_FIELDS:
                continue  # last writer wins, by design: never a review item (push.py)
            seen = any(
                (later.entity, later.row_id, later.field) == edit.key
                and (later.base_hlc, later.base_site) >= (edit.hlc, edit.site)
                for later in changes
            )
            kept = any(
                (item["entity"], item["row_id"], item["field"]) == edit.key
                and edit.value in (item["kept_value"], item["other_value"])
                for item in _review_rows(state)
            )
            equal = any(
                (other.entity, other.row_id, other.field) == edit.key
                and other.value == edit.value
                and any(
                    (later.entity, later.row_id, later.field) == edit.key
                    and (later.base_hlc, later.base_site) >= (other.hlc, other.origin_site)
                    for later in changes
                )
                for other in changes
            )
            assert seen or kept or equal, f"edit {edit} was silently lost"

    def teardown(self) -> None:
        try:
            if self.stores:
                self.quiesce_and_check()
        finally:
            for store in self.stores:
                store.close()
            if self.stores:
                self.dead.dispose()


def _practice_ids(codes: frozenset[str]) -> frozenset[str]:
    return frozenset(practice_id_for(code).hex for code in codes)


def _scope_fields(
    state: dict[tuple[str, str, str], str | None], practices: frozenset[str]
) -> dict[tuple[str, str, str], str]:
    """The hub's non-null fields of the records a desk of ``practices`` holds: everyone's
    (staff, practices…), and the records of people registered at ``practices`` now (the
    person, their cases and all that hangs off a case; review items about any of them).
    Worked out here from the hub's values, not with the product's anchors."""
    known = set(synced_table_names())
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for (entity, row_id, name), value in state.items():
        if entity in known and value not in (None, "null"):
            records.setdefault((entity, row_id), {})[name] = json.loads(value)

    def person(entity: str, row_id: str) -> str | None:
        fields = records.get((entity, row_id), {})
        if entity == "patient":
            return row_id
        if entity == "review_item":
            return person(str(fields["entity"]), str(fields["row_id"]).replace("-", ""))
        if "patient_id" in fields:
            return str(fields["patient_id"]).replace("-", "")
        if "case_id" in fields:
            return person("care_case", str(fields["case_id"]).replace("-", ""))
        raise AssertionError(f"the model does not know whose {entity} {row_id} is")

    def practice(patient: str) -> str:
        return str(records[("patient", patient)]["practice_id"]).replace("-", "")

    chosen = {
        key
        for key in records
        if key[0] in EVERYONE_TABLES or practice(str(person(*key))) in practices
    }
    return {
        key: str(value)
        for key, value in state.items()
        if (key[0], key[1]) in chosen and value not in (None, "null")
    }


def _seed_practices(store: Store, folder: Path) -> list[tuple[str, str]]:
    """Three practices, one person registered at each of the first two (a case, a goal,
    an action), staff covering them, made on one desk; the records the rules edit."""
    today = dt.date.today()
    path = folder / "epraccur.csv"
    path.write_text("".join(epraccur_row(*practice) + "\n" for practice in TEST_PRACTICES))
    with store.write(None, "seed") as session:
        import_ods_practices(session, path)
        staff_ids = [
            staff.add_staff(
                session, family_name=name, given_name="Sam", profession="gp", practice_codes=CODES
            ).id
            for name in ("Butler", "Okafor")
        ]
    records: list[tuple[str, str]] = []
    for index, code in enumerate(CODES[:2]):  # the third practice starts with nobody
        with store.write(staff_ids[0], "seed") as session:
            person = patients.register_patient(
                session,
                nhs_number=NHS_NUMBERS[index],
                family_name=f"Person{index}",
                given_name="Alex",
                date_of_birth=dt.date(1940 + index, 1, 1),
                practice_id=practice_id_for(code),
            )
            case = cases.refer(session, person.id, source=ReferralSource.GP, reason="Falls")
            cases.accept(session, case.id, coordinator_id=staff_ids[0])
            goal = plans.add_goal(session, case.id, description="Walk to the shop")
            action = plans.add_action(
                session,
                case.id,
                description="Home visit",
                owner_id=staff_ids[0],
                due_on=today + dt.timedelta(days=7),
            )
        records += [("action", action.id.hex), ("goal", goal.hex), ("patient", person.id.hex)]
    return records


class _HubEmptier:
    """Empties the test's hub for the next example, back to what ``init_hub`` made.

    On SQLite ``Hub.reset`` (drop and create the tables) is cheap. On PostgreSQL the desk
    logins' row-level security policies hang on the hub's tables, so a reset there drops
    the whole schema and runs ``init_hub`` again: ~0.1 s an example, mostly DDL, grants
    and ANALYZE that come out the same each time. Instead the rows of a new hub are read
    once, and each example empties every table and writes those rows back, with a new
    hub id as a new hub would have.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.first_rows: dict[str, list[dict[str, Any]]] = {}
        if hub.kind == "postgresql":
            with hub.engine.connect() as connection:
                for table in inspect(connection).get_table_names():
                    rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings()
                    self.first_rows[table] = [dict(row) for row in rows]
            assert self.first_rows.get("hub_counter") == [{"id": 1, "last_seq": 0}], (
                "the hub is not new"
            )

    def __call__(self) -> Hub:
        hub = self.hub
        if hub.kind != "postgresql":
            hub.reset()
            return hub
        hub.engine.dispose()  # no pooled connection of the last example lingers
        with hub.engine.begin() as connection:
            for table in self.first_rows:
                # DELETE, not TRUNCATE: a few dozen rows go in ~2 ms, where TRUNCATE makes
                # new files for nine tables (~40 ms). The hub has no sequences to restart.
                connection.execute(text(f'DELETE FROM "{table}"'))
            for table, first in self.first_rows.items():
                for row in first:
                    new_id = table == "hub_meta" and row["key"] == META_HUB_ID
                    values = {**row, "value": uuid.uuid4().hex} if new_id else row
                    names = ", ".join(f'"{name}"' for name in values)
                    marks = ", ".join(f":{name}" for name in values)
                    connection.execute(
                        text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'), values
                    )
        return hub


def _review_rows(state: dict[tuple[str, str, str], str | None]) -> list[dict[str, Any]]:
    """The hub's review items, decoded: each field's stored value."""
    import json

    rows: dict[str, dict[str, Any]] = {}
    for (entity, row_id, name), value in state.items():
        if entity == "review_item":
            rows.setdefault(row_id, {})[name] = None if value is None else json.loads(value)
    return list(rows.values())


@pytest.mark.slow
def test_sync_state_machine(hub: Hub, template_store: Path, tmp_path: Path) -> None:
    SyncMachine.hub_factory = staticmethod(_HubEmptier(hub))
    SyncMachine.template = template_store
    SyncMachine.folder = tmp_path
    run_state_machine_as_test(SyncMachine, settings=settings.get_profile(PROFILE))
