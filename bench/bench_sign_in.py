"""Signing in with a PIN: under one second, and what the desk adds to argon2id itself.

    .venv/bin/python bench/bench_sign_in.py [--repeat 7] [--store PATH]

Times, median of ``--repeat`` runs in this process:

- ``sign in``: :func:`mdt_desk.services.sign_in.sign_in_with_pin` with the right PIN — it
  reads the staff record, checks the lock-out, verifies the argon2id hash and writes the
  sign-in to the access log in a journalled transaction;
- ``raw``: the same staff row's hash read with raw SQL (keyed) and verified with
  ``argon2.PasswordHasher`` alone, nothing written.

The ratio shows what the service adds over the hash check, which is the whole point of a
PIN hash (it is slow on purpose). With ``--store`` it signs in on that store (e.g. a
100,000-patient demo; every demo PIN is 246810); otherwise on a new small store. Exits 1
if the median sign-in takes a second or more.
"""

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from argon2 import PasswordHasher
from store_passphrase import use_bench_store_passphrase

from mdt_desk.models.store import Store, connect_store_file
from mdt_desk.models.store_key import store_key
from mdt_desk.services import sign_in, staff

TARGET_S = 1.0


def _small_store(path: Path) -> tuple[Store, uuid.UUID, str]:
    store = Store.open(path)
    with store.write(actor_label="bench set-up") as session:
        member = staff.add_staff(
            session, family_name="Okafor", given_name="Ngozi", profession="social_worker"
        )
        sign_in.set_pin(session, member.id, "bench pin 1")
    return store, member.id, "bench pin 1"


def _demo_staff(store: Store) -> uuid.UUID:
    with store.raw_connection() as connection:
        row = connection.execute(
            "SELECT id FROM staff WHERE pin_hash != '' AND retired_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("That store has nobody with a PIN: make it with `mdt-desk demo`.")
    return uuid.UUID(row[0]) if isinstance(row[0], str) else uuid.UUID(bytes=row[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    use_bench_store_passphrase()
    with tempfile.TemporaryDirectory() as folder:
        if args.store:
            store = Store.open(args.store, create=False)
            who, pin = _demo_staff(store), sign_in.DEMO_PIN
        else:
            store, who, pin = _small_store(Path(folder) / "bench.sqlite")
        hasher = PasswordHasher()
        signing, raw = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            sign_in.sign_in_with_pin(store, who, pin)
            signing.append(time.perf_counter() - started)
            started = time.perf_counter()
            connection = connect_store_file(store.path, store_key(store.path), options="mode=ro")
            (stored,) = connection.execute(
                "SELECT pin_hash FROM staff WHERE id = ?", (who.hex,)
            ).fetchone()
            connection.close()
            hasher.verify(stored, pin)
            raw.append(time.perf_counter() - started)
        store.close()
    median, baseline = statistics.median(signing), statistics.median(raw)
    print(f"sign in      median {median * 1000:7.1f} ms  (max {max(signing) * 1000:.1f} ms)")
    print(f"raw          median {baseline * 1000:7.1f} ms  (hash read + argon2id verify)")
    print(f"ratio        {median / baseline:.2f}x   target: under {TARGET_S:.0f} s")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
