"""Scores of resolved questions: the summary, per-question scores and their CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator, StringConstraints

from forecasts import scoreboard
from service.api.deps import DbDep, Limit, Offset

router = APIRouter(prefix="/api/scores", tags=["scores"])


def _blank_is_none(value: Any) -> Any:
    # A form left empty sends `?forecaster=&tag=`: that means "no filter", not a bad value.
    return None if value == "" else value


# The length limit sits on the text itself, so that a blank turned into None passes it.
Text200 = Annotated[str, StringConstraints(max_length=200)]
Name = Annotated[
    Text200 | None,
    BeforeValidator(_blank_is_none),
    Query(description="only this forecaster's pairs"),
]
Tag = Annotated[
    Text200 | None,
    BeforeValidator(_blank_is_none),
    Query(description="only questions with this tag"),
]
ResolvedFrom = Annotated[
    date | None,
    BeforeValidator(_blank_is_none),
    Query(description="only questions resolved on or after this day"),
]
ResolvedTo = Annotated[
    date | None,
    BeforeValidator(_blank_is_none),
    Query(description="only questions resolved on or before this day"),
]
Bins = Annotated[
    int, Query(ge=1, le=scoreboard.MAX_BINS, description="equal-width calibration bins")
]


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


@router.get("", response_model=ScoresOut)
def get_scores(
    db: DbDep,
    forecaster: Name = None,
    tag: Tag = None,
    bins: Bins = 10,
    resolved_from: ResolvedFrom = None,
    resolved_to: ResolvedTo = None,
) -> dict[str, Any]:
    """Brier, log score, calibration and Murphy decomposition of every scored pair in scope."""
    with db.read() as conn:
        return scoreboard.compute_scores(
            conn,
            forecaster=forecaster,
            tag=tag,
            bins=bins,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
        )


@router.get("/questions", response_model=QuestionScorePage)
def get_question_scores(
    db: DbDep,
    forecaster: Name = None,
    tag: Tag = None,
    resolved_from: ResolvedFrom = None,
    resolved_to: ResolvedTo = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Each scored pair's p, outcome, Brier and log score, newest resolution first."""
    with db.read() as conn:
        items, total = scoreboard.question_score_page(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
            limit=limit,
            offset=offset,
        )
    return {"items": items, "total": total}


# Spreadsheets run a cell that starts with one of these as a formula; a quote keeps it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def _csv(filename: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(row[c]) for c in columns] for row in rows)
    return Response(
        content=buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


FORECASTER_COLUMNS = (
    "forecaster",
    "n",
    "brier",
    "log_score",
    "time_averaged_brier",
    "relative_brier",
)
QUESTION_COLUMNS = (
    "question_id",
    "title",
    "resolved_on",
    "outcome",
    "forecaster",
    "probability",
    "brier",
    "log_score",
)


@router.get(
    "/forecasters.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per forecaster"}},
)
def forecasters_csv(
    db: DbDep,
    forecaster: Name = None,
    tag: Tag = None,
    resolved_from: ResolvedFrom = None,
    resolved_to: ResolvedTo = None,
) -> Response:
    """The by-forecaster scores as a CSV download."""
    with db.read() as conn:
        scores = scoreboard.compute_scores(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
        )
    return _csv("forecaster-scores.csv", FORECASTER_COLUMNS, scores["by_forecaster"])


@router.get(
    "/questions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per scored pair"}},
)
def questions_csv(
    db: DbDep,
    forecaster: Name = None,
    tag: Tag = None,
    resolved_from: ResolvedFrom = None,
    resolved_to: ResolvedTo = None,
) -> Response:
    """Every scored pair as a CSV download, newest resolution first."""
    with db.read() as conn:
        items = scoreboard.question_scores(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
        )
    return _csv("question-scores.csv", QUESTION_COLUMNS, items)
