"""Edits on one desk for the kill tests, through the services, as a user would make them.

``python tests/sync_kill/_edit.py --store PATH --seed N --tag T --part K --parts P``
makes 1–3 journalled transactions (``Desk.for_store(store).write()``): new descriptions
for some actions whose id falls in this desk's part (so no two desks ever edit the same
action and every edit must survive as the final value) and new case notes. After each
commit it prints one JSON line listing what that transaction changed.
"""

import argparse
import json
import random
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--part", type=int, required=True)
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--bulk", type=int, default=0, help="extra notes in one transaction")
    args = parser.parse_args(argv)

    from dataclasses import replace

    from sqlalchemy import select

    from mdt_desk.models import Action, Case, Staff
    from mdt_desk.models.store import Store
    from mdt_desk.services import plans
    from mdt_desk.services.desk import Desk

    rng = random.Random(args.seed)
    with Store.open(args.store) as store:
        # As a care coordinator of the demo (the store is past set-up: someone must act).
        with store.read() as session:
            coordinator = session.scalar(
                select(Staff.id)
                .where(Staff.roles.contains("care_coordinator"), Staff.retired_at.is_(None))
                .order_by(Staff.family_name, Staff.given_name)
            )
        if coordinator is None:
            return 0
        desk = replace(Desk.for_store(store), actor_id=coordinator, actor_name="kill test")
        with desk.read() as session:
            actions = sorted(
                action_id
                for action_id in session.scalars(
                    select(Action.id).where(Action.retired_at.is_(None))
                )
                if action_id.int % args.parts == args.part
            )
            cases = sorted(session.scalars(select(Case.id).where(Case.retired_at.is_(None))))
        if not actions or not cases:
            return 0
        for number in range(rng.randint(1, 3)):
            edits: list[dict[str, str]] = []
            with desk.write() as session:
                chosen = rng.sample(actions, min(len(actions), rng.randint(1, 6)))
                for index, action_id in enumerate(chosen):
                    description = f"{args.tag}.{number}.{index} {rng.randrange(10**9)}"
                    plans.update_action(session, action_id, description=description)
                    edits.append({"kind": "action", "id": action_id.hex, "value": description})
                notes = rng.randint(1, 4) + (args.bulk if number == 0 else 0)
                for index in range(notes):
                    case_id = rng.choice(cases)
                    body = f"note {args.tag}.{number}.{index} {rng.randrange(10**9)}"
                    note = plans.add_note(session, case_id, body)
                    edits.append(
                        {"kind": "note", "id": note.id.hex, "value": body, "case": case_id.hex}
                    )
            sys.stdout.write(json.dumps(edits) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
