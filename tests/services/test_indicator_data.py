"""The data issue 12's indicators need: discharges, permanent placements, referrals not
accepted, the 91-day check after reablement, survey answers and practice list sizes."""

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mdt_desk.errors import ImportFileError, NotFoundError, RuleError, ValidationError
from mdt_desk.models import (
    Action,
    ExperienceResponse,
    OutcomeEvent,
    Practice,
    PracticeListSize,
)
from mdt_desk.models.enums import (
    ActionStatus,
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    InterventionKind,
    NotAcceptedReason,
    OutcomeEventKind,
    PracticeStatus,
    ReferralSource,
    SurveyMethod,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, experience, list_sizes, plans
from mdt_desk.services.check import check_store
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient

DISCHARGED = TODAY - dt.timedelta(days=20)


def _admission(
    store: Store,
    patient: uuid.UUID,
    *,
    occurred_on: dt.date = DISCHARGED - dt.timedelta(days=6),
    discharged_on: dt.date | None = DISCHARGED,
    destination: DischargeDestination | None = DischargeDestination.USUAL_RESIDENCE,
) -> uuid.UUID:
    with store.write(actor_label="test") as session:
        return plans.record_outcome_event(
            session,
            patient,
            kind=OutcomeEventKind.HOSPITAL_ADMISSION,
            occurred_on=occurred_on,
            discharged_on=discharged_on,
            discharge_destination=destination,
            today=TODAY,
        )


def _checks(store: Store, case_id: uuid.UUID) -> list[Any]:
    """The case's 91-day check actions: (due_on, owner_id, status, description) rows."""
    with store.read() as session:
        return list(
            session.execute(
                select(Action.due_on, Action.owner_id, Action.status, Action.description).where(
                    Action.case_id == case_id,
                    Action.description.startswith(plans.CHECK_91_DAY_PREFIX),
                    Action.retired_at.is_(None),
                )
            )
        )


# -- Discharges and permanent placements ------------------------------------------------


def test_an_admission_keeps_its_discharge_and_it_can_be_corrected(
    store: Store, practice_ids, team
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    event_id = _admission(store, patient)
    with store.write(actor_label="test") as session:
        plans.record_discharge(
            session,
            event_id,
            discharged_on=DISCHARGED + dt.timedelta(days=1),
            destination=DischargeDestination.INTERMEDIATE_CARE,
            today=TODAY,
        )
    with store.read() as session:
        event = session.get(OutcomeEvent, event_id)
        assert event is not None
        assert event.discharged_on == DISCHARGED + dt.timedelta(days=1)
        assert event.discharge_destination is DischargeDestination.INTERMEDIATE_CARE
        assert event.permanent is False
    assert check_store(store).passed


@pytest.mark.parametrize(
    ("kind", "occurred", "discharged", "field", "message"),
    [
        (OutcomeEventKind.AE_ATTENDANCE, -3, -2, "discharged_on", "Only a hospital admission"),
        (OutcomeEventKind.HOSPITAL_ADMISSION, -3, -5, "discharged_on", "is before the admission"),
        (OutcomeEventKind.HOSPITAL_ADMISSION, -3, 1, "discharged_on", "cannot be in the future"),
    ],
)
def test_a_discharge_that_cannot_be_is_refused(
    store: Store, practice_ids, team, kind, occurred, discharged, field, message
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    with pytest.raises(ValidationError, match=message) as refused, store.write() as session:
        plans.record_outcome_event(
            session,
            patient,
            kind=kind,
            occurred_on=TODAY + dt.timedelta(days=occurred),
            discharged_on=TODAY + dt.timedelta(days=discharged),
            discharge_destination=DischargeDestination.USUAL_RESIDENCE,
            today=TODAY,
        )
    assert field in refused.value.field_errors


def test_only_a_care_home_admission_is_a_permanent_placement(
    store: Store, practice_ids, team
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    with store.write() as session:
        placement = plans.record_outcome_event(
            session,
            patient,
            kind=OutcomeEventKind.NURSING_CARE_ADMISSION,
            occurred_on=TODAY,
            permanent=True,
            today=TODAY,
        )
    admission = _admission(store, patient)
    with pytest.raises(ValidationError, match="permanent"), store.write() as session:
        plans.set_permanent_placement(session, admission, True)
    with store.write() as session:
        plans.set_permanent_placement(session, placement, False)
    with store.read() as session:
        assert session.get(OutcomeEvent, placement).permanent is False  # type: ignore[union-attr]
    with pytest.raises(NotFoundError), store.write() as session:
        plans.set_permanent_placement(session, uuid.uuid4(), True)


# -- Referrals not accepted ------------------------------------------------------------


def _referral(store: Store, patient: uuid.UUID) -> uuid.UUID:
    with store.write() as session:
        return cases.refer(
            session,
            patient,
            source=ReferralSource.GP,
            reason="Lonely, one fall",
            referred_on=TODAY,
            today=TODAY,
        ).id


def test_a_referral_not_accepted_is_closed_with_why(store: Store, practice_ids, team) -> None:
    case_id = _referral(store, new_patient(store, practice_ids["A81001"]))
    with pytest.raises(ValidationError, match="Choose why") as refused, store.write() as s:
        cases.close(s, case_id, reason=ClosureReason.NOT_ACCEPTED, on=TODAY)
    assert "not_accepted_reason" in refused.value.field_errors
    with pytest.raises(ValidationError, match="Describe why"), store.write() as session:
        cases.close(
            session,
            case_id,
            reason=ClosureReason.NOT_ACCEPTED,
            not_accepted_reason=NotAcceptedReason.OTHER,
            on=TODAY,
        )
    with store.write() as session:
        record = cases.close(
            session,
            case_id,
            reason=ClosureReason.NOT_ACCEPTED,
            not_accepted_reason=NotAcceptedReason.NEEDS_MET_ELSEWHERE,
            note="Under the community mental health team",
            on=TODAY,
        )
    assert record.closure_reason is ClosureReason.NOT_ACCEPTED
    assert record.not_accepted_reason is NotAcceptedReason.NEEDS_MET_ELSEWHERE
    with store.write() as session:
        reopened = cases.reopen(
            session, case_id, coordinator_id=team["social_worker"], reason="Referred again"
        )
    assert reopened.not_accepted_reason is None


def test_an_accepted_case_cannot_close_as_not_accepted(store: Store, practice_ids, team) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient, team["social_worker"])
    with pytest.raises(RuleError, match="accepted already"), store.write() as session:
        cases.close(
            session,
            case_id,
            reason=ClosureReason.NOT_ACCEPTED,
            not_accepted_reason=NotAcceptedReason.NOT_ELIGIBLE,
            on=TODAY,
        )
    with pytest.raises(ValidationError, match="only with the outcome"), store.write() as s:
        cases.close(
            s,
            case_id,
            reason=ClosureReason.GOALS_MET,
            not_accepted_reason=NotAcceptedReason.NOT_ELIGIBLE,
            on=TODAY,
        )


# -- The 91-day check ------------------------------------------------------------------


def _reablement(store: Store, case_id: uuid.UUID, started_on: dt.date, kind=None) -> uuid.UUID:
    with store.write() as session:
        return plans.add_intervention(
            session,
            case_id,
            kind=kind or InterventionKind.REABLEMENT,
            started_on=started_on,
        ).id


def test_reablement_after_a_discharge_adds_one_91_day_check(
    store: Store, practice_ids, team
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient, team["social_worker"])
    _admission(store, patient)
    _reablement(store, case_id, DISCHARGED + dt.timedelta(days=3))
    (check,) = _checks(store, case_id)
    assert check.due_on == DISCHARGED + dt.timedelta(days=91)
    assert check.owner_id == team["social_worker"]
    assert check.status is ActionStatus.OPEN
    assert "at home" in check.description and "care" in check.description
    # Another reablement after the same discharge, the discharge recorded again: no second.
    _reablement(store, case_id, DISCHARGED + dt.timedelta(days=5))
    with store.write() as session:
        event_id = session.scalar(select(OutcomeEvent.id))
        assert event_id is not None
    with store.write() as session:
        plans.record_discharge(
            session,
            event_id,
            discharged_on=DISCHARGED,
            destination=DischargeDestination.USUAL_RESIDENCE,
            today=TODAY,
        )
    assert len(_checks(store, case_id)) == 1
    # A corrected discharge date moves the open check rather than adding one.
    with store.write() as session:
        plans.record_discharge(
            session,
            event_id,
            discharged_on=DISCHARGED - dt.timedelta(days=2),
            destination=DischargeDestination.USUAL_RESIDENCE,
            today=TODAY,
        )
    (moved,) = _checks(store, case_id)
    assert moved.due_on == DISCHARGED - dt.timedelta(days=2) + dt.timedelta(days=91)
    assert check_store(store).passed


def test_a_discharge_recorded_after_reablement_started_adds_the_check(
    store: Store, practice_ids, team
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient, team["social_worker"])
    _reablement(store, case_id, DISCHARGED + dt.timedelta(days=1))
    assert _checks(store, case_id) == []
    event_id = _admission(store, patient, discharged_on=None, destination=None)
    assert _checks(store, case_id) == []
    with store.write() as session:
        plans.record_discharge(
            session,
            event_id,
            discharged_on=DISCHARGED,
            destination=DischargeDestination.USUAL_RESIDENCE,
            today=TODAY,
        )
    assert len(_checks(store, case_id)) == 1


@pytest.mark.parametrize(
    ("days_after", "kind", "expected"),
    [
        (0, InterventionKind.REABLEMENT, 1),
        (14, InterventionKind.REABLEMENT, 1),
        (15, InterventionKind.REABLEMENT, 0),
        (-1, InterventionKind.REABLEMENT, 0),
        (2, InterventionKind.REHABILITATION, 1),
        (2, InterventionKind.TELECARE, 0),
    ],
)
def test_the_check_follows_only_reablement_within_14_days_of_a_discharge(
    store: Store, practice_ids, team, days_after, kind, expected
) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient, team["social_worker"])
    _admission(store, patient, occurred_on=DISCHARGED - dt.timedelta(days=30))
    _reablement(store, case_id, DISCHARGED + dt.timedelta(days=days_after), kind)
    assert len(_checks(store, case_id)) == expected


# -- Survey answers --------------------------------------------------------------------


def _answer(store: Store, patient: uuid.UUID, agreement: object, answered_on=TODAY):
    with store.write() as session:
        return experience.record_experience_response(
            session,
            patient,
            statement=ExperienceStatement.DID_NOT_REPEAT_STORY,
            agreement=agreement,  # type: ignore[arg-type]
            answered_on=answered_on,
            collected_how=SurveyMethod.PHONE,
            by_proxy=True,
            today=TODAY,
        )


def _answers(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(ExperienceResponse)) or 0)


def test_an_answer_is_recorded_against_the_persons_case(store: Store, practice_ids, team) -> None:
    patient = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient, team["social_worker"])
    answer = _answer(store, patient, 4)
    assert (answer.case_id, answer.agreement, answer.by_proxy) == (case_id, 4, True)
    with store.read() as session:
        listed = experience.list_experience_responses(session, patient)
    assert [item.id for item in listed] == [answer.id]
    with store.write() as session:
        experience.withdraw_experience_response(session, answer.id)
    with store.read() as session:
        assert experience.list_experience_responses(session, patient) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agreement=st.one_of(st.integers(-50, 50), st.booleans(), st.floats(0, 6), st.text()))
