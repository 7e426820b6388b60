"""digest: room activity counts, subscriptions, deliveries, indexes for the weekly figures

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_activity",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_room_activity_day", "room_activity", ["day", "room_id", "count"])
    op.create_table(
        "digest_subscriptions",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("language", sa.String(8)),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
    )
    op.create_index("ix_room_memberships_since", "room_memberships", ["since"])
    op.create_index("ix_members_intro_at", "members", ["intro_at"])
    op.create_index("ix_round_answers_answered_at", "round_answers", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_round_answers_answered_at", "round_answers")
    op.drop_index("ix_members_intro_at", "members")
    op.drop_index("ix_room_memberships_since", "room_memberships")
    for table in ("digest_deliveries", "digest_subscriptions", "room_activity"):
        op.drop_table(table)
