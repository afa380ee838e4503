"""Survey answers are one a statement a day: saving again for the day replaces the answer,
in the record and in the CSV import alike, so the indicators count each answer once;
the record and its history show them."""

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mdt_desk.errors import ImportFileError
from mdt_desk.models import ExperienceResponse
from mdt_desk.models.enums import ExperienceStatement, SurveyMethod
from mdt_desk.models.store import Store
from mdt_desk.services import experience, indicators
from mdt_desk.services.case_view import load_record
from mdt_desk.services.display import cui_date
from mdt_desk.services.experience import AnswerChange
from mdt_desk.services.history import plan_version, record_history
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient

STORY = ExperienceStatement.DID_NOT_REPEAT_STORY
PERIOD = indicators.Period(TODAY - dt.timedelta(days=30), TODAY)


def _save(
    store: Store,
    patient_id: uuid.UUID,
    agreement: int,
    *,
    statement: ExperienceStatement = STORY,
    answered_on: dt.date = TODAY,
    how: SurveyMethod = SurveyMethod.PHONE,
    proxy: bool = False,
) -> experience.SavedExperienceResponse:
    with store.write() as session:
        return experience.record_experience_response(
            session,
            patient_id,
            statement=statement,
            agreement=agreement,
            answered_on=answered_on,
            collected_how=how,
            by_proxy=proxy,
            today=TODAY,
        )


def _live_answers(store: Store, patient_id: uuid.UUID) -> list[tuple[ExperienceStatement, int]]:
    with store.read() as session:
        return [
            (answer.statement, answer.agreement)
            for answer in experience.list_experience_responses(session, patient_id)
        ]


def _story_share(store: Store) -> indicators.IndicatorResult:
    with store.read() as session:
        scope = indicators.practice_scope(session, "A81001")
        compute = indicators.indicator("experience_did_not_repeat_story").compute
        return compute(session, scope, PERIOD)


