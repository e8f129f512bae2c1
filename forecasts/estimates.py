"""Verbal estimates ("will probably", "bound to") turned into probabilities.

The table is the median answer per phrase of a published survey modelled on Sherman Kent's
"Words of Estimative Probability": zonination/perceptions (Reddit r/samplesize, 2015, 46
respondents, MIT). Phrases that survey did not ask about are mapped explicitly to the
nearest surveyed phrase; `ALIASES` documents each choice.
"""

from __future__ import annotations

import csv
import re
import statistics
from dataclasses import dataclass
from functools import cache
from importlib import resources

from forecasts.errors import UnknownEstimate

SURVEY_SOURCE = (
    "Median of the 2015 'perceptions of probability' survey (zonination/perceptions, "
    "probly.csv, 46 respondents, after Sherman Kent's Words of Estimative Probability)"
)

# Phrase -> the surveyed phrase whose median it takes, and why.
ALIASES: dict[str, tuple[str, str]] = {
    "bound to": ("almost certainly", "asserts inevitability, like 'almost certainly'"),
    "will inevitably": ("almost certainly", "asserts inevitability"),
    "certainly": ("almost certainly", "nearest surveyed certainty phrase"),
    "will probably": ("probably", "same word"),
    "may very well": ("likely", "a strong possibility, weaker than 'highly likely'"),
    "not far-fetched": ("about even", "claims plausibility, not likelihood"),
    "will attempt to": ("likely", "states an intent the article expects to be pursued"),
    "is pursuing": ("highly likely", "describes a course already under way"),
    "has pledged to": ("likely", "a public commitment, which may not be kept"),
    "inducing consideration of": (
        "we doubt",
        "an option being considered, not a predicted outcome",
    ),
    "unlikely": ("unlikely", "same phrase"),
}


@dataclass(frozen=True)
class Estimate:
    phrase: str
    probability: float
    source: str


def normalise_phrase(phrase: str) -> str:
    """Lower-case, straighten quotes and fold white space, so 'Bound  To' finds 'bound to'."""
    folded = phrase.replace("\u2019", "'").replace("\u2010", "-").replace("\u2011", "-")
    return re.sub(r"\s+", " ", folded).strip().lower()


@cache
def _survey_medians() -> dict[str, float]:
    text = resources.files("forecasts").joinpath("data/perceptions_probly.csv").read_text("utf-8")
    rows = list(csv.reader(text.splitlines()))
    header, answers = rows[0], rows[1:]
    medians: dict[str, float] = {}
    for column, phrase in enumerate(header):
        values = [float(row[column]) for row in answers if column < len(row) and row[column]]
        medians[normalise_phrase(phrase)] = round(statistics.median(values) / 100.0, 4)
    return medians


@cache
def estimate_table() -> tuple[Estimate, ...]:
    """Every phrase the service understands, surveyed ones first."""
    medians = _survey_medians()
    table = [Estimate(phrase, p, SURVEY_SOURCE) for phrase, p in medians.items()]
    for phrase, (target, why) in ALIASES.items():
        if phrase in medians:
            continue
        table.append(
            Estimate(phrase, medians[target], f"{SURVEY_SOURCE}; mapped to '{target}': {why}")
        )
    return tuple(table)


def probability_of(phrase: str) -> float:
    """The probability a phrase stands for; UnknownEstimate lists the phrases known."""
    wanted = normalise_phrase(phrase)
    for estimate in estimate_table():
        if estimate.phrase == wanted:
            return estimate.probability
    known = ", ".join(sorted(e.phrase for e in estimate_table()))
    raise UnknownEstimate(f"unknown estimate {phrase!r}; known phrases: {known}", field="estimate")
