"""Nothing typed is lost: every free-text field of the record keeps a draft.

For each field: type, then close the record tab, or the window, or sign in as someone
else, and the text comes back, marked "Draft restored", only to the person who typed
it. Closing a form with typed text asks first; saving the item discards its draft; the
draft is saved ~400 ms after typing stops and at least once a second while it goes on.
A real app killed with SIGKILL keeps what was typed (``test_typing_survives_a_kill``).
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)
from sqlalchemy import select

from mdt_desk.errors import StoreDiskError, StoreFullError
from mdt_desk.models.entities import Note
from mdt_desk.models.enums import ClosureReason
from mdt_desk.models.store import Store
from mdt_desk.services import cases, drafts, plans
from mdt_desk.services.case_view import CaseTransition
from mdt_desk.services.display import cui_date
from mdt_desk.ui import runner as runner_module
from mdt_desk.ui.case_record.action_plan import DEFAULT_DUE_IN
from mdt_desk.ui.case_record.dialogs import RecordDialog
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.drafts import DiscardQuestion, DraftKeeper, flush_drafts
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.new_referral_dialog import NewReferralDialog
from mdt_desk.ui.sign_in_dialog import SignInDialog
from tests.conftest import TODAY
from tests.services.test_case_rules import active_case, new_patient
from tests.ui.finders import child
from tests.ui.other_process import share_store_key_with_other_processes
from tests.ui.signed_in import create_main_window

WAIT = 10_000
TYPED = "Daughter worried about nights; ring her before Friday (Zoe)"

TextField = QPlainTextEdit | QLineEdit


@dataclass(frozen=True)
class Desk:
    """A small store: an active case with a note, and a closed case."""

    path: Path
    me: uuid.UUID
    other: uuid.UUID
    patient_id: uuid.UUID
    case_id: uuid.UUID
    closed_patient_id: uuid.UUID
    closed_case_id: uuid.UUID
    note_id: uuid.UUID


@pytest.fixture
def desk(store: Store, practice_ids: dict[str, uuid.UUID], team: dict[str, uuid.UUID]) -> Desk:
    me = team["social_worker"]
    patient_id = new_patient(store, practice_ids["A81001"])
    case_id = active_case(store, patient_id, me)
    closed_patient_id = new_patient(store, practice_ids["A81001"], nhs="9990000026")
    closed_case_id = active_case(store, closed_patient_id, me)
    with store.write(me) as session:
        note_id = plans.add_note(session, case_id, "Seen at home; managing well").id
        cases.close(session, closed_case_id, reason=ClosureReason.MOVED_AWAY, on=TODAY)
    return Desk(
        store.path,
        me,
        team["district_nurse"],
        patient_id,
        case_id,
        closed_patient_id,
        closed_case_id,
        note_id,
    )


def open_window(qtbot, path: Path) -> MainWindow:
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    settle(qtbot, window)
    return window


def settle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)


def open_record(qtbot, window: MainWindow, patient_id: uuid.UUID, case_id: uuid.UUID):
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: record.view is not None, timeout=WAIT)
    settle(qtbot, window)
    return record


# -- every free-text field of the record, and how a person gets to it ------------------


def _note(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("notes")
    return record.notes_tab.note_editor


def _action(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("action_plan")
    assert record.action_plan is not None
    return record.action_plan.new_description


def _goal(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("goals")
    dialog = record.goals_tab.open_add_goal_dialog()
    assert dialog is not None
    return dialog.description_edit


def _coordinator_reason(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("coordinator")
    dialog = record.coordinator_tab.open_change_coordinator_dialog()
    assert dialog is not None
    return dialog.reason_edit


def _closure_note(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("summary")
    record.summary_tab.start_transition(CaseTransition.CLOSE)
    dialog = record.summary_tab.current_dialog
    assert dialog is not None
    return dialog.note_edit  # type: ignore[attr-defined]


def _reopen_reason(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("summary")
    record.summary_tab.start_transition(CaseTransition.REOPEN)
    dialog = record.summary_tab.current_dialog
    assert dialog is not None
    return dialog.reason_edit  # type: ignore[attr-defined]


def _amendment(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("notes")
    record.notes_tab.table.selectRow(0)
    dialog = record.notes_tab.open_amend_dialog()
    assert dialog is not None
    return dialog.amendment_edit


def _outcome_source(_window: MainWindow, record: CaseRecordWidget) -> TextField:
    record.show_tab("summary")
    dialog = record.summary_tab.open_outcome_event_dialog()
    assert dialog is not None
    return dialog.source_edit


def _care_team(part: str) -> Callable[[MainWindow, CaseRecordWidget], TextField]:
    def opener(_window: MainWindow, record: CaseRecordWidget) -> TextField:
        record.show_tab("care_team")
        dialog = record.care_team_tab.open_add_member_dialog()
        assert dialog is not None
        field = getattr(dialog, f"{part}_edit")
        assert isinstance(field, QLineEdit)
        return field

    return opener


def _referral_reason(window: MainWindow, _record: CaseRecordWidget | None) -> TextField:
    return window.show_new_referral().reason_edit


@dataclass(frozen=True)
class FreeText:
    name: str
    open: Callable[[MainWindow, CaseRecordWidget], TextField]
    in_form: bool  # in a dialog (closing it asks) rather than in the record itself
    on_closed_case: bool = False
    in_record: bool = True


FIELDS = [
    FreeText("note", _note, in_form=False),
    FreeText("new action", _action, in_form=False),
    FreeText("goal", _goal, in_form=True),
    FreeText("coordinator reason", _coordinator_reason, in_form=True),
    FreeText("closure note", _closure_note, in_form=True),
    FreeText("reopen reason", _reopen_reason, in_form=True, on_closed_case=True),
    FreeText("note correction", _amendment, in_form=True),
    FreeText("outcome event source", _outcome_source, in_form=True),
    FreeText("care team member name", _care_team("name"), in_form=True),
    FreeText("care team member role", _care_team("role"), in_form=True),
    FreeText("care team member organisation", _care_team("organisation"), in_form=True),
    FreeText("care team member contact", _care_team("contact"), in_form=True),
]
REFERRAL = FreeText("referral reason", _referral_reason, in_form=True, in_record=False)
RECORD_FIELDS = {field.name: field for field in FIELDS}
ALL_FIELDS = {**RECORD_FIELDS, REFERRAL.name: REFERRAL}


def fields(names: dict[str, FreeText], *fast: str) -> list[object]:
    """Every field; all but the ``fast`` ones are marked slow (a window each)."""
    return [
        pytest.param(name, marks=() if name in fast else pytest.mark.slow, id=name)
        for name in names
    ]


def open_field(qtbot, window: MainWindow, desk: Desk, field: FreeText) -> TextField:
    """Open the record (if the field is in one) and the field, its draft put back."""
    record = None
    if field.in_record:
        patient, case = (
            (desk.closed_patient_id, desk.closed_case_id)
            if field.on_closed_case
            else (desk.patient_id, desk.case_id)
        )
        record = open_record(qtbot, window, patient, case)
        if field.name == "new action":
            qtbot.waitUntil(lambda: record.action_plan is not None, timeout=WAIT)
    editor = field.open(window, record)  # type: ignore[arg-type]
    settle(qtbot, window)
    assert editor.isVisible() or not field.in_form
    return editor


def text_of(editor: TextField) -> str:
    return editor.toPlainText() if isinstance(editor, QPlainTextEdit) else editor.text()


def type_into(qtbot, editor: TextField, text: str = TYPED) -> None:
    editor.setFocus()
    qtbot.keyClicks(editor, text)
    assert text_of(editor) == text


def assert_restored(editor: TextField, text: str = TYPED) -> None:
    assert text_of(editor) == text
    keeper = editor.findChild(DraftKeeper)
    assert keeper is not None and keeper.notice is not None
    assert not keeper.notice.isHidden()
    assert "Draft restored" in keeper.notice.text()


def assert_empty_without_notice(editor: TextField) -> None:
    assert text_of(editor) == ""
    keeper = editor.findChild(DraftKeeper)
    assert keeper is not None and keeper.notice is not None
    assert keeper.notice.isHidden()


def form_of(editor: QWidget) -> QWidget:
    form = editor.window()
    assert isinstance(form, RecordDialog | NewReferralDialog), form
    return form


def wait_closed(qtbot, form: QWidget) -> None:
    """Until the form is closed (a record's forms are deleted once closed)."""
    qtbot.waitUntil(lambda: not shiboken6.isValid(form) or not form.isVisible(), timeout=WAIT)


def answer_question(qtbot, form: QWidget, answer: str) -> None:
    """Escape in the form with typed text: the question appears; answer it."""
    qtbot.keyClick(form, Qt.Key.Key_Escape)
    question = form.drafts.question  # type: ignore[attr-defined]
    assert isinstance(question, DiscardQuestion) and question.isVisible()
    assert all(
        button.accessibleName()
        for button in (question.keep_button, question.discard_button, question.cancel_button)
    )
    button = {
        "keep": question.keep_button,
        "discard": question.discard_button,
        "cancel": question.cancel_button,
    }[answer]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def stored_draft(desk: Desk, key: str, staff_id: uuid.UUID) -> str | None:
    with Store.open(desk.path) as store, store.read() as session:
        found = drafts.load_draft(session, key, staff_id=staff_id)
    return found.body if found is not None else None


def sign_in_as(qtbot, window: MainWindow, family_name: str) -> None:
    dialog = window.show_sign_in()
    assert isinstance(dialog, SignInDialog)
    settle(qtbot, window)
    qtbot.keyClicks(dialog.filter_edit, family_name)
    with qtbot.waitSignal(dialog.signed_in, timeout=WAIT):
        dialog.sign_in_chosen()
    settle(qtbot, window)


# -- close the record tab ------------------------------------------------------------


@pytest.mark.parametrize("name", fields(RECORD_FIELDS, "note", "goal"))
@pytest.mark.slow
def test_typed_text_survives_closing_the_record_tab(qtbot, desk: Desk, name: str) -> None:
    field = RECORD_FIELDS[name]
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, field)
    assert_empty_without_notice(editor)
    type_into(qtbot, editor)
    # at once, well inside the 400 ms: nothing may depend on the timer having fired
    window.close_current_record()
    settle(qtbot, window)
    assert window.open_records() == []

    editor = open_field(qtbot, window, desk, field)
    assert_restored(editor)
    record = window.open_records()[0]
    assert not record.drafts_label.isHidden()
    assert "Unsaved drafts kept for you" in record.drafts_label.text()


