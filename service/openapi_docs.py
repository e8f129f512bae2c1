"""The OpenAPI document made complete in one place: the bearer security scheme (so /docs has
an Authorize button and "Try it out" can write), the error answers each operation can give
(401/403/404/409/413/422, all with the shared ErrorOut body), and a description and an example
for every field of every schema.

Routes and models keep their own words where they have them (a route's `summary=` and
docstring, a Field's description); this module fills in what they leave out, so the rules for
what an operation can answer live here once instead of on every route. Nothing here changes
what the service does: the bearer check and its messages stay in service.auth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

SCHEME = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
WRITE_METHODS = {"post", "patch", "put", "delete"}
# Always open, even when a deployment closes reads (service.auth.ALWAYS_OPEN).
OPEN_PATHS = ("/healthz",)


class ErrorOut(BaseModel):
    """Every 4xx answer: `detail` says what was wrong. A refused body (422) lists each
    problem as FastAPI does, with `loc` naming the field; a domain error may name `field`."""

    detail: str | list[dict[str, Any]] = Field(
        description="what was wrong: a sentence, or for a refused body one entry per problem "
        "({loc, msg, type}), loc naming the field",
        examples=["question 999 not found"],
    )
    field: str | None = Field(
        default=None, description="the field at fault, when one is", examples=["probability"]
    )


ERRORS: dict[int, str] = {
    401: "No valid bearer token: missing, unknown or revoked (reads too, when the deployment "
    "closes them).",
    403: "The token lacks the scope this operation needs (or is not the question's creator).",
    404: "No such object.",
    409: "Conflicts with the stored state (already resolved, not pending, already revoked …).",
    413: "The request body is over the size limit (1 MiB).",
    422: "The input is refused: `detail` says which field and why.",
}

# Field descriptions and examples, by field name; "Model.field" where a name means something
# else in one model.
FIELDS: dict[str, tuple[str, Any]] = {
    "id": ("the object's id", 1),
    "items": ("this page of results", []),
    "total": ("how many match, over all pages", 1),
    "title": (
        "the question: what will or will not happen, by when",
        "Will Russia withdraw its forces from Syria by 2016-12-31?",
    ),
    "SourceDocument.title": (
        "the document's title",
        "Al-Monitor analysis of Iran, Russia and Syria (Tehran, November 2015)",
    ),
    "SourceDocumentOut.title": ("the document's title", "An article"),
    "DraftCreate.title": ("the document's title", "An article"),
    "EvidenceOut.title": ("the news item's title", "Russia begins pulling forces out of Syria"),
    "QuestionScoreOut.title": ("the question's title", "Will the ceasefire hold?"),
    "resolution_criteria": (
        "what counts as YES, in words a reviewer can apply",
        "YES if Russia announces the withdrawal of most of its forces.",
    ),
    "resolve_by": ("the last day on which the event can count (YYYY-MM-DD)", "2016-12-31"),
    "opened_on": ("the day the claim was made (YYYY-MM-DD); default today", "2015-10-20"),
    "tags": ("labels to filter by", ["syria"]),
    "news_query": (
        'the search expression for news of the deciding event (words, "phrases", '
        "OR, parentheses, -exclusions); derived from the title when left out",
        "russia (withdraw OR withdrawal) syria",
    ),
    "default_outcome": ("the outcome when resolve_by passes with no news of the event", "no"),
    "source": ("the document the claim comes from", None),
    "EstimateOut.source": ("where the phrase's probability comes from", "Sherman Kent, 1964"),
    "EvidenceOut.source": ("the news source's name", "Example Wire"),
    "DraftOut.source": ("the document the draft's text comes from", None),
    "forecast": ("an optional first forecast", None),
    "forecasts": ("every forecast, oldest first", []),
    "forecaster": (
        "whose forecast; left out, the token's own name (another needs scope record)",
        "Ann",
    ),
    "probability": ("a number in [0, 1]; 70 % is 0.7", 0.7),
    "estimate": ("a verbal phrase from GET /api/estimates, instead of a probability", "probably"),
    "made_on": ("the day the forecast was made (YYYY-MM-DD); default today", "2015-10-21"),
    "rationale": (
        "why: the forecaster's reasoning, for the record",
        "Moscow has said the operation is temporary.",
    ),
    "recorded_by": ("the name of the token that wrote it", "admin"),
    "status": ("where it stands in its life", "open"),
    "outcome": ("the outcome: yes or no (or annulled, for a resolution or suggestion)", "yes"),
    "resolved_on": ("the day it was resolved (YYYY-MM-DD)", "2016-03-14"),
    "resolution_note": ("the resolver's note", "Putin announced the withdrawal."),
    "evidence_urls": ("links to what decided it", ["https://example.org/news/1"]),
    "resolved_by": ("who resolved it", "admin"),
    "created_by": ("the token that created it", "admin"),
    "created_at": ("when it was stored (UTC)", "2016-03-27T11:10:00Z"),
    "updated_at": ("when it last changed (UTC)", "2016-03-27T11:10:00Z"),
    "note": ("a note for the record", "checked against two sources"),
    "SourceDocument.note": ("a remark about the document", None),
    "SourceDocumentOut.note": ("a remark about the document", None),
    "url": ("an http(s) URL", "https://example.org/feed.xml"),
    "SourceDocument.url": ("the document's address", "https://example.org/article"),
    "SourceDocumentOut.url": ("the document's address", "https://example.org/article"),
    "DraftCreate.url": (
        "a page to fetch the text from (instead of text)",
        "https://example.org/article",
    ),
    "EvidenceOut.url": ("the item's link as its source gave it", "https://example.org/news/1"),
    "publisher": ("who published it", "Al-Monitor"),
    "author": ("who wrote it", "A. Writer"),
    "published_on": ("the day it was published (YYYY-MM-DD)", "2015-10-20"),
    "name": ("a name to know it by", "Reuters world"),
    "TokenCreate.name": ("the token's name: the forecaster its forecasts are by", "ann"),
    "TokenCreated.name": ("the token's name", "ann"),
    "TokenOut.name": ("the token's name", "ann"),
    "kind": ("the adapter: rss (RSS and Atom), gdelt, guardian or archive", "rss"),
    "poll_every_minutes": ("minutes between polls (1 to 10080)", 60),
    "enabled": ("whether it is polled", True),
    "options": ("the adapter's options", {}),
    "last_polled_at": ("when it was last polled", None),
    "last_status": ("what the last poll found", "200: 12 items"),
    "last_error": ("why the last poll failed, if it did", None),
    "items_seen": ("items stored from it", 12),
    "consecutive_failures": ("failed polls in a row", 0),
    "backoff_until": ("no poll before this instant (after failures)", None),
    "force": ("poll every enabled source, due or not", False),
    "sources_polled": ("sources fetched in this cycle", 3),
    "new_items": ("items stored in this cycle", 12),
    "suggestions_created": ("suggestions raised in this cycle", 1),
    "errors": ("sources that failed, and why", []),
    "scopes": ("what the token may do: forecast, record, review, admin", ["forecast"]),
    "token": ("the secret, shown this once", "fct_…"),
    "last_used_at": ("when it was last used", None),
    "revoked_at": ("when it was revoked", None),
    "phrase": ("the verbal phrase", "probably"),
    "question_id": ("the question's id", 1),
    "confidence": (
        "how sure the resolver is (0-1); comparable across a question's suggestions",
        0.82,
    ),
    "resolver": ("what raised it: news or deadline", "news"),
    "evidence": ("the items it rests on", []),
    "reviewed_at": ("when it was reviewed", None),
    "reviewed_by": ("who reviewed it", None),
    "review_note": ("the reviewer's note", None),
    "published_at": ("when the item was published (ISO 8601)", "2016-03-14T16:00:00Z"),
    "snippet": ("the passage that bears on the question", "Russia will withdraw …"),
    "score": ("how well the item matched the query", 0.8),
    "terms": ("the query terms it matched", ["russia", "withdraw"]),
    "at": ("when it happened (UTC)", "2016-03-27T11:10:00Z"),
    "actor": ("who did it (a token's name)", "admin"),
    "action": ("what was done", "question.resolve"),
    "object": ("the kind of object", "question"),
    "object_id": ("the object's id", 1),
    "before": ("its fields before (null where there were none)", None),
    "after": ("its fields after (null where there are none)", None),
    "n": ("how many scored pairs", 10),
    "brier": ("mean squared error of the probabilities (0 best)", 0.18),
    "log_score": ("mean log probability given to what happened (0 best)", -0.52),
    "base_rate": ("the share of pairs that resolved yes", 0.4),
    "brier_skill_score": ("1 - brier / uncertainty; null when uncertainty is 0", 0.25),
    "decomposition": ("Murphy's decomposition of the Brier score", None),
    "calibration": ("the reliability diagram's bins (empty ones left out)", []),
    "by_forecaster": ("the scores per forecaster", []),
    "by_estimate": ("the scores per estimate phrase", []),
    "discrimination": ("how well the probabilities separate yes from no", None),
    "reliability": ("how far forecasts are from observed rates (0 best)", 0.02),
    "resolution": ("how much observed rates differ between bins (higher better)", 0.05),
    "uncertainty": ("base_rate * (1 - base_rate)", 0.24),
    "bin_low": ("the bin's lower edge", 0.7),
    "bin_high": ("the bin's upper edge", 0.8),
    "mean_probability": ("the mean forecast probability", 0.74),
    "observed_rate": ("the share that resolved yes", 0.7),
    "ci_low": ("the lower end of the 95 % Wilson interval", 0.4),
    "ci_high": ("the upper end of the 95 % Wilson interval", 0.89),
    "time_averaged_brier": ("the Brier score averaged over the days each forecast stood", 0.2),
    "relative_brier": ("brier minus the median forecaster's on the same questions", None),
    "auc": ("probability a YES pair got a higher p than a NO pair", 0.8),
    "right_side": ("share of pairs on the right side of 0.5", 0.75),
    "text": ("the text itself", "Russia is bound to withdraw by spring."),
    "claims": ("the claims found in the text", []),
    "index": ("the claim's position in its draft, from 0", 0),
    "sentence": ("the claim's sentence", "Russia is bound to withdraw by spring."),
    "start": ("offset of the sentence's first character in the text", 0),
    "end": ("offset just past the sentence's last character", 38),
    "hedge": ("the hedging words as written", "is bound to"),
    "proposed": ("the question proposed for the claim", None),
    "detail": ("what was wrong", "not found"),
    "loc": ("where the problem is: body, then the field", ["body", "probability"]),
    "msg": ("what is wrong", "Input should be less than or equal to 1"),
    "type": ("the kind of problem", "less_than_equal"),
    "input": ("the value refused", 70),
    "ctx": ("the rule's parameters", {"le": 1.0}),
}


def _auth_scopes(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        call = sub.call
        if call is not None and getattr(call, "__qualname__", "").startswith("require."):
            yield call
        yield from _auth_scopes(sub)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The operations' routes, as the OpenAPI generator sees them (with router prefixes)."""
    try:
        from fastapi.openapi.utils import _get_api_route_for_openapi
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers became contexts
        for plain in app.routes:
            if isinstance(plain, APIRoute) and plain.include_in_schema:
                yield plain
        return
    for context in iter_route_contexts(app.routes):
        # An APIRoute, or (FastAPI >= 0.16x) a RouteContext with the same attributes.
        route = _get_api_route_for_openapi(context)
        if route is not None and getattr(route, "include_in_schema", False):
            yield route


