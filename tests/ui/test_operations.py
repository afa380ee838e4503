"""Operations that say what they changed: every screen follows a change, on a real window.

The main window reloads nothing by hand. A write through the task runner, a sync that
pulled other desks' changes, a "Needs review" decision, a first-run demo and signing in
as someone else each announce what changed (or who is signed in), and the open record,
the caseload, the navigator's counts and the status bar each follow by themselves.
"""

import datetime as dt
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

from mdt_desk.cli import main as cli_main
from mdt_desk.models.enums import Profession, RiskBand
from mdt_desk.models.store import Store
from mdt_desk.models.store_key import store_key
from mdt_desk.services import staff as staff_service
from mdt_desk.services.caseload import HIGH_RISK_BANDS, CaseloadQuery, CaseloadView, caseload_count
from mdt_desk.services.cases import set_next_review
from mdt_desk.services.demo import generate_demo
from mdt_desk.services.desk import HUB_ADDRESS_META, Desk
from mdt_desk.services.patients import set_risk_band
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.sync.client import META_HUB_ADDRESS, sync_once
from mdt_desk.sync.desk_scope import DeskScope, set_scope
from mdt_desk.sync.hub import hub_engine, init_hub
from mdt_desk.ui import welcome_dialog
from mdt_desk.ui.itemmodels.caseload_table_model import COLUMNS
from mdt_desk.ui.main_window import MainWindow
from mdt_desk.ui.sign_in_page import SignInPage
from mdt_desk.ui.sync.controller import SyncState
from mdt_desk.ui.sync.settings import save_hub_address
from tests import store_sql
from tests.conftest import epraccur_row
from tests.shared_stores import made_sealed, unlock
from tests.ui.finders import child
from tests.ui.signed_in import create_main_window

# Real sync hubs (a hub file and desks synced through it): out of the fast loop, as the
# slow marker says; the whole suite runs them.
pytestmark = pytest.mark.slow

SYNCED = re.compile(r"^Synced \d\d:\d\d$")
TIMEOUT = 30_000
COUNT = re.compile(r"\((\d+)\)$")


# -- two desks and a hub ------------------------------------------------------------------


@dataclass
class World:
    folder: Path
    hub_path: Path
    a_path: Path
    b_path: Path

    @property
    def hub_url(self) -> str:
        return f"sqlite:///{self.hub_path}"


@pytest.fixture(scope="module")
def _world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("operations-world")
    engine = hub_engine(f"sqlite:///{folder / 'hub.sqlite'}")
    init_hub(engine)
    with made_sealed():
        with Store.open(folder / "a.sqlite") as a:
            generate_demo(a, patients=60, seed=5)
            sync_once(a, engine, label="Desk A")
        with Store.open(folder / "b.sqlite") as b:
            set_scope(b, DeskScope(all_practices=True))  # a full desk, as desk A
            sync_once(b, engine, label="Desk B")
        keys = {name: store_key(folder / name) for name in ("a.sqlite", "b.sqlite")}
    engine.dispose()
    return folder, keys


def _point_at(store_path: Path, hub_url: str) -> None:
    """The copied desk records the copied hub, as `mdt-desk sync --hub` would have."""
    with store_sql.connect(store_path) as db:
        db.execute("UPDATE store_meta SET value = ? WHERE key = ?", (hub_url, META_HUB_ADDRESS))


@pytest.fixture
def world(_world_template: tuple[Path, dict[str, bytes]], tmp_path: Path) -> World:
    template, keys = _world_template
    folder = tmp_path / "world"
    shutil.copytree(template, folder)
    for name, key in keys.items():
        unlock(folder / name, key)
    made = World(folder, folder / "hub.sqlite", folder / "a.sqlite", folder / "b.sqlite")
    _point_at(made.a_path, made.hub_url)
    _point_at(made.b_path, made.hub_url)
    return made


@pytest.fixture
def window_on_a(world: World, qtbot, wait_idle) -> Iterator[MainWindow]:
    window = open_window(qtbot, world.a_path, wait_idle)
    # Desk A joined the hub outside the app: the window syncs with it by itself.
    qtbot.waitUntil(lambda: SYNCED.match(window.sync_label.text()) is not None, timeout=TIMEOUT)
    window.sync_controller.stop()  # no timer: the test says when to sync
    yield window


# -- helpers ----------------------------------------------------------------------------


def open_window(qtbot, path: Path, wait_idle) -> MainWindow:
    window = create_main_window(path)
    qtbot.addWidget(window)
    window.show()
    wait_idle(window)
    return window


