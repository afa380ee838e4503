"""The main window on a demo store: caseload, saved views, quick find, window state."""

import uuid
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from mdt_desk.services.caseload import CaseloadView
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.itemmodels.caseload_table_model import COLUMNS, PAGE_SIZE, CaseloadRole
from mdt_desk.ui.main_window import MainWindow
from tests import store_sql
from tests.ui.signed_in import create_main_window


def open_window(qtbot, path: Path, wait_idle) -> MainWindow:
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.show()
    wait_idle(window)
    return window


def column_texts(window: MainWindow, key: str) -> list[str]:
    model = window.caseload_model
    column = [c.key for c in COLUMNS].index(key)
    return [model.index(row, column).data() for row in range(min(model.rowCount(), PAGE_SIZE))]


def signed_in_name(path: Path) -> tuple[str, str]:
    with store_sql.connect(path) as db:
        (staff_id,) = db.execute(
            "SELECT value FROM store_meta WHERE key = 'signed_in_staff_id'"
        ).fetchone()
        given, family = db.execute(
            "SELECT given_name, family_name FROM staff WHERE id = ?", (uuid.UUID(staff_id).hex,)
        ).fetchone()
    return staff_id, f"{given} {family}"


def test_opens_on_my_caseload_with_the_signed_in_coordinator(
    qtbot, qtmodeltester, demo_store_path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    _staff_id, name = signed_in_name(demo_store_path)
    assert window.signed_in_label.text() == f"Signed in: {name}"
    assert window.sync_label.text() == "Local only"
    assert str(demo_store_path) in window.store_label.text()
    model = window.caseload_model
    assert model.rowCount() > 0
    count = model.rowCount()
    assert window.caseload_page.heading.text() == (
        f"My caseload — {count} cases" if count != 1 else "My caseload — 1 case"
    )
    coordinators = set(column_texts(window, "coordinator"))
    assert coordinators == {name}
    assert window.caseload_table.accessibleName() == "Caseload"
    assert window.quick_find.accessibleName() == "Find patient"
    qtmodeltester.check(model)


def test_caseload_columns_follow_the_cui_formats(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    wait_idle(window)
    names = column_texts(window, "name")
    numbers = column_texts(window, "nhs_number")
    reviews = column_texts(window, "next_review")
    assert all(name.split(",")[0] == name.split(",")[0].upper() for name in names)
    assert all(len(n) == 12 and n[3] == " " and n[7] == " " for n in numbers)
    overdue = [text for text in reviews if text.endswith("— overdue")]
    assert overdue, "the demo has overdue reviews, marked in words"
    day, month, year = overdue[0].split(" ")[0].split("-")
    assert len(day) == 2 and month.isalpha() and len(month) == 3 and len(year) == 4


def test_sorting_by_a_column_is_done_by_the_store(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    wait_idle(window)
    nhs_column = [c.key for c in COLUMNS].index("nhs_number")
    window.caseload_table.sortByColumn(nhs_column, Qt.SortOrder.DescendingOrder)
    wait_idle(window)
    numbers = column_texts(window, "nhs_number")
    assert numbers == sorted(numbers, reverse=True)
    assert window.caseload_model.query.sort == "nhs_number"


def test_rows_beyond_the_first_page_load_when_scrolled_to(
    qtbot, demo_store_path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    window.navigator.select_view(CaseloadView.ALL_OPEN)
    wait_idle(window)
    model = window.caseload_model
    assert model.rowCount() > PAGE_SIZE
    last = model.rowCount() - 1
    assert model.row_at(last) is None
    assert model.index(last, 0).data() == "Loading…"
    window.caseload_table.scrollToBottom()
    wait_idle(window)
    loaded = model.row_at(last)
    assert loaded is not None
    assert model.index(last, 0).data().startswith(loaded.family_name.upper())


def test_choosing_a_practice_shows_its_open_cases(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    tree = window.navigator
    practices_root = tree.item_model.item(1)
    locality = practices_root.child(0)
    practice = locality.child(0)
    tree.setCurrentIndex(practice.index())
    wait_idle(window)
    expected = int(practice.text().rsplit("(", 1)[1].rstrip(")"))
    assert window.caseload_model.rowCount() == expected
    assert set(column_texts(window, "practice")) == {practice.toolTip().split(" · ")[0]}
    assert window.caseload_page.heading.text().startswith(practice.text().rsplit(" (", 1)[0])


def test_quick_find_by_nhs_number_opens_the_record(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    with store_sql.connect(demo_store_path) as db:
        patient_id, number = db.execute(
            "SELECT p.id, p.nhs_number FROM patient p JOIN care_case c ON c.patient_id = p.id "
            "LIMIT 1"
        ).fetchone()
    window.focus_quick_find()
    with qtbot.waitSignal(window.quick_find.results_shown, timeout=5000):
        qtbot.keyClicks(window.quick_find, f"{number[:3]} {number[3:6]} {number[6:]}")
    wait_idle(window)
    assert window.quick_find.model.rowCount() == 1
    assert window.quick_find.results.isVisible()
    with store_sql.connect(demo_store_path) as db:
        (practice_name,) = db.execute(
            "SELECT pr.name FROM patient p JOIN practice pr ON pr.id = p.practice_id"
            " WHERE p.id = ?",
            (patient_id,),
        ).fetchone()
    # The practice is named as people know it, not by its ODS code.
    shown_practice = window.quick_find.model.index(0, 4).data()
    assert shown_practice.lower() == practice_name.lower()
    qtbot.keyClick(window.quick_find, Qt.Key.Key_Return)
    record = window.workspace.currentWidget()
    assert isinstance(record, CaseRecordWidget)
    assert record.patient_id == uuid.UUID(patient_id)
    # Ready for the next person.
    assert window.quick_find.text() == ""
    assert not window.quick_find.results.isVisible()


def test_quick_find_narrows_as_the_user_types(qtbot, qtmodeltester, demo_store_path, wait_idle):
    window = open_window(qtbot, demo_store_path, wait_idle)
    with store_sql.connect(demo_store_path) as db:
        (family,) = db.execute(
            "SELECT family_name FROM patient GROUP BY family_name ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    window.focus_quick_find()
    counts = []
    for letter in family[:4]:
        with qtbot.waitSignal(window.quick_find.results_shown, timeout=5000) as shown:
            qtbot.keyClick(window.quick_find, letter)
        counts.append(shown.args[0])
    wait_idle(window)
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    model = window.quick_find.model
    assert all(
        model.index(row, 0).data().startswith(family[:4].upper()) for row in range(model.rowCount())
    )
    qtmodeltester.check(model)
    # Tall enough for its matches: up to a dozen rows show without scrolling.
    results = window.quick_find.results
    shown_rows = min(model.rowCount(), 12)
    last = results.visualRect(model.index(shown_rows - 1, 0))
    assert results.viewport().rect().contains(last.bottomLeft())
    assert results.geometry().bottom() <= window.height()
    qtbot.keyClick(window.quick_find, Qt.Key.Key_Escape)
    assert not window.quick_find.results.isVisible()


def test_window_state_columns_and_open_records_are_remembered(
    qtbot, demo_store_path, wait_idle
) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    risk = [c.key for c in COLUMNS].index("risk")
    window.column_actions[risk].setChecked(False)
    index = window.caseload_model.index(0, 0)
    window.open_record(index.data(CaseloadRole.PATIENT_ID), index.data(CaseloadRole.CASE_ID))
    window.splitter.setSizes([200, 1080])
    window.close()
    again = open_window(qtbot, demo_store_path, wait_idle)
    assert again.caseload_table.horizontalHeader().isSectionHidden(risk)
    assert not again.column_actions[risk].isChecked()
    assert [r.patient_id for r in again.open_records()] == [index.data(CaseloadRole.PATIENT_ID)]
    assert again.splitter.sizes()[0] == 200


def test_a_new_store_opens_without_blocking_and_offers_set_up(qtbot, tmp_path: Path) -> None:
    window = create_main_window(tmp_path / "fresh.sqlite")
    qtbot.addWidget(window)
    window.show()
    assert window.signed_in_label.text() == "Signed in: nobody yet"
    assert (tmp_path / "fresh.sqlite").exists()
    dialog = window.show_welcome()
    assert dialog.isVisible() and QApplication.activeModalWidget() in (dialog, None)
    dialog.reject()


def test_keyboard_shortcuts_are_listed(qtbot, demo_store_path, wait_idle) -> None:
    window = open_window(qtbot, demo_store_path, wait_idle)
    dialog = window.show_shortcuts()
    groups = [dialog.tree.topLevelItem(n) for n in range(dialog.tree.topLevelItemCount())]
    listed = {
        item.text(1)
        for group in groups
        if group is not None
        for item in (group.child(row) for row in range(group.childCount()))
        if item is not None
    }
    assert {"Ctrl+F", "Ctrl+N", "Ctrl+Z", "Ctrl+Shift+Z", "F1", "Ctrl+W"} <= listed
    dialog.close()


def test_every_interactive_widget_has_an_accessible_name(qtbot, demo_store_path, wait_idle) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QLineEdit

    window = open_window(qtbot, demo_store_path, wait_idle)
    unnamed = [
        widget.objectName() or type(widget).__name__
        for kind in (QLineEdit, QAbstractItemView, QAbstractButton)
        for widget in window.findChildren(kind)
        if widget.isVisible()
        and not widget.accessibleName()
        and not getattr(widget, "text", lambda: "")()
    ]
    assert unnamed == []
