"""The journal's hash chains across the team: the hub keeps each desk's seals, refuses a
push that breaks its desk's chain, `hub verify` walks the whole log, and a desk sets
aside (and raises an alarm for) a record that fails its origin's chain. Both engines;
on PostgreSQL the log is tampered with through `psql`, as an administrator would."""

import io
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models.seal import GENESIS, make_seal
from mdt_desk.sync import client
from mdt_desk.sync.client import chain_alarms, outbox_seals, read_outbox
from mdt_desk.sync.hub import HubError, hub_meta, hub_now_ms, init_hub
from mdt_desk.sync.push import SealRefusedError, push_changes
from mdt_desk.sync.verify import verify_hub
from tests import store_sql
from tests.sync.support import Hub, assert_sound, quiesce, seed, set_raw, sync

pytestmark = pytest.mark.slow


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def _tamper(hub: Hub, *statements: str) -> None:
    """Change the hub's tables behind MDT Desk's back: `psql` on PostgreSQL (as someone
    with the database's credentials would), the file itself on SQLite."""
    if hub.kind == "postgresql":
        url = hub.url.replace("postgresql+psycopg://", "postgresql://", 1)
        for statement in statements:
            subprocess.run(
                ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement],
                check=True,
                capture_output=True,
                timeout=60,
            )
        return
    with hub.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def _hub_row(hub: Hub, where: str) -> tuple[int, int, str]:
    with hub.engine.connect() as connection:
        server_seq, origin_seq, row_id = connection.execute(
            text(f"SELECT server_seq, origin_seq, row_id FROM hub_change WHERE {where}")
        ).one()
    return int(server_seq), int(origin_seq), str(row_id)


def _family_names(store) -> set[str]:
    raw = store.raw_connection()
    try:
        return {str(row[0]) for row in raw.execute("SELECT family_name FROM patient")}
    finally:
        raw.close()


@pytest.fixture
def pushed(desks, hub: Hub, tmp_path: Path):
    """Desk A's team records at the hub, then one edit of its own: a person renamed."""
    a = desks("a")
    seeded = seed(a, tmp_path)
    person = seeded.patient_ids[0].hex
    sync(a, hub, "desk A")
    set_raw(a, "patient", person, "family_name", "Okafor", "Dr Grey")
    sync(a, hub, "desk A")
    return a, person


def test_a_team_s_hub_holds_every_chain_review_items_included(desks, hub: Hub, tmp_path) -> None:
    """Two desks edit one field at once: the hub appends review items under its own
    id and seals them too; `hub verify` holds, no desk raises an alarm, both pass check."""
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path)
    quiesce([a, b], hub)
    person = seeded.patient_ids[0].hex
    set_raw(a, "patient", person, "address", "1 Mill Lane", "Dr Grey")
    set_raw(b, "patient", person, "address", "9 Quay Street", "Nurse Lee")
    quiesce([a, b], hub)
    result = verify_hub(hub.engine)
    assert result.holds, result.breaks
    assert "the team hub (review items)" in {result.name(origin) for origin in result.desks}
    with hub.engine.connect() as connection:
        hub_sealed = connection.execute(
            text(
                "SELECT count(*) FROM hub_seal WHERE origin_site ="
                " (SELECT value FROM hub_meta WHERE key = 'hub_id')"
            )
        ).scalar_one()
    assert hub_sealed >= 1
    assert chain_alarms(a) == [] and chain_alarms(b) == []
    assert_sound(a)
    assert_sound(b)
    code, out = _cli("hub", "verify", hub.url)
    assert code == 0 and "every chain holds" in out


@pytest.mark.parametrize("kind", ["value", "author", "time", "inserted"])
def test_tampering_with_the_hub_log_is_named_by_hub_verify_and_kept_from_a_new_desk(
    pushed, desks, hub: Hub, kind: str
) -> None:
    a, person = pushed
    server_seq, origin_seq, _ = _hub_row(
        hub,
        f"row_id = '{person}' AND field = 'family_name' AND actor_label = 'Dr Grey'",
    )
    statement = {
        "value": "UPDATE hub_change SET value = '\"Forged\"'",
        "author": "UPDATE hub_change SET actor_label = 'Dr Forger'",
        "time": "UPDATE hub_change SET recorded_at = '2025-01-01 09:00:00.000000'",
    }.get(kind)
    if statement is not None:
        _tamper(hub, f"{statement} WHERE server_seq = {server_seq}")
    else:
        # A backdated change slipped in under desk A's name, before its first one.
        origin_seq = 0
        _tamper(
            hub,
            "INSERT INTO hub_change (server_seq, origin_site, origin_seq, tx_id, hlc, base_hlc,"
            " base_site, row_base_hlc, entity, row_id, field, op, value, schema_version,"
            " actor_id, actor_label, recorded_at, payload_hash)"
            f" SELECT server_seq + 1000000, origin_site, 0, '{uuid.uuid4().hex}', hlc, 0, '',"
            " 0, entity, row_id, 'date_of_death', 'set', '\"2025-01-01\"', schema_version,"
            " actor_id, actor_label, '2025-01-01 09:00:00.000000', ''"
            f" FROM hub_change WHERE server_seq = {server_seq}",
        )
    code, out = _cli("hub", "verify", hub.url)
    assert code == 1, out
    assert "BREAK desk A" in out and f"sequence {origin_seq}" in out
    field = "date_of_death" if kind == "inserted" else "family_name"
    assert f"patient {person} {field}" in out

    # A desk that joins afterwards takes in everything else, but not that record.
    c = desks("c")
    report = sync(c, hub, "desk C")
    assert report.skipped_tampered >= 1
    assert "Forged" not in _family_names(c)
    # The altered transaction is set aside whole; an inserted one leaves A's own be.
    assert ("Okafor" in _family_names(c)) == (kind == "inserted")
    raw = c.raw_connection()
    try:
        assert raw.execute(
            "SELECT count(*) FROM patient WHERE date_of_death IS NOT NULL"
        ).fetchone() == (0,)
    finally:
        raw.close()
    (alarm,) = chain_alarms(c)
    assert alarm.origin == a.replica_id.hex and alarm.origin_label == "desk A"
    assert alarm.origin_seq == origin_seq and alarm.record == f"patient {person} {field}"
    assert "desk A" in alarm.describe() and f"sequence {origin_seq}" in alarm.describe()


