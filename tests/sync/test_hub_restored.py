"""A team hub restored from an older backup: the desks notice it went back in time,
send again what it lost from their own journals, and converge with nothing lost.

On PostgreSQL the hub is backed up with ``pg_dump`` and restored with ``pg_restore``
into a re-created database between syncs; the SQLite hub is a file copied back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mdt_desk.cli import main
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.sync.client import HubReplacedError, chain_alarms, outbox_count
from mdt_desk.sync.desk_scope import DeskScope, set_scope
from mdt_desk.sync.hub import hub_engine
from tests.sync.support import (
    PG_ADMIN_URL,
    Hub,
    assert_matches_hub,
    assert_sound,
    digest,
    field_value,
    pg_admin,
    quiesce,
    review_items,
    seed,
    sync,
)

Desks = Callable[..., Store]

pytestmark = pytest.mark.slow


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed to back up and restore a PostgreSQL hub")
    return found


class Backup:
    """One backup of the hub, restored over it later (the hub's engine is renewed)."""

    def __init__(self, hub: Hub, folder: Path) -> None:
        self.hub = hub
        self.path = folder / f"hub-backup-{uuid.uuid4().hex[:6]}"
        if hub.kind == "sqlite":
            hub.engine.dispose()
            shutil.copy(make_url(hub.url).database or "", self.path)
            return
        database = make_url(hub.url).database or ""
        subprocess.run(
            [_pg_tool("pg_dump"), "-Fc", "-f", str(self.path), "-d", self._dsn(database)],
            check=True,
            capture_output=True,
        )

    @staticmethod
    def _dsn(database: str) -> str:
        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{database}"

    def restore(self) -> None:
        hub = self.hub
        hub.engine.dispose()
        if hub.kind == "sqlite":
            shutil.copy(self.path, make_url(hub.url).database or "")
        else:
            database = make_url(hub.url).database or ""
            admin = pg_admin()
            try:
                admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{database}"')
            finally:
                admin.close()
            subprocess.run(
                [_pg_tool("pg_restore"), "-d", self._dsn(database), str(self.path)],
                check=True,
                capture_output=True,
            )
        hub.engine = hub_engine(hub.url)


@pytest.fixture
def backup_of(tmp_path: Path) -> Iterator[Callable[[Hub], Backup]]:
    yield lambda hub: Backup(hub, tmp_path)


def _edit_action(store: Store, label: str, action_id: uuid.UUID, **values: object) -> None:
    with store.write(None, label) as session:
        plans.update_action(session, action_id, **values)  # type: ignore[arg-type]


def _add_action(store: Store, case_id: uuid.UUID, words: str) -> uuid.UUID:
    with store.write(None, "desk") as session:
        owner = session.execute(text("SELECT id FROM staff ORDER BY id LIMIT 1")).scalar_one()
        return plans.add_action(
            session,
            case_id,
            description=words,
            owner_id=uuid.UUID(str(owner)),
            due_on=dt.date.today() + dt.timedelta(days=9),
        ).id


def _withdrawn_seals(store: Store) -> int:
    with store.read() as session:
        return int(
            session.execute(text("SELECT count(*) FROM journal_seal_withdrawn")).scalar_one()
        )


def test_a_hub_restored_from_an_older_backup_loses_nothing(
    desks: Desks, hub: Hub, tmp_path: Path, backup_of: Callable[[Hub], Backup]
) -> None:
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path)
    quiesce([a, b], hub)
    backup = backup_of(hub)

    # After the backup: each desk adds an action, and both change the same action's
    # words, so the hub makes a review item (its own sealed transaction) that the
    # restored hub will not have either.
    lost_on_a = _add_action(a, seeded.case_ids[0], "Book the falls clinic")
    lost_on_b = _add_action(b, seeded.case_ids[1], "Ask about the stairlift")
    _edit_action(a, "Ann on desk A", seeded.action_ids[0], description="A says this")
    _edit_action(b, "Bob on desk B", seeded.action_ids[0], description="B says that")
    quiesce([a, b], hub)
    (item_before,) = review_items(a)
    hub_before = hub.last_seq()

    backup.restore()
    assert hub.last_seq() < hub_before

    # Typed after the restore, before either desk has synced with it again.
    after_on_b = _add_action(b, seeded.case_ids[0], "Phone the daughter")
    # Desk B syncs first: its new change takes a sequence number desk A read before.
    report_b = sync(b, hub, "desk B")
    assert any("gone back in time" in message for message in report_b.messages)
    report_a = sync(a, hub, "desk A")
    assert any("gone back in time" in message for message in report_a.messages)
    quiesce([a, b], hub)

    for store in (a, b):
        assert outbox_count(store) == 0
        for action, words in (
            (lost_on_a, "Book the falls clinic"),
            (lost_on_b, "Ask about the stairlift"),
            (after_on_b, "Phone the daughter"),
        ):
            assert field_value(store, "action", action, "description") == words
        # The clash found again is the same review item, not a second one.
        (item,) = review_items(store)
        assert item["id"] == item_before["id"]
        assert {json.loads(item["kept_value"]), json.loads(item["other_value"])} == {
            "A says this",
            "B says that",
        }
        assert chain_alarms(store) == []
        assert_matches_hub(store, hub)
        assert_sound(store)
    assert digest(a) == digest(b)
    # The review item's seal the hub lost is kept aside on both desks, not dropped.
    assert _withdrawn_seals(a) >= 1 and _withdrawn_seals(b) >= 1

    # A desk joining now receives everything, from the restored hub alone.
    c = desks("c")
    quiesce([a, b, c], hub)
    assert digest(c) == digest(a)
    assert chain_alarms(c) == []
    # Each desk's change is in the hub's log once.
    with hub.engine.connect() as connection:
        doubled = connection.execute(
            text(
                "SELECT origin_site, origin_seq FROM hub_change"
                " GROUP BY origin_site, origin_seq HAVING count(*) > 1"
            )
        ).all()
    assert doubled == []


