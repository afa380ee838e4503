"""Settings → Team hub → Practices this desk holds: a desk's scope, in words, and an
administrator's way to change it.

A desk holds the people of its practices (``sync/desk_scope.py``): by default those its
signed-in staff cover; an administrator can name more, or make it hold every practice
on the hub. The scope is read, and changed, by the sync controller's worker, never on
the GUI thread; a change is checked against the hub there (an unknown practice, records
that would leave with changes not yet sent, a hub that does not answer are refused in
words, shown here and said to a screen reader), then a sync takes in the new practices'
records or removes those that left. Whoever may not change the hub settings sees the
scope with its controls disabled, each saying why (``role_screens``).
"""

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mdt_desk.services.access import Permission, Principal, refusal
from mdt_desk.sync.desk_scope import DeskScope
from mdt_desk.ui.sync.controller import ScopeAnswer, ScopePractice, SyncController
from mdt_desk.ui.widgets import ErrorLabel, announce

#: With more practices than this, a filter box above the list narrows it.
FILTER_FROM = 8

_ID_ROLE = Qt.ItemDataRole.UserRole
_CODE_ROLE = Qt.ItemDataRole.UserRole + 1


def _named(codes: list[str], names: dict[str, str]) -> str:
    shown = [f"{code} ({names[code]})" if code in names else code for code in codes]
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _same(one: DeskScope, other: DeskScope) -> bool:
    if one.all_practices or other.all_practices:
        return one.all_practices == other.all_practices
    return sorted(one.codes) == sorted(other.codes) and one.follow_staff == other.follow_staff


def scope_in_words(scope: DeskScope, practices: tuple[ScopePractice, ...]) -> str:
    """What the desk holds, as a sentence naming its practices."""
    if scope.all_practices:
        return "This desk holds the records of every practice on the team hub."
    names = {practice.ods_code: practice.name for practice in practices}
    named = _named(sorted(scope.codes), names)
    if scope.follow_staff and named:
        return (
            f"This desk holds the records of {named}, and of the practices its "
            "signed-in staff cover."
        )
    if scope.follow_staff:
        return "This desk holds the records of the practices its signed-in staff cover."
    if named:
        return f"This desk holds the records of {named}."
    return "This desk holds no practice's records: only the staff and practices."


def held_in_words(held: frozenset[str] | None, practices: tuple[ScopePractice, ...]) -> str:
    """The practices it has taken in whole so far ("" when not scoped yet or all)."""
    if held is None:
        return ""
    codes = sorted(practice.ods_code for practice in practices if practice.id in held)
    if not codes:
        return "It holds no practice's people yet."
    practices_word = "practice" if len(codes) == 1 else "practices"
    return f"It holds the people of {len(codes)} {practices_word} now: {', '.join(codes)}."


