"""Keeping what is typed in the record's free-text fields as drafts in the store.

A :class:`DraftKeeper` watches one text field. While the person types it saves the text
as their draft (:mod:`mdt_desk.services.drafts`) about 400 ms after typing stops and at
least once a second while typing goes on, always on the task runner, never on the GUI
thread. Opening the field again puts the draft back with a visible "Draft restored"
note; saving the item discards it.

Drafts belong to the staff member who typed them. When someone else signs in, each
keeper saves what is pending under its author, empties its field and shows the new
person their own draft, if they have one; the author's draft comes back when the author
signs in again. Nothing of the author's is left on the new person's screen: the notice
by the field goes, and a failed save of the author's text is held for them, not shown.

Each keeper hears of a sign-in by :attr:`TaskRunner.desk_changed`. The main window calls
:func:`flush_drafts` before a record tab closes, and :func:`keep_drafts_now` before the
window closes, so nothing typed in the last 400 ms is left behind and nothing waits on
a timer. A flush sends the text at once; the runner's queue is serial, so the author's
save always comes before the next person's draft is read. A save that fails keeps the
text pending: in the field, or in the keeper when someone else has signed in since and
the field no longer shows it. It is sent again at the next flush, and the window will
not close while any is pending. If it fails when its author is signed in again, it goes
back into the field (unless they have typed there since), never an empty field for it.

A keeper may also keep choices made beside its field (:meth:`DraftKeeper.keep_also`): a
new note's or action's Sensitive tick, an action's owner and due date. They are saved
with the text and put back with it (hazard H97), so a restored draft is saved as it was
meant, never as an ordinary item. A draft kept before they were leaves them as they are
(their defaults, on a field just opened). A sign-in puts them back to their defaults.
"""

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal, SignalInstance, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.services import drafts
from mdt_desk.services.desk import Desk
from mdt_desk.services.drafts import DraftText
from mdt_desk.ui.runner import TaskRunner

log = logging.getLogger(__name__)

#: Save this long after the last keystroke…
SAVE_DEBOUNCE_MS = 400
#: …and at least this often while typing goes on.
SAVE_MAX_WAIT_MS = 1000

TextField = QPlainTextEdit | QLineEdit


@dataclass(frozen=True)
class DraftPart:
    """A choice kept with a draft's text: how to read it, and to put it back.

    ``write("")`` puts the control back to its default.
    """

    read: Callable[[], str]
    write: Callable[[str], None]


