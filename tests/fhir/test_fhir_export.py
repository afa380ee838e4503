"""`mdt-desk fhir export`: a demo person's care plan as a UK Core FHIR R4 bundle.

The bundle is parsed by ``fhir.resources`` (code nobody here wrote) and checked by our
own rules; two demo people's bundles are kept as golden files and compared byte for
byte. Regenerate them after a deliberate change with ``MDT_DESK_REGENERATE_GOLDEN=1``.
"""

import datetime as dt
import json
import os
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from mdt_desk.models import Action, Alert, Consent, Note, PrintRecord
from mdt_desk.models.enums import (
    ActionStatus,
    AlertKind,
    ConsentDecision,
    DocumentKind,
)
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.fhir.rules import bundle_violations
from tests import store_sql
from tests.cli_sign_in import demo_chair, demo_staff_with, run
from tests.shared_stores import copy_store, made_sealed, sealed_key

GOLDEN = Path(__file__).parent.parent / "data"
DEMO_TODAY = dt.date(2026, 11, 2)
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SENSITIVE_ACTION = "Safeguarding strategy meeting about the son's visits"
SENSITIVE_ALERT = "Son is verbally aggressive to visiting staff"
SENSITIVE_NOTE = "Disclosed financial abuse by a relative"
PRINT_ID = uuid.UUID("0194a000-0000-7000-8000-00000000c0de")


def _rows(store: str | Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(store_sql.connect(store, read_only=True)) as db:
        return [tuple(row) for row in db.execute(sql, params).fetchall()]


def _pick_people(path: Path) -> tuple[str, str]:
    """Two demo people (by NHS number): the first with goals, open actions, a care team
    and a hospital admission on their open case; and the next with goals and actions."""
    rows = _rows(
        path,
        """
        SELECT p.nhs_number,
               (SELECT count(*) FROM goal g WHERE g.case_id = c.id) AS goals,
               (SELECT count(*) FROM action a WHERE a.case_id = c.id AND a.status = 'open'),
               (SELECT count(*) FROM care_team_member m WHERE m.case_id = c.id),
               (SELECT count(*) FROM outcome_event e WHERE e.patient_id = p.id
                  AND e.kind = 'hospital_admission')
        FROM patient p JOIN care_case c ON c.patient_id = p.id
        WHERE c.status IN ('active', 'under_review')
        ORDER BY p.nhs_number
        """,
    )
    full = [row[0] for row in rows if all(row[1:])]
    other = [row[0] for row in rows if row[1] and row[2] and row[0] not in full[:1]]
    return full[0], other[0]


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, str, str]:
    """A demo store where the first golden person also has a sensitive action, alert
    and note, and a printed plan (at a fixed time, so the golden file stays the same)."""
    path = tmp_path_factory.mktemp("fhir-demo") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=160, seed=5, today=DEMO_TODAY)
    first, second = _pick_people(path)
    patient_id, case_id = _rows(
        path,
        "SELECT p.id, c.id FROM patient p JOIN care_case c ON c.patient_id = p.id "
        "WHERE p.nhs_number = ? AND c.status IN ('active', 'under_review')",
        first,
    )[0]
    chair = uuid.UUID(demo_chair(path))
    with made_sealed(), Store.open(path) as store, store.write(chair, "test") as session:
        session.add_all(
            [
                Action(
                    case_id=uuid.UUID(case_id),
                    description=SENSITIVE_ACTION,
                    owner_id=chair,
                    due_on=DEMO_TODAY + dt.timedelta(days=7),
                    status=ActionStatus.OPEN,
                    sensitive=True,
                ),
                Alert(
                    patient_id=uuid.UUID(patient_id),
                    kind=AlertKind.RISK_TO_STAFF,
                    detail=SENSITIVE_ALERT,
                    sensitive=True,
                    share_with_person=True,
                ),
                Note(
                    case_id=uuid.UUID(case_id),
                    author_id=chair,
                    written_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC),
                    body=SENSITIVE_NOTE,
                    sensitive=True,
                ),
                PrintRecord(
                    id=PRINT_ID,
                    kind=DocumentKind.CARE_PLAN,
                    patient_id=uuid.UUID(patient_id),
                    case_id=uuid.UUID(case_id),
                    printed_by_id=chair,
                    printed_at=dt.datetime(2026, 11, 1, 14, 30, 5, tzinfo=dt.UTC),
                    plan_version="v7-3f2a",
                    content_sha256="ab" * 32,
                    pages=3,
                    large_print=True,
                ),
            ]
        )
    return path, sealed_key(path), first, second


