"""Fetching on a task queue: with FORECASTS_QUEUE_URL set, each due source is one task.

The queue is dramatiq's, on RabbitMQ (`amqp://…`, what deploy/ runs) or Redis (`redis://…`);
deploy/SCALING.md says why. A task fetches, parses and stores one source through the cycle's
own per-source path (`run_cycle(source_ids=[id], match=False)`, what the scheduler's job does
in one process), and is acknowledged only when it has finished: a worker killed mid-task
leaves its message unacknowledged and the broker hands it to another worker. Delivery is
therefore at least once, and a task run twice stores nothing twice: items are inserted by
their de-duplication key, ignoring conflicts.

A batch (the elected scheduler's dispatch job, or POST /api/poll) stamps its tasks with the
batch's instant, which the task records as the source's `last_polled_at`; the batch waits
until every source it handed out carries that stamp (or is gone), then runs the one matching
pass and the deadline check itself. So matching stays where it was, in one place per cycle,
after the fetches, and the workers never match.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.engine import make_url
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from forecasts.models import utcnow
from forecasts.tables import sources_t
from resolvers.cycle import CycleReport, match_and_check, run_cycle, sources_to_poll
from service.db import Database
from service.polling import poll_config
from service.settings import Settings

if TYPE_CHECKING:
    import dramatiq

log = logging.getLogger("forecasts.queue")

ACTOR_NAME = "forecasts.poll_source"
# A task that raised (the database was away, say) is retried by dramatiq's Retries
# middleware with growing waits, then dead-lettered; a fetch error is not an exception (the
# cycle records it on the source), so these are rare.
TASK_RETRIES = 3
TASK_MIN_BACKOFF_MS = 1_000
# Beyond the source deadline (which bounds the fetch), room for parsing and storing.
TASK_TIME_MARGIN_SECONDS = 120.0
# How often a waiting batch looks at its sources' stamps.
WAIT_STEP_SECONDS = 0.2


class QueueUnavailable(HTTPException):
    """The broker at FORECASTS_QUEUE_URL cannot be reached (or the variable is unusable).

    An HTTPException so that POST /api/poll answers 503 with this text, not a 500."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=503, detail=detail)

    def __str__(self) -> str:
        return str(self.detail)


def shown_url(url: str) -> str:
    """The queue URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme alone
        return url.split("://", 1)[0] + "://…"


def _broker(url: str) -> dramatiq.Broker:
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # confirm_delivery: an enqueue returns only once RabbitMQ has taken the message.
        return RabbitmqBroker(url=url, confirm_delivery=True)
    if scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)  # type: ignore[no-untyped-call]
    raise QueueUnavailable(
        f"FORECASTS_QUEUE_URL must start with amqp://, amqps://, redis:// or rediss://; "
        f"got {shown_url(url)}"
    )


@dataclass(frozen=True)
class _WorkerContext:
    db: Database
    settings: Settings


# Set by the worker process (service.worker) before it consumes: the task body finds its
# database and settings here, as the scheduler's jobs find theirs in its context.
_worker_context: _WorkerContext | None = None


def set_worker_context(db: Database, settings: Settings) -> None:
    global _worker_context
    _worker_context = _WorkerContext(db, settings)


def poll_source_task(source_id: int, batch_at: str, force: bool) -> None:
    """The task: fetch, parse and store one source, stamped with its batch's instant."""
    context = _worker_context
    if context is None:
        raise RuntimeError("poll tasks run only in a `forecasts worker` process")
    report = run_cycle(
        context.db,
        poll_config(context.settings),
        force=force,
        source_ids=[source_id],
        now=datetime.fromisoformat(batch_at),
        match=False,
    )
    log.info("polled source %s: %s", source_id, report)


