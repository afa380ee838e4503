"""Our own rules for an exported or imported FHIR bundle, on top of ``fhir.resources``.

``fhir.resources`` checks structure (types, required elements, unknown elements) but not
required-binding codes, profiles or identifier content: it accepts ``CarePlan.status =
"banana"`` and a 3-digit NHS number. These rules close those gaps (docs/interop.md).

The rules read the bundle as parsed JSON (plain dicts and lists, as ``json.loads`` gives)
in one pass, copying nothing: the export runs them on every bundle, a whole practice of
some 100,000 resources included. The pass is iterative, so a hostile file nested
thousands of levels deep cannot exhaust the stack.

A message names the element but echoes nothing a file could plant a name or an NHS
number in: an entry is named by its index, its resource type and its fullUrl only
when that is a well-formed ``urn:uuid:``; a wrong value is shown only when it is a short
code (:func:`shown_value`), else described by its kind and length. So a message is
safe to show, log or put in an exception.
"""

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mdt_desk.errors import ValidationError
from mdt_desk.services.fhir.codes import (
    NHS_NUMBER_VERIFICATION_SYSTEM,
    NHS_NUMBER_VERIFICATION_URL,
)
from mdt_desk.services.validation import normalise_nhs_number

#: UK Core identifier systems (fixed by the UKCore-Patient and UKCore-Organization slices).
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_ORGANISATION_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"

#: Every UK Core profile's canonical URL starts with this.
UK_CORE_PROFILE_PREFIX = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def uk_core_profile(name: str) -> str:
    """The canonical URL of the UK Core profile for ``name`` (e.g. ``"Patient"``)."""
    return UK_CORE_PROFILE_PREFIX + name


#: Codes of the NHS number verification status extension (England): 01 "Number present
#: and verified" to 08 "Trace postponed (baby under six weeks old)".
NHS_NUMBER_VERIFICATION_CODES = ("01", "02", "03", "04", "05", "06", "07", "08")

#: The UK Core profiles (R4; the NHS England UK Core staging repository, June 2025) by
#: resource type. A resource type missing here (Goal) has no UK Core profile, so it
#: claims none.
UK_CORE_PROFILES: Mapping[str, frozenset[str]] = {
    resource_type: frozenset(uk_core_profile(name) for name in names)
    for resource_type, names in {
        "AllergyIntolerance": ("AllergyIntolerance",),
        "Appointment": ("Appointment",),
        "AuditEvent": ("AuditEvent",),
        "BodyStructure": ("BodyStructure",),
        "Bundle": ("Bundle",),
        "CarePlan": ("CarePlan",),
        "CareTeam": ("CareTeam",),
        "Communication": ("Communication",),
        "Composition": ("Composition",),
        "Condition": ("Condition",),
        "Consent": ("Consent",),
        "Device": ("Device", "Device-BloodPressure"),
        "DiagnosticReport": ("DiagnosticReport", "DiagnosticReport-Lab"),
        "DocumentReference": ("DocumentReference",),
        "Encounter": ("Encounter",),
        "EpisodeOfCare": ("EpisodeOfCare",),
        "FamilyMemberHistory": ("FamilyMemberHistory",),
        "Flag": ("Flag",),
        "HealthcareService": ("HealthcareService",),
        "ImagingStudy": ("ImagingStudy",),
        "Immunization": ("Immunization",),
        "List": ("List",),
        "Location": ("Location",),
        "Medication": ("Medication",),
        "MedicationAdministration": ("MedicationAdministration",),
        "MedicationDispense": ("MedicationDispense",),
        "MedicationRequest": ("MedicationRequest",),
        "MedicationStatement": ("MedicationStatement",),
        "MessageHeader": ("MessageHeader",),
        "Observation": (
            "Observation",
            "Observation-ACVPU",
            "Observation-AlcoholConsumption",
            "Observation-AverageBloodPressure",
            "Observation-BloodGlucose",
            "Observation-EarlyWarningTotalScore",
            "Observation-Group-Lab",
            "Observation-InspiredOxygen",
            "Observation-Lab",
            "Observation-TobaccoConsumption",
            "Observation-VitalSigns",
            "Observation-VitalSigns-BMI",
            "Observation-VitalSigns-BloodPressure",
            "Observation-VitalSigns-BodyHeight",
            "Observation-VitalSigns-BodyTemperature",
            "Observation-VitalSigns-BodyWeight",
            "Observation-VitalSigns-HeadCircumference",
            "Observation-VitalSigns-HeartRate",
            "Observation-VitalSigns-OxygenSaturation",
            "Observation-VitalSigns-RespirationRate",
        ),
        "OperationOutcome": ("OperationOutcome",),
        "Organization": ("Organization",),
        "OrganizationAffiliation": ("OrganizationAffiliation",),
        "Patient": ("Patient",),
        "Practitioner": ("Practitioner",),
        "PractitionerRole": ("PractitionerRole",),
        "Procedure": ("Procedure",),
        "Provenance": ("Provenance",),
        "Questionnaire": ("Questionnaire",),
        "QuestionnaireResponse": ("QuestionnaireResponse",),
        "RelatedPerson": ("RelatedPerson",),
        "RequestGroup": ("RequestGroup",),
        "Schedule": ("Schedule",),
        "ServiceRequest": ("ServiceRequest", "ServiceRequest-Lab"),
        "Slot": ("Slot",),
        "Specimen": ("Specimen",),
        "Subscription": ("Subscription",),
        "Task": ("Task",),
    }.items()
}

