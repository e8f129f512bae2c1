"""resolvers.fetch: the private-address guard, limits, redirects and conditional GET.

Every request goes to a real HTTP server on loopback; the guard is exercised on literal
addresses, and refusals happen before any connection, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from forecasts.errors import InvalidInput
from resolvers.fetch import (
    Fetcher,
    FetchError,
    FetchResponse,
    PrivateAddressError,
    guard_url,
    is_private_address,
    parse_retry_after,
)
from resolvers.items import PollConfig

CONFIG = PollConfig(
    allow_private_sources=True,
    fetch_timeout_seconds=5.0,
    fetch_max_bytes=1024 * 1024,
    fetch_max_redirects=3,
    fetch_retries=0,
    user_agent="forecasts-test/1 (+https://example.org/contact)",
)
GUARDED = PollConfig(**{**CONFIG.__dict__, "allow_private_sources": False})


def fetch(url: str, config: PollConfig = CONFIG, **kwargs: Any) -> FetchResponse:
    is_allowed = kwargs.pop("is_allowed", None)

    async def go() -> FetchResponse:
        async with Fetcher(config, is_allowed=is_allowed) as fetcher:
            return await fetcher.get(url, **kwargs)

    return asyncio.run(go())


def only_loopback_v4(asked: list[str]) -> Any:
    """A guard that allows 127.0.0.1 alone and records every address it was asked about."""

    def is_allowed(ip: str) -> bool:
        asked.append(ip)
        return ip == "127.0.0.1"

    return is_allowed


# ------------------------------------------------------------------------- the guard


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "100.64.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_private_loopback_and_link_local_addresses_are_private(ip: str) -> None:
    assert is_private_address(ip) is True


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_not_private(ip: str) -> None:
    assert is_private_address(ip) is False


def test_guard_url_refuses_loopback_and_link_local_literals() -> None:
    for url in ("http://127.0.0.1:8080/feed", "http://169.254.169.254/latest/", "http://[::1]/"):
        with pytest.raises(PrivateAddressError) as caught:
            guard_url(url, allow_private=False)
        assert caught.value.field == "url"
        assert "private" in caught.value.detail


def test_guard_url_refuses_a_name_that_resolves_to_loopback() -> None:
    with pytest.raises(PrivateAddressError, match="localhost"):
        guard_url("http://localhost/feed", allow_private=False)


def test_guard_url_allows_private_when_configured() -> None:
    guard_url("http://127.0.0.1:8080/feed", allow_private=True)
    guard_url("http://localhost/feed", allow_private=True)


def test_guard_url_refuses_other_schemes() -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://example.org/"):
        with pytest.raises(PrivateAddressError, match="http and https"):
            guard_url(url, allow_private=True)


def test_guard_url_reports_an_unresolvable_host() -> None:
    # An empty label fails inside the resolver call itself, without asking any DNS server.
    with pytest.raises(InvalidInput, match="cannot resolve host") as caught:
        guard_url("http://a..b/feed", allow_private=False)
    assert caught.value.field == "url"
    assert not isinstance(caught.value, PrivateAddressError)


def test_guarded_fetcher_refuses_loopback_without_sending_a_request(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data("<rss/>")
    with pytest.raises(FetchError, match="private") as caught:
        fetch(httpserver.url_for("/feed"), GUARDED)
    assert caught.value.status_code is None
    assert httpserver.log == []


def test_redirect_to_a_private_address_is_refused_before_connecting(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    asked: list[str] = []
    with pytest.raises(FetchError, match=r"refused 169\.254\.169\.254") as caught:
        fetch(
            f"http://127.0.0.1:{httpserver.port}/feed",
            GUARDED,
            is_allowed=only_loopback_v4(asked),
        )
    # The first hop was allowed and served; the second was judged on its literal address.
    assert asked == ["127.0.0.1", "169.254.169.254"]
    assert "private" in caught.value.message
    assert len(httpserver.log) == 1


def test_redirect_to_a_private_network_is_refused(httpserver: HTTPServer) -> None:
    # The test server's own address is let through; every other one is judged as in
    # production, and 10.0.0.1 is refused before anything connects to it.
    httpserver.expect_request("/feed").respond_with_data(
        "", status=301, headers={"Location": "http://10.0.0.1/internal"}
    )
    with pytest.raises(FetchError, match="private"):
        fetch(
            f"http://127.0.0.1:{httpserver.port}/feed",
            GUARDED,
            is_allowed=lambda ip: ip == "127.0.0.1" or not is_private_address(ip),
        )


def test_redirect_to_another_scheme_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(FetchError, match="only http and https"):
        fetch(httpserver.url_for("/feed"))


# ------------------------------------------------------------------------ redirects


def test_redirects_are_followed_to_the_final_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/moved"}
    )
    httpserver.expect_request("/moved").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("the feed", content_type="text/xml")
    response = fetch(httpserver.url_for("/old"))
    assert response.status_code == 200
    assert response.content == b"the feed"
    assert response.url == httpserver.url_for("/new")
    assert response.headers["content-type"].startswith("text/xml")


def test_a_redirect_loop_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(httpserver.url_for("/a"))
    assert len(httpserver.log) == 2


def test_too_many_redirects_is_an_error(httpserver: HTTPServer) -> None:
    for hop in range(10):
        httpserver.expect_request(f"/r{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/r{hop + 1}"}
        )
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(httpserver.url_for("/r0"))
    assert len(httpserver.log) == CONFIG.fetch_max_redirects + 1


# ------------------------------------------------------------- headers and statuses


def test_polite_headers_and_conditional_get(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/feed",
        headers={
            "User-Agent": CONFIG.user_agent,
            "Accept-Encoding": "gzip",
            "If-None-Match": '"v1"',
            "If-Modified-Since": "Thu, 13 Aug 2026 08:38:13 GMT",
        },
    ).respond_with_data("", status=304, headers={"ETag": '"v1"'})
    response = fetch(
        httpserver.url_for("/feed"),
        etag='"v1"',
        last_modified="Thu, 13 Aug 2026 08:38:13 GMT",
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"v1"'


def test_the_request_goes_to_the_checked_address_under_the_host_name(
    httpserver: HTTPServer,
) -> None:
    # The connection is made to the address the guard approved, but the server still sees
    # the name it was asked for (virtual hosts, and TLS, depend on it).
    httpserver.expect_request(
        "/feed", headers={"Host": f"localhost:{httpserver.port}"}
    ).respond_with_data("named")
    asked: list[str] = []
    response = fetch(
        f"http://localhost:{httpserver.port}/feed", GUARDED, is_allowed=only_loopback_v4(asked)
    )
    assert response.content == b"named"
    assert response.url == f"http://localhost:{httpserver.port}/feed"
    assert "127.0.0.1" in asked


def test_query_parameters_are_added_to_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api", query_string={"fixed": "1", "query": '"Bashar al-Assad" resigns'}
    ).respond_with_json({"ok": True})
    response = fetch(
        httpserver.url_for("/api?fixed=1"), params={"query": '"Bashar al-Assad" resigns'}
    )
    assert json.loads(response.content) == {"ok": True}


def test_gzip_bodies_are_decoded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        gzip.compress(b"<rss>compressed</rss>"), headers={"Content-Encoding": "gzip"}
    )
    assert fetch(httpserver.url_for("/feed")).content == b"<rss>compressed</rss>"


def test_too_many_requests_carries_retry_after_seconds(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}, content_type="text/plain"
    )
    with pytest.raises(FetchError) as caught:
        fetch(httpserver.url_for("/feed"))
    assert caught.value.status_code == 429
    assert caught.value.retry_after_seconds == 120
    assert caught.value.message == "HTTP 429 TOO MANY REQUESTS: slow down"


def test_server_errors_are_not_retried_within_the_fetch(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("oops", status=503)
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        fetch(httpserver.url_for("/feed"))
    assert caught.value.status_code == 503
    assert caught.value.retry_after_seconds is None
    assert len(httpserver.log) == 1


def test_client_errors_are_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data("gone", status=404)
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        fetch(httpserver.url_for("/feed"))
    assert caught.value.status_code == 404


def test_retry_after_as_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 26, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_connection_refused_is_an_error() -> None:
    # A port nothing listens on: the loopback answers with a reset straight away.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot connect"):
        fetch(f"http://127.0.0.1:{port}/feed")


# ----------------------------------------------------------------------- body limit


def _streamed(total: int, sent: list[int], *, declare: bool) -> Any:
    chunk = b"x" * 65536

    def handler(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            while sent[0] < total:
                sent[0] += len(chunk)
                yield chunk

        headers = {"Content-Length": str(total)} if declare else {}
        return Response(body(), headers=headers, content_type="application/xml")

    return handler


def test_a_declared_oversized_body_is_refused_before_reading(httpserver: HTTPServer) -> None:
    sent = [0]
    httpserver.expect_request("/big").respond_with_handler(
        _streamed(50 * 1024 * 1024, sent, declare=True)
    )
    with pytest.raises(FetchError, match=r"body over 1048576 bytes \(Content-Length"):
        fetch(httpserver.url_for("/big"))
    assert sent[0] < 50 * 1024 * 1024


def test_an_undeclared_oversized_body_is_cut_off_at_the_cap(httpserver: HTTPServer) -> None:
    sent = [0]
    httpserver.expect_request("/big").respond_with_handler(
        _streamed(50 * 1024 * 1024, sent, declare=False)
    )
    with pytest.raises(FetchError, match="body over 1048576 bytes"):
        fetch(httpserver.url_for("/big"))
    assert sent[0] < 50 * 1024 * 1024


def test_a_gzip_bomb_is_cut_off_at_the_cap(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < CONFIG.fetch_max_bytes
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="body over 1048576 bytes"):
        fetch(httpserver.url_for("/bomb"))
