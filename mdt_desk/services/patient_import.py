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

A long file never locks colleagues out (:func:`import_patients_file`). The file is
read a block at a time and each checked row is staged in a private temporary
database, so memory stays bounded and the store is not touched while the file is
read. The staged rows are then written in short transactions (each aims at well under
a second of the store's write lock, with a pause between them for other writers), but
the new patients stay hidden from every reader and from sync, and updates of people
already in the store wait, until the last transaction publishes them all at once
(:mod:`mdt_desk.models.imports`). An import that fails or is interrupted at any point
leaves nothing visible; what it had written is deleted, and :func:`unfinished_imports`
says so next time. See ``docs/architecture.md`` ("Long imports").

The user-facing description is ``docs/patient-import.md``.
"""

import csv
import datetime as dt
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mdt_desk.errors import ImportFileError, UserError, ValidationError
from mdt_desk.models import Patient, PatientImport, PatientImportRow, Practice, base
from mdt_desk.models.enums import Gender
from mdt_desk.models.imports import ABANDONED_AFTER, discard_abandoned_imports, discard_import
from mdt_desk.models.store import Store, scratch_database
from mdt_desk.services.access import Permission, principal_of, requires
from mdt_desk.services.display import cui_date
from mdt_desk.services.importfiles import StreamedTextFile
from mdt_desk.services.progress import READING, WRITING, Progress
from mdt_desk.services.reports import ImportReport, RowProblem
from mdt_desk.services.text_safety import check_name, nfc
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


def _records(
    text: Iterable[str], delimiter: str, problems: list[RowProblem] | None
) -> Iterator[_Record]:
    """CSV records of ``text`` (lines, newlines kept) with the physical line each starts on.

    A record CSV cannot parse (a quote mark never closed runs the rest of the file
    into one field) ends the file; with ``problems`` given, it is reported there.
    """
    reader = csv.reader(text, delimiter=delimiter)
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


def _find_header(head: str) -> tuple[str, _Record]:
    """The delimiter and the header record: the delimiter and row (among the first
    few non-blank ones of ``head``, the start of the file) that name the most known
    columns."""
    best: tuple[int, str, _Record] | None = None
    for delimiter in _DELIMITERS:
        rows = 0
        for record in _records(io.StringIO(head, newline=""), delimiter, None):
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
    """``value`` in NFC with runs of white space made one space; refuse control characters."""
    cleaned = nfc(_SPACES.sub(" ", value))
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


def _name(value: str, column: str) -> str:
    """A name part; invisible characters that could disguise it are refused."""
    return check_name(_text(value, column), column, _LABELS[column])


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
    check("family_name", lambda raw: _name(raw, "family_name"))
    check("given_name", lambda raw: _name(raw, "given_name"))
    check("date_of_birth", _date_of_birth)
    check("practice_code", normalise_ods_practice_code)
    check("title", lambda raw: _name(raw, "title"))
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
) -> list[dict[str, object]]:
    """Run ``statement`` for each ``(line, parameters)``; return the parameters written.

    The batch runs in one SAVEPOINT. If the database refuses it, each row is tried
    again in its own SAVEPOINT, so a refused row leaves nothing behind and the others
    are still written. Each row is one statement: no row is ever half-written.
    """
    if not batch:
        return []
    try:
        with session.begin_nested():
            session.execute(statement, [parameters for _line, parameters in batch])
        return [parameters for _line, parameters in batch]
    except IntegrityError:
        log.warning(
            "patient import: a batch of %d rows was refused; retrying row by row", len(batch)
        )
    written = []
    for line, parameters in batch:
        try:
            with session.begin_nested():
                session.execute(statement, [parameters])
            written.append(parameters)
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
    """What to write for one batch of rows, worked out before any of it is written."""

    inserts: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    #: Lines of the rows matched (new, updated or unchanged): later rows with the
    #: same NHS number are compared with these.
    accepted: list[int] = field(default_factory=list)


# --- staging: the checked rows, outside the store ----------------------------------------

#: Checked rows staged in one go while the file is read.
_STAGE_BATCH = 5000
#: The start of the file searched for the header row.
_HEAD_CHARS = 1 << 20
#: Rows in the first publishing transaction; later ones are sized from how long the
#: previous one held the write lock, aiming at :data:`_TARGET_HOLD_SECONDS`.
_FIRST_PUBLISH_ROWS = 1000
_MIN_PUBLISH_ROWS = 100
_MAX_PUBLISH_ROWS = 20_000
_TARGET_HOLD_SECONDS = 0.4
#: Pause between publishing transactions, so a waiting writer (another window, the
#: sync worker, a colleague's program on a shared store) gets the lock. SQLite's
#: busy handler retries at most every 100 ms, so a pause this long lets it in.
_PAUSE_SECONDS = 0.1
#: Page cache of the importing connection while it writes (KiB).
_CACHE_KIB = 65_536

_STAGED_COLUMNS = (
    "line",
    "nhs_number",
    "family_name",
    "given_name",
    "date_of_birth",
    "practice_code",
    "practice_id",
    "title",
    "gender",
    "address",
    "postcode",
    "phone",
)


class _Staging:
    """The checked rows of one import, in a private temporary SQLite database.

    A database named ``""`` is on disk and SQLite deletes it when it is closed (on Unix
    it is unlinked as soon as it is made), so a crash leaves nothing behind, memory
    stays bounded (only a small page cache is kept in memory), and the store is neither
    written nor locked while the file is read. It is encrypted with a key made for it
    and never kept, so the people it holds never reach the disk in the clear. Nothing in
    it is ever synced: it is not part of the store.
    """

    def __init__(self) -> None:
        self._db = scratch_database()
        columns = ", ".join(f"{name} TEXT" for name in _STAGED_COLUMNS[1:])
        self._db.execute(
            f"CREATE TABLE staged (line INTEGER PRIMARY KEY, {columns}, "
            "accepted INTEGER NOT NULL DEFAULT 0, deferred INTEGER NOT NULL DEFAULT 0)"
        )
        self._db.execute("CREATE INDEX staged_nhs ON staged (nhs_number, accepted)")
        self.count = 0

    def close(self) -> None:
        self._db.close()

    def add(self, rows: Sequence[_Row]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in _STAGED_COLUMNS)
        self._db.execute("BEGIN")
        self._db.executemany(
            f"INSERT INTO staged ({', '.join(_STAGED_COLUMNS)}) VALUES ({marks})",
            [
                (
                    row.line,
                    row.nhs_number,
                    row.family_name,
                    row.given_name,
                    row.date_of_birth.isoformat(),
                    row.practice_code,
                    row.practice_id.hex,
                    row.title,
                    None if row.gender is None else row.gender.value,
                    row.address,
                    row.postcode,
                    row.phone,
                )
                for row in rows
            ],
        )
        self._db.execute("COMMIT")
        self.count += len(rows)

    @staticmethod
    def _row(values: Sequence[Any]) -> _Row:
        fields = dict(zip(_STAGED_COLUMNS, values, strict=True))
        fields["date_of_birth"] = dt.date.fromisoformat(fields["date_of_birth"])
        fields["practice_id"] = uuid.UUID(fields["practice_id"])
        fields["gender"] = None if fields["gender"] is None else Gender(fields["gender"])
        return _Row(**fields)

    def batch(self, after_line: int, size: int) -> list[_Row]:
        """The next ``size`` staged rows after ``after_line``, in file order."""
        return [
            self._row(values)
            for values in self._db.execute(
                f"SELECT {', '.join(_STAGED_COLUMNS)} FROM staged "
                "WHERE line > ? ORDER BY line LIMIT ?",
                (after_line, size),
            )
        ]

    def accepted_before(self, nhs_numbers: set[str], line: int) -> dict[str, _Row]:
        """The earlier matched row, if any, of each of ``nhs_numbers``."""
        found: dict[str, _Row] = {}
        ordered = sorted(nhs_numbers)
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            chunk = ordered[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for values in self._db.execute(
                f"SELECT {', '.join(_STAGED_COLUMNS)} FROM staged "
                f"WHERE nhs_number IN ({marks}) AND accepted = 1 AND line < ?",
                (*chunk, line),
            ):
                row = self._row(values)
                found[row.nhs_number] = row
        return found

    def accept(self, lines: Sequence[int], deferred: Sequence[int] = ()) -> None:
        """Mark rows matched; ``deferred`` ones also wait for the last transaction."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "UPDATE staged SET accepted = 1 WHERE line = ?", [(line,) for line in lines]
        )
        self._db.executemany(
            "UPDATE staged SET deferred = 1 WHERE line = ?", [(line,) for line in deferred]
        )
        self._db.execute("COMMIT")

    def deferred_batch(self, after_line: int, size: int) -> list[_Row]:
        """The next ``size`` rows after ``after_line`` whose update was deferred."""
        return [
            self._row(values)
            for values in self._db.execute(
                f"SELECT {', '.join(_STAGED_COLUMNS)} FROM staged "
                "WHERE deferred = 1 AND line > ? ORDER BY line LIMIT ?",
                (after_line, size),
            )
        ]