# -- close the window (quit) ---------------------------------------------------------


@pytest.mark.parametrize("name", fields(ALL_FIELDS, "new action", "referral reason"))
@pytest.mark.slow
def test_typed_text_survives_closing_the_window(qtbot, desk: Desk, name: str) -> None:
    field = ALL_FIELDS[name]
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, field)
    type_into(qtbot, editor)
    window.close()

    again = open_window(qtbot, desk.path)
    editor = open_field(qtbot, again, desk, field)
    assert_restored(editor)


# -- sign in as someone else, and back -----------------------------------------------


@pytest.mark.parametrize("name", fields(ALL_FIELDS, "note", "coordinator reason"))
@pytest.mark.slow
def test_drafts_stay_with_their_author_across_sign_in(qtbot, desk: Desk, name: str) -> None:
    field = ALL_FIELDS[name]
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, field)
    type_into(qtbot, editor)
    if field.in_form:
        answer_question(qtbot, form_of(editor), "keep")
        wait_closed(qtbot, form_of(editor))

    sign_in_as(qtbot, window, "Nowak")
    assert window.runner.desk.actor_id == desk.other
    if field.in_form:
        editor = open_field(qtbot, window, desk, field)
    assert_empty_without_notice(editor)  # never shown to the new person…
    if field.in_form:
        form = form_of(editor)
        assert isinstance(form, QDialog)
        form.reject()  # nothing typed: closes without asking
        wait_closed(qtbot, form_of(editor))
    settle(qtbot, window)
    assert stored_draft(desk, key_of(field, desk), desk.me) == TYPED  # …but kept

    sign_in_as(qtbot, window, "Okafor")
    assert window.runner.desk.actor_id == desk.me
    if field.in_form:
        editor = open_field(qtbot, window, desk, field)
    assert_restored(editor)


