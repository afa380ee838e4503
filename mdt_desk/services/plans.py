"""The person-centred plan of a case: care team, goals, actions, notes, interventions
and the outcome events the team works to prevent.

Rules (domain.md): an action always has one owner from the team and a due date (in
the past only for imported history); notes are append-only, a correction is a new
note that amends the original; goals are kept in the person's own words.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import (
    Action,
    CareTeamMember,
    Case,
    Goal,
    Intervention,
    Meeting,
    Note,
    OutcomeEvent,
    Staff,
)
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import (
    ActionStatus,
    CaseStatus,
    DischargeDestination,
    GoalOutcome,
    InterventionKind,
    InterventionOutcome,
    OutcomeEventKind,
)
from mdt_desk.models.journal import current_actor_id
from mdt_desk.services.access import Permission, action_update, may_read_sensitive, requires
from mdt_desk.services.actions import is_overdue
from mdt_desk.services.cases import OPEN_STATUSES, case_record, load_case
from mdt_desk.services.display import cui_date
from mdt_desk.services.patients import load_patient, record_death
from mdt_desk.services.restricted import NOT_SHOWN, RESTRICTED_TEXT, shown
from mdt_desk.services.staff import display_staff_name

#: Short-term interventions normally last up to six weeks.
DEFAULT_INTERVENTION_LENGTH = dt.timedelta(weeks=6)
#: Interventions after a hospital discharge whose result is checked 91 days later (the
#: ASCOF 2B(1) shape of the ``at_home_91_days_after_reablement`` indicator).
REABLEMENT_KINDS = (InterventionKind.REABLEMENT, InterventionKind.REHABILITATION)
#: Reablement that starts this many days after a discharge, or fewer, follows it.
REABLEMENT_AFTER_DISCHARGE_DAYS = 14
#: The check: 91 days after the discharge.
CHECK_AFTER_DISCHARGE = dt.timedelta(days=91)
#: How a 91-day check action's description begins (how it is found again, not copied).
CHECK_91_DAY_PREFIX = "91-day check"
#: Outcome events that are admissions to a care home (may be a permanent placement).
CARE_HOME_ADMISSIONS = (
    OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION,
    OutcomeEventKind.NURSING_CARE_ADMISSION,
)


@dataclass(frozen=True)
class ActionRecord:
    id: uuid.UUID
    case_id: uuid.UUID
    description: str
    owner_id: uuid.UUID
    owner_name: str
    due_on: dt.date
    status: ActionStatus
    goal_id: uuid.UUID | None
    meeting_id: uuid.UUID | None
    completed_on: dt.date | None
    #: need-to-know: never on the person's own copy, hidden on a shared screen until revealed
    sensitive: bool = False
    #: the reader may not read it: description and owner name are a marker's
    restricted: bool = False

    def is_overdue(self, today: dt.date) -> bool:
        """Open (or in progress) past its due date (the one rule, in services.actions)."""
        return is_overdue(self.status, self.due_on, today)


@dataclass(frozen=True)
class NoteRecord:
    id: uuid.UUID
    case_id: uuid.UUID
    author_id: uuid.UUID | None
    written_at: dt.datetime
    body: str
    amends_note_id: uuid.UUID | None
    #: need-to-know, as for actions (the one field of a note that may change later)
    sensitive: bool = False
    #: the reader may not read it: body and author are a marker's (services.restricted)
    restricted: bool = False


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: message})


def _open_case(session: Session, case_id: uuid.UUID, what: str) -> Case:
    case = load_case(session, case_id)
    if case.status not in OPEN_STATUSES:
        raise RuleError(f"The case is closed: reopen it before adding {what}.")
    return case


def _action_record(action: Action, owner: Staff) -> ActionRecord:
    return ActionRecord(
        id=action.id,
        case_id=action.case_id,
        description=action.description,
        owner_id=owner.id,
        owner_name=display_staff_name(owner.family_name, owner.given_name, owner.title),
        due_on=action.due_on,
        status=action.status,
        goal_id=action.goal_id,
        meeting_id=action.meeting_id,
        completed_on=action.completed_on,
        sensitive=action.sensitive,
    )


@requires(Permission.ADD_ACTION)
def add_action(
    session: Session,
    case_id: uuid.UUID,
    *,
    description: str,
    owner_id: uuid.UUID | None,
    due_on: dt.date | None,
    goal_id: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    imported_history: bool = False,
    sensitive: bool = False,
    today: dt.date | None = None,
) -> ActionRecord:
    """Add one thing one named owner will do by a date.

    Args:
        imported_history: allows a due date in the past (actions brought in from an
            earlier record); a new action must be due today or later.
        sensitive: need-to-know (safeguarding, risk to staff): never on the person's
            own copy, hidden on a shared screen until revealed.
    """
    today = today or dt.date.today()
    errors: dict[str, str] = {}
    if not description.strip():
        errors["description"] = "Say what will be done."
    owner = session.get(Staff, owner_id) if owner_id else None
    if owner is None or owner.retired_at is not None:
        errors["owner"] = "Every action needs an owner: choose who will do it."
    if due_on is None:
        errors["due_on"] = "Every action needs a due date."
    elif due_on < today and not imported_history:
        errors["due_on"] = "The due date is in the past: choose today or a later date."
    if errors:
        raise ValidationError(" ".join(errors.values()), errors)
    case = _open_case(session, case_id, "actions")
    if goal_id is not None:
        goal = session.get(Goal, goal_id)
        if goal is None or goal.case_id != case.id:
            raise _fail("goal", "That goal belongs to another case.")
    if meeting_id is not None and session.get(Meeting, meeting_id) is None:
        raise _fail("meeting", "That meeting is not in this store.")
    assert owner is not None and due_on is not None
    action = Action(
        case_id=case.id,
        description=description.strip(),
        owner_id=owner.id,
        due_on=due_on,
        goal_id=goal_id,
        meeting_id=meeting_id,
        status=ActionStatus.OPEN,
        sensitive=sensitive,
    )
    session.add(action)
    session.flush()
    return _action_record(action, owner)


def _load_action(session: Session, action_id: uuid.UUID) -> Action:
    action = session.get(Action, action_id)
    if action is None or action.retired_at is not None:
        raise NotFoundError("That action is not in this store.")
    return action


@requires(Permission.UPDATE_OWN_ACTION, decide=action_update)
def update_action(
    session: Session,
    action_id: uuid.UUID,
    *,
    description: str | None = None,
    owner_id: uuid.UUID | None = None,
    due_on: dt.date | None = None,
    status: ActionStatus | None = None,
    sensitive: bool | None = None,
    today: dt.date | None = None,
) -> ActionRecord:
    """Change an action; only the arguments given change. Done records the date."""
    action = _load_action(session, action_id)
    today = today or dt.date.today()
    if description is not None:
        if not description.strip():
            raise _fail("description", "Say what will be done.")
        action.description = description.strip()
    if owner_id is not None:
        owner = session.get(Staff, owner_id)
        if owner is None or owner.retired_at is not None:
            raise _fail("owner", "Every action needs an owner: choose who will do it.")
        action.owner_id = owner.id
    if due_on is not None:
        if due_on < today and due_on != action.due_on:
            raise _fail("due_on", "The due date is in the past: choose today or a later date.")
        action.due_on = due_on
    if status is not None and status != action.status:
        action.status = status
        action.completed_on = today if status is ActionStatus.DONE else None
    if sensitive is not None:
        action.sensitive = sensitive
    session.flush()
    owner = session.get(Staff, action.owner_id)
    assert owner is not None
    return _action_record(action, owner)


@requires(Permission.READ_CLINICAL)
def list_actions(
    session: Session,
    case_id: uuid.UUID,
    *,
    include_closed: bool = False,
    include_sensitive: bool = True,
) -> list[ActionRecord]:
    """A case's actions by due date; open and in-progress ones unless ``include_closed``.

    Args:
        include_sensitive: ``False`` for anything that leaves the team (a document
            circulated or given to the person): sensitive actions are then left out.
    """
    query = (
        select(Action, Staff)
        .join(Staff, Staff.id == Action.owner_id)
        .where(Action.case_id == case_id, Action.retired_at.is_(None))
        .order_by(Action.due_on, Action.created_at)
    )
    if not include_sensitive:
        query = query.where(Action.sensitive.is_(False))
    if not include_closed:
        query = query.where(Action.status.in_((ActionStatus.OPEN, ActionStatus.IN_PROGRESS)))
    rows = [_action_record(action, owner) for action, owner in session.execute(query)]
    if any(row.sensitive for row in rows):
        readable = may_read_sensitive(session, load_case(session, case_id).patient_id)
        rows = [
            shown(row, readable, description=RESTRICTED_TEXT, owner_name=NOT_SHOWN) for row in rows
        ]
    return rows


@requires(Permission.EDIT_PLAN)
def add_goal(
    session: Session,
    case_id: uuid.UUID,
    *,
    description: str,
    target_on: dt.date | None = None,
) -> uuid.UUID:
    """Add a "what matters to me" goal, kept exactly in the person's words."""
    if not description.strip():
        raise _fail("description", "Write the goal in the person's own words.")
    case = _open_case(session, case_id, "goals")
    goal = Goal(case_id=case.id, description=description.strip(), target_on=target_on)
    session.add(goal)
    session.flush()
    return goal.id


