"""`mdt-desk fhir import`: a care plan bundle read back into a fresh, empty store.

The round trip is the acceptance test: a demo person's bundle (and a whole practice's)
imported into an empty store exports again to the same bytes, and the imported rows are
the source's. A broken bundle is refused with every problem named by line or by entry,
and nothing is written, not even when a write fails half-way.
"""

import copy
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mdt_desk.models import (
    Action,
    Alert,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    Goal,
    JournalChange,
    OutcomeEvent,
    Patient,
    PrintRecord,
    Staff,
    synced_tables,
)
from mdt_desk.models.enums import (
    ActionStatus,
    AlertKind,
    ConsentDecision,
    DischargeDestination,
    DocumentKind,
    OutcomeEventKind,
)
from mdt_desk.models.store import Store
from mdt_desk.services.access import store_in_setup
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.fhir import codes, importer
from mdt_desk.services.fhir.export import person_bundle, practice_bundle
from mdt_desk.services.fhir.importer import FhirImportError, import_bundle
from mdt_desk.services.staff import signed_in_staff_id
from tests.cli_sign_in import run
from tests.shared_stores import made_sealed

GOLDEN = Path(__file__).parent.parent / "data"
GOLDEN_FILES = ("fhir-golden-1.json", "fhir-golden-2.json")
DEMO_TODAY = dt.date(2026, 11, 2)
SENSITIVE_ACTION = "Safeguarding strategy meeting before the next home visit"


def golden(name: str = GOLDEN_FILES[0]) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def row_count(session: Session) -> int:
    """Every row of every synced table, and the journal's changes."""
    total = session.scalar(select(func.count()).select_from(JournalChange)) or 0
    for table in synced_tables():
        total += session.scalar(select(func.count()).select_from(table)) or 0
    return total


def rows_in(store: Store) -> int:
    with store.read() as session:
        return row_count(session)


def refused(store: Store, text: str) -> FhirImportError:
    """Import ``text``, which must be refused; and check nothing was written."""
    before = rows_in(store)
    with pytest.raises(FhirImportError) as raised, store.write(None, "fhir import") as session:
        import_bundle(session, text)
    assert rows_in(store) == before
    return raised.value


def imported(store: Store, text: str) -> importer.FhirImportReport:
    with store.write(None, "fhir import") as session:
        return import_bundle(session, text)


def entry_of(bundle: dict[str, Any], resource_type: str) -> tuple[int, dict[str, Any]]:
    """The first entry holding a ``resource_type``: its index and resource."""
    for index, entry in enumerate(bundle["entry"]):
        if entry["resource"]["resourceType"] == resource_type:
            return index, entry["resource"]
    raise AssertionError(f"no {resource_type} in the bundle")


def names_entry(problem: str, index: int, resource: dict[str, Any]) -> bool:
    """True when ``problem`` is said of that entry (with its line, when the file has
    one entry a line)."""
    name = f"{resource['resourceType']} urn:uuid:{resource['id']}"
    return re.match(rf"entry {index} \((line \d+, )?{re.escape(name)}\):", problem) is not None


