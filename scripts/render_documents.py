"""Render the first page of each document to docs/screenshots/ from a demo store.

    .venv/bin/mdt-desk demo --patients 2000 --store /tmp/docs-demo.sqlite
    .venv/bin/python scripts/render_documents.py --store /tmp/docs-demo.sqlite

Picks the open case with the most open actions (with goals and a care team), the
latest finished meeting with a discussed item, and that meeting's practice for the
caseload list. Uses ``preview`` so the demo store gets no print records. Needs
``pdftoppm`` (Debian: poppler-utils).
"""

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mdt_desk import documents
from mdt_desk.documents import DocumentKind, DocumentRequest
from mdt_desk.models.enums import MeetingStatus
from mdt_desk.models.store import Store
from mdt_desk.services import meetings
from mdt_desk.services.case_view import load_record
from mdt_desk.services.caseload import CaseloadQuery, caseload_rows
from mdt_desk.services.desk import Desk

SCREENSHOTS = ROOT / "docs" / "screenshots"
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def _pick_case(desk: Desk) -> tuple[uuid.UUID, uuid.UUID]:
    today = NOW.date()
    with desk.read() as session:
        rows = caseload_rows(session, CaseloadQuery(), limit=100_000, today=today)
        best: tuple[uuid.UUID, uuid.UUID] | None = None
        for row in sorted(rows, key=lambda r: (-r.open_actions, str(r.case_id))):
            if row.date_of_death is not None or row.coordinator_id is None:
                continue
            record = load_record(session, row.patient_id, row.case_id, today)
            case = record.case
            if case is not None and case.goals and len(case.care_team) >= 2:
                best = (row.patient_id, row.case_id)
                break
    assert best is not None, "no demo case with actions, goals and a team"
    return best


def _pick_meeting(desk: Desk) -> meetings.MeetingSummary:
    with desk.read() as session:
        finished = [
            meeting
            for meeting in meetings.list_meetings(session)
            if meeting.status is MeetingStatus.FINISHED
        ]
        for meeting in sorted(finished, key=lambda m: m.starts_at, reverse=True):
            detail = meetings.get_meeting(session, meeting.id)
            if any(entry.discussed for entry in detail.agenda):
                return meeting
    raise SystemExit("no finished demo meeting with a discussed item")


def _first_page_png(pdf: bytes, name: str) -> Path:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(pdf)
        stem = Path(folder) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", source, stem],
            check=True,
        )
        target = SCREENSHOTS / name
        target.write_bytes(stem.with_suffix(".png").read_bytes())
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    with Store.open(args.store, create=False) as store:
        desk = Desk.for_store(store)
        patient_id, case_id = _pick_case(desk)
        meeting = _pick_meeting(desk)
        requests = {
            "care-plan.png": DocumentRequest(
                DocumentKind.CARE_PLAN, patient_id=patient_id, case_id=case_id
            ),
            "care-plan-large-print.png": DocumentRequest(
                DocumentKind.CARE_PLAN, patient_id=patient_id, case_id=case_id, large_print=True
            ),
            "agenda-initials.png": DocumentRequest(
                DocumentKind.AGENDA_INITIALS, meeting_id=meeting.id
            ),
            "minutes.png": DocumentRequest(DocumentKind.MINUTES, meeting_id=meeting.id),
            "caseload-list.png": DocumentRequest(
                DocumentKind.CASELOAD_LIST, practice_id=meeting.practice_id
            ),
        }
        for name, request in requests.items():
            document = documents.preview(desk, request, now=NOW)
            path = _first_page_png(document.content, name)
            print(f"{path.relative_to(ROOT)}: {document.title}, {document.pages} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
