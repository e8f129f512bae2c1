"""Response headers that hold a page against a hostile web, and the trusted Host names.

One ASGI middleware puts the same headers on every response the service sends: API answers,
pages, static files, errors (500s included, see ForecastsApp in service.app) and 404s. The
policy only lets a page run scripts and load styles, images and data from the service
itself, and forbids any other site from framing it:

- no inline script runs: the pages load their scripts from /static and hand them data in
  `<script type="application/json">` blocks or data- attributes, which are never executed;
- nothing is framed (frame-ancestors 'none' and X-Frame-Options for older browsers), so a
  page elsewhere cannot lay the review buttons under a decoy (clickjacking);
- no <base> element can redirect the pages' relative links, no plugin content loads.

/redoc alone allows inline styles and blob: workers: ReDoc's styled-components write
<style> elements at run time and its search index runs in a worker built from a blob. Its
scripts are still only the service's own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Plotly's and Swagger UI's icons are SVG data: URIs.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)
REDOC_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
).replace("connect-src 'self'", "connect-src 'self'; worker-src 'self' blob:")
REDOC_PATH = "/redoc"

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    # Browser features the pages never use stay off, should a script ever ask for them.
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def _raw(policy: str) -> list[tuple[bytes, bytes]]:
    pairs = (("Content-Security-Policy", policy), *SECURITY_HEADERS)
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


_DEFAULT_RAW = _raw(CONTENT_SECURITY_POLICY)
_REDOC_RAW = _raw(REDOC_POLICY)
_OURS = frozenset(name for name, _value in _DEFAULT_RAW)


def policy_for(path: str) -> str:
    """The Content-Security-Policy for a request path."""
    return REDOC_POLICY if path == REDOC_PATH else CONTENT_SECURITY_POLICY


class SecurityHeaders:
    """Adds the security headers to every HTTP response, replacing any the app set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = _REDOC_RAW if scope.get("path", "") == REDOC_PATH else _DEFAULT_RAW

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # One pass over the raw list with the pairs encoded once: setting them one by
                # one through MutableHeaders rescanned the list for each (every response).
                kept = [
                    (name, value)
                    for name, value in message.get("headers") or ()
                    if name.lower() not in _OURS
                ]
                message["headers"] = kept + ours
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_patterns(hosts: Iterable[str]) -> list[str]:
    """Trusted host names as TrustedHostMiddleware compares them: lower case, ports cut,
    IPv6 literals in brackets (the Host header carries `[::1]:8000`)."""
    patterns: list[str] = []
    for raw in hosts:
        host = raw.strip().lower()
        if not host:
            continue
        if host.startswith("[") and "]" in host:
            host = host[: host.index("]") + 1]
        else:
            try:
                if ipaddress.ip_address(host).version == 6:
                    host = f"[{host}]"
            except ValueError:
                host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if host not in patterns:
            patterns.append(host)
    return patterns
