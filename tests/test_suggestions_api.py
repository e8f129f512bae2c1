"""The suggestions API and POST /api/poll, as API.md describes them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from forecasts.models import utcnow
from forecasts.tables import suggestions_t
from service.auth import create_token
from service.db import Database
from tests.conftest import ADMIN, TEST_ARCHIVE_DIR

pytestmark = pytest.mark.freeze_time("2016-06-01T12:00:00Z", real_asyncio=True)

ARCHIVE = {
    "items": [
        {
            "key": "ordered",
            "published_at": "2016-03-14T12:00:00Z",
            "title": "Putin orders Russia's main force to withdraw from Syria",
            "summary": "Russia withdraws most of its aircraft from Syria from 15 March.",
            "link": "https://en.wikipedia.org/wiki/Russian_military_intervention_in_Syria",
        },
        {
            "key": "jets",
            "published_at": "2016-03-15T09:30:00Z",
            "title": "Russian jets leave Syria as Russia withdraws its bombers",
            "summary": "The first group of aircraft landed in Russia.",
            "link": "https://wire.example/2016/03/15/jets?utm_source=rss&id=7",
        },
        {
            "key": "plans",
            "published_at": "2016-03-20T12:00:00Z",
            "title": "Russia plans to withdraw more troops from Syria",
            "summary": "",
            "link": "https://wire.example/plans",
        },
    ]
}
WITHDRAWAL = {
    "title": "Will Russia withdraw its forces from Syria before May 2016?",
    "resolution_criteria": "An announced and reported withdrawal of Russian forces from Syria.",
    "opened_on": "2015-11-01",
    "resolve_by": "2016-04-30",
    "news_query": "Russia (withdraw OR withdraws OR withdrew) Syria",
}
TREATY = {
    "title": "Will Iran and Russia sign an alliance treaty before May 2016?",
    "resolution_criteria": "A signed bilateral treaty.",
    "opened_on": "2015-11-01",
    "resolve_by": "2016-04-30",
    "news_query": "Iran Russia treaty (sign OR signed)",
}


@pytest.fixture
def polled(client: TestClient, tmp_path: Path) -> dict[str, int]:
    """Two questions past their deadline, the archive polled once: the withdrawal question
    has news for YES and a deadline suggestion for NO; the treaty question only the deadline."""
    path = TEST_ARCHIVE_DIR / f"archive-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(ARCHIVE), encoding="utf-8")
    created = client.post(
        "/api/sources",
        json={"name": "archive", "kind": "archive", "url": path.name},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    ids = {}
    for name, body in (("withdrawal", WITHDRAWAL), ("treaty", TREATY)):
        response = client.post("/api/questions", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    report = client.post("/api/poll", json={"force": True}, headers=ADMIN)
    assert report.status_code == 200, report.text
    assert report.json() == {
        "sources_polled": 1,
        "new_items": 3,
        "suggestions_created": 3,
        "errors": [],
    }
    return ids


def pending(client: TestClient, **params: Any) -> list[dict]:
    response = client.get("/api/suggestions", params={"status": "pending", **params})
    assert response.status_code == 200
    return response.json()["items"]


def by_resolver(items: list[dict], resolver: str) -> dict:
    [found] = [s for s in items if s["resolver"] == resolver]
    return found


def test_pending_are_listed_most_confident_first(client: TestClient, polled: dict):
    page = client.get("/api/suggestions", params={"status": "pending"}).json()
    assert page["total"] == 3
    confidences = [s["confidence"] for s in page["items"]]
    assert confidences == sorted(confidences, reverse=True)
    news = page["items"][0]
    assert news["resolver"] == "news-match" and news["outcome"] == "yes"
    assert news["question_id"] == polled["withdrawal"]
    for field in (
        "id",
        "question_id",
        "outcome",
        "confidence",
        "resolver",
        "rationale",
        "evidence",
        "status",
        "created_at",
        "reviewed_at",
        "reviewed_by",
        "review_note",
    ):
        assert field in news
    assert [e["url"] for e in news["evidence"]] == [
        ARCHIVE["items"][0]["link"],
        ARCHIVE["items"][1]["link"],
    ]
    first = news["evidence"][0]
    assert set(first) >= {"title", "url", "published_at", "source", "snippet"}
    assert first["published_at"] == "2016-03-14T12:00:00Z" and first["source"] == "archive"
    # For that question the news outranks the deadline's default.
    mine = pending(client, question_id=polled["withdrawal"])
    assert [s["resolver"] for s in mine] == ["news-match", "deadline"]
    only_treaty = pending(client, question_id=polled["treaty"])
    assert [(s["resolver"], s["outcome"]) for s in only_treaty] == [("deadline", "no")]


def test_accept_resolves_on_the_first_evidence_day_and_supersedes(client: TestClient, polled: dict):
    news = by_resolver(pending(client, question_id=polled["withdrawal"]), "news-match")
    response = client.post(
        f"/api/suggestions/{news['id']}/accept", json={"note": "two reports agree"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    question = response.json()
    assert question["id"] == polled["withdrawal"]
    assert question["status"] == "resolved" and question["outcome"] == "yes"
    assert question["resolved_on"] == "2016-03-14"
    assert question["resolution_note"] == "two reports agree"
    assert ARCHIVE["items"][0]["link"] in question["evidence_urls"]
    accepted = client.get(f"/api/suggestions/{news['id']}").json()
    assert accepted["status"] == "accepted" and accepted["reviewed_by"] == "admin"
    assert accepted["review_note"] == "two reports agree" and accepted["reviewed_at"]
    others = client.get(
        "/api/suggestions", params={"question_id": polled["withdrawal"], "status": "superseded"}
    ).json()["items"]
    assert [s["resolver"] for s in others] == ["deadline"]
    # The other question's suggestion is untouched.
    assert len(pending(client)) == 1


def test_accepting_a_deadline_suggestion_resolves_on_resolve_by(client: TestClient, polled: dict):
    [deadline] = pending(client, question_id=polled["treaty"])
    response = client.post(f"/api/suggestions/{deadline['id']}/accept", headers=ADMIN)
    assert response.status_code == 200, response.text
    question = response.json()
    assert question["outcome"] == "no" and question["resolved_on"] == "2016-04-30"
    assert "deadline" in question["resolution_note"]


def test_reject_keeps_the_same_evidence_from_coming_back(client: TestClient, polled: dict):
    news = by_resolver(pending(client, question_id=polled["withdrawal"]), "news-match")
    response = client.post(
        f"/api/suggestions/{news['id']}/reject", json={"note": "wrong war"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "rejected" and body["review_note"] == "wrong war"
    assert body["reviewed_by"] == "admin"
    again = client.post("/api/poll", json={"force": True}, headers=ADMIN).json()
    assert again["suggestions_created"] == 0
    assert [s["resolver"] for s in pending(client, question_id=polled["withdrawal"])] == [
        "deadline"
    ]
    # With the news rejected, the deadline's default is back at full confidence.
    [deadline] = pending(client, question_id=polled["withdrawal"])
    assert deadline["confidence"] == pytest.approx(0.6)


def test_reviews_conflict_once_decided(client: TestClient, polled: dict):
    news = by_resolver(pending(client, question_id=polled["withdrawal"]), "news-match")
    deadline = by_resolver(pending(client, question_id=polled["withdrawal"]), "deadline")
    assert client.post(f"/api/suggestions/{news['id']}/accept", headers=ADMIN).status_code == 200
    for action in ("accept", "reject"):
        for sid in (news["id"], deadline["id"]):
            response = client.post(f"/api/suggestions/{sid}/{action}", headers=ADMIN)
            assert response.status_code == 409, response.text
            assert "detail" in response.json()


def test_a_question_resolved_directly_cannot_take_a_suggestion(client: TestClient, polled: dict):
    [deadline] = pending(client, question_id=polled["treaty"])
    resolved = client.post(
        f"/api/questions/{polled['treaty']}/resolve", json={"outcome": "yes"}, headers=ADMIN
    )
    assert resolved.status_code == 200
    response = client.post(f"/api/suggestions/{deadline['id']}/accept", headers=ADMIN)
    assert response.status_code == 409
    # Either the question is named as resolved, or the suggestion as superseded by that.
    assert re.search(r"already resolved|superseded", response.json()["detail"])
    question = client.get(f"/api/questions/{polled['treaty']}").json()
    assert question["outcome"] == "yes"


def test_unknown_and_invalid_ids(client: TestClient, polled: dict):
    assert client.post("/api/suggestions/999999/accept", headers=ADMIN).status_code == 404
    assert client.post("/api/suggestions/999999/reject", headers=ADMIN).status_code == 404
    assert client.get("/api/suggestions/999999").status_code == 404
    assert client.post("/api/suggestions/0/accept", headers=ADMIN).status_code == 422
    assert client.post("/api/suggestions/2147483648/accept", headers=ADMIN).status_code == 422
    assert client.get("/api/suggestions", params={"status": "maybe"}).status_code == 422
    assert client.get("/api/suggestions", params={"limit": 1001}).status_code == 422


def test_review_bodies_are_strict(client: TestClient, polled: dict):
    [deadline] = pending(client, question_id=polled["treaty"])
    url = f"/api/suggestions/{deadline['id']}/reject"
    assert client.post(url, json={"note": 5}, headers=ADMIN).status_code == 422
    assert client.post(url, json={"nope": "x"}, headers=ADMIN).status_code == 422
    assert client.post(url, json={"note": "a\u0000b"}, headers=ADMIN).status_code == 422
    assert pending(client, question_id=polled["treaty"])  # nothing half-done


def test_scopes(client: TestClient, db: Database, polled: dict):
    [deadline] = pending(client, question_id=polled["treaty"])
    url = f"/api/suggestions/{deadline['id']}/reject"
    assert client.post(url).status_code == 401
    forecaster = {"Authorization": f"Bearer {create_token(db, 'f', ['forecast'])[1]}"}
    reviewer = {"Authorization": f"Bearer {create_token(db, 'r', ['review'])[1]}"}
    assert client.post(url, headers=forecaster).status_code == 403
    assert client.post("/api/poll", headers=reviewer).status_code == 403
    response = client.post(url, headers=reviewer)
    assert response.status_code == 200 and response.json()["reviewed_by"] == "r"


def test_poll_body_is_optional_and_strict(client: TestClient, polled: dict):
    response = client.post("/api/poll", headers=ADMIN)
    assert response.status_code == 200
    # The archive was polled a moment ago, so it is not due.
    assert response.json() == {
        "sources_polled": 0,
        "new_items": 0,
        "suggestions_created": 0,
        "errors": [],
    }
    for bad in ({"force": "yes"}, {"force": 1}, {"force": True, "extra": 1}):
        assert client.post("/api/poll", json=bad, headers=ADMIN).status_code == 422


def test_accepting_an_annulment_annuls_the_question(client: TestClient, db: Database, polled):
    now = utcnow()
    with db.write() as conn:
        sid = conn.execute(
            insert(suggestions_t)
            .values(
                question_id=polled["treaty"],
                outcome="annulled",
                confidence=0.9,
                resolver="manual-test",
                rationale="The premise failed.",
                evidence=[],
                status="pending",
                created_at=now,
                updated_at=now,
            )
            .returning(suggestions_t.c.id)
        ).scalar_one()
    response = client.post(f"/api/suggestions/{sid}/accept", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "annulled" and response.json()["outcome"] is None
