"""Journal seals: a hash chain per origin desk; the store's own history sealed

Revision ID: 0007_journal_seals
Revises: 0006_access
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.seal import (
    META_SEAL_BOUNDARY,
    SEAL_GUARD_DDL,
    SEAL_TABLE_DDL,
    hex_id,
    seal_history,
)

revision: str = "0007_journal_seals"
down_revision: str | None = "0006_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text(SEAL_TABLE_DDL))
    connection.execute(
        sa.text("CREATE INDEX ix_journal_seal_last ON journal_seal (origin, last_seq)")
    )
    op.create_table(
        "journal_unsealed",
        sa.Column("tx_id", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("tx_id", name=op.f("pk_journal_unsealed")),
    )
    op.create_table(
        "chain_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("found_at", sa.String(40), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("origin_label", sa.String(200), nullable=False),
        sa.Column("origin_seq", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_alarm")),
        sa.UniqueConstraint("origin", "origin_seq", name="uq_chain_alarm_place"),
    )
    for statement in SEAL_GUARD_DDL:
        connection.execute(sa.text(statement))
    meta = dict(connection.execute(sa.text("SELECT key, value FROM store_meta")).all())
    boundary = connection.execute(
        sa.text("SELECT coalesce(max(tx), 0) FROM journal_tx")
    ).scalar_one()
    if "replica_id" in meta:  # an existing store: seal what it made itself
        seal_history(connection, hex_id(meta["replica_id"]))
    # Other desks' transactions received up to now came without seals; any later one
    # must bring its seal (or be listed in journal_unsealed by sync).
    connection.execute(
        sa.text("INSERT INTO store_meta (key, value) VALUES (:k, :v)"),
        {"k": META_SEAL_BOUNDARY, "v": str(int(boundary))},
    )


def downgrade() -> None:
    connection = op.get_bind()
    for name in (
        "journal_seal_no_update",
        "journal_seal_no_delete",
        "journal_unsealed_no_update",
        "journal_unsealed_no_delete",
    ):
        connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    op.drop_table("chain_alarm")
    op.drop_table("journal_unsealed")
    op.drop_table("journal_seal")
    connection.execute(sa.text("DELETE FROM store_meta WHERE key = :k"), {"k": META_SEAL_BOUNDARY})
