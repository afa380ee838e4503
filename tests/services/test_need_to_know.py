"""Sensitive records on a need-to-know basis (issue 10): who reads a restricted alert,
note or action, and what everyone else sees (a marker, nothing of the content) on the
record, the action lists, the history, meeting mode and the export; break glass opens
them for 30 minutes and is raised for the coordinator."""

import dataclasses
import datetime as dt
import io
import json
import uuid

import pytest

from mdt_desk.errors import ValidationError
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import AgendaReason, AlertKind, Role
from mdt_desk.models.store import Store
from mdt_desk.services import (
    access,
    access_log,
    actions,
    history,
    meeting_mode,
    meetings,
    patients,
    plans,
    review,
    sign_in,
    staff,
)
from mdt_desk.services.case_view import load_record
from mdt_desk.services.export import export_json
from mdt_desk.services.restricted import RESTRICTED_TEXT
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient

#: The words of the restricted items: none may reach a reader who may not read them.
SECRETS = (
    "Strategy meeting on the son's finances",
    "Son under police caution",
    "Visit in pairs: dog and son",
)
PLAIN = ("Lives alone", "Bath board fitted", "Order a perching stool")
ADMIN_PIN = "admin pin 1"


@dataclasses.dataclass(frozen=True)
class SensitiveRecord:
    """A person with a sensitive alert, note and action, and one of each reader kind."""

    patient_id: uuid.UUID
    case_id: uuid.UUID
    practice_id: uuid.UUID
    coordinator: uuid.UUID
    team_member: uuid.UUID
    outsider: uuid.UUID  # a team member, not on this person's care team
    observer: uuid.UUID
    privacy_officer: uuid.UUID
    chair: uuid.UUID  # an MDT chair, not on this person's care team
    admin: uuid.UUID
    other_coordinator: uuid.UUID  # coordinates other people, not this one
    other_chair: uuid.UUID  # an MDT chair who does not chair this person's meeting


def make_sensitive_record(
    store: Store, team: dict[str, uuid.UUID], practice_id: uuid.UUID
) -> SensitiveRecord:
    """Built in set-up, then a PIN for the administrator ends set-up."""

    def add(family: str, given: str, profession: str) -> uuid.UUID:
        with store.write(actor_label="test set-up") as session:
            return staff.add_staff(
                session,
                family_name=family,
                given_name=given,
                profession=profession,
                practice_codes=("A81001",),
            ).id

    coordinator, team_member, admin = team["social_worker"], team["district_nurse"], team["gp"]
    outsider = add("Outis", "Nemo", "pharmacist")
    observer = add("Student", "Sam", "voluntary_sector")
    privacy = add("Warden", "Priya", "administrator")
    chair = add("Chairman", "Chris", "gp")
    other_coordinator = add("Otherway", "Olu", "social_worker")
    other_chair = add("Seat", "Sunita", "gp")
    patient_id = new_patient(store, practice_id)
    case_id = active_case(store, patient_id, coordinator)
    with store.write(coordinator) as session:
        patients.add_alert(session, patient_id, AlertKind.SAFEGUARDING, SECRETS[0], sensitive=True)
        patients.add_alert(session, patient_id, AlertKind.LIVES_ALONE, PLAIN[0])
        plans.add_note(session, case_id, SECRETS[1], sensitive=True)
        plans.add_note(session, case_id, PLAIN[1])
        for description, sensitive in ((SECRETS[2], True), (PLAIN[2], False)):
            plans.add_action(
                session,
                case_id,
                description=description,
                owner_id=coordinator,
                due_on=TODAY + dt.timedelta(days=7),
                sensitive=sensitive,
                today=TODAY,
            )
        plans.add_care_team_member(session, case_id, role="Nurse", staff_id=team_member)
    with store.write(actor_label="test set-up") as session:
        for who, role in (
            (coordinator, Role.CARE_COORDINATOR),
            (team_member, Role.TEAM_MEMBER),
            (outsider, Role.TEAM_MEMBER),
            (observer, Role.OBSERVER),
            (privacy, Role.PRIVACY_OFFICER),
            (chair, Role.MDT_CHAIR),
            (admin, Role.TEAM_ADMINISTRATOR),
            (other_coordinator, Role.CARE_COORDINATOR),
            (other_chair, Role.MDT_CHAIR),
        ):
            sign_in.set_roles(session, who, {role})
        sign_in.set_pin(session, admin, ADMIN_PIN)  # set-up ends here
    return SensitiveRecord(
        patient_id,
        case_id,
        practice_id,
        coordinator,
        team_member,
        outsider,
        observer,
        privacy,
        chair,
        admin,
        other_coordinator,
        other_chair,
    )


@pytest.fixture
def record(store: Store, team, practice_ids) -> SensitiveRecord:
    return make_sensitive_record(store, team, practice_ids["A81001"])


