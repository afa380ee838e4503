"""Indicators: the measures integrated care is judged by, one function per definition.

Every figure the team shares (the command line's table, JSON and CSV, the Indicators
tab and the summary PDF) comes from the functions registered in
:data:`INDICATORS`, so there is one definition of each. Each function's docstring *is*
its definition: ``docs/indicators.md`` is generated from them
(``python scripts/indicators_doc.py``) and a test fails when it is out of date.

Rules shared by every indicator:

- **Scope.** A practice's figures are those of the people registered with it
  (``patient.practice_id``); a locality's are those of its practices (the practices
  sharing its commissioner code). Meetings belong to a practice when it hosts them or
  when a locality meeting covers it.
- **Period.** Inclusive calendar dates, ``start`` to ``end``, in Europe/London. Dates in
  the record (referral, closure, events, actions) are already London calendar dates; a
  meeting's day is the London date of its scheduled start.
- **Retired records** (``retired_at`` set: withdrawn, the sync tombstone) are left out
  everywhere: a retired person takes all their cases, events, goals and actions with
  them; a retired case takes its goals, actions and interventions.
- **The caseload in the period** is the people with a case, not retired, open at any
  time in the period (``referred_on`` ≤ end and ``closed_on`` empty or ≥ start).
  Event-based measures (admissions, A&E attendances, readmissions, delayed days) count
  the events in the period of people on the caseload in the period.
- **A case reopened** keeps one row: reopening clears its ``closed_on``, so it counts as
  open from its referral on, the months it was closed included (the record keeps no
  history of closures to tell them apart). A person referred again has a second case,
  counted on its own dates.

Result shapes (the contract of issue 12): a count has ``value`` and null numerator and
denominator; a rate per 100 (or per 1,000) has the unscaled counts and ``value`` =
numerator × 100 (or 1,000) / denominator; a share has its two counts and ``value`` as
a percentage 0–100; a median has ``value`` in days and the number of cases it is the
median of as ``denominator``. Where the denominator is 0, ``value`` is null.

Population rates (ids ending ``_per_1000_registered_65_plus``) divide by the people aged
65 and over registered with the scope's practices, from NHS Digital's list sizes. They
are shown beside the caseload rates (per 100 people on the caseload) and never combined
with them; where no list size has been imported their value is null.

Performance: each indicator is one or two aggregate queries over the scope's people
(never a query per person), so a whole panel is a few dozen small queries. The
reablement measure reads the events of the few people who had reablement after a
discharge and judges their 91st day in Python. Each query names the index it relies on.
"""

import datetime as dt
import inspect
import re
import statistics
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from mdt_desk.errors import UserError
from mdt_desk.models import (
    Action,
    AgendaItem,
    Attendance,
    Case,
    ExperienceResponse,
    Goal,
    Intervention,
    Meeting,
    MeetingPractice,
    OutcomeEvent,
    Patient,
    Practice,
    Staff,
)
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AttendanceStatus,
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    GoalOutcome,
    MeetingStatus,
    OutcomeEventKind,
    Profession,
)
from mdt_desk.services.dates import add_months
from mdt_desk.services.display import age_on
from mdt_desk.services.plans import (
    CARE_HOME_ADMISSIONS,
    CHECK_AFTER_DISCHARGE,
    REABLEMENT_AFTER_DISCHARGE_DAYS,
    REABLEMENT_KINDS,
)

LONDON = ZoneInfo("Europe/London")

T = TypeVar("T")
_SelectT = TypeVar("_SelectT")

#: An intervention "within 6 weeks" lasted at most this many days (end − start).
SIX_WEEKS_DAYS = 42

#: Who makes a meeting quorate: at least one present (or deputised for) from each group.
QUORUM_GROUPS: tuple[tuple[str, frozenset[Profession]], ...] = (
    ("a GP", frozenset({Profession.GP})),
    (
        "a community or district nurse",
        frozenset({Profession.DISTRICT_NURSE, Profession.COMMUNITY_MATRON}),
    ),
    ("a social worker", frozenset({Profession.SOCIAL_WORKER})),
)

#: Attendance that counts as "present" for the quorum.
PRESENT_STATUSES = (AttendanceStatus.PRESENT, AttendanceStatus.DEPUTY)

#: A readmission follows a discharge by fewer than this many days (0–29).
READMISSION_DAYS = 30

#: Discharge destinations that are a care home.
CARE_HOME_DESTINATIONS = (DischargeDestination.RESIDENTIAL_CARE, DischargeDestination.NURSING_CARE)

#: ASCOF 2B(1): whether the person is at home this many days after the discharge (the
#: day the coordinator's 91-day check is due).
AT_HOME_CHECK_DAYS = CHECK_AFTER_DISCHARGE.days

#: "Older people" in ASCOF and in the population rates: aged this or over.
OLDER_PEOPLE_AGE = 65

#: Survey agreement that counts as agreeing: 4 (agree) and 5 (strongly agree).
AGREE = 4


class IndicatorInputError(UserError):
    """A scope or period the indicators cannot be computed for (the message says why)."""


class IndicatorKind(StrEnum):
    """How an indicator's figure is made, and so how its result is shaped."""

    COUNT = "count"
    RATE_PER_100 = "rate_per_100"
    RATE_PER_1000 = "rate_per_1000"
    SHARE_PERCENT = "share_percent"
    MEDIAN_DAYS = "median_days"


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator's figure for one scope and period (exact: never suppressed)."""

    value: float | int | None
    numerator: int | None
    denominator: int | None

    @classmethod
    def count(cls, value: int) -> "IndicatorResult":
        return cls(value, None, None)

    @classmethod
    def rate_per_100(cls, numerator: int, denominator: int) -> "IndicatorResult":
        value = numerator * 100 / denominator if denominator else None
        return cls(value, numerator, denominator)

    @classmethod
    def rate_per_1000(cls, numerator: int, denominator: int | None) -> "IndicatorResult":
        """A population rate: ``denominator`` None when no population is known."""
        value = numerator * 1000 / denominator if denominator else None
        return cls(value, numerator, denominator)

    @classmethod
    def share_percent(cls, numerator: int, denominator: int) -> "IndicatorResult":
        # The same arithmetic as a rate per 100; a share's numerator never exceeds it.
        return cls.rate_per_100(numerator, denominator)

    @classmethod
    def median_days(cls, days: list[int]) -> "IndicatorResult":
        return cls(statistics.median(days) if days else None, None, len(days))

    def as_json(self) -> dict[str, float | int | None]:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


@dataclass(frozen=True)
class Scope:
    """A practice or a locality: the practices whose registered people are counted."""

    kind: str  # "practice" or "locality"
    code: str
    name: str
    practice_ids: tuple[uuid.UUID, ...]

    @property
    def label(self) -> str:
        what = "Practice" if self.kind == "practice" else "Locality"
        return f"{what} {self.code}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class Period:
    """Inclusive calendar dates in Europe/London."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise IndicatorInputError(
                f"The period starts ({self.start.isoformat()}) after it ends "
                f"({self.end.isoformat()}); give --from on or before --to."
            )

    @classmethod
    def last_months(cls, months: int, today: dt.date) -> "Period":
        """The ``months`` months to ``today`` inclusive: from the day after the same date
        ``months`` months earlier (or that month's last day, when it is shorter), e.g.
        the last 3 months to 6 December are 7 September to 6 December."""
        if months < 1:
            raise IndicatorInputError(f"A period of {months} months is not a period.")
        return cls(add_months(today, -months) + dt.timedelta(days=1), today)

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The instants the period starts and ends (midnight London, end exclusive):
        timestamps are stored in UTC, so a London day is compared as this range."""
        start = dt.datetime.combine(self.start, dt.time(), tzinfo=LONDON)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=LONDON)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


IndicatorFunction = Callable[[Session, Scope, Period], IndicatorResult]


@dataclass(frozen=True)
class Indicator:
    """One registered definition: its id, its title and the function that computes it."""

    id: str
    title: str
    kind: IndicatorKind
    compute: IndicatorFunction

    @property
    def function(self) -> IndicatorFunction:
        """The function that computes it (the same as ``compute``)."""
        return self.compute

    @property
    def definition(self) -> str:
        """The definition in words: the function's docstring."""
        return inspect.getdoc(self.compute) or ""


# -- Scope -------------------------------------------------------------------------------


def practice_scope(session: Session, ods_code: str) -> Scope:
    """The scope of one practice, by its ODS code (any case).

    Raises:
        IndicatorInputError: no practice (not retired) has that code.
    """
    code = ods_code.strip().upper()
    row = session.execute(
        select(Practice.id, Practice.name).where(
            Practice.ods_code == code, Practice.retired_at.is_(None)
        )
    ).first()
    if row is None:
        raise IndicatorInputError(
            f"There is no practice {code} in this store (see `mdt-desk practices list`)."
        )
    return Scope("practice", code, row.name, (row.id,))


def locality_scope(session: Session, code: str) -> Scope:
    """The scope of one locality (every practice, not retired, with its commissioner code).

    Raises:
        IndicatorInputError: no practice has that commissioner code.
    """
    from mdt_desk.services.practices import locality_names

    wanted = code.strip().upper()
    ids = session.scalars(
        select(Practice.id)
        .where(Practice.commissioner_code == wanted, Practice.retired_at.is_(None))
        .order_by(Practice.ods_code)
    ).all()
    if not ids:
        raise IndicatorInputError(
            f"No practice in this store belongs to the locality {wanted} "
            "(see `mdt-desk practices list`)."
        )
    return Scope("locality", wanted, locality_names(session).get(wanted, ""), tuple(ids))


# -- Shared building blocks ---------------------------------------------------------------


def _people_in_scope(scope: Scope) -> Select[uuid.UUID]:
    """Registered people of the scope, not retired.

    Index: ix_patient_practice_retired (practice, retired, id: the index alone).
    """
    return select(Patient.id).where(
        Patient.practice_id.in_(scope.practice_ids), Patient.retired_at.is_(None)
    )


def _cases_in_scope() -> Select[int]:
    """``count(*)`` of cases (not retired) of people in scope; callers add the scope
    and date conditions. Index: ix_patient_practice_retired, then the person's cases by
    ix_care_case_patient_open."""
    return (
        select(func.count())
        .select_from(Case)
        .join(Patient, Patient.id == Case.patient_id)
        .where(Case.retired_at.is_(None), Patient.retired_at.is_(None))
    )


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    return Patient.practice_id.in_(scope.practice_ids)


def _open_during(period: Period) -> ColumnElement[bool]:
    return and_(
        Case.referred_on <= period.end,
        or_(Case.closed_on.is_(None), Case.closed_on >= period.start),
    )


def _open_at_end(period: Period) -> ColumnElement[bool]:
    return and_(
        Case.referred_on <= period.end,
        or_(Case.closed_on.is_(None), Case.closed_on > period.end),
    )


