"""The audit log: every change to the record appends one row, in the transaction that made
the change, saying who did what to which object and what it looked like before and after.
Rows are only ever appended (the database refuses updates and deletes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from forecasts.deferred_writes import append_audit_row
from forecasts.errors import InvalidInput
from forecasts.models import utcnow
from forecasts.schemas import AuditEntryOut
from forecasts.tables import audit_t

Action = Literal[
    "question.create",
    "question.patch",
    "question.resolve",
    "question.annul",
    "question.reopen",
    "forecast.create",
    "suggestion.accept",
    "suggestion.reject",
    "source.create",
    "source.patch",
    "source.delete",
    "token.create",
    "token.revoke",
    "webhook.create",
    "webhook.delete",
]


_SCALARS = (str, int, float, bool, type(None))
_DATES = (datetime, date)
_SEQUENCES = (list, tuple)


def plain(value: Any) -> Any:
    """A value as JSON holds it (dates as ISO text)."""
    # Scalars first: they are most of an audit row's values (every write records some).
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, _DATES):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, _SEQUENCES):
        return [plain(v) for v in value]
    return value


def record(
    conn: Connection,
    *,
    actor: str | None,
    action: Action,
    object_id: int | None,
    question_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit row inside the caller's transaction (at its end, in a batch)."""
    append_audit_row(
        conn,
        {
            "at": utcnow(),
            "actor": actor or "unknown",
            "action": action,
            "object": action.split(".", 1)[0],
            "object_id": object_id,
            "question_id": question_id,
            "before": None if before is None else plain(before),
            "after": None if after is None else plain(after),
        },
    )


def _out(row: Any) -> AuditEntryOut:
    at: datetime = row.at
    return AuditEntryOut(
        id=row.id,
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        actor=row.actor,
        action=row.action,
        object=row.object,
        object_id=row.object_id,
        before=row.before,
        after=row.after,
    )


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant from a query string (UTC when it has no offset)."""
    if text is None or not text.strip():
        return None
    try:
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"since {text!r} is not an ISO 8601 instant (2026-01-31T12:00:00Z)", field="since"
        ) from exc
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def question_history(conn: Connection, question_id: int) -> list[AuditEntryOut]:
    """The audit rows about one question, oldest first."""
    rows = conn.execute(
        select(audit_t).where(audit_t.c.question_id == question_id).order_by(audit_t.c.id)
    )
    return [_out(r) for r in rows]


def list_entries(
    conn: Connection,
    *,
    since: datetime | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntryOut], int]:
    """A page of the whole log, newest first, and how many rows match in all."""
    conditions = []
    if since is not None:
        conditions.append(audit_t.c.at >= since)
    if action:
        conditions.append(audit_t.c.action == action)
    total = conn.execute(select(func.count()).select_from(audit_t).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(audit_t)
        .where(*conditions)
        .order_by(audit_t.c.id.desc())
        .limit(min(limit, 1000))
        .offset(offset)
    )
    return [_out(r) for r in rows], int(total)