def test_a_desk_does_not_download_its_own_changes_again(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    """After a push, the pull skips the desk's own changes and counts what a person
    expects: edits sent and received, not its own coming back."""
    a, b = desks("a"), desks("b")
    seed(a, tmp_path, patients_count=3)
    report = sync(a, hub, "desk A")
    assert report.pushed > 0 and report.edits_sent >= 4
    assert report.pulled == 0 and report.edits_received == 0
    assert sync(a, hub, "desk A").as_dict()["pulled"] == 0
    received = sync(b, hub, "desk B")
    assert received.pulled == report.pushed
    assert received.edits_received == report.edits_sent
    assert received.applied == received.pulled
    # One edit on B: A receives one edit; B's own next pull takes nothing back.
    _add_action(b, _first_case(b), "Check the pendant alarm")
    sent = sync(b, hub, "desk B")
    assert sent.edits_sent == 1 and sent.pulled == 0
    assert sync(a, hub, "desk A").edits_received == 1
    assert "Sent 0 edits (0 changes), received 1 edit" in sync_line(b, a, hub)


def _first_case(store: Store) -> uuid.UUID:
    with store.read() as session:
        return uuid.UUID(
            str(session.execute(text("SELECT id FROM care_case ORDER BY id LIMIT 1")).scalar_one())
        )


def sync_line(writer: Store, reader: Store, hub: Hub) -> str:
    _add_action(writer, _first_case(writer), "Chase the OT report")
    sync(writer, hub, "writer")
    return sync(reader, hub, "reader").describe()


class _Lost:
    """The hub's database lost and re-created empty (PostgreSQL), or its file deleted."""

    def __init__(self, hub: Hub) -> None:
        hub.engine.dispose()
        if hub.kind == "sqlite":
            Path(make_url(hub.url).database or "").unlink()
        else:
            database = make_url(hub.url).database or ""
            admin = pg_admin()
            try:
                admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{database}"')
            finally:
                admin.close()
        hub.engine = hub_engine(hub.url)


def _cli(*args: str) -> tuple[int, str, str]:
    """Exit code, what the command wrote, and what it said on stderr (mistakes)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(args), out=out)
    return code, out.getvalue(), err.getvalue()


def test_a_lost_hub_is_named_and_rebuilt_from_the_desks_with_hub_reseed(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path)
    quiesce([a, b], hub, labels=["desk A", "desk B"])
    # Desk B's edit reaches the hub and desk A; then B goes offline and adds another.
    reached_a = _add_action(b, seeded.case_ids[1], "Ask about the stairlift")
    quiesce([a, b], hub)
    offline_on_b = _add_action(b, seeded.case_ids[0], "Phone the daughter")
    _edit_action(a, "Ann on desk A", seeded.action_ids[0], description="A says this")
    _edit_action(b, "Bob on desk B", seeded.action_ids[0], description="B says that")
    sync(a, hub, "desk A")
    sync(b, hub, "desk B")
    sync(a, hub, "desk A")
    (item_before,) = review_items(a)

    _Lost(hub)
    code, _, _ = _cli("hub", "init", hub.url)  # set up again, as a new hub
    assert code == 0
    kept = outbox_count(b)
    _edit_action(b, "Bob on desk B", seeded.action_ids[1], description="Typed while it was down")
    with pytest.raises(HubReplacedError) as refused:
        sync(b, hub, "desk B")
    message = str(refused.value)
    assert "set up again" in message and f"mdt-desk hub reseed {hub.url}" in message
    # Not "belongs to another team hub (it last synced with X); nothing was sent to X".
    assert "another team hub" not in message and "last synced with" not in message
    assert outbox_count(b) > kept  # nothing sent, nothing lost

    # An administrator rebuilds it from desk A (the whole team's records).
    code, output, said = _cli("hub", "reseed", hub.url, "--store", str(a.path), "--json")
    assert code == 0, said
    answer = json.loads(output)
    assert answer["identity_restored"] is True and answer["pushed"] > 0
    # A second reseed is refused: the hub is in use now.
    code, _, said = _cli("hub", "reseed", hub.url, "--store", str(a.path))
    assert code == 2 and "needs no reseeding" in said

    report = sync(b, hub, "desk B")
    assert any("gone back in time" in message for message in report.messages)
    c = desks("c")
    quiesce([a, b, c], hub)
    for store in (a, b, c):
        assert outbox_count(store) == 0
        assert field_value(store, "action", reached_a, "description") == "Ask about the stairlift"
        assert field_value(store, "action", offline_on_b, "description") == "Phone the daughter"
        assert (
            field_value(store, "action", seeded.action_ids[1], "description")
            == "Typed while it was down"
        )
        (item,) = review_items(store)
        assert item["id"] == item_before["id"]
        assert chain_alarms(store) == []
        assert_matches_hub(store, hub)
        assert_sound(store)
    assert digest(a) == digest(b) == digest(c)


def test_reseed_refuses_a_hub_in_use_and_a_desk_that_never_synced(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    seed(a, tmp_path)
    code, _, said = _cli("hub", "reseed", hub.url, "--store", str(a.path))
    assert code == 2 and "never synced with a team hub" in said
    sync(a, hub, "desk A")
    other = desks("other")
    seed(other, tmp_path)
    code, _, said = _cli("hub", "reseed", hub.url, "--store", str(other.path))
    assert code == 2 and "never synced" in said
    code, _, said = _cli("hub", "reseed", hub.url, "--store", str(a.path))
    assert code == 2 and "needs no reseeding" in said


def test_reseed_refuses_a_scoped_desk(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    a = desks("a")
    seed(a, tmp_path)
    sync(a, hub, "desk A")
    set_scope(a, DeskScope(codes=("A81001",), follow_staff=False))
    code, _, said = _cli("hub", "reseed", hub.url, "--store", str(a.path))
    assert code == 2 and "from a full desk" in said
