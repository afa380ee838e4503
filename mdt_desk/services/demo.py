"""A synthetic demo caseload: real practices (Thanet first), made-up people.

The practices are real active GP practices, shipped as rows of the NHS ODS file and
imported with the ordinary :func:`~mdt_desk.services.practices.import_ods_practices`:
the 14 of Thanet (locality ``10E``) in ``resources/demo/practices.csv``, then further
whole localities in ``resources/demo/more-practices.csv`` (how they were chosen: that
folder's README). A bigger demo models a bigger area, not bigger practices: it has
about :data:`PEOPLE_PER_PRACTICE` people per practice known to the team (so a meeting
is proposed a realistic number of cases), and at most 2,800 people it is Thanet alone,
as it always was. ``practices`` asks for a number of practices instead (the stress
case: 100,000 people in 14 practices). See :func:`demo_practice_count`.

Staff work in teams of at most :data:`TEAM_PRACTICES` practices of one locality, each
team staffed as Thanet's (three matrons, four district nurses, ...; fewer for a
smaller team), and every practice has its own GP and its own fortnightly meetings.

Everything else is drawn
with a seeded :class:`random.Random` from the hand-written word lists of
``resources/demo/vocabulary.json``: the same seed gives the same people, cases and
record ids (UUIDv7-shaped, from the seeded generator) on any desk.

Speed. 100,000 patients mean several million journal rows (the store's triggers write
one per non-empty field). Rows are therefore built as plain dicts of values already in
stored form (:class:`_Storage`) and written with Core ``insert()`` executemany, in one
journalled :meth:`Store.write` per batch of patients, so memory stays flat and progress
can be reported. The triggers still journal every field: nothing here bypasses them.
docs/performance.md has the measured times.

Rules the data keeps (the services in :mod:`mdt_desk.services.cases` enforce the same
on a desk): at most one open case per person; exactly one current coordinator for each
active or under-review case, named when it was accepted (a referral waits for one; a
few cases have an earlier, ended assignment and the new one carries the reason for the
change); closed cases have a closure reason and date and no current coordinator; every
action has an owner and a due date; a person who has died has no open case, and their
last case closed, with reason "died", on the day of the death outcome event.

Ids ascend table by table within each batch, in the order the rows are inserted, so
the id indexes (and the journal's row-id index) only ever grow at their end: that
alone took a fifth off the time of a 100,000-patient demo.

The demo refuses a store that already has patients, or whose staff already have PINs:
generate it into a new store.

Access. The demo has staff in every role (``services/access.py``), observers included,
and every demo staff member's PIN is :data:`~mdt_desk.services.sign_in.DEMO_PIN`, so
anyone trying the demo can sign in as anyone. The store is marked as a demo store
(:func:`is_demo_store`), so the app can say so: its PINs are public.
"""

import csv
import datetime as dt
import itertools
import json
import logging
import random
import string
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nhs_number
from sqlalchemy import Dialect, Table, TableClause, column, func, insert, select
from sqlalchemy import table as table_clause
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models import (
    Action,
    AgendaItem,
    Alert,
    Attendance,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    ExperienceResponse,
    Goal,
    Intervention,
    LongTermCondition,
    Meeting,
    Note,
    OutcomeEvent,
    Patient,
    Practice,
    PracticeListSize,
    Staff,
    StaffPracticeCover,
    SyncedRecord,
    utc_now,
)
from mdt_desk.models.enums import (
    ActionStatus,
    AgendaOutcome,
    AgendaReason,
    AlertKind,
    AttendanceStatus,
    CaseStatus,
    ClosureReason,
    ConsentDecision,
    DischargeDestination,
    ExperienceStatement,
    Gender,
    GoalOutcome,
    InterventionKind,
    InterventionOutcome,
    MeetingStatus,
    NotAcceptedReason,
    OutcomeEventKind,
    PracticeStatus,
    Profession,
    ReferralSource,
    RiskBand,
    Role,
    SurveyMethod,
    Urgency,
)
from mdt_desk.models.store import Store
from mdt_desk.resources import resource_path
from mdt_desk.services.access import format_roles, store_in_setup
from mdt_desk.services.ids import practice_cover_id_for
from mdt_desk.services.list_sizes import list_size_id
from mdt_desk.services.plans import CHECK_AFTER_DISCHARGE, check_91_day_text
from mdt_desk.services.practices import import_ods_practices
from mdt_desk.services.sign_in import DEMO_PIN, hash_pin
from mdt_desk.services.staff import display_staff_name, sign_in

log = logging.getLogger(__name__)

#: Patients written per journalled transaction.
BATCH_PATIENTS = 10_000
#: The 999 range holds 10**6 nine-digit stems, of which 10/11 have a valid check digit.
MAX_DEMO_PATIENTS = 900_000
DEMO_ACTOR_LABEL = "synthetic demo data"
#: ``store_meta`` key present from the demo's first write until its last: a store that
#: still has it holds a demo that was interrupted (killed, disk full) part-way.
META_DEMO_UNFINISHED = "demo_unfinished"
#: ``store_meta`` key set to "1" in a demo store: its staff's PINs are public.
META_DEMO_STORE = "demo_store"
#: The commissioner code (locality) of the practices in ``resources/demo/practices.csv``.
DEMO_LOCALITY = "10E"
#: The further practices, by locality: enough for :data:`MAX_DEMO_PATIENTS` people at
#: :data:`PEOPLE_PER_PRACTICE` a practice.
MORE_PRACTICES_FILE = "more-practices.csv"
#: People per practice known to the team that a demo of a given size aims at: a
#: 90-minute meeting is then proposed roughly 5-30 cases, as in real life.
PEOPLE_PER_PRACTICE = 200
#: Practices one team of community staff covers (Thanet's 14 are one team).
TEAM_PRACTICES = 14
#: Where Thanet's name appears in ``organisations`` of ``vocabulary.json``.
_DEMO_LOCALITY_NAME = "Thanet"

# Ids: UUIDv7 layout (48-bit milliseconds, version 7, 12 bits, variant, 62 random bits)
# from a fixed base time plus a (block, counter) position, so ids are reproducible and
# ascend in insertion order. Each block (one table in one batch) spans 2**16 ms.
_ID_BASE_MS = int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
_ID_FIXED_BITS = (0x7 << 76) | (0b10 << 62)

# Staff of each profession; every practice is covered by one of each (and its own GP).
_STAFF_PER_PROFESSION: dict[Profession, int] = {
    Profession.COMMUNITY_MATRON: 3,
    Profession.DISTRICT_NURSE: 4,
    Profession.SOCIAL_WORKER: 5,
    Profession.OCCUPATIONAL_THERAPIST: 2,
    Profession.PHYSIOTHERAPIST: 2,
    Profession.MENTAL_HEALTH_NURSE: 2,
    Profession.PHARMACIST: 2,
    Profession.CARE_NAVIGATOR: 3,
    Profession.VOLUNTARY_SECTOR: 2,
    Profession.ADMINISTRATOR: 1,
}
COORDINATOR_PROFESSIONS: frozenset[Profession] = frozenset(
    {
        Profession.COMMUNITY_MATRON,
        Profession.DISTRICT_NURSE,
        Profession.MENTAL_HEALTH_NURSE,
        Profession.SOCIAL_WORKER,
        Profession.OCCUPATIONAL_THERAPIST,
        Profession.CARE_NAVIGATOR,
    }
)

#: The demo staff's roles by profession: GPs and matrons chair the meetings (as the
#: demo's meetings have them), the professions that coordinate demo cases are care
#: coordinators, the others team members, and the administrator runs the team.
_ROLES_BY_PROFESSION: dict[Profession, frozenset[Role]] = {
    Profession.GP: frozenset({Role.MDT_CHAIR}),
    Profession.COMMUNITY_MATRON: frozenset({Role.CARE_COORDINATOR, Role.MDT_CHAIR}),
    Profession.DISTRICT_NURSE: frozenset({Role.CARE_COORDINATOR}),
    Profession.SOCIAL_WORKER: frozenset({Role.CARE_COORDINATOR}),
    Profession.OCCUPATIONAL_THERAPIST: frozenset({Role.CARE_COORDINATOR}),
    Profession.MENTAL_HEALTH_NURSE: frozenset({Role.CARE_COORDINATOR}),
    Profession.CARE_NAVIGATOR: frozenset({Role.CARE_COORDINATOR, Role.CARE_NAVIGATOR}),
    Profession.PHYSIOTHERAPIST: frozenset({Role.TEAM_MEMBER}),
    Profession.PHARMACIST: frozenset({Role.TEAM_MEMBER}),
    Profession.VOLUNTARY_SECTOR: frozenset({Role.TEAM_MEMBER}),
    Profession.ADMINISTRATOR: frozenset({Role.TEAM_ADMINISTRATOR}),
}
#: Staff who cover no practice and hold the roles no caseload profession does alone:
#: (profession, organisation, role).
_ACCESS_STAFF: tuple[tuple[Profession, str, Role], ...] = (
    (Profession.ADMINISTRATOR, "Information governance", Role.PRIVACY_OFFICER),
    (Profession.SOCIAL_WORKER, "Student placement", Role.OBSERVER),
    (Profession.CARE_NAVIGATOR, "Care navigation hub", Role.CARE_NAVIGATOR),
)

_PAST_MEETINGS = 6
_MEETING_INTERVAL_DAYS = 14

# Date of birth: (first year, last year, weight). Mostly older people.
_BIRTH_ERAS: tuple[tuple[int, int, int], ...] = (
    (1920, 1934, 12),
    (1935, 1944, 30),
    (1945, 1954, 28),
    (1955, 1964, 14),
    (1965, 1984, 10),
    (1985, 2005, 6),
)


