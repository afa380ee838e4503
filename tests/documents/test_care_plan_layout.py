"""The care plan agrees with itself (B2), and its print never breaks what must read whole (B3).

B2: the coordinator named at the top is the only "Care coordinator" in "People
involved in my care"; a former coordinator appears only in another role they still hold.

B3: in large print (and normal print) no line breaks inside a date, an NHS number, a
phone number or a word. Checked by reading the PDF's text back line by line: a value
split across two lines is not on any one line, and it reads whole only once the lines
are joined up.
"""

import dataclasses
import datetime as dt
import io
import random
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from sqlalchemy import select

from mdt_desk.documents.care_plan import (
    SECTION_HEADINGS,
    CarePlanContent,
    care_plan_pdf,
    gather_care_plan,
    render_care_plan,
)
from mdt_desk.documents.common import (
    FONT,
    FONT_BOLD,
    document_styles,
    ensure_fonts,
    fitted_widths,
    keep_together,
    usable_width,
)
from mdt_desk.models import Case
from mdt_desk.models.enums import ActionStatus, ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.services import cases, patients, plans
from mdt_desk.services import staff as staff_service
from mdt_desk.services.care_team import is_coordinator_role
from mdt_desk.services.demo import generate_demo, synthetic_nhs_numbers
from mdt_desk.services.display import cui_date
from tests.conftest import TODAY
from tests.documents.helpers import NOW, care_case, flat
from tests.shared_stores import made_sealed

PRINTED_BY = "Ngozi Okafor"


def pdf_lines(content: bytes) -> list[str]:
    """Every line of text of every page, as pypdf reads it back (no-break spaces read
    as spaces)."""
    lines: list[str] = []
    for page in PdfReader(io.BytesIO(content)).pages:
        lines += (page.extract_text() or "").replace("\u00a0", " ").splitlines()
    return lines


def broken_across_lines(value: str, lines: list[str]) -> int:
    """How many times ``value`` reads only when two lines are joined, i.e. was split.

    Joining lines with a space (a break at a space) or with nothing (a break inside a
    word) can only add matches that span a line end.
    """
    whole = "\n".join(lines).count(value)
    return max(" ".join(lines).count(value), "".join(lines).count(value)) - whole


def assert_reads_whole(value: str, lines: list[str], times: int = 1) -> None:
    on_one_line = sum(line.count(value) for line in lines)
    assert on_one_line >= times, f"{value!r} is not whole on one line"
    assert broken_across_lines(value, lines) == 0, f"{value!r} is split across lines"


def print_plan(
    store: Store, patient_id: uuid.UUID, *, large_print: bool, case_id: uuid.UUID | None = None
) -> tuple[list[str], CarePlanContent]:
    with store.read(staff_service.signed_in_staff_id(store)) as session:
        pdf, content = care_plan_pdf(
            session,
            patient_id,
            case_id=case_id,
            now=NOW,
            printed_by=PRINTED_BY,
            large_print=large_print,
        )
    return pdf_lines(pdf.content), content


def people_section(lines: list[str]) -> str:
    """ "People involved in my care", up to the heading printed after it."""
    whole = flat(" ".join(lines))
    start = whole.index("People involved in my care")
    after = SECTION_HEADINGS[SECTION_HEADINGS.index("People involved in my care") + 1]
    return whole[start : whole.index(after, start)]


# --- B2: one care coordinator ---------------------------------------------------------


