"""The poll cycle as a pipeline: a feed's parse holds back no other source and no writer, a
body identical to the last one read is not parsed again, and the parse pool survives a
worker dying on a body or the pool not starting at all."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import delete, func, select

from forecasts.tables import news_t, questions_t, sources_t
from resolvers.cycle import run_cycle
from resolvers.fetch import Fetcher
from resolvers.items import FetchOutcome, PollConfig
from resolvers.sources import SourceSpec, parsing, poll_source
from service.db import Database
from tests.factories import store_question, store_source
from tests.waiting import wait_until

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
CONFIG = PollConfig(
    allow_private_sources=True,
    source_deadline_seconds=5.0,
    fetch_timeout_seconds=5.0,
    fetch_retries=0,
)
REAL_PARSE_JOB = parsing.parse_job


def feed(name: str, count: int) -> str:
    entries = "".join(
        f"<item><title>{escape(name)} story {n}</title>"
        f"<link>https://{name}.example/{n}</link>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}</pubDate></item>"
        for n in range(count)
    )
    return f'<rss version="2.0"><channel><title>{escape(name)}</title>{entries}</channel></rss>'


def gated_parse_job(job: parsing.ParseJob) -> FetchOutcome:
    """parse_job, but a body fetched from a URL with ?gate=<port> is read only once the test
    answers on that loopback port, and one from a URL with ?die=1 kills its worker."""
    query = parse_qs(urlsplit(job.location).query)
    if "die" in query and os.getpid() != int(query["die"][0]):
        os._exit(1)  # a worker process dying on this body, as if the OOM killer came
    if "gate" in query:
        with socket.create_connection(("127.0.0.1", int(query["gate"][0])), timeout=60) as gate:
            gate.recv(1)
    return REAL_PARSE_JOB(job)


def status(db: Database, source_id: int) -> str | None:
    with db.read() as conn:
        return conn.execute(
            select(sources_t.c.last_status).where(sources_t.c.id == source_id)
        ).scalar_one()


def stored(db: Database, source_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(news_t).where(news_t.c.source_id == source_id)
            ).scalar_one()
        )


def serve(httpserver: HTTPServer, path: str, body: str) -> None:
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")


def test_a_feed_being_parsed_holds_back_no_other_source_and_no_writer(
    sqlite_db: Database, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The large feed's parse is held open until the other feed is stored: parsed on the
    cycle's event loop (or inside the deadlines), the wire would have waited for it."""
    gate = socket.create_server(("127.0.0.1", 0))
    serve(httpserver, "/large.xml", feed("large", 300))
    serve(httpserver, "/wire.xml", feed("wire", 3))
    large_url = httpserver.url_for("/large.xml") + f"?gate={gate.getsockname()[1]}"
    large = store_source(sqlite_db, "large", "rss", large_url)
    wire = store_source(sqlite_db, "wire", "rss", httpserver.url_for("/wire.xml"))
    monkeypatch.setattr(parsing, "parse_job", gated_parse_job)
    with ThreadPoolExecutor(2) as threads:
        cycle = threads.submit(run_cycle, sqlite_db, CONFIG, force=True, now=NOW)
        try:
            wait_until(lambda: status(sqlite_db, wire) == "ok", 60, "the wire to be stored")
            assert stored(sqlite_db, wire) == 3
            assert status(sqlite_db, large) is None and not cycle.done()
            # A writer is not kept waiting by the parse either.
            write = threads.submit(
                store_question,
                sqlite_db,
                today=NOW.date(),
                title="Will the large feed be read?",
                resolution_criteria="YES if it is.",
                resolve_by="2026-12-31",
                news_query="large story",
            )
            assert write.result(timeout=30) > 0
        finally:
            gate.settimeout(60)
            try:
                answer, _ = gate.accept()
                answer.sendall(b"go")
                answer.close()
            finally:
                gate.close()
        report = cycle.result(timeout=120)
    assert report.errors == [] and report.new_items == 303
    assert status(sqlite_db, large) == "ok" and stored(sqlite_db, large) == 300


def test_a_body_identical_to_the_last_is_not_parsed_again(
    db: Database, httpserver: HTTPServer
) -> None:
    serve(httpserver, "/feed.xml", feed("wire", 5))
    source = store_source(db, "wire", "rss", httpserver.url_for("/feed.xml"))
    assert run_cycle(db, CONFIG, force=True, now=NOW).new_items == 5
    assert status(db, source) == "ok"
    # Were the same bytes read again, their items would be stored again.
    with db.write() as conn:
        conn.execute(delete(news_t))
    again = run_cycle(db, CONFIG, force=True, now=NOW + timedelta(hours=1))
    assert again.sources_polled == 1 and again.new_items == 0 and again.errors == []
    assert status(db, source) == "unchanged" and stored(db, source) == 0
    with db.read() as conn:
        row = conn.execute(select(sources_t).where(sources_t.c.id == source)).one()
    assert row.items_seen == 5 and row.consecutive_failures == 0
    assert row.last_polled_at.replace(tzinfo=UTC) == NOW + timedelta(hours=1)
    # One byte more and it is read.
    httpserver.clear()
    serve(httpserver, "/feed.xml", feed("wire", 6))
    assert run_cycle(db, CONFIG, force=True, now=NOW).new_items == 6
    assert status(db, source) == "ok"


