"""Signing in with a PIN: argon2id hashes, lock-outs, one-time PINs, leavers and roles.

A PIN (or passphrase: any text of at least six characters) is kept only as an argon2id
hash on the staff record, so it syncs with the other staff fields and a person can sign
in on any desk of the team, offline too. The PIN itself is never stored, logged or
journalled. Five wrong PINs in a row lock that person out on this desk for five minutes;
the count is this desk's (``store_meta``), and every failure and lock-out is in the
access log, which syncs.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, UserError, ValidationError
from mdt_desk.models import Staff
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import AccessAction, Role
from mdt_desk.models.store import META_SIGNED_IN_STAFF, Store
from mdt_desk.services import access_log
from mdt_desk.services.access import (
    Permission,
    Principal,
    format_roles,
    parse_roles,
    principal_of,
    requires,
    store_in_setup,
    use_principal,
)
from mdt_desk.services.display import cui_time

PIN_MIN_LENGTH = 6
FAILURES_BEFORE_LOCK_OUT = 5
LOCK_OUT_MINUTES = 5
#: The PIN of every demo staff member (printed by the demo; never for real people).
DEMO_PIN = "246810"

#: argon2id with RFC 9106's low-memory profile (t=3, 64 MiB, 4 lanes): a check takes
#: about 0.13 s on the 2-core reference machine (docs/performance.md), well inside the
#: one second a sign-in may take, and costly for anyone guessing offline.
_HASHER = PasswordHasher()

_FAILURES_META = "pin_failures:"
_LONDON = ZoneInfo("Europe/London")


class PinNotRecognisedError(UserError):
    """The PIN given does not match (exit status 2 on the command line)."""


class LockedOutError(UserError):
    """Too many wrong PINs on this desk: wait until the lock-out ends."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A verified sign-in: who, with which roles, and whether the PIN must be changed."""

    principal: Principal
    must_change_pin: bool


def check_pin_rules(pin: str) -> str:
    """The PIN as it will be hashed, or a ValidationError saying what is wrong."""
    if len(pin) < PIN_MIN_LENGTH:
        raise ValidationError(
            f"A PIN must be at least {PIN_MIN_LENGTH} characters long.",
            {"pin": f"At least {PIN_MIN_LENGTH} characters."},
        )
    if len(pin) > 200:
        raise ValidationError("A PIN or passphrase can be at most 200 characters long.")
    if len(set(pin)) == 1:
        raise ValidationError(
            "A PIN of one character repeated is too easy to guess: choose another.",
            {"pin": "Too easy to guess."},
        )
    return pin


def hash_pin(pin: str) -> str:
    return _HASHER.hash(check_pin_rules(pin))


