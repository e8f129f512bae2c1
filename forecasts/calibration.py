"""Calibration: equal-width probability bins, Wilson intervals, Murphy's decomposition.

Definitions are API.md's ("Scores"): bin k = [k/bins, (k+1)/bins), the last closed at 1,
computed as k = min(floor(p · bins), bins − 1) in float64; empty bins are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from forecasts.errors import InvalidInput
from forecasts.scoring import FloatArray, IntArray, as_outcomes, as_pairs, as_weights

# The 97.5th percentile of the standard normal, as API.md fixes it for 95 % intervals.
Z95 = 1.959964


@dataclass(frozen=True)
class CalibrationBin:
    """One non-empty bin: its bounds, how many pairs, their mean p and observed yes rate."""

    bin_low: float
    bin_high: float
    n: int
    mean_probability: float
    observed_rate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Decomposition:
    """Murphy: brier = reliability − resolution + uncertainty when each bin's p are equal."""

    reliability: float
    resolution: float
    uncertainty: float


@dataclass(frozen=True)
class BinTotals:
    """Per non-empty bin: index k, count, sum of p and sum of o."""

    index: IntArray
    count: IntArray
    sum_probability: FloatArray
    sum_outcome: FloatArray


def check_bins(bins: int) -> int:
    """`bins` if it is a whole number of at least 1, else InvalidInput."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise InvalidInput(f"bins must be a whole number of at least 1, not {bins!r}", field="bins")
    return int(bins)


def bin_index(probability: ArrayLike, bins: int) -> IntArray:
    """k = min(floor(p · bins), bins − 1) for each p, in float64."""
    bins = check_bins(bins)
    p = np.asarray(probability, dtype=np.float64)
    return np.minimum(np.floor(p * bins).astype(np.int64), bins - 1)


def bin_totals(
    probability: ArrayLike, outcome: ArrayLike, bins: int, weight: ArrayLike | None = None
) -> BinTotals:
    """Count, Σp and Σo for each non-empty bin, in bin order. `weight`: how many pairs each
    (p, o) stands for (forecasts.scoring.as_weights)."""
    p, o = as_pairs(probability, outcome)
    bins = check_bins(bins)
    k = bin_index(p, bins)
    if weight is None:
        count = np.bincount(k, minlength=bins)
        sum_p = np.bincount(k, weights=p, minlength=bins)
        sum_o = np.bincount(k, weights=o, minlength=bins)
    else:
        w = as_weights(weight, p.size)
        count = np.rint(np.bincount(k, weights=w, minlength=bins)).astype(np.int64)
        sum_p = np.bincount(k, weights=w * p, minlength=bins)
        sum_o = np.bincount(k, weights=w * o, minlength=bins)
    used = np.flatnonzero(count)
    return BinTotals(
        index=used.astype(np.int64),
        count=count[used].astype(np.int64),
        sum_probability=sum_p[used].astype(np.float64),
        sum_outcome=sum_o[used].astype(np.float64),
    )


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, z: float = Z95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of successes / n (each n ≥ 1), clipped to [0, 1].

    centre = (p̂ + z²/2n) / (1 + z²/n), half-width = z·√(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n).
    """
    s = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if np.any(~np.isfinite(total)) or np.any(total < 1):
        raise InvalidInput("a Wilson interval needs n of at least 1", field="n")
    if np.any(~np.isfinite(s)) or np.any((s < 0) | (s > total)):
        raise InvalidInput("successes must be between 0 and n", field="successes")
    if not (np.isfinite(z) and z > 0):
        raise InvalidInput("z must be a positive number", field="z")
    rate = s / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (rate + z2 / (2.0 * total)) / denominator
    half = z * np.sqrt(rate * (1.0 - rate) / total + z2 / (4.0 * total * total)) / denominator
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def calibration_bins(
    probability: ArrayLike, outcome: ArrayLike, bins: int, weight: ArrayLike | None = None
) -> list[CalibrationBin]:
    """The non-empty bins with mean p, observed yes rate and its 95 % Wilson interval."""
    totals = bin_totals(probability, outcome, bins, weight)
    bins = check_bins(bins)
    mean_p = totals.sum_probability / totals.count
    rate = totals.sum_outcome / totals.count
    low, high = wilson_interval(totals.sum_outcome, totals.count)
    return [
        CalibrationBin(
            bin_low=float(k / bins),
            bin_high=float((k + 1) / bins),
            n=int(count),
            mean_probability=float(mp),
            observed_rate=float(r),
            ci_low=float(lo),
            ci_high=float(hi),
        )
        for k, count, mp, r, lo, hi in zip(
            totals.index, totals.count, mean_p, rate, low, high, strict=True
        )
    ]


def uncertainty(outcome: ArrayLike) -> float:
    """ō (1 − ō): the Brier score of always forecasting the base rate."""
    base = float(np.mean(as_outcomes(outcome)))
    return base * (1.0 - base)


def murphy_decomposition(
    probability: ArrayLike, outcome: ArrayLike, bins: int, weight: ArrayLike | None = None
) -> Decomposition:
    """Reliability Σ n_k (f̄_k − ō_k)² / N, resolution Σ n_k (ō_k − ō)² / N, uncertainty ō(1−ō)."""
    totals = bin_totals(probability, outcome, bins, weight)
    n_total = float(totals.count.sum())
    base = float(totals.sum_outcome.sum()) / n_total
    mean_p = totals.sum_probability / totals.count
    rate = totals.sum_outcome / totals.count
    return Decomposition(
        reliability=float(np.sum(totals.count * np.square(mean_p - rate)) / n_total),
        resolution=float(np.sum(totals.count * np.square(rate - base)) / n_total),
        uncertainty=base * (1.0 - base),
    )


def resolver_reliability(
    reviewed: Iterable[tuple[float, bool]], bins: int = 10
) -> list[CalibrationBin]:
    """A resolver's track record: reliability bins of its reviewed suggestions, from
    (confidence, accepted?) pairs; a bin's observed_rate is the share accepted, with its
    95 % Wilson interval. No pairs: no bins. (A suggestion at 0.8 should be accepted about
    80 % of the time: this is how anyone can check.)"""
    pairs = [(float(c), 1.0 if accepted else 0.0) for c, accepted in reviewed]
    if not pairs:
        return []
    confidence, accepted = zip(*pairs, strict=True)
    return calibration_bins(list(confidence), list(accepted), bins)
