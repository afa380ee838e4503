"""The sync settings kept in ``QSettings``, declared once (never the password).

The hub address belongs to one store, not to the computer: a demo store opened on a
team laptop must never start syncing with the team's hub. So the key carries a short
digest of the store's path. A store with no saved address uses the hub it records
itself (joined from the command line): see :func:`saved_hub_address`.
"""

import hashlib
from pathlib import Path

from PySide6.QtCore import QSettings


class SyncSettingsKey:
    """Every sync key in ``QSettings``."""

    #: The team hub's address for one store, without a password (``str``; absent: local
    #: only). Followed by ``/`` and :func:`store_key`.
    HUB_ADDRESS = "sync/hub_address"


def store_key(store_path: Path | str) -> str:
    """A short, stable name for a store file in settings keys."""
    return hashlib.sha256(str(Path(store_path).resolve()).encode()).hexdigest()[:16]


def hub_address_key(store_path: Path | str) -> str:
    return f"{SyncSettingsKey.HUB_ADDRESS}/{store_key(store_path)}"


def saved_hub_address(
    store_path: Path | str, settings: QSettings | None = None, *, joined: str | None = None
) -> str | None:
    """The hub this store syncs with, or None (local only).

    The address saved by Settings → Team hub wins, and a desk set to "local only" there
    stays local only. Otherwise it is ``joined``: the hub the store itself records
    (``Desk.hub_address``), which ``mdt-desk sync --hub URL`` writes, so a desk that
    joined a hub from the command line shows and syncs with that hub in the app.
    """
    settings = settings or QSettings()
    key = hub_address_key(store_path)
    if settings.contains(key):
        value = settings.value(key, "")
        text = str(value).strip() if value else ""
        return text or None
    return (joined or "").strip() or None


def save_hub_address(
    store_path: Path | str, address: str | None, settings: QSettings | None = None
) -> None:
    settings = settings or QSettings()
    # "" is kept, not removed: local only chosen here outlasts the hub the store joined.
    settings.setValue(hub_address_key(store_path), address or "")
    settings.sync()
