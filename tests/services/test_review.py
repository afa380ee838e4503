"""Needs review says who and what, as people read it.

Two desks, a SQLite team hub, each desk signed in as a different person; both change
the same field of the same action before syncing. The review item names the person
behind each change (never "Not Known" for a signed-in person), shows the values as
labels, names and CUI dates (never codes or ids) and the person's NHS number.
"""

import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models.enums import ActionStatus
from mdt_desk.models.store import Store
from mdt_desk.services import plans, review
from mdt_desk.services.desk import Desk
from mdt_desk.services.review import ReviewItemView
from mdt_desk.services.staff import sign_in
from mdt_desk.sync.client import edits_waiting, outbox_count
from mdt_desk.sync.hub import hub_engine, init_hub
from tests.sync.support import FakeClock, Hub, Seed, new_store, seed, sync

HEX_ID = r"[0-9a-f]{32}"


@dataclass
class Team:
    a: Store
    b: Store
    hub: Hub
    seeded: Seed
    ann: str  # who is signed in on desk A
    bob: str  # and on desk B

    @property
    def action_id(self) -> uuid.UUID:
        return self.seeded.action_ids[0]


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    template = tmp_path / "template.sqlite"
    Store.open(template).close()
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    engine = hub_engine(url)
    init_hub(engine)
    hub = Hub("sqlite", url, engine)
    a = new_store(template, tmp_path / "a.sqlite", FakeClock())
    b = new_store(template, tmp_path / "b.sqlite", FakeClock())
    seeded = seed(a, tmp_path)
    sync(a, hub)
    sync(b, hub)
    ann = sign_in(a, seeded.staff_ids[1]).display_name
    bob = sign_in(b, seeded.staff_ids[2]).display_name
    yield Team(a, b, hub, seeded, ann, bob)
    a.close()
    b.close()
    engine.dispose()


def _conflict(team: Team, **changes: tuple[Any, Any]) -> ReviewItemView:
    """Each desk saves its own value of the same field(s); both sync; the one item."""
    for store, side in ((team.a, 0), (team.b, 1)):
        with Desk.for_store(store).write() as session:
            plans.update_action(
                session, team.action_id, **{name: pair[side] for name, pair in changes.items()}
            )
    for store in (team.a, team.b, team.a):
        sync(store, team.hub)
    with team.a.read() as session:
        items = review.list_open_items(session)
    assert len(items) == 1, items
    return items[0]


def _shown(item: ReviewItemView) -> str:
    return " | ".join(
        (item.record_text, item.field_text, item.kept_text, item.other_text, item.summary)
    )


def test_each_change_names_the_signed_in_person_who_made_it(team: Team) -> None:
    item = _conflict(team, description=("Ann's wording", "Bob's wording"))
    assert {item.kept_by, item.other_by} == {team.ann, team.bob}
    assert "Not Known" not in (item.kept_by, item.other_by)


@pytest.mark.slow
def test_a_command_line_change_names_the_person_too(team: Team, tmp_path: Path) -> None:
    # Desk B's person edits through the command line's way in: a signed-in staff id and,
    # before this fix, no label at all.
    with Desk.for_store(team.a).write() as session:
        plans.update_action(session, team.action_id, description="Ann's wording")
    staff_id = team.seeded.staff_ids[2]
    with team.b.write(staff_id, "") as session:
        plans.update_action(session, team.action_id, description="Bob's wording")
    for store in (team.a, team.b, team.a):
        sync(store, team.hub)
    with team.b.read() as session:
        (item,) = review.list_open_items(session)
    assert {item.kept_by, item.other_by} == {team.ann, team.bob}


def test_an_item_made_without_any_name_is_named_from_the_journal(team: Team) -> None:
    item = _conflict(team, description=("Ann's wording", "Bob's wording"))
    with team.a.write(None, "test") as session:  # as an item from an older hub: no names
        session.execute(
            text("UPDATE review_item SET kept_by = '', other_by = '' WHERE id = :id"),
            {"id": item.id.hex},
        )
    with team.a.read() as session:
        (again,) = review.list_open_items(session)
    assert team.ann in (again.kept_by, again.other_by)  # desk A's own change, from its journal


def test_codes_dates_and_people_are_shown_as_people_read_them(team: Team) -> None:
    status = _conflict(team, status=(ActionStatus.IN_PROGRESS, ActionStatus.CANCELLED))
    assert {status.kept_text, status.other_text} == {"In progress", "Cancelled"}
    assert status.field_text == "Status"
    with team.a.write(team.seeded.staff_ids[1]) as session:
        review.resolve(
            session, status.id, review.Resolution.KEEP_KEPT, resolved_by_id=team.seeded.staff_ids[1]
        )
    for store in (team.a, team.b, team.a):
        sync(store, team.hub)

    due = _conflict(team, due_on=(dt.date(2027, 7, 14), dt.date(2027, 5, 1)))
    assert {due.kept_text, due.other_text} == {"14-Jul-2027", "01-May-2027"}
    with team.a.write(team.seeded.staff_ids[1]) as session:
        review.resolve(
            session, due.id, review.Resolution.KEEP_KEPT, resolved_by_id=team.seeded.staff_ids[1]
        )
    for store in (team.a, team.b, team.a):
        sync(store, team.hub)

    owner = _conflict(team, owner_id=(team.seeded.staff_ids[1], team.seeded.staff_ids[2]))
    assert {owner.kept_text, owner.other_text} == {team.ann, team.bob}
    for item in (status, due, owner):
        shown = _shown(item)
        assert "in_progress" not in shown and "2027-07-14" not in shown
        assert not any(staff_id.hex in shown for staff_id in team.seeded.staff_ids)


def test_a_yes_or_no_value_reads_yes_or_no(team: Team) -> None:
    with Desk.for_store(team.b).write() as session:  # B marks it, then changes its mind
        plans.update_action(session, team.action_id, sensitive=True)
    item = _conflict(team, sensitive=(True, False))
    assert {item.kept_text, item.other_text} == {"Yes", "No"}


def test_each_item_shows_the_persons_nhs_number(team: Team) -> None:
    item = _conflict(team, description=("Ann's wording", "Bob's wording"))
    assert item.record_text == "Action of PERSON0, Alex, NHS No. 943 476 5919"
    assert "943 476 5919" in item.summary


@pytest.mark.slow
def test_the_command_line_lists_who_and_what(team: Team, capsys) -> None:
    _conflict(team, description=("Ann's wording", "Bob's wording"))
    out = io.StringIO()
    assert main(["conflicts", "--store", str(team.a.path)], out=out) == 0
    listed = out.getvalue()
    assert team.ann in listed and team.bob in listed
    assert "Not Known" not in listed
    assert "943 476 5919" in listed


def test_changes_waiting_counts_edits_not_fields(team: Team) -> None:
    before = edits_waiting(team.a)
    fields_before = outbox_count(team.a)
    with Desk.for_store(team.a).write() as session:  # one save, three fields
        plans.update_action(
            session,
            team.action_id,
            description="Visit on Tuesday",
            due_on=dt.date(2027, 7, 14),
            status=ActionStatus.IN_PROGRESS,
        )
    assert outbox_count(team.a) - fields_before >= 3
    assert edits_waiting(team.a) == before + 1
    with Desk.for_store(team.a).write() as session:
        plans.add_note(session, team.seeded.case_ids[0], "Spoke to her daughter")
    assert edits_waiting(team.a) == before + 2
    sync(team.a, team.hub)
    assert edits_waiting(team.a) == 0