def handed_over_case(
    store: Store,
    practice_id: uuid.UUID,
    team: dict[str, uuid.UUID],
    *,
    former: str,
    former_role: str,
    new: str = "social_worker",
    new_role: str = "",
) -> uuid.UUID:
    """A person whose case went from coordinator ``former`` to ``new``; the former is
    still in the care team with ``former_role`` (and the new one with ``new_role``, if
    given). Returns the person's id."""
    with store.write(team[new]) as session:
        person = patients.register_patient(
            session,
            nhs_number="9434765919",
            family_name="Smith",
            given_name="Jane",
            title="Mrs",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_id,
            today=TODAY,
        )
        case = cases.refer(
            session,
            person.id,
            source=ReferralSource.HOSPITAL,
            reason="Two falls this month",
            referred_on=TODAY - dt.timedelta(days=30),
            today=TODAY,
        )
        cases.accept(
            session, case.id, coordinator_id=team[former], on=TODAY - dt.timedelta(days=30)
        )
        plans.add_care_team_member(
            session,
            case.id,
            role=former_role,
            staff_id=team[former],
            contact="01843 555 010",
            joined_on=TODAY - dt.timedelta(days=30),
        )
        plans.add_care_team_member(
            session, case.id, role="Daughter and carer", name="Ann Smith", joined_on=TODAY
        )
        if new_role:
            plans.add_care_team_member(
                session, case.id, role=new_role, staff_id=team[new], joined_on=TODAY
            )
        cases.change_coordinator(
            session, case.id, coordinator_id=team[new], reason="Moved to the social work team"
        )
    return person.id


ROW = r"(?:What they do: )?"  # large print lays the rows out as "label: value" blocks


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_a_former_coordinator_appears_only_in_their_other_role(
    store, practice_ids, team, large_print
) -> None:
    patient_id = handed_over_case(
        store, practice_ids["A81001"], team, former="district_nurse", former_role="District nurse"
    )
    lines, _content = print_plan(store, patient_id, large_print=large_print)
    whole = flat(" ".join(lines))
    people = people_section(lines)
    assert "Ngozi Okafor is your care coordinator" in whole  # the top names the new one
    assert whole.count("Care coordinator") == 1
    assert re.search(rf"Ngozi Okafor {ROW}Care coordinator\b", people)
    assert re.search(rf"Zoë Nowak {ROW}District nurse\b", people)
    assert people.count("Zoë Nowak") == 1
    assert "Ann Smith" in people


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_a_former_coordinator_with_no_other_role_is_not_listed(
    store, practice_ids, team, large_print
) -> None:
    # The usual way a plan names two coordinators: the first was added to the care
    # team as "Care coordinator", and the row stayed when the case was handed over.
    patient_id = handed_over_case(
        store, practice_ids["A81001"], team, former="gp", former_role="Care co-ordinator"
    )
    lines, _content = print_plan(store, patient_id, large_print=large_print)
    whole = flat(" ".join(lines))
    assert whole.count("Care coordinator") == 1
    assert "co-ordinator" not in whole
    assert re.search(rf"Ngozi Okafor {ROW}Care coordinator\b", people_section(lines))
    assert "Seán Ó Briain" not in whole


def test_the_coordinator_is_listed_once_with_every_role_they_hold(
    store, practice_ids, team
) -> None:
    patient_id = handed_over_case(
        store,
        practice_ids["A81001"],
        team,
        former="gp",
        former_role="GP",
        new="district_nurse",
        new_role="District nurse",
    )
    lines, _content = print_plan(store, patient_id, large_print=False)
    people = people_section(lines)
    assert people.count("Zoë Nowak") == 1
    assert people.count("Care coordinator") == 1
    assert "Zoë Nowak Care coordinator, District nurse" in people
    assert re.search(r"Seán Ó Briain GP\b", people)
    # The coordinator's own row says how to reach them, never "through your coordinator".
    assert people.count("Through your care coordinator") == 1  # Ann Smith's only
    assert "Through The Densham Surgery" in people


def add_owner(
    store: Store, *, family: str, given: str, profession: str, phone: str = ""
) -> uuid.UUID:
    with store.write(actor_label="test set-up") as session:
        return staff_service.add_staff(
            session,
            family_name=family,
            given_name=given,
            profession=profession,
            organisation="Thanet Primary Care Network",
            phone=phone,
            practice_codes=("A81001",),
        ).id


