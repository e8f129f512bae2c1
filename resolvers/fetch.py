"""The one place that does outbound HTTP: timeouts, size cap, redirects, the private-address
guard, conditional GET. Adapters receive bytes from here and never open a connection.

The guard checks the address that is actually connected to: each hop's host is resolved
once, every address it resolves to is checked (one private address refuses the host, so a
DNS answer that mixes public and private addresses gets nowhere), and the request is then
sent to a checked address itself, with the original Host header and TLS server name. A
second resolution between the check and the connection (DNS rebinding) therefore cannot
redirect it. Keep-alive is off so that a connection opened for one host name is never
reused for another name that happens to resolve to the same address, and proxies from the
environment are ignored, because through a proxy the guard would check the wrong address.

No secret leaves through an error: a source URL may carry an API key (the Guardian's
`api-key=`), and error messages end up in sources.last_error, API answers and logs. Every
message made here masks secret query parameters (redact), the values of the request's own
secret parameters are cut from error bodies, and httpx's request log line is masked too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

import httpx

from forecasts.errors import InvalidInput
from resolvers.items import PollConfig

AddressCheck = Callable[[str], bool]
"""Decides whether connecting to one IP address (a string) is allowed."""

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_ERROR_EXCERPT_BYTES = 4096
_ERROR_EXCERPT_CHARS = 500
# 6to4 and NAT64 addresses carry an IPv4 address that a gateway may forward to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# Query parameters whose values are credentials (compared case-insensitively, '-' and '_'
# alike): the Guardian's api-key, and the usual names of other APIs' keys and tokens.
SECRET_PARAMS = frozenset(
    {
        "apikey",
        "api_key",
        "key",
        "token",
        "access_token",
        "auth",
        "client_secret",
        "password",
        "secret",
        "signature",
        "sig",
    }
)
MASK = "***"
MIN_SECRET_CHARS = 6
_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;#\s\"'<>]+)=(?P<value>[^&;#\s\"'<>]*)")
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s\"'<>]+@")


def _is_secret(name: str) -> bool:
    return unquote_plus(name).strip().lower().replace("-", "_") in SECRET_PARAMS


def redact(text: str) -> str:
    """`text` with the value of every secret query parameter (api-key=…, key=…, token=…) of
    any URL in it masked, and user:password@ cut from URLs."""

    def mask(match: re.Match[str]) -> str:
        if not _is_secret(match["name"]):
            return match[0]
        return f"{match['lead']}{match['name']}={MASK}"

    return _USERINFO.sub(r"\g<scheme>", _PARAM.sub(mask, text))


def redact_url(url: str | httpx.URL) -> str:
    """A URL fit for a message or a log: secret query parameters masked, no user:password."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact(text.split("?", 1)[0])
    netloc = parts.netloc.rpartition("@")[2]
    query = redact("?" + parts.query)[1:] if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_values(url: httpx.URL) -> list[str]:
    """The values of a URL's secret parameters, as sent and as they may be echoed back."""
    values: set[str] = set()
    for name, value in url.params.multi_items():
        # A value this short is no real key, and masking it would garble the message.
        if len(value) >= MIN_SECRET_CHARS and _is_secret(name):
            values.update({value, quote(value, safe=""), quote_plus(value)})
    # Longest first, so that a value containing another is masked whole.
    return sorted(values, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, MASK)
    return redact(text)


