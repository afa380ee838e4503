"""The team as its administrator sees it: who has which roles, practices and PIN.

Settings → Team lists every current staff member with what the administrator looks
after (roles, practices covered, whether a PIN is set, a leaver's last day) and changes
the practices a person covers. Adding staff is :func:`mdt_desk.services.staff.add_staff`;
roles, PINs and leavers are in :mod:`mdt_desk.services.sign_in`.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, ValidationError
from mdt_desk.models import Practice, Staff, StaffPracticeCover
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import Profession, Role
from mdt_desk.services.access import Permission, parse_roles, requires
from mdt_desk.services.ids import practice_cover_id_for
from mdt_desk.services.staff import display_staff_name


@dataclass(frozen=True, slots=True)
class TeamMember:
    """One row of Settings → Team. Never the PIN or its hash: only whether one is set."""

    id: uuid.UUID
    display_name: str
    profession: Profession
    roles: frozenset[Role]
    practice_codes: tuple[str, ...]
    pin_set: bool
    pin_must_change: bool
    left_on: dt.date | None


@requires(Permission.MANAGE_STAFF)
def team_roster(session: Session) -> list[TeamMember]:
    """Current staff by family name, with roles, practices covered and PIN state."""
    covers: dict[uuid.UUID, list[str]] = {}
    for staff_id, code in session.execute(
        select(StaffPracticeCover.staff_id, Practice.ods_code)
        .join(Practice, Practice.id == StaffPracticeCover.practice_id)
        .where(StaffPracticeCover.retired_at.is_(None))
        .order_by(Practice.ods_code)
    ):
        covers.setdefault(staff_id, []).append(code)
    return [
        TeamMember(
            id=staff.id,
            display_name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            profession=staff.profession,
            roles=parse_roles(staff.roles),
            practice_codes=tuple(covers.get(staff.id, ())),
            pin_set=bool(staff.pin_hash),
            pin_must_change=staff.pin_must_change,
            left_on=staff.left_on,
        )
        for staff in session.scalars(
            select(Staff)
            .where(Staff.retired_at.is_(None))
            .order_by(Staff.family_name, Staff.given_name)
        )
    ]


@requires(Permission.MANAGE_STAFF)
def set_practices_covered(
    session: Session, staff_id: uuid.UUID, practice_codes: tuple[str, ...] | list[str]
) -> str:
    """Make ``staff_id`` cover exactly the practices ``practice_codes``; says what changed.

    A practice no longer covered has its row retired (never deleted, so the change
    syncs); covering it again restores that row, whose id is the same on every desk.
    """
    staff = session.get(Staff, staff_id)
    if staff is None or staff.retired_at is not None:
        raise NotFoundError("That staff member is not on this team.")
    wanted: dict[uuid.UUID, str] = {}
    for code in practice_codes:
        practice = session.scalar(
            select(Practice).where(
                Practice.ods_code == code.strip().upper(), Practice.retired_at.is_(None)
            )
        )
        if practice is None:
            raise ValidationError(
                f"There is no practice {code} in this store.",
                {"practice_codes": f"There is no practice {code} in this store."},
            )
        wanted[practice.id] = practice.ods_code
    existing = {
        cover.practice_id: cover
        for cover in session.scalars(
            select(StaffPracticeCover).where(StaffPracticeCover.staff_id == staff_id)
        )
    }
    added: list[str] = []
    removed: list[str] = []
    for practice_id, code in wanted.items():
        cover = existing.get(practice_id)
        if cover is None:
            session.add(
                StaffPracticeCover(
                    id=practice_cover_id_for(staff_id, practice_id),
                    staff_id=staff_id,
                    practice_id=practice_id,
                )
            )
            added.append(code)
        elif cover.retired_at is not None:
            cover.retired_at = None
            added.append(code)
    codes: dict[uuid.UUID, str] = {
        practice_id: code
        for practice_id, code in session.execute(
            select(Practice.id, Practice.ods_code).where(
                Practice.id.in_([p for p in existing if p not in wanted])
            )
        )
    }
    now = utc_now()
    for practice_id, cover in existing.items():
        if practice_id not in wanted and cover.retired_at is None:
            cover.retired_at = now
            removed.append(codes.get(practice_id, "?"))
    session.flush()
    name = display_staff_name(staff.family_name, staff.given_name, staff.title)
    if not added and not removed:
        return f"{name}: practices covered unchanged."
    said = []
    if added:
        said.append("now covers " + ", ".join(sorted(added)))
    if removed:
        said.append("no longer covers " + ", ".join(sorted(removed)))
    return f"{name} " + "; ".join(said) + "."
