"""The examples in docs/api.md run, in order, and do what they say."""

import re
from pathlib import Path

import pytest

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_api_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", API_DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "api_example"}
    for block in blocks:
        exec(compile(block, str(API_DOC), "exec"), namespace)  # runs our own documentation
    printed = capsys.readouterr().out
    assert "EVANS, Siân (Mrs) 943 476 5919" in printed
    assert "check digit does not match" in printed
    assert "['Ngozi Okafor', 'Zoë Nowak']" in printed
    assert "Choose the reason for closing the case." in printed
    assert "already has an open case" in printed
    assert (tmp_path / "team.sqlite").exists()
