"""Patient imports in progress: tracked per import, their patients hidden until published

Revision ID: 0005_import_staging
Revises: 0004_trust
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_import_staging"
down_revision: str | None = "0004_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Local tables (see models/imports.py): never journalled, never synced.
    op.create_table(
        "patient_import",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_import")),
    )
    op.create_table(
        "patient_import_row",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.String(32), nullable=False),
        sa.Column("tx", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_import_row")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_patient_import_row_import_id"), "patient_import_row", ["import_id"], unique=False
    )
    # The single "unfinished import" mark in store_meta of an import interrupted before
    # this revision stays as it is: its rows were written visibly, and what it says
    # ("import the same file again to complete it") still holds.


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_import_row_import_id"), table_name="patient_import_row")
    op.drop_table("patient_import_row")
    op.drop_table("patient_import")
