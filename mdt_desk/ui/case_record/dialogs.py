"""The small forms of the case record: accept, change coordinator, close, reopen, finish
review, record an outcome event, add or end a short-term intervention, add a care team
member, add a goal, amend a note.

Each dialog only collects input. Pressing OK emits ``submitted``; the record runs the
service call and either calls :meth:`RecordDialog.accept` (saved) or
:meth:`RecordDialog.show_error` (the messages appear next to the fields, the dialog stays
open and nothing typed is lost). Dialogs are opened with ``open()``, never ``exec()``.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.errors import ValidationError
from mdt_desk.models.enums import (
    ClosureReason,
    DischargeDestination,
    ExperienceStatement,
    InterventionKind,
    InterventionOutcome,
    NotAcceptedReason,
    OutcomeEventKind,
    SurveyMethod,
)
from mdt_desk.services import drafts
from mdt_desk.services.case_view import InterventionView, NoteView, StaffChoice
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.display import label
from mdt_desk.services.experience import AGREEMENT_WORDS, STATEMENT_TEXT
from mdt_desk.services.plans import DEFAULT_INTERVENTION_LENGTH
from mdt_desk.services.times import TimeInputError
from mdt_desk.ui.case_record.coordinator_picker import CoordinatorPicker
from mdt_desk.ui.drafts import DraftGuard, DraftNotice, TextField
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit, DateField, FieldErrors, TimeField


def staff_combo(
    staff: Sequence[StaffChoice],
    *,
    placeholder: str,
    exclude: uuid.UUID | None = None,
    parent: QWidget | None = None,
) -> QComboBox:
    """A picker of staff (name — profession); the first item is ``placeholder`` (no one)."""
    combo = QComboBox(parent)
    combo.addItem(placeholder, None)
    for member in staff:
        if member.id != exclude:
            combo.addItem(f"{member.name} — {member.profession_text}", member.id)
    return combo


def enum_combo(
    values: Sequence[StrEnum], *, placeholder: str | None, parent: QWidget | None = None
) -> QComboBox:
    """A picker of coded values shown as words; ``placeholder`` first when given."""
    combo = QComboBox(parent)
    if placeholder is not None:
        combo.addItem(placeholder, None)
    for value in values:
        combo.addItem(label(value), value)
    return combo


E = TypeVar("E", bound=StrEnum)


def enum_data(combo: QComboBox, enum_class: type[E], index: int | None = None) -> E | None:
    """The coded value of a combo item (Qt hands a ``StrEnum`` back as a plain string)."""
    value = combo.itemData(combo.currentIndex() if index is None else index)
    return None if value is None else enum_class(value)


class RecordDialog(QDialog):
    """A form of the case record.

    Signals:
        submitted(): the user pressed OK; the owner saves and then accepts the dialog
            or shows the error.
    """

    submitted = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setModal(True)
        self.errors = FieldErrors()
        #: each field's widget by its field name, to take the focus to an error
        self._fields: dict[str, QWidget] = {}
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("ok_button")
        self.ok_button.setAccessibleName(self.tr("Save"))
        self.ok_button.setText(self.tr("&Save"))
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName(self.tr("Cancel"))
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.intro.hide()
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        self.draft_notice = DraftNotice(self)
        layout.addWidget(self.draft_notice)
        layout.addWidget(self.errors.summary)
        layout.addWidget(self.buttons)
        self.drafts = DraftGuard(self, super().reject)

    def set_intro(self, text: str) -> None:
        self.intro.setText(text)
        self.intro.setVisible(bool(text))

    def add_field(self, caption: str, widget: QWidget, field: str, name: str) -> None:
        """A labelled field (``caption`` with an ``&`` mnemonic) with its error label."""
        widget.setObjectName(name)
        widget.setAccessibleName(caption.replace("&", ""))
        caption_label = QLabel(caption, self)
        caption_label.setBuddy(widget)
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(widget)
        column.addWidget(self.errors.label_for(field))
        self.form.addRow(caption_label, box)
        self._clear_error_on_change(widget, field)
        self._fields.setdefault(field, widget)

    def _clear_error_on_change(self, widget: QWidget, field: str) -> None:
        """A field's message goes as soon as the person changes that field."""
        error_label = self.errors.label_for(field)

        def clear(*_args: object) -> None:
            error_label.show_message("")

        if isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(clear)
        elif isinstance(widget, QLineEdit):
            widget.textEdited.connect(clear)
        elif isinstance(widget, QPlainTextEdit):
            widget.textChanged.connect(clear)
        elif isinstance(widget, QSpinBox):
            widget.valueChanged.connect(clear)
        elif isinstance(widget, DateField | TimeField):
            widget.line_edit.textEdited.connect(clear)

    def show_error(self, error: Exception) -> None:
        """Show a failed save next to the fields; the dialog stays open as typed."""
        self.ok_button.setEnabled(True)
        if isinstance(error, DateInputError | TimeInputError):
            # the date or time field already says why, next to itself; take the person
            # to the first such field in the form
            for field in self.findChildren(QWidget):
                if isinstance(field, DateField | TimeField) and field.error_text():
                    field.setFocus(Qt.FocusReason.OtherFocusReason)
                    break
            self.fit_to_contents()
            return
        self.errors.show(error)
        self.fit_to_contents()
        self._focus_after_error(error)

    def _focus_after_error(self, error: Exception) -> None:
        """Take the person to the field the error names, else back into the form.

        While a save runs OK is disabled, so Qt moves the focus on, to Cancel: left
        there, the next Enter would close the dialog and throw away what was typed.
        """
        named = error.field_errors if isinstance(error, ValidationError) else {}
        for field in named:
            if (widget := self._fields.get(field)) is not None and widget.isEnabled():
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                return
        focus = self.focusWidget()
        if focus is None or focus in self.buttons.buttons():
            first = next((w for w in self._fields.values() if w.isEnabled()), None)
            (first or self.ok_button).setFocus(Qt.FocusReason.OtherFocusReason)

    def fit_to_contents(self) -> None:
        """Grow the dialog so each wrapped message is seen whole, never squeezed over its
        field (a top-level window does not grow for a word-wrapped label by itself)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        width = max(self.width(), self.minimumSizeHint().width())
        needed = self.heightForWidth(width)
        if needed < 0:
            needed = self.sizeHint().height()
        if needed > self.height() or width > self.width():
            self.resize(width, max(needed, self.height()))

    @Slot()
    def _on_buttons_accepted(self) -> None:
        self.errors.clear()
        self.ok_button.setEnabled(False)  # until the save finishes or fails
        self.submitted.emit()

    # -- drafts ------------------------------------------------------------------------

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        """The form's free-text fields with their draft keys (none by default)."""
        return []

    def keep_drafts(self, runner: TaskRunner, case_id: uuid.UUID | None) -> None:
        """Keep each free-text field as a draft while typed; put back what was kept."""
        for field, key in self.draft_fields(case_id):
            self.drafts.keep(runner, field, key, case_id, self.draft_notice)

    def accept(self) -> None:
        """Saved: the drafts of this form are no longer needed."""
        self.drafts.discard_all()
        super().accept()

    def reject(self) -> None:
        """Closed without saving: asks before discarding anything typed."""
        self.drafts.request_close()


