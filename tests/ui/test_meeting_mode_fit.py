"""Meeting mode fits a 1280×800 projector: nothing cut off, nothing off the edge.

At 16 pt the banner's one row (name, Born, Gender, NHS No.) used to set a minimum width
of about 1350–1470 pixels, so on a 1280-pixel projector the window ran off the screen
and the Close button with it. Now zone 1 reflows onto a second line, the agenda strip
wraps, the columns scroll down (never sideways) and the buttons wrap.
"""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QWidget

from mdt_desk.models.enums import MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import patient_display_name
from mdt_desk.ui.meeting_mode import MeetingModeWindow
from mdt_desk.ui.runner import TaskRunner
from tests.ui.signed_in import acting

WAIT = 10_000
PROJECTOR = (1280, 800)


@pytest.fixture
def store(demo_store_path: Path) -> Iterator[Store]:
    with Store.open(demo_store_path) as opened:
        yield opened


@pytest.fixture
def runner(store: Store) -> Iterator[TaskRunner]:
    task_runner = TaskRunner(Desk.for_store(store))
    yield task_runner
    task_runner.shutdown()


def planned_meeting_id(store: Store) -> uuid.UUID:
    with store.read(acting(store)) as session:
        return next(
            m.id for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED
        )


def open_on_projector(qtbot, runner: TaskRunner, meeting_id: uuid.UUID) -> MeetingModeWindow:
    window = MeetingModeWindow(runner, meeting_id)
    qtbot.addWidget(window)
    window.resize(*PROJECTOR)
    with qtbot.waitSignal(window.briefing_shown, timeout=WAIT):
        window.show()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    window.resize(*PROJECTOR)
    qtbot.wait(50)
    return window


def rect_in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def clipped_labels(window: QWidget) -> list[str]:
    """Visible labels narrower than their text, or shorter than their wrapped text.

    Labels inside a scroll area are judged by width only (the area scrolls down).
    """
    clipped = []
    for label in window.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        if label.wordWrap():
            if label.heightForWidth(label.width()) > label.height() + 1:
                clipped.append(f"{label.objectName() or label.text()!r}: too short")
        elif label.sizeHint().width() > label.width() + 1:
            clipped.append(f"{label.objectName() or label.text()!r}: too narrow")
        if not window.rect().contains(rect_in(window, label)) and not any(
            isinstance(parent, QAbstractScrollArea) for parent in ancestors(label)
        ):
            clipped.append(f"{label.objectName() or label.text()!r}: off the window")
    return clipped


def ancestors(widget: QWidget) -> Iterator[QWidget]:
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


def assert_fits(window: MeetingModeWindow) -> None:
    width, height = PROJECTOR
    assert window.minimumSizeHint().width() <= width
    assert window.minimumSizeHint().height() <= height
    assert (window.width(), window.height()) == PROJECTOR  # not grown past the screen
    assert clipped_labels(window) == []
    for button in (window.close_button, window.end_button):
        assert button.isVisible()
        assert window.rect().contains(rect_in(window, button)), button.objectName()
    for button in window.agenda_strip.buttons:  # wrapped, not scrolled sideways
        assert window.rect().contains(rect_in(window, button)), button.text()
    assert not window.agenda_strip.horizontalScrollBar().isVisible()


#: A long name of the demo's own kind (its longest family name, a double given name and a
#: title): zone 1 does not fit on one line at 1280 pixels with it.
LONG_NAME = patient_display_name("Mac Giolla Phádraig", "Marie-Claire", "Revd")


def assert_zone1_flows(window: MeetingModeWindow) -> None:
    """Zone 1 on one line when it fits; otherwise the name alone on the first line and
    Born, Gender, NHS No. together on the next. The name and NHS number whole, on screen,
    never elided."""
    banner = window.banner
    flow = banner.zone1_flow
    lines = flow.lines(flow.geometry().width())
    assert banner.zone1_lines() == len(lines)
    if flow.sizeHint().width() <= flow.geometry().width():
        assert len(lines) == 1
    else:
        assert [item.widget() for item in lines[0]] == [banner.name_label]
        assert len(lines) == 2
    for value in (banner.name_label, banner.nhs_value):
        assert value.width() >= value.sizeHint().width()
        assert window.rect().contains(rect_in(window, value))
    assert len(banner.nhs_value.text().replace(" ", "")) == 10


def test_meeting_mode_fits_a_1280_by_800_projector(qtbot, store, runner) -> None:
    window = open_on_projector(qtbot, runner, planned_meeting_id(store))
    entry = window.current_entry()
    assert entry is not None
    banner = window.banner
    assert banner.name_label.text() == entry.patient_name
    assert_fits(window)
    assert_zone1_flows(window)  # whatever the demo's first name on the agenda is

    # A long name: the name on its line, Born, Gender, NHS No. next.
    view = banner._full_view
    assert view is not None
    banner.show_banner(dataclasses.replace(view, display_name=LONG_NAME))
    qtbot.wait(50)
    assert banner.name_label.text() == LONG_NAME
    assert banner.zone1_flow.sizeHint().width() > banner.zone1_flow.geometry().width()
    assert banner.zone1_lines() == 2
    assert_zone1_flows(window)
    assert_fits(window)


def test_a_deceased_person_everything_open_still_fits(qtbot, store, runner) -> None:
    window = open_on_projector(qtbot, runner, planned_meeting_id(store))
    view = window.banner._full_view
    assert view is not None
    window.banner.show_banner(
        dataclasses.replace(
            view,
            date_of_death=dt.date(2026, 12, 2),
            died_text="02-Dec-2026",
            age_at_death_text="89y",
        )
    )
    window.set_revealed(True)
    window.banner.set_details_shown(True)
    window.toggle_attendance()
    window._on_decisions_action_requested("Refer to the falls clinic")
    qtbot.waitUntil(window.action_form.isVisible, timeout=WAIT)
    qtbot.wait(50)
    assert window.banner.died_value.isVisible()
    assert window.banner.age_at_death_value.isVisible()
    assert_fits(window)
    # The new-action form scrolled into view: where the keyboard is can be seen.
    what = window.action_form.description_edit
    area = window.capture_area.viewport()
    assert what.hasFocus()
    assert area.rect().contains(rect_in(area, what))


def test_the_new_action_form_is_in_view_whole(qtbot, store, runner) -> None:
    window = open_on_projector(qtbot, runner, planned_meeting_id(store))
    window._on_decisions_action_requested("Refer to the falls clinic")
    qtbot.waitUntil(window.action_form.isVisible, timeout=WAIT)
    qtbot.wait(50)
    assert_fits(window)
    area = window.capture_area.viewport()
    for field in (window.action_form.description_edit, window.action_form.save_button):
        assert area.rect().contains(rect_in(area, field)), field.objectName()


@pytest.mark.slow
def test_wide_screens_keep_the_banner_on_one_line(qtbot, store, runner) -> None:
    window = open_on_projector(qtbot, runner, planned_meeting_id(store))
    for size in ((1600, 1000), (1920, 1080)):
        window.resize(*size)
        qtbot.wait(50)
        assert (window.width(), window.height()) == size
        assert window.banner.zone1_lines() == 1
        assert clipped_labels(window) == []
        assert window.rect().contains(rect_in(window, window.close_button))
