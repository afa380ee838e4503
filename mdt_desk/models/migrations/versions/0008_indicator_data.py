"""Indicator data: discharges, permanent placements, referrals not accepted, experience
survey responses, practice list sizes

Revision ID: 0008_indicator_data
Revises: 0007_journal_seals
Create Date: 2026-12-06 17:00:00
"""

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mdt_desk.models.clock import next_hlc, system_wall_clock
from mdt_desk.models.journal import drop_journal_triggers, install_journal_triggers
from mdt_desk.models.seal import seal_local_transaction

revision: str = "0008_indicator_data"
down_revision: str | None = "0007_journal_seals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMMON = ["created_at", "updated_at", "retired_at"]

# Journalled columns after this revision, frozen with it (see models/journal.py).
_CARE_CASE_BEFORE = [
    "patient_id",
    "status",
    "referral_source",
    "referral_reason",
    "referral_urgency",
    "referred_on",
    "accepted_on",
    "closed_on",
    "closure_reason",
    "closure_note",
    "next_review_on",
    "escalated",
    *_COMMON,
]
CARE_CASE = [*_CARE_CASE_BEFORE, "not_accepted_reason"]
_OUTCOME_EVENT_BEFORE = [
    "patient_id",
    "case_id",
    "kind",
    "occurred_on",
    "source",
    "delayed_days",
    *_COMMON,
]
OUTCOME_EVENT = [*_OUTCOME_EVENT_BEFORE, "discharged_on", "discharge_destination", "permanent"]
EXPERIENCE_RESPONSE = [
    "patient_id",
    "case_id",
    "statement",
    "agreement",
    "answered_on",
    "collected_how",
    "by_proxy",
    *_COMMON,
]
PRACTICE_LIST_SIZE = ["practice_id", "extract_date", "age_band", "sex", "patients", *_COMMON]

#: The journal's name for this upgrade's transaction (``sync/protocol.py``: a value an
#: upgrade gives a new column only fills a field nobody has set).
_UPGRADE_LABEL = "MDT Desk upgrade (schema 0008)"
_SCHEMA_VERSION = 8


