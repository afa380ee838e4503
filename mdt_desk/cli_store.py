"""``mdt-desk store encrypt`` and ``mdt-desk store key export|import``: the store's
encryption, from the command line.

Losing a store's key loses the store. These commands are how an administrator makes a
sealed backup of the key (a file readable by its owner only, the key inside sealed under
a backup passphrase) and how the key is put back on a computer that lost it.
"""

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mdt_desk.errors import StoreError, UserError
from mdt_desk.models.store_key import MIN_PASSPHRASE_LENGTH, StoreKeyError

EXIT_OK = 0

#: Said before a key is exported or imported; the person confirms it (or gives --yes).
EXPORT_WARNING = (
    "The key backup, with its passphrase, opens every record in this store. Keep the file "
    "and the passphrase apart, somewhere only administrators can reach (a sealed "
    "envelope in a safe, not beside the laptop)."
)


def terminal_passphrase_prompt(store_path: Path, new: bool) -> str | None:
    """Ask for a store passphrase on the terminal (twice when it is being chosen).

    Installed only when standard input is a terminal: a command in a script never waits
    for a prompt nobody sees.
    """
    if not new:
        return _typed(f"Passphrase for the store {store_path}: ") or None
    sys.stderr.write(
        f"This computer has no keyring, so the store {store_path} will be encrypted with a "
        f"key sealed by a passphrase you choose now (at least {MIN_PASSPHRASE_LENGTH} "
        "characters). Without it the store cannot be opened: keep it safe.\n"
    )
    first = _typed("Choose a store passphrase: ")
    if not first:
        return None
    if _typed("The same passphrase again: ") != first:
        raise StoreKeyError("The two passphrases differ; nothing was written.")
    return first


def _typed(prompt: str) -> str:
    """What is typed at ``prompt``; "" when the input ends (Ctrl+D), which the caller
    treats as no passphrase given (a message, never a traceback)."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        sys.stderr.write("\n")
        return ""


def _backup_passphrase(args: argparse.Namespace, *, new: bool) -> str:
    """The key backup's passphrase: typed twice on the terminal, or with
    ``--passphrase-stdin`` the next line of standard input (after the PIN, if any)."""
    if args.passphrase_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError(
                "--passphrase-stdin: standard input ended before the passphrase; nothing was done."
            )
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError(
            "The key backup's passphrase is asked for on the terminal; in a script, give "
            "it on standard input with --passphrase-stdin. Nothing was done."
        )
    first = getpass.getpass("Key backup passphrase: ")
    if new and getpass.getpass("The same passphrase again: ") != first:
        raise UserError("The two passphrases differ; nothing was written.")
    return first


def _confirmed(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"{question} Add --yes to confirm in a script; nothing was done.")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise UserError("Not confirmed; nothing was done.")


def cmd_store_encrypt(
    args: argparse.Namespace, store_path: Path, write: Callable[..., None]
) -> int:
    """Encrypt a plaintext store in place, checked with ``check`` before it replaces it."""
    from mdt_desk.models.store import (
        Store,
        encrypt_store_in_place,
        is_plaintext_store_file,
        schema_head,
        stored_revision,
    )
    from mdt_desk.models.store_key import has_key_file, store_key
    from mdt_desk.services.check import check_store

    if not store_path.is_file():
        raise StoreError(f"There is no MDT Desk store at {store_path}.")
    if not is_plaintext_store_file(store_path):
        if has_key_file(store_path):
            write(args.out, f"The store {store_path} is encrypted already; nothing was changed.")
            return EXIT_OK
        raise StoreError(f"{store_path} is not an MDT Desk store; nothing was changed.")

    def failures(store: Store) -> list[str]:
        report = check_store(store)
        return [f"{item.name}: {item.detail}" for item in report.checks if not item.passed]

    def full_check(copy: Path) -> None:
        key = store_key(copy)
        if stored_revision(copy, key) != schema_head():
            return  # an older schema: checked below, once opening has converted it
        with Store(copy, key) as encrypted:
            failed = failures(encrypted)
        if failed:
            raise StoreError(
                "The encrypted copy failed its check, so the unencrypted store was left as "
                "it was: " + "; ".join(failed)
            )

    done = encrypt_store_in_place(store_path, verify=full_check)
    # A store from an older version is converted as it opens (with an encrypted backup
    # first), then checked whole.
    with Store.open(store_path, create=False) as store:
        failed = failures(store)
    if failed:
        raise StoreError(
            f"The store {store_path} is encrypted, but its check found problems: "
            + "; ".join(failed)
        )
    write(args.out, f"The store {store_path} is now encrypted, and passed its check.")
    for removed in done.removed:
        write(args.out, f"Removed the unencrypted copy {removed.name}.")
    write(args.out, _where_the_key_is(store_path))
    return EXIT_OK


def _where_the_key_is(store_path: Path) -> str:
    from mdt_desk.models.store_key import read_key_file

    kept_in = read_key_file(store_path).kept_in
    where = (
        "this computer's keyring"
        if kept_in == "keyring"
        else "the key file beside it, sealed by the store passphrase"
    )
    return (
        f"Its key is kept in {where}. Losing the key loses the store: make a sealed backup "
        "with `mdt-desk store key export`."
    )


def cmd_store_key_export(
    args: argparse.Namespace,
    store: Any,
    principal: Any,
    write: Callable[..., None],
) -> int:
    """Write a sealed backup of the store's key (administrators only)."""
    from mdt_desk.models.store_key import export_key
    from mdt_desk.services.access import Permission

    if principal is not None:
        principal.require(Permission.MANAGE_STAFF)
    out = Path(args.out_file).expanduser().resolve()
    if not out.parent.is_dir():
        raise UserError(f"The folder {out.parent} does not exist; nothing was written.")
    if out.exists() and not args.yes:
        raise UserError(f"{out} exists already; choose another file. Nothing was written.")
    _confirmed(args, f"Export the encryption key of {store.path}? {EXPORT_WARNING}")
    passphrase = _backup_passphrase(args, new=True)
    export_key(store.path, out, passphrase)
    write(args.out, f"The key backup was written to {out} (readable by you only).")
    write(args.out, EXPORT_WARNING)
    return EXIT_OK


