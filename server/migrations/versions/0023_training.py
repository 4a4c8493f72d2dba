"""Training (issue 15, docs/training.md): lectures and courses, sign-ups with a waiting
list and attendance, attendees' feedback, and the day-before reminders sent.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trainings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("speaker", sa.String(100), nullable=False),
        sa.Column("starts_at", sa.String(40), nullable=False),
        sa.Column("ends_at", sa.String(40), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("occasion", sa.String(24), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("confirmed", sa.Integer, nullable=False),
        sa.Column("waitlisted", sa.Integer, nullable=False),
        sa.Column("attended", sa.Integer, nullable=False),
        sa.Column("attachments", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_trainings_station", "trainings", ["station"])
    op.create_index("ix_trainings_starts_at", "trainings", ["starts_at"])
    op.create_table(
        "training_signups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("training_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=True),
        sa.Column("signed_up_at", sa.String(32), nullable=False),
        sa.Column("signed_up_by", sa.String(64), nullable=False),
        sa.Column("attended_at", sa.String(40), nullable=True),
        sa.Column("attended_by", sa.String(64), nullable=True),
        sa.Column("walk_in", sa.Boolean, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_training_signups_station", "training_signups", ["station"])
    op.create_index("ix_training_signups_training_user", "training_signups",
                    ["training_id", "user_id"])
    op.create_index("ix_training_signups_user_status", "training_signups", ["user_id", "status"])
    op.create_table(
        "training_feedback",
        sa.Column("id", sa.String(110), primary_key=True),
        sa.Column("training_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("useful", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_training_feedback_training_id", "training_feedback", ["training_id"])
    op.create_table(
        "training_reminders",
        sa.Column("training_id", sa.String(36), primary_key=True),
        sa.Column("sent_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("training_reminders")
    op.drop_table("training_feedback")
    op.drop_table("training_signups")
    op.drop_table("trainings")
