"""Our own FHIR rules catch what the outside library's structural check lets through.

A well-made care plan bundle keeps every rule; each kind of break is reported against
the entry and the element at fault, in words fit for an export report.
"""

import time
import uuid
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import example, given
from hypothesis import strategies as st

from mdt_desk.errors import ValidationError
from mdt_desk.services.fhir.rules import (
    CODE_RULES,
    MAX_NESTING,
    NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
    RuleViolation,
    bundle_violations,
    nesting_depth,
    shown_value,
    uk_core_profile,
)
from mdt_desk.services.validation import normalise_nhs_number

JSON = dict[str, Any]

#: A valid NHS number in the range issued in England and Wales (a test number).
NHS_NUMBER = "9434765919"
VERIFICATION_URL = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"

ORGANIZATION, PATIENT, CARE_PLAN, GOAL, TASK = range(5)
#: A Consent's policy rule (FHIR R4 ppc-1 wants a policy or a policy rule).
OPT_IN = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]
}


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def ref(entry: JSON) -> JSON:
    return {"reference": entry["fullUrl"]}


def profiled(resource_type: str, profile: str | None = None, **elements: Any) -> JSON:
    resource: JSON = {"resourceType": resource_type, "id": str(uuid.uuid4())}
    if profile is not None:
        resource["meta"] = {"profile": [uk_core_profile(profile)]}
    resource.update(elements)
    return {"fullUrl": urn(), "resource": resource}


def good_bundle() -> JSON:
    """A small care plan bundle as the export makes it: every rule kept."""
    organization = profiled(
        "Organization",
        "Organization",
        identifier=[{"system": ODS_ORGANISATION_SYSTEM, "value": "A81001"}],
        name="The Densham Surgery",
    )
    patient = profiled(
        "Patient",
        "Patient",
        identifier=[
            {
                "system": NHS_NUMBER_SYSTEM,
                "value": NHS_NUMBER,
                "extension": [
                    {
                        "url": VERIFICATION_URL,
                        "valueCodeableConcept": {
                            "coding": [{"system": VERIFICATION_SYSTEM, "code": "02"}]
                        },
                    }
                ],
            }
        ],
        name=[{"family": "Smith", "given": ["Ann"]}],
        gender="female",
        birthDate="1941-03-02",
        generalPractitioner=[ref(organization)],
    )
    goal = profiled(
        "Goal",
        None,
        lifecycleStatus="active",
        description={"text": "Stay at home with my cat"},
        subject=ref(patient),
    )
    care_plan = profiled(
        "CarePlan",
        "CarePlan",
        status="active",
        intent="plan",
        subject=ref(patient),
        author=ref(organization),
        goal=[ref(goal)],
        activity=[],
    )
    task = profiled(
        "Task",
        "Task",
        status="requested",
        intent="plan",
        basedOn=[ref(care_plan)],
        owner={"display": "District nursing team"},  # only a display: fine
        requester=ref(organization),
        description="Review pressure areas",
    )
    # The plan's activity points forwards, to the task after it.
    care_plan["resource"]["activity"] = [{"reference": ref(task)}]
    entries = [organization, patient, care_plan, goal, task]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "entry": entries,
    }


def resource(bundle: JSON, index: int) -> JSON:
    entry: JSON = bundle["entry"][index]["resource"]
    return entry


def only_violation(bundle: JSON) -> RuleViolation:
    violations = bundle_violations(bundle)
    assert len(violations) == 1, [str(violation) for violation in violations]
    return violations[0]


def messages(bundle: JSON) -> list[str]:
    return [str(violation) for violation in bundle_violations(bundle)]


def test_a_well_made_bundle_keeps_every_rule_and_parses() -> None:
    bundle = good_bundle()

    assert bundle_violations(bundle) == []
    Bundle.model_validate(bundle)  # the helper's bundle is real FHIR too


def test_the_helpers_nhs_number_is_one_the_project_accepts() -> None:
    assert normalise_nhs_number(NHS_NUMBER) == NHS_NUMBER


