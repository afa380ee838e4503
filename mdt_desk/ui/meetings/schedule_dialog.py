"""Schedule a meeting (or a recurring series): practice, when, where, chair, who is invited."""

import datetime as dt
import uuid
from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from mdt_desk.services.display import label, practice_display_name
from mdt_desk.services.practices import PracticeSummary
from mdt_desk.services.staff import StaffSummary
from mdt_desk.ui.case_record.dialogs import RecordDialog
from mdt_desk.ui.widgets import CuiDateEdit, TimeField, popup_follows_font

_REPEATS: tuple[tuple[int | None, str], ...] = (
    (None, "Does not repeat"),
    (1, "Every week"),
    (2, "Every second week"),
    (3, "Every third week"),
    (4, "Every fourth week"),
)


def make_searchable(combo: QComboBox, placeholder: str = "") -> None:
    """Let a combo box be searched by typing any part of an entry's text."""
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer()
    assert completer is not None  # an editable combo box has one
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    line = combo.lineEdit()
    if line is not None and placeholder:
        line.setPlaceholderText(placeholder)
    # the list of matches as large as the field (meeting mode's font is large)
    popup_follows_font(completer, line if line is not None else combo)


def chosen_data(combo: QComboBox) -> object:
    """The data of the entry the typed text names in full (any case), else ``None``."""
    index = combo.findText(combo.currentText().strip(), Qt.MatchFlag.MatchFixedString)
    return combo.itemData(index) if index >= 0 else None


def index_of_data(combo: QComboBox, value: object) -> int:
    """The row holding ``value`` (``findData`` does not compare Python objects by value)."""
    if value is None:
        return -1
    return next((row for row in range(combo.count()) if combo.itemData(row) == value), -1)


