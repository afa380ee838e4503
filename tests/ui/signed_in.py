"""Opening the real main window already signed in, for the tests that start at the caseload.

Past set-up the app opens on its sign-in screen; the tests of the caseload, the records
and meeting mode start where a person is after typing their PIN. :func:`create_main_window`
is the app's own, given the demo PIN for the demo store's signed-in coordinator, so only
the tests of the sign-in screen itself (``test_sign_in_lock.py``) see it. A store still in
set-up (no PINs) opens as the app opens it.
"""

import uuid
from pathlib import Path

from mdt_desk import app
from mdt_desk.models.store import Store
from mdt_desk.services.access import store_in_setup
from mdt_desk.services.sign_in import DEMO_PIN
from mdt_desk.services.staff import signed_in_staff_id
from mdt_desk.ui.main_window import MainWindow


def store_past_set_up(path: Path) -> bool:
    with Store.open(path) as store, store.read() as session:
        return not store_in_setup(session)


def create_main_window(path: Path | str) -> MainWindow:
    """The app's main window on ``path``, signed in with the demo PIN when past set-up."""
    store_path = Path(path)
    pin = DEMO_PIN if store_past_set_up(store_path) else None
    return app.create_main_window(store_path, pin=pin)


def acting(store: Store) -> uuid.UUID | None:
    """Who a test's own reads act as: the person the desk last signed in (the demo's
    coordinator), as the window does. Past set-up, a session with nobody acting is refused."""
    return signed_in_staff_id(store)
