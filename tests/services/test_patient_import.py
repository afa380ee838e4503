"""Patient list import: good rows in, each bad row reported by line, nothing half-written."""

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nhs_number.validate import is_valid
from sqlalchemy import func, select, text

from mdt_desk import cli
from mdt_desk.errors import ImportFileError, ValidationError
from mdt_desk.models import Patient, base
from mdt_desk.models.enums import Gender
from mdt_desk.models.store import Store
from mdt_desk.services.patient_import import import_patients_csv, import_patients_file
from mdt_desk.services.reports import ImportReport
from mdt_desk.services.validation import normalise_nhs_number

HEADER = (
    "nhs_number,family_name,given_name,date_of_birth,practice_code,gender,address,postcode,phone"
)


def _synthetic_nhs_numbers() -> Iterator[str]:
    """Valid numbers in the never-issued 999 range, in order."""
    for candidate in range(999_000_000_0, 999_999_999_9):
        digits = str(candidate)
        if is_valid(digits):
            yield digits


def _first_numbers(count: int) -> tuple[str, ...]:
    numbers = _synthetic_nhs_numbers()
    return tuple(next(numbers) for _ in range(count))


NHS = _first_numbers(40)
#: A number whose check digit is wrong (the last digit of a valid one changed).
BAD_CHECK_DIGIT = NHS[0][:9] + str((int(NHS[0][9]) + 1) % 10)


def test_test_numbers_are_valid_synthetic_ones() -> None:
    assert all(normalise_nhs_number(number) == number for number in NHS)
    assert all(number.startswith("999") for number in NHS)
    assert not is_valid(BAD_CHECK_DIGIT)


