"""Meetings: titles, recurring series, locality meetings, meeting-mode timing, amendments;
print records

Revision ID: 0002_meetings
Revises: 0001_initial
Create Date: 2026-12-02 02:50:00
"""

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.clock import next_hlc, system_wall_clock
from mdt_desk.models.journal import drop_journal_triggers, install_journal_triggers

revision: str = "0002_meetings"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = ["created_at", "updated_at", "retired_at"]

# Journalled columns after this revision, frozen with it (see models/journal.py).
MEETING = [
    "practice_id", "starts_at", "duration_minutes", "location", "video_link", "chair_id",
    "status", *_COMMON, "title", "series_id", "repeat_weeks", "started_at", "finished_at",
]
AGENDA_ITEM = [
    "meeting_id", "case_id", "position", "reason", "reason_detail", "minutes_allotted",
    "presenter_id", "carried_count", "summary", "outcome", "decisions", "discussed_at",
    "minutes_taken", *_COMMON, "dismissed", "seconds_taken",
]
MEETING_PRACTICE = ["meeting_id", "practice_id", *_COMMON]
MEETING_AMENDMENT = ["meeting_id", "agenda_item_id", "author_id", "written_at", "body", *_COMMON]
PRINT_RECORD = [
    "kind", "patient_id", "case_id", "meeting_id", "practice_id", "printed_by_id", "printed_at",
    "plan_version", "content_sha256", "pages", "large_print", *_COMMON,
]

_MEETING_BEFORE = [c for c in MEETING if c not in ("title", "series_id", "repeat_weeks",
                                                    "started_at", "finished_at")]