def assert_every_owner_is_involved(lines: list[str], content: CarePlanContent) -> str:
    """Everyone the plan names as doing (or having done) something is in People
    involved, with what they do; returns that section."""
    people = people_section(lines)
    listed = {person.name: person for person in content.people}
    owners = {row.owner_name for row in (*content.open_actions, *content.done_recently)}
    assert owners
    for owner in owners:
        assert owner in listed, f"{owner} does things on the plan but is not involved"
        assert listed[owner].role
        assert re.search(rf"{re.escape(owner)} {ROW}{re.escape(listed[owner].role)}", people)
    return people


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_everyone_named_as_doing_something_is_in_people_involved(
    store, practice_ids, team, large_print
) -> None:
    """The GP owns an open action but is not in the care team, and a pharmacist did a
    recent one: both are listed with what they do and how to reach them. Someone who
    owns only a sensitive action is never named."""
    printed = care_case(store, practice_ids["A81001"], team, actions=3)  # one is the GP's
    pharmacist = add_owner(
        store, family="Patel", given="Rajesh", profession="pharmacist", phone="01843 555 777"
    )
    hidden = add_owner(store, family="Kowalska", given="Ewa", profession="mental_health_nurse")
    with store.write(team["social_worker"]) as session:
        done = plans.add_action(
            session,
            printed.case_id,
            description="Medication review: two medicines stopped",
            owner_id=pharmacist,
            due_on=TODAY,
            today=TODAY,
        )
        plans.update_action(session, done.id, status=ActionStatus.DONE, today=TODAY)
        plans.add_action(
            session,
            printed.case_id,
            description="Safeguarding: speak to the person alone",
            owner_id=hidden,
            due_on=TODAY + dt.timedelta(days=3),
            sensitive=True,
            today=TODAY,
        )
    lines, content = print_plan(store, printed.patient_id, large_print=large_print)
    whole = flat(" ".join(lines))
    people = assert_every_owner_is_involved(lines, content)
    assert re.search(rf"Seán Ó Briain {ROW}GP\b", people)
    assert re.search(rf"Rajesh Patel {ROW}Pharmacist\b", people)
    assert "01843 555 777" in people.replace("\u00a0", " ")
    assert "Thanet Primary Care Network" in people
    assert "Kowalska" not in whole and "Mental health" not in whole
    assert whole.count("Care coordinator") == 1
    assert re.search(rf"Ngozi Okafor {ROW}Care coordinator\b", people)


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_a_former_coordinator_who_owns_an_action_is_listed_by_profession(
    store, practice_ids, team, large_print
) -> None:
    """Their "Care co-ordinator" team row still never makes them a second coordinator."""
    patient_id = handed_over_case(
        store, practice_ids["A81001"], team, former="gp", former_role="Care co-ordinator"
    )
    with store.write(team["social_worker"]) as session:
        case_id = session.scalars(select(Case.id).where(Case.patient_id == patient_id)).one()
        plans.add_action(
            session,
            case_id,
            description="Review the diuretic dose",
            owner_id=team["gp"],
            due_on=TODAY + dt.timedelta(days=7),
            today=TODAY,
        )
    lines, content = print_plan(store, patient_id, large_print=large_print)
    whole = flat(" ".join(lines))
    people = assert_every_owner_is_involved(lines, content)
    assert whole.count("Care coordinator") == 1 and "co-ordinator" not in whole
    assert re.search(rf"Seán Ó Briain {ROW}GP\b", people)
    assert people.count("Seán Ó Briain") == 1


@pytest.mark.parametrize(
    ("role", "coordinates"),
    [
        ("Care coordinator", True),
        ("care  co-ordinator", True),
        ("Coordinator", True),
        ("Lead care coordinator (social worker)", True),
        ("Discharge coordinator", False),
        ("District nurse", False),
        ("Daughter and carer", False),
    ],
)
def test_which_typed_roles_say_care_coordinator(role: str, coordinates: bool) -> None:
    assert is_coordinator_role(role) is coordinates


# --- B3: nothing that must read whole is split ---------------------------------------


