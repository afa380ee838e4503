"""Locking the desk when nobody has touched it for a while.

An application-wide event filter sees every key press, click, wheel turn and mouse move
in any of the app's windows (meeting mode on the projector too) and starts the timer
again; when it runs out, :attr:`IdleLock.idle` tells the main window to lock.

How long is the administrator's choice for this desk
(:func:`mdt_desk.services.desk_settings.idle_lock_minutes`, 1–60, 15 when not set).
Tests set a shorter interval with :meth:`IdleLock.set_interval_ms`.
"""

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent

from mdt_desk.services.desk_settings import DEFAULT_IDLE_MINUTES, IDLE_LOCK_META

__all__ = ["IDLE_LOCK_META", "IdleLock"]

#: What counts as someone using the desk (not paints, timers or focus changes).
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleLock(QObject):
    """Emits :attr:`idle` once no one has used the app for the interval.

    Signals:
        idle(): the interval passed with no key, click, wheel or mouse movement.
        lock_keys_pressed(): Ctrl+L in a window the main window's own shortcut does not
            reach (a dialog that blocks it, meeting mode on the projector).
    """

    idle = Signal()
    lock_keys_pressed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEFAULT_IDLE_MINUTES * 60_000)
        self._timer.timeout.connect(self.idle)
        self._watching = False

    def interval_ms(self) -> int:
        return self._timer.interval()

    def set_interval_ms(self, milliseconds: int) -> None:
        """Lock after ``milliseconds`` idle from now on (counting starts again)."""
        self._timer.setInterval(max(1, milliseconds))
        if self._watching:
            self._timer.start()

    def start(self) -> None:
        """Watch for activity and count idle time (once someone is signed in)."""
        app = QCoreApplication.instance()
        if app is not None and not self._watching:
            app.installEventFilter(self)
        self._watching = True
        self._timer.start()

    def stop(self) -> None:
        """Stop counting (while locked, or in set-up when there is no PIN to unlock with)."""
        app = QCoreApplication.instance()
        if app is not None and self._watching:
            app.removeEventFilter(self)
        self._watching = False
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self._timer.start()
            if (
                isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_L
                and event.modifiers() == Qt.KeyboardModifier.ControlModifier
            ):
                self.lock_keys_pressed.emit()
                return True
        return False
