"""Attachments (issue 14): files by SHA-256, who started their uploads, which records refer
to them, their bytes when kept in the database, thumbnails; and an ``attachments`` field
on the records that take files (goods gifts, disbursements, events, catalogue items,
fund projects).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

RECORD_TABLES = ("donations", "disbursements", "events", "redemption_items", "fund_projects")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("completed_at", sa.String(32), nullable=True),
        sa.Column("orphaned_at", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name="pk_files"),
    )
    op.create_index("ix_files_state_uploaded_by", "files", ["state", "uploaded_by"])
    op.create_table(
        "file_uploads",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "device", name="pk_file_uploads"),
    )
    op.create_index("ix_file_uploads_device_started_at", "file_uploads", ["device", "started_at"])
    op.create_table(
        "file_refs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("sha256", "record_type", "record_id", name="pk_file_refs"),
    )
    op.create_index("ix_file_refs_record", "file_refs", ["record_type", "record_id"])
    op.create_table(
        "file_chunks",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("sha256", "offset", name="pk_file_chunks"),
    )
    op.create_table(
        "file_thumbs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_file_thumbs"),
    )
    for table in RECORD_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("attachments", sa.Text, nullable=False, server_default="[]"))


def downgrade() -> None:
    for table in RECORD_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("attachments")
    for name in ("file_thumbs", "file_chunks", "file_refs", "file_uploads", "files"):
        op.drop_table(name)
