"""Fundraising campaigns and matched giving (issue 16, docs/campaigns.md).

- ``campaigns``: public fundraising plans of qualified organisations (organisation, its
  unified social credit code, qualification, certificate, filing number 备案编号, purpose,
  period, funds, projects, stations, target).
- ``matching_rules``: sponsors' matching pledges (ratio, cap per gift, cap in total,
  ``matched_fen`` so far, period, campaigns).
- ``gift_matches``: each gift's match by each rule (booked, and as it stands after
  corrections).
- ``donations.campaign`` and ``events.campaign``: the campaign a gift was collected
  under, and an event's default campaign. Existing gifts and events keep null (they were
  recorded before campaigns were known to the product).

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(100), nullable=False),
        sa.Column("organisation_code", sa.String(18), nullable=False),
        sa.Column("qualification", sa.String(100), nullable=False),
        sa.Column("certificate_number", sa.String(64), nullable=False),
        sa.Column("filing_number", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("starts_on", sa.String(10), nullable=False),
        sa.Column("ends_on", sa.String(10), nullable=False),
        sa.Column("district", sa.String(100), nullable=True),
        sa.Column("fund_ids", sa.Text, nullable=False),
        sa.Column("project_ids", sa.Text, nullable=False),
        sa.Column("stations", sa.Text, nullable=False),
        sa.Column("target_fen", sa.BigInteger, nullable=True),
        sa.Column("platform_url", sa.String(300), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_campaigns_district", "campaigns", ["district"])
    op.create_table(
        "matching_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sponsor", sa.String(100), nullable=False),
        sa.Column("ratio_percent", sa.Integer, nullable=False),
        sa.Column("cap_per_gift_fen", sa.BigInteger, nullable=False),
        sa.Column("cap_total_fen", sa.BigInteger, nullable=False),
        sa.Column("matched_fen", sa.BigInteger, nullable=False),
        sa.Column("starts_on", sa.String(10), nullable=False),
        sa.Column("ends_on", sa.String(10), nullable=False),
        sa.Column("campaign_ids", sa.Text, nullable=False),
        sa.Column("district", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_matching_rules_district", "matching_rules", ["district"])
    op.create_table(
        "gift_matches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("donation_id", sa.String(36), nullable=False),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(60), nullable=False),
        sa.Column("sponsor", sa.String(100), nullable=False),
        sa.Column("booked_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_gift_matches_rule_id", "gift_matches", ["rule_id"])
    op.create_index("ix_gift_matches_donation_id", "gift_matches", ["donation_id"])
    op.create_index("ix_gift_matches_campaign_id", "gift_matches", ["campaign_id"])
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("campaign", sa.String(36), nullable=True))
        batch.create_index("ix_donations_campaign", ["campaign"])
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("campaign", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("campaign")
    with op.batch_alter_table("donations") as batch:
        batch.drop_index("ix_donations_campaign")
        batch.drop_column("campaign")
    op.drop_table("gift_matches")
    op.drop_table("matching_rules")
    op.drop_table("campaigns")
