"""The questions API as API.md describes it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from service.db import Database
from tests.conftest import ADMIN
from tests.factories import post_question, store_question

QUESTION = {
    "title": "Will the ceasefire hold through the summer?",
    "resolution_criteria": "YES if no party formally withdraws before resolve_by.",
    "resolve_by": "2026-09-30",
    "opened_on": "2026-06-01",
    "tags": ["syria", "ceasefire"],
}


def _create(client: TestClient, **changes: object) -> dict:
    response = client.post("/api/questions", json={**QUESTION, **changes}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def _count(client: TestClient) -> int:
    return client.get("/api/questions").json()["total"]


@pytest.fixture(autouse=True)
def _today(freezer):  # noqa: ANN001 - pytest-freezer fixture
    freezer.move_to("2026-07-15T12:00:00Z")


def test_create_returns_the_question_with_every_field(client: TestClient) -> None:
    body = _create(
        client,
        source={"title": "An analysis", "url": "https://example.org/a", "publisher": "Pub"},
        forecast={"forecaster": "Ann", "probability": 0.7, "rationale": "base rates"},
    )
    for field in (
        "id",
        "title",
        "resolution_criteria",
        "opened_on",
        "resolve_by",
        "tags",
        "news_query",
        "default_outcome",
        "source",
        "status",
        "outcome",
        "resolved_on",
        "resolution_note",
        "forecasts",
        "created_at",
        "updated_at",
    ):
        assert field in body
    assert body["status"] == "open" and body["outcome"] is None
    assert body["default_outcome"] == "no"
    assert body["news_query"], "a query is derived from the title when none is given"
    assert body["source"]["publisher"] == "Pub"
    [forecast] = body["forecasts"]
    assert forecast["probability"] == 0.7
    assert forecast["made_on"] == "2026-06-01", "the first forecast defaults to opened_on"
    assert body["created_at"].endswith("Z")
    assert client.get(f"/api/questions/{body['id']}").json() == body


def test_opened_on_defaults_to_today_utc(client: TestClient) -> None:
    body = _create(client, opened_on=None)
    assert body["opened_on"] == "2026-07-15"


def test_given_news_query_is_kept(client: TestClient) -> None:
    body = _create(client, news_query='ceasefire (collapse OR "broke down")')
    assert body["news_query"] == 'ceasefire (collapse OR "broke down")'


def test_verbal_estimate_is_mapped_and_both_are_stored(client: TestClient) -> None:
    body = _create(client, forecast={"forecaster": "Pundit", "estimate": "Will Probably"})
    [forecast] = body["forecasts"]
    assert forecast["estimate"] == "will probably"
    table = {e["phrase"]: e["probability"] for e in client.get("/api/estimates").json()}
    assert forecast["probability"] == table["will probably"] == table["probably"]


def test_estimates_name_their_source(client: TestClient) -> None:
    table = client.get("/api/estimates").json()
    phrases = {e["phrase"] for e in table}
    assert {
        "almost certainly",
        "unlikely",
        "bound to",
        "may very well",
        "not far-fetched",
    } <= phrases
    assert all("survey" in e["source"] for e in table)
    assert all(0 <= e["probability"] <= 1 for e in table)


def test_unknown_estimate_lists_the_known_ones(client: TestClient) -> None:
    response = client.post(
        "/api/questions",
        json={**QUESTION, "forecast": {"forecaster": "P", "estimate": "meh"}},
        headers=ADMIN,
    )
    assert response.status_code == 422
    assert "meh" in response.json()["detail"] and "almost certainly" in response.json()["detail"]
    assert _count(client) == 0


def test_forecast_history_is_kept(client: TestClient) -> None:
    question = _create(client, forecast={"forecaster": "Ann", "probability": 0.2})
    for made_on, p in (("2026-06-10", 0.4), ("2026-07-01", 0.9)):
        response = client.post(
            f"/api/questions/{question['id']}/forecasts",
            json={"forecaster": "Ann", "probability": p, "made_on": made_on},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
        assert response.json()["question_id"] == question["id"]
    history = client.get(f"/api/questions/{question['id']}").json()["forecasts"]
    assert [f["probability"] for f in history] == [0.2, 0.4, 0.9]


def test_forecast_made_on_defaults_to_today(client: TestClient) -> None:
    question = _create(client)
    response = client.post(
        f"/api/questions/{question['id']}/forecasts",
        json={"forecaster": "B", "probability": 1},
        headers=ADMIN,
    )
    assert response.status_code == 201
    assert response.json()["made_on"] == "2026-07-15"


def test_late_forecasts_are_taken_when_backdated(client: TestClient, freezer) -> None:  # noqa: ANN001
    question = _create(client)
    freezer.move_to("2026-10-20")
    url = f"/api/questions/{question['id']}/forecasts"
    late = client.post(url, json={"forecaster": "B", "probability": 0.5}, headers=ADMIN)
    assert late.status_code == 422 and "made_on" in late.json()["detail"]
    backdated = client.post(
        url, json={"forecaster": "B", "probability": 0.5, "made_on": "2026-09-01"}, headers=ADMIN
    )
    assert backdated.status_code == 201


def test_list_filters_and_pages(client: TestClient) -> None:
    a = _create(client, tags=["alpha"], forecast={"forecaster": "Ann", "probability": 0.5})
    b = _create(client, title="Will the talks in Geneva resume this year?", tags=["beta"])
    _create(client, title="Will the 100% tariff_rate stand until autumn?", tags=["alpha", "gamma"])
    client.post(f"/api/questions/{b['id']}/resolve", json={"outcome": "no"}, headers=ADMIN)

    def ids(query: str) -> list[int]:
        return [q["id"] for q in client.get(f"/api/questions?{query}").json()["items"]]

    assert len(ids("")) == 3
    assert ids("tag=beta") == [b["id"]]
    assert len(ids("tag=alpha")) == 2
    assert ids("tag=alph") == [], "tags match whole, not as prefixes"
    assert ids("forecaster=Ann") == [a["id"]]
    assert ids("status=resolved") == [b["id"]]
    assert ids("q=GENEVA") == [b["id"]]
    assert len(ids("q=100%25")) == 1 and ids("q=_rate") != ids(""), "LIKE wildcards are literal"
    page = client.get("/api/questions?limit=2&offset=0").json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = client.get("/api/questions?limit=2&offset=2").json()
    assert len(rest["items"]) == 1
    assert {q["id"] for q in page["items"] + rest["items"]} == set(ids(""))


def test_list_limit_bounds(client: TestClient) -> None:
    assert client.get("/api/questions?limit=1001").status_code == 422
    assert client.get("/api/questions?limit=0").status_code == 422
    assert client.get("/api/questions?offset=-1").status_code == 422
    assert client.get("/api/questions?status=maybe").status_code == 422


def test_patch_changes_an_open_question(client: TestClient) -> None:
    question = _create(client)
    response = client.patch(
        f"/api/questions/{question['id']}",
        json={"resolve_by": "2026-12-31", "tags": ["x"], "default_outcome": "yes"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["resolve_by"], body["tags"], body["default_outcome"]) == (
        "2026-12-31",
        ["x"],
        "yes",
    )
    assert body["title"] == QUESTION["title"]


def test_resolve_records_who_and_closes_the_question(client: TestClient) -> None:
    question = _create(client)
    response = client.post(
        f"/api/questions/{question['id']}/resolve",
        json={
            "outcome": "yes",
            "resolved_on": "2026-07-10",
            "note": "treaty signed",
            "evidence_urls": ["https://example.org/news"],
        },
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["outcome"], body["resolved_on"]) == (
        "resolved",
        "yes",
        "2026-07-10",
    )
    assert body["resolution_note"] == "treaty signed"
    assert body["evidence_urls"] == ["https://example.org/news"]
    assert body["resolved_by"] == "admin"
    again = client.post(
        f"/api/questions/{question['id']}/resolve", json={"outcome": "no"}, headers=ADMIN
    )
    assert again.status_code == 409
    forecast = client.post(
        f"/api/questions/{question['id']}/forecasts",
        json={"forecaster": "X", "probability": 0.1},
        headers=ADMIN,
    )
    assert forecast.status_code == 409
    patch = client.patch(
        f"/api/questions/{question['id']}", json={"title": "A new title here"}, headers=ADMIN
    )
    assert patch.status_code == 409


def test_annul(client: TestClient) -> None:
    question = _create(client)
    body = client.post(
        f"/api/questions/{question['id']}/resolve", json={"outcome": "annulled"}, headers=ADMIN
    ).json()
    assert (body["status"], body["outcome"]) == ("annulled", None)


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "scheduler": "off"}


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/questions" in spec["paths"]
    assert client.get("/docs").status_code == 200


# --- auth -------------------------------------------------------------------------------------


def test_writes_need_a_valid_token(client: TestClient) -> None:
    assert client.post("/api/questions", json=QUESTION).status_code == 401
    bad = client.post("/api/questions", json=QUESTION, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert _count(client) == 0


def test_scopes_are_enforced(client: TestClient, db) -> None:  # noqa: ANN001
    from service.auth import create_token

    forecaster = {"Authorization": f"Bearer {create_token(db, 'fc', ['forecast'])[1]}"}
    reviewer = {"Authorization": f"Bearer {create_token(db, 'rev', ['review'])[1]}"}
    created = client.post("/api/questions", json=QUESTION, headers=forecaster)
    assert created.status_code == 201
    qid = created.json()["id"]
    assert client.post("/api/questions", json=QUESTION, headers=reviewer).status_code == 403
    refused = client.post(
        f"/api/questions/{qid}/resolve", json={"outcome": "yes"}, headers=forecaster
    )
    assert refused.status_code == 403 and "review" in refused.json()["detail"]
    resolved = client.post(
        f"/api/questions/{qid}/resolve", json={"outcome": "yes"}, headers=reviewer
    )
    assert resolved.json()["resolved_by"] == "rev"


def test_reads_are_open(client: TestClient) -> None:
    assert client.get("/api/questions").status_code == 200
    assert client.get("/api/estimates").status_code == 200


# --- bad input: a 4xx naming the field, and nothing written -------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"forecast": {"forecaster": "A", "probability": 1.5}}, "probability"),
        ({"forecast": {"forecaster": "A", "probability": -0.1}}, "probability"),
        ({"forecast": {"forecaster": "A", "probability": "0.5"}}, "probability"),
        ({"forecast": {"forecaster": "A", "probability": True}}, "probability"),
        ({"forecast": {"forecaster": "A"}}, "probability"),
        ({"resolve_by": "2026-05-01"}, "resolve_by"),
        ({"opened_on": "2026-08-01"}, "opened_on"),
        ({"forecast": {"forecaster": "A", "probability": 0.5, "made_on": "2026-08-01"}}, "made_on"),
        ({"title": ""}, "title"),
        ({"title": "short"}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"resolution_criteria": "   "}, "resolution_criteria"),
        ({"resolve_by": "2026-13-45"}, "resolve_by"),
        ({"resolve_by": "next tuesday"}, "resolve_by"),
        ({"default_outcome": "maybe"}, "default_outcome"),
        ({"news_query": '(unbalanced "quote'}, "news_query"),
        ({"colour": "blue"}, "colour"),
        ({"title": "Will the \x00 byte be stored?"}, "NUL"),
    ],
)
def test_bad_question_is_refused_and_nothing_is_written(
    client: TestClient, changes: dict, field: str
) -> None:
    response = client.post("/api/questions", json={**QUESTION, **changes}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _count(client) == 0


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_get_a_422_with_a_json_body(client: TestClient, literal: bytes) -> None:
    body = (
        b'{"title": "Will the numbers stay finite?", "resolution_criteria": "x", '
        b'"resolve_by": "2026-09-30", "forecast": {"forecaster": "A", "probability": '
        + literal
        + b"}}"
    )
    response = client.post(
        "/api/questions", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "probability" in str(response.json()["detail"])
    assert _count(client) == 0


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/api/questions",
        content=b"{not json",
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert response.status_code == 422


def test_oversize_body_is_a_413(client: TestClient) -> None:
    big = {**QUESTION, "resolution_criteria": "x" * (1024 * 1024 + 10)}
    response = client.post("/api/questions", json=big, headers=ADMIN)
    assert response.status_code == 413
    assert "detail" in response.json()
    assert _count(client) == 0


def test_unknown_ids_are_404(client: TestClient) -> None:
    assert client.get("/api/questions/999").status_code == 404
    assert (
        client.post(
            "/api/questions/999/forecasts",
            json={"forecaster": "A", "probability": 0.5},
            headers=ADMIN,
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/questions/999/resolve", json={"outcome": "yes"}, headers=ADMIN
        ).status_code
        == 404
    )
    assert client.patch("/api/questions/999", json={"tags": []}, headers=ADMIN).status_code == 404
    assert client.get("/api/questions/99999999999999999999").status_code == 422


def test_bad_forecast_leaves_history_unchanged(client: TestClient) -> None:
    question = _create(client, forecast={"forecaster": "Ann", "probability": 0.3})
    url = f"/api/questions/{question['id']}/forecasts"
    for body in (
        {"forecaster": "Ann", "probability": 2},
        {"forecaster": "", "probability": 0.5},
        {"forecaster": "Ann", "probability": 0.5, "made_on": "2030-01-01"},
        {"forecaster": "Ann", "estimate": "perhaps-ish"},
    ):
        assert client.post(url, json=body, headers=ADMIN).status_code == 422
    assert len(client.get(f"/api/questions/{question['id']}").json()["forecasts"]) == 1


def test_bad_patch_changes_nothing(client: TestClient) -> None:
    question = _create(client)
    url = f"/api/questions/{question['id']}"
    assert client.patch(url, json={"resolve_by": "2026-01-01"}, headers=ADMIN).status_code == 422
    assert client.patch(url, json={"title": None}, headers=ADMIN).status_code == 422
    assert client.get(url).json()["resolve_by"] == QUESTION["resolve_by"]


def test_bad_resolution_is_refused(client: TestClient) -> None:
    question = _create(client)
    url = f"/api/questions/{question['id']}/resolve"
    assert client.post(url, json={"outcome": "perhaps"}, headers=ADMIN).status_code == 422
    future = client.post(url, json={"outcome": "yes", "resolved_on": "2027-01-01"}, headers=ADMIN)
    assert future.status_code == 422 and "resolved_on" in future.text
    assert client.get(f"/api/questions/{question['id']}").json()["status"] == "open"


def test_dates_follow_the_utc_day(client: TestClient, freezer) -> None:  # noqa: ANN001
    freezer.move_to("2026-07-15T23:30:00-05:00")  # already 16 July in UTC
    assert _create(client, opened_on="2026-07-16")["opened_on"] == str(date(2026, 7, 16))


def test_listing_shows_every_write_at_once(client: TestClient) -> None:
    """Pages are cached; a write of any kind must still show on the very next read."""
    question = _create(client)
    url = "/api/questions?limit=10"
    assert client.get(url).json()["items"][0]["forecasts"] == []
    client.post(
        f"/api/questions/{question['id']}/forecasts",
        json={"forecaster": "Ann", "probability": 0.4, "made_on": "2026-07-01"},
        headers=ADMIN,
    )
    assert [f["probability"] for f in client.get(url).json()["items"][0]["forecasts"]] == [0.4]
    client.patch(f"/api/questions/{question['id']}", json={"tags": ["changed"]}, headers=ADMIN)
    assert client.get(url).json()["items"][0]["tags"] == ["changed"]
    client.post(f"/api/questions/{question['id']}/resolve", json={"outcome": "no"}, headers=ADMIN)
    assert client.get(url).json()["items"][0]["status"] == "resolved"
    _create(client, title="Will a second question show up in the list?")
    assert client.get(url).json()["total"] == 2


def test_a_deployment_can_close_reads(db) -> None:  # noqa: ANN001
    from service.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(db.url.render_as_string(hide_password=False), open_reads=False)
    with TestClient(create_app(settings, db)) as closed:
        assert closed.get("/api/questions").status_code == 401
        assert closed.get("/api/questions", headers=ADMIN).status_code == 200
        assert closed.get("/healthz").status_code == 200


def test_a_repeated_page_shows_every_write_at_once(client: TestClient, db: Database) -> None:
    """The page of newest questions is cached, yet a write through the API, or straight to
    the database (another process: an import, the CLI), is on the very next read."""
    first = client.get("/api/questions?limit=5").json()
    assert client.get("/api/questions?limit=5").json() == first  # served from the cache
    through_api = post_question(client, ADMIN, title="Will the cache see this write?")
    page = client.get("/api/questions?limit=5").json()
    assert page["total"] == first["total"] + 1 and page["items"][0]["id"] == through_api
    elsewhere = store_question(
        db,
        today=date(2026, 1, 2),
        title="Will another process's write be seen?",
        resolution_criteria="It is listed.",
        opened_on="2026-01-01",
        resolve_by="2026-12-31",
    )
    page = client.get("/api/questions?limit=5").json()
    assert page["total"] == first["total"] + 2 and page["items"][0]["id"] == elsewhere
