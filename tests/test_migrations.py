"""Upgrading keeps the record: a database with questions, forecasts and a resolution at an
older revision is migrated to the newest one with every row and every rule intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.db import Database
from tests.conftest import make_settings
from tests.factories import store_old_resolved_question, upgrade_to


@pytest.mark.parametrize("start", ["0003", "0006"])
def test_upgrading_keeps_every_row_and_rule(tmp_path: Path, start: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url, make_settings(url))
    try:
        upgrade_to(db, start)
        with db.write() as conn:
            store_old_resolved_question(conn)
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
