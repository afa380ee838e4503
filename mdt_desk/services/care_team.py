"""Who the person reads as "People involved in my care", consistent with the plan's top.

The care team is free text: each member's role is typed, and a coordinator is often
added to the team as "Care coordinator". When the case is handed to someone else, that
row stays. Printed as it stands, the plan would name the new coordinator at the top
and the old one as "Care coordinator" underneath, and the person would not know whom
to call. :func:`people_involved` is the one rule for what the person reads:

- the current coordinator is listed first, as "Care coordinator", together with any
  other role they hold in the team;
- nobody else is listed as a coordinator: a former coordinator (or anyone whose row
  still says "Care coordinator") appears only in the other roles they still hold, and
  not at all if they hold none;
- everyone else who is in the team now is listed in the team's order;
- anyone else the plan names as doing (or having done) one of its actions follows, with
  their profession, so the person can tell who "Rajesh Patel" is and how to reach
  them. Only the owners of actions the plan shows are passed in: the owner of a
  sensitive action alone is never named because of it.
"""

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdt_desk.models import Staff
from mdt_desk.services.case_view import CareTeamMemberView, CaseView
from mdt_desk.services.display import label
from mdt_desk.services.staff import display_staff_name

COORDINATOR_ROLE = "Care coordinator"

# "Care coordinator", "Care co-ordinator", "Coordinator", "Lead care coordinator (social
# worker)": a role that says its holder coordinates the care, which only the case's
# current coordinator may be shown as.
_COORDINATOR_ROLE = re.compile(
    r"^(?:(?:named|lead|key|main)\s+)?(?:(?:care|case)\s+)?co-?ordinator\b\s*(?:\(.*\))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PersonInvolved:
    """One line of "People involved in my care".

    Attributes:
        role: what they do, in words (``Care coordinator, District nurse``).
        contact: how to reach them, as recorded; empty when nothing is recorded.
        is_coordinator: this is the case's current care coordinator.
    """

    name: str
    role: str
    organisation: str
    contact: str
    is_coordinator: bool
    staff_id: uuid.UUID | None


def is_coordinator_role(role: str) -> bool:
    """True for a typed role that says "care coordinator" in any of its usual spellings."""
    return bool(_COORDINATOR_ROLE.match(" ".join(role.split())))


def _role_of(member: CareTeamMemberView) -> str:
    return member.role.strip() or member.profession_text


def people_involved(
    session: Session, case: CaseView, action_owner_ids: Iterable[uuid.UUID] = ()
) -> tuple[PersonInvolved, ...]:
    """The people involved in the person's care now, the current coordinator first.

    Args:
        action_owner_ids: the owners of the actions the person's copy shows (never of
            sensitive ones); those not listed otherwise are added, by profession.
    """
    current = [member for member in case.care_team if member.current]
    coordinator = case.coordinator
    people: list[PersonInvolved] = []
    if coordinator is not None:
        own = [member for member in current if member.staff_id == coordinator.staff_id]
        others = [
            role
            for role in dict.fromkeys(_role_of(member) for member in own)
            if role and not is_coordinator_role(role)
        ]
        staff = session.get(Staff, coordinator.staff_id)
        organisation = next((m.organisation for m in own if m.organisation.strip()), "") or (
            staff.organisation if staff is not None else ""
        )
        contact = next((m.contact for m in own if m.contact.strip()), "") or (
            (staff.phone.strip() or staff.email.strip()) if staff is not None else ""
        )
        people.append(
            PersonInvolved(
                name=coordinator.name,
                role=", ".join([COORDINATOR_ROLE, *others]),
                organisation=organisation.strip(),
                contact=contact.strip(),
                is_coordinator=True,
                staff_id=coordinator.staff_id,
            )
        )
    for member in current:
        if coordinator is not None and member.staff_id == coordinator.staff_id:
            continue  # listed first, with every role they hold
        role = _role_of(member)
        if is_coordinator_role(role):
            continue  # only the current coordinator is shown as one
        people.append(
            PersonInvolved(
                name=member.name,
                role=role,
                organisation=member.organisation.strip(),
                contact=member.contact.strip(),
                is_coordinator=False,
                staff_id=member.staff_id,
            )
        )
    listed = {person.staff_id for person in people if person.staff_id is not None}
    for owner_id in dict.fromkeys(action_owner_ids):
        if owner_id in listed:
            continue
        owner = session.get(Staff, owner_id)
        if owner is None:
            continue
        people.append(
            PersonInvolved(
                name=display_staff_name(owner.family_name, owner.given_name, owner.title),
                role=label(owner.profession),
                organisation=owner.organisation.strip(),
                contact=(owner.phone.strip() or owner.email.strip()),
                is_coordinator=False,
                staff_id=owner.id,
            )
        )
        listed.add(owner_id)
    return tuple(people)
