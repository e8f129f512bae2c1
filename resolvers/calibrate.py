"""From a suggestion's raw confidence (resolvers.evidence.combine) to a probability: the
isotonic map fitted offline on the development part of the resolution benchmark by
scripts/fit_confidence.py, shipped as forecasts/data/confidence_calibration.json and applied
here with NumPy alone. Without the table the raw confidence is used as it is.

So that a suggestion at 0.8 is right about 80 % of the time: that is what lets a reviewer
decide how closely to read its evidence (RESOLVING.md, "How sure").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from resolvers.evidence import combine, independent_sources

TABLE = "confidence_calibration.json"
# Calibrated values stay inside (FLOOR, CEILING): the fit saw a hundred suggestions, not
# enough to promise certainty either way.
FLOOR, CEILING = 0.02, 0.97
# However many items one source sends, alone it does not reach the top: that takes news
# from more than one independent source.
SINGLE_SOURCE_CEILING = 0.9


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


def suggestion_confidence(evidence: Sequence[dict[str, Any]]) -> float:
    """A news suggestion's confidence: its evidence combined (resolvers.evidence.combine),
    calibrated, and held below SINGLE_SOURCE_CEILING while it all comes from one source."""
    value = calibrated(combine(evidence))
    if independent_sources(evidence) < 2:
        value = min(value, SINGLE_SOURCE_CEILING)
    return value