class _RedactedLog(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: GET https://…?api-key=…") and
    httpcore's debug trace quotes response headers (a Location with the key in it): their
    records are masked before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_LOG_FILTER = _RedactedLog()
# Filters apply to the logger they are added to, not to its children: each is named.
for _name in (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


class FetchError(Exception):
    """A fetch failed: network, HTTP status, guard, size or redirect trouble.

    `body` holds at most the first few KB of an error response, for adapters that can
    explain it better (an API's JSON error message, GDELT's plain-text notice).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        status_code: int | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds
        self.status_code = status_code
        self.body = body


class PrivateAddressError(InvalidInput):
    """A source URL points at a loopback, private or link-local address, or is not http(s)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="url")


@dataclass
class FetchResponse:
    """A 2xx response with its whole body, or a 304 with an empty one."""

    status_code: int
    content: bytes
    headers: dict[str, str]  # lower-case names
    url: str  # the URL finally answered, after redirects


def is_private_address(ip: str) -> bool:
    """True if `ip` is not a public unicast address (loopback, private, link-local, …).

    Raises ValueError if `ip` is not an IP address. An IPv6 zone id (`fe80::1%eth0`) is
    ignored; IPv4-mapped, 6to4 and NAT64 addresses are judged by the IPv4 address inside.
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_private(address.ipv4_mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and _is_private(embedded):
            return True
    return _is_private(address)


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        # is_global also excludes shared address space (100.64/10) and similar ranges.
        or not address.is_global
    )


def guard_url(url: str, *, allow_private: bool) -> None:
    """Refuse a source URL that is not http(s) or whose host resolves to a private address.

    Resolves the host with the system resolver (blocking). Unless `allow_private`, raises
    PrivateAddressError for a private address and InvalidInput for a host that does not
    resolve; with `allow_private` only the scheme and host are checked, without resolving.
    """
    host, port = _host_and_port(url)
    if allow_private:
        return
    if _literal_ip(host):
        addresses = [host]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise InvalidInput(f"cannot resolve host {host}: {exc}", field="url") from exc
        addresses = _unique_addresses(infos)
    refused = next((a for a in addresses if is_private_address(a)), None)
    if refused is not None:
        raise PrivateAddressError(_private_message(host, refused))


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidInput(f"not a valid URL: {exc}", field="url") from exc
    if parsed.scheme not in ("http", "https"):
        raise PrivateAddressError(
            f"only http and https URLs can be fetched, not {parsed.scheme or 'a relative URL'!r}"
        )
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise InvalidInput("the URL has no host", field="url")
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


def _literal_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _unique_addresses(infos: list[Any]) -> list[str]:
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _private_message(host: str, address: str) -> str:
    where = host if host == address else f"{host} ({address})"
    return (
        f"refused {where}: a loopback, private or link-local address "
        "(private sources are not allowed)"
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date; else None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle takes about 0.1 s, which
    every queued one-source task would otherwise pay again (SSLContext is thread-safe)."""
    return httpx.create_ssl_context()


class Fetcher:
    """One HTTP client for a poll cycle. Use `async with Fetcher(config) as fetcher:`.

    `is_allowed` decides which IP addresses may be connected to; by default every public
    address, and every address at all when config.allow_private_sources is set.
    """

    def __init__(self, config: PollConfig, *, is_allowed: AddressCheck | None = None) -> None:
        self._config = config
        self._is_allowed: AddressCheck = is_allowed or self._default_is_allowed
        transport = httpx.AsyncHTTPTransport(
            # httpcore retries failed connection attempts only; a 5xx or 429 is answered
            # by backing the source off in the cycle, not by retrying here.
            retries=config.fetch_retries,
            verify=_tls_context(),
            limits=httpx.Limits(max_keepalive_connections=0),
            trust_env=False,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(config.fetch_timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            headers={
                "User-Agent": config.user_agent,
                "Accept-Encoding": "gzip",
                "Accept": (
                    "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                    "text/xml;q=0.9, application/json;q=0.9, */*;q=0.5"
                ),
            },
        )

    def _default_is_allowed(self, ip: str) -> bool:
        return self._config.allow_private_sources or not is_private_address(ip)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResponse:
        """GET `url`, following redirects, and return a 2xx or 304; raise FetchError else."""
        try:
            secrets = _secret_values(_with_params(url, params))
        except (httpx.InvalidURL, TypeError, ValueError):
            secrets = []
        try:
            return await self._fetch(url, params, etag, last_modified)
        except FetchError as exc:
            # Whatever the message quotes (a URL, an error page echoing the request), the
            # request's own secrets and any secret-looking parameter are masked.
            exc.message = _scrub(exc.message, secrets)
            exc.args = (exc.message,)
            for value in secrets:
                exc.body = exc.body.replace(value.encode("utf-8", "replace"), MASK.encode())
            raise

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> FetchResponse:
        """POST `content` to `url` through the same guard, without following redirects (a
        redirected POST is an error); returns a 2xx response or raises FetchError (whose
        status_code is set for an HTTP error answer, None for a timeout or no connection)."""
        timeout = self._config.fetch_timeout_seconds
        try:
            target = httpx.URL(url)
            addresses = await self._checked_addresses(target)
            failure: httpx.TransportError | None = None
            for address in addresses:
                try:
                    return await self._send_post(target, address, content, headers)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    failure = exc
            raise FetchError(f"cannot connect to {target.host}: {_describe(failure)}")
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {timeout:g} s ({_describe(exc)})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"request failed: {_describe(exc)}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from exc

    async def _send_post(
        self, url: httpx.URL, address: str, content: bytes, headers: dict[str, str]
    ) -> FetchResponse:
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        request = self._client.build_request(
            "POST",
            url.copy_with(host=address.split("%", 1)[0]),
            content=content,
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        try:
            if 200 <= response.status_code < 300:
                body = await self._read_capped(response)
                return FetchResponse(response.status_code, body, _lower(response.headers), str(url))
            raise await self._status_error(response)
        finally:
            await response.aclose()

    async def _fetch(
        self,
        url: str,
        params: dict[str, Any] | None,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResponse:
        timeout = self._config.fetch_timeout_seconds
        try:
            return await self._get(url, params, etag, last_modified)
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {timeout:g} s ({_describe(exc)})") from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"undecodable response body: {_describe(exc)}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"request failed: {_describe(exc)}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from exc

    async def _get(
        self,
        url: str,
        params: dict[str, Any] | None,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResponse:
        current = _with_params(url, params)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        visited = {str(current)}
        for _ in range(self._config.fetch_max_redirects + 1):
            answer = await self._hop(current, headers)
            if isinstance(answer, FetchResponse):
                return answer
            if str(answer) in visited:
                raise FetchError(
                    f"redirect loop: {redact_url(current)} redirects back to {redact_url(answer)}"
                )
            visited.add(str(answer))
            current = answer
        raise FetchError(f"too many redirects (more than {self._config.fetch_max_redirects})")

    async def _hop(self, url: httpx.URL, headers: dict[str, str]) -> FetchResponse | httpx.URL:
        """One request: a final response, or the URL a redirect points to."""
        addresses = await self._checked_addresses(url)
        failure: httpx.TransportError | None = None
        # Each address is tried once in turn (after the transport's own connection
        # retries), as a client connecting by name would: a host that answers on IPv4
        # only must not fail because its IPv6 address came first.
        for address in addresses:
            try:
                return await self._request(url, address, headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
        raise FetchError(f"cannot connect to {url.host}: {_describe(failure)}")

    async def _checked_addresses(self, url: httpx.URL) -> list[str]:
        if url.scheme not in ("http", "https"):
            raise FetchError(f"refused {redact_url(url)}: only http and https URLs are fetched")
        host = url.raw_host.decode("ascii")
        if not host:
            raise FetchError(f"refused {redact_url(url)}: no host")
        if _literal_ip(host):
            addresses = [host]
        else:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError) as exc:
                raise FetchError(f"cannot resolve host {host}: {exc}") from exc
            addresses = _unique_addresses(infos)
            if not addresses:
                raise FetchError(f"cannot resolve host {host}")
        refused = next((a for a in addresses if not self._is_allowed(a)), None)
        if refused is not None:
            raise FetchError(_private_message(host, refused))
        return addresses

    async def _request(
        self, url: httpx.URL, address: str, headers: dict[str, str]
    ) -> FetchResponse | httpx.URL:
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            # Certificates are verified against the host name, not the address connected to.
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        request = self._client.build_request(
            "GET",
            url.copy_with(host=address.split("%", 1)[0]),
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            if status in _REDIRECT_CODES and "location" in response.headers:
                return url.join(response.headers["location"])
            if status == 304:
                return FetchResponse(304, b"", _lower(response.headers), str(url))
            if 200 <= status < 300:
                content = await self._read_capped(response)
                return FetchResponse(status, content, _lower(response.headers), str(url))
            raise await self._status_error(response)
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self._config.fetch_max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"body over {cap} bytes (Content-Length is {declared})")
        parts: list[bytes] = []
        size = 0
        # aiter_bytes yields decompressed bytes, so a gzip bomb is stopped at the cap too.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"body over {cap} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def _status_error(self, response: httpx.Response) -> FetchError:
        status = response.status_code
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= _ERROR_EXCERPT_BYTES:
                break
        body = body[:_ERROR_EXCERPT_BYTES]
        message = f"HTTP {status} {response.reason_phrase}".rstrip()
        if 300 <= status < 400:
            message += " (a redirect without a Location)"
        content_type = response.headers.get("content-type", "")
        if content_type.startswith(("text/plain", "application/json")):
            excerpt = " ".join(body.decode("utf-8", "replace").split())
            if excerpt:
                message += ": " + excerpt[:_ERROR_EXCERPT_CHARS]
        retry_after = None
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        return FetchError(message, retry_after_seconds=retry_after, status_code=status, body=body)


def _with_params(url: str, params: dict[str, Any] | None) -> httpx.URL:
    current = httpx.URL(url)
    return current.copy_merge_params(params) if params else current


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no address to connect to"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def post_bytes(
    config: PollConfig, url: str, content: bytes, headers: dict[str, str]
) -> FetchResponse:
    """One guarded POST from synchronous code (a scheduler job or a worker thread, never an
    event loop's thread): a 2xx response, or FetchError."""

    async def send() -> FetchResponse:
        async with Fetcher(config) as fetcher:
            return await fetcher.post(url, content, headers)

    return asyncio.run(send())
