"""The load and the feeds bench/api.py drives its servers with: a lean HTTP client (asyncio
streams and h11, one request at a time per connection, so its cost per request is small and
the same for every server) and loopback RSS feeds whose every fetch holds new items."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h11

TOKEN = "bench-admin-token-of-at-least-32-characters"
AUTH = f"Bearer {TOKEN}".encode()


# --- loopback feeds for the cycle ---------------------------------------------------------------


def serve_feeds(port: int, items: int) -> None:
    """RSS feeds whose every fetch holds `items` new items (so a forced poll always has work)."""
    fetches: dict[str, int] = {}
    topics = ("election", "ceasefire", "merger", "strike", "launch", "summit", "default")

    class Feeds(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            round_ = fetches[self.path] = fetches.get(self.path, 0) + 1
            entries = "".join(
                f"<item><title>The {topics[k % 7]} in region {k} was held, officials say</title>"
                f"<link>https://news.invalid{self.path}/{round_}/{k}</link>"
                f"<guid>{self.path}/{round_}/{k}</guid>"
                f"<description>Report {round_}-{k}: the {topics[k % 7]} in region {k} went "
                f"ahead on Monday after weeks of talks.</description>"
                f"<pubDate>Mon, 02 Jun 2025 10:{k % 60:02d}:00 GMT</pubDate></item>"
                for k in range(items)
            )
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
                f"<link>https://news.invalid/</link>{entries}</channel></rss>"
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/rss+xml")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Feeds).serve_forever()


# --- the load: a lean client (asyncio streams + h11), one request at a time per connection -----


Req = tuple[str, str, bytes]  # method, path, body


async def one_request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    conn: h11.Connection,
    req: Req,
    auth: bytes,
) -> int:
    method, path, body = req
    headers = [("host", "127.0.0.1"), ("authorization", auth), ("content-length", str(len(body)))]
    if body:
        headers.append(("content-type", "application/json"))
    writer.write(conn.send(h11.Request(method=method, target=path, headers=headers)))
    if body:
        writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    status = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.EndOfMessage):
            conn.start_next_cycle()
            return status


async def send_one(port: int, method: str, path: str, body: Any) -> int:
    """One request on a connection of its own (with the bench's token); its status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        req = (method, path, json.dumps(body).encode())
        return await one_request(reader, writer, h11.Connection(h11.CLIENT), req, AUTH)
    finally:
        writer.close()


async def load(
    port: int,
    make: Callable[[int], Req],
    clients: int,
    *,
    requests: int | None = None,
    until: asyncio.Event | None = None,
) -> dict[str, float]:
    """Drive `clients` connections until `requests` are answered or `until` is set."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests if requests is not None else 10**12))
    auth = AUTH

    async def client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = h11.Connection(h11.CLIENT)
        for i in counter:
            if until is not None and until.is_set():
                break
            started = time.perf_counter()
            try:
                status = await one_request(reader, writer, conn, make(i), auth)
            except (OSError, h11.ProtocolError):
                # A dropped connection counts as a failure; the client connects again.
                status = 599
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                conn = h11.Connection(h11.CLIENT)
            latencies.append(time.perf_counter() - started)
            failures += status >= 300
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return summary([(latencies, time.perf_counter() - started, failures)])


def summary(runs: list[tuple[list[float], float, int]]) -> dict[str, Any]:
    """Figures over one or more runs (their latencies pooled, their times added)."""
    latencies = sorted(x for run in runs for x in run[0])
    return {
        "rps": len(latencies) / sum(run[1] for run in runs),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "n": len(latencies),
        "failures": sum(run[2] for run in runs),
        "raw": (latencies, sum(run[1] for run in runs), sum(run[2] for run in runs)),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