@requires(Permission.EDIT_PLAN)
def set_goal_outcome(session: Session, goal_id: uuid.UUID, outcome: GoalOutcome | None) -> None:
    goal = session.get(Goal, goal_id)
    if goal is None or goal.retired_at is not None:
        raise NotFoundError("That goal is not in this store.")
    goal.outcome = outcome
    session.flush()


@requires(Permission.ADD_NOTE)
def add_note(
    session: Session,
    case_id: uuid.UUID,
    body: str,
    *,
    amends_note_id: uuid.UUID | None = None,
    sensitive: bool = False,
) -> NoteRecord:
    """Append a note to the case timeline; the author is the desk's signed-in actor.

    A correction is a new note with ``amends_note_id`` naming the original, which
    stays as it was written. A correction of a sensitive note is sensitive too: it
    repeats what it corrects.
    """
    if not body.strip():
        raise _fail("body", "The note is empty.")
    case = load_case(session, case_id)
    if amends_note_id is not None:
        original = session.get(Note, amends_note_id)
        if original is None or original.case_id != case.id:
            raise _fail("amends", "The note being corrected belongs to another case.")
        sensitive = sensitive or original.sensitive
    note = Note(
        case_id=case.id,
        author_id=current_actor_id(session.connection()),
        written_at=utc_now(),
        body=body.rstrip(),
        amends_note_id=amends_note_id,
        sensitive=sensitive,
    )
    session.add(note)
    session.flush()
    return _note_record(note)


