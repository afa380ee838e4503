"""Need-to-know in print (issue 10): a care plan or minutes printed by someone who may not
read the person's restricted items hold nothing of them (read back from the PDF)."""

import datetime as dt

import pytest

from mdt_desk.documents.care_plan import care_plan_pdf
from mdt_desk.documents.meeting_documents import minutes_pdf
from mdt_desk.models.enums import AgendaReason
from mdt_desk.models.store import Store
from mdt_desk.services import meeting_mode, meetings
from tests.conftest import TODAY
from tests.documents.helpers import NOW, flat, pages_text
from tests.services.test_need_to_know import (
    PLAIN,
    SECRETS,
    SensitiveRecord,
    make_sensitive_record,
)

AGREED = "Joint visit with the police on Friday"


@pytest.fixture
def record(store: Store, team, practice_ids) -> SensitiveRecord:
    return make_sensitive_record(store, team, practice_ids["A81001"])


def test_a_care_plan_printed_by_someone_not_on_the_team_has_no_restricted_words(
    store, record
) -> None:
    # A coordinator of other people may print any care plan; this person's restricted
    # items are not theirs to read.
    with store.read(record.other_coordinator) as session:
        rendered, _content = care_plan_pdf(
            session, record.patient_id, now=NOW, printed_by="Olu Otherway"
        )
    text = flat(" ".join(pages_text(rendered.content)))
    assert PLAIN[2] in text  # the plan is there
    assert [secret for secret in SECRETS if secret in text] == []
    assert "Safeguarding" not in text


def test_minutes_printed_by_someone_who_may_not_read_them_hold_a_marker_only(store, record) -> None:
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
        meeting_mode.add_action_from_decision(
            session,
            item.id,
            description=AGREED,
            owner_id=record.coordinator,
            due_on=TODAY + dt.timedelta(days=3),
            sensitive=True,
            today=TODAY,
        )

    def minutes_as(reader) -> str:
        with store.read(reader) as session:
            rendered = minutes_pdf(session, meeting.id, now=NOW, printed_by="Printer")
        return flat(" ".join(pages_text(rendered.content)))

    assert AGREED in minutes_as(record.coordinator)
    other = minutes_as(record.other_coordinator)
    assert AGREED not in other
    assert "Restricted item" in other
