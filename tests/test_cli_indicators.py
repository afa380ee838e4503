"""`mdt-desk indicators`: the JSON matches an independent computation from `export`, the
CSV is suppressed and agrees with the JSON, and mistakes are said plainly (exit 2)."""

import csv
import datetime as dt
import io
import json
import os
import stat
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mdt_desk.models import Practice
from mdt_desk.models.store import Store
from mdt_desk.services.actions import london_today
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.indicators import INDICATORS, SUPPRESSION_NOTE, IndicatorKind, Period
from tests.cli_sign_in import demo_staff_with, run
from tests.shared_stores import copy_store, made_sealed, sealed_key

LONDON = ZoneInfo("Europe/London")
Row = dict[str, Any]


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=1500, seed=5)
    return path, sealed_key(path)


@pytest.fixture
def store_path(demo_made: tuple[Path, bytes], tmp_path: Path) -> str:
    return str(copy_store(*demo_made, tmp_path / "desk.sqlite"))


def six_months() -> Period:
    return Period.last_months(6, london_today())


def indicators_json(store: str, *scope: str, period: Period) -> dict[str, Row]:
    status, output = run(
        "indicators", "--store", store, *scope,
        "--from", period.start.isoformat(), "--to", period.end.isoformat(), "--json",
    )  # fmt: skip
    assert status == 0, output
    panel: dict[str, Row] = json.loads(output)
    return panel


def busiest_practice(tables: dict[str, list[Row]], period: Period) -> str:
    """The ODS code of the practice with most cases open in the period."""
    practice_of = {row["id"]: row["practice_id"] for row in tables["patient"]}
    counts: dict[str, int] = defaultdict(int)
    for row in tables["care_case"]:
        if _open_during(row, period):
            counts[practice_of[row["patient_id"]]] += 1
    best = max(counts, key=lambda practice: counts[practice])
    return next(row["ods_code"] for row in tables["practice"] if row["id"] == best)


def exported(store: str) -> dict[str, list[Row]]:
    officer = demo_staff_with(store, "privacy_officer")
    status, output = run("export", "--store", store, "--as", officer, "--format", "json")
    assert status == 0
    tables: dict[str, list[Row]] = json.loads(output)["tables"]
    return tables


# -- The independent computation, from the export's rows alone -------------------------------


def day(text: Any) -> dt.date:
    """A date of the export (``YYYY-MM-DD``); callers check for null first."""
    return dt.date.fromisoformat(str(text))


def _open_during(case: Row, period: Period) -> bool:
    closed = case["closed_on"]
    return day(case["referred_on"]) <= period.end and (
        closed is None or day(closed) >= period.start
    )


def _in(text: str | None, period: Period) -> bool:
    return text is not None and period.start <= day(text) <= period.end


def _rate(numerator: int, denominator: int | None, scale: int = 100) -> Row:
    value = numerator * scale / denominator if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


def _count(value: int) -> Row:
    return {"value": value, "numerator": None, "denominator": None}


def _london_day(utc_text: str) -> dt.date:
    moment = dt.datetime.fromisoformat(utc_text).replace(tzinfo=dt.UTC)
    return moment.astimezone(LONDON).date()


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _band_low(band: str) -> int:
    """``65-69`` → 65, ``95+`` → 95, ``5-9`` → 5."""
    return int(band.split("-", maxsplit=1)[0].rstrip("+"))


def _registered_65_plus(tables: dict[str, list[Row]], practice_id: str) -> int | None:
    rows = [r for r in tables["practice_list_size"] if r["practice_id"] == practice_id]
    rows = [r for r in rows if r["retired_at"] is None]
    if not rows:
        return None
    latest = max(r["extract_date"] for r in rows)
    older = [r for r in rows if r["extract_date"] == latest and _band_low(r["age_band"]) >= 65]
    everyone = [r for r in older if r["sex"] == "all"]
    return sum(r["patients"] for r in everyone or older)


