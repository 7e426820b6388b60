"""strategies: joint 10-year strategies — processes, phases, proposals and their copies,
endorsements, native polls and votes, and what a process sends once

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _process_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("strategy_processes.id", name=f"fk_{table}_process_id_strategy_processes",
                         ondelete="CASCADE")


def _proposal_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey("strategy_proposals.id",
                         name=f"fk_{table}_proposal_id_strategy_proposals", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "strategy_processes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("locations", sa.Text(), nullable=False),
        sa.Column("sections", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("phase_since", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "strategy_phase_ends",
        sa.Column("process_id", sa.Integer(), _process_fk("strategy_phase_ends"),
                  primary_key=True),
        sa.Column("phase", sa.String(12), primary_key=True),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "strategy_proposals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("process_id", sa.Integer(), _process_fk("strategy_proposals"),
                  nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(40), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("answered_by", sa.String(255), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_strategy_proposals_number", "strategy_proposals",
                    ["process_id", "number"], unique=True)
    op.create_index("ix_strategy_proposals_author", "strategy_proposals", ["author"])
    op.create_table(
        "strategy_proposal_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.Integer(), _proposal_fk("strategy_proposal_versions"),
                  nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_strategy_proposal_versions_proposal_id", "strategy_proposal_versions",
                    ["proposal_id"])
    op.create_table(
        "strategy_proposal_copies",
        sa.Column("proposal_id", sa.Integer(), _proposal_fk("strategy_proposal_copies"),
                  primary_key=True),
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("origin", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_strategy_proposal_copies_event_id"),
    )
    op.create_table(
        "strategy_endorsements",
        sa.Column("proposal_id", sa.Integer(), _proposal_fk("strategy_endorsements"),
                  primary_key=True),
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_strategy_endorsements_event_id"),
    )
    op.create_table(
        "strategy_polls",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("process_id", sa.Integer(), _process_fk("strategy_polls"), nullable=False),
        sa.Column("section", sa.String(40), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("ended_event_id", sa.String(255), nullable=True),
        sa.UniqueConstraint("event_id", name="uq_strategy_polls_event_id"),
    )
    op.create_index("ix_strategy_polls_once", "strategy_polls",
                    ["process_id", "section", "room_id"], unique=True)
    op.create_table(
        "strategy_votes",
        sa.Column("process_id", sa.Integer(), _process_fk("strategy_votes"),
                  primary_key=True),
        sa.Column("section", sa.String(40), primary_key=True),
        sa.Column("mxid", sa.String(255), primary_key=True),
        sa.Column("proposal", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("voted_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "strategy_dues",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("process_id", sa.Integer(), _process_fk("strategy_dues"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_strategy_dues_once", "strategy_dues", ["process_id", "kind", "key"],
                    unique=True)
    op.create_index("ix_strategy_dues_state", "strategy_dues", ["state"])


def downgrade() -> None:
    for table in ("strategy_dues", "strategy_votes", "strategy_polls", "strategy_endorsements",
                  "strategy_proposal_copies", "strategy_proposal_versions",
                  "strategy_proposals", "strategy_phase_ends", "strategy_processes"):
        op.drop_table(table)
