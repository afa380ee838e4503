"""Running `mdt-desk` commands on a demo store, signed in as its staff do.

A demo store is past set-up (every demo staff member's PIN is 246810), so a command that
reads or changes patient records needs ``--as STAFF_ID`` and the PIN. :func:`run` adds
them, as the demo's chair (a community matron: care coordinator and MDT chair, who may
do everything these tests ask), with the PIN on standard input: the PIN is checked
exactly as it is for a person.
"""

import argparse
import io
import sys
from contextlib import closing
from pathlib import Path

from mdt_desk.cli import build_parser, main
from mdt_desk.models.store_key import has_key_file
from mdt_desk.services.sign_in import DEMO_PIN
from tests import store_sql


def demo_staff_with(store: str | Path, role: str, profession: str = "") -> str:
    """The id of the first demo staff member (by name) with ``role`` as their only role,
    else the first holding it among others."""
    query = "SELECT id, roles FROM staff WHERE retired_at IS NULL"
    params: tuple[str, ...] = ()
    if profession:
        query += " AND profession = ?"
        params = (profession,)
    with closing(store_sql.connect(store, read_only=True)) as db:
        rows = db.execute(query + " ORDER BY family_name, given_name", params).fetchall()
    holding = [(str(staff_id), str(roles).split()) for staff_id, roles in rows]
    for staff_id, roles in sorted(holding, key=lambda row: len(row[1])):
        if role in roles:
            return staff_id
    raise LookupError(f"no staff member with the role {role} in {store}")


def demo_chair(store: str | Path) -> str:
    """A community matron of the demo: care coordinator and MDT chair."""
    return demo_staff_with(store, "mdt_chair", "community_matron")


def _sign_in_options(argv: list[str]) -> set[str]:
    """Which of ``--as`` and ``--pin-stdin`` the command ``argv`` names takes."""
    parser: argparse.ArgumentParser = build_parser()
    for token in argv:
        choices: dict[str, argparse.ArgumentParser] = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                choices = action.choices
        if token not in choices:
            break
        parser = choices[token]
    return {"--as", "--pin-stdin"} & set(parser._option_string_actions)


def _past_set_up(store: str) -> bool:
    if not Path(store).is_file():
        return False
    if not has_key_file(Path(store)):  # a plain file, not yet a store: set-up comes first
        return False
    with closing(store_sql.connect(store, read_only=True)) as db:
        try:
            return (
                db.execute("SELECT 1 FROM staff WHERE pin_hash != '' LIMIT 1").fetchone()
                is not None
            )
        except store_sql.errors.Error:
            return False


def run(*argv: str) -> tuple[int, str]:
    """``mdt-desk ARGV`` in-process, signed in as the demo's chair where it needs to be."""
    args = list(argv)
    store = args[args.index("--store") + 1] if "--store" in args else ""
    stdin = sys.stdin
    options = _sign_in_options(args) if store and "--pin-stdin" not in args else set()
    if options and _past_set_up(store):
        if "--as" in options and "--as" not in args:
            args += ["--as", demo_chair(store)]
        args.append("--pin-stdin")  # `staff sign-in STAFF_ID` takes the PIN alone
        sys.stdin = io.StringIO(DEMO_PIN + "\n")
    out = io.StringIO()
    try:
        return main(args, out=out), out.getvalue()
    finally:
        sys.stdin = stdin
