"""The deadline check: questions past resolve_by (plus grace) that nothing has decided get a
suggestion for their default outcome.

Its confidence starts at BASE_CONFIDENCE and falls as pending news for the event grows
stronger, so that the question's most confident pending suggestion is its answer whichever
came first. It is raised once per question: an evidence link with item key "deadline" marks
it, and stays when the suggestion is rejected, so a rejected deadline suggestion never comes
back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from forecasts.tables import links_t, questions_t, suggestions_t
from resolvers.items import chunks
from resolvers.suggestion_store import insert_ignoring_conflict, pending_suggestion

DEADLINE_RESOLVER = "deadline"
DEADLINE_KEY = "deadline"
BASE_CONFIDENCE = 0.6
MIN_CONFIDENCE = 0.05


def deadline_confidence(event_confidence: float | None) -> float:
    """BASE_CONFIDENCE with no pending news for the event, lowered in proportion to it: news at
    confidence c leaves 0.6·(1 − c), so news above c ≈ 0.375 outranks the deadline."""
    c = event_confidence or 0.0
    return round(max(MIN_CONFIDENCE, BASE_CONFIDENCE * (1.0 - c)), 3)


def deadline_rationale(
    resolve_by: date, grace_days: int, default_outcome: str, event: Any | None
) -> str:
    ended = resolve_by + timedelta(days=grace_days)
    text = (
        f"resolve_by {resolve_by.isoformat()} passed, and the {grace_days}-day grace for late "
        f"reports ended {ended.isoformat()}, with no accepted evidence of the event: the "
        f"question's default outcome is '{default_outcome}'."
    )
    if event is not None:
        text += (
            f" Pending news for the event (suggestion #{event.id}, confidence "
            f"{event.confidence:.2f}) lowers this confidence; the more confident one is the answer."
        )
    else:
        text += " No pending news for the event."
    return text


def _event_outcome(default_outcome: str) -> str:
    return "yes" if default_outcome == "no" else "no"


def check_deadlines(conn: Connection, *, today: date, grace_days: int, now: datetime) -> int:
    """Raise deadline suggestions that are due and refresh pending ones; returns how many
    suggestions were created."""
    cutoff = today - timedelta(days=grace_days)  # resolve_by + grace < today
    due = list(
        conn.execute(
            select(questions_t.c.id, questions_t.c.resolve_by, questions_t.c.default_outcome)
            .where(questions_t.c.status == "open", questions_t.c.resolve_by < cutoff)
            .order_by(questions_t.c.id)
        ).all()
    )
    created = 0
    for part in chunks(due, 500):
        ids = [q.id for q in part]
        raised = {
            (r.question_id, r.outcome)
            for r in conn.execute(
                select(links_t.c.question_id, links_t.c.outcome).where(
                    links_t.c.question_id.in_(ids), links_t.c.item_key == DEADLINE_KEY
                )
            )
        }
        pending = {
            (r.question_id, r.outcome): r
            for r in conn.execute(
                select(suggestions_t).where(
                    suggestions_t.c.question_id.in_(ids), suggestions_t.c.status == "pending"
                )
            )
        }
        for q in part:
            outcome = q.default_outcome
            if (q.id, outcome) in raised or (q.id, outcome) in pending:
                # Raised before (pending, accepted or rejected), or news already proposes
                # the default outcome: one pending suggestion per outcome.
                continue
            row, is_new = pending_suggestion(
                conn, q.id, outcome, resolver=DEADLINE_RESOLVER, now=now
            )
            if not is_new:
                continue
            linked = insert_ignoring_conflict(
                conn,
                links_t,
                [
                    {
                        "suggestion_id": row.id,
                        "question_id": q.id,
                        "outcome": outcome,
                        "item_key": DEADLINE_KEY,
                        "score": BASE_CONFIDENCE,
                        "created_at": now,
                    }
                ],
                index_elements=["question_id", "outcome", "item_key"],
                returning=[links_t.c.id],
            )
            if not linked:
                # Another cycle raised it at the same moment.
                conn.execute(delete(suggestions_t).where(suggestions_t.c.id == row.id))
                continue
            event = pending.get((q.id, _event_outcome(outcome)))
            conn.execute(
                update(suggestions_t)
                .where(suggestions_t.c.id == row.id)
                .values(
                    confidence=deadline_confidence(event.confidence if event else None),
                    rationale=deadline_rationale(q.resolve_by, grace_days, outcome, event),
                    updated_at=now,
                )
            )
            created += 1
    refresh_deadline_confidence(conn, grace_days=grace_days, now=now)
    return created


def refresh_deadline_confidence(conn: Connection, *, grace_days: int, now: datetime) -> int:
    """Re-weigh pending deadline suggestions against the pending news for the event, which may
    have grown, appeared or been rejected since. Returns how many changed."""
    rows = list(
        conn.execute(
            select(
                suggestions_t.c.id,
                suggestions_t.c.question_id,
                suggestions_t.c.outcome,
                suggestions_t.c.confidence,
                questions_t.c.resolve_by,
            )
            .join(questions_t, questions_t.c.id == suggestions_t.c.question_id)
            .where(
                suggestions_t.c.resolver == DEADLINE_RESOLVER,
                suggestions_t.c.status == "pending",
                questions_t.c.status == "open",
            )
        ).all()
    )
    changed = 0
    for part in chunks(rows, 500):
        events = {
            (r.question_id, r.outcome): r
            for r in conn.execute(
                select(
                    suggestions_t.c.id,
                    suggestions_t.c.question_id,
                    suggestions_t.c.outcome,
                    suggestions_t.c.confidence,
                ).where(
                    suggestions_t.c.question_id.in_([r.question_id for r in part]),
                    suggestions_t.c.status == "pending",
                    suggestions_t.c.resolver != DEADLINE_RESOLVER,
                )
            )
        }
        for r in part:
            event = events.get((r.question_id, _event_outcome(r.outcome)))
            confidence = deadline_confidence(event.confidence if event else None)
            if abs(confidence - r.confidence) < 1e-9:
                continue
            conn.execute(
                update(suggestions_t)
                .where(suggestions_t.c.id == r.id, suggestions_t.c.status == "pending")
                .values(
                    confidence=confidence,
                    rationale=deadline_rationale(r.resolve_by, grace_days, r.outcome, event),
                    updated_at=now,
                )
            )
            changed += 1
    return changed
