"""The refactor guard: the OpenAPI document and the API's answers to a fixed script of requests
are the same as the ones recorded in tests/data/ before the code was reshaped.

A change that means to alter the contract regenerates them on purpose:
`FORECASTS_RECORD_CONTRACT=1 .venv/bin/python -m pytest tests/test_contract_snapshot.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import Database
from service.seeding import load_seeds
from tests.conftest import ADMIN, make_settings

DATA = Path(__file__).parent / "data"
RECORD = os.environ.get("FORECASTS_RECORD_CONTRACT") == "1"
# Fields that hold the moment of the request, not the service's answer.
VOLATILE = {"created_at", "updated_at", "reviewed_at"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<time>" if k in VOLATILE else _stable(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _compare(name: str, actual: Any) -> None:
    path = DATA / name
    text = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if RECORD:
        DATA.mkdir(exist_ok=True)
        path.write_text(text, "utf-8")
        return
    expected = json.loads(path.read_text("utf-8"))
    assert actual == expected, f"{name} differs from the recorded contract"


def _script(client: TestClient) -> list[dict[str, Any]]:
    """Requests a user would make, touching every resource; each answer is recorded."""
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/questions?limit=3", None),
        ("GET", "/api/questions/1", None),
        ("GET", "/api/questions/999", None),
        (
            "POST",
            "/api/questions",
            {
                "title": "Will the ECB raise its deposit rate before 2027?",
                "resolution_criteria": "YES if the ECB announces a higher deposit facility rate.",
                "resolve_by": "2026-12-31",
                "opened_on": "2026-06-01",
                "tags": ["ecb", "rates", "ecb"],
                "forecast": {"forecaster": "Ann", "estimate": "probably not"},
            },
        ),
        ("POST", "/api/questions", {"title": "x", "resolve_by": "2026-01-01"}),
        (
            "POST",
            "/api/questions",
            {
                "title": "Will the strike end?",
                "resolution_criteria": "YES if the union calls it off.",
                "resolve_by": "2026-12-31",
                "news_query": "strike AND (",
            },
        ),
        ("PATCH", "/api/questions/9", {"tags": ["ecb"], "news_query": ""}),
        ("PATCH", "/api/questions/9", {"news_query": "ECB AND (raise OR hike)"}),
        (
            "POST",
            "/api/questions/9/forecasts",
            {"forecaster": "Bob", "probability": 0.3, "made_on": "2026-06-02"},
        ),
        ("POST", "/api/questions/9/forecasts", {"forecaster": "Bob", "probability": 7}),
        (
            "POST",
            "/api/sources",
            {"name": "Archive", "kind": "archive", "url": "package:seeds/archive.json"},
        ),
        ("POST", "/api/poll", {}),
        ("GET", "/api/suggestions?status=pending&limit=100", None),
        ("GET", "/api/sources", None),
        ("GET", "/api/estimates", None),
        ("POST", "/api/questions/9/resolve", {"outcome": "no", "note": "held"}),
        ("POST", "/api/questions/9/resolve", {"outcome": "yes"}),
        ("PATCH", "/api/questions/9", {"title": "changed"}),
        ("GET", "/api/scores", None),
        ("GET", "/api/scores?forecaster=Ann&bins=5", None),
        ("GET", "/api/scores/questions", None),
        ("GET", "/api/scores?bins=0", None),
    ]
    answers = []
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=ADMIN)
        content_type = response.headers.get("content-type", "")
        payload: Any = response.json() if "json" in content_type else response.text
        answers.append(
            {"request": f"{method} {path}", "status": response.status_code, "body": payload}
        )
    # Accept the first pending suggestion of each seed question, then read the scores.
    pending = client.get("/api/suggestions?status=pending&limit=100").json()["items"]
    done: set[int] = set()
    for suggestion in pending:
        if suggestion["question_id"] in done:
            continue
        done.add(suggestion["question_id"])
        response = client.post(
            f"/api/suggestions/{suggestion['id']}/accept", json={}, headers=ADMIN
        )
        answers.append(
            {
                "request": f"accept suggestion for question {suggestion['question_id']}",
                "status": response.status_code,
                "body": response.json(),
            }
        )
    for path in (
        "/api/suggestions?limit=200",
        "/api/scores",
        "/api/questions?status=resolved",
        "/api/scores/forecasters.csv",
        "/api/scores/questions.csv",
    ):
        response = client.get(path)
        content_type = response.headers.get("content-type", "")
        payload = response.json() if "json" in content_type else response.text
        answers.append({"request": f"GET {path}", "status": response.status_code, "body": payload})
    return [_stable(a) for a in answers]


@pytest.mark.freeze_time("2026-11-30 12:00:00")
def test_openapi_document_is_unchanged(sqlite_db: Database) -> None:
    app = create_app(make_settings(sqlite_db.url.render_as_string(hide_password=False)), sqlite_db)
    with TestClient(app) as client:
        _compare("openapi.json", client.get("/openapi.json").json())


@pytest.mark.freeze_time("2026-11-30 12:00:00")
def test_api_answers_are_unchanged(sqlite_db: Database) -> None:
    load_seeds(sqlite_db)
    app = create_app(make_settings(sqlite_db.url.render_as_string(hide_password=False)), sqlite_db)
    with TestClient(app) as client:
        _compare("api_answers.json", _script(client))
