"""The scoreboard's arithmetic (pure): the scored pairs of resolved questions, and the
figures of GET /api/scores and GET /api/scores/questions computed from them (API.md, "Scores").

A scored pair is a question resolved yes or no and a forecaster (an identity: see
forecasts.identity) with at least one forecast made on or before its resolved_on; p is the
latest such forecast (ties on made_on: created last). A resolved question takes no forecast,
so a pair is fixed once its question resolves: forecasts.score_totals computes it then, with
`pairs_from_forecasts`, and keeps running totals of them. Every figure follows exactly from
two small sets of totals, which is what `scores_from_totals` reads:

- per distinct (p, o, estimate phrase), how many pairs (`ValueTotals`): n, Brier, log score,
  base rate, calibration at any number of bins, the Murphy decomposition, AUC (ties half),
  right side and by_estimate;
- per forecaster, how many pairs and the sums of their Brier, log score, time-averaged Brier
  and relative Brier (`ForecasterTotals`).

Everything here is pure: arrays in, arrays or result models out; the SQL lives with
forecasts.score_totals (writing) and service/scoreboard_store.py (reading).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import TypeAdapter

from forecasts import calibration, scoring
from forecasts.errors import InvalidInput, NotFound
from forecasts.identity import forecaster_key
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
# Days in the arrays here are whole days since this one.
EPOCH = date(1970, 1, 1)

ObjectArray = NDArray[np.object_]

# Rows are validated a chunk at a time: one call per chunk costs about half as much as
# building them one by one, and a listing of every pair (a CSV download) can stream through
# without holding them all (hundreds of thousands of live models set off long collections).
_QUESTION_ROWS = TypeAdapter(list[QuestionScoreOut])
_ROW_CHUNK = 1000


@dataclass(frozen=True)
class Pairs:
    """Scored pairs, ordered by question id then forecaster key."""

    question_id: IntArray
    forecaster_key: ObjectArray  # the identity (forecasts.identity.forecaster_key)
    forecaster: ObjectArray  # the name as spelled on the forecast p came from
    probability: FloatArray  # p: the latest forecast made on or before resolved_on
    estimate: ObjectArray  # the phrase p came from (table phrase), or None
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


def empty_pairs() -> Pairs:
    """No pair at all."""
    ints, floats, objects = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, dtype=object)
    return Pairs(
        ints, objects, objects, floats, objects, floats, ints, floats, floats, floats, floats,
        np.zeros(0, dtype=bool),
    )  # fmt: skip


def pairs_from_forecasts(
    question_id: IntArray,
    forecaster_key: ObjectArray,
    forecaster: ObjectArray,
    probability: FloatArray,
    made_on: IntArray,
    estimate: ObjectArray,
    *,
    resolved_ids: IntArray,
    resolved_on: IntArray,
    outcome: FloatArray,
) -> Pairs:
    """The pairs of these forecasts on these resolved questions.

    The first six arrays are forecasts made on or before their question's resolved_on, one
    entry per forecast, in (question, forecaster key, made_on, creation) order; made_on in
    days since EPOCH. The last three are the resolved questions in id order: id, resolved_on
    in days since EPOCH, and o. A forecast whose question is not among them is left out.
    """
    if question_id.size == 0 or resolved_ids.size == 0:
        return empty_pairs()
    # A question changed between two reads drops out rather than crashing.
    found = np.isin(question_id, resolved_ids)
    if not found.all():
        question_id, forecaster_key, forecaster = (
            question_id[found],
            forecaster_key[found],
            forecaster[found],
        )
        probability, made_on, estimate = probability[found], made_on[found], estimate[found]
        if question_id.size == 0:
            return empty_pairs()

    starts = np.ones(question_id.size, dtype=bool)
    starts[1:] = (question_id[1:] != question_id[:-1]) | (forecaster_key[1:] != forecaster_key[:-1])
    pair = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = scoring.pair_ends(pair)
    pair_question = question_id[first]
    where = np.searchsorted(resolved_ids, pair_question)
    pair_resolved_on, pair_outcome = resolved_on[where], outcome[where]
    tab = scoring.time_averaged_brier(pair, made_on, probability, pair_resolved_on, pair_outcome)
    # + 0.0 turns a -0.0 into 0.0, so the two never stand as distinct values in the totals.
    p = probability[last] + 0.0
    brier = scoring.squared_errors(p, pair_outcome)
    relative, shared = relative_brier(pair_question, brier)
    return Pairs(
        question_id=pair_question,
        forecaster_key=forecaster_key[first],
        forecaster=forecaster[last],
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


def _codes(values: Iterable[Any]) -> tuple[IntArray, list[Any]]:
    """Each value's index among the distinct values, in order of first appearance (a dict
    in C: far cheaper than sorting strings)."""
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64)
    return codes, list(index)


def _objects(values: Sequence[Any]) -> ObjectArray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass(frozen=True)
class ValueTotals:
    """How many pairs hold each distinct (p, o, estimate phrase); `count` may be negative in
    a change being folded in (pairs taken away)."""

    probability: FloatArray
    outcome: FloatArray
    estimate: ObjectArray  # phrase, or None for a p given as a number
    count: IntArray

    def negated(self) -> ValueTotals:
        return ValueTotals(self.probability, self.outcome, self.estimate, -self.count)


@dataclass(frozen=True)
class ForecasterTotals:
    """Per forecaster (identity): how many pairs, and the sums of their per-pair figures."""

    forecaster_key: ObjectArray
    forecaster: ObjectArray  # the name shown
    count: IntArray
    sum_brier: FloatArray
    sum_log_score: FloatArray
    sum_time_averaged_brier: FloatArray
    shared_count: IntArray  # pairs on a question someone else forecast too
    sum_relative: FloatArray  # over those pairs

    def negated(self) -> ForecasterTotals:
        return ForecasterTotals(
            self.forecaster_key,
            self.forecaster,
            -self.count,
            -self.sum_brier,
            -self.sum_log_score,
            -self.sum_time_averaged_brier,
            -self.shared_count,
            -self.sum_relative,
        )


def _group_values(
    probability: FloatArray, outcome: FloatArray, estimate: ObjectArray, count: IntArray
) -> ValueTotals:
    """Counts summed per distinct (p, o, phrase), in (p, o, phrase) order."""
    if probability.size == 0:
        empty = np.zeros(0)
        return ValueTotals(empty, empty, _objects([]), np.zeros(0, np.int64))
    phrase_code, phrases = _codes(estimate.tolist())
    order = np.lexsort((phrase_code, outcome, probability))
    sp, so, sc = probability[order], outcome[order], phrase_code[order]
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = (sp[1:] != sp[:-1]) | (so[1:] != so[:-1]) | (sc[1:] != sc[:-1])
    first = np.flatnonzero(starts)
    return ValueTotals(
        probability=sp[first],
        outcome=so[first],
        estimate=_objects(phrases)[sc[first]],
        count=np.add.reduceat(count[order], first).astype(np.int64),
    )


def value_totals(pairs: Pairs) -> ValueTotals:
    """The pairs counted by distinct (p, o, phrase)."""
    ones = np.ones(pairs.size, dtype=np.int64)
    return _group_values(pairs.probability, pairs.outcome, pairs.estimate, ones)


def merge_value_totals(parts: Sequence[ValueTotals]) -> ValueTotals:
    """One set of totals holding the counts of all `parts` added up."""
    return _group_values(
        np.concatenate([t.probability for t in parts]),
        np.concatenate([t.outcome for t in parts]),
        _objects([phrase for t in parts for phrase in t.estimate.tolist()]),
        np.concatenate([t.count for t in parts]),
    )


def _group_forecasters(
    forecaster_key: ObjectArray,
    forecaster: ObjectArray,
    count: IntArray,
    sums: tuple[FloatArray, FloatArray, FloatArray],
    shared_count: IntArray,
    sum_relative: FloatArray,
) -> ForecasterTotals:
    """Everything summed per forecaster key, shown under the first spelling among them."""
    code, keys = _codes(forecaster_key.tolist())
    width = len(keys)
    _, first = np.unique(code, return_index=True)

    def total(values: NDArray[Any]) -> FloatArray:
        return np.bincount(code, weights=values, minlength=width).astype(np.float64)

    return ForecasterTotals(
        forecaster_key=_objects(keys),
        forecaster=forecaster[first] if width else _objects([]),
        count=np.rint(total(count)).astype(np.int64),
        sum_brier=total(sums[0]),
        sum_log_score=total(sums[1]),
        sum_time_averaged_brier=total(sums[2]),
        shared_count=np.rint(total(shared_count)).astype(np.int64),
        sum_relative=total(sum_relative),
    )


def forecaster_totals(pairs: Pairs) -> ForecasterTotals:
    """The pairs summed by forecaster key."""
    shared = pairs.shared
    return _group_forecasters(
        pairs.forecaster_key,
        pairs.forecaster,
        np.ones(pairs.size, dtype=np.int64),
        (pairs.brier, pairs.log_score, pairs.time_averaged_brier),
        shared.astype(np.int64),
        np.where(shared, pairs.relative, 0.0),
    )


def merge_forecaster_totals(parts: Sequence[ForecasterTotals]) -> ForecasterTotals:
    """One set of totals holding the sums of all `parts` added up."""

    def joined(name: str) -> NDArray[Any]:
        return np.concatenate([getattr(t, name) for t in parts])

    return _group_forecasters(
        _objects([key for t in parts for key in t.forecaster_key.tolist()]),
        _objects([name for t in parts for name in t.forecaster.tolist()]),
        joined("count"),
        (joined("sum_brier"), joined("sum_log_score"), joined("sum_time_averaged_brier")),
        joined("shared_count"),
        joined("sum_relative"),
    )


@dataclass(frozen=True)
class Filters:
    """Which pairs are in scope; None means no restriction. `forecaster` is an identity
    key (forecasts.identity.forecaster_key)."""

    forecaster: str | None = None
    tag: str | None = None
    resolved_from: date | None = None
    resolved_to: date | None = None

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.forecaster, self.tag, self.resolved_from, self.resolved_to)
        )


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
    forecaster whose identity key `has_forecasts` finds no forecast under (NotFound)."""
    if resolved_from is not None and resolved_to is not None and resolved_from > resolved_to:
        raise InvalidInput(
            f"resolved_from {resolved_from} is after resolved_to {resolved_to}",
            field="resolved_from",
        )
    key = None if forecaster is None else forecaster_key(forecaster)
    if forecaster is not None and (not key or not has_forecasts(key)):
        raise NotFound(f"forecaster {forecaster!r} has no forecasts", field="forecaster")
    return Filters(forecaster=key, tag=tag, resolved_from=resolved_from, resolved_to=resolved_to)


