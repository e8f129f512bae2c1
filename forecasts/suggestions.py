"""Reviewing suggestions: listing them, and the rules of accepting and rejecting one.

Accepting resolves the question with the suggestion's outcome through resolve_question, so
every rule of resolving holds, superseding the question's other pending suggestions included.
Rejecting only marks the suggestion: its evidence links stay, so the same evidence never
raises the same suggestion again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, case, func, select, update

from forecasts import audit
from forecasts.errors import Conflict, NotFound
from forecasts.models import utcnow
from forecasts.question_views import MAX_PAGE
from forecasts.questions import resolve_question
from forecasts.schemas import (
    EvidenceOut,
    ResolveIn,
    SuggestionOut,
)
from forecasts.tables import questions_t as questions
from forecasts.tables import suggestions_t as suggestions

DEADLINE_RESOLVER = "deadline"
NOTE_MAX = 10_000
URL_MAX = 2000
MAX_EVIDENCE_URLS = 100


def _aware(instant: datetime | None) -> datetime | None:
    if instant is None:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _out(row: Any) -> SuggestionOut:
    return SuggestionOut(
        id=row.id,
        question_id=row.question_id,
        outcome=row.outcome,
        confidence=row.confidence,
        resolver=row.resolver,
        rationale=row.rationale,
        evidence=[EvidenceOut.model_validate(e) for e in row.evidence or [] if isinstance(e, dict)],
        status=row.status,
        created_at=_aware(row.created_at) or row.created_at,
        reviewed_at=_aware(row.reviewed_at),
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
    )


def list_suggestions(
    conn: Connection,
    *,
    status: str | None = None,
    question_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SuggestionOut], int]:
    """A page of suggestions: pending ones first, most confident first; then the reviewed
    ones, newest first. Returns the page and how many match in all."""
    conditions = []
    if status:
        conditions.append(suggestions.c.status == status)
    if question_id is not None:
        conditions.append(suggestions.c.question_id == question_id)
    total = conn.execute(
        select(func.count()).select_from(suggestions).where(*conditions)
    ).scalar_one()
    is_pending = suggestions.c.status == "pending"
    rows = conn.execute(
        select(suggestions)
        .where(*conditions)
        .order_by(
            case((is_pending, 0), else_=1),
            case((is_pending, -suggestions.c.confidence), else_=0.0),
            suggestions.c.id.desc(),
        )
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    ).all()
    return [_out(r) for r in rows], int(total)


def get_suggestion(conn: Connection, suggestion_id: int) -> SuggestionOut:
    row = conn.execute(select(suggestions).where(suggestions.c.id == suggestion_id)).first()
    if row is None:
        raise NotFound(f"suggestion {suggestion_id} not found")
    return _out(row)


def _reviewable(conn: Connection, suggestion_id: int, action: str) -> tuple[Any, Any]:
    """The pending suggestion and its open question, or the error that forbids the review."""
    row = conn.execute(select(suggestions).where(suggestions.c.id == suggestion_id)).first()
    if row is None:
        raise NotFound(f"suggestion {suggestion_id} not found")
    if row.status != "pending":
        raise Conflict(
            f"suggestion {suggestion_id} is {row.status}; only a pending one can be {action}"
        )
    question = conn.execute(select(questions).where(questions.c.id == row.question_id)).first()
    if question is None:
        raise NotFound(f"question {row.question_id} not found")
    if question.status != "open":
        raise Conflict(
            f"question {row.question_id} is already {question.status}; "
            f"suggestion {suggestion_id} cannot be {action}"
        )
    return row, question


def _evidence_day(evidence: list[dict[str, Any]]) -> date | None:
    days = []
    for entry in evidence:
        try:
            instant = datetime.fromisoformat(
                str(entry.get("published_at", "")).replace("Z", "+00:00")
            )
        except ValueError:
            continue
        days.append((_aware(instant) or instant).astimezone(UTC).date())
    return min(days) if days else None


def resolution_day(row: Any, question: Any, today: date) -> date:
    """When the accepted suggestion says the question resolved: the (UTC) day of its earliest
    evidence, or resolve_by for a deadline suggestion; never after today nor before opened_on."""
    day: date
    if row.resolver == DEADLINE_RESOLVER:
        day = question.resolve_by
    else:
        day = _evidence_day(list(row.evidence or [])) or today
    opened_on: date = question.opened_on
    return max(opened_on, min(day, today))


def accept_suggestion(
    conn: Connection, suggestion_id: int, *, note: str | None, actor: str, today: date
) -> int:
    """Resolve the suggestion's question with its outcome; returns the question's id.

    404 for an unknown suggestion; 409 if it is not pending or its question is not open.
    """
    row, question = _reviewable(conn, suggestion_id, "accepted")
    evidence = list(row.evidence or [])
    urls = list(
        dict.fromkeys(str(e["url"]) for e in evidence if isinstance(e, dict) and e.get("url"))
    )
    resolution_note = note or f"Accepted suggestion #{row.id} ({row.resolver}): {row.rationale}"
    # Marked first, so that resolving supersedes only the question's other pending ones.
    _mark(conn, suggestion_id, "accepted", actor=actor, note=note, now=utcnow())
    _audit_review(conn, row, "accepted", actor=actor, note=note)
    resolve_question(
        conn,
        row.question_id,
        ResolveIn(
            outcome=row.outcome,
            resolved_on=resolution_day(row, question, today),
            note=resolution_note[:NOTE_MAX],
            evidence_urls=[u for u in urls if len(u) <= URL_MAX][:MAX_EVIDENCE_URLS],
        ),
        today=today,
        actor=actor,
        supersede_note=f"superseded: suggestion #{suggestion_id} was accepted",
    )
    return int(row.question_id)


def reject_suggestion(
    conn: Connection, suggestion_id: int, *, note: str | None, actor: str
) -> SuggestionOut:
    """Mark the suggestion rejected; its evidence keeps it from being raised again."""
    row, _question = _reviewable(conn, suggestion_id, "rejected")
    _mark(conn, suggestion_id, "rejected", actor=actor, note=note, now=utcnow())
    _audit_review(conn, row, "rejected", actor=actor, note=note)
    return get_suggestion(conn, suggestion_id)


def _audit_review(conn: Connection, row: Any, status: str, *, actor: str, note: str | None) -> None:
    audit.record(
        conn,
        actor=actor,
        action="suggestion.accept" if status == "accepted" else "suggestion.reject",
        object_id=row.id,
        question_id=row.question_id,
        before={"status": row.status},
        after={
            "status": status,
            "outcome": row.outcome,
            "confidence": row.confidence,
            "review_note": note,
            # The receipt: the evidence as it was seen when the review was made.
            "evidence": list(row.evidence or []),
        },
    )


def _mark(
    conn: Connection, suggestion_id: int, status: str, *, actor: str, note: str | None, now: Any
) -> None:
    # Guarded on status: of two reviewers racing, one wins and the other gets a 409.
    result = conn.execute(
        update(suggestions)
        .where(suggestions.c.id == suggestion_id, suggestions.c.status == "pending")
        .values(status=status, reviewed_at=now, reviewed_by=actor, review_note=note, updated_at=now)
    )
    if result.rowcount != 1:
        raise Conflict(f"suggestion {suggestion_id} was reviewed meanwhile")
