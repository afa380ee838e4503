"""Quick find: the always-visible "Find patient" field and its list of matches.

Typing a name fragment (``smi`` or ``smith, j``), an NHS number with or without spaces,
or a date of birth narrows the list as the user types. Each keystroke queues one
search on the task runner; answers to older keystrokes are dropped, and a search still
waiting in the queue when a newer one arrives is skipped, so fast typing never builds
a backlog.
"""

import time
import uuid

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QWidget
from sqlalchemy.orm import Session

from mdt_desk.services.caseload import PatientMatch, find_patients
from mdt_desk.ui.itemmodels.patient_match_table_model import PatientMatchTableModel
from mdt_desk.ui.runner import TaskRunner

MAX_MATCHES = 30
#: Matches shown without scrolling; more scroll within the list.
MAX_ROWS_SHOWN = 12


class QuickFindWidget(QLineEdit):
    """The "Find patient" field; shows matches in a list under itself.

    Signals:
        patient_chosen(object): the user picked a person (Enter or double-click);
            carries the patient id.
        results_shown(int): the list was updated for the latest text; carries the
            number of matches (tests and the find benchmark wait on it).
    """

    patient_chosen = Signal(object)
    results_shown = Signal(int)

    def __init__(self, runner: TaskRunner, popup_parent: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self._runner = runner
        self._latest = 0
        self.last_latency_ms = 0.0
        self.setObjectName("quick_find")
        self.setAccessibleName(self.tr("Find patient"))
        self.setAccessibleDescription(
            self.tr("Type a name, an NHS number or a date of birth; press Enter to open.")
        )
        self.setPlaceholderText(self.tr("Find patient: name, NHS number or date of birth"))
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(360)
        self.setMaximumWidth(620)
        self.model = PatientMatchTableModel(self)
        self._popup_parent = popup_parent
        self.results = QTableView(popup_parent)
        self.results.setObjectName("quick_find_results")
        self.results.setAccessibleName(self.tr("Matching patients"))
        self.results.setModel(self.model)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().hide()
        self.results.horizontalHeader().setAccessibleName(self.tr("Match columns"))
        # Sized once per search by _place_results, not again by the header on every
        # layout; one line of text a row, so rows need no measuring.
        self.results.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.results.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing stays in the field
        self.results.hide()
        self.results.doubleClicked.connect(self._on_results_double_clicked)
        self.textEdited.connect(self._on_text_edited)
        self.installEventFilter(self)

    # -- searching -----------------------------------------------------------------

    def search_for(self, text: str) -> None:
        """Show ``text`` as typed and search for it (typing carried over from start-up)."""
        self.setText(text)
        self.deselect()
        self.setCursorPosition(len(text))
        self._on_text_edited(text)

    @Slot(str)
    def _on_text_edited(self, text: str) -> None:
        self._latest += 1
        generation = self._latest
        started = time.perf_counter()
        if not text.strip():
            self._show_matches(generation, started, [])
            return

        def search(session: Session) -> list[PatientMatch] | None:
            if generation != self._latest:
                return None  # the user has typed on; a newer search is queued
            return find_patients(session, text, limit=MAX_MATCHES)

        def done(matches: list[PatientMatch] | None) -> None:
            if matches is not None:
                self._show_matches(generation, started, matches)

        self._runner.read(search, done, owner=self, description="quick find")

    def _show_matches(self, generation: int, started: float, matches: list[PatientMatch]) -> None:
        if generation != self._latest:
            return
        self.model.set_matches(matches)
        if matches:
            self.results.selectRow(0)
            self._place_results()
            self.results.show()
            self.results.raise_()
        else:
            self.results.hide()
        self.last_latency_ms = (time.perf_counter() - started) * 1000
        self.results_shown.emit(len(matches))

    def _place_results(self) -> None:
        """Size the list to its matches (up to a dozen rows) and keep it inside the window."""
        parent = self._popup_parent
        origin = parent.mapFromGlobal(self.mapToGlobal(QPoint(0, self.height())))
        self.results.resizeColumnsToContents()
        rows = min(self.model.rowCount(), MAX_ROWS_SHOWN)
        frame = 2 * self.results.frameWidth()
        height = (
            self.results.horizontalHeader().sizeHint().height()
            + sum(self.results.rowHeight(row) for row in range(rows))
            + frame
        )
        header = self.results.horizontalHeader()
        width = header.length() + frame + self.results.verticalScrollBar().sizeHint().width()
        width = max(width, self.width())
        # The visible area: the parent, cut to the screen it is on (a window may hang off
        # the screen's edge). A field near the bottom (the agenda's "Add a case") opens
        # its list above itself; near the right edge, the list moves left.
        area = parent.rect()
        screen = self.screen()
        if screen is not None:
            geometry = screen.availableGeometry()
            top_left = parent.mapFromGlobal(geometry.topLeft())
            area = area.intersected(QRect(top_left, geometry.size()))
        room_below = area.bottom() - origin.y() - 8
        room_above = origin.y() - self.height() - area.top() - 8
        width = max(200, min(width, area.width() - 16))
        x = max(area.left() + 8, min(origin.x(), area.right() - 8 - width))
        if height <= room_below or room_below >= room_above:
            height = max(60, min(height, room_below))
            y = origin.y()
        else:
            height = max(60, min(height, room_above))
            y = origin.y() - self.height() - height
        self.results.setGeometry(x, y, width, height)

    # -- keyboard ------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._on_key(event)
        if watched is self and event.type() == QEvent.Type.FocusOut:
            self.results.hide()
        return super().eventFilter(watched, event)

    def _on_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        visible = self.results.isVisible()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and visible:
            step = 1 if key == Qt.Key.Key_Down else -1
            current = self.results.currentIndex().row()
            row = max(0, min(self.model.rowCount() - 1, current + step))
            self.results.selectRow(row)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and visible:
            self._choose(self.results.currentIndex().row())
            return True
        if key == Qt.Key.Key_Escape:
            if visible:
                self.results.hide()
            else:
                self.clear()
            return True
        return False

    @Slot()
    def _on_results_double_clicked(self) -> None:
        self._choose(self.results.currentIndex().row())

    def forget(self) -> None:
        """Clear the box and its matches, and ignore a search still running (the lock)."""
        self._latest += 1
        self.results.hide()
        self.clear()
        self.model.set_matches([])

    def _choose(self, row: int) -> None:
        patient_id: uuid.UUID | None = self.model.patient_id_at(row)
        if patient_id is None:
            return
        self.results.hide()
        self.patient_chosen.emit(patient_id)
        # Ready for the next person: the field clears once a record is opened.
        self._latest += 1
        self.clear()
        self.model.set_matches([])
