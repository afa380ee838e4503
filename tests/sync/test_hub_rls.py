"""Row-level security on a PostgreSQL hub: a desk login held to some practices reads, as
`psql` shows, only their people's rows, everyone's (staff, practices) and its desk's own
changes, whatever it asks for; a person who moves practice passes from one login's view
to the other's; and a scoped login still pushes and merges against the whole hub (a
duplicate NHS number at another practice is found, an edit made before a move away
loses to a later one instead of overwriting it)."""

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mdt_desk.models import Patient
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans, staff
from mdt_desk.services.demo import synthetic_nhs_numbers
from mdt_desk.services.practices import import_ods_practices
from mdt_desk.sync.client import outbox_count, sync_once
from mdt_desk.sync.desk_scope import DeskScope, set_scope
from mdt_desk.sync.hub import HubError, hub_engine, init_hub
from mdt_desk.sync.hub_roles import desk_group_name, login_practices
from mdt_desk.sync.status import ALL_PRACTICES, read_hub_status
from tests.conftest import epraccur_row
from tests.sync.support import Hub, assert_matches_hub, pg_admin, pg_url, review_items
from tests.test_cli import run

pytestmark = pytest.mark.slow

TODAY = dt.date.today()
#: Two practices' people, by family name: the names must never cross the other way.
PEOPLE = {"A81001": ("Ashworth", "Abbott"), "B82002": ("Brennan", "Blackwood")}


@dataclass
class Team:
    """A PostgreSQL hub filled by a full desk (through the hub's owner) with the people
    of two practices."""

    database: str
    admin_url: str
    hub: Hub
    full: Store
    coordinator: uuid.UUID
    practice: dict[str, str]
    #: ODS code -> the people registered there (ids as the hub writes them)
    people: dict[str, list[str]]
    nhs: dict[str, str]
    logins: list[str] = field(default_factory=list)

    def login(self, *practices: str, store: Path) -> tuple[str, str]:
        """A desk login made by `mdt-desk hub add-desk` (held to ``practices``, if any)."""
        name = f"desk_{uuid.uuid4().hex[:10]}"
        self.logins.append(name)
        chosen = ["--practices", ",".join(practices)] if practices else []
        status, output = run(
            "hub", "add-desk", self.admin_url, name, *chosen, "--json", "--store", str(store)
        )
        assert status == 0, output
        answer = json.loads(output)
        assert answer["practices"] == (list(practices) or None)
        return name, str(answer["password"])

    def desk_url(self, login: str) -> str:
        return self.admin_url.replace("//postgres@", f"//{login}@", 1)

    def all_changes(self) -> list[tuple[int, str, str, str]]:
        """(server_seq, anchor, entity, row_id) of the whole log, as its owner reads it."""
        with self.hub.engine.connect() as connection:
            return [
                (int(seq), str(anchor), str(entity), str(row_id))
                for seq, anchor, entity, row_id in connection.execute(
                    text(
                        "SELECT server_seq, scope_anchor, entity, row_id FROM hub_change"
                        " ORDER BY server_seq"
                    )
                )
            ]


def _psql(team: Team, login: str, password: str, sql: str) -> list[list[str]]:
    """Rows of ``sql`` run by `psql` logged in as ``login`` (the password in the
    environment, never on a command line)."""
    if shutil.which("psql") is None:
        pytest.fail("these tests need the psql client (postgresql-client) on the PATH")
    server = pg_admin()
    host, port = server.info.host, server.info.port
    server.close()
    done = subprocess.run(
        [
            "psql",
            "-X",
            "-At",
            "-F",
            "\t",
            "-v",
            "ON_ERROR_STOP=1",
            f"postgresql://{login}@{host}:{port}/{team.database}",
            "-c",
            sql,
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PGPASSWORD": password},
    )
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines()]


