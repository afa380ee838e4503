"""Least privilege on a PostgreSQL hub: a desk login may add to the log and read it, and
PostgreSQL itself refuses it anything else; a full sync as desk logins still converges."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mdt_desk.models.store import Store
from mdt_desk.services import plans, review
from mdt_desk.sync import credentials
from mdt_desk.sync.hub import HubError, hub_change, hub_engine, hub_metadata, init_hub
from mdt_desk.sync.hub_roles import (
    META_DESK_GROUP,
    add_desk_login,
    check_desk_name,
    desk_group_name,
)
from tests.sync.support import (
    Hub,
    assert_matches_hub,
    assert_sound,
    digest,
    field_value,
    pg_admin,
    pg_url,
    quiesce,
    review_items,
    seed,
)
from tests.test_cli import run

pytestmark = pytest.mark.slow

Desks = Callable[..., Store]


@dataclass
class PgHub:
    database: str
    admin_url: str
    admin: Hub
    logins: list[str]

    def desk_url(self, login: str) -> str:
        return self.admin_url.replace("//postgres@", f"//{login}@", 1)

    def desk_hub(self, login: str) -> Hub:
        url = self.desk_url(login)
        return Hub("postgresql", url, hub_engine(url))


@pytest.fixture
def pg_hub() -> Iterator[PgHub]:
    """A fresh PostgreSQL hub set up by its administrator; its roles are dropped after."""
    admin = pg_admin()
    database = f"hub_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{database}"')
    url = pg_url(database)
    engine = hub_engine(url)
    made = PgHub(database, url, Hub("postgresql", url, engine), [])
    try:
        init_hub(engine)
        yield made
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for login in made.logins:
            admin.execute(f'DROP ROLE IF EXISTS "{login}"')
        admin.execute(f'DROP ROLE IF EXISTS "{desk_group_name(database)}"')
        admin.close()


def _new_login(pg_hub: PgHub) -> str:
    name = f"desk_{uuid.uuid4().hex[:10]}"
    pg_hub.logins.append(name)
    add_desk_login(pg_hub.admin.engine, name)
    return name


def _log(hub: Hub) -> list[tuple[object, ...]]:
    with hub.engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(text("SELECT * FROM hub_change ORDER BY 1"))
        ]


# Each statement is something a stolen desk login might try on the log or its bookkeeping.
FORBIDDEN = {
    "update the log": "UPDATE hub_change SET value = '\"Forged\"'",
    "delete from the log": "DELETE FROM hub_change",
    "truncate the log": "TRUNCATE hub_change",
    "alter the log": "ALTER TABLE hub_change ADD COLUMN forged text",
    "drop the log": "DROP TABLE hub_change",
    "disable its triggers": "ALTER TABLE hub_change DISABLE TRIGGER ALL",
    "create a table": "CREATE TABLE forged (x integer)",
    "rewind the counter": "UPDATE hub_counter SET last_seq = 0",
    "rewrite the state": "UPDATE hub_state SET value = '\"Forged\"'",
    "delete the state": "DELETE FROM hub_state",
    "rewrite a desk's positions": "DELETE FROM hub_replica",
    "close the conflicts": "UPDATE hub_conflict SET resolved = 1",
    "change the hub's identity": "UPDATE hub_meta SET value = 'x'",
    "rewind the counter by its function": "SELECT hub_advance_counter(1)",
    "forge the state by its function": (
        "SELECT hub_put_state(ARRAY['patient'], ARRAY['p'], ARRAY['family_name'],"
        " ARRAY['\"Forged\"'], ARRAY[1::bigint], ARRAY['x'], ARRAY[1::bigint])"
    ),
}


def test_hub_init_gives_the_desk_group_append_and_read_only(pg_hub: PgHub) -> None:
    group = desk_group_name(pg_hub.database)
    init_hub(pg_hub.admin.engine)  # again: idempotent, nothing fails
    with pg_hub.admin.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT value FROM hub_meta WHERE key = :k"), {"k": META_DESK_GROUP}
            ).scalar_one()
            == group
        )
        assert (
            connection.execute(
                text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :g"), {"g": group}
            ).scalar_one()
            is False
        )
        granted = {
            (table.name, privilege)
            for table in hub_metadata.sorted_tables
            for privilege in (
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            )
            if connection.execute(
                text("SELECT has_table_privilege(:g, :t, :p)"),
                {"g": group, "t": table.name, "p": privilege},
            ).scalar_one()
        }
        assert not connection.execute(
            text("SELECT has_schema_privilege(:g, current_schema(), 'CREATE')"), {"g": group}
        ).scalar_one()
    privileges = {privilege for _, privilege in granted}
    assert privileges == {"SELECT", "INSERT"}
    assert {name for name, privilege in granted if privilege == "SELECT"} == {
        table.name for table in hub_metadata.sorted_tables
    }
    # INSERT on the log (and its seals, when the hub has them) and on hub_conflict only.
    appended = {name for name, privilege in granted if privilege == "INSERT"}
    assert "hub_change" in appended and "hub_conflict" in appended
    assert appended.isdisjoint({"hub_meta", "hub_counter", "hub_state", "hub_replica"})


def test_postgresql_refuses_a_desk_login_anything_but_append_and_read(
    pg_hub: PgHub, desks: Desks, tmp_path: Path
) -> None:
    desk_hub = pg_hub.desk_hub(_new_login(pg_hub))
    try:
        a = desks("a")
        seed(a, tmp_path)
        quiesce([a], desk_hub)  # the desk login itself filled the log
        before = _log(pg_hub.admin)
        assert before
        for attempt, statement in FORBIDDEN.items():
            with pytest.raises(DBAPIError) as refused, desk_hub.engine.begin() as connection:
                connection.execute(text(statement))
            assert isinstance(
                refused.value.orig,
                psycopg.errors.InsufficientPrivilege | psycopg.errors.RaiseException,
            ), f"{attempt}: {refused.value.orig!r}"
        assert _log(pg_hub.admin) == before
        with desk_hub.engine.connect() as connection:  # reading is allowed
            assert connection.execute(text("SELECT count(*) FROM hub_change")).scalar_one() == len(
                before
            )
    finally:
        desk_hub.engine.dispose()


@pytest.mark.skipif(shutil.which("psql") is None, reason="needs the psql client")
@pytest.mark.parametrize(
    "statement",
    [
        FORBIDDEN["update the log"],
        FORBIDDEN["delete from the log"],
        FORBIDDEN["truncate the log"],
        FORBIDDEN["alter the log"],
    ],
    ids=["update", "delete", "truncate", "alter"],
)
def test_psql_as_a_desk_login_cannot_change_the_log(pg_hub: PgHub, statement: str) -> None:
    login = _new_login(pg_hub)
    with pg_hub.admin.engine.begin() as connection:  # one row, written as the hub would
        connection.execute(
            hub_change.insert(),
            {
                "server_seq": 1,
                "origin_site": "a",
                "origin_seq": 1,
                "tx_id": "t",
                "hlc": 1,
                "base_hlc": 0,
                "base_site": "",
                "row_base_hlc": 0,
                "entity": "patient",
                "row_id": "p",
                "field": "family_name",
                "op": "set",
                "value": '"Smith"',
                "schema_version": 3,
                "actor_id": None,
                "actor_label": "desk",
                "recorded_at": "2026-12-01",
                "payload_hash": "h",
            },
        )
        connection.execute(text("SELECT hub_advance_counter(1)"))
    server = pg_admin()
    host, port = server.info.host, server.info.port
    server.close()
    done = subprocess.run(
        [
            "psql",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            f"host={host} port={port} dbname={pg_hub.database} user={login}",
            "-c",
            statement,
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "permission denied" in done.stderr or "must be owner" in done.stderr
    read = subprocess.run(
        [
            "psql",
            "-X",
            "-At",
            f"host={host} port={port} dbname={pg_hub.database} user={login}",
            "-c",
            "SELECT value FROM hub_change",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert read.returncode == 0 and read.stdout.strip() == '"Smith"'


def test_two_desks_sync_and_converge_as_desk_logins(
    pg_hub: PgHub, desks: Desks, tmp_path: Path
) -> None:
    hub_a, hub_b = (pg_hub.desk_hub(_new_login(pg_hub)) for _ in range(2))
    try:
        a, b = desks("a"), desks("b")
        seeded = seed(a, tmp_path)
        quiesce([a], hub_a)
        quiesce([b], hub_b)
        action_id = seeded.action_ids[0]
        # The same field changed on both desks: a conflict, recorded by a desk login.
        for store, words in ((a, "From A"), (b, "From B")):
            with store.write(None, words) as session:
                plans.update_action(session, action_id, description=words)
        for _ in range(2):
            quiesce([a], hub_a)
            quiesce([b], hub_b)
        item = review_items(b)[0]
        with b.write(None, "Reviewer") as session:
            review.resolve(
                session, uuid.UUID(item["id"]), review.Resolution.KEEP_OTHER, resolved_by_id=None
            )
        for _ in range(2):
            quiesce([a], hub_a)
            quiesce([b], hub_b)
        assert digest(a) == digest(b)
        for store in (a, b):
            assert_matches_hub(store, hub_a)
            assert_sound(store)
            with store.read() as session:
                assert review.list_open_items(session) == []
        assert field_value(a, "action", action_id, "description") == json.loads(item["other_value"])
        with pg_hub.admin.engine.connect() as connection:
            assert connection.execute(
                text("SELECT resolved FROM hub_conflict")
            ).scalars().all() == [1]
            counter = connection.execute(text("SELECT last_seq FROM hub_counter")).scalar_one()
            assert (
                counter
                == connection.execute(text("SELECT max(server_seq) FROM hub_change")).scalar_one()
            )
            positions = connection.execute(
                text("SELECT last_origin_seq, last_pull_seq FROM hub_replica ORDER BY site_id")
            ).all()
        assert len(positions) == 2 and all(pull == counter for _, pull in positions)
    finally:
        hub_a.engine.dispose()
        hub_b.engine.dispose()


# -- mdt-desk hub add-desk -----------------------------------------------------------------


def test_hub_add_desk_prints_the_password_and_how_to_keep_it(
    pg_hub: PgHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = f"ward_{uuid.uuid4().hex[:8]}"
    pg_hub.logins.append(name)
    store = str(tmp_path / "desk.sqlite")
    status, output = run("hub", "add-desk", pg_hub.admin_url, name, "--store", store)
    assert status == 0, output
    desk_url = pg_hub.desk_url(name)
    lines = output.splitlines()
    password = lines[lines.index(next(line for line in lines if "shown this once" in line)) + 1]
    password = password.strip()
    assert len(password) >= 40
    assert f"mdt-desk hub password {desk_url}" in output
    account = credentials.account(desk_url)
    assert f'keyring set "{credentials.SERVICE}" "{account}"' in output
    assert f"mdt-desk sync --hub {desk_url}" in output
    with pg_hub.admin.engine.connect() as connection:
        assert connection.execute(
            text("SELECT pg_has_role(:login, :group, 'MEMBER')"),
            {"login": name, "group": desk_group_name(pg_hub.database)},
        ).scalar_one()
        assert connection.execute(
            text("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = :n"),
            {"n": name},
        ).scalar_one()
    # Following the printed step puts the password where `sync --hub` looks for it.
    monkeypatch.setattr("getpass.getpass", lambda prompt: password)
    status, _ = run("hub", "password", desk_url, "--store", store)
    assert status == 0 and credentials.load_password(desk_url) == password
    # The same name again is refused, and the first login is untouched.
    status, again = run("hub", "add-desk", pg_hub.admin_url, name, "--store", store)
    assert status == 2 and password not in again


def test_hub_add_desk_json(pg_hub: PgHub, tmp_path: Path) -> None:
    name = f"ward_{uuid.uuid4().hex[:8]}"
    pg_hub.logins.append(name)
    status, output = run(
        "hub", "add-desk", pg_hub.admin_url, name, "--json", "--store", str(tmp_path / "d.sqlite")
    )
    assert status == 0
    answer = json.loads(output)
    assert answer["login"] == name and answer["group"] == desk_group_name(pg_hub.database)
    assert answer["keyring_account"] == credentials.account(pg_hub.desk_url(name))
    assert len(answer["password"]) >= 40


@pytest.mark.parametrize(
    "name", ["Ward 3", "3ward", "pg_desk", "mdt_desks_x", "w", "desk;drop role x", "x" * 64]
)
def test_hub_add_desk_refuses_a_bad_name(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run(
        "hub",
        "add-desk",
        "postgresql+psycopg://admin@db.invalid/team",
        name,
        "--store",
        str(tmp_path / "d.sqlite"),
    )
    assert status == 2 and output == ""
    assert "cannot be a desk login's name" in capsys.readouterr().err


def test_hub_add_desk_on_a_sqlite_hub_says_it_is_for_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    init_hub(hub_engine(url))
    status, _ = run("hub", "add-desk", url, "ward3", "--store", str(tmp_path / "d.sqlite"))
    assert status == 2
    assert "PostgreSQL hub feature" in capsys.readouterr().err


def test_add_desk_login_refuses_a_hub_without_a_desk_group(pg_hub: PgHub) -> None:
    with pg_hub.admin.engine.begin() as connection:
        connection.execute(text("DELETE FROM hub_meta WHERE key = :k"), {"k": META_DESK_GROUP})
    with pytest.raises(HubError, match="hub init"):
        add_desk_login(pg_hub.admin.engine, "ward3_desk")


def test_hub_add_desk_never_waits_for_a_terminal(pg_hub: PgHub, tmp_path: Path) -> None:
    name = f"ward_{uuid.uuid4().hex[:8]}"
    pg_hub.logins.append(name)
    environment = {**os.environ, "MDT_DESK_STORE_PASSPHRASE": "not used"}
    environment.pop("MDT_DESK_HUB_PASSWORD", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mdt_desk.cli",
            "hub",
            "add-desk",
            pg_hub.admin_url,
            name,
            "--store",
            str(tmp_path / "d.sqlite"),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    assert "mdt-desk hub password" in done.stdout and "Traceback" not in done.stderr


def test_hub_init_by_a_login_that_cannot_make_roles_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = pg_admin()
    owner = f"owner_{uuid.uuid4().hex[:10]}"
    database = f"hub_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE ROLE "{owner}" LOGIN NOCREATEROLE')
    admin.execute(f'CREATE DATABASE "{database}" OWNER "{owner}"')
    url = pg_url(database).replace("//postgres@", f"//{owner}@", 1)
    try:
        status, output = run("hub", "init", url, "--store", str(tmp_path / "d.sqlite"))
        error = capsys.readouterr().err
        assert status == 2 and output == ""
        assert "CREATEROLE" in error and "nothing was changed" in error
        assert "Traceback" not in error
        engine = hub_engine(pg_url(database))
        try:
            with engine.connect() as connection:
                assert (
                    connection.execute(
                        text("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'hub_%'")
                    ).scalar_one()
                    == 0
                )
        finally:
            engine.dispose()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{owner}"')
        admin.close()


@given(st.text(max_size=80))
def test_a_desk_name_is_either_refused_or_a_plain_identifier(name: str) -> None:
    """Whatever an administrator types, only a plain lower-case identifier reaches SQL."""
    try:
        check_desk_name(name)
    except HubError as error:
        assert "cannot be a desk login's name" in str(error)
    else:
        assert name.isascii() and name.isidentifier() and name == name.lower()
        assert 2 <= len(name) <= 63 and not name.startswith(("pg_", "mdt_desks_"))
