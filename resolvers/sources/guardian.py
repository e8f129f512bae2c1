"""The Guardian's content API search: one query per open question, JSON out.

GET <source url, e.g. https://content.guardianapis.com/search>?q=…&from-date=YYYY-MM-DD
&to-date=YYYY-MM-DD&page-size=…&order-by=newest&show-fields=trailText,standfirst&api-key=…
Only the first page is read: the newest `page_size` results of each window.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from resolvers.ingest import ContentError, RawItem, clean_text, html_to_text
from resolvers.items import QuestionWindow

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200  # the API's maximum
DEFAULT_MIN_INTERVAL_SECONDS = 1.0  # a developer key allows about one call a second


def build_query(clauses: list[list[str]]) -> str | None:
    """The Guardian's q syntax for a query in conjunctive form.

    The API ORs bare words, so every group is joined with an explicit AND; exclusions
    become NOT. None if no term would be required (only exclusions are left).
    """
    parts: list[str] = []
    positive = False
    for clause in clauses:
        translated = [_term(token) for token in clause]
        terms = [term for term in translated if term is not None]
        if len(terms) != len(translated) or not terms:
            continue
        parts.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
        positive = positive or not any(term.startswith("NOT ") for term in terms)
    return " AND ".join(parts) if positive else None


def _term(token: str) -> str | None:
    negated = token.startswith("-")
    body = token[1:] if negated else token
    if body.startswith('"'):
        words = body.strip('"').split()
        if not words:
            return None
        body = '"' + " ".join(words) + '"'
    elif body in ("AND", "OR", "NOT"):
        body = f'"{body}"'  # the word itself, not the operator
    return ("NOT " if negated else "") + body


def window_params(
    query: str,
    window: QuestionWindow,
    *,
    api_key: str,
    today: date,
    grace_days: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, str] | None:
    """The search parameters for one question's window; None if the window has not begun.

    The window runs from opened_on to resolve_by plus the grace days (late reports of
    events inside the window), and never past today.
    """
    to_date = min(window.resolve_by + timedelta(days=grace_days), today)
    if to_date < window.opened_on:
        return None
    return {
        "q": query,
        "from-date": window.opened_on.isoformat(),
        "to-date": to_date.isoformat(),
        "page-size": str(page_size),
        "order-by": "newest",
        "show-fields": "trailText,standfirst",
        "api-key": api_key,
    }


def parse_search(body: bytes) -> list[RawItem]:
    """Results of a search response (the 2012 shape and the current one alike).

    {"response": {"status": "error", "message": …}} raises ContentError with the message.
    """
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ContentError(f"the Guardian sent invalid JSON: {exc}") from exc
    response = data.get("response") if isinstance(data, dict) else None
    if not isinstance(response, dict):
        raise ContentError("the Guardian sent JSON without a 'response' object")
    status = response.get("status")
    if status == "error":
        message = clean_text(str(response.get("message") or "no message"))[:300]
        raise ContentError(f"the Guardian refused the query: {message}", query_only=True)
    if status != "ok":
        raise ContentError(f"the Guardian answered with status {status!r}")
    results = response.get("results", [])
    if not isinstance(results, list):
        raise ContentError("the Guardian sent 'results' that is not a list")
    return [_raw_item(result) for result in results if isinstance(result, dict)]


def describe_error_body(body: bytes) -> str | None:
    """The message inside a Guardian error body (its own shape, or its gateway's), if any."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    inner = data.get("response")
    message = inner.get("message") if isinstance(inner, dict) else data.get("message")
    return clean_text(str(message))[:300] if message else None


def _raw_item(result: dict[str, Any]) -> RawItem:
    fields = result.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    summary = str(fields.get("standfirst") or fields.get("trailText") or "")
    return RawItem(
        title=clean_text(str(result.get("webTitle") or "")),
        summary=html_to_text(summary),
        link=str(result.get("webUrl") or ""),
        published_at=_published(result.get("webPublicationDate")),
    )


def _published(value: object) -> datetime | None:
    """webPublicationDate, e.g. 2017-12-12T06:00:26Z; None if missing or without offset."""
    try:
        published = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return published if published.tzinfo is not None else None
