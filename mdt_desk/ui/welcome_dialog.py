"""First run on an empty store: explore with demo data, or set up the team.

- **Explore with demo data** fills the store with a synthetic caseload (off the GUI thread,
  with progress) and signs in one of its coordinators.
- **Set up the team** imports GP practices from an NHS ODS ``epraccur.csv`` file, adds
  the team's staff, and asks who is using this desk.

The dialog is accepted once someone is signed in (``runner.desk.actor_id`` is set), and
never blocks its caller (open it with ``open()``). Both paths sign in through
:meth:`~mdt_desk.ui.runner.TaskRunner.change_desk`: the runner swaps the new desk in and
announces it (``desk_changed``: the status bar, My caseload) as soon as the job ends,
even if this dialog was closed meanwhile, so the window never works as nobody while the
store says someone is signed in.
"""

import uuid
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.enums import Profession
from mdt_desk.services import staff as staff_service
from mdt_desk.services.demo import DemoReport, generate_demo
from mdt_desk.services.desk import Desk
from mdt_desk.services.display import label
from mdt_desk.services.practices import import_ods_practices
from mdt_desk.services.progress import WRITING
from mdt_desk.services.reports import ImportReport
from mdt_desk.services.sign_in import set_pin, sign_in_with_pin
from mdt_desk.services.staff import StaffSummary
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel, FieldErrors

#: How many people the demo caseload has, and the seed that makes it the same each time.
DEMO_PATIENTS = 2_000
DEMO_SEED = 2026


class _ProgressRelay(QObject):
    """Carries progress from the worker thread to the GUI thread (a queued signal).

    Signals:
        progressed(int, int): done so far, and in all.
        phase_progressed(str, int, int): a service's ``(phase, done, total)``
            (:mod:`mdt_desk.services.progress`).
    """

    progressed = Signal(int, int)
    phase_progressed = Signal(str, int, int)


