"""privacy: per-account retention overrides (accounts.keep_numbers_days, keep_audio_days)

Self-contained (two nullable columns), so it can be re-chained after other revisions.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_numbers_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("keep_audio_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("keep_audio_days")
        batch_op.drop_column("keep_numbers_days")
