"""trust: direct chats as Matrix says, confirmed collaborations, welcome posts edited in
place, webhook idempotency keys, when advisory requests were closed (for retention)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_settings") as batch:
        batch.add_column(sa.Column("direct", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("room_settings") as batch:
        batch.alter_column("direct", server_default=None)
    # who confirmed being named in a collaboration (NULL: asked, not yet confirmed); rows
    # that exist already were recorded before anyone was asked: only the recorder confirmed
    with op.batch_alter_table("collaboration_members") as batch:
        batch.add_column(sa.Column("confirmed_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE collaboration_members SET confirmed_at = (SELECT created_at FROM "
               "collaborations WHERE collaborations.id = collaboration_members.collaboration_id"
               " AND collaborations.created_by = collaboration_members.mxid)")
    with op.batch_alter_table("collaborations") as batch:
        batch.add_column(sa.Column("request_event_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("request_room_id", sa.String(255), nullable=True))
    op.create_index("ix_collaborations_request_event_id", "collaborations",
                    ["request_event_id"])
    op.create_table(
        "welcome_posts",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("mxids", sa.Text(), nullable=False),
    )
    op.create_table(
        "hook_deliveries",
        sa.Column("hook", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("posted", sa.Text(), nullable=False),
    )
    op.create_index("ix_hook_deliveries_at", "hook_deliveries", ["at"])
    with op.batch_alter_table("advisory_requests") as batch:
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.alter_column("email", existing_type=sa.String(254), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("advisory_requests") as batch:
        batch.alter_column("email", existing_type=sa.String(254), nullable=False)
        batch.drop_column("closed_at")
    op.drop_table("hook_deliveries")
    op.drop_table("welcome_posts")
    op.drop_index("ix_collaborations_request_event_id", "collaborations")
    with op.batch_alter_table("collaborations") as batch:
        batch.drop_column("request_room_id")
        batch.drop_column("request_event_id")
    with op.batch_alter_table("collaboration_members") as batch:
        batch.drop_column("confirmed_at")
    with op.batch_alter_table("room_settings") as batch:
        batch.drop_column("direct")
