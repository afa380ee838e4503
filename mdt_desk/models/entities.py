"""The records a practice-linked MDT works with (see docs/domain in the design).

Every table here is a *synced* table: it carries :class:`SyncedRecord` columns and
every insert and update of it is journalled field by field by the triggers in
:mod:`mdt_desk.models.journal`. No business-rule uniqueness lives in the schema
(an open case per person, one coordinator per case, one patient per NHS number):
two offline desks may each make a legal edit that together break such a rule, and a
constraint would then wedge sync. The services enforce those rules on each desk and
sync turns the rare clash into a review item.
"""

import datetime as dt
import enum
import uuid
from typing import cast

from sqlalchemy import Enum, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from mdt_desk.models.base import Base, SyncedRecord
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    AlertKind,
    AttendanceStatus,
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    DischargeDestination,
    DocumentKind,
    ExperienceStatement,
    Gender,
    GoalOutcome,
    InterventionKind,
    InterventionOutcome,
    MeetingStatus,
    NotAcceptedReason,
    OutcomeEventKind,
    PracticeStatus,
    Profession,
    ReferralSource,
    RiskBand,
    SurveyMethod,
    Urgency,
)


def coded(enum_class: type[enum.Enum]) -> Enum:
    """A column type storing an enum by its value, without a database CHECK.

    No CHECK constraint, so a desk of an older version can still hold a code added
    later (sync keeps unknown values rather than rejecting a whole page).
    """
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=40,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Practice(SyncedRecord):
    """A GP surgery from the NHS ODS file. Its id is derived from the ODS code, so
    every desk that imports the same practice creates the same record."""

    __tablename__ = "practice"

    ods_code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(String(8), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[PracticeStatus] = mapped_column(coded(PracticeStatus))
    commissioner_code: Mapped[str] = mapped_column(String(5), default="", index=True)
    open_date: Mapped[dt.date | None]
    close_date: Mapped[dt.date | None]


class Locality(SyncedRecord):
    """A name for a locality (the practices sharing a commissioner code).

    The ODS file gives only the code; a team names its localities itself.
    """

    __tablename__ = "locality"

    code: Mapped[str] = mapped_column(String(5), index=True)
    name: Mapped[str] = mapped_column(String(100))


class Staff(SyncedRecord):
    """A member of the team; every change made at a desk is attributed to one."""

    __tablename__ = "staff"

    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(20), default="")
    profession: Mapped[Profession] = mapped_column(coded(Profession))
    organisation: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    #: role ids (:class:`mdt_desk.models.enums.Role`), sorted, separated by spaces
    roles: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: the argon2id hash of the PIN or passphrase ("" until one is set); never the PIN
    pin_hash: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: set by an administrator's one-time PIN: it must be changed at the next sign-in
    pin_must_change: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: a leaver's last day: from the day after, they cannot sign in on any desk
    left_on: Mapped[dt.date | None]


class StaffPracticeCover(SyncedRecord):
    """One practice a staff member covers. One row per pair so concurrent adds union."""

    __tablename__ = "staff_practice_cover"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practice.id"), index=True)


