"""Helpers shared by the sync tests: fake clocks, desks, hubs, digests, seeding."""

import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from mdt_desk.models import synced_tables
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import keep_key, store_key
from mdt_desk.services import cases, patients, plans, staff
from mdt_desk.services.check import check_store
from mdt_desk.services.practices import import_ods_practices
from mdt_desk.sync.client import SyncReport, sync_once
from mdt_desk.sync.desk_scope import META_SCOPE
from mdt_desk.sync.hub import hub_change, hub_engine, hub_metadata, hub_state, init_hub
from mdt_desk.sync.protocol import MAX_SKEW_MS
from tests import store_sql

PG_ADMIN_URL = os.environ.get("MDT_TEST_PG_URL", "postgresql://postgres@127.0.0.1/test")
HUB_KINDS = ("sqlite", "postgresql")
TODAY = dt.date.today()


class FakeClock:
    """A desk's wall clock: real time plus an offset the test moves."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def jump(self, delta_ms: int, *, limit_ms: int | None = None) -> None:
        self.offset_ms += delta_ms
        if limit_ms is not None:
            self.offset_ms = max(-limit_ms, min(limit_ms, self.offset_ms))


# -- PostgreSQL ------------------------------------------------------------------------


def pg_admin() -> Any:
    """An autocommit connection to the server's `test` database, or skip/fail."""
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL hub tests need a server at {PG_ADMIN_URL}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def drop_pg_hub(admin: Any, database: str) -> None:
    """Drop a hub's database and its desk group: roles are the server's, not the
    database's, so the group would outlive it."""
    from mdt_desk.sync.hub_roles import desk_group_name

    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.execute(f'DROP ROLE IF EXISTS "{desk_group_name(database)}"')


def pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


# -- Hubs ------------------------------------------------------------------------------


@dataclass
class Hub:
    kind: str
    url: str
    engine: Engine

    def reset(self) -> None:
        """Empty the hub (a fresh hub for the next Hypothesis example)."""
        self.engine.dispose()
        if self.kind == "postgresql":
            # Row-level security policies and the login limits hang off the tables.
            with self.engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        else:
            hub_metadata.drop_all(self.engine)
        init_hub(self.engine)

    def last_seq(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT last_seq FROM hub_counter WHERE id = 1")
                ).scalar_one()
            )

    def change_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM hub_change")).scalar_one())

    def state(self) -> dict[tuple[str, str, str], str | None]:
        with self.engine.connect() as connection:
            return {
                (entity, row_id, name): value
                for entity, row_id, name, value in connection.execute(
                    select(
                        hub_state.c.entity, hub_state.c.row_id, hub_state.c.field, hub_state.c.value
                    )
                )
            }

    def changes(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(hub_change).order_by(hub_change.c.server_seq)))


# -- Desks -----------------------------------------------------------------------------


def new_store(template: Path, path: Path, clock: FakeClock, key: bytes | None = None) -> Store:
    """A new, empty desk: a copy of a migrated template with its own replica id (and its
    own store id; the template's key, kept in this test's keyring). ``key`` is the
    template's, where the caller holds it: a fixture made once per run cannot read it
    from whichever test's keyring last kept it."""
    key = key or store_key(template)
    shutil.copy(template, path)
    keep_key(path, key)
    raw = store_sql.connect(path)
    with raw:
        raw.execute(
            "UPDATE store_meta SET value = ? WHERE key = 'replica_id'", (str(uuid.uuid4()),)
        )
        # A full desk: these tests are about replication; scoped desks make their own.
        raw.execute(
            "INSERT INTO store_meta (key, value) VALUES (?, ?)", (META_SCOPE, '{"mode": "all"}')
        )
    raw.close()
    return Store.open(path, clock=clock)


def synced_table_names() -> list[str]:
    return sorted(table.name for table in synced_tables())


