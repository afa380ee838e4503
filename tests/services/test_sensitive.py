"""Sensitive actions and notes (issue 9, B1): set when written, changed later, carried by
every DTO, taken out of the person's own copy, hidden in meeting mode's data until
revealed, exported, made by the demo, and kept by the 0003 -> 0004 upgrade."""

import datetime as dt
import io
import json
import re
import shutil
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mdt_desk.cli import main
from mdt_desk.models import store as store_module
from mdt_desk.models.enums import ActionStatus, AgendaReason, AlertKind
from mdt_desk.models.store import Store, schema_head
from mdt_desk.resources import resource_path
from mdt_desk.services import meeting_mode, meetings, patients, plans
from mdt_desk.services.case_view import load_record
from mdt_desk.services.check import check_store
from mdt_desk.services.demo import SENSITIVE_ALERT_KINDS, generate_demo
from mdt_desk.services.export import export_json
from mdt_desk.services.persons_copy import LeftOff, persons_copy
from tests import store_sql
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient


@pytest.fixture
def case_id(store: Store, team, practice_ids) -> uuid.UUID:
    return active_case(store, new_patient(store, practice_ids["A81001"]), team["social_worker"])


def add_action(
    store: Store, case_id: uuid.UUID, owner: uuid.UUID, text_: str, *, sensitive: bool = False
) -> uuid.UUID:
    with store.write(owner) as session:
        return plans.add_action(
            session,
            case_id,
            description=text_,
            owner_id=owner,
            due_on=TODAY + dt.timedelta(days=7),
            sensitive=sensitive,
            today=TODAY,
        ).id


def patient_of(store: Store, case_id: uuid.UUID) -> uuid.UUID:
    with store.read() as session:
        return uuid.UUID(
            session.execute(
                text("SELECT patient_id FROM care_case WHERE id = :id"), {"id": case_id.hex}
            ).scalar_one()
        )


#: Words that make an action or note need-to-know: never on the person's own copy.
SENSITIVE_TOPIC = re.compile(
    r"safeguard|risk to staff|abuse|police|violen|aggressi|assault|weapon|exploit|coerci"
    r"|lone.worker|protection plan|strategy meeting",
    re.IGNORECASE,
)


def mentions_a_sensitive_topic(words: str) -> bool:
    return SENSITIVE_TOPIC.search(words) is not None


# -- actions -----------------------------------------------------------------------------


def test_an_action_is_added_sensitive_and_every_dto_says_so(store, team, case_id) -> None:
    owner = team["social_worker"]
    with store.write(owner) as session:
        made = plans.add_action(
            session,
            case_id,
            description="Safeguarding: agree the protection plan",
            owner_id=owner,
            due_on=TODAY,
            sensitive=True,
            today=TODAY,
        )
        plain = plans.add_action(
            session,
            case_id,
            description="Order a bath board",
            owner_id=owner,
            due_on=TODAY,
            today=TODAY,
        )
    assert made.sensitive and not plain.sensitive
    with store.read() as session:
        records = {a.id: a.sensitive for a in plans.list_actions(session, case_id)}
        rows = {r.id: r.sensitive for r in plans.list_action_rows(session, case_id)}
        one = plans.get_action_row(session, made.id)
        shared = plans.list_actions(session, case_id, include_sensitive=False)
    assert records == rows == {made.id: True, plain.id: False}
    assert one.sensitive
    assert [a.id for a in shared] == [plain.id]


def test_an_action_is_marked_and_unmarked_and_an_undo_restores_the_flag(
    store, team, case_id
) -> None:
    action_id = add_action(store, case_id, team["gp"], "Visit in pairs")
    with store.write(team["social_worker"]) as session:
        before = plans.get_action_row(session, action_id)
        after = plans.set_action_sensitive(session, action_id, True)
    assert not before.sensitive and after.sensitive
    with store.write(team["social_worker"]) as session:
        assert not plans.update_action(session, action_id, sensitive=False).sensitive
        assert plans.update_action(session, action_id, sensitive=True).sensitive
        # an edit undone puts the action back as it was, flag included
        assert not plans.restore_action(session, before).sensitive
    with store.read() as session:
        journalled = session.execute(
            text(
                "SELECT count(*) FROM journal_change"
                " WHERE entity = 'action' AND row_id = :id AND field = 'sensitive'"
            ),
            {"id": action_id.hex},
        ).scalar_one()
    assert journalled >= 4  # the insert and each change are in the journal


