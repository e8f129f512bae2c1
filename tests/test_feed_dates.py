"""Real feeds' dates: undated items keep their date unknown (never "now"), are never evidence
when they come with a source's first poll, and count from the day first seen when they
appear later; localised day and month names are read through feedparser's date hook.

Feeds are served on loopback (pytest-httpserver); the clock is frozen (pytest-freezer) and
moved between polls, never slept. Events are real and dated; each item says where to read
about it. Link hosts end in .invalid.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from freezegun.api import FrozenDateTimeFactory
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from forecasts.tables import news_t, suggestions_t
from resolvers.cycle import run_cycle
from resolvers.fetch import Fetcher
from resolvers.items import FetchOutcome, PollConfig
from resolvers.sources import SourceSpec, poll_source
from resolvers.sources.rss import parse_localised_date
from service.db import Database
from tests.factories import store_question, store_source

CONFIG = PollConfig(
    allow_private_sources=True, source_deadline_seconds=5.0, fetch_timeout_seconds=5.0,
    fetch_retries=0,
)  # fmt: skip


def feed(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Wire</title><link>https://wire.invalid/</link><description>t</description>"
        + "".join(items)
        + "</channel></rss>"
    )


def item(title: str, link: str, date: str | None = None, summary: str = "") -> str:
    dated = f"<pubDate>{date}</pubDate>" if date else ""
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{summary}</description>{dated}</item>"
    )


def poll(url: str, now: datetime) -> FetchOutcome:
    async def go() -> FetchOutcome:
        async with Fetcher(CONFIG) as fetcher:
            spec = SourceSpec(id=1, name="Wire", kind="rss", url=url, options={})
            return await poll_source(fetcher, spec, [], CONFIG, now=now)

    return asyncio.run(go())


# --- localised dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        # Portuguese: Monday (segunda-feira) 24 September (setembro) 2018.
        ("Seg, 24 Set 2018 10:00:00 -0300", datetime(2018, 9, 24, 13, 0, tzinfo=UTC)),
        # Italian: Wednesday (mercoledì) 16 November 2022.
        ("mer, 16 nov 2022 08:00:00 +0100", datetime(2022, 11, 16, 7, 0, tzinfo=UTC)),
        # Spanish: Sunday (domingo) 2 December (diciembre) 2018.
        ("Dom, 02 Dic 2018 10:00:00 +0000", datetime(2018, 12, 2, 10, 0, tzinfo=UTC)),
        # French: Monday (lundi) 5 February (février) 2024, with the abbreviations' dots.
        ("lun., 5 févr. 2024 09:30:00 +0100", datetime(2024, 2, 5, 8, 30, tzinfo=UTC)),
        # German: Wednesday (Mittwoch) 15 March (März) 2023.
        ("Mi, 15 Mär 2023 12:00:00 +0100", datetime(2023, 3, 15, 11, 0, tzinfo=UTC)),
    ],
)
def test_localised_day_and_month_names_are_read(written: str, utc: datetime) -> None:
    parsed = parse_localised_date(written)
    assert parsed is not None
    assert datetime(*parsed[:6], tzinfo=UTC) == utc


def test_english_dates_are_left_to_feedparser() -> None:
    assert parse_localised_date("Mon, 24 Sep 2018 10:00:00 -0300") is None
    assert parse_localised_date("not a date at all") is None


def test_a_portuguese_and_an_italian_feed_are_dated_through_feedparser(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        feed(
            # US tariffs on $200 billion of Chinese imports took effect on 24 September 2018
            # (USTR notice of 18 September 2018; Reuters and AP reported it that day).
            item(
                "Tarifas dos EUA sobre importações chinesas entram em vigor",
                "https://pt.wire.invalid/2018/09/24/tarifas",
                "Seg, 24 Set 2018 10:00:00 -0300",
            ),
            # On 16 November 2022 Poland and NATO said the missile that fell in Przewodów the
            # day before was most likely a Ukrainian air-defence missile (NATO press
            # conference, 16 November 2022).
            item(
                "La Nato: il missile caduto in Polonia era probabilmente ucraino",
                "https://it.wire.invalid/2022/11/16/missile",
                "mer, 16 nov 2022 08:00:00 +0100",
            ),
        ),
        content_type="application/rss+xml",
    )
    outcome = poll(httpserver.url_for("/feed"), datetime(2026, 1, 1, tzinfo=UTC))
    assert outcome.status == "ok", outcome.error
    dates = {i.title[:8]: i.published_at for i in outcome.items}
    assert dates == {
        "Tarifas ": datetime(2018, 9, 24, 13, 0, tzinfo=UTC),
        "La Nato:": datetime(2022, 11, 16, 7, 0, tzinfo=UTC),
    }
    assert outcome.extra["undated"] == 0


def test_an_unparseable_date_is_unknown_not_now(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        feed(
            item(
                "Finland joins NATO",  # 4 April 2023 (NATO press release 4 April 2023)
                "https://wire.invalid/2023/04/04/finland",
                "sometime last spring",
            )
        ),
        content_type="application/rss+xml",
    )
    outcome = poll(httpserver.url_for("/feed"), datetime(2026, 1, 1, tzinfo=UTC))
    assert [i.published_at for i in outcome.items] == [None]
    assert outcome.extra["undated"] == 1


# --- undated items through whole cycles --------------------------------------------------------


def add_feed(db: Database, url: str) -> int:
    return store_source(db, "Wire", "rss", url)


# Finland's accession to NATO took effect on 4 April 2023, when it deposited its instrument of
# accession in Washington (NATO press release, 4 April 2023).
FINLAND_UNDATED_FIRST = item(
    "Finland becomes NATO's 31st member", "https://wire.invalid/finland-joins"
)
# Sweden joined on 7 March 2024 (NATO press release, 7 March 2024).
SWEDEN_UNDATED_LATER = item(
    "Sweden joins NATO as its 32nd member", "https://wire.invalid/sweden-joins"
)


@pytest.mark.freeze_time("2024-03-07T18:00:00Z", real_asyncio=True)
def test_undated_items_first_poll_never_counts_later_ones_count_from_first_seen(
    db: Database, httpserver: HTTPServer, freezer: FrozenDateTimeFactory
) -> None:
    store_question(
        db,
        today=datetime(2024, 3, 7).date(),
        title="Will Finland or Sweden join NATO before 2025?",
        resolution_criteria="YES if Finland or Sweden becomes a member of NATO.",
        opened_on="2022-05-18",
        resolve_by="2024-12-31",
        news_query="(Finland OR Sweden) (join OR joins OR member) NATO",
    )
    responses = [feed(FINLAND_UNDATED_FIRST), feed(FINLAND_UNDATED_FIRST, SWEDEN_UNDATED_LATER)]
    httpserver.expect_ordered_request("/feed").respond_with_data(
        responses[0], content_type="application/rss+xml"
    )
    httpserver.expect_ordered_request("/feed").respond_with_data(
        responses[1], content_type="application/rss+xml"
    )
    add_feed(db, httpserver.url_for("/feed"))

    first = run_cycle(db, CONFIG, force=True)
    assert first.new_items == 1 and first.suggestions_created == 0
    with db.read() as conn:
        [stored] = conn.execute(select(news_t)).all()
    # Stored with its date unknown, from the first poll: it may be years old.
    assert stored.published_at is None and stored.first_poll is True

    freezer.move_to("2024-03-08T09:00:00Z")
    second = run_cycle(db, CONFIG, force=True)
    assert second.new_items == 1 and second.suggestions_created == 1
    with db.read() as conn:
        rows = {r.title: r for r in conn.execute(select(news_t))}
        [suggestion] = conn.execute(select(suggestions_t)).all()
    assert rows["Sweden joins NATO as its 32nd member"].first_poll is False
    assert rows["Sweden joins NATO as its 32nd member"].published_at is None
    [entry] = suggestion.evidence
    assert entry["title"] == "Sweden joins NATO as its 32nd member"
    assert entry["published_at"] == "2024-03-08T09:00:00Z"
    assert "first seen" in entry["dated"] and "2024-03-08" in entry["dated"]
    assert "first seen" in suggestion.rationale


@pytest.mark.freeze_time("2024-03-07T18:00:00Z", real_asyncio=True)
def test_an_undated_item_without_a_link_is_stored_once(
    db: Database, httpserver: HTTPServer, freezer: FrozenDateTimeFactory
) -> None:
    body = feed(item("Sweden joins NATO as its 32nd member", ""))
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    add_feed(db, httpserver.url_for("/feed"))
    assert run_cycle(db, CONFIG, force=True).new_items == 1
    freezer.move_to("2024-03-09T09:00:00Z")
    assert run_cycle(db, CONFIG, force=True).new_items == 0
    freezer.move_to("2024-04-09T09:00:00Z")
    assert run_cycle(db, CONFIG, force=True).new_items == 0
