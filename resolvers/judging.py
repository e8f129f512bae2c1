"""Judging one analysed item against one question: whether it is evidence, and for which
outcome.

An item is evidence for the event only if the query holds on the words outside every cue's
scope (resolvers.cues: negation, hedging, cancellation) and, where the question's title names
an act the frame table knows (forecasts.event_frames), the item asserts that act, firmly, by
the question's actor (resolvers.event_judge): the opposite act is evidence against, and an
opposite that ends the event's chance (a deal terminated) is evidence for the default
outcome. If the query holds only with hedged words the item merely anticipates the event, and
neither counts. A cue that is itself one of the question's query terms (a question about Iran
*rejecting* something) is not a cue for that question. Derived queries are scored by the
share of their groups an item carries, and the event's act and actor must be there.

The judge is pluggable (`Judge`); `RuleJudge` is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from forecasts.actors import is_name_word, name_runs, other_entity, other_member
from forecasts.event import (
    excluded_by,
    occurrences,
)
from forecasts.lexicon import synonyms
from forecasts.news_query import Not, Query, Term
from forecasts.text import lemma_forms, scan
from resolvers.analysis import AnalysedItem, QuestionSpec, frame_vocabulary, is_act_part
from resolvers.cues import FIRM, HEDGED, NEGATED
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

# The act in other words than the query's, in the title: news of the event, less sure.
PARAPHRASE_SCORE = 0.5
# A derived query is scored: an item must carry this share of its groups, or less when it
# asserts the title's act by its actor, what the act is done to included.
SOFT_MIN_SHARE = 0.6
SOFT_MIN_SHARE_WITH_ACT = 0.4


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


def _act_words(question: QuestionSpec) -> frozenset[str]:
    event = question.event
    return frame_vocabulary(event) if event is not None else frozenset()


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
    authorization" beside "FDA authorizes"). Another's thing ("other technology deals")
    counts in the title alone (_excluded): a summary describes the event itself in such
    words ("the largest technology deal on record")."""
    event = question.event
    if event is None or not event.exclusions or region is None:
        return None
    words = [item.stems[j] for r in region for j in r]
    names = _in_names(item, region)
    return excluded_by(event, words, question.query.stems(), names, others=False)


def _title_case(item: AnalysedItem) -> bool:
    """Whether the item's title is written in title case, every long word capitalised: its
    capitals then mark no names."""
    text = item.text
    span = range(0, text.title_len)
    capitals = sum(1 for j in span if text.raws[j][:1].isupper() and len(text.raws[j]) > 3)
    long_words = sum(1 for j in span if len(text.raws[j]) > 3)
    return capitals * 5 >= long_words * 3


def _in_names(item: AnalysedItem, region: tuple[range, ...]) -> frozenset[str]:
    """The region's words found there only inside a name of two or more capitalised words
    ("Technologies" in "Dell Technologies"); none from a title written in title case."""
    raws, stems, clauses = item.text.raws, item.stems, item.text.clauses
    title_case = _title_case(item)
    named: set[str] = set()
    plain: set[str] = set()
    for r in region:
        for j in r:
            inside = (
                is_name_word(raws[j])
                and not (title_case and j < item.text.title_len)
                and any(
                    0 <= k < len(raws) and clauses[k] == clauses[j] and is_name_word(raws[k])
                    for k in (j - 1, j + 1)
                )
            )
            (named if inside else plain).add(stems[j])
    return frozenset(named - plain)


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


def _other_named(question: QuestionSpec, item: AnalysedItem) -> str:
    """A name in the item's title for another thing than the question's: another member of
    its series ("GPT-4o" for "GPT-5") or another body of a shared name ("High Court" for
    "Supreme Court"); "" when none."""
    event = question.event
    if event is None or not (event.series or event.subject_names or event.object_runs):
        return ""
    text = item.text
    # A headline's first word is capitalised whatever it is: a common noun there
    # ("Comedian Zelensky wins") describes, an adjective ("High Court") may name.
    lemmas = lemma_forms(text.raws[0].lower()) if text.title_len else {}
    first = 1 if "NOUN" in lemmas and "ADJ" not in lemmas else 0
    runs = name_runs(text.raws, item.stems, range(first, text.title_len))
    found = other_member(event.series, runs)
    if not found and not _title_case(item):
        # In a title written in title case every word is capitalised: no names to compare.
        found = other_entity(event.subject_names + event.object_runs, runs)
    return found