class AcceptCaseDialog(RecordDialog):
    """Accept a referral: choose the care coordinator and the first review date."""

    def __init__(
        self, staff: Sequence[StaffChoice], today: dt.date, parent: QWidget | None = None
    ) -> None:
        super().__init__(self.tr("Accept referral"), parent)
        self.coordinator_picker = CoordinatorPicker(
            staff, placeholder=self.tr("Choose the care coordinator…"), parent=self
        )
        self.coordinator_combo = self.coordinator_picker.combo
        self.next_review_edit = CuiDateEdit(today + dt.timedelta(weeks=6), self)
        self.add_field(
            self.tr("Care &coordinator"), self.coordinator_combo, "coordinator", "coordinator_combo"
        )
        self.form.addRow("", self.coordinator_picker.show_everyone)
        self.add_field(
            self.tr("First &review"), self.next_review_edit, "next_review_on", "next_review_date"
        )
        self.errors.label_for("accepted_on")

    def coordinator_id(self) -> uuid.UUID | None:
        value = self.coordinator_combo.currentData()
        return value if isinstance(value, uuid.UUID) else None


class ChangeCoordinatorDialog(RecordDialog):
    """Hand the case to another coordinator, with the reason (kept in the history)."""

    def __init__(
        self,
        staff: Sequence[StaffChoice],
        current: uuid.UUID | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(self.tr("Change care coordinator"), parent)
        self.set_intro(
            self.tr(
                "The current coordinator's assignment ends today and stays in the "
                "coordinator history with your reason. This cannot be undone with Undo."
            )
        )
        self.coordinator_picker = CoordinatorPicker(
            staff, placeholder=self.tr("Choose the new coordinator…"), exclude=current, parent=self
        )
        self.coordinator_combo = self.coordinator_picker.combo
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("e.g. Needs a nurse-led plan after discharge"))
        self.add_field(
            self.tr("&New coordinator"), self.coordinator_combo, "coordinator", "coordinator_combo"
        )
        self.form.addRow("", self.coordinator_picker.show_everyone)
        self.add_field(self.tr("&Reason"), self.reason_edit, "reason", "reason_edit")

    def coordinator_id(self) -> uuid.UUID | None:
        value = self.coordinator_combo.currentData()
        return value if isinstance(value, uuid.UUID) else None

    def reason(self) -> str:
        return self.reason_edit.text()

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.reason_edit, drafts.draft_key(drafts.COORDINATOR_REASON, str(case_id)))]


