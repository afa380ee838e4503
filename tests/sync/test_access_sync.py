"""Access control through the hub, on both engines: PINs, roles, leavers and the access
log reach other desks, a clash of roles settles to the roles that grant less, and a desk
that upgrades to schema 6 last neither resets nor misses anyone's PIN, roles or leaving."""

import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.errors import RuleError, UserError
from mdt_desk.models.clock import COUNTER_BITS
from mdt_desk.models.enums import AccessAction, Role
from mdt_desk.models.seal import seal_history
from mdt_desk.models.store import Store
from mdt_desk.services import access_log, review, sign_in
from mdt_desk.services.access import format_roles, less_privileged
from mdt_desk.services.check import check_store
from mdt_desk.sync import client
from mdt_desk.sync.protocol import Change
from mdt_desk.sync.push import push_changes
from tests import store_sql
from tests.sync.support import (
    FakeClock,
    Hub,
    Seed,
    assert_matches_hub,
    assert_sound,
    field_value,
    quiesce,
    review_items,
    seed,
    sync,
)

Desks = Callable[..., Store]

ADMIN_PIN = "135791"
LEAVER_PIN = "975310"


def _team_with_pins(desks: Desks, hub: Hub, tmp_path: Path) -> tuple[Store, Store, Seed]:
    """Desk A: a team whose first member is the administrator with a PIN; desk B empty.

    B's clock runs a second ahead of A's, so of two offline edits made one after the
    other (A's, then B's) B's carries the later clock."""
    a = desks("a")
    seeded = seed(a, tmp_path)
    admin, leaver, _other = seeded.staff_ids
    with a.write(None, "initial set-up") as session:
        sign_in.set_pin(session, admin, ADMIN_PIN)
        sign_in.set_pin(session, leaver, LEAVER_PIN)
        sign_in.set_roles(
            session, admin, {Role.TEAM_ADMINISTRATOR, Role.MDT_CHAIR, Role.CARE_COORDINATOR}
        )
    return a, desks("b", clock=FakeClock(offset_ms=1000)), seeded


def _roles(store: Store, staff_id: uuid.UUID) -> str:
    return str(field_value(store, "staff", staff_id, "roles"))