def test_agreement_is_a_whole_number_from_1_to_5(store: Store, practice_ids, agreement) -> None:
    patient_ids = _survey_people(store, practice_ids)
    before = _answers(store)
    valid = type(agreement) is int and 1 <= agreement <= 5
    if valid:
        saved = _answer(store, patient_ids[0], agreement)
        # One answer a statement a day: a second save for the day replaces the first.
        assert _answers(store) == max(before, 1)
        with store.read() as session:
            listed = experience.list_experience_responses(session, patient_ids[0])
        assert [(item.id, item.agreement) for item in listed] == [(saved.id, agreement)]
    else:
        with pytest.raises(ValidationError, match=r"agreement|off the scale") as refused:
            _answer(store, patient_ids[0], agreement)
        assert "agreement" in refused.value.field_errors
        assert _answers(store) == before


def test_an_answer_dated_in_the_future_is_refused(store: Store, practice_ids) -> None:
    patient = _survey_people(store, practice_ids)[0]
    with pytest.raises(ValidationError, match="in the future"):
        _answer(store, patient, 5, answered_on=TODAY + dt.timedelta(days=1))
    assert _answers(store) == 0


SURVEY_NHS = ("9990000018", "9990000026")


def _survey_people(store: Store, practice_ids) -> list[uuid.UUID]:
    with store.read() as session:
        from mdt_desk.services.patients import find_by_nhs_number

        found = [find_by_nhs_number(session, number) for number in SURVEY_NHS]
    if all(found):
        return [person.id for person in found if person is not None]
    return [new_patient(store, practice_ids["A81001"], number) for number in SURVEY_NHS]