def independent(
    tables: dict[str, list[Row]], ods_codes: set[str], period: Period
) -> dict[str, Row]:
    """Every indicator the export can reproduce, by the definitions in the issue, for the
    practices ``ods_codes`` together."""
    practices = {r["id"] for r in tables["practice"] if r["ods_code"] in ods_codes}
    people = {
        r["id"]: r
        for r in tables["patient"]
        if r["practice_id"] in practices and r["retired_at"] is None
    }
    cases = {
        r["id"]: r
        for r in tables["care_case"]
        if r["patient_id"] in people and r["retired_at"] is None
    }
    caseload = {c["patient_id"] for c in cases.values() if _open_during(c, period)}
    events = [r for r in tables["outcome_event"] if r["retired_at"] is None]
    in_period = [e for e in events if e["patient_id"] in caseload and _in(e["occurred_on"], period)]

    def kind(name: str) -> list[Row]:
        return [e for e in in_period if e["kind"] == name]

    admissions = kind("hospital_admission")
    discharges: dict[str, list[Row]] = defaultdict(list)
    for e in events:
        if e["kind"] == "hospital_admission" and e["discharged_on"]:
            discharges[e["patient_id"]].append(e)

    def readmission(a: Row) -> bool:
        return any(
            b["id"] != a["id"] and 0 <= (day(a["occurred_on"]) - day(b["discharged_on"])).days <= 29
            for b in discharges[a["patient_id"]]
        )

    readmissions = sum(1 for a in admissions if readmission(a)) + sum(
        1 for e in kind("readmission_30_days") if not discharges[e["patient_id"]]
    )

    open_at_end = [
        c
        for c in cases.values()
        if day(c["referred_on"]) <= period.end
        and (c["closed_on"] is None or day(c["closed_on"]) > period.end)
    ]
    actions = [
        a
        for a in tables["action"]
        if a["retired_at"] is None
        and a["case_id"] in cases
        and a["status"] == "done"
        and _in(a["completed_on"], period)
    ]
    interventions = [
        i
        for i in tables["intervention"]
        if i["retired_at"] is None and i["case_id"] in cases and _in(i["ended_on"], period)
    ]
    goals = [
        g
        for g in tables["goal"]
        if g["retired_at"] is None
        and g["case_id"] in cases
        and _in(cases[g["case_id"]]["closed_on"], period)
    ]

    # First permanent care home admission of each person, if it is in the period.
    first_permanent: dict[str, Row] = {}
    for e in sorted(events, key=lambda e: (e["occurred_on"], e["id"])):
        to_care_home = e["kind"] in ("residential_care_admission", "nursing_care_admission")
        if to_care_home and e["permanent"] and e["patient_id"] in caseload:
            first_permanent.setdefault(e["patient_id"], e)
    care_home = [e for e in first_permanent.values() if _in(e["occurred_on"], period)]

    # Days to the first MDT discussion.
    meetings = {m["id"]: m for m in tables["meeting"] if m["retired_at"] is None}
    first_at: dict[str, str] = {}
    for item in tables["agenda_item"]:
        meeting = meetings.get(item["meeting_id"])
        if (
            meeting is None
            or meeting["status"] != "finished"
            or item["retired_at"] is not None
            or item["dismissed"]
            or item["discussed_at"] is None
            or item["outcome"] in (None, "defer")
        ):
            continue
        known = first_at.get(item["case_id"])
        if known is None or meeting["starts_at"] < known:
            first_at[item["case_id"]] = meeting["starts_at"]
    referred = [c for c in cases.values() if _in(c["referred_on"], period)]
    days = [
        (_london_day(first_at[c["id"]]) - day(c["referred_on"])).days
        for c in referred
        if c["id"] in first_at
    ]

    # Quorate meetings.
    covering = {
        r["meeting_id"]
        for r in tables["meeting_practice"]
        if r["practice_id"] in practices and r["retired_at"] is None
    }
    finished = [
        m
        for m in meetings.values()
        if m["status"] == "finished"
        and (m["practice_id"] in practices or m["id"] in covering)
        and period.start <= _london_day(m["starts_at"]) <= period.end
    ]
    profession = {s["id"]: s["profession"] for s in tables["staff"]}
    present: dict[str, set[str]] = defaultdict(set)
    for a in tables["attendance"]:
        if a["retired_at"] is None and a["status"] in ("present", "deputy"):
            present[a["meeting_id"]].add(profession[a["staff_id"]])
    groups = ({"gp"}, {"district_nurse", "community_matron"}, {"social_worker"})
    quorate = [m for m in finished if all(present[m["id"]] & group for group in groups)]

    expected: dict[str, Row] = {
        "referrals": _count(len(referred)),
        "open_cases_at_end": _count(len(open_at_end)),
        "people_on_caseload": _count(len(caseload)),
        "admissions": _count(len(admissions)),
        "admissions_per_100": _rate(len(admissions), len(caseload)),
        "ae_attendances_per_100": _rate(len(kind("ae_attendance")), len(caseload)),
        "readmissions_30d": _count(readmissions),
        "dtoc_delayed_days": _count(sum(e["delayed_days"] or 0 for e in in_period)),
        "median_days_to_first_mdt": {
            "value": statistics.median(days) if days else None,
            "numerator": None,
            "denominator": len(days),
        },
        "not_yet_discussed": _count(len(referred) - len(days)),
        "reviews_overdue_at_end": _count(
            sum(
                1
                for c in open_at_end
                if c["next_review_on"] and day(c["next_review_on"]) < period.end
            )
        ),
        "actions_done_on_time": _rate(
            sum(1 for a in actions if a["completed_on"] <= a["due_on"]), len(actions)
        ),
        "interventions_within_6_weeks": _rate(
            sum(1 for i in interventions if (day(i["ended_on"]) - day(i["started_on"])).days <= 42),
            len(interventions),
        ),
        "goals_met_at_closure": _rate(
            sum(1 for g in goals if g["outcome"] in ("achieved", "partly_achieved")), len(goals)
        ),
        "meetings_quorate": _rate(len(quorate), len(finished)),
        "not_accepted": _count(
            sum(
                1
                for c in cases.values()
                if c["closure_reason"] == "not_accepted" and _in(c["closed_on"], period)
            )
        ),
        "care_home_admissions_permanent": _count(len(care_home)),
    }
    for statement in (
        "communicated_with_me",
        "communicated_with_each_other",
        "well_coordinated",
        "right_professionals",
        "did_not_repeat_story",
    ):
        answers = [
            r
            for r in tables["experience_response"]
            if r["retired_at"] is None
            and r["patient_id"] in people
            and (r["case_id"] is None or r["case_id"] in cases)
            and r["statement"] == statement
            and _in(r["answered_on"], period)
            and 1 <= r["agreement"] <= 5
        ]
        # one answer per person and day: the first recorded (ids are time-ordered)
        first: dict[tuple[str, str], dict[str, Any]] = {}
        for r in tables["experience_response"]:
            if r["retired_at"] is None and r["statement"] == statement and 1 <= r["agreement"] <= 5:
                key = (r["patient_id"], r["answered_on"])
                if key not in first or r["id"] < first[key]["id"]:
                    first[key] = r
        answers = [r for r in answers if first[(r["patient_id"], r["answered_on"])] is r]
        agreed = sum(1 for r in answers if r["agreement"] >= 4)
        expected[f"experience_{statement}"] = _rate(agreed, len(answers))

    expected["at_home_91_days_after_reablement"] = _at_home_after_reablement(
        tables, people, cases, period
    )
    each_population = [_registered_65_plus(tables, practice) for practice in practices]
    population = None if None in each_population else sum(n or 0 for n in each_population)

    def aged(e: Row) -> bool:
        return _age(day(people[e["patient_id"]]["date_of_birth"]), day(e["occurred_on"])) >= 65

    expected["admissions_per_1000_registered_65_plus"] = _rate(
        sum(1 for e in admissions if aged(e)), population, 1000
    )
    expected["ae_attendances_per_1000_registered_65_plus"] = _rate(
        sum(1 for e in kind("ae_attendance") if aged(e)), population, 1000
    )
    expected["care_home_admissions_permanent_per_1000_registered_65_plus"] = _rate(
        sum(1 for e in care_home if aged(e)), population, 1000
    )
    return expected


