"""Evidence as a suggestion shows it: one entry per item (title, link, date, source, snippet,
score, matched terms), the confidence the entries add up to, and a rationale a reviewer can
read in ten seconds.

Entries are plain dicts because they are stored as JSON on the suggestion and served as
API.md shows them. This module needs only a few attributes of an item and of a verdict, so it
names them as protocols rather than importing the matcher, which imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

# A second item from the same source adds less than one from an independent source, a
# third less again; near-duplicates from one source (the same story re-sent, a feed that
# repeats itself) count once, and one source alone never lifts a suggestion above
# SINGLE_SOURCE_MAX: only independent sources reach the top.
SAME_SOURCE_WEIGHT = 0.5
SINGLE_SOURCE_MAX = 0.8
MAX_CONFIDENCE = 0.95
SNIPPET_CHARS = 280
# Evidence kept per suggestion: the strongest (and always the earliest, whose day a
# suggestion resolves on); every item's link is kept anyway, so none counts twice.
MAX_EVIDENCE = 20
NEAR_DUPLICATE = 0.6  # share of title words two items of one source share


class EvidenceItem(Protocol):
    """What an evidence entry shows of a news item (resolvers.match.MatchItem has it)."""

    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def link(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def date_basis(self) -> str: ...


class EvidenceVerdict(Protocol):
    """What an evidence entry shows of a verdict (resolvers.match.Verdict has it)."""

    @property
    def score(self) -> float: ...
    @property
    def terms(self) -> tuple[str, ...]: ...
    @property
    def mixed(self) -> bool: ...
    @property
    def decided_by(self) -> str: ...


def iso_z(instant: datetime) -> str:
    """An instant as ISO 8601 in UTC with a Z."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snippet(item: EvidenceItem) -> str:
    text = " ".join((item.summary or item.title).split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def evidence_entry(item: EvidenceItem, verdict: EvidenceVerdict) -> dict[str, Any]:
    """One evidence entry as API.md shows it, plus the item's score, matched terms and the
    words that decided it; an undated item says it counts from the day it was first seen."""
    entry: dict[str, Any] = {
        "title": item.title,
        "url": item.link,
        "published_at": iso_z(item.published_at),
        "source": item.source,
        "snippet": snippet(item),
        "score": verdict.score,
        "terms": list(verdict.terms),
        "mixed": verdict.mixed,
    }
    if verdict.decided_by:
        entry["decided_by"] = verdict.decided_by
    if item.date_basis == "first-seen":
        entry["dated"] = (
            "undated by its source; counted as reported on "
            f"{iso_z(item.published_at)[:10]}, the day it was first seen"
        )
    return entry


def _title_words(entry: dict[str, Any]) -> frozenset[str]:
    return frozenset(w for w in str(entry.get("title", "")).lower().split() if len(w) > 2)


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= NEAR_DUPLICATE


def combine(evidence: Sequence[dict[str, Any]]) -> float:
    """Raw confidence from item scores, strongest first: within a source 1 − Π(1 − s_i·w_i)
    with w halving for each further item and near-duplicates left out, at most
    SINGLE_SOURCE_MAX; across sources 1 − Π(1 − c_source), capped below 1 so that no amount
    of news is certainty. resolvers.calibration maps it to a probability."""
    by_source: dict[str, list[tuple[float, frozenset[str]]]] = {}
    for entry in sorted(evidence, key=lambda e: -float(e.get("score", 0.0))):
        words = _title_words(entry)
        kept = by_source.setdefault(str(entry.get("source")), [])
        if any(_near_duplicate(words, other) for _, other in kept):
            continue
        kept.append((float(entry.get("score", 0.0)), words))
    remaining = 1.0
    for entries in by_source.values():
        left = 1.0
        for n, (score, _) in enumerate(entries):
            left *= 1.0 - score * SAME_SOURCE_WEIGHT**n
        remaining *= 1.0 - min(SINGLE_SOURCE_MAX, 1.0 - left)
    return round(min(MAX_CONFIDENCE, 1.0 - remaining), 3)


def independent_sources(evidence: Sequence[dict[str, Any]]) -> int:
    """How many sources the evidence comes from."""
    return len({str(e.get("source")) for e in evidence})


def keep_strongest(
    evidence: Sequence[dict[str, Any]], limit: int = MAX_EVIDENCE
) -> list[dict[str, Any]]:
    """At most `limit` entries: the strongest, and always the earliest; oldest first."""
    ordered = sorted(evidence, key=evidence_order)
    if len(ordered) <= limit:
        return ordered
    earliest = ordered[0]
    strongest = sorted(ordered[1:], key=lambda e: (-float(e.get("score", 0.0)), evidence_order(e)))[
        : limit - 1
    ]
    return sorted([earliest, *strongest], key=evidence_order)


def rationale(evidence: Sequence[dict[str, Any]]) -> str:
    """A ten-second summary: how many items, which terms, the strongest one and the words
    that decided it (the act found, its polarity, the actor), any negation."""
    n = len(evidence)
    sources = {e.get("source") for e in evidence}
    terms = list(dict.fromkeys(t for e in evidence for t in e.get("terms", [])))
    shown = ", ".join(terms[:8]) + (", …" if len(terms) > 8 else "")
    strongest = max(evidence, key=lambda e: (float(e.get("score", 0.0)), -evidence_order(e)))
    text = (
        f"{n} item{'s' if n != 1 else ''} from {len(sources)} "
        f"source{'s' if len(sources) != 1 else ''} match the query ({shown}); "
        f"strongest: '{strongest.get('title', '')}' "
        f"({str(strongest.get('published_at', ''))[:10]}, {strongest.get('source', '')})."
    )
    if strongest.get("decided_by"):
        text += f" Decided by {strongest['decided_by']}."
    if strongest.get("dated"):
        text += f" It is {strongest['dated']}."
    mixed = sum(1 for e in evidence if e.get("mixed"))
    if mixed:
        text += (
            f" In {mixed} of them some matched words are also negated or hedged,"
            " which lowers the confidence."
        )
    else:
        text += " No negation or hedging found around the matched terms."
    return text


def evidence_order(entry: dict[str, Any]) -> float:
    """The sort key of a stored entry: its publication time (0 when it has none usable), so
    a suggestion lists its evidence oldest first."""
    try:
        return datetime.fromisoformat(str(entry["published_at"]).replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        return 0.0
