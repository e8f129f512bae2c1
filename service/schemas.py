"""The service layer's request and response models: the bodies only the HTTP API and the
source configuration have (the domain's own models are in forecasts/schemas.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints, model_validator

from forecasts.schemas import ForecastOut, ShortText, StrictBody, Url

SourceKind = Literal["rss", "gdelt", "guardian", "archive"]
SourceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SourceUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
# From once a minute to once a week.
PollMinutes = Annotated[int, Field(ge=1, le=10080, strict=True)]
SourceOptions = Annotated[dict[str, Any], Field(max_length=50)]


class SourceCreate(StrictBody):
    name: SourceName
    kind: SourceKind
    url: SourceUrl
    poll_every_minutes: PollMinutes = 60
    enabled: StrictBool = True
    options: SourceOptions = {}


class SourcePatch(StrictBody):
    """Fields to change; fields left out stay as they are. `options` replaces the whole map."""

    name: SourceName | None = None
    kind: SourceKind | None = None
    url: SourceUrl | None = None
    poll_every_minutes: PollMinutes | None = None
    enabled: StrictBool | None = None
    options: SourceOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # Every field has a value; null would be read as "leave it" and hide a client bug.
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(
                    f"{', '.join(nulls)} cannot be null (leave a field out to keep it)"
                )
        return data


class SourceOut(BaseModel):
    id: int
    name: str
    kind: str
    url: str
    poll_every_minutes: int
    enabled: bool
    options: dict[str, Any]
    last_polled_at: datetime | None
    last_status: str | None
    last_error: str | None
    items_seen: int
    consecutive_failures: int
    backoff_until: datetime | None
    created_at: datetime
    updated_at: datetime


class SourcePage(BaseModel):
    items: list[SourceOut]
    total: int


class ForecastCreated(ForecastOut):
    question_id: int


class PollIn(StrictBody):
    force: Annotated[bool, Field(strict=True)] = False


class PollReport(BaseModel):
    sources_polled: int
    new_items: int
    suggestions_created: int
    errors: list[dict[str, str]]


class TokenCreate(StrictBody):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    scopes: Annotated[list[Literal["forecast", "record", "review", "admin"]], Field(min_length=1)]


class TokenOut(BaseModel):
    """A token as listed: never its secret or digest."""

    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    """A new token; `token` is its secret, shown this once."""

    id: int
    name: str
    scopes: list[str]
    token: str


class TokenPage(BaseModel):
    items: list[TokenOut]
    total: int


# --- drafts (service/api/drafts.py). These imports belong at the top of the file; they sit
# here only until the top is next edited.


class DraftCreate(StrictBody):
    """A text to find claims in, or a URL to fetch it from (exactly one), and its source."""

    text: str | None = None
    url: Url | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    publisher: ShortText | None = None
    author: ShortText | None = None
    published_on: date | None = None

    @model_validator(mode="after")
    def _text_or_url(self) -> DraftCreate:
        has_text = bool(self.text and self.text.strip())
        has_url = bool(self.url)
        if has_text == has_url:
            raise ValueError(
                "give exactly one of 'text' (the text itself) and 'url' (a page to fetch)"
                if has_text
                else "give 'text' (a non-empty text) or 'url' (a page to fetch)"
            )
        return self


# --- webhooks (service/api/webhooks.py, service/webhooks.py)

WebhookEvent = Literal["suggestion.created", "question.past_deadline", "question.resolved"]


class WebhookCreate(StrictBody):
    """A URL to tell about events; `secret` signs every delivery (X-Forecasts-Signature)."""

    url: Annotated[
        SourceUrl,
        Field(
            description="where deliveries are POSTed; passes the same outbound guard as sources",
            examples=["https://hooks.slack.com/services/T000/B000/XXXX"],
        ),
    ]
    events: Annotated[
        list[WebhookEvent],
        Field(
            min_length=1,
            max_length=3,
            description="the events to deliver",
            examples=[["suggestion.created", "question.resolved"]],
        ),
    ]
    secret: Annotated[
        str,
        StringConstraints(min_length=8, max_length=500),
        Field(
            description="the key of the HMAC-SHA256 signature; never shown again",
            examples=["a-long-random-shared-secret"],
        ),
    ]


class WebhookOut(BaseModel):
    """A webhook as listed: never its secret."""

    id: int = Field(description="the webhook's id", examples=[1])
    url: str = Field(description="where deliveries go", examples=["https://example.org/hook"])
    events: list[str] = Field(description="the events delivered", examples=[["question.resolved"]])
    created_at: datetime = Field(description="when it was added")


class WebhookPage(BaseModel):
    items: list[WebhookOut] = Field(description="the webhooks, oldest first")
    total: int = Field(description="how many there are", examples=[1])


class DeliveryAttemptOut(BaseModel):
    """One attempt at one delivery: the receiver's status code, or why there was none."""

    delivery_id: str = Field(
        description="the same on every attempt of one delivery",
        examples=["5f0c6d8e-6b5e-4d1e-9a59-2f7c1e0e8c11"],
    )
    event: str = Field(description="the event delivered", examples=["suggestion.created"])
    attempt: int = Field(description="1 for the first try", examples=[1])
    status_code: int | None = Field(description="the receiver's answer", examples=[200])
    error: str | None = Field(description="why the attempt failed, if it did", examples=[None])
    at: datetime = Field(description="when the attempt was made")


class DeliveryPage(BaseModel):
    items: list[DeliveryAttemptOut] = Field(description="attempts, newest first")
    total: int = Field(description="how many attempts there are", examples=[3])