def test_a_change_slipped_in_under_a_sealed_transaction_s_id_is_caught(
    pushed, desks, hub: Hub
) -> None:
    """A row added under the id of a transaction the hub has sealed, but beyond that
    seal's range: the seal's own rows still match it, so only the range tells."""
    _a, person = pushed
    server_seq, origin_seq, _ = _hub_row(
        hub, f"row_id = '{person}' AND field = 'family_name' AND actor_label = 'Dr Grey'"
    )
    forged_seq = origin_seq + 1_000_000
    _tamper(
        hub,
        "INSERT INTO hub_change (server_seq, origin_site, origin_seq, tx_id, hlc, base_hlc,"
        " base_site, row_base_hlc, entity, row_id, field, op, value, schema_version,"
        " actor_id, actor_label, recorded_at, payload_hash)"
        f" SELECT server_seq + 1000000, origin_site, {forged_seq}, tx_id, hlc, 0, '',"
        " 0, entity, row_id, 'date_of_death', 'set', '\"2025-01-01\"', schema_version,"
        " actor_id, actor_label, recorded_at, ''"
        f" FROM hub_change WHERE server_seq = {server_seq}",
    )
    code, out = _cli("hub", "verify", hub.url)
    assert code == 1, out
    assert f"sequence {forged_seq}" in out and f"patient {person} date_of_death" in out
    assert "outside its sealed range" in out

    c = desks("c")
    report = sync(c, hub, "desk C")
    assert report.skipped_tampered >= 1
    raw = c.raw_connection()
    try:
        assert raw.execute(
            "SELECT count(*) FROM patient WHERE date_of_death IS NOT NULL"
        ).fetchone() == (0,)
    finally:
        raw.close()
    alarms = chain_alarms(c)
    assert [alarm.record for alarm in alarms] == [f"patient {person} date_of_death"]
    assert "outside its sealed range" in alarms[0].reason


def test_sync_on_the_command_line_prints_the_alarm(pushed, hub: Hub, tmp_path: Path) -> None:
    _a, person = pushed
    server_seq, origin_seq, _ = _hub_row(
        hub, f"row_id = '{person}' AND field = 'family_name' AND actor_label = 'Dr Grey'"
    )
    _tamper(hub, f"UPDATE hub_change SET value = '\"Forged\"' WHERE server_seq = {server_seq}")
    code, out = _cli(
        "sync", "--store", str(tmp_path / "new-desk.sqlite"), "--hub", hub.url, "--practices", "all"
    )
    assert code == 0, out
    assert "ALARM" in out and "fail the tamper check" in out
    assert f"sequence {origin_seq}" in out and f"patient {person} family_name" in out


