"""Which news items bear on which open questions, and how: the index and the judging.

Each item is tokenised once. Each open question contributes its anchor stems (stems of which
any matching item must contain one) to an inverted index, so an item is evaluated only
against the questions that share such a stem with it, never against every question.

An item is evidence for the event only if the query holds on the words outside every cue's
scope (resolvers.cues: negation, hedging, cancellation) and, where the question's title names
an act the frame table knows (forecasts.event), the item asserts that act, firmly, by the
question's actor (resolvers.event_judge): the opposite act is evidence against, and an
opposite that ends the event's chance (a deal terminated) is evidence for the default
outcome. If the query holds only with hedged words the item merely anticipates the event, and
neither counts. A cue that is itself one of the question's query terms (a question about Iran
*rejecting* something) is not a cue for that question.

A question whose query was derived from its title (forecasts.derived_query) is matched
softly: an item need not carry every term, it is scored by the share of the query's groups it
carries, and the event's act and actor must be there.

The judge is pluggable (`Judge`); `RuleJudge` is the default.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Protocol

from lemminflect import getAllLemmas

from forecasts.actors import Mention, find_actors
from forecasts.derived_query import derive_query
from forecasts.errors import InvalidInput
from forecasts.event import (
    Event,
    Occurrence,
    PhraseIndex,
    excluded_by,
    occurrences,
)
from forecasts.event import read_event as read_question_event
from forecasts.news_query import And, Node, Not, Or, Query, Term, parse_query
from forecasts.text import scan
from resolvers.cues import FIRM, HEDGED, NEGATED, Cue, find_cues, scope_states
from resolvers.event_judge import (
    ABSENT,
    ANTICIPATED,
    ASSERTED,
    FINAL,
    NO_ACTOR,
    OPPOSED,
    OTHER_ACTOR,
    Reading,
    read_item,
)
from resolvers.evidence import evidence_entry

# An item whose title alone satisfies the query is about the event; one that needs its
# summary may mention the event in passing.
TITLE_SCORE = 0.7
BODY_SCORE = 0.5
# Some matched terms also occur negated or hedged in the same item: mixed signals.
MIXED_FACTOR = 0.6
# The item asserts the question's act, firmly, by its actor: the event itself, not only the
# query's words.
EVENT_CONFIRMED_FACTOR = 1.15
# Capitalised words after an act that name no other object of it.
_NOT_OBJECT_NAMES = frozenset({"the", "a", "an", "its", "their", "in", "on", "at", "after"})
# Words that make the name after them a look back, not the news.
_RETROSPECTIVE = frozenset({"since", "last", "previous", "former", "earlier", "ago", "past"})
# The act in other words than the query's, in the title: news of the event, less sure.
PARAPHRASE_SCORE = 0.5
# A derived query is scored: an item must carry this share of its groups, or less when it
# asserts the title's act by its actor, what the act is done to included.
SOFT_MIN_SHARE = 0.6
SOFT_MIN_SHARE_WITH_ACT = 0.4

# ---------------------------------------------------------------------------------------------
# Items and questions as the matcher sees them


@dataclass(frozen=True)
class MatchItem:
    """A news item to match: `key` is its dedup key, `link` its URL as the source gave it."""

    key: str
    title: str
    summary: str
    link: str
    published_at: datetime
    source: str
    # "source": dated by its source; "first-seen": undated, counted from the day it was
    # first seen (published_at holds that instant); "unknown": undated and from its source's
    # first poll, so never evidence.
    date_basis: str = "source"

    @property
    def day(self) -> date:
        return self.published_at.astimezone(UTC).date()


class AnalysedItem:
    """An item scanned once; its word positions and cues are worked out only if some
    question's query is evaluated on it."""

    def __init__(self, item: MatchItem) -> None:
        self.item = item
        self.text = scan(item.title, item.summary)
        self.stems = self.text.stems
        self.stem_set = frozenset(self.stems)
        self._states: dict[frozenset[str], list[int]] = {}

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        where: dict[str, list[int]] = {}
        for i, s in enumerate(self.stems):
            where.setdefault(s, []).append(i)
        return where

    @cached_property
    def cues(self) -> list[Cue]:
        return find_cues(self.text)

    @cached_property
    def cue_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.cues)

    def region(self, reading: Reading | None) -> tuple[range, ...] | None:
        """Where an item says what decided it: its title and the summary's sentence holding
        the deciding words (its first sentence when they are in the title). The query must
        hold there, not in some other sentence about something else."""
        if reading is None or reading.start < 0:
            return None
        title = range(0, self.text.title_len)
        sentences = self.text.sentences
        if reading.in_title:
            body = [j for j in range(self.text.title_len, len(sentences))]
            wanted = sentences[body[0]] if body else None
        else:
            wanted = sentences[reading.start]
        span = [j for j in range(self.text.title_len, len(sentences)) if sentences[j] == wanted]
        return (title, range(span[0], span[-1] + 1)) if span else (title,)

    def has_current(
        self, term: Term, states: list[int], max_state: int, within: tuple[range, ...] | None
    ) -> bool:
        """`has`, leaving out mentions that look back ("since the 2017 Australian Open",
        "last year's final"): what an item recalls is not what it reports."""
        stems = self.stems
        n = len(term.stems)
        for p in self.positions.get(term.stems[0], ()):
            if within is not None and not any(p in r for r in within):
                continue
            if tuple(stems[p : p + n]) != term.stems:
                continue
            if any(states[p + k] > max_state for k in range(n)):
                continue
            if _RETROSPECTIVE.isdisjoint(stems[max(0, p - 3) : p]):
                return True
        return False

    def denied_in_title(self, query: Query, states: list[int]) -> bool:
        """Whether some part of the query occurs in the title only where it is negated:
        "launches Threads in 100 countries, but not in the EU"."""
        root = query.root
        for group in root.children if isinstance(root, And) else (root,):
            if isinstance(group, Not):
                continue
            part = Query(group, str(group))
            if part.evaluate(lambda t: self.has(t, None, NEGATED, True)) and not part.evaluate(
                lambda t: self.has(t, states, HEDGED, True)
            ):
                return True
        return False

    @cached_property
    def phrase_index(self) -> PhraseIndex:
        return PhraseIndex(self.stems)

    @cached_property
    def mentions(self) -> list[Mention]:
        return find_actors(self.stems, self.text.raws)

    def states(self, ignore: frozenset[str]) -> list[int]:
        """FIRM / HEDGED / NEGATED per word, leaving out cues whose key is in `ignore`."""
        cached = self._states.get(ignore)
        if cached is not None:
            return cached
        states = scope_states(self.text.clauses, self.cues, ignore, self.text.sentences)
        self._states[ignore] = states
        return states

    def occurrence_states(
        self, found: list[Occurrence], ignore: frozenset[str]
    ) -> dict[tuple[int, int], int]:
        """Each occurrence's state with its own words' cues switched off."""
        out: dict[tuple[int, int], int] = {}
        for occ in found:
            own = frozenset(self.stems[occ.start : occ.end])
            states = self.states(ignore | own)
            out[(occ.start, occ.end)] = max(states[occ.start : occ.end])
        return out

    def has_outside(self, term: Term, states: list[int], min_state: int) -> bool:
        """Whether the term occurs with some word above `min_state` (negated or hedged)."""
        stems = self.stems
        n = len(term.stems)
        for p in self.positions.get(term.stems[0], ()):
            if tuple(stems[p : p + n]) == term.stems and any(
                states[p + k] > min_state for k in range(n)
            ):
                return True
        return False

    def has(
        self,
        term: Term,
        states: list[int] | None,
        max_state: int,
        title_only: bool,
        within: tuple[range, ...] | None = None,
    ) -> bool:
        """Whether the term occurs with every word at most `max_state` (None: any state),
        in the title only, or (`within`) inside one of the given token ranges."""
        stems = self.stems
        n = len(term.stems)
        limit = self.text.title_len if title_only else len(stems)
        for p in self.positions.get(term.stems[0], ()):
            if p + n > limit:
                continue
            if within is not None and not any(p in r for r in within):
                continue
            if n > 1 and tuple(stems[p : p + n]) != term.stems:
                continue
            if states is None or all(states[p + k] <= max_state for k in range(n)):
                return True
        return False


