"""PDF care plans, agendas, minutes and caseload lists (reportlab). No Qt.

Documents are a presentation layer, like the screens: they gather what they print
through services and never touch the database themselves. The CLI and the GUI use two
calls:

- :func:`preview` renders a document in a read session and records nothing (for the
  print preview dialog);
- :func:`produce` renders it **and records the print** (a journalled
  :class:`~mdt_desk.models.PrintRecord`: who, what, when, which version, the PDF's
  SHA-256) in one write transaction, so a document never leaves the desk unrecorded
  and a record never names a document that was not made.

Both take a :class:`DocumentRequest` and return a :class:`ProducedDocument`. Both are
slow enough (tens to hundreds of milliseconds) that the GUI must call them off the GUI
thread.
"""

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdt_desk.documents.care_plan import care_plan_pdf
from mdt_desk.documents.caseload_list import caseload_list_pdf
from mdt_desk.documents.common import DocumentFontError, RenderedPdf, london_day
from mdt_desk.documents.meeting_documents import agenda_pdf, minutes_pdf
from mdt_desk.errors import ValidationError
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import DocumentKind
from mdt_desk.services.desk import Desk
from mdt_desk.services.meetings import get_meeting_summary
from mdt_desk.services.persons_copy import NOTHING_LEFT_OFF, LeftOff
from mdt_desk.services.prints import record_print
from mdt_desk.services.staff import setup_actor_label

__all__ = [
    "DocumentFontError",
    "DocumentKind",
    "DocumentRequest",
    "ProducedDocument",
    "preview",
    "produce",
    "render_document",
]


@dataclass(frozen=True)
class DocumentRequest:
    """Which document to make.

    Args:
        kind: the document.
        patient_id: the person (care plan).
        case_id: their case (care plan; ``None`` takes the open, else latest, case).
        meeting_id: the meeting (agenda, agenda with initials, minutes).
        practice_id: the practice (caseload list), or
        coordinator_id: the coordinator whose caseload to list.
        large_print: 16 pt minimum throughout.
        purpose: why it is printed, for the access log (contracts: ``--purpose``).
    """

    kind: DocumentKind
    patient_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    practice_id: uuid.UUID | None = None
    coordinator_id: uuid.UUID | None = None
    large_print: bool = False
    purpose: str = ""


@dataclass(frozen=True)
class ProducedDocument:
    """A finished PDF.

    Args:
        content: the PDF bytes.
        pages: its page count.
        filename: a suggested file name for "Save as PDF" (no patient name in it).
        title: what the document is, for a window or print-job title.
        plan_version: the care plan's version ("" for other documents).
        print_id: the print record :func:`produce` wrote (``None`` from :func:`preview`).
        left_off: the sensitive items the person's copy (the care plan) leaves out; for
            the screen to say, never in the PDF.
    """

    content: bytes
    pages: int
    filename: str
    title: str
    plan_version: str = ""
    print_id: uuid.UUID | None = None
    left_off: LeftOff = NOTHING_LEFT_OFF

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class _Rendered:
    pdf: RenderedPdf
    document: ProducedDocument
    patient_id: uuid.UUID | None
    case_id: uuid.UUID | None


def _need(value: uuid.UUID | None, what: str) -> uuid.UUID:
    if value is None:
        raise ValidationError(f"Choose the {what} to print.", {what: f"Choose the {what}."})
    return value


