"""The ``mdt-desk`` command: the GUI with no subcommand, headless services with one.

Exit status: 0 success; 1 a check failed; 2 a user error (bad file, bad store,
bad arguments); 3 an import that refused some rows.
"""

import argparse
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import DatabaseError

from mdt_desk import __version__
from mdt_desk.errors import ImportFileError, StoreDamagedError, StoreError, UserError
from mdt_desk.models.store import Store, discard_unused_store, store_error
from mdt_desk.paths import STORE_ENVIRONMENT_VARIABLE, default_store_path
from mdt_desk.services.display import counted
from mdt_desk.services.reports import ImportReport

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_ROWS_REJECTED = 3

log = logging.getLogger("mdt_desk.cli")


def _write(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")


def _json_default(value: Any) -> Any:
    return str(value)


def _emit_json(out: TextIO, payload: Any) -> None:
    json.dump(payload, out, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False)
    out.write("\n")


def _store_source(args: argparse.Namespace) -> str:
    """Where the store's path came from, in words, for a message about it."""
    if args.store:
        return "given with --store"
    if os.environ.get(STORE_ENVIRONMENT_VARIABLE):
        return f"from the {STORE_ENVIRONMENT_VARIABLE} environment variable"
    return "the default on this computer"


def _missing_store_error(args: argparse.Namespace, path: Path) -> StoreError:
    return StoreError(
        f"There is no MDT Desk store at {path} ({_store_source(args)}). Point at the "
        f"store with --store PATH, or set the {STORE_ENVIRONMENT_VARIABLE} environment "
        "variable to its path. To make a new store: `mdt-desk practices import FILE`, "
        "or `mdt-desk demo` for a synthetic caseload."
    )


def _open_store(args: argparse.Namespace, *, create: bool = True) -> Store:
    from mdt_desk.models.store import conversion_needed

    path = args.store or default_store_path()
    if not create:
        # As Store.open judges it (no file, or an empty one), said with where the path
        # came from and how to give another: the usual cause is a fresh computer.
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_dir() and not (resolved.exists() and resolved.stat().st_size > 0):
            raise _missing_store_error(args, resolved)
    if getattr(args, "json", False) or not conversion_needed(path):
        return Store.open(path, create=create)
    sys.stderr.write(
        f"Converting the store {path} for this version of MDT Desk (a copy of the old one "
        "is kept beside it)…\n"
    )
    sys.stderr.flush()
    started = time.monotonic()
    store = Store.open(path, create=create)
    sys.stderr.write(f"Converting the store… done ({time.monotonic() - started:.1f} s).\n")
    return store


def _actor(store: Store) -> tuple[Any, str]:
    """Who the command's changes are by: the signed-in person (named, as the app's
    are, so a review item says who), else whoever is setting the desk up."""
    from mdt_desk.services.desk import Desk
    from mdt_desk.services.staff import setup_actor_label

    desk = Desk.for_store(store)
    return desk.actor_id, desk.actor_name or setup_actor_label()


def _report_import(args: argparse.Namespace, report: ImportReport, what: str) -> int:
    if args.json:
        payload = asdict(report)
        payload["rejected"] = report.rejected
        _emit_json(args.out, payload)
    else:
        _write(
            args.out,
            f"{what}: {report.imported} imported, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} skipped, "
            f"{report.rejected} rejected.",
        )
        for problem in report.problems:
            _write(args.out, f"  line {problem.line}: {problem.reason}")
    return EXIT_ROWS_REJECTED if report.problems else EXIT_OK


class _Progress:
    """Progress of long work on stderr: as each phase starts, at most once a second
    while it runs, and as it ends. Commands run with ``--json`` show none."""

    def __init__(self, stream: TextIO, labels: dict[str, tuple[str, str]]) -> None:
        self._stream = stream
        self._labels = labels  # phase -> (what is being done, unit counted or "")
        self._clock = time.monotonic
        self._last = 0.0
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self._clock()
        ends = total > 0 and done >= total
        if phase == self._phase and not ends and now - self._last < 1.0:
            return
        self._phase, self._last = phase, now
        what, unit = self._labels.get(phase, (phase.capitalize(), ""))
        share = f" {100 * done // total}%" if total else ""
        count = f" ({done:,} of {total:,} {unit})" if unit and total else ""
        self._stream.write(f"{what}…{share}{count}\n")
        self._stream.flush()


def _progress(args: argparse.Namespace, labels: dict[str, tuple[str, str]]) -> "_Progress | None":
    return None if args.json else _Progress(sys.stderr, labels)


def _import_labels(path: str, what: str) -> dict[str, tuple[str, str]]:
    from mdt_desk.services.progress import READING, WRITING

    return {READING: (f"Reading {Path(path).name}", ""), WRITING: (f"Writing {what}", "rows")}


def _cmd_practices_import(args: argparse.Namespace) -> int:
    from mdt_desk.services.practices import import_ods_practices

    progress = _progress(args, _import_labels(args.file, "practices"))
    with _open_store(args) as store:
        actor_id, label = _actor(store)
        with store.write(actor_id, label) as session:
            report = import_ods_practices(session, Path(args.file), progress)
    return _report_import(args, report, "GP practices")


def _cmd_practices_list(args: argparse.Namespace) -> int:
    from mdt_desk.services.practices import list_practices

    with _open_store(args) as store, store.read() as session:
        practices = list_practices(session, commissioner_code=args.locality)
    if args.json:
        _emit_json(args.out, [asdict(practice) for practice in practices])
    else:
        for practice in practices:
            _write(
                args.out,
                f"{practice.locality_name or practice.locality:5} {practice.ods_code}  "
                f"{practice.name}  "
                f"({practice.status.value}, {practice.open_cases} open cases)",
            )
    return EXIT_OK


def _cmd_practices_name_locality(args: argparse.Namespace) -> int:
    from mdt_desk.services.practices import name_locality

    with _open_store(args, create=False) as store:
        actor_id, label = _actor(store)
        with store.write(actor_id, label) as session:
            named = name_locality(session, args.code, args.name)
    if args.json:
        _emit_json(args.out, {"code": named.code, "name": named.name, "title": named.title})
    else:
        _write(args.out, f"Locality {named.code} is now shown as “{named.title}”.")
    return EXIT_OK


def _cmd_patients_import(args: argparse.Namespace) -> int:
    from mdt_desk.services.patient_import import import_patients_file, unfinished_imports

    progress = _progress(args, _import_labels(args.file, "patients"))
    with _open_store(args) as store:
        for earlier in unfinished_imports(store):
            sys.stderr.write(f"mdt-desk: {earlier.message()}\n")
        actor_id, label = _actor(store)
        report = import_patients_file(
            store, Path(args.file), actor_id=actor_id, actor_label=label, progress=progress
        )
    return _report_import(args, report, "Patients")


def _cmd_staff_list(args: argparse.Namespace) -> int:
    from mdt_desk.services.staff import list_staff, signed_in_staff_id

    with _open_store(args) as store:
        signed_in = signed_in_staff_id(store)
        with store.read() as session:
            staff = list_staff(session)
    if args.json:
        _emit_json(
            args.out, [{**asdict(member), "signed_in": member.id == signed_in} for member in staff]
        )
    else:
        for member in staff:
            marker = "*" if member.id == signed_in else " "
            _write(
                args.out,
                f"{marker} {member.id}  {member.display_name}  ({member.profession.value})  "
                + " ".join(member.practice_codes),
            )
    return EXIT_OK


def _cmd_staff_add(args: argparse.Namespace) -> int:
    from mdt_desk.services.staff import add_staff, sign_in

    with _open_store(args) as store:
        actor_id, label = _actor(store)
        with store.write(actor_id, label) as session:
            member = add_staff(
                session,
                family_name=args.family_name,
                given_name=args.given_name,
                title=args.title,
                profession=args.profession,
                organisation=args.organisation,
                email=args.email,
                phone=args.phone,
                practice_codes=tuple(args.practice),
            )
        if args.sign_in:
            sign_in(store, member.id)
    if args.json:
        _emit_json(args.out, asdict(member))
    else:
        _write(args.out, f"Added {member.display_name} ({member.id}).")
    return EXIT_OK


def _cmd_staff_sign_in(args: argparse.Namespace) -> int:
    import uuid

    from mdt_desk.services.staff import sign_in

    try:
        staff_id = uuid.UUID(args.staff_id)
    except ValueError:
        raise UserError(
            f"'{args.staff_id}' is not a staff id (see `mdt-desk staff list`)."
        ) from None
    with _open_store(args, create=False) as store:
        member = sign_in(store, staff_id)
    _write(args.out, f"Signed in as {member.display_name}.")
    return EXIT_OK


def _cmd_actions_list(args: argparse.Namespace) -> int:
    from mdt_desk.services.actions import list_actions
    from mdt_desk.services.display import cui_date, label
    from mdt_desk.services.staff import get_staff
    from mdt_desk.services.validation import format_nhs_number

    owner_id = _uuid_argument(args.owner, "staff", "mdt-desk staff list") if args.owner else None
    with _open_store(args, create=False) as store, store.read() as session:
        if owner_id is not None:
            get_staff(session, owner_id)  # an unknown id is a clear error, not an empty list
        rows = list_actions(
            session, owner_id=owner_id, overdue_only=args.overdue, include_closed=args.all
        )
    if args.json:
        _emit_json(
            args.out,
            [
                {
                    "id": str(row.id),
                    "case_id": str(row.case_id),
                    "patient_id": str(row.patient_id),
                    "nhs_number": row.nhs_number,
                    "person_name": row.person_name,
                    "description": row.description,
                    "owner_id": str(row.owner_id),
                    "owner_name": row.owner_name,
                    "due_on": row.due_on.isoformat(),
                    "status": row.status.value,
                    "overdue": row.overdue,
                    "sensitive": row.sensitive,
                }
                for row in rows
            ],
        )
        return EXIT_OK
    for row in rows:
        due = cui_date(row.due_on) + (" (overdue)" if row.overdue else "")
        # Need-to-know: said on the line, as the action plan marks it, before the words.
        marker = "[sensitive] " if row.sensitive else ""
        _write(
            args.out,
            f"{due:<24} {label(row.status.value):<12} {row.owner_name:<28} "
            f"{row.person_name} ({format_nhs_number(row.nhs_number)}): "
            f"{marker}{row.description}",
        )
    what = "overdue action" if args.overdue else "action"
    _write(args.out, f"{len(rows)} {what}{'' if len(rows) == 1 else 's'}.")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from mdt_desk.services.demo import generate_demo

    if args.patients < 1:
        raise UserError("--patients must be at least 1.")
    started = time.perf_counter()
    progress = _progress(args, {"making": ("Making demo patients", "patients")})
    with _open_store(args) as store:
        report = generate_demo(
            store,
            patients=args.patients,
            seed=args.seed,
            progress=None if progress is None else functools.partial(progress, "making"),
        )
    seconds = time.perf_counter() - started
    if args.json:
        _emit_json(args.out, {**asdict(report), "seconds": round(seconds, 2)})
    else:
        _write(
            args.out,
            f"Demo caseload: {report.patients} patients in {report.practices} practices, "
            f"{report.staff} staff, {report.cases} cases, {report.meetings} meetings "
            f"({seconds:.1f} s). Signed in as {report.signed_in}.",
        )
    return EXIT_OK


def _cmd_stats(args: argparse.Namespace) -> int:
    from mdt_desk.services.stats import store_stats

    with _open_store(args, create=False) as store, store.read() as session:
        stats = store_stats(session)
    if args.json:
        _emit_json(args.out, asdict(stats))
    else:
        for line in stats.as_lines():
            _write(args.out, line)
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from mdt_desk.services.export import export_json

    with _open_store(args, create=False) as store, store.read() as session:
        if args.output and args.output != "-":
            target = Path(args.output)
            temporary = target.with_name(target.name + ".part")
            with temporary.open("w", encoding="utf-8", newline="\n") as handle:
                export_json(session, handle)
            temporary.replace(target)
        else:
            export_json(session, args.out)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from mdt_desk.services.check import CheckReport, CheckResult, check_store

    try:
        opened = _open_store(args, create=False)
    except StoreDamagedError as error:  # a damaged store is a failed check, not a bad argument
        report = CheckReport((CheckResult("store", False, str(error)),))
    else:
        with opened as store:
            report = check_store(store)
    if args.json:
        _emit_json(args.out, asdict(report))
    else:
        for item in report.checks:
            _write(args.out, f"{'ok  ' if item.passed else 'FAIL'} {item.name}: {item.detail}")
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED


def _uuid_argument(raw: str, what: str, hint: str) -> Any:
    import uuid

    try:
        return uuid.UUID(raw)
    except ValueError:
        raise UserError(f"'{raw}' is not a {what} id (see `{hint}`).") from None


def _date_argument(option: str, raw: str) -> Any:
    """A date given on the command line, read as every date field reads one
    (:func:`~mdt_desk.services.dates.parse_typed_date`, "today" in London): a day that
    cannot exist is named and the reason given, e.g. "February 2026 has 28 days"."""
    from mdt_desk.services.actions import london_today
    from mdt_desk.services.dates import DateInputError, parse_typed_date

    try:
        return parse_typed_date(raw, london_today())
    except DateInputError as error:
        message = str(error)
        # "'2026-02-30' is not a real date: …" reads on after the option's name.
        joined = " " if message.startswith("'") else ": "
        raise UserError(f"{option}{joined}{message}") from None


def _practice_argument(session: Any, code: str) -> Any:
    from mdt_desk.services.practices import find_practice_by_code

    practice = find_practice_by_code(session, code.strip())
    if practice is None or practice.retired_at is not None:
        raise UserError(
            f"There is no practice {code!r} in this store (see `mdt-desk practices list`)."
        )
    return practice.id


def _meeting_payload(meeting: Any) -> dict[str, Any]:
    import datetime as dt

    return {
        "id": meeting.id,
        "title": meeting.title,
        "practice_code": meeting.practice_code,
        "practice_names": list(meeting.practice_names),
        "starts_at": meeting.starts_at.astimezone(dt.UTC).isoformat(),
        "starts_text": meeting.starts_text,
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
        "video_link": meeting.video_link,
        "status": meeting.status.value,
        "status_text": meeting.status_text,
        "chair_id": meeting.chair_id,
        "chair": meeting.chair_name,
        "series_id": meeting.series_id,
        "repeat_weeks": meeting.repeat_weeks,
        "item_count": meeting.item_count,
    }


def _report_meetings(args: argparse.Namespace, found: Sequence[Any]) -> None:
    if args.json:
        _emit_json(args.out, [_meeting_payload(meeting) for meeting in found])
        return
    for meeting in found:
        _write(
            args.out,
            f"{meeting.id}  {meeting.starts_text}  {meeting.practice_code}  {meeting.title}  "
            f"({meeting.duration_minutes} min, {meeting.status_text.lower()}, "
            f"chair {meeting.chair_name or 'none'}, {counted(meeting.item_count, 'item')})",
        )


def _cmd_meetings_list(args: argparse.Namespace) -> int:
    from mdt_desk.services.meetings import list_meetings

    with _open_store(args, create=False) as store, store.read() as session:
        practice_id = _practice_argument(session, args.practice) if args.practice else None
        found = list_meetings(session, practice_id=practice_id)
    _report_meetings(args, found)
    return EXIT_OK


def _cmd_meetings_schedule(args: argparse.Namespace) -> int:
    import datetime as dt

    from mdt_desk.services.meetings import schedule_meeting

    day = _date_argument("--date", args.date)
    try:
        start_time = dt.time.fromisoformat(args.time)
    except ValueError:
        raise UserError(f"--time {args.time!r} is not a time: give it as HH:MM.") from None
    if args.every_weeks is not None and args.count is None:
        raise UserError("--every-weeks needs --count: how many meetings to schedule.")
    if args.count is not None and args.count > 1 and args.every_weeks is None:
        raise UserError("--count needs --every-weeks: how often the meetings repeat.")
    hint = "mdt-desk staff list"
    invited = [_uuid_argument(raw, "staff", hint) for raw in args.invite]
    with _open_store(args, create=False) as store:
        actor_id, label = _actor(store)
        chair_id = _uuid_argument(args.chair, "staff", hint) if args.chair else actor_id
        with store.write(actor_id, label) as session:
            made = schedule_meeting(
                session,
                practice_id=_practice_argument(session, args.practice),
                day=day,
                start_time=start_time,
                duration_minutes=args.minutes,
                chair_id=chair_id,
                invited_ids=invited,
                location=args.place,
                video_link=args.video,
                title=args.title,
                repeat_weeks=args.every_weeks,
                occurrences=args.count or 1,
            )
    if args.json:
        _report_meetings(args, made)
    else:
        _write(args.out, f"Scheduled {len(made)} meeting{'s' if len(made) != 1 else ''}:")
        _report_meetings(args, made)
    return EXIT_OK


def _cmd_agenda_propose(args: argparse.Namespace) -> int:
    from mdt_desk.services.agenda_rules import propose

    meeting_id = _uuid_argument(args.meeting, "meeting", "mdt-desk meetings list")
    with _open_store(args, create=False) as store, store.read() as session:
        proposals = propose(session, meeting_id)
    if args.json:
        _emit_json(
            args.out,
            [
                {
                    "case_id": proposal.case_id,
                    "patient_id": proposal.patient_id,
                    "patient_name": proposal.patient_name,
                    "nhs_number_text": proposal.nhs_number_text,
                    "practice_code": proposal.practice_code,
                    "reason": proposal.reason.value,
                    "reasons": [
                        {"code": reason.reason.value, "text": reason.text}
                        for reason in proposal.reasons
                    ],
                    "suggested_minutes": proposal.suggested_minutes,
                    "carried_count": proposal.carried_count,
                }
                for proposal in proposals
            ],
        )
    else:
        for proposal in proposals:
            carried = f", carried {proposal.carried_count}×" if proposal.carried_count else ""
            _write(
                args.out,
                f"{proposal.case_id}  {proposal.patient_name}  {proposal.nhs_number_text}  "
                f"{proposal.practice_code}  {proposal.suggested_minutes} min{carried}: "
                f"{proposal.reasons_text}",
            )
        _write(args.out, f"{len(proposals)} cases proposed.")
    return EXIT_OK


def _write_pdf(args: argparse.Namespace, request: Any) -> int:
    """Produce a document (recording the print) and write it to ``--out``."""
    import os
    import tempfile

    from mdt_desk import documents
    from mdt_desk.services.desk import Desk

    target = Path(args.out_file).expanduser()
    if target.is_dir():
        raise UserError(f"--out {target} is a folder; give the path of the PDF file to write.")
    if not target.parent.exists():
        raise UserError(f"There is no folder {target.parent} to write {target.name} into.")
    with _open_store(args, create=False) as store:
        made = documents.produce(Desk.for_store(store), request)
    # Written beside the target and renamed: never a half-written PDF under its name.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".mdt-desk-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(made.content)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UserError(f"Cannot write {target}: {error.strerror}.") from error
    if args.json:
        _emit_json(
            args.out,
            {
                "file": str(target),
                "pages": made.pages,
                "title": made.title,
                "plan_version": made.plan_version,
                "sha256": made.sha256,
                "print_id": made.print_id,
                "left_off": {
                    "actions": made.left_off.actions,
                    "notes": made.left_off.notes,
                    "alerts": made.left_off.alerts,
                },
            },
        )
    else:
        _write(args.out, f"Wrote {target} ({made.pages} page{'s' if made.pages != 1 else ''}).")
        if made.left_off:
            # Said beside the file, never in it: the person's copy does not mention them.
            left = made.left_off
            counts = ", ".join(
                f"{count} sensitive {kind}{'s' if count != 1 else ''}"
                for count, kind in (
                    (left.actions, "action"),
                    (left.notes, "note"),
                    (left.alerts, "alert"),
                )
                if count
            )
            sys.stderr.write(f"Not on the person's copy: {counts} (never printed for them).\n")
    return EXIT_OK


def _cmd_careplan(args: argparse.Namespace) -> int:
    from mdt_desk.documents import DocumentRequest
    from mdt_desk.models.enums import DocumentKind
    from mdt_desk.services.patients import find_by_nhs_number
    from mdt_desk.services.validation import format_nhs_number

    with _open_store(args, create=False) as store, store.read() as session:
        patient = find_by_nhs_number(session, args.nhs)
    if patient is None:
        raise UserError(
            f"Nobody with NHS number {format_nhs_number(args.nhs)} is registered in this store."
        )
    request = DocumentRequest(
        DocumentKind.CARE_PLAN, patient_id=patient.id, large_print=args.large_print
    )
    return _write_pdf(args, request)


def _cmd_agenda_pdf(args: argparse.Namespace) -> int:
    from mdt_desk.documents import DocumentRequest
    from mdt_desk.models.enums import DocumentKind

    if not args.meeting or not args.out_file:
        raise UserError(
            "Give --meeting ID and --out FILE.pdf to print an agenda "
            "(or `mdt-desk agenda propose --meeting ID` for the proposed cases)."
        )
    meeting_id = _uuid_argument(args.meeting, "meeting", "mdt-desk meetings list")
    kind = DocumentKind.AGENDA_INITIALS if args.initials else DocumentKind.AGENDA
    return _write_pdf(args, DocumentRequest(kind, meeting_id=meeting_id))


def _cmd_minutes(args: argparse.Namespace) -> int:
    from mdt_desk.documents import DocumentRequest
    from mdt_desk.models.enums import DocumentKind

    meeting_id = _uuid_argument(args.meeting, "meeting", "mdt-desk meetings list")
    return _write_pdf(args, DocumentRequest(DocumentKind.MINUTES, meeting_id=meeting_id))


def _cmd_caseload_pdf(args: argparse.Namespace) -> int:
    from mdt_desk.documents import DocumentRequest
    from mdt_desk.models.enums import DocumentKind

    if bool(args.practice) == bool(args.coordinator):
        raise UserError("Give either --practice CODE or --coordinator STAFF_ID.")
    if args.practice:
        with _open_store(args, create=False) as store, store.read() as session:
            practice_id = _practice_argument(session, args.practice)
        request = DocumentRequest(DocumentKind.CASELOAD_LIST, practice_id=practice_id)
    else:
        staff_id = _uuid_argument(args.coordinator, "staff", "mdt-desk staff list")
        request = DocumentRequest(DocumentKind.CASELOAD_LIST, coordinator_id=staff_id)
    return _write_pdf(args, request)


def _add_document_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], agenda: Any
) -> None:
    """``careplan``, ``agenda --meeting ID --out``, ``minutes`` and ``caseload`` PDFs."""
    out_help = "the PDF file to write (replaced if it exists)"
    sub = command(commands, "careplan", _cmd_careplan, "print a person's care plan to a PDF file")
    sub.add_argument("--nhs", metavar="NUMBER", required=True, help="the person's NHS number")
    sub.add_argument("--out", dest="out_file", metavar="FILE.pdf", required=True, help=out_help)
    sub.add_argument("--large-print", action="store_true", help="16 pt text and larger")
    agenda.add_argument("--meeting", metavar="ID", help="see `mdt-desk meetings list`")
    agenda.add_argument("--out", dest="out_file", metavar="FILE.pdf", help=out_help)
    agenda.add_argument(
        "--initials", action="store_true", help="people by initials only, for circulation"
    )
    agenda.add_argument("--json", action="store_true", help="print the result as JSON")
    agenda.set_defaults(handler=_cmd_agenda_pdf)
    sub = command(commands, "minutes", _cmd_minutes, "print a meeting's minutes to a PDF file")
    sub.add_argument("--meeting", metavar="ID", required=True, help="see `mdt-desk meetings list`")
    sub.add_argument("--out", dest="out_file", metavar="FILE.pdf", required=True, help=out_help)
    sub = command(
        commands, "caseload", _cmd_caseload_pdf, "print a practice's or coordinator's caseload"
    )
    sub.add_argument("--practice", metavar="CODE", help="ODS code of the practice")
    sub.add_argument("--coordinator", metavar="STAFF_ID", help="see `mdt-desk staff list`")
    sub.add_argument("--out", dest="out_file", metavar="FILE.pdf", required=True, help=out_help)