def key_of(field: FreeText, desk: Desk) -> str:
    kinds = {
        "note": drafts.NOTE,
        "new action": drafts.ACTION,
        "goal": drafts.GOAL,
        "coordinator reason": drafts.COORDINATOR_REASON,
        "closure note": drafts.CLOSURE_NOTE,
        "reopen reason": drafts.REOPEN_REASON,
        "outcome event source": drafts.OUTCOME_SOURCE,
    }
    if field.name.startswith("care team member "):
        part = field.name.rsplit(" ", 1)[1]
        return drafts.draft_key(f"{drafts.CARE_TEAM_MEMBER}:{part}", desk.case_id)
    if field.name == "note correction":
        return drafts.draft_key(drafts.AMENDMENT, desk.note_id)
    if field.name == "referral reason":
        return drafts.draft_key(drafts.REFERRAL_REASON, "new")
    case_id = desk.closed_case_id if field.on_closed_case else desk.case_id
    return drafts.draft_key(kinds[field.name], case_id)


# -- closing a form asks; saving discards --------------------------------------------


def test_closing_a_form_with_typed_text_asks_first(qtbot, desk: Desk) -> None:
    window = open_window(qtbot, desk.path)
    field = RECORD_FIELDS["goal"]
    editor = open_field(qtbot, window, desk, field)
    form = form_of(editor)
    type_into(qtbot, editor)

    answer_question(qtbot, form, "cancel")  # the form stays as it was
    assert form.isVisible()
    assert text_of(editor) == TYPED

    answer_question(qtbot, form, "discard")
    wait_closed(qtbot, form)
    settle(qtbot, window)
    assert stored_draft(desk, key_of(field, desk), desk.me) is None
    editor = open_field(qtbot, window, desk, field)
    assert_empty_without_notice(editor)

    # with nothing typed, the form closes without a question
    empty_form = form_of(editor)
    qtbot.keyClick(empty_form, Qt.Key.Key_Escape)
    assert empty_form.drafts.question is None  # type: ignore[attr-defined]
    assert not empty_form.isVisible()


