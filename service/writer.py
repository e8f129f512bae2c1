"""One writer per process that commits queued changes together (group commit).

A request hands its change (a function of an open connection, calling the domain) to the
writer and awaits it; the event loop stays free meanwhile. The writer's thread takes every
change queued by then and runs them all in ONE transaction, then COMMITs once for the whole
batch; the batch's audit rows and revision bump are written together just before that COMMIT
(forecasts.deferred_writes). If a change fails, the transaction is rolled back and the batch
runs again with each change inside its own SAVEPOINT, so the change at fault rolls back alone
and its request gets its own error (a 4xx for a domain error). Only after that COMMIT is any
request answered, so an acknowledged write is as durable as a write committed alone. If the
COMMIT itself fails, each change of the batch is run again in a transaction of its own, so
only the one at fault fails.

Why: a commit is the expensive part of a small write (an fsync on PostgreSQL, the write lock
and WAL append on SQLite); sharing it among the writes queued meanwhile is what lets many
writers go faster than one commit per request, and one writer on one connection keeps
SQLite's single-writer rule without busy waits, and the driver's prepared statements warm.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine

from forecasts.deferred_writes import deferring

T = TypeVar("T")
log = logging.getLogger("forecasts.writer")


@dataclass(frozen=True)
class _Job:
    """A queued change and who waits for it: a request on an event loop (`waiter`, settled
    on that loop) or a thread (`future`)."""

    change: Callable[[Connection], Any]
    future: concurrent.futures.Future[Any] | None = None
    waiter: asyncio.Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def take(self) -> bool:
        """Whether the change is still wanted: one whose request went away is skipped."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        # Reading an asyncio future's state from this thread is only a look: if the request
        # is cancelled right after, its answer is simply dropped on the loop (_settle_on_loop).
        return self.waiter is not None and not self.waiter.done()


class WriteStore(Protocol):
    """What the writer needs of service.db.Database (a protocol, so db may import this)."""

    engine: Engine

    def write_on(self, conn: Connection) -> AbstractContextManager[Connection]: ...


class GroupWriter:
    """Runs submitted changes on one connection in one thread, committing them in batches."""

    def __init__(self, db: WriteStore, *, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        # queue.SimpleQueue: the standard library's unbounded thread-safe FIFO; the bound on
        # work in flight is the server's concurrency limit (FORECASTS_SERVE_LIMIT_CONCURRENCY).
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._conn: Connection | None = None

    async def run(self, change: Callable[[Connection], T]) -> T:
        """Run `change(conn)` in the writer's transaction; returns its result once committed,
        or raises its error (nothing of it written)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._ensure_started()
        self._jobs.put(_Job(change, waiter=waiter, loop=loop))
        return await waiter

    def submit(self, change: Callable[[Connection], T]) -> concurrent.futures.Future[T]:
        """For a thread: the change's future (its result once committed, or its error)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._ensure_started()
        self._jobs.put(_Job(change, future=future))
        return future

    def queued(self) -> int:
        """How many changes wait for the writer (roughly: others may be adding)."""
        return self._jobs.qsize()

    def close(self) -> None:
        """Finish what is queued, then stop the thread and release its connection."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="forecasts-writer", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            # A request that went away before its turn is skipped (and can no longer be
            # cancelled once running).
            live = [job for job in batch if job.take()]
            if live:
                self._commit(live)
        self._release()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._release()
            self._conn = self.db.engine.connect()
        return self._conn

    def _dropped(self) -> bool:
        """Whether the held connection was found dead (SQLAlchemy invalidates it then)."""
        return self._conn is not None and self._conn.invalidated

    def _release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                log.debug("could not close the writer's connection", exc_info=True)
            self._conn = None

    def _commit(
        self, batch: list[_Job], *, retried: bool = False, savepoints: bool = False
    ) -> None:
        """Run the batch in one transaction. First without savepoints (two statements fewer
        per change); if any change fails, the whole transaction is rolled back and the batch
        runs again with a savepoint around each change, so only the one at fault fails."""
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            with self.db.write_on(self._connection()) as conn, deferring(conn) as deferred:
                if not savepoints or len(batch) == 1:
                    # Alone in its transaction (or optimistically, all of them together), a
                    # change needs no savepoint: its error rolls the transaction back.
                    for job in batch:
                        try:
                            outcomes.append((job, True, job.change(conn)))
                        except Exception as exc:  # noqa: BLE001 - handed to the job's request
                            raise _ChangeFailed(exc) from exc
                else:
                    for job in batch:
                        mark = deferred.mark()
                        try:
                            with conn.begin_nested():
                                outcomes.append((job, True, job.change(conn)))
                        except Exception as exc:  # noqa: BLE001 - handed to the job's request
                            deferred.undo_to(mark)
                            outcomes.append((job, False, exc))
        except _ChangeFailed as failed:
            if self._dropped() and not retried:
                self._release()
                self._commit(batch, retried=True, savepoints=savepoints)
                return
            if len(batch) > 1:
                # Nothing of the batch landed: run it again, each change in its savepoint.
                self._commit(batch, retried=retried, savepoints=True)
                return
            _settle([(batch[0], False, failed.error)])
            return
        except Exception as exc:  # noqa: BLE001 - BEGIN or COMMIT failed: nothing landed
            # Start afresh on a new connection: this one may be broken. A held connection the
            # server dropped while idle is no fault of the batch: it runs again, once.
            dropped = self._dropped()
            self._release()
            if dropped and not retried:
                self._commit(batch, retried=True, savepoints=savepoints)
                return
            if len(batch) == 1:
                _settle([(batch[0], False, exc)])
                return
            log.warning("a batch of %d changes failed to commit; retrying each alone", len(batch))
            for job in batch:
                self._commit([job], retried=True)
            return
        _settle(outcomes)


def _settle(outcomes: list[tuple[_Job, bool, Any]]) -> None:
    """Answer every waiter of a batch: a thread's future at once, and the requests of each
    event loop in ONE callback on it. Why: waking a loop costs a write to its self-pipe;
    doing it per request was a tenth of the writer's time at 16 clients (py-spy, bench/api.py)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for job, ok, value in outcomes:
        if job.future is not None:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        elif job.loop is not None:
            by_loop.setdefault(job.loop, []).append((job, ok, value))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, answers)
        except RuntimeError:  # the loop is closed: nobody is left to answer
            log.debug("a batch's event loop closed before its answers")


def _settle_on_loop(answers: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in answers:
        waiter = job.waiter
        if waiter is None or waiter.done():  # the request went away meanwhile
            continue
        if ok:
            waiter.set_result(value)
        else:
            waiter.set_exception(value)


class _ChangeFailed(Exception):
    """A lone change raised: its transaction is rolled back, and its request gets the error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
