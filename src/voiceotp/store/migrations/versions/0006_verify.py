"""verify: codes made up by the gateway (Verify/Check), per-account fraud-guard overrides

Self-contained: it only creates its own tables, so it can be re-chained after any other
revision.

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("voiceid", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("mobile", sa.String(length=16), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_mac", sa.String(length=64), nullable=False),
        sa.Column("code_enc", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("verified_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index("verifications_by_voiceid", ["voiceid"], unique=True)
        batch_op.create_index(
            "verifications_by_number", ["account_id", "mobile", "id"], unique=False
        )
        batch_op.create_index("verifications_by_time", ["created_at"], unique=False)
    op.create_table(
        "fraud_overrides",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("min_conversion", sa.Float(), nullable=True),
        sa.Column("min_codes", sa.Integer(), nullable=True),
        sa.Column("allow_prefixes", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("fraud_overrides")
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index("verifications_by_time")
        batch_op.drop_index("verifications_by_number")
        batch_op.drop_index("verifications_by_voiceid")
    op.drop_table("verifications")
