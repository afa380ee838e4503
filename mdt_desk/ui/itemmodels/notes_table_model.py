"""The case timeline: notes newest first, each correction right after its original.

A sensitive note says "Sensitive" before its text, with a padlock (never colour alone).
"""

from typing import Any, ClassVar

from PySide6.QtCore import Qt

from mdt_desk.services.case_view import NoteView
from mdt_desk.ui.itemmodels.record_list_table_model import (
    AnyIndex,
    Column,
    RecordListTableModel,
)
from mdt_desk.ui.sensitive import sensitive_icon, sensitive_text

#: The column that carries the note's words (and the sensitive marker).
NOTE_COLUMN = 2


def _note_text(note: NoteView) -> str:
    if note.is_correction:
        text = f"↳ Correction: {note.body}"
    elif note.corrected_by:
        text = f"{note.body}  [corrected below]"
    else:
        text = note.body
    return sensitive_text(text) if note.sensitive else text


class NotesTableModel(RecordListTableModel[NoteView]):
    columns: ClassVar = (
        Column[NoteView]("Written", lambda n: n.written_text),
        Column[NoteView]("By", lambda n: n.author_name),
        Column[NoteView](
            "Note",
            _note_text,
            lambda n: f"{n.corrects_text}\n\n{n.body}" if n.is_correction else n.body,
        ),
    )

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DecorationRole and index.column() == NOTE_COLUMN:
            note = self.row_at(index.row()) if index.isValid() else None
            return sensitive_icon() if note is not None and note.sensitive else None
        return super().data(index, role)
