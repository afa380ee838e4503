"""Who may do what: the role × permission matrix, and who is acting in a session.

The matrix is here and nowhere else: the services check it (:func:`requires`), the
screens ask it what to hide (:meth:`Principal.may`), ``docs/security.md`` shows it and a
test keeps the two the same.

Who is acting is a property of the session. :meth:`mdt_desk.models.store.Store.write`
and :meth:`~mdt_desk.models.store.Store.read` record the actor's staff id in
``session.info``; :func:`principal_of` turns it into a :class:`Principal` (roles from the
staff record) once per session. A store in which no staff member has a PIN yet is *in
set-up* (contracts: "the first PIN ends set-up"): everything is allowed and is journalled
as initial set-up, so a new desk can be filled before anyone can sign in.
"""

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models import (
    Action,
    CareTeamMember,
    Case,
    CoordinatorAssignment,
    ReviewItem,
    Staff,
)
from mdt_desk.models.enums import DocumentKind, Role
from mdt_desk.models.store import SESSION_ACTOR_KEY

#: ``session.info`` keys: the acting staff member's id (set by the store), and the
#: resolved principal.
ACTOR_KEY = SESSION_ACTOR_KEY
_LONDON = ZoneInfo("Europe/London")
PRINCIPAL_KEY = "principal"

#: What the roles are called on screen and in messages.
ROLE_LABELS: dict[Role, str] = {
    Role.CARE_COORDINATOR: "Care coordinator",
    Role.TEAM_MEMBER: "Team member",
    Role.MDT_CHAIR: "MDT chair",
    Role.CARE_NAVIGATOR: "Care navigator",
    Role.TEAM_ADMINISTRATOR: "Team administrator",
    Role.PRIVACY_OFFICER: "Privacy officer",
    Role.OBSERVER: "Observer",
}


class Permission(StrEnum):
    """One thing a service may be asked to do. The value is its id in the docs."""

    READ_CASELOAD = "read_caseload"
    READ_CLINICAL = "read_clinical"
    READ_ALL_SENSITIVE = "read_all_sensitive"
    BREAK_GLASS = "break_glass"
    EDIT_DEMOGRAPHICS = "edit_demographics"
    REFER = "refer"
    EDIT_PLAN = "edit_plan"
    ADD_NOTE = "add_note"
    ADD_ACTION = "add_action"
    UPDATE_ANY_ACTION = "update_any_action"
    UPDATE_OWN_ACTION = "update_own_action"
    CLOSE_CASE = "close_case"
    PRINT_ANY_CARE_PLAN = "print_any_care_plan"
    PRINT_TEAM_CARE_PLAN = "print_team_care_plan"
    PRINT_LISTS = "print_lists"
    EXPORT = "export"
    SCHEDULE_MEETINGS = "schedule_meetings"
    BUILD_AGENDA = "build_agenda"
    RUN_MEETING = "run_meeting"
    AMEND_MINUTES = "amend_minutes"
    RESOLVE_REVIEW = "resolve_review"
    READ_ACCESS_LOG = "read_access_log"
    MANAGE_STAFF = "manage_staff"
    IMPORT_PRACTICES = "import_practices"
    IMPORT_PATIENTS = "import_patients"
    HUB_SETTINGS = "hub_settings"


