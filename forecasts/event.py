"""What a question's event is, read from its title and criteria: the act that must happen
(its predicate: raise, complete, launch, take effect, recapture, leave office, approve …),
who does it (its actors) and to what, and what the criteria say does not count.

The ideas are the political event coders' (TABARI, PETRARCH, the CAMEO ontology; see
RESOLVING.md): a verb dictionary of synonym sets, each with the acts that are its opposite
(CAMEO keeps "reject" apart from "approve"), the steps short of it (notifying a withdrawal is
not the withdrawal) and the opposites that end its chance (a deal terminated); and an actor
dictionary, so that "the Fed", "the Federal Reserve" and "the FOMC" are one actor and the Bank
of Japan another. The frames and actors below are this project's own; their synonyms are
widened with WordNet's (forecasts.lexicon). Everything here is pure: words in, a reading out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from forecasts.actors import (
    Actor,
    Mention,
    NamedParty,
    NameRun,
    actor_index,
    find_actors,
    is_name_word,
    name_runs,
    unknown_names,
)
from forecasts.event_frames import (
    LIGHT_VERBS,
    NOT_PREDICATES,
    Frame,
    Occurrence,
    Phrase,
    PhraseIndex,
    assert_index,
    every_frame_word,
    frame_named,
    occurrences,
    phrase,
    phrase_end,
)

__all__ = ["Event", "Occurrence", "PhraseIndex", "occurrences", "read_event"]
from forecasts.text import _ACRONYM_HINT, _WORDS, ACRONYM, lemma_forms, stem, title_words

# ---------------------------------------------------------------------------------------------
# Reading a question's event


@dataclass(frozen=True)
class Exclusion:
    """One thing the criteria say does not count, as the content lemmas that mark it."""

    text: str
    marks: frozenset[str]
    # Marked by a common noun of the criteria ("other technology deals"), not by a name
    # they give: a name an item holds it in ("Dell Technologies") does not name it.
    common: bool = False

    @property
    def another(self) -> bool:
        """Whether it excludes another's thing ("other technology deals"), not a kind of
        the act ("emergency use authorization")."""
        return self.text.lower().startswith(("other ", "another "))


@dataclass(frozen=True)
class Event:
    """A question's event: the frame of its act, the word that named it, its actors, the
    words for what it is done to, and the criteria's exclusions."""

    frame: Frame
    predicate: str
    actors: tuple[Actor, ...] = ()
    parties: tuple[NamedParty, ...] = ()
    objects: frozenset[str] = frozenset()
    exclusions: tuple[Exclusion, ...] = ()
    source: str = "title"  # where the predicate was read: title, query or criteria
    # The first word of what the act is done to, as the title has it ("ceasefire" in "sign
    # a ceasefire or peace agreement"), and whether it is a name ("Kherson").
    head_object: str = ""
    head_is_name: bool = False
    object_names: frozenset[str] = frozenset()  # capitalised words of the object (Kherson)
    # "Will Finland or Sweden join": any one of the actors will do, not all of them.
    any_actor: bool = False
    # The question asks whether someone announces, pledges or sets a target: then "will",
    # "plans to", "pledges" are the event itself, not hedges of it.
    intention: bool = False
    # Every actor the title names, whatever its role ("with Argentina", "US Supreme Court").
    named: frozenset[Actor] = frozenset()
    # The title's names that carry a member's mark ("Artemis II", "GPT-5", "iPhone X").
    series: tuple[NameRun, ...] = ()
    # The names of the title's subject, the words before its act ("Supreme Court").
    subject_names: tuple[NameRun, ...] = ()
    # "Will Google launch its Stadia service": what the act is done to is the actor's own,
    # so an item naming it ("Stadia goes live") names whose it is.
    owned_object: bool = False
    # The names of what the act is done to, the words after it ("French Open").
    object_runs: tuple[NameRun, ...] = ()
    # Every lemma of the title: a name an item gives its act's doer must be among them.
    title_words: frozenset[str] = frozenset()
    # "Will the act be signed": the title's subject undergoes the act rather than doing it.
    passive: bool = False

    @property
    def actor_kinds(self) -> frozenset[str]:
        return frozenset(a.kind for a in self.actors)

    def describe(self) -> str:
        who = ", ".join([a.name for a in self.actors] + [p.name for p in self.parties])
        return f"{self.frame.name}" + (f" by {who}" if who else "")


