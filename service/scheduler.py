"""Background polling: one APScheduler job per enabled source, run by one elected process
(with FORECASTS_QUEUE_URL, one dispatch job that hands the due sources to the workers).

Jobs live in the service's own database (table `apscheduler_jobs`), so their next run times
survive a restart. With several processes on one database, a lock elects the one that runs
them: a PostgreSQL advisory lock held on a connection kept open for the process's life, or an
exclusive `flock` on `<database file>.scheduler.lock` for SQLite. The others stand by and
retry every few seconds; when the leader dies, its connection (or file descriptor) closes, the
lock frees and a standby takes over.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, select, text

from forecasts.models import utcnow
from forecasts.tables import sources_t as sources
from resolvers.cycle import match_and_check, run_cycle
from service.db import Database
from service.polling import poll_config
from service.settings import Settings

log = logging.getLogger("forecasts.scheduler")


# Arbitrary constant naming the scheduler's PostgreSQL advisory lock (the migrations use
# 7_240_001); advisory locks are per database, so two deployments on one server do not meet.
LEADER_LOCK_ID = 7_240_002
# Textual references, so that the pickled jobs in the job store survive code reloads.
POLL_JOB_FUNC = "service.scheduler:poll_source_job"
DEADLINE_JOB_FUNC = "service.scheduler:deadline_job"
DEADLINE_JOB_ID = "deadline"
MATCH_JOB_FUNC = "service.scheduler:match_job"
MATCH_JOB_ID = "match"
NOTIFY_JOB_FUNC = "service.scheduler:notify_job"
NOTIFY_JOB_ID = "notify"
DIGEST_JOB_FUNC = "service.scheduler:digest_job"
DIGEST_JOB_ID = "digest"
# With FORECASTS_QUEUE_URL, one job hands the due sources to the workers instead of one job
# per source (service.queue).
DISPATCH_JOB_FUNC = "service.scheduler:dispatch_job"
DISPATCH_JOB_ID = "dispatch"
# Source jobs only fetch and store; one matching pass runs this long after the first of them
# finishes, for every source that finished meanwhile, so N sources cost one pass, not N.
MATCH_DELAY = timedelta(seconds=5)
SOURCE_JOB_PREFIX = "source-"
# A source never polled runs this long after start (or after it is added), not at once, so
# that starting the service is not slowed by a burst of fetches.
FIRST_RUN_DELAY = timedelta(seconds=10)
# How often a standby tries to take the lock, and how often the leader checks it still holds it.
RETRY_SECONDS = 5.0
# How often the leader re-reads the sources table: catches changes made through another
# process's API or the command line, which cannot tell this process directly.
RESYNC_SECONDS = 60.0
# A few sources may be fetched at once; each cycle is bounded by its own source deadline.
MAX_CONCURRENT_JOBS = 4


def source_job_id(source_id: int) -> str:
    return f"{SOURCE_JOB_PREFIX}{source_id}"


def first_run_time(
    last_polled_at: datetime | None,
    every_minutes: int,
    now: datetime,
    delay: timedelta = FIRST_RUN_DELAY,
) -> datetime:
    """When a source's job should first run: an interval after its last poll, never sooner
    than `delay` from now (so a source never polled, or overdue, runs soon)."""
    soonest = now + delay
    if last_polled_at is None:
        return soonest
    return max(last_polled_at + timedelta(minutes=every_minutes), soonest)


# --- what the jobs run ----------------------------------------------------------------------


@dataclass(frozen=True)
class _JobContext:
    db: Database
    settings: Settings
    scheduler: BackgroundScheduler
    match_delay: timedelta = MATCH_DELAY


# The database and settings of this process's elected scheduler. Jobs are stored by textual
# reference with only a source id as argument, so they find the rest here.
_context: _JobContext | None = None
_context_lock = threading.Lock()


def _job_context() -> _JobContext:
    context = _context
    if context is None:
        raise RuntimeError("no scheduler is running in this process")
    return context


def poll_source_job(source_id: int) -> None:
    """Fetch and store one source's new items, then ask for the shared matching pass.

    The cycle skips a source that is disabled, deleted or backing off; the next sync drops
    the job of one that is gone.
    """
    context = _job_context()
    report = run_cycle(
        context.db, poll_config(context.settings), source_ids=[source_id], match=False
    )
    log.info("polled source %s: %s", source_id, report)
    _request_match(context)


def _request_match(context: _JobContext) -> None:
    """Schedule the matching pass unless one is already waiting (it will see these items)."""
    scheduler = context.scheduler
    if scheduler.get_job(MATCH_JOB_ID) is not None:
        return
    scheduler.add_job(
        MATCH_JOB_FUNC,
        DateTrigger(utcnow() + context.match_delay, timezone=UTC),
        id=MATCH_JOB_ID,
        name="match new items and check deadlines",
        replace_existing=True,
    )


def match_job() -> None:
    """One matching pass over everything stored since the last, then the deadline check."""
    context = _job_context()
    created = match_and_check(context.db, poll_config(context.settings), now=utcnow())
    log.info("matching pass: %s suggestions raised", created)


def dispatch_job() -> None:
    """Hand the due sources to the queue's workers, wait for them, then match once."""
    from service.queue import poll_through_queue

    context = _job_context()
    scheduler = context.scheduler
    report = poll_through_queue(
        context.db, context.settings, match_when_idle=False, cancelled=lambda: not scheduler.running
    )
    if report.sources_polled or report.errors:
        log.info("queued poll: %s", report)


