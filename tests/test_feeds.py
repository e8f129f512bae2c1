"""The Atom feeds (API.md "Feeds"): valid Atom that feedparser reads without complaint
(bozo 0), newest first, one entry per pending suggestion or resolution, linked from the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import update

from forecasts.tables import suggestions_t
from service.db import Database
from tests.conftest import ADMIN
from tests.test_review_page import add_question, add_suggestion


def _feed(client: TestClient, path: str) -> feedparser.FeedParserDict:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_review_feed_lists_pending_suggestions_newest_first(
    client: TestClient, db: Database
) -> None:
    question = add_question(client, "Will the review feed list suggestions?")
    older = add_suggestion(db, question, "yes", 0.7, rationale="Older <evidence> & more")
    newer = add_suggestion(db, question, "no", 0.4, resolver="deadline")
    rejected = add_suggestion(db, question, "yes", 0.2, status="rejected")
    with db.write() as conn:
        conn.execute(
            update(suggestions_t)
            .where(suggestions_t.c.id == newer)
            .values(created_at=datetime(2020, 3, 6, tzinfo=UTC) + timedelta(hours=1))
        )
    feed = _feed(client, "/feeds/review.atom")
    links = [entry.link for entry in feed.entries]
    assert links == [
        f"http://testserver/review#suggestion-{newer}",
        f"http://testserver/review#suggestion-{older}",
    ]
    assert all(f"#suggestion-{rejected}" not in link for link in links)
    assert "Resolve NO" in feed.entries[0].title
    assert feed.entries[1].summary == "Older <evidence> & more"


def test_resolutions_feed_lists_resolved_and_annulled(client: TestClient) -> None:
    first = add_question(client, "Will the first question be resolved?")
    second = add_question(client, "Will the second question be annulled?")
    add_question(client, "Will the open question stay out of the feed?")
    assert (
        client.post(
            f"/api/questions/{first}/resolve",
            json={"outcome": "yes", "resolved_on": "2020-06-01", "note": "it happened"},
            headers=ADMIN,
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/questions/{second}/resolve", json={"outcome": "annulled"}, headers=ADMIN
        ).status_code
        == 200
    )
    feed = _feed(client, "/feeds/resolutions.atom")
    assert [e.link for e in feed.entries] == [
        f"http://testserver/questions/{second}",
        f"http://testserver/questions/{first}",
    ]
    assert feed.entries[0].title.startswith("Annulled:")
    assert feed.entries[1].title.startswith("Resolved YES:")


def test_empty_feeds_are_valid_and_the_pages_link_them(client: TestClient) -> None:
    assert _feed(client, "/feeds/review.atom").entries == []
    assert _feed(client, "/feeds/resolutions.atom").entries == []
    page = client.get("/").text
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert 'href="/feeds/review.atom"' in page and 'href="/feeds/resolutions.atom"' in page
