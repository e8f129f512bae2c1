"""Holding the pages against a hostile web: every response carries the security headers, the
pages run no inline script and load nothing from elsewhere (/docs and /redoc included), no
other site can frame them, unknown Host names are refused, and with closed reads the API
documents need a token too. Browser checks run in Chromium against uvicorn on loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.dashboard.routes import STATIC_DIR
from service.db import Database
from service.security import CONTENT_SECURITY_POLICY, REDOC_POLICY, host_patterns, policy_for
from tests.conftest import ADMIN, make_settings
from tests.test_dashboard import (
    Browser,
    LiveServer,
    api,
    create_question,
    open_browser,
    start_server,
)

HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
REQUIRED_DIRECTIVES = (
    "default-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
)


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip() for part in policy.split(";"))
    return {p.split(" ", 1)[0]: p for p in parts if p}


def assert_secured(response: Any, what: str) -> None:
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    for directive in REQUIRED_DIRECTIVES:
        assert directive in policy, (what, policy)
    # Scripts only from the service itself: never inline, never eval.
    script = directives(policy).get("script-src", directives(policy)["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (what, policy)
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (what, name, headers.get(name))


def test_the_policy_is_the_one_asked_for() -> None:
    for directive in REQUIRED_DIRECTIVES:
        assert directive in CONTENT_SECURITY_POLICY
        assert directive in REDOC_POLICY
    strict = directives(CONTENT_SECURITY_POLICY)
    assert strict["script-src"] == "script-src 'self'"
    assert strict["style-src"] == "style-src 'self'"
    # Only ReDoc, which writes its styles at run time, may use inline styles; never scripts.
    assert policy_for("/redoc") == REDOC_POLICY
    assert "'unsafe-inline'" in directives(REDOC_POLICY)["style-src"]
    assert directives(REDOC_POLICY)["script-src"] == "script-src 'self'"
    for path in ("/", "/review", "/docs", "/api/questions", "/static/charts.js", "/redoc/x"):
        assert policy_for(path) == CONTENT_SECURITY_POLICY


def test_every_kind_of_response_carries_the_headers(sqlite_db: Database) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, max_body_bytes=1000), sqlite_db)

    @app.get("/test-only/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(ADMIN)
        question = create_question(
            client, "Will the alpha treaty be signed in 2020?", ["econ"], [("a", 0.8, "2020-01-05")]
        )
        client.headers.pop("Authorization")
        cases = {
            "API JSON": client.get("/api/questions"),
            "API 404": client.get("/api/questions/424242"),
            "API 401": client.post("/api/questions", json={}),
            "API 422": client.post("/api/questions", json={"title": 1}, headers=ADMIN),
            "413 from the body guard": client.post(
                "/api/questions", content=b"x" * 2000, headers=ADMIN
            ),
            "422 from the URL guard": client.get("/api/questions?q=%00"),
            "405": client.delete("/healthz"),
            "health": client.get("/healthz"),
            "page": client.get("/"),
            "question page": client.get(f"/questions/{question}"),
            "page 404": client.get("/questions/424242"),
            "unknown path": client.get("/no/such/path"),
            "static file": client.get("/static/charts.js"),
            "vendored file": client.get("/static/vendor/swagger-ui/swagger-ui.css"),
            "static 404": client.get("/static/nothing.js"),
            "openapi": client.get("/openapi.json"),
            "docs": client.get("/docs"),
            "redoc": client.get("/redoc"),
            "500": client.get("/test-only/boom"),
            "unknown host": client.get("/", headers={"Host": "attacker.example"}),
        }
    expected = {
        "API 404": 404,
        "API 401": 401,
        "API 422": 422,
        "413 from the body guard": 413,
        "422 from the URL guard": 422,
        "405": 405,
        "page 404": 404,
        "unknown path": 404,
        "static 404": 404,
        "500": 500,
        "unknown host": 400,
    }
    for what, response in cases.items():
        assert response.status_code == expected.get(what, 200), (what, response.text[:200])
        assert_secured(response, what)
    assert cases["redoc"].headers["content-security-policy"] == REDOC_POLICY
    assert cases["docs"].headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_pages_run_no_inline_script_or_style_and_name_assets_by_path(client: TestClient) -> None:
    client.headers.update(ADMIN)
    question = create_question(
        client,
        "Will the alpha treaty be signed in 2020?",
        ["econ"],
        [("alice", 0.82, "2020-01-05"), ("bob", 0.3, "2020-01-06")],
        resolve=("yes", "2020-03-01"),
    )
    client.headers.pop("Authorization")
    for path in ("/", "/questions", f"/questions/{question}", "/article", "/review", "/docs"):
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            # Either a script file from /static, or data that browsers never execute.
            assert 'type="application/json"' in tag or re.search(r'src="/static/', tag), (
                path,
                tag,
            )
        inline = re.findall(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert inline == [], (path, inline)
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        # Assets are named by path, not by an absolute URL built from the Host header.
        assert "http://testserver" not in html, path
        assert re.search(r'(href|src)="/static/', html), path


def test_unknown_host_names_are_refused(sqlite_db: Database) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    with TestClient(create_app(make_settings(url), sqlite_db)) as client:
        # A page on a name that resolves to this machine (DNS rebinding) gets nothing.
        for host in ("attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example"):
            response = client.get("/api/questions", headers={"Host": host})
            assert response.status_code == 400, host
            assert "items" not in response.text
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "testserver"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    public = make_settings(url, trusted_hosts=["forecasts.example.org"])
    with TestClient(create_app(public, sqlite_db), base_url="http://forecasts.example.org") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "127.0.0.1"}).status_code == 400


def test_host_patterns_normalise_the_setting() -> None:
    assert host_patterns(["127.0.0.1", "LocalHost", "::1", "[::1]", "example.org:8443", " "]) == [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "example.org",
    ]
    assert host_patterns(["*"]) == ["*"]


def test_closed_reads_close_the_api_documents(sqlite_db: Database) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    closed = make_settings(url, open_reads=False)
    with TestClient(create_app(closed, sqlite_db)) as client:
        for path in ("/openapi.json", "/docs", "/redoc", "/api/questions", "/"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
            assert client.get(path, headers=ADMIN).status_code == 200, path
        # Probes and page assets stay open.
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    with TestClient(create_app(make_settings(url), sqlite_db)) as client:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(path).status_code == 200, path


def test_api_documents_use_local_assets(client: TestClient) -> None:
    docs = client.get("/docs").text
    redoc = client.get("/redoc").text
    for html in (docs, redoc):
        assert "cdn." not in html and "https://" not in html and "fonts.googleapis" not in html
    assert 'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"' in docs
    assert 'href="/static/vendor/swagger-ui/swagger-ui.css"' in docs
    assert 'src="/static/swagger-init.js"' in docs
    assert 'data-openapi-url="/openapi.json"' in docs
    assert 'src="/static/vendor/redoc/redoc.standalone.js"' in redoc
    for asset in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/swagger-ui/LICENSE",
        "/static/vendor/redoc/redoc.standalone.js",
        "/static/vendor/redoc/LICENSE",
        "/static/swagger-init.js",
        "/static/plotly.css",
    ):
        assert client.get(asset).status_code == 200, asset
    # The documents' own routes are not operations of the API.
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"} & set(paths)


def test_vendored_assets_ship_with_the_package() -> None:
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["service"]
    service_dir = STATIC_DIR.parent.parent
    shipped = {p for pattern in patterns for p in service_dir.glob(pattern) if p.is_file()}
    for name in (
        "vendor/swagger-ui/swagger-ui-bundle.js",
        "vendor/swagger-ui/swagger-ui.css",
        "vendor/swagger-ui/LICENSE",
        "vendor/swagger-ui/NOTICE",
        "vendor/redoc/redoc.standalone.js",
        "vendor/redoc/LICENSE",
        "swagger-init.js",
        "plotly.css",
    ):
        assert STATIC_DIR / name in shipped, name


# --------------------------------------------------------------------------- in Chromium


@contextmanager
def other_origin(page_html: str) -> Iterator[str]:
    """A tiny http.server on another loopback port serving `page_html` at /, and a framable
    same-origin page at /plain.html; yields its base URL."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "index.html").write_text(page_html, encoding="utf-8")
        (Path(folder) / "plain.html").write_text(
            "<!doctype html><title>plain</title><p id='plain'>framed fine</p>", encoding="utf-8"
        )

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=folder))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[LiveServer]:
    with start_server(sqlite_db) as server:
        yield server


