"""Withdrawn seals: the team hub's seals a restored hub no longer holds, kept aside

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


def downgrade() -> None:
    connection = op.get_bind()
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
