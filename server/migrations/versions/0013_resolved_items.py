"""Handled things leave the lists: a sync issue and an inbox notification name the thing
they are about (``subject``, e.g. ``hour_log:<id>``, ``disbursement:<id>``) and are marked
``resolved_at`` when it is decided (docs/notifications.md, docs/protocol.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_issues") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(64), nullable=True))
        batch_op.create_index("ix_sync_issues_subject", ["subject"])
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.String(32), nullable=True))
        batch_op.create_index("ix_notifications_subject", ["subject"])


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_index("ix_notifications_subject")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("subject")
    with op.batch_alter_table("sync_issues") as batch_op:
        batch_op.drop_index("ix_sync_issues_subject")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("subject")
