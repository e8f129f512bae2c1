"""Scores of resolved questions: the summary, per-question scores and their CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from operator import attrgetter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator, StringConstraints

from forecasts.schemas import QuestionScorePage, ScoresOut
from forecasts.scoreboard import MAX_BINS
from service import scoreboard_store
from service.api.deps import DbDep, Limit, Offset
from service.csv_cells import csv_cell

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
Bins = Annotated[int, Query(ge=1, le=MAX_BINS, description="equal-width calibration bins")]


@router.get("", response_model=ScoresOut)
def get_scores(
    db: DbDep,
    forecaster: Name = None,
    tag: Tag = None,
    bins: Bins = 10,
    resolved_from: ResolvedFrom = None,
    resolved_to: ResolvedTo = None,
) -> ScoresOut:
    """Brier, log score, calibration and Murphy decomposition of every scored pair in scope."""
    with db.read() as conn:
        return scoreboard_store.compute_scores(
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
) -> QuestionScorePage:
    """Each scored pair's p, outcome, Brier and log score, newest resolution first."""
    with db.read() as conn:
        return scoreboard_store.question_score_page(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
            limit=limit,
            offset=offset,
        )


def _csv(filename: str, columns: Sequence[str], rows: Iterable[BaseModel]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    values = attrgetter(*columns)
    # Ints go to the csv module as they are (str() of an int is what csv_cell would give, and
    # a full listing holds a great many); floats are rounded by csv_cell.
    writer.writerows(
        [value if type(value) is int else csv_cell(value) for value in values(row)] for row in rows
    )
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
        scores = scoreboard_store.compute_scores(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
        )
    return _csv("forecaster-scores.csv", FORECASTER_COLUMNS, scores.by_forecaster)


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
        items = scoreboard_store.question_scores(
            conn,
            forecaster=forecaster,
            tag=tag,
            resolved_from=resolved_from,
            resolved_to=resolved_to,
        )
    return _csv("question-scores.csv", QUESTION_COLUMNS, items)
