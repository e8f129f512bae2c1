"""How `forecasts serve` runs uvicorn: bounded against slow and greedy clients.

uvicorn closes an idle keep-alive connection after timeout_keep_alive and refuses work past
limit_concurrency with a 503, and h11 stops buffering an unfinished request line and headers
past h11_max_incomplete_event_size (400); but nothing in uvicorn limits how long a client may
take to send its headers, so a client trickling a byte every few seconds (slowloris) holds its
connection for ever. The h11 protocol here closes a connection that has not finished a
request's headers within serve_header_timeout_seconds of connecting, or of the previous
response. A reverse proxy in front (see the README's "Production") bounds clients too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.settings import Settings


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout_seconds: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_request():
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._in_request():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _in_request(self) -> bool:
        """Whether a request's headers are in and its response is not complete yet."""
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(
            self.header_timeout_seconds, self._header_timed_out
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._in_request() or self.transport.is_closing():
            return
        self.logger.debug("closing a connection that sent no complete request headers in time")
        self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutH11Protocol]:
    """The h11 protocol class with this header deadline."""
    return type(
        "HeaderTimeoutH11Protocol",
        (HeaderTimeoutH11Protocol,),
        {"header_timeout_seconds": float(seconds)},
    )


def uvicorn_config(
    app: Any, settings: Settings, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration `forecasts serve` runs the app with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # h11, not httptools even where it is installed: the header limits apply to h11.
        http=header_timeout_protocol(settings.serve_header_timeout_seconds),
        timeout_keep_alive=settings.serve_timeout_keep_alive_seconds,
        limit_concurrency=settings.serve_limit_concurrency,
        h11_max_incomplete_event_size=settings.serve_max_header_bytes,
        # No "server: uvicorn" header telling a scanner what to try.
        server_header=False,
    )
