"""The caseload list and patient search: the queries behind the main window's table.

Both return pages of small frozen rows, sorted and filtered in SQL, so a list model
can fetch 100 rows at a time from a store of 100,000 people (docs/performance.md has
the measured times).

The statements are Core selects on the tables, built once per shape and cached, with
the values bound at execution: building a select and running it through the ORM's
entity machinery would cost more than SQLite takes to answer these queries.
"""

import datetime as dt
import functools
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from mdt_desk.errors import ValidationError
from mdt_desk.models import (
    Action,
    Case,
    CoordinatorAssignment,
    Patient,
    Practice,
    Staff,
    StaffPracticeCover,
)
from mdt_desk.models.enums import CaseStatus, RiskBand
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.actions import (
    ActionsQuery,
    count_actions,
    london_today,
    outstanding_condition,
    overdue_condition,
)
from mdt_desk.services.practices import LocalityName, locality_names
from mdt_desk.services.staff import display_staff_name
from mdt_desk.services.text_safety import printable
from mdt_desk.services.validation import parse_date

_NHS_NUMBER_INPUT = re.compile(r"^[\d\s-]+$")
_MIN_NHS_PREFIX = 3

_action = cast(Table, Action.__table__)
_assignment = cast(Table, CoordinatorAssignment.__table__)
_case = cast(Table, Case.__table__)
_patient = cast(Table, Patient.__table__)
_practice = cast(Table, Practice.__table__)
_staff = cast(Table, Staff.__table__)
_cover = cast(Table, StaffPracticeCover.__table__)


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    """One case in the caseload list."""

    case_id: uuid.UUID
    patient_id: uuid.UUID
    family_name: str
    given_name: str
    title: str
    nhs_number: str
    date_of_birth: dt.date
    date_of_death: dt.date | None
    practice_id: uuid.UUID
    practice_code: str
    practice_name: str
    coordinator_id: uuid.UUID | None
    coordinator_name: str  # "" when the case has no current coordinator
    status: CaseStatus
    risk_band: RiskBand | None
    referred_on: dt.date
    next_review_on: dt.date | None
    escalated: bool
    open_actions: int
    overdue_actions: int


@dataclass(frozen=True, slots=True)
class PatientMatch:
    """One person found by :func:`find_patients`."""

    patient_id: uuid.UUID
    family_name: str
    given_name: str
    title: str
    nhs_number: str
    date_of_birth: dt.date
    date_of_death: dt.date | None
    postcode: str
    practice_code: str
    practice_name: str


def _caseload_order(
    sort: str, columns: dict[str, Any], descending: bool = False
) -> list[ColumnElement[Any]]:
    # The first key matches an index (care_case status + next review date, patient
    # practice + names), so SQLite reads rows in that order and stops once the page
    # is full. Every order ends with the case id so pages never overlap or skip.
    names = [columns["family_name"], columns["given_name"]]
    if sort == "next_review":
        first: list[ColumnElement[Any]] = [
            columns["next_review_on"].desc().nulls_last()
            if descending
            else columns["next_review_on"].asc().nulls_last()
        ]
        return [*first, *names, columns["case_id"]]
    if sort == "name":
        keys = [*names, columns["date_of_birth"]]
    elif sort == "referred":
        # Latest first is the natural order; "descending" reverses it.
        keys = [columns["referred_on"].asc() if descending else columns["referred_on"].desc()]
        return [*keys, *names, columns["case_id"]]
    elif sort in _EXTRA_SORT_KEYS:
        keys = [columns["sort_key"]]
    else:
        raise ValueError(f"unknown caseload sort {sort!r}; use one of {CASELOAD_SORTS}")
    if descending:
        keys = [key.desc() for key in keys]
    return [*keys, *names, columns["case_id"]]


#: What the page subquery carries out of the case and the person, in row order.
_PAGE_COLUMNS = {
    "case_id": _case.c.id,
    "patient_id": _case.c.patient_id,
    "family_name": _patient.c.family_name,
    "given_name": _patient.c.given_name,
    "title": _patient.c.title,
    "nhs_number": _patient.c.nhs_number,
    "date_of_birth": _patient.c.date_of_birth,
    "date_of_death": _patient.c.date_of_death,
    "practice_id": _patient.c.practice_id,
    "status": _case.c.status,
    "risk_band": _patient.c.risk_band,
    "referred_on": _case.c.referred_on,
    "next_review_on": _case.c.next_review_on,
    "escalated": _case.c.escalated,
}


