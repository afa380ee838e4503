"""Migration 0009: a seal leaves the journal's seals only by being withdrawn on record
(a team hub restored from an older backup lost it); nothing else can delete one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from mdt_desk.models.seal import withdraw_seals
from mdt_desk.models.store import Store


def _seal_count(store: Store, origin: str) -> int:
    with store.read() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM journal_seal WHERE origin = :o"), {"o": origin}
            ).scalar_one()
        )


def test_a_seal_cannot_be_deleted_but_can_be_withdrawn_on_record(tmp_path: Path) -> None:
    with Store.open(tmp_path / "desk.sqlite") as store:
        origin = uuid.uuid4().hex
        with store.write_session() as session:
            for number in (1, 2, 3):
                session.execute(
                    text(
                        "INSERT INTO journal_seal (origin, chain_seq, tx_id, first_seq, last_seq,"
                        " change_count, actor_id, actor_label, recorded_at, hlc, schema_version,"
                        " content_hash, prev_hash, seal_hash) VALUES (:o, :n, :t, :n, :n, 1, '',"
                        " 'Team hub', '2026-12-06 10:00:00', 1, 9, 'c', 'p', :h)"
                    ),
                    {"o": origin, "n": number, "t": uuid.uuid4().hex, "h": f"seal{number}"},
                )
        with pytest.raises(DatabaseError, match="append-only"), store.write_session() as session:
            session.execute(text("DELETE FROM journal_seal WHERE origin = :o"), {"o": origin})
        assert _seal_count(store, origin) == 3
        with store.write_session() as session:
            withdrawn = withdraw_seals(
                session, origin, after=1, at="2026-12-06T10:00:00", reason="the hub went back"
            )
        assert withdrawn == 2 and _seal_count(store, origin) == 1
        with store.read() as session:
            kept = session.execute(
                text("SELECT chain_seq, reason FROM journal_seal_withdrawn ORDER BY chain_seq")
            ).all()
        assert [tuple(row) for row in kept] == [(2, "the hub went back"), (3, "the hub went back")]
        # The record of what was withdrawn is append-only too.
        for statement in (
            "DELETE FROM journal_seal_withdrawn",
            "UPDATE journal_seal_withdrawn SET reason = 'nothing'",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                store.write_session() as session,
            ):
                session.execute(text(statement))