class DraftNotice(QLabel):
    """Says, next to a field, that a kept draft was put back into it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("draft_notice")
        self.setWordWrap(True)
        self.setAccessibleName(self.tr("Draft notice"))
        self.hide()

    def show_restored(self) -> None:
        self.setText(
            self.tr("Draft restored: this is what you typed earlier and did not save yet.")
        )
        self.setAccessibleDescription(self.text())
        self.show()

    def show_failed(self, message: str) -> None:
        self.setText(
            self.tr("Your typing could not be kept as a draft: {reason}").format(reason=message)
        )
        self.setAccessibleDescription(self.text())
        self.show()

    def clear_notice(self) -> None:
        self.setText("")
        self.hide()


class DraftKeeper(QObject):
    """Keeps the text of one field as its author's draft (a child of the field).

    Signals:
        restored(str): a kept draft was put back into the field; carries its key.
    """

    restored = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        field: TextField,
        key: str,
        case_id: uuid.UUID | None,
        notice: DraftNotice | None = None,
    ) -> None:
        super().__init__(field)
        self.runner = runner
        self.field = field
        self.key = key
        self.case_id = case_id
        self.notice = notice
        self._dirty = False
        self._quiet = False
        # Typed in (or cleared) by hand since its author last took the field: what they
        # did there wins over text of theirs whose save fails later.
        self._edited = False
        # Text whose save failed after its author was signed out: off the screen, so
        # held here (by author) and sent again at the next flush, never dropped.
        self._unkept: dict[uuid.UUID | None, tuple[str, dict[str, str]]] = {}
        # Choices beside the field kept with its text (keep_also), by name.
        self._parts: dict[str, DraftPart] = {}
        # Whose text the field holds (typed or restored): drafts are kept under them.
        self._author: uuid.UUID | None = runner.desk.actor_id
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SAVE_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.flush)
        self._max_wait = QTimer(self)
        self._max_wait.setSingleShot(True)
        self._max_wait.setInterval(SAVE_MAX_WAIT_MS)
        self._max_wait.timeout.connect(self.flush)
        field.textChanged.connect(self._on_field_text_changed)
        runner.desk_changed.connect(self._on_runner_desk_changed)

    # -- public ------------------------------------------------------------------------

    def text(self) -> str:
        field = self.field
        return field.toPlainText() if isinstance(field, QPlainTextEdit) else field.text()

    def has_text(self) -> bool:
        return bool(self.text().strip())

    def keep_also(
        self,
        name: str,
        changed: SignalInstance,
        read: Callable[[], str],
        write: Callable[[str], None],
    ) -> None:
        """Keep a choice made beside the field (``read()``) with its text, and put it back.

        ``changed`` is emitted when the person changes it; ``write("")`` is its default.
        A change made while the field is empty keeps nothing (it is kept once text is
        typed), so it never replaces a kept draft that has not come back yet.
        """
        self._parts[name] = DraftPart(read, write)
        changed.connect(self._on_part_changed)

    def keep_check_box(self, name: str, box: QCheckBox) -> None:
        """Keep a tick box beside the field (``"1"`` ticked, ``""`` not)."""
        self.keep_also(
            name,
            box.toggled,
            lambda: "1" if box.isChecked() else "",
            lambda value: box.setChecked(value == "1"),
        )

    def parts(self) -> dict[str, str]:
        """The choices kept with the text, as they are now."""
        return {name: part.read() for name, part in self._parts.items()}

    def is_pending(self) -> bool:
        """Typed text not yet sent to the store, or whose save failed."""
        return self._dirty or bool(self._unkept)

    def restore(self) -> None:
        """Put the signed-in person's kept draft back, if the field is still empty."""
        key, author = self.key, self.runner.desk.actor_id
        self._author = author
        self.runner.read(
            lambda session: drafts.load_draft(session, key, staff_id=author),
            lambda found: self._on_draft_loaded(author, found),
            self._on_draft_failed,
            owner=self,
            description="load draft",
        )

    @Slot()
    def flush(self) -> None:
        """Send what was typed and not yet kept (an empty field discards the draft).

        Sent at once, whatever the timers: the timers only call this sooner.
        """
        self._debounce.stop()
        self._max_wait.stop()
        unkept, self._unkept = self._unkept, {}
        for author, (body, parts) in unkept.items():
            self._save(author, body, parts)
        if not self._dirty:
            return
        self._dirty = False
        self._save(self._author, self.text(), self.parts())

    def _save(self, author: uuid.UUID | None, body: str, parts: dict[str, str]) -> None:
        key, case_id = self.key, self.case_id

        def job(desk: Desk) -> None:
            drafts.save_draft(desk.store, key, body, staff_id=author, case_id=case_id, parts=parts)

        def failed(error: UserError) -> None:
            self._on_save_failed(author, body, parts, error)

        # Local and unjournalled: nothing to measure or announce (TaskRunner.run_local).
        self.runner.run_local(job, None, failed, owner=self, description="keep draft")

    def discard(self) -> None:
        """Forget the draft: the item was saved, or the person chose to discard it."""
        self._debounce.stop()
        self._max_wait.stop()
        self._dirty = False
        if self.notice is not None:
            self.notice.clear_notice()
        key, author = self.key, self._author

        def job(desk: Desk) -> None:
            drafts.discard_draft(desk.store, key, staff_id=author)

        self.runner.run_local(
            job, None, self._on_draft_failed, owner=self, description="discard draft"
        )

    def author_changed(self) -> None:
        """Someone else signed in: keep the field's text as its author's, show theirs."""
        if self.runner.desk.actor_id == self._author:
            return
        self.flush()
        self._set_text_quietly("")
        self._set_parts_quietly({name: "" for name in self._parts})
        self._edited = False
        if self.notice is not None:
            self.notice.clear_notice()
        self.restore()

    # -- results -----------------------------------------------------------------------

    def _on_draft_loaded(self, author: uuid.UUID | None, found: DraftText | None) -> None:
        if found is None or author != self._author or self._dirty or self.has_text():
            return  # nothing kept, someone else signed in since, or typing has begun
        self._set_text_quietly(found.body)
        # Only the parts kept with it: a draft from before parts were kept leaves the
        # others as they are (their defaults, on a field just opened).
        self._set_parts_quietly({n: v for n, v in found.parts.items() if n in self._parts})
        if self.notice is not None:
            self.notice.show_restored()
        self.restored.emit(self.key)

    def _on_save_failed(
        self, author: uuid.UUID | None, body: str, parts: dict[str, str], error: UserError
    ) -> None:
        if author == self._author:
            if not self._dirty and not self._edited and self.text() != body:
                # Sent before a sign-out and back (held, or still on its way): the keeper
                # emptied the field (or put an older draft back), not the author. Their
                # text goes back in, so an empty field never replaces it.
                self._set_text_quietly(body)
                self._set_parts_quietly(parts)
            self._dirty = True  # in the field: sent again at the next flush
            self._on_draft_failed(error)
            return
        # Signed out since: the field shows another person's text now, so the notice is
        # not theirs to see ("Your typing…"). The text is held here, sent again at the
        # next flush and comes back to its author; the window will not close while it
        # is held (keep_drafts_now), so the failure is never lost unsaid.
        self._unkept[author] = (body, parts)
        log.warning("draft %s not kept: %s", self.key.partition(":")[0], type(error).__name__)

    def _on_draft_failed(self, error: UserError) -> None:
        log.warning("draft %s not kept: %s", self.key.partition(":")[0], type(error).__name__)
        if self.notice is not None:
            self.notice.show_failed(str(error))

    # -- helpers -----------------------------------------------------------------------

    def _set_text_quietly(self, text: str) -> None:
        self._quiet = True
        try:
            field = self.field
            if isinstance(field, QPlainTextEdit):
                field.setPlainText(text)
                field.moveCursor(field.textCursor().MoveOperation.End)
            else:
                field.setText(text)
        finally:
            self._quiet = False

    def _set_parts_quietly(self, values: Mapping[str, str]) -> None:
        self._quiet = True
        try:
            for name, value in values.items():
                self._parts[name].write(value)
        finally:
            self._quiet = False

    # -- slots -------------------------------------------------------------------------

    def _on_part_changed(self, *_args: object) -> None:
        if self._quiet or not self.has_text():
            return  # put back by the keeper, or nothing typed yet to keep it with
        self._on_field_text_changed()

    def _on_field_text_changed(self, *_args: object) -> None:
        if self._quiet:
            return
        self._edited = True
        if not self._dirty:
            self._author = self.runner.desk.actor_id
        self._dirty = True
        self._debounce.start()
        if not self._max_wait.isActive():
            self._max_wait.start()

    def _on_runner_desk_changed(self, *_args: object) -> None:
        self.author_changed()


