"""Read a care plan bundle back into a store: the inverse of :mod:`.export`.

An import is the first step towards taking in a plan from another team, so it trusts
nothing in the file. It checks in three rounds and writes only when all three pass:

1. **Text.** The file must be JSON (a fault is named by line and column) holding a
   Bundle of type ``collection``.
2. **Structure and our rules.** Each entry's resource is checked on its own by
   ``fhir.resources`` (R4B, the nearest it ships to R4), so a fault is named by entry
   and resource type (a resource nested deeper than any we write is refused unread, and
   one holding ``contained`` resources is refused); then the whole bundle by our rules
   (:func:`~mdt_desk.services.fhir.rules.bundle_violations`).
3. **Meaning.** Each resource is read into the rows it stands for, with the checks a
   person typing the same values would meet (NHS number, names, postcode, dates; free
   text in NFC, without invisible characters, no longer than its column), and the links
   between resources the export makes (a Task's owner is a Practitioner in the bundle,
   a CarePlan has its EpisodeOfCare, ...). A person already in the store is refused,
   never merged, in one problem (not one more for each of their rows).

All of it but what depends on the store's contents can run before a store is opened
(:func:`check_bundle_text`), so a command refuses a wrong file without asking for a
store's passphrase. Every problem found is reported, not only the first. Only then are
the rows written, inside a savepoint of the caller's write session, with the ids the
bundle gives: ``urn:uuid:<id>`` becomes the row id, so the import exports again byte for
byte. The CarePlan, CareTeam and PractitionerRole have derived ids and are not rows of
ours; they are paired through their references instead. Staff come without roles or a
PIN, so a store filled by an import stays in set-up (contracts, point 4).
"""

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import nhs_number
import pydantic
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError, ValidationError
from mdt_desk.models import (
    Action,
    Alert,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    Goal,
    OutcomeEvent,
    Patient,
    Practice,
    PrintRecord,
    Staff,
    SyncedRecord,
)
from mdt_desk.models.enums import (
    AlertKind,
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    DischargeDestination,
    DocumentKind,
    NotAcceptedReason,
    OutcomeEventKind,
    PracticeStatus,
    Profession,
    ReferralSource,
)
from mdt_desk.services.access import Permission, requires
from mdt_desk.services.actions import london_today
from mdt_desk.services.display import label
from mdt_desk.services.fhir import codes
from mdt_desk.services.fhir.rules import (
    CODE_RULES,
    MAX_NESTING,
    NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
    RuleViolation,
    bundle_violations,
    nesting_depth,
    shown_name,
    shown_url,
    shown_value,
)
from mdt_desk.services.ids import practice_id_for
from mdt_desk.services.text_safety import (
    BIDI_CONTROLS,
    check_name,
    describe_character,
    nfc,
)
from mdt_desk.services.validation import (
    check_date_of_birth,
    normalise_nhs_number,
    normalise_postcode,
    require_name,
)

JSON = dict[str, Any]
_E = TypeVar("_E", bound=Any)

