"""Hour logs get ``handled_by``: everyone who created, checked in or out, or changed the
times of a log. None of them may approve it (docs/security.md, "Separation of duties").
Existing logs start with their recorder (who checked them out was not kept).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hour_logs") as batch_op:
        batch_op.add_column(sa.Column("handled_by", sa.Text(), nullable=False, server_default="[]"))
    # JSON list of the recorder: ids are plain text without quotes or backslashes in
    # practice, but build it with the database's own string functions safely anyway.
    op.execute(sa.text(
        "UPDATE hour_logs SET handled_by = '[\"' || REPLACE(REPLACE(recorded_by, '\\', '\\\\'), '\"', '\\\"') || '\"]'"
    ))


def downgrade() -> None:
    with op.batch_alter_table("hour_logs") as batch_op:
        batch_op.drop_column("handled_by")