def keepers_in(root: QObject) -> list[DraftKeeper]:
    """Every draft keeper under ``root`` (a record tab, a dialog, the main window)."""
    return root.findChildren(DraftKeeper)


def flush_drafts(root: QObject) -> None:
    """Send every pending draft under ``root`` to the store (before it closes)."""
    for keeper in keepers_in(root):
        keeper.flush()


def keep_drafts_now(root: QObject, runner: TaskRunner) -> list[DraftKeeper]:
    """Save every pending draft under ``root`` and wait for the saves (the window closes).

    Returns the keepers whose text could not be kept; each field says why. Blocks the
    GUI thread until the runner's queue is empty, so only for closing.
    """
    flush_drafts(root)
    runner.finish_queued()
    return [keeper for keeper in keepers_in(root) if keeper.is_pending()]


def drafts_author_changed(root: QObject) -> None:
    """After a sign-in: every field under ``root`` shows the new person's own draft."""
    for keeper in keepers_in(root):
        keeper.author_changed()


class DiscardQuestion(QMessageBox):
    """Asks "keep what you typed as a draft?" when a form with unsaved text is closed.

    Signals:
        answered(str): ``"keep"``, ``"discard"`` or ``"cancel"``.
    """

    answered = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("draft_discard_question")
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle(self.tr("Unsaved text"))
        self.setAccessibleName(self.tr("Unsaved text"))
        self.setText(
            self.tr(
                "You have typed text that is not saved in the record. Keep it as a draft "
                "for later, or discard it?"
            )
        )
        self.keep_button = self.addButton(
            self.tr("&Keep as draft"), QMessageBox.ButtonRole.AcceptRole
        )
        self.keep_button.setObjectName("keep_draft_button")
        self.keep_button.setAccessibleName(self.tr("Keep as draft"))
        self.discard_button = self.addButton(
            self.tr("&Discard"), QMessageBox.ButtonRole.DestructiveRole
        )
        self.discard_button.setObjectName("discard_draft_button")
        self.discard_button.setAccessibleName(self.tr("Discard"))
        self.cancel_button = self.addButton(self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole)
        self.cancel_button.setObjectName("cancel_close_button")
        self.cancel_button.setAccessibleName(self.tr("Cancel"))
        self.setDefaultButton(self.keep_button)
        self.setEscapeButton(self.cancel_button)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.finished.connect(self._on_finished)

    @Slot(int)
    def _on_finished(self, _result: int) -> None:
        clicked = self.clickedButton()
        if clicked is self.keep_button:
            self.answered.emit("keep")
        elif clicked is self.discard_button:
            self.answered.emit("discard")
        else:
            self.answered.emit("cancel")


