"""The dashboard: server-rendered pages for scores, questions, the seed article and review.

Pages only read; the review page's buttons call the JSON API from the browser with the
reader's own token, so every write goes through the same authorised endpoints as clients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, func, select

from forecasts import question_views as views
from forecasts import questions as domain
from forecasts.errors import NotFound
from forecasts.schemas import CalibrationBinOut, QuestionOut, ScoresOut
from forecasts.tables import forecasts_t, questions_t, suggestions_t
from service import scoreboard_store
from service.api.deps import MAX_ID

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


ARTICLE_TAG = "almonitor-2015"
PAGE_SIZE = 25
REVIEW_LIMIT = 200
STATUSES = ("open", "resolved", "annulled")
# Longer filter values cannot match anything the API accepts; cutting them keeps queries small.
MAX_FILTER = 200


def _finite(value: Any) -> float | None:
    """A number fit for display and for JSON (which has no NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt_number(value: Any, digits: int = 3) -> str:
    number = _finite(value)
    return "—" if number is None else f"{number:.{digits}f}"


def _fmt_percent(value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "—"
    percent = number * 100
    # Whole percents would show 0.4 % as 0 % and 99.6 % as 100 %: near-certainty is worth
    # telling apart from certainty, so the ends get a decimal.
    if percent.is_integer() or 1 <= percent <= 99:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def _fmt_instant(value: Any) -> str:
    """An instant as 'YYYY-MM-DD HH:MM UTC'; evidence stores them as ISO text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return str(value.strftime("%Y-%m-%d %H:%M UTC"))


def _http_url(value: Any) -> str:
    """The URL if it is http(s), else '': feed links are outside input, and a javascript: or
    data: link in an href would run in the reader's page."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    return url if urlsplit(url).scheme.lower() in ("http", "https") else ""


templates.env.filters["num"] = _fmt_number
templates.env.filters["http_url"] = _http_url
templates.env.filters["instant"] = _fmt_instant
templates.env.filters["pct"] = _fmt_percent


def mount_static(app: FastAPI) -> None:
    """Serve the dashboard's CSS, scripts and the vendored plotting library at /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    return value[:MAX_FILTER]


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1").strip()
    # A hand-edited page number falls back to the first page rather than an error page.
    if not raw.isdigit():
        return 1
    return max(1, min(int(raw), MAX_ID // PAGE_SIZE))


def _query_string(values: Mapping[str, Any]) -> str:
    kept = {k: v for k, v in values.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def _pending_count(conn: Connection) -> int:
    count = conn.execute(
        select(func.count()).select_from(suggestions_t).where(suggestions_t.c.status == "pending")
    ).scalar_one()
    return int(count)


def _render(
    request: Request,
    conn: Connection,
    template: str,
    context: dict[str, Any],
    *,
    active: str,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"active": active, "pending_count": _pending_count(conn), **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _not_found(request: Request, conn: Connection, detail: str) -> HTMLResponse:
    return _render(request, conn, "not_found.html", {"detail": detail}, active="", status_code=404)


def _forecasters(conn: Connection) -> list[str]:
    rows = conn.execute(
        select(forecasts_t.c.forecaster).distinct().order_by(forecasts_t.c.forecaster)
    )
    return [r.forecaster for r in rows]


def _tags(conn: Connection) -> list[str]:
    # tag_index ('|a|b|') is a plain column on both databases, and many questions share a
    # set of tags, so the distinct sets are few even when the questions are many.
    found: set[str] = set()
    for row in conn.execute(select(questions_t.c.tag_index).distinct()):
        found.update(tag for tag in (row.tag_index or "").split("|") if tag)
    return sorted(found)


def _with_current(options: list[str], current: str) -> list[str]:
    """The choices for a filter, keeping a typed-in value that is not among them selected."""
    return options if not current or current in options else [current, *options]


def calibration_chart(calibration: Iterable[CalibrationBinOut]) -> dict[str, Any]:
    """The reliability diagram's data: one point per non-empty bin, with its interval."""
    keys = ("x", "y", "n", "ci_low", "ci_high", "bin_low", "bin_high", "err_plus", "err_minus")
    points: dict[str, list[Any]] = {key: [] for key in keys}
    for entry in calibration:
        mean = _finite(entry.mean_probability)
        rate = _finite(entry.observed_rate)
        if mean is None or rate is None:
            continue
        low = _finite(entry.ci_low)
        high = _finite(entry.ci_high)
        points["x"].append(mean)
        points["y"].append(rate)
        points["n"].append(int(entry.n or 0))
        points["ci_low"].append(low)
        points["ci_high"].append(high)
        points["bin_low"].append(_finite(entry.bin_low))
        points["bin_high"].append(_finite(entry.bin_high))
        points["err_plus"].append(max(0.0, high - rate) if high is not None else 0.0)
        points["err_minus"].append(max(0.0, rate - low) if low is not None else 0.0)
    return points


def latest_by_forecaster(question: QuestionOut) -> list[dict[str, Any]]:
    """Each forecaster's newest forecast on a question (by made_on, then entry order)."""
    latest: dict[str, Any] = {}
    for forecast in sorted(question.forecasts, key=lambda f: (f.made_on, f.id)):
        latest[forecast.forecaster] = forecast
    return [
        {"forecaster": name, "probability": f.probability, "estimate": f.estimate}
        for name, f in sorted(latest.items())
    ]


def history_chart(question: QuestionOut, today: date) -> dict[str, Any]:
    """One step line per forecaster: x the days forecasts were made, y their probability."""
    ordered = sorted(question.forecasts, key=lambda f: (f.made_on, f.id))
    traces: dict[str, dict[str, list[Any]]] = {}
    for forecast in ordered:
        trace = traces.setdefault(forecast.forecaster, {"x": [], "y": [], "estimate": []})
        trace["x"].append(forecast.made_on.isoformat())
        trace["y"].append(forecast.probability)
        trace["estimate"].append(f"“{forecast.estimate}”" if forecast.estimate else "")
    markers = [
        {"label": "opened", "date": question.opened_on.isoformat()},
        {"label": "resolve by", "date": question.resolve_by.isoformat()},
    ]
    if question.resolved_on:
        markers.append({"label": "resolved", "date": question.resolved_on.isoformat()})
    # A forecast stands until the question closes, or until today while it is open.
    holds_until = question.resolved_on or min(today, question.resolve_by)
    days = [question.opened_on, question.resolve_by, *(f.made_on for f in ordered)]
    if question.resolved_on:
        days.append(question.resolved_on)
    first, last = min(days), max(days)
    pad = timedelta(days=max(2, (last - first).days // 25))
    return {
        "traces": [{"name": name, **values} for name, values in traces.items()],
        "markers": markers,
        "end": holds_until.isoformat(),
        "range": [(first - pad).isoformat(), (last + pad).isoformat()],
    }


def _question_id(raw: str) -> int | None:
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def _suggestion_dict(row: Any) -> dict[str, Any]:
    evidence = [item for item in (row.evidence or []) if isinstance(item, dict)]
    return {
        "id": row.id,
        "question_id": row.question_id,
        "outcome": row.outcome,
        "confidence": row.confidence,
        "resolver": row.resolver,
        "rationale": row.rationale,
        "evidence": evidence,
        "status": row.status,
        "created_at": row.created_at,
        "reviewed_at": row.reviewed_at,
        "reviewed_by": row.reviewed_by,
        "review_note": row.review_note,
    }


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    """Scores per forecaster and the reliability diagram, filtered by forecaster and tag."""
    forecaster = _param(request, "forecaster")
    tag = _param(request, "tag")
    with request.app.state.db.read() as conn:
        error = None
        scores: ScoresOut | None = None
        try:
            scores = scoreboard_store.compute_scores(
                conn, forecaster=forecaster or None, tag=tag or None
            )
        except NotFound as exc:
            error = exc.detail
        filters = {"forecaster": forecaster, "tag": tag}
        context = {
            "filters": filters,
            "forecasters": _with_current(_forecasters(conn), forecaster),
            "tags": _with_current(_tags(conn), tag),
            "scores": scores,
            "error": error,
            "chart": calibration_chart(scores.calibration if scores else []),
            "export_query": _query_string(filters),
        }
        return _render(
            request,
            conn,
            "overview.html",
            context,
            active="overview",
            status_code=404 if error else 200,
        )


@router.get("/questions", response_class=HTMLResponse)
def question_list(request: Request) -> HTMLResponse:
    """Questions, newest first, searchable and filtered by status, tag and forecaster."""
    q = _param(request, "q")
    status = _param(request, "status")
    status = status if status in STATUSES else ""
    tag = _param(request, "tag")
    forecaster = _param(request, "forecaster")
    page = _page_number(request)
    with request.app.state.db.read() as conn:
        items, total = views.list_questions(
            conn,
            status=status or None,
            tag=tag or None,
            forecaster=forecaster or None,
            q=q or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        filters = {"q": q, "status": status, "tag": tag, "forecaster": forecaster}
        last_page = max(1, math.ceil(total / PAGE_SIZE))
        context = {
            "filters": filters,
            "tags": _with_current(_tags(conn), tag),
            "forecasters": _with_current(_forecasters(conn), forecaster),
            "statuses": STATUSES,
            "rows": [{"question": item, "latest": latest_by_forecaster(item)} for item in items],
            "total": total,
            "page": page,
            "first_index": (page - 1) * PAGE_SIZE + 1 if items else 0,
            "last_index": (page - 1) * PAGE_SIZE + len(items),
            "prev_link": _query_string({**filters, "page": page - 1}) if page > 1 else None,
            "next_link": _query_string({**filters, "page": page + 1}) if page < last_page else None,
            "today": domain.utc_today(),
        }
        return _render(request, conn, "questions.html", context, active="questions")


@router.get("/questions/new", response_class=HTMLResponse)
def new_question(request: Request) -> HTMLResponse:
    """A form for a question and its first forecast; its script calls POST /api/questions."""
    with request.app.state.db.read() as conn:
        return _render(request, conn, "question_new.html", {}, active="questions")


@router.get("/questions/{question_id}", response_class=HTMLResponse)
def question_page(request: Request, question_id: str) -> HTMLResponse:
    """One question: criteria, source, forecast history, resolution and suggestions."""
    with request.app.state.db.read() as conn:
        number = _question_id(question_id)
        if number is None:
            return _not_found(request, conn, f"question {question_id} not found")
        try:
            question = views.get_question(conn, number)
        except NotFound as exc:
            return _not_found(request, conn, exc.detail)
        suggestion_rows = conn.execute(
            select(suggestions_t)
            .where(suggestions_t.c.question_id == number)
            .order_by(suggestions_t.c.created_at.desc(), suggestions_t.c.id.desc())
        ).all()
        # Pending ones first, most confident first (the question's answer leads); then the
        # reviewed ones, newest first.
        pending = sorted(
            (r for r in suggestion_rows if r.status == "pending"), key=lambda r: -r.confidence
        )
        suggestion_rows = pending + [r for r in suggestion_rows if r.status != "pending"]
        context = {
            "question": question,
            "latest": latest_by_forecaster(question),
            "history": history_chart(question, domain.utc_today()),
            "forecasts": sorted(question.forecasts, key=lambda f: (f.made_on, f.id)),
            "suggestions": [_suggestion_dict(r) for r in suggestion_rows],
            "today": domain.utc_today(),
        }
        return _render(request, conn, "question.html", context, active="questions")


@router.get("/article", response_class=HTMLResponse)
def article(request: Request) -> HTMLResponse:
    """The seed article: its claims, their hedges, what happened and how they scored."""
    with request.app.state.db.read() as conn:
        items, _total = views.list_questions(conn, tag=ARTICLE_TAG, limit=views.MAX_PAGE)
        claims = sorted(items, key=lambda q: q.id)
        scores = scoreboard_store.compute_scores(conn, tag=ARTICLE_TAG) if claims else None
        pending = _pending_by_question(conn, [c.id for c in claims])
        source = next((c.source for c in claims if c.source is not None), None)
        context = {
            "claims": [
                {
                    "question": claim,
                    "forecasts": sorted(claim.forecasts, key=lambda f: (f.made_on, f.id)),
                    "pending": pending.get(claim.id, []),
                }
                for claim in claims
            ],
            "source": source,
            "scores": scores,
            "tag": ARTICLE_TAG,
            "today": domain.utc_today(),
        }
        return _render(request, conn, "article.html", context, active="article")


def _pending_by_question(conn: Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return grouped
    rows = conn.execute(
        select(suggestions_t)
        .where(suggestions_t.c.question_id.in_(ids), suggestions_t.c.status == "pending")
        .order_by(suggestions_t.c.confidence.desc(), suggestions_t.c.id)
    )
    for row in rows:
        grouped.setdefault(row.question_id, []).append(_suggestion_dict(row))
    return grouped


REVIEW_TABS = ("pending", "reviewed")


def _review_cards(conn: Connection, statuses: Sequence[str], newest_reviewed: bool) -> list[Any]:
    query = (
        select(
            suggestions_t,
            questions_t.c.title.label("question_title"),
            questions_t.c.resolution_criteria.label("question_criteria"),
            questions_t.c.resolve_by.label("question_resolve_by"),
            questions_t.c.default_outcome.label("question_default_outcome"),
            questions_t.c.status.label("question_status"),
        )
        .join(questions_t, questions_t.c.id == suggestions_t.c.question_id)
        .where(suggestions_t.c.status.in_(statuses))
    )
    if newest_reviewed:
        query = query.order_by(suggestions_t.c.reviewed_at.desc(), suggestions_t.c.id.desc())
    else:
        query = query.order_by(
            suggestions_t.c.confidence.desc(), suggestions_t.c.created_at, suggestions_t.c.id
        )
    rows = conn.execute(query.limit(REVIEW_LIMIT)).all()
    return [
        {
            **_suggestion_dict(row),
            "question_title": row.question_title,
            "question_criteria": row.question_criteria,
            "question_resolve_by": row.question_resolve_by,
            "question_default_outcome": row.question_default_outcome,
            "question_status": row.question_status,
        }
        for row in rows
    ]


def group_by_question(cards: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question's suggestions together, most confident first; the questions in the
    order of their most confident suggestion (cards come most confident first)."""
    groups: dict[int, dict[str, Any]] = {}
    for card in cards:
        group = groups.setdefault(
            card["question_id"],
            {
                "question_id": card["question_id"],
                "question_title": card["question_title"],
                "cards": [],
            },
        )
        group["cards"].append(card)
    return list(groups.values())


def _reviewed_count(conn: Connection) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(suggestions_t)
        .where(suggestions_t.c.status.in_(("accepted", "rejected")))
    ).scalar_one()
    return int(count)


@router.get("/review", response_class=HTMLResponse)
def review(request: Request) -> HTMLResponse:
    """Pending suggestions grouped by question, most confident first, with buttons that call
    the review API; ?tab=reviewed lists the reviewed ones (who, when, the note, Undo)."""
    tab = _param(request, "tab")
    tab = tab if tab in REVIEW_TABS else "pending"
    with request.app.state.db.read() as conn:
        if tab == "reviewed":
            cards = _review_cards(conn, ("accepted", "rejected"), newest_reviewed=True)
        else:
            cards = _review_cards(conn, ("pending",), newest_reviewed=False)
        context = {
            "tab": tab,
            "cards": cards,
            "groups": group_by_question(cards) if tab == "pending" else [],
            "limit": REVIEW_LIMIT,
            "reviewed_count": _reviewed_count(conn),
        }
        return _render(request, conn, "review.html", context, active="review")


@router.get("/drafts", response_class=HTMLResponse)
def drafts_page(request: Request) -> HTMLResponse:
    """Paste a text or a URL, review the claims found in it, accept or dismiss each; the
    page's script calls the drafts API with the reader's token."""
    from forecasts.tables import drafts_t

    with request.app.state.db.read() as conn:
        recent = conn.execute(
            select(
                drafts_t.c.id,
                drafts_t.c.source_title,
                drafts_t.c.source_publisher,
                drafts_t.c.source_url,
                drafts_t.c.created_at,
            )
            .order_by(drafts_t.c.id.desc())
            .limit(20)
        ).all()
        context = {"recent": recent, "draft_id": _question_id(_param(request, "id"))}
        return _render(request, conn, "drafts.html", context, active="drafts")