def _at_home_after_reablement(
    tables: dict[str, list[Row]], people: dict[str, Row], cases: dict[str, Row], period: Period
) -> Row:
    """ASCOF 2B(1) as the issue words it: people 65+ who started reablement or
    rehabilitation after a discharge (that day or up to 14 days later), whose 91st day
    after the discharge is in the period and has passed; at home then?"""
    last = min(period.end, london_today())
    events: dict[str, list[Row]] = defaultdict(list)
    for e in tables["outcome_event"]:
        if e["retired_at"] is None:
            events[e["patient_id"]].append(e)
    chosen: dict[str, tuple[dt.date, bool]] = {}
    for i in tables["intervention"]:
        if i["retired_at"] is not None or i["case_id"] not in cases:
            continue
        if i["kind"] not in ("reablement", "rehabilitation"):
            continue
        person = cases[i["case_id"]]["patient_id"]
        started = day(i["started_on"])
        outs = [
            day(e["discharged_on"])
            for e in events[person]
            if e["kind"] == "hospital_admission"
            and e["discharged_on"]
            and 0 <= (started - day(e["discharged_on"])).days <= 14
        ]
        if not outs:
            continue
        out = max(outs)
        check = out + dt.timedelta(days=91)
        if not period.start <= check <= last:
            continue
        if _age(day(people[person]["date_of_birth"]), out) < 65:
            continue
        home = _at_home(people[person], events[person], out, check)
        if person not in chosen or chosen[person][0] <= out:
            chosen[person] = (out, home)
    return _rate(sum(1 for _out, home in chosen.values() if home), len(chosen))


