"""The database every command line command works on: the configured one, migrated.

Every command says which database it uses (on stderr, so output piped elsewhere stays clean),
and warns before it creates a new SQLite file: a command run from the wrong directory would
otherwise work on an empty database of its own without a word.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import make_url

from service.db import Database
from service.settings import get_settings


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, or None (not SQLite, or in memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def describe(url: str) -> str:
    """The URL as it is safe to print: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def open_database() -> Database:
    """The configured database, migrated to the newest schema."""
    settings = get_settings()
    path = _sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        print(
            f"warning: {path} does not exist: creating a new, empty SQLite database there "
            "(set FORECASTS_DATABASE_URL to use another)",
            file=sys.stderr,
        )
    print(f"database: {describe(settings.database_url)}", file=sys.stderr)
    db = Database(settings.database_url, settings)
    db.migrate()
    return db
