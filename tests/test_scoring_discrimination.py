"""Discrimination (Mann–Whitney AUC, right side of even odds) and the by-estimate grouping,
as API.md's Scores section defines them:

- auc: over the pairs, the probability that a YES pair has a higher p than a NO pair, ties
  counting half; null when either outcome is missing;
- right_side: the share of pairs with p > 0.5 and o = 1 or p < 0.5 and o = 0, p = 0.5
  counting half; null when n = 0;
- by_estimate: pairs whose p came from an estimate phrase, grouped by that phrase, sorted by
  mean_probability descending.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from forecasts.errors import InvalidInput
from forecasts.scoring import EstimateGroup, auc, by_estimate, discrimination, right_side


def test_auc_by_hand() -> None:
    # YES pairs p = 0.9, 0.6; NO pairs p = 0.6, 0.2. Of the four (yes, no) couples:
    # 0.9 > 0.6, 0.9 > 0.2, 0.6 = 0.6 (half), 0.6 > 0.2: (1 + 1 + 0.5 + 1) / 4 = 0.875.
    assert auc([0.9, 0.6, 0.6, 0.2], [1, 1, 0, 0]) == pytest.approx(0.875)
    # Perfectly ordered, reversed, all tied.
    assert auc([0.8, 0.7, 0.3], [1, 1, 0]) == 1.0
    assert auc([0.1, 0.2, 0.9], [1, 1, 0]) == 0.0
    assert auc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]) == 0.5


def test_auc_needs_both_outcomes() -> None:
    assert auc([0.9, 0.4], [1, 1]) is None
    assert auc([0.9, 0.4], [0, 0]) is None
    assert auc([], []) is None


@pytest.mark.parametrize("seed", range(8))
def test_auc_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    # Rounded to two decimals so that ties are common, as with verbal estimates.
    p = np.round(rng.random(n), 2)
    o = (rng.random(n) < p).astype(int)
    o[0], o[1] = 1, 0  # both outcomes present
    assert auc(p, o) == pytest.approx(roc_auc_score(o, p), abs=1e-12)


def test_right_side_by_hand() -> None:
    # 0.8/yes right, 0.3/no right, 0.7/no wrong, 0.5/yes half: (1 + 1 + 0 + 0.5) / 4.
    assert right_side([0.8, 0.3, 0.7, 0.5], [1, 0, 0, 1]) == pytest.approx(0.625)
    assert right_side([0.5], [0]) == 0.5
    assert right_side([0.2, 0.9], [1, 0]) == 0.0
    assert right_side([], []) is None


def test_discrimination_holds_both() -> None:
    figures = discrimination([0.9, 0.6, 0.6, 0.2], [1, 1, 0, 0])
    assert figures.auc == pytest.approx(0.875)
    assert figures.right_side == pytest.approx(0.75)  # 0.9 y, 0.6 y, 0.2 n right; 0.6 n wrong
    empty = discrimination([], [])
    assert (empty.auc, empty.right_side) == (None, None)


@pytest.mark.parametrize(
    ("probability", "outcome"),
    [
        ([0.5, 1.2], [1, 0]),
        ([float("nan")], [1]),
        ([0.5], [2]),
        ([0.5, 0.6], [1]),
        ([[0.5]], [[1]]),
        (["x"], [1]),
    ],
)
def test_bad_pairs_are_refused(probability: object, outcome: object) -> None:
    for function in (auc, right_side):
        with pytest.raises(InvalidInput):
            function(probability, outcome)  # type: ignore[arg-type]


def test_by_estimate_by_hand() -> None:
    estimates = ["bound to", "likely", None, "likely", "bound to", "unlikely"]
    p = [0.95, 0.7, 0.4, 0.7, 0.95, 0.2]
    o = [1, 0, 1, 1, 1, 0]
    groups = by_estimate(estimates, p, o)
    assert groups == [
        EstimateGroup("bound to", 2, pytest.approx(0.95), 1.0, pytest.approx(0.0025)),  # type: ignore[arg-type]
        # likely: (0.7 - 0)^2 = 0.49 and (0.7 - 1)^2 = 0.09 -> 0.29.
        EstimateGroup("likely", 2, pytest.approx(0.7), 0.5, pytest.approx(0.29)),  # type: ignore[arg-type]
        EstimateGroup("unlikely", 1, pytest.approx(0.2), 0.0, pytest.approx(0.04)),  # type: ignore[arg-type]
    ]
    # The pair given as a number (None) is in no group.
    assert sum(g.n for g in groups) == 5


def test_by_estimate_sorts_by_mean_probability_then_phrase() -> None:
    groups = by_estimate(["b", "a", "c"], [0.5, 0.5, 0.9], [1, 0, 1])
    assert [g.estimate for g in groups] == ["c", "a", "b"]
    assert by_estimate([], [], []) == []
    assert by_estimate([None, None], [0.3, 0.6], [0, 1]) == []


def test_by_estimate_is_validated() -> None:
    with pytest.raises(InvalidInput):
        by_estimate(["likely"], [0.7, 0.2], [1, 0])
    with pytest.raises(InvalidInput):
        by_estimate(["likely", 3], [0.7, 0.2], [1, 0])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        by_estimate(["likely"], [1.7], [1])
