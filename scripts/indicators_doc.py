"""Write docs/indicators.md from the indicator functions' docstrings (their definitions).

    .venv/bin/python scripts/indicators_doc.py          # rewrite the file
    .venv/bin/python scripts/indicators_doc.py --check  # exit 1 if it is out of date

The definitions live in ``mdt_desk/services/indicators.py``, one docstring per
indicator; the page is never edited by hand. ``tests/services/test_indicators_doc.py``
fails when the page and the code disagree.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mdt_desk.services.indicators import definitions_markdown

DOC = ROOT / "docs" / "indicators.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    wanted = definitions_markdown()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if args.check:
        if current != wanted:
            sys.stderr.write(f"{DOC} is out of date: run scripts/indicators_doc.py\n")
            return 1
        return 0
    if current != wanted:
        DOC.write_text(wanted, encoding="utf-8")
        sys.stdout.write(f"Wrote {DOC}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
