"""Real faults for a desk store: a full disk, a read-only file or folder, a second
writer holding the lock, garbage bytes. Shared by the store and command-line tests.

The store is a SQLCipher database: another program that opens it is given the store's
key (on its standard input, never in its arguments) and uses the SQLCipher driver.

The disk faults need mounts, so root (CI runs the suite as root). Root ignores file
permission bits, so "read-only" is made by the kernel instead: a tmpfs remounted
read-only, or a read-only bind mount over one file.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from mdt_desk.models.store import connect_store_file
from mdt_desk.models.store_key import store_key

#: How much of a page-sized store is overwritten to damage it (after the header).
SQLITE_HEADER_BYTES = 100
#: The store's page size: :func:`damage` overwrites its first pages.
PAGE_BYTES = 4096
DAMAGED_PAGES = 3

#: The start of a script for another program that opens the store at ``sys.argv[1]``
#: with the key it reads on its first line of standard input, as ``connection``.
_KEYED_CONNECTION = (
    "import sys\n"
    "import sqlcipher3.dbapi2 as sqlcipher\n"
    "connection = sqlcipher.connect(sys.argv[1], isolation_level=None)\n"
    "connection.execute('PRAGMA cipher_log_level = NONE')\n"
    "key = sys.stdin.readline().strip()\n"
    'connection.execute(f"PRAGMA key = \\"x\'{key}\'\\"")\n'
)


def _another_program(path: Path, script: str) -> subprocess.Popen[str]:
    """``script`` run by another Python process, with the store's key given to it."""
    program = subprocess.Popen(
        [sys.executable, "-c", _KEYED_CONNECTION + script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert program.stdin is not None
    program.stdin.write(store_key(path).hex() + "\n")
    program.stdin.flush()
    return program


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _unmount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


@contextmanager
def small_disk(folder: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (created), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        pytest.skip(f"mounting a tmpfs is not permitted here (needs root, as in CI): {detail}")
    try:
        yield folder
    finally:
        _unmount(folder)


def fill_disk(folder: Path) -> Path:
    """Fill the file system holding ``folder`` to the last byte; returns the filler."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        block = b"\0" * 4096
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
    return filler


def remount_read_only(folder: Path) -> None:
    _mount("-o", "remount,ro", str(folder))


@contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """``path`` made read-only by a read-only bind mount over it (works for root)."""
    try:
        _mount("--bind", str(path), str(path))
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        pytest.skip(f"bind mounts are not permitted here (needs root, as in CI): {error}")
    try:
        _mount("-o", "remount,ro,bind", str(path))
        yield path
    finally:
        _unmount(path)


@contextmanager
def second_writer(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store's write lock until the block ends."""
    script = (
        "connection.execute('BEGIN IMMEDIATE')\n"
        "print('holding', flush=True)\n"
        "sys.stdin.readline()\n"
        "connection.execute('ROLLBACK')\n"
    )
    holder = _another_program(path, script)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=10)


def damage(path: Path) -> None:
    """Overwrite the store's first pages, after the header, with garbage bytes.

    The rest of the file is left as it was: that the key still opens those pages is
    what tells a damaged store from a wrong key (garbage throughout is both; see
    :func:`garble`).
    """
    size = path.stat().st_size
    assert size > (DAMAGED_PAGES + 1) * PAGE_BYTES, "too small a store to damage in part"
    with path.open("r+b") as handle:
        handle.seek(SQLITE_HEADER_BYTES)
        handle.write(os.urandom(DAMAGED_PAGES * PAGE_BYTES - SQLITE_HEADER_BYTES))


def garble(path: Path) -> None:
    """Overwrite everything after the SQLite header with garbage bytes."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(SQLITE_HEADER_BYTES)
        handle.write(os.urandom(size - SQLITE_HEADER_BYTES))


def files_beside(path: Path) -> list[str]:
    return sorted(name.name for name in path.parent.iterdir())


#: What :func:`half_written` writes part-way: a schema revision no MDT Desk has.
HALF_WRITTEN_REVISION = "0099_half_written"


@contextmanager
def half_written(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another program part-way through a big write to the store, holding its lock.

    The store is first put in rollback-journal mode, as a tool that turns WAL off to
    copy the file as one leaves it (MDT Desk turns WAL back on when it opens it). The
    write then overflows a tiny page cache, so SQLite writes uncommitted pages into
    the store file itself: a reader that ignores locks sees half a change. Ending the
    block rolls the write back; killing the process leaves a hot journal, as a crash
    would.
    """
    connection = connect_store_file(path, store_key(path))
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    committed = path.stat().st_size
    script = (
        "connection.execute('PRAGMA cache_size=8')\n"
        "connection.execute('BEGIN IMMEDIATE')\n"
        "connection.execute('UPDATE alembic_version SET version_num = ?',"
        f" ({HALF_WRITTEN_REVISION!r},))\n"
        "connection.execute('CREATE TABLE filler (data BLOB)')\n"
        "for _ in range(200):\n"
        "    connection.execute('INSERT INTO filler VALUES (randomblob(4000))')\n"
        "print('holding', flush=True)\n"
        "sys.stdin.readline()\n"
        "connection.execute('ROLLBACK')\n"
    )
    writer = _another_program(path, script)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "holding"
        # Encrypted, the revision cannot be seen in the bytes: the file has grown by the
        # uncommitted pages instead.
        assert path.stat().st_size > committed, "nothing reached the file"
        yield writer
    finally:
        let_go(writer)
        writer.wait(timeout=10)


def let_go(writer: subprocess.Popen[str]) -> None:
    """Tell the writer of :func:`half_written` to roll its write back and end."""
    if writer.poll() is None and writer.stdin is not None:
        with suppress(BrokenPipeError, ValueError):  # it ended meanwhile
            writer.stdin.write("\n")
            writer.stdin.flush()