def _hub_engine_for(url: str) -> Any:
    """An engine for ``url`` with its password from the URL, the keyring or the environment."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from mdt_desk.sync.credentials import load_password
    from mdt_desk.sync.hub import HubError, hub_engine

    try:
        given = make_url(url).password
    except (ArgumentError, ValueError):
        raise HubError(
            "That is not a hub address: give a database URL such as "
            "postgresql+psycopg://user@host/team or sqlite:///team-hub.sqlite"
        ) from None
    if given:
        # A password on the command line is visible to every user of the computer.
        raise UserError(
            "Leave the password out of the hub address: anyone on this computer can read "
            "a command line. Keep it in the keyring with `mdt-desk hub password URL`, or "
            "set MDT_DESK_HUB_PASSWORD for this session."
        )
    return hub_engine(url, password=load_password(url, environment=True))


def _cmd_hub_password(args: argparse.Namespace) -> int:
    import getpass

    from mdt_desk.sync.credentials import save_password
    from mdt_desk.sync.hub import redacted

    if make_url_password(args.url):
        raise UserError("Give the hub address without the password; you will be asked for it.")
    password = getpass.getpass(f"Password for the team hub {redacted(args.url)}: ")
    if not password:
        raise UserError("No password given; nothing was saved.")
    save_password(args.url, password)
    _write(args.out, "The password is kept in this computer's keyring.")
    return EXIT_OK


def make_url_password(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        raise UserError("That is not a hub address.") from None


def _cmd_hub_init(args: argparse.Namespace) -> int:
    from mdt_desk.sync.hub import init_hub, redacted

    engine = _hub_engine_for(args.url)
    try:
        info = init_hub(engine)
    finally:
        engine.dispose()
    if args.json:
        _emit_json(
            args.out,
            {
                "hub": redacted(args.url),
                "hub_id": info.hub_id,
                "protocol_version": info.protocol_version,
                "schema_version": info.schema_version,
                "engine": info.dialect,
            },
        )
    else:
        _write(
            args.out,
            f"The team hub at {redacted(args.url)} is ready ({info.dialect}, protocol "
            f"{info.protocol_version}, hub schema {info.schema_version}).",
        )
    return EXIT_OK


class _SyncProgress:
    """Progress of a long sync (a new desk's first), on stderr at most once a second."""

    def __init__(self, stream: TextIO) -> None:
        import time

        self._stream = stream
        self._clock = time.monotonic
        self._last = self._clock()
        self._shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self._clock()
        if now - self._last < 1.0:
            return
        self._last = now
        verb = "Sending" if phase == "push" else "Receiving"
        share = f" {100 * done // total}%" if total else ""
        self._stream.write(f"{verb}{share} ({done:,} of {total:,} changes)\n")
        self._stream.flush()


def _cmd_sync(args: argparse.Namespace) -> int:
    from mdt_desk.sync.client import META_HUB_ADDRESS, sync_once
    from mdt_desk.sync.hub import without_password

    with _open_store(args, create=True) as store:
        url = args.hub or store.get_meta(META_HUB_ADDRESS)
        if not url:
            raise UserError("Give the team hub's address with --hub URL.")
        _actor_id, label = _actor(store)
        engine = _hub_engine_for(url)
        try:
            report = sync_once(
                store,
                engine,
                address=without_password(url),
                label=label,
                progress=None if args.json else _SyncProgress(sys.stderr),
            )
        finally:
            engine.dispose()
    if args.json:
        _emit_json(args.out, report.as_dict())
    else:
        _write(
            args.out,
            f"Sent {report.pushed} changes, received {report.pulled}; "
            f"{report.conflicts} to review.",
        )
    return EXIT_OK


def _cmd_conflicts(args: argparse.Namespace) -> int:
    from mdt_desk.services.review import list_open_items

    with _open_store(args, create=False) as store, store.read() as session:
        items = list_open_items(session)
    if args.json:
        _emit_json(
            args.out,
            [
                {
                    "id": item.id,
                    "kind": item.kind,
                    "title": item.title,
                    "record": item.record_text,
                    "field": item.field_text,
                    "kept": item.kept_text,
                    "kept_by": item.kept_by,
                    "kept_at": item.kept_at_text,
                    "other": item.other_text,
                    "other_by": item.other_by,
                    "other_at": item.other_at_text,
                }
                for item in items
            ],
        )
    else:
        for item in items:
            _write(args.out, f"{item.id}  {item.title}: {item.summary}")
        _write(args.out, f"{len(items)} to review.")
    return EXIT_OK


def _add_sync_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """``hub init``, ``sync`` and ``conflicts``."""
    hub = commands.add_parser("hub", help="the team hub this desk syncs with")
    hub_commands = hub.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(hub_commands, "init", _cmd_hub_init, "create (or check) the team hub's tables")
    sub.add_argument(
        "url",
        help="the hub database, e.g. postgresql+psycopg://mdt@db.example/team or "
        "sqlite:///team-hub.sqlite (password: keyring, MDT_DESK_HUB_PASSWORD or PGPASSWORD)",
    )
    sub = command(
        hub_commands,
        "password",
        _cmd_hub_password,
        "keep the hub's password in this computer's keyring (asked for, never an argument)",
        reports=False,
    )
    sub.add_argument("url", help="the hub address, without the password")
    sub = command(
        commands,
        "sync",
        _cmd_sync,
        "send this desk's changes to the team hub and bring in everyone else's",
    )
    sub.add_argument("--hub", metavar="URL", help="the hub (default: the one this desk uses)")
    command(commands, "conflicts", _cmd_conflicts, "changes that need a person to review")


def _cmd_gui(args: argparse.Namespace) -> int:
    from mdt_desk.app import run_gui

    return run_gui(Path(args.store) if args.store else default_store_path())


def _add_meeting_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], store_option: Any
) -> None:
    """``meetings list|schedule`` and ``agenda propose`` (``agenda`` is a group)."""
    meetings = commands.add_parser("meetings", help="MDT meetings")
    meetings_commands = meetings.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        meetings_commands, "list", _cmd_meetings_list, "list meetings in date order, earliest first"
    )
    sub.add_argument("--practice", metavar="CODE", help="only those this practice hosts or joins")
    sub = command(
        meetings_commands,
        "schedule",
        _cmd_meetings_schedule,
        "schedule a meeting, or a series of them (Europe/London time)",
    )
    sub.add_argument("--practice", metavar="CODE", required=True, help="ODS code of the host")
    sub.add_argument(
        "--date",
        metavar="DATE",
        required=True,
        help="the (first) meeting day, e.g. 2027-07-14, 14-Jul-2027 or 14/07/2027",
    )
    sub.add_argument("--time", metavar="HH:MM", required=True, help="start, Europe/London time")
    sub.add_argument("--minutes", type=int, default=90, help="length (default 90)")
    sub.add_argument(
        "--place", metavar="TEXT", default="", help="where it is held (--place, --video or both)"
    )
    sub.add_argument("--video", metavar="URL", default="", help="its video link")
    sub.add_argument(
        "--title", metavar="TEXT", default="", help="default: the practice name and MDT"
    )
    sub.add_argument(
        "--chair", metavar="STAFF_ID", help="who chairs it (default: the signed-in staff member)"
    )
    sub.add_argument(
        "--invite",
        action="append",
        default=[],
        metavar="STAFF_ID",
        help="a member to invite (repeat for several; the chair is always invited)",
    )
    sub.add_argument("--every-weeks", type=int, metavar="N", help="repeat every N weeks")
    sub.add_argument(
        "--count", type=int, metavar="K", help="how many meetings (with --every-weeks)"
    )

    agenda = commands.add_parser(
        "agenda",
        help="a meeting's agenda: print it (--meeting ID --out FILE.pdf) or `propose`",
        description="Print a meeting's agenda to a PDF file, or list the proposed cases.",
        parents=[store_option],
    )
    agenda_commands = agenda.add_subparsers(title="commands", metavar="COMMAND")
    sub = command(
        agenda_commands,
        "propose",
        _cmd_agenda_propose,
        "the cases proposed for a meeting, and why",
    )
    sub.add_argument("--meeting", metavar="ID", required=True, help="see `mdt-desk meetings list`")
    _add_document_commands(commands, command, agenda)


