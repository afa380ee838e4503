"""The sync settings kept in ``QSettings``, declared once (never the password).

The hub address belongs to one store, not to the computer: a demo store opened on a
team laptop must never start syncing with the team's hub. So the key carries a short
digest of the store's path.
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


def saved_hub_address(store_path: Path | str, settings: QSettings | None = None) -> str | None:
    """The hub address saved for this store by Settings → Team hub, or None (local only)."""
    value = (settings or QSettings()).value(hub_address_key(store_path), "")
    text = str(value).strip() if value else ""
    return text or None


def save_hub_address(
    store_path: Path | str, address: str | None, settings: QSettings | None = None
) -> None:
    settings = settings or QSettings()
    if address:
        settings.setValue(hub_address_key(store_path), address)
    else:
        settings.remove(hub_address_key(store_path))
    settings.sync()
