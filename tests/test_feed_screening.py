"""Screening and reading feed bodies: the DTD screen reads only the prolog, harmless entity
subsets are stripped, XML bombs are still refused; truncated and empty feeds; an item's
identity from its guid.

Feeds are served on loopback (pytest-httpserver). Events are real and dated, with where to
read about them; link hosts end in .invalid.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from forecasts.tables import news_t, sources_t
from resolvers.cycle import run_cycle
from resolvers.fetch import Fetcher
from resolvers.ingest import ContentError
from resolvers.items import FetchOutcome, PollConfig
from resolvers.sources import SourceSpec, poll_source
from resolvers.sources.rss import parse_feed, screen
from service.db import Database
from tests.factories import store_source

CONFIG = PollConfig(
    allow_private_sources=True, source_deadline_seconds=5.0, fetch_timeout_seconds=5.0,
    fetch_retries=0,
)  # fmt: skip
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
# The FAA grounded Boeing 737 MAX 9 aircraft with door plugs on 6 January 2024, after a door
# plug blew out of Alaska Airlines flight 1282 the day before (FAA emergency airworthiness
# directive, 6 January 2024).
GROUNDING = (
    "<item><title>FAA grounds 737 MAX 9 jets after a door plug blows out in flight</title>"
    "<link>https://wire.invalid/2024/01/06/faa-grounding</link>"
    "<pubDate>Sat, 06 Jan 2024 22:00:00 GMT</pubDate></item>"
)


def channel(body: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f'{prolog}<rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.invalid/</link>{body}</channel></rss>"
    ).encode()


def poll(httpserver: HTTPServer, body: bytes) -> FetchOutcome:
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/xml")

    async def go() -> FetchOutcome:
        async with Fetcher(CONFIG) as fetcher:
            spec = SourceSpec(id=1, name="Wire", kind="rss", url=httpserver.url_for("/feed"),
                              options={})  # fmt: skip
            return await poll_source(fetcher, spec, [], CONFIG, now=NOW)

    return asyncio.run(go())


# --- the DTD screen ----------------------------------------------------------------------------


def test_an_entity_declaration_inside_cdata_is_text(httpserver: HTTPServer) -> None:
    body = channel(
        GROUNDING.replace(
            "</title>",
            "</title><description><![CDATA[How XML declares entities: "
            '<!ENTITY x "y"> (a tutorial aside)]]></description>',
        )
    )
    outcome = poll(httpserver, body)
    assert outcome.status == "ok", outcome.error
    assert "<!ENTITY" in outcome.items[0].summary


def test_an_entity_declaration_inside_a_comment_is_text(httpserver: HTTPServer) -> None:
    outcome = poll(httpserver, channel("<!-- <!ENTITY lol 'lol'> -->" + GROUNDING))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 1


def test_a_subset_of_harmless_entities_is_stripped_and_the_feed_read(
    httpserver: HTTPServer,
) -> None:
    prolog = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">'
        "<!-- feeds copy this from HTML --><!ENTITY mdash '&#x2014;'>]>"
    )
    body = channel(GROUNDING.replace("737 MAX 9", "737&nbsp;MAX&nbsp;9&mdash;"), prolog)
    outcome = poll(httpserver, body)
    assert outcome.status == "ok", outcome.error
    # &nbsp; became a no-break space, which text cleaning makes a plain one; &mdash; a dash.
    assert outcome.items[0].title.startswith("FAA grounds 737 MAX 9\u2014 jets")


@pytest.mark.parametrize(
    "prolog",
    [
        # Billion laughs: entities that expand entities.
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">]>',
        # Quadratic blowup: one long entity referenced many times.
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "A" * 5_000 + '">]>',
        # An external entity and a parameter entity.
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY ext SYSTEM "file:///etc/passwd">]>',
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p "x">]>',
    ],
    ids=["billion-laughs", "quadratic-blowup", "external", "parameter"],
)
def test_dangerous_entity_declarations_are_still_refused(prolog: str) -> None:
    with pytest.raises(ContentError, match="declares XML entities"):
        parse_feed(channel(GROUNDING, prolog))


def test_the_screen_leaves_a_body_without_a_subset_untouched() -> None:
    body = channel(GROUNDING)
    assert screen(body) is body


# --- truncated and empty feeds -----------------------------------------------------------------

# The body stops inside its second item, as a server that dies mid-response leaves it.
# Alaska Airlines flight 1282 lost a door plug on 5 January 2024 (NTSB preliminary report).
TRUNCATED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    + GROUNDING
    + "<item><title>Alaska Airlines flight 1282 loses a door plug over Oregon</title>"
    "<link>https://wire.invalid/2024/01/05/door</link><description>The jet returned to Po"
).encode()


def test_a_truncated_body_drops_its_broken_last_item(httpserver: HTTPServer) -> None:
    outcome = poll(httpserver, TRUNCATED)
    assert outcome.status == "ok", outcome.error
    assert [i.title for i in outcome.items] == [
        "FAA grounds 737 MAX 9 jets after a door plug blows out in flight"
    ]
    assert outcome.status_note is not None and "truncated" in outcome.status_note


def test_the_sources_status_says_the_body_was_truncated(
    sqlite_db: Database, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(TRUNCATED, content_type="application/xml")
    store_source(sqlite_db, "Wire", "rss", httpserver.url_for("/feed"))
    report = run_cycle(sqlite_db, CONFIG, force=True, now=NOW)
    assert report.errors == [] and report.new_items == 1
    with sqlite_db.read() as conn:
        source = conn.execute(select(sources_t)).one()
    assert source.last_status.startswith("ok (body truncated")
    assert source.last_error is None


@pytest.mark.parametrize(
    "body",
    [
        channel(""),
        channel("").replace(b"<title>Wire</title>", b"<title>Caf&eacute; wire</title>"),
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Wire&nbsp;feed</title></feed>",
    ],
    ids=["rss", "rss-html-entity", "atom-html-entity"],
)
def test_an_empty_feed_that_feedparser_identifies_is_ok(
    httpserver: HTTPServer, body: bytes
) -> None:
    outcome = poll(httpserver, body)
    assert outcome.status == "ok", outcome.error
    assert outcome.items == []


def test_garbage_is_still_an_error(httpserver: HTTPServer) -> None:
    outcome = poll(httpserver, b"<rss><channel><title>broken</title><<<>>> &&&")
    assert outcome.status == "error"


# --- identity -----------------------------------------------------------------------------------


def test_the_key_comes_from_the_guid(sqlite_db: Database, httpserver: HTTPServer) -> None:
    # The same story twice, its link's tracking parameters changed, its guid the same; and
    # two stories sharing one link (a live page) told apart by their guids.
    def story(guid: str, link: str, title: str) -> str:
        return (
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{guid}</guid>'
            "<pubDate>Sat, 06 Jan 2024 22:00:00 GMT</pubDate></item>"
        )

    body = channel(
        story("wire-2024-0106-faa", "https://wire.invalid/live?ref=a", "FAA grounds 737 MAX 9")
        + story("wire-2024-0106-faa", "https://wire.invalid/live?ref=b", "FAA grounds 737 MAX 9")
        + story("wire-2024-0105-door", "https://wire.invalid/live?ref=a", "Door plug blows out")
    )
    outcome = poll(httpserver, body)
    assert sorted(i.title for i in outcome.items) == [
        "Door plug blows out",
        "FAA grounds 737 MAX 9",
    ]
    assert outcome.extra["duplicates"] == 1
    from resolvers.ingest import store_items

    with sqlite_db.write() as conn:
        assert len(store_items(conn, None, outcome.items)) == 2
    with sqlite_db.write() as conn:
        assert store_items(conn, None, outcome.items) == []
    with sqlite_db.read() as conn:
        assert len(conn.execute(select(news_t)).all()) == 2
