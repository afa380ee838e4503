"""Files only their owner may read: the store, its key file, backups, exports and PDFs.

Everything MDT Desk writes about a person is created 0600, and the folders it creates for
them 0700, whatever the umask. Where the operating system has no POSIX modes (Windows),
the file inherits the user profile's access list, which is private already.
"""

import os
import stat
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700


def make_private(path: Path) -> None:
    """Make an existing file readable and writable by its owner only."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE_MODE:
            path.chmod(PRIVATE_FILE_MODE)
    except FileNotFoundError:
        pass


def create_private_folder(path: Path) -> None:
    """Create ``path`` (and any missing parents) 0700; an existing folder is left alone."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; say it again.
        folder.chmod(PRIVATE_FOLDER_MODE)


def touch_private(path: Path) -> None:
    """Create ``path`` empty and 0600 if it is not there (before SQLite creates it 0644)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(descriptor)
    make_private(path)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, the file 0600 from its first byte."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    make_private(path)
