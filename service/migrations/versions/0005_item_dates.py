"""News items whose source gave no usable date keep it unknown: news_items.published_at
becomes nullable, and news_items.first_poll marks items stored from their source's first
poll (an undated one of those is never evidence; one first seen later counts as reported
on the day it was first seen, fetched_at).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.alter_column("published_at", existing_type=sa.DateTime(), nullable=True)
        batch_op.add_column(
            sa.Column("first_poll", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # Undated items had no date before this revision: they take the day they were fetched.
    op.execute("UPDATE news_items SET published_at = fetched_at WHERE published_at IS NULL")
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.drop_column("first_poll")
        batch_op.alter_column("published_at", existing_type=sa.DateTime(), nullable=False)