def _note_record(note: Note) -> NoteRecord:
    return NoteRecord(
        id=note.id,
        case_id=note.case_id,
        author_id=note.author_id,
        written_at=note.written_at,
        body=note.body,
        amends_note_id=note.amends_note_id,
        sensitive=note.sensitive,
    )


@requires(Permission.EDIT_PLAN)
def set_note_sensitive(session: Session, note_id: uuid.UUID, sensitive: bool) -> NoteRecord:
    """Mark a note sensitive (need-to-know) or not; its corrections follow it.

    The flag is the one field of a written note that may change: the note itself stays
    as it was written. A note and the corrections of it share one flag, since each
    correction repeats what it corrects, so marking any of them marks the whole chain.

    Raises:
        NotFoundError: the note is not in this store.
    """
    note = session.get(Note, note_id)
    if note is None or note.retired_at is not None:
        raise NotFoundError("That note is not in this store.")
    by_id = {
        other.id: other
        for other in session.scalars(
            select(Note).where(Note.case_id == note.case_id, Note.retired_at.is_(None))
        )
    }
    root = note
    while root.amends_note_id in by_id and root.amends_note_id != note.id:
        root = by_id[root.amends_note_id]
    corrections: dict[uuid.UUID, list[Note]] = {}
    for other in by_id.values():
        if other.amends_note_id is not None:
            corrections.setdefault(other.amends_note_id, []).append(other)
    pending, visited = [root], set[uuid.UUID]()
    while pending:
        current = pending.pop()
        if current.id in visited:
            continue
        visited.add(current.id)
        if current.sensitive != sensitive:
            current.sensitive = sensitive
        pending.extend(corrections.get(current.id, ()))
    session.flush()
    return _note_record(note)


@requires(Permission.READ_CLINICAL)
def list_notes(session: Session, case_id: uuid.UUID) -> list[NoteRecord]:
    """The case timeline, oldest first (a restricted note as a marker, need-to-know)."""
    notes = [
        _note_record(note)
        for note in session.scalars(
            select(Note)
            .where(Note.case_id == case_id, Note.retired_at.is_(None))
            .order_by(Note.written_at, Note.created_at)
        )
    ]
    if not any(note.sensitive for note in notes):
        return notes
    readable = may_read_sensitive(session, load_case(session, case_id).patient_id)
    return [shown(note, readable, body=RESTRICTED_TEXT, author_id=None) for note in notes]


