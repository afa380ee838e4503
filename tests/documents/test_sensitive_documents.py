"""Sensitive actions, notes and alerts never reach the person's copy (the care plan, in
normal and large print) nor the initials-only agenda; what was left off is counted for
the screen and never printed. Read back from the PDFs with pypdf."""

import datetime as dt
import uuid
from pathlib import Path

import pytest

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.documents.meeting_documents import gather_meeting
from mdt_desk.models.enums import ActionStatus, AgendaReason
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings, plans
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.persons_copy import LeftOff
from tests import store_sql
from tests.conftest import TODAY
from tests.documents.helpers import (
    NOW,
    SENSITIVE_ALERT,
    care_case,
    desk_for,
    finished_meeting,
    flat,
    pages_text,
)
from tests.services.test_sensitive import mentions_a_sensitive_topic
from tests.shared_stores import made_sealed, sealed_key, unlock

SENSITIVE_ACTION = "Safeguarding: ask the bank about unusual withdrawals"
SENSITIVE_DONE = "Risk to staff: agree the lone-worker plan"
SENSITIVE_NOTE = "Son manages the money; withdrawals not explained"


def whole_text(content: bytes) -> str:
    return flat(" ".join(pages_text(content)))


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large print"])
def test_the_care_plan_leaves_out_sensitive_actions_notes_and_alerts(
    store, practice_ids, team, large_print: bool
) -> None:
    printed = care_case(store, practice_ids["A81001"], team, actions=3)
    owner = team["social_worker"]
    with store.write(owner) as session:
        plans.add_action(
            session,
            printed.case_id,
            description=SENSITIVE_ACTION,
            owner_id=owner,
            due_on=TODAY + dt.timedelta(days=5),
            sensitive=True,
            today=TODAY,
        )
        done = plans.add_action(
            session,
            printed.case_id,
            description=SENSITIVE_DONE,
            owner_id=owner,
            due_on=TODAY,
            sensitive=True,
            today=TODAY,
        )
        plans.update_action(session, done.id, status=ActionStatus.DONE, today=TODAY)
        plans.add_note(session, printed.case_id, SENSITIVE_NOTE, sensitive=True)
    request = DocumentRequest(
        DocumentKind.CARE_PLAN, patient_id=printed.patient_id, large_print=large_print
    )
    document = documents.produce(desk_for(store), request, now=NOW)
    text = whole_text(document.content)
    for action in (*printed.actions, *printed.done):
        assert action in text  # the rest of the plan is all there
    for sensitive in (SENSITIVE_ACTION, SENSITIVE_DONE, SENSITIVE_NOTE, SENSITIVE_ALERT):
        assert sensitive not in text
    assert "Safeguarding" not in text and "Risk to staff" not in text
    # counted for the preview's message, never printed
    assert document.left_off == LeftOff(actions=2, notes=1, alerts=1)
    assert "sensitive" not in text.lower()


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with made_sealed(), Store.open(path) as demo:
        generate_demo(demo, patients=600, seed=11, today=TODAY)
    return path, sealed_key(path)


@pytest.fixture
def demo_store(demo_made: tuple[Path, bytes]) -> Path:
    """The shared demo store, its key kept for this test."""
    return unlock(*demo_made)


def demo_person_with_a_sensitive_open_action(path: Path) -> tuple[uuid.UUID, str, list[str]]:
    """A demo person with a sensitive open action on their open case, that action's text
    and the texts of their other open actions."""
    raw = store_sql.connect(path)
    patient, case, description = raw.execute(
        "SELECT c.patient_id, c.id, a.description FROM action a"
        " JOIN care_case c ON c.id = a.case_id"
        " WHERE a.sensitive AND a.status = 'open' AND c.status != 'closed'"
        " AND a.retired_at IS NULL ORDER BY c.patient_id LIMIT 1"
    ).fetchone()
    others = [
        row[0]
        for row in raw.execute(
            "SELECT description FROM action WHERE case_id = ? AND NOT sensitive"
            " AND status IN ('open', 'in_progress') AND retired_at IS NULL",
            (case,),
        )
    ]
    raw.close()
    return uuid.UUID(patient), description, others


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large print"])
@pytest.mark.slow
def test_a_demo_persons_care_plan_never_shows_their_sensitive_open_action(
    demo_store: Path, large_print: bool
) -> None:
    patient_id, sensitive, others = demo_person_with_a_sensitive_open_action(demo_store)
    with Store.open(demo_store) as demo:
        document = documents.preview(
            desk_for(demo),
            DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id, large_print=large_print),
            now=dt.datetime.combine(TODAY, dt.time(9, 5), tzinfo=dt.UTC),
        )
    text = whole_text(document.content)
    assert "What we will do" in text
    assert sensitive not in text
    assert sensitive.split(":")[0] not in text  # not even "Safeguarding" / "Risk to staff"
    assert "".join(sensitive.split()) not in "".join(text.split())  # however it wraps
    for other in others:
        assert "".join(other.split()) in "".join(text.split())
    assert document.left_off.actions >= 1


