"""A new referral through the single point of access: find the person by NHS number or
register them, then open their case — in one transaction.

Every refusal names its field (``nhs_number``, ``family_name``, ``date_of_birth``,
``practice``, ``referral_reason``, ``referred_on``, ...) so the referral form can show
each message next to what the user typed.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mdt_desk.errors import ValidationError
from mdt_desk.models import Practice
from mdt_desk.models.enums import Gender, ReferralSource, Urgency
from mdt_desk.services import cases, patients
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import cui_age, cui_date, label, practice_display_name
from mdt_desk.services.validation import normalise_nhs_number, parse_date


@dataclass(frozen=True)
class PersonFound:
    """A registered person, as the referral form shows them."""

    patient_id: uuid.UUID
    display_name: str
    nhs_number_text: str
    born_text: str  # "14-Jul-1945 (81y)"
    gender_text: str
    practice_text: str
    died_text: str  # "" unless they have died
    open_case_id: uuid.UUID | None
    open_case_text: str  # "" unless they have an open case


@dataclass(frozen=True)
class NewPerson:
    """The registration form as typed (the date of birth as text, parsed here)."""

    family_name: str
    given_name: str
    title: str
    date_of_birth: str
    gender: Gender
    address: str
    postcode: str
    phone: str
    practice_id: uuid.UUID | None


@dataclass(frozen=True)
class ReferralMade:
    patient_id: uuid.UUID
    case_id: uuid.UUID
    registered: bool


def _practice_text(session: Session, practice_id: uuid.UUID) -> str:
    practice = session.get(Practice, practice_id)
    if practice is None:
        return "Not Known"
    return f"{practice_display_name(practice.name)} ({practice.ods_code})"


@requires(Permission.READ_CASELOAD)
def look_up_person(
    session: Session, nhs_number: str, *, today: dt.date | None = None
) -> PersonFound | None:
    """The person registered with this NHS number, or None when there is no one.

    Raises:
        ValidationError: the number itself is wrong (format, check digit or range).
    """
    today = today or dt.date.today()
    record = patients.find_by_nhs_number(session, nhs_number)
    if record is None:
        return None
    open_case = cases.open_case_of(session, record.id)
    age_on = record.date_of_death or today
    return PersonFound(
        patient_id=record.id,
        display_name=record.display_name,
        nhs_number_text=record.formatted_nhs_number,
        born_text=f"{cui_date(record.date_of_birth)} ({cui_age(record.date_of_birth, age_on)})",
        gender_text=label(record.gender),
        practice_text=_practice_text(session, record.practice_id),
        died_text=cui_date(record.date_of_death) if record.date_of_death else "",
        open_case_id=open_case.id if open_case is not None else None,
        open_case_text=(
            f"Open case: {label(open_case.status).lower()}, referred "
            f"{cui_date(open_case.referred_on)}."
            if open_case is not None
            else ""
        ),
    )


@requires(Permission.REFER)
def make_referral(
    session: Session,
    *,
    nhs_number: str,
    patient_id: uuid.UUID | None,
    new_person: NewPerson | None,
    source: ReferralSource,
    reason: str,
    urgency: Urgency,
    referred_on: dt.date,
    today: dt.date | None = None,
) -> ReferralMade:
    """Register the person when ``patient_id`` is None, then refer them.

    Every field error of both steps is reported at once; a refused referral registers
    no one (the caller's transaction rolls back).

    Raises:
        ValidationError: per field, for the registration and the referral together.
        RuleError: the person already has an open case, or has died.
    """
    today = today or dt.date.today()
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["referral_reason"] = "Enter the reason for the referral."
    if referred_on > today:
        errors["referred_on"] = "The referral date cannot be in the future."
    registered = False
    if patient_id is None:
        if new_person is None:
            raise ValidationError(
                "Find the person by NHS number first.",
                {"nhs_number": "Find the person by NHS number first."},
            )
        date_of_birth: dt.date | None = None
        try:
            date_of_birth = parse_date(new_person.date_of_birth, "date_of_birth")
        except ValidationError as error:
            errors.update(error.field_errors)
        try:
            record = patients.register_patient(
                session,
                nhs_number=nhs_number,
                family_name=new_person.family_name,
                given_name=new_person.given_name,
                title=new_person.title,
                date_of_birth=date_of_birth,
                gender=new_person.gender,
                address=new_person.address,
                postcode=new_person.postcode,
                phone=new_person.phone,
                practice_id=new_person.practice_id,
                today=today,
            )
        except ValidationError as error:
            # An unreadable date of birth is explained better by parse_date.
            merged = {**error.field_errors, **errors}
            raise ValidationError(" ".join(dict.fromkeys(merged.values())), merged) from None
        patient_id = record.id
        registered = True
    else:
        normalise_nhs_number(nhs_number)
    if errors:
        raise ValidationError(" ".join(dict.fromkeys(errors.values())), errors)
    case = cases.refer(
        session,
        patient_id,
        source=source,
        reason=reason,
        urgency=urgency,
        referred_on=referred_on,
        today=today,
    )
    return ReferralMade(patient_id=patient_id, case_id=case.id, registered=registered)
