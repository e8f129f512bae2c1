"""The scoreboard's storage side: the queries that feed forecasts.scoreboard, and the
process-wide cache of built boards.

Fetching the rows is most of the cost (about a second per million forecasts on SQLite), so
the board is kept per engine and reused while a cheap version query says that no question was
resolved since; when some were, only their forecasts are fetched and their pairs merged in
(pairs of different questions never affect each other). The arithmetic is all in
forecasts.scoreboard; this module turns rows into its arrays and its answers into results.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Integer, cast, func, literal_column, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from forecasts import scoreboard
from forecasts.identity import display_name
from forecasts.schemas import QuestionScoreOut, QuestionScorePage, ScoresOut
from forecasts.scoreboard import Board, Filters
from forecasts.scoring import BoolArray, IntArray
from forecasts.tables import audit_t
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions

# Past this many newly resolved questions a full rebuild is cheaper than an id list.
CATCH_UP_LIMIT = 2000
# julianday('1970-01-01') on SQLite: dates become whole days since EPOCH inside the query,
# so no date is parsed in Python.
_JULIAN_EPOCH = 2440587.5
# A page this small fetches only its own titles; a longer listing fetches them all.
_TITLES_BY_ID = 1000


@dataclass(frozen=True)
class _Cached:
    """A board and the set of resolved questions it was built from."""

    board: Board
    resolved_ids: IntArray  # sorted ids of every resolved question the board has seen
    watermark: datetime | None  # latest updated_at among them: where to look for new ones
    reopened: int  # how many reopens the database had when the board was built

    @property
    def version(self) -> tuple[int, int, int]:
        return (int(self.resolved_ids.size), int(self.resolved_ids.sum()), self.reopened)


_cache_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()


def clear_cache() -> None:
    """Forget every cached board (the next score request fetches again)."""
    with _cache_lock:
        _cache.clear()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_number(conn: Connection, column: Any) -> ColumnElement[int]:
    """`column` (a date) as whole days since 1970-01-01, computed by the database."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(column) - _JULIAN_EPOCH, Integer)
    # PostgreSQL: date − date is an integer number of days.
    return cast(column - literal_column("DATE '1970-01-01'"), Integer)


def _resolved() -> list[ColumnElement[bool]]:
    return [
        questions.c.status == "resolved",
        questions.c.outcome.in_(("yes", "no")),
        questions.c.resolved_on.is_not(None),
    ]


def data_version(conn: Connection) -> tuple[int, int, int]:
    """What scores depend on, cheaply: the resolved questions (count, sum of ids) and how
    many resolutions were ever undone.

    Only resolved questions are scored and a resolved question takes no new forecast (409);
    so scores change when a question is resolved (or imported resolved), which moves the
    pair, or when one is reopened (and perhaps resolved again another way), which moves the
    reopen count and so forces a rebuild.
    """
    resolved = questions.c.status == "resolved"
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(questions.c.id), 0)).where(resolved)
    ).one()
    reopened = conn.execute(
        select(func.count()).select_from(audit_t).where(audit_t.c.action == "question.reopen")
    ).scalar_one()
    return (int(row[0]), int(row[1]), int(reopened))


