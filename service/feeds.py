"""Atom feeds (API.md "Feeds"): the review queue and the resolutions, newest first, so a
reviewer's feed reader says when there is something to look at. Open like other reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from fastapi import APIRouter, Request, Response
from feedgen.feed import FeedGenerator
from sqlalchemy import select

from forecasts.tables import questions_t, suggestions_t

router = APIRouter(include_in_schema=False)

ATOM = "application/atom+xml"
LIMIT = 100
# XML 1.0 cannot carry these; feed text is outside input (titles, rationales).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value or ""))


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _base(request: Request) -> str:
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _feed(request: Request, path: str, title: str, subtitle: str) -> FeedGenerator:
    base = _base(request)
    feed = FeedGenerator()
    feed.id(base + path)
    feed.title(title)
    feed.subtitle(subtitle)
    feed.author({"name": "Forecasts"})
    feed.link(href=base + path, rel="self", type=ATOM)
    feed.link(href=base + "/", rel="alternate", type="text/html")
    feed.language("en")
    return feed


def _answer(feed: FeedGenerator, newest: datetime | None) -> Response:
    feed.updated(newest or datetime(2000, 1, 1, tzinfo=UTC))
    return Response(feed.atom_str(pretty=True), media_type=ATOM)


@router.get("/feeds/review.atom")
def review_feed(request: Request) -> Response:
    """Pending suggestions, newest first."""
    base = _base(request)
    with request.app.state.db.read() as conn:
        rows = conn.execute(
            select(suggestions_t, questions_t.c.title.label("question_title"))
            .join(questions_t, questions_t.c.id == suggestions_t.c.question_id)
            .where(suggestions_t.c.status == "pending")
            .order_by(suggestions_t.c.created_at.desc(), suggestions_t.c.id.desc())
            .limit(LIMIT)
        ).all()
    feed = _feed(
        request, "/feeds/review.atom", "Forecasts: review queue", "Pending suggestions to review"
    )
    # feedgen prepends each entry, so the rows go in oldest first to come out newest first.
    for row in reversed(rows):
        entry = feed.add_entry()
        link = f"{base}/review#suggestion-{row.id}"
        entry.id(f"{base}/suggestions/{row.id}")
        entry.title(
            _text(f"Resolve {row.outcome.upper()} ({row.confidence:.0%}): {row.question_title}")
        )
        entry.link(href=link, rel="alternate", type="text/html")
        entry.updated(_aware(row.created_at))
        entry.published(_aware(row.created_at))
        entry.summary(_text(row.rationale))
    return _answer(feed, _aware(rows[0].created_at) if rows else None)


@router.get("/feeds/resolutions.atom")
def resolutions_feed(request: Request) -> Response:
    """Resolved and annulled questions, newest first."""
    base = _base(request)
    with request.app.state.db.read() as conn:
        rows = conn.execute(
            select(
                questions_t.c.id,
                questions_t.c.title,
                questions_t.c.status,
                questions_t.c.outcome,
                questions_t.c.resolved_on,
                questions_t.c.resolution_note,
                questions_t.c.updated_at,
            )
            .where(questions_t.c.status.in_(("resolved", "annulled")))
            .order_by(questions_t.c.updated_at.desc(), questions_t.c.id.desc())
            .limit(LIMIT)
        ).all()
    feed = _feed(
        request,
        "/feeds/resolutions.atom",
        "Forecasts: resolutions",
        "Questions resolved or annulled",
    )
    for row in reversed(rows):
        entry = feed.add_entry()
        what = "Annulled" if row.status == "annulled" else f"Resolved {(row.outcome or '').upper()}"
        entry.id(f"{base}/questions/{row.id}#resolution-{_aware(row.updated_at).isoformat()}")
        entry.title(_text(f"{what}: {row.title}"))
        entry.link(href=f"{base}/questions/{row.id}", rel="alternate", type="text/html")
        entry.updated(_aware(row.updated_at))
        if row.resolved_on:
            entry.published(datetime.combine(row.resolved_on, time(), tzinfo=UTC))
        entry.summary(_text(row.resolution_note or f"{what} on {row.resolved_on}"))
    return _answer(feed, _aware(rows[0].updated_at) if rows else None)
