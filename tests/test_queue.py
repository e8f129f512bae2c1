"""Fetching on the task queue: 50 loopback feeds polled through two real `forecasts worker`
processes on the machine's RabbitMQ, one of them killed (SIGKILL) in the middle of a task;
every item is still stored exactly once. Also: the worker's errors, and the scheduler's one
dispatch job in place of per-source jobs when a queue is set.

Each run uses a queue of its own (deleted after), so runs never see each other's messages.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from typer.testing import CliRunner
from werkzeug import Request, Response

from forecasts.tables import news_t, sources_t
from service.app import create_app
from service.cli import app as cli_app
from service.db import Database
from service.queue import task_queue
from service.scheduler import DISPATCH_JOB_ID, SourceScheduler, source_job_id
from service.worker import READY_LINE
from tests import waiting
from tests.conftest import ADMIN, make_settings
from tests.factories import store_source

AMQP_URL = os.environ.get("FORECASTS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
FEEDS = 50
ITEMS_PER_FEED = 4
# The feed whose first fetch blocks until the test has killed the worker fetching it.
BLOCKED = 17
FORECASTS = str(Path(sys.executable).parent / "forecasts")


def _rabbitmq_installed() -> bool:
    return shutil.which("rabbitmq-server") is not None or shutil.which("rabbitmqctl") is not None


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A queue of this test's own on the machine's RabbitMQ, deleted afterwards."""
    if not _rabbitmq_installed():
        pytest.skip("RabbitMQ is not installed (no rabbitmq-server on PATH)")
    name = f"forecasts-test-{uuid.uuid4().hex[:12]}"
    yield name
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except Exception:  # noqa: BLE001 - nothing to clean on a broker that is not there
        return
    channel = connection.channel()
    # dramatiq declares the queue with a delay queue and a dead-letter queue beside it.
    for queue in (name, f"{name}.DQ", f"{name}.XQ"):
        channel.queue_delete(queue)
    connection.close()


def rss(feed: int) -> str:
    published = format_datetime(datetime(2026, 3, 1, 12, tzinfo=UTC))
    entries = "".join(
        f"<item><title>Report {i} from wire {feed}</title>"
        f"<link>https://wire{feed}.invalid/{i}</link><guid>https://wire{feed}.invalid/{i}</guid>"
        f"<description>Item {i} of feed {feed}.</description><pubDate>{published}</pubDate>"
        "</item>"
        for i in range(ITEMS_PER_FEED)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire {feed}</title><link>https://wire{feed}.invalid/</link>"
        f"<description>test</description>{entries}</channel></rss>"
    )


