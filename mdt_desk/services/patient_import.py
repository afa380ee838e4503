"""Import a patient list (CSV) as a practice search exports it.

The file has a header row naming its columns; columns are found by name, in any
order, ignoring case, spaces, underscores, hyphens and dots. Columns this module
does not know are ignored. The names accepted for each column (first one preferred
when a file has two of them):

=================  =====================================================
column             header names accepted
=================  =====================================================
``nhs_number``     NHS number, NHS no, NHS
``family_name``    family name, surname, last name
``given_name``     given name, forename, forenames, first name
``date_of_birth``  date of birth, DOB, birth date
``practice_code``  practice code, ODS code, practice
``title``          title                                      (optional)
``gender``         gender, sex                                (optional)
``address``        address                                    (optional)
``postcode``       postcode, post code, postal code           (optional)
``phone``          phone, telephone, phone number, tel        (optional)
=================  =====================================================

Dates of birth may be written ``1945-07-14``, ``14/07/1945`` or ``14-Jul-1945``.
Gender may be ``female``/``F``, ``male``/``M``, ``other``/``indeterminate``/``I`` or
``not known``/``unknown``/``U`` (empty means not known). The delimiter is a comma, or
a semicolon or tab when the header row plainly uses one. Text is UTF-8 (with or without
a byte-order mark) or Windows-1252. Lines above the header row (a report title, a run
date) are ignored; so are blank lines.

Each row is validated as a whole before anything is written; a row with any problem
is reported with its line number (the header is line 1 when it is the first line)
and not written at all. A patient already in the store (same NHS number, same family
name and date of birth) has their title, gender, address, postcode, phone and
practice updated from the file; an empty cell leaves the stored value as it is. A row
whose NHS number is held in the store by someone with a different family name or date
of birth is refused, as is a row repeating an earlier row's NHS number with other
details. Importing the same file twice changes nothing the second time.

The user-facing description is ``docs/patient-import.md``.
"""

import csv
import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mdt_desk.errors import ImportFileError, ValidationError
from mdt_desk.models import Patient, Practice, base
from mdt_desk.models.enums import Gender
from mdt_desk.services.display import cui_date
from mdt_desk.services.importfiles import read_text_file
from mdt_desk.services.reports import ImportReport, RowProblem
from mdt_desk.services.validation import (
    check_date_of_birth,
    format_nhs_number,
    normalise_nhs_number,
    normalise_ods_practice_code,
    normalise_postcode,
    parse_date,
)

log = logging.getLogger(__name__)

FILE_KIND = "a patient CSV file"

REQUIRED_COLUMNS = ("nhs_number", "family_name", "given_name", "date_of_birth", "practice_code")
OPTIONAL_COLUMNS = ("title", "gender", "address", "postcode", "phone")

#: Header names accepted for each column, after :func:`_header_key` (lower case,
#: letters and digits only). Earlier names win when a file has two of them.
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "nhs_number": ("nhsnumber", "nhsno", "nhs"),
    "family_name": ("familyname", "surname", "lastname"),
    "given_name": ("givenname", "forename", "forenames", "firstname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "practice_code": ("practicecode", "odscode", "practice"),
    "title": ("title",),
    "gender": ("gender", "sex"),
    "address": ("address",),
    "postcode": ("postcode", "postalcode"),
    "phone": ("phone", "telephone", "phonenumber", "tel"),
}

_LABELS = {
    "nhs_number": "NHS number",
    "family_name": "family name",
    "given_name": "given name",
    "date_of_birth": "date of birth",
    "practice_code": "practice code",
    "title": "title",
    "gender": "gender",
    "address": "address",
    "postcode": "postcode",
    "phone": "phone number",
}

_GENDERS = {
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
    "male": Gender.MALE,
    "m": Gender.MALE,
    "other": Gender.OTHER,
    "indeterminate": Gender.OTHER,
    "i": Gender.OTHER,
    "not known": Gender.NOT_KNOWN,
    "unknown": Gender.NOT_KNOWN,
    "u": Gender.NOT_KNOWN,
}

#: Longest values the hub's columns hold (the desk's SQLite would not complain, but
#: the hub's PostgreSQL would refuse the record at sync).
_MAX_LENGTHS = {"family_name": 100, "given_name": 100, "title": 20, "phone": 30}

