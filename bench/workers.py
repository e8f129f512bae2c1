"""Benchmark: handing poll work to a task queue, against doing it in one process.

1. No-op round trip: one message at a time, from `send` until a consumer in this process has
   run the (empty) task, ROUNDS times; p50 and p99. Floor: the same hand-off through a
   `queue.Queue` to a thread, which is what any in-process executor costs. Measured for
   dramatiq on RabbitMQ (what deploy/ runs, delivery confirmed), dramatiq on Redis, and, if
   installed, celery on RabbitMQ.
2. 50 sources: FEEDS loopback RSS feeds of ITEMS items, polled into a fresh SQLite database
   through `service.queue.poll_through_queue` with WORKERS `forecasts worker` processes
   (started before the clock starts), against the floor `run_cycle(force=True)` in this
   process on the same feeds (fetch, parse, store, match, deadline check).

    .venv/bin/python bench/workers.py [--rounds 300] [--feeds 50] [--items 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import queue as stdqueue
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dramatiq  # noqa: E402

from resolvers.cycle import run_cycle  # noqa: E402
from service.db import Database  # noqa: E402
from service.polling import poll_config  # noqa: E402
from service.queue import poll_through_queue, task_queue  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.worker import READY_LINE  # noqa: E402

AMQP = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
FORECASTS = str(Path(sys.executable).parent / "forecasts")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def round_trips(send: Callable[[], object], done: threading.Event, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds + 10):
        done.clear()
        start = time.perf_counter()
        send()
        if not done.wait(30):
            raise RuntimeError("a no-op task did not run within 30 s")
        samples.append(time.perf_counter() - start)
    return samples[10:]  # the first few warm connections up


def floor_round_trips(rounds: int) -> list[float]:
    inbox: stdqueue.Queue[int] = stdqueue.Queue()
    done = threading.Event()

    def consume() -> None:
        while inbox.get() >= 0:
            done.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        return round_trips(lambda: inbox.put(1), done, rounds)
    finally:
        inbox.put(-1)


def dramatiq_round_trips(broker: dramatiq.Broker, rounds: int) -> list[float]:
    done = threading.Event()
    name = f"bench-{uuid.uuid4().hex[:8]}"

    def noop() -> None:
        done.set()

    actor = dramatiq.actor(actor_name=f"{name}.noop", queue_name=name, broker=broker)(noop)
    worker = dramatiq.Worker(broker, queues={name}, worker_threads=1)
    worker.start()
    try:
        return round_trips(actor.send, done, rounds)
    finally:
        worker.stop()
        _delete_queues(broker, name)
        broker.close()


def _delete_queues(broker: Any, name: str) -> None:
    channel = getattr(broker, "channel", None)
    if channel is not None:  # RabbitMQ
        for queue in (name, f"{name}.DQ", f"{name}.XQ"):
            channel.queue_delete(queue)
    else:  # Redis: this broker's own keys
        broker.flush_all()


def celery_round_trips(rounds: int) -> list[float] | str:
    try:
        from celery import Celery
        from celery.contrib.testing.worker import start_worker
    except ImportError:
        return "not installed"
    done = threading.Event()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    app = Celery(name, broker=AMQP.replace("amqp://", "pyamqp://"))
    app.conf.update(task_default_queue=name, task_acks_late=True, worker_prefetch_multiplier=1)

    @app.task(name=f"{name}.noop")  # type: ignore[untyped-decorator]
    def noop() -> None:
        done.set()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        return round_trips(noop.delay, done, rounds)


# --- 50 sources -----------------------------------------------------------------------------


def rss(feed: int, items: int) -> bytes:
    published = format_datetime(datetime(2026, 3, 1, 12, tzinfo=UTC))
    entries = "".join(
        f"<item><title>Report {i} from wire {feed} on the harbour talks</title>"
        f"<link>https://wire{feed}.invalid/{i}</link>"
        f"<description>Item {i} of feed {feed}: officials met again.</description>"
        f"<pubDate>{published}</pubDate></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire {feed}</title><link>https://wire{feed}.invalid/</link>"
        f"<description>bench</description>{entries}</channel></rss>"
    ).encode()


def serve_feeds(feeds: int, items: int) -> ThreadingHTTPServer:
    bodies = {f"/feed-{n}.xml": rss(n, items) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = bodies.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


SCRATCH_DATABASES: list[str] = []


def scratch_url(folder: Path, pg: str | None) -> str:
    """A new SQLite file, or a new database on the PostgreSQL server at `pg` (dropped at
    the end)."""
    if pg is None:
        return f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
    import psycopg
    from sqlalchemy import make_url

    base = make_url(pg)
    name = f"bench_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host=base.host,
        port=base.port or 5432,
        user=base.username,
        dbname=base.database,
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    SCRATCH_DATABASES.append(name)
    return base.set(database=name).render_as_string(hide_password=False)


def drop_scratch(pg: str | None) -> None:
    if pg is None:
        return
    import psycopg
    from sqlalchemy import make_url

    base = make_url(pg)
    with psycopg.connect(
        host=base.host,
        port=base.port or 5432,
        user=base.username,
        dbname=base.database,
        autocommit=True,
    ) as conn:
        for name in SCRATCH_DATABASES:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_db(
    folder: Path, feeds: int, port: int, settings: dict[str, Any], pg: str | None
) -> Database:
    from tests.factories import store_source

    url = scratch_url(folder, pg)
    db = Database(url, Settings(database_url=url, allow_private_sources=True, **settings))
    db.migrate()
    for n in range(feeds):
        store_source(db, f"wire {n}", "rss", f"http://127.0.0.1:{port}/feed-{n}.xml")
    return db


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[str]]:
    processes = []
    for _ in range(count):
        process = subprocess.Popen(
            [FORECASTS, "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if READY_LINE in line:
                break
        else:
            raise RuntimeError("a worker did not start")
        # Keep reading its log, so that a full pipe never stalls the worker.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        processes.append(process)
    return processes


def sources_through(url: str, args: argparse.Namespace, folder: Path, port: int) -> float:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    extra = {"queue_url": url, "queue_name": name}
    db = fresh_db(folder, args.feeds, port, extra, args.pg)
    settings = db.settings
    env = {
        **os.environ,
        "FORECASTS_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "FORECASTS_QUEUE_URL": url,
        "FORECASTS_QUEUE_NAME": name,
        "FORECASTS_ALLOW_PRIVATE_SOURCES": "true",
        "FORECASTS_WORKER_THREADS": str(args.threads),
    }
    workers = start_workers(args.workers, env)
    try:
        start = time.perf_counter()
        report = poll_through_queue(db, settings, force=True)
        elapsed = time.perf_counter() - start
        assert report.sources_polled == args.feeds and not report.errors, report
        assert report.new_items == args.feeds * args.items, report
        return elapsed
    finally:
        for process in workers:
            process.terminate()
            process.wait(30)
        queue = task_queue(settings)
        _delete_queues(queue.broker, name)
        queue.close()
        db.dispose()


def sources_floor(args: argparse.Namespace, folder: Path, port: int) -> float:
    db = fresh_db(folder, args.feeds, port, {}, args.pg)
    start = time.perf_counter()
    report = run_cycle(db, poll_config(db.settings), force=True)
    elapsed = time.perf_counter() - start
    assert report.new_items == args.feeds * args.items, report
    db.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="per worker process")
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="store in scratch databases on this PostgreSQL server (e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres) instead of SQLite files",
    )
    args = parser.parse_args()
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    print(f"no-op round trip, {args.rounds} rounds (ms, p50 / p99):")
    floor = percentiles(floor_round_trips(args.rounds))
    print(f"  floor: queue.Queue to a thread      {floor[0] * 1e3:7.3f} / {floor[1] * 1e3:7.3f}")
    candidates: list[tuple[str, Callable[[], list[float] | str]]] = [
        (
            "dramatiq, RabbitMQ (confirmed)",
            lambda: dramatiq_round_trips(
                RabbitmqBroker(url=AMQP, confirm_delivery=True), args.rounds
            ),
        ),
        (
            "dramatiq, Redis",
            lambda: dramatiq_round_trips(
                RedisBroker(url=REDIS),  # type: ignore[no-untyped-call]
                args.rounds,
            ),
        ),
        ("celery, RabbitMQ (acks late)", lambda: celery_round_trips(args.rounds)),
    ]
    for label, measure in candidates:
        try:
            result = measure()
        except Exception as exc:  # noqa: BLE001 - one broker away must not stop the others
            print(f"  {label:34} unavailable: {type(exc).__name__}: {exc}")
            continue
        if isinstance(result, str):
            print(f"  {label:34} {result}")
            continue
        p50, p99 = percentiles(result)
        print(
            f"  {label:34} {p50 * 1e3:7.3f} / {p99 * 1e3:7.3f}   ({p50 / floor[0]:.0f}x floor p50)"
        )

    where = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"\n{args.feeds} sources x {args.items} items into {where}, {args.workers} worker "
        f"processes x {args.threads} threads:"
    )
    server = serve_feeds(args.feeds, args.items)
    port = server.server_address[1]
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        folder = Path(tmp)
        base = sources_floor(args, folder, int(port))
        print(f"  floor: run_cycle in this process    {base:6.2f} s")
        for label, url in (("dramatiq, RabbitMQ", AMQP), ("dramatiq, Redis", REDIS)):
            try:
                elapsed = sources_through(url, args, folder, int(port))
            except Exception as exc:  # noqa: BLE001
                print(f"  {label:34} unavailable: {type(exc).__name__}: {exc}")
                continue
            print(f"  {label:34} {elapsed:6.2f} s   ({elapsed / base:.2f}x floor)")
    server.shutdown()
    drop_scratch(args.pg)
    print("\nreproduce: .venv/bin/python bench/workers.py " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
