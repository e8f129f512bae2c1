"""A serving process checkpoints SQLite's WAL on a thread of its own (service.wal_checkpoint):
no commit checkpoints under the write lock, and what was acknowledged still reaches the
database file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecasts.tables import questions_t
from service.app import create_app
from service.db import Database
from tests.conftest import ADMIN, make_settings
from tests.factories import post_question


def _database(tmp_path: Path, **overrides: object) -> Database:
    url = f"sqlite:///{tmp_path / 'forecasts.db'}"
    return Database(url, make_settings(url, **overrides))


def test_a_serving_process_leaves_checkpoints_to_its_own_thread(tmp_path: Path):
    db = _database(tmp_path)
    with TestClient(create_app(db.settings, db)) as client:
        post_question(client, ADMIN)
        with db.write() as conn:
            # SQLite's own checkpoint-on-commit is off on the connections writers use.
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
        for k in range(20):
            post_question(client, ADMIN, title=f"Will test {k} pass?")
        assert db._checkpointer is not None
        busy, frames, copied = db._checkpointer.checkpoint() or (1, 0, 0)
        # Nobody reads meanwhile, so the passive checkpoint copies every frame.
        assert busy == 0 and frames == copied
    db.dispose()


def test_every_acknowledged_write_is_in_the_database_file_after_a_stop(tmp_path: Path):
    db = _database(tmp_path)
    with TestClient(create_app(db.settings, db)) as client:
        for k in range(30):
            post_question(client, ADMIN, title=f"Will write {k} be kept?")
    # The app's stop ran a last checkpoint: the file alone, copied without its -wal while
    # the writer's connection is still open, holds them (what a backup copying only
    # forecasts.db would keep).
    copy = tmp_path / "copy.db"
    shutil.copyfile(tmp_path / "forecasts.db", copy)
    db.dispose()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM questions").fetchone() == (30,)


def test_checkpoints_stay_in_commits_when_turned_off(tmp_path: Path):
    db = _database(tmp_path, sqlite_checkpoint_seconds=0)
    with TestClient(create_app(db.settings, db)) as client:
        post_question(client, ADMIN)
        assert db._checkpointer is None
        with db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
            assert conn.execute(select(func.count()).select_from(questions_t)).scalar_one() == 1
    db.dispose()
