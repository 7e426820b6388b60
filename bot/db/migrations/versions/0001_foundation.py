"""foundation: members, room settings, sync position, handled events, bot session

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255)),
        sa.Column("language", sa.String(8)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "room_settings",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("language", sa.String(8)),
        sa.Column("timezone", sa.String(64)),
    )
    op.create_table(
        "sync_state",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("next_batch", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"])
    op.create_table(
        "bot_session",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("device_id", sa.String(255), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("homeserver", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("bot_session", "handled_events", "sync_state", "room_settings", "members"):
        op.drop_table(table)