def _stage(
    source: StreamedTextFile,
    practices: Mapping[str, uuid.UUID],
    staging: _Staging,
    problems: list[RowProblem],
    progress: Progress | None,
) -> None:
    """Check every row of the file; stage the valid ones, report the others."""
    path = source.path
    with source.open() as stream:
        head = stream.read(_HEAD_CHARS)
    delimiter, header = _find_header(head)
    del head
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
    if progress is not None:
        progress(READING, 0, source.size)
    with source.open() as stream:
        for record in _records(stream, delimiter, problems):
            if record.line <= header.line or not any(cell.strip() for cell in record.fields):
                continue
            if len(record.fields) > width and any(cell.strip() for cell in record.fields[width:]):
                problems.append(
                    RowProblem(
                        record.line,
                        f"This line has {len(record.fields)} fields but the header has "
                        f"{width}; check for a value with an unquoted delimiter in it.",
                    )
                )
                continue
            try:
                rows.append(_validate(record, columns, practices))
            except ValidationError as error:
                reason = str(error)
                if record.last_line > record.line:
                    reason += (
                        f" (This row runs from line {record.line} to line {record.last_line}.)"
                    )
                problems.append(RowProblem(record.line, reason))
            if len(rows) >= _STAGE_BATCH:
                staging.add(rows)
                rows = []
                if progress is not None:
                    progress(READING, source.bytes_read, source.size)
    staging.add(rows)
    if progress is not None:
        progress(READING, source.size, source.size)