class ReopenCaseDialog(ChangeCoordinatorDialog):
    """Reopen a closed case with a coordinator and the reason."""

    def __init__(self, staff: Sequence[StaffChoice], parent: QWidget | None = None) -> None:
        super().__init__(staff, None, parent)
        self.setWindowTitle(self.tr("Reopen case"))
        self.setAccessibleName(self.tr("Reopen case"))
        self.set_intro(self.tr("The case becomes active again with the coordinator you choose."))

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.reason_edit, drafts.draft_key(drafts.REOPEN_REASON, str(case_id)))]


class CloseCaseDialog(RecordDialog):
    """Close the case: a reason is required (and a note when the reason is "Other")."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Close case"), parent)
        self.reason_combo = enum_combo(
            list(ClosureReason), placeholder=self.tr("Choose a reason…"), parent=self
        )
        self.not_accepted_combo = enum_combo(
            list(NotAcceptedReason), placeholder=self.tr("Choose why…"), parent=self
        )
        self.not_accepted_combo.setEnabled(False)
        self.note_edit = QPlainTextEdit(self)
        self.note_edit.setTabChangesFocus(True)
        self.closed_on_edit = CuiDateEdit(today, self)
        self.add_field(
            self.tr("&Reason for closing"),
            self.reason_combo,
            "closure_reason",
            "closure_reason_combo",
        )
        self.add_field(
            self.tr("&Why not accepted"),
            self.not_accepted_combo,
            "not_accepted_reason",
            "not_accepted_reason_combo",
        )
        self.add_field(self.tr("&Note"), self.note_edit, "closure_note", "closure_note_edit")
        self.add_field(self.tr("Closed &on"), self.closed_on_edit, "closed_on", "closed_on_edit")
        self.reason_combo.currentIndexChanged.connect(self._on_reason_combo_changed)

    def reason(self) -> ClosureReason | None:
        return enum_data(self.reason_combo, ClosureReason)

    def not_accepted_reason(self) -> NotAcceptedReason | None:
        """Why a referral was not accepted (only with that reason for closing)."""
        if self.reason() is not ClosureReason.NOT_ACCEPTED:
            return None
        return enum_data(self.not_accepted_combo, NotAcceptedReason)

    @Slot(int)
    def _on_reason_combo_changed(self, _index: int) -> None:
        self.not_accepted_combo.setEnabled(self.reason() is ClosureReason.NOT_ACCEPTED)

    def note(self) -> str:
        return self.note_edit.toPlainText()

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.note_edit, drafts.draft_key(drafts.CLOSURE_NOTE, str(case_id)))]


class FinishReviewDialog(RecordDialog):
    """End a review with the case carrying on: choose the next review date."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Finish review"), parent)
        self.next_review_edit = CuiDateEdit(today + dt.timedelta(weeks=6), self)
        self.add_field(
            self.tr("&Next review"), self.next_review_edit, "next_review_on", "next_review_date"
        )


