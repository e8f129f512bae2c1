"""The hottest writes skip FastAPI's dependency solver only when a request is well formed;
every other request gets exactly FastAPI's own answer (service/api/fast_route.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from service.api.fast_route import HappyPathRoute
from service.app import create_app
from service.auth import create_token
from service.db import Database
from tests.conftest import ADMIN, make_settings

QUESTION = {
    "title": "Will the harbour bridge reopen this year?",
    "resolution_criteria": "YES if the city reports it open to traffic.",
    "resolve_by": "2030-12-31",
    "opened_on": "2025-01-01",
}


@pytest.fixture
def apps(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """The app as served, and the same app built with FastAPI's standard route handler."""
    settings = make_settings(sqlite_db.url.render_as_string(hide_password=False))
    # FastAPI builds an app's route handlers when it first routes a request: a first request
    # to each app builds them, ours as served and the other's with the standard handler.
    with TestClient(create_app(settings, sqlite_db)) as ours:
        ours.get("/api/questions")
        with monkeypatch.context() as patch:
            patch.setattr(HappyPathRoute, "get_route_handler", APIRoute.get_route_handler)
            standard = TestClient(create_app(settings, sqlite_db))
            standard.__enter__()
            standard.get("/api/questions")
        try:
            yield ours, standard
        finally:
            standard.__exit__(None, None, None)


def test_a_well_formed_create_and_forecast_take_the_happy_path(apps: tuple[Any, Any]) -> None:
    ours, standard = apps
    before = HappyPathRoute.happy_answers
    # The app it is compared with below does not take it.
    assert standard.post("/api/questions", json=QUESTION, headers=ADMIN).status_code == 201
    assert HappyPathRoute.happy_answers == before
    made = ours.post("/api/questions", json=QUESTION, headers=ADMIN)
    assert made.status_code == 201, made.text
    qid = made.json()["id"]
    added = ours.post(f"/api/questions/{qid}/forecasts", json={"probability": 0.3}, headers=ADMIN)
    assert added.status_code == 201, added.text
    assert added.json()["probability"] == 0.3
    assert HappyPathRoute.happy_answers == before + 2
    # What was written reads back as answered.
    assert ours.get(f"/api/questions/{qid}").json()["forecasts"][0]["probability"] == 0.3


def _bad_requests(db: Database, qid: int) -> list[tuple[str, str, dict[str, str], Any]]:
    reviewer = {"Authorization": f"Bearer {create_token(db, 'rev', ['review'])[1]}"}
    forecast_path = f"/api/questions/{qid}/forecasts"
    return [
        ("POST", "/api/questions", {}, QUESTION),
        ("POST", "/api/questions", {"Authorization": "Bearer not-a-token"}, QUESTION),
        ("POST", "/api/questions", reviewer, QUESTION),
        ("POST", "/api/questions", ADMIN, {**QUESTION, "title": "short"}),
        ("POST", "/api/questions", ADMIN, {**QUESTION, "colour": "blue"}),
        ("POST", "/api/questions", ADMIN, {**QUESTION, "resolve_by": "someday"}),
        ("POST", "/api/questions", ADMIN, {**QUESTION, "title": "Will the NUL\x00 pass here?"}),
        ("POST", "/api/questions", ADMIN, "not an object"),
        ("POST", "/api/questions", ADMIN, b'{"title": '),
        ("POST", "/api/questions", {**ADMIN, "content-type": "text/plain"}, QUESTION),
        ("POST", forecast_path, ADMIN, {"probability": 1.5}),
        ("POST", forecast_path, ADMIN, {"probability": "0.5"}),
        ("POST", forecast_path, ADMIN, {}),
        ("POST", "/api/questions/0/forecasts", ADMIN, {"probability": 0.5}),
        ("POST", "/api/questions/abc/forecasts", ADMIN, {"probability": 0.5}),
        ("POST", "/api/questions/99999/forecasts", ADMIN, {"probability": 0.5}),
        ("POST", "/api/questions/99999999999/forecasts", ADMIN, {"probability": 0.5}),
    ]


def test_every_other_request_gets_fastapis_own_answer(
    apps: tuple[Any, Any], sqlite_db: Database
) -> None:
    ours, standard = apps
    qid = ours.post("/api/questions", json=QUESTION, headers=ADMIN).json()["id"]
    for method, path, headers, body in _bad_requests(sqlite_db, qid):
        kwargs: dict[str, Any] = {"headers": headers}
        if isinstance(body, bytes):
            kwargs["content"] = body
            kwargs["headers"] = {**headers, "content-type": "application/json"}
        elif "content-type" in headers:
            kwargs["content"] = str(body).encode()
        else:
            kwargs["json"] = body
        got = ours.request(method, path, **kwargs)
        expected = standard.request(method, path, **kwargs)
        assert got.status_code >= 400, (path, body)
        assert (got.status_code, got.json()) == (expected.status_code, expected.json()), (
            path,
            body,
        )
    # None of them wrote anything: the one question made above is all there is.
    assert HappyPathRoute.happy_answers > 0
    assert ours.get("/api/questions").json()["total"] == 1
