"""From a suggestion's raw confidence (resolvers.evidence.combine) to a probability: the
isotonic map fitted offline on the development part of the resolution benchmark by
scripts/fit_confidence.py, shipped as forecasts/data/confidence_calibration.json and applied
here with NumPy alone. Without the table the raw confidence is used as it is.

So that a suggestion at 0.8 is right about 80 % of the time: that is what lets a reviewer
decide how closely to read its evidence (RESOLVING.md, "How sure").
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

TABLE = "confidence_calibration.json"
# Calibrated values stay inside (FLOOR, CEILING): the fit saw a few hundred suggestions, not
# enough to promise certainty either way.
FLOOR, CEILING = 0.02, 0.97


@cache
def calibration_table() -> dict[str, Any] | None:
    """The shipped table ({"x": [...], "y": [...], ...}), or None if there is none."""
    path = resources.files("forecasts").joinpath("data", TABLE)
    if not path.is_file():
        return None
    table: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return table


def calibrated(raw: float) -> float:
    """The probability that a suggestion of raw confidence `raw` is right."""
    table = calibration_table()
    if table is None:
        return round(raw, 3)
    value = float(np.interp(raw, table["x"], table["y"]))
    return round(min(CEILING, max(FLOOR, value)), 3)
