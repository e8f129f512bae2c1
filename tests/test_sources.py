"""The feed adapter through poll_source, served from loopback: recorded publisher feeds
(tests/fixtures, see PROVENANCE.md) and hostile servers, none of which may raise. The API
adapters, the archive and the sources' options: tests/test_sources_apis.py."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from resolvers.items import PollConfig, dedup_key
from resolvers.sources import SourceSpec
from tests.source_polling import CONFIG, fixture_bytes, poll

MB = 1024 * 1024

RawResponder = Callable[[BaseHTTPRequestHandler, threading.Event], None]


def feed_source(url: str, **changes: Any) -> SourceSpec:
    return SourceSpec(id=1, name="Test feed", kind="rss", url=url, options={}, **changes)


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
