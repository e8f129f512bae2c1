"""SQLite WAL checkpoints on a thread of their own, outside the write path.

By default SQLite checkpoints inside the COMMIT that pushes the WAL past 1,000 pages: that
commit copies the WAL back into the database file before it returns, while this process's
write lock (service.db.Database) is still held, so every writer queued behind it waits for
the copy. Measured with bench/api.py during a poll, such commits held the lock for 0.1-0.4 s
and most of the idle write p99 was theirs. A serving process therefore turns the automatic
checkpoint off on its connections (PRAGMA wal_autocheckpoint=0) and runs a PASSIVE
checkpoint every few seconds from this thread instead: PASSIVE never blocks writers or
readers (it copies what no reader still needs and stops), and the sqlite3 module releases
the interpreter lock while it runs, so the copy proceeds beside the API on another core.

Durability is unchanged: a commit is durable in the WAL (synchronous=NORMAL or FULL); the
checkpoint only moves committed pages into the main file.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` every `every_seconds` until stopped."""

    def __init__(self, engine: Engine, every_seconds: float) -> None:
        self.engine = engine
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last checkpoint, so a stopped service leaves a short WAL."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One passive checkpoint: (busy, WAL frames, frames checkpointed), as SQLite says."""
        raw: Any = self.engine.raw_connection()
        try:
            # The pool's connections run in autocommit mode (service.db), and a checkpoint
            # must not run inside a transaction of its own connection.
            row = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.every_seconds)
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - a failed checkpoint is retried next time
                log.warning("WAL checkpoint failed; retrying later", exc_info=True)
            if stopping:
                return
