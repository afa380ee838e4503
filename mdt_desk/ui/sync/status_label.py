"""The status bar's sync state, in words (never colour alone)."""

import datetime as dt
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from mdt_desk.services.changes import Changes
from mdt_desk.services.display import cui_time
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.sync.controller import SyncController, SyncState, SyncStatus
from mdt_desk.ui.sync.review_dialog import ReviewListDialog

_LONDON = ZoneInfo("Europe/London")
#: Longest error shown in the bar itself; the whole message is in the tooltip.
_SHORT_MESSAGE = 70


def _first_sentence(message: str) -> str:
    """A long message cut to its first sentence, to fit the status bar."""
    text = message.strip()
    if len(text) > _SHORT_MESSAGE:
        text = text.split(". ")[0]
    text = text.rstrip(".")
    if len(text) > _SHORT_MESSAGE:
        text = text[: _SHORT_MESSAGE - 1].rstrip() + "…"
    return text


class SyncStatusLabel(QLabel):
    """ "Local only", "Synced 14:05", "3 changes waiting", "Offline — 3 changes waiting",
    "2 to review" or "Sync stopped: …", following the controller.

    Clicking it (or Enter/Space when it has the focus, or :meth:`show_review_list`)
    opens the "Needs review" list when there are items to review.
    """

    def __init__(
        self, controller: SyncController, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sync_status")
        self.setAccessibleName(self.tr("Sync status"))
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._controller = controller
        self._runner = runner
        self.review_dialog: ReviewListDialog | None = None
        controller.state_changed.connect(self._on_controller_state_changed)
        # Any committed change may move the "waiting" and "to review" counts.
        runner.changes_committed.connect(self._on_runner_changes_committed)
        self.show_status(controller.status)

    # -- words ---------------------------------------------------------------------------

    def _waiting_words(self, waiting: int) -> str:
        if waiting == 1:
            return self.tr("1 change waiting")
        return self.tr("{count} changes waiting").format(count=waiting)

    def _when(self, moment: dt.datetime) -> str:
        local = moment.astimezone(_LONDON)
        if local.date() == dt.datetime.now(_LONDON).date():
            return f"{local:%H:%M}"
        return cui_time(moment)

    def text_for(self, status: SyncStatus) -> str:
        """The words shown in the status bar for ``status``."""
        state = status.state
        if state is SyncState.LOCAL_ONLY:
            return self.tr("Local only")
        if state is SyncState.SYNCING:
            return self.tr("Syncing…")
        if state is SyncState.OFFLINE:
            if status.waiting:
                return self.tr("Offline — {waiting}").format(
                    waiting=self._waiting_words(status.waiting)
                )
            return self.tr("Offline")
        if state is SyncState.ERROR:
            return self.tr("Sync stopped: {message}").format(
                message=_first_sentence(status.message)
            )
        if state is SyncState.NEEDS_REVIEW:
            return self.tr("{count} to review").format(count=status.conflicts)
        if state is SyncState.WAITING:
            return self._waiting_words(status.waiting)
        if status.last_sync is None:
            return self.tr("Synced")
        return self.tr("Synced {time}").format(time=self._when(status.last_sync))

    def tooltip_for(self, status: SyncStatus) -> str:
        """The longer explanation: the tooltip and the accessible description."""
        hub = self._controller.hub_address
        state = status.state
        if state is SyncState.LOCAL_ONLY:
            return self.tr(
                "This desk is not connected to a team hub: its records stay on this "
                "computer. Settings → Team hub connects it."
            )
        lines: list[str] = []
        if state is SyncState.SYNCING:
            lines.append(self.tr("Syncing with the team hub {hub}.").format(hub=hub))
        elif state in (SyncState.OFFLINE, SyncState.ERROR):
            lines.append(status.message)
            lines.append(
                self.tr("Your changes are kept on this desk and sent when the sync works.")
            )
        elif state is SyncState.NEEDS_REVIEW:
            lines.append(
                self.tr(
                    "Some changes were made on two desks at once. Click here to choose "
                    "what to keep."
                )
            )
        else:
            lines.append(self.tr("Team hub: {hub}.").format(hub=hub))
        if status.waiting and state is not SyncState.OFFLINE:
            lines.append(
                self.tr("Not yet on the hub: {waiting}.").format(
                    waiting=self._waiting_words(status.waiting)
                )
            )
        if status.last_sync is not None:
            lines.append(self.tr("Last synced {when}.").format(when=cui_time(status.last_sync)))
        lines.append(self.tr("Ctrl+Shift+S syncs now."))
        return "\n".join(line for line in lines if line)

    @Slot(object)
    def show_status(self, status: SyncStatus) -> None:
        self.setText(self.text_for(status))
        tooltip = self.tooltip_for(status)
        self.setToolTip(tooltip)
        self.setAccessibleDescription(tooltip)
        clickable = status.conflicts > 0
        self.setCursor(
            Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor
        )

    # -- the review list --------------------------------------------------------------

    def show_review_list(self) -> ReviewListDialog | None:
        """Open (or raise) the "Needs review" list; None when there is nothing to review."""
        if self._controller.status.conflicts <= 0 and self.review_dialog is None:
            return None
        if self.review_dialog is None:
            dialog = ReviewListDialog(self._runner, self.window())
            dialog.finished.connect(self._on_review_dialog_finished)
            self.review_dialog = dialog
        self.review_dialog.show()
        self.review_dialog.raise_()
        self.review_dialog.activateWindow()
        return self.review_dialog

    @Slot(object)
    def _on_controller_state_changed(self, status: SyncStatus) -> None:
        self.show_status(status)

    @Slot(object, object)
    def _on_runner_changes_committed(self, changes: Changes, _origin: object) -> None:
        if changes.sync_state or changes.review:
            self._controller.refresh_counts()

    @Slot(int)
    def _on_review_dialog_finished(self, _result: int) -> None:
        if self.review_dialog is not None:
            self.review_dialog.deleteLater()
            self.review_dialog = None

    # -- Qt overrides ------------------------------------------------------------------

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.show_review_list()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.show_review_list()
            return
        super().keyPressEvent(event)
