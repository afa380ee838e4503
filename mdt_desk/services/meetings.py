"""MDT meetings: scheduling, invitations and attendance, and the agenda.

A meeting belongs to its host practice and may cover further practices of the same
locality (a locality MDT). A recurring pattern ("every second Tuesday") is turned into
ordinary meetings at once, sharing a series id, so each can be moved or cancelled alone
and every desk sees the same list without having to expand a rule.

The agenda is a list of :class:`~mdt_desk.models.AgendaItem` rows. A proposal the chair
dismisses is kept as a dismissed item, so it is not proposed again for that meeting and
the decision is in the journal. Positions are fractional, so two desks reordering the
same agenda offline merge field by field (sync.md).

The rules that propose cases live in :mod:`mdt_desk.services.agenda_rules`; running the
meeting (capture, ending, roll-over) in :mod:`mdt_desk.services.meeting_mode`.
"""

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import (
    AgendaItem,
    Attendance,
    Case,
    Meeting,
    MeetingPractice,
    Patient,
    Practice,
    Staff,
    new_id,
)
from mdt_desk.models.enums import (
    AgendaOutcome,
    AgendaReason,
    AttendanceStatus,
    CaseStatus,
    MeetingStatus,
    Profession,
)
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import (
    cui_date,
    cui_time,
    label,
    patient_display_name,
    practice_display_name,
)
from mdt_desk.services.staff import display_staff_name
from mdt_desk.services.validation import format_nhs_number

LONDON = ZoneInfo("Europe/London")

MIN_LENGTH_MINUTES = 15
MAX_LENGTH_MINUTES = 8 * 60
MAX_OCCURRENCES = 26  # a year of fortnightly meetings
MAX_ITEM_MINUTES = 120

#: Minutes suggested for an item, by the reason it is on the agenda.
DEFAULT_MINUTES: dict[AgendaReason, int] = {
    AgendaReason.NEW_REFERRAL: 15,
    AgendaReason.ESCALATED: 15,
    AgendaReason.RECENT_ADMISSION: 10,
    AgendaReason.CARRIED_OVER: 10,
    AgendaReason.REVIEW_DUE: 10,
    AgendaReason.RISK_REVIEW: 10,
    AgendaReason.ADDED_BY_CHAIR: 10,
    AgendaReason.OVERDUE_ACTIONS: 5,
}

#: The professions a practice MDT needs in the room before it decides (warned, never
#: enforced: a meeting short of a social worker still has to run).
CORE_PROFESSIONS: tuple[tuple[str, frozenset[Profession]], ...] = (
    ("a GP", frozenset({Profession.GP})),
    (
        "a community or district nurse",
        frozenset({Profession.COMMUNITY_MATRON, Profession.DISTRICT_NURSE}),
    ),
    ("a social worker", frozenset({Profession.SOCIAL_WORKER})),
)


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    id: uuid.UUID
    title: str
    practice_id: uuid.UUID
    practice_code: str
    practice_name: str
    #: every practice the meeting covers, host first, as display names
    practice_names: tuple[str, ...]
    starts_at: dt.datetime
    starts_text: str
    duration_minutes: int
    location: str
    video_link: str
    chair_id: uuid.UUID | None
    chair_name: str
    status: MeetingStatus
    status_text: str
    series_id: uuid.UUID | None
    repeat_weeks: int | None
    item_count: int
    #: when meeting mode started it (the meeting clock runs from here, across a restart)
    started_at: dt.datetime | None = None
    #: when the chair ended it in meeting mode
    finished_at: dt.datetime | None = None

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def day(self) -> dt.date:
        """The meeting's date in Europe/London."""
        return self.starts_at.astimezone(LONDON).date()


