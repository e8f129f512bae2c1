"""The shapes that cross the service's edge: what clients send and what they get back.

Numbers are strict: a probability is a JSON number in [0, 1]; booleans, strings, NaN and
Infinity are refused before anything is written.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Probability = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _lower_case(value: Any) -> Any:
    # "YES", "Yes" and "yes" are one outcome.
    return value.strip().lower() if isinstance(value, str) else value


Outcome = Annotated[Literal["yes", "no"], BeforeValidator(_lower_case)]
Resolution = Annotated[Literal["yes", "no", "annulled"], BeforeValidator(_lower_case)]


# Invisible characters that change how text reads without showing: the bidi embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make a title or a forecaster's
# name display as something else ("Trojan Source"), and zero-width characters (U+200B-U+200D,
# U+2060, U+FEFF) make two names that look the same compare different. They are removed
# from every string a client sends.
INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff"  # zero width: space, non-joiner, joiner; word joiner; BOM
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates and their pop
)
_DROP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))
# No request body of this API nests anywhere near this deep; refusing deeper ones keeps every
# later walk over the value (validation, error echoes, storage as JSON) off the stack limit.
MAX_BODY_DEPTH = 32


# One scan finds whatever cleaning would change or refuse, so a clean string (nearly all of
# them) costs one regex search and is kept as it is.
_NEEDS_CLEANING = re.compile("[\x00\ud800-\udfff" + INVISIBLE + "]")


def _clean_text(value: str) -> str:
    if _NEEDS_CLEANING.search(value) is None:
        return value
    if "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800" in JSON) is no character: no database stores it.
        raise ValueError("text must not contain lone surrogates (\\ud800-\\udfff)") from None
    return value.translate(_DROP_INVISIBLE)


def _clean(value: Any, depth: int = 0) -> Any:
    """The body with invisible characters removed from every string (keys too); ValueError
    for NUL, lone surrogates or nesting deeper than MAX_BODY_DEPTH."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict | list):
        if depth >= MAX_BODY_DEPTH:
            raise ValueError(f"the body nests deeper than {MAX_BODY_DEPTH} levels")
        if isinstance(value, dict):
            return {
                (_clean_text(k) if isinstance(k, str) else k): _clean(v, depth + 1)
                for k, v in value.items()
            }
        return [_clean(item, depth + 1) for item in value]
    return value


class StrictBody(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _clean_strings(cls, data: Any) -> Any:
        # No database stores NUL or a lone surrogate in text (PostgreSQL refuses NUL outright),
        # and invisible bidi and zero-width characters are dropped before anything is stored.
        return _clean(data)


class SourceDocument(StrictBody):
    """The document a question's claim comes from."""

    title: Annotated[str, StringConstraints(max_length=500)] | None = None
    url: Url | None = None
    publisher: ShortText | None = None
    author: ShortText | None = None
    published_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ForecastIn(StrictBody):
    # Left out: the forecast is the token's own (its name); another name needs scope record.
    forecaster: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
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
    recorded_by: str | None = None


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
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class QuestionPage(BaseModel):
    items: list[QuestionOut]
    total: int


class EstimateOut(BaseModel):
    phrase: str
    probability: float
    source: str


class ReopenIn(StrictBody):
    """The body of reopen: why the resolution is undone, for the record."""

    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class AuditEntryOut(BaseModel):
    """One change to the record: who did what to which object, and its fields before and
    after (null where there is none)."""

    id: int
    at: datetime
    actor: str
    action: str
    object: str
    object_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int


# --- scoring results: the figures of GET /api/scores and its per-pair rows (their class
# names, fields, order and types are part of the OpenAPI contract; a class docstring becomes
# the schema's description there, so only ScoresOut has one).


class DecompositionOut(BaseModel):
    reliability: float | None
    resolution: float | None
    uncertainty: float | None


class CalibrationBinOut(BaseModel):
    bin_low: float
    bin_high: float
    n: int
    mean_probability: float
    observed_rate: float
    ci_low: float
    ci_high: float


class ForecasterScoreOut(BaseModel):
    forecaster: str
    n: int
    brier: float
    log_score: float
    time_averaged_brier: float
    relative_brier: float | None = None


class EstimateScoreOut(BaseModel):
    estimate: str
    n: int
    mean_probability: float
    observed_rate: float
    brier: float


class DiscriminationOut(BaseModel):
    auc: float | None
    right_side: float | None


class ScoresOut(BaseModel):
    """API.md's scores; every figure is null when no pair is scored (n = 0)."""

    n: int
    brier: float | None
    log_score: float | None
    base_rate: float | None
    brier_skill_score: float | None
    decomposition: DecompositionOut
    calibration: list[CalibrationBinOut]
    by_forecaster: list[ForecasterScoreOut]
    by_estimate: list[EstimateScoreOut] = []
    discrimination: DiscriminationOut = DiscriminationOut(auc=None, right_side=None)


class QuestionScoreOut(BaseModel):
    question_id: int
    title: str
    resolved_on: date
    outcome: str
    forecaster: str
    probability: float
    brier: float
    log_score: float


class QuestionScorePage(BaseModel):
    items: list[QuestionScoreOut]
    total: int


# --- suggestions and their review

SuggestionStatus = Literal["pending", "accepted", "rejected", "superseded"]


class ReviewIn(StrictBody):
    """The body of accept and reject: an optional note for the record."""

    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class EvidenceOut(BaseModel):
    """One item a suggestion rests on; `url` is the item's link as its source gave it."""

    model_config = ConfigDict(extra="ignore")

    title: str = ""
    url: str = ""
    published_at: str = ""
    source: str = ""
    snippet: str = ""
    score: float | None = None
    terms: list[str] = []


class SuggestionOut(BaseModel):
    id: int
    question_id: int
    outcome: Literal["yes", "no", "annulled"]
    confidence: float
    resolver: str
    rationale: str
    evidence: list[EvidenceOut]
    status: SuggestionStatus
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class SuggestionPage(BaseModel):
    items: list[SuggestionOut]
    total: int


# --- drafts: claims found in a text, proposed as questions (forecasts/drafts.py)

ClaimStatus = Literal["proposed", "accepted", "dismissed"]


class ProposedQuestionOut(BaseModel):
    title: str
    resolution_criteria: str
    resolve_by: date
    news_query: str
    default_outcome: Outcome


class DraftClaimOut(BaseModel):
    """A claim: its sentence at [start, end) of the draft's text, its hedge as written, the
    estimate table's phrase and probability (null for a bare modal), and its question."""

    index: int
    sentence: str
    start: int
    end: int
    hedge: str | None
    estimate: str | None
    probability: float | None
    status: ClaimStatus
    question_id: int | None
    proposed: ProposedQuestionOut


class DraftOut(BaseModel):
    id: int
    source: SourceDocumentOut
    text: str
    claims: list[DraftClaimOut]
    created_by: str | None
    created_at: datetime


class ClaimAccept(StrictBody):
    """Accepting a claim: any proposed field may be changed; the forecast is by `forecaster`
    (default the source's author, else its publisher, else its title), with the claim's
    estimate unless `estimate` or `probability` is given."""

    title: Title | None = None
    resolution_criteria: Criteria | None = None
    resolve_by: date | None = None
    news_query: NewsQuery | None = None
    default_outcome: Outcome | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] | None = None
    forecaster: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    estimate: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    probability: Probability | None = None
    rationale: Annotated[str, StringConstraints(max_length=10_000)] | None = None
