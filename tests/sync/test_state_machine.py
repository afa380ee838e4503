"""Model-based test of sync (research §4.3): random edits, faults, crashes and clock
jumps on 2–4 desks against each hub engine; after quiesce P1–P4 must hold.

Budget: ``HYPOTHESIS_PROFILE=nightly`` runs many more and longer examples.
"""

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from mdt_desk.models.store import META_HLC, Store, schema_version_number
from mdt_desk.sync import client
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
from mdt_desk.sync.hub import HubUnreachableError, hub_engine, hub_now_ms
from mdt_desk.sync.protocol import BOOKKEEPING_FIELDS, IDENTITY_FIELDS, PulledPage
from mdt_desk.sync.push import push_changes
from tests.sync.cutting import ConnectionCutter, cut_url
from tests.sync.support import (
    FakeClock,
    Hub,
    assert_matches_hub,
    assert_sound,
    digest,
    new_store,
    seed,
    set_raw,
)

settings.register_profile(
    "sync-default",
    max_examples=int(os.environ.get("SYNC_MAX_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
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
    )
    def setup(self, n: int, skews: list[int]) -> None:
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
        seeded = seed(self.stores[0], folder, patients_count=1)
        self.records: list[tuple[str, str]] = (
            [("action", row.hex) for row in seeded.action_ids]
            + [("goal", row.hex) for row in seeded.goal_ids]
            + [("patient", row.hex) for row in seeded.patient_ids]
        )
        self._record_edits(0)
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

    def _reopen(self, i: int) -> None:
        self.stores[i].close()
        self.stores[i] = Store.open(self.paths[i], clock=self.clocks[i])

    # -- rules --------------------------------------------------------------------

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        table, row_id = data.draw(st.sampled_from(self.records), label="record")
        name = data.draw(st.sampled_from(sorted(FIELDS[table])), label="field")
        value = data.draw(st.sampled_from(FIELDS[table][name]), label="value")
        base = self._expected_base(i, (table, row_id, name))
        set_raw(self.stores[i], table, row_id, name, value, f"person on desk {i}")
        self._record_edits(i, base)

    @rule(data=st.data())
    def edit_again(self, data: st.DataObject) -> None:
        self.edit(data)

    @rule(data=st.data())
    def retire_or_restore(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.stores) - 1), label="desk")
        table, row_id = data.draw(st.sampled_from(self.records), label="record")
        retire = data.draw(st.booleans(), label="retire")
        value = f"2030-01-0{i + 1} 10:00:00.000000" if retire else None
        base = self._expected_base(i, (table, row_id, "retired_at"))
        set_raw(self.stores[i], table, row_id, "retired_at", value, f"person on desk {i}")
        self._record_edits(i, base)

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
            pull_all(self.stores[i], self.hub.engine, SyncReport(), page_size=page)

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
            hlc = int(store.get_meta(META_HLC) or 0)
            assert hlc >= self.last_hlc[i], "the HLC went backwards"
            self.last_hlc[i] = hlc
            assert int(store.get_meta(META_PULL_CURSOR) or 0) <= hub_last

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
        # P1: every desk identical, and equal to the hub's state.
        first = digest(self.stores[0])
        for store in self.stores:
            assert digest(store) == first
            assert_matches_hub(store, self.hub)
            assert_sound(store)
            assert client.outbox_count(store) == 0
        # P4: syncing again moves nothing.
        count = self.hub.change_count()
        for store in self.stores:
            report = self._sync(store)
            assert (report.pushed, report.pulled) == (0, 0)
        assert self.hub.change_count() == count and digest(self.stores[0]) == first
        self._check_model()

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


def _review_rows(state: dict[tuple[str, str, str], str | None]) -> list[dict[str, Any]]:
    """The hub's review items, decoded: each field's stored value."""
    import json

    rows: dict[str, dict[str, Any]] = {}
    for (entity, row_id, name), value in state.items():
        if entity == "review_item":
            rows.setdefault(row_id, {})[name] = None if value is None else json.loads(value)
    return list(rows.values())


@pytest.mark.slow
def test_sync_state_machine(
    hub_factory: Callable[[], Hub], template_store: Path, tmp_path: Path
) -> None:
    SyncMachine.hub_factory = staticmethod(hub_factory)
    SyncMachine.template = template_store
    SyncMachine.folder = tmp_path
    run_state_machine_as_test(SyncMachine, settings=settings.get_profile(PROFILE))
