"""Who changed what, and when, in one person's record: read from the change journal.

The journal keeps one row per changed field of every synced record (see
:mod:`mdt_desk.models.journal`). :func:`record_history` gathers the ids of the person,
their case(s) and every row hanging off them, reads those rows' journal entries through
the journal's row-id index (so it stays fast on a store of 100,000 people), and turns
each into words: the record, the field, the old and new values (codes as words, staff
ids as names, dates the CUI way) and the time in Europe/London.

Prints of the person's documents (print records) are part of the history: each shows
as one entry, "Care plan printed by Ngozi Okafor, version 12", not field by field.
:func:`plan_version` counts the same journal (less the prints) to give a printed plan
its version.

Experience survey answers are part of the history too ("Survey answer: 'I did not have
to repeat my story' (01-Nov-2026)", agreement "Agree"), but not of the plan's version:
they are not in the plan, and counting them would make a plan printed before an answer
look out of date.
"""

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, DateTime, Enum, Uuid, select, text
from sqlalchemy.orm import Session

from mdt_desk.models import (
    Action,
    Alert,
    Base,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    ExperienceResponse,
    Goal,
    Intervention,
    JournalChange,
    JournalTransaction,
    LongTermCondition,
    Meeting,
    Note,
    OutcomeEvent,
    Patient,
    Practice,
    PrintRecord,
)
from mdt_desk.models.base import UTCDateTime
from mdt_desk.services.access import Permission, may_read_sensitive, requires
from mdt_desk.services.display import cui_date, cui_time, label, patient_display_name
from mdt_desk.services.experience import STATEMENT_TEXT, agreement_words
from mdt_desk.services.patients import load_patient
from mdt_desk.services.restricted import (
    CONTENT_FIELDS,
    RESTRICTED_KIND,
    RESTRICTED_TEXT,
    restricted_ids,
)
from mdt_desk.services.staff_names import StaffNames

_LONDON = ZoneInfo("Europe/London")
#: SQLite caps the number of bound parameters; ids are looked up in chunks.
_CHUNK = 500
#: Bookkeeping columns nobody needs to read in the history.
_HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at"})
#: Id fields whose values are never named as staff, even if one were a staff id.
_NOT_STAFF_FIELDS = frozenset({"case_id", "patient_id", "goal_id"})
#: Fields of a new child record that only say whose it is (the record column says so).
_IMPLIED_ON_ADD = frozenset({"patient_id", "case_id"})

_RECORD_WORDS = {
    "patient": "Person",
    "care_case": "Case",
    "coordinator_assignment": "Care coordinator",
    "care_team_member": "Care team member",
    "goal": "Goal",
    "action": "Action",
    "note": "Note",
    "intervention": "Intervention",
    "outcome_event": "Outcome event",
    "alert": "Alert",
    "consent": "Consent to share",
    "long_term_condition": "Long-term condition",
    "print_record": "Print",
    "experience_response": "Survey answer",
}
#: The one field of a print record its history entry is made from (the others are its
#: details, told in that entry), and the retirement that withdraws it.
_PRINT_FIELDS = frozenset({"kind", "retired_at"})

