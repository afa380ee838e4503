"""`check` finds damage and journal gaps; `export` is stable byte for byte."""

import io
import json
import re
from pathlib import Path

import pytest

from mdt_desk.cli import SETUP_NOTICE, main
from mdt_desk.models.store import Store, schema_head
from mdt_desk.services import check, export
from mdt_desk.services.check import check_store
from mdt_desk.services.export import export_json, export_tables
from tests import store_sql
from tests.services.test_case_rules import active_case, new_patient


@pytest.fixture
def busy_store(store: Store, practice_ids, team) -> Store:
    for index, nhs in enumerate(("9990000018", "9990000026", "9990000034")):
        patient_id = new_patient(store, practice_ids["A81001"], nhs)
        if index < 2:
            active_case(store, patient_id, team["social_worker"])
    return store


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_check_passes_on_a_sound_store(busy_store: Store) -> None:
    report = check_store(busy_store)
    assert report.passed, report
    assert [c.name for c in report.checks] == [
        "integrity",
        "foreign keys",
        "journal triggers",
        "journal chain",
        "journal",
    ]
    status, output = run_cli("check", "--store", str(busy_store.path))
    assert status == 0 and "FAIL" not in output


def test_check_finds_a_change_that_bypassed_the_journal(busy_store: Store) -> None:
    raw = store_sql.connect(busy_store.path)
    trigger_sql = raw.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'journal_patient_update'"
    ).fetchone()[0]
    raw.execute("DROP TRIGGER journal_patient_update")
    raw.execute("UPDATE patient SET family_name = 'Tampered' WHERE nhs_number = '9990000018'")
    raw.execute(trigger_sql)
    raw.commit()
    raw.close()
    report = check_store(busy_store)
    journal = next(c for c in report.checks if c.name == "journal")
    assert (
        not journal.passed
        and "patient.family_name differs from the journal in 1 rows" in journal.detail
    )
    status, output = run_cli("check", "--store", str(busy_store.path), "--json")
    by_name = {check["name"]: check for check in json.loads(output)["checks"]}
    assert status == 1 and by_name["journal"]["passed"] is False


def test_check_finds_a_missing_trigger(busy_store: Store) -> None:
    raw = store_sql.connect(busy_store.path)
    raw.execute("DROP TRIGGER journal_action_insert")
    raw.commit()
    raw.close()
    report = check_store(busy_store)
    assert not report.passed
    assert (
        "action (insert trigger)"
        in next(c for c in report.checks if c.name == "journal triggers").detail
    )


def test_check_finds_a_broken_reference(busy_store: Store) -> None:
    # foreign keys are checked table by table (so the check can be counted): still found
    raw = store_sql.connect(busy_store.path)
    raw.execute("PRAGMA foreign_keys = OFF")
    trigger_sql = raw.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'journal_care_case_update'"
    ).fetchone()[0]
    raw.execute("DROP TRIGGER journal_care_case_update")
    raw.execute("UPDATE care_case SET patient_id = zeroblob(16)")
    raw.execute(trigger_sql)
    raw.commit()
    raw.close()
    keys = next(c for c in check_store(busy_store).checks if c.name == "foreign keys")
    assert not keys.passed and keys.detail == "2 broken references in care_case"


def test_check_fails_cleanly_on_a_damaged_file(busy_store: Store, capsys) -> None:
    path = busy_store.path
    busy_store.close()
    raw = store_sql.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = int(raw.execute("PRAGMA page_size").fetchone()[0])
    raw.close()
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // page_size):  # leave the header page readable
        start = page * page_size + 100
        data[start : start + 200] = b"\xde\xad\xbe\xef" * 50
    path.write_bytes(bytes(data))
    status, output = run_cli("check", "--store", str(path))
    captured = capsys.readouterr()
    assert status != 0
    assert "Traceback" not in captured.err
    assert "FAIL" in output or "damaged" in captured.err


def test_export_is_stable_and_complete(busy_store: Store) -> None:
    def export() -> str:
        out = io.StringIO()
        with busy_store.read() as session:
            export_json(session, out)
        return out.getvalue()

    first, second = export(), export()
    assert first == second
    document = json.loads(first)
    assert document["format"] == "mdt-desk-export" and document["schema"] == schema_head()
    assert list(document["tables"]) == [name for name, _key in export_tables()]
    patients = document["tables"]["patient"]
    assert len(patients) == 3 and [p["id"] for p in patients] == sorted(p["id"] for p in patients)
    assert {p["given_name"] for p in patients} == {"Siân"}  # UTF-8, not escaped
    assert len(document["tables"]["journal_change"]) > 0


