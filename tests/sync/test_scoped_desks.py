"""Scoped desks: a desk holds only the people of its practices, with everything of
theirs, every staff member and practice, and the meetings its practices take part in.
Edits cross between a scoped desk and a full one; a person who moves practice passes
from one scope to the other, whole, with nothing anyone typed lost; narrowing removes
what left (noted, journal and all) and is refused while any of it is unsent.

Both hub engines; the people come from the 3,000-person demo (14 practices).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models import Patient
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.check import check_store
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.sync.client import chain_alarms, outbox_count, sync_once
from tests.sync.support import HUB_KINDS, Hub
from tests.sync.synced_demo import SyncedDemos

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 12, 1)


def _cli(*args: str, pin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO(f"{pin}\n") if pin else sys.stdin
    with contextlib.redirect_stderr(err), _stdin(stdin):
        code = main(list(args), out=out)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _stdin(stream: object) -> Iterator[None]:
    before = sys.stdin
    sys.stdin = stream  # type: ignore[assignment,unused-ignore]
    try:
        yield
    finally:
        sys.stdin = before


def _rows(store: Store, sql: str, **values: object) -> list[tuple[object, ...]]:
    with store.read() as session:
        return [tuple(row) for row in session.execute(text(sql), values)]


def _ids(store: Store, sql: str, **values: object) -> set[str]:
    return {str(row[0]) for row in _rows(store, sql, **values)}


def _practice(store: Store, code: str) -> str:
    (row,) = _rows(store, "SELECT id FROM practice WHERE ods_code = :c", c=code)
    return str(row[0])


def _busiest_practices(store: Store) -> list[str]:
    return [
        str(code)
        for code, _count in _rows(
            store,
            "SELECT pr.ods_code, count(*) FROM patient p JOIN practice pr ON pr.id = p.practice_id"
            " GROUP BY pr.ods_code ORDER BY count(*) DESC, pr.ods_code",
        )
    ]


def _staff_with_role(store: Store, role: str) -> uuid.UUID:
    (row,) = _rows(
        store,
        "SELECT id FROM staff WHERE pin_hash != '' AND roles LIKE :r ORDER BY id LIMIT 1",
        r=f"%{role}%",
    )
    return uuid.UUID(str(row[0]))


def _people_of(store: Store, practice_id: str) -> set[str]:
    return _ids(store, "SELECT id FROM patient WHERE practice_id = :p", p=practice_id)


def _everything_of(store: Store, people: set[str]) -> dict[str, set[str]]:
    """Each table's rows hanging off ``people`` (cases, actions, notes, agenda items…)."""
    marks = ", ".join(f"'{person}'" for person in sorted(people)) or "NULL"
    cases = f"SELECT id FROM care_case WHERE patient_id IN ({marks})"
    return {
        "patient": _ids(store, f"SELECT id FROM patient WHERE id IN ({marks})"),
        "care_case": _ids(store, cases),
        "alert": _ids(store, f"SELECT id FROM alert WHERE patient_id IN ({marks})"),
        "consent": _ids(store, f"SELECT id FROM consent WHERE patient_id IN ({marks})"),
        "goal": _ids(store, f"SELECT id FROM goal WHERE case_id IN ({cases})"),
        "action": _ids(store, f"SELECT id FROM action WHERE case_id IN ({cases})"),
        "note": _ids(store, f"SELECT id FROM note WHERE case_id IN ({cases})"),
        "agenda_item": _ids(store, f"SELECT id FROM agenda_item WHERE case_id IN ({cases})"),
        "coordinator_assignment": _ids(
            store, f"SELECT id FROM coordinator_assignment WHERE case_id IN ({cases})"
        ),
    }


#: The people of the full desk's demo (14 practices): the 3,000-person demo, and a
#: smaller one where a test does not need that many.
DEMO_PEOPLE = 3000
FULL_DESK_PEOPLE = 700


@pytest.fixture(scope="session")
def synced_demos(
    tmp_path_factory: pytest.TempPathFactory, _template_store_file: tuple[Path, bytes]
) -> Iterator[SyncedDemos]:
    """The demo desks and their hubs, made once and copied for each test (a demo and its
    push take seconds; see :mod:`tests.sync.synced_demo`)."""
    made = SyncedDemos(tmp_path_factory.mktemp("synced-demos"), _template_store_file, TODAY)
    yield made
    made.close()