@dataclass(frozen=True)
class QuestionSpec:
    """An open question as the matcher needs it: `derived` when its query is the one the
    service derived from its title (matched softly)."""

    id: int
    query: Query
    opened_on: date
    resolve_by: date
    default_outcome: str = "no"
    title: str = ""
    criteria: str = ""
    derived: bool = False

    @property
    def event_outcome(self) -> str:
        """What news of the event suggests: the opposite of the default outcome."""
        return "yes" if self.default_outcome == "no" else "no"

    @cached_property
    def event(self) -> Event | None:
        """The question's event as its title (or query, or criteria) names it."""
        if not self.title:
            return None
        groups = []
        for group in self.groups:
            if isinstance(group, Term):
                groups.append([group.text])
            elif isinstance(group, Or):
                groups.append([c.text for c in group.children if isinstance(c, Term)])
        return read_question_event(self.title, self.criteria, groups, self.default_outcome)

    @cached_property
    def topic(self) -> Query:
        """The query without its groups that only name the act ("(raise OR hike)"): what an
        item about the same who and what carries, whichever act it reports. Items are
        indexed and prefiltered by it, so that the opposite act is seen too."""
        event = self.event
        if event is None:
            return self.query
        vocabulary = _frame_vocabulary(event)
        root = _without_act(self.query.root, vocabulary)
        if root is None or root == self.query.root:
            return self.query
        try:
            return parse_query(str(root))
        except InvalidInput:
            return self.query

    @cached_property
    def groups(self) -> tuple[Node, ...]:
        """The query's top-level parts (what a derived query is scored by)."""
        root = self.query.root
        return root.children if isinstance(root, And) else (root,)


