"""A desk pulls the hub's log through windows that grow while they come back short
(``client._fetch``): however long the runs of its own changes between other desks',
and however small the pages, every other desk's change arrives exactly once, in order,
and none of its own."""

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from mdt_desk.models.store import Store
from mdt_desk.sync import client
from mdt_desk.sync.hub import hub_change
from tests.sync.support import Hub, seed, set_raw, sync

pytestmark = pytest.mark.slow


def _edit(store: Store, action_id: uuid.UUID, times: int, words: str) -> None:
    """``times`` transactions on one desk, each one change (a long run in the log)."""
    for n in range(times):
        set_raw(store, "action", action_id.hex, "description", f"{words} {n}", "desk")


def test_pages_hold_every_other_desks_change_once_past_long_runs_of_its_own(
    desks: Callable[..., Store], hub: Hub, tmp_path: Path
) -> None:
    mine, other = desks("mine"), desks("other")
    seeded = seed(mine, tmp_path)
    sync(mine, hub)
    sync(other, hub, "other")
    start = hub.last_seq()
    action = seeded.action_ids[0]
    # Runs of this desk's own changes far longer than a first window (4 pages of 1),
    # between a few of the other desk's.
    for own_run in (1, 30, 0, 75, 3):
        _edit(other, action, 2, "theirs")
        sync(other, hub, "other")
        _edit(mine, action, own_run, "mine")
        sync(mine, hub)
    end = hub.last_seq()
    me = mine.replica_id.hex
    with hub.engine.connect() as connection:
        log = [
            (int(seq), origin == me)
            for seq, origin in connection.execute(
                select(hub_change.c.server_seq, hub_change.c.origin_site)
                .where(hub_change.c.server_seq > start)
                .order_by(hub_change.c.server_seq)
            )
        ]
    expected = [seq for seq, own in log if not own]
    longest_own_run = max(
        len(run) for run in "".join("m" if own else " " for _, own in log).split()
    )
    assert len(expected) >= 10 and longest_own_run >= 75

    for limit in (*range(1, 13), 250):  # windows of 4, 8, 12, … 48 pages: every boundary
        cursor, seen = start, []
        while cursor < end:
            page = client._fetch(hub.engine, cursor, limit, me=me)
            assert page.through > cursor, f"a page of {limit} did not move past {cursor}"
            assert all(cursor < pulled.server_seq <= page.through for pulled in page.changes)
            assert all(pulled.change.origin_site != me for pulled in page.changes)
            seen += [pulled.server_seq for pulled in page.changes]
            cursor = page.through
        assert seen == expected, f"pages of {limit}"

    # From every place in the log, one page of one: the first other desk's change after
    # it, wherever the windows' edges fall.
    for cursor in range(start, end):
        page = client._fetch(hub.engine, cursor, 1, me=me)
        wanted = [seq for seq in expected if cursor < seq <= page.through]
        assert [pulled.server_seq for pulled in page.changes] == wanted
        assert wanted[:1] == [seq for seq in expected if seq > cursor][:1], f"from {cursor}"