@pytest.fixture
def chromium(live: LiveServer) -> Iterator[Browser]:
    yield from open_browser(live.url)


def csp_reports(browser: Browser) -> list[str]:
    """Console messages about the Content-Security-Policy, recorded from now on."""
    found: list[str] = []
    browser.page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.mark.browser
def test_another_origin_cannot_frame_the_review_page(live: LiveServer, chromium: Browser) -> None:
    page = chromium.page
    html = (
        "<!doctype html><title>decoy</title>"
        f'<iframe id="victim" src="{live.url}/review" width="800" height="600"></iframe>'
        '<iframe id="control" src="/plain.html"></iframe>'
    )
    with other_origin(html) as origin:
        refusals = csp_reports(chromium)
        page.goto(origin + "/")
        # The control frame loads: the page can frame what allows it.
        control = page.frame_locator("#control")
        assert control.locator("#plain").inner_text() == "framed fine"
        page.wait_for_function(
            "() => document.getElementById('victim').contentWindow !== null", timeout=5000
        )
        page.wait_for_timeout(500)
        frames = {f.url for f in page.frames}
        # The review page never loads inside the decoy: Chromium shows its error page.
        assert f"{live.url}/review" not in frames, frames
        assert page.frame_locator("#victim").locator("#review-token").count() == 0
        assert any("frame-ancestors" in text for text in refusals), refusals
    # Opened directly, the same page works.
    chromium.goto("/review")
    assert page.locator("#review-token").count() == 1