def _psql_refused(team: Team, login: str, password: str, sql: str) -> str:
    """The error `psql` gives ``login`` for ``sql`` (which must fail)."""
    server = pg_admin()
    host, port = server.info.host, server.info.port
    server.close()
    done = subprocess.run(
        [
            "psql",
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            f"postgresql://{login}@{host}:{port}/{team.database}",
            "-c",
            sql,
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PGPASSWORD": password},
    )
    assert done.returncode != 0, done.stdout
    return done.stderr


def _seqs(team: Team, login: str, password: str, sql: str) -> set[int]:
    return {int(row[0]) for row in _psql(team, login, password, sql)}


def _fill(store: Store, folder: Path) -> tuple[uuid.UUID, dict[str, str], dict[str, list[str]]]:
    """Two practices, a coordinator covering both, two people at each with a case, a
    goal and an action."""
    epraccur = folder / "epraccur.csv"
    epraccur.write_text(
        epraccur_row("A81001", "THE DENSHAM SURGERY", "00K")
        + "\n"
        + epraccur_row("B82002", "RIVERSIDE PRACTICE", "00K")
        + "\n"
    )
    with store.write(None, "seed") as session:
        import_ods_practices(session, epraccur)
        practice = {
            str(code): str(row_id)
            for code, row_id in session.execute(text("SELECT ods_code, id FROM practice"))
        }
        coordinator = staff.add_staff(
            session,
            family_name="Okafor",
            given_name="Sam",
            profession="gp",
            practice_codes=tuple(PEOPLE),
        ).id
    numbers = iter(synthetic_nhs_numbers(random.Random(14), 4))
    people: dict[str, list[str]] = {code: [] for code in PEOPLE}
    for code, names in PEOPLE.items():
        for name in names:
            with store.write(coordinator, "seed") as session:
                person = patients.register_patient(
                    session,
                    nhs_number=next(numbers),
                    family_name=name,
                    given_name="Alex",
                    date_of_birth=dt.date(1941, 2, 3),
                    practice_id=uuid.UUID(practice[code]),
                )
                case = cases.refer(session, person.id, source=ReferralSource.GP, reason="Falls")
                cases.accept(session, case.id, coordinator_id=coordinator)
                plans.add_goal(session, case.id, description=f"{name}: walk to the shop")
                plans.add_action(
                    session,
                    case.id,
                    description=f"{name}: home visit",
                    owner_id=coordinator,
                    due_on=TODAY + dt.timedelta(days=7),
                )
            people[code].append(person.id.hex)
    return coordinator, practice, people


@pytest.fixture
def team(desks: Any, tmp_path: Path) -> Iterator[Team]:
    admin = pg_admin()
    database = f"hub_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{database}"')
    url = pg_url(database)
    engine = hub_engine(url)
    made: Team | None = None
    try:
        init_hub(engine)
        hub = Hub("postgresql", url, engine)
        full = desks("full")
        coordinator, practice, people = _fill(full, tmp_path)
        sync_once(full, engine, label="full desk")
        with full.read() as session:
            nhs = {
                str(row_id): str(number)
                for row_id, number in session.execute(text("SELECT id, nhs_number FROM patient"))
            }
        made = Team(database, url, hub, full, coordinator, practice, people, nhs)
        yield made
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for login in made.logins if made else []:
            admin.execute(f'DROP ROLE IF EXISTS "{login}"')
        admin.execute(f'DROP ROLE IF EXISTS "{desk_group_name(database)}"')
        admin.close()


def _anchors(people: list[str]) -> set[str]:
    return {f"patient:{person}" for person in people}


def test_psql_as_a_scoped_desk_login_shows_only_its_practices_rows(
    team: Team, tmp_path: Path
) -> None:
    store = tmp_path / "admin.sqlite"
    a_login, a_password = team.login("A81001", store=store)
    full_login, full_password = team.login(store=store)
    log = team.all_changes()
    # What the rule says A's login may read, worked out here from the desk's own records:
    # everyone's rows and those of the people registered at A81001.
    mine = _anchors(team.people["A81001"])
    theirs = _anchors(team.people["B82002"])
    expected = {seq for seq, anchor, _, _ in log if anchor == "*" or anchor in mine}
    hidden = {seq for seq, anchor, _, _ in log if anchor in theirs}
    assert expected and hidden and expected | hidden == {seq for seq, *_ in log}

    seen = _seqs(team, a_login, a_password, "SELECT server_seq FROM hub_change")
    assert seen == expected
    # The people's records: A81001's only, in the log and in the merged state alike.
    values = " ".join(
        row[0] for row in _psql(team, a_login, a_password, "SELECT value FROM hub_change")
    )
    state = " ".join(
        row[0] for row in _psql(team, a_login, a_password, "SELECT value FROM hub_state")
    )
    for words in (values, state):
        for name in PEOPLE["A81001"]:
            assert name in words
        for name in PEOPLE["B82002"]:
            assert name not in words
        for person in team.people["B82002"]:
            assert team.nhs[person] not in words
        assert "Okafor" in words and "RIVERSIDE PRACTICE" in words  # everyone's rows
    people_seen = _psql(
        team,
        a_login,
        a_password,
        "SELECT DISTINCT row_id FROM hub_state WHERE entity = 'patient' ORDER BY 1",
    )
    assert [row[0] for row in people_seen] == sorted(team.people["A81001"])
    practices = "SELECT DISTINCT row_id FROM hub_state WHERE entity = 'practice' ORDER BY 1"
    assert [row[0] for row in _psql(team, a_login, a_password, practices)] == sorted(
        team.practice.values()
    )

    # Nor can it step round the policies: not as its group, nor by reading its ceiling,
    # nor by asking the push's functions for someone never at its practices.
    group = desk_group_name(team.database)
    as_group = _psql(
        team,
        a_login,
        a_password,
        f'SET ROLE "{group}"; SELECT count(*) FROM hub_change',
    )
    assert as_group[-1] == [str(len(expected))]
    assert "permission denied" in _psql_refused(
        team, a_login, a_password, "SELECT * FROM hub_desk_practice"
    )
    other = team.people["B82002"][0]
    asked = f"SELECT count(*) FROM hub_merge_state(ARRAY['patient'], ARRAY['{other}'])"
    assert _psql(team, a_login, a_password, asked) == [["0"]]
    own = team.people["A81001"][0]
    asked = f"SELECT count(*) FROM hub_merge_state(ARRAY['patient'], ARRAY['{own}'])"
    assert int(_psql(team, a_login, a_password, asked)[0][0]) > 5

    # A desk can ask what its login may read (to keep its own scope within it).
    for login, expected_ceiling in ((a_login, {team.practice["A81001"]}), (full_login, None)):
        engine = hub_engine(team.desk_url(login))
        try:
            with engine.connect() as connection:
                assert login_practices(connection) == expected_ceiling
        finally:
            engine.dispose()

    # A login without a ceiling (a full desk, or one made before scopes) reads everything.
    everything = _seqs(team, full_login, full_password, "SELECT server_seq FROM hub_change")
    assert everything == {seq for seq, *_ in log}
    with team.hub.engine.connect() as connection:
        states = connection.execute(text("SELECT count(*) FROM hub_state")).scalar_one()
    assert _psql(team, full_login, full_password, "SELECT count(*) FROM hub_state") == [
        [str(states)]
    ]

    # The administrator changes the ceiling; an unknown practice changes nothing.
    status, output = run(
        "hub", "desk-practices", team.admin_url, a_login, "B82002", "--store", str(store)
    )
    assert status == 0 and "B82002" in output
    theirs_now = {seq for seq, anchor, _, _ in log if anchor == "*" or anchor in theirs}
    assert _seqs(team, a_login, a_password, "SELECT server_seq FROM hub_change") == theirs_now
    status, _ = run(
        "hub", "desk-practices", team.admin_url, a_login, "Z99999", "--store", str(store)
    )
    assert status == 2
    assert _seqs(team, a_login, a_password, "SELECT server_seq FROM hub_change") == theirs_now
    status, _ = run("hub", "desk-practices", team.admin_url, a_login, "all", "--store", str(store))
    assert status == 0
    assert _seqs(team, a_login, a_password, "SELECT server_seq FROM hub_change") == everything


def test_add_desk_with_an_unknown_practice_makes_no_login(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"desk_{uuid.uuid4().hex[:10]}"
    team.logins.append(name)
    status, output = run(
        "hub",
        "add-desk",
        team.admin_url,
        name,
        "--practices",
        "A81001,Z99999",
        "--store",
        str(tmp_path / "admin.sqlite"),
    )
    assert status == 2 and output == ""
    assert "no practice Z99999" in capsys.readouterr().err
    with team.hub.engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM pg_roles WHERE rolname = :n"), {"n": name}
            ).scalar_one()
            == 0
        )


