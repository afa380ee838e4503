"""The NHS CUI patient banner at the top of the case record.

Zone 1 (always shown), in CUI order: ``FAMILY, Given (Title)``, ``Born`` with the age,
``Gender``, ``NHS No.``; for a person who has died also ``Died`` and ``Age at Death``.
Labels have no colons and are smaller and lighter than the values. Zone 2 (address,
phone, practice, alerts, consent) is collapsed at first and opened with the "Details"
button (keyboard: Tab to it and press Space, or Alt+D).

The banner is the one place with fixed colours: white text on NHS blue, or, for a
person who has died, on dark grey with a diagonal hatch, so it differs by colour *and*
pattern and stays distinct on a greyscale projector. Both read in light and dark themes.
"""

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.services.case_view import BannerView
from mdt_desk.services.display import NOT_KNOWN

LIVING_BACKGROUND = QColor("#005eb8")  # NHS blue
DECEASED_BACKGROUND = QColor("#33373b")
DECEASED_HATCH = QColor("#6b7177")
TEXT = QColor("#ffffff")
LABEL_TEXT = QColor("#dde6ef")


class PatientBanner(QFrame):
    """The CUI banner of one person. Fill it with :meth:`show_banner`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patient_banner")
        self.setAccessibleName("Patient banner")
        self.setAutoFillBackground(False)
        self._deceased = False
        self._view: BannerView | None = None

        self.name_label = self._value_label("name_value", self.tr("Name"), point_delta=5)
        self.name_label.setText(self.tr("Loading…"))
        self.born_value = self._value_label("born_value", self.tr("Born"))
        self.gender_value = self._value_label("gender_value", self.tr("Gender"))
        self.nhs_value = self._value_label("nhs_number_value", self.tr("NHS No."))
        self.died_label = self._field_label(self.tr("Died"))
        self.died_value = self._value_label("died_value", self.tr("Died"))
        self.age_at_death_label = self._field_label(self.tr("Age at Death"))
        self.age_at_death_value = self._value_label("age_at_death_value", self.tr("Age at Death"))
        for widget in (
            self.died_label,
            self.died_value,
            self.age_at_death_label,
            self.age_at_death_value,
        ):
            widget.hide()

        self._build_details_button()
        zone1 = QHBoxLayout()
        zone1.setSpacing(18)
        zone1.addWidget(self.name_label)
        for caption, value in (
            (self._field_label(self.tr("Born")), self.born_value),
            (self._field_label(self.tr("Gender")), self.gender_value),
            (self._field_label(self.tr("NHS No.")), self.nhs_value),
            (self.died_label, self.died_value),
            (self.age_at_death_label, self.age_at_death_value),
        ):
            pair = QHBoxLayout()
            pair.setSpacing(6)
            pair.addWidget(caption, 0, Qt.AlignmentFlag.AlignBaseline)
            pair.addWidget(value, 0, Qt.AlignmentFlag.AlignBaseline)
            zone1.addLayout(pair)
        zone1.addStretch(1)
        zone1.addWidget(self.details_button)

        self._build_zone2()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(zone1)
        layout.addWidget(self.zone2)

    # -- building ----------------------------------------------------------------------

    def _build_details_button(self) -> None:
        self.details_button = QToolButton(self)
        self.details_button.setObjectName("banner_details_button")
        self.details_button.setText(self.tr("&Details"))
        self.details_button.setCheckable(True)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setAccessibleName(self.tr("Show address, contacts, alerts and consent"))
        self.details_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.details_button.toggled.connect(self._on_details_button_toggled)
        self.details_button.setStyleSheet(
            "QToolButton { color: white; background: transparent; border: 1px solid white;"
            " border-radius: 3px; padding: 2px 8px; }"
            "QToolButton:focus { border: 2px solid #ffeb3b; }"
        )

    def _build_zone2(self) -> None:
        self.zone2 = QWidget(self)
        self.zone2.setObjectName("banner_zone2")
        grid = QGridLayout(self.zone2)
        grid.setContentsMargins(0, 4, 0, 0)
        self.address_value = self._value_label("address_value", self.tr("Address"), bold=False)
        self.phone_value = self._value_label("phone_value", self.tr("Phone"), bold=False)
        self.practice_value = self._value_label("practice_value", self.tr("Practice"), bold=False)
        self.alerts_value = self._value_label("alerts_value", self.tr("Alerts"), bold=False)
        self.consent_value = self._value_label(
            "consent_value", self.tr("Consent to share"), bold=False
        )
        for row, (caption, value) in enumerate(
            (
                (self.tr("Address"), self.address_value),
                (self.tr("Phone"), self.phone_value),
                (self.tr("Practice"), self.practice_value),
                (self.tr("Alerts"), self.alerts_value),
                (self.tr("Consent to share"), self.consent_value),
            )
        ):
            value.setWordWrap(True)
            grid.addWidget(self._field_label(caption), row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
        grid.setColumnStretch(1, 1)
        self.zone2.hide()

    @staticmethod
    def _paint_text(widget: QWidget, colour: QColor) -> None:
        palette = widget.palette()
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
            palette.setColor(role, colour)
        widget.setPalette(palette)

    def _field_label(self, text: str) -> QLabel:
        caption = QLabel(text, self)
        self._paint_text(caption, LABEL_TEXT)
        return caption

    def _value_label(
        self, name: str, accessible: str, *, point_delta: int = 1, bold: bool = True
    ) -> QLabel:
        value = QLabel(self)
        value.setObjectName(name)
        value.setAccessibleName(accessible)
        font = QFont(value.font())
        font.setBold(bold)
        if font.pointSize() > 0:
            font.setPointSize(font.pointSize() + point_delta)
        value.setFont(font)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setTextFormat(Qt.TextFormat.PlainText)
        self._paint_text(value, TEXT)
        return value

    # -- what the record calls ---------------------------------------------------------

    def show_banner(self, view: BannerView) -> None:
        self._view = view
        self._deceased = view.deceased
        self.name_label.setText(view.display_name)
        self.born_value.setText(
            f"{view.born_text} {view.age_text}".strip() if view.born_text else NOT_KNOWN
        )
        self.gender_value.setText(view.gender_text or NOT_KNOWN)
        self.nhs_value.setText(view.nhs_number_text or NOT_KNOWN)
        for widget in (
            self.died_label,
            self.died_value,
            self.age_at_death_label,
            self.age_at_death_value,
        ):
            widget.setVisible(view.deceased)
        self.died_value.setText(view.died_text)
        self.age_at_death_value.setText(view.age_at_death_text)
        self.address_value.setText(view.address_text)
        self.phone_value.setText(view.phone_text)
        self.practice_value.setText(view.practice_name)
        self.alerts_value.setText(
            "\n".join(
                f"{alert.kind_text}{': ' + alert.detail if alert.detail else ''}"
                + (self.tr(" (sensitive)") if alert.sensitive else "")
                for alert in view.alerts
            )
            or self.tr("None recorded")
        )
        consent = view.consent
        self.consent_value.setText(
            self.tr("{decision}, recorded {on} by {by}").format(
                decision=consent.decision_text, on=consent.recorded_on_text, by=consent.recorded_by
            )
            if consent is not None
            else self.tr("Not recorded")
        )
        summary = [
            view.display_name,
            f"Born {self.born_value.text()}",
            f"Gender {self.gender_value.text()}",
            f"NHS No. {self.nhs_value.text()}",
        ]
        if view.deceased:
            summary += [f"Died {view.died_text}", f"Age at Death {view.age_at_death_text}"]
        self.setAccessibleDescription(", ".join(summary))
        self.update()

    def is_deceased(self) -> bool:
        return self._deceased

    def background_colour(self) -> QColor:
        return DECEASED_BACKGROUND if self._deceased else LIVING_BACKGROUND

    def pattern(self) -> Qt.BrushStyle:
        """The overlay pattern: a diagonal hatch for a person who has died, else none."""
        return Qt.BrushStyle.BDiagPattern if self._deceased else Qt.BrushStyle.NoBrush

    def details_shown(self) -> bool:
        return self.zone2.isVisibleTo(self)

    def set_details_shown(self, shown: bool) -> None:
        self.details_button.setChecked(shown)

    # -- Qt ---------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background_colour())
        if self._deceased:
            hatch = QBrush(DECEASED_HATCH, self.pattern())
            painter.fillRect(self.rect(), hatch)
        painter.end()
        super().paintEvent(event)

    @Slot(bool)
    def _on_details_button_toggled(self, shown: bool) -> None:
        self.zone2.setVisible(shown)
        self.details_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.details_button.setAccessibleName(
            self.tr("Hide address, contacts, alerts and consent")
            if shown
            else self.tr("Show address, contacts, alerts and consent")
        )
