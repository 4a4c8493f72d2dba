"""Record tables drop their ``wire`` column: since 0006 the change row carries each
record's wire JSON and new writes left the record's copy NULL. A change row from
before 0006 (no wire of its own) is rebuilt from the record by ``to_wire``.

Revision ID: 0010
Revises: 0009 (written as 0008 on a branch beside 0007 and 0009; re-chained at the merge)
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = (
    "stations", "events", "conflicts", "sync_issues",
    "receipt_series", "donations", "receipts", "donation_corrections", "funds", "fund_projects",
    "ledger_entries", "disbursements", "goods_stock", "goods_movements",
    "volunteers", "volunteer_cards", "service_activities", "hour_logs",
    "timebank_accounts", "timebank_entries", "timebank_rates", "redemption_items", "redemptions",
    "notifications", "notification_prefs", "alert_thresholds",
    "memberships", "districts",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("wire")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("wire", sa.Text(), nullable=True))
