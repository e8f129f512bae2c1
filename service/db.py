"""The database: engine, SQLite pragmas, short transactions and migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from service.settings import Settings
from service.wal_checkpoint import WalCheckpointer
from service.writer import GroupWriter

T = TypeVar("T")


class Database:
    """One engine per process, with a write path that keeps SQLite writers from colliding."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: Engine = self._create_engine()
        # SQLite allows one writer at a time. Queuing writers of this process on a lock is
        # fair and cheap; letting them race makes each loser sleep in busy_timeout, which
        # is where a naive setup's ~0.8 s p99 at 16 writers comes from.
        self._write_lock: Any = threading.Lock() if self.is_sqlite else None
        self._writer: GroupWriter | None = None
        self._writer_lock = threading.Lock()
        self._checkpointer: WalCheckpointer | None = None

    def _create_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=16,
        )
        synchronous = self.settings.sqlite_synchronous
        busy_ms = self.settings.sqlite_busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control from the driver so BEGIN IMMEDIATE can be used.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            # Once checkpoints run on their own thread, no commit on this engine's
            # connections checkpoints under the write lock (service.wal_checkpoint); a
            # connection opened before that is switched on its next checkout.
            if self._checkpointer is not None and not record.info.get("manual_checkpoints"):
                dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
                record.info["manual_checkpoints"] = True

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes the write lock up front, so it never has to upgrade a read
            # lock (which SQLite answers with SQLITE_BUSY instead of waiting).
            conn.exec_driver_sql(conn.info.pop("begin_sql", "BEGIN"))

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction for one change: committed on success, rolled back on any error."""
        # The lock before the connection: a writer waiting its turn holds no pooled one.
        with self._write_lock or nullcontext(), self.engine.connect() as conn:
            with self._write_transaction(conn):
                yield conn

    @contextmanager
    def write_on(self, conn: Connection) -> Iterator[Connection]:
        """A write transaction on a connection the caller holds (the group writer's)."""
        with self._write_lock or nullcontext(), self._write_transaction(conn):
            yield conn

    @contextmanager
    def _write_transaction(self, conn: Connection) -> Iterator[Connection]:
        if self.is_sqlite:
            conn.info["begin_sql"] = "BEGIN IMMEDIATE"
        with conn.begin():
            yield conn

    @property
    def writer(self) -> GroupWriter:
        """The process's one group-committing writer on this database (started on first use)."""
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = GroupWriter(self)
        return self._writer

    async def change(self, change: Callable[[Connection], T]) -> T:
        """Run `change(conn)` through the group writer: its result once committed, or its
        error with nothing of it written. For request handlers on the event loop."""
        return await self.writer.run(change)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot for one request."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        config = Config()
        config.set_main_option(
            "script_location", str(resources.files("service").joinpath("migrations"))
        )
        with self.engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()

    def start_background_checkpoints(self) -> None:
        """For a serving process on a SQLite file: checkpoint the WAL on a thread of its own
        instead of inside commits (service.wal_checkpoint). Idempotent; a no-op on
        PostgreSQL, on an in-memory database or with sqlite_checkpoint_seconds = 0."""
        database = self.url.database or ""
        every = self.settings.sqlite_checkpoint_seconds
        in_memory = database in ("", ":memory:") or "mode=memory" in str(self.url)
        if not self.is_sqlite or in_memory or every <= 0:
            return
        with self._writer_lock:
            if self._checkpointer is None:
                self._checkpointer = WalCheckpointer(self.engine, every)
                self._checkpointer.start()

    def stop_background_checkpoints(self) -> None:
        with self._writer_lock:
            checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.stop_background_checkpoints()
        self.engine.dispose()
