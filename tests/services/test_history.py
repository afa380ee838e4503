"""The record history: who changed what and when, in words, from the change journal."""

import datetime as dt

from mdt_desk.models.enums import ClosureReason, RiskBand
from mdt_desk.services import cases, patients, plans
from mdt_desk.services.history import audit_time, plan_version, record_history
from tests.conftest import TODAY
from tests.services.staff_reads import add_unrelated_staff, staff_reads
from tests.services.test_case_rules import active_case, new_patient


def test_history_says_who_changed_what_in_words(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["gp"]) as session:
        patients.set_risk_band(session, patient_id, RiskBand.VERY_HIGH)
    with store.write(team["social_worker"]) as session:
        cases.change_coordinator(
            session,
            case_id,
            coordinator_id=team["district_nurse"],
            reason="Nursing needs now lead",
            on=TODAY,
        )
    with store.write(team["district_nurse"]) as session:
        goal_id = plans.add_goal(session, case_id, description="Walk to the shop")
        plans.add_action(
            session,
            case_id,
            description="Order a walking frame",
            owner_id=team["district_nurse"],
            due_on=TODAY + dt.timedelta(days=7),
            goal_id=goal_id,
            today=TODAY,
        )
    with store.read() as session:
        entries = record_history(session, patient_id, case_id)

    def find(record: str, field: str):
        return [e for e in entries if e.record.startswith(record) and e.field == field]

    (risk,) = find("Person", "Risk band")
    assert (risk.who, risk.old_text, risk.new_text) == ("Seán Ó Briain", "", "Very high")
    (handed_over,) = find("Care coordinator: Ngozi Okafor", "Ended")
    assert handed_over.new_text == "22-Nov-2026" and handed_over.who == "Ngozi Okafor"
    (reason,) = find("Care coordinator: Zoë Nowak", "Reason")
    assert reason.new_text == "Nursing needs now lead" and reason.added
    (owner,) = find("Action: Order a walking frame", "Owner")
    assert owner.new_text == "Zoë Nowak"
    (linked,) = find("Action: Order a walking frame", "Goal")
    assert linked.new_text == "“Walk to the shop”"
    (status,) = [e for e in find("Case", "Status") if not e.added]
    assert (status.old_text, status.new_text) == ("Referred", "Active")
    # newest first; bookkeeping columns and the owning ids of new rows are left out
    assert entries[0].record.startswith("Action") or entries[0].record.startswith("Goal")
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert not {"Created at", "Updated at", "Id"} & {e.field for e in entries}


def test_history_of_one_case_leaves_out_the_persons_other_cases(store, practice_ids, team) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    first = active_case(store, patient_id, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        cases.close(session, first, reason=ClosureReason.GOALS_MET, on=TODAY)
    second = active_case(store, patient_id, team["gp"])
    with store.read() as session:
        only_second = record_history(session, patient_id, second)
        everything = record_history(session, patient_id, None)
    assert not any(e.row_id == first for e in only_second)
    assert any(e.row_id == first for e in everything)
    assert any(e.row_id == second for e in only_second)
    assert any(e.record == "Person" for e in only_second)


def test_the_repeated_autumn_hour_shows_its_offset() -> None:
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 01:30 BST
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # 01:30 GMT
    assert audit_time(first) == "25-Oct-2026 01:30 BST"
    assert audit_time(second) == "25-Oct-2026 01:30 GMT"
    assert audit_time(dt.datetime(2026, 7, 14, 8, 5, tzinfo=dt.UTC)) == "14-Jul-2026 09:05"


def test_history_reads_only_the_staff_it_names_however_large_the_team(
    store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["gp"]) as session:
        patients.set_risk_band(session, patient_id, RiskBand.HIGH)
    with store.write(team["district_nurse"]) as session:
        plans.add_action(
            session,
            case_id,
            description="Order a walking frame",
            owner_id=team["gp"],
            due_on=TODAY + dt.timedelta(days=7),
            today=TODAY,
        )

    def read() -> tuple[list, str, int]:
        with store.read() as session:
            with staff_reads() as reads:
                entries = record_history(session, patient_id, case_id)
                version = plan_version(session, patient_id, case_id)
            return entries, version, reads.rows(session)

    entries, version, rows = read()
    add_unrelated_staff(store, 60)
    entries_now, version_now, rows_now = read()
    # The same words (names included), from the same staff rows: none of the 60 is read.
    assert entries_now == entries and version_now == version
    assert {e.who for e in entries} >= {"Seán Ó Briain", "Zoë Nowak", "Ngozi Okafor"}
    assert any(e.field == "Owner" and e.new_text == "Seán Ó Briain" for e in entries)
    assert rows_now == rows
