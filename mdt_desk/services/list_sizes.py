"""Practice list sizes: how many people each practice has registered, by age band.

Imported from NHS Digital's monthly "Patients Registered at a GP Practice" publication,
the file of 5-year age bands (``gp-reg-pat-prac-quin-age.csv``)::

    PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS
    GP_PRAC_PAT_LIST,01Oct2026,GP,A81001,TS18 1HU,FEMALE,65_69,212

They are population denominators (people registered aged 65 and over), for rates per
1,000 shown beside the caseload rates and never mixed with them.

What is kept: the rows of practices this store knows (the national file holds every
practice in England), one record per practice, extract date, age band and sex. Record
ids are derived from those four, so desks that import the same extract make the same
records and sync merges them. Importing an extract again replaces that practice's
figures for that date (a row no longer in the file is retired).

All or nothing: a file with any damaged row of a known practice writes nothing, and
the message lists the rows. Half an extract would understate a practice's population
and so overstate its rates, with nothing on screen to say so.
"""

import csv
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mdt_desk.errors import ImportFileError
from mdt_desk.models import Practice, PracticeListSize
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import PracticeStatus
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.importfiles import StreamedTextFile
from mdt_desk.services.progress import READING, WRITING, Progress, no_progress
from mdt_desk.services.reports import ImportReport

#: The columns the file must have (its header row names them).
REQUIRED_COLUMNS = ("EXTRACT_DATE", "TYPE", "CODE", "SEX", "AGE_GROUP_5", "NUMBER_OF_PATIENTS")
#: Rows of GP practices (other publications of the series carry larger areas too).
GP_TYPE = "GP"
#: The youngest age that counts for the 65+ population.
OLDER_AGE = 65
#: Problems listed in the refusal of a damaged file.
_MAX_LISTED = 10
_ROWS_PER_INSERT = 1000

_NAMESPACE = uuid.UUID("3c1e8a52-7d0b-5f6e-9b1a-6d5444455352")
_BAND = re.compile(r"^(\d{1,3})\s*[-_]\s*(\d{1,3})$")
_TOP_BAND = re.compile(r"^(\d{1,3})\s*(?:\+|_?PLUS|_?AND_?OVER|_?OVER)$")
_SEXES = {"MALE": "male", "FEMALE": "female", "ALL": "all", "PERSONS": "all"}
_MONTH_DATE = re.compile(r"^(\d{1,2})([A-Za-z]{3})(\d{4})$")


def list_size_id(
    practice_id: uuid.UUID, extract_date: dt.date, age_band: str, sex: str
) -> uuid.UUID:
    """The id of one list size record: the same on every desk that imports it."""
    return uuid.uuid5(_NAMESPACE, f"{practice_id}/{extract_date.isoformat()}/{age_band}/{sex}")


def age_band_of(raw: str) -> str | None:
    """The stored form of an ``AGE_GROUP_5`` value (``65_69`` → ``65-69``, ``95+``);
    ``None`` for the all-ages total.

    Raises:
        ValueError: not an age band.
    """
    text = raw.strip().upper()
    if text in ("ALL", "ALL_AGES"):
        return None
    # NHS Digital's bands are five years from a multiple of five (0_4 … 90_94, 95+): any
    # other band (66_70) would be counted on the wrong side of 65, so it is refused.
    if match := _BAND.match(text):
        low, high = int(match.group(1)), int(match.group(2))
        if low % 5 == 0 and high == low + 4:
            return f"{low}-{high}"
    elif (match := _TOP_BAND.match(text)) and int(match.group(1)) % 5 == 0:
        return f"{int(match.group(1))}+"
    raise ValueError(
        f"'{raw.strip()}' is not a five-year age band (such as 65_69, or 95+ for the oldest)"
    )


def band_lower_age(age_band: str) -> int:
    """The youngest age in a stored band: ``65-69`` → 65, ``95+`` → 95."""
    return int(age_band.rstrip("+").split("-", 1)[0])


def _extract_date(raw: str) -> dt.date:
    text = raw.strip()
    if match := _MONTH_DATE.match(text):  # 01Oct2026, as NHS Digital writes it
        try:
            return dt.datetime.strptime(
                f"{match.group(1)}{match.group(2).title()}{match.group(3)}", "%d%b%Y"
            ).date()
        except ValueError:
            pass
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not an extract date (such as 01Oct2026 or 2026-10-01)")


