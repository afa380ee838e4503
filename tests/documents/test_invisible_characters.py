"""Documents never print bidi overrides or zero-width characters, nor keep them in metadata.

The services refuse them in new names, but a record kept before that rule, or from an
older desk through the hub, may still hold them: the PDF shows the plain name.
"""

import io
import uuid

from pypdf import PdfReader

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.models import Goal, Patient, Staff
from mdt_desk.models.store import Store
from mdt_desk.services.text_safety import INVISIBLE
from tests.documents.helpers import NOW, care_case, desk_for, flat, pages_text


def _disguise(store: Store, patient_id: uuid.UUID, staff_id: uuid.UUID) -> None:
    """Write invisible characters straight into the records, as an old record may hold."""
    with store.write(actor_label="an older desk") as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        patient.family_name = "Sm\u202eith"
        patient.given_name = "Ja\u200bne"
        staff = session.get(Staff, staff_id)
        assert staff is not None
        staff.family_name = "Oka\u2066for\u2069"
        goal = session.query(Goal).first()
        assert goal is not None
        goal.description = "I want to walk\u200d to the \ufeffcorner shop on my own"


def test_a_care_plan_prints_no_invisible_characters(store, practice_ids, team) -> None:
    printed = care_case(store, practice_ids["A81001"], team, actions=2)
    _disguise(store, printed.patient_id, team["social_worker"])
    document = documents.preview(
        desk_for(store),
        DocumentRequest(DocumentKind.CARE_PLAN, patient_id=printed.patient_id),
        now=NOW,
    )
    text = " ".join(pages_text(document.content))
    assert not set(text) & INVISIBLE
    whole = flat(text)
    assert "SMITH, Jane (Mrs)" in whole
    assert "Ngozi Okafor" in whole
    assert "I want to walk to the corner shop on my own" in whole
    metadata = PdfReader(io.BytesIO(document.content)).metadata
    assert metadata is not None
    kept = " ".join(str(value) for value in metadata.values())
    assert "Ngozi Okafor" in kept  # who printed it, as the author
    assert not set(kept) & INVISIBLE
