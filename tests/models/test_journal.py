"""The change journal: complete, attributed, ordered, append-only and replayable."""

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from mdt_desk.errors import UserError
from mdt_desk.models import Action, Base, Case, Note, Patient, synced_tables
from mdt_desk.models.clock import COUNTER_BITS, next_hlc
from mdt_desk.models.enums import ActionStatus, ClosureReason, ReferralSource
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import has_key_file
from mdt_desk.services import cases, patients, plans
from mdt_desk.services import staff as staff_service
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.practices import import_ods_practices
from tests import store_sql
from tests.conftest import TEST_PRACTICES, TODAY, epraccur_row


def journal_rows(store: Store) -> list[dict]:
    with store.read() as session:
        return [
            dict(row._mapping)
            for row in session.execute(text("SELECT * FROM journal ORDER BY origin_seq"))
        ]


def register(store: Store, practice_id: uuid.UUID, nhs: str = "9990000018", actor=None):
    with store.write(actor) as session:
        return patients.register_patient(
            session,
            nhs_number=nhs,
            family_name="Smith-Jones",
            given_name="Zoë",
            title="Mrs",
            date_of_birth=dt.date(1945, 7, 14),
            practice_id=practice_id,
            address="1 High Street",
            postcode="ts18 1hu",
        )


def test_an_insert_journals_every_non_null_field_with_actor_clock_and_replica(
    store, practice_ids, team
) -> None:
    actor = team["social_worker"]
    before = len(journal_rows(store))
    record = register(store, practice_ids["A81001"], actor=actor)
    rows = [row for row in journal_rows(store)[before:]]
    assert {row["entity"] for row in rows} == {"patient"}
    assert {row["row_id"] for row in rows} == {record.id.hex}
    fields = {row["field"]: json.loads(row["new_value"]) for row in rows}
    assert fields["family_name"] == "Smith-Jones"
    assert fields["given_name"] == "Zoë"
    assert fields["date_of_birth"] == "1945-07-14"
    assert fields["postcode"] == "TS18 1HU"
    assert "date_of_death" not in fields  # null fields are not journalled on insert
    assert {row["actor_id"] for row in rows} == {actor.hex}
    assert {row["origin_site"] for row in rows} == {store.replica_id.hex}
    assert len({row["tx_id"] for row in rows}) == 1
    assert all(row["old_value"] is None for row in rows)


def test_an_update_journals_only_changed_fields_with_old_and_new_values(
    store, practice_ids, team
) -> None:
    record = register(store, practice_ids["A81001"])
    before = len(journal_rows(store))
    with store.write(team["gp"]) as session:
        session.get(Patient, record.id).phone = "01642 000000"
    rows = journal_rows(store)[before:]
    assert {row["field"] for row in rows} == {"phone", "updated_at"}
    phone = next(row for row in rows if row["field"] == "phone")
    assert (json.loads(phone["old_value"]), json.loads(phone["new_value"])) == ("", "01642 000000")
    assert phone["actor_id"] == team["gp"].hex


def test_core_bulk_update_cannot_bypass_the_journal(store, practice_ids) -> None:
    register(store, practice_ids["A81001"], "9990000018")
    register(store, practice_ids["A81001"], "9990000026")
    before = len(journal_rows(store))
    with store.write(actor_label="bulk") as session:
        session.execute(update(Patient).values(title="Dr"))
    rows = [row for row in journal_rows(store)[before:] if row["field"] == "title"]
    assert len(rows) == 2 and {json.loads(row["new_value"]) for row in rows} == {"Dr"}


def test_deletes_are_refused_records_are_retired(store, practice_ids) -> None:
    record = register(store, practice_ids["A81001"])
    with pytest.raises(IntegrityError, match="retire it instead"), store.write() as session:
        session.execute(delete(Patient))
    with store.read() as session:
        assert session.get(Patient, record.id) is not None


def test_a_write_outside_a_journalled_transaction_is_refused(store, practice_ids) -> None:
    register(store, practice_ids["A81001"])
    raw = store_sql.connect(store.path)
    with pytest.raises(store_sql.errors.IntegrityError, match="outside a journalled transaction"):
        raw.execute("UPDATE patient SET title = 'Lord'")
    raw.close()