Row = dict[str, Any]
#: A record id as the store keeps it: 32 lower-case hex digits (what ``Uuid`` binds).
Id = str
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True)
class DemoReport:
    """What :func:`generate_demo` wrote."""

    practices: int
    staff: int
    patients: int
    cases: int
    meetings: int
    signed_in: str  # display name of the signed-in coordinator


@dataclass(frozen=True)
class _Vocabulary:
    family_names: tuple[str, ...]
    given_names: dict[str, tuple[tuple[str, ...], ...]]  # gender -> pool per birth era
    titles: dict[str, tuple[str, ...]]
    towns: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # name, districts, streets
    buildings: tuple[str, ...]
    conditions: tuple[str, ...]
    referral_reasons: tuple[str, ...]
    goals: tuple[str, ...]
    actions: tuple[tuple[str, tuple[Profession, ...]], ...]
    notes: tuple[str, ...]
    closure_notes: dict[ClosureReason, tuple[str, ...]]
    coordinator_change_reasons: tuple[str, ...]
    alert_details: dict[AlertKind, tuple[str, ...]]
    consent_notes: dict[ConsentDecision, tuple[str, ...]]
    intervention_providers: dict[InterventionKind, tuple[str, ...]]
    outcome_sources: dict[OutcomeEventKind, tuple[str, ...]]
    agenda_reason_details: dict[AgendaReason, tuple[str, ...]]
    agenda_summaries: tuple[str, ...]
    decisions: tuple[str, ...]
    care_team_roles: dict[Profession, str]
    organisations: dict[Profession, str]
    carer_relationships: tuple[str, ...]
    meeting_rooms: tuple[str, ...]
    #: an action and a note of an alert's kind, for a person with that alert
    actions_by_alert: dict[AlertKind, tuple[tuple[str, tuple[Profession, ...]], ...]]
    notes_by_alert: dict[AlertKind, tuple[str, ...]]


def _load_vocabulary() -> _Vocabulary:
    raw: dict[str, Any] = json.loads(
        resource_path("demo", "vocabulary.json").read_text(encoding="utf-8")
    )

    def strings(values: Sequence[str]) -> tuple[str, ...]:
        return tuple(str(value) for value in values)

    def by_enum(enum_class: type[_E], key: str) -> dict[_E, tuple[str, ...]]:
        return {enum_class(name): strings(values) for name, values in raw[key].items()}

    eras = ("born_before_1950", "born_1950_1975", "born_after_1975")
    return _Vocabulary(
        family_names=strings(raw["family_names"]),
        given_names={
            gender: tuple(strings(pools[era]) for era in eras)
            for gender, pools in raw["given_names"].items()
        },
        titles={gender: strings(values) for gender, values in raw["titles"].items()},
        towns=tuple(
            (str(town["name"]), strings(town["postcode_districts"]), strings(town["streets"]))
            for town in raw["towns"]
        ),
        buildings=strings(raw["buildings"]),
        conditions=strings(raw["long_term_conditions"]),
        referral_reasons=strings(raw["referral_reasons"]),
        goals=strings(raw["goals"]),
        actions=tuple(
            (str(action["text"]), tuple(Profession(p) for p in action["professions"]))
            for action in raw["actions"]
        ),
        notes=strings(raw["notes"]),
        closure_notes=by_enum(ClosureReason, "closure_notes"),
        coordinator_change_reasons=strings(raw["coordinator_change_reasons"]),
        alert_details=by_enum(AlertKind, "alert_details"),
        consent_notes=by_enum(ConsentDecision, "consent_notes"),
        intervention_providers=by_enum(InterventionKind, "intervention_providers"),
        outcome_sources=by_enum(OutcomeEventKind, "outcome_sources"),
        agenda_reason_details=by_enum(AgendaReason, "agenda_reason_details"),
        agenda_summaries=strings(raw["agenda_summaries"]),
        decisions=strings(raw["decisions"]),
        care_team_roles={Profession(k): str(v) for k, v in raw["care_team_roles"].items()},
        organisations={Profession(k): str(v) for k, v in raw["organisations"].items()},
        carer_relationships=strings(raw["carer_relationships"]),
        meeting_rooms=strings(raw["meeting_rooms"]),
        actions_by_alert={
            AlertKind(kind): tuple(
                (str(action["text"]), tuple(Profession(p) for p in action["professions"]))
                for action in actions
            )
            for kind, actions in raw["actions_by_alert"].items()
        },
        notes_by_alert=by_enum(AlertKind, "notes_by_alert"),
    )


def _table(model: type[SyncedRecord]) -> Table:
    return cast(Table, model.__table__)


# Tables in the order a batch is written (parents before children).
_BATCH_TABLES: tuple[Table, ...] = tuple(
    _table(model)
    for model in (
        Patient,
        LongTermCondition,
        Alert,
        Consent,
        Case,
        CoordinatorAssignment,
        CareTeamMember,
        Goal,
        Action,
        Note,
        Intervention,
        OutcomeEvent,
        ExperienceResponse,
    )
)


def synthetic_nhs_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct valid NHS numbers from the never-issued 999 range."""
    if count > MAX_DEMO_PATIENTS:
        raise UserError(f"The demo can make at most {MAX_DEMO_PATIENTS:,} patients.")
    numbers: list[str] = []
    # About 1 in 11 stems has no valid check digit: draw a few more than needed.
    for stem_number in rng.sample(range(1_000_000), min(1_000_000, count + count // 8 + 50)):
        stem = f"999{stem_number:06d}"
        check = nhs_number.calculate_checksum(stem)
        if check is not None and check < 10:  # 10: this stem has no valid number
            numbers.append(f"{stem}{check}")
            if len(numbers) == count:
                return numbers
    raise AssertionError("not enough synthetic NHS numbers drawn")  # pragma: no cover


def _title_case(name: str) -> str:
    """An ODS name (upper case) as people write it: ``St Peter's Surgery``."""
    return string.capwords(name.lower())


def _team_slug(locality: str) -> str:
    """The made-up name of a locality's team in mail domains and video links."""
    return "thanet-mdt" if locality == DEMO_LOCALITY else f"{locality.lower()}-mdt"


def _mail_domain(locality: str) -> str:
    return f"{_team_slug(locality)}.example"


def _practice_lines(name: str) -> list[str]:
    """The lines (ODS rows, unchanged) of a shipped practice file."""
    return resource_path("demo", name).read_text(encoding="utf-8").splitlines()


def available_demo_practices() -> int:
    """How many practices the demo can make: the shipped files' rows."""
    return len(_practice_lines("practices.csv")) + len(_practice_lines(MORE_PRACTICES_FILE))


def demo_practice_count(patients: int, practices: int | None = None) -> int:
    """How many practices a demo of ``patients`` people has.

    By default one per :data:`PEOPLE_PER_PRACTICE` people, and never fewer than
    Thanet's 14 (so a demo of up to 2,800 people is Thanet's, as it always was). Past
    what is shipped (4,547 practices, enough for :data:`MAX_DEMO_PATIENTS`) practices
    would grow bigger instead. ``practices`` asks for exactly that many.

    Raises:
        UserError: ``practices`` is below 1 or more than are shipped.
    """
    available = available_demo_practices()
    if practices is None:
        return min(available, max(14, round(patients / PEOPLE_PER_PRACTICE)))
    if not 1 <= practices <= available:
        raise UserError(f"The demo makes between 1 and {available:,} practices.")
    return practices


def _demo_practice_lines(count: int) -> list[str]:
    """The ODS rows of the first ``count`` demo practices: Thanet's by ODS code, then
    the further practices in their file's order (whole localities, the last one cut to
    make the count exact)."""
    thanet = sorted(_practice_lines("practices.csv"))
    return (thanet + _practice_lines(MORE_PRACTICES_FILE))[:count]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "-."))


@dataclass
class _StaffMember:
    id: Id
    profession: Profession
    display_name: str
    organisation: str


@dataclass
class _MeetingPlan:
    id: Id
    day: int  # days from today
    starts_at: dt.datetime
    capacity: int
    items: list[Row] = field(default_factory=list)


@dataclass
class _PracticeInfo:
    id: Id
    ods_code: str
    name: str
    town_indexes: tuple[int, ...]
    locality: str = DEMO_LOCALITY  # commissioner code
    staff: dict[Profession, _StaffMember] = field(default_factory=dict)
    coordinators: list[_StaffMember] = field(default_factory=list)
    past_meetings: list[_MeetingPlan] = field(default_factory=list)
    upcoming: _MeetingPlan | None = None


@dataclass
class _CaseState:
    """What the agenda builder needs to know about a case just generated."""

    id: Id
    status: CaseStatus
    coordinator: Id | None
    next_review: int | None
    escalated: bool
    overdue_actions: int
    last_event: int | None


