"""A demo interrupted part-way is refused plainly by the next run, never called damaged."""

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdt_desk.cli import main
from mdt_desk.errors import StoreFullError, UserError
from mdt_desk.models.store import Store, connect_store_file
from mdt_desk.models.store_key import PASSPHRASE_ENV, StoreKeyError, store_key
from mdt_desk.services import demo
from mdt_desk.services.check import check_store
from mdt_desk.services.demo import META_DEMO_UNFINISHED, generate_demo, unfinished_demo
from tests import store_sql
from tests.conftest import TODAY

UNFINISHED = r"(?i)this store holds an unfinished demo.*: start again with a new file"


def test_a_demo_that_fails_part_way_is_refused_as_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "BATCH_PATIENTS", 20)
    real_write = demo._write
    batches = {"n": 0}

    def disk_fills_in_the_second_batch(session, table, rows):
        if table is demo._BATCH_TABLES[0]:
            batches["n"] += 1
            if batches["n"] == 2:
                raise StoreFullError("The disk holding the store is full.")
        real_write(session, table, rows)

    monkeypatch.setattr(demo, "_write", disk_fills_in_the_second_batch)
    path = tmp_path / "demo.sqlite"
    with Store.open(path) as store:
        with pytest.raises(StoreFullError):
            generate_demo(store, patients=50, seed=3, today=TODAY)
        assert unfinished_demo(store) == (20, 50)
    monkeypatch.setattr(demo, "_write", real_write)
    with Store.open(path) as store:  # opens: the store is whole, the demo is not
        assert check_store(store).passed
        with pytest.raises(UserError, match=UNFINISHED) as caught:
            generate_demo(store, patients=50, seed=3, today=TODAY)
    assert "damaged" not in str(caught.value).replace("not damaged", "")


def test_a_finished_demo_leaves_no_unfinished_mark(tmp_path: Path) -> None:
    with Store.open(tmp_path / "demo.sqlite") as store:
        generate_demo(store, patients=30, seed=3, today=TODAY)
        assert store.get_meta(META_DEMO_UNFINISHED) is None
        assert unfinished_demo(store) is None
        with pytest.raises(UserError, match="already has patients"):
            generate_demo(store, patients=30, seed=3, today=TODAY)


def _progress(path: Path) -> str | None:
    try:
        raw = connect_store_file(path, store_key(path), options="mode=ro", timeout=1)
        try:
            row = raw.execute(
                "SELECT value FROM store_meta WHERE key = ?", (META_DEMO_UNFINISHED,)
            ).fetchone()
        finally:
            raw.close()
    except (StoreKeyError, store_sql.errors.Error):  # not made yet, or no key file yet
        return None
    return None if row is None else str(row[0])


@pytest.mark.slow
def test_a_demo_killed_part_way_is_refused_by_the_next_run(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "demo tests store passphrase")  # made by the child
    path = tmp_path / "demo.sqlite"
    script = (
        "import sys\n"
        "from mdt_desk.services import demo\n"
        "demo.BATCH_PATIENTS = 250\n"
        "from mdt_desk.cli import main\n"
        f"sys.exit(main(['demo', '--patients', '20000', '--store', {str(path)!r}]))\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while (mark := _progress(path)) in (None, "0/20000"):
            assert run.poll() is None, "the demo ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL
    assert mark is not None and mark.endswith("/20000")

    out = io.StringIO()
    status = main(["demo", "--patients", "100", "--store", str(path)], out=out)
    error = capsys.readouterr().err
    assert status == 2
    assert "This store holds an unfinished demo" in error
    assert "start again with a new file" in error
    assert "damaged" not in error.replace("not damaged", "")
    assert main(["check", "--store", str(path)], out=io.StringIO()) == 0
