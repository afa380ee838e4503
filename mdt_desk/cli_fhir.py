"""``mdt-desk fhir``: a care plan as a UK Core FHIR R4 bundle, and reading one back.

    mdt-desk fhir export (--nhs NUMBER | --practice CODE) --out FILE.json [--purpose TEXT]
    mdt-desk fhir import FILE.json

``export`` is open to care coordinators and privacy officers (contracts.md, 3); every
person in the file is in the access log with the purpose given, logged before the file
is written (the log may hold an export that then failed, never an export it does not
hold). Sensitive alerts, notes and actions never go in, whoever exports; nor does
anyone whose latest consent decision declines sharing. The file is 0600 and written
whole or not at all. A practice export shows its progress on stderr.

``import`` reads a bundle into this store, all of it or, when anything in it is wrong,
nothing: every problem is listed by line or by entry, and the command exits 2. A store
filled by import has staff without PINs, so it stays in set-up (contracts.md, 4).
"""

import argparse
import functools
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mdt_desk.errors import UserError

EXIT_OK = 0


def add_fhir_commands(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``fhir export`` and ``fhir import`` (``command`` is
    :func:`mdt_desk.cli.build_parser`'s helper)."""
    fhir = commands.add_parser(
        "fhir",
        help="a care plan as a UK Core FHIR R4 bundle (docs/interop.md)",
        description="A care plan as a UK Core FHIR R4 bundle, and reading one back.",
    )
    fhir_commands = fhir.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        fhir_commands,
        "export",
        cmd_fhir_export,
        "write one person's care plan, or a practice's caseload, as a FHIR R4 bundle",
        signs_in=True,
    )
    # Checked in cmd_fhir_export, not by argparse: a mistake is said plainly, exit 2,
    # without a usage line (contracts.md, "Sign-in and the command line", 8).
    sub.add_argument("--nhs", metavar="NUMBER", help="the person's NHS number")
    sub.add_argument("--practice", metavar="CODE", help="a practice's ODS code: its caseload")
    sub.add_argument("--out", dest="out_file", metavar="FILE.json", help="the file to write")
    sub.add_argument(
        "--purpose",
        metavar="TEXT",
        help="why it is exported, for the access log (default: “not stated”)",
    )
    sub = command(
        fhir_commands,
        "import",
        cmd_fhir_import,
        "read a FHIR R4 bundle (as `fhir export` writes) into this store: all or nothing",
        signs_in=True,
    )
    sub.add_argument("file", metavar="FILE.json", help="the bundle to read")


def cmd_fhir_export(args: argparse.Namespace) -> int:
    """Build the bundle, log who it is about, then write it."""
    from mdt_desk import cli
    from mdt_desk.services.fhir.export import (
        EXPORTING,
        FhirBundle,
        export_to_file,
        person_bundle,
        practice_bundle,
    )

    if bool(args.nhs) == bool(args.practice):
        raise UserError("Give either --nhs NUMBER or --practice CODE, not both.")
    if not args.out_file:
        raise UserError("Give --out FILE.json: the file to write the bundle to.")
    target = Path(args.out_file)
    with cli._open_store(args, create=False) as store:
        acting = cli._signed_in(args, store)
        build: Callable[[Any], FhirBundle]
        if args.nhs:
            patient_id = cli._patient_by_nhs(store, acting, args.nhs)
            build = functools.partial(person_bundle, patient_id=patient_id)
        else:
            with store.read(acting.actor_id) as session:
                practice_id = cli._practice_argument(session, args.practice)
            progress = cli._progress(args, {EXPORTING: ("Exporting care plans", "people")})
            build = functools.partial(practice_bundle, practice_id=practice_id, progress=progress)
        bundle = export_to_file(
            lambda: store.read(acting.actor_id),
            lambda: store.write(acting.actor_id, acting.label),
            build,
            target,
            cli._purpose(args),
        )
    people = len(bundle.patient_ids)
    if args.json:
        cli._emit_json(
            args.out,
            {
                "file": str(target),
                "people": people,
                "resources": bundle.resources,
                "declined": bundle.declined,
                "left_out": {
                    "actions": bundle.left_out.actions,
                    "notes": bundle.left_out.notes,
                    "alerts": bundle.left_out.alerts,
                },
            },
        )
    else:
        plans = "the care plan of 1 person" if people == 1 else f"the care plans of {people} people"
        cli._write(args.out, f"Wrote {target}: {plans} ({bundle.resources} FHIR resources).")
        left = bundle.left_out
        if left:
            # Said beside the file, never in it, as `careplan` does for the person's copy.
            counts = ", ".join(
                f"{count} {one if count == 1 else many}"
                for count, one, many in (
                    (left.actions, "sensitive action", "sensitive actions"),
                    (
                        left.notes,
                        "sensitive note (no note is ever exported)",
                        "sensitive notes (no note is ever exported)",
                    ),
                    (
                        left.alerts,
                        "alert that is sensitive or not to be shared",
                        "alerts that are sensitive or not to be shared",
                    ),
                )
                if count
            )
            sys.stderr.write(f"Not in the file: {counts} (never exported).\n")
    if bundle.declined and not args.json:
        count = bundle.declined
        sys.stderr.write(
            f"Left out {count} {'person' if count == 1 else 'people'} whose latest consent "
            "decision declines sharing their information.\n"
        )
    return EXIT_OK


def cmd_fhir_import(args: argparse.Namespace) -> int:
    """Read the file, check all of it, then write it in one transaction.

    Everything that needs no store is checked before the store is opened: a file that is
    not JSON, not a bundle, or breaks a resource's structure or our rules is refused
    without asking for a store's passphrase or making a store. (A practice's or staff
    member's details are read once the store is open: one already there is kept as it
    is, so its details in the file are not checked.)
    """
    from mdt_desk import cli
    from mdt_desk.services.fhir.importer import (
        FhirImportError,
        check_bundle_text,
        import_bundle,
    )

    source = Path(args.file)
    try:
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise UserError(f"There is no file {source}.") from error
        except UnicodeDecodeError as error:
            raise UserError(
                f"{source} is not a FHIR JSON bundle: it is not UTF-8 text "
                f"(byte {error.start + 1})."
            ) from error
        except OSError as error:
            raise UserError(f"Cannot read {source}: {error.strerror}.") from error
    except UserError as unread:
        if args.json:  # a script reading --json gets JSON whatever went wrong
            cli._emit_json(args.out, {"imported": False, "problems": [str(unread)], "total": 1})
        raise
    try:
        checked = check_bundle_text(text)
        with cli._open_store(args) as store:
            acting = cli._signed_in(args, store)
            with store.write(acting.actor_id, acting.label) as session:
                report = import_bundle(session, checked)
    except FhirImportError as refused:
        if args.json:
            payload = {"imported": False, "problems": list(refused.problems)}
            cli._emit_json(args.out, {**payload, "total": refused.total})
        raise  # said on stderr too, with exit 2
    if args.json:
        cli._emit_json(args.out, {"imported": True, **asdict(report)})
    else:
        cli._write(args.out, report.summary())
    return EXIT_OK
