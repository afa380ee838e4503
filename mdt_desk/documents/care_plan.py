"""The care plan the person keeps at home: plain English, about them, in their words.

Its parts take their headings from the sections of the PRSB Personalised Care and
Support Plan standard, in the order issue 13 set out, and keep beneath them the
plain-English headings readers know (:data:`PARTS`):

1. **About me**: who the plan is for (the CUI identification block and GP practice);
   "Things to know" (only alerts they agreed to share, never sensitive ones);
   "Sharing my information" (their consent to share).
2. **What matters to me**: their goals, in their own words.
3. **My care and support plan**: "What we will do" (every open action: who, what, by
   when, how it is going) and "What has been done recently".
4. **Contacts**: "My care coordinator", "People involved in my care" and who to call
   "If things get worse".
5. **Plan review**: "My next review".

Everything is gathered through services (:func:`gather_care_plan`); rendering
(:func:`render_care_plan`) only lays it out. No sensitive action, note or alert ever
reaches it: :func:`~mdt_desk.services.persons_copy.persons_copy` takes them out while
gathering and counts them (``CarePlanContent.left_off``) for the screen, not the paper.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from reportlab.platypus import Flowable, KeepTogether
from sqlalchemy.orm import Session

from mdt_desk.documents.common import (
    DocumentStyles,
    PageFrame,
    RenderedPdf,
    document_styles,
    fitted_table,
    heading,
    keep_together,
    london_day,
    long_date,
    markup,
    paragraph,
    render,
    spacer,
    subheading,
    text,
    unbroken,
)
from mdt_desk.errors import RuleError
from mdt_desk.models.enums import ActionStatus, ConsentDecision
from mdt_desk.services.care_team import PersonInvolved, people_involved
from mdt_desk.services.case_view import CaseView, RecordView
from mdt_desk.services.display import cui_date
from mdt_desk.services.history import plan_version
from mdt_desk.services.persons_copy import NOTHING_LEFT_OFF, LeftOff, persons_copy
from mdt_desk.services.plans import ActionPlanRow
from mdt_desk.services.prints import CarePlanContacts, care_plan_contacts

#: "What has been done recently" looks back this far.
RECENT_DAYS = 90
#: ...and shows at most this many, newest first, so the plan stays short.
RECENT_LIMIT = 15

_STATUS_WORDS = {ActionStatus.OPEN: "To do", ActionStatus.IN_PROGRESS: "In progress"}


@dataclass(frozen=True)
class CarePlanContent:
    """Everything one printed care plan shows."""

    record: RecordView
    case: CaseView
    open_actions: tuple[ActionPlanRow, ...]
    done_recently: tuple[ActionPlanRow, ...]
    contacts: CarePlanContacts
    #: "People involved in my care": the coordinator first, and only they as coordinator;
    #: everyone the plan names as owning one of its actions is among them.
    people: tuple[PersonInvolved, ...]
    plan_version: str
    today: dt.date
    #: the sensitive items this copy leaves out (said on screen, never printed)
    left_off: LeftOff = NOTHING_LEFT_OFF


def gather_care_plan(
    session: Session, patient_id: uuid.UUID, case_id: uuid.UUID | None, today: dt.date
) -> CarePlanContent:
    """Read what the plan shows, through the services.

    Args:
        case_id: the case whose plan to print; ``None`` takes the person's open case,
            else their latest.

    Raises:
        NotFoundError: the person or case is not in this store.
        RuleError: the person has no case, so there is no plan to print.
    """
    # The person's copy: sensitive actions, notes and alerts never reach the document.
    copy = persons_copy(
        session,
        patient_id,
        case_id,
        today,
        recent_days=RECENT_DAYS,
        recent_limit=RECENT_LIMIT,
    )
    record = copy.record
    case = record.case
    if case is None:
        raise RuleError(f"{record.title} has no case yet, so there is no care plan to print.")
    return CarePlanContent(
        record=record,
        case=case,
        open_actions=copy.open_actions,
        done_recently=copy.done_recently,
        left_off=copy.left_off,
        contacts=care_plan_contacts(
            session, patient_id, case.coordinator.staff_id if case.coordinator else None
        ),
        # Everyone named in "Who" is in People involved, so the reader knows who they
        # are; only the actions shown count (a sensitive one's owner is not named).
        people=people_involved(
            session,
            case,
            [row.owner_id for row in (*copy.open_actions, *copy.done_recently)],
        ),
        plan_version=plan_version(session, patient_id, case.id),
        today=today,
    )


def _identity(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    banner = content.record.banner
    gap = "&nbsp;" * 4  # Paragraph collapses ordinary runs of spaces
    born = f"Born <b>{text(banner.born_text)}</b>"
    if banner.deceased:
        born += f"{gap}Died <b>{text(banner.died_text)}</b>"
    elif banner.age_text:
        born += f" {text(banner.age_text)}"
    return [
        paragraph(banner.display_name, styles.identity_name),
        markup(f"{born}{gap}NHS No. <b>{text(unbroken(banner.nhs_number_text))}</b>", styles.body),
        markup(f"My GP practice <b>{text(content.contacts.practice_name)}</b>", styles.body),
    ]


def _coordinator(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    coordinator = content.case.coordinator
    contacts = content.contacts
    if coordinator is None:
        return [
            paragraph(
                "You do not have a care coordinator yet. Until you do, please contact "
                f"{contacts.practice_name} on {keep_together(contacts.practice_phone)}.",
                styles.body,
            ),
        ]
    ways = [f"phone {contacts.coordinator_phone}"] if contacts.coordinator_phone else []
    if contacts.coordinator_email:
        ways.append(f"email {contacts.coordinator_email}")
    how = (
        "You can contact them by " + " or ".join(ways) + "."
        if ways
        else f"You can contact them through {contacts.practice_name} on {contacts.practice_phone}."
    )
    return [
        markup(
            f"<b>{text(coordinator.name)}</b> is your care coordinator: the person who "
            "makes sure your care is joined up.",
            styles.body,
        ),
        paragraph(keep_together(how), styles.body),
    ]


def _people(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    if not content.people:
        return [paragraph("No one else is involved in your care yet.", styles.body)]

    def contact(person: PersonInvolved) -> str:
        if person.contact:
            return person.contact
        if person.is_coordinator or content.case.coordinator is None:
            return f"Through {content.contacts.practice_name}"
        return "Through your care coordinator"

    return fitted_table(
        ("Name", "What they do", "Organisation", "How to contact them"),
        [
            (person.name, person.role, person.organisation, contact(person))
            for person in content.people
        ],
        styles,
    )


def _goals(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    goals = content.case.goals
    if not goals:
        return [
            paragraph(
                "We have not written down what matters to you yet. Your care coordinator "
                "will ask you.",
                styles.body,
            ),
        ]
    return fitted_table(
        ("In my own words", "By when", "How it is going"),
        [(f"“{goal.description}”", goal.target_text, goal.outcome_text) for goal in goals],
        styles,
    )


def _actions(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    if not content.open_actions:
        return [paragraph("There is nothing left to do on your plan.", styles.body)]

    def status(row: ActionPlanRow) -> str:
        words = _STATUS_WORDS.get(row.status, row.status.value)
        return f"{words} (late)" if row.is_overdue(content.today) else words

    return fitted_table(
        ("Who", "What they will do", "By when", "How it is going"),
        [
            (row.owner_name, row.description, cui_date(row.due_on), status(row))
            for row in content.open_actions
        ],
        styles,
    )


def _done(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    if not content.done_recently:
        return [
            paragraph(f"Nothing has been finished in the last {RECENT_DAYS} days.", styles.body),
        ]
    return fitted_table(
        ("What was done", "Who did it", "When"),
        [
            (row.description, row.owner_name, cui_date(row.completed_on))
            for row in content.done_recently
        ],
        styles,
    )


def _things_to_know(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    alerts = content.contacts.shared_alerts
    if not alerts:
        return [paragraph("Nothing to note.", styles.body)]
    items: list[Flowable] = []
    for alert in alerts:
        detail = f": {text(keep_together(alert.detail))}" if alert.detail.strip() else ""
        items.append(markup(f"• <b>{text(alert.kind_text)}</b>{detail}", styles.body))
    return items


def _if_worse(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    contacts = content.contacts
    coordinator = content.case.coordinator
    in_hours = (
        f"call your care coordinator, {text(coordinator.name)}"
        + (
            f", on <b>{text(keep_together(contacts.coordinator_phone))}</b>"
            if contacts.coordinator_phone
            else ""
        )
        + ", or "
        if coordinator is not None
        else "call "
    )
    return [
        markup(
            "<b>In working hours</b> (Monday to Friday, 8am to 6:30pm): "
            f"{in_hours}your GP practice, {text(contacts.practice_name)}, on "
            f"<b>{text(keep_together(contacts.practice_phone))}</b>.",
            styles.body,
        ),
        markup(
            "<b>At night, at weekends and on bank holidays</b>: call <b>NHS&nbsp;111</b> "
            "(free from any phone) or go to 111.nhs.uk.",
            styles.body,
        ),
        markup(
            "<b>In an emergency</b>, if someone is seriously ill or hurt or their life is at "
            "risk: call <b>999</b>.",
            styles.body,
        ),
    ]


def _consent(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    consent = content.record.banner.consent
    if consent is None or consent.decision is ConsentDecision.NOT_ASKED:
        words = (
            "We have not yet asked you whether the people involved in your care may share "
            "information about you with each other. Your care coordinator will ask you."
        )
    else:
        on = long_date(consent.recorded_on)
        words = {
            ConsentDecision.GIVEN: (
                f"On {on} you agreed that the people involved in your care may share "
                "information about you with each other, so you do not have to repeat your "
                "story."
            ),
            ConsentDecision.DECLINED: (
                f"On {on} you said you do not want information about you shared between the "
                "people involved in your care. We will ask you before sharing anything."
            ),
            ConsentDecision.BEST_INTERESTS: (
                f"On {on} it was decided, in your best interests, that the people involved in "
                "your care may share information about you with each other."
            ),
        }[consent.decision]
    tail = " You can change your mind at any time: tell your care coordinator."
    return [paragraph(keep_together(words + tail), styles.body)]


def _review(content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    review_on = content.case.next_review_on
    words = (
        f"We will look at this plan with you again by {long_date(review_on)}."
        if review_on is not None
        else "A date to look at this plan again has not been set yet."
    )
    return [paragraph(keep_together(words + " You can ask for a review sooner."), styles.body)]


#: What one part or section of the plan shows under its heading.
SectionBody = Callable[[CarePlanContent, DocumentStyles], list[Flowable]]


@dataclass(frozen=True)
class Section:
    """A plain-English section of the plan, printed under a subheading."""

    heading: str
    body: SectionBody
    #: printed whole on one page (the numbers to call are read together)
    read_whole: bool = False


@dataclass(frozen=True)
class Part:
    """One part of the plan under a PRSB Personalised Care and Support Plan heading."""

    heading: str
    #: what the part shows before its sections, if anything
    body: SectionBody | None
    sections: tuple[Section, ...] = ()


#: The plan's parts under PRSB Personalised Care and Support Plan headings, in PRSB
#: order, each with the plain-English sections readers know beneath it. Tests read
#: every heading from here.
PARTS = (
    Part(
        "About me",
        _identity,
        (Section("Things to know", _things_to_know), Section("Sharing my information", _consent)),
    ),
    Part("What matters to me", _goals),
    Part(
        "My care and support plan",
        None,
        (Section("What we will do", _actions), Section("What has been done recently", _done)),
    ),
    Part(
        "Contacts",
        None,
        (
            Section("My care coordinator", _coordinator),
            Section("People involved in my care", _people),
            Section("If things get worse", _if_worse, read_whole=True),
        ),
    ),
    Part("Plan review", None, (Section("My next review", _review),)),
)
#: The PRSB-aligned headings, in print order.
PART_HEADINGS = tuple(part.heading for part in PARTS)
#: Every heading the plan prints, parts and sections, in print order.
SECTION_HEADINGS = tuple(
    title
    for part in PARTS
    for title in (part.heading, *(section.heading for section in part.sections))
)


def _part(part: Part, content: CarePlanContent, styles: DocumentStyles) -> list[Flowable]:
    story = [heading(part.heading, styles)]
    if part.body is not None:
        story += part.body(content, styles)
    for section in part.sections:
        block = [subheading(section.heading, styles), *section.body(content, styles)]
        story += [KeepTogether(block)] if section.read_whole else block
    return story


def render_care_plan(
    content: CarePlanContent, *, printed_by: str, now: dt.datetime, large_print: bool = False
) -> RenderedPdf:
    """Lay out a gathered care plan as a PDF."""
    styles = document_styles(large_print=large_print)
    banner = content.record.banner
    frame = PageFrame(
        title="My care plan",
        subject=f"{banner.display_name}   {unbroken('NHS No. ' + banner.nhs_number_text)}",
        printed_by=printed_by,
        printed_at=now,
        plan_version=content.plan_version,
    )
    story: list[Flowable] = [paragraph("My care plan", styles.title)]
    for part in PARTS:
        story += _part(part, content, styles)
    story.append(spacer(styles))
    return render(story, frame, styles)


def care_plan_pdf(
    session: Session,
    patient_id: uuid.UUID,
    *,
    case_id: uuid.UUID | None = None,
    now: dt.datetime,
    printed_by: str,
    large_print: bool = False,
) -> tuple[RenderedPdf, CarePlanContent]:
    """The care plan of a person's case as PDF bytes, with what it was made from."""
    content = gather_care_plan(session, patient_id, case_id, london_day(now))
    return (
        render_care_plan(content, printed_by=printed_by, now=now, large_print=large_print),
        content,
    )