_QUESTION_WORDS = frozenset(
    stem(w)
    for w in (
        "will", "would", "is", "are", "was", "does", "do", "did", "can", "could", "should",
        "has", "have", "shall", "may", "might", "be",
    )
)  # fmt: skip
_FUNCTION = frozenset(
    stem(w)
    for w in (
        "a", "an", "the", "of", "on", "in", "into", "by", "to", "and", "or", "before", "after",
        "its", "it", "their", "his", "her", "at", "for", "with", "from", "any", "as", "than",
        "that", "this", "these", "those", "other", "new", "first", "least", "more", "most",
        "no", "not", "yes", "end", "year", "month", "day", "during", "within", "until", "by",
        "over", "under", "between", "about", "against", "least", "some", "all", "both", "there",
        "which", "who", "whose", "what", "when", "where", "how", "whether", "still", "ever",
        "again", "also", "one", "two", "three", "next", "meeting", "january", "february",
        "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december", "s", "own", "such", "so", "per", "via", "if", "but", "up",
        "out", "off", "down",
    )
)  # fmt: skip
_DIGITS = re.compile(r"^\d")
# What is lifted when "lift" means ending it rather than raising it.
_LIFTED = frozenset(
    stem(w)
    for w in (
        "ban", "sanction", "embargo", "restriction", "curb", "moratorium", "blockade",
        "lockdown", "siege", "suspension", "mandate", "tariff", "veto", "freeze",
    )
)  # fmt: skip

# What someone is released from, or what holds them, when "release" means setting free.
_CUSTODY = frozenset(
    stem(w)
    for w in (
        "prison", "jail", "custody", "detention", "prisoner", "hostage", "captivity",
        "arrest", "detain", "sentence", "bail", "parole", "captive", "detainee", "inmate",
    )
)  # fmt: skip


def _find_frame(stems: Sequence[str], start: int = 0) -> tuple[int, int, Frame] | None:
    """The first frame word at or after `start`: (position, length, frame). A light verb
    ("announce", "become") is skipped; a frame word inside a run that names an actor is not
    a predicate ("Trade" in "World Trade Organization" aside, names are found first)."""
    index = assert_index()
    i = start
    while i < len(stems):
        for p, frame in index.get(stems[i], ()):
            end = phrase_end(stems, i, p)
            if end > 0 and p not in NOT_PREDICATES:
                return i, end - i, frame
        i += 1
    return None


def _inside_name(raws: Sequence[str], at: int, start: int) -> bool:
    """Whether a capitalised frame word is part of a name with its neighbours ("Paris
    Agreement", "Iran Deal"): then it names a thing, not the act."""
    if at <= start or not raws[at][:1].isupper():
        return False
    return raws[at - 1][:1].isupper() or (at + 1 < len(raws) and raws[at + 1][:1].isupper())


def _title_verb(
    stems: Sequence[str],
    raws: Sequence[str],
    start: int,
    covered: set[int],
    compound_tails: Collection[str] = (),
) -> tuple[int, str] | None:
    """The title's first word (after its question words) that can be a verb and is not a
    name, a light verb or a function word: "open" in "Will the Tokyo Olympics open". The
    tail of a hyphenated compound is not it either: "Iran-backed forces", "a Saudi-led
    coalition" say who stands behind a thing, not what happens."""
    for j in range(start, len(stems)):
        raw = raws[j]
        if j in covered or not _may_name_act(raw, stems[j]) or raw.lower() in compound_tails:
            continue
        if _can_be_verb(raw.lower()) and not _in_noun_phrase(stems, raws, j):
            return j, stems[j]
    return None


_COMPOUND_TAIL = re.compile(r"\w-([^\W\d_]+)")
_DETERMINERS = frozenset({"a", "an", "the", "its", "their", "his", "her", "this", "that"})


def _in_noun_phrase(stems: Sequence[str], raws: Sequence[str], j: int) -> bool:
    """Whether the word ends a noun phrase its determiner opens ("a computer program"): a
    noun there, not the verb."""
    if j >= 1 and stems[j - 1] in _DETERMINERS:
        return True
    if j < 2 or stems[j - 2] not in _DETERMINERS or not raws[j - 1].islower():
        return False
    lemmas = lemma_forms(raws[j - 1].lower())
    return "NOUN" in lemmas and "VERB" not in lemmas


@lru_cache(maxsize=100_000)
def _can_be_verb(word: str) -> bool:
    return "VERB" in lemma_forms(word)


def _may_name_act(raw: str, lemma: str) -> bool:
    """Whether a title's word may be its verb (_title_verb), the dictionary aside: not a
    name, a function word, a light verb or a number."""
    if raw[:1].isupper() or lemma in _FUNCTION or lemma in LIGHT_VERBS:
        return False
    return not (lemma in _QUESTION_WORDS or _DIGITS.match(lemma) or len(lemma) < 3)


