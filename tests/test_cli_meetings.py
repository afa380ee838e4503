"""`mdt-desk meetings` and `mdt-desk agenda`, on a demo store."""

import datetime as dt
import json
from pathlib import Path

import pytest

from mdt_desk.cli import build_parser
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.meetings import LONDON
from tests.cli_sign_in import run  # signed in as the demo's chair
from tests.shared_stores import copy_store, made_sealed, sealed_key


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=300, seed=3)
    return path, sealed_key(path)


@pytest.fixture
def store_path(demo_made: tuple[Path, bytes], tmp_path: Path) -> str:
    """A copy of the demo store for one test to change."""
    return str(copy_store(*demo_made, tmp_path / "desk.sqlite"))


def meetings_json(store: str, *options: str) -> list[dict[str, object]]:
    status, output = run("meetings", "list", "--store", store, "--json", *options)
    assert status == 0
    listed: list[dict[str, object]] = json.loads(output)
    return listed


def test_meetings_list_shows_each_meeting(store_path: str) -> None:
    listed = meetings_json(store_path)
    assert listed
    keys = {
        "id",
        "title",
        "practice_code",
        "starts_at",
        "starts_text",
        "duration_minutes",
        "status",
        "chair",
        "item_count",
    }
    assert all(keys <= set(meeting) for meeting in listed)
    starts = [dt.datetime.fromisoformat(str(m["starts_at"])) for m in listed]
    assert starts == sorted(starts) and all(s.utcoffset() == dt.timedelta(0) for s in starts)
    assert {m["status"] for m in listed} >= {"finished", "planned"}
    code = str(listed[0]["practice_code"])
    own = meetings_json(store_path, "--practice", code.lower())
    assert own and all(m["practice_code"] == code for m in own)
    status, text_output = run("meetings", "list", "--store", store_path)
    assert status == 0 and len(text_output.splitlines()) == len(listed)
    assert str(listed[0]["starts_text"]) in text_output


@pytest.mark.slow
def test_agenda_propose_gives_reasons_for_every_case(store_path: str) -> None:
    planned = [m for m in meetings_json(store_path) if m["status"] == "planned"]
    assert planned
    proposed_somewhere = False
    for meeting in planned:
        status, output = run(
            "agenda", "propose", "--meeting", str(meeting["id"]), "--store", store_path, "--json"
        )
        assert status == 0
        proposals = json.loads(output)
        proposed_somewhere = proposed_somewhere or bool(proposals)
        for proposal in proposals:
            assert proposal["reasons"], proposal
            assert all(r["code"] and r["text"] for r in proposal["reasons"])
            assert proposal["reason"] == proposal["reasons"][0]["code"]
            assert proposal["suggested_minutes"] >= 5
            # A carry count is shown exactly when the case was carried over.
            carried = any(r["code"] == "carried_over" for r in proposal["reasons"])
            assert (proposal["carried_count"] > 0) == carried, proposal
            assert proposal["patient_name"] and len(proposal["nhs_number_text"]) == 12
            assert proposal["practice_code"]
    assert proposed_somewhere
    status, output = run(
        "agenda", "propose", "--meeting", str(planned[0]["id"]), "--store", store_path
    )
    assert status == 0 and output.rstrip().endswith("cases proposed.")


