"""A practice's or a coordinator's caseload on paper: every open case, by next review,
with its overdue actions, so a team can work through it in a meeting or on a visit day.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from reportlab.platypus import Flowable
from sqlalchemy.orm import Session

from mdt_desk.documents.common import (
    PageFrame,
    RenderedPdf,
    document_styles,
    london_day,
    markup,
    paragraph,
    render,
    table,
    text,
    unbroken,
    usable_width,
)
from mdt_desk.errors import NotFoundError, ValidationError
from mdt_desk.services.caseload import CaseloadQuery, CaseloadRow, CaseloadView, caseload_rows
from mdt_desk.services.display import (
    cui_age,
    cui_date,
    label,
    patient_display_name,
    practice_display_name,
)
from mdt_desk.services.practices import list_practices
from mdt_desk.services.staff import list_staff
from mdt_desk.services.validation import format_nhs_number

_PAGE = 1000


@dataclass(frozen=True)
class CaseloadContent:
    title: str
    rows: tuple[CaseloadRow, ...]
    today: dt.date


def gather_caseload(
    session: Session,
    *,
    practice_id: uuid.UUID | None = None,
    coordinator_id: uuid.UUID | None = None,
    today: dt.date,
) -> CaseloadContent:
    """Every open case of a practice, or of a coordinator, earliest review first.

    Raises:
        ValidationError: neither (or both) a practice nor a coordinator was named.
        NotFoundError: that practice or staff member is not in this store.
    """
    if (practice_id is None) == (coordinator_id is None):
        raise ValidationError("Choose either a practice or a care coordinator for the list.")
    if practice_id is not None:
        practice = next((p for p in list_practices(session) if p.id == practice_id), None)
        if practice is None:
            raise NotFoundError("That practice is not in this store.")
        title = f"Caseload of {practice_display_name(practice.name)} ({practice.ods_code})"
        query = CaseloadQuery(view=CaseloadView.ALL_OPEN, practice_id=practice_id)
    else:
        member = next((s for s in list_staff(session) if s.id == coordinator_id), None)
        if member is None:
            raise NotFoundError("That staff member is not in this store (or has left the team).")
        title = f"Caseload of {member.display_name}"
        query = CaseloadQuery(view=CaseloadView.MY_CASELOAD, coordinator_id=coordinator_id)
    rows: list[CaseloadRow] = []
    while True:
        page = caseload_rows(session, query, offset=len(rows), limit=_PAGE, today=today)
        rows.extend(page)
        if len(page) < _PAGE:
            break
    return CaseloadContent(title=title, rows=tuple(rows), today=today)


def _review_text(row: CaseloadRow, today: dt.date) -> str:
    if row.next_review_on is None:
        return "Not set"
    shown = cui_date(row.next_review_on)
    return f"{shown} (overdue)" if row.next_review_on < today else shown


def render_caseload(
    content: CaseloadContent, *, printed_by: str, now: dt.datetime, large_print: bool = False
) -> RenderedPdf:
    """Lay out the caseload list (A4 landscape: it is a wide table)."""
    styles = document_styles(large_print=large_print, compact=True)
    today = content.today
    overdue_reviews = sum(
        1 for row in content.rows if row.next_review_on and row.next_review_on < today
    )
    overdue_actions = sum(row.overdue_actions for row in content.rows)
    story: list[Flowable] = [
        paragraph(content.title, styles.title),
        markup(
            f"<b>{len(content.rows)}</b> open cases · <b>{overdue_reviews}</b> reviews overdue · "
            f"<b>{overdue_actions}</b> actions overdue · as at {text(cui_date(today))}",
            styles.body,
        ),
    ]
    width = usable_width(is_landscape=True)
    if not content.rows:
        story.append(paragraph("There are no open cases.", styles.body))
    else:
        story.append(
            table(
                (
                    "Name",
                    "NHS No.",
                    "Born",
                    "Practice",
                    "Care coordinator",
                    "Status",
                    "Next review",
                    "Open actions",
                    "Overdue actions",
                ),
                [
                    (
                        patient_display_name(row.family_name, row.given_name, row.title),
                        unbroken(format_nhs_number(row.nhs_number)),
                        f"{cui_date(row.date_of_birth)} ({cui_age(row.date_of_birth, today)})"
                        if row.date_of_death is None
                        else f"{cui_date(row.date_of_birth)} (died)",
                        row.practice_code,
                        row.coordinator_name or "None",
                        label(row.status),
                        _review_text(row, today),
                        str(row.open_actions),
                        str(row.overdue_actions) if row.overdue_actions else "",
                    )
                    for row in content.rows
                ],
                [width * share for share in (0.18, 0.11, 0.14, 0.07, 0.14, 0.09, 0.13, 0.07, 0.07)],
                styles,
            )
        )
    frame = PageFrame(
        title="Caseload list",
        subject=content.title,
        printed_by=printed_by,
        printed_at=now,
        landscape=True,
    )
    return render(story, frame, styles)


def caseload_list_pdf(
    session: Session,
    *,
    practice_id: uuid.UUID | None = None,
    coordinator_id: uuid.UUID | None = None,
    now: dt.datetime,
    printed_by: str,
    large_print: bool = False,
) -> RenderedPdf:
    """The caseload list as PDF bytes."""
    content = gather_caseload(
        session, practice_id=practice_id, coordinator_id=coordinator_id, today=london_day(now)
    )
    return render_caseload(content, printed_by=printed_by, now=now, large_print=large_print)
