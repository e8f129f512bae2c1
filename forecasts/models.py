"""SQLModel tables. Instants are aware UTC datetimes (SQLModel stores them as UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: SQLModel refuses naive instants."""
    return datetime.now(UTC)


class Token(SQLModel, table=True):
    """An API token. Only the SHA-256 digest of the secret is stored."""

    __tablename__ = "tokens"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    scopes: str = Field(max_length=200)  # space-separated: forecast review admin
    digest: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked: bool = Field(default=False)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Question(SQLModel, table=True):
    __tablename__ = "questions"
    id: int | None = Field(default=None, primary_key=True)
    seed_key: str | None = Field(default=None, max_length=100, unique=True)
    title: str = Field(max_length=300)
    resolution_criteria: str
    opened_on: date = Field(index=True)
    resolve_by: date = Field(index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # '|tag1|tag2|': lets a tag filter be one LIKE on SQLite and PostgreSQL alike.
    tag_index: str = Field(default="", index=True)
    news_query: str = Field(default="")
    # True when the service derived news_query from the title (matched softly, see
    # resolvers.match); set by forecasts.questions, which owns the query rule.
    news_query_derived: bool = Field(default=False)
    # True until a poll cycle has matched the news already stored against this question
    # (set on creation and whenever its query or window changes).
    match_pending: bool = Field(default=False, index=True)
    default_outcome: str = Field(default="no", max_length=3)
    source_title: str | None = None
    source_url: str | None = None
    source_publisher: str | None = None
    source_author: str | None = None
    source_published_on: date | None = None
    source_note: str | None = None
    status: str = Field(default="open", max_length=10, index=True)
    outcome: str | None = Field(default=None, max_length=3)
    resolved_on: date | None = None
    resolution_note: str | None = None
    evidence_urls: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    resolved_by: str | None = None
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class DataRevision(SQLModel, table=True):
    """One row counting writes to questions and forecasts: what read caches key on.

    A counter, not a timestamp: two writes within one clock tick, or a clock that steps
    back, would leave a timestamp fingerprint unchanged.
    """

    __tablename__ = "data_revision"
    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0)


class Forecast(SQLModel, table=True):
    """One forecast. History is kept: a new forecast never replaces an old one."""

    __tablename__ = "forecasts"
    # Covering the scoring query (one ordered scan over all forecasts): measured 1.25 s ->
    # 0.88 s for a million forecasts on SQLite.
    __table_args__ = (
        Index(
            "ix_forecasts_question_forecaster",
            "question_id",
            "forecaster",
            "made_on",
            "created_at",
            "id",
            "probability",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", ondelete="CASCADE")
    # As first spelled by whoever recorded this forecaster first (see forecasts.identity).
    forecaster: str = Field(max_length=200, index=True)
    # The identity: case-folded, spaces collapsed; "ann" and " Ann " are one forecaster.
    forecaster_key: str = Field(default="", max_length=200, index=True)
    probability: float
    estimate: str | None = Field(default=None, max_length=100)
    made_on: date
    rationale: str | None = None
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Source(SQLModel, table=True):
    """A configured news source and its health."""

    __tablename__ = "sources"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20)
    url: str
    poll_every_minutes: int = Field(default=60)
    enabled: bool = Field(default=True)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_polled_at: datetime | None = None
    last_status: str | None = Field(default=None, max_length=100)
    last_error: str | None = None
    items_seen: int = Field(default=0)
    consecutive_failures: int = Field(default=0)
    backoff_until: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    # SHA-256 (hex) of the last feed or archive body read: an identical one is not re-parsed.
    body_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NewsItem(SQLModel, table=True):
    """A normalised news item. `dedup_key` is stable across polls and across sources."""

    __tablename__ = "news_items"
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=64, unique=True)
    source_id: int | None = Field(default=None, foreign_key="sources.id", ondelete="SET NULL")
    source_name: str = Field(default="", max_length=200)
    title: str
    summary: str = Field(default="")
    link: str = Field(default="")
    # None when the source gave no usable date (migration 0005): never "now".
    published_at: datetime | None = Field(default=None, index=True)
    fetched_at: datetime = Field(default_factory=utcnow)
    # Stored from its source's first poll: undated, such an item may be years old and is
    # never evidence; an undated item first seen later counts as reported when first seen.
    first_poll: bool = Field(default=False)
    # False until a cycle has matched it against open questions; a cycle that dies leaves
    # the flag unset so the next one picks the item up.
    matched: bool = Field(default=False, index=True)