#: How a refusal names what was refused: "Your role (Observer) does not allow …".
PERMISSION_DOING: dict[Permission, str] = {
    Permission.READ_CASELOAD: "reading the caseload",
    Permission.READ_CLINICAL: "reading clinical records",
    Permission.READ_ALL_SENSITIVE: "reading every restricted item",
    Permission.BREAK_GLASS: "opening restricted items in an emergency",
    Permission.EDIT_DEMOGRAPHICS: "changing a person's details",
    Permission.REFER: "recording referrals",
    Permission.EDIT_PLAN: "changing care plans",
    Permission.ADD_NOTE: "adding notes",
    Permission.ADD_ACTION: "adding actions",
    Permission.UPDATE_ANY_ACTION: "updating other people's actions",
    Permission.UPDATE_OWN_ACTION: "updating actions",
    Permission.CLOSE_CASE: "closing cases",
    Permission.PRINT_ANY_CARE_PLAN: (
        "printing the care plans of people whose care team you are not on"
    ),
    Permission.PRINT_TEAM_CARE_PLAN: "printing care plans",
    Permission.PRINT_LISTS: "printing caseload lists and meeting papers",
    Permission.EXPORT: "exporting records",
    Permission.SCHEDULE_MEETINGS: "scheduling meetings",
    Permission.BUILD_AGENDA: "building agendas",
    Permission.RUN_MEETING: "running meeting mode",
    Permission.AMEND_MINUTES: "amending minutes",
    Permission.RESOLVE_REVIEW: "resolving sync review items",
    Permission.READ_ACCESS_LOG: "reading the access log",
    Permission.MANAGE_STAFF: "managing staff, roles and PINs",
    Permission.IMPORT_PRACTICES: "importing GP practices",
    Permission.IMPORT_PATIENTS: "importing patients (patient lists and FHIR care plans)",
    Permission.HUB_SETTINGS: "changing the team hub settings",
}

P = Permission
_TEAM_MEMBER = frozenset(
    {
        P.READ_CASELOAD,
        P.READ_CLINICAL,
        P.BREAK_GLASS,
        P.ADD_NOTE,
        P.ADD_ACTION,
        P.UPDATE_OWN_ACTION,
        P.PRINT_TEAM_CARE_PLAN,
    }
)

#: The matrix (issue 10's role table). ``docs/security.md`` shows it; a test compares.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CARE_COORDINATOR: frozenset(
        {
            P.READ_CASELOAD,
            P.READ_CLINICAL,
            P.BREAK_GLASS,
            P.EDIT_DEMOGRAPHICS,
            P.REFER,
            P.EDIT_PLAN,
            P.ADD_NOTE,
            P.ADD_ACTION,
            P.UPDATE_ANY_ACTION,
            P.UPDATE_OWN_ACTION,
            P.CLOSE_CASE,
            P.PRINT_ANY_CARE_PLAN,
            P.PRINT_TEAM_CARE_PLAN,
            P.PRINT_LISTS,
            P.EXPORT,
        }
    ),
    Role.TEAM_MEMBER: _TEAM_MEMBER,
    Role.MDT_CHAIR: _TEAM_MEMBER
    | {
        P.SCHEDULE_MEETINGS,
        P.BUILD_AGENDA,
        P.RUN_MEETING,
        P.AMEND_MINUTES,
        P.RESOLVE_REVIEW,
        P.PRINT_LISTS,
    },
    Role.CARE_NAVIGATOR: frozenset(
        {P.READ_CASELOAD, P.EDIT_DEMOGRAPHICS, P.REFER, P.PRINT_LISTS, P.SCHEDULE_MEETINGS}
    ),
    Role.TEAM_ADMINISTRATOR: frozenset(
        {P.MANAGE_STAFF, P.IMPORT_PRACTICES, P.IMPORT_PATIENTS, P.HUB_SETTINGS}
    ),
    Role.PRIVACY_OFFICER: frozenset(
        {P.READ_CASELOAD, P.READ_CLINICAL, P.READ_ALL_SENSITIVE, P.READ_ACCESS_LOG, P.EXPORT}
    ),
    Role.OBSERVER: frozenset({P.READ_CASELOAD, P.READ_CLINICAL}),
}

ALL_PERMISSIONS = frozenset(Permission)


class AccessDeniedError(UserError):
    """The signed-in person's roles do not allow what was asked (exit status 4)."""

    def __init__(self, message: str, permission: Permission | None = None) -> None:
        super().__init__(message)
        self.permission = permission


class NotSignedInError(AccessDeniedError):
    """Nobody is signed in, and the store is past set-up."""


def parse_roles(text: str | Iterable[str]) -> frozenset[Role]:
    """Role ids from the staff record's text (or a list); unknown ids are ignored.

    Ignoring an unknown id is the safe reading: a role added by a later version grants
    nothing here.
    """
    names = text.split() if isinstance(text, str) else list(text)
    return frozenset(Role(name) for name in names if name in Role._value2member_map_)