def test_a_violation_reads_entry_resource_and_element() -> None:
    bundle = good_bundle()
    resource(bundle, CARE_PLAN)["status"] = "banana"
    full_url = bundle["entry"][CARE_PLAN]["fullUrl"]

    violation = only_violation(bundle)

    assert (violation.entry, violation.resource_type, violation.resource_id) == (
        CARE_PLAN,
        "CarePlan",
        full_url,
    )
    assert str(violation) == (
        f"entry {CARE_PLAN} (CarePlan {full_url}): CarePlan.status 'banana' is not one of "
        "draft, active, on-hold, revoked, completed, entered-in-error, unknown."
    )


# --- 1. The bundle and its entries -------------------------------------------------


def test_a_bundle_of_another_type_is_refused() -> None:
    bundle = good_bundle()
    bundle["type"] = "document"

    violation = only_violation(bundle)

    assert violation.entry is None
    assert str(violation).startswith("bundle (Bundle): ")
    assert "Bundle.type 'document' is not 'collection'" in violation.message


def test_something_other_than_a_bundle_is_refused() -> None:
    bundle = good_bundle()
    bundle["resourceType"] = "Patient"

    assert "resourceType Patient is not 'Bundle'" in only_violation(bundle).message


@pytest.mark.parametrize(
    ("full_url", "expected"),
    [
        (None, "Bundle.entry[3] has no fullUrl"),
        ("urn:uuid:5C7F0B5E-0D2B-4E7B-9F6A-2B6E5D0F8A11", "is not urn:uuid: followed by"),
        ("urn:uuid:not-a-uuid", "is not urn:uuid: followed by"),
        ("https://example.org/Goal/1", "is not urn:uuid: followed by"),
        ("urn:uuid:5c7f0b5e-0d2b-4e7b-9f6a-2b6e5d0f8a11 ", "is not urn:uuid: followed by"),
    ],
)
def test_an_entry_needs_a_lower_case_uuid_urn(full_url: str | None, expected: str) -> None:
    bundle = good_bundle()
    if full_url is None:
        del bundle["entry"][GOAL]["fullUrl"]
    else:
        bundle["entry"][GOAL]["fullUrl"] = full_url
    # The care plan's goal reference follows the goal, so only the fullUrl rule fires.
    resource(bundle, CARE_PLAN)["goal"] = [{"display": "Stay at home"}]

    violation = only_violation(bundle)

    assert (violation.entry, violation.resource_type) == (GOAL, "Goal")
    assert expected in violation.message


def test_two_entries_may_not_share_a_full_url() -> None:
    bundle = good_bundle()
    bundle["entry"][TASK]["fullUrl"] = bundle["entry"][GOAL]["fullUrl"]
    resource(bundle, CARE_PLAN)["activity"] = []

    violation = only_violation(bundle)

    assert violation.entry == TASK
    assert f"Bundle.entry[{TASK}].fullUrl repeats the fullUrl of entry {GOAL}" in violation.message


def test_an_entry_needs_a_resource_with_a_type() -> None:
    bundle = good_bundle()
    resource(bundle, CARE_PLAN)["goal"] = []
    del resource(bundle, GOAL)["resourceType"]
    bundle["entry"].append({"fullUrl": urn()})

    assert [(v.entry, v.message) for v in bundle_violations(bundle)] == [
        (GOAL, f"Bundle.entry[{GOAL}].resource has no resourceType."),
        (5, "Bundle.entry[5] has no resource."),
    ]


# --- 2. Identifier systems ------------------------------------------------------------


def test_a_patient_needs_exactly_one_nhs_number() -> None:
    without = good_bundle()
    resource(without, PATIENT)["identifier"] = []
    twice = good_bundle()
    identifiers = resource(twice, PATIENT)["identifier"]
    identifiers.append(dict(identifiers[0], extension=[]))

    assert "Patient.identifier has no NHS number" in only_violation(without).message
    assert "Patient.identifier has 2 NHS numbers" in only_violation(twice).message


