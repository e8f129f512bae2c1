"""Questions, their forecasts and their resolution."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from forecasts import questions as domain
from forecasts.derived_query import derive_query
from forecasts.news_query import parse_query
from forecasts.schemas import (
    ForecastIn,
    ForecastOut,
    QuestionCreate,
    QuestionOut,
    QuestionPage,
    QuestionPatch,
    ResolveIn,
)
from forecasts.suggestions import supersede_pending
from service.api.deps import MAX_ID, DbDep, Limit, Offset
from service.auth import ForecastScope, ReviewScope

router = APIRouter(prefix="/api/questions", tags=["questions"])
QuestionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the question's id")]


def JSONBytes(content: str) -> Response:  # noqa: N802 - reads like a response class
    return Response(content=content, media_type="application/json")


class ForecastCreated(ForecastOut):
    question_id: int


@router.post("", status_code=201, response_model=QuestionOut)
def create_question(body: QuestionCreate, db: DbDep, who: ForecastScope) -> QuestionOut:
    """Store a question (and its first forecast); derives `news_query` from the title if absent."""
    if body.news_query:
        parse_query(body.news_query)
    news_query = body.news_query or derive_query(body.title)
    with db.write() as conn:
        question_id = domain.create_question(
            conn, body, news_query=news_query, today=domain.utc_today(), actor=who.name
        )
        return domain.get_question(conn, question_id)


@router.get("", response_model=QuestionPage)
def list_questions(
    request: Request,
    db: DbDep,
    status: Literal["open", "resolved", "annulled"] | None = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    forecaster: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title or criteria")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    params = (status, tag, forecaster, q, limit, offset)
    with db.read() as conn:
        # Pages are cached against a fingerprint of the data read in the same snapshot, so
        # a repeated page costs one small query and any write is seen at once.
        key = (params, domain.data_version(conn))
        pages = request.app.state.question_pages
        body = pages.get(key)
        if body is None:
            items, total = domain.list_questions(
                conn,
                status=status,
                tag=tag,
                forecaster=forecaster,
                q=q,
                limit=limit,
                offset=offset,
            )
            # Serialised here: the models are already valid, and FastAPI's second
            # validation pass over every item would cost more than the query.
            body = QuestionPage(items=items, total=total).model_dump_json()
            pages.put(key, body)
    return JSONBytes(body)


@router.get("/{question_id}", response_model=QuestionOut)
def get_question(question_id: QuestionId, db: DbDep) -> QuestionOut:
    with db.read() as conn:
        return domain.get_question(conn, question_id)


@router.patch("/{question_id}", response_model=QuestionOut)
def patch_question(
    question_id: QuestionId, body: QuestionPatch, db: DbDep, who: ForecastScope
) -> QuestionOut:
    """Change an open question; 409 once it is resolved or annulled."""
    news_query = None
    if "news_query" in body.model_fields_set:
        if body.news_query:
            parse_query(body.news_query)
            news_query = body.news_query
    with db.write() as conn:
        if "news_query" in body.model_fields_set and not body.news_query:
            # An emptied query is derived again from the (possibly new) title.
            title = body.title or domain.get_question(conn, question_id).title
            news_query = derive_query(title)
        domain.update_question(
            conn, question_id, body, today=domain.utc_today(), news_query=news_query
        )
        return domain.get_question(conn, question_id)


@router.post("/{question_id}/forecasts", status_code=201, response_model=ForecastCreated)
def add_forecast(
    question_id: QuestionId, body: ForecastIn, db: DbDep, who: ForecastScope
) -> ForecastCreated:
    """Add a forecast; history is kept. Open questions only, also after resolve_by (backdated)."""
    with db.write() as conn:
        forecast_id = domain.add_forecast(
            conn, question_id, body, today=domain.utc_today(), actor=who.name
        )
        question = domain.get_question(conn, question_id)
    made = next(f for f in question.forecasts if f.id == forecast_id)
    return ForecastCreated(question_id=question_id, **made.model_dump())


@router.post("/{question_id}/resolve", response_model=QuestionOut)
def resolve_question(
    question_id: QuestionId, body: ResolveIn, db: DbDep, who: ReviewScope
) -> QuestionOut:
    """Resolve yes/no or annul by hand; 409 if already resolved or annulled."""
    with db.write() as conn:
        domain.resolve_question(conn, question_id, body, today=domain.utc_today(), actor=who.name)
        supersede_pending(conn, question_id, actor=who.name)
        return domain.get_question(conn, question_id)
