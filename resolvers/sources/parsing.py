"""Turning a fetched body into items, off the event loop: the CPU step of the poll pipeline.

A cycle fetches many sources at once on one event loop. Reading a large feed (feedparser,
HTML to text, normalising) takes seconds of CPU; done on that loop, it stalled every other
source's fetch and counted against their deadlines, and in `forecasts serve` it competed
with the API for the interpreter. So bodies are parsed in a process pool, one per process,
started when first needed and shared by every cycle of the process (the scheduler runs
several at once, each on a loop of its own).

The pool starts its workers with forkserver (spawn where there is none), never fork: the
service has threads (uvicorn, the scheduler), and forking a threaded process can copy a
held lock into the child. Everything a worker runs is a top-level function of this module
on picklable data. If no pool can start (a platform without process support, a daemonic
parent), bodies are parsed in a thread of this process instead, and that is logged once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from resolvers.ingest import ContentError, normalise_items
from resolvers.items import FetchOutcome
from resolvers.sources import archive, rss

log = logging.getLogger(__name__)

# Two at least, so that one source's long parse never queues every other behind it; at most
# four, since the pool shares the machine with the API and the matcher.
MAX_WORKERS = max(2, min(4, os.cpu_count() or 1))
PARSED_KINDS = frozenset({"rss", "archive"})
# Parse workers run this much nicer than the process that started them: parsing is
# background work, and on a machine whose cores the API needs too, the OS then runs the
# API's requests first (bench/api.py measures the API's p99 during a poll). A no-op where
# the platform has no os.nice.
WORKER_NICENESS = 10


@dataclass(frozen=True)
class ParseJob:
    """One fetched body to read, with what reading it needs (all of it picklable)."""

    kind: str  # one of PARSED_KINDS
    body: bytes
    body_sha256: str
    source_name: str
    now: datetime
    max_items: int | None = None
    content_type: str | None = None  # rss: the HTTP Content-Type (its charset counts)
    location: str = ""  # rss: the URL finally answered, for relative links
    etag: str | None = None
    last_modified: str | None = None
    until: date | None = None  # archive: items published after it stay hidden


def status_note(counts: dict[str, int], *, truncated: bool = False) -> str | None:
    """What the source's status adds to "ok": a truncated body, items cut at the limit."""
    parts = []
    if truncated:
        parts.append("body truncated, its broken last item dropped")
    if counts.get("cut"):
        kept = counts.get("kept", 0)
        parts.append(
            f"kept the newest {kept} of {kept + counts['cut']} items (max_items_per_fetch)"
        )
    return "; ".join(parts) or None


def parse_job(job: ParseJob) -> FetchOutcome:
    """Read one body into the source's outcome (run in a pool worker). Never raises for
    what the source sent: a body that is no feed comes back as status "error"."""
    try:
        if job.kind == "rss":
            outcome = _parse_rss(job)
        elif job.kind == "archive":
            outcome = _parse_archive(job)
        else:
            return FetchOutcome(status="error", error=f"no parser for kind {job.kind!r}")
    except ContentError as exc:
        # No validators either: a body that failed is to be fetched whole again.
        return FetchOutcome(
            status="error", error=exc.message, retry_after_seconds=exc.retry_after_seconds
        )
    except Exception as exc:  # noqa: BLE001 - whatever a body does to the parser is its fault
        log.exception("parsing %s (%s) failed unexpectedly", job.source_name, job.kind)
        return FetchOutcome(status="error", error=f"unexpected error: {type(exc).__name__}: {exc}")
    # Remembered only once the body was read: a body that failed is read again next time.
    return replace(outcome, body_sha256=job.body_sha256)


def _parse_rss(job: ParseJob) -> FetchOutcome:
    feed = rss.parse_feed(job.body, content_type=job.content_type, location=job.location)
    items, counts = normalise_items(
        feed.items, source_name=job.source_name, now=job.now, max_items=job.max_items
    )
    counts["kept"] = len(items)
    extra: dict[str, Any] = {**counts, "entries": len(feed.items)}
    if feed.notes:
        extra["notes"] = feed.notes
    return FetchOutcome(
        items=items,
        etag=job.etag,
        last_modified=job.last_modified,
        extra=extra,
        status_note=status_note(counts, truncated=feed.truncated),
    )