def format_roles(roles: Iterable[Role | str]) -> str:
    """The staff record's text for ``roles``: sorted ids separated by spaces."""
    return " ".join(sorted({Role(role).value for role in roles}))


def role_from_text(text: str) -> Role:
    """A role id as typed (``care_coordinator``, ``Care coordinator``, ``care-coordinator``)."""
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(key)
    except ValueError:
        raise UserError(
            f"'{text}' is not a role MDT Desk knows: choose one of "
            + ", ".join(role.value for role in Role)
            + "."
        ) from None


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def less_privileged(first: str, second: str) -> str:
    """Of two clashing values of a staff member's roles, the one that grants less.

    When neither grants a subset of the other, the roles both values share: sync never
    resolves a clash by giving someone rights that neither edit alone gave them.
    """
    first_roles, second_roles = parse_roles(first), parse_roles(second)
    first_grants, second_grants = permissions_of(first_roles), permissions_of(second_roles)
    if first_grants == second_grants:
        # Equal rights, different words (a chair who is also a team member): every desk
        # must settle on the same value whichever side it sees first.
        return min(format_roles(first_roles), format_roles(second_roles))
    if first_grants <= second_grants:
        return format_roles(first_roles)
    if second_grants <= first_grants:
        return format_roles(second_roles)
    return format_roles(first_roles & second_roles)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a signed-in staff member with roles, or initial set-up."""

    staff_id: uuid.UUID | None
    display_name: str
    roles: frozenset[Role]
    setup: bool = False

    @property
    def permissions(self) -> frozenset[Permission]:
        return ALL_PERMISSIONS if self.setup else permissions_of(self.roles)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    def may_any(self, *permissions: Permission) -> bool:
        return any(self.may(permission) for permission in permissions)

    @property
    def roles_label(self) -> str:
        if self.setup:
            return "Initial set-up"
        return ", ".join(ROLE_LABELS[role] for role in sorted(self.roles)) or "No role"

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise AccessDeniedError(refusal(self.roles, permission), permission)


SETUP = Principal(staff_id=None, display_name="initial set-up", roles=frozenset(), setup=True)


def refusal(roles: frozenset[Role], permission: Permission) -> str:
    """The message a refused call gives: which roles, and what they do not allow."""
    doing = PERMISSION_DOING[permission]
    if not roles:
        return (
            f"You have no role on this team, so you may not be {doing}. "
            "Ask your team administrator."
        )
    labels = ", ".join(ROLE_LABELS[role] for role in sorted(roles))
    if len(roles) == 1:
        return f"Your role ({labels}) does not allow {doing}."
    return f"Your roles ({labels}) do not allow {doing}."


def store_in_setup(session: Session) -> bool:
    """True until any current staff member has a PIN (contracts: set-up ends then)."""
    return not session.scalar(
        select(exists().where(Staff.pin_hash != "", Staff.retired_at.is_(None)))
    )


def principal_of(session: Session) -> Principal:
    """Who is acting in ``session`` (resolved once per session and kept in its info)."""
    known = session.info.get(PRINCIPAL_KEY)
    if isinstance(known, Principal):
        return known
    principal = _resolve(session, session.info.get(ACTOR_KEY))
    session.info[PRINCIPAL_KEY] = principal
    return principal


def _resolve(session: Session, actor_id: uuid.UUID | None) -> Principal:
    if store_in_setup(session):
        return SETUP
    if actor_id is None:
        raise NotSignedInError(
            "Nobody is signed in. Sign in with your PIN first (on the command line: --as STAFF_ID)."
        )
    staff = session.get(Staff, actor_id)
    if staff is None or staff.retired_at is not None:
        raise NotSignedInError("The person signed in is no longer on this team.")
    if staff.left_on is not None and dt.datetime.now(_LONDON).date() > staff.left_on:
        # A leaver signed in before their last day ended acts no further after it.
        raise NotSignedInError("The person signed in has left the team: their last day has passed.")
    from mdt_desk.services.staff import display_staff_name

    return Principal(
        staff_id=staff.id,
        display_name=display_staff_name(staff.family_name, staff.given_name, staff.title),
        roles=parse_roles(staff.roles),
    )


def use_principal(session: Session, principal: Principal) -> None:
    """Act as ``principal`` in ``session`` (an already verified sign-in)."""
    session.info[PRINCIPAL_KEY] = principal
    session.info[ACTOR_KEY] = principal.staff_id


_P = ParamSpec("_P")
_R = TypeVar("_R")

#: ``session.info`` key: set while a checked entry point runs. A service it calls inside
#: the same transaction (meeting mode writing an action or closing a case through the
#: plan and case services) is part of the checked step, and is not checked again.
CHECKED_KEY = "entry_point_checked"

#: Chooses the permission one call needs from its arguments, where the data decides
#: (an action's owner, whose care plan is printed).
Decide = Callable[..., Permission]


def requires(
    permission: Permission, *, decide: Decide | None = None
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Declare the permission a service entry point needs, and check it on every call.

    The session is the entry point's first argument (or its ``session`` keyword). The
    permission is kept on the function as ``required_permission``, so the table-driven
    test can call every entry point with every role. Where the data decides what a call
    needs, ``decide(principal, *args, **kwargs)`` returns the permission to check
    instead (``permission`` then names the usual case, for the screens and the test).
    """

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            session = _session_argument(args, kwargs)
            if session.info.get(CHECKED_KEY):
                return function(*args, **kwargs)
            principal = principal_of(session)
            if decide is None or principal.setup:
                principal.require(permission)
            else:
                principal.require(decide(principal, *args, **kwargs))
            session.info[CHECKED_KEY] = True
            try:
                return function(*args, **kwargs)
            finally:
                session.info.pop(CHECKED_KEY, None)

        checked.required_permission = permission  # type: ignore[attr-defined]
        return checked

    return decorate