@dataclass(frozen=True, slots=True)
class MemberAttendance:
    staff_id: uuid.UUID
    name: str
    profession: Profession
    profession_text: str
    status: AttendanceStatus
    status_text: str
    deputy_name: str


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    id: uuid.UUID
    meeting_id: uuid.UUID
    case_id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    initials: str
    nhs_number_text: str
    practice_code: str
    position: float
    reason: AgendaReason
    reason_text: str
    reason_detail: str
    minutes_allotted: int
    carried_count: int
    presenter_id: uuid.UUID | None
    summary: str
    outcome: AgendaOutcome | None
    outcome_text: str
    decisions: str
    discussed_at: dt.datetime | None
    seconds_taken: int
    #: why the meeting deferred it (meeting mode asks when the outcome is "defer")
    deferral_reason: str = ""

    @property
    def discussed(self) -> bool:
        return self.outcome is not None and self.outcome is not AgendaOutcome.DEFER

    @property
    def deferred(self) -> bool:
        return self.outcome is AgendaOutcome.DEFER

    @property
    def why_text(self) -> str:
        """Why the case is on the agenda, each reason once (see :func:`why_text`)."""
        return why_text(self.reason_text, self.reason_detail)

    @property
    def time_taken_text(self) -> str:
        """``7 min 05 s``: the time spent on the item in meeting mode."""
        return duration_text(self.seconds_taken)


@dataclass(frozen=True, slots=True)
class MeetingDetail:
    meeting: MeetingSummary
    members: tuple[MemberAttendance, ...]
    agenda: tuple[AgendaEntry, ...]

    @property
    def minutes_planned(self) -> int:
        return sum(entry.minutes_allotted for entry in self.agenda)

    @property
    def over_by_minutes(self) -> int:
        """How far the agenda runs past the meeting's length (0 when it fits)."""
        return max(0, self.minutes_planned - self.meeting.duration_minutes)


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: message})


def initials(given_name: str, family_name: str) -> str:
    """``J.S.`` — how another patient is shown on a projected screen."""
    parts = [given_name.strip()[:1], family_name.strip()[:1]]
    return "".join(f"{part.upper()}." for part in parts if part) or "—"


def person_labels(family_name: str, given_name: str, title: str, nhs_number: str) -> dict[str, str]:
    """How agenda lists name a person: full name, initials (projected), NHS number."""
    return {
        "patient_name": patient_display_name(family_name, given_name, title),
        "initials": initials(given_name, family_name),
        "nhs_number_text": format_nhs_number(nhs_number),
    }


#: What a read of a meeting that is not there (or was cancelled away) says.
MEETING_NOT_FOUND = "That meeting is not in this store."


def load_meeting(session: Session, meeting_id: uuid.UUID) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.retired_at is not None:
        raise NotFoundError(MEETING_NOT_FOUND)
    return meeting


def local_start(day: dt.date, at: dt.time) -> dt.datetime:
    """A wall-clock time in Europe/London as the UTC instant the store keeps."""
    return dt.datetime.combine(day, at, tzinfo=LONDON).astimezone(dt.UTC)


def _summaries(session: Session, meetings: Sequence[Meeting]) -> list[MeetingSummary]:
    if not meetings:
        return []
    ids = [meeting.id for meeting in meetings]
    practices = {
        practice.id: practice
        for practice in session.scalars(select(Practice).where(Practice.retired_at.is_(None)))
    }
    extra: dict[uuid.UUID, list[uuid.UUID]] = {}
    for meeting_id, practice_id in session.execute(
        select(MeetingPractice.meeting_id, MeetingPractice.practice_id).where(
            MeetingPractice.meeting_id.in_(ids), MeetingPractice.retired_at.is_(None)
        )
    ):
        extra.setdefault(meeting_id, []).append(practice_id)
    counts = dict(
        session.execute(
            select(AgendaItem.meeting_id, func.count())
            .where(
                AgendaItem.meeting_id.in_(ids),
                AgendaItem.retired_at.is_(None),
                AgendaItem.dismissed.is_(False),
            )
            .group_by(AgendaItem.meeting_id)
        ).all()
    )
    chairs = {
        staff.id: display_staff_name(staff.family_name, staff.given_name, staff.title)
        for staff in session.scalars(
            select(Staff).where(Staff.id.in_({m.chair_id for m in meetings if m.chair_id}))
        )
    }
    result = []
    for meeting in meetings:
        host = practices.get(meeting.practice_id)
        host_name = practice_display_name(host.name) if host else ""
        others = [
            practice_display_name(practices[p].name)
            for p in extra.get(meeting.id, [])
            if p in practices and p != meeting.practice_id
        ]
        result.append(
            MeetingSummary(
                id=meeting.id,
                title=meeting.title or f"{host_name} MDT",
                practice_id=meeting.practice_id,
                practice_code=host.ods_code if host else "",
                practice_name=host_name,
                practice_names=(host_name, *others),
                starts_at=meeting.starts_at,
                starts_text=cui_time(meeting.starts_at),
                duration_minutes=meeting.duration_minutes,
                location=meeting.location,
                video_link=meeting.video_link,
                chair_id=meeting.chair_id,
                chair_name=chairs.get(meeting.chair_id, "") if meeting.chair_id else "",
                status=meeting.status,
                status_text=label(meeting.status),
                series_id=meeting.series_id,
                repeat_weeks=meeting.repeat_weeks,
                item_count=counts.get(meeting.id, 0),
                started_at=meeting.started_at,
                finished_at=meeting.finished_at,
            )
        )
    return result


