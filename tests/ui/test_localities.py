"""The navigator names localities: "Locality <code>" until the team gives one a name."""

from pathlib import Path

from sqlalchemy import text

from mdt_desk.models.store import Store
from mdt_desk.services.staff import signed_in_staff_id
from tests.ui.signed_in import create_main_window


def test_a_named_locality_shows_its_name_in_the_navigator(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
    # Naming localities is the team administrator's: the demo's coordinator is one too here.
    with Store.open(demo_store_path) as store:
        me = signed_in_staff_id(store)
        with store.write(me, "test set-up") as session:
            session.execute(
                text("UPDATE staff SET roles = roles || ' team_administrator' WHERE id = :id"),
                {"id": me.hex if me else ""},
            )
    window = create_main_window(demo_store_path)
    qtbot.addWidget(window)
    window.show()
    wait_idle(window)
    navigator = window.navigator
    codes = navigator.locality_codes()
    assert codes
    first = codes[0]
    assert navigator.locality_title(first).startswith(f"Locality {first} (")
    navigator.save_locality_name(first, "Riverside")
    wait_idle(window)
    qtbot.waitUntil(lambda: navigator.locality_title(first).startswith("Riverside ("))
    # The others still say what they are in words.
    for code in codes[1:]:
        assert navigator.locality_title(code).startswith("Locality ")
    window.close()
