"""A desk agent for the kill tests: syncs its store with the hub until it is killed.

``python tests/sync_kill/_agent.py --store PATH --hub URL`` prints ``ready`` once
everything is imported and the store is open, then one JSON line per sync event
(``start``, each ``push``/``pull`` progress step, ``done``), flushed, so the test knows
where the process was when it sent SIGKILL. ``--failpoint NAME --hit N`` kills the
process itself the N-th time the sync code passes that failpoint.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def _say(**event: object) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--hub", required=True)
    parser.add_argument("--once", action="store_true", help="one sync, then exit 0")
    parser.add_argument("--failpoint", help="a name in mdt_desk.sync.client.FAILPOINTS")
    parser.add_argument("--hit", type=int, default=1, help="die on this pass of the failpoint")
    args = parser.parse_args(argv)

    from mdt_desk.models.store import Store
    from mdt_desk.sync import client, desk_scope
    from mdt_desk.sync.hub import hub_engine

    if args.failpoint:
        passes = [0]

        def die() -> None:
            passes[0] += 1
            if passes[0] >= args.hit:
                _say(phase=f"failpoint:{args.failpoint}")
                os.kill(os.getpid(), signal.SIGKILL)

        client.FAILPOINTS[args.failpoint] = die

    def progress(phase: str, done: int, total: int) -> None:
        _say(phase=phase, done=done, total=total)

    engine = hub_engine(args.hub)
    with Store.open(args.store) as store:
        if not store.get_meta(desk_scope.META_SCOPE):
            # These desks replicate the whole hub (a new one would hold its staff's
            # practices only).
            desk_scope.set_scope(store, desk_scope.DeskScope(all_practices=True))
        label = f"kill-test {args.store.stem}"
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            _say(phase="start")
            report = client.sync_once(store, engine, label=label, progress=progress)
            _say(phase="done", **report.as_dict())
            if args.once:
                return 0
            _say(phase="idle")
            time.sleep(0.005)


if __name__ == "__main__":
    sys.exit(main())