_FIELD_WORDS = {
    "nhs_number": "NHS number",
    "staff_id": "Staff member",
    "owner_id": "Owner",
    "author_id": "Written by",
    "recorded_by_id": "Recorded by",
    "case_id": "Case",
    "patient_id": "Person",
    "goal_id": "Goal",
    "meeting_id": "Meeting",
    "practice_id": "Practice",
    "amends_note_id": "Corrects",
    "retired_at": "Withdrawn",
    "next_review_on": "Next review",
    "referred_on": "Referred",
    "accepted_on": "Accepted",
    "closed_on": "Closed",
    "target_on": "Target date",
    "due_on": "Due",
    "started_on": "Started",
    "ended_on": "Ended",
    "joined_on": "Joined",
    "left_on": "Left",
    "occurred_on": "Date",
    "written_at": "Written",
    "completed_on": "Completed",
    "planned_end_on": "Planned end",
    "recorded_on": "Recorded on",
    "diagnosed_on": "Diagnosed",
    "delayed_days": "Days delayed",
    "share_with_person": "Share with the person",
    "referral_source": "Referral source",
    "referral_reason": "Referral reason",
    "referral_urgency": "Urgency",
    "closure_reason": "Closure reason",
    "closure_note": "Closure note",
    "body": "Note",
    "answered_on": "Answered on",
    "collected_how": "How it was collected",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One changed field, in words."""

    at: dt.datetime
    when_text: str
    who: str
    record: str
    field: str
    old_text: str
    new_text: str
    entity: str
    row_id: uuid.UUID
    added: bool
    #: where the change was made: "This desk", "Team hub" or "Another desk (4bc91f9e)"
    desk_text: str = ""


def audit_time(value: dt.datetime) -> str:
    """``cui_time``, plus the offset (``GMT``/``BST``) in the repeated autumn hour."""
    local = value.astimezone(_LONDON)
    other = local.replace(fold=1 - local.fold)
    text = cui_time(value)
    if other.utcoffset() != local.utcoffset():
        return f"{text} {local.tzname()}"
    return text


def _chunks(ids: list[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _short(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


class _Describer:
    """Words for the records and values of one person's history."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: the staff the history names, read as it names them (not the whole team)
        self.staff = StaffNames(session)
        self.records: dict[uuid.UUID, str] = {}
        self.values: dict[uuid.UUID, str] = {}
        #: print record id -> "3 pages, large print"
        self.print_details: dict[uuid.UUID, str] = {}
        #: the person's survey answers (in the history, not in the plan's version)
        self.survey_answers: set[uuid.UUID] = set()

    def describe_survey_answer(self, answer: ExperienceResponse) -> None:
        statement = STATEMENT_TEXT.get(answer.statement, label(answer.statement))
        self.records[answer.id] = f"Survey answer: '{statement}' ({cui_date(answer.answered_on)})"
        self.survey_answers.add(answer.id)

    def describe_print(self, printed: PrintRecord) -> None:
        who = self.staff.get(printed.printed_by_id)
        text = f"{label(printed.kind)} printed"
        if who:
            text += f" by {who}"
        if printed.plan_version:
            text += f", version {printed.plan_version}"
        self.records[printed.id] = text
        pages = f"{printed.pages} page" + ("" if printed.pages == 1 else "s")
        self.print_details[printed.id] = pages + (", large print" if printed.large_print else "")

    def id_words(self, field: str, value: uuid.UUID) -> str:
        if field not in _NOT_STAFF_FIELDS and value in self.staff:
            return self.staff.get(value)
        if value in self.values:
            return self.values[value]
        if field == "practice_id":
            practice = self.session.get(Practice, value)
            if practice is not None:
                self.values[value] = f"{practice.name} ({practice.ods_code})"
                return self.values[value]
        if field == "meeting_id":
            meeting = self.session.get(Meeting, value)
            if meeting is not None:
                self.values[value] = f"MDT meeting of {cui_time(meeting.starts_at)}"
                return self.values[value]
        return "another record"

    def value_words(self, entity: str, field: str, raw: str | None) -> str:
        value = json.loads(raw) if raw is not None else None
        if value is None or value == "":
            return ""
        if entity == ExperienceResponse.__tablename__:
            survey_words = _survey_value_words(field, value)
            if survey_words is not None:
                return survey_words
        table = Base.metadata.tables.get(entity)
        column = table.c.get(field) if table is not None else None
        kind = column.type if column is not None else None
        if isinstance(kind, Enum):
            text = label(str(value))
        elif isinstance(kind, Boolean):
            text = "Yes" if value else "No"
        elif isinstance(kind, Uuid):
            text = self._uuid_words(field, str(value))
        elif isinstance(kind, DateTime | UTCDateTime):
            text = _moment_words(str(value))
        elif isinstance(kind, Date):
            text = _date_words(str(value))
        else:
            text = str(value)
        return text

    def _uuid_words(self, field: str, value: str) -> str:
        try:
            return self.id_words(field, uuid.UUID(value))
        except ValueError:
            return value

    def load_staff_named_in(
        self, changes: Iterable[tuple[JournalChange, JournalTransaction]]
    ) -> None:
        """Read, in one go, the names of the staff ``changes`` may name: who made each
        change and the staff ids among the values (any id column but those of
        :data:`_NOT_STAFF_FIELDS`); ids that are no one's are remembered as such."""
        ids: set[uuid.UUID] = set()
        for change, tx in changes:
            if tx.actor_id is not None:
                ids.add(tx.actor_id)
            if change.field in _NOT_STAFF_FIELDS:
                continue
            table = Base.metadata.tables.get(change.entity)
            column = table.c.get(change.field) if table is not None else None
            if column is None or not isinstance(column.type, Uuid):
                continue
            for raw in (change.old_value, change.new_value):
                value = json.loads(raw) if raw is not None else None
                if isinstance(value, str):
                    with contextlib.suppress(ValueError):  # not an id: said as it is
                        ids.add(uuid.UUID(value))
        self.staff.load(ids)


def _survey_value_words(field: str, value: object) -> str | None:
    """A survey answer's statement and agreement as the person read and said them
    (``None``: any other field, put into words as usual)."""
    if field == "agreement" and isinstance(value, int) and not isinstance(value, bool):
        return agreement_words(value)
    if field == "statement":
        for statement, words in STATEMENT_TEXT.items():
            if statement.value == value:
                return f"'{words}'"
    return None


def _moment_words(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return audit_time(moment)


def _date_words(value: str) -> str:
    try:
        return cui_date(dt.date.fromisoformat(value))
    except ValueError:
        return value


def _patient_rows(
    session: Session, patient_id: uuid.UUID, words: _Describer
) -> Iterable[uuid.UUID]:
    for alert in session.scalars(select(Alert).where(Alert.patient_id == patient_id)):
        words.records[alert.id] = f"Alert: {label(alert.kind)}"
        yield alert.id
    for consent in session.scalars(select(Consent).where(Consent.patient_id == patient_id)):
        words.records[consent.id] = f"Consent to share: {label(consent.decision)}"
        yield consent.id
    for condition in session.scalars(
        select(LongTermCondition).where(LongTermCondition.patient_id == patient_id)
    ):
        words.records[condition.id] = f"Long-term condition: {_short(condition.name)}"
        yield condition.id
    for event in session.scalars(select(OutcomeEvent).where(OutcomeEvent.patient_id == patient_id)):
        words.records[event.id] = f"Outcome event: {label(event.kind)}"
        yield event.id
    for answer in session.scalars(
        select(ExperienceResponse).where(ExperienceResponse.patient_id == patient_id)
    ):
        words.describe_survey_answer(answer)
        yield answer.id
    # Prints about the person but no case (the case's own prints come with the case).
    prints = list(
        session.scalars(
            select(PrintRecord).where(
                PrintRecord.patient_id == patient_id, PrintRecord.case_id.is_(None)
            )
        )
    )
    words.staff.load(printed.printed_by_id for printed in prints)
    for printed in prints:
        words.describe_print(printed)
        yield printed.id


def _case_rows(
    session: Session, case_ids: list[uuid.UUID], words: _Describer
) -> Iterable[uuid.UUID]:
    for chunk in _chunks(case_ids):
        assignments = list(
            session.scalars(
                select(CoordinatorAssignment).where(CoordinatorAssignment.case_id.in_(chunk))
            )
        )
        members = list(
            session.scalars(select(CareTeamMember).where(CareTeamMember.case_id.in_(chunk)))
        )
        prints = list(session.scalars(select(PrintRecord).where(PrintRecord.case_id.in_(chunk))))
        words.staff.load(
            [
                *(assignment.staff_id for assignment in assignments),
                *(member.staff_id for member in members),
                *(printed.printed_by_id for printed in prints),
            ]
        )
        for assignment in assignments:
            name = words.staff.get(assignment.staff_id)
            words.records[assignment.id] = f"Care coordinator: {name}" if name else "Coordinator"
            yield assignment.id
        for member in members:
            name = words.staff.get(member.staff_id) or member.name
            words.records[member.id] = f"Care team member: {name}"
            yield member.id
        for goal in session.scalars(select(Goal).where(Goal.case_id.in_(chunk))):
            words.records[goal.id] = f"Goal: {_short(goal.description)}"
            words.values[goal.id] = f"“{_short(goal.description)}”"
            yield goal.id
        for action in session.scalars(select(Action).where(Action.case_id.in_(chunk))):
            words.records[action.id] = f"Action: {_short(action.description)}"
            yield action.id
        for note in session.scalars(select(Note).where(Note.case_id.in_(chunk))):
            words.records[note.id] = f"Note of {audit_time(note.written_at)}"
            words.values[note.id] = f"the note of {audit_time(note.written_at)}"
            yield note.id
        for intervention in session.scalars(
            select(Intervention).where(Intervention.case_id.in_(chunk))
        ):
            words.records[intervention.id] = f"Intervention: {label(intervention.kind)}"
            yield intervention.id
        for event in session.scalars(select(OutcomeEvent).where(OutcomeEvent.case_id.in_(chunk))):
            words.records[event.id] = f"Outcome event: {label(event.kind)}"
            yield event.id
        for printed in prints:
            words.describe_print(printed)
            yield printed.id


def _record_rows(
    session: Session, patient: Patient, case_id: uuid.UUID | None, words: _Describer
) -> list[uuid.UUID]:
    """The ids of the person, their case(s) and every row hanging off them, once each."""
    words.records[patient.id] = "Person"
    words.values[patient.id] = patient_display_name(patient.family_name, patient.given_name)
    case_query = select(Case).where(Case.patient_id == patient.id)
    if case_id is not None:
        case_query = case_query.where(Case.id == case_id)
    cases = list(session.scalars(case_query))
    for case in cases:
        words.records[case.id] = f"Case referred {cui_date(case.referred_on)}"
        words.values[case.id] = f"the case referred {cui_date(case.referred_on)}"
    row_ids = [patient.id, *(case.id for case in cases)]
    row_ids.extend(_patient_rows(session, patient.id, words))
    row_ids.extend(_case_rows(session, [case.id for case in cases], words))
    return list(dict.fromkeys(row_ids))


def plan_version(session: Session, patient_id: uuid.UUID, case_id: uuid.UUID | None) -> str:
    """A short, stable version of the person's plan: how many journalled transactions
    have changed their record and the case so far (prints excluded), e.g. ``"12"``.

    A count rather than a content hash because people can read it ("version 12 is
    newer than version 9") and ask "has it changed since I printed it?". It is the same
    on every desk once they have synced, since it counts the shared journal.

    Raises:
        NotFoundError: the person is not in this store.
    """
    patient = load_patient(session, patient_id)
    words = _Describer(session)
    row_ids = [
        row_id
        for row_id in _record_rows(session, patient, case_id, words)
        if row_id not in words.print_details and row_id not in words.survey_answers
    ]
    transactions: set[int] = set()
    for chunk in _chunks(row_ids):
        transactions.update(
            session.scalars(
                select(JournalChange.tx)
                .where(JournalChange.row_id.in_([row_id.hex for row_id in chunk]))
                .distinct()
            )
        )
    return str(len(transactions))


@requires(Permission.READ_CLINICAL)
def record_history(
    session: Session,
    patient_id: uuid.UUID,
    case_id: uuid.UUID | None,
    *,
    limit: int | None = None,
) -> list[HistoryEntry]:
    """Every journalled change to the person, their case(s) and what hangs off them.

    Args:
        case_id: limit case-level history to this case; ``None`` covers all the
            person's cases. Changes to the person (banner, alerts, consent,
            conditions, outcome events, survey answers) are always included.
        limit: at most this many entries (the newest).

    Returns:
        Newest first.

    Raises:
        NotFoundError: the person is not in this store.
    """
    patient: Patient = load_patient(session, patient_id)
    words = _Describer(session)
    row_ids = _record_rows(session, patient, case_id, words)
    # Need-to-know: a restricted item's history says that it changed, never what it says.
    restricted: set[uuid.UUID] = set()
    if not may_read_sensitive(session, patient_id):
        restricted = restricted_ids(session, patient_id)
        for row_id in restricted:
            words.records[row_id] = RESTRICTED_KIND + " item"

    changes: list[tuple[JournalChange, JournalTransaction]] = []
    for chunk in _chunks(row_ids):
        changes.extend(
            (change, tx)
            for change, tx in session.execute(
                select(JournalChange, JournalTransaction)
                .join(JournalTransaction, JournalTransaction.tx == JournalChange.tx)
                .where(
                    JournalChange.row_id.in_([row_id.hex for row_id in chunk]),
                    JournalChange.field.not_in(_HIDDEN_FIELDS),
                )
            )
        )
    changes.sort(key=lambda pair: (pair[1].recorded_at, pair[0].origin_seq), reverse=True)
    words.load_staff_named_in(changes)

    meta: dict[str, str] = {
        str(key): str(value)
        for key, value in session.execute(
            text("SELECT key, value FROM store_meta WHERE key IN ('replica_id', 'sync_hub_id')")
        )
    }
    here = uuid.UUID(meta["replica_id"]) if "replica_id" in meta else None
    hub = uuid.UUID(meta["sync_hub_id"]) if "sync_hub_id" in meta else None

    def desk_words(replica: uuid.UUID) -> str:
        if replica == here:
            return "This desk"
        if replica == hub:
            return "Team hub"
        return f"Another desk ({replica.hex[:8]})"

    entries: list[HistoryEntry] = []
    for change, tx in changes:
        row_id = uuid.UUID(change.row_id)
        added = change.old_value is None
        field_words = _FIELD_WORDS.get(change.field) or label(change.field)
        new_text = words.value_words(change.entity, change.field, change.new_value)
        if change.entity == PrintRecord.__tablename__:
            if change.field not in _PRINT_FIELDS:
                continue  # told once, in the entry of the print itself
            if change.field == "kind":
                field_words, new_text = "Printed", words.print_details.get(row_id, "")
        if added and (not new_text or change.field in _IMPLIED_ON_ADD):
            continue  # an empty field of a new record, or its owner, says nothing new
        if added and change.new_value in ("0", "false"):
            column = Base.metadata.tables[change.entity].c.get(change.field)
            if column is not None and isinstance(column.type, Boolean):
                continue
        who = words.staff.get(tx.actor_id) or tx.actor_label
        hidden = row_id in restricted and change.field in CONTENT_FIELDS.get(change.entity, ())
        entries.append(
            HistoryEntry(
                at=tx.recorded_at,
                when_text=audit_time(tx.recorded_at),
                who=who or "Not recorded",
                record=words.records.get(row_id, _RECORD_WORDS.get(change.entity, change.entity)),
                field=field_words,
                old_text=(
                    RESTRICTED_TEXT
                    if hidden and change.old_value is not None
                    else words.value_words(change.entity, change.field, change.old_value)
                ),
                new_text=RESTRICTED_TEXT if hidden else new_text,
                entity=change.entity,
                row_id=row_id,
                added=added,
                desk_text=desk_words(tx.replica_id),
            )
        )
        if limit is not None and len(entries) >= limit:
            break
    return entries
