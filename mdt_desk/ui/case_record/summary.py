"""The Summary tab: referral, status and its allowed transitions, risk band, next review,
long-term conditions, interventions, outcome events and experience survey answers."""

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError, ValidationError
from mdt_desk.models.enums import OutcomeEventKind, RiskBand
from mdt_desk.services import cases, experience, plans
from mdt_desk.services.case_view import (
    CaseTransition,
    ExperienceAnswerView,
    InterventionView,
    OutcomeEventView,
    RecordView,
)
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.display import NOT_KNOWN, cui_date, label
from mdt_desk.ui.case_record.base import RecordTab, Save, record_table
from mdt_desk.ui.case_record.dialogs import (
    AcceptCaseDialog,
    AddInterventionDialog,
    CloseCaseDialog,
    DischargeDialog,
    EndInterventionDialog,
    ExperienceSurveyDialog,
    FinishReviewDialog,
    OutcomeEventDialog,
    ReopenCaseDialog,
    enum_data,
)
from mdt_desk.ui.case_record.held_fields import HeldDateField
from mdt_desk.ui.case_record.undo import escalated_command, next_review_command, risk_band_command
from mdt_desk.ui.itemmodels.case_summary_table_models import (
    ExperienceAnswersTableModel,
    InterventionsTableModel,
    OutcomeEventsTableModel,
)
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit, announce, show_text