class TaskQueue:
    """The broker and the poll actor, declared alike in the processes that send and run."""

    def __init__(self, settings: Settings) -> None:
        if settings.queue_url is None:
            raise QueueUnavailable("FORECASTS_QUEUE_URL is not set")
        self.url = settings.queue_url.get_secret_value()
        self.queue_name = settings.queue_name
        # Imported here: without a queue (the default) the service never loads dramatiq.
        import dramatiq

        self.broker = _broker(self.url)
        time_limit = settings.source_deadline_seconds + TASK_TIME_MARGIN_SECONDS
        self.actor: dramatiq.Actor[Any, Any] = dramatiq.actor(
            actor_name=ACTOR_NAME,
            queue_name=self.queue_name,
            broker=self.broker,
            max_retries=TASK_RETRIES,
            min_backoff=TASK_MIN_BACKOFF_MS,
            time_limit=int(time_limit * 1000),
        )(poll_source_task)

    def check_reachable(self) -> None:
        """Connect now, so that a wrong URL is told at start, naming the variable."""
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        try:
            if isinstance(self.broker, RabbitmqBroker):
                self.broker.declare_queue(self.queue_name, ensure=True)
            else:
                self.broker.client.ping()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - every client error means "not reachable"
            raise QueueUnavailable(
                f"FORECASTS_QUEUE_URL ({shown_url(self.url)}) is not reachable: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def send(self, source_id: int, batch_at: datetime, *, force: bool) -> None:
        try:
            self.actor.send(source_id, batch_at.isoformat(), force)
        except Exception as exc:  # noqa: BLE001 - dramatiq has retried; the broker is away
            raise QueueUnavailable(
                f"could not hand a poll task to FORECASTS_QUEUE_URL ({shown_url(self.url)}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def close(self) -> None:
        self.broker.close()


_queues: dict[tuple[str, str], TaskQueue] = {}
_queues_lock = threading.Lock()


def task_queue(settings: Settings) -> TaskQueue:
    """This process's queue for these settings (one broker, whose connections it reuses)."""
    url = settings.queue_url.get_secret_value() if settings.queue_url else ""
    key = (url, settings.queue_name)
    with _queues_lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = TaskQueue(settings)
        return queue


def poll_now(db: Database, settings: Settings, *, force: bool = False) -> CycleReport:
    """One whole cycle, as POST /api/poll runs it: in this process without a queue (as it
    always has), else through the workers."""
    if settings.queue_url is None:
        return run_cycle(db, poll_config(settings), force=force)
    return poll_through_queue(db, settings, force=force)


# --- a batch --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Handed:
    id: int
    name: str
    items_seen: int


def _aware(instant: datetime | None) -> datetime | None:
    # SQLite gives the stored UTC instants back without their offset.
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=UTC)


def poll_through_queue(
    db: Database,
    settings: Settings,
    *,
    force: bool = False,
    match_when_idle: bool = True,
    now: datetime | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> CycleReport:
    """Hand every due source (every enabled one if `force`) to the workers, wait for them,
    then match once and check deadlines; the report reads as run_cycle's.

    `match_when_idle=False` (the scheduler's dispatch tick) skips matching when no source was
    due, as the in-process schedule matches only after a source job. `cancelled` stops the
    wait (and the matching) early: a scheduler shutting down does not wait for workers."""
    now = (now or utcnow()).astimezone(UTC)
    queue = task_queue(settings)
    with db.read() as conn:
        # The cycle's own rule for which sources are due (its one owner).
        ids = [spec.id for spec in sources_to_poll(conn, now, force=force, source_ids=None)]
        rows = (
            conn.execute(
                select(sources_t.c.id, sources_t.c.name, sources_t.c.items_seen).where(
                    sources_t.c.id.in_(ids)
                )
            ).all()
            if ids
            else []
        )
    handed = [_Handed(r.id, r.name, r.items_seen) for r in rows]
    for source in handed:
        queue.send(source.id, now, force=force)
    report = _wait_for(db, handed, now, settings.queue_wait_seconds, cancelled)
    if (handed or match_when_idle) and not cancelled():
        report.suggestions_created += match_and_check(db, poll_config(settings), now=now)
    return report


def _unfinished(db: Database, handed: list[_Handed], now: datetime) -> dict[int, Any]:
    """The handed sources whose task has not stamped them yet (gone or disabled ones count as
    finished: their task has nothing to do)."""
    with db.read() as conn:
        rows = conn.execute(
            select(sources_t.c.id, sources_t.c.enabled, sources_t.c.last_polled_at).where(
                sources_t.c.id.in_([s.id for s in handed])
            )
        ).all()
    return {
        r.id: r
        for r in rows
        if r.enabled and ((_aware(r.last_polled_at) or datetime.min.replace(tzinfo=UTC)) < now)
    }


def _wait_for(
    db: Database,
    handed: list[_Handed],
    now: datetime,
    timeout: float,
    cancelled: Callable[[], bool],
) -> CycleReport:
    report = CycleReport()
    if not handed:
        return report
    bound = stop_after_delay(timeout)
    waiting = Retrying(
        stop=lambda state: bound(state) or cancelled(),
        wait=wait_fixed(WAIT_STEP_SECONDS),
        retry=retry_if_result(bool),
        # Past the bound, the batch goes on with what is stored; the rest stay queued.
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else {},
    )
    pending: dict[int, Any] = waiting(_unfinished, db, handed, now)
    with db.read() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(
                    sources_t.c.id,
                    sources_t.c.last_polled_at,
                    sources_t.c.last_status,
                    sources_t.c.last_error,
                    sources_t.c.items_seen,
                ).where(sources_t.c.id.in_([s.id for s in handed]))
            )
        }
    for source in handed:
        row = rows.get(source.id)
        if source.id in pending:
            report.errors.append(
                {
                    "source": source.name,
                    "error": f"not polled by a worker within {timeout:g} s; it stays queued",
                }
            )
            continue
        polled = _aware(row.last_polled_at) if row is not None else None
        if row is None or polled is None or polled < now:
            continue  # deleted or disabled before its task ran
        report.sources_polled += 1
        # Another poll of the same source in the meantime would count here too: rare, and
        # the items are new either way.
        report.new_items += max(0, row.items_seen - source.items_seen)
        if row.last_status == "error":
            report.errors.append({"source": source.name, "error": row.last_error or "error"})
    return report