def test_notes_are_append_only(store, practice_ids, team) -> None:
    record = register(store, practice_ids["A81001"])
    with store.write(team["social_worker"]) as session:
        case = cases.refer(
            session,
            record.id,
            source=ReferralSource.GP,
            reason="Falls",
            today=TODAY,
            referred_on=TODAY,
        )
        note = plans.add_note(session, case.id, "Visited at home.")
    with pytest.raises(IntegrityError, match="cannot be edited"), store.write() as session:
        session.get(Note, note.id).body = "Rewritten history"
    with store.write(team["social_worker"]) as session:
        correction = plans.add_note(
            session, case.id, "Visited at home with daughter.", amends_note_id=note.id
        )
        timeline = plans.list_notes(session, case.id)
    assert [n.body for n in timeline] == ["Visited at home.", "Visited at home with daughter."]
    assert timeline[1].amends_note_id == note.id and correction.author_id == team["social_worker"]


def test_a_rolled_back_transaction_leaves_no_journal_and_no_gap(store, practice_ids) -> None:
    register(store, practice_ids["A81001"], "9990000018")
    before = journal_rows(store)
    with pytest.raises(RuntimeError), store.write() as session:
        session.add(
            Patient(
                nhs_number="9990000026",
                family_name="A",
                given_name="B",
                date_of_birth=dt.date(1950, 1, 1),
                practice_id=practice_ids["A81001"],
            )
        )
        session.flush()
        raise RuntimeError("power cut")
    assert journal_rows(store) == before
    register(store, practice_ids["A81001"], "9990000034")
    seqs = [row["origin_seq"] for row in journal_rows(store)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_journal_itself_cannot_be_rewritten(store, practice_ids) -> None:
    register(store, practice_ids["A81001"])
    raw = store_sql.connect(store.path)
    for statement in (
        "UPDATE journal_change SET new_value = '\"x\"'",
        "DELETE FROM journal_change",
        "UPDATE journal_tx SET actor_label = 'someone else'",
    ):
        with pytest.raises(store_sql.errors.IntegrityError, match="append-only"):
            raw.execute(statement)
    raw.close()


def test_hlc_is_monotonic_even_when_the_wall_clock_goes_back(tmp_path: Path) -> None:
    times = iter([1_000_000, 1_000_000, 999_000, 2_000_000])
    with Store.open(tmp_path / "c.sqlite", clock=lambda: next(times)) as store:
        clocks = []
        for index in range(4):
            with store.write(actor_label="clock test") as session:
                session.execute(
                    text("INSERT INTO store_meta (key, value) VALUES (:k, 'x')"), {"k": f"k{index}"}
                )
                clocks.append(session.execute(text("SELECT max(hlc) FROM journal_tx")).scalar_one())
    assert clocks == sorted(clocks) and len(set(clocks)) == 4
    assert clocks[2] >> COUNTER_BITS == 1_000_000  # the clock went back; the HLC did not


@given(last=st.integers(0, 2**62), wall=st.integers(0, 2**46))
def test_next_hlc_is_strictly_increasing_and_never_behind_the_wall(last: int, wall: int) -> None:
    new = next_hlc(last, wall)
    assert new > last
    assert new >> COUNTER_BITS >= wall


# --- replay -----------------------------------------------------------------


def replay_journal_into(source: Path, target: Path) -> None:
    """Rebuild every synced table from the journal alone into an empty schema (a plain
    SQLite file: only the store is encrypted)."""
    engine = create_engine(f"sqlite:///{target}")
    Base.metadata.create_all(engine, tables=synced_tables())
    engine.dispose()
    state: dict[tuple[str, str], dict[str, object]] = {}
    raw = store_sql.connect(source)
    for entity, row_id, field, new_value in raw.execute(
        "SELECT entity, row_id, field, new_value FROM journal_change ORDER BY origin_seq"
    ):
        state.setdefault((entity, row_id), {"id": row_id})[field] = json.loads(new_value)
    raw.close()
    out = sqlite3.connect(target)
    out.execute("PRAGMA foreign_keys=OFF")
    for table in (t.name for t in synced_tables()):
        for (entity, _row), values in sorted(state.items()):
            if entity != table:
                continue
            columns = ", ".join(f'"{c}"' for c in values)
            marks = ", ".join("?" for _ in values)
            out.execute(
                f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(values.values())
            )
    out.commit()
    out.close()


def table_dump(path: Path) -> dict[str, list[tuple]]:
    """Every synced table's rows, from a store or from a plain replayed copy."""
    raw = store_sql.connect(path) if has_key_file(path) else sqlite3.connect(path)
    dump = {}
    for synced in synced_tables():
        table = synced.name
        columns = ", ".join(f'"{c.name}"' for c in synced.columns)
        dump[table] = raw.execute(f'SELECT {columns} FROM "{table}" ORDER BY id').fetchall()
    raw.close()
    return dump


operation = st.sampled_from(
    [
        "register",
        "refer",
        "accept",
        "change",
        "review",
        "close",
        "reopen",
        "action",
        "done",
        "note",
        "goal",
        "phone",
    ]
)


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(operation, st.integers(0, 5), st.integers(0, 2)), min_size=1, max_size=40
    )
)
def test_replaying_the_journal_rebuilds_the_same_state(tmp_path_factory, steps) -> None:
    """Random sequences of service calls (valid or refused), then replay == store."""

    folder = tmp_path_factory.mktemp("replay")
    (folder / "p.csv").write_text("\n".join(epraccur_row(*p) for p in TEST_PRACTICES))
    numbers = ["9990000018", "9990000026", "9990000034", "9990000042", "9990000050", "9990000069"]
    with Store.open(folder / "desk.sqlite") as store:
        with store.write(actor_label="set-up") as session:
            import_ods_practices(session, folder / "p.csv")
            staff_ids = [
                staff_service.add_staff(
                    session, family_name=f"Staff{i}", given_name="Sam", profession="district_nurse"
                ).id
                for i in range(3)
            ]
        for name, index, who in steps:
            try:
                with store.write(staff_ids[who]) as session:
                    patient_ids = session.scalars(
                        select(Patient.id).order_by(Patient.nhs_number)
                    ).all()

                    case_ids = session.scalars(
                        select(Case.id).order_by(Case.created_at, Case.id)
                    ).all()
                    action_ids = session.scalars(select(Action.id).order_by(Action.id)).all()
                    if name == "register":
                        patients.register_patient(
                            session,
                            nhs_number=numbers[index],
                            family_name=f"Family{index}",
                            given_name="Given",
                            date_of_birth=dt.date(1940, 1, 1 + index),
                            practice_id=practice_id_for("A81001"),
                            today=TODAY,
                        )
                    elif name == "refer" and patient_ids:
                        cases.refer(
                            session,
                            patient_ids[index % len(patient_ids)],
                            source=ReferralSource.GP,
                            reason="Frailty",
                            referred_on=TODAY,
                            today=TODAY,
                        )
                    elif name == "accept" and case_ids:
                        cases.accept(
                            session,
                            case_ids[index % len(case_ids)],
                            coordinator_id=staff_ids[who],
                            on=TODAY,
                        )
                    elif name == "change" and case_ids:
                        cases.change_coordinator(
                            session,
                            case_ids[index % len(case_ids)],
                            coordinator_id=staff_ids[who],
                            reason="Leave",
                            on=TODAY,
                        )
                    elif name == "review" and case_ids:
                        cases.start_review(session, case_ids[index % len(case_ids)])
                    elif name == "close" and case_ids:
                        cases.close(
                            session,
                            case_ids[index % len(case_ids)],
                            reason=ClosureReason.GOALS_MET,
                            on=TODAY,
                        )
                    elif name == "reopen" and case_ids:
                        cases.reopen(
                            session,
                            case_ids[index % len(case_ids)],
                            coordinator_id=staff_ids[who],
                            reason="Closed in error",
                            on=TODAY,
                        )
                    elif name == "action" and case_ids:
                        plans.add_action(
                            session,
                            case_ids[index % len(case_ids)],
                            description="Order a commode",
                            owner_id=staff_ids[who],
                            due_on=TODAY + dt.timedelta(days=index),
                            today=TODAY,
                        )
                    elif name == "done" and action_ids:
                        plans.update_action(
                            session,
                            action_ids[index % len(action_ids)],
                            status=ActionStatus.DONE,
                            today=TODAY,
                        )
                    elif name == "note" and case_ids:
                        plans.add_note(session, case_ids[index % len(case_ids)], f"Note {index}")
                    elif name == "goal" and case_ids:
                        plans.add_goal(
                            session,
                            case_ids[index % len(case_ids)],
                            description="I want to walk to the shop",
                        )
                    elif name == "phone" and patient_ids:
                        patient = session.get(Patient, patient_ids[index % len(patient_ids)])
                        assert patient is not None
                        patient.phone = f"0164200000{index}"
            except UserError:
                pass  # a refused step must leave nothing behind; replay proves it
        source = store.path
    target = folder / "replayed.sqlite"
    replay_journal_into(source, target)
    assert table_dump(target) == table_dump(source)