def get_meeting_summary(session: Session, meeting_id: uuid.UUID) -> MeetingSummary:
    return _summaries(session, [load_meeting(session, meeting_id)])[0]


def _active_staff(session: Session, staff_id: uuid.UUID) -> Staff:
    member = session.get(Staff, staff_id)
    if member is None or member.retired_at is not None:
        raise _fail("invited", "One of the invited members is not on the team.")
    return member


def _schedule_errors(
    *,
    day: dt.date | None,
    start_time: dt.time | None,
    duration_minutes: int,
    location: str,
    video_link: str,
    repeat_weeks: int | None,
    occurrences: int,
    today: dt.date,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if day is None:
        errors["day"] = "Choose the date of the meeting."
    elif day < today:
        errors["day"] = "That date has passed: choose today or a later date."
    if start_time is None:
        errors["start_time"] = "Choose the time the meeting starts."
    if not MIN_LENGTH_MINUTES <= duration_minutes <= MAX_LENGTH_MINUTES:
        errors["duration"] = (
            f"A meeting lasts between {MIN_LENGTH_MINUTES} minutes and "
            f"{MAX_LENGTH_MINUTES // 60} hours."
        )
    if not location.strip() and not video_link.strip():
        errors["location"] = "Say where the meeting is, or give its video link."
    if video_link.strip() and not video_link.strip().lower().startswith(("https://", "http://")):
        errors["video_link"] = "Give the video link as a web address starting https://"
    if repeat_weeks is not None and not 1 <= repeat_weeks <= 8:
        errors["repeat"] = "Repeat every 1 to 8 weeks."
    if not 1 <= occurrences <= MAX_OCCURRENCES:
        errors["occurrences"] = f"Schedule between 1 and {MAX_OCCURRENCES} meetings at a time."
    if occurrences > 1 and repeat_weeks is None:
        errors["repeat"] = "Say how often the meetings repeat."
    return errors


def _other_practices(
    session: Session,
    host: Practice | None,
    other_practice_ids: Iterable[uuid.UUID],
    errors: dict[str, str],
) -> list[Practice]:
    """The further practices of a locality meeting; problems go into ``errors``."""
    others: list[Practice] = []
    for other_id in dict.fromkeys(other_practice_ids):
        other = session.get(Practice, other_id)
        if other is None or other.retired_at is not None:
            errors["practices"] = "One of the other practices is not in this store."
        elif host is not None and other.commissioner_code != host.commissioner_code:
            errors["practices"] = (
                f"{practice_display_name(other.name)} is in another locality; a meeting "
                "covers practices of one locality."
            )
        elif host is None or other.id != host.id:
            others.append(other)
    return others


@requires(Permission.SCHEDULE_MEETINGS)
def schedule_meeting(
    session: Session,
    *,
    practice_id: uuid.UUID | None,
    day: dt.date | None,
    start_time: dt.time | None,
    duration_minutes: int,
    chair_id: uuid.UUID | None,
    invited_ids: Iterable[uuid.UUID] = (),
    location: str = "",
    video_link: str = "",
    title: str = "",
    other_practice_ids: Iterable[uuid.UUID] = (),
    repeat_weeks: int | None = None,
    occurrences: int = 1,
    today: dt.date | None = None,
) -> list[MeetingSummary]:
    """Schedule a meeting, or a recurring series of them.

    Args:
        day, start_time: the first meeting's date and start, Europe/London wall time.
        other_practice_ids: further practices of the host's locality the meeting covers.
        repeat_weeks: repeat every so many weeks (2 = every second week, same weekday);
            ``None`` for a single meeting.
        occurrences: how many meetings the pattern makes, the first included.

    Raises:
        ValidationError: with a message per field.
    """
    today = today or dt.datetime.now(LONDON).date()
    errors = _schedule_errors(
        day=day,
        start_time=start_time,
        duration_minutes=duration_minutes,
        location=location,
        video_link=video_link,
        repeat_weeks=repeat_weeks,
        occurrences=occurrences,
        today=today,
    )
    practice = session.get(Practice, practice_id) if practice_id else None
    if practice is None or practice.retired_at is not None:
        errors["practice"] = (
            "Choose the practice from the list: type part of its name or ODS code and pick it."
        )
    chair = session.get(Staff, chair_id) if chair_id else None
    if chair is None or chair.retired_at is not None:
        errors["chair"] = "Choose who chairs the meeting."
    others = _other_practices(session, practice, other_practice_ids, errors)
    if errors:
        raise ValidationError(" ".join(dict.fromkeys(errors.values())), errors)
    assert practice is not None and day is not None and start_time is not None
    assert chair is not None
    invited = [_active_staff(session, staff_id) for staff_id in dict.fromkeys(invited_ids)]
    if chair.id not in {member.id for member in invited}:
        invited.insert(0, chair)
    series_id = new_id() if occurrences > 1 else None
    made: list[Meeting] = []
    for number in range(occurrences):
        meeting_day = day + dt.timedelta(weeks=(repeat_weeks or 0) * number)
        meeting = Meeting(
            practice_id=practice.id,
            starts_at=local_start(meeting_day, start_time),
            duration_minutes=duration_minutes,
            location=location.strip(),
            video_link=video_link.strip(),
            chair_id=chair.id,
            status=MeetingStatus.PLANNED,
            title=title.strip(),
            series_id=series_id,
            repeat_weeks=repeat_weeks if occurrences > 1 else None,
        )
        session.add(meeting)
        session.flush()
        for other in others:
            session.add(MeetingPractice(meeting_id=meeting.id, practice_id=other.id))
        for member in invited:
            session.add(
                Attendance(
                    meeting_id=meeting.id, staff_id=member.id, status=AttendanceStatus.INVITED
                )
            )
        made.append(meeting)
    session.flush()
    return _summaries(session, made)


@requires(Permission.READ_CASELOAD)
def list_meetings(
    session: Session,
    *,
    practice_id: uuid.UUID | None = None,
    include_cancelled: bool = False,
) -> list[MeetingSummary]:
    """Meetings, soonest first; for one practice, those it hosts or is part of."""
    statement = select(Meeting).where(Meeting.retired_at.is_(None))
    if practice_id is not None:
        covered = select(MeetingPractice.meeting_id).where(
            MeetingPractice.practice_id == practice_id, MeetingPractice.retired_at.is_(None)
        )
        statement = statement.where((Meeting.practice_id == practice_id) | Meeting.id.in_(covered))
    if not include_cancelled:
        statement = statement.where(Meeting.status != MeetingStatus.CANCELLED)
    meetings = session.scalars(statement.order_by(Meeting.starts_at, Meeting.id)).all()
    return _summaries(session, meetings)


@requires(Permission.SCHEDULE_MEETINGS)
def cancel_meeting(session: Session, meeting_id: uuid.UUID) -> MeetingSummary:
    meeting = load_meeting(session, meeting_id)
    if meeting.status is not MeetingStatus.PLANNED:
        raise RuleError("Only a meeting that has not started can be cancelled.")
    meeting.status = MeetingStatus.CANCELLED
    session.flush()
    return get_meeting_summary(session, meeting.id)


def members(session: Session, meeting_id: uuid.UUID) -> list[MemberAttendance]:
    rows = session.execute(
        select(Attendance, Staff)
        .join(Staff, Staff.id == Attendance.staff_id)
        .where(Attendance.meeting_id == meeting_id, Attendance.retired_at.is_(None))
        .order_by(Staff.family_name, Staff.given_name, Staff.id)
    ).all()
    return [
        MemberAttendance(
            staff_id=staff.id,
            name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            profession=staff.profession,
            profession_text=label(staff.profession),
            status=attendance.status,
            status_text=label(attendance.status),
            deputy_name=attendance.deputy_name,
        )
        for attendance, staff in rows
    ]


@requires(Permission.SCHEDULE_MEETINGS)
def invite(session: Session, meeting_id: uuid.UUID, staff_id: uuid.UUID) -> MemberAttendance:
    meeting = load_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.FINISHED:
        raise RuleError("This meeting has finished; its attendance can no longer change.")
    member = _active_staff(session, staff_id)
    existing = session.scalars(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id,
            Attendance.staff_id == member.id,
            Attendance.retired_at.is_(None),
        )
    ).first()
    if existing is None:
        session.add(
            Attendance(meeting_id=meeting.id, staff_id=member.id, status=AttendanceStatus.INVITED)
        )
        session.flush()
    return next(m for m in members(session, meeting.id) if m.staff_id == member.id)


