"""Bounded work from one feed: at most max_items_per_fetch items kept from one fetch (the
newest, the cut on the source's status), at most MAX_EVIDENCE entries per suggestion (links
still de-duplicated), and one source's items, near-duplicates counted once, never lift a
suggestion to the top confidence on their own.

The flood is a hostile feed on loopback (pytest-httpserver) repeating one real event 74,000
times; counts and sizes are asserted, not timings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from forecasts.tables import links_t, news_t, sources_t, suggestions_t
from resolvers.calibrate import calibrated
from resolvers.cycle import run_cycle
from resolvers.evidence import (
    MAX_CONFIDENCE,
    MAX_EVIDENCE,
    SINGLE_SOURCE_MAX,
    combine,
    keep_strongest,
)
from resolvers.items import PollConfig
from service.db import Database
from service.settings import Settings
from tests.factories import store_question, store_source

FLOOD_ITEMS = 74_000
NOW = datetime(2023, 4, 6, 12, 0, tzinfo=UTC)


def flood() -> bytes:
    # Finland joined NATO on 4 April 2023 (NATO press release, 4 April 2023); the feed
    # repeats the story as 74,000 "updates", one a second from midnight.
    start = datetime(2023, 4, 4, tzinfo=UTC)
    items = "".join(
        f"<item><title>Finland joins NATO, update {n}</title>"
        f"<guid>wire-finland-{n}</guid>"
        f"<pubDate>{(start + timedelta(seconds=n)).strftime('%a, %d %b %Y %H:%M:%S GMT')}"
        "</pubDate></item>"
        for n in range(FLOOD_ITEMS)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Flood</title>'
        f"{items}</channel></rss>"
    ).encode()


def test_the_setting_defaults_to_a_thousand() -> None:
    assert Settings().max_items_per_fetch == 1000
    assert PollConfig().max_items_per_fetch == 1000


def test_a_74000_item_feed_is_polled_within_bounds(
    sqlite_db: Database, httpserver: HTTPServer
) -> None:
    body = flood()
    httpserver.expect_request("/flood").respond_with_data(body, content_type="application/xml")
    store_question(
        sqlite_db,
        today=NOW.date(),
        title="Will Finland join NATO before 2024?",
        resolution_criteria="YES if Finland becomes a member of NATO.",
        opened_on="2022-05-18",
        resolve_by="2023-12-31",
        news_query="Finland (join OR joins) NATO",
    )
    store_source(sqlite_db, "Flood", "rss", httpserver.url_for("/flood"))
    config = PollConfig(
        allow_private_sources=True,
        source_deadline_seconds=120.0,
        fetch_timeout_seconds=60.0,
        fetch_max_bytes=len(body) + 1024,
        fetch_retries=0,
        max_items_per_fetch=1000,
    )
    report = run_cycle(sqlite_db, config, force=True, now=NOW)
    assert report.errors == []
    assert report.new_items == 1000
    with sqlite_db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(news_t)).scalar_one()
        newest = conn.execute(select(func.min(news_t.c.published_at))).scalar_one()
        source = conn.execute(select(sources_t)).one()
        [suggestion] = conn.execute(select(suggestions_t)).all()
        links = conn.execute(select(func.count()).select_from(links_t)).scalar_one()
    assert stored == 1000
    # The newest thousand: the last of the 74,000 seconds back to the 73,001st.
    assert newest.replace(tzinfo=UTC) == datetime(2023, 4, 4, tzinfo=UTC) + timedelta(
        seconds=FLOOD_ITEMS - 1000
    )
    assert source.last_status == ("ok (kept the newest 1000 of 74000 items (max_items_per_fetch))")
    # Every matched item is linked (so none counts twice), but the suggestion keeps 20.
    assert links == 1000
    assert len(suggestion.evidence) == MAX_EVIDENCE
    assert len(str(suggestion.evidence)) < 20_000
    # One feed alone stays below the top confidence.
    assert combine(suggestion.evidence) <= SINGLE_SOURCE_MAX
    assert suggestion.confidence <= calibrated(SINGLE_SOURCE_MAX)
    assert suggestion.confidence < calibrated(MAX_CONFIDENCE) or calibrated(
        SINGLE_SOURCE_MAX
    ) == calibrated(MAX_CONFIDENCE)


def entry(title: str, source: str, score: float = 0.7, day: int = 1) -> dict[str, object]:
    return {
        "title": title,
        "source": source,
        "score": score,
        "published_at": f"2023-04-{day:02d}T12:00:00Z",
    }


def test_near_duplicates_from_one_source_count_once() -> None:
    # Finland's accession on 4 April 2023, re-sent by one wire with small changes.
    once = combine([entry("Finland joins NATO as its 31st member", "wire")])
    resent = combine(
        [
            entry("Finland joins NATO as its 31st member", "wire"),
            entry("Finland joins NATO as its 31st member state", "wire"),
            entry("UPDATE: Finland joins NATO as its 31st member", "wire"),
        ]
    )
    assert resent == once
    two_sources = combine(
        [
            entry("Finland joins NATO as its 31st member", "wire"),
            entry("Finland becomes NATO's 31st member", "broadcaster"),
        ]
    )
    assert two_sources > once


def test_one_source_alone_never_reaches_the_top() -> None:
    many = [entry(f"Finland joins NATO: report number {n} of many", "wire") for n in range(50)]
    assert combine(many) <= SINGLE_SOURCE_MAX < MAX_CONFIDENCE
    independent = [entry("Finland joins NATO", f"outlet-{n}") for n in range(5)]
    assert combine(independent) == MAX_CONFIDENCE


def test_the_strongest_twenty_are_kept_and_the_earliest_always() -> None:
    weak_first = entry("Finland hands over its accession papers", "wire", score=0.3, day=1)
    strong = [entry(f"Finland joins NATO, report {n}", f"s{n}", 0.7, 2 + n % 20) for n in range(40)]
    kept = keep_strongest([*strong, weak_first])
    assert len(kept) == MAX_EVIDENCE
    assert kept[0] is weak_first
    assert all(e["score"] == 0.7 for e in kept[1:])