def shown_count(window: MainWindow, view: CaseloadView) -> int:
    """The count the navigator shows beside a saved view."""
    match = COUNT.search(window.navigator._view_items[view].text())
    assert match is not None
    return int(match.group(1))


def stored_count(path: Path, view: CaseloadView, coordinator: uuid.UUID | None = None) -> int:
    # read as the desk's signed-in person: past set-up, someone must be reading
    with Store.open(path) as store, store.read(staff_service.signed_in_staff_id(store)) as session:
        return caseload_count(session, CaseloadQuery(view=view, coordinator_id=coordinator))


def a_person_not_at_high_risk(path: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """A person with one open case whose risk band is not high (patient id, case id)."""
    high = ", ".join(f"'{band.value}'" for band in HIGH_RISK_BANDS)
    with store_sql.connect(path) as db:
        patient, case = db.execute(
            "SELECT p.id, c.id FROM patient p JOIN care_case c ON c.patient_id = p.id "
            "WHERE c.status != 'closed' AND c.retired_at IS NULL AND p.retired_at IS NULL "
            f"AND (p.risk_band IS NULL OR p.risk_band NOT IN ({high})) "
            "AND (SELECT count(*) FROM care_case o WHERE o.patient_id = p.id "
            "     AND o.status != 'closed' AND o.retired_at IS NULL) = 1 "
            "ORDER BY p.id LIMIT 1"
        ).fetchone()
    return uuid.UUID(str(patient)), uuid.UUID(str(case))


def stored_risk_band(path: Path, patient_id: uuid.UUID) -> RiskBand | None:
    with store_sql.connect(path) as db:
        (value,) = db.execute(
            "SELECT risk_band FROM patient WHERE id = ?", (patient_id.hex,)
        ).fetchone()
    return RiskBand(value) if value else None


def on_desk_b(world: World, edit) -> None:
    """Another computer: desk B makes ``edit(session)`` and syncs it to the hub."""
    engine = hub_engine(world.hub_url)
    try:
        with Store.open(world.b_path) as b:
            sync_once(b, engine, label="Desk B")
            # made by a coordinator (past set-up, every change is someone's)
            with store_sql.connect(world.b_path) as db:
                (coordinator,) = db.execute(
                    "SELECT id FROM staff WHERE roles LIKE '%care_coordinator%' LIMIT 1"
                ).fetchone()
            with b.write(uuid.UUID(str(coordinator)), "Desk B") as session:
                edit(session)
            sync_once(b, engine, label="Desk B")
    finally:
        engine.dispose()


# -- a sync pull, and a "Needs review" decision -----------------------------------------


@pytest.mark.slow
def test_a_pulled_change_shows_in_the_open_record_and_the_counts(
    qtbot, world, window_on_a, wait_idle
):
    window = window_on_a
    patient_id, case_id = a_person_not_at_high_risk(world.a_path)
    record = window.open_record(patient_id, case_id)
    wait_idle(window)
    summary = record.summary_tab
    assert summary.risk_band_combo.currentData() not in HIGH_RISK_BANDS
    high_before = shown_count(window, CaseloadView.HIGH_RISK)
    assert high_before == stored_count(world.a_path, CaseloadView.HIGH_RISK)
    new_review = dt.date.today() + dt.timedelta(days=47)
    assert summary.next_review_edit.date_or_none() != new_review

    def edit(session) -> None:
        set_risk_band(session, patient_id, RiskBand.VERY_HIGH)
        set_next_review(session, case_id, new_review)

    on_desk_b(world, edit)
    window.sync_now()

    # The open record shows the pulled values without being reopened.
    qtbot.waitUntil(
        lambda: summary.risk_band_combo.currentData() == RiskBand.VERY_HIGH, timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: summary.next_review_edit.date_or_none() == new_review)
    assert window.open_records() == [record]
    # And the navigator counts the person as high risk.
    qtbot.waitUntil(lambda: shown_count(window, CaseloadView.HIGH_RISK) == high_before + 1)
    assert shown_count(window, CaseloadView.HIGH_RISK) == stored_count(
        world.a_path, CaseloadView.HIGH_RISK
    )


def test_keep_the_other_shows_in_the_open_record_and_the_counts(
    qtbot, world, window_on_a, wait_idle
):
    window = window_on_a
    patient_id, case_id = a_person_not_at_high_risk(world.a_path)
    record = window.open_record(patient_id, case_id)
    wait_idle(window)
    summary = record.summary_tab
    # This desk says very high (through the app: the record follows its own write) ...
    window.runner.write(lambda session: set_risk_band(session, patient_id, RiskBand.VERY_HIGH))
    qtbot.waitUntil(lambda: summary.risk_band_combo.currentData() == RiskBand.VERY_HIGH)
    # ... while desk B said low, at the same time.
    on_desk_b(world, lambda session: set_risk_band(session, patient_id, RiskBand.LOW))
    window.sync_now()
    qtbot.waitUntil(
        lambda: window.sync_controller.status.state == SyncState.NEEDS_REVIEW, timeout=TIMEOUT
    )
    wait_idle(window)
    shown_before = summary.risk_band_combo.currentData()
    assert shown_before == stored_risk_band(world.a_path, patient_id)
    high_before = shown_count(window, CaseloadView.HIGH_RISK)

    dialog = window.sync_label.show_review_list()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    with qtbot.waitSignal(dialog.item_resolved, timeout=TIMEOUT):
        qtbot.mouseClick(child(dialog, QPushButton, "keep_other_button"), Qt.MouseButton.LeftButton)
    wait_idle(window)
    kept = stored_risk_band(world.a_path, patient_id)
    assert kept != shown_before  # the other value now stands
    qtbot.waitUntil(lambda: summary.risk_band_combo.currentData() == kept)
    assert window.open_records() == [record]
    expected = high_before + (1 if kept in HIGH_RISK_BANDS else -1)
    qtbot.waitUntil(lambda: shown_count(window, CaseloadView.HIGH_RISK) == expected)
    assert expected == stored_count(world.a_path, CaseloadView.HIGH_RISK)
    # The review list and the status bar follow the decision too.
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    qtbot.waitUntil(lambda: "waiting" in window.sync_label.text())


# -- first run -----------------------------------------------------------------------------


def test_after_explore_with_demo_data_the_caseload_agrees_with_the_navigator(
    qtbot, tmp_path, wait_idle
):
    window = open_window(qtbot, tmp_path / "new.sqlite", wait_idle)
    assert window.runner.desk.actor_id is None
    dialog = window.show_welcome()
    dialog.demo_patients = 150
    with qtbot.waitSignal(dialog.accepted, timeout=120_000):
        qtbot.mouseClick(
            child(dialog, QPushButton, "welcome_demo_button"), Qt.MouseButton.LeftButton
        )
    # The demo's staff have PINs: the window asks for the chosen coordinator's.
    qtbot.waitUntil(lambda: window.locked, timeout=TIMEOUT)
    # the team's list arrives from the store; the last person signed in is chosen
    qtbot.waitUntil(lambda: window.sign_in_page.chosen_id() is not None, timeout=TIMEOUT)
    window.sign_in_page.pin_edit.setText(DEMO_PIN)
    with qtbot.waitSignal(window.sign_in_page.signed_in, timeout=TIMEOUT):
        window.sign_in_page.sign_in()
    wait_idle(window)
    me = window.runner.desk.actor_id
    assert me is not None
    mine = stored_count(tmp_path / "new.sqlite", CaseloadView.MY_CASELOAD, me)
    assert mine > 0
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() == mine)
    assert window.caseload_model.query.view is CaseloadView.MY_CASELOAD
    assert window.caseload_model.query.coordinator_id == me
    assert shown_count(window, CaseloadView.MY_CASELOAD) == mine
    assert window.caseload_page.heading.text() == f"My caseload — {mine} cases"
    assert window.signed_in_label.text() == f"Signed in: {window.runner.desk.actor_name}"
    assert window.navigator.locality_codes()  # the practices tree shows the demo's


