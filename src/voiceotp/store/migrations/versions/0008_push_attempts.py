"""push attempts: every status-push POST per report (push_attempts), and the dialer that
placed each call attempt (call_attempts.dialer)

Self-contained (one new table and one column), so it can be re-chained after other
revisions.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("voiceid", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("push_attempts_by_voiceid", "push_attempts", ["voiceid", "id"])
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialer", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_column("dialer")
    op.drop_index("push_attempts_by_voiceid", table_name="push_attempts")
    op.drop_table("push_attempts")