_DELIMITERS = (",", ";", "\t")
#: The header row is looked for among this many first non-blank rows.
_HEADER_SEARCH_ROWS = 10
#: Rows written per INSERT/UPDATE batch.
_BATCH_SIZE = 500
#: NHS numbers per ``IN (...)`` query (SQLite allows 999 parameters on old builds).
_LOOKUP_CHUNK = 500

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
_UPDATABLE = ("title", "gender", "address", "postcode", "phone", "practice_id")


@dataclass(frozen=True)
class _Row:
    """A validated row. ``None`` in an optional field: the file gives no value."""

    line: int
    nhs_number: str
    family_name: str
    given_name: str
    date_of_birth: dt.date
    practice_code: str
    practice_id: uuid.UUID
    title: str | None
    gender: Gender | None
    address: str | None
    postcode: str | None
    phone: str | None

    def identity(self) -> tuple[str, str, dt.date]:
        return (self.family_name.casefold(), self.given_name.casefold(), self.date_of_birth)

    def details(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in (*_UPDATABLE, "practice_code")}


@dataclass(frozen=True)
class _Existing:
    """A patient already in the store, as far as the import needs to know them."""

    id: uuid.UUID
    family_name: str
    date_of_birth: dt.date
    values: dict[str, object]


@dataclass(frozen=True)
class _Record:
    """One CSV record: the physical lines it spans, and its fields."""

    line: int
    last_line: int
    fields: list[str]


# --- reading the file -------------------------------------------------------------------


