"""Scope exits in the change feed: a record that leaves a scope (a volunteer moving
home station, an event moved to another station) leaves a row there, which pull sends
as ``op: del`` to the phones of the old scope.

Existing rows are live rows (``exited_at`` NULL). The index is partial: only exit rows
are in it, so writing a live row costs nothing more.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ONLY_EXITS = sa.text("exited_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.add_column(sa.Column("exited_at", sa.String(32), nullable=True))
    op.create_index(
        "ix_changes_exited_at", "changes", ["exited_at"],
        sqlite_where=ONLY_EXITS, postgresql_where=ONLY_EXITS,
    )


def downgrade() -> None:
    op.drop_index("ix_changes_exited_at", table_name="changes")
    op.execute("DELETE FROM changes WHERE exited_at IS NOT NULL")
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_column("exited_at")
