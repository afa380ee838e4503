"""Settings → Team: the team administrator's staff list, roles, practices, PINs and leavers.

Three tabs, each usable from the keyboard alone (Ctrl+Tab between them):

- **Staff**: every current staff member (name, profession, roles, practices, whether a
  PIN is set, last day). For the chosen person: their roles (a check box per role), the
  practices they cover, a one-time PIN typed twice (never shown again: the list says
  only whether one is set) and a leaver's last day.
- **Add a staff member**: name, profession, practices and roles, in one change.
- **This desk**: the idle lock (1–60 minutes) and *Import patient list…*.

Every read and change goes through the window's task runner, off the GUI thread. Each
change says what it did in the dialog's status line (announced to screen readers) and
in the main window's status bar; a refusal or a mistake is shown under its field.
"""

import datetime as dt
import uuid
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.enums import Profession, Role
from mdt_desk.services import desk_settings, sign_in, team
from mdt_desk.services import staff as staff_service
from mdt_desk.services.access import ROLE_LABELS, Permission
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import cui_date, label
from mdt_desk.services.patient_import import import_patients_file
from mdt_desk.services.practices import PracticeSummary, list_practices
from mdt_desk.services.reports import ImportReport
from mdt_desk.ui.role_screens import allows
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import DateField, ErrorLabel, FieldErrors, announce

#: The team list's columns (the practices last: a long list of codes cannot push the
#: PIN and last day out of sight).
COLUMNS = ("Name", "Profession", "Roles", "PIN", "Last day", "Practices")
STAFF_ID_ROLE = Qt.ItemDataRole.UserRole


def roles_text(roles: frozenset[Role]) -> str:
    return ", ".join(ROLE_LABELS[role] for role in sorted(roles)) or "No role"


def pin_text(member: team.TeamMember) -> str:
    if not member.pin_set:
        return "Not set"
    return "Set (one-time)" if member.pin_must_change else "Set"


