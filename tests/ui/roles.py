"""Main windows acting as a demo staff member of a given role, for the role tests.

The demo store is past set-up (every demo staff member has the demo PIN), and has staff
in every role. A window here is what the app shows after that person typed their PIN:
the desk acts as them (``Desk.signed_in_as``), with the roles the store gives them, and
no PIN is hashed, so the tests stay quick.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from mdt_desk.models import Staff
from mdt_desk.models.enums import Role
from mdt_desk.models.store import Store
from mdt_desk.services.access import Principal, format_roles, parse_roles
from mdt_desk.services.desk import Desk
from mdt_desk.services.sign_in import set_roles
from mdt_desk.services.staff import display_staff_name
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.runner import TaskRunner


def staff_with_roles(store: Store, *roles: Role) -> Principal:
    """The first demo staff member whose roles are exactly ``roles``."""
    wanted = format_roles(roles)
    with store.read() as session:
        member = session.scalars(
            select(Staff)
            .where(Staff.roles == wanted, Staff.retired_at.is_(None))
            .order_by(Staff.family_name)
        ).first()
        assert member is not None, f"the demo has nobody who is only {wanted}"
        return Principal(
            staff_id=member.id,
            display_name=display_staff_name(member.family_name, member.given_name, member.title),
            roles=parse_roles(member.roles),
        )


@contextmanager
def window_as(qtbot, path: Path, *roles: Role) -> Iterator[MainWindow]:
    """The main window on ``path`` signed in as a staff member with exactly ``roles``."""
    store = Store.open(path)
    principal = staff_with_roles(store, *roles)
    window = MainWindow(TaskRunner(Desk.for_store(store).signed_in_as(principal)))
    qtbot.addWidget(window)
    window.show()
    try:
        yield window
    finally:
        window.close()


def give_roles(path: Path, only: Role, roles: set[Role]) -> None:
    """Give the demo staff member who is only ``only`` the ``roles`` instead."""
    with Store.open(path) as store:
        principal = staff_with_roles(store, only)
        assert principal.staff_id is not None
        with store.write(principal.staff_id, principal.display_name) as session:
            set_roles(session, principal.staff_id, roles)
