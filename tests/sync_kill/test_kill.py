"""`kill -9` of syncing desks at random moments, on a SQLite hub and on PostgreSQL.

Three desks: A starts with a demo caseload, B and C start empty. In each round a desk
agent (``_agent.py``: ``sync_once`` again and again, as a desk syncing in the
background) runs on one desk while ``_edit.py`` makes journalled edits through the
services on a desk (sometimes the same one), each its own process forked from a server
that has imported the desk (``_forks.py``); the agent is SIGKILLed after a seeded
random delay of 0–1.5 s from the moment it is ready. Some rounds run the real command
(``python -m mdt_desk.cli sync --json``) instead, killed 0.5–2 s after it starts, and a
few die at a named failpoint (after the hub commit before the local ack, in the middle
of applying a page). Then every desk syncs to quiescence and the test checks what must
be true after a crash: every store passes ``mdt-desk check`` and ``integrity_check``,
every desk's records equal the others', every edit made is there, the hub holds each
desk's changes exactly once and ``server_seq`` has no gaps, and every outbox is empty.
"""

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from tests import store_sql
from tests.sync_kill._forks import Child, Forks

ROOT = Path(__file__).resolve().parents[2]
DESKS = ("A", "B", "C")
KILLS_PER_HUB = 26
MAX_ROUNDS = 90
FAILPOINT_ROUNDS = {
    4: ("after_hub_commit_before_local_ack", 1),
    9: ("mid_page_apply", 2),
    15: ("after_hub_commit_before_local_ack", 1),
    21: ("mid_page_apply", 1),
}
CLI_EVERY = 6
PG_ADMIN = os.environ.get("MDT_DESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
#: Tables that are the desk's own bookkeeping, not records: they differ per desk.
CLI = (sys.executable, "-m", "mdt_desk.cli")
AGENT = "tests.sync_kill._agent"
EDIT = "tests.sync_kill._edit"
LOCAL_TABLES = frozenset({"journal_tx", "journal_change", "store_meta"})

pytestmark = pytest.mark.slow


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env.pop("MDT_DESK_HUB_PASSWORD", None)
    return env


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return _run("-m", "mdt_desk.cli", *args, timeout=timeout)


def _sync_command(run: "Run", desk: str) -> tuple[list[str], str]:
    """`mdt-desk sync` on ``desk``, and its standard input: once the desk holds staff
    with PINs, as a demo coordinator with the demo PIN (an empty desk joins as set-up)."""
    store = run.store(desk)
    command = [*CLI, "sync", "--store", str(store), "--hub", run.hub, "--json"]
    with contextlib.closing(store_sql.connect(store, read_only=True)) as db:
        row = db.execute(
            "SELECT id FROM staff WHERE pin_hash != '' AND roles LIKE '%care_coordinator%'"
            " ORDER BY family_name, given_name LIMIT 1"
        ).fetchone()
    if row is None:
        return [*command, "--practices", "all"], ""  # a new desk joins as a full one
    return [*command, "--as", str(row[0]), "--pin-stdin"], "246810\n"


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture(autouse=True)
def _store_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desks' processes have no keyring: every store's key is sealed by a passphrase
    that they, and this test, read from the environment."""
    monkeypatch.setenv("MDT_DESK_STORE_PASSPHRASE", "kill test store passphrase")


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.sqlite'}"


@pytest.fixture
def postgres_hub() -> Iterator[str]:
    """A throw-away database on the local PostgreSQL, dropped afterwards."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable at {PG_ADMIN} ({error})"
        if _in_ci():
            pytest.fail(message + "; in CI the PostgreSQL hub tests must run")
        pytest.skip(message)
    name = f"mdt_sync_kill_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # The hub's desk group is the server's, not the database's.
            admin.execute(f'DROP ROLE IF EXISTS "mdt_desks_{name}"')


@dataclass
class Run:
    hub: str
    folder: Path
    rng: random.Random
    forks: Forks
    kills: int = 0
    finished_before_kill: int = 0
    killed_in: dict[str, int] = field(default_factory=dict)
    edits: list[dict[str, str]] = field(default_factory=list)

    def store(self, desk: str) -> Path:
        return self.folder / f"{desk}.sqlite"

    def killed(self, where: str) -> None:
        self.kills += 1
        self.killed_in[where] = self.killed_in.get(where, 0) + 1


def _last_phase(lines: list[str]) -> str:
    for line in reversed(lines):
        if line.startswith("{"):
            return str(json.loads(line)["phase"])
    return "starting"


def _agent_round(run: Run, desk: str, failpoint: tuple[str, int] | None) -> None:
    """Start a syncing agent on ``desk``; kill it after 0–1.5 s (or at the failpoint)."""
    argv = ["--store", str(run.store(desk)), "--hub", run.hub]
    if failpoint is not None:
        argv += ["--failpoint", failpoint[0], "--hit", str(failpoint[1])]
    agent = run.forks.start(AGENT, argv, _env())
    if not agent.wait_for_line("ready", timeout=30):
        agent.kill()
        agent.finish(60)
        pytest.fail(f"the desk agent did not start: {agent.errors()}")
    if failpoint is None:
        time.sleep(run.rng.uniform(0.0, 1.5))
        agent.kill()
    reached = True
    if agent.finish(timeout=None if failpoint is None else 4) is None:
        reached = False  # nothing to do there this time: an ordinary kill
        agent.kill()
        agent.finish(60)
    assert agent.process.exitcode == -signal.SIGKILL, (
        f"the agent on desk {desk} died by itself ({agent.process.exitcode}):\n"
        f"{agent.output()}\n{agent.errors()}"
    )
    where = _last_phase(agent.output().splitlines())
    run.killed(f"failpoint {failpoint[0]}" if failpoint and reached else where)


def _cli_round(run: Run, desk: str) -> None:
    """The real command, killed 0.5–2 s after it starts (it imports for ~0.7 s)."""
    command, pin = _sync_command(run, desk)
    pin_file = run.store(desk).with_suffix(".pin")
    pin_file.write_text(pin, encoding="utf-8")
    with pin_file.open(encoding="utf-8") as stdin:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_env(),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    time.sleep(run.rng.uniform(0.5, 2.0))
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=60)
    if process.returncode == -signal.SIGKILL:
        run.killed("cli sync")
    else:
        assert process.returncode == 0, f"sync on desk {desk} failed:\n{stdout}\n{stderr}"
        run.finished_before_kill += 1


