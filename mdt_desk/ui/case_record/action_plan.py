"""The action plan of a case: what will be done, by whom, by when.

An inline-editable table (description, owner, due date, status, linked goal) with a
filter (open actions / all) and, under it, a form to add an action with the keyboard
alone: type what will be done, Tab to the owner and due date, press Enter (or Alt+C
anywhere in the plan).

Every change — an edit in a cell, "Mark done", an added action — is saved through the
task runner and then pushed on the record's undo stack (see :mod:`action_undo`), so
Ctrl+Z / Ctrl+Shift+Z undo and redo it in the store, attributed to the signed-in staff
member. An overdue action says "Overdue" next to its due date (and is tinted, with an
icon), never by colour alone. A sensitive action (safeguarding, risk to staff: never on
the person's own copy) says "Sensitive" before its text, with a padlock; it is set when
the action is added, and "Mark sensitive" (or the table's context menu) changes it.

A reload (after a change made elsewhere: a sync, meeting mode, another screen) resets
the table, which would close an open cell editor and lose what was typed in it (hazard
H77). While an editor is open the fetched plan is therefore held back; the plan is
fetched again as soon as the editor closes, after the edit itself has been saved.
"""

import datetime as dt
import uuid

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from mdt_desk.errors import UserError
from mdt_desk.models.enums import ActionStatus
from mdt_desk.services import drafts, plans
from mdt_desk.services.dates import DateInputError
from mdt_desk.services.display import label
from mdt_desk.services.plans import ActionPlanRow, ActionPlanView, OwnerChoice
from mdt_desk.ui.case_record.action_undo import (
    ActionCommandContext,
    add_command,
    edit_command,
    edit_write,
)
from mdt_desk.ui.drafts import DraftKeeper, DraftNotice
from mdt_desk.ui.itemmodels.action_plan_delegates import (
    Choice,
    ChoiceDelegate,
    DueDateDelegate,
    TextDelegate,
    combo_index_of,
    fill_combo,
)
from mdt_desk.ui.itemmodels.action_plan_table_model import ActionColumn, ActionPlanTableModel
from mdt_desk.ui.runner import TaskRunner
from mdt_desk.ui.widgets import CuiDateEdit, ErrorLabel, FieldErrors

#: A new action is due in a week unless the user says otherwise.
DEFAULT_DUE_IN = dt.timedelta(days=7)


def owner_choices(owners: tuple[OwnerChoice, ...]) -> list[Choice]:
    """The coordinator and care team first, then (after a separator) everyone else."""
    choices: list[Choice] = []
    in_team_before = True
    for owner in owners:
        role = " (coordinator)" if owner.is_coordinator else " (care team)" if owner.in_team else ""
        choices.append(
            Choice(
                f"{owner.name} — {owner.profession_text}{role}",
                owner.id,
                separator_before=in_team_before and not owner.in_team,
            )
        )
        if not owner.in_team:
            in_team_before = False
    return choices


class AddActionForm(QWidget):
    """The row of fields under the table; Enter anywhere in it adds the action.

    Signals:
        submitted(): Enter (or Return) was pressed in one of the fields.
    """

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # The fields pass Enter up (line edits, closed combos and date fields ignore it).
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ActionPlanTableView(QTableView):
    """The plan's table, which says when a cell editor closes.

    Signals:
        editor_closed(): a cell editor closed, its value committed or not.
    """

    editor_closed = Signal()

    def closeEditor(self, editor: QWidget, hint: QAbstractItemDelegate.EndEditHint) -> None:
        super().closeEditor(editor, hint)
        self.editor_closed.emit()

    def is_editing(self) -> bool:
        """A cell editor is open."""
        return self.state() == QAbstractItemView.State.EditingState


