"""Linters and type checks are part of the test suite, so CI enforces them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]')")
    return found


def run(*command: str) -> None:
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


def test_ruff_lint() -> None:
    run(tool("ruff"), "check", "mdt_desk", "tests", "bench", "scripts")


def test_ruff_format() -> None:
    run(tool("ruff"), "format", "--check", "mdt_desk", "tests", "bench", "scripts")


@pytest.mark.slow  # half a minute from a cold cache (a fresh clone, as in CI)
def test_mypy_strict_on_the_core() -> None:
    run(tool("mypy"))


def test_import_layers() -> None:
    run(tool("lint-imports"))