def action_update(
    principal: Principal, session: Session, action: Any, *_: Any, **__: Any
) -> Permission:
    """Deciding :func:`requires`: updating one's own action, or someone else's.

    ``action`` is the action's id, or a row with its ``id`` (an undo restoring a row).
    An action that is not there needs only the lesser permission: the service then says
    it cannot be found.
    """
    action_id = getattr(action, "id", action)
    owner_id = session.scalar(select(Action.owner_id).where(Action.id == action_id))
    if owner_id is None or owner_id == principal.staff_id:
        return Permission.UPDATE_OWN_ACTION
    return Permission.UPDATE_ANY_ACTION


def print_permission(
    principal: Principal,
    session: Session,
    *_: Any,
    kind: DocumentKind,
    patient_id: uuid.UUID | None = None,
    **__: Any,
) -> Permission:
    """Deciding :func:`requires`: a care plan of someone whose care team one is on, any
    other care plan, or a list or meeting paper."""
    if DocumentKind(kind) is not DocumentKind.CARE_PLAN:
        return Permission.PRINT_LISTS
    if (
        principal.staff_id is not None
        and patient_id is not None
        and on_care_team(session, principal.staff_id, patient_id)
    ):
        return Permission.PRINT_TEAM_CARE_PLAN
    return Permission.PRINT_ANY_CARE_PLAN


#: Staff fields only a team administrator may set, from the review list too.
STAFF_ACCESS_FIELDS = frozenset({"roles", "pin_hash", "pin_must_change", "left_on"})


def review_permission(
    principal: Principal, session: Session, item_id: Any, *_: Any, **__: Any
) -> Permission:
    """Deciding :func:`requires`: resolving a sync review item.

    A clash over someone's roles, PIN or leaving date is the team administrator's to
    settle: resolving it as a chair would let the review list grant rights.
    """
    entity, field = session.execute(
        select(ReviewItem.entity, ReviewItem.field).where(ReviewItem.id == item_id)
    ).first() or ("", "")
    if entity == "staff" and field in STAFF_ACCESS_FIELDS:
        return Permission.MANAGE_STAFF
    return Permission.RESOLVE_REVIEW


