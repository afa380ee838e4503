"""Signing in on the command line: `--as STAFF_ID` with a PIN, roles, leavers, the log.

Run on a demo store, where every staff member's PIN is 246810 and every role is held by
someone. The PIN goes in on standard input (`--pin-stdin`) or the terminal (`getpass`),
never as an argument.
"""

import datetime as dt
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from mdt_desk.cli import EXIT_NOT_ALLOWED, SETUP_NOTICE, main
from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import PASSPHRASE_ENV
from mdt_desk.resources import resource_path
from mdt_desk.services.demo import generate_demo, is_demo_store
from mdt_desk.services.sign_in import DEMO_PIN
from tests import store_sql
from tests.cli_sign_in import demo_chair, demo_staff_with
from tests.shared_stores import copy_store, made_sealed, sealed_key

#: A PIN no demo data could hold by chance, for scanning the store's bytes.
NEW_PIN = "Quill-Harbour-7391"


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("access-demo") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=40, seed=11)
    return path, sealed_key(path)


@pytest.fixture
def store_path(demo_made: tuple[Path, bytes], tmp_path: Path) -> str:
    return str(copy_store(*demo_made, tmp_path / "desk.sqlite"))


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> tuple[int, str]:
    """`mdt-desk ARGV` in-process with ``stdin`` as standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def run_as(
    monkeypatch: pytest.MonkeyPatch, staff_id: str, *argv: str, pin: str = DEMO_PIN
) -> tuple[int, str]:
    return run(monkeypatch, *argv, "--as", staff_id, "--pin-stdin", stdin=pin + "\n")


def query(store: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with closing(store_sql.connect(store)) as db:
        return db.execute(sql, params).fetchall()


def records(store: str) -> tuple[object, ...]:
    """What a command might change: the journal (but the access log) and the records."""
    counts = [
        query(store, "SELECT count(*) FROM journal_change WHERE entity != 'access_event'")[0][0]
    ]
    for table in ("patient", "care_case", "action", "note", "meeting", "print_record", "staff"):
        counts.append(query(store, f"SELECT count(*) FROM {table}")[0][0])
    return tuple(counts)


def access_actions(store: str) -> list[str]:
    return [str(row[0]) for row in query(store, "SELECT action FROM access_event ORDER BY at")]


def person_with_open_case(store: str) -> str:
    return str(
        query(
            store,
            "SELECT p.nhs_number FROM patient p JOIN care_case c ON c.patient_id = p.id"
            " WHERE c.status = 'active' ORDER BY p.nhs_number LIMIT 1",
        )[0][0]
    )


def staff_name(store: str, staff_id: str) -> str:
    given, family = query(
        store, "SELECT given_name, family_name FROM staff WHERE id = ?", staff_id
    )[0]
    return f"{given} {family}"


def patients_file(tmp_path: Path, store: str) -> Path:
    code = query(store, "SELECT ods_code FROM practice ORDER BY ods_code LIMIT 1")[0][0]
    path = tmp_path / "patients.csv"
    path.write_text(
        "nhs_number,family_name,given_name,date_of_birth,practice_code\n"
        f"9434765919,Newcome,Ada,1945-07-14,{code}\n"
    )
    return path


# -- a wrong PIN ----------------------------------------------------------------------


def test_a_wrong_pin_exits_2_and_changes_nothing(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    admin = demo_staff_with(store_path, "team_administrator")
    chair = demo_chair(store_path)
    before, logged = records(store_path), access_actions(store_path)
    capsys.readouterr()

    status, output = run_as(
        monkeypatch,
        admin,
        "patients",
        "import",
        str(patients_file(tmp_path, store_path)),
        "--store",
        store_path,
        pin="135790",
    )
    err = capsys.readouterr().err
    assert (status, output) == (2, "")
    assert f"PIN not recognised for {staff_name(store_path, admin)}." in err
    assert "usage:" not in err
    out = tmp_path / "plan.pdf"
    status, _ = run_as(
        monkeypatch,
        chair,
        "careplan",
        "--nhs",
        person_with_open_case(store_path),
        "--out",
        str(out),
        "--store",
        store_path,
        pin="135790",
    )
    assert status == 2 and not out.exists()

    assert records(store_path) == before
    # Only the failures are recorded, in the access log.
    assert access_actions(store_path) == [*logged, "sign_in_failed", "sign_in_failed"]


# -- roles ------------------------------------------------------------------------------


REFUSALS = [
    ("observer", ["patients", "import", "FILE"], "importing patients"),
    ("observer", ["careplan", "--nhs", "NHS", "--out", "OUT"], "printing the care plans"),
    ("team_member", ["export", "-o", "OUT"], "exporting records"),
    ("care_navigator", ["actions", "list"], "reading clinical records"),
    ("privacy_officer", ["staff", "leave", "CHAIR", "--on", "today"], "managing staff"),
    ("observer", ["practices", "import", "PRACTICES"], "importing GP practices"),
    (
        "observer",
        [
            "meetings",
            "schedule",
            "--practice",
            "CODE",
            "--date",
            "DATE",
            "--time",
            "13:00",
            "--place",
            "Library",
        ],
        "scheduling meetings",
    ),
    ("care_navigator", ["agenda", "propose", "--meeting", "MEETING"], "building agendas"),
    ("team_member", ["access-log", "--nhs", "NHS"], "reading the access log"),
    ("team_administrator", ["meetings", "list"], "reading the caseload"),
    (
        "team_member",
        ["caseload", "--practice", "CODE", "--out", "OUT"],
        "printing caseload lists",
    ),
]


def _argv(words: list[str], store: str, tmp_path: Path) -> list[str]:
    values = {
        "FILE": str(patients_file(tmp_path, store)),
        "NHS": person_with_open_case(store),
        "OUT": str(tmp_path / "out.file"),
        "CHAIR": demo_chair(store),
        "PRACTICES": str(resource_path("demo", "practices.csv")),
        "CODE": str(query(store, "SELECT ods_code FROM practice ORDER BY ods_code LIMIT 1")[0][0]),
        "DATE": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "MEETING": str(
            uuid.UUID(
                str(query(store, "SELECT id FROM meeting WHERE status = 'planned' LIMIT 1")[0][0])
            )
        ),
    }
    return [values.get(word, word) for word in words]


@pytest.mark.parametrize(
    ("role", "words", "doing"),
    REFUSALS,
    ids=[f"{r[0]}-{'-'.join(r[1][:2])}" for r in REFUSALS],
)
def test_a_role_that_may_not_is_refused_with_status_4_and_nothing_written(
    store_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    role: str,
    words: list[str],
    doing: str,
) -> None:
    who = demo_staff_with(store_path, role)
    argv = _argv(words, store_path, tmp_path)
    before = records(store_path)
    capsys.readouterr()
    status, output = run_as(monkeypatch, who, *argv, "--store", store_path)
    err = capsys.readouterr().err
    assert status == EXIT_NOT_ALLOWED, err
    assert output == "" and "usage:" not in err
    assert f"does not allow {doing}" in err
    assert records(store_path) == before
    assert not (tmp_path / "out.file").exists()
    assert not {"print", "export"} & set(access_actions(store_path))


def test_the_roles_that_may_do_it_succeed_with_their_pin(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = demo_staff_with(store_path, "team_administrator")
    status, output = run_as(
        monkeypatch,
        admin,
        "patients",
        "import",
        str(patients_file(tmp_path, store_path)),
        "--store",
        store_path,
        "--json",
    )
    assert status == 0 and json.loads(output)["imported"] == 1

    privacy = demo_staff_with(store_path, "privacy_officer")
    exported = tmp_path / "export.json"
    status, _ = run_as(
        monkeypatch,
        privacy,
        "export",
        "-o",
        str(exported),
        "--purpose",
        "subject access request",
        "--store",
        store_path,
    )
    assert status == 0 and json.loads(exported.read_text())["tables"]["patient"]
    # One row for the whole store, with the purpose: an export is about no single person.
    assert query(
        store_path, "SELECT staff_id, patient_id, reason FROM access_event WHERE action = 'export'"
    ) == [(privacy.replace("-", ""), None, "subject access request")]


def test_staff_ids_are_taken_with_or_without_dashes_in_any_case(
    store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chair = demo_chair(store_path)
    dashed = str(uuid.UUID(chair)).upper()
    status, _ = run_as(monkeypatch, dashed, "conflicts", "--store", store_path)
    assert status == 0


# -- set-up, and --as missing ---------------------------------------------------------


def test_in_set_up_commands_run_without_as_and_say_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    store = str(tmp_path / "new.sqlite")
    practices = str(resource_path("demo", "practices.csv"))
    assert run(monkeypatch, "practices", "import", practices, "--store", store)[0] == 0
    assert capsys.readouterr().err.count(SETUP_NOTICE) == 1
    status, output = run(
        monkeypatch,
        "staff",
        "add",
        "--family-name",
        "Okafor",
        "--given-name",
        "Ngozi",
        "--profession",
        "social_worker",
        "--store",
        store,
        "--json",
    )
    assert status == 0
    assert json.loads(output)["roles"] == ["care_coordinator", "team_administrator"]
    status, output = run(
        monkeypatch,
        "staff",
        "add",
        "--family-name",
        "Visitor",
        "--given-name",
        "Val",
        "--profession",
        "voluntary_sector",
        "--role",
        "observer",
        "--role",
        "Team member",
        "--store",
        store,
        "--json",
    )
    assert status == 0 and json.loads(output)["roles"] == ["team_member", "observer"]
    status, output = run(
        monkeypatch,
        "staff",
        "add",
        "--family-name",
        "Third",
        "--given-name",
        "Tom",
        "--profession",
        "pharmacist",
        "--store",
        store,
        "--json",
    )
    assert json.loads(output)["roles"] == ["team_member"]


def test_past_set_up_a_command_without_as_exits_2_with_no_usage_line(
    store_path: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    before = records(store_path)
    capsys.readouterr()
    status, output = run(monkeypatch, "actions", "list", "--store", store_path)
    err = capsys.readouterr().err
    assert (status, output) == (2, "")
    assert "`mdt-desk actions list` needs --as STAFF_ID" in err and "usage:" not in err
    assert records(store_path) == before


# -- PINs -------------------------------------------------------------------------------


def test_the_pin_is_asked_for_on_the_terminal_without_pin_stdin(
    store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chair = demo_chair(store_path)
    prompts: list[str] = []

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        return DEMO_PIN

    monkeypatch.setattr("getpass.getpass", typed)
    status, _ = run(monkeypatch, "conflicts", "--as", chair, "--store", store_path)
    assert status == 0
    assert prompts == [f"PIN for {staff_name(store_path, chair)}: "]


@pytest.mark.slow
def test_set_pin_own_and_one_time_and_the_pin_is_never_stored(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    admin = demo_staff_with(store_path, "team_administrator")
    nurse = demo_staff_with(store_path, "team_member")
    chair = demo_chair(store_path)
    # Your own: the acting PIN on the first line, the new one on the second.
    status, output = run(
        monkeypatch,
        "staff",
        "set-pin",
        chair,
        "--as",
        chair,
        "--pin-stdin",
        "--store",
        store_path,
        stdin=f"{DEMO_PIN}\n{NEW_PIN}\n",
    )
    assert status == 0 and output.startswith("PIN set for")
    assert run_as(monkeypatch, chair, "conflicts", "--store", store_path)[0] == 2
    assert run_as(monkeypatch, chair, "conflicts", "--store", store_path, pin=NEW_PIN)[0] == 0

    # Someone else's: only an administrator, and it is a one-time PIN.
    status, _ = run(
        monkeypatch,
        "staff",
        "set-pin",
        admin,
        "--as",
        nurse,
        "--pin-stdin",
        "--store",
        store_path,
        stdin=f"{DEMO_PIN}\n{NEW_PIN}\n",
    )
    assert status == EXIT_NOT_ALLOWED
    status, output = run(
        monkeypatch,
        "staff",
        "set-pin",
        nurse,
        "--as",
        admin,
        "--pin-stdin",
        "--store",
        store_path,
        stdin=f"{DEMO_PIN}\n{NEW_PIN}\n",
    )
    assert status == 0 and "one-time" in output
    capsys.readouterr()
    status, _ = run_as(monkeypatch, nurse, "conflicts", "--store", store_path, pin=NEW_PIN)
    assert status == 2 and "one-time PIN" in capsys.readouterr().err
    status, _ = run(
        monkeypatch,
        "staff",
        "set-pin",
        nurse,
        "--as",
        nurse,
        "--pin-stdin",
        "--store",
        store_path,
        stdin=f"{NEW_PIN}\n{NEW_PIN}-2\n",
    )
    assert status == 0
    assert (
        run_as(monkeypatch, nurse, "conflicts", "--store", store_path, pin=NEW_PIN + "-2")[0] == 0
    )
    exported = tmp_path / "export.json"
    assert (
        run_as(
            monkeypatch, chair, "export", "-o", str(exported), "--store", store_path, pin=NEW_PIN
        )[0]
        == 0
    )

    # Nowhere: not the store, its WAL, the journal, the export or anything printed.
    files = [path for path in tmp_path.iterdir() if path.is_file()]
    assert Path(store_path) in files
    for path in files:  # the store, its WAL and shared memory while there, the export
        assert NEW_PIN.encode() not in path.read_bytes(), path.name
    journal = query(store_path, "SELECT group_concat(new_value, '') FROM journal_change")[0][0]
    assert NEW_PIN not in str(journal)
    captured = capsys.readouterr()
    assert NEW_PIN not in captured.out + captured.err


def test_the_new_pin_typed_twice_must_match(
    store_path: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chair = demo_chair(store_path)
    typed = iter([DEMO_PIN, NEW_PIN, NEW_PIN + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    before = records(store_path)
    status, _ = run(monkeypatch, "staff", "set-pin", chair, "--as", chair, "--store", store_path)
    assert status == 2 and "The two PINs typed differ" in capsys.readouterr().err
    assert records(store_path) == before


def test_a_leaver_cannot_sign_in(store_path: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    admin = demo_staff_with(store_path, "team_administrator")
    chair = demo_chair(store_path)
    last_day = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    status, output = run_as(
        monkeypatch, admin, "staff", "leave", chair, "--on", last_day, "--store", store_path
    )
    assert status == 0 and last_day in output
    capsys.readouterr()
    status, _ = run_as(monkeypatch, chair, "conflicts", "--store", store_path)
    assert status == 2 and "has left the team" in capsys.readouterr().err


# -- the staff directory, the access log and the demo ---------------------------------


def test_staff_list_json_has_roles_and_pin_set_and_never_a_hash(
    store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, output = run(monkeypatch, "staff", "list", "--json", "--store", store_path)
    assert status == 0
    assert "argon2" not in output and "pin_hash" not in output
    staff = json.loads(output)
    assert all(member["pin_set"] is True and member["roles"] for member in staff)
    assert {"roles", "pin_set", "left_on", "signed_in"} <= set(staff[0])
    assert {role for member in staff for role in member["roles"]} == {r.value for r in Role}


@pytest.mark.slow
def test_access_log_lists_the_print_of_a_care_plan(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chair = demo_chair(store_path)
    nhs = person_with_open_case(store_path)
    status, _ = run_as(
        monkeypatch,
        chair,
        "careplan",
        "--nhs",
        nhs,
        "--out",
        str(tmp_path / "plan.pdf"),
        "--purpose",
        "home visit",
        "--store",
        store_path,
    )
    assert status == 0
    privacy = demo_staff_with(store_path, "privacy_officer")
    status, output = run_as(
        monkeypatch, privacy, "access-log", "--nhs", nhs, "--json", "--store", store_path
    )
    assert status == 0
    entries = json.loads(output)
    printed = [entry for entry in entries if entry["action"] == "print"]
    assert len(printed) == 1
    assert printed[0]["staff_id"].replace("-", "") == chair.replace("-", "")
    assert printed[0]["staff_name"] == staff_name(store_path, chair)
    assert printed[0]["reason"] == "home visit" and printed[0]["desk"]
    assert dt.datetime.fromisoformat(printed[0]["at"])
    # An observer may not read who looked.
    observer = demo_staff_with(store_path, "observer")
    status, _ = run_as(monkeypatch, observer, "access-log", "--nhs", nhs, "--store", store_path)
    assert status == EXIT_NOT_ALLOWED


def test_a_careplan_without_purpose_is_logged_as_not_stated(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chair = demo_chair(store_path)
    nhs = person_with_open_case(store_path)
    status, _ = run_as(
        monkeypatch,
        chair,
        "careplan",
        "--nhs",
        nhs,
        "--out",
        str(tmp_path / "plan.pdf"),
        "--store",
        store_path,
    )
    assert status == 0
    assert query(store_path, "SELECT reason FROM access_event WHERE action = 'print'") == [
        ("not stated",)
    ]


def test_the_demo_prints_its_pin_and_has_every_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "demo.sqlite")
    status, output = run(monkeypatch, "demo", "--patients", "5", "--store", store)
    assert status == 0
    assert "Every demo staff member's PIN is 246810." in output
    roles = {
        role for (text,) in query(store, "SELECT roles FROM staff") for role in str(text).split()
    }
    assert roles == {role.value for role in Role}
    with Store.open(store) as opened:
        assert is_demo_store(opened)
    # A store past set-up is never filled with demo staff whose PIN everyone knows.
    status, _ = run(monkeypatch, "demo", "--patients", "5", "--store", store)
    assert status == 2


# -- a real process -------------------------------------------------------------------


@pytest.fixture
def child_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The child cannot see this test's in-memory keyring: stores made or copied from
    here on are sealed by a store passphrase, which the child is given."""
    monkeypatch.setenv(PASSPHRASE_ENV, "access tests store passphrase")
    yield {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


@pytest.mark.slow
def test_the_pin_is_not_in_the_process_list_or_environment(
    demo_made: tuple[Path, bytes], tmp_path: Path, child_environment: dict[str, str]
) -> None:
    store_path = str(copy_store(*demo_made, tmp_path / "desk.sqlite"))
    chair = demo_chair(store_path)
    argv = [sys.executable, "-m", "mdt_desk.cli", "conflicts", "--json"]
    argv += ["--as", chair, "--pin-stdin", "--store", store_path]
    child = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_environment,
    )
    try:
        # The child waits for its PIN on standard input: look at it while it does.
        proc = Path("/proc") / str(child.pid)
        if proc.exists():
            assert DEMO_PIN.encode() not in (proc / "cmdline").read_bytes()
            assert DEMO_PIN.encode() not in (proc / "environ").read_bytes()
        listing = subprocess.run(
            ["ps", "-ww", "-eo", "args"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        assert "--pin-stdin" in listing or not listing  # the child is there to see
        assert DEMO_PIN not in listing
        out, err = child.communicate(DEMO_PIN.encode() + b"\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err.decode()
    assert json.loads(out) == []
    assert DEMO_PIN.encode() not in out + err


# -- sync: a new desk joins without a PIN ---------------------------------------------


@pytest.mark.slow
def test_a_new_desk_joins_in_set_up_and_a_wrong_pin_keeps_what_was_pulled(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    hub = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    chair = demo_chair(store_path)
    assert run(monkeypatch, "hub", "init", hub)[0] == 0
    # Past set-up, the demo desk syncs as a person: without --as it is refused.
    assert run(monkeypatch, "sync", "--hub", hub, "--store", store_path)[0] == 2
    assert run_as(monkeypatch, chair, "sync", "--hub", hub, "--store", store_path)[0] == 0

    new_desk = str(tmp_path / "new-desk.sqlite")
    capsys.readouterr()
    status, _ = run_as(
        monkeypatch,
        chair,
        *("sync", "--hub", hub, "--store", new_desk, "--practices", "all"),
        pin="135790",
    )
    err = capsys.readouterr().err
    assert status == 2 and f"PIN not recognised for {staff_name(store_path, chair)}." in err
    assert SETUP_NOTICE in err  # it joined as initial set-up
    assert records(new_desk)[1:] == records(store_path)[1:]  # the pulled records stay
