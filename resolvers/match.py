"""Which news items bear on which open questions: the inverted index and the evidence it
yields.

Each item is tokenised once (resolvers.analysis). Each open question is filed in an inverted
index under anchor stems (stems of which any item bearing on it must contain one), so an
item is judged (resolvers.judging) only against the questions that share such stems with it,
never against every question. A question whose query has two parts that every such item
carries is filed under pairs of stems, one of each part: an item then meets only the
questions both of whose parts it carries, so the work per item stays flat however many
questions are open, instead of growing with them.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from forecasts.news_query import node_anchors, node_stems
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec
from resolvers.evidence import evidence_entry
from resolvers.judging import Judge, RuleJudge, Verdict

Cost = Callable[[str], float]


class MatchIndex:
    """Open questions indexed by their anchor stems.

    A question is filed under the stems of the cheapest one or two parts of its query that
    any matching item must contain (QuestionSpec.sure_parts: read without its event), or,
    when it has none, of the cheapest part of its topic (its query without the words that
    only name the act). "Cheap" is how often a stem occurs in the news: the share of
    `sample` texts (sets of stems, e.g. the first batch of items to match) that contain it,
    with how many questions use the stem as a tie-breaker (and the only guide without a
    sample). A derived query, matched softly, is filed under every one of its groups.
    How many questions use a stem counts the stems of the parts they are filed by.
    """

    def __init__(
        self,
        questions: Iterable[QuestionSpec],
        sample: Iterable[AbstractSet[str]] = (),
        judge: Judge | None = None,
    ) -> None:
        self.questions: list[QuestionSpec] = list(questions)
        self.judge: Judge = judge or RuleJudge()
        # anchor -> questions filed under it alone
        self.postings: dict[str, list[int]] = defaultdict(list)
        # first anchor -> second anchor -> questions filed under the pair
        self.pairs: dict[str, dict[str, list[int]]] = {}
        with no_collection_pauses():
            self._file(sample)
        self._singles = frozenset(self.postings)
        self._firsts = frozenset(self.pairs)
        self._seconds = {a: frozenset(by_second) for a, by_second in self.pairs.items()}
        # How many (item, question) query evaluations ran: tests check the index avoids them.
        self.evaluations = 0

    def _file(self, sample: Iterable[AbstractSet[str]]) -> None:
        usage: dict[str, int] = defaultdict(int)
        for q in self.questions:
            for part, alts in q.index_parts:
                for s in node_stems(part) if alts is None else (s for a in alts for s in a):
                    usage[s] += 1
        seen: dict[str, int] = defaultdict(int)
        texts = 0
        for stems in sample:
            texts += 1
            for s in stems:
                seen[s] += 1
        scale = max(1, len(self.questions))
        memo: dict[str, float] = {}

        def cost(s: str) -> float:
            found = memo.get(s)
            if found is None:
                share = seen[s] / texts if texts else 0.0
                found = memo[s] = share + usage[s] / scale / 1000 + 1e-9 / (1 + len(s))
            return found

        for n, q in enumerate(self.questions):
            first, second = _anchors_of(q, cost)
            if second is None:
                for anchor in first:
                    self.postings[anchor].append(n)
                continue
            for a in first:
                by_second = self.pairs.setdefault(a, {})
                for b in second:
                    by_second.setdefault(b, []).append(n)

    def candidates(self, item: AnalysedItem) -> set[int]:
        """The questions filed under one of the item's stems, or under a pair of them. The
        set intersections run in C over the smaller side (the item's few dozen stems):
        Python touches only the stems that file something."""
        found: set[int] = set()
        have = item.stem_set
        postings = self.postings
        for s in have & self._singles:
            found.update(postings[s])
        pairs, seconds = self.pairs, self._seconds
        for s in have & self._firsts:
            by_second = pairs[s]
            for b in have & seconds[s]:
                found.update(by_second[b])
        return found

    def match(self, item: MatchItem | AnalysedItem) -> list[Verdict]:
        """Verdicts for the questions the item bears on (in-window, open), best first. An
        item whose date nothing tells (undated, from its source's first poll) bears on none."""
        analysed = item if isinstance(item, AnalysedItem) else AnalysedItem(item)
        if analysed.item.date_basis == "unknown":
            return []
        day = analysed.item.day
        have = analysed.stem_set
        questions = self.questions
        verdicts = []
        for n in self.candidates(analysed):
            q = questions[n]
            if not (q.opened_on <= day <= q.resolve_by):
                continue
            self.evaluations += 1
            if not q.derived:
                # The sure parts first: their prefilter needs no reading of the event.
                sure = q.sure_prefilter
                if sure is not None and not sure(have):
                    continue
                if not q.topic.prefilter(have):
                    continue
            verdict = self.judge(q, analysed)
            if verdict is not None:
                verdicts.append(verdict)
        verdicts.sort(key=lambda v: (-v.score, v.question_id))
        return verdicts


@contextmanager
def no_collection_pauses() -> Iterator[None]:
    """Filing 100,000 questions allocates a few million small objects and no reference
    cycles: the cyclic collector's passes over everything alive would cost a third of the
    build for nothing. Reference counting still frees what dies meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _anchors_of(question: QuestionSpec, cost: Cost) -> tuple[frozenset[str], frozenset[str] | None]:
    """The anchors a question is filed under: one set (any of them), or two (one of each)."""
    options = []
    for part, alts in question.index_parts:
        if alts is None:
            anchors = node_anchors(part, cost)
            if anchors is None:
                continue
        else:
            # Query.anchors of a term or an OR of terms, without walking the tree: each
            # alternative's cheapest stem.
            anchors = frozenset(
                stems[0] if len(stems) == 1 else min(stems, key=lambda s: (cost(s), s))
                for stems in alts
            )
        options.append((sum(map(cost, anchors)), anchors))
    if question.derived:
        # Matched softly: any one of its parts may be what an item carries.
        found = frozenset().union(*(anchors for _, anchors in options))
        return found or question.query.anchors(cost), None
    if not options:
        return question.topic.anchors(cost), None
    if len(options) == 1:
        return options[0][1], None
    options.sort(key=lambda o: (o[0], sorted(o[1])))
    return options[0][1], options[1][1]


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