#: Resource types whose UK Core profile our contract requires them to claim.
PROFILE_REQUIRED = ("Patient", "Organization")


@dataclass(frozen=True)
class CodeRule:
    """A coded element bound to a required value set in FHIR R4 (4.0.1).

    ``codes`` keeps the specification's order, for the message.
    """

    element: str
    codes: tuple[str, ...]
    required: bool


#: Required bindings checked, by resource type (FHIR R4 4.0.1 value sets; cardinality
#: from the base resource: CareTeam.status and Patient.gender may be left out).
CODE_RULES: Mapping[str, tuple[CodeRule, ...]] = {
    "CarePlan": (
        CodeRule(
            "status",
            (
                "draft",
                "active",
                "on-hold",
                "revoked",
                "completed",
                "entered-in-error",
                "unknown",
            ),
            required=True,
        ),
        CodeRule("intent", ("proposal", "plan", "order", "option"), required=True),
    ),
    "Task": (
        CodeRule(
            "status",
            (
                "draft",
                "requested",
                "received",
                "accepted",
                "rejected",
                "ready",
                "cancelled",
                "in-progress",
                "on-hold",
                "failed",
                "completed",
                "entered-in-error",
            ),
            required=True,
        ),
        CodeRule(
            "intent",
            (
                "unknown",
                "proposal",
                "plan",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            ),
            required=True,
        ),
    ),
    "Goal": (
        CodeRule(
            "lifecycleStatus",
            (
                "proposed",
                "planned",
                "accepted",
                "active",
                "on-hold",
                "completed",
                "cancelled",
                "entered-in-error",
                "rejected",
            ),
            required=True,
        ),
    ),
    "EpisodeOfCare": (
        CodeRule(
            "status",
            (
                "planned",
                "waitlist",
                "active",
                "onhold",
                "finished",
                "cancelled",
                "entered-in-error",
            ),
            required=True,
        ),
    ),
    "CareTeam": (
        CodeRule(
            "status",
            ("proposed", "active", "suspended", "inactive", "entered-in-error"),
            required=False,
        ),
    ),
    "Flag": (CodeRule("status", ("active", "inactive", "entered-in-error"), required=True),),
    "Consent": (
        CodeRule(
            "status",
            ("draft", "proposed", "active", "rejected", "inactive", "entered-in-error"),
            required=True,
        ),
    ),
    "Encounter": (
        CodeRule(
            "status",
            (
                "planned",
                "arrived",
                "triaged",
                "in-progress",
                "onleave",
                "finished",
                "cancelled",
                "entered-in-error",
                "unknown",
            ),
            required=True,
        ),
    ),
    "DocumentReference": (
        CodeRule("status", ("current", "superseded", "entered-in-error"), required=True),
    ),
    "Patient": (CodeRule("gender", ("male", "female", "other", "unknown"), required=False),),
}

