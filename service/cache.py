"""Small in-process caches for hot read paths."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from forecasts.question_views import data_version
from service.db import Database


class PageCache:
    """A small LRU of serialised pages, keyed by request and data fingerprint."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Any, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> str | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: Any, body: str) -> None:
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    async def page(self, db: Database, params: Any, build: Callable[[Connection], str]) -> str:
        """The page for `params`: the cached one while the data's fingerprint (the write
        counter, read in the same snapshot as the page) is unchanged, so any write is seen
        at once; else `build(conn)` in the thread pool, then cached."""
        if db.is_sqlite:
            # A cached page costs one one-row read of a local file, done here on the event
            # loop: the hop to a worker thread and back cost more than the read
            # (bench/api.py). On PostgreSQL that read is a round trip, which must not hold
            # up the loop.
            with db.read() as conn:
                body = self.get((params, data_version(conn)))
            if body is not None:
                return body
        return await run_in_threadpool(self._read_or_build, db, params, build)

    def _read_or_build(self, db: Database, params: Any, build: Callable[[Connection], str]) -> str:
        with db.read() as conn:
            key = (params, data_version(conn))
            body = self.get(key)
            if body is None:
                body = build(conn)
        self.put(key, body)
        return body
