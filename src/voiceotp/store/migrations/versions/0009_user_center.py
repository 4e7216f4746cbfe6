"""user center: customer users tied to an account, trial accounts and the numbers they
proved, APIKEY rotation with a grace period, the low-balance alert, sign-ups and
certifications

Self-contained (new tables and columns), so it can be re-chained after other revisions.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _account_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("trial", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False),
        sa.Column("trial_numbers", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("old_apikey_enc", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("old_apikey_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("low_balance_alert", sa.Integer(), nullable=True),
        sa.Column(
            "low_balance_alerted", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False
        ),
    ]


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for column in _account_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("web_users_account", "accounts", ["account_id"], ["id"])
        batch_op.create_index("web_users_by_account", ["account_id"])
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("mobile", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("voiceid", sa.String(length=24), server_default=sa.text("''"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("signups_token", "signups", ["token_hash"], unique=True)
    op.create_index("signups_by_mobile", "signups", ["mobile", "created_at"])
    op.create_index("signups_by_ip", "signups", ["ip", "created_at"])
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_type", sa.String(length=64), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("file_ref", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("decided_at", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("certifications_by_account", "certifications", ["account_id", "id"])
    op.create_index("certifications_by_state", "certifications", ["state", "submitted_at"])


def downgrade() -> None:
    op.drop_index("certifications_by_state", table_name="certifications")
    op.drop_index("certifications_by_account", table_name="certifications")
    op.drop_table("certifications")
    op.drop_index("signups_by_ip", table_name="signups")
    op.drop_index("signups_by_mobile", table_name="signups")
    op.drop_index("signups_token", table_name="signups")
    op.drop_table("signups")
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.drop_index("web_users_by_account")
        batch_op.drop_constraint("web_users_account", type_="foreignkey")
        batch_op.drop_column("account_id")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for column in reversed(_account_columns()):
            batch_op.drop_column(column.name)
