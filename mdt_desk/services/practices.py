"""GP practices: import from the NHS ODS ``epraccur`` file, and look-ups.

The file has no header row and 27 fields per row (see ``epraccur-format.txt``).
Only rows whose prescribing setting (field 26) is 4, "GP Practice", are practices;
the others (walk-in centres, prisons, hospices, ...) are counted as skipped.
"""

import csv
import datetime as dt
import io
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mdt_desk.errors import ImportFileError, ValidationError
from mdt_desk.models import Case, Locality, Patient, Practice
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import CaseStatus, PracticeStatus
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.importfiles import read_text_file
from mdt_desk.services.progress import READING, WRITING, Progress, no_progress
from mdt_desk.services.reports import ImportReport, RowProblem
from mdt_desk.services.validation import normalise_ods_practice_code

EPRACCUR_FIELDS = 27
GP_PRACTICE_SETTING = "4"
_STATUS_CODES = {
    "A": PracticeStatus.ACTIVE,
    "C": PracticeStatus.CLOSED,
    "D": PracticeStatus.DORMANT,
    "P": PracticeStatus.PROPOSED,
}
_IMPORTED_FIELDS = (
    "name",
    "address",
    "postcode",
    "phone",
    "status",
    "commissioner_code",
    "open_date",
    "close_date",
)


@dataclass(frozen=True)
class PracticeSummary:
    id: uuid.UUID
    ods_code: str
    name: str
    postcode: str
    status: PracticeStatus
    locality: str
    open_cases: int
    locality_name: str = ""