GOOD_SURVEY = (
    "nhs_number,statement,agreement,answered_on,collected_how,by_proxy\n"
    "999 000 0018,did_not_repeat_story,4,2026-11-01,paper,no\n"
    "9990000018,well_coordinated,5,01/11/2026,paper,no\n"
    "9990000026,Did not repeat story,2,3-Nov-2026,in person,yes\n"
)


def test_a_survey_file_is_imported_and_again_adds_nothing(
    store: Store, practice_ids, tmp_path: Path
) -> None:
    people = _survey_people(store, practice_ids)
    path = tmp_path / "survey.csv"
    path.write_text(GOOD_SURVEY, encoding="utf-8")
    with store.write() as session:
        report = experience.import_experience_csv(session, path, today=TODAY)
    assert (report.imported, report.unchanged) == (3, 0)
    with store.read() as session:
        rows = session.execute(
            select(
                ExperienceResponse.patient_id,
                ExperienceResponse.statement,
                ExperienceResponse.agreement,
                ExperienceResponse.collected_how,
                ExperienceResponse.by_proxy,
            ).order_by(ExperienceResponse.agreement)
        ).all()
    assert rows[0] == (
        people[1],
        ExperienceStatement.DID_NOT_REPEAT_STORY,
        2,
        SurveyMethod.IN_PERSON,
        True,
    )
    with store.write() as session:
        again = experience.import_experience_csv(session, path, today=TODAY)
    assert (again.imported, again.unchanged) == (0, 3)
    assert _answers(store) == 3
    assert check_store(store).passed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (GOOD_SURVEY + "9990000018,well_coordinated,6,2026-11-01,paper,no\n", "off the scale"),
        (GOOD_SURVEY + "9990000018,well_coordinated,four,2026-11-01,paper,no\n", "1 to 5"),
        (GOOD_SURVEY + "9990000034,well_coordinated,4,2026-11-01,paper,no\n", "nobody with"),
        (GOOD_SURVEY + "9990000018,well_coordinated,4,31/02/2026,paper,no\n", "not a real date"),
        (GOOD_SURVEY + "9990000018,well_coordinated,4,2027-01-01,paper,no\n", "in the future"),
        (GOOD_SURVEY + "9990000018,happy,4,2026-11-01,paper,no\n", "not a survey statement"),
        (GOOD_SURVEY + "9990000018,well_coordinated,4,2026-11-01,carrier pigeon,no\n", "not a way"),
        (GOOD_SURVEY + "9990000018,well_coordinated,4,2026-11-01,paper,maybe\n", "yes or no"),
        (GOOD_SURVEY + "9990000018,well_coordinated,4\n", "fields"),
        ("name,score\nEvans,4\n", "no nhs_number"),
        ("", "empty"),
    ],
)
def test_a_bad_survey_file_writes_nothing_and_says_which_row(
    store: Store, practice_ids, tmp_path: Path, content: str, message: str
) -> None:
    _survey_people(store, practice_ids)
    path = tmp_path / "survey.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message) as refused, store.write() as session:
        experience.import_experience_csv(session, path, today=TODAY)
    if content.startswith(GOOD_SURVEY):
        assert "line 5" in str(refused.value) and "nothing was imported" in str(refused.value)
    assert _answers(store) == 0


