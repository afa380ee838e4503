"""`mdt-desk hub password` and the rule that no password is ever a command-line argument."""

import pytest

from mdt_desk.sync import credentials
from tests.test_cli import run

HUB = "postgresql+psycopg://mdt@db.example/team"


@pytest.mark.parametrize("command", [["sync", "--hub"], ["hub", "init"], ["hub", "password"]])
def test_a_password_in_the_address_is_refused(
    command: list[str], tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run(
        *command,
        "postgresql+psycopg://mdt:s3cret@db.example/team",
        "--store",
        str(tmp_path / "desk.sqlite"),
    )
    assert status == 2
    error = capsys.readouterr().err
    assert "password" in error and "s3cret" not in error


def test_hub_password_asks_and_keeps_it_in_the_keyring(
    monkeypatch: pytest.MonkeyPatch, memory_keyring, tmp_path
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "s3cret")
    status, output = run("hub", "password", HUB, "--store", str(tmp_path / "desk.sqlite"))
    assert status == 0 and "keyring" in output
    assert credentials.load_password(HUB) == "s3cret"
    assert memory_keyring.passwords == {(credentials.SERVICE, "mdt@db.example/team"): "s3cret"}
