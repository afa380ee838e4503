"""The desk: an open store, the staff member using it and the team hub it syncs with.

Every screen works through one :class:`Desk`. Its :meth:`Desk.write` opens a journalled
transaction whose actor is the signed-in staff member, so no screen can forget to say
who made a change.

A desk is immutable: signing in as someone else makes a new one
(:meth:`Desk.sign_in`), which the app's task runner swaps in on the GUI thread and
announces. A job already queued keeps the desk it was queued with, so no worker thread
ever sees a desk change under it.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from mdt_desk.models.store import Store
from mdt_desk.services import staff as staff_service
from mdt_desk.services.access import Principal

#: The store_meta key under which a sync records its team hub's address (never with a
#: password). The same key as ``mdt_desk.sync.client.META_HUB_ADDRESS``: the command
#: line's ``sync --hub`` and the app's sync both write it, so the app shows that hub.
HUB_ADDRESS_META = "sync_hub_address"


@dataclass(frozen=True, slots=True)
class Desk:
    """An open store and who is signed in on it (``actor_id`` is None before set-up).

    ``hub_address`` is the team hub this store last synced with or joined (from the
    command line or the app), without a password; None for a desk that never synced.
    """

    store: Store
    actor_id: uuid.UUID | None
    actor_name: str
    hub_address: str | None = None
    #: who signed in, with their roles as they were then: for the screens to decide
    #: what to show. The services never trust it: every session resolves the actor's
    #: roles afresh from the store (``services/access.py``), so a role taken away or a
    #: leaver's last day applies at once.
    principal: Principal | None = None

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
        hub = (store.get_meta(HUB_ADDRESS_META) or "").strip() or None
        return cls(store=store, actor_id=actor_id, actor_name=name, hub_address=hub)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read session acting as the signed-in staff member (their roles apply)."""
        with self.store.read(self.actor_id) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A journalled transaction made by the signed-in staff member."""
        label = self.actor_name or staff_service.setup_actor_label()
        with self.store.write(self.actor_id, label) as session:
            yield session

    def signed_in_as(self, principal: Principal) -> "Desk":
        """The desk acting as ``principal``, after their PIN was checked."""
        return replace(
            self,
            actor_id=principal.staff_id,
            actor_name=principal.display_name,
            principal=principal,
        )

    def sign_in(self, staff_id: uuid.UUID) -> "Desk":
        """Record ``staff_id`` as signed in on the store; the desk whose changes are theirs.

        This desk is left as it was: the caller swaps the new one in (the app's task
        runner does so on the GUI thread, :meth:`mdt_desk.ui.runner.TaskRunner.set_desk`).
        """
        member = staff_service.sign_in(self.store, staff_id)
        return replace(self, actor_id=member.id, actor_name=member.display_name)

    def reread(self) -> "Desk":
        """The desk as the store now says (after a demo or set-up signed someone in)."""
        return Desk.for_store(self.store)
