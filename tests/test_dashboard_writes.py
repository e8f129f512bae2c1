"""The dashboard writes, in a real browser (Debian's Chromium through Playwright): a new
question with its first forecast, a forecast and a resolution on the question page, errors
beside their fields, the review queue's "reviewed" tab with Undo, and the 390 px layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.auth import create_token
from service.db import Database
from tests.conftest import ADMIN, ADMIN_SECRET
from tests.test_dashboard import Browser, LiveServer, api, open_browser, start_server
from tests.test_review_page import add_question, add_suggestion

pytestmark = pytest.mark.browser
TOKEN_KEY = "forecasts.reviewToken"


@pytest.fixture
def server(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as live:
        yield live


@pytest.fixture
def browser(server: LiveServer) -> Iterator[Browser]:
    yield from open_browser(server.url)


def _keep_token(browser: Browser, token: str) -> None:
    browser.page.evaluate(f"sessionStorage.setItem('{TOKEN_KEY}', {token!r})")


def test_create_a_question_through_the_form(
    browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    page = browser.page
    browser.goto("/questions")
    page.click("#new-question-link")
    page.wait_for_url("**/questions/new")
    page.fill("#write-token", ADMIN_SECRET)
    page.fill("#nq-title", "Will the form make a question by 2027?")
    page.fill("#nq-criteria", "YES if this test sees the question page.")
    page.fill("#nq-opened-on", "2026-01-01")
    page.fill("#nq-resolve-by", "12/31/2027")
    page.fill("#nq-probability", "70")
    page.fill("#nq-rationale", "Forms are simple.")
    page.click("#nq-submit")
    # The 422's loc puts each message beside its field.
    date_error = page.locator('[data-error-for="resolve_by"]')
    date_error.wait_for()
    assert "use YYYY-MM-DD" in date_error.inner_text()
    probability_error = page.locator('[data-error-for="forecast.probability"]')
    assert "did you mean 0.7?" in probability_error.inner_text()
    page.screenshot(path=tmp_path / "new-question-errors.png", full_page=True)

    page.fill("#nq-resolve-by", "2027-12-31")
    page.fill("#nq-probability", "0.7")
    page.click("#nq-submit")
    page.wait_for_url(re.compile(r".*/questions/\d+$"))
    assert page.inner_text("#question-title") == "Will the form make a question by 2027?"
    question_id = int(page.url.rsplit("/", 1)[1])
    with api(server) as client:
        question = client.get(f"/api/questions/{question_id}").json()
    assert question["resolve_by"] == "2027-12-31"
    (forecast,) = question["forecasts"]
    assert (forecast["probability"], forecast["rationale"]) == (0.7, "Forms are simple.")
    # The token is kept for the next form.
    assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == ADMIN_SECRET
    browser.check_clean()


def test_forecast_and_resolve_on_the_question_page(
    browser: Browser, server: LiveServer, sqlite_db: Database, tmp_path: Path
) -> None:
    page = browser.page
    with api(server) as client:
        question_id = add_question(client, "Will the question page take a forecast?")
    browser.goto(f"/questions/{question_id}")
    _keep_token(browser, ADMIN_SECRET)
    browser.goto(f"/questions/{question_id}")
    assert page.input_value("#write-token") == ADMIN_SECRET

    # A phrase from the estimate table (GET /api/estimates).
    page.wait_for_function("document.querySelectorAll('#fc-estimate option').length > 1")
    phrase = page.locator("#fc-estimate option").nth(1).get_attribute("value")
    page.select_option("#fc-estimate", phrase)
    page.fill("#fc-forecaster", "dora")
    page.fill("#fc-made-on", "2020-02-01")
    page.click("#fc-submit")
    page.locator("#forecast-table", has_text="dora").wait_for()
    with api(server) as client:
        forecasts = client.get(f"/api/questions/{question_id}").json()["forecasts"]
    assert [(f["forecaster"], f["estimate"]) for f in forecasts][-1] == ("dora", phrase)

    # A token without the review scope: the 403's detail is shown.
    forecaster = create_token(sqlite_db, "forecaster-only", ["forecast"])[1]
    page.fill("#write-token", forecaster)
    page.check("#resolve-form input[value=yes]")
    page.fill("#rs-resolved-on", "2020-06-01")
    page.click("#rs-submit")
    refusal = page.locator('#resolve-form [data-error-for="_form"]')
    page.wait_for_function("el => el.textContent.includes('403')", arg=refusal.element_handle())
    assert "lacks the 'review' scope" in refusal.inner_text()

    page.fill("#write-token", ADMIN_SECRET)
    page.fill("#rs-note", "Seen in the news")
    page.click("#rs-submit")
    page.locator("#resolution").wait_for()
    assert "Resolved" in page.inner_text("#resolution")
    assert page.locator("#undo").count() == 1
    with api(server) as client:
        question = client.get(f"/api/questions/{question_id}").json()
    assert (question["status"], question["outcome"], question["resolution_note"]) == (
        "resolved",
        "yes",
        "Seen in the news",
    )
    page.screenshot(path=tmp_path / "question-resolved.png", full_page=True)
    browser.check_clean()


def test_reviewed_tab_shows_who_when_note_and_undoes(
    browser: Browser, server: LiveServer, sqlite_db: Database, tmp_path: Path
) -> None:
    page = browser.page
    with api(server) as client:
        question_id = add_question(client, "Will the reviewed tab undo a review?")
        first = add_suggestion(sqlite_db, question_id, "yes", 0.9)
        second = add_suggestion(sqlite_db, question_id, "no", 0.3, resolver="deadline")
        accepted = client.post(
            f"/api/suggestions/{first}/accept", json={"note": "two outlets agree"}, headers=ADMIN
        )
        assert accepted.status_code == 200
    browser.goto("/review?tab=reviewed")
    assert page.inner_text("#tab-reviewed .tab-count") == "1"
    item = page.locator(f"#reviewed-{first}")
    text = item.inner_text()
    assert "accepted by admin" in text and "two outlets agree" in text and "UTC" in text
    page.fill("#review-token", ADMIN_SECRET)
    item.locator("input[name=note]").fill("too hasty")
    item.locator("button[type=submit]").click()
    item.locator(".review-result", has_text="Undone").wait_for()
    with api(server) as client:
        assert client.get(f"/api/questions/{question_id}").json()["status"] == "open"
        pending = client.get("/api/suggestions", params={"status": "pending"}).json()["items"]
    assert {s["id"] for s in pending} == {first, second}
    browser.goto("/review")
    assert page.inner_text("#tab-pending .tab-count") == "2"
    group = page.locator(f"#question-group-{question_id} .review-card")
    assert [group.nth(i).get_attribute("data-id") for i in range(2)] == [str(first), str(second)]
    page.screenshot(path=tmp_path / "review-grouped.png", full_page=True)
    browser.check_clean()


def _overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    if not a or not b:
        return False
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_question_page_at_390_px(browser: Browser, server: LiveServer, tmp_path: Path) -> None:
    page = browser.page
    rationale = (
        "A long rationale that must wrap inside the forecast table on a phone, not run off "
        "its right edge: " + "wordswithoutbreaks" * 3 + " and then more ordinary words."
    )
    with api(server) as client:
        question_id = add_question(client, "Will the phone layout hold at 390 pixels?")
        for name, probability in (("erin", 0.35), ("frank", 0.8)):
            response = client.post(
                f"/api/questions/{question_id}/forecasts",
                json={
                    "forecaster": name,
                    "probability": probability,
                    "made_on": "2020-03-01",
                    "rationale": rationale,
                    "estimate": None,
                },
            )
            assert response.status_code == 201, response.text
    page.set_viewport_size({"width": 390, "height": 844})
    browser.goto(f"/questions/{question_id}")
    page.locator("#history-chart .legend").wait_for()
    overflow = page.evaluate(
        """() => {
            const wrap = document.querySelector('#forecast-table').closest('.table-wrap');
            const cell = document.querySelector('#forecast-table .rationale-row td');
            return {wrap: wrap.scrollWidth - wrap.clientWidth,
                    cell: cell.getBoundingClientRect().right - wrap.getBoundingClientRect().right,
                    page: document.documentElement.scrollWidth - window.innerWidth};
        }"""
    )
    assert overflow["wrap"] <= 1, f"the forecast table scrolls sideways: {overflow}"
    assert overflow["cell"] <= 1, f"the rationale is clipped: {overflow}"
    assert overflow["page"] <= 1, f"the page is wider than the phone: {overflow}"
    legend = page.locator("#history-chart .legend").bounding_box()
    for title in ("#history-chart .g-xtitle", "#history-chart .g-ytitle"):
        if page.locator(title).count():
            box = page.locator(title).bounding_box()
            assert not _overlap(box, legend), f"{title} overlaps the legend"
    page.screenshot(path=tmp_path / "question-390.png", full_page=True)
    browser.check_clean()


def test_calibration_chart_at_390_px(browser: Browser, server: LiveServer, tmp_path: Path) -> None:
    with api(server) as client:
        for i, (p, outcome) in enumerate([(0.1, "no"), (0.3, "yes"), (0.55, "no"), (0.9, "yes")]):
            question_id = add_question(client, f"Will calibration question {i} resolve?")
            client.post(
                f"/api/questions/{question_id}/forecasts",
                json={"forecaster": "gina", "probability": p, "made_on": "2020-01-03"},
            )
            resolved = client.post(
                f"/api/questions/{question_id}/resolve",
                json={"outcome": outcome, "resolved_on": "2020-06-01"},
            )
            assert resolved.status_code == 200, resolved.text
    page = browser.page
    page.set_viewport_size({"width": 390, "height": 844})
    browser.goto("/")
    page.locator("#calibration-chart .legend").wait_for()
    legend = page.locator("#calibration-chart .legend").bounding_box()
    titles = page.locator("#calibration-chart .g-xtitle, #calibration-chart .g-x2title")
    for i in range(titles.count()):
        assert not _overlap(titles.nth(i).bounding_box(), legend), "axis title under the legend"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=tmp_path / "overview-390.png", full_page=True)
    browser.check_clean()
