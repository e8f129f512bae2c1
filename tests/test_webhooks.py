"""Webhooks: the API, the outbox read from the record, signed deliveries to a real receiver
on loopback (pytest-httpserver), a retry after a 500 with the same delivery_id, and the log."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from service.db import Database
from service.settings import Settings
from service.webhooks import dispatch
from tests.conftest import ADMIN

SECRET = "a-shared-secret-for-tests"


def _question(client: TestClient) -> int:
    response = client.post(
        "/api/questions",
        json={
            "title": "Will the webhook test question resolve?",
            "resolution_criteria": "YES if it does.",
            "opened_on": "2020-01-01",
            "resolve_by": "2020-12-31",
            "forecast": {"forecaster": "ann", "probability": 0.6, "made_on": "2020-01-02"},
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _hook(client: TestClient, url: str, events: list[str]) -> int:
    response = client.post(
        "/api/webhooks", json={"url": url, "events": events, "secret": SECRET}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at"}
    return int(body["id"])


def test_webhook_crud_and_audit(client: TestClient) -> None:
    hook = _hook(client, "http://127.0.0.1:9/hook", ["question.resolved"])
    listed = client.get("/api/webhooks", headers=ADMIN).json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert client.get("/api/webhooks").status_code == 401
    bad = client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1/x", "events": ["nope"], "secret": SECRET},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert client.delete(f"/api/webhooks/{hook}", headers=ADMIN).status_code == 200
    assert client.delete(f"/api/webhooks/{hook}", headers=ADMIN).status_code == 404
    actions = [r["action"] for r in client.get("/api/audit", headers=ADMIN).json()["items"]]
    assert "webhook.create" in actions and "webhook.delete" in actions


def test_private_webhook_url_refused_by_the_guard(db: Database, settings: Settings) -> None:
    from service.app import create_app

    strict = settings.model_copy(update={"allow_private_sources": False})
    with TestClient(create_app(strict, db)) as client:
        response = client.post(
            "/api/webhooks",
            json={
                "url": "http://127.0.0.1:8000/x",
                "events": ["question.resolved"],
                "secret": SECRET,
            },
            headers=ADMIN,
        )
    assert response.status_code == 422
    assert "private" in response.text or "loopback" in response.text


def test_signed_delivery_retried_after_500(
    client: TestClient, db: Database, settings: Settings, httpserver: HTTPServer
) -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    answers = iter([500, 200])

    def receive(request: Request) -> Response:
        seen.append((request.get_data(), dict(request.headers)))
        return Response("ok", status=next(answers))

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    hook = _hook(client, httpserver.url_for("/hook"), ["question.resolved"])
    question = _question(client)
    resolved = client.post(
        f"/api/questions/{question}/resolve", json={"outcome": "yes"}, headers=ADMIN
    )
    assert resolved.status_code == 200
    fast = settings.model_copy(update={"webhook_backoff_seconds": 0.01})
    queued, delivered = dispatch(db, fast)
    assert (queued, delivered) == (1, 1)
    assert len(seen) == 2
    bodies = [json.loads(raw) for raw, _ in seen]
    for raw, headers in seen:
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Forecasts-Signature"] == expected
        assert headers["X-Forecasts-Event"] == "question.resolved"
    assert bodies[0]["delivery_id"] == bodies[1]["delivery_id"]
    first: dict[str, Any] = bodies[1]
    assert first["event"] == "question.resolved"
    assert first["question"]["id"] == question and first["suggestion"] is None
    assert "Resolved YES" in first["text"] and "\n" not in first["text"]
    assert {"sent_at", "delivery_id", "text", "question", "suggestion"} <= set(first)
    log = client.get(f"/api/webhooks/{hook}/deliveries", headers=ADMIN).json()
    assert log["total"] == 2
    assert [(i["attempt"], i["status_code"]) for i in log["items"]] == [(2, 200), (1, 500)]
    assert {i["delivery_id"] for i in log["items"]} == {first["delivery_id"]}
    # Nothing new: nothing is sent again.
    assert dispatch(db, fast) == (0, 0)


def test_suggestions_and_deadline_events(
    client: TestClient, db: Database, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    _hook(client, httpserver.url_for("/hook"), ["suggestion.created", "question.past_deadline"])
    question = _question(client)
    from tests.test_review_page import add_suggestion

    add_suggestion(db, question, "no", 0.8, resolver="deadline")
    add_suggestion(db, question, "yes", 0.4)
    queued, delivered = dispatch(db, settings)
    assert queued == delivered == 3
    events = [json.loads(r.get_data())["event"] for r, _ in httpserver.log]
    assert sorted(events) == ["question.past_deadline", "suggestion.created", "suggestion.created"]
    payload = json.loads(httpserver.log[0][0].get_data())
    assert payload["suggestion"]["question_id"] == question


def test_gives_up_after_the_attempts_on_5xx(
    client: TestClient, db: Database, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=503)
    hook = _hook(client, httpserver.url_for("/hook"), ["question.resolved"])
    question = _question(client)
    client.post(f"/api/questions/{question}/resolve", json={"outcome": "no"}, headers=ADMIN)
    fast = settings.model_copy(update={"webhook_backoff_seconds": 0.01, "webhook_attempts": 3})
    assert dispatch(db, fast) == (1, 0)
    log = client.get(f"/api/webhooks/{hook}/deliveries", headers=ADMIN).json()
    assert [i["attempt"] for i in log["items"]] == [3, 2, 1]
    assert all(i["status_code"] == 503 for i in log["items"])


def test_a_delivery_whose_sender_died_goes_again(
    client: TestClient,
    db: Database,
    settings: Settings,
    httpserver: HTTPServer,
    freezer: Any,
) -> None:
    """A sender killed between claiming a delivery and sending it leaves it 'sending'; once
    the claim's lease has passed, the next dispatch sends it (at least once, same id)."""
    from sqlalchemy import update

    from forecasts.tables import webhook_deliveries_t
    from service.webhooks import CLAIM_LEASE, enqueue

    freezer.move_to("2026-11-30T12:00:00Z")
    seen: list[dict[str, Any]] = []

    def receive(request: Request) -> Response:
        seen.append(json.loads(request.get_data()))
        return Response("ok", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    _hook(client, httpserver.url_for("/hook"), ["question.resolved"])
    question = _question(client)
    client.post(f"/api/questions/{question}/resolve", json={"outcome": "no"}, headers=ADMIN)
    assert enqueue(db, public_url=settings.public_url) == 1
    from forecasts.models import utcnow

    with db.write() as conn:  # what a sender killed mid-send leaves behind
        conn.execute(update(webhook_deliveries_t).values(state="sending", claimed_at=utcnow()))
    assert dispatch(db, settings) == (0, 0), "within the lease the claim still stands"
    freezer.tick(CLAIM_LEASE.total_seconds() + 1)
    assert dispatch(db, settings) == (0, 1)
    assert [body["event"] for body in seen] == ["question.resolved"]
