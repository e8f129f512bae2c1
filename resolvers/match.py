"""Which news items bear on which open questions: the inverted index and the evidence it
yields.

Each item is tokenised once (resolvers.analysis). Each open question is filed in an inverted
index under anchor stems (stems of which any item bearing on it must contain one), so an
item is judged (resolvers.judging) only against the questions that share such stems with it,
never against every question. A question whose query has two parts that every such item
carries is filed under pairs of stems, one of each part: an item then meets only the
questions both of whose parts it carries, so the work per item stays flat however many
questions are open, instead of growing with them.

Filing 100,000 questions costs more than matching a poll's items against them, and from one
cycle to the next the open questions hardly change: an index of nearly the same questions as
one built before (the very same specs: resolvers.analysis caches them, and an edited question
is a new spec) takes over that one's filing once nothing else uses it, and files only the
questions added and unfiles those gone, so a cycle's cost grows with what changed, not with
every question open. Which anchor a question is filed under only decides which items it is
judged against, never the verdict (every anchor is of a part the question's prefilter
requires), so anchors chosen from an earlier cycle's news are as correct as fresh ones.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from forecasts.news_query import node_anchors
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec
from resolvers.evidence import evidence_entry
from resolvers.judging import Judge, RuleJudge, Verdict

Cost = Callable[[str], float]
Anchors = tuple[frozenset[str], frozenset[str] | None]

# An index of fewer questions is built afresh: filing them costs little, and its filing is
# not kept (match_new_questions' index of the few new questions would otherwise push out the
# one of every open question).
REUSE_MIN_QUESTIONS = 1000
# A filing is taken over while the questions added and gone since it was built are at most
# this share of those open; past it the index is built afresh, its anchors chosen anew.
REUSE_MAX_CHANGE = 0.25
# Filings kept for reuse, the most recent first.
KEPT_FILINGS = 2


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

    The filing of an earlier index of mostly the same questions is taken over when no index
    uses it any more (see the module's docstring); `reused` tells whether it was.
    """

    def __init__(
        self,
        questions: Iterable[QuestionSpec],
        sample: Iterable[AbstractSet[str]] = (),
        judge: Judge | None = None,
    ) -> None:
        self.questions: list[QuestionSpec] = list(questions)
        self.judge: Judge = judge or RuleJudge()
        with no_collection_pauses():
            filing = _take_filing(self.questions)
            self.reused = filing is not None
            if filing is None:
                filing = _Filing.build(self.questions, sample)
            else:
                filing.update(self.questions, sample)
        self._filing = filing
        self._slots = filing.slots
        self.postings = filing.postings
        self.pairs = filing.pairs
        self._seconds = filing.seconds
        if filing.keyed:
            _keep_filing(filing, self)
        # How many (item, question) query evaluations ran: tests check the index avoids them.
        self.evaluations = 0

    def candidates(self, item: AnalysedItem) -> set[int]:
        """The slots of the questions filed under one of the item's stems, or under a pair of
        them (the question in slot n is _slots[n]). The set intersections run in C over the
        smaller side (the item's few dozen stems): Python touches only the stems that file
        something."""
        found: set[int] = set()
        have = item.stem_set
        postings = self.postings
        for s in have & postings.keys():
            found.update(postings[s])
        pairs, seconds = self.pairs, self._seconds
        for s in have & seconds.keys():
            by_second = pairs[s]
            # Two frozensets: C walks the smaller, mostly the few seconds of this first.
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
        slots = self._slots
        verdicts = []
        for n in self.candidates(analysed):
            q = slots[n]
            if q is None or not (q.opened_on <= day <= q.resolve_by):
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


