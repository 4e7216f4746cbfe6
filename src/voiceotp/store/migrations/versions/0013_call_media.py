"""media quality on the call record: the RTP statistics of an answered SIP call as
columns of ``call_attempts`` (they were only text in ``detail``)

``rtp_in_*``: the callee's RTP as we received it (packets, lost, interarrival jitter in
ms; RFC 3550 A.3, A.8); ``rtp_out_*``: what the callee's RTCP reported about ours. NULL
when not measured (not answered, another dialer, no RTCP report from the callee).
Self-contained (new nullable columns only), so it can be re-chained after other revisions.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = (
    ("rtp_in_packets", sa.Integer()),
    ("rtp_in_lost", sa.Integer()),
    ("rtp_in_jitter_ms", sa.Float()),
    ("rtp_out_lost", sa.Integer()),
    ("rtp_out_jitter_ms", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it), as 0011 does: no table rebuild.
    for name, _ in COLUMNS:
        op.execute(f"ALTER TABLE call_attempts DROP COLUMN {name}")
