"""Volunteers, service hours and the Time Bank (issue 4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Volunteer profiles, service activities, hour logs, time-credit accounts and their
double-entry ledger, rates per service type, the redemption catalogue and redemptions
(server/domain/volunteers.py, server/domain/timebank.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'volunteers',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('skills', sa.Text(), nullable=False),
        sa.Column('stations', sa.Text(), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('field_meta', sa.Text(), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_volunteers')),
    )
    op.create_index('ix_volunteers_station', 'volunteers', ['station'])
    op.create_table(
        'volunteer_cards',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('skills', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('deleted_at', sa.String(length=32), nullable=True),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_cards')),
    )
    op.create_index('ix_volunteer_cards_user_id', 'volunteer_cards', ['user_id'])
    op.create_table(
        'service_activities',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=True),
        sa.Column('project_id', sa.String(length=64), nullable=True),
        sa.Column('service_type', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('date', sa.String(length=10), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_activities')),
    )
    op.create_index('ix_service_activities_station', 'service_activities', ['station'])
    op.create_table(
        'hour_logs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('volunteer_id', sa.String(length=64), nullable=False),
        sa.Column('activity_id', sa.String(length=36), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('service_type', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('check_in_at', sa.String(length=32), nullable=False),
        sa.Column('check_out_at', sa.String(length=32), nullable=True),
        sa.Column('device_check_in_at', sa.String(length=40), nullable=False),
        sa.Column('device_check_out_at', sa.String(length=40), nullable=True),
        sa.Column('received_check_in_at', sa.String(length=32), nullable=False),
        sa.Column('received_check_out_at', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('flags', sa.Text(), nullable=False),
        sa.Column('overlaps', sa.Text(), nullable=False),
        sa.Column('submitted_at', sa.String(length=32), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.String(length=32), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('approved_minutes', sa.Integer(), nullable=True),
        sa.Column('credited_cents', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('field_meta', sa.Text(), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hour_logs')),
    )
    op.create_index('ix_hour_logs_station', 'hour_logs', ['station'])
    op.create_index('ix_hour_logs_volunteer_id', 'hour_logs', ['volunteer_id'])
    op.create_table(
        'timebank_accounts',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=True),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('balance_cents', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_accounts')),
    )
    op.create_index('ix_timebank_accounts_owner', 'timebank_accounts', ['owner'])
    op.create_table(
        'timebank_entries',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('movement_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=64), nullable=False),
        sa.Column('counter_account_id', sa.String(length=64), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=True),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('ref_type', sa.String(length=32), nullable=False),
        sa.Column('ref_id', sa.String(length=64), nullable=False),
        sa.Column('memo', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_entries')),
    )
    op.create_index('ix_timebank_entries_account_id', 'timebank_entries', ['account_id'])
    op.create_index('ix_timebank_entries_movement_id', 'timebank_entries', ['movement_id'])
    op.create_table(
        'timebank_rates',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('service_type', sa.String(length=32), nullable=False),
        sa.Column('rate_cents', sa.Integer(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timebank_rates')),
    )
    op.create_table(
        'redemption_items',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('cost_cents', sa.BigInteger(), nullable=False),
        sa.Column('stock', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('field_meta', sa.Text(), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_items')),
    )
    op.create_index('ix_redemption_items_station', 'redemption_items', ['station'])
    op.create_table(
        'redemptions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=False),
        sa.Column('volunteer_id', sa.String(length=64), nullable=False),
        sa.Column('station', sa.String(length=32), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('cost_cents', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('review_reason', sa.String(length=32), nullable=True),
        sa.Column('debited', sa.Boolean(), nullable=False),
        sa.Column('requested_at', sa.String(length=32), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.String(length=32), nullable=True),
        sa.Column('decline_reason', sa.Text(), nullable=True),
        sa.Column('fulfilled_at', sa.String(length=32), nullable=True),
        sa.Column('updated_at', sa.String(length=32), nullable=False),
        sa.Column('wire', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    )
    op.create_index('ix_redemptions_item_id', 'redemptions', ['item_id'])
    op.create_index('ix_redemptions_volunteer_id', 'redemptions', ['volunteer_id'])


def downgrade() -> None:
    op.drop_table('redemptions')
    op.drop_table('redemption_items')
    op.drop_table('timebank_rates')
    op.drop_table('timebank_entries')
    op.drop_table('timebank_accounts')
    op.drop_table('hour_logs')
    op.drop_table('service_activities')
    op.drop_table('volunteer_cards')
    op.drop_table('volunteers')