class BlockingFeed:
    """The blocked feed: its first request waits until the test says its fetcher is dead."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.killed = threading.Event()
        self.agents: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.agents.append(request.headers.get("User-Agent", ""))
            first = len(self.agents) == 1
        if first:
            self.requested.set()
            # The worker that sent this is killed meanwhile; this answer goes nowhere.
            self.killed.wait(60)
        return Response(rss(BLOCKED), content_type="application/rss+xml")


@pytest.fixture
def feeds() -> Iterator[tuple[HTTPServer, BlockingFeed]]:
    # Threaded: the blocked request must not hold up the other feeds.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    blocking = BlockingFeed()
    for feed in range(FEEDS):
        path = f"/feed-{feed}.xml"
        if feed == BLOCKED:
            server.expect_request(path).respond_with_handler(blocking)
        else:
            server.expect_request(path).respond_with_data(
                rss(feed), content_type="application/rss+xml"
            )
    yield server, blocking
    blocking.killed.set()
    server.clear()
    if server.is_running():
        server.stop()


def start_worker(env: dict[str, str], agent: str) -> subprocess.Popen[str]:
    """`forecasts worker` as a deployment runs it, telling its fetches by their User-Agent."""
    process = subprocess.Popen(
        [FORECASTS, "worker", "--threads", "4"],
        env={**env, "FORECASTS_USER_AGENT": agent},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    waiting.wait_until(
        lambda: any(READY_LINE in line for line in lines) or process.poll() is not None,
        60,
        f"worker {agent} to start",
    )
    assert process.poll() is None, "".join(lines)
    return process


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_a_worker_killed_mid_task_loses_and_doubles_nothing(
    tmp_path: Path, queue_name: str, feeds: tuple[HTTPServer, BlockingFeed]
) -> None:
    server, blocking = feeds
    url = f"sqlite:///{tmp_path / 'forecasts.db'}"
    settings = make_settings(url, queue_url=AMQP_URL, queue_name=queue_name)
    db = Database(url, settings)
    db.migrate()
    for feed in range(FEEDS):
        store_source(db, f"wire {feed}", "rss", server.url_for(f"/feed-{feed}.xml"))
    env = {
        **os.environ,
        "FORECASTS_DATABASE_URL": url,
        "FORECASTS_QUEUE_URL": AMQP_URL,
        "FORECASTS_QUEUE_NAME": queue_name,
        "FORECASTS_ALLOW_PRIVATE_SOURCES": "true",
    }
    workers = {agent: start_worker(env, agent) for agent in ("test-worker-a", "test-worker-b")}
    try:
        with TestClient(create_app(settings, db)) as client, ThreadPoolExecutor(1) as pool:
            # POST /api/poll hands the 50 sources to the workers and answers when all are in.
            answer = pool.submit(client.post, "/api/poll", json={"force": True}, headers=ADMIN)
            assert blocking.requested.wait(60), "no worker fetched the blocked feed"
            victim = blocking.agents[0]
            workers[victim].send_signal(signal.SIGKILL)
            assert workers[victim].wait(30) == -signal.SIGKILL
            blocking.killed.set()
            response = answer.result(timeout=180)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["sources_polled"] == FEEDS
        assert report["new_items"] == FEEDS * ITEMS_PER_FEED
        assert report["errors"] == []
        # The killed worker's task went to the other worker, which fetched the feed again.
        [survivor] = [agent for agent in workers if agent != victim]
        assert len(blocking.agents) == 2 and blocking.agents[1].startswith(survivor)
        with db.read() as conn:
            links = conn.execute(select(news_t.c.link, func.count()).group_by(news_t.c.link)).all()
            seen = conn.execute(select(func.sum(sources_t.c.items_seen))).scalar_one()
        expected = {f"https://wire{f}.invalid/{i}" for f in range(FEEDS) for i in range(4)}
        assert {link for link, _ in links} == expected
        assert all(count == 1 for _, count in links)
        assert seen == FEEDS * ITEMS_PER_FEED
    finally:
        blocking.killed.set()
        for process in workers.values():
            stop(process)
        task_queue(settings).close()
        db.dispose()


def test_the_worker_names_the_variable_when_the_queue_is_unset(monkeypatch: Any) -> None:
    monkeypatch.delenv("FORECASTS_QUEUE_URL", raising=False)
    from service.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "FORECASTS_QUEUE_URL is not set" in result.output


def test_the_worker_names_the_variable_when_the_broker_is_unreachable(monkeypatch: Any) -> None:
    # Nothing listens on port 1; the password never appears in the message.
    monkeypatch.setenv("FORECASTS_QUEUE_URL", "amqp://guest:s3cret@127.0.0.1:1/%2F")
    from service.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "FORECASTS_QUEUE_URL" in result.output and "not reachable" in result.output
    assert "s3cret" not in result.output


def test_a_poll_with_the_broker_away_is_a_503_naming_the_variable(sqlite_db: Database) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    settings = make_settings(url, queue_url="amqp://guest:guest@127.0.0.1:1/%2F")
    store_source(sqlite_db, "wire", "rss", "http://127.0.0.1:9/feed.xml")
    with TestClient(create_app(settings, sqlite_db)) as client:
        response = client.post("/api/poll", json={"force": True}, headers=ADMIN)
    assert response.status_code == 503
    assert "FORECASTS_QUEUE_URL" in response.json()["detail"]


def test_with_a_queue_one_dispatch_job_replaces_the_source_jobs(sqlite_db: Database) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    source = store_source(sqlite_db, "wire", "rss", "http://127.0.0.1:9/feed.xml")
    later = {"retry_seconds": 0.05, "first_run_delay": timedelta(hours=1)}
    plain = SourceScheduler(sqlite_db, make_settings(url, scheduler="on"), **later)
    plain.start()
    try:
        assert {job.id for job in plain.jobs()} >= {source_job_id(source)}
        assert DISPATCH_JOB_ID not in {job.id for job in plain.jobs()}
    finally:
        plain.shutdown()
    queued_settings = make_settings(
        url, scheduler="on", queue_url=AMQP_URL, queue_dispatch_seconds=600
    )
    queued = SourceScheduler(sqlite_db, queued_settings, **later)
    queued.start()
    try:
        ids = {job.id for job in queued.jobs()}
        assert DISPATCH_JOB_ID in ids and source_job_id(source) not in ids
        # A source added meanwhile gets no job of its own: the dispatch job reads the table.
        other = store_source(sqlite_db, "other wire", "rss", "http://127.0.0.1:9/other.xml")
        queued.source_changed(other)
        assert source_job_id(other) not in {job.id for job in queued.jobs()}
    finally:
        queued.shutdown()


def test_a_poll_no_worker_takes_reports_the_sources_still_queued(
    sqlite_db: Database, queue_name: str
) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    settings = make_settings(url, queue_url=AMQP_URL, queue_name=queue_name, queue_wait_seconds=0.5)
    store_source(sqlite_db, "idle wire", "rss", "http://127.0.0.1:9/feed.xml")
    try:
        with TestClient(create_app(settings, sqlite_db)) as client:
            response = client.post("/api/poll", json={"force": True}, headers=ADMIN)
    finally:
        task_queue(settings).close()
    assert response.status_code == 200
    report = response.json()
    assert report["sources_polled"] == 0
    [error] = report["errors"]
    assert error["source"] == "idle wire" and "stays queued" in error["error"]