def test_a_file_that_is_not_csv_is_refused(store: Store, practice_ids, tmp_path: Path) -> None:
    path = tmp_path / "survey.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    with pytest.raises(ImportFileError, match="binary data"), store.write() as session:
        experience.import_experience_csv(session, path, today=TODAY)
    assert _answers(store) == 0


# -- Practice list sizes ---------------------------------------------------------------

LIST_HEADER = "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n"


def _list_file(path: Path, rows: dict[str, int], extract: str = "01Oct2026") -> Path:
    """A file shaped as NHS Digital's: per practice, sex and band; plus totals, other
    areas and a practice not in the store."""
    lines = [LIST_HEADER]
    for code in ("A81001", "A81002", "Y99999"):
        for sex in ("FEMALE", "MALE"):
            lines.append(f"GP_PRAC_PAT_LIST,{extract},GP,{code},TS18 1HU,{sex},ALL,9999\n")
            for band, count in rows.items():
                lines.append(
                    f"GP_PRAC_PAT_LIST,{extract},GP,{code},TS18 1HU,{sex},{band},{count}\n"
                )
    lines.append(f"GP_PRAC_PAT_LIST,{extract},ICB,QKS,,ALL,65_69,123456\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_list_sizes_are_imported_for_known_practices_and_count_65_plus(
    store: Store, practice_ids, tmp_path: Path
) -> None:
    bands = {"0_4": 300, "60_64": 400, "65_69": 250, "90_94": 40, "95+": 10}
    path = _list_file(tmp_path / "gp-reg-pat-prac-quin-age.csv", bands)
    with store.write() as session:
        report = list_sizes.import_list_sizes(session, path)
    assert report.imported == 2 * 2 * len(bands)  # two known practices, two sexes
    assert report.skipped == 4 + 2 * (1 + len(bands)) + 1  # totals, unknown practice, ICB
    older = 2 * (250 + 40 + 10)
    with store.read() as session:
        assert list_sizes.registered_65_plus(session, [practice_ids["A81001"]]) == older
        assert (
            list_sizes.registered_65_plus(session, [practice_ids["A81001"], practice_ids["A81002"]])
            == 2 * older
        )
        # A practice without list sizes: no figure rather than an understated one.
        assert list_sizes.registered_65_plus(session, [practice_ids["A81004"]]) is None
        assert (
            list_sizes.registered_65_plus(session, [practice_ids["A81001"], practice_ids["A81004"]])
            is None
        )
        bands_kept = set(session.scalars(select(PracticeListSize.age_band)))
    assert bands_kept == {"0-4", "60-64", "65-69", "90-94", "95+"}
    # A closed practice (not in NHS Digital's file) adds nobody rather than no figure.
    with store.write() as session:
        closed = session.get(Practice, practice_ids["A81004"])
        assert closed is not None
        closed.status = PracticeStatus.CLOSED
    with store.read() as session:
        both = [practice_ids["A81001"], practice_ids["A81004"]]
        assert list_sizes.registered_65_plus(session, both) == older
        assert list_sizes.registered_65_plus(session, [practice_ids["A81004"]]) is None
    with store.write() as session:
        again = list_sizes.import_list_sizes(session, path)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 20)
    # A corrected extract of the same date replaces it; a later one takes over.
    _list_file(path, {**bands, "65_69": 260, "95+": 0})
    with store.write() as session:
        corrected = list_sizes.import_list_sizes(session, path)
    assert corrected.updated == 8
    later = _list_file(tmp_path / "later.csv", {"65_69": 100}, extract="2026-11-01")
    with store.write() as session:
        list_sizes.import_list_sizes(session, later)
    with store.read() as session:
        assert list_sizes.registered_65_plus(session, [practice_ids["A81001"]]) == 200
    assert check_store(store).passed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ODS,NAME\nA81001,Surgery\n", "no EXTRACT_DATE"),
        (LIST_HEADER + "P,01Oct2026,GP,A81001,TS18 1HU,FEMALE,65_69,lots\n", "number of patients"),
        (LIST_HEADER + "P,01Oct2026,GP,A81001,TS18 1HU,FEMALE,old,3\n", "not a five-year age band"),
        (
            LIST_HEADER + "P,01Oct2026,GP,A81001,TS18 1HU,FEMALE,66_70,3\n",
            "'66_70' is not a five-year age band",
        ),
        (LIST_HEADER + "P,32Oct2026,GP,A81001,TS18 1HU,FEMALE,65_69,3\n", "extract date"),
        (LIST_HEADER + "P,01Oct2026,GP,A81001,TS18 1HU,CAT,65_69,3\n", "MALE, FEMALE or ALL"),
    ],
)
def test_a_bad_list_size_file_writes_nothing(
    store: Store, practice_ids, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "list.csv"
    good = "P,01Oct2026,GP,A81002,TS18 1HU,FEMALE,65_69,3\n"
    path.write_text(content + (good if content.startswith(LIST_HEADER) else ""), "utf-8")
    with pytest.raises(ImportFileError, match=message), store.write() as session:
        list_sizes.import_list_sizes(session, path)
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(PracticeListSize)) == 0


