"""The desk store: typed records, the change journal and the SQLite file itself.

No Qt and no I/O beyond the database live here.
"""

from mdt_desk.models.base import Base, SyncedRecord, new_id, utc_now
from mdt_desk.models.entities import (
    APPEND_ONLY_TABLES,
    SYNCED_MODELS,
    Action,
    AgendaItem,
    Alert,
    Attendance,
    CareTeamMember,
    Case,
    Consent,
    CoordinatorAssignment,
    Goal,
    Intervention,
    LongTermCondition,
    Meeting,
    Note,
    OutcomeEvent,
    Patient,
    Practice,
    Staff,
    StaffPracticeCover,
    synced_tables,
)
from mdt_desk.models.journal import JournalChange, JournalContext, JournalTransaction, StoreMeta

__all__ = [
    "APPEND_ONLY_TABLES",
    "SYNCED_MODELS",
    "Action",
    "AgendaItem",
    "Alert",
    "Attendance",
    "Base",
    "CareTeamMember",
    "Case",
    "Consent",
    "CoordinatorAssignment",
    "Goal",
    "Intervention",
    "JournalChange",
    "JournalContext",
    "JournalTransaction",
    "LongTermCondition",
    "Meeting",
    "Note",
    "OutcomeEvent",
    "Patient",
    "Practice",
    "Staff",
    "StaffPracticeCover",
    "StoreMeta",
    "SyncedRecord",
    "new_id",
    "synced_tables",
    "utc_now",
]