def test_after_importing_practices_on_a_new_store_the_tree_shows_them(
    qtbot, tmp_path, wait_idle, monkeypatch
):
    ods = tmp_path / "epraccur.csv"
    rows = (
        epraccur_row("A81001", "THE DENSHAM SURGERY", "00K"),
        epraccur_row("A81002", "QUEENS PARK MEDICAL CENTRE", "00K"),
        epraccur_row("B82005", "PRIORY MEDICAL GROUP", "02Y"),
    )
    ods.write_text("\n".join(rows) + "\n")
    window = open_window(qtbot, tmp_path / "new.sqlite", wait_idle)
    assert window.navigator.locality_codes() == []
    dialog = window.show_welcome()
    monkeypatch.setattr(dialog, "choose_ods_file", lambda: ods)
    dialog.import_practices()
    wait_idle(window)
    assert dialog.import_report is not None and dialog.import_report.imported == 3
    qtbot.waitUntil(lambda: window.navigator.locality_codes() == ["00K", "02Y"])
    assert window.navigator.locality_title("00K").endswith("(0)")


@pytest.mark.parametrize("closed_while_signing_in", [False, True], ids=["open", "closed"])
@pytest.mark.slow
def test_after_first_run_set_up_the_status_bar_shows_who_signed_in(
    qtbot, tmp_path, wait_idle, monkeypatch, closed_while_signing_in
):
    """The welcome dialog signs in through the runner's change_desk: the desk is swapped in
    and announced even when the dialog was closed while the sign-in ran."""
    ods = tmp_path / "epraccur.csv"
    ods.write_text(epraccur_row("A81001", "THE DENSHAM SURGERY", "00K") + "\n")
    window = open_window(qtbot, tmp_path / "new.sqlite", wait_idle)
    assert window.signed_in_label.text() == "Signed in: nobody yet"
    dialog = window.show_welcome()
    monkeypatch.setattr(dialog, "choose_ods_file", lambda: ods)
    dialog.import_practices()
    wait_idle(window)
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_family"), "Okafor")
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_given"), "Ngozi")
    profession = child(dialog, QComboBox, "welcome_staff_profession")
    profession.setCurrentIndex(profession.findData(Profession.SOCIAL_WORKER))
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_staff_practices"), "A81001")
    with qtbot.waitSignal(dialog.staff_added, timeout=TIMEOUT) as added:
        qtbot.mouseClick(
            child(dialog, QPushButton, "welcome_add_staff_button"), Qt.MouseButton.LeftButton
        )
    member = added.args[0]
    wait_idle(window)
    gate = threading.Event()
    real_sign_in = welcome_dialog.sign_in_with_pin

    def slow_sign_in(store, staff_id, pin):
        gate.wait(10)
        return real_sign_in(store, staff_id, pin)

    monkeypatch.setattr(welcome_dialog, "sign_in_with_pin", slow_sign_in)
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_pin_edit"), "731964")
    qtbot.keyClicks(child(dialog, QLineEdit, "welcome_repeat_pin_edit"), "731964")
    qtbot.mouseClick(
        child(dialog, QPushButton, "welcome_sign_in_button"), Qt.MouseButton.LeftButton
    )
    if closed_while_signing_in:
        qtbot.mouseClick(
            child(dialog, QPushButton, "welcome_close_button"), Qt.MouseButton.LeftButton
        )
        qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=TIMEOUT)
    gate.set()
    wait_idle(window)

    # The store, the desk the window works with and the status bar agree.
    desk = window.runner.desk
    assert staff_service.signed_in_staff_id(desk.store) == member.id
    assert desk.actor_id == member.id
    assert window.signed_in_label.text() == "Signed in: Ngozi Okafor"


