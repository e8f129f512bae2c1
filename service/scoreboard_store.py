"""The scoreboard's reading side: the queries that turn the stored pairs and totals
(forecasts.score_totals, kept by the resolving transaction) into the figures of
GET /api/scores and the per-question listing.

Unfiltered scores read the two tables of totals (a row per distinct (p, o, phrase) and one
per forecaster: hundreds of rows, whatever the number of forecasts). A filter (forecaster,
tag, resolved_on range) totals the pairs in scope in SQL instead, through the pairs table's
indexes, so only the totals cross into Python either way. Both answers come from a single
statement, so they read one snapshot on PostgreSQL too. The arithmetic is all in
forecasts.scoreboard.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from forecasts import scoreboard
from forecasts.schemas import QuestionScoreOut, QuestionScorePage, ScoresOut
from forecasts.score_totals import (
    NO_PHRASE,
    forecaster_totals_t,
    pairs_t,
    value_totals_t,
)
from forecasts.scoreboard import Filters, ForecasterTotals, ValueTotals
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_filters(
    conn: Connection,
    *,
    forecaster: str | None,
    tag: str | None,
    resolved_from: date | None,
    resolved_to: date | None,
) -> Filters:
    """The filters, after refusing a range that ends before it starts or a forecaster with no
    forecast at all. A name is an identity (forecasts.identity): "ann" finds "Ann"."""

    def has_forecasts(key: str) -> bool:
        known = conn.execute(
            select(forecasts.c.id).where(forecasts.c.forecaster_key == key).limit(1)
        ).first()
        return known is not None

    return scoreboard.check_filters(
        forecaster=forecaster,
        tag=tag,
        resolved_from=resolved_from,
        resolved_to=resolved_to,
        has_forecasts=has_forecasts,
    )


def _in_scope(filters: Filters) -> list[ColumnElement[bool]]:
    """The conditions on score_pairs that keep the pairs the filters select."""
    p = pairs_t.c
    where: list[ColumnElement[bool]] = []
    if filters.forecaster is not None:
        where.append(p.forecaster_key == filters.forecaster)
    if filters.resolved_from is not None:
        where.append(p.resolved_on >= filters.resolved_from)
    if filters.resolved_to is not None:
        where.append(p.resolved_on <= filters.resolved_to)
    if filters.tag is not None:
        # Tags are stored as '|a|b|': one portable LIKE, with the tag's wildcards escaped.
        pattern = f"%|{_escape_like(filters.tag)}|%"
        tagged = select(questions.c.id).where(questions.c.tag_index.like(pattern, escape="\\"))
        where.append(p.question_id.in_(tagged))
    return where


def _float(value: Any) -> ColumnElement[float]:
    return literal(value, Float).cast(Float)


def _int(value: Any) -> ColumnElement[int]:
    return literal(value, Integer).cast(Integer)


def _totals_statement(filters: Filters) -> Select[Any]:
    """One statement whose rows are the value totals ('v') and the forecaster totals ('f')
    of the pairs in scope, in the columns (kind, key, name, p, o, n, Σbrier, Σlog, Σtab,
    shared n, Σrelative)."""
    no_text = null().cast(String)
    if not filters.any:
        v, f = value_totals_t.c, forecaster_totals_t.c
        values = select(
            literal("v"), v.estimate, no_text, v.probability, v.outcome, v.pairs,
            _float(0.0), _float(0.0), _float(0.0), _int(0), _float(0.0),
        )  # fmt: skip
        people = select(
            literal("f"), f.forecaster_key, f.forecaster, _float(0.0), _int(0), f.pairs,
            f.sum_brier, f.sum_log_score, f.sum_time_averaged_brier, f.shared_pairs,
            f.sum_relative_brier,
        )  # fmt: skip
        return union_all(values, people)  # type: ignore[return-value]
    p = pairs_t.c
    where = _in_scope(filters)
    values = (
        select(
            literal("v"),
            func.coalesce(p.estimate, NO_PHRASE),
            no_text,
            p.probability,
            p.outcome,
            func.count(),
            _float(0.0),
            _float(0.0),
            _float(0.0),
            _int(0),
            _float(0.0),
        )  # fmt: skip
        .where(*where)
        .group_by(p.probability, p.outcome, p.estimate)
    )
    people = (
        select(
            literal("f"),
            p.forecaster_key,
            func.min(p.forecaster),
            _float(0.0),
            _int(0),
            func.count(),
            func.sum(p.brier),
            func.sum(p.log_score),
            func.sum(p.time_averaged_brier),
            func.count(p.relative_brier),
            func.coalesce(func.sum(p.relative_brier), 0.0),
        )  # fmt: skip
        .where(*where)
        .group_by(p.forecaster_key)
    )
    return union_all(values, people)  # type: ignore[return-value]


def _objects(values: list[Any]) -> Any:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


_UNFILTERED_SQL: dict[str, str] = {}


def read_totals(conn: Connection, filters: Filters) -> tuple[ValueTotals, ForecasterTotals]:
    """The totals of the pairs the filters keep (all pairs without filters)."""
    rows: Sequence[Any]
    if filters.any:
        # One row per (p, o, phrase) and forecaster in scope, through bound parameters:
        # the filters hold what the client sent.
        rows = conn.execute(_totals_statement(filters)).all()
    else:
        # The hot path: a fixed statement, compiled once per dialect, its rows straight
        # from the driver.
        sql = _UNFILTERED_SQL.get(conn.dialect.name)
        if sql is None:
            statement = _totals_statement(Filters())
            sql = _UNFILTERED_SQL[conn.dialect.name] = str(
                statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            )
        rows = conn.exec_driver_sql(sql).fetchall()
    v = [r for r in rows if r[0] == "v"]
    f = [r for r in rows if r[0] == "f"]
    values = ValueTotals(
        probability=np.array([r[3] for r in v], dtype=np.float64),
        outcome=np.array([r[4] for r in v], dtype=np.float64),
        estimate=_objects([None if r[1] == NO_PHRASE else r[1] for r in v]),
        count=np.array([r[5] for r in v], dtype=np.int64),
    )
    people = ForecasterTotals(
        forecaster_key=_objects([r[1] for r in f]),
        forecaster=_objects([r[2] for r in f]),
        count=np.array([r[5] for r in f], dtype=np.int64),
        sum_brier=np.array([r[6] for r in f], dtype=np.float64),
        sum_log_score=np.array([r[7] for r in f], dtype=np.float64),
        sum_time_averaged_brier=np.array([r[8] for r in f], dtype=np.float64),
        shared_count=np.array([r[9] for r in f], dtype=np.int64),
        sum_relative=np.array([r[10] for r in f], dtype=np.float64),
    )
    return values, people


def compute_scores(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    bins: int = 10,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
) -> ScoresOut:
    """The GET /api/scores figures (API.md) with by_forecaster sorted by name and each
    forecaster's relative_brier: the mean, over their pairs on questions someone else also
    forecast, of their Brier minus the median Brier of the others there (negative is better).

    Raises NotFound for a forecaster with no forecast at all and InvalidInput for bins
    outside 1..100 or a date range that ends before it starts. No scored pair: n 0, nulls.
    """
    bins = scoreboard.check_bins(bins)
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    values, people = read_totals(conn, filters)
    return scoreboard.scores_from_totals(values, people, bins=bins)


def _listing(conn: Connection, filters: Filters) -> Select[Any]:
    """The pairs in scope with their question's title, newest resolution first, then the
    newest question, then forecasters by name in code point order."""
    p = pairs_t.c
    name = p.forecaster.collate("C") if conn.dialect.name == "postgresql" else p.forecaster
    return (
        select(
            p.question_id,
            questions.c.title,
            p.resolved_on,
            p.outcome,
            p.forecaster,
            p.probability,
            p.brier,
            p.log_score,
        )
        .select_from(pairs_t.join(questions, questions.c.id == p.question_id))
        .where(*_in_scope(filters))
        .order_by(p.resolved_on.desc(), p.question_id.desc(), name)
    )


def _rows(conn: Connection, statement: Select[Any]) -> list[dict[str, Any]]:
    return [
        {
            "question_id": row.question_id,
            "title": row.title,
            "resolved_on": row.resolved_on,
            "outcome": "yes" if row.outcome == 1 else "no",
            "forecaster": row.forecaster,
            "probability": row.probability,
            "brier": row.brier,
            "log_score": row.log_score,
        }
        for row in conn.execute(statement)
    ]


def _pair_count(conn: Connection, filters: Filters) -> int:
    if not filters.any:
        total = select(func.coalesce(func.sum(forecaster_totals_t.c.pairs), 0))
    else:
        total = select(func.count()).select_from(pairs_t).where(*_in_scope(filters))
    return int(conn.execute(total).scalar_one())


def question_score_page(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> QuestionScorePage:
    """A page of per-pair scores, newest resolution first, and how many pairs in all."""
    scoreboard.check_page(limit, offset)
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    statement = _listing(conn, filters).limit(limit).offset(offset)
    items = scoreboard.question_score_rows(_rows(conn, statement))
    return QuestionScorePage(items=items, total=_pair_count(conn, filters))


def question_scores(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
) -> Iterator[QuestionScoreOut]:
    """Every scored pair, newest resolution first. NotFound: unknown forecaster.

    Everything is read from the database before this returns; the rows themselves are built
    as they are iterated, so a download of every pair never holds them all at once."""
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    return scoreboard.stream_question_score_rows(_rows(conn, _listing(conn, filters)))