def digest(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every synced table's rows, in a stable order (stored form, bit-exact)."""
    raw = store.raw_connection()
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in synced_table_names():
            rows = raw.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
            out[table] = [tuple(row) for row in rows]
        return out
    finally:
        raw.close()


def stored_fields(store: Store) -> dict[tuple[str, str, str], str]:
    """Every non-null field of every synced row as the journal writes it (JSON)."""
    raw = store.raw_connection()
    try:
        out: dict[tuple[str, str, str], str] = {}
        for table in synced_tables():
            names = [column.name for column in table.columns if column.name != "id"]
            selected = ", ".join(f'json_quote("{name}")' for name in names)
            for row in raw.execute(f'SELECT id, {selected} FROM "{table.name}"'):
                for name, value in zip(names, row[1:], strict=True):
                    if value != "null":
                        out[(table.name, row[0], name)] = value
        return out
    finally:
        raw.close()


def assert_matches_hub(store: Store, hub: Hub) -> None:
    """P1 against the hub: the desk's every field equals ``hub_state``'s value."""
    known = set(synced_table_names())
    expected = {key: value for key, value in hub.state().items() if key[0] in known}
    expected = {key: value for key, value in expected.items() if value not in (None, "null")}
    assert_same_fields(stored_fields(store), expected, "desk differs from the hub")


def assert_same_fields(
    found: Mapping[tuple[str, str, str], str | None],
    expected: Mapping[tuple[str, str, str], str | None],
    why: str,
) -> None:
    """Every field of ``found`` and ``expected`` equal; else ``why`` and the first ten
    that differ, as (found, expected)."""
    differ = {
        key: (found.get(key), expected.get(key))
        for key in found.keys() | expected.keys()
        if found.get(key) != expected.get(key)
    }
    assert not differ, f"{why} (desk, hub): {sorted(differ.items())[:10]}"


def assert_sound(store: Store) -> None:
    report = check_store(store)
    assert report.passed, [check.detail for check in report.checks if not check.passed]


def sync(store: Store, hub: Hub, label: str = "desk") -> SyncReport:
    return sync_once(store, hub.engine, label=label)


def quiesce(stores: list[Store], hub: Hub, *, labels: list[str] | None = None) -> int:
    """Sync every desk until a whole round moves nothing; the rounds it took."""
    limit = 2 * len(stores) + 2
    for round_ in range(1, limit + 1):
        moved = 0
        for index, store in enumerate(stores):
            report = sync(store, hub, labels[index] if labels else f"desk {index}")
            moved += report.pushed + report.pulled
        if moved == 0:
            return round_
    raise AssertionError(f"sync did not quiesce within {limit} rounds")


def review_items(store: Store) -> list[dict[str, Any]]:
    raw = store.raw_connection()
    raw.row_factory = store_sql.errors.Row
    try:
        return [
            dict(row)
            for row in raw.execute("SELECT * FROM review_item ORDER BY created_at, id").fetchall()
        ]
    finally:
        raw.close()


def field_value(store: Store, table: str, row_id: uuid.UUID | str, name: str) -> Any:
    key = row_id.hex if isinstance(row_id, uuid.UUID) else row_id
    raw = store.raw_connection()
    try:
        row = raw.execute(f'SELECT "{name}" FROM "{table}" WHERE id = ?', (key,)).fetchone()
    finally:
        raw.close()
    assert row is not None, f"{table} {key} is missing"
    return row[0]


def set_raw(store: Store, table: str, row_id: str, name: str, value: Any, actor: str) -> None:
    """One journalled raw UPDATE of one field (a desk edit, exactly as given)."""
    with store.write(None, actor) as session:
        session.execute(
            text(f'UPDATE "{table}" SET "{name}" = :v WHERE id = :id'), {"v": value, "id": row_id}
        )


# -- Seed data -------------------------------------------------------------------------


@dataclass
class Seed:
    practice_id: uuid.UUID
    staff_ids: list[uuid.UUID]
    patient_ids: list[uuid.UUID]
    case_ids: list[uuid.UUID]
    goal_ids: list[uuid.UUID]
    action_ids: list[uuid.UUID]
    extra: dict[str, Any] = field(default_factory=dict)


def _practices_file(path: Path) -> Path:
    from tests.conftest import epraccur_row

    path.write_text(epraccur_row("A81001", "THE DENSHAM SURGERY", "00K") + "\n")
    return path


NHS_NUMBERS = ("9434765919", "9434765870", "9434765862", "9434765854")


def seed(store: Store, folder: Path, *, patients_count: int = 2) -> Seed:
    """A small team's records made on one desk: practice, staff, people, cases, plans."""
    with store.write(None, "seed") as session:
        import_ods_practices(session, _practices_file(folder / "epraccur.csv"))
        practice_id = session.execute(text("SELECT id FROM practice")).scalar_one()
        practice_uuid = uuid.UUID(str(practice_id))
        staff_ids = [
            staff.add_staff(
                session,
                family_name=name,
                given_name="Sam",
                profession="gp",
                practice_codes=("A81001",),
            ).id
            for name in ("Butler", "Okafor", "Nowak")
        ]
    seeded = Seed(practice_uuid, staff_ids, [], [], [], [])
    for index in range(patients_count):
        with store.write(staff_ids[0], "seed") as session:
            person = patients.register_patient(
                session,
                nhs_number=NHS_NUMBERS[index],
                family_name=f"Person{index}",
                given_name="Alex",
                date_of_birth=dt.date(1940 + index, 1, 1),
                practice_id=practice_uuid,
            )
            case = cases.refer(session, person.id, source=ReferralSource.GP, reason="Falls")
            cases.accept(session, case.id, coordinator_id=staff_ids[0])
            goal = plans.add_goal(session, case.id, description="Walk to the shop")
            action = plans.add_action(
                session,
                case.id,
                description="Home visit",
                owner_id=staff_ids[0],
                due_on=TODAY + dt.timedelta(days=7),
            )
        seeded.patient_ids.append(person.id)
        seeded.case_ids.append(case.id)
        seeded.goal_ids.append(goal)
        seeded.action_ids.append(action.id)
    return seeded


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


__all__ = [
    "HUB_KINDS",
    "MAX_SKEW_MS",
    "Callable",
    "FakeClock",
    "Hub",
    "Seed",
    "assert_matches_hub",
    "assert_sound",
    "digest",
    "hub_engine",
    "new_store",
    "quiesce",
    "seed",
    "sync",
]
