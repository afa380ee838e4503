"""Stores with a person's case, or a meeting, to print; and reading PDFs back."""

import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass

from pypdf import PdfReader

from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    AlertKind,
    AttendanceStatus,
    ConsentDecision,
    ReferralSource,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, meeting_mode, meetings, patients, plans
from mdt_desk.services.desk import Desk
from tests.conftest import TODAY

#: 09:05 in London on TODAY (GMT in November).
NOW = dt.datetime(2026, 11, 22, 9, 5, tzinfo=dt.UTC)

SHARED_ALERT = "Daughter visits every Sunday afternoon"
NOT_SHARED_ALERT = "Key safe code 4721"
SENSITIVE_ALERT = "Aggressive dog: visit in pairs"


@dataclass(frozen=True)
class PrintedCase:
    patient_id: uuid.UUID
    case_id: uuid.UUID
    actions: tuple[str, ...]
    done: tuple[str, ...]


def care_case(
    store: Store,
    practice_id: uuid.UUID,
    team: dict[str, uuid.UUID],
    *,
    actions: int = 3,
    family_name: str = "Smith",
    given_name: str = "Jane",
    nhs_number: str = "9434765919",
) -> PrintedCase:
    """A person with an active case, a goal, a team, alerts of each kind and actions."""
    coordinator = team["social_worker"]
    with store.write(coordinator) as session:
        person = patients.register_patient(
            session,
            nhs_number=nhs_number,
            family_name=family_name,
            given_name=given_name,
            title="Mrs",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_id,
            today=TODAY,
        )
        case = cases.refer(
            session,
            person.id,
            source=ReferralSource.HOSPITAL,
            reason="Two falls this month",
            referred_on=TODAY,
            today=TODAY,
        )
        cases.accept(session, case.id, coordinator_id=coordinator, on=TODAY)
        cases.set_next_review(session, case.id, TODAY + dt.timedelta(weeks=6))
        goal = plans.add_goal(
            session, case.id, description="I want to walk to the corner shop on my own"
        )
        plans.add_care_team_member(
            session,
            case.id,
            role="District nurse",
            staff_id=team["district_nurse"],
            contact="01843 555 010",
            joined_on=TODAY,
        )
        plans.add_care_team_member(
            session, case.id, role="Daughter and carer", name="Ann Smith", joined_on=TODAY
        )
        patients.add_alert(session, person.id, AlertKind.LIVES_ALONE, SHARED_ALERT)
        patients.add_alert(
            session, person.id, AlertKind.KEY_SAFE, NOT_SHARED_ALERT, share_with_person=False
        )
        patients.add_alert(
            session, person.id, AlertKind.RISK_TO_STAFF, SENSITIVE_ALERT, sensitive=True
        )
        patients.record_consent(session, person.id, ConsentDecision.GIVEN, today=TODAY)
        owners = [team["district_nurse"], team["gp"], coordinator]
        descriptions = []
        for number in range(actions):
            description = f"Action {number + 1:03d}: check the stair rail and bath board"
            descriptions.append(description)
            plans.add_action(
                session,
                case.id,
                description=description,
                owner_id=owners[number % len(owners)],
                due_on=TODAY + dt.timedelta(days=number % 60),
                goal_id=goal if number % 2 else None,
                today=TODAY,
            )
        done = plans.add_action(
            session,
            case.id,
            description="Fit a grab rail by the front door",
            owner_id=team["district_nurse"],
            due_on=TODAY,
            today=TODAY,
        )
        plans.update_action(session, done.id, status=ActionStatus.DONE, today=TODAY)
    return PrintedCase(person.id, case.id, tuple(descriptions), (done.description,))


@dataclass(frozen=True)
class PrintedMeeting:
    meeting_id: uuid.UUID
    discussed_case: uuid.UUID
    deferred_case: uuid.UUID


def finished_meeting(
    store: Store, practice_id: uuid.UUID, team: dict[str, uuid.UUID]
) -> PrintedMeeting:
    """A meeting with two people on the agenda: one discussed with an action, one deferred."""
    first = care_case(store, practice_id, team, actions=1)
    second = care_case(
        store,
        practice_id,
        team,
        actions=0,
        family_name="Ó Súilleabháin-Łukasiewicz",
        given_name="Siobhán",
        nhs_number="9990000026",
    )
    chair = team["gp"]
    with store.write(chair) as session:
        (meeting,) = meetings.schedule_meeting(
            session,
            practice_id=practice_id,
            day=TODAY,
            start_time=dt.time(13, 0),
            duration_minutes=60,
            chair_id=chair,
            invited_ids=list(team.values()),
            location="Practice library",
            today=TODAY,
        )
        one = meetings.add_to_agenda(
            session, meeting.id, first.case_id, reason=AgendaReason.NEW_REFERRAL, minutes=15
        )
        meetings.add_to_agenda(
            session, meeting.id, second.case_id, reason=AgendaReason.REVIEW_DUE, minutes=10
        )
        meetings.set_attendance(session, meeting.id, team["gp"], AttendanceStatus.PRESENT)
        meetings.set_attendance(
            session, meeting.id, team["social_worker"], AttendanceStatus.APOLOGIES
        )
        meetings.set_attendance(
            session,
            meeting.id,
            team["district_nurse"],
            AttendanceStatus.DEPUTY,
            deputy_name="Priya Raman",
        )
        meeting_mode.start_meeting(session, meeting.id, now=NOW)
        meeting_mode.save_capture(
            session,
            one.id,
            summary="Falls at night; wants to stay at home.",
            decisions="Refer to the falls clinic.",
            outcome=AgendaOutcome.CHANGE_PLAN,
            now=NOW,
        )
        meeting_mode.add_action_from_decision(
            session,
            one.id,
            description="Refer to the falls clinic",
            owner_id=team["gp"],
            due_on=TODAY + dt.timedelta(days=14),
            today=TODAY,
        )
        meeting_mode.add_time(session, one.id, 17 * 60)
        meeting_mode.finish_meeting(session, meeting.id, now=NOW)
    return PrintedMeeting(meeting.id, first.case_id, second.case_id)


def desk_for(store: Store) -> Desk:
    return Desk.for_store(store)


def pages_text(content: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def flat(value: str) -> str:
    """Text with line breaks and runs of spaces as single spaces (tables wrap lines)."""
    return re.sub(r"\s+", " ", value)


def font_sizes(content: bytes) -> set[float]:
    """Every font size text is drawn at, from the content streams (``Tf`` operands
    scaled by the text matrix)."""
    sizes: set[float] = set()
    for page in PdfReader(io.BytesIO(content)).pages:

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            if text.strip():
                sizes.add(round(size * abs(tm[3]) * abs(cm[3]), 1))

        page.extract_text(visitor_text=visit)
    return sizes
