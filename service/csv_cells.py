"""One rule for every CSV the service writes (API downloads and the CLI's export): a text
cell that a spreadsheet would run as a formula (it begins with =, +, -, @, a tab or a carriage
return) is written with a leading apostrophe, so opening the file cannot execute it."""

from __future__ import annotations

from datetime import date
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Places a number is written to: a probability, a rate or a score means nothing past the
# fourth decimal (the JSON API keeps the exact figures).
FLOAT_PLACES = 4


def csv_cell(value: Any) -> Any:
    """The value as a safe CSV cell: None empty, dates ISO, floats to FLOAT_PLACES places,
    formulas defused."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, FLOAT_PLACES) + 0.0)
    return value
