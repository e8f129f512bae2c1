"""Proper scores of probability forecasts: pure functions on arrays of (p, o).

The definitions are API.md's ("Scores"): p is a probability in [0, 1], o is 1 for "yes" and
0 for "no". Every function validates its input and raises InvalidInput on bad values, so a
caller never gets a NaN back for a number it could not score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from forecasts.errors import InvalidInput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# ln(0) is -inf: the log score clips p to [0.001, 0.999] so one certain miss stays finite.
LOG_CLIP = 0.001


def _vector(values: ArrayLike, name: str, dtype: type[np.generic] = np.float64) -> NDArray[Any]:
    """`values` as a one-dimensional array of `dtype`, or InvalidInput naming `name`."""
    try:
        raw = np.asarray(values)
        array = raw.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be numbers", field=name) from exc
    # Whole-number inputs (pair ids, days) must not be silently truncated from 1.5 to 1.
    if np.issubdtype(dtype, np.integer) and raw.size and not np.array_equal(raw, array):
        raise InvalidInput(f"{name} must be whole numbers", field=name)
    if array.ndim != 1:
        raise InvalidInput(
            f"{name} must be a flat sequence, not {array.ndim}-dimensional", field=name
        )
    return array


def as_pairs(probability: ArrayLike, outcome: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated float64 arrays (p, o): equal length, at least one, p in [0, 1], o in {0, 1}."""
    p = _vector(probability, "probability")
    o = as_outcomes(outcome)
    if p.shape != o.shape:
        raise InvalidInput(f"{p.size} probabilities but {o.size} outcomes", field="outcome")
    # Written so that NaN fails too: every comparison with NaN is false.
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise InvalidInput("every probability must be a number in [0, 1]", field="probability")
    return p, o


def as_outcomes(outcome: ArrayLike) -> FloatArray:
    """Validated float64 array of outcomes, at least one, each 0 (no) or 1 (yes)."""
    o = _vector(outcome, "outcome")
    if o.size == 0:
        raise InvalidInput("there is nothing to score: no (probability, outcome) pairs")
    if not np.all((o == 0.0) | (o == 1.0)):
        raise InvalidInput("every outcome must be 0 (no) or 1 (yes)", field="outcome")
    return o


def squared_errors(probability: ArrayLike, outcome: ArrayLike) -> FloatArray:
    """(p − o)² for each pair."""
    p, o = as_pairs(probability, outcome)
    return np.square(p - o)


def brier_score(probability: ArrayLike, outcome: ArrayLike) -> float:
    """Brier score: mean of (p − o)²; 0 is perfect, 0.25 is always saying 0.5."""
    return float(np.mean(squared_errors(probability, outcome)))


def log_scores(probability: ArrayLike, outcome: ArrayLike) -> FloatArray:
    """ln(p) for yes, ln(1 − p) for no, with p clipped to [0.001, 0.999]; 0 is perfect."""
    p, o = as_pairs(probability, outcome)
    clipped = np.clip(p, LOG_CLIP, 1.0 - LOG_CLIP)
    return np.where(o == 1.0, np.log(clipped), np.log(1.0 - clipped))


def log_score(probability: ArrayLike, outcome: ArrayLike) -> float:
    """Mean log score (negative; higher is better)."""
    return float(np.mean(log_scores(probability, outcome)))


def as_weights(weight: ArrayLike | None, size: int) -> FloatArray:
    """How many pairs each entry stands for, when the entries are totals (one row per
    distinct (p, o) with its count) rather than pairs: whole numbers, not negative. None
    means one pair each."""
    if weight is None:
        return np.ones(size, dtype=np.float64)
    w = _vector(weight, "weight")
    if w.size != size:
        raise InvalidInput(f"{w.size} weights for {size} pairs", field="weight")
    if not np.all(np.isfinite(w) & (w >= 0.0) & (w == np.floor(w))):
        raise InvalidInput("every weight must be a whole number of pairs", field="weight")
    return w


def base_rate(outcome: ArrayLike, weight: ArrayLike | None = None) -> float:
    """Mean of o: how often the scored questions resolved yes (`weight`: see as_weights)."""
    o = as_outcomes(outcome)
    if weight is None:
        return float(np.mean(o))
    w = as_weights(weight, o.size)
    return float(np.sum(w * o) / np.sum(w))


def brier_skill_score(brier: float, uncertainty: float) -> float | None:
    """1 − brier / uncertainty; None when uncertainty is 0 (every outcome the same)."""
    if not (np.isfinite(brier) and np.isfinite(uncertainty)) or brier < 0 or uncertainty < 0:
        raise InvalidInput("brier and uncertainty must be finite and not negative")
    if uncertainty == 0.0:
        return None
    return float(1.0 - brier / uncertainty)