def _move(store: Store, actor: uuid.UUID, person: str, practice_id: str) -> None:
    """The person registers at another practice (as a practice's list import records)."""
    with store.write(actor, "desk") as session:
        found = session.get(Patient, uuid.UUID(person))
        assert found is not None
        found.practice_id = uuid.UUID(practice_id)


def _rename(store: Store, actor: uuid.UUID, person: str, name: str) -> None:
    with store.write(actor, "desk") as session:
        found = session.get(Patient, uuid.UUID(person))
        assert found is not None
        found.family_name = name


def test_a_person_who_moves_practice_passes_from_one_logins_view_to_the_other(
    team: Team, tmp_path: Path
) -> None:
    store = tmp_path / "admin.sqlite"
    a_login, a_password = team.login("A81001", store=store)
    b_login, b_password = team.login("B82002", store=store)
    person = team.people["B82002"][0]
    anchor = f"patient:{person}"
    history = {seq for seq, found, _, _ in team.all_changes() if found == anchor}
    query = f"SELECT server_seq FROM hub_change WHERE scope_anchor = '{anchor}'"
    assert _seqs(team, a_login, a_password, query) == set()
    assert _seqs(team, b_login, b_password, query) == history

    _move(team.full, team.coordinator, person, team.practice["A81001"])
    sync_once(team.full, team.hub.engine, label="full desk")
    moved = {seq for seq, found, _, _ in team.all_changes() if found == anchor}
    with team.hub.engine.connect() as connection:
        move = connection.execute(
            text(
                "SELECT max(server_seq) FROM hub_change WHERE entity = 'patient'"
                " AND row_id = :p AND field = 'practice_id'"
            ),
            {"p": person},
        ).scalar_one()
    assert move in moved - history
    # The new practice's login reads the person's whole history, the move included;
    # the old one still reads the whole moving transaction (its desk learns that they
    # left), and nothing after it.
    assert _seqs(team, a_login, a_password, query) == moved
    assert max(_seqs(team, b_login, b_password, query)) == max(moved)

    _rename(team.full, team.coordinator, person, "Brennan-Moved")
    with team.full.write(team.coordinator, "desk") as session:
        (case_id,) = session.execute(
            text("SELECT id FROM care_case WHERE patient_id = :p"), {"p": person}
        ).one()
        plans.add_goal(session, uuid.UUID(str(case_id)), description="Settle in at A")
    sync_once(team.full, team.hub.engine, label="full desk")
    after = {seq for seq, found, _, _ in team.all_changes() if found == anchor} - moved
    assert after and min(after) > move
    assert _seqs(team, a_login, a_password, query) == moved | after
    assert _seqs(team, b_login, b_password, query) & after == set()
    assert max(_seqs(team, b_login, b_password, query)) == max(moved)
    # What was written after the move is the new practice's alone, in the state too.
    name_query = (
        "SELECT value FROM hub_state WHERE entity = 'patient' AND field = 'family_name'"
        f" AND row_id = '{person}'"
    )
    assert _psql(team, a_login, a_password, name_query) == [['"Brennan-Moved"']]
    assert _psql(team, b_login, b_password, name_query) == []
    goals = "SELECT value FROM hub_state WHERE entity = 'goal' AND field = 'description'"
    assert ['"Settle in at A"'] in _psql(team, a_login, a_password, goals)
    assert ['"Settle in at A"'] not in _psql(team, b_login, b_password, goals)


