"""Pure scoring and calibration against API.md's definitions, hand-worked and scikit-learn."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from forecasts import calibration, scoring
from forecasts.errors import InvalidInput
from forecasts.scoreboard import relative_brier

rng = np.random.default_rng(7)


def test_brier_log_score_and_base_rate_by_hand() -> None:
    """`brier` = mean of (p − o)²; `log_score` = mean of ln(p) for yes, ln(1 − p) for no;
    `base_rate` = mean of o."""
    p, o = [0.9, 0.2, 0.6], [1, 0, 0]
    # (0.1² + 0.2² + 0.6²) / 3 = (0.01 + 0.04 + 0.36) / 3
    assert scoring.brier_score(p, o) == pytest.approx(0.41 / 3, abs=1e-15)
    expected_log = (math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert scoring.log_score(p, o) == pytest.approx(expected_log, abs=1e-15)
    assert scoring.base_rate(o) == pytest.approx(1 / 3)


def test_log_score_clips_certainty_to_a_thousandth() -> None:
    """Log score "with p clipped to [0.001, 0.999]": a certain miss costs ln(0.001)."""
    assert scoring.log_score([0.0], [1]) == pytest.approx(math.log(0.001))
    assert scoring.log_score([1.0], [0]) == pytest.approx(math.log(0.001))
    assert scoring.log_score([1.0], [1]) == pytest.approx(math.log(0.999))


def test_brier_matches_scikit_learn_on_random_data() -> None:
    p = rng.random(5000)
    o = (rng.random(5000) < p).astype(int)
    assert scoring.brier_score(p, o) == pytest.approx(brier_score_loss(o, p), abs=1e-12)


def test_skill_score_is_null_when_every_outcome_is_the_same() -> None:
    """`brier_skill_score` = 1 − brier / uncertainty, null when uncertainty is 0."""
    assert calibration.uncertainty([1, 1, 1]) == 0.0
    assert scoring.brier_skill_score(0.04, 0.0) is None
    # Base rate 0.5: uncertainty 0.25, so brier 0.1 is 1 − 0.1 / 0.25 = 0.6.
    assert scoring.brier_skill_score(0.1, 0.25) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("probability", "outcome", "words"),
    [
        ([0.5, float("nan")], [1, 0], "[0, 1]"),
        ([1.2], [1], "[0, 1]"),
        ([-0.1], [0], "[0, 1]"),
        ([0.5], [2], "0 (no) or 1 (yes)"),
        ([0.5, 0.4], [1], "2 probabilities but 1 outcomes"),
        ([], [], "nothing to score"),
        ([[0.5]], [[1]], "flat sequence"),
        (["x"], [1], "must be numbers"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    probability: list[object], outcome: list[object], words: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(words)):
        scoring.brier_score(probability, outcome)


def test_bins_follow_the_float64_floor_rule_and_close_the_last_bin() -> None:
    """k = min(floor(p · bins), bins − 1) in float64: 0.3, 0.6 and 0.7 land in bins 3, 6, 7
    (scikit-learn puts them one lower); p = 1 is in the last bin."""
    assert calibration.bin_index([0.0, 0.3, 0.6, 0.7, 0.99, 1.0], 10).tolist() == [
        0,
        3,
        6,
        7,
        9,
        9,
    ]
    assert calibration.bin_index([0.5, 1.0], 1).tolist() == [0, 0]
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InvalidInput, match="bins"):
            calibration.bin_index([0.5], bad)  # type: ignore[arg-type]


def test_calibration_bins_by_hand_leave_empty_bins_out() -> None:
    table = calibration.calibration_bins([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1], 10)
    assert [(b.bin_low, b.bin_high, b.n) for b in table] == [
        (0.0, 0.1, 1),
        (0.1, 0.2, 2),
        (0.9, 1.0, 1),
    ]
    middle = table[1]
    assert middle.mean_probability == pytest.approx(0.135)
    assert middle.observed_rate == 0.5
    assert middle.ci_low < 0.5 < middle.ci_high


def test_calibration_matches_scikit_learn_away_from_bin_edges() -> None:
    p = rng.random(20_000)
    # Keep every p at least 1e-6 from an edge k/10, where the two binning rules differ.
    p = p[np.abs(p * 10 - np.round(p * 10)) > 1e-5]
    o = (rng.random(p.size) < p).astype(int)
    table = calibration.calibration_bins(p, o, 10)
    prob_true, prob_pred = calibration_curve(o, p, n_bins=10, strategy="uniform")
    assert len(table) == prob_true.size == 10
    np.testing.assert_allclose([b.observed_rate for b in table], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose([b.mean_probability for b in table], prob_pred, rtol=0, atol=1e-12)


def test_wilson_interval_against_a_hand_computed_value() -> None:
    """3 of 10, z = 1.959964: centre (0.3 + z²/20) / (1 + z²/10) = 0.355506…, half-width
    z·√(0.021 + z²/400) / (1 + z²/10) = 0.247715…, so [0.107791, 0.603221]."""
    low, high = calibration.wilson_interval([3], [10])
    assert low[0] == pytest.approx(0.107791, abs=1e-6)
    assert high[0] == pytest.approx(0.603221, abs=1e-6)
    # 0 of 5 starts at 0; 5 of 5 ends at 1; both stay inside [0, 1].
    low, high = calibration.wilson_interval([0, 5], [5, 5])
    assert low[0] == 0.0 and high[1] == 1.0
    assert 0.0 < high[0] < 1.0 and 0.0 < low[1] < 1.0
    with pytest.raises(InvalidInput):
        calibration.wilson_interval([1], [0])


def test_murphy_identity_holds_exactly_when_each_bin_holds_one_probability() -> None:
    """reliability = Σ n_k (f̄_k − ō_k)² / N, resolution = Σ n_k (ō_k − ō)² / N,
    uncertainty = ō (1 − ō); brier = reliability − resolution + uncertainty when all
    forecasts within each bin are equal."""
    centres = np.arange(10) / 10 + 0.05
    p = rng.choice(centres, size=3000)
    o = (rng.random(3000) < p).astype(int)
    d = calibration.murphy_decomposition(p, o, 10)
    assert scoring.brier_score(p, o) == pytest.approx(
        d.reliability - d.resolution + d.uncertainty, abs=1e-12
    )


def test_murphy_decomposition_by_hand() -> None:
    # Bin 2 holds p 0.2, 0.2 with outcomes 0, 1; bin 8 holds 0.8, 0.8, 0.8 with 1, 1, 0.
    p, o = [0.2, 0.2, 0.8, 0.8, 0.8], [0, 1, 1, 1, 0]
    d = calibration.murphy_decomposition(p, o, 10)
    base = 3 / 5
    assert d.reliability == pytest.approx((2 * (0.2 - 0.5) ** 2 + 3 * (0.8 - 2 / 3) ** 2) / 5)
    assert d.resolution == pytest.approx((2 * (0.5 - base) ** 2 + 3 * (2 / 3 - base) ** 2) / 5)
    assert d.uncertainty == pytest.approx(base * (1 - base))


def test_time_averaged_brier_weights_each_forecast_by_the_days_it_stood() -> None:
    """For each pair, the mean over the days from the first forecast up to (not including)
    resolved_on of (p_d − o)², p_d the latest forecast made on or before day d."""
    # Pair 0 resolves yes on day 10: 0.2 from day 0, 0.5 then 0.9 both on day 3 (the later
    # one stands), so 3 days of 0.8² and 7 days of 0.1²: (1.92 + 0.07) / 10.
    # Pair 1 resolves no on day 5, its only forecast made that very day: that day alone.
    # Pair 2 resolves no on day 4: 0.4 from day 2, and 0.9 made on day 4 never stands.
    tab = scoring.time_averaged_brier(
        pair=[0, 0, 0, 1, 2, 2],
        made_on=[0, 3, 3, 5, 2, 4],
        probability=[0.2, 0.5, 0.9, 0.3, 0.4, 0.9],
        resolved_on=[10, 5, 4],
        outcome=[1, 0, 0],
    )
    np.testing.assert_allclose(tab, [1.99 / 10, 0.09, 0.16], rtol=1e-12)
    assert scoring.standing_days([0, 0, 0], [0, 3, 3], [10]).tolist() == [3.0, 0.0, 7.0]


def test_time_averaged_brier_refuses_rows_out_of_order() -> None:
    with pytest.raises(InvalidInput, match="order"):
        scoring.standing_days([0, 0], [5, 3], [9])
    with pytest.raises(InvalidInput, match="after resolved_on"):
        scoring.standing_days([0], [12], [9])
    with pytest.raises(InvalidInput, match="pair ids"):
        scoring.standing_days([1, 0], [1, 1], [9, 9])
    with pytest.raises(InvalidInput, match="whole numbers"):
        scoring.standing_days([0], [1.5], [9])


def test_relative_brier_is_the_difference_from_the_median_of_the_others() -> None:
    # Question 1: Briers 0.1, 0.3, 0.5, 0.9; question 2: one forecaster alone.
    question = np.array([1, 1, 1, 1, 2])
    brier = np.array([0.3, 0.1, 0.9, 0.5, 0.2])
    difference, shared = relative_brier(question, brier)
    # Others of 0.3 are 0.1, 0.9, 0.5 (median 0.5); of 0.1: 0.3, 0.9, 0.5 (0.5);
    # of 0.9: 0.3, 0.1, 0.5 (0.3); of 0.5: 0.3, 0.1, 0.9 (0.3).
    np.testing.assert_allclose(difference[:4], [-0.2, -0.4, 0.6, 0.2], atol=1e-12)
    assert shared.tolist() == [True, True, True, True, False]
    # With two others the median is their mean.
    difference, _ = relative_brier(np.array([5, 5, 5]), np.array([0.0, 0.2, 0.6]))
    np.testing.assert_allclose(difference, [-0.4, -0.1, 0.5], atol=1e-12)
