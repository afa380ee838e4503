"""Counts that tell an administrator what a store holds."""

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mdt_desk.models import Action, Case, Meeting, Patient, Practice, Staff
from mdt_desk.models.enums import ActionStatus, CaseStatus, MeetingStatus, PracticeStatus
from mdt_desk.services.actions import ActionsQuery, count_actions


@dataclass(frozen=True)
class StoreStats:
    practices: int
    practices_active: int
    staff: int
    patients: int
    cases: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    actions_overdue: int = 0
    meetings: dict[str, int] = field(default_factory=dict)

    def as_lines(self) -> list[str]:
        def breakdown(counts: dict[str, int]) -> str:
            return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items())

        return [
            f"Practices: {self.practices} ({self.practices_active} active)",
            f"Staff: {self.staff}",
            f"Patients: {self.patients}",
            f"Cases: {sum(self.cases.values())} ({breakdown(self.cases)})",
            f"Actions: {sum(self.actions.values())} ({breakdown(self.actions)}; "
            f"overdue {self.actions_overdue})",
            f"Meetings: {sum(self.meetings.values())} ({breakdown(self.meetings)})",
        ]


def _count_by(session: Session, column: object, members: list[str], table: type) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count())  # type: ignore[call-overload]
        .select_from(table)
        .where(table.retired_at.is_(None))  # type: ignore[attr-defined]
        .group_by(column)
    ).all()
    counts = {str(value): int(number) for value, number in rows}
    return {member: int(counts.get(member, 0)) for member in members}


def store_stats(session: Session, today: dt.date | None = None) -> StoreStats:
    """Counts of practices, staff, patients, cases, actions (and overdue), meetings.

    "Overdue" is :mod:`mdt_desk.services.actions`' rule, judged on ``today`` (default:
    today in Europe/London), so it agrees with ``mdt-desk actions list --overdue`` and
    the navigator's "Overdue actions".
    """

    def count(query: object) -> int:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]

    return StoreStats(
        practices=count(
            select(func.count()).select_from(Practice).where(Practice.retired_at.is_(None))
        ),
        practices_active=count(
            select(func.count())
            .select_from(Practice)
            .where(Practice.retired_at.is_(None), Practice.status == PracticeStatus.ACTIVE)
        ),
        staff=count(select(func.count()).select_from(Staff).where(Staff.retired_at.is_(None))),
        patients=count(
            select(func.count()).select_from(Patient).where(Patient.retired_at.is_(None))
        ),
        cases=_count_by(session, Case.status, [s.value for s in CaseStatus], Case),
        actions=_count_by(session, Action.status, [s.value for s in ActionStatus], Action),
        actions_overdue=count_actions(session, ActionsQuery(overdue_only=True), today),
        meetings=_count_by(session, Meeting.status, [s.value for s in MeetingStatus], Meeting),
    )
