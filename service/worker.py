"""The processes besides the one-process default: `forecasts worker` (a dramatiq worker for
FORECASTS_QUEUE_URL) and the API processes of `forecasts serve --workers N`."""

from __future__ import annotations

import logging
import signal
from typing import Any

import dramatiq

from service.db import Database
from service.queue import QueueUnavailable, set_worker_context, shown_url, task_queue
from service.serving import HeaderTimeoutH11Protocol, uvicorn_config
from service.settings import Settings, get_settings

log = logging.getLogger("forecasts.worker")

# Printed once the worker consumes, so that a supervisor (or a test) can tell it is ready.
READY_LINE = "forecasts worker ready"
APP_FACTORY = "service.app:create_app"


def run_worker(settings: Settings, *, threads: int) -> None:
    """Consume poll tasks until SIGTERM or SIGINT, then finish the tasks in hand and exit.

    Raises QueueUnavailable (naming FORECASTS_QUEUE_URL) if it is unset or unreachable."""
    if settings.queue_url is None:
        raise QueueUnavailable(
            "FORECASTS_QUEUE_URL is not set: a worker consumes the poll tasks of that queue "
            "(e.g. amqp://guest:guest@127.0.0.1:5672/)"
        )
    queue = task_queue(settings)
    queue.check_reachable()
    db = Database(settings.database_url, settings)
    # Idempotent, and serialised between processes by the migrations' own lock: a worker
    # may start before any API process has made the schema.
    db.migrate()
    set_worker_context(db, settings)
    # Blocked before dramatiq starts its threads, so that they inherit the mask and only
    # sigwait below sees these signals: the worker stops once, from the main thread.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    worker = dramatiq.Worker(queue.broker, queues={queue.queue_name}, worker_threads=threads)
    worker.start()
    log.info(
        "%s: queue %s on %s, %d threads",
        READY_LINE,
        queue.queue_name,
        shown_url(queue.url),
        threads,
    )
    print(f"{READY_LINE} (queue {queue.queue_name}, {threads} threads)", flush=True)
    try:
        received = signal.sigwait(stop_signals)
        log.info("signal %s: finishing the tasks in hand", signal.Signals(received).name)
    finally:
        # Tasks not finished by then are not acknowledged, so the broker redelivers them.
        worker.stop(timeout=int((settings.source_deadline_seconds + 30) * 1000))
        queue.close()
        db.dispose()


class SettingsHeaderTimeoutProtocol(HeaderTimeoutH11Protocol):
    """The header-deadline protocol of `serve`, importable by name: uvicorn hands its
    configuration to each worker process by pickling, and so cannot carry the class that
    service.serving makes per call. Each worker reads the deadline from its environment."""

    header_timeout_seconds = get_settings().serve_header_timeout_seconds


def run_api_processes(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """`forecasts serve --workers N`: uvicorn's supervisor over N processes, each building
    the app through its factory (so each has its own engine and takes part in the scheduler
    election; one wins, the others serve the API only)."""
    from uvicorn.supervisors import Multiprocess

    config: Any = uvicorn_config(APP_FACTORY, settings, host=host, port=port)
    config.factory = True
    config.workers = workers
    config.http = f"{__name__}:{SettingsHeaderTimeoutProtocol.__name__}"
    socket = config.bind_socket()
    Multiprocess(config, sockets=[socket]).run()
