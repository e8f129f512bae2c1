"""Questions, their forecasts and their resolution."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Connection

from forecasts import audit
from forecasts import question_views as views
from forecasts import questions as domain
from forecasts.schemas import (
    AuditPage,
    ForecastIn,
    QuestionCreate,
    QuestionOut,
    QuestionPage,
    QuestionPatch,
    ReopenIn,
    ResolveIn,
)
from service.api.deps import MAX_ID, DbDep, Limit, Offset
from service.api.fast_route import HappyPathRoute
from service.auth import ForecastScope, ReviewScope
from service.cache import PageCache
from service.schemas import ForecastCreated

# The create and forecast routes are the service's hottest writes (service/api/fast_route.py).
router = APIRouter(prefix="/api/questions", tags=["questions"], route_class=HappyPathRoute)
QuestionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the question's id")]


def JSONBytes(content: str, status_code: int = 200) -> Response:  # noqa: N802 - reads like a class
    return Response(content=content, status_code=status_code, media_type="application/json")


@router.post("", status_code=201, response_model=QuestionOut)
async def create_question(body: QuestionCreate, db: DbDep, who: ForecastScope) -> Response:
    """Store a question (and its first forecast); derives `news_query` from the title if absent."""
    today = domain.utc_today()
    stored = await db.change(lambda conn: domain.store_question(conn, body, today=today, actor=who))
    # Answered from what was written (the same fields a read gives), after the commit.
    made = views.stored_question_out(stored.values, stored.forecasts)
    return JSONBytes(made.model_dump_json(), status_code=201)


@router.get("", response_model=QuestionPage)
async def list_questions(
    request: Request,
    db: DbDep,
    status: Literal["open", "resolved", "annulled"] | None = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    forecaster: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title or criteria")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Questions, newest first, filtered by status, tag, forecaster (as one identity) and
    text in the title or criteria."""
    pages: PageCache = request.app.state.question_pages

    def build(conn: Connection) -> str:
        items, total = views.list_questions(
            conn, status=status, tag=tag, forecaster=forecaster, q=q, limit=limit, offset=offset
        )
        # Serialised here: the models are already valid, and FastAPI's second validation
        # pass over every item would cost more than the query.
        return QuestionPage(items=items, total=total).model_dump_json()

    return JSONBytes(await pages.page(db, (status, tag, forecaster, q, limit, offset), build))


@router.get("/{question_id}", response_model=QuestionOut)
def get_question(question_id: QuestionId, db: DbDep) -> QuestionOut:
    """One question with all its forecasts and its resolution; 404 if unknown."""
    with db.read() as conn:
        return views.get_question(conn, question_id)


@router.patch("/{question_id}", response_model=QuestionOut)
def patch_question(
    question_id: QuestionId, body: QuestionPatch, db: DbDep, who: ForecastScope
) -> QuestionOut:
    """Change an open question; 409 once it is resolved or annulled."""
    with db.write() as conn:
        domain.update_question(conn, question_id, body, today=domain.utc_today(), actor=who)
        return views.get_question(conn, question_id)


@router.post("/{question_id}/forecasts", status_code=201, response_model=ForecastCreated)
async def add_forecast(
    question_id: QuestionId, body: ForecastIn, db: DbDep, who: ForecastScope
) -> Response:
    """Add a forecast; history is kept. Open questions only, also after resolve_by (backdated)."""
    today = domain.utc_today()
    stored = await db.change(
        lambda conn: domain.store_forecast(conn, question_id, body, today=today, actor=who)
    )
    made = views.stored_forecast_out(stored)
    created = ForecastCreated.model_construct(question_id=question_id, **dict(made))
    return JSONBytes(created.model_dump_json(), status_code=201)


@router.post("/{question_id}/resolve", response_model=QuestionOut)
def resolve_question(
    question_id: QuestionId, body: ResolveIn, db: DbDep, who: ReviewScope
) -> QuestionOut:
    """Resolve yes/no or annul by hand; 409 if already resolved or annulled."""
    with db.write() as conn:
        domain.resolve_question(conn, question_id, body, today=domain.utc_today(), actor=who)
        return views.get_question(conn, question_id)


@router.post("/{question_id}/reopen", response_model=QuestionOut)
def reopen_question(
    question_id: QuestionId, body: ReopenIn, db: DbDep, who: ReviewScope
) -> QuestionOut:
    """Undo a resolution (or annulment): open again, outcome cleared, and the suggestions it
    decided pending again; scores change in the same transaction. 409 if it is open."""
    with db.write() as conn:
        domain.reopen_question(conn, question_id, note=body.note, actor=who)
        return views.get_question(conn, question_id)


@router.get("/{question_id}/history", response_model=AuditPage)
def question_history(question_id: QuestionId, db: DbDep) -> AuditPage:
    """The audit rows about this question, oldest first."""
    with db.read() as conn:
        views.get_question(conn, question_id)  # 404 for an unknown question
        items = audit.question_history(conn, question_id)
    return AuditPage(items=items, total=len(items))