class _Generator:
    """Builds the rows of the demo caseload from a seeded random generator."""

    def __init__(
        self, seed: int, today: dt.date, vocabulary: _Vocabulary, storage: "_Storage"
    ) -> None:
        # Reproducible synthetic data, not security: a seeded PRNG is the point.
        self.rng = random.Random(seed)  # noqa: S311
        self._id_rng = random.Random(f"mdt-desk demo ids {seed}")  # noqa: S311
        # The actions and notes that go with an alert draw from their own generator, so
        # everything else stays as it was before they were added.
        self._alert_rng = random.Random(f"mdt-desk demo alert items {seed}")  # noqa: S311
        self._alert_kinds: list[AlertKind] = []  # the alerts of the person being made
        # The staff who hold the access roles draw from their own generator too.
        self._access_rng = random.Random(f"mdt-desk demo access staff {seed}")  # noqa: S311
        # The data of the indicators (discharges, placements, referrals not accepted,
        # survey answers, list sizes, reablement) draws from its own generator too.
        self._indicator_rng = random.Random(f"mdt-desk demo indicator data {seed}")  # noqa: S311
        #: the one argon2id hash of the demo PIN every demo staff member gets
        self.pin_hash = ""
        self._id_blocks: dict[Table, int] = {}
        self._id_counts: dict[Table, int] = {}
        self._next_block = 0
        self.today = today
        self.today_ordinal = today.toordinal()
        self.storage = storage
        self.now = storage.stamp(utc_now())
        self._days: dict[int, str] = {}
        self.v = vocabulary
        self.practices: list[_PracticeInfo] = []
        self.practice_weights: list[float] = []
        #: the running sums of ``practice_weights``, so drawing a practice for each of
        #: many people does not add up thousands of weights each time
        self.practice_cumulative: list[float] = []
        self.staff: list[_StaffMember] = []
        self.access_staff: list[_StaffMember] = []  # no practices, no cases
        self.rows: dict[Table, list[Row]] = {table: [] for table in _BATCH_TABLES}
        self.cases = 0
        self._times = [
            dt.time(hour, minute, tzinfo=dt.UTC)
            for hour in range(8, 18)
            for minute in range(0, 60, 5)
        ]
        try:
            self._local_zone: dt.tzinfo = ZoneInfo("Europe/London")
        except ZoneInfoNotFoundError:  # pragma: no cover - no time zone data installed
            self._local_zone = dt.UTC

    # -- small helpers ------------------------------------------------------------

    def begin_ids(self, tables: Sequence[Table], first_block: int | None = None) -> None:
        """Start a fresh run of ids for each of ``tables``, in the order written next.

        Ids ascend table by table in the order rows are inserted, so every index on
        ids (primary keys, foreign keys, the journal's row id) grows at its end.
        """
        block = self._next_block if first_block is None else first_block
        for table in tables:
            self._id_blocks[table] = block
            self._id_counts[table] = 0
            block += 1
        if first_block is None:
            self._next_block = block

    def new_id(self, table: Table, rng: random.Random | None = None) -> Id:
        count = self._id_counts[table]
        self._id_counts[table] = count + 1
        ordering = (self._id_blocks[table] << 28) | count
        millis = _ID_BASE_MS + (ordering >> 12)
        value = (
            (millis << 80)
            | _ID_FIXED_BITS
            | ((ordering & 0xFFF) << 64)
            | (rng or self._id_rng).getrandbits(62)
        )
        return f"{value:032x}"  # == uuid.UUID(int=value).hex

    def date(self, offset: int) -> dt.date:
        """The date ``offset`` days from today (negative: in the past)."""
        return dt.date.fromordinal(self.today_ordinal + offset)

    def day(self, offset: int) -> str:
        """The date ``offset`` days from today, as stored."""
        text = self._days.get(offset)
        if text is None:
            text = self._days[offset] = self.storage.date(self.date(offset))
        return text

    def moment(self, offset: int) -> str:
        """A working-hours time on the day ``offset`` days from today, as stored."""
        return self.storage.stamp(
            dt.datetime.combine(self.date(offset), self.rng.choice(self._times))
        )

    def _base(self, table: Table) -> Row:
        now = self.now
        return {"id": self.new_id(table), "created_at": now, "updated_at": now, "retired_at": None}

    def _person_name(self, gender: str, era: int) -> tuple[str, str]:
        """(family, given) for a person of ``gender`` born in birth era ``era`` (0-2)."""
        if gender not in self.v.given_names:  # other, not known: either list
            gender = self.rng.choice(("female", "male"))
        return self.rng.choice(self.v.family_names), self.rng.choice(
            self.v.given_names[gender][era]
        )

    def _phone(self) -> str:
        # Ofcom's drama ranges: numbers that reach nobody.
        if self.rng.random() < 0.7:
            return f"01632 960{self.rng.randrange(1000):03d}"
        return f"07700 900{self.rng.randrange(1000):03d}"

    # -- practices, staff and meetings --------------------------------------------

    def set_practices(self, practices: Sequence[tuple[Any, ...]]) -> None:
        """The practices people are registered with, localities together:
        (id, ODS code, name, postcode, commissioner code)."""
        for practice_id, ods_code, name, postcode, locality in practices:
            district = postcode.split(" ")[0] if postcode else ""
            towns = tuple(
                index
                for index, (_, districts, _) in enumerate(self.v.towns)
                if district in districts
            ) or tuple(range(len(self.v.towns)))
            self.practices.append(_PracticeInfo(practice_id.hex, ods_code, name, towns, locality))
            self.practice_weights.append(self.rng.uniform(0.5, 1.5))
        self.practice_cumulative = list(itertools.accumulate(self.practice_weights))

    def teams(self) -> list[list[_PracticeInfo]]:
        """The practices in teams: each locality's practices (consecutive in
        :attr:`practices`) split into near-equal runs of at most :data:`TEAM_PRACTICES`."""
        localities: list[list[_PracticeInfo]] = []
        for practice in self.practices:
            if localities and localities[-1][0].locality == practice.locality:
                localities[-1].append(practice)
            else:
                localities.append([practice])
        teams: list[list[_PracticeInfo]] = []
        for members in localities:
            count = -(-len(members) // TEAM_PRACTICES)
            bounds = [round(index * len(members) / count) for index in range(count + 1)]
            teams += [members[bounds[i] : bounds[i + 1]] for i in range(count)]
        return teams

    def staff_rows(self) -> tuple[list[Row], list[Row]]:
        """Staff of every profession and the practices each covers: every practice its
        own GP, and every team (:meth:`teams`) its own community staff, as many of each
        profession as Thanet has for 14 practices (at least one)."""
        staff_rows: list[Row] = []
        cover_rows: list[Row] = []

        def add(
            profession: Profession,
            organisation: str,
            practices: list[_PracticeInfo],
            locality: str,
        ) -> None:
            gender = self.rng.choice(("female", "female", "male"))
            family, given = self._person_name(gender, self.rng.choice((1, 2)))
            title = "Dr" if profession is Profession.GP else ""
            row = self._base(_STAFF) | {
                "family_name": family,
                "given_name": given,
                "title": title,
                "profession": profession,
                "organisation": organisation,
                "email": f"{_ascii(given)}.{_ascii(family)}@{_mail_domain(locality)}".lower(),
                "phone": f"07700 900{self.rng.randrange(1000):03d}",
                "roles": format_roles(_ROLES_BY_PROFESSION[profession]),
                "pin_hash": self.pin_hash,
            }
            staff_rows.append(row)
            member = _StaffMember(
                row["id"], profession, display_staff_name(family, given, title), organisation
            )
            self.staff.append(member)
            for practice in practices:
                practice.staff[profession] = member
                if profession in COORDINATOR_PROFESSIONS:
                    practice.coordinators.append(member)
                cover_rows.append(
                    {
                        "id": practice_cover_id_for(
                            uuid.UUID(member.id), uuid.UUID(practice.id)
                        ).hex,
                        "created_at": self.now,
                        "updated_at": self.now,
                        "retired_at": None,
                        "staff_id": member.id,
                        "practice_id": practice.id,
                    }
                )

        for practice in self.practices:
            add(Profession.GP, _title_case(practice.name), [practice], practice.locality)
        for team in self.teams():
            locality = team[0].locality
            for profession, thanet_count in _STAFF_PER_PROFESSION.items():
                organisation = self.v.organisations[profession]
                if locality != DEMO_LOCALITY:
                    organisation = organisation.replace(_DEMO_LOCALITY_NAME, f"Locality {locality}")
                count = max(1, round(thanet_count * len(team) / TEAM_PRACTICES))
                for index in range(count):
                    covered = [p for j, p in enumerate(team) if j % count == index]
                    add(profession, organisation, covered, locality)
        return staff_rows, cover_rows

    def access_staff_rows(self) -> list[Row]:
        """A privacy officer, an observer and a care navigator, covering no practice.

        Drawn from their own generator, so the rest of the demo is as it was.
        """
        rows: list[Row] = []
        rng = self._access_rng
        for profession, organisation, role in _ACCESS_STAFF:
            gender = rng.choice(("female", "male"))
            family = rng.choice(self.v.family_names)
            given = rng.choice(self.v.given_names[gender][2])
            row: Row = {
                "id": self.new_id(_STAFF, rng),
                "created_at": self.now,
                "updated_at": self.now,
                "retired_at": None,
                "family_name": family,
                "given_name": given,
                "title": "",
                "profession": profession,
                "organisation": organisation,
                "email": f"{_ascii(given)}.{_ascii(family)}@{_mail_domain(DEMO_LOCALITY)}".lower(),
                "phone": f"07700 900{rng.randrange(1000):03d}",
                "roles": format_roles({role}),
                "pin_hash": self.pin_hash,
            }
            rows.append(row)
            self.access_staff.append(
                _StaffMember(row["id"], profession, display_staff_name(family, given), organisation)
            )
        return rows

    def meeting_rows(self) -> tuple[list[Row], list[Row]]:
        """Fortnightly meetings per practice: past ones finished, one upcoming planned."""
        meetings: list[Row] = []
        attendance: list[Row] = []
        for index, practice in enumerate(self.practices):
            shift = index % 10
            invited = list(practice.staff.values())
            for number in range(_PAST_MEETINGS, -1, -1):
                day = -_MEETING_INTERVAL_DAYS * number - shift if number else 14 - shift
                past = number > 0
                local = dt.datetime.combine(
                    self.date(day),
                    dt.time(12, 30) if index % 2 else dt.time(13, 0),
                    self._local_zone,
                )
                starts_at = local.astimezone(dt.UTC)
                chair = practice.staff[
                    Profession.GP if self.rng.random() < 0.7 else Profession.COMMUNITY_MATRON
                ]
                video = self.rng.random() < 0.4
                room = self.rng.choice(self.v.meeting_rooms)
                row = self._base(_MEETING) | {
                    "practice_id": practice.id,
                    "starts_at": self.storage.stamp(starts_at),
                    "duration_minutes": self.rng.choice((60, 90, 90)),
                    "location": f"{_title_case(practice.name)}, {room}",
                    "video_link": (
                        f"https://video.example/{_team_slug(practice.locality)}/"
                        f"{practice.ods_code.lower()}"
                        if video
                        else ""
                    ),
                    "chair_id": chair.id,
                    "status": MeetingStatus.FINISHED if past else MeetingStatus.PLANNED,
                }
                meetings.append(row)
                plan = _MeetingPlan(
                    row["id"],
                    day,
                    starts_at,
                    self.rng.randint(6, 10) if past else self.rng.randint(8, 12),
                )
                for member in invited:
                    status = AttendanceStatus.INVITED
                    deputy = ""
                    if past:
                        draw = self.rng.random()
                        if member is chair or draw < 0.7:
                            status = AttendanceStatus.PRESENT
                        elif draw < 0.9:
                            status = AttendanceStatus.APOLOGIES
                        else:
                            status = AttendanceStatus.DEPUTY
                            family, given = self._person_name("female", 2)
                            deputy = f"{given} {family}"
                    attendance.append(
                        self._base(_ATTENDANCE)
                        | {
                            "meeting_id": plan.id,
                            "staff_id": member.id,
                            "status": status,
                            "deputy_name": deputy,
                        }
                    )
                if past:
                    practice.past_meetings.append(plan)
                else:
                    practice.upcoming = plan
            practice.past_meetings.reverse()  # most recent first
        return meetings, attendance

    # -- people and cases -----------------------------------------------------------

    def patient(self, number: str) -> None:
        """One person, with their conditions, alerts, consent and any cases."""
        rng = self.rng
        v = self.v
        draw = rng.random()
        gender = (
            Gender.FEMALE
            if draw < 0.56
            else Gender.MALE
            if draw < 0.99
            else Gender.OTHER
            if draw < 0.995
            else Gender.NOT_KNOWN
        )
        first, last, _ = rng.choices(_BIRTH_ERAS, cum_weights=_ERA_CUMULATIVE)[0]
        born = dt.date.fromordinal(
            rng.randint(dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal())
        )
        age = self.today.year - born.year
        era = 0 if born.year < 1950 else 1 if born.year < 1976 else 2
        family, given = self._person_name(gender.value, era)
        practice = rng.choices(self.practices, cum_weights=self.practice_cumulative)[0]
        town_name, districts, streets = v.towns[
            rng.choice(practice.town_indexes)
            if rng.random() < 0.85
            else rng.randrange(len(v.towns))
        ]
        street = f"{rng.randint(1, 180)} {rng.choice(streets)}"
        if rng.random() < 0.12:
            street = f"Flat {rng.randint(1, 24)}, {rng.choice(v.buildings)}, {rng.choice(streets)}"
        postcode = (
            f"{rng.choice(districts)} {rng.randint(1, 9)}"
            f"{rng.choice(_POSTCODE_LETTERS)}{rng.choice(_POSTCODE_LETTERS)}"
        )
        frail = age >= 75
        band_draw = rng.random() + (0.25 if frail else 0.0)
        risk_band = (
            None
            if band_draw < 0.08
            else RiskBand.LOW
            if band_draw < 0.3
            else RiskBand.MEDIUM
            if band_draw < 0.65
            else RiskBand.HIGH
            if band_draw < 0.95
            else RiskBand.VERY_HIGH
        )
        has_case = rng.random() < _CASE_CHANCE[risk_band]
        died: int | None = None
        if has_case and rng.random() < 0.05:
            died = -rng.randint(1, 365)
        patient_id = self.new_id(_PATIENT)
        now = self.now
        self.rows[_PATIENT].append(
            {
                "id": patient_id,
                "created_at": now,
                "updated_at": now,
                "retired_at": None,
                "nhs_number": number,
                "family_name": family,
                "given_name": given,
                "title": rng.choice(v.titles[gender.value]),
                "date_of_birth": self.storage.date(born),
                "date_of_death": None if died is None else self.day(died),
                "gender": gender,
                "address": f"{street}, {town_name}",
                "postcode": postcode,
                "phone": self._phone() if rng.random() < 0.9 else "",
                "practice_id": practice.id,
                "risk_band": risk_band,
            }
        )
        for name in rng.sample(v.conditions, rng.choice(_CONDITION_COUNTS[frail])):
            self.rows[_CONDITION].append(
                self._base(_CONDITION)
                | {
                    "patient_id": patient_id,
                    "name": name,
                    "diagnosed_on": self.day(-rng.randint(60, 7300)),
                }
            )
        draw = rng.random()
        self._alert_kinds = []
        for _ in range(0 if draw < 0.7 else 1 if draw < 0.93 else 2):
            self._alert(patient_id)
        if not has_case:
            if rng.random() < 0.1:
                self._consent(patient_id, None, -rng.randint(30, 700))
            return
        self._cases(patient_id, practice, died)

    def _alert(self, patient_id: Id) -> None:
        kind = self.rng.choices(_ALERT_KINDS, cum_weights=_ALERT_CUMULATIVE)[0]
        self._alert_kinds.append(kind)
        sensitive = kind in SENSITIVE_ALERT_KINDS or (
            kind is AlertKind.CARER_STRESS and self.rng.random() < 0.5
        )
        self.rows[_ALERT].append(
            self._base(_ALERT)
            | {
                "patient_id": patient_id,
                "kind": kind,
                "detail": self.rng.choice(self.v.alert_details[kind]),
                "sensitive": sensitive,
                "share_with_person": not sensitive,
            }
        )

    def _alert_items(
        self,
        case_id: Id,
        practice: _PracticeInfo,
        lead: _StaffMember,
        *,
        referred: int,
        end: int,
        closed: int | None,
    ) -> None:
        """For each alert of the person with actions and notes of its kind (safeguarding,
        risk to staff), one action and one note of that kind, sensitive as the kind is:
        still to do while the case is open, done once it has closed."""
        rng = self._alert_rng
        for kind in self._alert_kinds:
            actions = self.v.actions_by_alert.get(kind)
            notes = self.v.notes_by_alert.get(kind)
            if not actions or not notes:
                continue
            sensitive = kind in SENSITIVE_ALERT_KINDS
            text, professions = rng.choice(actions)
            owner = practice.staff.get(rng.choice(professions), lead)
            if closed is None:
                due, status, completed = rng.randint(3, 30), ActionStatus.OPEN, None
            else:
                due = rng.randint(min(referred + 3, end), end)
                status, completed = ActionStatus.DONE, due
            self.rows[_ACTION].append(
                self._base(_ACTION)
                | {
                    "case_id": case_id,
                    "goal_id": None,
                    "meeting_id": None,
                    "description": text,
                    "owner_id": owner.id,
                    "due_on": self.day(due),
                    "status": status,
                    "completed_on": None if completed is None else self.day(completed),
                    "sensitive": sensitive,
                }
            )
            written = rng.randint(referred, end)
            self.rows[_NOTE].append(
                self._base(_NOTE)
                | {
                    "case_id": case_id,
                    "author_id": owner.id,
                    "written_at": self.storage.stamp(
                        dt.datetime.combine(self.date(written), rng.choice(self._times))
                    ),
                    "body": rng.choice(notes),
                    "amends_note_id": None,
                    "sensitive": sensitive,
                }
            )

    def _consent(self, patient_id: Id, by: Id | None, day: int) -> None:
        draw = self.rng.random()
        decision = (
            ConsentDecision.GIVEN
            if draw < 0.86
            else ConsentDecision.DECLINED
            if draw < 0.92
            else ConsentDecision.BEST_INTERESTS
            if draw < 0.97
            else ConsentDecision.NOT_ASKED
        )
        self.rows[_CONSENT].append(
            self._base(_CONSENT)
            | {
                "patient_id": patient_id,
                "decision": decision,
                "recorded_on": self.day(day),
                "recorded_by_id": by,
                "note": self.rng.choice(self.v.consent_notes[decision]),
            }
        )

    def _cases(self, patient_id: Id, practice: _PracticeInfo, died: int | None) -> None:
        rng = self.rng
        if died is not None:
            referred = died - rng.randint(30, 300)
            self._case(
                patient_id,
                practice,
                status=CaseStatus.CLOSED,
                referred=referred,
                closed=died,
                reason=ClosureReason.DIED,
            )
            return
        earlier = rng.random() < 0.12
        draw = rng.random()
        status = (
            CaseStatus.REFERRED
            if draw < 0.1
            else CaseStatus.ACTIVE
            if draw < 0.6
            else CaseStatus.UNDER_REVIEW
            if draw < 0.75
            else CaseStatus.CLOSED
        )
        oldest = 400 if earlier else 700
        if status is CaseStatus.REFERRED:
            referred = -rng.randint(0, 28)
        elif status is CaseStatus.CLOSED:
            referred = -rng.randint(45, oldest)
        else:
            referred = -rng.randint(15, oldest)
        if earlier:
            first = -rng.randint(500, 729)
            earlier_closed = min(first + rng.randint(45, 300), referred - 14)
            earlier_reason: ClosureReason = rng.choices(
                _CLOSURE_REASONS, cum_weights=_CLOSURE_CUMULATIVE
            )[0]
            if self._indicator_rng.random() < _NOT_ACCEPTED_SHARE:
                earlier_reason = ClosureReason.NOT_ACCEPTED
                earlier_closed = first + self._indicator_rng.randint(2, 21)
            self._case(
                patient_id,
                practice,
                status=CaseStatus.CLOSED,
                referred=first,
                closed=earlier_closed,
                reason=earlier_reason,
            )
        closed = None
        reason: ClosureReason | None = None
        if status is CaseStatus.CLOSED:
            closed = min(referred + rng.randint(30, 300), -1)
            reason = rng.choices(_CLOSURE_REASONS, cum_weights=_CLOSURE_CUMULATIVE)[0]
            if self._indicator_rng.random() < _NOT_ACCEPTED_SHARE:
                # A referral the team did not take on: closed within three weeks.
                reason = ClosureReason.NOT_ACCEPTED
                closed = referred + self._indicator_rng.randint(2, 21)
        self._case(
            patient_id, practice, status=status, referred=referred, closed=closed, reason=reason
        )

    def _case(  # noqa: PLR0912, PLR0915 - one case and everything hanging off it
        self,
        patient_id: Id,
        practice: _PracticeInfo,
        *,
        status: CaseStatus,
        referred: int,
        closed: int | None,
        reason: ClosureReason | None,
    ) -> None:
        rng = self.rng
        v = self.v
        rows = self.rows
        day = self.day
        base = self._base
        self.cases += 1
        is_open = status is not CaseStatus.CLOSED
        irng = self._indicator_rng
        not_accepted = reason is ClosureReason.NOT_ACCEPTED
        accepted = (
            None if status is CaseStatus.REFERRED or not_accepted else referred + rng.randint(1, 14)
        )
        end = 0 if closed is None else closed
        if accepted is not None and accepted >= end:
            accepted = max(referred, end - 1)
        start = referred if accepted is None else accepted
        next_review = None
        if status is CaseStatus.REFERRED:
            next_review = referred + 14
        elif status is CaseStatus.ACTIVE:
            next_review = rng.randint(-30, 90)
        elif status is CaseStatus.UNDER_REVIEW:
            next_review = rng.randint(-21, 14)
        escalated = is_open and rng.random() < 0.08
        case = base(_CASE) | {
            "patient_id": patient_id,
            "status": status,
            "referral_source": rng.choices(_SOURCES, cum_weights=_SOURCE_CUMULATIVE)[0],
            "referral_reason": rng.choice(v.referral_reasons),
            "referral_urgency": rng.choices(_URGENCIES, cum_weights=(70, 92, 100))[0],
            "referred_on": day(referred),
            "accepted_on": None if accepted is None else day(accepted),
            "closed_on": None if closed is None else day(closed),
            "closure_reason": reason,
            "closure_note": (
                "" if reason is None or not_accepted else rng.choice(v.closure_notes[reason])
            ),
            "next_review_on": None if next_review is None else day(next_review),
            "escalated": escalated,
            "not_accepted_reason": None,
        }
        if not_accepted:
            why = irng.choices(_NOT_ACCEPTED_REASONS, cum_weights=_NOT_ACCEPTED_CUMULATIVE)[0]
            case["not_accepted_reason"] = why
            case["closure_note"] = irng.choice(_NOT_ACCEPTED_NOTES[why])
        case_id = case["id"]
        rows[_CASE].append(case)

        # The coordinator, named when the case was accepted (a referral waits for
        # one); sometimes an earlier coordinator handed over, with the reason.
        coordinator = None
        if accepted is not None:
            coordinators = practice.coordinators
            coordinator = rng.choice(coordinators)
            handover = accepted
            if end - accepted > 30 and rng.random() < 0.06:
                previous = rng.choice([c for c in coordinators if c is not coordinator])
                handover = rng.randint(accepted + 7, end - 7)
                self._assignment(case_id, previous, accepted, handover, "Case accepted")
            self._assignment(
                case_id,
                coordinator,
                handover,
                closed,
                "Case accepted"
                if handover == accepted
                else rng.choice(v.coordinator_change_reasons),
            )

        # Care team: the coordinator, the GP, others, sometimes a family carer.
        left = None if closed is None else day(closed)
        team = [(practice.staff[Profession.GP], "GP")]
        if coordinator is not None:
            team.insert(0, (coordinator, "Care coordinator"))
        for profession in rng.sample(_TEAM_PROFESSIONS, rng.choice((0, 0, 1))):
            member = practice.staff[profession]
            if member is not coordinator:
                team.append((member, v.care_team_roles[profession]))
        for member, role in team:
            rows[_TEAM].append(
                base(_TEAM)
                | {
                    "case_id": case_id,
                    "staff_id": member.id,
                    "name": "",
                    "role": role,
                    "organisation": member.organisation,
                    "contact": "",
                    "joined_on": day(start),
                    "left_on": left,
                }
            )
        if rng.random() < 0.25:
            family, given = self._person_name(rng.choice(("female", "male")), 1)
            rows[_TEAM].append(
                base(_TEAM)
                | {
                    "case_id": case_id,
                    "staff_id": None,
                    "name": f"{given} {family} ({rng.choice(v.carer_relationships)})",
                    "role": "Carer",
                    "organisation": "",
                    "contact": self._phone(),
                    "joined_on": day(referred),
                    "left_on": left,
                }
            )
        # Whoever leads for now: the coordinator, or the practice's care navigator.
        lead = coordinator or practice.staff[Profession.CARE_NAVIGATOR]

        # Consent to share, recorded by whoever met the person first.
        if rng.random() < 0.9:
            self._consent(patient_id, lead.id, rng.randint(referred, start))

        # What matters to me.
        goal_ids: list[Id] = []
        goal_count = rng.choice((0, 1)) if accepted is None else rng.choice((1, 1, 2, 2, 3))
        for text in rng.sample(v.goals, goal_count):
            outcome = None
            if closed is not None:
                outcome = rng.choices(_GOAL_OUTCOMES, cum_weights=(50, 78, 90, 100))[0]
            elif rng.random() < 0.12:
                outcome = GoalOutcome.ACHIEVED
            goal = base(_GOAL) | {
                "case_id": case_id,
                "description": text,
                "target_on": day(start + rng.randint(30, 180)),
                "outcome": outcome,
            }
            goal_ids.append(goal["id"])
            rows[_GOAL].append(goal)

        # Discussed at past meetings (which agreed some of the actions).
        meetings: list[_MeetingPlan] = []
        if accepted is not None:
            for meeting in practice.past_meetings:
                if (
                    len(meeting.items) < meeting.capacity
                    and referred + 3 <= meeting.day <= end
                    and rng.random() < 0.5
                ):
                    self._past_agenda_item(meeting, case_id, lead.id, referred, closed)
                    meetings.append(meeting)
                    if len(meetings) == 2:
                        break

        # The action plan.
        overdue = 0
        if accepted is None:
            action_count = rng.choice((0, 1, 1))
        elif closed is None:
            action_count = rng.choice((1, 2, 2, 3, 3))
        else:
            action_count = rng.choice((1, 1, 2))
        for number in range(action_count):
            text, professions = rng.choice(v.actions)
            owner = lead
            if rng.random() < 0.7:
                owner = practice.staff[rng.choice(professions)]
            meeting_id = None
            created = start
            if number < len(meetings):
                meeting_id = meetings[number].id
                created = meetings[number].day
            completed = None
            if closed is not None:
                action_status = ActionStatus.DONE if rng.random() < 0.85 else ActionStatus.CANCELLED
                due = rng.randint(created, max(created, end))
                if action_status is ActionStatus.DONE:
                    completed = min(due + rng.randint(-7, 3), end)
            else:
                draw = rng.random()
                if draw < 0.5:
                    action_status = ActionStatus.OPEN
                    due = max(created + 3, rng.randint(-30, 60))
                elif draw < 0.7:
                    action_status = ActionStatus.IN_PROGRESS
                    due = max(created + 3, rng.randint(-10, 60))
                elif draw < 0.95:
                    action_status = ActionStatus.DONE
                    due = min(created + rng.randint(3, 30), -1)
                    completed = min(due + rng.randint(-5, 5), 0)
                else:
                    action_status = ActionStatus.CANCELLED
                    due = created + rng.randint(7, 30)
                if action_status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS) and due < 0:
                    overdue += 1
            rows[_ACTION].append(
                base(_ACTION)
                | {
                    "case_id": case_id,
                    "goal_id": rng.choice(goal_ids) if goal_ids and rng.random() < 0.7 else None,
                    "meeting_id": meeting_id,
                    "description": text,
                    "owner_id": owner.id,
                    "due_on": day(due),
                    "status": action_status,
                    "completed_on": None if completed is None else day(completed),
                    "sensitive": False,
                }
            )

        # The notes timeline (a few amend an earlier note).
        previous_note: Id | None = None
        for _ in range(rng.choice((1, 1, 2))):
            author = lead if rng.random() < 0.7 else team[rng.randrange(len(team))][0]
            note = base(_NOTE) | {
                "case_id": case_id,
                "author_id": author.id,
                "written_at": self.moment(rng.randint(referred, end)),
                "body": rng.choice(v.notes),
                "amends_note_id": None,
                "sensitive": False,
            }
            if previous_note is not None and rng.random() < 0.03:
                note["amends_note_id"] = previous_note
                note["body"] = "Correction to the earlier note: " + note["body"]
            previous_note = note["id"]
            rows[_NOTE].append(note)
        self._alert_items(case_id, practice, lead, referred=referred, end=end, closed=closed)

        # A short-term intervention.
        if accepted is not None and rng.random() < 0.22:
            intervention_kind = rng.choice(_INTERVENTION_KINDS)
            began = min(accepted + rng.randint(0, 30), end)
            planned = began + rng.randint(14, 42)
            ended = None
            intervention_outcome = None
            if closed is not None and closed < planned:
                ended, intervention_outcome = closed, InterventionOutcome.ENDED_EARLY
            elif planned < 0:
                ended = max(began, planned - rng.randint(0, 7))
                intervention_outcome = rng.choice(_INTERVENTION_OUTCOMES)
            rows[_INTERVENTION].append(
                base(_INTERVENTION)
                | {
                    "case_id": case_id,
                    "kind": intervention_kind,
                    "provider": rng.choice(v.intervention_providers[intervention_kind]),
                    "started_on": day(began),
                    "planned_end_on": day(planned),
                    "ended_on": None if ended is None else day(ended),
                    "outcome": intervention_outcome,
                }
            )

        # Outcome events: what the team tries to prevent, and deaths.
        last_event = None
        if rng.random() < 0.3:
            event_kind = rng.choices(_EVENT_KINDS, cum_weights=_EVENT_CUMULATIVE)[0]
            last_event = rng.randint(referred - 14, end)
            discharged = self._event(patient_id, case_id, event_kind, last_event)
            if discharged is not None and coordinator is not None:
                self._reablement(
                    patient_id, case_id, coordinator, discharged, end=end, closed=closed
                )
        if reason is ClosureReason.DIED:
            assert closed is not None
            self._event(patient_id, case_id, OutcomeEventKind.DEATH, closed)
        elif reason is ClosureReason.LONG_TERM_CARE:
            assert closed is not None
            event_kind = (
                OutcomeEventKind.NURSING_CARE_ADMISSION
                if rng.random() < 0.4
                else OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION
            )
            # Most moves into a care home that close a case are for good; a few are
            # a respite or a trial stay.
            self._event(patient_id, case_id, event_kind, closed, permanent=irng.random() < 0.85)
        if accepted is not None and reason is not ClosureReason.DIED:
            self._survey(patient_id, case_id, referred, closed)

        if is_open:
            self._upcoming_agenda_item(
                practice,
                _CaseState(
                    case_id,
                    status,
                    None if coordinator is None else coordinator.id,
                    next_review,
                    escalated,
                    overdue,
                    last_event,
                ),
            )

    def _assignment(
        self,
        case_id: Id,
        coordinator: _StaffMember,
        started: int,
        ended: int | None,
        reason: str,
    ) -> None:
        self.rows[_ASSIGNMENT].append(
            self._base(_ASSIGNMENT)
            | {
                "case_id": case_id,
                "staff_id": coordinator.id,
                "started_on": self.day(started),
                "ended_on": None if ended is None else self.day(ended),
                "reason": reason,
            }
        )

    def _event(
        self,
        patient_id: Id,
        case_id: Id,
        kind: OutcomeEventKind,
        when: int,
        *,
        permanent: bool = False,
    ) -> int | None:
        """One outcome event; returns the day of a hospital admission's discharge (a
        recent admission may still be in hospital: no discharge yet)."""
        discharged = None
        destination = None
        if kind is OutcomeEventKind.HOSPITAL_ADMISSION:
            irng = self._indicator_rng
            leaves = when + irng.randint(1, 20)
            if leaves <= 0:
                discharged = leaves
                destination = irng.choices(_DESTINATIONS, cum_weights=_DESTINATION_CUMULATIVE)[0]
        self.rows[_EVENT].append(
            self._base(_EVENT)
            | {
                "patient_id": patient_id,
                "case_id": case_id,
                "kind": kind,
                "occurred_on": self.day(when),
                "source": self.rng.choice(self.v.outcome_sources[kind]),
                "delayed_days": (
                    self.rng.randint(1, 21)
                    if kind is OutcomeEventKind.DELAYED_TRANSFER_OF_CARE
                    else None
                ),
                "discharged_on": None if discharged is None else self.day(discharged),
                "discharge_destination": destination,
                "permanent": permanent,
            }
        )
        return discharged

    def _reablement(
        self,
        patient_id: Id,
        case_id: Id,
        coordinator: _StaffMember,
        discharged: int,
        *,
        end: int,
        closed: int | None,
    ) -> None:
        """Reablement after a discharge home, and the coordinator's 91-day check
        (``services/plans.py`` adds the same on a desk); sometimes a readmission within
        the 91 days."""
        irng = self._indicator_rng
        if irng.random() >= _REABLEMENT_AFTER_DISCHARGE_SHARE:
            return
        began = discharged + irng.randint(0, 7)
        if began > end:
            return
        planned = began + irng.randint(21, 42)
        ended = None
        outcome = None
        if closed is not None and closed < planned:
            ended, outcome = closed, InterventionOutcome.ENDED_EARLY
        elif planned < 0:
            ended = max(began, planned - irng.randint(0, 7))
            outcome = irng.choice(_INTERVENTION_OUTCOMES)
        self.rows[_INTERVENTION].append(
            self._base(_INTERVENTION)
            | {
                "case_id": case_id,
                "kind": InterventionKind.REABLEMENT,
                "provider": irng.choice(self.v.intervention_providers[InterventionKind.REABLEMENT]),
                "started_on": self.day(began),
                "planned_end_on": self.day(planned),
                "ended_on": None if ended is None else self.day(ended),
                "outcome": outcome,
            }
        )
        due = discharged + CHECK_AFTER_DISCHARGE.days
        completed = None
        if closed is not None and closed < due:
            status = ActionStatus.CANCELLED  # the case closed first
        elif due < 0 and irng.random() < 0.85:
            status = ActionStatus.DONE
            completed = min(due + irng.randint(-3, 10), 0)
        else:
            status = ActionStatus.OPEN  # not due yet, or overdue
        self.rows[_ACTION].append(
            self._base(_ACTION)
            | {
                "case_id": case_id,
                "goal_id": None,
                "meeting_id": None,
                "description": check_91_day_text(self.date(discharged)),
                "owner_id": coordinator.id,
                "due_on": self.day(due),
                "status": status,
                "completed_on": None if completed is None else self.day(completed),
                "sensitive": False,
            }
        )
        back = discharged + irng.randint(5, 85)
        if irng.random() < _READMITTED_SHARE and back <= end:
            self._event(patient_id, case_id, OutcomeEventKind.HOSPITAL_ADMISSION, back)

    def _survey(self, patient_id: Id, case_id: Id, referred: int, closed: int | None) -> None:
        """The experience survey, answered by some people after their case closed or
        while it runs (Norfolk's survey: 79% did not have to repeat their story)."""
        irng = self._indicator_rng
        if irng.random() >= _SURVEY_SHARE:
            return
        if closed is not None:
            answered = min(closed + irng.randint(7, 42), -1)
        else:
            if referred > -30:
                return
            answered = irng.randint(referred + 28, -1)
        how = irng.choices(_SURVEY_METHODS, cum_weights=_SURVEY_METHOD_CUMULATIVE)[0]
        proxy = irng.random() < 0.2
        for statement, agree_share in _AGREE_SHARES.items():
            if irng.random() < 0.05:
                continue  # left blank
            if irng.random() < agree_share:
                agreement = 5 if irng.random() < 0.45 else 4
            else:
                agreement = irng.choices((1, 2, 3), cum_weights=(15, 50, 100))[0]
            self.rows[_EXPERIENCE].append(
                self._base(_EXPERIENCE)
                | {
                    "patient_id": patient_id,
                    "case_id": case_id,
                    "statement": statement,
                    "agreement": agreement,
                    "answered_on": self.day(answered),
                    "collected_how": how,
                    "by_proxy": proxy,
                }
            )

    def list_size_rows(self) -> list[Row]:
        """Each demo practice's registered list by sex and 5-year age band, as in the
        NHS Digital extract of the first of this month; 15–20% aged 65 and over."""
        irng = self._indicator_rng
        extract = self.today.replace(day=1)
        rows: list[Row] = []
        for practice in self.practices:
            total = irng.randint(4_000, 14_000)
            older_share = irng.uniform(0.15, 0.20)
            younger = sum(w for band, w in _LIST_BAND_WEIGHTS if int(band[:2].rstrip("-+")) < 65)
            older = sum(w for band, w in _LIST_BAND_WEIGHTS) - younger
            for band, weight in _LIST_BAND_WEIGHTS:
                is_older = int(band.split("-")[0].rstrip("+")) >= 65
                share = (
                    older_share * weight / older
                    if is_older
                    else (1 - older_share) * weight / younger
                )
                # Women outlive men: more of the oldest bands are women.
                female = 0.5 if not is_older else 0.52 + 0.01 * (int(band[:2]) - 65) / 2
                people = total * share
                for sex, part in (("female", female), ("male", 1 - female)):
                    rows.append(
                        {
                            "id": list_size_id(uuid.UUID(practice.id), extract, band, sex).hex,
                            "created_at": self.now,
                            "updated_at": self.now,
                            "retired_at": None,
                            "practice_id": practice.id,
                            "extract_date": self.storage.date(extract),
                            "age_band": band,
                            "sex": sex,
                            "patients": round(people * part * irng.uniform(0.95, 1.05)),
                        }
                    )
        return rows

    # -- agendas --------------------------------------------------------------------

    def _past_agenda_item(
        self,
        meeting: _MeetingPlan,
        case_id: Id,
        presenter: Id,
        referred: int,
        closed: int | None,
    ) -> None:
        rng = self.rng
        if meeting.day - referred <= 28:
            reason = AgendaReason.NEW_REFERRAL
        else:
            reason = rng.choice(_PAST_AGENDA_REASONS)
        if closed is not None and closed - meeting.day <= 14:
            outcome = AgendaOutcome.CLOSE_CASE
        else:
            outcome = rng.choices(_AGENDA_OUTCOMES, cum_weights=(50, 75, 83, 90, 100))[0]
        allotted = rng.choice((5, 10, 10, 15))
        position = len(meeting.items)
        meeting.items.append(
            self._base(_AGENDA)
            | {
                "meeting_id": meeting.id,
                "case_id": case_id,
                "position": float(position + 1),
                "reason": reason,
                "reason_detail": rng.choice(self.v.agenda_reason_details[reason]),
                "minutes_allotted": allotted,
                "presenter_id": presenter,
                "carried_count": 1 if reason is AgendaReason.CARRIED_OVER else 0,
                "summary": rng.choice(self.v.agenda_summaries),
                "outcome": outcome,
                "decisions": rng.choice(self.v.decisions),
                "discussed_at": self.storage.stamp(
                    meeting.starts_at + dt.timedelta(minutes=10 * position + 5)
                ),
                "minutes_taken": max(2, allotted + rng.randint(-4, 6)),
            }
        )

    def _upcoming_agenda_item(self, practice: _PracticeInfo, case: _CaseState) -> None:
        meeting = practice.upcoming
        if meeting is None or len(meeting.items) >= meeting.capacity:
            return
        if case.status is CaseStatus.REFERRED:
            reason = AgendaReason.NEW_REFERRAL
        elif case.escalated:
            reason = AgendaReason.ESCALATED
        elif case.last_event is not None and case.last_event >= -30:
            reason = AgendaReason.RECENT_ADMISSION
        elif case.overdue_actions:
            reason = AgendaReason.OVERDUE_ACTIONS
        elif case.next_review is not None and case.next_review <= meeting.day:
            reason = AgendaReason.REVIEW_DUE
        else:
            return
        if self.rng.random() < 0.4:
            return
        carried = reason is AgendaReason.REVIEW_DUE and self.rng.random() < 0.15
        if carried:
            reason = AgendaReason.CARRIED_OVER
        position = len(meeting.items)
        meeting.items.append(
            self._base(_AGENDA)
            | {
                "meeting_id": meeting.id,
                "case_id": case.id,
                "position": float(position + 1),
                "reason": reason,
                "reason_detail": self.rng.choice(self.v.agenda_reason_details[reason]),
                "minutes_allotted": self.rng.choice((5, 10, 10, 15)),
                "presenter_id": case.coordinator,
                "carried_count": self.rng.randint(1, 2) if carried else 0,
                "summary": "",
                "outcome": None,
                "decisions": "",
                "discussed_at": None,
                "minutes_taken": None,
            }
        )

    def agenda_rows(self) -> list[Row]:
        return [
            item
            for practice in self.practices
            for meeting in (*practice.past_meetings, practice.upcoming)
            if meeting is not None
            for item in meeting.items
        ]


