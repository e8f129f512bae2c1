"""Alembic environment: runs on the connection the service hands over in `Database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import forecasts.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
# Arbitrary constant: the PostgreSQL advisory lock that serialises migrations when several
# instances start against one database at once.
MIGRATION_LOCK_ID = 7_240_001


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through forecasts (Database.migrate)")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()


run_migrations_online()