# -- notes -------------------------------------------------------------------------------


def test_a_note_is_written_sensitive_and_marked_later_with_its_corrections(
    store, team, case_id
) -> None:
    with store.write(team["social_worker"]) as session:
        flagged = plans.add_note(session, case_id, "Frightened of a relative", sensitive=True)
        plain = plans.add_note(session, case_id, "Visited; all well")
        correction = plans.add_note(
            session, case_id, "Visited on Tuesday, not Monday", amends_note_id=plain.id
        )
        of_flagged = plans.add_note(
            session, case_id, "Relative stays at weekends", amends_note_id=flagged.id
        )
    assert flagged.sensitive and not plain.sensitive and not correction.sensitive
    assert of_flagged.sensitive  # a correction repeats what it corrects
    with store.write(team["social_worker"]) as session:
        # marking the correction marks the note it corrects too: one flag for the chain
        assert plans.set_note_sensitive(session, correction.id, True).sensitive
    with store.read() as session:
        notes = {note.id: note for note in plans.list_notes(session, case_id)}
        views = {
            view.id: view.sensitive
            for view in load_record(session, patient_of(store, case_id), case_id, TODAY).case.notes  # type: ignore[union-attr]
        }
    assert notes[plain.id].sensitive and notes[correction.id].sensitive
    assert notes[plain.id].body == "Visited; all well"  # the note itself is unchanged
    assert views == {n.id: n.sensitive for n in notes.values()}
    with store.write(team["social_worker"]) as session:
        plans.set_note_sensitive(session, plain.id, False)
    with store.read() as session:
        after = {note.id: note.sensitive for note in plans.list_notes(session, case_id)}
    assert after == {
        flagged.id: True,
        plain.id: False,
        correction.id: False,
        of_flagged.id: True,
    }
    assert check_store(store).passed


def test_only_the_flag_of_a_written_note_may_change(store, team, case_id) -> None:
    with store.write(team["social_worker"]) as session:
        note = plans.add_note(session, case_id, "Written once")
    with (
        pytest.raises(DBAPIError, match="note records cannot be edited"),
        store.write(team["social_worker"]) as session,
    ):
        session.execute(
            text("UPDATE note SET body = 'Rewritten', sensitive = 1 WHERE id = :id"),
            {"id": note.id.hex},
        )
    with store.read() as session:
        (kept,) = plans.list_notes(session, case_id)
    assert kept.body == "Written once" and not kept.sensitive


#: "Zoë visited" with the diaeresis as a combining mark (Unicode NFD), as a note imported
#: before the store kept text composed, or synced from an older desk, may hold it.
DECOMPOSED_BODY = unicodedata.normalize("NFD", "Zoë visited; Chloë's key safe code changed")


def test_a_note_stored_decomposed_can_still_be_marked_sensitive(store, team, case_id) -> None:
    with store.write(team["social_worker"]) as session:
        template = plans.add_note(session, case_id, "Template")
        stored = uuid.uuid4()
        # Raw SQL, as an older desk or import wrote it: the ORM would compose it.
        session.execute(
            text(
                "INSERT INTO note (id, case_id, author_id, written_at, body, sensitive,"
                " created_at, updated_at)"
                " SELECT :id, case_id, author_id, written_at, :body, 0, created_at, updated_at"
                " FROM note WHERE id = :template"
            ),
            {"id": stored.hex, "body": DECOMPOSED_BODY, "template": template.id.hex},
        )
    assert not unicodedata.is_normalized("NFC", DECOMPOSED_BODY)
    with store.write(team["social_worker"]) as session:
        assert plans.set_note_sensitive(session, stored, True).sensitive
    with store.read() as session:
        kept = {note.id: note for note in plans.list_notes(session, case_id)}
    assert kept[stored].sensitive
    assert kept[stored].body == DECOMPOSED_BODY  # the note stays exactly as written
    assert check_store(store).passed


def test_a_changed_field_is_still_kept_composed(store, team, case_id) -> None:
    owner = team["social_worker"]
    action_id = add_action(store, case_id, owner, "Order a bath board")
    with store.write(owner) as session:
        plans.update_action(session, action_id, description=DECOMPOSED_BODY, today=TODAY)
    with store.read() as session:
        stored = session.execute(
            text("SELECT description FROM action WHERE id = :id"), {"id": action_id.hex}
        ).scalar_one()
    assert stored == unicodedata.normalize("NFC", DECOMPOSED_BODY)