def check_page(limit: int | None, offset: int) -> None:
    """InvalidInput unless limit (None: no limit) and offset are not negative."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidInput("limit and offset cannot be negative")


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


def _forecaster_rows(totals: ForecasterTotals) -> list[ForecasterScoreOut]:
    rows = [
        ForecasterScoreOut(
            forecaster=str(totals.forecaster[i]),
            n=int(n),
            brier=float(totals.sum_brier[i] / n),
            log_score=float(totals.sum_log_score[i] / n),
            time_averaged_brier=float(totals.sum_time_averaged_brier[i] / n),
            relative_brier=(
                float(totals.sum_relative[i] / totals.shared_count[i])
                if totals.shared_count[i] > 0
                else None
            ),
        )
        for i, n in enumerate(totals.count.tolist())
        if n > 0
    ]
    # By name in code point order (Python's str order).
    return sorted(rows, key=lambda row: row.forecaster)


def scores_from_totals(
    values: ValueTotals, forecasters: ForecasterTotals, *, bins: int
) -> ScoresOut:
    """The /api/scores figures of the pairs these totals count, by_forecaster sorted by name."""
    keep = values.count > 0
    if not keep.any():
        return empty_scores()
    p, o = values.probability[keep], values.outcome[keep]
    weight = values.count[keep].astype(np.float64)
    n = float(weight.sum())
    brier = float(np.sum(weight * scoring.squared_errors(p, o)) / n)
    decomposition = calibration.murphy_decomposition(p, o, bins, weight)
    discriminating = scoring.discrimination(p, o, weight)
    return ScoresOut(
        n=int(n),
        brier=brier,
        log_score=float(np.sum(weight * scoring.log_scores(p, o)) / n),
        base_rate=scoring.base_rate(o, weight),
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
            for b in calibration.calibration_bins(p, o, bins, weight)
        ],
        by_forecaster=_forecaster_rows(forecasters),
        by_estimate=[
            EstimateScoreOut(
                estimate=g.estimate,
                n=g.n,
                mean_probability=g.mean_probability,
                observed_rate=g.observed_rate,
                brier=g.brier,
            )
            for g in scoring.by_estimate(values.estimate[keep].tolist(), p, o, weight)
        ],
        discrimination=DiscriminationOut(
            auc=discriminating.auc, right_side=discriminating.right_side
        ),
    )


def question_score_rows(rows: Iterable[Mapping[str, Any]]) -> list[QuestionScoreOut]:
    """Per-pair rows (question_id, title, resolved_on, outcome "yes"/"no", forecaster,
    probability, brier, log_score) as result models."""
    return _QUESTION_ROWS.validate_python(list(rows))


def stream_question_score_rows(rows: Sequence[Mapping[str, Any]]) -> Iterator[QuestionScoreOut]:
    """The rows of `question_score_rows`, in the same order, built a chunk at a time as
    they are read."""
    for start in range(0, len(rows), _ROW_CHUNK):
        yield from question_score_rows(rows[start : start + _ROW_CHUNK])