class ActionPlanWidget(QWidget):
    """The case's action plan.

    Signals:
        plan_changed(object): an action was added or changed; carries the case id.
        plan_loaded(): the plan was fetched and is on screen.
        typing_kept(): a plan fetched while a cell was being edited differed from the
            one shown; it was held back so the edit is not lost, and follows it.
    """

    plan_changed = Signal(object)
    plan_loaded = Signal()
    typing_kept = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        case_id: uuid.UUID,
        undo_stack: QUndoStack,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.case_id = case_id
        self.undo_stack = undo_stack
        self.view: ActionPlanView | None = None
        self._generation = 0
        self._fetch_held = False  # a fetched plan waits for the open cell editor to close
        # An owner put back from a draft before the owners were fetched: chosen then.
        self._owner_wanted: uuid.UUID | None = None
        self.setAccessibleName(self.tr("Action plan section"))
        self.model = ActionPlanTableModel(self)
        self.table = self._build_table()
        self._build_top_row()
        self.add_form = self._build_add_form()
        self._lay_out()
        self._set_editable(False)
        self.reload()
        # A half-typed new action is kept as a draft, and comes back here.
        self.description_draft = DraftKeeper(
            runner,
            self.new_description,
            drafts.draft_key(drafts.ACTION, str(case_id)),
            case_id,
            self.draft_notice,
        )
        # Its Sensitive tick, owner and due date are kept and come back with it (H97).
        self.description_draft.keep_check_box("sensitive", self.new_sensitive)
        self.description_draft.keep_also(
            "owner", self.new_owner.activated, self._owner_text, self._set_owner_text
        )
        self.description_draft.keep_also(
            "due", self.new_due.line_edit.textChanged, self.new_due.text, self._set_due_text
        )
        self.description_draft.restore()

    def _build_table(self) -> ActionPlanTableView:
        self.model.edit_requested.connect(self._on_model_edit_requested)
        self.table = ActionPlanTableView(self)
        self.table.editor_closed.connect(self._on_table_editor_closed)
        self.table.setObjectName("action_plan_table")
        self.table.setAccessibleName("Action plan")
        self.table.setAccessibleDescription(
            self.tr(
                "Press F2 to change the selected cell; Ctrl+Z undoes a change. "
                "Overdue actions say Overdue next to the due date. Sensitive actions say "
                "Sensitive before what will be done; the menu key marks one sensitive or not."
            )
        )
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ActionColumn.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(ActionColumn.OWNER, 200)
        header.resizeSection(ActionColumn.DUE, 170)
        header.resizeSection(ActionColumn.STATUS, 140)
        header.resizeSection(ActionColumn.GOAL, 200)
        self.owner_delegate = ChoiceDelegate(self.tr("Owner"), self)
        self.status_delegate = ChoiceDelegate(self.tr("Status"), self)
        self.status_delegate.set_choices(
            [Choice(self.tr(label(status)), status) for status in ActionStatus]
        )
        self.goal_delegate = ChoiceDelegate(self.tr("Linked goal"), self)
        self.due_delegate = DueDateDelegate(self)
        self.due_delegate.date_refused.connect(self._on_due_delegate_date_refused)
        self.description_delegate = TextDelegate(self.tr("What will be done"), self)
        self.table.setItemDelegateForColumn(ActionColumn.DESCRIPTION, self.description_delegate)
        self.table.setItemDelegateForColumn(ActionColumn.OWNER, self.owner_delegate)
        self.table.setItemDelegateForColumn(ActionColumn.DUE, self.due_delegate)
        self.table.setItemDelegateForColumn(ActionColumn.STATUS, self.status_delegate)
        self.table.setItemDelegateForColumn(ActionColumn.GOAL, self.goal_delegate)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        return self.table

    def _build_top_row(self) -> None:
        self.filter_combo = QComboBox(self)
        self.filter_combo.setObjectName("action_filter")
        self.filter_combo.setAccessibleName(self.tr("Show actions"))
        self.filter_combo.addItem(self.tr("Open actions"), False)
        self.filter_combo.addItem(self.tr("All actions (with done and cancelled)"), True)
        self.filter_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.filter_label = QLabel(self.tr("Sho&w"), self)
        self.filter_label.setBuddy(self.filter_combo)
        self.mark_done_button = QPushButton(self.tr("Mar&k done"), self)
        self.mark_done_button.setObjectName("mark_action_done_button")
        self.mark_done_button.setAccessibleName(self.tr("Mark the selected action done"))
        self.mark_done_button.clicked.connect(self.mark_selected_done)
        # Need-to-know: a sensitive action never reaches the person's own copy.
        self.mark_sensitive_button = QPushButton(self.tr("Mark sensitive"), self)
        self.mark_sensitive_button.setObjectName("mark_action_sensitive_button")
        self.mark_sensitive_button.setAccessibleName(self.tr("Mark the selected action sensitive"))
        self.mark_sensitive_button.setToolTip(
            self.tr("A sensitive action is never on the person's copy of the care plan.")
        )
        self.mark_sensitive_button.clicked.connect(self.toggle_selected_sensitive)
        self.sensitive_menu_action = QAction(self.tr("Mark sensitive"), self.table)
        self.sensitive_menu_action.triggered.connect(self.toggle_selected_sensitive)
        self.table.addAction(self.sensitive_menu_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.error_label = ErrorLabel(self)
        self.closed_label = QLabel(
            self.tr("The case is closed: reopen it to change its action plan."), self
        )
        self.closed_label.hide()

    def _build_add_form(self) -> AddActionForm:
        self.add_form = AddActionForm(self)
        self.add_form.setAccessibleName(self.tr("Add an action"))
        self.add_form.submitted.connect(self.add_action)
        self.new_description = QLineEdit(self.add_form)
        self.new_description.setObjectName("new_action_description")
        self.new_description.setAccessibleName(self.tr("New action: what will be done"))
        self.new_description.setPlaceholderText(self.tr("What will be done"))
        self.new_owner = QComboBox(self.add_form)
        self.new_owner.setObjectName("new_action_owner")
        self.new_owner.setAccessibleName(self.tr("New action: owner"))
        self.new_due = CuiDateEdit(dt.date.today() + DEFAULT_DUE_IN, self.add_form)
        self.new_due.setObjectName("new_action_due")
        self.new_due.setAccessibleName(self.tr("New action: due date"))
        self.new_goal = QComboBox(self.add_form)
        self.new_goal.setObjectName("new_action_goal")
        self.new_goal.setAccessibleName(self.tr("New action: linked goal"))
        self.new_sensitive = QCheckBox(self.tr("Sensitive"), self.add_form)
        self.new_sensitive.setObjectName("new_action_sensitive")
        self.new_sensitive.setAccessibleName(self.tr("New action: sensitive"))
        self.new_sensitive.setToolTip(
            self.tr(
                "Safeguarding, risk to staff: never on the person's copy, hidden in meeting "
                "mode until revealed."
            )
        )
        self.add_button = QPushButton(self.tr("Add action"), self.add_form)
        self.add_button.setObjectName("add_action_button")
        self.add_button.setAccessibleName(self.tr("Add action"))
        hint = self.tr("Alt+C, or Enter in any field of the new action, adds it.")
        self.add_button.setToolTip(hint)
        self.add_button.setAccessibleDescription(hint)
        self.add_button.clicked.connect(self.add_action)
        # A shortcut rather than a mnemonic: it works wherever the focus is in the plan.
        self.add_shortcut = QShortcut(QKeySequence("Alt+C"), self)
        self.add_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.add_shortcut.activated.connect(self.add_action)
        self.field_errors = FieldErrors()
        grid = QGridLayout(self.add_form)
        grid.setContentsMargins(0, 0, 0, 0)
        fields = (
            (self.tr("New action: descri&ption"), self.new_description, "description"),
            (self.tr("Owne&r"), self.new_owner, "owner"),
            (self.tr("Due &by"), self.new_due, "due_on"),
            (self.tr("Goa&l"), self.new_goal, "goal"),
        )
        for column, (caption, widget, field) in enumerate(fields):
            caption_label = QLabel(caption, self.add_form)
            caption_label.setBuddy(widget)
            grid.addWidget(caption_label, 0, column)
            grid.addWidget(widget, 1, column)
            grid.addWidget(self.field_errors.label_for(field), 2, column)
        grid.addWidget(self.new_sensitive, 1, len(fields))
        grid.addWidget(self.add_button, 1, len(fields) + 1)
        grid.addWidget(self.field_errors.summary, 3, 0, 1, len(fields) + 1)
        self.draft_notice = DraftNotice(self.add_form)
        grid.addWidget(self.draft_notice, 4, 0, 1, len(fields) + 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(3, 2)
        # A record restored at start-up fills these pickers before it is first shown;
        # sized to their longest entry they squeezed the due date to "-Dec-2026". They
        # share the spare room instead (the due date keeps a whole date's width).
        for combo in (self.new_owner, self.new_goal):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(12)
        return self.add_form

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.filter_label)
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        top.addWidget(self.mark_sensitive_button)
        top.addWidget(self.mark_done_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(self.closed_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.add_form)
        self.setTabOrder(self.filter_combo, self.mark_sensitive_button)
        self.setTabOrder(self.mark_sensitive_button, self.mark_done_button)
        self.setTabOrder(self.mark_done_button, self.table)
        self.setTabOrder(self.table, self.new_description)
        self.setTabOrder(self.new_description, self.new_owner)
        self.setTabOrder(self.new_owner, self.new_due)
        self.setTabOrder(self.new_due, self.new_goal)
        self.setTabOrder(self.new_goal, self.new_sensitive)
        self.setTabOrder(self.new_sensitive, self.add_button)

    # -- public ------------------------------------------------------------------------

    @property
    def include_closed(self) -> bool:
        return bool(self.filter_combo.currentData())

    def reload(self) -> None:
        """Fetch the actions again."""
        self._generation += 1
        generation = self._generation
        case_id, include_closed = self.case_id, self.include_closed

        self.runner.read(
            lambda session: plans.action_plan_view(session, case_id, include_closed=include_closed),
            lambda view: self._on_plan_fetched(generation, view),
            self._on_failed,
            owner=self,
            description="load action plan",
        )

    def selected_action(self) -> ActionPlanRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select_action(self, action_id: uuid.UUID) -> None:
        row = self.model.row_of(action_id)
        if row >= 0:
            self.table.selectRow(row)

    @Slot()
    def add_action(self) -> None:
        """Add the action in the form (saved, then undoable)."""
        if not self.add_form.isEnabled():
            return
        case_id = self.case_id
        description = self.new_description.text()
        owner_id = self.new_owner.currentData()
        try:
            due_on = self.new_due.date_value()
        except DateInputError:
            # the field says why under itself; nothing is added until it reads as a date
            self.new_due.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        goal_id = self.new_goal.currentData()
        sensitive = self.new_sensitive.isChecked()

        def call(session: Session) -> ActionPlanRow:
            added = plans.add_action(
                session,
                case_id,
                description=description,
                owner_id=owner_id,
                due_on=due_on,
                goal_id=goal_id,
                sensitive=sensitive,
            )
            return plans.get_action_row(session, added.id)

        self.add_button.setEnabled(False)
        self.runner.write(
            call,
            self._on_action_added,
            self._on_add_failed,
            owner=self,
            description="add action",
        )

    @Slot()
    def mark_selected_done(self) -> None:
        action = self.selected_action()
        if action is not None and action.status is not ActionStatus.DONE:
            self.request_edit(action.id, "status", ActionStatus.DONE)

    @Slot()
    def toggle_selected_sensitive(self) -> None:
        """Mark the selected action sensitive, or no longer sensitive (undoable)."""
        action = self.selected_action()
        if action is not None and self.add_form.isEnabled():
            self.request_edit(action.id, "sensitive", not action.sensitive)

    def request_edit(self, action_id: uuid.UUID, field: str, value: object) -> None:
        """Save one field of an action; once saved, the change goes on the undo stack."""
        shown = self.model.row_at(self.model.row_of(action_id))
        if shown is None or shown.restricted:
            return  # need-to-know: a restricted action is not this reader's to change
        write = edit_write(action_id, field, value)

        def call(session: Session) -> tuple[ActionPlanRow, ActionPlanRow]:
            # Undo restores the row as stored just before this edit: the table may have
            # shown an older one while a reload was held for the open editor.
            before = plans.get_action_row(session, action_id)
            return before, write(session)

        self.error_label.show_message("")
        self.runner.write(
            call,
            lambda saved: self._on_edit_saved(*saved, field),
            self._on_edit_failed,
            owner=self,
            description=f"change action {field}",
        )

    # -- the new action's draft ---------------------------------------------------------

    def _owner_text(self) -> str:
        owner = self.new_owner.currentData()
        return str(owner) if owner is not None else ""

    def _set_owner_text(self, text: str) -> None:
        try:
            owner = uuid.UUID(text) if text else None
        except ValueError:
            owner = None
        index = combo_index_of(self.new_owner, owner)
        self._owner_wanted = owner if index < 0 else None
        self.new_owner.setCurrentIndex(max(index, 0))

    def _set_due_text(self, text: str) -> None:
        if text:
            self.new_due.set_text(text)  # as typed: read when the action is added
        else:
            self.new_due.set_date(dt.date.today() + DEFAULT_DUE_IN)

    # -- results -----------------------------------------------------------------------

    def _on_plan_fetched(self, generation: int, view: ActionPlanView) -> None:
        if generation != self._generation:
            return  # a newer fetch is on its way
        if self.table.is_editing():
            # Resetting the model now would close the editor and lose what is typed in
            # it; the plan is fetched again once the editor closes.
            self._fetch_held = True
            if view.rows != tuple(self.model.rows()):
                self.typing_kept.emit()
            return
        self._fetch_held = False
        selected = self.selected_action()
        self.view = view
        self.model.set_rows(
            view.rows,
            today=view.today,
            editable=view.case_open,
            include_closed=self.include_closed,
        )
        owners = owner_choices(view.owners)
        goals = [Choice(self.tr("No goal"), None)] + [
            Choice(goal.text, goal.id) for goal in view.goals
        ]
        self.owner_delegate.set_choices(owners)
        self.goal_delegate.set_choices(goals)
        chosen_owner = self._owner_wanted or self.new_owner.currentData()
        self._owner_wanted = None
        fill_combo(self.new_owner, [Choice(self.tr("Choose who will do it"), None), *owners])
        self.new_owner.setCurrentIndex(max(combo_index_of(self.new_owner, chosen_owner), 0))
        chosen_goal = self.new_goal.currentData()
        fill_combo(self.new_goal, goals)
        self.new_goal.setCurrentIndex(max(combo_index_of(self.new_goal, chosen_goal), 0))
        self._set_editable(view.case_open)
        if selected is not None:
            self.select_action(selected.id)
        self._on_selection_changed()
        self.plan_loaded.emit()

    def _on_action_added(self, added: ActionPlanRow) -> None:
        self.add_button.setEnabled(True)
        self.field_errors.clear()
        self.error_label.show_message("")
        self.model.apply_row(added)
        self.undo_stack.push(add_command(self._command_context(), added))
        self.select_action(added.id)
        self.new_description.clear()
        self.description_draft.discard()
        self.new_goal.setCurrentIndex(0)
        self.new_sensitive.setChecked(False)
        self.new_description.setFocus(Qt.FocusReason.OtherFocusReason)
        self.plan_changed.emit(self.case_id)

    @Slot(str)
    def _on_due_delegate_date_refused(self, message: str) -> None:
        self.error_label.show_message(
            self.tr("The due date was not changed. {reason}").format(reason=message)
        )

    def _on_add_failed(self, error: UserError) -> None:
        # Everything typed stays in the fields; the messages appear beside them.
        self.add_button.setEnabled(True)
        self.field_errors.show(error)

    def _on_edit_saved(self, before: ActionPlanRow, after: ActionPlanRow, field: str) -> None:
        self.model.apply_row(after)
        self.undo_stack.push(edit_command(self._command_context(), before, after, field))
        self._on_selection_changed()
        self.plan_changed.emit(self.case_id)

    def _on_edit_failed(self, error: UserError) -> None:
        self.error_label.show_message(str(error))

    def _on_command_saved(self, row: ActionPlanRow) -> None:
        self.error_label.show_message("")
        self.model.apply_row(row)
        self._on_selection_changed()
        self.plan_changed.emit(self.case_id)

    def _on_command_failed(self, error: UserError) -> None:
        self.error_label.show_message(str(error))
        self.reload()  # show what is really stored

    def _on_failed(self, error: UserError) -> None:
        self.error_label.show_message(str(error))

    # -- helpers -----------------------------------------------------------------------

    def _command_context(self) -> ActionCommandContext:
        return ActionCommandContext(
            self.runner, self, self._on_command_saved, self._on_command_failed
        )

    def _set_editable(self, editable: bool) -> None:
        self.add_form.setEnabled(editable)
        self.closed_label.setVisible(self.view is not None and not editable)
        self._on_selection_changed()

    # -- slots -------------------------------------------------------------------------

    @Slot(object, str, object)
    def _on_model_edit_requested(self, action_id: uuid.UUID, field: str, value: object) -> None:
        self.request_edit(action_id, field, value)

    @Slot()
    def _on_table_editor_closed(self) -> None:
        if self._fetch_held and not self.table.is_editing():
            # Queued after the write of the edit just committed, so it shows both.
            self._fetch_held = False
            self.reload()

    @Slot()
    def _on_filter_changed(self) -> None:
        self.reload()

    @Slot()
    def _on_selection_changed(self) -> None:
        action = self.selected_action()
        if action is not None and action.restricted:
            action = None  # need-to-know: a restricted action is not this reader's to change
        self.mark_done_button.setEnabled(
            self.add_form.isEnabled() and action is not None and not action.is_closed
        )
        can_mark = self.add_form.isEnabled() and action is not None
        marked = action is not None and action.sensitive
        text = self.tr("Mark not sensitive") if marked else self.tr("Mark sensitive")
        self.mark_sensitive_button.setText(text)
        self.mark_sensitive_button.setAccessibleName(
            self.tr("Mark the selected action not sensitive")
            if marked
            else self.tr("Mark the selected action sensitive")
        )
        self.mark_sensitive_button.setEnabled(can_mark)
        self.sensitive_menu_action.setText(text)
        self.sensitive_menu_action.setEnabled(can_mark)
