"""File → Export → FHIR care plan…: the care plan of the person in front, as a FHIR file.

The same export as ``mdt-desk fhir export --nhs N`` (``services/fhir/export.py``), in the
same order. The app asks why (the purpose goes in the access log: contracts.md, 7), then
where; only then, on the worker thread, does it build the bundle, log it and write the
file (0600, whole or not at all). The log comes before the file, as on the command line:
the log may hold an export whose file then failed, never a file it does not hold.
Cancelling either question reads, logs and writes nothing.

What the services refuse (a person who declined sharing, no case yet, a role that may not
export) and a file that cannot be written are said in plain words, in a message, in the
status bar and to a screen reader; never a traceback.
"""

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox

from mdt_desk.errors import UserError
from mdt_desk.models.enums import ConsentDecision
from mdt_desk.services.access import Permission, refusal
from mdt_desk.services.actions import london_today
from mdt_desk.services.desk import Desk
from mdt_desk.ui.purpose_prompt import purpose_prompt
from mdt_desk.ui.role_screens import allows
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import announce

if TYPE_CHECKING:
    from mdt_desk.ui.case_record.widget import CaseRecordWidget


class FhirExportSettingsKey:
    """Every key this export keeps in ``QSettings``, declared once."""

    #: the folder the last FHIR file was saved in (never the file's name: it holds an
    #: NHS number, and settings are not the place for it)
    LAST_FOLDER = "fhir_export/last_folder"


@dataclass(frozen=True)
class ExportedPerson:
    """Who is exported, as the record in front shows them.

    Attributes:
        patient_id: the person.
        name: their name as the record's banner gives it, for the messages.
        nhs_number: their NHS number (digits), for the suggested file name; "" when the
            record has not loaded yet.
        declined_on: the day their latest consent decision declined sharing, if it does
            (nothing is exported: said before any question is asked).
    """

    patient_id: uuid.UUID
    name: str
    nhs_number: str
    declined_on: dt.date | None = None

    @classmethod
    def of_record(cls, record: "CaseRecordWidget") -> "ExportedPerson":
        view = record.view
        if view is None:  # still loading: the tab's title is the name it will show
            return cls(record.patient_id, record.title(), "")
        banner = view.banner
        consent = banner.consent
        declined = consent is not None and consent.decision is ConsentDecision.DECLINED
        return cls(
            record.patient_id,
            banner.display_name,
            banner.nhs_number,
            consent.recorded_on if declined and consent is not None else None,
        )


def suggested_file(nhs_number: str, today: dt.date, folder: Path) -> Path:
    """``care-plan-9434765919-20261202.json`` in ``folder``: as the printed plan's PDF is
    named, by NHS number and day, never by name (a file name shows in every folder
    listing and e-mail it passes through)."""
    stamp = today.strftime("%Y%m%d")
    name = f"care-plan-{nhs_number}-{stamp}.json" if nhs_number else f"care-plan-{stamp}.json"
    return folder / name


def starting_folder(settings: QSettings | None = None) -> Path:
    """The folder the last FHIR file went to, while it still exists; else the person's
    documents folder (their home folder where there is none)."""
    settings = settings or QSettings()
    last = settings.value(FhirExportSettingsKey.LAST_FOLDER, "")
    if isinstance(last, str) and last and Path(last).is_dir():
        return Path(last)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


@dataclass(frozen=True)
class SavedExport:
    """What a finished export tells the person: how many resources, how many of the
    person's items for the team only were left out (never exported)."""

    resources: int
    left_out: int


def export_care_plan_file(
    desk: Desk, patient_id: uuid.UUID, purpose: str, path: Path
) -> SavedExport:
    """Build the person's bundle, log the export, write the file (on the worker thread,
    through the one export the command line makes too).

    Raises:
        UserError: the services refuse (not found, no case, declined sharing, a role
            that may not export), or the file cannot be written.
    """
    from mdt_desk.services.fhir.export import export_to_file, person_bundle

    bundle = export_to_file(
        desk.read,
        desk.write,
        functools.partial(person_bundle, patient_id=patient_id),
        path,
        purpose,
    )
    return SavedExport(resources=bundle.resources, left_out=bundle.left_out.total)


