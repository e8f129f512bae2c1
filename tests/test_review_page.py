"""The review queue page (/review) in a real browser, and suggestions on a question's page.

Suggestions are written straight into the `suggestions` table, as a poll cycle would leave
them; accepting and rejecting go through the page's buttons, which call the JSON API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from forecasts.tables import suggestions_t as suggestions
from service.auth import create_token
from service.db import Database
from tests.conftest import ADMIN
from tests.test_dashboard import Browser, LiveServer, api, open_browser, start_server

CREATED = datetime(2020, 3, 5, 9, 30, tzinfo=UTC)

KAPPA_NEWS = [
    {
        "title": "Kappa ceasefire holds as monitors report calm",
        "url": "https://news.example.org/kappa-calm",
        "published_at": "2020-03-02T10:00:00Z",
        "source": "Example Wire",
        "snippet": "Monitors said the ceasefire has held for a month.",
    },
    {
        "title": "Both sides confirm the kappa truce",
        "url": "https://other.example.net/kappa-truce",
        "published_at": "2020-03-03T08:15:00Z",
        "source": "Other Daily",
        "snippet": "Officials on both sides confirmed the truce.",
    },
]
LAMBDA_NEWS = [
    {
        "title": "Lambda summit date set",
        "url": "https://news.example.org/lambda-date",
        "published_at": "2020-02-20T12:00:00Z",
        "source": "Example Wire",
        "snippet": "Leaders agreed to meet in May.",
    }
]


def add_question(client: httpx.Client | TestClient, title: str) -> int:
    response = client.post(
        "/api/questions",
        json={
            "title": title,
            "resolution_criteria": f"Resolves YES if {title[5:-1].lower()} by 2020-12-31.",
            "opened_on": "2020-01-01",
            "resolve_by": "2020-12-31",
            "tags": ["review-test"],
            "forecast": {"forecaster": "carol", "probability": 0.7, "made_on": "2020-01-02"},
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def add_suggestion(
    db: Database,
    question_id: int,
    outcome: str,
    confidence: float,
    *,
    resolver: str = "news",
    rationale: str = "",
    evidence: list[dict[str, Any]] | None = None,
    status: str = "pending",
) -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                insert(suggestions)
                .values(
                    question_id=question_id,
                    outcome=outcome,
                    confidence=confidence,
                    resolver=resolver,
                    rationale=rationale or f"{resolver} suggests {outcome}",
                    evidence=evidence or [],
                    status=status,
                    created_at=CREATED,
                    updated_at=CREATED,
                )
                .returning(suggestions.c.id)
            ).scalar_one()
        )


def suggestion_row(db: Database, suggestion_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(suggestions).where(suggestions.c.id == suggestion_id)).one()


@pytest.fixture
def server(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as live:
        yield live


@pytest.fixture
def browser(server: LiveServer) -> Iterator[Browser]:
    yield from open_browser(server.url)


@pytest.fixture
def queue(sqlite_db: Database, server: LiveServer) -> dict[str, int]:
    """Two open questions with three pending suggestions and one already rejected."""
    with api(server) as client:
        kappa = add_question(client, "Will the kappa ceasefire hold through March 2020?")
        lam = add_question(client, "Will the lambda summit take place in 2020?")
    return {
        "kappa": kappa,
        "lambda": lam,
        "kappa_yes": add_suggestion(
            sqlite_db,
            kappa,
            "yes",
            0.92,
            rationale="Two outlets report the ceasefire holding.",
            evidence=KAPPA_NEWS,
        ),
        "kappa_no": add_suggestion(
            sqlite_db, kappa, "no", 0.35, resolver="deadline", rationale="Deadline check."
        ),
        "lambda_yes": add_suggestion(
            sqlite_db, lam, "yes", 0.61, rationale="A date was set.", evidence=LAMBDA_NEWS
        ),
        "lambda_no": add_suggestion(sqlite_db, lam, "no", 0.2, status="rejected"),
    }


def card_ids(browser: Browser) -> list[int]:
    cards = browser.page.locator(".review-card")
    return [int(cards.nth(i).get_attribute("data-id")) for i in range(cards.count())]


def has_review_endpoints(server: LiveServer) -> bool:
    paths = httpx.get(f"{server.url}/openapi.json", timeout=10.0).json()["paths"]
    return "/api/suggestions/{suggestion_id}/accept" in paths


@pytest.mark.browser
def test_review_queue_lists_pending_most_confident_first(
    browser: Browser, queue: dict[str, int], tmp_path: Path
) -> None:
    page = browser.page
    browser.goto("/review")
    # Grouped by question (the question of the most confident suggestion first), each
    # question's suggestions most confident first.
    assert card_ids(browser) == [queue["kappa_yes"], queue["kappa_no"], queue["lambda_yes"]]
    assert page.locator(".nav .count").inner_text() == "3"

    card = page.locator(f"#suggestion-{queue['kappa_yes']}")
    text = card.inner_text()
    assert "92%" in text
    assert "Two outlets report the ceasefire holding." in text
    assert "news" in text
    question_link = card.locator(".review-question a")
    assert question_link.inner_text() == "Will the kappa ceasefire hold through March 2020?"
    assert question_link.get_attribute("href") == f"/questions/{queue['kappa']}"
    card.locator(".criteria-box summary").click()
    assert "Resolves YES if" in card.locator(".criteria-box p").inner_text()
    links = card.locator(".evidence a")
    assert links.all_inner_texts() == [item["title"] for item in KAPPA_NEWS]
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        item["url"] for item in KAPPA_NEWS
    ]
    assert "Example Wire" in text and "2020-03-02 10:00 UTC" in text
    assert "Monitors said the ceasefire has held for a month." in text
    assert "YES" in card.locator(".badge").inner_text()
    page.screenshot(path=tmp_path / "review.png", full_page=True)
    browser.check_clean()


@pytest.mark.browser
def test_accept_and_reject_from_the_review_page(
    sqlite_db: Database,
    server: LiveServer,
    browser: Browser,
    queue: dict[str, int],
    tmp_path: Path,
) -> None:
    assert has_review_endpoints(server), "the review API is served"
    page = browser.page
    browser.goto("/review")
    top = page.locator(f"#suggestion-{queue['kappa_yes']}")
    result = top.locator(".review-result")

    # Without a token, nothing is sent and the reader is told what is missing.
    top.locator("button[data-action=accept]").click()
    assert "Enter a token" in result.inner_text()

    # The server's refusals are shown as they come: a wrong token, then too few scopes.
    page.fill("#review-token", "fct_not-a-real-token")
    top.locator("button[data-action=accept]").click()
    page.wait_for_function("el => el.textContent.includes('401')", arg=result.element_handle())
    assert "invalid or revoked token" in result.inner_text()
    forecaster_only = create_token(sqlite_db, "forecaster-only", ["forecast"])[1]
    page.fill("#review-token", forecaster_only)
    top.locator("button[data-action=accept]").click()
    page.wait_for_function("el => el.textContent.includes('403')", arg=result.element_handle())
    assert "review" in result.inner_text()
    with api(server) as client:
        assert client.get(f"/api/questions/{queue['kappa']}").json()["status"] == "open"

    # A reviewer accepts: the card says so and the question's other suggestion is superseded.
    reviewer = create_token(sqlite_db, "reviewer", ["review"])[1]
    page.fill("#review-token", reviewer)
    top.locator("input[name=note]").fill("Confirmed by two outlets")
    top.locator("button[data-action=accept]").click()
    top.locator(".review-result", has_text="Accepted").wait_for()
    sibling = page.locator(f"#suggestion-{queue['kappa_no']}")
    assert "Superseded" in sibling.locator(".review-result").inner_text()
    assert sibling.locator("button[data-action=accept]").is_disabled()
    assert page.locator(".nav .count").inner_text() == "1"
    assert page.locator("#queue-count").inner_text() == "1 pending suggestion left on this page"
    page.screenshot(path=tmp_path / "review-accepted.png", full_page=True)

    with api(server) as client:
        question = client.get(f"/api/questions/{queue['kappa']}").json()
    assert (question["status"], question["outcome"]) == ("resolved", "yes")
    accepted = suggestion_row(sqlite_db, queue["kappa_yes"])
    assert (accepted.status, accepted.reviewed_by, accepted.review_note) == (
        "accepted",
        "reviewer",
        "Confirmed by two outlets",
    )
    assert suggestion_row(sqlite_db, queue["kappa_no"]).status == "superseded"

    # The token survives a reload (localStorage); the queue now holds the lambda suggestion.
    browser.goto("/review")
    assert page.input_value("#review-token") == reviewer
    assert card_ids(browser) == [queue["lambda_yes"]]
    card = page.locator(f"#suggestion-{queue['lambda_yes']}")
    card.locator("input[name=note]").fill("Only a date, not the summit itself")
    card.locator("button[data-action=reject]").click()
    card.locator(".review-result", has_text="Rejected").wait_for()
    rejected = suggestion_row(sqlite_db, queue["lambda_yes"])
    assert (rejected.status, rejected.review_note) == (
        "rejected",
        "Only a date, not the summit itself",
    )
    with api(server) as client:
        assert client.get(f"/api/questions/{queue['lambda']}").json()["status"] == "open"

    browser.goto("/review")
    assert card_ids(browser) == []
    assert "Nothing to review" in page.locator("#queue-empty").inner_text()
    assert page.locator(".nav .count").count() == 0
    browser.check_clean()


# Without a browser, on SQLite and PostgreSQL.


def test_question_page_lists_its_suggestions(client: TestClient, db: Database) -> None:
    question_id = add_question(client, "Will the kappa ceasefire hold through March 2020?")
    pending = add_suggestion(
        db, question_id, "yes", 0.8, rationale="Calm reported.", evidence=KAPPA_NEWS
    )
    add_suggestion(db, question_id, "no", 0.3, resolver="deadline", status="rejected")
    page = client.get(f"/questions/{question_id}")
    assert page.status_code == 200
    html = page.text
    assert 'Suggestions <span class="muted">(2)</span>' in html
    assert "Calm reported." in html
    assert f'href="/review#suggestion-{pending}"' in html
    for item in KAPPA_NEWS:
        assert f'href="{item["url"]}"' in html
        assert item["title"] in html
    assert "rejected" in html


def test_outside_text_is_escaped_and_only_web_links_are_linked(
    client: TestClient, db: Database
) -> None:
    question_id = add_question(client, "Will the lambda summit take place in 2020?")
    hostile = [
        {
            "title": "<script>alert('title')</script>",
            "url": "javascript:alert('url')",
            "published_at": "not a date",
            "source": "<b>feed</b>",
            "snippet": "<img src=x onerror=alert(1)>",
        }
    ]
    add_suggestion(db, question_id, "yes", 0.9, rationale="<i>why</i>", evidence=hostile)
    for path in ("/review", f"/questions/{question_id}"):
        html = client.get(path).text
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
        assert 'href="javascript:' not in html
        assert "<img src=x" not in html
        assert "<i>why</i>" not in html


def test_review_page_without_suggestions(client: TestClient) -> None:
    response = client.get("/review")
    assert response.status_code == 200
    assert "Nothing to review" in response.text
    assert 'id="review-token"' in response.text


@pytest.mark.browser
def test_undo_from_the_question_page_reopens_it(sqlite_db: Database, tmp_path: Path) -> None:
    """A mis-clicked acceptance is undone from the question's page: the question is open
    again, its suggestions are back in the queue, and the history says who undid it."""
    with start_server(sqlite_db) as server:
        with api(server) as client:
            question_id = add_question(client, "Will the kappa ceasefire hold?")
            yes = add_suggestion(sqlite_db, question_id, "yes", 0.8, evidence=KAPPA_NEWS)
            no = add_suggestion(sqlite_db, question_id, "no", 0.3)
            accepted = client.post(f"/api/suggestions/{yes}/accept", json={})
            assert accepted.status_code == 200
        reviewer = create_token(sqlite_db, "reviewer", ["review"])[1]
        for browser in open_browser(server.url):
            page = browser.page
            browser.goto(f"/questions/{question_id}")
            assert "Resolved" in page.locator("#resolution").inner_text()
            page.fill("#undo-token", "fct_not-a-real-token")
            page.click("#undo-button")
            page.locator("#undo-result", has_text="401").wait_for()
            page.fill("#undo-token", reviewer)
            page.fill("#undo-note", "accepted by mistake")
            page.click("#undo-button")
            page.wait_for_selector("#resolution", state="detached")
            page.screenshot(path=tmp_path / "question-undone.png", full_page=True)
            browser.check_clean()
        with api(server) as client:
            question = client.get(f"/api/questions/{question_id}").json()
            history = client.get(f"/api/questions/{question_id}/history").json()["items"]
        assert (question["status"], question["outcome"]) == ("open", None)
        assert suggestion_row(sqlite_db, yes).status == "pending"
        assert suggestion_row(sqlite_db, no).status == "pending"
        assert history[-1]["action"] == "question.reopen" and history[-1]["actor"] == "reviewer"
        assert history[-1]["after"]["note"] == "accepted by mistake"
