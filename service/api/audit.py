"""The audit log (admin): every change to the record, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from forecasts import audit
from forecasts.schemas import AuditPage
from service.api.deps import DbDep, Limit, Offset
from service.auth import AdminScope

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    db: DbDep,
    who: AdminScope,
    # Text parsed here rather than a datetime parameter: an instant without an offset is
    # read as UTC, and a bad one is a 422 naming `since`.
    since: Annotated[
        str | None,
        Query(max_length=40, description="only rows at or after this instant (ISO 8601)"),
    ] = None,
    action: Annotated[
        str | None, Query(max_length=40, description="only this action, e.g. question.resolve")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditPage:
    """Every change to the record, newest first: who, when, what, and the fields before and
    after."""
    with db.read() as conn:
        items, total = audit.list_entries(
            conn, since=audit.parse_instant(since), action=action, limit=limit, offset=offset
        )
    return AuditPage(items=items, total=total)
