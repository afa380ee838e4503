"""The Meetings tab and its agenda builder, driven from the keyboard on a demo store."""

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStyle,
    QTableView,
    QWidget,
)

from mdt_desk.models.enums import AgendaReason, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import agenda_rules, meetings
from mdt_desk.ui.itemmodels.agenda_table_models import (
    AGENDA_ITEM_MIME,
    AgendaTableModel,
    MeetingListTableModel,
    ProposalTableModel,
)
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.meetings.meetings_page import MeetingsPage
from mdt_desk.ui.meetings.schedule_dialog import ScheduleMeetingDialog
from tests.ui.finders import child, focused
from tests.ui.signed_in import acting
from tests.ui.test_main_window import open_window

WAIT = 10_000


def open_meetings(qtbot, path: Path, wait_idle) -> tuple[MainWindow, MeetingsPage]:
    window = open_window(qtbot, path, wait_idle)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = window.meetings_page
    assert page is not None and window.workspace.currentWidget() is page
    wait_idle(window)
    qtbot.waitUntil(lambda: page.detail is not None, timeout=WAIT)
    wait_idle(window)
    return window, page


def agenda_entry(item_id: uuid.UUID, number: int) -> meetings.AgendaEntry:
    return meetings.AgendaEntry(
        id=item_id,
        meeting_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        patient_name=f"PERSON, Number {number}",
        initials="N.P.",
        nhs_number_text="999 000 0018",
        practice_code="A81001",
        position=float(number),
        reason=AgendaReason.REVIEW_DUE,
        reason_text="Review due",
        reason_detail="",
        minutes_allotted=10,
        carried_count=0,
        presenter_id=None,
        summary="",
        outcome=None,
        outcome_text="",
        decisions="",
        discussed_at=None,
        seconds_taken=0,
    )


def agenda_names(page: MeetingsPage) -> list[str]:
    return [entry.patient_name for entry in page.agenda_model.rows()]


def fit_the_soonest_agenda(path: Path) -> uuid.UUID:
    """Take items off the end of the soonest planned meeting's agenda until it fits the
    meeting's length (the demo's may run over), so that taking off the item that makes it
    run over brings it back within the length. Returns the meeting's id."""
    with Store.open(path) as store, store.write(acting(store), "test set-up") as session:
        meeting = min(
            (m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED),
            key=lambda m: m.starts_at,
        )
        detail = meetings.get_meeting(session, meeting.id)
        agenda = list(detail.agenda)
        planned = detail.minutes_planned
        while planned > meeting.duration_minutes:
            last = agenda.pop()
            meetings.remove_from_agenda(session, last.id)
            planned -= last.minutes_allotted
        assert agenda, "the agenda keeps a case to move the new one past and to run over with"
        return meeting.id