_PATIENT, _CONDITION, _ALERT, _CONSENT, _CASE, _ASSIGNMENT, _TEAM, _GOAL = _BATCH_TABLES[:8]
_ACTION, _NOTE, _INTERVENTION, _EVENT, _EXPERIENCE = _BATCH_TABLES[8:]
_STAFF, _COVER, _MEETING, _ATTENDANCE, _AGENDA, _LIST_SIZE = (
    _table(model)
    for model in (Staff, StaffPracticeCover, Meeting, Attendance, AgendaItem, PracticeListSize)
)

_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters used in inward codes
_ERA_CUMULATIVE: tuple[int, ...] = tuple(
    sum(weight for _, _, weight in _BIRTH_ERAS[: index + 1]) for index in range(len(_BIRTH_ERAS))
)
_CONDITION_COUNTS: dict[bool, tuple[int, ...]] = {
    False: (0, 0, 1, 1, 2),
    True: (0, 1, 1, 2, 2, 3),
}
_CASE_CHANCE: dict[RiskBand | None, float] = {
    None: 0.06,
    RiskBand.LOW: 0.03,
    RiskBand.MEDIUM: 0.1,
    RiskBand.HIGH: 0.22,
    RiskBand.VERY_HIGH: 0.45,
}
_ALERT_KINDS = tuple(AlertKind)
#: Alerts whose kind makes them, and the actions and notes that go with them, sensitive.
SENSITIVE_ALERT_KINDS: frozenset[AlertKind] = frozenset(
    {AlertKind.SAFEGUARDING, AlertKind.RISK_TO_STAFF}
)
_ALERT_CUMULATIVE = (30, 45, 60, 66, 74, 80, 92, 100)  # in AlertKind order
_SOURCES = tuple(ReferralSource)
_SOURCE_CUMULATIVE = (40, 60, 65, 75, 85, 95, 98, 100)  # in ReferralSource order
_URGENCIES = tuple(Urgency)
_CLOSURE_REASONS = tuple(
    reason
    for reason in ClosureReason
    if reason not in (ClosureReason.DIED, ClosureReason.NOT_ACCEPTED)
)
# in ClosureReason order, without died and not accepted
_CLOSURE_CUMULATIVE = (35, 60, 68, 76, 83, 93, 100)
#: Closed cases that were referrals the team did not accept (about 8% of referrals).
_NOT_ACCEPTED_SHARE = 0.3
_NOT_ACCEPTED_REASONS = tuple(NotAcceptedReason)
_NOT_ACCEPTED_CUMULATIVE = (40, 70, 85, 95, 100)  # in NotAcceptedReason order
_NOT_ACCEPTED_NOTES: dict[NotAcceptedReason, tuple[str, ...]] = {
    NotAcceptedReason.NOT_ELIGIBLE: (
        "Independent and well supported; no complex needs. Signposted to the practice.",
        "Single long-term condition, well managed by the practice nurse.",
    ),
    NotAcceptedReason.NEEDS_MET_ELSEWHERE: (
        "Already under the community mental health team, who coordinate care.",
        "Needs met by the district nursing caseload; no MDT input needed.",
    ),
    NotAcceptedReason.DECLINED_BY_PERSON: (
        "Spoke to her by phone: does not want the team involved at present.",
        "Declined a coordinator; happy with current support from family.",
    ),
    NotAcceptedReason.DUPLICATE_REFERRAL: (
        "Referred by the hospital and the GP in the same week; one referral kept.",
    ),
    NotAcceptedReason.OTHER: ("Moved out of the area before the referral was triaged.",),
}
#: Where people went from hospital (not "died": the demo's deaths are their own events).
_DESTINATIONS = (
    DischargeDestination.USUAL_RESIDENCE,
    DischargeDestination.INTERMEDIATE_CARE,
    DischargeDestination.RESIDENTIAL_CARE,
    DischargeDestination.NURSING_CARE,
    DischargeDestination.HOSPICE,
    DischargeDestination.OTHER,
)
_DESTINATION_CUMULATIVE = (80, 89, 93, 96, 97, 100)
#: Discharges home that reablement follows, and of those people, readmitted within 91 days.
_REABLEMENT_AFTER_DISCHARGE_SHARE = 0.45
_READMITTED_SHARE = 0.15
#: Accepted cases whose person answered the experience survey.
_SURVEY_SHARE = 0.3
#: Share agreeing (4 or 5) with each statement.
_AGREE_SHARES: dict[ExperienceStatement, float] = {
    ExperienceStatement.COMMUNICATED_WITH_ME: 0.86,
    ExperienceStatement.COMMUNICATED_WITH_EACH_OTHER: 0.74,
    ExperienceStatement.WELL_COORDINATED: 0.81,
    ExperienceStatement.RIGHT_PROFESSIONALS: 0.88,
    ExperienceStatement.DID_NOT_REPEAT_STORY: 0.79,
}
_SURVEY_METHODS = tuple(SurveyMethod)
_SURVEY_METHOD_CUMULATIVE = (50, 80, 95, 100)  # paper, phone, in person, online
#: Relative sizes of the 5-year age bands of a registered list (before the 65+ share
#: is set per practice).
_LIST_BAND_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("0-4", 50),
    ("5-9", 55),
    ("10-14", 58),
    ("15-19", 55),
    ("20-24", 55),
    ("25-29", 62),
    ("30-34", 66),
    ("35-39", 65),
    ("40-44", 62),
    ("45-49", 62),
    ("50-54", 68),
    ("55-59", 70),
    ("60-64", 64),
    ("65-69", 55),
    ("70-74", 50),
    ("75-79", 42),
    ("80-84", 27),
    ("85-89", 16),
    ("90-94", 7),
    ("95+", 2),
)
_GOAL_OUTCOMES = tuple(GoalOutcome)
_TEAM_PROFESSIONS = tuple(
    profession
    for profession in Profession
    if profession not in (Profession.GP, Profession.ADMINISTRATOR)
)
_INTERVENTION_KINDS = tuple(InterventionKind)
_INTERVENTION_OUTCOMES = (
    InterventionOutcome.GOALS_MET,
    InterventionOutcome.GOALS_MET,
    InterventionOutcome.PARTLY_MET,
    InterventionOutcome.ENDED_EARLY,
    InterventionOutcome.ADMITTED_TO_HOSPITAL,
    InterventionOutcome.ONGOING_CARE_NEEDED,
)
_EVENT_KINDS = (
    OutcomeEventKind.HOSPITAL_ADMISSION,
    OutcomeEventKind.AE_ATTENDANCE,
    OutcomeEventKind.READMISSION_30_DAYS,
    OutcomeEventKind.DELAYED_TRANSFER_OF_CARE,
)
_EVENT_CUMULATIVE = (45, 85, 93, 100)
_PAST_AGENDA_REASONS = (
    AgendaReason.REVIEW_DUE,
    AgendaReason.REVIEW_DUE,
    AgendaReason.RECENT_ADMISSION,
    AgendaReason.OVERDUE_ACTIONS,
    AgendaReason.ESCALATED,
    AgendaReason.CARRIED_OVER,
    AgendaReason.RISK_REVIEW,
    AgendaReason.ADDED_BY_CHAIR,
)
_AGENDA_OUTCOMES = (
    AgendaOutcome.CONTINUE_PLAN,
    AgendaOutcome.CHANGE_PLAN,
    AgendaOutcome.ESCALATE,
    AgendaOutcome.REFER_ON,
    AgendaOutcome.DEFER,
)


