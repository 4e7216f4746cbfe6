"""voice notifications' audio: operators' recordings of a template's fixed parts
(template_recordings) and how many times a template's notices are said
(notice_templates.play_times)

Self-contained (one new table, one new column), so it can be re-chained after other
revisions.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_recordings",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("file_ref", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["template_id"], ["notice_templates.id"]),
        sa.PrimaryKeyConstraint("template_id", "part"),
    )
    with op.batch_alter_table("notice_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("play_times", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    op.execute("ALTER TABLE notice_templates DROP COLUMN play_times")
    op.drop_table("template_recordings")