# A fullUrl is a lower-case UUID URN (RFC 4122 writes UUIDs in lower case on output).
_UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Any UUID URN, either case: safe to show in a message (it holds nothing but hex).
_ANY_UUID_URN = re.compile(
    r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
# A value shown in a message as it is: a short code, such as a status ("banana" too).
# Spaces, capitals and long values are never shown: they may be a name or free text.
_SHOWN_CODE = re.compile(r"[a-z0-9-]{1,40}")
# More digits than a code needs could be (part of) an NHS number or a date of birth.
_MAX_DIGITS_SHOWN = 4
# An element name or resource type shown as given (FHIR's own names have this shape;
# a leading underscore carries a primitive's extensions).
_SHOWN_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9]{0,63}")
#: Any resource nested deeper than this (objects and lists counted) is refused unread:
#: the export's deepest element sits some 8 levels down.
MAX_NESTING = 64
# Any ODS code (a trust "RX1", a commissioner "00K", a practice "A81001", a Channel
# Islands practice "JER001"): the 3- to 6-character shapes seen in the ODS files.
_ODS_CODE = re.compile(r"[A-Z0-9]{3,6}")

#: Identifier systems a misspelling is measured against.
_NHS_IDENTIFIER_SYSTEMS = (NHS_NUMBER_SYSTEM, ODS_ORGANISATION_SYSTEM)
#: Edits (letters added, dropped or changed) within which a system is taken for a
#: misspelling of an NHS one rather than another system altogether.
_MISSPELLING_EDITS = 2


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule, placed in the bundle.

    Attributes:
        entry: index in ``Bundle.entry``; None for the bundle itself.
        resource_type: of the resource at fault (``"Bundle"`` for the bundle).
        resource_id: its fullUrl when that is a well-formed ``urn:uuid:`` (else empty),
            for the message.
        message: plain English naming the element, e.g. ``CarePlan.status 'banana' is
            not one of draft, active, …``.
    """

    entry: int | None
    resource_type: str
    resource_id: str
    message: str

    def __str__(self) -> str:
        # Both were made safe to show when the violation was found.
        name = f"{self.resource_type} {self.resource_id}".strip()
        where = "bundle" if self.entry is None else f"entry {self.entry}"
        return f"{where} ({name}): {self.message}"


def bundle_violations(bundle: Mapping[str, Any]) -> list[RuleViolation]:
    """Every rule the bundle breaks, in entry order; empty when it keeps them all.

    Args:
        bundle: a Bundle as parsed JSON (dicts and lists, as ``json.loads`` gives).
    """
    return _BundleCheck(bundle).violations


#: Elements of type Identifier, wherever they sit (a resource's own, or a Reference's).
_IDENTIFIER_ELEMENTS = frozenset({"identifier", "masterIdentifier"})


class _BundleCheck:
    """One pass over the bundle, entry by entry, collecting what is wrong.

    Holds the entry in hand and the path to the element being looked at (keys and list
    indexes, pushed and popped); the path is spelt out only for a message, so a sound
    resource costs no string building.
    """

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.violations: list[RuleViolation] = []
        self._entry: int | None = None
        self._resource_type = "Bundle"
        self._resource_id = ""
        self._path: list[str | int] = []
        self._full_urls: dict[str, int] = {}

        if bundle.get("resourceType") != "Bundle":
            self._report(f"resourceType {shown_name(bundle.get('resourceType'))} is not 'Bundle'.")
            return
        if bundle.get("type") != "collection":
            self._report(f"Bundle.type {shown_value(bundle.get('type'))} is not 'collection'.")
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            self._report("Bundle.entry is not a list.")
            return
        # fullUrls first: a reference may point forwards to a later entry.
        for index, entry in enumerate(entries):
            full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
            if isinstance(full_url, str):
                self._full_urls.setdefault(full_url, index)
        for index, entry in enumerate(entries):
            self._check_entry(index, entry)

    def _report(self, message: str) -> None:
        self.violations.append(
            RuleViolation(self._entry, self._resource_type, self._resource_id, message)
        )

    def _check_entry(self, index: int, entry: Any) -> None:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            resource = {}
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        resource_type = resource.get("resourceType")
        self._entry = index
        self._resource_type = shown_name(resource_type) if isinstance(resource_type, str) else "?"
        self._resource_id = shown_url(full_url) if _is_uuid_urn(full_url) else ""

        if full_url is None:
            self._report(f"Bundle.entry[{index}] has no fullUrl.")
        elif not isinstance(full_url, str) or not _UUID_URN.fullmatch(full_url):
            self._report(
                f"Bundle.entry[{index}].fullUrl {shown_url(full_url)} is not urn:uuid: "
                "followed by a lower-case UUID."
            )
        elif self._full_urls[full_url] != index:
            self._report(
                f"Bundle.entry[{index}].fullUrl repeats the fullUrl of entry "
                f"{self._full_urls[full_url]}."
            )
        if not resource:
            self._report(f"Bundle.entry[{index}] has no resource.")
            return
        if not isinstance(resource_type, str) or not resource_type:
            self._report(f"Bundle.entry[{index}].resource has no resourceType.")
            return

        for rule in CODE_RULES.get(resource_type, ()):
            self._check_code(resource, rule)
        self._check_profiles(resource)
        if resource_type == "Patient":
            self._check_identifier_count(resource, NHS_NUMBER_SYSTEM, "NHS number")
        elif resource_type == "Organization":
            self._check_identifier_count(resource, ODS_ORGANISATION_SYSTEM, "ODS code")
        elif resource_type == "Consent":
            self._check_consent_policy(resource)
        self._walk(resource)

    def _check_consent_policy(self, resource: Mapping[str, Any]) -> None:
        # FHIR R4 invariant ppc-1: "Either a Policy or PolicyRule".
        if not resource.get("policy") and not resource.get("policyRule"):
            self._report("Consent has neither policy nor policyRule; FHIR R4 requires one (ppc-1).")

    def _check_code(self, resource: Mapping[str, Any], rule: CodeRule) -> None:
        value = resource.get(rule.element)
        if value in rule.codes:
            return
        element = f"{self._resource_type}.{rule.element}"
        if value is None:
            if rule.required:
                self._report(f"{element} is missing; it is required.")
        else:
            self._report(f"{element} {shown_value(value)} is not one of {', '.join(rule.codes)}.")

    def _check_profiles(self, resource: Mapping[str, Any]) -> None:
        resource_type = self._resource_type
        meta = resource.get("meta")
        profiles = meta.get("profile", []) if isinstance(meta, dict) else []
        if not isinstance(profiles, list):
            self._report(f"{resource_type}.meta.profile is not a list.")
            return
        allowed = UK_CORE_PROFILES.get(resource_type, frozenset())
        claimed = False
        for position, profile in enumerate(profiles):
            # A canonical may pin a version ("…|2.0.1"); the profile is the part before.
            url = profile.partition("|")[0] if isinstance(profile, str) else profile
            if isinstance(url, str) and url in allowed:
                claimed = True
                continue
            element = f"{resource_type}.meta.profile[{position}] {_shown_profile(profile)}"
            if not allowed:
                self._report(f"{element}: UK Core has no {resource_type} profile, so claim none.")
            elif isinstance(url, str) and url.startswith(UK_CORE_PROFILE_PREFIX):
                self._report(f"{element} is not a UK Core profile for a {resource_type}.")
            else:
                self._report(f"{element} is not a UK Core profile.")
        if resource_type in PROFILE_REQUIRED and not claimed:
            self._report(
                f"{resource_type}.meta.profile does not claim {uk_core_profile(resource_type)}."
            )

    def _check_identifier_count(self, resource: Mapping[str, Any], system: str, what: str) -> None:
        identifiers = resource.get("identifier", [])
        element = f"{self._resource_type}.identifier"
        if not isinstance(identifiers, list):
            self._report(f"{element} is not a list.")
            return
        count = sum(
            1
            for identifier in identifiers
            if isinstance(identifier, dict) and identifier.get("system") == system
        )
        if count == 0:
            self._report(f"{element} has no {what} (system {system}).")
        elif count > 1:
            self._report(f"{element} has {count} {what}s (system {system}); one only.")

    def _walk(self, resource: Mapping[str, Any]) -> None:
        """References and identifiers, wherever nested in the resource.

        A stack of iterators rather than recursion: a file nested thousands of levels
        deep is read to the end instead of exhausting Python's stack.
        """
        path = self._path
        # Each level: its (key or index, value) pairs, and whether its dicts are
        # Identifiers (the items of an "identifier" list).
        stack: list[tuple[Iterator[tuple[Any, Any]], bool]] = [(iter(resource.items()), False)]
        while stack:
            items, holds_identifiers = stack[-1]
            for key, value in items:
                # type() rather than isinstance(), and strings first: parsed JSON holds
                # exact types, mostly strings, and this loop runs for every element.
                kind = type(value)
                if kind is str:
                    if key == "reference" and value not in self._full_urls:
                        # A Reference with only a display, or only an identifier, has no
                        # "reference" string and is fine; one that has it must resolve.
                        self._report(
                            f"{self._where()} refers to {shown_url(value)}, which is no "
                            "entry's fullUrl in this bundle."
                        )
                elif kind is dict:
                    path.append(key)
                    if holds_identifiers or key in _IDENTIFIER_ELEMENTS:
                        self._check_identifier(value)
                    stack.append((iter(value.items()), False))
                    break
                elif kind is list:
                    path.append(key)
                    stack.append((enumerate(value), key in _IDENTIFIER_ELEMENTS))
                    break
            else:  # this level is done
                stack.pop()
                if stack:
                    path.pop()

    def _where(self, *more: str | int) -> str:
        parts = [self._resource_type]
        for part in (*self._path, *more):
            parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        return "".join(parts)

    def _check_identifier(self, identifier: Mapping[str, Any]) -> None:
        system = identifier.get("system")
        if system == NHS_NUMBER_SYSTEM:
            self._check_nhs_number(identifier)
        elif system == ODS_ORGANISATION_SYSTEM:
            value = identifier.get("value")
            if not isinstance(value, str) or not _ODS_CODE.fullmatch(value):
                self._report(
                    f"{self._where('value')} {shown_value(value)} is not an ODS code (3 to 6 "
                    "upper-case letters and digits, such as A81001)."
                )
        elif isinstance(system, str) and (meant := _misspelt_nhs_system(system)):
            # The system itself is not echoed: it is whatever the file says.
            self._report(f"{self._where('system')} looks like a misspelling of {meant}.")

    def _check_nhs_number(self, identifier: Mapping[str, Any]) -> None:
        # The number itself stays out of every message (they reach logs and exceptions).
        value = identifier.get("value")
        if not (
            isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit()
        ):
            self._report(f"{self._where('value')} is not an NHS number: it must be 10 digits.")
        elif not is_acceptable_nhs_number(value):
            self._report(
                f"{self._where('value')} is not a valid NHS number: its check digit does "
                "not match, or it is outside the ranges issued in England and Wales."
            )
        extensions = identifier.get("extension", [])
        for position, extension in enumerate(extensions if isinstance(extensions, list) else []):
            if isinstance(extension, dict) and extension.get("url") == NHS_NUMBER_VERIFICATION_URL:
                self._check_verification_status(extension, position)

    def _check_verification_status(self, extension: Mapping[str, Any], position: int) -> None:
        concept = extension.get("valueCodeableConcept")
        codings = concept.get("coding", []) if isinstance(concept, dict) else []
        codes = [
            coding.get("code")
            for coding in (codings if isinstance(codings, list) else [])
            if isinstance(coding, dict) and coding.get("system") == NHS_NUMBER_VERIFICATION_SYSTEM
        ]
        wrong = [code for code in codes if code not in NHS_NUMBER_VERIFICATION_CODES]
        if codes and not wrong:
            return
        where = self._where("extension", position) + " (NHS number verification status)"
        if not codes:
            self._report(
                f"{where} has no valueCodeableConcept coding in {NHS_NUMBER_VERIFICATION_SYSTEM}."
            )
        for code in wrong:
            self._report(f"{where} code {shown_value(code)} is not one of 01 to 08.")


def is_acceptable_nhs_number(digits: str) -> bool:
    """True when the project's own NHS number check accepts these 10 digits."""
    try:
        normalise_nhs_number(digits)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _misspelt_nhs_system(system: str) -> str | None:
    """The NHS identifier system ``system`` is a near miss of, if any.

    Cached: a bundle repeats the same few systems on thousands of identifiers.
    """
    squashed = _squashed(system)
    for known in _NHS_IDENTIFIER_SYSTEMS:
        if _within_edits(squashed, _squashed(known), _MISSPELLING_EDITS):
            return known
    return None