def _frame_vocabulary(event: Event) -> frozenset[str]:
    frame = event.frame
    words = {w for p in frame.asserts | frame.opposes | frame.stages for w in p}
    return frozenset(words)


def _without_act(node: Node, vocabulary: frozenset[str]) -> Node | None:
    """The node with its AND parts that are only words of the act left out (None: nothing
    but the act)."""
    if isinstance(node, Term):
        return None if set(node.stems) <= vocabulary else node
    if isinstance(node, Or):
        # A group of the act's words, a stray one aside ("final approval" among "adopt").
        acts = sum(_without_act(c, vocabulary) is None for c in node.children)
        return None if acts * 2 > len(node.children) else node
    if isinstance(node, Not):
        return node
    kept = [c for c in node.children if _without_act(c, vocabulary) is not None]
    if not [c for c in kept if not isinstance(c, Not)]:
        return None
    return kept[0] if len(kept) == 1 else And(tuple(kept))


def question_spec(
    question_id: int,
    news_query: str,
    opened_on: date,
    resolve_by: date,
    default_outcome: str,
    title: str,
    criteria: str = "",
    derived: bool | None = None,
) -> QuestionSpec | None:
    """A spec from stored fields; None when neither the query nor the title gives a usable one.
    A derived query is matched softly (QuestionSpec.derived): `derived` as stored, or, when
    not given, whether the query equals the one derived from the title now."""
    try:
        query = parse_query(news_query)
        if derived is None:
            derived_text = derive_query(title) if title else ""
            derived = bool(derived_text) and " ".join(news_query.split()) == derived_text
    except InvalidInput:
        derived_text = derive_query(title) if title else ""
        # Only a stored query that cannot be used falls back to one derived from the title.
        try:
            query = parse_query(derived_text)
            derived = True
        except InvalidInput:
            return None
    return QuestionSpec(
        question_id,
        query,
        opened_on,
        resolve_by,
        default_outcome,
        title,
        criteria,
        derived,
    )


# ---------------------------------------------------------------------------------------------
# Matching


@dataclass(frozen=True)
class Verdict:
    """How one item bears on one question."""

    question_id: int
    outcome: str
    # "evidence" (for `outcome`) | "anticipated" | "negated" | "against" (the opposite act)
    # | "other-actor" | "no-event" (no word for the act) | "no-actor"
    kind: str
    score: float
    terms: tuple[str, ...]
    in_title: bool
    mixed: bool
    reading: Reading | None = None

    @property
    def predicate(self) -> str:
        return self.reading.predicate if self.reading else ""

    @property
    def polarity(self) -> str:
        return self.reading.polarity if self.reading else ""

    @property
    def actor(self) -> str:
        return self.reading.actor if self.reading else ""

    @property
    def decided_by(self) -> str:
        """The words that decided the verdict, for the rationale."""
        return self.reading.describe() if self.reading else ""


class Judge(Protocol):
    """Decides how one item bears on one question (None: not at all). `RuleJudge` is the
    default; another (a model, a person's rules) can stand in its place."""

    def __call__(self, question: QuestionSpec, item: AnalysedItem) -> Verdict | None: ...


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


