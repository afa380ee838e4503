"""The store passphrase a benchmark run uses when none is given.

Every store is encrypted, its key kept in the OS keyring or sealed by the passphrase in
``MDT_DESK_STORE_PASSPHRASE``. Benchmarks run on servers and in CI, where there is
usually no keyring, and start child processes that must open the stores they made: so,
as CI does, a run without a passphrase in its environment gets this fixed one, which
the stores it makes are sealed with and its children inherit. (A store kept in a keyring
still opens with its keyring key: its key file says which.)
"""

import os

from mdt_desk.models.store_key import PASSPHRASE_ENV

BENCH_STORE_PASSPHRASE = "benchmark store passphrase"  # synthetic stores only


def use_bench_store_passphrase() -> None:
    """Set ``MDT_DESK_STORE_PASSPHRASE`` for this process and its children, unless given."""
    if not os.environ.get(PASSPHRASE_ENV):
        os.environ[PASSPHRASE_ENV] = BENCH_STORE_PASSPHRASE
