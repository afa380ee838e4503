"""The tamper-evident journal on a desk: every transaction sealed into its origin's hash
chain, and `mdt-desk check` catches a forger who rewrites the store with its key."""

import datetime as dt
import itertools
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mdt_desk.cli import main
from mdt_desk.models import store as store_module
from mdt_desk.models.seal import GENESIS, Seal, content_hash, make_seal
from mdt_desk.models.store import Store
from mdt_desk.services.check import check_store
from tests import store_sql
from tests.models.test_journal import register

_HEADER_FIELDS = ("origin", "tx_id", "actor_id", "actor_label", "recorded_at", "prev_hash")


def _seals(store: Store) -> list[Seal]:
    with store.read() as session:
        rows = session.execute(text("SELECT * FROM journal_seal ORDER BY origin, chain_seq")).all()
    return [Seal.from_row(row) for row in rows]


def _chain_result(store: Store) -> tuple[bool, str]:
    (chain,) = [item for item in check_store(store).checks if item.name == "journal chain"]
    return chain.passed, chain.detail


def _forge(store: Store, *statements: str, params: tuple = ()) -> None:
    """Rewrite the store as someone with its key would: lift the append-only guards,
    change what they like, put the guards back (the file then looks untouched)."""
    raw = store_sql.connect(store.path, isolation_level=None)
    try:
        guards = dict(
            raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND name IN ('journal_change_no_update', 'journal_tx_no_update')"
            ).fetchall()
        )
        raw.execute("BEGIN")
        for name in guards:
            raw.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            raw.execute(statement, params if "?" in statement else ())
        for sql in guards.values():
            raw.execute(sql)
        raw.execute("COMMIT")
    finally:
        raw.close()


def _cli_check(store: Store) -> tuple[int, str]:
    import io

    out = io.StringIO()
    code = main(["check", "--store", str(store.path)], out=out)
    return code, out.getvalue()


@pytest.fixture
def edited(store: Store, practice_ids: dict[str, uuid.UUID]) -> tuple[Store, uuid.UUID]:
    """A desk with three transactions of its own: two patients registered, one died."""
    first = register(store, practice_ids["A81001"])
    register(store, practice_ids["A81001"], nhs="9990000026")
    with store.write(actor_label="Dr Grey") as session:
        session.execute(
            text("UPDATE patient SET family_name = 'Smythe-Jones' WHERE id = :id"),
            {"id": first.id.hex},
        )
    return store, first.id


def test_each_transaction_that_changed_something_is_sealed_into_one_chain(edited) -> None:
    store, _ = edited
    with store.write(actor_label="nothing") as session:
        session.execute(text("SELECT 1"))  # changed nothing: no header, no seal
    seals = _seals(store)
    assert [seal.chain_seq for seal in seals] == list(range(1, len(seals) + 1))
    assert {seal.origin for seal in seals} == {store.replica_id.hex}
    assert seals[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.seal_hash for earlier, later in itertools.pairwise(seals))
    assert all(seal.intact for seal in seals)
    with store.read() as session:
        headers = session.execute(
            text("SELECT count(*) FROM journal_tx WHERE tx IN (SELECT tx FROM journal_change)")
        ).scalar_one()
    assert len(seals) == headers
    assert _chain_result(store)[0]


@pytest.mark.slow
def test_a_changed_journal_row_is_reported_by_check(edited) -> None:
    store, _ = edited
    # The first registration's family name, rewritten in the journal only: the value
    # stored now is a later one, so the journal still looks complete.
    _forge(
        store,
        "UPDATE journal_change SET new_value = '\"Forged\"' WHERE origin_seq ="
        " (SELECT min(origin_seq) FROM journal_change WHERE field = 'family_name')",
    )
    passed, detail = _chain_result(store)
    assert not passed
    assert "this desk, sequence" in detail and "a change differs from what was sealed" in detail
    code, out = _cli_check(store)
    assert code == 1 and "FAIL journal chain" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    "rewrite",
    [
        "UPDATE journal_tx SET actor_label = 'Dr Forger'",
        "UPDATE journal_tx SET recorded_at = '2024-01-01 09:00:00.000000'",
        "UPDATE journal_tx SET actor_id = '" + uuid.uuid4().hex + "'",
    ],
    ids=["author", "time", "actor"],
)
def test_a_rewritten_author_or_time_is_reported_by_check(edited, rewrite: str) -> None:
    store, _ = edited
    _forge(store, rewrite + " WHERE tx = (SELECT min(tx) FROM journal_tx)")
    passed, detail = _chain_result(store)
    assert not passed and "author, time or desk differs from what was sealed" in detail
    code, out = _cli_check(store)
    assert code == 1 and "this desk, sequence 1" in out


