"""Backtest: replay dated news day by day against questions, in memory only, and report when
each question would first have been flagged, with which outcome, confidence and item.

Nothing is written anywhere: the replay uses the matcher's pure functions (the same query
evaluation, negation/hedging and confidence as a real cycle) on plain lists.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from resolvers.analysis import MatchItem, QuestionSpec, question_spec
from resolvers.calibrate import suggestion_confidence
from resolvers.deadline import deadline_confidence
from resolvers.evidence import evidence_entry, keep_strongest
from resolvers.match import MatchIndex

BUNDLED_ARCHIVE_SOURCE = "offline-archive"


@dataclass(frozen=True)
class Flag:
    """The first time a question would have been flagged for one outcome."""

    day: date
    outcome: str
    confidence: float
    resolver: str
    item: MatchItem | None = None


@dataclass
class BacktestResult:
    question: QuestionSpec
    news: Flag | None = None  # news of the event (its outcome: the opposite of the default)
    deadline: Flag | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # News that ended the event's chance (a deal terminated): the default outcome.
    contrary: Flag | None = None
    contrary_evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answer(self) -> Flag | None:
        """The most confident flag (what a reviewer would see on top)."""
        flags = [f for f in (self.news, self.contrary, self.deadline) if f is not None]
        return max(flags, key=lambda f: f.confidence) if flags else None


def replay(
    questions: Sequence[QuestionSpec],
    items: Iterable[MatchItem],
    *,
    grace_days: int = 7,
    until: date | None = None,
) -> list[BacktestResult]:
    """Replay `items` in date order, one day at a time, against `questions` as a cycle on each
    day would have seen them (an item counts for a question whose window holds its date).
    The deadline flag is the first day past resolve_by plus grace, up to `until` (default
    today), weighed against the news for the event gathered by then."""
    until = until or datetime.now(UTC).date()
    index = MatchIndex(questions)
    results = {q.id: BacktestResult(q) for q in questions}
    by_day: dict[date, list[MatchItem]] = defaultdict(list)
    seen: set[str] = set()
    for item in sorted(items, key=lambda i: (i.published_at, i.key)):
        if item.key not in seen and item.day <= until:
            seen.add(item.key)
            by_day[item.day].append(item)
    confidence_on: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for day in sorted(by_day):
        strongest: dict[tuple[int, bool], tuple[float, MatchItem]] = {}
        for item in by_day[day]:
            for verdict in index.match(item):
                if verdict.kind != "evidence":
                    continue
                result = results[verdict.question_id]
                contrary = verdict.outcome != result.question.event_outcome
                pool = result.contrary_evidence if contrary else result.evidence
                pool.append(evidence_entry(item, verdict))
                best = strongest.get((verdict.question_id, contrary))
                if best is None or verdict.score > best[0]:
                    strongest[(verdict.question_id, contrary)] = (verdict.score, item)
        for (question_id, contrary), (_, item) in strongest.items():
            result = results[question_id]
            q = result.question
            if contrary:
                result.contrary_evidence = keep_strongest(result.contrary_evidence)
                confidence = suggestion_confidence(result.contrary_evidence)
                if result.contrary is None:
                    result.contrary = Flag(day, q.default_outcome, confidence, "news-match", item)
                continue
            result.evidence = keep_strongest(result.evidence)
            confidence = suggestion_confidence(result.evidence)
            confidence_on[question_id].append((day, confidence))
            if result.news is None:
                result.news = Flag(day, q.event_outcome, confidence, "news-match", item)
    for result in results.values():
        q = result.question
        day = q.resolve_by + timedelta(days=grace_days + 1)
        if day > until:
            continue
        event = [c for d, c in confidence_on[q.id] if d <= day]
        result.deadline = Flag(
            day, q.default_outcome, deadline_confidence(event[-1] if event else None), "deadline"
        )
    return [results[q.id] for q in questions]


# ---------------------------------------------------------------------------------------------
# Inputs


def archive_items(body: bytes | str, *, source: str = BUNDLED_ARCHIVE_SOURCE) -> list[MatchItem]:
    """Items of an archive file ({"items": [{key, published_at, title, summary, link}]}), keyed
    as the archive source stores them so that stored copies are recognised as the same."""
    data = json.loads(body)
    items = []
    for entry in data.get("items", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        try:
            published = datetime.fromisoformat(str(entry.get("published_at")))
        except ValueError:
            continue
        if published.tzinfo is None:
            continue
        key = hashlib.sha256(("archive:" + str(entry["key"])).encode("utf-8")).hexdigest()
        items.append(
            MatchItem(
                key=key,
                title=str(entry.get("title") or ""),
                summary=str(entry.get("summary") or ""),
                link=str(entry.get("link") or ""),
                published_at=published.astimezone(UTC),
                source=source,
            )
        )
    return items


def bundled_archive() -> list[MatchItem]:
    """The offline archive shipped in the seeds package."""
    return archive_items(resources.files("seeds").joinpath("archive.json").read_bytes())


def seed_questions() -> list[QuestionSpec]:
    """The seed article's questions, numbered 1… in file order."""
    records = json.loads(resources.files("seeds").joinpath("questions.json").read_text("utf-8"))
    specs = []
    for n, record in enumerate(records, start=1):
        spec = question_spec(
            n,
            record.get("news_query") or "",
            date.fromisoformat(record["opened_on"]),
            date.fromisoformat(record["resolve_by"]),
            record.get("default_outcome", "no"),
            record["title"],
            record.get("resolution_criteria", ""),
        )
        if spec is not None:
            specs.append(spec)
    return specs