def _start_edits(run: Run, desk: str, tag: str) -> Child:
    bulk = 250 if run.rng.random() < 0.3 else 0
    argv = [
        *("--store", str(run.store(desk))),
        *("--seed", str(run.rng.randrange(10**9)), "--tag", tag),
        *("--part", str(DESKS.index(desk)), "--parts", str(len(DESKS))),
        *("--bulk", str(bulk)),
    ]
    return run.forks.start(EDIT, argv, _env())


def _finish_edits(run: Run, edits: Child) -> None:
    status = edits.finish(timeout=120)
    assert status == 0, f"the edits failed ({status}):\n{edits.output()}\n{edits.errors()}"
    for line in edits.output().splitlines():
        run.edits.extend(json.loads(line))


def _quiesce(run: Run) -> int:
    """Sync every desk until a full round moves nothing; the number of rounds.

    Through the sync service (the agent, once), not the command: each command signs a
    person in, and that sign-in is itself a change to send (the access log), so rounds
    of commands never move nothing.
    """
    for round_number in range(1, 2 * len(DESKS) + 3):
        moved = 0
        for desk in DESKS:
            agent = run.forks.start(
                AGENT, ["--store", str(run.store(desk)), "--hub", run.hub, "--once"], _env()
            )
            status = agent.finish(timeout=120)
            assert status == 0, f"sync on desk {desk} failed:\n{agent.output()}{agent.errors()}"
            report = json.loads(agent.output().splitlines()[-1])
            moved += report["pushed"] + report["pulled"]
        if moved == 0:
            return round_number
    pytest.fail("the desks did not quiesce")