@requires(Permission.EDIT_PLAN)
def add_care_team_member(
    session: Session,
    case_id: uuid.UUID,
    *,
    role: str,
    staff_id: uuid.UUID | None = None,
    name: str = "",
    organisation: str = "",
    contact: str = "",
    joined_on: dt.date | None = None,
) -> uuid.UUID:
    """Add a team member (``staff_id``) or someone outside the team such as a carer (``name``)."""
    if not role.strip():
        raise _fail("role", "Say what their role is in this person's care.")
    staff = session.get(Staff, staff_id) if staff_id else None
    if staff_id is not None and (staff is None or staff.retired_at is not None):
        raise _fail("staff", "That staff member is not in the team.")
    if staff is None and not name.strip():
        raise _fail("name", "Choose a team member, or enter the person's name.")
    case = _open_case(session, case_id, "care team members")
    if staff is not None:
        already = session.scalar(
            select(CareTeamMember).where(
                CareTeamMember.case_id == case.id,
                CareTeamMember.staff_id == staff.id,
                CareTeamMember.left_on.is_(None),
                CareTeamMember.retired_at.is_(None),
            )
        )
        if already is not None:
            raise RuleError(
                f"{display_staff_name(staff.family_name, staff.given_name)} is already in "
                "this care team."
            )
    member = CareTeamMember(
        case_id=case.id,
        staff_id=staff.id if staff else None,
        name=name.strip(),
        role=role.strip(),
        organisation=organisation.strip() or (staff.organisation if staff else ""),
        contact=contact.strip(),
        joined_on=joined_on or dt.date.today(),
    )
    session.add(member)
    session.flush()
    return member.id


@requires(Permission.EDIT_PLAN)
def remove_care_team_member(
    session: Session, member_id: uuid.UUID, *, left_on: dt.date | None = None
) -> None:
    """Record that someone left the care team (they stay in the history)."""
    member = session.get(CareTeamMember, member_id)
    if member is None or member.retired_at is not None:
        raise NotFoundError("That care team member is not in this store.")
    left_on = left_on or dt.date.today()
    if left_on < member.joined_on:
        raise _fail("left_on", "They cannot leave before they joined.")
    member.left_on = left_on
    session.flush()


@dataclass(frozen=True)
class CheckDue:
    """A 91-day check action a change added, or moved to a (corrected) discharge."""

    due_on: dt.date
    owner_name: str


@dataclass(frozen=True)
class InterventionAdded:
    """What :func:`add_intervention` changed: the intervention, and the coordinator's
    91-day check when reablement after a discharge added or moved one."""

    id: uuid.UUID
    check: CheckDue | None


@requires(Permission.EDIT_PLAN)
def add_intervention(
    session: Session,
    case_id: uuid.UUID,
    *,
    kind: InterventionKind,
    started_on: dt.date,
    planned_end_on: dt.date | None = None,
    provider: str = "",
) -> InterventionAdded:
    """Start a short-term intervention (normally up to six weeks)."""
    planned_end_on = planned_end_on or started_on + DEFAULT_INTERVENTION_LENGTH
    if planned_end_on < started_on:
        raise _fail("planned_end_on", "The planned end is before the start.")
    case = _open_case(session, case_id, "interventions")
    intervention = Intervention(
        case_id=case.id,
        kind=kind,
        provider=provider.strip(),
        started_on=started_on,
        planned_end_on=planned_end_on,
    )
    session.add(intervention)
    session.flush()
    check = None
    if kind in REABLEMENT_KINDS:
        discharge = _discharge_before(session, case.patient_id, started_on)
        if discharge is not None:
            check = _ensure_91_day_check(session, case, discharge)
    return InterventionAdded(intervention.id, check)


@requires(Permission.EDIT_PLAN)
def end_intervention(
    session: Session,
    intervention_id: uuid.UUID,
    *,
    ended_on: dt.date,
    outcome: InterventionOutcome,
) -> None:
    intervention = session.get(Intervention, intervention_id)
    if intervention is None or intervention.retired_at is not None:
        raise NotFoundError("That intervention is not in this store.")
    if ended_on < intervention.started_on:
        raise _fail("ended_on", "The end is before the start.")
    intervention.ended_on = ended_on
    intervention.outcome = outcome
    session.flush()


def _check_discharge(
    kind: OutcomeEventKind,
    occurred_on: dt.date,
    discharged_on: dt.date | None,
    destination: DischargeDestination | None,
    today: dt.date,
) -> None:
    """A discharge belongs to a hospital admission, after it and not in the future."""
    if discharged_on is None and destination is None:
        return
    if kind is not OutcomeEventKind.HOSPITAL_ADMISSION:
        raise _fail("discharged_on", "Only a hospital admission has a discharge.")
    if discharged_on is None:
        raise _fail("discharged_on", "Enter the day the person left hospital.")
    if discharged_on < occurred_on:
        raise _fail(
            "discharged_on",
            f"The discharge ({cui_date(discharged_on)}) is before the admission "
            f"({cui_date(occurred_on)}).",
        )
    if discharged_on > today:
        raise _fail("discharged_on", "The discharge date cannot be in the future.")


