"""Raw SQL on a desk store in tests: the store is a SQLCipher database, so a plain
``sqlite3`` connection cannot read it. :func:`connect` opens it with its own key (from
the test's keyring, or sealed by the store passphrase in the environment), through the
same ``sqlcipher3`` driver the desk uses; its exceptions are :mod:`sqlcipher3.dbapi2`'s
(``errors.IntegrityError`` and so on), not :mod:`sqlite3`'s."""

from pathlib import Path
from typing import Any

import sqlcipher3.dbapi2 as errors

from mdt_desk.models.store import connect_store_file
from mdt_desk.models.store_key import store_key

__all__ = ["connect", "errors"]


def connect(path: str | Path, *, read_only: bool = False, **options: Any) -> Any:
    """A DB-API connection to the store at ``path``, keyed; ``read_only`` as ``mode=ro``.

    ``options`` are passed on as for :func:`sqlite3.connect` where they apply
    (``isolation_level``).
    """
    path = Path(path)
    raw = connect_store_file(path, store_key(path), options="mode=ro" if read_only else "")
    if "isolation_level" in options:
        raw.isolation_level = options["isolation_level"]
    return raw