def never_the_act(title: str, query_parts: Sequence[Collection[str]]) -> list[bool]:
    """For each of a query's AND parts (given as its stems), whether it is sure to hold no
    word of the act of the event read from this title (frame_vocabulary of read_event's
    frame), told without reading the event: the act's words are some frame's, or the
    title's verb (a word that may be one, here) and the words of the query's parts holding
    it. Matching indexes a question cheaply by such parts."""
    frame_words = every_frame_word()
    verbs = title_act_words(title)
    if not verbs:
        return [frame_words.isdisjoint(part) for part in query_parts]
    touched: set[str] = set()
    for part in query_parts:
        if not verbs.isdisjoint(part):
            touched.update(part)
    return [
        frame_words.isdisjoint(part) and verbs.isdisjoint(part) and touched.isdisjoint(part)
        for part in query_parts
    ]


def title_act_words(title: str) -> set[str]:
    """The lemmas of the title's words that may be its verb (_may_name_act): the words of
    title_words, each word's verdict worked out once (a cycle asks it of every open
    question's title)."""
    text = title.replace("’", "'")
    if "." in text and _ACRONYM_HINT.search(text):
        text = ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", text)
    found = set()
    for raw in _WORDS.findall(text):
        if raw[0].isdecimal():
            continue  # a number (its lemma starts with the digit): never the verb
        lemma = _act_lemma(raw)
        if lemma:
            found.add(lemma)
    return found


@lru_cache(maxsize=100_000)
def _act_lemma(raw: str) -> str:
    """The word's lemma if it may name the act, else ""."""
    lemma = stem(raw.lower())
    return lemma if _may_name_act(raw, lemma) else ""


# Words that open a criteria's exclusion without naming what is excluded.
_NOT_HEADS = frozenset(
    stem(w)
    for w in (
        "general", "local", "regional", "national", "formal", "official", "only", "other",
        "joint", "new", "single", "partial", "temporary", "full", "mere", "any", "report",
        "statement", "announcement", "claim", "change", "people", "force", "forces",
        "government", "country", "state", "party", "side", "one", "two", "already",
    )
)  # fmt: skip


def _exclusions(criteria: str) -> tuple[Exclusion, ...]:
    """The criteria's "Does not count: a; b, c or d." parts, each marked by its head: the
    first content word that names a thing (not an actor, not an adjective of kind), or the
    names it gives in parentheses ("(SCO, BRICS)")."""
    out: list[Exclusion] = []
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", criteria):
        if not re.search(r"\b(?:does|do) not count\b", sentence, re.I):
            continue
        body = re.split(r"(?:does|do) not count\s*:?", sentence, maxsplit=1, flags=re.I)
        text = body[1] if len(body) > 1 and body[1].strip(" .") else body[0]
        for group in text.split(";"):
            named = re.findall(r"\(([^)]*)\)", group)
            plain = re.sub(r"\([^)]*\)", " ", group)
            for part in re.split(r",|\bor\b", plain):
                head = _head(part)
                if head:
                    out.append(Exclusion(part.strip(" ."), frozenset({head}), common=True))
            for inner in named:
                for name in inner.split(","):
                    name = name.strip()
                    if name[:1].isupper() and not re.search(r"\d", name):
                        stems = tuple(title_words(name)[1])
                        if stems:
                            out.append(Exclusion(name, frozenset(stems)))
    return tuple(out)


def _head(part: str) -> str | None:
    raws, lemmas = title_words(part)
    for lemma, raw in zip(lemmas, raws, strict=True):
        forms = lemma_forms(raw.lower())
        if forms and "NOUN" not in forms:
            continue  # "approved", "inside": no thing named
        if (
            lemma in _FUNCTION
            or lemma in _NOT_HEADS
            or len(lemma) < 4
            or _DIGITS.match(lemma)
            or _is_actor_word(lemma)
            or raw[:1].isupper()
            and raw.lower() not in ("talks",)
        ):
            continue
        return lemma
    return None