def _check_permanent(kind: OutcomeEventKind, permanent: bool) -> None:
    if permanent and kind not in CARE_HOME_ADMISSIONS:
        raise _fail(
            "permanent",
            "Only a residential or nursing care admission can be a permanent placement.",
        )


@requires(Permission.EDIT_PLAN)
def record_outcome_event(
    session: Session,
    patient_id: uuid.UUID,
    *,
    kind: OutcomeEventKind,
    occurred_on: dt.date,
    source: str = "",
    delayed_days: int | None = None,
    discharged_on: dt.date | None = None,
    discharge_destination: DischargeDestination | None = None,
    permanent: bool = False,
    today: dt.date | None = None,
) -> uuid.UUID:
    """Record an admission, A&E attendance, death, ... against the person's open case.

    A death also records the date of death on the person. A hospital admission may
    carry its discharge (date and destination) now or later
    (:func:`record_discharge`); a residential or nursing care admission may be a
    ``permanent`` placement. A discharge before a reablement that started within
    :data:`REABLEMENT_AFTER_DISCHARGE_DAYS` days of it adds the 91-day check.
    """
    patient = load_patient(session, patient_id)
    today = today or dt.date.today()
    if occurred_on > today:
        raise _fail("occurred_on", "The event date cannot be in the future.")
    if kind is OutcomeEventKind.DELAYED_TRANSFER_OF_CARE and (delayed_days or 0) < 1:
        raise _fail("delayed_days", "Enter how many days the transfer was delayed.")
    _check_discharge(kind, occurred_on, discharged_on, discharge_destination, today)
    _check_permanent(kind, permanent)
    open_case = session.scalar(
        select(Case).where(
            Case.patient_id == patient.id,
            Case.status != CaseStatus.CLOSED,
            Case.retired_at.is_(None),
        )
    )
    event = OutcomeEvent(
        patient_id=patient.id,
        case_id=open_case.id if open_case else None,
        kind=kind,
        occurred_on=occurred_on,
        source=source.strip(),
        delayed_days=delayed_days,
        discharged_on=discharged_on,
        discharge_destination=discharge_destination,
        permanent=permanent,
    )
    session.add(event)
    if kind is OutcomeEventKind.DEATH:
        record_death(session, patient.id, occurred_on, today)
    session.flush()
    if discharged_on is not None:
        _check_after_reablement(session, event)
    return event.id


def _live_event(session: Session, event_id: uuid.UUID) -> OutcomeEvent:
    event = session.get(OutcomeEvent, event_id)
    if event is None or event.retired_at is not None:
        raise NotFoundError("That outcome event is not in this store.")
    return event


@requires(Permission.EDIT_PLAN)
def record_discharge(
    session: Session,
    event_id: uuid.UUID,
    *,
    discharged_on: dt.date | None,
    destination: DischargeDestination | None,
    today: dt.date | None = None,
) -> None:
    """Record (or correct, or clear with two ``None``) a hospital admission's discharge.

    When reablement or rehabilitation of the person started within
    :data:`REABLEMENT_AFTER_DISCHARGE_DAYS` days after the discharge, the case's
    coordinator gets the 91-day check action (once; a corrected date moves it).
    """
    event = _live_event(session, event_id)
    _check_discharge(
        OutcomeEventKind(event.kind),
        event.occurred_on,
        discharged_on,
        destination,
        today or dt.date.today(),
    )
    event.discharged_on = discharged_on
    event.discharge_destination = destination
    session.flush()
    if discharged_on is not None:
        _check_after_reablement(session, event)


@requires(Permission.EDIT_PLAN)
def set_permanent_placement(session: Session, event_id: uuid.UUID, permanent: bool) -> None:
    """Mark a residential or nursing care admission as a permanent placement, or not."""
    event = _live_event(session, event_id)
    _check_permanent(OutcomeEventKind(event.kind), permanent)
    event.permanent = permanent
    session.flush()


# -- The 91-day check after reablement ------------------------------------------------


