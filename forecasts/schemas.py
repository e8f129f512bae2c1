"""The shapes that cross the service's edge: what clients send and what they get back.

Numbers are strict: a probability is a JSON number in [0, 1]; booleans, strings, NaN and
Infinity are refused before anything is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Outcome = Literal["yes", "no"]
Resolution = Literal["yes", "no", "annulled"]


def _reject_nul(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    if isinstance(value, dict):
        for item in value.values():
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class StrictBody(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # No database stores NUL in text (PostgreSQL refuses it outright).
        _reject_nul(data)
        return data


class SourceDocument(StrictBody):
    """The document a question's claim comes from."""

    title: Annotated[str, StringConstraints(max_length=500)] | None = None
    url: Url | None = None
    publisher: ShortText | None = None
    author: ShortText | None = None
    published_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ForecastIn(StrictBody):
    forecaster: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    probability: Probability | None = None
    estimate: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    made_on: date | None = None
    rationale: Annotated[str, StringConstraints(max_length=10_000)] | None = None

    @model_validator(mode="after")
    def _needs_a_number(self) -> ForecastIn:
        if self.probability is None and self.estimate is None:
            raise ValueError("a forecast needs 'probability' (a number in [0, 1]) or 'estimate'")
        return self


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=300)]
Criteria = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
NewsQuery = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class QuestionCreate(StrictBody):
    title: Title
    resolution_criteria: Criteria
    resolve_by: date
    opened_on: date | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] = []
    news_query: NewsQuery | None = None
    default_outcome: Outcome = "no"
    source: SourceDocument | None = None
    forecast: ForecastIn | None = None


class QuestionPatch(StrictBody):
    """Fields to change on an open question; fields left out stay as they are."""

    title: Title | None = None
    resolution_criteria: Criteria | None = None
    resolve_by: date | None = None
    opened_on: date | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] | None = None
    news_query: NewsQuery | None = None
    default_outcome: Outcome | None = None
    source: SourceDocument | None = None


class ResolveIn(StrictBody):
    outcome: Resolution
    resolved_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    evidence_urls: Annotated[list[Url], Field(max_length=100)] = []


class ForecastOut(BaseModel):
    id: int
    forecaster: str
    probability: float
    estimate: str | None
    made_on: date
    rationale: str | None


class SourceDocumentOut(BaseModel):
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    author: str | None = None
    published_on: date | None = None
    note: str | None = None


class QuestionOut(BaseModel):
    id: int
    title: str
    resolution_criteria: str
    opened_on: date
    resolve_by: date
    tags: list[str]
    news_query: str
    default_outcome: Outcome
    source: SourceDocumentOut | None
    status: Literal["open", "resolved", "annulled"]
    outcome: Outcome | None
    resolved_on: date | None
    resolution_note: str | None
    evidence_urls: list[str]
    resolved_by: str | None
    forecasts: list[ForecastOut]
    created_at: datetime
    updated_at: datetime


class QuestionPage(BaseModel):
    items: list[QuestionOut]
    total: int


class EstimateOut(BaseModel):
    phrase: str
    probability: float
    source: str
