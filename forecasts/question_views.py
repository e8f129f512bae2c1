"""Reading questions back: one question, a filtered page, and the write counter pages are
cached against. Rows were validated on the way in, so they are shaped without validating
again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, exists, func, select

from forecasts.errors import NotFound
from forecasts.identity import forecaster_key
from forecasts.schemas import ForecastOut, QuestionOut, SourceDocumentOut
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions
from forecasts.tables import revision_t as revision

MAX_PAGE = 1000


def _as_utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


def _forecast_out(f: Any) -> ForecastOut:
    return ForecastOut.model_construct(
        id=f.id,
        forecaster=f.forecaster,
        probability=f.probability,
        estimate=f.estimate,
        made_on=f.made_on,
        rationale=f.rationale,
        recorded_by=f.created_by,
    )


def _question_out(row: Any, forecast_rows: Sequence[Any]) -> QuestionOut:
    """Shape a stored row. The row was validated on the way in, so the models are built
    without validating again (model_construct): listing pages spend most of their time here.
    """
    has_source = any(
        getattr(row, name) is not None
        for name in (
            "source_title",
            "source_url",
            "source_publisher",
            "source_author",
            "source_published_on",
            "source_note",
        )
    )
    source = (
        SourceDocumentOut.model_construct(
            title=row.source_title,
            url=row.source_url,
            publisher=row.source_publisher,
            author=row.source_author,
            published_on=row.source_published_on,
            note=row.source_note,
        )
        if has_source
        else None
    )
    return QuestionOut.model_construct(
        id=row.id,
        title=row.title,
        resolution_criteria=row.resolution_criteria,
        opened_on=row.opened_on,
        resolve_by=row.resolve_by,
        tags=list(row.tags or []),
        news_query=row.news_query,
        default_outcome=row.default_outcome,
        source=source,
        status=row.status,
        outcome=row.outcome,
        resolved_on=row.resolved_on,
        resolution_note=row.resolution_note,
        evidence_urls=list(row.evidence_urls or []),
        resolved_by=row.resolved_by,
        forecasts=[_forecast_out(f) for f in forecast_rows],
        created_by=row.created_by,
        created_at=_as_utc(row.created_at),
        updated_at=_as_utc(row.updated_at),
    )


def _forecasts_by_question(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    if not ids:
        return grouped
    rows = conn.execute(
        select(
            forecasts.c.id,
            forecasts.c.question_id,
            forecasts.c.forecaster,
            forecasts.c.probability,
            forecasts.c.estimate,
            forecasts.c.made_on,
            forecasts.c.rationale,
            forecasts.c.created_by,
        )
        .where(forecasts.c.question_id.in_(ids))
        .order_by(forecasts.c.made_on, forecasts.c.id)
    )
    for f in rows:
        grouped[f.question_id].append(f)
    return grouped


def get_question(conn: Connection, question_id: int) -> QuestionOut:
    row = conn.execute(select(questions).where(questions.c.id == question_id)).first()
    if row is None:
        raise NotFound(f"question {question_id} not found")
    return _question_out(row, _forecasts_by_question(conn, [question_id])[question_id])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_questions(
    conn: Connection,
    *,
    status: str | None = None,
    tag: str | None = None,
    forecaster: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[QuestionOut], int]:
    """A page of questions, newest first, and how many match in all."""
    conditions = []
    if status:
        conditions.append(questions.c.status == status)
    if tag:
        conditions.append(questions.c.tag_index.like(f"%|{_escape_like(tag)}|%", escape="\\"))
    if forecaster:
        conditions.append(
            exists().where(
                forecasts.c.question_id == questions.c.id,
                forecasts.c.forecaster_key == forecaster_key(forecaster),
            )
        )
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        conditions.append(
            func.lower(questions.c.title).like(pattern, escape="\\")
            | func.lower(questions.c.resolution_criteria).like(pattern, escape="\\")
        )
    total = conn.execute(
        select(func.count()).select_from(questions).where(*conditions)
    ).scalar_one()
    rows = conn.execute(
        select(questions)
        .where(*conditions)
        .order_by(questions.c.id.desc())
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    ).all()
    grouped = _forecasts_by_question(conn, [r.id for r in rows])
    return [_question_out(r, grouped[r.id]) for r in rows], int(total)


def data_version(conn: Connection) -> int:
    """A counter that every write to questions or forecasts moves (see bump_revision)."""
    return int(conn.execute(select(revision.c.value).where(revision.c.id == 1)).scalar_one())


def find_by_seed_key(conn: Connection, seed_key: str) -> int | None:
    found = conn.execute(select(questions.c.id).where(questions.c.seed_key == seed_key)).first()
    return None if found is None else int(found.id)


def stored_question_out(
    values: dict[str, Any], forecast_rows: Sequence[dict[str, Any]]
) -> QuestionOut:
    """A question shaped from the values its create just wrote (forecasts.questions.
    StoredQuestion), as get_question would read it back, without the read."""
    row = {column.name: None for column in questions.columns} | values
    return _question_out(SimpleNamespace(**row), [SimpleNamespace(**f) for f in forecast_rows])


def stored_forecast_out(values: dict[str, Any]) -> ForecastOut:
    """A forecast shaped from the row its add just wrote, as a read would shape it."""
    return _forecast_out(SimpleNamespace(**values))
