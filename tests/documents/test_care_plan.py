"""The printed care plan: every section and open action, paging, fonts, privacy, record."""

import pytest

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.documents import common as document_common
from mdt_desk.documents.care_plan import PART_HEADINGS, PARTS, SECTION_HEADINGS
from mdt_desk.errors import UserError
from mdt_desk.services import history, prints
from tests.documents.helpers import (
    NOT_SHARED_ALERT,
    NOW,
    SENSITIVE_ALERT,
    SHARED_ALERT,
    care_case,
    desk_for,
    flat,
    font_sizes,
    pages_text,
)
from tests.services.staff_reads import add_unrelated_staff, staff_reads


@pytest.fixture
def printed(store, practice_ids, team):
    return care_case(store, practice_ids["A81001"], team, actions=4)


def request_for(printed, *, large_print: bool = False) -> DocumentRequest:
    return DocumentRequest(
        DocumentKind.CARE_PLAN, patient_id=printed.patient_id, large_print=large_print
    )


def test_every_section_and_every_open_action_is_printed(store, printed) -> None:
    document = documents.preview(desk_for(store), request_for(printed), now=NOW)
    whole = flat(" ".join(pages_text(document.content)))
    for heading in SECTION_HEADINGS:
        assert heading in whole
    for action in printed.actions:
        assert action in whole
    assert printed.done[0] in whole  # done recently
    assert "SMITH, Jane (Mrs)" in whole
    assert "Born 14-Jul-1945 (81y)" in whole
    assert "NHS No. 943 476 5919" in whole
    assert "The Densham Surgery" in whole
    assert "Ngozi Okafor" in whole  # the coordinator
    assert "Ann Smith" in whole and "Daughter and carer" in whole
    assert "I want to walk to the corner shop on my own" in whole
    assert "NHS 111" in whole and "999" in whole
    assert "Printed by Ngozi Okafor on 22-Nov-2026 09:05" in whole
    assert f"Plan version {document.plan_version}" in whole
    assert "CONFIDENTIAL" in whole
    assert "None" not in whole.replace("Nothing", "") and "nan" not in whole.split()


#: The PRSB Personalised Care and Support Plan headings, in PRSB order (issue 13), and
#: the plain-English sections readers know kept under them.
PRSB_PLAN = {
    "About me": ["Things to know", "Sharing my information"],
    "What matters to me": [],
    "My care and support plan": ["What we will do", "What has been done recently"],
    "Contacts": ["My care coordinator", "People involved in my care", "If things get worse"],
    "Plan review": ["My next review"],
}


def test_the_plan_is_laid_out_in_prsb_parts_with_its_plain_english_sections() -> None:
    assert {part.heading: [s.heading for s in part.sections] for part in PARTS} == PRSB_PLAN
    assert tuple(PRSB_PLAN) == PART_HEADINGS  # in PRSB order


def sections_as_printed(content: bytes) -> dict[str, str]:
    """Each heading the PDF prints, as a line of its own, with the text under it up to
    the next heading."""
    lines = [line.strip() for page in pages_text(content) for line in page.splitlines()]
    sections: dict[str, str] = {}
    current = None
    for line in lines:
        if line in SECTION_HEADINGS:
            assert line not in sections, f"{line!r} is printed twice"
            current = line
            sections[line] = ""
        elif current is not None:
            sections[current] += " " + line
    return {title: flat(words) for title, words in sections.items()}


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_prsb_headings_print_in_order_each_over_what_it_holds(store, printed, large_print) -> None:
    document = documents.preview(
        desk_for(store), request_for(printed, large_print=large_print), now=NOW
    )
    sections = sections_as_printed(document.content)
    assert list(sections) == list(SECTION_HEADINGS)
    prsb_order = [title for title in sections if title in PRSB_PLAN]
    assert prsb_order == list(PRSB_PLAN)
    about_me = sections["About me"]
    assert "SMITH, Jane (Mrs)" in about_me and "NHS No. 943 476 5919" in about_me
    assert "The Densham Surgery" in about_me
    assert SHARED_ALERT in sections["Things to know"]
    assert "you agreed" in sections["Sharing my information"]
    assert "I want to walk to the corner shop on my own" in sections["What matters to me"]
    we_will_do = sections["What we will do"]
    assert all(action in we_will_do for action in printed.actions)
    assert printed.done[0] in sections["What has been done recently"]
    assert "Ngozi Okafor is your care coordinator" in sections["My care coordinator"]
    assert "Ann Smith" in sections["People involved in my care"]
    assert "NHS 111" in sections["If things get worse"] and "999" in sections["If things get worse"]
    assert "We will look at this plan with you again by" in sections["My next review"]
    # These parts open straight onto their first section: nothing between, not even
    # a page end (whose footer would read in between).
    for part in ("My care and support plan", "Contacts", "Plan review"):
        assert sections[part] == ""


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_only_alerts_the_person_agreed_to_share_are_printed(store, printed, large_print) -> None:
    document = documents.preview(
        desk_for(store), request_for(printed, large_print=large_print), now=NOW
    )
    whole = flat(" ".join(pages_text(document.content)))
    assert SHARED_ALERT in whole
    assert NOT_SHARED_ALERT not in whole
    assert SENSITIVE_ALERT not in whole
    assert "Risk to staff" not in whole and "Key safe" not in whole


