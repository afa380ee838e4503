"""Stores made once for a module of tests (a demo takes seconds) and shared by its tests.

Each test has its own in-memory keyring (see ``conftest.memory_keyring``), and a store
made by a module-scoped fixture is made before any test's keyring exists. So a shared
store is made with its key sealed under a passphrase (:func:`made_sealed`), and the
fixture hands on the key itself: a test keeps it in its own keyring, either for a copy
of the file (:func:`copy_store`) or for the shared file itself (:func:`unlock`).
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mdt_desk.models.store_key import PASSPHRASE_ENV, keep_key, key_file_path, store_key

SHARED_STORE_PASSPHRASE = "shared test store passphrase"


@contextmanager
def made_sealed() -> Iterator[None]:
    """Inside: a store made at ``path`` is sealed by a passphrase, not kept in a keyring."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSPHRASE_ENV, SHARED_STORE_PASSPHRASE)
        yield


def sealed_key(path: Path) -> bytes:
    """The key of a store made inside :func:`made_sealed`."""
    with made_sealed():
        return store_key(path)


def unlock(path: Path, key: bytes) -> Path:
    """Keep ``key`` for the store at ``path`` in this test's keyring (or sealed by this
    test's store passphrase, if it set one)."""
    keep_key(path, key)
    return path


def copy_store(source: Path, key: bytes, target: Path) -> Path:
    """A copy of the store ``source`` at ``target``, its key kept for this test."""
    shutil.copyfile(source, target)
    key_file_path(target).unlink(missing_ok=True)
    return unlock(target, key)


def store_sealed_by_passphrase(
    path: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A new store on a computer without a keyring: its key sealed by ``passphrase``,
    which must be asked for to open it again (nothing remembers it)."""
    import keyring
    from keyring.backends import fail

    from mdt_desk.models.store import Store
    from mdt_desk.models.store_key import forget_unlocked_keys

    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv(PASSPHRASE_ENV, passphrase)
    with Store.open(path):
        pass
    monkeypatch.delenv(PASSPHRASE_ENV)
    forget_unlocked_keys()
    return path
