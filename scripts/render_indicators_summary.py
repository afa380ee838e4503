"""Render page 1 of the indicators summary PDF to docs/screenshots/ from a demo store.

    .venv/bin/mdt-desk demo --patients 2000 --store /tmp/docs-demo.sqlite
    .venv/bin/python scripts/render_indicators_summary.py --store /tmp/docs-demo.sqlite

The demo's locality (or ``--practice CODE``) over the last six whole calendar months,
as a team lead would print it for a monthly board. Reads only (no print record); needs
``pdftoppm`` (Debian: poppler-utils). ``--out-pdf`` keeps the whole PDF to look at
every page.
"""

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mdt_desk.documents.indicators_summary import (
    gather_indicators_summary,
    render_indicators_summary,
    write_indicators_summary,
)
from mdt_desk.models.store import Store
from mdt_desk.services.dates import add_months
from mdt_desk.services.demo import DEMO_LOCALITY
from mdt_desk.services.indicators import LONDON, Period, locality_scope, practice_scope

SCREENSHOT = ROOT / "docs" / "screenshots" / "indicators-summary-pdf.png"


def last_whole_months(months: int, today: dt.date) -> Period:
    first_of_this = today.replace(day=1)
    return Period(add_months(first_of_this, -months), first_of_this - dt.timedelta(days=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--practice", help="a practice's ODS code (default: the locality)")
    parser.add_argument("--locality", default=DEMO_LOCALITY)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--out", type=Path, default=SCREENSHOT)
    parser.add_argument("--out-pdf", type=Path, help="also keep the PDF here")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    period = last_whole_months(args.months, now.astimezone(LONDON).date())
    with Store.open(args.store, create=False) as store, store.read() as session:
        scope = (
            practice_scope(session, args.practice)
            if args.practice
            else locality_scope(session, args.locality)
        )
        summary = gather_indicators_summary(session, scope, period)
    pdf = render_indicators_summary(summary, now=now, printed_by="Demo team lead")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "summary.pdf"
        write_indicators_summary(source, pdf)
        if args.out_pdf:
            shutil.copyfile(source, args.out_pdf)
        stem = Path(folder) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", source, stem],
            check=True,
        )
        args.out.write_bytes(stem.with_suffix(".png").read_bytes())
    print(f"{args.out} (page 1 of {pdf.pages})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
