"""``mdt-desk indicators``: a practice's or a locality's indicators for a period.

    mdt-desk indicators (--practice CODE | --locality CODE) --from DATE --to DATE
                        [--json | --csv FILE | --pdf FILE]

Every figure comes from the one function per indicator in
:mod:`mdt_desk.services.indicators`, as on the Indicators tab.

- Without a format option: a table to read, with exact figures (the person is signed in
  and on the team).
- ``--json``: an object keyed by indicator id, each ``{"value", "numerator",
  "denominator"}``, exact and never suppressed (for the team's own analysis).
- ``--csv FILE`` and ``--pdf FILE`` are for sharing beyond the team: a count from 1 to
  4 is shown as "<5", a figure computed from one is withheld, and the file says so.
  Both files are written 0600.

Indicators are aggregates: every role may run this (contracts.md, issue 12). Mistakes
(an unknown practice or locality, a date that cannot exist, ``--from`` after ``--to``,
two formats at once) exit 2 with a message and no usage line.
"""

import argparse
import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mdt_desk.errors import UserError
from mdt_desk.services.indicators import (
    INDICATORS,
    SUPPRESSED,
    SUPPRESSION_NOTE,
    WITHHELD,
    IndicatorKind,
    IndicatorResult,
    Period,
    Scope,
    format_value,
    shared_panel,
)

EXIT_OK = 0

#: The CSV's columns, after its three lines saying what it is.
CSV_COLUMNS = ("indicator", "title", "kind", "value", "numerator", "denominator", "suppressed")