@pytest.mark.slow
def test_an_inserted_backdated_transaction_is_reported_by_check(edited) -> None:
    """The forger opens a transaction of their own, dated a year ago, and lets the
    store's triggers record a patient's death under it: the journal is complete (every
    value is journalled), but nothing sealed that transaction."""
    store, person = edited
    _forge(
        store,
        "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
        " recorded_at, schema_version) VALUES (?, ?, NULL, 'Dr Grey', 1,"
        " '2025-11-01 10:00:00.000000', 7)",
        params=(uuid.uuid4().hex, store.replica_id.hex),
    )
    _forge(
        store,
        "UPDATE journal_context SET tx = (SELECT max(tx) FROM journal_tx) WHERE id = 1",
        f"UPDATE patient SET date_of_death = '2025-11-01' WHERE id = '{person.hex}'",
        "UPDATE journal_context SET tx = NULL WHERE id = 1",
    )
    checks = {item.name: item for item in check_store(store).checks}
    assert checks["journal"].passed  # what check could not see before the chain
    assert not checks["journal chain"].passed
    assert "outside the chain" in checks["journal chain"].detail
    assert f"patient {person.hex} date_of_death" in checks["journal chain"].detail
    assert _cli_check(store)[0] == 1


@pytest.mark.slow
def test_a_forged_seal_slipped_into_the_chain_breaks_the_next_link(edited) -> None:
    """Sealing the forged transaction properly is not enough: the next transaction's
    seal names the one that was there before."""
    store, person = edited
    seals = _seals(store)
    middle = seals[1]
    forged = make_seal(
        origin=middle.origin,
        chain_seq=middle.chain_seq,
        tx_id=middle.tx_id,
        changes=[(middle.first_seq, "patient", person.hex, "family_name", "set", '"X"')],
        actor_id="",
        actor_label="Dr Forger",
        recorded_at="2025-11-01 10:00:00",
        hlc=middle.hlc,
        schema_version=middle.schema_version,
        prev_hash=middle.prev_hash,
    )
    raw = store_sql.connect(store.path, isolation_level=None)
    try:
        raw.execute("BEGIN")
        raw.execute("DROP TRIGGER journal_seal_no_update")
        raw.execute(
            "UPDATE journal_seal SET seal_hash = ?, content_hash = ?, actor_label = ?,"
            " recorded_at = ?, change_count = 1 WHERE tx_id = ?",
            (
                forged.seal_hash,
                forged.content_hash,
                forged.actor_label,
                forged.recorded_at,
                middle.tx_id,
            ),
        )
        raw.execute("COMMIT")
    finally:
        raw.close()
    passed, detail = _chain_result(store)
    assert not passed and "does not follow the transaction before it" in detail


