"""Drafts: a text whose claims are found, stored as proposals, and accepted as questions or
dismissed one by one.

Accepting a claim goes through forecasts.questions.create_question like every other way in,
with the source's date as the day the forecast was made. A claim is decided once: its status
moves from "proposed" in one guarded update, so two people accepting the same claim at the
same time cannot both create a question.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, insert, select, update

from forecasts.claims import find_claims
from forecasts.errors import Conflict, InvalidInput, NotFound
from forecasts.identity import Principal, acting
from forecasts.models import utcnow
from forecasts.questions import create_question
from forecasts.schemas import (
    ClaimAccept,
    DraftClaimOut,
    DraftOut,
    ForecastIn,
    ProposedQuestionOut,
    QuestionCreate,
    SourceDocument,
    SourceDocumentOut,
)
from forecasts.tables import draft_claims_t as claims_t
from forecasts.tables import drafts_t

# The longest text a draft takes, in UTF-8 bytes.
MAX_TEXT_BYTES = 1024 * 1024
# How long a forecaster name taken from the source may be (a title can be longer).
_NAME_MAX = 200


def check_text_size(text: str) -> None:
    """InvalidInput naming `text` when it is over MAX_TEXT_BYTES."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise InvalidInput(
            f"text is {size} bytes, over the limit of {MAX_TEXT_BYTES} bytes (1 MiB)",
            field="text",
        )


def create_draft(
    conn: Connection,
    text: str,
    source: SourceDocument,
    *,
    today: date,
    actor: str | None,
) -> int:
    """Find the claims of `text` and store them with the draft; returns the draft's id.
    Horizons count from the source's published_on, else `today`."""
    check_text_size(text)
    if source.published_on is not None and source.published_on > today:
        raise InvalidInput(
            f"published_on {source.published_on} is in the future (today is {today} UTC)",
            field="published_on",
        )
    found = find_claims(text, published_on=source.published_on or today)
    draft_id = int(
        conn.execute(
            insert(drafts_t).returning(drafts_t.c.id),
            {
                "text": text,
                "source_title": source.title,
                "source_url": source.url,
                "source_publisher": source.publisher,
                "source_author": source.author,
                "source_published_on": source.published_on,
                "created_by": actor,
                "created_at": utcnow(),
            },
        ).scalar_one()
    )
    if found:
        conn.execute(
            insert(claims_t),
            [
                {
                    "draft_id": draft_id,
                    "position": claim.index,
                    "sentence": claim.sentence,
                    "start_offset": claim.start,
                    "end_offset": claim.end,
                    "hedge": claim.hedge,
                    "estimate": claim.estimate,
                    "probability": claim.probability,
                    "status": "proposed",
                    "question_id": None,
                    "proposed": {
                        "title": claim.proposed.title,
                        "resolution_criteria": claim.proposed.resolution_criteria,
                        "resolve_by": claim.proposed.resolve_by.isoformat(),
                        "news_query": claim.proposed.news_query,
                        "default_outcome": claim.proposed.default_outcome,
                    },
                }
                for claim in found
            ],
        )
    return draft_id


def _draft_row(conn: Connection, draft_id: int) -> Any:
    row = conn.execute(select(drafts_t).where(drafts_t.c.id == draft_id)).first()
    if row is None:
        raise NotFound(f"draft {draft_id} not found")
    return row


def _claim_row(conn: Connection, draft_id: int, index: int) -> Any:
    _draft_row(conn, draft_id)
    row = conn.execute(
        select(claims_t).where(claims_t.c.draft_id == draft_id, claims_t.c.position == index)
    ).first()
    if row is None:
        raise NotFound(f"draft {draft_id} has no claim {index}")
    return row


def _source(row: Any) -> SourceDocumentOut:
    return SourceDocumentOut(
        title=row.source_title,
        url=row.source_url,
        publisher=row.source_publisher,
        author=row.source_author,
        published_on=row.source_published_on,
    )


def _claim_out(row: Any) -> DraftClaimOut:
    return DraftClaimOut(
        index=row.position,
        sentence=row.sentence,
        start=row.start_offset,
        end=row.end_offset,
        hedge=row.hedge,
        estimate=row.estimate,
        probability=row.probability,
        status=row.status,
        question_id=row.question_id,
        proposed=ProposedQuestionOut.model_validate(row.proposed),
    )


def get_draft(conn: Connection, draft_id: int) -> DraftOut:
    row = _draft_row(conn, draft_id)
    claim_rows = conn.execute(
        select(claims_t).where(claims_t.c.draft_id == draft_id).order_by(claims_t.c.position)
    ).all()
    return DraftOut(
        id=row.id,
        source=_source(row),
        text=row.text,
        claims=[_claim_out(r) for r in claim_rows],
        created_by=row.created_by,
        created_at=row.created_at,
    )