def test_an_organization_needs_an_ods_code() -> None:
    bundle = good_bundle()
    resource(bundle, ORGANIZATION)["identifier"] = [
        {"system": "https://fhir.nhs.uk/Id/ods-site-code", "value": "A81001"}
    ]

    violation = only_violation(bundle)

    assert violation.resource_type == "Organization"
    assert "Organization.identifier has no ODS code" in violation.message


@pytest.mark.parametrize("code", ["A81001", "Y02625", "JER001", "00K", "RX1", "Q74"])
def test_ods_codes_of_the_shapes_in_the_ods_files_pass(code: str) -> None:
    bundle = good_bundle()
    resource(bundle, ORGANIZATION)["identifier"][0]["value"] = code

    assert bundle_violations(bundle) == []


@pytest.mark.parametrize("code", ["a81001", "A8", "A810011", "A81 001", "A8100!", "", 81001])
def test_an_ods_code_of_another_shape_is_refused(code: object) -> None:
    bundle = good_bundle()
    resource(bundle, ORGANIZATION)["identifier"][0]["value"] = code

    violation = only_violation(bundle)

    assert violation.entry == ORGANIZATION
    assert "Organization.identifier[0].value" in violation.message
    assert "is not an ODS code" in violation.message


def test_an_ods_code_in_a_logical_reference_is_checked_too() -> None:
    bundle = good_bundle()
    resource(bundle, TASK)["owner"] = {
        "identifier": {"system": ODS_ORGANISATION_SYSTEM, "value": "not ods"}
    }

    assert "Task.owner.identifier.value (a text of 7 characters) is not an ODS code" in (
        only_violation(bundle).message
    )


@pytest.mark.parametrize(
    ("system", "meant"),
    [
        ("https://fhir.nhs.uk/Id/nhs-numbr", NHS_NUMBER_SYSTEM),
        ("http://fhir.nhs.uk/Id/nhs-number", NHS_NUMBER_SYSTEM),
        ("https://fhir.nhs.uk/id/nhs-number", NHS_NUMBER_SYSTEM),
        ("https://fhir.nhs.uk/Id/nhs-number/", NHS_NUMBER_SYSTEM),
        ("https://fhir.nhs.net/Id/nhs-number", NHS_NUMBER_SYSTEM),
        ("https://fhir.nhs.uk/Id/nhsnumber", NHS_NUMBER_SYSTEM),
        ("https://fhir.nhs.uk/Id/ods-organisation-code", ODS_ORGANISATION_SYSTEM),
        ("http://fhir.nhs.uk/Id/ods-organization-code", ODS_ORGANISATION_SYSTEM),
    ],
)
def test_a_misspelt_nhs_identifier_system_is_named(system: str, meant: str) -> None:
    bundle = good_bundle()
    index = PATIENT if meant == NHS_NUMBER_SYSTEM else ORGANIZATION
    resource(bundle, index)["identifier"][0]["system"] = system

    found = messages(bundle)

    assert any(
        f"identifier[0].system looks like a misspelling of {meant}" in message for message in found
    ), found
    # ... and the resource, having lost its real identifier, says so as well.
    assert any("has no" in message for message in found), found


def test_a_document_master_identifier_is_an_identifier_too() -> None:
    bundle, index = with_resource_of("DocumentReference")
    resource(bundle, index)["masterIdentifier"] = {
        "system": "http://fhir.nhs.uk/Id/ods-organization-code",
        "value": "A81001",
    }

    assert "DocumentReference.masterIdentifier.system" in only_violation(bundle).message


@pytest.mark.parametrize(
    "system",
    [
        "https://fhir.nhs.uk/Id/sds-user-id",
        "https://fhir.nhs.uk/Id/ods-site-code",
        "urn:mdt-desk:plan-version",
        "https://fhir.hl7.org.uk/Id/gmc-number",
    ],
)
def test_other_identifier_systems_are_left_alone(system: str) -> None:
    bundle = good_bundle()
    resource(bundle, TASK)["identifier"] = [{"system": system, "value": "1234"}]

    assert bundle_violations(bundle) == []