@dataclass(frozen=True)
class _Figure:
    practice_id: uuid.UUID
    extract_date: dt.date
    age_band: str
    sex: str
    patients: int

    @property
    def id(self) -> uuid.UUID:
        return list_size_id(self.practice_id, self.extract_date, self.age_band, self.sex)


def _header(path: Path, fields: Sequence[str]) -> dict[str, int]:
    names = {name.strip().upper().lstrip("\ufeff"): index for index, name in enumerate(fields)}
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileError(
            f"{path} is not an NHS Digital 'Patients Registered at a GP Practice' file of "
            f"5-year age bands (gp-reg-pat-prac-quin-age.csv): it has no "
            f"{', '.join(missing)} column{'s' if len(missing) > 1 else ''}."
        )
    return names


def _figure(
    row: Sequence[str], columns: dict[str, int], practice_id: uuid.UUID
) -> "_Figure | None":
    """One row's figure (``None`` for the all-ages total).

    Raises:
        ValueError: a field is not what the file should hold, in words.
    """
    band = age_band_of(row[columns["AGE_GROUP_5"]])
    sex = _SEXES.get(row[columns["SEX"]].strip().upper())
    if sex is None:
        raise ValueError(f"'{row[columns['SEX']].strip()}' is not MALE, FEMALE or ALL")
    extract = _extract_date(row[columns["EXTRACT_DATE"]])
    count_text = row[columns["NUMBER_OF_PATIENTS"]].strip().replace(",", "")
    if not count_text.isdigit():
        raise ValueError(f"'{count_text}' is not a number of patients")
    if band is None:
        return None
    return _Figure(practice_id, extract, band, sex, int(count_text))


def _read_figures(
    path: Path, practices: dict[str, uuid.UUID], tell: Progress
) -> tuple[list[_Figure], int]:
    """The figures of known practices in the file, and how many rows were skipped."""
    source = StreamedTextFile(path, kind="an NHS Digital list size file (CSV)")
    figures: dict[tuple[uuid.UUID, dt.date, str, str], _Figure] = {}
    problems: list[str] = []
    skipped = 0
    with source.open() as text:
        reader = csv.reader(text)
        try:
            first = next(reader, None)
            if first is None:
                raise ImportFileError(f"{path} is empty.")
            columns = _header(path, first)
            width = max(columns.values()) + 1
            for row in reader:
                line = reader.line_num
                if line % 5000 == 0:
                    tell(READING, source.bytes_read, source.size)
                if not any(field.strip() for field in row):
                    continue
                if len(row) < width:
                    problems.append(f"line {line}: has {len(row)} fields, not {len(first)}")
                    continue
                practice_id = practices.get(row[columns["CODE"]].strip().upper())
                if row[columns["TYPE"]].strip().upper() != GP_TYPE or practice_id is None:
                    skipped += 1  # another kind of area, or a practice not in this store
                    continue
                try:
                    figure = _figure(row, columns, practice_id)
                except ValueError as error:
                    problems.append(f"line {line}: {error}")
                    continue
                if figure is None:
                    skipped += 1  # the all-ages total: the bands add up to it
                    continue
                key = (practice_id, figure.extract_date, figure.age_band, figure.sex)
                if key in figures:
                    problems.append(
                        f"line {line}: {row[columns['CODE']].strip().upper()} "
                        f"{figure.age_band} {figure.sex} appears twice"
                    )
                    continue
                figures[key] = figure
        except csv.Error as error:
            raise ImportFileError(
                f"{path} is not a readable CSV file (line {reader.line_num}: {error})."
            ) from None
    if problems:
        listed = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise ImportFileError(
            f"{path} has {len(problems)} damaged row{'s' if len(problems) > 1 else ''} of "
            f"practices in this store, so nothing was imported: {listed}{more}."
        )
    tell(READING, source.size, source.size)
    return list(figures.values()), skipped


