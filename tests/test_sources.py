"""The source adapters through poll_source, served from loopback: recorded feeds and API
answers (tests/fixtures, see PROVENANCE.md) and hostile servers, none of which may raise."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from forecasts.errors import InvalidInput
from resolvers.fetch import Fetcher
from resolvers.items import FetchOutcome, PollConfig, QuestionWindow, dedup_key
from resolvers.sources import (
    CURSOR_PREFIX,
    SourceSpec,
    poll_source,
    query_clauses,
    validate_options,
)
from resolvers.sources import gdelt as gdelt_adapter
from resolvers.sources import guardian as guardian_adapter
from tests.conftest import FIXTURES

CONFIG = PollConfig(
    allow_private_sources=True,
    fetch_timeout_seconds=0.5,
    fetch_max_bytes=1024 * 1024,
    fetch_retries=0,
    grace_days=7,
)
NOW = datetime(2026, 8, 14, 12, 0, tzinfo=UTC)
MB = 1024 * 1024

RawResponder = Callable[[BaseHTTPRequestHandler, threading.Event], None]


def poll(
    source: SourceSpec,
    windows: list[QuestionWindow] | None = None,
    *,
    config: PollConfig = CONFIG,
    now: datetime = NOW,
    is_allowed: Callable[[str], bool] | None = None,
) -> FetchOutcome:
    async def go() -> FetchOutcome:
        async with Fetcher(config, is_allowed=is_allowed) as fetcher:
            return await poll_source(fetcher, source, windows or [], config, now=now)

    return asyncio.run(go())


def feed_source(url: str, **changes: Any) -> SourceSpec:
    return SourceSpec(id=1, name="Test feed", kind="rss", url=url, options={}, **changes)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve_feed(httpserver: HTTPServer, name: str, content_type: str = "application/rss+xml") -> str:
    httpserver.expect_request("/feed").respond_with_data(
        fixture_bytes(name), content_type=content_type
    )
    return httpserver.url_for("/feed")


@pytest.fixture
def raw_server() -> Iterator[Callable[[RawResponder], str]]:
    """A ThreadingHTTPServer on 127.0.0.1 whose GET handler the test writes; handlers that
    wait do so on an event that is set at teardown, so no thread outlives the test."""
    release = threading.Event()
    servers: list[ThreadingHTTPServer] = []

    def start(respond: RawResponder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                respond(self, release)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/feed"

    yield start
    release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ recorded feeds


def test_al_jazeera_rss(httpserver: HTTPServer) -> None:
    outcome = poll(feed_source(serve_feed(httpserver, "feeds/aljazeera_all_2026-08-13.rss.xml")))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 25
    first = outcome.items[0]
    assert first.title == (
        "US diplomat calls Israeli settler siege of West Bank homes \u2018act of terror\u2019"
    )
    assert first.link == (
        "https://www.aljazeera.com/news/2026/8/13/us-diplomat-calls-israeli-settler-siege-of-"
        "west-bank-homes-act-of-terror?traffic_source=rss"
    )
    assert first.published_at == datetime(2026, 8, 13, 8, 38, 13, tzinfo=UTC)
    assert first.summary.startswith("Israeli settlers have blocked the homes")
    assert first.source_name == "Test feed"
    # The key comes from the item's guid, a URL of its own here.
    assert first.dedup_key == dedup_key(
        first.link, first.title, first.published_at, guid="https://www.aljazeera.com/?t=1786606330"
    )
    assert all("<" not in item.summary for item in outcome.items)
    # A well-formed feed served as RSS leaves no parser notes behind.
    assert "notes" not in outcome.extra


def test_bbc_rss_keeps_links_as_given(httpserver: HTTPServer) -> None:
    outcome = poll(feed_source(serve_feed(httpserver, "feeds/bbc_news_world_2026-08-13.rss.xml")))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 32
    first = outcome.items[0]
    assert first.link == (
        "https://www.bbc.co.uk/news/articles/c74grmy2v7ko?at_medium=RSS&at_campaign=rss"
    )
    assert first.published_at == datetime(2026, 8, 13, 4, 55, 58, tzinfo=UTC)
    assert first.summary.startswith("In an exclusive interview with the BBC\u2019s Steve Rosenberg")


def test_nyt_rss(httpserver: HTTPServer) -> None:
    outcome = poll(
        feed_source(serve_feed(httpserver, "feeds/nyt_world_2026-08-13_first20.rss.xml"))
    )
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 20
    assert outcome.items[0].title == "The Man on a Mission to Build India\u2019s Most Livable City"
    assert outcome.items[0].published_at == datetime(2026, 8, 13, 4, 12, 21, tzinfo=UTC)


def test_heise_atom_converts_offsets_to_utc(httpserver: HTTPServer) -> None:
    url = serve_feed(
        httpserver, "feeds/heise-developer_2016-02-01.atom.xml", "application/atom+xml"
    )
    outcome = poll(feed_source(url))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 15
    first = outcome.items[0]
    assert first.title == "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"
    # <published>2016-02-01T17:22:00+01:00</published>
    assert first.published_at == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)
    assert first.link.startswith("http://www.heise.de/developer/meldung/Java-Anwendungsserver")
    assert outcome.items[1].summary.startswith("Über das Programm des zehnten Scrum Day")


@pytest.mark.parametrize(
    "content_type", ["application/rss+xml", "text/xml; charset=ISO-8859-1", "application/xml"]
)
def test_iso_8859_1_feed_decodes(httpserver: HTTPServer, content_type: str) -> None:
    url = serve_feed(
        httpserver, "feeds/jn-pt_ultimas_2018-01-03_iso-8859-1_first20.rss.xml", content_type
    )
    outcome = poll(feed_source(url))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 20
    assert outcome.items[0].title == "Mãe de utente é a nova presidente da Raríssimas"
    assert outcome.items[0].summary.startswith("Sónia Laygue, profissional na área")
    # The second item's description is only a tracking pixel: no text is left of it.
    assert outcome.items[1].title == "Reações dos partidos ao veto de Marcelo"
    assert outcome.items[1].summary == ""


def test_windows_1252_feed_decodes(httpserver: HTTPServer) -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        "<title>t</title><item><title>\u201cQuoted\u201d \u2013 5 \u20ac</title>"
        "<link>https://example.org/a</link><pubDate>Mon, 10 Aug 2026 10:00:00 GMT</pubDate>"
        "</item></channel></rss>"
    ).encode("cp1252")
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/xml")
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "ok", outcome.error
    assert outcome.items[0].title == "\u201cQuoted\u201d \u2013 5 \u20ac"


def test_truncated_reuters_feed_is_read_as_truncated(httpserver: HTTPServer) -> None:
    # The body stops before its first item (the server broke): a feed, cut short, with
    # nothing in it; its status says so (tests/test_feed_screening.py has more).
    url = serve_feed(httpserver, "feeds/reuters_most-read_2020-03-21_truncated-invalid.rss.xml")
    outcome = poll(feed_source(url))
    assert outcome.status == "ok", outcome.error
    assert outcome.items == []
    assert outcome.status_note is not None and "truncated" in outcome.status_note


# ----------------------------------------------------------------- hostile servers


def test_a_hung_feed_times_out(raw_server: Callable[[RawResponder], str]) -> None:
    def hang(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        release.wait(30)

    outcome = poll(feed_source(raw_server(hang)))
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("timed out after 0.5 s")


def test_a_server_error_then_recovery(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/feed").respond_with_data("down", status=500)
    url = serve_feed(httpserver, "feeds/bbc_news_world_2026-08-13.rss.xml")
    first = poll(feed_source(url))
    assert first.status == "error"
    assert first.error is not None and first.error.startswith("HTTP 500")
    second = poll(feed_source(url))
    assert second.status == "ok"
    assert len(second.items) == 32


def test_too_many_requests_reports_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=429, headers={"Retry-After": "120"}
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error"
    assert outcome.retry_after_seconds == 120
    assert outcome.error is not None and outcome.error.startswith("HTTP 429")


def test_malformed_xml_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "<rss><channel><title>broken</title><<<>>> &&&", content_type="application/xml"
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("malformed feed: not well-formed")


def test_an_html_page_is_not_a_feed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "<!DOCTYPE html><html><body><p>Welcome</p></body></html>", content_type="text/html"
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error"
    assert outcome.error == "not an RSS or Atom feed (served as text/html)"


def test_a_broken_feed_with_entries_keeps_them_with_a_note(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        '<rss version="2.0"><channel><title>x</title><item><title>One & two</title>'
        "<link>https://example.org/1</link></item></channel>",
        content_type="application/rss+xml",
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "ok"
    assert [item.title for item in outcome.items] == ["One & two"]
    assert outcome.extra["notes"][0].startswith("not well-formed XML")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss ['
    '<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ).replace("&lol0;", "&lol;")
    + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "</item></channel></rss>"
)
QUADRATIC_BLOWUP = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + "A" * 50_000
    + '">]><rss version="2.0"><channel><title>t</title><item><title>'
    + "&a;" * 20_000
    + "</title></item></channel></rss>"
)


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS.encode(),
        QUADRATIC_BLOWUP.encode(),
        BILLION_LAUGHS.replace('<?xml version="1.0"?>', "").encode("utf-16"),
    ],
    ids=["billion-laughs", "quadratic-blowup", "billion-laughs-utf16"],
)
def test_xml_bombs_are_refused(httpserver: HTTPServer, body: bytes) -> None:
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/xml")
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error"
    assert outcome.items == []
    assert outcome.error is not None and "declares XML entities" in outcome.error


def test_a_50_mb_body_is_refused_without_reading_it(
    raw_server: Callable[[RawResponder], str],
) -> None:
    sent = [0]
    done = threading.Event()

    def flood(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()  # no Content-Length: the cap must count as it reads
        chunk = b"<!-- padding -->" * 4096
        try:
            while sent[0] < 50 * MB:
                handler.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the client hung up, as it should
        finally:
            done.set()

    outcome = poll(feed_source(raw_server(flood)))
    assert outcome.status == "error"
    assert outcome.error == "body over 1048576 bytes"
    assert done.wait(30)
    assert sent[0] < 50 * MB


def test_a_redirect_loop_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": "/elsewhere"}
    )
    httpserver.expect_request("/elsewhere").respond_with_data(
        "", status=302, headers={"Location": "/feed"}
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("redirect loop")


def test_a_redirect_to_a_private_address_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    guarded = PollConfig(**{**CONFIG.__dict__, "allow_private_sources": False})
    outcome = poll(
        feed_source(f"http://127.0.0.1:{httpserver.port}/feed"),
        config=guarded,
        # The test server itself is let through; the redirect target is judged as usual.
        is_allowed=lambda ip: ip == "127.0.0.1",
    )
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error.startswith("refused 169.254.169.254: a loopback, private or link-local")


def test_a_loopback_feed_is_refused_when_private_sources_are_off(httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "feeds/bbc_news_world_2026-08-13.rss.xml")
    guarded = PollConfig(**{**CONFIG.__dict__, "allow_private_sources": False})
    outcome = poll(feed_source(url), config=guarded)
    assert outcome.status == "error"
    assert outcome.error is not None and "private" in outcome.error
    assert httpserver.log == []


def test_a_url_that_is_not_http_is_an_error_outcome() -> None:
    outcome = poll(feed_source("file:///etc/passwd"))
    assert outcome.status == "error"
    assert outcome.error == "invalid source: rss sources need an http(s) URL with a host"


def test_undated_and_future_items(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>No date given</title><link>https://example.org/undated</link></item>"
        "<item><title>From the future</title><link>https://example.org/future</link>"
        "<pubDate>Tue, 18 Aug 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>Later today</title><link>https://example.org/soon</link>"
        "<pubDate>Fri, 14 Aug 2026 20:00:00 GMT</pubDate></item>"
        "</channel></rss>",
        content_type="application/rss+xml",
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "ok"
    by_title = {item.title: item for item in outcome.items}
    assert set(by_title) == {"No date given", "Later today"}
    # An undated item keeps its date unknown, never "now" (tests/test_feed_dates.py).
    assert by_title["No date given"].published_at is None
    assert outcome.extra["undated"] == 1
    assert outcome.extra["dropped_future"] == 1


def test_the_same_item_twice_in_a_feed_is_kept_once(httpserver: HTTPServer) -> None:
    item = (
        "<item><title>Ceasefire agreed</title><link>https://example.org/story?utm_source={}"
        "</link><pubDate>Mon, 10 Aug 2026 10:00:00 GMT</pubDate></item>"
    )
    httpserver.expect_request("/feed").respond_with_data(
        '<rss version="2.0"><channel><title>t</title>'
        + item.format("rss")
        + item.format("twitter")
        + "</channel></rss>",
        content_type="application/rss+xml",
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert [item.title for item in outcome.items] == ["Ceasefire agreed"]
    assert outcome.extra["duplicates"] == 1


def test_html_in_titles_and_summaries_becomes_text(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
        '<title type="html">Tom &amp;amp; Jerry &lt;b&gt;return&lt;/b&gt;</title>'
        '<link href="https://example.org/tj"/><updated>2026-08-10T10:00:00Z</updated>'
        '<summary type="html">&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &amp;eacute;t&amp;eacute;'
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</summary></entry></feed>",
        content_type="application/atom+xml",
    )
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "ok", outcome.error
    assert outcome.items[0].title == "Tom & Jerry return"
    assert outcome.items[0].summary == "First second été"


def test_conditional_get_gives_not_modified(httpserver: HTTPServer) -> None:
    body = fixture_bytes("feeds/aljazeera_all_2026-08-13.rss.xml")
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v7"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v7"'}
    )
    httpserver.expect_request("/feed").respond_with_data(
        body,
        content_type="application/rss+xml",
        headers={"ETag": '"v7"', "Last-Modified": "Thu, 13 Aug 2026 08:38:13 GMT"},
    )
    url = httpserver.url_for("/feed")
    first = poll(feed_source(url))
    assert first.status == "ok"
    assert (first.etag, first.last_modified) == ('"v7"', "Thu, 13 Aug 2026 08:38:13 GMT")
    second = poll(feed_source(url, etag=first.etag, last_modified=first.last_modified))
    assert second.status == "not-modified"
    assert second.items == []
    assert second.etag == '"v7"'
    assert httpserver.log[1][0].headers["If-Modified-Since"] == "Thu, 13 Aug 2026 08:38:13 GMT"


def test_the_same_bytes_without_validators_are_unchanged(httpserver: HTTPServer) -> None:
    body = fixture_bytes("feeds/aljazeera_all_2026-08-13.rss.xml")
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    url = httpserver.url_for("/feed")
    first = poll(feed_source(url))
    assert first.status == "ok" and first.items
    assert first.body_sha256 == hashlib.sha256(body).hexdigest()
    second = poll(feed_source(url, body_sha256=first.body_sha256))
    assert second.status == "unchanged" and second.items == []
    # Any other body is read, whatever hash the source remembers.
    third = poll(feed_source(url, body_sha256=hashlib.sha256(b"older").hexdigest()))
    assert third.status == "ok" and len(third.items) == len(first.items)


def test_a_body_that_is_no_feed_leaves_no_hash_to_remember(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("<html></html>", content_type="text/html")
    outcome = poll(feed_source(httpserver.url_for("/feed")))
    assert outcome.status == "error" and outcome.body_sha256 is None


# --------------------------------------------------------------------------- GDELT


def gdelt_source(url: str, **options: Any) -> SourceSpec:
    options.setdefault("min_interval_seconds", 0)
    return SourceSpec(id=2, name="GDELT", kind="gdelt", url=url, options=options)


def window(question_id: int, news_query: str, opened_on: date, resolve_by: date) -> QuestionWindow:
    return QuestionWindow(question_id, news_query, opened_on, resolve_by)


def test_gdelt_artlist_for_one_window(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v2/doc/doc",
        query_string={
            "query": 'india (tariffs OR "trade deal")',
            "mode": "artlist",
            "format": "json",
            "maxrecords": "250",
            "startdatetime": "20260110000000",
            # resolve_by 2026-01-31 plus 7 grace days is later than now: now ends it.
            "enddatetime": "20260201060000",
            "sort": "datedesc",
        },
    ).respond_with_data(
        fixture_bytes("gdelt/artlist_query-india_2026-01.json"), content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/api/v2/doc/doc")),
        [window(1, 'india (tariffs OR "trade deal")', date(2026, 1, 10), date(2026, 1, 31))],
        now=datetime(2026, 2, 1, 6, 0, tzinfo=UTC),
    )
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 20
    first = outcome.items[0]
    assert first.link == (
        "https://www.mathrubhumi.com/news/india/india-navigates-trump-trade-diplomacy-s8bz9nqh"
    )
    assert first.published_at == datetime(2026, 1, 21, 8, 30, tzinfo=UTC)
    assert " ; " not in first.title and "; " in first.title
    titles = [item.title for item in outcome.items]
    assert "Trump Pressure Allegation: India Loses Chabahar Port Control; MEA Denies" in titles
    assert any("4,500" in title for title in titles)
    # The explicit port is part of the link as GDELT gave it.
    assert any(item.link.startswith("https://www.cna.com.tw:443/") for item in outcome.items)
    assert outcome.etag == f"{CURSOR_PREFIX}1"


def test_gdelt_second_recorded_artlist(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        fixture_bytes("gdelt/artlist_vizhinjam_2024.json"), content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(4, "Vizhinjam port", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "ok", outcome.error
    assert [item.published_at.date() for item in outcome.items] == [
        date(2024, 6, 15),
        date(2024, 7, 6),
        date(2024, 6, 20),
        date(2024, 7, 15),
    ]
    assert outcome.items[0].title == "Customs grants approval to Vizhinjam International Seaport"
    assert outcome.items[1].title.startswith("ട്രോളിങ് നിയന്ത്രണം നീങ്ങി; വിഴിഞ്ഞം തീരത്ത് ആവേശം,")


@pytest.mark.parametrize(
    ("status", "content_type"), [(429, "text/plain"), (429, "text/html"), (200, "text/html")]
)
def test_gdelt_rate_limit_notice(httpserver: HTTPServer, status: int, content_type: str) -> None:
    notice = fixture_bytes("gdelt/error_rate_limited.txt")
    httpserver.expect_request("/doc").respond_with_data(
        notice, status=status, content_type=content_type
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Vizhinjam port", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "Please limit requests to one every 5 seconds" in outcome.error
    assert outcome.retry_after_seconds is not None and outcome.retry_after_seconds >= 5


def test_gdelt_refused_query_notice(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        fixture_bytes("gdelt/error_keywords_too_short.txt"), content_type="text/html"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Brazil protests", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error == (
        "GDELT refused the query: One or more of your keywords were too short, too long or "
        "too common: (locationcc:br)"
    )


def test_gdelt_one_refused_query_does_not_stop_the_others(httpserver: HTTPServer) -> None:
    def answer(request: Request) -> Response:
        if request.args["query"] == "Brazil":
            return Response(fixture_bytes("gdelt/error_keywords_too_short.txt"))
        return Response(
            fixture_bytes("gdelt/artlist_vizhinjam_2024.json"), content_type="application/json"
        )

    httpserver.expect_request("/doc").respond_with_handler(answer)
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [
            window(1, "Brazil", date(2024, 6, 1), date(2024, 7, 31)),
            window(2, "Vizhinjam", date(2024, 6, 1), date(2024, 7, 31)),
        ],
    )
    assert outcome.status == "ok"
    assert len(outcome.items) == 4
    assert set(outcome.extra["query_errors"]) == {1}


def test_gdelt_skips_windows_before_its_coverage(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({})
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Assad resigns", date(2015, 11, 1), date(2016, 12, 31))],
    )
    assert outcome.status == "ok"
    assert outcome.items == []
    assert outcome.extra["windows_skipped"] == 1
    assert httpserver.log == []


def test_gdelt_starts_no_earlier_than_the_earliest_option(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({})
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc"), earliest="2018-03-01"),
        [window(1, "Assad resigns", date(2015, 11, 1), date(2018, 12, 31))],
    )
    assert outcome.status == "ok"
    request = httpserver.log[0][0]
    assert request.args["startdatetime"] == "20180301000000"
    assert request.args["enddatetime"] == "20190107235959"


def test_gdelt_queries_at_most_max_queries_and_takes_turns(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2, 3)]
    source = gdelt_source(httpserver.url_for("/doc"), max_queries=2)
    first = poll(source, windows)
    assert [r.args["query"] for r, _ in httpserver.log] == ["topic1", "topic2"]
    assert first.etag == f"{CURSOR_PREFIX}2"
    assert first.extra["windows_deferred"] == 1
    source.etag = first.etag
    second = poll(source, windows)
    assert [r.args["query"] for r, _ in httpserver.log[2:]] == ["topic3", "topic1"]
    assert second.etag == f"{CURSOR_PREFIX}1"


def test_gdelt_stops_before_the_source_deadline(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2)]
    # A second request could not finish within a deadline shorter than one fetch timeout.
    tight = PollConfig(**{**CONFIG.__dict__, "source_deadline_seconds": 0.2})
    outcome = poll(gdelt_source(httpserver.url_for("/doc")), windows, config=tight)
    assert outcome.status == "ok"
    assert len(httpserver.log) == 1
    assert outcome.extra["windows_deferred"] == 1


def test_gdelt_garbage_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        '{"articles": [', content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Vizhinjam", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("GDELT sent invalid JSON")


# ------------------------------------------------------------------------ Guardian


def guardian_source(url: str, **options: Any) -> SourceSpec:
    options.setdefault("min_interval_seconds", 0)
    return SourceSpec(id=3, name="The Guardian", kind="guardian", url=url, options=options)


def test_guardian_current_shape(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/search",
        query_string={
            "q": 'Putin AND (Syria OR "Hmeimim airbase")',
            "from-date": "2017-12-01",
            "to-date": "2018-01-07",
            "page-size": "50",
            "order-by": "newest",
            "show-fields": "trailText,standfirst",
            "api-key": "test-key",
        },
    ).respond_with_data(
        fixture_bytes("guardian/search_show-fields_standfirst-thumbnail.json"),
        content_type="application/json",
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="test-key"),
        [window(9, 'Putin (Syria OR "Hmeimim airbase")', date(2017, 12, 1), date(2017, 12, 31))],
    )
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 10
    by_title = {item.title: item for item in outcome.items}
    putin = by_title["Vladimir Putin makes triumphant visit to Syria airbase"]
    assert putin.link.startswith("https://www.theguardian.com/")
    assert putin.published_at == datetime(2017, 12, 11, 16, 45, 8, tzinfo=UTC)
    assert putin.summary.startswith("President Assad tells Russian leader")
    assert "<" not in putin.summary
    architecture = next(item for item in outcome.items if item.title.startswith("Wet docks"))
    assert "the V&A unveils" in architecture.summary
    assert (
        outcome.items[0].title == "Harry Potter and the £4.50 chocolate frog | Alice O\u2019Keeffe"
    )


def test_guardian_2012_shape(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_data(
        fixture_bytes("guardian/search_2012-02-22_show-fields-all_show-tags-all.json"),
        content_type="application/json",
    )
    config = PollConfig(**{**CONFIG.__dict__, "guardian_api_key": "from-settings"})
    outcome = poll(
        guardian_source(httpserver.url_for("/search")),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
        config=config,
    )
    assert outcome.status == "ok", outcome.error
    assert httpserver.log[0][0].args["api-key"] == "from-settings"
    assert [item.link for item in outcome.items] == [
        "http://www.guardian.co.uk/world/middle-east-live/2012/feb/22/syria-yemen",
        "http://www.guardian.co.uk/politics/2012/feb/22/staff-welfare-work-company-4ae-arrested",
    ]
    first = outcome.items[0]
    assert first.title == "Journalists reported killed in Syria – live updates"
    assert first.summary == (
        "Claim of 500 defectors joining Free Syrian Army Last day of Mubarak's trial in Egypt "
        "Nine reported dead in Yemen election violence"
    )
    assert first.published_at == datetime(2012, 2, 22, 8, 55, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 400])
def test_guardian_error_envelope(httpserver: HTTPServer, status: int) -> None:
    # The documented error envelope; no recorded error body exists (see PROVENANCE.md).
    httpserver.expect_request("/search").respond_with_json(
        {"response": {"status": "error", "message": "Invalid from-date"}}, status=status
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="k"),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and "Invalid from-date" in outcome.error


def test_guardian_rejected_key_is_a_source_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_json(
        {"message": "Invalid authentication credentials"}, status=401
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="wrong"),
        [
            window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29)),
            window(2, "Yemen", date(2012, 2, 1), date(2012, 2, 29)),
        ],
    )
    assert outcome.status == "error"
    assert outcome.error == "the Guardian answered HTTP 401: Invalid authentication credentials"
    assert len(httpserver.log) == 1


def test_guardian_without_a_key_is_an_error(httpserver: HTTPServer) -> None:
    outcome = poll(
        guardian_source(httpserver.url_for("/search")),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("no API key")
    assert httpserver.log == []


# ------------------------------------------------------------------------- archive


def archive_source(url: str, **options: Any) -> SourceSpec:
    return SourceSpec(id=4, name="Archive", kind="archive", url=url, options=options)


def test_bundled_archive() -> None:
    import seeds

    data = json.loads((Path(seeds.__file__).parent / "archive.json").read_bytes())
    outcome = poll(archive_source("package:seeds/archive.json"))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == len(data["items"])
    first, item = data["items"][0], outcome.items[0]
    assert item.dedup_key == hashlib.sha256(f"archive:{first['key']}".encode()).hexdigest()
    assert item.title == first["title"]
    assert item.link == first["link"]
    assert item.published_at == datetime.fromisoformat(first["published_at"])
    assert item.source_name == "Archive"


def in_folder(folder: Path) -> PollConfig:
    """The test config, with `folder` as the one archive sources may read."""
    return dataclasses.replace(CONFIG, archive_dir=folder)


def test_archive_until_hides_later_items(tmp_path: Path) -> None:
    path = tmp_path / "archive.json"
    path.write_text(
        json.dumps(
            {
                "items": [
                    {
                        "key": "a",
                        "published_at": "2016-01-10T12:00:00Z",
                        "title": "Early",
                        "summary": "",
                        "link": "https://example.org/a",
                    },
                    {
                        "key": "b",
                        "published_at": "2016-01-11T12:00:00Z",
                        "title": "Late",
                        "summary": "",
                        "link": "https://example.org/b",
                    },
                    {"key": "c", "published_at": "not a date", "title": "Broken"},
                ]
            }
        )
    )
    outcome = poll(archive_source(path.name, until="2016-01-10"), config=in_folder(tmp_path))
    assert [item.title for item in outcome.items] == ["Early"]
    assert outcome.extra["hidden_after_until"] == 1
    assert [
        item.title for item in poll(archive_source(path.name), config=in_folder(tmp_path)).items
    ] == [
        "Early",
        "Late",
    ]


def test_archive_faults_are_error_outcomes(tmp_path: Path) -> None:
    missing = poll(archive_source("missing.json"), config=in_folder(tmp_path))
    assert missing.status == "error"
    assert missing.error is not None and "no archive file" in missing.error
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    outcome = poll(archive_source(broken.name), config=in_folder(tmp_path))
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("the archive is not valid JSON")


# ----------------------------------------------------------- options and queries


def test_validate_options_accepts_good_sources() -> None:
    validate_options("rss", "https://feeds.bbci.co.uk/news/world/rss.xml", {})
    validate_options("gdelt", "https://api.gdeltproject.org/api/v2/doc/doc", {"max_queries": 5})
    validate_options("guardian", "https://content.guardianapis.com/search", {})
    validate_options("archive", "package:seeds/archive.json", {"until": "2016-06-30"})


@pytest.mark.parametrize(
    ("kind", "url", "options", "field", "message"),
    [
        ("atom", "https://example.org/feed", {}, "kind", "kind must be one of"),
        ("rss", "ftp://example.org/feed", {}, "url", "rss sources need an http(s) URL"),
        ("rss", "not a url", {}, "url", "http(s) URL"),
        ("rss", "https://example.org/feed", {"max_queries": 3}, "options", "unknown option"),
        ("gdelt", "https://example.org/doc", {"max_queries": 0}, "options", "max_queries"),
        ("gdelt", "https://example.org/doc", {"max_queries": True}, "options", "max_queries"),
        ("gdelt", "https://example.org/doc", {"earliest": "2017"}, "options", "earliest"),
        ("guardian", "https://example.org/s", {"api_key": ""}, "options", "api_key"),
        ("guardian", "https://example.org/s", {"page_size": 500}, "options", "page_size"),
        ("archive", "package:seeds/nothing.json", {}, "url", "no archive file"),
        ("archive", "https://example.org/a.json", {}, "url", "not a package:"),
    ],
)
def test_validate_options_refuses(
    kind: str, url: str, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(
        InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        validate_options(kind, url, options)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("news_query", "gdelt_query", "guardian_query"),
    [
        ("Assad resigns", "Assad resigns", "Assad AND resigns"),
        (
            '"Bashar al-Assad" (resigns OR ousted) -rumour',
            '"Bashar al-Assad" (resigns OR ousted) -rumour',
            '"Bashar al-Assad" AND (resigns OR ousted) AND NOT rumour',
        ),
        (
            "Russia Iran S-300 delivery",
            'Russia Iran "S-300" delivery',
            'Russia AND Iran AND "S-300" AND delivery',
        ),
        # (x y) OR z is (x OR z) AND (y OR z); GDELT is given what it can take.
        (
            "(Putin visit) OR summit",
            "(Putin OR summit) (visit OR summit)",
            "(Putin OR summit) AND (visit OR summit)",
        ),
        # An exclusion inside an OR: GDELT cannot take it, the Guardian can.
        ("Iran -(sanctions troops)", "Iran", "Iran AND (NOT sanctions OR NOT troops)"),
        ("-war", None, None),
        ("US UN", None, "US AND UN"),
    ],
)
def test_news_query_translation(
    news_query: str, gdelt_query: str | None, guardian_query: str | None
) -> None:
    clauses = query_clauses(news_query)
    assert gdelt_adapter.build_query(clauses) == gdelt_query
    assert guardian_adapter.build_query(clauses) == guardian_query


def test_gdelt_pauses_between_queries_even_under_a_frozen_clock(
    httpserver: HTTPServer, freezer: Any
) -> None:
    freezer.move_to("2024-08-01T12:00:00Z")
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2)]
    source = gdelt_source(httpserver.url_for("/doc"), min_interval_seconds=0.01)
    outcome = poll(source, windows, now=datetime(2024, 8, 1, 12, 0, tzinfo=UTC))
    assert outcome.status == "ok"
    assert [request.args["query"] for request, _ in httpserver.log] == ["topic1", "topic2"]