# -- the round trip on a demo store ---------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A demo store whose richest person also has a sensitive action, a hospital
    admission, a printed plan, two shared alerts and a consent decision."""
    path = tmp_path_factory.mktemp("fhir-import-demo") / "demo.sqlite"
    with made_sealed():  # made before any test's keyring; the open store keeps its key
        store = Store.open(path)
        generate_demo(store, patients=60, seed=5, today=DEMO_TODAY)
    coordinator = signed_in_staff_id(store)
    assert coordinator is not None
    with store.write(coordinator, "test set-up") as session:
        goals = select(func.count()).where(Goal.case_id == Case.id).scalar_subquery()
        actions = select(func.count()).where(Action.case_id == Case.id).scalar_subquery()
        members = select(func.count()).where(CareTeamMember.case_id == Case.id).scalar_subquery()
        case = session.scalars(
            select(Case)
            .where(Case.status.in_(("active", "under_review")))
            .order_by((goals + actions + members).desc(), Case.id)
        ).first()
        assert case is not None
        goal = session.scalars(select(Goal).where(Goal.case_id == case.id)).first()
        assert goal is not None, "the richest demo person has no goal"
        session.add_all(
            [
                Action(
                    case_id=case.id,
                    goal_id=goal.id,
                    description=SENSITIVE_ACTION,
                    owner_id=coordinator,
                    due_on=DEMO_TODAY + dt.timedelta(days=7),
                    status=ActionStatus.OPEN,
                    sensitive=True,
                ),
                OutcomeEvent(
                    patient_id=case.patient_id,
                    case_id=case.id,
                    kind=OutcomeEventKind.HOSPITAL_ADMISSION,
                    occurred_on=DEMO_TODAY - dt.timedelta(days=20),
                    discharged_on=DEMO_TODAY - dt.timedelta(days=12),
                    discharge_destination=DischargeDestination.USUAL_RESIDENCE,
                    source="Queen Elizabeth the Queen Mother Hospital",
                ),
                PrintRecord(
                    kind=DocumentKind.CARE_PLAN,
                    patient_id=case.patient_id,
                    case_id=case.id,
                    printed_by_id=coordinator,
                    printed_at=dt.datetime(2026, 11, 1, 14, 30, 5, tzinfo=dt.UTC),
                    plan_version="v3-9c1e",
                    content_sha256="cd" * 32,
                    pages=4,
                    large_print=False,
                ),
                Alert(patient_id=case.patient_id, kind=AlertKind.KEY_SAFE, detail="Code 4321"),
                Alert(patient_id=case.patient_id, kind=AlertKind.LIVES_ALONE, detail=""),
                Consent(
                    patient_id=case.patient_id,
                    decision=ConsentDecision.GIVEN,
                    recorded_on=DEMO_TODAY,
                    recorded_by_id=coordinator,
                ),
            ]
        )
        open_cases = (
            select(Patient.practice_id)
            .join(Case, Case.patient_id == Patient.id)
            .where(Case.status.in_(("active", "under_review", "referred")))
            .group_by(Patient.practice_id)
            .order_by(func.count().desc(), Patient.practice_id)
        )
        facts = {
            "store": store,
            "busiest_practice_id": session.scalars(open_cases).first(),
            "coordinator": coordinator,
            "patient_id": case.patient_id,
            "case_id": case.id,
        }
    yield facts
    store.close()


def _plan_rows(session: Session, case_id: uuid.UUID) -> dict[str, Any]:
    """What a person's plan is made of, as comparable values (sensitive actions left out:
    they are never exported)."""
    case = session.get(Case, case_id)
    assert case is not None
    patient = session.get(Patient, case.patient_id)
    assert patient is not None

    coordinators = set(
        session.scalars(
            select(CoordinatorAssignment.staff_id).where(
                CoordinatorAssignment.case_id == case_id, CoordinatorAssignment.ended_on.is_(None)
            )
        )
    )

    def values(rows: Any, *names: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(getattr(row, name) for name in names) for row in rows)

    return {
        "patient": (
            patient.id,
            patient.nhs_number,
            patient.family_name,
            patient.given_name,
            patient.title,
            patient.date_of_birth,
            patient.date_of_death,
            patient.gender,
            patient.address,
            patient.postcode,
            patient.phone,
            patient.practice_id,
        ),
        "case": (
            case.id,
            # "Under review" is an active episode to FHIR: the bundle cannot say more.
            codes.EPISODE_STATUS[case.status],
            case.referred_on,
            case.accepted_on,
            case.next_review_on,
            case.closed_on,
        ),
        "goals": values(
            session.scalars(select(Goal).where(Goal.case_id == case_id)),
            "id",
            "description",
            "target_on",
            "outcome",
        ),
        "actions": values(
            session.scalars(
                select(Action).where(Action.case_id == case_id, Action.sensitive.is_(False))
            ),
            "id",
            "description",
            "owner_id",
            "due_on",
            "status",
            "completed_on",
            "goal_id",
        ),
        # The current coordinator is exported once, as coordinator, not also as a member.
        "team": values(
            (
                member
                for member in session.scalars(
                    select(CareTeamMember).where(CareTeamMember.case_id == case_id)
                )
                if member.staff_id is None or member.staff_id not in coordinators
            ),
            "id",
            "staff_id",
            "name",
            "role",
            "organisation",
            "joined_on",
            "left_on",
        ),
        "coordinator": values(
            session.scalars(
                select(CoordinatorAssignment).where(
                    CoordinatorAssignment.case_id == case_id,
                    CoordinatorAssignment.ended_on.is_(None),
                )
            ),
            "id",
            "staff_id",
            "started_on",
        ),
    }


@pytest.mark.slow  # the demo store takes a few seconds
def test_a_person_s_bundle_imports_into_an_empty_store_and_exports_the_same_bytes(
    demo: dict[str, Any], store: Store
) -> None:
    source: Store = demo["store"]
    with source.read(demo["coordinator"]) as session:
        exported = person_bundle(session, demo["patient_id"]).text
        expected = _plan_rows(session, demo["case_id"])
    assert SENSITIVE_ACTION not in exported
    resource_types = {entry["resource"]["resourceType"] for entry in json.loads(exported)["entry"]}
    assert {"Encounter", "DocumentReference", "Flag", "Consent", "Task", "Goal"} <= resource_types

    report = imported(store, exported)

    assert report.people == 1 and report.practices == 1 and report.staff >= 1
    assert report.resources == len(json.loads(exported)["entry"])
    assert report.patient_ids == (demo["patient_id"],)
    with store.read() as session:
        assert person_bundle(session, demo["patient_id"]).text == exported
        assert _plan_rows(session, demo["case_id"]) == expected
        # No roles, no PIN: a store filled by an import is still in set-up.
        assert store_in_setup(session)
        assert not any(staff.roles or staff.pin_hash for staff in session.scalars(select(Staff)))
        assert session.scalar(select(func.count()).select_from(Action).where(Action.sensitive)) == 0


@pytest.mark.slow  # the demo store takes a few seconds
def test_a_practice_s_bundle_imports_into_an_empty_store_and_exports_the_same_bytes(
    demo: dict[str, Any], store: Store
) -> None:
    source: Store = demo["store"]
    with source.read(demo["coordinator"]) as session:
        bundle = practice_bundle(session, demo["busiest_practice_id"])
        case_ids = session.scalars(
            select(Case.id).where(Case.patient_id.in_(bundle.patient_ids), Case.closed_on.is_(None))
        ).all()
        expected = {case_id: _plan_rows(session, case_id) for case_id in case_ids}
    assert len(bundle.patient_ids) > 1

    report = imported(store, bundle.text)

    assert report.people == len(bundle.patient_ids)
    assert report.resources == bundle.resources
    with store.read() as session:
        assert practice_bundle(session, demo["busiest_practice_id"]).text == bundle.text
        for case_id, source_rows in expected.items():
            imported_rows = _plan_rows(session, case_id)
            for part, values in source_rows.items():
                assert imported_rows[part] == values, (case_id, part)


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_each_golden_bundle_imports_and_exports_the_same_bytes(store: Store, name: str) -> None:
    text = golden(name)
    report = imported(store, text)
    assert report.summary().startswith("Imported 1 person, ")
    with store.read() as session:
        assert person_bundle(session, report.patient_ids[0]).text == text


def test_staff_and_a_practice_already_in_the_store_are_kept_and_the_person_added(
    store: Store,
) -> None:
    first = json.loads(golden(GOLDEN_FILES[0]))
    second = json.loads(golden(GOLDEN_FILES[1]))
    imported(store, golden(GOLDEN_FILES[0]))
    shared_staff = {
        entry["fullUrl"]
        for entry in first["entry"]
        if entry["resource"]["resourceType"] == "Practitioner"
    } & {
        entry["fullUrl"]
        for entry in second["entry"]
        if entry["resource"]["resourceType"] == "Practitioner"
    }

    report = imported(store, golden(GOLDEN_FILES[1]))

    assert report.people == 1
    assert report.staff_reused == len(shared_staff)
    same_practice = (
        entry_of(first, "Organization")[1]["id"] == entry_of(second, "Organization")[1]["id"]
    )
    assert report.practices_reused == (1 if same_practice else 0)
    with store.read() as session:
        assert person_bundle(session, report.patient_ids[0]).text == golden(GOLDEN_FILES[1])


# -- bad bundles ----------------------------------------------------------------------


def test_a_truncated_file_is_refused_naming_the_line_and_column(store: Store) -> None:
    text = golden()
    cut = text[: len(text) // 2]
    error = refused(store, cut)
    (problem,) = error.problems
    line = cut.count("\n") + 1
    assert problem.startswith(f"line {line}, column ")
    assert "not valid JSON" in problem
    assert "Traceback" not in str(error)


def test_a_patient_at_the_top_level_is_refused_as_not_a_bundle(store: Store) -> None:
    _index, patient = entry_of(json.loads(golden()), "Patient")
    error = refused(store, json.dumps(patient))
    assert error.problems == (
        "The file holds a Patient, not a Bundle: MDT Desk imports a Bundle of type "
        "collection, as its FHIR export writes.",
    )


def test_a_bundle_that_is_not_a_collection_is_refused(store: Store) -> None:
    bundle = json.loads(golden())
    bundle["type"] = "transaction"
    error = refused(store, json.dumps(bundle))
    assert "'transaction', not 'collection'" in error.problems[0]


def _mutated(
    change: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
) -> tuple[str, int, dict[str, Any]]:
    bundle = json.loads(golden())
    index, resource = change(bundle)
    return json.dumps(bundle), index, resource


def _banana_type(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, goal = entry_of(bundle, "Goal")
    goal["resourceType"] = "Banana"
    return index, goal


def _broken_reference(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, task = entry_of(bundle, "Task")
    task["owner"]["reference"] = f"urn:uuid:{uuid.UUID(int=7)}"
    return index, task


def _wrong_check_digit(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, patient = entry_of(bundle, "Patient")
    value = patient["identifier"][0]["value"]
    patient["identifier"][0]["value"] = value[:9] + str((int(value[9]) + 1) % 10)
    return index, patient


def _banana_status(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, task = entry_of(bundle, "Task")
    task["status"] = "banana"
    return index, task


def _not_a_date(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, task = entry_of(bundle, "Task")
    task["restriction"]["period"]["end"] = "2026-02-30"
    return index, task


def _owner_not_a_practitioner(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, task = entry_of(bundle, "Task")
    _patient_index, patient = entry_of(bundle, "Patient")
    task["owner"]["reference"] = f"urn:uuid:{patient['id']}"
    return index, task


def _plan_without_episode(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, plan = entry_of(bundle, "CarePlan")
    episode_index, _episode = entry_of(bundle, "EpisodeOfCare")
    del bundle["entry"][episode_index]
    plan.pop("supportingInfo")
    return index - (episode_index < index), plan


def _task_status_fhir_has_but_we_do_not(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    index, task = entry_of(bundle, "Task")
    task["status"] = "on-hold"  # a FHIR Task status, but not one of an action's
    return index, task


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_banana_type, "'Banana' is not a FHIR R4 resource type"),
        (_broken_reference, "Task.owner"),
        (_wrong_check_digit, "check digit"),
        (_banana_status, "'banana'"),
        (_not_a_date, "Task.restriction.period.end"),
        (_owner_not_a_practitioner, "Task.owner points to a Patient, not a Practitioner"),
        (_plan_without_episode, "CarePlan.supportingInfo"),
        (_task_status_fhir_has_but_we_do_not, "Task.status 'on-hold' cannot be imported"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] or None,
)
def test_a_broken_resource_is_refused_by_entry_and_nothing_is_written(
    store: Store, change: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]], said: str
) -> None:
    text, index, resource = _mutated(change)
    error = refused(store, text)
    naming = [problem for problem in error.problems if names_entry(problem, index, resource)]
    assert naming, error.problems
    assert any(said in problem for problem in naming), naming
    assert str(error).startswith("The bundle was not imported (")
    assert "Traceback" not in str(error)


PLANTED_NUMBER = "9992430109"
PLANTED_NAME = "Jane Smith"
PLANTED = f"{PLANTED_NAME} {PLANTED_NUMBER}"


def _planted_everywhere(bundle: dict[str, Any]) -> None:
    """An NHS number and a name in every place a message might echo the file."""
    _index, patient = entry_of(bundle, "Patient")
    patient["identifier"][0]["value"] = PLANTED_NUMBER[:9] + "0"  # wrong check digit
    patient["gender"] = PLANTED
    patient["meta"]["profile"] = [f"https://example.org/{PLANTED}"]
    patient[PLANTED] = True  # an unknown element
    task_index, task = entry_of(bundle, "Task")
    bundle["entry"][task_index]["fullUrl"] = f"urn:uuid:{PLANTED}"
    task["status"] = PLANTED
    task["owner"]["reference"] = f"Patient/{PLANTED}"
    _org_index, organization = entry_of(bundle, "Organization")
    organization["identifier"][0]["value"] = PLANTED
    _goal_index, goal = entry_of(bundle, "Goal")
    goal["target"][0]["dueDate"] = PLANTED
    _plan_index, plan = entry_of(bundle, "CarePlan")
    plan["intent"] = PLANTED
    _consent_index, consent = entry_of(bundle, "Consent")
    consent["dateTime"] = PLANTED_NUMBER


def test_no_message_shows_an_nhs_number_or_a_name_from_the_file(store: Store) -> None:
    bundle = json.loads(golden())
    _planted_everywhere(bundle)
    error = refused(store, json.dumps(bundle))
    assert error.total >= 8, error.problems
    for problem in error.problems:
        assert PLANTED_NUMBER not in problem and PLANTED_NUMBER[:9] not in problem, problem
        assert "Jane" not in problem and "Smith" not in problem, problem


def test_a_status_that_is_a_short_code_is_still_shown(store: Store) -> None:
    text, _index, _task = _mutated(_banana_status)
    assert any("Task.status 'banana'" in problem for problem in refused(store, text).problems)


# -- hostile files: refused by entry, never a crash -----------------------------------


def _deep_extension(levels: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "https://example.org/x", "valueString": "x"}
    for _ in range(levels):
        extension = {"url": "https://example.org/x", "extension": [extension]}
    return extension


def _with_deep_goal(levels: int) -> tuple[str, int, dict[str, Any]]:
    def deepen(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, goal = entry_of(bundle, "Goal")
        goal["extension"] = [_deep_extension(levels)]
        return index, goal

    return _mutated(deepen)


def _with_long_number() -> str:
    bundle = json.loads(golden())
    _index, goal = entry_of(bundle, "Goal")
    goal["extension"] = [{"url": "https://example.org/x", "valueInteger": 0}]
    text = json.dumps(bundle)
    return text.replace('"valueInteger": 0', '"valueInteger": ' + "9" * 5000, 1)


def test_a_number_of_thousands_of_digits_is_refused_not_a_crash(store: Store) -> None:
    error = refused(store, _with_long_number())
    assert error.problems == ("The file holds a number too long to read (thousands of digits).",)


def test_a_resource_nested_hundreds_deep_is_refused_by_entry(store: Store) -> None:
    text, index, goal = _with_deep_goal(400)
    error = refused(store, text)
    assert any(
        names_entry(problem, index, goal) and "nested more than 64 levels" in problem
        for problem in error.problems
    ), error.problems


@pytest.mark.parametrize(
    "make", [_with_long_number, lambda: _with_deep_goal(400)[0]], ids=["long number", "deep"]
)
def test_the_command_refuses_a_hostile_file_with_exit_2_and_leaves_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Callable[[], str]
) -> None:
    file = tmp_path / "hostile.json"
    file.write_text(make(), encoding="utf-8")
    new_store = tmp_path / "new.sqlite"
    status, _out = run("fhir", "import", str(file), "--store", str(new_store))
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    assert "The bundle was not imported" in err
    assert not new_store.exists()


def test_a_contained_resource_is_refused_and_its_faults_named_by_its_own_type(
    store: Store,
) -> None:
    def contain(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, goal = entry_of(bundle, "Goal")
        goal["contained"] = [
            {"resourceType": "Observation", "id": "o1", "status": "final", "code": {}, "bogus": 1}
        ]
        return index, goal

    text, index, goal = _mutated(contain)
    problems = [p for p in refused(store, text).problems if names_entry(p, index, goal)]
    assert any("Goal.contained: MDT Desk does not import contained" in p for p in problems)
    assert any("Goal.contained[0].bogus is not an element of Observation" in p for p in problems), (
        problems
    )


def test_a_care_team_with_two_coordinators_is_refused(store: Store) -> None:
    def second_coordinator(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, team = entry_of(bundle, "CareTeam")
        twin = copy.deepcopy(team["participant"][0])
        twin["id"] = str(uuid.UUID(int=11))
        team["participant"].append(twin)
        return index, team

    text, index, team = _mutated(second_coordinator)
    assert any(
        names_entry(problem, index, team)
        and "CareTeam has 2 care coordinators; MDT Desk keeps one named coordinator per case"
        in problem
        for problem in refused(store, text).problems
    )


def _goal_text(text: str) -> Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]:
    def change(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, goal = entry_of(bundle, "Goal")
        goal["description"]["text"] = text
        return index, goal

    return change


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("I want " + "x" * importer.LONG_TEXT, "is 10,007 characters long; MDT Desk keeps at"),
        ("I want \u202eto go home", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("I want\x00 to go home", "control character"),
    ],
    ids=["too long", "bidi override", "control"],
)
def test_imported_free_text_meets_the_rules_typed_text_meets(
    store: Store, text: str, said: str
) -> None:
    bundle_text, index, goal = _mutated(_goal_text(text))
    problems = refused(store, bundle_text).problems
    assert any(
        names_entry(problem, index, goal) and "Goal.description.text" in problem and said in problem
        for problem in problems
    ), problems
    assert all("I want" not in problem for problem in problems)


def test_a_five_megabyte_goal_is_refused_quickly(store: Store) -> None:
    bundle_text, _index, _goal = _mutated(_goal_text("x" * 5_000_000))
    assert any(
        "Goal.description.text is 5,000,000 characters" in p
        for p in refused(store, bundle_text).problems
    )


def test_imported_free_text_is_kept_in_nfc(store: Store) -> None:
    decomposed = "I want to see Zoe\u0308 again"
    bundle_text, _index, goal = _mutated(_goal_text(decomposed))
    imported(store, bundle_text)
    with store.read() as session:
        kept = session.get(Goal, uuid.UUID(goal["id"]))
        assert kept is not None
        assert kept.description == "I want to see Zo\u00eb again"


def test_a_consent_dated_after_today_in_london_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index, consent = entry_of(json.loads(golden()), "Consent")
    recorded = dt.date.fromisoformat(consent["dateTime"])
    monkeypatch.setattr(importer, "london_today", lambda: recorded - dt.timedelta(days=1))
    assert any(
        "Consent.dateTime is in the future" in problem
        for problem in refused(store, golden()).problems
    )


def test_a_person_already_in_the_store_is_refused_in_one_problem(store: Store) -> None:
    """Their case, goals, actions... are in the store too: said once, by the person."""
    imported(store, golden())
    index, patient = entry_of(json.loads(golden()), "Patient")
    error = refused(store, golden())
    assert error.problems == (
        f"entry {index} (line {index + 2}, Patient urn:uuid:{patient['id']}): this person is "
        "already in this store (same NHS number); MDT Desk never merges two records, so "
        "nothing was written. Open their record instead.",
    )


def test_a_person_under_the_same_id_with_another_nhs_number_is_refused_once(
    store: Store,
) -> None:
    imported(store, golden(GOLDEN_FILES[0]))
    other = entry_of(json.loads(golden(GOLDEN_FILES[1])), "Patient")[1]
    bundle = json.loads(golden(GOLDEN_FILES[0]))
    index, patient = entry_of(bundle, "Patient")
    patient["identifier"][0]["value"] = other["identifier"][0]["value"]
    error = refused(store, json.dumps(bundle))
    assert error.total == 1, error.problems
    assert names_entry(error.problems[0], index, patient)
    assert "already in this store (same record id)" in error.problems[0]


def test_a_row_of_a_new_person_already_in_the_store_is_named_by_its_entry(
    store: Store,
) -> None:
    """Not a person already here: each row whose id is taken is said, by its entry, a
    care team participant within its CareTeam."""
    first = json.loads(golden(GOLDEN_FILES[0]))
    imported(store, json.dumps(first))
    task_id = entry_of(json.loads(golden(GOLDEN_FILES[1])), "Task")[1]["id"]
    taken = entry_of(first, "Task")[1]["id"]
    bundle = json.loads(golden(GOLDEN_FILES[1]).replace(task_id, taken))
    task_index, task = entry_of(bundle, "Task")
    team_index, team = entry_of(bundle, "CareTeam")
    team["participant"][0]["id"] = entry_of(first, "CareTeam")[1]["participant"][0]["id"]
    error = refused(store, json.dumps(bundle))
    assert any(
        names_entry(problem, task_index, task)
        and problem.endswith(": an action with the same id is already in this store.")
        for problem in error.problems
    ), error.problems
    assert any(
        names_entry(problem, team_index, team)
        and "CareTeam.participant[0]: a " in problem
        and "with the same id is already in this store." in problem
        for problem in error.problems
    ), error.problems
    assert all(problem.startswith("entry ") for problem in error.problems), error.problems


def test_the_same_nhs_number_under_another_id_is_refused(store: Store) -> None:
    imported(store, golden(GOLDEN_FILES[0]))
    first_patient = entry_of(json.loads(golden(GOLDEN_FILES[0])), "Patient")[1]
    bundle = json.loads(golden(GOLDEN_FILES[1]))
    index, patient = entry_of(bundle, "Patient")
    patient["identifier"][0]["value"] = first_patient["identifier"][0]["value"]
    error = refused(store, json.dumps(bundle))
    assert any(
        names_entry(problem, index, patient)
        and "already in this store (same NHS number)" in problem
        for problem in error.problems
    ), error.problems


def test_every_problem_is_reported_up_to_fifty_then_counted(store: Store) -> None:
    bundle = json.loads(golden())
    _index, task = entry_of(bundle, "Task")
    for number in range(60):
        twin = copy.deepcopy(task)
        twin["id"] = str(uuid.UUID(int=number + 1))
        twin["status"] = "banana"
        bundle["entry"].append({"fullUrl": f"urn:uuid:{twin['id']}", "resource": twin})
    error = refused(store, json.dumps(bundle))
    assert error.total >= 60
    assert len(error.problems) == importer.MAX_PROBLEMS_SHOWN + 1
    assert error.problems[-1] == f"… and {error.total - importer.MAX_PROBLEMS_SHOWN} more problems."


def test_a_write_failing_half_way_leaves_nothing_even_if_the_caller_carries_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are written in a savepoint: a failure after some were flushed takes them
    all back, even when the caller catches the error and its own transaction commits."""
    real_groups = importer._Planned.groups

    def failing_last(planned: importer._Planned) -> list[list[Any]]:
        groups = real_groups(planned)
        # an action without an owner, written after all the others: its insert fails
        ownerless = Action(
            case_id=planned.cases[0].id,
            description="Nobody's action",
            due_on=DEMO_TODAY,
            status=ActionStatus.OPEN,
        )
        return [*groups, [ownerless]]

    monkeypatch.setattr(importer._Planned, "groups", failing_last)
    before = rows_in(store)
    with (
        store.write(None, "fhir import") as session,
        pytest.raises(IntegrityError, match="NOT NULL"),
    ):
        import_bundle(session, golden())
    assert rows_in(store) == before