@pytest.mark.browser
def test_dashboard_pages_draw_with_no_policy_violation(
    live: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    with api(live) as client:
        question = create_question(
            client,
            "Will the alpha treaty be signed in 2020?",
            ["econ"],
            [("alice", 0.82, "2020-01-05"), ("bob", 0.33, "2020-02-06")],
            resolve=("yes", "2020-03-01"),
        )
    page = chromium.page
    reports = csp_reports(chromium)
    chromium.goto("/")
    page.wait_for_function("document.getElementById('calibration-chart')?.data !== undefined")
    assert page.locator("#calibration-chart .scatterlayer .point").count() == 2
    # Plotly's layout rules come from plotly.css: its layers stack as they should.
    position = "getComputedStyle(document.querySelector('#calibration-chart .main-svg')).position"
    assert page.evaluate(position) == "absolute"
    chromium.goto(f"/questions/{question}")
    page.wait_for_function("document.getElementById('history-chart')?.data !== undefined")
    assert page.locator("#history-chart .scatterlayer .trace").count() >= 2
    page.screenshot(path=tmp_path / "question.png", full_page=True)
    # The probability bars are SVG now, not style attributes.
    chromium.goto("/questions")
    bar = page.locator(".chip .chip-bar rect").first
    assert bar.get_attribute("width") == "82.0"  # alice's 82 %
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.chip .chip-bar')).position")
        == "absolute"
    )
    chromium.goto("/review")
    chromium.goto("/article")
    assert reports == []
    chromium.check_clean()


@pytest.mark.browser
def test_plotly_css_holds_the_rules_plotly_would_write() -> None:
    from tests.test_dashboard import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            page.set_content("<!doctype html><html><head></head><body></body></html>")
            page.add_script_tag(path=str(STATIC_DIR / "plotly-basic.min.js"))
            written = page.evaluate(
                "Array.from(document.getElementById('plotly.js-style-global').sheet.cssRules,"
                " r => r.cssText)"
            )
            page.set_content("<!doctype html><html><head></head><body></body></html>")
            page.add_style_tag(path=str(STATIC_DIR / "plotly.css"))
            shipped = page.evaluate("Array.from(document.styleSheets[0].cssRules, r => r.cssText)")
        finally:
            chromium.close()
    assert written and shipped == written, "regenerate plotly.css (see VENDORED.md)"


@pytest.mark.browser
def test_docs_render_offline_from_local_assets(live: LiveServer, chromium: Browser) -> None:
    page = chromium.page
    reports = csp_reports(chromium)
    # open_browser aborts every request that is not to loopback and records it.
    chromium.goto("/docs")
    page.locator(".opblock").first.wait_for()
    operations = page.locator(".opblock").count()
    with api(live) as client:
        spec = client.get("/openapi.json").json()
    expected = sum(
        1
        for item in spec["paths"].values()
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    )
    assert operations == expected
    assert "Forecasts" in page.locator(".info .title").inner_text()
    # Try it out answers from the same origin (connect-src 'self').
    page.locator(".opblock-summary-path", has_text="/healthz").first.click()
    page.locator("button.try-out__btn").first.click()
    page.locator("button.execute").first.click()
    page.locator(".responses-table .response-col_status", has_text="200").first.wait_for()
    assert reports == []

    chromium.goto("/redoc")
    page.locator("[data-section-id]").first.wait_for()
    assert page.locator("h1", has_text="Forecasts").count() >= 1
    # ReDoc's footer logo is hard-wired to cdn.redoc.ly: the policy keeps it from loading.
    others = [r for r in reports if "cdn.redoc.ly" not in r]
    assert others == []
    chromium.check_clean()


@pytest.mark.browser
def test_review_token_is_kept_per_tab_unless_remembered(
    live: LiveServer, chromium: Browser
) -> None:
    page = chromium.page
    chromium.goto("/review")
    assert page.locator("#token-remember").is_checked() is False
    page.fill("#review-token", "fct_tab-only-token")
    page.dispatch_event("#review-token", "change")
    stored = "key => [sessionStorage.getItem(key), localStorage.getItem(key)]"
    key = "forecasts.reviewToken"
    assert page.evaluate(stored, key) == ["fct_tab-only-token", None]
    # The same tab keeps it across a reload; another tab of the same browser does not get it.
    chromium.goto("/review")
    assert page.input_value("#review-token") == "fct_tab-only-token"
    other = page.context.new_page()
    other.goto(live.url + "/review")
    assert other.input_value("#review-token") == ""
    other.close()

    # Ticking "Remember" moves it to localStorage: another tab then finds it.
    page.check("#token-remember")
    assert page.evaluate(stored, key) == [None, "fct_tab-only-token"]
    other = page.context.new_page()
    other.goto(live.url + "/review")
    assert other.input_value("#review-token") == "fct_tab-only-token"
    assert other.locator("#token-remember").is_checked()
    other.close()

    # Unticking it forgets the browser-wide copy; Forget clears both.
    page.uncheck("#token-remember")
    assert page.evaluate(stored, key) == ["fct_tab-only-token", None]
    page.click("#token-forget")
    assert page.evaluate(stored, key) == [None, None]
    assert page.input_value("#review-token") == ""
    chromium.check_clean()
