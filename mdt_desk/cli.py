"""The ``mdt-desk`` command: the GUI with no subcommand, headless services with one.

Exit status: 0 success; 1 a check failed; 2 a user error (bad file, bad store,
bad arguments, a PIN not recognised, ``--as`` missing); 3 an import that refused some
rows; 4 the signed-in person's role does not allow what was asked (nothing was written).

Signing in. Every command that reads or changes patient records takes ``--as STAFF_ID``
and checks that person's PIN, asked for on the terminal (``getpass``) or read as one
line from standard input with ``--pin-stdin``; never from an argument or an environment
variable, where other users of the computer could read it. Until anyone on the store
has a PIN, the store is in set-up and such commands run without ``--as``, as "initial
set-up" (said on stderr). ``staff list``, ``stats``, ``check``, ``practices list`` and
the hub commands hold no patient data and never need ``--as``.
"""

import argparse
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import DatabaseError

from mdt_desk import __version__
from mdt_desk.cli_fhir import add_fhir_commands
from mdt_desk.cli_indicators import add_indicators_command
from mdt_desk.cli_store import (
    add_store_commands,
    cmd_store_encrypt,
    cmd_store_key_export,
    cmd_store_key_import,
    terminal_passphrase_prompt,
)
from mdt_desk.errors import ImportFileError, StoreDamagedError, StoreError, UserError
from mdt_desk.models.enums import Role
from mdt_desk.models.private_files import touch_private
from mdt_desk.models.store import Store, discard_unused_store, store_error
from mdt_desk.models.store_key import set_passphrase_prompt
from mdt_desk.paths import STORE_ENVIRONMENT_VARIABLE, default_store_path
from mdt_desk.services.access import AccessDeniedError, Permission
from mdt_desk.services.display import counted
from mdt_desk.services.reports import ImportReport

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_ROWS_REJECTED = 3
EXIT_NOT_ALLOWED = 4

SETUP_NOTICE = "mdt-desk: running as initial set-up (nobody on this store has a PIN yet)"

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
        return _said_if_encrypted(Store.open(path, create=create))
    sys.stderr.write(
        f"Converting the store {path} for this version of MDT Desk (a copy of the old one "
        "is kept beside it)…\n"
    )
    sys.stderr.flush()
    started = time.monotonic()
    store = Store.open(path, create=create)
    sys.stderr.write(f"Converting the store… done ({time.monotonic() - started:.1f} s).\n")
    return _said_if_encrypted(store)


def _said_if_encrypted(store: Store) -> Store:
    """Say so when opening the store encrypted it (a store from before encryption)."""
    if store.encrypted_now is not None:
        removed = len(store.encrypted_now.removed)
        sys.stderr.write(
            f"The store {store.path} was not encrypted; it is now, with its own key. "
            f"The unencrypted file{' and ' + counted(removed, 'copy', 'copies') if removed else ''}"
            " were removed. Make a sealed backup of the key with `mdt-desk store key export`."
            "\n"
        )
        sys.stderr.flush()
    return store


def _actor(store: Store) -> tuple[Any, str]:
    """Who the command's changes are by: the signed-in person (named, as the app's
    are, so a review item says who), else whoever is setting the desk up."""
    from mdt_desk.services.desk import Desk
    from mdt_desk.services.staff import setup_actor_label

    desk = Desk.for_store(store)
    return desk.actor_id, desk.actor_name or setup_actor_label()


@dataclass(frozen=True)
class _Acting:
    """Who a command acts as: a person whose PIN was checked, or initial set-up
    (``principal`` None; the journal then names the desk's signed-in person, if any,
    or the operating-system user setting the desk up)."""

    actor_id: Any
    label: str
    principal: Any = None

    def desk(self, store: Store) -> Any:
        """The desk the document and app services act through."""
        from mdt_desk.services.desk import Desk

        desk = Desk.for_store(store)
        return desk if self.principal is None else desk.signed_in_as(self.principal)