def _squashed(system: str) -> str:
    """A system with the differences a reader would not notice taken out.

    Case, http or https, "www.", a trailing slash, and the host NHS FHIR identifiers
    used before UK Core (fhir.nhs.net).
    """
    text = system.strip().lower()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    text = text.removeprefix("www.").rstrip("/")
    return text.replace("fhir.nhs.net/", "fhir.nhs.uk/", 1)


def _within_edits(first: str, second: str, limit: int) -> bool:
    """True when ``first`` becomes ``second`` in ``limit`` edits or fewer (Levenshtein)."""
    if abs(len(first) - len(second)) > limit:
        return False
    previous = list(range(len(second) + 1))
    for row, letter in enumerate(first, start=1):
        current = [row]
        for column, other in enumerate(second, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (letter != other),
                )
            )
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def _is_uuid_urn(value: object) -> bool:
    return isinstance(value, str) and _ANY_UUID_URN.fullmatch(value) is not None


_KINDS: Mapping[type, str] = {
    int: "(a number)",
    float: "(a number)",
    dict: "(an object)",
    list: "(a list)",
}


def _characters(count: int) -> str:
    return "1 character" if count == 1 else f"{count:,} characters"


def described(value: object) -> str:
    """What ``value`` is, without a word of it: ``(a text of 19 characters)``."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"(a text of {_characters(len(value))})" if value else "(an empty text)"
    return _KINDS.get(type(value), f"(a {type(value).__name__})")


def shown_value(value: object) -> str:
    """A wrong value for a message: quoted when it is a short code, else described.

    A short lower-case code ("banana", "on-hold", "01") is shown, so a wrong status can
    be put right; anything else (spaces, capitals, a run of digits, a long text, a
    number) could be a name, an NHS number or free text, so only its kind and length
    are given.
    """
    if (
        isinstance(value, str)
        and _SHOWN_CODE.fullmatch(value)
        and sum(character.isdigit() for character in value) <= _MAX_DIGITS_SHOWN
    ):
        return repr(value)
    return described(value)


def shown_name(name: object) -> str:
    """An element name or resource type for a message: as given when it has the shape
    of a FHIR name (letters and digits, 64 at most), else described."""
    if isinstance(name, str) and _SHOWN_NAME.fullmatch(name):
        return name
    if isinstance(name, str):
        return f"(a name of {_characters(len(name))})"
    return described(name)


def shown_url(url: object) -> str:
    """A fullUrl or reference for a message: itself when a well-formed ``urn:uuid:``
    (nothing but hex), else described."""
    return url if isinstance(url, str) and _is_uuid_urn(url) else described(url)


#: Profiles a message may quote: UK Core's and the base resources' (our constants).
_KNOWN_PROFILES = frozenset().union(
    *UK_CORE_PROFILES.values(),
    (f"http://hl7.org/fhir/StructureDefinition/{name}" for name in (*UK_CORE_PROFILES, "Goal")),
)


def _shown_profile(profile: object) -> str:
    """A claimed profile: quoted when it is a UK Core or base FHIR one (our own
    constants, or FHIR's), else described."""
    url = profile.partition("|")[0] if isinstance(profile, str) else profile
    if isinstance(url, str) and url in _KNOWN_PROFILES:
        return repr(url)
    return described(profile)


def nesting_depth(value: object, limit: int = MAX_NESTING) -> int:
    """How deep ``value`` nests (objects and lists each a level), counted without
    recursion; counting stops once past ``limit``, so a hostile file costs little."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest
