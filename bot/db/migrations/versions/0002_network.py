"""network: rooms, memberships, profiles, tags, introduction cards, pending welcomes

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("organisation", sa.String(200)))
        batch.add_column(sa.Column("location", sa.String(32)))
        batch.add_column(sa.Column("languages", sa.String(64)))
        batch.add_column(sa.Column("bio", sa.Text()))
        batch.add_column(sa.Column("intro_at", UTCDateTime()))
    op.create_table(
        "network_rooms",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("alias", sa.String(255)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("room_id", name="uq_network_rooms_room_id"),
    )
    op.create_table(
        "room_memberships",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("mxid", sa.String(255), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime()),
        sa.Column("ended", sa.String(8)),
        sa.Column("imported", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_room_memberships_room_open", "room_memberships", ["room_id", "until"])
    op.create_index("ix_room_memberships_mxid", "room_memberships", ["mxid"])
    op.create_table(
        "member_tags",
        sa.Column("mxid", sa.String(255), sa.ForeignKey(
            "members.mxid", ondelete="CASCADE", name="fk_member_tags_mxid_members"),
            primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("tag", sa.String(40), primary_key=True),
    )
    op.create_index("ix_member_tags_kind_tag", "member_tags", ["kind", "tag"])
    op.create_table(
        "intro_cards",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mxid", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_intro_cards_mxid_room", "intro_cards", ["mxid", "room_id"])
    op.create_table(
        "pending_welcomes",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("mxid", sa.String(255), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("batch", sa.String(64)),
    )
    op.create_index("ix_pending_welcomes_room_id", "pending_welcomes", ["room_id"])


def downgrade() -> None:
    for table in ("pending_welcomes", "intro_cards", "member_tags", "room_memberships",
                  "network_rooms"):
        op.drop_table(table)
    with op.batch_alter_table("members") as batch:
        for column in ("intro_at", "bio", "languages", "location", "organisation"):
            batch.drop_column(column)