class WelcomeDialog(QDialog):
    """First run on an empty store: set up the team, or explore with demo data.

    Accepted once someone is signed in (``runner.desk.actor_id`` is set).

    Signals:
        staff_added(object): a staff member was added; carries their ``StaffSummary``.
    """

    staff_added = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        demo_patients: int = DEMO_PATIENTS,
        demo_seed: int = DEMO_SEED,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.demo_patients = demo_patients
        self.demo_seed = demo_seed
        self.demo_report: DemoReport | None = None
        self.import_report: ImportReport | None = None
        self._working = False
        self.setWindowTitle(self.tr("Welcome to MDT Desk"))
        self.setAccessibleName(self.tr("Welcome to MDT Desk"))
        self.errors = FieldErrors()
        intro = QLabel(
            self.tr(
                "This desk has no team yet. Explore MDT Desk with a made-up caseload, "
                "or set up your team: import your practices, add the staff, and choose "
                "who is using this desk."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self._build_demo_box())
        layout.addWidget(self._build_setup_box())
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.setObjectName("welcome_close_button")
        self.close_button.setAccessibleName(self.tr("Close without signing in"))
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout.addLayout(bottom)
        self.resize(620, 640)
        self.reload_staff()

    # -- building ----------------------------------------------------------------------

    def _build_demo_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Explore"), self)
        self.demo_button = QPushButton(self.tr("&Explore with demo data"), box)
        self.demo_button.setObjectName("welcome_demo_button")
        self.demo_button.setAccessibleName(self.tr("Explore with demo data"))
        self.demo_button.setAutoDefault(False)
        self.demo_button.clicked.connect(self.start_demo)
        self.demo_progress = QProgressBar(box)
        self.demo_progress.setObjectName("welcome_demo_progress")
        self.demo_progress.setAccessibleName(self.tr("Demo data progress"))
        self.demo_progress.hide()
        self.demo_status = QLabel(
            self.tr(
                "Makes {count:,} made-up people with cases, teams and meetings "
                "(NHS numbers from the never-issued test range)."
            ).format(count=self.demo_patients),
            box,
        )
        self.demo_status.setWordWrap(True)
        self.demo_error = ErrorLabel(box)
        layout = QVBoxLayout(box)
        layout.addWidget(self.demo_status)
        layout.addWidget(self.demo_button)
        layout.addWidget(self.demo_progress)
        layout.addWidget(self.demo_error)
        # No parent: the running job holds it, so it outlives the dialog if need be.
        self._relay = _ProgressRelay()
        self._relay.progressed.connect(self._on_demo_progressed)
        self._relay.phase_progressed.connect(self._on_import_progressed)
        return box

    def _build_setup_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Set up the team"), self)
        self.import_button = QPushButton(self.tr("&Import practices (ODS epraccur.csv)…"), box)
        self.import_button.setObjectName("welcome_import_button")
        self.import_button.setAccessibleName(self.tr("Import practices from an ODS file"))
        self.import_button.setAutoDefault(False)
        self.import_button.clicked.connect(self.import_practices)
        self.import_status = QLabel(self.tr("No practices imported yet."), box)
        self.import_status.setObjectName("welcome_import_status")
        self.import_status.setWordWrap(True)
        self.import_progress = QProgressBar(box)
        self.import_progress.setObjectName("welcome_import_progress")
        self.import_progress.setAccessibleName(self.tr("Practice import progress"))
        self.import_progress.setRange(0, 100)
        self.import_progress.setFormat("%p%")
        self.import_progress.hide()
        self.import_error = ErrorLabel(box)
        form = self._build_staff_form(box)
        sign_in_row = self._build_sign_in_row(box)
        layout = QVBoxLayout(box)
        layout.addWidget(QLabel(self.tr("1. Your practices"), box))
        layout.addWidget(self.import_button)
        layout.addWidget(self.import_status)
        layout.addWidget(self.import_progress)
        layout.addWidget(self.import_error)
        layout.addWidget(QLabel(self.tr("2. The team"), box))
        layout.addLayout(form)
        layout.addWidget(self.add_staff_button)
        layout.addWidget(self.errors.summary)
        layout.addWidget(self.staff_status)
        layout.addWidget(QLabel(self.tr("3. Who is using this desk"), box))
        layout.addLayout(sign_in_row)
        layout.addWidget(self.sign_in_error)
        return box

    def _build_staff_form(self, box: QWidget) -> QFormLayout:
        self.family_edit = QLineEdit(box)
        self.given_edit = QLineEdit(box)
        self.title_edit = QLineEdit(box)
        self.profession_combo = QComboBox(box)
        self.profession_combo.addItem(self.tr("Choose a profession"), None)
        for profession in Profession:
            self.profession_combo.addItem(label(profession), profession)
        self.practices_edit = QLineEdit(box)
        self.practices_edit.setPlaceholderText(self.tr("ODS codes, e.g. A81001, A81002"))
        form = QFormLayout()
        for caption, widget, field, name in (
            (self.tr("&Family name"), self.family_edit, "family_name", "welcome_staff_family"),
            (self.tr("&Given name"), self.given_edit, "given_name", "welcome_staff_given"),
            (self.tr("&Title"), self.title_edit, "title", "welcome_staff_title"),
            (
                self.tr("&Profession"),
                self.profession_combo,
                "profession",
                "welcome_staff_profession",
            ),
            (
                self.tr("Practices &covered"),
                self.practices_edit,
                "practice_codes",
                "welcome_staff_practices",
            ),
        ):
            widget.setObjectName(name)
            widget.setAccessibleName(caption.replace("&", ""))
            caption_label = QLabel(caption, box)
            caption_label.setBuddy(widget)
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(widget)
            column.addWidget(self.errors.label_for(field))
            form.addRow(caption_label, column)
        for line_edit in (self.family_edit, self.given_edit, self.title_edit, self.practices_edit):
            line_edit.returnPressed.connect(self.add_staff)
        self.add_staff_button = QPushButton(self.tr("&Add to the team"), box)
        self.add_staff_button.setObjectName("welcome_add_staff_button")
        self.add_staff_button.setAccessibleName(self.tr("Add to the team"))
        self.add_staff_button.setAutoDefault(False)
        self.add_staff_button.clicked.connect(self.add_staff)
        self.staff_status = QLabel(box)
        self.staff_status.setObjectName("welcome_staff_status")
        self.staff_status.setWordWrap(True)
        return form

    def _build_sign_in_row(self, box: QWidget) -> QHBoxLayout:
        self.sign_in_combo = QComboBox(box)
        self.sign_in_combo.setObjectName("welcome_sign_in_combo")
        self.sign_in_combo.setAccessibleName(self.tr("Who is using this desk"))
        self.sign_in_button = QPushButton(self.tr("&Sign in"), box)
        self.sign_in_button.setObjectName("welcome_sign_in_button")
        self.sign_in_button.setAccessibleName(self.tr("Sign in"))
        self.sign_in_button.setAutoDefault(False)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_in_error = ErrorLabel(box)
        who_label = QLabel(self.tr("&Who is using this desk?"), box)
        who_label.setBuddy(self.sign_in_combo)
        # The first person to set a PIN ends set-up and is the team's administrator.
        self.pin_edit = QLineEdit(box)
        self.pin_edit.setObjectName("welcome_pin_edit")
        self.pin_edit.setAccessibleName(self.tr("PIN"))
        self.pin_edit.setPlaceholderText(self.tr("At least 6 characters"))
        self.repeat_pin_edit = QLineEdit(box)
        self.repeat_pin_edit.setObjectName("welcome_repeat_pin_edit")
        self.repeat_pin_edit.setAccessibleName(self.tr("PIN again"))
        for edit in (self.pin_edit, self.repeat_pin_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setMaxLength(200)
        self.repeat_pin_edit.returnPressed.connect(self.sign_in)
        pin_label = QLabel(self.tr("Your PI&N"), box)
        pin_label.setBuddy(self.pin_edit)
        repeat_label = QLabel(self.tr("PIN agai&n"), box)
        repeat_label.setBuddy(self.repeat_pin_edit)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(who_label)
        sign_in_row.addWidget(self.sign_in_combo, 1)
        sign_in_row.addWidget(pin_label)
        sign_in_row.addWidget(self.pin_edit)
        sign_in_row.addWidget(repeat_label)
        sign_in_row.addWidget(self.repeat_pin_edit)
        sign_in_row.addWidget(self.sign_in_button)
        return sign_in_row

    # -- public ------------------------------------------------------------------------

    def choose_ods_file(self) -> Path | None:
        """Ask for the ODS practice file (tests replace this)."""
        chosen, _filter = QFileDialog.getOpenFileName(
            self,
            self.tr("Import practices from an ODS file"),
            "",
            self.tr("ODS practice file (epraccur.csv *.csv);;All files (*)"),
        )
        return Path(chosen) if chosen else None

    @Slot()
    def start_demo(self) -> None:
        """Make the demo caseload off the GUI thread, then sign in its coordinator."""
        patients, seed, relay = self.demo_patients, self.demo_seed, self._relay
        reports: list[DemoReport] = []  # handed over with the desk (a job returns a desk)

        def job(desk: Desk) -> Desk:
            reports.append(
                generate_demo(
                    desk.store,
                    patients=patients,
                    seed=seed,
                    progress=relay.progressed.emit,
                )
            )
            # generate_demo signed in through the store: the desk follows it (the runner
            # swaps it in on the GUI thread when the job ends).
            return desk.reread()

        self._set_working(True)
        self.demo_error.show_message("")
        self.demo_progress.setRange(0, 0)  # busy until the first batch reports
        self.demo_progress.show()
        self.demo_status.setText(self.tr("Making the demo caseload…"))
        self.runner.change_desk(
            job,
            lambda _desk: self._on_demo_made(reports[0]),
            self._on_demo_failed,
            owner=self,
            description="demo data",
        )

    @Slot()
    def import_practices(self) -> None:
        path = self.choose_ods_file()
        if path is None:
            return

        relay = self._relay

        def call(session: Session) -> ImportReport:
            return import_ods_practices(session, path, relay.phase_progressed.emit)

        self.import_error.show_message("")
        self.import_status.setText(self.tr("Importing practices…"))
        self.import_progress.setValue(0)
        self.import_progress.show()
        self._set_working(True)
        self.runner.write(
            call,
            self._on_practices_imported,
            self._on_import_failed,
            owner=self,
            description="import ODS practices",
        )

    @Slot()
    def add_staff(self) -> None:
        family, given = self.family_edit.text(), self.given_edit.text()
        title = self.title_edit.text()
        profession = self.profession_combo.currentData()
        codes = tuple(code for code in self.practices_edit.text().replace(",", " ").split() if code)

        def call(session: Session) -> StaffSummary:
            return staff_service.add_staff(
                session,
                family_name=family,
                given_name=given,
                title=title,
                profession=profession if profession is not None else "",
                practice_codes=codes,
            )

        self.runner.write(
            call, self._on_staff_added, self._on_staff_failed, owner=self, description="add staff"
        )

    def reload_staff(self, select: uuid.UUID | None = None) -> None:
        self.runner.read(
            staff_service.list_staff,
            lambda members: self._on_staff_listed(members, select),
            lambda error: self.sign_in_error.show_message(str(error)),
            owner=self,
            description="list staff",
        )

    @Slot()
    def sign_in(self) -> None:
        """Set the chosen person's PIN (typed twice) and sign them in with it.

        In set-up the first PIN makes its person the team administrator and ends set-up:
        from then on the window opens on the sign-in screen.
        """
        staff_id = self.sign_in_combo.currentData()
        if not isinstance(staff_id, uuid.UUID):
            self.sign_in_error.show_message(
                self.tr("Add yourself to the team first, then choose your name.")
            )
            return
        pin, repeated = self.pin_edit.text(), self.repeat_pin_edit.text()
        if pin != repeated:
            self.repeat_pin_edit.clear()
            self.sign_in_error.show_message(
                self.tr("The two PINs are not the same: type it again.")
            )
            self.repeat_pin_edit.setFocus()
            return

        def job(desk: Desk) -> Desk:
            with desk.write() as session:
                set_pin(session, staff_id, pin)
            return desk.signed_in_as(sign_in_with_pin(desk.store, staff_id, pin).principal)

        self.runner.change_desk(
            job,
            self._on_signed_in,
            lambda error: self.sign_in_error.show_message(str(error)),
            owner=self,
            description="sign in",
        )

    # -- results -----------------------------------------------------------------------

    def _on_signed_in(self, _desk: Desk) -> None:
        # The runner has swapped the desk in already; every screen heard desk_changed.
        self.accept()

    @Slot(int, int)
    def _on_demo_progressed(self, done: int, total: int) -> None:
        self.demo_progress.setRange(0, max(total, 1))
        self.demo_progress.setValue(done)
        self.demo_status.setText(
            self.tr("Making the demo caseload: {done:,} of {total:,} people…").format(
                done=done, total=total
            )
        )

    def _on_demo_made(self, report: DemoReport) -> None:
        # The runner has swapped the new desk in already (change_desk).
        self.demo_report = report
        self._set_working(False)
        self.demo_status.setText(
            self.tr("Made {patients:,} people and {cases:,} cases. Signed in as {name}.").format(
                patients=report.patients, cases=report.cases, name=report.signed_in
            )
        )
        if self.runner.desk.actor_id is not None:
            self.accept()

    def _on_demo_failed(self, error: UserError) -> None:
        self._set_working(False)
        self.demo_progress.hide()
        self.demo_error.show_message(str(error))

    @Slot(str, int, int)
    def _on_import_progressed(self, phase: str, done: int, total: int) -> None:
        """Reading the file is the first half of the bar, writing it the second."""
        share = done / total if total else 1.0
        self.import_progress.setValue(int(50 * share) + (50 if phase == WRITING else 0))

    def _on_practices_imported(self, report: ImportReport) -> None:
        self.import_report = report
        self._set_working(False)
        self.import_progress.setValue(100)
        self.import_status.setText(
            self.tr(
                "Practices: {imported} imported, {updated} updated, {unchanged} unchanged, "
                "{skipped} skipped (not GP practices), {rejected} refused."
            ).format(
                imported=report.imported,
                updated=report.updated,
                unchanged=report.unchanged,
                skipped=report.skipped,
                rejected=report.rejected,
            )
        )
        if report.problems:
            first = report.problems[0]
            self.import_error.show_message(
                self.tr("Line {line}: {problem}").format(line=first.line, problem=first.reason)
            )

    def _on_import_failed(self, error: UserError) -> None:
        self._set_working(False)
        self.import_progress.hide()
        self.import_status.setText(self.tr("No practices imported."))
        self.import_error.show_message(str(error))

    def _on_staff_added(self, member: StaffSummary) -> None:
        self.errors.clear()
        for line_edit in (self.family_edit, self.given_edit, self.title_edit):
            line_edit.clear()
        self.profession_combo.setCurrentIndex(0)
        self.staff_status.setText(
            self.tr("{name} added to the team.").format(name=member.display_name)
        )
        self.family_edit.setFocus()
        self.staff_added.emit(member)
        self.reload_staff(select=member.id)

    def _on_staff_failed(self, error: UserError) -> None:
        self.errors.show(error)  # everything typed stays

    def _on_staff_listed(self, members: list[StaffSummary], select: uuid.UUID | None) -> None:
        chosen = select or self.sign_in_combo.currentData()
        self.sign_in_combo.clear()
        for member in members:
            self.sign_in_combo.addItem(
                f"{member.display_name} — {label(member.profession)}", member.id
            )
        for number in range(self.sign_in_combo.count()):
            if self.sign_in_combo.itemData(number) == chosen:
                self.sign_in_combo.setCurrentIndex(number)
        self.sign_in_button.setEnabled(bool(members))

    def reject(self) -> None:
        # Closing half way through would leave a half-made store: wait for the work.
        if self._working:
            return
        super().reject()

    # -- helpers -----------------------------------------------------------------------

    def _set_working(self, working: bool) -> None:
        self._working = working
        for button in (self.demo_button, self.import_button, self.close_button):
            button.setEnabled(not working)