def deadline_job() -> None:
    """Match stored items and raise deadline suggestions, fetching no source."""
    match_job()


def notify_job() -> None:
    """Turn new suggestions and resolutions into webhook deliveries and send them."""
    from service.webhooks import dispatch

    context = _job_context()
    queued, delivered = dispatch(context.db, context.settings)
    if queued or delivered:
        log.info("webhooks: %s deliveries queued, %s delivered", queued, delivered)


def digest_job() -> None:
    """The daily e-mail digest of pending reviews and past-deadline questions."""
    from service.digest import send_digest

    context = _job_context()
    if context.settings.smtp_host and context.settings.digest_recipients:
        send_digest(context.db, context.settings)


# --- leader election ------------------------------------------------------------------------


class _LeaderLock(ABC):
    """A non-blocking, process-lifetime lock: held by at most one process per database."""

    @abstractmethod
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool:
        return True

    @abstractmethod
    def release(self) -> None: ...


class _PostgresLock(_LeaderLock):
    """`pg_try_advisory_lock` on a dedicated connection; the server frees it when that
    connection closes, including when the process dies."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: Connection | None = None

    def try_acquire(self) -> bool:
        # Autocommit: the connection lives as long as the process, and an open transaction
        # that long would hold back vacuum.
        conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                conn.execute(text(f"SELECT pg_try_advisory_lock({LEADER_LOCK_ID})")).scalar()
            )
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self.conn = conn
        return True

    def still_held(self) -> bool:
        # If the connection dropped (server restart, network), the server has freed the lock
        # and another process may hold it now.
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the session (and lock) is gone
            return False
        return True

    def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.execute(text(f"SELECT pg_advisory_unlock({LEADER_LOCK_ID})"))
            conn.close()
        except Exception:  # noqa: BLE001 - a dead session has released the lock already
            conn.invalidate()
            conn.close()


class _FileLock(_LeaderLock):
    """An exclusive `flock` next to the SQLite file; the kernel frees it when the process dies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return True

    def still_held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        # The lock file stays: removing it would let a process lock a new file while another
        # still holds the old one.
        fd, self.fd = self.fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class _AlwaysLeader(_LeaderLock):
    """An in-memory SQLite database belongs to one process, which is always its leader."""

    def __init__(self) -> None:
        self.held = False

    def try_acquire(self) -> bool:
        self.held = True
        return True

    def release(self) -> None:
        self.held = False


def _leader_lock(db: Database) -> _LeaderLock:
    if not db.is_sqlite:
        return _PostgresLock(db)
    database = db.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return _AlwaysLeader()
    return _FileLock(os.path.abspath(database) + ".scheduler.lock")


class _SharedEngineJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The job store on the service's own engine, which it must not dispose on shutdown."""

    def shutdown(self) -> None:
        pass


# --- the scheduler --------------------------------------------------------------------------


