"""docs/indicators.md is generated from the indicator functions' docstrings and is current."""

from pathlib import Path

from mdt_desk.services.indicators import INDICATORS, definitions_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


def test_the_indicators_page_is_generated_from_the_current_definitions() -> None:
    assert DOC.read_text(encoding="utf-8") == definitions_markdown(), (
        "docs/indicators.md is out of date: run `.venv/bin/python scripts/indicators_doc.py`"
    )


def test_the_page_holds_every_definition_word_for_word() -> None:
    page = definitions_markdown()
    for each in INDICATORS:
        assert f"## `{each.id}`: {each.title}" in page
        assert each.definition.split("\n", 1)[0] in page
        assert each.definition.strip(), each.id