def test_a_scoped_login_pushes_and_a_duplicate_nhs_number_elsewhere_is_still_found(
    team: Team, desks: Any, tmp_path: Path
) -> None:
    a_login, _ = team.login("A81001", store=tmp_path / "admin.sqlite")
    url = team.desk_url(a_login)
    engine = hub_engine(url)
    try:
        desk = desks("scoped")
        set_scope(desk, DeskScope(codes=("A81001",), follow_staff=False))
        sync_once(desk, engine, label="scoped desk")
        with desk.read() as session:
            held = {
                str(row_id) for (row_id,) in session.execute(text("SELECT id FROM patient")).all()
            }
        assert held == set(team.people["A81001"])

        # A person registered here with the NHS number of someone at the other practice,
        # whom this desk (and its login) cannot see; and an edit to one of its people.
        elsewhere = team.people["B82002"][1]
        number = team.nhs[elsewhere]
        with desk.write(team.coordinator, "scoped desk") as session:
            newcomer = patients.register_patient(
                session,
                nhs_number=number,
                family_name="Armitage",
                given_name="Jo",
                date_of_birth=dt.date(1950, 5, 6),
                practice_id=uuid.UUID(team.practice["A81001"]),
            ).id.hex
            (case_id,) = session.execute(
                text("SELECT id FROM care_case WHERE patient_id = :p"),
                {"p": team.people["A81001"][0]},
            ).one()
            plans.add_goal(session, uuid.UUID(str(case_id)), description="Pushed through RLS")
        report = sync_once(desk, engine, label="scoped desk")
        assert report.pushed > 0
        with team.hub.engine.connect() as connection:
            duplicates = connection.execute(
                text("SELECT row_id, other_row_id FROM hub_conflict WHERE kind = 'duplicate'")
            ).all()
        assert [tuple(row) for row in duplicates] == [(newcomer, elsewhere)]
        # The review item reaches the desk (it is about its own new person), and the full
        # desk; the full desk has the pushed goal and the newcomer.
        sync_once(desk, engine, label="scoped desk")
        items = [item for item in review_items(desk) if item["kind"] == "duplicate"]
        assert [(item["row_id"], item["other_row_id"]) for item in items] == [(newcomer, elsewhere)]
        sync_once(team.full, team.hub.engine, label="full desk")
        assert [
            item["row_id"] for item in review_items(team.full) if item["kind"] == "duplicate"
        ] == [newcomer]
        with team.full.read() as session:
            assert (
                session.execute(
                    text("SELECT count(*) FROM goal WHERE description = 'Pushed through RLS'")
                ).scalar_one()
                == 1
            )
        assert_matches_hub(team.full, team.hub)
        # Nothing of the other practice's person reached the scoped desk.
        with desk.read() as session:
            assert (
                session.execute(
                    text("SELECT count(*) FROM patient WHERE id = :p"), {"p": elsewhere}
                ).scalar_one()
                == 0
            )

        # Another practice's login cannot pass for this desk to read its changes back.
        b_login, b_password = team.login("B82002", store=tmp_path / "admin.sqlite")
        site = desk.replica_id.hex
        theirs = f"SELECT count(*) FROM hub_change WHERE row_id = '{newcomer}'"
        assert _psql(team, b_login, b_password, theirs) == [["0"]]
        _psql(team, b_login, b_password, f"SELECT hub_note_pull('{site}', 'x', 9, 0, 'x')")
        assert _psql(team, b_login, b_password, theirs) == [["0"]]
        with team.hub.engine.connect() as connection:
            assert (
                connection.execute(
                    text("SELECT login FROM hub_replica WHERE site_id = :s"), {"s": site}
                ).scalar_one()
                == a_login
            )
    finally:
        engine.dispose()