class OutcomeEventDialog(RecordDialog):
    """Record an admission, A&E attendance, death... against the person."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Record outcome event"), parent)
        self.kind_combo = enum_combo(list(OutcomeEventKind), placeholder=None, parent=self)
        self.date_edit = CuiDateEdit(today, self)
        self.source_edit = QLineEdit(self)
        self.source_edit.setPlaceholderText(self.tr("e.g. Discharge letter, QEQM Hospital"))
        self.delayed_days_spin = QSpinBox(self)
        self.delayed_days_spin.setRange(0, 365)
        self.delayed_days_spin.setSpecialValueText(self.tr("Not applicable"))
        self.add_field(self.tr("&Event"), self.kind_combo, "kind", "event_kind_combo")
        self.add_field(self.tr("&Date"), self.date_edit, "occurred_on", "event_date_edit")
        self.add_field(self.tr("S&ource"), self.source_edit, "source", "event_source_edit")
        self.add_field(
            self.tr("Days de&layed"),
            self.delayed_days_spin,
            "delayed_days",
            "event_delayed_days_spin",
        )
        self.discharge = DischargeFields(today, self)
        self.permanent_check = QCheckBox(self.tr("A &permanent (long-term) placement"), self)
        self.add_field(
            self.tr("Care home"), self.permanent_check, "permanent", "event_permanent_check"
        )
        self.errors.label_for("date_of_death")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_changed)
        self._on_kind_combo_changed(self.kind_combo.currentIndex())

    def kind(self) -> OutcomeEventKind:
        return enum_data(self.kind_combo, OutcomeEventKind) or OutcomeEventKind.HOSPITAL_ADMISSION

    def delayed_days(self) -> int | None:
        return self.delayed_days_spin.value() or None

    def permanent(self) -> bool:
        return self.permanent_check.isEnabled() and self.permanent_check.isChecked()

    @Slot(int)
    def _on_kind_combo_changed(self, _index: int) -> None:
        # Only the fields that belong to the kind can be filled in.
        kind = self.kind()
        self.discharge.set_available(kind is OutcomeEventKind.HOSPITAL_ADMISSION)
        self.permanent_check.setEnabled(
            kind
            in (
                OutcomeEventKind.RESIDENTIAL_CARE_ADMISSION,
                OutcomeEventKind.NURSING_CARE_ADMISSION,
            )
        )

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.source_edit, drafts.draft_key(drafts.OUTCOME_SOURCE, str(case_id)))]


class DischargeFields:
    """A hospital admission's discharge in a form: whether the person has left hospital,
    the day and where to. Added to ``dialog``'s form."""

    def __init__(self, today: dt.date, dialog: RecordDialog) -> None:
        self.left_check = QCheckBox(dialog.tr("The person has left &hospital"), dialog)
        self.date_edit = CuiDateEdit(today, dialog)
        self.destination_combo = enum_combo(
            list(DischargeDestination), placeholder=dialog.tr("Choose where to…"), parent=dialog
        )
        dialog.add_field(dialog.tr("Discharge"), self.left_check, "discharged", "discharged_check")
        dialog.add_field(
            dialog.tr("Discharged o&n"), self.date_edit, "discharged_on", "discharged_on_edit"
        )
        dialog.add_field(
            dialog.tr("Discharged &to"),
            self.destination_combo,
            "discharge_destination",
            "discharge_destination_combo",
        )
        self.left_check.toggled.connect(self._follow_check)
        self._available = True
        self._follow_check(False)

    def set_available(self, available: bool) -> None:
        """Whether the event is one that has a discharge (a hospital admission)."""
        self._available = available
        self.left_check.setEnabled(available)
        self._follow_check(self.left_check.isChecked())

    def _follow_check(self, checked: bool) -> None:
        on = self._available and checked
        self.date_edit.setEnabled(on)
        self.destination_combo.setEnabled(on)

    def discharged_on(self) -> dt.date | None:
        """The day the person left hospital; ``None`` when not (yet) discharged.

        Raises:
            DateInputError: the date cannot be read (the field says why).
        """
        if not (self._available and self.left_check.isChecked()):
            return None
        return self.date_edit.date_value()

    def destination(self) -> DischargeDestination | None:
        if not (self._available and self.left_check.isChecked()):
            return None
        return enum_data(self.destination_combo, DischargeDestination)


