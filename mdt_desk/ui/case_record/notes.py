"""The Notes tab: the append-only case timeline, newest first.

A note is never edited; "Amend…" adds a correction that points to the original and is
shown right after it. Notes are not undone with Ctrl+Z (they are part of the record).

The one thing that may change on a written note is whether it is sensitive (need-to-know:
never on the person's own copy, hidden in meeting mode until revealed): set it when
writing, or with "Mark sensitive" (or the timeline's context menu) later. A sensitive note
says "Sensitive" in the timeline, with a padlock.
"""

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import UserError
from mdt_desk.services import drafts, plans
from mdt_desk.services.case_view import NoteView, RecordView
from mdt_desk.ui.case_record.base import RecordTab, Save, record_table
from mdt_desk.ui.case_record.dialogs import AmendNoteDialog
from mdt_desk.ui.drafts import DraftKeeper, DraftNotice
from mdt_desk.ui.itemmodels.notes_table_model import NotesTableModel
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel


class NotesTab(RecordTab):
    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("Notes"))
        self.note_editor = QPlainTextEdit(self)
        self.note_editor.setObjectName("note_editor")
        self.note_editor.setAccessibleName(self.tr("New note"))
        self.note_editor.setPlaceholderText(self.tr("Write a note… (Ctrl+Return saves)"))
        self.note_editor.setTabChangesFocus(True)
        self.note_editor.setMaximumHeight(120)
        self.note_error = ErrorLabel(self)
        self.add_button = QPushButton(self.tr("Add n&ote"), self)
        self.add_button.setObjectName("add_note_button")
        self.add_button.setAccessibleName(self.tr("Add note"))
        self.add_button.setToolTip(
            self.tr("Ctrl+Return. Notes cannot be edited or undone: add a correction instead.")
        )
        self.add_button.clicked.connect(self.add_note)
        self.note_sensitive = QCheckBox(self.tr("Sensitive"), self)
        self.note_sensitive.setObjectName("new_note_sensitive")
        self.note_sensitive.setAccessibleName(self.tr("New note: sensitive"))
        self.note_sensitive.setToolTip(
            self.tr(
                "Safeguarding, risk to staff: never on the person's copy, hidden in meeting "
                "mode until revealed."
            )
        )
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.note_editor)
        shortcut.activated.connect(self.add_note)
        enter_shortcut = QShortcut(QKeySequence("Ctrl+Enter"), self.note_editor)
        enter_shortcut.activated.connect(self.add_note)
        self.model = NotesTableModel(self)
        self.table = record_table(self.model, "notes_table", self.tr("Case notes"), self)
        self.amend_button = QPushButton(self.tr("Add a &correction…"), self)
        self.amend_button.setObjectName("amend_note_button")
        self.amend_button.setAccessibleName(self.tr("Amend the selected note"))
        self.amend_button.setToolTip(self.tr("Adds a correction shown with the original note."))
        self.amend_button.clicked.connect(self.open_amend_dialog)
        self.mark_sensitive_button = QPushButton(self.tr("Mark sensitive"), self)
        self.mark_sensitive_button.setObjectName("mark_note_sensitive_button")
        self.mark_sensitive_button.setAccessibleName(self.tr("Mark the selected note sensitive"))
        self.mark_sensitive_button.setToolTip(
            self.tr("A sensitive note is never on the person's copy; its corrections follow it.")
        )
        self.mark_sensitive_button.clicked.connect(self.toggle_selected_sensitive)
        self.sensitive_menu_action = QAction(self.tr("Mark sensitive"), self.table)
        self.sensitive_menu_action.triggered.connect(self.toggle_selected_sensitive)
        self.table.addAction(self.sensitive_menu_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.open_amend_dialog())
        editor_label = QLabel(self.tr("New note"), self)
        editor_label.setBuddy(self.note_editor)
        add_row = QHBoxLayout()
        add_row.addWidget(self.note_error, 1)
        add_row.addWidget(self.note_sensitive)
        add_row.addWidget(self.add_button)
        amend_row = QHBoxLayout()
        amend_row.addStretch(1)
        amend_row.addWidget(self.mark_sensitive_button)
        amend_row.addWidget(self.amend_button)
        self.setTabOrder(self.note_editor, self.note_sensitive)
        self.setTabOrder(self.note_sensitive, self.add_button)
        layout = QVBoxLayout(self)
        layout.addWidget(editor_label)
        layout.addWidget(self.note_editor)
        self.draft_notice = DraftNotice(self)
        layout.addWidget(self.draft_notice)
        layout.addLayout(add_row)
        layout.addWidget(self.error_label)
        layout.addWidget(QLabel(self.tr("Timeline (newest first)"), self))
        layout.addWidget(self.table, 1)
        layout.addLayout(amend_row)
        self._saving = False
        self.note_draft: DraftKeeper | None = None
        self._update_buttons()

    def show_record(self, view: RecordView) -> None:
        super().show_record(view)
        self.model.set_rows(view.case.notes if view.case is not None else ())
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        self.add_button.setEnabled(view.case is not None)
        if view.case is not None and self.note_draft is None:
            # What was typed and not saved is kept as a draft, and comes back here.
            self.note_draft = DraftKeeper(
                self.runner,
                self.note_editor,
                drafts.draft_key(drafts.NOTE, str(view.case.id)),
                view.case.id,
                self.draft_notice,
            )
            # Its Sensitive tick is kept and comes back with it (H97).
            self.note_draft.keep_check_box("sensitive", self.note_sensitive)
            self.note_draft.restore()
        self._update_buttons()

    def selected_note(self) -> NoteView | None:
        """The selected note, if it is this reader's to amend or mark (need-to-know: a
        restricted note is shown as a marker only)."""
        rows = self.table.selectionModel().selectedRows()
        note = self.model.row_at(rows[0].row()) if rows else None
        return None if note is None or note.restricted else note

    @Slot()
    def _update_buttons(self) -> None:
        note = self.selected_note()
        self.amend_button.setEnabled(note is not None)
        marked = note is not None and note.sensitive
        text = self.tr("Mark not sensitive") if marked else self.tr("Mark sensitive")
        self.mark_sensitive_button.setText(text)
        self.mark_sensitive_button.setAccessibleName(
            self.tr("Mark the selected note not sensitive")
            if marked
            else self.tr("Mark the selected note sensitive")
        )
        self.mark_sensitive_button.setEnabled(note is not None)
        self.sensitive_menu_action.setText(text)
        self.sensitive_menu_action.setEnabled(note is not None)

    @Slot()
    def toggle_selected_sensitive(self) -> None:
        """Mark the selected note (and its corrections) sensitive, or no longer sensitive."""
        note = self.selected_note()
        if note is None:
            return
        note_id, sensitive = note.id, not note.sensitive
        self.save(lambda session: plans.set_note_sensitive(session, note_id, sensitive))

    @Slot()
    def add_note(self) -> None:
        """Save what is in the note editor; the text stays there if saving fails."""
        view = self.view
        if view is None or view.case is None or self._saving:
            return
        case_id = view.case.id
        body = self.note_editor.toPlainText()
        sensitive = self.note_sensitive.isChecked()
        self.note_error.show_message("")
        self._saving = True
        self.add_button.setEnabled(False)
        self.save(
            lambda session: plans.add_note(session, case_id, body, sensitive=sensitive),
            on_error=self._on_note_failed,
            on_done=self._on_note_saved,
        )

    def _on_note_saved(self) -> None:
        self._saving = False
        self.note_editor.clear()
        self.note_sensitive.setChecked(False)
        if self.note_draft is not None:
            self.note_draft.discard()
        self.add_button.setEnabled(True)
        self._on_saved()

    def _on_note_failed(self, error: UserError) -> None:
        self._saving = False
        self.add_button.setEnabled(True)
        self.note_error.show_message(str(error))

    @Slot()
    def open_amend_dialog(self) -> AmendNoteDialog | None:
        view = self.view
        note = self.selected_note()
        if view is None or view.case is None or note is None:
            return None
        case_id, original_id = view.case.id, note.id
        dialog = AmendNoteDialog(note, self)

        def make_save() -> Save:
            body = dialog.body()
            return lambda session: plans.add_note(
                session, case_id, body, amends_note_id=original_id
            )

        self.open_dialog(dialog, make_save)
        return dialog
