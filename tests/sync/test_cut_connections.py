"""Connections cut mid-sync (issue 14), on a PostgreSQL hub.

While three desks type and sync, a thread on a connection of its own terminates every
hub connection of theirs (``pg_terminate_backend``) every few milliseconds. Each sync
either finishes or stops with :class:`HubUnreachableError` (the app's "offline, will
retry"), never a traceback or another message, and a desk never counts as sent what
the hub does not hold. When the cutting stops and every desk syncs until quiet, the
desks equal each other and the hub, the hub holds every desk's every change exactly
once, nothing typed is missing, no desk applied a transaction twice, every outbox is
empty, and the state machine's properties (P1–P4) hold.

A second test cuts the connection once at each step of a sync in turn, so every step
is shown to report a cut as the hub being unreachable, and the desk to resume from it.
A third shows the one case that is not a cut: a hub without the seal table, which the
desk's login may not add, is named as set up by an earlier version.
"""

import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from mdt_desk.models import Action, Case, Patient, Practice
from mdt_desk.models.enums import ReferralSource, RiskBand
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans
from mdt_desk.services.demo import synthetic_nhs_numbers
from mdt_desk.sync import client
from mdt_desk.sync.client import META_PUSHED_THROUGH, edits_waiting, outbox_count, sync_once
from mdt_desk.sync.hub import HubError, HubUnreachableError, hub_engine
from tests.sync import test_state_machine as state_machine
from tests.sync.cutting import ConnectionCutter, Matcher, cut_at, cut_url, where_cut, within
from tests.sync.support import FakeClock, Hub, assert_sound, digest, field_value, seed
from tests.sync.test_state_machine import SyncMachine

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("hub", ["postgresql"], indirect=True)]

Desks = Callable[..., Store]

ROUNDS = 10
#: More rounds, only until both a push and a pull have been cut part-way (a busy machine).
MAX_ROUNDS = 25
#: Sync attempts each desk makes in a round, as its background sync retries.
ATTEMPTS = 2
TODAY = dt.date.today()
BANDS = tuple(RiskBand)


@dataclass
class Typed:
    """What people typed on the desks, to find again at the end."""

    people: dict[str, str] = field(default_factory=dict)  # patient id -> family name
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (case, body)
    descriptions: dict[str, str] = field(default_factory=dict)  # action id -> last typed
    bands: dict[str, str] = field(default_factory=dict)  # patient id -> last risk band


@dataclass
class Tally:
    """What became of the syncs while the connections were being cut."""

    finished: int = 0
    cut: Counter[str] = field(default_factory=Counter)  # by the step that was cut
    #: cut after the hub committed a push, before the desk heard: resent, not doubled
    unheard_commits: int = 0
    #: cut after some pages were applied here: resumed from the next page
    pulls_cut_part_way: int = 0
    seconds: list[float] = field(default_factory=list)


def _hub_seqs(hub: Hub, site: str) -> list[int]:
    with hub.engine.connect() as connection:
        return [
            int(seq)
            for (seq,) in connection.execute(
                text("SELECT origin_seq FROM hub_change WHERE origin_site = :s"), {"s": site}
            )
        ]


def _own_seqs(store: Store) -> list[int]:
    with store.read() as session:
        return [
            int(seq)
            for (seq,) in session.execute(
                text(
                    "SELECT c.origin_seq FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                    " WHERE t.replica_id = :me"
                ),
                {"me": store.replica_id.hex},
            )
        ]


def _pushed_through(store: Store) -> int:
    return int(store.get_meta(META_PUSHED_THROUGH) or 0)


def _assert_sent_is_at_the_hub(store: Store, hub: Hub) -> None:
    """The outbox is kept: every change this desk counts as sent is at the hub."""
    through = _pushed_through(store)
    sent = {seq for seq in _own_seqs(store) if seq <= through}
    assert sent <= set(_hub_seqs(hub, store.replica_id.hex)), "counted as sent, not at the hub"