@pytest.mark.slow
def test_two_hundred_actions_paginate_with_page_numbers_and_repeated_headers(
    store, practice_ids, team
) -> None:
    many = care_case(store, practice_ids["A81001"], team, actions=200)
    document = documents.preview(desk_for(store), request_for(many), now=NOW)
    texts = pages_text(document.content)
    total = len(texts)
    assert total == document.pages > 3
    for number, page in enumerate(texts, start=1):
        assert f"Page {number} of {total}" in page
        assert "SMITH, Jane (Mrs) NHS No. 943 476 5919" in flat(page)  # footer on every page
        assert "CONFIDENTIAL" in page
    action_pages = [page for page in texts if any(action in flat(page) for action in many.actions)]
    assert len(action_pages) >= 3
    for page in action_pages:
        # The header row of "What we will do" is repeated on each page the table spans.
        assert "Who What they will do By when How it is going" in flat(page)
    whole = flat(" ".join(texts))
    for action in many.actions:
        assert action in whole


def test_names_in_any_european_script_come_back_intact(store, practice_ids, team) -> None:
    irish = care_case(
        store,
        practice_ids["A81001"],
        team,
        family_name="Ó Súilleabháin-Łukasiewicz",
        given_name="Siobhán",
        nhs_number="9990000026",
    )
    document = documents.preview(desk_for(store), request_for(irish), now=NOW)
    whole = flat(" ".join(pages_text(document.content)))
    assert "Ó SÚILLEABHÁIN-ŁUKASIEWICZ, Siobhán (Mrs)" in whole
    assert "Zoë Nowak" in whole and "Seán Ó Briain" in whole


def test_large_print_is_sixteen_point_or_more_throughout(store, printed) -> None:
    normal = documents.preview(desk_for(store), request_for(printed), now=NOW)
    large = documents.preview(desk_for(store), request_for(printed, large_print=True), now=NOW)
    assert min(font_sizes(normal.content)) < 16
    assert min(font_sizes(large.content)) >= 16
    assert large.pages > normal.pages
    whole = flat(" ".join(pages_text(large.content)))
    for action in printed.actions:
        assert action in whole


def test_the_same_inputs_and_time_give_the_same_bytes(store, printed) -> None:
    desk = desk_for(store)
    first = documents.preview(desk, request_for(printed), now=NOW)
    second = documents.preview(desk, request_for(printed), now=NOW)
    assert first.content == second.content
    assert b"D:20261122090500+00'00'" in first.content  # the creation date is the print time


def test_a_print_is_recorded_in_the_journal_and_shown_in_the_history(store, printed) -> None:
    desk = desk_for(store)
    with store.read() as session:
        version_before = history.plan_version(session, printed.patient_id, printed.case_id)
    document = documents.produce(desk, request_for(printed), now=NOW)
    assert document.print_id is not None
    assert document.plan_version == version_before
    with store.read() as session:
        (recorded,) = prints.prints_for_case(session, printed.case_id)
        entries = history.record_history(session, printed.patient_id, printed.case_id)
        version_after = history.plan_version(session, printed.patient_id, printed.case_id)
        journalled = session.execute(
            __import__("sqlalchemy").text(
                "SELECT field, new_value, actor_id FROM journal WHERE entity = 'print_record'"
                " AND row_id = :id"
            ),
            {"id": document.print_id.hex},
        ).all()
    assert recorded.content_sha256 == document.sha256
    assert (recorded.pages, recorded.printed_by_name) == (document.pages, "Ngozi Okafor")
    assert version_after == version_before  # a print does not change the plan's version
    assert {row.field for row in journalled} >= {"kind", "printed_at", "content_sha256"}
    (entry,) = [e for e in entries if e.entity == "print_record"]
    assert entry.record == f"Care plan printed by Ngozi Okafor, version {version_before}"
    assert entry.field == "Printed" and entry.new_text.startswith(f"{document.pages} page")
    assert entry.who == "Ngozi Okafor"


def test_a_damaged_font_is_a_clear_user_error(store, printed, tmp_path, monkeypatch) -> None:
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "DejaVuSans.ttf").write_bytes(b"not a font at all")
    monkeypatch.setattr(document_common, "_fonts_ready", False)
    monkeypatch.setattr(document_common, "resource_path", tmp_path.joinpath)
    with pytest.raises(UserError, match=r"DejaVuSans\.ttf is missing or damaged.*Reinstall"):
        documents.produce(desk_for(store), request_for(printed), now=NOW)
    with store.read() as session:
        assert prints.prints_for_case(session, printed.case_id) == []  # nothing recorded


def test_a_missing_font_is_a_clear_user_error(store, printed, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(document_common, "_fonts_ready", False)
    monkeypatch.setattr(document_common, "resource_path", tmp_path.joinpath)
    with pytest.raises(UserError, match="missing or damaged"):
        documents.preview(desk_for(store), request_for(printed), now=NOW)


def test_the_plan_is_the_same_however_many_other_staff_the_desk_holds(store, printed) -> None:
    def preview() -> tuple[bytes, int]:
        desk = desk_for(store)
        with staff_reads() as reads:
            document = documents.preview(desk, request_for(printed), now=NOW)
        with store.read() as session:
            return document.content, reads.rows(session)

    content, rows = preview()
    add_unrelated_staff(store, 60)
    content_now, rows_now = preview()
    assert content_now == content
    # The history and the record name only their own staff, and a document never reads
    # the record screen's picker choices: not one of the 60 is read.
    assert rows_now == rows