def pair_ends(pair: ArrayLike) -> IntArray:
    """Index of each pair's last row, given rows grouped by a non-decreasing pair id 0..P-1."""
    ids = _vector(pair, "pair", np.int64)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.ones(ids.size, dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    return np.flatnonzero(last).astype(np.int64)


def standing_days(pair: ArrayLike, made_on: ArrayLike, resolved_on: ArrayLike) -> FloatArray:
    """How many days each forecast was its forecaster's standing forecast on the pair.

    Rows are forecasts grouped by pair id (0..P-1, non-decreasing, every pair present) and,
    within a pair, in the order they were made (made_on, then creation); days are integers
    (e.g. days since 1970-01-01); `resolved_on` has one entry per pair. A forecast stands
    from its made_on until the pair's next made_on, or until resolved_on (not included);
    of several made the same day only the last stands. A pair whose first forecast is on
    resolved_on counts that one day, for its latest forecast.
    """
    ids = _vector(pair, "pair", np.int64)
    made = _vector(made_on, "made_on", np.int64)
    resolved = _vector(resolved_on, "resolved_on", np.int64)
    if ids.shape != made.shape:
        raise InvalidInput(f"{ids.size} pair ids but {made.size} made_on days", field="made_on")
    if ids.size == 0:
        if resolved.size:
            raise InvalidInput("every pair needs at least one forecast", field="pair")
        return np.zeros(0, dtype=np.float64)
    steps = np.diff(ids)
    if ids[0] != 0 or np.any((steps != 0) & (steps != 1)) or ids[-1] != resolved.size - 1:
        raise InvalidInput(
            "pair ids must run 0, 1, … P-1 in order, one per resolved_on, each with a forecast",
            field="pair",
        )
    new_pair = np.ones(ids.size, dtype=bool)
    new_pair[1:] = steps != 0
    if np.any(np.diff(made)[~new_pair[1:]] < 0):
        raise InvalidInput("forecasts must be in the order they were made", field="made_on")
    until_resolution = resolved[ids]
    if np.any(made > until_resolution):
        raise InvalidInput("a forecast made after resolved_on is not scored", field="made_on")

    last_in_pair = np.ones(ids.size, dtype=bool)
    last_in_pair[:-1] = new_pair[1:]
    # The last forecast of a day stands; the next row of the same pair then starts a new day,
    # so its made_on is where this one stops.
    stands = last_in_pair.copy()
    stands[:-1] |= made[1:] != made[:-1]
    next_made = np.empty_like(made)
    next_made[:-1] = made[1:]
    next_made[-1] = 0
    until = np.where(last_in_pair, until_resolution, next_made)
    days = np.where(stands, until - made, 0).astype(np.float64)
    totals = np.bincount(ids, weights=days, minlength=resolved.size)
    # Only a pair whose first forecast falls on resolved_on has no day before it.
    ends = np.flatnonzero(last_in_pair)
    days[ends[totals == 0.0]] = 1.0
    return days


def time_averaged_brier(
    pair: ArrayLike,
    made_on: ArrayLike,
    probability: ArrayLike,
    resolved_on: ArrayLike,
    outcome: ArrayLike,
) -> FloatArray:
    """Per pair: mean over the days from its first forecast to resolved_on of (p_d − o)².

    Rows as for `standing_days`; `resolved_on` and `outcome` have one entry per pair. Each
    forecast's squared error is weighted by the days it stood (API.md, time_averaged_brier).
    """
    days = standing_days(pair, made_on, resolved_on)
    ids = _vector(pair, "pair", np.int64)
    p = _vector(probability, "probability")
    if p.shape != ids.shape:
        raise InvalidInput(f"{ids.size} pair ids but {p.size} probabilities", field="probability")
    o_pair = _vector(outcome, "outcome")
    if o_pair.size != np.asarray(resolved_on).size:
        raise InvalidInput("one outcome per pair is needed", field="outcome")
    if ids.size == 0:
        return np.zeros(0, dtype=np.float64)
    errors = squared_errors(p, o_pair[ids])
    weighted = np.bincount(ids, weights=days * errors, minlength=o_pair.size)
    return weighted / np.bincount(ids, weights=days, minlength=o_pair.size)


# Discrimination: does the forecaster give the questions that resolve yes higher
# probabilities than those that resolve no? (API.md, "discrimination")


def _pairs_or_none(probability: ArrayLike, outcome: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated (p, o), which may be empty (every other function here refuses that)."""
    p = _vector(probability, "probability")
    o = _vector(outcome, "outcome")
    if p.size == 0 and o.size == 0:
        return p, o
    return as_pairs(p, o)


def auc(
    probability: ArrayLike, outcome: ArrayLike, weight: ArrayLike | None = None
) -> float | None:
    """The Mann–Whitney AUC: over every (YES pair, NO pair), the share in which the YES pair
    has the higher p, ties counting half; None when either outcome is missing. `weight`:
    see as_weights."""
    p, o = _pairs_or_none(probability, outcome)
    w = as_weights(weight, p.size)
    yes_w = w * o
    no_w = w - yes_w
    yes, no = float(yes_w.sum()), float(no_w.sum())
    if yes == 0.0 or no == 0.0:
        return None
    # Per distinct p: the YES pairs there beat every NO pair below and tie with those at p.
    # Counts and half counts are exact in float64, so U is too (up to 2^53 pairs).
    order = np.argsort(p, kind="mergesort")
    ordered = p[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    yes_at = np.add.reduceat(yes_w[order], starts)
    no_at = np.add.reduceat(no_w[order], starts)
    no_below = np.cumsum(no_at) - no_at
    u = float(np.sum(yes_at * (no_below + no_at / 2.0)))
    return u / (yes * no)


def right_side(
    probability: ArrayLike, outcome: ArrayLike, weight: ArrayLike | None = None
) -> float | None:
    """The share of pairs on the right side of even odds: p > 0.5 and o = 1, or p < 0.5 and
    o = 0; p = 0.5 counts half. None when there are no pairs. `weight`: see as_weights."""
    p, o = _pairs_or_none(probability, outcome)
    w = as_weights(weight, p.size)
    total = float(w.sum())
    if total == 0.0:
        return None
    right = ((p > 0.5) & (o == 1.0)) | ((p < 0.5) & (o == 0.0))
    return float((w[right].sum() + 0.5 * w[p == 0.5].sum()) / total)


@dataclass(frozen=True)
class Discrimination:
    auc: float | None
    right_side: float | None


def discrimination(
    probability: ArrayLike, outcome: ArrayLike, weight: ArrayLike | None = None
) -> Discrimination:
    """Both discrimination figures of API.md's scores for the same pairs."""
    return Discrimination(
        auc(probability, outcome, weight), right_side(probability, outcome, weight)
    )


@dataclass(frozen=True)
class EstimateGroup:
    """The pairs whose p came from one estimate phrase."""

    estimate: str
    n: int
    mean_probability: float
    observed_rate: float
    brier: float


def by_estimate(
    estimate: Sequence[str | None],
    probability: ArrayLike,
    outcome: ArrayLike,
    weight: ArrayLike | None = None,
) -> list[EstimateGroup]:
    """Pairs grouped by the estimate phrase their p came from (None: given as a number, left
    out), sorted by mean_probability descending (then by phrase). `weight`: see as_weights."""
    p, o = _pairs_or_none(probability, outcome)
    phrases = list(estimate)
    if len(phrases) != p.size:
        raise InvalidInput(f"{len(phrases)} estimates but {p.size} pairs", field="estimate")
    if any(phrase is not None and not isinstance(phrase, str) for phrase in phrases):
        raise InvalidInput("every estimate must be a phrase (text) or None", field="estimate")
    w = as_weights(weight, p.size)
    index: dict[str, int] = {}
    code = np.array(
        [-1 if phrase is None else index.setdefault(phrase, len(index)) for phrase in phrases],
        dtype=np.int64,
    )
    given = code >= 0
    if not index:
        return []
    at, gw = code[given], w[given]
    gp, go = p[given], o[given]
    width = len(index)
    n = np.bincount(at, weights=gw, minlength=width)
    sum_p = np.bincount(at, weights=gw * gp, minlength=width)
    sum_o = np.bincount(at, weights=gw * go, minlength=width)
    sum_brier = np.bincount(at, weights=gw * np.square(gp - go), minlength=width)
    groups = [
        EstimateGroup(
            estimate=phrase,
            n=int(n[i]),
            mean_probability=float(sum_p[i] / n[i]),
            observed_rate=float(sum_o[i] / n[i]),
            brier=float(sum_brier[i] / n[i]),
        )
        for phrase, i in index.items()
        if n[i] > 0
    ]
    # Two phrases of one table probability tie, whatever the last bits of their means
    # (sums taken in another order differ there): the phrase decides.
    return sorted(groups, key=lambda g: (-round(g.mean_probability, 12), g.estimate))