def test_a_store_from_before_seals_is_sealed_when_it_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, practice_ids, store: Store
) -> None:
    """Migration 0007 seals the desk's own history; check passes on the result."""
    old_migrations = tmp_path / "migrations-0006"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[7-9]_*.py"):
        later.unlink()
    path = tmp_path / "old.sqlite"
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0006_access")
        old_version.setattr(store_module, "_known_revisions", lambda: {"0006_access"})
        with Store.open(path) as old:
            for n in range(3):
                with old.write(actor_label=f"edit {n}") as session:
                    session.execute(
                        text(
                            "INSERT INTO practice (id, ods_code, name, address, postcode, phone,"
                            " status, commissioner_code, created_at, updated_at) VALUES"
                            f" ('p{n}', 'A8100{n}', 'Surgery {n}', '', 'TS18 1HU', '', 'active',"
                            " '00K', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                        )
                    )
    with Store.open(path) as migrated:
        seals = _seals(migrated)
        assert [seal.actor_label for seal in seals][-3:] == ["edit 0", "edit 1", "edit 2"]
        assert _chain_result(migrated)[0]
        with migrated.write(actor_label="after") as session:
            session.execute(text("UPDATE practice SET name = 'Renamed' WHERE id = 'p1'"))
        after = _seals(migrated)
        assert after[-1].prev_hash == seals[-1].seal_hash
        assert check_store(migrated).passed


_texts = st.text(max_size=12)
_changes = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        _texts,
        _texts,
        _texts,
        st.sampled_from(["set", "append"]),
        st.one_of(st.none(), _texts),
    ),
    min_size=1,
    max_size=5,
)


@given(changes=_changes, actor=_texts, other=_texts)
def test_any_difference_in_header_or_content_changes_the_seal(changes, actor, other) -> None:
    """The rule behind every check: a seal is a function of every sealed field, and no
    two different inputs run together (JSON lines, not concatenation)."""
    base = dict(
        origin=uuid.UUID(int=1),
        chain_seq=1,
        tx_id=uuid.UUID(int=2),
        changes=changes,
        actor_id=None,
        actor_label=actor,
        recorded_at=dt.datetime(2026, 1, 1, 9, 0),
        hlc=5,
        schema_version=7,
        prev_hash=GENESIS,
    )
    seal = make_seal(**base)
    assert seal.intact
    if other != actor:
        assert make_seal(**{**base, "actor_label": other}).seal_hash != seal.seal_hash
    altered = [(*changes[0][:5], (changes[0][5] or "") + "x"), *changes[1:]]
    assert content_hash(altered)[0] != seal.content_hash
    assert make_seal(**{**base, "recorded_at": "2026-01-01T09:00:00.000000+00:00"}) == seal
    assert make_seal(**{**base, "hlc": 6}).seal_hash != seal.seal_hash
    for name in _HEADER_FIELDS:
        assert getattr(seal, name) is not None


_stored_texts = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=12
)
_stored_changes = st.lists(
    st.tuples(
        st.integers(1, 10**9),
        _stored_texts,
        _stored_texts,
        _stored_texts,
        st.sampled_from(["set", "append"]),
        st.one_of(st.none(), _stored_texts),
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.slow
@settings(deadline=None, max_examples=60)
@given(changes=_stored_changes)
def test_the_store_hashes_a_transaction_exactly_as_python_does(changes) -> None:
    """A large local transaction is hashed from text SQLite builds; the hub and every
    desk hash the same changes in Python. Any text (accents, emoji, separators, empty,
    missing values) gives one hash both ways. (No NUL: the journal's values are JSON,
    where a NUL is always escaped, and its names are identifiers.)"""
    import sqlcipher3.dbapi2 as sqlcipher
    from sqlalchemy import create_engine

    from mdt_desk.models.seal import journal_content

    rows = sorted({change[0]: change for change in changes}.values())
    engine = create_engine("sqlite://", module=sqlcipher)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE journal_change (origin_seq INTEGER PRIMARY KEY, tx INTEGER,"
            " entity TEXT, row_id TEXT, field TEXT, op TEXT, new_value TEXT)"
        )
        connection.execute(
            text("INSERT INTO journal_change VALUES (:seq, 1, :entity, :row_id, :field, :op, :v)"),
            [
                dict(zip(("seq", "entity", "row_id", "field", "op", "v"), row, strict=True))
                for row in rows
            ],
        )
        found = journal_content(connection, 1, 0, rows[-1][0])
    assert (found.digest, found.count) == content_hash(rows)
    assert (found.first_seq, found.last_seq) == (rows[0][0], rows[-1][0])
