"""The Goals tab: the person's words can be read whole, and a target date that has passed
is said in words."""

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QTableView

from mdt_desk.models.enums import GoalOutcome
from mdt_desk.models.store import Store
from mdt_desk.services import plans
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.goals_table_model import GoalsTableModel
from mdt_desk.ui.runner import TaskRunner
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child

WAIT = 10_000
TODAY = dt.date.today()
LONG_GOAL = (
    "I want to see the sea from the harbour wall again with my grandson, and walk back "
    "up the hill to my house without having to stop and sit down on the way"
)


@pytest.fixture
def runner(store: Store, team) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


@pytest.fixture
def goals_table(qtbot, runner, store, practice_ids, team) -> Iterator[QTableView]:
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, team["social_worker"])
    with store.write(team["social_worker"]) as session:
        add = plans.add_goal
        add(session, case_id, description=LONG_GOAL, target_on=TODAY - dt.timedelta(days=30))
        done = add(session, case_id, description="Bake bread", target_on=TODAY - dt.timedelta(1))
        plans.set_goal_outcome(session, done, GoalOutcome.ACHIEVED)
        add(session, case_id, description="Garden", target_on=TODAY + dt.timedelta(days=30))
        add(session, case_id, description="Sleep through", target_on=None)
    record = CaseRecordWidget(runner, patient_id, None)
    qtbot.addWidget(record)
    record.resize(1100, 750)  # as the trial saw it
    record.show()
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    record.show_tab("goals")
    table = child(record, QTableView, "goals_table")
    qtbot.waitUntil(lambda: table.model().rowCount() == 4, timeout=WAIT)
    qtbot.waitUntil(table.isVisible, timeout=WAIT)
    yield table


def test_the_goal_is_wrapped_and_shown_whole(qtbot, goals_table: QTableView) -> None:
    model = goals_table.model()
    column = GoalsTableModel.DESCRIPTION
    metrics = goals_table.fontMetrics()
    header = model.headerData(column, Qt.Orientation.Horizontal)
    assert goals_table.columnWidth(column) > metrics.horizontalAdvance(header)
    # the words' column is the widest, not squeezed to make room for Outcome
    widths = [goals_table.columnWidth(c) for c in range(model.columnCount())]
    assert widths[column] == max(widths)
    assert goals_table.wordWrap()
    text_width = goals_table.columnWidth(column) - 8  # the cell's margins
    needed = metrics.boundingRect(
        QRect(0, 0, text_width, 10_000), Qt.TextFlag.TextWordWrap, LONG_GOAL
    ).height()
    qtbot.waitUntil(lambda: goals_table.rowHeight(0) >= needed, timeout=WAIT)
    assert needed > metrics.height()  # it really is more than one line at this width
    index = model.index(0, column)
    assert index.data() == LONG_GOAL
    assert index.data(Qt.ItemDataRole.ToolTipRole) == LONG_GOAL


def test_a_passed_target_date_is_flagged_in_words(goals_table: QTableView) -> None:
    model = goals_table.model()
    target = GoalsTableModel.TARGET
    texts = [model.index(row, target).data() for row in range(model.rowCount())]
    assert texts == [
        f"{cui_date(TODAY - dt.timedelta(days=30))} — target date passed",
        cui_date(TODAY - dt.timedelta(days=1)),  # achieved: nothing to flag
        cui_date(TODAY + dt.timedelta(days=30)),
        "Not set",
    ]
    # read out by a screen reader the same way
    assert model.index(0, target).data(Qt.ItemDataRole.AccessibleTextRole) == texts[0]
