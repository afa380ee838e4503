"""Desk processes for the kill tests, forked from a server that has already imported the desk.

Each agent and each batch of edits is its own process, killed with SIGKILL like any
other, but it starts in milliseconds instead of the ~0.7 s a new interpreter spends
importing SQLAlchemy and the desk: a kill test starts some sixty of them, and that
start-up was most of its minute. The server (``multiprocessing``'s forkserver) imports
modules only; it opens no store and no hub, so nothing of a connection crosses the fork.
The rounds that run the real ``mdt-desk sync`` command still start a whole new process.

A child's standard output and error go to files, read once it is ready or has ended.
"""

import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from importlib import import_module
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

#: What the agents and the edits import, loaded once by the server before it forks.
PRELOAD = [
    "tests.sync_kill._agent",
    "tests.sync_kill._edit",
    "sqlalchemy",
    "psycopg",
    "mdt_desk.models.store",
    "mdt_desk.services.desk",
    "mdt_desk.services.plans",
    "mdt_desk.sync.client",
    "mdt_desk.sync.desk_scope",
    "mdt_desk.sync.hub",
]


def _child_main(module: str, argv: list[str], env: dict[str, str], out: str, err: str) -> None:
    """In the child: the environment a new process would have, output to files, then
    ``module.main(argv)``; its return value is the exit status."""
    os.environ.clear()
    os.environ.update(env)
    for path, fd in ((out, 1), (err, 2)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.exit(import_module(module).main(argv))


@dataclass
class Child:
    process: BaseProcess
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8") if self.out.exists() else ""

    def errors(self) -> str:
        return self.err.read_text(encoding="utf-8") if self.err.exists() else ""

    def wait_for_line(self, wanted: str, timeout: float) -> bool:
        """Whether the child printed ``wanted`` as a whole line before ``timeout`` (it
        is not waited for once it has ended without it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted in self.output().splitlines():
                return True
            if not self.process.is_alive():
                return wanted in self.output().splitlines()
            # Not too often: the child it waits for needs the CPU more.
            time.sleep(0.01)
        return False

    def finish(self, timeout: float | None) -> int | None:
        """The exit code (``-9`` when killed), or ``None`` if still running at ``timeout``."""
        self.process.join(timeout)
        return self.process.exitcode

    def kill(self) -> None:
        self.process.kill()  # SIGKILL


class Forks:
    """Starts children from the forkserver, each with its own output files in ``folder``.

    The server is the test process's (``multiprocessing`` keeps one): it outlives the
    test, until the pytest worker exits. It imported :data:`PRELOAD` in the environment of
    the first test to start a child; each child then sets its own before it runs, so
    only an import that read the environment would see the server's (none does).
    """

    def __init__(self, folder: Path) -> None:
        self._context: ForkServerContext = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._folder = folder
        self._started = 0

    def start(self, module: str, argv: list[str], env: dict[str, str]) -> Child:
        self._started += 1
        stem = self._folder / f"child-{self._started}"
        out, err = stem.with_suffix(".out"), stem.with_suffix(".err")
        process = self._context.Process(
            target=_child_main, args=(module, argv, env, str(out), str(err)), daemon=True
        )
        process.start()
        return Child(process, out, err)
