"""Registering people and keeping what everyone must know about them.

Rules enforced here (domain.md): a valid NHS number, once per store; a plausible date
of birth; a known practice. Each failure names the field so a form can show it there
and keep everything else the user typed.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mdt_desk.errors import NotFoundError, RuleError, ValidationError
from mdt_desk.models import Alert, Consent, LongTermCondition, Patient, Practice
from mdt_desk.models.base import utc_now
from mdt_desk.models.enums import AlertKind, ConsentDecision, Gender, RiskBand
from mdt_desk.models.journal import current_actor_id
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import cui_date, patient_display_name
from mdt_desk.services.text_safety import check_name
from mdt_desk.services.validation import (
    check_date_of_birth,
    format_nhs_number,
    normalise_nhs_number,
    normalise_postcode,
    require_name,
    require_text,
)


@dataclass(frozen=True)
class PatientRecord:
    id: uuid.UUID
    nhs_number: str
    display_name: str
    family_name: str
    given_name: str
    title: str
    date_of_birth: dt.date
    date_of_death: dt.date | None
    gender: Gender
    address: str
    postcode: str
    phone: str
    practice_id: uuid.UUID
    risk_band: RiskBand | None

    @property
    def formatted_nhs_number(self) -> str:
        return format_nhs_number(self.nhs_number)


def patient_record(patient: Patient) -> PatientRecord:
    return PatientRecord(
        id=patient.id,
        nhs_number=patient.nhs_number,
        display_name=patient_display_name(patient.family_name, patient.given_name, patient.title),
        family_name=patient.family_name,
        given_name=patient.given_name,
        title=patient.title,
        date_of_birth=patient.date_of_birth,
        date_of_death=patient.date_of_death,
        gender=patient.gender,
        address=patient.address,
        postcode=patient.postcode,
        phone=patient.phone,
        practice_id=patient.practice_id,
        risk_band=patient.risk_band,
    )


@requires(Permission.READ_CASELOAD)
def find_by_nhs_number(session: Session, nhs_number: str) -> PatientRecord | None:
    """The registered patient with this NHS number (any spacing), if any."""
    digits = normalise_nhs_number(nhs_number)
    patient = session.scalar(
        select(Patient).where(Patient.nhs_number == digits, Patient.retired_at.is_(None))
    )
    return None if patient is None else patient_record(patient)


def load_patient(session: Session, patient_id: uuid.UUID) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None or patient.retired_at is not None:
        raise NotFoundError("That patient is not in this store.")
    return patient


#: Why a person being imported cannot be registered by hand meanwhile (H99).
IN_RUNNING_IMPORT = (
    "This person is in a patient import that is still running; try again in a minute."
)


def _in_unpublished_import(session: Session, digits: str) -> bool:
    """Whether a patient import not yet published holds this NHS number.

    Its patients are hidden from every query through the ORM (models/imports.py),
    this duplicate check included, so the base table is asked directly.
    """
    found = session.execute(
        text(
            "SELECT 1 FROM main.patient AS p"
            " JOIN main.patient_import_row AS r ON r.patient_id = p.id"
            " WHERE p.nhs_number = :digits AND p.retired_at IS NULL LIMIT 1"
        ),
        {"digits": digits},
    ).first()
    return found is not None


@requires(Permission.EDIT_DEMOGRAPHICS)
def register_patient(
    session: Session,
    *,
    nhs_number: str,
    family_name: str,
    given_name: str,
    date_of_birth: dt.date | None,
    practice_id: uuid.UUID | None,
    title: str = "",
    gender: Gender = Gender.NOT_KNOWN,
    address: str = "",
    postcode: str = "",
    phone: str = "",
    today: dt.date | None = None,
) -> PatientRecord:
    """Register a person with a practice.

    Raises:
        ValidationError: with a message for every field that is wrong at once.
    """
    errors: dict[str, str] = {}
    digits = ""
    try:
        digits = normalise_nhs_number(nhs_number)
    except ValidationError as error:
        errors.update(error.field_errors)
    names: dict[str, str] = {}
    for field, value, label, check in (
        ("family_name", family_name, "family name", require_name),
        ("given_name", given_name, "given name", require_name),
        ("title", title, "title", check_name),
    ):
        try:
            names[field] = check(value, field, label)
        except ValidationError as error:
            errors.update(error.field_errors)
    if date_of_birth is None:
        errors["date_of_birth"] = "Enter the date of birth."
    else:
        try:
            check_date_of_birth(date_of_birth, today)
        except ValidationError as error:
            errors.update(error.field_errors)
    clean_postcode = ""
    try:
        clean_postcode = normalise_postcode(postcode)
    except ValidationError as error:
        errors.update(error.field_errors)
    practice = session.get(Practice, practice_id) if practice_id else None
    if practice is None or practice.retired_at is not None:
        errors["practice"] = "Choose the practice the person is registered with."
    if digits:
        existing = session.scalar(
            select(Patient).where(Patient.nhs_number == digits, Patient.retired_at.is_(None))
        )
        if existing is not None:
            errors["nhs_number"] = (
                f"NHS number {format_nhs_number(digits)} is already registered to "
                f"{patient_display_name(existing.family_name, existing.given_name)}, born "
                f"{cui_date(existing.date_of_birth)}. Open that record instead."
            )
        elif _in_unpublished_import(session, digits):
            errors["nhs_number"] = IN_RUNNING_IMPORT
    if errors:
        raise ValidationError(" ".join(dict.fromkeys(errors.values())), errors)
    assert date_of_birth is not None and practice is not None
    patient = Patient(
        nhs_number=digits,
        family_name=names["family_name"],
        given_name=names["given_name"],
        title=names["title"],
        date_of_birth=date_of_birth,
        gender=gender,
        address=address.strip(),
        postcode=clean_postcode,
        phone=phone.strip(),
        practice_id=practice.id,
    )
    session.add(patient)
    session.flush()
    return patient_record(patient)


@requires(Permission.EDIT_PLAN)
def set_risk_band(session: Session, patient_id: uuid.UUID, band: RiskBand | None) -> PatientRecord:
    patient = load_patient(session, patient_id)
    patient.risk_band = band
    session.flush()
    return patient_record(patient)


@requires(Permission.EDIT_DEMOGRAPHICS)
def record_death(
    session: Session, patient_id: uuid.UUID, date_of_death: dt.date, today: dt.date | None = None
) -> PatientRecord:
    """Record that the person has died (the banner then shows it)."""
    patient = load_patient(session, patient_id)
    today = today or dt.date.today()
    if date_of_death > today:
        raise ValidationError(
            "The date of death cannot be in the future.",
            {"date_of_death": "The date of death cannot be in the future."},
        )
    if date_of_death < patient.date_of_birth:
        raise ValidationError(
            "The date of death is before the date of birth.",
            {"date_of_death": "The date of death is before the date of birth."},
        )
    patient.date_of_death = date_of_death
    session.flush()
    return patient_record(patient)


@requires(Permission.EDIT_PLAN)
def add_condition(
    session: Session, patient_id: uuid.UUID, name: str, diagnosed_on: dt.date | None = None
) -> uuid.UUID:
    load_patient(session, patient_id)
    condition = LongTermCondition(
        patient_id=patient_id,
        name=require_text(name, "name", "condition"),
        diagnosed_on=diagnosed_on,
    )
    session.add(condition)
    session.flush()
    return condition.id


@requires(Permission.EDIT_PLAN)
def add_alert(
    session: Session,
    patient_id: uuid.UUID,
    kind: AlertKind,
    detail: str = "",
    *,
    sensitive: bool = False,
    share_with_person: bool = True,
) -> uuid.UUID:
    load_patient(session, patient_id)
    if kind is AlertKind.OTHER and not detail.strip():
        raise ValidationError("Describe the alert.", {"detail": "Describe the alert."})
    alert = Alert(
        patient_id=patient_id,
        kind=kind,
        detail=detail.strip(),
        sensitive=sensitive,
        share_with_person=share_with_person,
    )
    session.add(alert)
    session.flush()
    return alert.id


@requires(Permission.EDIT_PLAN)
def record_consent(
    session: Session,
    patient_id: uuid.UUID,
    decision: ConsentDecision,
    *,
    recorded_on: dt.date | None = None,
    note: str = "",
    today: dt.date | None = None,
) -> uuid.UUID:
    """Record the person's decision about sharing; the recorder is the desk's actor."""
    load_patient(session, patient_id)
    today = today or dt.date.today()
    recorded_on = recorded_on or today
    if recorded_on > today:
        raise ValidationError(
            "Consent cannot be recorded for a future date.",
            {"recorded_on": "Consent cannot be recorded for a future date."},
        )
    if decision is ConsentDecision.BEST_INTERESTS and not note.strip():
        raise RuleError("Say who made the best-interests decision and why, in the note.")
    consent = Consent(
        patient_id=patient_id,
        decision=decision,
        recorded_on=recorded_on,
        recorded_by_id=current_actor_id(session.connection()),
        note=note.strip(),
    )
    session.add(consent)
    session.flush()
    return consent.id


@requires(Permission.EDIT_PLAN)
def retire_alert(session: Session, alert_id: uuid.UUID) -> None:
    """Withdraw an alert: kept in the history, no longer shown as current."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFoundError("That alert is not in this store.")
    if alert.retired_at is None:
        alert.retired_at = utc_now()
        session.flush()