class _Filing:
    """Questions filed by their anchors, each in a slot: `slots[n]` is the question in slot n
    (None: a free slot), `anchors[n]` what it is filed under. `keyed` filings (of distinct
    specs) know each spec's slot by identity, so that a later index of mostly the same specs
    can take them over and file only what changed (_take_filing); they keep their specs
    alive, so an id never stands for another object meanwhile."""

    def __init__(self, keyed: bool) -> None:
        self.slots: list[QuestionSpec | None] = []
        self.anchors: list[Anchors | None] = []
        self.free: list[int] = []
        self.slot_of: dict[int, int] = {}
        self.keyed = keyed
        # anchor -> slots filed under it alone
        self.postings: dict[str, list[int]] = {}
        # first anchor -> second anchor -> slots filed under the pair
        self.pairs: dict[str, dict[str, list[int]]] = {}
        # first anchor -> its second anchors (what candidates intersects an item's stems with)
        self.seconds: dict[str, frozenset[str]] = {}
        # stem -> how many filed questions' index parts mention it
        self.usage: Counter[str] = Counter()
        self.owner: weakref.ref[MatchIndex] | None = None

    @classmethod
    def build(
        cls, questions: Sequence[QuestionSpec], sample: Iterable[AbstractSet[str]]
    ) -> _Filing:
        keyed = len(questions) >= REUSE_MIN_QUESTIONS
        if keyed:
            slot_of = {id(q): n for n, q in enumerate(questions)}
            # The same spec twice is filed twice (two verdicts), as positions: not kept.
            keyed = len(slot_of) == len(questions)
        filing = cls(keyed)
        if keyed:
            filing.slot_of = slot_of
        filing.slots = list(questions)
        filing.usage.update(_stems_of(questions))
        cost = filing.cost(sample, len(questions))
        anchors = filing.anchors = [_anchors_of(q, cost) for q in questions]
        filing.file(range(len(questions)), anchors)
        return filing

    def cost(self, sample: Iterable[AbstractSet[str]], questions: int) -> Cost:
        """How common a stem is: the share of the sample holding it, how many questions
        use it as a tie-breaker, its length as the last."""
        seen: Counter[str] = Counter()
        texts = 0
        for stems in sample:
            texts += 1
            seen.update(stems)
        return _Costs(seen, texts, self.usage, max(1, questions)).__getitem__

    def file(self, slots: Iterable[int], anchors: Sequence[Anchors | None]) -> None:
        postings, pairs = self.postings, self.pairs
        touched: set[str] = set()
        for n in slots:
            found = anchors[n]
            assert found is not None
            first, second = found
            if second is None:
                for a in first:
                    listed = postings.get(a)
                    if listed is None:
                        postings[a] = [n]
                    else:
                        listed.append(n)
                continue
            touched.update(first)
            for a in first:
                by_second = pairs.get(a)
                if by_second is None:
                    by_second = pairs[a] = {}
                for b in second:
                    listed = by_second.get(b)
                    if listed is None:
                        by_second[b] = [n]
                    else:
                        listed.append(n)
        seconds = self.seconds
        for a in touched:
            seconds[a] = frozenset(pairs[a])

    def unfile(self, n: int) -> None:
        found = self.anchors[n]
        assert found is not None
        first, second = found
        postings, pairs = self.postings, self.pairs
        if second is None:
            for a in first:
                listed = postings[a]
                listed.remove(n)
                if not listed:
                    del postings[a]
        else:
            for a in first:
                by_second = pairs[a]
                for b in second:
                    listed = by_second[b]
                    listed.remove(n)
                    if not listed:
                        del by_second[b]
                if by_second:
                    self.seconds[a] = frozenset(by_second)
                else:
                    del pairs[a]
                    del self.seconds[a]
        spec = self.slots[n]
        assert spec is not None
        self.usage.subtract(_stems_of([spec]))
        del self.slot_of[id(spec)]
        self.slots[n] = None
        self.anchors[n] = None
        self.free.append(n)

    def update(self, questions: Sequence[QuestionSpec], sample: Iterable[AbstractSet[str]]) -> None:
        """File the questions not filed here and unfile those filed but not in `questions`
        (which holds distinct specs: _take_filing checked)."""
        slot_of = self.slot_of
        wanted = {id(q) for q in questions}
        for key in [key for key in slot_of if key not in wanted]:
            self.unfile(slot_of[key])
        added = [q for q in questions if id(q) not in slot_of]
        if not added:
            return
        self.usage.update(_stems_of(added))
        cost = self.cost(sample, len(questions))
        new_slots = []
        for q in added:
            if self.free:
                n = self.free.pop()
                self.slots[n] = q
                self.anchors[n] = _anchors_of(q, cost)
            else:
                n = len(self.slots)
                self.slots.append(q)
                self.anchors.append(_anchors_of(q, cost))
            slot_of[id(q)] = n
            new_slots.append(n)
        self.file(new_slots, self.anchors)