# --- matching and writing ---------------------------------------------------------------


def _plan(
    rows: Sequence[_Row],
    seen: dict[str, _Row],
    existing: Mapping[str, list[_Existing]],
    now: dt.datetime,
    problems: list[RowProblem],
) -> _Plan:
    """Match each valid row to the file's earlier rows (``seen``) and to the store."""
    plan = _Plan()
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
            plan.accepted.append(row.line)
            plan.inserts.append((row.line, _new_patient(row, now)))
            continue
        clash = _store_clash(row, matches)
        if clash is not None:
            problems.append(RowProblem(row.line, clash))
            continue
        seen[row.nhs_number] = row
        plan.accepted.append(row.line)
        changes = _changes(row, matches[0])
        if changes:
            # Every updatable field is set (to its merged value) so a batch is one
            # executemany; the journal triggers record only the fields that changed.
            merged = {**matches[0].values, **changes}
            plan.updates.append((row.line, {"id": matches[0].id, **merged, "updated_at": now}))
        else:
            plan.unchanged += 1
    return plan


@dataclass
class _Tally:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


def _publish(
    session: Session,
    rows: Sequence[_Row],
    seen: dict[str, _Row],
    tally: _Tally,
    problems: list[RowProblem],
    *,
    hidden_as: str | None = None,
) -> tuple[list[int], list[int]]:
    """Match and write one batch of staged rows; return the lines matched, and the
    lines whose update was left for the last transaction.

    The store is looked at here, inside the write transaction, so a patient a
    colleague added since the file was read is matched, not duplicated. With
    ``hidden_as`` (an unpublished import's id) new patients are written hidden (see
    :mod:`mdt_desk.models.imports`) and updates of people already in the store, which
    cannot be hidden, are not written but returned.
    """
    existing = _existing_patients(
        session, {row.nhs_number for row in rows if row.nhs_number not in seen}
    )
    plan = _plan(rows, seen, existing, base.utc_now(), problems)
    for start in range(0, len(plan.inserts), _BATCH_SIZE):
        batch = plan.inserts[start : start + _BATCH_SIZE]
        written = _write(session, insert(Patient), batch, problems)
        tally.imported += len(written)
        if hidden_as is not None and written:
            tx = session.execute(text("SELECT tx FROM journal_context WHERE id = 1")).scalar_one()
            session.execute(
                insert(PatientImportRow),
                [{"patient_id": row["id"], "import_id": hidden_as, "tx": tx} for row in written],
            )
    deferred: list[int] = []
    if hidden_as is None:
        for start in range(0, len(plan.updates), _BATCH_SIZE):
            batch = plan.updates[start : start + _BATCH_SIZE]
            tally.updated += len(_write(session, update(Patient), batch, problems))
    else:
        deferred = [line for line, _parameters in plan.updates]
    session.flush()
    tally.unchanged += plan.unchanged
    tally.skipped += plan.skipped
    return plan.accepted, deferred


