"""`mdt-desk actions list`: one definition of overdue, checked against raw SQL on a demo store."""

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from tests.test_cli import run

REQUIRED = {"id", "case_id", "nhs_number", "description", "owner_id", "due_on", "status"}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("actions") / "demo.sqlite"
    with Store.open(path) as store:
        generate_demo(store, patients=300, seed=5)
    return path


def overdue_by_raw_sql(path: Path, owner: uuid.UUID | None) -> set[str]:
    """The issue's definition, written independently of the services."""
    today = dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    sql = (
        "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
        " JOIN patient p ON p.id = c.patient_id"
        " WHERE a.status IN ('open', 'in_progress') AND a.due_on < ?"
        " AND a.retired_at IS NULL AND c.retired_at IS NULL AND p.retired_at IS NULL"
    )
    parameters: list[str] = [today]
    if owner is not None:
        sql += " AND a.owner_id = ?"
        parameters.append(owner.hex)
    with sqlite3.connect(path) as connection:
        return {str(uuid.UUID(row[0])) for row in connection.execute(sql, parameters)}


def busiest_owner(path: Path) -> uuid.UUID:
    today = dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT owner_id, count(*) FROM action WHERE status IN ('open', 'in_progress')"
            " AND due_on < ? AND retired_at IS NULL GROUP BY owner_id ORDER BY 2 DESC LIMIT 1",
            (today,),
        ).fetchone()
    assert row is not None, "the demo has no overdue action"
    return uuid.UUID(row[0])


def test_overdue_json_for_an_owner_agrees_with_the_definition(demo_file: Path) -> None:
    owner = busiest_owner(demo_file)
    # Any case, with or without dashes.
    status, output = run(
        "actions",
        "list",
        "--owner",
        owner.hex.upper(),
        "--overdue",
        "--json",
        "--store",
        str(demo_file),
    )
    assert status == 0
    listed = json.loads(output)
    assert listed and all(set(item) >= REQUIRED for item in listed)
    assert {item["id"] for item in listed} == overdue_by_raw_sql(demo_file, owner)
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()
    for item in listed:
        assert item["owner_id"] == str(owner)
        assert item["status"] in ("open", "in_progress")
        assert dt.date.fromisoformat(item["due_on"]) < today
        assert len(item["nhs_number"]) == 10 and item["nhs_number"].isdigit()
        assert item["overdue"] is True


def test_the_team_overdue_list_agrees_and_puts_overdue_first(demo_file: Path) -> None:
    status, output = run("actions", "list", "--overdue", "--json", "--store", str(demo_file))
    assert status == 0
    assert {item["id"] for item in json.loads(output)} == overdue_by_raw_sql(demo_file, None)
    status, output = run("actions", "list", "--json", "--store", str(demo_file))
    everything = json.loads(output)
    flags = [item["overdue"] for item in everything]
    assert flags == sorted(flags, reverse=True), "overdue actions come first"
    assert {item["status"] for item in everything} <= {"open", "in_progress"}
    assert any(not flag for flag in flags)


def test_plain_output_says_overdue_in_words(demo_file: Path) -> None:
    owner = busiest_owner(demo_file)
    status, output = run(
        "actions", "list", "--owner", str(owner), "--overdue", "--store", str(demo_file)
    )
    assert status == 0
    lines = output.strip().splitlines()
    assert all("(overdue)" in line for line in lines[:-1])
    assert lines[-1].endswith("overdue actions.") or lines[-1].endswith("overdue action.")


def test_an_unknown_owner_is_a_clear_error(
    demo_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run("actions", "list", "--owner", str(uuid.uuid4()), "--store", str(demo_file))
    assert status == 2
    assert output == ""
    assert "not in this store" in capsys.readouterr().err