class CaseloadView(StrEnum):
    """The saved views of the caseload (the left-hand list of the main window)."""

    ALL_OPEN = "all_open"
    MY_CASELOAD = "my_caseload"
    NEW_REFERRALS = "new_referrals"
    REVIEWS_DUE_THIS_WEEK = "reviews_due_this_week"
    REVIEWS_OVERDUE = "reviews_overdue"
    OVERDUE_ACTIONS = "overdue_actions"
    HIGH_RISK = "high_risk"
    CLOSED_RECENTLY = "closed_recently"


VIEW_TITLES = {
    CaseloadView.ALL_OPEN: "All open cases",
    CaseloadView.MY_CASELOAD: "My caseload",
    CaseloadView.NEW_REFERRALS: "New referrals",
    CaseloadView.REVIEWS_DUE_THIS_WEEK: "Reviews due this week",
    CaseloadView.REVIEWS_OVERDUE: "Reviews overdue",
    CaseloadView.OVERDUE_ACTIONS: "Overdue actions",
    CaseloadView.HIGH_RISK: "High risk",
    CaseloadView.CLOSED_RECENTLY: "Closed recently",
}
#: "Closed recently" looks back this far.
CLOSED_RECENTLY_DAYS = 30
#: Risk bands the "High risk" view shows.
HIGH_RISK_BANDS = (RiskBand.HIGH, RiskBand.VERY_HIGH)


@dataclass(frozen=True, slots=True)
class CaseloadQuery:
    """Which cases the caseload shows and in what order.

    Args:
        view: the saved view.
        practice_id: only people registered with this practice (``None``: all).
        status: only cases in this status (``None``: as the view says).
        coordinator_id: whose caseload "My caseload" is.
        sort: one of :data:`CASELOAD_SORTS`.
        descending: reverse the sort.
        coordinated_by: only cases this staff member currently coordinates (a filter
            the user chose, combinable with any view; ``None``: anyone's).
        risk_band: only people in this risk band (``None``: any).
    """

    view: CaseloadView = CaseloadView.ALL_OPEN
    practice_id: uuid.UUID | None = None
    status: CaseStatus | None = None
    coordinator_id: uuid.UUID | None = None
    sort: str = "next_review"
    descending: bool = False
    coordinated_by: uuid.UUID | None = None
    risk_band: RiskBand | None = None

    @property
    def shape(self) -> "_Shape":
        """Which optional conditions apply: one prepared statement per shape."""
        return _Shape(
            self.view,
            self.practice_id is not None,
            self.status is not None,
            self.coordinated_by is not None,
            self.risk_band is not None,
        )


@dataclass(frozen=True, slots=True)
class _Shape:
    view: CaseloadView
    by_practice: bool
    by_status: bool
    by_coordinator: bool
    by_risk: bool