def cmd_store_key_import(
    args: argparse.Namespace, store_path: Path, write: Callable[..., None]
) -> int:
    """Put a store's key back from an administrator's sealed backup."""
    from mdt_desk.models.store import Store, key_opens
    from mdt_desk.models.store_key import import_key, read_export

    source = Path(args.file).expanduser()
    if not store_path.is_file():
        raise StoreError(f"There is no MDT Desk store at {store_path}; nothing was changed.")
    store_id, _sealed = read_export(source)
    _confirmed(args, f"Use the key in {source} (store id {store_id}) for {store_path}?")
    import_key(store_path, source, _backup_passphrase(args, new=False), key_opens)
    with Store.open(store_path, create=False) as store:  # the key opens it, or says not
        replica = store.replica_id
    write(args.out, f"The key was restored: the store {store_path} opens again.")
    write(args.out, f"(Desk {replica}.) {_where_the_key_is(store_path)}")
    return EXIT_OK


def add_store_commands(
    commands: Any,
    command: Callable[..., argparse.ArgumentParser],
    handlers: dict[str, Callable[[argparse.Namespace], int]],
) -> None:
    """``store encrypt`` and ``store key export|import``."""
    store = commands.add_parser("store", help="the store's encryption and its key")
    store_commands = store.add_subparsers(title="commands", metavar="COMMAND", required=True)
    command(
        store_commands,
        "encrypt",
        handlers["encrypt"],
        "encrypt an unencrypted store in place (checked first; plaintext copies removed)",
        reports=False,
    )
    key = store_commands.add_parser("key", help="back up or restore the store's key")
    key_commands = key.add_subparsers(title="commands", metavar="COMMAND", required=True)
    sub = command(
        key_commands,
        "export",
        handlers["export"],
        "write a sealed backup of the store's key (administrators; a file only you can read)",
        reports=False,
        signs_in=True,
    )
    sub.add_argument("out_file", metavar="FILE", help="the backup file to write")
    _key_options(sub)
    sub = command(
        key_commands,
        "import",
        handlers["import"],
        "restore the store's key from a sealed backup",
        reports=False,
    )
    sub.add_argument("file", metavar="FILE", help="the key backup file")
    _key_options(sub)


def _key_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--yes", action="store_true", help="confirm without asking")
    sub.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the backup passphrase from standard input (after the PIN, if any)",
    )
