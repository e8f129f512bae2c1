"""Fit the map from a suggestion's raw confidence (resolvers.evidence.combine) to the
probability that it is right, on the resolution benchmark's development part only, and
write it to forecasts/data/confidence_calibration.json (resolvers.calibrate applies it).

    .venv/bin/python scripts/fit_confidence.py

Method: isotonic regression (scikit-learn's IsotonicRegression, increasing, clipped) on the
(raw confidence, right?) pairs of every news suggestion the matcher raises on the dev part,
with its questions' own queries and with queries derived from their titles. Each distinct raw
value gets one pseudo-observation right and one wrong besides (an m-estimate, m = 2, prior
0.5): a few dozen dev questions the rules were tuned on cannot show that a suggestion is
never wrong, and the smoothing keeps thinly observed values from claiming certainty. The
held-out part is never read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

sys.path.insert(0, str(Path(__file__).parent))
from eval_resolution import load_dev, run  # noqa: E402

OUT = Path(__file__).parents[1] / "forecasts" / "data" / "confidence_calibration.json"


def pairs() -> list[tuple[float, bool]]:
    questions = load_dev()
    found: list[tuple[float, bool]] = []
    for mode in ("given", "derived"):
        for row in run(questions, mode):
            for kind in ("news", "contrary"):
                if row[kind] is not None:
                    found.append((float(row[kind]["raw"]), bool(row[kind]["right"])))
    return found


def fit(data: list[tuple[float, bool]]) -> dict[str, object]:
    x = np.array([p for p, _ in data], dtype=np.float64)
    y = np.array([1.0 if r else 0.0 for _, r in data])
    weights = np.ones_like(x)
    # The m-estimate's pseudo-observations: one right, one wrong at each distinct value.
    distinct = np.unique(x)
    x = np.concatenate([x, distinct, distinct, [0.0, 0.0]])
    y = np.concatenate([y, np.ones_like(distinct), np.zeros_like(distinct), [0.0, 1.0]])
    weights = np.concatenate([weights, np.ones(2 * len(distinct) + 2)])
    model = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip")
    model.fit(x, y, sample_weight=weights)
    xs = [round(float(v), 4) for v in model.X_thresholds_]
    ys = [round(float(v), 4) for v in model.y_thresholds_]
    bins = []
    for low, high in ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01)):
        inside = [(p, r) for p, r in data if low <= p < high]
        if inside:
            bins.append(
                {
                    "raw_from": low,
                    "raw_to": min(high, 1.0),
                    "n": len(inside),
                    "right": sum(r for _, r in inside),
                    "calibrated_mean": round(
                        float(np.mean(model.predict([p for p, _ in inside]))), 3
                    ),
                }
            )
    return {
        "method": "isotonic regression, m-estimate smoothing (m = 2, prior 0.5)",
        "fitted_on": "bench/resolution/dev.json (development part only), given and derived "
        "queries; scripts/fit_confidence.py",
        "pairs": len(data),
        "x": xs,
        "y": ys,
        "bins": bins,
    }


def main() -> None:
    data = pairs()
    table = fit(data)
    OUT.write_text(json.dumps(table, indent=1) + "\n", "utf-8")
    print(json.dumps({k: v for k, v in table.items() if k in ("pairs", "bins")}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
