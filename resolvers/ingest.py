"""From what an adapter read to stored rows: plain text, UTC dates, one row per story.

Adapters turn bytes into `RawItem`s; `normalise_items` applies the rules every source
shares; `store_items` inserts what is new, once, however many cycles race or re-run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from html.parser import HTMLParser

from sqlalchemy import Connection
from sqlalchemy.sql.dml import Insert

from forecasts.models import utcnow
from forecasts.tables import news_t
from resolvers.items import NewsItemIn, chunks, dedup_key
from resolvers.suggestion_store import insert_ignoring_conflict_statement

TITLE_MAX_CHARS = 1000
SUMMARY_MAX_CHARS = 4000
LINK_MAX_CHARS = 4096
FUTURE_TOLERANCE = timedelta(days=1)
INSERT_CHUNK_ROWS = 500

# Control characters other than whitespace: PostgreSQL refuses NUL in text, and none of
# them belong in a headline.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ContentError(Exception):
    """What a source sent cannot be used: not a feed, not JSON, an API's error message.

    `query_only` marks an error about one per-question query (a query the API refuses),
    as opposed to the source as a whole (garbage, rate limit), which the cycle backs off.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        query_only: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds
        self.query_only = query_only


@dataclass(frozen=True)
class RawItem:
    """An item as an adapter read it: plain text, maybe undated, not yet checked."""

    title: str
    summary: str
    link: str
    published_at: datetime | None  # aware; None when the source gave no usable date
    key: str | None = None  # a stable key of the source's own, replacing the link-based one
    guid: str | None = None  # the feed's own id of the item (RSS guid, Atom id), if any


class _TextExtractor(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "template", "noscript"})
    _BREAKS = frozenset(
        {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "blockquote", "hr"}
        | {"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "figure", "figcaption"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    if "<" not in html and "&" not in html:
        return clean_text(html)
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return clean_text("".join(extractor.parts))


def clean_text(text: str) -> str:
    """Plain text on one line: control characters dropped, runs of whitespace made one space."""
    return " ".join(_CONTROL.sub("", text).split())


def normalise_items(
    raw_items: Iterable[RawItem],
    *,
    source_name: str,
    now: datetime,
    max_items: int | None = None,
) -> tuple[list[NewsItemIn], dict[str, int]]:
    """Apply the rules every source shares; return the items and counts of what was set aside.

    An item without a usable date keeps its date unknown (None), never `now`: it may be
    years old (the cycle decides whether it can ever count, resolvers.cycle). An item dated
    more than a day after `now` is dropped (a clock or feed error, not news). An item without
    title and summary, or with an absurdly long link, is dropped. The same story twice in
    one batch (same dedup key) is kept once. Past `max_items`, the newest are kept (undated
    ones last) and counts["cut"] says how many were left out.
    """
    kept: dict[str, NewsItemIn] = {}
    counts = {"undated": 0, "dropped_future": 0, "dropped_empty": 0, "duplicates": 0, "cut": 0}
    for raw in raw_items:
        title = clean_text(raw.title)[:TITLE_MAX_CHARS]
        summary = clean_text(raw.summary)[:SUMMARY_MAX_CHARS]
        link = _CONTROL.sub("", raw.link).strip()
        if not title:
            title = summary[:200]
        if not title or len(link) > LINK_MAX_CHARS:
            counts["dropped_empty"] += 1
            continue
        published_at = raw.published_at
        if published_at is None:
            counts["undated"] += 1
        else:
            published_at = published_at.astimezone(UTC)
            if published_at > now + FUTURE_TOLERANCE:
                counts["dropped_future"] += 1
                continue
        guid = _CONTROL.sub("", raw.guid or "").strip()[:LINK_MAX_CHARS] or None
        key = raw.key or dedup_key(link, title, published_at, guid=guid)
        if key in kept:
            counts["duplicates"] += 1
            continue
        kept[key] = NewsItemIn(
            title=title,
            summary=summary,
            link=link,
            published_at=published_at,
            source_name=source_name,
            dedup_key=key,
        )
    items = list(kept.values())
    if max_items is not None and len(items) > max_items:
        # Newest first; a stable sort keeps the feed's own order among equal dates.
        oldest = datetime.min.replace(tzinfo=UTC)
        items.sort(key=lambda i: i.published_at or oldest, reverse=True)
        counts["cut"] = len(items) - max_items
        items = items[:max_items]
    return items, counts


def store_items(
    conn: Connection,
    source_id: int | None,
    items: list[NewsItemIn],
    *,
    first_poll: bool = False,
) -> list[int]:
    """Insert the items not stored yet (by dedup_key) as unmatched; return the new rows' ids.

    `first_poll` marks items that came with their source's first poll: an undated one of
    those is never evidence, since nothing tells when it was published.
    INSERT … ON CONFLICT (dedup_key) DO NOTHING lets the database decide, so two cycles
    storing the same item at once, or a cycle re-run after dying, store it once.
    """
    fetched_at = utcnow()
    rows: dict[str, dict[str, object]] = {}
    for item in items:
        rows.setdefault(
            item.dedup_key,
            {
                "dedup_key": item.dedup_key,
                "source_id": source_id,
                "source_name": item.source_name[:200],
                "title": _CONTROL.sub("", item.title),
                "summary": _CONTROL.sub("", item.summary),
                "link": _CONTROL.sub("", item.link),
                "published_at": item.published_at,
                "fetched_at": fetched_at,
                "first_poll": first_poll,
                "matched": False,
            },
        )
    statement = _insert_new(conn.dialect.name)  # ValueError for other databases
    new_ids: list[int] = []
    for batch in chunks(list(rows.values()), INSERT_CHUNK_ROWS):
        # One cached statement run over a list of rows (SQLAlchemy's "insertmanyvalues"):
        # building a fresh multi-VALUES statement per batch cost three times as much.
        new_ids.extend(conn.execute(statement, batch).scalars())
    return sorted(new_ids)


@cache
def _insert_new(dialect: str) -> Insert:
    return insert_ignoring_conflict_statement(
        dialect, news_t, index_elements=["dedup_key"], returning=[news_t.c.id]
    )