# -- the person's own copy ----------------------------------------------------------------


def test_the_persons_copy_leaves_out_every_sensitive_item_and_counts_them(
    store, team, case_id
) -> None:
    owner = team["social_worker"]
    patient_id = patient_of(store, case_id)
    kept = add_action(store, case_id, owner, "Order a bath board")
    hidden = add_action(store, case_id, owner, "Safeguarding enquiry", sensitive=True)
    done_hidden = add_action(store, case_id, owner, "Risk to staff: pairs", sensitive=True)
    with store.write(owner) as session:
        plans.update_action(session, done_hidden, status=ActionStatus.DONE, today=TODAY)
        plans.add_note(session, case_id, "Safeguarding strategy meeting", sensitive=True)
        plans.add_note(session, case_id, "Home visit; kitchen clear")
        patients.add_alert(session, patient_id, AlertKind.SAFEGUARDING, "Enquiry", sensitive=True)
        patients.add_alert(session, patient_id, AlertKind.LIVES_ALONE, "Lives alone")
    with store.read() as session:
        copy = persons_copy(session, patient_id, None, TODAY, recent_days=90, recent_limit=15)
    assert [row.id for row in copy.open_actions] == [kept]
    assert copy.done_recently == ()
    assert hidden not in {row.id for row in copy.open_actions}
    assert copy.record.case is not None
    assert [note.body for note in copy.record.case.notes] == ["Home visit; kitchen clear"]
    assert [alert.detail for alert in copy.record.banner.alerts] == ["Lives alone"]
    assert copy.left_off == LeftOff(actions=2, notes=1, alerts=1)
    assert copy.left_off.total == 4


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from([ActionStatus.OPEN, ActionStatus.DONE]), st.booleans()),
        max_size=6,
    ),
    st.lists(st.booleans(), max_size=4),
)
def test_no_sensitive_item_ever_reaches_the_persons_copy(
    store, team, practice_ids, actions, notes
) -> None:
    """Whatever mix of actions and notes is flagged, the copy holds none of the flagged
    ones, every unflagged one in its scope, and counts exactly what it left out."""
    owner = team["social_worker"]
    nhs = f"999{uuid.uuid4().int % 10**6:06d}"
    from nhs_number import calculate_checksum

    check = calculate_checksum(nhs)
    if check is None or check >= 10:  # this stem has no valid number
        return
    patient_id = new_patient(store, practice_ids["A81001"], nhs + str(check))
    case_id = active_case(store, patient_id, owner)
    ids: dict[uuid.UUID, tuple[ActionStatus, bool]] = {}
    with store.write(owner) as session:
        for number, (status, sensitive) in enumerate(actions):
            made = plans.add_action(
                session,
                case_id,
                description=f"Action {number}",
                owner_id=owner,
                due_on=TODAY,
                sensitive=sensitive,
                today=TODAY,
            )
            if status is ActionStatus.DONE:
                plans.update_action(session, made.id, status=status, today=TODAY)
            ids[made.id] = (status, sensitive)
        for number, sensitive in enumerate(notes):
            plans.add_note(session, case_id, f"Note {number}", sensitive=sensitive)
    with store.read() as session:
        copy = persons_copy(session, patient_id, case_id, TODAY, recent_days=90, recent_limit=15)
    shown = {row.id for row in (*copy.open_actions, *copy.done_recently)}
    assert shown == {i for i, (_status, sensitive) in ids.items() if not sensitive}
    assert copy.record.case is not None
    assert all(not note.sensitive for note in copy.record.case.notes)
    assert len(copy.record.case.notes) == notes.count(False)
    assert copy.left_off == LeftOff(
        actions=sum(sensitive for _status, sensitive in actions), notes=notes.count(True)
    )


# -- meeting mode's data ------------------------------------------------------------------