def test_a_file_of_other_practices_only_is_refused(
    store: Store, practice_ids, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST_HEADER + "P,01Oct2026,GP,Y99999,TS18 1HU,FEMALE,65_69,3\n", "utf-8")
    with (
        pytest.raises(ImportFileError, match="no list sizes of the practices in this store"),
        store.write() as session,
    ):
        list_sizes.import_list_sizes(session, path)


@given(
    low=st.integers(0, 120),
    width=st.integers(0, 9),
    separator=st.sampled_from(["_", "-", " - "]),
)
def test_age_bands_read_as_stored_with_their_lower_age(low: int, width: int, separator: str):
    """Only NHS Digital's five-year bands from a multiple of five are read; any other
    band would put people on the wrong side of 65, so it is refused in words."""
    raw = f"{low}{separator}{low + width}"
    if low % 5 == 0 and width == 4:
        band = list_sizes.age_band_of(raw)
        assert band == f"{low}-{low + width}"
        assert band is not None and list_sizes.band_lower_age(band) == low
    else:
        with pytest.raises(ValueError, match="is not a five-year age band"):
            list_sizes.age_band_of(raw)
    if low % 5 == 0:
        assert list_sizes.age_band_of(f"{low}+") == f"{low}+"
    else:
        with pytest.raises(ValueError, match="is not a five-year age band"):
            list_sizes.age_band_of(f"{low}+")
    assert list_sizes.age_band_of("ALL") is None
