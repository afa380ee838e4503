"""Keyboard mnemonics: in every window and dialog each Alt+letter does one thing.

The walk opens the main window on a demo store (menu bar, caseload, meetings, each section
of a record), every dialog of the record and of the main window, meeting mode and its
summary, and the first-run welcome. In each it collects the ``&`` letters that are live
at once — button texts, labels with a buddy, group box titles, tab texts and, for the main
window, the menu bar's menus — and fails on a letter used twice. It also fails on a label
with an ``&`` but no buddy (the ``&`` is shown, and the letter does nothing), on a menu
with the same letter twice, and on a dialog or window class nobody walked.
"""

import datetime as dt
import importlib
import inspect
import pkgutil
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)

import mdt_desk.ui
from mdt_desk.models.enums import InterventionKind, MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from mdt_desk.services.case_view import CaseTransition, InterventionView
from mdt_desk.services.desk import Desk
from mdt_desk.services.meeting_mode import MeetingEnd, TimeStatistics
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.ui.case_record.access_panel import BreakGlassDialog
from mdt_desk.ui.case_record.dialogs import DischargeDialog, EndInterventionDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.meeting_mode.summary_dialog import MeetingSummaryDialog
from mdt_desk.ui.meeting_mode.window import MeetingModeWindow
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.sign_in_dialog import SignInDialog
from mdt_desk.ui.startup_shell import StartupShell
from mdt_desk.ui.store_passphrase_dialog import StorePassphraseDialog
from mdt_desk.ui.sync.review_dialog import ReviewListDialog
from mdt_desk.ui.welcome_dialog import WelcomeDialog
from tests.ui.signed_in import acting, create_main_window

WAIT = 10_000
RECORD_TABS = ("summary", "coordinator", "care_team", "goals", "action_plan", "notes", "history")
# "A&E attendance", "R&D": an ampersand between two capitals is a word, not a mnemonic.
_LITERAL_AMPERSAND = re.compile(r"(?<=[A-Z])&(?=[A-Z]\b)")


def mnemonic(text: str) -> str | None:
    """The Alt+letter of a text (``C&hange`` → ``h``); ``&&`` is a plain ampersand."""
    text = _LITERAL_AMPERSAND.sub("", text.replace("&&", ""))
    match = re.search(r"&(\S)", text)
    return match.group(1).lower() if match else None


@dataclass
class Scope:
    """The mnemonics live at one moment in one window."""

    name: str
    owners: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    orphan_labels: list[str] = field(default_factory=list)

    def clashes(self) -> list[str]:
        return [
            f"{self.name}: Alt+{key.upper()} is {' and '.join(owners)}"
            for key, owners in sorted(self.owners.items())
            if len(owners) > 1
        ]


def collect(window: QWidget, name: str) -> Scope:
    """The live mnemonics of ``window`` as it is shown now."""
    scope = Scope(name)

    def add(text: str, what: str) -> None:
        key = mnemonic(text)
        if key is not None:
            scope.owners[key].append(f"{what} {text!r}")

    if isinstance(window, QMainWindow) and window.menuBar().isVisible():
        for action in window.menuBar().actions():
            if action.isVisible():
                add(action.text(), "menu")
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.window() is not window:
            continue
        if isinstance(widget, QAbstractButton):  # a disabled one gets its letter back later
            add(widget.text(), type(widget).__name__)
        elif isinstance(widget, QLabel):
            if widget.buddy() is not None:
                add(widget.text(), "label")
            elif mnemonic(widget.text()) and "<" not in widget.text():
                scope.orphan_labels.append(f"{name}: label {widget.text()!r} has no buddy")
        elif isinstance(widget, QGroupBox):
            add(widget.title(), "group")
        if isinstance(widget, QDialogButtonBox):
            for button in widget.buttons():
                role = widget.buttonRole(button)
                accepting = role in (QDialogButtonBox.ButtonRole.AcceptRole,)
                if accepting and button.isVisible() and mnemonic(button.text()) is None:
                    scope.orphan_labels.append(
                        f"{name}: {button.text()!r} has no letter (Alt+letter would type into "
                        "the field instead)"
                    )
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                if widget.isTabVisible(index) and widget.isTabEnabled(index):
                    add(widget.tabText(index), "tab")
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if not (isinstance(parent, QWidget) and parent.isVisible() and shortcut.isEnabled()):
            continue
        match = re.fullmatch(r"Alt\+(\w)", shortcut.key().toString())
        if match:  # a shortcut on Alt+letter takes that letter as a mnemonic would
            scope.owners[match.group(1).lower()].append(f"shortcut {shortcut.key().toString()}")
    return scope


