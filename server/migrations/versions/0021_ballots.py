"""Voting in a micro-venture round (issue 15, docs/programme.md "Voting and results"):
ballots (own phone and booth; a booth voter only as a keyed hash), paper tallies per
booth, and the frozen results.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ballots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("round_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("voter_key", sa.String(length=80), nullable=False),
        sa.Column("alias_key", sa.String(length=80), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("booth", sa.String(length=60), nullable=True),
        sa.Column("ballot_book_no", sa.String(length=40), nullable=True),
        sa.Column("proposal_ids", sa.Text(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("cast_at", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duplicate_of", sa.String(length=36), nullable=True),
        sa.Column("taken_by", sa.String(length=64), nullable=True),
        sa.Column("station", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "seq"),
    )
    op.create_index("ix_ballots_round_voter", "ballots", ["round_id", "voter_key"])
    op.create_index("ix_ballots_round_alias", "ballots", ["round_id", "alias_key"])
    op.create_table(
        "paper_tallies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("round_id", sa.String(length=36), nullable=False),
        sa.Column("booth", sa.String(length=60), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.String(length=32), nullable=False),
        sa.Column("station", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("previous", sa.Text(), nullable=False, server_default="[]"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_paper_tallies_round_id", "paper_tallies", ["round_id"])
    op.create_table(
        "round_results",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("round_id", sa.String(length=36), nullable=False),
        sa.Column("proposal_id", sa.String(length=36), nullable=False),
        sa.Column("votes_own_phone", sa.Integer(), nullable=False),
        sa.Column("votes_booth", sa.Integer(), nullable=False),
        sa.Column("votes_paper", sa.Integer(), nullable=False),
        sa.Column("votes_total", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("funded", sa.Boolean(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("adjusted_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_round_results_round_id", "round_results", ["round_id"])


def downgrade() -> None:
    op.drop_index("ix_round_results_round_id", table_name="round_results")
    op.drop_table("round_results")
    op.drop_index("ix_paper_tallies_round_id", table_name="paper_tallies")
    op.drop_table("paper_tallies")
    op.drop_index("ix_ballots_round_alias", table_name="ballots")
    op.drop_index("ix_ballots_round_voter", table_name="ballots")
    op.drop_table("ballots")
