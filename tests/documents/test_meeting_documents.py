"""Agenda (full and initials only), minutes and the caseload list, read back."""

import pytest

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.documents.meeting_documents import time_slots
from mdt_desk.errors import ValidationError
from mdt_desk.services import prints
from mdt_desk.services.display import counted
from tests.documents.helpers import NOW, care_case, desk_for, finished_meeting, flat, pages_text

FULL_NAMES = ("SMITH", "Smith", "Jane", "Siobhán", "Súilleabháin", "SÚILLEABHÁIN", "Łukasiewicz")


@pytest.fixture
def meeting(store, practice_ids, team):
    return finished_meeting(store, practice_ids["A81001"], team)


def whole_text(content: bytes) -> str:
    return flat(" ".join(pages_text(content)))


def test_time_slots_run_on_from_the_start() -> None:
    import datetime as dt

    start = dt.datetime(2026, 11, 22, 13, 0, tzinfo=dt.UTC)  # 13:00 GMT
    assert time_slots(start, [15, 10, 5]) == ["13:00–13:15", "13:15–13:25", "13:25–13:30"]


def test_the_agenda_has_details_attendees_slots_and_reasons(store, meeting) -> None:
    document = documents.preview(
        desk_for(store),
        DocumentRequest(DocumentKind.AGENDA, meeting_id=meeting.meeting_id),
        now=NOW,
    )
    text = whole_text(document.content)
    assert "Practice library" in text and "Seán Ó Briain" in text
    assert "13:00–13:15" in text and "13:15–13:25" in text
    assert "New referral" in text and "Review due" in text
    assert "SMITH, Jane (Mrs)" in text
    # The long name wraps inside its column; it must come back whole apart from the break.
    assert "ÓSÚILLEABHÁIN-ŁUKASIEWICZ,Siobhán(Mrs)" in text.replace(" ", "")
    assert "Zoë Nowak" in text and "Ngozi Okafor" in text


def test_the_initials_only_agenda_names_no_patient_anywhere(store, meeting) -> None:
    document = documents.produce(
        desk_for(store),
        DocumentRequest(DocumentKind.AGENDA_INITIALS, meeting_id=meeting.meeting_id),
        now=NOW,
    )
    text = whole_text(document.content)
    assert "J.S. (A81001)" in text and "S.Ó. (A81001)" in text
    for name in FULL_NAMES:
        assert name not in text
    assert "943 476 5919" not in text  # nor an NHS number
    assert "Page 1 of 1" in text
    with store.read() as session:
        (recorded,) = prints.prints_for_meeting(session, meeting.meeting_id)
    assert recorded.kind is DocumentKind.AGENDA_INITIALS
    assert "initials" in document.filename


def test_the_minutes_have_attendance_outcomes_actions_deferrals_and_times(store, meeting) -> None:
    document = documents.produce(
        desk_for(store),
        DocumentRequest(DocumentKind.MINUTES, meeting_id=meeting.meeting_id),
        now=NOW,
    )
    text = whole_text(document.content)
    assert "Present: Seán Ó Briain" in text
    assert "Apologies: Ngozi Okafor" in text
    assert "Deputies: Priya Raman for Zoë Nowak" in text
    assert "Outcome: Change plan" in text
    assert "Decisions: Refer to the falls clinic." in text
    assert "Refer to the falls clinic" in text and "06-Dec-2026" in text  # action and due
    assert "Deferred or not reached" in text
    assert "Not reached: carried to the next meeting" in text
    assert "1 item discussed, 1 deferred or not reached." in text
    assert "17" in text  # minutes taken
    with store.read() as session:
        assert [p.kind for p in prints.prints_for_meeting(session, meeting.meeting_id)] == [
            DocumentKind.MINUTES
        ]


def test_the_caseload_list_of_a_practice_and_of_a_coordinator(store, practice_ids, team) -> None:
    care_case(store, practice_ids["A81001"], team, actions=2)
    desk = desk_for(store)
    by_practice = documents.produce(
        desk,
        DocumentRequest(DocumentKind.CASELOAD_LIST, practice_id=practice_ids["A81001"]),
        now=NOW,
    )
    text = whole_text(by_practice.content)
    assert "Caseload of The Densham Surgery (A81001)" in text
    assert "SMITH, Jane (Mrs)" in text and "943 476 5919" in text
    assert "03-Jan-2027" in text  # next review, six weeks on
    assert "Page 1 of 1" in text
    mine = documents.preview(
        desk,
        DocumentRequest(DocumentKind.CASELOAD_LIST, coordinator_id=team["social_worker"]),
        now=NOW,
    )
    assert "Caseload of Ngozi Okafor" in whole_text(mine.content)
    with pytest.raises(ValidationError):
        documents.preview(desk, DocumentRequest(DocumentKind.CASELOAD_LIST), now=NOW)


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 items"), (1, "1 item"), (2, "2 items"), (11, "11 items")]
)
def test_a_count_agrees_with_its_noun(n: int, expected: str) -> None:
    """The trial read "1 items discussed" in the minutes and "(1 items)" in meetings list."""
    assert counted(n, "item") == expected