def test_meeting_mode_knows_which_actions_and_notes_are_sensitive(
    store, team, practice_ids, case_id
) -> None:
    chair = team["gp"]
    owner = team["social_worker"]
    open_id = add_action(store, case_id, owner, "Visit in pairs", sensitive=True)
    done_id = add_action(store, case_id, owner, "Bank asked about withdrawals", sensitive=True)
    with store.write(owner) as session:
        plans.update_action(session, done_id, status=ActionStatus.DONE, today=TODAY)
        plans.add_note(session, case_id, "Strategy meeting held", sensitive=True)
        (meeting,) = meetings.schedule_meeting(
            session,
            practice_id=practice_ids["A81001"],
            day=TODAY,
            start_time=dt.time(13, 0),
            duration_minutes=60,
            chair_id=chair,
            invited_ids=list(team.values()),
            location="Practice library",
            today=TODAY,
        )
        item = meetings.add_to_agenda(
            session, meeting.id, case_id, reason=AgendaReason.REVIEW_DUE, minutes=10
        )
        meeting_mode.start_meeting(session, meeting.id)
        agreed = meeting_mode.add_action_from_decision(
            session,
            item.id,
            description="Safeguarding referral",
            owner_id=owner,
            due_on=TODAY + dt.timedelta(days=3),
            sensitive=True,
            today=TODAY,
        )
    assert agreed.sensitive
    with store.read() as session:
        briefing = meeting_mode.item_briefing(session, item.id, today=TODAY)
    flags = {action.id: action.sensitive for action in briefing.open_actions}
    assert flags[open_id] and flags[agreed.id]
    done = [change for change in briefing.changes if change.kind == "action done"]
    notes = [change for change in briefing.changes if change.is_note]
    assert done and all(change.sensitive for change in done)
    assert notes and all(change.sensitive for change in notes)


# -- export --------------------------------------------------------------------------------


def test_export_json_says_which_actions_and_notes_are_sensitive(store, team, case_id) -> None:
    flagged = add_action(store, case_id, team["gp"], "Visit in pairs", sensitive=True)
    plain = add_action(store, case_id, team["gp"], "Order a bath board")
    with store.write(team["social_worker"]) as session:
        note = plans.add_note(session, case_id, "Safeguarding concern", sensitive=True)
    with store.read() as session:
        out = io.StringIO()
        export_json(session, out)
    tables = json.loads(out.getvalue())["tables"]
    actions = {row["id"]: row["sensitive"] for row in tables["action"]}
    notes = {row["id"]: row["sensitive"] for row in tables["note"]}
    assert actions == {flagged.hex: 1, plain.hex: 0}
    assert notes == {note.id.hex: 1}
    # and the command line says the same
    path = store.path.parent / "export.json"
    assert main(["export", "--store", str(store.path), "--out", str(path)], out=io.StringIO()) == 0
    exported = json.loads(path.read_text(encoding="utf-8"))["tables"]
    assert {row["id"]: row["sensitive"] for row in exported["action"]} == actions


# -- the demo ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_marks_its_safeguarding_and_risk_to_staff_items_sensitive(
    tmp_path: Path,
) -> None:
    paths = [tmp_path / "one.sqlite", tmp_path / "two.sqlite"]
    for path in paths:
        with Store.open(path) as demo:
            generate_demo(demo, patients=600, seed=11, today=TODAY)
    flagged = []
    for path in paths:
        raw = store_sql.connect(path)
        flagged.append(
            (
                raw.execute(
                    "SELECT id, description FROM action WHERE sensitive ORDER BY id"
                ).fetchall(),
                raw.execute("SELECT id, body FROM note WHERE sensitive ORDER BY id").fetchall(),
            )
        )
        # decided by the kind: every safeguarding or risk-to-staff item, and only those
        for description, sensitive in raw.execute("SELECT description, sensitive FROM action"):
            assert mentions_a_sensitive_topic(description) == bool(sensitive), description
        for body, sensitive in raw.execute("SELECT body, sensitive FROM note"):
            assert mentions_a_sensitive_topic(body) == bool(sensitive), body
        open_sensitive = raw.execute(
            "SELECT count(*) FROM action WHERE sensitive AND status = 'open'"
        ).fetchone()[0]
        assert open_sensitive > 0
        # each belongs to a person with an alert of that kind
        orphans = raw.execute(
            "SELECT count(*) FROM action a JOIN care_case c ON c.id = a.case_id"
            " WHERE a.sensitive AND NOT EXISTS (SELECT 1 FROM alert l"
            " WHERE l.patient_id = c.patient_id AND l.kind IN (?, ?))",
            tuple(kind.value for kind in SENSITIVE_ALERT_KINDS),
        ).fetchone()[0]
        assert orphans == 0
        raw.close()
    assert flagged[0] == flagged[1]  # the same seed marks the same items
    assert flagged[0][0] and flagged[0][1]


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 7])
@pytest.mark.slow
def test_no_demo_action_or_note_about_safeguarding_or_risk_to_staff_is_left_unmarked(
    tmp_path: Path, seed: int
) -> None:
    """Whatever the seed: an action or note whose words are about safeguarding, risk to
    staff, abuse or the police is marked sensitive (the generic "Safeguarding enquiry:
    meet the person on their own" was not, and printed on the person's own plan)."""
    path = tmp_path / "demo.sqlite"
    with Store.open(path) as demo:
        generate_demo(demo, patients=300, seed=seed, today=TODAY)
    raw = store_sql.connect(path)
    items = [
        *raw.execute("SELECT 'action', description, sensitive FROM action"),
        *raw.execute("SELECT 'note', body, sensitive FROM note"),
    ]
    raw.close()
    about = [item for item in items if mentions_a_sensitive_topic(item[1])]
    assert about, "the demo has safeguarding and risk-to-staff items"
    unmarked = sorted({(kind, words) for kind, words, sensitive in about if not sensitive})
    assert unmarked == []


