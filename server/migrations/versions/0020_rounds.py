"""The community micro-venture round (issue 15, docs/programme.md): rounds with their
rules and phases, residents' needs, community groups, proposals with every version, and
reviews.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("budget_fen", sa.BigInteger, nullable=False),
        sa.Column("min_project_fen", sa.BigInteger, nullable=False),
        sa.Column("max_project_fen", sa.BigInteger, nullable=False),
        sa.Column("voters", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("phases", sa.Text, nullable=False),
        sa.Column("rules_locked", sa.Boolean, nullable=False),
        sa.Column("criteria", sa.Text, nullable=False),
        sa.Column("phase_changed_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "needs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("community", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("public_title", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("raised_count", sa.Integer, nullable=False),
        sa.Column("raised_via", sa.String(16), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("attachments", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "community_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("registration_no", sa.String(64), nullable=False, server_default=""),
        sa.Column("members", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("need_ids", sa.Text, nullable=False),
        sa.Column("beneficiaries", sa.Text, nullable=False),
        sa.Column("beneficiary_count", sa.Integer, nullable=False),
        sa.Column("activities", sa.Text, nullable=False),
        sa.Column("budget_lines", sa.Text, nullable=False),
        sa.Column("budget_total_fen", sa.BigInteger, nullable=False),
        sa.Column("indicators", sa.Text, nullable=False),
        sa.Column("team", sa.Text, nullable=False),
        sa.Column("timeline", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("review_score", sa.Integer, nullable=True),
        sa.Column("adjusted_price_fen", sa.BigInteger, nullable=True),
        sa.Column("review_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "proposal_versions",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("edited_by", sa.String(64), nullable=False),
        sa.Column("edited_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("round_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("weighted_score", sa.Integer, nullable=True),
        sa.Column("feasible", sa.Boolean, nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("adjusted_price_fen", sa.BigInteger, nullable=True),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.String(32), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("proposal", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_rounds_fund_id", "rounds", ["fund_id"])
    op.create_index("ix_rounds_station", "rounds", ["station"])
    op.create_index("ix_needs_round_id", "needs", ["round_id"])
    op.create_index("ix_community_groups_station", "community_groups", ["station"])
    op.create_index("ix_proposals_round_id", "proposals", ["round_id"])
    op.create_index("ix_proposals_group_id", "proposals", ["group_id"])
    op.create_index("ix_proposal_versions_proposal_id", "proposal_versions", ["proposal_id"])
    op.create_index("ix_reviews_proposal_id", "reviews", ["proposal_id"])
    op.create_index("ix_reviews_round_id", "reviews", ["round_id"])
    op.create_index("ix_reviews_reviewer", "reviews", ["reviewer"])


def downgrade() -> None:
    for table in ("reviews", "proposal_versions", "proposals", "community_groups", "needs",
                  "rounds"):
        op.drop_table(table)
