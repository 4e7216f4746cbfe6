"""voiceid start: a new store's voiceid sequence starts at a random number

voiceids are ``n << 24 | keyed tag(n)`` over one sequence per store. Every store used to
start it at 0, so stores sharing a server key — every development store, whose key is the
well-known one — handed out the same voiceids (the demo's repeated across fresh data
folders). A store that has not handed out an id yet now starts at a random n below 2**24
(voiceids stay below 2**48, far inside int64 and the 2**38 sequence limit); the absolute
count of calls is no longer read off an id either. A store already in use keeps its
sequence. Nothing to undo on downgrade: the sequence only ever moves forward.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    start = 1 + secrets.randbelow(2**24 - 1)
    op.execute(
        sa.text(
            "UPDATE counters SET value = :start WHERE name = 'voiceid_seq' AND value = 0"
        ).bindparams(start=start)
    )


def downgrade() -> None:
    pass
