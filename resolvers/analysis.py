"""What matching reads: a news item analysed once (words, lemmas, cue scopes) and an open
question as a spec (its query, window, default outcome and event). A question whose query was
derived from its title (forecasts.derived_query) is matched softly (QuestionSpec.derived)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from itertools import chain
from typing import NamedTuple

from forecasts.actors import Mention, find_actors
from forecasts.derived_query import derive_query
from forecasts.errors import InvalidInput
from forecasts.event import (
    Event,
    Occurrence,
    PhraseIndex,
    never_the_act,
)
from forecasts.event import read_event as read_question_event
from forecasts.news_query import (
    And,
    Node,
    Not,
    Or,
    Query,
    Term,
    alternatives,
    and_parts,
    node_stems,
    parse_query,
    prefilter_of,
)
from forecasts.text import _ACRONYM_HINT, _WORDS, ACRONYM, Scanned, lemma_forms, scan, stem
from resolvers.cues import HEDGED, NEGATED, Cue, find_cues, scope_states
from resolvers.event_judge import (
    Reading,
)

# Words that make the name after them a look back, not the news.
_RETROSPECTIVE = frozenset({"since", "last", "previous", "former", "earlier", "ago", "past"})

# ---------------------------------------------------------------------------------------------
# Items and questions as the matcher sees them


def stem_set(title: str, summary: str = "") -> frozenset[str]:
    """The stems of scan(title, summary), without the rest of its work: each part's words
    as scan finds them (a clause stop never splits a word, so one pass over the part finds
    them all, as forecasts.text.title_words has it), stemmed in a C loop."""
    found: set[str] = set()
    for part in (title, summary):
        part = part.replace("’", "'")
        if "." in part and _ACRONYM_HINT.search(part):
            part = ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", part)
        # stem reads a word lowercased: the word as written stems as scan's lowered one.
        found.update(map(stem, _WORDS.findall(part)))
    return frozenset(found)


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
    """An item analysed once: its set of stems at once (what the index and the prefilters
    read), its scan (words in order, clauses, sentences), word positions and cues only if
    some question is judged on it, which most items never are."""

    def __init__(self, item: MatchItem) -> None:
        self.item = item
        self.stem_set = stem_set(item.title, item.summary)
        self._states: dict[frozenset[str], list[int]] = {}

    @cached_property
    def text(self) -> Scanned:
        return scan(self.item.title, self.item.summary)

    @cached_property
    def stems(self) -> list[str]:
        return self.text.stems

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
        for group in and_parts(query.root):
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
        vocabulary = frame_vocabulary(event)
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
        return and_parts(self.query.root)

    @cached_property
    def query_words_another_act(self) -> bool:
        """Whether the query has its own words for the act, other than the title's verb:
        then the query, not that verb, says what the act is ("set up, arm or fund" asked as
        "form OR create OR establish"). Worked out once per question, not per item."""
        event = self.event
        if event is None:
            return False
        verb = set(event.frame.asserts)
        for group in self.groups:
            terms = [group] if isinstance(group, Term) else list(getattr(group, "children", ()))
            words = [t for t in terms if isinstance(t, Term) and len(t.stems) == 1]
            if not words or any(t.text[:1].isupper() for t in words):
                continue
            verbs = [t for t in words if "VERB" in lemma_forms(t.text.lower())]
            if len(verbs) * 2 > len(words) and not any((t.stems[0],) in verb for t in words):
                return True
        return False

    @cached_property
    def sure_parts(self) -> tuple[Node, ...]:
        """The query's AND parts that every item passing the topic's prefilter carries,
        known without reading the event (which costs more than the rest of a question's
        analysis): the positive parts with no word the act could be worded by
        (forecasts.event.never_the_act), since only act words are left out of the topic.
        Matching indexes and prefilters a question by these, and reads its event only for
        the few items that carry them."""
        return tuple(g for g, _ in self._sure_groups())

    def _sure_groups(self) -> list[tuple[Node, tuple[tuple[str, ...], ...] | None]]:
        """sure_parts, each with its alternatives' stems (forecasts.news_query.alternatives;
        None for other shapes), worked out once for both."""
        groups = [(g, alternatives(g)) for g in self.groups]
        if not self.title:
            # No event: the topic is the whole query.
            return [(g, alts) for g, alts in groups if not isinstance(g, Not)]
        sure = never_the_act(
            self.title,
            [
                node_stems(g)
                if alts is None
                else (alts[0] if len(alts) == 1 else tuple(chain.from_iterable(alts)))
                for g, alts in groups
            ],
        )
        return [
            (g, alts)
            for (g, alts), ok in zip(groups, sure, strict=True)
            if ok and not isinstance(g, Not)
        ]

    @cached_property
    def sure_prefilter(self) -> Callable[[AbstractSet[str]], bool] | None:
        """The prefilter of sure_parts (None when there are none): False means the topic's
        prefilter is False too."""
        parts = self.sure_parts
        return prefilter_of(parts) if parts else None

    @property
    def index_parts(self) -> tuple[tuple[Node, tuple[tuple[str, ...], ...] | None], ...]:
        """What the index files the question by: the sure parts (a derived query, matched
        softly, by each of its positive parts), each with its alternatives' stems
        (forecasts.news_query.alternatives; None for other shapes)."""
        if self.derived:
            return tuple((g, alternatives(g)) for g in self.groups if not isinstance(g, Not))
        if "sure_parts" in self.__dict__:
            return tuple((part, alternatives(part)) for part in self.sure_parts)
        found = self._sure_groups()
        # What sure_parts would work out again: kept as it (a cached_property) keeps it.
        self.__dict__["sure_parts"] = tuple(g for g, _ in found)
        return tuple(found)

    @cached_property
    def index_terms(self) -> tuple[IndexPart, ...]:
        """index_parts as the index files by them (resolvers.match): each part with the
        stems it counts among the questions' stems and, when every alternative is one word,
        its anchors (they are then those words, whatever each costs)."""
        out = []
        for part, alts in self.index_parts:
            if alts is None:
                out.append(IndexPart(part, None, None, tuple(node_stems(part))))
            elif len(alts) == 1 and len(alts[0]) == 1:
                # One word (the common case): its stems tuple is the term's own.
                out.append(IndexPart(part, alts, frozenset(alts[0]), alts[0]))
            elif all(len(a) == 1 for a in alts):
                stems = tuple([a[0] for a in alts])
                out.append(IndexPart(part, alts, frozenset(stems), stems))
            else:
                out.append(IndexPart(part, alts, None, tuple(chain.from_iterable(alts))))
        return tuple(out)


class IndexPart(NamedTuple):
    """A part a question is filed by (QuestionSpec.index_terms): its node, its alternatives'
    stems (None for other shapes), its anchors when they do not depend on which stems are
    cheap (None: worked out by cost), and every stem it mentions."""

    node: Node
    alternatives: tuple[tuple[str, ...], ...] | None
    anchors: frozenset[str] | None
    stems: tuple[str, ...]


def frame_vocabulary(event: Event) -> frozenset[str]:
    frame = event.frame
    words = {w for p in frame.asserts | frame.opposes | frame.stages for w in p}
    return frozenset(words)


def is_act_part(node: Node, vocabulary: frozenset[str]) -> bool:
    """Whether a query part only names the act (its words are the frame's)."""
    return not isinstance(node, Not) and _without_act(node, vocabulary) is None


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


# Open questions analysed in earlier cycles, by every stored field the analysis reads (an
# edited question is a new key): a cycle analyses only what is new or changed. Sized well
# above the open questions a service holds, since a cycle reads them all in turn and an LRU
# smaller than that would miss on every one.
SPEC_CACHE_SIZE = 400_000


@lru_cache(maxsize=SPEC_CACHE_SIZE)
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
    not given, whether the query equals the one derived from the title now. Specs are
    immutable and cached (SPEC_CACHE_SIZE), with what matching worked out about them."""
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