def _type(store: Store, desk: int, rng: random.Random, numbers: list[str], typed: Typed) -> bool:
    """One round of a person's work on ``desk``, through the services: a new person with
    a case, a goal and an action; some actions' descriptions and people's risk bands
    changed; a note. Existing records are shared out by id between the desks, so every
    value typed must be the final one."""
    label = f"desk {desk}"
    with store.read() as session:
        practice = session.scalar(select(Practice.id))
        if practice is None:
            return False  # this desk has not received the team's records yet
        staff_id = session.scalar(
            text("SELECT id FROM staff ORDER BY family_name LIMIT 1 OFFSET :n"), {"n": desk}
        )
        actions = sorted(a for a in session.scalars(select(Action.id)) if a.int % 3 == desk)
        people = sorted(p for p in session.scalars(select(Patient.id)) if p.int % 3 == desk)
        open_cases = sorted(session.scalars(select(Case.id)))
    staff = uuid.UUID(str(staff_id))
    with store.write(staff, label) as session:
        family = f"Cut{desk}x{rng.randrange(10**6)}"
        person = patients.register_patient(
            session,
            nhs_number=numbers.pop(),
            family_name=family,
            given_name="Robin",
            date_of_birth=dt.date(1935 + desk, 5, 1),
            practice_id=practice,
        )
        case = cases.refer(session, person.id, source=ReferralSource.GP, reason="Falls")
        cases.accept(session, case.id, coordinator_id=staff)
        plans.add_goal(session, case.id, description=f"Garden again ({family})")
        action = plans.add_action(
            session,
            case.id,
            description=f"Visit {family}",
            owner_id=staff,
            due_on=TODAY + dt.timedelta(days=7),
        )
    typed.people[person.id.hex] = family
    typed.descriptions[action.id.hex] = f"Visit {family}"
    with store.write(staff, label) as session:
        for action_id in rng.sample(actions, min(2, len(actions))):
            words = f"{label}: ring first {rng.randrange(10**6)}"
            plans.update_action(session, action_id, description=words)
            typed.descriptions[action_id.hex] = words
        for person_id in rng.sample(people, min(1, len(people))):
            band = rng.choice(BANDS)
            patients.set_risk_band(session, person_id, band)
            typed.bands[person_id.hex] = band.value
        if open_cases:
            case_id = rng.choice(open_cases)
            body = f"{label} spoke to the family {rng.randrange(10**6)}"
            note = plans.add_note(session, case_id, body)
            typed.notes[note.id.hex] = (case_id.hex, body)
    return True


def _sync_under_cuts(store: Store, engine: Engine, hub: Hub, tally: Tally, label: str) -> None:
    """One sync while connections are cut: it finishes or says the hub is unreachable."""
    through = _pushed_through(store)
    cursor = int(store.get_meta(client.META_PULL_CURSOR) or 0)
    started = time.perf_counter()
    try:
        sync_once(store, engine, label=label)
    except HubUnreachableError as error:
        assert "is not reachable" in str(error), str(error)
        step = where_cut(error)
        tally.cut[step] += 1
        if step == "push_all" and max(_hub_seqs(hub, store.replica_id.hex), default=0) > max(
            through, _pushed_through(store)
        ):
            tally.unheard_commits += 1
        if step == "pull_all" and int(store.get_meta(client.META_PULL_CURSOR) or 0) > cursor:
            tally.pulls_cut_part_way += 1
    else:
        tally.finished += 1
    tally.seconds.append(time.perf_counter() - started)
    _assert_sent_is_at_the_hub(store, hub)


def _model(hub: Hub, stores: list[Store], clocks: list[FakeClock]) -> SyncMachine:
    """The state machine's model over these desks, to check its properties here."""
    model = SyncMachine()
    model.hub = hub
    model.stores = stores
    model.clocks = clocks
    model.partitioned = set()
    model.edits = []
    model.last_hlc = [0] * len(stores)
    model.scopes = [None] * len(stores)  # full desks
    model.records = []
    return model


@contextmanager
def _field_values(store: Store) -> Iterator[Callable[[str, str, str], Any]]:
    """:func:`field_value` over one connection: the final checks read hundreds of
    fields, and ``field_value`` opens and keys a connection for each (~3 ms)."""
    raw = store.raw_connection()
    try:

        def value(table: str, row_id: str, name: str) -> Any:
            found = raw.execute(f'SELECT "{name}" FROM "{table}" WHERE id = ?', (row_id,))
            row = found.fetchone()
            assert row is not None, f"{table} {row_id} is missing"
            return row[0]

        yield value
    finally:
        raw.close()


def _applied_twice(store: Store, hub: Hub) -> list[tuple[str, str, str, str]]:
    """Other desks' changes journalled here more often than the hub holds them."""
    with hub.engine.connect() as connection:
        at_hub = Counter(
            tuple(row)
            for row in connection.execute(
                text("SELECT tx_id, entity, row_id, field FROM hub_change")
            )
        )
    with store.read() as session:
        here = Counter(
            tuple(row)
            for row in session.execute(
                text(
                    "SELECT t.tx_uuid, c.entity, c.row_id, c.field FROM journal_change c"
                    " JOIN journal_tx t ON t.tx = c.tx WHERE t.replica_id != :me"
                ),
                {"me": store.replica_id.hex},
            )
        )
    return [key for key, count in here.items() if count > at_hub.get(key, 0)]


