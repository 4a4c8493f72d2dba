"""Change rows carry the record's wire JSON, so a pull reads the feed in order and
looks nothing up (issue 2, sync performance).

Rows written before this keep NULL: pull then reads the record as it did before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.add_column(sa.Column("wire", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_column("wire")