class DischargeDialog(RecordDialog):
    """Record, correct or clear a hospital admission's discharge."""

    def __init__(
        self,
        today: dt.date,
        admitted_text: str,
        parent: QWidget | None = None,
        *,
        discharged_on: dt.date | None = None,
        destination: DischargeDestination | None = None,
    ) -> None:
        super().__init__(self.tr("Record discharge"), parent)
        self.set_intro(self.tr("Hospital admission of {day}.").format(day=admitted_text))
        self.discharge = DischargeFields(today, self)
        # Opened on a discharge already recorded, the form shows it: saving it unchanged
        # must keep it, never put today's date and no destination in its place.
        if discharged_on is not None:
            self.discharge.date_edit.set_date(discharged_on)
            if destination is not None:
                index = self.discharge.destination_combo.findData(destination.value)
                self.discharge.destination_combo.setCurrentIndex(max(index, 0))
        self.discharge.left_check.setChecked(True)


class ExperienceSurveyDialog(RecordDialog):
    """The person's answers to the experience survey: one agreement per statement."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Record survey answers"), parent)
        self.set_intro(
            self.tr(
                "How much the person agrees with each statement. Leave a statement "
                "'Not answered' if they did not answer it."
            )
        )
        self.agreement_combos: dict[ExperienceStatement, QComboBox] = {}
        for number, statement in enumerate(ExperienceStatement, start=1):
            combo = QComboBox(self)
            combo.addItem(self.tr("Not answered"), None)
            for value, words in AGREEMENT_WORDS.items():
                combo.addItem(f"{value} — {words}", value)
            self.agreement_combos[statement] = combo
            self.add_field(
                f"&{number} {STATEMENT_TEXT[statement]}",
                combo,
                "agreement" if number == 1 else f"agreement_{statement.value}",
                f"survey_{statement.value}_combo",
            )
        self.answered_on_edit = CuiDateEdit(today, self)
        self.add_field(
            self.tr("&Answered on"), self.answered_on_edit, "answered_on", "survey_answered_on"
        )
        self.method_combo = enum_combo(list(SurveyMethod), placeholder=None, parent=self)
        self.add_field(
            self.tr("&How collected"), self.method_combo, "collected_how", "survey_method"
        )
        self.proxy_check = QCheckBox(
            self.tr("Answered for the person by a relative or carer"), self
        )
        self.add_field(self.tr("By &proxy"), self.proxy_check, "by_proxy", "survey_proxy_check")

    def answers(self) -> dict[ExperienceStatement, int]:
        """The agreement given to each statement answered."""
        return {
            statement: int(combo.currentData())
            for statement, combo in self.agreement_combos.items()
            if combo.currentData() is not None
        }

    def method(self) -> SurveyMethod:
        return enum_data(self.method_combo, SurveyMethod) or SurveyMethod.PAPER


class AddInterventionDialog(RecordDialog):
    """Start a short-term intervention: what, by whom, from when and until when."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Add a short-term intervention"), parent)
        self.kind_combo = enum_combo(
            list(InterventionKind), placeholder=self.tr("Choose the intervention…"), parent=self
        )
        self.provider_edit = QLineEdit(self)
        self.provider_edit.setPlaceholderText(self.tr("e.g. County reablement team"))
        self.started_on_edit = CuiDateEdit(today, self)
        self.planned_end_edit = CuiDateEdit(today + DEFAULT_INTERVENTION_LENGTH, self)
        self.add_field(self.tr("&Intervention"), self.kind_combo, "kind", "intervention_kind_combo")
        self.add_field(
            self.tr("&Provider"), self.provider_edit, "provider", "intervention_provider_edit"
        )
        self.add_field(
            self.tr("Sta&rted on"),
            self.started_on_edit,
            "started_on",
            "intervention_started_on_edit",
        )
        self.add_field(
            self.tr("Planned &end"),
            self.planned_end_edit,
            "planned_end_on",
            "intervention_planned_end_edit",
        )
        # The planned end follows the start (six weeks on) until the person types one.
        self._planned_end_typed = False
        self.planned_end_edit.line_edit.textEdited.connect(self._on_planned_end_typed)
        self.started_on_edit.editingFinished.connect(self._on_started_on_finished)

    def kind(self) -> InterventionKind | None:
        return enum_data(self.kind_combo, InterventionKind)

    def provider(self) -> str:
        return self.provider_edit.text()

    @Slot()
    def _on_planned_end_typed(self) -> None:
        self._planned_end_typed = True

    @Slot()
    def _on_started_on_finished(self) -> None:
        if self._planned_end_typed:
            return
        try:
            started_on = self.started_on_edit.date_or_none()
        except DateInputError:
            return  # the start field says why; the planned end waits for a date
        if started_on is not None:
            self.planned_end_edit.set_date(started_on + DEFAULT_INTERVENTION_LENGTH)