def _parse_archive(job: ParseJob) -> FetchOutcome:
    raw, hidden = archive.parse_archive(job.body, until=job.until)
    # An archive is a file the service was configured with, replayed whole: no item cap.
    items, counts = normalise_items(raw, source_name=job.source_name, now=job.now)
    return FetchOutcome(items=items, extra={**counts, "hidden_after_until": hidden})


# ---------------------------------------------------------------------------------------------
# The pool


class _Pool:
    """The process's parse pool: created on first use, recreated after a worker died,
    replaced by in-process parsing for good once it could not start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._unavailable = False

    def executor(self) -> concurrent.futures.Executor | None:
        """The pool, or None when bodies are to be parsed in this process."""
        with self._lock:
            if self._unavailable:
                return None
            if self._executor is None:
                try:
                    self._executor = _start_pool()
                except Exception as exc:  # noqa: BLE001 - any failure means: parse here
                    self._give_up(exc)
                    return None
            return self._executor

    def _give_up(self, exc: BaseException) -> None:
        self._unavailable = True
        log.warning(
            "no parse process pool (%s: %s); feeds are parsed in this process instead",
            type(exc).__name__,
            exc,
        )

    def broken(self, executor: concurrent.futures.Executor, exc: BaseException) -> None:
        """A worker died (or the pool could not spawn one): drop the pool."""
        with self._lock:
            if self._executor is not executor:
                return  # another job already replaced it
            self._executor = None
            if isinstance(exc, BrokenProcessPool):
                log.error("a parse worker died (%s); starting a new pool", exc)
            else:
                self._give_up(exc)
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _start_pool(workers: int = MAX_WORKERS) -> concurrent.futures.ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # The fork server imports the parsers once; each worker forks from it ready to parse.
        context.set_forkserver_preload([__name__])
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_lower_priority
    )


def _lower_priority() -> None:
    """A worker's initializer: give way to the API (WORKER_NICENESS)."""
    if hasattr(os, "nice"):
        try:
            os.nice(WORKER_NICENESS)
        except OSError:  # not allowed here: parse at the normal priority
            log.debug("could not lower a parse worker's priority", exc_info=True)


def worker_niceness() -> int:
    """The calling process's niceness (run in a worker, it tells the worker's)."""
    return os.nice(0) if hasattr(os, "nice") else 0


_POOL = _Pool()


def prestart() -> None:
    """Start the pool's workers now, without waiting for them: a cycle calls this before
    fetching, so that a fresh process's fork server and workers start while the first
    bodies are on their way, not after (the first cycle of `forecasts serve` or a CLI poll).
    Nothing happens to a pool already running but two trivial tasks."""
    executor = _POOL.executor()
    if not isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        return
    try:
        for _ in range(MAX_WORKERS):
            executor.submit(worker_niceness)
    except (BrokenProcessPool, RuntimeError, OSError) as exc:
        # The first parse finds the same and falls back; nothing to do here.
        log.debug("could not start the parse workers ahead (%s)", exc)


async def parse(job: ParseJob) -> FetchOutcome:
    """The outcome of reading `job`'s body, computed in the pool while the event loop goes
    on with other sources (in a thread of this process when there is no pool)."""
    executor = _POOL.executor()
    if executor is None:
        return await asyncio.to_thread(parse_job, job)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(executor, parse_job, job)
    except BrokenProcessPool as exc:
        # A worker died, maybe on another body: every job it took down is tried again in a
        # process of its own, so a body that kills its parser fails its own source only.
        _POOL.broken(executor, exc)
        return await _parse_alone(job)
    except (OSError, RuntimeError, AssertionError) as exc:
        # Spawning a worker failed (no processes left, a daemonic parent): parse here.
        _POOL.broken(executor, exc)
        return await asyncio.to_thread(parse_job, job)


async def _parse_alone(job: ParseJob) -> FetchOutcome:
    loop = asyncio.get_running_loop()
    alone = _start_pool(workers=1)
    try:
        return await loop.run_in_executor(alone, parse_job, job)
    except BrokenProcessPool:
        log.error("the parser died reading %s's body", job.source_name)
        return FetchOutcome(
            status="error", error="the feed parser's process died reading this body"
        )
    finally:
        alone.shutdown(wait=False)


def shutdown_pool() -> None:
    """Stop the pool's workers (at app shutdown); a later parse starts a new pool."""
    _POOL.shutdown()