# --- 3. NHS numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123", "it must be 10 digits"),
        ("943 476 5919", "it must be 10 digits"),  # fine typed in a form, not in FHIR
        ("94347659１9", "it must be 10 digits"),  # a full-width digit
        (9434765919, "it must be 10 digits"),
        ("9434765918", "check digit does not match"),
        ("0101010001", "outside the ranges issued in England and Wales"),  # a Scottish CHI
    ],
)
def test_a_patient_nhs_number_must_be_one_the_project_accepts(value: object, expected: str) -> None:
    bundle = good_bundle()
    resource(bundle, PATIENT)["identifier"][0]["value"] = value

    violation = only_violation(bundle)

    assert violation.entry == PATIENT
    assert "Patient.identifier[0].value is not" in violation.message
    assert expected in violation.message
    # Messages reach logs and exceptions: never the number itself.
    assert str(value) not in str(violation)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
@example(NHS_NUMBER)
@example("9990000018")
@example("4010232137")
def test_the_rules_accept_an_nhs_number_exactly_when_the_project_does(digits: str) -> None:
    try:
        normalise_nhs_number(digits)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    bundle = good_bundle()
    resource(bundle, PATIENT)["identifier"][0]["value"] = digits

    assert (bundle_violations(bundle) == []) == accepted


@pytest.mark.parametrize(
    ("concept", "expected"),
    [
        ({"coding": [{"system": VERIFICATION_SYSTEM, "code": "09"}]}, "code '09' is not one of"),
        ({"coding": [{"system": VERIFICATION_SYSTEM, "code": "1"}]}, "code '1' is not one of"),
        ({"coding": [{"system": VERIFICATION_SYSTEM}]}, "code (missing) is not one of"),
        ({"coding": [{"system": "https://example.org/other", "code": "01"}]}, "has no value"),
        ({"text": "traced"}, "has no valueCodeableConcept coding"),
    ],
)
def test_the_nhs_number_verification_status_must_be_01_to_08(concept: JSON, expected: str) -> None:
    bundle = good_bundle()
    resource(bundle, PATIENT)["identifier"][0]["extension"][0]["valueCodeableConcept"] = concept

    violation = only_violation(bundle)

    assert "Patient.identifier[0].extension[0] (NHS number verification status)" in (
        violation.message
    )
    assert expected in violation.message


@pytest.mark.parametrize("code", ["01", "02", "03", "04", "05", "06", "07", "08"])
def test_each_verification_status_code_passes(code: str) -> None:
    bundle = good_bundle()
    extension = resource(bundle, PATIENT)["identifier"][0]["extension"][0]
    extension["valueCodeableConcept"]["coding"][0]["code"] = code

    assert bundle_violations(bundle) == []


# --- 4. Required-binding codes --------------------------------------------------------


def with_resource_of(resource_type: str) -> tuple[JSON, int]:
    """The good bundle with a resource of ``resource_type`` whose codes are all valid."""
    bundle = good_bundle()
    index = {"Patient": PATIENT, "CarePlan": CARE_PLAN, "Goal": GOAL, "Task": TASK}.get(
        resource_type
    )
    if index is None:
        elements: JSON = {rule.element: rule.codes[0] for rule in CODE_RULES[resource_type]}
        if resource_type == "Consent":
            elements["policyRule"] = OPT_IN
        bundle["entry"].append(profiled(resource_type, resource_type, **elements))
        index = len(bundle["entry"]) - 1
    assert bundle_violations(bundle) == []
    return bundle, index


CODED_ELEMENTS = [
    (resource_type, rule.element) for resource_type, rules in CODE_RULES.items() for rule in rules
]


@pytest.mark.parametrize(("resource_type", "element"), CODED_ELEMENTS)
def test_a_code_outside_the_required_value_set_is_refused(resource_type: str, element: str) -> None:
    bundle, index = with_resource_of(resource_type)
    resource(bundle, index)[element] = "banana"

    violation = only_violation(bundle)

    assert (violation.entry, violation.resource_type) == (index, resource_type)
    assert violation.message.startswith(f"{resource_type}.{element} 'banana' is not one of ")


REQUIRED = [
    (resource_type, rule.element)
    for resource_type, rules in CODE_RULES.items()
    for rule in rules
    if rule.required
]


