"""The indicator data of migration 0008 is journalled and syncs like every other field:
made on one desk, through the hub, bit for bit on a second desk."""

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from mdt_desk.models.enums import (
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    NotAcceptedReason,
    OutcomeEventKind,
    ReferralSource,
    SurveyMethod,
)
from mdt_desk.models.store import Store
from mdt_desk.services import cases, experience, list_sizes, patients, plans
from tests.sync.support import (
    NHS_NUMBERS,
    TODAY,
    Hub,
    assert_matches_hub,
    assert_sound,
    digest,
    field_value,
    quiesce,
    seed,
)

Desks = Callable[..., Store]


def test_indicator_fields_reach_another_desk(desks: Desks, hub: Hub, tmp_path: Path) -> None:
    a, b = desks("a"), desks("b")
    seeded = seed(a, tmp_path, patients_count=1)
    patient, coordinator = seeded.patient_ids[0], seeded.staff_ids[0]
    with a.write(coordinator, "A") as session:
        admission = plans.record_outcome_event(
            session,
            patient,
            kind=OutcomeEventKind.HOSPITAL_ADMISSION,
            occurred_on=TODAY - dt.timedelta(days=9),
            discharged_on=TODAY - dt.timedelta(days=2),
            discharge_destination=DischargeDestination.INTERMEDIATE_CARE,
        )
        placement = plans.record_outcome_event(
            session,
            patient,
            kind=OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION,
            occurred_on=TODAY,
            permanent=True,
        )
        answer = experience.record_experience_response(
            session,
            patient,
            statement=ExperienceStatement.COMMUNICATED_WITH_ME,
            agreement=5,
            answered_on=TODAY,
            collected_how=SurveyMethod.ONLINE,
            by_proxy=True,
        )
        other = patients.register_patient(
            session,
            nhs_number=NHS_NUMBERS[1],
            family_name="Referred",
            given_name="Alex",
            date_of_birth=dt.date(1944, 5, 6),
            practice_id=seeded.practice_id,
        )
        referral = cases.refer(session, other.id, source=ReferralSource.SELF, reason="Lonely")
        cases.close(
            session,
            referral.id,
            reason=ClosureReason.NOT_ACCEPTED,
            not_accepted_reason=NotAcceptedReason.NOT_ELIGIBLE,
        )
    list_file = tmp_path / "gp-reg-pat-prac-quin-age.csv"
    list_file.write_text(
        "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS\n"
        "GP_PRAC_PAT_LIST,01Nov2026,GP,A81001,TS18 1HU,FEMALE,70_74,321\n"
        "GP_PRAC_PAT_LIST,01Nov2026,GP,A81001,TS18 1HU,MALE,70_74,298\n",
        encoding="utf-8",
    )
    with a.write(coordinator, "A") as session:
        list_sizes.import_list_sizes(session, list_file)
    with a.read() as session:
        journalled = {
            (entity, field)
            for entity, field in session.execute(
                text(
                    "SELECT DISTINCT entity, field FROM journal WHERE entity IN ("
                    "'outcome_event', 'care_case', 'experience_response', 'practice_list_size')"
                )
            )
        }
    assert {
        ("outcome_event", "discharged_on"),
        ("outcome_event", "discharge_destination"),
        ("outcome_event", "permanent"),
        ("care_case", "not_accepted_reason"),
        ("experience_response", "agreement"),
        ("experience_response", "by_proxy"),
        ("practice_list_size", "patients"),
        ("practice_list_size", "age_band"),
    } <= journalled

    quiesce([a, b], hub)
    assert digest(a) == digest(b)
    assert (
        field_value(b, "outcome_event", admission, "discharged_on")
        == (TODAY - dt.timedelta(days=2)).isoformat()
    )
    assert field_value(b, "outcome_event", admission, "discharge_destination") == (
        "intermediate_care"
    )
    assert field_value(b, "outcome_event", placement, "permanent") == 1
    assert field_value(b, "care_case", referral.id, "not_accepted_reason") == "not_eligible"
    assert field_value(b, "experience_response", answer.id, "agreement") == 5
    with b.read() as session:
        assert list_sizes.registered_65_plus(session, [seeded.practice_id]) == 321 + 298

    # An edit on the second desk comes back to the first.
    with b.write(coordinator, "B") as session:
        plans.record_discharge(
            session,
            admission,
            discharged_on=TODAY - dt.timedelta(days=3),
            destination=DischargeDestination.USUAL_RESIDENCE,
        )
    quiesce([a, b], hub)
    assert field_value(a, "outcome_event", admission, "discharge_destination") == (
        "usual_residence"
    )
    assert digest(a) == digest(b)
    assert_matches_hub(a, hub)
    assert_sound(a)
    assert_sound(b)
    assert isinstance(admission, uuid.UUID)