def record_words(store: Store, reader: uuid.UUID, record: SensitiveRecord) -> str:
    """Everything the record, the action plan and the action list give ``reader``."""
    with store.read(reader) as session:
        view = load_record(session, record.patient_id, record.case_id, TODAY)
        plan = plans.action_plan_view(session, record.case_id, include_closed=True, today=TODAY)
        listed = actions.list_actions(session, include_closed=True, today=TODAY)
        minutes = plans.list_actions(session, record.case_id, include_closed=True)
    return repr((view, plan, listed, minutes))


@pytest.mark.parametrize("reader", ["coordinator", "team_member", "privacy_officer"])
def test_the_care_team_and_the_privacy_officer_read_restricted_items(store, record, reader) -> None:
    words = record_words(store, getattr(record, reader), record)
    assert all(secret in words for secret in SECRETS)
    assert RESTRICTED_TEXT not in words


@pytest.mark.parametrize(
    "reader", ["observer", "outsider", "chair", "other_coordinator", "other_chair"]
)
def test_everyone_else_sees_that_a_restricted_item_exists_and_nothing_of_it(
    store, record, reader
) -> None:
    words = record_words(store, getattr(record, reader), record)
    assert not [secret for secret in SECRETS if secret in words]
    assert "Safeguarding" not in words  # the alert's kind is itself the sensitive fact
    assert all(plain in words for plain in PLAIN)
    with store.read(getattr(record, reader)) as session:
        view = load_record(session, record.patient_id, record.case_id, TODAY)
    restricted_alerts = [alert for alert in view.banner.alerts if alert.restricted]
    assert [alert.detail for alert in restricted_alerts] == [RESTRICTED_TEXT]
    assert view.case is not None
    (note,) = [note for note in view.case.notes if note.restricted]
    assert note.body == RESTRICTED_TEXT and note.author_name == "" and note.sensitive


def test_the_history_says_a_restricted_item_changed_but_not_what_it_says(store, record) -> None:
    with store.read(record.observer) as session:
        entries = history.record_history(session, record.patient_id, record.case_id)
    words = repr(entries)
    assert not [secret for secret in SECRETS if secret in words]
    assert RESTRICTED_TEXT in words and PLAIN[1] in words
    with store.read(record.coordinator) as session:
        entries = history.record_history(session, record.patient_id, record.case_id)
    assert SECRETS[1] in repr(entries)


def test_break_glass_opens_restricted_items_for_30_minutes_then_closes(store, record) -> None:
    with store.write(record.outsider) as session:
        said = access_log.break_glass(session, record.patient_id, "Called by A&E, he is there")
    assert "30 minutes" in said
    opened = utc_now()
    with store.read(record.outsider) as session:
        assert access.may_read_sensitive(session, record.patient_id, now=opened)
        assert access.may_read_sensitive(
            session, record.patient_id, now=opened + dt.timedelta(minutes=29)
        )
        assert not access.may_read_sensitive(
            session, record.patient_id, now=opened + dt.timedelta(minutes=31)
        )
    # While it is open, the record reads in full.
    assert all(secret in record_words(store, record.outsider, record) for secret in SECRETS)
    with store.read(record.privacy_officer) as session:
        logged = access_log.entries_for(session, record.patient_id)
    (glass,) = [entry for entry in logged if entry.action == "break_glass"]
    assert glass.staff_id == record.outsider and glass.reason == "Called by A&E, he is there"


def test_break_glass_needs_a_reason_and_a_role_that_may(store, record) -> None:
    with store.write(record.outsider) as session, pytest.raises(ValidationError):
        access_log.break_glass(session, record.patient_id, "  ")
    with store.write(record.observer) as session, pytest.raises(access.AccessDeniedError):
        access_log.break_glass(session, record.patient_id, "Just curious, sorry")
    assert RESTRICTED_TEXT in record_words(store, record.observer, record)


def test_break_glass_is_raised_for_the_coordinator_in_their_review_list(store, record) -> None:
    with store.write(record.outsider) as session:
        access_log.break_glass(session, record.patient_id, "Called by A&E, he is there")
    with store.read(record.coordinator) as session:
        (item,) = review.break_glass_items(session)
    assert item.kind == "break_glass"
    assert "Nemo" in item.kept_text and "Called by A&E, he is there" in item.kept_text
    assert "EVANS, Siân" in item.summary  # the person it is about
    # Only the coordinator (and a privacy officer) has it; the rest of the team does not.
    with store.read(record.team_member) as session:
        assert review.break_glass_items(session) == []
    with store.read(record.privacy_officer) as session:
        assert [view.id for view in review.break_glass_items(session)] == [item.id]
    with store.write(record.coordinator) as session:
        review.acknowledge_break_glass(session, item.id)
    with store.read(record.coordinator) as session:
        assert review.break_glass_items(session) == []


