"""Request guards that run before routing: body size and NUL bytes in the URL; and the count of
requests in flight that background work gives way to (service.foreground)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.foreground import serving_request


class _TooLarge(HTTPException):
    # An HTTPException, so FastAPI's body reader passes it on instead of turning it into 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


# Bodies that carry a whole document get room beyond the request limit, so that the route's
# own limit on the document answers, naming the field (POST /api/drafts: `text` of at most
# 1 MiB, forecasts.drafts.MAX_TEXT_BYTES), and not this guard: JSON escaping can make the
# body several times the size of the text it carries.
DOCUMENT_BODY_BYTES = {"/api/drafts": 4 * 1024 * 1024}


class RequestGuard:
    """413 for bodies over the limit (declared or streamed); 422 for NUL in the path or query."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await _reply(send, 422, "NUL characters are not allowed in the URL")
            return
        limit = max(self.max_body_bytes, DOCUMENT_BODY_BYTES.get(scope.get("path", ""), 0))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, f"request body over {limit} bytes")
            return
        with serving_request():
            await self._guarded(scope, receive, send, limit, declared)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, declared: bytes | None
    ) -> None:
        if declared is not None and declared.isdigit():
            # h11 delivers exactly the declared length and no more (anything after it is
            # the next request), so a body within its declared limit needs no counting.
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reply(send, 413, f"request body over {limit} bytes")


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
