"""argon2id at a test's cost, not a desk's.

A desk hashes PINs and derives store-passphrase keys with RFC 9106's low-memory profile
(t=3, 64 MiB, 4 lanes): about 0.13 s a time on the reference machine, and up to half a
second on a busy 2-core CI runner. Every demo store hashes its PIN once, every window
opened past set-up checks it once, and every shared store is sealed and unsealed by a
passphrase: at production cost that alone was minutes of the suite.

So the suite runs with the smallest parameters argon2 accepts (:data:`TEST_COST`),
set once per run by ``conftest._cheap_argon2``. Hashes and sealed keys carry their own
parameters, so verifying and unsealing work whatever cost they were made at, in this
process and in the command-line subprocesses some tests start (those still hash new
PINs at production cost). One test of each keeps the production parameters honest:
``tests/services/test_sign_in.py`` and ``tests/models/test_store_key.py`` hash and seal
inside :func:`production_argon2` and check the parameters written.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher

from mdt_desk.models import store_key
from mdt_desk.services import sign_in

#: argon2id's smallest cost: one pass over 8 KiB in one lane (microseconds, not 0.13 s).
TEST_COST = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}

#: What the desk uses, captured before any test lowers it.
PRODUCTION_PIN_HASHER = sign_in._HASHER
PRODUCTION_KDF = {
    "_KDF_TIME_COST": store_key._KDF_TIME_COST,
    "_KDF_MEMORY_KIB": store_key._KDF_MEMORY_KIB,
    "_KDF_LANES": store_key._KDF_LANES,
}


@contextmanager
def cheap_argon2() -> Iterator[None]:
    """Inside: PINs are hashed, and store passphrases stretched, at :data:`TEST_COST`."""
    with pytest.MonkeyPatch.context() as patch:
        hasher = PasswordHasher(
            time_cost=TEST_COST["time_cost"],
            memory_cost=TEST_COST["memory_cost"],
            parallelism=TEST_COST["parallelism"],
        )
        patch.setattr(sign_in, "_HASHER", hasher)
        patch.setattr(store_key, "_KDF_TIME_COST", TEST_COST["time_cost"])
        patch.setattr(store_key, "_KDF_MEMORY_KIB", TEST_COST["memory_cost"])
        patch.setattr(store_key, "_KDF_LANES", TEST_COST["parallelism"])
        yield


@contextmanager
def production_argon2() -> Iterator[None]:
    """Inside: the desk's own argon2id parameters, for the tests that check them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sign_in, "_HASHER", PRODUCTION_PIN_HASHER)
        for name, value in PRODUCTION_KDF.items():
            patch.setattr(store_key, name, value)
        yield
