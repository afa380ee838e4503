"""`mdt-desk careplan | agenda | minutes | caseload` write PDFs and record each print."""

import json
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from mdt_desk.cli import build_parser
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import patient_display_name
from tests import store_sql
from tests.cli_sign_in import run  # signed in as the demo's chair
from tests.documents.helpers import flat, pages_text
from tests.test_cli_meetings import demo_made, store_path  # noqa: F401  (fixtures)


def a_person_with_an_open_case(store: str) -> tuple[str, str, str, str]:
    with closing(store_sql.connect(store)) as db:
        row = db.execute(
            "SELECT p.nhs_number, p.family_name, p.given_name, p.title FROM patient p"
            " JOIN care_case c ON c.patient_id = p.id WHERE c.status = 'active'"
            " ORDER BY p.nhs_number LIMIT 1"
        ).fetchone()
    return row


def prints(store: str) -> list[tuple[str, str]]:
    with closing(store_sql.connect(store)) as db:
        return db.execute(
            "SELECT field, new_value FROM journal WHERE entity = 'print_record'"
            " AND field = 'kind' ORDER BY origin_seq"
        ).fetchall()


def finished_meeting_id(store: str) -> str:
    status, output = run("meetings", "list", "--store", store, "--json")
    assert status == 0
    return next(m["id"] for m in json.loads(output) if m["status"] == "finished")


def test_careplan_writes_a_pdf_of_the_person_and_records_the_print(
    store_path: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    nhs, family, given, title = a_person_with_an_open_case(store_path)
    out = tmp_path / "plan.pdf"
    status, output = run(
        "careplan",
        "--nhs",
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        "--out",
        str(out),
        "--store",
        store_path,
        "--json",
    )
    assert status == 0
    report = json.loads(output)
    text = flat(" ".join(pages_text(out.read_bytes())))
    assert patient_display_name(family, given, title) in text
    assert "My care coordinator" in text and "What we will do" in text
    assert report["pages"] == len(pages_text(out.read_bytes()))
    assert prints(store_path) == [("kind", '"care_plan"')]
    large = tmp_path / "large.pdf"
    status, _ = run(
        "careplan", "--nhs", nhs, "--out", str(large), "--large-print", "--store", store_path
    )
    assert status == 0
    assert len(pages_text(large.read_bytes())) > report["pages"]  # bigger type, more pages


def test_agenda_minutes_and_caseload_pdfs(store_path: str, tmp_path: Path) -> None:  # noqa: F811
    meeting = finished_meeting_id(store_path)
    for command, extra, kind in (
        ("agenda", ["--meeting", meeting], "agenda"),
        ("agenda", ["--meeting", meeting, "--initials"], "agenda_initials"),
        ("minutes", ["--meeting", meeting], "minutes"),
        ("caseload", ["--practice", "G82150"], "caseload_list"),
    ):
        out = tmp_path / f"{kind}.pdf"
        status, output = run(command, *extra, "--out", str(out), "--store", store_path)
        assert status == 0, output
        assert out.read_bytes().startswith(b"%PDF")
        assert f"Wrote {out}" in output
        assert prints(store_path)[-1] == ("kind", f'"{kind}"')
    assert "MDT minutes" in flat(" ".join(pages_text((tmp_path / "minutes.pdf").read_bytes())))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["careplan", "--nhs", "9434765919"], "Nobody with NHS number 943 476 5919"),
        (["agenda"], "Give --meeting ID and --out FILE.pdf"),
        (["minutes", "--meeting", "not-an-id"], "not-an-id"),
        (["caseload"], "either --practice CODE or --coordinator"),
        (["caseload", "--practice", "Z99999"], "Z99999"),
    ],
)
def test_document_commands_refuse_bad_input_with_exit_2(
    store_path: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    out = tmp_path / "x.pdf"
    extra = ["--out", str(out)] if arguments != ["agenda"] else []
    status, _ = run(*arguments, *extra, "--store", store_path)
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert prints(store_path) == []


def test_a_missing_folder_is_refused_and_nothing_is_recorded(
    store_path: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    nhs = a_person_with_an_open_case(store_path)[0]
    status, _ = run(
        "careplan", "--nhs", nhs, "--out", "/no/such/folder/plan.pdf", "--store", store_path
    )
    assert status == 2
    assert "There is no folder /no/such/folder" in capsys.readouterr().err
    assert prints(store_path) == []


@pytest.mark.parametrize("command", ["careplan", "agenda", "minutes", "caseload"])
def test_document_commands_have_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


@pytest.mark.slow
def test_careplan_says_beside_the_file_what_it_left_off(
    store_path: str,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with closing(store_sql.connect(store_path)) as db:
        action_id, nhs, description = db.execute(
            "SELECT a.id, p.nhs_number, a.description FROM action a"
            " JOIN care_case c ON c.id = a.case_id JOIN patient p ON p.id = c.patient_id"
            " WHERE a.status IN ('open', 'in_progress') AND c.status = 'active'"
            " AND a.retired_at IS NULL ORDER BY a.id LIMIT 1"
        ).fetchone()
    with Store.open(store_path) as store, Desk.for_store(store).write() as session:
        plans.set_action_sensitive(session, uuid.UUID(action_id), True)
    out = tmp_path / "plan.pdf"
    status, output = run("careplan", "--nhs", nhs, "--out", str(out), "--store", store_path)
    assert status == 0 and "Wrote" in output
    err = capsys.readouterr().err
    assert "Not on the person's copy:" in err and "sensitive action" in err
    text = flat(" ".join(pages_text(out.read_bytes())))
    assert flat(description) not in text
    assert "sensitive" not in text.lower()  # the copy itself does not mention them
    status, output = run(
        "careplan", "--nhs", nhs, "--out", str(out), "--store", store_path, "--json"
    )
    assert status == 0 and json.loads(output)["left_off"]["actions"] >= 1
