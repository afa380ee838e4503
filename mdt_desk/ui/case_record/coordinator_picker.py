"""The care-coordinator picker: the staff who cover the person's practice first, everyone
else on request, and never the team's administrator."""

import uuid
from collections.abc import Sequence

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from mdt_desk.services.case_view import StaffChoice


class CoordinatorPicker(QObject):
    """Fills :attr:`combo` with the people who may coordinate the person's care.

    Those who cover the person's practice come first. "Show everyone in the team"
    (:attr:`show_everyone`) adds the rest after a separator, marked "other practice". Staff
    who cannot coordinate (the administrator) and ``exclude`` (the current coordinator)
    are never offered. When no one covers the practice, everyone is shown.
    """

    def __init__(
        self,
        staff: Sequence[StaffChoice],
        *,
        placeholder: str,
        exclude: uuid.UUID | None = None,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        eligible = [m for m in staff if m.can_coordinate and m.id != exclude]
        self._local = [m for m in eligible if m.covers_practice]
        self._others = [m for m in eligible if not m.covers_practice]
        self._placeholder = placeholder
        self.combo = QComboBox(parent)
        self.show_everyone = QCheckBox(self.tr("Show &everyone in the team"), parent)
        self.show_everyone.setObjectName("show_everyone_check")
        self.show_everyone.setAccessibleName(self.tr("Show everyone in the team"))
        if self._local:
            self.show_everyone.setToolTip(
                self.tr("At first only the staff who cover this person's practice are listed.")
            )
        else:
            self.show_everyone.setChecked(True)
            self.show_everyone.setEnabled(False)
            self.show_everyone.setToolTip(
                self.tr("No one in the team covers this person's practice: everyone is listed.")
            )
        self.show_everyone.setVisible(bool(self._others))
        self.show_everyone.toggled.connect(self._on_show_everyone_toggled)
        self._fill()

    def chosen_id(self) -> uuid.UUID | None:
        value = self.combo.currentData()
        return value if isinstance(value, uuid.UUID) else None

    def _fill(self) -> None:
        kept = self.chosen_id()
        self.combo.clear()
        self.combo.addItem(self._placeholder, None)
        for member in self._local:
            self.combo.addItem(f"{member.name} — {member.profession_text}", member.id)
        if self.show_everyone.isChecked() and self._others:
            if self._local:
                self.combo.insertSeparator(self.combo.count())
            suffix = self.tr(" (other practice)") if self._local else ""
            for member in self._others:
                self.combo.addItem(f"{member.name} — {member.profession_text}{suffix}", member.id)
        for index in range(self.combo.count()):
            if kept is not None and self.combo.itemData(index) == kept:
                self.combo.setCurrentIndex(index)
                break

    @Slot(bool)
    def _on_show_everyone_toggled(self, _checked: bool) -> None:
        self._fill()
