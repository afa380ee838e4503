"""The screens follow the signed-in person's roles: what a role cannot do is disabled.

The services refuse a call the role does not allow (``services/access.py``); this module
makes the screens say so before anyone tries. Which control needs which permission is
declared here and nowhere else: :data:`WIDGET_PERMISSIONS` names the widgets by object
name (the case record's, the Meetings tab's, the review list's) and
:data:`ACTION_PERMISSIONS` the main window's menu actions by attribute name.

A control is *disabled* (never silently removed), with a tool tip saying which role
does not allow it, so a person can see what exists and whom to ask. The case record and
the Meetings tab enable and disable their own buttons as their data changes (a closed
case, no row chosen); :class:`RoleGate` watches those changes and keeps a refused
control disabled whatever they say. A desk without a signed-in person's roles (initial
set-up, ``desk.principal`` None) allows everything, as the services do.
"""

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, SignalInstance
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from mdt_desk.services.access import Permission, Principal, refusal

if TYPE_CHECKING:
    from mdt_desk.ui.runner import TaskRunner

P = Permission

#: Widgets, by object name: each needs any one of its permissions.
WIDGET_PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    # the case record
    "refer_button": (P.REFER,),
    "accept_case_button": (P.REFER,),
    "start_review_button": (P.EDIT_PLAN,),
    "finish_review_button": (P.EDIT_PLAN,),
    "close_case_button": (P.CLOSE_CASE,),
    "reopen_case_button": (P.CLOSE_CASE,),
    "escalate_check": (P.EDIT_PLAN,),
    "next_review_edit": (P.EDIT_PLAN,),
    "record_outcome_event_button": (P.EDIT_PLAN,),
    "record_discharge_button": (P.EDIT_PLAN,),
    "record_survey_button": (P.EDIT_PLAN,),
    "withdraw_survey_answer_button": (P.EDIT_PLAN,),
    "add_intervention_button": (P.EDIT_PLAN,),
    "end_intervention_button": (P.EDIT_PLAN,),
    "change_coordinator_button": (P.EDIT_PLAN,),
    "add_care_team_member_button": (P.EDIT_PLAN,),
    "remove_care_team_member_button": (P.EDIT_PLAN,),
    "add_goal_button": (P.EDIT_PLAN,),
    "note_editor": (P.ADD_NOTE,),
    "add_note_button": (P.ADD_NOTE,),
    "amend_note_button": (P.ADD_NOTE,),
    "mark_note_sensitive_button": (P.EDIT_PLAN,),
    "new_action_description": (P.ADD_ACTION,),
    "new_action_owner": (P.ADD_ACTION,),
    "new_action_due": (P.ADD_ACTION,),
    "new_action_goal": (P.ADD_ACTION,),
    "new_action_sensitive": (P.ADD_ACTION,),
    "add_action_button": (P.ADD_ACTION,),
    "mark_action_done_button": (P.UPDATE_OWN_ACTION, P.UPDATE_ANY_ACTION),
    "mark_action_sensitive_button": (P.EDIT_PLAN,),
    # the Meetings tab
    "schedule_meeting_button": (P.SCHEDULE_MEETINGS,),
    "cancel_meeting_button": (P.SCHEDULE_MEETINGS,),
    "start_meeting_button": (P.RUN_MEETING,),
    "accept_proposal_button": (P.BUILD_AGENDA,),
    "accept_all_button": (P.BUILD_AGENDA,),
    "dismiss_proposal_button": (P.BUILD_AGENDA,),
    "move_up_button": (P.BUILD_AGENDA,),
    "move_down_button": (P.BUILD_AGENDA,),
    "remove_item_button": (P.BUILD_AGENDA,),
    "item_minutes": (P.BUILD_AGENDA,),
    "agenda_add_case": (P.BUILD_AGENDA,),
    # Settings → Team hub (an administrator's view of the hub's desks)
    "hub_status_button": (P.HUB_SETTINGS,),
    # Settings → Team hub → Practices this desk holds (its scope)
    "desk_scope_all": (P.HUB_SETTINGS,),
    "desk_scope_filter": (P.HUB_SETTINGS,),
    "desk_scope_practices": (P.HUB_SETTINGS,),
    "desk_scope_follow_staff": (P.HUB_SETTINGS,),
    "desk_scope_apply_button": (P.HUB_SETTINGS,),
    # Settings → Needs review
    "keep_kept_button": (P.RESOLVE_REVIEW,),
    "keep_other_button": (P.RESOLVE_REVIEW,),
    "edit_button": (P.RESOLVE_REVIEW,),
    "checked_button": (P.RESOLVE_REVIEW,),
    "restore_button": (P.RESOLVE_REVIEW,),
}

