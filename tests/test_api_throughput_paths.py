"""The fast paths of the write and read API answer exactly what a read gives, and cached
token lookups never outlive a revocation, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from forecasts.identity import Principal
from service.app import create_app
from service.db import Database
from tests.conftest import ADMIN, make_settings

QUESTION = {
    "title": "Will the tram line open before the end of the year?",
    "resolution_criteria": "YES if the operator runs a timetabled service on it.",
    "opened_on": "2025-01-01",
    "resolve_by": "2030-12-31",
    "tags": ["transport", "city", "transport"],
}


def _token(client: TestClient, *scopes: str) -> dict[str, str]:
    made = client.post("/api/tokens", json={"name": "desk", "scopes": list(scopes)}, headers=ADMIN)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}", "id": str(made.json()["id"])}


def test_a_created_question_and_forecast_answer_what_a_read_gives(client: TestClient) -> None:
    made = client.post(
        "/api/questions",
        json={
            **QUESTION,
            "source": {"publisher": "City Paper", "published_on": "2025-01-01"},
            "forecast": {"forecaster": "  Ann  Lee ", "estimate": "likely", "rationale": "funded"},
        },
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    question = made.json()
    assert question["tags"] == ["transport", "city"]
    assert client.get(f"/api/questions/{question['id']}").json() == question

    # A later forecast under another spelling is filed under the first one's name.
    added = client.post(
        f"/api/questions/{question['id']}/forecasts",
        json={"forecaster": "ann lee", "probability": 0.25, "made_on": "2025-03-01"},
        headers=ADMIN,
    )
    assert added.status_code == 201, added.text
    forecast = added.json()
    assert forecast["forecaster"] == "Ann Lee" and forecast["question_id"] == question["id"]
    read = client.get(f"/api/questions/{question['id']}").json()
    [stored] = [f for f in read["forecasts"] if f["id"] == forecast["id"]]
    assert {**stored, "question_id": question["id"]} == forecast
    assert read["updated_at"] >= question["updated_at"]


def test_a_revoked_token_is_refused_on_its_next_request(client: TestClient) -> None:
    desk = _token(client, "forecast")
    headers = {"Authorization": desk["Authorization"]}
    # Used twice, so the second admission comes from the lookup cache.
    for _ in range(2):
        made = client.post("/api/questions", json=QUESTION, headers=headers)
        assert made.status_code == 201, made.text
    assert client.delete(f"/api/tokens/{desk['id']}", headers=ADMIN).status_code == 200
    refused = client.post("/api/questions", json=QUESTION, headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_closed_reads_admit_a_cached_token_until_it_is_revoked(db: Database) -> None:
    settings = make_settings(db.url.render_as_string(hide_password=False), open_reads=False)
    with TestClient(create_app(settings, db)) as closed:
        desk = _token(closed, "forecast")
        headers = {"Authorization": desk["Authorization"]}
        assert closed.get("/api/questions", headers=headers).status_code == 200
        assert closed.get("/api/questions", headers=headers).status_code == 200
        unknown = closed.get("/api/questions", headers={"Authorization": "Bearer nope"})
        assert unknown.status_code == 401, "an unknown token is never admitted"
        assert closed.delete(f"/api/tokens/{desk['id']}", headers=ADMIN).status_code == 200
        assert closed.get("/api/questions", headers=headers).status_code == 401


def test_a_lookup_that_raced_a_revocation_is_not_remembered(db: Database) -> None:
    """A lookup that read the token just before a revocation cleared the cache must not put
    its stale answer back: the request after the revocation is refused."""
    settings = make_settings(db.url.render_as_string(hide_password=False))
    with TestClient(create_app(settings, db)) as http:
        desk = _token(http, "forecast")
        secret = desk["Authorization"].split(" ", 1)[1]
        book = http.app.state.tokens  # type: ignore[attr-defined]
        write = db.write

        def revoke_then_write():  # type: ignore[no-untyped-def]
            # The lookup has read the live token; the revocation lands before it caches.
            db.write = write  # type: ignore[method-assign]
            assert http.delete(f"/api/tokens/{desk['id']}", headers=ADMIN).status_code == 200
            return write()

        db.write = revoke_then_write  # type: ignore[method-assign]
        try:
            assert book.lookup(secret) == Principal("desk", frozenset({"forecast"}))
        finally:
            db.write = write  # type: ignore[method-assign]
        refused = http.post(
            "/api/questions", json=QUESTION, headers={"Authorization": f"Bearer {secret}"}
        )
        assert refused.status_code == 401
