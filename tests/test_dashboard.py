"""The dashboard, as a reader sees it: pages rendered by the server, charts drawn by the vendored
Plotly in a real headless Chromium, against the app served by uvicorn on loopback.

The known data set (built through the HTTP API) has two forecasters on three resolved
questions and one open question:

| question | tags     | alice        | bob  | outcome |
| -------- | -------- | ------------ | ---- | ------- |
| alpha    | econ     | 0.82         | 0.33 | yes     |
| beta     | econ     | 0.14         | 0.62 | no      |
| gamma    | politics | 0.55 → 0.67  | 0.91 | yes     |
| delta    | politics | 0.40         | —    | open    |

With 10 bins, the scored probabilities fall in bins 1, 3, 6 (twice), 8 and 9: five points
for everyone, three for alice (bins 1, 6, 8), four for the econ tag (bins 1, 3, 6, 8).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import Database
from tests.conftest import ADMIN, make_settings
from tests.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}
SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "questions.json"
# How long a page may take to draw its chart on a slow machine before the test gives up.
WAIT_MS = 15_000


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 15.0) -> None:
    """Poll `condition` in short steps until it holds; fail with `what` at the deadline."""
    wait_until(condition, timeout, what, interval=0.05)


class LiveServer:
    """The app served by uvicorn in a background thread on a loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def _healthy(self) -> bool:
        if not self.thread.is_alive():
            raise AssertionError("the server thread exited before answering /healthz")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(self._healthy, what=f"{self.url}/healthz")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


@dataclass
class Browser:
    """A Chromium page that may only reach loopback, with what it tried beyond and its JS errors."""

    page: Any
    base_url: str
    offsite: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def check_clean(self) -> None:
        assert self.offsite == [], "the page tried to load from the network"
        assert self.errors == [], "the page raised JavaScript errors"


def start_server(db: Database) -> LiveServer:
    url = db.url.render_as_string(hide_password=False)
    return LiveServer(create_app(make_settings(url), db))


