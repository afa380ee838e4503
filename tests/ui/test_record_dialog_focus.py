"""After a refused save, a case-record dialog keeps the focus in its form.

While a save runs, OK is disabled and Qt hands the focus on to the next button, Cancel;
left there after the error, the next Enter would close the dialog and throw away what was
typed. The focus goes to the field the error names, else back into the form.
"""

import datetime as dt

from PySide6.QtWidgets import QComboBox, QDialogButtonBox

from mdt_desk.errors import UserError, ValidationError
from mdt_desk.ui.case_record.dialogs import ExperienceSurveyDialog
from tests.ui.finders import child


def _on_cancel(qtbot) -> ExperienceSurveyDialog:
    dialog = ExperienceSurveyDialog(dt.date(2026, 12, 6))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    cancel.setFocus()  # where Qt puts it while OK is disabled during the save
    assert dialog.focusWidget() is cancel
    return dialog


def test_a_refused_save_takes_the_focus_to_the_field_it_names(qtbot) -> None:
    dialog = _on_cancel(qtbot)
    dialog.show_error(ValidationError("Not so", {"answered_on": "Not in the future."}))
    focus = dialog.focusWidget()
    assert focus is dialog.answered_on_edit or dialog.answered_on_edit.isAncestorOf(focus)


def test_a_refused_save_naming_no_field_takes_the_focus_back_into_the_form(qtbot) -> None:
    dialog = _on_cancel(qtbot)
    dialog.show_error(UserError("Choose an answer for at least one statement."))
    first = child(dialog, QComboBox, "survey_communicated_with_me_combo")
    assert dialog.focusWidget() is first
    assert dialog.focusWidget() not in dialog.buttons.buttons()
