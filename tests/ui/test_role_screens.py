"""The screens follow the signed-in person's roles (issue 10): what a role may not do is
disabled, with a tool tip saying why, on the main window, the case record and the
Meetings tab. The services refuse it too (tests/services/test_permissions.py); these
tests are about what a person sees.
"""

import uuid
from pathlib import Path

import pytest
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QWidget
from sqlalchemy import select

from mdt_desk.models import Case, CoordinatorAssignment
from mdt_desk.models.enums import CaseStatus, Role
from mdt_desk.models.store import Store
from mdt_desk.services.access import SETUP, Permission, Principal
from mdt_desk.ui.case_record.widget import CaseRecordWidget
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.new_referral_dialog import NewReferralDialog
from mdt_desk.ui.role_screens import ACTION_PERMISSIONS, WIDGET_PERMISSIONS, allows
from tests.ui.finders import child
from tests.ui.roles import staff_with_roles, window_as

WAIT = 10_000

#: What an observer may not do, on the main window: none of it is enabled.
WINDOW_ACTIONS = (
    "new_referral_action",
    "print_action",
    "print_agenda_initials_action",
    "print_minutes_action",
    "schedule_meeting_action",
    "start_meeting_action",
    "team_hub_action",
    "team_settings_action",
)

#: ... and on an open case record.
RECORD_CONTROLS = (
    "add_note_button",
    "note_editor",
    "add_goal_button",
    "add_action_button",
    "new_action_description",
    "change_coordinator_button",
    "add_care_team_member_button",
    "record_outcome_event_button",
    "close_case_button",
    "escalate_check",
)


def coordinated_case(
    path: Path, coordinator: Role = Role.CARE_COORDINATOR
) -> tuple[uuid.UUID, uuid.UUID]:
    """(patient, case) of an open case coordinated by the demo's first pure coordinator."""
    with Store.open(path) as store:
        staff_id = staff_with_roles(store, coordinator).staff_id
        with store.read() as session:
            row = session.execute(
                select(Case.patient_id, Case.id)
                .join(CoordinatorAssignment, CoordinatorAssignment.case_id == Case.id)
                .where(
                    CoordinatorAssignment.staff_id == staff_id,
                    CoordinatorAssignment.ended_on.is_(None),
                    Case.status == CaseStatus.ACTIVE,
                    Case.retired_at.is_(None),
                )
                .limit(1)
            ).one()
    return row[0], row[1]


def open_case(
    qtbot, window: MainWindow, patient_id: uuid.UUID, case_id: uuid.UUID
) -> CaseRecordWidget:
    record = window.open_record(patient_id, case_id)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    # Each section is built and filled as it is first shown: the gate sees it then.
    for name in ("summary", "coordinator", "care_team", "goals", "action_plan", "notes"):
        record.show_tab(name)
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
    return record


def named(record: QWidget, name: str) -> QWidget:
    return child(record, QWidget, name)


def usable(widget: QWidget) -> bool:
    """On screen and enabled (a section never shown cannot be used)."""
    return widget.isVisible() and widget.isEnabled()


def test_an_observer_has_nothing_enabled_that_changes_prints_or_schedules(
    qtbot, demo_store_path: Path
):
    patient_id, case_id = coordinated_case(demo_store_path)
    with window_as(qtbot, demo_store_path, Role.OBSERVER) as window:
        enabled = [name for name in WINDOW_ACTIONS if getattr(window, name).isEnabled()]
        assert not enabled, f"an observer may use {enabled}"
        assert "Your role (Observer) does not allow" in window.new_referral_action.toolTip()
        assert window.find_action.isEnabled() and window.meetings_action.isEnabled()
        record = open_case(qtbot, window, patient_id, case_id)
        enabled = [name for name in RECORD_CONTROLS if named(record, name).isEnabled()]
        assert not enabled, f"an observer may use {enabled} on a record"
        assert "does not allow adding notes" in named(record, "add_note_button").toolTip()
        page = window.show_meetings()
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=WAIT)
        for name in ("schedule_meeting_button", "start_meeting_button", "agenda_add_case"):
            assert not named(page, name).isEnabled(), name


def test_a_care_navigator_may_refer_but_not_add_notes_or_actions(qtbot, demo_store_path: Path):
    patient_id, case_id = coordinated_case(demo_store_path)
    with window_as(qtbot, demo_store_path, Role.CARE_NAVIGATOR) as window:
        assert window.new_referral_action.isEnabled()
        assert window.schedule_meeting_action.isEnabled()
        assert window.print_action.isEnabled()  # caseload lists and meeting papers
        assert not window.start_meeting_action.isEnabled()
        record = open_case(qtbot, window, patient_id, case_id)
        for name in ("add_note_button", "note_editor", "add_action_button", "add_goal_button"):
            control = record.findChild(QWidget, name)  # no action plan without clinical reading
            assert control is None or not usable(control), name
        window.new_referral_action.trigger()  # Ctrl+N opens the referral form
        assert window.findChildren(NewReferralDialog)


def test_a_coordinator_keeps_every_control_of_the_record(qtbot, demo_store_path: Path):
    """The gate takes nothing from a role that may: a coordinator's own open case."""
    patient_id, case_id = coordinated_case(demo_store_path)
    with window_as(qtbot, demo_store_path, Role.CARE_COORDINATOR) as window:
        assert window.new_referral_action.isEnabled() and window.print_action.isEnabled()
        assert not window.team_settings_action.isEnabled()
        record = open_case(qtbot, window, patient_id, case_id)
        for name in ("add_note_button", "add_goal_button", "add_action_button"):
            widget = named(record, name)
            qtbot.waitUntil(widget.isEnabled, timeout=WAIT)
            assert "does not allow" not in widget.toolTip()


def test_a_refused_control_stays_disabled_when_its_screen_enables_it(qtbot, demo_store_path: Path):
    patient_id, case_id = coordinated_case(demo_store_path)
    with window_as(qtbot, demo_store_path, Role.OBSERVER) as window:
        record = open_case(qtbot, window, patient_id, case_id)
        button = named(record, "add_note_button")
        button.setEnabled(True)  # as the notes tab does once a save ends
        assert not button.isEnabled()


def test_set_up_allows_everything() -> None:
    everything = {**WIDGET_PERMISSIONS, **ACTION_PERMISSIONS}
    assert all(allows(None, permissions) for permissions in everything.values())
    assert all(allows(SETUP, permissions) for permissions in everything.values())
    nobody = Principal(staff_id=None, display_name="x", roles=frozenset())
    assert not any(allows(nobody, permissions) for permissions in everything.values())


@pytest.mark.parametrize("name", sorted(ACTION_PERMISSIONS))
def test_every_gated_action_names_a_real_permission(name: str) -> None:
    assert all(isinstance(p, Permission) for p in ACTION_PERMISSIONS[name])


def test_disabled_controls_keep_their_names_for_screen_readers(qtbot, demo_store_path: Path):
    patient_id, case_id = coordinated_case(demo_store_path)
    with window_as(qtbot, demo_store_path, Role.OBSERVER) as window:
        record = open_case(qtbot, window, patient_id, case_id)
        for name in ("add_note_button", "add_goal_button", "add_action_button"):
            accessible = QAccessible.queryAccessibleInterface(named(record, name))
            assert accessible is not None
            assert accessible.text(QAccessible.Text.Name).strip(), name
            assert accessible.state().disabled, name
