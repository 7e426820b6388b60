"""advice: the advisory workflow — advisors, a request's states and history, answers by
e-mail and replies from requesters, follow-ups sent once

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REQUEST_COLUMNS = (
    ("assignee", sa.String(255)),
    ("claimed_at", UTCDateTime()),
    ("answered_at", UTCDateTime()),
    ("activity_at", UTCDateTime()),
    ("outcome", sa.String(16)),
    ("case_room_id", sa.String(255)),
    ("suggested", sa.Text()),
    ("rating", sa.Integer()),
    ("rating_comment", sa.Text()),
    ("rated_at", UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("advisory_requests") as batch:
        for name, kind in REQUEST_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(sa.Column("notice_version", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("notice_shown", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.create_index("ix_advisory_requests_assignee", ["assignee"])
    with op.batch_alter_table("advisory_requests") as batch:
        batch.alter_column("notice_version", server_default=None)
        batch.alter_column("notice_shown", server_default=None)
    # the old name of "claimed"
    op.execute("UPDATE advisory_requests SET status = 'claimed' WHERE status = 'assigned'")
    op.execute("UPDATE advisory_requests SET activity_at = created_at")

    op.create_table(
        "advisors",
        sa.Column("mxid", sa.String(255),
                  sa.ForeignKey("members.mxid", name="fk_advisors_mxid_members",
                                ondelete="CASCADE"), primary_key=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "advice_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer(),
                  sa.ForeignKey("advisory_requests.id",
                                name="fk_advice_entries_request_id_advisory_requests",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_advice_entries_request_id", "advice_entries", ["request_id"])
    op.create_index("ix_advice_entries_actor", "advice_entries", ["actor"])
    op.create_table(
        "advice_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer(),
                  sa.ForeignKey("advisory_requests.id",
                                name="fk_advice_messages_request_id_advisory_requests",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_advice_messages_request_id", "advice_messages", ["request_id"])
    op.create_index("ix_advice_messages_state", "advice_messages", ["state"])
    op.create_table(
        "advice_dues",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer(),
                  sa.ForeignKey("advisory_requests.id",
                                name="fk_advice_dues_request_id_advisory_requests",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_advice_dues_once", "advice_dues", ["request_id", "kind", "key"],
                    unique=True)
    op.create_index("ix_advice_dues_state", "advice_dues", ["state"])


def downgrade() -> None:
    for table in ("advice_dues", "advice_messages", "advice_entries", "advisors"):
        op.drop_table(table)
    with op.batch_alter_table("advisory_requests") as batch:
        batch.drop_index("ix_advisory_requests_assignee")
        for name, _ in REQUEST_COLUMNS:
            batch.drop_column(name)
        batch.drop_column("notice_version")
        batch.drop_column("notice_shown")
