"""voice notifications: per-account templates (notice_templates), the notice columns of
calls (kind, notice_text, template_id) and each account's quiet hours and time zone

Self-contained (one new table and new columns), so it can be re-chained after other
revisions. Columns are added, never altered: ``calls.content`` stays VARCHAR(8) (a
code's digits); a notice's text goes to ``notice_text``.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CALL_COLUMNS = ("kind", "notice_text", "template_id")
ACCOUNT_COLUMNS = ("quiet_hours", "time_zone")


def upgrade() -> None:
    op.create_table(
        "notice_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("var_max", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("decided_at", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("notice_templates_by_account", "notice_templates", ["account_id", "state"])
    op.create_index("notice_templates_by_state", "notice_templates", ["state", "submitted_at"])
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default=sa.text("'code'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("notice_text", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch would rebuild ``calls`` and
    # ``accounts`` from reflection, and risk their partial index and CHECKs.
    for column in CALL_COLUMNS:
        op.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    for column in ACCOUNT_COLUMNS:
        op.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
    op.drop_index("notice_templates_by_state", table_name="notice_templates")
    op.drop_index("notice_templates_by_account", table_name="notice_templates")
    op.drop_table("notice_templates")