def menu_clashes(menu: QMenu, path: str) -> list[str]:
    """Within one open menu each letter leads to one item; submenus checked too."""
    found: list[str] = []
    scope = Scope(f"menu {path}")
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        key = mnemonic(action.text())
        if key is not None:
            scope.owners[key].append(repr(action.text()))
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            found += menu_clashes(submenu, f"{path} > {action.text()}")
    return scope.clashes() + found


# -- driving the app ---------------------------------------------------------------------


@dataclass
class Walk:
    scopes: list[Scope] = field(default_factory=list)
    walked: set[type] = field(default_factory=set)

    def look(self, window: QWidget, name: str) -> None:
        self.scopes.append(collect(window, name))
        self.walked.add(type(window))

    def problems(self) -> list[str]:
        return [p for s in self.scopes for p in s.clashes()] + [
            o for s in self.scopes for o in s.orphan_labels
        ]


def shown_dialog(qtbot, kind: type[QWidget]) -> QWidget:
    found: list[QWidget] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind)]
        found[:] = [w for w in found if w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible, timeout=WAIT)
    return found[-1]


def close_dialogs() -> None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.done(0)


@pytest.fixture
def window(qtbot, demo_store_path: Path, wait_idle) -> Iterator[MainWindow]:
    main = create_main_window(demo_store_path)
    qtbot.addWidget(main)
    main.show()
    wait_idle(main)
    yield main
    close_dialogs()


def demo_record(qtbot, window: MainWindow, wait_idle, status: str) -> CaseRecordWidget:
    """Open a demo person whose case has ``status`` (e.g. ``active``)."""
    store = window.runner.desk.store
    from sqlalchemy import select

    from mdt_desk.models import Case

    with store.read(acting(store)) as session:
        case = session.scalars(
            select(Case).where(Case.status == status, Case.retired_at.is_(None)).limit(1)
        ).one()
        patient_id, case_id = case.patient_id, case.id
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    wait_idle(window)
    return record


def walk_main_window(qtbot, window: MainWindow, wait_idle, walk: Walk) -> None:
    window.show_caseload()
    wait_idle(window)
    walk.look(window, "main window, caseload")
    record = demo_record(qtbot, window, wait_idle, "active")
    for name in RECORD_TABS:
        record.show_tab(name)
        wait_idle(window)
        qtbot.waitUntil(lambda: not record.runner.busy, timeout=WAIT)
        walk.look(window, f"main window, record: {name}")
    # the summary's status buttons differ by status
    for status in ("referred", "under_review", "closed"):
        other = demo_record(qtbot, window, wait_idle, status)
        other.show_tab("summary")
        wait_idle(window)
        walk.look(window, f"main window, record summary ({status})")
    window.show_meetings()
    wait_idle(window)
    walk.look(window, "main window, meetings")


#: an intervention to end, whatever the demo record holds
_REABLEMENT = InterventionView(
    id=uuid.uuid4(),
    kind=InterventionKind.REABLEMENT,
    kind_text="Reablement",
    provider="County reablement team",
    started_text="01-Nov-2026",
    planned_end_text="13-Dec-2026",
    ended_text="",
    outcome=None,
    outcome_text="",
)


def walk_record_dialogs(qtbot, window: MainWindow, wait_idle, walk: Walk) -> None:
    active = demo_record(qtbot, window, wait_idle, "active")
    opens: list[tuple[str, Callable[[], object]]] = [
        ("change coordinator", active.coordinator_tab.open_change_coordinator_dialog),
        ("add goal", active.goals_tab.open_add_goal_dialog),
        ("outcome event", active.summary_tab.open_outcome_event_dialog),
        ("survey answers", active.summary_tab.open_survey_dialog),
        (
            "discharge",
            lambda: _shown(DischargeDialog(dt.date.today(), "01-Nov-2026", window)),
        ),
        ("close case", lambda: active.summary_tab.start_transition(CaseTransition.CLOSE)),
        ("add intervention", active.summary_tab.open_add_intervention_dialog),
        (
            "end intervention",
            lambda: _shown(EndInterventionDialog(dt.date.today(), _REABLEMENT, window)),
        ),
    ]
    opens.append(("add to the care team", active.care_team_tab.open_add_member_dialog))
    active.show_tab("notes")
    active.notes_tab.table.selectRow(0)
    opens.append(("amend note", active.notes_tab.open_amend_dialog))
    for name, opener in opens:
        dialog = opener()
        if isinstance(dialog, QDialog):
            qtbot.waitExposed(dialog)
            walk.look(dialog, f"dialog: {name}")
            dialog.done(0)
        else:  # opened by the tab; find it
            shown = shown_dialog(qtbot, QDialog)
            assert isinstance(shown, QDialog)
            walk.look(shown, f"dialog: {name}")
            shown.done(0)
        close_dialogs()
    referred = demo_record(qtbot, window, wait_idle, "referred")
    referred.summary_tab.start_transition(CaseTransition.ACCEPT)
    shown = shown_dialog(qtbot, QDialog)
    walk.look(shown, "dialog: accept referral")
    close_dialogs()
    reviewing = demo_record(qtbot, window, wait_idle, "under_review")
    reviewing.summary_tab.start_transition(CaseTransition.FINISH_REVIEW)
    shown = shown_dialog(qtbot, QDialog)
    walk.look(shown, "dialog: finish review")
    close_dialogs()
    closed = demo_record(qtbot, window, wait_idle, "closed")
    closed.summary_tab.start_transition(CaseTransition.REOPEN)
    shown = shown_dialog(qtbot, QDialog)
    walk.look(shown, "dialog: reopen")
    close_dialogs()


