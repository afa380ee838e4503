"""The experience survey: what people said about their care, one answer per statement.

Norfolk's integrated care survey asks five statements (``ExperienceStatement``), each
answered on a five-point scale: 1 strongly disagree, 2 disagree, 3 neither, 4 agree,
5 strongly agree. Answers are entered in the record or imported from a CSV file.

The CSV import is all or nothing: every row is checked first, and a file with any bad
row (an unknown NHS number, an agreement outside 1–5, a date in the future…) writes
nothing and says which rows. A half-imported survey would skew the share who agree
without anything on screen to show it.

A person answers each statement at most once a day: an answer for a person, statement
and day that already has one replaces it (its agreement, how and proxy), in the record
and in the CSV import alike. Two answers for the same day would both be counted in
the indicators' share who agree, and nobody could see which was meant. Importing the
same file again therefore adds nothing (its answers are unchanged), and a corrected
file updates the answers it corrects.
"""

import csv
import datetime as dt
import io
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mdt_desk.errors import ImportFileError, ValidationError
from mdt_desk.models import Case, ExperienceResponse, Patient
from mdt_desk.models.base import new_id, utc_now
from mdt_desk.models.enums import CaseStatus, ExperienceStatement, SurveyMethod
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import cui_date
from mdt_desk.services.importfiles import read_text_file
from mdt_desk.services.patients import load_patient
from mdt_desk.services.reports import ImportReport
from mdt_desk.services.validation import normalise_nhs_number, parse_date

#: The survey's statements as the person reads them.
STATEMENT_TEXT: dict[ExperienceStatement, str] = {
    ExperienceStatement.COMMUNICATED_WITH_ME: (
        "The people who care for me communicated with me and my family"
    ),
    ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER: (
        "The people who care for me communicated with each other"
    ),
    ExperienceStatement.WELL_COORDINATED: "My care was well co-ordinated",
    ExperienceStatement.RIGHT_PROFESSIONALS: "I saw the right professionals",
    ExperienceStatement.DID_NOT_REPEAT_STORY: "I did not have to repeat my story",
}
#: The five points of the scale.
AGREEMENT_WORDS: dict[int, str] = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
LOWEST_AGREEMENT = 1
HIGHEST_AGREEMENT = 5
#: Answers that count as agreeing (the indicators' share who agree).
AGREES = frozenset({4, 5})

#: The CSV file's columns, in any order (header row required).
CSV_COLUMNS = ("nhs_number", "statement", "agreement", "answered_on", "collected_how", "by_proxy")
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0", ""})
#: Problems listed in the refusal of a bad file.
_MAX_LISTED = 10


@dataclass(frozen=True)
class ExperienceResponseRecord:
    id: uuid.UUID
    patient_id: uuid.UUID
    case_id: uuid.UUID | None
    statement: ExperienceStatement
    agreement: int
    answered_on: dt.date
    collected_how: SurveyMethod
    by_proxy: bool


class AnswerChange(StrEnum):
    """What saving an answer did to the person's answers for that statement and day."""

    ADDED = "added"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class SavedExperienceResponse(ExperienceResponseRecord):
    """The answer as now recorded, and what :func:`record_experience_response` did.

    ``replaced_agreement`` is the agreement the answer had before, when an earlier
    answer for the same day was replaced.
    """

    change: AnswerChange
    replaced_agreement: int | None = None

    @property
    def summary(self) -> str:
        """What changed, in words for the user."""
        statement = STATEMENT_TEXT[self.statement]
        now = agreement_words(self.agreement)
        day = cui_date(self.answered_on)
        if self.change is AnswerChange.ADDED:
            return f"Answer recorded for {day}: '{statement}' — {now}."
        if self.change is AnswerChange.UNCHANGED:
            return f"The answer for {day} was already recorded: '{statement}' — {now}."
        before = AGREEMENT_WORDS.get(self.replaced_agreement or 0, "")
        was = f" (was {before})" if before and before != now else ""
        return f"The answer for {day} was replaced: '{statement}' — {now}{was}."


def agreement_words(agreement: int) -> str:
    """An agreement in words ("Agree"), or the bare number if off the scale."""
    return AGREEMENT_WORDS.get(agreement, str(agreement))


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: message})


def check_agreement(agreement: object) -> int:
    """An agreement on the 1–5 scale, or a :class:`ValidationError` saying why not."""
    if isinstance(agreement, bool) or not isinstance(agreement, int):
        raise _fail(
            "agreement", f"'{agreement}' is not an agreement: give a whole number from 1 to 5."
        )
    if not LOWEST_AGREEMENT <= agreement <= HIGHEST_AGREEMENT:
        raise _fail(
            "agreement",
            f"The agreement {agreement} is off the scale: 1 is strongly disagree and 5 "
            "strongly agree.",
        )
    return agreement