def test_export_command_writes_a_file_atomically(busy_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    status, _ = run_cli(
        "export", "--format", "json", "--store", str(busy_store.path), "-o", str(target)
    )
    assert status == 0
    assert json.loads(target.read_text(encoding="utf-8"))["tables"]["care_case"]
    assert not list(tmp_path.glob("*.part"))


def test_check_reports_each_phase_to_the_end(busy_store: Store) -> None:
    calls: list[tuple[str, int, int]] = []
    assert check_store(busy_store, lambda *call: calls.append(call)).passed
    # The integrity check is announced before anything else runs (one opaque step).
    assert calls[0] == (check.INTEGRITY, 0, 0)
    phases = list(dict.fromkeys(phase for phase, _done, _total in calls))
    assert phases == [
        check.INTEGRITY,
        check.FOREIGN_KEYS,
        check.TRIGGERS,
        check.CHAIN,
        check.SEALED_CONTENT,
        check.JOURNAL,
    ]
    for phase in phases[1:]:
        seen = [(done, total) for name, done, total in calls if name == phase]
        assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] > 0, (phase, seen)
        assert [done for done, _total in seen] == sorted(done for done, _total in seen)
    journal_changes = sum(
        done for name, done, total in calls if name == check.SEALED_CONTENT and done == total
    )
    assert journal_changes > 0


def test_check_command_shows_progress_on_stderr_and_none_with_json(
    busy_store: Store, capsys
) -> None:
    status, output = run_cli("check", "--store", str(busy_store.path))
    err = capsys.readouterr().err
    assert status == 0 and output.startswith("ok   integrity")
    lines = err.splitlines()
    assert lines[0] == "Checking the file's integrity…"
    for what, unit in (
        ("Checking foreign keys", "tables"),
        ("Checking the journal triggers", "tables"),
        ("Checking the journal chain", "transactions"),
        ("Checking this desk's sealed changes", "changes"),
        ("Comparing the records with the journal", "columns"),
    ):
        assert re.search(rf"^{what}… 0% \(0 of [\d,]+ {unit}\)$", err, re.M), what
        assert re.search(rf"^{what}… 100% \(([\d,]+) of \1 {unit}\)$", err, re.M), what
    assert "…" not in output

    status, output = run_cli("check", "--store", str(busy_store.path), "--json")
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    assert [item["name"] for item in json.loads(output)["checks"]] == [
        "integrity",
        "foreign keys",
        "journal triggers",
        "journal chain",
        "journal",
    ]


def test_export_progress_changes_no_byte_of_the_export(busy_store: Store, monkeypatch) -> None:
    monkeypatch.setattr(export, "PROGRESS_BATCH", 2)  # the small tables are reported too
    calls: list[tuple[str, int, int]] = []
    with busy_store.read() as session:
        quiet, watched = io.StringIO(), io.StringIO()
        export_json(session, quiet)
        export_json(session, watched, lambda *call: calls.append(call))
    assert watched.getvalue() == quiet.getvalue()
    assert calls[0] == (export.COUNTING, 0, 0)
    document = json.loads(quiet.getvalue())
    reported = {phase for phase, _done, _total in calls[1:]}
    assert reported == {table for table, rows in document["tables"].items() if len(rows) >= 2}
    for table in reported:
        seen = [(done, total) for name, done, total in calls if name == table]
        rows = len(document["tables"][table])
        assert seen[0] == (0, rows) and seen[-1] == (rows, rows), (table, seen)
        if rows >= 4:  # reported in batches as it goes, not only at the ends
            assert (2, rows) in seen


def test_export_command_shows_progress_on_stderr_only(
    busy_store: Store, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(export, "PROGRESS_BATCH", 2)
    status, output = run_cli("export", "--format", "json", "--store", str(busy_store.path))
    err = capsys.readouterr().err
    assert status == 0
    document = json.loads(output)  # the screen holds the export and nothing else
    patients = len(document["tables"]["patient"])
    assert err.splitlines()[:2] == [SETUP_NOTICE, "Counting the rows to export…"]
    assert f"Exporting patient… 0% (0 of {patients} rows)" in err
    assert f"Exporting patient… 100% ({patients} of {patients} rows)" in err
    changes = len(document["tables"]["journal_change"])
    assert f"Exporting journal_change… 100% ({changes:,} of {changes:,} rows)" in err
