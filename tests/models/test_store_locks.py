"""The store keeps SQLite's locks while it is open, whatever else opens it in this process.

A new user ran ``mdt-desk stats`` while the window was open: the window's sync worker had
opened the store a second time, reading its header through a plain file descriptor, and
closing that descriptor dropped every POSIX lock the window held on the file. The command
then took the store for unused, checkpointed and deleted its WAL as it closed, and the
window's next writes went into the deleted file: the store was damaged (H96).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from mdt_desk.models.store import Store
from mdt_desk.models.store_key import PASSPHRASE_ENV
from mdt_desk.services.check import check_store


def _another_program_reads(path: Path) -> None:
    """What any other program does: open the store, read, close (SQLite's last-close rules).

    The store is encrypted: the program opens it with its key (sealed by the store
    passphrase in the environment) through the SQLCipher driver, as a raw connection.
    """
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mdt_desk.models.store import connect_store_file\n"
        "from mdt_desk.models.store_key import store_key\n"
        "path = Path(sys.argv[1])\n"
        "c = connect_store_file(path, store_key(path))\n"
        "c.execute('SELECT count(*) FROM store_meta').fetchone()\n"
        "c.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)


@pytest.mark.slow
def test_a_second_open_in_this_process_leaves_the_first_ones_wal_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(PASSPHRASE_ENV, "lock tests store passphrase")  # the child opens it too
    path = tmp_path / "desk.sqlite"
    window = Store.open(path)
    try:
        with window.write(None) as session:  # the window is working: its WAL is open
            session.execute(text("INSERT INTO store_meta (key, value) VALUES ('a', '1')"))
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()

        worker = Store.open(path, create=False)  # as the sync worker opens its own
        worker.close()
        _another_program_reads(path)

        assert wal.exists(), "another program took the open store for unused and removed its WAL"
        for n in range(50):  # the window goes on writing, as after the trial's command
            with window.write(None) as session:
                session.execute(
                    text("INSERT INTO store_meta (key, value) VALUES (:k, 'x')"), {"k": f"k{n}"}
                )
        _another_program_reads(path)
        with window.read() as session:
            kept = session.execute(
                text("SELECT count(*) FROM store_meta WHERE key LIKE 'k%'")
            ).scalar_one()
        assert kept == 50
    finally:
        window.close()
    with Store.open(path, create=False) as reopened:
        report = check_store(reopened)
    assert report.passed, report