@requires(Permission.SCHEDULE_MEETINGS)
def set_attendance(
    session: Session,
    meeting_id: uuid.UUID,
    staff_id: uuid.UUID,
    status: AttendanceStatus,
    *,
    deputy_name: str = "",
) -> MemberAttendance:
    """Record whether an invited member is present, sent apologies or a deputy."""
    meeting = load_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.FINISHED:
        raise RuleError("This meeting has finished; its attendance can no longer change.")
    if status is AttendanceStatus.DEPUTY and not deputy_name.strip():
        raise _fail("deputy_name", "Give the name of the deputy who came instead.")
    attendance = session.scalars(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id,
            Attendance.staff_id == staff_id,
            Attendance.retired_at.is_(None),
        )
    ).first()
    if attendance is None:
        invite(session, meeting.id, staff_id)
        return set_attendance(session, meeting_id, staff_id, status, deputy_name=deputy_name)
    attendance.status = status
    attendance.deputy_name = deputy_name.strip() if status is AttendanceStatus.DEPUTY else ""
    session.flush()
    return next(m for m in members(session, meeting.id) if m.staff_id == staff_id)


def missing_core_professions(attendance: Sequence[MemberAttendance]) -> list[str]:
    """Which core professions nobody present (or deputising) brings, in words.

    A deputy is counted under the profession of the member they stand in for.
    """
    here = {
        member.profession
        for member in attendance
        if member.status in (AttendanceStatus.PRESENT, AttendanceStatus.DEPUTY)
    }
    return [words for words, professions in CORE_PROFESSIONS if not here & professions]


