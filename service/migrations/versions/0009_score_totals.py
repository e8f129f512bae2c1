"""Scores from totals: the scored pairs and their running totals (forecasts.score_totals),
built here from the questions and forecasts already stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New tables only: plain CREATE TABLE, no batch (a batch on SQLite rebuilds a table and
    # drops its triggers).
    op.create_table(
        "score_pairs",
        sa.Column("question_id", sa.Integer(), primary_key=True),
        sa.Column("forecaster_key", sa.String(length=200), primary_key=True),
        sa.Column("forecaster", sa.String(length=200), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("estimate", sa.String(length=100), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=False),
        sa.Column("brier", sa.Float(), nullable=False),
        sa.Column("log_score", sa.Float(), nullable=False),
        sa.Column("time_averaged_brier", sa.Float(), nullable=False),
        sa.Column("relative_brier", sa.Float(), nullable=True),
        # Read and written by key: on SQLite the rows live in the key's b-tree itself.
        sqlite_with_rowid=False,
    )
    op.create_index("ix_score_pairs_resolved_on", "score_pairs", ["resolved_on", "question_id"])
    op.create_index(
        "ix_score_pairs_forecaster_key", "score_pairs", ["forecaster_key", "resolved_on"]
    )
    op.create_table(
        "score_value_totals",
        sa.Column("probability", sa.Float(), primary_key=True),
        sa.Column("outcome", sa.SmallInteger(), primary_key=True),
        sa.Column("estimate", sa.String(length=100), primary_key=True),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "score_forecaster_totals",
        sa.Column("forecaster_key", sa.String(length=200), primary_key=True),
        sa.Column("forecaster", sa.String(length=200), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("sum_brier", sa.Float(), nullable=False),
        sa.Column("sum_log_score", sa.Float(), nullable=False),
        sa.Column("sum_time_averaged_brier", sa.Float(), nullable=False),
        sa.Column("shared_pairs", sa.Integer(), nullable=False),
        sa.Column("sum_relative_brier", sa.Float(), nullable=False),
        sqlite_with_rowid=False,
    )
    # The pairs are derived data: the scoring rule has one owner, which fills them here as
    # it does after an import (these tables hold nothing that is not recomputed from the
    # questions and forecasts).
    from forecasts import score_totals

    score_totals.refresh(op.get_bind(), None)


def downgrade() -> None:
    op.drop_table("score_forecaster_totals")
    op.drop_table("score_value_totals")
    op.drop_index("ix_score_pairs_forecaster_key", table_name="score_pairs")
    op.drop_index("ix_score_pairs_resolved_on", table_name="score_pairs")
    op.drop_table("score_pairs")
