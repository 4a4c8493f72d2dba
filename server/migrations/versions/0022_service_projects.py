"""Service projects (issue 15, docs/projects.md): brand and micro-venture projects
(``service_projects``, one per fund project, same id), their grant agreements and tranches
(each paid through a fund disbursement), milestones with weights and progress, progress
reports, follow-up feedback, supervision visits and their follow-up reminders, indicator
actuals per period, and the closing evaluations.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLES = ('project_evaluations', 'indicator_actuals', 'visit_reminders', 'supervision_visits', 'project_feedback', 'progress_reports', 'project_milestones', 'grant_tranches', 'project_grants', 'service_projects')


def upgrade() -> None:
    op.create_table(
        "service_projects",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("round_id", sa.String(36), nullable=True),
        sa.Column("proposal_id", sa.String(36), nullable=True),
        sa.Column("indicators", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("attachments", sa.Text, nullable=False),
    )
    op.create_index("ix_service_projects_fund_id", "service_projects", ["fund_id"])
    op.create_index("ix_service_projects_proposal_id", "service_projects", ["proposal_id"])
    op.create_index("ix_service_projects_station", "service_projects", ["station"])
    op.create_table(
        "project_grants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False, unique=True),
        sa.Column("fund_id", sa.String(36), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "grant_tranches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("grant_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("milestone_id", sa.String(36), nullable=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disbursement_id", sa.String(36), nullable=True),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_grant_tranches_project_id", "grant_tranches", ["project_id"])
    op.create_index("ix_grant_tranches_disbursement_id", "grant_tranches", ["disbursement_id"])
    op.create_index("ix_grant_tranches_grant_id", "grant_tranches", ["grant_id"])
    op.create_table(
        "project_milestones",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("due", sa.String(10), nullable=True),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_project_milestones_project_id", "project_milestones", ["project_id"])
    op.create_table(
        "progress_reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("milestone_id", sa.String(36), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("attachments", sa.Text, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
    )
    op.create_index("ix_progress_reports_project_id", "progress_reports", ["project_id"])
    op.create_table(
        "project_feedback",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=False),
        sa.Column("taken_at", sa.String(32), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
    )
    op.create_index("ix_project_feedback_project_id", "project_feedback", ["project_id"])
    op.create_table(
        "supervision_visits",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("visited_at", sa.String(32), nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("rating", sa.String(20), nullable=False),
        sa.Column("follow_up", sa.Text, nullable=False),
        sa.Column("follow_up_due", sa.String(10), nullable=True),
        sa.Column("follow_up_done_at", sa.String(32), nullable=True),
        sa.Column("follow_up_note", sa.Text, nullable=False, server_default=""),
        sa.Column("attachments", sa.Text, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
    )
    op.create_index("ix_supervision_visits_project_id", "supervision_visits", ["project_id"])
    op.create_index("ix_supervision_visits_follow_up_due", "supervision_visits", ["follow_up_due"])
    op.create_table(
        "visit_reminders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("sent_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "indicator_actuals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("indicator_key", sa.String(32), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("value_milli", sa.BigInteger, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
    )
    op.create_index("ix_indicator_actuals_project_id", "indicator_actuals", ["project_id"])
    op.create_table(
        "project_evaluations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), nullable=False, unique=True),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("overall", sa.Integer, nullable=False),
        sa.Column("spent_fen", sa.BigInteger, nullable=False),
        sa.Column("budget_fen", sa.BigInteger, nullable=False),
        sa.Column("conclusion", sa.Text, nullable=False),
        sa.Column("public_summary", sa.Text, nullable=False),
        sa.Column("evaluators", sa.Text, nullable=False),
        sa.Column("evaluated_at", sa.String(32), nullable=False),
        sa.Column("evaluated_by", sa.String(64), nullable=False),
        sa.Column("station", sa.String(32), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
