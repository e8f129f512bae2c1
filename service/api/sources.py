"""News sources: list and read them (open), add, change and remove them (scope admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service import sourceconfig as domain
from service.api.deps import MAX_ID, DbDep, Limit, Offset, SettingsDep
from service.auth import AdminScope
from service.schemas import SourceCreate, SourceOut, SourcePage, SourcePatch

router = APIRouter(prefix="/api/sources", tags=["sources"])
SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="the source's id")]


def _tell_scheduler(request: Request, source_id: int, *, removed: bool = False) -> None:
    # The scheduler runs in this process only if it was elected; otherwise the elected one
    # picks the change up when it next re-reads the sources table.
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is None:
        return
    if removed:
        scheduler.source_removed(source_id)
    else:
        scheduler.source_changed(source_id)


@router.post("", status_code=201, response_model=SourceOut)
def create_source(
    body: SourceCreate, request: Request, db: DbDep, settings: SettingsDep, who: AdminScope
) -> SourceOut:
    """Add a source; 422 if its adapter could not poll it or it aims at a private address."""
    domain.check_source(
        body.kind, body.url, body.options, allow_private=settings.allow_private_sources
    )
    with db.write() as conn:
        source_id = domain.create_source(conn, body, actor=who.name)
        created = domain.get_source(conn, source_id)
    _tell_scheduler(request, source_id)
    return created


@router.get("", response_model=SourcePage)
def list_sources(db: DbDep, limit: Limit = 50, offset: Offset = 0) -> SourcePage:
    """Every source with its last poll: when, what it found, its last error."""
    with db.read() as conn:
        items, total = domain.list_sources(conn, limit=limit, offset=offset)
    return SourcePage(items=items, total=total)


@router.get("/{source_id}", response_model=SourceOut)
def get_source(source_id: SourceId, db: DbDep) -> SourceOut:
    """One source; 404 if unknown."""
    with db.read() as conn:
        return domain.get_source(conn, source_id)


@router.patch("/{source_id}", response_model=SourceOut)
def patch_source(
    source_id: SourceId,
    body: SourcePatch,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    who: AdminScope,
) -> SourceOut:
    """Change a source; fields left out stay. 409 if the new name is taken."""
    with db.read() as conn:
        merged = domain.merge_patch(domain.stored_source(conn, source_id), body)
    # Checked outside the write transaction: the address check may wait on DNS. The address
    # is checked again only if it changed; the fetcher checks it at every request anyway.
    domain.check_source(
        merged["kind"],
        merged["url"],
        merged["options"],
        allow_private=settings.allow_private_sources,
        check_address=body.url is not None or body.kind is not None,
    )
    with db.write() as conn:
        domain.update_source(conn, source_id, body, merged, actor=who.name)
        changed = domain.get_source(conn, source_id)
    _tell_scheduler(request, source_id)
    return changed


@router.delete("/{source_id}", status_code=204)
def delete_source(source_id: SourceId, request: Request, db: DbDep, who: AdminScope) -> Response:
    """Remove a source; the items it brought in stay."""
    with db.write() as conn:
        domain.delete_source(conn, source_id, actor=who.name)
    _tell_scheduler(request, source_id, removed=True)
    return Response(status_code=204)