def _publish_deferred(
    session: Session, staging: "_Staging", tally: _Tally, problems: list[RowProblem]
) -> None:
    """Write the updates left for the last transaction, matched again against the
    store as it is now (a colleague may have changed or retired the person since)."""
    after = 0
    while rows := staging.deferred_batch(after, _MAX_PUBLISH_ROWS):
        _publish(session, rows, {}, tally, problems)
        after = rows[-1].line


def _report(tally: _Tally, problems: list[RowProblem]) -> ImportReport:
    problems.sort(key=lambda problem: problem.line)
    log.info(
        "patient import: %d imported, %d updated, %d unchanged, %d skipped, %d rejected",
        tally.imported,
        tally.updated,
        tally.unchanged,
        tally.skipped,
        len(problems),
    )
    return ImportReport(
        imported=tally.imported,
        updated=tally.updated,
        unchanged=tally.unchanged,
        skipped=tally.skipped,
        problems=tuple(problems),
    )


def _practices(session: Session) -> dict[str, uuid.UUID]:
    return dict(
        session.execute(
            select(Practice.ods_code, Practice.id).where(Practice.retired_at.is_(None))
        ).all()
    )


# --- an interrupted import --------------------------------------------------------------

#: ``store_meta`` key of the single "unfinished import" mark of schema 0004 and before,
#: whose rows were written visibly; still reported, and cleared once that file is
#: imported. Imports are now tracked in ``patient_import`` (one row per import).
META_UNFINISHED_IMPORT = "unfinished_patient_import"


@dataclass(frozen=True)
class UnfinishedImport:
    """A patient import that stopped before it was complete (an error, a crash)."""

    file: str
    started_at: str
    written: int
    rows: int
    #: Whether its rows were kept (an import of an older version wrote them visibly).
    kept: bool = False

    def message(self) -> str:
        if self.kept:
            return (
                f"An import of {self.file} (started {self.started_at}) stopped after "
                f"{self.written:,} of {self.rows:,} rows were written. Import the same file "
                "again to complete it: rows already written are left as they are."
            )
        return (
            f"An import of {self.file} (started {self.started_at}) stopped after "
            f"{self.written:,} of {self.rows:,} rows; none of it was kept or sent to the "
            "team hub. Import the file again."
        )