#: Problems listed in full; the rest are counted ("… and 12 more").
MAX_PROBLEMS_SHOWN = 50
#: Structural faults listed per resource: the first few say what is wrong.
_MAX_PER_RESOURCE = 5
#: The referral reason of an imported case: the bundle does not carry one.
IMPORTED_REFERRAL_REASON = "Imported from a FHIR care plan."
#: Rows checked against the store per query (SQLite's bound-parameter limit stays far off).
_CHUNK = 500

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URN = "urn:uuid:"
#: How the export starts each entry's line (one entry a line, after the bundle's head).
_ENTRY_LINE_START = '{"fullUrl": '
#: Said when a code differs from an allowed one only by its capitals.
_LOWER_CASE_HINT = " (codes are lower case)"


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "a goal", "an action", "an Organization"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class FhirImportError(UserError):
    """The bundle was refused; nothing was written.

    Attributes:
        problems: one plain-English line per problem, each naming the line and column
            (a file that is not JSON) or the entry index (and its line, when the file has
            one entry a line, as the export writes it), resource type and fullUrl (when
            it is a ``urn:uuid:``); at most :data:`MAX_PROBLEMS_SHOWN` of them, then one
            line counting the rest. No line repeats text from the file beyond a short
            code (:func:`~mdt_desk.services.fhir.rules.shown_value`): never a name, an
            NHS number or free text.
        total: how many problems were found in all.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.total = len(problems)
        shown = list(problems[:MAX_PROBLEMS_SHOWN])
        if self.total > MAX_PROBLEMS_SHOWN:
            shown.append(f"… and {self.total - MAX_PROBLEMS_SHOWN} more problems.")
        self.problems: tuple[str, ...] = tuple(shown)
        found = "1 problem" if self.total == 1 else f"{self.total} problems"
        super().__init__(
            f"The bundle was not imported ({found}); nothing was written.\n"
            + "\n".join(self.problems)
        )


@dataclass(frozen=True)
class FhirImportReport:
    """What one import wrote.

    Attributes:
        people: patients added (each with their case, when the bundle has one).
        staff: staff members added (without roles or a PIN).
        practices: practices added.
        resources: entries read from the bundle.
        staff_reused: Practitioners already in the store, left as they were.
        practices_reused: Organizations already in the store (same ODS code), left as
            they were.
        patient_ids: the people added.
    """

    people: int
    staff: int
    practices: int
    resources: int
    staff_reused: int = 0
    practices_reused: int = 0
    patient_ids: tuple[uuid.UUID, ...] = ()

    def summary(self) -> str:
        """One sentence for the command line or a message box."""

        def count(number: int, noun: str, plural: str | None = None) -> str:
            return f"{number} {noun if number == 1 else plural or noun + 's'}"

        added = (
            f"Imported {count(self.people, 'person', 'people')}, "
            f"{count(self.staff, 'staff member')} and {count(self.practices, 'practice')} "
            f"from {count(self.resources, 'resource')}"
        )
        reused = []
        if self.staff_reused:
            reused.append(count(self.staff_reused, "staff member"))
        if self.practices_reused:
            reused.append(count(self.practices_reused, "practice"))
        if reused:
            added += f" ({' and '.join(reused)} already here, kept as they were)"
        return added + "."


@dataclass(frozen=True)
class _Entry:
    """One entry of the bundle, as read."""

    index: int
    url: str
    type: str
    resource: JSON
    line: int | None = None

    @property
    def where(self) -> str:
        # The fullUrl is shown only when it is a urn:uuid: anything else could hold a
        # name or an NHS number.
        url = shown_url(self.url)
        name = shown_name(self.type) + (f" {url}" if url == self.url else "")
        return _entry_label(self.index, self.line, name)


def _entry_label(index: int, line: int | None, name: str) -> str:
    """``entry 5 (line 7, Patient urn:uuid:…)``; the line only when the file has one
    entry a line, as the export writes it."""
    return f"entry {index} ({'' if line is None else f'line {line}, '}{name})"


def _entry_lines(text: str, count: int) -> list[int] | None:
    """The line each entry starts on, when the text has the export's layout (each entry
    on a line of its own); else None. One pass over the text."""
    starts: list[int] = []
    line = 1
    position = 0
    while True:
        if text.startswith(_ENTRY_LINE_START, position):
            starts.append(line)
        newline = text.find("\n", position)
        if newline < 0:
            break
        position = newline + 1
        line += 1
    return starts if len(starts) == count else None


class _ResourceRefusedError(Exception):
    """One resource cannot be read; the message says why (the entry is added later)."""


def _refuse(message: str) -> NoReturn:
    raise _ResourceRefusedError(message)


# -- round 1: the text ----------------------------------------------------------------


def _parse(text: str) -> JSON:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as error:
        raise FhirImportError(
            [
                f"line {error.lineno}, column {error.colno}: the file is not valid JSON "
                f"({error.msg}). Was it cut short or edited by hand?"
            ]
        ) from None
    except RecursionError:
        raise FhirImportError(["The file's JSON is nested too deeply to read."]) from None
    except ValueError:
        # Python refuses to read an integer of more than 4,300 digits (a guard against
        # slow conversions); no FHIR value is anywhere near that long.
        raise FhirImportError(
            ["The file holds a number too long to read (thousands of digits)."]
        ) from None
    if not isinstance(bundle, dict):
        raise FhirImportError(
            [
                "The file holds JSON, but not a FHIR resource: expected an object with "
                '"resourceType": "Bundle".'
            ]
        )
    resource_type = bundle.get("resourceType")
    if resource_type != "Bundle":
        shown = _a(shown_name(resource_type)) if resource_type else "no resourceType"
        raise FhirImportError(
            [
                f"The file holds {shown}, not a Bundle: MDT Desk imports a Bundle of type "
                "collection, as its FHIR export writes."
            ]
        )
    if bundle.get("type") != "collection":
        raise FhirImportError(
            [
                f"The Bundle's type is {shown_value(bundle.get('type'))}, not 'collection': MDT "
                "Desk imports a collection of resources, as its FHIR export writes."
            ]
        )
    if not isinstance(bundle.get("entry", []), list):
        raise FhirImportError(["Bundle.entry is not a list of entries."])
    return bundle


# -- round 2: structure and our rules -------------------------------------------------


def _entries(bundle: JSON, lines: Sequence[int] | None) -> list[_Entry | None]:
    entries: list[_Entry | None] = []
    for index, raw in enumerate(bundle.get("entry", [])):
        resource = raw.get("resource") if isinstance(raw, dict) else None
        if not isinstance(resource, dict):
            entries.append(None)  # said by our rules
            continue
        url = raw.get("fullUrl")
        resource_type = resource.get("resourceType")
        entries.append(
            _Entry(
                index=index,
                url=url if isinstance(url, str) else "",
                type=resource_type if isinstance(resource_type, str) else "?",
                resource=resource,
                line=lines[index] if lines is not None else None,
            )
        )
    return entries


#: What ``fhir.resources`` (pydantic) may raise, besides a ValidationError, on input
#: made to hurt it: too deep (RecursionError), or a shape its own validators trip over.
_LIBRARY_FAULTS = (
    RecursionError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeError,
)


def _element_path(resource_type: str, location: Iterable[int | str]) -> str:
    path = resource_type
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{shown_name(part)}"
    return path


def _resource_at(resource: JSON, location: Sequence[int | str]) -> str:
    """The type of the innermost resource on the way to ``location``: a fault inside
    ``contained`` belongs to the contained resource, not the one holding it."""
    resource_type = shown_name(resource.get("resourceType"))
    node: Any = resource
    for part in location:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str):
            resource_type = shown_name(node["resourceType"])
    return resource_type


def _library_message(finding: Mapping[str, Any]) -> str:
    """The library's own words, unless they might repeat the input (then its error
    code only): a message must never carry a name or an NHS number from the file."""
    message = str(finding["msg"]).removeprefix("Value error, ").rstrip(".")
    given = finding.get("input")
    echoes = isinstance(given, str | int | float) and len(str(given)) >= 3 and str(given) in message
    if echoes or len(message) > 200 or re.search(r"\d{5}", message):
        return f"is not a value FHIR allows here ({finding['type']})"
    return message[:1].lower() + message[1:]


#: What ``fhir.resources`` says of a date, dateTime or instant not in FHIR's form.
_LIBRARY_DATE_FAULT = re.compile(r"(Date|DateTime|Instant) value string does not match spec regex")
#: Our words for it, by the FHIR type.
_DATE_FORMS = {
    "Date": "must be a date written YYYY-MM-DD (e.g. 1945-07-14)",
    "DateTime": (
        "must be a date written YYYY-MM-DD (e.g. 1945-07-14), or a date and time with "
        "its time zone (e.g. 2026-11-02T09:30:00+00:00)"
    ),
    "Instant": (
        "must be a date and time written YYYY-MM-DDThh:mm:ss with its time zone "
        "(e.g. 2026-11-02T09:30:00+00:00)"
    ),
}


def _pydantic_problems(resource: JSON, error: pydantic.ValidationError) -> list[str]:
    """The library's findings, one short sentence each (no input values, no traceback)."""
    resource_type = shown_name(resource.get("resourceType"))
    said: list[str] = []
    for finding in error.errors(include_url=False):
        location = finding["loc"]
        path = _element_path(resource_type, location)
        kind = finding["type"]
        if kind == "extra_forbidden":
            owner = _resource_at(resource, location[:-1])
            sentence = f"{path} is not an element of {owner} in FHIR R4"
        elif kind.endswith("missing"):
            sentence = f"{path} is missing; it is required"
        elif kind == "string_pattern_mismatch":
            sentence = f"{path} is empty or not in the form FHIR allows"
        elif date_fault := _LIBRARY_DATE_FAULT.search(str(finding["msg"])):
            sentence = f"{path} {_DATE_FORMS[date_fault.group(1)]}"
        else:
            sentence = f"{path}: {_library_message(finding)}"
        said.append(sentence + ".")
    if len(said) > _MAX_PER_RESOURCE:
        more = f"and {len(said) - _MAX_PER_RESOURCE} more faults in this resource."
        said = [*said[:_MAX_PER_RESOURCE], more]
    return said


def _structure_problems(entries: Sequence[_Entry | None]) -> dict[int, list[str]]:
    """Each entry's resource checked on its own by ``fhir.resources``."""
    found: dict[int, list[str]] = {}
    for entry in entries:
        if entry is None or entry.type == "?":
            continue  # no resource or no resourceType: said by our rules
        try:
            model = get_fhir_model_class(entry.type)
        except (ValueError, KeyError):
            name = shown_name(entry.type)
            quoted = repr(name) if name == entry.type else name
            found[entry.index] = [f"resourceType {quoted} is not a FHIR R4 resource type."]
            continue
        if nesting_depth(entry.resource) > MAX_NESTING:
            # Checked first and cheaply: validating such a resource would exhaust the stack.
            found[entry.index] = [
                f"the {shown_name(entry.type)} is nested more than {MAX_NESTING} levels "
                "deep; no resource MDT Desk reads is, so it was not read."
            ]
            continue
        problems: list[str] = []
        if "contained" in entry.resource:
            problems.append(
                f"{shown_name(entry.type)}.contained: MDT Desk does not import contained "
                "resources; give each resource its own entry in the bundle."
            )
        try:
            model.model_validate(entry.resource)
        except pydantic.ValidationError as error:
            problems += _pydantic_problems(entry.resource, error)
        except _LIBRARY_FAULTS as fault:
            problems.append(
                f"the {shown_name(entry.type)} could not be read as FHIR R4 "
                f"({type(fault).__name__})."
            )
        if problems:
            found[entry.index] = problems
    return found


# -- round 3: meaning -----------------------------------------------------------------


def _row_id(url: str) -> uuid.UUID:
    if not url.startswith(_URN):
        _refuse(f"the fullUrl {shown_url(url)} is not a urn:uuid.")
    try:
        return uuid.UUID(url.removeprefix(_URN))
    except ValueError:
        _refuse(f"the fullUrl {shown_url(url)} is not a urn:uuid.")