# -- the agenda -------------------------------------------------------------------------


def agenda_entries(session: Session, items: Sequence[AgendaItem]) -> list[AgendaEntry]:
    if not items:
        return []
    case_ids = {item.case_id for item in items}
    people = {
        case_id: (patient, practice_code)
        for case_id, patient, practice_code in session.execute(
            select(Case.id, Patient, Practice.ods_code)
            .join(Patient, Patient.id == Case.patient_id)
            .join(Practice, Practice.id == Patient.practice_id)
            .where(Case.id.in_(case_ids))
        ).all()
    }
    result = []
    for item in items:
        patient, practice_code = people[item.case_id]
        result.append(
            AgendaEntry(
                id=item.id,
                meeting_id=item.meeting_id,
                case_id=item.case_id,
                patient_id=patient.id,
                **person_labels(
                    patient.family_name, patient.given_name, patient.title, patient.nhs_number
                ),
                practice_code=practice_code,
                position=item.position,
                reason=item.reason,
                reason_text=label(item.reason),
                reason_detail=item.reason_detail,
                minutes_allotted=item.minutes_allotted,
                carried_count=item.carried_count,
                presenter_id=item.presenter_id,
                summary=item.summary,
                outcome=item.outcome,
                outcome_text=label(item.outcome) if item.outcome else "",
                decisions=item.decisions,
                discussed_at=item.discussed_at,
                seconds_taken=item.seconds_taken,
                deferral_reason=item.deferral_reason,
            )
        )
    return result


