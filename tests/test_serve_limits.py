"""`forecasts serve` bounds slow and greedy clients: the uvicorn it runs closes connections
that never finish their headers (slowloris) or idle between requests, refuses oversized
headers, and answers 503 past its concurrency limit. Served for real on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from service.serving import HeaderTimeoutH11Protocol, uvicorn_config
from service.settings import Settings, get_settings
from tests.waiting import wait_until

RELEASE_SLOW = threading.Event()
SLOW_ENTERED: list[int] = []  # one entry per /slow request the app has begun to answer


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that answers every request; /slow takes a while."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/slow":
        import asyncio

        # Held open until the test releases it (bounded), not for a guessed time.
        SLOW_ENTERED.append(1)
        await asyncio.to_thread(RELEASE_SLOW.wait, 10)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = uvicorn_config(tiny_app, settings, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn started")
    try:
        yield host, port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def closed_within(conn: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `conn` (EOF or reset), or None if it stayed open."""
    conn.settimeout(seconds)
    started = time.monotonic()
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                return time.monotonic() - started
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - started


SETTINGS = Settings(
    serve_header_timeout_seconds=0.5,
    serve_timeout_keep_alive_seconds=1,
    serve_limit_concurrency=3,
    serve_max_header_bytes=4096,
)


def test_the_serve_settings_reach_uvicorn() -> None:
    config = uvicorn_config(tiny_app, SETTINGS, host="127.0.0.1", port=8000)
    assert config.timeout_keep_alive == 1
    assert config.limit_concurrency == 3
    assert config.h11_max_incomplete_event_size == 4096
    assert isinstance(config.http, type) and issubclass(config.http, HeaderTimeoutH11Protocol)
    assert config.http.header_timeout_seconds == 0.5
    assert config.server_header is False
    defaults = Settings()
    assert defaults.serve_limit_concurrency and defaults.serve_header_timeout_seconds > 0


def test_a_client_that_never_finishes_its_headers_is_cut_off() -> None:
    with serving(SETTINGS) as (host, port):
        # Slowloris: a request line and one header, then a byte now and then, never the end.
        trickle = socket.create_connection((host, port))
        trickle.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 5:
            try:
                trickle.sendall(b"X")
            except OSError:
                closed = True
                break
            if closed_within(trickle, 0.2) is not None:
                closed = True
                break
        assert closed, "the server kept a connection whose headers never ended"
        trickle.close()
        # A connection that sends nothing at all is closed too.
        silent = socket.create_connection((host, port))
        assert closed_within(silent, 5) is not None
        silent.close()
        # Meanwhile ordinary requests are answered, on a kept-alive connection too.
        with httpx.Client(base_url=f"http://{host}:{port}") as client:
            assert client.get("/").text == "ok"
            assert client.get("/").text == "ok"


def test_a_request_in_progress_is_not_cut_by_the_header_deadline() -> None:
    with serving(SETTINGS) as (host, port):
        RELEASE_SLOW.clear()
        answers: list[str] = []
        slow = threading.Thread(
            target=lambda: answers.append(httpx.get(f"http://{host}:{port}/slow", timeout=10).text)
        )
        slow.start()
        # A silent connection opened now is cut when the header deadline has passed: only
        # then is /slow released, so its request outlived the deadline.
        silent = socket.create_connection((host, port))
        assert closed_within(silent, 5) is not None
        silent.close()
        RELEASE_SLOW.set()
        slow.join()
        assert answers == ["ok"]


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with serving(SETTINGS) as (host, port):
        conn = socket.create_connection((host, port))
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        conn.settimeout(5)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        waited = closed_within(conn, 5)
        assert waited is not None, "the idle kept-alive connection stayed open"
        conn.close()


def test_oversized_headers_are_refused() -> None:
    with serving(SETTINGS) as (host, port):
        # Headers still arriving past the limit (4 KiB here) are refused, not buffered on.
        conn = socket.create_connection((host, port))
        # Whether the two parts arrive in one read or two, the header block is unfinished
        # and past the limit when the second has come.
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 3000)
        conn.sendall(b"a" * 3000)
        conn.settimeout(5)
        answer = conn.recv(4096)
        assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:100]
        conn.close()


def test_past_the_concurrency_limit_the_answer_is_503() -> None:
    with serving(SETTINGS) as (host, port):
        base = f"http://{host}:{port}"
        results: list[int] = []

        def hit() -> None:
            results.append(httpx.get(base + "/slow", timeout=10).status_code)

        RELEASE_SLOW.clear()
        SLOW_ENTERED.clear()
        # Two requests take slots first (with their own connections, uvicorn counts three
        # at a limit of 3 once a third arrives); the four after them find no room.
        holders = [threading.Thread(target=hit) for _ in range(2)]
        latecomers = [threading.Thread(target=hit) for _ in range(4)]
        try:
            for thread in holders:
                thread.start()
            wait_until(lambda: len(SLOW_ENTERED) == 2, 10, "two slow requests being answered")
            for thread in latecomers:
                thread.start()
            # The slow requests hold the slots, so those past the limit are refused at once.
            wait_until(lambda: results.count(503) == 4, 10, "a 503 for each past the limit")
        finally:
            RELEASE_SLOW.set()
        for thread in holders + latecomers:
            thread.join()
        assert sorted(results) == [200, 200, 503, 503, 503, 503], results


def test_serve_runs_uvicorn_with_these_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import app

    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.append(self.config))
    monkeypatch.setenv("FORECASTS_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("FORECASTS_ADMIN_TOKEN", "a-test-admin-token-of-at-least-32-characters")
    monkeypatch.setenv("FORECASTS_SCHEDULER", "off")
    monkeypatch.setenv("FORECASTS_SERVE_LIMIT_CONCURRENCY", "7")
    monkeypatch.setenv("FORECASTS_SERVE_HEADER_TIMEOUT_SECONDS", "3.5")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--host", "127.0.0.1", "--port", "8765"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [config] = seen
    assert (config.host, config.port) == ("127.0.0.1", 8765)
    assert config.limit_concurrency == 7
    assert config.http.header_timeout_seconds == 3.5  # type: ignore[union-attr]
    assert "not among" not in result.output and "only requests for" not in result.output
