"""Shared fixtures: a migrated database on SQLite and (where reachable) PostgreSQL, the app,
an HTTP client against it, and tokens.

`db` runs a test on both backends; `sqlite_db` on SQLite alone (for browser or heavy tests).
PostgreSQL is the machine's server (FORECASTS_TEST_PG_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test); each session works in a database of its
own, created and dropped here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import freezegun
import htmldate.core  # noqa: F401  (as psycopg: see below)
import psycopg  # noqa: F401  (imported before freezer patches datetime; see the C extension)
import pytest
import trafilatura  # noqa: F401
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from service.app import create_app
from service.db import Database
from service.settings import Settings

# The event loop keeps real time under a frozen clock, so timeouts and deadlines inside a
# cycle still fire while "today" is frozen for the code under test. trafilatura and its date
# finder htmldate are imported above, before any test freezes the clock: imported first
# inside a frozen test (the drafts code imports them lazily), htmldate's module-level dates
# would be freezegun's fakes for good, and fail in every later test that is not frozen.
freezegun.configure(extend_ignore_list=["asyncio"])

ADMIN_SECRET = "test-admin-token-of-at-least-32-characters"
ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}
FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN_URL = os.environ.get(
    "FORECASTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_reachable() -> str | None:
    """None if the server answers, else why not."""
    try:
        import psycopg

        url = make_url(PG_ADMIN_URL)
        with psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            dbname=url.database,
            connect_timeout=3,
        ):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}"


def require_postgresql() -> None:
    """Skip when this machine has no PostgreSQL at all (and FORECASTS_TEST_PG_URL points at
    none); fail when one is installed but does not answer, so a stopped server is a failure
    to see, not a skip that hides the PostgreSQL half of the suite (scripts/test.sh starts it)."""
    reason = _pg_reachable()
    if reason is None:
        return
    installed = "FORECASTS_TEST_PG_URL" in os.environ or any(
        shutil.which(tool) for tool in ("pg_ctlcluster", "pg_ctl", "postgres", "pg_isready")
    )
    if installed:
        pytest.fail(reason)
    pytest.skip(f"{reason} (no PostgreSQL installed on this machine)")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    require_postgresql()

    base = make_url(PG_ADMIN_URL)
    name = f"forecasts_test_{uuid.uuid4().hex[:10]}"
    params = dict(host=base.host, port=base.port or 5432, user=base.username, autocommit=True)
    with psycopg.connect(dbname=base.database, **params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    Database(url).migrate()
    yield url
    with psycopg.connect(dbname=base.database, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(db: Database) -> None:
    with db.engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            # The revision counter keeps its one row; it only ever counts up.
            if r[0] not in ("alembic_version", "data_revision")
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


# The folder archive sources may read in tests (besides the bundled seeds).
TEST_ARCHIVE_DIR = Path(tempfile.mkdtemp(prefix="forecasts-test-archive-dir-"))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url,
        archive_dir=TEST_ARCHIVE_DIR,
        admin_token=ADMIN_SECRET,
        scheduler="off",
        allow_private_sources=True,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'forecasts.db'}"
    db = Database(url, make_settings(url))
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'forecasts.db'}"
        database = Database(url, make_settings(url))
        database.migrate()
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("pg_url")
    database = Database(url, make_settings(url))
    truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(db: Database) -> Settings:
    return make_settings(db.url.render_as_string(hide_password=False))


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    """The whole app (scheduler off) on `db`, through Starlette's test client."""
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(sqlite_db: Database) -> Iterator[TestClient]:
    settings = make_settings(sqlite_db.url.render_as_string(hide_password=False))
    with TestClient(create_app(settings, sqlite_db)) as test_client:
        yield test_client