def unfinished_imports(store: Store) -> list[UnfinishedImport]:
    """The patient imports that stopped before they were complete, oldest first.

    An import still running (in another window or program) is not one of them.
    """
    stale = base.utc_now() - ABANDONED_AFTER
    with store.read() as session:
        tracked = session.scalars(
            select(PatientImport)
            .where(or_(PatientImport.stopped_at.is_not(None), PatientImport.heartbeat_at < stale))
            .order_by(PatientImport.started_at)
        ).all()
        found = [
            UnfinishedImport(
                file=row.file,
                started_at=row.started_at.isoformat(timespec="seconds"),
                written=row.written,
                rows=row.rows,
            )
            for row in tracked
        ]
    legacy = store.get_meta(META_UNFINISHED_IMPORT)
    if legacy:
        try:
            found.insert(0, UnfinishedImport(**json.loads(legacy), kept=True))
        except (TypeError, ValueError):
            found.insert(0, UnfinishedImport("a patient list", "", 0, 0, kept=True))
    return found


def _track(session: Session, publication: "_Publication", written: int, rows: int) -> None:
    """Record (first transaction) or renew the import's row in ``patient_import``;
    ``written`` counts the rows written once this transaction commits.

    Raises:
        UserError: the import was discarded meanwhile, by another program that took it
            for a crashed one (it was silent for :data:`ABANDONED_AFTER`).
    """
    now = base.utc_now()
    import_id, path = publication.import_id, publication.path
    if not publication.tracked:
        session.execute(
            insert(PatientImport).values(
                id=import_id,
                file=str(path),
                started_at=publication.started_at,
                heartbeat_at=now,
                rows=rows,
                written=written,
            )
        )
        return
    renewed = session.execute(
        update(PatientImport)
        .where(PatientImport.id == import_id, PatientImport.stopped_at.is_(None))
        .values(heartbeat_at=now, written=written)
    )
    if getattr(renewed, "rowcount", 1) != 1:
        raise _stopped_elsewhere(path)


def _stopped_elsewhere(path: Path) -> UserError:
    return UserError(
        f"The import of {path} was stopped part way and none of it was kept: another "
        "MDT Desk program took it for a crashed import. Import the file again."
    )


def _check_still_running(session: Session, publication: "_Publication") -> None:
    """In the publishing transaction: the import has not been discarded meanwhile.

    A discard marks the import stopped in its first transaction, then deletes its
    hidden patients a batch at a time; publishing what is left would show a partial
    list reported as complete (H99).

    Raises:
        UserError: it was stopped (or its row is gone); nothing is published.
    """
    running = session.scalar(
        select(func.count())
        .select_from(PatientImport)
        .where(PatientImport.id == publication.import_id, PatientImport.stopped_at.is_(None))
    )
    if not running:
        raise _stopped_elsewhere(publication.path)


#: Why an import is refused while another runs: its hidden patients are hidden from
#: this import's duplicate checks too, so both could add the same person (H99).
ANOTHER_IMPORT_RUNNING = (
    "Another patient import is running on this store; try again when it has finished."
)


def _refuse_if_another_import_running(session: Session, import_id: str | None) -> None:
    """Refuse to start while another import is live (not stopped, heard from lately).

    Raises:
        UserError: :data:`ANOTHER_IMPORT_RUNNING`.
    """
    fresh = base.utc_now() - ABANDONED_AFTER
    query = (
        select(func.count())
        .select_from(PatientImport)
        .where(PatientImport.stopped_at.is_(None), PatientImport.heartbeat_at >= fresh)
    )
    if import_id is not None:
        query = query.where(PatientImport.id != import_id)
    if session.scalar(query):
        raise UserError(ANOTHER_IMPORT_RUNNING)


def _note_first_journal_row(session: Session, import_id: str, before: int) -> None:
    """From this import's first journal row on, sync sends nothing until it is published."""
    session.execute(
        update(PatientImport)
        .where(PatientImport.id == import_id, PatientImport.first_seq.is_(None))
        .values(first_seq=before + 1)
    )