def test_schedule_a_fortnightly_series_and_find_it_in_the_list(store_path: str) -> None:
    code = str(meetings_json(store_path)[0]["practice_code"])
    first = dt.datetime.now(LONDON).date() + dt.timedelta(days=10)
    status, output = run(
        "meetings",
        "schedule",
        "--store",
        store_path,
        "--practice",
        code,
        "--date",
        first.isoformat(),
        "--time",
        "13:30",
        "--minutes",
        "60",
        "--place",
        "Practice library",
        "--every-weeks",
        "2",
        "--count",
        "3",
        "--json",
    )
    assert status == 0, output
    made = json.loads(output)
    assert len(made) == 3 and len({m["series_id"] for m in made}) == 1
    assert all(m["duration_minutes"] == 60 and m["chair"] for m in made)
    assert all(m["status"] == "planned" and m["item_count"] == 0 for m in made)
    local = [dt.datetime.fromisoformat(m["starts_at"]).astimezone(LONDON) for m in made]
    assert [d.date() for d in local] == [first + dt.timedelta(weeks=2 * n) for n in range(3)]
    assert {(d.hour, d.minute) for d in local} == {(13, 30)}
    listed = {m["id"] for m in meetings_json(store_path, "--practice", code)}
    assert {m["id"] for m in made} <= listed
    status, output = run(
        "agenda", "propose", "--meeting", made[0]["id"], "--store", store_path, "--json"
    )
    assert status == 0 and all(p["reasons"] for p in json.loads(output))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--date", "2020-01-07"], "That date has passed"),
        (["--date", "next Tuesday"], "is not a date MDT Desk can read"),
        (["--time", "1pm"], "is not a time: give it as HH:MM"),
        (["--minutes", "5"], "between 15 minutes and 8 hours"),
        (["--place", ""], "Say where the meeting is"),
        (["--practice", "Z99999"], "There is no practice 'Z99999'"),
        (["--chair", "nobody"], "'nobody' is not a staff id"),
        (["--chair", "00000000-0000-0000-0000-000000000000"], "Choose who chairs"),
        (["--invite", "00000000-0000-0000-0000-000000000000"], "not on the team"),
        (["--every-weeks", "2"], "--every-weeks needs --count"),
        (["--count", "3"], "--count needs --every-weeks"),
        (["--every-weeks", "9", "--count", "2"], "Repeat every 1 to 8 weeks"),
    ],
)
@pytest.mark.slow
def test_schedule_refuses_bad_input_with_exit_2(
    store_path: str, capsys, options: list[str], message: str
) -> None:
    code = str(meetings_json(store_path)[0]["practice_code"])
    before = len(meetings_json(store_path))
    capsys.readouterr()
    defaults = {
        "--practice": code,
        "--date": "2030-01-08",
        "--time": "13:00",
        "--place": "Library",
    }
    for flag, value in zip(options[::2], options[1::2], strict=True):
        defaults[flag] = value
    argv = [item for pair in defaults.items() for item in pair]
    status, output = run("meetings", "schedule", "--store", store_path, *argv)
    assert status == 2 and output == ""
    assert message in capsys.readouterr().err
    assert len(meetings_json(store_path)) == before


def schedule_on(store_path: str, day: str) -> tuple[int, str]:
    code = str(meetings_json(store_path)[0]["practice_code"])
    return run(
        "meetings",
        "schedule",
        "--store",
        store_path,
        "--practice",
        code,
        "--date",
        day,
        "--time",
        "13:00",
        "--place",
        "Library",
        "--json",
    )


@pytest.mark.parametrize(
    ("day", "why"),
    [
        ("2026-02-30", "February 2026 has 28 days"),
        ("2028-02-30", "February 2028 has 29 days"),
        ("2031-04-31", "April 2031 has 30 days"),
        ("2031-13-01", "there is no month 13"),
        ("31/06/2031", "June 2031 has 30 days"),
    ],
)
def test_a_date_that_cannot_exist_is_named_and_explained(
    store_path: str, capsys, day: str, why: str
) -> None:
    before = len(meetings_json(store_path))
    capsys.readouterr()
    status, output = schedule_on(store_path, day)
    error = capsys.readouterr().err
    assert status == 2 and output == ""
    assert error.startswith(f"mdt-desk: --date '{day}' is not a real date: ")
    assert why in error
    assert "Traceback" not in error and len(error.splitlines()) == 1
    assert len(meetings_json(store_path)) == before


def test_the_date_is_read_as_every_date_field_reads_it(store_path: str) -> None:
    """The one date reader (services.dates): the CUI form and UK order work too."""
    for typed in ("14-Jan-2031", "21/01/2031", "2031-01-28"):
        status, output = schedule_on(store_path, typed)
        assert status == 0, output
    days = sorted(
        dt.datetime.fromisoformat(str(m["starts_at"])).astimezone(LONDON).date()
        for m in meetings_json(store_path)
        if str(m["starts_at"]).startswith("2031-01")
    )
    assert days == [dt.date(2031, 1, 14), dt.date(2031, 1, 21), dt.date(2031, 1, 28)]


def test_propose_for_an_unknown_meeting_exits_2(store_path: str, capsys) -> None:
    status, _ = run("agenda", "propose", "--meeting", "x", "--store", store_path)
    assert status == 2 and "'x' is not a meeting id" in capsys.readouterr().err
    status, _ = run(
        "agenda",
        "propose",
        "--meeting",
        "00000000-0000-0000-0000-000000000000",
        "--store",
        store_path,
    )
    assert status == 2 and "That meeting is not in this store." in capsys.readouterr().err


def test_meetings_need_an_existing_store(tmp_path: Path, capsys) -> None:
    status, _ = run("meetings", "list", "--store", str(tmp_path / "none.sqlite"))
    assert status == 2 and "There is no MDT Desk store" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", [["meetings", "list"], ["meetings", "schedule"], ["agenda", "propose"]]
)
def test_meeting_commands_have_help_and_a_store_option(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "--store PATH" in capsys.readouterr().out
