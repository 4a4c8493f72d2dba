"""Web Push subscriptions, the notification outbox and the in-app inbox (issue 6).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Tables of server/notify/tables.py: notifications, notification_prefs and
alert_thresholds are synced records; the others stay on the server.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_thresholds',
    sa.Column('id', sa.String(length=120), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('set_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_thresholds'))
    )
    op.create_table('notification_prefs',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('muted_kinds', sa.Text(), nullable=False),
    sa.Column('stations', sa.Text(), nullable=True),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('push_enabled', sa.Boolean(), nullable=False),
    sa.Column('field_meta', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_prefs'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('read_at', sa.String(length=32), nullable=True),
    sa.Column('deleted_at', sa.String(length=32), nullable=True),
    sa.Column('wire', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_user_created', 'notifications', ['user_id', 'created_at'], unique=False)
    op.create_table('notify_hours_waiting',
    sa.Column('log_id', sa.String(length=64), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('volunteer_id', sa.String(length=64), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.String(length=32), nullable=False),
    sa.Column('decided_at', sa.String(length=32), nullable=True),
    sa.Column('reminded_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('log_id', name=op.f('pk_notify_hours_waiting'))
    )
    op.create_index('ix_notify_hours_waiting_submitted', 'notify_hours_waiting', ['submitted_at'], unique=False)
    op.create_table('notify_marks',
    sa.Column('key', sa.String(length=150), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_notify_marks'))
    )
    op.create_table('notify_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('station', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=100), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('processed_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbox'))
    )
    op.create_index('ix_notify_outbox_state_id', 'notify_outbox', ['state', 'id'], unique=False)
    op.create_table('push_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.String(length=32), nullable=False),
    sa.Column('lease_until', sa.String(length=32), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_deliveries')),
    sa.UniqueConstraint('notification_id', 'subscription_id', name=op.f('uq_push_deliveries_notification_id_subscription_id'))
    )
    op.create_index('ix_push_deliveries_state_next', 'push_deliveries', ['state', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_push_deliveries_subscription_id'), 'push_deliveries', ['subscription_id'], unique=False)
    op.create_table('push_subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('token_id', sa.String(length=36), nullable=False),
    sa.Column('vapid_key_id', sa.Integer(), nullable=False),
    sa.Column('stale_reason', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.Column('last_ok_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint'))
    )
    op.create_index(op.f('ix_push_subscriptions_user_id'), 'push_subscriptions', ['user_id'], unique=False)
    op.create_table('push_vapid_keys',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('retired_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_vapid_keys'))
    )


def downgrade() -> None:
    op.drop_table('push_vapid_keys')
    op.drop_index(op.f('ix_push_subscriptions_user_id'), table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
    op.drop_index(op.f('ix_push_deliveries_subscription_id'), table_name='push_deliveries')
    op.drop_index('ix_push_deliveries_state_next', table_name='push_deliveries')
    op.drop_table('push_deliveries')
    op.drop_index('ix_notify_outbox_state_id', table_name='notify_outbox')
    op.drop_table('notify_outbox')
    op.drop_table('notify_marks')
    op.drop_index('ix_notify_hours_waiting_submitted', table_name='notify_hours_waiting')
    op.drop_table('notify_hours_waiting')
    op.drop_index('ix_notifications_user_created', table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('notification_prefs')
    op.drop_table('alert_thresholds')
