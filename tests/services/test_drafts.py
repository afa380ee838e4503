"""Drafts: typed text kept per author, outside the record and its journal."""

import string
import uuid
from contextlib import closing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdt_desk.models.store import Store
from mdt_desk.services import drafts
from tests import store_sql

ALICE = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")
CASE = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
OTHER_CASE = uuid.UUID("00000000-0000-4000-8000-0000000000c2")


def load(store: Store, key: str, *, staff_id: uuid.UUID) -> drafts.DraftText | None:
    with store.read() as session:
        return drafts.load_draft(session, key, staff_id=staff_id)


def listed_for(store: Store, case_id: uuid.UUID, *, staff_id: uuid.UUID) -> list[drafts.DraftText]:
    with store.read() as session:
        return drafts.case_drafts(session, case_id, staff_id=staff_id)


def journal_size(store: Store) -> tuple[int, int]:
    with closing(store_sql.connect(store.path)) as db, db:
        return (
            db.execute("SELECT count(*) FROM journal_tx").fetchone()[0],
            db.execute("SELECT count(*) FROM journal_change").fetchone()[0],
        )


def test_a_draft_is_kept_loaded_and_discarded(store: Store) -> None:
    key = drafts.draft_key(drafts.NOTE, CASE)
    drafts.save_draft(store, key, "Daughter to ring", staff_id=ALICE, case_id=CASE)
    drafts.save_draft(store, key, "Daughter to ring on Monday", staff_id=ALICE, case_id=CASE)
    found = load(store, key, staff_id=ALICE)
    assert found is not None
    assert found.body == "Daughter to ring on Monday"
    assert found.key == key
    assert found.case_id == CASE
    assert found.updated_at.tzinfo is not None
    drafts.discard_draft(store, key, staff_id=ALICE)
    assert load(store, key, staff_id=ALICE) is None


def test_an_empty_or_blank_body_discards_the_draft(store: Store) -> None:
    key = drafts.draft_key(drafts.GOAL, CASE)
    drafts.save_draft(store, key, "To walk to the shop", staff_id=ALICE, case_id=CASE)
    drafts.save_draft(store, key, "  \n\t", staff_id=ALICE, case_id=CASE)
    assert load(store, key, staff_id=ALICE) is None
    assert listed_for(store, CASE, staff_id=ALICE) == []


def test_drafts_are_never_journalled(store: Store) -> None:
    """Drafts are not the record: no journal transaction, nothing for sync to push."""
    before = journal_size(store)
    key = drafts.draft_key(drafts.COORDINATOR_REASON, CASE)
    drafts.save_draft(store, key, "Nurse-led plan", staff_id=ALICE, case_id=CASE)
    drafts.save_draft(store, key, "Nurse-led plan after discharge", staff_id=ALICE, case_id=CASE)
    drafts.discard_draft(store, key, staff_id=ALICE)
    assert journal_size(store) == before


def test_each_author_sees_only_their_own_drafts_and_both_are_kept(store: Store) -> None:
    key = drafts.draft_key(drafts.NOTE, CASE)
    drafts.save_draft(store, key, "Alice's half-written note", staff_id=ALICE, case_id=CASE)
    assert load(store, key, staff_id=BOB) is None
    assert listed_for(store, CASE, staff_id=BOB) == []
    drafts.save_draft(store, key, "Bob's note", staff_id=BOB, case_id=CASE)
    alice = load(store, key, staff_id=ALICE)
    bob = load(store, key, staff_id=BOB)
    assert alice is not None and alice.body == "Alice's half-written note"
    assert bob is not None and bob.body == "Bob's note"
    drafts.discard_draft(store, key, staff_id=BOB)
    alice = load(store, key, staff_id=ALICE)
    assert alice is not None and alice.body == "Alice's half-written note"


def test_case_drafts_lists_one_case_for_one_author(store: Store) -> None:
    for kind in (drafts.NOTE, drafts.GOAL, drafts.ACTION):
        drafts.save_draft(
            store, drafts.draft_key(kind, CASE), f"{kind} text", staff_id=ALICE, case_id=CASE
        )
    drafts.save_draft(
        store, drafts.draft_key(drafts.NOTE, OTHER_CASE), "x", staff_id=ALICE, case_id=OTHER_CASE
    )
    drafts.save_draft(store, drafts.draft_key(drafts.NOTE, CASE), "y", staff_id=BOB, case_id=CASE)
    listed = listed_for(store, CASE, staff_id=ALICE)
    assert sorted(draft.key for draft in listed) == sorted(
        drafts.draft_key(kind, CASE) for kind in (drafts.NOTE, drafts.GOAL, drafts.ACTION)
    )


def test_drafts_survive_reopening_the_store(store: Store) -> None:
    key = drafts.draft_key(drafts.CLOSURE_NOTE, CASE)
    drafts.save_draft(store, key, "Moved to Leeds", staff_id=ALICE, case_id=CASE)
    store.close()
    with Store.open(store.path) as reopened:
        found = load(reopened, key, staff_id=ALICE)
    assert found is not None and found.body == "Moved to Leeds"


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.text(min_size=1, max_size=400).filter(lambda text: text.strip() != ""),
    subject=st.text(alphabet=string.ascii_letters + string.digits + ":-", min_size=1, max_size=60),
)
def test_any_typed_text_comes_back_exactly(store: Store, body: str, subject: str) -> None:
    key = f"note:{subject}"
    drafts.save_draft(store, key, body, staff_id=ALICE, case_id=None)
    found = load(store, key, staff_id=ALICE)
    assert found is not None and found.body == body


def test_parts_are_kept_with_the_text_and_older_drafts_still_load(store: Store) -> None:
    key = drafts.draft_key(drafts.ACTION, CASE)
    parts = {"sensitive": "1", "owner": str(BOB), "due": "14-Dec-2026"}
    drafts.save_draft(store, key, "Police welfare check", staff_id=ALICE, case_id=CASE, parts=parts)
    found = load(store, key, staff_id=ALICE)
    assert found is not None
    assert (found.body, dict(found.parts)) == ("Police welfare check", parts)
    assert [d.body for d in listed_for(store, CASE, staff_id=ALICE)] == ["Police welfare check"]

    # a draft kept as plain text (as before parts existed, even if it looks like JSON)
    old = '{"text": "x", "parts": {"sensitive": "1"}}'
    drafts.save_draft(store, key, old, staff_id=ALICE, case_id=CASE)
    found = load(store, key, staff_id=ALICE)
    assert found is not None and (found.body, dict(found.parts)) == (old, {})
    with closing(store_sql.connect(store.path)) as db, db:
        assert db.execute("SELECT body FROM draft").fetchall() == [(old,)]
