"""The people behind an indicator's figure, for the Indicators tab's click-through.

:func:`mdt_desk.services.indicators.cases_behind` gives the ids of the cases a figure
counted; this module lists them by name. It asks for the clinical-reading permission,
not just the caseload's: being listed under "hospital admissions", "permanent care home
admissions" or a survey statement says something clinical about the person, which a
role that may read the caseload but not clinical records (a care navigator) must not
learn this way. Opening one of them goes through the case record, which checks the
role again (need-to-know items included) and writes the access log.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.models import Case, Patient, Practice
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.display import cui_date, label, patient_display_name
from mdt_desk.services.validation import format_nhs_number


@dataclass(frozen=True)
class CountedCase:
    """One case an indicator counted, as the click-through lists it."""

    case_id: uuid.UUID
    patient_id: uuid.UUID
    name: str
    nhs_number: str
    practice: str
    referred_on: str
    closed_on: str
    status: str


#: Case ids per ``IN (…)``: well under SQLite's limit on bound values.
_IDS_PER_QUERY = 500


@requires(Permission.READ_CLINICAL)
def counted_case_rows(session: Session, case_ids: Sequence[uuid.UUID]) -> list[CountedCase]:
    """The cases ``case_ids`` as the click-through lists them, by name.

    Needs the clinical-reading permission (see the module's docstring).
    """
    rows: list[Any] = []
    ids = list(dict.fromkeys(case_ids))
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        rows += session.execute(
            select(
                Case.id,
                Case.patient_id,
                Patient.family_name,
                Patient.given_name,
                Patient.title,
                Patient.nhs_number,
                Practice.ods_code,
                Case.referred_on,
                Case.closed_on,
                Case.status,
            )
            .join(Patient, Patient.id == Case.patient_id)
            .join(Practice, Practice.id == Patient.practice_id)
            .where(Case.id.in_(chunk))
        ).all()
    rows.sort(key=lambda row: (row.family_name.upper(), row.given_name.upper(), row.referred_on))
    return [
        CountedCase(
            case_id=row.id,
            patient_id=row.patient_id,
            name=patient_display_name(row.family_name, row.given_name, row.title),
            nhs_number=format_nhs_number(row.nhs_number),
            practice=row.ods_code,
            referred_on=cui_date(row.referred_on),
            closed_on=cui_date(row.closed_on, ""),
            status=label(row.status),
        )
        for row in rows
    ]
