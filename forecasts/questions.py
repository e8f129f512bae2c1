"""Rules for creating, changing, forecasting on and resolving questions.

Every function takes an open SQLAlchemy connection inside the caller's transaction and
either does all of its writes or raises a domain error before the first one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, select, update

from forecasts.errors import InvalidInput, NotFound, QuestionClosed
from forecasts.estimates import normalise_phrase, probability_of
from forecasts.models import utcnow
from forecasts.schemas import (
    ForecastIn,
    ForecastOut,
    QuestionCreate,
    QuestionOut,
    QuestionPatch,
    ResolveIn,
    SourceDocument,
    SourceDocumentOut,
)
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions
from forecasts.tables import revision_t as revision

MAX_PAGE = 1000
# Built once: constructing a statement costs more than SQLite takes to run it, and the
# create path is the service's hottest write.
INSERT_QUESTION = insert(questions).returning(questions.c.id)
INSERT_FORECAST = insert(forecasts).returning(forecasts.c.id)
BUMP_REVISION = update(revision).where(revision.c.id == 1).values(value=revision.c.value + 1)


def utc_today() -> date:
    """'Today' as the API defines it: the UTC date."""
    return datetime.now(UTC).date()


def _tag_index(tags: Sequence[str]) -> str:
    # Tags are also kept as '|a|b|' so a tag filter is one portable LIKE on both databases.
    return "|" + "|".join(tags) + "|" if tags else ""


def _dedupe(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _check_window(opened_on: date, resolve_by: date, today: date) -> None:
    if opened_on > today:
        raise InvalidInput(
            f"opened_on {opened_on} is in the future (today is {today} UTC)", field="opened_on"
        )
    if resolve_by < opened_on:
        raise InvalidInput(
            f"resolve_by {resolve_by} is before opened_on {opened_on}", field="resolve_by"
        )


def _source_columns(source: SourceDocument | None) -> dict[str, Any]:
    doc = source or SourceDocument()
    return {
        "source_title": doc.title,
        "source_url": doc.url,
        "source_publisher": doc.publisher,
        "source_author": doc.author,
        "source_published_on": doc.published_on,
        "source_note": doc.note,
    }


def forecast_values(
    spec: ForecastIn,
    *,
    question_id: int,
    made_on_default: date,
    resolve_by: date,
    today: date,
    actor: str | None,
) -> dict[str, Any]:
    """The row for a new forecast, after checking its number and its day."""
    estimate = None
    if spec.estimate is not None:
        estimate = normalise_phrase(spec.estimate)
    if spec.probability is not None:
        probability = spec.probability
    else:
        assert estimate is not None
        probability = probability_of(estimate)
    made_on = spec.made_on or made_on_default
    if made_on > today:
        raise InvalidInput(
            f"made_on {made_on} is in the future (today is {today} UTC)", field="made_on"
        )
    if made_on > resolve_by:
        hint = "" if spec.made_on else " (made_on defaults to today: give the day it was made)"
        raise InvalidInput(
            f"made_on {made_on} is after resolve_by {resolve_by}{hint}", field="made_on"
        )
    return {
        "question_id": question_id,
        "forecaster": spec.forecaster,
        "probability": float(probability),
        "estimate": estimate,
        "made_on": made_on,
        "rationale": spec.rationale,
        "created_by": actor,
        "created_at": utcnow(),
    }


def create_question(
    conn: Connection,
    spec: QuestionCreate,
    *,
    news_query: str,
    today: date,
    actor: str | None,
    seed_key: str | None = None,
) -> int:
    """Store a question (and its first forecast, if any); returns its id."""
    opened_on = spec.opened_on or today
    _check_window(opened_on, spec.resolve_by, today)
    tags = _dedupe(spec.tags)
    now = utcnow()
    first_forecast = None
    if spec.forecast is not None:
        # Validate the forecast before the question is written, so nothing half-lands.
        first_forecast = forecast_values(
            spec.forecast,
            question_id=0,
            made_on_default=opened_on,
            resolve_by=spec.resolve_by,
            today=today,
            actor=actor,
        )
    question_id = conn.execute(
        INSERT_QUESTION,
        dict(
            seed_key=seed_key,
            title=spec.title,
            resolution_criteria=spec.resolution_criteria,
            opened_on=opened_on,
            resolve_by=spec.resolve_by,
            tags=tags,
            tag_index=_tag_index(tags),
            news_query=news_query,
            match_pending=True,
            default_outcome=spec.default_outcome,
            status="open",
            evidence_urls=[],
            created_by=actor,
            created_at=now,
            updated_at=now,
            **_source_columns(spec.source),
        ),
    ).scalar_one()
    if first_forecast is not None:
        first_forecast["question_id"] = question_id
        conn.execute(INSERT_FORECAST, first_forecast)
    bump_revision(conn)
    return int(question_id)


def _open_question_row(conn: Connection, question_id: int) -> Any:
    row = conn.execute(select(questions).where(questions.c.id == question_id)).first()
    if row is None:
        raise NotFound(f"question {question_id} not found")
    if row.status != "open":
        raise QuestionClosed(f"question {question_id} is {row.status}; it takes no more changes")
    return row


def add_forecast(
    conn: Connection, question_id: int, spec: ForecastIn, *, today: date, actor: str | None
) -> int:
    """Add a forecast to an open question (also after resolve_by, backdated)."""
    row = _open_question_row(conn, question_id)
    values = forecast_values(
        spec,
        question_id=question_id,
        made_on_default=today,
        resolve_by=row.resolve_by,
        today=today,
        actor=actor,
    )
    forecast_id = conn.execute(INSERT_FORECAST, values)
    conn.execute(update(questions).where(questions.c.id == question_id).values(updated_at=utcnow()))
    bump_revision(conn)
    return int(forecast_id.scalar_one())


def update_question(
    conn: Connection,
    question_id: int,
    patch: QuestionPatch,
    *,
    today: date,
    news_query: str | None = None,
) -> None:
    """Change an open question's fields; the window is checked as a whole."""
    row = _open_question_row(conn, question_id)
    given = patch.model_fields_set
    for required in ("title", "resolution_criteria", "resolve_by", "opened_on", "default_outcome"):
        if required in given and getattr(patch, required) is None:
            raise InvalidInput(f"{required} cannot be null", field=required)
    opened_on = patch.opened_on or row.opened_on
    resolve_by = patch.resolve_by or row.resolve_by
    if "opened_on" in given or "resolve_by" in given:
        _check_window(opened_on, resolve_by, max(today, row.opened_on))
    values: dict[str, Any] = {"updated_at": utcnow()}
    for name in ("title", "resolution_criteria", "resolve_by", "opened_on", "default_outcome"):
        if name in given:
            values[name] = getattr(patch, name)
    if "tags" in given:
        tags = _dedupe(patch.tags or [])
        values["tags"] = tags
        values["tag_index"] = _tag_index(tags)
    if news_query is not None:
        values["news_query"] = news_query
    if news_query is not None or {"opened_on", "resolve_by"} & given:
        # Stored news may now match: the next cycle matches it against this question.
        values["match_pending"] = True
    if "source" in given:
        values.update(_source_columns(patch.source))
    conn.execute(update(questions).where(questions.c.id == question_id).values(**values))
    bump_revision(conn)