# -- signing in as someone else -------------------------------------------------------------


def another_coordinator(path: Path, besides: uuid.UUID) -> uuid.UUID:
    """The staff member, other than ``besides``, who coordinates the most open cases."""
    with store_sql.connect(path) as db:
        (other_hex,) = db.execute(
            "SELECT a.staff_id FROM coordinator_assignment a "
            "JOIN care_case c ON c.id = a.case_id "
            "WHERE a.ended_on IS NULL AND a.retired_at IS NULL AND c.status != 'closed' "
            "AND a.staff_id != ? GROUP BY a.staff_id "
            "ORDER BY count(*) DESC LIMIT 1",
            (besides.hex,),
        ).fetchone()
    return uuid.UUID(str(other_hex))


def sign_in_as(qtbot, window: MainWindow, staff_id: uuid.UUID, wait_idle) -> Desk:
    """File → Lock and switch person, choosing ``staff_id`` and typing their PIN; the desk
    the runner then holds."""
    page = window.show_sign_in()
    assert isinstance(page, SignInPage) and window.locked
    wait_idle(window)
    assert page.choose(staff_id)
    assert page.chosen_id() == staff_id
    page.pin_edit.setText(DEMO_PIN)
    with qtbot.waitSignal(window.runner.desk_changed, timeout=TIMEOUT):
        page.sign_in()
    wait_idle(window)
    assert not window.locked
    return window.runner.desk


