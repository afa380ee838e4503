"""Names that look like other names: NFC everywhere, invisible disguises refused.

"Zoë" typed decomposed is stored as the composed "Zoë" and found by either spelling;
a name carrying a right-to-left override or a zero-width character is refused by
every way in (form, import row, command line) with a message naming the character.
"""

import contextlib
import datetime as dt
import io
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.cli import main
from mdt_desk.errors import ValidationError
from mdt_desk.models import Action, Goal, Note, Patient, Staff
from mdt_desk.models.enums import ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.services import cases, plans
from mdt_desk.services.caseload import find_patients
from mdt_desk.services.patient_import import import_patients_file
from mdt_desk.services.patients import register_patient
from mdt_desk.services.staff import add_staff
from mdt_desk.services.text_safety import (
    BIDI_CONTROLS,
    INVISIBLE,
    UNSAFE_IN_NAMES,
    ZERO_WIDTH,
    check_name,
    printable,
)
from tests.conftest import TODAY

NHS_NUMBER = "9434765919"
FIXTURES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Letters and the combining marks that compose with them (é, ñ, ç, ö, š, à...).
_BASES = "aeiouncszAEIOUNCSZ"
_MARKS = ("\u0301", "\u0300", "\u0308", "\u0303", "\u0327", "\u030c", "")
accented_names = st.lists(
    st.tuples(st.sampled_from(_BASES), st.sampled_from(_MARKS)).map("".join),
    min_size=2,
    max_size=10,
).map(lambda parts: "".join(parts).capitalize())
unsafe = st.sampled_from(sorted(UNSAFE_IN_NAMES))


class _RollbackError(Exception):
    """Ends a write without keeping it, so each example starts from the same store."""


@contextlib.contextmanager
def undone(store: Store, actor: uuid.UUID | None = None) -> Iterator[Session]:
    with contextlib.suppress(_RollbackError), store.write(actor, "test") as session:
        yield session
        raise _RollbackError


def _nfd(value: str) -> str:
    return unicodedata.normalize("NFD", value)


def test_the_refused_characters_are_the_ones_named() -> None:
    assert {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))} == BIDI_CONTROLS
    assert {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"} == ZERO_WIDTH


@FIXTURES
@given(family=accented_names, given_name=accented_names)
def test_a_decomposed_name_is_kept_composed_and_found_either_way(
    store: Store, practice_ids: dict[str, uuid.UUID], family: str, given_name: str
) -> None:
    composed = unicodedata.normalize("NFC", family)
    with undone(store) as session:
        person = register_patient(
            session,
            nhs_number=NHS_NUMBER,
            family_name=_nfd(family),
            given_name=_nfd(given_name),
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_ids["A81001"],
            today=TODAY,
        )
        stored = session.get(Patient, person.id)
        assert stored is not None
        assert stored.family_name == composed
        assert unicodedata.is_normalized("NFC", stored.given_name)
        for typed in (composed, _nfd(composed)):
            assert person.id in {match.patient_id for match in find_patients(session, typed)}


@FIXTURES
@given(name=accented_names, character=unsafe, data=st.data())
def test_an_invisible_character_in_a_patient_name_is_refused(
    store: Store, practice_ids: dict[str, uuid.UUID], name: str, character: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(name)))
    disguised = name[:at] + character + name[at:]
    field = data.draw(st.sampled_from(["family_name", "given_name"]))
    names = {"family_name": "Smith", "given_name": "Jane", field: disguised}
    with undone(store) as session:
        with pytest.raises(ValidationError) as caught:
            register_patient(
                session,
                nhs_number=NHS_NUMBER,
                date_of_birth=dt.date(1945, 7, 14),
                practice_id=practice_ids["A81001"],
                today=TODAY,
                family_name=names["family_name"],
                given_name=names["given_name"],
            )
        assert f"U+{ord(character):04X}" in caught.value.field_errors[field]
        assert "invisible character" in str(caught.value)
        assert session.scalar(select(Patient.id)) is None


@FIXTURES
@given(name=accented_names, character=unsafe)
def test_an_invisible_character_in_a_staff_name_is_refused(
    store: Store, name: str, character: str
) -> None:
    with undone(store) as session:
        with pytest.raises(ValidationError, match="invisible character") as caught:
            add_staff(
                session,
                family_name=name + character,
                given_name="Ngozi",
                profession="social_worker",
            )
        assert "family_name" in caught.value.field_errors
        assert session.scalar(select(Staff.id)) is None


@FIXTURES
@given(body=accented_names, extra=st.text(max_size=20))
@pytest.mark.slow
def test_free_text_is_kept_in_nfc(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    team: dict[str, uuid.UUID],
    body: str,
    extra: str,
) -> None:
    text = _nfd(f"{body} {extra}").strip() or "x"
    with undone(store, team["social_worker"]) as session:
        person = register_patient(
            session,
            nhs_number=NHS_NUMBER,
            family_name="Smith",
            given_name="Jane",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_ids["A81001"],
            today=TODAY,
        )
        case = cases.refer(
            session,
            person.id,
            source=ReferralSource.GP,
            reason=text,
            referred_on=TODAY,
            today=TODAY,
        )
        plans.add_note(session, case.id, text)
        plans.add_goal(session, case.id, description=text)
        plans.add_action(
            session,
            case.id,
            description=text,
            owner_id=team["social_worker"],
            due_on=TODAY,
            today=TODAY,
        )
        session.flush()
        kept = [
            session.scalar(select(Note.body)),
            session.scalar(select(Goal.description)),
            session.scalar(select(Action.description)),
        ]
    assert all(value is not None and unicodedata.is_normalized("NFC", value) for value in kept)


@given(st.text())
def test_printed_text_never_holds_an_invisible_control(value: str) -> None:
    shown = printable(value)
    assert not set(shown) & INVISIBLE
    assert unicodedata.is_normalized("NFC", shown)


@given(accented_names)
def test_a_clean_name_passes_unchanged_but_composed(name: str) -> None:
    assert check_name(f"  {_nfd(name)} ", "family_name", "family name") == (
        unicodedata.normalize("NFC", name)
    )


def test_an_import_row_with_a_disguised_name_is_refused_by_line(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path
) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(
        "nhs_number,family_name,given_name,date_of_birth,practice_code\n"
        f"{NHS_NUMBER},Smith,Jane,1945-07-14,A81001\n"
        "9990000026,Smith\u202e,Jane,1945-07-14,A81001\n"
        "9990000034,Sm\u200bith,Jane,1945-07-14,A81001\n"
        f"9990000042,{_nfd('Zoë')},{_nfd('Åsa')},1950-01-02,A81001\n",
        encoding="utf-8",
    )
    report = import_patients_file(store, path, actor_label="test import")
    reasons = {problem.line: problem.reason for problem in report.problems}
    assert set(reasons) == {3, 4}
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in reasons[3]
    assert "U+200B ZERO WIDTH SPACE" in reasons[4]
    with store.read() as session:
        names = set(session.execute(select(Patient.family_name, Patient.given_name)).all())
    assert names == {("Smith", "Jane"), ("Zoë", "Åsa")}


def test_the_command_line_refuses_a_disguised_staff_name(tmp_path: Path, capsys) -> None:
    store = str(tmp_path / "desk.sqlite")
    argv = ["staff", "add", "--family-name", "Oka\u2066for", "--given-name", "Ngozi"]
    status = main([*argv, "--profession", "social_worker", "--store", store], out=io.StringIO())
    error = capsys.readouterr().err
    assert status == 2
    assert "U+2066 LEFT-TO-RIGHT ISOLATE" in error
    assert "Retype the name" in error