class RuleJudge:
    """The default judge: the query's words outside negated and hedged scopes, then the
    event's act, polarity and actor (resolvers.event_judge)."""

    def __call__(self, question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
        if question.derived:
            return _judge_soft(question, item)
        return _judge_query(question, item)


def judge(question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
    """Whether the item bears on the question, and how (the default judge's verdict)."""
    return RuleJudge()(question, item)


def _read_event(
    question: QuestionSpec, item: AnalysedItem, ignore: frozenset[str]
) -> Reading | None:
    event = question.event
    if event is None:
        return None
    found = occurrences(event.frame, item.phrase_index, item.text.raws)
    return read_item(
        event,
        stems=item.stems,
        raws=item.text.raws,
        clauses=item.text.clauses,
        title_len=item.text.title_len,
        states=item.states(ignore),
        own_states=item.occurrence_states(found, ignore),
        mentions=item.mentions,
        found=found,
    )


def _ignored_cues(question: QuestionSpec, item: AnalysedItem) -> frozenset[str]:
    """Cues that are the question's own words, and for a question about an announced
    intention or a pledge, every hedge: there "will" and "pledges" are the event."""
    ignore = question.query.stems() & item.cue_keys
    event = question.event
    if event is not None and event.intention:
        ignore |= {c.key for c in item.cues if c.kind == HEDGED}
    return frozenset(ignore)


def _query_words_another_act(question: QuestionSpec) -> bool:
    """Whether the query has its own words for the act, other than the title's verb: then
    the query, not that verb, says what the act is ("set up, arm or fund" asked as "form OR
    create OR establish")."""
    event = question.event
    if event is None:
        return False
    verb = set(event.frame.asserts)
    for group in question.groups:
        terms = [group] if isinstance(group, Term) else list(getattr(group, "children", ()))
        words = [t for t in terms if isinstance(t, Term) and len(t.stems) == 1]
        if not words or any(t.text[:1].isupper() for t in words):
            continue
        verbs = [t for t in words if "VERB" in getAllLemmas(t.text.lower())]
        if len(verbs) * 2 > len(words) and not any((t.stems[0],) in verb for t in words):
            return True
    return False


def _act_words(question: QuestionSpec) -> frozenset[str]:
    event = question.event
    return _frame_vocabulary(event) if event is not None else frozenset()


def _name_terms(question: QuestionSpec) -> frozenset[Term]:
    """The query's terms that name what the act is done to (a place, a tournament): names
    in the query that are not the question's actors."""
    event = question.event
    if event is None:
        return frozenset()
    actor_words = {w for a in event.actors for p in a.aliases for w in p}
    actor_words |= {w for p in event.parties for w in p.stems}
    return frozenset(
        t
        for t in question.query.positive_terms()
        if t.text[:1].isupper() and not set(t.stems) & actor_words
    )


def _excluded_in(
    question: QuestionSpec, item: AnalysedItem, region: tuple[range, ...] | None
) -> Any:
    """The criteria's exclusion named anywhere in the item's deciding region: for news in
    other words than the query's, the summary's sentence counts too ("the emergency use
    authorization" beside "FDA authorizes")."""
    event = question.event
    if event is None or not event.exclusions or region is None:
        return None
    words = [item.stems[j] for r in region for j in r]
    return excluded_by(event, words, question.query.stems())


def _acts_on_another(question: QuestionSpec, item: AnalysedItem, reading: Reading | None) -> bool:
    """Whether the title's act is done to another named thing than the question's: "Syrian
    army recaptures Maarat al-Numan" for a question about Idlib city."""
    event = question.event
    if event is None or reading is None or not reading.in_title or not event.object_names:
        return False
    if reading.role == "defeat":
        return False  # who follows "beats" is the opponent, not the object
    title = item.stems[: item.text.title_len]
    if event.object_names & set(title):
        return False
    raws = item.text.raws
    end = reading.start + len(reading.predicate.split())
    for j in range(end, min(end + 3, item.text.title_len)):
        if stems_at := item.stems[j]:
            if (
                raws[j][:1].isupper()
                and not any(c.isdigit() for c in raws[j])
                and (stems_at not in _NOT_OBJECT_NAMES)
            ):
                # "the Pfizer-BioNTech vaccine": a name qualifying the question's own object.
                k = j + 1
                while k < item.text.title_len and raws[k][:1].isupper():
                    k += 1
                return not (k < item.text.title_len and item.stems[k] in event.objects)
    return False


def _excluded(question: QuestionSpec, item: AnalysedItem, reading: Reading | None) -> Any:
    """The criteria's "does not count" part the item's title leads with, if any: a title
    that asserts the act first and names the excluded thing after it ("completes its deal
    after FTC clearance") is about the act."""
    event = question.event
    if event is None or not event.exclusions:
        return None
    title = item.stems[: item.text.title_len]
    if reading is not None and reading.kind == ASSERTED and reading.in_title:
        title = title[: reading.start]
    return excluded_by(event, title, question.query.stems())


def _contrary(question: QuestionSpec, reading: Reading, terms: tuple[str, ...]) -> Verdict:
    # News that ends the event's chance suggests the default outcome.
    score = TITLE_SCORE if reading.in_title else BODY_SCORE
    return Verdict(
        question.id,
        question.default_outcome,
        "evidence",
        round(score, 3),
        terms,
        reading.in_title,
        False,
        reading,
    )


def _not_evidence(question: QuestionSpec, kind: str, reading: Reading | None) -> Verdict:
    return Verdict(question.id, question.event_outcome, kind, 0.0, (), False, False, reading)


_READING_KIND = {
    OPPOSED: "against",
    OTHER_ACTOR: "other-actor",
    ANTICIPATED: "anticipated",
}


def _judge_query(question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
    """Whether the item matches the question's query, as firm, anticipated or negated news,
    and whether it asserts the question's act."""
    query = question.query
    topic = question.topic
    if not topic.prefilter(item.stem_set):
        return None

    def anywhere(term: Term) -> bool:
        return item.has(term, None, NEGATED, False)

    if not topic.evaluate(anywhere):
        return None
    ignore = _ignored_cues(question, item)
    states = item.states(ignore)
    reading = _read_event(question, item, ignore)
    region = item.region(reading)
    if not query.evaluate(anywhere):
        # The who and what, but none of the query's words for the act: an opposite that
        # ends its chance (the deal was terminated) suggests the default outcome; the act
        # itself, in other words than the query's ("FDA clears" for "approve"), firmly, in
        # the title, by the question's actor, is news of the event.
        found = tuple(dict.fromkeys(t.text for t in topic.positive_terms() if anywhere(t)))
        if reading is not None and reading.kind == FINAL:
            return _contrary(question, reading, found)
        if reading is not None and reading.kind == OPPOSED:
            return _not_evidence(question, "against", reading)
        event = question.event
        if (
            reading is not None
            and reading.kind == ASSERTED
            and reading.in_title
            and event is not None
            and not event.frame.generic
            and topic.evaluate(lambda t: item.has(t, states, FIRM, False, region), anywhere)
            and not item.denied_in_title(topic, states)
            and _excluded(question, item, reading) is None
            and _excluded_in(question, item, region) is None
        ):
            score = PARAPHRASE_SCORE
            return Verdict(
                question.id,
                question.event_outcome,
                "evidence",
                score,
                (*found, reading.predicate),
                True,
                False,
                reading,
            )
        return None

    def view(max_state: int, title_only: bool = False) -> Any:
        return lambda term: item.has(term, states, max_state, title_only)

    terms = query.positive_terms()
    outcome = question.event_outcome
    if reading is not None and reading.kind == FINAL:
        return _contrary(question, reading, tuple(t.text for t in terms if anywhere(t)))
    act = _act_words(question)
    names = _name_terms(question)
    title_region = (range(0, item.text.title_len),)

    def here(term: Term) -> bool:
        # The act must stand outside every cue; who and what need only be there (not
        # denied); a name the act is done to must not be a look back ("her first title
        # since the 2017 Australian Open").
        state = FIRM if not act or set(term.stems) <= act else HEDGED
        if term in names and not item.has(term, states, state, False, title_region):
            return item.has_current(term, states, state, region)
        return item.has(term, states, state, False, region)

    firm_here = query.evaluate(here, anywhere) and not item.denied_in_title(query, states)
    if firm_here:
        if reading is not None and reading.kind in _READING_KIND:
            # The query's words are there, but the act is its opposite, only expected, or
            # another actor's.
            return _not_evidence(question, _READING_KIND[reading.kind], reading)
        event = question.event
        if (
            reading is not None
            and reading.kind == NO_ACTOR
            and event
            and {m.actor.kind for m in item.mentions} & event.actor_kinds
        ):
            # The act, but not by the question's actor: the query's generic words ("central
            # bank") matched someone else's.
            return _not_evidence(question, "no-actor", reading)
        if _excluded(question, item, reading) is not None:
            return _not_evidence(question, "excluded", reading)
        if _acts_on_another(question, item, reading):
            return _not_evidence(question, "other-object", reading)
        event = question.event
        if (
            reading is not None
            and reading.kind == ABSENT
            and event
            and event.frame.generic
            and not _query_words_another_act(question)
        ):
            # The query's words, but not the title's act ("blows up tunnels at its nuclear
            # test site" for "conduct a nuclear test").
            return _not_evidence(question, "no-event", reading)
        firm_terms = [t for t in terms if item.has(t, states, FIRM, False)]
        in_title = query.evaluate(view(FIRM, True), anywhere)
        # Mixed: the item also mentions the event inside negated or hedged scopes
        # ("signed a deal ... the other deal was not signed").
        mixed = query.evaluate(lambda term: item.has_outside(term, states, FIRM), anywhere)
        score = (TITLE_SCORE if in_title else BODY_SCORE) * (MIXED_FACTOR if mixed else 1.0)
        if reading is not None and reading.kind == ASSERTED:
            score *= EVENT_CONFIRMED_FACTOR
        return Verdict(
            question.id,
            outcome,
            "evidence",
            round(min(score, 0.95), 3),
            tuple(dict.fromkeys(t.text for t in firm_terms)),
            in_title,
            mixed,
            reading,
        )
    kind = "anticipated" if query.evaluate(view(HEDGED), anywhere) else "negated"
    return Verdict(question.id, outcome, kind, 0.0, (), False, False, reading)


def _judge_soft(question: QuestionSpec, item: AnalysedItem) -> Verdict | None:
    """A derived query's verdict: the share of its groups the item carries, and the act."""

    def anywhere(term: Term) -> bool:
        return item.has(term, None, NEGATED, False)

    def in_title(term: Term) -> bool:
        return item.has(term, None, NEGATED, True)

    groups = [g for g in question.groups if not isinstance(g, Not)]
    excluded = [g for g in question.groups if isinstance(g, Not)]
    if any(not Query(g, str(g)).evaluate(anywhere) for g in excluded):
        return None
    carried = [g for g in groups if Query(g, str(g)).evaluate(anywhere)]
    share = len(carried) / len(groups) if groups else 0.0
    if share < SOFT_MIN_SHARE_WITH_ACT:
        return None
    ignore = _ignored_cues(question, item)
    reading = _read_event(question, item, ignore)
    terms = tuple(
        dict.fromkeys(t.text for g in carried for t in Query(g, str(g)).positive_terms()
                      if anywhere(t))
    )  # fmt: skip
    event = question.event
    if event is not None and event.head_object:
        # What the act is done to must be there: "sign a ceasefire" is not "sign grain deals".
        wanted = [g for g in groups if event.head_object in Query(g, str(g)).stems()]
        if wanted and not any(g in carried for g in wanted):
            return None
    if item.denied_in_title(question.query, item.states(ignore)):
        return _not_evidence(question, "negated", reading)
    if reading is not None:
        if reading.kind == FINAL:
            return _contrary(question, reading, terms)
        if reading.kind in _READING_KIND:
            return _not_evidence(question, _READING_KIND[reading.kind], reading)
        if reading.kind == ABSENT and not (event and event.frame.generic and share >= 0.8):
            return _not_evidence(question, "no-event", reading)
        if reading.kind == ABSENT and share < SOFT_MIN_SHARE:
            return None
        if _acts_on_another(question, item, reading):
            return _not_evidence(question, "other-object", reading)
        if reading.kind == NO_ACTOR:
            return _not_evidence(question, "no-actor", reading)
        paraphrase = not set(scan(reading.predicate).stems) <= question.query.stems()
        if _excluded(question, item, reading) is not None or (
            paraphrase and _excluded_in(question, item, item.region(reading)) is not None
        ):
            return _not_evidence(question, "excluded", reading)
        title = reading.in_title
    elif share < SOFT_MIN_SHARE:
        return None
    else:
        # No act the frame table knows: the carried words must stand outside every cue.
        states = item.states(ignore)
        if any(
            not item.has(t, states, FIRM, False)
            for g in carried
            for t in Query(g, str(g)).positive_terms()
            if anywhere(t)
        ):
            return _not_evidence(question, "anticipated", None)
        title = all(Query(g, str(g)).evaluate(in_title) for g in carried)
    score = (TITLE_SCORE if title else BODY_SCORE) * (0.6 + 0.4 * share)
    return Verdict(
        question.id,
        question.event_outcome,
        "evidence",
        round(score, 3),
        terms,
        title,
        False,
        reading,
    )


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