def demo_people_with_safeguarding_or_risk_actions(path: Path) -> list[tuple[uuid.UUID, str]]:
    """Demo people with an open case and an action still to do whose words are about
    safeguarding or risk to staff (by its words, marked or not), with that text."""
    raw = store_sql.connect(path)
    rows = raw.execute(
        "SELECT c.patient_id, a.description FROM action a JOIN care_case c ON c.id = a.case_id"
        " WHERE a.status IN ('open', 'in_progress') AND c.status != 'closed'"
        " AND a.retired_at IS NULL AND c.retired_at IS NULL ORDER BY c.patient_id"
    ).fetchall()
    raw.close()
    found = [(uuid.UUID(patient), words) for patient, words in rows]
    return [(patient, words) for patient, words in found if mentions_a_sensitive_topic(words)]


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large print"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.slow
def test_no_demo_care_plan_mentions_safeguarding_or_risk_to_staff(
    tmp_path: Path, seed: int, large_print: bool
) -> None:
    """For several demo seeds, the care plans of people with a safeguarding or
    risk-to-staff action still to do never say so (normal and large print)."""
    path = tmp_path / "demo.sqlite"
    with Store.open(path) as demo:
        generate_demo(demo, patients=300, seed=seed, today=TODAY)
    affected = demo_people_with_safeguarding_or_risk_actions(path)
    assert affected, "the demo has people with such actions"
    by_person: dict[uuid.UUID, list[str]] = {}
    for patient_id, words in affected:
        by_person.setdefault(patient_id, []).append(words)
    with Store.open(path) as demo:
        for patient_id, texts in by_person.items():
            document = documents.preview(
                desk_for(demo),
                DocumentRequest(
                    DocumentKind.CARE_PLAN, patient_id=patient_id, large_print=large_print
                ),
                now=dt.datetime.combine(TODAY, dt.time(9, 5), tzinfo=dt.UTC),
            )
            text = whole_text(document.content)
            squeezed = "".join(text.split())
            assert "What we will do" in text
            for words in texts:
                assert "".join(words.split()) not in squeezed  # however it wraps
            assert not mentions_a_sensitive_topic(text), patient_id
            assert document.left_off.actions >= len(texts)


def test_the_initials_only_agenda_gathers_and_prints_no_sensitive_action(
    store, practice_ids, team
) -> None:
    meeting = finished_meeting(store, practice_ids["A81001"], team)
    with store.write(team["gp"]) as session:
        # agreed at the meeting (recorded against it), sensitive
        agreed = plans.add_action(
            session,
            meeting.discussed_case,
            description=SENSITIVE_ACTION,
            owner_id=team["social_worker"],
            due_on=TODAY + dt.timedelta(days=3),
            meeting_id=meeting.meeting_id,
            sensitive=True,
            today=TODAY,
        )
    with store.read() as session:
        circulated = gather_meeting(session, meeting.meeting_id, for_circulation=True)
        team_copy = gather_meeting(session, meeting.meeting_id)
    circulated_ids = {a.id for actions in circulated.agreed_actions.values() for a in actions}
    team_ids = {a.id for actions in team_copy.agreed_actions.values() for a in actions}
    assert agreed.id in team_ids and agreed.id not in circulated_ids
    assert circulated_ids == team_ids - {agreed.id}  # the other agreed action stays
    document = documents.produce(
        desk_for(store),
        DocumentRequest(DocumentKind.AGENDA_INITIALS, meeting_id=meeting.meeting_id),
        now=NOW,
    )
    text = whole_text(document.content)
    assert "J.S. (A81001)" in text
    assert SENSITIVE_ACTION not in text and "Safeguarding" not in text
    assert SENSITIVE_ALERT not in text


def test_an_action_captured_sensitive_in_meeting_mode_is_not_on_the_care_plan(
    store, practice_ids, team
) -> None:
    printed = care_case(store, practice_ids["A81001"], team, actions=1)
    chair = team["gp"]
    with store.write(chair) as session:
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
            session, meeting.id, printed.case_id, reason=AgendaReason.REVIEW_DUE, minutes=10
        )
        meeting_mode.start_meeting(session, meeting.id, now=NOW)
        meeting_mode.add_action_from_decision(
            session,
            item.id,
            description=SENSITIVE_ACTION,
            owner_id=team["social_worker"],
            due_on=TODAY + dt.timedelta(days=7),
            sensitive=True,
            today=TODAY,
        )
    document = documents.preview(
        desk_for(store),
        DocumentRequest(DocumentKind.CARE_PLAN, patient_id=printed.patient_id),
        now=NOW,
    )
    text = whole_text(document.content)
    assert printed.actions[0] in text
    assert SENSITIVE_ACTION not in text
    assert document.left_off.actions == 1
