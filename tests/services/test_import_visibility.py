"""A streamed patient import is invisible to readers and to sync until it is complete (H79).

Its rows are written in short transactions (H70); these tests look at the store from a
second connection between those transactions, push to a hub there, and make imports
fail part way.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from mdt_desk.errors import UserError, ValidationError
from mdt_desk.models import Patient, Practice
from mdt_desk.models.imports import ABANDONED_AFTER, discard_abandoned_imports, discard_import
from mdt_desk.models.store import Store
from mdt_desk.services.caseload import find_patients
from mdt_desk.services.check import check_store
from mdt_desk.services.patient_import import (
    ANOTHER_IMPORT_RUNNING,
    import_patients_file,
    unfinished_imports,
)
from mdt_desk.services.patients import IN_RUNNING_IMPORT, find_by_nhs_number, register_patient
from mdt_desk.services.progress import WRITING
from mdt_desk.sync.client import edits_waiting, sync_once
from mdt_desk.sync.hub import hub_engine, init_hub
from tests import store_sql
from tests.services.test_patient_import import HEADER, NHS, write_csv

PEOPLE = 30


class _StopImportError(Exception):
    """A failure part way through writing (a full disk, the import cancelled)."""


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three rows per transaction: a 30-row list is written in ten."""
    from mdt_desk.services import patient_import

    monkeypatch.setattr(patient_import, "_FIRST_PUBLISH_ROWS", 3)
    monkeypatch.setattr(patient_import, "_MIN_PUBLISH_ROWS", 3)
    monkeypatch.setattr(patient_import, "_MAX_PUBLISH_ROWS", 3)
    monkeypatch.setattr(patient_import, "_PAUSE_SECONDS", 0.0)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Engine]:
    engine = hub_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    init_hub(engine)
    yield engine
    engine.dispose()


def people_file(tmp_path: Path, name: str = "list.csv", first: int = 0) -> Path:
    lines = [HEADER] + [
        f"{NHS[first + index]},Importee{index},Given,1945-07-14,A81001,,{index} Road,TS18 1HU,"
        for index in range(PEOPLE if first == 0 else 5)
    ]
    return write_csv(tmp_path / name, lines)


def visible_patients(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(Patient)) or 0


def raw_count(store: Store, sql: str) -> int:
    """Counted on a plain ``sqlite3`` connection: what is in the file, hidden or not."""
    raw = store_sql.connect(store.path)
    try:
        return int(raw.execute(sql).fetchone()[0])
    finally:
        raw.close()


def hub_rows(hub: Engine, entity: str) -> set[str]:
    with hub.connect() as connection:
        return {
            str(row_id)
            for (row_id,) in connection.execute(
                text("SELECT DISTINCT row_id FROM hub_change WHERE entity = :e"), {"e": entity}
            )
        }


def hub_values(hub: Engine, entity: str, field: str) -> list[str]:
    with hub.connect() as connection:
        return [
            str(value)
            for (value,) in connection.execute(
                text(
                    "SELECT value FROM hub_change WHERE entity = :e AND field = :f"
                    " ORDER BY server_seq"
                ),
                {"e": entity, "f": field},
            )
        ]


def colleague_edit(store: Store, practice_id: uuid.UUID, phone: str) -> None:
    with store.write(actor_label="colleague") as session:
        practice = session.get(Practice, practice_id)
        assert practice is not None
        practice.phone = phone


def at_mid_file(action: Any) -> Any:
    """A progress callback that runs ``action`` once, when about half is written."""
    done_once: list[bool] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == WRITING and total and done >= total // 2 and done < total and not done_once:
            done_once.append(True)
            action()

    return progress