def get_claim(conn: Connection, draft_id: int, index: int) -> DraftClaimOut:
    return _claim_out(_claim_row(conn, draft_id, index))


def forecaster_for(conn: Connection, draft_id: int, index: int, spec: ClaimAccept) -> str:
    """Whom accepting the claim attributes the forecast to: `spec.forecaster`, else the
    source's author, else its publisher, else its title. NotFound for an unknown claim."""
    _claim_row(conn, draft_id, index)
    if spec.forecaster:
        return spec.forecaster
    row = _draft_row(conn, draft_id)
    for name in (row.source_author, row.source_publisher, row.source_title):
        if name and name.strip():
            return " ".join(name.split())[:_NAME_MAX].strip()
    raise InvalidInput(
        "the source names no author, publisher or title to attribute the forecast to: "
        "give 'forecaster'",
        field="forecaster",
    )


def _decide(conn: Connection, row: Any, status: str, actor: str | None) -> None:
    """Move a proposed claim to `status`; Conflict if it was decided already (or meanwhile)."""
    if row.status != "proposed":
        raise Conflict(f"claim {row.position} of draft {row.draft_id} is already {row.status}")
    result = conn.execute(
        update(claims_t)
        .where(claims_t.c.id == row.id, claims_t.c.status == "proposed")
        .values(status=status, decided_by=actor, decided_at=utcnow())
    )
    if result.rowcount != 1:
        raise Conflict(f"claim {row.position} of draft {row.draft_id} was decided meanwhile")


def question_spec(draft: Any, claim: Any, spec: ClaimAccept, forecaster: str) -> QuestionCreate:
    """The question a claim becomes: its proposal with the overrides of `spec`."""
    proposed = ProposedQuestionOut.model_validate(claim.proposed)
    given = spec.model_fields_set
    title = spec.title if "title" in given and spec.title else proposed.title
    if "news_query" in given:
        news_query = spec.news_query or None  # emptied: derived from the title again
    elif title != proposed.title:
        news_query = None  # the proposed query was derived from the old title
    else:
        news_query = proposed.news_query
    estimate, probability = spec.estimate, spec.probability
    if estimate is None and probability is None:
        estimate, probability = claim.estimate, None
        if estimate is None:
            if claim.probability is None:
                raise InvalidInput(
                    f"claim {claim.position} has no estimate from the table (its hedge is "
                    f"{claim.hedge!r}): give 'probability' or 'estimate'",
                    field="probability",
                )
            probability = claim.probability
    made_on = draft.source_published_on
    hedge = f", hedged “{claim.hedge}”" if claim.hedge else ""
    criteria = spec.resolution_criteria or proposed.resolution_criteria.replace(
        proposed.title, title
    )
    return QuestionCreate(
        title=title,
        resolution_criteria=criteria,
        resolve_by=spec.resolve_by or proposed.resolve_by,
        opened_on=made_on,
        tags=spec.tags or [],
        news_query=news_query,
        default_outcome=spec.default_outcome or proposed.default_outcome,
        source=SourceDocument(
            title=draft.source_title,
            url=draft.source_url,
            publisher=draft.source_publisher,
            author=draft.source_author,
            published_on=draft.source_published_on,
        ),
        forecast=ForecastIn(
            forecaster=forecaster,
            probability=probability,
            estimate=estimate,
            made_on=made_on,
            rationale=spec.rationale or f"The source says: “{claim.sentence}”{hedge}.",
        ),
    )


def accept_claim(
    conn: Connection,
    draft_id: int,
    index: int,
    spec: ClaimAccept,
    *,
    forecaster: str,
    today: date,
    actor: str | Principal | None,
) -> int:
    """Create the claim's question (with its first forecast by `forecaster`, made on the
    source's date, else today) and mark the claim accepted; returns the question's id.
    Conflict if the claim was accepted or dismissed already."""
    draft = _draft_row(conn, draft_id)
    claim = _claim_row(conn, draft_id, index)
    if claim.status != "proposed":
        raise Conflict(f"claim {index} of draft {draft_id} is already {claim.status}")
    try:
        question = question_spec(draft, claim, spec, forecaster)
    except ValidationError as exc:
        # A stored proposal or source that no longer fits the question's rules.
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "question"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from exc
    who = acting(actor)
    _decide(conn, claim, "accepted", who.name)
    question_id = create_question(conn, question, today=today, actor=who)
    conn.execute(update(claims_t).where(claims_t.c.id == claim.id).values(question_id=question_id))
    return question_id


def dismiss_claim(
    conn: Connection, draft_id: int, index: int, *, actor: str | None
) -> DraftClaimOut:
    """Mark a proposed claim dismissed; Conflict if it was accepted or dismissed already."""
    claim = _claim_row(conn, draft_id, index)
    _decide(conn, claim, "dismissed", actor)
    return get_claim(conn, draft_id, index)
