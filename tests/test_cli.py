"""The command line, on the real NHS ODS practice file."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mdt_desk.cli import SETUP_NOTICE, build_parser, main
from mdt_desk.resources import resource_path

REAL_ODS_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ods" / "epraccur.csv"
DEMO_ODS_FILE = resource_path("demo", "practices.csv")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def ods_file() -> Path:
    """The full national file where the checkout has it beside it, else the shipped extract."""
    return REAL_ODS_FILE if REAL_ODS_FILE.exists() else DEMO_ODS_FILE


def expected_gp_practices(path: Path) -> int:
    import csv

    with path.open(encoding="utf-8") as handle:
        return sum(1 for row in csv.reader(handle) if len(row) == 27 and row[25] == "4")


@pytest.mark.slow
def test_practices_import_takes_every_gp_practice_and_a_second_run_adds_none(
    tmp_path: Path,
) -> None:
    path = ods_file()
    store = str(tmp_path / "desk.sqlite")
    status, output = run("practices", "import", str(path), "--store", store, "--json")
    first = json.loads(output)
    assert status == 0
    assert first["imported"] == expected_gp_practices(path) > 0
    assert first["rejected"] == 0
    status, output = run("practices", "import", str(path), "--store", store, "--json")
    second = json.loads(output)
    assert status == 0 and second["imported"] == 0 and second["updated"] == 0
    assert second["unchanged"] == first["imported"]
    status, output = run("stats", "--store", store, "--json")
    assert json.loads(output)["practices"] == first["imported"]


def test_practices_import_of_a_broken_file_exits_2_with_a_message(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "not-ods.csv"
    bad.write_text("name,age\nBob,3\n")
    status, _ = run("practices", "import", str(bad), "--store", str(tmp_path / "s.sqlite"))
    assert status == 2
    assert "is not an ODS epraccur file" in capsys.readouterr().err
    status, _ = run(
        "practices", "import", str(tmp_path / "missing.csv"), "--store", str(tmp_path / "s.sqlite")
    )
    assert status == 2 and "There is no file" in capsys.readouterr().err
    runaway = tmp_path / "runaway.csv"
    runaway.write_text('"A81001,"' + "x" * 200_000 + "\n")  # an unclosed quote
    status, _ = run("practices", "import", str(runaway), "--store", str(tmp_path / "s.sqlite"))
    assert status == 2 and "is not a readable CSV file" in capsys.readouterr().err


def test_a_bad_row_is_reported_by_line(tmp_path: Path) -> None:
    from tests.conftest import epraccur_row

    path = tmp_path / "p.csv"
    path.write_text(
        "\n".join(
            [
                epraccur_row("A81001", "GOOD", "00K"),
                epraccur_row("I81001", "BAD", "00K"),
                epraccur_row("A81002", "", "00K"),
            ]
        )
    )
    status, output = run("practices", "import", str(path), "--store", str(tmp_path / "s.sqlite"))
    assert status == 3
    assert "1 imported" in output
    assert "line 2: 'I81001' is not a GP practice code" in output
    assert "line 3: the practice name is empty" in output


def test_store_option_works_before_and_after_the_command(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    assert (
        run("--store", store, "stats", "--json")[0] == 2
    )  # no store yet: stats does not create one
    run("practices", "import", str(DEMO_ODS_FILE), "--store", store)
    before, after = (
        run("--store", store, "stats", "--json"),
        run("stats", "--store", store, "--json"),
    )
    assert before == after and json.loads(before[1])["practices"] > 0


def test_staff_add_and_sign_in(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    run("practices", "import", str(DEMO_ODS_FILE), "--store", store)
    status, output = run(
        "staff",
        "add",
        "--store",
        store,
        "--family-name",
        "Okafor",
        "--given-name",
        "Ngozi",
        "--profession",
        "social_worker",
        "--sign-in",
        "--json",
    )
    assert status == 0
    staff_id = json.loads(output)["id"]
    listed = json.loads(run("staff", "list", "--store", store, "--json")[1])
    assert [(m["id"], m["signed_in"]) for m in listed] == [(staff_id, True)]
    status, _ = run(
        "staff",
        "add",
        "--store",
        store,
        "--family-name",
        "X",
        "--given-name",
        "Y",
        "--profession",
        "wizard",
    )
    assert status == 2


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["practices", "import"],
        ["patients", "import"],
        ["staff", "list"],
        ["demo"],
        ["stats"],
        ["export"],
        ["check"],
    ],
)
def test_every_command_has_help_and_a_store_option(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "--store PATH" in capsys.readouterr().out


def test_the_console_script_runs_as_a_separate_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mdt_desk.cli", "stats", "--store", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "There is no MDT Desk store" in result.stderr and "Traceback" not in result.stderr


def _valid_test_numbers(count: int) -> list[str]:
    import nhs_number

    numbers = []
    for stem_number in range(count * 2):
        stem = f"999{stem_number:06d}"
        check = nhs_number.calculate_checksum(stem)
        if check is not None and check < 10:
            numbers.append(f"{stem}{check}")
    return numbers[:count]


@pytest.mark.slow
def test_long_commands_show_progress_on_stderr_and_none_with_json(tmp_path: Path, capsys) -> None:
    quiet, shown = str(tmp_path / "quiet.sqlite"), str(tmp_path / "shown.sqlite")

    assert run("practices", "import", str(DEMO_ODS_FILE), "--store", quiet, "--json")[0] == 0
    # No progress with --json; only the one line saying nobody has signed in (set-up).
    assert capsys.readouterr().err == SETUP_NOTICE + "\n"
    status, output = run("practices", "import", str(DEMO_ODS_FILE), "--store", shown)
    err = capsys.readouterr().err
    assert status == 0 and output.startswith("GP practices:")
    assert "Reading practices.csv… 0%" in err and "Writing practices… 100% (" in err

    code = json.loads(run("practices", "list", "--store", shown, "--json")[1])[0]["ods_code"]
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "nhs_number,family_name,given_name,date_of_birth,practice_code\n"
        + "".join(
            f"{number},Family{index},Given,1945-07-14,{code}\n"
            for index, number in enumerate(_valid_test_numbers(50))
        )
    )
    capsys.readouterr()
    status, output = run("patients", "import", str(patients), "--store", shown)
    err = capsys.readouterr().err
    assert status == 0 and output.startswith("Patients: 50 imported")
    assert err.splitlines() == [
        SETUP_NOTICE,
        "Reading patients.csv… 0%",
        "Reading patients.csv… 100%",
        "Writing patients… 0% (0 of 50 rows)",
        "Writing patients… 100% (50 of 50 rows)",
    ]
    status, output = run("patients", "import", str(patients), "--store", quiet, "--json")
    assert status == 0 and json.loads(output)["imported"] == 50
    assert capsys.readouterr().err == SETUP_NOTICE + "\n"

    demo = str(tmp_path / "demo.sqlite")
    assert run("demo", "--patients", "3", "--store", demo)[0] == 0
    assert "Making demo patients… 100% (3 of 3 patients)" in capsys.readouterr().err
    demo = str(tmp_path / "demo-quiet.sqlite")
    assert run("demo", "--patients", "3", "--store", demo, "--json")[0] == 0
    assert capsys.readouterr().err == ""


def test_demo_practices_option(tmp_path: Path, capsys) -> None:
    demo = tmp_path / "three.sqlite"
    status, output = run(
        "demo", "--patients", "30", "--practices", "3", "--store", str(demo), "--json"
    )
    assert status == 0 and json.loads(output)["practices"] == 3
    refused = tmp_path / "refused.sqlite"
    status, _output = run("demo", "--patients", "30", "--practices", "0", "--store", str(refused))
    assert status == 2
    assert "--practices: The demo makes between 1 and 4,547 practices." in capsys.readouterr().err
    assert not refused.exists()


def test_a_store_conversion_is_announced_on_stderr_and_not_with_json(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    import shutil

    from mdt_desk.models import store as store_module
    from mdt_desk.models.store import Store

    old_migrations = tmp_path / "migrations-0003"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[4-9]_*.py"):
        later.unlink()
    paths = [tmp_path / "shown.sqlite", tmp_path / "quiet.sqlite"]
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0003_sync")
        for path in paths:
            Store.open(path).close()

    assert run("stats", "--store", str(paths[0]))[0] == 0
    err = capsys.readouterr().err
    assert f"Converting the store {paths[0]} for this version of MDT Desk" in err
    assert "Converting the store… done (" in err
    assert run("stats", "--store", str(paths[0]))[0] == 0  # converted once only
    assert capsys.readouterr().err == ""
    assert run("stats", "--store", str(paths[1]), "--json")[0] == 0
    assert capsys.readouterr().err == ""