class FhirCarePlanExport(QObject):
    """One File → Export → FHIR care plan…, from the first question to the message.

    Signals:
        saved(Path, int): the file was written (its path, how many resources).
        failed(str): the export was refused or the file not written (the message shown).
        finished(): it is over, whichever way (saved, failed or cancelled).
    """

    saved = Signal(object, int)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, runner: TaskRunner, person: ExportedPerson, window: QMainWindow) -> None:
        super().__init__(window)
        self.runner = runner
        self.person = person
        self.window = window
        self.purpose_prompt: QInputDialog | None = None
        self.problem_box: QMessageBox | None = None
        self.path: Path | None = None
        self.finished.connect(self.deleteLater)

    def start(self) -> None:
        """Ask why (or say at once that the role may not export)."""
        principal = self.runner.desk.principal
        if principal is not None and not allows(principal, (Permission.EXPORT,)):
            self._show_problem(refusal(principal.roles, Permission.EXPORT))
            return
        if self.person.declined_on is not None:
            # Said first, not after two questions (the service refuses it anyway).
            from mdt_desk.services.fhir.export import declined_sharing_message

            self._show_problem(declined_sharing_message(self.person.name, self.person.declined_on))
            return
        prompt = purpose_prompt(
            self.window,
            self.tr("Export FHIR care plan"),
            self.tr(
                "Why are you exporting the care plan of {name}? Your answer is kept in "
                "the access log with the export; left blank, the log says “not stated”."
            ).format(name=self.person.name),
        )
        prompt.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        prompt.textValueSelected.connect(self._on_purpose_prompt_text_value_selected)
        prompt.rejected.connect(self._on_cancelled)
        self.purpose_prompt = prompt
        prompt.open()

    @Slot(str)
    def _on_purpose_prompt_text_value_selected(self, purpose: str) -> None:
        self.purpose_prompt = None
        # After the prompt has closed: the file dialog is a modal loop of its own.
        QTimer.singleShot(0, self, lambda: self._ask_for_file(purpose))

    @Slot()
    def _on_cancelled(self) -> None:
        self.purpose_prompt = None
        self.window.statusBar().showMessage(self.tr("FHIR care plan not exported."), 5000)
        self.finished.emit()

    def _ask_for_file(self, purpose: str) -> None:
        suggested = suggested_file(self.person.nhs_number, london_today(), starting_folder())
        chosen, _filter = QFileDialog.getSaveFileName(
            self.window,
            self.tr("Save FHIR care plan"),
            str(suggested),
            self.tr("FHIR JSON files (*.json)"),
        )
        if not chosen:
            self._on_cancelled()
            return
        path = Path(chosen)
        QSettings().setValue(FhirExportSettingsKey.LAST_FOLDER, str(path.parent))
        self.path = path
        self.window.statusBar().showMessage(self.tr("Exporting the FHIR care plan…"))
        patient_id = self.person.patient_id
        self.runner.run(
            lambda desk: export_care_plan_file(desk, patient_id, purpose, path),
            self._on_exported,
            self._on_export_refused,
            owner=self,
            description="FHIR care plan export",
        )

    def _on_exported(self, saved: SavedExport) -> None:
        path = self.path
        assert path is not None  # set before the job was queued
        resources = saved.resources
        message = self.tr("Saved the FHIR care plan for {name} to {path} ({count}).").format(
            name=self.person.name,
            path=path,
            count=self.tr("1 resource")
            if resources == 1
            else self.tr("{n} resources").format(n=resources),
        )
        if saved.left_out:
            # Said beside the file, never in it, as the print preview does.
            message += " " + (
                self.tr("Not in the file: 1 item for the team only (never exported).")
                if saved.left_out == 1
                else self.tr(
                    "Not in the file: {n} items for the team only (never exported)."
                ).format(n=saved.left_out)
            )
        bar = self.window.statusBar()
        bar.showMessage(message, 15_000)
        announce(bar, message)
        self.saved.emit(path, resources)
        self.finished.emit()

    def _on_export_refused(self, error: UserError) -> None:
        self._show_problem(str(error))

    def _show_problem(self, message: str) -> None:
        bar = self.window.statusBar()
        bar.showMessage(message, 15_000)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("FHIR care plan not exported"),
            message,
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setObjectName("fhir_export_problem_box")
        box.setAccessibleName(self.tr("FHIR care plan not exported"))
        box.setAccessibleDescription(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.problem_box = box
        box.open()
        announce(bar, message)
        self.failed.emit(message)
        self.finished.emit()