def write_csv(path: Path, lines: Sequence[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def run_import(store: Store, path: Path) -> ImportReport:
    """The import as the command line and the app run it: streamed, in short transactions."""
    return import_patients_file(store, path, actor_label="test import")


def run_import_in_one_transaction(store: Store, path: Path) -> ImportReport:
    with store.write(actor_label="test import") as session:
        return import_patients_csv(session, path)


def patient_count(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(Patient)) or 0


def journalled_patient_ids(store: Store) -> set[str]:
    with store.read() as session:
        return {
            str(row_id)
            for row_id in session.execute(
                text("SELECT DISTINCT row_id FROM journal_change WHERE entity = 'patient'")
            ).scalars()
        }


def journal_size(store: Store) -> tuple[int, int]:
    with store.read() as session:
        changes = session.execute(text("SELECT count(*) FROM journal_change")).scalar_one()
        transactions = session.execute(text("SELECT count(*) FROM journal_tx")).scalar_one()
    return int(changes), int(transactions)


def patients_by_nhs(store: Store) -> dict[str, Patient]:
    with store.read() as session:
        patients = {patient.nhs_number: patient for patient in session.scalars(select(Patient))}
        session.expunge_all()  # keep the loaded values when the read session ends
    return patients


def problem_lines(report: ImportReport) -> dict[int, str]:
    return {problem.line: problem.reason for problem in report.problems}


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "good.csv",
        [
            HEADER,
            f"{NHS[0]},Smith,Joan,1945-07-14,A81001,female,1 High Street,ts18 1hu,01642 000001",
            f"999 {NHS[1][3:6]} {NHS[1][6:]},Patel,Arjun,14/07/1950,a81002,M,,TS181HU,",
            f"{NHS[2][:3]}-{NHS[2][3:6]}-{NHS[2][6:]},Ó Briain,Seán,3-Mar-1938,A81004,,,,",
        ],
    )


# --- good files ---------------------------------------------------------------------------


def test_good_file_is_imported(
    store: Store, practice_ids: dict[str, uuid.UUID], good_file: Path
) -> None:
    report = run_import(store, good_file)

    assert report == ImportReport(imported=3)
    patients = patients_by_nhs(store)
    assert set(patients) == set(NHS[:3])  # stored as 10 digits, whatever the spacing
    joan, arjun, sean = (patients[number] for number in NHS[:3])
    assert (joan.family_name, joan.given_name) == ("Smith", "Joan")
    assert joan.date_of_birth == dt.date(1945, 7, 14)
    assert arjun.date_of_birth == dt.date(1950, 7, 14)
    assert sean.date_of_birth == dt.date(1938, 3, 3)
    assert (joan.gender, arjun.gender, sean.gender) == (
        Gender.FEMALE,
        Gender.MALE,
        Gender.NOT_KNOWN,
    )
    assert joan.practice_id == practice_ids["A81001"]
    assert arjun.practice_id == practice_ids["A81002"]
    assert sean.practice_id == practice_ids["A81004"]
    assert (joan.address, joan.postcode, joan.phone) == (
        "1 High Street",
        "TS18 1HU",
        "01642 000001",
    )
    assert arjun.postcode == "TS18 1HU"
    assert (sean.family_name, sean.given_name) == ("Ó Briain", "Seán")
    assert all(patient.created_at.tzinfo is not None for patient in patients.values())
    assert journalled_patient_ids(store) == {patient.id.hex for patient in patients.values()}


def test_ids_come_from_the_replaceable_factory(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    good_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = [uuid.UUID(int=n) for n in (101, 102, 103)]
    factory = iter(made)
    monkeypatch.setattr(base, "new_id", lambda: next(factory))

    run_import(store, good_file)

    assert {patient.id for patient in patients_by_nhs(store).values()} == set(made)


def test_headers_in_any_order_case_and_common_names(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "aliases.csv",
        [
            "Patient search: frail elderly,,,,,,",  # a report title above the header
            "Run on 01/11/2026,,,,,,",
            "",
            "  Surname , FORENAME ,D.O.B., NHS Number ,ODS code,Sex,Post Code,Usual GP",
            f"Smith,Joan,14-Jul-1945,{NHS[0]},A81001,F,TS18 1HU,Dr Who",
        ],
    )

    report = run_import(store, path)

    assert report == ImportReport(imported=1)
    joan = patients_by_nhs(store)[NHS[0]]
    assert (joan.family_name, joan.given_name, joan.gender) == ("Smith", "Joan", Gender.FEMALE)
    assert joan.date_of_birth == dt.date(1945, 7, 14)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, delimiter: str
) -> None:
    path = write_csv(
        tmp_path / "other-delimiter.csv",
        [
            delimiter.join(
                ["NHS number", "Family name", "Given name", "DOB", "Practice", "Address"]
            ),
            delimiter.join(
                [NHS[0], "Smith", "Joan", "14/07/1945", "A81001", "1 High St, Stockton"]
            ),
        ],
    )

    assert run_import(store, path) == ImportReport(imported=1)
    assert patients_by_nhs(store)[NHS[0]].address == "1 High St, Stockton"


def test_windows_1252_file_is_read(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "excel.csv",
        [HEADER, f"{NHS[0]},Brontë,Zoë,1945-07-14,A81001,female,Café Row,,"],
        encoding="cp1252",
    )

    assert run_import(store, path) == ImportReport(imported=1)
    zoe = patients_by_nhs(store)[NHS[0]]
    assert (zoe.family_name, zoe.given_name, zoe.address) == ("Brontë", "Zoë", "Café Row")


def test_utf8_with_byte_order_mark(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "bom.csv", [HEADER, f"{NHS[0]},Brontë,Zoë,1945-07-14,A81001,,,,"], "utf-8-sig"
    )

    assert run_import(store, path) == ImportReport(imported=1)
    assert patients_by_nhs(store)[NHS[0]].given_name == "Zoë"


# --- bad rows -----------------------------------------------------------------------------


def test_mixed_file_imports_good_rows_and_reports_each_bad_one(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    # Someone already in the store, whose NHS number the file gives to someone else.
    run_import(
        store,
        write_csv(tmp_path / "first.csv", [HEADER, f"{NHS[9]},Jones,Ann,1940-01-01,A81001,,,,"]),
    )
    before = patient_count(store)
    lines = [
        HEADER,  # 1
        f"{NHS[0]},Smith,Joan,1945-07-14,A81001,female,,,",  # 2 good
        f"{BAD_CHECK_DIGIT},Bad,Check,1945-07-14,A81001,,,,",  # 3 check digit
        f"{NHS[1]},Unknown,Practice,1945-07-14,Y99999,,,,",  # 4 practice not in store
        f"{NHS[2]},Bad,Date,yesterday,A81001,,,,",  # 5 unreadable date
        f"{NHS[3]},No,Such,31/02/1950,A81001,,,,",  # 6 impossible date
        f"{NHS[4]},Not,Born,2090-01-01,A81001,,,,",  # 7 future
        f"{NHS[5]},Too,Old,1899-12-31,A81001,,,,",  # 8 before 1900
        f"{NHS[6]},Nameless,,1945-07-14,A81001,,,,",  # 9 no given name
        f"{NHS[7]},Odd,Gender,1945-07-14,A81001,maybe,,,",  # 10 bad gender
        f"{NHS[0]},Smith,Joan,1950-01-01,A81001,female,,,",  # 11 same NHS, other person
        f"{NHS[0]},SMITH,joan,14/07/1945,A81001,F,,,",  # 12 identical repeat: skipped
        f'{NHS[8]},Good,Two,1945-07-14,A81002,,"Flat 2',  # 13 good, address on two lines
        'Rose Court",,',  # 14 (rest of line 13)
        f"{NHS[9]},Other,Person,1940-01-01,A81001,,,,",  # 15 NHS number of Ann Jones
        f"{NHS[10]},Bad,Postcode,1945-07-14,A81001,,,NOT A POSTCODE,",  # 16
        f"{NHS[11]},Extra,Fields,1945-07-14,A81001,,,,,unquoted, comma",  # 17
        "",  # 18 blank: ignored
        f"{NHS[12]},Good,Three,1945-07-14,A81004,,,,",  # 19 good
    ]
    path = write_csv(tmp_path / "mixed.csv", lines)

    report = run_import(store, path)

    assert (report.imported, report.updated, report.unchanged, report.skipped) == (3, 0, 0, 1)
    reasons = problem_lines(report)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17]
    assert "check digit does not match" in reasons[3]
    assert "Practice Y99999 is not in this store" in reasons[4]
    assert "import the ODS practice file first" in reasons[4]
    assert "'yesterday' is not a date" in reasons[5]
    assert "not a real date" in reasons[6]
    assert "in the future" in reasons[7]
    assert "before 1900" in reasons[8]
    assert "given name is missing" in reasons[9]
    assert "'maybe' is not a gender" in reasons[10]
    assert "already used on line 2 for a different person" in reasons[11]
    assert "already belongs to a different person in this store (born 01-Jan-1940)" in reasons[15]
    assert "family name differs" in reasons[15]
    assert "'NOT A POSTCODE' is not a UK postcode" in reasons[16]
    assert "has 11 fields but the header has 9" in reasons[17]

    # Nothing of a refused row was written: only the good patients exist and are journalled.
    patients = patients_by_nhs(store)
    assert patient_count(store) == before + 3
    assert set(patients) == {NHS[0], NHS[8], NHS[9], NHS[12]}
    assert patients[NHS[9]].family_name == "Jones"
    assert patients[NHS[8]].address == "Flat 2, Rose Court"
    with store.read() as session:
        journalled = session.execute(
            text("SELECT count(DISTINCT row_id) FROM journal_change WHERE entity = 'patient'")
        ).scalar_one()
    assert journalled == len(patients)


def test_the_report_names_every_problem_of_a_row(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", [HEADER, "12345,,Joan,someday,Z1,,,,"])

    report = run_import(store, path)

    [problem] = report.problems
    assert problem.line == 2
    for cause in ("must be 10 digits", "family name is missing", "not a date", "not a GP practice"):
        assert cause in problem.reason


def test_identity_conflicts_with_the_store_are_refused(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    run_import(
        store, write_csv(tmp_path / "a.csv", [HEADER, f"{NHS[0]},Smith,Joan,1945-07-14,A81001,,,,"])
    )
    path = write_csv(
        tmp_path / "b.csv",
        [
            HEADER,
            f"{NHS[0]},Smith,Joan,1946-07-14,A81001,,,,",
            f"{NHS[0]},Smyth,Joan,1946-07-14,A81001,,,,",
        ],
    )

    report = run_import(store, path)

    reasons = problem_lines(report)
    assert "(born 14-Jul-1945): the date of birth differs" in reasons[2]
    # A refused row is not remembered, so line 3 is compared with the store, not line 2.
    assert "the family name and date of birth differ" in reasons[3]
    assert patients_by_nhs(store)[NHS[0]].date_of_birth == dt.date(1945, 7, 14)


def test_a_repeated_person_with_other_details_is_refused(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "twice.csv",
        [
            HEADER,
            f"{NHS[0]},Smith,Joan,1945-07-14,A81001,,1 High Street,,",
            f"{NHS[0]},Smith,Joan,1945-07-14,A81001,,2 Low Road,,",
        ],
    )

    report = run_import(store, path)

    assert report.imported == 1
    assert "already on line 2 with a different address" in problem_lines(report)[3]
    assert patients_by_nhs(store)[NHS[0]].address == "1 High Street"


def test_a_refused_insert_rolls_back_only_its_own_row(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    good_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second and third patients get the same id: the database refuses the third.
    ids = iter([uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=2)])
    monkeypatch.setattr(base, "new_id", lambda: next(ids))

    report = run_import(store, good_file)

    assert report.imported == 2
    assert [
        (problem.line, "database refused" in problem.reason) for problem in report.problems
    ] == [(4, True)]
    assert set(patients_by_nhs(store)) == {NHS[0], NHS[1]}
    assert journalled_patient_ids(store) == {uuid.UUID(int=1).hex, uuid.UUID(int=2).hex}


def test_unclosed_quote_is_reported_and_earlier_rows_kept(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "quote.csv",
        [
            HEADER,
            f"{NHS[0]},Smith,Joan,1945-07-14,A81001,,,,",
            f'{NHS[1]},Smith,"John,1945-07-14,A81001,,,,',
            f"{NHS[2]},Patel,Arjun,1950-07-14,A81001,,,,",
        ],
    )

    report = run_import(store, path)

    assert report.imported == 1
    assert list(problem_lines(report)) == [3]
    assert "runs over several lines" in report.problems[0].reason
    assert "runs from line 3 to line 4" in report.problems[0].reason
    assert set(patients_by_nhs(store)) == {NHS[0]}


def test_logs_hold_no_names_or_nhs_numbers(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = iter([uuid.UUID(int=1), uuid.UUID(int=1)])
    monkeypatch.setattr(base, "new_id", lambda: next(ids))
    path = write_csv(
        tmp_path / "log.csv",
        [
            HEADER,
            f"{NHS[0]},Featherstonehaugh,Joan,1945-07-14,A81001,,,,",
            f"{NHS[1]},Cholmondeley,John,1945-07-14,A81001,,,,",
            f"{BAD_CHECK_DIGIT},Marjoribanks,Ann,1945-07-14,A81001,,,,",
        ],
    )

    with caplog.at_level(logging.DEBUG, logger="mdt_desk"):
        report = run_import(store, path)

    assert report.rejected == 2 and caplog.records
    for secret in ("Featherstonehaugh", "Cholmondeley", "Marjoribanks", NHS[0], NHS[1]):
        assert secret not in caplog.text
    assert BAD_CHECK_DIGIT not in caplog.text


# --- re-import and updates ----------------------------------------------------------------


def test_reimport_changes_nothing(
    store: Store, practice_ids: dict[str, uuid.UUID], good_file: Path, tmp_path: Path
) -> None:
    run_import(store, good_file)
    journal = journal_size(store)

    assert run_import(store, good_file) == ImportReport(unchanged=3)
    assert journal_size(store) == journal  # not even an empty transaction

    mixed = write_csv(
        tmp_path / "mixed.csv",
        [
            HEADER,
            f"{NHS[5]},New,Person,1945-07-14,A81001,,,,",
            f"{NHS[6]},No,Practice,1945-07-14,Y99999,,,,",
            f"{NHS[5]},New,Person,1945-07-14,A81001,,,,",
        ],
    )
    first = run_import(store, mixed)
    journal = journal_size(store)
    second = run_import(store, mixed)
    assert (first.imported, first.skipped) == (1, 1)
    assert (second.imported, second.updated, second.unchanged, second.skipped) == (0, 0, 1, 1)
    assert second.problems == first.problems
    assert journal_size(store) == journal


def test_changed_details_update_the_patient(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    run_import(
        store,
        write_csv(
            tmp_path / "v1.csv",
            [
                HEADER,
                f"{NHS[0]},Smith,Joan,1945-07-14,A81001,female,1 High Street,TS18 1HU,01642 000001",
                f"{NHS[1]},Patel,Arjun,1950-07-14,A81001,male,2 High Street,,",
            ],
        ),
    )
    before = patients_by_nhs(store)
    path = write_csv(
        tmp_path / "v2.csv",
        [
            HEADER,
            # moved house and practice; the phone cell is empty, so the phone stays
            f"{NHS[0]},SMITH,Joan,14/07/1945,A81002,female,9 New Road,TS18 2AW,",
            f"{NHS[1]},Patel,Arjun,1950-07-14,A81001,male,2 High Street,,",
        ],
    )

    report = run_import(store, path)

    assert report == ImportReport(updated=1, unchanged=1)
    joan = patients_by_nhs(store)[NHS[0]]
    assert (joan.address, joan.postcode, joan.phone) == ("9 New Road", "TS18 2AW", "01642 000001")
    assert joan.practice_id == practice_ids["A81002"]
    assert joan.family_name == "Smith"  # the stored name is kept
    assert joan.updated_at > before[NHS[0]].updated_at
    with store.read() as session:
        changed = {
            field: (json.loads(old), json.loads(new))
            for field, old, new in session.execute(
                text(
                    "SELECT field, old_value, new_value FROM journal_change "
                    "WHERE row_id = :id AND old_value IS NOT NULL"
                ),
                {"id": joan.id.hex},
            )
        }
    assert changed.keys() == {"address", "postcode", "practice_id", "updated_at"}
    assert changed["address"] == ("1 High Street", "9 New Road")


def test_retired_patients_are_not_matched(
    store: Store, practice_ids: dict[str, uuid.UUID], good_file: Path
) -> None:
    run_import(store, good_file)
    with store.write(actor_label="test") as session:
        session.execute(
            text("UPDATE patient SET retired_at = updated_at WHERE nhs_number = :n"), {"n": NHS[0]}
        )

    report = run_import(store, good_file)

    assert (report.imported, report.unchanged) == (1, 2)


# --- files that cannot be read ------------------------------------------------------------


def test_missing_required_columns_are_named(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "cols.csv", ["NHS number,Surname,Forename", f"{NHS[0]},Smith,Joan"])

    with pytest.raises(ImportFileError) as caught:
        run_import(store, path)

    message = str(caught.value)
    assert "date_of_birth" in message and "practice_code" in message
    assert "nhs_number (" not in message
    assert patient_count(store) == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b" \r\n\r\n  \n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08 some text", "binary data"),
        (HEADER.encode() + b"\r\n\x81\x8d\x8f\x90\x9d\r\n", "neither UTF-8 nor Windows-1252"),
        (f"{NHS[0]},Smith,Joan,1945-07-14,A81001\r\n".encode(), "no header row"),
        (b"nhs_number,NHS number,surname\r\n", "names the NHS number column twice"),
    ],
)
def test_unreadable_files_are_refused(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(content)

    with pytest.raises(ImportFileError, match=expected):
        run_import(store, path)


def test_missing_file_and_folder_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="There is no file"):
        run_import(store, tmp_path / "nowhere.csv")
    with pytest.raises(ImportFileError, match="is a folder"):
        run_import(store, tmp_path)


def test_import_file_error_is_a_user_error() -> None:
    from mdt_desk.errors import UserError

    assert issubclass(ImportFileError, UserError)
    assert not issubclass(ImportFileError, ValidationError)


# --- fuzzing ------------------------------------------------------------------------------

_cells = st.text(max_size=30)
_nhs_cells = st.one_of(_cells, st.sampled_from(NHS[:6]), st.just(BAD_CHECK_DIGIT))
_date_cells = st.one_of(
    _cells, st.sampled_from(["1945-07-14", "14/07/1945", "14-Jul-1945", "31/02/1950", "2090-01-01"])
)
_practice_cells = st.one_of(_cells, st.sampled_from(["A81001", "a81002", "Y99999"]))
_rows = st.lists(
    st.tuples(
        _nhs_cells, _cells, _cells, _date_cells, _practice_cells, _cells, _cells, _cells, _cells
    ),
    max_size=8,
)


def _assert_store_invariants(store: Store) -> None:
    with store.read() as session:
        numbers = session.scalars(select(Patient.nhs_number)).all()
        journalled = session.execute(
            text("SELECT count(DISTINCT row_id) FROM journal_change WHERE entity = 'patient'")
        ).scalar_one()
    for number in numbers:
        assert normalise_nhs_number(number) == number
    assert journalled == len(numbers)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one store per test, on purpose
)
@given(rows=_rows, delimiter=st.sampled_from([",", ";", "\t"]))
def test_fuzzed_cells_never_crash_or_store_a_bad_nhs_number(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    rows: list[tuple[str, ...]],
    delimiter: str,
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    try:
        report = run_import(store, path)
    except ImportFileError:
        pass
    else:
        handled = report.imported + report.updated + report.unchanged + report.skipped
        assert handled + report.rejected <= len(rows)
        lines = buffer.getvalue().count("\n") + buffer.getvalue().count("\r") + 1
        assert all(1 < problem.line <= lines for problem in report.problems)
    _assert_store_invariants(store)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one store per test, on purpose
)
@given(content=st.one_of(st.text(), st.binary()), prefix=st.sampled_from(["", HEADER + "\n"]))
def test_fuzzed_files_never_crash(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    content: str | bytes,
    prefix: str,
) -> None:
    path = tmp_path / "fuzz.csv"
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(prefix.encode() + data)

    with contextlib.suppress(ImportFileError):
        run_import(store, path)
    _assert_store_invariants(store)


# --- the command line ---------------------------------------------------------------------


def test_command_line_exit_statuses_and_json(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    good_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def patients_import(path: Path) -> tuple[int, str]:
        out = io.StringIO()
        status = cli.main(
            ["patients", "import", str(path), "--store", str(store.path), "--json"], out=out
        )
        return status, out.getvalue()

    mixed = write_csv(
        tmp_path / "mixed.csv",
        [
            HEADER,
            f"{NHS[5]},New,Person,1945-07-14,A81001,,,,",
            f"{NHS[6]},No,Practice,1945-07-14,Y99999,,,,",
        ],
    )

    status, output = patients_import(mixed)
    assert status == cli.EXIT_ROWS_REJECTED == 3
    payload = json.loads(output)
    assert (payload["imported"], payload["rejected"]) == (1, 1)
    assert payload["problems"][0]["line"] == 3
    assert "Practice Y99999 is not in this store" in payload["problems"][0]["reason"]

    status, output = patients_import(good_file)
    assert status == cli.EXIT_OK == 0
    assert json.loads(output)["imported"] == 3

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    status, output = patients_import(empty)
    assert status == cli.EXIT_USER_ERROR == 2
    assert output == ""
    assert "is empty" in capsys.readouterr().err
    assert patient_count(store) == 4


# --- long imports: streamed, in short transactions, all or nothing ------------------------


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file read as a large one would be, and written a few rows at a time."""
    from mdt_desk.services import importfiles, patient_import

    monkeypatch.setattr(importfiles, "_WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(importfiles, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(patient_import, "_STAGE_BATCH", 2)
    monkeypatch.setattr(patient_import, "_FIRST_PUBLISH_ROWS", 3)
    monkeypatch.setattr(patient_import, "_MIN_PUBLISH_ROWS", 1)
    monkeypatch.setattr(patient_import, "_MAX_PUBLISH_ROWS", 3)
    monkeypatch.setattr(patient_import, "_PAUSE_SECONDS", 0.0)


def _long_mixed_file(tmp_path: Path) -> Path:
    """Repeats, clashes and bad rows spread so they fall in different batches."""
    lines = [HEADER]
    for index in range(24):
        lines.append(f"{NHS[index]},Family{index},Given,1945-07-14,A81001,,{index} Road,,")
    lines += [
        f"{NHS[1]},Family1,Given,1945-07-14,A81001,,1 Road,,",  # repeat: skipped
        f"{NHS[2]},Family2,Given,1945-07-14,A81001,,Elsewhere,,",  # other address: refused
        f"{NHS[3]},Someone,Else,1950-01-01,A81001,,,,",  # other person: refused
        f"{BAD_CHECK_DIGIT},Bad,Check,1945-07-14,A81001,,,,",
        f"{NHS[30]},Jones,Ann,1940-01-01,A81002,,,,",  # in the store: updated
        f"{NHS[31]},Other,Person,1940-01-01,A81001,,,,",  # store clash
        f"{NHS[31]},Jones,Bob,1941-01-01,A81001,,,,",  # compared with the store again
        f"{NHS[4]},Family4,Given,1945-07-14,A81001,,4 Road,,",  # repeat: skipped
    ]
    return write_csv(tmp_path / "long.csv", lines)


def _seed_store(store: Store, tmp_path: Path) -> None:
    with store.write(actor_label="test import") as session:
        import_patients_csv(
            session,
            write_csv(
                tmp_path / "seed.csv",
                [
                    HEADER,
                    f"{NHS[30]},Jones,Ann,1940-01-01,A81001,,,,",
                    f"{NHS[31]},Jones,Bob,1941-01-01,A81001,,,,",
                ],
            ),
        )


def _contents(store: Store) -> dict[str, tuple[object, ...]]:
    return {
        number: (p.family_name, p.given_name, p.date_of_birth, p.address, p.practice_id)
        for number, p in patients_by_nhs(store).items()
    }


def test_streamed_import_in_many_batches_matches_one_transaction(
    tmp_path: Path, practices_file: Path, tiny_batches: None
) -> None:
    from mdt_desk.services.practices import import_ods_practices

    stores = []
    for name in ("streamed", "single"):
        store = Store.open(tmp_path / f"{name}.sqlite")
        with store.write(actor_label="test") as session:
            import_ods_practices(session, practices_file)
        _seed_store(store, tmp_path)
        stores.append(store)
    streamed, single = stores
    path = _long_mixed_file(tmp_path)

    report = run_import(streamed, path)
    expected = run_import_in_one_transaction(single, path)

    assert report == expected
    assert (report.imported, report.updated, report.skipped) == (24, 1, 2)
    assert sorted(problem_lines(report)) == [27, 28, 29, 31]
    assert "already on line 4 with a different address" in problem_lines(report)[27]
    assert "already used on line 5 for a different person" in problem_lines(report)[28]
    assert _contents(streamed) == _contents(single)
    with streamed.read() as session:
        transactions = session.execute(text("SELECT count(*) FROM journal_tx")).scalar_one()
    assert transactions > 5  # written in many short transactions, not one
    assert run_import(streamed, path).imported == 0  # and idempotent
    for store in stores:
        store.close()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b" \r\n\r\n  \n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (b"\x01\x02\x03\x04\x05\x06\x07\x08 some text", "binary data"),
        (HEADER.encode() + b"\r\n\x81\x8d\x8f\x90\x9d\r\n", "neither UTF-8 nor Windows-1252"),
        (f"{NHS[0]},Smith,Joan,1945-07-14,A81001\r\n".encode(), "no header row"),
        ("nhs,surname\r\n".encode("utf-16"), "Save it again as 'CSV UTF-8'"),
    ],
)
def test_large_files_are_refused_for_the_same_reasons(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    tiny_batches: None,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / "patients.csv"
    path.write_bytes(content)

    with pytest.raises(ImportFileError, match=expected):
        run_import(store, path)
    assert patient_count(store) == 0


def test_a_large_windows_1252_file_is_read_in_blocks(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, tiny_batches: None
) -> None:
    lines = [HEADER] + [
        f"{NHS[index]},Brontë,Zoë,1945-07-14,A81001,female,Café Row {index},,"
        for index in range(30)
    ]
    path = write_csv(tmp_path / "excel.csv", lines, encoding="cp1252")

    assert run_import(store, path) == ImportReport(imported=30)
    assert {patient.given_name for patient in patients_by_nhs(store).values()} == {"Zoë"}


class _InterruptedError(Exception):
    pass


def test_an_import_interrupted_while_reading_leaves_nothing_visible(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    tiny_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mdt_desk.services import patient_import

    path = _long_mixed_file(tmp_path)
    journal = journal_size(store)
    validate = patient_import._validate
    calls = iter(range(1000))

    def failing_validate(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == 15:  # half-way through the file
            raise _InterruptedError
        return validate(*args, **kwargs)

    monkeypatch.setattr(patient_import, "_validate", failing_validate)

    with pytest.raises(_InterruptedError):
        run_import(store, path)

    assert patient_count(store) == 0
    assert journal_size(store) == journal
    assert patient_import.unfinished_imports(store) == []


def test_an_import_interrupted_while_writing_leaves_nothing_and_says_so_next_time(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    tiny_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mdt_desk.services import patient_import
    from mdt_desk.services.check import check_store

    _seed_store(store, tmp_path)
    seeded = _contents(store)
    journal = journal_size(store)
    path = _long_mixed_file(tmp_path)
    publish = patient_import._publish
    batches = iter(range(1000))

    def failing_publish(*args: Any, **kwargs: Any) -> Any:
        # A full disk: in the last, publishing transaction, after ten were written
        # (the update of the person in the store, line 29, among them).
        if next(batches) == 10:
            raise _InterruptedError
        return publish(*args, **kwargs)

    monkeypatch.setattr(patient_import, "_publish", failing_publish)
    with pytest.raises(_InterruptedError):
        run_import(store, path)

    (unfinished,) = patient_import.unfinished_imports(store)
    assert (unfinished.file, unfinished.written, unfinished.rows) == (str(path), 30, 31)
    assert "none of it was kept" in unfinished.message()
    assert _contents(store) == seeded  # nobody added, nobody updated
    assert journal_size(store) == journal  # and nothing of it journalled
    assert check_store(store).passed

    monkeypatch.setattr(patient_import, "_publish", publish)
    other = write_csv(
        tmp_path / "other.csv",
        [HEADER]
        + [f"{NHS[32 + index]},Other{index},Given,1945-07-14,A81001,,,," for index in range(5)],
    )
    assert run_import(store, other).imported == 5
    assert patient_import.unfinished_imports(store) == [unfinished]  # another file: still told

    report = run_import(store, path)

    assert (report.imported, report.updated) == (24, 1)
    assert patient_count(store) == 24 + 2 + 5
    assert patient_import.unfinished_imports(store) == []


def test_an_older_versions_unfinished_import_is_still_reported_until_completed(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    from mdt_desk.services import patient_import

    path = write_csv(tmp_path / "list.csv", [HEADER, f"{NHS[0]},Smith,Joan,1945-07-14,A81001"])
    mark = {"file": str(path), "started_at": "2026-12-01T09:00:00+00:00", "written": 3, "rows": 9}
    with store.local_write() as session:
        store.set_meta(session, patient_import.META_UNFINISHED_IMPORT, json.dumps(mark))

    (unfinished,) = patient_import.unfinished_imports(store)
    assert "Import the same file again to complete it" in unfinished.message()

    run_import(store, path)

    assert patient_import.unfinished_imports(store) == []


@pytest.mark.slow
def test_progress_is_reported_while_reading_then_writing(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, tiny_batches: None
) -> None:
    # Big enough (about 40 kB) that the file is read in several blocks.
    lines = [HEADER] + [
        f"{number},Family{index},Given,1945-07-14,A81001,,{index} High Street,TS18 1HU,"
        for index, number in enumerate(_first_numbers(500))
    ]
    path = write_csv(tmp_path / "long.csv", lines)
    size = path.stat().st_size
    seen: list[tuple[str, int, int]] = []

    import_patients_file(store, path, actor_label="test", progress=lambda *call: seen.append(call))

    reading = [(done, total) for phase, done, total in seen if phase == "reading"]
    writing = [(done, total) for phase, done, total in seen if phase == "writing"]
    assert seen[0][0] == "reading" and seen[-1][0] == "writing"
    assert reading[0] == (0, size) and reading[-1] == (size, size)
    assert 0 < reading[len(reading) // 2][0] < size
    assert writing[0] == (0, 500) and writing[-1] == (500, 500)
    assert [done for done, _total in writing] == sorted(done for done, _total in writing)
    assert len(writing) > 5


_COLLEAGUE = """
import sys, time
from pathlib import Path
from mdt_desk import cli
sys.exit(cli.main(["patients", "import", sys.argv[1], "--store", sys.argv[2], "--json"],
                  out=open(sys.argv[3], "w")))
"""


@pytest.mark.slow
def test_another_writer_gets_in_during_a_long_import(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys
    import time

    from mdt_desk.models import Practice
    from mdt_desk.models.store_key import PASSPHRASE_ENV, keep_key, store_key

    numbers = _first_numbers(12_000)
    lines = [HEADER] + [
        f"{number},Family{index},Given,1945-07-14,A81001,,{index} High Street,TS18 1HU,"
        for index, number in enumerate(numbers)
    ]
    path = write_csv(tmp_path / "big.csv", lines)
    store.close()
    # The importer is another process, without this test's in-memory keyring: the
    # store's key is sealed by a store passphrase it is given instead.
    monkeypatch.setenv(PASSPHRASE_ENV, "import tests store passphrase")
    keep_key(store.path, store_key(store.path))
    importer = subprocess.Popen(
        [sys.executable, "-c", _COLLEAGUE, str(path), str(store.path), str(tmp_path / "out")]
    )
    waits: list[float] = []
    counts_seen: list[int] = []
    written_seen: list[int] = []
    try:
        with Store.open(store.path) as colleague:
            while importer.poll() is None:
                started = time.monotonic()
                with colleague.write(actor_label="colleague") as session:
                    practice = session.get(Practice, practice_ids["A81001"])
                    assert practice is not None
                    practice.phone = f"01642 {len(waits):06d}"
                waits.append(time.monotonic() - started)
                counts_seen.append(patient_count(colleague))
                with contextlib.closing(colleague.raw_connection()) as raw:
                    written_seen.append(raw.execute("SELECT count(*) FROM patient").fetchone()[0])
                time.sleep(0.05)
    finally:
        importer.wait(timeout=300)

    assert importer.returncode == 0
    assert json.loads((tmp_path / "out").read_text())["imported"] == len(numbers)
    # Some of the colleague's edits went in while the import was part-way written, and
    # the colleague saw none of the list or all of it, never a part (H79).
    assert any(0 < count < len(numbers) for count in written_seen)
    assert set(counts_seen) <= {0, len(numbers)}
    assert max(waits) < 3.0
