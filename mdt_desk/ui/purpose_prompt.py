"""The question "why?" asked before a person's record leaves the desk.

Exporting a care plan as FHIR and printing or saving it as a PDF both ask it; the answer
goes in the access log with what left (contracts.md, 7: the app asks, as ``--purpose``
does on the command line). One module, so both ask in the same words and a screen
reader finds the same names.
"""

from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QWidget


def purpose_prompt(
    parent: QWidget, title: str, question: str, *, proceed: str | None = None
) -> QInputDialog:
    """A question asking why something leaves the desk, for the access log.

    The answer may be left blank (the log then says "not stated", as on the command
    line). Opened by the caller (``open()``); its ``textValueSelected`` carries the answer.

    Args:
        parent: the window it is modal to.
        title: its window title, also its accessible name.
        question: the question (wrapped when long), also its accessible description.
        proceed: the text of the button that answers (by default "Continue…", for a
            question that another one follows).
    """
    prompt = QInputDialog(parent)
    prompt.setObjectName("purpose_prompt")
    prompt.setWindowTitle(title)
    prompt.setInputMode(QInputDialog.InputMode.TextInput)
    prompt.setLabelText(question)
    prompt.setOkButtonText(proceed if proceed is not None else prompt.tr("&Continue…"))
    prompt.setCancelButtonText(prompt.tr("Cancel"))
    prompt.setAccessibleName(title)
    prompt.setAccessibleDescription(question)
    field = prompt.findChild(QLineEdit)
    if field is not None:  # made by setInputMode
        field.setObjectName("purpose_edit")
        field.setAccessibleName(prompt.tr("Purpose"))
        field.setAccessibleDescription(
            prompt.tr("Why it leaves the desk; kept in the access log. May be left blank.")
        )
        field.setMaxLength(500)
    label = prompt.findChild(QLabel)
    if label is not None:  # a long question wraps instead of widening the dialog
        label.setWordWrap(True)
        # The dialog's layout sizes it from its contents: a wrapped label needs a width.
        label.setMinimumWidth(label.fontMetrics().averageCharWidth() * 60)
    return prompt
