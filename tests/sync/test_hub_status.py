"""`mdt-desk hub status`: the hub's desks, when each was last seen, how far behind each
is, and the size of the log; on both engines, on an older hub, and as a desk login."""

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.sync.client import META_PULL_CURSOR
from mdt_desk.sync.hub import STATUS_COLUMNS, hub_engine, init_hub, read_hub_info
from mdt_desk.sync.status import ALL_PRACTICES, read_hub_status
from tests.sync.support import Hub, seed, sync
from tests.sync.test_hub_roles import PgHub, _new_login, pg_hub  # noqa: F401 (a fixture)

Desks = Callable[..., Store]


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def _pulled_through(store: Store) -> int:
    return int(store.get_meta(META_PULL_CURSOR) or 0)


def _two_desks_one_behind(desks: Desks, hub: Hub, tmp_path: Path) -> tuple[Store, Store, int]:
    """Ward A makes records and syncs; Ward B joins; then A edits again: B is behind."""
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path)
    sync(a, hub, "Ward A")
    sync(b, hub, "Ward B")  # B has nothing to send: known to the hub by its pull alone
    before = hub.last_seq()
    for words in ("Phone the daughter", "Book the OT"):
        with a.write(None, words) as session:
            plans.update_action(session, seeded.action_ids[0], description=words)
    sync(a, hub, "Ward A")
    missed = hub.last_seq() - before
    assert missed >= 2
    return a, b, missed