def _discharge_before(
    session: Session, patient_id: uuid.UUID, started_on: dt.date
) -> OutcomeEvent | None:
    """The person's latest discharge from hospital that a reablement starting on
    ``started_on`` follows (0 to 14 days before it)."""
    earliest = started_on - dt.timedelta(days=REABLEMENT_AFTER_DISCHARGE_DAYS)
    return session.scalar(
        select(OutcomeEvent)
        .where(
            OutcomeEvent.patient_id == patient_id,
            OutcomeEvent.kind == OutcomeEventKind.HOSPITAL_ADMISSION,
            OutcomeEvent.retired_at.is_(None),
            OutcomeEvent.discharged_on.is_not(None),
            OutcomeEvent.discharged_on >= earliest,
            OutcomeEvent.discharged_on <= started_on,
        )
        .order_by(OutcomeEvent.discharged_on.desc(), OutcomeEvent.created_at.desc())
        .limit(1)
    )


def _check_after_reablement(session: Session, discharge: OutcomeEvent) -> None:
    """Add the 91-day check when reablement of the person followed ``discharge``."""
    assert discharge.discharged_on is not None
    latest = discharge.discharged_on + dt.timedelta(days=REABLEMENT_AFTER_DISCHARGE_DAYS)
    case = session.scalar(
        select(Case)
        .join(Intervention, Intervention.case_id == Case.id)
        .where(
            Case.patient_id == discharge.patient_id,
            Case.retired_at.is_(None),
            Case.status.in_(OPEN_STATUSES),
            Intervention.retired_at.is_(None),
            Intervention.kind.in_(REABLEMENT_KINDS),
            Intervention.started_on >= discharge.discharged_on,
            Intervention.started_on <= latest,
        )
        .limit(1)
    )
    if case is not None:
        _ensure_91_day_check(session, case, discharge)


def _owner_name(session: Session, staff_id: uuid.UUID) -> str:
    owner = session.get(Staff, staff_id)
    if owner is None:
        return ""
    return display_staff_name(owner.family_name, owner.given_name, owner.title)


def check_91_day_text(discharged_on: dt.date) -> str:
    """What the 91-day check action asks its owner to find out."""
    return (
        f"{CHECK_91_DAY_PREFIX} (discharged from hospital {cui_date(discharged_on)}): is the "
        "person still living at home: not in hospital and not in a care home (residential or "
        "nursing)? Record any admission or death as an outcome event."
    )


def _ensure_91_day_check(session: Session, case: Case, discharge: OutcomeEvent) -> CheckDue | None:
    """One open 91-day check per case, owned by its coordinator and due 91 days after
    ``discharge``. An open check already there is moved to this discharge's date (a
    corrected discharge), never added twice. A case without a coordinator (a referral)
    gets none: there is nobody to own it. Returns the check added or moved; None when
    nothing changed."""
    assert discharge.discharged_on is not None
    due_on = discharge.discharged_on + CHECK_AFTER_DISCHARGE
    description = check_91_day_text(discharge.discharged_on)
    existing = session.scalars(
        select(Action).where(
            Action.case_id == case.id,
            Action.retired_at.is_(None),
            Action.description.startswith(CHECK_91_DAY_PREFIX, autoescape=True),
        )
    ).all()
    for action in existing:
        if action.due_on == due_on:
            return None  # this discharge's check is there already (done or not)
    for action in existing:
        if action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS):
            action.due_on = due_on
            action.description = description
            session.flush()
            return CheckDue(due_on, _owner_name(session, action.owner_id))
    coordinator = case_record(session, case).coordinator
    if coordinator is None:
        return None
    session.add(
        Action(
            case_id=case.id,
            description=description,
            owner_id=coordinator.staff_id,
            due_on=due_on,
            status=ActionStatus.OPEN,
        )
    )
    session.flush()
    return CheckDue(due_on, _owner_name(session, coordinator.staff_id))


# -- The action plan screen ----------------------------------------------------------
#
# Rows for the inline-editable action plan: what the table shows (owner's name, the
# linked goal in the person's words, whether it is overdue) and the choices its pickers
# offer. Undo support: a withdrawn action (an "add" undone) is retired, never deleted,
# and can be put back; an edit is undone by restoring the fields as they were.


@dataclass(frozen=True)
class ActionPlanRow:
    """One action as the action plan shows it."""

    id: uuid.UUID
    case_id: uuid.UUID
    description: str
    owner_id: uuid.UUID
    owner_name: str
    due_on: dt.date
    status: ActionStatus
    goal_id: uuid.UUID | None
    goal_text: str
    completed_on: dt.date | None
    withdrawn: bool = False
    #: need-to-know: never on the person's own copy, hidden on a shared screen until revealed
    sensitive: bool = False
    #: the reader may not read it: description, owner and goal are a marker's (see
    #: services.restricted); the screens do not let it be edited
    restricted: bool = False

    @property
    def is_closed(self) -> bool:
        """Done or cancelled: shown only when the plan shows all actions."""
        return self.status in (ActionStatus.DONE, ActionStatus.CANCELLED)

    def is_overdue(self, today: dt.date) -> bool:
        """Open (or in progress) past its due date (the one rule, in services.actions)."""
        return is_overdue(self.status, self.due_on, today)