@pytest.mark.parametrize(("resource_type", "element"), REQUIRED)
def test_a_missing_required_code_is_refused(resource_type: str, element: str) -> None:
    bundle, index = with_resource_of(resource_type)
    del resource(bundle, index)[element]

    assert only_violation(bundle).message == (
        f"{resource_type}.{element} is missing; it is required."
    )


@pytest.mark.parametrize(
    ("resource_type", "element"), [("CareTeam", "status"), ("Patient", "gender")]
)
def test_an_optional_code_may_be_left_out(resource_type: str, element: str) -> None:
    bundle, index = with_resource_of(resource_type)
    del resource(bundle, index)[element]

    assert bundle_violations(bundle) == []


@pytest.mark.parametrize(
    ("resource_type", "element", "code"),
    [
        (resource_type, rule.element, code)
        for resource_type, rules in CODE_RULES.items()
        for rule in rules
        for code in rule.codes
    ],
)
def test_every_code_of_the_value_set_passes(resource_type: str, element: str, code: str) -> None:
    bundle, index = with_resource_of(resource_type)
    resource(bundle, index)[element] = code

    assert bundle_violations(bundle) == []


@pytest.mark.parametrize(("resource_type", "element"), CODED_ELEMENTS)
def test_our_value_sets_match_the_fhir_specification(resource_type: str, element: str) -> None:
    """The tables agree with the codes fhir.resources copies from the specification.

    It lists them in its field metadata (without enforcing them), and cuts a long list
    short with "+".
    """
    import importlib

    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    model = getattr(module, resource_type)
    extra = model.model_fields[element].json_schema_extra
    published = list(extra["enum_values"])
    ours = next(rule for rule in CODE_RULES[resource_type] if rule.element == element)

    if published[-1] == "+":
        assert list(ours.codes[: len(published) - 1]) == published[:-1]
    else:
        assert list(ours.codes) == published
    assert ours.required == bool(extra.get("element_required"))


@given(
    st.sampled_from(CODED_ELEMENTS).flatmap(
        lambda coded: st.tuples(
            st.just(coded),
            st.text(max_size=20).filter(
                lambda text: (
                    text not in next(r.codes for r in CODE_RULES[coded[0]] if r.element == coded[1])
                )
            ),
        )
    )
)
def test_any_code_not_in_the_table_is_refused(case: tuple[tuple[str, str], str]) -> None:
    (resource_type, element), code = case
    bundle, index = with_resource_of(resource_type)
    resource(bundle, index)[element] = code

    violation = only_violation(bundle)

    assert violation.message.startswith(f"{resource_type}.{element} ")
    assert "is not one of" in violation.message


# --- 5. Profiles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "profiles", "expected"),
    [
        (
            PATIENT,
            [uk_core_profile("Organization")],
            "is not a UK Core profile for a Patient",
        ),
        (PATIENT, [], "Patient.meta.profile does not claim " + uk_core_profile("Patient")),
        (
            ORGANIZATION,
            [],
            "Organization.meta.profile does not claim " + uk_core_profile("Organization"),
        ),
        (
            TASK,
            ["http://hl7.org/fhir/StructureDefinition/Task"],
            "Task.meta.profile[0] 'http://hl7.org/fhir/StructureDefinition/Task' is not a UK "
            "Core profile.",
        ),
        (TASK, [uk_core_profile("Task-Lab")], "is not a UK Core profile for a Task"),
        (GOAL, [uk_core_profile("Goal")], "UK Core has no Goal profile, so claim none"),
    ],
)
def test_a_resource_claims_only_its_own_uk_core_profile(
    index: int, profiles: list[str], expected: str
) -> None:
    bundle = good_bundle()
    resource(bundle, index)["meta"] = {"profile": profiles}

    found = messages(bundle)

    assert any(expected in message for message in found), found
    assert all(message.startswith(f"entry {index} ") for message in found), found