@pytest.mark.slow
def test_hub_status_names_each_desk_and_how_far_behind_it_is(
    desks: Desks, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    a, b, missed = _two_desks_one_behind(desks, hub, tmp_path)

    code, out = _cli("hub", "status", hub.url, "--json")
    assert code == 0, capsys.readouterr().err
    report = json.loads(out)
    assert report["log"] == {
        "changes": hub.change_count(),
        "last_seq": hub.last_seq(),
        "size_bytes": report["log"]["size_bytes"],
    }
    if hub.kind == "postgresql":
        assert report["log"]["size_bytes"] > 8192  # the log's table and its indexes
    else:
        assert report["log"]["size_bytes"] is None
    assert report["records_pulls"] is True
    by_label = {desk["label"]: desk for desk in report["desks"]}
    assert set(by_label) == {"Ward A", "Ward B"}
    ward_a, ward_b = by_label["Ward A"], by_label["Ward B"]
    assert ward_a["id"] == a.replica_id.hex and ward_b["id"] == b.replica_id.hex
    assert ward_a["behind"] == 0 and ward_a["pulled_through"] == hub.last_seq()
    assert ward_b["behind"] == missed
    assert ward_b["pulled_through"] == _pulled_through(b) == hub.last_seq() - missed
    assert ward_b["last_push"] is None  # it never pushed, yet the hub knows it
    for desk in (ward_a, ward_b):
        assert desk["covers"] == ALL_PRACTICES
        assert desk["schema_version"] > 0
        seen = dt.datetime.fromisoformat(desk["last_seen"])
        assert seen.utcoffset() == dt.timedelta(0)
        assert started <= seen <= dt.datetime.now(dt.UTC)
        assert desk["last_seen"] == max(t for t in (desk["last_push"], desk["last_pull"]) if t)
        assert desk["login"] == ("postgres" if hub.kind == "postgresql" else None)
    assert ward_a["last_push"] is not None and ward_a["last_pull"] >= ward_a["last_push"]
    # Most recently seen first: A synced last.
    assert [desk["label"] for desk in report["desks"]] == ["Ward A", "Ward B"]

    code, out = _cli("hub", "status", hub.url)
    assert code == 0
    lines = out.splitlines()
    assert f"{hub.change_count()} changes in the log (through {hub.last_seq()})" in lines[0]
    assert "2 desks" in lines[0]
    assert lines[1].split()[:3] == ["Desk", "Id", "Login"]
    row_b = next(line for line in lines if line.startswith("Ward B"))
    assert b.replica_id.hex[:8] in row_b and ALL_PRACTICES in row_b
    assert row_b.split()[-2:] == [str(missed), str(hub.last_seq() - missed)]
    assert "password" not in out


def test_hub_status_of_an_empty_hub_and_of_what_is_not_a_hub(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli("hub", "status", hub.url, "--json")
    assert code == 0
    assert json.loads(out)["desks"] == [] and json.loads(out)["log"]["changes"] == 0

    missing = f"sqlite:///{tmp_path / 'no-such-hub.sqlite'}"
    code, out = _cli("hub", "status", missing)
    assert code == 2 and out == ""
    assert "There is no team hub at" in capsys.readouterr().err
    assert not (tmp_path / "no-such-hub.sqlite").exists()

    other = tmp_path / "other.sqlite"
    engine = hub_engine(f"sqlite:///{other}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (x text)")
    engine.dispose()
    code, _ = _cli("hub", "status", f"sqlite:///{other}", "--json")
    error = capsys.readouterr().err
    assert code == 2 and "is not an MDT Desk team hub" in error and "Traceback" not in error


def test_hub_status_of_an_unreachable_hub_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _cli("hub", "status", "postgresql+psycopg://nobody@127.0.0.1:1/team")
    error = capsys.readouterr().err
    assert code == 2 and out == ""
    assert "is not reachable" in error and "Traceback" not in error


def _make_older(hub: Hub) -> None:
    """The hub as an earlier version set it up: no status columns, no status marker."""
    with hub.engine.begin() as connection:
        for name in STATUS_COLUMNS:
            connection.exec_driver_sql(f"ALTER TABLE hub_replica DROP COLUMN {name}")
        connection.execute(text("DELETE FROM hub_meta WHERE key = 'records_pulls'"))


def test_an_older_sqlite_hub_gains_pull_times_at_a_desks_next_sync(
    desks: Desks, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old-hub.sqlite'}"
    hub = Hub("sqlite", url, hub_engine(url))
    try:
        init_hub(hub.engine)
        _make_older(hub)
        assert read_hub_info(hub.engine).records_pulls is False
        old = read_hub_status(hub.engine)
        assert old.records_pulls is False and old.desks == ()
        code, out = _cli("hub", "status", url)
        assert code == 0 and "run `mdt-desk hub init`" in out

        a = desks("a")
        seed(a, tmp_path)
        sync(a, hub, "Ward A")  # the desk's own file: it may add the columns itself
        status = read_hub_status(hub.engine)
        assert status.records_pulls is True
        (desk,) = status.desks
        assert desk.last_pull is not None and desk.behind == 0
    finally:
        hub.engine.dispose()


def test_a_desk_login_that_never_pushed_is_seen_with_its_login_and_an_older_hub_upgrades(
    pg_hub: PgHub,  # noqa: F811
    desks: Desks,
    tmp_path: Path,
) -> None:
    login_a, login_b = _new_login(pg_hub), _new_login(pg_hub)
    hub_a, hub_b = pg_hub.desk_hub(login_a), pg_hub.desk_hub(login_b)
    try:
        # A hub set up before pull times: the desk functions of that version, no columns.
        admin = pg_hub.admin
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION hub_record_push(desk text, desk_label text,"
                " desk_schema integer, last_origin bigint, seen text) RETURNS void"
                " LANGUAGE sql SECURITY DEFINER AS $$ INSERT INTO hub_replica (site_id, label,"
                " schema_version, last_origin_seq, last_pull_seq, last_seen) VALUES (desk,"
                " desk_label, desk_schema, last_origin, 0, seen) ON CONFLICT (site_id) DO"
                " UPDATE SET label = excluded.label, schema_version = excluded.schema_version,"
                " last_origin_seq = excluded.last_origin_seq, last_seen = excluded.last_seen $$"
            )
            connection.exec_driver_sql("DROP FUNCTION hub_note_pull")
        _make_older(admin)
        a, b = desks("a"), desks("b")
        seed(a, tmp_path)
        sync(a, hub_a, "Ward A")  # a desk login cannot upgrade the hub: it syncs as before
        sync(b, hub_b, "Ward B")
        old = read_hub_status(admin.engine)
        assert [desk.label for desk in old.desks] == ["Ward A"]  # B never pushed
        assert old.desks[0].last_pull is None and old.desks[0].behind == 0

        code, _ = _cli("hub", "init", pg_hub.admin_url)  # the administrator's upgrade
        assert code == 0
        sync(b, hub_b, "Ward B")
        sync(a, hub_a, "Ward A")
        status = read_hub_status(admin.engine)
        by_label = {desk.label: desk for desk in status.desks}
        assert by_label["Ward B"].login == login_b and by_label["Ward B"].last_push is None
        assert by_label["Ward B"].last_pull is not None and by_label["Ward B"].behind == 0
        assert by_label["Ward A"].login == login_a
        assert status.log_bytes is not None and status.changes == status.last_seq
        # A desk login may read the status too (it holds no patient data).
        code, out = _cli("hub", "status", pg_hub.desk_url(login_b), "--json")
        assert code == 0
        assert {desk["login"] for desk in json.loads(out)["desks"]} == {login_a, login_b}
    finally:
        hub_a.engine.dispose()
        hub_b.engine.dispose()


def test_status_lists_a_desk_that_only_pulled_with_nothing_to_send(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    sync(a, hub, "Reader")
    (desk,) = read_hub_status(hub.engine).desks
    assert desk.label == "Reader" and desk.last_push is None and desk.last_pull is not None
    assert desk.site_id == a.replica_id.hex and uuid.UUID(desk.site_id)