_AGENDA_ITEM_BEFORE = [c for c in AGENDA_ITEM if c not in ("dismissed", "seconds_taken")]


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    connection = op.get_bind()
    drop_journal_triggers(connection, "meeting")
    drop_journal_triggers(connection, "agenda_item")
    # ADD COLUMN in place: no table rebuild, so the other tables' triggers and the
    # journal rows of existing records stay exactly as they were.
    op.add_column("meeting", sa.Column("title", sa.String(200), nullable=False, server_default=""))
    op.add_column("meeting", sa.Column("series_id", sa.Uuid(), nullable=True))
    op.add_column("meeting", sa.Column("repeat_weeks", sa.Integer(), nullable=True))
    op.add_column("meeting", sa.Column("started_at", sa.DateTime(), nullable=True))
    op.add_column("meeting", sa.Column("finished_at", sa.DateTime(), nullable=True))
    op.add_column(
        "agenda_item", sa.Column("dismissed", sa.Boolean(), nullable=False, server_default="0")
    )
    op.add_column(
        "agenda_item",
        sa.Column("seconds_taken", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "meeting_practice",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_practice_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"],
            name=op.f("fk_meeting_practice_practice_id_practice"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_practice")),
    )
    op.create_index(
        op.f("ix_meeting_practice_meeting_id"), "meeting_practice", ["meeting_id"], unique=False
    )
    op.create_table(
        "meeting_amendment",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("agenda_item_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_amendment_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"], ["agenda_item.id"],
            name=op.f("fk_meeting_amendment_agenda_item_id_agenda_item"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff.id"], name=op.f("fk_meeting_amendment_author_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_amendment")),
    )
    op.create_index(
        op.f("ix_meeting_amendment_meeting_id"), "meeting_amendment", ["meeting_id"], unique=False
    )
    op.create_table(
        "print_record",
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("meeting_id", sa.Uuid(), nullable=True),
        sa.Column("practice_id", sa.Uuid(), nullable=True),
        sa.Column("printed_by_id", sa.Uuid(), nullable=True),
        sa.Column("printed_at", sa.DateTime(), nullable=False),
        sa.Column("plan_version", sa.String(40), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("large_print", sa.Boolean(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_print_record_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_case.id"], name=op.f("fk_print_record_case_id_care_case")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_print_record_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_print_record_practice_id_practice")
        ),
        sa.ForeignKeyConstraint(
            ["printed_by_id"], ["staff.id"], name=op.f("fk_print_record_printed_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_record")),
    )
    op.create_index(op.f("ix_print_record_case_id"), "print_record", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_print_record_meeting_id"), "print_record", ["meeting_id"], unique=False
    )
    _journal_new_defaults(connection)
    install_journal_triggers(
        connection,
        [
            ("meeting", MEETING, False),
            ("agenda_item", AGENDA_ITEM, False),
            ("meeting_practice", MEETING_PRACTICE, False),
            ("meeting_amendment", MEETING_AMENDMENT, True),
            # A print happened or it did not: its record is never edited, only withdrawn.
            ("print_record", PRINT_RECORD, True),
        ],
    )


def _journal_new_defaults(connection: sa.Connection) -> None:
    """Journal the values the new columns took in existing rows.

    ADD COLUMN fills them from the server default without firing a trigger; without
    journal rows, replaying the journal (the completeness check, and a desk rebuilt
    from the hub) would not give the same state. One journal transaction, made by the
    upgrade itself, records them.
    """
    existing = connection.execute(
        sa.text("SELECT (SELECT count(*) FROM meeting) + (SELECT count(*) FROM agenda_item)")
    ).scalar_one()
    if not existing:
        return
    meta = dict(connection.execute(sa.text("SELECT key, value FROM store_meta")).all())
    hlc = next_hlc(int(meta.get("hlc", "0")), system_wall_clock())
    connection.execute(
        sa.text("UPDATE store_meta SET value = :hlc WHERE key = 'hlc'"), {"hlc": str(hlc)}
    )
    connection.execute(
        sa.text(
            "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
            " recorded_at, schema_version) VALUES (:tx_uuid, :replica, NULL,"
            " 'MDT Desk upgrade (schema 0002)', :hlc, :now, 2)"
        ),
        {
            "tx_uuid": uuid.uuid4().hex,
            "replica": uuid.UUID(meta["replica_id"]).hex,
            "hlc": hlc,
            "now": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
        },
    )
    tx = connection.execute(sa.text("SELECT max(tx) FROM journal_tx")).scalar_one()
    for table, field, value in (
        ("meeting", "title", "title"),
        ("agenda_item", "dismissed", "dismissed"),
        ("agenda_item", "seconds_taken", "seconds_taken"),
    ):
        connection.execute(
            sa.text(
                "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)"
                f" SELECT :tx, '{table}', id, '{field}', 'set', NULL, json_quote({value})"
                f" FROM {table} ORDER BY id"
            ),
            {"tx": tx},
        )


def downgrade() -> None:
    connection = op.get_bind()
    for table in (
        "print_record", "meeting_amendment", "meeting_practice", "agenda_item", "meeting"
    ):
        drop_journal_triggers(connection, table)
    op.drop_index(op.f("ix_print_record_meeting_id"), table_name="print_record")
    op.drop_index(op.f("ix_print_record_case_id"), table_name="print_record")
    op.drop_table("print_record")
    op.drop_index(op.f("ix_meeting_amendment_meeting_id"), table_name="meeting_amendment")
    op.drop_table("meeting_amendment")
    op.drop_index(op.f("ix_meeting_practice_meeting_id"), table_name="meeting_practice")
    op.drop_table("meeting_practice")
    with op.batch_alter_table("agenda_item") as batch_op:
        batch_op.drop_column("seconds_taken")
        batch_op.drop_column("dismissed")
    with op.batch_alter_table("meeting") as batch_op:
        for column in ("finished_at", "started_at", "repeat_weeks", "series_id", "title"):
            batch_op.drop_column(column)
    install_journal_triggers(
        connection,
        [("meeting", _MEETING_BEFORE, False), ("agenda_item", _AGENDA_ITEM_BEFORE, False)],
    )
