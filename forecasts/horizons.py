"""The day by which a claim should have come true: from the sentence's own time expression
("by 2018", "next year", "within two years", "in the long run"), counted from the source's
date, else a stated default horizon. Pure."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

# A claim that names no time is given this long from the source's date; the proposed
# criteria say so, and whoever accepts the claim can change it.
DEFAULT_HORIZON_YEARS = 2

# Vague spans, in months, for expressions that name no number ("in the coming months").
VAGUE_MONTHS = {"days": 1, "weeks": 3, "months": 6, "years": 36, "decades": 120}
# Phrases of the analyst's trade, in months from the source's date.
TERMS_MONTHS = {
    "short run": 12,
    "short term": 12,
    "near term": 12,
    "medium term": 60,
    "long run": 120,
    "long term": 120,
    "longer term": 120,
    "longer run": 120,
}

_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "eighteen": 18, "twenty": 20, "a couple of": 2, "a few": 3, "several": 3,
}  # fmt: skip
_NUMBER = r"(?P<n>\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + ")"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_BY = r"(?:by|in|until|till|through|throughout|during|within|no later than|at)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        ("before_month", rf"\bbefore\s+(?:the\s+(?:start|beginning)\s+of\s+)?{_MONTH}\s+{_YEAR}"),
        ("month", rf"\b{_BY}\s+(?:the\s+end\s+of\s+)?(?:\d{{1,2}}\s+)?{_MONTH}\s+{_YEAR}"),
        ("before_year", rf"\bbefore\s+(?:the\s+(?:start|beginning)\s+of\s+)?{_YEAR}\b"),
        # "before the 2016 election": the event of that year, so its year's end.
        ("year", rf"\b(?:{_BY}|before)\s+the\s+{_YEAR}\s+[a-z]+\b"),
        ("year", rf"\b(?:{_BY}|before)\s+(?:the\s+end\s+of\s+)?{_YEAR}\b"),
        ("before_next_year", r"\bbefore\s+next\s+year\b"),
        ("next_year", r"\b(?:by\s+the\s+end\s+of\s+|before\s+the\s+end\s+of\s+)?next\s+year\b"),
        (
            "this_year",
            r"\b(?:this\s+year|later\s+this\s+year|(?:by|before)\s+the\s+end\s+of\s+"
            r"(?:the|this)\s+year|before\s+the\s+year\s+is\s+out)\b",
        ),
        ("next_month", r"\bnext\s+month\b"),
        (
            "span",
            rf"\b(?:within|in|over|during|for)\s+(?:the\s+)?(?:next\s+|coming\s+|following\s+)?"
            rf"(?:{_NUMBER}\s+)?(?P<unit>days?|weeks?|months?|years?|decades?)\b",
        ),
        ("term", r"\bin\s+the\s+(?P<term>" + "|".join(TERMS_MONTHS) + r")\b"),
        ("bare_year", rf"\b{_YEAR}\b"),
    )
)


@dataclass(frozen=True)
class Horizon:
    resolve_by: date
    expression: str | None  # the words it came from; None for the default horizon
    start: int = -1  # where they are in the sentence
    end: int = -1


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _last_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _resolve(kind: str, match: re.Match[str], published_on: date) -> date | None:
    groups = match.groupdict()
    year = int(groups["year"]) if groups.get("year") else published_on.year
    if kind == "before_month":
        return date(year, _MONTHS[groups["month"].lower()], 1) - timedelta(days=1)
    if kind == "month":
        return _last_of_month(year, _MONTHS[groups["month"].lower()])
    if kind == "before_year":
        return date(year - 1, 12, 31)
    if kind in ("year", "bare_year"):
        return date(year, 12, 31)
    if kind in ("before_next_year", "this_year"):
        return date(published_on.year, 12, 31)
    if kind == "next_year":
        return date(published_on.year + 1, 12, 31)
    if kind == "next_month":
        following = add_months(published_on.replace(day=1), 1)
        return _last_of_month(following.year, following.month)
    if kind == "term":
        return add_months(published_on, TERMS_MONTHS[groups["term"].lower()])
    unit = groups["unit"].lower().rstrip("s") + "s"
    raw = (groups.get("n") or "").lower()
    if not raw and groups["unit"].lower().endswith("s"):
        return add_months(published_on, VAGUE_MONTHS[unit])
    if not raw:
        # "over the coming decade" is one; "in the year" names no span.
        if not re.search(r"\b(?:next|coming|following)\b", match[0], re.I):
            return None
        raw = "1"
    n = int(raw) if raw.isdigit() else _NUMBERS[raw]
    if unit == "days":
        return published_on + timedelta(days=n)
    if unit == "weeks":
        return published_on + timedelta(weeks=n)
    per = {"months": 1, "years": 12, "decades": 120}[unit]
    return add_months(published_on, n * per)


def default_horizon(published_on: date) -> date:
    return add_months(published_on, 12 * DEFAULT_HORIZON_YEARS)


def horizon(sentence: str, published_on: date, *, after: int = 0) -> Horizon:
    """The resolve_by a sentence implies: its first time expression from `after` on (the
    marker's position) that lands on or after `published_on`, else the first one before,
    else the default horizon."""
    found: list[Horizon] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(sentence):
            if any(s <= match.start() < e or s < match.end() <= e for s, e in taken):
                continue
            day = _resolve(kind, match, published_on)
            taken.append((match.start(), match.end()))
            if day is None or day < published_on:
                continue
            found.append(Horizon(day, match[0], match.start(), match.end()))
    if not found:
        return Horizon(default_horizon(published_on), None)
    later = sorted((h for h in found if h.start >= after), key=lambda h: h.start)
    return later[0] if later else sorted(found, key=lambda h: h.start)[0]
