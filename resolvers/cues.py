"""Cues: the words that make a mention of an event something other than news of it.

Negation and hedging follow NegEx's idea of cue words with a scope, the scope ending at the
clause (punctuation, "but", "while"): a negation covers its whole clause ("did not withdraw",
"talks end without agreement", "rejects", "denies", "fails to"), and so does a cancellation
("called off", "postponed", "scrapped"); a hedge covers the rest of its clause after it
("plans to withdraw", "could", "calls for"). Each cue carries a key, its stem, so that a
question whose own query contains that word (a question about Iran *rejecting* something)
can switch it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from forecasts.text import Scanned, stem

# The state of a word, ordered: a word takes the strongest scope covering it.
FIRM, HEDGED, NEGATED = 0, 1, 2


def _stems(*words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


# Every list is written as lemmas: forecasts.text gives every inflection of a word its
# lemma, so "scrub" covers scrubs, scrubbed, scrubbing (lemminflect's dictionary).
_NEGATION_WORDS = frozenset(
    {"no", "not", "never", "nothing", "none", "neither", "nor", "without", "cannot", "nobody"}
)
_NEGATION_CLAUSE = _stems(
    "deny", "reject", "refuse", "refute", "dismiss", "fail", "failure", "suspend", "postpone",
    "collapse", "scrap", "abandon", "cancel", "canceled", "unable", "unfounded", "false",
    "untrue", "stall", "scrub", "abort", "terminate", "halt", "block", "veto", "overturn",
    "thwart", "derail", "shelve", "axe",
)  # fmt: skip
_HEDGE_WORDS = frozenset(
    {"could", "would", "should", "might", "will", "if", "whether", "unless", "shall", "may",
     "must"}
)  # fmt: skip
_HEDGE_STEMS = _stems(
    "plan", "expect", "propose", "proposal", "consider", "seek", "hope", "intend",
    "intention", "pledge", "promise", "urge", "threaten", "prepare", "negotiate",
    "negotiation", "discuss", "draft", "possible", "possibly", "likely", "unlikely",
    "potential", "prospect", "want", "demand", "offer", "aim", "rumour", "rumor",
    "speculation", "claim", "allege", "allegedly", "mull", "weigh", "eye", "signal", "vow",
    "schedule", "slate", "tip", "forecast", "predict", "anticipate", "bet", "poise",
    "contemplate", "explore", "upcoming",
)  # fmt: skip
_BE = frozenset({"is", "are", "was", "were", "be", "been", "being", "remains", "remain"})
# Attribution that leaves the whole sentence unconfirmed.
_SENTENCE_HEDGES = _stems("reportedly", "purportedly", "supposedly", "unconfirmed")
# Two-word cues, keyed by lemmas: (first, second) -> kind. FIRM marks a pseudo-negation
# (NegEx): words that look like a cue and are not ("not only", "no doubt").
_PAIRS: dict[tuple[str, str], int] = {
    ("rather", "than"): NEGATED,
    ("instead", "of"): NEGATED,
    ("far", "from"): NEGATED,
    ("rule", "out"): NEGATED,
    ("call", "off"): NEGATED,
    ("fall", "through"): NEGATED,
    ("walk", "away"): NEGATED,
    ("push", "back"): NEGATED,
    ("put", "off"): NEGATED,
    ("stand", "down"): NEGATED,
    ("break", "down"): NEGATED,
    ("call", "for"): HEDGED,
    ("set", "to"): HEDGED,
    ("ready", "to"): HEDGED,
    ("poise", "to"): HEDGED,
    ("about", "to"): HEDGED,
    ("go", "to"): HEDGED,
    ("due", "to"): HEDGED,
    ("agree", "to"): HEDGED,
    ("move", "to"): HEDGED,
    ("on", "track"): HEDGED,
    ("pencil", "in"): HEDGED,
    ("push", "for"): HEDGED,
    ("in", "talk"): HEDGED,
    ("have", "to"): HEDGED,
    ("need", "to"): HEDGED,
    ("yet", "to"): HEDGED,
    ("remain", "to"): HEDGED,
    ("still", "to"): HEDGED,
    ("aim", "to"): HEDGED,
    ("not", "only"): FIRM,
    ("not", "just"): FIRM,
    ("no", "doubt"): FIRM,
    ("no", "longer"): NEGATED,
    # Goods that "hit shelves" are on sale: the lemmatizer reads the noun "shelves" as the
    # verb "shelve" (put off), a cancellation.
    ("hit", "shelve"): FIRM,
    ("reach", "shelve"): FIRM,
    ("on", "shelve"): FIRM,
}
_OBLIGATIONS = frozenset(
    {("have", "to"), ("need", "to"), ("yet", "to"), ("remain", "to"), ("still", "to")}
)
# Attribution to unnamed sources hedges its whole sentence: "…, sources say".
_SENTENCE_PAIRS = frozenset(
    {
        ("source", "say"),
        ("source", "tell"),
        ("accord", "to"),
        ("people", "familiar"),
        ("report", "say"),
        ("media", "report"),
        ("official", "say"),
    }
)


@dataclass(frozen=True)
class Cue:
    start: int  # token index of the cue's first word
    end: int  # one past its last word
    kind: int  # HEDGED or NEGATED
    whole_clause: bool
    key: str  # the stem a question's own query may contain to switch the cue off
    whole_sentence: bool = False
    rest_of_sentence: bool = False


def find_cues(text: Scanned) -> list[Cue]:
    """The negation and hedging cues of a scanned text."""
    cues: list[Cue] = []
    words, stems, clauses = text.words, text.stems, text.clauses
    last = len(words) - 1
    skip_until = -1
    for i, word in enumerate(words):
        if i < skip_until:
            continue
        s = stems[i]
        pair_key = (s, stems[i + 1]) if i < last else None
        same_clause = i < last and clauses[i + 1] == clauses[i]
        pair = _PAIRS.get(pair_key) if pair_key and same_clause else None
        if pair is not None:
            skip_until = i + 2
            if pair != FIRM:
                # "still has to be reviewed, signed and ratified": an obligation covers
                # the rest of its sentence, list and all.
                rest = pair_key in _OBLIGATIONS
                cues.append(Cue(i, i + 2, pair, pair == NEGATED, s, rest_of_sentence=rest))
        elif pair_key in _SENTENCE_PAIRS and same_clause:
            # "officials say" alone is attribution, not doubt: only unnamed sources count.
            if pair_key == ("official", "say") and not _unnamed(words, i):
                continue
            cues.append(Cue(i, i + 2, HEDGED, True, s, whole_sentence=True))
        elif word in _NEGATION_WORDS or word.endswith("n't"):
            cues.append(Cue(i, i + 1, NEGATED, True, s))
        elif s in _NEGATION_CLAUSE:
            cues.append(Cue(i, i + 1, NEGATED, True, s))
        elif s in _SENTENCE_HEDGES:
            cues.append(Cue(i, i + 1, HEDGED, True, s, whole_sentence=True))
        elif word in _HEDGE_WORDS:
            # "May" with a capital is mostly the month.
            if word == "may" and text.raws[i] != "may":
                continue
            cues.append(Cue(i, i + 1, HEDGED, False, s))
        elif s in _HEDGE_STEMS:
            # "the landing is planned for September": a hedge after its event, in the
            # passive, covers its whole clause.
            passive = i > 0 and words[i - 1] in _BE and clauses[i - 1] == clauses[i]
            cues.append(Cue(i, i + 1, HEDGED, passive, s))
        elif word == "to" and i < text.title_len and 0 < i < last and _headline_future(text, i):
            # Headline style: "Fed to raise rates" is news that it will, not that it did.
            cues.append(Cue(i, i + 1, HEDGED, False, "to"))
    return cues


def _unnamed(words: Sequence[str], i: int) -> bool:
    return i > 0 and words[i - 1] in ("unnamed", "anonymous", "some", "two", "three", "several")


def _headline_future(text: Scanned, i: int) -> bool:
    """Whether "to" at i follows the headline's subject directly (a name, or a word with a
    capital): "Fed to raise", "Microsoft to buy", not "plans to", "agree to"."""
    before = text.raws[i - 1]
    return before[:1].isupper() and text.clauses[i - 1] == text.clauses[i]


def scope_states(
    clauses: Sequence[int],
    cues: Sequence[Cue],
    ignore: AbstractSet[str],
    sentences: Sequence[int] | None = None,
) -> list[int]:
    """FIRM / HEDGED / NEGATED per word (`clauses` gives each word's clause), from the cues'
    scopes, leaving out cues whose key is in `ignore`."""
    states = [FIRM] * len(clauses)
    clause_start: dict[int, int] = {}
    clause_end: dict[int, int] = {}
    for i, clause in enumerate(clauses):
        clause_start.setdefault(clause, i)
        clause_end[clause] = i + 1
    sentence_of = list(sentences) if sentences is not None else []
    # A clause whose own verb is one of the question's cue-like terms ("Iran *rejects*
    # Russia's call for ...") reports that act: hedges after it are what is rejected,
    # not doubt about the act, so they are switched off.
    reporting = {clauses[c.start]: c.start for c in cues if c.key in ignore}
    for cue in cues:
        if cue.key in ignore:
            continue
        clause = clauses[cue.start]
        if cue.kind == HEDGED and reporting.get(clause, len(clauses)) < cue.start:
            continue
        if (cue.whole_sentence or cue.rest_of_sentence) and sentence_of:
            sentence = sentence_of[cue.start]
            first = (
                cue.end
                if cue.rest_of_sentence
                else next(j for j in range(len(clauses)) if sentence_of[j] == sentence)
            )
            span: range = range(
                first, max(j for j in range(len(clauses)) if sentence_of[j] == sentence) + 1
            )
        else:
            first = clause_start[clause] if cue.whole_clause else cue.end
            span = range(first, clause_end[clause])
        for j in span:
            if states[j] < cue.kind:
                states[j] = cue.kind
    return states
