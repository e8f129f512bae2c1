"""Which news items bear on which open questions: the inverted index and the evidence it
yields.

Each item is tokenised once (resolvers.analysis). Each open question contributes its anchor
stems (stems of which any matching item must contain one) to an inverted index, so an item is
judged (resolvers.judging) only against the questions that share such a stem with it, never
against every question.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from forecasts.news_query import Not, Query
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec
from resolvers.evidence import evidence_entry
from resolvers.judging import Judge, RuleJudge, Verdict


class MatchIndex:
    """Open questions indexed by their anchor stems.

    Each question is filed under the stems of the cheapest part of its topic (its query
    without the words that only name the act) that any match must contain. "Cheap" is how
    often a stem occurs in the news: the share of `sample` texts (sets of stems, e.g. the
    first batch of items to match) that contain it, with how many questions use the stem
    as a tie-breaker (and the only guide without a sample). A derived query, matched
    softly, is filed under every one of its groups.
    """

    def __init__(
        self,
        questions: Iterable[QuestionSpec],
        sample: Iterable[AbstractSet[str]] = (),
        judge: Judge | None = None,
    ) -> None:
        self.questions: list[QuestionSpec] = list(questions)
        self.judge: Judge = judge or RuleJudge()
        self.postings: dict[str, list[int]] = defaultdict(list)
        usage: dict[str, int] = defaultdict(int)
        for q in self.questions:
            for s in q.query.stems():
                usage[s] += 1
        seen: dict[str, int] = defaultdict(int)
        texts = 0
        for stems in sample:
            texts += 1
            for s in stems:
                seen[s] += 1
        scale = max(1, len(self.questions))

        def cost(s: str) -> float:
            share = seen[s] / texts if texts else 0.0
            return share + usage[s] / scale / 1000 + 1e-9 / (1 + len(s))

        for n, q in enumerate(self.questions):
            for anchor in _anchors_of(q, cost):
                self.postings[anchor].append(n)
        # Per question, what the hot loop needs, in one tuple.
        self._fast = [
            (q.opened_on, q.resolve_by, None if q.derived else q.topic.prefilter)
            for q in self.questions
        ]
        # How many (item, question) query evaluations ran: tests check the index avoids them.
        self.evaluations = 0

    def candidates(self, item: AnalysedItem) -> set[int]:
        found: set[int] = set()
        postings = self.postings
        for s in item.stem_set:
            hit = postings.get(s)
            if hit:
                found.update(hit)
        return found

    def match(self, item: MatchItem | AnalysedItem) -> list[Verdict]:
        """Verdicts for the questions the item bears on (in-window, open), best first. An
        item whose date nothing tells (undated, from its source's first poll) bears on none."""
        analysed = item if isinstance(item, AnalysedItem) else AnalysedItem(item)
        if analysed.item.date_basis == "unknown":
            return []
        day = analysed.item.day
        have = analysed.stem_set
        fast = self._fast
        verdicts = []
        for n in self.candidates(analysed):
            opened_on, resolve_by, prefilter = fast[n]
            if not (opened_on <= day <= resolve_by):
                continue
            self.evaluations += 1
            if prefilter is not None and not prefilter(have):
                continue
            verdict = self.judge(self.questions[n], analysed)
            if verdict is not None:
                verdicts.append(verdict)
        verdicts.sort(key=lambda v: (-v.score, v.question_id))
        return verdicts


def _anchors_of(question: QuestionSpec, cost: Any) -> frozenset[str]:
    if not question.derived:
        return question.topic.anchors(cost)
    found: set[str] = set()
    for group in question.groups:
        if isinstance(group, Not):
            continue
        found |= Query(group, str(group)).anchors(cost)
    return frozenset(found) or question.query.anchors(cost)


# ---------------------------------------------------------------------------------------------
# Firm evidence, ready to record (resolvers.suggestion_store records it)


@dataclass
class Hit:
    """Firm evidence of one item for one question, ready to record."""

    question_id: int
    outcome: str
    item_key: str
    score: float
    entry: dict[str, Any] = field(default_factory=dict)


def hits_for(index: MatchIndex, items: Iterable[MatchItem | AnalysedItem]) -> list[Hit]:
    """Firm evidence of these items for the index's questions."""
    hits = []
    for entry in items:
        analysed = entry if isinstance(entry, AnalysedItem) else AnalysedItem(entry)
        item = analysed.item
        for verdict in index.match(analysed):
            if verdict.kind == "evidence":
                hits.append(
                    Hit(
                        verdict.question_id,
                        verdict.outcome,
                        item.key,
                        verdict.score,
                        evidence_entry(item, verdict),
                    )
                )
    return hits
