"""The event frames: each act a question can turn on (raise, complete, launch, recapture,
leave office …) with its synonyms, its opposites, the steps short of it and the opposites that
end its chance, after the event coders' verb dictionaries (see forecasts.event). The frames
are this project's own; their synonyms are widened with WordNet's (forecasts.lexicon)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from forecasts.lexicon import antonyms, synonyms
from forecasts.text import lemma_forms, stem, title_words

Phrase = tuple[str, ...]  # lemmas, in order


@lru_cache(maxsize=100_000)
def phrase(text: str) -> Phrase:
    """A phrase as the lemmas its words analyse to ("shot down" -> ("shoot", "down"))."""
    return tuple(title_words(text)[1])


# A frame phrase's object slot: "give * title" is "give", then its object (one to
# _MAX_SLOT words: "gives Germany a fourth world title"), then "title".
SLOT = "*"


def slot_phrase(text: str) -> Phrase:
    """A table phrase as its lemmas, an object slot ("*") kept in its place."""
    if f" {SLOT} " not in text:
        return phrase(text)
    left, _, right = text.partition(f" {SLOT} ")
    return (*phrase(left), SLOT, *phrase(right))


def phrase_set(spec: str) -> frozenset[Phrase]:
    return frozenset(p for p in (slot_phrase(part) for part in spec.split("|")) if p)


# ---------------------------------------------------------------------------------------------
# Frames


@dataclass(frozen=True)
class Frame:
    """One kind of act: the phrases that assert it, those that assert its opposite (evidence
    against), the opposites that leave it no chance (`final`), and steps short of it."""

    name: str
    asserts: frozenset[Phrase]
    opposes: frozenset[Phrase]
    final: frozenset[Phrase] = frozenset()
    stages: frozenset[Phrase] = frozenset()
    # Seed words (lemma, part of speech) whose WordNet synonyms and antonyms were added.
    seeds: tuple[str, ...] = ()
    # The frame's own asserting phrases in the order the table lists them.
    ordered: tuple[Phrase, ...] = ()
    # Made for one question from its title's verb (and its query's words for that act),
    # rather than taken from the table.
    generic: bool = False


# name, seed words for WordNet ("word/pos"), asserts, opposes, final, stages. Phrases are
# "|"-separated and written as lemmas; every inflection matches (forecasts.text).
_FRAME_SPECS: list[tuple[str, str, str, str, str, str]] = [
    (
        "raise",
        "raise/v hike/v increase/v",
        "raise|hike|increase|boost|lift|push up|tighten|rate hike|rate rise|rate increase",
        "cut|lower|reduce|ease|slash|hold|keep|leave unchanged|keep unchanged|pause|"
        "hold steady|stand pat|on hold|skip|rate cut",
        "",
        "",
    ),
    (
        "cut",
        "cut/v lower/v reduce/v",
        "cut|lower|reduce|ease|slash|trim|rate cut|rate reduction",
        "raise|hike|increase|hold|keep|leave unchanged|keep unchanged|pause|hold steady|"
        "stand pat|on hold|rate hike",
        "",
        "",
    ),
    (
        "complete",
        "complete/v finalize/v close/v",
        # A deal "goes through" when it completes ("fall through" is its opposite).
        "complete|close|finalize|finalise|conclude|seal|wrap up|consummate|completion|go through",
        "abandon|call off|terminate|scrap|drop|walk away|collapse|block|prohibit|reject|"
        "sue to block|fall through|pull out|withdraw|termination|veto",
        "abandon|call off|terminate|scrap|walk away|fall through|termination",
        "agree|approve|clear|vote|sign|announce",
    ),
    (
        "acquire",
        "acquisition/n merger/n",
        "acquire|buy|purchase|take over|takeover|acquisition|merge|merger",
        "abandon|call off|terminate|scrap|drop|walk away|collapse|block|prohibit|reject|"
        "sue to block|fall through|pull out|withdraw|termination|veto",
        "abandon|call off|terminate|scrap|walk away|fall through|termination",
        "agree|bid|offer|approach|talk|explore|consider",
    ),
    (
        "launch",
        "launch/v",
        "launch|lift off|liftoff|blast off|launching|go live",
        "scrub|postpone|delay|abort|stand down|push back|call off|cancel|ground|slip|"
        "hold back|withhold",
        "cancel",
        "roll out|static fire|rehearsal|stack|fuel|target|schedule|slate|set|set date",
    ),
    (
        "approve",
        "approve/v ratify/v",
        "approve|clear|greenlight|green light|approval|grant approval|endorse|sign off|pass|"
        "license|ratify|adopt|authorize|authorise|ratification",
        "reject|deny|block|veto|disapprove|vote down|turn down|refuse|decline|delay|postpone|"
        "rejection",
        "",
        "recommend|review|consider|debate|hearing|vote on|advisory|apply|application|submit|"
        "file|seek|request",
    ),
    (
        "reject",
        "reject/v veto/v",
        "reject|veto|vote down|block|turn down|refuse|rejection",
        "approve|pass|clear|authorize|authorise|ratify|adopt",
        "",
        "",
    ),
    (
        "take effect",
        "",
        "take effect|enter into force|come into force|go into effect|come into effect|"
        "enter force|become effective|kick in|in force|in effect|effective",
        "delay|postpone|suspend|block|halt|pause|scrap|strike down",
        "",
        "sign|pass|approve|announce|adopt|publish|notify|ratify|vote",
    ),
    (
        "withdraw",
        "withdraw/v pull_out/v leave/v withdrawal/n",
        "withdraw|pull out|quit|leave|exit|secede|withdrawal|exit",
        "rejoin|remain|stay|reverse|reconsider|rescind|delay|postpone|extension|extend",
        "",
        "notify|notification|notice|give notice|formal notice|start process|begin process|"
        "trigger|submit|letter|deposit",
    ),
    (
        "leave office",
        "resign/v step_down/v oust/v depose/v overthrow/v resignation/n",
        "resign|step down|quit|leave office|oust|depose|topple|overthrow|remove|flee|"
        "step aside|force out|hand over power|resignation|ouster|die|exile|leave power|"
        "left office|give up|stand down",
        "sworn in|re-elect|remain|survive|refuse to resign|cling|reelect|inaugurate|new term",
        "",
        "impeach|impeachment|no-confidence|call to resign|protest|demand",
    ),
    (
        "recapture",
        "recapture/v retake/v capture/v seize/v",
        "recapture|retake|regain|take back|liberate|win back|capture|seize|take control|"
        "reclaim|liberation|enter|recapture",
        "lose|withdraw from|retreat|pull back|repel|repulse|fail to take|fall to",
        "",
        "advance|push|offensive|approach|encircle|close in|battle for|fight for",
    ),
    (
        "capture",
        "capture/v seize/v invade/v",
        "capture|seize|take|conquer|take control|occupy|fall to|overrun|take over",
        "repel|repulse|withdraw|retreat|fail to take",
        "",
        "advance|push|offensive|approach|encircle|close in|battle for|fight for",
    ),
    (
        "win",
        "win/v elect/v",
        # A title given or handed to someone is theirs: "a late goal gives Germany the
        # title" (the slot names the winner; resolvers.event_judge).
        "win|victory|elect|clinch|sweep|triumph|winner|win election|crown|champion|"
        "lift trophy|lift the trophy|claim title|take title|retain title|give * title|"
        "hand * title",
        "lose|concede|defeat|loss",
        "",
        "lead|poll|ahead|favourite|favorite|projected|reach|advance|qualify|quarter-final|"
        "quarterfinal|semi-final|semifinal",
    ),
    (
        "sign",
        "sign/v",
        # Leaders "put their names (or signatures) to" what they sign.
        "sign|ink|signing|seal|put name to|put signature to|put signature on",
        "refuse to sign|reject|pull out|walk away|postpone|delay",
        "",
        "initial|draft|negotiate|finalise|finalize|approve draft",
    ),
    (
        "agree",
        "agreement/n treaty/n",
        "agree|agreement|deal|accord|pact|treaty|memorandum|joint statement|strike deal|"
        "reach deal|seal deal",
        "collapse|break down|reject|walk out|walk away|stall|fail",
        "",
        "talk|negotiate|propose|proposal|draft|discuss|meet",
    ),
    (
        "shoot down",
        "shoot_down/v down/v",
        "shoot down|down|bring down|downing|shootdown",
        "",
        "",
        "",
    ),
    (
        "ban",
        "ban/v",
        "ban|prohibit|outlaw|bar",
        "lift ban|allow|permit|legalise|legalize|overturn|strike down",
        "",
        "propose|consider|debate|bill",
    ),
    (
        "lift",
        "lift/v",
        "lift|repeal|revoke|rescind|remove|scrap|ease",
        "extend|renew|impose|tighten|expand|keep|maintain",
        "",
        "propose|consider|debate|signal",
    ),
    (
        "impose",
        "impose/v",
        "impose|levy|introduce|adopt|slap",
        "lift|remove|delay|suspend|exempt|pause|postpone|scrap|drop|exemption",
        "",
        "threaten|propose|consider|announce plan|warn",
    ),
    (
        "join",
        "join/v",
        "join|accede|become member|admit|accession|membership",
        "reject|veto|block|leave|withdraw",
        "",
        "apply|application|invite|invitation|candidate|talk",
    ),
    (
        "default",
        "default/v",
        "default|miss payment|fail to pay",
        "pay|make payment|avert default|repay",
        "",
        "",
    ),
    (
        "give up",
        "relinquish/v cede/v surrender/v dismantle/v",
        "give up|relinquish|cede|surrender|dismantle|hand over|renounce|destroy|handover",
        "expand|build|keep|retain|enlarge|extend|increase|boost|develop|acquire|upgrade",
        "",
        "agree|offer|propose|pledge|talk",
    ),
    (
        "criticise",
        "criticize/v condemn/v",
        "criticise|criticize|clash|rebuke|condemn|accuse|reject|denounce|slam|blame|criticism",
        "praise|welcome|back|support|endorse",
        "",
        "",
    ),
    (
        "convict",
        "",
        "convict|conviction|find guilty|found guilty|guilty verdict|plead guilty",
        "acquit|acquittal|not guilty|mistrial|overturn|throw out",
        "",
        "charge|trial|indict|indictment|arrest|plead not guilty|jury selection",
    ),
    (
        "release",
        "release/v",
        "release|free|set free|pardon|walk out|walk free|leave prison|leave jail",
        "sentence|convict|detain|extend detention",
        "",
        "",
    ),
    (
        # A product or work brought out for people to buy or use; "release" from custody
        # is the release frame (forecasts.event tells them apart by the title's words).
        "go on sale",
        "",
        # "hit shelves" as news writes it: the lemmatizer reads "shelves" as the verb
        # "shelve" (to put off), one of this frame's opposites.
        "go on sale|on sale|release|hit store|hit shelf|hit shelves|reach store|"
        "reach shelves|reach customer|reach buyer|arrive|ship|go on general sale|"
        "become available|roll out|debut|go live",
        "delay|postpone|push back|recall|cancel|scrap|shelve|hold back|withhold",
        "cancel|scrap|shelve",
        "unveil|announce|reveal|preview|pre-order|preorder|show|demo|tease|leak|test|"
        "schedule|slate|set|set date",
    ),
    (
        "commit",
        "",
        "pledge|vow|commit|commitment|promise|set target|target|goal|aim|announce target|"
        "unveil target|set goal",
        "abandon|drop|scrap|withdraw|reverse|water down|weaken",
        "",
        "consider|discuss|propose|debate|draft|urge|call for",
    ),
    (
        "invade",
        "invade/v attack/v",
        "invade|attack|strike|bomb|shell|launch offensive|cross into|incursion|invasion",
        "withdraw|ceasefire",
        "",
        "",
    ),
]

# Words that stand for no act of their own: "announce an agreement", "make a deal",
# "become president". The event is then the next frame word after them, if any.
LIGHT_VERBS = frozenset(
    stem(w)
    for w in (
        "announce", "make", "reach", "become", "have", "get", "be", "see", "hold", "set",
        "put", "give", "take", "formally", "officially", "publicly", "still", "ever", "again",
        "finally", "successfully", "actually",
    )
)  # fmt: skip
# Phrases a frame word takes in titles that are not that act ("take effect" aside, "take"
# alone is too common to be a predicate; "hold" the light verb).
NOT_PREDICATES = frozenset(
    {("take",), ("hold",), ("keep",), ("enter",), ("free",), ("down",), ("end",), ("lead",)}
)


# WordNet lemmas of a seed's sense that news uses for another act of its own frame list
# ("raise a siege" is lift's sense 20, but "raise" is the raise frame's word).
_WORDNET_SKIP: dict[str, frozenset[Phrase]] = {
    "lift": frozenset({("raise",), ("reverse",), ("annul",)}),
    "withdraw": frozenset({("retreat",), ("pull", "back")}),
    "leave office": frozenset({("renounce",), ("give", "up")}),
    "capture": frozenset({("occupy",)}),
    # In news "sanctions" are penalties far more often than approvals.
    "approve": frozenset({("sanction",)}),
}


def _expand(seeds: str) -> tuple[frozenset[Phrase], frozenset[Phrase]]:
    same: set[Phrase] = set()
    other: set[Phrase] = set()
    for seed in seeds.split():
        word, _, pos = seed.partition("/")
        word = word.replace("_", " ")
        same.update(phrase(w) for w in synonyms(word, pos or None))
        other.update(phrase(w) for w in antonyms(word, pos or None))
    return frozenset(p for p in same if p), frozenset(p for p in other if p)


@cache
def frames() -> tuple[Frame, ...]:
    """The frame table, with WordNet's synonyms and antonyms of each frame's seed words."""
    out = []
    own = {name: phrase_set(asserts) for name, _, asserts, *_ in _FRAME_SPECS}
    for name, seeds, asserts, opposes, final, stages in _FRAME_SPECS:
        wn_same, wn_other = _expand(seeds)
        # A WordNet synonym that is another frame's own word stays that frame's ("quit"
        # and "leave office" share a synset; "leave office" is the leave-office frame's).
        others = frozenset().union(*(v for k, v in own.items() if k != name))
        wn_same -= _WORDNET_SKIP.get(name, frozenset()) | others
        own_asserts = phrase_set(asserts)
        own_opposes = phrase_set(opposes) if opposes else frozenset()
        out.append(
            Frame(
                name=name,
                asserts=own_asserts | (wn_same - own_opposes),
                opposes=own_opposes | (wn_other - own_asserts),
                final=phrase_set(final) if final else frozenset(),
                stages=phrase_set(stages) if stages else frozenset(),
                seeds=tuple(seeds.split()),
                ordered=tuple(dict.fromkeys(slot_phrase(p) for p in asserts.split("|"))),
            )
        )
    return tuple(out)


@cache
def every_frame_word() -> frozenset[str]:
    """Every lemma of every frame's asserting, opposing and stage phrases: the words an act
    from the table can be worded by."""
    return frozenset(
        w for f in frames() for p in f.asserts | f.opposes | f.stages for w in p if w != SLOT
    )


def frame_named(name: str) -> Frame:
    for frame in frames():
        if frame.name == name:
            return frame
    raise KeyError(name)


@cache
def assert_index() -> dict[str, list[tuple[Phrase, Frame]]]:
    """First lemma of each of a frame's own asserting phrases (the table's, not WordNet's)
    -> (phrase, frame), longest phrases first. A question's act is told by these alone:
    WordNet's synonyms widen what news may word the act by, but a sense shared with another
    act ("overturn" a ruling among "overthrow" a ruler's synonyms) must not decide which
    act a question asks about; a verb no frame lists makes a frame of its own."""
    index: dict[str, list[tuple[Phrase, Frame]]] = {}
    for frame in frames():
        for p in frame.ordered:
            index.setdefault(p[0], []).append((p, frame))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


# ---------------------------------------------------------------------------------------------
# Phrases in analysed text


@dataclass(frozen=True)
class Occurrence:
    """A frame phrase found in a text: where, which phrase, and how it bears on the frame."""

    start: int
    end: int
    role: str  # "asserts" | "opposes" | "stage" | "defeat" (a win over whoever follows)
    text: str
    final: bool = False
    # Matched by a phrase with an object slot: who stands in the slot is whom the act is
    # about ("gives Germany the title": Germany won).
    slot: bool = False


# In a contest, "X beats Y" is X's win and Y's loss: who stands after the verb lost.
_DEFEATS = phrase_set(
    "beat|defeat|rout|oust|eliminate|knock out|edge|overcome|crush|thrash|dethrone|upset|"
    "stun|topple|unseat|trounce|see off"
)


@dataclass
class PhraseIndex:
    """Positions of lemmas in one analysed text, to find phrases quickly."""

    stems: Sequence[str]
    where: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, s in enumerate(self.stems):
            self.where.setdefault(s, []).append(i)
            if s.startswith("re-") and len(s) > 5:
                self.where.setdefault(s[3:], []).append(i)

    def find(self, phrases: Iterable[Phrase]) -> list[tuple[int, int, Phrase]]:
        """Where each phrase occurs; a verb and its particle or complement may hold a short
        object between them ("knock England out", "call the deal off", "leave rates
        unchanged"), and an article may stand inside a phrase ("become a member")."""
        hits = []
        stems = self.stems
        for p in phrases:
            if SLOT in p:
                hits += self._find_slotted(p)
                continue
            for i in self.where.get(p[0], ()):
                end = phrase_end(stems, i, p)
                if end > 0:
                    hits.append((i, end, p))
                elif len(p) == 2 and (p[1] in _PARTICLES or _complement(p[1])):
                    for j in range(i + 2, min(i + 2 + _MAX_OBJECT, len(stems))):
                        if stems[j] == p[1]:
                            if _GAP_STOPS.isdisjoint(stems[i + 1 : j]):
                                hits.append((i, j + 1, p))
                            break
        return hits

    def _find_slotted(self, p: Phrase) -> list[tuple[int, int, Phrase]]:
        """Where a phrase with an object slot occurs: its words before the slot, one to
        _MAX_SLOT words holding no preposition or conjunction (a "shot at the title" is no
        title), then its words after the slot."""
        stems = self.stems
        k = p.index(SLOT)
        left, right = p[:k], p[k + 1 :]
        hits = []
        for i in self.where.get(p[0], ()):
            mid = phrase_end(stems, i, left)
            if mid < 0:
                continue
            for j in range(mid + 1, min(mid + 1 + _MAX_SLOT, len(stems))):
                if not _GAP_STOPS.isdisjoint(stems[mid:j]):
                    break
                end = phrase_end(stems, j, right)
                if end > 0:
                    hits.append((i, end, p))
                    break
        return hits


# Words that may stand inside a phrase without changing it: an article ("lift the
# trophy" is "lift trophy") or a possessive ("put their names to" is "put name to").
_ARTICLES = frozenset({"a", "an", "the", "its", "their", "his", "her"})


def phrase_end(stems: Sequence[str], i: int, p: Phrase) -> int:
    """Where phrase `p` ends if it starts at `i` (articles and possessives inside it
    skipped: "lift the trophy" is "lift trophy"), else -1."""
    j = i
    for k, word in enumerate(p):
        while k and j < len(stems) and stems[j] in _ARTICLES and word not in _ARTICLES:
            j += 1
        if j >= len(stems) or (stems[j] != word and stems[j] != "re-" + word):
            return -1  # "re-elected" is elected again, "re-enter" entering
        j += 1
    return j


@lru_cache(maxsize=10_000)
def _complement(word: str) -> bool:
    """Whether a phrase's second word says the state its verb leaves its object in
    ("unchanged", "steady", "free"): an adjective that is no noun."""
    lemmas = lemma_forms(word)
    return "ADJ" in lemmas and "NOUN" not in lemmas


# Particles of phrasal verbs, and the words an object between verb and particle never holds
# (a preposition or conjunction there means the particle belongs to something else).
_PARTICLES = frozenset({"out", "off", "down", "back", "away", "up"})
_MAX_OBJECT = 3
# A slot holds a name with its article and a rank or two ("Germany a fourth world").
_MAX_SLOT = 5
_GAP_STOPS = frozenset(
    stem(w)
    for w in (
        "in", "on", "at", "for", "with", "to", "from", "of", "by", "and", "or", "but", "as",
        "after", "before", "over", "into", "than", "be", "have", "will", "not",
    )
)  # fmt: skip


def occurrences(frame: Frame, index: PhraseIndex, raws: Sequence[str]) -> list[Occurrence]:
    """Where a text asserts the frame's act, its opposite, or a stage short of it; a longer
    phrase wins over a shorter one inside it ("call off" over "call")."""
    found: list[Occurrence] = []
    for role, phrases in (
        ("asserts", frame.asserts),
        ("opposes", frame.opposes),
        ("stage", frame.stages),
    ):
        for start, end, p in index.find(phrases):
            found.append(
                Occurrence(start, end, role, " ".join(raws[start:end]), p in frame.final, SLOT in p)
            )
    if frame.name == "win":
        for start, end, _ in index.find(_DEFEATS):
            found.append(Occurrence(start, end, "defeat", " ".join(raws[start:end])))
    found.sort(key=lambda o: (o.start, -(o.end - o.start)))
    kept: list[Occurrence] = []
    taken: set[int] = set()
    for occ in sorted(found, key=lambda o: -(o.end - o.start)):
        span = set(range(occ.start, occ.end))
        if span & taken:
            continue
        taken |= span
        kept.append(occ)
    return sorted(kept, key=lambda o: o.start)
