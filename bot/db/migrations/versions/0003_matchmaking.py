"""matchmaking: canonical tags, opt-ins, connections, rounds, collaborations

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member_tags") as batch:
        batch.add_column(sa.Column("canonical", sa.String(40), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("member_tags") as batch:
        batch.add_column(sa.Column("location", sa.String(32)))
    op.execute("UPDATE member_tags SET canonical = tag, location = (SELECT location FROM "
               "members WHERE members.mxid = member_tags.mxid)")
    with op.batch_alter_table("member_tags") as batch:
        batch.alter_column("canonical", server_default=None)
    op.create_index("ix_member_tags_kind_canonical", "member_tags",
                    ["kind", "canonical", "mxid", "location"])
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("connect_ok", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("rounds", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("members") as batch:
        batch.alter_column("connect_ok", server_default=None)
        batch.alter_column("rounds", server_default=None)
    op.create_table(
        "match_rounds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(64)),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(255)),
        sa.Column("scheduled_for", sa.String(255)),
        sa.Column("followup_at", UTCDateTime(), nullable=False),
        sa.Column("followed_up", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("scheduled_for", name="uq_match_rounds_scheduled_for"),
    )
    op.create_index("ix_match_rounds_started_at", "match_rounds", ["started_at"])
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("a", sa.String(255), nullable=False),
        sa.Column("b", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("note", sa.Text()),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey(
            "match_rounds.id", name="fk_connections_round_id_match_rounds")),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_connections_a", "connections", ["a"])
    op.create_index("ix_connections_b", "connections", ["b"])
    op.create_index("ix_connections_created_at", "connections", ["created_at"])
    op.create_table(
        "round_groups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey(
            "match_rounds.id", ondelete="CASCADE",
            name="fk_round_groups_round_id_match_rounds"), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("question_event_id", sa.String(255)),
    )
    op.create_index("ix_round_groups_round_id", "round_groups", ["round_id"])
    op.create_index("ix_round_groups_question_event_id", "round_groups",
                    ["question_event_id"])
    op.create_table(
        "round_answers",
        sa.Column("group_id", sa.Integer(), sa.ForeignKey(
            "round_groups.id", ondelete="CASCADE",
            name="fk_round_answers_group_id_round_groups"), primary_key=True),
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "collaborations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_id", sa.Integer()),
        sa.Column("topic", sa.String(32)),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_collaborations_status", "collaborations", ["status"])
    op.create_index("ix_collaborations_created_at", "collaborations", ["created_at"])
    op.create_table(
        "collaboration_members",
        sa.Column("collaboration_id", sa.Integer(), sa.ForeignKey(
            "collaborations.id", ondelete="CASCADE",
            name="fk_collaboration_members_collaboration_id_collaborations"),
            primary_key=True),
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("location", sa.String(32)),
    )
    op.create_index("ix_collaboration_members_mxid", "collaboration_members", ["mxid"])
    op.create_table(
        "collaboration_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("collaboration_id", sa.Integer(), sa.ForeignKey(
            "collaborations.id", ondelete="CASCADE",
            name="fk_collaboration_events_collaboration_id_collaborations"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("text", sa.Text()),
    )
    op.create_index("ix_collaboration_events_collaboration_id", "collaboration_events",
                    ["collaboration_id"])
    op.create_index("ix_collaboration_events_at", "collaboration_events", ["at"])


def downgrade() -> None:
    for table in ("collaboration_events", "collaboration_members", "collaborations",
                  "round_answers", "round_groups", "connections", "match_rounds"):
        op.drop_table(table)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("rounds")
        batch.drop_column("connect_ok")
    op.drop_index("ix_member_tags_kind_canonical", "member_tags")
    with op.batch_alter_table("member_tags") as batch:
        batch.drop_column("location")
        batch.drop_column("canonical")
