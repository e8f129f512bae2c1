"""Crafted input gets a 4xx with a reason, never a 500: queries nested past the parser's
limit, JSON nested hundreds of levels deep, lone surrogates; invisible bidi and zero-width
characters are dropped before anything is stored; and names reach the charts as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from forecasts.errors import InvalidInput
from forecasts.news_query import MAX_NESTING, parse_query
from service.db import Database
from tests.conftest import ADMIN
from tests.test_dashboard import Browser, LiveServer, api, open_browser, start_server

QUESTION = {
    "title": "Will the ceasefire hold through the summer?",
    "resolution_criteria": "YES if no party formally withdraws before resolve_by.",
    "resolve_by": "2030-09-30",
    "opened_on": "2026-06-01",
}
JSON = {"Content-Type": "application/json", **ADMIN}


def post_raw(client: TestClient, path: str, body: bytes) -> object:
    return client.post(path, content=body, headers=JSON)


def assert_refused(response: object, status: int = 422) -> dict:
    assert response.status_code == status, response.text[:300]  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body.get("detail"), body
    return body


# ------------------------------------------------------------------------ news_query nesting


@pytest.mark.parametrize(
    "query",
    [
        "(" * 250 + "ceasefire" + ")" * 250,
        "-" * 998 + "a",
        "ceasefire " + "-(" * 200 + "talks" + ")" * 200,
        "(" * 499 + "a",  # never closed, and deep
    ],
    ids=["250 parentheses", "998 minus signs", "negated groups", "unclosed"],
)
def test_deeply_nested_queries_are_refused_naming_the_limit(client: TestClient, query: str) -> None:
    assert len(query) <= 1000
    body = assert_refused(
        client.post("/api/questions", json={**QUESTION, "news_query": query}, headers=ADMIN)
    )
    assert body["field"] == "news_query"
    assert f"deeper than {MAX_NESTING} levels" in body["detail"]
    created = client.post("/api/questions", json=QUESTION, headers=ADMIN)
    assert created.status_code == 201
    patched = client.patch(
        f"/api/questions/{created.json()['id']}", json={"news_query": query}, headers=ADMIN
    )
    assert f"deeper than {MAX_NESTING} levels" in assert_refused(patched)["detail"]
    listed = client.get("/api/questions").json()
    assert listed["total"] == 1 and listed["items"][0]["news_query"] != query


def test_nesting_up_to_the_limit_parses() -> None:
    deep = "(" * MAX_NESTING + "ceasefire" + ")" * MAX_NESTING
    assert str(parse_query(deep).root) == "ceasefire"
    negations = "-" * (MAX_NESTING - 1) + "talks ceasefire"
    assert parse_query(negations).matches("ceasefire holds")
    mixed = "ceasefire " + "-(" * (MAX_NESTING // 2) + "talks" + ")" * (MAX_NESTING // 2)
    # Sixteen negations cancel out: the query asks for both words.
    assert parse_query(mixed).matches("ceasefire talks")
    assert not parse_query(mixed).matches("the ceasefire holds")
    for too_deep in ("(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1), "-" * 33 + "a b"):
        with pytest.raises(InvalidInput) as caught:
            parse_query(too_deep)
        assert caught.value.field == "news_query"
        assert str(MAX_NESTING) in caught.value.detail


# ----------------------------------------------------------------------- bodies nested deep


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 900 + b"]" * 900,
        b'{"a":' * 900 + b"1" + b"}" * 900,
        b'{"title":' + b"[" * 900 + b"]" * 900 + b"}",
        json.dumps({**QUESTION, "source": {"title": "x"}})[:-2].encode()
        + b', "note": '
        + b"[" * 900
        + b"]" * 900
        + b"}}",
    ],
    ids=["array", "objects", "in a field", "in a nested model"],
)
def test_json_nested_900_deep_is_a_422(client: TestClient, body: bytes) -> None:
    for path in ("/api/questions", "/api/sources", "/api/poll"):
        response = post_raw(client, path, body)
        detail = assert_refused(response)["detail"]
        assert "nests deeper" in json.dumps(detail)
    # Far deeper than any parser allows: refused all the same (a 400 from the body parser).
    response = post_raw(client, "/api/questions", b"[" * 100_000 + b"]" * 100_000)
    assert 400 <= response.status_code < 500
    assert client.get("/api/questions").json()["total"] == 0


# ------------------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "Will the \\ud800 ceasefire hold through the summer?",'
        b' "resolution_criteria": "x", "resolve_by": "2030-01-01"}',
        b'{"title": "\\udfff", "resolution_criteria": "x", "resolve_by": "2030-01-01"}',
        b'{"\\ud800": 1}',
        b'{"title": "Will the ceasefire hold through the summer?", "resolution_criteria": "x",'
        b' "resolve_by": "2030-01-01", "forecast": {"forecaster": "a\\ud83d", "probability": 1}}',
    ],
    ids=["in a title", "alone", "as a key", "in a nested model"],
)
def test_a_lone_surrogate_is_a_422_with_a_detail(client: TestClient, body: bytes) -> None:
    detail = json.dumps(assert_refused(post_raw(client, "/api/questions", body))["detail"])
    assert "surrogate" in detail
    assert client.get("/api/questions").json()["total"] == 0


def test_a_lone_surrogate_in_source_options_is_refused(client: TestClient) -> None:
    body = (
        b'{"name": "Guardian", "kind": "guardian", "url": "https://content.guardianapis.com/s",'
        b' "options": {"api_key": "\\ud800abc"}}'
    )
    assert "surrogate" in json.dumps(assert_refused(post_raw(client, "/api/sources", body)))
    assert client.get("/api/sources").json()["total"] == 0


# ----------------------------------------------------------------- invisible characters

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff\u2060"


def test_bidi_and_zero_width_characters_are_stripped_before_storing(client: TestClient) -> None:
    # "Trojan Source": the override makes the title read differently from what it says.
    title = "Will the \u202ecease\u202cfire hold\u200b through the \u2066summer\u2069?"
    response = client.post(
        "/api/questions",
        json={
            **QUESTION,
            "title": title,
            "tags": ["syr\u200bia"],
            "news_query": "cease\u200dfire",
            "source": {"publisher": "\ufeffPub", "note": "a\u2060b"},
            "forecast": {"forecaster": "ann\u200b", "probability": 0.5, "rationale": BIDI + "r"},
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    stored = client.get(f"/api/questions/{response.json()['id']}").json()
    assert stored["title"] == "Will the ceasefire hold through the summer?"
    assert stored["tags"] == ["syria"]
    assert stored["news_query"] == "ceasefire"
    assert stored["source"]["publisher"] == "Pub" and stored["source"]["note"] == "ab"
    [forecast] = stored["forecasts"]
    assert forecast["forecaster"] == "ann" and forecast["rationale"] == "r"
    text = json.dumps(stored, ensure_ascii=False)
    assert not any(c in text for c in BIDI + ZERO_WIDTH)
    # The same name with or without a zero-width space is one forecaster.
    again = client.post(
        f"/api/questions/{stored['id']}/forecasts",
        json={"forecaster": "\u200bann", "probability": 0.6},
        headers=ADMIN,
    )
    assert again.status_code == 201 and again.json()["forecaster"] == "ann"
    # A title that is nothing but invisible characters is too short once they are gone.
    invisible = client.post(
        "/api/questions", json={**QUESTION, "title": ZERO_WIDTH * 4}, headers=ADMIN
    )
    assert_refused(invisible)


# ------------------------------------------------------------- names in charts, in Chromium

HOSTILE_NAME = '<a href="https://attacker.example/phish">Click me</a>'


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as server:
        yield server


@pytest.fixture
def chromium(live: LiveServer) -> Iterator[Browser]:
    yield from open_browser(live.url)


@pytest.mark.browser
def test_names_show_as_text_in_the_chart_not_as_links(
    live: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    with api(live) as client:
        created = client.post(
            "/api/questions",
            json={
                **QUESTION,
                "forecast": {
                    "forecaster": HOSTILE_NAME,
                    "probability": 0.3,
                    "made_on": "2026-06-02",
                },
            },
        )
        assert created.status_code == 201, created.text
        question = created.json()["id"]
        more = client.post(
            f"/api/questions/{question}/forecasts",
            json={"forecaster": "bob<br>", "probability": 0.6, "made_on": "2026-06-05"},
        )
        assert more.status_code == 201, more.text
    page = chromium.page
    chromium.goto(f"/questions/{question}")
    page.wait_for_function("document.getElementById('history-chart')?.data !== undefined")
    chart = page.locator("#history-chart")
    chart.locator(".legendtext").first.wait_for()
    # No link from the name anywhere in the chart (Plotly draws <a> for its href markup).
    assert chart.locator("a").count() == 0
    assert page.locator('a[href="https://attacker.example/phish"]').count() == 0
    assert page.locator('#history-chart [href*="attacker.example"]').count() == 0
    legend = chart.locator(".legendtext").all_text_contents()
    assert HOSTILE_NAME in legend, legend
    assert "bob<br>" in legend, legend
    # Hovering the point shows the name as written, still without a link.
    point = chart.locator(".scatterlayer .trace").first.locator(".point").first
    point.scroll_into_view_if_needed()
    spot = point.bounding_box()
    assert spot is not None
    page.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
    hover = chart.locator(".hoverlayer")
    hover.get_by_text("Click me", exact=False).wait_for()
    assert HOSTILE_NAME in (hover.text_content() or "")
    assert chart.locator("a").count() == 0
    page.screenshot(path=tmp_path / "hostile-names.png", full_page=True)
    # The page's own table shows it as text too (Jinja escapes it).
    assert HOSTILE_NAME in page.locator("#forecast-table").inner_text()
    chromium.check_clean()