def test_an_edit_made_before_a_move_away_merges_by_the_hubs_real_state(
    team: Team, desks: Any, tmp_path: Path
) -> None:
    """The desk of the practice a person leaves sends an edit made offline before it
    knew: its login can no longer read the person's newer rows, yet the merge weighs the
    edit against them (a later edit elsewhere wins, the clash is recorded), never
    overwrites them."""
    a_login, _ = team.login("A81001", store=tmp_path / "admin.sqlite")
    engine = hub_engine(team.desk_url(a_login))
    try:
        desk = desks("scoped")
        set_scope(desk, DeskScope(codes=("A81001",), follow_staff=False))
        sync_once(desk, engine, label="scoped desk")
        person = team.people["A81001"][0]
        with desk.read() as session:
            (action_id,) = session.execute(
                text(
                    "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
                    " WHERE c.patient_id = :p"
                ),
                {"p": person},
            ).one()
        action = uuid.UUID(str(action_id))
        with desk.write(team.coordinator, "scoped desk") as session:
            plans.update_action(session, action, description="Typed at A, offline")
        _move(team.full, team.coordinator, person, team.practice["B82002"])
        with team.full.write(team.coordinator, "full desk") as session:
            plans.update_action(session, action, description="Changed at B, later")
        sync_once(team.full, team.hub.engine, label="full desk")

        sync_once(desk, engine, label="scoped desk")
        description = (
            "SELECT value FROM hub_state WHERE entity = 'action' AND row_id = :r"
            " AND field = 'description'"
        )
        with team.hub.engine.connect() as connection:
            assert connection.execute(
                text(description), {"r": action.hex}
            ).scalar_one() == json.dumps("Changed at B, later")
            clashes = (
                connection.execute(
                    text("SELECT kind FROM hub_conflict WHERE entity = 'action' AND row_id = :r"),
                    {"r": action.hex},
                )
                .scalars()
                .all()
            )
            # Anchored by its record even though the login no longer reads it: the edit
            # is the person's, never everyone's.
            anchors = (
                connection.execute(
                    text("SELECT DISTINCT scope_anchor FROM hub_change WHERE row_id = :r"),
                    {"r": action.hex},
                )
                .scalars()
                .all()
            )
        assert clashes == ["same_field"]
        assert anchors == [f"patient:{person}"]
        sync_once(team.full, team.hub.engine, label="full desk")
        with team.full.read() as session:
            assert (
                session.execute(
                    text("SELECT description FROM action WHERE id = :r"), {"r": action.hex}
                ).scalar_one()
                == "Changed at B, later"
            )
        assert [item["kind"] for item in review_items(team.full)] == ["same_field"]
        assert_matches_hub(team.full, team.hub)
    finally:
        engine.dispose()


