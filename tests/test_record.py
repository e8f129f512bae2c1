"""An honest record, through the API on SQLite and PostgreSQL: who said what (identity, the
record scope, recorded_by), who may change what (ownership), undo (reopen), the append-only
audit log, receipts, tokens, and the lossless export and import."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.app import create_app
from service.auth import create_token
from service.db import Database
from service.transfer import export_json, import_json
from tests.conftest import ADMIN, make_settings, truncate_all
from tests.factories import QUESTION_DEFAULTS

QUESTION = {**QUESTION_DEFAULTS, "opened_on": "2020-01-01", "resolve_by": "2020-12-31"}
ARCHIVE = {"name": "Archive", "kind": "archive", "url": "package:seeds/archive.json"}


def bearer(db: Database, name: str, *scopes: str) -> dict[str, str]:
    _token_id, secret = create_token(db, name, list(scopes))
    return {"Authorization": f"Bearer {secret}"}


def post_question(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post("/api/questions", json={**QUESTION, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_forecast_is_its_tokens_own_unless_the_token_may_record(
    client: TestClient, db: Database
) -> None:
    bob = bearer(db, "bob", "forecast")
    question = post_question(client, bob)
    url = f"/api/questions/{question['id']}/forecasts"

    own = client.post(url, json={"probability": 0.4, "made_on": "2020-02-01"}, headers=bob)
    assert own.status_code == 201, own.text
    assert own.json()["forecaster"] == "bob" and own.json()["recorded_by"] == "bob"

    refused = client.post(
        url, json={"forecaster": "Ann", "probability": 0.99, "made_on": "2020-02-01"}, headers=bob
    )
    assert refused.status_code == 403
    assert "record" in refused.json()["detail"]
    assert len(client.get(f"/api/questions/{question['id']}").json()["forecasts"]) == 1

    clerk = bearer(db, "clerk", "forecast", "record")
    first = client.post(
        url, json={"forecaster": "Ann", "probability": 0.7, "made_on": "2020-02-02"}, headers=clerk
    )
    assert first.status_code == 201 and first.json()["recorded_by"] == "clerk"
    again = client.post(
        url,
        json={"forecaster": "  ann ", "probability": 0.6, "made_on": "2020-02-03"},
        headers=clerk,
    )
    assert again.json()["forecaster"] == "Ann", "one identity, shown as first spelled"
    filtered = client.get("/api/questions", params={"forecaster": "ANN"}).json()
    assert [q["id"] for q in filtered["items"]] == [question["id"]]


def test_only_the_creator_or_an_admin_changes_or_annuls_a_question(
    client: TestClient, db: Database
) -> None:
    ann = bearer(db, "Ann", "forecast", "review")
    bob = bearer(db, "bob", "forecast", "review")
    question = post_question(client, ann, tags=["mine"])
    path = f"/api/questions/{question['id']}"

    patched = client.patch(path, json={"tags": ["bob-was-here"]}, headers=bob)
    assert patched.status_code == 403 and "created by 'Ann'" in patched.json()["detail"]
    annulled = client.post(f"{path}/resolve", json={"outcome": "annulled"}, headers=bob)
    assert annulled.status_code == 403
    assert client.get(path).json()["tags"] == ["mine"], "nothing was written"

    assert client.patch(path, json={"tags": ["ours"]}, headers=ann).status_code == 200
    assert client.patch(path, json={"tags": ["admin"]}, headers=ADMIN).status_code == 200
    # Resolving yes/no is a reviewer's work, whoever created the question.
    assert client.post(f"{path}/resolve", json={"outcome": "no"}, headers=bob).status_code == 200


def _accepted_article(client: TestClient) -> tuple[int, int, dict[str, Any]]:
    """Seed-like state: the archive polled, one suggestion accepted. Returns the question id,
    the suggestion id and the pending queue before accepting."""
    client.post("/api/questions", json={**QUESTION, "title": "x" * 10}, headers=ADMIN)
    assert client.post("/api/sources", json=ARCHIVE, headers=ADMIN).status_code == 201
    from service.seeding import load_seeds

    load_seeds(client.app.state.db)  # type: ignore[attr-defined]
    assert client.post("/api/poll", json={}, headers=ADMIN).status_code == 200
    queue = client.get("/api/suggestions", params={"status": "pending", "limit": 200}).json()
    suggestion = queue["items"][0]
    accepted = client.post(f"/api/suggestions/{suggestion['id']}/accept", json={}, headers=ADMIN)
    assert accepted.status_code == 200, accepted.text
    return suggestion["question_id"], suggestion["id"], queue


def test_reopen_undoes_an_acceptance_and_the_scores_with_it(client: TestClient) -> None:
    scores_before = client.get("/api/scores").json()
    question_id, suggestion_id, queue = _accepted_article(client)
    assert client.get("/api/scores").json()["n"] == scores_before["n"] + 1

    reopened = client.post(
        f"/api/questions/{question_id}/reopen", json={"note": "mis-click"}, headers=ADMIN
    )
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert body["status"] == "open" and body["outcome"] is None and body["resolved_on"] is None
    after = client.get("/api/suggestions", params={"status": "pending", "limit": 200}).json()
    assert [s["id"] for s in after["items"]] == [s["id"] for s in queue["items"]], (
        "the review queue is as it was"
    )
    assert client.get("/api/scores").json() == scores_before

    again = client.post(f"/api/questions/{question_id}/reopen", json={}, headers=ADMIN)
    assert again.status_code == 409 and "is open" in again.json()["detail"]
    assert client.post("/api/questions/99999/reopen", json={}, headers=ADMIN).status_code == 404
    # Resolved the other way: the scores follow at once.
    other = client.post(
        f"/api/questions/{question_id}/resolve",
        json={"outcome": "no", "resolved_on": "2019-06-01"},
        headers=ADMIN,
    )
    assert other.status_code == 200
    assert client.get("/api/scores").json()["n"] == scores_before["n"] + 1
    history = client.get(f"/api/questions/{question_id}/history").json()
    actions = [row["action"] for row in history["items"]]
    assert actions[0] == "question.create"
    assert actions[-3:] == ["question.resolve", "question.reopen", "question.resolve"]
    assert any(row["action"] == "suggestion.accept" for row in history["items"])
    reopen_row = history["items"][-2]
    assert reopen_row["before"]["status"] == "resolved" and reopen_row["after"]["note"] == (
        "mis-click"
    )


def test_every_change_is_in_the_audit_log_which_nothing_can_change(
    client: TestClient, db: Database
) -> None:
    ann = bearer(db, "Ann", "forecast")
    question = post_question(client, ann)
    client.post(
        f"/api/questions/{question['id']}/forecasts",
        json={"probability": 0.2, "made_on": "2020-03-01"},
        headers=ann,
    )
    client.patch(f"/api/questions/{question['id']}", json={"tags": ["t"]}, headers=ann)
    source = client.post("/api/sources", json=ARCHIVE, headers=ADMIN).json()
    client.patch(f"/api/sources/{source['id']}", json={"enabled": False}, headers=ADMIN)
    client.delete(f"/api/sources/{source['id']}", headers=ADMIN)

    assert client.get("/api/audit", headers=ann).status_code == 403
    log = client.get("/api/audit", params={"limit": 100}, headers=ADMIN).json()
    actions = [row["action"] for row in log["items"]]
    assert actions[:4] == ["source.delete", "source.patch", "source.create", "question.patch"]
    assert {"question.create", "forecast.create", "token.create"} <= set(actions)
    patch_row = log["items"][3]
    assert patch_row["actor"] == "Ann" and patch_row["before"] == {"tags": []}
    assert patch_row["after"] == {"tags": ["t"]}
    only = client.get("/api/audit", params={"action": "source.patch"}, headers=ADMIN).json()
    assert only["total"] == 1

    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text(statement))
    assert client.get("/api/audit", headers=ADMIN).json()["total"] == log["total"]


def test_an_accepted_suggestion_keeps_its_evidence_when_its_source_goes(
    client: TestClient,
) -> None:
    question_id, suggestion_id, _queue = _accepted_article(client)
    before = client.get(f"/api/suggestions/{suggestion_id}").json()
    assert before["evidence"], "the suggestion rests on news"
    for source in client.get("/api/sources").json()["items"]:
        assert client.delete(f"/api/sources/{source['id']}", headers=ADMIN).status_code == 204
    after = client.get(f"/api/suggestions/{suggestion_id}").json()
    assert after["evidence"] == before["evidence"]


def test_tokens_are_listed_without_secrets_and_revoked_for_good(
    client: TestClient, db: Database
) -> None:
    created = client.post(
        "/api/tokens", json={"name": "newsroom", "scopes": ["forecast"]}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    token = created.json()
    secret = token["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert post_question(client, headers)["created_by"] == "newsroom"

    listed = client.get("/api/tokens", headers=ADMIN)
    assert secret not in listed.text and "digest" not in listed.text
    row = next(t for t in listed.json()["items"] if t["id"] == token["id"])
    assert row["scopes"] == ["forecast"] and row["revoked_at"] is None
    assert row["last_used_at"] is not None

    assert client.get("/api/tokens", headers=headers).status_code == 403
    revoked = client.delete(f"/api/tokens/{token['id']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = client.post("/api/questions", json=QUESTION, headers=headers)
    assert refused.status_code == 401
    twice = client.delete(f"/api/tokens/{token['id']}", headers=ADMIN)
    assert twice.status_code == 409 and "already revoked" in twice.json()["detail"]
    assert client.delete("/api/tokens/99999", headers=ADMIN).status_code == 404
    bad = client.post("/api/tokens", json={"name": "x", "scopes": ["root"]}, headers=ADMIN)
    assert bad.status_code == 422


def test_an_export_imported_into_an_empty_database_reproduces_the_record(
    client: TestClient, db: Database
) -> None:
    question_id, suggestion_id, _queue = _accepted_article(client)
    pending = client.get("/api/suggestions", params={"status": "pending", "limit": 200}).json()
    client.post(f"/api/suggestions/{pending['items'][0]['id']}/reject", json={}, headers=ADMIN)
    reads = ("/api/questions?limit=1000", "/api/suggestions?limit=1000", "/api/scores")
    before = {path: client.get(path).json() for path in reads}
    document = export_json(db)

    truncate_all(db) if db.url.get_backend_name() == "postgresql" else None
    url = db.url.render_as_string(hide_password=False)
    fresh = db
    if db.url.get_backend_name() == "sqlite":
        url = url.replace("forecasts.db", "restored.db")
        fresh = Database(url, make_settings(url))
        fresh.migrate()
    try:
        assert import_json(fresh, document) == len(document["questions"])
        assert import_json(fresh, document) == 0, "importing the same file twice adds nothing"
        with TestClient(create_app(make_settings(url), fresh)) as restored:
            after = {path: restored.get(path).json() for path in reads}
        assert after == before
        assert export_json(fresh) == document
    finally:
        if fresh is not db:
            fresh.dispose()


def test_the_database_itself_refuses_impossible_rows(client: TestClient, db: Database) -> None:
    """Whatever writes (a script, a bad import path), the tables keep probabilities in [0, 1]
    and status and outcome consistent: CHECK constraints (triggers on SQLite)."""
    question = post_question(client, ADMIN, forecast={"probability": 0.5})
    statements = (
        f"UPDATE forecasts SET probability = 7.5 WHERE question_id = {question['id']}",
        f"UPDATE questions SET status = 'resolved' WHERE id = {question['id']}",
        f"UPDATE questions SET outcome = 'yes' WHERE id = {question['id']}",
        f"UPDATE questions SET status = 'weird' WHERE id = {question['id']}",
    )
    for statement in statements:
        with pytest.raises(DBAPIError), db.write() as conn:
            conn.execute(text(statement))
    stored = client.get(f"/api/questions/{question['id']}").json()
    assert stored["status"] == "open" and stored["forecasts"][0]["probability"] == 0.5
