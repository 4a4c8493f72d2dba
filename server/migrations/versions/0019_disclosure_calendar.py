"""The disclosure calendar (issue 16, docs/disclosure.md): published reports, append-only
(triggers refuse UPDATE and DELETE on both databases, like the audit log), and the
reminders sent (one per period).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

REFUSE_PG = """
CREATE FUNCTION disclosures_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a published disclosure is never changed: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("station", sa.String(length=32), nullable=True),
        sa.Column("district", sa.String(length=100), nullable=True),
        sa.Column("published_at", sa.String(length=32), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("heads", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
        sa.UniqueConstraint("subject_kind", "subject_id", "seq",
                            name=op.f("uq_disclosures_subject_kind_subject_id_seq")),
    )
    op.create_table(
        "disclosure_reminders",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_reminders")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_PG)
        op.execute("CREATE TRIGGER disclosures_append_only BEFORE UPDATE OR DELETE ON disclosures "
                   "FOR EACH ROW EXECUTE FUNCTION disclosures_refuse()")
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER disclosures_no_{what.lower()} BEFORE {what} ON disclosures "
                       f"BEGIN SELECT RAISE(ABORT, 'a published disclosure is never changed: "
                       f"{what} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS disclosures_append_only ON disclosures")
        op.execute("DROP FUNCTION IF EXISTS disclosures_refuse()")
    op.drop_table("disclosure_reminders")
    op.drop_table("disclosures")
