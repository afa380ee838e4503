"""Sync on bad days: a clock that was fast, a damaged hub row, a newer hub, bad addresses."""

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from mdt_desk.models.store import Store
from mdt_desk.services import patients, plans
from mdt_desk.sync.client import outbox_count, sync_once
from mdt_desk.sync.hub import HubError, hub_change, hub_engine, hub_meta
from tests.sync.support import NHS_NUMBERS, FakeClock, Hub, field_value, quiesce, seed, sync

Desks = Callable[..., Store]
HOUR_MS = 60 * 60 * 1000


def _edit(store: Store, label: str, action_id: uuid.UUID, description: str) -> None:
    with store.write(None, label) as session:
        plans.update_action(session, action_id, description=description)


@pytest.mark.slow
def test_a_desk_whose_clock_was_fast_still_receives_and_keeps_its_changes(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    clock = FakeClock()
    a, b = desks("a", clock), desks("b")
    seeded = seed(a, tmp_path)
    quiesce([a, b], hub)
    clock.jump(HOUR_MS)  # an hour fast, offline: an edit stamped an hour ahead
    _edit(a, "Ann", seeded.action_ids[0], "Made while the clock was wrong")
    clock.jump(-HOUR_MS)  # the clock is put right
    with b.write(None, "Bob") as session:
        plans.add_note(session, seeded.case_ids[0], "Bob's note, made meanwhile")
    sync(b, hub)
    with pytest.raises(HubError, match="ahead of the hub"):
        sync_once(a, hub.engine, label="a")
    # Refused to send (its changes wait in the outbox), but the pull still ran.
    assert outbox_count(a) > 0
    assert a.get_meta("sync_pull_cursor") == str(hub.last_seq())
    with a.read() as session:
        bodies = session.execute(text("SELECT body FROM note")).scalars().all()
    assert "Bob's note, made meanwhile" in bodies


def test_a_damaged_change_at_the_hub_is_set_aside_and_later_changes_arrive(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a, b = desks("a"), desks("b")
    action_id = seed(a, tmp_path).action_ids[0]
    _edit(a, "Ann", action_id, "Before the damage")
    sync(a, hub)
    with hub.engine.begin() as connection:  # that edit's change is damaged at the hub
        damaged = connection.execute(
            text(
                "SELECT max(server_seq) FROM hub_change"
                " WHERE entity = 'action' AND field = 'description'"
            )
        ).scalar_one()
        connection.execute(
            update(hub_change).where(hub_change.c.server_seq == damaged).values(value="{not json")
        )
    report = sync(b, hub)
    # A damaged value no longer matches its transaction's seal: set aside, with an alarm.
    assert report.skipped_tampered >= 1 and report.alarms
    _edit(a, "Ann", action_id, "After the damage")
    sync(a, hub)
    sync(b, hub)  # does not stop at the damaged row again
    assert field_value(b, "action", action_id, "description") == "After the damage"


def test_a_hub_of_a_newer_version_is_refused_with_the_changes_kept(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    a = desks("a")
    seed(a, tmp_path)
    with hub.engine.begin() as connection:
        connection.execute(
            update(hub_meta).where(hub_meta.c.key == "protocol_version").values(value="99")
        )
    waiting = outbox_count(a)
    with pytest.raises(HubError, match="newer version"):
        sync_once(a, hub.engine, label="a")
    assert outbox_count(a) == waiting


@pytest.mark.parametrize(
    "address",
    ["postgresql+psycopg://mdt:S3cret@db:5432x/team", "mdt:S3cret@db/team", "not a url at all"],
)
def test_a_bad_address_never_echoes_its_password(address: str) -> None:
    with pytest.raises(HubError) as raised:
        hub_engine(address)
    assert "S3cret" not in str(raised.value)


@pytest.mark.slow
def test_a_refused_hub_write_does_not_repeat_the_persons_details(
    desks: Desks, hub: Hub, tmp_path: Path
) -> None:
    """A failed sync is logged with its error: the error names the cause, never the
    patient details the refused statement carried (on either hub engine)."""
    a = desks("a")
    seeded = seed(a, tmp_path, patients_count=0)
    with a.write(seeded.staff_ids[0], "Ann") as session:
        patients.register_patient(
            session,
            nhs_number=NHS_NUMBERS[0],
            family_name="Featherstonehaugh",
            given_name="Philippa",
            date_of_birth=dt.date(1938, 3, 2),
            practice_id=seeded.practice_id,
        )
    sync(a, hub)
    with hub.engine.connect() as connection:
        pushed = (
            connection.execute(
                select(hub_change).where(
                    hub_change.c.entity == "patient", hub_change.c.field == "family_name"
                )
            )
            .mappings()
            .all()[-1]
        )
    assert "Featherstonehaugh" in pushed["value"]
    again = {**pushed, "server_seq": hub.last_seq() + 1}
    # The same change pushed twice: (origin_site, origin_seq) is unique at the hub.
    with pytest.raises(IntegrityError) as caught, hub.engine.begin() as connection:
        connection.execute(insert(hub_change).values(**again))
    message = str(caught.value)
    assert "INSERT INTO hub_change" in message
    assert "Featherstonehaugh" not in message
    assert NHS_NUMBERS[0] not in message
