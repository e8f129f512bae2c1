"""The scoreboard: every scored pair's p, o and scores as arrays, and the figures of
GET /api/scores and GET /api/scores/questions computed from them (API.md, "Scores").

A scored pair is a question resolved yes or no and a forecaster with at least one forecast made
on or before its resolved_on; p is the latest such forecast (ties on made_on: created last).
The board is built from the forecasts in (question, forecaster, made_on, created_at, id) order,
so each pair is a contiguous run whose last row is its p; grouping, time-averaging and the
per-forecaster sums are array operations, never a Python loop per forecast.

Everything here is pure: arrays in, arrays or result models (forecasts.score_models) out. The
queries that feed it and the cache of built boards live with storage, in
service/scoreboard_store.py; what this module needs from the database (is a forecaster known,
which questions carry a tag) it is handed as a function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import TypeAdapter

from forecasts import calibration, scoring
from forecasts.errors import InvalidInput, NotFound
from forecasts.schemas import (
    CalibrationBinOut,
    DecompositionOut,
    DiscriminationOut,
    EstimateScoreOut,
    ForecasterScoreOut,
    QuestionScoreOut,
    ScoresOut,
)
from forecasts.scoring import BoolArray, FloatArray, IntArray

MAX_BINS = 100
# Days on the board are whole days since this one.
EPOCH = date(1970, 1, 1)

# Rows are validated a chunk at a time: one call per chunk costs about half as much as
# building them one by one, and a listing of every pair (a CSV download) can stream through
# without holding them all (hundreds of thousands of live models set off long collections).
_QUESTION_ROWS = TypeAdapter(list[QuestionScoreOut])
_ROW_CHUNK = 1000

# Every per-pair array of a Board, in field order (`names` is the one per-board field).
_PAIR_FIELDS = (
    "question_id",
    "forecaster",
    "probability",
    "estimate",
    "outcome",
    "resolved_on",
    "brier",
    "log_score",
    "time_averaged_brier",
    "relative",
    "shared",
)


@dataclass(frozen=True)
class Board:
    """Every scored pair in the database, ordered by question id then forecaster."""

    question_id: IntArray
    forecaster: IntArray  # index into `names`
    names: tuple[str, ...]  # in code point order
    probability: FloatArray  # p: the latest forecast made on or before resolved_on
    estimate: NDArray[np.object_]  # the phrase p came from (table phrase), or None
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


def empty_board() -> Board:
    """A board with no pair."""
    ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    phrases = np.zeros(0, dtype=object)
    return Board(
        ints,
        ints,
        (),
        floats,
        phrases,
        floats,
        ints,
        floats,
        floats,
        floats,
        floats,
        np.zeros(0, bool),
    )


def board_from_forecasts(
    question_id: IntArray,
    forecaster: NDArray[np.object_],
    probability: FloatArray,
    made_on: IntArray,
    *,
    estimate: NDArray[np.object_] | None = None,
    resolved_ids: IntArray,
    resolved_on: IntArray,
    outcome: FloatArray,
) -> Board:
    """The board of these forecasts on these resolved questions.

    The first four arrays are the forecasts made on or before their question's resolved_on,
    one entry per forecast, in (question, forecaster, made_on, creation) order: the
    forecaster's name, p, and made_on in days since EPOCH. The last three are the resolved
    questions in id order: id, resolved_on in days since EPOCH, and o. A forecast whose
    question is not among them is left out.
    """
    if question_id.size == 0 or resolved_ids.size == 0:
        return empty_board()
    if estimate is None:
        estimate = np.full(question_id.size, None, dtype=object)
    name = forecaster
    # A question changed behind the API's back between the two reads drops out, not crashes.
    found = np.isin(question_id, resolved_ids)
    if not found.all():
        question_id, name = question_id[found], name[found]
        probability, made_on = probability[found], made_on[found]
        estimate = estimate[found]
        if question_id.size == 0:
            return empty_board()

    starts = np.ones(question_id.size, dtype=bool)
    starts[1:] = (question_id[1:] != question_id[:-1]) | (name[1:] != name[:-1])
    pair = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = scoring.pair_ends(pair)
    pair_question = question_id[first]
    where = np.searchsorted(resolved_ids, pair_question)
    pair_resolved_on, pair_outcome = resolved_on[where], outcome[where]
    tab = scoring.time_averaged_brier(pair, made_on, probability, pair_resolved_on, pair_outcome)

    # Few distinct names: dict.fromkeys and searchsorted run in C, unlike a sort of strings.
    pair_name = name[first]
    names = tuple(sorted(dict.fromkeys(pair_name.tolist())))
    code = np.searchsorted(np.array(names, dtype=object), pair_name).astype(np.int64)

    p = probability[last]
    brier = scoring.squared_errors(p, pair_outcome)
    relative, shared = relative_brier(pair_question, brier)
    return Board(
        question_id=pair_question,
        forecaster=code,
        names=names,
        probability=p,
        estimate=estimate[last],
        outcome=pair_outcome,
        resolved_on=pair_resolved_on,
        brier=brier,
        log_score=scoring.log_scores(p, pair_outcome),
        time_averaged_brier=tab,
        relative=relative,
        shared=shared,
    )


def restrict_board(board: Board, keep: BoolArray) -> Board:
    """The pairs where `keep` holds."""
    if bool(keep.all()):
        return board
    return Board(names=board.names, **{f: getattr(board, f)[keep] for f in _PAIR_FIELDS})


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
        **{field: joined(field) for field in _PAIR_FIELDS[2:]},
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
    *,
    forecaster: str | None,
    tag: str | None,
    resolved_from: date | None,
    resolved_to: date | None,
    has_forecasts: Callable[[str], bool],
) -> Filters:
    """The filters, after refusing a range that ends before it starts (InvalidInput) or a
    forecaster for whom `has_forecasts` finds no forecast at all (NotFound)."""
    if resolved_from is not None and resolved_to is not None and resolved_from > resolved_to:
        raise InvalidInput(
            f"resolved_from {resolved_from} is after resolved_to {resolved_to}",
            field="resolved_from",
        )
    if forecaster is not None and not has_forecasts(forecaster):
        raise NotFound(f"forecaster {forecaster!r} has no forecasts", field="forecaster")
    return Filters(
        forecaster=forecaster, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to
    )


def check_page(limit: int | None, offset: int) -> None:
    """InvalidInput unless limit (None: no limit) and offset are not negative."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidInput("limit and offset cannot be negative")


