"""End-to-end sync scenarios on both hub engines (SQLite file and PostgreSQL)."""

import datetime as dt
import io
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models import Meeting
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans, review
from mdt_desk.sync import client
from mdt_desk.sync.client import ClockSkewError, WrongHubError, outbox_count, sync_once
from mdt_desk.sync.hub import HubError, hub_engine, init_hub
from mdt_desk.sync.push import ReplicaCollisionError
from tests.sync.support import (
    FakeClock,
    Hub,
    Seed,
    assert_matches_hub,
    assert_sound,
    digest,
    field_value,
    quiesce,
    review_items,
    seed,
    set_raw,
    sync,
)

Desks = Callable[..., Store]


def _three(desks: Desks, hub: Hub, tmp_path: Path) -> tuple[list[Store], uuid.UUID]:
    a = desks("a")
    seeded = seed(a, tmp_path)
    b, c = desks("b"), desks("c")
    quiesce([a, b, c], hub)
    return [a, b, c], seeded.action_ids[0]


def _edit_action(store: Store, label: str, action_id: uuid.UUID, **values: object) -> None:
    with store.write(None, label) as session:
        plans.update_action(session, action_id, **values)  # type: ignore[arg-type]


@pytest.mark.slow
def test_three_desks_merge_conflict_and_edit_versus_delete(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    (a, b, c), action_id = _three(desks, hub, tmp_path)
    due = dt.date.today() + dt.timedelta(days=30)
    # Different fields, offline: merges cleanly.
    _edit_action(a, "Ann on desk A", action_id, description="Desk A wording")
    _edit_action(b, "Bob on desk B", action_id, due_on=due)
    quiesce([a, b, c], hub)
    for store in (a, b, c):
        assert field_value(store, "action", action_id, "description") == "Desk A wording"
        assert field_value(store, "action", action_id, "due_on") == due.isoformat()
        assert review_items(store) == []
    # The same field: exactly one review item, the same everywhere, with both values.
    _edit_action(a, "Ann on desk A", action_id, description="A says this")
    _edit_action(b, "Bob on desk B", action_id, description="B says that")
    quiesce([a, b, c], hub)
    items = [review_items(store) for store in (a, b, c)]
    assert items[0] == items[1] == items[2]
    assert len(items[0]) == 1
    item = items[0][0]
    assert item["kind"] == "same_field" and item["field"] == "description"
    assert {json.loads(item["kept_value"]), json.loads(item["other_value"])} == {
        "A says this",
        "B says that",
    }
    assert {item["kept_by"], item["other_by"]} == {"Ann on desk A", "Bob on desk B"}
    assert item["kept_at"] and item["other_at"]
    assert {item["kept_desk"], item["other_desk"]} == {a.replica_id.hex, b.replica_id.hex}
    with c.read() as session:
        (view,) = review.list_open_items(session)
    assert "A says this" in view.summary and "B says that" in view.summary
    winner = field_value(a, "action", action_id, "description")
    assert winner == json.loads(item["kept_value"])
    # Desk A retires the action while desk B edits it: flagged edit_vs_delete.
    with a.write(None, "Ann on desk A") as session:
        plans.withdraw_action(session, action_id)
    _edit_action(b, "Bob on desk B", action_id, description="Still needed")
    quiesce([a, b, c], hub)
    kinds = [item["kind"] for item in review_items(a)]
    assert kinds.count("edit_vs_delete") == 1
    assert review_items(a) == review_items(b) == review_items(c)
    for store in (a, b, c):
        assert_matches_hub(store, hub)
        assert_sound(store)
    assert digest(a) == digest(b) == digest(c)


@pytest.mark.slow
def test_equal_concurrent_edits_then_a_later_edit_is_no_conflict(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    """Two desks type the same value; a later edit after seeing it is not concurrent."""
    (a, b, c), action_id = _three(desks, hub, tmp_path)
    _edit_action(a, "A", action_id, description="Same words")
    _edit_action(b, "B", action_id, description="Same words")
    quiesce([a, b, c], hub)
    assert review_items(a) == []
    # Whichever desk lost the tie has seen the winner's clock, so its next edit is
    # made in knowledge of the current value.
    for store, words in ((a, "A again"), (b, "B again")):
        _edit_action(store, "x", action_id, description=words)
        quiesce([a, b, c], hub)
    assert review_items(a) == review_items(c) == []
    for store in (a, b, c):
        assert field_value(store, "action", action_id, "description") == "B again"
        assert_matches_hub(store, hub)
        assert_sound(store)


@pytest.mark.slow
def test_same_nhs_number_on_two_offline_desks(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    a = desks("a")
    seeded = seed(a, tmp_path, patients_count=1)
    b = desks("b")
    quiesce([a, b], hub)
    made = []
    for store, family in ((a, "Smith"), (b, "Smyth")):
        with store.write(seeded.staff_ids[0], f"desk {family}") as session:
            made.append(
                patients.register_patient(
                    session,
                    nhs_number="943 476 5870",
                    family_name=family,
                    given_name="Jo",
                    date_of_birth=dt.date(1950, 5, 5),
                    practice_id=seeded.practice_id,
                ).id
            )
    quiesce([a, b], hub)
    for store in (a, b):
        assert outbox_count(store) == 0
        items = review_items(store)
        assert [item["kind"] for item in items] == ["duplicate"]
        assert {items[0]["row_id"], items[0]["other_row_id"]} == {m.hex for m in made}
        with store.read() as session:
            for patient_id in made:
                assert patients.load_patient(session, patient_id).nhs_number == "9434765870"
        assert_matches_hub(store, hub)
        assert_sound(store)
    assert digest(a) == digest(b)


@pytest.mark.slow
def test_concurrent_coordinator_change(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    a = desks("a")
    seeded = seed(a, tmp_path, patients_count=1)
    b = desks("b")
    quiesce([a, b], hub)
    case_id = seeded.case_ids[0]
    for store, staff_id in ((a, seeded.staff_ids[1]), (b, seeded.staff_ids[2])):
        with store.write(None, "x") as session:
            cases.change_coordinator(session, case_id, coordinator_id=staff_id, reason="Leave")
    quiesce([a, b], hub)
    items = review_items(a)
    assert [item["kind"] for item in items] == ["coordinator"]
    assert items[0]["row_id"] == case_id.hex
    assert {json.loads(items[0]["kept_value"]), json.loads(items[0]["other_value"])} == {
        seeded.staff_ids[1].hex,
        seeded.staff_ids[2].hex,
    }
    assert review_items(b) == items
    assert digest(a) == digest(b)


@pytest.mark.slow
def test_resolving_syncs_and_closes_everywhere(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    (a, b, c), action_id = _three(desks, hub, tmp_path)
    _edit_action(a, "A", action_id, description="From A")
    _edit_action(b, "B", action_id, description="From B")
    quiesce([a, b, c], hub)
    item = review_items(c)[0]
    other = json.loads(item["other_value"])
    with c.write(None, "Reviewer") as session:
        review.resolve(
            session, uuid.UUID(item["id"]), review.Resolution.KEEP_OTHER, resolved_by_id=None
        )
    quiesce([a, b, c], hub)
    for store in (a, b, c):
        with store.read() as session:
            assert review.list_open_items(session) == []
        assert field_value(store, "action", action_id, "description") == other
        assert_matches_hub(store, hub)
        assert_sound(store)
    with hub.engine.connect() as connection:
        assert connection.execute(text("SELECT resolved FROM hub_conflict")).scalars().all() == [1]


def test_clock_skew_refused_with_outbox_kept(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    clock = FakeClock()
    a = desks("a", clock=clock)
    seed(a, tmp_path, patients_count=1)
    waiting = outbox_count(a)
    clock.jump(6 * 60 * 1000)
    with pytest.raises(ClockSkewError, match="ahead of"):
        sync(a, hub)
    assert outbox_count(a) == waiting and hub.change_count() == 0
    clock.jump(-12 * 60 * 1000)
    with pytest.raises(ClockSkewError, match="behind"):
        sync(a, hub)
    clock.offset_ms = 0
    assert sync(a, hub).pushed == waiting
    assert outbox_count(a) == 0


def test_copied_store_fails_loudly_and_loses_nothing(
    desks: Desks, hub: Hub, tmp_path: Path, template_store: Path
) -> None:
    a = desks("a")
    seeded = seed(a, tmp_path, patients_count=1)
    sync(a, hub)
    a.close()
    shutil.copy(tmp_path / "a.sqlite", tmp_path / "copy.sqlite")
    # A copied store folder takes the key file with it (the same key, the same store id).
    shutil.copy(tmp_path / "a.sqlite.key", tmp_path / "copy.sqlite.key")
    a = Store.open(tmp_path / "a.sqlite")
    copy = Store.open(tmp_path / "copy.sqlite")
    try:
        action_id = seeded.action_ids[0]
        _edit_action(a, "A", action_id, description="Made on the original")
        _edit_action(copy, "copy", action_id, description="Made on the copy")
        sync(a, hub)
        before = hub.change_count()
        waiting = outbox_count(copy)
        with pytest.raises(ReplicaCollisionError, match="copied"):
            sync(copy, hub)
        assert hub.change_count() == before
        assert outbox_count(copy) == waiting
        assert field_value(copy, "action", action_id, "description") == "Made on the copy"
        assert field_value(a, "action", action_id, "description") == "Made on the original"
    finally:
        copy.close()
        a.close()


@pytest.mark.slow
def test_other_hub_refused_and_nothing_sent(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    a = desks("a")
    seed(a, tmp_path, patients_count=1)
    sync(a, hub)
    other_engine = hub_engine(f"sqlite:///{tmp_path / 'other-hub.sqlite'}")
    init_hub(other_engine)
    set_raw(
        a,
        "practice",
        field_value(a, "practice", _any_id(a, "practice"), "id"),
        "phone",
        "01632 960000",
        "A",
    )
    try:
        with pytest.raises(WrongHubError, match="another team hub"):
            sync_once(a, other_engine, label="A")
        with other_engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM hub_change")).scalar_one() == 0
        assert outbox_count(a) == 1
    finally:
        other_engine.dispose()


def _any_id(store: Store, table: str) -> str:
    raw = store.raw_connection()
    try:
        return str(raw.execute(f'SELECT id FROM "{table}" LIMIT 1').fetchone()[0])
    finally:
        raw.close()


def test_old_desk_schema_refused_with_outbox_kept(
    desks: Desks, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = desks("a")
    seed(a, tmp_path, patients_count=1)
    waiting = outbox_count(a)
    monkeypatch.setattr(client, "schema_version_number", lambda: 2)
    with pytest.raises(HubError, match="too old"):
        sync(a, hub)
    assert outbox_count(a) == waiting and hub.change_count() == 0
    monkeypatch.undo()
    assert sync(a, hub).pushed == waiting


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


@pytest.mark.slow
def test_cli_hub_init_new_desk_and_conflicts(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    for _ in range(2):  # idempotent
        code, output = _cli("hub", "init", hub.url, "--json")
        assert code == 0
    hub_id = json.loads(output)["hub_id"]
    (a, b, c), action_id = _three(desks, hub, tmp_path)
    code, output = _cli("hub", "init", hub.url, "--json")
    assert json.loads(output)["hub_id"] == hub_id
    _edit_action(a, "A", action_id, description="From A")
    _edit_action(b, "B", action_id, description="From B")
    quiesce([a, b, c], hub)
    new_path = tmp_path / "new-desk.sqlite"
    code, output = _cli(
        "sync", "--store", str(new_path), "--hub", hub.url, "--practices", "all", "--json"
    )
    assert code == 0
    assert json.loads(output)["pushed"] == 0 and json.loads(output)["conflicts"] == 1
    with Store.open(new_path) as new:
        assert digest(new) == digest(a)
        assert_matches_hub(new, hub)
        assert_sound(new)
    code, output = _cli("conflicts", "--store", str(new_path), "--json")
    listed = json.loads(output)
    assert code == 0 and len(listed) == 1
    assert listed[0]["kind"] == "same_field"
    assert {listed[0]["kept"], listed[0]["other"]} == {"From A", "From B"}


# -- P15: value fidelity -------------------------------------------------------------

_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    words=_TEXT,
    address=_TEXT,
    due=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    minutes=st.integers(-(2**63), 2**63 - 1),
    starts=st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1)),
)
@pytest.mark.slow
def test_values_survive_edit_push_pull_bit_exact(
    desks: Desks,
    hub: Hub,
    tmp_path: Path,
    words: str,
    address: str,
    due: dt.date,
    minutes: int,
    starts: dt.datetime,
) -> None:
    """P15: what one desk stores, every desk and the hub hold bit for bit."""
    pair = _fidelity_pairs.get(hub.url)
    if pair is None:
        a, b = desks("fa"), desks("fb")
        seeded = seed(a, tmp_path, patients_count=1)
        with a.write(None, "A") as session:
            meeting = Meeting(practice_id=seeded.practice_id, starts_at=dt.datetime.now(dt.UTC))
            session.add(meeting)
            session.flush()
            meeting_id = meeting.id.hex
        quiesce([a, b], hub)
        pair = _fidelity_pairs[hub.url] = (a, b, seeded, meeting_id)
    a, b, seeded, meeting_id = pair
    action, patient = seeded.action_ids[0].hex, seeded.patient_ids[0].hex
    set_raw(a, "action", action, "description", words, "A")
    set_raw(a, "action", action, "due_on", due.isoformat(), "A")
    set_raw(a, "patient", patient, "address", address, "A")
    set_raw(a, "meeting", meeting_id, "duration_minutes", minutes, "A")
    set_raw(a, "meeting", meeting_id, "starts_at", starts.isoformat(sep=" "), "A")
    # The same values typed on the other desk too: equal values never conflict.
    set_raw(b, "goal", seeded.goal_ids[0].hex, "description", words, "B")
    quiesce([a, b], hub)
    assert digest(a) == digest(b)
    assert field_value(b, "action", action, "description") == words
    assert field_value(b, "action", action, "due_on") == due.isoformat()
    assert field_value(b, "patient", patient, "address") == address
    assert field_value(b, "meeting", meeting_id, "duration_minutes") == minutes
    assert field_value(a, "goal", seeded.goal_ids[0].hex, "description") == words
    with b.read() as session:
        assert (
            session.get(Meeting, uuid.UUID(meeting_id)).starts_at.replace(  # type: ignore[union-attr]
                tzinfo=None
            )
            == starts
        )
    assert_matches_hub(b, hub)
    assert review_items(a) == []


_fidelity_pairs: dict[str, tuple[Store, Store, Seed, str]] = {}
