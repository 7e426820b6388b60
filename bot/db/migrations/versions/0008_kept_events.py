"""encryption: encrypted events kept until their room key arrives

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("keys_requested", sa.Boolean(), nullable=False),
        sa.Column("given_up_at", UTCDateTime(), nullable=True),
        sa.Column("told", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_kept_events_sender", "kept_events", ["sender"])
    op.create_index("ix_kept_events_received_at", "kept_events", ["received_at"])


def downgrade() -> None:
    op.drop_table("kept_events")
