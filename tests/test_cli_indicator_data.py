"""`mdt-desk survey import` and `mdt-desk practices list-sizes` on a demo store, signed in."""

import json
from contextlib import closing
from pathlib import Path

import pytest

from mdt_desk.cli import EXIT_NOT_ALLOWED, EXIT_OK, EXIT_USER_ERROR
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from tests import store_sql
from tests.cli_sign_in import demo_staff_with, run  # signed in as the demo's chair
from tests.shared_stores import copy_store, made_sealed, sealed_key

SURVEY_HEADER = "nhs_number,statement,agreement,answered_on,collected_how,by_proxy\n"
LIST_HEADER = "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n"


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("indicator-data") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=200, seed=3)
    return path, sealed_key(path)


@pytest.fixture
def demo_file(demo_made: tuple[Path, bytes], tmp_path: Path) -> Path:
    """A copy of the demo store for this test (the commands here write)."""
    return copy_store(*demo_made, tmp_path / "demo.sqlite")


def _count(path: Path, sql: str) -> int:
    with closing(store_sql.connect(path, read_only=True)) as db:
        return int(db.execute(sql).fetchone()[0])


def _nhs_numbers(path: Path, count: int) -> list[str]:
    with closing(store_sql.connect(path, read_only=True)) as db:
        rows = db.execute("SELECT nhs_number FROM patient ORDER BY nhs_number LIMIT ?", (count,))
        return [str(row[0]) for row in rows]


def test_survey_import_adds_the_answers_and_a_bad_file_exits_2_writing_nothing(
    demo_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _nhs_numbers(demo_file, 2)
    before = _count(demo_file, "SELECT count(*) FROM experience_response")
    good = tmp_path / "survey.csv"
    good.write_text(
        SURVEY_HEADER
        + f"{first},did_not_repeat_story,5,2026-10-01,paper,no\n"
        + f"{second},right_professionals,2,2026-10-02,phone,yes\n",
        encoding="utf-8",
    )
    status, output = run("survey", "import", str(good), "--store", str(demo_file), "--json")
    assert status == EXIT_OK
    assert json.loads(output)["imported"] == 2
    assert _count(demo_file, "SELECT count(*) FROM experience_response") == before + 2

    bad = tmp_path / "bad.csv"
    bad.write_text(
        SURVEY_HEADER
        + f"{first},well_coordinated,4,2026-10-01,paper,no\n"
        + f"{second},well_coordinated,9,2026-10-01,paper,no\n",
        encoding="utf-8",
    )
    status, _ = run("survey", "import", str(bad), "--store", str(demo_file))
    assert status == EXIT_USER_ERROR
    error = capsys.readouterr().err
    assert "line 3" in error and "off the scale" in error and "nothing was imported" in error
    assert _count(demo_file, "SELECT count(*) FROM experience_response") == before + 2


def test_list_sizes_need_the_administrator_and_then_import(
    demo_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(store_sql.connect(demo_file, read_only=True)) as db:
        code = str(db.execute("SELECT ods_code FROM practice ORDER BY ods_code").fetchone()[0])
    path = tmp_path / "gp-reg-pat-prac-quin-age.csv"
    path.write_text(
        LIST_HEADER
        + f"GP_PRAC_PAT_LIST,01Jan2030,GP,{code},CT9 1AA,FEMALE,65_69,401\n"
        + f"GP_PRAC_PAT_LIST,01Jan2030,GP,{code},CT9 1AA,MALE,65_69,388\n"
        + "GP_PRAC_PAT_LIST,01Jan2030,GP,Y99999,CT9 1AA,MALE,65_69,12\n",
        encoding="utf-8",
    )
    before = _count(demo_file, "SELECT count(*) FROM practice_list_size")
    # The chair (a care coordinator) may not import practice data: exit 4, nothing written.
    status, _ = run("practices", "list-sizes", str(path), "--store", str(demo_file))
    assert status == EXIT_NOT_ALLOWED
    assert "not allow importing GP practices" in capsys.readouterr().err
    assert _count(demo_file, "SELECT count(*) FROM practice_list_size") == before
    administrator = demo_staff_with(demo_file, "team_administrator")
    status, output = run(
        "practices", "list-sizes", str(path), "--store", str(demo_file), "--as", administrator
    )
    assert status == EXIT_OK, capsys.readouterr().err
    assert "Practice list sizes: 2 imported" in output and "1 skipped" in output
    assert _count(demo_file, "SELECT count(*) FROM practice_list_size") == before + 2