@pytest.fixture(params=HUB_KINDS)
def hub(request: pytest.FixtureRequest, synced_demos: SyncedDemos, tmp_path: Path) -> Iterator[Hub]:
    """A hub the test's full desk (``demo_hub`` or ``full_desk``) has pushed its demo to:
    a copy of one made once per engine."""
    wanted = {"demo_hub", "full_desk"} & set(request.fixturenames)
    # The hub holds one desk's demo: a test with neither, or both, would get a hub that
    # does not match its desk.
    assert len(wanted) == 1, f"a scoped-desk test takes demo_hub or full_desk: {wanted}"
    people = DEMO_PEOPLE if wanted == {"demo_hub"} else FULL_DESK_PEOPLE
    yield from synced_demos.hub_copy(request.param, people, tmp_path)


@pytest.fixture
def demo_hub(synced_demos: SyncedDemos, hub: Hub, tmp_path: Path) -> Iterator[Store]:
    """A full desk holding the 3,000-person demo (14 practices), synced to the hub."""
    with synced_demos.desk_copy(hub, DEMO_PEOPLE, tmp_path / "full.sqlite") as desk:
        assert outbox_count(desk) == 0
        yield desk


@pytest.fixture
def full_desk(synced_demos: SyncedDemos, hub: Hub, tmp_path: Path) -> Iterator[Store]:
    """A full desk with a smaller demo (the same 14 practices), synced to the hub."""
    with synced_demos.desk_copy(hub, FULL_DESK_PEOPLE, tmp_path / "full.sqlite") as desk:
        assert outbox_count(desk) == 0
        yield desk


def _join(tmp_path: Path, hub: Hub, name: str, codes: str) -> Path:
    path = tmp_path / f"{name}.sqlite"
    code, out, err = _cli("sync", "--store", str(path), "--hub", hub.url, "--practices", codes)
    assert code == 0, err
    assert "received" in out
    return path


def _add_action(store: Store, actor: uuid.UUID, person: str, words: str) -> str:
    with store.write(actor, "desk") as session:
        (case_id,) = session.execute(
            text(
                "SELECT id FROM care_case WHERE patient_id = :p AND status != 'closed'"
                " ORDER BY id LIMIT 1"
            ),
            {"p": person},
        ).one()
        return plans.add_action(
            session,
            uuid.UUID(str(case_id)),
            description=words,
            owner_id=actor,
            due_on=TODAY + dt.timedelta(days=10),
        ).id.hex


def _move(store: Store, actor: uuid.UUID, person: str, practice_id: str) -> None:
    """The person registers at another practice (as a practice's list import records)."""
    with store.write(actor, "desk") as session:
        found = session.get(Patient, uuid.UUID(person))
        assert found is not None
        found.practice_id = uuid.UUID(practice_id)


def _with_a_case(store: Store, people: set[str]) -> list[str]:
    marks = ", ".join(f"'{person}'" for person in sorted(people))
    return sorted(
        _ids(
            store,
            "SELECT DISTINCT patient_id FROM care_case WHERE status != 'closed'"
            f" AND patient_id IN ({marks})",
        )
    )