class Patient(SyncedRecord):
    """A person registered with a practice. Names are stored as entered."""

    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_practice_family_given", "practice_id", "family_name", "given_name"),
        Index("ix_patient_family_given", "family_name", "given_name"),
        # The indicators' scope (a practice's people, not retired) read from the index
        # alone: with ``id`` in it, no patient row is decrypted and read.
        Index("ix_patient_practice_retired", "practice_id", "retired_at", "id"),
    )

    nhs_number: Mapped[str] = mapped_column(String(10), index=True)
    # NOCASE so name search and sorting ignore case, and a prefix LIKE uses the index.
    family_name: Mapped[str] = mapped_column(String(100, collation="NOCASE"))
    given_name: Mapped[str] = mapped_column(String(100, collation="NOCASE"))
    title: Mapped[str] = mapped_column(String(20), default="")
    date_of_birth: Mapped[dt.date] = mapped_column(index=True)
    date_of_death: Mapped[dt.date | None]
    gender: Mapped[Gender] = mapped_column(coded(Gender), default=Gender.NOT_KNOWN)
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(String(8), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practice.id"))
    risk_band: Mapped[RiskBand | None] = mapped_column(coded(RiskBand))


class LongTermCondition(SyncedRecord):
    __tablename__ = "long_term_condition"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    diagnosed_on: Mapped[dt.date | None]


class Alert(SyncedRecord):
    """A flag every team member must see. ``sensitive`` ones are hidden when projecting
    and left off printed plans unless the person agreed to share them."""

    __tablename__ = "alert"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[AlertKind] = mapped_column(coded(AlertKind))
    detail: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(default=False)
    share_with_person: Mapped[bool] = mapped_column(default=True)


class Consent(SyncedRecord):
    """One recorded decision about sharing; the latest one is in force."""

    __tablename__ = "consent"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    decision: Mapped[ConsentDecision] = mapped_column(coded(ConsentDecision))
    recorded_on: Mapped[dt.date]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class Case(SyncedRecord):
    """One episode of coordinated care for one person."""

    __tablename__ = "care_case"
    __table_args__ = (
        Index("ix_care_case_status_next_review", "status", "next_review_on"),
        # The indicators' caseload (a person's cases, not retired, open in a period)
        # read from the index alone.
        Index("ix_care_case_patient_open", "patient_id", "retired_at", "referred_on", "closed_on"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(coded(CaseStatus), default=CaseStatus.REFERRED)
    referral_source: Mapped[ReferralSource] = mapped_column(coded(ReferralSource))
    referral_reason: Mapped[str] = mapped_column(Text)
    referral_urgency: Mapped[Urgency] = mapped_column(coded(Urgency), default=Urgency.ROUTINE)
    referred_on: Mapped[dt.date]
    accepted_on: Mapped[dt.date | None]
    closed_on: Mapped[dt.date | None]
    closure_reason: Mapped[ClosureReason | None] = mapped_column(coded(ClosureReason))
    closure_note: Mapped[str] = mapped_column(Text, default="")
    next_review_on: Mapped[dt.date | None]
    escalated: Mapped[bool] = mapped_column(default=False)
    #: why a referral closed as ``not_accepted`` was not accepted (else empty)
    not_accepted_reason: Mapped[NotAcceptedReason | None] = mapped_column(coded(NotAcceptedReason))


class CoordinatorAssignment(SyncedRecord):
    """Who coordinated a case from when to when, and why it changed hands."""

    __tablename__ = "coordinator_assignment"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    started_on: Mapped[dt.date]
    ended_on: Mapped[dt.date | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class CareTeamMember(SyncedRecord):
    """A professional (or the person's carer) involved in a case.

    ``staff_id`` is empty for someone outside the team, e.g. a family carer, who is
    then described by ``name``.
    """

    __tablename__ = "care_team_member"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"), index=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    joined_on: Mapped[dt.date]
    left_on: Mapped[dt.date | None]


class Goal(SyncedRecord):
    """ "What matters to me", in the person's own words."""

    __tablename__ = "goal"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    target_on: Mapped[dt.date | None]
    outcome: Mapped[GoalOutcome | None] = mapped_column(coded(GoalOutcome))


class Meeting(SyncedRecord):
    """A scheduled MDT meeting of one practice (its host), perhaps with others.

    A locality meeting covers further practices through :class:`MeetingPractice`.
    Meetings made from one recurring pattern share a ``series_id``; each is an ordinary
    meeting afterwards, so moving one does not move the rest.
    """

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_practice_starts", "practice_id", "starts_at"),)

    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practice.id"))
    starts_at: Mapped[dt.datetime]
    duration_minutes: Mapped[int] = mapped_column(default=90)
    location: Mapped[str] = mapped_column(String(200), default="")
    video_link: Mapped[str] = mapped_column(String(500), default="")
    chair_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[MeetingStatus] = mapped_column(
        coded(MeetingStatus), default=MeetingStatus.PLANNED
    )
    # Server defaults too: the demo writes meetings with Core inserts that leave them out.
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    series_id: Mapped[uuid.UUID | None]
    repeat_weeks: Mapped[int | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class MeetingPractice(SyncedRecord):
    """A further practice whose cases a (locality) meeting discusses."""

    __tablename__ = "meeting_practice"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practice.id"))


class MeetingAmendment(SyncedRecord):
    """A correction to a finished meeting's record; the record itself stays as it was."""

    __tablename__ = "meeting_amendment"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_item.id"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    written_at: Mapped[dt.datetime]
    body: Mapped[str] = mapped_column(Text)


class Action(SyncedRecord):
    """One thing one named owner will do by a date."""

    __tablename__ = "action"
    __table_args__ = (
        Index("ix_action_case_status", "case_id", "status"),
        Index("ix_action_owner_status_due", "owner_id", "status", "due_on"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"))
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goal.id"))
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meeting.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    due_on: Mapped[dt.date]
    status: Mapped[ActionStatus] = mapped_column(coded(ActionStatus), default=ActionStatus.OPEN)
    completed_on: Mapped[dt.date | None]
    #: need-to-know (e.g. safeguarding, risk to staff): never on the person's own copy,
    #: hidden on a shared screen until revealed
    sensitive: Mapped[bool] = mapped_column(default=False, server_default="0")


class Note(SyncedRecord):
    """An append-only entry of the case timeline; a correction is a new note that
    ``amends`` an earlier one. The store refuses any edit of a note's content."""

    __tablename__ = "note"
    __table_args__ = (Index("ix_note_case_written", "case_id", "written_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    written_at: Mapped[dt.datetime]
    body: Mapped[str] = mapped_column(Text)
    amends_note_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("note.id"))
    #: need-to-know, as for actions; the one field of a note that may change later
    sensitive: Mapped[bool] = mapped_column(default=False, server_default="0")


class Intervention(SyncedRecord):
    """Time-limited support, normally up to six weeks."""

    __tablename__ = "intervention"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"), index=True)
    kind: Mapped[InterventionKind] = mapped_column(coded(InterventionKind))
    provider: Mapped[str] = mapped_column(String(200), default="")
    started_on: Mapped[dt.date]
    planned_end_on: Mapped[dt.date]
    ended_on: Mapped[dt.date | None]
    outcome: Mapped[InterventionOutcome | None] = mapped_column(coded(InterventionOutcome))


class OutcomeEvent(SyncedRecord):
    """Something the team tries to prevent or must react to (admission, A&E, death...)."""

    __tablename__ = "outcome_event"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_case.id"), index=True)
    kind: Mapped[OutcomeEventKind] = mapped_column(coded(OutcomeEventKind))
    occurred_on: Mapped[dt.date]
    source: Mapped[str] = mapped_column(String(200), default="")
    delayed_days: Mapped[int | None]
    #: a hospital admission's discharge: the day the person left hospital, and where to
    discharged_on: Mapped[dt.date | None]
    discharge_destination: Mapped[DischargeDestination | None] = mapped_column(
        coded(DischargeDestination)
    )
    #: a residential or nursing care admission that is a permanent (long-term) placement
    permanent: Mapped[bool] = mapped_column(default=False, server_default="0")


class ExperienceResponse(SyncedRecord):
    """One answer of one person to one statement of the experience survey.

    ``agreement`` is 1 (strongly disagree) to 5 (strongly agree); ``by_proxy``: a
    relative or carer answered for the person.
    """

    __tablename__ = "experience_response"
    __table_args__ = (Index("ix_experience_response_answered", "answered_on", "statement"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_case.id"), index=True)
    statement: Mapped[ExperienceStatement] = mapped_column(coded(ExperienceStatement))
    agreement: Mapped[int]
    answered_on: Mapped[dt.date]
    collected_how: Mapped[SurveyMethod] = mapped_column(coded(SurveyMethod))
    by_proxy: Mapped[bool] = mapped_column(default=False, server_default="0")


class PracticeListSize(SyncedRecord):
    """How many people a practice had registered in one age band and sex on one date.

    From NHS Digital's "Patients Registered at a GP Practice" (5-year age bands). A
    population denominator only: never mixed with caseload counts.
    """

    __tablename__ = "practice_list_size"
    __table_args__ = (
        Index("ix_practice_list_size_practice_extract", "practice_id", "extract_date"),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practice.id"))
    extract_date: Mapped[dt.date]
    #: "0-4" … "90-94", "95+" or "90+" as the file gives it
    age_band: Mapped[str] = mapped_column(String(10))
    #: "male", "female" or "all"
    sex: Mapped[str] = mapped_column(String(10))
    patients: Mapped[int]


class Attendance(SyncedRecord):
    """One invited member of one meeting and whether they came."""

    __tablename__ = "attendance"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[AttendanceStatus] = mapped_column(
        coded(AttendanceStatus), default=AttendanceStatus.INVITED
    )
    deputy_name: Mapped[str] = mapped_column(String(200), default="")


class AgendaItem(SyncedRecord):
    """One case to discuss at one meeting, and what was decided."""

    __tablename__ = "agenda_item"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_case.id"), index=True)
    # Fractional position: concurrent reorders on two desks merge field by field.
    position: Mapped[float] = mapped_column(default=0.0)
    reason: Mapped[AgendaReason] = mapped_column(coded(AgendaReason))
    reason_detail: Mapped[str] = mapped_column(Text, default="")
    minutes_allotted: Mapped[int] = mapped_column(default=10)
    presenter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    carried_count: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[AgendaOutcome | None] = mapped_column(coded(AgendaOutcome))
    decisions: Mapped[str] = mapped_column(Text, default="")
    discussed_at: Mapped[dt.datetime | None]
    minutes_taken: Mapped[int | None]
    # A proposal the chair dismissed stays, so it is not proposed again for this meeting.
    dismissed: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Time spent on the item, summed over every visit in meeting mode.
    seconds_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    #: why the item was deferred (reaches the minutes and the next agenda)
    deferral_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class PrintRecord(SyncedRecord):
    """One document printed or saved as PDF: what, for whom, by whom, when, which version.

    Kept as a synced record (not a log line) so every print is in the journal, reaches
    the hub like any change, and shows in the person's history (reliability.md: every
    print is attributable). Whichever of the person, case, meeting and practice the
    document is about are set; the others stay empty.
    """

    __tablename__ = "print_record"

    kind: Mapped[DocumentKind] = mapped_column(coded(DocumentKind))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_case.id"), index=True)
    meeting_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    practice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practice.id"))
    printed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    printed_at: Mapped[dt.datetime]
    plan_version: Mapped[str] = mapped_column(String(40), default="")
    content_sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int]
    large_print: Mapped[bool] = mapped_column(default=False)


class AccessEvent(SyncedRecord):
    """One look at the record, or one sign-in event: who, which person, what, when, where.

    Append-only and synced, so the log of who looked reaches every desk and the hub and
    nobody can edit it after the fact. ``action`` is one of
    :class:`mdt_desk.models.enums.AccessAction`; ``reason`` is a break-glass reason or an
    export's purpose. ``staff_id`` is empty only for a sign-in attempt by a name that is
    not on the team.
    """

    __tablename__ = "access_event"
    __table_args__ = (Index("ix_access_event_patient_at", "patient_id", "at"),)

    at: Mapped[dt.datetime]
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), index=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patient.id"))
    action: Mapped[str] = mapped_column(String(40))
    desk: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")


class ReviewItem(SyncedRecord):
    """Something sync could not decide alone, for a person to review.

    Made by the team hub, in its serial order, so every desk has the same items: two
    desks changed one field at once (``same_field``, both values kept here), an
    identity field changed concurrently (``identity``), a record was changed on one
    desk while retired on another (``edit_vs_delete``), two people share an NHS
    number (``duplicate``), or a case has two current coordinators (``coordinator``).
    Resolving one is an ordinary, journalled change, so it syncs like any other.
    """

    __tablename__ = "review_item"
    __table_args__ = (Index("ix_review_item_open", "resolved_at", "kind"),)

    kind: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(40), default="")
    #: the value that stands (the winner) and the one that lost, as journal JSON
    kept_value: Mapped[str | None] = mapped_column(Text)
    other_value: Mapped[str | None] = mapped_column(Text)
    kept_by: Mapped[str] = mapped_column(String(200), default="")
    other_by: Mapped[str] = mapped_column(String(200), default="")
    kept_at: Mapped[str] = mapped_column(String(40), default="")
    other_at: Mapped[str] = mapped_column(String(40), default="")
    kept_desk: Mapped[str] = mapped_column(String(32), default="")
    other_desk: Mapped[str] = mapped_column(String(32), default="")
    #: for a duplicate: the other record with the same identity
    other_row_id: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str] = mapped_column(String(40), default="")
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


#: Synced tables in dependency order (parents first): the order of export, replay
#: and journal-trigger installation.
SYNCED_MODELS: tuple[type[SyncedRecord], ...] = (
    Practice,
    Locality,
    Staff,
    StaffPracticeCover,
    Patient,
    LongTermCondition,
    Alert,
    Consent,
    Case,
    CoordinatorAssignment,
    CareTeamMember,
    Goal,
    Meeting,
    MeetingPractice,
    Action,
    Note,
    Intervention,
    OutcomeEvent,
    Attendance,
    AgendaItem,
    MeetingAmendment,
    PrintRecord,
    ReviewItem,
    AccessEvent,
    ExperienceResponse,
    PracticeListSize,
)


class Draft(Base):
    """Text a person has typed on this desk but not yet saved (a note, a goal, a reason...).

    Local working state, not part of the record: never journalled, never synced. Kept
    in the store so that closing a tab, quitting, signing in as someone else or a crash
    never loses what was typed. ``key`` names the field (e.g. ``note:<case id>``).
    """

    __tablename__ = "draft"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    staff_id: Mapped[uuid.UUID | None]
    case_id: Mapped[uuid.UUID | None]
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]


#: Tables whose content may never change once written (only retirement is allowed).
APPEND_ONLY_TABLES: frozenset[str] = frozenset(
    {"note", "meeting_amendment", "print_record", "access_event"}
)


def synced_tables() -> list[Table]:
    """The tables of :data:`SYNCED_MODELS`, in the same order."""
    return [cast(Table, model.__table__) for model in SYNCED_MODELS]