@pytest.mark.slow
def test_saving_a_note_or_goal_discards_its_draft(qtbot, desk: Desk) -> None:
    window = open_window(qtbot, desk.path)
    note = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    type_into(qtbot, note)
    qtbot.wait(600)  # kept as a draft while typed…
    settle(qtbot, window)
    assert stored_draft(desk, key_of(RECORD_FIELDS["note"], desk), desk.me) == TYPED
    record = window.open_records()[0]
    with qtbot.waitSignal(record.history_loaded, timeout=WAIT):
        qtbot.keyClick(note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window)
    assert text_of(note) == ""
    assert stored_draft(desk, key_of(RECORD_FIELDS["note"], desk), desk.me) is None  # …gone

    goal = open_field(qtbot, window, desk, RECORD_FIELDS["goal"])
    type_into(qtbot, goal, "To walk to the shop again")
    form = form_of(goal)
    assert isinstance(form, RecordDialog)
    qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    wait_closed(qtbot, form)
    settle(qtbot, window)
    assert stored_draft(desk, key_of(RECORD_FIELDS["goal"], desk), desk.me) is None
    assert record.drafts_label.isHidden()


# -- when drafts are written ---------------------------------------------------------


@pytest.mark.slow
def test_a_draft_is_saved_soon_after_typing_stops_and_every_second_while_typing(
    qtbot, desk: Desk
) -> None:
    window = open_window(qtbot, desk.path)
    note = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    note.setFocus()
    # steady typing, a key every 150 ms for 1.5 s: the 400 ms pause never comes, so
    # only the once-a-second save can have kept anything yet
    typed = "Carer rang back."
    for character in typed[:10]:
        qtbot.keyClicks(note, character)
        qtbot.wait(150)
    kept = stored_draft(desk, key, desk.me)
    assert kept and typed.startswith(kept)  # kept while typing went on
    qtbot.keyClicks(note, typed[10:])
    qtbot.waitUntil(lambda: stored_draft(desk, key, desk.me) == typed, timeout=2_000)
    assert window.runner.desk.actor_id == desk.me