class ScheduleMeetingDialog(RecordDialog):
    """The form; the meetings screen saves it through the service and shows errors here."""

    def __init__(
        self,
        practices: Sequence[PracticeSummary],
        staff: Sequence[StaffSummary],
        *,
        practice_id: uuid.UUID | None,
        chair_id: uuid.UUID | None,
        signed_in_id: uuid.UUID | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """
        Args:
            practice_id: the practice to start with (the Meetings tab's filter); without
                it, the signed-in member's first covered practice, else the first.
        """
        super().__init__(self.tr("Schedule an MDT meeting"), parent)
        self._practices = list(practices)
        self._staff = list(staff)
        self.practice_combo = QComboBox(self)
        make_searchable(self.practice_combo, self.tr("Type part of the name or ODS code"))
        for practice in self._practices:
            self.practice_combo.addItem(
                f"{practice_display_name(practice.name)} ({practice.ods_code})", practice.id
            )
        self.other_practices = QListWidget(self)
        self.other_practices.setMaximumHeight(90)
        self.title_edit = QLineEdit(self)
        self.title_edit.setPlaceholderText(self.tr("e.g. Densham practice MDT (optional)"))
        self.day_edit = CuiDateEdit(dt.date.today() + dt.timedelta(days=7), self)
        # Typed whole ("14:30", "2:30pm"): a time spin box kept the old hour when a new
        # time was typed over it, and a meeting at the wrong time misses its people.
        self.time_edit = TimeField(dt.time(13, 0), self)
        self.length_spin = QSpinBox(self)
        self.length_spin.setRange(15, 480)
        self.length_spin.setSingleStep(15)
        self.length_spin.setValue(90)
        self.length_spin.setSuffix(self.tr(" minutes"))
        self.place_edit = QLineEdit(self)
        self.place_edit.setPlaceholderText(self.tr("Room, building"))
        self.video_edit = QLineEdit(self)
        self.video_edit.setPlaceholderText(self.tr("https://… (optional)"))
        self.chair_combo = QComboBox(self)
        make_searchable(self.chair_combo, self.tr("Type part of a name"))
        for member in self._staff:
            self.chair_combo.addItem(
                f"{member.display_name} — {label(member.profession)}", member.id
            )
        self.invited_list = QListWidget(self)
        self.invited_list.setMinimumHeight(140)
        for member in self._staff:
            item = QListWidgetItem(f"{member.display_name} — {label(member.profession)}")
            item.setData(Qt.ItemDataRole.UserRole, member.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.invited_list.addItem(item)
        repeat_box = QWidget(self)
        repeat_row = QHBoxLayout(repeat_box)
        repeat_row.setContentsMargins(0, 0, 0, 0)
        self.repeat_combo = QComboBox(repeat_box)
        self.repeat_combo.setObjectName("meeting_repeat")
        self.repeat_combo.setAccessibleName(self.tr("Repeat"))
        for weeks, text in _REPEATS:
            self.repeat_combo.addItem(self.tr(text), weeks)
        self.count_spin = QSpinBox(repeat_box)
        self.count_spin.setObjectName("meeting_occurrences")
        self.count_spin.setAccessibleName(self.tr("Number of meetings"))
        self.count_spin.setRange(1, 26)
        self.count_spin.setValue(1)
        self.count_spin.setSuffix(self.tr(" meetings"))
        self.count_spin.setEnabled(False)
        repeat_row.addWidget(self.repeat_combo, 1)
        repeat_row.addWidget(self.count_spin)
        # Every mnemonic once in the dialog: &Save (OK) and Cancel (Esc) included.
        self.add_field(self.tr("&Practice"), self.practice_combo, "practice", "meeting_practice")
        self.add_field(
            self.tr("Also &covering"), self.other_practices, "practices", "meeting_other_practices"
        )
        self.add_field(self.tr("&Title"), self.title_edit, "title", "meeting_title")
        self.add_field(self.tr("&Date"), self.day_edit, "day", "meeting_day")
        self.add_field(self.tr("Starts &at"), self.time_edit, "start_time", "meeting_time")
        self.add_field(self.tr("Le&ngth"), self.length_spin, "duration", "meeting_length")
        self.add_field(self.tr("P&lace"), self.place_edit, "location", "meeting_place")
        self.add_field(self.tr("&Video link"), self.video_edit, "video_link", "meeting_video")
        self.add_field(self.tr("C&hair"), self.chair_combo, "chair", "meeting_chair")
        self.add_field(self.tr("&Invited"), self.invited_list, "invited", "meeting_invited")
        self.add_field(self.tr("&Repeat"), repeat_box, "repeat", "meeting_repeat_box")
        self._keep_captions_by_their_fields()
        self.form.addRow("", self.errors.label_for("occurrences"))
        self.practice_combo.currentIndexChanged.connect(self._on_practice_combo_changed)
        self.repeat_combo.currentIndexChanged.connect(self._on_repeat_combo_changed)
        self.practice_combo.setCurrentIndex(
            max(
                index_of_data(self.practice_combo, self._first_practice(practice_id, signed_in_id)),
                0,
            )
        )
        self._on_practice_combo_changed(self.practice_combo.currentIndex())
        self.chair_combo.setCurrentIndex(index_of_data(self.chair_combo, chair_id))
        self.resize(560, 720)

    def _first_practice(
        self, practice_id: uuid.UUID | None, signed_in_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        if practice_id is not None:
            return practice_id
        member = next((m for m in self._staff if m.id == signed_in_id), None)
        by_code = {practice.ods_code: practice.id for practice in self._practices}
        for code in member.practice_codes if member is not None else ():
            if code in by_code:
                return by_code[code]
        return None

    def _keep_captions_by_their_fields(self) -> None:
        """Captions sit at the top of their row, beside the field, however tall it is."""
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # The short list of neighbours keeps its own height: spare room goes to the
        # invited list, not into a gap between "Also covering" and its list.
        box = self.other_practices.parentWidget()
        if box is not None:
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    # -- what the form says --------------------------------------------------------

    def practice_id(self) -> uuid.UUID | None:
        # The typed text must still name the chosen practice (not half-edited).
        value = chosen_data(self.practice_combo)
        return value if isinstance(value, uuid.UUID) else None

    def other_practice_ids(self) -> list[uuid.UUID]:
        return self._checked(self.other_practices)

    def invited_ids(self) -> list[uuid.UUID]:
        return self._checked(self.invited_list)

    def chair_id(self) -> uuid.UUID | None:
        value = chosen_data(self.chair_combo)
        return value if isinstance(value, uuid.UUID) else None

    def repeat_weeks(self) -> int | None:
        value = self.repeat_combo.currentData()
        return value if isinstance(value, int) else None

    def start_time(self) -> dt.time:
        """The typed start time.

        Raises:
            TimeInputError: not a time (the reason is shown by the field).
        """
        return self.time_edit.time_value()

    @staticmethod
    def _checked(widget: QListWidget) -> list[uuid.UUID]:
        chosen = []
        for row in range(widget.count()):
            item = widget.item(row)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                value = item.data(Qt.ItemDataRole.UserRole)
                if isinstance(value, uuid.UUID):
                    chosen.append(value)
        return chosen

    # -- slots -----------------------------------------------------------------------

    @Slot(int)
    def _on_practice_combo_changed(self, _index: int) -> None:
        host = next((p for p in self._practices if p.id == self.practice_id()), None)
        self.other_practices.clear()
        if host is None:
            return
        for practice in self._practices:
            if practice.locality == host.locality and practice.id != host.id:
                item = QListWidgetItem(
                    f"{practice_display_name(practice.name)} ({practice.ods_code})"
                )
                item.setData(Qt.ItemDataRole.UserRole, practice.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.other_practices.addItem(item)
        # Invite the people who cover the practice (the chair adds or removes others).
        for row in range(self.invited_list.count()):
            item = self.invited_list.item(row)
            if item is None:
                continue
            member = next(
                (m for m in self._staff if m.id == item.data(Qt.ItemDataRole.UserRole)), None
            )
            covers = member is not None and host.ods_code in member.practice_codes
            item.setCheckState(Qt.CheckState.Checked if covers else Qt.CheckState.Unchecked)

    @Slot(int)
    def _on_repeat_combo_changed(self, _index: int) -> None:
        repeats = self.repeat_weeks() is not None
        self.count_spin.setEnabled(repeats)
        if repeats and self.count_spin.value() == 1:
            self.count_spin.setValue(6)
        if not repeats:
            self.count_spin.setValue(1)