class SummaryTab(RecordTab):
    """The case at a glance, with its status changes and quick edits."""

    def __init__(
        self, runner: TaskRunner, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(runner, undo_stack, parent)
        self.setAccessibleName(self.tr("Case summary"))
        self._risk_band: RiskBand | None = None
        self._next_review: dt.date | None = None

        status_box = self._build_status_box()
        referral_box = self._build_referral_box()
        risk_box = self._build_risk_box()
        interventions_box, events_box = self._build_event_boxes()
        survey_box = self._build_survey_box()
        content = QWidget(self)
        column = QVBoxLayout(content)
        column.addWidget(self.error_label)
        column.addWidget(status_box)
        column.addWidget(referral_box)
        column.addWidget(risk_box)
        column.addWidget(interventions_box)
        column.addWidget(events_box)
        column.addWidget(survey_box)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setAccessibleName(self.tr("Case summary"))
        QVBoxLayout(self).addWidget(scroll)
        self.setTabOrder(self.escalate_check, self.risk_band_combo)
        self.setTabOrder(self.risk_band_combo, self.next_review_edit)

    def _build_status_box(self) -> QGroupBox:
        # Status and what can happen next.
        self.status_label = QLabel(self)
        self.status_label.setObjectName("status_label")
        font = QFont(self.status_label.font())
        font.setBold(True)
        if font.pointSize() > 0:
            font.setPointSize(font.pointSize() + 2)
        self.status_label.setFont(font)
        self.transition_buttons: dict[CaseTransition, QPushButton] = {}
        buttons = QHBoxLayout()
        for transition, text, name in (
            (CaseTransition.ACCEPT, self.tr("A&ccept…"), "accept_case_button"),
            (CaseTransition.START_REVIEW, self.tr("&Put under review"), "start_review_button"),
            (CaseTransition.FINISH_REVIEW, self.tr("Finish revie&w…"), "finish_review_button"),
            (CaseTransition.CLOSE, self.tr("C&lose case…"), "close_case_button"),
            (CaseTransition.REOPEN, self.tr("Reo&pen…"), "reopen_case_button"),
        ):
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.setAccessibleName(text.replace("&", "").rstrip("…"))
            button.hide()
            button.clicked.connect(lambda _checked=False, t=transition: self.start_transition(t))
            self.transition_buttons[transition] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.escalate_check = QCheckBox(self.tr("Escalated for the ne&xt MDT meeting"), self)
        self.escalate_check.setObjectName("escalate_check")
        self.escalate_check.setAccessibleName(self.tr("Escalated for the next MDT meeting"))
        self.escalate_check.clicked.connect(self._on_escalate_check_clicked)
        status_box = QGroupBox(self.tr("Status"), self)
        status_layout = QVBoxLayout(status_box)
        status_layout.addWidget(self.status_label)
        status_layout.addLayout(buttons)
        status_layout.addWidget(self.escalate_check)
        return status_box

    def _build_referral_box(self) -> QGroupBox:
        # Referral.
        self.referral_values: dict[str, QLabel] = {}
        referral_box = QGroupBox(self.tr("Referral"), self)
        referral_form = QFormLayout(referral_box)
        for key, caption in (
            ("source", self.tr("Source")),
            ("reason", self.tr("Reason")),
            ("referred", self.tr("Referred")),
            ("urgency", self.tr("Urgency")),
            ("accepted", self.tr("Accepted")),
            ("closed", self.tr("Closed")),
        ):
            value = QLabel(self)
            value.setObjectName(f"referral_{key}_value")
            value.setAccessibleName(caption)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.referral_values[key] = value
            referral_form.addRow(caption, value)
        return referral_box

    def _build_risk_box(self) -> QGroupBox:
        # Risk and review (undoable).
        self.risk_band_combo = QComboBox(self)
        self.risk_band_combo.setObjectName("risk_band_combo")
        self.risk_band_combo.setAccessibleName(self.tr("Risk band"))
        self.risk_band_combo.addItem(self.tr("Not set"), None)
        for band in RiskBand:
            self.risk_band_combo.addItem(label(band), band)
        self.risk_band_combo.activated.connect(self._on_risk_band_combo_activated)
        self.next_review_edit = CuiDateEdit(parent=self, optional=True)
        self.next_review_edit.setObjectName("next_review_edit")
        self.next_review_edit.setAccessibleName(self.tr("Next review"))
        self.next_review_edit.editingFinished.connect(self._on_next_review_edit_finished)
        # A reload never overwrites a date being typed (the risk band and the escalation
        # save as soon as they are chosen, so they have nothing unsaved to keep).
        self.next_review_held = HeldDateField(self.next_review_edit)
        self.review_state_label = QLabel(self)
        self.review_state_label.setObjectName("review_state_label")
        self.conditions_label = QLabel(self)
        self.conditions_label.setObjectName("conditions_label")
        self.conditions_label.setWordWrap(True)
        risk_box = QGroupBox(self.tr("Risk and review"), self)
        risk_form = QFormLayout(risk_box)
        risk_label = QLabel(self.tr("Ris&k band"), self)
        risk_label.setBuddy(self.risk_band_combo)
        review_label = QLabel(self.tr("Next &review"), self)
        review_label.setBuddy(self.next_review_edit)
        review_row = QHBoxLayout()
        review_row.addWidget(self.next_review_edit)
        review_row.addWidget(self.review_state_label, 1)
        risk_form.addRow(risk_label, self.risk_band_combo)
        risk_form.addRow(review_label, review_row)
        risk_form.addRow(self.tr("Long-term conditions"), self.conditions_label)
        risk_box.setToolTip(self.tr("Changes here can be undone with Ctrl+Z."))
        return risk_box

    def _build_event_boxes(self) -> tuple[QGroupBox, QGroupBox]:
        # Interventions and outcome events.
        self.interventions_model = InterventionsTableModel(self)
        self.interventions_table = record_table(
            self.interventions_model, "interventions_table", self.tr("Interventions"), self
        )
        self.outcome_events_model = OutcomeEventsTableModel(self)
        self.outcome_events_table = record_table(
            self.outcome_events_model, "outcome_events_table", self.tr("Outcome events"), self
        )
        self.record_outcome_event_button = QPushButton(self.tr("Record &outcome event…"), self)
        self.record_outcome_event_button.setObjectName("record_outcome_event_button")
        self.record_outcome_event_button.setAccessibleName(self.tr("Record outcome event"))
        self.record_outcome_event_button.setToolTip(
            self.tr("Outcome events are kept as recorded and are not undone with Ctrl+Z.")
        )
        self.record_outcome_event_button.clicked.connect(self.open_outcome_event_dialog)
        # No Alt+letter on these two: the case record's letters are all taken.
        self.record_discharge_button = QPushButton(self.tr("Record discharge…"), self)
        self.record_discharge_button.setObjectName("record_discharge_button")
        self.record_discharge_button.setAccessibleName(
            self.tr("Record the discharge of the chosen hospital admission")
        )
        self.record_discharge_button.setToolTip(
            self.tr("Choose a hospital admission in the table, then record when and where to.")
        )
        self.record_discharge_button.clicked.connect(self.open_discharge_dialog)
        self.record_survey_button = QPushButton(self.tr("Record survey answers…"), self)
        self.record_survey_button.setObjectName("record_survey_button")
        self.record_survey_button.setAccessibleName(self.tr("Record experience survey answers"))
        self.record_survey_button.clicked.connect(self.open_survey_dialog)
        events_box = QGroupBox(self.tr("Outcome events"), self)
        events_layout = QVBoxLayout(events_box)
        events_layout.addWidget(self.outcome_events_table)
        event_buttons = QHBoxLayout()
        event_buttons.addWidget(self.record_outcome_event_button)
        event_buttons.addWidget(self.record_discharge_button)
        event_buttons.addStretch(1)
        events_layout.addLayout(event_buttons)
        self.outcome_events_notice = notice_label("outcome_events_notice", self)
        events_layout.addWidget(self.outcome_events_notice)
        interventions_box = self._build_interventions_box()
        return interventions_box, events_box

    def _build_interventions_box(self) -> QGroupBox:
        # No Alt+letter on these either: the case record's letters are all taken.
        self.add_intervention_button = QPushButton(self.tr("Add intervention…"), self)
        self.add_intervention_button.setObjectName("add_intervention_button")
        self.add_intervention_button.setAccessibleName(self.tr("Add a short-term intervention"))
        self.add_intervention_button.setToolTip(
            self.tr("Reablement, an intermediate care bed, telecare… started for this case.")
        )
        self.add_intervention_button.clicked.connect(self.open_add_intervention_dialog)
        self.end_intervention_button = QPushButton(self.tr("End intervention…"), self)
        self.end_intervention_button.setObjectName("end_intervention_button")
        self.end_intervention_button.setAccessibleName(
            self.tr("End the intervention chosen in the table")
        )
        self.end_intervention_button.setToolTip(
            self.tr("Choose an intervention in the table, then record when it ended and how.")
        )
        self.end_intervention_button.clicked.connect(self.open_end_intervention_dialog)
        self.interventions_notice = notice_label("interventions_notice", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_intervention_button)
        buttons.addWidget(self.end_intervention_button)
        buttons.addStretch(1)
        interventions_box = QGroupBox(self.tr("Short-term interventions"), self)
        layout = QVBoxLayout(interventions_box)
        layout.addWidget(self.interventions_table)
        layout.addLayout(buttons)
        layout.addWidget(self.interventions_notice)
        # Tab from the table to its own buttons, then on to the outcome events below.
        self.setTabOrder(self.interventions_table, self.add_intervention_button)
        self.setTabOrder(self.add_intervention_button, self.end_intervention_button)
        self.setTabOrder(self.end_intervention_button, self.outcome_events_table)
        return interventions_box

    def _build_survey_box(self) -> QGroupBox:
        # Experience survey answers: seen, corrected (saved again) and withdrawn here.
        self.experience_answers_model = ExperienceAnswersTableModel(self)
        self.experience_answers_table = record_table(
            self.experience_answers_model,
            "experience_answers_table",
            self.tr("Survey answers"),
            self,
        )
        # The statement is the long column: it takes the spare width, not "By proxy".
        answers_header = self.experience_answers_table.horizontalHeader()
        answers_header.setStretchLastSection(False)
        answers_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.withdraw_survey_answer_button = QPushButton(self.tr("Withdraw answer…"), self)
        self.withdraw_survey_answer_button.setObjectName("withdraw_survey_answer_button")
        self.withdraw_survey_answer_button.setAccessibleName(
            self.tr("Withdraw the survey answer chosen in the table")
        )
        self.withdraw_survey_answer_button.setToolTip(
            self.tr(
                "For an answer entered by mistake. To correct an answer, record it again "
                "for the same day: it replaces the one recorded."
            )
        )
        self.withdraw_survey_answer_button.clicked.connect(self.confirm_withdraw_survey_answer)
        self.experience_answers_table.selectionModel().selectionChanged.connect(
            self._update_survey_buttons
        )
        #: The open "Withdraw this answer?" question, if any (for tests and scripts).
        self.withdraw_answer_confirm: QMessageBox | None = None
        self.survey_notice = notice_label("survey_notice", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_survey_button)
        buttons.addWidget(self.withdraw_survey_answer_button)
        buttons.addStretch(1)
        survey_box = QGroupBox(self.tr("Survey answers"), self)
        layout = QVBoxLayout(survey_box)
        layout.addWidget(self.experience_answers_table)
        layout.addLayout(buttons)
        layout.addWidget(self.survey_notice)
        self._update_survey_buttons()
        return survey_box

    # -- showing ---------------------------------------------------------------------

    def show_record(self, view: RecordView) -> None:
        super().show_record(view)
        case = view.case
        self._risk_band = view.risk_band
        self._next_review = case.next_review_on if case is not None else None
        self.risk_band_combo.setCurrentIndex(max(self.risk_band_combo.findData(view.risk_band), 0))
        self.conditions_label.setText(
            "; ".join(
                f"{c.name} (diagnosed {c.diagnosed_text})"
                if c.diagnosed_text != NOT_KNOWN
                else c.name
                for c in view.conditions
            )
            or self.tr("None recorded")
        )
        self.outcome_events_model.set_rows(view.outcome_events)
        self.experience_answers_model.set_rows(view.experience_answers)
        self._update_survey_buttons()
        self.add_intervention_button.setEnabled(case is not None and case.is_open)
        self.end_intervention_button.setEnabled(case is not None)
        if case is None:
            return
        status = case.status_text
        if case.escalated:
            status += self.tr(" — escalated for the next MDT meeting")
        self.status_label.setText(self.tr("Status: {status}").format(status=status))
        for transition, button in self.transition_buttons.items():
            button.setVisible(transition in case.transitions)
        self.escalate_check.setChecked(case.escalated)
        self.escalate_check.setEnabled(case.is_open)
        values = self.referral_values
        values["source"].setText(case.referral_source_text)
        values["reason"].setText(case.referral_reason)
        values["referred"].setText(case.referred_text)
        values["urgency"].setText(case.referral_urgency_text)
        values["accepted"].setText(case.accepted_text)
        closed = ""
        if case.closed_on is not None:
            closed = f"{case.closed_text} — {case.closure_reason_text}"
            if case.closure_note:
                closed += f": {case.closure_note}"
        values["closed"].setText(closed or self.tr("Open"))
        self.next_review_edit.setEnabled(case.is_open)
        if self.next_review_held.show_stored(
            case.next_review_on, from_elsewhere=self.showing_change_from_elsewhere
        ):
            self.typing_kept.emit()
        if case.review_overdue and case.next_review_on is not None:
            days = (view.today - case.next_review_on).days
            text = self.tr("⚠ OVERDUE by {days} day(s)").format(days=days)
            self.review_state_label.setText(text)
            self.review_state_label.setAccessibleName(text)
            self.review_state_label.setStyleSheet("font-weight: bold;")
        else:
            self.review_state_label.setText("")
            self.review_state_label.setAccessibleName(self.tr("Review not overdue"))
        self.interventions_model.set_rows(case.interventions)

    # -- status changes --------------------------------------------------------------

    def start_transition(self, transition: CaseTransition) -> None:
        """Begin a status change (opens its dialog where it needs input)."""
        view = self.view
        if view is None or view.case is None:
            return
        case_id = view.case.id
        today = view.today
        if transition is CaseTransition.START_REVIEW:
            self.save(lambda session: cases.start_review(session, case_id))
        elif transition is CaseTransition.ACCEPT:
            accept = AcceptCaseDialog(view.staff, today, self)

            def accept_save() -> Save:
                coordinator, review = accept.coordinator_id(), accept.next_review_edit.date_value()
                return lambda session: cases.accept(
                    session, case_id, coordinator_id=coordinator, next_review_on=review, on=today
                )

            self.open_dialog(accept, accept_save)
        elif transition is CaseTransition.FINISH_REVIEW:
            finish = FinishReviewDialog(today, self)

            def finish_save() -> Save:
                review = finish.next_review_edit.date_value()
                return lambda session: cases.finish_review(session, case_id, next_review_on=review)

            self.open_dialog(finish, finish_save)
        elif transition is CaseTransition.CLOSE:
            close = CloseCaseDialog(today, self)

            def close_save() -> Save:
                reason, note = close.reason(), close.note()
                why_not = close.not_accepted_reason()
                on = close.closed_on_edit.date_value()
                return lambda session: cases.close(
                    session, case_id, reason=reason, note=note, on=on, not_accepted_reason=why_not
                )

            self.open_dialog(close, close_save)
        elif transition is CaseTransition.REOPEN:
            reopen = ReopenCaseDialog(view.staff, self)

            def reopen_save() -> Save:
                coordinator, reason = reopen.coordinator_id(), reopen.reason()
                return lambda session: cases.reopen(
                    session, case_id, coordinator_id=coordinator, reason=reason, on=today
                )

            self.open_dialog(reopen, reopen_save)

    @Slot()
    def open_outcome_event_dialog(self) -> OutcomeEventDialog | None:
        view = self.view
        if view is None:
            return None
        patient_id = view.banner.patient_id
        dialog = OutcomeEventDialog(view.today, self)

        def make_save() -> Save:
            kind, occurred_on = dialog.kind(), dialog.date_edit.date_value()
            source, delayed = dialog.source_edit.text(), dialog.delayed_days()
            discharged_on = dialog.discharge.discharged_on()
            destination = dialog.discharge.destination()
            permanent = dialog.permanent()
            today = dt.date.today()
            return lambda session: plans.record_outcome_event(
                session,
                patient_id,
                kind=kind,
                occurred_on=occurred_on,
                source=source,
                delayed_days=delayed,
                discharged_on=discharged_on,
                discharge_destination=destination,
                permanent=permanent,
                today=today,
            )

        self.open_dialog(dialog, make_save)
        return dialog

    @Slot()
    def open_discharge_dialog(self) -> DischargeDialog | None:
        """Record (or correct) the discharge of the hospital admission chosen in the
        outcome events table; says so when none is chosen."""
        view = self.view
        if view is None:
            return None
        chosen = self._chosen_admission(view.outcome_events)
        if chosen is None:
            self.tell(
                self.outcome_events_notice,
                self.tr("Choose the hospital admission in the table first."),
            )
            self.outcome_events_table.setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        self.tell(self.outcome_events_notice, "")
        event_id = chosen.id
        dialog = DischargeDialog(
            view.today,
            chosen.occurred_text,
            self,
            discharged_on=chosen.discharged_on,
            destination=chosen.discharge_destination,
        )

        def make_save() -> Save:
            discharged_on = dialog.discharge.discharged_on()
            destination = dialog.discharge.destination()
            today = dt.date.today()
            return lambda session: plans.record_discharge(
                session,
                event_id,
                discharged_on=discharged_on,
                destination=destination,
                today=today,
            )

        self.open_dialog(dialog, make_save)
        return dialog

    def _chosen_admission(self, events: Sequence[OutcomeEventView]) -> OutcomeEventView | None:
        """The hospital admission chosen in the table; with nothing chosen, the person's
        only admission (chosen in the table too), if they have exactly one."""
        rows = self.outcome_events_table.selectionModel().selectedRows()
        if rows:
            row = rows[0].row()
            chosen = events[row] if row < len(events) else None
            if chosen is None or chosen.kind is not OutcomeEventKind.HOSPITAL_ADMISSION:
                return None  # something else was chosen: never guess which admission
            return chosen
        admissions = [
            row
            for row, event in enumerate(events)
            if event.kind is OutcomeEventKind.HOSPITAL_ADMISSION
        ]
        if len(admissions) != 1:
            return None
        self.outcome_events_table.selectRow(admissions[0])
        return events[admissions[0]]

    # -- short-term interventions ----------------------------------------------------

    @Slot()
    def open_add_intervention_dialog(self) -> AddInterventionDialog | None:
        """Start a short-term intervention; the confirmation says when it brought the
        91-day check after a discharge from hospital (and for whom)."""
        view = self.view
        if view is None or view.case is None:
            return None
        case_id = view.case.id
        dialog = AddInterventionDialog(view.today, self)
        # Filled on the worker thread by the save, read on the GUI thread once saved.
        checks_due: list[plans.CheckDue] = []

        def make_save() -> Save:
            kind, provider = dialog.kind(), dialog.provider()
            started_on = dialog.started_on_edit.date_value()
            planned_end_on = dialog.planned_end_edit.date_value()
            if kind is None:
                message = self.tr("Choose the intervention.")
                raise ValidationError(message, {"kind": message})

            def save(session: Session) -> None:
                added = plans.add_intervention(
                    session,
                    case_id,
                    kind=kind,
                    started_on=started_on,
                    planned_end_on=planned_end_on,
                    provider=provider,
                )
                checks_due[:] = [added.check] if added.check is not None else []

            return save

        def confirm() -> None:
            kind = dialog.kind()
            text = self.tr("{kind} added.").format(kind=label(kind))
            if checks_due:  # one open check per case: added, or moved to this discharge
                check = checks_due[0]
                text = self.tr(
                    "{kind} added; a 91-day check is due on {due} for the coordinator, {owner}."
                ).format(kind=label(kind), due=cui_date(check.due_on), owner=check.owner_name)
            self.tell(self.interventions_notice, text)

        dialog.accepted.connect(confirm)
        self.tell(self.interventions_notice, "")
        self.open_dialog(dialog, make_save)
        return dialog

    @Slot()
    def open_end_intervention_dialog(self) -> EndInterventionDialog | None:
        """Record the end of the intervention chosen in the table (the only open one when
        none is chosen); says so when there is no telling which."""
        view = self.view
        if view is None or view.case is None:
            return None
        chosen = self._chosen_intervention(view.case.interventions)
        if chosen is None:
            self.tell(
                self.interventions_notice,
                self.tr("Choose the intervention in the table first.")
                if view.case.interventions
                else self.tr("No short-term intervention is recorded for this case."),
            )
            self.interventions_table.setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        self.tell(self.interventions_notice, "")
        intervention_id = chosen.id
        dialog = EndInterventionDialog(view.today, chosen, self)

        def make_save() -> Save:
            ended_on, outcome = dialog.ended_on_edit.date_value(), dialog.outcome()
            if outcome is None:
                message = self.tr("Choose how the intervention ended.")
                raise ValidationError(message, {"outcome": message})
            return lambda session: plans.end_intervention(
                session, intervention_id, ended_on=ended_on, outcome=outcome
            )

        def confirm() -> None:
            self.tell(
                self.interventions_notice,
                self.tr("{kind} ended.").format(kind=chosen.kind_text),
            )

        dialog.accepted.connect(confirm)
        self.open_dialog(dialog, make_save)
        return dialog

    def _chosen_intervention(
        self, interventions: Sequence[InterventionView]
    ) -> InterventionView | None:
        """The intervention chosen in the table; with nothing chosen, the only one still
        running (chosen in the table too), if there is exactly one."""
        rows = self.interventions_table.selectionModel().selectedRows()
        if rows:
            row = rows[0].row()
            return interventions[row] if row < len(interventions) else None
        running = [row for row, item in enumerate(interventions) if not item.ended_text]
        if len(running) != 1:
            return None
        self.interventions_table.selectRow(running[0])
        return interventions[running[0]]

    def tell(self, notice: QLabel, text: str) -> None:
        """Show ``text`` under a table and say it to a screen reader (empty: hide it)."""
        show_text(notice, text)
        notice.setVisible(bool(text))
        announce(notice, text)

    @Slot()
    def open_survey_dialog(self) -> ExperienceSurveyDialog | None:
        """Record the person's answers to the experience survey (one per statement)."""
        view = self.view
        if view is None:
            return None
        patient_id = view.banner.patient_id
        case_id = view.case.id if view.case is not None else None
        dialog = ExperienceSurveyDialog(view.today, self)

        def make_save() -> Save:
            answers = dialog.answers()
            answered_on = dialog.answered_on_edit.date_value()
            method, proxy = dialog.method(), dialog.proxy_check.isChecked()
            today = dt.date.today()
            if not answers:
                raise UserError(self.tr("Choose an answer for at least one statement."))

            def save(session: Session) -> None:
                saved[:] = [
                    experience.record_experience_response(
                        session,
                        patient_id,
                        statement=statement,
                        agreement=agreement,
                        answered_on=answered_on,
                        collected_how=method,
                        by_proxy=proxy,
                        case_id=case_id,
                        today=today,
                    )
                    for statement, agreement in answers.items()
                ]

            return save

        # Filled on the worker thread by the save, read on the GUI thread once saved.
        saved: list[experience.SavedExperienceResponse] = []

        def confirm() -> None:
            self.tell(self.survey_notice, self._survey_saved_text(saved))

        dialog.accepted.connect(confirm)
        self.tell(self.survey_notice, "")
        self.open_dialog(dialog, make_save)
        return dialog

    def _survey_saved_text(self, saved: Sequence[experience.SavedExperienceResponse]) -> str:
        """What saving the survey dialog did: the one answer in words, or how many were
        recorded, replaced (an answer of that day corrected) and already recorded."""
        if len(saved) == 1:
            return saved[0].summary
        changes = [item.change for item in saved]
        parts = [
            what.format(count=changes.count(change))
            for change, what in (
                (experience.AnswerChange.ADDED, self.tr("{count} recorded")),
                (experience.AnswerChange.REPLACED, self.tr("{count} replaced (same day)")),
                (experience.AnswerChange.UNCHANGED, self.tr("{count} already recorded")),
            )
            if change in changes
        ]
        return self.tr("Survey answers: {parts}.").format(parts=", ".join(parts)) if parts else ""

    @Slot()
    def _update_survey_buttons(self) -> None:
        # The role gate keeps this disabled for a role that may not record answers.
        self.withdraw_survey_answer_button.setEnabled(bool(self._chosen_survey_answers()))

    def _chosen_survey_answers(self) -> list[ExperienceAnswerView]:
        rows = self.experience_answers_table.selectionModel().selectedRows()
        chosen = (self.experience_answers_model.row_at(index.row()) for index in rows)
        return [answer for answer in chosen if answer is not None]

    @Slot()
    def confirm_withdraw_survey_answer(self) -> QMessageBox | None:
        """Ask, then withdraw the survey answer chosen in the table (it stops counting in
        the indicators; it is retired, never deleted)."""
        chosen = self._chosen_survey_answers()
        if not chosen:
            self.tell(self.survey_notice, self.tr("Choose the answer in the table first."))
            self.experience_answers_table.setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        answer = chosen[0]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Withdraw survey answer?"),
            self.tr(
                "Withdraw the answer of {day}: '{statement}' — {agreement}?\n\nIt will no "
                "longer count in the indicators. Withdraw only an answer entered by "
                "mistake; to correct one, record it again for the same day."
            ).format(
                day=answer.answered_text,
                statement=answer.statement_text,
                agreement=answer.agreement_text,
            ),
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("withdraw_answer_confirm")
        withdraw = box.addButton(self.tr("Withdraw"), QMessageBox.ButtonRole.AcceptRole)
        withdraw.setObjectName("confirm_withdraw_answer_button")
        withdraw.setAccessibleName(self.tr("Withdraw the survey answer"))
        keep = box.addButton(self.tr("Keep it"), QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName("keep_answer_button")
        keep.setAccessibleName(self.tr("Keep the survey answer"))
        box.setDefaultButton(keep)  # Enter on a surprise keeps the answer
        box.setEscapeButton(keep)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda button: self._withdraw_survey_answer(answer) if button is withdraw else None
        )
        box.finished.connect(lambda _result: self._forget_withdraw_answer_confirm(box))
        self.withdraw_answer_confirm = box
        box.open()
        return box

    def _forget_withdraw_answer_confirm(self, box: QMessageBox) -> None:
        if self.withdraw_answer_confirm is box:
            self.withdraw_answer_confirm = None

    def _withdraw_survey_answer(self, answer: ExperienceAnswerView) -> None:
        response_id = answer.id
        said = self.tr("Answer withdrawn: '{statement}' of {day}.").format(
            statement=answer.statement_text, day=answer.answered_text
        )

        def done() -> None:
            self.tell(self.survey_notice, said)
            self._on_saved()

        self.save(
            lambda session: experience.withdraw_experience_response(session, response_id),
            on_done=done,
        )

    # -- undoable edits ----------------------------------------------------------------

    @Slot(int)
    def _on_risk_band_combo_activated(self, index: int) -> None:
        view = self.view
        if view is None:
            return
        new = enum_data(self.risk_band_combo, RiskBand, index)
        old = self._risk_band
        if new == old:
            return
        self._risk_band = new  # a second change before the reload undoes to this one
        self.undo_stack.push(
            risk_band_command(self.command_context(), view.banner.patient_id, old, new)
        )

    @Slot()
    def _on_next_review_edit_finished(self) -> None:
        view = self.view
        if view is None or view.case is None or not view.case.is_open:
            return
        if self.next_review_held.leave():
            return  # left unchanged: it now shows the date stored meanwhile, nothing to save
        try:
            new = self.next_review_edit.date_or_none()
        except DateInputError:
            return  # the field says why; nothing is saved until it reads as a date
        old = self._next_review
        self.next_review_held.saving(new)
        if new == old:
            return
        self._next_review = new
        self.undo_stack.push(next_review_command(self.command_context(), view.case.id, old, new))

    @Slot(bool)
    def _on_escalate_check_clicked(self, checked: bool) -> None:
        view = self.view
        if view is None or view.case is None or checked == view.case.escalated:
            return
        self.undo_stack.push(escalated_command(self.command_context(), view.case.id, checked))

    def set_review_date(self, value: dt.date | None) -> None:
        """Type a next review date as the user would (for scripts and tests)."""
        self.next_review_edit.set_date(value)
        self._on_next_review_edit_finished()


def notice_label(name: str, parent: QWidget) -> QLabel:
    """A wrapping line under a table that says what happened or what to do next."""
    notice = QLabel(parent)
    notice.setObjectName(name)
    notice.setWordWrap(True)
    notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    notice.hide()
    return notice