class _Costs(dict[str, float]):
    """_Filing.cost's memo: a stem's cost, worked out on first asking."""

    def __init__(self, seen: Counter[str], texts: int, usage: Counter[str], scale: int) -> None:
        super().__init__()
        self.seen, self.texts, self.usage, self.scale = seen, texts, usage, scale

    def __missing__(self, s: str) -> float:
        share = self.seen[s] / self.texts if self.texts else 0.0
        found = self[s] = share + self.usage[s] / self.scale / 1000 + 1e-9 / (1 + len(s))
        return found


_kept: list[_Filing] = []
_kept_lock = threading.Lock()


def _take_filing(questions: Sequence[QuestionSpec]) -> _Filing | None:
    """A kept filing no index uses any more, of specs differing from `questions` by at most
    REUSE_MAX_CHANGE of them, taken out of the kept ones; None when there is none."""
    if len(questions) < REUSE_MIN_QUESTIONS:
        return None
    ids = {id(q) for q in questions}
    if len(ids) != len(questions):
        return None
    with _kept_lock:
        for filing in _kept:
            if filing.owner is not None and filing.owner() is not None:
                continue  # an index in use (another cycle, or a caller holding it)
            slot_of = filing.slot_of
            common = sum(1 for key in ids if key in slot_of)
            changed = (len(ids) - common) + (len(slot_of) - common)
            if changed <= REUSE_MAX_CHANGE * len(questions):
                _kept.remove(filing)
                filing.owner = None
                return filing
    return None


def _keep_filing(filing: _Filing, owner: MatchIndex) -> None:
    with _kept_lock:
        filing.owner = weakref.ref(owner)
        if filing in _kept:
            _kept.remove(filing)
        _kept.insert(0, filing)
        del _kept[KEPT_FILINGS:]


def forget_filings() -> None:
    """Drop the filings kept for reuse (tests; or to free their memory)."""
    with _kept_lock:
        _kept.clear()


def _stems_of(questions: Iterable[QuestionSpec]) -> Iterator[str]:
    return chain.from_iterable(p.stems for q in questions for p in q.index_terms)


# Objects made during a pause past which they are exempted from the cyclic collector.
FREEZE_AT = 200_000


@contextmanager
def no_collection_pauses() -> Iterator[None]:
    """Filing 100,000 questions allocates a few million small objects and no reference
    cycles: the cyclic collector's passes over everything alive would cost a third of the
    build for nothing. Reference counting still frees what dies meanwhile.

    Paused or not, the collector would pass over those objects three times on their way to
    its oldest generation and then with everything else in each full collection, seconds for
    objects that live until their questions change, so past FREEZE_AT new objects the pause
    ends with gc.freeze(): what is alive then is left out of later collections (reference
    counting still frees it; only a reference cycle among it would stay until exit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] >= FREEZE_AT:
                gc.freeze()
            gc.enable()


def _anchors_of(question: QuestionSpec, cost: Cost) -> Anchors:
    """The anchors a question is filed under: one set (any of them), or two (one of each)."""
    options = []
    for part, alts, fixed, _ in question.index_terms:
        if fixed is not None:
            anchors = fixed
        elif alts is None:
            found = node_anchors(part, cost)
            if found is None:
                continue
            anchors = found
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
        union = frozenset().union(*(anchors for _, anchors in options))
        return union or question.query.anchors(cost), None
    if not options:
        return question.topic.anchors(cost), None
    if len(options) == 1:
        return options[0][1], None
    if len(options) == 2:
        (c0, a0), (c1, a1) = options
        if c1 < c0 or (c1 == c0 and sorted(a1) < sorted(a0)):
            return a1, a0
        return a0, a1
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
