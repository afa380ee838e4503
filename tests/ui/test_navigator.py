"""The navigator's counts are the lists they open, on a real window."""

import re
import uuid
from pathlib import Path

from mdt_desk.models.store import Store
from mdt_desk.services import cases, plans
from mdt_desk.services.caseload import CaseloadQuery, CaseloadView, caseload_count, caseload_rows
from mdt_desk.ui.main_window import MainWindow
from tests.local_zone import local_date_not_londons
from tests.ui.signed_in import acting
from tests.ui.test_main_window import open_window, signed_in_name

COUNT = re.compile(r"\((\d+)\)$")
REVIEW_VIEWS = (CaseloadView.REVIEWS_OVERDUE, CaseloadView.REVIEWS_DUE_THIS_WEEK)


def navigator_count(window: MainWindow, view: CaseloadView) -> int:
    match = COUNT.search(window.navigator._view_items[view].text())
    assert match is not None
    return int(match.group(1))


def test_the_counts_match_the_lists_when_the_computer_is_not_on_london_time(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    """Around midnight a computer kept on UTC is on another day than London: the counts
    beside "Reviews overdue" or "Overdue actions" must still be what those lists show,
    judged on London's day."""
    me = uuid.UUID(signed_in_name(demo_store_path)[0])
    with local_date_not_londons() as (local_day, london_day):
        # Due on the earlier of the two days: overdue by one clock and not by the other.
        boundary = min(local_day, london_day)
        with Store.open(demo_store_path) as store:
            with store.read(acting(store)) as session:
                mine = caseload_rows(
                    session, CaseloadQuery(view=CaseloadView.MY_CASELOAD, coordinator_id=me)
                )
            assert mine, "the demo coordinator has open cases"
            with store.write(me) as session:
                cases.set_next_review(session, mine[0].case_id, boundary)
                plans.add_action(
                    session,
                    mine[0].case_id,
                    description="Check the key safe code",
                    owner_id=me,
                    due_on=boundary,
                    today=boundary,
                )
            with store.read(acting(store)) as session:
                by_london = {
                    view: caseload_count(
                        session, CaseloadQuery(view=view, coordinator_id=me), london_day
                    )
                    for view in REVIEW_VIEWS
                }
        window = open_window(qtbot, demo_store_path, wait_idle)
        for view in REVIEW_VIEWS:
            with qtbot.waitSignal(window.caseload_model.loaded, timeout=5000) as shown:
                window.navigator.select_view(view)
            assert navigator_count(window, view) == shown.args[0] == by_london[view], view
        with qtbot.waitSignal(window.action_list.loaded, timeout=5000) as shown:
            window.navigator.select_view(CaseloadView.OVERDUE_ACTIONS)
        assert navigator_count(window, CaseloadView.OVERDUE_ACTIONS) == shown.args[0]
        wait_idle(window)
