"""What makes a sentence forward-looking: the estimate table's phrases and their variants
("are bound to", "is not far-fetched", "will inevitably", "is likely to", "may very well") and
the modals of prediction and possibility, found in a sentence's words. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from forecasts.estimates import estimate_table, normalise_phrase

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Word:
    text: str  # lower case, straight apostrophes
    raw: str
    start: int
    end: int


@dataclass(frozen=True)
class Marker:
    """What makes a sentence forward-looking: a table phrase or a modal, at [start, end)."""

    start: int
    end: int
    estimate: str | None  # the table's phrase, if the marker is one of its phrases
    # Whether a verb phrase in the base form follows (will X, is likely to X): the question
    # is then built from it.
    verb_follows: bool


def tokens(text: str) -> list[Word]:
    return [
        Word(m[0].lower().replace("’", "'"), m[0], m.start(), m.end()) for m in _WORD.finditer(text)
    ]


# The estimate table's phrases and their variants

_COPULA = {"is", "are", "'s", "be", "seems", "seem", "appears", "appear", "looks", "look"}
_PAST_COPULA = {"was", "were", "been", "had"}
_FILLER = {"very", "quite", "still", "also", "now", "thus", "therefore", "so", "even", "all"}
_FUTURE = {"will", "shall", "'ll", "won't"}
# Adjectives that estimate when said of something (X is likely to, X is unlikely).
_PREDICATIVE = (
    "highly likely",
    "highly unlikely",
    "likely",
    "unlikely",
    "probable",
    "improbable",
    "bound to",
    "not far-fetched",
)
# Adverbs that estimate beside a future modal (will probably, almost certainly will).
_ADVERBIAL = {
    "almost certainly": "almost certainly",
    "certainly": "certainly",
    "probably": "will probably",
    "inevitably": "will inevitably",
    "likely": "likely",
}
# Phrases that estimate by themselves (there is little chance that ...).
_NOMINAL = (
    "very good chance",
    "little chance",
    "almost no chance",
    "chances are slight",
    "better than even",
    "about even",
)
# The writer's own estimate frames: "we believe" / "we doubt" + a forward-looking clause.
_FRAMES = ("we believe", "we doubt")


@cache
def table() -> dict[str, float]:
    """The estimate table as phrase -> probability."""
    return {e.phrase: e.probability for e in estimate_table()}


@cache
def _words_of(phrase: str) -> tuple[str, ...]:
    return tuple(w.text for w in tokens(normalise_phrase(phrase)))


@cache
def _first_words() -> frozenset[str]:
    """Words a marker can start with: the others are skipped at once."""
    phrases = [*_PREDICATIVE, *_ADVERBIAL, *_NOMINAL, *_FRAMES, *table()]
    return frozenset(_words_of(p)[0] for p in phrases) | {
        "are", "have", "inevitably", "probably", "inducing", "induces", "induce",
    }  # fmt: skip


def _match_at(words: list[Word], i: int, phrase: str) -> int:
    """Index past the match of `phrase` at words[i], or -1."""
    wanted = _words_of(phrase)
    if not wanted or words[i].text != wanted[0]:
        return -1
    j = i + 1
    for part in wanted[1:]:
        # A filler adverb may stand inside the phrase: "is thus pursuing", "has also pledged".
        skipped = 0
        while j < len(words) and words[j].text in _FILLER and words[j].text != part and skipped < 2:
            j += 1
            skipped += 1
        if j >= len(words) or words[j].text != part:
            return -1
        j += 1
    return j


def _prev(words: list[Word], i: int) -> int:
    """The index of the nearest word before i that is not a filler adverb, or -1."""
    j = i - 1
    while j >= 0 and words[j].text in _FILLER:
        j -= 1
    return j


def estimate_markers(sentence: str, words: list[Word]) -> list[Marker]:
    phrases = table()
    found: list[Marker] = []
    i = 0
    while i < len(words):
        marker = _estimate_at(sentence, words, i, phrases)
        if marker is None:
            i += 1
            continue
        found.append(marker)
        i = next(k for k, w in enumerate(words) if w.end >= marker.end) + 1
    return found


def _estimate_at(
    sentence: str, words: list[Word], i: int, known: dict[str, float]
) -> Marker | None:
    text = words[i].text
    if text not in _first_words():
        return None
    # Verbal phrases the table holds as they are (with their plural and inverted forms).
    for phrase, forms in (
        ("may very well", ("may very well",)),
        ("will attempt to", ("will attempt to",)),
        ("is pursuing", ("is pursuing", "are pursuing")),
        ("has pledged to", ("has pledged to", "have pledged to")),
        ("will inevitably", ("will inevitably", "inevitably will")),
        ("will probably", ("will probably", "probably will")),
    ):
        for form in forms:
            end = _match_at(words, i, form)
            if end > 0 and phrase in known:
                return Marker(words[i].start, words[end - 1].end, phrase, verb_follows=True)
    # "is inducing Russian-American consideration of": a few words may stand between.
    if text in ("inducing", "induces", "induce") and "inducing consideration of" in known:
        for k in range(i + 1, min(i + 6, len(words) - 1)):
            if words[k].text == "consideration" and words[k + 1].text == "of":
                start = i - 1 if i and words[i - 1].text in ("is", "are") else i
                return Marker(
                    words[start].start, words[k + 1].end, "inducing consideration of", False
                )
    # Adverbs beside a future modal.
    for adverb, phrase in _ADVERBIAL.items():
        end = _match_at(words, i, adverb)
        if end < 0 or phrase not in known:
            continue
        before = _prev(words, i)
        if adverb == "certainly" and before >= 0 and words[before].text == "almost":
            continue
        modal_before = before >= 0 and words[before].text in _FUTURE
        modal_after = end < len(words) and words[end].text in _FUTURE
        if not (modal_before or modal_after):
            continue
        if adverb == "likely" and not modal_before:
            continue
        start = words[before].start if modal_before else words[i].start
        stop = words[end].end if modal_after else words[end - 1].end
        return Marker(start, stop, phrase, verb_follows=True)
    # Adjectives said of something, in the present or future: "is likely to", "is unlikely".
    for phrase in _PREDICATIVE:
        end = _match_at(words, i, phrase)
        if end < 0 or phrase not in known:
            continue
        before = _prev(words, i)
        if before < 0 or words[before].text in _PAST_COPULA:
            continue
        head = words[before].text
        if head not in _COPULA and not (head == "be" or words[before].text in _FUTURE):
            continue
        follows_to = phrase == "bound to" or (end < len(words) and words[end].text == "to")
        stop = end + 1 if follows_to and phrase != "bound to" else end
        return Marker(words[before].start, words[stop - 1].end, phrase, verb_follows=follows_to)
    for phrase in _NOMINAL:
        end = _match_at(words, i, phrase)
        if end < 0 or phrase not in known:
            continue
        before = _prev(words, i)
        if before >= 0 and words[before].text in _PAST_COPULA:
            continue
        return Marker(words[i].start, words[end - 1].end, phrase, verb_follows=False)
    for phrase in _FRAMES:
        end = _match_at(words, i, phrase)
        if end > 0 and phrase in known and modal_markers(sentence, words[end:]):
            return Marker(words[i].start, words[end - 1].end, phrase, verb_follows=False)
    return None


# Modals

_MODALS = {"will", "'ll", "won't", "shall", "may", "might", "could"}
# A noun "will" (the will of the people, political will) follows these.
_NOUN_WILL_BEFORE = {
    "the", "a", "his", "her", "their", "its", "our", "my", "your", "political", "popular",
    "good", "free", "ill", "own", "strong", "public", "last", "of",
}  # fmt: skip
# "You might think", "one could argue": the modal is about the reader, not events.
_READER_VERBS = {
    "think", "say", "imagine", "expect", "suppose", "assume", "wonder", "argue", "seem",
    "guess", "call", "recall", "remember", "notice", "see",
}  # fmt: skip


def modal_markers(sentence: str, words: list[Word]) -> list[Marker]:
    found: list[Marker] = []
    for i, word in enumerate(words):
        text = word.text
        after = words[i + 1].text if i + 1 < len(words) else ""
        if text in ("is", "are") and after == "going" and i + 2 < len(words):
            if words[i + 2].text == "to":
                found.append(Marker(word.start, words[i + 2].end, None, verb_follows=True))
            continue
        if text not in _MODALS or not word.raw.islower():
            # "May" and "Will" with a capital are names (Theresa May) or begin questions.
            continue
        if text == "will" and (
            (i and words[i - 1].text in _NOUN_WILL_BEFORE) or after in ("of", "to")
        ):
            continue
        # "could have", "may have been": speculation about the past.
        if text in ("could", "may", "might") and after == "have":
            continue
        if after in _READER_VERBS:
            continue
        end = word.end
        if after == "not" and text in ("will", "may", "might", "could", "shall"):
            end = words[i + 1].end
        found.append(Marker(word.start, end, None, verb_follows=True))
    if words and words[0].raw == "Expect" and len(words) > 1:
        # An imperative "Expect the dollar to strengthen": the writer's own forecast.
        found.insert(0, Marker(words[0].start, words[0].end, None, verb_follows=False))
    return found
