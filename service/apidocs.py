"""/docs (Swagger UI), /redoc and /openapi.json, with every asset served from /static.

FastAPI's own routes for these load Swagger UI and ReDoc from a CDN and start Swagger UI
with an inline script; these pages use the vendored copies (static/vendor/, see
VENDORED.md) and a static start script, so they work offline and under the service's
Content-Security-Policy. They are ordinary routes, so the app's read guard covers them: with
FORECASTS_OPEN_READS=false they need a token like every other read. None of them is an
operation in the OpenAPI document.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter(include_in_schema=False)

OPENAPI_URL = "/openapi.json"
VENDOR = "/static/vendor"
FAVICON = "/static/favicon.svg"


@router.get(OPENAPI_URL)
def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    title = escape(f"{request.app.title} · API")
    # The start script reads the document's URL from the data- attribute: no inline script.
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{VENDOR}/swagger-ui/swagger-ui.css">
<link rel="icon" href="{FAVICON}" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>
<script src="{VENDOR}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} · API",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
