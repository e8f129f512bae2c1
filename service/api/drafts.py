"""Drafts: from an article to forecasts. Post a text (or a URL to fetch it from), review the
claims found in it, accept each as a question with its forecast, or dismiss it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from forecasts import drafts as domain
from forecasts.errors import InvalidInput
from forecasts.question_views import get_question
from forecasts.questions import utc_today
from forecasts.schemas import ClaimAccept, DraftClaimOut, DraftOut, QuestionOut, SourceDocument
from resolvers.documents import fetch_document
from service.api.deps import MAX_ID, DbDep, SettingsDep
from service.auth import ForecastScope
from service.db import Database
from service.polling import poll_config
from service.schemas import DraftCreate

router = APIRouter(prefix="/api/drafts", tags=["drafts"])
DraftId = Annotated[int, Path(ge=1, le=MAX_ID, description="the draft's id")]
ClaimIndex = Annotated[int, Path(ge=0, le=MAX_ID, description="the claim's index in its draft")]


def _store(db: Database, text: str, source: SourceDocument, today: date, actor: str) -> DraftOut:
    with db.write() as conn:
        draft_id = domain.create_draft(conn, text, source, today=today, actor=actor)
        return domain.get_draft(conn, draft_id)


@router.post("", status_code=201, response_model=DraftOut)
async def create_draft(
    body: DraftCreate, db: DbDep, settings: SettingsDep, who: ForecastScope
) -> DraftOut:
    """Find the claims in `text`, or in the page at `url` (its main text and metadata);
    413 for a text over 1 MiB, 422 naming why a URL cannot be used."""
    today = utc_today()
    if body.text is not None and body.text.strip():
        try:
            domain.check_text_size(body.text)
        except InvalidInput as exc:
            raise HTTPException(413, exc.detail) from exc
        text = body.text
        source = SourceDocument(
            title=body.title,
            publisher=body.publisher,
            author=body.author,
            published_on=body.published_on,
        )
    else:
        assert body.url is not None  # DraftCreate holds exactly one of text and url
        document = await fetch_document(body.url, poll_config(settings), today=today)
        text = document.text
        source = SourceDocument(
            title=body.title or document.title,
            url=body.url,
            publisher=body.publisher or document.publisher,
            author=body.author or document.author,
            published_on=body.published_on or document.published_on,
        )
    # Finding claims costs CPU and storing them a transaction: both off the event loop.
    return await run_in_threadpool(_store, db, text, source, today, who.name)


@router.get("/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: DraftId, db: DbDep) -> DraftOut:
    """One draft: its source, its text and its claims; 404 if unknown."""
    with db.read() as conn:
        return domain.get_draft(conn, draft_id)


@router.post("/{draft_id}/claims/{index}/accept", status_code=201, response_model=QuestionOut)
def accept_claim(
    draft_id: DraftId,
    index: ClaimIndex,
    db: DbDep,
    who: ForecastScope,
    body: Annotated[ClaimAccept | None, Body()] = None,
) -> QuestionOut:
    """Create the claim's question, with overrides of any proposed field; its forecast is by
    `forecaster` (default: the source's author, else publisher, else title), which needs
    scope record unless it is the token's own name. 409 once accepted or dismissed."""
    spec = body or ClaimAccept()
    with db.write() as conn:
        forecaster = domain.forecaster_for(conn, draft_id, index, spec)
        # The domain owns the record rule: a forecast under another name than the token's
        # needs the record scope (forecasts.questions, 403 through the error mapping).
        question_id = domain.accept_claim(
            conn,
            draft_id,
            index,
            spec,
            forecaster=forecaster,
            today=utc_today(),
            actor=who,
        )
        return get_question(conn, question_id)


@router.post("/{draft_id}/claims/{index}/dismiss", response_model=DraftClaimOut)
def dismiss_claim(
    draft_id: DraftId, index: ClaimIndex, db: DbDep, who: ForecastScope
) -> DraftClaimOut:
    """Set the claim aside; 409 once accepted or dismissed."""
    with db.write() as conn:
        return domain.dismiss_claim(conn, draft_id, index, actor=who.name)