def _date(value: object, element: str, *, required: bool = False) -> dt.date | None:
    """A FHIR date (or the date of a dateTime) as a day; a partial date is refused."""
    if value is None:
        if required:
            _refuse(f"{element} is missing; MDT Desk needs it.")
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        _refuse(f"{element} {shown_value(value)} is not a full date (YYYY-MM-DD).")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        _refuse(f"{element} {shown_value(value)} is not a real date.")


def _required_date(value: object, element: str) -> dt.date:
    day = _date(value, element, required=True)
    assert day is not None
    return day


def _instant(value: object, element: str) -> dt.datetime:
    if not isinstance(value, str):
        _refuse(f"{element} is missing; MDT Desk needs it.")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        _refuse(f"{element} {shown_value(value)} is not a date and time.")
    if moment.tzinfo is None:
        _refuse(f"{element} {shown_value(value)} has no time zone.")
    return moment.astimezone(dt.UTC)


def _dict(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


#: The longest free text kept from a bundle (a goal, an action, an alert's detail, an
#: address): our own columns of type Text have no limit, a file's must.
LONG_TEXT = 10_000
#: Refused in imported free text: the bidirectional controls, which can make a text
#: display as another. Zero-width characters are refused in names only (as when typed:
#: services/text_safety.py), since a joiner is part of many emoji a person may use in
#: their own words; a name goes through ``check_name``.
_REFUSED_IN_TEXT = BIDI_CONTROLS
# Control characters; a line break and a tab are text in a multi-line value.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _free_text(value: object, element: str, limit: int, *, lines: bool = False) -> str:
    """Imported text held to the rules typed text meets: stripped, in NFC, no invisible
    character that could disguise it, no control character, at most ``limit``
    characters (the column's length). A message names the element, never the text."""
    text = _text(value)
    if len(text) > limit * 2:  # too long whatever NFC makes of it: say so before reading it
        _refuse(f"{element} is {len(text):,} characters long; MDT Desk keeps at most {limit:,}.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _refuse(f"{element} holds a broken character (half of a UTF-16 pair), not text.")
    text = nfc(text)
    if len(text) > limit:
        _refuse(f"{element} is {len(text):,} characters long; MDT Desk keeps at most {limit:,}.")
    hidden = [character for character in dict.fromkeys(text) if character in _REFUSED_IN_TEXT]
    if hidden:
        names = ", ".join(describe_character(character) for character in hidden)
        _refuse(
            f"{element} contains an invisible character ({names}) that can make one text "
            "look like another."
        )
    if (_CONTROL if lines else _CONTROL_IN_LINE).search(text):
        _refuse(f"{element} contains a control character (an invisible code that is not text).")
    return text


def _period(resource: JSON, element: str) -> JSON:
    return _dict(resource.get(element))


def _coded(
    concept: object, system: str, enum_class: Callable[[str], _E], element: str, what: str
) -> _E:
    """The value of ours a CodeableConcept carries in our local code ``system``."""
    for coding in _list(_dict(concept).get("coding")):
        if isinstance(coding, dict) and coding.get("system") == system:
            code = coding.get("code")
            try:
                return enum_class(code if isinstance(code, str) else "")
            except ValueError:
                hint = ""
                if isinstance(code, str):
                    try:
                        enum_class(code.lower())
                        hint = _LOWER_CASE_HINT
                    except ValueError:
                        pass
                _refuse(f"{element} code {shown_value(code)} is not {what} MDT Desk knows{hint}.")
    _refuse(f"{element} has no coding from {system}, so MDT Desk cannot tell {what} it is.")


def _telecom(resource: JSON, system: str, limit: int) -> str:
    for point in _list(resource.get("telecom")):
        if isinstance(point, dict) and point.get("system") == system:
            element = f"{resource.get('resourceType')}.telecom ({system})"
            return _free_text(point.get("value"), element, limit)
    return ""


def _first_name(resource: JSON) -> JSON:
    names = _list(resource.get("name"))
    if not names or not isinstance(names[0], dict):
        _refuse(f"{resource.get('resourceType')}.name is missing; MDT Desk needs a name.")
    return names[0]


def _name_parts(name: JSON, resource_type: str) -> tuple[str, str, str]:
    """(family, given, title), checked as a typed name is."""
    given = _list(name.get("given"))
    prefix = _list(name.get("prefix"))
    try:
        family = require_name(
            _free_text(name.get("family"), f"{resource_type}.name.family", 100),
            "family_name",
            "family name",
        )
        given_name = require_name(
            _free_text(given[0] if given else "", f"{resource_type}.name.given[0]", 100),
            "given_name",
            "given name",
        )
        title = check_name(
            _free_text(prefix[0] if prefix else "", f"{resource_type}.name.prefix[0]", 20),
            "title",
            "title",
        )
    except ValidationError as error:
        _refuse(f"{resource_type}.name: {error}")
    return family, given_name, title


def _nhs_number(resource: JSON) -> str:
    for identifier in _list(resource.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            raw = _text(identifier.get("value"))
            try:
                return normalise_nhs_number(raw)
            except ValidationError:
                # Said without the number itself: the message may be logged.
                if not (raw.isdigit() and len(raw) == 10):
                    reason = "it is not 10 digits"
                elif not nhs_number.is_valid(raw):
                    reason = "its check digit does not match"
                else:
                    reason = "it is not in a range issued in England and Wales"
                _refuse(f"Patient.identifier: the NHS number is refused: {reason}.")
    _refuse("Patient.identifier has no NHS number.")


def _address(resource: JSON) -> tuple[str, str]:
    addresses = _list(resource.get("address"))
    address = _dict(addresses[0]) if addresses else {}
    try:
        postcode = normalise_postcode(_text(address.get("postalCode")))
    except ValidationError:
        _refuse(f"{resource.get('resourceType')}.address.postalCode is not a UK postcode.")
    text = _free_text(
        address.get("text"), f"{resource.get('resourceType')}.address.text", LONG_TEXT, lines=True
    )
    return text, postcode


@dataclass
class _Planned:
    """The rows an import will write, in the order they must be written."""

    practices: list[Practice] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    patients: list[Patient] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    coordinators: list[CoordinatorAssignment] = field(default_factory=list)
    members: list[CareTeamMember] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    events: list[OutcomeEvent] = field(default_factory=list)
    prints: list[PrintRecord] = field(default_factory=list)
    staff_reused: int = 0
    practices_reused: int = 0

    def groups(self) -> list[list[Any]]:
        return [
            self.practices,
            self.staff,
            self.patients,
            self.cases,
            self.coordinators,
            self.members,
            self.goals,
            self.actions,
            self.alerts,
            self.consents,
            self.events,
            self.prints,
        ]


_GOAL_OUTCOME = codes.invert(codes.GOAL_STATUS)
_ACTION_STATUS = codes.invert(codes.TASK_STATUS)
_GENDER = codes.invert(codes.GENDER)


class _Reader:
    """Reads the bundle's resources into planned rows, noting every problem.

    Resources the first rounds found faulty are not read (their problems are said
    already), but they still count as present when another resource points to them.

    Without a session (a check before the store is open), everything that depends on
    what the store holds is left for the import: a Practitioner or an Organization
    may be one already there (then kept as it is, unread), a Patient must not be, and
    no row's id may be.
    """

    def __init__(
        self, session: Session | None, entries: Sequence[_Entry], faulty: set[int]
    ) -> None:
        self.session = session
        self.entries = entries
        self.faulty = faulty
        self.by_url = {entry.url: entry for entry in entries if entry.url}
        self.problems: dict[int, list[str]] = {}
        self.planned = _Planned()
        # fullUrl -> the row id or value each resource became
        self.practice_of: dict[str, uuid.UUID] = {}
        self.case_of_episode: dict[str, Case] = {}
        self.episode_of_plan: dict[str, str] = {}
        self.episode_of_team: dict[str, str] = {}
        self.plan_of_episode: dict[str, str] = {}
        self.plan_of_goal: dict[str, str] = {}
        self.nhs_numbers: set[str] = set()
        self.participant_ids: set[uuid.UUID] = set()
        # CareTeam participant id -> its CareTeam entry and element, to name it
        self.participant_at: dict[uuid.UUID, tuple[_Entry, str]] = {}
        # People refused because they are already in the store: the rows of theirs
        # the bundle holds are there too, and saying so for each would bury the point.
        self.people_in_store: set[uuid.UUID] = set()

    # -- helpers

    def of_type(self, *types: str) -> list[_Entry]:
        return [entry for entry in self.entries if entry.type in types]

    def note(self, entry: _Entry, message: str) -> None:
        self.problems.setdefault(entry.index, []).append(message)

    def each(self, types: Iterable[str], read: Callable[[_Entry], None]) -> None:
        for entry in self.of_type(*types):
            if entry.index in self.faulty:
                continue
            try:
                read(entry)
            except _ResourceRefusedError as refused:
                self.note(entry, str(refused))

    def target(self, reference: object, element: str, *types: str) -> _Entry:
        """The entry a Reference points to, which must be one of ``types``."""
        url = _dict(reference).get("reference")
        if not isinstance(url, str):
            _refuse(f"{element} is missing; it must point to {_a(' or '.join(types))}.")
        found = self.by_url.get(url)
        if found is None:
            _refuse(f"{element} points to {shown_url(url)}, which is not in the bundle.")
        if found.type not in types:
            _refuse(
                f"{element} points to {_a(shown_name(found.type))}, not {_a(' or '.join(types))}."
            )
        return found

    def patient_id(self, reference: object, element: str) -> uuid.UUID:
        return _row_id(self.target(reference, element, "Patient").url)

    def staff_id(self, reference: object, element: str) -> uuid.UUID:
        return _row_id(self.target(reference, element, "Practitioner").url)

    def case_of(self, episode_url: str, element: str) -> Case:
        case = self.case_of_episode.get(episode_url)
        if case is None:
            # The episode itself is faulty (and said so), or was not read.
            _refuse(f"{element} points to an EpisodeOfCare that could not be read.")
        return case

    def same_person(self, case: Case, patient_id: uuid.UUID, element: str) -> None:
        if case.patient_id != patient_id:
            _refuse(f"{element} is a different Patient from the one of its care plan.")

    # -- the rounds

    def read(self) -> None:
        self.each(("Organization",), self.organization)
        roles = self.roles()
        self.each(("Practitioner",), lambda entry: self.practitioner(entry, roles))
        self.each(("Patient",), self.patient)
        self.link_plans()
        self.each(("EpisodeOfCare",), self.episode)
        self.each(("CarePlan",), self.care_plan)
        self.each(("CareTeam",), self.care_team)
        self.each(("Goal",), self.goal)
        self.each(("Task",), self.task)
        self.each(("Flag",), self.flag)
        self.each(("Consent",), self.consent)
        self.each(("Encounter",), self.encounter)
        self.each(("DocumentReference",), self.document)
        known = {
            "Organization",
            "Practitioner",
            "PractitionerRole",
            "Patient",
            "EpisodeOfCare",
            "CarePlan",
            "CareTeam",
            "Goal",
            "Task",
            "Flag",
            "Consent",
            "Encounter",
            "DocumentReference",
        }
        for entry in self.entries:
            if entry.index in self.faulty:
                continue
            if entry.type not in known:
                self.note(entry, f"MDT Desk does not import {shown_name(entry.type)} resources.")
            given_id = entry.resource.get("id")
            if given_id is not None and f"{_URN}{given_id}" != entry.url:
                self.note(entry, f"{entry.type}.id is not the id in the entry's fullUrl.")
        self.one_open_case_each()
        self.ids_not_in_store()

    def organization(self, entry: _Entry) -> None:
        resource = entry.resource
        codes_given = [
            _text(identifier.get("value"))
            for identifier in _list(resource.get("identifier"))
            if isinstance(identifier, dict) and identifier.get("system") == ODS_ORGANISATION_SYSTEM
        ]
        if not codes_given or not codes_given[0]:
            _refuse("Organization.identifier has no ODS code.")
        ods_code = codes_given[0].upper()
        practice_id = practice_id_for(ods_code)
        self.practice_of[entry.url] = practice_id
        if self.session is None:
            return  # may be in the store already, and then is not read
        if any(practice.id == practice_id for practice in self.planned.practices):
            _refuse(f"the practice {ods_code} is in the bundle twice.")
        existing = self.session.get(Practice, practice_id) or self.session.scalar(
            select(Practice).where(Practice.ods_code == ods_code)
        )
        if existing is not None:
            self.practice_of[entry.url] = existing.id
            self.planned.practices_reused += 1
            return
        name = _free_text(resource.get("name"), "Organization.name", 100)
        if not name:
            _refuse("Organization.name is missing; MDT Desk needs the practice's name.")
        address, postcode = _address(resource)
        self.planned.practices.append(
            Practice(
                id=practice_id,
                ods_code=ods_code,
                name=name,
                address=address,
                postcode=postcode,
                phone=_telecom(resource, "phone", 20),
                status=(
                    PracticeStatus.CLOSED
                    if resource.get("active") is False
                    else PracticeStatus.ACTIVE
                ),
            )
        )

    def roles(self) -> dict[str, _Entry]:
        """Each Practitioner's PractitionerRole, by the Practitioner's fullUrl."""
        roles: dict[str, _Entry] = {}

        def pair(entry: _Entry) -> None:
            practitioner = self.target(
                entry.resource.get("practitioner"), "PractitionerRole.practitioner", "Practitioner"
            )
            if practitioner.url in roles:
                _refuse(
                    "PractitionerRole.practitioner has another PractitionerRole in the "
                    f"bundle (entry {roles[practitioner.url].index}); MDT Desk keeps one."
                )
            roles[practitioner.url] = entry

        self.each(("PractitionerRole",), pair)
        return roles

    def practitioner(self, entry: _Entry, roles: Mapping[str, _Entry]) -> None:
        staff_id = _row_id(entry.url)
        if self.session is None:
            return  # may be in the store already, and then is not read
        existing = self.session.get(Staff, staff_id)
        if existing is not None:
            self.planned.staff_reused += 1
            return
        resource = entry.resource
        family, given, title = _name_parts(_first_name(resource), "Practitioner")
        role = roles.get(entry.url)
        if role is None:
            _refuse(
                "no PractitionerRole in the bundle names this Practitioner, so MDT Desk "
                "cannot tell their profession."
            )
        concepts = _list(role.resource.get("code"))
        profession = _coded(
            concepts[0] if concepts else {},
            codes.PROFESSION_SYSTEM,
            Profession,
            f"PractitionerRole.code[0] (entry {role.index})",
            "which profession",
        )
        organisation = _free_text(
            _dict(role.resource.get("organization")).get("display"),
            f"PractitionerRole.organization.display (entry {role.index})",
            100,
        )
        self.planned.staff.append(
            Staff(
                id=staff_id,
                family_name=family,
                given_name=given,
                title=title,
                profession=profession,
                organisation=organisation,
                email=_telecom(resource, "email", 200),
                phone=_telecom(resource, "phone", 30),
                roles="",
                pin_hash="",
            )
        )

    def patient(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = _row_id(entry.url)
        digits = _nhs_number(resource)
        if digits in self.nhs_numbers:
            _refuse("Patient.identifier: another Patient in the bundle has the same NHS number.")
        if self.session is not None:
            same = None
            if self.session.scalar(
                select(Patient.id).where(Patient.nhs_number == digits, Patient.retired_at.is_(None))
            ):
                same = "same NHS number"
            elif self.session.get(Patient, patient_id) is not None:
                same = "same record id"
            if same is not None:
                self.people_in_store.add(patient_id)
                _refuse(
                    f"this person is already in this store ({same}); MDT Desk never merges "
                    "two records, so nothing was written. Open their record instead."
                )
        family, given, title = _name_parts(_first_name(resource), "Patient")
        born = _required_date(resource.get("birthDate"), "Patient.birthDate")
        try:
            check_date_of_birth(born)
        except ValidationError:
            # Said without the date: a date of birth is personal, and messages are logged.
            _refuse("Patient.birthDate is in the future or before 1900; check the year.")
        died = _date(resource.get("deceasedDateTime"), "Patient.deceasedDateTime")
        if died is not None and died < born:
            _refuse("Patient.deceasedDateTime is before Patient.birthDate.")
        gender_code = resource.get("gender", "unknown")
        if gender_code not in _GENDER:
            _refuse(f"Patient.gender {shown_value(gender_code)} is not a FHIR gender.")
        practices = _list(resource.get("generalPractitioner"))
        if not practices:
            _refuse("Patient.generalPractitioner is missing; MDT Desk needs the practice.")
        practice = self.target(practices[0], "Patient.generalPractitioner[0]", "Organization")
        practice_id = self.practice_of.get(practice.url)
        if practice_id is None:
            _refuse(
                "Patient.generalPractitioner[0] points to an Organization that could not be read."
            )
        address, postcode = _address(resource)
        self.nhs_numbers.add(digits)
        self.planned.patients.append(
            Patient(
                id=patient_id,
                nhs_number=digits,
                family_name=family,
                given_name=given,
                title=title,
                date_of_birth=born,
                date_of_death=died,
                gender=_GENDER[gender_code],
                address=address,
                postcode=postcode,
                phone=_telecom(resource, "phone", 30),
                practice_id=practice_id,
            )
        )

    def link_plans(self) -> None:
        """Pair each CarePlan, CareTeam and Goal with its EpisodeOfCare (the case)."""

        def plan(entry: _Entry) -> None:
            infos = _list(entry.resource.get("supportingInfo"))
            episodes = [
                self.by_url[url]
                for url in (_dict(info).get("reference") for info in infos)
                if isinstance(url, str) and url in self.by_url
            ]
            episodes = [found for found in episodes if found.type == "EpisodeOfCare"]
            if len(episodes) != 1:
                _refuse(
                    "CarePlan.supportingInfo must point to exactly one EpisodeOfCare in the "
                    "bundle (the case the plan belongs to)."
                )
            episode = episodes[0]
            if episode.url in self.plan_of_episode:
                _refuse("CarePlan.supportingInfo: that EpisodeOfCare has another CarePlan.")
            self.episode_of_plan[entry.url] = episode.url
            self.plan_of_episode[episode.url] = entry.url
            for position, goal in enumerate(_list(entry.resource.get("goal"))):
                found = self.target(goal, f"CarePlan.goal[{position}]", "Goal")
                if self.plan_of_goal.setdefault(found.url, entry.url) != entry.url:
                    _refuse(f"CarePlan.goal[{position}] is a goal of another CarePlan too.")

        def team(entry: _Entry) -> None:
            teams = _list(entry.resource.get("team"))
            if len(teams) != 1:
                _refuse("EpisodeOfCare.team must point to exactly one CareTeam.")
            found = self.target(teams[0], "EpisodeOfCare.team[0]", "CareTeam")
            if found.url in self.episode_of_team:
                _refuse("EpisodeOfCare.team: that CareTeam belongs to another EpisodeOfCare.")
            self.episode_of_team[found.url] = entry.url

        self.each(("CarePlan",), plan)
        self.each(("EpisodeOfCare",), team)

    def episode(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = self.patient_id(resource.get("patient"), "EpisodeOfCare.patient")
        plan_url = self.plan_of_episode.get(entry.url)
        if plan_url is None:
            _refuse("no CarePlan in the bundle points to this EpisodeOfCare (supportingInfo).")
        plan = self.by_url[plan_url].resource
        status_code = resource.get("status")
        status = codes.CASE_STATUS_FROM_EPISODE.get(status_code)  # type: ignore[arg-type]
        if status is None:
            _refuse(
                f"EpisodeOfCare.status {shown_value(status_code)} cannot be imported: MDT Desk "
                f"reads {', '.join(codes.CASE_STATUS_FROM_EPISODE)}."
            )
        period = _period(resource, "period")
        referred_on = _required_date(period.get("start"), "EpisodeOfCare.period.start")
        closed_on = _date(period.get("end"), "EpisodeOfCare.period.end")
        plan_period = _period(plan, "period")
        accepted_on = _date(plan_period.get("start"), "CarePlan.period.start")
        next_review_on = _date(
            _next_review(plan), f"CarePlan.extension ({codes.NEXT_REVIEW_EXTENSION})"
        )
        if next_review_on is None:
            # Bundles of earlier versions put the review date in period.end.
            next_review_on = _date(plan_period.get("end"), "CarePlan.period.end")
        not_accepted = (
            status_code == codes.EPISODE_NOT_ACCEPTED
            or plan.get("status") == codes.CARE_PLAN_NOT_ACCEPTED
        )
        if not_accepted:
            status = CaseStatus.CLOSED
        if status is CaseStatus.CLOSED and closed_on is None:
            _refuse("EpisodeOfCare.period.end is missing: a finished episode needs its end.")
        if status is not CaseStatus.CLOSED and closed_on is not None:
            _refuse("EpisodeOfCare.period.end is set, but the episode has not finished.")
        if closed_on is not None and closed_on < referred_on:
            _refuse("EpisodeOfCare.period.end is before its start.")
        if accepted_on is not None and accepted_on < referred_on:
            _refuse("CarePlan.period.start is before the EpisodeOfCare began.")
        closure: ClosureReason | None = None
        if not_accepted:
            closure = ClosureReason.NOT_ACCEPTED
        elif status is CaseStatus.CLOSED:
            closure = ClosureReason.OTHER  # the bundle does not say why
        case = Case(
            id=_row_id(entry.url),
            patient_id=patient_id,
            status=status,
            referral_source=ReferralSource.OTHER,
            referral_reason=IMPORTED_REFERRAL_REASON,
            referred_on=referred_on,
            accepted_on=accepted_on,
            closed_on=closed_on,
            closure_reason=closure,
            not_accepted_reason=NotAcceptedReason.OTHER if not_accepted else None,
            next_review_on=next_review_on,
        )
        self.case_of_episode[entry.url] = case
        self.planned.cases.append(case)

    def care_plan(self, entry: _Entry) -> None:
        resource = entry.resource
        episode = self.episode_of_plan.get(entry.url)
        if episode is None:
            return  # said when pairing
        case = self.case_of(episode, "CarePlan.supportingInfo")
        self.same_person(
            case, self.patient_id(resource.get("subject"), "CarePlan.subject"), "CarePlan.subject"
        )
        if resource.get("intent") != "plan":
            _refuse(f"CarePlan.intent {shown_value(resource.get('intent'))} is not 'plan'.")

    def care_team(self, entry: _Entry) -> None:
        episode = self.episode_of_team.get(entry.url)
        if episode is None:
            _refuse("no EpisodeOfCare in the bundle points to this CareTeam (team).")
        case = self.case_of(episode, "the CareTeam's EpisodeOfCare")
        participants = _list(entry.resource.get("participant"))
        coordinators = sum(1 for raw in participants if _is_coordinator(_dict(raw)))
        if coordinators > 1:
            # The export writes the one current coordinator; a second would be lost.
            _refuse(
                f"CareTeam has {coordinators} care coordinators; MDT Desk keeps one named "
                "coordinator per case."
            )
        for position, raw in enumerate(participants):
            try:
                self.participant(entry, case, _dict(raw), f"CareTeam.participant[{position}]")
            except _ResourceRefusedError as refused:
                self.note(entry, str(refused))

    def participant(self, team: _Entry, case: Case, participant: JSON, element: str) -> None:
        try:
            row_id = uuid.UUID(str(participant.get("id")))
        except ValueError:
            _refuse(f"{element}.id {shown_value(participant.get('id'))} is not a UUID.")
        if row_id in self.participant_ids or f"{_URN}{row_id}" in self.by_url:
            _refuse(f"{element}.id is the id of another participant or entry in the bundle.")
        self.participant_ids.add(row_id)
        self.participant_at[row_id] = (team, element)
        roles = _list(participant.get("role"))
        first_role = _dict(roles[0]) if roles else {}
        is_coordinator = _is_coordinator(participant)
        period = _period(participant, "period")
        started = _required_date(period.get("start"), f"{element}.period.start")
        ended = _date(period.get("end"), f"{element}.period.end")
        if ended is not None and ended < started:
            _refuse(f"{element}.period.end is before its start.")
        member = _dict(participant.get("member"))
        if is_coordinator:
            if ended is not None:
                _refuse(f"{element}: a care coordinator in the bundle is a current one.")
            self.planned.coordinators.append(
                CoordinatorAssignment(
                    id=row_id,
                    case_id=case.id,
                    staff_id=self.staff_id(member, f"{element}.member"),
                    started_on=started,
                )
            )
            return
        role = _free_text(first_role.get("text"), f"{element}.role[0].text", 100)
        if not role:
            _refuse(f"{element}.role[0].text is missing; say their role in this person's care.")
        staff_id = self.staff_id(member, f"{element}.member") if "reference" in member else None
        name = (
            ""
            if staff_id is not None
            else _free_text(member.get("display"), f"{element}.member.display", 200)
        )
        if staff_id is None and not name:
            _refuse(f"{element}.member has neither a Practitioner nor a name.")
        self.planned.members.append(
            CareTeamMember(
                id=row_id,
                case_id=case.id,
                staff_id=staff_id,
                name=name,
                role=role,
                organisation=_free_text(
                    _dict(participant.get("onBehalfOf")).get("display"),
                    f"{element}.onBehalfOf.display",
                    100,
                ),
                joined_on=started,
                left_on=ended,
            )
        )

    def goal(self, entry: _Entry) -> None:
        resource = entry.resource
        plan = self.plan_of_goal.get(entry.url)
        if plan is None:
            _refuse("no CarePlan in the bundle lists this Goal (CarePlan.goal).")
        episode = self.episode_of_plan.get(plan)
        if episode is None:
            return  # the CarePlan is faulty, and said so
        case = self.case_of(episode, "the Goal's CarePlan")
        self.same_person(
            case, self.patient_id(resource.get("subject"), "Goal.subject"), "Goal.subject"
        )
        description = _free_text(
            _dict(resource.get("description")).get("text"),
            "Goal.description.text",
            LONG_TEXT,
            lines=True,
        )
        if not description:
            _refuse("Goal.description.text is missing; it holds the goal in the person's words.")
        lifecycle = resource.get("lifecycleStatus")
        achievement = next(
            (
                coding.get("code")
                for coding in _list(_dict(resource.get("achievementStatus")).get("coding"))
                if isinstance(coding, dict)
                and coding.get("system") == codes.GOAL_ACHIEVEMENT_SYSTEM
            ),
            None,
        )
        key = (lifecycle, achievement)
        if key not in _GOAL_OUTCOME:
            _refuse(
                f"Goal.lifecycleStatus {shown_value(lifecycle)} with achievementStatus "
                f"{shown_value(achievement)} is not a goal outcome MDT Desk knows."
            )
        targets = _list(resource.get("target"))
        target_on = (
            _date(_dict(targets[0]).get("dueDate"), "Goal.target[0].dueDate") if targets else None
        )
        self.planned.goals.append(
            Goal(
                id=_row_id(entry.url),
                case_id=case.id,
                description=description,
                target_on=target_on,
                outcome=_GOAL_OUTCOME[key],
            )
        )

    def task(self, entry: _Entry) -> None:
        resource = entry.resource
        based_on = _list(resource.get("basedOn"))
        if len(based_on) != 1:
            _refuse("Task.basedOn must point to exactly one CarePlan.")
        plan = self.target(based_on[0], "Task.basedOn[0]", "CarePlan")
        episode = self.episode_of_plan.get(plan.url)
        if episode is None:
            _refuse("Task.basedOn[0] points to a CarePlan that could not be read.")
        case = self.case_of(episode, "Task.basedOn[0]")
        self.same_person(case, self.patient_id(resource.get("for"), "Task.for"), "Task.for")
        description = _free_text(
            resource.get("description"), "Task.description", LONG_TEXT, lines=True
        )
        if not description:
            _refuse("Task.description is missing; say what will be done.")
        status_code = resource.get("status")
        status = _ACTION_STATUS.get(status_code)  # type: ignore[arg-type]
        if status is None:
            _refuse(
                f"Task.status {shown_value(status_code)} cannot be imported: MDT Desk reads "
                f"{', '.join(_ACTION_STATUS)}."
            )
        owner = self.staff_id(resource.get("owner"), "Task.owner")
        due_on = _required_date(
            _dict(_dict(resource.get("restriction")).get("period")).get("end"),
            "Task.restriction.period.end (the due date)",
        )
        completed_on = _date(
            _dict(resource.get("executionPeriod")).get("end"), "Task.executionPeriod.end"
        )
        goal_id = None
        if "reasonReference" in resource:
            goal = self.target(resource["reasonReference"], "Task.reasonReference", "Goal")
            if self.plan_of_goal.get(goal.url) != plan.url:
                _refuse("Task.reasonReference is a Goal of another care plan.")
            goal_id = _row_id(goal.url)
        self.planned.actions.append(
            Action(
                id=_row_id(entry.url),
                case_id=case.id,
                goal_id=goal_id,
                description=description,
                owner_id=owner,
                due_on=due_on,
                status=status,
                completed_on=completed_on,
                sensitive=False,
            )
        )

    def flag(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = self.patient_id(resource.get("subject"), "Flag.subject")
        if resource.get("status") != "active":
            _refuse(
                f"Flag.status {shown_value(resource.get('status'))}: MDT Desk imports active "
                "flags only."
            )
        concept = resource.get("code")
        kind = _coded(concept, codes.ALERT_KIND_SYSTEM, AlertKind, "Flag.code", "which alert")
        text = _free_text(_dict(concept).get("text"), "Flag.code.text", LONG_TEXT, lines=True)
        # The export writes the kind's own label when the alert has no detail.
        detail = "" if text == label(kind) else text
        self.planned.alerts.append(
            Alert(
                id=_row_id(entry.url),
                patient_id=patient_id,
                kind=kind,
                detail=detail,
                sensitive=False,
                share_with_person=True,
            )
        )

    def consent(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = self.patient_id(resource.get("patient"), "Consent.patient")
        decision: ConsentDecision | None = None
        for position, concept in enumerate(_list(resource.get("category"))):
            if any(
                isinstance(coding, dict) and coding.get("system") == codes.CONSENT_DECISION_SYSTEM
                for coding in _list(_dict(concept).get("coding"))
            ):
                decision = _coded(
                    concept,
                    codes.CONSENT_DECISION_SYSTEM,
                    ConsentDecision,
                    f"Consent.category[{position}]",
                    "which decision",
                )
        if decision is None:
            _refuse(
                f"Consent.category has no coding from {codes.CONSENT_DECISION_SYSTEM}, so "
                "MDT Desk cannot tell which decision it is."
            )
        recorded_on = _required_date(resource.get("dateTime"), "Consent.dateTime")
        if recorded_on > london_today():
            _refuse("Consent.dateTime is in the future.")
        self.planned.consents.append(
            Consent(
                id=_row_id(entry.url),
                patient_id=patient_id,
                decision=decision,
                recorded_on=recorded_on,
                recorded_by_id=None,
            )
        )

    def encounter(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = self.patient_id(resource.get("subject"), "Encounter.subject")
        types = _list(resource.get("type"))
        kind = _coded(
            types[0] if types else {},
            codes.ADMISSION_KIND_SYSTEM,
            OutcomeEventKind,
            "Encounter.type[0]",
            "which admission",
        )
        if kind not in codes.ADMISSION_KINDS:
            _refuse(
                f"Encounter.type[0] code {shown_value(kind.value)} is not a hospital admission."
            )
        case_id = None
        episodes = _list(resource.get("episodeOfCare"))
        if episodes:
            episode = self.target(episodes[0], "Encounter.episodeOfCare[0]", "EpisodeOfCare")
            case = self.case_of(episode.url, "Encounter.episodeOfCare[0]")
            self.same_person(case, patient_id, "Encounter.subject")
            case_id = case.id
        period = _period(resource, "period")
        occurred_on = _required_date(period.get("start"), "Encounter.period.start")
        discharged_on = _date(period.get("end"), "Encounter.period.end")
        if discharged_on is not None and discharged_on < occurred_on:
            _refuse("Encounter.period.end is before its start.")
        disposition = _dict(resource.get("hospitalization")).get("dischargeDisposition")
        destination = (
            _coded(
                disposition,
                codes.DISCHARGE_DESTINATION_SYSTEM,
                DischargeDestination,
                "Encounter.hospitalization.dischargeDisposition",
                "which destination",
            )
            if disposition is not None
            else None
        )
        self.planned.events.append(
            OutcomeEvent(
                id=_row_id(entry.url),
                patient_id=patient_id,
                case_id=case_id,
                kind=kind,
                occurred_on=occurred_on,
                discharged_on=discharged_on,
                discharge_destination=destination,
                source=_free_text(
                    _dict(resource.get("serviceProvider")).get("display"),
                    "Encounter.serviceProvider.display",
                    200,
                ),
            )
        )

    def document(self, entry: _Entry) -> None:
        resource = entry.resource
        patient_id = self.patient_id(resource.get("subject"), "DocumentReference.subject")
        # The export links the printed plan to its EpisodeOfCare by context.encounter
        # (R4 allows an EpisodeOfCare there); bundles of earlier versions by related.
        context = _dict(resource.get("context"))
        element = "encounter" if "encounter" in context else "related"
        linked = _list(context.get(element))
        if len(linked) != 1:
            _refuse("DocumentReference.context.encounter must point to the plan's EpisodeOfCare.")
        where = f"DocumentReference.context.{element}[0]"
        episode = self.target(linked[0], where, "EpisodeOfCare")
        case = self.case_of(episode.url, where)
        self.same_person(case, patient_id, "DocumentReference.subject")
        digest = _text(_dict(resource.get("masterIdentifier")).get("value"))
        if _dict(resource.get("masterIdentifier")).get("system") != codes.CONTENT_SHA256_SYSTEM:
            _refuse(
                f"DocumentReference.masterIdentifier is not a {codes.CONTENT_SHA256_SYSTEM} "
                "identifier, so MDT Desk cannot tell which printed plan it was."
            )
        if not _SHA256.fullmatch(digest):
            _refuse("DocumentReference.masterIdentifier.value is not a SHA-256 in hex.")
        extensions = {
            _dict(extension).get("url"): _dict(extension)
            for extension in _list(resource.get("extension"))
        }
        pages = extensions.get(codes.PAGE_COUNT_EXTENSION, {}).get("valueInteger")
        if not isinstance(pages, int) or isinstance(pages, bool) or pages < 1:
            _refuse(
                f"DocumentReference.extension {codes.PAGE_COUNT_EXTENSION} is missing or is "
                "not a page count."
            )
        large_print = extensions.get(codes.LARGE_PRINT_EXTENSION, {}).get("valueBoolean", False)
        if not isinstance(large_print, bool):
            _refuse(
                f"DocumentReference.extension {codes.LARGE_PRINT_EXTENSION} is not true or false."
            )
        plan_version = next(
            (
                _free_text(
                    identifier.get("value"), "DocumentReference.identifier (plan version)", 40
                )
                for identifier in _list(resource.get("identifier"))
                if isinstance(identifier, dict)
                and identifier.get("system") == codes.PLAN_VERSION_SYSTEM
            ),
            "",
        )
        authors = _list(resource.get("author"))
        printed_by = self.staff_id(authors[0], "DocumentReference.author[0]") if authors else None
        self.planned.prints.append(
            PrintRecord(
                id=_row_id(entry.url),
                kind=DocumentKind.CARE_PLAN,
                patient_id=patient_id,
                case_id=case.id,
                printed_by_id=printed_by,
                printed_at=_instant(resource.get("date"), "DocumentReference.date"),
                plan_version=plan_version,
                content_sha256=digest,
                pages=pages,
                large_print=large_print,
            )
        )

    # -- the store

    def one_open_case_each(self) -> None:
        """A person has at most one open case (as the case service insists)."""
        open_cases: dict[uuid.UUID, list[str]] = {}
        for url, case in self.case_of_episode.items():
            if case.status is not CaseStatus.CLOSED:
                open_cases.setdefault(case.patient_id, []).append(url)
        for urls in open_cases.values():
            for url in urls[1:]:
                self.note(
                    self.by_url[url],
                    "the Patient has another open EpisodeOfCare in the bundle; MDT Desk "
                    "keeps one open case per person.",
                )

    def ids_not_in_store(self) -> None:
        """No row the import adds may already be in the store (a Patient is said above,
        and the rows of a person already in the store go without saying)."""
        if self.session is None:
            return
        person_of_case = {case.id: case.patient_id for case in self.planned.cases}

        def person_of(row: Any) -> uuid.UUID | None:
            person: uuid.UUID | None = getattr(row, "patient_id", None)
            case_id: uuid.UUID | None = getattr(row, "case_id", None)
            return person or (person_of_case.get(case_id) if case_id else None)

        wanted: list[tuple[type[SyncedRecord], list[Any], str]] = [
            (Case, self.planned.cases, "case"),
            (CoordinatorAssignment, self.planned.coordinators, "coordinator assignment"),
            (CareTeamMember, self.planned.members, "care team member"),
            (Goal, self.planned.goals, "goal"),
            (Action, self.planned.actions, "action"),
            (Alert, self.planned.alerts, "alert"),
            (Consent, self.planned.consents, "consent decision"),
            (OutcomeEvent, self.planned.events, "admission"),
            (PrintRecord, self.planned.prints, "printed plan"),
        ]
        urls = {_row_id_or_none(entry.url): entry for entry in self.entries}
        for model, rows, what in wanted:
            ids = [row.id for row in rows if person_of(row) not in self.people_in_store]
            for start in range(0, len(ids), _CHUNK):
                for found in self.session.scalars(
                    select(model.id).where(model.id.in_(ids[start : start + _CHUNK]))
                ):
                    message = f"{_a(what)} with the same id is already in this store."
                    entry = urls.get(found)
                    if entry is not None:
                        self.note(entry, message)
                    else:  # a care team participant: named within its CareTeam
                        team, element = self.participant_at[found]
                        self.note(team, f"{element}: {message}")


def _next_review(plan: JSON) -> object:
    """The valueDate of a CarePlan's next-review extension, if it has one."""
    for extension in _list(plan.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == codes.NEXT_REVIEW_EXTENSION:
            return extension.get("valueDate")
    return None


def _is_coordinator(participant: JSON) -> bool:
    """True when a CareTeam participant's first role is care coordinator."""
    roles = _list(participant.get("role"))
    first_role = _dict(roles[0]) if roles else {}
    return any(
        isinstance(coding, dict)
        and coding.get("system") == codes.CARE_TEAM_ROLE_SYSTEM
        and coding.get("code") == codes.COORDINATOR_ROLE[0]
        for coding in _list(first_role.get("coding"))
    )


def _row_id_or_none(url: str) -> uuid.UUID | None:
    try:
        return _row_id(url)
    except _ResourceRefusedError:
        return None


def _rule_line(violation: RuleViolation, entries: Sequence[_Entry | None]) -> str:
    """A broken rule named as every other problem is (with the entry's line)."""
    message = violation.message
    at = violation.entry
    named = entries[at] if at is not None and 0 <= at < len(entries) else None
    if named is None:
        return str(violation)
    if _only_capitals_wrong(violation, named):
        message = message.removesuffix(".") + _LOWER_CASE_HINT + "."
    return f"{named.where}: {message}"


def _only_capitals_wrong(violation: RuleViolation, entry: _Entry) -> bool:
    """True when the violation is a code that would be allowed in lower case."""
    for rule in CODE_RULES.get(entry.type, ()):
        value = entry.resource.get(rule.element)
        if (
            violation.message.startswith(f"{entry.type}.{rule.element} ")
            and isinstance(value, str)
            and value not in rule.codes
            and value.lower() in rule.codes
        ):
            return True
    return False


def _problem_lines(
    entries: Sequence[_Entry | None],
    found: Iterable[Mapping[int, list[str]]],
    violations: Iterable[RuleViolation],
) -> list[str]:
    """Every problem, in entry order; each line names the entry."""
    by_entry: dict[int, list[str]] = {}
    for source in found:
        for index, messages in source.items():
            by_entry.setdefault(index, []).extend(messages)
    lines: list[tuple[int, int, str]] = []
    order = 0
    for violation in violations:
        at = violation.entry
        lines.append((-1 if at is None else at, order, _rule_line(violation, entries)))
        order += 1
    for index, messages in by_entry.items():
        named = entries[index] if 0 <= index < len(entries) else None
        for message in messages:
            lines.append((index, order, f"{named.where}: {message}" if named else message))
            order += 1
    return [line for _index, _order, line in sorted(lines)]


def _without_faulty_resources(bundle: JSON, faulty: Iterable[int]) -> JSON:
    """The bundle for our rules: a resource ``fhir.resources`` refused is cut down to its
    type and id. Its faults are said already, and our rules read well-formed resources;
    its fullUrl stays, so a reference to it still resolves."""
    entries = list(bundle.get("entry", []))
    for index in faulty:
        resource = entries[index]["resource"]
        entries[index] = {
            **entries[index],
            "resource": {"resourceType": resource["resourceType"], "id": resource.get("id")},
        }
    return {**bundle, "entry": entries}


def _write(session: Session, planned: _Planned) -> None:
    """Write the planned rows, all or none: a savepoint inside the caller's transaction."""
    with session.begin_nested():
        for group in planned.groups():
            if group:
                session.add_all(group)
                session.flush()


@dataclass(frozen=True)
class _Read:
    """The bundle after the first two rounds (text; structure and our rules)."""

    entries: list[_Entry | None]
    structure: dict[int, list[str]]
    violations: list[RuleViolation]

    @property
    def faulty(self) -> set[int]:
        return set(self.structure) | {
            violation.entry for violation in self.violations if violation.entry is not None
        }

    def reader(self, session: Session | None) -> _Reader:
        """The third round, run: with the store's checks when given a session."""
        reader = _Reader(session, [entry for entry in self.entries if entry], self.faulty)
        reader.read()
        return reader

    def problems(self, reader: _Reader) -> list[str]:
        return _problem_lines(self.entries, (self.structure, reader.problems), self.violations)


def _read(text: str) -> _Read:
    bundle = _parse(text)
    count = len(bundle.get("entry", []))
    entries = _entries(bundle, _entry_lines(text, count) if count else None)
    structure = _structure_problems(entries)
    violations = [
        violation
        for violation in bundle_violations(_without_faulty_resources(bundle, structure))
        if violation.entry not in structure
    ]
    return _Read(entries, structure, violations)


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle that passed every check that needs no store (:func:`check_bundle_text`);
    :func:`import_bundle` adds those that do."""

    _read: _Read


def check_bundle_text(text: str) -> CheckedBundle:
    """Check a bundle as far as can be done without a store: its JSON, its structure,
    our rules, and the reading of its resources into rows, all but what depends on the
    store's contents (a person or a row already there; a practice or a staff member
    already there, kept as it is).

    So a command can refuse a wrong file before it opens, or makes, a store.

    Raises:
        FhirImportError: listing every problem found; nothing was read into a store.
    """
    read = _read(text)
    problems = read.problems(read.reader(None))
    if problems:
        raise FhirImportError(problems)
    return CheckedBundle(read)


@requires(Permission.IMPORT_PATIENTS)
def import_bundle(session: Session, bundle: str | CheckedBundle) -> FhirImportReport:
    """Read a care plan bundle (as :mod:`.export` writes) into the store.

    Args:
        session: a write session (``store.write``); nothing is written unless the whole
            bundle can be.
        bundle: the bundle's JSON text, or what :func:`check_bundle_text` made of it.

    Raises:
        FhirImportError: listing every problem found (by line, or by entry, resource
            type and fullUrl); nothing was written.
    """
    read = bundle._read if isinstance(bundle, CheckedBundle) else _read(bundle)
    reader = read.reader(session)
    problems = read.problems(reader)
    if problems:
        raise FhirImportError(problems)
    planned = reader.planned
    _write(session, planned)
    return FhirImportReport(
        people=len(planned.patients),
        staff=len(planned.staff),
        practices=len(planned.practices),
        resources=len(read.entries),
        staff_reused=planned.staff_reused,
        practices_reused=planned.practices_reused,
        patient_ids=tuple(patient.id for patient in planned.patients),
    )