def test_phone_numbers_long_dates_and_nhs_numbers_are_kept_together() -> None:
    nbsp = "\u00a0"
    assert (
        keep_together("Ring 01843 555 010 after 2pm") == f"Ring 01843{nbsp}555{nbsp}010 after 2pm"
    )
    assert keep_together("+44 7700 900643") == f"+44{nbsp}7700{nbsp}900643"
    assert keep_together("NHS No. 943 476 5919") == f"NHS No. 943{nbsp}476{nbsp}5919"
    assert keep_together("by 4 December 2026.") == f"by 4{nbsp}December{nbsp}2026."
    assert keep_together("call NHS 111") == f"call NHS{nbsp}111"
    # A phone number followed by a date: the date's day is not taken into the number.
    assert (
        keep_together("ring 555 0101 14 July 2027") == f"ring 555{nbsp}0101 14{nbsp}July{nbsp}2027"
    )
    assert keep_together("2 or 3 times a day, 10 20 30") == "2 or 3 times a day, 10 20 30"


def test_columns_are_sized_from_their_content_or_the_rows_are_stacked() -> None:
    large = document_styles(large_print=True)
    header = ("Who", "What they will do", "By when", "How it is going")
    rows = [("Danielle Wilson", "Refer to falls prevention service", "26-Nov-2026", "To do")]
    date_width = pdfmetrics.stringWidth("26-Nov-2026", FONT, 16)
    # Three columns fit at 16 pt: the date's column holds it with its padding.
    widths = fitted_widths(header[1:], [row[1:] for row in rows], large, usable_width())
    assert widths is not None
    assert sum(widths) == pytest.approx(usable_width())
    assert widths[1] >= date_width + 10
    assert widths[0] > widths[1]  # the words get the room, not the short values
    # Four do not, without squeezing the description below eight ems: stacked instead.
    assert fitted_widths(header, rows, large, usable_width()) is None
    # They do at 10 pt, with each name and date on one line.
    normal = document_styles()
    widths = fitted_widths(header, rows, normal, usable_width())
    assert widths is not None
    assert widths[0] >= pdfmetrics.stringWidth("Danielle Wilson", FONT, 10) + 8
    assert widths[2] >= pdfmetrics.stringWidth("26-Nov-2026", FONT, 10) + 8
    # A word wider than a column could ever be: no table.
    too_long = [("Name", "An-extraordinarily-long-hyphenated-word-that-fills-the-whole-page")]
    assert fitted_widths(("Who", "What"), too_long, large, usable_width()) is None


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with made_sealed():  # made before any test's keyring; the open store keeps its key
        store = Store.open(tmp_path_factory.mktemp("layout") / "demo.sqlite")
    generate_demo(store, patients=700, seed=5, today=TODAY)
    yield store
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("large_print", [True, False], ids=["large", "normal"])
def test_every_due_date_nhs_number_and_phone_reads_whole_for_many_demo_people(
    demo_store: Store, large_print: bool
) -> None:
    with demo_store.read() as session:
        people = sorted(set(session.scalars(select(Case.patient_id))))
    assert len(people) >= 100
    checked = Counter[str]()
    for patient_id in people:
        lines, content = print_plan(demo_store, patient_id, large_print=large_print)
        due = Counter(cui_date(row.due_on) for row in content.open_actions)
        for date, times in due.items():
            assert_reads_whole(date, lines, times)
        checked["due dates"] += due.total()
        assert_reads_whole(content.record.banner.nhs_number_text, lines, 2)  # top and footer
        phones = [content.contacts.practice_phone, content.contacts.coordinator_phone] + [
            person.contact for person in content.people
        ]
        for phone in {p for p in phones if re.fullmatch(r"[\d ()+]{7,}", p)}:
            assert_reads_whole(phone, lines)
            checked["phone numbers"] += 1
        for row in content.open_actions:
            for word in row.description.split():
                assert broken_across_lines(word, lines) == 0 or len(word) < 4, word
    # Enough of each was seen for the test to mean something.
    assert checked["due dates"] >= 100
    assert checked["phone numbers"] >= 100


# Consonants only (with a few letters from other scripts), so a generated word never
# turns up by chance in the plan's own wording.
_LETTERS = "bcdfghjklmnpqrstvwxzŁØÞŠ"
# The longest word that must never be split: one that fits a whole large-print line
# (a word wider than the page is the one thing a line has to break).
_LINE = 400
long_words = st.text(alphabet=_LETTERS, min_size=5, max_size=24)
_NHS_NUMBERS = iter(synthetic_nhs_numbers(random.Random(9), 2000))


def fits_a_large_print_line(word: str) -> bool:
    ensure_fonts()
    return pdfmetrics.stringWidth(word, FONT_BOLD, 16) <= _LINE


descriptions = st.lists(
    st.one_of(
        long_words,
        st.sampled_from(["and", "to", "the", "ring", "by", "on", "visit"]),
        st.just("01843 555 010"),
        st.just("14 July 2027"),
    ),
    min_size=1,
    max_size=40,
).map(" ".join)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    actions=st.lists(
        st.tuples(descriptions, st.integers(min_value=0, max_value=400)), min_size=1, max_size=6
    ),
    owner_family=st.lists(long_words, min_size=1, max_size=3)
    .map("-".join)
    .filter(fits_a_large_print_line),
    carer=st.lists(long_words, min_size=1, max_size=4).map(" ".join),
    large_print=st.booleans(),
)
def test_no_date_number_or_word_is_split_however_long_the_text(
    store, practice_ids, team, actions, owner_family, carer, large_print
) -> None:
    with store.write(team["social_worker"]) as session:
        owner = staff_service.add_staff(
            session,
            family_name=owner_family,
            given_name="Siobhán",
            profession="district_nurse",
            phone="07700 900 123",
            practice_codes=("A81001",),
        )
        person = patients.register_patient(
            session,
            nhs_number=next(_NHS_NUMBERS),
            family_name="Ó Súilleabháin-Łukasiewicz",
            given_name="Siobhán",
            title="Mrs",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_ids["A81001"],
            today=TODAY,
        )
        case = cases.refer(
            session, person.id, source=ReferralSource.GP, reason="Falls", referred_on=TODAY
        )
        cases.accept(session, case.id, coordinator_id=owner.id, on=TODAY)
        plans.add_care_team_member(
            session, case.id, role="Carer", name=carer, contact="01843 555 020", joined_on=TODAY
        )
        for description, days in actions:
            plans.add_action(
                session,
                case.id,
                description=description,
                owner_id=owner.id,
                due_on=TODAY + dt.timedelta(days=days),
                today=TODAY,
            )
    lines, content = print_plan(store, person.id, large_print=large_print, case_id=case.id)
    assert len(content.open_actions) == len(actions)
    for date, times in Counter(cui_date(row.due_on) for row in content.open_actions).items():
        assert_reads_whole(date, lines, times)
    assert_reads_whole(content.record.banner.nhs_number_text, lines, 2)
    assert_reads_whole("07700 900 123", lines)
    assert_reads_whole("01843 555 020", lines)
    words = Counter(
        word
        for description, _days in actions
        for word in description.split()
        if set(word) <= set(_LETTERS)
    )
    words.update(carer.split())
    words.update([owner_family])
    for word, times in words.items():
        assert_reads_whole(word, lines, times)
    for text in ("01843 555 010", "14 July 2027"):
        assert broken_across_lines(text, lines) == 0


def test_a_split_date_or_number_is_caught() -> None:
    """The check above can fail: a date broken by a narrow column is caught."""
    lines = ["Who What they will do By when", "Kieran Epps Help 26-Oct-", "2026 To do"]
    assert broken_across_lines("26-Oct-2026", lines) == 1
    assert broken_across_lines("943 476 5919", ["NHS No. 943 476", "5919"]) == 1
    assert broken_across_lines("943 476 5919", ["NHS No. 943 476 5919"]) == 0


@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_an_action_longer_than_a_page_prints_whole(store, practice_ids, team, large_print) -> None:
    # A row or block taller than a page used to stop the print with a layout error.
    patient_id = handed_over_case(
        store, practice_ids["A81001"], team, former="gp", former_role="GP"
    )
    sentence = "Check the stair rail and the bath board."
    with store.read() as session:
        (case_id,) = session.scalars(select(Case.id).where(Case.patient_id == patient_id))
    with store.write(team["social_worker"]) as session:
        plans.add_action(
            session,
            case_id,
            description=" ".join([sentence] * 150),
            owner_id=team["district_nurse"],
            due_on=TODAY + dt.timedelta(days=3),
            today=TODAY,
        )
    lines, _content = print_plan(store, patient_id, large_print=large_print)
    # Every sentence is printed; one cut by a page break reads across the page furniture.
    pages = sum(line.startswith("Page ") for line in lines)
    assert flat(" ".join(lines)).count(sentence) >= 150 - pages
    assert pages >= 3
    assert_reads_whole(cui_date(TODAY + dt.timedelta(days=3)), lines)


# --- No heading left alone at the foot of a page -------------------------------------


def page_bodies(content: bytes) -> list[list[str]]:
    """Each page's lines of plan text, without the page furniture (which pypdf reads
    after the body, from the "CONFIDENTIAL" line on)."""
    bodies = []
    for page in PdfReader(io.BytesIO(content)).pages:
        lines = [line.strip() for line in (page.extract_text() or "").splitlines()]
        lines = [line for line in lines if line]
        bodies.append(lines[: lines.index("CONFIDENTIAL")])
    return bodies


def headings_left_alone(bodies: list[list[str]]) -> list[str]:
    """The headings that end a page with nothing of their own below them."""
    return [body[-1] for body in bodies if body and body[-1] in SECTION_HEADINGS]


@pytest.mark.slow
@pytest.mark.parametrize("wordy", [False, True], ids=["short-rows", "two-line-rows"])
@pytest.mark.parametrize("large_print", [False, True], ids=["normal", "large"])
def test_no_heading_is_left_alone_at_the_foot_of_a_page(
    store, practice_ids, team, large_print, wordy
) -> None:
    """Plans with 0 to 30 open actions move every later heading down bit by bit, so
    each comes to the foot of a page somewhere along the way. With two-line rows in the
    table below a heading, four lines of room are not enough for its first row (a
    heading was once left alone above "People involved in my care"'s table)."""
    printed = care_case(store, practice_ids["A81001"], team, actions=30)
    with store.read(staff_service.signed_in_staff_id(store)) as session:
        content = gather_care_plan(session, printed.patient_id, None, TODAY)
    if wordy:
        organisation = "Older People's Community Mental Health Team (Thanet and Dover)"
        content = dataclasses.replace(
            content,
            people=tuple(
                dataclasses.replace(person, organisation=organisation) for person in content.people
            ),
        )
    pages_of = defaultdict[str, set[int]](set)
    for shown in range(len(content.open_actions) + 1):
        fewer = dataclasses.replace(content, open_actions=content.open_actions[:shown])
        pdf = render_care_plan(fewer, printed_by=PRINTED_BY, now=NOW, large_print=large_print)
        bodies = page_bodies(pdf.content)
        assert headings_left_alone(bodies) == [], f"with {shown} open actions"
        printed_headings = []
        for number, body in enumerate(bodies, start=1):
            for line in (line for line in body if line in SECTION_HEADINGS):
                printed_headings.append(line)
                pages_of[line].add(number)
        assert printed_headings == list(SECTION_HEADINGS)
    # The headings did move across page ends (not all: one kept with its whole
    # section jumps from page to page).
    moved = [title for title in SECTION_HEADINGS if len(pages_of[title]) >= 2]
    assert len(moved) >= 4, pages_of


def test_a_heading_alone_at_the_foot_of_a_page_is_caught() -> None:
    """The check above can fail: a page ending in a heading, or in a heading and the
    first subheading under it, is found."""
    first, second = SECTION_HEADINGS[:2]
    assert headings_left_alone([["My care plan", first], ["OVENDEN, Joan (Ms)"]]) == [first]
    assert headings_left_alone([["My care plan", first, "Text", second]]) == [second]
    assert headings_left_alone([["My care plan", first, "OVENDEN, Joan (Ms)"]]) == []
