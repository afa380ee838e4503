"""A full desk that generated a demo and pushed it to a new hub, made once per test run
(per worker) and copied for each test that needs one: the demo and its push take
seconds, a copy of the two a fraction of one.

A copy is what the test would have made itself. The desk is a copy of the store file
(closed, so its WAL is checkpointed into it) with its key kept in the test's keyring,
remembering the hub copy's address. A SQLite hub is a copy of its file. A PostgreSQL
hub is ``CREATE DATABASE … TEMPLATE``, then ``hub init`` again, which gives the copy
its own desk group (``mdt_desks_<copy>``), grants and row-level security policies as a
new hub has, and the template's group loses every grant in the copy: nothing in it
names the template's group (checked through ``pg_shdepend``).

The desk keeps the replica id it had when it pushed, and the hub copy knows it: a test
has one copy of it open, beside the new desks it joins itself, as a desk restored with
its hub would be. (Both engines' full desks are copies of one generated demo, so share
that id too; no test has both.)
"""

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.sync.client import META_HUB_ADDRESS, outbox_count, sync_once
from mdt_desk.sync.hub import hub_engine, init_hub, redacted
from mdt_desk.sync.hub_roles import desk_group_name
from tests import store_sql
from tests.shared_stores import copy_store, made_sealed
from tests.sync.support import FakeClock, Hub, drop_pg_hub, new_store, pg_admin, pg_url


@dataclass(frozen=True)
class _Synced:
    desk: Path  # closed, its key sealed by the shared stores' passphrase
    hub: str  # the SQLite hub's file, or the PostgreSQL hub's database


class SyncedDemos:
    """Made on first use: the demo desks (``people``, 14 practices, generated once for
    every engine) and, per engine, the hub each was pushed to."""

    def __init__(self, folder: Path, template: tuple[Path, bytes], today: dt.date) -> None:
        self._folder = folder
        # Every desk is a copy of the template, with its key.
        self._template, self._key = template
        self._today = today
        self._generated: dict[int, Path] = {}
        self._synced: dict[tuple[str, int], _Synced] = {}
        self._pg_templates: list[str] = []

    def hub_copy(self, kind: str, people: int, folder: Path) -> Iterator[Hub]:
        """A copy of the hub holding the ``people`` demo, for one test."""
        if kind == "sqlite":
            synced = self._synced_demo(kind, people)
            path = folder / f"hub-{uuid.uuid4().hex[:8]}.sqlite"
            shutil.copyfile(synced.hub, path)
            url = f"sqlite:///{path}"
            engine = hub_engine(url)
            yield Hub(kind, url, engine)
            engine.dispose()
            return
        admin = pg_admin()  # first: without a server, skipped (or failed in CI) as before
        synced = self._synced_demo(kind, people)
        name = f"hub_{uuid.uuid4().hex[:12]}"
        copy_engine: Engine | None = None
        try:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{synced.hub}"')
            url = pg_url(name)
            copy_engine = hub_engine(url)
            _own_desk_group(copy_engine, template=synced.hub)
            yield Hub(kind, url, copy_engine)
        finally:
            if copy_engine is not None:
                copy_engine.dispose()
            drop_pg_hub(admin, name)
            admin.close()

    def desk_copy(self, hub: Hub, people: int, path: Path) -> Store:
        """A copy of the full desk that pushed the ``people`` demo to ``hub``'s original,
        its key kept in this test's keyring, bound to ``hub`` (the caller closes it)."""
        synced = self._synced_demo(hub.kind, people)
        copy_store(synced.desk, self._key, path)
        raw = store_sql.connect(path)
        with raw:
            # The address its sync recorded, now the copy's (whose hub id is the one it
            # recorded: the copy's hub_meta is the original's).
            raw.execute(
                "UPDATE store_meta SET value = ? WHERE key = ?",
                (redacted(hub.engine.url), META_HUB_ADDRESS),
            )
        raw.close()
        return Store.open(path, clock=FakeClock())

    def close(self) -> None:
        if not self._pg_templates:
            return
        admin = pg_admin()
        for name in self._pg_templates:
            drop_pg_hub(admin, name)
        admin.close()

    def _generated_demo(self, people: int) -> Path:
        """A full desk holding the demo, never synced (the same for every engine)."""
        if people not in self._generated:
            path = self._folder / f"demo-{people}.sqlite"
            # As the desks fixture makes a desk: a copy of the template, a replica id of
            # its own, every practice.
            with made_sealed(), new_store(self._template, path, FakeClock(), self._key) as desk:
                generate_demo(desk, patients=people, seed=3, today=self._today, practices=14)
            _assert_checkpointed(path)
            self._generated[people] = path
        return self._generated[people]

    def _synced_demo(self, kind: str, people: int) -> _Synced:
        if (kind, people) not in self._synced:
            desk = self._folder / f"full-{kind}-{people}.sqlite"
            with made_sealed():
                copy_store(self._generated_demo(people), self._key, desk)
            if kind == "sqlite":
                hub = str(self._folder / f"hub-{people}.sqlite")
                url = f"sqlite:///{hub}"
            else:
                admin = pg_admin()
                hub = f"hub_template_{uuid.uuid4().hex[:12]}"
                admin.execute(f'CREATE DATABASE "{hub}"')
                admin.close()
                self._pg_templates.append(hub)
                url = pg_url(hub)
            engine = hub_engine(url)
            try:
                init_hub(engine)
                with made_sealed(), Store.open(desk, clock=FakeClock()) as full:
                    sync_once(full, engine, label="full desk")
                    assert outbox_count(full) == 0
            finally:
                engine.dispose()  # a template database must have no connections
            _assert_checkpointed(desk)
            if kind == "sqlite":
                _assert_checkpointed(Path(hub))
            self._synced[(kind, people)] = _Synced(desk, hub)
        return self._synced[(kind, people)]


def _assert_checkpointed(path: Path) -> None:
    """Closed cleanly: everything is in the one file, so copying it copies everything."""
    assert not path.with_name(path.name + "-wal").exists(), path


def _own_desk_group(engine: Engine, *, template: str) -> None:
    """Give a hub copied from ``template`` its own desk group, as a new hub has."""
    init_hub(engine)  # `hub init` again: the group named after this database, its grants
    old = f'"{desk_group_name(template)}"'
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {old}")
        run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {old}")
        run(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {old}")
        run(f"REVOKE ALL ON SCHEMA public FROM {old}")
        # Grants and policies record the roles they name here: none may be the template's.
        left = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_shdepend d, pg_database db, pg_roles r"
            " WHERE db.datname = current_database() AND r.rolname = %(group)s"
            " AND d.refobjid = r.oid AND (d.dbid = db.oid"
            " OR (d.classid = 'pg_database'::regclass AND d.objid = db.oid))",
            {"group": desk_group_name(template)},
        ).scalar_one()
    assert left == 0, f"{left} grants or policies of the copy name the template's desk group"
