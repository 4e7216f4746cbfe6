"""abuse allowance: an account's own thresholds for the abuse detectors

``accounts.abuse_distinct_numbers`` and ``accounts.abuse_prefix_burst``: NULL = the
server's setting, 0 = that detector off for the account, N = the account's threshold (a
customer who sends batches to its own number range). Nullable INTEGER columns, as the
per-number caps are: nothing to fill in for existing accounts.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("abuse_distinct_numbers", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("abuse_prefix_burst", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("abuse_prefix_burst")
        batch_op.drop_column("abuse_distinct_numbers")
