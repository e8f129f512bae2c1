"""Mistakes people make, answered so they can fix them: a percentage for a probability, a
date not in YYYY-MM-DD, an outcome in capitals, a body not sent as JSON."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN


def _question(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Will the friendlier errors help?",
        "resolution_criteria": "YES if they do.",
        "opened_on": "2020-01-01",
        "resolve_by": "2027-12-31",
        **extra,
    }


def _messages(response: Any) -> list[tuple[list[Any], str]]:
    return [(e["loc"], e["msg"]) for e in response.json()["detail"]]


def test_a_percentage_is_taken_for_what_it_means(client: TestClient) -> None:
    response = client.post(
        "/api/questions", json=_question(forecast={"probability": 70}), headers=ADMIN
    )
    assert response.status_code == 422
    assert _messages(response) == [
        (
            ["body", "forecast", "probability"],
            "probabilities are between 0 and 1: did you mean 0.7?",
        )
    ]


def test_a_date_not_in_iso_form(client: TestClient) -> None:
    response = client.post("/api/questions", json=_question(resolve_by="12/31/2027"), headers=ADMIN)
    assert response.status_code == 422
    ((loc, message),) = _messages(response)
    assert loc == ["body", "resolve_by"] and "use YYYY-MM-DD" in message


def test_outcome_in_capitals(client: TestClient) -> None:
    created = client.post("/api/questions", json=_question(default_outcome="No"), headers=ADMIN)
    assert created.status_code == 201 and created.json()["default_outcome"] == "no"
    question = created.json()["id"]
    resolved = client.post(
        f"/api/questions/{question}/resolve",
        json={"outcome": "YES", "resolved_on": "2020-06-01"},
        headers=ADMIN,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["outcome"] == "yes"


def test_a_body_not_sent_as_json(client: TestClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
        response = client.post("/api/questions", content=b'{"title": "x"}', headers=headers)
        assert response.status_code == 415, response.text
        assert "Content-Type: application/json" in response.json()["detail"]
