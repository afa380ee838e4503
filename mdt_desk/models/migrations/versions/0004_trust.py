"""Trust: sensitive actions and notes, deferral reasons, locality names, typed drafts

Revision ID: 0004_trust
Revises: 0003_sync
Create Date: 2026-12-05 09:00:00
"""

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.clock import next_hlc, system_wall_clock
from mdt_desk.models.journal import drop_journal_triggers, install_journal_triggers

revision: str = "0004_trust"
down_revision: str | None = "0003_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = ["created_at", "updated_at", "retired_at"]

# Journalled columns after this revision, frozen with it (see models/journal.py).
ACTION = [
    "case_id", "goal_id", "meeting_id", "description", "owner_id", "due_on", "status",
    "completed_on", *_COMMON, "sensitive",
]
NOTE = ["case_id", "author_id", "written_at", "body", "amends_note_id", *_COMMON, "sensitive"]
AGENDA_ITEM = [
    "meeting_id", "case_id", "position", "reason", "reason_detail", "minutes_allotted",
    "presenter_id", "carried_count", "summary", "outcome", "decisions", "discussed_at",
    "minutes_taken", *_COMMON, "dismissed", "seconds_taken", "deferral_reason",
]
LOCALITY = ["code", "name", *_COMMON]

_ACTION_BEFORE = [c for c in ACTION if c != "sensitive"]
_NOTE_BEFORE = [c for c in NOTE if c != "sensitive"]
_AGENDA_ITEM_BEFORE = [c for c in AGENDA_ITEM if c != "deferral_reason"]


def upgrade() -> None:
    connection = op.get_bind()
    for table in ("action", "note", "agenda_item"):
        drop_journal_triggers(connection, table)
    # ADD COLUMN in place: no table rebuild, so other triggers and journal rows stay.
    op.add_column(
        "action", sa.Column("sensitive", sa.Boolean(), nullable=False, server_default="0")
    )
    op.add_column(
        "note", sa.Column("sensitive", sa.Boolean(), nullable=False, server_default="0")
    )
    op.add_column(
        "agenda_item",
        sa.Column("deferral_reason", sa.Text(), nullable=False, server_default=""),
    )
    op.create_table(
        "locality",
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locality")),
    )
    op.create_index(op.f("ix_locality_code"), "locality", ["code"], unique=False)
    # Drafts are this desk's unsaved typing: local, never journalled or synced.
    op.create_table(
        "draft",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_draft")),
    )
    _journal_new_defaults(connection)
    install_journal_triggers(
        connection,
        [
            ("action", ACTION, False),
            ("note", NOTE, True),
            ("agenda_item", AGENDA_ITEM, False),
            ("locality", LOCALITY, False),
        ],
    )


def _journal_new_defaults(connection: sa.Connection) -> None:
    """Journal the values the new columns took in existing rows (as 0002 does)."""
    existing = connection.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM action) + (SELECT count(*) FROM note)"
            " + (SELECT count(*) FROM agenda_item)"
        )
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
            " 'MDT Desk upgrade (schema 0004)', :hlc, :now, 4)"
        ),
        {
            "tx_uuid": uuid.uuid4().hex,
            "replica": uuid.UUID(meta["replica_id"]).hex,
            "hlc": hlc,
            "now": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
        },
    )
    tx = connection.execute(sa.text("SELECT max(tx) FROM journal_tx")).scalar_one()
    for table, field in (
        ("action", "sensitive"),
        ("note", "sensitive"),
        ("agenda_item", "deferral_reason"),
    ):
        connection.execute(
            sa.text(
                "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)"
                f" SELECT :tx, '{table}', id, '{field}', 'set', NULL, json_quote({field})"
                f" FROM {table} ORDER BY id"
            ),
            {"tx": tx},
        )


def downgrade() -> None:
    connection = op.get_bind()
    for table in ("action", "note", "agenda_item", "locality"):
        drop_journal_triggers(connection, table)
    op.drop_table("draft")
    op.drop_index(op.f("ix_locality_code"), table_name="locality")
    op.drop_table("locality")
    with op.batch_alter_table("agenda_item") as batch_op:
        batch_op.drop_column("deferral_reason")
    with op.batch_alter_table("note") as batch_op:
        batch_op.drop_column("sensitive")
    with op.batch_alter_table("action") as batch_op:
        batch_op.drop_column("sensitive")
    install_journal_triggers(
        connection,
        [
            ("action", _ACTION_BEFORE, False),
            ("note", _NOTE_BEFORE, True),
            ("agenda_item", _AGENDA_ITEM_BEFORE, False),
        ],
    )