def test_the_chair_of_a_meeting_the_person_is_on_reads_them_in_meeting_mode(store, record) -> None:
    with store.write(record.chair) as session:
        (meeting,) = meetings.schedule_meeting(
            session,
            practice_id=record.practice_id,
            day=TODAY,
            start_time=dt.time(13, 0),
            duration_minutes=60,
            chair_id=record.chair,
            invited_ids=[record.chair, record.coordinator],
            location="Practice library",
            today=TODAY,
        )
        item = meetings.add_to_agenda(
            session, meeting.id, record.case_id, reason=AgendaReason.REVIEW_DUE, minutes=10
        )
        meeting_mode.start_meeting(session, meeting.id)
    with store.read(record.chair) as session:
        briefing = meeting_mode.item_briefing(session, item.id, today=TODAY)
    chair_words = repr(briefing)
    assert all(secret in chair_words for secret in SECRETS)
    # The same chair, outside meeting mode, is not on the care team: markers.
    assert not [s for s in SECRETS if s in record_words(store, record.chair, record)]
    # Another chair, who does not chair this meeting, reads markers.
    with store.read(record.other_chair) as session:
        other = repr(meeting_mode.item_briefing(session, item.id, today=TODAY))
    assert not [secret for secret in SECRETS if secret in other]
    assert RESTRICTED_TEXT in other


def export_of(store: Store, reader: uuid.UUID) -> str:
    with store.read(reader) as session:
        out = io.StringIO()
        export_json(session, out)
    return out.getvalue()


def test_an_export_holds_restricted_content_only_for_those_who_may_read_it(store, record) -> None:
    full = export_of(store, record.privacy_officer)
    assert all(secret in full for secret in SECRETS)
    # A coordinator of other people may export, but not this person's restricted items:
    # no content, not in the rows, not in the journal's old and new values.
    partial = export_of(store, record.other_coordinator)
    assert not [secret for secret in SECRETS if secret in partial]
    assert "safeguarding" not in partial.lower()
    assert all(plain in partial for plain in PLAIN)
    tables = json.loads(partial)["tables"]
    assert sorted(row["sensitive"] for row in tables["note"]) == [0, 1]


def test_an_export_never_holds_a_pin_hash(store, record) -> None:
    exported = export_of(store, record.privacy_officer)
    tables = json.loads(exported)["tables"]
    assert tables["staff"] and all("pin_hash" not in row for row in tables["staff"])
    assert "$argon2" not in exported


def test_a_sync_clash_in_a_restricted_note_shows_its_words_only_to_those_who_may_read(
    store, record
) -> None:
    from sqlalchemy import select

    from mdt_desk.models import Note, ReviewItem

    with store.write(record.admin) as session:
        note_id = session.scalar(select(Note.id).where(Note.body == SECRETS[1]))
        assert note_id is not None
        session.add(
            ReviewItem(
                kind="same_field",
                entity="note",
                row_id=note_id.hex,
                field="body",
                kept_value=json.dumps(SECRETS[1]),
                other_value=json.dumps("Son cautioned"),
            )
        )
    with store.read(record.chair) as session:  # resolves clashes; not on the care team
        (item,) = review.list_open_items(session)
    assert item.kept_text == item.other_text == RESTRICTED_TEXT
    assert SECRETS[1] not in item.summary
    with store.write(record.chair) as session:
        access_log.break_glass(session, record.patient_id, "Resolving a clash in the record")
    with store.read(record.chair) as session:
        (item,) = review.list_open_items(session)
    assert SECRETS[1] in item.kept_text


def test_an_edited_here_removed_there_item_shows_no_restricted_words_nor_a_pin_hash(
    store, record
) -> None:
    """That kind of item names ``retired_at`` but carries the edit's value: a restricted
    note's words, or a staff member's PIN hash. Neither reaches a reader who may not read
    it, the review list or an export."""
    from sqlalchemy import select

    from mdt_desk.models import Note, ReviewItem, Staff

    with store.write(record.admin) as session:
        note_id = session.scalar(select(Note.id).where(Note.body == SECRETS[1]))
        pin_hash = session.scalar(select(Staff.pin_hash).where(Staff.id == record.admin))
        assert note_id is not None and pin_hash and pin_hash.startswith("$argon2")
        for entity, row_id, value in (
            ("note", note_id.hex, SECRETS[1]),
            ("staff", record.admin.hex, pin_hash),
        ):
            session.add(
                ReviewItem(
                    kind="edit_vs_delete",
                    entity=entity,
                    row_id=row_id,
                    field="retired_at",
                    kept_value=json.dumps("2026-12-01 10:00:00"),
                    other_value=json.dumps(value),
                )
            )
    with store.read(record.chair) as session:  # resolves clashes; not on the care team
        shown = " ".join(
            f"{item.kept_text} {item.other_text} {item.summary}"
            for item in review.list_open_items(session)
        )
    assert SECRETS[1] not in shown and "$argon2" not in shown
    for reader in (record.other_coordinator, record.privacy_officer):
        assert "$argon2" not in export_of(store, reader)
    # a coordinator of other people exports without this person's restricted words
    assert SECRETS[1] not in export_of(store, record.other_coordinator)