def test_a_body_that_failed_is_read_again(sqlite_db: Database, httpserver: HTTPServer) -> None:
    serve(httpserver, "/feed.xml", "<html><body>Service page</body></html>")
    source = store_source(sqlite_db, "wire", "rss", httpserver.url_for("/feed.xml"))
    for _ in range(2):
        [error] = run_cycle(sqlite_db, CONFIG, force=True, now=NOW).errors
        assert "not an RSS or Atom feed" in error["error"]
    with sqlite_db.read() as conn:
        row = conn.execute(select(sources_t).where(sources_t.c.id == source)).one()
    assert row.last_status == "error" and row.consecutive_failures == 2


def test_a_body_that_kills_its_parser_fails_that_source_only(
    sqlite_db: Database, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(httpserver, "/deadly.xml", feed("deadly", 2))
    serve(httpserver, "/wire.xml", feed("wire", 2))
    # Only a worker dies: parsed in this process (no pool), the body is harmless.
    deadly_url = httpserver.url_for("/deadly.xml") + f"?die={os.getpid()}"
    deadly = store_source(sqlite_db, "deadly", "rss", deadly_url)
    wire = store_source(sqlite_db, "wire", "rss", httpserver.url_for("/wire.xml"))
    monkeypatch.setattr(parsing, "parse_job", gated_parse_job)
    report = run_cycle(sqlite_db, CONFIG, force=True, now=NOW)
    assert report.errors == [
        {"source": "deadly", "error": "the feed parser's process died reading this body"}
    ]
    assert status(sqlite_db, wire) == "ok" and stored(sqlite_db, wire) == 2
    assert status(sqlite_db, deadly) == "error"
    # The pool is whole again for the next cycle.
    monkeypatch.setattr(parsing, "parse_job", REAL_PARSE_JOB)
    assert run_cycle(sqlite_db, CONFIG, force=True, now=NOW).errors == []
    assert status(sqlite_db, deadly) == "ok"


def poll_once(url: str) -> FetchOutcome:
    async def go() -> FetchOutcome:
        async with Fetcher(CONFIG) as fetcher:
            source = SourceSpec(id=1, name="wire", kind="rss", url=url, options={})
            return await poll_source(fetcher, source, [], CONFIG, now=NOW)

    return asyncio.run(go())


def test_without_a_pool_feeds_are_parsed_in_this_process(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes() -> Any:
        raise OSError("no processes left")

    monkeypatch.setattr(parsing, "_POOL", parsing._Pool())
    monkeypatch.setattr(parsing, "_start_pool", no_processes)
    serve(httpserver, "/feed.xml", feed("wire", 2))
    with caplog.at_level(logging.WARNING, logger="resolvers.sources.parsing"):
        outcome = poll_once(httpserver.url_for("/feed.xml"))
    assert outcome.status == "ok" and len(outcome.items) == 2
    assert "parsed in this process" in caplog.text


def test_the_pool_starts_again_after_shutdown(httpserver: HTTPServer) -> None:
    serve(httpserver, "/feed.xml", feed("wire", 2))
    parsing.shutdown_pool()  # as the app does at shutdown
    outcome = poll_once(httpserver.url_for("/feed.xml"))
    assert outcome.status == "ok" and len(outcome.items) == 2


def test_parse_workers_give_way_to_the_api() -> None:
    """Parsing is background work: its processes run nicer than the one serving requests."""
    executor = parsing._POOL.executor()
    assert executor is not None
    ours = parsing.worker_niceness()
    theirs = executor.submit(parsing.worker_niceness).result(timeout=60)
    assert theirs == min(19, ours + parsing.WORKER_NICENESS)


def test_a_cycle_starts_the_parse_workers_before_its_first_body_arrives(
    sqlite_db: Database, httpserver: HTTPServer
) -> None:
    """A fresh process's fork server and workers start while the first bodies are fetched,
    not once the first body has arrived: the feed here answers only once a worker runs."""
    from werkzeug import Request, Response

    parsing.shutdown_pool()  # as in a fresh process: no pool yet

    def workers_running() -> int:
        executor = parsing._POOL._executor  # looked at, never started, from here
        processes = getattr(executor, "_processes", None) or {}
        return sum(p.is_alive() for p in processes.values())

    def answer(request: Request) -> Response:
        wait_until(workers_running, 60, "a parse worker running before any body arrived")
        return Response(feed("wire", 2), content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(answer)
    store_source(sqlite_db, "wire", "rss", httpserver.url_for("/feed.xml"))
    config = replace(CONFIG, source_deadline_seconds=90.0, fetch_timeout_seconds=90.0)
    report = run_cycle(sqlite_db, config, force=True, now=NOW, match=False)
    assert report.errors == [] and report.new_items == 2


def test_a_question_polled_against_an_unchanged_feed_still_gets_its_news_once(
    sqlite_db: Database, httpserver: HTTPServer
) -> None:
    """An unchanged body stores nothing, but what it stored before is matched against a
    question added since (by the stored items, not by parsing again)."""
    serve(httpserver, "/feed.xml", feed("wire", 3))
    store_source(sqlite_db, "wire", "rss", httpserver.url_for("/feed.xml"))
    run_cycle(sqlite_db, CONFIG, force=True, now=NOW)
    store_question(
        sqlite_db,
        today=date(2026, 2, 1),
        title="Will the wire report story 1?",
        resolution_criteria="YES if it does.",
        opened_on="2026-01-01",
        resolve_by="2026-12-31",
        news_query='wire "story 1"',
    )
    report = run_cycle(sqlite_db, CONFIG, force=True, now=NOW)
    assert report.new_items == 0 and report.suggestions_created == 1
    with sqlite_db.read() as conn:
        assert conn.execute(select(questions_t.c.match_pending)).scalar_one() is False
