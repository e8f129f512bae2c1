"""Webhooks (admin): who is told about suggestions, deadlines and resolutions, and the log
of every delivery attempt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service import webhooks as domain
from service.api.deps import MAX_ID, DbDep, Limit, Offset, SettingsDep
from service.auth import AdminScope
from service.schemas import DeliveryPage, WebhookCreate, WebhookOut, WebhookPage

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID, description="the webhook's id")]


@router.post("", status_code=201, response_model=WebhookOut, summary="Add a webhook")
def create_webhook(
    body: WebhookCreate, db: DbDep, settings: SettingsDep, who: AdminScope
) -> WebhookOut:
    """Tell `url` about `events`. Each delivery is a signed JSON POST, sent off the request
    path and retried with backoff; 422 if the URL fails the outbound guard."""
    return domain.create_webhook(
        db, body, allow_private=settings.allow_private_sources, actor=who.name
    )


@router.get("", response_model=WebhookPage, summary="List the webhooks")
def list_webhooks(db: DbDep, who: AdminScope, limit: Limit = 50, offset: Offset = 0) -> WebhookPage:
    """Every webhook with its URL and events, oldest first; never a secret."""
    items, total = domain.list_webhooks(db, limit=limit, offset=offset)
    return WebhookPage(items=items, total=total)


@router.delete("/{webhook_id}", response_model=WebhookOut, summary="Remove a webhook")
def delete_webhook(webhook_id: WebhookId, db: DbDep, who: AdminScope) -> WebhookOut:
    """Remove a webhook: nothing more is sent to it, and its queued deliveries are dropped."""
    return domain.delete_webhook(db, webhook_id, actor=who.name)


@router.get(
    "/{webhook_id}/deliveries", response_model=DeliveryPage, summary="A webhook's delivery log"
)
def list_deliveries(
    webhook_id: WebhookId, db: DbDep, who: AdminScope, limit: Limit = 50, offset: Offset = 0
) -> DeliveryPage:
    """Every attempt at every delivery to this webhook, newest first: the receiver's status
    code or the error."""
    items, total = domain.list_attempts(db, webhook_id, limit=limit, offset=offset)
    return DeliveryPage(items=items, total=total)
