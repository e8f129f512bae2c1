"""RSS 0.9x/1.0/2.0 and Atom feeds: screen the body, then let feedparser read it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from resolvers.ingest import ContentError, RawItem, clean_text, html_to_text

# feedparser defuses billion laughs but expands a single large entity referenced many
# times (the quadratic blowup), and its strict parser hands any internal DTD to expat. A
# news feed has no use for entity declarations, so any document that declares one is
# refused before parsing, as defusedxml does with forbid_entities.
_ENTITY_DECLARATION = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


@dataclass
class ParsedFeed:
    items: list[RawItem]
    notes: list[str] = field(default_factory=list)


def parse_feed(body: bytes, *, content_type: str | None = None, location: str = "") -> ParsedFeed:
    """Read a feed body into raw items; raise ContentError if it is no usable feed.

    `content_type` is the HTTP Content-Type (its charset counts, as feedparser applies
    RFC 3023); `location` is the feed's URL, against which relative links are resolved.
    """
    conversion: dict[str, Any] = {}
    headers = {"content-type": content_type} if content_type else {}
    # Screen exactly what the parser will read: feedparser first converts any encoding it
    # detects (UTF-16, UTF-32, EBCDIC, a declared legacy charset) to UTF-8. The raw body,
    # with NULs removed, is screened too, for a body no encoding fits.
    data = convert_to_utf8(headers, body, conversion)
    if _ENTITY_DECLARATION.search(data) or _ENTITY_DECLARATION.search(body.replace(b"\0", b"")):
        raise ContentError(
            "refused: the feed declares XML entities (<!ENTITY …>), which can expand "
            "into an XML bomb"
        )
    # A BytesIO, not bytes: feedparser fetches a URL or opens a path given as a string.
    # The data is UTF-8 now, and says so in its XML declaration; the original media type
    # was judged above.
    converted_headers = {"content-type": "application/xml; charset=utf-8"}
    if location:
        converted_headers["content-location"] = location
    parsed = feedparser.parse(io.BytesIO(data), response_headers=converted_headers)
    entries = parsed.get("entries") or []
    if parsed.get("bozo") and not entries:
        raise ContentError(f"malformed feed: {_reason(parsed.get('bozo_exception'))}")
    if not entries and not parsed.get("version"):
        served_as = f" (served as {content_type})" if content_type else ""
        raise ContentError(f"not an RSS or Atom feed{served_as}")
    notes: list[str] = []
    if conversion.get("bozo"):
        notes.append(f"encoding: {_reason(conversion.get('bozo_exception'))}")
    if parsed.get("bozo"):
        notes.append(
            "not well-formed XML, entries read leniently: " + _reason(parsed.get("bozo_exception"))
        )
    return ParsedFeed(items=[_raw_item(entry) for entry in entries], notes=notes)


def _raw_item(entry: Any) -> RawItem:
    title = str(entry.get("title") or "")
    if (entry.get("title_detail") or {}).get("type", "text/plain") != "text/plain":
        title = html_to_text(title)
    summary = str(entry.get("summary") or "")
    summary_type = (entry.get("summary_detail") or {}).get("type", "text/html")
    if not summary and entry.get("content"):
        summary = str(entry["content"][0].get("value") or "")
        summary_type = entry["content"][0].get("type", "text/html")
    summary = clean_text(summary) if summary_type == "text/plain" else html_to_text(summary)
    return RawItem(
        title=title,
        summary=summary,
        link=str(entry.get("link") or ""),
        published_at=_entry_time(entry),
    )


def _entry_time(entry: Any) -> datetime | None:
    """published, else updated, as feedparser parsed it (a UTC struct_time)."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        # tm_sec can be 60 or 61 (leap seconds), which datetime refuses.
        return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _reason(exc: object) -> str:
    text = str(exc or "unknown error")
    # expat's messages start with "<unknown>:line:column:"; keep the position, readably.
    match = re.match(r"<unknown>:(\d+):(\d+): (.*)", text, re.S)
    if match:
        text = f"{match.group(3)} (line {match.group(1)}, column {match.group(2)})"
    return " ".join(text.split())[:300]
