"""Rebuilding a lost team hub from the desks (``mdt-desk hub reseed URL``).

When the hub's database is lost and re-created, every desk still holds its own changes
in its journal, whole and sealed, and the records it received. An administrator runs
``hub reseed`` from one desk that holds the whole team's records: the new, empty hub
takes the lost hub's identity, so the desks recognise it as their hub again; this desk
sends its own changes; and each other desk, at its next sync, finds that its hub went
back in time (``continuity.py``), sends again everything of its own that the hub
lacks and reads the hub again. The hub remakes its review items on the way, under the
same ids (``push._conflict_id``), so none is doubled.

A hub that holds changes is never reseeded: it is in use (this team's, or another's).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, inspect, select, update
from sqlalchemy.exc import DBAPIError

from mdt_desk.models.store import Store
from mdt_desk.sync.client import META_HUB_ID as META_DESK_HUB_ID
from mdt_desk.sync.client import Progress, SyncReport, sync_once
from mdt_desk.sync.desk_scope import desk_scope
from mdt_desk.sync.hub import (
    META_HUB_ID,
    HubError,
    _unreachable,
    hub_change,
    hub_meta,
    init_hub,
    read_hub_info,
    redacted,
)


@dataclass(frozen=True, slots=True)
class ReseedReport:
    hub_id: str
    #: the hub had another (new, empty) identity, replaced by the team's
    identity_restored: bool
    sync: SyncReport


def reseed_hub(
    store: Store,
    engine: Engine,
    *,
    address: str,
    label: str,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ReseedReport:
    """Give an empty hub this desk's team hub identity, then send it this desk's changes.

    Raises:
        HubError: this desk never synced with a hub, or the hub holds changes already.
        HubUnreachableError: the hub did not answer; nothing changed.
    """
    team_hub = store.get_meta(META_DESK_HUB_ID)
    shown = redacted(engine.url)
    if not team_hub:
        raise HubError(
            "This desk has never synced with a team hub, so it cannot tell which hub to "
            "rebuild: reseed from a desk that has."
        )
    if not desk_scope(store).all_practices:
        raise HubError(
            "This desk holds only some practices' people: reseed the hub from a full desk "
            "(one that holds every practice), so no practice's records are left out."
        )
    try:
        with engine.connect() as connection:
            set_up = inspect(connection).has_table("hub_meta")
            held = (
                int(connection.execute(select(func.count()).select_from(hub_change)).scalar_one())
                if set_up and inspect(connection).has_table("hub_change")
                else 0
            )
    except DBAPIError as error:
        raise _unreachable(engine.url, error) from error
    if held:
        if read_hub_info(engine).hub_id.hex == team_hub:
            raise HubError(
                f"The team hub at {shown} is this team's hub and holds {held:,} changes: it "
                "needs no reseeding. Nothing was changed; desks sync with it as usual."
            )
        raise HubError(
            f"The hub at {shown} holds {held:,} changes of another hub: only a new, empty "
            "hub can be reseeded. Nothing was changed."
        )
    info = init_hub(engine)  # a database with nothing in it yet becomes a hub first
    restored = info.hub_id.hex != team_hub
    if restored:
        try:
            with engine.begin() as connection:
                connection.execute(
                    update(hub_meta)
                    .where(hub_meta.c.key == META_HUB_ID)
                    .values(value=uuid.UUID(team_hub).hex)
                )
        except DBAPIError as error:
            raise _unreachable(engine.url, error) from error
    report = sync_once(
        store, engine, address=address, label=label, progress=progress, should_stop=should_stop
    )
    return ReseedReport(hub_id=team_hub, identity_restored=restored, sync=report)