@requires(Permission.IMPORT_PRACTICES)
def import_list_sizes(
    session: Session, path: Path, progress: Progress | None = None
) -> ImportReport:
    """Import practice list sizes by 5-year age band from an NHS Digital file.

    Only practices this store knows are kept; the others, other kinds of area and the
    all-ages totals are counted as skipped. Importing the same extract again changes
    nothing; a corrected one replaces the figures for its date.

    Raises:
        ImportFileError: the file cannot be read, is not this file, or has a damaged
            row of a practice in this store (then nothing is written).
    """
    tell = progress or no_progress
    practices = {
        code: practice_id
        for code, practice_id in session.execute(
            select(Practice.ods_code, Practice.id).where(Practice.retired_at.is_(None))
        )
    }
    figures, skipped = _read_figures(path, practices, tell)
    if not figures:
        raise ImportFileError(
            f"{path} has no list sizes of the practices in this store: check that it is "
            "the file of 5-year age bands and that the practices are imported."
        )
    extracts = {(figure.practice_id, figure.extract_date) for figure in figures}
    existing = {
        row.id: row
        for row in session.scalars(
            select(PracticeListSize).where(
                PracticeListSize.practice_id.in_({practice for practice, _ in extracts})
            )
        )
        if (row.practice_id, row.extract_date) in extracts
    }
    new_rows: list[dict[str, object]] = []
    updated = unchanged = 0
    now = utc_now()
    for figure in figures:
        record = existing.pop(figure.id, None)
        if record is None:
            new_rows.append(
                {
                    "id": figure.id,
                    "created_at": now,
                    "updated_at": now,
                    "practice_id": figure.practice_id,
                    "extract_date": figure.extract_date,
                    "age_band": figure.age_band,
                    "sex": figure.sex,
                    "patients": figure.patients,
                }
            )
        elif record.patients != figure.patients or record.retired_at is not None:
            record.patients = figure.patients
            record.retired_at = None
            updated += 1
        else:
            unchanged += 1
    for gone in existing.values():  # in the extract before, not in it now
        if gone.retired_at is None:
            gone.retired_at = now
            updated += 1
    tell(WRITING, 0, len(new_rows))
    for start in range(0, len(new_rows), _ROWS_PER_INSERT):
        # Core insert is still journalled field by field by the store's triggers.
        session.execute(insert(PracticeListSize), new_rows[start : start + _ROWS_PER_INSERT])
        tell(WRITING, min(start + _ROWS_PER_INSERT, len(new_rows)), len(new_rows))
    session.flush()
    return ImportReport(
        imported=len(new_rows), updated=updated, unchanged=unchanged, skipped=skipped
    )


def latest_extracts(
    session: Session, practice_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dt.date]:
    """Each practice's latest extract date with list sizes (practices without: left out)."""
    wanted = set(practice_ids)
    if not wanted:
        return {}
    return {
        practice_id: extract
        for practice_id, extract in session.execute(
            select(PracticeListSize.practice_id, func.max(PracticeListSize.extract_date))
            .where(
                PracticeListSize.practice_id.in_(wanted),
                PracticeListSize.retired_at.is_(None),
            )
            .group_by(PracticeListSize.practice_id)
        )
    }


def registered_65_plus(session: Session, practice_ids: Iterable[uuid.UUID]) -> int | None:
    """People aged 65 and over registered with these practices, from each one's latest
    extract.

    Per practice and extract, the "all" rows are used where the file gave them, else
    male and female added up. ``None`` when no list sizes of these practices have been
    imported, and when an *active* practice among them has none (a locality total
    missing one practice would understate the population and overstate the rate). A
    closed or dormant practice without list sizes (NHS Digital lists only open ones)
    adds nobody.
    """
    wanted = set(practice_ids)
    latest = latest_extracts(session, wanted)
    if not latest:
        return None
    missing = wanted - set(latest)
    if missing and session.scalar(
        select(func.count())
        .select_from(Practice)
        .where(Practice.id.in_(missing), Practice.status == PracticeStatus.ACTIVE)
    ):
        return None
    wanted = set(latest)
    rows = session.execute(
        select(
            PracticeListSize.practice_id,
            PracticeListSize.extract_date,
            PracticeListSize.age_band,
            PracticeListSize.sex,
            PracticeListSize.patients,
        ).where(
            PracticeListSize.practice_id.in_(wanted),
            PracticeListSize.extract_date.in_(set(latest.values())),
            PracticeListSize.retired_at.is_(None),
        )
    ).all()
    by_sex: dict[uuid.UUID, dict[str, int]] = {practice: {} for practice in wanted}
    for practice_id, extract, band, sex, patients in rows:
        if extract != latest[practice_id] or band_lower_age(band) < OLDER_AGE:
            continue
        totals = by_sex[practice_id]
        totals[sex] = totals.get(sex, 0) + int(patients)
    total = 0
    for totals in by_sex.values():
        total += (
            totals["all"] if "all" in totals else totals.get("male", 0) + totals.get("female", 0)
        )
    return total