def test_an_import_in_progress_is_seen_by_no_reader_and_sent_by_no_sync(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
    hub: Engine,
) -> None:
    path = people_file(tmp_path)
    sync_once(store, hub, label="desk")  # the practices: nothing waiting from before
    seen: dict[str, Any] = {}

    def look_from_a_second_connection() -> None:
        with Store.open(store.path) as second:
            seen["patients"] = visible_patients(second)
            with second.read() as session:
                seen["quick find"] = find_patients(session, "Importee")
                seen["by NHS number"] = find_by_nhs_number(session, NHS[0])
            # A colleague's edit made now waits behind the import.
            colleague_edit(second, practice_ids["A81001"], "01642 111111")
            seen["waiting"] = edits_waiting(second)
            sync_once(second, hub, label="second window")
        seen["written"] = raw_count(store, "SELECT count(*) FROM patient")

    import_patients_file(
        store, path, actor_label="test import", progress=at_mid_file(look_from_a_second_connection)
    )

    assert seen["written"] >= PEOPLE // 2  # half the list was in the file...
    assert seen["patients"] == 0  # ...and nobody could see any of it
    assert seen["quick find"] == [] and seen["by NHS number"] is None
    assert seen["waiting"] == 1  # the colleague's edit, held back; not the import's rows
    assert hub_rows(hub, "patient") == set()  # the push sent none of them
    assert '"01642 111111"' not in hub_values(hub, "practice", "phone")  # nor what followed

    assert visible_patients(store) == PEOPLE
    with store.read() as session:
        assert len(find_patients(session, "Importee")) == PEOPLE
    report = sync_once(store, hub, label="desk")
    with store.read() as session:
        imported = {patient_id.hex for patient_id in session.scalars(select(Patient.id))}
    assert hub_rows(hub, "patient") == imported  # all of them, once published
    assert report.pushed > PEOPLE * 10  # every field of every person, journalled as before
    assert hub_values(hub, "practice", "phone")[-1] == '"01642 111111"'
    assert raw_count(store, "SELECT count(*) FROM patient_import_row") == 0
    assert unfinished_imports(store) == []
    assert check_store(store).passed


def test_an_import_that_fails_part_way_leaves_nothing_visible_and_no_staging_rows(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
    hub: Engine,
) -> None:
    path = people_file(tmp_path)
    journal_tx = raw_count(store, "SELECT count(*) FROM journal_tx")
    written: list[int] = []

    def fail_after_a_colleague_edit() -> None:
        written.append(raw_count(store, "SELECT count(*) FROM patient"))
        colleague_edit(store, practice_ids["A81001"], "01642 222222")
        raise _StopImportError

    with pytest.raises(_StopImportError):
        import_patients_file(
            store,
            path,
            actor_label="test import",
            progress=at_mid_file(fail_after_a_colleague_edit),
        )

    assert written[0] >= PEOPLE // 2
    assert visible_patients(store) == 0
    assert raw_count(store, "SELECT count(*) FROM patient") == 0
    assert raw_count(store, "SELECT count(*) FROM patient_import_row") == 0
    assert raw_count(store, "SELECT count(*) FROM journal_change WHERE entity = 'patient'") == 0
    # Only the colleague's transaction is left of everything written since.
    assert raw_count(store, "SELECT count(*) FROM journal_tx") == journal_tx + 1
    report = check_store(store)
    assert report.passed, report.checks  # the numbers its journal rows had are a known gap
    journal = next(check for check in report.checks if check.name == "journal")
    assert "numbers of discarded imports unused" in journal.detail
    (stopped,) = unfinished_imports(store)
    assert stopped.file == str(path) and stopped.rows == PEOPLE
    assert "none of it was kept" in stopped.message()

    sync_once(store, hub, label="desk")
    assert hub_rows(hub, "patient") == set()
    assert hub_values(hub, "practice", "phone")[-1] == '"01642 222222"'  # sync goes on

    assert import_patients_file(store, path, actor_label="test import").imported == PEOPLE
    assert unfinished_imports(store) == []  # done now: no longer reported


def test_two_unfinished_imports_are_both_reported(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
) -> None:
    def fail() -> None:
        raise _StopImportError

    first, second = people_file(tmp_path, "first.csv"), people_file(tmp_path, "second.csv")
    for path in (first, second):
        with pytest.raises(_StopImportError):
            import_patients_file(store, path, actor_label="test", progress=at_mid_file(fail))

    assert [stopped.file for stopped in unfinished_imports(store)] == [str(first), str(second)]

    import_patients_file(store, second, actor_label="test")

    assert [stopped.file for stopped in unfinished_imports(store)] == [str(first)]