class RoleChecks(QGroupBox):
    """A check box for each role, named for screen readers by the role's label."""

    def __init__(self, title: str, prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.boxes: dict[Role, QCheckBox] = {}
        self.column = layout = QVBoxLayout(self)
        for role in Role:
            box = QCheckBox(ROLE_LABELS[role], self)
            box.setObjectName(f"{prefix}{role.value}")
            box.setAccessibleName(ROLE_LABELS[role])
            self.boxes[role] = box
            layout.addWidget(box)
        self.error = ErrorLabel(self)
        layout.addWidget(self.error)

    def chosen(self) -> set[Role]:
        return {role for role, box in self.boxes.items() if box.isChecked()}

    def set_chosen(self, roles: frozenset[Role]) -> None:
        for role, box in self.boxes.items():
            box.setChecked(role in roles)


class PracticeChecklist(QListWidget):
    """The store's practices, each checked when covered (Space checks from the keyboard)."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMinimumHeight(90)

    def set_practices(self, practices: list[PracticeSummary]) -> None:
        checked = self.chosen()
        self.clear()
        for practice in practices:
            item = QListWidgetItem(f"{practice.ods_code} — {practice.name}")
            item.setData(STAFF_ID_ROLE, practice.ods_code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if practice.ods_code in checked else Qt.CheckState.Unchecked
            )
            self.addItem(item)
        if self.count():
            self.setCurrentRow(0)

    def chosen(self) -> tuple[str, ...]:
        return tuple(
            str(self.item(row).data(STAFF_ID_ROLE))
            for row in range(self.count())
            if self.item(row).checkState() == Qt.CheckState.Checked
        )

    def set_chosen(self, codes: tuple[str, ...]) -> None:
        for row in range(self.count()):
            item = self.item(row)
            item.setCheckState(
                Qt.CheckState.Checked
                if item.data(STAFF_ID_ROLE) in codes
                else Qt.CheckState.Unchecked
            )


class TeamDialog(QDialog):
    """Settings → Team, for team administrators (and in initial set-up).

    Signals:
        changed(str): a change was saved; carries what it did, in words.
        idle_lock_changed(int): this desk's idle lock is now this many minutes.
    """

    changed = Signal(str)
    idle_lock_changed = Signal(int)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setObjectName("team_dialog")
        self.setWindowTitle(self.tr("Team"))
        self.setAccessibleName(self.tr("Team settings"))
        principal = runner.desk.principal
        self.may_manage_staff = allows(principal, (Permission.MANAGE_STAFF,))
        self.may_set_desk = allows(principal, (Permission.HUB_SETTINGS,))
        self.may_import = allows(principal, (Permission.IMPORT_PATIENTS,))
        self.members: list[team.TeamMember] = []
        self.import_report: ImportReport | None = None
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("team_tabs")
        self.tabs.setAccessibleName(self.tr("Team settings"))
        self.tabs.addTab(self._build_staff_tab(), self.tr("&Staff"))
        self.tabs.addTab(self._build_add_tab(), self.tr("&Add a staff member"))
        self.tabs.addTab(self._build_desk_tab(), self.tr("This &desk"))
        self.status_label = QLabel(self)
        self.status_label.setObjectName("team_status")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName(self.tr("What changed"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName(self.tr("Close team settings"))
        self.close_button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.resize(1160, 740)
        self.reload()

    # -- building ------------------------------------------------------------------

    def _build_staff_tab(self) -> QWidget:
        page = QWidget(self)
        self.team_list = QTreeWidget(page)
        self.team_list.setObjectName("team_list")
        self.team_list.setAccessibleName(self.tr("Team members"))
        self.team_list.setAccessibleDescription(
            self.tr("Choose a person to change their roles, practices, PIN or last day.")
        )
        self.team_list.setRootIsDecorated(False)
        self.team_list.setAlternatingRowColors(True)
        self.team_list.setHeaderLabels([self.tr(column) for column in COLUMNS])
        self.team_list.currentItemChanged.connect(self._on_team_list_current_changed)

        details = QWidget(page)
        self.chosen_label = QLabel(self.tr("Choose a person in the list."), details)
        self.chosen_label.setObjectName("team_chosen")
        self.chosen_label.setWordWrap(True)
        font = self.chosen_label.font()
        font.setBold(True)
        self.chosen_label.setFont(font)

        self.roles_box = RoleChecks(self.tr("Roles"), "role_", details)
        self.roles_box.setObjectName("team_roles")
        self.save_roles_button = QPushButton(self.tr("Save &roles"), self.roles_box)
        self.save_roles_button.setObjectName("save_roles_button")
        self.save_roles_button.setAccessibleName(self.tr("Save roles"))
        self.save_roles_button.setAutoDefault(False)
        self.save_roles_button.clicked.connect(self.save_roles)
        self.roles_box.column.addWidget(self.save_roles_button)

        practices_box = QGroupBox(self.tr("Practices covered"), details)
        self.practices_list = PracticeChecklist(self.tr("Practices covered"), practices_box)
        self.practices_list.setObjectName("team_practices")
        self.practices_error = ErrorLabel(practices_box)
        self.save_practices_button = QPushButton(self.tr("Save &practices"), practices_box)
        self.save_practices_button.setObjectName("save_practices_button")
        self.save_practices_button.setAccessibleName(self.tr("Save practices covered"))
        self.save_practices_button.setAutoDefault(False)
        self.save_practices_button.clicked.connect(self.save_practices)
        practices_layout = QVBoxLayout(practices_box)
        practices_layout.addWidget(self.practices_list)
        practices_layout.addWidget(self.practices_error)
        practices_layout.addWidget(self.save_practices_button)

        pin_box = QGroupBox(self.tr("One-time PIN"), details)
        self.pin_edit = QLineEdit(pin_box)
        self.pin_edit.setObjectName("one_time_pin")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setAccessibleName(self.tr("One-time PIN"))
        self.pin_again_edit = QLineEdit(pin_box)
        self.pin_again_edit.setObjectName("one_time_pin_again")
        self.pin_again_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_again_edit.setAccessibleName(self.tr("One-time PIN again"))
        self.pin_errors = FieldErrors()
        self.set_pin_button = QPushButton(self.tr("Set one-time P&IN"), pin_box)
        self.set_pin_button.setObjectName("set_pin_button")
        self.set_pin_button.setAccessibleName(self.tr("Set one-time PIN"))
        self.set_pin_button.setAutoDefault(False)
        self.set_pin_button.clicked.connect(self.set_one_time_pin)
        pin_form = QFormLayout(pin_box)
        pin_label = QLabel(self.tr("&New PIN (at least 6 characters):"), pin_box)
        pin_label.setBuddy(self.pin_edit)
        again_label = QLabel(self.tr("Type it a&gain:"), pin_box)
        again_label.setBuddy(self.pin_again_edit)
        pin_form.addRow(pin_label, self.pin_edit)
        pin_form.addRow("", self.pin_errors.label_for("pin"))
        pin_form.addRow(again_label, self.pin_again_edit)
        pin_form.addRow("", self.pin_errors.label_for("pin_again"))
        pin_form.addRow("", self.pin_errors.summary)
        pin_form.addRow("", self.set_pin_button)
        pin_note = QLabel(
            self.tr("They must change it when they first sign in. It is not shown again."),
            pin_box,
        )
        pin_note.setWordWrap(True)
        pin_form.addRow(pin_note)

        leaver_box = QGroupBox(self.tr("Leaving the team"), details)
        # empty until typed: a leaver's day is never guessed as today
        self.leaver_date = DateField(None, leaver_box, optional=True)
        self.leaver_date.setObjectName("leaver_date")
        self.leaver_date.setAccessibleName(self.tr("Last working day"))
        self.leaver_error = ErrorLabel(leaver_box)
        self.record_leaver_button = QPushButton(self.tr("Record &leaver"), leaver_box)
        self.record_leaver_button.setObjectName("record_leaver_button")
        self.record_leaver_button.setAccessibleName(self.tr("Record leaver"))
        self.record_leaver_button.setAutoDefault(False)
        self.record_leaver_button.clicked.connect(self.record_leaver)
        leaver_form = QFormLayout(leaver_box)
        leaver_label = QLabel(self.tr("Las&t working day:"), leaver_box)
        leaver_label.setBuddy(self.leaver_date.line_edit)
        leaver_form.addRow(leaver_label, self.leaver_date)
        leaver_form.addRow("", self.leaver_error)
        leaver_form.addRow("", self.record_leaver_button)
        leaver_note = QLabel(self.tr("From the next day they cannot sign in on any desk."))
        leaver_note.setWordWrap(True)
        leaver_form.addRow(leaver_note)

        column = QVBoxLayout(details)
        column.addWidget(self.chosen_label)
        # Below the list, side by side: roles, practices, then the PIN above the leaver.
        row = QHBoxLayout()
        row.addWidget(self.roles_box)
        row.addWidget(practices_box, 1)
        pin_and_leaver = QVBoxLayout()
        pin_and_leaver.addWidget(pin_box)
        pin_and_leaver.addWidget(leaver_box)
        pin_and_leaver.addStretch(1)
        row.addLayout(pin_and_leaver, 1)
        column.addLayout(row)
        column.addStretch(1)
        scroll = QScrollArea(page)
        scroll.setWidgetResizable(True)
        scroll.setWidget(details)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setAccessibleName(self.tr("The chosen person"))
        # The list above the chosen person's details: every column of the list fits.
        splitter = QSplitter(Qt.Orientation.Vertical, page)
        splitter.setObjectName("team_splitter")
        splitter.addWidget(self.team_list)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([250, 330])
        self.staff_refused = QLabel(
            self.tr("Your role does not allow managing staff, roles and PINs."), page
        )
        self.staff_refused.setWordWrap(True)
        self.staff_refused.setVisible(not self.may_manage_staff)
        layout = QVBoxLayout(page)
        layout.addWidget(self.staff_refused)
        layout.addWidget(splitter, 1)
        self.person_controls: list[QWidget] = [
            self.roles_box,
            practices_box,
            pin_box,
            leaver_box,
        ]
        for widget in self.person_controls:
            widget.setEnabled(False)  # until a person is chosen
        splitter.setEnabled(self.may_manage_staff)
        return page

    def _build_add_tab(self) -> QWidget:
        page = QWidget(self)
        self.add_errors = FieldErrors()
        self.family_edit = QLineEdit(page)
        self.family_edit.setObjectName("new_staff_family_name")
        self.family_edit.setAccessibleName(self.tr("Family name"))
        self.given_edit = QLineEdit(page)
        self.given_edit.setObjectName("new_staff_given_name")
        self.given_edit.setAccessibleName(self.tr("Given name"))
        self.title_edit = QLineEdit(page)
        self.title_edit.setObjectName("new_staff_title")
        self.title_edit.setAccessibleName(self.tr("Title (optional)"))
        self.profession_combo = QComboBox(page)
        self.profession_combo.setObjectName("new_staff_profession")
        self.profession_combo.setAccessibleName(self.tr("Profession"))
        self.profession_combo.addItem(self.tr("Choose a profession"), None)
        for profession in Profession:
            self.profession_combo.addItem(label(profession), profession)
        self.new_practices = PracticeChecklist(self.tr("Practices they cover"), page)
        self.new_practices.setObjectName("new_staff_practices")
        self.new_roles = RoleChecks(self.tr("Roles"), "new_role_", page)
        self.new_roles.setObjectName("new_staff_roles")
        self.add_button = QPushButton(self.tr("Add staff &member"), page)
        self.add_button.setObjectName("add_staff_button")
        self.add_button.setAccessibleName(self.tr("Add staff member"))
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_staff)
        form = QFormLayout()
        for text, field, key in (
            (self.tr("&Family name:"), self.family_edit, "family_name"),
            (self.tr("&Given name:"), self.given_edit, "given_name"),
            (self.tr("&Title:"), self.title_edit, "title"),
            (self.tr("&Profession:"), self.profession_combo, "profession"),
            (self.tr("Pra&ctices covered:"), self.new_practices, "practice_codes"),
        ):
            caption = QLabel(text, page)
            caption.setBuddy(field)
            form.addRow(caption, field)
            form.addRow("", self.add_errors.label_for(key))
        self.new_roles.error = self.add_errors.label_for("roles")
        self.new_roles.column.addWidget(self.new_roles.error)
        row = QHBoxLayout()
        row.addLayout(form, 2)
        row.addWidget(self.new_roles, 1)
        layout = QVBoxLayout(page)
        layout.addLayout(row)
        layout.addWidget(self.add_errors.summary)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        page.setEnabled(self.may_manage_staff)
        return page

    def _build_desk_tab(self) -> QWidget:
        page = QWidget(self)
        lock_box = QGroupBox(self.tr("Idle lock"), page)
        self.idle_minutes = QSpinBox(lock_box)
        self.idle_minutes.setObjectName("idle_lock_minutes")
        self.idle_minutes.setAccessibleName(self.tr("Lock this desk after this many idle minutes"))
        self.idle_minutes.lineEdit().setAccessibleName(self.idle_minutes.accessibleName())
        self.idle_minutes.setRange(desk_settings.MIN_IDLE_MINUTES, desk_settings.MAX_IDLE_MINUTES)
        self.idle_minutes.setValue(desk_settings.DEFAULT_IDLE_MINUTES)
        self.idle_minutes.setSuffix(self.tr(" minutes"))
        self.idle_error = ErrorLabel(lock_box)
        self.save_idle_button = QPushButton(self.tr("Save idle l&ock"), lock_box)
        self.save_idle_button.setObjectName("save_idle_lock_button")
        self.save_idle_button.setAccessibleName(self.tr("Save idle lock"))
        self.save_idle_button.setAutoDefault(False)
        self.save_idle_button.clicked.connect(self.save_idle_lock)
        lock_form = QFormLayout(lock_box)
        lock_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        caption = QLabel(self.tr("Lock after (1–60 &minutes idle):"), lock_box)
        caption.setBuddy(self.idle_minutes)
        lock_form.addRow(caption, self.idle_minutes)
        lock_form.addRow("", self.idle_error)
        lock_form.addRow("", self.save_idle_button)
        lock_box.setEnabled(self.may_set_desk)

        import_box = QGroupBox(self.tr("Patient lists"), page)
        self.import_button = QPushButton(self.tr("&Import patient list…"), import_box)
        self.import_button.setObjectName("import_patient_list_button")
        self.import_button.setAccessibleName(self.tr("Import patient list"))
        self.import_button.setAutoDefault(False)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.import_status = QLabel(
            self.tr("A CSV file of NHS number, names, date of birth and practice."), import_box
        )
        self.import_status.setObjectName("import_patient_list_status")
        self.import_status.setWordWrap(True)
        self.import_error = ErrorLabel(import_box)
        import_layout = QVBoxLayout(import_box)
        import_layout.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignLeft)
        import_layout.addWidget(self.import_status)
        import_layout.addWidget(self.import_error)
        import_box.setEnabled(self.may_import)

        layout = QVBoxLayout(page)
        layout.addWidget(lock_box)
        layout.addWidget(import_box)
        layout.addStretch(1)
        return page

    # -- reading ---------------------------------------------------------------------

    def reload(self) -> None:
        """Read the team, the practices and the idle lock (off the GUI thread)."""
        manage = self.may_manage_staff

        def call(
            session: Session,
        ) -> tuple[list[team.TeamMember], list[PracticeSummary], int]:
            members = team.team_roster(session) if manage else []
            practices = list_practices(session) if manage else []
            return members, practices, desk_settings.idle_lock_minutes(session)

        self.runner.read(
            call, self._on_loaded, self._on_load_failed, owner=self, description="team"
        )

    def _on_loaded(self, result: tuple[list[team.TeamMember], list[PracticeSummary], int]) -> None:
        members, practices, minutes = result
        chosen = self.chosen_id()
        self.members = members
        self.practices_list.set_practices(practices)
        self.new_practices.set_practices(practices)
        self.idle_minutes.setValue(minutes)
        self.team_list.blockSignals(True)
        self.team_list.clear()
        current: QTreeWidgetItem | None = None
        for member in members:
            item = QTreeWidgetItem(
                [
                    member.display_name,
                    label(member.profession),
                    roles_text(member.roles),
                    pin_text(member),
                    cui_date(member.left_on, "") if member.left_on else "",
                    ", ".join(member.practice_codes),
                ]
            )
            item.setData(0, STAFF_ID_ROLE, member.id)
            self.team_list.addTopLevelItem(item)
            if member.id == chosen:
                current = item
        for column in range(len(COLUMNS)):
            self.team_list.resizeColumnToContents(column)
        self.team_list.blockSignals(False)
        if current is None and self.team_list.topLevelItemCount():
            current = self.team_list.topLevelItem(0)
        if current is not None:
            self.team_list.setCurrentItem(current)
        self._show_chosen()

    def _on_load_failed(self, error: UserError) -> None:
        self.say(str(error))

    def chosen_id(self) -> uuid.UUID | None:
        item = self.team_list.currentItem()
        value = item.data(0, STAFF_ID_ROLE) if item is not None else None
        return value if isinstance(value, uuid.UUID) else None

    def chosen_member(self) -> team.TeamMember | None:
        chosen = self.chosen_id()
        return next((member for member in self.members if member.id == chosen), None)

    def choose(self, staff_id: uuid.UUID) -> None:
        """Make ``staff_id`` the chosen person (as choosing them in the list does)."""
        for index in range(self.team_list.topLevelItemCount()):
            item = self.team_list.topLevelItem(index)
            if item is not None and item.data(0, STAFF_ID_ROLE) == staff_id:
                self.team_list.setCurrentItem(item)
                return

    @Slot()
    def _on_team_list_current_changed(self) -> None:
        self._show_chosen()

    def _show_chosen(self) -> None:
        member = self.chosen_member()
        for widget in self.person_controls:
            widget.setEnabled(member is not None)
        for error in (self.roles_box.error, self.practices_error, self.leaver_error):
            error.show_message("")
        self.pin_errors.clear()
        if member is None:
            self.chosen_label.setText(self.tr("Choose a person in the list."))
            return
        self.chosen_label.setText(member.display_name)
        self.roles_box.set_chosen(member.roles)
        self.practices_list.set_chosen(member.practice_codes)
        self.leaver_date.set_date(member.left_on)

    # -- changing ----------------------------------------------------------------------

    def say(self, message: str) -> None:
        """Show and announce what changed (or why nothing did)."""
        self.status_label.setText(message)
        announce(self.status_label, message)

    def _saved(self, message: str) -> None:
        self.say(message)
        self.changed.emit(message)
        self.reload()

    def _show_error(self, target: ErrorLabel, error: UserError) -> None:
        target.show_message(str(error))
        announce(target, str(error))

    @Slot()
    def save_roles(self) -> None:
        member = self.chosen_member()
        if member is None:
            return
        roles = self.roles_box.chosen()
        self.roles_box.error.show_message("")
        self.runner.write(
            lambda session: sign_in.set_roles(session, member.id, roles),
            self._saved,
            lambda error: self._show_error(self.roles_box.error, error),
            owner=self,
            description="set roles",
        )

    @Slot()
    def save_practices(self) -> None:
        member = self.chosen_member()
        if member is None:
            return
        codes = self.practices_list.chosen()
        self.practices_error.show_message("")
        self.runner.write(
            lambda session: team.set_practices_covered(session, member.id, codes),
            self._saved,
            lambda error: self._show_error(self.practices_error, error),
            owner=self,
            description="set practices covered",
        )

    @Slot()
    def set_one_time_pin(self) -> None:
        member = self.chosen_member()
        if member is None:
            return
        pin, again = self.pin_edit.text(), self.pin_again_edit.text()
        self.pin_errors.clear()
        if pin != again:
            message = self.tr("The two PINs are not the same: type them again.")
            self.pin_errors.label_for("pin_again").show_message(message)
            announce(self.pin_again_edit, message)
            self._clear_pins()
            return
        try:
            sign_in.check_pin_rules(pin)
        except UserError as error:
            self.pin_errors.show(error)
            announce(self.pin_edit, str(error))
            self._clear_pins()
            return
        self._clear_pins()  # never kept on screen, whatever happens next
        self.runner.write(
            lambda session: sign_in.set_pin(session, member.id, pin, one_time=True),
            self._saved,
            self._on_pin_failed,
            owner=self,
            description="set one-time PIN",
        )

    def _clear_pins(self) -> None:
        self.pin_edit.clear()
        self.pin_again_edit.clear()
        self.pin_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_pin_failed(self, error: UserError) -> None:
        self.pin_errors.show(error)
        announce(self.pin_edit, str(error))

    @Slot()
    def record_leaver(self) -> None:
        member = self.chosen_member()
        if member is None:
            return
        self.leaver_error.show_message("")
        try:
            last_day: dt.date = self.leaver_date.date_value()
        except DateInputError:
            return  # the field says why, and announces it
        self.runner.write(
            lambda session: sign_in.record_leaver(session, member.id, last_day),
            self._saved,
            lambda error: self._show_error(self.leaver_error, error),
            owner=self,
            description="record leaver",
        )

    @Slot()
    def add_staff(self) -> None:
        family, given, title = (
            self.family_edit.text(),
            self.given_edit.text(),
            self.title_edit.text(),
        )
        profession = self.profession_combo.currentData()
        codes = self.new_practices.chosen()
        roles = self.new_roles.chosen()
        self.add_errors.clear()
        if profession is None:
            message = self.tr("Choose a profession.")
            self.add_errors.label_for("profession").show_message(message)
            announce(self.profession_combo, message)
            return

        def call(session: Session) -> str:
            added = staff_service.add_staff(
                session,
                family_name=family,
                given_name=given,
                title=title,
                profession=profession,
                practice_codes=codes,
            )
            sign_in.set_roles(session, added.id, roles)
            covers = ", ".join(added.practice_codes) or "no practices"
            return (
                f"Added {added.display_name} ({label(added.profession)}, "
                f"{roles_text(frozenset(roles))}; covers {covers}). They need a PIN to sign in."
            )

        self.runner.write(call, self._on_staff_added, self._on_add_failed, owner=self)

    def _on_staff_added(self, message: str) -> None:
        for field in (self.family_edit, self.given_edit, self.title_edit):
            field.clear()
        self.profession_combo.setCurrentIndex(0)
        self.new_practices.set_chosen(())
        self.new_roles.set_chosen(frozenset())
        self.family_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self._saved(message)

    def _on_add_failed(self, error: UserError) -> None:
        self.add_errors.show(error)
        announce(self.add_button, str(error))

    @Slot()
    def save_idle_lock(self) -> None:
        minutes = self.idle_minutes.value()
        self.idle_error.show_message("")

        def done(message: str) -> None:
            self.idle_lock_changed.emit(minutes)
            self._saved(message)

        self.runner.write(
            lambda session: desk_settings.set_idle_lock_minutes(session, minutes),
            done,
            lambda error: self._show_error(self.idle_error, error),
            owner=self,
            description="set idle lock",
        )

    @Slot()
    def _on_import_button_clicked(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self,
            self.tr("Import patient list"),
            "",
            self.tr("Patient lists (*.csv);;All files (*)"),
        )
        if path:
            self.import_patient_list(Path(path))

    def import_patient_list(self, path: Path) -> None:
        """Import the CSV patient list at ``path`` (off the GUI thread)."""

        def job(desk: Desk) -> ImportReport:
            return import_patients_file(
                desk.store, path, actor_id=desk.actor_id, actor_label=desk.actor_name
            )

        self.import_error.show_message("")
        self.import_status.setText(self.tr("Importing {name}…").format(name=path.name))
        self.import_button.setEnabled(False)
        self.runner.run(
            job,
            self._on_patients_imported,
            self._on_import_failed,
            owner=self,
            description="import patient list",
        )

    def _on_patients_imported(self, report: ImportReport) -> None:
        self.import_report = report
        self.import_button.setEnabled(True)
        message = self.tr(
            "Patient list: {imported} added, {updated} updated, {unchanged} unchanged, "
            "{rejected} refused."
        ).format(
            imported=report.imported,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=report.rejected,
        )
        self.import_status.setText(message)
        if report.problems:
            first = report.problems[0]
            self.import_error.show_message(
                self.tr("Line {line}: {problem}").format(line=first.line, problem=first.reason)
            )
        self.say(message)
        self.changed.emit(message)

    def _on_import_failed(self, error: UserError) -> None:
        self.import_button.setEnabled(True)
        self.import_status.setText(self.tr("No patients imported."))
        self._show_error(self.import_error, error)
