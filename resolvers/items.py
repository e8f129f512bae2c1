"""What adapters produce and what the cycle consumes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection

# A cycle's pace (PollConfig.pace): called with the seconds a step took; may sleep.
Pace = Callable[[float], None]


class Store(Protocol):
    """The database as resolvers see it (service.db.Database fits)."""

    is_sqlite: bool

    def write(self) -> AbstractContextManager[Connection]: ...
    def read(self) -> AbstractContextManager[Connection]: ...


@dataclass(frozen=True)
class PollConfig:
    """The polling knobs, built by the service from its settings."""

    allow_private_sources: bool = False
    source_deadline_seconds: float = 30.0
    fetch_timeout_seconds: float = 10.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_retries: int = 2
    user_agent: str = "forecasts/0.1"
    grace_days: int = 7
    guardian_api_key: str | None = None
    # The folder archive sources may read besides the bundled seeds (None: seeds only).
    archive_dir: Path | None = None
    # Items kept from one fetch of one source (the newest); the cut is on its status.
    max_items_per_fetch: int = 1000
    # Called after each CPU-bound step of the cycle done in this process (storing a batch,
    # matching some items, recording their evidence) with the seconds it took; it may sleep
    # so that the process's other work goes first (service.foreground). None: full speed.
    pace: Pace | None = None


@dataclass(frozen=True)
class NewsItemIn:
    """One normalised item: published_at is aware UTC, or None when the source gave no
    usable date; dedup_key is stable across sources."""

    title: str
    summary: str
    link: str
    published_at: datetime | None
    source_name: str
    dedup_key: str


@dataclass(frozen=True)
class QuestionWindow:
    """What per-question sources (GDELT, Guardian) need to query for one open question."""

    question_id: int
    news_query: str
    opened_on: date
    resolve_by: date


@dataclass
class FetchOutcome:
    """What polling one source gave: its items, or why not, and what to remember for next time."""

    items: list[NewsItemIn] = field(default_factory=list)
    status: str = "ok"  # ok | not-modified | error
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after_seconds: float | None = None  # from a 429/503 Retry-After, for backoff
    extra: dict[str, Any] = field(default_factory=dict)
    # What the source's status adds to "ok" (a truncated body, items cut at the limit).
    status_note: str | None = None
    # SHA-256 of the body these items were read from (or found unchanged), to remember.
    body_sha256: str | None = None


ProgressCallback = Callable[[str, int, int], None]  # (what, done, total)


def dedup_key(
    link: str, title: str, published_at: datetime | None, *, guid: str | None = None
) -> str:
    """Stable key: the item's own id (RSS guid, Atom id) when it has one, else the
    normalised link, else title and day (title alone for an undated item, so it is stored
    once however often it is polled).

    A guid that is a URL is normalised like a link (so the same story from a feed that gives
    only its link is the same item); tracking parameters and fragments (the BBC's "#0",
    "#1" of one article) are dropped so they do not make it look new.
    """
    guid = (guid or "").strip()
    if guid and re.match(r"https?://", guid, re.I):
        basis = "link:" + _normalise_link(guid)
    elif guid:
        basis = "guid:" + guid
    elif normalised := _normalise_link(link):
        basis = "link:" + normalised
    else:
        day = published_at.date().isoformat() if published_at else ""
        basis = "title:" + re.sub(r"\s+", " ", title).strip().lower() + "|" + day
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def _normalise_link(link: str) -> str:
    link = link.strip()
    if not link:
        return ""
    link = link.split("#", 1)[0]
    base, _, query = link.partition("?")
    kept = [p for p in query.split("&") if p and not p.lower().startswith(("utm_", "at_"))]
    base = re.sub(r"^https?://", "", base, flags=re.I).lower().rstrip("/")
    return base + ("?" + "&".join(sorted(kept)) if kept else "")


def chunks(seq: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
