"""No secret in any response or log: a source's API key travels in its request URL, and a
failing fetch must not carry it into sources.last_error, the poll report, the API's answers
or the logs, even when the failing server echoes the request back."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from resolvers.fetch import Fetcher, FetchError, redact, redact_url
from resolvers.items import PollConfig
from service.app import create_app
from service.db import Database
from tests.conftest import ADMIN, make_settings

KEY = "gu-Secret-Key-7f3a9c2e"
Responder = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def loopback() -> Iterator[Callable[[Responder], str]]:
    """A quiet ThreadingHTTPServer on 127.0.0.1 whose GET handler the test writes."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                respond(self)

            def log_message(self, *args: Any) -> None:
                pass  # the test server's own log is not the service's

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def echo_as_text(handler: BaseHTTPRequestHandler) -> None:
    # A gateway error page that quotes the request, as many do.
    body = f"upstream failed for GET {handler.path} (api-key was {KEY})".encode()
    reply(handler, 500, body, "text/plain; charset=utf-8")


def echo_as_json(handler: BaseHTTPRequestHandler) -> None:
    body = json.dumps({"response": {"status": "error", "message": f"key {KEY} failed"}})
    reply(handler, 500, body.encode(), "application/json")


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


@pytest.mark.parametrize("respond", [echo_as_text, echo_as_json], ids=["text", "json"])
def test_a_failing_guardian_key_appears_in_no_answer_and_no_log(
    sqlite_db: Database,
    loopback: Callable[[Responder], str],
    respond: Responder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    base = loopback(respond)
    url = sqlite_db.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, fetch_retries=0), sqlite_db)
    with TestClient(app) as client:
        client.headers.update(ADMIN)
        question = client.post(
            "/api/questions",
            json={
                "title": "Will the ceasefire in Syria hold through 2016?",
                "resolution_criteria": "YES if it holds.",
                "opened_on": "2016-01-01",
                "resolve_by": "2016-12-31",
                "news_query": "Syria ceasefire",
            },
        )
        assert question.status_code == 201, question.text
        created = client.post(
            "/api/sources",
            json={
                "name": "Guardian",
                "kind": "guardian",
                "url": f"{base}/search",
                "options": {"api_key": KEY, "min_interval_seconds": 0},
            },
        )
        assert created.status_code == 201, created.text
        report = client.post("/api/poll", json={"force": True})
        assert report.status_code == 200, report.text
        source = client.get(f"/api/sources/{created.json()['id']}")
        listing = client.get("/api/sources")
    assert source.json()["last_status"] == "error"
    error = source.json()["last_error"]
    assert "500" in error, error
    for answer in (report, source, listing, created):
        assert KEY not in answer.text
    assert source.json()["options"]["api_key"] == "***"
    logged = everything_logged(caplog)
    assert "HTTP Request" in logged, "httpx logged the request (masked)"
    assert KEY not in logged
    assert "api-key=***" in logged


def fetch_error(config: PollConfig, url: str, params: dict[str, str] | None = None) -> FetchError:
    async def go() -> FetchError:
        async with Fetcher(config) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.get(url, params=params)
            return caught.value

    return asyncio.run(go())


CONFIG = PollConfig(allow_private_sources=True, fetch_retries=0, fetch_timeout_seconds=2.0)


def test_fetch_errors_mask_the_request_secrets(
    loopback: Callable[[Responder], str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def loop(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    looping = loopback(loop)
    error = fetch_error(CONFIG, f"{looping}/feed?token={KEY}&page=2")
    assert error.message.startswith("redirect loop"), error.message
    assert KEY not in error.message and "token=***" in error.message and "page=2" in error.message

    echoing = loopback(echo_as_text)
    error = fetch_error(CONFIG, f"{echoing}/search", params={"q": "syria", "api-key": KEY})
    assert error.status_code == 500
    assert KEY not in error.message and KEY.encode() not in error.body
    assert "q=syria" in error.message
    assert KEY not in str(error) and KEY not in everything_logged(caplog)


def test_redact_masks_secret_parameters_and_passwords() -> None:
    url = f"https://user:pw@content.guardianapis.com/search?q=a+b&api-key={KEY}&page-size=5"
    assert redact_url(url) == (
        "https://content.guardianapis.com/search?q=a+b&api-key=***&page-size=5"
    )
    for name in ("api-key", "api_key", "apikey", "APIKEY", "key", "token", "access_token"):
        assert redact(f"GET /x?{name}={KEY}&keyword=ok") == f"GET /x?{name}=***&keyword=ok"
    assert redact(f"see https://a:{KEY}@example.org/feed") == "see https://example.org/feed"
    text = "nothing secret here: q=key words, /path?q=1"
    assert redact(text) == text