# Prefixes that make a word its opposite ("unlawful" for "lawful", "illegal" for "legal").
_NEGATIVE_PREFIXES = ("un", "in", "il", "ir", "im", "non", "dis")


def _object_reversed(question: QuestionSpec, item: AnalysedItem) -> str:
    """The word in the item's title that is the question's object with a negative prefix
    ("rules the plan unlawful" for a question whether it is ruled lawful), else ""."""
    event = question.event
    if event is None or not event.head_object or len(event.head_object) < 4:
        return ""
    head = event.head_object
    title = item.stems[: item.text.title_len]
    if head in title:
        return ""
    for word in title:
        for prefix in _NEGATIVE_PREFIXES:
            if word == prefix + head or word == prefix + "-" + head:
                return word
    return ""


def _object_missing(question: QuestionSpec, item: AnalysedItem) -> bool:
    """Whether nothing the title's act is done to is in the item: not its head, a WordNet
    synonym of it, nor any other word of the object ("grant approval to a vaccine" and an
    item about a drug)."""
    event = question.event
    if event is None or not event.head_object or event.head_is_name:
        return False
    wanted = set(event.objects) | {event.head_object} | set(synonyms(event.head_object, "n"))
    return not (wanted & item.stem_set)


def _act_alone(item: AnalysedItem, reading: Reading | None) -> bool:
    """Whether the title asserts the act with nothing after it that it is done to: "Macron
    re-elected, beating Le Pen" (the second term is implied), not "signs grain deals"."""
    if reading is None or reading.kind != ASSERTED or not reading.in_title:
        return False
    end = reading.start + len(reading.predicate.split())
    text = item.text
    if end >= text.title_len or text.clauses[end] != text.clauses[reading.start]:
        return True
    following = text.raws[end].lower()
    lemmas = lemma_forms(following)
    # A verb or an adverb follows: the act stands alone. A word the dictionary does not
    # know ("UN-backed", "European") may open what it is done to.
    return following.endswith("ing") or (bool(lemmas) and "NOUN" not in lemmas)


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
    names = _in_names(item, (range(0, len(title)),))
    return excluded_by(event, title, question.query.stems(), names)


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
        # the title, by the question's actor, is news of the event. As for the query's own
        # words (`here` below), the who and what need only not be denied: "buyers could get
        # a PS5 from Thursday" names the console the title's act is about.
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
            and topic.evaluate(lambda t: item.has(t, states, HEDGED, False, region), anywhere)
            and not item.denied_in_title(topic, states)
            and _excluded(question, item, reading) is None
            and _excluded_in(question, item, region) is None
            and not _other_named(question, item)
            and not _object_reversed(question, item)
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
        if _acts_on_another(question, item, reading) or _other_named(question, item):
            return _not_evidence(question, "other-object", reading)
        if _object_reversed(question, item):
            return _not_evidence(question, "against", reading)
        event = question.event
        if (
            reading is not None
            and reading.kind == ABSENT
            and event
            and event.frame.generic
            and not question.query_words_another_act
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
    event = question.event
    if event is not None and not event.frame.generic and len(carried) < len(groups):
        # The query's group for the act shows a few of the frame's words; any of the
        # frame's phrases for the act carries it ("re-elected" for "win", "touches down").
        vocabulary = frame_vocabulary(event)
        acts = [g for g in groups if g not in carried and is_act_part(g, vocabulary)]
        found = occurrences(event.frame, item.phrase_index, item.text.raws) if acts else []
        if any(o.role == "asserts" for o in found):
            carried += acts[:1]
    share = len(carried) / len(groups) if groups else 0.0
    if share < SOFT_MIN_SHARE_WITH_ACT:
        return None
    ignore = _ignored_cues(question, item)
    reading = _read_event(question, item, ignore)
    terms = tuple(
        dict.fromkeys(t.text for g in carried for t in Query(g, str(g)).positive_terms()
                      if anywhere(t))
    )  # fmt: skip
    if event is not None and event.head_object:
        # What the act is done to must be there: "sign a ceasefire" is not "sign grain deals".
        wanted = [g for g in groups if event.head_object in Query(g, str(g)).stems()]
        if wanted and not any(g in carried for g in wanted) and not _act_alone(item, reading):
            return None
        if not wanted and _object_missing(question, item):
            return None
    if item.denied_in_title(question.query, item.states(ignore)):
        return _not_evidence(question, "negated", reading)
    if _other_named(question, item):
        return _not_evidence(question, "other-object", reading)
    if _object_reversed(question, item):
        return _not_evidence(question, "against", reading)
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
