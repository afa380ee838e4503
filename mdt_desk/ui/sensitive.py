"""How a sensitive item is marked on screen: the word "Sensitive" and a padlock.

A sensitive action, note or alert (safeguarding, risk to staff) is need-to-know: it never
goes on the person's own copy and stays hidden on a shared screen until revealed. Where
it is shown it says so in words, with an icon beside them, never by colour alone.
"""

from PySide6.QtCore import QCoreApplication, QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPen, QPixmap

_icon: QIcon | None = None


def sensitive_word() -> str:
    return QCoreApplication.translate("sensitive", "Sensitive")


def sensitive_text(text: str) -> str:
    """``Sensitive — Safeguarding: agree the protection plan``."""
    return QCoreApplication.translate("sensitive", "Sensitive — {text}").format(text=text)


def _padlock(size: int, colour: QColor) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, max(1.5, size / 10))
    painter.setPen(pen)
    shackle = QRectF(size * 0.28, size * 0.08, size * 0.44, size * 0.5)
    painter.drawArc(shackle, 0, 180 * 16)
    middle, bottom = shackle.center().y(), size * 0.46
    for x in (shackle.left(), shackle.right()):
        painter.drawLine(QLineF(x, middle, x, bottom))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(QRectF(size * 0.16, size * 0.44, size * 0.68, size * 0.5), 2, 2)
    painter.end()
    return pixmap


def sensitive_icon() -> QIcon:
    """A padlock: the desktop theme's, or one drawn in the palette's text colour."""
    global _icon  # noqa: PLW0603 - one icon for the whole app, made on first use
    if _icon is None:
        themed = QIcon.fromTheme("security-high")
        if themed.isNull():
            colour = QGuiApplication.palette().windowText().color()
            themed = QIcon()
            for size in (16, 24, 32):
                themed.addPixmap(_padlock(size, colour))
        _icon = themed
    return _icon