class SourceScheduler:
    """Elects a leader among the processes on one database; the leader runs the jobs."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        retry_seconds: float = RETRY_SECONDS,
        resync_seconds: float = RESYNC_SECONDS,
        first_run_delay: timedelta | None = None,
        match_delay: timedelta = MATCH_DELAY,
    ) -> None:
        self.db = db
        self.settings = settings
        self.retry_seconds = retry_seconds
        self.resync_seconds = resync_seconds
        self.first_run_delay = FIRST_RUN_DELAY if first_run_delay is None else first_run_delay
        self.match_delay = match_delay
        self._lock = _leader_lock(db)
        self._scheduler: BackgroundScheduler | None = None
        # Serialises becoming leader, stepping down and job changes from the API.
        self._state = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sync = 0.0

    @property
    def running(self) -> bool:
        """True only while this process is the elected leader and runs the jobs."""
        scheduler = self._scheduler
        return scheduler is not None and scheduler.running

    # lifecycle

    def start(self) -> None:
        """Try to lead at once (so `.running` is settled on return), then keep watching."""
        try:
            self._attempt()
        except Exception:  # noqa: BLE001 - the service still serves; the watcher retries
            log.exception("could not take part in the scheduler election; retrying")
        self._thread = threading.Thread(
            target=self._watch, name="forecasts-scheduler-election", daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop running jobs (waiting for those in flight) and give up the lock."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._state:
            self._step_down(wait=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            try:
                self._attempt()
            except Exception:  # noqa: BLE001 - the watcher must outlive a database hiccup
                log.exception("scheduler election check failed; retrying")

    def _attempt(self) -> None:
        # The lock itself is touched only by this thread (and by start and shutdown, which run
        # before and after it), so its checks, which may wait on the network, run without
        # holding up the API's calls on `_state`.
        if self._stop.is_set():
            return
        if self._scheduler is not None:
            held = self._lock.still_held()
            with self._state:
                if self._scheduler is None:
                    return
                if not held:
                    log.warning("lost the scheduler lock; standing by")
                    # Do not wait for jobs in flight: their database is likely unreachable.
                    self._step_down(wait=False)
                elif time.monotonic() - self._last_sync >= self.resync_seconds:
                    self._sync_all()
            return
        if not self._lock.try_acquire():
            return
        with self._state:
            try:
                self._lead()
            except BaseException:
                self._step_down(wait=False)
                raise

    def _lead(self) -> None:
        global _context
        scheduler = BackgroundScheduler(
            jobstores={"default": _SharedEngineJobStore(engine=self.db.engine)},
            executors={"default": ThreadPoolExecutor(MAX_CONCURRENT_JOBS)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        with _context_lock:
            _context = _JobContext(self.db, self.settings, scheduler, self.match_delay)
        self._scheduler = scheduler
        # Paused until the jobs match the sources table, so no stale job fires first.
        scheduler.start(paused=True)
        self._sync_all()
        scheduler.resume()
        log.info("this process now runs the scheduled jobs")

    def _step_down(self, *, wait: bool) -> None:
        global _context
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=wait)
        with _context_lock:
            if _context is not None and _context.db is self.db:
                _context = None
        self._lock.release()

    # jobs

    def _sync_all(self) -> None:
        """Make the job store match the sources table: add missing, drop stale, fix intervals."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        with self.db.read() as conn:
            rows = conn.execute(
                select(sources.c.id, sources.c.poll_every_minutes, sources.c.last_polled_at).where(
                    sources.c.enabled
                )
            ).all()
        # With a queue, the dispatch job reads the due sources itself at every tick.
        queued = self.settings.queue_url is not None
        wanted = set() if queued else {source_job_id(row.id) for row in rows}
        stored = {job.id: job for job in scheduler.get_jobs()}
        for job_id in stored:
            if job_id.startswith(SOURCE_JOB_PREFIX) and job_id not in wanted:
                scheduler.remove_job(job_id)
        now = utcnow()
        self._ensure_dispatch_job(scheduler, stored.get(DISPATCH_JOB_ID), queued)
        for row in rows if not queued else []:
            self._ensure_source_job(
                scheduler,
                stored.get(source_job_id(row.id)),
                row.id,
                row.poll_every_minutes,
                row.last_polled_at,
                now,
            )
        if DEADLINE_JOB_ID not in stored:
            # Shortly after midnight UTC, when "today" (and so every deadline) moves on.
            scheduler.add_job(
                DEADLINE_JOB_FUNC,
                CronTrigger(hour=0, minute=5, timezone=UTC),
                id=DEADLINE_JOB_ID,
                name="deadline check",
                replace_existing=True,
            )
        if NOTIFY_JOB_ID not in stored:
            scheduler.add_job(
                NOTIFY_JOB_FUNC,
                IntervalTrigger(seconds=max(5, self.settings.notify_every_seconds), timezone=UTC),
                id=NOTIFY_JOB_ID,
                name="webhook deliveries",
                replace_existing=True,
            )
        if (
            DIGEST_JOB_ID not in stored
            and self.settings.smtp_host
            and self.settings.digest_recipients
        ):
            scheduler.add_job(
                DIGEST_JOB_FUNC,
                CronTrigger(hour=self.settings.digest_hour % 24, minute=15, timezone=UTC),
                id=DIGEST_JOB_ID,
                name="e-mail digest",
                replace_existing=True,
            )
        self._last_sync = time.monotonic()

    def _ensure_dispatch_job(
        self, scheduler: BackgroundScheduler, existing: Job | None, queued: bool
    ) -> None:
        interval = timedelta(seconds=self.settings.queue_dispatch_seconds)
        if not queued:
            if existing is not None:
                scheduler.remove_job(DISPATCH_JOB_ID)
        elif existing is None or getattr(existing.trigger, "interval", None) != interval:
            scheduler.add_job(
                DISPATCH_JOB_FUNC,
                IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC),
                id=DISPATCH_JOB_ID,
                name="hand due sources to the queue",
                replace_existing=True,
            )

    def _ensure_source_job(
        self,
        scheduler: BackgroundScheduler,
        existing: Job | None,
        source_id: int,
        every_minutes: int,
        last_polled_at: datetime | None,
        now: datetime,
    ) -> None:
        """Add the source's job, or replace `existing` (its stored job) if the interval moved."""
        job_id = source_job_id(source_id)
        interval = timedelta(minutes=every_minutes)
        if existing is not None and getattr(existing.trigger, "interval", None) == interval:
            # Kept as stored, so a restart does not move its next run.
            return
        scheduler.add_job(
            POLL_JOB_FUNC,
            IntervalTrigger(minutes=every_minutes, timezone=UTC),
            args=[source_id],
            id=job_id,
            name=f"poll source {source_id}",
            replace_existing=True,
            next_run_time=first_run_time(last_polled_at, every_minutes, now, self.first_run_delay),
        )

    def source_changed(self, source_id: int) -> None:
        """Bring one source's job in line with its row (added, rescheduled or removed)."""
        with self._state:
            scheduler = self._scheduler
            if scheduler is None or self.settings.queue_url is not None:
                # A standby: the leader (another process) picks the change up on its resync;
                # with a queue, the dispatch job reads the sources table at every tick.
                return
            with self.db.read() as conn:
                row = conn.execute(
                    select(
                        sources.c.enabled, sources.c.poll_every_minutes, sources.c.last_polled_at
                    ).where(sources.c.id == source_id)
                ).first()
            if row is None or not row.enabled:
                self._remove_job(scheduler, source_job_id(source_id))
                return
            self._ensure_source_job(
                scheduler,
                scheduler.get_job(source_job_id(source_id)),
                source_id,
                row.poll_every_minutes,
                row.last_polled_at,
                utcnow(),
            )

    def source_removed(self, source_id: int) -> None:
        """Drop a deleted source's job."""
        with self._state:
            if self._scheduler is not None:
                self._remove_job(self._scheduler, source_job_id(source_id))

    @staticmethod
    def _remove_job(scheduler: BackgroundScheduler, job_id: str) -> None:
        try:
            scheduler.remove_job(job_id)
        except JobLookupError:
            pass  # it had no job (it was disabled, or never synced)

    def jobs(self) -> list[Job]:
        """The stored jobs (empty while standing by)."""
        scheduler = self._scheduler
        return list(scheduler.get_jobs()) if scheduler is not None else []


def start_scheduler(db: Database, settings: Settings, **options: Any) -> SourceScheduler:
    """Start the election (and, if this process wins, the jobs); `.shutdown()` at exit."""
    scheduler = SourceScheduler(db, settings, **options)
    scheduler.start()
    return scheduler
