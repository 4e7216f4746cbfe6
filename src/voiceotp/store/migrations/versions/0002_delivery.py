"""delivery: call attempts, outbox, redial time, per-account charge policy

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_before", sa.Float(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_unconnected", sa.Boolean(), nullable=True))
    op.create_table(
        "call_attempts",
        sa.Column("voiceid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.Column("q850", sa.Integer(), nullable=True),
        sa.Column("submit_at", sa.Float(), nullable=False),
        sa.Column("invite_at", sa.Float(), nullable=True),
        sa.Column("ring_at", sa.Float(), nullable=True),
        sa.Column("answer_at", sa.Float(), nullable=True),
        sa.Column("end_at", sa.Float(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("voiceid", "attempt"),
    )
    op.create_table(
        "outbox",
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=16), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("report_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("outbox_due", ["state", "next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("outbox_due")
    op.drop_table("outbox")
    op.drop_table("call_attempts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("refund_unconnected")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("not_before")