def _untyped(table: Table) -> TableClause:
    return table_clause(table.name, *(column(c.name) for c in table.columns))


_UNTYPED = {
    table: _untyped(table)
    for table in (*_BATCH_TABLES, _STAFF, _COVER, _MEETING, _ATTENDANCE, _AGENDA, _LIST_SIZE)
}


class _Storage:
    """Values in the form the store's typed columns keep them.

    The demo inserts through untyped copies of the tables, because binding millions
    of values through the column types costs more than making them. So values are
    put in stored form here, with the column types' own bind processors (once per
    distinct date). Ids are made as 32 hex digits (what ``Uuid`` binds), enum
    members bind as their text value and booleans as 1 and 0, as SQLAlchemy does.
    """

    def __init__(self, dialect: Dialect) -> None:
        date = _CASE.c.referred_on.type.dialect_impl(dialect).bind_processor(dialect)
        stamp = _CASE.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert date is not None and stamp is not None
        self._date = date
        self._stamp = stamp

    def date(self, value: dt.date) -> str:
        return str(self._date(value))

    def stamp(self, value: dt.datetime) -> str:
        """A timezone-aware moment as stored (naive UTC text)."""
        return str(self._stamp(value))


def _write(session: Session, table: Table, rows: list[Row]) -> None:
    """Insert ``rows``, whose values are already in stored form (see :class:`_Storage`).

    Core executemany; the store's triggers journal every field of every row.
    """
    if rows:
        session.execute(insert(_UNTYPED[table]), rows)


