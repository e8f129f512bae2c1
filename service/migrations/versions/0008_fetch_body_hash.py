"""sources.body_sha256: the SHA-256 of the last feed or archive body read for the source

A poll that gets a body byte-identical to the last one read (a feed without ETag or
Last-Modified sends the same bytes every time) stores nothing new, so the body is not
parsed again; the source's last_status says "unchanged".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: on SQLite a batch rebuilds the table, which drops its
    # triggers and, with foreign keys on, cascades into the tables that refer to it.
    op.add_column("sources", sa.Column("body_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("sources", "body_sha256")