def test_desks_resume_when_the_hubs_connections_are_cut_mid_sync(
    desks: Desks, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model's checks label Hypothesis's statistics; there are none outside it.
    monkeypatch.setattr(state_machine, "event", lambda *_args, **_kwargs: None)
    seed_number = random.randrange(10**6)
    rng = random.Random(seed_number)
    clocks = [FakeClock() for _ in range(3)]
    stores = [desks(name, clock=clock) for name, clock in zip("abc", clocks, strict=True)]
    seed(stores[0], tmp_path)
    model = _model(hub, stores, clocks)
    model._record_edits(0)
    name = f"mdt_cut_{uuid.uuid4().hex[:10]}"
    engines = [hub_engine(cut_url(hub.url, name)) for _ in stores]
    numbers = synthetic_nhs_numbers(rng, 3 * MAX_ROUNDS)
    typed, tally, rounds_typed = Typed(), Tally(), Counter[int]()
    # Every desk holds the team's records before the cutting starts, so each types from
    # the first round: on a busy machine the cuts may otherwise stop every pull of B
    # and C, which would then never type, and the test would prove less than it says.
    for desk, store in enumerate(stores):
        sync_once(store, hub.engine, label=f"desk {desk}")
    started = time.perf_counter()
    try:
        with ConnectionCutter(name, seed=seed_number) as cutter:
            for round_ in range(MAX_ROUNDS):
                if round_ >= ROUNDS and tally.cut["push_all"] and tally.cut["pull_all"]:
                    break
                for desk, store in enumerate(stores):
                    if _type(store, desk, rng, numbers, typed):
                        rounds_typed[desk] += 1
                    model._record_edits(desk)
                for _attempt in range(ATTEMPTS):
                    for desk, store in enumerate(stores):
                        _sync_under_cuts(store, engines[desk], hub, tally, f"desk {desk}")
                model.clocks_monotonic_and_cursors_bounded()
    finally:
        for engine in engines:
            engine.dispose()
    cutting = time.perf_counter() - started
    print(
        f"seed {seed_number}: {len(tally.seconds)} syncs in {cutting:.1f} s, "
        f"{tally.finished} finished, cut at {dict(tally.cut)}; "
        f"{tally.unheard_commits} pushes committed unheard, "
        f"{tally.pulls_cut_part_way} pulls cut part-way; rounds typed {dict(rounds_typed)}; "
        f"{cutter.terminated} backends ended in {cutter.sweeps} sweeps; "
        f"slowest sync {max(tally.seconds):.2f} s"
    )
    # The cutting proves something only if it cut syncs in the middle, not just before
    # they began, and some syncs still got through between the cuts.
    # (A pull of a few changes is quick: a random cut may miss every one of them on a
    # busy machine. Each step of a sync, pulls' included, is cut on purpose by
    # test_a_cut_at_any_step_of_a_sync_is_the_hub_being_unreachable.)
    assert sum(tally.cut.values()) >= 10, tally
    assert tally.cut["push_all"] + tally.cut["pull_all"] >= 1, tally
    assert tally.finished >= 1, tally

    # Quiet: every desk syncs until nothing moves; P1 (every desk equal to the others
    # and to the hub, sound, outbox empty), P4 (syncing again moves nothing), and the
    # model's P2 (every edit reached the hub: the final value or seen before being
    # overwritten) and P3 (conflicts recorded exactly as the hub's order implies).
    model.quiesce_and_check()
    model.clocks_monotonic_and_cursors_bounded()

    with hub.engine.connect() as connection:
        doubled = connection.execute(
            text(
                "SELECT origin_site, origin_seq FROM hub_change"
                " GROUP BY origin_site, origin_seq HAVING count(*) > 1"
            )
        ).all()
        count, low, high, last = connection.execute(
            text(
                "SELECT count(*), min(server_seq), max(server_seq),"
                " (SELECT last_seq FROM hub_counter WHERE id = 1) FROM hub_change"
            )
        ).one()
    assert doubled == [], "a change is at the hub twice"
    assert (low, high, last) == (1, count, count), "the hub's log has gaps"
    first = digest(stores[0])
    for store in stores:
        # Each desk's every change at the hub exactly once, and nothing else of it.
        at_hub = _hub_seqs(hub, store.replica_id.hex)
        assert sorted(at_hub) == sorted(_own_seqs(store)), "not this desk's changes, once"
        assert _applied_twice(store, hub) == [], "a transaction was applied twice here"
        assert outbox_count(store) == 0 and edits_waiting(store) == 0
        assert digest(store) == first
        assert_sound(store)
        # Nothing typed is missing, on any desk.
        with _field_values(store) as value:
            for person_id, family in typed.people.items():
                assert value("patient", person_id, "family_name") == family
            for person_id, band in typed.bands.items():
                assert value("patient", person_id, "risk_band") == band
            for action_id, words in typed.descriptions.items():
                assert value("action", action_id, "description") == words
            for note_id, (case_id, body) in typed.notes.items():
                assert value("note", note_id, "body") == body
                assert value("note", note_id, "case_id") == case_id
    # Every desk typed in every round it was given.
    assert sorted(rounds_typed) == [0, 1, 2], rounds_typed


#: Each step of a sync, by the first statement of it to cut.
STEPS: dict[str, Matcher] = {
    "hub identity": lambda sql, _: "FROM hub_meta" in sql and within("read_hub_info"),
    "seal table": lambda _, params: "hub_seal" in str(params) and within("_keep_seals_at"),
    "hub clock": lambda sql, _: "clock_timestamp" in sql,
    "push: the counter's lock": lambda sql, _: "hub_lock_counter" in sql,
    "push: the merged state": lambda sql, _: "hub_put_state" in sql,
    "push: the desk's position": lambda sql, _: "hub_record_push" in sql,
    "push: its commit": lambda sql, _: sql == "COMMIT" and within("push_changes"),
    "pull: the hub's position": lambda sql, _: "hub_counter" in sql and within("_fetch"),
    "pull: a page": lambda sql, _: "FROM hub_change" in sql and within("_fetch"),
    "pull: the seals": lambda sql, _: "FROM hub_seal" in sql and within("_fetch"),
}


def test_a_cut_at_any_step_of_a_sync_is_the_hub_being_unreachable(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    """The hub's connection ends at one step of desk A's sync, each step in turn: the
    sync says the hub is unreachable (not an old hub, not a refusal, never a
    traceback), A keeps its outbox, and the next syncs pick up where it stopped: both
    desks converge with nothing lost or applied twice."""
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path)
    mine, theirs = (action.hex for action in seeded.action_ids)
    for store, label in ((a, "desk A"), (b, "desk B")):
        sync_once(store, hub.engine, label=label)
    engine = hub_engine(hub.url)
    try:
        for step, matches in STEPS.items():
            with b.write(None, "desk B") as session:  # something for A to pull when cut
                plans.update_action(session, seeded.action_ids[1], description=f"B: {step}")
            sync_once(b, engine, label="desk B")
            with a.write(None, "desk A") as session:  # and something for it to push
                plans.update_action(session, seeded.action_ids[0], description=f"A: {step}")
            with (
                cut_at(engine, matches) as cut,
                pytest.raises(HubUnreachableError, match="is not reachable"),
            ):
                sync_once(a, engine, label="desk A")
            assert cut, f"the sync never came to {step}"
            _assert_sent_is_at_the_hub(a, hub)
            with b.write(None, "desk B") as session:
                plans.update_action(session, seeded.action_ids[1], description=f"B after {step}")
            for store, label in ((b, "desk B"), (a, "desk A"), (b, "desk B")):
                sync_once(store, engine, label=label)
            for store in (a, b):
                assert outbox_count(store) == 0, step
                assert field_value(store, "action", mine, "description") == f"A: {step}"
                assert field_value(store, "action", theirs, "description") == f"B after {step}"
            assert digest(a) == digest(b), step
    finally:
        engine.dispose()
    for store in (a, b):
        assert sorted(_hub_seqs(hub, store.replica_id.hex)) == sorted(_own_seqs(store))
        assert _applied_twice(store, hub) == []
        assert_sound(store)


def test_an_old_hub_a_desk_login_may_not_upgrade_is_named_as_such_not_unreachable(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    """The one case for "set up by an earlier version": the hub has no seal table and
    the desk's login may not create it. The desk's changes are kept."""
    from mdt_desk.sync.hub_roles import add_desk_login

    login = f"desk_{uuid.uuid4().hex[:10]}"
    add_desk_login(hub.engine, login)
    desk_engine = hub_engine(hub.url.replace("//postgres@", f"//{login}@", 1))
    try:
        with hub.engine.begin() as connection:  # the hub as an earlier version left it
            connection.exec_driver_sql("DROP TABLE hub_seal")
            connection.exec_driver_sql("DELETE FROM hub_meta WHERE key = 'sealed_after_seq'")
        a = desks("a")
        seed(a, tmp_path)
        waiting = outbox_count(a)
        with pytest.raises(HubError, match="set up by an earlier version") as refused:
            sync_once(a, desk_engine, label="desk A")
        assert not isinstance(refused.value, HubUnreachableError)
        assert outbox_count(a) == waiting > 0
    finally:
        desk_engine.dispose()
        with hub.engine.connect() as connection:
            connection.exec_driver_sql(f'DROP OWNED BY "{login}"')
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')
            connection.commit()