def _raw_rows(conn: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of a statement without bound parameters, as the driver's plain tuples.

    SQLAlchemy's Row objects cost about as much again as the driver's fetch at a million
    rows; the statement holds only constants written here, so inlining them is safe.
    """
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _column(rows: list[tuple[Any, ...]], index: int, dtype: type[np.generic]) -> NDArray[Any]:
    return np.fromiter(map(itemgetter(index), rows), dtype=dtype, count=len(rows))


def build_board(conn: Connection, only_ids: Sequence[int] | None = None) -> Board:
    """Every scored pair with its p, o and scores: one query for the forecasts, one for the
    resolved questions, then NumPy. `only_ids` limits it to those questions."""
    f, q = forecasts, questions
    scope = [] if only_ids is None else [q.c.id.in_([int(i) for i in only_ids])]
    rows = _raw_rows(
        conn,
        select(
            f.c.question_id,
            f.c.forecaster,
            f.c.probability,
            _day_number(conn, f.c.made_on),
            f.c.estimate,
        )
        .select_from(f.join(q, q.c.id == f.c.question_id))
        .where(*_resolved(), *scope, f.c.made_on <= q.c.resolved_on)
        # q.id rather than f.question_id: SQLite then walks questions in id order and sorts
        # only each question's few forecasts, instead of sorting all of them at once.
        .order_by(q.c.id, f.c.forecaster, f.c.made_on, f.c.created_at, f.c.id),
    )
    # Read after the forecasts: a resolution is final, so every question seen above is here.
    question_rows = _raw_rows(
        conn,
        select(q.c.id, _day_number(conn, q.c.resolved_on), q.c.outcome == "yes")
        .where(*_resolved(), *scope)
        .order_by(q.c.id),
    )
    if not rows or not question_rows:
        return scoreboard.empty_board()
    return scoreboard.board_from_forecasts(
        _column(rows, 0, np.int64),
        np.array(list(map(itemgetter(1), rows)), dtype=object),
        _column(rows, 2, np.float64),
        _column(rows, 3, np.int64),
        estimate=np.array(list(map(itemgetter(4), rows)), dtype=object),
        resolved_ids=_column(question_rows, 0, np.int64),
        resolved_on=_column(question_rows, 1, np.int64),
        outcome=_column(question_rows, 2, np.float64),
    )


def load_board(conn: Connection) -> Board:
    """The board for this connection's database: cached, and brought up to date by scoring
    only the questions resolved since it was built."""
    version = data_version(conn)
    engine = conn.engine
    with _cache_lock:
        cached = _cache.get(engine)
    if cached is not None and cached.version == version:
        return cached.board
    fresh = _catch_up(conn, cached, version) if cached is not None else None
    if fresh is None:
        fresh = _full_build(conn, version[2])
    with _cache_lock:
        _cache[engine] = fresh
    return fresh.board


def _resolved_since(conn: Connection, watermark: datetime | None) -> list[tuple[int, Any]]:
    resolved = questions.c.status == "resolved"
    where = [resolved] if watermark is None else [resolved, questions.c.updated_at >= watermark]
    rows = conn.execute(
        select(questions.c.id, questions.c.updated_at).where(*where).order_by(questions.c.id)
    )
    return [(int(r[0]), r[1]) for r in rows]


def _full_build(conn: Connection, reopened: int) -> _Cached:
    # The resolved set is read before the forecasts; a question resolved in between is
    # left out of this board (and caught up by the next request), so the board holds
    # exactly the questions of its set.
    seen = _resolved_since(conn, None)
    ids = np.array([qid for qid, _ in seen], dtype=np.int64)
    board = build_board(conn) if seen else scoreboard.empty_board()
    return _Cached(
        scoreboard.restrict_board(board, np.isin(board.question_id, ids)),
        ids,
        max((at for _, at in seen), default=None),
        reopened,
    )


def _catch_up(conn: Connection, cached: _Cached, version: tuple[int, int, int]) -> _Cached | None:
    """Score the questions resolved since `cached` and merge them in; None when the change
    is not only new resolutions (then the caller rebuilds from scratch)."""
    seen = _resolved_since(conn, cached.watermark)
    new = [(qid, at) for qid, at in seen if not _contains(cached.resolved_ids, qid)]
    ids = np.union1d(cached.resolved_ids, np.array([qid for qid, _ in new], dtype=np.int64))
    grown = (int(ids.size), int(ids.sum()), cached.reopened)
    if grown != version or not new or len(new) > CATCH_UP_LIMIT:
        return None  # e.g. an import of questions resolved long ago: rebuild
    added = build_board(conn, [qid for qid, _ in new])
    watermark = max([at for _, at in new] + ([cached.watermark] if cached.watermark else []))
    return _Cached(scoreboard.merge_boards(cached.board, added), ids, watermark, cached.reopened)


def _contains(sorted_ids: IntArray, value: int) -> bool:
    at = int(np.searchsorted(sorted_ids, value))
    return at < sorted_ids.size and int(sorted_ids[at]) == value


def check_filters(
    conn: Connection,
    *,
    forecaster: str | None,
    tag: str | None,
    resolved_from: date | None,
    resolved_to: date | None,
) -> Filters:
    """The filters, after refusing a range that ends before it starts or an unknown name.
    A name is an identity (forecasts.identity): "ann" finds the forecaster shown as "Ann"."""

    def has_forecasts(name: str) -> bool:
        known = conn.execute(
            select(forecasts.c.id).where(forecasts.c.forecaster == name).limit(1)
        ).first()
        return known is not None

    if forecaster is not None and not has_forecasts(forecaster):
        forecaster = display_name(conn, forecaster)
    return scoreboard.check_filters(
        forecaster=forecaster,
        tag=tag,
        resolved_from=resolved_from,
        resolved_to=resolved_to,
        has_forecasts=has_forecasts,
    )


def in_scope(conn: Connection, board: Board, filters: Filters) -> BoolArray:
    """A mask over the board's pairs that the filters keep."""

    def tagged(tag: str) -> IntArray:
        pattern = f"%|{_escape_like(tag)}|%"
        ids: Iterable[int] = conn.execute(
            select(questions.c.id).where(
                *_resolved(), questions.c.tag_index.like(pattern, escape="\\")
            )
        ).scalars()
        return np.fromiter(ids, dtype=np.int64)

    return scoreboard.in_scope(board, filters, tagged=tagged)


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
    board = load_board(conn)
    return scoreboard.scores_of(board, in_scope(conn, board, filters), bins=bins)


def _titles(conn: Connection, ids: IntArray) -> dict[int, str]:
    statement = select(questions.c.id, questions.c.title)
    if ids.size <= _TITLES_BY_ID:
        statement = statement.where(questions.c.id.in_(np.unique(ids).tolist()))
    else:
        statement = statement.where(*_resolved())
    return {int(row.id): str(row.title) for row in conn.execute(statement)}


def _page_in_scope(
    conn: Connection,
    *,
    forecaster: str | None,
    tag: str | None,
    resolved_from: date | None,
    resolved_to: date | None,
    limit: int | None,
    offset: int,
) -> tuple[Board, IntArray, int]:
    """The board, the positions on it of one page of the pairs in scope (newest resolution
    first), and how many pairs are in scope."""
    scoreboard.check_page(limit, offset)
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    board = load_board(conn)
    page, total = scoreboard.page_of(
        board, in_scope(conn, board, filters), limit=limit, offset=offset
    )
    return board, page, total


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
    board, page, total = _page_in_scope(
        conn,
        forecaster=forecaster,
        tag=tag,
        resolved_from=resolved_from,
        resolved_to=resolved_to,
        limit=limit,
        offset=offset,
    )
    if page.size == 0:
        return QuestionScorePage(items=[], total=total)
    titles = _titles(conn, board.question_id[page])
    return QuestionScorePage(items=scoreboard.question_score_rows(board, page, titles), total=total)


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
    board, page, _total = _page_in_scope(
        conn,
        forecaster=forecaster,
        tag=tag,
        resolved_from=resolved_from,
        resolved_to=resolved_to,
        limit=None,
        offset=0,
    )
    titles = _titles(conn, board.question_id[page]) if page.size else {}
    return scoreboard.stream_question_score_rows(board, page, titles)
