"""The `mdt-desk …` commands the README and the docs show are the ones the program takes.

Every option a documented command names exists on that command; every usage line in
the README's command table names the options the command requires; and the table's
usage lines, with only what they show as required and real values for the placeholders,
run (a usage showing `--place` and `--video` both as optional did not: one is needed).
"""

import argparse
import datetime as dt
import io
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from mdt_desk.cli import build_parser
from mdt_desk.models.store import Store
from mdt_desk.services.demo import generate_demo
from tests.cli_sign_in import demo_staff_with, run  # on the demo store: as its chair
from tests.shared_stores import copy_store, made_sealed, sealed_key

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))

_OPTION = re.compile(r"^--?[A-Za-z][\w-]*$")
_CODE_SPAN = re.compile(r"`([^`]+)`")


def _commands_in(line: str) -> list[str]:
    """The text after each ``mdt-desk`` in a line (up to a comment or ``&&``)."""
    found = []
    for match in re.finditer(r"(?:^|[\s/`(])mdt-desk(?=\s|$|`)", line):
        rest = line[match.end() :]
        rest = re.split(r"`|\s#\s|&&", rest, maxsplit=1)[0]
        found.append(rest)
    return found


def _tokens(text: str) -> list[str]:
    return [token.strip("[]()…,;.") for token in text.replace("\\|", "|").split()]


def documented_commands() -> list[tuple[str, int, str, list[str]]]:
    """(file, line, the text after ``mdt-desk``, other options the line names in
    backticks) for every documented command: in code blocks (continued lines joined)
    and in backticks in the text and tables."""
    found: list[tuple[str, int, str, list[str]]] = []
    for path in DOCUMENTS:
        lines = path.read_text(encoding="utf-8").splitlines()
        in_block = False
        number = 0
        while number < len(lines):
            line = lines[number]
            start = number + 1
            if line.startswith("```"):
                in_block = not in_block
                number += 1
                continue
            if in_block:
                while line.rstrip().endswith("\\") and number + 1 < len(lines):
                    number += 1
                    line = line.rstrip()[:-1] + " " + lines[number]
                for command in _commands_in(line):
                    found.append((path.name, start, command, []))
            else:
                spans = _CODE_SPAN.findall(line)
                commands = [span for span in spans if re.match(r"^(\S*/)?mdt-desk(?=\s|$)", span)]
                options = [span for span in spans if _OPTION.match(span.split()[0] if span else "")]
                for span in commands:
                    command = span.split("mdt-desk", 1)[1]
                    # options a table row's description names are that row's command's
                    row_options = options if line.startswith("| `mdt-desk") else []
                    found.append((path.name, start, command, row_options))
            number += 1
    return found


def subcommand(parser: argparse.ArgumentParser, tokens: list[str]) -> tuple[list[str], Any]:
    """The command path the tokens start with, and the parser of that command."""
    path: list[str] = []
    current = parser
    for token in tokens:
        choices = {}
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                choices = action.choices
        if token not in choices:
            break
        path.append(token)
        current = choices[token]
    return path, current


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


COMMANDS = documented_commands()


def test_the_readme_and_docs_show_commands() -> None:
    assert len([c for c in COMMANDS if c[0] == "README.md"]) >= 30
    assert any(c[0] != "README.md" for c in COMMANDS)


@pytest.mark.parametrize(
    ("document", "line", "command", "row_options"),
    COMMANDS,
    ids=[f"{c[0]}:{c[1]}" for c in COMMANDS],
)
@pytest.mark.slow
def test_every_option_a_documented_command_names_exists(
    document: str, line: int, command: str, row_options: list[str]
) -> None:
    tokens = _tokens(command)
    path, parser = subcommand(build_parser(), tokens)
    named = {token.split("=")[0] for token in tokens if _OPTION.match(token.split("=")[0])}
    named |= {option.split()[0] for option in row_options}
    unknown = sorted(named - options_of(parser))
    assert not unknown, f"{document}:{line} `mdt-desk {' '.join(path)}` has no {unknown}"
    # a word that looks like a command but is not one
    rest = tokens[len(path) :]
    if rest and re.fullmatch(r"[a-z]+(?:-[a-z]+)*", rest[0]) and not path:
        pytest.fail(f"{document}:{line}: `mdt-desk {rest[0]}` is not a command")


# -- the README's command table -----------------------------------------------------------