def test_saving_again_for_the_same_day_replaces_the_answer_and_says_so(
    store: Store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    first = _save(store, patient_id, 2)
    assert first.change is AnswerChange.ADDED
    again = _save(store, patient_id, 4, how=SurveyMethod.PAPER, proxy=True)
    assert again.change is AnswerChange.REPLACED
    assert (again.id, again.replaced_agreement) == (first.id, 2)
    assert (again.agreement, again.collected_how, again.by_proxy) == (4, SurveyMethod.PAPER, True)
    assert again.summary.endswith("— Agree (was Disagree).")
    same = _save(store, patient_id, 4, how=SurveyMethod.PAPER, proxy=True)
    assert same.change is AnswerChange.UNCHANGED
    assert _live_answers(store, patient_id) == [(STORY, 4)]
    with store.read() as session:
        stored = session.scalar(select(func.count()).select_from(ExperienceResponse))
    assert stored == 1
    # Another day or another statement is another answer.
    assert _save(store, patient_id, 5, answered_on=TODAY - dt.timedelta(days=1)).change is (
        AnswerChange.ADDED
    )
    assert _save(store, patient_id, 1, statement=ExperienceStatement.WELL_COORDINATED).change is (
        AnswerChange.ADDED
    )
    assert sorted(_live_answers(store, patient_id)) == sorted(
        [(STORY, 4), (ExperienceStatement.WELL_COORDINATED, 1), (STORY, 5)]
    )


def test_a_withdrawn_answer_is_not_replaced_but_recorded_anew(
    store: Store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    first = _save(store, patient_id, 2)
    with store.write() as session:
        experience.withdraw_experience_response(session, first.id)
    second = _save(store, patient_id, 5)
    assert second.change is AnswerChange.ADDED
    assert second.id != first.id
    assert _live_answers(store, patient_id) == [(STORY, 5)]


def test_the_share_who_agree_is_unchanged_by_saving_the_same_answer_again(
    store: Store, practice_ids, team
) -> None:
    agrees = new_patient(store, practice_ids["A81001"], "9990000018")
    disagrees = new_patient(store, practice_ids["A81001"], "9990000026")
    for patient_id in (agrees, disagrees):
        active_case(store, patient_id, team["social_worker"])
    _save(store, agrees, 5)
    _save(store, disagrees, 2)
    before = _story_share(store)
    assert (before.numerator, before.denominator) == (1, 2)
    _save(store, agrees, 5)
    _save(store, agrees, 4)  # a correction: still agrees, still one answer
    after = _story_share(store)
    assert (after.numerator, after.denominator, after.value) == (1, 2, before.value)
    _save(store, disagrees, 4)  # corrected to agree: counted once, as agreeing
    corrected = _story_share(store)
    assert (corrected.numerator, corrected.denominator) == (2, 2)


HEADER = "nhs_number,statement,agreement,answered_on,collected_how,by_proxy\n"


def test_the_import_updates_an_answer_for_the_same_day_and_keeps_one(
    store: Store, practice_ids, team, tmp_path: Path
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"], "9990000018")
    active_case(store, patient_id, team["social_worker"])
    recorded = _save(store, patient_id, 2, answered_on=dt.date(2026, 11, 1))
    path = tmp_path / "survey.csv"
    path.write_text(
        HEADER
        + "9990000018,did_not_repeat_story,4,2026-11-01,paper,no\n"
        + "9990000018,well_coordinated,5,2026-11-01,paper,no\n",
        encoding="utf-8",
    )
    with store.write() as session:
        report = experience.import_experience_csv(session, path, today=TODAY)
    assert (report.imported, report.updated, report.unchanged) == (1, 1, 0)
    with store.read() as session:
        answers = experience.list_experience_responses(session, patient_id)
    story = [answer for answer in answers if answer.statement is STORY]
    assert [(a.id, a.agreement, a.collected_how) for a in story] == [
        (recorded.id, 4, SurveyMethod.PAPER)
    ]
    with store.write() as session:
        again = experience.import_experience_csv(session, path, today=TODAY)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)
    # The record then sees the import's answer as the one recorded.
    assert _save(store, patient_id, 4, answered_on=dt.date(2026, 11, 1), how=SurveyMethod.PAPER)
    assert len(_live_answers(store, patient_id)) == 2


def test_a_file_with_two_different_answers_for_one_day_writes_nothing(
    store: Store, practice_ids, tmp_path: Path
) -> None:
    new_patient(store, practice_ids["A81001"], "9990000018")
    path = tmp_path / "survey.csv"
    path.write_text(
        HEADER
        + "9990000018,did_not_repeat_story,4,2026-11-01,paper,no\n"
        + "9990000018,did_not_repeat_story,4,2026-11-01,paper,no\n"
        + "9990000018,did_not_repeat_story,1,01/11/2026,paper,no\n",
        encoding="utf-8",
    )
    with store.write() as session, pytest.raises(ImportFileError, match=r"line 4.*line 2"):
        experience.import_experience_csv(session, path, today=TODAY)
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(ExperienceResponse)) == 0


def test_the_record_view_lists_the_answers_newest_first_in_words(
    store: Store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    _save(store, patient_id, 4, answered_on=TODAY - dt.timedelta(days=3), proxy=True)
    _save(store, patient_id, 1, statement=ExperienceStatement.WELL_COORDINATED)
    with store.read() as session:
        view = load_record(session, patient_id, None, TODAY)
    rows = [
        (a.statement_text, a.agreement_text, a.answered_on, a.collected_how_text, a.by_proxy_text)
        for a in view.experience_answers
    ]
    assert rows == [
        ("My care was well co-ordinated", "Strongly disagree", TODAY, "Phone", "No"),
        (
            "I did not have to repeat my story",
            "Agree",
            TODAY - dt.timedelta(days=3),
            "Phone",
            "Yes",
        ),
    ]


def test_the_history_tells_answers_in_words_and_leaves_the_plan_version(
    store: Store, practice_ids, team
) -> None:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.read() as session:
        version = plan_version(session, patient_id, case_id)
    saved = _save(store, patient_id, 2)
    _save(store, patient_id, 4)
    with store.write() as session:
        experience.withdraw_experience_response(session, saved.id)
    with store.read() as session:
        entries = record_history(session, patient_id, case_id)
        assert plan_version(session, patient_id, case_id) == version
    survey = [e for e in entries if e.entity == "experience_response"]
    record = f"Survey answer: 'I did not have to repeat my story' ({cui_date(TODAY)})"
    assert {e.record for e in survey} == {record}
    agreement = [(e.old_text, e.new_text) for e in survey if e.field == "Agreement"]
    assert agreement == [("Disagree", "Agree"), ("", "Disagree")]  # newest first
    assert [e.new_text for e in survey if e.field == "Statement"] == [
        "'I did not have to repeat my story'"
    ]
    assert survey[0].field == "Withdrawn"


def test_answers_from_two_desks_for_one_day_count_once_the_first_recorded(
    store: Store, practice_ids, team
) -> None:
    """Two desks that recorded the same person's answer for one day while apart both
    keep theirs after sync; the indicators count the first recorded, once."""
    patient_id = new_patient(store, practice_ids["A81001"])
    active_case(store, patient_id, team["social_worker"])
    _save(store, patient_id, 5)  # agrees, recorded first
    with store.write() as session:  # the other desk's answer, as sync brings it in
        session.add(
            ExperienceResponse(
                patient_id=patient_id,
                statement=STORY,
                agreement=1,
                answered_on=TODAY,
                collected_how=SurveyMethod.PAPER,
                by_proxy=False,
            )
        )
    with store.read() as session:
        stored = session.scalar(select(func.count()).select_from(ExperienceResponse))
        scope = indicators.practice_scope(session, "A81001")
        (series,) = indicators.indicator_series(
            session, scope, "experience_did_not_repeat_story", [PERIOD]
        )
    assert stored == 2
    share = _story_share(store)
    assert (share.numerator, share.denominator) == (1, 1)
    assert series == share