def _codes(route: Any, method: str, operation: dict[str, Any]) -> list[int]:
    needs_token = any(True for _ in _auth_scopes(route.dependant))
    codes: list[int] = []
    if route.path_format not in OPEN_PATHS:
        codes.append(401)
    if needs_token:
        codes.append(403)
    if route.dependant.path_params:
        codes.append(404)
    if method in WRITE_METHODS and needs_token:
        codes.append(409)
    if "requestBody" in operation:
        codes.append(413)
    if operation.get("parameters") or "requestBody" in operation:
        codes.append(422)
    return codes


def _describe_fields(schemas: dict[str, Any]) -> None:
    for model, schema in schemas.items():
        for name, prop in schema.get("properties", {}).items():
            found = FIELDS.get(f"{model}.{name}") or FIELDS.get(name)
            if found is None:
                continue
            description, example = found
            prop.setdefault("description", description)
            if "examples" not in prop and "$ref" not in prop and example is not None:
                prop["examples"] = [example]


def complete(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Add the security scheme, the error answers and the field descriptions to `schema`."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `forecasts token create` or POST /api/tokens (or "
        "FORECASTS_ADMIN_TOKEN). Writes need one with the operation's scope; reads need one "
        "only when the deployment closes them.",
    }
    for route in _api_routes(app):
        for method in sorted(m.lower() for m in route.methods):
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method)
            if operation is None:
                continue
            if not operation.get("description"):
                operation["description"] = operation.get("summary", route.name)
            responses = operation.setdefault("responses", {})
            for code in _codes(route, method, operation):
                responses[str(code)] = {
                    "description": ERRORS[code],
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
            if any(True for _ in _auth_scopes(route.dependant)):
                operation["security"] = [{SCHEME: []}]
            elif route.path_format not in OPEN_PATHS:
                # Open reads: the token is optional (needed when reads are closed).
                operation["security"] = [{}, {SCHEME: []}]
    _describe_fields(schemas)
    return schema


def install(app: FastAPI) -> None:
    """Make app.openapi() return the completed document (built once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
