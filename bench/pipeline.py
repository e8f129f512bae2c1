"""Benchmark: the poll cycle as a pipeline (issue 12, point 2), in two figures.

quiet: FEEDS generated feeds of ITEMS items (no ETag, no Last-Modified, as many real feeds)
  polled twice with force against N open questions; the second poll finds every body
  byte-identical, so it should cost about what downloading the bodies costs. Floor: the same
  bodies fetched alone, concurrently, with one httpx client (what any poll must do to learn
  that nothing changed). Before the change the second poll cost 0.83x the first.

large: LARGE feeds of LARGE_ITEMS items and one normal feed (about 24 KB) in one cycle with a
  5 s source deadline, each server answering after 0.05 to LATENCY seconds. Before the change
  their parsing ran on the cycle's event loop inside the deadlines, and the normal feed and
  others were backed off ("no answer within the source deadline"). Printed: every source's
  status, when the normal feed was stored, and the floor feedparser alone takes over the
  large bodies (the time a loop-bound parse would hold the loop).

    .venv/bin/python bench/pipeline.py [--section quiet|large|both] [--feeds 100] [--items 200]
        [--questions 1000] [--large-feeds 12] [--large-items 4000] [--deadline 5] [--latency 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench.poll import (  # noqa: E402
    VOCABULARY,
    Feeds,
    FeedServer,
    Text,
    make_feeds,
    make_questions,
    make_vocabulary,
    parse_alone,
)
from forecasts.models import utcnow  # noqa: E402
from forecasts.tables import questions_t, sources_t  # noqa: E402
from resolvers import cycle  # noqa: E402
from resolvers.items import PollConfig  # noqa: E402
from resolvers.sources import parsing  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402


def serve_with_latency(bodies: list[bytes], latencies: list[float]) -> ThreadingHTTPServer:
    """Each /feed<n>.xml answered after latencies[n] seconds, as servers across the
    internet answer (on bare loopback every body arrives before any parse can start)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            n = int(self.path.strip("/").split(".")[0].removeprefix("feed"))
            threading.Event().wait(latencies[n])
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(bodies[n])))
            self.end_headers()
            self.wfile.write(bodies[n])

        def log_message(self, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def database(feeds: int, port: int, questions: list[dict[str, Any]]) -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url, Settings(database_url=url, scheduler="off"))
        db.migrate()
        now = utcnow()
        with db.write() as conn:
            for start in range(0, len(questions), 2000):
                conn.execute(insert(questions_t), questions[start : start + 2000])
            conn.execute(
                insert(sources_t),
                [
                    {
                        "name": f"feed {n}",
                        "kind": "rss",
                        "url": f"http://127.0.0.1:{port}/feed{n}.xml",
                        "poll_every_minutes": 60,
                        "enabled": True,
                        "options": {},
                        "items_seen": 0,
                        "consecutive_failures": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(feeds)
                ],
            )
        try:
            yield db
        finally:
            db.dispose()


def fetch_alone(port: int, feeds: int) -> float:
    """The floor of a quiet poll: every body downloaded, concurrently, nothing else."""

    async def go() -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            urls = [f"http://127.0.0.1:{port}/feed{n}.xml" for n in range(feeds)]
            responses = await asyncio.gather(*(client.get(url) for url in urls))
            assert all(r.status_code == 200 for r in responses)

    started = time.perf_counter()
    asyncio.run(go())
    return time.perf_counter() - started


def quiet(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    text = Text(rng, make_vocabulary(random.Random(args.seed), VOCABULARY))
    feeds = make_feeds(rng, text, args.feeds, args.items)
    rows = make_questions(rng, text, args.questions, feeds.planted)
    server = FeedServer([feeds.bodies])
    port = server.port
    config = PollConfig(
        allow_private_sources=True, source_deadline_seconds=300, fetch_timeout_seconds=60
    )
    size_mb = sum(len(b) for b in feeds.bodies) / 1e6
    print(
        f"quiet: {args.feeds} feeds x {args.items} items ({size_mb:.1f} MB, no validators), "
        f"{args.questions} open questions"
    )
    try:
        with database(args.feeds, port, rows) as db:
            warm_up()
            started = time.perf_counter()
            first = cycle.run_cycle(db, config, force=True)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = cycle.run_cycle(db, config, force=True)
            second_s = time.perf_counter() - started
            with db.read() as conn:
                statuses = Counter(conn.execute(select(sources_t.c.last_status)).scalars())
        floor_s = min(fetch_alone(port, args.feeds) for _ in range(3))
        parse_s, _entries = parse_alone(feeds.bodies)
    finally:
        server.close()
    if first.errors or second.errors:
        raise SystemExit(f"sources failed: {(first.errors or second.errors)[:3]}")
    print(
        f"  first poll  {first_s:6.2f} s ({first.new_items} new items)\n"
        f"  second poll {second_s:6.2f} s ({second.new_items} new; statuses {dict(statuses)})"
        f"\n  second / first = {second_s / first_s:.2f}x (was 0.83x)\n"
        f"  floor: fetching the bodies alone {floor_s:.2f} s; second poll / floor = "
        f"{second_s / floor_s:.2f}x  (feedparser alone on them: {parse_s:.2f} s, "
        "what parsing them again would add)"
    )


def warm_up() -> None:
    """Start the parse pool (process starts, paid once per service) outside the timing."""
    asyncio.run(_warm())


async def _warm() -> None:
    job = parsing.ParseJob(
        kind="rss",
        body=b'<rss version="2.0"><channel><title>warm</title></channel></rss>',
        body_sha256="",
        source_name="warm-up",
        now=datetime.now().astimezone(),
    )
    await asyncio.gather(*(parsing.parse(job) for _ in range(parsing.MAX_WORKERS * 2)))


def large(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    text = Text(rng, make_vocabulary(random.Random(args.seed), VOCABULARY))
    big = make_feeds(rng, text, args.large_feeds, args.large_items)
    normal = make_feeds(rng, text, 1, args.normal_items)
    bodies = [*big.bodies, *normal.bodies]
    feeds = Feeds(bodies, big.items + normal.items, big.planted)
    latency = random.Random(args.seed)
    server = serve_with_latency(
        feeds.bodies, [latency.uniform(0.05, args.latency) for _ in feeds.bodies]
    )
    port = server.server_address[1]
    normal_name = f"feed {len(bodies) - 1}"
    config = PollConfig(
        allow_private_sources=True,
        source_deadline_seconds=args.deadline,
        fetch_timeout_seconds=args.deadline,
    )
    print(
        f"large: {args.large_feeds} feeds of {args.large_items} items "
        f"({sum(len(b) for b in big.bodies) / 1e6:.1f} MB) and one of {args.normal_items} "
        f"({len(normal.bodies[0]) / 1e3:.0f} KB), each answering in 0.05-{args.latency:g} s; "
        f"source deadline {args.deadline:g} s"
    )
    stored_at: dict[str, float] = {}
    record = cycle._record_source

    def timed_record(store: Any, spec: Any, outcome: Any, now: Any, pace: Any) -> int:
        new = record(store, spec, outcome, now, pace)
        stored_at[spec.name] = time.perf_counter() - started
        return new

    try:
        with database(len(bodies), port, []) as db:
            warm_up()
            cycle._record_source = timed_record  # type: ignore[assignment]  # measuring only
            try:
                started = time.perf_counter()
                report = cycle.run_cycle(db, config, force=True)
                elapsed = time.perf_counter() - started
            finally:
                cycle._record_source = record  # type: ignore[assignment]
            with db.read() as conn:
                rows = {
                    r.name: r
                    for r in conn.execute(
                        select(sources_t.c.name, sources_t.c.last_status, sources_t.c.backoff_until)
                    )
                }
        parse_s, entries = parse_alone(big.bodies)
    finally:
        server.shutdown()
    backed_off = sorted(name for name, r in rows.items() if r.backoff_until is not None)
    statuses = Counter(str(r.last_status).split(" (")[0] for r in rows.values())
    largest = max(t for name, t in stored_at.items() if name != normal_name)
    print(
        f"  cycle {elapsed:.2f} s; statuses {dict(statuses)}; backed off: {backed_off or 'none'}"
        f"; errors: {[e['error'] for e in report.errors][:3] or 'none'}\n"
        f"  the normal feed: {rows[normal_name].last_status!r}, stored "
        f"{stored_at[normal_name]:.2f} s into the cycle (the last large feed at {largest:.2f} s)"
        f"\n  floor: feedparser alone over the large bodies {parse_s:.2f} s ({entries} entries): "
        f"on the event loop, that is how long every other source's answer would wait"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", choices=["quiet", "large", "both"], default="both")
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=200, help="items per feed")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--large-feeds", type=int, default=12)
    parser.add_argument("--large-items", type=int, default=4000)
    parser.add_argument("--normal-items", type=int, default=50, help="about 24 KB")
    parser.add_argument("--deadline", type=float, default=5.0, help="source deadline, seconds")
    parser.add_argument(
        "--latency", type=float, default=0.5, help="the slowest server's answer, seconds"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        if args.section in ("quiet", "both"):
            quiet(args)
        if args.section in ("large", "both"):
            large(args)
    finally:
        parsing.shutdown_pool()
    command = ["bench/pipeline.py", *sys.argv[1:]]
    print("reproduce: cd " + shlex.quote(str(ROOT)) + " && .venv/bin/python " + shlex.join(command))


if __name__ == "__main__":
    main()