def _make_visible(session: Session, publication: "_Publication") -> None:
    """Publish the import: its hidden patients appear, and sync may send them; the
    file's earlier imports that stopped are no longer reported."""
    import_id, path = publication.import_id, publication.path
    if publication.tracked:
        _show_hidden_rows(session, import_id)
    # This file has now been imported whole: earlier stopped imports of it are done.
    session.execute(
        delete(PatientImport).where(
            or_(
                PatientImport.id == import_id,
                and_(PatientImport.file == str(path), PatientImport.stopped_at.is_not(None)),
            )
        )
    )
    legacy = session.execute(
        text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_UNFINISHED_IMPORT}
    ).scalar_one_or_none()
    if legacy is not None:
        try:
            same_file = json.loads(legacy).get("file") == str(path)
        except (AttributeError, ValueError):
            same_file = False
        if same_file:
            session.execute(
                text("DELETE FROM store_meta WHERE key = :k"), {"k": META_UNFINISHED_IMPORT}
            )


def _show_hidden_rows(session: Session, import_id: str) -> None:
    # Another import may have hidden rows: running, or stopped with its discard not
    # finished yet (it is marked stopped before its rows go).
    others = session.scalar(
        select(func.count())
        .select_from(PatientImport)
        .where(
            PatientImport.id != import_id,
            or_(
                PatientImport.stopped_at.is_(None),
                select(PatientImportRow.patient_id)
                .where(PatientImportRow.import_id == PatientImport.id)
                .exists(),
            ),
        )
    )
    if others:
        session.execute(delete(PatientImportRow).where(PatientImportRow.import_id == import_id))
    else:
        # The only import with hidden rows: SQLite empties a whole table far faster
        # than it deletes a million rows one by one (this holds the write lock).
        session.execute(text("DELETE FROM patient_import_row"))


def _journal_end(session: Session) -> int:
    end = session.execute(text("SELECT coalesce(max(origin_seq), 0) FROM journal_change"))
    return int(end.scalar_one())


# --- the import -------------------------------------------------------------------------