def _session_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Session:
    session = kwargs.get("session", args[0] if args else None)
    if isinstance(session, Session):
        return session
    raise TypeError("a service that declares a permission takes the session first")


# -- need to know -----------------------------------------------------------------

#: How long a break-glass opening lasts.
BREAK_GLASS_MINUTES = 30


def _coordinator_rows(staff_id: uuid.UUID, patient_id: uuid.UUID) -> Select[Any]:
    """The current coordinator assignments of ``staff_id`` on the person's cases."""
    return (
        select(CoordinatorAssignment.id)
        .join(Case, Case.id == CoordinatorAssignment.case_id)
        .where(
            Case.patient_id == patient_id,
            Case.retired_at.is_(None),
            CoordinatorAssignment.staff_id == staff_id,
            CoordinatorAssignment.ended_on.is_(None),
            CoordinatorAssignment.retired_at.is_(None),
        )
    )


def on_care_team(session: Session, staff_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    """Whether ``staff_id`` coordinates, or is on the care team of, a case of the person."""
    member = (
        select(CareTeamMember.id)
        .join(Case, Case.id == CareTeamMember.case_id)
        .where(
            Case.patient_id == patient_id,
            Case.retired_at.is_(None),
            CareTeamMember.staff_id == staff_id,
            CareTeamMember.left_on.is_(None),
            CareTeamMember.retired_at.is_(None),
        )
    )
    either = _coordinator_rows(staff_id, patient_id).union_all(member)
    return bool(session.scalar(select(exists(either.subquery()))))


def coordinates(session: Session, staff_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    """Whether ``staff_id`` is the current named coordinator of a case of the person."""
    query = _coordinator_rows(staff_id, patient_id)
    return bool(session.scalar(select(exists(query.subquery()))))


def glass_broken(
    session: Session, staff_id: uuid.UUID, patient_id: uuid.UUID, now: dt.datetime
) -> bool:
    """Whether ``staff_id`` broke the glass on the person within the last 30 minutes."""
    from mdt_desk.models import AccessEvent
    from mdt_desk.models.enums import AccessAction

    since = now - dt.timedelta(minutes=BREAK_GLASS_MINUTES)
    query = select(AccessEvent.id).where(
        AccessEvent.patient_id == patient_id,
        AccessEvent.staff_id == staff_id,
        AccessEvent.action == AccessAction.BREAK_GLASS.value,
        AccessEvent.at >= since,
        AccessEvent.retired_at.is_(None),
    )
    return bool(session.scalar(select(exists(query.subquery()))))


def may_read_sensitive(
    session: Session, patient_id: uuid.UUID, *, now: dt.datetime | None = None
) -> bool:
    """Need-to-know: may the acting person read the person's restricted items?

    Yes for initial set-up, a privacy officer, the person's coordinator and care team,
    and anyone whose break-glass on the person is still open. The chair's reveal in
    meeting mode is decided there (``services/meeting_mode.py``).
    """
    principal = principal_of(session)
    if principal.may(Permission.READ_ALL_SENSITIVE):
        return True
    if principal.staff_id is None or not principal.may(Permission.READ_CLINICAL):
        return False
    if on_care_team(session, principal.staff_id, patient_id):
        return True
    from mdt_desk.models.base import utc_now

    return glass_broken(session, principal.staff_id, patient_id, now or utc_now())


def matrix_markdown() -> str:
    """The role × permission matrix as a Markdown table (``docs/security.md`` shows it)."""
    roles = list(Role)
    header = "| permission | " + " | ".join(ROLE_LABELS[role] for role in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    lines = [header, rule]
    for permission in Permission:
        marks = " | ".join("✓" if permission in ROLE_PERMISSIONS[role] else "—" for role in roles)
        lines.append(f"| `{permission.value}`: {PERMISSION_DOING[permission]} | {marks} |")
    return "\n".join(lines)