def unfinished_demo(store: Store) -> tuple[int, int] | None:
    """(patients written, patients asked for) when a demo in this store was interrupted."""
    value = store.get_meta(META_DEMO_UNFINISHED)
    if value is None:
        return None
    written, _, wanted = value.partition("/")
    try:
        return int(written), int(wanted)
    except ValueError:
        return 0, 0


def _refuse_unfinished_demo(store: Store) -> None:
    unfinished = unfinished_demo(store)
    if unfinished is not None:
        raise UserError(
            "This store holds an unfinished demo (it was interrupted after "
            f"{unfinished[0]:,} of {unfinished[1]:,} patients): start again with a new "
            "file, for example --store demo-2.sqlite. The store is not damaged."
        )


def _new_store_storage(store: Store) -> "_Storage":
    """How ``store`` keeps values, once it is clear the demo may fill it: no unfinished
    demo, no patients and nobody with a PIN (demo staff, whose PIN is public, must
    never join a real team's store)."""
    _refuse_unfinished_demo(store)
    with store.read() as session:
        if session.scalar(select(func.count()).select_from(Patient)):
            raise UserError(
                "This store already has patients: the demo fills a new store only. "
                "Give a new store file (for example --store demo.sqlite)."
            )
        if not store_in_setup(session):
            raise UserError(
                "This store's staff have PINs: the demo fills a new store only. "
                "Give a new store file (for example --store demo.sqlite)."
            )
        return _Storage(session.get_bind().dialect)