def resolve_question(
    conn: Connection, question_id: int, spec: ResolveIn, *, today: date, actor: str | None
) -> None:
    """Resolve (yes/no) or annul an open question, recording who did it."""
    row = conn.execute(select(questions).where(questions.c.id == question_id)).first()
    if row is None:
        raise NotFound(f"question {question_id} not found")
    if row.status != "open":
        raise QuestionClosed(f"question {question_id} is already {row.status}")
    resolved_on = spec.resolved_on or today
    if resolved_on > today:
        raise InvalidInput(
            f"resolved_on {resolved_on} is in the future (today is {today} UTC)",
            field="resolved_on",
        )
    if resolved_on < row.opened_on:
        raise InvalidInput(
            f"resolved_on {resolved_on} is before opened_on {row.opened_on}", field="resolved_on"
        )
    annulled = spec.outcome == "annulled"
    # Guarded on status so two reviewers racing cannot both resolve it.
    result = conn.execute(
        update(questions)
        .where(questions.c.id == question_id, questions.c.status == "open")
        .values(
            status="annulled" if annulled else "resolved",
            outcome=None if annulled else spec.outcome,
            resolved_on=resolved_on,
            resolution_note=spec.note,
            evidence_urls=list(spec.evidence_urls),
            resolved_by=actor,
            updated_at=utcnow(),
        )
    )
    if result.rowcount != 1:
        raise QuestionClosed(f"question {question_id} was resolved meanwhile")
    bump_revision(conn)


def _as_utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant


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
        forecasts=[
            ForecastOut.model_construct(
                id=f.id,
                forecaster=f.forecaster,
                probability=f.probability,
                estimate=f.estimate,
                made_on=f.made_on,
                rationale=f.rationale,
            )
            for f in forecast_rows
        ],
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
                forecasts.c.question_id == questions.c.id, forecasts.c.forecaster == forecaster
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


def bump_revision(conn: Connection) -> None:
    """Record, inside the writer's transaction, that questions or forecasts changed."""
    conn.execute(BUMP_REVISION)


def find_by_seed_key(conn: Connection, seed_key: str) -> int | None:
    found = conn.execute(select(questions.c.id).where(questions.c.seed_key == seed_key)).first()
    return None if found is None else int(found.id)
