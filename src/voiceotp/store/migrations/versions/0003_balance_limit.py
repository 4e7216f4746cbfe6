"""balance limit: CHECK (balance <= 10**15), the hard ceiling of every balance

Balances stay far below int64, so no balance + change and no SUM(ledger) can overflow
(SQLite silently turned an overflowing balance into a float). The value is written out
here: a migration keeps what it meant when it was written (records.BALANCE_LIMIT now).
A database holding a larger balance refuses this upgrade; correct that account first.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_check_constraint("balance_within_limit", "balance <= 1000000000000000")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint("balance_within_limit", type_="check")