def agenda_items(session: Session, meeting_id: uuid.UUID) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(
                AgendaItem.meeting_id == meeting_id,
                AgendaItem.retired_at.is_(None),
                AgendaItem.dismissed.is_(False),
            )
            .order_by(AgendaItem.position, AgendaItem.created_at, AgendaItem.id)
        )
    )


@requires(Permission.READ_CASELOAD)
def agenda(session: Session, meeting_id: uuid.UUID) -> list[AgendaEntry]:
    """The meeting's agenda in running order."""
    load_meeting(session, meeting_id)
    return agenda_entries(session, agenda_items(session, meeting_id))


@requires(Permission.READ_CASELOAD)
def get_meeting(session: Session, meeting_id: uuid.UUID) -> MeetingDetail:
    return MeetingDetail(
        meeting=get_meeting_summary(session, meeting_id),
        members=tuple(members(session, meeting_id)),
        agenda=tuple(agenda(session, meeting_id)),
    )


def _editable_agenda(session: Session, meeting_id: uuid.UUID) -> Meeting:
    meeting = load_meeting(session, meeting_id)
    if meeting.status in (MeetingStatus.FINISHED, MeetingStatus.CANCELLED):
        raise RuleError(
            f"This meeting is {label(meeting.status).lower()}; its agenda can no longer change."
        )
    return meeting


def _item_for_case(
    session: Session, meeting_id: uuid.UUID, case_id: uuid.UUID
) -> AgendaItem | None:
    return session.scalars(
        select(AgendaItem).where(
            AgendaItem.meeting_id == meeting_id,
            AgendaItem.case_id == case_id,
            AgendaItem.retired_at.is_(None),
        )
    ).first()


def _validate_minutes(minutes: int) -> None:
    if not 1 <= minutes <= MAX_ITEM_MINUTES:
        raise _fail("minutes", f"Give an item between 1 and {MAX_ITEM_MINUTES} minutes.")


@requires(Permission.BUILD_AGENDA)
def add_to_agenda(
    session: Session,
    meeting_id: uuid.UUID,
    case_id: uuid.UUID,
    *,
    reason: AgendaReason,
    reason_detail: str = "",
    minutes: int | None = None,
    carried_count: int = 0,
) -> AgendaEntry:
    """Put a case on the agenda, at the end (a proposal accepted, or added by hand).

    A case once dismissed from this meeting's proposals can still be added: the chair
    changed their mind, and the dismissed row becomes the item.

    Raises:
        RuleError: the meeting is finished or cancelled, the case is closed, the person
            has died, or the case is already on the agenda.
    """
    meeting = _editable_agenda(session, meeting_id)
    case = session.get(Case, case_id)
    if case is None or case.retired_at is not None:
        raise NotFoundError("That case is not in this store.")
    patient = session.get(Patient, case.patient_id)
    assert patient is not None
    if patient.date_of_death is not None:
        raise RuleError("This person has died; their case is not brought to an MDT meeting.")
    if case.status is CaseStatus.CLOSED:
        raise RuleError("This case is closed; reopen it before bringing it to a meeting.")
    minutes = DEFAULT_MINUTES.get(reason, 10) if minutes is None else minutes
    _validate_minutes(minutes)
    last = session.scalar(
        select(func.max(AgendaItem.position)).where(
            AgendaItem.meeting_id == meeting.id,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
        )
    )
    position = (last or 0.0) + 1.0
    item = _item_for_case(session, meeting.id, case.id)
    if item is not None and not item.dismissed:
        raise RuleError("This case is already on the agenda.")
    if item is None:
        item = AgendaItem(meeting_id=meeting.id, case_id=case.id)
        session.add(item)
    item.dismissed = False
    item.position = position
    item.reason = reason
    item.reason_detail = reason_detail
    item.minutes_allotted = minutes
    item.carried_count = carried_count
    session.flush()
    return agenda_entries(session, [item])[0]


@requires(Permission.BUILD_AGENDA)
def dismiss_proposal(
    session: Session, meeting_id: uuid.UUID, case_id: uuid.UUID, *, reason: AgendaReason
) -> None:
    """Record that the chair does not want this case at this meeting."""
    meeting = _editable_agenda(session, meeting_id)
    item = _item_for_case(session, meeting.id, case_id)
    if item is not None and not item.dismissed:
        raise RuleError("This case is on the agenda; take it off the agenda instead.")
    if item is None:
        session.add(
            AgendaItem(meeting_id=meeting.id, case_id=case_id, reason=reason, dismissed=True)
        )
    session.flush()