def _records(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The synced tables of an export (the per-desk journal and facts left out)."""
    export = json.loads(path.read_text(encoding="utf-8"))
    return {name: rows for name, rows in export["tables"].items() if name not in LOCAL_TABLES}


def _export_as_privacy_officer(path: Path, target: Path) -> None:
    """The whole store as the privacy officer exports it (every restricted item in it),
    through the service: the command would add its own access-log row on this desk."""
    from mdt_desk.services.export import export_json

    with Store.open(path, create=False) as store:
        with store.read() as session:
            officer = session.execute(
                text("SELECT id FROM staff WHERE roles LIKE '%privacy_officer%' LIMIT 1")
            ).scalar_one()
        with store.read(uuid.UUID(str(officer))) as session, target.open("w") as out:
            export_json(session, out)


def _check_desks(run: Run) -> dict[str, Any]:
    from mdt_desk.sync.client import open_review_count, outbox_count

    exports: dict[str, dict[str, list[dict[str, Any]]]] = {}
    replicas: dict[str, str] = {}
    own_seqs: dict[str, set[int]] = {}
    for desk in DESKS:
        path = run.store(desk)
        check = _cli("check", "--store", str(path))
        assert check.returncode == 0, f"mdt-desk check failed on desk {desk}:\n{check.stdout}"
        with contextlib.closing(store_sql.connect(path, read_only=True)) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], desk
        target = run.folder / f"{desk}.json"
        _export_as_privacy_officer(path, target)
        exports[desk] = _records(target)
        with Store.open(path, create=False) as store:
            assert outbox_count(store) == 0, f"desk {desk} still has changes to send"
            assert open_review_count(store) == 0, f"desk {desk}: conflicts from nowhere"
            replicas[desk] = store.replica_id.hex
            with store.read() as session:
                own_seqs[desk] = {
                    int(seq)
                    for (seq,) in session.execute(
                        text(
                            "SELECT c.origin_seq FROM journal_change c JOIN journal_tx t"
                            " ON t.tx = c.tx WHERE t.replica_id = :me"
                        ),
                        {"me": store.replica_id.hex},
                    )
                }
    first = exports[DESKS[0]]
    for desk in DESKS[1:]:
        assert exports[desk].keys() == first.keys()
        for table, rows in first.items():
            assert exports[desk][table] == rows, f"desk {desk} differs from A in {table}"

    # Nothing lost: every edit is there, on every desk (A's export stands for all now).
    by_id = {table: {row["id"]: row for row in rows} for table, rows in first.items() if rows}
    final_description: dict[str, str] = {}
    for edit in run.edits:
        if edit["kind"] == "action":
            final_description[edit["id"]] = edit["value"]
        else:
            note = by_id["note"].get(edit["id"])
            assert note is not None, f"note {edit['id']} was lost"
            assert (note["body"], note["case_id"]) == (edit["value"], edit["case"])
    for action_id, description in final_description.items():
        assert by_id["action"][action_id]["description"] == description, action_id

    # The hub: each desk's changes exactly once, server_seq gapless.
    hub = create_engine(run.hub)
    try:
        with hub.connect() as connection:
            duplicates = connection.execute(
                text(
                    "SELECT origin_site, origin_seq, count(*) FROM hub_change"
                    " GROUP BY origin_site, origin_seq HAVING count(*) > 1"
                )
            ).all()
            assert duplicates == []
            count, low, high = connection.execute(
                text("SELECT count(*), min(server_seq), max(server_seq) FROM hub_change")
            ).one()
            last = connection.execute(
                text("SELECT last_seq FROM hub_counter WHERE id = 1")
            ).scalar_one()
            assert (low, high, last) == (1, count, count), "server_seq has gaps"
            for desk in DESKS:
                at_hub = [
                    int(seq)
                    for (seq,) in connection.execute(
                        text("SELECT origin_seq FROM hub_change WHERE origin_site = :s"),
                        {"s": replicas[desk]},
                    )
                ]
                assert len(at_hub) == len(set(at_hub)), f"desk {desk}: duplicated at the hub"
                assert set(at_hub) == own_seqs[desk], f"desk {desk}: hub != own journal"
    finally:
        hub.dispose()
    if run.hub.startswith("sqlite:///"):
        with sqlite3.connect(run.hub.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return {"hub_changes": count, "records": sum(len(rows) for rows in first.values())}


def _soak(hub: str, folder: Path, seed: int) -> Run:
    run = Run(hub=hub, folder=folder, rng=random.Random(seed), forks=Forks(folder))
    _ok(_cli("hub", "init", hub, "--json"))
    # The stores are made here, unkilled (making a store is not sync), so their keys are
    # sealed at the suite's argon2 cost: every desk process unseals one when it starts.
    with Store.open(run.store("A")) as store:
        generate_demo(store, patients=300, seed=5)
    for desk in DESKS[1:]:  # empty desks
        Store.open(run.store(desk)).close()
    started = time.monotonic()
    rounds = 0
    while run.kills < KILLS_PER_HUB:
        rounds += 1
        assert rounds <= MAX_ROUNDS, f"only {run.kills} kills in {MAX_ROUNDS} rounds"
        syncing = run.rng.choice(DESKS)
        editing = run.rng.choice(DESKS)
        edits = _start_edits(run, editing, f"{seed}.{rounds}{editing}")
        if rounds in FAILPOINT_ROUNDS:
            name, hit = FAILPOINT_ROUNDS[rounds]
            # A desk with something to send, or one with something to receive.
            if name == "mid_page_apply":
                syncing = run.rng.choice([desk for desk in DESKS if desk != editing])
            else:
                syncing = editing
            _agent_round(run, syncing, (name, hit))
        elif rounds % CLI_EVERY == 0:
            _cli_round(run, syncing)
        else:
            _agent_round(run, syncing, None)
        _finish_edits(run, edits)
    quiesce_rounds = _quiesce(run)
    figures = _check_desks(run)
    summary = {
        "hub": hub.split(":", 1)[0],
        "rounds": rounds,
        "kills": run.kills,
        "cli finished before its kill": run.finished_before_kill,
        "killed in": run.killed_in,
        "edits": len(run.edits),
        "quiesce rounds": quiesce_rounds,
        "seconds": round(time.monotonic() - started, 1),
        **figures,
    }
    print(json.dumps(summary, sort_keys=True))
    (folder / "summary.json").write_text(json.dumps(summary, sort_keys=True))
    return run


def test_kill_sqlite_hub(tmp_path: Path, sqlite_hub: str) -> None:
    run = _soak(sqlite_hub, tmp_path, seed=20261)
    assert run.kills >= KILLS_PER_HUB


def test_kill_postgres_hub(tmp_path: Path, postgres_hub: str) -> None:
    run = _soak(postgres_hub, tmp_path, seed=20262)
    assert run.kills >= KILLS_PER_HUB
