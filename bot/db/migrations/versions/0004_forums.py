"""forums: events, announcements, RSVPs, reminder occurrences

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forum_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("capacity", sa.Integer()),
        sa.Column("online_url", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trigger", sa.String(255), nullable=False),
        sa.UniqueConstraint("trigger", name="uq_forum_events_trigger"),
    )
    op.create_index("ix_forum_events_starts_at", "forum_events", ["starts_at"])
    op.create_table(
        "announcements",
        sa.Column("matrix_event_id", sa.String(255), primary_key=True),
        sa.Column("forum_id", sa.Integer(), sa.ForeignKey(
            "forum_events.id", ondelete="CASCADE",
            name="fk_announcements_forum_id_forum_events"), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
    )
    op.create_index("ix_announcements_forum_id", "announcements", ["forum_id"])
    op.create_table(
        "rsvps",
        sa.Column("forum_id", sa.Integer(), sa.ForeignKey(
            "forum_events.id", ondelete="CASCADE", name="fk_rsvps_forum_id_forum_events"),
            primary_key=True),
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("answer", sa.String(8), nullable=False),
        sa.Column("waitlisted", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("reaction_event_id", sa.String(255)),
    )
    op.create_index("ix_rsvps_reaction_event_id", "rsvps", ["reaction_event_id"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("forum_id", sa.Integer(), sa.ForeignKey(
            "forum_events.id", ondelete="CASCADE", name="fk_reminders_forum_id_forum_events"),
            nullable=False),
        sa.Column("offset", sa.String(16), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
    )
    op.create_index("ix_reminders_forum_id", "reminders", ["forum_id"])
    op.create_index("ix_reminders_state_due", "reminders", ["state", "due_at"])


def downgrade() -> None:
    for table in ("reminders", "rsvps", "announcements", "forum_events"):
        op.drop_table(table)