class DraftGuard(QObject):
    """The drafts of one form, and the question asked when it is closed unsaved.

    Closing a form whose fields are empty closes it at once. Closing one with typed
    text asks: *Keep as draft* (the text comes back next time the form opens),
    *Discard*, or *Cancel* (the form stays open as it was).
    """

    def __init__(self, form: QWidget, close: Callable[[], None]) -> None:
        super().__init__(form)
        self.form = form
        self._close = close
        self.keepers: list[DraftKeeper] = []
        self.question: DiscardQuestion | None = None

    def keep(
        self,
        runner: TaskRunner,
        field: TextField,
        key: str,
        case_id: uuid.UUID | None,
        notice: DraftNotice | None,
    ) -> DraftKeeper:
        """Keep ``field`` as a draft from now on, and put back what was kept."""
        keeper = DraftKeeper(runner, field, key, case_id, notice)
        self.keepers.append(keeper)
        keeper.restore()
        return keeper

    def has_text(self) -> bool:
        return any(keeper.has_text() for keeper in self.keepers)

    def discard_all(self) -> None:
        """The form was saved: its drafts are no longer needed."""
        for keeper in self.keepers:
            keeper.discard()

    def request_close(self) -> None:
        """Close the form, asking first if anything typed would be lost."""
        if not self.has_text():
            for keeper in self.keepers:
                keeper.flush()  # a field emptied by hand discards its draft
            self._close()
            return
        if self.question is not None:
            return  # already asking
        question = DiscardQuestion(self.form)
        question.answered.connect(self._on_question_answered)
        self.question = question
        question.open()

    @Slot(str)
    def _on_question_answered(self, answer: str) -> None:
        question, self.question = self.question, None
        if question is not None:
            question.deleteLater()
        if answer == "cancel":
            return
        for keeper in self.keepers:
            if answer == "keep":
                keeper.flush()
            else:
                keeper.discard()
        self._close()
