"""Printed documents: the record of every print, and the facts only a printout needs.

Every care plan, agenda, minutes and caseload list that leaves the desk (printed or
saved as PDF) is recorded with :func:`record_print` as a synced :class:`PrintRecord`:
its kind, whom it is about, who printed it and when, the plan version, the SHA-256 of
the PDF and its page count. The record is journalled like any change, so the audit
trail and the person's history show it (reliability.md: every print attributable).

The care plan given to the person also needs a few facts no screen shows: how to
reach the practice and the coordinator, and only the alerts the person agreed to
share. :func:`care_plan_contacts` gathers them, so the document layer never reads
the database itself.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, ValidationError
from mdt_desk.models import Alert, Practice, PrintRecord, Staff
from mdt_desk.models.enums import AccessAction, DocumentKind
from mdt_desk.services import access_log
from mdt_desk.services.access import Permission, print_permission, requires
from mdt_desk.services.display import NOT_KNOWN, cui_time, label, practice_display_name
from mdt_desk.services.patients import load_patient
from mdt_desk.services.staff import display_staff_name

_SHA256_HEX_LENGTH = 64


@dataclass(frozen=True)
class PrintView:
    """One recorded print."""

    id: uuid.UUID
    kind: DocumentKind
    kind_text: str
    printed_at: dt.datetime
    printed_text: str
    printed_by_id: uuid.UUID | None
    printed_by_name: str
    plan_version: str
    content_sha256: str
    pages: int
    large_print: bool
    patient_id: uuid.UUID | None
    case_id: uuid.UUID | None
    meeting_id: uuid.UUID | None
    practice_id: uuid.UUID | None

    @property
    def description(self) -> str:
        """``Care plan printed by Ngozi Okafor, version 12`` (as the history says it)."""
        text = f"{self.kind_text} printed"
        if self.printed_by_name:
            text += f" by {self.printed_by_name}"
        if self.plan_version:
            text += f", version {self.plan_version}"
        return text


def _view(session: Session, printed: PrintRecord) -> PrintView:
    staff = session.get(Staff, printed.printed_by_id) if printed.printed_by_id else None
    return PrintView(
        id=printed.id,
        kind=printed.kind,
        kind_text=label(printed.kind),
        printed_at=printed.printed_at,
        printed_text=cui_time(printed.printed_at),
        printed_by_id=printed.printed_by_id,
        printed_by_name=(
            display_staff_name(staff.family_name, staff.given_name, staff.title) if staff else ""
        ),
        plan_version=printed.plan_version,
        content_sha256=printed.content_sha256,
        pages=printed.pages,
        large_print=printed.large_print,
        patient_id=printed.patient_id,
        case_id=printed.case_id,
        meeting_id=printed.meeting_id,
        practice_id=printed.practice_id,
    )


@requires(Permission.PRINT_LISTS, decide=print_permission)
def record_print(
    session: Session,
    *,
    kind: DocumentKind,
    printed_by_id: uuid.UUID | None,
    printed_at: dt.datetime,
    content_sha256: str,
    pages: int,
    plan_version: str = "",
    large_print: bool = False,
    patient_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
    practice_id: uuid.UUID | None = None,
    purpose: str = "",
) -> PrintView:
    """Record that a document was printed or saved (call inside the desk's write).

    The print is also a row of the access log (who printed whose record, why), in the
    same transaction: the log never misses a print, and never has one that was not.

    Args:
        printed_by_id: the staff member who printed it (``None`` only before set-up,
            when the journal names the set-up step instead).
        printed_at: when, timezone-aware.
        content_sha256: hex SHA-256 of the PDF bytes, so a paper copy can be matched
            to its record.
        purpose: why it was printed, as the access log records it ("not stated" when
            empty: contracts.md 7).
    """
    if printed_at.tzinfo is None:
        raise ValueError("printed_at must be timezone-aware")
    digest = content_sha256.lower()
    if len(digest) != _SHA256_HEX_LENGTH or any(c not in "0123456789abcdef" for c in digest):
        raise ValidationError("The document's SHA-256 must be 64 hexadecimal digits.")
    if pages < 1:
        raise ValidationError("A printed document has at least one page.")
    printed = PrintRecord(
        kind=kind,
        patient_id=patient_id,
        case_id=case_id,
        meeting_id=meeting_id,
        practice_id=practice_id,
        printed_by_id=printed_by_id,
        printed_at=printed_at,
        plan_version=plan_version,
        content_sha256=digest,
        pages=pages,
        large_print=large_print,
    )
    session.add(printed)
    session.flush()
    access_log.append(
        session,
        AccessAction.PRINT,
        patient_id=patient_id,
        staff_id=printed_by_id,
        reason=access_log.stated(purpose),
        at=printed_at,
    )
    return _view(session, printed)


def prints_for_case(session: Session, case_id: uuid.UUID) -> list[PrintView]:
    """The prints of a case's documents, newest first."""
    return [
        _view(session, printed)
        for printed in session.scalars(
            select(PrintRecord)
            .where(PrintRecord.case_id == case_id, PrintRecord.retired_at.is_(None))
            .order_by(PrintRecord.printed_at.desc(), PrintRecord.id.desc())
        )
    ]


def prints_for_meeting(session: Session, meeting_id: uuid.UUID) -> list[PrintView]:
    """The prints of a meeting's agenda and minutes, newest first."""
    return [
        _view(session, printed)
        for printed in session.scalars(
            select(PrintRecord)
            .where(PrintRecord.meeting_id == meeting_id, PrintRecord.retired_at.is_(None))
            .order_by(PrintRecord.printed_at.desc(), PrintRecord.id.desc())
        )
    ]


# -- what the person's printed care plan needs beyond the record screen ----------------


@dataclass(frozen=True)
class SharedAlert:
    """An alert the person agreed to share, in words fit for them to read."""

    kind_text: str
    detail: str


@dataclass(frozen=True)
class CarePlanContacts:
    """How the person reaches their practice and coordinator, and what they may read."""

    practice_id: uuid.UUID
    practice_name: str
    practice_phone: str
    practice_address: str
    coordinator_phone: str
    coordinator_email: str
    shared_alerts: tuple[SharedAlert, ...]


def care_plan_contacts(
    session: Session, patient_id: uuid.UUID, coordinator_id: uuid.UUID | None
) -> CarePlanContacts:
    """The practice's and coordinator's contact details and the shareable alerts.

    Only alerts that are ``share_with_person`` and not ``sensitive`` are given: a
    printed plan stays in the person's home, where visitors may read it, so a sensitive
    flag (risk to staff, safeguarding) never goes on it even if marked shareable.

    Raises:
        NotFoundError: the person is not in this store.
    """
    patient = load_patient(session, patient_id)
    practice = session.get(Practice, patient.practice_id)
    if practice is None:
        raise NotFoundError("The person's practice is not in this store.")
    coordinator = session.get(Staff, coordinator_id) if coordinator_id else None
    alerts = tuple(
        SharedAlert(kind_text=label(alert.kind), detail=alert.detail)
        for alert in session.scalars(
            select(Alert)
            .where(
                Alert.patient_id == patient.id,
                Alert.retired_at.is_(None),
                Alert.share_with_person.is_(True),
                Alert.sensitive.is_(False),
            )
            .order_by(Alert.created_at, Alert.id)
        )
    )
    address = ", ".join(part for part in (practice.address, practice.postcode) if part.strip())
    return CarePlanContacts(
        practice_id=practice.id,
        practice_name=practice_display_name(practice.name),
        practice_phone=practice.phone.strip() or NOT_KNOWN,
        practice_address=practice_display_name(address) if address else NOT_KNOWN,
        coordinator_phone=(coordinator.phone.strip() if coordinator else "") or "",
        coordinator_email=(coordinator.email.strip() if coordinator else "") or "",
        shared_alerts=alerts,
    )