def test_a_scoped_desk_holds_its_practice_only_and_edits_cross_both_ways(
    demo_hub: Store, hub: Hub, tmp_path: Path
) -> None:
    a = demo_hub
    code = _busiest_practices(a)[0]
    mine = _practice(a, code)
    path = _join(tmp_path, hub, "scoped", code)
    officer = _staff_with_role(a, "privacy_officer")

    # Its export holds that practice's people only, everything of theirs, every staff member.
    exported = tmp_path / "scoped.json"
    status, _, err = _cli(
        "export",
        "--store",
        str(path),
        "--as",
        officer.hex,
        "--pin-stdin",
        "--output",
        str(exported),
        pin=DEMO_PIN,
    )
    assert status == 0, err
    tables = json.loads(exported.read_text())["tables"]
    people = {str(row["id"]).replace("-", "") for row in tables["patient"]}
    assert people == _people_of(a, mine) and len(people) > 150
    assert {str(row["practice_id"]).replace("-", "") for row in tables["patient"]} == {mine}
    assert len(tables["staff"]) == len(_rows(a, "SELECT id FROM staff"))
    assert len(tables["practice"]) == 14
    with Store.open(path) as b:
        assert _everything_of(b, people) == _everything_of(a, people)
        # Nothing else ever reached it: no record, and no journal row, of anyone else.
        others = _ids(a, "SELECT id FROM patient WHERE practice_id != :p", p=mine)
        theirs = set().union(*_everything_of(a, others).values())
        journalled = _ids(b, "SELECT DISTINCT row_id FROM journal_change")
        assert not journalled & theirs
        assert not _ids(b, "SELECT id FROM patient") & others
        # Meetings: those its practice hosts or joins, or where its people are discussed.
        for (meeting,) in _rows(b, "SELECT id FROM meeting"):
            involved = _ids(
                a,
                "SELECT practice_id FROM meeting WHERE id = :m UNION SELECT practice_id FROM"
                " meeting_practice WHERE meeting_id = :m UNION SELECT p.practice_id FROM"
                " agenda_item ai JOIN care_case c ON c.id = ai.case_id JOIN patient p ON"
                " p.id = c.patient_id WHERE ai.meeting_id = :m",
                m=meeting,
            )
            assert mine in involved
        assert check_store(b).passed, check_store(b).checks
        assert chain_alarms(b) == []

        # Its edit reaches the full desk; the full desk's edits to its people reach it.
        coordinator = _staff_with_role(b, "care_coordinator")
        person, other_person = _with_a_case(b, people)[:2]
        made_here = _add_action(b, coordinator, person, "Ring the district nurse")
        sync_once(b, hub.engine, label="scoped desk")
        sync_once(a, hub.engine, label="full desk")
        assert _rows(a, "SELECT description FROM action WHERE id = :i", i=made_here) == [
            ("Ring the district nurse",)
        ]
        elsewhere = _with_a_case(a, others)[0]
        made_there = _add_action(a, coordinator, other_person, "Book the falls clinic")
        not_for_it = _add_action(a, coordinator, elsewhere, "Someone else's plan")
        sync_once(a, hub.engine, label="full desk")
        report = sync_once(b, hub.engine, label="scoped desk")
        assert report.edits_received == 1
        assert _rows(b, "SELECT description FROM action WHERE id = :i", i=made_there) == [
            ("Book the falls clinic",)
        ]
        assert _rows(b, "SELECT id FROM action WHERE id = :i", i=not_for_it) == []
        assert check_store(b).passed


