"""A web page as a draft's text: fetched through resolvers/fetch.py (its timeouts, size cap,
redirect handling and private-address guard), the main text and metadata taken out of the
HTML by trafilatura. Plain text is taken as it is; any other kind of body is refused."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date

import trafilatura

from forecasts.drafts import MAX_TEXT_BYTES
from forecasts.errors import InvalidInput
from resolvers.fetch import Fetcher, FetchError, redact_url
from resolvers.items import PollConfig

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_HTML_START = re.compile(rb"^\s*(?:<!doctype\s+html|<html[\s>])", re.I)


@dataclass(frozen=True)
class Document:
    """A fetched page's main text and what its metadata says about it (None where silent)."""

    url: str
    text: str
    title: str | None
    author: str | None
    publisher: str | None
    published_on: date | None


def _media_type(headers: dict[str, str], body: bytes) -> str:
    declared = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared:
        return declared
    # No Content-Type: a body that opens as an HTML document is taken as one.
    return "text/html" if _HTML_START.match(body[:512]) else ""


def _decode(body: bytes, content_type: str) -> str:
    found = _CHARSET.search(content_type)
    try:
        return body.decode(found.group(1) if found else "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def _day(value: str | None, today: date) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    # A page cannot have been published after today; a date that says so is wrong.
    return day if day <= today else None


def _clean(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    tidy = " ".join(value.split())
    return tidy[:limit].strip() or None


def extract_html(body: bytes, url: str, *, today: date) -> Document:
    """The main text and metadata of an HTML page (trafilatura); InvalidInput if none."""
    found = trafilatura.bare_extraction(
        body,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        # Only dates the page states about itself; no guessing from the text or today.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = getattr(found, "text", None) or ""
    if not text.strip():
        raise InvalidInput(
            f"no article text could be extracted from {redact_url(url)}", field="url"
        )
    return Document(
        url=url,
        text=text,
        title=_clean(getattr(found, "title", None), 500),
        author=_clean(getattr(found, "author", None), 200),
        publisher=_clean(getattr(found, "sitename", None), 200),
        published_on=_day(getattr(found, "date", None), today),
    )


async def fetch_document(url: str, config: PollConfig, *, today: date) -> Document:
    """Fetch `url` and take its text out. InvalidInput (field url) names why when the guard
    refuses the address, the server does not answer or fails, or the body is neither HTML
    nor plain text."""
    try:
        async with Fetcher(config) as fetcher:
            response = await fetcher.get(url)
    except FetchError as exc:
        raise InvalidInput(f"cannot fetch {redact_url(url)}: {exc.message}", field="url") from exc
    media_type = _media_type(response.headers, response.content)
    if media_type in HTML_TYPES:
        document = await asyncio.to_thread(extract_html, response.content, url, today=today)
    elif media_type in TEXT_TYPES:
        text = _decode(response.content, response.headers.get("content-type", ""))
        if not text.strip():
            raise InvalidInput(f"{redact_url(url)} answered with an empty text", field="url")
        document = Document(url, text, None, None, None, None)
    else:
        kind = media_type or "a body without a content type"
        raise InvalidInput(
            f"{redact_url(url)} answered with {kind}, not HTML or plain text", field="url"
        )
    if len(document.text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise InvalidInput(
            f"the text of {redact_url(url)} is over the limit of {MAX_TEXT_BYTES} bytes (1 MiB)",
            field="url",
        )
    return document
