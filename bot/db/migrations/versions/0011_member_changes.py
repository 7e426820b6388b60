"""member_changes: the feed of changed tags and locations that matching's in-memory index
reads before each query

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mxid", sa.String(255), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member_changes")