def _current_coordinator_of(case_id: ColumnElement[Any], column: ColumnElement[Any]) -> Any:
    return (
        select(column)
        .where(
            _assignment.c.case_id == case_id,
            _assignment.c.ended_on.is_(None),
            _assignment.c.retired_at.is_(None),
        )
        .order_by(_assignment.c.started_on.desc(), _assignment.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _outstanding_actions(case_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(_action.c.case_id == case_id, outstanding_condition())


def _rank(column: ColumnElement[Any], order: tuple[str, ...]) -> ColumnElement[Any]:
    return case({code: rank for rank, code in enumerate(order, start=1)}, value=column, else_=0)


_TODAY = bindparam("today", type_=Date())

#: Sort keys beyond the indexed ones, as expressions over the case and the person;
#: the page subquery carries the key out as ``sort_key``.
_EXTRA_SORT_KEYS: dict[str, Any] = {
    "nhs_number": lambda: _patient.c.nhs_number,
    "age": lambda: _patient.c.date_of_birth,
    "practice": lambda: (
        select(_practice.c.name).where(_practice.c.id == _patient.c.practice_id).scalar_subquery()
    ),
    "coordinator": lambda: _current_coordinator_of(
        _case.c.id,
        select(_staff.c.family_name + " " + _staff.c.given_name)
        .where(_staff.c.id == _assignment.c.staff_id)
        .scalar_subquery(),
    ),
    "status": lambda: _rank(_case.c.status, tuple(CaseStatus)),
    "risk": lambda: _rank(_patient.c.risk_band, tuple(RiskBand)),
    "open_actions": lambda: (
        select(func.count()).where(_outstanding_actions(_case.c.id)).scalar_subquery()
    ),
    "overdue_actions": lambda: (
        select(func.count())
        .where(_action.c.case_id == _case.c.id, overdue_condition(_TODAY))
        .scalar_subquery()
    ),
}

#: Orders the caseload can be sorted in (:attr:`CaseloadQuery.sort`).
CASELOAD_SORTS = ("next_review", "name", "referred", *_EXTRA_SORT_KEYS)


def _view_filter(view: CaseloadView, status: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    """What a saved view adds to the page's WHERE clause; values are bound at run time."""
    open_case = status != CaseStatus.CLOSED
    # Not a correlated EXISTS: SQLite would answer that through the staff index once per
    # case (9 s on 100,000 people); as IN it lists the coordinator's cases once.
    my_case = _case.c.id.in_(
        select(_assignment.c.case_id).where(
            _assignment.c.staff_id == bindparam("me"),
            _assignment.c.ended_on.is_(None),
            _assignment.c.retired_at.is_(None),
        )
    )
    overdue_action = (
        select(_action.c.id)
        .where(_action.c.case_id == _case.c.id, overdue_condition(_TODAY))
        .exists()
    )
    filters: dict[CaseloadView, list[ColumnElement[bool]]] = {
        CaseloadView.ALL_OPEN: [open_case],
        CaseloadView.MY_CASELOAD: [open_case, my_case],
        CaseloadView.NEW_REFERRALS: [status == CaseStatus.REFERRED],
        CaseloadView.REVIEWS_DUE_THIS_WEEK: [
            open_case,
            _case.c.next_review_on >= _TODAY,
            _case.c.next_review_on <= bindparam("week_end", type_=Date()),
        ],
        CaseloadView.REVIEWS_OVERDUE: [open_case, _case.c.next_review_on < _TODAY],
        CaseloadView.OVERDUE_ACTIONS: [open_case, overdue_action],
        CaseloadView.HIGH_RISK: [open_case, _patient.c.risk_band.in_(HIGH_RISK_BANDS)],
        CaseloadView.CLOSED_RECENTLY: [
            status == CaseStatus.CLOSED,
            _case.c.closed_on >= bindparam("closed_since", type_=Date()),
        ],
    }
    return filters[view]


def _where(shape: _Shape, sort: str) -> list[ColumnElement[bool]]:
    view, by_practice, by_status = shape.view, shape.by_practice, shape.by_status
    status: ColumnElement[Any] = _case.c.status
    if by_practice and sort != "next_review":
        # A unary + keeps SQLite off the status index: it then walks the practice's
        # people in name order instead of every case of the status (~10x faster).
        status = UnaryExpression(status, operator=operators.custom_op("+"), type_=status.type)
    conditions: list[ColumnElement[bool]] = [
        _case.c.retired_at.is_(None),
        _patient.c.retired_at.is_(None),
    ]
    if by_status:
        conditions.append(status == bindparam("status"))
    if not (by_status and view is CaseloadView.ALL_OPEN):
        # A chosen status replaces "open"; the other views still apply their rule.
        conditions.extend(_view_filter(view, status))
    if by_practice:
        conditions.append(_patient.c.practice_id == bindparam("practice_id"))
    if shape.by_coordinator:
        conditions.append(
            _case.c.id.in_(
                select(_assignment.c.case_id).where(
                    _assignment.c.staff_id == bindparam("coordinated_by"),
                    _assignment.c.ended_on.is_(None),
                    _assignment.c.retired_at.is_(None),
                )
            )
        )
    if shape.by_risk:
        conditions.append(_patient.c.risk_band == bindparam("risk_band"))
    return conditions


@functools.cache
def _caseload_statement(shape: _Shape, sort: str, descending: bool) -> Select[Any]:
    """The caseload query of one shape; values are bound when it runs."""
    inner_columns: dict[str, Any] = dict(_PAGE_COLUMNS)
    if sort in _EXTRA_SORT_KEYS:
        inner_columns["sort_key"] = _EXTRA_SORT_KEYS[sort]()
    # Age goes up as the date of birth goes down.
    reverse = not descending if sort == "age" else descending
    # The page is chosen, and carries what it shows, from the case and the person
    # alone; the practice, the coordinator and the action counts are then looked up
    # for its rows only.
    page = (
        select(*(column.label(name) for name, column in inner_columns.items()))
        .join_from(_case, _patient, _patient.c.id == _case.c.patient_id)
        .where(*_where(shape, sort))
        .order_by(*_caseload_order(sort, inner_columns, reverse))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    outstanding = _outstanding_actions(page.c.case_id)
    return (
        select(
            *(page.c[name] for name in _PAGE_COLUMNS),
            _practice.c.ods_code,
            _practice.c.name,
            _staff.c.id,
            _staff.c.family_name,
            _staff.c.given_name,
            _staff.c.title,
            select(func.count()).where(outstanding).scalar_subquery(),
            select(func.count())
            .where(_action.c.case_id == page.c.case_id, overdue_condition(_TODAY))
            .scalar_subquery(),
        )
        .join_from(page, _practice, _practice.c.id == page.c.practice_id)
        .outerjoin(
            _staff, _staff.c.id == _current_coordinator_of(page.c.case_id, _assignment.c.staff_id)
        )
        .order_by(*_caseload_order(sort, {column.key: column for column in page.c}, reverse))
    )


def _query_values(query: CaseloadQuery, today: dt.date) -> dict[str, Any]:
    return {
        "practice_id": query.practice_id,
        "status": query.status,
        "me": query.coordinator_id,
        "coordinated_by": query.coordinated_by,
        "risk_band": query.risk_band,
        "today": today,
        "week_end": today + dt.timedelta(days=7),
        "closed_since": today - dt.timedelta(days=CLOSED_RECENTLY_DAYS),
    }


@requires(Permission.READ_CASELOAD)
def caseload_rows(
    session: Session,
    query: CaseloadQuery,
    *,
    offset: int = 0,
    limit: int = 100,
    today: dt.date | None = None,
) -> list[CaseloadRow]:
    """One page (rows ``offset`` to ``offset + limit - 1``) of a caseload view.

    ``next_review`` puts the earliest (most overdue) review first and cases without a
    review date last; ``name`` is by family then given name; ``referred`` the latest
    referral first; the others sort by the column of that name.

    Raises:
        ValueError: the sort is not one of :data:`CASELOAD_SORTS`.
    """
    if query.sort not in CASELOAD_SORTS:
        raise ValueError(f"unknown caseload sort {query.sort!r}; use one of {CASELOAD_SORTS}")
    statement = _caseload_statement(query.shape, query.sort, query.descending)
    values = _query_values(query, today or london_today())
    values.update(limit=limit, offset=offset)
    rows = session.execute(statement, values).all()
    return [
        CaseloadRow(
            case_id=row[0],
            patient_id=row[1],
            family_name=row[2],
            given_name=row[3],
            title=row[4],
            nhs_number=row[5],
            date_of_birth=row[6],
            date_of_death=row[7],
            practice_id=row[8],
            status=row[9],
            risk_band=row[10],
            referred_on=row[11],
            next_review_on=row[12],
            escalated=row[13],
            practice_code=row[14],
            practice_name=row[15],
            coordinator_id=row[16],
            coordinator_name=(
                "" if row[16] is None else display_staff_name(row[17], row[18], row[19])
            ),
            open_actions=row[20],
            overdue_actions=row[21],
        )
        for row in rows
    ]


@functools.cache
def _count_statement(shape: _Shape) -> Select[Any]:
    return (
        select(func.count())
        .select_from(_case)
        .join(_patient, _patient.c.id == _case.c.patient_id)
        .where(*_where(shape, "next_review"))
    )


@requires(Permission.READ_CASELOAD)
def caseload_count(session: Session, query: CaseloadQuery, today: dt.date | None = None) -> int:
    """How many cases a caseload view holds."""
    statement = _count_statement(query.shape)
    return int(
        session.execute(statement, _query_values(query, today or london_today())).scalar_one()
    )


@requires(Permission.READ_CASELOAD)
def caseload_page(
    session: Session,
    *,
    practice_id: uuid.UUID | None,
    status: CaseStatus | None,
    sort: str = "next_review",
    offset: int = 0,
    limit: int = 100,
    today: dt.date | None = None,
) -> list[CaseloadRow]:
    """One page of the open caseload, or of the cases in one status.

    Args:
        practice_id: only people registered with this practice (``None``: all).
        status: only cases in this status (``None``: every open case).
        sort: one of :data:`CASELOAD_SORTS`.
        offset, limit: the page (rows ``offset`` to ``offset + limit - 1``).
        today: the day after which an outstanding action is overdue (default: today
            in Europe/London).

    Raises:
        ValueError: ``sort`` is not one of :data:`CASELOAD_SORTS`.
    """
    query = CaseloadQuery(practice_id=practice_id, status=status, sort=sort)
    return caseload_rows(session, query, offset=offset, limit=limit, today=today)


@dataclass(frozen=True, slots=True)
class PracticeCount:
    """A practice in the left-hand list, with its number of open cases."""

    practice_id: uuid.UUID
    ods_code: str
    name: str
    open_cases: int


@dataclass(frozen=True, slots=True)
class Locality:
    """Practices sharing a commissioner code."""

    code: str
    practices: tuple[PracticeCount, ...]
    #: the name the team gave it, "" until named (see services.practices.name_locality)
    name: str = ""

    @property
    def title(self) -> str:
        """The name, or "Locality <code>" until it has one: never a bare code."""
        return LocalityName(self.code, self.name).title

    @property
    def open_cases(self) -> int:
        return sum(practice.open_cases for practice in self.practices)


@dataclass(frozen=True, slots=True)
class Navigator:
    """What the left-hand list shows: saved views with counts, localities and practices."""

    view_counts: dict[CaseloadView, int]
    localities: tuple[Locality, ...]
    #: the signed-in person's actions still to do, and the team's overdue actions
    my_actions: int = 0
    team_overdue_actions: int = 0


@requires(Permission.READ_CASELOAD)
def navigator(
    session: Session, coordinator_id: uuid.UUID | None, today: dt.date | None = None
) -> Navigator:
    """Counts for every saved view, and the team's practices.

    The team's practices are those with people in this store or covered by a team
    member. Other practices imported from the national file are left out: a desk holds
    one team's practices, the ODS file has thousands. A store that has neither yet (just
    set up, practices imported and nobody added) shows every practice it holds, so the
    import is seen to have worked.
    """
    today = today or london_today()
    counts = {
        view: caseload_count(
            session, CaseloadQuery(view=view, coordinator_id=coordinator_id), today
        )
        for view in CaseloadView
    }
    open_by_practice: dict[uuid.UUID, int] = dict(
        session.execute(
            select(_patient.c.practice_id, func.count())
            .select_from(_case)
            .join(_patient, _patient.c.id == _case.c.patient_id)
            .where(
                _case.c.status != CaseStatus.CLOSED,
                _case.c.retired_at.is_(None),
                _patient.c.retired_at.is_(None),
            )
            .group_by(_patient.c.practice_id)
        ).all()
    )
    with_people = select(_patient.c.id).where(_patient.c.practice_id == _practice.c.id).exists()
    covered = (
        select(_cover.c.id)
        .where(_cover.c.practice_id == _practice.c.id, _cover.c.retired_at.is_(None))
        .exists()
    )
    anyone = session.execute(
        select(select(_patient.c.id).exists() | select(_cover.c.id).exists())
    ).scalar_one()
    statement = select(
        _practice.c.id, _practice.c.ods_code, _practice.c.name, _practice.c.commissioner_code
    ).where(_practice.c.retired_at.is_(None))
    if anyone:
        statement = statement.where(or_(with_people, covered))
    practices = session.execute(
        statement.order_by(_practice.c.commissioner_code, _practice.c.name)
    ).all()
    names = locality_names(session)
    grouped: dict[str, list[PracticeCount]] = {}
    for practice_id, code, name, commissioner in practices:
        grouped.setdefault(commissioner, []).append(
            PracticeCount(practice_id, code, name, int(open_by_practice.get(practice_id, 0)))
        )
    return Navigator(
        my_actions=(
            count_actions(session, ActionsQuery(owner_id=coordinator_id), today)
            if coordinator_id is not None
            else 0
        ),
        team_overdue_actions=count_actions(session, ActionsQuery(overdue_only=True), today),
        view_counts=counts,
        localities=tuple(
            Locality(code, tuple(items), names.get(code, "")) for code, items in grouped.items()
        ),
    )


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@functools.cache
def _search_statement(kind: str) -> Select[Any]:
    """The patient search of one kind; values are bound when it runs.

    Patient names are stored with NOCASE collation, so the prefix ``LIKE``s are
    case-insensitive and SQLite answers them from the name index. An NHS number
    prefix is a range rather than a ``LIKE`` for the same reason: that column is
    case-sensitive text, and only a range uses its index.
    """
    patient = _patient.c
    conditions: dict[str, ColumnElement[bool]] = {
        "nhs_number": patient.nhs_number == bindparam("nhs_number"),
        "nhs_prefix": and_(
            patient.nhs_number >= bindparam("low"), patient.nhs_number < bindparam("high")
        ),
        "born": patient.date_of_birth == bindparam("born"),
        "family": patient.family_name.like(bindparam("family"), escape="\\"),
        "family_given": and_(
            patient.family_name.like(bindparam("family"), escape="\\"),
            patient.given_name.like(bindparam("given"), escape="\\"),
        ),
    }
    # A part of an NHS number lists in number order: the order of its index, so the
    # first matches are the answer, where name order would sort every number that
    # starts so (a tenth of the store for "999 8").
    order = (
        (patient.nhs_number,)
        if kind == "nhs_prefix"
        else (patient.family_name, patient.given_name, patient.date_of_birth, patient.id)
    )
    return (
        select(
            patient.id,
            patient.family_name,
            patient.given_name,
            patient.title,
            patient.nhs_number,
            patient.date_of_birth,
            patient.date_of_death,
            patient.postcode,
            _practice.c.ods_code,
            _practice.c.name,
        )
        .join_from(_patient, _practice, _practice.c.id == patient.practice_id)
        .where(conditions[kind], patient.retired_at.is_(None))
        .order_by(*order)
        .limit(bindparam("limit"))
    )


def _search_values(text: str) -> tuple[str, dict[str, Any]] | None:
    """Which search ``text`` asks for, and its values; None when it is too short."""
    if not text:
        return None
    try:
        # First: an ISO date (1945-07-14) is also digits and hyphens.
        born = parse_date(text, "date_of_birth")
    except ValidationError:
        pass
    else:
        return "born", {"born": born}
    digits = re.sub(r"[\s-]", "", text)
    if _NHS_NUMBER_INPUT.match(text) and digits.isascii():
        if len(digits) == 10:
            return "nhs_number", {"nhs_number": digits}
        if _MIN_NHS_PREFIX <= len(digits) < 10:
            high = str(int(digits) + 1).zfill(len(digits))
            return "nhs_prefix", {"low": digits, "high": high}
    if digits.isdigit():
        return None  # digits, but neither an NHS number nor a date
    family, _, given = text.partition(",")
    values = {"family": _like_prefix(family.strip())}
    if given.strip():
        values["given"] = _like_prefix(given.strip())
    return "family_given" if "given" in values else "family", values


@requires(Permission.READ_CASELOAD)
def find_patients(session: Session, text: str, limit: int = 50) -> list[PatientMatch]:
    """People matching what was typed in the search box, by family then given name
    (by number for the start of an NHS number).

    ``text`` may be an NHS number (with or without spaces or hyphens; three to nine
    digits find the numbers that start with them), a date of birth in one of
    :func:`~mdt_desk.services.validation.parse_date`'s formats, or the start of a
    family name (``smi``), optionally with the start of a given name after a comma
    (``smith, j``). Case does not matter. Nothing typed, or too little to search on,
    finds nobody.
    """
    search = _search_values(" ".join(printable(text or "").split()))
    if search is None:
        return []
    kind, values = search
    values["limit"] = limit
    return [PatientMatch(*row) for row in session.execute(_search_statement(kind), values).all()]
