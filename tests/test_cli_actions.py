"""`mdt-desk actions list`: one definition of overdue, checked against raw SQL on a demo store."""

import datetime as dt
import json
import uuid
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from mdt_desk.models import Case
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import ActionStatus
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.caseload import CaseloadQuery, CaseloadView, caseload_rows
from mdt_desk.services.demo import generate_demo
from tests import store_sql
from tests.cli_sign_in import demo_chair, run  # signed in as the demo's chair
from tests.local_zone import local_date_not_londons
from tests.shared_stores import copy_store, made_sealed, sealed_key, unlock

REQUIRED = {"id", "case_id", "nhs_number", "description", "owner_id", "due_on", "status"}


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("actions") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=300, seed=5)
    return path, sealed_key(path)


@pytest.fixture
def demo_file(demo_made: tuple[Path, bytes]) -> Path:
    """The shared demo store, its key kept for this test (the tests here only read it)."""
    return unlock(*demo_made)


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
    with closing(store_sql.connect(path)) as connection:
        return {str(uuid.UUID(row[0])) for row in connection.execute(sql, parameters)}


def busiest_owner(path: Path) -> uuid.UUID:
    today = dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    with closing(store_sql.connect(path)) as connection:
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


def test_stats_counts_the_overdue_actions_the_overdue_list_shows(
    demo_made: tuple[Path, bytes], tmp_path: Path
) -> None:
    """`stats` and `actions list --overdue --all` share one rule and one day, even when
    the computer's own date is not London's."""
    path = copy_store(*demo_made, tmp_path / "demo.sqlite")
    with local_date_not_londons() as (local_day, london_day):
        boundary = min(local_day, london_day)  # overdue by one of the two clocks only
        with Store.open(path) as store:
            with store.read(uuid.UUID(demo_chair(path))) as session:
                first, second = [
                    row
                    for row in caseload_rows(session, CaseloadQuery(view=CaseloadView.ALL_OPEN))
                    if row.coordinator_id is not None
                ][:2]
            owner = first.coordinator_id
            assert owner is not None

            def action(session: Session, case_id: uuid.UUID, due_on: dt.date) -> uuid.UUID:
                return plans.add_action(
                    session,
                    case_id,
                    description="Ring the GP",
                    owner_id=owner,
                    due_on=due_on,
                    today=due_on,
                ).id

            with store.write(owner) as session:
                past = london_day - dt.timedelta(days=3)
                done = action(session, first.case_id, past)
                plans.update_action(session, done, status=ActionStatus.DONE, today=london_day)
                due_today = action(session, first.case_id, london_day)
                on_boundary = action(session, first.case_id, boundary)
                # A case withdrawn on another desk (its tombstone synced here) keeps its
                # actions, but they are no longer anyone's to do.
                withdrawn = action(session, second.case_id, past)
                withdrawn_case = session.get(Case, second.case_id)
                assert withdrawn_case is not None
                withdrawn_case.retired_at = utc_now()
        status, output = run("stats", "--json", "--store", str(path))
        assert status == 0
        counted = json.loads(output)["actions_overdue"]
        status, output = run(
            "actions", "list", "--overdue", "--all", "--json", "--store", str(path)
        )
        assert status == 0
        listed = {uuid.UUID(item["id"]) for item in json.loads(output)}
    assert counted == len(listed)
    assert not {done, due_today, withdrawn} & listed
    assert (on_boundary in listed) == (boundary < london_day)


def sensitive_by_raw_sql(path: Path) -> set[str]:
    with closing(store_sql.connect(path)) as connection:
        return {
            str(uuid.UUID(row[0]))
            for row in connection.execute(
                "SELECT a.id FROM action a JOIN care_case c ON c.id = a.case_id"
                " WHERE a.sensitive AND a.status IN ('open', 'in_progress')"
                " AND a.retired_at IS NULL AND c.retired_at IS NULL"
            )
        }


def test_sensitive_actions_are_marked_in_json_and_in_the_table(demo_file: Path) -> None:
    """Whoever reads the list (or a screen share of it) can tell a need-to-know action."""
    sensitive = sensitive_by_raw_sql(demo_file)
    assert sensitive, "the demo has sensitive actions still to do"
    status, output = run("actions", "list", "--json", "--store", str(demo_file))
    assert status == 0
    listed = json.loads(output)
    assert all(set(item) >= REQUIRED | {"sensitive"} for item in listed)
    assert all(isinstance(item["sensitive"], bool) for item in listed)
    assert {item["id"] for item in listed if item["sensitive"]} == sensitive
    status, output = run("actions", "list", "--store", str(demo_file))
    assert status == 0
    lines = output.strip().splitlines()[:-1]
    assert len(lines) == len(listed)  # the same order as the JSON
    for item, line in zip(listed, lines, strict=True):
        assert item["description"] in line
        assert ("[sensitive]" in line) == item["sensitive"], line
