"""Migration 0008 (indicator data): a store at 0007 is backed up, then gains the new
columns and tables with its records, journal and hash chain intact."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.models import store as store_module
from mdt_desk.models.store import Store, schema_head
from mdt_desk.services.check import check_store

_PRACTICE = (
    "INSERT INTO practice (id, ods_code, name, address, postcode, phone, status,"
    " commissioner_code, created_at, updated_at) VALUES ('aa', 'A81001',"
    " 'The Densham Surgery', '', 'TS18 1HU', '', 'active', '00K',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
_PATIENT = (
    "INSERT INTO patient (id, nhs_number, family_name, given_name, title, date_of_birth,"
    " gender, address, postcode, phone, practice_id, created_at, updated_at) VALUES"
    " ('pp', '9990000018', 'Evans', 'Siân', '', '1938-03-02', 'female', '', '', '', 'aa',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
_CASE = (
    "INSERT INTO care_case (id, patient_id, status, referral_source, referral_reason,"
    " referral_urgency, referred_on, closure_note, escalated, created_at, updated_at) VALUES"
    " ('cc', 'pp', 'referred', 'gp', 'Falls', 'routine', '2026-10-01', '', 0,"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
_EVENTS = (
    "INSERT INTO outcome_event (id, patient_id, case_id, kind, occurred_on, source,"
    " created_at, updated_at) VALUES"
    " ('e1', 'pp', 'cc', 'hospital_admission', '2026-10-10', 'QEQM',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00'),"
    " ('e2', 'pp', 'cc', 'nursing_care_admission', '2026-10-20', '',"
    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


def _store_at_0007(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    old_migrations = tmp_path / "migrations-0007"
    shutil.copytree(store_module.MIGRATIONS_DIR, old_migrations)
    for later in (old_migrations / "versions").glob("000[8-9]_*.py"):
        later.unlink()
    path = tmp_path / "desk.sqlite"
    with monkeypatch.context() as old_version:
        old_version.setattr(store_module, "MIGRATIONS_DIR", old_migrations)
        old_version.setattr(store_module, "SCHEMA_HEAD", "0007_journal_seals")
        old_version.setattr(store_module, "_known_revisions", lambda: {"0007_journal_seals"})
        with Store.open(path) as old:
            assert old.current_revision() == "0007_journal_seals"
            with old.write(actor_label="version 0007") as session:
                for statement in (_PRACTICE, _PATIENT, _CASE, _EVENTS):
                    session.execute(text(statement))
    return path


def test_a_0007_store_is_backed_up_and_gains_the_indicator_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _store_at_0007(tmp_path, monkeypatch)
    with Store.open(path) as migrated:
        # Through 0008 to the head (later revisions add nothing to these tables).
        assert migrated.current_revision() == schema_head()
        with migrated.read() as session:
            events = session.execute(
                text(
                    "SELECT id, kind, source, discharged_on, discharge_destination, permanent"
                    " FROM outcome_event ORDER BY id"
                )
            ).all()
            assert events == [
                ("e1", "hospital_admission", "QEQM", None, None, 0),
                ("e2", "nursing_care_admission", "", None, None, 0),
            ]
            assert session.execute(text("SELECT not_accepted_reason FROM care_case")).all() == [
                (None,)
            ]
            # The value the upgrade gave existing rows is journalled, as an upgrade's.
            upgrade = session.execute(
                text(
                    "SELECT row_id, new_value, actor_label, schema_version FROM journal"
                    " WHERE entity = 'outcome_event' AND field = 'permanent' ORDER BY row_id"
                )
            ).all()
            assert upgrade == [
                ("e1", "0", "MDT Desk upgrade (schema 0008)", 8),
                ("e2", "0", "MDT Desk upgrade (schema 0008)", 8),
            ]
        with migrated.write(actor_label="this version") as session:
            session.execute(
                text(
                    "UPDATE outcome_event SET discharged_on = '2026-10-15',"
                    " discharge_destination = 'usual_residence' WHERE id = 'e1'"
                )
            )
            session.execute(text("UPDATE outcome_event SET permanent = 1 WHERE id = 'e2'"))
            session.execute(
                text(
                    "INSERT INTO experience_response (id, patient_id, case_id, statement,"
                    " agreement, answered_on, collected_how, by_proxy, created_at, updated_at)"
                    " VALUES ('rr', 'pp', 'cc', 'did_not_repeat_story', 4, '2026-11-01',"
                    " 'paper', 0, '2026-11-02 00:00:00', '2026-11-02 00:00:00')"
                )
            )
            session.execute(
                text(
                    "INSERT INTO practice_list_size (id, practice_id, extract_date, age_band,"
                    " sex, patients, created_at, updated_at) VALUES ('ll', 'aa', '2026-11-01',"
                    " '65-69', 'female', 212, '2026-11-02 00:00:00', '2026-11-02 00:00:00')"
                )
            )
        with migrated.read() as session:
            journalled = set(
                session.execute(
                    text("SELECT entity, field FROM journal WHERE actor_label = 'this version'")
                ).all()
            )
        assert {
            ("outcome_event", "discharged_on"),
            ("outcome_event", "discharge_destination"),
            ("outcome_event", "permanent"),
            ("experience_response", "agreement"),
            ("practice_list_size", "patients"),
        } <= journalled
        report = check_store(migrated)
        assert report.passed, report.checks
    backups = list(path.parent.glob(f"desk.sqlite.before-{schema_head()}-*.bak"))
    assert len(backups) == 1


def test_a_new_store_migrates_straight_to_the_head(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.sqlite") as store:
        assert store.current_revision() == schema_head() == "0009_seal_withdrawal"
        assert check_store(store).passed