@pytest.mark.parametrize("hub", ["postgresql"], indirect=True)  # CI time: the team's hub
def test_a_person_who_moves_practice_passes_whole_between_scopes_across_an_offline_edit(
    full_desk: Store, hub: Hub, tmp_path: Path
) -> None:
    a = full_desk
    first, second = _busiest_practices(a)[:2]
    old_home, new_home = _practice(a, first), _practice(a, second)
    with (
        Store.open(_join(tmp_path, hub, "old", first)) as old,
        Store.open(_join(tmp_path, hub, "new", second)) as new,
    ):
        coordinator = _staff_with_role(a, "care_coordinator")
        person = _with_a_case(old, _people_of(old, old_home))[0]
        before = _everything_of(a, {person})
        # Desk "old" adds to the person's plan while offline; meanwhile the full desk
        # moves them to the other practice.
        typed_offline = _add_action(old, coordinator, person, "Typed before the move")
        _move(a, coordinator, person, new_home)
        sync_once(a, hub.engine, label="full desk")
        report = sync_once(old, hub.engine, label="old practice's desk")
        # Its edit went first, then the person left it, journal and all, on record.
        assert report.edits_sent == 1
        assert any("no longer of this desk's practices" in m for m in report.messages)
        assert _rows(old, "SELECT id FROM patient WHERE id = :p", p=person) == []
        assert _ids(old, "SELECT row_id FROM journal_change WHERE row_id = :p", p=person) == set()
        assert _rows(old, "SELECT anchor FROM scope_removal") == [(f"patient:{person}",)]
        assert check_store(old).passed, check_store(old).checks
        # The new practice's desk receives them whole, with the offline edit.
        sync_once(new, hub.engine, label="new practice's desk")
        sync_once(a, hub.engine, label="full desk")
        after = _everything_of(new, {person})
        assert after["action"] == before["action"] | {typed_offline}
        assert {k: v for k, v in after.items() if k != "action"} == {
            k: v for k, v in before.items() if k != "action"
        }
        assert _everything_of(a, {person}) == after
        assert _rows(new, "SELECT description FROM action WHERE id = :i", i=typed_offline) == [
            ("Typed before the move",)
        ]
        assert check_store(new).passed, check_store(new).checks
        assert chain_alarms(new) == [] and chain_alarms(old) == []
        # And back again: they return whole to the old practice's desk.
        _move(a, coordinator, person, old_home)
        sync_once(a, hub.engine, label="full desk")
        sync_once(old, hub.engine, label="old practice's desk")
        sync_once(new, hub.engine, label="new practice's desk")
        assert _everything_of(old, {person}) == _everything_of(a, {person})
        assert _rows(new, "SELECT id FROM patient WHERE id = :p", p=person) == []
        assert check_store(old).passed and check_store(new).passed


@pytest.mark.parametrize("hub", ["postgresql"], indirect=True)  # CI time: the team's hub
def test_narrowing_removes_what_left_and_is_refused_while_it_holds_unsent_changes(
    full_desk: Store, hub: Hub, tmp_path: Path
) -> None:
    a = full_desk
    first, second = _busiest_practices(a)[:2]
    path = _join(tmp_path, hub, "two", f"{first},{second}")
    with Store.open(path) as desk:
        both = _ids(desk, "SELECT id FROM patient")
        assert both == _people_of(a, _practice(a, first)) | _people_of(a, _practice(a, second))
        coordinator = _staff_with_role(desk, "care_coordinator")
        leaving = _with_a_case(desk, _people_of(desk, _practice(a, second)))[0]
        _add_action(desk, coordinator, leaving, "Not sent yet")
    admin = _staff_with_role(a, "team_administrator")
    status, _, err = _cli(
        "sync",
        "--store",
        str(path),
        "--practices",
        first,
        "--as",
        admin.hex,
        "--pin-stdin",
        pin=DEMO_PIN,
    )
    assert status == 2 and "not changed" in err and "not yet sent" in err
    with Store.open(path) as desk:
        assert _ids(desk, "SELECT id FROM patient") == both  # nothing removed
    # Sent, then narrowed: the practice's people go, with a note of what was removed.
    assert (
        _cli("sync", "--store", str(path), "--as", admin.hex, "--pin-stdin", pin=DEMO_PIN)[0] == 0
    )
    status, out, err = _cli(
        "sync",
        "--store",
        str(path),
        "--practices",
        first,
        "--as",
        admin.hex,
        "--pin-stdin",
        pin=DEMO_PIN,
    )
    assert status == 0, err
    assert "no longer of this desk's practices" in out
    with Store.open(path) as desk:
        assert _ids(desk, "SELECT id FROM patient") == _people_of(a, _practice(a, first))
        (notes,) = _rows(desk, "SELECT count(*) FROM scope_removal WHERE anchor LIKE 'patient:%'")
        assert notes == (len(both) - len(_people_of(a, _practice(a, first))),)
        assert check_store(desk).passed, check_store(desk).checks
    # Widening again brings them back whole.
    status, _, err = _cli(
        "sync",
        "--store",
        str(path),
        "--practices",
        f"{first},{second}",
        "--as",
        admin.hex,
        "--pin-stdin",
        pin=DEMO_PIN,
    )
    assert status == 0, err
    sync_once(a, hub.engine, label="full desk")  # it receives the desk's sent action
    with Store.open(path) as desk:
        assert _ids(desk, "SELECT id FROM patient") == both
        here, there = _everything_of(desk, both), _everything_of(a, both)
        assert here == there, {
            table: (here[table] - there[table], there[table] - here[table])
            for table in here
            if here[table] != there[table]
        }
        assert check_store(desk).passed, check_store(desk).checks


