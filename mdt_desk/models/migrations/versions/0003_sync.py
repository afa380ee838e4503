"""Sync: the review queue (conflicts and duplicates the team hub found)

Revision ID: 0003_sync
Revises: 0002_meetings
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.journal import drop_journal_triggers, install_journal_triggers

revision: str = "0003_sync"
down_revision: str | None = "0002_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Journalled columns, frozen with this revision (see models/journal.py).
REVIEW_ITEM = [
    "kind", "entity", "row_id", "field", "kept_value", "other_value", "kept_by", "other_by",
    "kept_at", "other_at", "kept_desk", "other_desk", "other_row_id", "detail",
    "resolved_at", "resolution", "resolved_by_id", "created_at", "updated_at", "retired_at",
]


def upgrade() -> None:
    op.create_table(
        "review_item",
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("row_id", sa.String(32), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("kept_value", sa.Text(), nullable=True),
        sa.Column("other_value", sa.Text(), nullable=True),
        sa.Column("kept_by", sa.String(200), nullable=False),
        sa.Column("other_by", sa.String(200), nullable=False),
        sa.Column("kept_at", sa.String(40), nullable=False),
        sa.Column("other_at", sa.String(40), nullable=False),
        sa.Column("kept_desk", sa.String(32), nullable=False),
        sa.Column("other_desk", sa.String(32), nullable=False),
        sa.Column("other_row_id", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(40), nullable=False),
        sa.Column("resolved_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["staff.id"], name=op.f("fk_review_item_resolved_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
    )
    op.create_index("ix_review_item_open", "review_item", ["resolved_at", "kind"], unique=False)
    install_journal_triggers(op.get_bind(), [("review_item", REVIEW_ITEM, False)])


def downgrade() -> None:
    drop_journal_triggers(op.get_bind(), "review_item")
    op.drop_index("ix_review_item_open", table_name="review_item")
    op.drop_table("review_item")