def table_usages() -> list[str]:
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `mdt-desk"):
            first = re.match(r"^\| (.*?) \| ", line.replace("\\|", "\0"))
            assert first is not None
            for span in _CODE_SPAN.findall(first.group(1).replace("\0", "\\|")):
                rows.append(span.split("mdt-desk", 1)[1].strip())
    return rows


USAGES = table_usages()


def required_options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        action.option_strings[0]
        for action in parser._actions
        if action.required and action.option_strings
    }


@pytest.mark.parametrize("usage", USAGES)
def test_each_usage_in_the_table_names_the_options_its_command_requires(usage: str) -> None:
    path, parser = subcommand(build_parser(), _tokens(usage))
    assert path or usage == "", usage
    missing = sorted(required_options(parser) - set(_tokens(usage)))
    assert not missing, f"`mdt-desk {usage}` leaves out {missing}"


def minimal_form(usage: str) -> str:
    """The usage with its optional [...] parts left out and the first of each (A | B)."""
    text = usage.replace("\\|", "|")
    while re.search(r"\[[^\[\]]*\]", text):
        text = re.sub(r"\[[^\[\]]*\]", "", text)
    text = re.sub(r"\(([^()|]*)\|[^()]*\)", r"\1", text)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("readme") / "demo.sqlite"
    with made_sealed(), Store.open(path) as store:
        generate_demo(store, patients=200, seed=4)
    return path, sealed_key(path)


#: Table rows not run here: the window, files to import (list sizes and survey answers:
#: tests/test_cli_indicator_data.py; FHIR bundles: tests/fhir/test_fhir_import.py),
#: making a demo, the hub, and the store's key (it asks
#: to confirm and for a passphrase: tests/test_cli_store_key.py).
NOT_RUN = (
    "practices import",
    "practices list-sizes",
    "patients import",
    "survey import",
    "fhir import",
    "demo",
    "hub",
    "sync",
    "staff add",
    "store",
)
RUN = [usage for usage in USAGES if usage and not usage.startswith(NOT_RUN)]


def placeholder_values(path: Path, out: Path) -> dict[str, str]:
    status, output = run("meetings", "list", "--json", "--store", str(path))
    assert status == 0
    meetings = json.loads(output)
    planned = next(m for m in meetings if m["status"] == "planned")
    status, output = run("actions", "list", "--json", "--store", str(path))
    first_action = json.loads(output)[0]
    status, output = run("staff", "list", "--json", "--store", str(path))
    staff_id = json.loads(output)[0]["id"]
    return {
        "CODE": str(planned["practice_code"]),
        "ID": str(planned["id"]),
        "STAFF_ID": str(staff_id),
        "NUMBER": str(first_action["nhs_number"]),
        "FILE.pdf": str(out),
        "FILE.json": str(out.with_suffix(".json")),
        "DATE": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "YYYY-MM-DD": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "HH:MM": "13:00",
        "TEXT": "Library",
        "URL": "https://meet.example.nhs.uk/mdt",
    }


@pytest.mark.parametrize("usage", RUN)
@pytest.mark.slow
def test_each_usage_in_the_table_runs_as_shown(
    usage: str,
    demo_made: tuple[Path, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = copy_store(*demo_made, tmp_path / "desk.sqlite")
    values = placeholder_values(store, tmp_path / "out.pdf")
    argv = [values.get(word, word) for word in minimal_form(usage).split()]
    unfilled = [word for word in argv if re.fullmatch(r"[A-Z][A-Z_.:-]*", word)]
    assert not unfilled, f"no value for {unfilled} in `mdt-desk {usage}`"
    # Who the row is for: staff administration is the team administrator's, the access
    # log the privacy officer's; everything else the demo's chair (``run``'s default).
    acting = {"staff set-pin": "team_administrator", "staff leave": "team_administrator"}
    acting["access-log"] = "privacy_officer"
    role = next((r for prefix, r in acting.items() if usage.startswith(prefix)), None)
    if role is not None:
        argv += ["--as", demo_staff_with(store, role)]
    if usage.startswith("staff set-pin"):
        # The administrator's own PIN, then the one-time PIN they set.
        argv.append("--pin-stdin")
        monkeypatch.setattr(sys, "stdin", io.StringIO("246810\nnew-pin-1\n"))
    capsys.readouterr()
    status, _output = run(*argv, "--store", str(store))
    error = capsys.readouterr().err
    assert status == 0, f"`mdt-desk {' '.join(argv)}` as the README shows it: {error}"


def test_the_usages_run_include_scheduling_a_meeting_and_printing() -> None:
    assert {minimal_form(usage).split(" --")[0] for usage in RUN} >= {
        "meetings schedule",
        "careplan",
        "actions list",
        "agenda",
        "minutes",
    }


def _readme_examples() -> list[list[str]]:
    """The commands of the README's "Examples:" block, continuation lines joined."""
    text = README.read_text(encoding="utf-8")
    block = text.split("Examples:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "mdt-desk", line
            commands.append(words[1:])
    return commands


def test_the_readme_examples_run_as_written_on_a_new_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer copies them in order from a fresh clone: every file they name is in the
    repository and every code they use is in it (the examples once named a practice and
    files nobody had)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MDT_DESK_STORE", str(tmp_path / "new.sqlite"))
    commands = _readme_examples()
    assert [command[0] for command in commands][:3] == ["practices", "staff", "patients"]
    for command in commands:
        status, out = run(*command)
        assert status == 0, (command, out)
    status, out = run("stats", "--json")
    assert json.loads(out)["patients"] == 3