def import_patients_file(
    store: Store,
    path: Path,
    *,
    actor_id: uuid.UUID | None = None,
    actor_label: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Import or update the patients of a CSV patient list (see the module docs).

    Good rows are written; each bad row is reported by line number and left out
    entirely. Re-importing the same file changes nothing. The file is read and
    checked before anything is written; the rows are then written in short
    transactions, so other writers wait a moment at most, but nobody sees any of
    them, and sync sends none of them, until the last transaction has committed.
    An import that fails part way leaves nothing behind but a note that it stopped
    (:func:`unfinished_imports`).

    Args:
        store: the desk's store.
        path: the CSV file.
        actor_id: who imports (the signed-in staff member), for the journal.
        actor_label: names the actor when nobody is signed in yet.
        progress: told ``(READING, bytes, file size)`` then ``(WRITING, rows, rows)``.

    Raises:
        ImportFileError: the file cannot be read at all: missing, a folder, binary,
            empty, in an unknown encoding, without a header row, or missing required
            columns.
        UserError: another import is running on this store (nothing is written), or
            this one was discarded meanwhile by a program that took it for a crashed
            one (nothing of it is kept).
    """
    with store.read(actor_id) as session:
        principal_of(session).require(Permission.IMPORT_PATIENTS)
    source = StreamedTextFile(path, kind=FILE_KIND)
    with store.read() as session:
        _refuse_if_another_import_running(session, None)
        practices = _practices(session)
    problems: list[RowProblem] = []
    tally = _Tally()
    staging = _Staging()
    publication = _Publication(import_id=uuid.uuid4().hex, path=path)
    try:
        _stage(source, practices, staging, problems, progress)
        discard_abandoned_imports(store)
        _publish_staged(
            store,
            staging,
            publication,
            tally,
            problems,
            actor=(actor_id, actor_label),
            progress=progress,
        )
    except BaseException:
        if publication.tracked:
            _discard_after_failure(store, publication.import_id)
        raise
    finally:
        staging.close()
    return _report(tally, problems)


@dataclass
class _Publication:
    """The writing of one streamed import."""

    import_id: str
    path: Path
    started_at: dt.datetime = field(default_factory=base.utc_now)
    #: Whether a transaction of it has committed: it has a ``patient_import`` row and
    #: perhaps hidden patients, to discard if it fails.
    tracked: bool = False


def _publish_staged(
    store: Store,
    staging: _Staging,
    publication: _Publication,
    tally: _Tally,
    problems: list[RowProblem],
    *,
    actor: tuple[uuid.UUID | None, str],
    progress: Progress | None,
) -> None:
    """Write the staged rows in short transactions, hidden until the last one."""
    size, after, done = _FIRST_PUBLISH_ROWS, 0, 0
    if progress is not None:
        progress(WRITING, 0, staging.count)
    while True:
        rows = staging.batch(after, size)
        last = done + len(rows) >= staging.count
        seen = staging.accepted_before({row.nhs_number for row in rows}, after + 1)
        with store.write(*actor) as session:
            started = time.monotonic()
            # A bigger page cache on this connection: a big store's indexes are
            # written faster (the import's memory stays well within bounds).
            session.execute(text(f"PRAGMA cache_size=-{_CACHE_KIB}"))
            if not publication.tracked:
                # Checked again under the write lock: two imports could both have
                # passed the check made before reading the file.
                _refuse_if_another_import_running(session, publication.import_id)
            if last:
                if publication.tracked:
                    _check_still_running(session, publication)
                # The publishing transaction: the last rows, the updates left for it,
                # and the hidden patients shown, all in one commit.
                accepted, deferred = _publish(session, rows, seen, tally, problems)
                _publish_deferred(session, staging, tally, problems)
                _make_visible(session, publication)
            else:
                _track(session, publication, done + len(rows), staging.count)
                before = _journal_end(session)
                accepted, deferred = _publish(
                    session, rows, seen, tally, problems, hidden_as=publication.import_id
                )
                if _journal_end(session) > before:
                    _note_first_journal_row(session, publication.import_id, before)
        publication.tracked = publication.tracked or not last
        held = time.monotonic() - started
        staging.accept(accepted, deferred)
        done += len(rows)
        if progress is not None:
            progress(WRITING, done, staging.count)
        if last:
            return
        after = rows[-1].line
        wanted = min(2 * size, int(size * _TARGET_HOLD_SECONDS / max(held, 0.01)))
        size = min(_MAX_PUBLISH_ROWS, max(_MIN_PUBLISH_ROWS, wanted))
        time.sleep(_PAUSE_SECONDS)


def _discard_after_failure(store: Store, import_id: str) -> None:
    try:
        discard_import(store, import_id)
    except Exception:  # the import's own error is the one to report
        # Left hidden and held back from sync; the next import or sync discards it
        # once it has been silent for ABANDONED_AFTER.
        log.exception("patient import: could not discard a stopped import yet")


@requires(Permission.IMPORT_PATIENTS)
def import_patients_csv(session: Session, path: Path) -> ImportReport:
    """Import a patient list inside the caller's write transaction.

    The same checks and results as :func:`import_patients_file`, in one transaction
    (which holds the write lock throughout): for small files and callers that are
    already writing. Prefer :func:`import_patients_file`.

    Raises:
        ImportFileError: as :func:`import_patients_file`.
        UserError: another import is running on this store.
    """
    source = StreamedTextFile(path, kind=FILE_KIND)
    problems: list[RowProblem] = []
    tally = _Tally()
    staging = _Staging()
    try:
        _refuse_if_another_import_running(session, None)
        _stage(source, _practices(session), staging, problems, None)
        after = 0
        while rows := staging.batch(after, _MAX_PUBLISH_ROWS):
            seen = staging.accepted_before({row.nhs_number for row in rows}, after + 1)
            staging.accept(_publish(session, rows, seen, tally, problems)[0])
            after = rows[-1].line
    finally:
        staging.close()
    return _report(tally, problems)