def check_answered_on(answered_on: dt.date, today: dt.date) -> dt.date:
    if answered_on > today:
        raise _fail("answered_on", f"The answer's date {cui_date(answered_on)} is in the future.")
    return answered_on


_Coded = TypeVar("_Coded", ExperienceStatement, SurveyMethod)


def _coded(enum_class: type[_Coded], raw: str, field: str, what: str) -> _Coded:
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return enum_class(key)
    except ValueError:
        choices = ", ".join(member.value for member in enum_class)
        raise _fail(field, f"'{raw.strip()}' is not {what}: use one of {choices}.") from None


def _case_for(
    session: Session, patient_id: uuid.UUID, case_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The case an answer belongs to: the one given (it must be the person's), else
    their open case, else their latest closed one."""
    if case_id is not None:
        case = session.get(Case, case_id)
        if case is None or case.retired_at is not None or case.patient_id != patient_id:
            raise _fail("case", "That case is not this person's.")
        return case.id
    cases = session.execute(
        select(Case.id, Case.status)
        .where(Case.patient_id == patient_id, Case.retired_at.is_(None))
        .order_by(Case.referred_on.desc(), Case.created_at.desc())
    ).all()
    for found, status in cases:
        if status is not CaseStatus.CLOSED:
            return uuid.UUID(str(found))
    return uuid.UUID(str(cases[0][0])) if cases else None


def _record(response: ExperienceResponse) -> ExperienceResponseRecord:
    return ExperienceResponseRecord(
        id=response.id,
        patient_id=response.patient_id,
        case_id=response.case_id,
        statement=ExperienceStatement(response.statement),
        agreement=response.agreement,
        answered_on=response.answered_on,
        collected_how=SurveyMethod(response.collected_how),
        by_proxy=response.by_proxy,
    )


def _saved(
    response: ExperienceResponse, change: AnswerChange, replaced_agreement: int | None = None
) -> SavedExperienceResponse:
    return SavedExperienceResponse(
        **vars(_record(response)), change=change, replaced_agreement=replaced_agreement
    )


def _same_day_answer(
    session: Session, patient_id: uuid.UUID, statement: ExperienceStatement, answered_on: dt.date
) -> ExperienceResponse | None:
    """The person's live answer to the statement on that day (the oldest if a store
    from before answers were replaced holds several)."""
    return session.scalars(
        select(ExperienceResponse)
        .where(
            ExperienceResponse.patient_id == patient_id,
            ExperienceResponse.statement == statement,
            ExperienceResponse.answered_on == answered_on,
            ExperienceResponse.retired_at.is_(None),
        )
        .order_by(ExperienceResponse.created_at, ExperienceResponse.id)
        .limit(1)
    ).first()


@requires(Permission.EDIT_PLAN)
def record_experience_response(
    session: Session,
    patient_id: uuid.UUID,
    *,
    statement: ExperienceStatement,
    agreement: int,
    answered_on: dt.date,
    collected_how: SurveyMethod,
    by_proxy: bool = False,
    case_id: uuid.UUID | None = None,
    today: dt.date | None = None,
) -> SavedExperienceResponse:
    """Record one answer of a person to one survey statement, or correct it.

    An answer the person already has for the statement on ``answered_on`` is replaced
    (agreement, how and proxy; it keeps its case), so a statement is answered once a day
    on this desk. Two desks recording the same answer while apart both keep theirs
    after sync; the indicators then count the first recorded only (hazard H139).

    Raises:
        ValidationError: the agreement is not 1–5, the date is in the future, or the
            case is not the person's.
    """
    today = today or dt.date.today()
    check_agreement(agreement)
    check_answered_on(answered_on, today)
    patient = load_patient(session, patient_id)
    statement = ExperienceStatement(statement)
    collected_how = SurveyMethod(collected_how)
    existing = _same_day_answer(session, patient.id, statement, answered_on)
    if existing is not None:
        if case_id is not None:
            _case_for(session, patient.id, case_id)  # still refuse another person's case
        before = (existing.agreement, SurveyMethod(existing.collected_how), existing.by_proxy)
        if before == (agreement, collected_how, by_proxy):
            return _saved(existing, AnswerChange.UNCHANGED)
        existing.agreement = agreement
        existing.collected_how = collected_how
        existing.by_proxy = by_proxy
        session.flush()
        return _saved(existing, AnswerChange.REPLACED, replaced_agreement=before[0])
    response = ExperienceResponse(
        patient_id=patient.id,
        case_id=_case_for(session, patient.id, case_id),
        statement=statement,
        agreement=agreement,
        answered_on=answered_on,
        collected_how=collected_how,
        by_proxy=by_proxy,
    )
    session.add(response)
    session.flush()
    return _saved(response, AnswerChange.ADDED)


@requires(Permission.EDIT_PLAN)
def withdraw_experience_response(session: Session, response_id: uuid.UUID) -> None:
    """Withdraw an answer entered by mistake (retired, never deleted)."""
    response = session.get(ExperienceResponse, response_id)
    if response is None or response.retired_at is not None:
        raise _fail("response", "That survey answer is not in this store.")
    response.retired_at = utc_now()
    session.flush()


@requires(Permission.READ_CLINICAL)
def list_experience_responses(
    session: Session, patient_id: uuid.UUID
) -> list[ExperienceResponseRecord]:
    """A person's survey answers, newest first, in the order of the statements."""
    order = {statement: index for index, statement in enumerate(ExperienceStatement)}
    responses = session.scalars(
        select(ExperienceResponse).where(
            ExperienceResponse.patient_id == patient_id,
            ExperienceResponse.retired_at.is_(None),
        )
    ).all()
    records = [_record(response) for response in responses]
    records.sort(key=lambda r: (-r.answered_on.toordinal(), order[r.statement]))
    return records


# -- Import from CSV ------------------------------------------------------------------


def _yes_no(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _fail("by_proxy", f"'{raw.strip()}' is not yes or no (for by_proxy).")


def _agreement_of(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit():
        raise _fail("agreement", f"'{text}' is not an agreement: give a whole number from 1 to 5.")
    return check_agreement(int(text))


_Key = tuple[uuid.UUID, ExperienceStatement, dt.date, int, SurveyMethod, bool]


def _csv_rows(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    text = read_text_file(path, kind="a survey CSV file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
        columns = [name.strip().lower() for name in header]
        missing = [name for name in CSV_COLUMNS if name not in columns]
        if missing:
            raise ImportFileError(
                f"{path} is not a survey file MDT Desk can import: it has no "
                f"{', '.join(missing)} column{'s' if len(missing) > 1 else ''}. The columns "
                f"are {', '.join(CSV_COLUMNS)} (a header row, then one answer a row)."
            )
        rows: list[tuple[int, dict[str, str]]] = []
        problems: list[str] = []
        for row in reader:
            if not any(field.strip() for field in row):
                continue
            if len(row) != len(columns):
                problems.append(
                    f"line {reader.line_num}: has {len(row)} fields, not {len(columns)}"
                )
                continue
            rows.append((reader.line_num, dict(zip(columns, row, strict=True))))
    except csv.Error as error:
        raise ImportFileError(
            f"{path} is not a readable CSV file (line {reader.line_num}: {error})."
        ) from None
    return rows, problems


def _checked_row(
    row: Mapping[str, str], people: Mapping[str, uuid.UUID], today: dt.date
) -> tuple[uuid.UUID, ExperienceStatement, dt.date, int, SurveyMethod, bool]:
    digits = normalise_nhs_number(row["nhs_number"])
    patient_id = people.get(digits)
    if patient_id is None:
        raise _fail("nhs_number", f"nobody with the NHS number {digits} is in this store")
    statement = _coded(ExperienceStatement, row["statement"], "statement", "a survey statement")
    agreement = _agreement_of(row["agreement"])
    answered_on = check_answered_on(parse_date(row["answered_on"], "answered_on"), today)
    how = _coded(SurveyMethod, row["collected_how"], "collected_how", "a way of collecting")
    return patient_id, statement, answered_on, agreement, how, _yes_no(row["by_proxy"])


@requires(Permission.EDIT_PLAN)
def import_experience_csv(
    session: Session, path: Path, *, today: dt.date | None = None
) -> ImportReport:
    """Import survey answers from a CSV file, all or nothing.

    Columns (header row, any order): nhs_number, statement (e.g.
    ``did_not_repeat_story``), agreement (1–5), answered_on (a date), collected_how
    (paper, phone, in_person, online), by_proxy (yes/no). Each answer goes to the
    person's open case, else their latest. An answer the person already has for the
    statement on that day is updated (counted as ``updated``), or ``unchanged`` when
    the row says the same.

    Raises:
        ImportFileError: the file cannot be read, is not this CSV, or has any bad row
            (then nothing is written, and the message lists the rows).
    """
    today = today or dt.date.today()
    rows, problems = _csv_rows(path)
    wanted: set[str] = set()
    for _line, row in rows:
        with suppress(ValidationError):  # reported with its line below
            wanted.add(normalise_nhs_number(row["nhs_number"]))
    people: dict[str, uuid.UUID] = {}
    for start in range(0, len(wanted), 500):
        chunk = sorted(wanted)[start : start + 500]
        people.update(
            (str(number), uuid.UUID(str(patient_id)))
            for number, patient_id in session.execute(
                select(Patient.nhs_number, Patient.id).where(
                    Patient.nhs_number.in_(chunk), Patient.retired_at.is_(None)
                )
            )
        )
    checked: list[tuple[int, _Key]] = []
    for line, row in rows:
        try:
            checked.append((line, _checked_row(row, people, today)))
        except ValidationError as error:
            problems.append(f"line {line}: {error}")
    if problems:
        listed = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise ImportFileError(
            f"{path} has {len(problems)} row{'s' if len(problems) > 1 else ''} that cannot "
            f"be imported, so nothing was imported: {listed}{more}."
        )
    if not checked:
        raise ImportFileError(f"{path} has a header row but no answers.")
    _refuse_conflicting_rows(path, checked)
    known = _known_answers(session, {key[0] for _line, key in checked})
    cases: dict[uuid.UUID, uuid.UUID | None] = {}
    new_rows: list[dict[str, object]] = []
    corrections: list[dict[str, object]] = []
    unchanged = 0
    now = utc_now()
    for _line, key in checked:
        patient_id, statement, answered_on, agreement, how, proxy = key
        day_key = (patient_id, statement, answered_on)
        answer = (agreement, how, proxy)
        if day_key in known:
            response_id, recorded = known[day_key]
            if recorded == answer:
                unchanged += 1
                continue
            known[day_key] = (response_id, answer)
            corrections.append(
                {
                    "id": response_id,
                    "updated_at": now,
                    "agreement": agreement,
                    "collected_how": how,
                    "by_proxy": proxy,
                }
            )
            continue
        if patient_id not in cases:
            cases[patient_id] = _case_for(session, patient_id, None)
        response_id = new_id()
        known[day_key] = (response_id, answer)
        new_rows.append(
            {
                "id": response_id,
                "created_at": now,
                "updated_at": now,
                "patient_id": patient_id,
                "case_id": cases[patient_id],
                "statement": statement,
                "agreement": agreement,
                "answered_on": answered_on,
                "collected_how": how,
                "by_proxy": proxy,
            }
        )
    # Core insert and bulk update by primary key are still journalled field by field
    # by the store's triggers.
    if new_rows:
        session.execute(insert(ExperienceResponse), new_rows)
    if corrections:
        session.execute(update(ExperienceResponse), corrections)
    session.flush()
    return ImportReport(imported=len(new_rows), updated=len(corrections), unchanged=unchanged)


_DayKey = tuple[uuid.UUID, ExperienceStatement, dt.date]
_Answer = tuple[int, SurveyMethod, bool]


def _refuse_conflicting_rows(path: Path, checked: list[tuple[int, _Key]]) -> None:
    """Refuse a file that gives one person two different answers to one statement on
    one day: which one is meant cannot be told, and both must not be counted."""
    first: dict[_DayKey, tuple[int, _Answer]] = {}
    problems: list[str] = []
    for line, (patient_id, statement, answered_on, agreement, how, proxy) in checked:
        day_key = (patient_id, statement, answered_on)
        answer = (agreement, how, proxy)
        if day_key not in first:
            first[day_key] = (line, answer)
        elif first[day_key][1] != answer:
            problems.append(
                f"line {line}: answers the same statement for the same person on the same "
                f"day as line {first[day_key][0]}, differently"
            )
    if problems:
        listed = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise ImportFileError(
            f"{path} has {len(problems)} row{'s' if len(problems) > 1 else ''} that cannot "
            f"be imported, so nothing was imported: {listed}{more}."
        )


def _known_answers(
    session: Session, patient_ids: set[uuid.UUID]
) -> dict[_DayKey, tuple[uuid.UUID, _Answer]]:
    """The people's live answers by (person, statement, day): id and answer (the
    oldest, as :func:`record_experience_response` replaces, if a store holds several)."""
    known: dict[_DayKey, tuple[uuid.UUID, _Answer]] = {}
    ordered = sorted(patient_ids)
    for start in range(0, len(ordered), 500):
        for response in session.scalars(
            select(ExperienceResponse)
            .where(
                ExperienceResponse.patient_id.in_(ordered[start : start + 500]),
                ExperienceResponse.retired_at.is_(None),
            )
            .order_by(ExperienceResponse.created_at, ExperienceResponse.id)
        ):
            day_key = (
                response.patient_id,
                ExperienceStatement(response.statement),
                response.answered_on,
            )
            known.setdefault(
                day_key,
                (
                    response.id,
                    (
                        response.agreement,
                        SurveyMethod(response.collected_how),
                        response.by_proxy,
                    ),
                ),
            )
    return known