# -- a crash ---------------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time
    import uuid

    os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mdt_desk.app import create_main_window


    def run_event_loop(ms):
        # QEventLoop.exec lets the store worker thread run (QTest.qWait keeps the GIL)
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()


    def settle(window):
        for _ in range(400):
            run_event_loop(25)
            if not window.runner.busy:
                return


    app = QApplication([])
    window = create_main_window(sys.argv[1])
    window.resize(1400, 860)
    window.show()
    settle(window)
    record = window.open_record(uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3]))
    for _ in range(400):
        run_event_loop(25)
        if record.view is not None and record.action_plan is not None:
            break
    settle(window)
    record.show_tab("notes")
    QTest.keyClicks(record.notes_tab.note_editor, sys.argv[4])
    record.show_tab("action_plan")
    QTest.keyClicks(record.action_plan.new_description, sys.argv[5])
    run_event_loop(700)
    print("typed", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.slow
def test_typing_survives_a_kill(
    tmp_path: Path, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_store_key_with_other_processes(desk.path, monkeypatch)
    script = tmp_path / "type_then_crash.py"
    script.write_text(SCRIPT)
    action = "Ask the pharmacist to review the evening doses"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(desk.path),
            str(desk.patient_id),
            str(desk.case_id),
            TYPED,
            action,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("typed"), process.stderr.read() if process.stderr else line
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert stored_draft(desk, drafts.draft_key(drafts.NOTE, desk.case_id), desk.me) == TYPED
    assert stored_draft(desk, drafts.draft_key(drafts.ACTION, desk.case_id), desk.me) == action


# -- a draft that cannot be kept is never lost unsaid ----------------------------------

FULL = (
    "The disk holding the store is full. Nothing was changed and the store is not "
    "damaged. Free some space on that disk, then try again."
)


class DraftFault:
    """Draft saves fail as on a full disk while ``failing``; ``gate`` holds them back."""

    def __init__(self) -> None:
        self.failing = False
        self.gate: threading.Event | None = None


@pytest.fixture
def draft_fault(monkeypatch: pytest.MonkeyPatch) -> DraftFault:
    fault = DraftFault()
    real_save = drafts.save_draft

    def save_draft(store: Store, key: str, body: str, **kwargs: object) -> None:
        if fault.gate is not None:
            fault.gate.wait(10)
        if fault.failing:
            raise StoreFullError(FULL)
        real_save(store, key, body, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(drafts, "save_draft", save_draft)
    return fault


def keeper_of(editor: TextField) -> DraftKeeper:
    keeper = editor.findChild(DraftKeeper)
    assert keeper is not None and keeper.notice is not None
    return keeper


def test_a_draft_that_cannot_be_kept_stops_the_window_closing(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    type_into(qtbot, editor)
    draft_fault.failing = True
    window.close()  # at once: the last save is made now, and fails

    assert window.isVisible()  # not closed…
    assert text_of(editor) == TYPED  # …and what was typed is still there
    notice = keeper_of(editor).notice
    assert notice is not None and not notice.isHidden()
    assert "could not be kept as a draft" in notice.text() and "is full" in notice.text()
    box = window.unkept_drafts_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "stays open" in box.text()
    assert "not kept" in window.statusBar().currentMessage()

    draft_fault.failing = False  # space freed
    qtbot.mouseClick(child(box, QPushButton, "keep_open_button"), Qt.MouseButton.LeftButton)
    assert window.unkept_drafts_box is None
    window.close()
    assert not window.isVisible()
    assert stored_draft(desk, key, desk.me) == TYPED


@pytest.mark.slow
def test_a_window_that_cannot_keep_a_draft_can_still_be_closed_on_purpose(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    type_into(qtbot, editor)
    draft_fault.failing = True  # the disk stays full
    window.close()
    box = window.unkept_drafts_box
    assert isinstance(box, QMessageBox) and window.isVisible()
    qtbot.mouseClick(child(box, QPushButton, "close_losing_text_button"), Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    assert stored_draft(desk, key_of(RECORD_FIELDS["note"], desk), desk.me) is None


@pytest.mark.slow
def test_a_draft_that_fails_after_its_record_tab_closed_is_reported(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    keeper = keeper_of(editor)
    type_into(qtbot, editor)
    draft_fault.failing = True
    draft_fault.gate = threading.Event()
    window.close_current_record()  # its last save is sent, and waits at the gate…
    qtbot.waitUntil(lambda: not shiboken6.isValid(keeper), timeout=WAIT)  # …while it goes
    draft_fault.gate.set()
    settle(qtbot, window)

    assert "is full" in window.statusBar().currentMessage()
    boxes = [box for box in window.findChildren(QMessageBox, "problem_box") if box.isVisible()]
    assert [box.text() for box in boxes] == [FULL]
    draft_fault.failing = False
    draft_fault.gate = None
    boxes[0].accept()


def test_a_draft_that_fails_to_save_at_sign_in_comes_back_to_its_author(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    type_into(qtbot, editor)
    draft_fault.failing = True
    sign_in_as(qtbot, window, "Nowak")  # the author's save, sent at the swap, fails
    assert window.runner.desk.actor_id == desk.other
    assert text_of(editor) == ""  # never shown to the new person…
    assert keeper_of(editor).is_pending()  # …but held, not dropped
    assert stored_draft(desk, key, desk.me) is None

    draft_fault.failing = False
    sign_in_as(qtbot, window, "Okafor")
    assert_restored(editor)
    assert stored_draft(desk, key, desk.me) == TYPED
    assert stored_draft(desk, key, desk.other) is None  # never kept under the wrong name


def test_a_sign_in_takes_the_previous_persons_draft_notices_off_the_screen(
    qtbot, store: Store, desk: Desk, draft_fault: DraftFault
) -> None:
    goal_key = drafts.draft_key(drafts.GOAL, desk.case_id)
    goal = "To walk to the shop again"
    drafts.save_draft(store, goal_key, goal, staff_id=desk.me, case_id=desk.case_id)
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    record = window.open_records()[0]
    assert not record.drafts_label.isHidden()
    assert "kept for you: a new goal (Goals, Add goal)" in record.drafts_label.text()
    type_into(qtbot, editor)
    draft_fault.failing = True  # the author's save, sent at the swap, fails after it

    sign_in_as(qtbot, window, "Nowak")
    assert window.runner.desk.actor_id == desk.other
    # Nothing of the previous person's drafts is left on the new person's screen…
    assert record.drafts_label.isHidden()
    assert "kept for you" not in record.drafts_label.text()
    notice = keeper_of(editor).notice
    assert notice is not None
    assert notice.isHidden(), notice.text()
    assert text_of(editor) == ""
    # …and their drafts stay kept (or held to be kept) for them.
    assert stored_draft(desk, goal_key, desk.me) == goal
    assert keeper_of(editor).is_pending()

    draft_fault.failing = False
    sign_in_as(qtbot, window, "Okafor")
    assert not record.drafts_label.isHidden()
    assert "a new goal (Goals, Add goal)" in record.drafts_label.text()
    assert_restored(editor)


def test_the_status_bars_draft_notice_goes_at_a_sign_in(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    type_into(qtbot, editor)
    draft_fault.failing = True
    window.close()  # the last save fails: the window stays open and says so
    box = window.unkept_drafts_box
    assert isinstance(box, QMessageBox)
    qtbot.mouseClick(child(box, QPushButton, "keep_open_button"), Qt.MouseButton.LeftButton)
    assert "not kept as a draft" in window.statusBar().currentMessage()

    sign_in_as(qtbot, window, "Nowak")
    assert "not kept" not in window.statusBar().currentMessage()
    notice = keeper_of(editor).notice
    assert notice is not None and notice.isHidden()
    assert keeper_of(editor).is_pending()  # the author's text is held, not dropped

    draft_fault.failing = False
    window.close()  # the held text is kept for its author now, and the window closes
    assert not window.isVisible()
    assert stored_draft(desk, key_of(RECORD_FIELDS["note"], desk), desk.me) == TYPED


def test_keeping_a_draft_announces_nothing_even_when_the_journal_cannot_be_read(
    qtbot, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    announced: list[object] = []
    window.runner.changes_committed.connect(lambda changes, _who: announced.append(changes))

    def unreadable(_session: object) -> int:
        raise StoreDiskError("The disk reported an error while reading the store.")

    monkeypatch.setattr(runner_module, "journal_mark", unreadable)
    type_into(qtbot, editor)
    flush_drafts(window)
    settle(qtbot, window)
    assert stored_draft(desk, key_of(RECORD_FIELDS["note"], desk), desk.me) == TYPED
    # A draft is not the record: nothing to measure, so no screen reloads as it is typed.
    assert announced == []


def test_a_failure_reported_while_the_window_waits_to_close_keeps_it_open(
    qtbot, desk: Desk
) -> None:
    window = open_window(qtbot, desk.path)
    gate = threading.Event()

    def last_write(_desk: object) -> None:
        gate.wait(10)
        raise StoreFullError(FULL)

    window.runner.run(last_write)  # nobody to show its failure but the window
    gate.set()
    window.close()
    assert window.isVisible()  # the message is not taken away by the close…
    boxes = [box for box in window.findChildren(QMessageBox, "problem_box") if box.isVisible()]
    assert [box.text() for box in boxes] == [FULL]
    boxes[0].accept()
    window.close()  # …and once it has been seen, the window closes
    assert not window.isVisible()


def fail_while_signed_out_and_back(qtbot, window: MainWindow, fault: DraftFault) -> None:
    """The note's save fails for its author, at the swap to Nowak, and again at the swap
    back to Okafor, the author: their held text is sent at each sign-in and fails."""
    fault.failing = True
    flush_drafts(window)  # fails while the author is still signed in
    settle(qtbot, window)
    sign_in_as(qtbot, window, "Nowak")
    sign_in_as(qtbot, window, "Okafor")


def close_record_tab(qtbot, window: MainWindow) -> None:
    """Close the (only) record's tab, as its close button does; a sign-in shows the caseload."""
    (record,) = window.open_records()
    window.workspace.setCurrentWidget(record)
    window.close_current_record()
    settle(qtbot, window)
    assert window.open_records() == []


def test_a_held_draft_that_fails_again_when_its_author_is_back_is_not_lost(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    type_into(qtbot, editor)
    fail_while_signed_out_and_back(qtbot, window, draft_fault)
    assert window.runner.desk.actor_id == desk.me

    # The author is back: their text is in the field, and the field says it is not kept.
    assert text_of(editor) == TYPED
    notice = keeper_of(editor).notice
    assert notice is not None and not notice.isHidden()
    assert "could not be kept as a draft" in notice.text()
    assert keeper_of(editor).is_pending()

    draft_fault.failing = False  # the store takes writes again; the next flush keeps it
    flush_drafts(window)
    settle(qtbot, window)
    assert stored_draft(desk, key, desk.me) == TYPED  # never an empty draft

    close_record_tab(qtbot, window)
    assert stored_draft(desk, key, desk.me) == TYPED
    assert_restored(open_field(qtbot, window, desk, RECORD_FIELDS["note"]))


def test_a_held_draft_put_back_and_then_cleared_by_its_author_is_discarded(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    type_into(qtbot, editor, "Earlier words")
    flush_drafts(window)
    settle(qtbot, window)
    assert stored_draft(desk, key, desk.me) == "Earlier words"
    qtbot.keyClicks(editor, "; and more")
    fail_while_signed_out_and_back(qtbot, window, draft_fault)
    assert text_of(editor) == "Earlier words; and more"  # the newer text, not the stored one

    draft_fault.failing = False
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)  # the author clears it themselves
    assert text_of(editor) == ""
    flush_drafts(window)
    settle(qtbot, window)
    assert stored_draft(desk, key, desk.me) is None
    close_record_tab(qtbot, window)
    assert_empty_without_notice(open_field(qtbot, window, desk, RECORD_FIELDS["note"]))


@pytest.mark.slow
def test_the_next_persons_empty_field_never_overwrites_a_held_draft(
    qtbot, desk: Desk, draft_fault: DraftFault
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    key = key_of(RECORD_FIELDS["note"], desk)
    type_into(qtbot, editor)
    draft_fault.failing = True
    flush_drafts(window)
    settle(qtbot, window)
    sign_in_as(qtbot, window, "Nowak")  # the author's text is held: the save fails
    assert text_of(editor) == "" and keeper_of(editor).is_pending()

    # Nowak types and clears the field while saves still fail, then they succeed.
    editor.setFocus()
    qtbot.keyClicks(editor, "x")
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    flush_drafts(window)
    settle(qtbot, window)
    draft_fault.failing = False
    flush_drafts(window)
    settle(qtbot, window)
    assert text_of(editor) == ""
    assert stored_draft(desk, key, desk.me) == TYPED  # the author's, under the author
    assert stored_draft(desk, key, desk.other) is None

    close_record_tab(qtbot, window)  # Nowak's empty field is flushed as the tab closes
    assert stored_draft(desk, key, desk.me) == TYPED
    sign_in_as(qtbot, window, "Okafor")
    assert_restored(open_field(qtbot, window, desk, RECORD_FIELDS["note"]))


# -- the Sensitive tick, owner and due date come back with the text (H97) ------------

SENSITIVE_TEXT = "Police welfare check - son threatened staff"


def reopen(qtbot, window: MainWindow, desk: Desk, how: str, field: FreeText):
    """Close the record tab, or quit and start the window again; open the field again."""
    if how == "tab":
        close_record_tab(qtbot, window)
    else:
        window.close()
        window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, field)
    return window, editor


def tick(qtbot, box: QCheckBox) -> None:
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked()


@pytest.mark.parametrize("how", ["tab", "restart"])
def test_a_new_actions_draft_comes_back_sensitive_with_its_owner_and_due_date(
    qtbot, desk: Desk, how: str
) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["new action"])
    plan = window.open_records()[0].action_plan
    assert plan is not None
    tick(qtbot, plan.new_sensitive)  # ticked first, as in the trial
    type_into(qtbot, editor, SENSITIVE_TEXT)
    plan.new_owner.setFocus()
    for _ in range(plan.new_owner.count()):  # the district nurse, with the keyboard
        if plan.new_owner.currentData() == desk.other:
            break
        qtbot.keyClick(plan.new_owner, Qt.Key.Key_Down)
    assert plan.new_owner.currentData() == desk.other
    due_on = dt.date.today() + dt.timedelta(days=23)
    plan.new_due.line_edit.selectAll()
    qtbot.keyClicks(plan.new_due.line_edit, cui_date(due_on))

    window, editor = reopen(qtbot, window, desk, how, RECORD_FIELDS["new action"])
    assert_restored(editor, SENSITIVE_TEXT)
    plan = window.open_records()[0].action_plan
    assert plan is not None
    assert plan.new_sensitive.isChecked()
    assert plan.new_owner.currentData() == desk.other
    assert plan.new_due.text() == cui_date(due_on)

    qtbot.mouseClick(plan.add_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    with Store.open(desk.path) as store, store.read() as session:
        rows = plans.action_plan_view(session, desk.case_id, include_closed=True).rows
    (added,) = [row for row in rows if row.description == SENSITIVE_TEXT]
    assert added.sensitive
    assert (added.owner_id, added.due_on) == (desk.other, due_on)
    assert stored_draft(desk, key_of(RECORD_FIELDS["new action"], desk), desk.me) is None
    assert not plan.new_sensitive.isChecked()  # the next action starts ordinary


@pytest.mark.slow
@pytest.mark.parametrize("how", ["tab", "restart"])
def test_a_note_draft_comes_back_sensitive(qtbot, desk: Desk, how: str) -> None:
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["note"])
    type_into(qtbot, editor, SENSITIVE_TEXT)
    qtbot.wait(600)  # the text alone is kept first; the tick after it must follow
    settle(qtbot, window)
    tick(qtbot, window.open_records()[0].notes_tab.note_sensitive)

    window, editor = reopen(qtbot, window, desk, how, RECORD_FIELDS["note"])
    assert_restored(editor, SENSITIVE_TEXT)
    notes_tab = window.open_records()[0].notes_tab
    assert notes_tab.note_sensitive.isChecked()

    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window)
    assert text_of(editor) == ""
    with Store.open(desk.path) as store, store.read() as session:
        (saved,) = session.scalars(select(Note).where(Note.body == SENSITIVE_TEXT)).all()
        assert saved.sensitive


def test_a_draft_kept_without_its_tick_comes_back_with_the_default(qtbot, desk: Desk) -> None:
    # as an older version kept it: the text alone
    with Store.open(desk.path) as store:
        for field in ("note", "new action"):
            key = key_of(RECORD_FIELDS[field], desk)
            drafts.save_draft(store, key, TYPED, staff_id=desk.me, case_id=desk.case_id)
    window = open_window(qtbot, desk.path)
    editor = open_field(qtbot, window, desk, RECORD_FIELDS["new action"])
    assert_restored(editor)
    plan = window.open_records()[0].action_plan
    assert plan is not None
    assert not plan.new_sensitive.isChecked()
    assert plan.new_owner.currentData() is None  # "Choose who will do it"
    assert plan.new_due.text() == cui_date(dt.date.today() + DEFAULT_DUE_IN)
    editor = RECORD_FIELDS["note"].open(window, window.open_records()[0])
    assert_restored(editor)
    assert not window.open_records()[0].notes_tab.note_sensitive.isChecked()