def _add_staff_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="team members and who uses this desk")
    staff_commands = staff.add_subparsers(title="commands", metavar="COMMAND", required=True)
    command(staff_commands, "list", _cmd_staff_list, "list the team (* marks who is signed in)")
    sub = command(staff_commands, "add", _cmd_staff_add, "add a team member")
    sub.add_argument("--family-name", required=True)
    sub.add_argument("--given-name", required=True)
    sub.add_argument("--title", default="")
    sub.add_argument("--profession", required=True, help="e.g. social_worker, district_nurse, gp")
    sub.add_argument("--organisation", default="")
    sub.add_argument("--email", default="")
    sub.add_argument("--phone", default="")
    sub.add_argument(
        "--practice",
        action="append",
        default=[],
        metavar="CODE",
        help="ODS code of a practice they cover (repeat for several)",
    )
    sub.add_argument("--sign-in", action="store_true", help="sign this desk in as them")
    sub = command(
        staff_commands,
        "sign-in",
        _cmd_staff_sign_in,
        "sign this desk in as a staff member",
        reports=False,
    )
    sub.add_argument("staff_id", help="the staff id shown by `mdt-desk staff list`")


def _add_action_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    actions = commands.add_parser("actions", help="actions across every case")
    actions_commands = actions.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        actions_commands,
        "list",
        _cmd_actions_list,
        "list actions still to do (overdue first), across every case",
    )
    sub.add_argument("--owner", metavar="STAFF_ID", help="only this staff member's actions")
    sub.add_argument(
        "--overdue",
        action="store_true",
        help="only overdue ones: open or in progress and due before today",
    )
    sub.add_argument("--all", action="store_true", help="also done and cancelled actions")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mdt-desk`` (every subcommand takes ``--store``)."""
    store_help = (
        "the desk store file (default: mdt-desk.sqlite in this computer's local data "
        "folder, or $MDT_DESK_STORE)"
    )
    store_option = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand without --store must not undo `mdt-desk --store X COMMAND`.
    store_option.add_argument("--store", metavar="PATH", help=store_help, default=argparse.SUPPRESS)
    json_option = argparse.ArgumentParser(add_help=False)
    json_option.add_argument("--json", action="store_true", help="print the result as JSON")

    parser = argparse.ArgumentParser(
        prog="mdt-desk",
        description="MDT Desk: care coordination for practice-linked MDTs. "
        "With no command, opens the desk window.",
    )
    parser.add_argument("--store", metavar="PATH", help=store_help, default=None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(handler=_cmd_gui)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        parent: Any,
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help_text: str,
        *,
        reports: bool = True,
    ) -> argparse.ArgumentParser:
        parents = [store_option, json_option] if reports else [store_option]
        sub: argparse.ArgumentParser = parent.add_parser(
            name, help=help_text, description=help_text, parents=parents
        )
        sub.set_defaults(handler=handler)
        return sub

    practices = commands.add_parser("practices", help="GP practices from the NHS ODS file")
    practices_commands = practices.add_subparsers(
        title="commands", metavar="COMMAND", required=True
    )
    sub = command(
        practices_commands,
        "import",
        _cmd_practices_import,
        "import or update GP practices from an ODS epraccur.csv file",
    )
    sub.add_argument("file", help="the epraccur.csv file")
    sub = command(practices_commands, "list", _cmd_practices_list, "list practices")
    sub.add_argument("--locality", help="only the practices of this commissioner code")
    sub = command(
        practices_commands,
        "name-locality",
        _cmd_practices_name_locality,
        "give a locality (the practices of one commissioner code) a name; empty removes it",
    )
    sub.add_argument("code", help="the locality's commissioner code, e.g. 15E")
    sub.add_argument("name", help="the name the team uses, e.g. 'Norwich North'")

    patients = commands.add_parser("patients", help="patients registered with the practices")
    patients_commands = patients.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        patients_commands,
        "import",
        _cmd_patients_import,
        "import a patient list exported from a practice search (CSV)",
    )
    sub.add_argument(
        "file", help="the CSV file (columns: see docs/patient-import.md or the README)"
    )

    _add_staff_commands(commands, command)
    _add_action_commands(commands, command)

    sub = command(commands, "demo", _cmd_demo, "fill the store with a synthetic demo caseload")
    sub.add_argument("--patients", type=int, default=2000, help="how many patients (default 2000)")
    sub.add_argument("--seed", type=int, default=1, help="random seed (same seed, same people)")

    _add_meeting_commands(commands, command, store_option)

    _add_sync_commands(commands, command)

    command(commands, "stats", _cmd_stats, "counts of practices, patients, cases, actions")

    sub = command(
        commands,
        "export",
        _cmd_export,
        "write the whole store in a stable, documented order",
        reports=False,
    )
    sub.add_argument("--format", choices=["json"], default="json")
    sub.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of the screen")

    command(commands, "check", _cmd_check, "check the store: integrity, keys, journal")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``mdt-desk``; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    args.out = out or sys.stdout
    if not hasattr(args, "json"):
        args.json = False
    store_path = Path(getattr(args, "store", None) or default_store_path()).expanduser()
    store_path = store_path.resolve()
    store_existed = os.path.lexists(store_path)
    missing = [folder for folder in store_path.parents if not folder.exists()]
    try:
        status: int = args.handler(args)
    except ImportFileError as error:
        sys.stderr.write(f"mdt-desk: {error}\n")
        status = EXIT_USER_ERROR
    except UserError as error:
        sys.stderr.write(f"mdt-desk: {error}\n")
        status = EXIT_USER_ERROR
    except DatabaseError as error:
        sys.stderr.write(f"mdt-desk: {_database_error_message(store_path, error)}\n")
        status = EXIT_USER_ERROR
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        return EXIT_OK
    if status == EXIT_USER_ERROR and not store_existed:
        # A refused command leaves no empty store behind where there was none.
        discard_unused_store(store_path, missing)
    return status


def _database_error_message(path: Path, error: DatabaseError) -> str:
    """Busy, full, read-only, cannot open or damaged: each cause its own message."""
    classified = store_error(path, error)
    if classified is not None:
        return str(classified)
    detail = getattr(error, "orig", None) or error
    return (
        f"MDT Desk could not use the store {path} ({detail}). Nothing more was written to "
        "it. Run `mdt-desk check` to see whether the store is intact."
    )


if __name__ == "__main__":
    sys.exit(main())