def _at_home(person: Row, events: list[Row], out: dt.date, check: dt.date) -> bool:
    died = person["date_of_death"]
    if died is not None and day(died) <= check:
        return False
    for e in events:
        if day(e["occurred_on"]) > check:
            continue
        if e["kind"] == "death":
            return False
        if e["kind"] in ("residential_care_admission", "nursing_care_admission") and (
            e["permanent"] or day(e["occurred_on"]) >= out
        ):
            return False
        if e["kind"] != "hospital_admission":
            continue
        left = e["discharged_on"]
        if left is None or day(left) > check:
            if day(e["occurred_on"]) >= out:
                return False  # in hospital on the day
        elif e["discharge_destination"] == "died" or (
            out <= day(left) and e["discharge_destination"] in ("residential_care", "nursing_care")
        ):
            return False
    return True


#: Every id is reproduced from the export.
NOT_FROM_THE_EXPORT: set[str] = set()


@pytest.mark.slow
def test_json_matches_an_independent_computation_from_the_export(store_path: str) -> None:
    tables = exported(store_path)
    period = six_months()
    ods_code = busiest_practice(tables, period)
    locality = next(r["commissioner_code"] for r in tables["practice"] if r["ods_code"] == ods_code)
    in_locality = {r["ods_code"] for r in tables["practice"] if r["commissioner_code"] == locality}
    scopes = ((("--practice", ods_code), {ods_code}), (("--locality", locality), in_locality))
    for scope, codes in scopes:
        panel = indicators_json(store_path, *scope, period=period)
        expected = independent(tables, codes, period)
        assert set(expected) | NOT_FROM_THE_EXPORT == {each.id for each in INDICATORS}
        wrong = {
            key: (panel[key], wanted)
            for key, wanted in expected.items()
            if panel[key] != {**wanted, "value": pytest.approx(wanted["value"])}
        }
        assert wrong == {}, scope
        # Not a trivial store: the comparison has something to compare.
        assert panel["people_on_caseload"]["value"] >= 10
        assert panel["admissions"]["value"] >= 1
        assert panel["meetings_quorate"]["denominator"] >= 1
    assert panel["at_home_91_days_after_reablement"]["denominator"] >= 1  # the locality


def _csv_rows(path: Path) -> tuple[list[list[str]], dict[str, Row]]:
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header_at = lines.index(
        ["indicator", "title", "kind", "value", "numerator", "denominator", "suppressed"]
    )
    rows = {
        line[0]: dict(zip(lines[header_at], line, strict=True)) for line in lines[header_at + 1 :]
    }
    return lines[:header_at], rows


def _small(count: Any) -> bool:
    return count is not None and 1 <= count <= 4