def _parse_ods_date(raw: str, label: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        raise ValidationError(f"the {label} '{raw}' is not a date (YYYYMMDD)") from None


def _practice_values(fields: list[str]) -> dict[str, object]:
    code = normalise_ods_practice_code(fields[0])
    name = fields[1].strip()
    if not name:
        raise ValidationError("the practice name is empty")
    status = _STATUS_CODES.get(fields[12].strip().upper())
    if status is None:
        raise ValidationError(f"the status code '{fields[12]}' is not A, C, D or P")
    address = ", ".join(part.strip() for part in fields[4:9] if part.strip())
    return {
        "ods_code": code,
        "name": name,
        "address": address,
        "postcode": fields[9].strip().upper(),
        "phone": fields[17].strip(),
        "status": status,
        "commissioner_code": fields[14].strip().upper(),
        "open_date": _parse_ods_date(fields[10].strip(), "open date"),
        "close_date": _parse_ods_date(fields[11].strip(), "close date"),
    }


def _read_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """CSV rows with the physical line each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(
            f"{path} is not a readable CSV file (line {reader.line_num}: {error})."
        ) from None
    return rows


#: Rows between two progress reports of a practice import.
_PROGRESS_ROWS = 1000


def _insert_practices(session: Session, rows: list[dict[str, object]], tell: Progress) -> None:
    tell(WRITING, 0, len(rows))
    for start in range(0, len(rows), _PROGRESS_ROWS):
        # Core insert is still journalled field by field by the store's triggers.
        session.execute(insert(Practice), rows[start : start + _PROGRESS_ROWS])
        tell(WRITING, min(start + _PROGRESS_ROWS, len(rows)), len(rows))


@requires(Permission.IMPORT_PRACTICES)
def import_ods_practices(
    session: Session, path: Path, progress: Progress | None = None
) -> ImportReport:
    """Import or update the GP practices of an ODS ``epraccur`` file.

    Re-importing the same file changes nothing; a newer file updates the practices
    whose details changed. Rows are validated one by one and a bad row is reported
    with its line number, never half-written. ``progress`` is told
    ``(READING, rows checked, rows)`` then ``(WRITING, rows written, rows)``.

    Raises:
        ImportFileError: the file is missing, unreadable or not in the epraccur shape.
    """
    text = read_text_file(path, kind="an ODS practice file", replace_undecodable=True)
    rows = _read_rows(path, text)
    if not rows:
        raise ImportFileError(f"{path} is empty.")
    if all(len(row) != EPRACCUR_FIELDS for _line, row in rows[:50]):
        raise ImportFileError(
            f"{path} is not an ODS epraccur file: its rows do not have {EPRACCUR_FIELDS} "
            "fields. Download epraccur.csv from the NHS ODS data files."
        )
    existing = {practice.ods_code: practice for practice in session.scalars(select(Practice))}
    problems: list[RowProblem] = []
    new_rows: list[dict[str, object]] = []
    seen: set[str] = set()
    updated = unchanged = skipped = 0
    tell = progress or no_progress
    for index, (line, fields) in enumerate(rows):
        if index % _PROGRESS_ROWS == 0:
            tell(READING, index, len(rows))
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != EPRACCUR_FIELDS:
            problems.append(RowProblem(line, f"has {len(fields)} fields, not {EPRACCUR_FIELDS}"))
            continue
        if fields[25].strip() != GP_PRACTICE_SETTING:
            skipped += 1
            continue
        try:
            values = _practice_values(fields)
        except ValidationError as error:
            problems.append(RowProblem(line, str(error)))
            continue
        code = str(values["ods_code"])
        if code in seen:
            problems.append(RowProblem(line, f"practice {code} appears twice in the file"))
            continue
        seen.add(code)
        practice = existing.get(code)
        if practice is None:
            now = utc_now()
            new_rows.append(
                {"id": practice_id_for(code), "created_at": now, "updated_at": now, **values}
            )
            continue
        changed = False
        for name in _IMPORTED_FIELDS:
            if getattr(practice, name) != values[name]:
                setattr(practice, name, values[name])
                changed = True
        updated += changed
        unchanged += not changed
    tell(READING, len(rows), len(rows))
    _insert_practices(session, new_rows, tell)
    session.flush()
    return ImportReport(
        imported=len(new_rows),
        updated=updated,
        unchanged=unchanged,
        skipped=skipped,
        problems=tuple(problems),
    )


def list_practices(
    session: Session, *, commissioner_code: str | None = None
) -> list[PracticeSummary]:
    """Practices (not retired) with their count of open cases, by locality and name."""
    open_cases = (
        select(Patient.practice_id, func.count(Case.id).label("open_cases"))
        .join(Case, Case.patient_id == Patient.id)
        .where(Case.status != CaseStatus.CLOSED, Case.retired_at.is_(None))
        .group_by(Patient.practice_id)
        .subquery()
    )
    query = (
        select(Practice, func.coalesce(open_cases.c.open_cases, 0))
        .outerjoin(open_cases, open_cases.c.practice_id == Practice.id)
        .where(Practice.retired_at.is_(None))
        .order_by(Practice.commissioner_code, Practice.name)
    )
    if commissioner_code is not None:
        query = query.where(Practice.commissioner_code == commissioner_code)
    names = locality_names(session)
    return [
        PracticeSummary(
            id=practice.id,
            ods_code=practice.ods_code,
            name=practice.name,
            postcode=practice.postcode,
            status=practice.status,
            locality=practice.commissioner_code,
            open_cases=int(count),
            locality_name=names.get(practice.commissioner_code, ""),
        )
        for practice, count in session.execute(query)
    ]


def find_practice_by_code(session: Session, ods_code: str) -> Practice | None:
    return session.scalar(select(Practice).where(Practice.ods_code == ods_code.upper()))


# -- Localities ------------------------------------------------------------------------
#
# The ODS file groups practices only by a commissioner code ("15E"); a team names its
# localities itself. A name is a synced record, so every desk shows the same one.

_LOCALITY_NAME_MAX = 100


@dataclass(frozen=True)
class LocalityName:
    """A locality's code and the name the team gave it ("" until named)."""

    code: str
    name: str

    @property
    def title(self) -> str:
        """What a person reads: the name, or "Locality <code>" until it has one."""
        if self.name:
            return self.name
        return f"Locality {self.code}" if self.code else "Locality not known"


def locality_names(session: Session) -> dict[str, str]:
    """The name of every named locality, by code."""
    rows = session.execute(
        select(Locality.code, Locality.name)
        .where(Locality.retired_at.is_(None))
        .order_by(Locality.code, Locality.updated_at)
    )
    return {code: name for code, name in rows}


@requires(Permission.IMPORT_PRACTICES)
def name_locality(session: Session, code: str, name: str) -> LocalityName:
    """Give the locality with commissioner code ``code`` a name (or rename it).

    An empty name removes the name, so the locality shows its code again.

    Raises:
        ValidationError: no practice has that code, or the name is too long.
    """
    code = code.strip().upper()
    name = " ".join(unicodedata.normalize("NFC", name).split())
    known = session.scalar(
        select(func.count())
        .select_from(Practice)
        .where(Practice.commissioner_code == code, Practice.retired_at.is_(None))
    )
    if not known:
        message = f"No practice in this store is in locality {code or '(none)'}."
        raise ValidationError(message, {"code": message})
    if len(name) > _LOCALITY_NAME_MAX:
        message = f"A locality name can be at most {_LOCALITY_NAME_MAX} characters."
        raise ValidationError(message, {"name": message})
    records = session.scalars(
        select(Locality).where(Locality.code == code, Locality.retired_at.is_(None))
    ).all()
    now = utc_now()
    if not name:
        for record in records:
            record.retired_at = now
        return LocalityName(code, "")
    if records:
        # Two desks naming one locality offline make two records; keep one.
        first, *others = records
        first.name = name
        for other in others:
            other.retired_at = now
    else:
        session.add(Locality(code=code, name=name))
    return LocalityName(code, name)