@dataclass(frozen=True)
class OwnerChoice:
    """A staff member who can own an action; ``in_team`` for the case's own people."""

    id: uuid.UUID
    name: str
    profession_text: str
    in_team: bool
    is_coordinator: bool


@dataclass(frozen=True)
class GoalChoice:
    id: uuid.UUID
    text: str


@dataclass(frozen=True)
class ActionPlanView:
    """Everything the action plan screen shows for one case."""

    case_id: uuid.UUID
    case_open: bool
    rows: tuple[ActionPlanRow, ...]
    owners: tuple[OwnerChoice, ...]
    goals: tuple[GoalChoice, ...]
    today: dt.date


def _action_plan_row(session: Session, action: Action) -> ActionPlanRow:
    owner = session.get(Staff, action.owner_id)
    assert owner is not None
    goal = session.get(Goal, action.goal_id) if action.goal_id is not None else None
    return ActionPlanRow(
        id=action.id,
        case_id=action.case_id,
        description=action.description,
        owner_id=owner.id,
        owner_name=display_staff_name(owner.family_name, owner.given_name, owner.title),
        due_on=action.due_on,
        status=action.status,
        goal_id=action.goal_id,
        goal_text=goal.description if goal is not None else "",
        completed_on=action.completed_on,
        withdrawn=action.retired_at is not None,
        sensitive=action.sensitive,
    )


def _any_action(session: Session, action_id: uuid.UUID) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise NotFoundError("That action is not in this store.")
    return action


@requires(Permission.READ_CLINICAL)
def get_action_row(session: Session, action_id: uuid.UUID) -> ActionPlanRow:
    """One action as the action plan shows it (withdrawn ones too, flagged)."""
    return _action_plan_row(session, _any_action(session, action_id))


@requires(Permission.READ_CLINICAL)
def list_action_rows(
    session: Session,
    case_id: uuid.UUID,
    *,
    include_closed: bool = False,
    show_sensitive: bool | None = None,
) -> list[ActionPlanRow]:
    """A case's actions by due date with owner names and goal text; open and in-progress
    ones unless ``include_closed``.

    Args:
        show_sensitive: ``None`` shows a restricted action's content only to those who
            may read it (need-to-know); others get a marker. ``True``: the caller decided.
    """
    query = (
        select(Action, Staff, Goal)
        .join(Staff, Staff.id == Action.owner_id)
        .outerjoin(Goal, Goal.id == Action.goal_id)
        .where(Action.case_id == case_id, Action.retired_at.is_(None))
        .order_by(Action.due_on, Action.created_at)
    )
    if not include_closed:
        query = query.where(Action.status.in_((ActionStatus.OPEN, ActionStatus.IN_PROGRESS)))
    rows = [
        ActionPlanRow(
            id=action.id,
            case_id=action.case_id,
            description=action.description,
            owner_id=owner.id,
            owner_name=display_staff_name(owner.family_name, owner.given_name, owner.title),
            due_on=action.due_on,
            status=action.status,
            goal_id=action.goal_id,
            goal_text=goal.description if goal is not None else "",
            completed_on=action.completed_on,
            sensitive=action.sensitive,
        )
        for action, owner, goal in session.execute(query)
    ]
    if show_sensitive or not any(row.sensitive for row in rows):
        return rows
    readable = show_sensitive is None and may_read_sensitive(
        session, load_case(session, case_id).patient_id
    )
    return [
        shown(
            row,
            readable,
            description=RESTRICTED_TEXT,
            owner_name=NOT_SHOWN,
            goal_id=None,
            goal_text=NOT_SHOWN,
        )
        for row in rows
    ]