def test_a_push_into_records_the_login_may_no_longer_read_is_refused_and_kept(
    team: Team, desks: Any, tmp_path: Path
) -> None:
    """The administrator narrows a login under a desk that holds records outside the
    new ceiling: the desk's edit to one of them is refused with nothing written (never
    merged as if the record were new, nor sent to everyone), kept, and goes once the
    login is given the practice again."""
    store = tmp_path / "admin.sqlite"
    a_login, _ = team.login("A81001", store=store)
    engine = hub_engine(team.desk_url(a_login))
    try:
        desk = desks("scoped")
        set_scope(desk, DeskScope(codes=("A81001",), follow_staff=False))
        sync_once(desk, engine, label="scoped desk")
        person = team.people["A81001"][0]
        with desk.read() as session:
            (action_id,) = session.execute(
                text(
                    "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
                    " WHERE c.patient_id = :p"
                ),
                {"p": person},
            ).one()
        action = uuid.UUID(str(action_id))
        status, _ = run(
            "hub", "desk-practices", team.admin_url, a_login, "B82002", "--store", str(store)
        )
        assert status == 0
        with desk.write(team.coordinator, "scoped desk") as session:
            plans.update_action(session, action, description="Edited after the narrowing")
        before = team.hub.last_seq()
        with pytest.raises(HubError, match="may no longer read"):
            sync_once(desk, engine, label="scoped desk")
        assert team.hub.last_seq() == before
        assert outbox_count(desk) > 0
        status, _ = run(
            "hub", "desk-practices", team.admin_url, a_login, "A81001", "--store", str(store)
        )
        assert status == 0
        sync_once(desk, engine, label="scoped desk")
        assert outbox_count(desk) == 0
        with team.hub.engine.connect() as connection:
            assert connection.execute(
                text(
                    "SELECT value FROM hub_state WHERE entity = 'action' AND row_id = :r"
                    " AND field = 'description'"
                ),
                {"r": action.hex},
            ).scalar_one() == json.dumps("Edited after the narrowing")
    finally:
        engine.dispose()


def test_hub_status_shows_the_practices_each_login_is_held_to(
    team: Team, desks: Any, tmp_path: Path
) -> None:
    a_login, _ = team.login("A81001", store=tmp_path / "admin.sqlite")
    engine = hub_engine(team.desk_url(a_login))
    try:
        desk = desks("scoped")
        set_scope(desk, DeskScope(codes=("A81001",), follow_staff=False))
        sync_once(desk, engine, label="scoped desk")
    finally:
        engine.dispose()
    status = read_hub_status(team.hub.engine)  # as the administrator
    (scoped,) = [found for found in status.desks if found.login == a_login]
    assert scoped.covers == ("A81001",)
    assert all(found.covers == ALL_PRACTICES for found in status.desks if found is not scoped)
