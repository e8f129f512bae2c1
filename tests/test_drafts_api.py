"""Drafts through the HTTP API: a text (or a page on loopback) in, claims out, each accepted
as a question with its forecast or dismissed; and the bad inputs.

The texts are the project's own words about real, dated events: the Federal Reserve's rate
rise of 16 December 2015 (press release of that day,
https://www.federalreserve.gov/newsevents/pressreleases/monetary20151216a.htm) and the
Paris Agreement adopted on 12 December 2015 (https://unfccc.int/process-and-meetings/the-paris-agreement).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from forecasts import drafts
from forecasts.drafts import MAX_TEXT_BYTES
from forecasts.errors import Conflict
from forecasts.schemas import ClaimAccept, SourceDocument
from service.app import create_app
from service.auth import create_token
from service.db import Database
from service.limits import DOCUMENT_BODY_BYTES
from tests.conftest import ADMIN, make_settings

FED_TEXT = (
    "The Federal Reserve raised its target range for the federal funds rate on 16 December "
    "2015, the first increase since 2006. The Fed will probably raise rates fewer than four "
    "times next year. Ten-year Treasury yields are likely to stay below three per cent "
    "through 2016. Officials said further increases would be gradual."
)
FED_SOURCE = {
    "title": "After the first rise",
    "publisher": "Example Weekly",
    "author": "Ann Analyst",
    "published_on": "2015-12-17",
}
PARIS_HTML = """<!doctype html>
<html lang="en"><head>
<title>Paris: what the agreement means | Example Review</title>
<meta name="author" content="Bea Writer">
<meta property="og:site_name" content="Example Review">
<meta property="og:title" content="Paris: what the agreement means">
<meta property="article:published_time" content="2015-12-14T09:00:00Z">
<link rel="canonical" href="https://review.invalid/paris-agreement">
</head><body>
<nav><a href="https://review.invalid/">Home</a> <a href="https://review.invalid/world">World</a></nav>
<article>
<h1>Paris: what the agreement means</h1>
<p>On 12 December, delegates at the climate conference in Paris adopted a new global
agreement. It aims to hold the rise in global temperature well below two degrees Celsius,
and it enters into force once 55 parties accounting for 55 per cent of global emissions
have ratified it.</p>
<p>That threshold is bound to be reached well before 2020, because China and the United
States both want the deal in force. The pledges made so far do not add up to the
two-degree goal, and countries will almost certainly have to strengthen them at the first
reviews.</p>
<p>Read more at <a href="https://review.invalid/climate">our climate page</a>.</p>
</article>
<footer>Example Review, all rights reserved.</footer>
</body></html>
"""


def post_draft(client: TestClient, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post("/api/drafts", json=body, headers=ADMIN if headers is None else headers)


def fed_draft(client: TestClient, **source: Any) -> dict[str, Any]:
    response = post_draft(client, text=FED_TEXT, **{**FED_SOURCE, **source})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def token(db: Database, name: str, *scopes: str) -> dict[str, str]:
    _token_id, secret = create_token(db, name, list(scopes))
    return {"Authorization": f"Bearer {secret}"}


def test_a_text_gives_its_claims(client: TestClient) -> None:
    draft = fed_draft(client)
    assert set(draft) >= {"id", "source", "claims"}
    assert {k: draft["source"][k] for k in FED_SOURCE} == FED_SOURCE
    assert draft["source"]["url"] is None
    assert [c["index"] for c in draft["claims"]] == [0, 1]
    first, second = draft["claims"]
    assert first["sentence"] == "The Fed will probably raise rates fewer than four times next year."
    assert FED_TEXT[first["start"] : first["end"]] == first["sentence"]
    assert (first["hedge"], first["estimate"], first["probability"]) == (
        "will probably",
        "will probably",
        0.75,
    )
    assert first["status"] == "proposed" and first["question_id"] is None
    assert set(first["proposed"]) == {
        "title",
        "resolution_criteria",
        "resolve_by",
        "news_query",
        "default_outcome",
    }
    assert first["proposed"]["resolve_by"] == "2016-12-31"  # "next year" after 2015-12-17
    assert first["proposed"]["default_outcome"] == "no"
    assert (second["hedge"], second["estimate"]) == ("are likely to", "likely")
    assert second["proposed"]["default_outcome"] == "yes"  # "stay below": the status quo
    assert client.get(f"/api/drafts/{draft['id']}").json() == draft


def test_accepting_a_claim_creates_its_question(client: TestClient) -> None:
    draft = fed_draft(client)
    claim = draft["claims"][0]
    response = client.post(f"/api/drafts/{draft['id']}/claims/0/accept", headers=ADMIN)
    assert response.status_code == 201, response.text
    question = response.json()
    assert question["title"] == claim["proposed"]["title"]
    assert question["resolution_criteria"] == claim["proposed"]["resolution_criteria"]
    assert question["resolve_by"] == claim["proposed"]["resolve_by"]
    assert question["news_query"] == claim["proposed"]["news_query"]
    assert question["default_outcome"] == "no"
    assert question["opened_on"] == "2015-12-17"
    assert {k: question["source"][k] for k in FED_SOURCE} == FED_SOURCE
    (forecast,) = question["forecasts"]
    assert forecast["forecaster"] == "Ann Analyst"  # the source's author
    assert (forecast["estimate"], forecast["probability"]) == ("will probably", 0.75)
    assert forecast["made_on"] == "2015-12-17"
    assert claim["sentence"] in forecast["rationale"]
    again = client.get(f"/api/drafts/{draft['id']}").json()["claims"][0]
    assert (again["status"], again["question_id"]) == ("accepted", question["id"])
    assert client.get(f"/api/questions/{question['id']}").json()["title"] == question["title"]


def test_overrides_of_the_proposal(client: TestClient) -> None:
    draft = fed_draft(client)
    body = {
        "title": "Will the Federal Reserve raise rates fewer than four times in 2016?",
        "resolve_by": "2016-12-31",
        "default_outcome": "no",
        "forecaster": "Example Weekly desk",
        "probability": 0.6,
        "tags": ["fed"],
    }
    response = client.post(f"/api/drafts/{draft['id']}/claims/0/accept", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    question = response.json()
    assert question["title"] == body["title"]
    assert question["tags"] == ["fed"]
    # The proposed query was derived from the old title: a new title gets a new one.
    assert "Reserve" in question["news_query"]
    (forecast,) = question["forecasts"]
    assert (forecast["forecaster"], forecast["probability"]) == ("Example Weekly desk", 0.6)


def test_the_forecaster_defaults_to_publisher_then_title(client: TestClient) -> None:
    by_publisher = fed_draft(client, author=None)
    accepted = client.post(f"/api/drafts/{by_publisher['id']}/claims/0/accept", headers=ADMIN)
    assert accepted.json()["forecasts"][0]["forecaster"] == "Example Weekly"
    by_title = fed_draft(client, author=None, publisher=None)
    accepted = client.post(f"/api/drafts/{by_title['id']}/claims/0/accept", headers=ADMIN)
    assert accepted.json()["forecasts"][0]["forecaster"] == "After the first rise"
    nameless = fed_draft(client, author=None, publisher=None, title=None)
    refused = client.post(f"/api/drafts/{nameless['id']}/claims/0/accept", headers=ADMIN)
    assert refused.status_code == 422
    assert "forecaster" in refused.text
    assert client.get(f"/api/drafts/{nameless['id']}").json()["claims"][0]["status"] == "proposed"


def test_a_claim_is_decided_once(client: TestClient) -> None:
    draft = fed_draft(client)
    base = f"/api/drafts/{draft['id']}/claims"
    assert client.post(f"{base}/0/accept", headers=ADMIN).status_code == 201
    twice = client.post(f"{base}/0/accept", headers=ADMIN)
    assert twice.status_code == 409 and "already accepted" in twice.json()["detail"]
    assert client.post(f"{base}/0/dismiss", headers=ADMIN).status_code == 409
    dismissed = client.post(f"{base}/1/dismiss", headers=ADMIN)
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed" and dismissed.json()["index"] == 1
    assert client.post(f"{base}/1/accept", headers=ADMIN).status_code == 409
    assert client.post(f"{base}/1/dismiss", headers=ADMIN).status_code == 409
    total = client.get("/api/questions").json()["total"]
    assert total == 1  # nothing half-written by the refused calls


def test_unknown_drafts_and_claims_are_404(client: TestClient) -> None:
    draft = fed_draft(client)
    assert client.get("/api/drafts/999").status_code == 404
    assert client.post("/api/drafts/999/claims/0/accept", headers=ADMIN).status_code == 404
    assert client.post("/api/drafts/999/claims/0/dismiss", headers=ADMIN).status_code == 404
    missing = client.post(f"/api/drafts/{draft['id']}/claims/7/accept", headers=ADMIN)
    assert missing.status_code == 404 and "no claim 7" in missing.json()["detail"]
    assert (
        client.post(f"/api/drafts/{draft['id']}/claims/7/dismiss", headers=ADMIN).status_code == 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "No text at all"},
        {"text": "   \n "},
        {"text": FED_TEXT, "url": "https://example.invalid/a"},
        {"text": FED_TEXT, "colour": "blue"},
        {"text": FED_TEXT, "published_on": "2015-13-01"},
        {"text": 42},
    ],
)
def test_bad_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/api/drafts", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_a_source_dated_in_the_future_is_422(client: TestClient) -> None:
    response = post_draft(client, text=FED_TEXT, published_on="2999-01-01")
    assert response.status_code == 422 and "published_on" in response.text


def test_bad_overrides_are_422(client: TestClient) -> None:
    draft = fed_draft(client)
    url = f"/api/drafts/{draft['id']}/claims/0/accept"
    for body in ({"probability": 1.5}, {"probability": True}, {"title": "short"}, {"x": 1}):
        assert client.post(url, json=body, headers=ADMIN).status_code == 422, body
    bad_window = client.post(url, json={"resolve_by": "2015-01-01"}, headers=ADMIN)
    assert bad_window.status_code == 422 and "resolve_by" in bad_window.text
    assert client.get(f"/api/drafts/{draft['id']}").json()["claims"][0]["status"] == "proposed"


def test_a_claim_without_a_table_phrase_needs_a_number(client: TestClient) -> None:
    response = post_draft(
        client, text="Fed officials will raise rates again in March.", author="Ann Analyst"
    )
    draft = response.json()
    assert draft["claims"][0]["estimate"] is None
    url = f"/api/drafts/{draft['id']}/claims/0/accept"
    refused = client.post(url, headers=ADMIN)
    assert refused.status_code == 422 and "probability" in refused.text
    accepted = client.post(url, json={"estimate": "likely"}, headers=ADMIN)
    assert accepted.status_code == 201
    assert accepted.json()["forecasts"][0]["probability"] == 0.7


def test_a_text_over_1_mib_is_413_naming_the_field(client: TestClient) -> None:
    response = post_draft(client, text="a" * (MAX_TEXT_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["detail"].startswith("text is")
    # Counted in UTF-8: 350,000 three-byte characters are over 1 MiB.
    assert post_draft(client, text="€" * 350_000).status_code == 413
    assert client.get("/api/drafts/1").status_code == 404


def test_the_drafts_body_room_is_its_own(client: TestClient) -> None:
    # POST /api/drafts takes a body beyond the 1 MiB request limit, so that the text's own
    # limit answers (above); past DOCUMENT_BODY_BYTES the request guard answers.
    huge = post_draft(client, text="a" * (DOCUMENT_BODY_BYTES["/api/drafts"] + 1))
    assert huge.status_code == 413 and "request body over" in huge.json()["detail"]
    other = client.post(
        "/api/questions", content=b"{" + b" " * (MAX_TEXT_BYTES + 10) + b"}", headers=ADMIN
    )
    assert other.status_code == 413


def test_a_text_without_claims_is_201_with_none(client: TestClient) -> None:
    response = post_draft(client, text="The Federal Reserve raised rates in December 2015.")
    assert response.status_code == 201
    assert response.json()["claims"] == []


def test_writes_need_a_token_with_the_forecast_scope(client: TestClient, db: Database) -> None:
    assert client.post("/api/drafts", json={"text": FED_TEXT}).status_code == 401
    reviewer = token(db, "rev", "review")
    assert post_draft(client, reviewer, text=FED_TEXT).status_code == 403


def test_a_forecast_under_another_name_needs_record(client: TestClient, db: Database) -> None:
    ann = token(db, "ann analyst", "forecast")
    bob = token(db, "bob", "forecast")
    recorder = token(db, "rec", "forecast", "record")
    draft = post_draft(client, ann, text=FED_TEXT, **FED_SOURCE).json()
    base = f"/api/drafts/{draft['id']}/claims"
    refused = client.post(f"{base}/0/accept", headers=bob)
    assert refused.status_code == 403 and "record" in refused.json()["detail"]
    # The author's own token: the same identity, whatever the spelling.
    assert client.post(f"{base}/0/accept", headers=ann).status_code == 201
    assert (
        client.post(f"{base}/1/accept", json={"forecaster": "bob"}, headers=bob).status_code == 201
    )
    other = post_draft(client, bob, text=FED_TEXT, **FED_SOURCE).json()
    accepted = client.post(f"/api/drafts/{other['id']}/claims/0/accept", headers=recorder)
    assert accepted.status_code == 201
    assert accepted.json()["forecasts"][0]["forecaster"] == "Ann Analyst"


# The URL path: pages served on loopback by pytest-httpserver.


def test_a_page_gives_its_text_and_metadata(client: TestClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/paris").respond_with_data(
        PARIS_HTML, content_type="text/html; charset=utf-8"
    )
    url = httpserver.url_for("/paris")
    response = post_draft(client, url=url)
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["source"]["url"] == url
    assert draft["source"]["author"] == "Bea Writer"
    assert draft["source"]["publisher"] == "Example Review"
    assert draft["source"]["published_on"] == "2015-12-14"
    assert "Paris" in draft["source"]["title"]
    assert "Home" not in draft["text"] and "all rights reserved" not in draft["text"]
    hedges = [c["hedge"] for c in draft["claims"]]
    assert hedges == ["is bound to", "will almost certainly"]
    for claim in draft["claims"]:
        # Offsets are in the extracted text, which the draft carries.
        assert draft["text"][claim["start"] : claim["end"]] == claim["sentence"]
    assert draft["claims"][0]["proposed"]["resolve_by"] == "2019-12-31"  # "before 2020"


def test_the_body_overrides_the_page_metadata(client: TestClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/paris").respond_with_data(PARIS_HTML, content_type="text/html")
    response = post_draft(
        client, url=httpserver.url_for("/paris"), author="Someone Else", published_on="2015-12-15"
    )
    source = response.json()["source"]
    assert (source["author"], source["published_on"]) == ("Someone Else", "2015-12-15")
    assert source["publisher"] == "Example Review"


def test_a_plain_text_page_is_taken_as_it_is(
    sqlite_client: TestClient, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/fed.txt").respond_with_data(
        FED_TEXT, content_type="text/plain; charset=utf-8"
    )
    draft = post_draft(sqlite_client, url=httpserver.url_for("/fed.txt")).json()
    assert draft["text"] == FED_TEXT
    assert len(draft["claims"]) == 2


@pytest.mark.parametrize(
    ("content_type", "body", "why"),
    [
        ("application/pdf", b"%PDF-1.4 not a page", "application/pdf, not HTML or plain text"),
        ("image/png", b"\x89PNG\r\n", "image/png"),
        ("application/octet-stream", b"\x00\x01binary", "application/octet-stream"),
        ("text/html", b"<html><head></head><body></body></html>", "no article text"),
    ],
)
def test_a_page_that_is_not_html_or_text_is_422(
    sqlite_client: TestClient, httpserver: HTTPServer, content_type: str, body: bytes, why: str
) -> None:
    httpserver.expect_request("/thing").respond_with_data(body, content_type=content_type)
    response = post_draft(sqlite_client, url=httpserver.url_for("/thing"))
    assert response.status_code == 422, response.text
    assert why in response.json()["detail"]
    assert response.json()["field"] == "url"


def test_a_page_that_fails_is_422(sqlite_client: TestClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    response = post_draft(sqlite_client, url=httpserver.url_for("/gone"))
    assert response.status_code == 422
    assert "HTTP 404" in response.json()["detail"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_page_that_does_not_answer_is_422(sqlite_client: TestClient) -> None:
    response = post_draft(sqlite_client, url=f"http://127.0.0.1:{_closed_port()}/article")
    assert response.status_code == 422
    assert "cannot fetch" in response.json()["detail"]
    assert "cannot connect" in response.json()["detail"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "not a url"])
def test_urls_that_cannot_be_fetched_are_422(sqlite_client: TestClient, url: str) -> None:
    response = post_draft(sqlite_client, url=url)
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.fixture
def guarded_client(sqlite_db: Database) -> Iterator[TestClient]:
    """The app as deployed: private and loopback addresses refused."""
    url = sqlite_db.url.render_as_string(hide_password=False)
    settings = make_settings(url, allow_private_sources=False)
    with TestClient(create_app(settings, sqlite_db)) as test_client:
        yield test_client


def test_the_guard_refuses_a_loopback_page(
    guarded_client: TestClient, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/paris").respond_with_data(PARIS_HTML, content_type="text/html")
    response = post_draft(guarded_client, url=httpserver.url_for("/paris"))
    assert response.status_code == 422
    assert "private" in response.json()["detail"]
    assert httpserver.log == []  # refused before any connection


def test_two_accepts_at_once_make_one_question(db: Database) -> None:
    """Two reviewers accepting the same claim at the same moment: one question, one 409."""
    today = date(2016, 1, 5)
    with db.write() as conn:
        draft_id = drafts.create_draft(
            conn, FED_TEXT, SourceDocument(author="Ann Analyst"), today=today, actor="test"
        )
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def accept() -> None:
        start.wait()
        try:
            with db.write() as conn:
                outcomes.append(
                    drafts.accept_claim(
                        conn,
                        draft_id,
                        0,
                        ClaimAccept(),
                        forecaster="Ann Analyst",
                        today=today,
                        actor="test",
                    )
                )
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "int"]
    with db.read() as conn:
        draft = drafts.get_draft(conn, draft_id)
    assert draft.claims[0].status == "accepted"
    assert draft.claims[0].question_id in outcomes