def pin_matches(pin_hash: str, pin: str) -> bool:
    if not pin_hash:
        return False
    try:
        return _HASHER.verify(pin_hash, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def is_leaver(staff: Staff, today: dt.date) -> bool:
    """A leaver cannot sign in from the day after their last day."""
    return staff.left_on is not None and today > staff.left_on


def _failures(store: Store, staff_id: uuid.UUID) -> tuple[int, dt.datetime | None]:
    value = store.get_meta(_FAILURES_META + staff_id.hex)
    if not value:
        return 0, None
    count, _, until = value.partition("|")
    return int(count), dt.datetime.fromisoformat(until) if until else None


def locked_out_until(
    store: Store, staff_id: uuid.UUID, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When this desk's lock-out of ``staff_id`` ends, or None if they may try now."""
    _count, until = _failures(store, staff_id)
    if until is not None and until > (now or utc_now()):
        return until
    return None


def _name(staff: Staff) -> str:
    from mdt_desk.services.staff import display_staff_name

    return display_staff_name(staff.family_name, staff.given_name, staff.title)


def sign_in_with_pin(
    store: Store, staff_id: uuid.UUID, pin: str, *, now: dt.datetime | None = None
) -> SignedIn:
    """Check ``pin`` for ``staff_id`` and sign them in on this desk.

    Raises PinNotRecognisedError (a wrong PIN, counted), LockedOutError (five wrong in a
    row, for five minutes) or UserError (a leaver, nobody with a PIN). Nothing but the
    access log and this desk's failure count is written on a failure.
    """
    now = now or utc_now()
    with store.read() as session:
        staff = session.get(Staff, staff_id)
        if staff is None or staff.retired_at is not None:
            raise NotFoundError("That staff member is not on this team.")
        name = _name(staff)
        pin_hash, must_change = staff.pin_hash, staff.pin_must_change
        roles = parse_roles(staff.roles)
        leaver = is_leaver(staff, now.astimezone(_LONDON).date())
        setup = store_in_setup(session)
    if setup:
        raise UserError(
            "No one on this team has a PIN yet: set yours first (the welcome screen, or "
            "`mdt-desk staff set-pin STAFF_ID`)."
        )
    if leaver:
        _record(store, staff_id, AccessAction.SIGN_IN_FAILED, "left the team", now)
        raise UserError(f"{name} has left the team and can no longer sign in.")
    until = locked_out_until(store, staff_id, now)
    if until is not None:
        raise LockedOutError(_locked_message(name, until))
    if not pin_hash:
        raise UserError(
            f"{name} has no PIN yet. Ask your team administrator to set a one-time PIN."
        )
    if not pin_matches(pin_hash, pin):
        count, _until = _failures(store, staff_id)
        count += 1
        locks = count >= FAILURES_BEFORE_LOCK_OUT
        until = now + dt.timedelta(minutes=LOCK_OUT_MINUTES) if locks else None
        with store.write(staff_id, name) as session:
            store.set_meta(
                session,
                _FAILURES_META + staff_id.hex,
                f"{0 if locks else count}|{until.isoformat() if until else ''}",
            )
            access_log.append(session, AccessAction.SIGN_IN_FAILED, staff_id=staff_id, at=now)
            if locks:
                access_log.append(
                    session,
                    AccessAction.LOCKED_OUT,
                    staff_id=staff_id,
                    at=now,
                    reason=f"{FAILURES_BEFORE_LOCK_OUT} wrong PINs",
                )
        if until is not None:
            raise LockedOutError(_locked_message(name, until))
        raise PinNotRecognisedError(f"PIN not recognised for {name}.")
    principal = Principal(staff_id=staff_id, display_name=name, roles=roles)
    with store.write(staff_id, name) as session:
        use_principal(session, principal)
        store.delete_meta(session, _FAILURES_META + staff_id.hex)
        store.set_meta(session, META_SIGNED_IN_STAFF, str(staff_id))
        access_log.append(session, AccessAction.SIGN_IN, staff_id=staff_id, at=now)
    return SignedIn(principal=principal, must_change_pin=must_change)


def _record(
    store: Store, staff_id: uuid.UUID, action: AccessAction, reason: str, now: dt.datetime
) -> None:
    with store.write(staff_id, "") as session:
        access_log.append(session, action, staff_id=staff_id, at=now, reason=reason)


def _locked_message(name: str, until: dt.datetime) -> str:
    return (
        f"Too many wrong PINs for {name}: signing in as them on this desk is locked "
        f"until {cui_time(until)[-5:]}."
    )


def sign_out(store: Store, principal: Principal, *, reason: str = "") -> None:
    """Journal that ``principal`` signed out (or that the desk locked on them)."""
    if principal.staff_id is None:
        return
    with store.write(principal.staff_id, principal.display_name) as session:
        use_principal(session, principal)
        access_log.append(
            session, AccessAction.SIGN_OUT, staff_id=principal.staff_id, reason=reason
        )


def set_pin(session: Session, staff_id: uuid.UUID, pin: str, *, one_time: bool = False) -> str:
    """Set ``staff_id``'s PIN; returns what changed, in words.

    Anyone may change their own PIN; setting someone else's needs the team
    administrator's role, and is always a *one-time* PIN the person must change at their
    next sign-in. In set-up, the first person to get a PIN also becomes the team's
    administrator when it has none, as the first user of a new store is.
    """
    principal = principal_of(session)
    staff = session.get(Staff, staff_id)
    if staff is None or staff.retired_at is not None:
        raise NotFoundError("That staff member is not on this team.")
    own = principal.staff_id == staff_id
    if not own and not principal.setup:
        principal.require(Permission.MANAGE_STAFF)
        one_time = True
    setup = principal.setup
    staff.pin_hash = hash_pin(pin)
    staff.pin_must_change = one_time
    changed = f"PIN set for {_name(staff)}" + (
        " (one-time: to change at sign-in)" if one_time else ""
    )
    if setup and not _has_administrator(session):
        staff.roles = format_roles(parse_roles(staff.roles) | {Role.TEAM_ADMINISTRATOR})
        changed += "; they are the team administrator"
    session.flush()
    return changed + "."


def _has_administrator(session: Session) -> bool:
    return _administrator_exists(session, Staff.pin_hash != "")


def _administrator_exists(session: Session, *where: Any) -> bool:
    """Whether a current staff member matching ``where`` is a team administrator."""
    return any(
        Role.TEAM_ADMINISTRATOR in parse_roles(roles)
        for roles in session.scalars(select(Staff.roles).where(Staff.retired_at.is_(None), *where))
    )


@requires(Permission.MANAGE_STAFF)
def set_roles(session: Session, staff_id: uuid.UUID, roles: set[Role] | frozenset[Role]) -> str:
    """Give ``staff_id`` exactly ``roles``; returns what changed, in words."""
    staff = session.get(Staff, staff_id)
    if staff is None or staff.retired_at is not None:
        raise NotFoundError("That staff member is not on this team.")
    if not roles:
        raise ValidationError("Give at least one role.", {"roles": "Choose at least one role."})
    principal = principal_of(session)
    if (
        principal.staff_id == staff_id
        and Role.TEAM_ADMINISTRATOR not in roles
        and Role.TEAM_ADMINISTRATOR in parse_roles(staff.roles)
        and not _other_administrator(session, staff_id)
    ):
        raise ValidationError(
            "You are the team's only administrator: give someone else the role first."
        )
    staff.roles = format_roles(roles)
    session.flush()
    return f"Roles of {_name(staff)}: {staff.roles.replace(' ', ', ')}."


def _other_administrator(session: Session, staff_id: uuid.UUID) -> bool:
    return _administrator_exists(session, Staff.id != staff_id)


@requires(Permission.MANAGE_STAFF)
def record_leaver(session: Session, staff_id: uuid.UUID, last_day: dt.date) -> str:
    """Record ``staff_id``'s last day; after it they cannot sign in on any desk."""
    staff = session.get(Staff, staff_id)
    if staff is None or staff.retired_at is not None:
        raise NotFoundError("That staff member is not on this team.")
    staff.left_on = last_day
    session.flush()
    return f"{_name(staff)} leaves the team on {last_day.isoformat()}: no sign-in after it."