def test_the_demo_vocabulary_keeps_sensitive_topics_out_of_its_everyday_lists() -> None:
    """The demo writes its everyday actions, notes and agenda decisions unmarked, for
    anyone: none of them may be about a sensitive topic (those belong to the lists made
    for a person with a safeguarding or risk-to-staff alert, which are marked)."""
    raw = json.loads(resource_path("demo", "vocabulary.json").read_text(encoding="utf-8"))
    everyday = [
        *(action["text"] for action in raw["actions"]),
        *raw["notes"],
        *raw["decisions"],
        *raw["agenda_summaries"],
    ]
    assert [words for words in everyday if mentions_a_sensitive_topic(words)] == []
    for kind in SENSITIVE_ALERT_KINDS:
        for action in raw["actions_by_alert"][kind.value]:
            assert mentions_a_sensitive_topic(action["text"])
        for note in raw["notes_by_alert"][kind.value]:
            assert mentions_a_sensitive_topic(note)


# -- the 0003 -> 0004 upgrade --------------------------------------------------------------

_COPIED_TABLES = (
    "practice",
    "staff",
    "staff_practice_cover",
    "patient",
    "care_case",
    "coordinator_assignment",
    "care_team_member",
    "goal",
    "action",
    "note",
)


def test_a_store_at_0003_with_actions_and_notes_upgrades_and_checks_clean(
    store, team, case_id, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written by the previous version (schema 0003) holds actions and notes;
    this version opens it, adds the flag (not sensitive) with its journal, and `check`
    passes before and after a note is marked sensitive."""
    add_action(store, case_id, team["gp"], "Order a bath board")
    with store.write(team["social_worker"]) as session:
        plans.add_note(session, case_id, "Home visit")
    source = store_sql.connect(store.path)
    old_migrations = tmp_path / "migrations-0003"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[4-9]_*.py"):
        later.unlink()
    revisions = {path.stem for path in (old_migrations / "versions").glob("000*.py")}
    path = tmp_path / "old.sqlite"
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0003_sync")
        old_version.setattr(store_module, "_known_revisions", lambda: revisions)
        with Store.open(path) as old:
            assert old.current_revision() == "0003_sync"
            with old.write(actor_label="version 0003") as session:
                for table in _COPIED_TABLES:
                    columns = [
                        row[1] for row in session.execute(text(f'PRAGMA table_info("{table}")'))
                    ]
                    assert table not in ("action", "note") or "sensitive" not in columns
                    listed = ", ".join(f'"{c}"' for c in columns)
                    for row in source.execute(f'SELECT {listed} FROM "{table}"'):
                        session.execute(
                            text(
                                f'INSERT INTO "{table}" ({listed}) VALUES '
                                f"({', '.join(':' + c for c in columns)})"
                            ),
                            dict(zip(columns, row, strict=True)),
                        )
    source.close()
    with Store.open(path) as upgraded:
        assert upgraded.current_revision() == schema_head()
        with upgraded.read() as session:
            assert session.execute(text("SELECT count(*) FROM action")).scalar_one() == 1
            assert session.execute(text("SELECT sum(sensitive) FROM note")).scalar_one() == 0
        report = check_store(upgraded)
        assert report.passed, report.checks
        status = main(["check", "--store", str(path)], out=io.StringIO())
        assert status == 0
        with upgraded.write(actor_label="this version") as session:
            note_id = uuid.UUID(session.execute(text("SELECT id FROM note")).scalar_one())
            assert plans.set_note_sensitive(session, note_id, True).sensitive
        assert check_store(upgraded).passed