def _days(day: date) -> int:
    return (day - EPOCH).days


def in_scope(board: Board, filters: Filters, *, tagged: Callable[[str], IntArray]) -> BoolArray:
    """A mask over the board's pairs that the filters keep; `tagged(tag)` gives the ids of
    the questions carrying that tag, and is called only when a tag filter is left to apply."""
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
        keep &= np.isin(board.question_id, tagged(filters.tag))
    return keep


def empty_scores() -> ScoresOut:
    """The figures of no scored pair: n 0, every figure null."""
    return ScoresOut(
        n=0,
        brier=None,
        log_score=None,
        base_rate=None,
        brier_skill_score=None,
        decomposition=DecompositionOut(reliability=None, resolution=None, uncertainty=None),
        calibration=[],
        by_forecaster=[],
        by_estimate=[],
        discrimination=DiscriminationOut(auc=None, right_side=None),
    )


def scores_of(board: Board, keep: BoolArray, *, bins: int) -> ScoresOut:
    """The /api/scores figures of the pairs `keep` selects, by_forecaster sorted by name."""
    if not keep.any():
        return empty_scores()
    p, o = board.probability[keep], board.outcome[keep]
    brier = float(np.mean(board.brier[keep]))
    decomposition = calibration.murphy_decomposition(p, o, bins)
    discriminating = scoring.discrimination(p, o)

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
        ForecasterScoreOut(
            forecaster=board.names[i],
            n=int(count[i]),
            brier=float(sums["brier"][i] / count[i]),
            log_score=float(sums["log_score"][i] / count[i]),
            time_averaged_brier=float(sums["time_averaged_brier"][i] / count[i]),
            relative_brier=float(shared_sum[i] / shared_count[i]) if shared_count[i] else None,
        )
        for i in np.flatnonzero(count)
    ]
    return ScoresOut(
        n=int(p.size),
        brier=brier,
        log_score=float(np.mean(board.log_score[keep])),
        base_rate=scoring.base_rate(o),
        brier_skill_score=scoring.brier_skill_score(brier, decomposition.uncertainty),
        decomposition=DecompositionOut(
            reliability=decomposition.reliability,
            resolution=decomposition.resolution,
            uncertainty=decomposition.uncertainty,
        ),
        calibration=[
            CalibrationBinOut(
                bin_low=b.bin_low,
                bin_high=b.bin_high,
                n=b.n,
                mean_probability=b.mean_probability,
                observed_rate=b.observed_rate,
                ci_low=b.ci_low,
                ci_high=b.ci_high,
            )
            for b in calibration.calibration_bins(p, o, bins)
        ],
        by_forecaster=by_forecaster,
        by_estimate=[
            EstimateScoreOut(
                estimate=g.estimate,
                n=g.n,
                mean_probability=g.mean_probability,
                observed_rate=g.observed_rate,
                brier=g.brier,
            )
            for g in scoring.by_estimate(board.estimate[keep].tolist(), p, o)
        ],
        discrimination=DiscriminationOut(
            auc=discriminating.auc, right_side=discriminating.right_side
        ),
    )


def page_of(
    board: Board, keep: BoolArray, *, limit: int | None, offset: int
) -> tuple[IntArray, int]:
    """The positions on the board of one page of the pairs `keep` selects, newest resolution
    first (then the newest question, then forecasters by name), and how many pairs in all."""
    chosen = np.flatnonzero(keep)
    order = np.lexsort(
        (board.forecaster[chosen], -board.question_id[chosen], -board.resolved_on[chosen])
    )
    stop = None if limit is None else offset + limit
    return chosen[order][offset:stop], int(chosen.size)


def question_score_rows(
    board: Board, page: IntArray, titles: Mapping[int, str]
) -> list[QuestionScoreOut]:
    """The rows of the pairs at `page` (positions on the board), titled from `titles`
    ("" for a question it lacks)."""
    return _QUESTION_ROWS.validate_python(
        [
            {
                "question_id": question_id,
                "title": titles.get(question_id, ""),
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
    )


def stream_question_score_rows(
    board: Board, page: IntArray, titles: Mapping[int, str]
) -> Iterator[QuestionScoreOut]:
    """The rows of `question_score_rows`, in the same order, built a chunk at a time as
    they are read."""
    for start in range(0, int(page.size), _ROW_CHUNK):
        yield from question_score_rows(board, page[start : start + _ROW_CHUNK], titles)