@pytest.mark.slow
def test_pins_roles_leavers_and_access_log_reach_a_second_desk(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, leaver, _other = seeded.staff_ids
    person = seeded.patient_ids[0]
    with a.write(admin, "Sam Butler") as session:
        sign_in.set_roles(session, admin, {Role.CARE_COORDINATOR, Role.TEAM_ADMINISTRATOR})
        access_log.append(session, AccessAction.OPEN, patient_id=person)
        access_log.append(session, AccessAction.PRINT, patient_id=person, reason="for the visit")
        sign_in.record_leaver(session, leaver, dt.date.today() - dt.timedelta(days=2))
    sync(a, hub, "desk A")
    sync(b, hub, "desk B")
    hub.engine.dispose()  # B works from its own store from here on: no hub is asked

    signed_in = sign_in.sign_in_with_pin(b, admin, ADMIN_PIN)
    assert signed_in.principal.roles == {Role.CARE_COORDINATOR, Role.TEAM_ADMINISTRATOR}
    with pytest.raises(sign_in.PinNotRecognisedError):
        sign_in.sign_in_with_pin(b, admin, LEAVER_PIN)
    with pytest.raises(UserError, match="has left the team"):
        sign_in.sign_in_with_pin(b, leaver, LEAVER_PIN)
    with b.read(admin) as session:
        entries = access_log.entries_for(session, person)
    seen = {(entry.action, entry.staff_id, entry.reason) for entry in entries}
    assert seen == {
        ("open", admin, ""),
        ("print", admin, "for the visit"),
    }
    assert all(entry.desk for entry in entries)
    assert_sound(b)


@pytest.mark.slow
def test_access_events_written_on_both_desks_converge_and_pass_the_check(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin = seeded.staff_ids[0]
    person = seeded.patient_ids[0]
    quiesce([a, b], hub)
    for store in (a, b):
        sign_in.sign_in_with_pin(store, admin, ADMIN_PIN)
        with store.write(admin, "Sam Butler") as session:
            access_log.record_open(session, person)
    quiesce([a, b], hub)
    for store in (a, b):
        with store.read(admin) as session:
            opened = [e for e in access_log.entries_for(session, person) if e.action == "open"]
        assert len(opened) == 2
        assert_matches_hub(store, hub)
        report = check_store(store)
        assert report.passed, [check.detail for check in report.checks if not check.passed]


def _set_roles(store: Store, admin: uuid.UUID, staff_id: uuid.UUID, roles: set[Role]) -> None:
    with store.write(admin, "Sam Butler") as session:
        sign_in.set_roles(session, staff_id, roles)


COORDINATOR_CHAIR = {Role.CARE_COORDINATOR, Role.MDT_CHAIR}
MORE = {Role.CARE_COORDINATOR, Role.MDT_CHAIR, Role.TEAM_ADMINISTRATOR}
LESS = {Role.OBSERVER}
NAVIGATOR_COORDINATOR = {Role.CARE_NAVIGATOR, Role.CARE_COORDINATOR}
NAVIGATOR_PRIVACY = {Role.CARE_NAVIGATOR, Role.PRIVACY_OFFICER}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        pytest.param(LESS, MORE, LESS, id="later-edit-grants-more"),
        pytest.param(MORE, LESS, LESS, id="later-edit-grants-less"),
        pytest.param(
            NAVIGATOR_COORDINATOR, NAVIGATOR_PRIVACY, {Role.CARE_NAVIGATOR}, id="incomparable"
        ),
    ],
)
@pytest.mark.parametrize("first_pushes_first", [True, False], ids=["in-order", "reversed"])
def test_clashing_role_changes_settle_to_the_roles_that_grant_less(
    desks: Desks,
    hub: Hub,
    tmp_path: Path,
    first: set[Role],
    second: set[Role],
    expected: set[Role],
    first_pushes_first: bool,
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, _leaver, member = seeded.staff_ids
    _set_roles(a, admin, member, COORDINATOR_CHAIR)
    c = desks("c")
    quiesce([a, b, c], hub)
    # Offline on both desks: A's change first, then B's (the later clock).
    _set_roles(a, admin, member, first)
    _set_roles(b, admin, member, second)
    for store in [a, b] if first_pushes_first else [b, a]:
        sync(store, hub)
    quiesce([a, b, c], hub)

    settled = format_roles(expected)
    assert settled == less_privileged(format_roles(first), format_roles(second))
    assert [_roles(store, member) for store in (a, b, c)] == [settled] * 3
    assert hub.state()[("staff", member.hex, "roles")] == f'"{settled}"'
    for store in (a, b, c):
        assert_matches_hub(store, hub)
        assert_sound(store)
        items = review_items(store)
        assert [(item["kind"], item["row_id"]) for item in items] == [("role_clash", member.hex)]
    # The member signs in with the settled roles on every desk.
    with a.write(admin, "Sam Butler") as session:
        sign_in.set_pin(session, member, "864209")
    quiesce([a, b, c], hub)
    for store in (a, b, c):
        principal = sign_in.sign_in_with_pin(store, member, "864209").principal
        assert principal.roles == expected
    with c.read(admin) as session:
        (view,) = review.list_open_items(session)
    assert view.title == "Roles changed on two desks at once"
    assert f"The roles that grant less stand: “{review.roles_words(settled)}”" in view.summary


@pytest.mark.slow
def test_a_role_clash_cannot_be_resolved_to_the_roles_that_grant_more(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, _leaver, member = seeded.staff_ids
    quiesce([a, b], hub)
    _set_roles(a, admin, member, LESS)
    _set_roles(b, admin, member, MORE)
    quiesce([a, b], hub)
    with b.write(admin, "Sam Butler") as session:
        (view,) = review.list_open_items(session)
        for choice in (review.Resolution.KEEP_OTHER, review.Resolution.EDITED):
            with pytest.raises(RuleError):
                review.resolve(
                    session,
                    view.id,
                    choice,
                    resolved_by_id=admin,
                    edited_value="team_administrator",
                )
        review.resolve(session, view.id, review.Resolution.KEEP_KEPT, resolved_by_id=admin)
    quiesce([a, b], hub)
    assert _roles(a, member) == _roles(b, member) == format_roles(LESS)


@pytest.mark.slow
def test_pins_changed_on_two_desks_at_once_converge_to_one(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin = seeded.staff_ids[0]
    quiesce([a, b], hub)
    with a.write(admin, "Sam Butler") as session:
        sign_in.set_pin(session, admin, "111333")
    with b.write(admin, "Sam Butler") as session:
        sign_in.set_pin(session, admin, "222444")
    quiesce([a, b], hub)

    hashes = {field_value(store, "staff", admin, "pin_hash") for store in (a, b)}
    assert len(hashes) == 1
    for store in (a, b):
        assert_matches_hub(store, hub)
        # A PIN hash is nothing a reviewer could judge: no review item is made for it.
        assert review_items(store) == []
        assert sign_in.sign_in_with_pin(store, admin, "222444").principal.staff_id == admin
        with pytest.raises(sign_in.PinNotRecognisedError):
            sign_in.sign_in_with_pin(store, admin, "111333")


# -- A desk that upgrades last ---------------------------------------------------------

_UPGRADE = "MDT Desk upgrade (schema 0006)"


def _late_desk_pushes(hub: Hub, site: str, changes: list[tuple[str, str, str, int, str]]) -> None:
    """Changes from a desk that is not a store here (one that upgraded from schema 5):
    ``(row id, field, journal value, clock, actor label)``, one transaction each label."""
    transactions: dict[str, str] = {}
    made = [
        Change(
            origin_site=site,
            origin_seq=number,
            tx_id=transactions.setdefault(label, uuid.uuid4().hex),
            hlc=clock,
            base_hlc=0,
            base_site="",
            row_base_hlc=0,
            entity="staff",
            row_id=row_id,
            field=name,
            op="set",
            value=value,
            schema_version=6 if label == _UPGRADE else 5,
            actor_id=None,
            actor_label=label,
            recorded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
        )
        for number, (row_id, name, value, clock, label) in enumerate(changes, start=1)
    ]
    push_changes(
        hub.engine,
        site=site,
        label="late desk",
        schema_version=6,
        prev_seq=0,
        changes=made,
        now_ms=time.time_ns() // 1_000_000,
    )


def _now_hlc(ahead_ms: int = 0) -> int:
    return (time.time_ns() // 1_000_000 + ahead_ms) << COUNTER_BITS


@pytest.mark.slow
def test_a_desk_upgraded_last_resets_no_pins_roles_or_leavers(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, leaver, _member = seeded.staff_ids
    with a.write(admin, "Sam Butler") as session:
        sign_in.record_leaver(session, leaver, dt.date.today() - dt.timedelta(days=2))
    quiesce([a, b], hub)
    before = hub.state()
    # The late desk's upgrade journals the new columns' defaults for every staff member,
    # with a clock later than every real change.
    defaults = {"roles": '"care_coordinator mdt_chair"', "pin_hash": '""', "left_on": "null"}
    _late_desk_pushes(
        hub,
        uuid.uuid4().hex,
        [
            (staff_id.hex, name, value, _now_hlc(), _UPGRADE)
            for staff_id in seeded.staff_ids
            for name, value in defaults.items()
        ],
    )
    fresh = desks("fresh")
    quiesce([a, b, fresh], hub)

    # Only fields nobody had set (a left_on never given) took the defaults.
    after = hub.state()
    assert {key: value for key, value in after.items() if key in before} == before
    assert {after[key] for key in after.keys() - before.keys()} <= {"null"}
    for store in (a, b, fresh):
        assert_matches_hub(store, hub)
        assert review_items(store) == []
        with pytest.raises(UserError, match="has left the team"):
            sign_in.sign_in_with_pin(store, leaver, LEAVER_PIN)
        principal = sign_in.sign_in_with_pin(store, admin, ADMIN_PIN).principal
        assert Role.TEAM_ADMINISTRATOR in principal.roles


@pytest.mark.slow
def test_a_real_role_change_replaces_an_upgrade_default_whatever_its_clock(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin = seeded.staff_ids[0]
    quiesce([a, b], hub)
    # A staff member added on a desk still at schema 5 (no roles), which then upgrades
    # with its clock two minutes ahead: its default stands at the hub first.
    old_site, newcomer = uuid.uuid4().hex, uuid.uuid4().hex
    added = _now_hlc()
    row = {
        "family_name": '"Adeyemi"',
        "given_name": '"Kemi"',
        "title": '""',
        "profession": '"gp"',
        "organisation": '""',
        "email": '""',
        "phone": '""',
        "created_at": '"2026-12-06 09:00:00"',
        "updated_at": '"2026-12-06 09:00:00"',
    }
    _late_desk_pushes(
        hub, old_site, [(newcomer, name, value, added, "Kemi") for name, value in row.items()]
    )
    quiesce([a, b], hub)
    _set_roles(a, admin, uuid.UUID(newcomer), {Role.TEAM_MEMBER})  # offline, earlier clock
    _late_desk_pushes(
        hub,
        uuid.uuid4().hex,
        [
            (newcomer, name, value, _now_hlc(120_000), _UPGRADE)
            for name, value in (
                ("roles", '"care_coordinator mdt_chair"'),
                ("pin_hash", '""'),
                ("pin_must_change", "0"),
                ("left_on", "null"),
            )
        ],
    )
    quiesce([a, b], hub)

    assert _roles(a, uuid.UUID(newcomer)) == _roles(b, uuid.UUID(newcomer)) == "team_member"
    assert hub.state()[("staff", newcomer, "roles")] == '"team_member"'
    for store in (a, b):
        assert_matches_hub(store, hub)
        assert review_items(store) == []


@pytest.mark.slow
def test_a_desk_still_on_schema_5_gets_pins_and_access_log_once_upgraded(
    desks: Desks, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, leaver, _member = seeded.staff_ids
    person = seeded.patient_ids[0]
    with a.write(admin, "Sam Butler") as session:
        access_log.append(session, AccessAction.OPEN, patient_id=person)
        sign_in.record_leaver(session, leaver, dt.date.today() - dt.timedelta(days=2))
    sync(a, hub, "desk A")
    # B runs the version before access control: it knows neither the access log nor
    # the new staff fields, and sets them aside as it syncs.
    old_columns = {
        table: (
            columns - {"roles", "pin_hash", "pin_must_change", "left_on"}
            if table == "staff"
            else columns
        )
        for table, columns in client._COLUMNS.items()
        if table != "access_event"
    }
    with monkeypatch.context() as old_version:
        old_version.setattr(client, "_COLUMNS", old_columns)
        old_version.setattr(client, "schema_version_number", lambda: 5)
        report = sync(b, hub, "desk B")
    assert report.skipped_unknown > 0
    assert field_value(b, "staff", admin, "pin_hash") == ""

    sync(b, hub, "desk B")  # upgraded

    assert_matches_hub(b, hub)
    assert_sound(b)
    with pytest.raises(UserError, match="has left the team"):
        sign_in.sign_in_with_pin(b, leaver, LEAVER_PIN)
    assert sign_in.sign_in_with_pin(b, admin, ADMIN_PIN).principal.staff_id == admin
    with b.read(admin) as session:
        assert [entry.action for entry in access_log.entries_for(session, person)] == ["open"]
    raw = b.raw_connection()
    try:
        # Nothing applied the first time was applied (and journalled) a second time.
        (twice,) = raw.execute(
            "SELECT count(*) FROM (SELECT c.entity, c.row_id, c.field, t.tx_uuid"
            " FROM journal_change c JOIN journal_tx t ON t.tx = c.tx"
            " GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)"
        ).fetchone()
    finally:
        raw.close()
    assert twice == 0


def _journal_upgrade_defaults(store: Store, ahead_ms: int) -> None:
    """What migration 0006 journals on a desk with staff: the new fields' values, under
    an upgrade transaction whose clock is later than anything the desk has seen."""
    hlc = _now_hlc(ahead_ms)
    raw = store_sql.connect(store.path)
    try:
        with raw:
            replica = raw.execute("SELECT value FROM store_meta WHERE key = 'replica_id'")
            raw.execute(
                "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
                " recorded_at, schema_version) VALUES (?, ?, NULL, ?, ?, ?, 6)",
                (
                    uuid.uuid4().hex,
                    uuid.UUID(replica.fetchone()[0]).hex,
                    _UPGRADE,
                    hlc,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
                ),
            )
            raw.execute("UPDATE store_meta SET value = ? WHERE key = 'hlc'", (str(hlc),))
            for name in ("roles", "pin_hash", "pin_must_change", "left_on"):
                raw.execute(
                    "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value,"
                    f" new_value) SELECT (SELECT max(tx) FROM journal_tx), 'staff', id, '{name}',"
                    f" 'set', NULL, json_quote({name}) FROM staff ORDER BY id"
                )
            (upgrade_tx,) = raw.execute("SELECT max(tx) FROM journal_tx").fetchone()
    finally:
        raw.close()
    # Sealed into the desk's chain, as migration 0007 seals what 0006 journalled.
    with store.write_session() as session:
        first = session.execute(
            text("SELECT min(origin_seq) FROM journal_change WHERE tx = :tx"), {"tx": upgrade_tx}
        ).scalar_one()
        seal_history(session, store.replica_id.hex, from_seq=int(first))


@pytest.mark.slow
def test_an_edit_after_an_upgrade_is_not_taken_for_a_clash_with_the_upgrade(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b, seeded = _team_with_pins(desks, hub, tmp_path)
    admin, _leaver, member = seeded.staff_ids
    _set_roles(a, admin, member, COORDINATOR_CHAIR)
    quiesce([a, b], hub)
    _journal_upgrade_defaults(b, ahead_ms=60_000)
    quiesce([a, b], hub)
    _set_roles(b, admin, member, {Role.TEAM_MEMBER})
    quiesce([a, b], hub)

    assert _roles(a, member) == _roles(b, member) == "team_member"
    for store in (a, b):
        assert review_items(store) == []
        assert_matches_hub(store, hub)
        assert_sound(store)
