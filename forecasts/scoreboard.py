"""Scores of stored forecasts: one ordered query, then NumPy (API.md, "Scores").

A scored pair is a question resolved yes or no and a forecaster with at least one forecast made
on or before its resolved_on; p is the latest such forecast (ties on made_on: created last).
The forecasts come from the database in (question, forecaster, made_on, created_at, id) order,
so each pair is a contiguous run whose last row is its p; grouping, time-averaging and the
per-forecaster sums are array operations, never a Python loop per forecast.

Fetching the rows is most of the cost (about a second per million forecasts on SQLite), so
the per-pair results are kept per engine and reused while a cheap version query says that
no question was resolved since; when some were, only their forecasts are fetched and their
pairs merged in (pairs of different questions never affect each other).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Integer, cast, func, literal_column, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from forecasts import calibration, scoring
from forecasts.errors import InvalidInput, NotFound
from forecasts.scoring import BoolArray, FloatArray, IntArray
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions

MAX_BINS = 100
# Past this many newly resolved questions a full rebuild is cheaper than an id list.
CATCH_UP_LIMIT = 2000
EPOCH = date(1970, 1, 1)
# julianday('1970-01-01') on SQLite: dates become whole days since EPOCH inside the query,
# so no date is parsed in Python.
_JULIAN_EPOCH = 2440587.5
# A page this small fetches only its own titles; a longer listing fetches them all.
_TITLES_BY_ID = 1000


@dataclass(frozen=True)
class Board:
    """Every scored pair in the database, ordered by question id then forecaster."""

    question_id: IntArray
    forecaster: IntArray  # index into `names`
    names: tuple[str, ...]  # in code point order
    probability: FloatArray  # p: the latest forecast made on or before resolved_on
    outcome: FloatArray  # o: 1.0 yes, 0.0 no
    resolved_on: IntArray  # days since EPOCH
    brier: FloatArray
    log_score: FloatArray
    time_averaged_brier: FloatArray
    relative: FloatArray  # brier minus the median of the other forecasters on the question
    shared: BoolArray  # False where no other forecaster has a pair on the question

    @property
    def size(self) -> int:
        return int(self.question_id.size)


@dataclass(frozen=True)
class Filters:
    """Which pairs are in scope; None means no restriction."""

    forecaster: str | None = None
    tag: str | None = None
    resolved_from: date | None = None
    resolved_to: date | None = None


@dataclass(frozen=True)
class _Cached:
    """A board and the set of resolved questions it was built from."""

    board: Board
    resolved_ids: IntArray  # sorted ids of every resolved question the board has seen
    watermark: datetime | None  # latest updated_at among them: where to look for new ones

    @property
    def version(self) -> tuple[int, int]:
        return (int(self.resolved_ids.size), int(self.resolved_ids.sum()))


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


def data_version(conn: Connection) -> tuple[int, int]:
    """What scores depend on, cheaply: the resolved questions (count, sum of ids).

    Only resolved questions are scored, a resolution is final, and a resolved question
    takes no new forecast (409); so scores change exactly when a question is resolved (or
    imported resolved), which moves this pair, and a forecast on an open question does not.
    """
    resolved = questions.c.status == "resolved"
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(questions.c.id), 0)).where(resolved)
    ).one()
    return (int(row[0]), int(row[1]))


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


def _empty_board() -> Board:
    ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return Board(
        ints, ints, (), floats, floats, ints, floats, floats, floats, floats, np.zeros(0, bool)
    )


def build_board(conn: Connection, only_ids: Sequence[int] | None = None) -> Board:
    """Every scored pair with its p, o and scores: one query for the forecasts, one for the
    resolved questions, then NumPy. `only_ids` limits it to those questions."""
    f, q = forecasts, questions
    scope = [] if only_ids is None else [q.c.id.in_([int(i) for i in only_ids])]
    rows = _raw_rows(
        conn,
        select(f.c.question_id, f.c.forecaster, f.c.probability, _day_number(conn, f.c.made_on))
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
        return _empty_board()
    question_id = _column(rows, 0, np.int64)
    name = np.array(list(map(itemgetter(1), rows)), dtype=object)
    probability = _column(rows, 2, np.float64)
    made_on = _column(rows, 3, np.int64)
    q_ids = _column(question_rows, 0, np.int64)
    q_resolved = _column(question_rows, 1, np.int64)
    q_outcome = _column(question_rows, 2, np.float64)

    # A question changed behind the API's back between the two reads drops out, not crashes.
    found = np.isin(question_id, q_ids)
    if not found.all():
        question_id, name = question_id[found], name[found]
        probability, made_on = probability[found], made_on[found]
        if question_id.size == 0:
            return _empty_board()

    starts = np.ones(question_id.size, dtype=bool)
    starts[1:] = (question_id[1:] != question_id[:-1]) | (name[1:] != name[:-1])
    pair = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = scoring.pair_ends(pair)
    pair_question = question_id[first]
    where = np.searchsorted(q_ids, pair_question)
    resolved_on, outcome = q_resolved[where], q_outcome[where]
    tab = scoring.time_averaged_brier(pair, made_on, probability, resolved_on, outcome)

    # Few distinct names: dict.fromkeys and searchsorted run in C, unlike a sort of strings.
    pair_name = name[first]
    names = tuple(sorted(dict.fromkeys(pair_name.tolist())))
    code = np.searchsorted(np.array(names, dtype=object), pair_name).astype(np.int64)

    p = probability[last]
    brier = scoring.squared_errors(p, outcome)
    relative, shared = relative_brier(pair_question, brier)
    return Board(
        question_id=pair_question,
        forecaster=code,
        names=names,
        probability=p,
        outcome=outcome,
        resolved_on=resolved_on,
        brier=brier,
        log_score=scoring.log_scores(p, outcome),
        time_averaged_brier=tab,
        relative=relative,
        shared=shared,
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
        fresh = _full_build(conn)
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


def _full_build(conn: Connection) -> _Cached:
    # The resolved set is read before the forecasts; a question resolved in between is
    # left out of this board (and caught up by the next request), so the board holds
    # exactly the questions of its set.
    seen = _resolved_since(conn, None)
    ids = np.array([qid for qid, _ in seen], dtype=np.int64)
    board = build_board(conn) if seen else _empty_board()
    return _Cached(
        restrict_board(board, np.isin(board.question_id, ids)),
        ids,
        max((at for _, at in seen), default=None),
    )


def restrict_board(board: Board, keep: BoolArray) -> Board:
    """The pairs where `keep` holds."""
    if bool(keep.all()):
        return board
    fields = (
        "question_id",
        "forecaster",
        "probability",
        "outcome",
        "resolved_on",
        "brier",
        "log_score",
        "time_averaged_brier",
        "relative",
        "shared",
    )
    return Board(names=board.names, **{f: getattr(board, f)[keep] for f in fields})


def _catch_up(conn: Connection, cached: _Cached, version: tuple[int, int]) -> _Cached | None:
    """Score the questions resolved since `cached` and merge them in; None when the change
    is not only new resolutions (then the caller rebuilds from scratch)."""
    seen = _resolved_since(conn, cached.watermark)
    new = [(qid, at) for qid, at in seen if not _contains(cached.resolved_ids, qid)]
    ids = np.union1d(cached.resolved_ids, np.array([qid for qid, _ in new], dtype=np.int64))
    if (int(ids.size), int(ids.sum())) != version or not new or len(new) > CATCH_UP_LIMIT:
        return None  # e.g. an import of questions resolved long ago: rebuild
    added = build_board(conn, [qid for qid, _ in new])
    watermark = max([at for _, at in new] + ([cached.watermark] if cached.watermark else []))
    return _Cached(merge_boards(cached.board, added), ids, watermark)


def _contains(sorted_ids: IntArray, value: int) -> bool:
    at = int(np.searchsorted(sorted_ids, value))
    return at < sorted_ids.size and int(sorted_ids[at]) == value


def merge_boards(first: Board, second: Board) -> Board:
    """One board holding the pairs of both (which share no question), in board order.

    Every per-pair figure, relative Brier included, depends only on its own question, so
    boards of disjoint questions concatenate."""
    if second.size == 0:
        return first
    if first.size == 0:
        return second
    names = tuple(sorted(set(first.names) | set(second.names)))
    lookup = np.array(names, dtype=object)
    codes = np.concatenate(
        [
            np.searchsorted(lookup, np.array(board.names, dtype=object)[board.forecaster])
            for board in (first, second)
        ]
    ).astype(np.int64)
    question_id = np.concatenate([first.question_id, second.question_id])
    order = np.lexsort((codes, question_id))

    def joined(field: str) -> Any:
        return np.concatenate([getattr(first, field), getattr(second, field)])[order]

    return Board(
        question_id=question_id[order],
        forecaster=codes[order],
        names=names,
        **{
            field: joined(field)
            for field in (
                "probability",
                "outcome",
                "resolved_on",
                "brier",
                "log_score",
                "time_averaged_brier",
                "relative",
                "shared",
            )
        },
    )


def relative_brier(question_id: IntArray, brier: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Per pair: its Brier minus the median Brier of the other forecasters on its question.

    Returns (difference, shared): `shared` is False where nobody else has a pair on that
    question, and the difference there is 0.
    """
    size = question_id.size
    if size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    order = np.lexsort((brier, question_id))
    q_sorted = question_id[order]
    value = brier[order]
    new_group = np.ones(size, dtype=bool)
    new_group[1:] = q_sorted[1:] != q_sorted[:-1]
    group_start = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    start = group_start[group]
    others = np.diff(np.append(group_start, size))[group] - 1
    rank = np.arange(size) - start
    # The others' median, read off the sorted group with this pair skipped: the i-th of
    # the others sits at i, or at i + 1 once i reaches this pair's own rank.
    low = np.maximum((others - 1) // 2, 0)
    high = others // 2
    low_at = np.minimum(start + low + (low >= rank), size - 1)
    high_at = np.minimum(start + high + (high >= rank), size - 1)
    shared = others >= 1
    difference = np.where(shared, value - (value[low_at] + value[high_at]) / 2.0, 0.0)
    out_difference = np.empty(size)
    out_shared = np.empty(size, dtype=bool)
    out_difference[order] = difference
    out_shared[order] = shared
    return out_difference, out_shared


def check_bins(bins: int) -> int:
    """`bins` if it is a whole number from 1 to MAX_BINS, else InvalidInput."""
    calibration.check_bins(bins)
    if bins > MAX_BINS:
        raise InvalidInput(f"bins must be from 1 to {MAX_BINS}, not {bins}", field="bins")
    return int(bins)


def check_filters(
    conn: Connection,
    *,
    forecaster: str | None,
    tag: str | None,
    resolved_from: date | None,
    resolved_to: date | None,
) -> Filters:
    """The filters, after refusing a range that ends before it starts or an unknown name."""
    if resolved_from is not None and resolved_to is not None and resolved_from > resolved_to:
        raise InvalidInput(
            f"resolved_from {resolved_from} is after resolved_to {resolved_to}",
            field="resolved_from",
        )
    if forecaster is not None:
        known = conn.execute(
            select(forecasts.c.id).where(forecasts.c.forecaster == forecaster).limit(1)
        ).first()
        if known is None:
            raise NotFound(f"forecaster {forecaster!r} has no forecasts", field="forecaster")
    return Filters(
        forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )


def _days(day: date) -> int:
    return (day - EPOCH).days


def in_scope(conn: Connection, board: Board, filters: Filters) -> BoolArray:
    """A mask over the board's pairs that the filters keep."""
    keep = np.ones(board.size, dtype=bool)
    if filters.forecaster is not None:
        if filters.forecaster not in board.names:
            return np.zeros(board.size, dtype=bool)
        keep &= board.forecaster == board.names.index(filters.forecaster)
    if filters.resolved_from is not None:
        keep &= board.resolved_on >= _days(filters.resolved_from)
    if filters.resolved_to is not None:
        keep &= board.resolved_on <= _days(filters.resolved_to)
    if filters.tag is not None:
        pattern = f"%|{_escape_like(filters.tag)}|%"
        tagged = conn.execute(
            select(questions.c.id).where(
                *_resolved(), questions.c.tag_index.like(pattern, escape="\\")
            )
        ).scalars()
        keep &= np.isin(board.question_id, np.fromiter(tagged, dtype=np.int64))
    return keep


def _empty_scores() -> dict[str, Any]:
    return {
        "n": 0,
        "brier": None,
        "log_score": None,
        "base_rate": None,
        "brier_skill_score": None,
        "decomposition": {"reliability": None, "resolution": None, "uncertainty": None},
        "calibration": [],
        "by_forecaster": [],
    }


def scores_of(board: Board, keep: BoolArray, *, bins: int) -> dict[str, Any]:
    """The /api/scores figures of the pairs `keep` selects, as plain Python."""
    if not keep.any():
        return _empty_scores()
    p, o = board.probability[keep], board.outcome[keep]
    brier = float(np.mean(board.brier[keep]))
    decomposition = calibration.murphy_decomposition(p, o, bins)

    code = board.forecaster[keep]
    width = len(board.names)
    count = np.bincount(code, minlength=width)
    sums = {
        name: np.bincount(code, weights=getattr(board, name)[keep], minlength=width)
        for name in ("brier", "log_score", "time_averaged_brier")
    }
    shared = board.shared[keep]
    shared_count = np.bincount(code[shared], minlength=width)
    shared_sum = np.bincount(code[shared], weights=board.relative[keep][shared], minlength=width)
    by_forecaster = [
        {
            "forecaster": board.names[i],
            "n": int(count[i]),
            "brier": float(sums["brier"][i] / count[i]),
            "log_score": float(sums["log_score"][i] / count[i]),
            "time_averaged_brier": float(sums["time_averaged_brier"][i] / count[i]),
            "relative_brier": float(shared_sum[i] / shared_count[i]) if shared_count[i] else None,
        }
        for i in np.flatnonzero(count)
    ]
    return {
        "n": int(p.size),
        "brier": brier,
        "log_score": float(np.mean(board.log_score[keep])),
        "base_rate": scoring.base_rate(o),
        "brier_skill_score": scoring.brier_skill_score(brier, decomposition.uncertainty),
        "decomposition": asdict(decomposition),
        "calibration": [asdict(b) for b in calibration.calibration_bins(p, o, bins)],
        "by_forecaster": by_forecaster,
    }


def compute_scores(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    bins: int = 10,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
) -> dict[str, Any]:
    """The GET /api/scores figures (API.md) with by_forecaster sorted by name and each
    forecaster's relative_brier: the mean, over their pairs on questions someone else also
    forecast, of their Brier minus the median Brier of the others there (negative is better).

    Raises NotFound for a forecaster with no forecast at all and InvalidInput for bins
    outside 1..100 or a date range that ends before it starts. No scored pair: n 0, nulls.
    """
    bins = check_bins(bins)
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    board = load_board(conn)
    return scores_of(board, in_scope(conn, board, filters), bins=bins)


def _titles(conn: Connection, ids: IntArray) -> dict[int, str]:
    statement = select(questions.c.id, questions.c.title)
    if ids.size <= _TITLES_BY_ID:
        statement = statement.where(questions.c.id.in_(np.unique(ids).tolist()))
    else:
        statement = statement.where(*_resolved())
    return {int(i): str(t) for i, t in conn.execute(statement)}


def question_score_page(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of per-pair scores, newest resolution first, and how many pairs in all."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidInput("limit and offset cannot be negative")
    filters = check_filters(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    board = load_board(conn)
    chosen = np.flatnonzero(in_scope(conn, board, filters))
    # Newest resolution first; then the newest question, then forecasters by name.
    order = np.lexsort(
        (board.forecaster[chosen], -board.question_id[chosen], -board.resolved_on[chosen])
    )
    stop = None if limit is None else offset + limit
    page = chosen[order][offset:stop]
    if page.size == 0:
        return [], int(chosen.size)
    title_of = _titles(conn, board.question_id[page])
    items = [
        {
            "question_id": question_id,
            "title": title_of.get(question_id, ""),
            "resolved_on": EPOCH + timedelta(days=day),
            "outcome": "yes" if outcome == 1.0 else "no",
            "forecaster": board.names[code],
            "probability": p,
            "brier": brier,
            "log_score": log_score,
        }
        for question_id, day, outcome, code, p, brier, log_score in zip(
            board.question_id[page].tolist(),
            board.resolved_on[page].tolist(),
            board.outcome[page].tolist(),
            board.forecaster[page].tolist(),
            board.probability[page].tolist(),
            board.brier[page].tolist(),
            board.log_score[page].tolist(),
            strict=True,
        )
    ]
    return items, int(chosen.size)


def question_scores(
    conn: Connection,
    *,
    forecaster: str | None = None,
    tag: str | None = None,
    resolved_from: date | None = None,
    resolved_to: date | None = None,
) -> list[dict[str, Any]]:
    """Every scored pair as {question_id, title, resolved_on (a date), outcome, forecaster,
    probability, brier, log_score}, newest resolution first. NotFound: unknown forecaster."""
    items, _ = question_score_page(
        conn, forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )
    return items
