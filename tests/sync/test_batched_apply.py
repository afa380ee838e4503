"""Taking records in, batched: a pulled transaction's records are written with one
statement per table and set of fields (``client._written_together``); record by record
stays the fallback. The two must store and journal exactly the same, and a record that
fails its constraints must still be set aside alone, with the rest of its transaction
stored."""

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mdt_desk.models.replication import RemoteTransaction, enter_remote, replication_session
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.sync import client
from mdt_desk.sync.protocol import Change
from mdt_desk.sync.push import push_changes
from tests.sync.support import Hub, digest, seed, sync

Desks = Callable[..., Store]


def _remote_journal(store: Store) -> list[tuple[object, ...]]:
    """Every journal row this desk wrote for other desks' transactions, by content."""
    me = store.replica_id.hex
    with store.read() as session:
        rows = session.execute(
            text(
                "SELECT t.tx_uuid, c.entity, c.row_id, c.field, c.op, c.old_value, c.new_value"
                " FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
                " WHERE t.replica_id <> :me"
            ),
            {"me": me},
        ).all()
    return sorted(tuple(str(value) for value in row) for row in rows)


@pytest.mark.slow
@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # the desk side is under test
def test_batched_and_record_by_record_store_and_journal_the_same(
    desks: Desks, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = desks("a")
    generate_demo(a, patients=150, seed=5)
    sync(a, hub)
    batched = desks("batched")
    report = sync(batched, hub)
    assert report.applied > 5_000
    with monkeypatch.context() as patched:
        patched.setattr(client, "_written_together", lambda _session, _by_row: None)
        one_by_one = desks("one by one")
        sync(one_by_one, hub)
    assert digest(batched) == digest(one_by_one) == digest(a)
    assert _remote_journal(batched) == _remote_journal(one_by_one)


def _goal_changes(hub: Hub) -> dict[str, str | None]:
    """One goal's fields as the hub holds them (journal JSON), to make others like it."""
    with hub.engine.connect() as connection:
        row_id = connection.execute(
            text("SELECT row_id FROM hub_change WHERE entity = 'goal' LIMIT 1")
        ).scalar_one()
        return {
            str(name): value
            for name, value in connection.execute(
                text("SELECT field, value FROM hub_change WHERE entity = 'goal' AND row_id = :r"),
                {"r": row_id},
            )
        }


def _push_goals_of_an_older_desk(
    hub: Hub, fields: dict[str, str | None], goals: dict[str, dict[str, str]], label: str
) -> None:
    """Push goals as one transaction of a desk from before seals (schema 6): each made of
    ``fields`` (a goal's, as the hub holds them) with its own values (``goals[row id]``)."""
    site, tx_id = uuid.uuid4().hex, uuid.uuid4().hex
    made: list[Change] = []
    for row_id, own in goals.items():
        for name, sent in sorted(fields.items()):
            if name == "id":
                continue
            made.append(
                Change(
                    origin_site=site,
                    origin_seq=len(made) + 1,
                    tx_id=tx_id,
                    hlc=(time.time_ns() // 1_000_000) << 16,
                    base_hlc=0,
                    base_site="",
                    row_base_hlc=0,
                    entity="goal",
                    row_id=row_id,
                    field=name,
                    op="set",
                    value=own.get(name, sent),
                    schema_version=6,
                    actor_id=None,
                    actor_label=label,
                    recorded_at="2026-12-01 09:00:00",
                )
            )
    push_changes(
        hub.engine,
        site=site,
        label=label,
        schema_version=6,
        prev_seq=0,
        changes=made,
        now_ms=time.time_ns() // 1_000_000,
    )
    with hub.engine.connect() as connection:
        assert connection.execute(
            text("SELECT count(*) FROM hub_change WHERE tx_id = :t"), {"t": tx_id}
        ).scalar_one() == len(made)


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # the desk side is under test
def test_a_record_that_fails_its_constraints_is_set_aside_alone(
    desks: Desks, hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A desk from before seals (schema 6) sends one transaction of two goals; the second
    # names a case nobody has. Written together, the pair fails; written one by one, the
    # first is stored and only the second is set aside.
    a, b = desks("a"), desks("b")
    seed(a, tmp_path)
    sync(a, hub)
    good, bad = uuid.uuid4().hex, uuid.uuid4().hex
    _push_goals_of_an_older_desk(
        hub,
        _goal_changes(hub),
        {
            good: {"description": json.dumps(f"Goal {good[:6]}")},
            bad: {
                "description": json.dumps(f"Goal {bad[:6]}"),
                "case_id": json.dumps(uuid.uuid4().hex),
            },
        },
        "a desk from before seals",
    )
    with caplog.at_level(logging.WARNING, logger="mdt_desk.sync.client"):
        sync(b, hub)
    assert "a goal record from the hub could not be stored; set aside" in caplog.messages
    with b.read() as session:
        stored = session.execute(
            text("SELECT id, description FROM goal WHERE id IN (:g, :b)"), {"g": good, "b": bad}
        ).all()
        journalled = (
            session.execute(
                text("SELECT DISTINCT row_id FROM journal_change WHERE row_id IN (:g, :b)"),
                {"g": good, "b": bad},
            )
            .scalars()
            .all()
        )
    assert [(str(row_id), words) for row_id, words in stored] == [(good, f"Goal {good[:6]}")]
    assert [str(row_id) for row_id in journalled] == [good]


#: What a text column may be sent: any text (NUL, quotes, backslashes, emoji), and the
#: numbers and truth values an older or faulty desk might send instead.
_ANY_VALUE = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
)


def _stored_localities(store: Store, ids: list[str]) -> list[tuple[Any, ...]]:
    """Each locality's stored values with their SQLite types, and its journal rows."""
    with store.read() as session:
        found = []
        for row_id in ids:
            values = session.execute(
                text(
                    "SELECT code, typeof(code), name, typeof(name), retired_at FROM locality"
                    " WHERE id = :id"
                ),
                {"id": row_id},
            ).one()
            journal = session.execute(
                text(
                    "SELECT field, new_value FROM journal_change WHERE row_id = :id ORDER BY field"
                ),
                {"id": row_id},
            ).all()
            found.append((tuple(values), [tuple(row) for row in journal]))
    return found


def test_records_written_together_hold_exactly_what_one_by_one_would(desks: Desks) -> None:
    # New records are written together from one JSON document (client._rows_insert_statement);
    # whatever a desk sent, each value must be stored, typed and journalled as binding it
    # to a statement of its own would.
    store = desks("values")

    def header() -> RemoteTransaction:
        return RemoteTransaction(
            tx_uuid=uuid.uuid4(),
            replica_id=uuid.uuid4(),
            actor_id=None,
            actor_label="another desk",
            hlc=1,
            recorded_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
            schema_version=1,
        )

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(_ANY_VALUE, _ANY_VALUE), min_size=1, max_size=4))
    def check(sent: list[tuple[Any, Any]]) -> None:
        made = "2026-12-01 09:00:00.000000"
        together: dict[tuple[str, str], dict[str, Any]] = {}
        one_by_one: dict[tuple[str, str], dict[str, Any]] = {}
        for code, name in sent:
            values = {"code": code, "name": name, "created_at": made, "updated_at": made}
            together[("locality", uuid.uuid4().hex)] = dict(values)
            one_by_one[("locality", uuid.uuid4().hex)] = dict(values)
        with replication_session(store) as session:
            enter_remote(session, header())
            assert client._written_together(session, together) == set(together)
            enter_remote(session, header())
            assert client._written_one_by_one(session, one_by_one) == set()
        assert _stored_localities(store, [row_id for _, row_id in together]) == (
            _stored_localities(store, [row_id for _, row_id in one_by_one])
        )

    check()


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)  # the desk side is under test
def test_a_value_no_desk_could_have_written_is_set_aside(
    desks: Desks, hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A lone UTF-16 surrogate escape: valid JSON, but no text a desk stores; taken in, it
    # would be stored changed (or stop the sync), so the change is set aside as damaged.
    a, b = desks("a"), desks("b")
    seed(a, tmp_path)
    sync(a, hub)
    _push_goals_of_an_older_desk(
        hub,
        _goal_changes(hub),
        {uuid.uuid4().hex: {"description": '"Practise the zebra crossing \\ud800"'}},
        "a faulty desk",
    )
    with caplog.at_level(logging.WARNING, logger="mdt_desk.sync.client"):
        report = sync(b, hub)
    assert report.skipped_damaged == 1
    assert any("a damaged change at the hub was set aside" in m for m in caplog.messages)
    with b.read() as session:
        stored = session.execute(
            text("SELECT count(*) FROM goal WHERE description LIKE 'Practise the zebra crossing%'")
        ).scalar_one()
    assert stored == 0
