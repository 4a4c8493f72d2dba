"""Donations, receipts, corrections, community funds and goods (issue 3).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "receipts", "receipt_series", "ledger_entries", "goods_stock", "goods_movements", "funds",
    "fund_projects", "donations", "donation_corrections", "disbursements",
)


def upgrade() -> None:
    op.create_table('disbursements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('payee', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.String(length=32), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.String(length=32), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('paid_by', sa.String(length=64), nullable=True),
    sa.Column('paid_at', sa.String(length=32), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursements'))
    )
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disbursements_fund_id'), ['fund_id'], unique=False)

    op.create_table('donation_corrections',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('donation_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('new_amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('delta_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.String(length=32), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.String(length=32), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donation_corrections'))
    )
    with op.batch_alter_table('donation_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donation_corrections_donation_id'), ['donation_id'], unique=False)

    op.create_table('donations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('donor_anonymous', sa.Boolean(), nullable=False),
    sa.Column('donor_name', sa.String(length=100), nullable=True),
    sa.Column('donor_phone', sa.String(length=32), nullable=True),
    sa.Column('donor_organisation', sa.String(length=100), nullable=True),
    sa.Column('wants_receipt', sa.Boolean(), nullable=False),
    sa.Column('public_name_consent', sa.Boolean(), nullable=False),
    sa.Column('direction', sa.String(length=12), nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=True),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('device_time', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', sa.String(length=32), nullable=False),
    sa.Column('receipt_number', sa.String(length=48), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donations'))
    )
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_station'), ['station'], unique=False)

    op.create_table('fund_projects',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_projects'))
    )
    with op.batch_alter_table('fund_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_projects_fund_id'), ['fund_id'], unique=False)

    op.create_table('funds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('reserved_fen', sa.BigInteger(), nullable=False),
    sa.Column('head_seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funds'))
    )
    with op.batch_alter_table('funds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funds_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_funds_station'), ['station'], unique=False)

    op.create_table('goods_movements',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('stock_id', sa.String(length=36), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('donation_id', sa.String(length=36), nullable=True),
    sa.Column('recipient_kind', sa.String(length=16), nullable=True),
    sa.Column('recipient', sa.String(length=100), nullable=True),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goods_movements'))
    )
    with op.batch_alter_table('goods_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goods_movements_stock_id'), ['stock_id'], unique=False)

    op.create_table('goods_stock',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goods_stock'))
    )
    with op.batch_alter_table('goods_stock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goods_stock_station'), ['station'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('movement_id', sa.String(length=60), nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=60), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('donation_id', sa.String(length=36), nullable=True),
    sa.Column('correction_id', sa.String(length=36), nullable=True),
    sa.Column('disbursement_id', sa.String(length=36), nullable=True),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('fund_id', 'seq', name=op.f('uq_ledger_entries_fund_id_seq'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_donation_id'), ['donation_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_fund_account', ['fund_id', 'account'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_movement_id'), ['movement_id'], unique=False)

    op.create_table('receipt_series',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_receipt_series')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_receipt_series_claim_id'))
    )
    with op.batch_alter_table('receipt_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_series_station'), ['station'], unique=False)

    op.create_table('receipts',
    sa.Column('number', sa.String(length=48), nullable=False),
    sa.Column('donation_id', sa.String(length=36), nullable=False),
    sa.Column('series', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('official_number', sa.String(length=64), nullable=True),
    sa.Column('reprints', sa.Integer(), nullable=False),
    sa.Column('replaced_by', sa.String(length=48), nullable=True),
    sa.Column('replaces', sa.String(length=48), nullable=True),
    sa.Column('station', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_donation_id'), ['donation_id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
