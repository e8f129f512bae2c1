"""questions.news_query_derived: whether the service derived the question's news_query

Matching treats a derived query softly; storing the fact when the query is set spares
deriving every open question's query again on every poll cycle.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: on SQLite a batch rebuilds the table, which drops its
    # triggers (migration 0003's rules) and, with foreign keys on, cascades into forecasts.
    op.add_column(
        "questions",
        sa.Column("news_query_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Existing questions: derived when the stored query is what the title derives (what the
    # matcher decided on each cycle before this column existed).
    from forecasts.derived_query import derive_query

    conn = op.get_bind()
    questions = sa.table(
        "questions",
        sa.column("id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("news_query", sa.String),
        sa.column("news_query_derived", sa.Boolean),
    )
    derived = [
        {"row_id": row.id}
        for row in conn.execute(
            sa.select(questions.c.id, questions.c.title, questions.c.news_query)
        )
        if row.title and " ".join((row.news_query or "").split()) == derive_query(row.title)
    ]
    if derived:
        conn.execute(
            questions.update()
            .where(questions.c.id == sa.bindparam("row_id"))
            .values(news_query_derived=True),
            derived,
        )


def downgrade() -> None:
    op.drop_column("questions", "news_query_derived")
