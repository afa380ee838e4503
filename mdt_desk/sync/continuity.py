"""Noticing a team hub that has gone back in time, and catching it up again.

A hub restored from an older backup has lost the changes made after the backup: its
log is shorter than the desks remember, and the next pushes reuse the sequence numbers
of the lost ones. Left alone, a desk would skip those new changes (its cursor is past
them) and be refused for ever ("the hub is missing changes this desk sent earlier").

So a desk remembers *marks*: a few positions of the hub's log it has read, each with
the transaction it found there. Before each sync it asks the hub what stands at them.
When the hub holds less than the desk read, or something else stands at a mark, the
hub has gone back: the desk

- pulls again from its newest mark that still matches (what it applied already is not
  applied twice: ``client.apply_page`` knows a change it journalled);
- pushes again, from its own journal, every change of its own the hub no longer has;
- withdraws the hub's own seals (review items, settlements) that the hub lost, keeping
  them aside in ``journal_seal_withdrawn``, so the hub's chain goes on from where the
  restored hub is instead of raising a tamper alarm on every later review item.

Nothing typed on any desk is lost: every desk's own changes are in its journal until the
hub has them again. Marks thin out with age (dense near the cursor, sparse far back), so
a few dozen cover a long history and a rewind goes back at most about an eighth of the
way past the point the hub was restored to.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from mdt_desk.models.seal import last_seal, withdraw_seals
from mdt_desk.models.store import Store
from mdt_desk.sync.hub import log_end
from mdt_desk.sync.protocol import META_PULL_CURSOR, META_PUSHED_THROUGH

log = logging.getLogger(__name__)

#: JSON list of ``[server_seq, tx_id]``: positions of the hub's log this desk has read.
META_PULL_MARKS = "sync_pull_marks"
#: Marks kept at full density next to the cursor; older ones are thinned.
_RECENT_MARKS = 16
#: An older mark is kept when it is at least 1/_SPACING of its age from the last kept.
_SPACING = 8


def _read_marks(value: str | None) -> list[tuple[int, str]]:
    if not value:
        return []
    try:
        return [(int(seq), str(tx)) for seq, tx in json.loads(value)]
    except (ValueError, TypeError):  # a damaged note: no marks, so a full re-check
        log.warning("the desk's hub marks were unreadable and are dropped")
        return []


def thinned(marks: list[tuple[int, str]], newest: int) -> list[tuple[int, str]]:
    """``marks`` newest first, keeping all recent ones and geometrically fewer older."""
    ordered = sorted(set(marks), reverse=True)
    kept: list[tuple[int, str]] = []
    for index, (seq, tx) in enumerate(ordered):
        if index < _RECENT_MARKS or not kept:
            kept.append((seq, tx))
            continue
        age = max(newest - seq, 1)
        if kept[-1][0] - seq >= age / _SPACING:
            kept.append((seq, tx))
    return kept


def remember_mark(store: Store, session: Session, seq: int, tx_id: str) -> None:
    """Note that the hub's log holds ``tx_id`` at ``seq`` (in the page's transaction)."""
    if seq <= 0 or not tx_id:
        return
    value = session.execute(
        text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_PULL_MARKS}
    ).scalar_one_or_none()
    marks = _read_marks(value)
    marks.append((seq, tx_id))
    store.set_meta(session, META_PULL_MARKS, json.dumps(thinned(marks, seq)))


@dataclass(frozen=True, slots=True)
class HubWentBack:
    """What a desk found when its hub holds less than it read or sent."""

    #: the hub's log now ends here (its newest change)
    hub_last_seq: int
    #: pull again after this position (the newest mark that still matches)
    pull_from: int
    #: the desk had read up to here
    cursor: int
    #: push again after this origin sequence of the desk's own (None: the hub has them)
    push_from: int | None
    #: the hub's own chain now ends at this number (None: nothing of it to withdraw)
    hub_chain_from: int | None

    def describe(self) -> str:
        resent = (
            " This desk's changes the hub lost are being sent again."
            if self.push_from is not None
            else ""
        )
        return (
            "The team hub has gone back in time (it was restored from an older backup): "
            f"it holds its log up to {self.hub_last_seq:,} where this desk had read "
            f"{self.cursor:,}. This desk reads it again from {self.pull_from:,}.{resent}"
        )


def _hub_int(connection: object, sql: str, **params: object) -> int:
    value = connection.execute(text(sql), params).scalar_one_or_none()  # type: ignore[attr-defined]
    return int(value) if value is not None else 0


def _standing_at(connection: Any, places: list[int]) -> dict[int, str]:
    """The transaction at each of ``places`` in the hub's log. On a PostgreSQL hub with
    desk logins, through the hub's own function: row-level security hides records that
    left this desk's practices, which must not look like the hub going back in time."""
    listed = ", ".join(str(int(seq)) for seq in places)
    guarded = (
        connection.dialect.name == "postgresql"
        and connection.execute(
            text("SELECT to_regprocedure('hub_tx_at(bigint[])') IS NOT NULL")
        ).scalar_one()
    )
    sql = (
        f"SELECT server_seq, tx_id FROM hub_tx_at(ARRAY[{listed}]::bigint[])"
        if guarded
        else f"SELECT server_seq, tx_id FROM hub_change WHERE server_seq IN ({listed})"
    )
    return {int(seq): str(tx) for seq, tx in connection.execute(text(sql))}