@requires(Permission.BUILD_AGENDA)
def remove_from_agenda(session: Session, item_id: uuid.UUID) -> None:
    """Take an item off a planned agenda (it goes back among the dismissed)."""
    item = load_item(session, item_id)
    _editable_agenda(session, item.meeting_id)
    if item.discussed_at is not None:
        raise RuleError("This case has been discussed; its item stays on the agenda.")
    item.dismissed = True
    session.flush()


def load_item(session: Session, item_id: uuid.UUID) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None or item.retired_at is not None or item.dismissed:
        raise NotFoundError("That agenda item is not in this store.")
    return item


@requires(Permission.BUILD_AGENDA)
def move_item(session: Session, item_id: uuid.UUID, to_index: int) -> list[AgendaEntry]:
    """Move an item to ``to_index`` in the running order; returns the new agenda.

    Only the moved item's position changes (to a value between its new neighbours), so
    a reorder is one field of one row in the journal and merges with other desks' edits.
    When there is no value between them (the gap halved until float precision ran out,
    or two desks' merged edits left the neighbours at one position), the agenda is
    renumbered instead: the one case where a move writes other items' positions.
    """
    item = load_item(session, item_id)
    _editable_agenda(session, item.meeting_id)
    others = [other for other in agenda_items(session, item.meeting_id) if other.id != item.id]
    to_index = max(0, min(to_index, len(others)))
    before = others[to_index - 1].position if to_index > 0 else None
    after = others[to_index].position if to_index < len(others) else None
    if before is None and after is None:
        position = 1.0
    elif before is None:
        assert after is not None
        position = after - 1.0
    elif after is None:
        position = before + 1.0
    else:
        position = (before + after) / 2
    if (before is not None and not before < position) or (
        after is not None and not position < after
    ):
        others.insert(to_index, item)
        for number, each in enumerate(others, start=1):
            each.position = float(number)
    else:
        item.position = position
    session.flush()
    return agenda(session, item.meeting_id)


@requires(Permission.BUILD_AGENDA)
def set_item_minutes(session: Session, item_id: uuid.UUID, minutes: int) -> AgendaEntry:
    item = load_item(session, item_id)
    _editable_agenda(session, item.meeting_id)
    _validate_minutes(minutes)
    item.minutes_allotted = minutes
    session.flush()
    return agenda_entries(session, [item])[0]


def meeting_day_text(meeting: MeetingSummary) -> str:
    """``Tue 08-Dec-2026 13:00``."""
    local = meeting.starts_at.astimezone(LONDON)
    return f"{local:%a} {cui_date(local.date())} {local:%H:%M}"


# -- what the record says about a meeting and its items ---------------------------------

#: How the reasons of one agenda item are joined in its detail text.
REASON_SEPARATOR = "; "


def running_day(meeting: Meeting) -> dt.date:
    """The day a meeting is judged on: the day it was started, else its scheduled day.

    A meeting run early (started a week before its date) is held on the day it runs: the
    agenda rules, next review dates and the minutes all speak of that day.
    """
    return meeting_day(meeting.starts_at, meeting.started_at)


def meeting_day(starts_at: dt.datetime, started_at: dt.datetime | None) -> dt.date:
    """:func:`running_day` of a meeting read as columns."""
    return (started_at or starts_at).astimezone(LONDON).date()


def unique_reasons(parts: Iterable[str]) -> list[str]:
    """Each reason once, in order, ignoring case and spacing; blanks dropped.

    Only the newest "Carried n×" is kept: a case carried again keeps its history in
    the count, not in a growing list of every earlier carry.
    """
    seen: set[str] = set()
    carried = False
    result = []
    for part in parts:
        words = " ".join(part.split())
        key = words.casefold()
        if not words or key in seen:
            continue
        if key.startswith("carried "):
            if carried:
                continue
            carried = True
        seen.add(key)
        result.append(words)
    return result