def test_a_crashed_import_stays_hidden_and_is_discarded_before_the_next_sync(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
    hub: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mdt_desk.services import patient_import

    def crash() -> None:
        raise _StopImportError

    # A crash: the process is gone before it can clean up after itself.
    monkeypatch.setattr(patient_import, "_discard_after_failure", lambda *args: None)
    path = people_file(tmp_path)
    with pytest.raises(_StopImportError):
        import_patients_file(store, path, actor_label="test", progress=at_mid_file(crash))
    monkeypatch.undo()
    hidden = raw_count(store, "SELECT count(*) FROM patient_import_row")

    colleague_edit(store, practice_ids["A81001"], "01642 333333")
    assert hidden >= PEOPLE // 2 and visible_patients(store) == 0
    assert unfinished_imports(store) == []  # for all we know it is still running...
    sync_once(store, hub, label="desk")
    assert hub_rows(hub, "patient") == set()
    assert '"01642 333333"' not in hub_values(hub, "practice", "phone")  # ...so sync waits

    silent = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)).replace(tzinfo=None)
    raw = store_sql.connect(store.path)
    with raw:
        raw.execute("UPDATE patient_import SET heartbeat_at = ?", (silent.isoformat(sep=" "),))
    raw.close()
    (stopped,) = unfinished_imports(store)  # silent for minutes: it has died
    assert stopped.file == str(path)

    sync_once(store, hub, label="desk")

    assert raw_count(store, "SELECT count(*) FROM patient") == 0
    assert hub_rows(hub, "patient") == set()
    assert hub_values(hub, "practice", "phone")[-1] == '"01642 333333"'
    assert check_store(store).passed


def test_check_still_finds_a_lost_change_beside_a_discarded_import(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
) -> None:
    def fail_after_a_colleague_edit() -> None:
        colleague_edit(store, practice_ids["A81001"], "01642 444444")
        raise _StopImportError

    with pytest.raises(_StopImportError):
        import_patients_file(
            store,
            people_file(tmp_path),
            actor_label="test",
            progress=at_mid_file(fail_after_a_colleague_edit),
        )
    colleague_edit(store, practice_ids["A81001"], "01642 555555")
    assert check_store(store).passed
    raw = store_sql.connect(store.path)
    with raw:  # a change lost before the import's rows: not one of its numbers
        sql = raw.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'journal_change_no_delete'"
        ).fetchone()[0]
        raw.execute("DROP TRIGGER journal_change_no_delete")
        raw.execute("DELETE FROM journal_change WHERE origin_seq = 2")
        raw.execute(sql)
    raw.close()

    journal = next(check for check in check_store(store).checks if check.name == "journal")

    assert not journal.passed and "the journal sequence has gaps" in journal.detail


# --- overlapping import work (H99) ------------------------------------------------------


class _DiscardPausedError(Exception):
    """A discard stopped after its first transaction (a laptop put to sleep)."""