def _render(
    session: Session, request: DocumentRequest, *, now: dt.datetime, printed_by: str
) -> _Rendered:
    stamp = london_day(now).strftime("%Y%m%d")
    kind = request.kind
    if kind is DocumentKind.CARE_PLAN:
        patient_id = _need(request.patient_id, "person")
        pdf, content = care_plan_pdf(
            session,
            patient_id,
            case_id=request.case_id,
            now=now,
            printed_by=printed_by,
            large_print=request.large_print,
        )
        suffix = "-large-print" if request.large_print else ""
        document = ProducedDocument(
            content=pdf.content,
            pages=pdf.pages,
            filename=f"care-plan-{content.record.banner.nhs_number}-{stamp}{suffix}.pdf",
            title=f"Care plan: {content.record.banner.display_name}",
            plan_version=content.plan_version,
            left_off=content.left_off,
        )
        return _Rendered(pdf, document, patient_id, content.case.id)
    if kind in (DocumentKind.AGENDA, DocumentKind.AGENDA_INITIALS, DocumentKind.MINUTES):
        meeting_id = _need(request.meeting_id, "meeting")
        meeting = get_meeting_summary(session, meeting_id)
        if kind is DocumentKind.MINUTES:
            pdf = minutes_pdf(
                session,
                meeting_id,
                now=now,
                printed_by=printed_by,
                large_print=request.large_print,
            )
            name, title = "minutes", f"Minutes: {meeting.title}"
        else:
            initials_only = kind is DocumentKind.AGENDA_INITIALS
            pdf = agenda_pdf(
                session,
                meeting_id,
                now=now,
                printed_by=printed_by,
                initials_only=initials_only,
                large_print=request.large_print,
            )
            name = "agenda-initials" if initials_only else "agenda"
            title = f"Agenda: {meeting.title}"
        day = meeting.day.strftime("%Y%m%d")
        document = ProducedDocument(
            content=pdf.content,
            pages=pdf.pages,
            filename=f"{name}-{meeting.practice_code or 'meeting'}-{day}.pdf",
            title=title,
        )
        return _Rendered(pdf, document, None, None)
    if kind is DocumentKind.CASELOAD_LIST:
        pdf = caseload_list_pdf(
            session,
            practice_id=request.practice_id,
            coordinator_id=request.coordinator_id,
            now=now,
            printed_by=printed_by,
            large_print=request.large_print,
        )
        whose = "practice" if request.practice_id is not None else "coordinator"
        document = ProducedDocument(
            content=pdf.content,
            pages=pdf.pages,
            filename=f"caseload-{whose}-{stamp}.pdf",
            title="Caseload list",
        )
        return _Rendered(pdf, document, None, None)
    raise ValidationError(f"MDT Desk cannot print a {kind!s} document.")


def render_document(
    session: Session, request: DocumentRequest, *, now: dt.datetime, printed_by: str
) -> ProducedDocument:
    """Render a document from an open session without recording it."""
    return _render(session, request, now=now, printed_by=printed_by).document


def _printed_by(desk: Desk) -> str:
    return desk.actor_name or setup_actor_label()


def preview(
    desk: Desk, request: DocumentRequest, *, now: dt.datetime | None = None
) -> ProducedDocument:
    """Render for the print preview; nothing is recorded (a preview is not a print)."""
    with desk.read() as session:
        return render_document(session, request, now=now or utc_now(), printed_by=_printed_by(desk))


def produce(
    desk: Desk, request: DocumentRequest, *, now: dt.datetime | None = None
) -> ProducedDocument:
    """Render a document and record its print, in one write transaction.

    Reading, rendering and recording share the transaction so the version printed is
    exactly the plan as it stood, and the record commits only with a finished PDF.

    Raises:
        UserError: the request names nothing printable (``ValidationError``,
            ``NotFoundError``, ``RuleError``) or the fonts are damaged
            (:class:`DocumentFontError`).
    """
    moment = now or utc_now()
    with desk.write() as session:
        rendered = _render(session, request, now=moment, printed_by=_printed_by(desk))
        document = rendered.document
        printed = record_print(
            session,
            kind=request.kind,
            printed_by_id=desk.actor_id,
            printed_at=moment,
            content_sha256=document.sha256,
            pages=document.pages,
            plan_version=document.plan_version,
            large_print=request.large_print,
            patient_id=rendered.patient_id,
            case_id=rendered.case_id,
            meeting_id=request.meeting_id,
            practice_id=request.practice_id,
            purpose=request.purpose,
        )
    return ProducedDocument(
        content=document.content,
        pages=document.pages,
        filename=document.filename,
        title=document.title,
        plan_version=document.plan_version,
        print_id=printed.id,
        left_off=document.left_off,
    )