def _import_demo_practices(session: Session, count: int) -> list[tuple[Any, ...]]:
    """Import the first ``count`` demo practices with the ordinary ODS import; their
    (id, ODS code, name, postcode, commissioner code) in demo order."""
    lines = _demo_practice_lines(count)
    with tempfile.TemporaryDirectory(prefix="mdt-desk-demo-") as folder:
        path = Path(folder) / "demo-practices.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_ods_practices(session, path)
    order = {row[0]: index for index, row in enumerate(csv.reader(lines))}
    rows = session.execute(
        select(
            Practice.id,
            Practice.ods_code,
            Practice.name,
            Practice.postcode,
            Practice.commissioner_code,
        ).where(Practice.status == PracticeStatus.ACTIVE, Practice.retired_at.is_(None))
    ).all()
    return sorted(
        (tuple(row) for row in rows if row.ods_code in order), key=lambda row: order[row[1]]
    )


def is_demo_store(store: Store) -> bool:
    """Whether ``store`` holds a demo (its staff's PINs are public: say so)."""
    return store.get_meta(META_DEMO_STORE) == "1"


def generate_demo(
    store: Store,
    *,
    patients: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    today: dt.date | None = None,
    practices: int | None = None,
) -> DemoReport:
    """Fill a new store with a synthetic caseload and sign in one of its coordinators.

    Args:
        store: a store without patients.
        patients: how many people to make (at most :data:`MAX_DEMO_PATIENTS`).
        seed: the same seed makes the same people, cases and record ids.
        progress: called with (patients written, patients) after each batch.
        today: the day the caseload is "as of" (default: today); dates of referrals,
            reviews, actions and meetings are relative to it.
        practices: how many practices (default: about one per
            :data:`PEOPLE_PER_PRACTICE` people, at least 14; see
            :func:`demo_practice_count`).

    Each batch of :data:`BATCH_PATIENTS` people is its own transaction: a failure part
    way (disk full) keeps the batches already written, and the demo must then be made
    again in a new store.

    Raises:
        UserError: the store already has patients, or ``patients`` or ``practices`` is
            out of range.
    """
    if not 1 <= patients <= MAX_DEMO_PATIENTS:
        raise UserError(f"The demo makes between 1 and {MAX_DEMO_PATIENTS:,} patients.")
    practice_count = demo_practice_count(patients, practices)
    storage = _new_store_storage(store)
    vocabulary = _load_vocabulary()
    generator = _Generator(seed, today or dt.date.today(), vocabulary, storage)
    # One hash for everyone: argon2id costs a noticeable fraction of a second a time.
    generator.pin_hash = hash_pin(DEMO_PIN)
    label = f"{DEMO_ACTOR_LABEL} (seed {seed})"
    if progress is not None:
        progress(0, patients)

    batches = -(-patients // BATCH_PATIENTS)
    setup_tables = (_STAFF, _MEETING, _ATTENDANCE)
    generator.begin_ids(setup_tables)
    # Agenda items are made along with the cases but written last: ids after them all.
    generator.begin_ids((_AGENDA,), first_block=len(setup_tables) + batches * len(_BATCH_TABLES))
    with store.write(None, label) as session:
        store.set_meta(session, META_DEMO_UNFINISHED, f"0/{patients}")
        store.set_meta(session, META_DEMO_STORE, "1")
        generator.set_practices(_import_demo_practices(session, practice_count))
        if not generator.practices:
            raise UserError("The demo practices could not be imported into this store.")
        staff, covers = generator.staff_rows()
        staff += generator.access_staff_rows()
        _write(session, _STAFF, staff)
        _write(session, _COVER, covers)
        _write(session, _LIST_SIZE, generator.list_size_rows())
        meetings, attendance = generator.meeting_rows()
        _write(session, _MEETING, meetings)
        _write(session, _ATTENDANCE, attendance)

    numbers = synthetic_nhs_numbers(generator.rng, patients)
    written = 0
    while written < patients:
        batch = numbers[written : written + BATCH_PATIENTS]
        generator.begin_ids(_BATCH_TABLES)
        for number in batch:
            generator.patient(number)
        with store.write(None, label) as session:
            for table in _BATCH_TABLES:
                _write(session, table, generator.rows[table])
                generator.rows[table] = []
            store.set_meta(session, META_DEMO_UNFINISHED, f"{written + len(batch)}/{patients}")
        written += len(batch)
        if progress is not None:
            progress(written, patients)

    with store.write(None, label) as session:
        _write(session, _AGENDA, generator.agenda_rows())
        store.delete_meta(session, META_DEMO_UNFINISHED)

    # Signed in as a matron, who coordinates cases and chairs meetings: nearly every
    # screen of the demo can be tried without signing in as someone else.
    chairs = [m for m in generator.staff if m.profession is Profession.COMMUNITY_MATRON]
    chosen = generator.rng.choice(chairs)
    member = sign_in(store, uuid.UUID(chosen.id))
    log.info(
        "demo caseload: %d patients, %d cases, %d practices (seed %d)",
        patients,
        generator.cases,
        len(generator.practices),
        seed,
    )
    return DemoReport(
        practices=len(generator.practices),
        staff=len(generator.staff) + len(generator.access_staff),
        patients=patients,
        cases=generator.cases,
        meetings=len(meetings),
        signed_in=member.display_name,
    )