@pytest.fixture
def store_path(demo_made: tuple[Path, bytes, str, str], tmp_path: Path) -> str:
    path, key, _first, _second = demo_made
    return str(copy_store(path, key, tmp_path / "desk.sqlite"))


def export(store: str, tmp_path: Path, *options: str) -> tuple[int, str, Path]:
    target = tmp_path / "bundle.json"
    status, output = run("fhir", "export", "--store", store, "--out", str(target), *options)
    return status, output, target


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind
    ]


def test_a_person_s_bundle_parses_holds_their_plan_and_nothing_sensitive(
    demo_made: tuple[Path, bytes, str, str],
    store_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nhs = demo_made[2]
    status, output, target = export(store_path, tmp_path, "--nhs", nhs, "--purpose", "Discharge")
    assert status == 0, output
    text = target.read_text(encoding="utf-8")
    bundle = json.loads(text)

    parsed = Bundle.model_validate(bundle)  # the outside library: no error
    assert parsed.type == "collection"
    assert bundle_violations(bundle) == []

    (patient,) = resources(bundle, "Patient")
    assert {"system": NHS_SYSTEM, "value": nhs}.items() <= patient["identifier"][0].items()
    (organization,) = resources(bundle, "Organization")
    assert organization["identifier"][0]["system"] == ODS_SYSTEM
    assert patient["generalPractitioner"] == [{"reference": f"urn:uuid:{organization['id']}"}]
    assert patient["meta"]["profile"] == [
        "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
    ]

    case_id = _rows(
        store_path,
        "SELECT c.id FROM care_case c JOIN patient p ON p.id = c.patient_id "
        "WHERE p.nhs_number = ? AND c.status IN ('active', 'under_review')",
        nhs,
    )[0][0]
    goals = _rows(store_path, "SELECT description FROM goal WHERE case_id = ?", case_id)
    assert sorted(goal["description"]["text"] for goal in resources(bundle, "Goal")) == sorted(
        row[0] for row in goals
    )
    open_actions = _rows(
        store_path,
        "SELECT description, due_on FROM action WHERE case_id = ? AND sensitive = 0 "
        "AND status IN ('open', 'in_progress')",
        case_id,
    )
    tasks = {
        (task["description"], task["restriction"]["period"]["end"])
        for task in resources(bundle, "Task")
    }
    assert open_actions
    assert {(description, due) for description, due in open_actions} <= tasks
    (team,) = resources(bundle, "CareTeam")
    coordinator = resources(bundle, "EpisodeOfCare")[0]["careManager"]["reference"]
    members = [participant["member"].get("reference") for participant in team["participant"]]
    assert members.count(coordinator) == 1  # named once, as coordinator
    review_on = _rows(store_path, "SELECT next_review_on FROM care_case WHERE id = ?", case_id)
    (plan,) = resources(bundle, "CarePlan")
    assert plan["extension"] == [
        {"url": "urn:mdt-desk:extension:next-review", "valueDate": review_on[0][0]}
    ]
    assert "end" not in plan.get("period", {})  # still in force when the review is due
    for consent in resources(bundle, "Consent"):
        assert consent["policyRule"]["coding"][0]["code"] in ("OPTIN", "OPTOUT")  # ppc-1
    assert resources(bundle, "Encounter")
    (document,) = resources(bundle, "DocumentReference")
    assert document["type"]["coding"][0]["code"] == "734163000"
    assert document["content"][0]["attachment"]["contentType"] == "application/pdf"

    for secret in (SENSITIVE_ACTION, SENSITIVE_ALERT, SENSITIVE_NOTE):
        assert secret not in text
    # ...and the person exporting is told, beside the file, what it leaves out.
    told = capsys.readouterr().err
    assert "Not in the file: 1 sensitive action, 1 sensitive note" in told

    logged = _rows(
        store_path,
        "SELECT a.reason FROM access_event a JOIN patient p ON p.id = a.patient_id "
        "WHERE p.nhs_number = ? AND a.action = 'export'",
        nhs,
    )
    assert logged == [("Discharge",)]
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("which", [2, 3])
def test_two_demo_people_s_bundles_match_their_golden_files(
    demo_made: tuple[Path, bytes, str, str], store_path: str, tmp_path: Path, which: int
) -> None:
    nhs = demo_made[2] if which == 2 else demo_made[3]
    status, output, target = export(store_path, tmp_path, "--nhs", nhs)
    assert status == 0, output
    golden = GOLDEN / f"fhir-golden-{which - 1}.json"
    if os.environ.get("MDT_DESK_REGENERATE_GOLDEN"):
        golden.write_bytes(target.read_bytes())
    assert target.read_bytes() == golden.read_bytes()


def test_the_same_store_gives_the_same_bytes(store_path: str, tmp_path: Path) -> None:
    code = _rows(
        store_path,
        "SELECT ods_code FROM practice pr JOIN patient p ON p.practice_id = pr.id "
        "JOIN care_case c ON c.patient_id = p.id WHERE c.status != 'closed' "
        "GROUP BY pr.id ORDER BY count(*) DESC LIMIT 1",
    )[0][0]
    first = tmp_path / "one.json"
    second = tmp_path / "two.json"
    assert (
        run("fhir", "export", "--store", store_path, "--practice", code, "--out", str(first))[0]
        == 0
    )
    assert (
        run("fhir", "export", "--store", store_path, "--practice", code, "--out", str(second))[0]
        == 0
    )
    assert first.read_bytes() == second.read_bytes()
    assert len(resources(json.loads(first.read_text(encoding="utf-8")), "Patient")) >= 3


def test_a_practice_export_holds_each_person_with_an_open_case_and_says_its_progress(
    store_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, practice_id = _rows(
        store_path,
        "SELECT ods_code, pr.id FROM practice pr JOIN patient p ON p.practice_id = pr.id "
        "JOIN care_case c ON c.patient_id = p.id WHERE c.status != 'closed' "
        "GROUP BY pr.id ORDER BY count(*) DESC LIMIT 1",
    )[0]
    status, output, target = export(store_path, tmp_path, "--practice", code)
    assert status == 0, output
    bundle = json.loads(target.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert bundle_violations(bundle) == []
    expected = {
        row[0]
        for row in _rows(
            store_path,
            "SELECT DISTINCT p.nhs_number FROM patient p JOIN care_case c "
            "ON c.patient_id = p.id WHERE p.practice_id = ? "
            "AND c.status IN ('referred', 'active', 'under_review')",
            practice_id,
        )
    }
    exported = {patient["identifier"][0]["value"] for patient in resources(bundle, "Patient")}
    assert exported == expected
    assert "Exporting care plans… 100%" in capsys.readouterr().err
    logged = _rows(
        store_path,
        "SELECT count(*) FROM access_event WHERE action = 'export' AND reason = ?",
        "not stated",
    )
    assert logged == [(len(expected),)]


def test_someone_who_declined_sharing_is_not_exported(
    demo_made: tuple[Path, bytes, str, str],
    store_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nhs = demo_made[3]
    patient_id, practice_code = _rows(
        store_path,
        "SELECT p.id, pr.ods_code FROM patient p JOIN practice pr ON pr.id = p.practice_id "
        "WHERE p.nhs_number = ?",
        nhs,
    )[0]
    chair = uuid.UUID(demo_chair(store_path))
    with Store.open(Path(store_path)) as store, store.write(chair, "test") as session:
        session.add(
            Consent(
                patient_id=uuid.UUID(patient_id),
                decision=ConsentDecision.DECLINED,
                recorded_on=DEMO_TODAY + dt.timedelta(days=400),
            )
        )
    status, _output, target = export(store_path, tmp_path, "--nhs", nhs)
    assert status == 2
    assert "do not want information about them shared" in capsys.readouterr().err
    assert not target.exists()
    status, output, target = export(store_path, tmp_path, "--practice", practice_code)
    assert status == 0, output
    assert nhs not in target.read_text(encoding="utf-8")
    error = capsys.readouterr().err
    assert "Left out 1 person whose latest consent decision declines sharing" in error
    assert demo_made[3] not in error


def test_a_team_member_may_not_export(
    demo_made: tuple[Path, bytes, str, str],
    store_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member = demo_staff_with(store_path, "team_member")
    status, _output, target = export(store_path, tmp_path, "--nhs", demo_made[2], "--as", member)
    assert status == 4
    assert "Traceback" not in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "Give either --nhs NUMBER or --practice CODE, not both."),
        (("--nhs", "9434765919", "--practice", "A81001"), "Give either --nhs"),
        (("--nhs", "9434765919"), "Nobody with NHS number"),
        (("--practice", "ZZZ999"), "There is no practice"),
    ],
)
def test_mistakes_are_said_plainly(
    store_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    message: str,
) -> None:
    status, _output, target = export(store_path, tmp_path, *options)
    assert status == 2
    error = capsys.readouterr().err
    assert message in error
    assert "usage:" not in error
    assert not target.exists()


def test_export_import_into_a_new_store_and_export_again_gives_the_same_bytes(
    demo_made: tuple[Path, bytes, str, str], store_path: str, tmp_path: Path
) -> None:
    """The acceptance round trip, on the command line: the new store is made by the
    import itself, and is in set-up (its staff have no PINs), so no --as is needed."""
    status, output, first = export(store_path, tmp_path, "--nhs", demo_made[2])
    assert status == 0, output
    fresh = tmp_path / "fresh" / "store.sqlite"
    fresh.parent.mkdir()
    status, output = run("fhir", "import", str(first), "--store", str(fresh))
    assert status == 0, output
    assert output.startswith("Imported 1 person")
    again = tmp_path / "again.json"
    status, output = run(
        "fhir", "export", "--store", str(fresh), "--nhs", demo_made[2], "--out", str(again)
    )
    assert status == 0, output
    assert again.read_bytes() == first.read_bytes()
    # Nobody on the new store has a PIN: it stays in set-up (contracts.md, 4).
    assert _rows(fresh, "SELECT count(*) FROM staff WHERE pin_hash != ''") == [(0,)]


def test_a_broken_bundle_on_the_command_line_names_its_problems_and_leaves_no_store(
    demo_made: tuple[Path, bytes, str, str],
    store_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, output, bundle_file = export(store_path, tmp_path, "--nhs", demo_made[2])
    assert status == 0, output
    broken = bundle_file.read_text(encoding="utf-8").replace(
        '"status": "ready"', '"status": "banana"'
    )
    assert '"banana"' in broken
    bundle_file.write_text(broken, encoding="utf-8")
    fresh = tmp_path / "fresh.sqlite"
    capsys.readouterr()
    status, _output = run("fhir", "import", str(bundle_file), "--store", str(fresh))
    error = capsys.readouterr().err
    assert status == 2
    assert "Task.status 'banana'" in error
    assert "nothing was written" in error
    assert "Traceback" not in error
    assert not fresh.exists()
    cut_short = tmp_path / "cut.json"
    cut_short.write_text(broken[: len(broken) // 2], encoding="utf-8")
    status, _output = run("fhir", "import", str(cut_short), "--store", str(fresh))
    error = capsys.readouterr().err
    assert status == 2
    assert "line " in error and "column " in error
    assert not fresh.exists()


def test_a_goal_in_the_person_s_own_words_with_emoji_survives_the_round_trip(
    demo_made: tuple[Path, bytes, str, str], store_path: str, tmp_path: Path
) -> None:
    """A joiner inside an emoji is part of the person's words, not a disguise."""
    status, output, exported = export(store_path, tmp_path, "--nhs", demo_made[2])
    assert status == 0, output
    bundle = json.loads(exported.read_text(encoding="utf-8"))
    goal = resources(bundle, "Goal")[0]
    words = "To see my family \U0001f468\u200d\U0001f469\u200d\U0001f467 at Christmas"
    text = exported.read_text(encoding="utf-8").replace(
        json.dumps(goal["description"]["text"], ensure_ascii=False),
        json.dumps(words, ensure_ascii=False),
    )
    assert words in text
    exported.write_text(text, encoding="utf-8")
    fresh = tmp_path / "fresh.sqlite"
    status, output = run("fhir", "import", str(exported), "--store", str(fresh))
    assert status == 0, output
    again = tmp_path / "again.json"
    status, output = run(
        "fhir", "export", "--store", str(fresh), "--nhs", demo_made[2], "--out", str(again)
    )
    assert status == 0, output
    assert again.read_text(encoding="utf-8") == text


def test_a_file_that_is_not_text_is_refused_in_json_too(tmp_path: Path) -> None:
    binary = tmp_path / "scan.json"
    binary.write_bytes(b"%PDF-1.7\n\xff\xfe\x00 not a bundle")
    fresh = tmp_path / "fresh.sqlite"
    status, output = run("fhir", "import", str(binary), "--store", str(fresh), "--json")
    assert status == 2
    answer = json.loads(output)
    assert answer["imported"] is False and answer["total"] == 1
    assert "not UTF-8 text" in answer["problems"][0]
    assert not fresh.exists()