def deferral_text(reason: str) -> str:
    """``Deferred: GP away`` — one line, and no ";" (it separates an item's reasons)."""
    words = " ".join(reason.replace(";", ",").split())
    return f"Deferred: {words}" if words else "Deferred, no reason given"


#: a deferral as :func:`deferral_text` writes it; its reason never holds a ";"
_DEFERRAL_WITH_REASON = re.compile(r"Deferred: [^;]*")


def why_for_circulation(why: str) -> str:
    """The "why" of an agenda that leaves the team: a deferral reason is free text
    about the person, so only the fact of the deferral goes with it, wherever in the
    text it stands (``Carried over: Deferred: GP away`` → ``Carried over: Deferred``)."""
    return _DEFERRAL_WITH_REASON.sub("Deferred", why)


def join_reasons(parts: Iterable[str]) -> str:
    """``Carried 1× (from 02-Dec-2026); Deferred: GP away`` — each reason once."""
    return REASON_SEPARATOR.join(unique_reasons(parts))


def why_text(reason_text: str, reason_detail: str) -> str:
    """Why a case is on the agenda, in words, saying each reason once.

    The detail the rules write names its reason already ("Escalated by the
    coordinator", "Added by the chair; Review due 08-Dec-2026"), so the reason's label
    is put in front only when the first part of the detail does not say it; a detail
    with a repeated part (a reason copied in twice) shows it once.
    """
    parts = unique_reasons(reason_detail.split(REASON_SEPARATOR.strip()))
    if not parts:
        return reason_text
    label_words = re.findall(r"\w+", reason_text.casefold())
    if label_words and label_words[0] not in re.findall(r"\w+", parts[0].casefold()):
        return f"{reason_text}: {REASON_SEPARATOR.join(parts)}"
    return REASON_SEPARATOR.join(parts)


def duration_text(seconds: float) -> str:
    """``45 s``, ``7 min 05 s``, ``1 h 02 min 09 s`` — a time taken, in minutes and seconds."""
    hours, rest = divmod(max(0, round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@dataclass(frozen=True, slots=True)
class HeldTimes:
    """When a meeting actually ran, in words (Europe/London)."""

    #: ``Wed 02-Dec-2026 13:04–13:41`` (the end missing while it is running)
    held_text: str
    #: ``37 min 12 s``; empty while it is running
    length_text: str
    #: ``Wed 09-Dec-2026 13:00–14:30 (90 minutes)``
    scheduled_text: str
    #: the meeting ran on another day, or at other times, than scheduled
    differs: bool


def held_times(meeting: MeetingSummary) -> HeldTimes | None:
    """When the meeting ran, against when it was scheduled; ``None`` if it never started."""
    scheduled_start = meeting.starts_at.astimezone(LONDON)
    scheduled_end = meeting.ends_at.astimezone(LONDON)
    scheduled_text = (
        f"{scheduled_start:%a} {cui_date(scheduled_start.date())} "
        f"{scheduled_start:%H:%M}–{scheduled_end:%H:%M} ({meeting.duration_minutes} minutes)"
    )
    if meeting.started_at is None:
        return None
    start = meeting.started_at.astimezone(LONDON)
    held = f"{start:%a} {cui_date(start.date())} {start:%H:%M}"
    if meeting.finished_at is None:
        return HeldTimes(
            held_text=f"{held}, still running",
            length_text="",
            scheduled_text=scheduled_text,
            differs=start.date() != scheduled_start.date()
            or f"{start:%H:%M}" != f"{scheduled_start:%H:%M}",
        )
    end = meeting.finished_at.astimezone(LONDON)
    seconds = max(0.0, (meeting.finished_at - meeting.started_at).total_seconds())
    if end.date() != start.date():
        held += f"–{end:%a} {cui_date(end.date())} {end:%H:%M}"
    else:
        held += f"–{end:%H:%M}"
    return HeldTimes(
        held_text=held,
        length_text=duration_text(seconds),
        scheduled_text=scheduled_text,
        differs=(
            start.date() != scheduled_start.date()
            or f"{start:%H:%M}" != f"{scheduled_start:%H:%M}"
            or f"{end:%H:%M}" != f"{scheduled_end:%H:%M}"
        ),
    )