def check_hub(store: Store, engine: Engine, hub_site: str) -> HubWentBack | None:
    """Whether the hub went back in time since this desk last synced (reads only)."""
    me = store.replica_id.hex
    cursor = int(store.get_meta(META_PULL_CURSOR) or 0)
    pushed = int(store.get_meta(META_PUSHED_THROUGH) or 0)
    marks = sorted(_read_marks(store.get_meta(META_PULL_MARKS)), reverse=True)
    with engine.connect() as connection:
        last_seq = log_end(connection)
        found = _standing_at(connection, [seq for seq, _tx in marks]) if marks else {}
        have_mine = _hub_int(
            connection, "SELECT max(origin_seq) FROM hub_change WHERE origin_site = :me", me=me
        )
        hub_chain = _hub_int(
            connection, "SELECT max(chain_seq) FROM hub_seal WHERE origin_site = :o", o=hub_site
        )
    matching = [seq for seq, tx in marks if found.get(seq) == tx]
    # Read as far as the hub now goes, and the newest position read still holds.
    pull_holds = cursor <= last_seq and (not marks or matching[:1] == [marks[0][0]])
    push_holds = have_mine >= pushed
    if pull_holds and push_holds:
        return None
    with store.read() as session:
        kept_chain = last_seal(session, hub_site)[0]
    return HubWentBack(
        hub_last_seq=last_seq,
        pull_from=cursor if pull_holds else min(matching[0] if matching else 0, last_seq),
        cursor=cursor,
        push_from=None if push_holds else have_mine,
        hub_chain_from=hub_chain if kept_chain > hub_chain else None,
    )


def catch_up(store: Store, found: HubWentBack, hub_site: str) -> int:
    """Move this desk's positions back to what the hub holds; the hub seals withdrawn.

    Pulling again and pushing again happen in the sync that follows."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    withdrawn = 0
    with store.write_session() as session:
        store.set_meta(session, META_PULL_CURSOR, str(found.pull_from))
        marks = _read_marks(
            session.execute(
                text("SELECT value FROM store_meta WHERE key = :k"), {"k": META_PULL_MARKS}
            ).scalar_one_or_none()
        )
        kept = [(seq, tx) for seq, tx in marks if seq <= found.pull_from]
        store.set_meta(session, META_PULL_MARKS, json.dumps(kept))
        if found.push_from is not None:
            store.set_meta(session, META_PUSHED_THROUGH, str(found.push_from))
        if found.hub_chain_from is not None:
            withdrawn = withdraw_seals(
                session,
                hub_site,
                after=found.hub_chain_from,
                at=at,
                reason=(
                    f"the team hub went back in time: its log ended at {found.hub_last_seq} "
                    f"where this desk had read {found.cursor}"
                ),
            )
    log.warning(
        "the team hub went back in time (log ends at %s, this desk had read %s): pulling "
        "again from %s, pushing again from %s, %s hub seals withdrawn",
        found.hub_last_seq,
        found.cursor,
        found.pull_from,
        found.push_from,
        withdrawn,
    )
    return withdrawn