# -- any corruption: refused with nothing written, or a stable import -----------------


class _KeepNothingError(Exception):
    """Raised to end a write session without keeping what it wrote."""


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for key, item in enumerate(value) for leaf in _leaf_paths(item, (*path, key))]
    return [path]


GOOD = json.loads(golden())
LEAVES = [
    (index, path)
    for index, entry in enumerate(GOOD["entry"])
    for path in _leaf_paths(entry["resource"])
]
REPLACEMENTS: st.SearchStrategy[Any] = st.sampled_from(
    [
        "banana",
        "",
        "2026-02-30",
        f"urn:uuid:{uuid.UUID(int=9)}",
        0,
        True,
        None,
        "\u202eevil",
        [],
        {},
    ]
)


def _export_after_import(store: Store, text: str) -> str | None:
    """Import into ``store`` and export the person again, keeping nothing; None when
    refused (and then the session must hold no more rows than before)."""
    try:
        with store.write(None, "fhir import") as session:
            before = row_count(session)
            try:
                report = import_bundle(session, text)
            except FhirImportError as error:
                assert row_count(session) == before
                assert all(
                    problem.startswith(("entry ", "bundle ", "line ", "The ", "…"))
                    for problem in error.problems
                ), error.problems
                raise _KeepNothingError from None
            again = person_bundle(session, report.patient_ids[0]).text
            raise _KeepNothingError(again)
    except _KeepNothingError as done:
        return done.args[0] if done.args else None