def pause_discard_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discards delete two patients per transaction; the first discard to pause between
    transactions stops there, as if its program had been put to sleep."""
    from mdt_desk.models import imports

    paused: list[bool] = []

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            if not paused:
                paused.append(True)
                raise _DiscardPausedError

    monkeypatch.setattr(imports, "_DISCARD_ROWS", 2)
    monkeypatch.setattr(imports, "time", _Time)


def import_id_of(store: Store) -> str:
    raw = store_sql.connect(store.path)
    try:
        return str(raw.execute("SELECT id FROM patient_import").fetchone()[0])
    finally:
        raw.close()


def test_an_import_discarded_while_it_writes_its_last_rows_publishes_nothing(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pause_discard_once(monkeypatch)
    path = people_file(tmp_path)
    during: dict[str, int] = {}

    def before_the_last_transaction(phase: str, done: int, total: int) -> None:
        # The window's sync took the import for a crashed one and started discarding it.
        if phase == WRITING and done == total - 3:
            with Store.open(store.path) as window, pytest.raises(_DiscardPausedError):
                discard_import(window, import_id_of(store))
            during["left"] = raw_count(store, "SELECT count(*) FROM patient")

    with pytest.raises(UserError, match="was stopped part way and none of it was kept"):
        import_patients_file(store, path, actor_label="cli", progress=before_the_last_transaction)

    assert during["left"] == PEOPLE - 3 - 2  # the discard had deleted some of them...
    assert visible_patients(store) == 0  # ...and the rest were not shown as "imported"
    assert raw_count(store, "SELECT count(*) FROM patient") == 0
    assert raw_count(store, "SELECT count(*) FROM patient_import_row") == 0
    (stopped,) = unfinished_imports(store)
    assert "none of it was kept" in stopped.message()
    assert check_store(store).passed


def test_a_second_import_is_refused_while_one_is_running(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, small_batches: None
) -> None:
    path = people_file(tmp_path)
    refused: list[str] = []

    def same_file_from_another_window() -> None:
        with Store.open(store.path) as second, pytest.raises(UserError) as error:
            import_patients_file(second, path, actor_label="second window")
        refused.append(str(error.value))

    report = import_patients_file(
        store, path, actor_label="cli", progress=at_mid_file(same_file_from_another_window)
    )

    assert refused == [ANOTHER_IMPORT_RUNNING]
    assert report.imported == PEOPLE
    assert raw_count(store, "SELECT count(*) FROM patient") == PEOPLE  # nobody twice
    assert raw_count(store, "SELECT count(DISTINCT nhs_number) FROM patient") == PEOPLE
    assert import_patients_file(store, path, actor_label="again").imported == 0  # finished: allowed


def test_registering_a_person_an_import_is_still_writing_is_refused(
    store: Store, practice_ids: dict[str, uuid.UUID], tmp_path: Path, small_batches: None
) -> None:
    refused: list[ValidationError] = []

    def register_the_first_person_by_hand() -> None:
        with (
            Store.open(store.path) as window,
            pytest.raises(ValidationError) as error,
            window.write(actor_label="receptionist") as session,
        ):
            register_patient(
                session,
                nhs_number=NHS[0],
                family_name="Importee0",
                given_name="Given",
                date_of_birth=dt.date(1945, 7, 14),
                practice_id=practice_ids["A81001"],
            )
        refused.append(error.value)

    import_patients_file(
        store,
        people_file(tmp_path),
        actor_label="cli",
        progress=at_mid_file(register_the_first_person_by_hand),
    )

    (error,) = refused
    assert error.field_errors["nhs_number"] == IN_RUNNING_IMPORT
    assert "still running; try again in a minute" in str(error)
    nhs = NHS[0]
    assert raw_count(store, f"SELECT count(*) FROM patient WHERE nhs_number = '{nhs}'") == 1
    assert visible_patients(store) == PEOPLE


def test_an_import_half_discarded_stays_hidden_when_another_is_published(
    store: Store,
    practice_ids: dict[str, uuid.UUID],
    tmp_path: Path,
    small_batches: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mdt_desk.services import patient_import

    def crash() -> None:
        raise _StopImportError

    with monkeypatch.context() as patch:  # a crash: no clean-up by the import itself
        patch.setattr(patient_import, "_discard_after_failure", lambda *args: None)
        with pytest.raises(_StopImportError):
            import_patients_file(
                store, people_file(tmp_path), actor_label="t", progress=at_mid_file(crash)
            )
    crashed = import_id_of(store)
    pause_discard_once(monkeypatch)
    silent = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)).replace(tzinfo=None)
    raw = store_sql.connect(store.path)
    with raw:
        raw.execute("UPDATE patient_import SET heartbeat_at = ?", (silent.isoformat(sep=" "),))
    raw.close()
    with pytest.raises(_DiscardPausedError):  # its discard stops after one transaction
        discard_import(store, crashed)
    left = raw_count(store, "SELECT count(*) FROM patient_import_row")
    assert left > 0

    others = people_file(tmp_path, "others.csv", first=PEOPLE)
    assert import_patients_file(store, others, actor_label="t").imported == 5

    assert visible_patients(store) == 5  # none of the half-discarded import shown
    assert raw_count(store, "SELECT count(*) FROM patient_import_row") == left
    later = dt.datetime.now(dt.UTC) + ABANDONED_AFTER * 2
    assert discard_abandoned_imports(store, now=later) == 1  # its discard is finished
    assert raw_count(store, "SELECT count(*) FROM patient") == 5
    assert raw_count(store, "SELECT count(*) FROM patient_import_row") == 0
    assert check_store(store).passed
