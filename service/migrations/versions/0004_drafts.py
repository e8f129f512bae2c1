"""Drafts: texts (pasted or fetched) and the claims found in them, proposed as questions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_title", sa.String(), nullable=True),
        sa.Column("source_url", sa.String(), nullable=True),
        sa.Column("source_publisher", sa.String(), nullable=True),
        sa.Column("source_author", sa.String(), nullable=True),
        sa.Column("source_published_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "draft_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "draft_id",
            sa.Integer(),
            sa.ForeignKey("drafts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("hedge", sa.String(), nullable=True),
        sa.Column("estimate", sa.String(length=100), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False, server_default="proposed"),
        sa.Column(
            "question_id",
            sa.Integer(),
            sa.ForeignKey("questions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("draft_id", "position"),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'dismissed')", name="ck_draft_claims_status"
        ),
    )
    op.create_index("ix_draft_claims_draft_id", "draft_claims", ["draft_id"])


def downgrade() -> None:
    op.drop_index("ix_draft_claims_draft_id", table_name="draft_claims")
    op.drop_table("draft_claims")
    op.drop_table("drafts")
