"""Filters over the caseload: coordinator, risk band and status, combinable with any view.

The filters only narrow what the chosen saved view or practice shows; the service
applies them in SQL (:class:`~mdt_desk.services.caseload.CaseloadQuery`), so they stay
quick on 100,000 people.
"""

import dataclasses
import uuid

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from mdt_desk.models.enums import CaseStatus, Profession, RiskBand
from mdt_desk.services.caseload import CaseloadQuery
from mdt_desk.services.changes import Changes
from mdt_desk.services.display import label
from mdt_desk.services.staff import StaffSummary, list_staff
from mdt_desk.ui.runner import TaskRunner


class CaseloadFilterBar(QWidget):
    """Three choices above the caseload, each "any" until the user narrows it.

    Signals:
        filters_changed(): a choice changed; :meth:`apply` gives the narrowed query.
    """

    filters_changed = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.setObjectName("caseload_filters")
        self.coordinator = QComboBox()
        self.coordinator.setObjectName("filter_coordinator")
        self.coordinator.setAccessibleName(self.tr("Filter by care coordinator"))
        self.coordinator.addItem(self.tr("Anyone"), None)
        self.risk = QComboBox()
        self.risk.setObjectName("filter_risk")
        self.risk.setAccessibleName(self.tr("Filter by risk band"))
        self.risk.addItem(self.tr("Any risk"), None)
        for band in RiskBand:
            self.risk.addItem(label(band.value), band)
        self.status = QComboBox()
        self.status.setObjectName("filter_status")
        self.status.setAccessibleName(self.tr("Filter by case status"))
        self.status.addItem(self.tr("As the view says"), None)
        for status in CaseStatus:
            self.status.addItem(label(status.value), status)
        self.clear_button = QPushButton(self.tr("Clear filters"))
        self.clear_button.setAccessibleName(self.tr("Clear the caseload filters"))
        self.clear_button.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for text, combo in (
            (self.tr("Coordinator:"), self.coordinator),
            (self.tr("Risk:"), self.risk),
            (self.tr("Status:"), self.status),
        ):
            caption = QLabel(text)
            caption.setBuddy(combo)
            layout.addWidget(caption)
            layout.addWidget(combo)
        layout.addWidget(self.clear_button)
        layout.addStretch(1)
        for combo in (self.coordinator, self.risk, self.status):
            combo.currentIndexChanged.connect(self._on_choice_changed)
        self.clear_button.clicked.connect(self.clear)
        runner.changes_committed.connect(self._on_runner_changes_committed)
        # Listed when first shown, not while the window is on its sign-in screen: the
        # PIN check and the first page must not queue behind a list of the whole team.
        self._staff_asked = False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._staff_asked:
            self._staff_asked = True
            # after what is asked for in this same event (the first page, on signing in)
            QTimer.singleShot(0, self, self.load_staff)

    def load_staff(self) -> None:
        """Offer every clinical or care staff member (administrators coordinate no one)."""
        self._staff_asked = True
        self._runner.read(list_staff, self._show_staff, owner=self, description="filter staff")

    def _show_staff(self, staff: list[StaffSummary]) -> None:
        chosen = self.coordinator.currentData()
        self.coordinator.blockSignals(True)
        self.coordinator.clear()
        self.coordinator.addItem(self.tr("Anyone"), None)
        for member in sorted(staff, key=lambda m: m.display_name.casefold()):
            if member.profession is not Profession.ADMINISTRATOR:
                # As text: a combo box finds its items' data by value only for Qt types.
                self.coordinator.addItem(member.display_name, str(member.id))
        found = self.coordinator.findData(chosen)
        self.coordinator.setCurrentIndex(max(0, found))
        self.coordinator.blockSignals(False)
        if chosen is not None and found < 0:
            self._on_choice_changed()  # the chosen person has left: show everyone's again

    def apply(self, query: CaseloadQuery) -> CaseloadQuery:
        """``query`` narrowed by the current choices."""
        chosen = self.coordinator.currentData()
        coordinator = uuid.UUID(chosen) if chosen else None
        # Qt may hand an enum back as its plain value: make it the enum again.
        risk = RiskBand(self.risk.currentData()) if self.risk.currentData() else None
        status = CaseStatus(self.status.currentData()) if self.status.currentData() else None
        return dataclasses.replace(
            query,
            coordinated_by=coordinator,
            risk_band=risk,
            status=status if status is not None else query.status,
        )

    @property
    def active(self) -> bool:
        return any(c.currentIndex() > 0 for c in (self.coordinator, self.risk, self.status))

    @Slot()
    def clear(self) -> None:
        for combo in (self.coordinator, self.risk, self.status):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._on_choice_changed()

    @Slot()
    def _on_choice_changed(self) -> None:
        self.clear_button.setEnabled(self.active)
        self.filters_changed.emit()

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if changes.staff and self._staff_asked:  # else listed when first shown
            self.load_staff()