def _header_key(cell: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", cell.strip().lower())


_ALIAS_RANK = {
    alias: (column, rank)
    for column, aliases in COLUMN_ALIASES.items()
    for rank, alias in enumerate(aliases)
}


def _records(text: str, delimiter: str, problems: list[RowProblem] | None) -> Iterator[_Record]:
    """CSV records with the physical line each starts on.

    A record CSV cannot parse (a quote mark never closed runs the rest of the file
    into one field) ends the file; with ``problems`` given, it is reported there.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if problems is not None:
                problems.append(
                    RowProblem(
                        start,
                        f"This line cannot be read as CSV ({error}); check for a quote mark "
                        "that is not closed. Nothing from this line on was imported.",
                    )
                )
            return
        yield _Record(start, reader.line_num, fields)
        start = reader.line_num + 1


def _columns_of(header: Sequence[str]) -> dict[str, int]:
    """Column name to index, for the columns this header names.

    Raises:
        ImportFileError: the header names one column twice the same way.
    """
    best: dict[str, tuple[int, int]] = {}
    for index, cell in enumerate(header):
        found = _ALIAS_RANK.get(_header_key(cell))
        if found is None:
            continue
        column, rank = found
        if column in best and best[column][0] == rank:
            raise ImportFileError(
                f"The header row names the {_LABELS[column]} column twice (columns "
                f"{best[column][1] + 1} and {index + 1}); keep one of them."
            )
        if column not in best or rank < best[column][0]:
            best[column] = (rank, index)
    return {column: index for column, (_rank, index) in best.items()}


def _find_header(text: str) -> tuple[str, _Record]:
    """The delimiter and the header record: the delimiter and row (among the first
    few non-blank ones) that name the most known columns."""
    best: tuple[int, str, _Record] | None = None
    for delimiter in _DELIMITERS:
        rows = 0
        for record in _records(text, delimiter, None):
            if not any(cell.strip() for cell in record.fields):
                continue
            known = {
                found[0]
                for cell in record.fields
                if (found := _ALIAS_RANK.get(_header_key(cell))) is not None
            }
            if best is None or len(known) > best[0]:
                best = (len(known), delimiter, record)
            rows += 1
            if rows >= _HEADER_SEARCH_ROWS:
                break
    if best is None or best[0] == 0:
        raise ImportFileError(
            "The file has no header row. Its first line must name the columns: "
            + ", ".join(REQUIRED_COLUMNS)
            + " (and optionally "
            + ", ".join(OPTIONAL_COLUMNS)
            + ")."
        )
    return best[1], best[2]


# --- validating a row -------------------------------------------------------------------


def _cell(fields: Sequence[str], columns: Mapping[str, int], column: str) -> str | None:
    """The stripped cell of ``column``, or ``None`` when the file has no such column."""
    index = columns.get(column)
    if index is None:
        return None
    return fields[index].strip() if index < len(fields) else ""


def _printable(value: str, column: str) -> str:
    """``value`` with runs of white space made one space; refuse control characters."""
    cleaned = _SPACES.sub(" ", value)
    if _CONTROL.search(cleaned):
        raise ValidationError(
            f"The {_LABELS[column]} contains a control character (an invisible code that is "
            "not text); retype it."
        )
    return cleaned


def _single_line(value: str, column: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValidationError(
            f"The {_LABELS[column]} runs over several lines; check the file for a quote "
            "mark that is not closed."
        )
    return _printable(value, column)


def _text(value: str, column: str) -> str:
    cleaned = _single_line(value, column)
    limit = _MAX_LENGTHS.get(column)
    if limit is not None and len(cleaned) > limit:
        raise ValidationError(
            f"The {_LABELS[column]} is {len(cleaned)} characters long; at most {limit} fit."
        )
    return cleaned


def _gender(value: str) -> Gender:
    key = _SPACES.sub(" ", value.lower().replace("_", " ").replace("-", " ")).strip()
    gender = _GENDERS.get(key)
    if gender is None:
        raise ValidationError(
            f"'{value}' is not a gender MDT Desk knows: write female, male, other or "
            "not known (or F, M, I, U)."
        )
    return gender


def _postcode(value: str) -> str:
    return normalise_postcode(value)


def _date_of_birth(value: str) -> dt.date:
    return check_date_of_birth(parse_date(_single_line(value, "date_of_birth"), "date_of_birth"))


def _address(value: str) -> str:
    """The address on one line: the lines of a multi-line cell joined by commas."""
    lines = (_printable(line, "address").strip(" ,") for line in value.splitlines())
    return ", ".join(line for line in lines if line)


def _validate(
    record: _Record, columns: Mapping[str, int], practices: Mapping[str, uuid.UUID]
) -> _Row:
    """Check every field of one row; raise one error listing everything wrong."""
    fields = record.fields
    reasons: list[str] = []
    values: dict[str, Any] = {}

    def check(column: str, clean: Any) -> None:
        raw = _cell(fields, columns, column)
        if column in REQUIRED_COLUMNS and not raw:
            reasons.append(f"The {_LABELS[column]} is missing.")
            return
        if not raw:
            values[column] = None
            return
        try:
            values[column] = clean(raw)
        except ValidationError as error:
            reasons.append(str(error))

    check("nhs_number", normalise_nhs_number)
    check("family_name", lambda raw: _text(raw, "family_name"))
    check("given_name", lambda raw: _text(raw, "given_name"))
    check("date_of_birth", _date_of_birth)
    check("practice_code", normalise_ods_practice_code)
    check("title", lambda raw: _text(raw, "title"))
    check("gender", _gender)
    check("address", _address)
    check("postcode", lambda raw: _postcode(_single_line(raw, "postcode")))
    check("phone", lambda raw: _text(raw, "phone"))
    code = values.get("practice_code")
    if code is not None and code not in practices:
        reasons.append(
            f"Practice {code} is not in this store — import the ODS practice file first."
        )
    if reasons:
        raise ValidationError(" ".join(reasons))
    return _Row(line=record.line, practice_id=practices[values["practice_code"]], **values)


# --- the import -------------------------------------------------------------------------


def _existing_patients(session: Session, nhs_numbers: set[str]) -> dict[str, list[_Existing]]:
    found: dict[str, list[_Existing]] = {}
    ordered = sorted(nhs_numbers)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        query = (
            select(
                Patient.id,
                Patient.nhs_number,
                Patient.family_name,
                Patient.date_of_birth,
                *(getattr(Patient, name) for name in _UPDATABLE),
            )
            .where(Patient.nhs_number.in_(chunk), Patient.retired_at.is_(None))
            .order_by(Patient.created_at)
        )
        for row in session.execute(query):
            found.setdefault(row.nhs_number, []).append(
                _Existing(
                    id=row.id,
                    family_name=row.family_name,
                    date_of_birth=row.date_of_birth,
                    values={name: getattr(row, name) for name in _UPDATABLE},
                )
            )
    return found


def _in_file_clash(row: _Row, earlier: _Row) -> str | None:
    """Why ``row`` cannot follow ``earlier`` (same NHS number), or ``None`` for a repeat."""
    number = format_nhs_number(row.nhs_number)
    if row.identity() != earlier.identity():
        return (
            f"NHS number {number} is already used on line {earlier.line} for a different "
            "person (the name or date of birth differ); this line was not imported. "
            "Check the NHS number."
        )
    if row.details() != earlier.details():
        differing = [
            _LABELS[name]
            for name in (*_UPDATABLE[:-1], "practice_code")
            if getattr(row, name) != getattr(earlier, name)
        ]
        return (
            f"NHS number {number} is already on line {earlier.line} with a different "
            f"{' and '.join(differing)}; this line was not imported. "
            "Keep one line per person."
        )
    return None


def _store_clash(row: _Row, matches: list[_Existing]) -> str | None:
    """Why ``row`` cannot be matched to the patients holding its NHS number, if so."""
    number = format_nhs_number(row.nhs_number)
    if len(matches) > 1:
        return (
            f"NHS number {number} is held by {len(matches)} patient records in this store; "
            "resolve the duplicate before importing this person."
        )
    patient = matches[0]
    differing = []
    if patient.family_name.casefold() != row.family_name.casefold():
        differing.append("family name")
    if patient.date_of_birth != row.date_of_birth:
        differing.append("date of birth")
    if not differing:
        return None
    verb = "differ" if len(differing) > 1 else "differs"
    return (
        f"NHS number {number} already belongs to a different person in this store "
        f"(born {cui_date(patient.date_of_birth)}): the {' and '.join(differing)} {verb}. "
        "Check the NHS number."
    )


def _changes(row: _Row, patient: _Existing) -> dict[str, object]:
    """The stored values this row changes (empty cells change nothing)."""
    return {
        name: value
        for name in _UPDATABLE
        if (value := getattr(row, name)) is not None and value != patient.values[name]
    }


def _new_patient(row: _Row, now: dt.datetime) -> dict[str, object]:
    return {
        "id": base.new_id(),
        "nhs_number": row.nhs_number,
        "family_name": row.family_name,
        "given_name": row.given_name,
        "title": row.title or "",
        "date_of_birth": row.date_of_birth,
        "date_of_death": None,
        "gender": row.gender or Gender.NOT_KNOWN,
        "address": row.address or "",
        "postcode": row.postcode or "",
        "phone": row.phone or "",
        "practice_id": row.practice_id,
        "risk_band": None,
        "created_at": now,
        "updated_at": now,
        "retired_at": None,
    }


def _write(
    session: Session,
    statement: Any,
    batch: list[tuple[int, dict[str, object]]],
    problems: list[RowProblem],
) -> int:
    """Run ``statement`` for each ``(line, parameters)``; return how many were written.

    The batch runs in one SAVEPOINT. If the database refuses it, each row is tried
    again in its own SAVEPOINT, so a refused row leaves nothing behind and the others
    are still written. Each row is one statement: no row is ever half-written.
    """
    if not batch:
        return 0
    try:
        with session.begin_nested():
            session.execute(statement, [parameters for _line, parameters in batch])
        return len(batch)
    except IntegrityError:
        log.warning(
            "patient import: a batch of %d rows was refused; retrying row by row", len(batch)
        )
    written = 0
    for line, parameters in batch:
        try:
            with session.begin_nested():
                session.execute(statement, [parameters])
            written += 1
        except IntegrityError as error:
            log.warning(
                "patient import: line %d refused by the database (%s)",
                line,
                type(error.orig).__name__,
            )
            problems.append(RowProblem(line, "The database refused this row; it was not imported."))
    return written


@dataclass
class _Plan:
    """What to write, worked out before anything is written."""

    inserts: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0


def _read_rows(
    text: str, path: Path, practices: Mapping[str, uuid.UUID], problems: list[RowProblem]
) -> list[_Row]:
    """The valid rows of the file; every other data row goes into ``problems``."""
    delimiter, header = _find_header(text)
    columns = _columns_of(header.fields)
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ImportFileError(
            f"{path} is missing the column{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"{column} ({_LABELS[column]})" for column in missing)
            + f". Its header row (line {header.line}) must name "
            + ", ".join(REQUIRED_COLUMNS)
            + "."
        )
    width = len(header.fields)
    rows: list[_Row] = []
    for record in _records(text, delimiter, problems):
        if record.line <= header.line or not any(cell.strip() for cell in record.fields):
            continue
        if len(record.fields) > width and any(cell.strip() for cell in record.fields[width:]):
            problems.append(
                RowProblem(
                    record.line,
                    f"This line has {len(record.fields)} fields but the header has {width}; "
                    "check for a value with an unquoted delimiter in it.",
                )
            )
            continue
        try:
            rows.append(_validate(record, columns, practices))
        except ValidationError as error:
            reason = str(error)
            if record.last_line > record.line:
                reason += f" (This row runs from line {record.line} to line {record.last_line}.)"
            problems.append(RowProblem(record.line, reason))
    return rows


def _plan(
    rows: Sequence[_Row],
    existing: Mapping[str, list[_Existing]],
    now: dt.datetime,
    problems: list[RowProblem],
) -> _Plan:
    """Match each valid row to the file's earlier rows and to the store."""
    plan = _Plan()
    seen: dict[str, _Row] = {}
    for row in rows:
        earlier = seen.get(row.nhs_number)
        if earlier is not None:
            clash = _in_file_clash(row, earlier)
            if clash is None:
                plan.skipped += 1
            else:
                problems.append(RowProblem(row.line, clash))
            continue
        matches = existing.get(row.nhs_number)
        if not matches:
            seen[row.nhs_number] = row
            plan.inserts.append((row.line, _new_patient(row, now)))
            continue
        clash = _store_clash(row, matches)
        if clash is not None:
            problems.append(RowProblem(row.line, clash))
            continue
        seen[row.nhs_number] = row
        changes = _changes(row, matches[0])
        if changes:
            # Every updatable field is set (to its merged value) so a batch is one
            # executemany; the journal triggers record only the fields that changed.
            merged = {**matches[0].values, **changes}
            plan.updates.append((row.line, {"id": matches[0].id, **merged, "updated_at": now}))
        else:
            plan.unchanged += 1
    return plan


def import_patients_csv(session: Session, path: Path) -> ImportReport:
    """Import or update the patients of a CSV patient list (see the module docs).

    Good rows are written; each bad row is reported by line number and left out
    entirely. Re-importing the same file changes nothing.

    Args:
        session: a journalled write session (:meth:`Store.write`).
        path: the CSV file.

    Raises:
        ImportFileError: the file cannot be read at all: missing, a folder, binary,
            empty, in an unknown encoding, without a header row, or missing required
            columns.
    """
    text = read_text_file(path, kind=FILE_KIND)
    practices = dict(
        session.execute(
            select(Practice.ods_code, Practice.id).where(Practice.retired_at.is_(None))
        ).all()
    )
    problems: list[RowProblem] = []
    rows = _read_rows(text, path, practices, problems)
    existing = _existing_patients(session, {row.nhs_number for row in rows})
    plan = _plan(rows, existing, base.utc_now(), problems)
    imported = updated = 0
    for start in range(0, len(plan.inserts), _BATCH_SIZE):
        batch = plan.inserts[start : start + _BATCH_SIZE]
        imported += _write(session, insert(Patient), batch, problems)
    for start in range(0, len(plan.updates), _BATCH_SIZE):
        batch = plan.updates[start : start + _BATCH_SIZE]
        updated += _write(session, update(Patient), batch, problems)
    session.flush()
    problems.sort(key=lambda problem: problem.line)
    log.info(
        "patient import: %d imported, %d updated, %d unchanged, %d skipped, %d rejected",
        imported,
        updated,
        plan.unchanged,
        plan.skipped,
        len(problems),
    )
    return ImportReport(
        imported=imported,
        updated=updated,
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        problems=tuple(problems),
    )