class Suggestion(SQLModel, table=True):
    """A proposed resolution for a person to accept or reject."""

    __tablename__ = "suggestions"
    __table_args__ = (
        # At most one pending suggestion per question and outcome, enforced by the database
        # so that two cycles racing cannot both raise one.
        Index(
            "uq_suggestions_pending",
            "question_id",
            "outcome",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", ondelete="CASCADE", index=True)
    outcome: str = Field(max_length=8)
    confidence: float
    resolver: str = Field(max_length=50)
    rationale: str
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default="pending", max_length=12, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_note: str | None = None


class EvidenceLink(SQLModel, table=True):
    """Which item already counted for which question and outcome.

    The unique key makes a re-run cycle idempotent and keeps rejected evidence from
    raising the same suggestion again.
    """

    __tablename__ = "evidence_links"
    __table_args__ = (UniqueConstraint("question_id", "outcome", "item_key"),)
    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestions.id", ondelete="CASCADE", index=True)
    question_id: int = Field(foreign_key="questions.id", ondelete="CASCADE")
    outcome: str = Field(max_length=8)
    item_key: str = Field(max_length=64)
    score: float = Field(default=0.0)
    created_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """One change to the record, appended in the transaction that made it. Rows are never
    updated or deleted: triggers on both databases refuse it (migration 0003)."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=40, index=True)
    object: str = Field(max_length=20)
    object_id: int | None = None
    # The question the change concerns, for its history (no foreign key: the record
    # outlives what it describes).
    question_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Draft(SQLModel, table=True):
    """A text, pasted or fetched from a URL, whose claims are proposed as questions."""

    __tablename__ = "drafts"
    id: int | None = Field(default=None, primary_key=True)
    text: str
    source_title: str | None = None
    source_url: str | None = None
    source_publisher: str | None = None
    source_author: str | None = None
    source_published_on: date | None = None
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class DraftClaim(SQLModel, table=True):
    """One claim found in a draft, proposed as a question until accepted or dismissed."""

    __tablename__ = "draft_claims"
    __table_args__ = (UniqueConstraint("draft_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="drafts.id", ondelete="CASCADE", index=True)
    position: int  # the claim's index in its draft, from 0
    sentence: str
    start_offset: int  # [start_offset, end_offset) of the sentence in the draft's text
    end_offset: int
    hedge: str | None = None
    estimate: str | None = Field(default=None, max_length=100)
    probability: float | None = None
    status: str = Field(default="proposed", max_length=10)  # proposed accepted dismissed
    question_id: int | None = Field(default=None, foreign_key="questions.id", ondelete="SET NULL")
    # The proposed question: title, resolution_criteria, resolve_by, news_query, default_outcome.
    proposed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = None


class Webhook(SQLModel, table=True):
    """A URL told about events (API.md "Notifications"). The secret signs each delivery, so it
    is kept as given (a digest could not sign); it is never shown again."""

    __tablename__ = "webhooks"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=500)
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: its body as signed, sent until delivered or out of attempts."""

    __tablename__ = "webhook_deliveries"
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id", ondelete="CASCADE", index=True)
    delivery_id: str = Field(max_length=40, unique=True)
    event: str = Field(max_length=40)
    body: str
    state: str = Field(default="pending", max_length=10, index=True)  # pending sending done failed
    created_at: datetime = Field(default_factory=utcnow)
    # When a sender claimed it; a claim older than the lease is a sender that died mid-send,
    # and the delivery is queued again (at least once; the receiver de-duplicates by id).
    claimed_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    """One attempt at a delivery: the answer's status code, or the error."""

    __tablename__ = "webhook_attempts"
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id", ondelete="CASCADE", index=True)
    delivery_id: str = Field(max_length=40, index=True)
    event: str = Field(max_length=40)
    attempt: int
    status_code: int | None = None
    error: str | None = None
    at: datetime = Field(default_factory=utcnow)


class NotifyCursor(SQLModel, table=True):
    """How far the notification dispatcher has read a table (audit_log, suggestions): rows
    with a larger id are news it has not yet turned into deliveries."""

    __tablename__ = "notify_cursors"
    name: str = Field(primary_key=True, max_length=40)
    last_id: int = 0