def test_a_patient_claiming_the_organization_profile_is_told_both_things() -> None:
    bundle = good_bundle()
    resource(bundle, PATIENT)["meta"]["profile"] = [uk_core_profile("Organization")]

    assert [violation.message for violation in bundle_violations(bundle)] == [
        f"Patient.meta.profile[0] '{uk_core_profile('Organization')}' is not a UK Core "
        "profile for a Patient.",
        f"Patient.meta.profile does not claim {uk_core_profile('Patient')}.",
    ]


def test_a_versioned_profile_and_a_profile_variant_pass() -> None:
    bundle = good_bundle()
    resource(bundle, PATIENT)["meta"]["profile"] = [uk_core_profile("Patient") + "|2.0.1"]
    bundle["entry"].append(
        profiled(
            "Observation",
            "Observation-VitalSigns-BodyWeight",
            status="final",
            code={"text": "Body weight"},
        )
    )

    assert bundle_violations(bundle) == []


# --- 6. References ---------------------------------------------------------------------


def test_a_reference_to_no_entry_names_its_element() -> None:
    bundle = good_bundle()
    resource(bundle, TASK)["owner"] = {"reference": "Organization/A81001"}

    violation = only_violation(bundle)

    assert violation.entry == TASK
    assert violation.message == (
        "Task.owner refers to (a text of 19 characters), which is no entry's fullUrl in this "
        "bundle."
    )


def test_a_broken_reference_deep_in_a_list_is_placed_exactly() -> None:
    bundle = good_bundle()
    activities = resource(bundle, CARE_PLAN)["activity"]
    activities += [{"detail": {"status": "scheduled"}}, {"reference": {"reference": urn()}}]

    violation = only_violation(bundle)

    assert violation.message.startswith("CarePlan.activity[2].reference refers to urn:uuid:")


def test_references_inside_extensions_and_identifiers_are_followed() -> None:
    bundle = good_bundle()
    resource(bundle, GOAL)["extension"] = [
        {"url": "https://example.org/related", "valueReference": {"reference": urn()}}
    ]
    resource(bundle, ORGANIZATION)["identifier"][0]["assigner"] = {"reference": urn()}

    assert [violation.message.split(" refers")[0] for violation in bundle_violations(bundle)] == [
        "Organization.identifier[0].assigner",
        "Goal.extension[0].valueReference",
    ]


def test_a_reference_by_display_or_identifier_alone_is_fine() -> None:
    bundle = good_bundle()
    resource(bundle, TASK)["owner"] = {"display": "District nurses"}
    resource(bundle, TASK)["requester"] = {
        "identifier": {"system": ODS_ORGANISATION_SYSTEM, "value": "A81002"}
    }

    assert bundle_violations(bundle) == []


# --- Why these rules exist --------------------------------------------------------------


def test_fhir_resources_lets_through_what_our_rules_catch() -> None:
    bundle = good_bundle()
    resource(bundle, CARE_PLAN)["status"] = "banana"
    resource(bundle, PATIENT)["identifier"][0]["value"] = "123"

    Bundle.model_validate(bundle)  # no error: the outside library is satisfied

    assert sorted((v.entry, v.message.split(" ")[0]) for v in bundle_violations(bundle)) == [
        (PATIENT, "Patient.identifier[0].value"),
        (CARE_PLAN, "CarePlan.status"),
    ]


# --- Speed -------------------------------------------------------------------------------


def practice_bundle(people: int) -> JSON:
    """Roughly a practice's export: one practice, and each person's plan, goal and task."""
    bundle = good_bundle()
    practice_url = bundle["entry"][ORGANIZATION]["fullUrl"]
    for _ in range(people - 1):
        own = good_bundle()["entry"]
        own_practice_url = own[ORGANIZATION]["fullUrl"]
        for entry in own[PATIENT:]:
            for reference in _references(entry["resource"]):
                if reference["reference"] == own_practice_url:
                    reference["reference"] = practice_url
        bundle["entry"] += own[PATIENT:]
    return bundle


def _references(node: Any) -> list[JSON]:
    found: list[JSON] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("reference"), str):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@pytest.mark.slow
