"""Gifts' ledger entries waiting to be linked into their fund's chain (PostgreSQL: a push
writes them here and a chainer links them right after it commits; docs/donations.md,
"Linking outside the push").

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_pending",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("delta_fen", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_ledger_pending_fund_id", "ledger_pending", ["fund_id"])


def downgrade() -> None:
    op.drop_table("ledger_pending")
