"""The desk: an open store and the staff member using it.

Every screen works through one :class:`Desk`. Its :meth:`Desk.write` opens a journalled
transaction whose actor is the signed-in staff member, so no screen can forget to say
who made a change.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service


@dataclass
class Desk:
    """An open store and who is signed in on it (``actor_id`` is None before set-up)."""

    store: Store
    actor_id: uuid.UUID | None
    actor_name: str

    @classmethod
    def for_store(cls, store: Store) -> "Desk":
        """The desk as the store was left: signed in as its last signed-in staff member."""
        actor_id = staff_service.signed_in_staff_id(store)
        name = ""
        if actor_id is not None:
            with store.read() as session:
                names = {
                    member.id: member.display_name for member in staff_service.list_staff(session)
                }
            name = names.get(actor_id, "")
            if not name:
                actor_id = None
        return cls(store=store, actor_id=actor_id, actor_name=name)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.store.read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A journalled transaction made by the signed-in staff member."""
        label = self.actor_name or staff_service.setup_actor_label()
        with self.store.write(self.actor_id, label) as session:
            yield session

    def sign_in(self, staff_id: uuid.UUID) -> None:
        """Make ``staff_id`` the actor of every later change on this desk."""
        member = staff_service.sign_in(self.store, staff_id)
        self.actor_id = member.id
        self.actor_name = member.display_name
