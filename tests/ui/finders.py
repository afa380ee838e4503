"""Typed look-ups of named child widgets for GUI tests.

``QObject.findChild`` returns ``None`` when no child has the name; a test that then calls a
method on it fails with an ``AttributeError`` far from the cause. ``child`` fails at the
look-up, naming the widget that was missing, and gives mypy the concrete type.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QWidget

T = TypeVar("T", bound=QObject)
W = TypeVar("W", bound=QWidget)


def child(parent: QObject, kind: type[T], name: str) -> T:
    """The child of ``parent`` of type ``kind`` called ``name``; fails the test if absent."""
    found = parent.findChild(kind, name)
    assert found is not None, f"{parent.objectName() or type(parent).__name__} has no {name!r}"
    return found


def focused(kind: type[W]) -> W:
    """The widget with keyboard focus, which must be a ``kind``."""
    widget = QApplication.focusWidget()
    assert isinstance(widget, kind), f"focus is on {widget!r}, not a {kind.__name__}"
    return widget