def test_a_push_whose_journal_was_altered_is_refused_with_nothing_written(
    desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    seed(a, tmp_path)
    raw = store_sql.connect(a.path, isolation_level=None)
    try:
        raw.execute("BEGIN")
        raw.execute("DROP TRIGGER journal_change_no_update")
        raw.execute(
            "UPDATE journal_change SET new_value = '\"Forged\"' WHERE origin_seq ="
            " (SELECT min(origin_seq) FROM journal_change WHERE field = 'family_name')"
        )
        raw.execute("COMMIT")
    finally:
        raw.close()
    with pytest.raises(HubError, match=r"refused this desk's changes.*does not match its seal"):
        sync(a, hub, "desk A")
    assert hub.change_count() == 0
    with hub.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM hub_seal")).scalar_one() == 0


def test_a_push_that_does_not_continue_the_hub_s_chain_is_refused(pushed, hub: Hub) -> None:
    a, person = pushed
    set_raw(a, "patient", person, "address", "2 Mill Lane", "Dr Grey")
    after = int(a.get_meta(client.META_PUSHED_THROUGH) or 0)
    batch = read_outbox(a, after)
    (seal,) = outbox_seals(a, batch)
    rebased = make_seal(
        origin=seal.origin,
        chain_seq=1,
        tx_id=seal.tx_id,
        changes=[(c.origin_seq, c.entity, c.row_id, c.field, c.op, c.value) for c in batch],
        actor_id=seal.actor_id,
        actor_label=seal.actor_label,
        recorded_at=seal.recorded_at,
        hlc=seal.hlc,
        schema_version=seal.schema_version,
        prev_hash=GENESIS,
    )
    before = hub.change_count()
    for forged in (rebased, replace(seal, actor_label="Dr Forger")):
        with pytest.raises(SealRefusedError, match="refused this desk's changes"):
            push_changes(
                hub.engine,
                site=a.replica_id.hex,
                label="desk A",
                schema_version=7,
                prev_seq=client._previous_own_seq(a, batch[0].origin_seq),
                changes=batch,
                now_ms=hub_now_ms(hub.engine),
                seals=[forged],
            )
    assert hub.change_count() == before
    assert sync(a, hub, "desk A").pushed == len(batch)  # the true seal goes through


def test_a_hub_from_before_seals_gains_them_with_its_history_below_a_boundary(
    desks, hub: Hub, tmp_path: Path
) -> None:
    """`hub init` on a hub set up before seals adds the table; what it held is counted
    as from before the chain, a desk that joins takes it in without alarm, and chains
    go on from there."""
    a = desks("a")
    seeded = seed(a, tmp_path)
    sync(a, hub, "desk A")
    with hub.engine.begin() as connection:  # the hub as an earlier version left it
        connection.exec_driver_sql("DROP TABLE hub_seal")
        connection.execute(hub_meta.delete().where(hub_meta.c.key == "sealed_after_seq"))
    with pytest.raises(HubError, match="does not keep seals yet"):
        verify_hub(hub.engine)
    code, _ = _cli("hub", "init", hub.url)
    assert code == 0
    result = verify_hub(hub.engine)
    assert result.holds and result.sealed == 0 and result.before_seals == hub.change_count()
    c = desks("c")
    sync(c, hub, "desk C")
    set_raw(a, "patient", seeded.patient_ids[0].hex, "address", "3 Mill Lane", "Dr Grey")
    sync(a, hub, "desk A")
    sync(c, hub, "desk C")
    assert chain_alarms(c) == []
    assert_sound(c)
    assert verify_hub(hub.engine).holds


def test_a_desk_syncing_with_an_old_hub_adds_the_seal_table_itself(
    desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    seed(a, tmp_path)
    with hub.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE hub_seal")
        connection.execute(hub_meta.delete().where(hub_meta.c.key == "sealed_after_seq"))
    sync(a, hub, "desk A")
    assert verify_hub(hub.engine).holds
    init_hub(hub.engine)  # idempotent
    assert verify_hub(hub.engine).sealed > 0


def _many_practices(store, count: int) -> None:
    """One transaction of ``count`` new records (about 9 fields each): pushed in batches."""
    with store.write(None, "bulk") as session:
        for n in range(count):
            session.execute(
                text(
                    "INSERT INTO practice (id, ods_code, name, address, postcode, phone, status,"
                    " commissioner_code, created_at, updated_at) VALUES (:id, :code, :name,"
                    " 'High Street', 'TS18 1HU', '01642 000000', 'active', '00K',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"id": uuid.uuid4().hex, "code": f"Y{n:05d}", "name": f"Surgery {n}"},
            )


def test_a_transaction_sent_in_several_pushes_waits_for_its_seal_then_arrives_whole(
    desks, hub: Hub, tmp_path: Path
) -> None:
    """A large transaction goes in batches and its seal with the last; a desk that pulls
    in between waits for it (no alarm), then takes it whole over several pages."""
    a, b = desks("a"), desks("b")
    seed(a, tmp_path, patients_count=0)
    quiesce([a, b], hub)
    _many_practices(a, 300)
    after = int(a.get_meta(client.META_PUSHED_THROUGH) or 0)
    first = read_outbox(a, after)
    assert outbox_seals(a, first) == []  # the transaction goes on past this batch
    push_changes(
        hub.engine,
        site=a.replica_id.hex,
        label="desk A",
        schema_version=7,
        prev_seq=client._previous_own_seq(a, first[0].origin_seq),
        changes=first,
        now_ms=hub_now_ms(hub.engine),
    )
    with a.write_session() as session:  # A stops here (a crash), the rest unsent
        a.set_meta(session, client.META_PUSHED_THROUGH, str(first[-1].origin_seq))
    report = sync(b, hub, "desk B")
    assert report.pulled == 0 and chain_alarms(b) == []
    sync(a, hub, "desk A")
    report = client.SyncReport()
    client.pull_all(b, hub.engine, report, page_size=250)
    assert report.skipped_tampered == 0 and chain_alarms(b) == []
    raw = b.raw_connection()
    try:
        assert raw.execute("SELECT count(*) FROM practice WHERE ods_code LIKE 'Y%'").fetchone() == (
            300,
        )
    finally:
        raw.close()
    assert_sound(b)
    assert verify_hub(hub.engine).holds
