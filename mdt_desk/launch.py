"""The ``mdt-desk`` command: the desktop app straight away, or the command line.

``mdt-desk`` and ``mdt-desk --store PATH`` on an existing store open the desktop app
straight through :func:`mdt_desk.startup.run_desk`, without importing the command line
(which brings in SQLAlchemy and every service), so the sign-in screen is drawn first.
Everything else, a new store included, is :func:`mdt_desk.cli.main`.
"""

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _gui_store(argv: Sequence[str]) -> Path | bool | None:
    """The store a desktop start names (None: the default), or False for any other command."""
    if not argv:
        return None
    if len(argv) == 2 and argv[0] == "--store" and argv[1] and not argv[1].startswith("-"):
        return Path(argv[1])
    if len(argv) == 1 and argv[0].startswith("--store=") and len(argv[0]) > len("--store="):
        return Path(argv[0].removeprefix("--store="))
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mdt-desk``; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    store = _gui_store(arguments)
    if store is False:
        from mdt_desk.cli import main as cli_main

        return cli_main(arguments)
    from mdt_desk.paths import default_store_path
    from mdt_desk.startup import run_desk

    # As the command line does: whatever this process creates is its owner's alone.
    os.umask(0o077)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = (store if isinstance(store, Path) else default_store_path()).expanduser().resolve()
    if not path.exists():
        # A new store: the command line's own way in, which removes what a refused
        # start made (there is no sign-in screen to draw first on a new store anyway).
        from mdt_desk.cli import main as cli_main

        return cli_main(arguments)
    try:
        return run_desk(path)
    except Exception as error:  # said as the command line says it
        from mdt_desk.cli import desktop_failure

        return desktop_failure(path, error)


if __name__ == "__main__":
    sys.exit(main())