def set_up_sign_in_dialog(window: MainWindow) -> SignInDialog:
    """The sign-in without a PIN that only a store in set-up offers."""
    dialog = SignInDialog(window.runner, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def walk_window_dialogs(qtbot, window: MainWindow, wait_idle, walk: Walk) -> None:
    referral = window.show_new_referral()
    qtbot.waitExposed(referral)
    wait_idle(window)
    walk.look(referral, "dialog: new referral")
    referral.nhs_edit.setText("943 476 5919")  # no one here has it: the form to register
    referral.find_person()
    qtbot.waitUntil(referral.family_edit.isVisible, timeout=WAIT)
    wait_idle(window)
    walk.look(referral, "dialog: new referral, registering")
    referral.done(0)
    for name, opener in (
        ("keyboard shortcuts", window.show_shortcuts),
        ("team hub", window.show_team_hub),
        ("hub status", lambda: _shown(_hub_status(window))),
        ("team", window.show_team_settings),
        ("sign in (set-up)", lambda: set_up_sign_in_dialog(window)),
        ("break glass", lambda: _shown(BreakGlassDialog(window))),
        ("store passphrase", lambda: _store_passphrase(window, new=False)),
        ("store passphrase, choosing one", lambda: _store_passphrase(window, new=True)),
    ):
        opened: QDialog = opener()
        assert isinstance(opened, QDialog)
        qtbot.waitExposed(opened)
        wait_idle(window)
        walk.look(opened, f"dialog: {name}")
        opened.done(0)
    # past set-up, File → Lock and switch person is the lock screen in the window
    window.lock()
    wait_idle(window)
    walk.look(window, "main window: locked")
    window.sign_in_page.pin_edit.setText(DEMO_PIN)
    with qtbot.waitSignal(window.sign_in_page.signed_in, timeout=WAIT):
        window.sign_in_page.sign_in()
    wait_idle(window)
    review = ReviewListDialog(window.runner, window)  # the menu opens it only with items
    review.show()
    qtbot.waitExposed(review)
    wait_idle(window)
    walk.look(review, "dialog: needs review")
    review.done(0)
    window.show_meetings()
    wait_idle(window)
    window.show_schedule_meeting()
    schedule = shown_dialog(qtbot, QDialog)
    assert isinstance(schedule, QDialog)
    wait_idle(window)
    walk.look(schedule, "dialog: schedule meeting")
    schedule.done(0)
    demo_record(qtbot, window, wait_idle, "active")
    preview = window.print_current()
    assert preview is not None
    qtbot.waitExposed(preview)
    wait_idle(window)
    walk.look(preview, "dialog: print preview")
    preview.done(0)


def _shown(dialog: QDialog) -> QDialog:
    dialog.show()
    return dialog


def _hub_status(window: MainWindow) -> QDialog:
    """Settings → Team hub → Desks on this hub… (here on a hub that is not there)."""
    from mdt_desk.ui.sync.hub_status_dialog import HubStatusDialog

    missing = window.runner.desk.store.path.with_name("no-hub.sqlite")
    return HubStatusDialog(window.sync_controller, f"sqlite:///{missing}", parent=window)


def _store_passphrase(window: MainWindow, *, new: bool) -> QDialog:
    """The dialog asked before a store opens (no keyring), shown over the window here."""
    return _shown(StorePassphraseDialog(window.runner.desk.store.path, new=new, parent=window))


def walk_meeting_mode(qtbot, store: Store, runner: TaskRunner, walk: Walk) -> None:
    with store.read(acting(store)) as session:
        meeting = next(
            m for m in meetings.list_meetings(session) if m.status is MeetingStatus.PLANNED
        )
    mode = MeetingModeWindow(runner, meeting.id)
    qtbot.addWidget(mode)
    mode.resize(1600, 900)
    mode.show()
    qtbot.waitUntil(lambda: not runner.busy, timeout=WAIT)
    walk.look(mode, "meeting mode")
    # a decision line becomes an action: the inline form adds its own letters
    decisions = mode.findChild(QPlainTextEdit, "decisions_edit")
    assert decisions is not None and decisions.isVisible(), "the demo meeting has an agenda"
    decisions.setFocus()
    qtbot.keyClicks(decisions, "Ask the GP to review painkillers")
    qtbot.keyClick(decisions, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    form = mode.findChild(QWidget, "action_form")
    assert form is not None
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    walk.look(mode, "meeting mode, new action")
    mode.close()
    end = MeetingEnd(meeting=meeting, items=(), next_meeting=None, rolled_over=0)
    times = TimeStatistics(
        items=(), minutes_allotted=90, minutes_taken=0.0, discussed=0, not_reached=0
    )
    summary = MeetingSummaryDialog(end, times, full_names=True)
    qtbot.addWidget(summary)
    summary.show()
    qtbot.waitExposed(summary)
    walk.look(summary, "meeting summary")
    summary.done(0)


# -- the tests ---------------------------------------------------------------------------


def ui_window_classes() -> set[type]:
    """Every dialog and top-level window class defined in mdt_desk.ui."""
    found: set[type] = set()
    for info in pkgutil.walk_packages(mdt_desk.ui.__path__, "mdt_desk.ui."):
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ != module.__name__:
                continue
            if issubclass(value, QDialog | QMainWindow) or value is MeetingModeWindow:
                if issubclass(value, QMessageBox):
                    continue  # a question with standard buttons, not a form
                found.add(value)
    return found


@pytest.mark.slow
def test_every_window_and_dialog_has_unique_mnemonics(
    qtbot, window: MainWindow, wait_idle, tmp_path: Path
) -> None:
    walk = Walk()
    walk_main_window(qtbot, window, wait_idle, walk)
    walk_record_dialogs(qtbot, window, wait_idle, walk)
    walk_window_dialogs(qtbot, window, wait_idle, walk)
    walk_meeting_mode(qtbot, window.runner.desk.store, window.runner, walk)
    with Store.open(tmp_path / "fresh.sqlite") as fresh:
        fresh_runner = TaskRunner(Desk.for_store(fresh))
        try:
            welcome = WelcomeDialog(fresh_runner, None)
            qtbot.addWidget(welcome)
            welcome.show()
            qtbot.waitExposed(welcome)
            walk.look(welcome, "welcome")
            welcome.done(0)
        finally:
            fresh_runner.shutdown()
    shell = StartupShell(tmp_path / "fresh.sqlite")
    qtbot.addWidget(shell)
    shell.show()
    qtbot.waitExposed(shell)
    walk.look(shell, "start-up sign-in")
    QTest.keyClicks(shell.pin_edit, "246810")
    QTest.keyClick(shell.pin_edit, Qt.Key.Key_Return)  # Find patient appears
    walk.look(shell, "start-up sign-in, PIN sent")
    problems = walk.problems()
    assert problems == [], "\n".join(problems)
    # no dialog or window class was left out of the walk (abstract bases aside)
    from mdt_desk.ui.case_record.dialogs import RecordDialog

    missing = ui_window_classes() - walk.walked - {RecordDialog}
    assert {cls.__qualname__ for cls in missing} == set()


def test_every_menu_has_unique_mnemonics(qtbot, window: MainWindow) -> None:
    problems = [
        problem
        for action in window.menuBar().actions()
        if isinstance(action.menu(), QMenu)
        for problem in menu_clashes(cast(QMenu, action.menu()), action.text())
    ]
    assert problems == []


def test_alt_h_on_the_coordinator_tab_changes_the_coordinator_not_help(
    qtbot, window: MainWindow, wait_idle
) -> None:
    record = demo_record(qtbot, window, wait_idle, "active")
    record.show_tab("coordinator")
    button = record.coordinator_tab.change_button
    letter = mnemonic(button.text())
    assert letter is not None
    button_key = getattr(Qt.Key, f"Key_{letter.upper()}")
    record.coordinator_tab.history_table.setFocus()
    qtbot.keyClick(QApplication.focusWidget(), button_key, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: record.coordinator_tab.current_dialog is not None, timeout=WAIT)
    assert QApplication.activePopupWidget() is None  # no menu opened instead
    # and the Help menu's letter is not the button's
    help_menu = [a for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"]
    assert mnemonic(help_menu[0].text()) != letter


def test_a_save_button_answers_alt_s_instead_of_typing_into_the_field(qtbot, window) -> None:
    """The trial's Alt+S typed an "s" into the hub address: Save had no letter."""
    dialog = window.show_team_hub()
    qtbot.waitExposed(dialog)
    keys = collect(dialog, "team hub").owners
    assert "s" in keys, keys


def test_mnemonic_reading() -> None:
    assert mnemonic("C&hange coordinator…") == "h"
    assert mnemonic("A&E attendance") is None
    assert mnemonic("Fish && chips") is None
    assert mnemonic("&Save") == "s"
