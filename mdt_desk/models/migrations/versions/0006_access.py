"""Access: roles, PIN hashes and leavers on staff; the access log

Revision ID: 0006_access
Revises: 0005_import_staging
Create Date: 2026-12-06 10:00:00
"""

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.clock import next_hlc, system_wall_clock
from mdt_desk.models.journal import drop_journal_triggers, install_journal_triggers

revision: str = "0006_access"
down_revision: str | None = "0005_import_staging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = ["created_at", "updated_at", "retired_at"]

# Journalled columns after this revision, frozen with it (see models/journal.py).
_STAFF_BEFORE = [
    "family_name",
    "given_name",
    "title",
    "profession",
    "organisation",
    "email",
    "phone",
    *_COMMON,
]
STAFF = [*_STAFF_BEFORE, "roles", "pin_hash", "pin_must_change", "left_on"]
ACCESS_EVENT = ["at", "staff_id", "patient_id", "action", "desk", "reason", *_COMMON]

#: What staff already on a store may do after the upgrade: what they could before
#: (everything clinical). Nobody is an administrator until the first PIN is set: the
#: person who sets it becomes one (``services/access.py``), as on a new store.
_EXISTING_STAFF_ROLES = "care_coordinator mdt_chair"


def upgrade() -> None:
    connection = op.get_bind()
    drop_journal_triggers(connection, "staff")
    op.add_column("staff", sa.Column("roles", sa.String(200), nullable=False, server_default=""))
    op.add_column("staff", sa.Column("pin_hash", sa.String(200), nullable=False, server_default=""))
    op.add_column(
        "staff",
        sa.Column("pin_must_change", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.add_column("staff", sa.Column("left_on", sa.Date(), nullable=True))
    op.create_table(
        "access_event",
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("desk", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_access_event_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_access_event_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_event")),
    )
    op.create_index(op.f("ix_access_event_staff_id"), "access_event", ["staff_id"], unique=False)
    op.create_index(
        "ix_access_event_patient_at", "access_event", ["patient_id", "at"], unique=False
    )
    _journal_existing_staff_roles(connection)
    install_journal_triggers(
        connection, [("staff", STAFF, False), ("access_event", ACCESS_EVENT, True)]
    )


def _journal_existing_staff_roles(connection: sa.Connection) -> None:
    """Give staff already here their roles, journalled like any change (as 0004 does)."""
    if not connection.execute(sa.text("SELECT count(*) FROM staff")).scalar_one():
        return
    connection.execute(sa.text("UPDATE staff SET roles = :roles"), {"roles": _EXISTING_STAFF_ROLES})
    meta = dict(connection.execute(sa.text("SELECT key, value FROM store_meta")).all())
    hlc = next_hlc(int(meta.get("hlc", "0")), system_wall_clock())
    connection.execute(
        sa.text("UPDATE store_meta SET value = :hlc WHERE key = 'hlc'"), {"hlc": str(hlc)}
    )
    connection.execute(
        sa.text(
            "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
            " recorded_at, schema_version) VALUES (:tx_uuid, :replica, NULL,"
            " 'MDT Desk upgrade (schema 0006)', :hlc, :now, 6)"
        ),
        {
            "tx_uuid": uuid.uuid4().hex,
            "replica": uuid.UUID(meta["replica_id"]).hex,
            "hlc": hlc,
            "now": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
        },
    )
    tx = connection.execute(sa.text("SELECT max(tx) FROM journal_tx")).scalar_one()
    for field in ("roles", "pin_hash", "pin_must_change", "left_on"):
        connection.execute(
            sa.text(
                "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)"
                f" SELECT :tx, 'staff', id, '{field}', 'set', NULL, json_quote({field})"
                " FROM staff ORDER BY id"
            ),
            {"tx": tx},
        )


def downgrade() -> None:
    connection = op.get_bind()
    for table in ("staff", "access_event"):
        drop_journal_triggers(connection, table)
    op.drop_index("ix_access_event_patient_at", table_name="access_event")
    op.drop_index(op.f("ix_access_event_staff_id"), table_name="access_event")
    op.drop_table("access_event")
    with op.batch_alter_table("staff") as batch_op:
        for column in ("left_on", "pin_must_change", "pin_hash", "roles"):
            batch_op.drop_column(column)
    install_journal_triggers(connection, [("staff", _STAFF_BEFORE, False)])
