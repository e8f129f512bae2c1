"""GDELT DOC 2.0 API, artlist mode: one query per open question, JSON out.

https://api.gdeltproject.org/api/v2/doc/doc?query=…&mode=artlist&format=json&maxrecords=250
&startdatetime=YYYYMMDDHHMMSS&enddatetime=YYYYMMDDHHMMSS&sort=datedesc. The source's URL
is the API base, so a test can point it at loopback.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

from resolvers.ingest import ContentError, RawItem, clean_text
from resolvers.items import QuestionWindow

DEFAULT_EARLIEST = date(2017, 1, 1)  # DOC 2.0 searches coverage from January 2017 on
DEFAULT_MAX_RECORDS = 250  # the API's maximum
DEFAULT_MIN_INTERVAL_SECONDS = 5.0  # GDELT asks for at most one request every 5 seconds
RATE_LIMIT_RETRY_SECONDS = 5.0
MIN_WORD_CHARS = 3  # shorter keywords get "too short" back instead of articles

_PLAIN_WORD = re.compile(r"[^\W_]+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,;:.!?%)\]，：；？！。、])")
# After an opening bracket, and after full-width punctuation, which takes no space in CJK.
_SPACE_AFTER = re.compile(r"([(\[，：；？！。、])\s+")
_SPLIT_THOUSANDS = re.compile(r"(\d) , (\d{3})\b")


def build_query(clauses: list[list[str]]) -> str | None:
    """GDELT syntax for a query in conjunctive form (see resolvers.sources.query_clauses).

    GDELT ANDs words and "phrases", takes OR only inside parentheses, and excludes with a
    leading minus. A group that it cannot take (an excluded term inside an OR, a word too
    short for it) is left out, which only widens the search: the matcher applies the
    whole news_query to what comes back. None when nothing searchable is left.
    """
    parts: list[str] = []
    positive = False
    for clause in clauses:
        translated = [_term(token) for token in clause]
        terms = [term for term in translated if term is not None]
        if len(terms) != len(translated) or not terms:
            continue
        if len(terms) == 1:
            text, negated = terms[0]
            parts.append(("-" if negated else "") + text)
            positive = positive or not negated
        elif not any(negated for _, negated in terms):
            parts.append("(" + " OR ".join(text for text, _ in terms) + ")")
            positive = True
    return " ".join(parts) if positive else None


def _term(token: str) -> tuple[str, bool] | None:
    negated = token.startswith("-")
    body = token[1:] if negated else token
    if body.startswith('"'):
        words = body.strip('"').split()
        return ('"' + " ".join(words) + '"', negated) if words else None
    if len(body) < MIN_WORD_CHARS:
        return None
    # GDELT reads "name:value" as an operator and splits on punctuation; quoting a word
    # such as al-Assad keeps it one search term.
    return (body if _PLAIN_WORD.fullmatch(body) else f'"{body}"', negated)


def window_params(
    query: str,
    window: QuestionWindow,
    *,
    now: datetime,
    earliest: date = DEFAULT_EARLIEST,
    grace_days: int = 0,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> dict[str, str] | None:
    """The API parameters for one question's window; None if GDELT covers none of it.

    The window runs from opened_on (not before `earliest`) to resolve_by plus the grace
    days (late reports of events inside the window), and never past `now`.
    """
    start = datetime.combine(max(window.opened_on, earliest), time.min, tzinfo=UTC)
    last_day = window.resolve_by + timedelta(days=grace_days)
    end = min(datetime.combine(last_day, time(23, 59, 59), tzinfo=UTC), now.astimezone(UTC))
    if window.resolve_by < earliest or end <= start:
        return None
    return {
        "query": query,
        "mode": "artlist",
        "format": "json",
        "maxrecords": str(max_records),
        "startdatetime": start.strftime("%Y%m%d%H%M%S"),
        "enddatetime": end.strftime("%Y%m%d%H%M%S"),
        "sort": "datedesc",
    }


def is_rate_limit_notice(text: str) -> bool:
    return "limit requests" in text.lower()


def notice(body: bytes) -> str | None:
    """GDELT's plain-text notice in a body (not JSON, not an HTML page), if there is one."""
    text = body.decode("utf-8", "replace").strip()
    if not text or text.startswith(("{", "<")):
        return None
    return clean_text(text)[:500]


def parse_artlist(body: bytes) -> list[RawItem]:
    """Articles from an artlist JSON body; ContentError for GDELT's plain-text notices.

    GDELT answers a refused query or a throttled client with a line of plain text, at
    times with HTTP 200; that text becomes the error.
    """
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    if text.startswith("<"):
        raise ContentError(f"GDELT sent HTML instead of JSON: {clean_text(text)[:200]}")
    message = notice(body)
    if message is not None:
        if is_rate_limit_notice(message):
            raise ContentError(
                f"GDELT rate limit: {message}", retry_after_seconds=RATE_LIMIT_RETRY_SECONDS
            )
        raise ContentError(f"GDELT refused the query: {message}", query_only=True)
    try:
        # strict=False: GDELT titles at times carry raw control characters.
        data = json.loads(text, strict=False)
    except ValueError as exc:
        raise ContentError(f"GDELT sent invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError("GDELT sent JSON that is not an artlist object")
    articles = data.get("articles", [])  # a query with no matches gives {}
    if not isinstance(articles, list):
        raise ContentError("GDELT sent an artlist whose 'articles' is not a list")
    items: list[RawItem] = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        items.append(
            RawItem(
                title=tidy_title(str(article.get("title") or "")),
                summary="",
                link=str(article.get("url") or ""),
                published_at=_seen(article.get("seendate")),
            )
        )
    return items


def tidy_title(title: str) -> str:
    """Undo GDELT's tokenisation spaces: "Modi ; tariffs , 4 , 500 ?" → "Modi; tariffs, 4,500?"."""
    title = " ".join(title.split())
    title = _SPLIT_THOUSANDS.sub(r"\1,\2", title)
    title = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", title)
    return _SPACE_AFTER.sub(r"\1", title).strip()


def _seen(value: object) -> datetime | None:
    """seendate, e.g. 20260112T054500Z, in UTC."""
    try:
        return datetime.strptime(str(value), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