def excluded_by(
    event: Event,
    title_stems: Iterable[str],
    keep: Iterable[str] = (),
    in_names: AbstractSet[str] = frozenset(),
    others: bool = True,
) -> Exclusion | None:
    """The criteria's exclusion an item's title names, if any: every mark of it is in the
    title. Marks that are the question's own words (`keep`: its query's terms), its act's
    words or its object's are no exclusion ("the 2001 treaty already in force" does not
    exclude a treaty question's treaty). Nor are the frame's steps short of the act ("charges"
    for a conviction, "protests" for a resignation): the item's reading tells a step from the
    act by where it stands, so "convicted ... acquitted on other charges" stays the act.
    `in_names` are the title's words found only inside names: a common noun's exclusion
    is not named by them ("Dell Technologies" names no "other technology deals"). Without
    `others`, exclusions of another's thing are left out (Exclusion.another)."""
    have = frozenset(title_stems)
    frame = event.frame
    acts = frame.asserts | frame.opposes | frame.stages
    own = frozenset(keep) | event.objects | {w for p in acts for w in p}
    for exclusion in event.exclusions:
        if not others and exclusion.another:
            continue
        named = have - in_names if exclusion.common else have
        if exclusion.marks <= named and not exclusion.marks & own:
            return exclusion
    return None


def read_event(
    title: str,
    criteria: str = "",
    query_groups: Iterable[Iterable[str]] = (),
    default_outcome: str = "no",
) -> Event | None:
    """The question's event as its title says it (then its query's terms, then its
    criteria; `query_groups` are the query's AND parts, each its alternatives): a frame from
    the table when one's word names the act, else one made from the title's first verb;
    None when the title has none."""
    raws, stems = title_words(title)
    start = 0
    while start < len(stems) and stems[start] in _QUESTION_WORDS:
        start += 1
    mentions = find_actors(stems, raws)
    covered = {j for m in mentions for j in range(m.start, m.end)}
    found = None
    pos = start
    while True:
        candidate = _find_frame(stems, pos)
        if candidate is None:
            break
        at, length, _ = candidate
        if at not in covered and not _inside_name(raws, at, start):
            found = candidate
            break
        pos = at + 1
    source = "title"
    if found is None:
        groups = [list(g) for g in query_groups]
        terms = [t for g in groups for t in g]
        tails = {tail.lower() for tail in _COMPOUND_TAIL.findall(title)}
        verb = _title_verb(stems, raws, start, covered, tails)
        # The criteria's own YES sentence, not what they say does not count.
        yes = " ".join(
            part
            for part in re.split(r"(?<=[.!?])\s+", criteria)
            if re.search(r"\bresolves? yes\b", part, re.I)
        )
        # A title verb the query words too ("overturn OR overrule") is the act as the
        # question's own words put it: a frame the query's other words name is not asked.
        worded = verb is not None and any(verb[1] in phrase(t) for t in terms)
        sources = [] if worded else [("query", " ".join(terms))]
        sources += [] if verb else [("criteria", yes)]
        for source, text in sources:
            other = title_words(text)[1]
            hit = _find_frame(other)
            if hit is not None:
                at, length, frame = hit
                return _event(
                    frame, " ".join(other[at : at + length]), stems, raws, mentions, len(stems),
                    start, criteria, source,
                )  # fmt: skip
        if verb is None:
            return None
        at, lemma = verb
        # The act as the query words it (the query's group holding the verb), else the
        # verb alone, in every inflection.
        asserts: set[Phrase] = {(lemma,)}
        for group in groups:
            phrases = [phrase(t) for t in group]
            if any(lemma in p for p in phrases):
                asserts.update(p for p in phrases if p)
        frame = Frame(lemma, frozenset(asserts), frozenset(), generic=True)
        return _event(
            frame, raws[at], stems, raws, mentions, at, start, criteria, "title", after=at + 1
        )
    at, length, frame = found
    if frame.name == "raise" and _LIFTED & set(stems[at + length :]):
        frame = frame_named("lift")  # "lift sanctions", not "lift rates"
    if frame.name == "release" and not _CUSTODY & set(stems):
        frame = frame_named("go on sale")  # "release a Mac", not "released from prison"
    return _event(
        frame, " ".join(raws[at : at + length]), stems, raws, mentions, at, start, criteria,
        source, after=at + length,
    )  # fmt: skip


