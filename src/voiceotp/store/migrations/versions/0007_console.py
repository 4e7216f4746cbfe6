"""console: web users (operators), server-side sessions, sign-in throttling, web audit log,
call-record indexes, a note per account blacklist entry

Self-contained (new tables, indexes and one column), so it can be re-chained after
other revisions.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=8), server_default=sa.text("'zh'"), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("web_users_login", "web_users", ["kind", "login"], unique=True)
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("web_sessions_by_user", "web_sessions", ["user_id"])
    op.create_table(
        "web_signin_failures",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "web_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.String(length=128), server_default=sa.text("''"), nullable=False),
        sa.Column("before", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("after", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("ip", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("web_audit_by_time", "web_audit", ["at"])
    with op.batch_alter_table("account_blacklist", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
    # Console lists of call records: by account and by mobile, newest first (keyset).
    op.create_index("calls_by_account", "calls", ["account_id", "voiceid"])
    op.create_index("calls_by_mobile", "calls", ["mobile", "voiceid"])


def downgrade() -> None:
    with op.batch_alter_table("account_blacklist", schema=None) as batch_op:
        batch_op.drop_column("note")
    op.drop_index("calls_by_mobile", table_name="calls")
    op.drop_index("calls_by_account", table_name="calls")
    op.drop_index("web_audit_by_time", table_name="web_audit")
    op.drop_table("web_audit")
    op.drop_table("web_signin_failures")
    op.drop_index("web_sessions_by_user", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("web_users_login", table_name="web_users")
    op.drop_table("web_users")
