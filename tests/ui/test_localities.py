"""The navigator names localities: "Locality <code>" until the team gives one a name."""

from pathlib import Path

from tests.ui.signed_in import create_main_window


def test_a_named_locality_shows_its_name_in_the_navigator(
    qtbot, demo_store_path: Path, wait_idle
) -> None:
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