def add_indicators_command(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``indicators`` (``command`` is :func:`mdt_desk.cli.build_parser`'s helper:
    ``--store``, ``--json`` and the sign-in options)."""
    sub = command(
        commands,
        "indicators",
        cmd_indicators,
        "a practice's or locality's indicators for a period (docs/indicators.md)",
        signs_in=True,
    )
    # Checked in cmd_indicators, not by argparse: a mistake is said plainly, exit 2,
    # without a usage line (contracts.md, "Sign-in and the command line", 8).
    sub.add_argument("--practice", metavar="CODE", help="a practice's ODS code, e.g. A81001")
    sub.add_argument(
        "--locality", metavar="CODE", help="a locality's commissioner code: all its practices"
    )
    sub.add_argument(
        "--from", dest="date_from", metavar="DATE", help="the period's first day (required)"
    )
    sub.add_argument(
        "--to", dest="date_to", metavar="DATE", help="the period's last day, inclusive (required)"
    )
    sub.add_argument(
        "--csv",
        metavar="FILE",
        help="write a CSV to share beyond the team (counts of 1 to 4 suppressed)",
    )
    sub.add_argument(
        "--pdf",
        metavar="FILE",
        help="write the summary PDF to share beyond the team (counts of 1 to 4 suppressed)",
    )


def _checked_request(args: argparse.Namespace) -> Period:
    """The period asked for, after checking the options fit together."""
    from mdt_desk import cli

    formats = [
        flag
        for flag, given in (("--json", args.json), ("--csv", args.csv), ("--pdf", args.pdf))
        if given
    ]
    if len(formats) > 1:
        raise UserError(
            f"Give one of --json, --csv FILE or --pdf FILE, not {' and '.join(formats)}."
        )
    if bool(args.practice) == bool(args.locality):
        raise UserError("Give either --practice CODE or --locality CODE (one of them).")
    missing = [
        flag for flag, raw in (("--from", args.date_from), ("--to", args.date_to)) if not raw
    ]
    if missing:
        raise UserError(
            f"Give the period with --from DATE and --to DATE (missing: {', '.join(missing)}); "
            "for example --from 2026-06-01 --to 2026-11-30."
        )
    return Period(
        cli._date_argument("--from", args.date_from), cli._date_argument("--to", args.date_to)
    )


def cmd_indicators(args: argparse.Namespace) -> int:
    """Compute the panel and print it, or write it as CSV or PDF."""
    from mdt_desk import cli
    from mdt_desk.models.base import utc_now
    from mdt_desk.services.indicators import compute_panel, locality_scope, practice_scope

    period = _checked_request(args)
    pdf: Any = None
    with cli._open_store(args, create=False) as store:
        acting = cli._signed_in(args, store)
        with store.read(acting.actor_id) as session:
            if args.practice:
                scope = practice_scope(session, args.practice)
            else:
                scope = locality_scope(session, args.locality)
            if args.pdf:
                from mdt_desk.documents.indicators_summary import indicators_summary_pdf

                pdf = indicators_summary_pdf(
                    session, scope, period, now=utc_now(), printed_by=acting.label
                )
                panel: dict[str, IndicatorResult] = {}
            else:
                panel = compute_panel(session, scope, period)
    if args.json:
        cli._emit_json(args.out, {key: result.as_json() for key, result in panel.items()})
    elif args.csv:
        target = Path(args.csv)
        _write_private_text(target, shared_csv(scope, period, panel))
        cli._write(args.out, f"Wrote {target}. {SUPPRESSION_NOTE}")
    elif args.pdf:
        from mdt_desk.documents.indicators_summary import write_indicators_summary

        target = Path(args.pdf)
        try:
            write_indicators_summary(target, pdf)
        except OSError as error:
            raise UserError(f"Cannot write {target}: {error.strerror}.") from error
        pages = f"{pdf.pages} page{'s' if pdf.pages != 1 else ''}"
        cli._write(args.out, f"Wrote {target} ({pages}). {SUPPRESSION_NOTE}")
    else:
        for line in panel_table(scope, period, panel):
            cli._write(args.out, line)
    return EXIT_OK


def _write_private_text(target: Path, content: str) -> None:
    from mdt_desk.models.private_files import write_private

    try:
        write_private(target, content.encode("utf-8"))
    except OSError as error:
        raise UserError(f"Cannot write {target}: {error.strerror}.") from error


def _period_words(period: Period) -> str:
    return f"{period.start.isoformat()} to {period.end.isoformat()}"


def shared_csv(scope: Scope, period: Period, panel: dict[str, IndicatorResult]) -> str:
    """The panel as CSV to share beyond the team: three lines saying what it is (scope,
    period, the suppression note), a blank line, then one row per indicator with small
    counts suppressed, and their complements in the panel withheld
    (:func:`~mdt_desk.services.indicators.shared_panel`). Rates and
    shares to one decimal place; an empty cell where there is no figure."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["scope", scope.label])
    writer.writerow(["period", _period_words(period)])
    writer.writerow(["note", SUPPRESSION_NOTE])
    writer.writerow([])
    writer.writerow(CSV_COLUMNS)
    shared = shared_panel(panel)
    for each in INDICATORS:
        if each.id not in panel:
            continue
        result = panel[each.id]
        shown = shared[each.id]
        if shown.value in (SUPPRESSED, WITHHELD):
            value = shown.value
        elif result.value is None:
            value = ""
        elif each.kind is IndicatorKind.COUNT:
            value = str(int(result.value))
        else:
            value = f"{result.value:.1f}"
        writer.writerow(
            [
                each.id,
                each.title,
                each.kind.value,
                value,
                shown.numerator,
                shown.denominator,
                "yes" if shown.suppressed else "no",
            ]
        )
    return buffer.getvalue()


def panel_table(scope: Scope, period: Period, panel: dict[str, IndicatorResult]) -> list[str]:
    """The panel as lines to read on a terminal: exact figures (the reader is signed in),
    the caseload's measures first and the population rates apart."""
    lines = [f"Indicators for {scope.label}, {_period_words(period)}", ""]
    population = [each for each in INDICATORS if each.kind is IndicatorKind.RATE_PER_1000]
    caseload = [each for each in INDICATORS if each.kind is not IndicatorKind.RATE_PER_1000]
    width = max(len(each.title) for each in INDICATORS)
    for heading, group in (
        ("", caseload),
        (
            "Population rates, per 1,000 registered people aged 65+ (never mixed with the above):",
            population,
        ),
    ):
        if heading:
            lines += ["", heading]
        for each in group:
            if each.id not in panel:
                continue
            result = panel[each.id]
            figure = format_value(each.kind, result.value)
            lines.append(f"  {each.title:<{width}}  {figure:>8}{_counts(each.kind, result)}")
    if population and all(panel.get(each.id, _NONE).denominator is None for each in population):
        lines.append("  (not available: no practice list sizes have been imported)")
    return lines


_NONE = IndicatorResult(None, None, None)


def _counts(kind: IndicatorKind, result: IndicatorResult) -> str:
    """What a figure is made of, after it: "%  (2 of 3)", "  (5 / 9)", " days (median of 4)"."""
    if kind is IndicatorKind.COUNT:
        return ""
    if kind is IndicatorKind.MEDIAN_DAYS:
        unit = " days" if result.value is not None else "     "
        cases = "case" if result.denominator == 1 else "cases"
        return f"{unit}  (median of {result.denominator or 0} {cases})"
    numerator = "–" if result.numerator is None else f"{result.numerator:,}"
    denominator = "–" if result.denominator is None else f"{result.denominator:,}"
    if kind is IndicatorKind.SHARE_PERCENT:
        unit = "%" if result.value is not None else " "
        return f"{unit}  ({numerator} of {denominator})"
    return f"   ({numerator} / {denominator})"