#: The main window's actions, by attribute name (menus, tool bar and shortcuts at once).
ACTION_PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    "new_referral_action": (P.REFER,),
    "print_action": (P.PRINT_TEAM_CARE_PLAN, P.PRINT_ANY_CARE_PLAN, P.PRINT_LISTS),
    "print_agenda_initials_action": (P.PRINT_LISTS,),
    "print_minutes_action": (P.PRINT_LISTS,),
    "export_action": (P.EXPORT,),
    "schedule_meeting_action": (P.SCHEDULE_MEETINGS,),
    "start_meeting_action": (P.RUN_MEETING,),
    "team_hub_action": (P.HUB_SETTINGS,),
    "team_settings_action": (P.MANAGE_STAFF, P.HUB_SETTINGS, P.IMPORT_PATIENTS),
    "import_patients_action": (P.IMPORT_PATIENTS,),
}

#: Kept on a refused control: the tool tip it had before, to give back when allowed.
_TOOLTIP_BEFORE = "role_gate_tooltip_before"


def allows(principal: Principal | None, permissions: tuple[Permission, ...]) -> bool:
    """Whether ``principal`` (None: set-up, everything) holds any of ``permissions``."""
    return principal is None or principal.may_any(*permissions)


def _why_not(principal: Principal | None, permissions: tuple[Permission, ...]) -> str:
    if principal is None or principal.setup:
        return ""
    return refusal(principal.roles, permissions[0])


def _gate(control: QWidget | QAction, allowed: bool, why: str) -> None:
    if allowed:
        before = control.property(_TOOLTIP_BEFORE)
        if before is not None:
            control.setToolTip(str(before))
            control.setProperty(_TOOLTIP_BEFORE, None)
            control.setEnabled(True)  # its screen refines this as its data says
        return
    if control.property(_TOOLTIP_BEFORE) is None:
        control.setProperty(_TOOLTIP_BEFORE, control.toolTip())
    control.setToolTip(why)
    control.setEnabled(False)


class RoleGate(QObject):
    """Keeps every control of :data:`WIDGET_PERMISSIONS` in step with the role.

    Installed once on the application: it sees each such control the first time it is
    shown (a case record's tabs are built lazily), and again whenever its screen enables
    it. :meth:`follow` applies a new principal to the window's actions and every control
    that exists.
    """

    def __init__(self, principal: Principal | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.principal = principal
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def follow(self, principal: Principal | None, window: QWidget) -> None:
        """Apply ``principal``'s roles to ``window``'s actions and controls."""
        self.principal = principal
        for name, permissions in ACTION_PERMISSIONS.items():
            action = getattr(window, name, None)
            if isinstance(action, QAction):
                _gate(action, allows(principal, permissions), _why_not(principal, permissions))
        for widget in window.findChildren(QWidget):
            self._apply(widget)

    def stop(self) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _apply(self, widget: QWidget) -> None:
        permissions = WIDGET_PERMISSIONS.get(widget.objectName())
        if permissions is not None:
            principal = self.principal
            _gate(widget, allows(principal, permissions), _why_not(principal, permissions))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if (
            kind in (QEvent.Type.Show, QEvent.Type.EnabledChange)
            and isinstance(watched, QWidget)
            and watched.isEnabled()
            and watched.objectName() in WIDGET_PERMISSIONS
            and self._owns(watched)
        ):
            self._apply(watched)
        return False

    def _owns(self, widget: QWidget) -> bool:
        """Whether ``widget`` is in this gate's window or one of its dialogs: another
        window's gate (another person signed in there) has no say over it."""
        window = self.parent()
        if not isinstance(window, QWidget):
            return True
        found: QWidget | None = widget.window()
        while found is not None:
            if found is window:
                return True
            parent = found.parentWidget()
            found = parent.window() if parent is not None else None
        return False


def follow_roles(window: QWidget, runner: "TaskRunner", signed_in: SignalInstance) -> RoleGate:
    """Make ``window`` follow whoever is signed in: now, and after each sign-in.

    ``signed_in`` is the window's own "the PIN was right" signal: the gate applies the
    roles after the window has given back the actions it disabled while locked.
    """
    gate = RoleGate(runner.desk.principal, window)

    def refresh(*_args: object) -> None:
        if not getattr(window, "locked", False):
            gate.follow(runner.desk.principal, window)

    runner.desk_changed.connect(refresh)
    signed_in.connect(refresh)
    refresh()
    return gate


def reads_caseload(runner: "TaskRunner") -> bool:
    """Whether the person at the desk may see the caseload (None: set-up, everything).

    The screens that list people ask before reading, so a role without the caseload (a
    team administrator only) is never sent a refusal for a list it did not ask to see.
    """
    return allows(runner.desk.principal, (Permission.READ_CASELOAD,))