def _corrupt_value(bundle: dict[str, Any], index: int, path: tuple[Any, ...], value: Any) -> None:
    holder: Any = bundle["entry"][index]["resource"]
    for key in path[:-1]:
        holder = holder[key]
    if value is None:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value


def _corrupt_entry(bundle: dict[str, Any], index: int, how: str) -> None:
    entries = bundle["entry"]
    if how == "dropped":
        del entries[index]
    elif how == "repeated":
        entries.append(copy.deepcopy(entries[index]))
    elif how == "fullUrl changed":
        entries[index]["fullUrl"] = f"urn:uuid:{uuid.UUID(int=9)}"
    else:  # resource taken out
        del entries[index]["resource"]


VALUE_CORRUPTIONS = st.tuples(st.sampled_from(LEAVES), REPLACEMENTS).map(
    lambda chosen: lambda bundle: _corrupt_value(bundle, chosen[0][0], chosen[0][1], chosen[1])
)
ENTRY_CORRUPTIONS = st.tuples(
    st.integers(min_value=0, max_value=len(GOOD["entry"]) - 1),
    st.sampled_from(["dropped", "repeated", "fullUrl changed", "resource taken out"]),
).map(lambda chosen: lambda bundle: _corrupt_entry(bundle, *chosen))


@pytest.mark.slow  # about 5 s: a hundred imports and exports
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,  # the same hundred corruptions every run: a failure can be rerun
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(corrupt=st.one_of(VALUE_CORRUPTIONS, ENTRY_CORRUPTIONS))
def test_any_one_corruption_is_refused_or_imports_to_a_stable_export(
    store: Store, corrupt: Callable[[dict[str, Any]], None]
) -> None:
    """Either the import refuses the bundle and writes nothing, or what it imported
    exports to a bundle that itself imports and exports to the very same bytes."""
    bundle = copy.deepcopy(GOOD)
    corrupt(bundle)
    first = _export_after_import(store, json.dumps(bundle))
    if first is None:
        return
    assert _export_after_import(store, first) == first


