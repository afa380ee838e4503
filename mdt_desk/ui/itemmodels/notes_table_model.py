"""The case timeline: notes newest first, each correction right after its original."""

from typing import ClassVar

from mdt_desk.services.case_view import NoteView
from mdt_desk.ui.itemmodels.record_list_table_model import Column, RecordListTableModel


def _note_text(note: NoteView) -> str:
    if note.is_correction:
        return f"↳ Correction: {note.body}"
    if note.corrected_by:
        return f"{note.body}  [corrected below]"
    return note.body


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