@pytest.mark.parametrize("hub", ["postgresql"], indirect=True)  # CI time: the team's hub
def test_an_unknown_practice_is_refused_and_a_coordinator_may_not_change_the_scope(
    full_desk: Store, hub: Hub, tmp_path: Path
) -> None:
    status, _, err = _cli(
        "sync", "--store", str(tmp_path / "x.sqlite"), "--hub", hub.url, "--practices", "Z99999"
    )
    assert status == 2 and "no practice Z99999" in err
    code = _busiest_practices(full_desk)[0]
    path = _join(tmp_path, hub, "scoped", code)
    coordinator = _staff_with_role(full_desk, "care_coordinator")
    status, _, err = _cli(
        "sync",
        "--store",
        str(path),
        "--practices",
        "all",
        "--as",
        coordinator.hex,
        "--pin-stdin",
        pin=DEMO_PIN,
    )
    assert status == 4


def test_tampering_with_an_in_scope_record_at_the_hub_is_caught_by_a_scoped_desk(
    full_desk: Store, hub: Hub, tmp_path: Path
) -> None:
    a = full_desk
    code = _busiest_practices(a)[0]
    path = _join(tmp_path, hub, "scoped", code)
    coordinator = _staff_with_role(a, "care_coordinator")
    person = _with_a_case(a, _people_of(a, _practice(a, code)))[0]
    made = _add_action(a, coordinator, person, "Visit on Tuesday")
    sync_once(a, hub.engine, label="full desk")
    forged = json.dumps("Visit never needed")
    with hub.engine.begin() as connection:  # as someone holding the hub's credentials
        changed = connection.execute(
            text(
                "UPDATE hub_change SET value = :v WHERE entity = 'action' AND row_id = :r"
                " AND field = 'description'"
            ),
            {"v": forged, "r": made},
        ).rowcount
    assert changed == 1
    with Store.open(path) as b:
        report = sync_once(b, hub.engine, label="scoped desk")
        assert report.skipped_tampered >= 1 and report.alarms
        assert chain_alarms(b)
        assert _rows(b, "SELECT description FROM action WHERE id = :i", i=made) == []
        # Everything else still arrives: the desk's own practice's other people.
        assert _ids(b, "SELECT id FROM patient") == _people_of(a, _practice(a, code))


def test_a_value_rewritten_inside_a_locality_wide_batch_is_caught_by_a_scoped_desk(
    full_desk: Store, hub: Hub, tmp_path: Path
) -> None:
    # The demo is one transaction of every practice's people, far larger than a page: a
    # scoped desk takes in its part of it without reading the rest (docs/architecture.md,
    # "Scoped desks"), and still checks each change it receives against the hash its
    # desk sent with it, so a value rewritten at the hub never reaches the record.
    a = full_desk
    code = _busiest_practices(a)[0]
    person = sorted(_people_of(a, _practice(a, code)))[0]
    (family,) = _rows(a, "SELECT family_name FROM patient WHERE id = :i", i=person)[0]
    with hub.engine.begin() as connection:  # as someone holding the hub's credentials
        changed = connection.execute(
            text(
                "UPDATE hub_change SET value = :v WHERE entity = 'patient' AND row_id = :r"
                " AND field = 'family_name'"
            ),
            {"v": json.dumps("Forged"), "r": person},
        ).rowcount
    assert changed == 1
    path = tmp_path / "scoped.sqlite"
    _cli("sync", "--store", str(path), "--hub", hub.url, "--practices", code)
    with Store.open(path) as b:
        alarms = chain_alarms(b)
        assert [alarm.record for alarm in alarms] == [f"patient {person} family_name"]
        assert "rewritten" in alarms[0].reason
        assert _rows(b, "SELECT 1 FROM patient WHERE family_name IN ('Forged', :f)", f=family) == []
        # The whole transaction is set aside, never applied in part.
        assert _rows(b, "SELECT count(*) FROM patient")[0][0] == 0