class EndInterventionDialog(RecordDialog):
    """Record when a short-term intervention ended and how it went."""

    def __init__(
        self, today: dt.date, intervention: InterventionView, parent: QWidget | None = None
    ) -> None:
        super().__init__(self.tr("End intervention"), parent)
        intro = self.tr("{kind}, started {started}.").format(
            kind=intervention.kind_text, started=intervention.started_text
        )
        if intervention.ended_text:
            intro += " " + self.tr(
                "It is recorded as ended on {ended}; saving replaces that."
            ).format(ended=intervention.ended_text)
        self.set_intro(intro)
        # An end already recorded is shown as it is: saving the form only to change the
        # outcome must not move the end to today (a wrong "within 6 weeks" figure).
        self.ended_on_edit = CuiDateEdit(intervention.ended_on or today, self)
        self.outcome_combo = enum_combo(
            list(InterventionOutcome), placeholder=self.tr("Choose the outcome…"), parent=self
        )
        if intervention.outcome is not None:
            index = self.outcome_combo.findData(intervention.outcome.value)
            self.outcome_combo.setCurrentIndex(max(index, 0))
        self.add_field(
            self.tr("&Ended on"), self.ended_on_edit, "ended_on", "intervention_ended_on_edit"
        )
        self.add_field(
            self.tr("&Outcome"), self.outcome_combo, "outcome", "intervention_outcome_combo"
        )

    def outcome(self) -> InterventionOutcome | None:
        return enum_data(self.outcome_combo, InterventionOutcome)


