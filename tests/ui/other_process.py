"""A desk store that a test's child process opens too."""

from pathlib import Path

import pytest

from mdt_desk.models.store_key import PASSPHRASE_ENV, keep_key, read_key_file, store_key


def share_store_key_with_other_processes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process cannot see this test's in-memory keyring: seal the store's key by
    a passphrase instead, and put the passphrase in the environment it inherits."""
    key = store_key(path)
    monkeypatch.setenv(PASSPHRASE_ENV, "desk test store passphrase")
    keep_key(path, key, store_id=read_key_file(path).store_id)
