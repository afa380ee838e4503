"""Staff: the team members, the practices they cover, and who uses this desk."""

import datetime as dt
import getpass
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, ValidationError
from mdt_desk.models import Practice, Staff, StaffPracticeCover
from mdt_desk.models.enums import Profession, Role
from mdt_desk.models.store import META_SIGNED_IN_STAFF, Store
from mdt_desk.services.access import Permission, format_roles, parse_roles, requires
from mdt_desk.services.ids import practice_cover_id_for
from mdt_desk.services.text_safety import check_name
from mdt_desk.services.validation import require_name


@dataclass(frozen=True)
class StaffSummary:
    id: uuid.UUID
    display_name: str
    profession: Profession
    organisation: str
    practice_codes: tuple[str, ...]
    #: role ids (``care_coordinator``…) in the matrix's order; whether a PIN is set (never the PIN
    #: or its hash), and a leaver's last day: the staff directory, as the sign-in
    #: screen and ``mdt-desk staff list`` show it.
    roles: tuple[str, ...] = ()
    pin_set: bool = False
    left_on: dt.date | None = None


#: The roles of the first staff member of an empty store: they set the team up and
#: coordinate cases. Anyone added later is a team member until given other roles.
FIRST_STAFF_ROLES = frozenset({Role.CARE_COORDINATOR, Role.TEAM_ADMINISTRATOR})


def role_ids(roles: str) -> tuple[str, ...]:
    """A staff record's roles as ids, in the order the matrix lists the roles."""
    held = parse_roles(roles)
    return tuple(role.value for role in Role if role in held)


def default_roles(session: Session) -> frozenset[Role]:
    """The roles a new staff member gets when none are chosen."""
    if session.scalar(select(Staff.id).where(Staff.retired_at.is_(None)).limit(1)) is None:
        return FIRST_STAFF_ROLES
    return frozenset({Role.TEAM_MEMBER})


def display_staff_name(family_name: str, given_name: str, title: str = "") -> str:
    """Staff are named the everyday way: ``Given Family``."""
    return " ".join(part for part in (title, given_name, family_name) if part)


@requires(Permission.MANAGE_STAFF)
def add_staff(
    session: Session,
    *,
    family_name: str,
    given_name: str,
    profession: Profession | str,
    title: str = "",
    organisation: str = "",
    email: str = "",
    phone: str = "",
    practice_codes: tuple[str, ...] = (),
    roles: Iterable[Role] = (),
) -> StaffSummary:
    """Add a team member covering the given practices, with ``roles`` (none: no role
    yet; :func:`default_roles` gives the usual ones)."""
    errors: dict[str, str] = {}
    try:
        family = require_name(family_name, "family_name", "family name")
    except ValidationError as error:
        errors.update(error.field_errors)
    try:
        given = require_name(given_name, "given_name", "given name")
    except ValidationError as error:
        errors.update(error.field_errors)
    try:
        title = check_name(title, "title", "title")
    except ValidationError as error:
        errors.update(error.field_errors)
    try:
        chosen_profession = Profession(profession)
    except ValueError:
        errors["profession"] = (
            f"'{profession}' is not a profession MDT Desk knows: choose one of "
            + ", ".join(member.value for member in Profession)
            + "."
        )
    practices = []
    for code in practice_codes:
        practice = session.scalar(select(Practice).where(Practice.ods_code == code.upper()))
        if practice is None:
            errors["practice_codes"] = f"There is no practice {code} in this store."
        else:
            practices.append(practice)
    if errors:
        raise ValidationError(" ".join(dict.fromkeys(errors.values())), errors)
    staff = Staff(
        family_name=family,
        given_name=given,
        title=title.strip(),
        profession=chosen_profession,
        organisation=organisation.strip(),
        email=email.strip(),
        phone=phone.strip(),
        roles=format_roles(roles),
    )
    session.add(staff)
    session.flush()
    for practice in practices:
        session.add(
            StaffPracticeCover(
                id=practice_cover_id_for(staff.id, practice.id),
                staff_id=staff.id,
                practice_id=practice.id,
            )
        )
    session.flush()
    return StaffSummary(
        id=staff.id,
        display_name=display_staff_name(staff.family_name, staff.given_name, staff.title),
        profession=staff.profession,
        organisation=staff.organisation,
        practice_codes=tuple(practice.ods_code for practice in practices),
        roles=role_ids(staff.roles),
    )


def list_staff(session: Session) -> list[StaffSummary]:
    """Active staff, by family name, with the practices each covers."""
    covers: dict[uuid.UUID, list[str]] = {}
    for staff_id, code in session.execute(
        select(StaffPracticeCover.staff_id, Practice.ods_code)
        .join(Practice, Practice.id == StaffPracticeCover.practice_id)
        .where(StaffPracticeCover.retired_at.is_(None))
        .order_by(Practice.ods_code)
    ):
        covers.setdefault(staff_id, []).append(code)
    return [
        StaffSummary(
            id=staff.id,
            display_name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            profession=staff.profession,
            organisation=staff.organisation,
            practice_codes=tuple(covers.get(staff.id, ())),
            roles=role_ids(staff.roles),
            pin_set=bool(staff.pin_hash),
            left_on=staff.left_on,
        )
        for staff in session.scalars(
            select(Staff)
            .where(Staff.retired_at.is_(None))
            .order_by(Staff.family_name, Staff.given_name)
        )
    ]


def get_staff(session: Session, staff_id: uuid.UUID) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.retired_at is not None:
        raise NotFoundError("That staff member is not in this store (or has left the team).")
    return staff


def sign_in(store: Store, staff_id: uuid.UUID) -> StaffSummary:
    """Make ``staff_id`` the person using this desk: the actor of every change."""
    with store.write(actor_id=staff_id) as session:
        staff = get_staff(session, staff_id)
        session.execute(
            text("INSERT OR REPLACE INTO store_meta (key, value) VALUES (:k, :v)"),
            {"k": META_SIGNED_IN_STAFF, "v": str(staff_id)},
        )
        return StaffSummary(
            id=staff.id,
            display_name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            profession=staff.profession,
            organisation=staff.organisation,
            practice_codes=(),
        )


def signed_in_staff_id(store: Store) -> uuid.UUID | None:
    """The staff member signed in at this desk, if any."""
    value = store.get_meta(META_SIGNED_IN_STAFF)
    return uuid.UUID(value) if value else None


def setup_actor_label() -> str:
    """How changes are attributed before anyone has signed in (first set-up)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        user = "unknown"
    return f"initial set-up by operating-system user {user}"
