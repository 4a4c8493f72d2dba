"""Online gifts from the joint fundraising platform (广益联募): platforms and their
statement mapping, funds' and projects' pages on a platform, imported statements and
their lines, booked online gifts (unique per platform and order number), and the
explanations of unmatched orders (``server/domain/online.py``, docs/online-gifts.md).

Revision ID: 0018
Revises: 0017 (0015 on its branch; chained after campaigns when merged into the dashboard)
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _autoid() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                     autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "gift_platforms",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("mapping", sa.Text, nullable=False),
        sa.Column("time_format", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "platform_links",
        sa.Column("target_kind", sa.String(8), primary_key=True),
        sa.Column("target_id", sa.String(36), primary_key=True),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("platform_id", "label", name="uq_platform_links_label"),
    )
    op.create_table(
        "gift_statements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("platform_id", sa.String(36), nullable=False, index=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("line_count", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("problem_count", sa.Integer, nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.String(32), nullable=False),
        sa.Column("booked_by", sa.String(64), nullable=True),
        sa.Column("booked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "statement_lines",
        _autoid(),
        sa.Column("statement_id", sa.String(36), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("paid_at", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("nickname", sa.String(32), nullable=False),
        sa.Column("project_label", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("fund_id", sa.String(36), nullable=True),
        sa.Column("project_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_statement_lines_statement_line", "statement_lines",
                    ["statement_id", "line_no"])
    op.create_index("ix_statement_lines_order", "statement_lines", ["order_no"])
    op.create_index("ix_statement_lines_day", "statement_lines", ["day"])
    op.create_table(
        "online_gifts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("paid_at", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("nickname", sa.String(32), nullable=False),
        sa.Column("project_label", sa.String(200), nullable=False),
        sa.Column("fund_id", sa.String(36), nullable=False, index=True),
        sa.Column("project_id", sa.String(36), nullable=True),
        sa.Column("district", sa.String(100), nullable=True),
        sa.Column("station", sa.String(32), nullable=True),
        sa.Column("movement_id", sa.String(60), nullable=False),
        sa.Column("statement_id", sa.String(36), nullable=True),
        sa.Column("booked_by", sa.String(64), nullable=False),
        sa.Column("booked_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("platform_id", "order_no", name="uq_online_gifts_order"),
    )
    op.create_index("ix_online_gifts_platform_day", "online_gifts", ["platform_id", "day"])
    op.create_table(
        "reconcile_notes",
        _autoid(),
        sa.Column("platform_id", sa.String(36), nullable=False),
        sa.Column("order_no", sa.String(64), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("explained_by", sa.String(64), nullable=False),
        sa.Column("explained_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("platform_id", "order_no", name="uq_reconcile_notes_order"),
    )


def downgrade() -> None:
    for name in ("reconcile_notes", "online_gifts", "statement_lines", "gift_statements",
                 "platform_links", "gift_platforms"):
        op.drop_table(name)