def test_the_chair_builds_an_agenda_with_the_keyboard(qtbot, demo_store_path, wait_idle) -> None:
    meeting_id = fit_the_soonest_agenda(demo_store_path)
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    detail = page.detail
    assert detail is not None
    # The first meeting shown is the soonest planned one, with the rules' proposals.
    assert detail.meeting.status is MeetingStatus.PLANNED
    assert detail.meeting.id == meeting_id
    assert detail.over_by_minutes == 0
    proposals = page.proposal_model.rows()
    assert proposals, "the demo's next meeting has cases to propose"
    assert all(p.reasons and all(r.text for r in p.reasons) for p in proposals)
    shown_reason = page.proposal_model.index(0, 2).data()
    assert shown_reason == proposals[0].reasons_text

    # Enter accepts the chosen proposal; it moves to the end of the agenda.
    before = agenda_names(page)
    page.proposal_table.setFocus()
    page.proposal_table.selectRow(0)
    qtbot.keyClick(page.proposal_table, Qt.Key.Key_Return)
    wait_idle(window)
    assert agenda_names(page) == [*before, proposals[0].patient_name]
    assert [p.case_id for p in page.proposal_model.rows()] == [p.case_id for p in proposals[1:]]
    assert page.agenda_model.rows()[-1].minutes_allotted == proposals[0].suggested_minutes

    # Delete dismisses the next one: gone from the proposals, and not proposed again.
    if len(proposals) > 1:
        page.proposal_table.setFocus()
        page.proposal_table.selectRow(0)
        qtbot.keyClick(page.proposal_table, Qt.Key.Key_Delete)
        wait_idle(window)
        assert proposals[1].case_id not in {p.case_id for p in page.proposal_model.rows()}
        with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
            again = agenda_rules.propose(session, detail.meeting.id)
        assert proposals[1].case_id not in {p.case_id for p in again}

    # Ctrl+Up moves the last item up one place.
    names = agenda_names(page)
    page.agenda_table.setFocus()
    page.agenda_table.selectRow(len(names) - 1)
    qtbot.keyClick(page.agenda_table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    wait_idle(window)
    assert agenda_names(page) == [*names[:-2], names[-1], names[-2]]
    assert page.agenda_table.currentIndex().row() == len(names) - 2  # still on it

    # Minutes for the chosen item; the total against the meeting's length follows.
    length = detail.meeting.duration_minutes
    page.minutes_spin.setValue(length)
    wait_idle(window)
    assert page.detail is not None and page.detail.over_by_minutes > 0
    chosen = page.agenda_model.rows()[page.agenda_table.currentIndex().row()]
    assert chosen.minutes_allotted == length
    planned = page.detail.minutes_planned
    assert f"Agenda: {planned} of {length} minutes" in page.time_label.text()
    assert "minutes over" in page.time_label.text()

    # Delete on the agenda takes the item off again: the rest fits the meeting.
    count = len(agenda_names(page))
    qtbot.keyClick(page.agenda_table, Qt.Key.Key_Delete)
    wait_idle(window)
    assert len(agenda_names(page)) == count - 1
    assert chosen.id not in {entry.id for entry in page.agenda_model.rows()}
    assert page.detail.minutes_planned == planned - length
    assert page.detail.over_by_minutes == 0
    assert f"Agenda: {planned - length} of {length} minutes" in page.time_label.text()
    assert "minutes over" not in page.time_label.text()

    # What the screen showed is what the store holds.
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        stored = [entry.patient_name for entry in meetings.agenda(session, detail.meeting.id)]
    assert stored == agenda_names(page)


def test_a_case_is_added_by_hand_with_find(qtbot, demo_store_path, wait_idle) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    detail = page.detail
    assert detail is not None
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        listed = {entry.case_id for entry in meetings.agenda(session, detail.meeting.id)}
        # Someone with an open case at this practice, not on the agenda yet.
        from mdt_desk.services.caseload import CaseloadQuery, CaseloadView, caseload_rows

        rows = caseload_rows(
            session,
            CaseloadQuery(view=CaseloadView.ALL_OPEN, practice_id=detail.meeting.practice_id),
            offset=0,
            limit=200,
        )
    person = next(row for row in rows if row.case_id not in listed)
    page.add_find.setFocus()
    qtbot.keyClicks(page.add_find, person.nhs_number.replace(" ", ""))
    qtbot.waitUntil(page.add_find.results.isVisible, timeout=WAIT)
    qtbot.keyClick(page.add_find, Qt.Key.Key_Down)
    qtbot.keyClick(page.add_find, Qt.Key.Key_Return)
    wait_idle(window)
    added = page.agenda_model.rows()[-1]
    assert added.case_id == person.case_id
    assert added.reason is AgendaReason.ADDED_BY_CHAIR
    assert added.reason_detail.startswith("Added by the chair")


def test_scheduling_a_series_keeps_what_was_typed_on_an_error(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    before = page.meeting_model.rowCount()
    qtbot.keyClick(
        window,
        Qt.Key.Key_M,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: page.current_dialog is not None, timeout=WAIT)
    dialog = page.current_dialog
    assert isinstance(dialog, ScheduleMeetingDialog)
    assert QApplication.activeModalWidget() is dialog or dialog.isVisible()
    title = child(dialog, QLineEdit, "meeting_title")
    qtbot.keyClicks(title, "Locality frailty MDT")
    dialog.day_edit.set_date(dt.date.today() + dt.timedelta(days=10))
    dialog.repeat_combo.setCurrentIndex(dialog.repeat_combo.findData(2))
    dialog.count_spin.setValue(3)
    invited = child(dialog, QListWidget, "meeting_invited")
    assert any(
        invited.item(n).checkState() == Qt.CheckState.Checked for n in range(invited.count())
    ), "the practice's own staff are invited by default"
    # No place and no video link: refused, next to the field, with the title kept.
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    place_error = dialog.errors.label_for("location")
    assert place_error.isVisible() and "where the meeting is" in place_error.text()
    assert title.text() == "Locality frailty MDT"
    qtbot.keyClicks(child(dialog, QLineEdit, "meeting_place"), "Seminar room 2")
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    qtbot.waitUntil(lambda: page.current_dialog is None, timeout=WAIT)
    wait_idle(window)
    wait_idle(window)
    series = [m for m in page.meeting_model.rows() if m.title == "Locality frailty MDT"]
    assert len(series) == 3 and page.meeting_model.rowCount() == before + 3
    days = sorted(m.day for m in series)
    assert [b - a for a, b in itertools.pairwise(days)] == [dt.timedelta(weeks=2)] * 2
    assert (
        page.detail is not None
        and page.detail.meeting.id == min(series, key=lambda m: m.starts_at).id
    )  # the new meeting is chosen, ready for its agenda


def test_dropping_an_item_asks_for_the_move_and_leaves_the_rows(qtbot) -> None:
    model = AgendaTableModel()
    ids = [uuid.uuid4() for _ in range(4)]
    model.set_rows([agenda_entry(item_id, n) for n, item_id in enumerate(ids)])
    data = model.mimeData([model.index(0, 0)])
    assert data.hasFormat(AGENDA_ITEM_MIME)
    with qtbot.waitSignal(model.move_requested) as moved:
        # Dropped into the gap before row 3: it lands at index 2 once it has left row 0.
        assert model.dropMimeData(data, Qt.DropAction.MoveAction, 3, 0, QModelIndex()) is False
    assert moved.args == [ids[0], 2]
    assert [entry.id for entry in model.rows()] == ids  # the service decides; rows unchanged
    model.reorderable = False
    assert not model.canDropMimeData(data, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    assert not model.canDropMimeData(QMimeData(), Qt.DropAction.MoveAction, 1, 0, QModelIndex())


def test_meeting_models_pass_qtmodeltester(qtmodeltester, demo_store_path) -> None:
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        rows = meetings.list_meetings(session)
        planned = next(m for m in rows if m.status is MeetingStatus.PLANNED)
        proposals = agenda_rules.propose(session, planned.id)
        entries = meetings.agenda(session, planned.id)
    meeting_list = MeetingListTableModel()
    meeting_list.set_rows(rows)
    qtmodeltester.check(meeting_list)
    proposal_list = ProposalTableModel()
    proposal_list.set_rows(proposals)
    qtmodeltester.check(proposal_list)
    agenda_list = AgendaTableModel()
    agenda_list.set_rows(entries)
    qtmodeltester.check(agenda_list)


def test_tab_leaves_each_table_and_reaches_the_proposals(qtbot, demo_store_path, wait_idle) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    window.activateWindow()
    for table in (page.meeting_table, page.proposal_table, page.agenda_table):
        assert not table.tabKeyNavigation()
    proposals = page.proposal_model.rows()
    assert proposals
    page.meeting_table.setFocus()
    passed = []
    for _ in range(4):
        qtbot.keyClick(focused(QWidget), Qt.Key.Key_Tab)
        if focused(QWidget) is page.proposal_table:
            break
        passed.append(focused(QWidget).objectName())
    assert focused(QTableView) is page.proposal_table
    # only the meeting's own buttons lie between the two tables
    assert set(passed) <= {"start_meeting_button", "cancel_meeting_button"}
    # the table with the keyboard shows its chosen row brighter than the others do
    highlight = QPalette.ColorRole.Highlight
    assert page.proposal_table.palette().color(highlight) != (
        page.meeting_table.palette().color(highlight)
    )
    # Enter there accepts the chosen proposal
    chosen = page.proposal_model.row_at(page.proposal_table.currentIndex().row())
    assert chosen is not None
    qtbot.keyClick(page.proposal_table, Qt.Key.Key_Return)
    wait_idle(window)
    assert chosen.case_id in {entry.case_id for entry in page.agenda_model.rows()}
    # and Tab goes on through its buttons to the agenda, then the agenda's tools
    order = []
    page.proposal_table.setFocus()
    for _ in range(12):
        qtbot.keyClick(focused(QWidget), Qt.Key.Key_Tab)
        order.append(focused(QWidget).objectName())
    enabled = [name for name in order if name]
    assert enabled.index("agenda_table") < enabled.index("move_up_button")
    assert enabled[: enabled.index("agenda_table")] == [
        "accept_proposal_button",
        "accept_all_button",
        "dismiss_proposal_button",
    ]


def dialog_mnemonics(dialog: QWidget) -> list[str]:
    letters = []
    for widget in dialog.findChildren(QWidget):
        if isinstance(widget, QLabel) and widget.buddy() is None:
            continue
        if isinstance(widget, QLabel | QAbstractButton):
            found = re.search(r"&([^&])", widget.text().replace("&&", ""))
            if found:
                letters.append(found.group(1).lower())
    return letters


def test_schedule_dialog_mnemonics_defaults_and_searchable_pickers(
    qtbot, demo_store_path, wait_idle
) -> None:
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    dialog = page.show_schedule_dialog()
    letters = dialog_mnemonics(dialog)
    assert len(letters) >= 12  # every field and the Save button
    assert len(letters) == len(set(letters)), sorted(letters)
    # "All practices" in the filter: the signed-in member's first covered practice
    me = next(m for m in page._staff if m.id == window.runner.desk.actor_id)
    practice = next(p for p in page._practices if p.id == dialog.practice_id())
    if me.practice_codes and any(p.ods_code in me.practice_codes for p in page._practices):
        assert practice.ods_code in me.practice_codes
    # the chair is found by any part of the name
    chair = child(dialog, QComboBox, "meeting_chair")
    assert chair.isEditable()
    completer = chair.completer()
    assert completer is not None and completer.filterMode() == Qt.MatchFlag.MatchContains
    assert dialog.chair_id() == window.runner.desk.actor_id
    # a half-typed practice is refused with a message that says what to do
    combo = child(dialog, QComboBox, "meeting_practice")
    line = combo.lineEdit()
    assert line is not None
    line.setText(line.text()[:4])
    assert dialog.practice_id() is None
    qtbot.keyClicks(child(dialog, QLineEdit, "meeting_place"), "Room 1")
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    error = dialog.errors.label_for("practice")
    assert error.text().endswith(
        "Choose the practice from the list: type part of its name or ODS code and pick it."
    )
    dialog.reject()
    # with a practice chosen in the filter, the dialog starts on it
    page.practice_filter.setCurrentIndex(page.practice_filter.count() - 1)
    wait_idle(window)
    again = page.show_schedule_dialog()
    assert again.practice_id() == page.practice_filter.currentData()
    again.reject()


def test_also_covering_sits_beside_its_list(qtbot, demo_store_path, wait_idle) -> None:
    _window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    dialog = page.show_schedule_dialog()
    qtbot.waitExposed(dialog)
    others = child(dialog, QListWidget, "meeting_other_practices")
    caption = next(label for label in dialog.findChildren(QLabel) if label.buddy() is others)
    top_of_list = others.mapTo(dialog, others.rect().topLeft()).y()
    top_of_caption = caption.mapTo(dialog, caption.rect().topLeft()).y()
    assert abs(top_of_list - top_of_caption) < caption.height()
    dialog.reject()


def type_over(qtbot, dialog: QWidget, field: QWidget, text: str) -> QWidget:
    """Click into ``field``, select all, type ``text`` over it and press Tab, as a person
    does; returns the widget the keyboard went to."""
    dialog.activateWindow()
    field.setFocus()

    def in_field() -> bool:
        widget = QApplication.focusWidget()
        return widget is not None and (widget is field or field.isAncestorOf(widget))

    qtbot.waitUntil(in_field, timeout=WAIT)
    typing = QApplication.focusWidget()
    assert typing is not None
    qtbot.keyClick(typing, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(typing, text)
    qtbot.keyClick(typing, Qt.Key.Key_Tab)
    after = QApplication.focusWidget()
    assert after is not None
    return after


def test_a_start_time_typed_over_the_old_one_is_the_time_typed(
    qtbot, demo_store_path, wait_idle
) -> None:
    """Typing 14:30 over 13:00 used to give 13:30 (the spin box kept the old hour)."""
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    for typed in ("14:30", "1430", "2:30pm", "2.30 pm"):
        dialog = page.show_schedule_dialog()
        qtbot.waitExposed(dialog)
        field = child(dialog, QWidget, "meeting_time")
        assert dialog.start_time() == dt.time(13, 0)
        after = type_over(qtbot, dialog, field, typed)
        assert after is child(dialog, QWidget, "meeting_length")  # Tab goes on to Length
        assert dialog.start_time() == dt.time(14, 30), typed
        line = field.findChild(QLineEdit)
        assert line is not None and line.text() == "14:30"  # shown as 24-hour HH:mm
        assert line.accessibleName() == "Starts at"
        dialog.reject()

    # A time it cannot read stays as typed, says why next to itself, and saves nothing.
    before = page.meeting_model.rowCount()
    dialog = page.show_schedule_dialog()
    qtbot.waitExposed(dialog)
    field = child(dialog, QWidget, "meeting_time")
    line = field.findChild(QLineEdit)
    assert line is not None
    type_over(qtbot, dialog, field, "25:00")
    message = [label for label in field.findChildren(QLabel) if label.isVisible()]
    assert line.text() == "25:00"
    assert [label.text() for label in message] == [
        "Error: '25:00' is not a real time: there is no hour 25."
    ]
    assert line.accessibleDescription().endswith("there is no hour 25.")
    qtbot.keyClicks(child(dialog, QLineEdit, "meeting_place"), "Seminar room 2")
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    assert page.current_dialog is dialog and dialog.isVisible()
    assert page.meeting_model.rowCount() == before
    assert line.text() == "25:00" and message[0].isVisible()
    assert child(dialog, QPushButton, "ok_button").isEnabled()
    # Corrected, it saves the time typed.
    qtbot.keyClicks(child(dialog, QLineEdit, "meeting_title"), "Afternoon MDT")
    type_over(qtbot, dialog, field, "2:30pm")
    assert not message[0].isVisible()
    qtbot.mouseClick(child(dialog, QPushButton, "ok_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.current_dialog is None, timeout=WAIT)
    wait_idle(window)
    made = next(m for m in page.meeting_model.rows() if m.title == "Afternoon MDT")
    assert made.starts_at.astimezone(meetings.LONDON).time() == dt.time(14, 30)
    assert made.starts_text.endswith(" 14:30")


@pytest.fixture
def app_font(qapp) -> Iterator[Callable[[int], None]]:
    """Set the application font's size (ux.md: the system font size is respected); the
    font is put back afterwards."""
    before = QApplication.font()

    def set_size(points: int) -> None:
        bigger = QFont(before)
        bigger.setPointSize(points)
        QApplication.setFont(bigger)

    yield set_size
    QApplication.setFont(before)


def meeting_columns_read_whole(page: MeetingsPage) -> list[int]:
    """Checks every heading and the date, time and status of every row are not cut;
    returns the date and status columns."""
    table = page.meeting_table
    model = page.meeting_model
    header = table.horizontalHeader()
    assert model.rowCount() > 0
    assert {MeetingStatus.PLANNED, MeetingStatus.FINISHED} <= {m.status for m in model.rows()}
    metrics = table.fontMetrics()
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
    headings = [column.header for column in model.columns]
    for column, heading in enumerate(headings):
        # no heading is cut ("Date and t…")
        assert header.sectionSizeFromContents(column).width() <= table.columnWidth(column), heading
    whole = [headings.index("Date and time"), headings.index("Status")]
    for column in whole:
        for row in range(model.rowCount()):
            text = model.index(row, column).data()
            assert metrics.horizontalAdvance(text) + margin <= table.columnWidth(column), text
    # The free text (meeting, practices, chair) may be cut; its tooltip holds it whole.
    for column in range(model.columnCount()):
        index = model.index(0, column)
        assert index.data(Qt.ItemDataRole.ToolTipRole) == index.data()
    return whole


@pytest.mark.parametrize("points", [None, 10], ids=["system font", "10 pt"])
def test_meeting_list_dates_and_statuses_read_whole_at_1280_by_800(
    qtbot, demo_store_path, wait_idle, app_font, points
) -> None:
    if points is not None:
        app_font(points)
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=WAIT)
    wait_idle(window)
    table = page.meeting_table
    header = table.horizontalHeader()
    assert table.horizontalScrollBar().value() == 0
    for column in meeting_columns_read_whole(page):
        # …and in view without scrolling sideways, the status beside the date
        left = header.sectionViewportPosition(column)
        assert left >= 0 and left + header.sectionSize(column) <= table.viewport().width(), (
            page.meeting_model.headerData(column, Qt.Orientation.Horizontal),
            left,
            header.sectionSize(column),
            table.viewport().width(),
        )


@pytest.mark.slow
def test_meeting_list_columns_follow_a_large_system_font(
    qtbot, demo_store_path, wait_idle, app_font
) -> None:
    app_font(14)  # fixed pixel widths cut "10-Dec-2026 12:30" at this size
    _window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    meeting_columns_read_whole(page)


def test_three_quick_ctrl_ups_move_a_case_up_three_places(
    qtbot, demo_store_path, wait_idle
) -> None:
    """Pressed faster than the store answers, each Ctrl+Up still moves the case one place:
    a trial user's third press was lost (each press counted from the row on screen, which
    the previous move had not reached yet)."""
    window, page = open_meetings(qtbot, demo_store_path, wait_idle)
    if len(agenda_names(page)) < 4:
        qtbot.mouseClick(page.accept_all_button, Qt.MouseButton.LeftButton)
        wait_idle(window)
    names = agenda_names(page)
    assert len(names) >= 4, "the demo's next meeting has four cases to order"
    page.agenda_table.setFocus()
    page.agenda_table.selectRow(3)
    for _press in range(3):
        qtbot.keyClick(page.agenda_table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    wait_idle(window)
    assert agenda_names(page) == [names[3], *names[:3], *names[4:]]
    assert page.agenda_table.currentIndex().row() == 0  # still on it
    # a fourth press at the top leaves the order as it is
    qtbot.keyClick(page.agenda_table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    wait_idle(window)
    assert agenda_names(page) == [names[3], *names[:3], *names[4:]]
    with Store.open(demo_store_path) as store, store.read(acting(store)) as session:
        assert page.detail is not None
        stored = [e.patient_name for e in meetings.agenda(session, page.detail.meeting.id)]
    assert stored == agenda_names(page)