class DeskScopePanel(QGroupBox):
    """The practices this desk holds, and (for an administrator) a way to change them.

    Args:
        controller: reads and changes the scope on its worker thread, then syncs.
        hub: gives the hub to check a change against, as ``(address, password)``, or
            None after saying what is wrong (the Team hub dialog's address box).
        principal: who is signed in (None: set-up); the worker checks they may.

    Signals:
        scope_changed(): the hub accepted a change; a sync has been asked for.
        words_changed(): its sentences changed (the dialog grows to show every line).
    """

    scope_changed = Signal()
    words_changed = Signal()

    def __init__(
        self,
        controller: SyncController,
        hub: Callable[[], tuple[str, str | None] | None],
        principal: Principal | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("desk_scope_panel")
        self.setTitle(self.tr("Practices this desk holds"))
        self._controller = controller
        self._hub = hub
        self._principal = principal
        self._read_id = 0
        self._change_id = 0
        self._practices: tuple[ScopePractice, ...] = ()
        self._scope: DeskScope | None = None
        # The house rule (role_screens): a control this role may not use is disabled and
        # says why; the worker refuses such a change too.
        may = principal is None or principal.may(Permission.HUB_SETTINGS)
        self._why_not = (
            "" if may or principal is None else refusal(principal.roles, Permission.HUB_SETTINGS)
        )

        self.summary_label = QLabel(self.tr("Reading this desk's practices…"))
        self.summary_label.setObjectName("desk_scope_summary")
        self.summary_label.setAccessibleName(self.tr("Practices this desk holds"))
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.held_label = QLabel()
        self.held_label.setObjectName("desk_scope_held")
        self.held_label.setTextFormat(Qt.TextFormat.PlainText)
        self.held_label.setWordWrap(True)
        self.held_label.hide()

        self.all_check = QCheckBox(self.tr("A&ll practices on the team hub"))
        self.all_check.setObjectName("desk_scope_all")
        self.all_check.setAccessibleName(self.tr("All practices"))
        self.all_check.setAccessibleDescription(
            self.tr("Hold every practice's records (a full desk)")
        )
        self.all_check.toggled.connect(self._on_all_check_toggled)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("desk_scope_filter")
        self.filter_edit.setAccessibleName(self.tr("Filter practices"))
        self.filter_edit.setAccessibleDescription(
            self.tr("Shows only the practices whose code or name has these letters")
        )
        self.filter_edit.setPlaceholderText(self.tr("Filter by code or name"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        self.filter_edit.hide()

        self.practice_list = QListWidget()
        self.practice_list.setObjectName("desk_scope_practices")
        self.practice_list.setAccessibleName(self.tr("Practices to hold"))
        self.practice_list.setAccessibleDescription(
            self.tr("Check each practice whose people this desk should hold")
        )
        self.practice_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.practice_list.setMinimumHeight(180)
        self.practice_list.itemChanged.connect(self._on_practice_list_item_changed)

        self.staff_check = QCheckBox(self.tr("Also the practices of staff who sign &in here"))
        self.staff_check.setObjectName("desk_scope_follow_staff")
        self.staff_check.setAccessibleName(self.tr("Also the practices of staff who sign in here"))
        self.staff_check.toggled.connect(self._on_choice_changed)

        self.apply_button = QPushButton(self.tr("Appl&y practices"))
        self.apply_button.setObjectName("desk_scope_apply_button")
        self.apply_button.setAccessibleName(self.tr("Apply practices"))
        self.apply_button.setAccessibleDescription(
            self.tr("Checks the change with the team hub, then syncs")
        )
        self.apply_button.setAutoDefault(False)
        self.apply_button.clicked.connect(self.apply)
        self.result_label = QLabel()
        self.result_label.setObjectName("desk_scope_result")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setWordWrap(True)
        self.result_label.hide()
        self.error_label = ErrorLabel()
        self.error_label.setObjectName("desk_scope_error")
        apply_row = QHBoxLayout()
        apply_row.addWidget(self.apply_button)
        apply_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.held_label)
        layout.addWidget(self.all_check)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.practice_list, 1)
        layout.addWidget(self.staff_check)
        layout.addLayout(apply_row)
        layout.addWidget(self.result_label)
        layout.addWidget(self.error_label)

        self._editors: tuple[QWidget, ...] = (
            self.all_check,
            self.filter_edit,
            self.practice_list,
            self.staff_check,
            self.apply_button,
        )
        for editor in self._editors:
            editor.setEnabled(False)  # until the scope is read
            if self._why_not:
                editor.setToolTip(self._why_not)
        controller.scope_answered.connect(self._on_controller_scope_answered)
        controller.synced.connect(self._on_controller_synced)
        self.refresh()

    # -- reading -----------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Read the desk's scope and practices again, off the GUI thread."""
        self._read_id = self._controller.read_scope()

    @Slot(object)
    def _on_controller_synced(self, _report: object) -> None:
        self.refresh()  # what the desk holds now

    @Slot(object)
    def _on_controller_scope_answered(self, answer: ScopeAnswer) -> None:
        if answer.request_id == self._change_id:
            self._changed(answer)
        elif answer.request_id == self._read_id:
            self._read(answer)

    def _read(self, answer: ScopeAnswer) -> None:
        if answer.scope is None:
            self.summary_label.setText(answer.message)
        else:
            self._show(answer)
            if not self._change_id:
                self._fill(answer.scope, answer.practices)
                self._enable()
        self.words_changed.emit()

    def _show(self, answer: ScopeAnswer) -> None:
        assert answer.scope is not None
        self._scope = answer.scope
        self._practices = answer.practices
        self.summary_label.setText(self.tr(scope_in_words(answer.scope, answer.practices)))
        held = "" if answer.scope.all_practices else held_in_words(answer.held, answer.practices)
        self.held_label.setText(self.tr(held))
        self.held_label.setVisible(bool(held))

    def _fill(self, scope: DeskScope, practices: tuple[ScopePractice, ...]) -> None:
        self.practice_list.blockSignals(True)
        self.practice_list.clear()
        chosen = set(scope.codes)
        for practice in practices:
            item = QListWidgetItem(f"{practice.ods_code}  {practice.name}")
            item.setData(_ID_ROLE, practice.id)
            item.setData(_CODE_ROLE, practice.ods_code)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            item.setCheckState(
                Qt.CheckState.Checked
                if scope.all_practices or practice.ods_code in chosen
                else Qt.CheckState.Unchecked
            )
            self.practice_list.addItem(item)
        self.practice_list.blockSignals(False)
        self.all_check.blockSignals(True)
        self.all_check.setChecked(scope.all_practices)
        self.all_check.blockSignals(False)
        self.staff_check.blockSignals(True)
        self.staff_check.setChecked(scope.follow_staff or scope.all_practices)
        self.staff_check.blockSignals(False)
        self.filter_edit.setVisible(len(practices) > FILTER_FROM)
        self._on_filter_edit_text_changed(self.filter_edit.text())

    # -- choosing ----------------------------------------------------------------------

    def chosen(self) -> DeskScope:
        """The scope as the controls now say."""
        if self.all_check.isChecked():
            return DeskScope(all_practices=True)
        codes = [
            str(item.data(_CODE_ROLE))
            for item in (self.practice_list.item(row) for row in range(self.practice_list.count()))
            if item.checkState() == Qt.CheckState.Checked
        ]
        return DeskScope(codes=tuple(codes), follow_staff=self.staff_check.isChecked())

    def check_practice(self, code: str, checked: bool = True) -> None:
        """Check (or uncheck) the practice with ODS ``code`` in the list."""
        for row in range(self.practice_list.count()):
            item = self.practice_list.item(row)
            if item.data(_CODE_ROLE) == code:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return
        raise KeyError(code)

    def _enable(self) -> None:
        busy = bool(self._change_id)
        known = self._scope is not None and not self._why_not
        whole = self.all_check.isChecked()
        self.all_check.setEnabled(known and not busy)
        for widget in (self.filter_edit, self.practice_list, self.staff_check):
            widget.setEnabled(known and not busy and not whole)
        self.apply_button.setEnabled(
            known and not busy and self._scope is not None and not _same(self.chosen(), self._scope)
        )

    @Slot(bool)
    def _on_all_check_toggled(self, _checked: bool) -> None:
        self._on_choice_changed()

    @Slot(QListWidgetItem)
    def _on_practice_list_item_changed(self, _item: QListWidgetItem) -> None:
        self._on_choice_changed()

    @Slot()
    def _on_choice_changed(self) -> None:
        self.error_label.show_message("")
        self._enable()

    @Slot(str)
    def _on_filter_edit_text_changed(self, text: str) -> None:
        wanted = text.strip().casefold()
        for row in range(self.practice_list.count()):
            item = self.practice_list.item(row)
            item.setHidden(bool(wanted) and wanted not in item.text().casefold())

    # -- changing ----------------------------------------------------------------------

    @Slot()
    def apply(self) -> int:
        """Check the chosen practices with the hub (off the GUI thread); then sync."""
        if not self.apply_button.isEnabled():
            return 0  # nothing changed, busy, or a role that may not (role_screens)
        hub = self._hub()
        if hub is None:
            self._refused(
                self.tr("Give the team hub's address first: the change is checked there.")
            )
            return 0
        address, password = hub
        scope = self.chosen()
        if not scope.all_practices and not scope.codes and not scope.follow_staff:
            self._refused(
                self.tr(
                    "Choose at least one practice, or the practices of staff who sign in "
                    "here: a desk holding no practice has no one's records."
                )
            )
            return 0
        self.error_label.show_message("")
        self.result_label.setText(self.tr("Checking the change with the team hub…"))
        self.result_label.show()
        self.words_changed.emit()
        self._change_id = self._controller.change_scope(address, password, scope, self._principal)
        self._enable()
        return self._change_id

    def _refused(self, message: str) -> None:
        self.result_label.hide()
        self.error_label.show_message(message)
        announce(self.error_label, self.tr("Error: {message}").format(message=message))
        self.words_changed.emit()

    def _changed(self, answer: ScopeAnswer) -> None:
        self._change_id = 0
        if answer.scope is None:
            self._refused(answer.message)
            self._enable()
            return
        self._show(answer)
        self._fill(answer.scope, answer.practices)
        self._enable()
        message = self.tr(
            "Changed. {summary} Syncing now: the records of practices it now holds "
            "arrive, and those it no longer holds are removed."
        ).format(summary=scope_in_words(answer.scope, answer.practices))
        self.result_label.setText(message)
        self.result_label.show()
        self.words_changed.emit()
        announce(self.result_label, message)
        self._controller.sync_now()
        self.scope_changed.emit()