def _withheld_as_complements(exact: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The figures the CSV withholds though not small themselves, worked out from the
    exact JSON (complementary suppression, ``shared_panel``), each with the cell of the
    count withheld: referrals = discussed (the median's n) + not yet discussed, and a
    count of all ages minus its 65+ numerator is the under-65s."""
    withheld: dict[str, str] = {}
    discussed = exact["median_days_to_first_mdt"]["denominator"]
    not_yet = exact["not_yet_discussed"]["value"]
    if _small(discussed) and not _small(not_yet):
        withheld["not_yet_discussed"] = "value"
    if _small(not_yet) and not _small(discussed):
        withheld["median_days_to_first_mdt"] = "denominator"
    for whole, older in (
        (exact["admissions"]["value"], "admissions_per_1000_registered_65_plus"),
        (
            exact["ae_attendances_per_100"]["numerator"],
            "ae_attendances_per_1000_registered_65_plus",
        ),
        (
            exact["care_home_admissions_permanent"]["value"],
            "care_home_admissions_permanent_per_1000_registered_65_plus",
        ),
    ):
        if _small(whole - exact[older]["numerator"]):
            withheld[older] = "numerator"
    return withheld


@pytest.mark.slow
def test_csv_is_suppressed_json_is_not_and_they_agree(store_path: str, tmp_path: Path) -> None:
    period = six_months()
    tables = exported(store_path)
    ods_code = busiest_practice(tables, period)
    locality = next(r["commissioner_code"] for r in tables["practice"] if r["ods_code"] == ods_code)
    target = tmp_path / "shared.csv"
    for scope in (("--practice", ods_code), ("--locality", locality)):
        panel = indicators_json(store_path, *scope, period=period)
        status, output = run(
            "indicators", "--store", store_path, *scope,
            "--from", period.start.isoformat(), "--to", period.end.isoformat(),
            "--csv", str(target),
        )  # fmt: skip
        assert status == 0 and SUPPRESSION_NOTE in output
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        preamble, rows = _csv_rows(target)
        assert ["note", SUPPRESSION_NOTE] in preamble
        assert list(rows) == [each.id for each in INDICATORS]
        small_seen = 0
        complements = _withheld_as_complements(panel)
        for key, exact in panel.items():
            shown = rows[key]
            counts = [exact["numerator"], exact["denominator"]]
            if counts == [None, None]:  # a count: the value is the count
                counts = [exact["value"]]
            small = any(_small(c) for c in counts)
            small_seen += small
            # A median with its n withheld still prints its days: no count in them.
            value_withheld = key in complements and complements[key] != "denominator"
            assert (shown["suppressed"] == "yes") == (small or value_withheld), key
            for name in ("numerator", "denominator"):
                number = exact[name]
                if number is None:
                    assert shown[name] == ""
                elif complements.get(key) == name:
                    assert shown[name] == "withheld", key
                else:
                    assert shown[name] == ("<5" if 1 <= number <= 4 else str(number)), key
            if small or (value_withheld and exact["value"] is not None):
                assert shown["value"] in ("<5", "withheld"), key
            elif exact["value"] is None:
                assert shown["value"] == ""
            else:
                assert float(shown["value"]) == pytest.approx(exact["value"], abs=0.05), key
            # JSON: exact, never suppressed
            assert all(isinstance(c, int | float | type(None)) for c in exact.values())
        assert small_seen >= 1  # the rule was exercised


@pytest.mark.slow
def test_the_table_and_every_role_may_see_indicators(store_path: str) -> None:
    period = six_months()
    tables = exported(store_path)
    ods_code = busiest_practice(tables, period)
    panel = indicators_json(store_path, "--practice", ods_code, period=period)
    observer = demo_staff_with(store_path, "observer")
    status, output = run(
        "indicators", "--store", store_path, "--practice", ods_code, "--as", observer,
        "--from", period.start.isoformat(), "--to", period.end.isoformat(),
    )  # fmt: skip
    assert status == 0
    assert f"Practice {ods_code}" in output
    for each in INDICATORS:
        assert each.title in output
    people = panel["people_on_caseload"]["value"]
    assert any(
        line.split()[-1] == str(people) for line in output.splitlines() if "People on" in line
    )
    assert "Population rates, per 1,000" in output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--practice", "Z99999"], "no practice Z99999"),
        (["--locality", "99Z"], "locality 99Z"),
        (["--practice", "Z99999", "--locality", "99Z"], "either --practice CODE or --locality"),
        ([], "either --practice CODE or --locality"),
        (
            ["--practice", "A81001", "--from", "2026-02-30", "--to", "2026-03-31"],
            "--from '2026-02-30' is not a real date",
        ),
        (["--practice", "A81001", "--from", "2026-06-01", "--to", "2026-05-31"], "starts"),
        (["--practice", "A81001", "--from", "2026-06-01"], "missing: --to"),
        (["--practice", "A81001", "--json", "--csv", "x.csv"], "not --json and --csv"),
    ],
)
def test_mistakes_exit_2_with_a_message_and_no_usage_line(
    store_path: str, options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dates = ["--from", "2026-06-01", "--to", "2026-11-30"]
    given = options if "--from" in options else options + dates
    status, _output = run("indicators", "--store", store_path, *given)
    said = capsys.readouterr().err
    assert status == 2, said
    assert message in said
    assert "usage:" not in said and "Traceback" not in said


def _pdf_figure(flat: str, title: str) -> str:
    """The figure printed after ``title`` in the summary's measures tables."""
    return flat[flat.index(title) + len(title) :].split(maxsplit=1)[0]


@pytest.mark.slow
def test_pdf_is_private_suppressed_and_agrees_with_the_csv(store_path: str, tmp_path: Path) -> None:
    from tests.documents.helpers import pages_text

    period = six_months()
    tables = exported(store_path)
    ods_code = busiest_practice(tables, period)
    locality = next(r["commissioner_code"] for r in tables["practice"] if r["ods_code"] == ods_code)
    dates = ["--from", period.start.isoformat(), "--to", period.end.isoformat()]
    target, shared = tmp_path / "summary.pdf", tmp_path / "shared.csv"
    status, output = run(
        "indicators", "--store", store_path, "--locality", locality, *dates, "--pdf", str(target)
    )
    assert status == 0, output
    assert SUPPRESSION_NOTE in output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    status, _ = run(
        "indicators", "--store", store_path, "--locality", locality, *dates, "--csv", str(shared)
    )
    assert status == 0
    flat = " ".join(" ".join(pages_text(target.read_bytes())).split())
    assert " ".join(SUPPRESSION_NOTE.split()) in flat
    measures = flat[flat.index("Measures Measure") :]  # after the exceptions
    _, rows = _csv_rows(shared)
    compared = 0
    for each in INDICATORS:
        shown = rows[each.id]["value"]
        if shown == "" or each.kind is IndicatorKind.RATE_PER_1000:
            continue  # no figure; population rates are in their own table, checked below
        printed = _pdf_figure(measures, each.title).rstrip("%")
        if shown in ("<5", "withheld"):
            assert printed == shown, each.id
        else:
            assert float(printed.replace(",", "")) == pytest.approx(float(shown)), each.id
        compared += 1
    assert compared >= 15
    population = flat[flat.index("Population rates") :]
    for each in INDICATORS:
        if each.kind is IndicatorKind.RATE_PER_1000 and rows[each.id]["value"] not in (
            "",
            "withheld",
        ):
            printed = _pdf_figure(population, each.title)
            assert float(printed) == pytest.approx(float(rows[each.id]["value"])), each.id


@pytest.mark.slow
def test_the_cases_behind_each_count_are_as_many_as_it_counts(
    demo_made: tuple[Path, bytes], tmp_path: Path
) -> None:
    from mdt_desk.models import Case
    from mdt_desk.services.indicators import cases_behind, compute_panel, locality_scope

    path = copy_store(*demo_made, tmp_path / "behind.sqlite")
    period = six_months()
    with Store.open(path) as store, store.read() as session:
        codes = {code for (code,) in session.execute(select(Practice.commissioner_code))}
        for code in sorted(codes):
            scope = locality_scope(session, code)
            panel = compute_panel(session, scope, period)
            for key in (
                "referrals",
                "open_cases_at_end",
                "not_yet_discussed",
                "reviews_overdue_at_end",
                "not_accepted",
            ):
                assert len(cases_behind(session, scope, period, key)) == panel[key].value, key
            median = panel["median_days_to_first_mdt"]
            discussed = cases_behind(session, scope, period, "median_days_to_first_mdt")
            assert len(discussed) == median.denominator
            behind = cases_behind(session, scope, period, "people_on_caseload")
            people = set(session.scalars(select(Case.patient_id).where(Case.id.in_(behind))))
            assert len(people) == panel["people_on_caseload"].value
            for each in INDICATORS:
                found = cases_behind(session, scope, period, each.id)
                result = panel[each.id]
                nothing_counted = result.numerator == 0 or (
                    each.kind is IndicatorKind.COUNT and result.value == 0
                )
                if nothing_counted:
                    assert found == [], each.id
