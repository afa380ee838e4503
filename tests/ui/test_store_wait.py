"""A change that must wait for another program says so, then goes through."""

import threading
import time
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from mdt_desk.models import Practice
from mdt_desk.models.store import Store
from mdt_desk.services.desk import Desk
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.store_wait import StoreWaitLabel
from tests import store_sql
from tests.ui.finders import child

WAITING = "Waiting for another program writing to the store…"


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def _change_a_practice(desk: Desk) -> str:
    with desk.write() as session:
        practice = session.query(Practice).first()
        assert practice is not None
        practice.phone = "01642 999999"
        return practice.ods_code


@pytest.mark.slow
def test_a_write_waiting_for_another_program_says_so_then_goes_through(
    qtbot, store: Store, runner: TaskRunner, practice_ids
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    label = StoreWaitLabel(store, window)
    QHBoxLayout(window).addWidget(label)
    window.show()
    assert not label.isVisible()

    other = store_sql.connect(store.path, isolation_level=None)  # another program
    other.execute("BEGIN IMMEDIATE")
    done: list[str] = []
    errors: list[object] = []
    try:
        runner.run(_change_a_practice, done.append, errors.append)
        qtbot.waitUntil(label.isVisible, timeout=5_000)
        assert label is child(window, QLabel, "store_wait_label")
        assert label.text() == WAITING
        assert not done and not errors
    finally:
        other.execute("COMMIT")
        other.close()
    qtbot.waitUntil(lambda: bool(done) or bool(errors), timeout=10_000)
    assert done and not errors  # it waited, it did not fail
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=5_000)
    assert label.text() == ""


@pytest.mark.slow
def test_the_store_tells_its_listener_only_when_a_write_has_to_wait(
    store: Store, practice_ids
) -> None:
    heard: list[bool] = []
    store.busy_listener = heard.append
    with store.write(actor_label="test") as session:
        session.query(Practice).first()
    assert heard == []  # nobody else writing: nothing to say

    locked = threading.Event()

    def another_program_holds_the_write_lock() -> None:
        # Its own thread opens, locks, commits and closes: a connection stays in the
        # thread that made it.
        other = store_sql.connect(store.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(1.0)
            other.execute("COMMIT")
        finally:
            other.close()

    holder = threading.Thread(target=another_program_holds_the_write_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with store.write(actor_label="test") as session:
            practice = session.query(Practice).first()
            assert practice is not None
            practice.phone = "01642 111111"
    finally:
        holder.join()
    assert heard == [True, False]
