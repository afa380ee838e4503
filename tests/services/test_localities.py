"""Localities: named by the team, shown as "Locality <code>" until then, never a bare code."""

import uuid

import pytest

from mdt_desk.errors import ValidationError
from mdt_desk.models.store import Store
from mdt_desk.services.practices import list_practices, locality_names, name_locality
from tests.test_cli import run


def test_a_locality_is_named_renamed_and_unnamed(
    store: Store, practice_ids: dict[str, uuid.UUID]
) -> None:
    with store.write(actor_label="test") as session:
        named = name_locality(session, "00k", "  Hartlepool   North ")
    assert (named.code, named.name, named.title) == ("00K", "Hartlepool North", "Hartlepool North")
    with store.read() as session:
        assert locality_names(session) == {"00K": "Hartlepool North"}
        by_code = {p.ods_code: p.locality_name for p in list_practices(session)}
    assert by_code == {"A81001": "Hartlepool North", "A81002": "Hartlepool North", "A81004": ""}
    with store.write(actor_label="test") as session:
        name_locality(session, "00K", "Hartlepool")
    with store.read() as session:
        assert locality_names(session) == {"00K": "Hartlepool"}
    with store.write(actor_label="test") as session:
        unnamed = name_locality(session, "00K", "")
    assert unnamed.title == "Locality 00K"
    with store.read() as session:
        assert locality_names(session) == {}


def test_an_unknown_code_or_a_long_name_is_refused(
    store: Store, practice_ids: dict[str, uuid.UUID]
) -> None:
    with pytest.raises(ValidationError, match="No practice"), store.write(actor_label="t") as s:
        name_locality(s, "99Z", "Nowhere")
    with pytest.raises(ValidationError, match="at most 100"), store.write(actor_label="t") as s:
        name_locality(s, "00K", "x" * 101)
    with store.read() as session:
        assert locality_names(session) == {}


def test_naming_from_the_command_line(store: Store, practice_ids: dict[str, uuid.UUID]) -> None:
    path = str(store.path)
    store.close()
    status, output = run("practices", "name-locality", "00M", "Bluebell", "--store", path)
    assert status == 0 and "Bluebell" in output
    status, output = run("practices", "list", "--store", path)
    assert status == 0
    line = next(line for line in output.splitlines() if "A81004" in line)
    assert line.startswith("Bluebell")
