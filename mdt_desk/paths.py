"""Where MDT Desk keeps its files on this computer."""

import os
from pathlib import Path

import platformdirs

APP_NAME = "MDT Desk"
STORE_FILE_NAME = "mdt-desk.sqlite"
#: Overrides the default store location (used by tests and by site installers).
STORE_ENVIRONMENT_VARIABLE = "MDT_DESK_STORE"


def default_store_path() -> Path:
    """The desk store in the platform's *local* (never roaming) data folder.

    Linux: ``~/.local/share/MDT Desk/``; Windows: ``%LOCALAPPDATA%\\MDT Desk\\``;
    macOS: ``~/Library/Application Support/MDT Desk/``.
    """
    override = os.environ.get(STORE_ENVIRONMENT_VARIABLE)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path(APP_NAME, appauthor=False, roaming=False) / STORE_FILE_NAME