def _caseload(scope: Scope, period: Period) -> Select[uuid.UUID]:
    """People on the caseload in the period (distinct ids), for ``IN (…)``.

    Index: ix_patient_practice_retired, then ix_care_case_patient_open (both alone).
    """
    return (
        select(Case.patient_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(
            _in_scope(scope),
            Patient.retired_at.is_(None),
            Case.retired_at.is_(None),
            _open_during(period),
        )
        .distinct()
    )


def _count(session: Session, statement: Select[int]) -> int:
    return int(session.execute(statement).scalar_one() or 0)


def _caseload_events(scope: Scope, period: Period, kind: OutcomeEventKind | None) -> Select[int]:
    """``count(*)`` of outcome events (not retired) of ``kind`` (any, if None) in the
    period, of people on the caseload in the period.

    Index: ix_outcome_event_patient_id (probed once per person of the caseload).
    """
    return (
        select(func.count())
        .select_from(OutcomeEvent)
        .where(*_caseload_event_conditions(scope, period, kind))
    )


def _caseload_event_conditions(
    scope: Scope, period: Period, kind: OutcomeEventKind | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        OutcomeEvent.patient_id.in_(_caseload(scope, period)),
        OutcomeEvent.retired_at.is_(None),
        OutcomeEvent.occurred_on.between(period.start, period.end),
    ]
    if kind is not None:
        conditions.append(OutcomeEvent.kind == kind)
    return conditions


def _people_on_caseload(session: Session, scope: Scope, period: Period) -> int:
    return _shared(
        ("people_on_caseload", scope, period),
        lambda: _count(
            session, select(func.count()).select_from(_caseload(scope, period).subquery())
        ),
    )


#: Within :func:`compute_panel`: figures several indicators use (the caseload's size, the
#: registered population, the first discussions), computed once per panel.
_PANEL_SHARED: ContextVar[dict[tuple[object, ...], Any] | None] = ContextVar(
    "indicator_panel_shared", default=None
)


def _shared(key: tuple[object, ...], compute: Callable[[], T]) -> T:
    """``compute()``, once per panel for the same ``key`` (every time outside a panel)."""
    shared = _PANEL_SHARED.get()
    if shared is None:
        return compute()
    if key not in shared:
        shared[key] = compute()
    found: T = shared[key]
    return found


def _events_per_100(
    session: Session, scope: Scope, period: Period, kind: OutcomeEventKind
) -> IndicatorResult:
    events = _count(session, _caseload_events(scope, period, kind))
    return IndicatorResult.rate_per_100(events, _people_on_caseload(session, scope, period))


def _scope_meetings(scope: Scope) -> ColumnElement[bool]:
    """Meetings hosted by a practice in scope, or (locality meetings) covering one."""
    covering = select(MeetingPractice.meeting_id).where(
        MeetingPractice.practice_id.in_(scope.practice_ids),
        MeetingPractice.retired_at.is_(None),
    )
    return or_(Meeting.practice_id.in_(scope.practice_ids), Meeting.id.in_(covering))


# -- The indicators ----------------------------------------------------------------------


def referrals(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Referrals received: cases referred in the period.

    - Count: cases (not retired) of people in scope with ``referred_on`` in the period.
    - A person referred twice (a case closed, then a new one) counts twice.
    - Mirrors: the referral counts of the Community Services Data Set (CSDS) and the
      Better Care Fund's activity returns; a volume, not an outcome.
    """
    return IndicatorResult.count(
        _count(
            session,
            _cases_in_scope().where(
                _in_scope(scope), Case.referred_on.between(period.start, period.end)
            ),
        )
    )


def open_cases_at_end(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Open cases at the period's end.

    - Count: cases (not retired) of people in scope with ``referred_on`` ≤ the period's
      end and ``closed_on`` empty or after the period's end.
    - Cases of people who have died are counted while their case is open.
    - Mirrors: the caseload size of CSDS returns (a snapshot, not an outcome).
    """
    return IndicatorResult.count(
        _count(session, _cases_in_scope().where(_in_scope(scope), _open_at_end(period)))
    )


def people_on_caseload(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """People on the caseload at any time in the period.

    - Count: distinct people in scope (not retired) with a case (not retired) open at
      any time in the period: ``referred_on`` ≤ end and ``closed_on`` empty or ≥ start.
    - A person with two cases in the period (closed and referred again) counts once.
    - It is the denominator of the rates per 100 people on the caseload.
    - Mirrors: the denominator of the NHS Outcomes Framework's emergency admission
      rates, taken over the team's caseload instead of the registered population.
    """
    return IndicatorResult.count(_people_on_caseload(session, scope, period))


def admissions(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Hospital admissions of people on the caseload.

    - Count: outcome events (not retired) of kind ``hospital_admission`` with
      ``occurred_on`` in the period, of people on the caseload in the period.
    - Recorded events only: an admission the team was not told of is not counted.
    - Mirrors: NHS Outcomes Framework 2.3.i (unplanned hospitalisation for chronic
      ambulatory care sensitive conditions) and the BCF metric "unplanned
      hospitalisation for chronic ambulatory care sensitive conditions", over the
      caseload; it does not separate planned from emergency admissions.
    """
    return IndicatorResult.count(
        _count(session, _caseload_events(scope, period, OutcomeEventKind.HOSPITAL_ADMISSION))
    )


def admissions_per_100(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Hospital admissions per 100 people on the caseload.

    - Numerator: ``admissions`` (hospital admission events in the period of people on
      the caseload in the period).
    - Denominator: ``people_on_caseload``.
    - Value: numerator × 100 / denominator; null when nobody was on the caseload.
    - Mirrors: the shape of NHS Outcomes Framework 2.3.i / the BCF avoidable admissions
      metric (a rate per population), with the caseload as the population. It is not
      comparable with the national rate per 100,000 registered people.
    """
    return _events_per_100(session, scope, period, OutcomeEventKind.HOSPITAL_ADMISSION)


def ae_attendances_per_100(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """A&E attendances per 100 people on the caseload.

    - Numerator: outcome events (not retired) of kind ``ae_attendance`` with
      ``occurred_on`` in the period, of people on the caseload in the period.
    - Denominator: ``people_on_caseload``.
    - Value: numerator × 100 / denominator; null when nobody was on the caseload.
    - Mirrors: no single national indicator; the shape of emergency department
      attendance rates (Emergency Care Data Set), over the caseload.
    """
    return _events_per_100(session, scope, period, OutcomeEventKind.AE_ATTENDANCE)


def dtoc_delayed_days(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Days of delayed transfer of care.

    - Count: the sum of ``delayed_days`` of outcome events (not retired, any kind with
      delayed days recorded; in practice ``delayed_transfer_of_care``) with
      ``occurred_on`` in the period, of people on the caseload in the period. Events
      without delayed days add nothing; 0 when there are none.
    - The days are counted in the period the event is dated in, not spread over the
      days of the delay.
    - Mirrors: the former ASCOF 2C(1) and BCF metric "delayed transfers of care from
      hospital" (delayed days; national collection paused in 2020), over the caseload
      rather than per 100,000 adults.

    Index: ix_outcome_event_patient_id.
    """
    total = session.execute(
        select(func.coalesce(func.sum(OutcomeEvent.delayed_days), 0)).where(
            OutcomeEvent.patient_id.in_(_caseload(scope, period)),
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.occurred_on.between(period.start, period.end),
        )
    ).scalar_one()
    return IndicatorResult.count(int(total or 0))


def _first_discussions(
    session: Session, scope: Scope, period: Period
) -> list[tuple[uuid.UUID, dt.date, dt.datetime | None]]:
    """See :func:`_read_first_discussions` (read once per panel)."""
    return _shared(
        ("first_discussions", scope, period),
        lambda: list(_read_first_discussions(session, scope, period)),
    )


def _read_first_discussions(
    session: Session, scope: Scope, period: Period
) -> Iterator[tuple[uuid.UUID, dt.date, dt.datetime | None]]:
    """For each case referred in the period: its id, its referral date and the scheduled
    start of the first finished meeting that discussed it (None if none has yet).

    Index: ix_patient_practice_retired, ix_care_case_patient_open, then
    ix_agenda_item_case_id for the case's agenda items.
    """
    # Correlated, so only the agenda items of the cases referred in the period are read.
    first_at_column = (
        select(func.min(Meeting.starts_at))
        .select_from(AgendaItem)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(
            AgendaItem.case_id == Case.id,
            AgendaItem.retired_at.is_(None),
            AgendaItem.dismissed.is_(False),
            AgendaItem.discussed_at.is_not(None),
            # As the agenda rules count it: a deferral is not a discussion.
            AgendaItem.outcome.is_not(None),
            AgendaItem.outcome != AgendaOutcome.DEFER,
            Meeting.retired_at.is_(None),
            Meeting.status == MeetingStatus.FINISHED,
        )
        .correlate(Case)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Case.id, Case.referred_on, first_at_column)
        .join(Patient, Patient.id == Case.patient_id)
        .where(
            _in_scope(scope),
            Patient.retired_at.is_(None),
            Case.retired_at.is_(None),
            Case.referred_on.between(period.start, period.end),
        )
    )
    for case_id, referred_on, stored in rows:
        yield case_id, referred_on, _utc_instant(stored)


def _utc_instant(stored: object) -> dt.datetime | None:
    """An aggregate's datetime as an aware UTC instant: min() hands back the stored text
    (naive UTC), because the column type does not apply to an aggregate."""
    if stored is None:
        return None
    instant = stored if isinstance(stored, dt.datetime) else dt.datetime.fromisoformat(str(stored))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


def median_days_to_first_mdt(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Median days from referral to the first MDT discussion.

    - For cases (not retired) of people in scope referred in the period: the number of
      days from ``referred_on`` to the London date of the first finished meeting (not
      retired) at which the case was discussed (an agenda item not retired, not
      dismissed, with its discussion recorded and an outcome other than "defer").
    - Value: the median of those days (a half when the number of cases is even);
      ``denominator``: how many cases it is the median of; null when there are none.
    - Cases not yet discussed (as of now, whatever the period) are left out, and
      counted in ``not_yet_discussed``.
    - Mirrors: no national measure; a local measure of timeliness (like the waiting
      times of the Community Health Services waiting list).
    """
    days = [
        (first_at.astimezone(LONDON).date() - referred_on).days
        for _case_id, referred_on, first_at in _first_discussions(session, scope, period)
        if first_at is not None
    ]
    return IndicatorResult.median_days(days)


def not_yet_discussed(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Cases referred in the period not yet discussed at an MDT.

    - Count: cases (not retired) of people in scope referred in the period that no
      finished meeting has discussed yet (as ``median_days_to_first_mdt`` defines it),
      as of now.
    - The cases ``median_days_to_first_mdt`` leaves out.
    - Mirrors: no national measure.
    """
    return IndicatorResult.count(
        sum(
            1
            for _case_id, _referred, first_at in _first_discussions(session, scope, period)
            if first_at is None
        )
    )


def reviews_overdue_at_end(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Reviews overdue at the period's end.

    - Count: cases open at the period's end (as ``open_cases_at_end``) with
      ``next_review_on`` before the period's end (a review due on the last day is not
      yet overdue).
    - Mirrors: no national measure; the team's own standard of review.
    """
    return IndicatorResult.count(
        _count(
            session,
            _cases_in_scope().where(
                _in_scope(scope),
                _open_at_end(period),
                Case.next_review_on < period.end,
            ),
        )
    )


def actions_done_on_time(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Actions done on time.

    - Numerator: of the denominator, those with ``completed_on`` ≤ ``due_on``.
    - Denominator: actions (not retired, of cases not retired, of people in scope) done
      (status ``done``) with ``completed_on`` in the period. Cancelled actions and
      actions still open are left out.
    - Value: a percentage, 0–100; null when none was completed.
    - Mirrors: no national measure; the team's own standard of follow-through.

    Index: ix_action_case_status via the join on the case.
    """
    done, on_time = session.execute(
        select(func.count(), func.coalesce(func.sum(_ACTION_ON_TIME), 0))
        .select_from(Action)
        .join(Case, Case.id == Action.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(*_actions_done_in(scope, period))
    ).one()
    return IndicatorResult.share_percent(int(on_time), int(done))


_ACTION_ON_TIME = case((Action.completed_on <= Action.due_on, 1), else_=0)


def _actions_done_in(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    """The denominator of ``actions_done_on_time`` (joined to the case and the person)."""
    return [
        _in_scope(scope),
        Patient.retired_at.is_(None),
        Case.retired_at.is_(None),
        Action.retired_at.is_(None),
        Action.status == ActionStatus.DONE,
        Action.completed_on.between(period.start, period.end),
    ]


def interventions_within_6_weeks(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Short-term interventions that ended within six weeks.

    - Numerator: of the denominator, those that lasted at most 42 days
      (``ended_on`` − ``started_on`` ≤ 42).
    - Denominator: interventions (not retired, of cases not retired, of people in
      scope) with ``ended_on`` in the period.
    - Value: a percentage, 0–100; null when none ended.
    - Mirrors: the six weeks for which intermediate care and reablement are provided
      free under the Care Act 2014's charging regulations; no national indicator.

    Index: ix_intervention_case_id via the join on the case.
    """
    ended, within = session.execute(
        select(func.count(), func.coalesce(func.sum(_WITHIN_SIX_WEEKS), 0))
        .select_from(Intervention)
        .join(Case, Case.id == Intervention.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(*_interventions_ended_in(scope, period))
    ).one()
    return IndicatorResult.share_percent(int(within), int(ended))


_WITHIN_SIX_WEEKS = case(
    (
        func.julianday(Intervention.ended_on) - func.julianday(Intervention.started_on)
        <= SIX_WEEKS_DAYS,
        1,
    ),
    else_=0,
)


def _interventions_ended_in(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    """The denominator of ``interventions_within_6_weeks`` (joined to case and person)."""
    return [
        _in_scope(scope),
        Patient.retired_at.is_(None),
        Case.retired_at.is_(None),
        Intervention.retired_at.is_(None),
        Intervention.ended_on.between(period.start, period.end),
    ]


def goals_met_at_closure(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Goals met at closure.

    - Numerator: of the denominator, goals whose outcome is ``achieved`` or
      ``partly_achieved``.
    - Denominator: goals (not retired) of cases (not retired, of people in scope) with
      ``closed_on`` in the period, whatever their outcome (none recorded, not achieved
      and no longer relevant included). A case reopened since has no ``closed_on``, so
      its goals are not counted.
    - Value: a percentage, 0–100; null when no closed case had goals.
    - Mirrors: goal attainment in the spirit of the Community Services Data Set's
      care plan outcomes; no national measure of the same shape.

    Index: ix_goal_case_id via the join on the case.
    """
    goals, met_count = session.execute(
        select(func.count(), func.coalesce(func.sum(_GOAL_MET), 0))
        .select_from(Goal)
        .join(Case, Case.id == Goal.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(*_goals_closed_in(scope, period))
    ).one()
    return IndicatorResult.share_percent(int(met_count), int(goals))


_GOAL_MET = case(
    (Goal.outcome.in_((GoalOutcome.ACHIEVED, GoalOutcome.PARTLY_ACHIEVED)), 1), else_=0
)


def _goals_closed_in(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    """The denominator of ``goals_met_at_closure`` (joined to the case and the person)."""
    return [
        _in_scope(scope),
        Patient.retired_at.is_(None),
        Case.retired_at.is_(None),
        Goal.retired_at.is_(None),
        Case.closed_on.between(period.start, period.end),
    ]


def meetings_quorate(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Meetings that were quorate.

    - Denominator: finished meetings (status ``finished``, not retired) whose
      scheduled start falls in the period (London dates), hosted by a practice in
      scope or (a locality meeting) covering one.
    - Numerator: of those, meetings at which a GP (profession ``gp``), a community or
      district nurse (``community_matron`` or ``district_nurse``) and a social worker
      (``social_worker``) were each present. An attendance counts when its status is
      ``present`` or ``deputy`` (a deputy came in that member's place, for the same
      discipline); ``invited`` and ``apologies`` do not. Retired attendances do not
      count; staff who have since left still count for meetings they attended.
    - Value: a percentage, 0–100; null when no meeting finished.
    - Mirrors: no national measure; the health and social care core of a
      neighbourhood MDT.

    Index: ix_meeting_practice_starts (practice, then start), and
    ix_attendance_meeting_id for each meeting's attendance.
    """
    per_meeting = _quorum_per_meeting(scope, period)
    all_groups = and_(
        *(per_meeting.c[f"group_{index}"] == 1 for index in range(len(QUORUM_GROUPS)))
    )
    finished, quorate = session.execute(
        select(func.count(), func.coalesce(func.sum(case((all_groups, 1), else_=0)), 0))
    ).one()
    return IndicatorResult.share_percent(int(quorate), int(finished))


def _quorum_per_meeting(scope: Scope, period: Period) -> Any:
    """Finished meetings of the scope in the period, with ``group_N`` 1 when someone
    of quorum group N was present (a subquery)."""
    starts, ends = period.utc_bounds()
    present = and_(
        Attendance.retired_at.is_(None),
        Attendance.status.in_(PRESENT_STATUSES),
    )
    groups = [
        func.max(case((and_(present, Staff.profession.in_(tuple(professions))), 1), else_=0))
        for _label, professions in QUORUM_GROUPS
    ]
    per_meeting = (
        select(Meeting.id, *(group.label(f"group_{index}") for index, group in enumerate(groups)))
        .select_from(Meeting)
        .outerjoin(Attendance, Attendance.meeting_id == Meeting.id)
        .outerjoin(Staff, Staff.id == Attendance.staff_id)
        .where(
            _scope_meetings(scope),
            Meeting.retired_at.is_(None),
            Meeting.status == MeetingStatus.FINISHED,
            Meeting.starts_at >= starts,
            Meeting.starts_at < ends,
        )
        .group_by(Meeting.id)
        .subquery()
    )
    return per_meeting


def not_accepted(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Referrals not accepted.

    - Count: cases (not retired) of people in scope closed with the reason
      ``not_accepted`` and ``closed_on`` in the period (the day the decision was
      recorded), whenever they were referred. Why (``not_accepted_reason``) is not
      broken down here.
    - Such cases are still counted by ``referrals``, ``open_cases_at_end`` and
      ``people_on_caseload`` while they were open, as those definitions say.
    - Mirrors: no national measure; how many referrals were inappropriate, for the
      team's conversations with its referrers.
    """
    return IndicatorResult.count(
        _count(session, _cases_in_scope().where(_in_scope(scope), _not_accepted_in(period)))
    )


def _not_accepted_in(period: Period) -> ColumnElement[bool]:
    return and_(
        Case.closure_reason == ClosureReason.NOT_ACCEPTED,
        Case.closed_on.between(period.start, period.end),
    )


# -- Readmissions ---------------------------------------------------------------------------


def _readmission_rows(
    session: Session, scope: Scope, period: Period
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(event id, person id)`` of each readmission counted by ``readmissions_30d``."""
    return [
        (event_id, person) for event_id, person, _on in _dated_readmissions(session, scope, period)
    ]


def _dated_readmissions(
    session: Session, scope: Scope, period: Period
) -> list[tuple[uuid.UUID, uuid.UUID, dt.date]]:
    """``(event id, person id, date)`` of each readmission counted by ``readmissions_30d``.

    Index: ix_outcome_event_patient_id (the caseload's events, then each person's
    earlier admissions).
    """
    earlier = aliased(OutcomeEvent)
    follows_a_discharge = (
        select(earlier.id)
        .where(
            earlier.patient_id == OutcomeEvent.patient_id,
            earlier.id != OutcomeEvent.id,
            earlier.kind == OutcomeEventKind.HOSPITAL_ADMISSION,
            earlier.retired_at.is_(None),
            earlier.discharged_on.is_not(None),
            earlier.discharged_on <= OutcomeEvent.occurred_on,
            func.julianday(OutcomeEvent.occurred_on) - func.julianday(earlier.discharged_on)
            <= READMISSION_DAYS - 1,
        )
        .exists()
    )
    any_discharge = (
        select(earlier.id)
        .where(
            earlier.patient_id == OutcomeEvent.patient_id,
            earlier.kind == OutcomeEventKind.HOSPITAL_ADMISSION,
            earlier.retired_at.is_(None),
            earlier.discharged_on.is_not(None),
        )
        .exists()
    )
    from_discharges = and_(
        OutcomeEvent.kind == OutcomeEventKind.HOSPITAL_ADMISSION, follows_a_discharge
    )
    recorded_as_such = and_(
        OutcomeEvent.kind == OutcomeEventKind.READMISSION_30_DAYS, ~any_discharge
    )
    rows = session.execute(
        select(OutcomeEvent.id, OutcomeEvent.patient_id, OutcomeEvent.occurred_on)
        .where(
            OutcomeEvent.patient_id.in_(_caseload(scope, period)),
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.occurred_on.between(period.start, period.end),
            or_(from_discharges, recorded_as_such),
        )
        .order_by(OutcomeEvent.id)
    )
    return [(event_id, person_id, on) for event_id, person_id, on in rows]


def readmissions_30d(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Readmissions within 30 days of a discharge.

    - Count: hospital admissions (outcome events of kind ``hospital_admission``, not
      retired) with ``occurred_on`` in the period, of people on the caseload in the
      period, that follow a discharge of the same person (``discharged_on`` of another
      admission, not retired) by 0 to 29 days: readmitted on the day of discharge
      counts, 30 days after does not. The earlier admission may be before the period
      or before the person was on the caseload.
    - For a person with no discharge date recorded on any of their admissions (records
      from before discharge dates were kept), their outcome events of kind
      ``readmission_30_days`` in the period count instead. A person with a discharge
      date recorded is counted from discharge dates only, so no readmission is counted
      twice.
    - Planned and emergency admissions are not told apart.
    - Mirrors: NHS Outcomes Framework 3b (emergency readmissions within 30 days of
      discharge from hospital), as a count over the caseload, not a percentage of
      discharges.
    """
    return IndicatorResult.count(len(_readmission_rows(session, scope, period)))


# -- Care homes -----------------------------------------------------------------------------


def _first_permanent_admissions(
    session: Session, scope: Scope, period: Period, *, aged_65_plus: bool = False
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(event id, person id)`` of each person's first permanent care home admission
    (residential or nursing, any time), when it falls in the period and the person was on
    the caseload in the period; with ``aged_65_plus`` only those aged 65 or more that day."""
    rows = _dated_first_permanent_admissions(session, scope, period, aged_65_plus=aged_65_plus)
    return [(event_id, person) for event_id, person, _on in rows]


def _dated_first_permanent_admissions(
    session: Session, scope: Scope, period: Period, *, aged_65_plus: bool = False
) -> list[tuple[uuid.UUID, uuid.UUID, dt.date]]:
    """As :func:`_first_permanent_admissions`, with each admission's date.

    Index: ix_outcome_event_patient_id.
    """
    care_home = OutcomeEvent.kind.in_(CARE_HOME_ADMISSIONS)
    ranked = (
        select(
            OutcomeEvent.id.label("event_id"),
            OutcomeEvent.patient_id.label("patient_id"),
            OutcomeEvent.occurred_on.label("occurred_on"),
            func.row_number()
            .over(
                partition_by=OutcomeEvent.patient_id,
                order_by=(OutcomeEvent.occurred_on, OutcomeEvent.id),
            )
            .label("nth"),
        )
        .where(
            OutcomeEvent.patient_id.in_(_caseload(scope, period)),
            OutcomeEvent.retired_at.is_(None),
            care_home,
            OutcomeEvent.permanent.is_(True),
        )
        .subquery()
    )
    statement = select(ranked.c.event_id, ranked.c.patient_id, ranked.c.occurred_on).where(
        ranked.c.nth == 1, ranked.c.occurred_on.between(period.start, period.end)
    )
    if aged_65_plus:
        statement = statement.join(Patient, Patient.id == ranked.c.patient_id).where(
            _age_on(Patient.date_of_birth, ranked.c.occurred_on) >= OLDER_PEOPLE_AGE
        )
    rows = session.execute(statement.order_by(ranked.c.event_id))
    return [(event_id, person_id, on) for event_id, person_id, on in rows]


def care_home_admissions_permanent(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Permanent admissions to residential and nursing care homes.

    - Count: people on the caseload in the period whose first permanent admission to a
      care home (an outcome event, not retired, of kind ``residential_care_admission``
      or ``nursing_care_admission`` with ``permanent`` set) is dated in the period.
      "First" is over all of the person's recorded events, before the period too.
    - Each person counts at most once. A later permanent admission (a move from
      residential to nursing care, or between homes) is a transfer and is not counted,
      in this period or any other. Temporary stays (respite, a short placement after
      hospital) are not counted.
    - All ages; see ``care_home_admissions_permanent_per_1000_registered_65_plus`` for
      the population rate of people aged 65 and over.
    - Mirrors: ASCOF 2C, 65 and over, and 2B, 18 to 64 (numbered 2A(2) and 2A(1) before
      2023-24): long-term support needs met by admission to residential and nursing care
      homes, transfers between the two excluded, per 100,000 population. As in NHS
      England's client-level method, an admission counts when the person has no earlier
      one on record. Here a count over the caseload, all ages, of every recorded
      admission (ASCOF counts council-supported people only).
    """
    return IndicatorResult.count(len(_first_permanent_admissions(session, scope, period)))


# -- Reablement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReablementEpisode:
    """A person 65+ who started reablement or rehabilitation after a hospital discharge."""

    patient_id: uuid.UUID
    case_id: uuid.UUID
    discharged_on: dt.date
    check_on: dt.date
    at_home: bool


def _reablement_episodes(
    session: Session, scope: Scope, period: Period, today: dt.date | None = None
) -> list[_ReablementEpisode]:
    """The people counted by ``at_home_91_days_after_reablement`` (one each).

    Index: ix_intervention_case_id via the scope's cases, ix_outcome_event_patient_id
    for their admissions and care home events.
    """
    from mdt_desk.services.actions import london_today

    last_check = min(period.end, today or london_today())
    if last_check < period.start:
        return []
    window = _reablement_window(period, last_check)
    return _judge_reablement(_reablement_starts(session, scope, window), period, last_check)


def _reablement_window(period: Period, last_check: dt.date) -> Period:
    """When a reablement start can follow a discharge whose 91st day is in the period
    (and has passed by ``last_check``)."""
    earliest_discharge = period.start - dt.timedelta(days=AT_HOME_CHECK_DAYS)
    latest_discharge = last_check - dt.timedelta(days=AT_HOME_CHECK_DAYS)
    return Period(
        earliest_discharge, latest_discharge + dt.timedelta(days=REABLEMENT_AFTER_DISCHARGE_DAYS)
    )


@dataclass(frozen=True)
class _ReablementStarts:
    """Reablement starts of the scope in a window, with what the 91st day is judged by."""

    starts: list[Any]  # (patient_id, case_id, started_on), by start
    born_died: dict[uuid.UUID, tuple[dt.date, dt.date | None]]
    events: dict[uuid.UUID, list[OutcomeEvent]]


def _reablement_starts(session: Session, scope: Scope, window: Period) -> _ReablementStarts:
    """Starts of reablement or rehabilitation in ``window``, and their people's dates
    of birth and death and outcome events."""
    starts = session.execute(
        select(Case.patient_id, Intervention.case_id, Intervention.started_on)
        .join(Case, Case.id == Intervention.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(
            _in_scope(scope),
            Patient.retired_at.is_(None),
            Case.retired_at.is_(None),
            Intervention.retired_at.is_(None),
            Intervention.kind.in_(REABLEMENT_KINDS),
            Intervention.started_on.between(window.start, window.end),
        )
        .order_by(Intervention.started_on, Intervention.id)
    ).all()
    if not starts:
        return _ReablementStarts([], {}, {})
    people = sorted({row.patient_id for row in starts})
    born_died = {
        row.id: (row.date_of_birth, row.date_of_death)
        for row in session.execute(
            select(Patient.id, Patient.date_of_birth, Patient.date_of_death).where(
                Patient.id.in_(people)
            )
        )
    }
    events: dict[uuid.UUID, list[OutcomeEvent]] = {person: [] for person in people}
    for event in session.scalars(
        select(OutcomeEvent)
        .where(OutcomeEvent.patient_id.in_(people), OutcomeEvent.retired_at.is_(None))
        .order_by(OutcomeEvent.occurred_on, OutcomeEvent.id)
    ):
        events[event.patient_id].append(event)
    return _ReablementStarts(list(starts), born_died, events)


def _judge_reablement(
    found: _ReablementStarts, period: Period, last_check: dt.date
) -> list[_ReablementEpisode]:
    """The episodes of ``found`` whose 91st day is in the period, judged."""
    window = _reablement_window(period, last_check)
    events, born_died = found.events, found.born_died
    chosen: dict[uuid.UUID, _ReablementEpisode] = {}
    for patient_id, case_id, started_on in found.starts:
        if not window.start <= started_on <= window.end:
            continue
        discharge = _discharge_before(events[patient_id], started_on)
        if discharge is None or discharge.discharged_on is None:
            continue
        discharged_on = discharge.discharged_on
        check_on = discharged_on + dt.timedelta(days=AT_HOME_CHECK_DAYS)
        born, died = born_died[patient_id]
        if not period.start <= check_on <= last_check:
            continue
        if age_on(born, discharged_on) < OLDER_PEOPLE_AGE:
            continue
        at_home = _at_home_on(events[patient_id], died, discharged_on, check_on)
        # One per person: their latest discharge whose 91st day is in the period.
        earlier = chosen.get(patient_id)
        if earlier is None or earlier.discharged_on <= discharged_on:
            chosen[patient_id] = _ReablementEpisode(
                patient_id, case_id, discharged_on, check_on, at_home
            )
    return [chosen[person] for person in sorted(chosen)]


def _discharge_before(events: list[OutcomeEvent], started_on: dt.date) -> OutcomeEvent | None:
    """The latest admission discharged from ``REABLEMENT_AFTER_DISCHARGE_DAYS`` before
    ``started_on`` up to that day itself."""
    found: OutcomeEvent | None = None
    for event in events:
        if event.kind is not OutcomeEventKind.HOSPITAL_ADMISSION or event.discharged_on is None:
            continue
        gap = (started_on - event.discharged_on).days
        if 0 <= gap <= REABLEMENT_AFTER_DISCHARGE_DAYS and (
            found is None
            or found.discharged_on is None
            or event.discharged_on > found.discharged_on
        ):
            found = event
    return found


def _at_home_on(
    events: list[OutcomeEvent], died_on: dt.date | None, discharged_on: dt.date, check_on: dt.date
) -> bool:
    """Alive, not in hospital and not in a care home on ``check_on``, as recorded."""
    if died_on is not None and died_on <= check_on:
        return False
    return not any(
        _away_on(event, discharged_on, check_on)
        for event in events
        if event.occurred_on <= check_on
    )


def _away_on(event: OutcomeEvent, discharged_on: dt.date, check_on: dt.date) -> bool:
    """Whether ``event`` (dated on or before ``check_on``) means the person had died,
    or was in hospital or a care home, on ``check_on``."""
    if event.kind is OutcomeEventKind.DEATH:
        return True
    if event.kind in CARE_HOME_ADMISSIONS:
        return event.permanent or event.occurred_on >= discharged_on
    if event.kind is not OutcomeEventKind.HOSPITAL_ADMISSION:
        return False
    left = event.discharged_on
    if left is None or left > check_on:
        # admitted again after the discharge and not (yet) discharged on the day; an
        # admission before it without a discharge date is an old record, not a stay
        return event.occurred_on >= discharged_on
    died = event.discharge_destination is DischargeDestination.DIED
    to_care_home = discharged_on <= left and event.discharge_destination in CARE_HOME_DESTINATIONS
    return died or to_care_home


def at_home_91_days_after_reablement(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Older people still at home 91 days after discharge into reablement.

    - Denominator: people registered in scope (not retired), aged 65 or over on the
      day they left hospital, who started reablement or rehabilitation (an
      intervention, not retired, of kind ``reablement`` or ``rehabilitation``, of a case
      not retired) on the day of a hospital discharge or up to 14 days after it (the
      ``discharged_on`` of a ``hospital_admission`` event, not retired; the latest such
      discharge), and whose 91st day after that discharge falls in the period and has
      passed (it is today or earlier). A person counts once: their latest such
      discharge.
    - Numerator: of those, people who on the 91st day were, as recorded, alive (no date
      of death and no ``death`` event on or before it, not discharged as ``died``), not
      in hospital (no admission from the discharge day on that was not discharged by
      the 91st day) and not in a care home (no residential or nursing care admission
      from the discharge day to the 91st day, no permanent one before it, no admission
      discharged to residential or nursing care in those days).
    - ASCOF does not count a brief respite stay from which the person is expected home;
      the record gives a temporary stay no end date, so here any care home stay in the
      91 days counts as not at home (the figure errs low, never high).
    - Value: a percentage, 0–100; null when nobody's 91st day is in the period.
    - Mirrors: ASCOF 2B(1) and NHS Outcomes Framework 3.6.i (proportion of older
      people, 65 and over, still at home 91 days after discharge from hospital into
      reablement or rehabilitation services). ASCOF takes people discharged in October
      to December; here the people are chosen by their 91st day, so every period (a
      month too) has a figure.
    """
    episodes = _reablement_episodes(session, scope, period)
    return IndicatorResult.share_percent(
        sum(1 for episode in episodes if episode.at_home), len(episodes)
    )


# -- Experience survey ----------------------------------------------------------------------


def _experience_rows(
    session: Session, scope: Scope, period: Period, statement: ExperienceStatement
) -> list[tuple[uuid.UUID, uuid.UUID | None, int]]:
    """``(person id, case id, agreement)`` of each answer counted.

    Index: ix_experience_response_answered (date, then statement).
    """
    rows = session.execute(
        _experience_answers(
            select(
                ExperienceResponse.patient_id,
                ExperienceResponse.case_id,
                ExperienceResponse.agreement,
            ),
            scope,
            period,
            (statement,),
        ).order_by(ExperienceResponse.id)
    )
    return [(person, case_id, agreement) for person, case_id, agreement in rows]


def _experience_answers(
    columns: _SelectT,
    scope: Scope,
    period: Period,
    statements: tuple[ExperienceStatement, ...],
) -> _SelectT:
    """``columns`` (a select) of the answers counted for any of ``statements`` in the
    period."""
    statement: Any = columns
    # One answer per person, statement and day: two desks that recorded the same answer
    # while apart both keep theirs after sync, and only the first recorded counts (the
    # one a desk corrects when it is recorded again; ids are time-ordered).
    earlier = aliased(ExperienceResponse)
    counted_before = (
        select(earlier.id)
        .where(
            earlier.patient_id == ExperienceResponse.patient_id,
            earlier.statement == ExperienceResponse.statement,
            earlier.answered_on == ExperienceResponse.answered_on,
            earlier.retired_at.is_(None),
            earlier.agreement.between(1, 5),
            earlier.id < ExperienceResponse.id,
        )
        .exists()
    )
    answers: _SelectT = (
        statement.select_from(ExperienceResponse)
        .join(Patient, Patient.id == ExperienceResponse.patient_id)
        .outerjoin(Case, Case.id == ExperienceResponse.case_id)
        .where(
            _in_scope(scope),
            Patient.retired_at.is_(None),
            ExperienceResponse.retired_at.is_(None),
            or_(ExperienceResponse.case_id.is_(None), Case.retired_at.is_(None)),
            ExperienceResponse.statement.in_(statements),
            ExperienceResponse.answered_on.between(period.start, period.end),
            ExperienceResponse.agreement.between(1, 5),
            ~counted_before,
        )
    )
    return answers


def _experience_share(
    session: Session, scope: Scope, period: Period, statement: ExperienceStatement
) -> IndicatorResult:
    rows = _experience_rows(session, scope, period, statement)
    agreed = sum(1 for _person, _case, agreement in rows if agreement >= AGREE)
    return IndicatorResult.share_percent(agreed, len(rows))


def experience_communicated_with_me(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Experience: "they communicated with me and my family".

    - Denominator (n): answers (not retired) to the statement
      ``communicated_with_me`` with ``answered_on`` in the period, by people in scope
      (not retired), or for them by proxy (a relative or carer); answers linked to a
      retired case are left out. Every answer counts, "neither agree nor disagree"
      included; a person who answered twice in the period counts twice, but two answers
      of one person to the statement on one day (recorded on two desks while apart)
      count once: the first recorded.
    - Numerator: of those, answers "agree" (4) or "strongly agree" (5).
    - Value: a percentage, 0–100; null when nobody answered.
    - Mirrors: Norfolk's integrated care experience survey (79 % agreed they did not
      have to repeat their story); no national measure. National Voices' "I statements"
      are the source of the wording.
    """
    return _experience_share(session, scope, period, ExperienceStatement.COMMUNICATED_WITH_ME)


def experience_communicated_with_each_other(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Experience: "the professionals communicated with each other".

    - As ``experience_communicated_with_me``, for the statement
      ``communicated_with_each_other``: the share of answers in the period that agree
      or strongly agree (4 or 5) of all answers (1 to 5), with n as the denominator.
    - Mirrors: Norfolk's integrated care experience survey; no national measure.
    """
    return _experience_share(
        session, scope, period, ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER
    )


def experience_well_coordinated(session: Session, scope: Scope, period: Period) -> IndicatorResult:
    """Experience: "my care was well co-ordinated".

    - As ``experience_communicated_with_me``, for the statement ``well_coordinated``:
      the share of answers in the period that agree or strongly agree (4 or 5) of all
      answers (1 to 5), with n as the denominator.
    - Mirrors: Norfolk's integrated care experience survey; no national measure.
    """
    return _experience_share(session, scope, period, ExperienceStatement.WELL_COORDINATED)


def experience_right_professionals(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Experience: "I saw the right professionals".

    - As ``experience_communicated_with_me``, for the statement ``right_professionals``:
      the share of answers in the period that agree or strongly agree (4 or 5) of all
      answers (1 to 5), with n as the denominator.
    - Mirrors: Norfolk's integrated care experience survey; no national measure.
    """
    return _experience_share(session, scope, period, ExperienceStatement.RIGHT_PROFESSIONALS)


def experience_did_not_repeat_story(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Experience: "I did not have to repeat my story".

    - As ``experience_communicated_with_me``, for the statement
      ``did_not_repeat_story``: the share of answers in the period that agree or
      strongly agree (4 or 5) of all answers (1 to 5), with n as the denominator.
    - Mirrors: Norfolk's integrated care experience survey (79 % agreed); no national
      measure.
    """
    return _experience_share(session, scope, period, ExperienceStatement.DID_NOT_REPEAT_STORY)


# -- Population rates (per 1,000 registered people aged 65+) --------------------------------


def _age_on(born: Any, on: Any) -> ColumnElement[int]:
    """Whole years of age on a day, in SQL (as :func:`~mdt_desk.services.display.age_on`:
    a birthday not yet reached this year takes a year off)."""
    years = func.cast(func.strftime("%Y", on), Integer) - func.cast(
        func.strftime("%Y", born), Integer
    )
    not_yet = case((func.strftime("%m-%d", on) < func.strftime("%m-%d", born), 1), else_=0)
    return years - not_yet


def _events_65_plus(
    session: Session, scope: Scope, period: Period, kind: OutcomeEventKind
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(event id, person id)``: events of ``kind`` in the period of people on the
    caseload in the period, aged 65 or over on the day of the event."""
    rows = session.execute(
        select(OutcomeEvent.id, OutcomeEvent.patient_id)
        .join(Patient, Patient.id == OutcomeEvent.patient_id)
        .where(
            OutcomeEvent.patient_id.in_(_caseload(scope, period)),
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.kind == kind,
            OutcomeEvent.occurred_on.between(period.start, period.end),
            _age_on(Patient.date_of_birth, OutcomeEvent.occurred_on) >= OLDER_PEOPLE_AGE,
        )
        .order_by(OutcomeEvent.id)
    )
    return [(event_id, person_id) for event_id, person_id in rows]


def _registered_65_plus(session: Session, scope: Scope) -> int | None:
    from mdt_desk.services.list_sizes import registered_65_plus

    registered: int | None = _shared(
        ("registered_65_plus", scope),
        lambda: registered_65_plus(session, list(scope.practice_ids)),
    )
    return registered


def admissions_per_1000_registered_65_plus(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Hospital admissions per 1,000 registered people aged 65 and over.

    - Numerator: hospital admission events (not retired) in the period of people on
      the caseload in the period who were aged 65 or over on the day (a subset of
      ``admissions``).
    - Denominator: people aged 65 and over registered with the practices in scope, from
      each practice's latest imported NHS Digital list size ("Patients Registered at a
      GP Practice", 5-year age bands); null when no list size has been imported.
    - Value: numerator × 1,000 / denominator; null when the denominator is null or 0.
    - A population rate: shown beside ``admissions_per_100`` (per 100 people on the
      caseload), never combined with it. Admissions of registered people the team does
      not know are not in the numerator, so this is the caseload's share of the
      population's admissions, not the population's rate.
    - Mirrors: the shape of NHS Outcomes Framework 2.3.i and the BCF avoidable
      admissions metric (per 100,000 population), per 1,000 people 65+.
    """
    return IndicatorResult.rate_per_1000(
        len(_events_65_plus(session, scope, period, OutcomeEventKind.HOSPITAL_ADMISSION)),
        _registered_65_plus(session, scope),
    )


def ae_attendances_per_1000_registered_65_plus(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """A&E attendances per 1,000 registered people aged 65 and over.

    - Numerator: ``ae_attendance`` events (not retired) in the period of people on the
      caseload in the period who were aged 65 or over on the day.
    - Denominator: people aged 65 and over registered with the practices in scope
      (latest imported list size of each); null when none has been imported.
    - Value: numerator × 1,000 / denominator; null when the denominator is null or 0.
    - A population rate, shown beside ``ae_attendances_per_100`` and never combined
      with it; only the caseload's attendances are in the numerator.
    - Mirrors: the shape of emergency department attendance rates per population.
    """
    return IndicatorResult.rate_per_1000(
        len(_events_65_plus(session, scope, period, OutcomeEventKind.AE_ATTENDANCE)),
        _registered_65_plus(session, scope),
    )


def care_home_admissions_permanent_per_1000_registered_65_plus(
    session: Session, scope: Scope, period: Period
) -> IndicatorResult:
    """Permanent care home admissions per 1,000 registered people aged 65 and over.

    - Numerator: the people counted by ``care_home_admissions_permanent`` who were aged
      65 or over on the day of that first permanent admission.
    - Denominator: people aged 65 and over registered with the practices in scope
      (latest imported list size of each); null when none has been imported.
    - Value: numerator × 1,000 / denominator; null when the denominator is null or 0.
    - A population rate; only the caseload's admissions are in the numerator.
    - Mirrors: ASCOF 2C (2A(2) before 2023-24: long-term support needs of older adults,
      65 and over, met by admission to residential and nursing care homes, per 100,000
      population), per 1,000 and over the caseload's admissions only.
    """
    return IndicatorResult.rate_per_1000(
        len(_first_permanent_admissions(session, scope, period, aged_65_plus=True)),
        _registered_65_plus(session, scope),
    )


# -- The registry ------------------------------------------------------------------------

#: Every indicator, in the order they are shown.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("referrals", "Referrals received", IndicatorKind.COUNT, referrals),
    Indicator("open_cases_at_end", "Open cases at the end", IndicatorKind.COUNT, open_cases_at_end),
    Indicator(
        "people_on_caseload", "People on the caseload", IndicatorKind.COUNT, people_on_caseload
    ),
    Indicator("admissions", "Hospital admissions", IndicatorKind.COUNT, admissions),
    Indicator(
        "admissions_per_100",
        "Admissions per 100 people on the caseload",
        IndicatorKind.RATE_PER_100,
        admissions_per_100,
    ),
    Indicator(
        "ae_attendances_per_100",
        "A&E attendances per 100 people on the caseload",
        IndicatorKind.RATE_PER_100,
        ae_attendances_per_100,
    ),
    Indicator(
        "readmissions_30d", "Readmissions within 30 days", IndicatorKind.COUNT, readmissions_30d
    ),
    Indicator(
        "dtoc_delayed_days",
        "Days of delayed transfer of care",
        IndicatorKind.COUNT,
        dtoc_delayed_days,
    ),
    Indicator(
        "median_days_to_first_mdt",
        "Median days from referral to first MDT discussion",
        IndicatorKind.MEDIAN_DAYS,
        median_days_to_first_mdt,
    ),
    Indicator(
        "not_yet_discussed",
        "Referrals not yet discussed at an MDT",
        IndicatorKind.COUNT,
        not_yet_discussed,
    ),
    Indicator(
        "reviews_overdue_at_end",
        "Reviews overdue at the end",
        IndicatorKind.COUNT,
        reviews_overdue_at_end,
    ),
    Indicator(
        "actions_done_on_time",
        "Actions done on time",
        IndicatorKind.SHARE_PERCENT,
        actions_done_on_time,
    ),
    Indicator(
        "interventions_within_6_weeks",
        "Short-term interventions ended within 6 weeks",
        IndicatorKind.SHARE_PERCENT,
        interventions_within_6_weeks,
    ),
    Indicator(
        "goals_met_at_closure",
        "Goals met or partly met at closure",
        IndicatorKind.SHARE_PERCENT,
        goals_met_at_closure,
    ),
    Indicator(
        "meetings_quorate", "Meetings quorate", IndicatorKind.SHARE_PERCENT, meetings_quorate
    ),
    Indicator("not_accepted", "Referrals not accepted", IndicatorKind.COUNT, not_accepted),
    Indicator(
        "care_home_admissions_permanent",
        "Permanent care home admissions",
        IndicatorKind.COUNT,
        care_home_admissions_permanent,
    ),
    Indicator(
        "at_home_91_days_after_reablement",
        "At home 91 days after discharge into reablement (65+)",
        IndicatorKind.SHARE_PERCENT,
        at_home_91_days_after_reablement,
    ),
    Indicator(
        "experience_communicated_with_me",
        "“They communicated with me and my family”",
        IndicatorKind.SHARE_PERCENT,
        experience_communicated_with_me,
    ),
    Indicator(
        "experience_communicated_with_each_other",
        "“They communicated with each other”",
        IndicatorKind.SHARE_PERCENT,
        experience_communicated_with_each_other,
    ),
    Indicator(
        "experience_well_coordinated",
        "“My care was well co-ordinated”",
        IndicatorKind.SHARE_PERCENT,
        experience_well_coordinated,
    ),
    Indicator(
        "experience_right_professionals",
        "“I saw the right professionals”",
        IndicatorKind.SHARE_PERCENT,
        experience_right_professionals,
    ),
    Indicator(
        "experience_did_not_repeat_story",
        "“I did not have to repeat my story”",
        IndicatorKind.SHARE_PERCENT,
        experience_did_not_repeat_story,
    ),
    Indicator(
        "admissions_per_1000_registered_65_plus",
        "Admissions per 1,000 registered people aged 65+",
        IndicatorKind.RATE_PER_1000,
        admissions_per_1000_registered_65_plus,
    ),
    Indicator(
        "ae_attendances_per_1000_registered_65_plus",
        "A&E attendances per 1,000 registered people aged 65+",
        IndicatorKind.RATE_PER_1000,
        ae_attendances_per_1000_registered_65_plus,
    ),
    Indicator(
        "care_home_admissions_permanent_per_1000_registered_65_plus",
        "Permanent care home admissions per 1,000 registered people aged 65+",
        IndicatorKind.RATE_PER_1000,
        care_home_admissions_permanent_per_1000_registered_65_plus,
    ),
)

INDICATORS_BY_ID: dict[str, Indicator] = {indicator.id: indicator for indicator in INDICATORS}


def indicator(indicator_id: str) -> Indicator:
    """The registered indicator ``indicator_id``.

    Raises:
        IndicatorInputError: no indicator has that id.
    """
    try:
        return INDICATORS_BY_ID[indicator_id]
    except KeyError:
        raise IndicatorInputError(
            f"There is no indicator {indicator_id!r}; they are: {', '.join(INDICATORS_BY_ID)}."
        ) from None


def compute_panel(session: Session, scope: Scope, period: Period) -> dict[str, IndicatorResult]:
    """Every indicator for one scope and period, keyed by id in registry order.

    Each is its own function's answer; figures several of them use (the caseload's
    size, the registered population, the first discussions) are read once.
    """
    token = _PANEL_SHARED.set({})
    try:
        return {each.id: each.compute(session, scope, period) for each in INDICATORS}
    finally:
        _PANEL_SHARED.reset(token)


def month_periods(last_day: dt.date, months: int = 12) -> list[Period]:
    """``months`` calendar months, oldest first, the last one the month of ``last_day``
    (that month ends on ``last_day``, so a trend to today ends with the month so far)."""
    first_of_last = last_day.replace(day=1)
    periods: list[Period] = []
    for back in range(months - 1, -1, -1):
        start = add_months(first_of_last, -back)
        end = last_day if back == 0 else add_months(start, 1) - dt.timedelta(days=1)
        periods.append(Period(start, end))
    return periods


def monthly_trend(
    session: Session, scope: Scope, indicator_id: str, last_day: dt.date, months: int = 12
) -> list[tuple[Period, IndicatorResult]]:
    """One indicator month by month (for a trend chart): see :func:`month_periods`."""
    periods = month_periods(last_day, months)
    return list(zip(periods, indicator_series(session, scope, indicator_id, periods), strict=True))


# -- Many periods at once (trends, the summary PDF) ------------------------------------------
#
# A trend is every indicator month by month, and the summary PDF adds the period and the
# one before it: for a locality, hundreds of computations that each read the whole scope.
# Here each is made from rows read once over all the periods together (their span), by the
# very statements and conditions the indicator functions use; what depends on the period
# (which rows fall in it, who was on the caseload in it) is then judged in Python. Every
# condition on a period is a date in it or the caseload in it, and the caseload in a
# period is a subset of the caseload in the span, so each figure is the function's own: a
# test compares them for every indicator, period by period, on the hand-built store and a
# demo. An indicator not in _SERIES (``meetings_quorate``: a few meetings, by their own
# index) is computed by its function for each period.


def _span(periods: Sequence[Period]) -> Period:
    return Period(min(each.start for each in periods), max(each.end for each in periods))


def _in(period: Period, day: dt.date | None) -> bool:
    return day is not None and period.start <= day <= period.end


def _person_key(column: Any) -> Any:
    """A person's id as stored (text), for the sets of people judged in Python: they are
    only compared, and making a UUID of each of tens of thousands took a third of the
    time of a locality's summary."""
    return type_coerce(column, String)


def _stored_id(value: uuid.UUID) -> str:
    """An id as :func:`_person_key` reads it: SQLite has no UUID type, so SQLAlchemy's
    ``Uuid`` stores 32 hex digits."""
    return value.hex


def _scope_cases(session: Session, scope: Scope) -> list[Any]:
    """Every case (not retired) of the scope's people (not retired): its person (see
    :func:`_person_key`) and dates."""
    return _shared(
        ("scope_cases", scope),
        lambda: list(
            session.execute(
                select(
                    _person_key(Case.patient_id),
                    Case.referred_on,
                    Case.closed_on,
                    Case.next_review_on,
                    Case.closure_reason,
                )
                .join(Patient, Patient.id == Case.patient_id)
                .where(_in_scope(scope), Patient.retired_at.is_(None), Case.retired_at.is_(None))
            )
        ),
    )


@dataclass(frozen=True)
class _CaseFigures:
    """The case-based figures of one period, and the caseload in it."""

    referrals: int
    open_at_end: int
    reviews_overdue: int
    not_accepted: int
    caseload: frozenset[str]  # see _person_key


def _case_figures(session: Session, scope: Scope, period: Period) -> _CaseFigures:
    """As ``referrals``, ``open_cases_at_end``, ``reviews_overdue_at_end``,
    ``not_accepted`` and :func:`_caseload` define them, from :func:`_scope_cases`."""

    def compute() -> _CaseFigures:
        start, end = period.start, period.end
        referred = open_at_end = overdue = refused = 0
        caseload: set[str] = set()
        for person, referred_on, closed_on, next_review_on, reason in _scope_cases(session, scope):
            if reason is ClosureReason.NOT_ACCEPTED and _in(period, closed_on):
                refused += 1
            if referred_on > end:
                continue
            if referred_on >= start:
                referred += 1
            if closed_on is None:
                caseload.add(person)
                open_at_end += 1
            else:
                if closed_on >= start:
                    caseload.add(person)
                if closed_on > end:
                    open_at_end += 1
            if (
                (closed_on is None or closed_on > end)
                and next_review_on is not None
                and next_review_on < end
            ):
                overdue += 1
        return _CaseFigures(referred, open_at_end, overdue, refused, frozenset(caseload))

    return _shared(("case_figures", scope, period), compute)


def _span_events(session: Session, scope: Scope, span: Period) -> list[Any]:
    """Outcome events (not retired) in ``span`` of people on the caseload in ``span``
    (:func:`_caseload_event_conditions`): person, kind, date, delayed days, and whether
    the person was 65 or over that day (as :func:`_events_65_plus` judges it)."""
    return _shared(
        ("span_events", scope, span),
        lambda: list(
            session.execute(
                select(
                    _person_key(OutcomeEvent.patient_id).label("patient_id"),
                    OutcomeEvent.kind,
                    OutcomeEvent.occurred_on,
                    OutcomeEvent.delayed_days,
                    (
                        _age_on(Patient.date_of_birth, OutcomeEvent.occurred_on) >= OLDER_PEOPLE_AGE
                    ).label("aged_65_plus"),
                )
                .join(Patient, Patient.id == OutcomeEvent.patient_id)
                .where(*_caseload_event_conditions(scope, span, None))
            )
        ),
    )


def _events_of_period(
    session: Session, scope: Scope, periods: Sequence[Period], period: Period
) -> list[Any]:
    """The events of :func:`_span_events` in ``period``, of people on its caseload."""
    span = _span(periods)

    def compute() -> list[Any]:
        caseload = _case_figures(session, scope, period).caseload
        start, end = period.start, period.end
        return [
            row
            for row in _span_events(session, scope, span)
            if start <= row.occurred_on <= end and row.patient_id in caseload
        ]

    return _shared(("period_events", scope, span, period), compute)


def _dated_count(
    session: Session,
    scope: Scope,
    periods: Sequence[Period],
    rows: Callable[[Session, Scope, Period], list[tuple[uuid.UUID, uuid.UUID, dt.date]]],
    key: str,
) -> list[int]:
    """For each period, how many of ``rows`` over the span (each of a person on the
    caseload in the span) are dated in it and of a person on its caseload."""
    span = _span(periods)
    found = _shared((key, scope, span), lambda: rows(session, scope, span))
    counts: list[int] = []
    for period in periods:
        caseload = _case_figures(session, scope, period).caseload
        counts.append(
            sum(
                1
                for _event, person, on in found
                if _in(period, on) and _stored_id(person) in caseload
            )
        )
    return counts


def _grouped_by_day(
    session: Session,
    key: tuple[object, ...],
    periods: Sequence[Period],
    statement: Callable[[Period], Select[Any]],
) -> list[tuple[int, int]]:
    """``(denominator, numerator)`` per period from ``statement(span)``, which gives
    ``(day, rows, numerator rows)`` grouped by day."""
    span = _span(periods)
    days = _shared((*key, span), lambda: list(session.execute(statement(span))))
    return [
        (
            sum(int(rows) for day, rows, _met in days if _in(period, day)),
            sum(int(met or 0) for day, _rows, met in days if _in(period, day)),
        )
        for period in periods
    ]


def _first_discussions_over(
    session: Session, scope: Scope, periods: Sequence[Period], period: Period
) -> list[tuple[uuid.UUID, dt.date, dt.datetime | None]]:
    span = _span(periods)
    start, end = period.start, period.end
    return _shared(
        ("period_discussions", scope, span, period),
        lambda: [row for row in _first_discussions(session, scope, span) if start <= row[1] <= end],
    )


def _registered_series(
    session: Session, scope: Scope, numerators: list[int]
) -> list[IndicatorResult]:
    population = _registered_65_plus(session, scope)
    return [IndicatorResult.rate_per_1000(count, population) for count in numerators]


_Series = Callable[[Session, Scope, Sequence[Period]], list[IndicatorResult]]


def _series_by_id() -> dict[str, _Series]:
    """How each indicator is made for many periods at once (see above)."""

    def cases(figure: Callable[[_CaseFigures], int]) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            return [
                IndicatorResult.count(figure(_case_figures(session, scope, period)))
                for period in periods
            ]

        return series

    def event_count(
        kind: OutcomeEventKind, *, aged_65_plus: bool = False
    ) -> Callable[[Session, Scope, Sequence[Period]], list[int]]:
        def counts(session: Session, scope: Scope, periods: Sequence[Period]) -> list[int]:
            return [
                sum(
                    1
                    for row in _events_of_period(session, scope, periods, period)
                    if row.kind == kind and (row.aged_65_plus or not aged_65_plus)
                )
                for period in periods
            ]

        return counts

    def per_1000_65_plus(kind: OutcomeEventKind) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            counts = event_count(kind, aged_65_plus=True)(session, scope, periods)
            return _registered_series(session, scope, counts)

        return series

    def per_100(kind: OutcomeEventKind) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            return [
                IndicatorResult.rate_per_100(
                    count, len(_case_figures(session, scope, period).caseload)
                )
                for count, period in zip(
                    event_count(kind)(session, scope, periods), periods, strict=True
                )
            ]

        return series

    def admissions_series(
        session: Session, scope: Scope, periods: Sequence[Period]
    ) -> list[IndicatorResult]:
        counts = event_count(OutcomeEventKind.HOSPITAL_ADMISSION)(session, scope, periods)
        return [IndicatorResult.count(count) for count in counts]

    def delayed_days(
        session: Session, scope: Scope, periods: Sequence[Period]
    ) -> list[IndicatorResult]:
        return [
            IndicatorResult.count(
                sum(
                    row.delayed_days or 0
                    for row in _events_of_period(session, scope, periods, period)
                )
            )
            for period in periods
        ]

    def dated(
        rows: Callable[[Session, Scope, Period], list[tuple[uuid.UUID, uuid.UUID, dt.date]]],
        key: str,
        population: bool = False,
    ) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            counts = _dated_count(session, scope, periods, rows, key)
            if population:
                return _registered_series(session, scope, counts)
            return [IndicatorResult.count(count) for count in counts]

        return series

    def first_permanent_65_plus(
        session: Session, scope: Scope, period: Period
    ) -> list[tuple[uuid.UUID, uuid.UUID, dt.date]]:
        return _dated_first_permanent_admissions(session, scope, period, aged_65_plus=True)

    def median_days(
        session: Session, scope: Scope, periods: Sequence[Period]
    ) -> list[IndicatorResult]:
        return [
            IndicatorResult.median_days(
                [
                    (first_at.astimezone(LONDON).date() - referred_on).days
                    for _case, referred_on, first_at in _first_discussions_over(
                        session, scope, periods, period
                    )
                    if first_at is not None
                ]
            )
            for period in periods
        ]

    def undiscussed(
        session: Session, scope: Scope, periods: Sequence[Period]
    ) -> list[IndicatorResult]:
        return [
            IndicatorResult.count(
                sum(
                    1
                    for _case, _referred, first_at in _first_discussions_over(
                        session, scope, periods, period
                    )
                    if first_at is None
                )
            )
            for period in periods
        ]

    def shares(
        *,
        key: str,
        numerator: ColumnElement[int],
        day: Any,
        model: Any,
        joins: Callable[[Select[Any]], Select[Any]],
        conditions: Callable[[Scope, Period], list[ColumnElement[bool]]],
    ) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            def statement(span: Period) -> Select[Any]:
                return (
                    joins(select(day, func.count(), func.sum(numerator)).select_from(model))
                    .where(*conditions(scope, span))
                    .group_by(day)
                )

            return [
                IndicatorResult.share_percent(met, rows)
                for rows, met in _grouped_by_day(session, (key, scope), periods, statement)
            ]

        return series

    def via_case(model: Any) -> Callable[[Select[Any]], Select[Any]]:
        def joins(statement: Select[Any]) -> Select[Any]:
            return statement.join(Case, Case.id == model.case_id).join(
                Patient, Patient.id == Case.patient_id
            )

        return joins

    def experience(statement: ExperienceStatement) -> _Series:
        def series(
            session: Session, scope: Scope, periods: Sequence[Period]
        ) -> list[IndicatorResult]:
            span = _span(periods)
            day, said = ExperienceResponse.answered_on, ExperienceResponse.statement
            # A sum of 0/1, not of a comparison: that would be read back as a bool.
            agreeing = case((ExperienceResponse.agreement >= AGREE, 1), else_=0)
            by_day = select(day, said, func.count(), func.sum(agreeing))
            every = tuple(ExperienceStatement)
            rows = _shared(
                ("experience", scope, span),
                lambda: list(
                    session.execute(
                        _experience_answers(by_day, scope, span, every).group_by(day, said)
                    )
                ),
            )
            results: list[IndicatorResult] = []
            for period in periods:
                answers = agreed = 0
                for on, answered, count, agreeing in rows:
                    if answered is statement and _in(period, on):
                        answers += int(count)
                        agreed += int(agreeing or 0)
                results.append(IndicatorResult.share_percent(agreed, answers))
            return results

        return series

    def at_home(session: Session, scope: Scope, periods: Sequence[Period]) -> list[IndicatorResult]:
        from mdt_desk.services.actions import london_today

        today = london_today()
        checks = [(period, min(period.end, today)) for period in periods]
        windows = [
            _reablement_window(period, last_check)
            for period, last_check in checks
            if last_check >= period.start
        ]
        found = _reablement_starts(session, scope, _span(windows)) if windows else None
        results: list[IndicatorResult] = []
        for period, last_check in checks:
            episodes = (
                []
                if found is None or last_check < period.start
                else _judge_reablement(found, period, last_check)
            )
            results.append(
                IndicatorResult.share_percent(
                    sum(1 for episode in episodes if episode.at_home), len(episodes)
                )
            )
        return results

    statements = {f"experience_{statement.value}": statement for statement in ExperienceStatement}
    return {
        **{key: experience(statement) for key, statement in statements.items()},
        "at_home_91_days_after_reablement": at_home,
        "referrals": cases(lambda figures: figures.referrals),
        "open_cases_at_end": cases(lambda figures: figures.open_at_end),
        "people_on_caseload": cases(lambda figures: len(figures.caseload)),
        "admissions": admissions_series,
        "admissions_per_100": per_100(OutcomeEventKind.HOSPITAL_ADMISSION),
        "ae_attendances_per_100": per_100(OutcomeEventKind.AE_ATTENDANCE),
        "readmissions_30d": dated(_dated_readmissions, "readmissions"),
        "dtoc_delayed_days": delayed_days,
        "median_days_to_first_mdt": median_days,
        "not_yet_discussed": undiscussed,
        "reviews_overdue_at_end": cases(lambda figures: figures.reviews_overdue),
        "actions_done_on_time": shares(
            key="actions",
            numerator=_ACTION_ON_TIME,
            day=Action.completed_on,
            model=Action,
            joins=via_case(Action),
            conditions=_actions_done_in,
        ),
        "interventions_within_6_weeks": shares(
            key="interventions",
            numerator=_WITHIN_SIX_WEEKS,
            day=Intervention.ended_on,
            model=Intervention,
            joins=via_case(Intervention),
            conditions=_interventions_ended_in,
        ),
        "goals_met_at_closure": shares(
            key="goals",
            numerator=_GOAL_MET,
            day=Case.closed_on,
            model=Goal,
            joins=via_case(Goal),
            conditions=_goals_closed_in,
        ),
        "not_accepted": cases(lambda figures: figures.not_accepted),
        "care_home_admissions_permanent": dated(_dated_first_permanent_admissions, "care_homes"),
        "admissions_per_1000_registered_65_plus": per_1000_65_plus(
            OutcomeEventKind.HOSPITAL_ADMISSION
        ),
        "ae_attendances_per_1000_registered_65_plus": per_1000_65_plus(
            OutcomeEventKind.AE_ATTENDANCE
        ),
        "care_home_admissions_permanent_per_1000_registered_65_plus": dated(
            first_permanent_65_plus, "care_homes_65", population=True
        ),
    }


_SERIES = _series_by_id()


def indicator_series(
    session: Session, scope: Scope, indicator_id: str, periods: Sequence[Period]
) -> list[IndicatorResult]:
    """One indicator for each of ``periods``: for each, exactly what its function gives
    for that period, from rows read once over them all where it can (see above).

    Raises:
        IndicatorInputError: no indicator has that id.
    """
    chosen = indicator(indicator_id)
    if not periods:
        return []
    with _sharing():
        fast = _SERIES.get(indicator_id)
        if fast is not None:
            return fast(session, scope, periods)
        return [chosen.compute(session, scope, period) for period in periods]


def compute_panels(
    session: Session, scope: Scope, periods: Sequence[Period]
) -> list[dict[str, IndicatorResult]]:
    """Every indicator for each of ``periods`` (as :func:`compute_panel` gives for each),
    reading what they share once for them all."""
    with _sharing():
        series = {
            each.id: indicator_series(session, scope, each.id, periods) for each in INDICATORS
        }
    return [
        {key: results[index] for key, results in series.items()} for index in range(len(periods))
    ]


@contextmanager
def _sharing() -> Iterator[None]:
    """Within: :func:`_shared` figures are read once (nested: the outer one's are kept)."""
    if _PANEL_SHARED.get() is not None:
        yield
        return
    token = _PANEL_SHARED.set({})
    try:
        yield
    finally:
        _PANEL_SHARED.reset(token)


# -- The people behind a number -------------------------------------------------------------


def cases_behind(
    session: Session, scope: Scope, period: Period, indicator_id: str
) -> list[uuid.UUID]:
    """The cases (``care_case.id``) behind an indicator's figure, for the click-through.

    For a case-based indicator, the cases its count or numerator counts (for
    ``median_days_to_first_mdt``, the cases discussed that the median is taken over).
    For one counting events or people (admissions, readmissions, delayed days, care
    home admissions, the population rates), the cases of the people counted that were
    open in the period. For the experience survey, the case an agreeing answer was
    linked to (else the person's cases open in the period, else their latest). For
    ``meetings_quorate``, the cases discussed at the quorate meetings. Sorted by id;
    what the person signed in may open is for the caller to decide.

    Raises:
        IndicatorInputError: no indicator has that id.
    """
    indicator(indicator_id)  # a clear error for an unknown id
    return sorted(set(_BEHIND[indicator_id](session, scope, period)))


def _scope_case_ids(scope: Scope) -> Select[uuid.UUID]:
    return (
        select(Case.id)
        .join(Patient, Patient.id == Case.patient_id)
        .where(_in_scope(scope), Patient.retired_at.is_(None), Case.retired_at.is_(None))
    )


def _cases_where(*conditions: ColumnElement[bool]) -> "_Behind":
    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        del period  # the conditions carry it
        return list(session.scalars(_scope_case_ids(scope).where(*conditions)))

    return behind


def _people_cases(
    session: Session, scope: Scope, period: Period, people: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """The cases of ``people`` open at any time in the period; for a person with none
    open then, their latest case (by referral date)."""
    wanted = sorted(set(people))
    if not wanted:
        return []
    rows = session.execute(
        _scope_case_ids(scope)
        .add_columns(Case.patient_id, _open_during(period).label("open"))
        .where(Case.patient_id.in_(wanted))
        .order_by(Case.patient_id, Case.referred_on, Case.id)
    ).all()
    found: list[uuid.UUID] = []
    latest: dict[uuid.UUID, uuid.UUID] = {}
    with_open: set[uuid.UUID] = set()
    for case_id, person, is_open in rows:
        latest[person] = case_id
        if is_open:
            found.append(case_id)
            with_open.add(person)
    found += [case_id for person, case_id in latest.items() if person not in with_open]
    return found


def _event_people(kind: OutcomeEventKind | None, *extra: ColumnElement[bool]) -> "_Behind":
    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        people = session.scalars(
            select(OutcomeEvent.patient_id).where(
                *_caseload_event_conditions(scope, period, kind), *extra
            )
        )
        return _people_cases(session, scope, period, people)

    return behind


def _rows_people(
    rows: Callable[[Session, Scope, Period], list[tuple[uuid.UUID, uuid.UUID]]],
) -> "_Behind":
    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        people = (person for _event, person in rows(session, scope, period))
        return _people_cases(session, scope, period, people)

    return behind


def _discussed_behind(*, discussed: bool) -> "_Behind":
    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        return [
            case_id
            for case_id, _referred, first_at in _first_discussions(session, scope, period)
            if (first_at is not None) == discussed
        ]

    return behind


def _joined_cases(model: Any, *conditions: ColumnElement[bool]) -> "_Behind":
    """Cases of the scope with a ``model`` row (action, intervention, goal) meeting
    ``conditions``; the row itself not retired."""

    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        del period  # the conditions carry it
        return list(
            session.scalars(
                _scope_case_ids(scope)
                .join(model, model.case_id == Case.id)
                .where(model.retired_at.is_(None), *conditions)
            )
        )

    return behind


def _quorate_behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
    per_meeting = _quorum_per_meeting(scope, period)
    all_groups = and_(
        *(per_meeting.c[f"group_{index}"] == 1 for index in range(len(QUORUM_GROUPS)))
    )
    quorate = select(per_meeting.c.id).where(all_groups)
    return list(
        session.scalars(
            _scope_case_ids(scope)
            .join(AgendaItem, AgendaItem.case_id == Case.id)
            .where(
                AgendaItem.meeting_id.in_(quorate),
                AgendaItem.retired_at.is_(None),
                AgendaItem.dismissed.is_(False),
                AgendaItem.discussed_at.is_not(None),
            )
        )
    )


def _at_home_behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
    return [
        episode.case_id
        for episode in _reablement_episodes(session, scope, period)
        if episode.at_home
    ]


def _experience_behind(statement: ExperienceStatement) -> "_Behind":
    def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
        agreed = [
            (person, case_id)
            for person, case_id, agreement in _experience_rows(session, scope, period, statement)
            if agreement >= AGREE
        ]
        linked = [case_id for _person, case_id in agreed if case_id is not None]
        unlinked = (person for person, case_id in agreed if case_id is None)
        return linked + _people_cases(session, scope, period, unlinked)

    return behind


_Behind = Callable[[Session, Scope, Period], list[uuid.UUID]]


def _behind_by_id() -> dict[str, _Behind]:
    """How to find each indicator's cases; built once (a test checks every id has one)."""

    def during(period_condition: Callable[[Period], ColumnElement[bool]]) -> _Behind:
        def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
            return _cases_where(period_condition(period))(session, scope, period)

        return behind

    def joined(model: Any, condition: Callable[[Period], ColumnElement[bool]]) -> _Behind:
        def behind(session: Session, scope: Scope, period: Period) -> list[uuid.UUID]:
            return _joined_cases(model, condition(period))(session, scope, period)

        return behind

    lasted = func.julianday(Intervention.ended_on) - func.julianday(Intervention.started_on)
    admissions_behind = _event_people(OutcomeEventKind.HOSPITAL_ADMISSION)
    care_homes = _rows_people(_first_permanent_admissions)
    statements = {f"experience_{statement.value}": statement for statement in ExperienceStatement}
    return {
        "referrals": during(lambda period: Case.referred_on.between(period.start, period.end)),
        "open_cases_at_end": during(_open_at_end),
        "people_on_caseload": during(_open_during),
        "admissions": admissions_behind,
        "admissions_per_100": admissions_behind,
        "ae_attendances_per_100": _event_people(OutcomeEventKind.AE_ATTENDANCE),
        "readmissions_30d": _rows_people(_readmission_rows),
        "dtoc_delayed_days": _event_people(None, OutcomeEvent.delayed_days > 0),
        "median_days_to_first_mdt": _discussed_behind(discussed=True),
        "not_yet_discussed": _discussed_behind(discussed=False),
        "reviews_overdue_at_end": during(
            lambda period: and_(_open_at_end(period), Case.next_review_on < period.end)
        ),
        "actions_done_on_time": joined(
            Action,
            lambda period: and_(
                Action.status == ActionStatus.DONE,
                Action.completed_on.between(period.start, period.end),
                Action.completed_on <= Action.due_on,
            ),
        ),
        "interventions_within_6_weeks": joined(
            Intervention,
            lambda period: and_(
                Intervention.ended_on.between(period.start, period.end),
                lasted <= SIX_WEEKS_DAYS,
            ),
        ),
        "goals_met_at_closure": joined(
            Goal,
            lambda period: and_(
                Case.closed_on.between(period.start, period.end),
                Goal.outcome.in_((GoalOutcome.ACHIEVED, GoalOutcome.PARTLY_ACHIEVED)),
            ),
        ),
        "meetings_quorate": _quorate_behind,
        "not_accepted": during(_not_accepted_in),
        "care_home_admissions_permanent": care_homes,
        "at_home_91_days_after_reablement": _at_home_behind,
        **{key: _experience_behind(statement) for key, statement in statements.items()},
        "admissions_per_1000_registered_65_plus": _rows_people(
            lambda session, scope, period: _events_65_plus(
                session, scope, period, OutcomeEventKind.HOSPITAL_ADMISSION
            )
        ),
        "ae_attendances_per_1000_registered_65_plus": _rows_people(
            lambda session, scope, period: _events_65_plus(
                session, scope, period, OutcomeEventKind.AE_ATTENDANCE
            )
        ),
        "care_home_admissions_permanent_per_1000_registered_65_plus": _rows_people(
            lambda session, scope, period: _first_permanent_admissions(
                session, scope, period, aged_65_plus=True
            )
        ),
    }


_BEHIND = _behind_by_id()


# -- Practices side by side -----------------------------------------------------------------


def practices_compared(
    session: Session, locality: str | Scope, period: Period, indicator_id: str
) -> list[tuple[Scope, IndicatorResult]]:
    """One indicator for each practice of a locality (a commissioner code, or a scope:
    its practices), side by side: ``(the practice's scope, its result)`` in ODS code
    order. Each practice's figure is computed exactly as for that practice alone.

    Raises:
        IndicatorInputError: an unknown locality or indicator.
    """
    chosen = indicator(indicator_id)
    scope = locality if isinstance(locality, Scope) else locality_scope(session, locality)
    practices = session.execute(
        select(Practice.id, Practice.ods_code, Practice.name)
        .where(Practice.id.in_(scope.practice_ids))
        .order_by(Practice.ods_code)
    ).all()
    compared: list[tuple[Scope, IndicatorResult]] = []
    for practice_id, ods_code, name in practices:
        each = Scope("practice", ods_code, name, (practice_id,))
        compared.append((each, chosen.compute(session, each, period)))
    return compared


# -- Sharing beyond the team --------------------------------------------------------------

#: Counts from 1 to this are suppressed in anything shared beyond the team.
SMALL_NUMBER_LIMIT = 4
SUPPRESSED = "<5"
WITHHELD = "withheld"
SUPPRESSION_NOTE = (
    "Counts from 1 to 4 are shown as <5, and figures computed from them, or from which "
    "one could be worked out, are withheld, so that no one can be recognised from a "
    "small number."
)


def _small(count: int | None) -> bool:
    return count is not None and 1 <= count <= SMALL_NUMBER_LIMIT


@dataclass(frozen=True)
class SharedFigure:
    """An indicator's figure as shared beyond the team: small counts suppressed."""

    value: str
    numerator: str
    denominator: str
    suppressed: bool


def shared_figure(kind: IndicatorKind, result: IndicatorResult) -> SharedFigure:
    """``result`` as text for a shared output (CSV, PDF): a count from 1 to 4 becomes
    "<5", and a rate, share or median computed from such a count is withheld."""

    def text(count: int | None) -> str:
        if count is None:
            return ""
        return SUPPRESSED if _small(count) else str(count)

    numerator, denominator = text(result.numerator), text(result.denominator)
    if kind is IndicatorKind.COUNT:
        value_is_count = isinstance(result.value, int)
        small = value_is_count and _small(int(result.value or 0))
        value = SUPPRESSED if small else format_value(kind, result.value)
        return SharedFigure(value, numerator, denominator, small)
    small = _small(result.numerator) or _small(result.denominator)
    value = WITHHELD if small else format_value(kind, result.value)
    return SharedFigure(value, numerator, denominator, small)


#: The two parts of ``referrals``: the cases discussed (the median's ``denominator``) and
#: the cases not yet discussed add up to it exactly.
_REFERRALS_DISCUSSED = "median_days_to_first_mdt"
_REFERRALS_NOT_YET_DISCUSSED = "not_yet_discussed"

#: Counts of all ages, each with its 65+ population rate whose numerator is a subset of
#: it (the same events or people, aged 65 or over on the day).
_ALL_AGES_AND_65_PLUS = (
    ("admissions", "admissions_per_1000_registered_65_plus"),
    ("ae_attendances_per_100", "ae_attendances_per_1000_registered_65_plus"),
    (
        "care_home_admissions_permanent",
        "care_home_admissions_permanent_per_1000_registered_65_plus",
    ),
)


def _counted(indicator_id: str, result: IndicatorResult) -> int | None:
    """The count a figure prints: a count's value, a median's n, a rate's numerator."""
    kind = INDICATORS_BY_ID[indicator_id].kind
    if kind is IndicatorKind.COUNT:
        return None if result.value is None else int(result.value)
    if kind is IndicatorKind.MEDIAN_DAYS:
        return result.denominator
    return result.numerator


def _count_withheld(
    indicator_id: str, result: IndicatorResult, shown: SharedFigure
) -> SharedFigure:
    """``shown`` with the count it prints withheld, and any rate made from that count.
    A median keeps its value: a number of days reveals no count."""
    kind = INDICATORS_BY_ID[indicator_id].kind
    if kind is IndicatorKind.COUNT:
        return SharedFigure(WITHHELD, shown.numerator, shown.denominator, True)
    if kind is IndicatorKind.MEDIAN_DAYS:
        return SharedFigure(shown.value, shown.numerator, WITHHELD, shown.suppressed)
    value = shown.value if result.value is None else WITHHELD
    return SharedFigure(value, WITHHELD, shown.denominator, True)


def shared_panel(panel: Mapping[str, IndicatorResult]) -> dict[str, SharedFigure]:
    """A whole panel as shared beyond the team (CSV, PDF): :func:`shared_figure` for
    each figure, then complementary suppression, so that no count from 1 to 4 can be
    worked out by subtracting one printed figure of the panel from another.

    Some figures of a panel add up exactly, and suppressing one of them alone would not
    hide it:

    - ``referrals`` = the cases discussed (``median_days_to_first_mdt``'s n) +
      ``not_yet_discussed``. When exactly one of those two is 1 to 4 (shown "<5"), the
      other is withheld too: the median's n is shown as withheld (the median itself, a
      number of days, reveals no count and stays), or ``not_yet_discussed`` is. When both
      are 1 to 4, ``not_yet_discussed`` is withheld outright: two "<5" beside their total
      could pin both (8 = 4 + 4).
    - A count of all ages and its population rate's numerator, the same events of
      people aged 65 or over (``admissions``; ``ae_attendances_per_100``'s numerator;
      ``care_home_admissions_permanent``; each with its ``…_per_1000_registered_65_plus``):
      when the difference, the under-65s, is 1 to 4, the 65+ numerator and its rate are
      withheld.

    Nothing else changes; figures absent from ``panel`` are left out. Figures in other
    documents, other periods or other scopes are not compared here (see the hazard log).
    """
    shown = {
        indicator_id: shared_figure(INDICATORS_BY_ID[indicator_id].kind, result)
        for indicator_id, result in panel.items()
    }
    discussed = panel.get(_REFERRALS_DISCUSSED)
    not_yet = panel.get(_REFERRALS_NOT_YET_DISCUSSED)
    if discussed is not None and not_yet is not None:
        parts = {
            _REFERRALS_DISCUSSED: _small(_counted(_REFERRALS_DISCUSSED, discussed)),
            _REFERRALS_NOT_YET_DISCUSSED: _small(_counted(_REFERRALS_NOT_YET_DISCUSSED, not_yet)),
        }
        if sum(parts.values()) == 1:
            other = next(indicator_id for indicator_id, small in parts.items() if not small)
            shown[other] = _count_withheld(other, panel[other], shown[other])
        elif all(parts.values()):
            # Both "<5" (1 to 4) beside their printed total would pin them: a total of 8
            # can only be 4 + 4. One of them is withheld outright, so neither is known.
            shown[_REFERRALS_NOT_YET_DISCUSSED] = _count_withheld(
                _REFERRALS_NOT_YET_DISCUSSED, not_yet, shown[_REFERRALS_NOT_YET_DISCUSSED]
            )
    for all_ages, older in _ALL_AGES_AND_65_PLUS:
        if all_ages not in panel or older not in panel:
            continue
        whole, part = _counted(all_ages, panel[all_ages]), _counted(older, panel[older])
        if whole is not None and part is not None and _small(whole - part):
            shown[older] = _count_withheld(older, panel[older], shown[older])
    return shown


def format_value(kind: IndicatorKind, value: float | int | None) -> str:
    """A figure for people to read: counts whole, rates and shares to one decimal."""
    if value is None:
        return "–"
    if kind is IndicatorKind.COUNT:
        return f"{int(value):,}"
    return f"{value:.1f}"


# -- Documentation -------------------------------------------------------------------------

_KIND_WORDS = {
    IndicatorKind.COUNT: "count",
    IndicatorKind.RATE_PER_100: "rate per 100",
    IndicatorKind.RATE_PER_1000: "rate per 1,000",
    IndicatorKind.SHARE_PERCENT: "share (%)",
    IndicatorKind.MEDIAN_DAYS: "median (days)",
}


def definitions_markdown() -> str:
    """``docs/indicators.md``: every definition, from the functions' docstrings."""
    module_doc = _markdown(inspect.getdoc(inspect.getmodule(definitions_markdown)) or "")
    lines = [
        "# Indicators",
        "",
        "<!-- Generated from mdt_desk/services/indicators.py by "
        "`python scripts/indicators_doc.py`; do not edit by hand. -->",
        "",
        module_doc.split("\n", 1)[1].strip(),
        "",
        "| id | title | kind |",
        "|---|---|---|",
    ]
    lines += [f"| `{each.id}` | {each.title} | {_KIND_WORDS[each.kind]} |" for each in INDICATORS]
    for each in INDICATORS:
        lines += ["", f"## `{each.id}`: {each.title}", "", f"Kind: {_KIND_WORDS[each.kind]}."]
        lines += ["", _markdown(each.definition)]
    return "\n".join(lines) + "\n"


def _markdown(docstring: str) -> str:
    """Sphinx roles (``:func:`x```, ``:data:`~a.b```) as plain code for the page."""
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", docstring)
