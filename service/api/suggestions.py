"""Suggestions and their review, and POST /api/poll (one whole poll cycle on demand)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from forecasts import suggestions as domain
from forecasts.question_views import get_question
from forecasts.questions import utc_today
from forecasts.schemas import QuestionOut, ReviewIn, SuggestionOut, SuggestionPage, SuggestionStatus
from service.api.deps import MAX_ID, DbDep, Limit, Offset, SettingsDep
from service.auth import AdminScope, ReviewScope
from service.foreground import background_request
from service.queue import poll_now
from service.schemas import PollIn, PollReport

router = APIRouter(tags=["suggestions"])
SuggestionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the suggestion's id")]


@router.get("/api/suggestions", response_model=SuggestionPage)
def list_suggestions(
    db: DbDep,
    status: SuggestionStatus | None = None,
    question_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SuggestionPage:
    """Suggestions; pending ones most confident first."""
    with db.read() as conn:
        items, total = domain.list_suggestions(
            conn, status=status, question_id=question_id, limit=limit, offset=offset
        )
    return SuggestionPage(items=items, total=total)


@router.get("/api/suggestions/{suggestion_id}", response_model=SuggestionOut)
def get_suggestion(suggestion_id: SuggestionId, db: DbDep) -> SuggestionOut:
    """One suggestion with its evidence and review; 404 if unknown."""
    with db.read() as conn:
        return domain.get_suggestion(conn, suggestion_id)


@router.post("/api/suggestions/{suggestion_id}/accept", response_model=QuestionOut)
def accept_suggestion(
    suggestion_id: SuggestionId,
    db: DbDep,
    who: ReviewScope,
    body: Annotated[ReviewIn | None, Body()] = None,
) -> QuestionOut:
    """Resolve the question with the suggestion's outcome; its other pending suggestions
    become superseded. 409 if the suggestion is not pending or the question is not open."""
    note = body.note if body else None
    with db.write() as conn:
        question_id = domain.accept_suggestion(
            conn, suggestion_id, note=note, actor=who.name, today=utc_today()
        )
        return get_question(conn, question_id)


@router.post("/api/suggestions/{suggestion_id}/reject", response_model=SuggestionOut)
def reject_suggestion(
    suggestion_id: SuggestionId,
    db: DbDep,
    who: ReviewScope,
    body: Annotated[ReviewIn | None, Body()] = None,
) -> SuggestionOut:
    """Reject the suggestion; the same evidence will not raise it again."""
    note = body.note if body else None
    with db.write() as conn:
        return domain.reject_suggestion(conn, suggestion_id, note=note, actor=who.name)


@router.post("/api/poll", response_model=PollReport)
def poll(
    db: DbDep,
    settings: SettingsDep,
    who: AdminScope,
    body: Annotated[PollIn | None, Body()] = None,
) -> dict[str, Any]:
    """Run one whole cycle now: fetch the due sources (all enabled ones if force), store new
    items, match them, run the deadline check; answers when it is done."""
    # With FORECASTS_QUEUE_URL the workers fetch and this waits for them (deploy/SCALING.md).
    with background_request():  # the cycle gives way to other requests, not to this one
        report = poll_now(db, settings, force=bool(body and body.force))
    return report.as_dict()
