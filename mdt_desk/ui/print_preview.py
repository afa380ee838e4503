"""Print preview, Print and Save as PDF for every document MDT Desk makes.

The dialog asks :func:`mdt_desk.documents.preview` for the PDF on the task runner (off the
GUI thread) and shows its pages with Qt PDF. *Print…* and *Save as PDF…* ask
:func:`mdt_desk.documents.produce`, which renders the document again and records the
print in the journal in the same transaction, so what is recorded is exactly what left
the desk. A care plan is about one person, so before it is printed or saved the dialog
asks why (after the printer or the file is chosen, before anything is made); the answer
goes in the access log with the print, and cancelling prints, saves and records nothing
(contracts.md, 7). For a care plan (the person's own copy) it says on screen, never on
the paper, how many sensitive items were left off and why, and announces it to screen
readers.
Printing draws one page per turn of the event loop, so the window stays responsive while
a long document goes to the printer.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QKeySequence,
    QPainter,
    QShortcut,
    QShowEvent,
)
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mdt_desk import documents
from mdt_desk.documents import DocumentRequest, ProducedDocument
from mdt_desk.errors import UserError
from mdt_desk.models.enums import DocumentKind
from mdt_desk.models.private_files import write_private
from mdt_desk.services.persons_copy import LeftOff
from mdt_desk.ui.purpose_prompt import purpose_prompt
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import ErrorLabel


def load_pdf(content: bytes, parent: QObject) -> tuple[QPdfDocument, QBuffer]:
    """A Qt PDF document over bytes (the buffer must live as long as the document)."""
    buffer = QBuffer(parent)
    buffer.setData(QByteArray(content))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument(parent)
    document.load(buffer)
    return document, buffer


def print_job_name(made: ProducedDocument) -> str:
    """What the print queue shows: the kind of document ("Care plan"), never whom it is
    about. A shared printer's queue is seen by anyone who prints to it, and the print
    system keeps job names in its spool and logs, outside the encrypted store."""
    return made.title.partition(":")[0].strip() or "MDT Desk document"


#: The size the pages want: an A4 page across at a readable zoom, most of one in view.
PREFERRED_SIZE = QSize(820, 960)

#: The most dots per inch a page is rendered at for a printer. Pages go to the printer
#: as images (Qt's PDF module renders, it does not re-send vectors); at a printer's own
#: high resolution an A4 page is up to 140 million pixels and took 3.4 s of the GUI
#: thread to send. 300 dpi is print quality for text of this size.
PRINT_DPI = 300

#: What to do with a produced (and recorded) document: write it, or print it.
AfterProduce = Callable[[ProducedDocument], None]

#: What to do once the purpose is known: produce the document with it.
AfterPurpose = Callable[[str], None]

#: The documents about one person, whose prints the access log keeps against that
#: person: the app asks why before one leaves the desk. Agendas, minutes and caseload
#: lists are about a meeting or a practice.
ASKS_PURPOSE = frozenset({DocumentKind.CARE_PLAN})


class PrintPreviewDialog(QDialog):
    """The pages of a document, with Print…, Save as PDF… and (care plans) large print.

    Signals:
        printed(object): the :class:`ProducedDocument` that was printed or saved (its
            print is recorded).
        preview_shown(int): the preview is on screen, with this many pages.
    """

    printed = Signal(object)
    preview_shown = Signal(int)

    def __init__(
        self, runner: TaskRunner, request: DocumentRequest, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.request = request
        self.shown: ProducedDocument | None = None
        self._document: QPdfDocument | None = None
        self._buffer: QBuffer | None = None
        self._pending_pages: list[int] = []
        self._painter: QPainter | None = None
        self._print_source: tuple[QPdfDocument, QBuffer] | None = None
        self._printing: tuple[QPrinter, ProducedDocument] | None = None
        self.purpose_prompt: QInputDialog | None = None
        self._after_purpose: AfterPurpose | None = None
        self._not_done_text = ""
        self.setWindowTitle(self.tr("Print preview"))
        self.setAccessibleName(self.tr("Print preview"))
        self.view = QPdfView(self)
        self.view.setObjectName("print_preview_pages")
        self.view.setAccessibleName(self.tr("Pages of the document"))
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.status = QLabel(self.tr("Preparing the document…"))
        self.status.setObjectName("print_preview_status")
        self.error = ErrorLabel(self)
        # What the person's copy leaves out, and why: on screen only, never in the PDF.
        self.left_off_label = QLabel(self)
        self.left_off_label.setObjectName("print_preview_left_off")
        self.left_off_label.setWordWrap(True)
        self.left_off_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.left_off_label.hide()
        self.large_print = QCheckBox(self.tr("&Large print"), self)
        self.large_print.setObjectName("large_print_check")
        self.large_print.setAccessibleName(self.tr("Large print"))
        self.large_print.setChecked(request.large_print)
        self.large_print.setVisible(request.kind is DocumentKind.CARE_PLAN)
        self.print_button = QPushButton(self.tr("&Print…"), self)
        self.print_button.setObjectName("print_button")
        self.print_button.setAccessibleName(self.tr("Print"))
        self.save_button = QPushButton(self.tr("&Save as PDF…"), self)
        self.save_button.setObjectName("save_pdf_button")
        self.save_button.setAccessibleName(self.tr("Save as PDF"))
        close = QPushButton(self.tr("Close"), self)
        close.setAccessibleName(self.tr("Close the preview"))
        for button in (self.print_button, self.save_button):
            button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.large_print)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.print_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.left_off_label)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.print_button.clicked.connect(self.choose_printer)
        self.save_button.clicked.connect(self.choose_file)
        close.clicked.connect(self.reject)
        self.large_print.toggled.connect(self._on_large_print_toggled)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Print), self, self.choose_printer)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self, self.choose_file)
        self.fit_to_screen()
        self.refresh()

    # -- size ------------------------------------------------------------------------

    def fit_to_screen(self, available: QRect | None = None) -> None:
        """As big as a page wants (820×960), but never bigger than the screen's free area.

        On a 1280×800 screen a 960-pixel dialog put Print and Save off the bottom. The
        window frame (title bar) is counted too, and once shown the whole window is kept
        on the screen (:meth:`showEvent`).

        Args:
            available: the room to fit (by default the available geometry of the screen
                the dialog opens on, its parent's).
        """
        if available is None:
            screen = self.screen()
            if screen is None:
                self.resize(PREFERRED_SIZE)
                return
            available = screen.availableGeometry()
        frame_width, frame_height = self._frame_extents()
        self.resize(
            min(PREFERRED_SIZE.width(), available.width() - frame_width),
            min(PREFERRED_SIZE.height(), available.height() - frame_height),
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._keep_on_screen()

    def _keep_on_screen(self) -> None:
        """Move the whole window, frame and all, onto its screen's free area."""
        screen = self.screen()
        if screen is None:
            return
        area, frame = screen.availableGeometry(), self.frameGeometry()
        dx = max(area.left() - frame.left(), min(0, area.right() - frame.right()))
        dy = max(area.top() - frame.top(), min(0, area.bottom() - frame.bottom()))
        if dx or dy:
            self.move(frame.topLeft() + QPoint(dx, dy))

    def _frame_extents(self) -> tuple[int, int]:
        """The width and height the window frame adds (guessed before the first show)."""
        parent = self.parentWidget()
        for window in (self, parent.window() if parent is not None else None):
            if window is not None and window.isVisible():
                extra = window.frameGeometry().size() - window.geometry().size()
                if extra.height() > 0:
                    return extra.width(), extra.height()
        title = self.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight, None, self)
        return 8, title + 8

    # -- the preview ---------------------------------------------------------------

    def refresh(self) -> None:
        request = self.request
        self.status.setText(self.tr("Preparing the document…"))
        self.runner.run(
            lambda desk: documents.preview(desk, request),
            self._on_preview_ready,
            self._on_error,
            owner=self,
            description="print preview",
        )

    def _on_preview_ready(self, made: ProducedDocument) -> None:
        self.shown = made
        document, buffer = load_pdf(made.content, self)
        old = (self._document, self._buffer)
        self._document, self._buffer = document, buffer
        self.view.setDocument(document)
        for stale in old:
            if stale is not None:
                stale.deleteLater()
        self.setWindowTitle(self.tr("Print preview — {title}").format(title=made.title))
        self.status.setText(
            self.tr("{pages} page(s)").format(pages=made.pages)
            + (
                self.tr(", plan version {v}").format(v=made.plan_version)
                if made.plan_version
                else ""
            )
        )
        for button in (self.print_button, self.save_button):
            button.setEnabled(True)
        self.print_button.setDefault(True)
        self._show_left_off(made.left_off)
        self.preview_shown.emit(made.pages)

    def left_off_text(self, left_off: LeftOff) -> str:
        """``2 sensitive actions and 1 sensitive note are not on the person's copy…``."""
        parts = [
            self.tr("{n} sensitive actions").format(n=left_off.actions)
            if left_off.actions != 1
            else self.tr("1 sensitive action"),
            self.tr("{n} sensitive notes").format(n=left_off.notes)
            if left_off.notes != 1
            else self.tr("1 sensitive note"),
            self.tr("{n} sensitive alerts").format(n=left_off.alerts)
            if left_off.alerts != 1
            else self.tr("1 sensitive alert"),
        ]
        counts = (left_off.actions, left_off.notes, left_off.alerts)
        named = [part for part, count in zip(parts, counts, strict=True) if count]
        if not named:
            return ""
        listed = (
            named[0] if len(named) == 1 else ", ".join(named[:-1]) + self.tr(" and ") + named[-1]
        )
        verb = self.tr("is") if left_off.total == 1 else self.tr("are")
        return self.tr(
            "{listed} {verb} not on the person's copy: sensitive items (such as "
            "safeguarding or risk to staff) are never printed for the person. This note is "
            "not printed."
        ).format(listed=listed, verb=verb)

    def _show_left_off(self, left_off: LeftOff) -> None:
        message = self.left_off_text(left_off)
        self.left_off_label.setText(message)
        self.left_off_label.setAccessibleName(message)
        self.left_off_label.setVisible(bool(message))
        if message:
            QAccessible.updateAccessibility(
                QAccessibleAnnouncementEvent(self.left_off_label, message)
            )

    def page_count(self) -> int:
        return self._document.pageCount() if self._document is not None else 0

    def _on_error(self, error: UserError) -> None:
        self.error.show_message(str(error))
        self.status.setText("")
        for button in (self.print_button, self.save_button):
            button.setEnabled(self.shown is not None)

    @Slot(bool)
    def _on_large_print_toggled(self, checked: bool) -> None:
        self.request = dataclasses.replace(self.request, large_print=checked)
        for button in (self.print_button, self.save_button):
            button.setEnabled(False)
        self.refresh()

    # -- printing and saving (each recorded) ----------------------------------------------

    def _produce(self, then: AfterProduce, purpose: str = "") -> None:
        request = dataclasses.replace(self.request, purpose=purpose)
        for button in (self.print_button, self.save_button):
            button.setEnabled(False)
        self.status.setText(self.tr("Preparing the document…"))
        self.runner.run(
            lambda desk: documents.produce(desk, request),
            then,
            self._on_error,
            owner=self,
            description="print",
        )

    def _ask_purpose(
        self, title: str, question: str, proceed: str, cancelled: str, then: AfterPurpose
    ) -> None:
        """Ask why a document about a person leaves the desk, then ``then(purpose)``.

        Other documents go straight on (with no purpose, as before). Cancelled, the
        status says ``cancelled`` and nothing is made or recorded.
        """
        if self.request.kind not in ASKS_PURPOSE:
            then("")
            return
        if self.purpose_prompt is not None:  # already asking
            return
        prompt = purpose_prompt(self, title, question, proceed=proceed)
        prompt.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        prompt.textValueSelected.connect(self._on_purpose_prompt_text_value_selected)
        prompt.rejected.connect(self._on_purpose_prompt_rejected)
        self.purpose_prompt, self._after_purpose = prompt, then
        self._not_done_text = cancelled
        prompt.open()

    @Slot(str)
    def _on_purpose_prompt_text_value_selected(self, answer: str) -> None:
        then = self._after_purpose
        self.purpose_prompt, self._after_purpose = None, None
        if then is not None:
            then(answer)  # a blank one is logged as "not stated" (record_print)

    @Slot()
    def _on_purpose_prompt_rejected(self) -> None:
        self.purpose_prompt, self._after_purpose = None, None
        self.status.setText(self._not_done_text)

    @Slot()
    def choose_file(self) -> None:
        if self.shown is None:
            return
        folder = Path.home()
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Save as PDF"),
            str(folder / self.shown.filename),
            self.tr("PDF documents (*.pdf)"),
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Ask why (a care plan), then produce the document (recording it) and write it
        to ``path``."""

        def write(made: ProducedDocument) -> None:
            try:
                # Written beside the target and renamed, 0600 from its first byte; a
                # failed write leaves no partial copy behind.
                write_private(path, made.content)
            except OSError as error:
                self._on_error(UserError(f"Cannot write {path}: {error.strerror}."))
                return
            self._done(made, self.tr("Saved to {path}").format(path=path))

        self._ask_purpose(
            self.tr("Save care plan as PDF"),
            self.tr(
                "Why are you saving this care plan as a PDF? Your answer is kept in the "
                "access log with the print; left blank, the log says “not stated”."
            ),
            self.tr("&Save"),
            self.tr("Not saved."),
            lambda purpose: self._produce(write, purpose),
        )

    @Slot()
    def choose_printer(self) -> None:
        if self.shown is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(print_job_name(self.shown))
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(self.tr("Print {title}").format(title=self.shown.title))
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        """Ask why (a care plan), then produce the document (recording it) and send its
        pages to ``printer``."""

        def start(made: ProducedDocument) -> None:
            source = load_pdf(made.content, self)
            self._print_source = source
            painter = QPainter()
            if not painter.begin(printer):
                self._on_error(UserError("The printer could not be started; try another one."))
                return
            self._painter = painter
            self._pending_pages = list(range(source[0].pageCount()))
            self._printing = (printer, made)
            QTimer.singleShot(0, self._print_next_page)

        self._ask_purpose(
            self.tr("Print care plan"),
            self.tr(
                "Why are you printing this care plan? Your answer is kept in the access "
                "log with the print; left blank, the log says “not stated”."
            ),
            self.tr("&Print"),
            self.tr("Not printed."),
            lambda purpose: self._produce(start, purpose),
        )

    @Slot()
    def _print_next_page(self) -> None:
        painter, source, printing = self._painter, self._print_source, self._printing
        if painter is None or source is None or printing is None:
            return
        printer, made = printing
        page = self._pending_pages.pop(0)
        self.status.setText(
            self.tr("Printing page {n} of {total}…").format(n=page + 1, total=made.pages)
        )
        area = printer.pageRect(QPrinter.Unit.DevicePixel).size()
        scale = min(1.0, PRINT_DPI / max(printer.resolution(), 1))
        image = source[0].render(page, (area * scale).toSize())
        painter.drawImage(QRectF(0, 0, area.width(), area.height()), image)
        if self._pending_pages:
            printer.newPage()
            QTimer.singleShot(0, self._print_next_page)
            return
        painter.end()
        self._painter = None
        for item in source:
            item.deleteLater()
        self._print_source = None
        self._done(made, self.tr("Sent {pages} page(s) to the printer").format(pages=made.pages))

    def _done(self, made: ProducedDocument, message: str) -> None:
        self.status.setText(message)
        for button in (self.print_button, self.save_button):
            button.setEnabled(True)
        self.printed.emit(made)
