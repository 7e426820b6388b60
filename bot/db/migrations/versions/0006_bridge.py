"""bridge: showcase consent, advisory requests from the web form

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("showcase", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("members") as batch:
        batch.alter_column("showcase", server_default=None)
    op.create_table(
        "advisory_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("location", sa.String(32)),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("event_id", sa.String(255)),
        sa.UniqueConstraint("ref", name="uq_advisory_requests_ref"),
    )
    op.create_index("ix_advisory_requests_status", "advisory_requests", ["status"])
    op.create_index("ix_advisory_requests_created_at", "advisory_requests", ["created_at"])
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mxid", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_shares_mxid_at", "shares", ["mxid", "at"])


def downgrade() -> None:
    op.drop_table("shares")
    op.drop_table("advisory_requests")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("showcase")
