"""A new referral through the single point of access.

Step 1 finds the person by NHS number (typed with or without spaces or hyphens); if no
one has that number, a registration form appears (with a practice picker that searches
by name or ODS code). Step 2 records the referral: source, reason, urgency and date.
Saving is one write (register if new, then refer): every message appears next to its
field and nothing typed is lost. A person who already has an open case is refused with
the rule's words, and the dialog offers to open that case instead.
"""

import datetime as dt
import uuid
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import RuleError, UserError
from mdt_desk.models.enums import Gender, ReferralSource, Urgency
from mdt_desk.services import drafts, referrals
from mdt_desk.services.dates import DateInputError, parse_typed_date
from mdt_desk.services.display import cui_date, label, practice_display_name
from mdt_desk.services.practices import PracticeSummary, list_practices
from mdt_desk.services.referrals import NewPerson, PersonFound, ReferralMade
from mdt_desk.ui.drafts import DraftGuard, DraftNotice
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit, FieldErrors, NhsNumberEdit

_GENDER_ORDER = (Gender.FEMALE, Gender.MALE, Gender.OTHER, Gender.NOT_KNOWN)


def _coded(combo: QComboBox, enum_class: Any) -> Any:
    value = combo.currentData()
    return None if value is None else enum_class(value)


class NewReferralDialog(QDialog):
    """Find or register the person, then refer them.

    Open it with ``open()``; it never blocks.

    Signals:
        referral_made(object, object): patient id and the new case id, once saved.
        open_case_requested(object, object): patient id and case id of the person's
            existing open case, when the user chose to open it instead.
    """

    referral_made = Signal(object, object)
    open_case_requested = Signal(object, object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.patient_id: uuid.UUID | None = None
        self.case_id: uuid.UUID | None = None
        self.found: PersonFound | None = None
        self.looked_up = False  # a search was made for the number now in the field
        self.saving = False
        self.setWindowTitle(self.tr("New referral"))
        self.setAccessibleName(self.tr("New referral"))
        self.errors = FieldErrors()
        self._build_person_step()
        self._build_referral_step()
        self._build_buttons()
        layout = QVBoxLayout(self)
        layout.addWidget(self.person_box)
        layout.addWidget(self.referral_box)
        self.draft_notice = DraftNotice(self)
        layout.addWidget(self.draft_notice)
        layout.addWidget(self.errors.summary)
        layout.addLayout(self.button_row)
        self.resize(640, 720)
        self._update_buttons()
        self._load_practices()
        # A half-typed reason is kept as a draft; closing asks before discarding it.
        self.drafts = DraftGuard(self, super().reject)
        self.drafts.keep(
            runner,
            self.reason_edit,
            drafts.draft_key(drafts.REFERRAL_REASON, "new"),
            None,
            self.draft_notice,
        )

    # -- building ----------------------------------------------------------------------

    def _field(
        self, form: QFormLayout, caption: str, widget: QWidget, field: str, name: str
    ) -> None:
        widget.setObjectName(name)
        widget.setAccessibleName(caption.replace("&", ""))
        caption_label = QLabel(caption, self)
        caption_label.setBuddy(widget)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(self.errors.label_for(field))
        form.addRow(caption_label, column)

    def _build_person_step(self) -> None:
        self.person_box = QGroupBox(self.tr("1. The person"), self)
        self.nhs_edit = NhsNumberEdit(self)
        self.nhs_edit.setObjectName("referral_nhs_number")
        self.nhs_edit.setAccessibleName(self.tr("NHS number"))
        self.nhs_edit.returnPressed.connect(self.find_person)
        self.nhs_edit.textEdited.connect(self._on_nhs_number_edited)
        self.find_button = QPushButton(self.tr("&Find"), self)
        self.find_button.setObjectName("referral_find_button")
        self.find_button.setAccessibleName(self.tr("Find the person by NHS number"))
        self.find_button.setAutoDefault(False)
        self.find_button.clicked.connect(self.find_person)
        self.nhs_error = self.errors.label_for("nhs_number")
        self.nhs_error.setObjectName("referral_nhs_error")
        nhs_label = QLabel(self.tr("&NHS No."), self)
        nhs_label.setBuddy(self.nhs_edit)
        nhs_row = QHBoxLayout()
        nhs_row.addWidget(nhs_label)
        nhs_row.addWidget(self.nhs_edit, 1)
        nhs_row.addWidget(self.find_button)

        self.person_pages = QStackedWidget(self)
        self.hint_label = QLabel(
            self.tr("Type the NHS number and press Enter to find the person."), self
        )
        self.hint_label.setWordWrap(True)
        self.found_label = QLabel(self)
        self.found_label.setObjectName("referral_found_person")
        self.found_label.setWordWrap(True)
        self.found_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_case_button = QPushButton(self.tr("&Open the existing case"), self)
        self.open_case_button.setObjectName("referral_open_case_button")
        self.open_case_button.setAccessibleName(self.tr("Open the existing case"))
        self.open_case_button.setAutoDefault(False)
        self.open_case_button.clicked.connect(self._on_open_case_clicked)
        found_page = QWidget(self)
        found_layout = QVBoxLayout(found_page)
        found_layout.setContentsMargins(0, 0, 0, 0)
        found_layout.addWidget(self.found_label)
        found_layout.addWidget(self.open_case_button, 0, Qt.AlignmentFlag.AlignLeft)
        found_layout.addStretch(1)
        self.register_page = self._build_register_page()
        self.person_pages.addWidget(self.hint_label)
        self.person_pages.addWidget(found_page)
        self.person_pages.addWidget(self.register_page)
        self.found_page = found_page

        layout = QVBoxLayout(self.person_box)
        layout.addLayout(nhs_row)
        layout.addWidget(self.nhs_error)
        layout.addWidget(self.person_pages)

    def _build_register_page(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(QLabel(self.tr("No one has this NHS number here: register the person."), page))
        self.family_edit = QLineEdit(page)
        self.given_edit = QLineEdit(page)
        self.title_edit = QLineEdit(page)
        self.title_edit.setPlaceholderText(self.tr("Mrs, Mr, Ms, Miss, Mx, Dr…"))
        self.title_edit.setCompleter(QCompleter(["Mrs", "Mr", "Ms", "Miss", "Mx", "Dr"], page))
        self.birth_edit = QLineEdit(page)
        self.birth_edit.setPlaceholderText(self.tr("e.g. 14-Jul-1945 or 14/07/1945"))
        self.birth_edit.setToolTip(
            self.tr("Type the date of birth, e.g. 14-Jul-1945, 14/07/1945 or 1945-07-14.")
        )
        self.birth_edit.editingFinished.connect(self._on_birth_edited)
        self.gender_combo = QComboBox(page)
        for gender in _GENDER_ORDER:
            self.gender_combo.addItem(label(gender), gender)
        self.gender_combo.setCurrentIndex(len(_GENDER_ORDER) - 1)
        self.address_edit = QPlainTextEdit(page)
        self.address_edit.setTabChangesFocus(True)
        self.address_edit.setFixedHeight(60)
        self.postcode_edit = QLineEdit(page)
        self.phone_edit = QLineEdit(page)
        self.practice_combo = QComboBox(page)
        self.practice_combo.setEditable(True)
        self.practice_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        practice_line = self.practice_combo.lineEdit()
        assert practice_line is not None  # an editable combo box always has its line edit
        practice_line.setPlaceholderText(self.tr("Type the practice name or ODS code"))
        completer = self.practice_combo.completer()
        assert completer is not None  # and, by default, a completer
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        for caption, widget, field, name in (
            (self.tr("Fa&mily name"), self.family_edit, "family_name", "referral_family_name"),
            (self.tr("&Given name"), self.given_edit, "given_name", "referral_given_name"),
            (self.tr("&Title"), self.title_edit, "title", "referral_title"),
            (self.tr("&Born"), self.birth_edit, "date_of_birth", "referral_date_of_birth"),
            (self.tr("Gen&der"), self.gender_combo, "gender", "referral_gender"),
            (self.tr("&Address"), self.address_edit, "address", "referral_address"),
            (self.tr("&Postcode"), self.postcode_edit, "postcode", "referral_postcode"),
            (self.tr("P&hone"), self.phone_edit, "phone", "referral_phone"),
            (self.tr("Pra&ctice"), self.practice_combo, "practice", "referral_practice"),
        ):
            self._field(form, caption, widget, field, name)
        return page

    def _build_referral_step(self) -> None:
        self.referral_box = QGroupBox(self.tr("2. The referral"), self)
        form = QFormLayout(self.referral_box)
        self.source_combo = QComboBox(self)
        for source in ReferralSource:
            self.source_combo.addItem(label(source), source)
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setTabChangesFocus(True)
        self.reason_edit.setFixedHeight(80)
        self.urgency_combo = QComboBox(self)
        for urgency in Urgency:
            self.urgency_combo.addItem(label(urgency), urgency)
        self.referred_on_edit = CuiDateEdit(dt.date.today(), self)
        for caption, widget, field, name in (
            (self.tr("&Source"), self.source_combo, "source", "referral_source"),
            (self.tr("&Reason"), self.reason_edit, "referral_reason", "referral_reason"),
            (self.tr("&Urgency"), self.urgency_combo, "urgency", "referral_urgency"),
            (self.tr("Referral dat&e"), self.referred_on_edit, "referred_on", "referral_date"),
        ):
            self._field(form, caption, widget, field, name)

    def _build_buttons(self) -> None:
        self.save_button = QPushButton(self.tr("Sa&ve referral"), self)
        self.save_button.setObjectName("referral_save_button")
        self.save_button.setAccessibleName(self.tr("Save referral"))
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setObjectName("referral_cancel_button")
        self.cancel_button.setAccessibleName(self.tr("Cancel"))
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.button_row = QHBoxLayout()
        self.button_row.addStretch(1)
        self.button_row.addWidget(self.save_button)
        self.button_row.addWidget(self.cancel_button)

    # -- public ------------------------------------------------------------------------

    @property
    def registering(self) -> bool:
        """The number was looked up and no one has it: the registration form is in use."""
        return self.looked_up and self.found is None

    @Slot()
    def find_person(self) -> None:
        """Look the NHS number up (off the GUI thread)."""
        number = self.nhs_edit.text()

        self.find_button.setEnabled(False)
        self.runner.read(
            lambda session: referrals.look_up_person(session, number),
            lambda found: self._on_person_looked_up(number, found),
            self._on_look_up_failed,
            owner=self,
            description="look up NHS number",
        )

    @Slot()
    def save(self) -> None:
        """Register (if new) and refer, in one write."""
        if self.saving or not self.looked_up:
            return
        nhs_number = self.nhs_edit.text()
        patient_id = self.found.patient_id if self.found is not None else None
        new_person = None if patient_id is not None else self._new_person()
        source = _coded(self.source_combo, ReferralSource)
        reason = self.reason_edit.toPlainText()
        urgency = _coded(self.urgency_combo, Urgency)
        try:
            referred_on = self.referred_on_edit.date_value()
        except DateInputError:
            # the field says why under itself; nothing is saved until it reads as a date
            self.referred_on_edit.setFocus(Qt.FocusReason.OtherFocusReason)
            return

        def call(session: Session) -> ReferralMade:
            return referrals.make_referral(
                session,
                nhs_number=nhs_number,
                patient_id=patient_id,
                new_person=new_person,
                source=source,
                reason=reason,
                urgency=urgency,
                referred_on=referred_on,
            )

        self.saving = True
        self._update_buttons()
        self.runner.write(
            call, self._on_saved, self._on_save_failed, owner=self, description="new referral"
        )

    # -- results -----------------------------------------------------------------------

    def _on_practices_loaded(self, practices: list[PracticeSummary]) -> None:
        typed = self.practice_combo.currentText()
        self.practice_combo.clear()
        for practice in practices:
            text = f"{practice_display_name(practice.name)} ({practice.ods_code})"
            self.practice_combo.addItem(text, practice.id)
        self.practice_combo.setCurrentIndex(-1)
        self.practice_combo.setEditText(typed)

    def _on_person_looked_up(self, number: str, found: PersonFound | None) -> None:
        self.find_button.setEnabled(True)
        if number != self.nhs_edit.text():
            return  # the number was changed while it was being looked up
        self.errors.clear()
        self.looked_up = True
        self.found = found
        if found is None:
            self.person_pages.setCurrentWidget(self.register_page)
            self.family_edit.setFocus()
        else:
            self.found_label.setText(self._describe(found))
            self.open_case_button.setVisible(found.open_case_id is not None)
            self.person_pages.setCurrentWidget(self.found_page)
            self.source_combo.setFocus()
        self._update_buttons()

    def _on_look_up_failed(self, error: UserError) -> None:
        # The reason (format, check digit, range) goes by the field; the number stays.
        self.find_button.setEnabled(True)
        self.errors.show(error)
        self.nhs_edit.setFocus()

    def accept(self) -> None:
        """Saved: the kept reason is no longer needed."""
        self.drafts.discard_all()
        super().accept()

    def reject(self) -> None:
        """Closed without saving: asks before discarding a typed reason."""
        self.drafts.request_close()

    def _on_saved(self, made: ReferralMade) -> None:
        self.saving = False
        self.patient_id = made.patient_id
        self.case_id = made.case_id
        self.referral_made.emit(made.patient_id, made.case_id)
        self.accept()

    def _on_save_failed(self, error: UserError) -> None:
        self.saving = False
        self._update_buttons()
        self.errors.show(error)
        if isinstance(error, RuleError) and self.found is not None:
            self.open_case_button.setVisible(self.found.open_case_id is not None)

    # -- helpers -----------------------------------------------------------------------

    def _describe(self, found: PersonFound) -> str:
        lines = [
            found.display_name,
            self.tr("Born {born}   Gender {gender}   NHS No. {nhs}").format(
                born=found.born_text, gender=found.gender_text, nhs=found.nhs_number_text
            ),
            self.tr("Practice {practice}").format(practice=found.practice_text),
        ]
        if found.died_text:
            lines.append(self.tr("Died {date}").format(date=found.died_text))
        if found.open_case_text:
            lines.append(found.open_case_text)
        return "\n".join(lines)

    def _new_person(self) -> NewPerson:
        return NewPerson(
            family_name=self.family_edit.text(),
            given_name=self.given_edit.text(),
            title=self.title_edit.text(),
            date_of_birth=self._typed_birth_date(),
            gender=_coded(self.gender_combo, Gender) or Gender.NOT_KNOWN,
            address=self.address_edit.toPlainText(),
            postcode=self.postcode_edit.text(),
            phone=self.phone_edit.text(),
            practice_id=self._chosen_practice(),
        )

    def _typed_birth_date(self) -> str:
        """The date of birth as the service reads it (``14-Jul-1945``) when it is a date;
        otherwise as typed, so the service's message explains it next to the field."""
        try:
            return cui_date(parse_typed_date(self.birth_edit.text(), dt.date.today()))
        except DateInputError:
            return self.birth_edit.text()

    def _chosen_practice(self) -> uuid.UUID | None:
        index = self.practice_combo.findText(
            self.practice_combo.currentText(), Qt.MatchFlag.MatchFixedString
        )
        value = self.practice_combo.itemData(index) if index >= 0 else None
        return value if isinstance(value, uuid.UUID) else None

    def _load_practices(self) -> None:
        self.runner.read(
            list_practices,
            self._on_practices_loaded,
            lambda error: self.errors.summary.show_message(str(error)),
            owner=self,
            description="list practices for the referral",
        )

    def _update_buttons(self) -> None:
        self.save_button.setEnabled(self.looked_up and not self.saving)
        if self.found is None:
            self.open_case_button.hide()

    # -- slots -------------------------------------------------------------------------

    @Slot(str)
    def _on_nhs_number_edited(self, _text: str) -> None:
        # A different number needs a new search; the registration form keeps its fields.
        if self.found is not None:
            self.found = None
            self.looked_up = False
            self.person_pages.setCurrentWidget(self.hint_label)
        elif not self.registering:
            self.looked_up = False
        self._update_buttons()

    @Slot()
    def _on_birth_edited(self) -> None:
        # Shown the CUI way once it can be read; otherwise the reason, next to the field.
        label = self.errors.label_for("date_of_birth")
        if not self.birth_edit.text().strip():
            label.show_message("")
            return
        try:
            born = parse_typed_date(self.birth_edit.text(), dt.date.today())
        except DateInputError as error:
            label.show_message(str(error))
            return
        label.show_message("")
        self.birth_edit.setText(cui_date(born))

    @Slot()
    def _on_open_case_clicked(self) -> None:
        found = self.found
        if found is not None and found.open_case_id is not None:
            self.open_case_requested.emit(found.patient_id, found.open_case_id)
            self.accept()