# -- messages a person can act on; checked before any store ---------------------------


def check_refused(text: str) -> FhirImportError:
    with pytest.raises(FhirImportError) as raised:
        importer.check_bundle_text(text)
    return raised.value


def test_a_date_not_in_fhir_s_form_is_said_with_the_form_it_must_take() -> None:
    def slashed(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, patient = entry_of(bundle, "Patient")
        patient["birthDate"] = "14/07/1945"
        return index, patient

    text, index, patient = _mutated(slashed)
    problems = check_refused(text).problems
    assert any(
        names_entry(problem, index, patient)
        and problem.endswith(
            "Patient.birthDate must be a date written YYYY-MM-DD (e.g. 1945-07-14)."
        )
        for problem in problems
    ), problems
    assert not any("regex" in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("gender", "hinted"), [("Female", True), ("FEMALE", True), ("females", False)]
)
def test_a_code_in_capitals_is_said_to_be_lower_case(gender: str, hinted: bool) -> None:
    def capitalised(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index, patient = entry_of(bundle, "Patient")
        patient["gender"] = gender
        return index, patient

    text, index, patient = _mutated(capitalised)
    problems = [p for p in check_refused(text).problems if names_entry(p, index, patient)]
    assert any("Patient.gender" in problem for problem in problems), problems
    assert any("(codes are lower case)" in problem for problem in problems) == hinted, problems


def test_a_problem_names_the_line_of_its_entry_in_a_file_as_the_export_writes_it() -> None:
    """One entry a line (the export's layout): the line is given; else the entry only."""
    bundle = json.loads(golden())
    index, goal = entry_of(bundle, "Goal")
    goal["lifecycleStatus"] = "banana"
    one_a_line = golden().replace('"lifecycleStatus": "active"', '"lifecycleStatus": "banana"', 1)
    assert json.loads(one_a_line) == bundle
    with_lines = check_refused(one_a_line).problems
    assert with_lines and all(
        problem.startswith(f"entry {index} (line {index + 2}, Goal urn:uuid:{goal['id']}): ")
        for problem in with_lines
    ), with_lines
    # The same bundle in another layout: no line can be trusted, so none is said.
    for other_layout in (json.dumps(bundle), json.dumps(bundle, indent=2)):
        problems = check_refused(other_layout).problems
        assert problems and all(
            problem.startswith(f"entry {index} (Goal urn:uuid:{goal['id']}): ")
            for problem in problems
        ), problems


def test_a_sound_bundle_passes_the_check_and_imports_from_it(store: Store) -> None:
    checked = importer.check_bundle_text(golden())
    with store.write(None, "fhir import") as session:
        report = import_bundle(session, checked)
    assert report.people == 1
    with store.read() as session:
        assert session.get(Patient, report.patient_ids[0]) is not None


def test_the_check_leaves_what_needs_the_store_to_the_import(store: Store) -> None:
    """A person already in the store is no fault of the file's: the check passes it,
    the import refuses it."""
    imported(store, golden())
    checked = importer.check_bundle_text(golden())
    with pytest.raises(FhirImportError) as raised, store.write(None, "fhir import") as session:
        import_bundle(session, checked)
    assert "this person is already in this store" in raised.value.problems[0]


def _bad_birth_date() -> str:
    return golden().replace('"birthDate": "', '"birthDate": "x', 1)


def test_the_command_checks_the_file_before_it_opens_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong file is refused before any store is opened (or made, or its passphrase
    asked for)."""
    file = tmp_path / "bad.json"
    file.write_text(_bad_birth_date(), encoding="utf-8")

    def no_store(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the store was opened for a file that is refused")

    monkeypatch.setattr("mdt_desk.cli._open_store", no_store)
    status, _out = run("fhir", "import", str(file), "--store", str(tmp_path / "new.sqlite"))
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Patient.birthDate must be a date written YYYY-MM-DD" in err
    assert not (tmp_path / "new.sqlite").exists()


def test_the_command_with_json_says_a_refusal_as_json_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.json"
    file.write_text(_bad_birth_date(), encoding="utf-8")
    status, out = run(
        "fhir", "import", str(file), "--store", str(tmp_path / "new.sqlite"), "--json"
    )
    assert status == 2
    said = json.loads(out)
    assert said["imported"] is False
    assert said["total"] == len(said["problems"]) == 1
    assert "Patient.birthDate must be a date written YYYY-MM-DD" in said["problems"][0]
    assert "The bundle was not imported" in capsys.readouterr().err


def test_the_command_with_json_says_an_import_as_json(tmp_path: Path) -> None:
    file = tmp_path / "plan.json"
    file.write_text(golden(), encoding="utf-8")
    status, out = run(
        "fhir", "import", str(file), "--store", str(tmp_path / "new.sqlite"), "--json"
    )
    assert status == 0, out
    said = json.loads(out)
    assert said["imported"] is True
    assert said["people"] == 1
