"""Withdrawn seals (the team hub's seals a restored hub no longer holds, kept aside) and
scope removals (records that left this desk's practices, noted with their journal gaps)

Revision ID: 0009_seal_withdrawal
Revises: 0008_indicator_data
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.seal import (
    SEAL_WITHDRAWAL_DDL,
    SEAL_WITHDRAWN_TABLE_DDL,
)

revision: str = "0009_seal_withdrawal"
down_revision: str | None = "0008_indicator_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text(SEAL_WITHDRAWN_TABLE_DDL))
    connection.execute(sa.text("DROP TRIGGER journal_seal_no_delete"))
    for statement in SEAL_WITHDRAWAL_DDL:
        connection.execute(sa.text(statement))
    # What left this desk when its scope narrowed or a person moved practice: a note
    # per removal, and the journal it took (so `check` tells those gaps from loss).
    op.create_table(
        "scope_removal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.String(40), nullable=False),
        sa.Column("anchor", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("journal_rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_removal")),
    )
    op.create_table(
        "scope_removed_range",
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("first_seq", name=op.f("pk_scope_removed_range")),
    )
    # Records removed while this desk's own edits to them stay in its journal.
    op.create_table(
        "scope_removed_row",
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("row_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("entity", "row_id", name=op.f("pk_scope_removed_row")),
    )


def downgrade() -> None:
    connection = op.get_bind()
    for table in ("scope_removed_row", "scope_removed_range", "scope_removal"):
        op.drop_table(table)
    for name in (
        "journal_seal_no_delete",
        "journal_seal_withdrawn_no_update",
        "journal_seal_withdrawn_no_delete",
    ):
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    connection.execute(
        sa.text(
            "CREATE TRIGGER journal_seal_no_delete BEFORE DELETE ON journal_seal"
            " BEGIN SELECT RAISE(ABORT, 'The journal seals are append-only.'); END"
        )
    )
    op.drop_table("journal_seal_withdrawn")
