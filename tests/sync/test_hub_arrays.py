"""A push to a PostgreSQL hub with desk logins sends its changes, merged state and the
anchors to refresh as arrays in PostgreSQL's binary form (``hub_roles._with_arrays``):
whatever a record holds comes back from the hub exactly as sent."""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine

from mdt_desk.sync.hub_roles import _with_arrays
from tests.sync.support import pg_admin, pg_url

# Text PostgreSQL can hold: no NUL character, no lone surrogate.
HUB_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
BIGINTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    pg_admin().close()  # without a server: skipped (failed in CI), as every hub test
    made = create_engine(pg_url("test"))
    yield made
    made.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as opened:
        yield opened


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.none() | HUB_TEXT, max_size=30),
    numbers=st.lists(st.none() | BIGINTS, max_size=30),
)
def test_arrays_reach_the_hub_exactly_as_sent(
    connection: Connection, texts: list[str | None], numbers: list[int | None]
) -> None:
    # Quotes, braces, commas, backslashes and the word NULL are what the text form
    # must escape; the binary form carries each element as it is.
    row = _with_arrays(
        connection,
        "SELECT CAST(:texts AS text[]), CAST(:numbers AS bigint[]),"
        " cardinality(CAST(:texts AS text[]))",
        {"texts": texts, "numbers": numbers},
    ).one()
    assert list(row[0]) == texts
    assert list(row[1]) == numbers
    assert row[2] == len(texts)


def test_a_cast_in_the_statement_is_not_taken_for_a_parameter(connection: Connection) -> None:
    tricky = ['{"a", "b"}', "NULL", "null", 'back\\slash "quoted"', "", " "]
    row = _with_arrays(
        connection,
        "SELECT CAST(:listed AS text[]), '3'::bigint, array_length(CAST(:listed AS text[]), 1)",
        {"listed": tricky},
    ).one()
    assert list(row[0]) == tricky
    assert row[1] == 3
    assert row[2] == len(tricky)
