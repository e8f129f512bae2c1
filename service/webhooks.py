"""Webhooks: who is told about what, and the dispatcher that tells them.

Events are read from the record rather than raised by the code that makes them (an outbox
over tables that are only appended to): a suggestion row with an id past the `suggestions`
cursor is `suggestion.created` (and, raised by the deadline check, `question.past_deadline`);
an audit row `question.resolve` or `question.annul` past the `audit_log` cursor is
`question.resolved`. One transaction turns those rows into deliveries (one per subscribed
webhook) and moves the cursors, so no event is queued twice and none is lost when a process
dies; sending happens afterwards, off the request path (a scheduler job, `dispatch`), each
delivery retried with backoff by tenacity, every attempt logged, with one delivery_id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from forecasts import audit
from forecasts import question_views as views
from forecasts import suggestions as suggestion_domain
from forecasts.errors import NotFound
from forecasts.models import utcnow
from forecasts.tables import (
    audit_t,
    notify_cursors_t,
    suggestions_t,
    webhook_attempts_t,
    webhook_deliveries_t,
    webhooks_t,
)
from resolvers.fetch import FetchError, guard_url, post_bytes
from service.db import Database
from service.polling import poll_config
from service.schemas import DeliveryAttemptOut, WebhookCreate, WebhookOut
from service.settings import Settings

log = logging.getLogger("forecasts.webhooks")

DEADLINE_RESOLVER = "deadline"
RESOLUTION_ACTIONS = ("question.resolve", "question.annul")
# Rows read per dispatch and table: a backlog drains over a few runs.
BATCH = 500
# How long a sender may hold a delivery; longer means it died, and the delivery goes again.
CLAIM_LEASE = timedelta(minutes=10)
RETRYABLE_STARTS = ("timed out", "cannot connect", "request failed")


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _out(row: Any) -> WebhookOut:
    return WebhookOut(
        id=row.id, url=row.url, events=list(row.events), created_at=_aware(row.created_at)
    )


# --- the webhooks themselves ------------------------------------------------------------------


def create_webhook(
    db: Database, body: WebhookCreate, *, allow_private: bool, actor: str
) -> WebhookOut:
    """Store a webhook whose URL passes the outbound guard (422 otherwise)."""
    guard_url(body.url, allow_private=allow_private)
    events = list(dict.fromkeys(body.events))
    with db.write() as conn:
        webhook_id = int(
            conn.execute(
                insert(webhooks_t)
                .values(
                    url=body.url,
                    events=events,
                    secret=body.secret,
                    created_by=actor,
                    created_at=utcnow(),
                )
                .returning(webhooks_t.c.id)
            ).scalar_one()
        )
        audit.record(
            conn,
            actor=actor,
            action="webhook.create",
            object_id=webhook_id,
            after={"id": webhook_id, "url": body.url, "events": events},
        )
        return _out(conn.execute(select(webhooks_t).where(webhooks_t.c.id == webhook_id)).one())


def list_webhooks(db: Database, *, limit: int, offset: int) -> tuple[list[WebhookOut], int]:
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(webhooks_t)).scalar_one()
        rows = conn.execute(
            select(webhooks_t).order_by(webhooks_t.c.id).limit(limit).offset(offset)
        )
        return [_out(r) for r in rows], int(total)


def delete_webhook(db: Database, webhook_id: int, *, actor: str) -> WebhookOut:
    """Remove a webhook (its queued deliveries and log go with it); 404 if unknown."""
    with db.write() as conn:
        row = conn.execute(select(webhooks_t).where(webhooks_t.c.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"webhook {webhook_id} not found")
        gone = _out(row)
        conn.execute(
            delete(webhook_attempts_t).where(webhook_attempts_t.c.webhook_id == webhook_id)
        )
        conn.execute(
            delete(webhook_deliveries_t).where(webhook_deliveries_t.c.webhook_id == webhook_id)
        )
        conn.execute(delete(webhooks_t).where(webhooks_t.c.id == webhook_id))
        audit.record(
            conn,
            actor=actor,
            action="webhook.delete",
            object_id=webhook_id,
            before={"id": webhook_id, "url": row.url, "events": list(row.events)},
        )
        return gone


def list_attempts(
    db: Database, webhook_id: int, *, limit: int, offset: int
) -> tuple[list[DeliveryAttemptOut], int]:
    """The delivery log of one webhook, newest attempt first; 404 for an unknown webhook."""
    attempts = webhook_attempts_t
    with db.read() as conn:
        if (
            conn.execute(select(webhooks_t.c.id).where(webhooks_t.c.id == webhook_id)).first()
            is None
        ):
            raise NotFound(f"webhook {webhook_id} not found")
        where = attempts.c.webhook_id == webhook_id
        total = conn.execute(select(func.count()).select_from(attempts).where(where)).scalar_one()
        rows = conn.execute(
            select(attempts).where(where).order_by(attempts.c.id.desc()).limit(limit).offset(offset)
        )
        items = [
            DeliveryAttemptOut(
                delivery_id=r.delivery_id,
                event=r.event,
                attempt=r.attempt,
                status_code=r.status_code,
                error=r.error,
                at=_aware(r.at),
            )
            for r in rows
        ]
        return items, int(total)


# --- from the record to deliveries ------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """The X-Forecasts-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _link(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


def _cursor(conn: Connection, name: str) -> int:
    value = conn.execute(
        select(notify_cursors_t.c.last_id).where(notify_cursors_t.c.name == name)
    ).scalar_one_or_none()
    if value is None:
        # Only a database emptied by hand lacks its cursors (the migration sets them).
        conn.execute(insert(notify_cursors_t).values(name=name, last_id=0))
        return 0
    return int(value)


def _move(conn: Connection, name: str, old: int, new: int) -> bool:
    """Advance a cursor, unless another dispatcher moved it first."""
    if new == old:
        return True
    moved = conn.execute(
        update(notify_cursors_t)
        .where(notify_cursors_t.c.name == name, notify_cursors_t.c.last_id == old)
        .values(last_id=new)
    )
    return bool(moved.rowcount == 1)


def _events_from_suggestions(
    conn: Connection, after: int, public_url: str
) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    rows = conn.execute(
        select(suggestions_t.c.id, suggestions_t.c.question_id, suggestions_t.c.resolver)
        .where(suggestions_t.c.id > after)
        .order_by(suggestions_t.c.id)
        .limit(BATCH)
    ).all()
    events: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        question = views.get_question(conn, row.question_id)
        suggestion = suggestion_domain.get_suggestion(conn, row.id)
        link = _link(public_url, f"/review#suggestion-{row.id}")
        outcome = suggestion.outcome.upper()
        body = {
            "question": question.model_dump(mode="json"),
            "suggestion": suggestion.model_dump(mode="json"),
        }
        events.append(
            (
                "suggestion.created",
                {
                    **body,
                    "text": f"New suggestion to review: resolve “{question.title}” {outcome} "
                    f"({suggestion.confidence:.0%} confident) {link}",
                },
            )
        )
        if row.resolver == DEADLINE_RESOLVER:
            events.append(
                (
                    "question.past_deadline",
                    {
                        **body,
                        "text": f"Past its deadline ({question.resolve_by}) with no accepted "
                        f"evidence: “{question.title}”, suggested {outcome} {link}",
                    },
                )
            )
    return events, (rows[-1].id if rows else after)


def _events_from_audit(
    conn: Connection, after: int, public_url: str
) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    rows = conn.execute(
        select(audit_t.c.id, audit_t.c.action, audit_t.c.object_id, audit_t.c.actor)
        .where(audit_t.c.id > after)
        .order_by(audit_t.c.id)
        .limit(BATCH)
    ).all()
    events: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        if row.action not in RESOLUTION_ACTIONS or row.object_id is None:
            continue
        try:
            question = views.get_question(conn, row.object_id)
        except NotFound:
            continue
        link = _link(public_url, f"/questions/{question.id}")
        what = (
            "Annulled"
            if row.action == "question.annul"
            else f"Resolved {(question.outcome or '').upper()}"
        )
        events.append(
            (
                "question.resolved",
                {
                    "question": question.model_dump(mode="json"),
                    "suggestion": None,
                    "text": f"{what}: “{question.title}” by {row.actor} {link}",
                },
            )
        )
    return events, (rows[-1].id if rows else after)


def enqueue(db: Database, *, public_url: str = "") -> int:
    """Turn the record's new rows into deliveries for the webhooks that want them, and move
    the cursors past them, in one transaction; returns how many deliveries were queued."""
    with db.write() as conn:
        hooks = conn.execute(select(webhooks_t.c.id, webhooks_t.c.events)).all()
        queued = 0
        for name, reader in (
            ("suggestions", _events_from_suggestions),
            ("audit_log", _events_from_audit),
        ):
            old = _cursor(conn, name)
            events, new = reader(conn, old, public_url)
            if not _move(conn, name, old, new):
                continue  # another dispatcher queued these rows
            for event, payload in events:
                for hook in hooks:
                    if event not in hook.events:
                        continue
                    delivery_id = str(uuid.uuid4())
                    body = {"event": event, **payload, "delivery_id": delivery_id}
                    conn.execute(
                        insert(webhook_deliveries_t).values(
                            webhook_id=hook.id,
                            delivery_id=delivery_id,
                            event=event,
                            body=json.dumps(body, ensure_ascii=False),
                            state="pending",
                            created_at=utcnow(),
                        )
                    )
                    queued += 1
        return queued


# --- sending ----------------------------------------------------------------------------------


def _retryable(exc: BaseException) -> bool:
    """Timeouts, failed connections and 5xx answers are tried again; a 4xx is final."""
    if not isinstance(exc, FetchError):
        return False
    if exc.status_code is not None:
        return exc.status_code >= 500
    return exc.message.startswith(RETRYABLE_STARTS)


def _log_attempt(
    db: Database, delivery: Any, attempt: int, status_code: int | None, error: str | None
) -> None:
    with db.write() as conn:
        conn.execute(
            insert(webhook_attempts_t).values(
                webhook_id=delivery.webhook_id,
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                attempt=attempt,
                status_code=status_code,
                error=error[:2000] if error else None,
                at=utcnow(),
            )
        )


def _deliver(db: Database, settings: Settings, delivery: Any, secret: str, url: str) -> bool:
    """Send one delivery, retried by tenacity; True once a 2xx came back."""
    config = poll_config(settings)
    payload = json.loads(delivery.body)
    attempt_number = 0

    def attempt() -> None:
        nonlocal attempt_number
        attempt_number += 1
        payload["sent_at"] = utcnow().isoformat().replace("+00:00", "Z")
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-Forecasts-Event": delivery.event,
            "X-Forecasts-Signature": signature(secret, body),
            "X-Forecasts-Delivery": delivery.delivery_id,
        }
        try:
            response = post_bytes(config, url, body, headers)
        except FetchError as exc:
            _log_attempt(db, delivery, attempt_number, exc.status_code, exc.message)
            raise
        _log_attempt(db, delivery, attempt_number, response.status_code, None)

    def before_sleep(state: RetryCallState) -> None:
        log.info(
            "webhook delivery %s: attempt %s failed, retrying",
            delivery.delivery_id,
            state.attempt_number,
        )

    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.webhook_attempts)),
        wait=wait_exponential(multiplier=settings.webhook_backoff_seconds, max=60),
        retry=retry_if_exception(_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        retrying(attempt)
    except FetchError as exc:
        log.warning("webhook delivery %s failed: %s", delivery.delivery_id, exc.message)
        return False
    return True


def send_pending(db: Database, settings: Settings) -> int:
    """Send every queued delivery (each claimed first, so two senders never both send one);
    returns how many were delivered. A delivery whose sender died mid-send (claimed longer
    than CLAIM_LEASE ago) is queued again first."""
    with db.write() as conn:
        conn.execute(
            update(webhook_deliveries_t)
            .where(
                webhook_deliveries_t.c.state == "sending",
                webhook_deliveries_t.c.claimed_at < utcnow() - CLAIM_LEASE,
            )
            .values(state="pending")
        )
    with db.read() as conn:
        queued = conn.execute(
            select(webhook_deliveries_t, webhooks_t.c.url, webhooks_t.c.secret)
            .join(webhooks_t, webhooks_t.c.id == webhook_deliveries_t.c.webhook_id)
            .where(webhook_deliveries_t.c.state == "pending")
            .order_by(webhook_deliveries_t.c.id)
            .limit(BATCH)
        ).all()
    delivered = 0
    for delivery in queued:
        with db.write() as conn:
            claimed = conn.execute(
                update(webhook_deliveries_t)
                .where(
                    webhook_deliveries_t.c.id == delivery.id,
                    webhook_deliveries_t.c.state == "pending",
                )
                .values(state="sending", claimed_at=utcnow())
            )
            if claimed.rowcount != 1:
                continue
        ok = _deliver(db, settings, delivery, delivery.secret, delivery.url)
        with db.write() as conn:
            conn.execute(
                update(webhook_deliveries_t)
                .where(webhook_deliveries_t.c.id == delivery.id)
                .values(state="done" if ok else "failed")
            )
        delivered += int(ok)
    return delivered


def dispatch(db: Database, settings: Settings) -> tuple[int, int]:
    """Queue the new events and send what is queued: (queued, delivered)."""
    queued = enqueue(db, public_url=settings.public_url)
    return queued, send_pending(db, settings)