def _read_pin(args: argparse.Namespace, prompt: str) -> str:
    """A PIN from the terminal (not echoed), or the next line of standard input with
    ``--pin-stdin``. Never an argument or environment variable: others can read those."""
    import getpass

    if getattr(args, "pin_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise UserError("--pin-stdin: standard input ended before the PIN; nothing was done.")
        return line.rstrip("\r\n")
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise UserError("No PIN was given; nothing was done.") from None


def _staff_argument(raw: str) -> Any:
    """A staff id as typed: with or without dashes, in any case."""
    return _uuid_argument(raw, "staff", "mdt-desk staff list")


def _staff_name(store: Store, staff_id: Any) -> str:
    from mdt_desk.services.staff import display_staff_name, get_staff

    with store.read() as session:
        staff = get_staff(session, staff_id)
        return display_staff_name(staff.family_name, staff.given_name, staff.title)


def _in_setup(store: Store) -> bool:
    from mdt_desk.services.access import store_in_setup

    with store.read() as session:
        return store_in_setup(session)


def _check_pin(
    args: argparse.Namespace, store: Store, staff_id: Any, *, one_time_allowed: bool = False
) -> _Acting:
    """Sign ``staff_id`` in with their PIN (a wrong one: exit 2, nothing done)."""
    from mdt_desk.services.sign_in import sign_in_with_pin

    name = _staff_name(store, staff_id)
    signed = sign_in_with_pin(store, staff_id, _read_pin(args, f"PIN for {name}: "))
    if signed.must_change_pin and not one_time_allowed:
        raise UserError(
            f"{name} has a one-time PIN: choose your own first, with "
            f"`mdt-desk staff set-pin {staff_id} --as {staff_id}`. Nothing else was done."
        )
    principal = signed.principal
    return _Acting(principal.staff_id, principal.display_name, principal)


def _as_setup(args: argparse.Namespace, store: Store) -> _Acting:
    if not getattr(args, "setup_said", False):
        sys.stderr.write(SETUP_NOTICE + "\n")
        sys.stderr.flush()
        args.setup_said = True
    actor_id, label = _actor(store)
    return _Acting(actor_id, label)


def _signed_in(
    args: argparse.Namespace, store: Store, *, one_time_allowed: bool = False
) -> _Acting:
    """Who runs this command: ``--as STAFF_ID`` with their PIN, or initial set-up while
    nobody on the store has a PIN. Past set-up, a command without ``--as`` exits 2."""
    raw = getattr(args, "as_staff", None)
    setup = _in_setup(store)
    if raw:
        if setup:
            raise UserError(
                "Nobody on this store has a PIN yet, so --as cannot be checked: run the "
                "command without --as (as initial set-up), or set a PIN first with "
                "`mdt-desk staff set-pin STAFF_ID`."
            )
        return _check_pin(args, store, _staff_argument(raw), one_time_allowed=one_time_allowed)
    if setup:
        return _as_setup(args, store)
    raise UserError(
        f"`{getattr(args, 'command_name', 'mdt-desk')}` needs --as STAFF_ID: this store's "
        "staff sign in with a PIN (see `mdt-desk staff list` for ids). The PIN is asked "
        "for on the terminal, or read from standard input with --pin-stdin."
    )


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
        if unit and total:
            count = f" ({done:,} of {total:,} {unit})"
        elif unit and done:  # a step nobody can count says how long it has taken
            count = f" ({done:,} {unit})"
        else:
            count = ""
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
        acting = _signed_in(args, store)
        with store.write(acting.actor_id, acting.label) as session:
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
        acting = _signed_in(args, store)
        with store.write(acting.actor_id, acting.label) as session:
            named = name_locality(session, args.code, args.name)
    if args.json:
        _emit_json(args.out, {"code": named.code, "name": named.name, "title": named.title})
    else:
        _write(args.out, f"Locality {named.code} is now shown as “{named.title}”.")
    return EXIT_OK


def _cmd_practices_list_sizes(args: argparse.Namespace) -> int:
    from mdt_desk.services.list_sizes import import_list_sizes

    progress = _progress(args, _import_labels(args.file, "list sizes"))
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.write(acting.actor_id, acting.label) as session:
            report = import_list_sizes(session, Path(args.file), progress)
    return _report_import(args, report, "Practice list sizes")


def _cmd_survey_import(args: argparse.Namespace) -> int:
    from mdt_desk.services.experience import import_experience_csv

    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.write(acting.actor_id, acting.label) as session:
            report = import_experience_csv(session, Path(args.file))
    return _report_import(args, report, "Survey answers")


def _cmd_patients_import(args: argparse.Namespace) -> int:
    from mdt_desk.services.patient_import import import_patients_file, unfinished_imports

    progress = _progress(args, _import_labels(args.file, "patients"))
    with _open_store(args) as store:
        acting = _signed_in(args, store)
        for earlier in unfinished_imports(store):
            sys.stderr.write(f"mdt-desk: {earlier.message()}\n")
        report = import_patients_file(
            store,
            Path(args.file),
            actor_id=acting.actor_id,
            actor_label=acting.label,
            progress=progress,
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
            facts = [", ".join(member.roles) or "no role"]
            facts.append("PIN set" if member.pin_set else "no PIN")
            if member.left_on is not None:
                facts.append(f"leaves {member.left_on.isoformat()}")
            _write(
                args.out,
                f"{marker} {member.id}  {member.display_name}  ({member.profession.value}; "
                f"{'; '.join(facts)})  " + " ".join(member.practice_codes),
            )
    return EXIT_OK


def _cmd_staff_add(args: argparse.Namespace) -> int:
    from mdt_desk.services.access import role_from_text
    from mdt_desk.services.staff import add_staff, default_roles, sign_in

    chosen = {role_from_text(text) for text in args.role}
    with _open_store(args) as store:
        acting = _signed_in(args, store)
        if args.sign_in and acting.principal is not None:
            raise UserError(
                "--sign-in works only in initial set-up: on this store people sign in "
                "with their PIN (`mdt-desk staff set-pin STAFF_ID` gives them one)."
            )
        with store.write(acting.actor_id, acting.label) as session:
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
                roles=chosen or default_roles(session),
            )
        if args.sign_in:
            sign_in(store, member.id)
    if args.json:
        _emit_json(args.out, asdict(member))
    else:
        _write(
            args.out,
            f"Added {member.display_name} ({member.id}), roles: {', '.join(member.roles)}.",
        )
    return EXIT_OK


def _cmd_staff_sign_in(args: argparse.Namespace) -> int:
    from mdt_desk.services.staff import sign_in

    staff_id = _staff_argument(args.staff_id)
    with _open_store(args, create=False) as store:
        if _in_setup(store):
            name = sign_in(store, staff_id).display_name
        else:
            name = _check_pin(args, store, staff_id, one_time_allowed=True).label
    _write(args.out, f"Signed in as {name}.")
    return EXIT_OK


def _read_new_pin(args: argparse.Namespace, name: str) -> str:
    """The new PIN: typed twice on the terminal, or the next line of standard input."""
    first = _read_pin(args, f"New PIN for {name}: ")
    if not getattr(args, "pin_stdin", False) and _read_pin(args, "The new PIN again: ") != first:
        raise UserError("The two PINs typed differ; nothing was changed.")
    return first


def _as_target(args: argparse.Namespace, target: Any) -> bool:
    """Whether ``--as`` names ``target``: someone changing their own (one-time) PIN."""
    raw = getattr(args, "as_staff", None)
    return isinstance(raw, str) and bool(raw) and _staff_argument(raw) == target


def _cmd_staff_set_pin(args: argparse.Namespace) -> int:
    from mdt_desk.services.sign_in import check_pin_rules, set_pin

    target = _staff_argument(args.staff_id)
    with _open_store(args, create=False) as store:
        acting = _signed_in(
            args,
            store,
            one_time_allowed=_as_target(args, target),
        )
        name = _staff_name(store, target)
        if acting.principal is not None and acting.actor_id != target:
            from mdt_desk.services.access import Permission

            # Refused before the new PIN is typed, not after.
            acting.principal.require(Permission.MANAGE_STAFF)
        pin = check_pin_rules(_read_new_pin(args, name))
        with store.write(acting.actor_id, acting.label) as session:
            changed = set_pin(session, target, pin)
    _write(args.out, changed)
    return EXIT_OK


def _cmd_staff_leave(args: argparse.Namespace) -> int:
    from mdt_desk.services.sign_in import record_leaver

    staff_id = _staff_argument(args.staff_id)
    last_day = _date_argument("--on", args.on)
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.write(acting.actor_id, acting.label) as session:
            changed = record_leaver(session, staff_id, last_day)
    _write(args.out, changed)
    return EXIT_OK


def _cmd_actions_list(args: argparse.Namespace) -> int:
    from mdt_desk.services.actions import list_actions
    from mdt_desk.services.display import cui_date, label
    from mdt_desk.services.staff import get_staff
    from mdt_desk.services.validation import format_nhs_number

    owner_id = _uuid_argument(args.owner, "staff", "mdt-desk staff list") if args.owner else None
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.read(acting.actor_id) as session:
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
    from mdt_desk.services.demo import demo_practice_count, generate_demo
    from mdt_desk.services.sign_in import DEMO_PIN

    if args.patients < 1:
        raise UserError("--patients must be at least 1.")
    if args.practices is not None:
        try:
            demo_practice_count(args.patients, args.practices)
        except UserError as error:  # before the store is opened: nothing is made
            raise UserError(f"--practices: {error}") from error
    started = time.perf_counter()
    progress = _progress(args, {"making": ("Making demo patients", "patients")})
    with _open_store(args) as store:
        report = generate_demo(
            store,
            patients=args.patients,
            seed=args.seed,
            progress=None if progress is None else functools.partial(progress, "making"),
            practices=args.practices,
        )
    seconds = time.perf_counter() - started
    if args.json:
        _emit_json(args.out, {**asdict(report), "seconds": round(seconds, 2), "pin": DEMO_PIN})
    else:
        _write(
            args.out,
            f"Demo caseload: {report.patients} patients in {report.practices} practices, "
            f"{report.staff} staff, {report.cases} cases, {report.meetings} meetings "
            f"({seconds:.1f} s). Signed in as {report.signed_in}.",
        )
        _write(args.out, f"Every demo staff member's PIN is {DEMO_PIN}.")
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
    from mdt_desk.models.enums import AccessAction
    from mdt_desk.services import access_log
    from mdt_desk.services.access import Permission, principal_of
    from mdt_desk.services.export import COUNTING, export_json, export_tables

    # One phase a table, counted in rows (count(*) of each, taken up front).
    labels = {table: (f"Exporting {table}", "rows") for table, _key in export_tables()}
    progress = _progress(args, {COUNTING: ("Counting the rows to export", ""), **labels})
    export = functools.partial(export_json, progress=progress)
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        # Logged before the export is written: the log may hold an export that then
        # failed, never an export it does not hold. A whole-store export is about no
        # single person.
        with store.write(acting.actor_id, acting.label) as session:
            principal_of(session).require(Permission.EXPORT)
            access_log.append(session, AccessAction.EXPORT, reason=_purpose(args))
        _export_to(args, store, acting, export)
    return EXIT_OK


def _purpose(args: argparse.Namespace) -> str:
    from mdt_desk.services.access_log import stated

    return stated(getattr(args, "purpose", None) or "")


def _export_to(args: argparse.Namespace, store: Store, acting: _Acting, export: Any) -> None:
    with store.read(acting.actor_id) as session:
        if args.output and args.output != "-":
            target = Path(args.output)
            temporary = target.with_name(target.name + ".part")
            try:
                touch_private(temporary)  # 0600 before the first row: it is every record
                with temporary.open("w", encoding="utf-8", newline="\n") as handle:
                    export(session, handle)
                temporary.replace(target)
            except BaseException as error:
                # A half-written export is still people's records in the clear: gone at once.
                temporary.unlink(missing_ok=True)
                if isinstance(error, OSError):
                    raise UserError(f"Cannot write {target}: {error.strerror}.") from error
                raise
        else:
            export(session, args.out)


def _cmd_check(args: argparse.Namespace) -> int:
    from mdt_desk.services import check
    from mdt_desk.services.check import CheckReport, CheckResult, check_store

    progress = _progress(
        args,
        {
            check.INTEGRITY: ("Checking the file's integrity", "s so far"),
            check.FOREIGN_KEYS: ("Checking foreign keys", "tables"),
            check.TRIGGERS: ("Checking the journal triggers", "tables"),
            check.CHAIN: ("Checking the journal chain", "transactions"),
            check.SEALED_CONTENT: ("Checking this desk's sealed changes", "changes"),
            check.JOURNAL: ("Comparing the records with the journal", "columns"),
        },
    )
    try:
        opened = _open_store(args, create=False)
    except StoreDamagedError as error:  # a damaged store is a failed check, not a bad argument
        report = CheckReport((CheckResult("store", False, str(error)),))
    else:
        with opened as store:
            report = check_store(store, progress)
    if args.json:
        _emit_json(args.out, asdict(report))
    else:
        for item in report.checks:
            _write(args.out, f"{'ok  ' if item.passed else 'FAIL'} {item.name}: {item.detail}")
    return EXIT_OK if report.passed else EXIT_CHECK_FAILED


def _uuid_argument(raw: str, what: str, hint: str) -> Any:
    import uuid

    try:
        return uuid.UUID(raw.strip())
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

    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.read(acting.actor_id) as session:
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
        acting = _signed_in(args, store)
        chair_id = _uuid_argument(args.chair, "staff", hint) if args.chair else acting.actor_id
        with store.write(acting.actor_id, acting.label) as session:
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
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.read(acting.actor_id) as session:
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


def _pdf_target(args: argparse.Namespace) -> Path:
    """Where ``--out`` says to write, checked before anyone is asked for a PIN."""
    target = Path(args.out_file).expanduser()
    if target.is_dir():
        raise UserError(f"--out {target} is a folder; give the path of the PDF file to write.")
    if not target.parent.exists():
        raise UserError(f"There is no folder {target.parent} to write {target.name} into.")
    return target


def _write_pdf(args: argparse.Namespace, request: Any, signed_in: Any = None) -> int:
    """Produce a document (recording the print, and in the access log) and write it to
    ``--out``. ``signed_in(store)`` gives the request once the person is signed in."""
    import os
    import tempfile

    from mdt_desk import documents

    target = _pdf_target(args)
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        if signed_in is not None:
            request = signed_in(store, acting)
        made = documents.produce(acting.desk(store), request)
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

    def request(store: Store, acting: _Acting) -> DocumentRequest:
        return DocumentRequest(
            DocumentKind.CARE_PLAN,
            patient_id=_patient_by_nhs(store, acting, args.nhs),
            large_print=args.large_print,
            purpose=_purpose(args),
        )

    return _write_pdf(args, None, request)


def _patient_by_nhs(store: Store, acting: _Acting, nhs: str) -> Any:
    from mdt_desk.services.patients import find_by_nhs_number
    from mdt_desk.services.validation import format_nhs_number

    with store.read(acting.actor_id) as session:
        patient = find_by_nhs_number(session, nhs)
    if patient is None:
        raise UserError(
            f"Nobody with NHS number {format_nhs_number(nhs)} is registered in this store."
        )
    return patient.id


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

        def for_practice(store: Store, acting: _Acting) -> DocumentRequest:
            with store.read(acting.actor_id) as session:
                practice_id = _practice_argument(session, args.practice)
            return DocumentRequest(DocumentKind.CASELOAD_LIST, practice_id=practice_id)

        return _write_pdf(args, None, for_practice)
    staff_id = _uuid_argument(args.coordinator, "staff", "mdt-desk staff list")
    return _write_pdf(args, DocumentRequest(DocumentKind.CASELOAD_LIST, coordinator_id=staff_id))


def _purpose_option(parser: argparse.ArgumentParser, done: str) -> None:
    parser.add_argument(
        "--purpose",
        metavar="TEXT",
        help=f"why it is {done}, for the access log (default: “not stated”)",
    )


def _sign_in_options() -> argparse.ArgumentParser:
    """``--as STAFF_ID`` and ``--pin-stdin``: who runs a command that reads or changes
    patient records. Defaults suppressed, so a subcommand does not undo the group's."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--as",
        dest="as_staff",
        metavar="STAFF_ID",
        default=argparse.SUPPRESS,
        help="who is doing this (an id from `mdt-desk staff list`, with or without "
        "dashes); their PIN is asked for on the terminal. Not needed while nobody on "
        "the store has a PIN (initial set-up)",
    )
    options.add_argument(
        "--pin-stdin",
        action="store_true",
        default=argparse.SUPPRESS,
        help="read the PIN from the first line of standard input instead of the terminal "
        "(never give a PIN as an argument)",
    )
    return options


def _add_indicator_data_commands(
    commands: Any, practices_commands: Any, command: Callable[..., argparse.ArgumentParser]
) -> None:
    """``practices list-sizes FILE`` and ``survey import FILE``: the population and the
    survey answers of the indicators."""
    sub = command(
        practices_commands,
        "list-sizes",
        _cmd_practices_list_sizes,
        "import registered list sizes by 5-year age band from NHS Digital's 'Patients "
        "Registered at a GP Practice' file (gp-reg-pat-prac-quin-age.csv); only the "
        "practices in this store are kept",
        signs_in=True,
    )
    sub.add_argument("file", help="the gp-reg-pat-prac-quin-age.csv file")
    survey = commands.add_parser("survey", help="the experience survey")
    survey_commands = survey.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        survey_commands,
        "import",
        _cmd_survey_import,
        "import experience survey answers from a CSV file (all or nothing: a file with "
        "any bad row imports none)",
        signs_in=True,
    )
    sub.add_argument(
        "file",
        help="the CSV file: columns nhs_number, statement, agreement (1-5), answered_on, "
        "collected_how, by_proxy",
    )


def _add_document_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], agenda: Any
) -> None:
    """``careplan``, ``agenda --meeting ID --out``, ``minutes`` and ``caseload`` PDFs."""
    out_help = "the PDF file to write (replaced if it exists)"
    sub = command(
        commands,
        "careplan",
        _cmd_careplan,
        "print a person's care plan to a PDF file",
        signs_in=True,
    )
    sub.add_argument("--nhs", metavar="NUMBER", required=True, help="the person's NHS number")
    sub.add_argument("--out", dest="out_file", metavar="FILE.pdf", required=True, help=out_help)
    sub.add_argument("--large-print", action="store_true", help="16 pt text and larger")
    _purpose_option(sub, "printed")
    agenda.add_argument("--meeting", metavar="ID", help="see `mdt-desk meetings list`")
    agenda.add_argument("--out", dest="out_file", metavar="FILE.pdf", help=out_help)
    agenda.add_argument(
        "--initials", action="store_true", help="people by initials only, for circulation"
    )
    agenda.add_argument("--json", action="store_true", help="print the result as JSON")
    agenda.set_defaults(handler=_cmd_agenda_pdf)
    sub = command(
        commands,
        "minutes",
        _cmd_minutes,
        "print a meeting's minutes to a PDF file",
        signs_in=True,
    )
    sub.add_argument("--meeting", metavar="ID", required=True, help="see `mdt-desk meetings list`")
    sub.add_argument("--out", dest="out_file", metavar="FILE.pdf", required=True, help=out_help)
    sub = command(
        commands,
        "caseload",
        _cmd_caseload_pdf,
        "print a practice's or coordinator's caseload",
        signs_in=True,
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
                "desk_group": info.desk_group,
            },
        )
    else:
        _write(
            args.out,
            f"The team hub at {redacted(args.url)} is ready ({info.dialect}, protocol "
            f"{info.protocol_version}, hub schema {info.schema_version}).",
        )
        if info.desk_group:
            _write(
                args.out,
                f"Desks log in as members of {info.desk_group}, which may only add to the "
                "log and read it: make one login per desk with "
                "`mdt-desk hub add-desk URL NAME`.",
            )
    return EXIT_OK


def _cmd_hub_add_desk(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from mdt_desk.sync import credentials
    from mdt_desk.sync.hub import HubError, read_hub_info, redacted, without_password
    from mdt_desk.sync.hub_roles import DeskCeiling, add_desk_login, check_desk_name

    check_desk_name(args.name)
    practices = _ceiling_codes(args.practices)
    if make_url_password(args.url) is None and make_url(args.url).get_backend_name() == "sqlite":
        raise HubError(
            "Desk logins are a PostgreSQL hub feature: a SQLite hub is one file on one "
            "computer, with no logins; protect the file itself."
        )
    engine = _hub_engine_for(args.url)
    try:
        read_hub_info(engine)  # a database that is not a hub is refused before any change
        login = add_desk_login(engine, args.name, practices)
    finally:
        engine.dispose()
    reads = DeskCeiling(login.name, login.practices).describe()
    desk_url = make_url(args.url).set(username=login.name, password=None)
    desk_address = without_password(desk_url)
    account = credentials.account(desk_address)
    if args.json:
        _emit_json(
            args.out,
            {
                "hub": redacted(args.url),
                "login": login.name,
                "group": login.group,
                "password": login.password,
                "desk_address": desk_address,
                "keyring_service": credentials.SERVICE,
                "keyring_account": account,
                "practices": list(login.practices) or None,
            },
        )
        return EXIT_OK
    for line in (
        f"The desk login {login.name} is made, in the group {login.group}: it may add to "
        "the hub's log and read it, never change or delete it.",
        f"It reads {reads}; change that with "
        f"`mdt-desk hub desk-practices URL {login.name} CODE[,CODE…]|all`.",
        "Its password (shown this once, kept nowhere; a new login is the way to replace it):",
        f"  {login.password}",
        "On the desk, keep it in the keyring (paste it when asked):",
        f"  mdt-desk hub password {desk_address}",
        f'  or: keyring set "{credentials.SERVICE}" "{account}"',
        "then sync with:",
        f"  mdt-desk sync --hub {desk_address}",
    ):
        _write(args.out, line)
    if desk_url.query.get("sslrootcert"):
        _write(args.out, "(Give sslrootcert= the CA file's path on the desk, if it differs.)")
    return EXIT_OK


def _ceiling_codes(given: str | None) -> list[str] | None:
    """``--practices`` of a desk login: ODS codes, or None (``all``, or not given)."""
    from mdt_desk.sync.desk_scope import parse_practices

    if given is None:
        return None
    chosen = parse_practices(given)
    return None if chosen.all_practices else list(chosen.codes)


def _cmd_hub_desk_practices(args: argparse.Namespace) -> int:
    from mdt_desk.sync.hub import read_hub_info, redacted
    from mdt_desk.sync.hub_roles import check_desk_name, set_desk_practices

    check_desk_name(args.name)
    codes = _ceiling_codes(args.practices)
    engine = _hub_engine_for(args.url)
    try:
        read_hub_info(engine)
        ceiling = set_desk_practices(engine, args.name, codes)
    finally:
        engine.dispose()
    if args.json:
        _emit_json(
            args.out,
            {
                "hub": redacted(args.url),
                "login": ceiling.name,
                "practices": list(ceiling.codes) or None,
            },
        )
        return EXIT_OK
    _write(
        args.out,
        f"The desk login {ceiling.name} now reads {ceiling.describe()} on the hub "
        f"{redacted(args.url)}. Its desk's own scope is set on the desk "
        "(`mdt-desk sync --practices`), within these practices.",
    )
    return EXIT_OK


def _cmd_hub_reseed(args: argparse.Namespace) -> int:
    from mdt_desk.services.access import Permission
    from mdt_desk.sync.hub import without_password
    from mdt_desk.sync.reseed import reseed_hub

    with _open_store(args) as store:
        acting = _signed_in(args, store)
        if acting.principal is not None:
            acting.principal.require(Permission.HUB_SETTINGS)
        engine = _hub_engine_for(args.url)
        try:
            done = reseed_hub(
                store,
                engine,
                address=without_password(args.url),
                label=acting.label,
                progress=None if args.json else _SyncProgress(sys.stderr),
            )
        finally:
            engine.dispose()
    if args.json:
        _emit_json(
            args.out,
            {
                "hub_id": done.hub_id,
                "identity_restored": done.identity_restored,
                **done.sync.as_dict(),
            },
        )
        return EXIT_OK
    _write(
        args.out,
        f"The hub at {without_password(args.url)} is this team's hub again: this desk sent "
        f"{done.sync.edits_sent:,} edits ({done.sync.pushed:,} changes) to it.",
    )
    _write(
        args.out,
        "Every other desk sends what the hub lacks at its next sync; sync each desk, "
        "those that may have been offline longest first.",
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
        from mdt_desk.services.progress import TAKING_IN

        now = self._clock()
        if now - self._last < 1.0:
            return
        self._last = now
        verb = "Sending" if phase == "push" else "Receiving"
        share = f" {100 * done // total}%" if total else ""
        # A scoped desk taking in its practices' records counts people and meetings.
        unit = "records" if phase == TAKING_IN else "changes"
        self._stream.write(f"{verb}{share} ({done:,} of {total:,} {unit})\n")
        self._stream.flush()


def _cmd_sync(args: argparse.Namespace) -> int:
    from mdt_desk.sync import desk_scope
    from mdt_desk.sync.client import META_HUB_ADDRESS, sync_once
    from mdt_desk.sync.hub import without_password

    with _open_store(args, create=True) as store:
        url = args.hub or store.get_meta(META_HUB_ADDRESS)
        if not url:
            raise UserError("Give the team hub's address with --hub URL.")
        # A new desk joins in set-up (the hub's credentials are the gate); a --as given
        # there is checked once that person's record has arrived (contracts #2).
        joining = _in_setup(store)
        acting = _as_setup(args, store) if joining else _signed_in(args, store)
        wanted = desk_scope.parse_practices(args.practices) if args.practices else None
        if wanted is not None and acting.principal is not None:
            acting.principal.require(Permission.HUB_SETTINGS)  # an administrator's choice
        engine = _hub_engine_for(url)
        try:
            if wanted is not None:
                desk_scope.change_scope(store, engine, wanted)
            elif not joining and acting.actor_id is not None:
                desk_scope.note_signed_in(store, _hex_id(acting.actor_id))
            report = sync_once(
                store,
                engine,
                address=without_password(url),
                label=acting.label,
                progress=None if args.json else _SyncProgress(sys.stderr),
            )
            if joining and getattr(args, "as_staff", None):
                _joined_as(args, store, engine, without_password(url), report)
        finally:
            engine.dispose()
    if args.json:
        payload: dict[str, Any] = dict(report.as_dict())
        if report.alarms:
            payload["alarms"] = report.alarms
        _emit_json(args.out, payload)
    else:
        _write(args.out, report.describe())
        for message in report.messages:
            _write(args.out, message)
        for alarm in dict.fromkeys(report.alarms):  # once each, in the order raised
            # A record that failed its desk's hash chain: set aside, never silently.
            _write(args.out, f"ALARM: records set aside, they fail the tamper check: {alarm}")
        if report.alarms:
            _write(args.out, "Tell your administrator: `mdt-desk hub verify URL` names each break.")
    return EXIT_OK


def _joined_as(
    args: argparse.Namespace, store: Store, engine: Any, address: str, report: Any
) -> None:
    """A new desk joined with --as: that person's PIN is checked now their record has
    arrived, and the practices they cover come in at once (a second, short pull)."""
    from mdt_desk.sync import desk_scope
    from mdt_desk.sync.client import sync_once

    person = _signed_in(args, store)  # a wrong PIN exits 2; the pulled records stay
    if not desk_scope.desk_scope(store).follow_staff or person.actor_id is None:
        return
    desk_scope.note_signed_in(store, _hex_id(person.actor_id))
    more = sync_once(store, engine, address=address, label=person.label)
    report.pulled += more.pulled
    report.edits_received += more.edits_received
    report.applied += more.applied
    report.conflicts = more.conflicts


def _hex_id(value: Any) -> str:
    return value.hex if hasattr(value, "hex") and not isinstance(value, str) else str(value)


def _cmd_hub_verify(args: argparse.Namespace) -> int:
    from mdt_desk.sync.hub import redacted
    from mdt_desk.sync.verify import verify_hub

    engine = _hub_engine_for(args.url)
    try:
        result = verify_hub(engine)
    finally:
        engine.dispose()
    breaks = [
        {
            "desk": result.name(found.origin),
            "origin": found.origin,
            "sequence": found.origin_seq,
            "record": found.record,
            "reason": found.reason,
        }
        for found in result.breaks
    ]
    if args.json:
        _emit_json(
            args.out,
            {
                "hub": redacted(args.url),
                "holds": result.holds,
                "sealed_transactions": result.sealed,
                "changes_before_seals": result.before_seals,
                "unsealed_from_older_desks": result.from_older_desks,
                "breaks": breaks,
            },
        )
    else:
        for found in breaks:
            _write(
                args.out,
                f"BREAK {found['desk']} (desk {found['origin']}), sequence {found['sequence']}"
                f" ({found['record']}): {found['reason']}",
            )
        older = (
            f"; {result.from_older_desks} unsealed changes from desks of an earlier version"
            if result.from_older_desks
            else ""
        )
        before = (
            f"; {result.before_seals} changes from before the hub kept seals"
            if result.before_seals
            else ""
        )
        verdict = (
            "every chain holds"
            if result.holds
            else f"{len(breaks)} {'break' if len(breaks) == 1 else 'breaks'}"
        )
        _write(
            args.out,
            f"The team hub {redacted(args.url)}: {verdict} ({result.sealed} sealed "
            f"transactions{before}{older}).",
        )
    return EXIT_OK if result.holds else EXIT_CHECK_FAILED


def _cmd_hub_status(args: argparse.Namespace) -> int:
    from mdt_desk.sync.hub import redacted
    from mdt_desk.sync.status import (
        covers_text,
        moment_text,
        read_hub_status,
        size_text,
        status_as_json,
    )

    engine = _hub_engine_for(args.url)
    try:
        status = read_hub_status(engine)
    finally:
        engine.dispose()
    if args.json:
        _emit_json(args.out, {"hub": redacted(args.url), **status_as_json(status)})
        return EXIT_OK
    _write(
        args.out,
        f"The team hub {redacted(args.url)}: {counted(status.changes, 'change')} in the log "
        f"(through {status.last_seq})"
        f"{'' if status.log_bytes is None else ', ' + size_text(status.log_bytes) + ' on disk'}"
        f"; {counted(len(status.desks), 'desk')}.",
    )
    if status.desks:
        header = ("Desk", "Id", "Login", "Covers", "Last seen", "Behind", "Pulled through")
        rows = [
            (
                desk.label or "(unnamed)",
                desk.site_id[:8],
                desk.login or "-",
                covers_text(desk),
                moment_text(desk.last_seen),
                str(desk.behind),
                str(desk.pulled_through),
            )
            for desk in status.desks
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            cells = [
                cell.rjust(width) if i >= 5 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            _write(args.out, "  ".join(cells).rstrip())
    if not status.records_pulls:
        _write(
            args.out,
            "This hub does not record when desks pull yet: run `mdt-desk hub init` on it "
            "to show that too.",
        )
    return EXIT_OK


def _cmd_conflicts(args: argparse.Namespace) -> int:
    from mdt_desk.services.review import list_open_items

    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        with store.read(acting.actor_id) as session:
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


def _cmd_access_log(args: argparse.Namespace) -> int:
    from mdt_desk.services.access_log import entries_for
    from mdt_desk.services.display import cui_time, label

    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        patient_id = _patient_by_nhs(store, acting, args.nhs)
        with store.read(acting.actor_id) as session:
            entries = entries_for(session, patient_id)
    if args.json:
        _emit_json(
            args.out,
            [
                {
                    "at": entry.at.isoformat(),
                    "staff_id": str(entry.staff_id) if entry.staff_id else None,
                    "staff_name": entry.staff_name,
                    "action": entry.action,
                    "desk": entry.desk,
                    "reason": entry.reason,
                }
                for entry in entries
            ],
        )
        return EXIT_OK
    for entry in entries:
        why = f": {entry.reason}" if entry.reason else ""
        _write(
            args.out,
            f"{cui_time(entry.at)}  {label(entry.action):<12} "
            f"{entry.staff_name or 'initial set-up'} on {entry.desk}{why}",
        )
    _write(args.out, f"{counted(len(entries), 'entry', 'entries')}, newest first.")
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
        hub_commands,
        "add-desk",
        _cmd_hub_add_desk,
        "make a PostgreSQL login for one desk, allowed only to add to the hub's log and "
        "read it (prints its password once)",
    )
    sub.add_argument("url", help="the hub, with an administrator's login (no password)")
    sub.add_argument("name", help="the desk login's name, e.g. ward3_desk")
    sub.add_argument(
        "--practices",
        metavar="CODE[,CODE…]",
        help="the practices whose people the login may read, by ODS code (the hub enforces "
        "it); default: every practice",
    )
    sub = command(
        hub_commands,
        "desk-practices",
        _cmd_hub_desk_practices,
        "change the practices a desk login may read (the hub enforces it)",
    )
    sub.add_argument("url", help="the hub, with an administrator's login (no password)")
    sub.add_argument("name", help="the desk login's name")
    sub.add_argument(
        "practices", metavar="CODE[,CODE…]|all", help="ODS codes, or 'all' for every practice"
    )
    sub = command(
        hub_commands,
        "verify",
        _cmd_hub_verify,
        "walk the hub's whole log: exit 0 when every desk's hash chain holds, 1 naming each "
        "break (desk, sequence, record)",
    )
    sub.add_argument("url", help="the hub, as for `hub init` (no password)")
    sub = command(
        hub_commands,
        "status",
        _cmd_hub_status,
        "the hub's desks: what each covers, when each was last seen and how far behind it "
        "is; and the size of the log",
    )
    sub.add_argument("url", help="the hub, as for `hub init` (no password)")
    sub = command(
        hub_commands,
        "reseed",
        _cmd_hub_reseed,
        "rebuild a lost team hub from this desk: a new, empty hub takes the team hub's "
        "identity and this desk's changes; every other desk then sends what it lacks",
        signs_in=True,
    )
    sub.add_argument("url", help="the new, empty hub, as for `hub init` (no password)")
    sub = command(
        commands,
        "sync",
        _cmd_sync,
        "send this desk's changes to the team hub and bring in everyone else's",
        signs_in=True,
    )
    sub.add_argument("--hub", metavar="URL", help="the hub (default: the one this desk uses)")
    sub.add_argument(
        "--practices",
        metavar="CODE[,CODE…]",
        help="the practices whose people this desk holds, by ODS code (or 'all'); set at "
        "join or changed later (default: the practices its signed-in staff cover)",
    )
    command(
        commands,
        "conflicts",
        _cmd_conflicts,
        "changes that need a person to review",
        signs_in=True,
    )
    sub = command(
        commands,
        "access-log",
        _cmd_access_log,
        "who has opened, printed, exported or broken the glass on a person's record",
        signs_in=True,
    )
    sub.add_argument("--nhs", metavar="NUMBER", required=True, help="the person's NHS number")


def _cmd_gui(args: argparse.Namespace) -> int:
    from mdt_desk.startup import run_desk

    return run_desk(Path(args.store) if args.store else default_store_path())


def _add_meeting_commands(
    commands: Any, command: Callable[..., argparse.ArgumentParser], group_options: list[Any]
) -> None:
    """``meetings list|schedule`` and ``agenda propose`` (``agenda`` is a group)."""
    meetings = commands.add_parser("meetings", help="MDT meetings")
    meetings_commands = meetings.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        meetings_commands,
        "list",
        _cmd_meetings_list,
        "list meetings in date order, earliest first",
        signs_in=True,
    )
    sub.add_argument("--practice", metavar="CODE", help="only those this practice hosts or joins")
    sub = command(
        meetings_commands,
        "schedule",
        _cmd_meetings_schedule,
        "schedule a meeting, or a series of them (Europe/London time)",
        signs_in=True,
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
        parents=group_options,
    )
    agenda.set_defaults(command_name=agenda.prog)
    agenda_commands = agenda.add_subparsers(title="commands", metavar="COMMAND")
    sub = command(
        agenda_commands,
        "propose",
        _cmd_agenda_propose,
        "the cases proposed for a meeting, and why",
        signs_in=True,
    )
    sub.add_argument("--meeting", metavar="ID", required=True, help="see `mdt-desk meetings list`")
    _add_document_commands(commands, command, agenda)


def _add_staff_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="team members and who uses this desk")
    staff_commands = staff.add_subparsers(title="commands", metavar="COMMAND", required=True)
    command(staff_commands, "list", _cmd_staff_list, "list the team (* marks who is signed in)")
    sub = command(staff_commands, "add", _cmd_staff_add, "add a team member", signs_in=True)
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
    sub.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role (repeat for several): "
        + ", ".join(role.value for role in Role)
        + "; default team_member, and care_coordinator and team_administrator for the "
        "first person on a new store",
    )
    sub.add_argument(
        "--sign-in", action="store_true", help="sign this desk in as them (initial set-up only)"
    )
    sub = command(
        staff_commands,
        "sign-in",
        _cmd_staff_sign_in,
        "sign this desk in as a staff member (with their PIN, once anyone has one)",
        reports=False,
    )
    sub.add_argument("staff_id", help="the staff id shown by `mdt-desk staff list`")
    sub.add_argument(
        "--pin-stdin",
        action="store_true",
        help="read the PIN from the first line of standard input instead of the terminal",
    )
    sub = command(
        staff_commands,
        "set-pin",
        _cmd_staff_set_pin,
        "set or change a PIN: your own, or (as team administrator) a one-time PIN for "
        "someone, which they change at their next sign-in",
        reports=False,
        signs_in=True,
    )
    sub.description = (
        (sub.description or "")
        + ". The new PIN is asked for twice on the terminal. With --pin-stdin, standard "
        "input gives the PINs one a line: first the PIN of the person given with --as, "
        "then the new PIN (in initial set-up, without --as: the new PIN only)."
    )
    sub.add_argument("staff_id", help="whose PIN (see `mdt-desk staff list`)")
    sub = command(
        staff_commands,
        "leave",
        _cmd_staff_leave,
        "record a leaver's last day: after it they cannot sign in on any desk",
        reports=False,
        signs_in=True,
    )
    sub.add_argument("staff_id", help="who leaves (see `mdt-desk staff list`)")
    sub.add_argument(
        "--on", metavar="DATE", required=True, help="their last day, e.g. 2027-07-14 or today"
    )


def _add_action_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    actions = commands.add_parser("actions", help="actions across every case")
    actions_commands = actions.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        actions_commands,
        "list",
        _cmd_actions_list,
        "list actions still to do (overdue first), across every case",
        signs_in=True,
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
    sign_in_option = _sign_in_options()

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
        signs_in: bool = False,
    ) -> argparse.ArgumentParser:
        parents = [store_option, json_option] if reports else [store_option]
        if signs_in:
            parents.append(sign_in_option)
        sub: argparse.ArgumentParser = parent.add_parser(
            name, help=help_text, description=help_text, parents=parents
        )
        sub.set_defaults(handler=handler, command_name=sub.prog)
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
        signs_in=True,
    )
    sub.add_argument("file", help="the epraccur.csv file")
    sub = command(practices_commands, "list", _cmd_practices_list, "list practices")
    sub.add_argument("--locality", help="only the practices of this commissioner code")
    sub = command(
        practices_commands,
        "name-locality",
        _cmd_practices_name_locality,
        "give a locality (the practices of one commissioner code) a name; empty removes it",
        signs_in=True,
    )
    sub.add_argument("code", help="the locality's commissioner code, e.g. 15E")
    sub.add_argument("name", help="the name the team uses, e.g. 'Norwich North'")
    _add_indicator_data_commands(commands, practices_commands, command)

    patients = commands.add_parser("patients", help="patients registered with the practices")
    patients_commands = patients.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        patients_commands,
        "import",
        _cmd_patients_import,
        "import a patient list exported from a practice search (CSV)",
        signs_in=True,
    )
    sub.add_argument(
        "file", help="the CSV file (columns: see docs/patient-import.md or the README)"
    )

    _add_staff_commands(commands, command)
    _add_action_commands(commands, command)

    sub = command(commands, "demo", _cmd_demo, "fill the store with a synthetic demo caseload")
    sub.add_argument("--patients", type=int, default=2000, help="how many patients (default 2000)")
    sub.add_argument("--seed", type=int, default=1, help="random seed (same seed, same people)")
    sub.add_argument(
        "--practices",
        type=int,
        metavar="K",
        help="exactly K practices (default: one per 200 patients, at least 14; "
        "fewer practices make bigger ones, e.g. 100000 patients in 14 for a stress test)",
    )

    _add_meeting_commands(commands, command, [store_option, sign_in_option])

    _add_sync_commands(commands, command)

    command(commands, "stats", _cmd_stats, "counts of practices, patients, cases, actions")

    add_indicators_command(commands, command)

    add_fhir_commands(commands, command)

    sub = command(
        commands,
        "export",
        _cmd_export,
        "write the whole store in a stable, documented order",
        reports=False,
        signs_in=True,
    )
    sub.add_argument("--format", choices=["json"], default="json")
    sub.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of the screen")
    _purpose_option(sub, "exported")
    sub.set_defaults(json=False)  # no --json (the export is JSON): progress on stderr

    command(commands, "check", _cmd_check, "check the store: integrity, keys, journal")
    add_store_commands(
        commands,
        command,
        {
            "encrypt": _cmd_store_encrypt,
            "export": _cmd_store_key_export,
            "import": _cmd_store_key_import,
        },
    )
    return parser


def _store_path(args: argparse.Namespace) -> Path:
    return Path(args.store or default_store_path()).expanduser().resolve()


def _cmd_store_encrypt(args: argparse.Namespace) -> int:
    return cmd_store_encrypt(args, _store_path(args), _write)


def _cmd_store_key_export(args: argparse.Namespace) -> int:
    with _open_store(args, create=False) as store:
        acting = _signed_in(args, store)
        return cmd_store_key_export(args, store, acting.principal, _write)


def _cmd_store_key_import(args: argparse.Namespace) -> int:
    return cmd_store_key_import(args, _store_path(args), _write)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run ``mdt-desk``; returns the exit status."""
    # Defence in depth: whatever this process or a library creates (a file we forgot, a
    # driver's side file) is its owner's alone. Exports, PDFs and the store are made
    # 0600 explicitly as well; the umask covers what nobody thought of.
    os.umask(0o077)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # A store passphrase (a computer without a keyring) is asked for on the terminal, once
    # per run; a command in a script is never left waiting at a prompt nobody sees.
    set_passphrase_prompt(terminal_passphrase_prompt if sys.stdin.isatty() else None)
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
    except AccessDeniedError as error:
        sys.stderr.write(f"mdt-desk: {error}\n")
        status = EXIT_NOT_ALLOWED
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


def desktop_failure(store_path: Path, error: Exception) -> int:
    """What ``mdt-desk`` says when the desktop app fails to start (launch.py's fast way
    in), as :func:`main` says it; anything not a person's or a store's problem is raised."""
    if isinstance(error, UserError):
        sys.stderr.write(f"mdt-desk: {error}\n")
        return EXIT_USER_ERROR
    if isinstance(error, DatabaseError):
        sys.stderr.write(f"mdt-desk: {_database_error_message(store_path, error)}\n")
        return EXIT_USER_ERROR
    raise error


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