def test_after_signing_in_as_someone_else_the_status_bar_and_my_caseload_are_theirs(
    qtbot, demo_store_path, wait_idle
):
    window = open_window(qtbot, demo_store_path, wait_idle)
    first = window.runner.desk
    assert first.actor_id is not None
    assert window.caseload_model.query.view is CaseloadView.MY_CASELOAD
    other = another_coordinator(demo_store_path, first.actor_id)
    theirs = stored_count(demo_store_path, CaseloadView.MY_CASELOAD, other)
    assert theirs != stored_count(demo_store_path, CaseloadView.MY_CASELOAD, first.actor_id)

    desk = sign_in_as(qtbot, window, other, wait_idle)
    assert desk.actor_id == other
    assert first.actor_id != other  # the old desk was never changed under anyone
    assert window.signed_in_label.text() == f"Signed in: {desk.actor_name}"
    qtbot.waitUntil(lambda: window.caseload_model.rowCount() == theirs)
    assert window.caseload_model.query.coordinator_id == other
    assert shown_count(window, CaseloadView.MY_CASELOAD) == theirs
    # Every coordinator shown on My caseload is the new person.
    column = [c.key for c in COLUMNS].index("coordinator")
    names = {
        window.caseload_model.index(row, column).data()
        for row in range(min(window.caseload_model.rowCount(), 100))
    }
    assert names == {desk.actor_name}


def test_after_signing_in_as_someone_else_my_actions_are_theirs(qtbot, demo_store_path, wait_idle):
    window = open_window(qtbot, demo_store_path, wait_idle)
    first = window.runner.desk
    assert first.actor_id is not None
    window.navigator.select_my_actions()
    wait_idle(window)
    assert window.action_list.owner_shown() == first.actor_id
    other = another_coordinator(demo_store_path, first.actor_id)

    desk = sign_in_as(qtbot, window, other, wait_idle)
    qtbot.waitUntil(lambda: window.action_list.owner_shown() == other)
    wait_idle(window)
    model = window.action_list.action_model
    rows = [model.row_at(row) for row in range(model.rowCount())]
    assert rows, "the new person has actions in the demo"
    assert {row.owner_id for row in rows if row is not None} == {other}
    assert window.signed_in_label.text() == f"Signed in: {desk.actor_name}"


# -- the team hub joined from the command line -----------------------------------------------


@pytest.mark.slow
def test_a_desk_that_joined_a_hub_from_the_command_line_shows_it(qtbot, world, tmp_path, wait_idle):
    joined = tmp_path / "joined.sqlite"
    assert cli_main(["sync", "--hub", world.hub_url, "--store", str(joined)]) == 0
    window = open_window(qtbot, joined, wait_idle)
    assert window.runner.desk.hub_address == world.hub_url
    qtbot.waitUntil(lambda: SYNCED.match(window.sync_label.text()) is not None, timeout=TIMEOUT)
    assert window.sync_controller.hub_address == world.hub_url
    dialog = window.show_team_hub()
    assert child(dialog, QLineEdit, "hub_address").text() == world.hub_url
    dialog.reject()


def test_local_only_chosen_in_the_app_outlasts_the_hub_the_store_joined(qtbot, world, wait_idle):
    save_hub_address(world.a_path, None)  # Settings → Team hub → local only
    window = open_window(qtbot, world.a_path, wait_idle)
    assert window.runner.desk.hub_address == world.hub_url
    assert window.sync_label.text() == "Local only"
    assert not window.sync_controller.configured


def test_the_desk_and_sync_agree_on_where_the_hub_is_recorded():
    assert HUB_ADDRESS_META == META_HUB_ADDRESS


# -- a write whose changes cannot be read ------------------------------------------------------


def test_a_write_whose_changes_cannot_be_measured_still_reloads_the_open_record(
    qtbot, demo_store_path, wait_idle, monkeypatch
):
    import mdt_desk.ui.runner as runner_module
    from mdt_desk.errors import StoreDiskError

    window = open_window(qtbot, demo_store_path, wait_idle)
    patient_id, case_id = a_person_not_at_high_risk(demo_store_path)
    record = window.open_record(patient_id, case_id)
    wait_idle(window)
    summary = record.summary_tab
    assert summary.risk_band_combo.currentData() != RiskBand.VERY_HIGH

    def unreadable(_session) -> int:
        raise StoreDiskError("The disk reported an error while reading the store.")

    monkeypatch.setattr(runner_module, "journal_mark", unreadable)
    window.runner.write(lambda session: set_risk_band(session, patient_id, RiskBand.VERY_HIGH))
    # What it changed is unknown, so every screen is told everything may have: the open
    # record shows the new value without being reopened.
    qtbot.waitUntil(
        lambda: summary.risk_band_combo.currentData() == RiskBand.VERY_HIGH, timeout=10_000
    )
    assert stored_risk_band(demo_store_path, patient_id) == RiskBand.VERY_HIGH
