"""A PDF's metadata says what kind of document it is, never whom it is about.

File managers, search indexes, mail clients and print queues show a PDF's title, subject
and keywords without opening it; a person's name or NHS number there would travel beyond
the page that holds it. Each kind of document is read back with pypdf: the person is on
the page, and nowhere in the document information, the XMP metadata or the outline.
"""

import io
from typing import Any

import pytest
from pypdf import PdfReader

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest, ProducedDocument
from mdt_desk.models.store import Store
from tests.documents.helpers import NOW, care_case, desk_for, finished_meeting, flat, pages_text

#: A family name no demo data or other test holds, and a valid NHS number to go with it.
CANARY_FAMILY = "Zqxwvanthorpe"
CANARY_GIVEN = "Ottoline"
CANARY_NHS = "9998877660"


def spellings() -> list[str]:
    """How the person could appear: the name in any case, the number with or without spaces."""
    nhs = CANARY_NHS
    return [
        CANARY_FAMILY.lower(),
        CANARY_GIVEN.lower(),
        nhs,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        f"{nhs[:3]}\u00a0{nhs[3:6]}\u00a0{nhs[6:]}",
    ]


def everything_but_the_pages(content: bytes) -> str:
    """Every piece of text a PDF keeps about itself: document information, XMP, outline,
    and the catalogue's own entries."""
    reader = PdfReader(io.BytesIO(content))
    parts: list[str] = [f"{key}={value}" for key, value in (reader.metadata or {}).items()]
    catalogue: Any = reader.trailer["/Root"]
    xmp = catalogue.get("/Metadata")
    if xmp is not None:
        parts.append(xmp.get_object().get_data().decode("utf-8", "replace"))

    def outline_titles(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                outline_titles(item)
            else:
                parts.append(str(item.title))

    outline_titles(reader.outline)
    parts.extend(
        f"{key}={catalogue[key]}"
        for key in catalogue
        if key not in ("/Pages", "/Metadata", "/Outlines", "/Type")
    )
    return " ".join(parts).lower()


@pytest.fixture
def canary_store(store: Store, practice_ids, team) -> dict[str, Any]:
    practice = practice_ids["A81001"]
    printed = care_case(
        store,
        practice,
        team,
        actions=2,
        family_name=CANARY_FAMILY,
        given_name=CANARY_GIVEN,
        nhs_number=CANARY_NHS,
    )
    meeting = finished_meeting(store, practice, team)  # the canary's case is not on it
    return {
        "store": store,
        "printed": printed,
        "meeting": meeting,
        "practice": practice,
        "team": team,
    }


def _requests(canary: dict[str, Any]) -> dict[str, DocumentRequest]:
    meeting = canary["meeting"].meeting_id
    return {
        "care plan": DocumentRequest(
            DocumentKind.CARE_PLAN, patient_id=canary["printed"].patient_id
        ),
        "care plan, large print": DocumentRequest(
            DocumentKind.CARE_PLAN, patient_id=canary["printed"].patient_id, large_print=True
        ),
        "agenda": DocumentRequest(DocumentKind.AGENDA, meeting_id=meeting),
        "agenda, initials only": DocumentRequest(DocumentKind.AGENDA_INITIALS, meeting_id=meeting),
        "minutes": DocumentRequest(DocumentKind.MINUTES, meeting_id=meeting),
        "caseload of the practice": DocumentRequest(
            DocumentKind.CASELOAD_LIST, practice_id=canary["practice"]
        ),
        "caseload of the coordinator": DocumentRequest(
            DocumentKind.CASELOAD_LIST, coordinator_id=canary["team"]["social_worker"]
        ),
    }


def _assert_nobody_in_metadata(document: ProducedDocument, on_the_page: list[str]) -> None:
    kept = everything_but_the_pages(document.content)
    for spelling in spellings():
        assert spelling not in kept, f"{spelling!r} is in the PDF's metadata: {kept}"
    # Proof the check can fail: the person is really in the document, on the page.
    page = flat(" ".join(pages_text(document.content))).lower()
    for words in on_the_page:
        assert words.lower() in page


def test_no_document_names_the_person_in_its_metadata(canary_store) -> None:
    desk = desk_for(canary_store["store"])
    nhs = f"{CANARY_NHS[:3]} {CANARY_NHS[3:6]} {CANARY_NHS[6:]}"
    # Where the canary is on the page (not on the meeting, nor the other coordinator's list).
    on_the_page = {
        "care plan": [CANARY_FAMILY, CANARY_GIVEN, nhs],
        "care plan, large print": [CANARY_FAMILY, CANARY_GIVEN, nhs],
        "caseload of the practice": [CANARY_FAMILY],
    }
    for name, request in _requests(canary_store).items():
        document = documents.preview(desk, request, now=NOW)
        try:
            _assert_nobody_in_metadata(document, on_the_page.get(name, []))
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from failure


def test_a_printed_care_plan_metadata_is_the_same_whoever_it_is_about(
    store: Store, practice_ids, team, canary_store
) -> None:
    """Produced (recorded) as well as previewed: two people's care plans, printed at the
    same moment by the same person, carry identical metadata."""
    other = care_case(
        store, practice_ids["A81001"], team, actions=1, family_name="Other", nhs_number="9997315928"
    )
    desk = desk_for(store)
    kept = []
    for patient_id in (canary_store["printed"].patient_id, other.patient_id):
        produced = documents.produce(
            desk, DocumentRequest(DocumentKind.CARE_PLAN, patient_id=patient_id), now=NOW
        )
        assert produced.print_id is not None
        _assert_nobody_in_metadata(produced, [])
        kept.append(everything_but_the_pages(produced.content))
    assert kept[0] == kept[1]
    assert "/title=my care plan" in kept[0]


def test_the_metadata_check_finds_a_name_put_there() -> None:
    """The scan is not blind: a PDF whose title names the person is caught."""
    from mdt_desk.documents.common import PageFrame, document_styles, paragraph, render

    styles = document_styles()
    frame = PageFrame(
        title=f"Care plan of {CANARY_FAMILY}", subject="", printed_by="", printed_at=NOW
    )
    pdf = render([paragraph("Nothing", styles.body)], frame, styles)
    assert CANARY_FAMILY.lower() in everything_but_the_pages(pdf.content)