def test_a_whole_practice_is_checked_in_seconds_not_minutes() -> None:
    """100,000 resources in one pass: a lookup that went quadratic would take minutes.

    CPU time, with room to spare, so a busy test machine does not fail it (measured:
    about 0.8 s of CPU on a loaded 2-CPU machine).
    """
    bundle = practice_bundle(25_000)
    assert len(bundle["entry"]) == 1 + 4 * 25_000  # the practice, and four per person

    started = time.process_time()
    violations = bundle_violations(bundle)
    elapsed = time.process_time() - started

    assert violations == []
    assert elapsed < 5.0, f"{elapsed:.2f} s of CPU for {len(bundle['entry'])} resources"


# --- 7. Consent policy (FHIR R4 ppc-1) ---------------------------------------------------


def _with_consent(**elements: Any) -> tuple[JSON, int]:
    bundle = good_bundle()
    bundle["entry"].append(profiled("Consent", "Consent", status="active", **elements))
    return bundle, len(bundle["entry"]) - 1


def test_a_consent_without_policy_or_policy_rule_breaks_ppc_1() -> None:
    bundle, index = _with_consent()

    violation = only_violation(bundle)

    assert violation.entry == index
    assert violation.message == (
        "Consent has neither policy nor policyRule; FHIR R4 requires one (ppc-1)."
    )


@pytest.mark.parametrize(
    "elements",
    [{"policyRule": OPT_IN}, {"policy": [{"uri": "https://example.org/sharing-policy"}]}],
    ids=["policyRule", "policy"],
)
def test_a_consent_with_a_policy_or_a_policy_rule_keeps_ppc_1(elements: JSON) -> None:
    bundle, _index = _with_consent(**elements)

    assert bundle_violations(bundle) == []


# --- 8. Hostile input ----------------------------------------------------------------------


def test_a_resource_nested_thousands_deep_is_walked_without_exhausting_the_stack() -> None:
    bundle = good_bundle()
    extension: JSON = {"url": "https://example.org/x", "valueReference": {"reference": urn()}}
    for _ in range(5000):
        extension = {"url": "https://example.org/x", "extension": [extension]}
    resource(bundle, GOAL)["extension"] = [extension]

    violation = only_violation(bundle)

    assert violation.message.startswith("Goal.extension[0].extension[0].extension[0]")
    assert "valueReference refers to urn:uuid:" in violation.message


def test_the_nesting_depth_is_counted_without_recursion_and_stops_early() -> None:
    deep: JSON = {}
    for _ in range(100_000):
        deep = {"a": [deep]}

    assert nesting_depth({"a": [{"b": 1}]}) == 3
    assert MAX_NESTING < nesting_depth(deep) <= MAX_NESTING + 1


PLANTED = "Jane Smith 9992430109"


def test_no_rule_message_shows_a_name_or_nhs_number_from_the_file() -> None:
    bundle = good_bundle()
    bundle["entry"][TASK]["fullUrl"] = f"urn:uuid:{PLANTED}"
    resource(bundle, TASK)["status"] = PLANTED
    resource(bundle, TASK)["requester"] = {"reference": f"Organization/{PLANTED}"}
    resource(bundle, PATIENT)["meta"]["profile"] = [f"https://example.org/{PLANTED}"]
    resource(bundle, PATIENT)["gender"] = PLANTED
    resource(bundle, PATIENT)["identifier"][0]["value"] = "9992430108"
    resource(bundle, ORGANIZATION)["identifier"][0]["value"] = PLANTED
    bundle["entry"][GOAL]["resource"]["resourceType"] = PLANTED

    found = messages(bundle)

    assert len(found) >= 8, found
    for message in found:
        assert "999243010" not in message and "Jane" not in message, message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("banana", "'banana'"),
        ("on-hold", "'on-hold'"),
        ("01", "'01'"),
        ("9992430109", "(a text of 10 characters)"),
        ("Jane", "(a text of 4 characters)"),
        ("two words", "(a text of 9 characters)"),
        ("x" * 41, "(a text of 41 characters)"),
        (9992430109, "(a number)"),
        (None, "(missing)"),
    ],
)
def test_a_value_is_shown_only_when_it_is_a_short_code(value: object, shown: str) -> None:
    assert shown_value(value) == shown