def _event(
    frame: Frame,
    predicate: str,
    stems: Sequence[str],
    raws: Sequence[str],
    mentions: Sequence[Mention],
    at: int,
    start: int,
    criteria: str,
    source: str,
    after: int | None = None,
) -> Event:
    # Actors: those named before the predicate (its subject); names the table does not know
    # count too. What follows the predicate is its object. A predicate read from the query
    # or the criteria has no place in the title: only the people the title names count.
    covered = {j for m in mentions for j in range(m.start, m.end)}
    # An actor directly followed by a name only says whose that is ("SpaceX's Falcon
    # Heavy", "NASA's DART spacecraft", "US Supreme Court"): the name is the subject, and
    # an item may call it by the owner's name too. "US Federal Reserve": the country only
    # says whose the bank is.
    owners: dict[int, tuple[str, ...]] = {}
    qualifiers: set[int] = set()
    for n, m in enumerate(mentions):
        if m.start >= at or m.end >= at:
            continue
        following = mentions[n + 1] if n + 1 < len(mentions) else None
        if (
            m.actor.kind == "country"
            and following is not None
            and following.start == m.end
            and following.actor.kind != "country"
        ):
            qualifiers.add(n)
        elif (
            m.end not in covered
            and is_name_word(raws[m.end])
            and stems[m.end] not in _FUNCTION
            and stems[m.end] not in _OFFICES
            and not _DIGITS.match(stems[m.end])
        ):
            qualifiers.add(n)
            owners[m.end] = tuple(stems[m.start : m.end])
    subject = [
        m.actor for n, m in enumerate(mentions) if m.start < at and n not in qualifiers
    ] if source == "title" else []  # fmt: skip
    parties = [
        p
        # A covered word ends a run: what is left names no actor the table knows.
        for p in unknown_names(
            raws, stems, range(start, at), _QUESTION_WORDS | _FUNCTION, covered, owners
        )
        if p.stems[0] not in _OFFICES
    ]
    objects: set[str] = set()
    names: set[str] = set()
    head, head_is_name, head_done = "", False, False
    if after is not None:
        for j in range(after, len(stems)):
            if j in covered or stems[j] in _FUNCTION or _DIGITS.match(stems[j]):
                continue
            if not head_done and re.match(r"\d", raws[j]) is None:
                # The head of the first noun phrase is its last word: "rate" in "its
                # benchmark interest rate", "jet" in "a Russian military jet".
                head, head_is_name = stems[j], raws[j][:1].isupper()
                nxt = j + 1
                if (
                    nxt >= len(stems)
                    or nxt in covered
                    or (
                        # A capitalised word inside a name ("Formula One world championship")
                        # does not end the phrase, whatever it is.
                        stems[nxt] in _FUNCTION
                        and not (raws[j][:1].isupper() and raws[nxt][:1].isupper())
                    )
                ):
                    head_done = True
            elif head and not head_done:
                head_done = True
            if raws[j][:1].isupper():
                names.add(stems[j])
            objects.add(stems[j])
    del covered
    return Event(
        frame=frame,
        predicate=predicate,
        actors=tuple(dict.fromkeys(subject)),
        parties=tuple(parties),
        objects=frozenset(objects),
        exclusions=_exclusions(criteria),
        source=source,
        intention=frame.name == "commit" or _announces_intention(stems),
        head_object=head,
        head_is_name=head_is_name,
        object_names=frozenset(names),
        any_actor=_alternatives(mentions, stems, at),
        named=frozenset(m.actor for m in mentions),
        series=tuple(r for r in name_runs(raws, stems, range(start, len(stems))) if r.marks),
        subject_names=tuple(
            r for r in name_runs(raws, stems, range(start, min(at, len(stems)))) if not r.marks
        ) if source == "title" else (),
        owned_object=after is not None
        and after + 1 < len(stems)
        and stems[after] in ("its", "their", "his", "her")
        and bool(names),
        object_runs=tuple(
            r for r in name_runs(raws, stems, range(after, len(stems))) if not r.marks
        ) if source == "title" and after is not None else (),
        title_words=frozenset(stems),
        passive=source == "title" and 0 < at <= len(stems) and stems[at - 1] == "be",
    )  # fmt: skip


# Titles of office, capitalised in titles ("President of Syria") but no one's name.
_OFFICES = frozenset(
    stem(w)
    for w in (
        "president", "minister", "king", "queen", "chancellor", "secretary", "governor",
        "mayor", "leader", "premier", "pope", "emperor", "general", "senator", "speaker",
        "chairman", "chair", "ceo", "party", "member", "government", "court", "parliament",
        "congress", "senate", "army", "state", "states", "republic",
    )
)  # fmt: skip


def _alternatives(mentions: Sequence[Mention], stems: Sequence[str], at: int) -> bool:
    before = [m for m in mentions if m.start < at]
    if len(before) < 2:
        return False
    return "or" in stems[before[0].end : before[-1].start]


def _announces_intention(stems: Sequence[str]) -> bool:
    """ "Will X announce she will step down": the announcement of an intention is the event."""
    for j, lemma in enumerate(stems):
        if lemma in ("announce", "say", "declare", "confirm") and any(
            later in ("will", "plan", "intend", "not") for later in stems[j + 1 : j + 4]
        ):
            return True
    return False


def _is_actor_word(lemma: str) -> bool:
    return lemma in actor_index()
