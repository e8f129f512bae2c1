"""Upgrading keeps the record: a database with questions, forecasts and a resolution at an
older revision is migrated to the newest one with every row and every rule intact."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.db import Database
from tests.conftest import make_settings


def _upgrade(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("service").joinpath("migrations"))
    )
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


@pytest.mark.parametrize("start", ["0003", "0006"])
def test_upgrading_keeps_every_row_and_rule(tmp_path: Path, start: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url, make_settings(url))
    try:
        _upgrade(db, start)
        with db.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO questions (id, title, resolution_criteria, opened_on, resolve_by,"
                    " tags, tag_index, news_query, match_pending, default_outcome, status,"
                    " outcome, resolved_on, evidence_urls, created_at, updated_at) VALUES"
                    " (1, 'Will the port reopen this year?', 'Reopened.', '2020-01-01',"
                    " '2020-12-31', '[]', '', 'port reopen', 0, 'no', 'resolved', 'yes',"
                    " '2020-06-01', '[]', '2020-01-01 00:00:00', '2020-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO forecasts (question_id, forecaster, forecaster_key, probability,"
                    " made_on, created_at) VALUES (1, 'Ann', 'ann', 0.7, '2020-01-02',"
                    " '2020-01-02 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, object, object_id, question_id)"
                    " VALUES ('2020-06-01 00:00:00', 'ann', 'question.resolve', 'question', 1, 1)"
                )
            )
        db.migrate()
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM questions")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM forecasts")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
        with pytest.raises(DBAPIError), db.write() as conn:
            conn.execute(text("UPDATE questions SET outcome = NULL WHERE id = 1"))
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    finally:
        db.dispose()