class CareTeamMemberDialog(RecordDialog):
    """Add a team member, or someone outside the team (e.g. a carer) by name."""

    def __init__(self, staff: Sequence[StaffChoice], parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Add to the care team"), parent)
        self.staff_combo = staff_combo(
            staff, placeholder=self.tr("Someone outside the team (enter the name)"), parent=self
        )
        self.name_edit = QLineEdit(self)
        self.role_edit = QLineEdit(self)
        self.role_edit.setPlaceholderText(self.tr("e.g. Daughter and main carer"))
        self.organisation_edit = QLineEdit(self)
        self.contact_edit = QLineEdit(self)
        self.add_field(self.tr("&Team member"), self.staff_combo, "staff", "member_staff_combo")
        self.add_field(self.tr("&Name"), self.name_edit, "name", "member_name_edit")
        self.add_field(self.tr("&Role"), self.role_edit, "role", "member_role_edit")
        self.add_field(
            self.tr("&Organisation"), self.organisation_edit, "organisation", "member_org_edit"
        )
        self.add_field(self.tr("&Contact"), self.contact_edit, "contact", "member_contact_edit")
        self.staff_combo.currentIndexChanged.connect(self._on_staff_combo_changed)

    def staff_id(self) -> uuid.UUID | None:
        value = self.staff_combo.currentData()
        return value if isinstance(value, uuid.UUID) else None

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [
            (field, drafts.draft_key(f"{drafts.CARE_TEAM_MEMBER}:{part}", str(case_id)))
            for field, part in (
                (self.name_edit, "name"),
                (self.role_edit, "role"),
                (self.organisation_edit, "organisation"),
                (self.contact_edit, "contact"),
            )
        ]

    @Slot(int)
    def _on_staff_combo_changed(self, _index: int) -> None:
        self.name_edit.setEnabled(self.staff_id() is None)


class GoalDialog(RecordDialog):
    """Add a goal in the person's own words, with an optional target date."""

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Add a goal — what matters to me"), parent)
        self.set_intro(self.tr("Write the goal in the person's own words."))
        self.description_edit = QPlainTextEdit(self)
        self.description_edit.setTabChangesFocus(True)
        self.target_check = QCheckBox(self.tr("&Target date"), self)
        self.target_check.setObjectName("goal_target_check")
        self.target_check.setAccessibleName(self.tr("Has a target date"))
        self.target_edit = CuiDateEdit(today + dt.timedelta(weeks=6), self)
        self.target_edit.setEnabled(False)
        self.target_check.toggled.connect(self.target_edit.setEnabled)
        self.add_field(
            self.tr("What &matters to me"),
            self.description_edit,
            "description",
            "goal_description_edit",
        )
        self.form.addRow(self.target_check, self.target_edit)
        self.target_edit.setObjectName("goal_target_edit")
        self.target_edit.setAccessibleName(self.tr("Target date"))

    def description(self) -> str:
        return self.description_edit.toPlainText()

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.description_edit, drafts.draft_key(drafts.GOAL, str(case_id)))]

    def target_on(self) -> dt.date | None:
        return self.target_edit.date_value() if self.target_check.isChecked() else None


class AmendNoteDialog(RecordDialog):
    """Add a correction to a note; the original stays as it was written."""

    def __init__(self, original: NoteView, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Amend note"), parent)
        self.original = original
        self.set_intro(
            self.tr(
                "Notes are never edited. Your correction is added to the timeline, shown "
                "with the note it corrects:\n\n{when} — {who}:\n{body}"
            ).format(when=original.written_text, who=original.author_name, body=original.body)
        )
        self.amendment_edit = QPlainTextEdit(self)
        self.amendment_edit.setTabChangesFocus(True)
        self.add_field(self.tr("&Correction"), self.amendment_edit, "body", "amendment_edit")
        self.errors.label_for("amends")

    def body(self) -> str:
        return self.amendment_edit.toPlainText()

    def draft_fields(self, case_id: uuid.UUID | None) -> list[tuple[TextField, str]]:
        return [(self.amendment_edit, drafts.draft_key(drafts.AMENDMENT, self.original.id))]
