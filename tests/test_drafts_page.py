"""The drafts page (/drafts) in a real browser: paste a text, see its claims, edit one and
accept it, dismiss another, and find the question created.

The text is the project's own words about the Federal Reserve's rate rise of 16 December 2015
(https://www.federalreserve.gov/newsevents/pressreleases/monetary20151216a.htm).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.auth import create_token
from service.db import Database
from tests.test_dashboard import Browser, LiveServer, api, open_browser, start_server

pytestmark = pytest.mark.browser

TEXT = (
    "The Federal Reserve raised its target range for the federal funds rate on 16 December "
    "2015, the first increase since 2006.\n"
    "The Fed will probably raise rates fewer than four times next year. "
    "Ten-year Treasury yields are likely to stay below three per cent through 2016. "
    "Officials said further increases would be gradual."
)


@pytest.fixture
def server(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as live:
        yield live


@pytest.fixture
def browser(server: LiveServer) -> Iterator[Browser]:
    yield from open_browser(server.url)


def test_paste_a_text_accept_a_claim_and_see_its_question(
    browser: Browser, server: LiveServer, sqlite_db: Database, tmp_path: Path
) -> None:
    page = browser.page
    browser.goto("/drafts")
    assert page.locator('.nav a[aria-current="page"]').inner_text() == "Drafts"

    # Without a token nothing is sent, and the reader is told what is missing.
    page.fill("#draft-text", TEXT)
    page.click("#draft-submit")
    assert "Enter a token" in page.locator("#draft-status").inner_text()

    _token_id, secret = create_token(sqlite_db, "desk", ["forecast", "record"])
    page.fill("#draft-token", secret)
    page.fill("#draft-publisher", "Example Weekly")
    page.fill("#draft-author", "Ann Analyst")
    page.fill("#draft-published-on", "2015-12-17")
    page.click("#draft-submit")
    page.locator("#draft-claims .draft-claim").nth(1).wait_for()
    cards = page.locator("#draft-claims .draft-claim")
    assert cards.count() == 2
    assert page.locator("#draft-count").inner_text() == "2 claims found."
    first = page.locator("#claim-0")
    assert first.locator(".draft-sentence mark").inner_text() == "will probably"
    assert "will probably (75%)" in first.locator(".draft-claim-estimate").inner_text()
    assert first.locator("[name=resolve_by]").input_value() == "2016-12-31"
    assert first.locator("[name=forecaster]").get_attribute("placeholder") == "Ann Analyst"
    assert "/drafts?id=" in page.url

    # Edit the proposal, then accept it.
    title = "Will the Federal Reserve raise rates fewer than four times in 2016?"
    first.locator("[name=title]").fill(title)
    first.locator("button[data-action=accept]").click()
    first.locator(".draft-claim-result", has_text="Accepted").wait_for()
    assert first.locator("button[data-action=accept]").is_disabled()
    link = first.locator(".draft-question-link")
    question_path = link.get_attribute("href")
    assert question_path and question_path.startswith("/questions/")

    second = page.locator("#claim-1")
    second.locator("button[data-action=dismiss]").click()
    second.locator(".draft-claim-result", has_text="Dismissed").wait_for()
    page.screenshot(path=tmp_path / "drafts.png", full_page=True)

    # The question exists, with the edited title and the article's forecast.
    with api(server) as client:
        question = client.get("/api" + question_path).json()
    assert question["title"] == title
    assert question["opened_on"] == "2015-12-17"
    (forecast,) = question["forecasts"]
    assert (forecast["forecaster"], forecast["estimate"]) == ("Ann Analyst", "will probably")

    # Its page shows it; reloading the draft shows both decisions.
    link.click()
    page.wait_for_url("**" + question_path)
    assert title in page.locator("h1").inner_text()
    page.go_back()
    page.locator("#claim-1 .draft-claim-result", has_text="Dismissed").wait_for()
    assert page.locator("#claim-0 .badge").inner_text() == "accepted"
    browser.check_clean()