@pytest.fixture
def live_server(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as server:
        yield server


def open_browser(base_url: str) -> Iterator[Browser]:
    """A fresh Chromium page, with every non-loopback request refused and recorded."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        browser = Browser(page=None, base_url=base_url)

        def only_loopback(route: Any) -> None:
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
                route.continue_()
            else:
                browser.offsite.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: browser.errors.append(str(exc)))
        browser.page = page
        try:
            yield browser
        finally:
            chromium.close()


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[Browser]:
    yield from open_browser(live_server.url)


def api(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=ADMIN, timeout=10.0)


def create_question(
    client: httpx.Client | TestClient,
    title: str,
    tags: list[str],
    forecasts: list[tuple[str, float, str]],
    *,
    resolve: tuple[str, str] | None = None,
    note: str | None = None,
    evidence: list[str] | None = None,
) -> int:
    """A question opened 2020-01-01 with `forecasts` [(forecaster, p, made_on)], maybe resolved."""
    first, *rest = forecasts
    response = client.post(
        "/api/questions",
        json={
            "title": title,
            "resolution_criteria": f"Resolves YES if {title.lower()} is reported.",
            "opened_on": "2020-01-01",
            "resolve_by": "2020-12-31",
            "tags": tags,
            "source": {"title": "Outlook 2020", "publisher": "Test Weekly"},
            "forecast": {"forecaster": first[0], "probability": first[1], "made_on": first[2]},
        },
    )
    assert response.status_code == 201, response.text
    question_id = int(response.json()["id"])
    for forecaster, probability, made_on in rest:
        response = client.post(
            f"/api/questions/{question_id}/forecasts",
            json={"forecaster": forecaster, "probability": probability, "made_on": made_on},
        )
        assert response.status_code == 201, response.text
    if resolve is not None:
        outcome, resolved_on = resolve
        body: dict[str, Any] = {"outcome": outcome, "resolved_on": resolved_on}
        if note:
            body["note"] = note
        if evidence:
            body["evidence_urls"] = evidence
        response = client.post(f"/api/questions/{question_id}/resolve", json=body)
        assert response.status_code == 200, response.text
    return question_id


@pytest.fixture
def known_data(live_server: LiveServer) -> dict[str, int]:
    with api(live_server) as client:
        return {
            "alpha": create_question(
                client,
                "Will the alpha treaty be signed in 2020?",
                ["econ"],
                [("alice", 0.82, "2020-01-05"), ("bob", 0.33, "2020-01-06")],
                resolve=("yes", "2020-03-01"),
            ),
            "beta": create_question(
                client,
                "Will the beta tariff be lifted in 2020?",
                ["econ"],
                [("alice", 0.14, "2020-01-05"), ("bob", 0.62, "2020-01-06")],
                resolve=("no", "2020-06-01"),
            ),
            "gamma": create_question(
                client,
                "Will the gamma election be called early in 2020?",
                ["politics"],
                [
                    ("alice", 0.55, "2020-01-05"),
                    ("bob", 0.91, "2020-01-10"),
                    ("alice", 0.67, "2020-02-01"),
                ],
                resolve=("yes", "2020-04-15"),
                note="The prime minister called the election on 15 April.",
                evidence=["https://example.org/gamma-election-called"],
            ),
            "delta": create_question(
                client,
                "Will the delta bridge open to traffic in 2020?",
                ["politics"],
                [("alice", 0.40, "2020-01-05")],
            ),
        }


def brier(pairs: list[tuple[float, int]]) -> str:
    return f"{sum((p - o) ** 2 for p, o in pairs) / len(pairs):.3f}"


ALICE = [(0.82, 1), (0.14, 0), (0.67, 1)]
BOB = [(0.33, 1), (0.62, 0), (0.91, 1)]
# Each question has one other forecaster, so alice's relative Brier is the mean difference.
RELATIVE = sum((a - o) ** 2 - (b - o) ** 2 for (a, o), (b, _) in zip(ALICE, BOB, strict=True)) / 3


def chart_points(browser: Browser, div: str) -> int:
    browser.page.wait_for_function(f"document.getElementById('{div}')?.data !== undefined")
    return int(browser.page.evaluate(f"document.getElementById('{div}').data[0].x.length"))


def table_rows(browser: Browser, table: str) -> list[list[str]]:
    rows = browser.page.locator(f"#{table} tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(rows.count())
    ]


@pytest.mark.browser
def test_overview_shows_scores_calibration_and_filters(
    browser: Browser, known_data: dict[str, int], tmp_path: Path
) -> None:
    page = browser.page
    browser.goto("/")
    assert chart_points(browser, "calibration-chart") == 5
    # The chart is really drawn (SVG points), not just handed its data.
    assert page.locator("#calibration-chart .scatterlayer .point").count() >= 5
    rows = table_rows(browser, "forecaster-table")
    # forecaster, n, Brier, log score, time-averaged Brier, relative Brier
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("alice", "3", brier(ALICE), f"{RELATIVE:.3f}"),
        ("bob", "3", brier(BOB), f"{-RELATIVE:.3f}"),
    ]
    assert page.locator("#stat-n").inner_text() == "6"
    assert page.locator("#stat-brier").inner_text() == brier(ALICE + BOB)

    # Hovering a point shows its numbers.
    # Plotly listens on a drag layer above the points, so the mouse goes to the point's spot.
    box = page.locator("#calibration-chart .scatterlayer .trace").first.locator(".point").first
    box.scroll_into_view_if_needed()
    spot = box.bounding_box()
    assert spot is not None
    page.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
    hover = page.locator("#calibration-chart .hoverlayer")
    hover.get_by_text("observed rate").wait_for()
    assert "forecasts:" in (hover.text_content() or "")
    page.screenshot(path=tmp_path / "overview.png", full_page=True)

    # Filtering by forecaster through the form narrows table and chart to alice.
    page.select_option("#filter-forecaster", "alice")
    page.click("#score-filters button[type=submit]")
    page.wait_for_url("**/?forecaster=alice*")
    assert chart_points(browser, "calibration-chart") == 3
    assert [row[0] for row in table_rows(browser, "forecaster-table")] == ["alice"]
    assert page.locator("#stat-brier").inner_text() == brier(ALICE)
    page.screenshot(path=tmp_path / "overview-alice.png", full_page=True)

    # And by tag: only the econ questions count; the CSV links carry the same filter.
    page.select_option("#filter-forecaster", "")
    page.select_option("#filter-tag", "econ")
    page.click("#score-filters button[type=submit]")
    page.wait_for_url("**/?forecaster=&tag=econ")
    assert chart_points(browser, "calibration-chart") == 4
    assert [row[1] for row in table_rows(browser, "forecaster-table")] == ["2", "2"]
    assert page.locator("#export-forecasters").get_attribute("href") == (
        "/api/scores/forecasters.csv?tag=econ"
    )
    assert page.locator("#export-questions").get_attribute("href") == (
        "/api/scores/questions.csv?tag=econ"
    )
    browser.check_clean()


@pytest.mark.browser
def test_unknown_forecaster_filter_explains_itself(
    browser: Browser, known_data: dict[str, int], tmp_path: Path
) -> None:
    response = browser.goto("/?forecaster=nobody")
    assert response.status == 404
    notice = browser.page.locator("#score-error")
    assert "nobody" in notice.inner_text()
    assert browser.page.locator("#calibration-chart").count() == 0
    # The reader can pick a real forecaster from the same form.
    options = browser.page.locator("#filter-forecaster option").all_inner_texts()
    assert {"alice", "bob"} <= set(options)
    browser.page.screenshot(path=tmp_path / "overview-unknown.png", full_page=True)
    browser.check_clean()


@pytest.mark.browser
def test_question_page_shows_history_and_resolution(
    browser: Browser, known_data: dict[str, int], tmp_path: Path
) -> None:
    page = browser.page
    browser.goto(f"/questions/{known_data['gamma']}")
    page.wait_for_function("document.getElementById('history-chart')?.data !== undefined")
    traces = page.evaluate(
        """() => document.getElementById('history-chart').data
             .filter(t => t.meta !== 'hold')
             .map(t => ({name: t.name, x: t.x, y: t.y, shape: t.line.shape}))"""
    )
    assert sum(len(t["x"]) for t in traces) == 3
    by_name = {t["name"]: t for t in traces}
    assert by_name["alice"]["x"] == ["2020-01-05", "2020-02-01"]
    assert by_name["alice"]["y"] == [0.55, 0.67]
    assert by_name["bob"]["x"] == ["2020-01-10"]
    assert {t["shape"] for t in traces} == {"hv"}
    assert page.locator("#history-chart .scatterlayer .trace").count() >= 2
    # Hovering alice's second forecast names her, the day and the probability.
    point = page.locator("#history-chart .scatterlayer .trace").first.locator(".point").nth(1)
    point.scroll_into_view_if_needed()
    spot = point.bounding_box()
    assert spot is not None
    page.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
    hover = page.locator("#history-chart .hoverlayer")
    hover.get_by_text("alice").wait_for()
    assert "2020-02-01: 67.0%" in (hover.text_content() or "")

    resolution = page.locator("#resolution")
    assert "YES" in resolution.inner_text()
    assert "2020-04-15" in resolution.inner_text()
    assert "called the election on 15 April" in resolution.inner_text()
    evidence = resolution.locator("a")
    assert evidence.get_attribute("href") == "https://example.org/gamma-election-called"
    assert "Resolves YES if" in page.locator("#criteria").inner_text()
    assert "Test Weekly" in page.locator("#source").inner_text()
    assert page.locator("#forecast-table .forecast-row").count() == 3
    page.screenshot(path=tmp_path / "question.png", full_page=True)

    response = browser.goto("/questions/987654")
    assert response.status == 404
    assert "question 987654 not found" in page.locator("#not-found-detail").inner_text()
    page.screenshot(path=tmp_path / "not-found.png", full_page=True)
    browser.check_clean()


@pytest.mark.browser
def test_questions_list_searches_and_filters(
    browser: Browser, known_data: dict[str, int], tmp_path: Path
) -> None:
    page = browser.page
    browser.goto("/questions")
    titles = page.locator("#question-table .question-link").all_inner_texts()
    assert len(titles) == 4
    gamma_row = page.locator("#question-table tbody tr", has_text="gamma election")
    # Latest forecast per forecaster: alice's second forecast replaced her first.
    chips = gamma_row.locator(".chip").all_inner_texts()
    assert [" ".join(c.split()) for c in chips] == ["alice 67%", "bob 91%"]
    assert "2020-12-31" in gamma_row.inner_text()
    page.screenshot(path=tmp_path / "questions.png", full_page=True)

    page.fill("#filter-q", "alpha treaty")
    page.click("#question-filters button[type=submit]")
    page.wait_for_url("**/questions?q=alpha+treaty*")
    assert page.locator("#question-table .question-link").all_inner_texts() == [
        "Will the alpha treaty be signed in 2020?"
    ]
    page.click("text=Will the alpha treaty be signed in 2020?")
    page.wait_for_url(f"**/questions/{known_data['alpha']}")

    browser.goto("/questions?status=open")
    assert page.locator("#question-table .question-link").all_inner_texts() == [
        "Will the delta bridge open to traffic in 2020?"
    ]
    browser.goto("/questions?tag=econ")
    assert len(page.locator("#question-table .question-link").all_inner_texts()) == 2
    browser.goto("/questions?q=no+such+words")
    assert "No questions match" in page.locator("#result-count").inner_text()
    browser.check_clean()


@pytest.mark.browser
def test_article_page_lists_the_seeded_claims(
    sqlite_db: Database, browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    import json

    from service.seeding import load_seeds

    load_seeds(sqlite_db)
    records = json.loads(SEEDS.read_text("utf-8"))
    # Claim 4 (Assad still president at the end of 2016) did happen; resolve it as a reviewer.
    with api(live_server) as client:
        claims = client.get("/api/questions", params={"tag": "almonitor-2015"}).json()["items"]
        assad = next(q for q in claims if "Assad still be President" in q["title"])
        response = client.post(
            f"/api/questions/{assad['id']}/resolve",
            json={
                "outcome": "yes",
                "resolved_on": "2016-12-31",
                "note": "Assad remained president throughout 2016.",
                "evidence_urls": ["https://en.wikipedia.org/wiki/Bashar_al-Assad"],
            },
        )
        assert response.status_code == 200, response.text
    page = browser.page
    browser.goto("/article")
    assert page.locator("#claims > li").count() == len(records) == 8
    assert "Al-Monitor" in (page.locator(".eyebrow").text_content() or "")
    title = page.locator("#article-title a")
    assert "Al-Monitor analysis" in title.inner_text()
    assert (
        title.get_attribute("href")
        == "https://www.al-monitor.com/originals/2015/11/iran-russia-syria.html"
    )
    phrases = page.locator("#claims .phrase").all_inner_texts()
    assert phrases == [f"“{r['forecast']['estimate']}”" for r in records]
    claim = page.locator("#claims > li", has_text="Assad still be President")
    assert "Resolved YES on 2016-12-31" in claim.inner_text()
    assert "remained president" in claim.inner_text()
    assert page.locator("#article-brier").inner_text() != "—"
    assert "Al-Monitor analysis (Nov 2015)" in page.locator("#article-scores").inner_text()
    page.screenshot(path=tmp_path / "article.png", full_page=True)
    browser.check_clean()


# Without a browser: status codes and what the server renders.


def test_pages_render_on_an_empty_database(client: TestClient) -> None:
    for path, marker in [
        ("/", "No resolved questions"),
        ("/questions", "No questions yet"),
        ("/article", "forecasts seed"),
        ("/review", "Nothing to review"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert marker in response.text, path
        for link in ('href="/"', 'href="/questions"', 'href="/article"', 'href="/review"'):
            assert link in response.text, (path, link)


def test_unknown_or_malformed_question_ids_get_the_404_page(client: TestClient) -> None:
    for path in (
        "/questions/424242",
        "/questions/abc",
        "/questions/99999999999999",
        "/questions/0",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Not found" in response.text


def test_unknown_forecaster_is_a_message_not_an_error(client: TestClient) -> None:
    response = client.get("/", params={"forecaster": "nobody", "tag": "x"})
    assert response.status_code == 404
    assert "Nothing to show for this filter" in response.text
    assert "nobody" in response.text


def test_bad_paging_and_status_values_fall_back(client: TestClient) -> None:
    response = client.get("/questions", params={"page": "-3", "status": "bogus", "q": "x" * 5000})
    assert response.status_code == 200
    assert "No questions" in response.text


def test_static_files_and_schema(client: TestClient) -> None:
    plotly = client.get("/static/plotly-basic.min.js")
    assert plotly.status_code == 200
    assert "javascript" in plotly.headers["content-type"]
    assert "plotly.js" in plotly.text[:200]
    assert client.get("/static/style.css").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/questions", "/questions/{question_id}", "/article", "/review"} & set(paths)


def test_export_links_download_csv_with_the_same_filter(client: TestClient) -> None:
    client.headers.update(ADMIN)
    create_question(
        client,
        "Will the alpha treaty be signed in 2020?",
        ["econ"],
        [("alice", 0.82, "2020-01-05")],
        resolve=("yes", "2020-03-01"),
    )
    html = client.get("/", params={"tag": "econ"}).text
    links = re.findall(r'href="(/api/scores/[a-z]+\.csv[^"]*)"', html)
    assert links == ["/api/scores/forecasters.csv?tag=econ", "/api/scores/questions.csv?tag=econ"]
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.headers["content-type"].startswith("text/csv")
        assert "alice" in response.text