def action_owner_choices(session: Session, case_id: uuid.UUID) -> list[OwnerChoice]:
    """Who can own an action: the coordinator and the care team first, then other staff."""
    from mdt_desk.models import CoordinatorAssignment
    from mdt_desk.services.display import label

    coordinator_ids = set(
        session.scalars(
            select(CoordinatorAssignment.staff_id).where(
                CoordinatorAssignment.case_id == case_id,
                CoordinatorAssignment.ended_on.is_(None),
                CoordinatorAssignment.retired_at.is_(None),
            )
        )
    )
    team_ids = set(
        session.scalars(
            select(CareTeamMember.staff_id).where(
                CareTeamMember.case_id == case_id,
                CareTeamMember.staff_id.is_not(None),
                CareTeamMember.left_on.is_(None),
                CareTeamMember.retired_at.is_(None),
            )
        )
    )
    choices = [
        OwnerChoice(
            id=staff.id,
            name=display_staff_name(staff.family_name, staff.given_name, staff.title),
            profession_text=label(staff.profession),
            in_team=staff.id in coordinator_ids or staff.id in team_ids,
            is_coordinator=staff.id in coordinator_ids,
        )
        for staff in session.scalars(
            select(Staff)
            .where(Staff.retired_at.is_(None))
            .order_by(Staff.family_name, Staff.given_name)
        )
    ]
    # Stable sort: coordinator, then the rest of the team, then everyone else, by name.
    return sorted(choices, key=lambda choice: (not choice.is_coordinator, not choice.in_team))


@requires(Permission.READ_CLINICAL)
def action_plan_view(
    session: Session,
    case_id: uuid.UUID,
    *,
    include_closed: bool = False,
    today: dt.date | None = None,
) -> ActionPlanView:
    """The rows and the picker choices of a case's action plan, in one read."""
    case = load_case(session, case_id)
    goals = tuple(
        GoalChoice(id=goal.id, text=goal.description)
        for goal in session.scalars(
            select(Goal)
            .where(Goal.case_id == case.id, Goal.retired_at.is_(None))
            .order_by(Goal.created_at)
        )
    )
    return ActionPlanView(
        case_id=case.id,
        case_open=case.status in OPEN_STATUSES,
        rows=tuple(list_action_rows(session, case.id, include_closed=include_closed)),
        owners=tuple(action_owner_choices(session, case.id)),
        goals=goals,
        today=today or dt.date.today(),
    )


@requires(Permission.UPDATE_OWN_ACTION, decide=action_update)
def set_action_goal(
    session: Session, action_id: uuid.UUID, goal_id: uuid.UUID | None
) -> ActionPlanRow:
    """Link an action to one of its case's goals, or to none."""
    action = _load_action(session, action_id)
    if goal_id is not None:
        goal = session.get(Goal, goal_id)
        if goal is None or goal.retired_at is not None or goal.case_id != action.case_id:
            raise _fail("goal", "That goal belongs to another case.")
    action.goal_id = goal_id
    session.flush()
    return _action_plan_row(session, action)


@requires(Permission.ADD_ACTION)
def withdraw_action(session: Session, action_id: uuid.UUID) -> ActionPlanRow:
    """Take back an action added by mistake (an "add" undone): it is retired, not deleted,
    and stays in the history."""
    action = _load_action(session, action_id)
    action.retired_at = utc_now()
    session.flush()
    return _action_plan_row(session, action)


@requires(Permission.ADD_ACTION)
def reinstate_action(session: Session, action_id: uuid.UUID) -> ActionPlanRow:
    """Put back a withdrawn action (an undone "add" redone)."""
    action = _any_action(session, action_id)
    _open_case(session, action.case_id, "actions")
    action.retired_at = None
    session.flush()
    return _action_plan_row(session, action)


@requires(Permission.UPDATE_OWN_ACTION, decide=action_update)
def restore_action(session: Session, row: ActionPlanRow) -> ActionPlanRow:
    """Put an action back exactly as ``row`` recorded it (an edit undone).

    Unlike :func:`update_action` this accepts a due date in the past and keeps the
    original completion date, since it only restores what was stored before.
    """
    action = _load_action(session, row.id)
    owner = session.get(Staff, row.owner_id)
    if owner is None:
        raise _fail("owner", "That staff member is not in this store.")
    action.description = row.description
    action.owner_id = owner.id
    action.due_on = row.due_on
    action.status = row.status
    action.completed_on = row.completed_on
    action.goal_id = row.goal_id
    action.sensitive = row.sensitive
    session.flush()
    return _action_plan_row(session, action)


@requires(Permission.EDIT_PLAN)
def set_action_sensitive(session: Session, action_id: uuid.UUID, sensitive: bool) -> ActionPlanRow:
    """Mark an action sensitive (need-to-know: never on the person's own copy, hidden on
    a shared screen until revealed), or no longer sensitive."""
    action = _load_action(session, action_id)
    action.sensitive = sensitive
    session.flush()
    return _action_plan_row(session, action)