def _synced_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    connection = op.get_bind()
    for table in ("care_case", "outcome_event"):
        drop_journal_triggers(connection, table)
    # ADD COLUMN in place: no table rebuild, so other triggers and journal rows stay.
    op.add_column("care_case", sa.Column("not_accepted_reason", sa.String(40), nullable=True))
    op.add_column("outcome_event", sa.Column("discharged_on", sa.Date(), nullable=True))
    op.add_column("outcome_event", sa.Column("discharge_destination", sa.String(40), nullable=True))
    op.add_column(
        "outcome_event",
        sa.Column("permanent", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_table(
        "experience_response",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("statement", sa.String(40), nullable=False),
        sa.Column("agreement", sa.Integer(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("collected_how", sa.String(40), nullable=False),
        sa.Column("by_proxy", sa.Boolean(), nullable=False, server_default="0"),
        *_synced_columns(),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_experience_response_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["care_case.id"], name=op.f("fk_experience_response_case_id_care_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_response")),
    )
    op.create_index(
        op.f("ix_experience_response_patient_id"), "experience_response", ["patient_id"]
    )
    op.create_index(op.f("ix_experience_response_case_id"), "experience_response", ["case_id"])
    op.create_index(
        "ix_experience_response_answered", "experience_response", ["answered_on", "statement"]
    )
    op.create_table(
        "practice_list_size",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("extract_date", sa.Date(), nullable=False),
        sa.Column("age_band", sa.String(10), nullable=False),
        sa.Column("sex", sa.String(10), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        *_synced_columns(),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_practice_list_size_practice_id_practice"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_list_size")),
    )
    op.create_index(
        "ix_practice_list_size_practice_extract",
        "practice_list_size",
        ["practice_id", "extract_date"],
    )
    # The indicators' scope and caseload read from these alone (see models/entities.py).
    op.create_index("ix_patient_practice_retired", "patient", ["practice_id", "retired_at", "id"])
    op.create_index(
        "ix_care_case_patient_open",
        "care_case",
        ["patient_id", "retired_at", "referred_on", "closed_on"],
    )
    _journal_new_defaults(connection)
    install_journal_triggers(
        connection,
        [
            ("care_case", CARE_CASE, False),
            ("outcome_event", OUTCOME_EVENT, False),
            ("experience_response", EXPERIENCE_RESPONSE, False),
            ("practice_list_size", PRACTICE_LIST_SIZE, False),
        ],
    )


def _journal_new_defaults(connection: sa.Connection) -> None:
    """Journal the ``permanent`` flag existing outcome events now have (as 0004 and 0006
    do), and seal that transaction into this desk's chain (stores seal since 0007)."""
    if not connection.execute(sa.text("SELECT count(*) FROM outcome_event")).scalar_one():
        return
    meta: dict[str, str] = {
        str(key): str(value)
        for key, value in connection.execute(sa.text("SELECT key, value FROM store_meta"))
    }
    hlc = next_hlc(int(meta.get("hlc", "0")), system_wall_clock())
    connection.execute(
        sa.text("UPDATE store_meta SET value = :hlc WHERE key = 'hlc'"), {"hlc": str(hlc)}
    )
    replica = uuid.UUID(meta["replica_id"]).hex
    connection.execute(
        sa.text(
            "INSERT INTO journal_tx (tx_uuid, replica_id, actor_id, actor_label, hlc,"
            " recorded_at, schema_version) VALUES (:tx_uuid, :replica, NULL,"
            " :label, :hlc, :now, :schema)"
        ),
        {
            "tx_uuid": uuid.uuid4().hex,
            "replica": replica,
            "label": _UPGRADE_LABEL,
            "hlc": hlc,
            "now": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
            "schema": _SCHEMA_VERSION,
        },
    )
    tx = connection.execute(sa.text("SELECT max(tx) FROM journal_tx")).scalar_one()
    after_seq = connection.execute(
        sa.text("SELECT coalesce(max(origin_seq), 0) FROM journal_change")
    ).scalar_one()
    connection.execute(
        sa.text(
            "INSERT INTO journal_change (tx, entity, row_id, field, op, old_value, new_value)"
            " SELECT :tx, 'outcome_event', id, 'permanent', 'set', NULL, json_quote(permanent)"
            " FROM outcome_event ORDER BY id"
        ),
        {"tx": tx},
    )
    seal_local_transaction(connection, int(tx), int(after_seq))


def downgrade() -> None:
    connection = op.get_bind()
    for table in ("care_case", "outcome_event", "experience_response", "practice_list_size"):
        drop_journal_triggers(connection, table)
    op.drop_index("ix_care_case_patient_open", table_name="care_case")
    op.drop_index("ix_patient_practice_retired", table_name="patient")
    op.drop_index("ix_practice_list_size_practice_extract", table_name="practice_list_size")
    op.drop_table("practice_list_size")
    op.drop_index("ix_experience_response_answered", table_name="experience_response")
    op.drop_index(op.f("ix_experience_response_case_id"), table_name="experience_response")
    op.drop_index(op.f("ix_experience_response_patient_id"), table_name="experience_response")
    op.drop_table("experience_response")
    with op.batch_alter_table("outcome_event") as batch_op:
        for column in ("permanent", "discharge_destination", "discharged_on"):
            batch_op.drop_column(column)
    with op.batch_alter_table("care_case") as batch_op:
        batch_op.drop_column("not_accepted_reason")
    install_journal_triggers(
        connection,
        [
            ("care_case", _CARE_CASE_BEFORE, False),
            ("outcome_event", _OUTCOME_EVENT_BEFORE, False),
        ],
    )
